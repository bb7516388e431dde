"""`lazycogs explain`: the plan names, per time step, tile and band, the
items whose footprint meets the tile (checked with shapely and pyproj on
the NDJSON catalogue), in sortby order; with --fetch-headers, the levels
and source windows agree with GDAL's view of each COG; the text summary
is the one lazycogs' explain() prints; bad command lines fail clearly.

LAZYCOGS_CLI=<build>/lazycogs runs these against another build."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

shapely = pytest.importorskip("shapely")
from shapely.geometry import Polygon, shape  # noqa: E402
from pyproj import Transformer  # noqa: E402

CLI = (os.environ.get("LAZYCOGS_CLI") or shutil.which("lazycogs")
       or str(Path(sys.executable).parent / "lazycogs"))

BBOX = (150000.0, 2540000.0, 560000.0, 2740000.0)  # EPSG:5070
RES = 500.0  # 820 x 400 pixels
CHUNK = 256
BANDS = ("red", "nir")
CLOUD = 50


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True)


def _args(catalog, *extra):
    return ["explain", str(catalog), "--crs", "EPSG:5070",
            "--bbox", ",".join(str(v) for v in BBOX),
            "--resolution", str(RES), "--time-period", "P1M",
            "--filter", f"eo:cloud_cover < {CLOUD}",
            "--sortby", "eo:cloud_cover", "--bands", ",".join(BANDS),
            *extra]


def _plan(catalog, *extra):
    result = _run(*_args(catalog, "--json", *extra))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _items(world):
    """The catalogue's items that the filter keeps, in sortby order
    (stable: catalogue order among equal cloud covers), per month."""
    items = [json.loads(line) for line in
             (world / "items.ndjson").read_text().splitlines()
             if line.strip()]
    kept = [it for it in items
            if it["properties"].get("eo:cloud_cover") is not None
            and it["properties"]["eo:cloud_cover"] < CLOUD]
    kept.sort(key=lambda it: it["properties"]["eo:cloud_cover"])
    months: dict[str, list] = {}
    for it in kept:
        months.setdefault(it["properties"]["datetime"][:7], []).append(it)
    return dict(sorted(months.items()))


_TO_4326 = Transformer.from_crs("EPSG:5070", "EPSG:4326", always_xy=True)


def _tile_polygon(x0, y0, w, h, grow_px=0.0, n=32):
    """The tile's outline in EPSG:4326, densified; grown by grow_px pixels
    on every side (negative: shrunk)."""
    minx = BBOX[0] + (x0 - grow_px) * RES
    maxx = BBOX[0] + (x0 + w + grow_px) * RES
    maxy = BBOX[3] - (y0 - grow_px) * RES
    miny = BBOX[3] - (y0 + h + grow_px) * RES
    pts = []
    for i in range(n):
        pts.append((minx + (maxx - minx) * i / n, maxy))
    for i in range(n):
        pts.append((maxx, maxy - (maxy - miny) * i / n))
    for i in range(n):
        pts.append((maxx - (maxx - minx) * i / n, miny))
    for i in range(n):
        pts.append((minx, miny + (maxy - miny) * i / n))
    xs, ys = _TO_4326.transform([p[0] for p in pts], [p[1] for p in pts])
    return Polygon(zip(xs, ys))


def test_plan_items_are_the_footprints_meeting_each_tile(ci_world):
    plan = _plan(ci_world / "items.parquet", "--chunk", str(CHUNK))
    months = _items(ci_world)
    # Time steps: the months of the kept items, each with its items.
    assert [s["label"] for s in plan["time_steps"]] == list(months)
    # A step holds the items meeting the grid: every footprint meeting it,
    # and none whose bbox misses the grid's EPSG:4326 bbox.
    grid = _tile_polygon(0, 0, 820, 400)
    box = shapely.box(*_tile_polygon(0, 0, 820, 400, grow_px=2).bounds)
    for step, items in zip(plan["time_steps"], months.values()):
        must = sum(shape(it["geometry"]).intersects(grid) for it in items)
        may = sum(shapely.box(*it["bbox"]).intersects(box) for it in items)
        assert must <= step["nitems"] <= may
    nx, ny = math.ceil(820 / CHUNK), math.ceil(400 / CHUNK)
    assert (plan["width"], plan["height"]) == (820, 400)
    assert (plan["tiles_x"], plan["tiles_y"]) == (nx, ny)
    chunks = plan["chunk_reads"]
    assert len(chunks) == plan["total_chunk_reads"] == \
        len(BANDS) * len(months) * nx * ny
    assert plan["total_cog_reads"] == sum(c["n_cog_reads"] for c in chunks)
    assert plan["empty_chunk_count"] == \
        sum(c["n_cog_reads"] == 0 for c in chunks)

    i = 0
    nonempty = 0
    for t, (month, items) in enumerate(months.items()):
        for ty in range(ny):
            for tx in range(nx):
                x0, y0 = tx * CHUNK, ty * CHUNK
                w, h = min(CHUNK, 820 - x0), min(CHUNK, 400 - y0)
                tile = _tile_polygon(x0, y0, w, h)
                # The engine widens a tile by a pixel; two is our slack.
                grown = _tile_polygon(x0, y0, w, h, grow_px=2)
                must = [it["id"] for it in items
                        if shape(it["geometry"]).intersects(tile)]
                may = [it["id"] for it in items
                       if shape(it["geometry"]).intersects(grown)]
                for band in BANDS:  # order: time, tile, band
                    c = chunks[i]
                    i += 1
                    assert (c["band"], c["time_index"]) == (band, t)
                    assert (c["chunk_col"], c["chunk_row"]) == (tx, ty)
                    assert (c["x0"], c["y0"], c["chunk_width"],
                            c["chunk_height"]) == (x0, y0, w, h)
                    got = [r["item_id"] for r in c["cog_reads"]]
                    assert set(must) <= set(got) <= set(may), (month, tx, ty)
                    # in sortby order
                    assert got == [k for k in may if k in got]
                    for r in c["cog_reads"]:
                        it = next(x for x in items if x["id"] == r["item_id"])
                        assert r["href"] == it["assets"][band]["href"]
                        assert r["asset_key"] == band
                    nonempty += bool(got)
    assert nonempty > 10


def test_plan_headers_agree_with_gdal(ci_world):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.warp import transform_bounds

    plan = _plan(ci_world / "items.parquet", "--chunk", str(CHUNK),
                 "--fetch-headers", "--time", "2025-07")
    assert [s["label"] for s in plan["time_steps"]] == ["2025-07"]
    reads = [(c, r) for c in plan["chunk_reads"] for r in c["cog_reads"]]
    assert reads
    for c, r in reads:
        path = r["href"].removeprefix("file://")
        with rasterio.open(path) as src:
            ovr = src.overviews(1)
            level = r["overview_level"]
            if level is None:
                width, height = src.width, src.height
            else:
                width = math.ceil(src.width / ovr[level])
                height = math.ceil(src.height / ovr[level])
            res = src.res[0] * src.width / width
            assert r["overview_resolution"] == pytest.approx(res, rel=1e-6)
            # The coarsest level still finer than the output (500 m), as
            # the behaviour reference chooses.
            finer = [src.res[0] * f for f in [1] + ovr
                     if src.res[0] * f <= RES]
            assert res == pytest.approx(max(finer), rel=1e-6)
            if r["window_width"] is None:
                continue
            # The tile's footprint in the COG's pixels at that level lies
            # inside the window (a pixel of slack for rounding).
            minx = BBOX[0] + c["x0"] * RES
            maxy = BBOX[3] - c["y0"] * RES
            b = transform_bounds("EPSG:5070", src.crs, minx,
                                 maxy - c["chunk_height"] * RES,
                                 minx + c["chunk_width"] * RES, maxy,
                                 densify_pts=21)
            sx = (b[0] - src.bounds.left) / res
            ex = (b[2] - src.bounds.left) / res
            sy = (src.bounds.top - b[3]) / res
            ey = (src.bounds.top - b[1]) / res
            c0, r0 = max(0, math.floor(sx)), max(0, math.floor(sy))
            c1, r1 = min(width, math.ceil(ex)), min(height, math.ceil(ey))
            wc0, wr0 = r["window_col_off"], r["window_row_off"]
            wc1, wr1 = wc0 + r["window_width"], wr0 + r["window_height"]
            assert 0 <= wc0 and 0 <= wr0 and wc1 <= width and wr1 <= height
            assert wc0 <= c0 + 1 and wr0 <= r0 + 1
            assert wc1 >= c1 - 1 and wr1 >= r1 - 1


def test_text_summary_is_the_reference_format(ci_world):
    """The summary lines of lazycogs' explain(), numbers from the JSON."""
    cat = ci_world / "items.parquet"
    plan = _plan(cat, "--chunk", str(CHUNK))
    text = _run(*_args(cat, "--chunk", str(CHUNK)))
    assert text.returncode == 0, text.stderr
    n = plan["total_chunk_reads"]
    counts = Counter(min(c["n_cog_reads"], 2) for c in plan["chunk_reads"])
    steps = plan["time_steps"]
    want = [
        "=== ExplainPlan ===",
        f"Parquet:    {cat}",
        "CRS:        EPSG:5070  |  Resolution: 500.0 units/px  |  "
        "Grid: 820 x 400 px",
        "Bands (2):  red, nir",
        f"Time steps: {len(steps)} ({steps[0]['time_coord'][:10]} - "
        f"{steps[-1]['time_coord'][:10]})",
        "Chunks:     256 x 256 px -> 4x2 spatial tiles",
        "",
        f"Total chunk reads:     {n} (2 band(s) x {len(steps)} time step(s) "
        "x 8 spatial tile(s))",
        f"Total COG reads:       {plan['total_cog_reads']}",
        f"Chunks with 0 COGs:    {counts[0]:>4} ({100 * counts[0] / n:.1f}%)",
        f"Chunks with 1 COG:     {counts[1]:>4} ({100 * counts[1] / n:.1f}%)",
        f"Chunks with 2+ COGs:   {counts[2]:>4} ({100 * counts[2] / n:.1f}%)",
        "Max COGs per chunk:    "
        f"{max(c['n_cog_reads'] for c in plan['chunk_reads'])}",
        "(Pass --fetch-headers to see overview levels and pixel windows.)",
    ]
    assert text.stdout.splitlines() == want


