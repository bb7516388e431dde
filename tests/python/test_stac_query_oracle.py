"""Item queries (src/stac/items_query.c) through items_dump, against
independent evaluators.

items_dump loads a catalogue into the item table and runs the query the
options name (--filter, --sortby, --bbox, --datetime, --ids), printing the
selected items in order. Checked here:

  1. CQL2: every expression of realdata/cql2 (operators_tests.txt and the
     OGC abstract test suite ats-expressions.txt), over the records of
     cql2testdata.ndjson written as STAC items, selects exactly the records
     the `cql2` package (cql2-rs) selects with Expr.matches - so the loader,
     the accessor and the filter agree with it end to end. The records'
     `geom` is the items' geometry, so `geom` is renamed `geometry` in the
     filters. Where cql2-rs raises (a NULL operand: it has no three-valued
     logic, one of the deliberate differences cql2.h lists) it selects
     nothing here, as in test_cql2_oracle.py; filters on the nullable field
     are checked against hand-written DuckDB SQL instead.
  2. sortby: the order equals DuckDB's ORDER BY ... NULLS LAST with the
     original row number as the last key (our sort is stable), over the
     world's items.parquet and items.ndjson and over a variant with nulls
     and ties, in the text and JSON forms.
  3. bbox / datetime / ids: the selection equals shapely's intersects (boxes
     crossing the antimeridian split in two by hand) and Python datetime
     comparisons under STAC API semantics.

Environment: LAZYCOGS_BUILD_DIR (default build/asan) holds
tests/c/items_dump; the tests skip when it is absent.
"""
# SPDX-License-Identifier: MIT
import json
import os
import random
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("LAZYCOGS_BUILD_DIR", REPO / "build" / "asan"))
DUMP = BUILD_DIR / "tests" / "c" / "items_dump"
REALDATA = Path(os.environ.get("LAZYCOGS_REALDATA_CQL2",
                               REPO.parent / "shared" / "realdata" / "cql2"))
NDJSON = REALDATA / "cql2testdata.ndjson"


def _need_dump():
    if not DUMP.is_file():
        pytest.skip(f"{DUMP} not built (set LAZYCOGS_BUILD_DIR)")


def dump(path, *args):
    """Runs items_dump; returns (exit status, [items], stderr)."""
    _need_dump()
    run = subprocess.run([str(DUMP), str(path), *args], capture_output=True,
                         text=True)
    items = [json.loads(line) for line in run.stdout.splitlines()
             if line.strip()]
    return run.returncode, items, run.stderr


def dump_ids(path, *args):
    status, items, stderr = dump(path, *args)
    assert status == 0, stderr
    return [it["id"] for it in items]


# ---- 1. CQL2 -----------------------------------------------------------

def _records():
    if not NDJSON.is_file():
        return []
    return [json.loads(line) for line in NDJSON.read_text().splitlines()
            if line.strip()]


RECORDS = _records()
FIELDS = ["intfield", "floatfield", "textfield", "boolfield", "datefield",
          "ts_start", "ts_end", "intarrayfield", "nfield"]


