"""The stac-geoparquet item loader (src/stac/items_parquet.c) against
pyarrow, value for value.

`items_dump FILE --fields ... [--geometry]` prints each item the loader
read (format in the module docstring of the item tests); every value must
equal what pyarrow (and shapely, for footprints) reads from the same file:
ids, datetimes to the microsecond, bboxes (or the footprint's envelope when
an item has none), every asset's href, type, roles, projection (the asset's
own or the item's), raster:bands, requested asset fields, and every
property column as typed values (lists of scalars as arrays, structs and
lists of structs as JSON, null members left out).

Files: every .parquet of the real-data folder; the test world's
items.parquet (rustac) and items-pyarrow.parquet; files written here by
rustac, by stac-geoparquet + pyarrow (codecs, row groups, dictionary on and
off, data page v1 and v2, times as strings, ns, naive, dates) and by DuckDB
COPY; a directory of two files; a Hive-partitioned directory. Then the
pushdown (a file of 10 row groups sorted by datetime), max_items, and bad
files (GeoArrow encodings, no id, wrong types, bad WKB, truncation).

Environment:
  LAZYCOGS_BUILD_DIR        CMake build folder holding tests/c/items_dump
                            and tests/c/test_stac_parquet (default
                            build/asan); skipped when absent
  LAZYCOGS_REALDATA_STAC    the real STAC folder (default
                            shared/realdata/stac beside the checkout)
"""
# SPDX-License-Identifier: MIT
import datetime as dt
import json
import math
import os
import re
import subprocess
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pc = pytest.importorskip("pyarrow.compute")
shapely = pytest.importorskip("shapely")

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("LAZYCOGS_BUILD_DIR", REPO / "build" / "asan"))
DUMP = BUILD_DIR / "tests" / "c" / "items_dump"
COUNT = BUILD_DIR / "tests" / "c" / "test_stac_parquet"
REALDATA = Path(os.environ.get("LAZYCOGS_REALDATA_STAC",
                               REPO.parent / "shared" / "realdata" / "stac"))

FIXED = {"id", "datetime", "start_datetime", "end_datetime", "geometry",
         "bbox", "assets"}
DTYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64",
          "int64", "float32", "float64"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


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


def items_of(res):
    return [json.loads(line) for line in res.stdout.decode().splitlines()]


def loaded_count(res):
    """The "items: N loaded, M selected" line of --stats."""
    m = re.search(r"items: (\d+) loaded", res.stderr.decode())
    assert m, res.stderr.decode()
    return int(m.group(1))


# ---- what pyarrow says ------------------------------------------------------


def _to_us(v, t):
    """A temporal value of type t, as pyarrow's to_pylist() gives it
    (datetime, date, pandas Timestamp for ns), in microseconds."""
    if pa.types.is_timestamp(t) and t.unit == "ns" and hasattr(v, "value"):
        return v.value // 1000  # pandas.Timestamp: ns since the epoch
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)  # naive reads as UTC
        return (v - EPOCH) // dt.timedelta(microseconds=1)
    if isinstance(v, dt.date):
        return (v - dt.date(1970, 1, 1)).days * 86_400_000_000
    raise TypeError((v, t))


def _format_us(us):
    """RFC 3339 as the dump writes it: Z, microseconds when not zero."""
    t = EPOCH + dt.timedelta(microseconds=us)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{t.microsecond:06d}" if t.microsecond else "") + "Z"


def _parse_time(text):
    if text is None:
        return None
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return (t - EPOCH) // dt.timedelta(microseconds=1)


class _Geom:
    """A WKB value: the loader gives its geometry (GeoJSON in the dump);
    equal when shapely finds the same coordinates."""

    def __init__(self, wkb):
        self.geom = shapely.force_2d(shapely.from_wkb(wkb))

    def __eq__(self, other):
        return isinstance(other, dict) and shapely.equals_exact(
            shapely.geometry.shape(other), self.geom, tolerance=0)

    def __repr__(self):
        return f"_Geom({self.geom.wkt})"


def _scalar(t):
    return not (pa.types.is_struct(t) or pa.types.is_list(t) or
                pa.types.is_large_list(t) or pa.types.is_map(t))


def _value(v, t, in_json):
    """v (of type t, as to_pylist() gives it) as the dump prints it."""
    if v is None:
        return None
    if pa.types.is_dictionary(t):
        return _value(v, t.value_type, in_json)
    if pa.types.is_timestamp(t):
        return _format_us(_to_us(v, t))
    if pa.types.is_date32(t) or pa.types.is_date64(t):
        return v.isoformat()[:10]
    if pa.types.is_struct(t):
        out = {}
        for f in t:
            x = _value(v.get(f.name), f.type, True)
            if x is not None:
                out[f.name] = x
        return out
    if pa.types.is_map(t):
        if pa.types.is_string(t.key_type):
            return {k: _value(x, t.item_type, True) for k, x in v}
        return [[_value(k, t.key_type, True), _value(x, t.item_type, True)]
                for k, x in v]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = in_json or not _scalar(t.value_type)
        return [_value(x, t.value_type, inner) for x in v]
    if pa.types.is_decimal(t):
        return float(v)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            return _Geom(v)
        except shapely.errors.GEOSException:
            return None
    if isinstance(v, float) and not math.isfinite(v):
        if in_json:
            return None
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if pa.types.is_null(t):
        return None
    return v