def test_text_summary_equals_python_explain(ci_world):
    """With headers, the CLI prints what da.lazycogs.explain().summary()
    prints for the same array and chunks (but for the hint line)."""
    lazycogs = pytest.importorskip("lazycogs")
    cat = ci_world / "items.parquet"
    da = lazycogs.open(str(cat), crs="EPSG:5070", bbox=BBOX, resolution=RES,
                       time_period="P1M", filter=f"eo:cloud_cover < {CLOUD}",
                       sortby="eo:cloud_cover", bands=list(BANDS),
                       chunks={"time": 1, "y": CHUNK, "x": CHUNK})
    if not hasattr(da, "lazycogs"):
        pytest.skip("no explain() accessor in this build")
    # The CLI starts with an empty block cache; this process has blocks of
    # the world from earlier tests, which explain counts as no request.
    from lazycogs import _ext
    budget = _ext.set_block_cache_budget(0)
    try:
        want = da.lazycogs.explain(fetch_headers=True).summary().splitlines()
    finally:
        _ext.set_block_cache_budget(budget)
    text = _run(*_args(cat, "--chunk", str(CHUNK), "--fetch-headers"))
    assert text.returncode == 0, text.stderr
    got = text.stdout.splitlines()
    hint = [k for k, line in enumerate(want) if line.startswith("(Use ")]
    assert got[hint[0]] == ("(Use --json for per-item overview and window "
                            "details.)")
    del want[hint[0]], got[hint[0]]
    assert got == want


