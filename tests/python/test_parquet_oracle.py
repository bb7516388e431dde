"""The C Parquet reader (src/parquet) against pyarrow, value for value.

The C helper `parquet_dump FILE` (tests/c/parquet_dump.c) prints every row
of a Parquet file as JSON, nested values rebuilt from the arrays the reader
returns; each row must equal pyarrow's `to_pylist()` of the same file, with
timestamps, dates and times compared as the integers stored (pyarrow's
values cast to int), byte strings as "hex:..." and NaN as "NaN". Files:

  - every .parquet of the real-data folder (stac-geoparquet written by
    parquet-rs / rustac and by pyarrow, the old layout with a list bbox);
  - pyarrow files written here: each codec, data page v1 and v2, with and
    without dictionary, several row groups, every value encoding, the
    logical types, nulls, nested structs, lists and maps (the generator is
    tools/make_parquet_fixtures.py);
  - the checked-in fixtures (legacy list layouts, Hadoop-framed LZ4);
  - rustac.write_sync of real STAC items, DuckDB's COPY ... TO parquet;
  - the test world's items.parquet (rustac) and items-pyarrow.parquet;
  - a Hive-partitioned dataset, against pyarrow.dataset;
  - a file served over HTTP: the footer comes first and only the chunks of
    the projected columns are fetched.

Environment:
  LAZYCOGS_BUILD_DIR        CMake build folder holding tests/c/parquet_dump
                            (default: build/asan of this checkout); skipped if absent
  LAZYCOGS_REALDATA_STAC    the real STAC folder (default
                            shared/realdata/stac beside the checkout)
"""
# SPDX-License-Identifier: MIT
import json
import math
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_parquet_fixtures as fixtures  # noqa: E402

BUILD_DIR = Path(os.environ.get(
    "LAZYCOGS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build" / "asan"))
BINARY = BUILD_DIR / "tests" / "c" / "parquet_dump"
REALDATA = Path(os.environ.get("LAZYCOGS_REALDATA_STAC",
                               Path(__file__).resolve().parents[3] / "shared" / "realdata" / "stac"))
FIXTURES = REPO / "tests" / "data" / "parquet"


@pytest.fixture(scope="module")
def dump():
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} not built (set LAZYCOGS_BUILD_DIR)")

    def run(*args, check=True):
        res = subprocess.run([str(BINARY), *map(str, args)],
                             capture_output=True)
        if check and res.returncode != 0:
            raise AssertionError(f"parquet_dump {' '.join(map(str, args))}: "
                                 f"{res.stderr.decode(errors='replace')}")
        return res
    return run


# ---- normalising pyarrow's values -----------------------------------------


def _castable(t):
    """The type with temporal types replaced by the integers stored."""
    if (pa.types.is_timestamp(t) or pa.types.is_date64(t) or
            pa.types.is_duration(t) or pa.types.is_time64(t)):
        return pa.int64()
    if pa.types.is_date32(t) or pa.types.is_time32(t):
        return pa.int32()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _castable(f.type), f.nullable)
                          for f in t])
    if pa.types.is_large_list(t):
        v = t.value_field
        return pa.large_list(pa.field(v.name, _castable(v.type), v.nullable))
    if pa.types.is_list(t) or pa.types.is_fixed_size_list(t):
        v = t.value_field
        return pa.list_(pa.field(v.name, _castable(v.type), v.nullable))
    if pa.types.is_map(t):
        return pa.map_(_castable(t.key_type), _castable(t.item_type))
    if pa.types.is_dictionary(t):
        return _castable(t.value_type)
    return t


def _norm(v, t):
    if v is None:
        return None
    if pa.types.is_struct(t):
        return {f.name: _norm(v.get(f.name), f.type) for f in t}
    if pa.types.is_map(t):
        return [[_norm(k, t.key_type), _norm(x, t.item_type)] for k, x in v]
    if (pa.types.is_list(t) or pa.types.is_large_list(t) or
            pa.types.is_fixed_size_list(t)):
        return [_norm(x, t.value_type) for x in v]
    if pa.types.is_decimal(t):
        return f"dec:{int(v.scaleb(t.scale))}"
    if isinstance(v, uuid.UUID):
        return "hex:" + v.bytes.hex()
    if isinstance(v, (bytes, bytearray)):
        return "hex:" + bytes(v).hex()
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def _nan(x):
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, list):
        return [_nan(y) for y in x]
    if isinstance(x, dict):
        return {k: _nan(y) for k, y in x.items()}
    return x