def _suite_expressions():
    out = []
    for line in (REALDATA / "operators_tests.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            out.append(line)
    for line in (REALDATA / "ats-expressions.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line.split("|", 1)[1])
    return out


def _record_items(tmp_path):
    """The records as STAC items rec-000, rec-001, ... (NDJSON)."""
    path = tmp_path / "records.ndjson"
    with path.open("w") as f:
        for n, rec in enumerate(RECORDS):
            props = {k: v for k, v in rec.items() if k != "geom"}
            props["datetime"] = None
            item = {"type": "Feature", "stac_version": "1.0.0",
                    "id": f"rec-{n:03d}", "geometry": rec["geom"],
                    "properties": props, "assets": {}, "links": []}
            f.write(json.dumps(item) + "\n")
    return path


def _cql2_rs_selects(cql2, expr):
    parsed = cql2.parse_text(expr)
    out = []
    for n, rec in enumerate(RECORDS):
        try:
            if parsed.matches(rec):
                out.append(f"rec-{n:03d}")
        except Exception:  # noqa: BLE001 - cql2-rs raises on NULL operands
            pass
    return out


def _as_items_filter(expr):
    return re.sub(r"\bgeom\b", "geometry", expr)


@pytest.mark.skipif(not NDJSON.is_file(), reason="no realdata/cql2")
def test_suite_filters_match_cql2_rs(tmp_path):
    cql2 = pytest.importorskip("cql2")
    _need_dump()
    items = _record_items(tmp_path)
    exprs = _suite_expressions()
    assert len(exprs) > 200
    failures, checked, selective = [], 0, 0
    for expr in exprs:
        try:
            want = _cql2_rs_selects(cql2, expr)
        except Exception:  # noqa: BLE001 - cql2-rs cannot parse it
            continue
        status, got_items, stderr = dump(
            items, "--fields", ",".join(FIELDS), "--filter",
            _as_items_filter(expr))
        if status != 0:
            failures.append(f"{expr!r}: items_dump failed: {stderr.strip()}")
            continue
        got = [it["id"] for it in got_items]
        checked += 1
        selective += 0 < len(want) < len(RECORDS)
        if got != want:
            failures.append(f"{expr!r}: selects {got[:12]}... "
                            f"({len(got)}), cql2-rs {want[:12]}... "
                            f"({len(want)})")
    assert not failures, "\n".join(failures[:30])
    assert checked > 200 and selective > 50, (checked, selective)


# Filters with a hand-written DuckDB equivalent; the ones on nfield (null in
# 77 records) are where cql2-rs raises and SQL's three-valued logic decides.
DUCKDB_CASES = [
    ("intfield > 90 AND boolfield", "intfield > 90 AND boolfield"),
    ("textfield LIKE 'item_1%'", "textfield LIKE 'item_1%'"),
    ("floatfield BETWEEN 10 AND 20.5 OR intfield IN (1, 2, 3)",
     "floatfield BETWEEN 10 AND 20.5 OR intfield IN (1, 2, 3)"),
    ("NOT (intfield < 50) AND textfield <> 'item_60'",
     "NOT (intfield < 50) AND textfield <> 'item_60'"),
    ("nfield IS NULL AND intfield < 20", "nfield IS NULL AND intfield < 20"),
    ("nfield = true OR intfield = 3", "nfield = true OR intfield = 3"),
    ("NOT (nfield = false)", "NOT (nfield = false)"),
    ("nfield AND intfield > 50", "nfield AND intfield > 50"),
    ("ts_start >= TIMESTAMP('2020-02-01T00:00:00Z') AND "
     "ts_start < TIMESTAMP('2020-02-10T00:00:00Z')",
     "ts_start >= TIMESTAMPTZ '2020-02-01 00:00:00+00' AND "
     "ts_start < TIMESTAMPTZ '2020-02-10 00:00:00+00'"),
    # Rounding decides record by record (51 of 112): IEEE doubles on both
    # sides.
    ("floatfield - intfield > 0.1", "floatfield - intfield > 0.1"),
]


@pytest.mark.skipif(not NDJSON.is_file(), reason="no realdata/cql2")
def test_filters_match_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    _need_dump()
    items = _record_items(tmp_path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE t AS SELECT row_number() OVER () - 1 AS i, * FROM "
        "read_json(?, format='newline_delimited', columns={"
        "'intfield': 'BIGINT', 'floatfield': 'DOUBLE', 'textfield': "
        "'VARCHAR', 'boolfield': 'BOOLEAN', 'ts_start': 'TIMESTAMPTZ', "
        "'nfield': 'BOOLEAN'})", [str(NDJSON)])
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == len(RECORDS)
    for cql, sql in DUCKDB_CASES:
        want = [f"rec-{r[0]:03d}" for r in con.execute(
            f"SELECT i FROM t WHERE {sql} ORDER BY i").fetchall()]
        got = dump_ids(items, "--fields", ",".join(FIELDS), "--filter", cql)
        assert got == want, (cql, got, want)
        assert 0 < len(want) < len(RECORDS), cql


def test_filter_errors(tmp_path):
    _need_dump()
    items = tmp_path / "one.ndjson"
    items.write_text(json.dumps({
        "type": "Feature", "stac_version": "1.0.0", "id": "a",
        "geometry": None, "properties": {"datetime": None, "x": 1},
        "assets": {}, "links": []}) + "\n")
    status, _, stderr = dump(items, "--filter", "avg(x) > 1")
    assert status == 1 and "avg" in stderr, stderr
    status, _, stderr = dump(items, "--sortby", "a,,b")
    assert status == 1
    assert "sortby: empty field name at position 2" in stderr, stderr
    status, _, stderr = dump(items, "--sortby",
                             '[{"field": "x", "direction": "up"}]')
    assert status == 1
    assert "sortby: direction 'up' is neither asc nor desc" in stderr, stderr


# ---- 2. sortby -----------------------------------------------------------

def _world_table(path):
    """(pyarrow table with a row number, [ids]) of a world catalogue."""
    pa = pytest.importorskip("pyarrow")
    if path.suffix == ".parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        t = pq.read_table(path, columns=["id", "datetime", "platform",
                                         "eo:cloud_cover"])
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()
                if line.strip()]
        t = _rows_table(pa, rows)
    return t.append_column("rn", pa.array(range(t.num_rows), pa.int64()))


