"""The lazycogs demo notebook, step by step, on a stac-geoparquet catalogue.

Usage: python examples/demo.py ITEMS_PARQUET [OUT_DIR]

`make demo` runs it on the generated test world (Sentinel-2-like scenes
over Minnesota) served over HTTP on loopback, as a user reads a bucket.
Pictures go to OUT_DIR (default: _world/demo-out).
"""
# SPDX-License-Identifier: MIT
import asyncio
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import lazycogs  # noqa: E402


class Step:
    """Prints a heading, then the wall time of the step."""

    def __init__(self, title: str):
        self.title = title

    def __enter__(self):
        print(f"\n== {self.title}", flush=True)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        print(f"   [{time.perf_counter() - self.t0:.2f} s]", flush=True)
        return False


def main(items_parquet: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(f"lazycogs {lazycogs.__version__}")

    # The area of interest in a projection suited to the analysis.
    dst_crs = "epsg:5070"
    dst_bbox = (-700_000, 2_220_000, 600_000, 2_930_000)

    with Step("store_for: the store of the catalogue's assets"):
        store = lazycogs.store_for(items_parquet)
        print(f"   {store!r}")

    with Step("open: a lazy daily (band, time, y, x) array at 100 m"):
        da = lazycogs.open(
            items_parquet,
            crs=dst_crs,
            bbox=dst_bbox,
            resolution=100,
            time_period="P1D",
            bands=["red", "green", "blue"],
            dtype="int16",
            store=store,
        )
        print(da)

    with Step("a 30-day point time series, one dask task per step"):
        point = (
            da.sel(x=299965, y=2653947, method="nearest")
            .sel(time=slice("2025-06-01", "2025-06-30"))
            .chunk(time=1)
            .compute()
        )
        print(point)

    with Step("a spatial subset, and one pixel of it"):
        subset = da.sel(x=slice(200_000, 500_000), y=slice(2_720_000, 2_520_000))
        print(subset)
        print(subset.isel(time=1, x=0, y=0).compute())

    with Step("explain: what plotting three steps of the subset reads"):
        plan = subset.isel(time=slice(1, 4)).lazycogs.explain()
        print(plan.summary())

    with Step("an RGB plot of three steps of the subset"):
        grid = subset.isel(time=slice(1, 4)).plot.imshow(
            rgb="band", row="time", vmin=0, vmax=4000,
            aspect=subset.shape[3] / subset.shape[2])
        path = out / "subset-rgb.png"
        grid.fig.savefig(path, dpi=60)
        print(f"   wrote {path}")

    with Step("open_async: a monthly least-cloudy composite at 300 m"):
        monthly = asyncio.run(lazycogs.open_async(
            items_parquet,
            crs=dst_crs,
            bbox=dst_bbox,
            resolution=300,
            time_period="P1M",
            bands=["red", "green", "blue"],
            dtype="int16",
            filter="eo:cloud_cover < 50",
            sortby="eo:cloud_cover",
            store=store,
        ))
        print(monthly)

    june = monthly.chunk(x=1024, y=1024).sel(time="2025-06-01")
    with Step("explain: the items each June chunk reads"):
        print(june.lazycogs.explain())

    with Step("explain with COG headers: levels, windows, requests"):
        print(june.lazycogs.explain(fetch_headers=True).summary())

    with Step("load one month in 1024 x 1024 dask chunks"):
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            june.load()
        ax = june.plot.imshow(rgb="band", vmin=0, vmax=4000, size=6,
                              aspect=june.shape[2] / june.shape[1])
        path = out / "monthly-rgb.png"
        ax.figure.savefig(path, dpi=60)
        print(f"   wrote {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    default_out = Path(__file__).resolve().parents[1] / "_world" / "demo-out"
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else
                  str(default_out)))