def _expected(table):
    schema = pa.schema([pa.field(f.name, _castable(f.type), f.nullable)
                        for f in table.schema])
    fields = [(f.name, f.type) for f in schema]
    table = table.cast(schema)
    return [{n: _norm(r[n], t) for n, t in fields} for r in table.to_pylist()]


def _rows(res):
    return [_nan(json.loads(line)) for line in
            res.stdout.decode().splitlines()]


def assert_same(dump, path, columns=()):
    """parquet_dump of path equals pyarrow's rows."""
    want = _expected(pq.read_table(path, columns=list(columns) or None))
    got = _rows(dump(path, *columns))
    assert len(got) == len(want), f"{path}: {len(got)} rows, want {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            for k in w:
                assert g.get(k) == w[k], \
                    f"{path}: row {i}, column {k!r}"
            assert g == w, f"{path}: row {i}"


def assert_stats(dump, path):
    """Row-group min/max/null counts of numeric columns equal pyarrow's."""
    md = pq.ParquetFile(path).metadata
    ours = {}
    for line in dump("--stats", path).stdout.decode().splitlines():
        s = _nan(json.loads(line))
        ours[(s["rg"], s["path"])] = s
    checked = 0
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for i in range(rg.num_columns):
            col = rg.column(i)
            s = ours[(g, col.path_in_schema)]
            assert s["num_values"] == col.num_values
            st = col.statistics
            if st is None:
                continue
            if st.has_null_count:
                assert s.get("null_count") == st.null_count, col.path_in_schema
            numeric = col.physical_type in ("INT32", "INT64", "DOUBLE",
                                            "FLOAT")
            unsigned = "isSigned=false" in str(st.logical_type)
            if st.has_min_max and numeric and not unsigned:
                mn, mx = st.min_raw, st.max_raw
                if isinstance(mn, float) and (math.isnan(mn) or
                                              math.isnan(mx)):
                    continue
                if "min" not in s:
                    continue  # legacy stats we refuse to trust
                assert (s["min"], s["max"]) == (mn, mx), col.path_in_schema
                checked += 1
    return checked


# ---- files ------------------------------------------------------------------


def _realdata():
    if not REALDATA.is_dir():
        return []
    return sorted(REALDATA.rglob("*.parquet"))


@pytest.mark.parametrize("path", _realdata(), ids=lambda p: p.name)
def test_realdata(dump, path):
    assert_same(dump, path)
    assert_stats(dump, path)


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    return fixtures.write_variants(tmp_path_factory.mktemp("pq_variants"))


def test_pyarrow_variants(dump, variants):
    assert len(variants) >= 30
    for path in variants:
        assert_same(dump, path)
    # Statistics of every type pyarrow writes them for.
    assert assert_stats(dump, variants[0]) > 20


def test_checked_in_fixtures(dump):
    paths = sorted(FIXTURES.glob("*.parquet"))
    assert {p.name for p in paths} >= {"lz4_hadoop.parquet",
                                       "legacy_lists.parquet",
                                       "nested.parquet"}
    for path in paths:
        assert_same(dump, path)


def test_projection(dump, variants):
    path = variants[0]
    for cols in (["i64"], ["nested", "s"], ["m", "lol", "bbox"]):
        assert_same(dump, path, cols)


def test_row_group_selection(dump, variants):
    path = variants[0]
    pf = pq.ParquetFile(path)
    assert pf.num_row_groups >= 3
    want = _expected(pf.read_row_groups([2, 0], columns=["i32", "lst"]))
    got = _rows(dump("--rg", "2,0", path, "i32", "lst"))
    assert got == want