def _rows_table(pa, rows):
    def ts(s):
        if s is None:
            return None
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    return pa.table({
        "id": [r["id"] for r in rows],
        "datetime": pa.array([ts(r["properties"].get("datetime"))
                              for r in rows], pa.timestamp("us", "UTC")),
        "platform": [r["properties"].get("platform") for r in rows],
        "eo:cloud_cover": pa.array([r["properties"].get("eo:cloud_cover")
                                    for r in rows], pa.float64()),
    })


def _duckdb_order(table, order_by):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.register("t", table)
    return [r[0] for r in con.execute(
        f"SELECT id FROM t ORDER BY {order_by}, rn").fetchall()]


# (sortby as given to items_dump, DuckDB ORDER BY)
SORTS = [
    ("eo:cloud_cover", '"eo:cloud_cover" ASC NULLS LAST'),
    ("-eo:cloud_cover", '"eo:cloud_cover" DESC NULLS LAST'),
    ("-datetime", "datetime DESC NULLS LAST"),
    ("+datetime", "datetime ASC NULLS LAST"),
    ("platform,-eo:cloud_cover",
     'platform ASC NULLS LAST, "eo:cloud_cover" DESC NULLS LAST'),
    (" platform , datetime ", "platform ASC NULLS LAST, datetime ASC NULLS LAST"),
    ("-properties.platform,id", "platform DESC NULLS LAST, id ASC NULLS LAST"),
    ('{"field": "eo:cloud_cover", "direction": "desc"}',
     '"eo:cloud_cover" DESC NULLS LAST'),
    ('[{"field": "platform"}, {"field": "datetime", "direction": "DESC"}]',
     "platform ASC NULLS LAST, datetime DESC NULLS LAST"),
    ('["-platform", "+eo:cloud_cover"]',
     'platform DESC NULLS LAST, "eo:cloud_cover" ASC NULLS LAST'),
    ('"-id"', "id DESC NULLS LAST"),
]


def _check_sorts(path, table):
    for spec, order_by in SORTS:
        want = _duckdb_order(table, order_by)
        got = dump_ids(path, "--fields", "platform,eo:cloud_cover",
                       "--sortby", spec)
        assert got == want, (path.name, spec)


@pytest.mark.parametrize("name", ["items.parquet", "items.ndjson"])
def test_sortby_matches_duckdb(ci_world, name):
    _need_dump()
    path = ci_world / name
    table = _world_table(path)
    assert table.num_rows > 20
    _check_sorts(path, table)


