"""da.lazycogs.explain() (behaviour reference sections 1.8 and 3) on the ci
world, against independent oracles: the world's own item footprints
(world.json, shapely, pyproj) for which items each tile matches, rasterio
for overview levels and source windows, the engine's read statistics and a
loopback HTTP server's request log for what reads really fetch."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import lazycogs
from lazycogs import ChunkRead, CogRead, ExplainPlan

rasterio = pytest.importorskip("rasterio")
shapely_geometry = pytest.importorskip("shapely.geometry")
from affine import Affine  # noqa: E402
from pyproj import Transformer  # noqa: E402

CRS = "EPSG:5070"
BBOX = (100_000, 2_560_000, 300_000, 2_700_000)  # 1000 x 700 px at 200 m
RES = 200
# Zone 15 around the four-tile corner (TVM, TWM, TVN, TWN), in EPSG:32615.
UTM_BBOX = (380_000.0, 5_080_000.0, 640_000.0, 5_300_000.0)
INNER_32615 = (500_500.0, 5_190_500.0, 509_500.0, 5_199_500.0)
REF_COLUMNS = ["band", "time_index", "date_filter", "time_coord", "chunk_row",
               "chunk_col", "chunk_width", "chunk_height", "n_cog_reads",
               "item_id", "asset_key", "href", "overview_level",
               "overview_resolution", "window_col_off", "window_row_off",
               "window_width", "window_height"]


# ---------------------------------------------------------------------------
# helpers (independent of lazycogs)
# ---------------------------------------------------------------------------


def world(ci_world):
    return json.loads((Path(ci_world) / "world.json").read_text())


def open_da(ci_world, **kw):
    args = dict(crs=CRS, bbox=BBOX, resolution=RES, bands=["red", "green"])
    args.update(kw)
    return lazycogs.open(str(ci_world / "items.parquet"), **args)


def backend(da):
    return lazycogs._explain._find_backend(da)


_TF = {}


def transformer(src, dst):
    if (src, dst) not in _TF:
        _TF[src, dst] = Transformer.from_crs(src, dst, always_xy=True)
    return _TF[src, dst]


# The ci world's source pixel for red, green and nir (world.json), metres.
SOURCE_PIXEL_M = 180.0


def tile_polygon_4326(crs, transform, x0, y0, w, h, nseg=64):
    """The tile's pixel rectangle, as reads match it (select.h,
    lc__match_margin): one pixel wider each side, plus the largest source
    pixel in tile pixels, rounded up; its edges densified, in EPSG:4326."""
    a, _, c, _, e, f = transform
    m = 1 + math.ceil(SOURCE_PIXEL_M / abs(a))
    c0, r0, c1, r1 = x0 - m, y0 - m, x0 + w + m, y0 + h + m
    t = np.linspace(0, 1, nseg, endpoint=False)
    cols = np.concatenate([c0 + (c1 - c0) * t, np.full(nseg, c1),
                           c1 - (c1 - c0) * t, np.full(nseg, c0)])
    rows = np.concatenate([np.full(nseg, r0), r0 + (r1 - r0) * t,
                           np.full(nseg, r1), r1 - (r1 - r0) * t])
    lon, lat = transformer(crs, "EPSG:4326").transform(c + cols * a,
                                                       f + rows * e)
    return shapely_geometry.Polygon(zip(lon, lat))


def expected_ids(wd, date, crs, transform, x0, y0, w, h, order=None):
    """Items of a date whose footprint meets the tile, in catalogue order
    (or sorted by key)."""
    poly = tile_polygon_4326(crs, transform, x0, y0, w, h)
    items = [it for it in wd["items"] if it["date"] == date
             and shapely_geometry.shape(it["geometry"]).intersects(poly)]
    if order is not None:
        items = sorted(items, key=order)
    return [it["id"] for it in items]


def expected_tiles(roi_w, roi_h, cw, ch):
    """(row, col, x_off, y_off, w, h) row-major, edge tiles truncated."""
    out = []
    for row in range(math.ceil(roi_h / ch)):
        for col in range(math.ceil(roi_w / cw)):
            out.append((row, col, col * cw, row * ch,
                        min(cw, roi_w - col * cw), min(ch, roi_h - row * ch)))
    return out


def far_west(ci_world):
    """A view where no item lies (the west end of a wide grid)."""
    da = open_da(ci_world, bbox=(-400_000, 2_540_000, 700_000, 2_740_000),
                 resolution=2000)
    return da.isel(x=slice(0, 30))


def date_of(value) -> str:
    return str(np.datetime64(value, "D"))


def reference_level(path, dst_crs, transform, w, h):
    """The overview the behaviour reference (2.11 step 3) reads: None for
    full resolution, else the rasterio overview_level."""
    with rasterio.open(path) as src:
        native = abs(src.transform.a)
        factors = src.overviews(1)
        src_crs = src.crs.to_string()
    if rasterio.crs.CRS.from_user_input(src_crs) == \
            rasterio.crs.CRS.from_user_input(dst_crs):
        target = abs(transform.a)
    else:
        cx = transform.c + w / 2 * transform.a
        cy = transform.f + h / 2 * transform.e
        tf = transformer(dst_crs, src_crs)
        x0, _ = tf.transform(cx, cy)
        x1, _ = tf.transform(cx + transform.a, cy)
        target = abs(x1 - x0)
    level = None
    if factors and target > native:
        for i, f in enumerate(factors):
            if native * f <= target:
                level = i
            else:
                break
    return level


def corner_window(path, level, dst_crs, transform, w, h):
    """The reference's window (2.11 step 4): the tile's four corners in the
    level's pixels, floor/ceil, clamped; None when empty. Also returns
    whether the COG is in dst_crs."""
    kw = {} if level is None else {"overview_level": level}
    with rasterio.open(path, **kw) as src:
        same = src.crs == rasterio.crs.CRS.from_user_input(dst_crs)
        xs = [transform.c, transform.c + w * transform.a]
        ys = [transform.f, transform.f + h * transform.e]
        px, py = [], []
        for x in xs:
            for y in ys:
                sx, sy = (x, y) if same else transformer(
                    dst_crs, src.crs.to_string()).transform(x, y)
                col, row = ~src.transform @ (sx, sy)
                px.append(col)
                py.append(row)
        c0 = max(0, math.floor(min(px)))
        r0 = max(0, math.floor(min(py)))
        c1 = min(src.width, math.ceil(max(px)))
        r1 = min(src.height, math.ceil(max(py)))
        res = abs(src.transform.a)
    if c1 <= c0 or r1 <= r0:
        return None, same, res
    return (c0, r0, c1 - c0, r1 - r0), same, res


def chunk_key(cr: ChunkRead):
    return (cr.time_index, cr.chunk_row, cr.chunk_col, cr.band)


# ---------------------------------------------------------------------------
# tiles, sizes, affines, ROI
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cw, ch", [(250, 350), (300, 256), (1000, 700),
                                    (128, 700)])
def test_tiles_exact_fit_and_edges(ci_world, cw, ch):
    da = open_da(ci_world).isel(time=slice(0, 2)).chunk(x=cw, y=ch)
    plan = da.lazycogs.explain()
    assert (plan.chunk_width, plan.chunk_height) == (cw, ch)
    assert (plan.dst_width, plan.dst_height) == (1000, 700)
    tiles = expected_tiles(1000, 700, cw, ch)
    assert plan.total_chunk_reads == 2 * 2 * len(tiles)
    # Order: time, then tile (row-major), then band.
    got = [(cr.time_index, cr.chunk_row, cr.chunk_col, cr.chunk_width,
            cr.chunk_height, cr.band) for cr in plan.chunk_reads]
    want = [(t, r, c, w, h, b) for t in (0, 1) for r, c, _, _, w, h in tiles
            for b in ("red", "green")]
    assert got == want
    a = Affine(*backend(da).info["transform"])
    for cr in plan.chunk_reads:
        _, _, x_off, y_off, _, _ = tiles[cr.chunk_row * math.ceil(1000 / cw)
                                         + cr.chunk_col]
        assert isinstance(cr.chunk_affine, Affine)
        assert cr.chunk_affine == a @ Affine.translation(x_off, y_off)
        # The tile's corner is half a pixel off its first pixel centre.
        assert cr.chunk_affine.c == pytest.approx(
            float(da.x[x_off]) - RES / 2)
        assert cr.chunk_affine.f == pytest.approx(
            float(da.y[y_off]) + RES / 2)


def test_unchunked_is_one_tile(ci_world):
    da = open_da(ci_world).isel(time=slice(0, 3))
    plan = da.lazycogs.explain()
    assert (plan.chunk_width, plan.chunk_height) == (1000, 700)
    assert {(cr.chunk_row, cr.chunk_col) for cr in plan.chunk_reads} == {
        (0, 0)}
    assert all((cr.chunk_width, cr.chunk_height) == (1000, 700)
               for cr in plan.chunk_reads)
    a = Affine(*backend(da).info["transform"])
    assert all(cr.chunk_affine == a for cr in plan.chunk_reads)


def test_roi_offsets_after_isel_and_sel(ci_world):
    da = open_da(ci_world)
    sub = da.isel(x=slice(37, 540), y=slice(11, 301), time=slice(4, 6))
    plan = sub.chunk(x=200, y=100).lazycogs.explain()
    a = Affine(*backend(da).info["transform"])
    assert (plan.dst_width, plan.dst_height) == (503, 290)
    first = plan.chunk_reads[0]
    assert first.chunk_affine == a @ Affine.translation(37, 11)
    last = plan.chunk_reads[-1]
    assert (last.chunk_row, last.chunk_col) == (2, 2)
    assert (last.chunk_width, last.chunk_height) == (103, 90)
    assert last.chunk_affine == a @ Affine.translation(37 + 400, 11 + 200)
    # The same region by coordinates.
    by_sel = da.sel(x=slice(float(da.x[37]), float(da.x[539])),
                    y=slice(float(da.y[11]), float(da.y[300])))
    p2 = by_sel.isel(time=slice(4, 6)).chunk(x=200, y=100).lazycogs.explain()
    assert [c.chunk_affine for c in p2.chunk_reads] == \
        [c.chunk_affine for c in plan.chunk_reads]


# ---------------------------------------------------------------------------
# items: the engine's matching, checked against footprints and reads
# ---------------------------------------------------------------------------


def test_items_match_footprints_and_reads(ci_world):
    """Each tile's items are exactly the world items of the step whose
    footprint meets the tile (in catalogue order), and a real read of that
    tile matches as many."""
    wd = world(ci_world)
    da = open_da(ci_world)
    sub = da.isel(x=slice(37, 900), y=slice(11, 650), time=slice(0, 6))
    plan = sub.chunk(x=300, y=256).lazycogs.explain()
    b = backend(da)
    transform = b.info["transform"]
    nonempty = 0
    for cr in plan.chunk_reads:
        a = cr.chunk_affine
        x0 = round((a.c - transform[2]) / RES)
        y0 = round((transform[5] - a.f) / RES)
        date = b.times[cr.time_index]["label"]
        want = expected_ids(wd, date, CRS, transform, x0, y0,
                            cr.chunk_width, cr.chunk_height)
        assert [r.item_id for r in cr.cog_reads] == want, chunk_key(cr)
        assert all(r.asset_key == cr.band and r.href.endswith(
            f"/{r.item_id}/{cr.band}.tif") for r in cr.cog_reads)
        assert cr.date_filter == b.times[cr.time_index]["filter"]
        assert cr.time_coord == np.datetime64(date)
        nonempty += bool(want)
        if cr.band == "red":
            out = np.zeros((1, 1, cr.chunk_height, cr.chunk_width),
                           b.dtype)
            st = b.collection.read([0], [cr.time_index], x0, y0,
                                   cr.chunk_width, cr.chunk_height, out)
            assert st["items_matched"] == len(want)
    assert 0 < nonempty < len(plan.chunk_reads)


def test_empty_chunks_counted(ci_world):
    wd = world(ci_world)
    # Far west: no tile there at all.
    empty = far_west(ci_world)
    plan = empty.lazycogs.explain()
    assert plan.total_cog_reads == 0
    assert plan.empty_chunk_count == plan.total_chunk_reads > 0
    # A mix: count empty chunks from footprints.
    da = open_da(ci_world).chunk(x=250, y=175)
    plan = da.lazycogs.explain()
    b = backend(da)
    want = 0
    for t, coord in enumerate(da.time.values):
        for _, _, x0, y0, w, h in expected_tiles(1000, 700, 250, 175):
            n = len(expected_ids(wd, date_of(coord), CRS,
                                 b.info["transform"], x0, y0, w, h))
            want += 2 * (n == 0)
    assert plan.empty_chunk_count == want
    assert 0 < want < plan.total_chunk_reads


# ---------------------------------------------------------------------------
# repr, summary, dataframe
# ---------------------------------------------------------------------------


def test_repr_and_summary_lines(ci_world):
    wd = world(ci_world)
    da = open_da(ci_world).isel(time=slice(2, 5)).chunk(x=400, y=300)
    plan = da.lazycogs.explain()
    b = backend(da)
    tiles = expected_tiles(1000, 700, 400, 300)
    counts = []
    for coord in da.time.values:
        for _, _, x0, y0, w, h in tiles:
            n = len(expected_ids(wd, date_of(coord), CRS,
                                 b.info["transform"], x0, y0, w, h))
            counts += [n, n]  # two bands
    nchunks = len(counts)
    assert nchunks == 2 * 3 * 9
    total = sum(counts)
    assert repr(plan).split("\n") == [
        f"ExplainPlan: 2 band(s) x 3 time step(s) x 9 spatial chunk(s) = "
        f"{nchunks} chunk read(s)",
        f"  Grid: 1000x700 px | COG reads: {total} (fetch_headers=False)"]
    n0 = sum(c == 0 for c in counts)
    n1 = sum(c == 1 for c in counts)
    n2 = sum(c >= 2 for c in counts)
    dates = [date_of(t) for t in da.time.values]
    assert plan.summary().split("\n") == [
        "=== ExplainPlan ===",
        f"Parquet:    {ci_world / 'items.parquet'}",
        "CRS:        EPSG:5070  |  Resolution: 200.0 units/px  |  Grid: "
        "1000 x 700 px",
        "Bands (2):  red, green",
        f"Time steps: 3 ({dates[0]} - {dates[2]})",
        "Chunks:     400 x 300 px -> 3x3 spatial tiles",
        "",
        f"Total chunk reads:     {nchunks} (2 band(s) x 3 time step(s) x 9 "
        "spatial tile(s))",
        f"Total COG reads:       {total}",
        f"Chunks with 0 COGs:    {n0:>4} ({100 * n0 / nchunks:.1f}%)",
        f"Chunks with 1 COG:     {n1:>4} ({100 * n1 / nchunks:.1f}%)",
        f"Chunks with 2+ COGs:   {n2:>4} ({100 * n2 / nchunks:.1f}%)",
        f"Max COGs per chunk:    {max(counts)}",
        "(Pass fetch_headers=True to see overview levels and pixel windows.)",
    ]
    assert plan.total_cog_reads == total
    assert plan.total_chunk_reads == nchunks


def test_summary_single_date_and_crs_spelling(ci_world):
    da = open_da(ci_world, crs="epsg:5070").isel(time=[3])
    plan = da.lazycogs.explain()
    lines = plan.summary().split("\n")
    assert lines[2].startswith("CRS:        epsg:5070  |")
    assert lines[4] == f"Time steps: 1 ({date_of(da.time.values[0])})"
    assert plan.crs == "epsg:5070" and plan.resolution == 200.0
    assert repr(plan).startswith("ExplainPlan: 2 band(s) x 1 time step(s) x "
                                 "1 spatial chunk(s) = 2 chunk read(s)\n")


def test_dataframe(ci_world):
    pd = pytest.importorskip("pandas")
    da = open_da(ci_world).isel(time=slice(0, 4)).chunk(x=500, y=350)
    plan = da.lazycogs.explain()
    df = plan.to_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == REF_COLUMNS + ["est_requests", "est_bytes",
                                              "skipped_by_early_exit"]
    assert len(df) == sum(max(1, c.n_cog_reads) for c in plan.chunk_reads)
    empty = df[df.n_cog_reads == 0]
    assert len(empty) == plan.empty_chunk_count > 0
    assert empty[["item_id", "asset_key", "href", "overview_level",
                  "window_width"]].isna().all().all()
    full = df[df.n_cog_reads > 0]
    assert full.item_id.notna().all()
    assert (full.asset_key == full.band).all()
    # No headers: overview and window columns stay empty.
    assert full[["overview_level", "window_col_off", "est_requests"]] \
        .isna().all().all()
    # Rows follow the chunk order, one per COG read.
    want = [(c.band, c.time_index, c.chunk_row, c.chunk_col, r.item_id)
            for c in plan.chunk_reads for r in c.cog_reads]
    got = list(full[["band", "time_index", "chunk_row", "chunk_col",
                     "item_id"]].itertuples(index=False, name=None))
    assert got == want


# ---------------------------------------------------------------------------
# bands and time steps of the current view
# ---------------------------------------------------------------------------


def test_band_selection(ci_world):
    da = open_da(ci_world, bands=["red", "green", "nir"]).isel(
        time=slice(0, 2))
    assert da.lazycogs.explain().bands == ["red", "green", "nir"]
    plan = da.sel(band=["green"]).lazycogs.explain()
    assert plan.bands == ["green"]
    assert {c.band for c in plan.chunk_reads} == {"green"}
    assert plan.total_chunk_reads == 2
    # Backend order, whatever the view's order.
    assert da.sel(band=["nir", "red"]).lazycogs.explain().bands == [
        "red", "nir"]
    assert da.isel(band=1).lazycogs.explain().bands == ["green"]
    assert da.isel(band=slice(1, 3)).lazycogs.explain().bands == [
        "green", "nir"]
    with pytest.raises(ValueError, match="No matching bands"):
        da.assign_coords(band=["a", "b", "c"]).lazycogs.explain()


def test_time_slice_and_order(ci_world):
    da = open_da(ci_world)
    b = backend(da)
    plan = da.isel(time=slice(2, 5)).lazycogs.explain()
    assert sorted({c.time_index for c in plan.chunk_reads}) == [2, 3, 4]
    assert plan.time_coords == list(da.time.values[2:5])
    assert [c.date_filter for c in plan.chunk_reads if c.band == "red"] == \
        [b.times[i]["filter"] for i in (2, 3, 4)]
    # sortby(time) descending: the plan follows the view's order.
    flipped = da.sortby("time", ascending=False)
    p2 = flipped.lazycogs.explain()
    n = len(da.time)
    assert [c.time_index for c in p2.chunk_reads if c.band == "red"] == \
        list(range(n - 1, -1, -1))
    assert p2.time_coords == list(da.time.values[::-1])


def test_chunk_then_sel_time_matched_by_value(ci_world):
    da = open_da(ci_world)
    coord = da.time.values[6]
    one = da.chunk(time=1, x=500, y=350).sel(time=coord)
    plan = one.lazycogs.explain()
    assert {c.time_index for c in plan.chunk_reads} == {6}
    assert plan.time_coords == [coord]
    assert plan.total_chunk_reads == 2 * 4
    some = da.chunk(time=1).sel(time=da.time.values[[7, 1]])
    assert [c.time_index for c in some.lazycogs.explain().chunk_reads
            if c.band == "red"] == [7, 1]


def test_errors(ci_world):
    da = open_da(ci_world)
    msg = "not backed by lazycogs' lazy array"
    with pytest.raises(ValueError, match=msg):
        xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).lazycogs.explain()
    loaded = da.isel(time=0, x=slice(0, 4), y=slice(0, 4)).load()
    with pytest.raises(ValueError, match=msg):
        loaded.lazycogs.explain()
    with pytest.raises(ValueError, match="must have 'y' and 'x' dimensions"):
        da.isel(x=3).lazycogs.explain()
    shifted = da.assign_coords(time=da.time + np.timedelta64(1, "h"))
    with pytest.raises(ValueError, match="matches no time step"):
        shifted.lazycogs.explain()
    with pytest.raises(ValueError, match="no 'time' coordinate"):
        da.drop_vars("time").lazycogs.explain()


def test_exports():
    for name in ("ExplainPlan", "ChunkRead", "CogRead"):
        assert name in lazycogs.__all__
        assert getattr(lazycogs, name) is getattr(lazycogs._explain, name)
    assert "StacCogAccessor" not in lazycogs.__all__
    assert xr.DataArray.lazycogs is lazycogs._explain.StacCogAccessor
    assert ChunkRead("b", 0, "d", np.datetime64("2025-01-01"), 0, 0,
                     (1, 0, 0, 0, -1, 0), 2, 2,
                     [CogRead("i", "b", "h")]).n_cog_reads == 1


# ---------------------------------------------------------------------------
# fetch_headers: levels and windows against rasterio
# ---------------------------------------------------------------------------


def zone15_ids(wd):
    return [it["id"] for it in wd["items"] if it["epsg"] == 32615]


def check_headers(ci_world, plan, b, dst_crs):
    """Every read's level and window against rasterio; returns the reads of
    COGs in dst_crs with their expected windows (for the summary line)."""
    same = []
    for cr in plan.chunk_reads:
        t = cr.chunk_affine
        for r in cr.cog_reads:
            path = Path(ci_world) / "cogs" / r.item_id / f"{r.asset_key}.tif"
            level = reference_level(path, dst_crs, t, cr.chunk_width,
                                    cr.chunk_height)
            assert r.overview_level == level, (r.item_id, chunk_key(cr))
            win, is_same, res = corner_window(path, level, dst_crs, t,
                                              cr.chunk_width, cr.chunk_height)
            assert r.overview_resolution == res
            got = None if r.window_width is None else (
                r.window_col_off, r.window_row_off, r.window_width,
                r.window_height)
            if is_same:
                assert got == win, (r.item_id, chunk_key(cr))
                same.append((r, win))
            elif win is not None:
                # Densified edges plus one pixel of margin: the corner
                # window, at most two pixels wider each side.
                assert got is not None
                c0, r0 = got[0], got[1]
                c1, r1 = c0 + got[2], r0 + got[3]
                assert c0 <= win[0] <= c0 + 2 and r0 <= win[1] <= r0 + 2
                assert c1 - 2 <= win[0] + win[2] <= c1
                assert r1 - 2 <= win[1] + win[3] <= r1
    return same


@pytest.mark.parametrize("res", [100.0, 500.0])
def test_headers_levels_and_windows_same_crs(ci_world, res):
    """In the COGs' own CRS, levels and windows are exactly the reference's
    (rasterio); the summary's overview and window lines follow."""
    wd = world(ci_world)
    da = lazycogs.open(str(ci_world / "items.parquet"), crs="EPSG:32615",
                       bbox=UTM_BBOX, resolution=res,
                       bands=["red", "swir16"], ids=zone15_ids(wd))
    sub = da.isel(time=slice(3, 7))
    chunk = 256 if res == 500.0 else 900
    plan = sub.chunk(x=chunk, y=chunk).lazycogs.explain(fetch_headers=True)
    assert plan.fetch_headers
    b = backend(da)
    same = check_headers(ci_world, plan, b, "EPSG:32615")
    reads = [r for c in plan.chunk_reads for r in c.cog_reads]
    assert len(same) == len(reads) > 0
    keys = Counter("full" if r.overview_level is None
                   else f"ovr {r.overview_level}" for r, _ in same)
    wins = [w for _, w in same if w is not None]
    if res == 500.0:
        assert set(keys) == {"full", "ovr 0"}  # swir16 native, red 360 m
    else:
        assert set(keys) == {"full"}
    lines = plan.summary().split("\n")
    assert lines[13:] == [
        "Overview levels:       " + "  ".join(
            f"{k}: {v}" for k, v in sorted(keys.items())),
        f"Avg read window:       {np.mean([w[2] for w in wins]):.0f} x "
        f"{np.mean([w[3] for w in wins]):.0f} px",
        "(Use .to_dataframe() for per-item overview and window details.)",
        lines[16], lines[17]]
    assert lines[16].startswith("Est. requests:         ")
    assert lines[17].startswith("Early exit skips:      ")
    # Without headers the same items, no details.
    bare = sub.chunk(x=chunk, y=chunk).lazycogs.explain()
    assert [[r.item_id for r in c.cog_reads] for c in bare.chunk_reads] == \
        [[r.item_id for r in c.cog_reads] for c in plan.chunk_reads]
    assert all(r.overview_level is None and r.window_width is None
               for c in bare.chunk_reads for r in c.cog_reads)
    df = plan.to_dataframe()
    assert df[df.n_cog_reads > 0].overview_resolution.notna().all()


