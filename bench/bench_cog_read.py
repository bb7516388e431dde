"""Window reads of one local COG: lazycogs' C reader against rasterio (GDAL).

Usage: .venv/bin/python bench/bench_cog_read.py [--size 5490] [--repeat 3]

Writes a Sentinel-2-like 20 m uint16 COG (deflate + predictor 2, 512
blocks, overviews) once into _world/bench-cog/, then times, in one run and
one process, the same reads through both readers. Each reader opens the
file afresh for every read, as a chunk of a lazy array does, so GDAL's block
cache gives it no help that lazycogs does not get. Reports seconds (best of
--repeat) and the ratio rasterio / lazycogs (> 1: lazycogs is faster).
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.windows import Window

from lazycogs import _ext

REPO = Path(__file__).resolve().parents[1]


def make_cog(size: int, compress: str, predictor: int) -> Path:
    out = REPO / "_world" / "bench-cog" / f"s2_{size}_{compress}_p{predictor}.tif"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size].astype("float32")
    data = (3000 + 1500 * np.sin(x / 211) * np.cos(y / 173)
            + rng.normal(0, 60, (size, size))).clip(1, 65535).astype("uint16")
    tmp = out.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", driver="GTiff", width=size, height=size,
                       count=1, dtype="uint16", nodata=0, crs="EPSG:32615",
                       transform=Affine(20, 0, 399960, 0, -20, 5300040)) as dst:
        dst.write(data[None])
    rasterio.shutil.copy(tmp, out, driver="COG", compress=compress,
                         predictor=predictor, blocksize=512,
                         overview_resampling="average")
    tmp.unlink()
    return out


def read_lazycogs(path: Path, level: int, win: tuple, dtype: str) -> np.ndarray:
    cog = _ext.Cog(str(path))
    out = np.empty((1, win[3], win[2]), dtype=dtype)
    cog.read_window(level, win, None, out)
    return out


def read_rasterio(path: Path, level: int, win: tuple, dtype: str) -> np.ndarray:
    ovr = None if level == 0 else level - 1
    with rasterio.open(path, overview_level=ovr) as src:
        return src.read(window=Window(*win))


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=5490)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(42)
    print(f"{'file':<28} {'workload':<34} {'lazycogs s':>10} "
          f"{'rasterio s':>10} {'ratio':>6}")
    for compress, predictor in [("deflate", 2), ("zstd", 2), ("lzw", 2)]:
        path = make_cog(args.size, compress, predictor)
        size = args.size
        points = [(int(rng.integers(0, size - 1)), int(rng.integers(0, size - 1)))
                  for _ in range(200)]
        workloads = {
            "200 point reads (1x1)": [(0, (x, y, 1, 1)) for x, y in points],
            "50 windows 256x256": [(0, (x % (size - 256), y % (size - 256), 256, 256))
                                   for x, y in points[:50]],
            "one 2048x2048 window": [(0, (1000, 1000, 2048, 2048))],
            "whole overview 1": [(2, None)],
        }
        for name, reads in workloads.items():
            resolved = []
            for level, win in reads:
                if win is None:
                    with rasterio.open(path, overview_level=level - 1) as src:
                        win = (0, 0, src.width, src.height)
                resolved.append((level, win))
            for level, win in resolved[:3]:
                a = read_lazycogs(path, level, win, "uint16")
                b = read_rasterio(path, level, win, "uint16")
                assert np.array_equal(a, b), (name, win)
            t_lc = best_of(args.repeat, lambda: [
                read_lazycogs(path, lv, w, "uint16") for lv, w in resolved])
            t_rio = best_of(args.repeat, lambda: [
                read_rasterio(path, lv, w, "uint16") for lv, w in resolved])
            print(f"{path.name:<28} {name:<34} {t_lc:>10.4f} {t_rio:>10.4f} "
                  f"{t_rio / t_lc:>6.2f}")


if __name__ == "__main__":
    main()
