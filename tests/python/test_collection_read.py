"""lc_collection_read (phase 1) end to end, against independent oracles.

Every expected array here is built without lazycogs: rasterio (GDAL) reads
each COG of the ci world at the overview the behaviour reference's rule
picks and warps it to the read's grid (nearest), and numpy composes the
mosaics. Same-CRS reads must match bit for bit; cross-CRS reads (UTM ->
EPSG:5070) may differ where both warpers' approximate transformers land
within a hair of a source pixel edge: those pixels are counted, bounded,
and must hold the value of a neighbouring source pixel.
"""
# SPDX-License-Identifier: MIT
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from pyproj import Transformer  # noqa: E402
from rasterio.transform import Affine  # noqa: E402
from rasterio.io import MemoryFile  # noqa: E402
from rasterio.vrt import WarpedVRT  # noqa: E402
from rasterio.warp import Resampling, reproject  # noqa: E402

from lazycogs import _errors, _ext  # noqa: E402

BANDS = ["red", "green", "blue", "nir", "swir16", "scl", "visual"]
# Where four zone-15 tiles overlap (TVM, TWM, TVN, TWN): x 499960..509760,
# y 5190200..5200000 in EPSG:32615.
CORNER_32615 = (495000.0, 5185000.0, 515000.0, 5205000.0)
# Inside that corner, where all four hold data.
INNER_32615 = (500500.0, 5190500.0, 509500.0, 5199500.0)
# Most of the ci world in EPSG:5070.
WORLD_5070 = (150000.0, 2540000.0, 560000.0, 2740000.0)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def world_items(world):
    return json.loads((Path(world) / "world.json").read_text())["items"]


def cog(world, item_id, band):
    return Path(world) / "cogs" / item_id / f"{band}.tif"


def collection(href, **opts):
    return _ext.Collection(str(href), opts)


def grid(coll):
    info = coll.info()
    return Affine(*info["transform"]), info["width"], info["height"]


def read(coll, bands, times, x0, y0, w, h, **kw):
    """(out, stats) of a read; bands by name, times by index."""
    names = coll.bands()
    idx = [names.index(b) for b in bands]
    out = np.full((len(bands), len(times), h, w), 77,
                  dtype=coll.info()["dtype"])
    stats = coll.read(idx, list(times), x0, y0, w, h, out, **kw)
    return out, stats


def step_index(coll, date):
    return [t["label"] for t in coll.times()].index(date)


_TF = {}


def transformer(src, dst):
    key = (str(src), str(dst))
    if key not in _TF:
        _TF[key] = Transformer.from_crs(src, dst, always_xy=True)
    return _TF[key]


def reference_level(path, dst_crs, transform, w, h):
    """The overview the behaviour reference (§2.11 step 3) reads: None for
    full resolution, else the rasterio overview_level."""
    with rasterio.open(path) as src:
        native = abs(src.transform.a)
        factors = src.overviews(1)
        src_crs = src.crs
    if src_crs.to_epsg() == rasterio.crs.CRS.from_user_input(dst_crs).to_epsg():
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


def open_level(path, level):
    kw = {} if level is None else {"overview_level": level}
    return rasterio.open(path, **kw)


def gdal_warp(arr, src_transform, src_crs, dst_crs, transform, w, h):
    """GDAL's nearest-neighbour warp with an exact transformer (a WarpedVRT
    with tolerance 1e-9: reproject() always approximates to 0.125 pixel,
    linearly per row, which moves far more picks than our transformer)."""
    with MemoryFile() as mf:
        with mf.open(driver="GTiff", width=arr.shape[1], height=arr.shape[0],
                     count=1, dtype=arr.dtype, crs=src_crs,
                     transform=src_transform, nodata=0) as ds:
            ds.write(arr, 1)
        with mf.open() as ds, WarpedVRT(
                ds, crs=dst_crs, transform=transform, width=w, height=h,
                resampling=Resampling.nearest, tolerance=1e-9,
                nodata=0) as vrt:
            return vrt.read(1)


def warp(path, dst_crs, transform, w, h, level="auto", source=None):
    """GDAL's warp of band 1 of a COG, at the overview the reference picks,
    onto a grid (0 = nodata). source replaces the pixels (same shape), e.g.
    to warp pixel indices."""
    if level == "auto":
        level = reference_level(path, dst_crs, transform, w, h)
    with open_level(path, level) as src:
        arr = src.read(1) if source is None else source(src)
        src_transform, src_crs = src.transform, src.crs
    if src_crs.to_epsg() == rasterio.crs.CRS.from_user_input(
            dst_crs).to_epsg():
        # Affine: reproject() is exact, and fast.
        dst = np.zeros((h, w), arr.dtype)
        reproject(arr, dst, src_transform=src_transform, src_crs=src_crs,
                  src_nodata=0, dst_transform=transform, dst_crs=dst_crs,
                  dst_nodata=0, resampling=Resampling.nearest)
        return dst
    return gdal_warp(arr, src_transform, src_crs, dst_crs, transform, w, h)


def stack(world, ids, band, dst_crs, transform, w, h):
    return np.stack([warp(cog(world, i, band), dst_crs, transform, w, h)
                     for i in ids]) if ids else np.zeros((0, h, w), np.uint16)


def compose(st, method):
    """numpy mosaic of a (n, h, w) stack where 0 is nodata."""
    valid = st != 0
    anyv = valid.any(axis=0) if len(st) else np.zeros(st.shape[1:], bool)
    if method == "first":
        if len(st) == 0:
            return np.zeros(st.shape[1:], st.dtype)
        first = np.take_along_axis(st, valid.argmax(0)[None], 0)[0]
        return np.where(anyv, first, 0).astype(st.dtype)
    if method == "count":
        return valid.sum(axis=0).astype(np.uint16)
    m = np.ma.masked_array(st.astype(np.float64), ~valid)
    if method == "highest":
        return np.where(anyv, m.max(axis=0).filled(0), 0).astype(st.dtype)
    if method == "lowest":
        return np.where(anyv, m.min(axis=0).filled(0), 0).astype(st.dtype)
    fn = {"mean": np.ma.mean, "median": np.ma.median,
          "stdev": lambda a, axis: np.ma.std(a, axis=axis, ddof=0)}[method]
    return np.where(anyv, fn(m, axis=0).filled(0), 0)


