"""Concurrency and load: many readers of one DataArray, bounded RSS.

One DataArray of the ci world (3 bands x 11 time steps, EPSG:32615 at
360 m, items of UTM zones 15 and 16 so some are warped), read over a
loopback HTTP server, so the I/O layer, the header cache and the worker
pool all take part. The reference is a serial read of every window, one
thread, one at a time. Then, each for LAZYCOGS_LOAD_SECONDS (default 20):

  threads      8 Python threads loop over overlapping windows (whole
               steps, blocks across item edges, points, rows, columns,
               stepped slices, and .chunk() computed with dask's threaded
               scheduler), each result compared with the reference;
  distributed  a LocalCluster of 2 processes x 2 threads computes the
               chunked array (and a window of it) again and again; the
               workers unpickle the array by reopening it.

Every result must equal the reference, and the RSS (of this process for
the threads, of each worker for distributed) may not grow by more than
RSS_GROWTH_BOUND between the end of a warm-up and the end of the run.
`pytest -s` prints one summary line per part.

The threads part runs with glibc's mmap threshold fixed at 1 MiB
(mallopt M_MMAP_THRESHOLD, see _fixed_mmap_threshold). By default glibc
raises that threshold each time a large block is freed, so later
multi-MB buffers (numpy outputs, the engine's per-item buffers) come from
per-thread arenas, and a freed one stays resident there: with ~40 threads
reading (8 here, dask's pools, the engine's pool) the RSS climbs for half
a minute to a plateau (~750 MiB for this workload, from ~250) that
depends on how the threads interleave, not on what is held. With a fixed
threshold those buffers are unmapped when freed, and the RSS follows what
is really held, so that a leak shows.

The server runs in a child process: tools/serve.py keeps its request log
in memory, which would count in this process's RSS (and it competes for
the GIL). The "several minutes" run of the issue is the same test with
LAZYCOGS_LOAD_SECONDS=180.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import gc
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import lazycogs
from lazycogs.store import HTTPStore

from conftest import TOOLS, _rewrite_catalogs

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(),
    reason="RSS is read from /proc/<pid>/status")

M_MMAP_THRESHOLD = -3  # glibc malloc.h
LOAD_SECONDS = float(os.environ.get("LAZYCOGS_LOAD_SECONDS", "20"))
NTHREADS = 8

# Growth allowed after warm-up. The ci world's COG headers (~200 files of
# these bands) are all in the header cache after the warm-up pass, far
# below its 256 MiB budget (src/engine/header_cache.c), so the cache adds
# nothing afterwards; what remains is allocator and dask churn, which
# levels off: 15-20 MiB here after 20 s, ~50 MiB after 3 min (workers:
# 5-8, ~20 MiB), while the engine's reads alone (no dask) stay flat over
# 35 000 reads. A leak of one window per read (>= 0.5 MB, thousands of
# reads) passes the bound within seconds.
RSS_GROWTH_BOUND = 64 << 20

# EPSG:32615 tiles 15T{U..Y}M/15T{V,W}N plus 16TBS (warped), 360 m pixels.
BBOX = (450000.0, 5120000.0, 800000.0, 5290000.0)
CRS = "EPSG:32615"
BANDS = ["red", "green", "scl"]  # scl is uint8 at 360 m, the others uint16

# Item edges in pixels of this grid: x = (edge - 450000) / 360 for the
# tile borders at 599960 / 609760 / 699960 / 709760 m -> 417, 444, 694,
# 722; y: row M's top (5200000) -> 250, row N's bottom (5190200) -> 277.
WINDOWS = {
    # name: (isel, chunks or None)
    "one step": (dict(band=0, time=0), None),
    "block across edges": (dict(band=slice(0, 3), time=slice(2, 7),
                                y=slice(100, 356), x=slice(380, 740)), None),
    "small across edges": (dict(band=1, y=slice(230, 300),
                                x=slice(400, 460)), None),
    "point at corner": (dict(band=0, time=1, y=250, x=417), None),
    "point first": (dict(band=2, time=5, y=10, x=10), None),
    "point last": (dict(band=1, time=-1, y=-1, x=-1), None),
    "point series": (dict(band=0, y=277, x=694), None),
    "row": (dict(band=2, time=3, y=260), None),
    "column": (dict(band=0, time=slice(0, 11, 2), x=443), None),
    "stepped": (dict(band=slice(0, 2), time=6, y=slice(0, 472, 7),
                     x=slice(5, 960, 13)), None),
    "chunked steps": (dict(band=slice(0, 3), time=slice(0, 6)),
                      {"band": 1, "time": 2, "y": 160, "x": 320}),
    "chunked small": (dict(band=1, time=slice(4, 9), y=slice(200, 330),
                           x=slice(380, 760)), {"y": 40, "x": 100}),
}
# The distributed part: the whole array in 132 chunks, and one window.
DIST_CHUNKS = {"band": 1, "time": 1, "y": 236, "x": 486}
DIST_WINDOW = "block across edges"


@contextlib.contextmanager
def _fixed_mmap_threshold(nbytes: int = 1 << 20):
    """Blocks of nbytes and more are mmapped and unmapped on free, while
    active (glibc; elsewhere nothing changes). Afterwards the threshold is
    128 KiB, glibc's starting value, but fixed: mallopt cannot turn the
    dynamic threshold back on."""
    libc = None
    if platform.libc_ver()[0] == "glibc":
        libc = ctypes.CDLL(None)
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, nbytes)
    try:
        yield
    finally:
        if libc is not None:
            libc.mallopt(M_MMAP_THRESHOLD, 128 << 10)


def _rss(trim: bool = False) -> int:
    """This process's resident set size in bytes (/proc/self/status).
    trim=True first collects garbage and hands the allocator's free pages
    back (glibc malloc_trim), for the samples taken while nothing reads:
    free memory kept in some of the ~16 arenas is noise (tens of MiB over
    minutes), not something held."""
    if trim:
        gc.collect()
        if platform.libc_ver()[0] == "glibc":
            ctypes.CDLL(None).malloc_trim(0)
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:.0f}"


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return (a.shape == b.shape and a.dtype == b.dtype and
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _ndiff(a, b) -> str:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    return f"{int(np.count_nonzero(a != b))} of {a.size} pixels differ"


@dataclass
class LoadWorld:
    url: str
    catalog: Path
    store: HTTPStore
    da: object                 # the DataArray
    reference: dict            # window name -> serial read (ndarray)
    full: np.ndarray           # serial read of the whole array
    server: subprocess.Popen

    def clear_server_log(self) -> None:
        """Empties the server's in-memory request log (it would grow by
        ~1 KB a request for the whole run otherwise)."""
        req = urllib.request.Request(f"{self.url}/__control/log",
                                     method="DELETE")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()


def _read(da, name: str, scheduler: str | None = None) -> np.ndarray:
    isel, chunks = WINDOWS[name]
    sub = da.isel(isel)
    if chunks is not None and scheduler is not None:
        return sub.chunk(chunks).compute(scheduler=scheduler).values
    return sub.values


@pytest.fixture(scope="module")
def load_world(ci_world, tmp_path_factory):
    server = subprocess.Popen(
        [sys.executable, str(TOOLS / "serve.py"), str(ci_world)],
        stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # "serving DIR at URL"
        assert " at http://" in line, f"serve.py said {line!r}"
        url = line.rsplit(" at ", 1)[1].strip()
        out = tmp_path_factory.mktemp("load_catalogs")
        catalog = _rewrite_catalogs(ci_world, url, out)["items_parquet"]
        store = HTTPStore.from_url(url)
        da = lazycogs.open(str(catalog), bbox=BBOX, crs=CRS, resolution=360.0,
                           bands=BANDS, store=store, max_concurrent_reads=4)
        assert da.sizes["band"] == 3 and da.sizes["time"] >= 11
        assert (da.sizes["y"], da.sizes["x"]) == (472, 972)
        reference = {name: _read(da, name) for name in WINDOWS}
        full = da.values
        # Not an all-nodata world: every step of every band has pixels.
        assert (full.reshape(full.shape[0] * full.shape[1], -1) != 0) \
            .any(axis=1).all()
        yield LoadWorld(url, catalog, store, da, reference, full, server)
    finally:
        server.terminate()
        server.wait(timeout=30)


class ThreadLoad:
    """NTHREADS threads reading WINDOWS over and over. Each first reads
    every window once (warm-up) and waits at the barrier, where the test
    samples the RSS, then loops until stop is set."""

    def __init__(self, world: LoadWorld):
        self.w = world
        self.names = list(WINDOWS)
        self.mismatches: list[str] = []
        self.errors: list[str] = []
        self.passes = [0] * NTHREADS  # after warm-up
        self.compares = [0] * NTHREADS
        self.barrier = threading.Barrier(NTHREADS + 1,
                                         timeout=LOAD_SECONDS + 300)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._worker, args=(i,),
                                         name=f"load-{i}")
                        for i in range(NTHREADS)]

    def _one_pass(self, i: int) -> None:
        # Each thread starts at another window, so different windows (and
        # the same ones, overlapping) are read at the same time.
        for k in range(len(self.names)):
            name = self.names[(i + k) % len(self.names)]
            got = _read(self.w.da, name, scheduler="threads")
            self.compares[i] += 1
            want = self.w.reference[name]
            if not _same(got, want):
                self.mismatches.append(
                    f"thread {i} pass {self.passes[i]} {name!r}: "
                    f"{_ndiff(got, want)}")

    def _worker(self, i: int) -> None:
        try:
            self._one_pass(i)
            self.barrier.wait()  # warm-up done
            self.barrier.wait()  # RSS sampled: go
            while not self.stop.is_set() and not self.mismatches:
                self._one_pass(i)
                self.passes[i] += 1
        except BaseException as exc:  # reported by the test
            self.errors.append(f"thread {i}: {type(exc).__name__}: {exc}")
            self.barrier.abort()

    def join(self, timeout: float) -> None:
        """A thread still reading after timeout is a hang: dump every
        thread's stack to stderr and fail."""
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self.threads if t.is_alive()]
        if alive:
            faulthandler.dump_traceback(all_threads=True)
            pytest.fail(f"threads still reading {timeout:.0f} s after the "
                        f"end of the run (a hang?): {alive}")