def test_sortby_nulls_and_ties_match_duckdb(ci_world, tmp_path):
    """The world's items with cloud cover rounded to quarters (ties), every
    fifth one null or absent, and some datetimes equal: nulls last in both
    directions, ties in file order."""
    pa = pytest.importorskip("pyarrow")
    _need_dump()
    rows = [json.loads(line) for line in
            (ci_world / "items.ndjson").read_text().splitlines()
            if line.strip()]
    rng = random.Random(7)
    for n, r in enumerate(rows):
        p = r["properties"]
        if n % 5 == 0:
            if n % 10 == 0:
                p.pop("eo:cloud_cover", None)
            else:
                p["eo:cloud_cover"] = None
        else:
            p["eo:cloud_cover"] = round(p["eo:cloud_cover"] / 25) * 25.0
        if n % 7 == 0:
            p["platform"] = None
        if rng.random() < 0.3:
            p["datetime"] = rows[0]["properties"]["datetime"]
    path = tmp_path / "ties.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = _rows_table(pa, rows).append_column(
        "rn", pa.array(range(len(rows)), pa.int64()))
    _check_sorts(path, table)
    # The values came through: the dump prints the loaded properties.
    _, items, _ = dump(path, "--fields", "eo:cloud_cover", "--sortby",
                       "eo:cloud_cover")
    covers = [it["properties"].get("eo:cloud_cover") for it in items]
    nonnull = [c for c in covers if c is not None]
    assert nonnull == sorted(nonnull) and covers[len(nonnull):] == \
        [None] * (len(covers) - len(nonnull))


# ---- 3. bbox, datetime, ids ----------------------------------------------

def _parse_time(s):
    if s is None:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _time_meets(props, start, end):
    """STAC API semantics (items.h); an item with only one end of a span is
    an instant there (items_query.c)."""
    if start is not None and end is not None and start > end:
        return False
    dt = _parse_time(props.get("datetime"))
    if dt is not None:
        lo = hi = dt
    else:
        s = _parse_time(props.get("start_datetime"))
        e = _parse_time(props.get("end_datetime"))
        if s is None and e is None:
            return False
        lo, hi = s or e, e or s
    return (end is None or lo <= end) and (start is None or hi >= start)


def _boxes(w, s, e, n):
    if w > e:
        return [(w, s, 180.0, n), (-180.0, s, e, n)]
    return [(w, s, e, n)]


def _box_shape(sg, w, s, e, n):
    """A box as shapely sees it; without area a point or a segment (GEOS
    finds nothing in a zero-area polygon)."""
    if w == e and s == n:
        return sg.Point(w, s)
    if w == e or s == n:
        return sg.LineString([(w, s), (e, n)])
    return sg.box(w, s, e, n)


def _bbox_meets(item, box):
    sg = pytest.importorskip("shapely.geometry")
    parts = _boxes(*box)
    if item.get("geometry") is not None:
        g = sg.shape(item["geometry"])
        return any(g.intersects(_box_shape(sg, *p)) for p in parts)
    bbox = item.get("bbox")
    if bbox is None:
        return False
    return any(_box_shape(sg, *q).intersects(_box_shape(sg, *p))
               for q in _boxes(*bbox) for p in parts)


def _interval_bounds(text):
    a, _, b = text.partition("/")
    if not _:
        b = a
    start = None if a in ("", "..") else _parse_time(a)
    end = None if b in ("", "..") else _parse_time(b)
    return start, end


def _check_queries(path, rows, boxes, intervals):
    for box in boxes:
        want = [r["id"] for r in rows if _bbox_meets(r, box)]
        got = dump_ids(path, "--bbox", ",".join(repr(v) for v in box))
        assert got == want, ("bbox", box)
    for text in intervals:
        start, end = _interval_bounds(text)
        want = [r["id"] for r in rows
                if _time_meets(r["properties"], start, end)]
        got = dump_ids(path, "--datetime", text)
        assert got == want, ("datetime", text)
    for box in boxes[:3]:
        for text in intervals[:3]:
            start, end = _interval_bounds(text)
            want = [r["id"] for r in rows if _bbox_meets(r, box) and
                    _time_meets(r["properties"], start, end)]
            got = dump_ids(path, "--bbox", ",".join(repr(v) for v in box),
                           "--datetime", text)
            assert got == want, ("bbox+datetime", box, text)


