"""The engine's stage times (lc_read_stats header/fetch/decode/warp/match/
mosaic seconds) say where a read's time went.

The same read runs against the ci world served over loopback HTTP twice:
once with no added latency and once with every request answered LATENCY
seconds late. Each band task that fetched pixels waited for at least one
late range request, and each COG opened by the read for at least one late
header request, so the added latency must show up in fetch_seconds and
header_seconds, not in decode or warp.

Which tasks fetched pixels is read from the slow server's log: a COG
header is read from the first HEADER_PREFIX bytes of a file, so a file
that got a range request starting past them had its pixels fetched by
its band task (these small COGs hold their IFDs at the start).
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import time

import numpy as np

from conftest import _rewrite_catalogs
from lazycogs import _ext

LATENCY = 0.1
HEADER_PREFIX = 65536
# Most of the ci world in EPSG:5070 (as in test_collection_read.py).
WORLD_5070 = (150000.0, 2540000.0, 560000.0, 2740000.0)
STAGES = ("header_seconds", "fetch_seconds", "decode_seconds", "warp_seconds",
          "match_seconds", "mosaic_seconds")


def _read(catalog, srv):
    # Native resolution (the COGs' 180 m): full-resolution tiles lie past
    # the header prefix. median reads every item.
    coll = _ext.Collection(str(catalog), dict(
        crs="EPSG:5070", bbox=WORLD_5070, resolution=180.0,
        sortby="eo:cloud_cover", mosaic_method=4))  # median
    time.sleep(0.3)  # the server logs a request after answering it
    srv.clear_log()
    info = coll.info()
    w, h = info["width"], info["height"]
    bands = [coll.bands().index(b) for b in ("red", "nir")]
    times = list(range(len(coll.times())))
    out = np.zeros((len(bands), len(times), h, w), dtype=info["dtype"])
    stats = coll.read(bands, times, 0, 0, w, h, out)
    time.sleep(0.3)
    return out, stats, srv.log


def _pixel_fetching_files(log):
    """Files that got a range request past the header prefix."""
    files = set()
    for entry in log:
        rng = entry["range"] or ""
        if entry["path"].endswith(".tif") and rng.startswith("bytes="):
            start = rng[len("bytes="):].split("-")[0]
            if start.isdigit() and int(start) >= HEADER_PREFIX:
                files.add(entry["path"])
    return files


def test_stage_times_put_latency_in_fetch(ci_world, http_server, tmp_path):
    fast = http_server(ci_world)
    slow = http_server(ci_world, latency_ms=int(LATENCY * 1000))
    a, st0, _ = _read(_rewrite_catalogs(ci_world, fast.url,
                                        tmp_path / "fast")["items_parquet"],
                      fast)
    b, st1, log = _read(_rewrite_catalogs(ci_world, slow.url,
                                          tmp_path / "slow")["items_parquet"],
                        slow)
    np.testing.assert_array_equal(a, b)
    for st in (st0, st1):
        for key in STAGES:
            assert st[key] >= 0.0, (key, st)
        # median reads every item: there is work in each stage.
        assert st["items_read"] >= 10
        assert st["decode_seconds"] > 0 and st["warp_seconds"] > 0
        assert st["match_seconds"] > 0 and st["mosaic_seconds"] > 0
        # The calling thread's stages fit in the read's wall time.
        assert st["match_seconds"] + st["mosaic_seconds"] <= st["seconds"]
    # Each task that fetched pixels waited at least LATENCY, as did each
    # COG the read opened (0.95: timer granularity).
    fetching = len(_pixel_fetching_files(log))
    assert fetching >= 10
    assert st1["fetch_seconds"] >= 0.95 * LATENCY * fetching, (fetching, st1)
    assert st1["header_seconds"] >= 0.95 * LATENCY * st1["cogs_opened"]
    assert st1["fetch_seconds"] - st0["fetch_seconds"] >= \
        0.9 * LATENCY * fetching
    # The latency is not counted as decoding or warping: those stay near
    # the fast read's (loose bound: the machine may be busy).
    extra = st1["decode_seconds"] + st1["warp_seconds"] - \
        st0["decode_seconds"] - st0["warp_seconds"]
    assert extra < 0.5 * LATENCY * fetching, (st0, st1)
