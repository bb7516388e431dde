"""The row-level pushdown of the stac-geoparquet loader
(src/stac/items_parquet.c) against shapely and Python's own reading of the
STAC semantics.

With --bbox and/or --datetime, `items_dump FILE ... --stats` loads only
the rows whose bbox may meet the box and whose time meets the interval,
and its "items: L loaded, S selected" line says how many. Every item that
meets the query must still be loaded and selected: the selection must
equal that of a run without --bbox/--datetime (which loads everything)
filtered here, with shapely for footprints (the box split at the
antimeridian when it crosses it) and the STAC API rules for time
(datetime, else [start_datetime, end_datetime]; only one of them is that
instant; no time never meets). L must equal the rows whose bbox (an item
bbox with xmin > xmax covers x >= xmin and x <= xmax) meets the box and
whose time meets, with rows without bbox kept.

Files: random items over the world and a year, in small row groups -
crossing bboxes with split footprints, start/end-only and timeless items,
null bboxes, the old list bbox, bboxes rounded inwards to float32, times
as strings; and bad values in rows that the query keeps or drops.

Environment: LAZYCOGS_BUILD_DIR (the build holding tests/c/items_dump;
default build/asan).
"""
# SPDX-License-Identifier: MIT
import datetime as dt
import json
import os
import random
import re
import subprocess
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
shapely = pytest.importorskip("shapely")

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("LAZYCOGS_BUILD_DIR", REPO / "build" / "asan"))
DUMP = BUILD_DIR / "tests" / "c" / "items_dump"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
GEO = {"version": "1.1.0", "primary_column": "geometry",
       "columns": {"geometry": {"encoding": "WKB"}}}


@pytest.fixture(scope="module")
def dump():
    if not DUMP.is_file():
        pytest.skip(f"{DUMP} not built (set LAZYCOGS_BUILD_DIR)")

    def run(*args, check=True):
        res = subprocess.run([str(DUMP), *map(str, args)], capture_output=True)
        if check and res.returncode != 0:
            raise AssertionError(f"items_dump {' '.join(map(str, args))}: "
                                 f"{res.stderr.decode(errors='replace')}")
        return res
    return run


def _stats(res):
    m = re.search(rb"items: (\d+) loaded, (\d+) selected", res.stderr)
    assert m, res.stderr
    return int(m.group(1)), int(m.group(2))


def _ids(res):
    return [json.loads(line)["id"] for line in res.stdout.splitlines()]


def _us(t):
    return None if t is None else (t - EPOCH) // dt.timedelta(microseconds=1)


# ---- the items --------------------------------------------------------------


