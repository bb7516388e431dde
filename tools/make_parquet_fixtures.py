#!/usr/bin/env python3
"""Writes the Parquet fixtures of tests/data/parquet/ (known answers for
tests/c/test_parquet.c) and its bad/ corpus with bad/EXPECTED.

    .venv/bin/python tools/make_parquet_fixtures.py [--out tests/data/parquet]

Good files are written by pyarrow, except where pyarrow cannot write the
layout: Hadoop-framed LZ4 (codec 5), legacy two-level lists and every
hostile file, which come from the small Parquet writer below (Thrift
compact protocol, PLAIN and RLE encodings). The contents are fixed, so
the C test can hard-code its answers; rerunning rewrites identical data
(pyarrow's created_by string aside).

tests/python/test_parquet_oracle.py imports write_variants() and
write_legacy() from here to write its files at test time.
"""
# SPDX-License-Identifier: MIT
import argparse
import json
import os
import shutil
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------
# A minimal Parquet writer: Thrift compact protocol and PLAIN/RLE pages.
# --------------------------------------------------------------------------

T_TRUE, T_FALSE, T_I8, T_I16, T_I32, T_I64 = 1, 2, 3, 4, 5, 6
T_DOUBLE, T_BINARY, T_LIST, T_SET, T_MAP, T_STRUCT = 7, 8, 9, 10, 11, 12


