"""The workloads through the lazycogs.open() API, shared by ours (lazycogs,
the C engine) and upstream (lazycogs 0.7.0 from PyPI): both take the calls
of the seed's demo notebook (examples/demo.py) verbatim.

`make_open(spec, **overrides)` returns a DataArray; each runner supplies it
(ours and upstream differ only in the store and the DuckDB client).
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import numpy as np


def _subset(spec, da):
    x0, y0, x1, y1 = spec["workloads"]["W4"]["subset"]
    return da.sel(x=slice(x0, x1), y=slice(y1, y0))


def workloads(make_open, after=lambda da, extra: None) -> dict:
    """The W1..W7 functions for a lazycogs-like module. `after(da, extra)`
    may add engine statistics to extra once a workload is done."""
    def w1(spec, timer, catalogue=None):
        extra = {}
        with timer:
            da = make_open(spec, href=catalogue) if catalogue else make_open(spec)
        extra["shape"] = list(da.shape)
        return np.array(da.shape), extra

    def w2(spec, timer):
        w = spec["workloads"]["W2"]
        extra = {}
        with timer:
            da = make_open(spec)
            point = (
                da.sel(x=w["point"][0], y=w["point"][1], method="nearest")
                .sel(time=slice(*w["time"]))
                .chunk(time=1)
                .compute()
            )
        after(da, extra)
        extra["times"] = [str(t)[:10] for t in point.time.values]
        return point.values, extra

    def w3(spec, timer):
        w = spec["workloads"]["W3"]
        extra = {}
        with timer:
            da = make_open(spec)
            px = (da.sel(x=w["point"][0], y=w["point"][1], method="nearest")
                  .isel(time=w["time_index"]).compute())
        after(da, extra)
        extra["time"] = str(px.time.values)[:10]
        return px.values, extra

    def w4(spec, timer):
        w = spec["workloads"]["W4"]
        extra = {}
        with timer:
            da = make_open(spec)
            sub = _subset(spec, da).isel(time=slice(*w["time_slice"])).compute()
        after(da, extra)
        extra["times"] = [str(t)[:10] for t in sub.time.values]
        return sub.values, extra

    def w5(spec, timer):
        w = spec["workloads"]["W5"]
        extra = {}
        with timer:
            monthly = make_open(spec, resolution=w["resolution"],
                                time_period="P1M", filter=w["filter"],
                                sortby=w["sortby"])
            month = monthly.chunk(x=w["chunk"], y=w["chunk"]).sel(time=w["month"])
            month.load()
        after(monthly, extra)
        return month.values, extra

    def w6(spec, timer):
        w = spec["workloads"]["W6"]
        extra = {}
        with timer:
            da = make_open(spec, crs=w["crs"], bbox=w["bbox"],
                           resolution=w["resolution"], ids=[w["item"]])
            scene = da.isel(time=0).compute()
        after(da, extra)
        return scene.values, extra

    def w7(spec, timer):
        # W4 twice in one process; only the second (header cache warm) is
        # timed.
        w = spec["workloads"]["W4"]
        _subset(spec, make_open(spec)).isel(time=slice(*w["time_slice"])).compute()
        extra = {}
        with timer:
            da = make_open(spec)
            sub = _subset(spec, da).isel(time=slice(*w["time_slice"])).compute()
        after(da, extra)
        return sub.values, extra

    return {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6,
            "W7": w7}