def test_headers_cross_crs(ci_world):
    """Into EPSG:5070: levels as the reference picks them at the tile
    centre, windows within two pixels of its corner windows."""
    da = open_da(ci_world, resolution=400, bands=["red", "scl"])
    plan = da.isel(time=slice(0, 4)).chunk(x=200, y=128).lazycogs.explain(
        fetch_headers=True)
    check_headers(ci_world, plan, backend(da), CRS)
    assert plan.total_cog_reads > 0
    assert "Overview levels:       " in plan.summary()


def test_headers_no_reads_summary(ci_world):
    empty = far_west(ci_world)
    lines = empty.lazycogs.explain(fetch_headers=True).summary().split("\n")
    assert lines[13] == "Overview levels: n/a (no matched COG reads)"
    assert lines[14:] == [
        "Est. requests:         0 (0.0 MiB in 0 COG read(s))",
        "Early exit skips:      0 of 0 COG read(s)"]


# ---------------------------------------------------------------------------
# estimated requests against real reads, early exit
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("no_block_cache")
def test_estimates_equal_warm_local_reads(ci_world):
    """With headers cached, a read of each tile fetches exactly the blocks
    the plan estimates (HIGHEST reads every matched item)."""
    da = open_da(ci_world, resolution=300, mosaic_method=lazycogs.HighestMethod,
                 bands=["red", "swir16"])
    sub = da.isel(time=slice(0, 5)).chunk(x=300, y=256)
    plan = sub.lazycogs.explain(fetch_headers=True)
    b = backend(da)
    transform = b.info["transform"]
    checked = 0
    for cr in plan.chunk_reads:
        x0 = round((cr.chunk_affine.c - transform[2]) / 300)
        y0 = round((transform[5] - cr.chunk_affine.f) / 300)
        bi = b.bands.index(cr.band)
        out = np.zeros((1, 1, cr.chunk_height, cr.chunk_width), b.dtype)
        st = b.collection.read([bi], [cr.time_index], x0, y0, cr.chunk_width,
                               cr.chunk_height, out)
        assert st["cogs_opened"] == 0
        assert all(not r.skipped_by_early_exit for r in cr.cog_reads)
        fetched = [r for r in cr.cog_reads if r.est_requests is not None]
        assert st["requests"] == sum(r.est_requests for r in fetched)
        assert st["bytes"] == sum(r.est_bytes for r in fetched)
        assert st["items_read"] == len(fetched)
        checked += bool(fetched)
    assert checked > 5


