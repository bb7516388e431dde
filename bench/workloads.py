"""The benchmark's workloads and the spec file the runners read.

The workloads are the seed demo's operations (examples/demo.py) on the
generated world, 3 bands (red, green, blue) as int16 in EPSG:5070:

  W1       open the lazy array (peers that need items load them first)
  W1-1k .. W1-1M   our open() alone on generated catalogues of 1k..1M items
  W2       a 30-day point time series, .chunk(time=1)
  W3       one pixel of one step (the demo's subset.isel(time=1, x=0, y=0),
           moved to the first subset pixel, on a 10 km lattice from the
           top-left, that the world covers at that step: the bench world
           does not reach the subset's west edge)
  W4       the 3000 x 2000 px subset at 100 m, 3 time steps (overviews)
  W5       a monthly composite at 300 m, filter eo:cloud_cover < 50,
           sortby eo:cloud_cover, 1024 px chunks (June)
  W6       a 2048 x 2048 window of one scene in its own CRS at native
           resolution (the fast path; ci world: the largest window that fits)
  W7       W4 with the header cache warm (second read in one process)
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

W1_SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}
ALL = ["W1"] + [f"W1-{k}" for k in W1_SIZES] + ["W2", "W3", "W4", "W5", "W6", "W7"]

# The seed notebook's area, point and subset (bench world: northern
# Minnesota, which the world is laid out to cover).
OPEN = {"crs": "EPSG:5070", "bbox": [-700_000, 2_220_000, 600_000, 2_930_000],
        "resolution": 100, "time_period": "P1D", "bands": ["red", "green", "blue"],
        "dtype": "int16"}


def names(only: str | None) -> list[str]:
    """Workloads selected by --only (W1 selects the W1-N scaling runs too)."""
    if not only:
        return list(ALL)
    want = [w.strip() for w in only.split(",") if w.strip()]
    bad = [w for w in want if w not in ALL]
    if bad:
        raise SystemExit(f"bench/run: unknown workload(s) {bad} (known: {ALL})")
    return [w for w in ALL if w in want or (w.startswith("W1-") and "W1" in want)]


def supports(tool: str, wl: str) -> bool:
    if wl.startswith("W1-"):
        return tool == "ours"  # the scaling runs are ours alone
    if tool == "gdalwarp" and wl in ("W1", "W7"):
        return False  # no lazy array; no cache across gdalwarp processes
    return True


def _catalogues(world: Path, size: str, url: str, data: Path) -> Path:
    """The world's catalogues with hrefs on the server (rewritten when the
    URL changes)."""
    import make_world

    out = data / f"catalog-{size}"
    stamp = out / ".href-base"
    # Not the manifest's mtime: make_world.py rewrites it on every call.
    m = json.loads((world / "world.json").read_text())
    key = f"{url} {m['generator_version']} {m['seed']} {m['total_bytes']}"
    if not (stamp.exists() and stamp.read_text() == key):
        items = make_world.rebase_hrefs(make_world.load_items(world), world, url)
        make_world.write_catalogs(items, out)
        stamp.write_text(key)
    return out


def _w1_catalogue(src: Path, n: int, out: Path) -> Path:
    """n items: the world's items repeated with new ids, each repetition
    shifted by one day (so the time axis grows with n)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = out / f"items-{n}.parquet"
    key = (src.parent / ".href-base").read_text()  # the catalogue's key
    stamp = out / f".items-{n}.stamp"
    if path.exists() and stamp.exists() and stamp.read_text() == key:
        return path
    out.mkdir(parents=True, exist_ok=True)
    table = pq.read_table(src)
    m = table.num_rows
    idx = np.arange(n) % m
    rep = np.arange(n) // m
    t = table.take(pa.array(idx))
    ids = pc.binary_join_element_wise(
        t["id"], pa.array([f"r{r}" for r in rep]), "-")
    shift = pa.array((rep * 86_400_000_000).astype(np.int64),
                     pa.duration("us"))
    cols = {"id": ids}
    for name in ("datetime", "start_datetime", "end_datetime"):
        if name in t.column_names:
            cols[name] = pc.add(t[name], shift.cast(pa.duration(t[name].type.unit)))
    for name, col in cols.items():
        t = t.set_column(t.column_names.index(name), name, col)
    tmp = path.with_suffix(".tmp")
    pq.write_table(t, tmp, compression="zstd", row_group_size=65536)
    tmp.rename(path)
    stamp.write_text(key)
    return path


