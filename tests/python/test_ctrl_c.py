"""Ctrl-C: SIGINT sent to a Python process stops a running read promptly.

A child process reads the ci world over a loopback HTTP server that
answers every request after 250 ms, so the whole read would take far
longer than the test waits. Once the server has seen the child's first
COG range requests, the test sends SIGINT and checks that the child ends
with KeyboardInterrupt within a bound, and that the server sees no new
requests once the in-flight ones have drained.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import _rewrite_catalogs

WORLD_5070 = (150000.0, 2540000.0, 560000.0, 2740000.0)
LATENCY_MS = 250

CHILD = textwrap.dedent("""
    import sys
    import lazycogs

    catalog, mode = sys.argv[1], sys.argv[2]
    chunks = {"time": 1} if mode == "dask" else None
    da = lazycogs.open(catalog, crs="EPSG:5070", bbox=%r, resolution=60.0,
                       bands=["red", "green", "blue"], chunks=chunks,
                       max_concurrent_reads=2)
    print("reading", flush=True)
    try:
        da.load()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        raise
    print("finished", flush=True)
""" % (WORLD_5070,))


def _tif_requests(srv) -> int:
    return sum(1 for entry in srv.log if entry["path"].endswith(".tif"))


@pytest.mark.parametrize("mode", ["plain", "dask"])
def test_sigint_stops_the_read(mode, ci_world, http_server, tmp_path):
    srv = http_server(ci_world, latency_ms=LATENCY_MS)
    catalogs = _rewrite_catalogs(ci_world, srv.url, tmp_path / "catalogs")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, str(script), str(catalogs["items_parquet"]), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "reading"
        # Wait until pixel reads are under way (headers are fetched at
        # open; the read asks for tiles): a few more requests after open.
        opened = _tif_requests(srv)
        deadline = time.monotonic() + 60
        while _tif_requests(srv) < opened + 4:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the read never started"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        sent_wall = time.time()
        out, err = child.communicate(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "interrupted" in out, (out, err)
    assert "finished" not in out
    assert child.returncode != 0
    assert "KeyboardInterrupt" in err, err
    # Requests already sent finish (at most a few latency periods); no new
    # chunk or item is started after the flag is seen.
    assert elapsed < 3.0, elapsed
    # No request starts once the flag is seen: none arrives a latency
    # period after the signal. The server logs a request once it has
    # answered it, so in-flight ones show up late: judge by arrival time.
    time.sleep(2 * LATENCY_MS / 1000)
    late = [e for e in srv.log if e["time"] > sent_wall + LATENCY_MS / 1000]
    assert late == [], late


def test_the_read_would_have_taken_long(ci_world, http_server, tmp_path):
    """The premise of the test above: without Ctrl-C the same read takes
    far longer than the bound it is given, judged by its request count."""
    import lazycogs

    srv = http_server(ci_world)
    catalogs = _rewrite_catalogs(ci_world, srv.url, tmp_path / "catalogs")
    da = lazycogs.open(str(catalogs["items_parquet"]), crs="EPSG:5070",
                       bbox=WORLD_5070, resolution=60.0,
                       bands=["red", "green", "blue"], max_concurrent_reads=2)
    before = _tif_requests(srv)
    da.load()
    reads = _tif_requests(srv) - before
    # Requests run at most (items in flight) x (bands) at a time.
    assert reads * LATENCY_MS / 1000 / (2 * 3) > 6.0, reads


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([str(Path(__file__))]))