def step_items(world, date, order=None):
    """Ids of the world's items of one date, in the catalogue's order or
    sorted by key (stable)."""
    items = [it for it in world_items(world) if it["date"] == date]
    if order is not None:
        items = sorted(items, key=order)
    return [it["id"] for it in items]


# ---------------------------------------------------------------------------
# (a) one item against rasterio
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("res", [100.0, 500.0])
def test_single_item_same_crs_is_bit_exact(ci_world, res):
    """One item read in its own CRS equals rasterio's warp of its COG, at
    full resolution (100 m over 180 m pixels) and from the overview (500 m
    picks the 360 m level)."""
    item = "S2A_T15TWM_20250901T165547_L2A"
    bbox = (480000.0, 5070000.0, 630000.0, 5220000.0)
    coll = collection(ci_world / "items.parquet", crs="EPSG:32615",
                      bbox=bbox, resolution=res, ids=[item])
    transform, w, h = grid(coll)
    bands = ["red", "nir", "swir16", "scl"]
    out, stats = read(coll, bands, [0], 0, 0, w, h)
    assert stats["items_matched"] == 1 and stats["items_read"] == 1
    for b, band in enumerate(bands):
        path = cog(ci_world, item, band)
        level = reference_level(path, "EPSG:32615", transform, w, h)
        if band == "red":  # 180 m pixels, one 360 m overview
            assert (level is None) == (res == 100.0)
        expected = warp(path, "EPSG:32615", transform, w, h, level)
        # scl (uint8) is cast into the collection's promoted uint16.
        np.testing.assert_array_equal(out[b, 0], expected, err_msg=band)
        assert (expected != 0).mean() > 0.3  # the comparison means something


def neighbour_ok(world, item, band, transform, w, h, got, level):
    """For pixels where we differ from rasterio: is our value the value of
    a source pixel next to (8-neighbourhood) the one rasterio picked?"""
    path = cog(world, item, band)
    with open_level(path, level) as src:
        arr = src.read(1)
        ncols = arr.shape[1]
    # rasterio's pick, warped as an index raster (index + 1, 0 = none).
    idx = warp(path, "EPSG:5070", transform, w, h, level,
               source=lambda s: (np.arange(s.width * s.height, dtype=np.uint32)
                                 .reshape(s.height, s.width) + 1))
    expected = warp(path, "EPSG:5070", transform, w, h, level)
    diff = np.argwhere(got != expected)
    pad = np.pad(arr, 1)
    for j, i in diff:
        k = int(idx[j, i])
        if k == 0:  # rasterio found no source pixel: take ours near an edge
            r = c = None
        else:
            r, c = divmod(k - 1, ncols)
        if r is None:
            continue
        if got[j, i] not in pad[r:r + 3, c:c + 3]:
            return False
    return True


@pytest.mark.parametrize("res", [100.0, 500.0])
def test_single_item_cross_crs_matches_rasterio(ci_world, res):
    """UTM 15N -> EPSG:5070: all but a tiny fraction of pixels equal
    rasterio's warp, and each differing one holds a neighbour's value."""
    item = "S2A_T15TWM_20250901T165547_L2A"
    bbox = (200000.0, 2560000.0, 360000.0, 2720000.0)
    coll = collection(ci_world / "items.parquet", crs="EPSG:5070", bbox=bbox,
                      resolution=res, ids=[item])
    transform, w, h = grid(coll)
    for band in ["red", "swir16"]:
        out, stats = read(coll, [band], [0], 0, 0, w, h)
        path = cog(ci_world, item, band)
        level = reference_level(path, "EPSG:5070", transform, w, h)
        expected = warp(path, "EPSG:5070", transform, w, h, level)
        got = out[0, 0]
        ndiff = int((got != expected).sum())
        nvalid = int((expected != 0).sum())
        assert nvalid > 0.2 * w * h
        assert ndiff <= max(3, nvalid * 1e-3), (band, ndiff, nvalid)
        assert neighbour_ok(ci_world, item, band, transform, w, h, got, level)


@pytest.mark.parametrize("nthreads", [1, 4])
def test_bands_laid_out_alike_equal_reads_alone(ci_world, nthreads):
    """A cross-CRS nearest read computes an item's source offsets once for
    the bands whose COGs are laid out alike (visual, red, green: 180 m,
    uint8 and uint16) and apart for the others (swir16, scl: 360 m): every
    band equals the same band read alone, bit for bit, whether the bands'
    tasks run one after another or at once."""
    bands = ["visual", "swir16", "red", "scl", "green"]
    coll = collection(ci_world / "items.parquet", crs="EPSG:5070",
                      bbox=WORLD_5070, resolution=200.0, nthreads=nthreads,
                      dtype="uint16")
    transform, w, h = grid(coll)
    times = [0, 3, 7]
    out, stats = read(coll, bands, times, 0, 0, w, h)
    assert stats["items_read"] >= 3 and stats["pixels_warped"] > 0
    for b, band in enumerate(bands):
        alone, _ = read(coll, [band], times, 0, 0, w, h)
        assert (alone[0] != 0).sum() > 0.1 * alone[0].size, band
        np.testing.assert_array_equal(out[b], alone[0], err_msg=band)


# ---------------------------------------------------------------------------
# (b) first-valid mosaics of many items against numpy
# ---------------------------------------------------------------------------