def _w6(world: Path) -> dict:
    """A native-resolution window of the item with the most valid pixels."""
    m = json.loads((world / "world.json").read_text())
    item = max(m["items"], key=lambda s: (s["valid_fraction"], -s["index"]))
    res, _, x0, _, _, y0 = item["transform"][:6]
    rows, cols = item["shape"]
    off = min(rows, cols) // 8
    size = min(2048, min(rows, cols) - 2 * off)
    return {"item": item["id"], "crs": f"EPSG:{item['epsg']}", "resolution": res,
            "date": item["date"], "window": [off, off, size, size],
            "bbox": [x0 + off * res, y0 - (off + size) * res,
                     x0 + (off + size) * res, y0 - off * res]}


def _inside(pt, ring) -> bool:
    """Ray casting: is pt inside the polygon ring (lon/lat pairs)?"""
    x, y = pt
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _w3_point(world: Path, subset, time_index: int) -> list[float]:
    """The first lattice point of the subset (row-major from the top-left,
    10 km apart, on pixel centres) inside a footprint of an item of the
    time_index-th date."""
    from pyproj import Transformer

    m = json.loads((world / "world.json").read_text())
    date = sorted(m["dates"])[time_index]
    rings = [g["coordinates"][0] for it in m["items"] if it["date"] == date
             for g in [it["geometry"]] if g["type"] == "Polygon"]
    to_ll = Transformer.from_crs(OPEN["crs"], "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = subset
    res = OPEN["resolution"]
    for y in np.arange(y1 - res / 2, y0, -10_000.0):
        for x in np.arange(x0 + res / 2, x1, 10_000.0):
            if any(_inside(to_ll.transform(x, y), r) for r in rings):
                return [float(x), float(y)]
    raise SystemExit(f"bench/run: no item of {date} covers the W3 subset")


def build_spec(world: Path, size: str, url: str, data: Path, wanted: list[str]) -> dict:
    cat = _catalogues(world, size, url, data)
    m = json.loads((world / "world.json").read_text())
    spec = {
        "size": size, "world": str(world), "url": url,
        "parquet": str(cat / "items.parquet"), "ndjson": str(cat / "items.ndjson"),
        "duckdb_extensions": str(BENCH / ".duckdb-ext"),
        "dates": m["dates"], "open": dict(OPEN),
        "workloads": {
            "W2": {"point": [299_965, 2_653_947], "time": ["2025-06-01", "2025-06-30"]},
            "W3": {"time_index": 1,
                   "point": _w3_point(world, [100_000, 2_600_000, 400_000, 2_800_000], 1)},
            "W4": {"subset": [100_000, 2_600_000, 400_000, 2_800_000],
                   "time_slice": [1, 4]},
            "W5": {"resolution": 300, "filter": "eo:cloud_cover < 50",
                   "sortby": "eo:cloud_cover", "chunk": 1024, "month": "2025-06-01",
                   "cloud_max": 50},
            "W6": _w6(world),
        },
        "w1_catalogues": {},
    }
    for label, n in W1_SIZES.items():
        if f"W1-{label}" in wanted:
            spec["w1_catalogues"][label] = str(
                _w1_catalogue(cat / "items.parquet", n, data / f"w1-{size}"))
    return spec


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem, 1),
            "os": platform.platform()}


def versions() -> dict:
    v = {}
    # Other work reinstalls the package now and then: say which build ran.
    ours = BENCH / ".venv-ours/bin/python"
    probe = ("import hashlib, pathlib, sys, lazycogs; from lazycogs import _ext; "
             "so = pathlib.Path(_ext.__file__).read_bytes(); "
             "print(f'{lazycogs.__version__}, _ext sha256 "
             "{hashlib.sha256(so).hexdigest()[:12]}, Python {sys.version.split()[0]}')")
    try:
        out = subprocess.run([str(ours), "-c", probe], capture_output=True, text=True)
        v["lazycogs (ours)"] = out.stdout.strip() or f"? ({out.stderr.strip()[-200:]})"
    except OSError as exc:
        v["lazycogs (ours)"] = f"? ({exc})"
    for req in ("requirements-peers.txt", "requirements-stackstac.txt"):
        for line in (BENCH / "peers" / req).read_text().splitlines():
            name = line.split("==")[0].lower()
            if name in ("odc-stac", "stackstac", "rustac", "rasterio", "numpy",
                        "dask", "xarray", "pandas"):
                v[f"{name} ({req.split('-')[1].split('.')[0]})"] = line.split("==")[-1]
    v["upstream lazycogs"] = "0.7.0"
    try:
        v["gdalwarp"] = subprocess.run(["gdalwarp", "--version"], capture_output=True,
                                       text=True).stdout.strip()
    except OSError:
        v["gdalwarp"] = "missing"
    py = BENCH / ".venv-peers/bin/python"
    if py.exists():
        v["peers python"] = subprocess.run([str(py), "-V"], capture_output=True,
                                           text=True).stdout.strip()
    return v