@pytest.mark.usefixtures("no_block_cache")
def test_first_early_exit(ci_world):
    """-eo:cloud_cover puts TWN (fully valid) first in 2025-09-01 over the
    inside of the four-tile corner: the plan says FIRST skips the other
    three, as the read does; HIGHEST skips nothing."""
    kw = dict(crs="EPSG:32615", bbox=INNER_32615, resolution=100.0,
              sortby="-eo:cloud_cover", bands=["red", "nir"])
    wd = world(ci_world)
    first = open_da(ci_world, **kw).sel(time="2025-09-01")
    plan = first.lazycogs.explain(fetch_headers=True)
    order = expected_ids(wd, "2025-09-01", "EPSG:32615",
                         backend(first).info["transform"], 0, 0, 90, 90,
                         order=lambda it: -it["cloud_cover"])
    assert len(order) == 4 and order[0].startswith("S2A_T15TWN")
    for cr in plan.chunk_reads:
        assert [r.item_id for r in cr.cog_reads] == order
        assert [r.skipped_by_early_exit for r in cr.cog_reads] == [
            False, True, True, True]
    b = backend(first)
    t = plan.chunk_reads[0].time_index
    out = np.zeros((2, 1, 90, 90), b.dtype)
    st = b.collection.read([0, 1], [t], 0, 0, 90, 90, out)
    assert st["items_skipped"] == 3 and st["items_read"] == 1
    kept = [r for c in plan.chunk_reads for r in c.cog_reads
            if not r.skipped_by_early_exit]
    # A read may fetch an item before the one ahead of it is mosaicked
    # (then drops it, counted as skipped): at least the plan's requests.
    assert st["requests"] >= sum(r.est_requests for r in kept) > 0
    lines = plan.summary().split("\n")
    assert lines[-1] == "Early exit skips:      6 of 8 COG read(s)"
    highest = open_da(ci_world, mosaic_method=lazycogs.HighestMethod,
                      **kw).sel(time="2025-09-01")
    assert not any(r.skipped_by_early_exit
                   for c in highest.lazycogs.explain().chunk_reads
                   for r in c.cog_reads)