def test_first_mosaic_matches_composition(ci_world):
    """FIRST in sortby order (-eo:cloud_cover), per band and per step, over
    most of the world in EPSG:5070 at 1 km, equals rasterio warps of each
    item composed with numpy."""
    coll = collection(ci_world / "items.parquet", crs="EPSG:5070",
                      bbox=WORLD_5070, resolution=1000.0,
                      sortby="-eo:cloud_cover")
    transform, w, h = grid(coll)
    labels = [t["label"] for t in coll.times()]
    times = [0, 3, 7, len(labels) - 1]
    bands = ["red", "nir", "swir16"]
    out, stats = read(coll, bands, times, 0, 0, w, h)
    assert stats["items_read"] >= 10
    ndiff = nvalid = 0
    for ti, t in enumerate(times):
        ids = step_items(ci_world, labels[t],
                         order=lambda it: -it["cloud_cover"])
        assert len(ids) == coll.times()[t]["nitems"]
        for b, band in enumerate(bands):
            expected = compose(
                stack(ci_world, ids, band, "EPSG:5070", transform, w, h),
                "first")
            ndiff += int((out[b, ti] != expected).sum())
            nvalid += int((expected != 0).sum())
    assert nvalid > 0
    assert ndiff <= max(5, nvalid * 2e-3), (ndiff, nvalid)


def test_default_order_is_catalogue_order(ci_world):
    """Without sortby, items of a step are fed in catalogue order."""
    coll = collection(ci_world / "items.ndjson", crs="EPSG:32615",
                      bbox=CORNER_32615, resolution=100.0)
    transform, w, h = grid(coll)
    t = step_index(coll, "2025-09-01")
    out, _ = read(coll, ["red"], [t], 0, 0, w, h)
    ids = step_items(ci_world, "2025-09-01")
    expected = compose(stack(ci_world, ids, "red", "EPSG:32615", transform,
                             w, h), "first")
    np.testing.assert_array_equal(out[0, 0], expected)


# ---------------------------------------------------------------------------
# (c) point, subset and full reads agree
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("crs,bbox,res,exact", [
    ("EPSG:32615", CORNER_32615, 50.0, True),
    ("EPSG:5070", WORLD_5070, 400.0, False),
])
def test_point_subset_full_agree(ci_world, crs, bbox, res, exact):
    kw = {"ids": step_items(ci_world, "2025-09-01")} if exact else {}
    coll = collection(ci_world / "items.parquet", crs=crs, bbox=bbox,
                      resolution=res, sortby="eo:cloud_cover", **kw)
    _, w, h = grid(coll)
    times = list(range(len(coll.times())))[:4]
    bands = ["red", "swir16"]
    full, _ = read(coll, bands, times, 0, 0, w, h)
    rng = np.random.default_rng(7)
    mismatches = total = 0
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        sw, sh = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        sub, _ = read(coll, bands, times, x0, y0, sw, sh)
        ref = full[:, :, y0:y0 + sh, x0:x0 + sw]
        mismatches += int((sub != ref).sum())
        total += sub.size
    for _ in range(40):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        pt, _ = read(coll, bands, times, x, y, 1, 1)
        mismatches += int((pt[:, :, 0, 0] != full[:, :, y, x]).sum())
        total += pt.size
    assert (full != 0).mean() > 0.1
    if exact:
        assert mismatches == 0
    else:
        assert mismatches <= max(2, total * 1e-3), (mismatches, total)


def test_repeated_and_reordered_indices(ci_world):
    coll = collection(ci_world / "items.parquet", crs="EPSG:32615",
                      bbox=CORNER_32615, resolution=100.0)
    _, w, h = grid(coll)
    a, _ = read(coll, ["red", "nir"], [0, 2], 0, 0, w, h)
    b, _ = read(coll, ["nir", "red", "nir"], [2, 0, 2], 0, 0, w, h)
    np.testing.assert_array_equal(b[0, 0], a[1, 1])
    np.testing.assert_array_equal(b[1, 1], a[0, 0])
    np.testing.assert_array_equal(b[2, 2], a[1, 1])
    np.testing.assert_array_equal(b[0, 1], a[1, 0])


# ---------------------------------------------------------------------------
# (d) the other mosaic methods against numpy over the warped stack
# ---------------------------------------------------------------------------

METHODS = {"highest": 1, "lowest": 2, "mean": 3, "median": 4, "stdev": 5,
           "count": 6}


@pytest.mark.parametrize("method", list(METHODS))
def test_mosaic_methods_against_numpy(ci_world, method):
    """Over the corner where four zone-15 tiles overlap (every warp exact),
    each method equals numpy's over the stack of every item of the step.
    Unlike the reference, no method stops early once the window is
    covered: the count reaches 4."""
    ids = step_items(ci_world, "2025-09-01")
    zone15 = [i for i in ids if "_T15" in i]
    coll = collection(ci_world / "items.parquet", crs="EPSG:32615",
                      bbox=CORNER_32615, resolution=100.0, ids=zone15,
                      mosaic_method=METHODS[method])
    transform, w, h = grid(coll)
    bands = ["red", "swir16"]
    out, stats = read(coll, bands, [0], 0, 0, w, h)
    assert stats["items_skipped"] == 0
    for b, band in enumerate(bands):
        st = stack(ci_world, zone15, band, "EPSG:32615", transform, w, h)
        expected = compose(st, method)
        got = out[b, 0]
        if method in ("mean", "median", "stdev"):
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-3)
        else:
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
        if method == "count":
            assert got.max() == 4


# ---------------------------------------------------------------------------
# (e) errors
# ---------------------------------------------------------------------------


def copy_catalogue(world, tmp_path, edit):
    """items.ndjson of the world with edit(item dict) applied to each."""
    lines = []
    for line in (Path(world) / "items.ndjson").read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            edit(item)
            lines.append(json.dumps(item))
    path = tmp_path / "items.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return path


