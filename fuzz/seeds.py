#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets from real files.

    .venv/bin/python fuzz/seeds.py OUT [REALDATA] [WORLD]

OUT/<corpus>/ gets one file per seed; merge them into the checked-in
corpora with libFuzzer's -merge=1 (fuzz/README.md), which keeps only the
seeds that add coverage. REALDATA defaults to ../shared/realdata beside the
checkout and WORLD to _world/ci (tools/make_world.py); missing ones are
skipped. Seeds bigger than 1 MiB are left out.
"""
import glob
import hashlib
import io
import json
import os
import re
import sys

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MAX = 1 << 20


def put(out, corpus, name, data):
    if len(data) > MAX:
        return
    d = os.path.join(out, corpus)
    os.makedirs(d, exist_ok=True)
    if not name:
        name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def generated_parquet():
    """Small tables in every encoding and compression pyarrow writes."""
    n = 300
    t = pa.table({
        "i32": pa.array([i * 7 - 100 for i in range(n)], pa.int32()),
        "i64": pa.array([None if i % 11 == 0 else i * 1000003
                         for i in range(n)], pa.int64()),
        "f64": pa.array([i / 3.0 for i in range(n)], pa.float64()),
        "f32": pa.array([i / 7.0 for i in range(n)], pa.float32()),
        "s": pa.array(["item-%d" % (i % 17) for i in range(n)]),
        "b": pa.array([i % 3 == 0 for i in range(n)]),
        "ts": pa.array([1_600_000_000_000_000 + i for i in range(n)],
                       pa.timestamp("us", tz="UTC")),
        "l": pa.array([[i, i + 1][: i % 3] for i in range(n)],
                      pa.list_(pa.int64())),
        "st": pa.array([{"x": float(i), "y": None if i % 5 else 1.0}
                        for i in range(n)]),
    })
    cases = [
        ("dict", {"use_dictionary": True}),
        ("plain", {"use_dictionary": False}),
        ("delta_bp", {"use_dictionary": False, "column_encoding": {
            "i32": "DELTA_BINARY_PACKED", "i64": "DELTA_BINARY_PACKED",
            "ts": "DELTA_BINARY_PACKED"}}),
        ("delta_lba", {"use_dictionary": False, "column_encoding": {
            "s": "DELTA_LENGTH_BYTE_ARRAY"}}),
        ("delta_ba", {"use_dictionary": False, "column_encoding": {
            "s": "DELTA_BYTE_ARRAY"}}),
        ("bss", {"use_dictionary": False, "column_encoding": {
            "f64": "BYTE_STREAM_SPLIT", "f32": "BYTE_STREAM_SPLIT"}}),
    ]
    for name, kw in cases:
        for codec in ("none", "snappy", "gzip", "zstd", "lz4", "brotli"):
            for version in ("1.0", "2.6"):
                for dpv in ("1.0", "2.0"):
                    buf = io.BytesIO()
                    try:
                        pq.write_table(t, buf, compression=codec,
                                       data_page_version=dpv,
                                       version=version, row_group_size=128,
                                       data_page_size=512, **kw)
                    except (pa.ArrowException, ValueError):
                        continue
                    yield ("pyarrow_%s_%s_v%s_dp%s.parquet"
                           % (name, codec, version, dpv), buf.getvalue())


def generated_cogs():
    """64x64 COGs (32x32 blocks, one overview) in every codec and
    predictor GDAL writes; codecs this GDAL lacks are skipped."""
    import numpy as np
    import rasterio
    from rasterio.io import MemoryFile

    y, x = np.mgrid[0:64, 0:64]
    cases = [
        ("deflate_u8", "uint8", 1, {"compress": "deflate"}),
        ("deflate_pred2_i16", "int16", 1, {"compress": "deflate",
                                            "predictor": 2}),
        ("deflate_pred3_f32", "float32", 1, {"compress": "deflate",
                                              "predictor": 3}),
        ("lzw_pred2_u16x3", "uint16", 3, {"compress": "lzw", "predictor": 2}),
        ("lzw_pred3_f64", "float64", 1, {"compress": "lzw", "predictor": 3}),
        ("zstd_pred3_f32", "float32", 2, {"compress": "zstd", "predictor": 3}),
        ("zstd_separate_u8x3", "uint8", 3, {"compress": "zstd",
                                             "interleave": "band"}),
        ("packbits_i8", "int8", 1, {"compress": "packbits"}),
        ("none_u32_mask", "uint32", 1, {"compress": "none"}),
        ("jpeg_ycbcr", "uint8", 3, {"compress": "jpeg",
                                    "photometric": "ycbcr"}),
        ("jpeg_gray", "uint8", 1, {"compress": "jpeg"}),
        ("webp_rgba", "uint8", 4, {"compress": "webp"}),
        ("webp_lossless", "uint8", 3, {"compress": "webp",
                                       "webp_lossless": True}),
        ("lerc_f32", "float32", 1, {"compress": "lerc", "max_z_error": 0.1}),
        ("lerc_deflate_u16", "uint16", 2, {"compress": "lerc_deflate"}),
        ("lerc_zstd_f64", "float64", 1, {"compress": "lerc_zstd"}),
        ("lzma_u8", "uint8", 1, {"compress": "lzma"}),
    ]
    for name, dtype, count, kw in cases:
        data = ((x * 3 + y * count) % 250).astype(dtype)
        profile = dict(driver="COG", width=64, height=64, count=count,
                       dtype=dtype, crs="EPSG:32615", blocksize=32,
                       overview_resampling="nearest",
                       transform=rasterio.Affine(10, 0, 500000, 0, -10, 4e6))
        profile.update(kw)
        try:
            with MemoryFile() as mem:
                with mem.open(**profile) as dst:
                    for b in range(count):
                        dst.write(data, b + 1)
                    if name.endswith("_mask"):
                        dst.write_mask((x + y) % 5 != 0)
                yield name + ".tif", mem.read()
        except Exception as e:  # a codec this GDAL was built without
            print("seeds: skipped COG %s: %s" % (name, e), file=sys.stderr)


def thrift_seeds(data):
    """The footer (prefix 0) and the page headers of each chunk (prefix 1)."""
    if len(data) < 12 or data[-4:] != b"PAR1":
        return
    n = int.from_bytes(data[-8:-4], "little")
    if n + 8 <= len(data):
        yield b"\x00" + data[-8 - n:-8]
    try:
        md = pq.ParquetFile(pa.BufferReader(data)).metadata
    except (pa.ArrowException, OSError):
        return
    for g in range(min(md.num_row_groups, 2)):
        for c in range(md.num_columns):
            col = md.row_group(g).column(c)
            for off in (col.dictionary_page_offset, col.data_page_offset):
                if off and 0 < off < len(data):
                    yield b"\x01" + data[off:off + 200]


def main():
    out = sys.argv[1]
    real = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        ROOT, "..", "shared", "realdata")
    world = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        ROOT, "_world", "ci")

    parquets = []
    for name, data in generated_parquet():
        put(out, "parquet", name, data)
        parquets.append(data)
    for p in sorted(glob.glob(os.path.join(real, "stac", "**", "*.parquet"),
                              recursive=True)
                    + glob.glob(os.path.join(world, "*.parquet"))):
        data = open(p, "rb").read()
        put(out, "stac_parquet", os.path.basename(p), data)
        put(out, "parquet", os.path.basename(p), data)
        parquets.append(data)
    for p in glob.glob(os.path.join(HERE, "corpus", "parquet", "*")):
        parquets.append(open(p, "rb").read())
    for data in parquets:
        for s in thrift_seeds(data):
            put(out, "thrift", None, s)

    # JSON items: documents as they are, under a few option bytes.
    docs = []
    for p in sorted(glob.glob(os.path.join(real, "stac", "**", "*.json"),
                              recursive=True)
                    + glob.glob(os.path.join(world, "items", "*.json"))[:8]):
        docs.append(open(p, "rb").read())
    for p in (os.path.join(real, "stac", "rustac", "items.ndjson"),
              os.path.join(world, "items.ndjson")):
        if os.path.exists(p):
            lines = open(p, "rb").read().splitlines(keepends=True)
            docs.append(b"".join(lines[:20]))
    times = set()
    for i, d in enumerate(docs):
        for flags in (0x00, 0x0f, 0x1a):
            put(out, "items_json", None, bytes([flags]) + d)
        for m in re.finditer(rb'"(?:datetime|start_datetime|end_datetime|'
                             rb'created|updated)"\s*:\s*"([^"]{1,40})"', d):
            times.add(m.group(1))

    # Timestamps and intervals: real ones and the spellings the parser
    # documents (isotime.h).
    times |= {b"2023-01-15", b"2023-01-15T10:00:00Z", b"2023-01-15t10:00z",
              b"2023-01-15 10:00:00.123456789+05:30", b"2023-01-15T10:00-0530",
              b"0001-01-01T00:00:00+01:00", b"9999-12-31T23:59:59.999999-23:59",
              b"2024-02-29T00:00:00,5Z", b"2023-02-29", b"20230115T100000Z",
              b"2023-01-15T24:00:00Z", b"2023-01-15T10:00:60Z",
              b"2020-01-01/2021-01-01", b"../2021-01-01T00:00:00Z",
              b"2020-01-01T00:00:00Z/..", b"/2020-01-01", b"2020-01-01/",
              b"2021-01-01/2020-01-01"}
    for t in sorted(times):
        put(out, "isotime", None, t)

    # CQL2-JSON: the OGC examples and the JSON inputs of the cql2 corpus.
    for p in sorted(glob.glob(os.path.join(real, "cql2", "**", "*.json"),
                              recursive=True)):
        put(out, "cql2_json", None, open(p, "rb").read())
    for p in glob.glob(os.path.join(HERE, "corpus", "cql2", "*")):
        data = open(p, "rb").read()
        try:
            json.loads(data)
        except ValueError:
            continue
        put(out, "cql2_json", None, data)

    # COGs: small ones in every codec GDAL writes, and the first 64 KiB of
    # the world's and the real files (headers and first blocks; the real
    # files are replayed whole by the fuzz_cog_replay_realdata test).
    for name, data in generated_cogs():
        put(out, "cog", name, data)
    for p in sorted(glob.glob(os.path.join(world, "cogs", "**", "*.tif"),
                              recursive=True))[:40]:
        put(out, "cog", os.path.basename(p), open(p, "rb").read(65536))
    for p in sorted(glob.glob(os.path.join(real, "cog", "**", "*.tif*"),
                              recursive=True)):
        put(out, "cog", os.path.basename(p), open(p, "rb").read(65536))


if __name__ == "__main__":
    main()