def test_threads_match_serial_read(load_world):
    w = load_world
    run = ThreadLoad(w)
    with _fixed_mmap_threshold():
        rss_before = _rss(trim=True)
        requests0 = w.store.stats()["requests"]
        for t in run.threads:
            t.start()
        try:
            run.barrier.wait()
        except threading.BrokenBarrierError:
            run.join(60)
            pytest.fail(f"warm-up failed: {run.errors}")
        rss_warm = _rss(trim=True)
        rss_peak = _rss()
        run.barrier.wait()
        t0 = cleared = time.monotonic()
        while (time.monotonic() - t0 < LOAD_SECONDS and not run.mismatches
               and not run.errors):
            time.sleep(0.5)
            rss_peak = max(rss_peak, _rss())
            if time.monotonic() - cleared > 10:
                w.clear_server_log()
                cleared = time.monotonic()
        run.stop.set()
        run.join(120)
        elapsed = time.monotonic() - t0
        rss_end = _rss(trim=True)
    growth = rss_end - rss_warm
    requests = w.store.stats()["requests"] - requests0
    print(f"\n[load threads] {elapsed:.0f} s, {NTHREADS} threads: "
          f"{sum(run.passes)} passes after warm-up, {sum(run.compares)} "
          f"windows compared, {requests} HTTP requests; RSS MiB before "
          f"{_mib(rss_before)}, after warm-up {_mib(rss_warm)}, peak "
          f"{_mib(rss_peak)}, end {_mib(rss_end)} (growth {_mib(growth)})")
    assert not run.errors, run.errors
    assert not run.mismatches, run.mismatches[:10]
    assert min(run.passes) >= 1, run.passes  # all really ran after warm-up
    assert growth < RSS_GROWTH_BOUND, (
        f"RSS grew by {_mib(growth)} MiB after warm-up")