def _strip_nulls(v):
    """Struct members that are null are left out of the JSON the loader
    writes; drop them on both sides (NaN inside JSON becomes null)."""
    if isinstance(v, dict):
        return {k: _strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_nulls(x) for x in v]
    return v


def _rows(table):
    return table.to_pylist()


def _code(obj):
    """proj:code, or EPSG:<proj:epsg>, of an asset or an item (dict)."""
    if obj is None:
        return None
    code = obj.get("proj:code")
    if code is not None:
        return code
    epsg = obj.get("proj:epsg")
    if isinstance(epsg, float) and epsg.is_integer():
        epsg = int(epsg)
    if isinstance(epsg, int) and 0 < epsg <= 2**31 - 1:
        return f"EPSG:{epsg}"
    return None


def _transform(obj):
    t = None if obj is None else obj.get("proj:transform")
    if t is None or len(t) not in (6, 9) or any(x is None for x in t[:6]):
        return None
    return [float(x) for x in t[:6]]


def _shape(obj):
    s = None if obj is None else obj.get("proj:shape")
    if s is None or len(s) != 2 or any(x is None for x in s):
        return None
    if any(float(x) != int(x) for x in s):
        return None
    return [int(x) for x in s]


def _nodata(v):
    if v is None:
        return None
    if isinstance(v, str):
        if v.lower() in ("nan", "inf", "-inf"):
            return v.lower()
        try:
            v = float(v)
        except ValueError:
            return None
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _bands(bands):
    out = []
    for b in bands or []:
        b = b or {}
        dtype = b.get("data_type")
        out.append({
            "nodata": _nodata(b.get("nodata")),
            "data_type": dtype if dtype in DTYPES else None,
            "scale": 1.0 if b.get("scale") is None else float(b["scale"]),
            "offset": 0.0 if b.get("offset") is None else float(b["offset"]),
        })
    return out


def _epsg(code):
    m = re.fullmatch(r"(?i)EPSG:(\d+)", code or "")
    if not m or not 0 < int(m.group(1)) <= 2**31 - 1:
        return None
    return int(m.group(1))


def _bbox(row, geometry_column):
    b = row.get("bbox")
    if isinstance(b, dict):
        if None not in (b.get("xmin"), b.get("ymin"), b.get("xmax"),
                        b.get("ymax")):
            return [b["xmin"], b["ymin"], b["xmax"], b["ymax"]]
    elif b:
        h = len(b) // 2
        return [b[0], b[1], b[h], b[h + 1]]
    wkb = row.get(geometry_column)
    if wkb is None:
        return None
    g = shapely.from_wkb(wkb)
    if g.is_empty:
        return None
    return list(g.bounds)


def _geo_column(table):
    geo = (table.schema.metadata or {}).get(b"geo")
    if geo is None:
        return "geometry"
    return json.loads(geo).get("primary_column", "geometry")


def expected(table, assets=None, fields=(), asset_fields=()):
    """The items the dump prints for table (pyarrow's reading)."""
    types = {f.name: f.type for f in table.schema}
    gcol = _geo_column(table)
    atype = types.get("assets")
    if assets is None:
        assets = [f.name for f in atype] if atype is not None and \
            pa.types.is_struct(atype) else []
    out = []
    for row in _rows(table):
        item = {"id": row["id"]}
        for k in ("datetime", "start_datetime", "end_datetime"):
            v = row.get(k)
            if v is None:
                item[k] = None
            elif isinstance(v, str):
                item[k] = _parse_time(v)
            else:
                item[k] = _to_us(v, types[k])
        item["bbox"] = _bbox(row, gcol)
        item["wkb"] = row.get(gcol)
        got_assets = {}
        for key in assets:
            a = (row.get("assets") or {}).get(key)
            if not isinstance(a, dict) or a.get("href") is None:
                continue
            code = _code(a) or _code(row)
            rec = {
                "href": a["href"],
                "type": a.get("type"),
                "roles": [r for r in (a.get("roles") or []) if r is not None],
                "proj:code": code,
                "proj:epsg": _epsg(code),
                "proj:transform": _transform(a) or _transform(row),
                "proj:shape": _shape(a) or _shape(row),
                "raster:bands": _bands(a.get("raster:bands")),
            }
            asset_type = {f.name: f.type for f in atype.field(key).type}
            for f in asset_fields:
                rec[f] = (_value(a.get(f), asset_type[f], False)
                          if f in asset_type else None)
            got_assets[key] = rec
        item["assets"] = got_assets
        item["properties"] = {
            f: _value(row.get(f), types[f], False) if f in types else None
            for f in fields}
        out.append(item)
    return out


