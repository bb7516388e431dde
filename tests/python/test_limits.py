"""Caps on untrusted sizes (docs/limits.md): each cap with an option is
hit by a file just over it, with a message naming the cap and how to raise
it, and the same file passes once lazycogs.open(limits=...) raises it;
decompression bombs fail fast and small, measured in a child process
(time, and VmHWM from /proc/self/status: the peak resident set)."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

import lazycogs

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import make_parquet_fixtures as pqf  # noqa: E402  (the minimal writer)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

# ---- a tiny georeferenced world, written here --------------------------

SHORT, LONG, ASCII, DOUBLE = 3, 4, 2, 12
DEFLATE, ZSTD = 8, 50000
# One 256 x 256 uint8 tile, EPSG:4326, 0.001 degree pixels from (10, 50).
SIZE, X0, Y0, RES = 256, 10.0, 50.0, 0.001
BBOX = (X0, Y0 - SIZE * RES, X0 + SIZE * RES, Y0)


def _entry(tag, typ, values):
    if isinstance(values, (bytes, bytearray)):
        return tag, typ, len(values), bytes(values)
    fmt = {SHORT: "H", LONG: "I", DOUBLE: "d"}[typ]
    return tag, typ, len(values), struct.pack("<" + fmt * len(values), *values)


def geotiff(tile: bytes, *, compression=DEFLATE, tile_size=SIZE,
            width=SIZE, height=SIZE, extra=(), noverviews=0) -> bytes:
    """A little-endian classic tiled GeoTIFF of one band of uint8 whose
    every block (main image and `noverviews` reduced-resolution IFDs, all
    of one tile) is `tile`."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00") + tile
    ifd_offsets = []
    for level in range(noverviews + 1):
        w, h = max(width >> level, 1), max(height >> level, 1)
        entries = [
            _entry(256, LONG, [w]), _entry(257, LONG, [h]),
            _entry(258, SHORT, [8]), _entry(259, SHORT, [compression]),
            _entry(262, SHORT, [1]), _entry(277, SHORT, [1]),
            _entry(322, LONG, [tile_size]), _entry(323, LONG, [tile_size]),
            _entry(324, LONG, [8]), _entry(325, LONG, [len(tile)]),
            _entry(339, SHORT, [1]),
        ]
        if level == 0:
            entries += [
                _entry(33550, DOUBLE, [RES, RES, 0.0]),
                _entry(33922, DOUBLE, [0, 0, 0, X0, Y0, 0]),
                # GTModelType geographic, RasterPixelIsArea, EPSG:4326.
                _entry(34735, SHORT, [1, 1, 0, 3, 1024, 0, 1, 2,
                                      1025, 0, 1, 1, 2048, 0, 1, 4326]),
                *[_entry(*e) for e in extra],
            ]
        else:
            entries.append(_entry(254, LONG, [1]))
        entries.sort(key=lambda e: e[0])
        at = len(out)
        ifd_offsets.append(at)
        size = 2 + 12 * len(entries) + 4
        body, tail = bytearray(struct.pack("<H", len(entries))), bytearray()
        for tag, typ, count, raw in entries:
            if len(raw) <= 4:
                field = raw.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", at + size + len(tail))
                tail += raw + (b"\x00" if len(raw) % 2 else b"")
            body += struct.pack("<HHI", tag, typ, count) + field
        out += body + b"\x00\x00\x00\x00" + tail
    for i, at in enumerate(ifd_offsets):
        n = struct.unpack_from("<H", out, at)[0]
        nxt = ifd_offsets[i + 1] if i + 1 < len(ifd_offsets) else 0
        struct.pack_into("<I", out, at + 2 + 12 * n, nxt)
    struct.pack_into("<I", out, 4, ifd_offsets[0])
    return bytes(out)


PIXELS = (np.arange(SIZE * SIZE) % 251 + 1).astype(np.uint8).reshape(SIZE,
                                                                      SIZE)
GOOD_TILE = zlib.compress(PIXELS.tobytes())


