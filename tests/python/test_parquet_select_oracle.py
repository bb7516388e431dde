"""Row selections and threads of the Parquet reader (src/parquet/read.c)
against pyarrow.

`parquet_dump --keep K,M` reads only rows r of row group g with
(7 r + 3 g) mod K < M, `--keep-range A,B` only rows A <= r < B of each
row group (so that whole pages of a flat column hold no row kept and are
skipped), `--threads N` decodes column chunks on N threads. The rows
printed must be exactly pyarrow's rows of the same row groups, filtered
by the same rule, value for value: flat and nested columns (lists, maps,
structs, lists of structs), every codec, data pages v1 and v2, dictionary
on and off, every value encoding pyarrow writes, single files and Hive
datasets. A file large enough for the threaded path (256 KiB of chunks per
row group) must read the same with 1, 2 and 8 threads.

Environment: LAZYCOGS_BUILD_DIR (the build holding tests/c/parquet_dump;
default build/asan), as tests/python/test_parquet_oracle.py.
"""
# SPDX-License-Identifier: MIT
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_parquet_oracle import (_expected, _rows, dump,  # noqa: E402,F401
                                 fixtures)

SELECTIONS = [("--keep", "5,2"), ("--keep", "3,0"), ("--keep", "2,1"),
              ("--keep-range", "0,1"), ("--keep-range", "250,420"),
              ("--keep-range", "0,100000")]


def _kept(rule, value, g, n):
    a, b = (int(v) for v in value.split(","))
    if rule == "--keep":
        return [r for r in range(n) if (7 * r + 3 * g) % a < b]
    return [r for r in range(n) if a <= r < b]


def _want(path, rule, value, columns=None, row_groups=None):
    pf = pq.ParquetFile(path)
    groups = range(pf.num_row_groups) if row_groups is None else row_groups
    want = []
    for g in groups:
        rows = _expected(pf.read_row_group(g, columns=columns))
        want += [rows[r] for r in _kept(rule, value, g, len(rows))]
    return want


def _check(dump, path, *args, columns=(), row_groups=None):  # noqa: F811
    for rule, value in SELECTIONS:
        want = _want(path, rule, value, list(columns) or None, row_groups)
        got = _rows(dump(rule, value, *args, path, *columns))
        assert len(got) == len(want), (path, rule, value)
        for i, (g, w) in enumerate(zip(got, want)):
            assert g == w, (path, rule, value, i)


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    return fixtures.write_variants(tmp_path_factory.mktemp("pq_sel"))


def test_variants(dump, variants):  # noqa: F811
    assert len(variants) >= 30
    for path in variants:
        _check(dump, path)


def test_variants_threads(dump, variants):  # noqa: F811
    for path in variants[:6]:
        _check(dump, path, "--threads", "3")


def test_projection_and_row_groups(dump, variants):  # noqa: F811
    path = variants[0]
    _check(dump, path, columns=["i32", "lst"])
    _check(dump, path, "--rg", "2,0", columns=["i32", "lst"],
           row_groups=[2, 0])


def test_checked_in_fixtures(dump):  # noqa: F811
    for path in sorted(fixtures.REPO.glob("tests/data/parquet/*.parquet")):
        _check(dump, path)


def _big_table(n):
    i = pa.array(range(n), pa.int64())
    return pa.table({
        "i": i,
        "d": pa.array([None if k % 7 == 0 else k / 3 for k in range(n)]),
        "s": pa.array([f"row-{k:08d}-{'x' * (k % 13)}" for k in range(n)]),
        "cat": pa.array([["a", "bb", "ccc"][k % 3] for k in range(n)]),
        "lst": pa.array([None if k % 11 == 0 else
                         [f"e{j}" for j in range(k % 4)] for k in range(n)],
                        pa.list_(pa.string())),
        "st": pa.array([{"x": float(k), "y": None if k % 5 else k}
                        for k in range(n)],
                       pa.struct([("x", pa.float64()), ("y", pa.int64())])),
    })


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_threads_large(dump, tmp_path, version):  # noqa: F811
    """Row groups of over 256 KiB of chunks: decoded on several threads,
    with the same rows as on one, and as pyarrow's."""
    path = tmp_path / f"big-v{version[0]}.parquet"
    pq.write_table(_big_table(60_000), path, row_group_size=20_000,
                   data_page_size=16 * 1024, data_page_version=version,
                   compression="zstd")
    md = pq.ParquetFile(path).metadata
    assert md.row_group(0).total_byte_size > 256 * 1024
    one = dump("--threads", "1", path).stdout
    assert dump("--threads", "2", path).stdout == one
    assert dump("--threads", "8", path).stdout == one
    assert _rows(dump("--threads", "2", path)) == \
        _expected(pq.read_table(path))
    for rule, value in (("--keep", "9,1"), ("--keep-range", "3000,3100")):
        got = dump(rule, value, "--threads", "2", path).stdout
        assert got == dump(rule, value, "--threads", "1", path).stdout
        assert _rows(dump(rule, value, "--threads", "2", path)) == \
            _want(path, rule, value)


def test_dataset(dump, tmp_path):  # noqa: F811
    """A Hive dataset: selections per row group of each file, keys kept."""
    root = tmp_path / "ds"
    t = _big_table(3000)
    for zone in ("a", "b"):
        d = root / f"zone={zone}"
        d.mkdir(parents=True)
        pq.write_table(t, d / "part.parquet", row_group_size=1000,
                       data_page_size=1024)
    for rule, value in (("--keep", "4,1"), ("--keep-range", "100,300")):
        got = _rows(dump("--dataset", rule, value, root))
        want = []
        for zone in ("a", "b"):
            rows = _want(root / f"zone={zone}" / "part.parquet", rule, value)
            want += [dict(r, zone=zone) for r in rows]
        assert got == want, (rule, value)


def test_bad_file_fails_cleanly(dump, tmp_path):  # noqa: F811
    """A corrupt chunk fails with a message under a selection and threads,
    the same message as on one thread."""
    path = tmp_path / "big.parquet"
    pq.write_table(_big_table(30_000), path, row_group_size=30_000,
                   compression="zstd")
    data = bytearray(path.read_bytes())
    md = pq.ParquetFile(path).metadata
    col = md.row_group(0).column(2)  # "s"
    at = col.data_page_offset + col.total_compressed_size // 2
    data[at:at + 64] = bytes(64)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    errs = set()
    for threads in ("1", "2", "4"):
        res = dump("--keep", "3,1", "--threads", threads, bad, check=False)
        assert res.returncode == 1 and res.stdout == b""
        errs.add(res.stderr)
    assert len(errs) == 1, errs
    assert b"column 's'" in errs.pop()
