#!/usr/bin/env python3
"""rasterio/GDAL side of bench_warp: nearest uint16 EPSG:32615 -> EPSG:5070
into a 2048x2048 block at 10 m, on one core.

Same fixture as bench/bench_warp.c: destination EPSG:5070 at 10 m with its
top-left corner at (225000, 2475000); source the window of the 10 m S2 grid
anchored at (399960, 5100000) covering it plus 4 pixels, uint16 smooth field
plus noise, nodata 0. Engines:

  reproject      rasterio.warp.reproject on the arrays (gdalwarp's default
                 0.125-pixel approximate transformer), num_threads=1
  exact          a WarpedVRT with tolerance=1e-9 over an uncompressed
                 GeoTIFF of the source (GDAL's exact transformer; includes
                 reading the file, which is small next to the warp)

Run: .venv/bin/python bench/bench_warp_rasterio.py
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import reproject, transform_bounds

DW = DH = 2048
DST_GT = (225000.0, 10.0, 0.0, 2475000.0, 0.0, -10.0)
SECONDS = 1.0


def fixture():
    b = (DST_GT[0], DST_GT[3] - DH * 10.0, DST_GT[0] + DW * 10.0, DST_GT[3])
    sb = transform_bounds("EPSG:5070", "EPSG:32615", *b, densify_pts=21)
    c0 = math.floor((sb[0] - 399960.0) / 10.0) - 4
    c1 = math.ceil((sb[2] - 399960.0) / 10.0) + 4
    r0 = math.floor((5100000.0 - sb[3]) / 10.0) - 4
    r1 = math.ceil((5100000.0 - sb[1]) / 10.0) + 4
    sgt = (399960.0 + c0 * 10.0, 10.0, 0.0, 5100000.0 - r0 * 10.0, 0.0, -10.0)
    sw, sh = c1 - c0, r1 - r0
    y, x = np.mgrid[0:sh, 0:sw]
    noise = np.random.default_rng(12345).integers(0, 16, size=(sh, sw))
    src = (2000 + 1500 * np.sin(x / 40.0) * np.cos(y / 55.0) + noise)
    return src.astype(np.uint16), sgt


def best_of(fn):
    best, spent, n = math.inf, 0.0, 0
    while spent < SECONDS or n < 3:
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        best = min(best, t)
        spent += t
        n += 1
    return best


def main():
    src, sgt = fixture()
    print(f"source window {src.shape[1]}x{src.shape[0]} at "
          f"({sgt[0]:.0f}, {sgt[3]:.0f}), 10 m EPSG:32615; GDAL "
          f"{rasterio.__gdal_version__}, rasterio {rasterio.__version__}")
    dst = np.zeros((DH, DW), dtype=np.uint16)
    mpx = DW * DH / 1e6

    def run_reproject():
        reproject(src, dst, src_transform=Affine.from_gdal(*sgt),
                  src_crs="EPSG:32615", src_nodata=0,
                  dst_transform=Affine.from_gdal(*DST_GT), dst_crs="EPSG:5070",
                  dst_nodata=0, resampling=Resampling.nearest, num_threads=1)

    t = best_of(run_reproject)
    print(f"{'reproject (approx 0.125)':<26} {t * 1e3:9.2f} ms "
          f"{mpx / t:9.1f} Mpx/s")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "src.tif"
        with rasterio.open(path, "w", driver="GTiff", width=src.shape[1],
                           height=src.shape[0], count=1, dtype="uint16",
                           crs="EPSG:32615", transform=Affine.from_gdal(*sgt),
                           nodata=0) as ds:
            ds.write(src, 1)

        def run_exact():
            with rasterio.open(path) as ds:
                with WarpedVRT(ds, crs="EPSG:5070",
                               transform=Affine.from_gdal(*DST_GT), width=DW,
                               height=DH, resampling=Resampling.nearest,
                               tolerance=1e-9, nodata=0) as vrt:
                    vrt.read(1, out=dst)

        t = best_of(run_exact)
        print(f"{'WarpedVRT exact':<26} {t * 1e3:9.2f} ms "
              f"{mpx / t:9.1f} Mpx/s")


if __name__ == "__main__":
    main()
