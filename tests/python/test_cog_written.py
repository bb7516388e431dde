"""The C COG reader on GeoTIFFs GDAL writes at test time, and on the test world."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from affine import Affine

import lazycogs
from lazycogs import _ext
from conftest import write_sparse_cog
from gdal_oracle import assert_reads_like_gdal, assert_same_pixels

WIDTH, HEIGHT = 1100, 900  # not a multiple of any block size


def _field(dtype: str, count: int, seed: int = 7) -> np.ndarray:
    """A smooth field plus noise, like real imagery, in dtype's range."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    bands = []
    for b in range(count):
        smooth = np.sin(x / (37.0 + 5 * b)) + np.cos(y / (53.0 + 3 * b))
        noise = rng.normal(0, 0.05, size=x.shape)
        unit = (smooth + noise + 2.2) / 4.4  # about 0..1
        bands.append(unit)
    a = np.stack(bands)
    kind = np.dtype(dtype)
    if kind.kind == "f":
        out = (a * 1000 - 200).astype(dtype)
        out[:, 10:20, 30:40] = np.nan
        return out
    info = np.iinfo(kind)
    lo, hi = max(info.min, -30000), min(info.max, 60000)
    return (lo + a * (hi - lo)).clip(info.min, info.max).astype(dtype)


# name -> (dtype, count, creation options, driver)
VARIANTS = {
    "deflate_pred2_u16": ("uint16", 2, dict(compress="deflate", predictor=2), "COG"),
    "zstd_pred2_i16": ("int16", 1, dict(compress="zstd", predictor=2), "COG"),
    "lzw_u32": ("uint32", 1, dict(compress="lzw"), "COG"),
    "deflate_i8": ("int8", 1, dict(compress="deflate"), "COG"),
    "deflate_pred2_i64": ("int64", 1, dict(compress="deflate", predictor=2), "COG"),
    "zstd_u64": ("uint64", 1, dict(compress="zstd"), "COG"),
    "deflate_pred3_f32": ("float32", 1, dict(compress="deflate", predictor=3), "COG"),
    "zstd_pred3_f64": ("float64", 1, dict(compress="zstd", predictor=3), "COG"),
    "lerc_f32": ("float32", 1, dict(compress="lerc", max_z_error=0), "COG"),
    "lerc_deflate_u16": ("uint16", 1, dict(compress="lerc_deflate", max_z_error=0), "COG"),
    "lerc_zstd_f32_lossy": ("float32", 1, dict(compress="lerc_zstd", max_z_error=0.5), "COG"),
    "webp_lossless_rgb": ("uint8", 3, dict(compress="webp", quality=100), "COG"),
    "webp_lossy_rgba": ("uint8", 4, dict(compress="webp", quality=75), "COG"),
    "jpeg_rgb": ("uint8", 3, dict(compress="jpeg", quality=90), "COG"),
    "jpeg_gray": ("uint8", 1, dict(compress="jpeg", quality=90), "COG"),
    "bigtiff_deflate": ("uint16", 1, dict(compress="deflate", bigtiff="yes"), "COG"),
    "big_endian_pred2": ("int16", 2, dict(compress="deflate", predictor=2,
                                          endianness="big", tiled=True,
                                          blockxsize=256, blockysize=256), "GTiff"),
    "big_endian_pred3_f32": ("float32", 1, dict(compress="lzw", predictor=3,
                                                endianness="big", tiled=True,
                                                blockxsize=256, blockysize=256), "GTiff"),
    "planar_band_zstd": ("uint16", 3, dict(compress="zstd", predictor=2,
                                           interleave="band", tiled=True,
                                           blockxsize=256, blockysize=256), "GTiff"),
    "striped_packbits": ("uint8", 2, dict(compress="packbits", tiled=False,
                                          blockysize=7), "GTiff"),
    "float16_deflate": ("float32", 1, dict(compress="deflate", nbits=16,
                                           tiled=True, blockxsize=256,
                                           blockysize=256), "GTiff"),
}


def _write(path: Path, dtype: str, count: int, opts: dict, driver: str,
           mask: bool = False) -> None:
    data = _field(dtype, count)
    profile = dict(driver="GTiff" if driver == "COG" else driver, width=WIDTH,
                   height=HEIGHT, count=count, dtype=dtype, crs="EPSG:32615",
                   transform=Affine(30, 0, 399960, 0, -30, 5300040))
    tmp = path.with_suffix(".tmp.tif") if driver == "COG" else path
    gtiff_opts = {k: v for k, v in opts.items() if driver != "COG"}
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(tmp, "w", **profile, **gtiff_opts) as dst:
            dst.write(data)
            if mask:
                m = np.full((HEIGHT, WIDTH), 255, dtype="uint8")
                m[100:300, 200:700] = 0
                dst.write_mask(m)
            if driver != "COG":
                dst.build_overviews([2, 4], Resampling.average)
        if driver == "COG":
            rasterio.shutil.copy(tmp, path, driver="COG", blocksize=512,
                                 overview_resampling="average", **opts)
            tmp.unlink()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_gdal_written_variant(tmp_path, name):
    dtype, count, opts, driver = VARIANTS[name]
    path = tmp_path / f"{name}.tif"
    _write(path, dtype, count, opts, driver)
    info = assert_reads_like_gdal(path)
    assert info["nlevels"] >= 2, "the variant should have overviews"


