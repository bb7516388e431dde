"""The lazycogs demo notebook, step by step, on a stac-geoparquet file.

Usage: python examples/demo.py ITEMS_PARQUET   (`make demo` runs it on the
generated test world served over HTTP on loopback).
"""
# SPDX-License-Identifier: MIT
import sys
import time
from collections import Counter

import pyarrow.parquet as pq
from pyproj import Transformer

import lazycogs


def main(items_parquet: str) -> int:
    print(f"lazycogs {lazycogs.__version__}\n")

    # Define the area of interest in a projection suited to the analysis,
    # and transform it to EPSG:4326 as a STAC search would.
    dst_crs = "epsg:5070"
    dst_bbox = (-700_000, 2_220_000, 600_000, 2_930_000)
    transformer = Transformer.from_crs(dst_crs, "epsg:4326", always_xy=True)
    bbox_4326 = transformer.transform_bounds(*dst_bbox)
    print(f"AOI {dst_crs} {dst_bbox}")
    print("AOI EPSG:4326 (%.3f, %.3f, %.3f, %.3f)\n" % bbox_4326)

    # The catalogue: what the stac-geoparquet file holds.
    table = pq.read_table(items_parquet)
    items = table.to_pylist()
    dates = sorted({str(it["datetime"])[:10] for it in items})
    bands = Counter(
        key for it in items for key, asset in it["assets"].items()
        if asset is not None and "data" in (asset.get("roles") or []))
    crs_codes = Counter(it.get("proj:code") for it in items)
    print(f"catalogue {items_parquet}")
    print(f"  items: {len(items)}")
    print(f"  dates: {len(dates)} ({dates[0]} .. {dates[-1]})")
    print(f"  data bands: {', '.join(sorted(bands))}")
    print(f"  CRS: {', '.join(f'{c} ({n})' for c, n in sorted(crs_codes.items()))}")

    # One COG of the catalogue, read through lazycogs' C reader over HTTP:
    # the whole of its coarsest overview, then a 64 x 64 window at full
    # resolution, with the requests this cost.
    href = items[0]["assets"]["red"]["href"]
    store = lazycogs.store.from_url(href.rsplit("/cogs/", 1)[0])
    t0 = time.perf_counter()
    overview = lazycogs.read_cog(href, overview=0, store=store)
    window = lazycogs.read_cog(href, window=(256, 256, 64, 64), store=store)
    elapsed = time.perf_counter() - t0
    stats = store.stats()
    print(f"  {href}")
    print(f"    overview 0: {overview.shape} {overview.dtype}, "
          f"values {overview[overview > 0].min()}..{overview.max()}")
    print(f"    window 64 x 64: mean {window.mean():.1f}")
    print(f"    {stats['requests']} HTTP requests, {stats['bytes']} bytes, "
          f"{elapsed * 1000:.0f} ms\n")

    print("lazycogs.open() over this catalogue arrives with the engine "
          "(issue 7); the demo stops here until then.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