def _serve_catalog(ci_world, srv, out: Path) -> Path:
    """items.ndjson with asset hrefs on srv (a fresh server: fresh hrefs,
    so nothing of it is in the header cache)."""
    base = world(ci_world)["href_base"]
    text = (Path(ci_world) / "items.ndjson").read_text()
    out.write_text(text.replace(base, srv.url))
    return out


def _tif_requests(srv):
    return [e for e in srv.log if e["path"].endswith(".tif")]


@pytest.mark.usefixtures("no_block_cache")
def test_estimates_against_http_reads(ci_world, http_server, tmp_path):
    """Over loopback HTTP: the plan's header fetches read no pixel (prefix
    ranges only); a warm read sends exactly the estimated requests; a cold
    read sends those plus one header fetch per COG it opens."""
    kw = dict(crs=CRS, bbox=(150_000, 2_560_000, 400_000, 2_700_000),
              resolution=250, bands=["red", "swir16"],
              mosaic_method=lazycogs.HighestMethod)
    srv = http_server()
    cat = _serve_catalog(ci_world, srv, tmp_path / "a.ndjson")
    da = lazycogs.open(str(cat), **kw).isel(time=slice(1, 4))
    b = backend(da)
    srv.clear_log()
    plan = da.lazycogs.explain(fetch_headers=True)
    log = _tif_requests(srv)
    assert log and all(e["range"].startswith("bytes=0-") for e in log)
    est = sum(r.est_requests for c in plan.chunk_reads for r in c.cog_reads
              if r.est_requests is not None)
    nbytes = sum(r.est_bytes for c in plan.chunk_reads for r in c.cog_reads
                 if r.est_bytes is not None)
    assert est > 0
    times = sorted({c.time_index for c in plan.chunk_reads})
    w, h = plan.dst_width, plan.dst_height
    srv.clear_log()
    out = np.zeros((2, len(times), h, w), b.dtype)
    st = b.collection.read([0, 1], times, 0, 0, w, h, out)
    assert st["cogs_opened"] == 0
    assert len(srv.wait_for_log(est)) == est
    assert st["bytes"] == nbytes
    # The engine's own range count equals the plan's, before coalescing.
    raw = b.collection.plan([0, 1], times, [(0, 0, w, h)],
                            fetch_headers=True)
    assert st["requests"] == sum(r["est_ranges"] for per_t in raw
                                 for it in per_t[0] for r in it[2]
                                 if r is not None and r["window"])
    # Cold: another server, so other hrefs.
    srv2 = http_server()
    cat2 = _serve_catalog(ci_world, srv2, tmp_path / "b.ndjson")
    cold = lazycogs.open(str(cat2), **kw).isel(time=slice(1, 4))
    srv2.clear_log()
    cb = backend(cold)
    st2 = cb.collection.read([0, 1], times, 0, 0, w, h, out)
    log = srv2.wait_for_log(est + st2["cogs_opened"])
    headers = [e for e in log if e["range"].startswith("bytes=0-")]
    blocks = [e for e in log if not e["range"].startswith("bytes=0-")]
    assert len(blocks) == est <= len(log)
    assert len(headers) >= st2["cogs_opened"] > 0


