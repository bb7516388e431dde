"""Remote reads through the C engine against a loopback server with latency.

Usage: .venv/bin/python bench/bench_http.py [--latency-ms 20] [--reads 1000]

1. --reads ranged reads of 64 KiB at random offsets of a 256 MiB file,
   served by tools/serve.py (a separate process) with --latency-ms per
   request, issued as one batch: wall time against the ideal
   ceil(reads / in-flight) x latency, for several in-flight caps.
2. A typical COG window (2048 x 2048 px of a 20 m Sentinel-2-like COG,
   5 x 5 tiles of 512 px): range reads asked by the reader, HTTP requests
   after coalescing and wall time, for several coalescing gaps.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lazycogs import _ext
from lazycogs.store import HTTPStore

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from bench_cog_read import make_cog  # noqa: E402


def start_server(root: Path, latency_ms: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tools" / "serve.py"), str(root),
         "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    return proc, line.strip().rsplit(" ", 1)[-1]


def server_log(url: str) -> list[dict]:
    import urllib.request
    with urllib.request.urlopen(f"{url}/__control/log") as r:
        return [json.loads(x) for x in r.read().decode().splitlines() if x]


def clear_log(url: str) -> None:
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(
        f"{url}/__control/log", method="DELETE")).read()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--reads", type=int, default=1000)
    args = ap.parse_args()
    root = REPO / "_world" / "bench-http"
    root.mkdir(parents=True, exist_ok=True)
    blob = root / "blob.bin"
    size = 256 << 20
    if not blob.exists() or blob.stat().st_size != size:
        blob.write_bytes(np.random.default_rng(0).integers(
            0, 256, size, dtype=np.uint8).tobytes())
    cog = make_cog(5490, "deflate", 2)
    # A hard link: the server refuses symlinks that leave its root.
    (root / cog.name).unlink(missing_ok=True)
    os.link(cog, root / cog.name)

    proc, url = start_server(root, args.latency_ms)
    try:
        rng = np.random.default_rng(1)
        nbytes = 65536
        # Distinct offsets 256 KiB apart: no two reads overlap or merge.
        slots = rng.choice(size // (256 << 10), args.reads, replace=False)
        offsets = sorted(int(s) * (256 << 10) for s in slots)
        ranges = [(o, nbytes) for o in offsets]
        print(f"{args.reads} reads of 64 KiB, latency {args.latency_ms} ms")
        print(f"{'in-flight':>9} {'wall s':>8} {'ideal s':>8} {'ratio':>6} "
              f"{'requests':>8}")
        for inflight in (8, 16, 32, 64):
            store = HTTPStore.from_url(url, max_in_flight=inflight,
                                       max_connections_per_host=inflight,
                                       coalesce_gap_nbytes=1)
            _ext.read_ranges(f"{url}/blob.bin", ranges[:inflight], store=store)
            before = store.stats()["requests"]
            t0 = time.perf_counter()
            out = _ext.read_ranges(f"{url}/blob.bin", ranges, store=store)
            wall = time.perf_counter() - t0
            assert all(len(b) == nbytes for b in out)
            ideal = math.ceil(args.reads / inflight) * args.latency_ms / 1000
            print(f"{inflight:>9} {wall:>8.3f} {ideal:>8.3f} "
                  f"{wall / ideal:>6.2f} "
                  f"{store.stats()['requests'] - before:>8}")

        print(f"\nCOG window 2048 x 2048 (5 x 5 tiles) of {cog.name}, "
              f"latency {args.latency_ms} ms")
        print(f"{'gap':>9} {'ranges':>7} {'requests':>9} {'MB':>6} "
              f"{'wall s':>7}")
        for gap in (1, 16384, 65536, 1 << 20):
            store = HTTPStore.from_url(url, coalesce_gap_nbytes=gap)
            c = _ext.Cog(f"{url}/{cog.name}", store=store)
            out = np.empty((1, 2048, 2048), dtype="uint16")
            clear_log(url)
            before = c.info()
            t0 = time.perf_counter()
            c.read_window(0, (1000, 1000, 2048, 2048), None, out)
            wall = time.perf_counter() - t0
            info = c.info()
            log = server_log(url)
            print(f"{gap:>9} {info['nrequests'] - before['nrequests']:>7} "
                  f"{len(log):>9} {sum(e['bytes'] for e in log) / 1e6:>6.2f} "
                  f"{wall:>7.3f}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