def polygon(n=5):
    """A closed ring of n points around BBOX (n >= 5)."""
    w, s, e, no = BBOX
    corners = [(w, s), (e, s), (e, no), (w, no)]
    ring = corners + [(w, no + (k + 1) * 1e-9) for k in range(n - 5)]
    return ring + [ring[0]]


def item(href, *, ring_points=5, properties=None):
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": "item-1",
        "bbox": list(BBOX),
        "geometry": {"type": "Polygon",
                     "coordinates": [[list(p) for p in polygon(ring_points)]]},
        "properties": {"datetime": "2025-06-01T00:00:00Z",
                       **(properties or {})},
        "assets": {"data": {"href": str(href), "roles": ["data"],
                            "type": "image/tiff; application=geotiff"}},
        "links": [],
    }


def write_ndjson(path, items):
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


def wkb_polygon(ring):
    return (struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring)) +
            b"".join(struct.pack("<dd", *p) for p in ring))


def write_geoparquet(path, href, *, ring_points=5, **kw):
    """stac-geoparquet of one item, written by pyarrow."""
    w, s, e, n = BBOX
    table = pa.table({
        "id": pa.array(["item-1"]),
        "datetime": pa.array([1748736000_000000],  # 2025-06-01T00:00Z
                             pa.timestamp("us", tz="UTC")),
        "bbox": pa.array([{"xmin": w, "ymin": s, "xmax": e, "ymax": n}]),
        "geometry": pa.array([wkb_polygon(polygon(ring_points))],
                             pa.binary()),
        "assets": pa.array([{"data": {"href": str(href), "roles": ["data"],
                                      "type": "image/tiff"}}]),
    })
    geo = {"version": "1.1.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB",
                                    "geometry_types": ["Polygon"]}}}
    table = table.replace_schema_metadata({"geo": json.dumps(geo)})
    pq.write_table(table, path, **kw)
    return path


def open_world(catalog, **kw):
    return lazycogs.open(str(catalog), bbox=BBOX, crs="EPSG:4326",
                         resolution=RES, bands=["data"], dtype="uint8",
                         nodata=0, time_period=None, **kw)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("limits")
    (d / "good.tif").write_bytes(geotiff(GOOD_TILE))
    write_ndjson(d / "good.ndjson", [item(d / "good.tif")])
    write_geoparquet(d / "good.parquet", d / "good.tif")
    return d


def assert_cap(exc_info, name):
    msg = str(exc_info.value)
    assert name in msg, msg
    assert f"limits={{'{name}': ...}}" in msg, msg


def test_good_world_reads_like_the_pixels_written(world):
    for cat in ("good.ndjson", "good.parquet"):
        da = open_world(world / cat)
        np.testing.assert_array_equal(da.isel(band=0, time=0).values, PIXELS)


# ---- options: an unknown name, a bad value -----------------------------

def test_unknown_limit_is_a_clear_error(world):
    with pytest.raises(ValueError, match="unknown limit 'max_blocks'.*"
                                         "max_block_nbytes"):
        open_world(world / "good.ndjson", limits={"max_blocks": 1})
    with pytest.raises(ValueError, match="positive"):
        open_world(world / "good.ndjson", limits={"max_ifds": 0})
    with pytest.raises(TypeError):
        open_world(world / "good.ndjson", limits=[("max_ifds", 3)])
    with pytest.raises(lazycogs.InvalidArgumentError,
                       match="max_thrift_depth must be at most 1000"):
        open_world(world / "good.ndjson", limits={"max_thrift_depth": 5000})


# ---- COG caps -----------------------------------------------------------

def test_max_block_nbytes(world):
    # The tile decodes to 65536 bytes.
    da = open_world(world / "good.ndjson", limits={"max_block_nbytes": 65535})
    with pytest.raises(lazycogs.ChunkReadError) as e:
        da.values
    assert_cap(e, "max_block_nbytes")
    da = open_world(world / "good.ndjson", limits={"max_block_nbytes": 65536})
    np.testing.assert_array_equal(da.isel(band=0, time=0).values, PIXELS)