def uleb(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(v):
    return (v << 1) ^ (v >> 63)


class Thrift:
    """Thrift compact protocol writer (structs, lists, the scalar types)."""

    def __init__(self):
        self.b = bytearray()
        self.last = [0]

    def field(self, fid, ftype):
        delta = fid - self.last[-1]
        if 0 < delta <= 15:
            self.b.append((delta << 4) | ftype)
        else:
            self.b.append(ftype)
            self.b += uleb(zigzag(fid))
        self.last[-1] = fid

    def i32(self, fid, v):
        self.field(fid, T_I32)
        self.b += uleb(zigzag(v) & 0xFFFFFFFFFFFFFFFF)
        return self

    def i64(self, fid, v):
        self.field(fid, T_I64)
        self.b += uleb(zigzag(v) & 0xFFFFFFFFFFFFFFFF)
        return self

    def binary(self, fid, v):
        if isinstance(v, str):
            v = v.encode()
        self.field(fid, T_BINARY)
        self.b += uleb(len(v)) + v
        return self

    def boolean(self, fid, v):
        self.field(fid, T_TRUE if v else T_FALSE)
        return self

    def begin(self, fid):
        self.field(fid, T_STRUCT)
        self.last.append(0)
        return self

    def end(self):
        self.b.append(0)
        self.last.pop()
        return self

    def list(self, fid, etype, n):
        self.field(fid, T_LIST)
        if n < 15:
            self.b.append((n << 4) | etype)
        else:
            self.b.append(0xF0 | etype)
            self.b += uleb(n)
        return self

    def elem_begin(self):
        self.last.append(0)
        return self

    def stop(self):
        self.b.append(0)
        return bytes(self.b)


def rle_levels(levels, bw):
    """RLE/bit-packed hybrid of levels, as RLE runs only."""
    out = bytearray()
    nbytes = (bw + 7) // 8
    i = 0
    while i < len(levels):
        j = i
        while j < len(levels) and levels[j] == levels[i]:
            j += 1
        out += uleb((j - i) << 1) + levels[i].to_bytes(nbytes, "little")
        i = j
    return bytes(out)


def plain(ptype, values):
    if ptype == 1:
        return b"".join(struct.pack("<i", v) for v in values)
    if ptype == 2:
        return b"".join(struct.pack("<q", v) for v in values)
    if ptype == 5:
        return b"".join(struct.pack("<d", v) for v in values)
    if ptype == 6:
        return b"".join(struct.pack("<I", len(v)) + v for v in values)
    raise ValueError(ptype)


def page_header(ptype, uncomp, comp, num_values, encoding=0, dict_page=False,
                v2=None):
    t = Thrift()
    t.i32(1, 2 if dict_page else (3 if v2 else ptype)).i32(2, uncomp).i32(3, comp)
    if dict_page:
        t.begin(7).i32(1, num_values).i32(2, 0).end()
    elif v2:
        t.begin(8).i32(1, num_values).i32(2, v2["nulls"]).i32(3, v2["rows"])
        t.i32(4, encoding).i32(5, v2["dl"]).i32(6, v2["rl"]).end()
    else:
        t.begin(5).i32(1, num_values).i32(2, encoding).i32(3, 3).i32(4, 3)
        t.end()
    return t.stop()


def lz4_hadoop(data):
    import pyarrow as pa
    block = pa.Codec("lz4_raw").compress(data, asbytes=True)
    return struct.pack(">II", len(data), len(block)) + block


def data_page(values, ptype, defs=None, max_def=0, reps=None, max_rep=0,
              codec=None, encoding=0, num_values=None):
    """A v1 data page: [rep levels][def levels][PLAIN values]."""
    body = bytearray()
    n = len(defs) if defs is not None else len(values)
    if max_rep:
        lv = rle_levels(reps, max_rep.bit_length())
        body += struct.pack("<I", len(lv)) + lv
    if max_def:
        lv = rle_levels(defs, max_def.bit_length())
        body += struct.pack("<I", len(lv)) + lv
    body += values if isinstance(values, bytes) else plain(ptype, values)
    comp = codec(bytes(body)) if codec else bytes(body)
    return page_header(0, len(body), len(comp),
                       n if num_values is None else num_values,
                       encoding) + comp


def schema_elem(t, name, ptype=None, rep=None, children=None, converted=None,
                type_length=None):
    t.elem_begin()
    if ptype is not None:
        t.i32(1, ptype)
    if type_length is not None:
        t.i32(2, type_length)
    if rep is not None:
        t.i32(3, rep)
    t.binary(4, name)
    if children is not None:
        t.i32(5, children)
    if converted is not None:
        t.i32(6, converted)
    t.end()


def write_file(path, schema, row_groups, kv=(), codec=0, head=b"PAR1",
               tail=b"PAR1", footer_hook=None):
    """schema: list of schema_elem argument tuples (root first).
    row_groups: list of (num_rows, [(ptype, path_parts, pages_bytes,
    num_values), ...])."""
    out = bytearray(head)
    chunks = []
    for num_rows, cols in row_groups:
        placed = []
        for ptype, parts, pages, nvals in cols:
            placed.append((ptype, parts, len(out), len(pages), nvals))
            out += pages
        chunks.append((num_rows, placed))
    t = Thrift()
    t.i32(1, 1)
    t.list(2, T_STRUCT, len(schema))
    for el in schema:
        schema_elem(t, *el)
    t.i64(3, sum(n for n, _ in row_groups))
    t.list(4, T_STRUCT, len(chunks))
    for num_rows, placed in chunks:
        t.elem_begin()
        t.list(1, T_STRUCT, len(placed))
        for ptype, parts, off, size, nvals in placed:
            t.elem_begin()
            t.i64(2, off)
            t.begin(3)
            t.i32(1, ptype)
            t.list(2, T_I32, 1)
            t.b += uleb(zigzag(0))
            t.list(3, T_BINARY, len(parts))
            for p in parts:
                t.b += uleb(len(p)) + p.encode()
            t.i32(4, codec).i64(5, nvals).i64(6, size).i64(7, size)
            t.i64(9, off)
            t.end()
            t.end()
        t.i64(2, sum(s for *_, s, _ in placed)).i64(3, num_rows)
        t.end()
    if kv:
        t.list(5, T_STRUCT, len(kv))
        for k, v in kv:
            t.elem_begin().binary(1, k).binary(2, v).end()
    t.binary(6, "lazycogs make_parquet_fixtures")
    footer = t.stop()
    if footer_hook:
        footer = footer_hook(footer)
    out += footer + struct.pack("<I", len(footer)) + tail
    Path(path).write_bytes(bytes(out))
    return bytes(out)


# --------------------------------------------------------------------------
# Good files
# --------------------------------------------------------------------------

def write_flat(path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = 6
    t = pa.table({
        "id": pa.array([f"item-{i}" for i in range(n)], pa.string()),
        "x": pa.array([10, None, 30, 40, None, 60], pa.int64()),
        "y": pa.array([0.5, 1.5, None, 3.5, 4.5, 5.5], pa.float64()),
        "flag": pa.array([True, False, None, True, True, False]),
        "ts": pa.array([1_600_000_000_000 + i * 1000 for i in range(n)],
                       pa.timestamp("ms", tz="UTC")),
        "ts_local": pa.array([1_600_000_000_000_000_000 + i for i in range(n)],
                             pa.timestamp("ns")),
        "day": pa.array([18000 + i for i in range(n)], pa.date32()),
        "nul": pa.nulls(n),
        "u16": pa.array([65535 - i for i in range(n)], pa.uint16()),
    })
    pq.write_table(t, path, compression="snappy", row_group_size=3,
                   use_dictionary=True)


def wkb_point(x, y):
    return struct.pack("<BIdd", 1, 1, x, y)


def write_nested(path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    band = pa.struct([("nodata", pa.float64()), ("data_type", pa.string()),
                      ("scale", pa.float64()), ("offset", pa.float64())])
    t = pa.table({
        "bbox": pa.array([
            {"xmin": 0.0, "ymin": 1.0, "xmax": 2.0, "ymax": 3.0}, None,
            {"xmin": -1.0, "ymin": -2.0, "xmax": -0.5, "ymax": -1.5},
            {"xmin": 10.0, "ymin": 20.0, "xmax": 30.0, "ymax": 40.0}],
            pa.struct([(k, pa.float64()) for k in
                       ("xmin", "ymin", "xmax", "ymax")])),
        "bbox_list": pa.array([[0.0, 1.0, 2.0, 3.0], None, [],
                               [5.0, None, 7.0, 8.0]], pa.list_(pa.float64())),
        "proj:transform": pa.array([[1.0, 0.0, 100.0, 0.0, -1.0, 200.0],
                                    [10.0, 0.0, 0.0, 0.0, -10.0, 0.0], None,
                                    []], pa.list_(pa.float64())),
        "raster:bands": pa.array([
            [{"nodata": 0.0, "data_type": "uint16", "scale": 0.0001,
              "offset": -0.1},
             {"nodata": None, "data_type": "uint8", "scale": 1.0,
              "offset": 0.0}],
            None, [],
            [None, {"nodata": -9999.0, "data_type": "int16", "scale": None,
                    "offset": None}]], pa.list_(band)),
        "assets": pa.array([
            {"red": {"href": "s3://b/r0.tif", "roles": ["data"]},
             "blue": {"href": "s3://b/b0.tif"}},
            {"red": None, "blue": {"href": "s3://b/b1.tif"}},
            None,
            {"red": {"href": "s3://b/r3.tif", "roles": []}, "blue": None}],
            pa.struct([("red", pa.struct([("href", pa.string()),
                                          ("roles", pa.list_(pa.string()))])),
                       ("blue", pa.struct([("href", pa.string())]))])),
        "props": pa.array([[("a", 1), ("b", 2)], None, [], [("c", None)]],
                          pa.map_(pa.string(), pa.int64())),
        "geometry": pa.array([wkb_point(1, 2), wkb_point(3, 4), None,
                              wkb_point(-5.5, 6.25)], pa.binary()),
    })
    geo = ('{"version":"1.1.0","primary_column":"geometry","columns":'
           '{"geometry":{"encoding":"WKB","geometry_types":["Point"]}}}')
    t = t.replace_schema_metadata({**(t.schema.metadata or {}),
                                   b"geo": geo.encode()})
    pq.write_table(t, path, compression="zstd", data_page_version="2.0")


def write_big_footer(path):
    """A footer larger than the 64 KiB tail read: 40 KB of metadata (and its copy in ARROW:schema)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pa.table({"a": pa.array([1, 2, 3], pa.int32())})
    pad = "".join(chr(ord("a") + i % 26) for i in range(40_000))
    t = t.replace_schema_metadata({"padding": pad})
    pq.write_table(t, path)


def write_encodings(path):
    """Every value encoding pyarrow writes, over 3 row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = 300
    t = pa.table({
        "delta32": pa.array([(i * 7919) % 1000 - 500 for i in range(n)],
                            pa.int32()),
        "delta64": pa.array([None if i % 10 == 3 else i * 1_000_000_007
                             for i in range(n)], pa.int64()),
        "dlba": pa.array([None if i % 9 == 0 else "v" * (i % 13)
                          for i in range(n)], pa.string()),
        "dba": pa.array([f"prefix-{i // 10:04d}-{i}" for i in range(n)],
                        pa.string()),
        "bss32": pa.array([i * 0.25 for i in range(n)], pa.float32()),
        "bss64": pa.array([None if i % 7 == 0 else i / 3 for i in range(n)],
                          pa.float64()),
        "rle_bool": pa.array([i % 3 == 0 for i in range(n)]),
    })
    enc = {"delta32": "DELTA_BINARY_PACKED", "delta64": "DELTA_BINARY_PACKED",
           "dlba": "DELTA_LENGTH_BYTE_ARRAY", "dba": "DELTA_BYTE_ARRAY",
           "bss32": "BYTE_STREAM_SPLIT", "bss64": "BYTE_STREAM_SPLIT",
           "rle_bool": "RLE"}
    pq.write_table(t, path, compression="gzip", use_dictionary=False,
                   column_encoding=enc, data_page_version="2.0",
                   row_group_size=100, data_page_size=256)


def write_stats(path):
    """3 row groups with known statistics, for row-group skipping."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pa.table({
        "xmin": pa.array([float(i) for i in range(12)], pa.float64()),
        "dt": pa.array([1_000_000 * i for i in range(12)],
                       pa.timestamp("ms", tz="UTC")),
        "name": pa.array([f"n{i:02d}" for i in range(12)]),
        "maybe": pa.array([None if i < 4 else i for i in range(12)],
                          pa.int32()),
    })
    pq.write_table(t, path, row_group_size=4, compression="none")


def write_lz4_hadoop(path):
    """Codec 5 (LZ4 with Hadoop framing), which pyarrow does not write: two
    row groups of 5 rows; v (required INT64) in two pages in the first."""
    v = list(range(0, 30, 3))
    s = [b"alpha", b"", None, b"delta", b"epsilon"]
    defs = [0 if x is None else 1 for x in s]
    pages_s = data_page([x for x in s if x is not None], 6, defs=defs,
                        max_def=1, codec=lz4_hadoop)
    write_file(path, [
        ("schema", None, None, 2),
        ("v", 2, 0),
        ("s", 6, 1, None, 0),
    ], [(5, [(2, ["v"], data_page(v[:3], 2, codec=lz4_hadoop) +
              data_page(v[3:5], 2, codec=lz4_hadoop), 5),
             (6, ["s"], pages_s, 5)]),
        (5, [(2, ["v"], data_page(v[5:], 2, codec=lz4_hadoop), 5),
             (6, ["s"], pages_s, 5)])], codec=5)


def write_legacy(path):
    """Legacy list layouts (LogicalTypes.md backward-compatibility rules),
    4 rows:
      arr   optional group (LIST) { repeated int32 array }
            [1, 2], null, [], [3, 4]
      tup   optional group (LIST) { repeated group tup_tuple {
            required int64 v } }
            [{v: 7}], [], [{v: 8}, {v: 9}], null
      pairs repeated group { required int32 a; optional binary b (UTF8) }
            [{a: 5, b: "x"}, {a: 6, b: null}], [], [{a: 7, b: "z"}], []
    """
    pa_reps = [0, 1, 0, 0, 0]
    pages = [
        (1, ["arr", "array"],
         data_page([1, 2, 3, 4], 1, defs=[2, 2, 0, 1, 2, 2], max_def=2,
                   reps=[0, 1, 0, 0, 0, 1], max_rep=1), 6),
        (2, ["tup", "tup_tuple", "v"],
         data_page([7, 8, 9], 2, defs=[2, 1, 2, 2, 0], max_def=2,
                   reps=[0, 0, 0, 1, 0], max_rep=1), 5),
        (1, ["pairs", "a"],
         data_page([5, 6, 7], 1, defs=[1, 1, 0, 1, 0], max_def=1,
                   reps=pa_reps, max_rep=1), 5),
        (6, ["pairs", "b"],
         data_page([b"x", b"z"], 6, defs=[2, 1, 0, 2, 0], max_def=2,
                   reps=pa_reps, max_rep=1), 5),
    ]
    write_file(path, [
        ("schema", None, None, 3),
        ("arr", None, 1, 1, 3),
        ("array", 1, 2),
        ("tup", None, 1, 1, 3),
        ("tup_tuple", None, 2, 1),
        ("v", 2, 0),
        ("pairs", None, 2, 2),
        ("a", 1, 0),
        ("b", 6, 1, None, 0),
    ], [(4, pages)])


def write_dataset(root):
    """A Hive-partitioned dataset, a plain multi-file one and a pair of
    files with different schemas."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    for year, month, ids in ((2020, 1, [1, 2]), (2020, 2, [3]),
                             (2021, 1, [4, 5, 6])):
        d = root / "hive" / f"year={year}" / f"month={month:02d}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()),
                                 "name": [f"n{i}" for i in ids]}),
                       d / "part-0.parquet")
    (root / "hive" / "_SUCCESS").write_text("")
    multi = root / "multi"
    multi.mkdir(parents=True, exist_ok=True)
    for name, ids in (("b.parquet", [10, 11]), ("a.parquet", [1]),
                      ("c.geoparquet", [20])):
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()),
                                 "v": pa.array([i * 0.5 for i in ids])}),
                       multi / name)
    (multi / "notes.txt").write_text("not parquet\n")
    mism = root / "mismatch"
    mism.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": pa.array([1], pa.int64())}),
                   mism / "a.parquet")
    pq.write_table(pa.table({"id": pa.array([1.5])}), mism / "b.parquet")