def test_distributed_matches_serial_read(load_world):
    distributed = pytest.importorskip("distributed")
    w = load_world
    chunked = w.da.chunk(DIST_CHUNKS)
    window, _ = WINDOWS[DIST_WINDOW]
    key = w.da.variable._data.array.key  # noqa: SLF001 - the backend's key

    def worker_state(trim=True):
        # Runs in each worker (pickled by value: a nested function): its
        # RSS (trimmed as _rss(trim=True) does) and the id of its reopened
        # collection (None: none).
        import ctypes
        import gc
        import platform

        import lazycogs._open as o

        if trim:
            gc.collect()
            if platform.libc_ver()[0] == "glibc":
                ctypes.CDLL(None).malloc_trim(0)
        with open("/proc/self/status", encoding="ascii") as f:
            rss = next(int(line.split()[1]) * 1024 for line in f
                       if line.startswith("VmRSS:"))
        live = o._live.get(key)
        return rss, None if live is None else id(live)

    iterations = 0
    compares = 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2,
                                  processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        before = client.run(worker_state)

        def one_iteration():
            nonlocal compares
            got = chunked.compute().values
            compares += 1
            assert _same(got, w.full), f"iteration {iterations}: " \
                f"{_ndiff(got, w.full)}"
            got = chunked.isel(window).compute().values
            compares += 1
            assert _same(got, w.reference[DIST_WINDOW]), \
                f"iteration {iterations} window: " \
                f"{_ndiff(got, w.reference[DIST_WINDOW])}"

        # Warm-up: two computes, so that both workers have reopened the
        # array and dask's own first-use allocations are behind us.
        for _ in range(2):
            one_iteration()
        warm = client.run(worker_state)
        peak = {a: rss for a, (rss, _) in warm.items()}
        t0 = time.monotonic()
        while time.monotonic() - t0 < LOAD_SECONDS:
            one_iteration()
            iterations += 1
            if iterations % 10 == 0:
                for a, (rss, _) in client.run(worker_state,
                                              trim=False).items():
                    peak[a] = max(peak[a], rss)
                w.clear_server_log()
        elapsed = time.monotonic() - t0
        end = client.run(worker_state)
    assert set(warm) == set(end), "a worker was restarted during the run"
    figures = "; ".join(
        f"worker {n}: before {_mib(before[a][0])}, after warm-up "
        f"{_mib(warm[a][0])}, peak {_mib(peak[a])}, end {_mib(end[a][0])} "
        f"(growth {_mib(end[a][0] - warm[a][0])})"
        for n, a in enumerate(sorted(warm)))
    print(f"\n[load distributed] {elapsed:.0f} s, 2 processes x 2 threads: "
          f"{iterations} iterations after warm-up, {compares} arrays "
          f"compared; RSS MiB {figures}")
    assert iterations >= 1
    for a in warm:
        growth = end[a][0] - warm[a][0]
        assert growth < RSS_GROWTH_BOUND, (
            f"worker {a}: RSS grew by {_mib(growth)} MiB after warm-up")
        # Each worker reopened the array from its pickle once and kept it
        # between computes (_open.py _reopened), rather than reopening it
        # for every graph (which grew its RSS by ~6 MB a compute).
        assert warm[a][1] is not None, \
            f"{a} kept no reopened collection between computes"
        assert end[a][1] == warm[a][1], f"{a} reopened the array again"