def test_max_block_nbytes_default_tile_dims(world):
    """TileByteCounts is small, but 65520 x 65520 tiles of uint8 claim 4 GiB
    per block, over the default 256 MiB: refused before any allocation."""
    tif = world / "huge_tile.tif"
    tif.write_bytes(geotiff(GOOD_TILE, tile_size=65520, width=65520,
                            height=65520))
    cat = write_ndjson(world / "huge_tile.ndjson", [item(tif)])
    da = open_world(cat)
    with pytest.raises(lazycogs.ChunkReadError) as e:
        da.isel(x=slice(0, 8), y=slice(0, 8)).values
    assert isinstance(e.value.original, lazycogs.LimitExceededError)
    assert_cap(e, "max_block_nbytes")
    assert "(268435456)" in str(e.value)


def test_max_tag_nbytes(world):
    tif = world / "long_tag.tif"
    # GeoAsciiParams of 2000 bytes (read at open).
    tif.write_bytes(geotiff(GOOD_TILE, extra=[(34737, ASCII,
                                               b"x" * 1999 + b"\x00")]))
    cat = write_ndjson(world / "long_tag.ndjson", [item(tif)])
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(cat, limits={"max_tag_nbytes": 1000})
    assert_cap(e, "max_tag_nbytes")
    da = open_world(cat, limits={"max_tag_nbytes": 2000})
    np.testing.assert_array_equal(da.isel(band=0, time=0).values, PIXELS)


def test_max_ifds(world):
    tif = world / "overviews.tif"
    tif.write_bytes(geotiff(GOOD_TILE, noverviews=2))
    cat = write_ndjson(world / "overviews.ndjson", [item(tif)])
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(cat, limits={"max_ifds": 2})
    assert_cap(e, "max_ifds")
    open_world(cat, limits={"max_ifds": 3})
    # At the default (256).
    tif = world / "many_ifds.tif"
    tif.write_bytes(geotiff(GOOD_TILE, noverviews=300))
    cat = write_ndjson(world / "many_ifds.ndjson", [item(tif)])
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(cat)
    assert_cap(e, "max_ifds")
    assert "(256)" in str(e.value)


# ---- catalogue caps -----------------------------------------------------

def test_max_footer_nbytes(world):
    cat = world / "good.parquet"
    footer = struct.unpack("<I", cat.read_bytes()[-8:-4])[0]
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(cat, limits={"max_footer_nbytes": footer - 1})
    assert_cap(e, "max_footer_nbytes")
    open_world(cat, limits={"max_footer_nbytes": footer})
    # At the default (128 MiB): a sparse file whose footer is 129 MiB,
    # refused from its length field before a byte of it is read.
    n = 129 << 20
    with open(world / "big_footer.parquet", "wb") as f:
        f.write(b"PAR1")
        f.seek(4 + n)
        f.write(struct.pack("<I", n) + b"PAR1")
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(world / "big_footer.parquet")
    assert_cap(e, "max_footer_nbytes")


def largest_page(path):
    """The largest page (compressed or not) of the columns, by pyarrow."""
    md = pq.ParquetFile(path).metadata
    return max(max(md.row_group(0).column(c).total_compressed_size,
                   md.row_group(0).column(c).total_uncompressed_size)
               for c in range(md.num_columns))


def test_max_page_and_chunk_nbytes(world):
    cat = world / "good.parquet"
    for cap in ("max_page_nbytes", "max_chunk_nbytes"):
        with pytest.raises(lazycogs.LimitExceededError) as e:
            open_world(cat, limits={cap: 16})
        assert_cap(e, cap)
        open_world(cat, limits={cap: largest_page(cat)})


def test_max_thrift_depth(world):
    # FileMetaData > row groups > column chunks > ColumnMetaData >
    # statistics: more than 2 levels.
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(world / "good.parquet", limits={"max_thrift_depth": 2})
    assert_cap(e, "max_thrift_depth")
    open_world(world / "good.parquet", limits={"max_thrift_depth": 32})