def assert_same(got, want, where, geometry=False):
    assert len(got) == len(want), f"{where}: {len(got)} items, want " \
        f"{len(want)}"
    for g, w in zip(got, want):
        at = f"{where}: item {w['id']}"
        assert g["id"] == w["id"], at
        for k in ("datetime", "start_datetime", "end_datetime"):
            assert _parse_time(g[k]) == w[k], f"{at}: {k} {g[k]}"
        assert g["bbox"] == w["bbox"], f"{at}: bbox"
        assert list(g["assets"]) == list(w["assets"]), f"{at}: asset keys"
        for key, wa in w["assets"].items():
            ga = g["assets"][key]
            for f, wv in wa.items():
                assert _strip_nulls(ga[f]) == _strip_nulls(wv), \
                    f"{at}: assets.{key}.{f}: {ga[f]!r} != {wv!r}"
        for f, wv in w["properties"].items():
            gv = g["properties"][f]
            assert _strip_nulls(gv) == _strip_nulls(wv), \
                f"{at}: property {f}: {gv!r} != {wv!r}"
        if geometry:
            if w["wkb"] is None:
                assert g["geometry"] is None, at
            else:
                theirs = shapely.force_2d(shapely.from_wkb(w["wkb"]))
                ours = shapely.geometry.shape(g["geometry"])
                assert shapely.equals_exact(ours, theirs, tolerance=0), \
                    f"{at}: geometry"


def property_columns(table):
    return [f.name for f in table.schema
            if f.name not in FIXED and f.name != _geo_column(table)]


def check_file(dump, path, table=None, asset_fields=("title",)):
    """Every asset, every property column, the footprints."""
    if table is None:
        table = pq.read_table(path)
    fields = property_columns(table)
    args = [path, "--geometry"]
    if fields:
        args += ["--fields", ",".join(fields)]
    if asset_fields:
        args += ["--asset-fields", ",".join(asset_fields)]
    got = items_of(dump(*args))
    want = expected(table, fields=fields, asset_fields=asset_fields)
    assert_same(got, want, path, geometry=True)
    return got


# ---- files ------------------------------------------------------------------


def _realdata():
    if not REALDATA.is_dir():
        return []
    return sorted(REALDATA.rglob("*.parquet"))


@pytest.mark.parametrize("path", _realdata(), ids=lambda p: p.name)
def test_realdata(dump, path):
    check_file(dump, path)


def test_realdata_some_assets(dump):
    path = REALDATA / "rustac" / "100-landsat-items.parquet"
    if not path.is_file():
        pytest.skip("no real data")
    table = pq.read_table(path)
    keys = ["red", "no-such-asset", "mtl.txt", "qa_pixel"]
    got = items_of(dump(path, "--assets", ",".join(keys), "--max-items",
                        "17"))
    want = expected(table.slice(0, 17), assets=keys)
    assert_same(got, want, path)
    assert all("no-such-asset" not in g["assets"] for g in got)


def test_world_catalogs(dump, ci_world):
    for name in ("items.parquet", "items-pyarrow.parquet"):
        check_file(dump, ci_world / name)


def _json_items():
    """Real STAC items by collection (JSON arrays of the real-data folder)."""
    by = {}
    for p in sorted((REALDATA / "stac-geoparquet").glob("*-pc.json")) + \
            [REALDATA / "stac-geoparquet" / "umbra-sar.json"]:
        if not p.is_file():
            continue
        doc = json.loads(p.read_text())
        for it in doc if isinstance(doc, list) else [doc]:
            if it.get("type") == "Feature":
                by.setdefault(it.get("collection") or p.stem, []).append(it)
    return by


@pytest.fixture(scope="module")
def json_items():
    items = _json_items()
    if not items:
        pytest.skip("no real STAC items")
    return items


def test_rustac_written(dump, tmp_path, json_items):
    rustac = pytest.importorskip("rustac")
    for coll, its in json_items.items():
        path = tmp_path / f"rustac-{coll}.parquet"
        rustac.write_sync(str(path), its)
        check_file(dump, path)


def _stac_geoparquet(tmp_path, coll, its):
    sgp = pytest.importorskip("stac_geoparquet.arrow")
    path = tmp_path / f"sgp-{coll}.parquet"
    table = sgp.parse_stac_items_to_arrow(its).read_all()
    sgp.to_parquet(table, path)
    return path


def test_stac_geoparquet_written(dump, tmp_path, json_items):
    for coll, its in json_items.items():
        check_file(dump, _stac_geoparquet(tmp_path, coll, its))


