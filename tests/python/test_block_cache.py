"""The block cache: blocks a read fetched are kept for later reads of the
same COGs in the process, so a window read again makes no request for
them, while the pixels stay the same. Counted on a real loopback HTTP
server's log, in fresh processes (nothing cached before)."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

# Most of the ci world in EPSG:5070 at its COGs' 180 m (full-resolution
# blocks, past the header prefix), as in test_read_stages.py.
WORLD_5070 = (150000.0, 2540000.0, 560000.0, 2740000.0)

SCRIPT = textwrap.dedent("""
    import hashlib, json, sys, time
    import numpy as np
    from lazycogs import _ext

    href, bbox = sys.argv[1], tuple(json.loads(sys.argv[2]))
    coll = _ext.Collection(href, dict(
        crs="EPSG:5070", bbox=bbox, resolution=180.0,
        sortby="eo:cloud_cover", mosaic_method=4))  # median reads every item
    info = coll.info()
    w, h = info["width"], info["height"]
    bands = [coll.bands().index(b) for b in ("red", "nir")]
    times = list(range(len(coll.times())))
    result = []
    for i in range(2):
        out = np.zeros((len(bands), len(times), h, w), dtype=info["dtype"])
        stats = coll.read(bands, times, 0, 0, w, h, out)
        result.append(dict(requests=stats["requests"], bytes=stats["bytes"],
                           items_read=stats["items_read"],
                           digest=hashlib.sha256(out.tobytes()).hexdigest()))
        time.sleep(0.3)  # the server logs a request after answering it
        print("READ", i, flush=True)
        sys.stdin.readline()  # the test reads the log between the reads
    print(json.dumps(result), flush=True)
""")


def _two_reads(http_world, env_extra):
    """Runs SCRIPT: the log of each of its two reads, and what it saw."""
    env = dict(os.environ, **env_extra)
    http_world.server.clear_log()
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(http_world.items_parquet),
         json.dumps(WORLD_5070)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    logs = []
    for i in range(2):
        assert proc.stdout.readline().strip() == f"READ {i}"
        # The read's requests all in the log, none left to land in the next.
        logs.append(http_world.server.settled_log())
        http_world.server.clear_log()
        proc.stdin.write("\n")
        proc.stdin.flush()
    result = json.loads(proc.stdout.readline())
    assert proc.wait(timeout=60) == 0
    return logs, result


def _block_requests(log):
    """Requests past the first 64 KiB of a file: blocks, not headers."""
    n = 0
    for entry in log:
        rng = entry["range"] or ""
        start = rng[len("bytes="):].split("-")[0]
        n += start.isdigit() and int(start) >= 65536
    return n


def test_second_read_takes_kept_blocks(http_world):
    logs, result = _two_reads(http_world, {})
    first, second = result
    assert first["items_read"] >= 10
    assert first["requests"] > 0 and _block_requests(logs[0]) > 0
    # The same window again: no request at all (headers and blocks kept).
    assert logs[1] == []
    assert second["requests"] == 0 and second["bytes"] == 0
    assert second["items_read"] == first["items_read"]
    assert second["digest"] == first["digest"]


def test_no_block_cache(http_world):
    """LAZYCOGS_BLOCK_CACHE_BYTES=0 keeps nothing: the second read fetches
    every block again (the headers stay cached)."""
    logs, result = _two_reads(http_world, {"LAZYCOGS_BLOCK_CACHE_BYTES": "0"})
    first, second = result
    assert 0 < second["requests"] < first["requests"]  # no header now
    assert _block_requests(logs[1]) == _block_requests(logs[0]) > 0
    assert second["digest"] == first["digest"]


def test_budget_bounds_the_blocks_kept(http_world):
    """A budget smaller than the blocks read (300 kB against a few MB)
    keeps only some of them: the second read fetches fewer blocks than the
    first, but not none."""
    logs, result = _two_reads(http_world,
                              {"LAZYCOGS_BLOCK_CACHE_BYTES": "300000"})
    first, second = result
    assert 0 < second["requests"] < first["requests"]
    assert 0 < second["bytes"] < first["bytes"]
    assert second["digest"] == first["digest"]



CONCURRENT = textwrap.dedent("""
    import hashlib, json, sys, threading, time
    import numpy as np
    from lazycogs import _ext

    href, bbox = sys.argv[1], tuple(json.loads(sys.argv[2]))
    coll = _ext.Collection(href, dict(
        crs="EPSG:5070", bbox=bbox, resolution=180.0,
        sortby="eo:cloud_cover", mosaic_method=4))
    info = coll.info()
    w, h = info["width"], info["height"]
    bands = [coll.bands().index(b) for b in ("red", "nir")]
    times = list(range(len(coll.times())))
    start = threading.Barrier(2)
    outs = []

    def read():
        out = np.zeros((len(bands), len(times), h, w), dtype=info["dtype"])
        start.wait()
        coll.read(bands, times, 0, 0, w, h, out)
        outs.append(out)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.3)  # the server logs a request after answering it
    print("READ", flush=True)
    sys.stdin.readline()  # the test reads the log
    # The same window with nothing kept: every block fetched and decoded
    # by this read alone.
    _ext.set_block_cache_budget(0)
    alone = np.zeros_like(outs[0])
    coll.read(bands, times, 0, 0, w, h, alone)
    time.sleep(0.3)
    print(json.dumps(dict(
        digests=[hashlib.sha256(o.tobytes()).hexdigest() for o in outs],
        alone=hashlib.sha256(alone.tobytes()).hexdigest())), flush=True)