def test_max_geometry_points(world):
    tif = world / "good.tif"
    for ext, write in (("parquet", write_geoparquet), ("ndjson", None)):
        cat = world / f"ring40.{ext}"
        if write is not None:
            write(cat, tif, ring_points=40)
        else:
            write_ndjson(cat, [item(tif, ring_points=40)])
        with pytest.raises(lazycogs.LazycogsError) as e:
            open_world(cat, limits={"max_geometry_points": 39})
        assert_cap(e, "max_geometry_points")
        open_world(cat, limits={"max_geometry_points": 40})


def test_max_json_nbytes(world):
    cat = world / "good.ndjson"
    n = cat.stat().st_size
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(cat, limits={"max_json_nbytes": n - 1})
    assert_cap(e, "max_json_nbytes")
    open_world(cat, limits={"max_json_nbytes": n})
    # At the default (1 GiB): a sparse file one byte over, refused from
    # its size before a byte of it is read.
    big = world / "big.ndjson"
    with open(big, "wb") as f:
        f.truncate((1 << 30) + 1)
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(big)
    assert_cap(e, "max_json_nbytes")


def nested(depth):
    v = 1
    for _ in range(depth):
        v = {"a": v}
    return v


def test_max_json_depth(world):
    # Properties nested 70 deep: the item is 72 levels, over the default 64.
    cat = write_ndjson(world / "deep.ndjson",
                       [item(world / "good.tif",
                             properties={"deep": nested(70)})])
    with pytest.raises(lazycogs.LimitExceededError) as e:
        open_world(cat)
    assert_cap(e, "max_json_depth")
    open_world(cat, limits={"max_json_depth": 100})


def test_limits_survive_pickling(world):
    import pickle
    da = open_world(world / "good.ndjson", limits={"max_block_nbytes": 65535})
    backend = da.variable._data
    while not hasattr(backend, "_options"):
        backend = backend.array
    clone = pickle.loads(pickle.dumps(backend))
    assert clone._options["limits"] == {"max_block_nbytes": 65535}


# ---- decompression bombs, in a child process ----------------------------

def zlib_bomb(nbytes=1 << 30) -> bytes:
    """A valid zlib stream of ~1 MiB inflating to nbytes zeros: identical
    full-flushed 1 MiB blocks, a final empty block and the Adler-32."""
    z = bytes(1 << 20)
    c = zlib.compressobj(9)
    first = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    unit = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    n = nbytes >> 20
    adler = 1
    for _ in range(n):
        adler = zlib.adler32(z, adler)
    return first + unit * (n - 1) + b"\x03\x00" + struct.pack(">I", adler)


def zstd_rle_frame(nbytes=1 << 30) -> bytes:
    """A valid zstd frame of RLE blocks (4 bytes per 128 KiB) whose header
    says it holds nbytes: 32 KiB claiming 1 GiB."""
    blk = 128 << 10
    n = nbytes // blk
    out = bytearray(struct.pack("<IB", 0xFD2FB528, 0xE0))  # FCS 8 bytes,
    out += struct.pack("<Q", nbytes)                          # one segment
    for i in range(n):
        out += struct.pack("<I", (blk << 3) | (1 << 1) | (i == n - 1))[:3]
        out += b"\x00"
    return bytes(out)


def gzip_page_file(path, page_body: bytes, claimed: int, codec: int):
    """A one-column (id: string) parquet file whose only page holds
    page_body (compressed with codec) and claims `claimed` bytes
    uncompressed, by the minimal writer of tools/make_parquet_fixtures."""
    pages = pqf.page_header(0, claimed, len(page_body), 1) + page_body
    schema = [("schema", None, None, 1), ("id", 6, 0, None, 0)]
    pqf.write_file(path, schema, [(1, [(6, ["id"], pages, 1)])], codec=codec)


