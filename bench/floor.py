"""The floor: what any reader must fetch and decode for each workload.

usage (bench/run calls it before and after the workloads, with the server
up at 0 ms latency):
    .venv/bin/python bench/floor.py SPEC.json W2,W3,... OUT.json

For each workload the COG reads that produce its pixels come from our plan
(explain(fetch_headers=True): per item and band the overview level and
source window, from the COG headers and tile indexes; items the `first`
mosaic never needs because earlier items cover the window are left out).
From those:

  cogs      the COGs read
  requests  2 per COG: its header (a reader cannot know where the tiles are
            before) and one range for its tiles; W7 (headers cached): 1
  bytes     the tiles' bytes (TileByteCounts of the blocks the window
            touches) + each COG's header, i.e. the bytes before its first
            tile (GDAL writes all IFDs and tile indexes there)
  decoded   the tiles' decoded bytes (512 x 512 x 2 per uint16 tile)
  decode_s  the CPU time our reader takes to decode exactly those windows
            of the local files (each read once untimed, then the fastest
            of three timed reads: the first touch of fresh memory is not
            decoding): the workload's own codecs, not an average speed

and the lower bound on wall time at latency L:

  floor = rounds x L + bytes / loopback bandwidth + decode_s / cores

rounds = 2 (header, then tiles; all COGs in parallel), 1 for W7, 0 when
no COG holds pixels of the window. The loopback bandwidth is the best of
five large GETs from tools/serve.py. The catalogue is a local file, so it
adds nothing here.

The machine's speed wanders (this VM has had slow phases of minutes: the
same decode measured 613 and 1120 MB/s in two runs of one build,
2026-11-26), so bench/run measures the floor's inputs before the workloads
and again after them, and the floor takes the better of the two for each
(combine()): a floor is the best the machine does.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import os
import struct
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

import numpy as np  # noqa: E402

import lazycogs  # noqa: E402
from lazycogs import _ext  # noqa: E402

import _common  # noqa: E402


def tiff_header_bytes(path: Path) -> tuple[int, int]:
    """(bytes before the first tile, tile width) of a tiled (Big)TIFF."""
    with open(path, "rb") as f:
        head = f.read(16)
        bo = "<" if head[:2] == b"II" else ">"
        big = struct.unpack(bo + "H", head[2:4])[0] == 43
        off = struct.unpack(bo + ("Q" if big else "I"), head[8:16] if big else head[4:8])[0]
        first, tile_w = None, 512
        sizes = {3: 2, 4: 4, 16: 8}
        while off:
            f.seek(off)
            n = struct.unpack(bo + ("Q" if big else "H"), f.read(8 if big else 2))[0]
            ent = 20 if big else 12
            raw = f.read(n * ent)
            for i in range(n):
                e = raw[i * ent:(i + 1) * ent]
                tag, typ = struct.unpack(bo + "HH", e[:4])
                cnt = struct.unpack(bo + ("Q" if big else "I"), e[4:12] if big else e[4:8])[0]
                val = e[12:20] if big else e[8:12]
                if tag == 322:
                    tile_w = struct.unpack(bo + ("H" if typ == 3 else "I"), val[:sizes[typ]])[0]
                if tag == 324:  # TileOffsets
                    sz = sizes[typ]
                    fmt = {2: "H", 4: "I", 8: "Q"}[sz]
                    if cnt * sz <= len(val):
                        vals = struct.unpack(bo + fmt * cnt, val[:cnt * sz])
                    else:
                        where = struct.unpack(bo + ("Q" if big else "I"), val)[0]
                        pos = f.tell()
                        f.seek(where)
                        vals = struct.unpack(bo + fmt * cnt, f.read(cnt * sz))
                        f.seek(pos)
                    nz = [v for v in vals if v]
                    if nz:
                        first = min(nz) if first is None else min(first, min(nz))
            f.seek(off + (8 if big else 2) + n * ent)
            off = struct.unpack(bo + ("Q" if big else "I"), f.read(8 if big else 4))[0]
    return first or 0, tile_w


def views(spec: dict, wl: str):
    """The workload's part of our lazy array, as a view explain() accepts."""
    def op(**over):
        args = dict(spec["open"])
        args.update(over)
        return lazycogs.open(spec["parquet"], store=lazycogs.store_for(spec["parquet"]),
                             **args)

    W = spec["workloads"]
    x0, y0, x1, y1 = W["W4"]["subset"]
    if wl == "W2":
        col, row = _common.point_index(spec, W["W2"])
        da = op()
        return da.isel(x=slice(col, col + 1), y=slice(row, row + 1)).sel(
            time=slice(*W["W2"]["time"]))
    if wl == "W3":
        t = W["W3"]["time_index"]
        col, row = _common.point_index(spec, W["W3"])
        return op().isel(time=slice(t, t + 1), x=slice(col, col + 1), y=slice(row, row + 1))
    if wl in ("W4", "W7"):
        return op().sel(x=slice(x0, x1), y=slice(y1, y0)).isel(
            time=slice(*W["W4"]["time_slice"]))
    if wl == "W5":
        w = W["W5"]
        m = op(resolution=w["resolution"], time_period="P1M", filter=w["filter"],
               sortby=w["sortby"])
        return m.sel(time=slice(w["month"], w["month"]))
    if wl == "W6":
        w = W["W6"]
        return op(crs=w["crs"], bbox=w["bbox"], resolution=w["resolution"],
                  ids=[w["item"]]).isel(time=slice(0, 1))
    raise ValueError(wl)