def test_whole_grid_is_one_tile(ci_world):
    """Without --chunk the grid is one tile (the reference's unchunked
    array), and each step's tile names every item of the step."""
    plan = _plan(ci_world / "items.parquet")
    assert (plan["chunk_width"], plan["chunk_height"]) == (820, 400)
    for c in plan["chunk_reads"]:
        step = plan["time_steps"][c["time_index"]]
        assert c["n_cog_reads"] <= step["nitems"]
        assert c["n_cog_reads"] >= 1


@pytest.mark.parametrize("args, code, words", [
    (("--chunk", "0"), 2, "--chunk"),
    (("--chunk", "abc"), 2, "--chunk"),
    (("--resolution", "0"), 2, "--resolution"),
    (("--mosaic", "best"), 2, "--mosaic"),
    (("--unknown",), 2, "--unknown"),
    (("--time", "1999-01"), 1, "matches no time step"),
])
def test_explain_bad_arguments(ci_world, args, code, words):
    cmd = _args(ci_world / "items.parquet")
    if args[0] in cmd:
        cmd[cmd.index(args[0]) + 1] = args[1]
    else:
        cmd += list(args)
    result = _run(*cmd)
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert result.stdout == ""


def test_explain_missing_required_and_catalogue(tmp_path):
    result = _run("explain", str(tmp_path / "x.parquet"), "--crs",
                  "EPSG:5070", "--resolution", "10")
    assert result.returncode == 2
    assert "--bbox is required" in result.stderr
    missing = tmp_path / "nope.parquet"
    result = _run(*_args(missing))
    assert result.returncode == 1
    assert str(missing) in result.stderr
    help_ = _run("explain", "--help")
    assert help_.returncode == 0 and "--fetch-headers" in help_.stdout