@pytest.fixture(scope="module")
def bombs(world):
    d = world
    zb = zlib_bomb()
    assert len(zb) < 2 << 20
    zs = zstd_rle_frame()
    assert len(zs) < 64 << 10
    out = {}
    for name, tile, comp in (("deflate", zb, DEFLATE), ("zstd", zs, ZSTD)):
        (d / f"bomb_{name}.tif").write_bytes(geotiff(tile, compression=comp))
        out[f"tiff_{name}"] = write_ndjson(d / f"bomb_{name}.ndjson",
                                           [item(d / f"bomb_{name}.tif")])
    # Pages: one claiming 2 GiB - 1 decoded bytes (over max_page_nbytes),
    # and bombs whose page header claims 100 bytes.
    small = zlib.compress(pqf.plain(6, [b"a"]))
    gzip_page_file(d / "page_claim.parquet", small, 0x7FFFFFFF, 2)
    gzip_page_file(d / "page_gzip.parquet", zb, 100, 2)
    gzip_page_file(d / "page_zstd.parquet", zs, 100, 6)
    for k in ("page_claim", "page_gzip", "page_zstd"):
        out[k] = d / f"{k}.parquet"
    return out


CHILD = textwrap.dedent("""
    import json, sys, time
    import lazycogs

    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

    kind, cat, bbox, res = sys.argv[1], sys.argv[2], eval(sys.argv[3]), \\
        float(sys.argv[4])
    # Warm up the code paths (and their memory) on the good world first.
    da = lazycogs.open(sys.argv[5], bbox=bbox, crs="EPSG:4326",
                       resolution=res, bands=["data"], dtype="uint8",
                       nodata=0, time_period=None)
    da.values
    before = hwm()
    t0 = time.perf_counter()
    try:
        if kind == "control":  # what the probe sees of a real inflate
            import zlib
            zlib.decompress(open(cat, "rb").read())
            raise SystemExit(print(json.dumps({"grown": hwm() - before})))
        da = lazycogs.open(cat, bbox=bbox, crs="EPSG:4326", resolution=res,
                           bands=["data"], dtype="uint8", nodata=0,
                           time_period=None)
        da.values
        err = None
    except (lazycogs.LazycogsError, lazycogs.ChunkReadError) as e:
        err = [type(e).__name__, str(e), getattr(e, "status", None)]
    seconds = time.perf_counter() - t0
    print(json.dumps({"error": err, "seconds": seconds,
                      "grown": hwm() - before}))
""")


def run_child(world, catalog, kind="read"):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    r = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(catalog), repr(BBOX),
         repr(RES), str(world / "good.ndjson")],
        capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("bomb,expect", [
    ("tiff_deflate", "deflate: stream decodes to more than"),
    ("tiff_zstd", "zstd: stream decodes to more than"),
    ("page_claim", "exceeds max_page_nbytes"),
    ("page_gzip", "gzip: stream decodes to more than"),
    ("page_zstd", "zstd: stream decodes to more than"),
])
def test_bombs_fail_fast_and_small(world, bombs, bomb, expect):
    got = run_child(world, bombs[bomb])
    assert got["error"] is not None, got
    name, msg, _ = got["error"]
    assert name in ("CorruptDataError", "LimitExceededError",
                    "ChunkReadError"), got
    assert expect in msg, msg
    print(bomb, got)
    assert got["seconds"] < 1.0, got
    # The 1 GiB (or 2 GiB) never materialises: the peak resident set grows
    # by less than 64 MiB over that of a good read.
    assert got["grown"] < 64 << 20, got


def test_the_probe_sees_a_real_inflate(world):
    """The control: inflating a 256 MiB bomb in the child (Python's zlib)
    does grow VmHWM by about that much, so the bound above means
    something."""
    (world / "bomb256.zlib").write_bytes(zlib_bomb(256 << 20))
    got = run_child(world, world / "bomb256.zlib", kind="control")
    assert got["grown"] > 200 << 20, got