def needs(spec: dict, wl: str, world: Path) -> dict:
    plan = views(spec, wl).lazycogs.explain(fetch_headers=True)
    cogs, hrefs, tile_bytes, tiles, header, decode_s = set(), set(), 0, 0, 0, 0.0
    for chunk in plan.chunk_reads:
        for r in chunk.cog_reads:
            if r.window_width is None or r.skipped_by_early_exit:
                continue
            key = (r.href, r.overview_level, r.window_col_off, r.window_row_off)
            if key in cogs:
                continue
            rel = r.href.split("/cogs/", 1)[1]
            hb, tw = tiff_header_bytes(world / "cogs" / rel)
            if r.href not in hrefs:
                header += hb
                hrefs.add(r.href)
            cogs.add(key)
            tile_bytes += r.est_bytes or 0
            c0, c1 = r.window_col_off // tw, (r.window_col_off + r.window_width - 1) // tw
            r0, r1 = r.window_row_off // tw, (r.window_row_off + r.window_height - 1) // tw
            tiles += (c1 - c0 + 1) * (r1 - r0 + 1)
            level = 0 if r.overview_level is None else r.overview_level + 1
            decode_s += decode_cpu(world / "cogs" / rel, level,
                                   (r.window_col_off, r.window_row_off,
                                    r.window_width, r.window_height))
    n = len(hrefs)
    warm = wl == "W7"
    return {"cogs": n, "requests": n if warm else 2 * n,
            "bytes": tile_bytes + (0 if warm else header), "tiles": tiles,
            "decoded": tiles * 512 * 512 * 2, "decode_s": decode_s,
            "rounds": 0 if n == 0 else 1 if warm else 2}


def decode_cpu(path: Path, level: int, window: tuple) -> float:
    """CPU seconds our reader takes to read window (col, row, width,
    height) of level of a local COG: the fastest of three timed reads after
    an untimed one (single core: CPU time, not wall)."""
    cog = _ext.Cog(str(path))
    info = cog.info()
    out = np.empty((info["samples"], window[3], window[2]), dtype=info["dtype"])
    cog.read_window(level, window, None, out)
    best = float("inf")
    for _ in range(3):
        c = time.process_time()
        cog.read_window(level, window, None, out)
        best = min(best, time.process_time() - c)
    return best


def bandwidth(spec: dict, world: Path) -> float:
    """Bytes/s of one large GET from the server (best of 5: a floor takes
    the best the machine shows, not one sample)."""
    big = max((p for p in (world / "cogs").rglob("*.tif")), key=lambda p: p.stat().st_size)
    url = f"{spec['url']}/cogs/{big.relative_to(world / 'cogs')}"
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        n = len(urllib.request.urlopen(url).read())
        best = max(best, n / (time.perf_counter() - t))
    return best


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    wls = [w for w in sys.argv[2].split(",") if w]
    world = Path(spec["world"])
    out = {"bandwidth_Bps": bandwidth(spec, world), "cores": os.cpu_count(),
           "workloads": {}}
    for wl in wls:
        out["workloads"][wl] = needs(spec, wl, world)
    Path(sys.argv[3]).write_text(json.dumps(out, indent=1))
    return 0


def measure(spec_path: Path, wls: list[str], out: Path) -> dict | None:
    """Runs this file in a fresh process (bench/run's server must be up, the
    plan fetches headers through it) and returns what it measured, or None
    when it failed (said on stdout)."""
    import subprocess

    wls = [w for w in wls if w in ("W2", "W3", "W4", "W5", "W6", "W7")]
    if not wls:
        return None
    r = subprocess.run([sys.executable, __file__, str(spec_path), ",".join(wls), str(out)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"bench/floor.py failed: {r.stderr.strip()[-500:]}", flush=True)
        return None
    return json.loads(out.read_text())


def combine(measured: list, latencies: list[float]) -> dict:
    """{latency: {wl: floor}} from the measurements taken (before and after
    the workloads), each input the best of them: the highest bandwidth and,
    per workload, the least decode time."""
    measured = [m for m in measured if m]
    if not measured:
        return {}
    bw = max(m["bandwidth_Bps"] for m in measured)
    cores = measured[0]["cores"]
    res = {}
    for wl, n in measured[0]["workloads"].items():
        n = dict(n, decode_s=min(m["workloads"][wl]["decode_s"] for m in measured))
        for lat in latencies:
            wall = n["rounds"] * lat / 1000.0 + n["bytes"] / bw + n["decode_s"] / cores
            res.setdefault(f"{lat:g}", {})[wl] = dict(n, wall_s=wall)
    decoded = sum(n["decoded"] for n in res[f"{latencies[0]:g}"].values())
    cpu = sum(n["decode_s"] for n in res[f"{latencies[0]:g}"].values())
    res["_measured"] = {
        "bandwidth_MBps": bw / 1e6,
        "bandwidth_MBps_each": [m["bandwidth_Bps"] / 1e6 for m in measured],
        "decode_MBps_per_core": decoded / cpu / 1e6 if cpu else float("inf"),
        "decode_s_each": {wl: [m["workloads"][wl]["decode_s"] for m in measured]
                          for wl in measured[0]["workloads"]},
        "cores": cores}
    return res


if __name__ == "__main__":
    sys.exit(main())