def test_pyarrow_variants(dump, tmp_path, json_items):
    """Codecs, row groups of one or two rows, dictionary pages or not, data
    page v1 and v2: the same items each time."""
    n = 0
    for coll in ("sentinel-2-l2a", "landsat-c2-l2", "io-lulc-annual-v02",
                 "sentinel-1-rtc"):
        if coll not in json_items:
            continue
        table = pq.read_table(_stac_geoparquet(tmp_path, coll,
                                               json_items[coll]))
        for codec in ("none", "snappy", "zstd", "gzip", "lz4", "brotli"):
            for dictionary in (True, False):
                for version in ("1.0", "2.0"):
                    path = tmp_path / f"{coll}-{codec}-{dictionary}-" \
                                      f"{version}.parquet"
                    pq.write_table(table, path, compression=codec,
                                   use_dictionary=dictionary,
                                   data_page_version=version,
                                   row_group_size=1 + n % 2)
                    n += 1
                    check_file(dump, path, table)
    assert n >= 24


def test_large_row_groups(dump, tmp_path, json_items):
    """Row groups of 2048 rows or more are filled on two threads (the
    geometries and the last asset on the second): every value must still be
    pyarrow's, in a row group of 5000 items and in groups of 3000 + 2000
    (the second filled on one thread)."""
    coll = next((c for c in ("sentinel-2-l2a", "landsat-c2-l2")
                 if c in json_items), None)
    if coll is None:
        pytest.skip("no multi-asset items")
    base = json_items[coll]
    its = []
    for k in range(5000):
        it = json.loads(json.dumps(base[k % len(base)]))
        it["id"] = f"{it['id']}-{k}"
        its.append(it)
    table = pq.read_table(_stac_geoparquet(tmp_path, "big", its))
    assert len(table["assets"].type) > 2
    for group in (5000, 3000):
        path = tmp_path / f"big-{group}.parquet"
        pq.write_table(table, path, row_group_size=group)
        got = check_file(dump, path, table)
        assert len(got) == 5000


def test_large_row_group_errors(dump, tmp_path):
    """A fill on two threads reports the error a fill on one would: that of
    the first stage in the order times, geometry, bbox (whatever the rows),
    naming the file, the column, the row and the item."""
    n = 5000
    t = _simple_table(n)
    wkb = t["geometry"].to_pylist()
    wkb[4000] = wkb[4000][:-3]
    bad_wkb = pa.array(wkb, pa.binary())
    times = pa.array([f"2020-01-{1 + i % 28:02d}" for i in range(n)])
    bad_times = times.to_pylist()
    bad_times[4500] = "yesterday"
    boxes = [[0.0, 0, 1, 1]] * n
    boxes[100] = [0.0, 0, 1, 1, 2]
    p = tmp_path / "wkb.parquet"
    pq.write_table(t.set_column(2, "geometry", bad_wkb), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'geometry' row 4000",
           "item 'a4000'", "WKB")
    # The times come before the geometry, though their row comes after.
    p = tmp_path / "wkb-time.parquet"
    pq.write_table(t.set_column(2, "geometry", bad_wkb).set_column(
        1, "datetime", pa.array(bad_times)), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'datetime' row 4500",
           "item 'a4500'", "yesterday")
    # The bbox comes after the geometry, though its row comes first.
    p = tmp_path / "wkb-bbox.parquet"
    pq.write_table(t.set_column(2, "geometry", bad_wkb).append_column(
        "bbox", pa.array(boxes)), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'geometry' row 4000")
    p = tmp_path / "bbox.parquet"
    pq.write_table(t.append_column("bbox", pa.array(boxes)), p)
    _fails(dump, p, "LC_ECORRUPT", "row 100", "item 'a100'", "5 numbers")


def test_time_layouts(dump, tmp_path, json_items):
    """datetime as a string, in ns, naive (read as UTC), as INT96, and
    start/end as dates."""
    coll = next(iter(json_items))
    base = pq.read_table(_stac_geoparquet(tmp_path, coll, json_items[coll]))
    dtcol = base["datetime"].cast(pa.timestamp("us", tz="UTC"))
    n = base.num_rows
    variants = {
        "string": pc.strftime(dtcol, format="%Y-%m-%dT%H:%M:%S.%fZ"),
        "ns": dtcol.cast(pa.timestamp("ns", tz="UTC")),
        "naive-ms": pc.floor_temporal(dtcol, unit="millisecond").cast(
            pa.timestamp("ms")),
        "offset-string": pa.array(
            ["2021-03-04T05:06:07.5+02:00"] * (n - 1) + [None]),
    }
    for name, col in variants.items():
        t = base.set_column(base.schema.get_field_index("datetime"),
                            "datetime", col)
        path = tmp_path / f"time-{name}.parquet"
        pq.write_table(t, path)
        check_file(dump, path, t)
    # INT96, and start/end as date32.
    t = base.drop_columns([c for c in ("start_datetime", "end_datetime")
                           if c in base.column_names])
    t = t.append_column("start_datetime", pa.array(
        [dt.date(2020, 1, 1 + i) for i in range(n)], pa.date32()))
    t = t.append_column("end_datetime", pa.array(
        [dt.date(2021, 1, 1 + i) for i in range(n)], pa.date32()))
    path = tmp_path / "time-int96.parquet"
    pq.write_table(t, path, use_deprecated_int96_timestamps=True)
    assert pq.ParquetFile(path).schema.column(
        pq.ParquetFile(path).schema.names.index("datetime")).physical_type \
        == "INT96"
    check_file(dump, path, pq.read_table(path))


def test_duckdb_written(dump, tmp_path, json_items):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    for coll in list(json_items)[:6]:
        src = _stac_geoparquet(tmp_path, coll, json_items[coll])
        path = tmp_path / f"duckdb-{coll}.parquet"
        con.execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO "
                    f"'{path}' (FORMAT parquet, ROW_GROUP_SIZE 2)")
        check_file(dump, path)


