"""Runner: GDAL's gdalwarp command line (Debian gdal-bin 3.6.2).

For each output (time step, band) one gdalwarp over /vsicurl/ sources:
the step's items in reverse mosaic order (gdalwarp draws sources in turn,
so the last one listed wins: reversing puts the first item on top, as
ours), -t_srs/-te/-tr for exactly our grid, -r near, -ot Int16, nodata 0,
the overviews gdalwarp picks itself (-ovr AUTO, its default), and the HTTP
settings GDAL's documentation recommends for cloud COGs:
GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR, CPL_VSIL_CURL_ALLOWED_EXTENSIONS=.tif,
GDAL_HTTP_MERGE_CONSECUTIVE_RANGES=YES, GDAL_HTTP_MULTIPLEX=YES,
VSI_CACHE=TRUE, plus -multi -wo NUM_THREADS=ALL_CPUS. The commands run one
after another, as in a shell script. No W1 (there is no lazy array) and no
W7 (gdalwarp processes share no cache).

Runs in /work/main/.venv (rasterio reads the outputs, after the timed part).
CPU and peak RSS are those of the gdalwarp processes (RUSAGE_CHILDREN).
"""
# SPDX-License-Identifier: MIT
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402

import _common  # noqa: E402
import _items  # noqa: E402

ENV = dict(os.environ, GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",
           CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".tif",
           GDAL_HTTP_MERGE_CONSECUTIVE_RANGES="YES", GDAL_HTTP_MULTIPLEX="YES",
           VSI_CACHE="TRUE")


class _Warps:
    """Collects the gdalwarp commands of a workload, runs them, reads them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.jobs = []

    def add(self, items, band, crs, bbox, res):
        width, height, bounds = _common.grid(bbox, res)
        out = self.tmp / f"{len(self.jobs)}.tif"
        srcs = [f"/vsicurl/{it['assets'][band]['href']}" for it in reversed(items)]
        cmd = ["gdalwarp", "-q", "-overwrite", "-t_srs", crs,
               "-te", *map(repr, bounds), "-ts", str(width), str(height),
               "-r", "near", "-ot", "Int16", "-dstnodata", "0",
               "-multi", "-wo", "NUM_THREADS=ALL_CPUS", *srcs, str(out)]
        self.jobs.append((cmd, out, (height, width), bool(items)))

    def run(self):
        for cmd, _out, _shape, has_items in self.jobs:
            if has_items:
                subprocess.run(cmd, env=ENV, check=True)

    def arrays(self):
        res = []
        for _cmd, out, shape, has_items in self.jobs:
            if not has_items:
                res.append(np.zeros(shape, np.int16))
                continue
            with rasterio.open(out) as ds:
                res.append(ds.read(1))
        return res


def _by_day(items):
    days = {}
    for it in items:
        days.setdefault(_items.utc_date(it), []).append(it)
    return dict(sorted(days.items()))


def _timed(timer, warps, extra):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with timer:
        warps.run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timer.cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    extra["children_peak_rss_mb"] = after.ru_maxrss / 1024.0
    extra["gdalwarp_runs"] = sum(1 for j in warps.jobs if j[3])


def _steps(spec, timer, steps, bbox, res, crs=None):
    """steps: list of item lists; returns (band, step, y, x)."""
    bands = spec["open"]["bands"]
    extra = {}
    with tempfile.TemporaryDirectory() as tmp:
        warps = _Warps(Path(tmp))
        for items in steps:
            for band in bands:
                warps.add(items, band, crs or spec["open"]["crs"], bbox, res)
        _timed(timer, warps, extra)
        arrs = warps.arrays()
    h, w = arrs[0].shape
    out = np.stack(arrs).reshape(len(steps), len(bands), h, w).transpose(1, 0, 2, 3)
    return out, extra


def w2(spec, timer):
    w = spec["workloads"]["W2"]
    col, row = _common.point_index(spec, w)
    bbox = _common.pixel_bbox(spec, col, row, 1, 1)
    days = _by_day(_items.load(spec))
    steps = [v for d, v in days.items() if w["time"][0] <= d <= w["time"][1]]
    out, extra = _steps(spec, timer, steps, bbox, spec["open"]["resolution"])
    return out[:, :, 0, 0], extra


def _subset_steps(spec, time_slice):
    days = list(_by_day(_items.load(spec)).values())
    return days[slice(*time_slice)]


def w3(spec, timer):
    w = spec["workloads"]["W3"]
    col, row = _common.point_index(spec, w)
    t = w["time_index"]
    out, extra = _steps(spec, timer, _subset_steps(spec, (t, t + 1)),
                        _common.pixel_bbox(spec, col, row, 1, 1), spec["open"]["resolution"])
    return out[:, 0, 0, 0], extra


def w4(spec, timer):
    w = spec["workloads"]["W4"]
    return _steps(spec, timer, _subset_steps(spec, w["time_slice"]), w["subset"],
                  spec["open"]["resolution"])


def w5(spec, timer):
    w = spec["workloads"]["W5"]
    items = [it for it in _items.load(spec)
             if it["properties"]["eo:cloud_cover"] < w["cloud_max"]
             and it["properties"]["datetime"][:7] == w["month"][:7]]
    items.sort(key=lambda it: it["properties"]["eo:cloud_cover"])
    out, extra = _steps(spec, timer, [items], spec["open"]["bbox"], w["resolution"])
    return out[:, 0], extra


def w6(spec, timer):
    w = spec["workloads"]["W6"]
    items = [it for it in _items.load(spec, w["crs"], w["bbox"]) if it["id"] == w["item"]]
    out, extra = _steps(spec, timer, [items], w["bbox"], w["resolution"], crs=w["crs"])
    return out[:, 0], extra


if __name__ == "__main__":
    sys.exit(_common.main({"W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6}))