def test_bbox_datetime_ids_on_world(ci_world):
    pytest.importorskip("shapely")
    _need_dump()
    path = ci_world / "items.ndjson"
    rows = [json.loads(line) for line in path.read_text().splitlines()
            if line.strip()]
    xs = [v for r in rows for v in (r["bbox"][0], r["bbox"][2])]
    ys = [v for r in rows for v in (r["bbox"][1], r["bbox"][3])]
    rng = random.Random(11)
    boxes = [(min(xs), min(ys), max(xs), max(ys))]
    for _ in range(25):
        x0, x1 = sorted(rng.uniform(min(xs), max(xs)) for _ in range(2))
        y0, y1 = sorted(rng.uniform(min(ys), max(ys)) for _ in range(2))
        boxes.append((x0, y0, x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3))
    times = sorted(r["properties"]["datetime"] for r in rows)
    intervals = [f"{times[5]}/{times[30]}", f"../{times[10]}",
                 f"{times[40]}/..", times[20], f"{times[0]}/{times[0]}",
                 "../.."]
    status, _, stderr = dump(path, "--datetime", f"{times[30]}/{times[5]}")
    assert status == 1 and "ends before it starts" in stderr, stderr
    selections = set()
    for p in (path, ci_world / "items.parquet"):
        _check_queries(p, rows, boxes, intervals)
    for box in boxes:
        selections.add(len([r for r in rows if _bbox_meets(r, box)]))
    assert len(selections) > 5  # the boxes select different numbers

    ids = [rows[k]["id"] for k in (3, 1, 40, 3)] + ["no-such-item"]
    want = [r["id"] for r in rows if r["id"] in ids]
    assert dump_ids(path, "--ids", ",".join(ids)) == want
    assert dump_ids(ci_world / "items.parquet", "--ids", ",".join(ids)) == want


def _feature(fid, geometry=None, bbox=None, **props):
    item = {"type": "Feature", "stac_version": "1.0.0", "id": fid,
            "geometry": geometry, "properties": {"datetime": None, **props},
            "assets": {}, "links": []}
    if bbox is not None:
        item["bbox"] = bbox
    return item


def _poly(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1],
                                                [x0, y1], [x0, y0]]]}


def test_antimeridian_and_spans(tmp_path):
    pytest.importorskip("shapely")
    _need_dump()
    rows = [
        _feature("east", _poly(176, -5, 179.5, 5),
                 datetime="2021-03-01T00:00:00Z"),
        _feature("west", _poly(-179.5, -5, -176, 5),
                 start_datetime="2021-02-01T00:00:00Z",
                 end_datetime="2021-02-28T00:00:00Z"),
        _feature("crossing-bbox", None, [170, -10, -170, 10],
                 start_datetime="2021-03-05T00:00:00Z"),
        _feature("start-only", {"type": "Point", "coordinates": [0, 0]},
                 start_datetime="2021-01-15T00:00:00Z"),
        _feature("end-only", {"type": "LineString",
                              "coordinates": [[-10, -10], [10, 10]]},
                 end_datetime="2021-04-15T00:00:00Z"),
        _feature("timeless", _poly(0, 0, 1, 1)),
        _feature("multi", {"type": "MultiPolygon", "coordinates": [
            _poly(178, 20, 180, 22)["coordinates"],
            _poly(-180, 20, -178, 22)["coordinates"]]},
            datetime="2021-03-01T00:00:00Z",
            start_datetime="2020-01-01T00:00:00Z",
            end_datetime="2022-01-01T00:00:00Z"),
    ]
    path = tmp_path / "am.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    boxes = [(175.0, -6.0, -175.0, 6.0), (179.8, -1.0, -179.8, 1.0),
             (-178.5, 19.0, -177.0, 25.0), (-1.0, -1.0, 1.0, 1.0),
             (179.0, 21.0, -179.0, 21.0), (5.0, 5.0, 5.0, 5.0),
             (-180.0, -90.0, 180.0, 90.0), (160.0, 30.0, -160.0, 40.0)]
    intervals = ["2021-02-10T00:00:00Z/2021-02-20T00:00:00Z",
                 "2021-03-01T00:00:00Z", "../2021-01-15T00:00:00Z",
                 "2021-04-15T00:00:00Z/..", "2021-01-16T00:00:00Z/..",
                 "2019-01-01T00:00:00Z/2020-06-01T00:00:00Z", "../.."]
    _check_queries(path, rows, boxes, intervals)
    # Sanity of the hand expectations themselves.
    assert [r["id"] for r in rows if _bbox_meets(r, boxes[0])] == \
        ["east", "west", "crossing-bbox"]
