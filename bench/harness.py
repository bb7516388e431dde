"""bench/run: lazycogs against its peers on the synthetic world over HTTP.

usage: bench/run [--size ci|bench] [--latency-ms 0,20] [--only W2,W4]
                 [--tools ours,upstream,odc-stac,stackstac,gdalwarp]
                 [--reps 3] [--port 18470] [--no-floor]

1. Generates the world (tools/make_world.py --size SIZE into _world/SIZE;
   a complete world is reused) and serves it with tools/serve.py on
   loopback; the catalogues' hrefs point at the server (bench/_data).
2. Runs every workload (bench/workloads.py) for every tool in alternation
   (rep 1: A B C ..., rep 2: A B C ...), each run a fresh process
   (bench/peers/<tool>.py), at each latency.
3. Per run: wall and CPU of the workload (from the runner), wall, CPU and
   peak RSS of the whole process (wait4), the HTTP requests and bytes the
   server logged during the timed section; for ours the engine's stats.
4. Checks every tool's pixels against ours (first repetition).
5. The floor (bench/floor.py): minimum requests, bytes and wall time any
   reader needs for each workload; its inputs (bandwidth, decode time)
   measured before the workloads and after, the better of each counting.
6. Writes bench/results/<UTC date-time>.json, .md and .png, and the table
   into bench/RESULTS.md (between the bench/run markers). A run of some
   workloads (--only) leaves RESULTS.md alone: its blocks hold whole runs.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(BENCH))

import make_world  # noqa: E402
import serve  # noqa: E402
import workloads  # noqa: E402

# tool -> (interpreter, runner). The venvs are bench/setup's. Ours runs on the
# peers' interpreter and numpy/xarray/pandas/dask, not in the development
# .venv (another Python, and the test tools' packages).
TOOLS = {
    "ours": (BENCH / ".venv-ours/bin/python", BENCH / "peers/ours.py"),
    "upstream": (BENCH / ".venv-peers/bin/python", BENCH / "peers/upstream.py"),
    "odc-stac": (BENCH / ".venv-peers/bin/python", BENCH / "peers/odc_stac.py"),
    "stackstac": (BENCH / ".venv-stackstac/bin/python", BENCH / "peers/stackstac_peer.py"),
    "gdalwarp": (ROOT / ".venv/bin/python", BENCH / "peers/gdal.py"),
}
RUN_TIMEOUT_S = 900


def log(msg: str) -> None:
    print(msg, flush=True)


def prepare_world(size: str) -> Path:
    world = ROOT / "_world" / size
    if not make_world.world_is_complete(world, size, make_world.DEFAULT_SEED):
        log(f"generating the {size} world in {world} (cached afterwards)")
    # Idempotent: a complete world is reused (only the catalogues rewritten).
    subprocess.run(["nice", "-n", "10", sys.executable, str(ROOT / "tools/make_world.py"),
                    "--size", size, "--out", str(world)], check=True,
                   stdout=subprocess.DEVNULL)
    return world


def run_one(tool: str, spec_path: Path, wl: str, out: Path) -> dict:
    """One fresh process of a runner; returns its record."""
    py, script = TOOLS[tool]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(out / "stdout.txt", "w") as so, open(out / "stderr.txt", "w") as se:
        proc = subprocess.Popen([str(py), str(script), str(spec_path), wl, str(out)],
                                stdout=so, stderr=se, cwd=str(ROOT))
        try:
            _, status, ru = _wait4(proc.pid, RUN_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            _, status, ru = os.wait4(proc.pid, 0)
            return {"status": "timeout", "error": f"killed after {RUN_TIMEOUT_S} s"}
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    rec = {"process_wall_s": wall, "process_cpu_s": ru.ru_utime + ru.ru_stime,
           "peak_rss_mb": ru.ru_maxrss / 1024.0}
    if code == 3:
        return {"status": "n/a"}
    if code != 0 or not (out / "timing.json").exists():
        err = (out / "stderr.txt").read_text().strip().splitlines()
        rec.update(status="error", error=(err[-1] if err else f"exit {code}")[:300])
        return rec
    timing = json.loads((out / "timing.json").read_text())
    # The runner's own peak (VmHWM; ru_maxrss would include ours, see
    # peers/_common.py).
    rec["peak_rss_mb"] = timing.get("peak_rss_mb", rec["peak_rss_mb"])
    rec.update(status="ok", wall_s=timing["wall_s"], cpu_s=timing["cpu_s"],
               t_start=timing["t_start"], t_end=timing["t_end"],
               extra=timing.get("extra", {}))
    return rec


def _wait4(pid: int, timeout: float):
    """os.wait4 with a timeout (polls; the child's rusage is what we want)."""
    deadline = time.monotonic() + timeout
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            return wpid, status, ru
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.005)


