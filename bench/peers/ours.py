"""Runner: lazycogs (this project: the C engine behind lazycogs.open()).

Runs in bench/.venv-ours (bench/setup: the peers' interpreter and numpy,
xarray, pandas and dask; the package built from this tree). Calls as
examples/demo.py: store_for() on the catalogue, then open() with the seed's
arguments. Engine statistics: every read of the collection returns
lc_read_stats (requests, bytes, seconds, items read/skipped, headers
fetched, stage times); they are summed into timing.json, with the
process-wide I/O counters (retries, coalesced ranges, wait).
"""
# SPDX-License-Identifier: MIT
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lazycogs  # noqa: E402
from lazycogs import _ext  # noqa: E402
from lazycogs._explain import _find_backend  # noqa: E402

import _common  # noqa: E402
from _lazycogs_api import workloads  # noqa: E402

_stores = {}


def make_open(spec, href=None, **over):
    href = href or spec["parquet"]
    if href not in _stores:
        _stores[href] = lazycogs.store_for(href)
    args = dict(spec["open"])
    args.update(over)
    return lazycogs.open(href, store=_stores[href], **args)


class _StatsCollection:
    """Stands in for a CollectionArray's collection, keeping each read's stats."""

    def __init__(self, collection):
        self._collection = collection
        self.reads = []

    def read(self, *args, **kwargs):
        stats = self._collection.read(*args, **kwargs)
        self.reads.append(stats)
        return stats

    def __getattr__(self, name):
        return getattr(self._collection, name)


def _wrapped_open(spec, href=None, **over):
    da = make_open(spec, href, **over)
    backend = _find_backend(da)
    if backend is not None:
        backend.collection = _StatsCollection(backend.collection)
    return da


def after(da, extra):
    backend = _find_backend(da)
    reads = getattr(backend.collection, "reads", []) if backend else []
    keys = ("items_matched", "items_read", "items_skipped", "cogs_opened",
            "requests", "bytes", "seconds", "header_seconds", "fetch_seconds",
            "decode_seconds", "warp_seconds", "match_seconds",
            "mosaic_seconds", "pixels_warped")
    extra["engine"] = {k: sum(r[k] for r in reads) for k in keys}
    extra["engine"]["reads"] = len(reads)
    extra["engine_io"] = _ext.process_stats()


W = workloads(_wrapped_open, after)
for label in ("1k", "10k", "100k", "1M"):
    W[f"W1-{label}"] = (lambda label: lambda spec, timer: W["W1"](
        spec, timer, catalogue=spec["w1_catalogues"][label]))(label)

if __name__ == "__main__":
    sys.exit(_common.main(W))