""")


# The engine's default coalescing gap (coalesce_gap_nbytes of lc_store_options).
COALESCE_GAP = 1 << 20


def _block_ranges(log):
    """(path, first, last) of each block request: every range but a
    header's, which starts at byte 0. (Not only those past the 64 KiB the
    header request fetches: a block that begins in it and ends past it is
    fetched whole, alone or coalesced with the blocks after it, so which
    ranges start past 64 KiB depends on how the two reads split them.)"""
    out = []
    for entry in log:
        first, _, last = (entry["range"] or "")[len("bytes="):].partition("-")
        if first.isdigit() and int(first) > 0 and last.isdigit():
            out.append((entry["path"], int(first), int(last)))
    return sorted(out)


def _joined(ranges, gap=COALESCE_GAP):
    """Sorted (path, first, last) ranges with those of a file less than
    gap bytes apart joined into one."""
    out = []
    for path, first, last in ranges:
        if out and out[-1][0] == path and first - out[-1][2] - 1 < gap:
            out[-1] = (path, out[-1][1], max(out[-1][2], last))
        else:
            out.append((path, first, last))
    return out


def test_concurrent_reads_fetch_each_block_once(http_world):
    """Two reads of the same window at the same time (as dask's threads
    read neighbouring chunks): a block one of them is fetching is waited
    for by the other, not fetched twice. With 50 ms of latency the two
    reads' fetches overlap, so without the sharing nearly every block
    would come twice. The pixels are those of a read alone."""
    http_world.server.clear_log()
    http_world.server.set_latency(50)
    proc = subprocess.Popen(
        [sys.executable, "-c", CONCURRENT, str(http_world.items_parquet),
         json.dumps(WORLD_5070)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "READ"
        together = _block_ranges(http_world.server.settled_log())
        http_world.server.set_latency(0)
        http_world.server.clear_log()
        proc.stdin.write("\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
        assert proc.wait(timeout=60) == 0
    finally:
        http_world.server.set_latency(0)
        if proc.poll() is None:
            proc.kill()
    alone = _block_ranges(http_world.server.settled_log())
    assert len(alone) >= 5
    twice = [(a, b) for a, b in zip(together, together[1:])
             if a[0] == b[0] and b[1] <= a[2]]
    assert twice == [], twice[:5]
    # Both together fetched what one read alone fetches. Each read
    # coalesces the blocks it fetches itself, so the two may split a run of
    # blocks the read alone fetched in one range, or join what it left
    # apart, and fetch more or fewer of the bytes between blocks (up to the
    # coalescing gap): the byte regions compared are the ranges of each
    # file joined across such gaps.
    assert _joined(together) == _joined(alone)
    digests = result["digests"]
    assert digests[0] == digests[1] == result["alone"]
