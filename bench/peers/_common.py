"""What every peer runner shares: arguments, timing and the result files.

A runner is started by bench/run in a fresh process as

    PYTHON bench/peers/<tool>.py SPEC.json WORKLOAD OUTDIR

SPEC.json (written by bench/run) describes the world, its catalogues and the
workloads; the runner performs WORKLOAD the way its tool's documentation
recommends and writes

    OUTDIR/result.npy    the pixels, band first: W2 (band, time), W3 (band,),
                         W4/W7 (band, time, y, x), W5/W6 (band, y, x); W1
                         writes the shape of the lazy array
    OUTDIR/timing.json   {"wall_s", "cpu_s", "t_start", "t_end", "extra"}

wall_s / cpu_s cover the workload only (imports and interpreter start are
excluded; bench/run records the whole process too). cpu_s is
time.process_time(): all threads of the process. t_start / t_end are unix
times, used to pick the timed section's requests out of the server log.
Standard library and numpy only: this runs in every peer's venv.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


class Timer:
    """Times the workload section: `with Timer() as t: ...`."""

    def __enter__(self):
        self.t_start = time.time()
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = time.process_time() - self._cpu
        self.t_end = time.time()
        return False


def main(workloads: dict) -> int:
    """Runs workloads[name](spec, timer_factory) -> (array, extra dict)."""
    if len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} SPEC.json WORKLOAD OUTDIR")
    spec = json.loads(Path(sys.argv[1]).read_text())
    name, out = sys.argv[2], Path(sys.argv[3])
    if name not in workloads:
        print(f"{name}: not supported by this tool", file=sys.stderr)
        return 3  # bench/run records the workload as n/a
    out.mkdir(parents=True, exist_ok=True)
    _preimport()
    timer = Timer()
    array, extra = workloads[name](spec, timer)
    np.save(out / "result.npy", np.asarray(array))
    extra = extra or {}
    (out / "timing.json").write_text(json.dumps({
        "wall_s": timer.wall_s, "cpu_s": timer.cpu_s,
        "peak_rss_mb": max(peak_rss_mb(), extra.pop("children_peak_rss_mb", 0)),
        "t_start": timer.t_start, "t_end": timer.t_end,
        "extra": extra}, indent=1, default=str))
    return 0


def _preimport() -> None:
    """Imports outside the timed part what some tools import only lazily:
    xarray imports dask.array the first time it builds a DataArray (about
    0.5 s here), which would otherwise land in the first timed open() of
    ours and upstream but not in odc-stac's or stackstac's (they import
    dask with themselves); and dask's first compute() imports distributed
    when it is installed (to look for a client: about 0.2 s here), which
    every dask-based tool would pay inside its first timed compute."""
    for name in ("dask.array", "xarray", "pyproj", "distributed"):
        try:
            __import__(name)
        except ImportError:
            pass


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage: ru_maxrss survives
    execve, so a child would report at least its parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def grid(bbox, res) -> tuple[int, int, tuple[float, float, float, float]]:
    """(width, height, bounds) of the output grid, the reference's rule:
    size = max(1, round_half_even(extent / res)), anchored at the top-left
    corner, so the right/bottom edges may differ from the bbox's."""
    minx, miny, maxx, maxy = bbox
    w = max(1, round((maxx - minx) / res))
    h = max(1, round((maxy - miny) / res))
    return w, h, (minx, maxy - h * res, minx + w * res, maxy)


def point_index(spec: dict, w: dict) -> tuple[int, int]:
    """(col, row) of the pixel nearest w["point"] on the open grid."""
    minx, _, _, maxy = spec["open"]["bbox"]
    res = spec["open"]["resolution"]
    x, y = w["point"]
    return int((x - minx) // res), int((maxy - y) // res)


def pixel_bbox(spec: dict, col0: int, row0: int, width: int, height: int,
               bbox=None, res=None) -> tuple[float, float, float, float]:
    """Bounds of a pixel window of a grid anchored at bbox's top-left."""
    minx, _, _, maxy = bbox or spec["open"]["bbox"]
    res = res or spec["open"]["resolution"]
    return (minx + col0 * res, maxy - (row0 + height) * res,
            minx + (col0 + width) * res, maxy - row0 * res)
