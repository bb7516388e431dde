"""Warp kernels (src/geo + src/warp) against GDAL (rasterio) on the test world.

The C helper `tests/c/lc_warp_tool` warps a raw array through lc__srcmap_new
(the approximate transformer unless exact=1) and lc__warp; the same array,
written to a plain GeoTIFF, is warped by GDAL onto the same destination grid.

Oracles:
  * same CRS: rasterio.warp.reproject (nearest) -- the transform is affine,
    so GDAL's default approximation is exact -- must agree pixel for pixel,
    including pixel centres that fall exactly on source pixel edges.
  * across CRSs: GDAL's warper with an exact transformer. rasterio's
    reproject() always wraps gdalwarp's default 0.125-pixel approximation
    (its kwargs become -to/-wo options; there is no -et), so the exact
    oracle is a WarpedVRT with tolerance=1e-9 (tolerance=0 with an explicit
    transform makes rasterio fail). With the approximate transformer, at
    least 99.9% of pixels must be equal and, warping an index raster, no
    pixel may come from a source pixel more than one pixel away from GDAL's
    pick (both also hold against reproject()'s approximation). The exact
    transformer must agree with GDAL at every pixel.
  * bilinear and cubic (stated tolerance): where both sides are valid the
    values differ by at most 1 (rounding of values within float error of a
    half), and validity is identical.
  * average/min/max on the same CRS (downsampling by whole factors): equal
    within 1 (average rounding) and identical validity.

Environment:
  LAZYCOGS_BUILD_DIR   CMake build folder holding tests/c/lc_warp_tool
                       (default: build/asan of this checkout); skipped if
                       absent
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from affine import Affine  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402
from rasterio.vrt import WarpedVRT  # noqa: E402
from rasterio.warp import reproject, transform_bounds  # noqa: E402

BUILD_DIR = Path(os.environ.get(
    "LAZYCOGS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build" / "asan"))
TOOL = BUILD_DIR / "tests" / "c" / "lc_warp_tool"

# Scenes from three UTM zones of the ci world (red: uint16, nodata 0).
SCENES = ["S2A_T14TQS_20250812T170447_L2A", "S2A_T15TUM_20250901T165547_L2A",
          "S2A_T16TBS_20250812T170447_L2A"]


@pytest.fixture(scope="module")
def tool():
    if not TOOL.exists():
        pytest.skip(f"{TOOL} not built (set LAZYCOGS_BUILD_DIR)")
    return TOOL


class Scene:
    def __init__(self, path: Path):
        with rasterio.open(path) as ds:
            self.array = ds.read(1)
            self.gt = ds.transform.to_gdal()
            self.crs = ds.crs.to_string()
            self.nodata = ds.nodata
        self.path = path

    @property
    def shape(self):
        return self.array.shape

    def bounds(self):
        h, w = self.shape
        g = self.gt
        return (g[0], g[3] + h * g[5], g[0] + w * g[1], g[3])


def _scene_paths(world: Path):
    paths = []
    for name in SCENES:
        matches = sorted((world / "cogs").glob(f"{name[:10]}*/red.tif"))
        if matches:
            paths.append(matches[0])
    return paths


@pytest.fixture(scope="module")
def scenes(ci_world):
    paths = _scene_paths(ci_world)
    if not paths:
        pytest.skip("no scenes in the ci world")
    return [Scene(p) for p in paths]


def ours(tool, tmp: Path, src: np.ndarray, sgt, scrs, dgt, dw, dh, dcrs,
         method="nearest", nodata=None, exact=False):
    """Warps src with lc_warp_tool; returns (values, valid, stats line)."""
    src = np.ascontiguousarray(src)
    src.tofile(tmp / "src.bin")
    args = [str(tool), f"src={tmp / 'src.bin'}", f"dtype={src.dtype.name}",
            f"src_size={src.shape[1]},{src.shape[0]}",
            "src_gt=" + ",".join(repr(float(v)) for v in sgt),
            f"src_crs={scrs}", f"dst_crs={dcrs}",
            "dst_gt=" + ",".join(repr(float(v)) for v in dgt),
            f"dst_size={dw},{dh}", f"method={method}",
            f"out={tmp / 'out.bin'}", f"valid={tmp / 'valid.bin'}", "fill=0"]
    if nodata is not None:
        args.append(f"nodata={nodata}")
    if exact:
        args.append("exact=1")
    run = subprocess.run(args, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = np.fromfile(tmp / "out.bin", dtype=src.dtype).reshape(dh, dw)
    valid = np.fromfile(tmp / "valid.bin", dtype=np.uint8).reshape(dh, dw)
    return out, valid, run.stdout.strip()


def gdal_reproject(src, sgt, scrs, dgt, dw, dh, dcrs, method="nearest",
                   nodata=None):
    dst = np.zeros((dh, dw), dtype=src.dtype)
    reproject(src, dst, src_transform=Affine.from_gdal(*sgt), src_crs=scrs,
              src_nodata=nodata, dst_transform=Affine.from_gdal(*dgt),
              dst_crs=dcrs, dst_nodata=0,
              resampling=getattr(Resampling, method), num_threads=1)
    return dst


def gdal_exact(tmp: Path, src, sgt, scrs, dgt, dw, dh, dcrs,
               method="nearest", nodata=None):
    path = tmp / "src.tif"
    with rasterio.open(path, "w", driver="GTiff", width=src.shape[1],
                       height=src.shape[0], count=1, dtype=src.dtype,
                       crs=scrs, transform=Affine.from_gdal(*sgt),
                       nodata=nodata) as ds:
        ds.write(src, 1)
    with rasterio.open(path) as ds:
        with WarpedVRT(ds, crs=dcrs, transform=Affine.from_gdal(*dgt),
                       width=dw, height=dh,
                       resampling=getattr(Resampling, method),
                       tolerance=1e-9, nodata=0) as vrt:
            return vrt.read(1)


def grid_over(scene: Scene, dcrs: str, res: float):
    """A destination grid covering the scene in dcrs at res."""
    b = transform_bounds(scene.crs, dcrs, *scene.bounds(), densify_pts=21)
    dw = int(math.ceil((b[2] - b[0]) / res))
    dh = int(math.ceil((b[3] - b[1]) / res))
    return (b[0], res, 0.0, b[3], 0.0, -res), dw, dh


# ---- same CRS: pixel for pixel ---------------------------------------------

# Resolutions over the 180 m source: equal (aligned and shifted), multiples
# (centres on source pixel edges at 360 m), fractions and odd sizes.
SAME_CRS = [(180, 0.0), (180, 37.0), (180, 90.0), (360, 0.0), (360, 45.5),
            (540, 0.0), (90, 0.0), (90, 90.0), (100, 13.0), (250, -45.5),
            (20, 0.0), (61.3, 7.0)]


@pytest.mark.parametrize("res,offset", SAME_CRS)
def test_nearest_same_crs_matches_reproject(tool, scenes, tmp_path, res,
                                            offset):
    for sc in scenes:
        x0 = sc.gt[0] + offset + 1000
        y0 = sc.gt[3] - offset - 2000
        dw = int(90000 / res)
        dh = int(80000 / res)
        dgt = (x0, res, 0.0, y0, 0.0, -res)
        out, valid, _ = ours(tool, tmp_path, sc.array, sc.gt, sc.crs, dgt, dw,
                             dh, sc.crs, nodata=sc.nodata)
        ref = gdal_reproject(sc.array, sc.gt, sc.crs, dgt, dw, dh, sc.crs,
                             nodata=sc.nodata)
        bad = np.argwhere(out != ref)
        assert bad.size == 0, (
            f"{sc.path.parent.name} res {res} offset {offset}: {len(bad)} "
            f"pixels differ, first {tuple(bad[0])}")
        np.testing.assert_array_equal(valid.astype(bool), ref != 0)


def test_aligned_window_is_a_copy(tool, scenes, tmp_path):
    sc = scenes[0]
    g = sc.gt
    dgt = (g[0] + 17 * g[1], g[1], 0.0, g[3] + 9 * g[5], 0.0, g[5])
    out, _, stats = ours(tool, tmp_path, sc.array, sc.gt, sc.crs, dgt, 300,
                         200, sc.crs, nodata=sc.nodata)
    assert stats.startswith("kind=0")
    np.testing.assert_array_equal(out, sc.array[9:209, 17:317])


# ---- across CRSs -------------------------------------------------------------

CROSS = [("EPSG:5070", 180.0), ("EPSG:5070", 100.0), ("EPSG:5070", 400.0),
         ("EPSG:4326", 0.002), ("EPSG:4326", 0.0008)]


def _index_raster(shape):
    h, w = shape
    return (np.arange(h * w, dtype=np.uint32).reshape(h, w) + 1)


def _max_index_distance(a, b, width):
    both = (a > 0) & (b > 0)
    ca, ra = (a[both] - 1) % width, (a[both] - 1) // width
    cb, rb = (b[both] - 1) % width, (b[both] - 1) // width
    dc = np.abs(ca.astype(np.int64) - cb.astype(np.int64))
    dr = np.abs(ra.astype(np.int64) - rb.astype(np.int64))
    return int(max(dc.max(initial=0), dr.max(initial=0)))


@pytest.mark.parametrize("dcrs,res", CROSS)
def test_nearest_cross_crs(tool, scenes, tmp_path, dcrs, res):
    for sc in scenes:
        dgt, dw, dh = grid_over(sc, dcrs, res)
        name = f"{sc.path.parent.name} -> {dcrs} at {res}"
        # Values, approximate transformer against GDAL exact.
        out, _, stats = ours(tool, tmp_path, sc.array, sc.gt, sc.crs, dgt, dw,
                             dh, dcrs, nodata=sc.nodata)
        assert stats.startswith("kind=1"), stats
        ref = gdal_exact(tmp_path, sc.array, sc.gt, sc.crs, dgt, dw, dh, dcrs,
                         nodata=sc.nodata)
        equal = float((out == ref).mean())
        assert equal >= 0.999, f"{name}: only {equal:.5f} equal ({stats})"

        # Source pixel picks, through an index raster.
        idx = _index_raster(sc.shape)
        w = sc.shape[1]
        oi, _, _ = ours(tool, tmp_path, idx, sc.gt, sc.crs, dgt, dw, dh, dcrs,
                        nodata=0)
        gi = gdal_exact(tmp_path, idx, sc.gt, sc.crs, dgt, dw, dh, dcrs,
                        nodata=0)
        assert float((oi == gi).mean()) >= 0.999, name
        assert _max_index_distance(oi, gi, w) <= 1, name
        # Against reproject()'s own 0.125-pixel approximation: never more
        # than one pixel apart either.
        ri = gdal_reproject(idx, sc.gt, sc.crs, dgt, dw, dh, dcrs, nodata=0)
        assert _max_index_distance(oi, ri, w) <= 1, name

        # The exact transformer picks exactly GDAL's pixels.
        ei, _, estats = ours(tool, tmp_path, idx, sc.gt, sc.crs, dgt, dw, dh,
                             dcrs, nodata=0, exact=True)
        assert estats.startswith("kind=2")
        mismatch = int((ei != gi).sum())
        assert mismatch == 0, f"{name}: exact differs at {mismatch} pixels"


# ---- bilinear and cubic -------------------------------------------------------

INTERP = [("same", 180.0), ("same", 90.0), ("EPSG:5070", 180.0),
          ("EPSG:5070", 100.0), ("EPSG:4326", 0.002)]


@pytest.mark.parametrize("method", ["bilinear", "cubic"])
@pytest.mark.parametrize("dcrs,res", INTERP)
def test_interpolation_within_one(tool, scenes, tmp_path, method, dcrs, res):
    for sc in scenes:
        if dcrs == "same":
            crs = sc.crs
            dgt = (sc.gt[0] + 37, res, 0.0, sc.gt[3] - 53, 0.0, -res)
            dw = dh = int(100000 / res)
        else:
            crs = dcrs
            dgt, dw, dh = grid_over(sc, dcrs, res)
        out, _, _ = ours(tool, tmp_path, sc.array, sc.gt, sc.crs, dgt, dw, dh,
                         crs, method=method, nodata=sc.nodata)
        ref = gdal_exact(tmp_path, sc.array, sc.gt, sc.crs, dgt, dw, dh, crs,
                         method=method, nodata=sc.nodata)
        name = f"{sc.path.parent.name} {method} -> {dcrs} at {res}"
        np.testing.assert_array_equal(out > 0, ref > 0, err_msg=name)
        both = (out > 0) & (ref > 0)
        diff = np.abs(out.astype(np.int64) - ref.astype(np.int64))[both]
        assert diff.size > 0
        assert int(diff.max()) <= 1, f"{name}: max difference {diff.max()}"


# ---- footprint methods, same CRS ---------------------------------------------


@pytest.mark.parametrize("method", ["average", "min", "max"])
@pytest.mark.parametrize("factor,offset", [(2, 0.0), (3, 37.0), (4, 0.0)])
def test_footprint_same_crs(tool, scenes, tmp_path, method, factor, offset):
    for sc in scenes:
        res = sc.gt[1] * factor
        dgt = (sc.gt[0] + offset, res, 0.0, sc.gt[3] - offset, 0.0, -res)
        dw = dh = int(sc.shape[1] / factor) - 1
        out, _, _ = ours(tool, tmp_path, sc.array, sc.gt, sc.crs, dgt, dw, dh,
                         sc.crs, method=method, nodata=sc.nodata)
        ref = gdal_exact(tmp_path, sc.array, sc.gt, sc.crs, dgt, dw, dh,
                         sc.crs, method=method, nodata=sc.nodata)
        name = f"{sc.path.parent.name} {method} x{factor}"
        np.testing.assert_array_equal(out > 0, ref > 0, err_msg=name)
        both = (out > 0) & (ref > 0)
        diff = np.abs(out.astype(np.int64) - ref.astype(np.int64))[both]
        assert int(diff.max(initial=0)) <= 1, name