# TVN of 2025-09-01 is neither first in catalogue order nor the only item.
BROKEN = "S2A_T15TVN_20250901T165532_L2A"


def test_missing_asset_raise_and_ignore(ci_world, tmp_path):
    def edit(item):
        if item["id"] == BROKEN:
            item["assets"]["red"]["href"] = str(tmp_path / "missing.tif")

    href = copy_catalogue(ci_world, tmp_path, edit)
    opts = dict(crs="EPSG:32615", bbox=CORNER_32615, resolution=100.0)
    coll = collection(href, **opts)
    transform, w, h = grid(coll)
    t = step_index(coll, "2025-09-01")
    with pytest.raises(_errors.LazycogsError) as ei:
        read(coll, ["red", "nir"], [t], 0, 0, w, h)
    e = ei.value
    assert str(e).startswith(
        f"Failed to read bands ['red', 'nir'] from item '{BROKEN}': ")
    assert "missing.tif" in str(e)
    assert e.item_id == BROKEN and e.bands == ["red", "nir"]
    assert e.contract_violation is False

    coll = collection(href, errors="ignore", **opts)
    out, stats = read(coll, ["red", "nir"], [t], 0, 0, w, h)
    assert stats["items_failed"] == 1
    # The message the raise would have carried, for the caller to log.
    assert stats["ignored"] == [str(e)]
    ids = [i for i in step_items(ci_world, "2025-09-01") if i != BROKEN]
    for b, band in enumerate(["red", "nir"]):
        expected = compose(stack(ci_world, ids, band, "EPSG:32615",
                                 transform, w, h), "first")
        # The whole item is skipped, nir included.
        np.testing.assert_array_equal(out[b, 0], expected)


def test_corrupt_asset_fails_with_its_error(ci_world, tmp_path):
    bad = tmp_path / "bad.tif"
    data = bytearray(cog(ci_world, BROKEN, "red").read_bytes())
    bad.write_bytes(bytes(data[:20000]))  # header kept, tiles cut off

    def edit(item):
        if item["id"] == BROKEN:
            item["assets"]["red"]["href"] = str(bad)

    href = copy_catalogue(ci_world, tmp_path, edit)
    coll = collection(href, crs="EPSG:32615", bbox=CORNER_32615,
                      resolution=100.0)
    _, w, h = grid(coll)
    t = step_index(coll, "2025-09-01")
    with pytest.raises(_errors.LazycogsError) as ei:
        read(coll, ["red"], [t], 0, 0, w, h)
    assert f"from item '{BROKEN}': " in str(ei.value)
    assert "bad.tif" in str(ei.value)


def rewrite_cog(src_path, dst_path, nodata=None, dtype=None):
    with rasterio.open(src_path) as src:
        arr = src.read(1)
        profile = src.profile
    profile.update(driver="GTiff", tiled=True, blockxsize=512, blockysize=512)
    if dtype is not None:
        profile["dtype"] = dtype
        arr = arr.astype(dtype)
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(dst_path, "w", **profile) as dst:
        dst.write(arr, 1)


# Where open() takes the contract from: the first item's COG headers when
# the catalogue has no raster:bands (as the reference always does), else
# its raster:bands. The messages name the source.
CONTRACT_SOURCES = {
    "headers": "representative assets",
    "raster:bands": "the first item's raster:bands in the catalogue",
}


def _drop_raster_bands(item):
    for asset in item["assets"].values():
        asset.pop("raster:bands", None)


@pytest.mark.parametrize("source", list(CONTRACT_SOURCES))
@pytest.mark.parametrize("errors", ["raise", "ignore"])
def test_contract_violation_nodata(ci_world, tmp_path, errors, source):
    odd = tmp_path / "odd_nodata.tif"
    rewrite_cog(cog(ci_world, BROKEN, "red"), odd, nodata=65535)

    def edit(item):
        if item["id"] == BROKEN:
            item["assets"]["red"]["href"] = str(odd)
        if source == "headers":
            _drop_raster_bands(item)

    href = copy_catalogue(ci_world, tmp_path, edit)
    opts = dict(crs="EPSG:32615", bbox=CORNER_32615, resolution=100.0)
    coll = collection(href, errors=errors, **opts)
    _, w, h = grid(coll)
    t = step_index(coll, "2025-09-01")
    with pytest.raises(_errors.InvalidArgumentError) as ei:
        read(coll, ["red"], [t], 0, 0, w, h)
    assert str(ei.value) == (
        f"Auto-inferred output nodata 0.0 from {CONTRACT_SOURCES[source]}, but "
        f"encountered conflicting nodata 65535.0 in asset 'red' for item "
        f"'{BROKEN}'. Pass nodata= explicitly if mixed source nodata values "
        "are expected.")
    assert ei.value.contract_violation is True
    assert ei.value.item_id == BROKEN
    # With an explicit nodata the same read works (65535 matches nothing).
    coll = collection(href, nodata=0, **opts)
    read(coll, ["red"], [t], 0, 0, w, h)


@pytest.mark.parametrize("source", list(CONTRACT_SOURCES))
def test_contract_violation_dtype(ci_world, tmp_path, source):
    odd = tmp_path / "float.tif"
    rewrite_cog(cog(ci_world, BROKEN, "nir"), odd, dtype="float32")

    def edit(item):
        if item["id"] == BROKEN:
            item["assets"]["nir"]["href"] = str(odd)
        if source == "headers":
            _drop_raster_bands(item)

    href = copy_catalogue(ci_world, tmp_path, edit)
    opts = dict(crs="EPSG:32615", bbox=CORNER_32615, resolution=100.0)
    coll = collection(href, errors="ignore", **opts)
    transform, w, h = grid(coll)
    t = step_index(coll, "2025-09-01")
    with pytest.raises(_errors.InvalidArgumentError) as ei:
        read(coll, ["nir"], [t], 0, 0, w, h)
    assert str(ei.value) == (
        f"Auto-inferred output dtype uint16 from {CONTRACT_SOURCES[source]}, "
        f"but encountered float32 in asset 'nir' for item '{BROKEN}'. Pass "
        "dtype='float32', dtype='float64', or another explicit dtype if "
        "mixed source dtypes are expected.")
    # Explicit float32: the float source mixes with the uint16 ones.
    coll = collection(href, dtype="float32", **opts)
    out, _ = read(coll, ["nir"], [t], 0, 0, w, h)
    ids = step_items(ci_world, "2025-09-01")
    expected = compose(stack(ci_world, ids, "nir", "EPSG:32615", transform,
                             w, h), "first")
    np.testing.assert_array_equal(out[0, 0], expected.astype(np.float32))


