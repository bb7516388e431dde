"""Compare lazycogs' C reader with GDAL (rasterio) on one GeoTIFF."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Transformer

import lazycogs
from lazycogs import _ext

# GeoKeys GDAL 3.10 (rasterio's) turns into no CRS ("internal_proj_as_wkt:
# Unsupported value for Latitude of natural origin") though they are valid.
GDAL_CANNOT_EXPRESS_CRS = {"merc.tif"}

# Full reads only below this many values; larger levels are read in windows.
FULL_READ_VALUES = 8_000_000


def windows(width: int, height: int, bw: int, bh: int):
    """Windows that exercise block and image edges of one level."""
    wins = []
    if width * height <= FULL_READ_VALUES:
        wins.append((0, 0, width, height))
    wins.append((0, 0, min(width, 37), min(height, 23)))
    if width > bw and height > bh:
        # Straddles the corner shared by four blocks.
        w = min(11, width - (bw - 5))
        h = min(7, height - (bh - 3))
        wins.append((bw - 5, bh - 3, w, h))
    # The bottom-right image edge, inside a partial block.
    w, h = min(width, 17), min(height, 19)
    wins.append((width - w, height - h, w, h))
    # A column and a row through the middle.
    wins.append((width // 2, 0, 1, height))
    wins.append((0, height // 2, width, 1))
    return wins


def assert_same_pixels(ours: np.ndarray, theirs: np.ndarray, what: str):
    assert ours.dtype == theirs.dtype, what
    assert ours.shape == theirs.shape, what
    if ours.dtype.kind == "f":
        same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    else:
        same = ours == theirs
    bad = np.argwhere(~same)
    assert bad.size == 0, (
        f"{what}: {len(bad)} pixels differ, first at {tuple(bad[0])}: "
        f"ours {ours[tuple(bad[0])]} gdal {theirs[tuple(bad[0])]}"
    )


def same_crs(ours: str, theirs) -> bool:
    """PROJ equivalence, or identical coordinates for a few sample points
    when PROJ cannot decide (custom definitions without identifiers)."""
    a = CRS.from_user_input(ours)
    b = CRS.from_wkt(theirs.to_wkt())
    if a.equals(b, ignore_axis_order=True):
        return True
    if a.is_geographic != b.is_geographic:
        return False
    geo = a.geodetic_crs
    to_a = Transformer.from_crs(geo, a, always_xy=True)
    to_b = Transformer.from_crs(geo, b, always_xy=True)
    lon0, lat0 = (a.area_of_use.west, a.area_of_use.south) if a.area_of_use \
        else (0.0, 0.0)
    for lon, lat in [(lon0 + 1, lat0 + 1), (lon0 + 2, lat0 + 3)]:
        xa, ya = to_a.transform(lon, lat)
        xb, yb = to_b.transform(lon, lat)
        if not (math.isclose(xa, xb, abs_tol=1e-3) and
                math.isclose(ya, yb, abs_tol=1e-3)):
            return False
    return True


JPEG = 7


def _decoded_by_system_gdal(path: Path, ovr: int | None, tmp_dir: Path) -> Path:
    """An uncompressed copy of one level, decoded by Debian's GDAL.

    JPEG decoders differ in their last bit of rounding: rasterio's wheel
    bundles IJG libjpeg 9, lazycogs and Debian's GDAL use libjpeg-turbo. So
    JPEG pixels are compared with what gdal_translate (libjpeg-turbo) decodes.
    """
    gdal_translate = shutil.which("gdal_translate")
    if gdal_translate is None:
        pytest.fail("gdal_translate (Debian package gdal-bin) is needed to "
                    "check JPEG files; run make setup")
    out = tmp_dir / f"{path.stem}.ovr{ovr}.decoded.tif"
    cmd = [gdal_translate, "-q", "-co", "COMPRESS=NONE", "-co", "TILED=YES"]
    if ovr is not None:
        cmd += ["-ovr", str(ovr)]
    subprocess.run(cmd + [str(path), str(out)], check=True)
    return out


def assert_reads_like_gdal(path: Path) -> dict:
    """Every level, several windows, nodata, georeferencing and masks of
    path read by lazycogs equal what GDAL reads. Returns the info."""
    tmp_dir = Path(tempfile.mkdtemp(prefix="lazycogs-oracle-"))
    try:
        return _compare(path, tmp_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _compare(path: Path, tmp_dir: Path) -> dict:
    cog = _ext.Cog(str(path))
    info = cog.info()
    with rasterio.open(path) as src:
        assert (info["width"], info["height"]) == (src.width, src.height)
        assert info["samples"] == src.count
        assert info["dtype"] == src.dtypes[0]
        ovr_factors = src.overviews(1)
        assert info["nlevels"] - 1 == len(ovr_factors), "overview count"

        # Nodata as GDAL reports it. rasterio hides a nodata value outside
        # the data type's range (GDAL reports it; no pixel can match it).
        if src.nodata is None and info["nodata"] is not None:
            limits = np.iinfo(src.dtypes[0])
            assert not limits.min <= info["nodata"] <= limits.max
        elif src.nodata is None:
            assert info["nodata"] is None
        elif math.isnan(src.nodata):
            assert info["nodata"] is not None and math.isnan(info["nodata"])
        else:
            assert info["nodata"] == pytest.approx(src.nodata, rel=1e-12)

        # Georeferencing: GCP-only files have no geotransform (GDAL then
        # gives their CRS with the GCPs), and where GDAL falls back to the
        # identity transform lazycogs reports none.
        crs = src.crs
        if src.gcps[0]:
            assert info["geotransform"] is None
            crs = src.gcps[1]
        elif src.transform.is_identity:
            assert info["geotransform"] is None
        else:
            assert info["geotransform"] is not None
            np.testing.assert_allclose(
                info["geotransform"], src.transform.to_gdal(),
                rtol=1e-12, atol=1e-9)
            assert info["rotated"] == (not src.transform.is_rectilinear)
        if crs is not None and info["crs"]:
            assert same_crs(info["crs"], crs), (info["crs"], crs)
        elif path.name in GDAL_CANNOT_EXPRESS_CRS:
            assert info["crs"] and crs is None
        else:
            assert not info["crs"] and crs is None

        scales, offsets = src.scales[0], src.offsets[0]
        assert info["scale"] == pytest.approx(scales)
        assert info["offset"] == pytest.approx(offsets)

    # Pixels of every level, in several windows.
    for level in range(info["nlevels"]):
        lv = cog.level(level)
        ovr = None if level == 0 else level - 1
        decoded = (_decoded_by_system_gdal(path, ovr, tmp_dir)
                   if info["compression"] == JPEG else None)
        with rasterio.open(path, overview_level=ovr) as src, \
                rasterio.open(decoded or path,
                              overview_level=None if decoded else ovr) as pix:
            assert (lv["width"], lv["height"]) == (src.width, src.height)
            for win in windows(lv["width"], lv["height"],
                                lv["block_width"], lv["block_height"]):
                theirs = pix.read(window=rasterio.windows.Window(*win))
                ours = lazycogs.read_cog(str(path), overview=ovr, window=win)
                assert_same_pixels(ours, theirs, f"level {level} window {win}")
                if lv["has_mask"]:
                    mask = np.empty((win[3], win[2]), dtype="uint8")
                    cog.read_mask(level, win, mask)
                    assert_same_pixels(
                        mask, src.read_masks(1, window=rasterio.windows.Window(*win)),
                        f"mask level {level} window {win}")
    return info