def _items(n, seed):
    """Random items: (id, geometry, bbox or None, datetime, start, end)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        w, s = rng.uniform(-180, 180), rng.uniform(-80, 75)
        e, nn = w + rng.uniform(0.01, 6), s + rng.uniform(0.01, 4)
        if e > 180:  # across the antimeridian: two parts, bbox xmin > xmax
            geom = shapely.MultiPolygon([shapely.box(w, s, 180, nn),
                                         shapely.box(-180, s, e - 360, nn)])
            bbox = [w, s, e - 360, nn]
        else:
            geom = shapely.box(w, s, e, nn)
            bbox = [w, s, e, nn]
        if i % 17 == 0 and i < n // 3:
            bbox = None  # the footprint decides (row groups after the
            # first third have no null bbox: the reader's fast path)
        day = T0 + dt.timedelta(seconds=rng.uniform(0, 366 * 86400))
        span = dt.timedelta(days=rng.uniform(0, 20))
        kind = i % 6
        times = {0: (day, None, None), 1: (day, day, day + span),
                 2: (None, day, day + span), 3: (None, day, None),
                 4: (None, None, day), 5: (day, None, None)}[kind]
        if i % 29 == 0:
            times = (None, None, None)  # never meets a datetime
        items.append((f"it-{i:05d}", geom, bbox, *times))
    return items


def _table(items, bbox_layout="struct"):
    ids, geoms, bboxes, dts, starts, ends = zip(*items)
    if bbox_layout == "struct":
        bb = pa.array([None if b is None else dict(zip(
            ("xmin", "ymin", "xmax", "ymax"), b)) for b in bboxes],
            pa.struct([(k, pa.float64()) for k in
                       ("xmin", "ymin", "xmax", "ymax")]))
    elif bbox_layout == "float32":
        bb = pa.array([None if b is None else dict(zip(
            ("xmin", "ymin", "xmax", "ymax"), b)) for b in bboxes],
            pa.struct([(k, pa.float32()) for k in
                       ("xmin", "ymin", "xmax", "ymax")]))
    else:
        bb = pa.array(bboxes, pa.list_(pa.float64()))
    ts = pa.timestamp("us", tz="UTC")
    t = pa.table({
        "id": list(ids),
        "geometry": pa.array([shapely.to_wkb(g) for g in geoms], pa.binary()),
        "bbox": bb,
        "datetime": pa.array(dts, ts),
        "start_datetime": pa.array(starts, ts),
        "end_datetime": pa.array(ends, ts),
    })
    return t.replace_schema_metadata({"geo": json.dumps(GEO)})


# ---- what the query selects, and what the pushdown may drop -----------------


def _parts(q):
    w, s, e, n = q
    if w <= e:
        return [(w, s, e, n)]
    return [(w, s, 180, n), (-180, s, e, n)]


def _geom_meets(geom, q):
    return any(shapely.intersects(geom, shapely.box(*p)) for p in _parts(q))


def _time_meets(t, lo, hi):
    dt_, s, e = (_us(v) for v in t)
    if dt_ is not None:
        return lo <= dt_ <= hi
    if s is None and e is None:
        return False
    s, e = (e if s is None else s), (s if e is None else e)
    return s <= hi and e >= lo


def _bbox_may_meet(b, q):
    if b is None:
        return True
    if b[1] > q[3] or b[3] < q[1]:
        return False
    for w, _, e, _ in _parts(q):
        if b[0] <= b[2] and b[0] <= e and w <= b[2]:
            return True
        if b[0] > b[2] and (e >= b[0] or w <= b[2]):
            return True
    return False


def _interval(text):
    lo, hi = text.split("/")
    lo = -2**63 if lo in ("", "..") else _us(dt.datetime.fromisoformat(
        lo.replace("Z", "+00:00")))
    hi = 2**63 - 1 if hi in ("", "..") else _us(dt.datetime.fromisoformat(
        hi.replace("Z", "+00:00")))
    return lo, hi


QUERIES = [
    ("10,-20,60,30", None),
    ("170,-60,-170,60", None),                       # across the antimeridian
    ("179.5,-80,180,80", None),
    ("-180,-10,-179,10", None),
    (None, "2024-03-01T00:00:00Z/2024-05-31T23:59:59Z"),
    (None, "2024-11-20T00:00:00Z/.."),
    ("-60,-60,60,60", "2024-06-01T00:00:00Z/2024-08-01T00:00:00Z"),
    ("150,-30,-150,30", "../2024-04-01T00:00:00Z"),
]


def _check(dump, path, items, box, interval, bbox_of=None):
    args = []
    q = lo = hi = None
    if box is not None:
        q = [float(v) for v in box.split(",")]
        args += ["--bbox", box]
    if interval is not None:
        lo, hi = _interval(interval)
        args += ["--datetime", interval]
    res = dump(path, *args, "--stats")
    loaded, selected = _stats(res)
    # The selection: as a run without pushdown filtered here.
    everything = _ids(dump(path))
    assert everything == [it[0] for it in items]
    want = [it[0] for it in items
            if (q is None or _geom_meets(it[1], q)) and
            (lo is None or _time_meets(it[3:], lo, hi))]
    assert _ids(res) == want, (box, interval)
    assert selected == len(want)
    # What was loaded: the rows that may meet.
    bbox_of = bbox_of or (lambda it: it[2])
    may = [it for it in items
           if (q is None or _bbox_may_meet(bbox_of(it), q)) and
           (lo is None or _time_meets(it[3:], lo, hi))]
    assert loaded == len(may), (box, interval)
    assert loaded < len(items)
    return loaded, selected


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    items = _items(3000, 1)
    path = tmp_path_factory.mktemp("pushdown") / "world.parquet"
    pq.write_table(_table(items), path, row_group_size=256,
                   data_page_size=2048)
    return path, items


@pytest.mark.parametrize("box,interval", QUERIES)
def test_selection_unchanged(dump, world, box, interval):
    path, items = world
    loaded, selected = _check(dump, path, items, box, interval)
    assert selected > 0


def test_kinds_of_rows(dump, world):
    """Crossing, bbox-less, start-only and end-only items are selected
    through the pushdown."""
    path, items = world
    got = set(_ids(dump(path, "--bbox", "170,-80,-170,80")))
    crossing = [it[0] for it in items
                if it[2] is not None and it[2][0] > it[2][2]]
    assert crossing and all(c in got for c in crossing
                            if _geom_meets(items[int(c[3:])][1],
                                           [170, -80, -170, 80]))
    no_bbox = {it[0] for it in items if it[2] is None} & got
    assert no_bbox
    got = set(_ids(dump(path, "--datetime", "2024-02-01T00:00:00Z/"
                        "2024-10-01T00:00:00Z")))
    assert any(items[int(i[3:])][3] is None and items[int(i[3:])][5] is None
               for i in got)  # start only
    assert any(items[int(i[3:])][3] is None and items[int(i[3:])][4] is None
               for i in got)  # end only


def test_list_bbox(dump, tmp_path):
    items = _items(1200, 2)
    path = tmp_path / "list.parquet"
    pq.write_table(_table(items, "list"), path, row_group_size=300)
    for box, interval in QUERIES[:4] + QUERIES[6:]:
        _check(dump, path, items, box, interval)


def test_float32_bbox_rounded_inwards(dump, tmp_path):
    """A float32 bbox may lie inside the footprint by rounding: an item
    the footprint puts in the box is still loaded."""
    geom = shapely.box(0.25, 0.25, 0.7, 0.7)  # float32(0.7) < 0.7
    items = [("in", geom, [0.25, 0.25, 0.7, 0.7], T0, None, None),
             ("out", shapely.box(5, 5, 6, 6), [5, 5, 6, 6], T0, None, None)]
    path = tmp_path / "f32.parquet"
    pq.write_table(_table(items, "float32"), path)
    assert pa.array([0.7], pa.float32()).to_pylist()[0] < 0.7
    res = dump(path, "--bbox", "0.69999999,0.69999999,1,1", "--stats")
    assert _ids(res) == ["in"]
    assert _stats(res) == (1, 1)


def test_times_as_strings(dump, tmp_path):
    items = _items(900, 3)
    t = _table(items)
    for name in ("datetime", "start_datetime", "end_datetime"):
        col = [None if v is None else v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
               for v in t[name].to_pylist()]
        t = t.set_column(t.schema.get_field_index(name), name,
                         pa.array(col, pa.string()))
    path = tmp_path / "strings.parquet"
    pq.write_table(t, path, row_group_size=200)
    for box, interval in QUERIES[4:]:
        _check(dump, path, items, box, interval)


def test_max_items_counts_candidates(dump, world):
    path, items = world
    box = "10,-20,60,30"
    q = [10.0, -20.0, 60.0, 30.0]
    may = [it[0] for it in items if _bbox_may_meet(it[2], q)]
    res = dump(path, "--bbox", box, "--max-items", "25", "--stats")
    assert _stats(res)[0] == 25
    want = [i for i in may[:25] if _geom_meets(items[int(i[3:])][1], q)]
    assert _ids(res) == want


def test_bad_values(dump, tmp_path):
    """A time that does not read fails the load when its row may meet the
    query (naming the row and the item), not when the query drops the row
    by its bbox; a bad list bbox fails when kept."""
    items = _items(400, 4)
    t = _table(items)
    col = [None if v is None else v.strftime("%Y-%m-%dT%H:%M:%SZ")
           for v in t["datetime"].to_pylist()]
    bad = next(i for i, it in enumerate(items)
               if it[3] is not None and it[2] is not None and
               it[2][0] < it[2][2] and 150 <= i)
    col[bad] = "yesterday"
    t = t.set_column(t.schema.get_field_index("datetime"), "datetime",
                     pa.array(col, pa.string()))
    path = tmp_path / "badtime.parquet"
    pq.write_table(t, path, row_group_size=100)
    b = items[bad][2]
    res = dump(path, "--datetime", "2024-01-01T00:00:00Z/..", check=False)
    err = res.stderr.decode()
    assert res.returncode == 1 and "LC_ECORRUPT" in err, err
    assert f"row {bad}" in err and f"item '{items[bad][0]}'" in err, err
    assert "yesterday" in err
    box = f"{b[0] + 0.001},{b[1] + 0.001},{b[0] + 0.002},{b[1] + 0.002}"
    res = dump(path, "--bbox", box, "--datetime", "2024-01-01T00:00:00Z/..",
               check=False)
    assert res.returncode == 1 and f"row {bad}" in res.stderr.decode()
    far = "-10,-89,-9.999,-88.999"  # no bbox there: the bad row is dropped
    assert not any(it[2] is not None and _bbox_may_meet(it[2], [-10, -89,
                   -9.999, -88.999]) for it in items)
    res = dump(path, "--bbox", far, "--datetime", "2024-01-01T00:00:00Z/..",
               "--stats")
    assert _stats(res)[0] == sum(it[2] is None and it[3:] != (None,) * 3
                                 for it in items) - (items[bad][2] is None)

    lst = _table(items, "list")
    bb = lst["bbox"].to_pylist()
    bb[bad] = bb[bad] + [1.0]
    lst = lst.set_column(lst.schema.get_field_index("bbox"), "bbox",
                         pa.array(bb, pa.list_(pa.float64())))
    path = tmp_path / "badbbox.parquet"
    pq.write_table(lst, path, row_group_size=100)
    res = dump(path, "--bbox", "-180,-90,180,90", check=False)
    err = res.stderr.decode()
    assert res.returncode == 1 and f"row {bad}" in err, err
    assert "5 numbers" in err and f"item '{items[bad][0]}'" in err, err


def test_first_row_of_delta_encoded_multi_page_columns(ci_world, tmp_path):
    """A load of the first row stops decoding each column after it. With
    every string column DELTA_BYTE_ARRAY-encoded (values that cannot be
    decoded in part) in pages of 512 bytes, a repeated column (the assets'
    roles) is decoded whole up to its page past the first row, and its
    later pages are skipped: its rows must still count in full. The first
    item, and an open() of the whole catalogue, equal the original's."""
    import lazycogs
    from lazycogs import _ext

    table = pq.read_table(ci_world / "items.parquet")
    plain = tmp_path / "plain.parquet"
    pq.write_table(table, plain, use_dictionary=False)
    schema = pq.ParquetFile(plain).schema
    strings = [schema.column(i).path for i in range(len(schema))
               if schema.column(i).physical_type == "BYTE_ARRAY"]
    delta = tmp_path / "delta.parquet"
    pq.write_table(table, delta, use_dictionary=False, data_page_size=512,
                   column_encoding={p: "DELTA_BYTE_ARRAY" for p in strings})
    meta = pq.ParquetFile(delta).metadata.row_group(0)
    roles = next(meta.column(i) for i in range(meta.num_columns)
                 if meta.column(i).path_in_schema.endswith("roles.list.element"))
    assert "DELTA_BYTE_ARRAY" in roles.encodings
    assert roles.total_uncompressed_size > 2 * 512  # several pages
    want = _ext.catalog_store_info(str(ci_world / "items.parquet"), None)
    assert _ext.catalog_store_info(str(delta), None) == want
    kw = dict(crs="EPSG:5070", bbox=(150000.0, 2540000.0, 560000.0,
                                     2740000.0), resolution=2000.0)
    a = lazycogs.open(str(delta), **kw)
    b = lazycogs.open(str(ci_world / "items.parquet"), **kw)
    assert a.shape == b.shape
    assert (a.time.values == b.time.values).all()
