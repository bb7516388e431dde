"""Catalogue open: load + filter + sort + index of 1k..1M STAC items.

What ``lazycogs.open()`` does with a stac-geoparquet file before any pixel
is read, timed in C (bench/bench_items.c, best of N) against pyarrow and
DuckDB reading the same columns and applying the same query:

    bbox       the middle quarter of the items' extent (EPSG:4326)
    datetime   the middle half of their period
    filter     eo:cloud_cover < 50
    sortby     eo:cloud_cover

Columns: id, datetime, bbox, geometry (WKB), assets.red (href, type,
roles), eo:cloud_cover. lazycogs also decodes every footprint polygon from
its WKB and builds the R-tree over the selected items; the peers do
neither (pyarrow/DuckDB keep the WKB as bytes), so the comparison is
conservative for lazycogs.

Files are generated once by pyarrow (stac-geoparquet layout, zstd, row
groups of 64k rows, sorted by datetime as API searches return them) into
bench/_data/items-N.parquet.

usage: python bench/bench_items.py [--sizes 1000,10000,100000,1000000]
                                   [--repeats 5] [--bench-dir build/bench]
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import argparse
import datetime as dt
import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "_data"

# Items scattered over the contiguous US, ~110 km footprints, one year.
WEST, SOUTH, EAST, NORTH = -125.0, 25.0, -67.0, 49.0
START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
SPAN_DAYS = 365
QUERY_BBOX = (WEST + (EAST - WEST) * 0.375, SOUTH + (NORTH - SOUTH) * 0.375,
              WEST + (EAST - WEST) * 0.625, SOUTH + (NORTH - SOUTH) * 0.625)
QUERY_DATETIME = "2025-04-01T00:00:00Z/2025-09-30T23:59:59Z"
QUERY_FILTER = "eo:cloud_cover < 50"
QUERY_SORTBY = "eo:cloud_cover"


def _wkb_box(x0, y0, x1, y1) -> bytes:
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return struct.pack("<BIII", 1, 3, 1, 5) + b"".join(
        struct.pack("<dd", x, y) for x, y in ring)


def generate(n: int, path: Path) -> None:
    rng = np.random.default_rng(n)
    x0 = rng.uniform(WEST, EAST - 1.0, n)
    y0 = rng.uniform(SOUTH, NORTH - 1.0, n)
    x1, y1 = x0 + 1.0, y0 + 1.0
    us = np.sort(rng.integers(0, SPAN_DAYS * 86_400_000_000, n))
    start_us = int(START.timestamp() * 1_000_000)
    ids = [f"S2X_{i:08d}" for i in range(n)]
    cloud = np.round(rng.uniform(0, 100, n), 4)
    bbox = pa.StructArray.from_arrays(
        [pa.array(x0), pa.array(y0), pa.array(x1), pa.array(y1)],
        names=["xmin", "ymin", "xmax", "ymax"])
    geometry = pa.array([_wkb_box(*b) for b in zip(x0, y0, x1, y1)],
                        pa.binary())
    href = pa.array([f"https://data.example/{i}/red.tif" for i in ids])
    red = pa.StructArray.from_arrays(
        [href, pa.array(["image/tiff; application=geotiff"] * n),
         pa.array([["data"]] * n, pa.list_(pa.string()))],
        names=["href", "type", "roles"])
    assets = pa.StructArray.from_arrays([red], names=["red"])
    table = pa.table({
        "type": pa.array(["Feature"] * n),
        "stac_version": pa.array(["1.1.0"] * n),
        "id": pa.array(ids),
        "geometry": geometry,
        "bbox": bbox,
        "datetime": pa.array(us + start_us, pa.timestamp("us", tz="UTC")),
        "eo:cloud_cover": pa.array(cloud),
        "platform": pa.array(rng.choice(["sentinel-2a", "sentinel-2b"], n)),
        "assets": assets,
    })
    geo = {"version": "1.1.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB",
                                    "geometry_types": ["Polygon"]}}}
    table = table.replace_schema_metadata({"geo": json.dumps(geo)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=65536)
    tmp.rename(path)


COLUMNS = ["id", "datetime", "bbox", "geometry", "assets", "eo:cloud_cover"]


def run_pyarrow(path: Path) -> int:
    t = pq.read_table(path, columns=COLUMNS)
    w, s, e, n = QUERY_BBOX
    bb = t["bbox"]
    lo, hi = QUERY_DATETIME.split("/")
    mask = pc.and_(
        pc.and_(pc.less_equal(pc.struct_field(bb, "xmin"), e),
                pc.greater_equal(pc.struct_field(bb, "xmax"), w)),
        pc.and_(pc.less_equal(pc.struct_field(bb, "ymin"), n),
                pc.greater_equal(pc.struct_field(bb, "ymax"), s)))
    ts = pa.scalar(dt.datetime.fromisoformat(lo), pa.timestamp("us", "UTC"))
    te = pa.scalar(dt.datetime.fromisoformat(hi), pa.timestamp("us", "UTC"))
    mask = pc.and_(mask, pc.and_(pc.greater_equal(t["datetime"], ts),
                                 pc.less_equal(t["datetime"], te)))
    mask = pc.and_(mask, pc.less(t["eo:cloud_cover"], 50))
    sel = t.filter(mask)
    sel = sel.take(pc.sort_indices(sel, [("eo:cloud_cover", "ascending")]))
    return sel.num_rows


def run_duckdb(con, path: Path) -> int:
    w, s, e, n = QUERY_BBOX
    lo, hi = QUERY_DATETIME.split("/")
    sql = f"""
        SELECT id, datetime, bbox, geometry, assets.red AS red,
               "eo:cloud_cover"
        FROM read_parquet('{path}')
        WHERE bbox.xmin <= {e} AND bbox.xmax >= {w}
          AND bbox.ymin <= {n} AND bbox.ymax >= {s}
          AND datetime >= TIMESTAMPTZ '{lo}' AND datetime <= TIMESTAMPTZ '{hi}'
          AND "eo:cloud_cover" < 50
        ORDER BY "eo:cloud_cover" """
    return con.execute(sql).to_arrow_table().num_rows


def best_of(repeats: int, fn) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = fn()
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best, rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--bench-dir", default=str(ROOT / "build" / "bench"))
    args = ap.parse_args(argv)
    import duckdb

    exe = Path(args.bench_dir) / "bench" / "bench_items"
    if not exe.exists():
        sys.exit(f"{exe} missing: run `make bench` (or build target "
                 "bench_items in a Release build with LC_BUILD_BENCH=ON)")
    con = duckdb.connect()
    print(f"{'items':>9} {'selected':>9} | {'lazycogs ms':>11} "
          f"(load/filter/sort/index) | {'pyarrow ms':>10} {'x':>6} | "
          f"{'duckdb ms':>9} {'x':>6}")
    for n in (int(v) for v in args.sizes.split(",")):
        path = DATA / f"items-{n}.parquet"
        if not path.exists():
            generate(n, path)
        out = subprocess.run(
            [str(exe), str(path), str(args.repeats),
             ",".join(str(v) for v in QUERY_BBOX), QUERY_DATETIME,
             QUERY_FILTER, QUERY_SORTBY],
            check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout)
        pa_ms, pa_rows = best_of(args.repeats, lambda: run_pyarrow(path))
        db_ms, db_rows = best_of(args.repeats, lambda: run_duckdb(con, path))
        if not ours["selected"] == pa_rows == db_rows:
            sys.exit(f"selections differ at n={n}: lazycogs "
                     f"{ours['selected']}, pyarrow {pa_rows}, duckdb {db_rows}")
        total = ours["total_ms"]
        print(f"{n:>9} {ours['selected']:>9} | {total:>11.2f} "
              f"({ours['load_ms']:.2f}/{ours['filter_ms']:.2f}/"
              f"{ours['sort_ms']:.2f}/{ours['index_ms']:.2f}) | "
              f"{pa_ms:>10.2f} {pa_ms / total:>6.2f} | "
              f"{db_ms:>9.2f} {db_ms / total:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