def _stac_items():
    items = []
    for name in ("naip-pc.json", "sentinel-2-l2a-pc.json",
                 "landsat-c2-l2-pc.json", "io-lulc-annual-v02-pc.json"):
        p = REALDATA / "stac-geoparquet" / name
        if p.is_file():
            items += json.loads(p.read_text())
    return items


def test_rustac_written(dump, tmp_path):
    rustac = pytest.importorskip("rustac")
    items = _stac_items()
    if not items:
        pytest.skip("no real STAC items")
    by_collection = {}
    for it in items:
        by_collection.setdefault(it.get("collection"), []).append(it)
    for coll, its in by_collection.items():
        path = tmp_path / f"rustac-{coll}.parquet"
        rustac.write_sync(str(path), its)
        assert_same(dump, path)
        assert_stats(dump, path)


def test_duckdb_written(dump, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    for codec in ("snappy", "zstd", "uncompressed", "gzip"):
        path = tmp_path / f"duckdb-{codec}.parquet"
        con.execute(f"""
            COPY (
              SELECT i::INTEGER AS i32, i * 1000000007::BIGINT AS i64,
                     CASE WHEN i % 7 = 0 THEN NULL ELSE (i / 3.0)::DOUBLE END AS f64,
                     (i / 4.0)::FLOAT AS f32,
                     'id-' || i AS s,
                     CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || (i % 3) END
                       AS s_dict,
                     i % 2 = 0 AS b,
                     DATE '2020-01-01' + (i % 400)::INTEGER AS d,
                     TIMESTAMP '2021-06-01 00:00:00' + to_seconds(i * 37) AS ts,
                     TIMESTAMPTZ '2021-06-01 00:00:00+00'
                       + to_milliseconds(i) AS tstz,
                     CASE WHEN i % 4 = 0 THEN NULL
                          ELSE [i, i + 1, NULL, i + 3][1:(i % 4)] END AS lst,
                     {{'xmin': (i * 0.5)::DOUBLE, 'ymin': (-i * 0.5)::DOUBLE,
                       'xmax': (i * 0.5 + 1)::DOUBLE,
                       'ymax': NULL::DOUBLE}} AS bbox,
                     (i * 0.01)::DECIMAL(9, 2) AS dec32,
                     (i * 0.0001)::DECIMAL(18, 4) AS dec64,
                     (i * 1.5 - 7)::DECIMAL(30, 3) AS dec128,
                     CASE WHEN i % 3 = 0 THEN NULL
                          ELSE [{{'nodata': 0.0, 'data_type': 'uint16'}},
                                {{'nodata': NULL, 'data_type': 'int8'}}]
                       END AS bands,
                     MAP {{'a': i, 'b': i * 2}} AS m,
                     ('\\x01\\x02'::BLOB) AS blob
              FROM range(0, 7000) t(i)
            ) TO '{path}' (FORMAT parquet, COMPRESSION {codec},
                           ROW_GROUP_SIZE 2048)
        """)
        assert pq.ParquetFile(path).metadata.num_row_groups >= 3
        assert_same(dump, path)
        assert_stats(dump, path)


def test_world_catalogs(dump, ci_world):
    for name in ("items.parquet", "items-pyarrow.parquet"):
        path = ci_world / name
        assert path.is_file(), path
        assert_same(dump, path)
        assert_stats(dump, path)
        # The geo metadata is there, and is JSON.
        geo = dump("--meta", "geo", path).stdout
        assert json.loads(geo)["primary_column"] == "geometry"


def test_hive_dataset(dump, tmp_path):
    ds = pytest.importorskip("pyarrow.dataset")
    t = fixtures.oracle_table(n=400).select(["i32", "s", "bbox", "lst"])
    t = t.append_column("id", pa.array(range(t.num_rows), pa.int64()))
    t = t.append_column("year", pa.array([2020 + i % 3
                                          for i in range(t.num_rows)]))
    t = t.append_column("zone", pa.array([f"z{i % 2}"
                                          for i in range(t.num_rows)]))
    root = tmp_path / "hive"
    pq.write_to_dataset(t, root, partition_cols=["year", "zone"])
    theirs = ds.dataset(root, partitioning="hive").to_table()
    theirs = theirs.cast(pa.schema([
        pa.field(f.name, pa.string() if f.name in ("year", "zone") else
                 f.type) for f in theirs.schema]))
    want = sorted(_expected(theirs), key=lambda r: r["id"])
    got = sorted(_rows(dump("--dataset", root)), key=lambda r: r["id"])
    assert got == want
    # A glob over part of it.
    got = _rows(dump("--dataset", f"{root}/year=2021/*/*.parquet"))
    assert {r["year"] for r in got} == {"2021"}
    assert len(got) == sum(1 for r in want if r["year"] == "2021")


def test_bad_files_fail_cleanly(dump):
    """Every hostile file gives its error and a message naming it (the C
    test checks the codes; this runs them through the ASan binary too)."""
    for line in (FIXTURES / "bad" / "EXPECTED").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, want_open, want_read = line.split()
        res = dump(FIXTURES / "bad" / name, check=False)
        err = res.stderr.decode()
        want = want_open if want_open != "LC_OK" else want_read
        if want == "LC_OK":
            assert res.returncode == 0, err
        else:
            assert res.returncode == 1 and err.startswith(want + ":"), \
                f"{name}: {err}"
            assert name in err


# ---- remote -----------------------------------------------------------------


def test_http_reads_footer_first_then_projected_chunks(dump, http_server,
                                                       tmp_path):
    """Over HTTP: a 4-byte probe (the size is unknown before the first
    answer), the footer, then only the projected column chunks."""
    import random
    rnd = random.Random(7)
    n = 4000
    # Two big random columns between the small projected ones, so that
    # merging neighbouring ranges can never reach across them: a chunk of
    # each (1.2 MB) is wider than the default coalescing gap (1 MiB).
    t = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "blob1": pa.array([rnd.randbytes(600) for _ in range(n)]),
        "x": pa.array([i * 0.5 for i in range(n)]),
        "blob2": pa.array([rnd.randbytes(600) for _ in range(n)]),
        "name": pa.array([f"item-{i}" for i in range(n)]),
    })
    path = tmp_path / "remote.parquet"
    pq.write_table(t, path, row_group_size=2000, compression="none")
    size = path.stat().st_size
    srv = http_server(tmp_path)
    url = srv.url_for("remote.parquet")
    res = dump("--io-stats", url, "id", "name")
    assert _rows(res) == _expected(t.select(["id", "name"]))

    chunks = {}
    for line in dump("--stats", path).stdout.decode().splitlines():
        s = json.loads(line)
        chunks[(s["rg"], s["path"])] = (s["offset"], s["offset"] + s["nbytes"])
    wanted = [chunks[(g, c)] for g in (0, 1) for c in ("id", "name")]
    others = [chunks[(g, c)] for g in (0, 1) for c in ("blob1", "blob2")]

    log = [e for e in srv.log if e["path"].endswith("remote.parquet")]
    ranges = []
    for e in log:
        assert e["method"] == "GET" and e["status"] == 206, e
        a, b = e["range"].split("=")[1].split("-")
        ranges.append((int(a), int(b) + 1))
    # First the magic probe, then the footer (the file's tail).
    assert ranges[0] == (0, 4)
    assert ranges[1][1] == size
    assert ranges[1][0] >= max(end for _, end in chunks.values()) - 65536
    # Then the projected chunks only: each request covers projected bytes
    # (neighbours may be merged), never a byte of the big columns.
    rest = ranges[2:]
    assert rest
    for a, b in rest:
        assert any(a <= lo and hi <= b for lo, hi in wanted) or \
            any(lo <= a and b <= hi for lo, hi in wanted), (a, b)
        for lo, hi in others:
            assert b <= lo or a >= hi, f"fetched {a}-{b} of a big column"
    for lo, hi in wanted:
        assert any(a <= lo and hi <= b for a, b in rest), (lo, hi)
    fetched = sum(b - a for a, b in ranges)
    assert fetched < size / 2