def test_directory_of_two_files(dump, tmp_path, json_items):
    rustac = pytest.importorskip("rustac")
    its = json_items.get("sentinel-2-l2a") or next(iter(json_items.values()))
    root = tmp_path / "two"
    root.mkdir()
    rustac.write_sync(str(root / "a.parquet"), its[:2])
    rustac.write_sync(str(root / "b.parquet"), its[2:])
    ta, tb = pq.read_table(root / "a.parquet"), pq.read_table(root / "b.parquet")
    if ta.schema != tb.schema:
        pytest.skip("the halves have different schemas")
    table = pa.concat_tables([ta, tb])
    fields = property_columns(table)
    got = items_of(dump(root, "--geometry", "--fields", ",".join(fields)))
    assert_same(got, expected(table, fields=fields), root, geometry=True)


def test_hive_partitions(dump, tmp_path, json_items):
    ds = pytest.importorskip("pyarrow.dataset")
    coll = "sentinel-2-l2a" if "sentinel-2-l2a" in json_items else \
        next(iter(json_items))
    base = pq.read_table(_stac_geoparquet(tmp_path, coll, json_items[coll]))
    base = base.append_column("zone", pa.array(
        [f"z{i % 2}" for i in range(base.num_rows)]))
    root = tmp_path / "hive"
    pq.write_to_dataset(base, root, partition_cols=["zone"])
    theirs = ds.dataset(root, partitioning="hive").to_table()
    theirs = theirs.set_column(theirs.schema.get_field_index("zone"), "zone",
                               theirs["zone"].cast(pa.string()))
    theirs = theirs.replace_schema_metadata(base.schema.metadata)
    fields = property_columns(base)
    got = items_of(dump(root, "--fields", ",".join(fields)))
    want = expected(theirs, fields=fields)
    key = lambda r: r["id"]  # noqa: E731
    assert_same(sorted(got, key=key), sorted(want, key=key), root)
    assert {g["properties"]["zone"] for g in got} == {"z0", "z1"}


# ---- pushdown and max_items -------------------------------------------------


def _grid_table(n, x_of, y_of):
    t0 = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)
    boxes = [(*x_of(i), *y_of(i)) for i in range(n)]
    wkb = [shapely.to_wkb(shapely.box(x0, y0, x1, y1))
           for x0, x1, y0, y1 in boxes]
    table = pa.table({
        "id": [f"item-{i:04d}" for i in range(n)],
        "datetime": pa.array([t0 + dt.timedelta(days=i) for i in range(n)],
                             pa.timestamp("us", tz="UTC")),
        "bbox": pa.StructArray.from_arrays(
            [pa.array([b[k] for b in boxes]) for k in (0, 2, 1, 3)],
            names=["xmin", "ymin", "xmax", "ymax"]),
        "geometry": pa.array(wkb, pa.binary()),
    })
    geo = {"version": "1.1.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB"}}}
    return table.replace_schema_metadata({"geo": json.dumps(geo)})