def test_raster_bands_that_contradict_the_cogs(ci_world, tmp_path):
    """A catalogue whose raster:bands say another nodata and dtype than its
    COGs: open() believes them (it fetches no header), and the reads refuse
    every COG that contradicts them, naming the catalogue as the source.
    With dtype= and nodata= explicit, the reads work."""
    def edit(item):
        for key in ("red", "nir"):
            bands = item["assets"][key]["raster:bands"]
            bands[0]["nodata"] = -9999
            bands[0]["data_type"] = "int8"
    href = copy_catalogue(ci_world, tmp_path, edit)
    opts = dict(crs="EPSG:32615", bbox=CORNER_32615, resolution=100.0)
    coll = collection(href, bands=["red"], **opts)
    assert coll.info()["dtype"] == "int8" and coll.info()["nodata"] == -9999
    _, w, h = grid(coll)
    t = step_index(coll, "2025-09-01")
    with pytest.raises(_errors.InvalidArgumentError,
                       match="Auto-inferred output dtype int8 from the first "
                             "item's raster:bands in the catalogue, but "
                             "encountered uint16 in asset 'red'"):
        read(coll, ["red"], [t], 0, 0, w, h)
    coll = collection(href, bands=["red"], dtype="uint16", **opts)
    with pytest.raises(_errors.InvalidArgumentError,
                       match="Auto-inferred output nodata -9999.0 from the "
                             "first item's raster:bands in the catalogue, but "
                             "encountered conflicting nodata 0.0"):
        read(coll, ["red"], [t], 0, 0, w, h)
    coll = collection(href, bands=["red"], dtype="uint16", nodata=0, **opts)
    out, _ = read(coll, ["red"], [t], 0, 0, w, h)
    assert out.dtype == np.uint16 and out.any()


# ---------------------------------------------------------------------------
# (f) early exit
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("no_block_cache")
def test_first_skips_items_once_covered(ci_world):
    """-eo:cloud_cover puts TWN (fully valid) first in 2025-09-01; it
    covers the inside of the four-tile corner, so FIRST never fetches the
    other items there, while HIGHEST reads them all."""
    ids = step_items(ci_world, "2025-09-01")
    kw = dict(crs="EPSG:32615", bbox=INNER_32615, resolution=100.0,
              sortby="-eo:cloud_cover", nthreads=1)
    first = collection(ci_world / "items.parquet", **kw)
    highest = collection(ci_world / "items.parquet", mosaic_method=1, **kw)
    transform, w, h = grid(first)
    t = step_index(first, "2025-09-01")
    order = step_items(ci_world, "2025-09-01",
                       order=lambda it: -it["cloud_cover"])
    covering = warp(cog(ci_world, order[0], "red"), "EPSG:32615", transform,
                    w, h)
    assert (covering != 0).all()  # the premise
    for c in (first, highest):  # headers into the cache
        read(c, ["red"], [t], 0, 0, w, h)
    out_f, st_f = read(first, ["red"], [t], 0, 0, w, h)
    out_h, st_h = read(highest, ["red"], [t], 0, 0, w, h)
    n = st_h["items_matched"]
    assert n >= 3 and st_f["items_matched"] == n
    assert st_f["items_read"] == 1 and st_f["items_skipped"] == n - 1
    assert st_h["items_read"] == n and st_h["items_skipped"] == 0
    assert st_f["cogs_opened"] == 0
    assert 0 < st_f["requests"] < st_h["requests"]
    np.testing.assert_array_equal(out_f[0, 0], covering)
    assert len(ids) > n  # the step has items elsewhere too


# ---------------------------------------------------------------------------
# (g) cancellation, and the request's checks
# ---------------------------------------------------------------------------


def test_cancel_from_another_thread(ci_world):
    coll = collection(ci_world / "items.parquet", crs="EPSG:5070",
                      bbox=WORLD_5070, resolution=60.0, resampling="cubic",
                      nthreads=2)
    times = list(range(len(coll.times())))
    out = np.zeros((3, len(times), 1024, 1024), np.uint16)
    args = ([0, 1, 2], times, 1500, 800, 1024, 1024, out)
    # Already cancelled: returns at once.
    flag = np.ones(1, np.intc)
    with pytest.raises(_errors.CancelledError):
        coll.read(*args, cancel=flag)
    # How long the read takes (headers cached by the second run).
    coll.read(*args)
    t0 = time.monotonic()
    full = coll.read(*args)["seconds"]
    assert time.monotonic() - t0 >= full
    # Cancelled from another thread 20 ms in.
    flag = np.zeros(1, np.intc)
    timer = threading.Timer(0.02, lambda: flag.__setitem__(0, 1))
    t0 = time.monotonic()
    timer.start()
    try:
        coll.read(*args, cancel=flag)
        cancelled = False
    except _errors.CancelledError:
        cancelled = True
    elapsed = time.monotonic() - t0
    timer.join()
    if full < 0.2:
        pytest.skip(f"the read takes {full:.3f} s: too fast to cancel")
    assert cancelled
    assert elapsed < 0.02 + max(0.1, full / 2), (elapsed, full)
    # The collection still reads afterwards, and gives the same pixels.
    again = np.zeros_like(out)
    coll.read([0, 1, 2], times, 1500, 800, 1024, 1024, again)
    ref = np.zeros_like(out)
    coll.read([0, 1, 2], times, 1500, 800, 1024, 1024, ref)
    np.testing.assert_array_equal(again, ref)


