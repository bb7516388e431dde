"""The lazycogs demo notebook, step by step, on a stac-geoparquet file.

Usage: python examples/demo.py ITEMS_PARQUET   (`make demo` runs it on the
generated test world served over HTTP on loopback).
"""
# SPDX-License-Identifier: MIT
import sys
from collections import Counter

import pyarrow.parquet as pq
import requests
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

    # The assets are reachable with byte-range requests, as lazycogs reads them.
    href = items[0]["assets"]["red"]["href"]
    head = requests.get(href, headers={"Range": "bytes=0-15"}, timeout=10)
    print(f"  first asset {href}: HTTP {head.status_code}, "
          f"{len(head.content)} bytes, magic {head.content[:4]!r}\n")

    print("lazycogs.open() over this catalogue arrives with the engine "
          "(issue 7); the demo stops here until then.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