def test_internal_mask_per_overview(tmp_path):
    path = tmp_path / "masked.tif"
    _write(path, "uint8", 3, dict(compress="deflate", tiled=True,
                                  blockxsize=256, blockysize=256), "GTiff",
           mask=True)
    info = assert_reads_like_gdal(path)
    assert info["has_mask"]
    cog = _ext.Cog(str(path))
    assert all(cog.level(i)["has_mask"] for i in range(info["nlevels"]))


def test_world_cogs_read_exactly(ci_world):
    """Every asset of a few world items, against GDAL and the formula."""
    items = [json.loads(line) for line in
             (ci_world / "items.ndjson").read_text().splitlines()]
    for item in items[:3]:
        for key, asset in item["assets"].items():
            if "image/tiff" not in asset.get("type", ""):
                continue
            path = Path(asset["href"].removeprefix("file://"))
            assert_reads_like_gdal(path)


def _tiles_beyond(path: Path, tiles: list[tuple[int, int]], head: int) -> int:
    """How many of the (col, row) tiles of level 0 end past the first head
    bytes of the file, per GDAL's BLOCK_OFFSET/BLOCK_SIZE metadata."""
    n = 0
    with rasterio.open(path) as src:
        for col, row in tiles:
            off = int(src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1))
            size = int(src.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=1))
            n += off + size > head
    return n


def test_open_reads_one_prefix_and_a_window_its_tiles(ci_world):
    """A world COG's headers fit in the first 64 KiB: one request to open.
    A window then costs one range read per tile it touches that lies beyond
    that prefix (tiles inside it are taken from the prefix)."""
    path = next((ci_world / "cogs").glob("*/red.tif"))
    cog = _ext.Cog(str(path))
    info = cog.info()
    assert info["nrequests"] == 1
    head = min(65536, path.stat().st_size)
    assert info["nbytes_read"] == head
    bw, bh = info["block_width"], info["block_height"]
    out = np.empty((1, 20, 20), dtype="uint16")
    cog.read_window(0, (bw - 10, bh - 10, 20, 20), None, out)
    beyond = _tiles_beyond(path, [(0, 0), (1, 0), (0, 1), (1, 1)], head)
    assert beyond > 0, "the test needs tiles outside the prefix"
    assert cog.info()["nrequests"] == 1 + beyond
    with rasterio.open(path) as src:
        theirs = src.read(window=rasterio.windows.Window(bw - 10, bh - 10, 20, 20))
    assert_same_pixels(out, theirs, "2 x 2 tile window")


def test_small_prefix_fetches_headers_beyond_it(ci_world):
    path = next((ci_world / "cogs").glob("*/nir.tif"))
    small = _ext.Cog(str(path), prefix_nbytes=256)
    assert small.info()["nrequests"] > 1
    full = np.empty((1, 30, 40), dtype="uint16")
    part = np.empty_like(full)
    _ext.Cog(str(path)).read_window(1, (3, 4, 40, 30), None, full)
    small.read_window(1, (3, 4, 40, 30), None, part)
    assert_same_pixels(part, full, "small prefix")


def test_large_block_index_is_loaded_lazily(tmp_path):
    """TileOffsets of a large image are not read at open; a one-tile window
    reads only the entries it needs."""
    side = 40960
    path = write_sparse_cog(tmp_path / "sparse.tif", side)
    cog = _ext.Cog(str(path))
    opened = cog.info()["nbytes_read"]
    opened_requests = cog.info()["nrequests"]
    assert opened <= 65536 + 4096
    out = np.empty((1, 16, 16), dtype="uint8")
    cog.read_window(0, (side - 256 + 8, side - 256 + 8, 16, 16), None, out)
    assert (out == 7).all()
    info = cog.info()
    # Offsets entry, byte-count entry, and the tile itself.
    assert info["nrequests"] - opened_requests == 3
    assert info["nbytes_read"] - opened < 8192
    # An empty (sparse) tile reads as 0 without fetching any tile bytes.
    before = cog.info()["nbytes_read"]
    cog.read_window(0, (0, 0, 16, 16), None, out)
    assert (out == 0).all()
    assert cog.info()["nbytes_read"] - before <= 16


def test_read_cog_overview_and_errors(ci_world):
    path = next((ci_world / "cogs").glob("*/green.tif"))
    with rasterio.open(path, overview_level=0) as src:
        theirs = src.read()
    assert_same_pixels(lazycogs.read_cog(str(path), overview=0), theirs, "ovr 0")
    with pytest.raises(ValueError, match="overview 5 does not exist"):
        lazycogs.read_cog(str(path), overview=5)
    with pytest.raises(lazycogs.InvalidArgumentError, match="window outside"):
        lazycogs.read_cog(str(path), window=(0, 0, 100000, 1))
    with pytest.raises(ValueError, match="bands must be"):
        lazycogs.read_cog(str(path), bands=[2])
    short = np.empty((1, 5, 5), dtype="uint16")
    with pytest.raises(lazycogs.BufferTooSmallError):
        _ext.Cog(str(path)).read_window(0, (0, 0, 10, 10), None, short)