def test_request_checks(ci_world):
    coll = collection(ci_world / "items.parquet", crs="EPSG:32615",
                      bbox=CORNER_32615, resolution=100.0)
    _, w, h = grid(coll)
    nt = len(coll.times())
    out = np.zeros((1, 1, h, w), np.uint16)
    with pytest.raises(_errors.InvalidArgumentError, match="band index 7"):
        coll.read([7], [0], 0, 0, w, h, out)
    with pytest.raises(_errors.InvalidArgumentError, match="time index"):
        coll.read([0], [nt], 0, 0, w, h, out)
    with pytest.raises(_errors.InvalidArgumentError, match="outside the grid"):
        coll.read([0], [0], 1, 0, w, h, out)
    with pytest.raises(_errors.BufferTooSmallError):
        coll.read([0, 1], [0], 0, 0, w, h, out)


def test_uncovered_pixels_hold_nodata(ci_world):
    """Pixels no item covers hold the explicit nodata, in the dtype."""
    coll = collection(ci_world / "items.parquet", crs="EPSG:5070",
                      bbox=(-400000.0, 2540000.0, 700000.0, 2740000.0),
                      resolution=2000.0, nodata=-9999, dtype="int32")
    transform, w, h = grid(coll)
    out, _ = read(coll, ["red"], [0], 0, 0, w, h)
    assert out.dtype == np.int32
    assert out[0, 0, :, 0].tolist() == [-9999] * h  # far west: no tile
    assert (out > 0).any()