def http_counts(server: serve.LoopbackServer, rec: dict, out: Path) -> None:
    """Requests and bytes the server logged during the timed section (the
    entries go to OUT/requests.jsonl)."""
    time.sleep(0.05)  # entries are appended once a response is written
    entries = server.log
    lo, hi = rec["t_start"] - 0.01, rec["t_end"] + 0.01
    sel = [e for e in entries if lo <= e["time"] <= hi]
    with open(out / "requests.jsonl", "w") as f:
        for e in sel:
            f.write(json.dumps(e) + "\n")
    rec["requests"] = len(sel)
    rec["bytes"] = sum(e["bytes"] for e in sel)
    rec["requests_process"] = len(entries)
    server.clear_log()


def compare(ref: np.ndarray, got: np.ndarray) -> dict:
    """How a peer's pixels differ from ours.

    In the synthetic world a pixel's value encodes its item, band and
    position, and neighbouring pixels of one item differ by at most 8
    (the ramp 3*col + 2*row plus noise 0..1): a difference of <= 8 where
    both are valid means nearest-neighbour resampling picked the adjacent
    source pixel (a tie or the approximate transformer at a pixel edge),
    a larger one another item (mosaic order) or a wrong read. When a peer's
    array is one row/column larger, the best-matching alignment is compared.
    """
    ref, got = np.squeeze(ref), np.squeeze(got)
    note = None
    if ref.shape != got.shape:
        extra = [g - r for r, g in zip(ref.shape, got.shape)]
        if len(extra) != ref.ndim or min(extra) < 0 or max(extra) > 1:
            return {"equal": False, "note": f"shape {list(got.shape)} vs ours {list(ref.shape)}"}
        best = None
        for offs in np.ndindex(*[e + 1 for e in extra]):
            sl = tuple(slice(o, o + n) for o, n in zip(offs, ref.shape))
            n_eq = int((got[sl] == ref).sum())
            if best is None or n_eq > best[0]:
                best = (n_eq, sl)
        got = got[best[1]]
        note = f"peer shape {list(np.squeeze(got).shape)}+1 row/col; compared aligned"
    a, b = ref.astype(np.int64), got.astype(np.int64)
    diff = a != b
    n = int(diff.sum())
    out = {"equal": n == 0, "pixels": int(a.size), "differ": n,
           "differ_pct": round(100.0 * n / max(a.size, 1), 4)}
    if note:
        out["note_shape"] = note
    if n:
        both = diff & (a != 0) & (b != 0)
        out["neighbour"] = int((both & (np.abs(a - b) <= 8)).sum())
        out["other_value"] = int((both & (np.abs(a - b) > 8)).sum())
        out["only_ours_valid"] = int((diff & (a != 0) & (b == 0)).sum())
        out["only_peer_valid"] = int((diff & (a == 0) & (b != 0)).sum())
    return out


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return {"status": runs[0].get("status") if runs else "missing",
                "error": runs[0].get("error") if runs else None}
    s = {"status": "ok", "n": len(ok)}
    for key in ("wall_s", "cpu_s", "process_wall_s", "process_cpu_s"):
        vals = [r[key] for r in ok]
        s[key] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
    s["peak_rss_mb"] = max(r["peak_rss_mb"] for r in ok)
    for key in ("requests", "bytes"):
        s[key] = int(statistics.median(r.get(key, 0) for r in ok))
    if "engine" in ok[0].get("extra", {}):
        s["engine"] = ok[0]["extra"]["engine"]
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=("ci", "bench"), default="bench")
    ap.add_argument("--latency-ms", default="0,20")
    ap.add_argument("--only", default=None, help="workloads, e.g. W2,W4 (default all)")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--port", type=int, default=18470,
                    help="server port (fixed so cached catalogues stay valid)")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--keep-arrays", action="store_true",
                    help="keep the first repetition's result.npy per tool (about 1.4 GB "
                         "for a whole bench run); by default they go once compared")
    args = ap.parse_args(argv)

    latencies = [float(v) for v in args.latency_ms.split(",") if v.strip()]
    tools = [t for t in args.tools.split(",") if t]
    # The work tree as it is now, built into .venv-ours (made if missing).
    subprocess.run(["sh", str(BENCH / "setup"), "ours"], check=True)
    for t in tools:
        if t not in TOOLS:
            sys.exit(f"bench/run: unknown tool {t!r} (known: {', '.join(TOOLS)})")
        if not Path(TOOLS[t][0]).exists():
            sys.exit(f"bench/run: {TOOLS[t][0]} missing: run `make bench-setup` first")
    if "ours" not in tools:
        tools.insert(0, "ours")  # the reference of the pixel checks

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    results_dir = BENCH / "results"
    work = results_dir / stamp
    work.mkdir(parents=True, exist_ok=True)
    world = prepare_world(args.size)

    with serve.LoopbackServer(world, port=args.port) as server:
        wanted = workloads.names(args.only)
        spec = workloads.build_spec(world, args.size, server.url, BENCH / "_data", wanted)
        spec_path = work / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=1))
        log(f"bench/run: {args.size} world, {len(wanted)} workloads x "
            f"{len(tools)} tools x {args.reps} reps at latency {latencies} ms; "
            f"server {server.url}; raw output in {work.relative_to(ROOT)}")
        # The floor's inputs, measured before the workloads and again after
        # (bench/floor.py: the better of the two counts).
        floor_inputs = []
        if not args.no_floor:
            import floor as floor_mod
            server.set_latency(0)
            floor_inputs.append(floor_mod.measure(spec_path, wanted, work / "floor-before.json"))
        runs: dict = {}
        for lat in latencies:
            server.set_latency(lat)
            for wl in wanted:
                for rep in range(args.reps):
                    for tool in tools:
                        if not workloads.supports(tool, wl):
                            continue
                        server.clear_log()
                        out = work / "raw" / f"{lat:g}ms" / wl / tool / str(rep)
                        rec = run_one(tool, spec_path, wl, out)
                        if rec["status"] == "ok":
                            http_counts(server, rec, out)
                        rec["out"] = str(out.relative_to(ROOT))
                        runs.setdefault(f"{lat:g}", {}).setdefault(wl, {}) \
                            .setdefault(tool, []).append(rec)
                        log(f"  {lat:g} ms {wl:8s} {tool:9s} rep {rep}: " + (
                            f"wall {rec['wall_s']:.3f} s cpu {rec['cpu_s']:.3f} s "
                            f"{rec['requests']} req {rec['bytes'] / 1e6:.2f} MB"
                            if rec["status"] == "ok" else
                            f"{rec['status']} {rec.get('error', '')}"))
        floor = {}
        if not args.no_floor:
            server.set_latency(0)
            floor_inputs.append(floor_mod.measure(spec_path, wanted, work / "floor-after.json"))
            floor = floor_mod.combine(floor_inputs, latencies)

    table = {}
    for lat, per_wl in runs.items():
        for wl, per_tool in per_wl.items():
            ref = per_tool.get("ours", [{}])[0]
            ref_arr = _load(ref)
            for tool, recs in per_tool.items():
                s = summarise(recs)
                arr = _load(recs[0])
                if tool != "ours" and ref_arr is not None and arr is not None:
                    s["pixels"] = compare(ref_arr, arr)
                table.setdefault(lat, {}).setdefault(wl, {})[tool] = s
            # Only the first repetition's pixels are compared; the arrays are
            # large, so none outlives the comparison unless asked for.
            for tool, recs in per_tool.items():
                for i, r in enumerate(recs):
                    if r.get("out") and (i > 0 or not args.keep_arrays):
                        (ROOT / r["out"] / "result.npy").unlink(missing_ok=True)

    result = {
        "date": stamp, "command": "bench/run " + " ".join(argv if argv is not None
                                                          else sys.argv[1:]),
        "machine": workloads.machine(), "size": args.size, "reps": args.reps,
        "latencies_ms": latencies, "tools": tools, "versions": workloads.versions(),
        "spec": spec, "summary": table, "floor": floor, "runs": runs,
    }
    json_path = results_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(result, indent=1, default=str))
    import report
    md = report.markdown(result)
    (results_dir / f"{stamp}.md").write_text(md)
    if args.only is None:
        report.update_results_md(BENCH / "RESULTS.md", md,
                                 f"{args.size} {','.join(f'{v:g}' for v in latencies)} ms")
    png = report.chart(result, results_dir / f"{stamp}.png")
    log(f"bench/run: wrote {json_path.relative_to(ROOT)}, "
        f"{(results_dir / f'{stamp}.md').relative_to(ROOT)}"
        + (f", {png.relative_to(ROOT)}" if png else "")
        + (" and bench/RESULTS.md" if args.only is None else
           "; bench/RESULTS.md is left alone (--only: not a whole run)"))
    return 0


def _load(rec: dict):
    if rec.get("status") != "ok":
        return None
    p = ROOT / rec["out"] / "result.npy"
    return np.load(p) if p.exists() else None


if __name__ == "__main__":
    sys.exit(main())
