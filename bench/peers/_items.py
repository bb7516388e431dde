"""Items for the peers that take STAC items (odc-stac, stackstac, gdalwarp):
the catalogue's NDJSON, keeping those whose bbox meets the query area, as a
STAC API search with that bbox would return them (catalogue order)."""
# SPDX-License-Identifier: MIT
import json

from pyproj import Transformer


def query_bbox_4326(crs: str, bbox) -> tuple:
    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return t.transform_bounds(*bbox, densify_pts=21)


def load(spec: dict, crs: str | None = None, bbox=None) -> list[dict]:
    crs = crs or spec["open"]["crs"]
    w, s, e, n = query_bbox_4326(crs, bbox or spec["open"]["bbox"])
    out = []
    with open(spec["ndjson"]) as f:
        for line in f:
            if not line.strip():
                continue
            it = json.loads(line)
            b = it["bbox"]
            if b[0] <= e and b[2] >= w and b[1] <= n and b[3] >= s:
                out.append(it)
    return out


def utc_date(item: dict) -> str:
    return item["properties"]["datetime"][:10]