def test_remote_reads_start_threads_for_their_tasks(ci_world, http_world):
    """The worker pool grows to what the reads running at once reserve
    (their band tasks and prewarm jobs, plus the helpers' threads), not to
    the most a read could use: a point read of one band in a new process
    starts a few threads (it started fifty, a millisecond or more before
    its first request); reads give their places back (ten more point reads,
    elsewhere and at other steps, add a few threads at most, where
    reservations never given back would add two or more a read); and reads
    on two threads at once, which share the pool, both give the local
    read's pixels."""
    import subprocess
    import sys

    # (No readahead: its reads of the steps after the first read's would
    # take threads of their own; tests/python/test_readahead.py.)
    kw = dict(crs="EPSG:5070", bbox=WORLD_5070, resolution=400.0,
              sortby="eo:cloud_cover", nthreads=2, readahead=False)
    code = f"""
import json, os, threading
import numpy as np
from lazycogs import _ext
kw = {kw!r}
local = _ext.Collection({str(ci_world / "items.parquet")!r}, kw)
remote = _ext.Collection({str(http_world.items_parquet)!r}, kw)
info = remote.info()
w, h, nt = info["width"], info["height"], info["ntimes"]
red = remote.bands().index("red")
def threads():
    return len(os.listdir("/proc/self/task"))
def read(coll, t, x, y, size=1):
    out = np.zeros((1, 1, size, size), info["dtype"])
    return out, coll.read([red], [t], x, y, size, size, out)
before = threads()
for t0 in range(nt):  # reads that match nothing start no thread
    _, st = read(remote, t0, w // 2, h // 2)
    if st["items_matched"]:
        break
first = threads() - before
for i in range(10):
    read(remote, i % nt, (w // 3 + 7 * i) % w, (h // 3 + 5 * i) % h)
later = threads() - before
got = {{}}
def one(t, x, y):
    got[t] = read(remote, t, x, y, 16)[0]
jobs = [threading.Thread(target=one, args=(t, w // 4 + t, h // 4))
        for t in range(min(nt, 2))]
for j in jobs: j.start()
for j in jobs: j.join()
same = all((got[t] == read(local, t, w // 4 + t, h // 4, 16)[0]).all()
           for t in got)
print(json.dumps(dict(first=first, later=later, matched=st["items_matched"],
                      same=same, nread=len(got))))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["matched"] >= 1
    # Its tasks (one band), prewarm jobs (a UTM zone or two), two helpers
    # and the HTTP engine's I/O thread.
    assert 2 <= r["first"] <= r["matched"] + 2 + 2 + 1, r
    assert r["later"] <= r["first"] + 4, r
    assert r["same"] and r["nread"] == 2, r


@pytest.mark.usefixtures("no_block_cache")
def test_http_assets_read_like_local_ones(ci_world, http_world):
    """The same read over loopback HTTP (more fetches in flight: remote
    assets widen the read's share of the pool) gives the same pixels, one
    range request per COG and step for a point once headers are cached."""
    kw = dict(crs="EPSG:5070", bbox=WORLD_5070, resolution=400.0,
              sortby="eo:cloud_cover")
    local = collection(ci_world / "items.parquet", **kw)
    remote = collection(http_world.items_parquet, **kw)
    _, w, h = grid(local)
    times = list(range(len(local.times())))
    a, _ = read(local, ["red", "nir"], times, 0, 0, w, h)
    b, st = read(remote, ["red", "nir"], times, 0, 0, w, h)
    np.testing.assert_array_equal(a, b)
    assert st["requests"] > 0 and st["bytes"] > 0
    x, y = w // 2, h // 2
    read(remote, ["red"], times, x, y, 1, 1)
    _, st = read(remote, ["red"], times, x, y, 1, 1)
    assert st["cogs_opened"] == 0
    assert 0 < st["requests"] <= st["items_read"]


def test_tasks_sharing_a_lazily_indexed_cog_with_one_place(http_server,
                                                          tmp_path):
    """Of a remote read's band tasks, nthreads compute at once; a task gives
    its place up while it waits on the network. Here two items share one
    file, whose block index is loaded lazily under the handle's lock, and
    the read has one place: the task loading the index must not wait for
    the place while it holds the lock the other task, holding the place,
    waits for. Both steps are read, and hold the tile's pixels."""
    from conftest import stac_item, write_catalogue, write_sparse_cog

    side = 40960
    path = write_sparse_cog(tmp_path / "sparse.tif", side)
    srv = http_server(tmp_path, latency_ms=100)
    items = [stac_item(i, {"b": path}, datetime=f"2024-06-{d}T10:00:00Z")
             for i, d in (("a", 15), ("b", 16))]
    for item in items:
        item["assets"]["b"]["href"] = srv.url_for("sparse.tif")
    cat = write_catalogue(items, tmp_path / "items.ndjson")
    coll = collection(cat, crs="EPSG:3857", resolution=1.0, nthreads=1,
                      bbox=(side - 256.0, 0.0, float(side), 256.0))
    result = {}
    reader = threading.Thread(
        target=lambda: result.update(read=read(coll, ["b"], [0, 1], 0, 0,
                                               256, 256)),
        daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the read hangs"
    out, stats = result["read"]
    assert stats["items_read"] == 2
    assert (out == 7).all()


def test_c_program(ci_world):
    """tests/c/test_collection_read under the build's sanitizers (CTest
    skips it while the world does not exist yet)."""
    import os
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    build = Path(os.environ.get("LAZYCOGS_BUILD_DIR", repo / "build" / "asan"))
    exe = build / "tests" / "c" / "test_collection_read"
    if not exe.exists():
        pytest.skip(f"{exe} not built")
    proc = subprocess.run([str(exe), str(ci_world)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_explicit_dtype_converts_as_numpy(synthetic_cog, tmp_path, dtype):
    """An explicit dtype other than the sources' converts as numpy's astype
    does: uint16 values past 32767 wrap into int16 (the same bits), widen
    into int32, and are exact in float32."""
    import lazycogs
    from conftest import stac_item, write_catalogue

    cat = write_catalogue([stac_item("a", {"b": synthetic_cog})],
                          tmp_path / "items.parquet")
    kw = dict(crs="EPSG:32632", bbox=(500000.0, 5590000.0, 510000.0,
                                      5600000.0), resolution=10.0)
    ref = lazycogs.open(str(cat), **kw).values
    got = lazycogs.open(str(cat), dtype=dtype, **kw).values
    assert ref.dtype == np.uint16 and got.dtype == np.dtype(dtype)
    assert ref.max() > 32767
    np.testing.assert_array_equal(got, ref.astype(dtype))


def test_first_item_decodes_into_the_output(tmp_path):
    """On the COG's own grid the first item of a step decodes straight into
    the output (the mosaic only counts its pixels): the later items must
    still fill its nodata holes (first), be compared with it (highest), and
    when one of its bands fails (errors="ignore") none of the pixels it
    already wrote may remain - every pixel equal to rasterio's read of the
    sources, composed by hand."""
    import rasterio
    from conftest import stac_item, write_catalogue, write_synthetic_cog

    def holes_a(arr):
        arr[600:700, 1100:1300] = 0
        return arr

    def holes_b(arr):
        arr = (arr // 3 + 5).astype(arr.dtype)
        arr[520:560, 1400:1450] = 0  # where a has pixels
        return arr

    a = write_synthetic_cog(tmp_path / "a.tif", edit=holes_a, overviews=())
    b = write_synthetic_cog(tmp_path / "b.tif", edit=holes_b, overviews=())
    cut = tmp_path / "cut.tif"  # the header kept, the tiles cut off
    cut.write_bytes(b.read_bytes()[:40000])
    items = [stac_item("a", {"b": a, "c": cut}),
             stac_item("b", {"b": b, "c": b})]
    cat = write_catalogue(items, tmp_path / "items.parquet")
    # Columns 1000-1600, rows 500-900 of the COGs: both holes inside.
    x0, top = 500000.0 + 1000 * 10, 5600000.0 - 500 * 10
    opts = dict(crs="EPSG:32632", resolution=10.0,
                bbox=(x0, top - 400 * 10, x0 + 600 * 10, top))
    window = ((500, 900), (1000, 1600))
    with rasterio.open(a) as src:
        va = src.read(1, window=window)
    with rasterio.open(b) as src:
        vb = src.read(1, window=window)
    assert (va == 0).any() and (vb == 0).any() and ((va == 0) & (vb != 0)).any()

    coll = collection(cat, **opts)
    out, stats = read(coll, ["b"], [0], 0, 0, 600, 400)
    assert stats["pixels_warped"] == 0 and stats["items_read"] == 2
    np.testing.assert_array_equal(out[0, 0], np.where(va != 0, va, vb))

    coll = collection(cat, mosaic_method=1, **opts)  # highest
    out, stats = read(coll, ["b"], [0], 0, 0, 600, 400)
    assert stats["pixels_warped"] == 0
    expected = np.where(va == 0, vb, np.where(vb == 0, va, np.maximum(va, vb)))
    np.testing.assert_array_equal(out[0, 0], expected)

    # Item a's band c is cut short: a is left out, though its band b was
    # decoded into the output first; b's hole is then the fill (0).
    coll = collection(cat, errors="ignore", **opts)
    out, stats = read(coll, ["b", "c"], [0], 0, 0, 600, 400)
    assert stats["items_failed"] == 1
    np.testing.assert_array_equal(out[0, 0], vb)
    np.testing.assert_array_equal(out[1, 0], vb)


def test_only_item_decoded_into_the_output_is_taken_as_it_lies(tmp_path):
    """A step whose only item decodes into the output (its own grid) is
    taken as it lies, without looking at its values, when its invalid
    values already equal the fill: its holes then read as the fill, the
    part of the window beyond the COG gets the fill, and with a nodata of
    the collection's own (7) the COG's zeros are values - every pixel as
    rasterio reads the source."""
    import rasterio
    from conftest import stac_item, write_catalogue, write_synthetic_cog

    def holes(arr):
        arr[600:700, 0:300] = 0
        return arr

    a = write_synthetic_cog(tmp_path / "a.tif", edit=holes, overviews=())
    cat = write_catalogue([stac_item("a", {"b": a})], tmp_path / "items.parquet")
    # 100 columns left of the COG, then its columns 0-499, rows 500-899.
    top = 5600000.0 - 500 * 10
    opts = dict(crs="EPSG:32632", resolution=10.0,
                bbox=(500000.0 - 100 * 10, top - 400 * 10, 500000.0 + 500 * 10, top))
    with rasterio.open(a) as src:
        va = src.read(1, window=((500, 900), (0, 500)))
    assert (va == 0).any()
    for nodata, fill in ((None, 0), (7, 7)):
        extra = {} if nodata is None else {"nodata": nodata}
        coll = collection(cat, **opts, **extra)
        out, stats = read(coll, ["b"], [0], 0, 0, 600, 400)
        assert stats["pixels_warped"] == 0 and stats["items_read"] == 1
        want = np.full((400, 600), fill, dtype=va.dtype)
        want[:, 100:] = va
        np.testing.assert_array_equal(out[0, 0], want)


def _masked_cog(path):
    """A 512 x 512 uint8 COG (EPSG:32632, 10 m) without nodata whose
    internal mask hides a diagonal band of pixels."""
    from rasterio.transform import from_origin

    n = 512
    arr = (np.arange(n * n).reshape(n, n) % 251 + 1).astype(np.uint8)
    rows, cols = np.indices((n, n))
    mask = np.where(np.abs(rows - cols) < 40, 0, 255).astype(np.uint8)
    profile = dict(driver="GTiff", width=n, height=n, count=1, dtype="uint8",
                   crs="EPSG:32632", tiled=True, blockxsize=64, blockysize=64,
                   transform=from_origin(500000.0, 5600000.0, 10.0, 10.0))
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(arr, 1)
        dst.write_mask(mask)
    rasterio.shutil.copy(tmp, path, driver="GTiff", tiled=True,
                         blockxsize=64, blockysize=64, compress="deflate")
    tmp.unlink()
    return path, arr, mask != 0


@pytest.mark.parametrize("dtype", [None, "int16"])
def test_native_grid_reads_hand_over_the_source(tmp_path, dtype):
    """A read on the COG's own pixel grid needs no warp: the source window
    becomes the result as it is (no pixels warped, in the stats). It must equal
    rasterio's read of the same pixels: values cast as numpy's astype
    (uint16 past 32767 wraps into int16), nodata 65535 compared before the
    cast, masked pixels left out, and the chunk's pixels past the COG's
    edge filled - while a read off the grid still warps."""
    import rasterio.shutil  # noqa: F401 - used by _masked_cog
    from conftest import stac_item, write_catalogue, write_synthetic_cog

    cog16 = write_synthetic_cog(tmp_path / "u16.tif", nodata=65535,
                                overviews=())
    cog8, arr8, valid8 = _masked_cog(tmp_path / "u8.tif")
    cat = write_catalogue([stac_item("a", {"b16": cog16, "b8": cog8})],
                          tmp_path / "items.parquet")
    # 700 x 300 px from column 1800, row 100: the COG ends at column 2048
    # (u16) and 512 (u8), so most of the chunk lies past their edges.
    x0, top = 500000.0 + 1800 * 10, 5600000.0 - 100 * 10
    opts = dict(crs="EPSG:32632", resolution=10.0,
                bbox=(x0, top - 300 * 10, x0 + 700 * 10, top))
    if dtype:
        opts["dtype"] = dtype
    coll = collection(cat, **opts)
    out, stats = read(coll, ["b16"], [0], 0, 0, 700, 300)
    assert stats["pixels_warped"] == 0 and stats["items_read"] == 1
    with rasterio.open(cog16) as src:
        arr = src.read(1, window=((100, 400), (1800, 2048)))
    assert (arr == 65535).any() and (arr > 32767).any()
    info = coll.info()
    out_dtype = np.dtype(info["dtype"])
    assert info["has_nodata"] and info["nodata"] == 65535
    fill = np.array(65535).clip(np.iinfo(out_dtype).min,
                                np.iinfo(out_dtype).max).astype(out_dtype)
    expected = np.full((300, 700), fill, dtype=out_dtype)
    expected[:, :248] = np.where(arr == 65535, fill, arr.astype(out_dtype))
    np.testing.assert_array_equal(out[0, 0], expected)

    # The masked uint8 COG, on its grid from its corner: mask honoured.
    coll8 = collection(cat, crs="EPSG:32632", resolution=10.0,
                       bbox=(500000.0 + 100, 5600000.0 - 5120,
                             500000.0 + 5120 + 100, 5600000.0), bands=["b8"])
    out8, stats8 = read(coll8, ["b8"], [0], 0, 0, 512, 512)
    assert stats8["pixels_warped"] == 0
    expected8 = np.zeros((512, 512), dtype=np.uint8)
    expected8[:, :502] = np.where(valid8[:, 10:], arr8[:, 10:], 0)
    np.testing.assert_array_equal(out8[0, 0], expected8)

    # Off the grid (half a pixel): warped, the same values where it lands.
    half = collection(cat, crs="EPSG:32632", resolution=10.0,
                      bbox=(x0 + 5, top - 300 * 10 + 5, x0 + 700 * 10 + 5,
                            top + 5), **({"dtype": dtype} if dtype else {}))
    _, stats_half = read(half, ["b16"], [0], 0, 0, 700, 300)
    assert stats_half["pixels_warped"] == 248 * 300  # the COG's part