def test_header_errors_follow_the_errors_policy(ci_world, tmp_path):
    """A COG whose header cannot be opened fails explain(fetch_headers=True)
    naming it (errors="raise"), or is listed without details ("ignore"), as
    a read would skip it; without headers nothing is opened."""
    victim = "S2A_T15TWM_20250901T165547_L2A"
    text = (Path(ci_world) / "items.ndjson").read_text()
    assert f"{victim}/red.tif" in text
    cat = tmp_path / "bad.ndjson"
    cat.write_text(text.replace(f"{victim}/red.tif", f"{victim}/gone.tif"))
    kw = dict(crs="EPSG:32615", bbox=INNER_32615, resolution=100.0,
              bands=["red"])
    da = lazycogs.open(str(cat), **kw).sel(time="2025-09-01")
    plain = da.lazycogs.explain()
    assert victim in [r.item_id for c in plain.chunk_reads
                      for r in c.cog_reads]
    with pytest.raises(lazycogs.LazycogsError, match="gone.tif"):
        da.lazycogs.explain(fetch_headers=True)
    ign = lazycogs.open(str(cat), errors="ignore", **kw).sel(
        time="2025-09-01")
    plan = ign.lazycogs.explain(fetch_headers=True)
    reads = {r.item_id: r for c in plan.chunk_reads for r in c.cog_reads}
    assert reads[victim].overview_resolution is None
    assert reads[victim].window_width is None
    assert all(r.overview_resolution is not None
               for i, r in reads.items() if i != victim)


def test_binding_checks(ci_world):
    coll = backend(open_da(ci_world)).collection
    with pytest.raises(lazycogs.InvalidArgumentError,
                       match="outside the grid"):
        coll.plan([0], [0], [(990, 0, 20, 10)])
    with pytest.raises(lazycogs.InvalidArgumentError, match="band index 5"):
        coll.plan([5], [0], [(0, 0, 1, 1)])
    with pytest.raises(TypeError, match=r"\(x0, y0, width, height\)"):
        coll.plan([0], [0], [(1, 2, 3)])
    assert coll.plan([0], [0, 0], []) == [[], []]
    got = coll.plan([0, 0], [1], [(0, 0, 1000, 700), (0, 0, 10, 10)])
    assert len(got) == 1 and len(got[0]) == 2
    for item_id, k, reads in got[0][0]:
        assert reads[0] == reads[1] and reads[0]["level"] is None
