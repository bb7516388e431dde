"""Runner: stackstac 0.5.1 (bench/.venv-stackstac: it needs pandas < 3).

Configured as its documentation recommends: stackstac.stack() with the
same grid (epsg, resolution, bounds of our grid, snap_bounds=False),
rescale=False, dtype int16, fill_value np.int16(0) (a plain 0 fails its
can_cast check under NumPy 2's NEP 50 rules), resampling nearest, default
chunksize (1024), xy_coords="center" (our coordinates), then
stackstac.mosaic(reverse=True, nodata=0) per UTC day (first item on top,
as ours). stackstac 0.5.1 reads only `proj:epsg`
(projection extension v1); the world's items carry v2's `proj:code`, so
proj:epsg is added to each item dict from proj:code first. It never reads
overviews: coarse workloads read full-resolution tiles. W5: items with
eo:cloud_cover < 50 sorted by cloud cover (sortby_date=False), one mosaic.
"""
# SPDX-License-Identifier: MIT
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import stackstac  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402

import _common  # noqa: E402
import _items  # noqa: E402


def _items_v1(items):
    for it in items:
        code = it["properties"].get("proj:code", "")
        if code.upper().startswith("EPSG:"):
            it["properties"]["proj:epsg"] = int(code.split(":")[1])
    return items


def _stack(spec, items=None, crs=None, bbox=None, resolution=None, **kw):
    o = spec["open"]
    crs, bbox = crs or o["crs"], bbox or o["bbox"]
    res = resolution or o["resolution"]
    if items is None:
        items = _items.load(spec, crs, bbox)
    _, _, bounds = _common.grid(bbox, res)
    return stackstac.stack(_items_v1(items), assets=o["bands"],
                           epsg=int(crs.split(":")[1]), resolution=res, bounds=bounds,
                           snap_bounds=False, resampling=Resampling.nearest,
                           dtype=np.dtype(o["dtype"]), fill_value=np.dtype(o["dtype"]).type(0),
                           rescale=False, xy_coords="center",
                           **kw)


def _daily(arr):
    """One mosaic per UTC day, first item on top; dims (band, time, y, x)."""
    day = arr.time.dt.floor("D")
    out = arr.groupby(day.rename("day")).map(
        lambda g: stackstac.mosaic(g, dim="time", reverse=True, nodata=0))
    return out.rename(day="time").transpose("band", "time", ...)


def _subset(spec, da):
    x0, y0, x1, y1 = spec["workloads"]["W4"]["subset"]
    return da.sel(x=slice(x0, x1), y=slice(y1, y0))


def w1(spec, timer):
    with timer:
        da = _daily(_stack(spec))
    return np.array(da.shape), {"shape": list(da.shape)}


def w2(spec, timer):
    w = spec["workloads"]["W2"]
    with timer:
        da = _daily(_stack(spec))
        point = (da.sel(x=w["point"][0], y=w["point"][1], method="nearest")
                 .sel(time=slice(*w["time"])).compute())
    return point.values, {"times": [str(t)[:10] for t in point.time.values]}


def w3(spec, timer):
    w = spec["workloads"]["W3"]
    with timer:
        px = (_daily(_stack(spec)).sel(x=w["point"][0], y=w["point"][1], method="nearest")
              .isel(time=w["time_index"]).compute())
    return px.values, {}


def w4(spec, timer):
    with timer:
        sub = _subset(spec, _daily(_stack(spec))).isel(
            time=slice(*spec["workloads"]["W4"]["time_slice"])).compute()
    return sub.values, {}


def w5(spec, timer):
    w = spec["workloads"]["W5"]
    with timer:
        items = [it for it in _items.load(spec)
                 if it["properties"]["eo:cloud_cover"] < w["cloud_max"]
                 and it["properties"]["datetime"][:7] == w["month"][:7]]
        items.sort(key=lambda it: it["properties"]["eo:cloud_cover"])
        arr = _stack(spec, items=items, resolution=w["resolution"],
                     chunksize=w["chunk"], sortby_date=False)
        june = stackstac.mosaic(arr, dim="time", reverse=True, nodata=0).compute()
    return june.transpose("band", ...).values, {}


def w6(spec, timer):
    w = spec["workloads"]["W6"]
    with timer:
        items = [it for it in _items.load(spec, w["crs"], w["bbox"])
                 if it["id"] == w["item"]]
        scene = _stack(spec, items=items, crs=w["crs"], bbox=w["bbox"],
                       resolution=w["resolution"]).isel(time=0).compute()
    return scene.values, {}


def w7(spec, timer):
    ts = slice(*spec["workloads"]["W4"]["time_slice"])
    _subset(spec, _daily(_stack(spec))).isel(time=ts).compute()
    with timer:
        sub = _subset(spec, _daily(_stack(spec))).isel(time=ts).compute()
    return sub.values, {}


if __name__ == "__main__":
    sys.exit(_common.main({"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5,
                           "W6": w6, "W7": w7}))