@pytest.fixture(scope="module")
def sorted_file(tmp_path_factory):
    """1000 items in 10 row groups of 100, sorted by datetime (a day
    apart); the items of group g span x [10g, 10g + 1], and y [k/2, k/2 +
    0.4] for the k-th of their group."""
    table = _grid_table(1000, lambda i: (10 * (i // 100), 10 * (i // 100) + 1),
                        lambda i: ((i % 100) / 2, (i % 100) / 2 + 0.4))
    path = tmp_path_factory.mktemp("sorted") / "sorted.parquet"
    pq.write_table(table, path, row_group_size=100)
    assert pq.ParquetFile(path).metadata.num_row_groups == 10
    return path, table


def _bbox_meets(b, q):
    """Whether an item bbox [xmin, ymin, xmax, ymax] (xmin > xmax: across
    the antimeridian, covering x >= xmin and x <= xmax) meets the query box
    q (split into [west, 180] and [-180, east] when it crosses)."""
    if b[1] > q[3] or b[3] < q[1]:
        return False
    parts = [(q[0], q[2])] if q[0] <= q[2] else [(q[0], 180), (-180, q[2])]
    for w, e in parts:
        if b[0] <= b[2] and b[0] <= e and w <= b[2]:
            return True
        if b[0] > b[2] and (e >= b[0] or w <= b[2]):
            return True
    return False


def _time_meets(r, lo, hi):
    """STAC API semantics (items.h): the datetime, else [start, end]; only
    one of start and end is that instant; no time never meets."""
    if r["datetime"] is not None:
        return lo <= r["datetime"] <= hi
    s, e = r["start_datetime"], r["end_datetime"]
    if s is None and e is None:
        return False
    s, e = (e if s is None else s), (s if e is None else e)
    return s <= hi and e >= lo


def test_datetime_pushdown(dump, sorted_file):
    """Rows whose time cannot meet the interval are not loaded (row groups
    proven apart by their statistics are not even read); every row that
    meets it is."""
    path, table = sorted_file
    rows = expected(table)
    q = "2023-02-10T00:00:00Z/2023-03-20T00:00:00Z"  # days 405..443
    res = dump(path, "--datetime", q, "--stats")
    lo, hi = (_parse_time(s) for s in q.split("/"))
    want = [r for r in rows if _time_meets(r, lo, hi)]
    assert loaded_count(res) == len(want) == 39
    assert [g["id"] for g in items_of(res)] == [w["id"] for w in want]
    # Across two row groups, open ends, and nothing at all.
    t0 = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)

    def day(i):
        return (t0 + dt.timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for q, n in ((f"{day(480)}/{day(520)}", 41), (f"{day(650)}/..", 350),
                 (f"../{day(99)}", 100), ("2030-01-01T00:00:00Z", 0)):
        lo, hi = (_parse_time(s) if s not in ("", "..") else None
                  for s in (q.split("/") + [q])[:2])
        lo = -2**63 if lo is None else lo
        hi = 2**63 - 1 if hi is None else hi
        if "/" not in q:
            hi = lo
        res = dump(path, "--datetime", q, "--stats")
        got = [g["id"] for g in items_of(res)]
        assert got == [r["id"] for r in rows if _time_meets(r, lo, hi)]
        assert loaded_count(res) == len(got) == n, q


def _count(path, *args):
    if not COUNT.is_file():
        pytest.skip(f"{COUNT} not built")
    res = subprocess.run([str(COUNT), "count", str(path), *args],
                         capture_output=True, check=True)
    return int(res.stdout.split()[1])


def _bbox_count(table, box, limit=None):
    """Rows whose bbox meets box: those the pushdown loads."""
    n = sum(_bbox_meets([b["xmin"], b["ymin"], b["xmax"], b["ymax"]], box)
            for b in table["bbox"].to_pylist())
    return n if limit is None else min(n, limit)


def test_bbox_pushdown(dump, sorted_file, tmp_path):
    """Rows whose bbox misses the query box are not loaded; every row whose
    bbox meets it is (the selection is lc__stac_items_filter's)."""
    path, table = sorted_file
    count = lambda *a: _count(path, *a)  # noqa: E731
    for box, n in (("20.5,0,20.6,1", 3), ("20.5,0,30.5,1", 6),
                   ("20.5,60,20.6,70", 0),  # north of all
                   ("150,0,160,1", 0),      # east of all
                   ("170,0,-170,1", 0),     # x>=170 or x<=-170
                   ("90.5,0,-170,1", 3),    # x>=90.5 or x<=-170
                   ("90.5,0,0.5,1", 6),     # x>=90.5 or x<=0.5
                   ("0,10,100,12", 50)):    # every group
        q = [float(v) for v in box.split(",")]
        assert count("--bbox", box) == _bbox_count(table, q) == n, box
    assert count("--max-items", "150") == 150
    assert count("--max-items", "4", "--bbox", "20.5,0,30.5,1") == 4
    assert count("--max-items", "150", "--bbox", "20.5,0,30.5,1") == 6
    # The dump's selection under a box agrees with shapely.
    got = items_of(dump(path, "--bbox", "20.5,0,20.6,1"))
    box = shapely.box(20.5, 0, 20.6, 1)
    want = [r["id"] for r in expected(table)
            if shapely.intersects(shapely.from_wkb(r["wkb"]), box)]
    assert [g["id"] for g in got] == want and len(want) == 3
    # Items of a group spread over x: one of them might cross the
    # antimeridian (xmin > xmax) and reach any x, so x proves nothing
    # there; y still does.
    spread = _grid_table(1000, lambda i: (i / 10, i / 10 + 0.05),
                         lambda i: (i // 100, i // 100 + 0.5))
    p = tmp_path / "spread.parquet"
    pq.write_table(spread, p, row_group_size=100)
    for box in ("20.5,0,20.6,100", "20.5,3.7,20.6,5.2", "0,3.7,100,5.2"):
        q = [float(v) for v in box.split(",")]
        assert _count(p, "--bbox", box) == _bbox_count(spread, q), box
    assert _count(p, "--bbox", "0,3.7,100,5.2") == 200  # y 4.., 5..
    # An item that does cross, in a group whose other items are far
    # away: a box meeting only its eastern part keeps the group.
    t = _grid_table(4, lambda i: (10 + i, 11 + i), lambda i: (0, 1))
    bb = t["bbox"].to_pylist()
    bb[2] = {"xmin": 170.0, "ymin": 0.0, "xmax": -170.0, "ymax": 1.0}
    geom = t["geometry"].to_pylist()
    geom[2] = shapely.to_wkb(shapely.MultiPolygon([
        shapely.box(170, 0, 180, 1), shapely.box(-180, 0, -170, 1)]))
    t = t.set_column(2, "bbox", pa.array(bb, t["bbox"].type))
    t = t.set_column(3, "geometry", pa.array(geom, pa.binary()))
    p = tmp_path / "crossing.parquet"
    pq.write_table(t, p)
    res = dump(p, "--bbox", "-175,0,-172,1", "--stats")
    assert loaded_count(res) == 1  # the crossing one, by its eastern part
    got = items_of(res)
    assert [g["id"] for g in got] == ["item-0002"]
    assert got[0]["bbox"] == [170.0, 0.0, -170.0, 1.0]
    # And by its western part; the others by theirs.
    assert _count(p, "--bbox", "172,0,175,1") == 1
    assert _count(p, "--bbox", "11.5,0,172,1") == 3


def test_max_items(dump, sorted_file):
    path, table = sorted_file
    res = dump(path, "--max-items", "150", "--stats")
    assert loaded_count(res) == 150
    assert [g["id"] for g in items_of(res)] == \
        table["id"].to_pylist()[:150]


def test_start_end_datetime_pushdown(dump, tmp_path):
    """Items without datetime match by [start_datetime, end_datetime]: a
    row group is skipped only when neither can match."""
    n = 400
    t0 = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)
    ts = pa.timestamp("ms", tz="UTC")
    dts = [None if i % 2 else t0 + dt.timedelta(days=i) for i in range(n)]
    starts = [t0 + dt.timedelta(days=i) if i % 2 else None for i in range(n)]
    ends = [t0 + dt.timedelta(days=i + 30) if i % 2 else None
            for i in range(n)]
    wkb = shapely.to_wkb(shapely.box(0, 0, 1, 1))
    table = pa.table({
        "id": [f"i{i}" for i in range(n)],
        "datetime": pa.array(dts, ts),
        "start_datetime": pa.array(starts, ts),
        "end_datetime": pa.array(ends, ts),
        "geometry": pa.array([wkb] * n, pa.binary()),
    })
    path = tmp_path / "spans.parquet"
    pq.write_table(table, path, row_group_size=100)
    # Day 110: datetimes of group 1 only, but odd items of group 0 whose
    # span reaches day 110 (starts 81..99) could match: group 0 stays.
    res = dump(path, "--datetime", "2022-04-21T00:00:00Z", "--stats")
    got = [g["id"] for g in items_of(res)]
    day = dt.datetime(2022, 4, 21, tzinfo=dt.timezone.utc)
    want = [f"i{i}" for i in range(n)
            if (dts[i] == day) or
            (dts[i] is None and starts[i] <= day <= ends[i])]
    assert got == want
    # Nulls everywhere: the statistics prove nothing, the rows do.
    assert loaded_count(res) == len(want) == 1 + 15
    check_file(dump, path, table, asset_fields=())
    # Spans on every row, no datetime: groups 2 and 3 start after day 110.
    spans = table.set_column(1, "datetime", pa.nulls(n, ts))
    spans = spans.set_column(2, "start_datetime", pa.array(
        [t0 + dt.timedelta(days=i) for i in range(n)], ts))
    spans = spans.set_column(3, "end_datetime", pa.array(
        [t0 + dt.timedelta(days=i + 30) for i in range(n)], ts))
    path = tmp_path / "spans-all.parquet"
    pq.write_table(spans, path, row_group_size=100)
    res = dump(path, "--datetime", "2022-04-21T00:00:00Z", "--stats")
    assert loaded_count(res) == 31
    assert [g["id"] for g in items_of(res)] == [f"i{i}" for i in range(80, 111)]
    # Only datetime, no span columns: rows without one never match.
    only = table.drop_columns(["start_datetime", "end_datetime"])
    path = tmp_path / "dt-only.parquet"
    pq.write_table(only, path, row_group_size=100)
    res = dump(path, "--datetime", "2022-04-21T00:00:00Z", "--stats")
    assert loaded_count(res) == 1
    assert [g["id"] for g in items_of(res)] == ["i110"]


# ---- bad files --------------------------------------------------------------


def _simple_table(n=3):
    wkb = [shapely.to_wkb(shapely.Point(i, i)) for i in range(n)]
    return pa.table({
        "id": [f"a{i}" for i in range(n)],
        "datetime": pa.array([dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
                              + dt.timedelta(days=i) for i in range(n)],
                             pa.timestamp("us", "UTC")),
        "geometry": pa.array(wkb, pa.binary()),
    })


def _fails(dump, path, status, *needles):
    res = dump(path, check=False)
    err = res.stderr.decode()
    assert res.returncode == 1, err
    assert status in err, err
    assert path.name in err, err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"
    assert res.stdout == b""


def test_bad_files(dump, tmp_path):
    # GeoArrow encoding.
    t = pa.table({"id": ["a"], "geometry": pa.StructArray.from_arrays(
        [pa.array([1.0]), pa.array([2.0])], names=["x", "y"])})
    geo = {"version": "1.1.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "point"}}}
    p = tmp_path / "geoarrow.parquet"
    pq.write_table(t.replace_schema_metadata({"geo": json.dumps(geo)}), p)
    _fails(dump, p, "LC_EUNSUPPORTED", "'point'", "'geometry'")
    # A geometry column named otherwise, with WKB: read.
    t = _simple_table().rename_columns(["id", "datetime", "geom"])
    geo = {"primary_column": "geom", "columns": {"geom": {"encoding": "WKB"}}}
    p = tmp_path / "geom.parquet"
    pq.write_table(t.replace_schema_metadata({"geo": json.dumps(geo)}), p)
    got = items_of(dump(p, "--geometry"))
    assert [g["geometry"]["coordinates"] for g in got] == \
        [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    assert got[1]["bbox"] == [1.0, 1.0, 1.0, 1.0]
    # Geo metadata that is not JSON.
    p = tmp_path / "badgeo.parquet"
    pq.write_table(_simple_table().replace_schema_metadata({"geo": "{x"}), p)
    _fails(dump, p, "LC_ECORRUPT", "'geo'")
    # No id column.
    p = tmp_path / "noid.parquet"
    pq.write_table(_simple_table().drop_columns(["id"]), p)
    _fails(dump, p, "LC_ECORRUPT", "no column 'id'")
    # id of the wrong type.
    t = _simple_table()
    p = tmp_path / "intid.parquet"
    pq.write_table(t.set_column(0, "id", pa.array([1, 2, 3])), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'id' is INT64, expected a string")
    # A null id.
    p = tmp_path / "nullid.parquet"
    pq.write_table(t.set_column(0, "id", pa.array(["a", None, "c"])), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'id' row 1", "no id (null)")
    # bbox of the wrong type, and a list bbox of 5 numbers.
    p = tmp_path / "strbbox.parquet"
    pq.write_table(t.append_column("bbox", pa.array(["x", "y", "z"])), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'bbox' is BYTE_ARRAY")
    p = tmp_path / "bbox5.parquet"
    pq.write_table(t.append_column("bbox", pa.array(
        [[0.0, 0, 1, 1], [0.0, 0, 1, 1, 2], [0.0, 0, 1, 1]])), p)
    _fails(dump, p, "LC_ECORRUPT", "row 1", "item 'a1'", "5 numbers")
    p = tmp_path / "bboxstruct.parquet"
    pq.write_table(t.append_column("bbox", pa.StructArray.from_arrays(
        [pa.array([0.0] * 3)] * 3, names=["xmin", "ymin", "xmax"])), p)
    _fails(dump, p, "LC_ECORRUPT", "no field 'ymax'")
    # datetime of the wrong type, and a string that is no time.
    p = tmp_path / "dtint.parquet"
    pq.write_table(t.set_column(1, "datetime", pa.array([1, 2, 3],
                                                        pa.int32())), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'datetime' is INT32")
    p = tmp_path / "dtstr.parquet"
    pq.write_table(t.set_column(1, "datetime", pa.array(
        ["2020-01-01", "2020-01-02", "yesterday"])), p)
    _fails(dump, p, "LC_ECORRUPT", "column 'datetime' row 2", "item 'a2'",
           "yesterday")
    # Bad WKB in row 2 of the second row group.
    wkb = t["geometry"].to_pylist()
    wkb[2] = wkb[2][:-3]
    p = tmp_path / "badwkb.parquet"
    pq.write_table(t.set_column(2, "geometry", pa.array(wkb, pa.binary())), p,
                   row_group_size=2)
    _fails(dump, p, "LC_ECORRUPT", "column 'geometry' row 2", "item 'a2'",
           "WKB")
    # A truncated file.
    good = tmp_path / "good.parquet"
    pq.write_table(_simple_table(200), good)
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 5, 100):
        p = tmp_path / f"truncated-{cut}.parquet"
        p.write_bytes(data[:cut])
        res = dump(p, check=False)
        assert res.returncode == 1 and p.name in res.stderr.decode(), \
            res.stderr.decode()
    # Wrong asset field types.
    assets = pa.StructArray.from_arrays([pa.StructArray.from_arrays(
        [pa.array(["h"] * 3), pa.array([1, 2, 3])], names=["href", "roles"])],
        names=["red"])
    p = tmp_path / "roles.parquet"
    pq.write_table(t.append_column("assets", assets), p)
    _fails(dump, p, "LC_ECORRUPT", "'assets.red.roles' is INT64")