# --------------------------------------------------------------------------
# Bad files: (name, open status, read status) in bad/EXPECTED
# --------------------------------------------------------------------------

def simple_file(path, **kw):
    """A valid one-column file (INT64 x 0..4) unless kw breaks it."""
    pages = kw.pop("pages", None) or data_page([0, 1, 2, 3, 4], 2)
    nvals = kw.pop("nvals", 5)
    schema = kw.pop("schema", None) or [("schema", None, None, 1),
                                        ("x", 2, 0)]
    return write_file(path, schema, [(5, [(2, ["x"], pages, nvals)])], **kw)


def write_bad(bad):
    bad.mkdir(parents=True, exist_ok=True)
    cases = []

    def case(name, open_status, read_status):
        cases.append((name, open_status, read_status))
        return bad / name

    good = simple_file(case("good_control.parquet", "LC_OK", "LC_OK"))
    # Footer and magic.
    (case("truncated_footer.parquet", "LC_ECORRUPT", "-")).write_bytes(
        good[:-30])
    (case("truncated_tail.parquet", "LC_ECORRUPT", "-")).write_bytes(
        good[:-2])
    (case("wrong_magic.parquet", "LC_ECORRUPT", "-")).write_bytes(
        good[:-4] + b"PAR2")
    (case("wrong_head_magic.parquet", "LC_ECORRUPT", "-")).write_bytes(
        b"PAR0" + good[4:])
    (case("encrypted_footer.parquet", "LC_EUNSUPPORTED", "-")).write_bytes(
        good[:-4] + b"PARE")
    (case("too_small.parquet", "LC_ECORRUPT", "-")).write_bytes(b"PAR1PAR1")
    (case("empty.parquet", "LC_ECORRUPT", "-")).write_bytes(b"")
    (case("footer_len_huge.parquet", "LC_ECORRUPT", "-")).write_bytes(
        good[:-8] + struct.pack("<I", 0x7FFFFFF0) + b"PAR1")
    (case("footer_len_zero.parquet", "LC_ECORRUPT", "-")).write_bytes(
        good[:-8] + struct.pack("<I", 0) + b"PAR1")
    # Corrupt Thrift.
    flen = struct.unpack("<I", good[-8:-4])[0]
    fstart = len(good) - 8 - flen
    garbage = bytes((i * 37 + 11) & 0xFF for i in range(flen))
    (case("corrupt_thrift.parquet", "LC_ECORRUPT", "-")).write_bytes(
        good[:fstart] + garbage + good[-8:])
    (case("thrift_cut.parquet", "LC_ECORRUPT", "-")).write_bytes(
        good[:fstart] + good[fstart:fstart + flen // 2] +
        struct.pack("<I", flen // 2) + b"PAR1")
    # A list header claiming 2^30 schema elements.
    simple_file(case("huge_list_len.parquet", "LC_ECORRUPT", "-"),
                footer_hook=lambda f: f.replace(
                    bytes([0x19, 0x2C]), bytes([0x19, 0xFC]) +
                    uleb(1 << 30), 1))
    # An unknown field nesting 200 structs deep (skipped, so capped).
    def deep_field(f):
        # Field 20 (long form) of FileMetaData: a struct holding structs
        # 199 deep, then the STOPs closing them and FileMetaData.
        return f[:-1] + bytes([0x0C]) + uleb(zigzag(20)) + \
            bytes([0x1C]) * 199 + b"\x00" * 200 + b"\x00"
    simple_file(case("deep_thrift.parquet", "LC_ELIMIT", "-"),
                footer_hook=deep_field)
    # A schema 100 groups deep.
    sch = [("schema", None, None, 1)]
    for i in range(100):
        sch.append((f"g{i}", None, 1, 1))
    sch.append(("x", 2, 1))
    simple_file(case("deep_schema.parquet", "LC_ELIMIT", "-"), schema=sch)
    simple_file(case("schema_children_lie.parquet", "LC_ECORRUPT", "-"),
                schema=[("schema", None, None, 3), ("x", 2, 0)])
    simple_file(case("schema_extra_elements.parquet", "LC_ECORRUPT", "-"),
                schema=[("schema", None, None, 1), ("x", 2, 0), ("y", 2, 0)])
    simple_file(case("schema_bad_type.parquet", "LC_EUNSUPPORTED", "-"),
                schema=[("schema", None, None, 1), ("x", 9, 0)])
    simple_file(case("chunk_type_mismatch.parquet", "LC_ECORRUPT", "-"),
                schema=[("schema", None, None, 1), ("x", 1, 0)])
    # Pages that lie.
    p = data_page([0, 1, 2, 3, 4], 2)
    hdr = page_header(0, 40, 40 + 1000, 5)
    simple_file(case("page_size_lies.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=hdr + p[len(page_header(0, 40, 40, 5)):])
    hdr = page_header(0, 40 - 8, 40, 5)
    simple_file(case("uncompressed_size_lies.parquet", "LC_OK",
                     "LC_ECORRUPT"),
                pages=hdr + p[len(page_header(0, 40, 40, 5)):])
    def snappy(b):
        import pyarrow as pa
        return pa.Codec("snappy").compress(b, asbytes=True)
    body = plain(2, [0, 1, 2, 3, 4])
    comp = snappy(body)
    simple_file(case("snappy_size_lies.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=page_header(0, len(body) + 16, len(comp), 5) + comp,
                codec=1)
    simple_file(case("snappy_garbage.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=page_header(0, 40, 40, 5) + bytes(range(40)), codec=1)
    simple_file(case("negative_page_size.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=page_header(0, -1, 40, 5) +
                p[len(page_header(0, 40, 40, 5)):])
    simple_file(case("page_huge_num_values.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=page_header(0, 40, 40, 1 << 30) +
                p[len(page_header(0, 40, 40, 5)):])
    simple_file(case("chunk_huge_num_values.parquet", "LC_OK", "LC_ELIMIT"),
                nvals=1 << 40)
    simple_file(case("chunk_fewer_values.parquet", "LC_OK", "LC_ECORRUPT"),
                nvals=9)
    simple_file(case("page_header_garbage.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=bytes([0xFF] * 60))
    # An optional column whose RLE levels claim more than they hold.
    opt = [("schema", None, None, 1), ("x", 2, 1)]
    lv = uleb(1000 << 1 | 1)  # a bit-packed run of 8000 values, no data
    body = struct.pack("<I", len(lv)) + lv + plain(2, [1])
    simple_file(case("levels_overrun.parquet", "LC_OK", "LC_ECORRUPT"),
                schema=opt, pages=page_header(0, len(body), len(body), 5) +
                body)
    lv = rle_levels([3, 3, 3, 3, 3], 2)  # above max_def 1
    body = struct.pack("<I", len(lv)) + lv + plain(2, [1])
    simple_file(case("level_above_max.parquet", "LC_OK", "LC_ECORRUPT"),
                schema=opt, pages=page_header(0, len(body), len(body), 5) +
                body)
    # Dictionary trouble.
    dict_page = page_header(0, 16, 16, 2, dict_page=True) + plain(2, [7, 8])
    idx = bytes([2]) + uleb(5 << 1) + bytes([3])  # index 3 of 2
    simple_file(case("dict_index_out_of_range.parquet", "LC_OK",
                     "LC_ECORRUPT"),
                pages=dict_page + page_header(0, len(idx), len(idx), 5,
                                              encoding=8) + idx)
    idx = bytes([1]) + uleb(5 << 1) + bytes([1])
    simple_file(case("dict_missing.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=page_header(0, len(idx), len(idx), 5, encoding=8) + idx)
    simple_file(case("unknown_encoding.parquet", "LC_OK", "LC_EUNSUPPORTED"),
                pages=page_header(0, 40, 40, 5, encoding=42) +
                plain(2, [0, 1, 2, 3, 4]))
    simple_file(case("unknown_codec.parquet", "LC_OK", "LC_EUNSUPPORTED"),
                codec=3)
    # Column chunk placement.
    def move_offset(f):
        # file_offset and data_page_offset (both i64 fields 2 after the
        # previous field: header 0x26) of 4 move to 2^40.
        return f.replace(bytes([0x26]) + uleb(zigzag(4)),
                         bytes([0x26]) + uleb(zigzag(1 << 40)))
    simple_file(case("chunk_past_eof.parquet", "LC_OK", "LC_ECORRUPT"),
                footer_hook=move_offset)
    # A delta stream that ends early.
    dl = uleb(128) + uleb(4) + uleb(5) + uleb(zigzag(0)) + uleb(zigzag(1))
    simple_file(case("delta_truncated.parquet", "LC_OK", "LC_ECORRUPT"),
                pages=page_header(0, len(dl), len(dl), 5, encoding=5) + dl)
    lines = ["# file  open-status  read-status (of every column; - when "
             "open fails)"]
    lines += [f"{n} {o} {r}" for n, o, r in cases]
    (bad / "EXPECTED").write_text("\n".join(lines) + "\n")
    return cases


# --------------------------------------------------------------------------
# For the Python oracle: pyarrow files of every codec, page version,
# encoding and type.
# --------------------------------------------------------------------------

def oracle_table(n=1500, seed=1):
    import random
    import pyarrow as pa
    rnd = random.Random(seed)

    def maybe(v, p=0.2):
        return None if rnd.random() < p else v

    band = pa.struct([("nodata", pa.float64()), ("data_type", pa.string()),
                      ("scale", pa.float64())])
    return pa.table({
        "i32": pa.array([maybe(rnd.randint(-2**31, 2**31 - 1))
                         for _ in range(n)], pa.int32()),
        "i64": pa.array([maybe(rnd.randint(-2**63, 2**63 - 1))
                         for _ in range(n)], pa.int64()),
        "i64_sorted": pa.array(list(range(0, n * 7, 7)), pa.int64()),
        "i8": pa.array([rnd.randint(-128, 127) for _ in range(n)], pa.int8()),
        "i16": pa.array([maybe(rnd.randint(-2**15, 2**15 - 1))
                         for _ in range(n)], pa.int16()),
        "u8": pa.array([rnd.randint(0, 255) for _ in range(n)], pa.uint8()),
        "u32": pa.array([maybe(rnd.randint(0, 2**32 - 1)) for _ in range(n)],
                        pa.uint32()),
        "u64": pa.array([rnd.randint(0, 2**64 - 1) for _ in range(n)],
                        pa.uint64()),
        "f32": pa.array([maybe(rnd.uniform(-1e6, 1e6)) for _ in range(n)],
                        pa.float32()),
        "f64": pa.array([maybe(rnd.choice([rnd.uniform(-1e300, 1e300),
                                           float("nan"), float("inf"), -0.0,
                                           1.5])) for _ in range(n)],
                        pa.float64()),
        "b": pa.array([maybe(rnd.random() < 0.5) for _ in range(n)],
                      pa.bool_()),
        "s": pa.array([maybe("x" * rnd.randint(0, 30) + str(i % 37))
                       for i in range(n)], pa.string()),
        "s_req": pa.array([f"id-{i:06d}" for i in range(n)], pa.string()),
        "bin": pa.array([maybe(bytes(rnd.getrandbits(8) for _ in
                                     range(rnd.randint(0, 12))))
                         for _ in range(n)], pa.binary()),
        "fixed": pa.array([maybe(bytes(rnd.getrandbits(8) for _ in range(5)))
                           for _ in range(n)], pa.binary(5)),
        "ts_ms_utc": pa.array([maybe(rnd.randint(0, 2**41)) for _ in range(n)],
                              pa.timestamp("ms", tz="UTC")),
        "ts_us": pa.array([maybe(rnd.randint(0, 2**50)) for _ in range(n)],
                          pa.timestamp("us")),
        "ts_ns_tz": pa.array([maybe(rnd.randint(0, 2**62)) for _ in range(n)],
                             pa.timestamp("ns", tz="Europe/Paris")),
        "ts_ns": pa.array([maybe(rnd.randint(0, 2**62)) for _ in range(n)],
                          pa.timestamp("ns")),
        "date": pa.array([maybe(rnd.randint(-10000, 30000)) for _ in range(n)],
                         pa.date32()),
        "nul": pa.nulls(n),
        "bbox": pa.array([maybe({"xmin": rnd.uniform(-180, 0),
                                 "ymin": rnd.uniform(-90, 0),
                                 "xmax": rnd.uniform(0, 180),
                                 "ymax": rnd.uniform(0, 90)}, 0.05)
                          for _ in range(n)],
                         pa.struct([(k, pa.float64()) for k in
                                    ("xmin", "ymin", "xmax", "ymax")])),
        "lst": pa.array([maybe([maybe(rnd.uniform(0, 1), 0.1)
                                for _ in range(rnd.randint(0, 5))])
                         for _ in range(n)], pa.list_(pa.float64())),
        "lst_req": pa.array([[rnd.randint(0, 9) for _ in
                              range(rnd.randint(0, 3))] for _ in range(n)],
                            pa.list_(pa.field("element", pa.int64(),
                                              nullable=False))),
        "bands": pa.array([maybe([maybe({"nodata": maybe(0.0),
                                         "data_type": "uint16",
                                         "scale": maybe(rnd.random())})
                                  for _ in range(rnd.randint(0, 3))])
                           for _ in range(n)], pa.list_(band)),
        "nested": pa.array([maybe({
            "a": maybe(rnd.randint(0, 9)),
            "b": maybe("q" * rnd.randint(0, 3)),
            "c": maybe([maybe({"x": maybe(rnd.random()),
                               "y": maybe([maybe(rnd.randint(0, 5))
                                           for _ in range(rnd.randint(0, 3))])
                               }) for _ in range(rnd.randint(0, 3))])})
            for _ in range(n)],
            pa.struct([("a", pa.int32()), ("b", pa.string()),
                       ("c", pa.list_(pa.struct([
                           ("x", pa.float64()),
                           ("y", pa.list_(pa.int16()))])))])),
        "m": pa.array([maybe([(f"k{j}", maybe(f"v{rnd.randint(0, 99)}"))
                              for j in range(rnd.randint(0, 3))])
                       for _ in range(n)], pa.map_(pa.string(), pa.string())),
        "lol": pa.array([maybe([maybe([rnd.randint(0, 9) for _ in
                                       range(rnd.randint(0, 3))])
                                for _ in range(rnd.randint(0, 3))])
                         for _ in range(n)], pa.list_(pa.list_(pa.int32()))),
    })


VALUE_ENCODINGS = {
    "i32": "DELTA_BINARY_PACKED", "i64": "DELTA_BINARY_PACKED",
    "i64_sorted": "DELTA_BINARY_PACKED", "u32": "DELTA_BINARY_PACKED",
    "date": "DELTA_BINARY_PACKED", "ts_us": "DELTA_BINARY_PACKED",
    "s": "DELTA_LENGTH_BYTE_ARRAY", "bin": "DELTA_BYTE_ARRAY",
    "s_req": "DELTA_BYTE_ARRAY", "f32": "BYTE_STREAM_SPLIT",
    "f64": "BYTE_STREAM_SPLIT", "fixed": "BYTE_STREAM_SPLIT", "b": "RLE",
}


def write_variants(out):
    """Writes the oracle's pyarrow files into out; returns their paths."""
    import pyarrow.parquet as pq
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = oracle_table()
    files = []
    for codec in ("none", "snappy", "gzip", "zstd", "lz4", "brotli"):
        for ver in ("1.0", "2.0"):
            for dic in (True, False):
                p = out / f"pyarrow_{codec}_v{ver[0]}_dict{int(dic)}.parquet"
                pq.write_table(t, p, compression=codec, data_page_version=ver,
                               use_dictionary=dic, row_group_size=600,
                               data_page_size=4096)
                files.append(p)
    for ver in ("1.0", "2.0"):
        for codec in ("none", "zstd"):
            p = out / f"pyarrow_encodings_v{ver[0]}_{codec}.parquet"
            pq.write_table(t.select(list(VALUE_ENCODINGS)), p,
                           use_dictionary=False,
                           column_encoding=VALUE_ENCODINGS,
                           data_page_version=ver, compression=codec,
                           row_group_size=700, data_page_size=2048)
            files.append(p)
    p = out / "pyarrow_fixed_delta_byte_array.parquet"
    pq.write_table(t.select(["fixed"]), p, use_dictionary=False,
                   column_encoding={"fixed": "DELTA_BYTE_ARRAY"})
    files.append(p)
    p = out / "pyarrow_int96.parquet"
    pq.write_table(t.select(["ts_us", "i32"]), p,
                   use_deprecated_int96_timestamps=True)
    files.append(p)
    p = out / "pyarrow_one_row_group.parquet"
    pq.write_table(t, p, row_group_size=10**6)
    files.append(p)
    return files


def write_stac_big(path, n=3000):
    """stac-geoparquet of n items in one row group, enough for the loader
    to fill it on two threads (tests/c/test_stac_parquet.c): item i is
    'item-%04d', a day apart from 2020-01-01, a polygon of 5 + i % 7
    points starting at (i / 100, 45), bbox, and assets red, green and
    blue with href s3://fixtures/item-%04d/<key>.tif and roles [data]."""
    import datetime as dt
    import math

    import pyarrow as pa
    import pyarrow.parquet as pq

    def ring(i):
        x0, k = i / 100, 4 + i % 7
        pts = [(x0 + 0.5 + 0.4 * math.cos(2 * math.pi * j / k),
                45.5 + 0.4 * math.sin(2 * math.pi * j / k)) for j in range(k)]
        pts = [(x0, 45.0)] + pts[1:] + [(x0, 45.0)]
        return pts

    def wkb_polygon(pts):
        out = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(pts))
        return out + b"".join(struct.pack("<dd", x, y) for x, y in pts)

    rings = [ring(i) for i in range(n)]
    t0 = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    keys = ["red", "green", "blue"]
    assets = pa.StructArray.from_arrays([
        pa.StructArray.from_arrays(
            [pa.array([f"s3://fixtures/item-{i:04d}/{k}.tif"
                       for i in range(n)]),
             pa.array([["data"]] * n, pa.list_(pa.string()))],
            names=["href", "roles"]) for k in keys], names=keys)
    table = pa.table({
        "id": [f"item-{i:04d}" for i in range(n)],
        "datetime": pa.array([t0 + dt.timedelta(days=i) for i in range(n)],
                             pa.timestamp("us", tz="UTC")),
        "bbox": pa.StructArray.from_arrays(
            [pa.array([f([p[c] for p in r]) for r in rings])
             for f, c in ((min, 0), (min, 1), (max, 0), (max, 1))],
            names=["xmin", "ymin", "xmax", "ymax"]),
        "geometry": pa.array([wkb_polygon(r) for r in rings], pa.binary()),
        "assets": assets,
    })
    geo = {"version": "1.1.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB"}}}
    table = table.replace_schema_metadata({"geo": json.dumps(geo)})
    pq.write_table(table, path, row_group_size=n, compression="zstd")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(REPO / "tests" / "data" / "parquet"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_flat(out / "flat.parquet")
    write_nested(out / "nested.parquet")
    write_encodings(out / "encodings.parquet")
    write_stats(out / "stats.parquet")
    write_big_footer(out / "big_footer.parquet")
    write_lz4_hadoop(out / "lz4_hadoop.parquet")
    write_legacy(out / "legacy_lists.parquet")
    write_stac_big(out / "stac_big.parquet")
    ds = out / "dataset"
    if ds.exists():
        shutil.rmtree(ds)
    write_dataset(ds)
    bad = out / "bad"
    if bad.exists():
        shutil.rmtree(bad)
    cases = write_bad(bad)
    print(f"wrote fixtures and {len(cases)} bad files into {out}")


if __name__ == "__main__":
    main()
