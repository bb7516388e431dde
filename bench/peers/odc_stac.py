"""Runner: odc-stac 0.5.3 (bench/.venv-peers).

Configured as its documentation recommends: odc.stac.configure_rio(
cloud_defaults=True) (GDAL's cloud settings), odc.stac.load() with the
same grid as ours (a GeoBox of the same shape, transform and CRS),
groupby="solar_day", resampling nearest, dtype int16, nodata 0, dask
chunks={"x": 2048, "y": 2048} (the docstring's example; time chunks 1).
Items are pystac Items from the catalogue's NDJSON (loading them is part
of every workload). W5: items with eo:cloud_cover < 50 sorted by cloud
cover, grouped by month with preserve_original_order=True (first valid
pixel in that order, as sortby does for us).
"""
# SPDX-License-Identifier: MIT
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import odc.stac  # noqa: E402
import pystac  # noqa: E402
from affine import Affine  # noqa: E402
from odc.geo.geobox import GeoBox  # noqa: E402

import _common  # noqa: E402
import _items  # noqa: E402

CHUNKS = {"x": 2048, "y": 2048}


def _load(spec, items=None, crs=None, bbox=None, resolution=None, chunks=None, **kw):
    o = spec["open"]
    crs, bbox = crs or o["crs"], bbox or o["bbox"]
    if items is None:
        items = _items.load(spec, crs, bbox)
    res = resolution or o["resolution"]
    width, height, _ = _common.grid(bbox, res)
    gbox = GeoBox((height, width), Affine(res, 0, bbox[0], 0, -res, bbox[3]), crs)
    ds = odc.stac.load([pystac.Item.from_dict(it) for it in items],
                       bands=o["bands"], geobox=gbox,
                       groupby=kw.pop("groupby", "solar_day"),
                       resampling="nearest", dtype=o["dtype"], nodata=0,
                       chunks=chunks or CHUNKS, fail_on_error=True, **kw)
    return ds[o["bands"]].to_array("band")


def _subset(spec, da):
    x0, y0, x1, y1 = spec["workloads"]["W4"]["subset"]
    return da.sel(x=slice(x0, x1), y=slice(y1, y0))


def w1(spec, timer):
    with timer:
        da = _load(spec)
    return np.array(da.shape), {"shape": list(da.shape)}


def w2(spec, timer):
    w = spec["workloads"]["W2"]
    with timer:
        da = _load(spec)
        point = (da.sel(x=w["point"][0], y=w["point"][1], method="nearest")
                 .sel(time=slice(w["time"][0], w["time"][1] + "T23:59:59"))
                 .compute())
    return point.values, {"times": [str(t)[:10] for t in point.time.values]}


def w3(spec, timer):
    w = spec["workloads"]["W3"]
    with timer:
        px = (_load(spec).sel(x=w["point"][0], y=w["point"][1], method="nearest")
              .isel(time=w["time_index"]).compute())
    return px.values, {"time": str(px.time.values)[:10]}


def w4(spec, timer):
    with timer:
        sub = _subset(spec, _load(spec)).isel(
            time=slice(*spec["workloads"]["W4"]["time_slice"])).compute()
    return sub.values, {"times": [str(t)[:10] for t in sub.time.values]}


def w5(spec, timer):
    w = spec["workloads"]["W5"]
    with timer:
        items = [it for it in _items.load(spec)
                 if it["properties"]["eo:cloud_cover"] < w["cloud_max"]]
        items.sort(key=lambda it: it["properties"]["eo:cloud_cover"])
        da = _load(spec, items=items, resolution=w["resolution"],
                   chunks={"x": w["chunk"], "y": w["chunk"]},
                   groupby=lambda item, parsed, idx: item.datetime.strftime("%Y-%m"),
                   preserve_original_order=True)
        month = da.time.dt.strftime("%Y-%m") == w["month"][:7]
        june = da.isel(time=int(np.flatnonzero(month.values)[0])).compute()
    return june.values, {}


def w6(spec, timer):
    w = spec["workloads"]["W6"]
    with timer:
        items = [it for it in _items.load(spec, w["crs"], w["bbox"])
                 if it["id"] == w["item"]]
        scene = _load(spec, items=items, crs=w["crs"], bbox=w["bbox"],
                      resolution=w["resolution"]).isel(time=0).compute()
    return scene.values, {}


def w7(spec, timer):
    ts = slice(*spec["workloads"]["W4"]["time_slice"])
    _subset(spec, _load(spec)).isel(time=ts).compute()
    with timer:
        sub = _subset(spec, _load(spec)).isel(time=ts).compute()
    return sub.values, {}


if __name__ == "__main__":
    odc.stac.configure_rio(cloud_defaults=True)
    sys.exit(_common.main({"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5,
                           "W6": w6, "W7": w7}))
