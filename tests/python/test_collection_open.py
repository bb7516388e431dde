"""lazycogs._ext.Collection (lc_collection_open, phase 0): the grid, the 4326
query box, the time steps, the bands, dtype and nodata, and the reference's
messages, checked against pyproj, rasterio, an independent Python grouping
of the items and the `lazycogs items` listing (_ext.items_json)."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import calendar
import json
import math
import re
import struct
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

import lazycogs
from lazycogs import _ext
from conftest import without_raster_bands

pyproj = pytest.importorskip("pyproj")

CATALOGS = ["items.parquet", "items-pyarrow.parquet", "items.ndjson"]
# Inside the ci world (EPSG:5070), which spans about x -78 km..552 km,
# y 2535 km..2787 km.
BBOX_5070 = (0.0, 2560000.0, 400000.0, 2760000.0)
UTC = timezone.utc


def collection(href, **options):
    return _ext.Collection(str(href), options)


def open_5070(href, **options):
    options.setdefault("crs", "EPSG:5070")
    options.setdefault("bbox", BBOX_5070)
    options.setdefault("resolution", 1000.0)
    return collection(href, **options)


def bbox_4326(crs, bbox):
    """pyproj's densified transform of bbox (21 points per edge)."""
    t = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return t.transform_bounds(*bbox, densify_pts=21)


def listed(href, bbox, **query):
    """The items `lazycogs items` selects, in order."""
    text, _ = _ext.items_json(str(href), bbox=bbox, **query)
    return [json.loads(line) for line in text.splitlines()]


def no_match_bbox(exc):
    """The (bbox, datetime) a 'No STAC items matched' message reports."""
    m = re.search(r"\(bbox=\[(.*)\], datetime=(.*)\)\.$", str(exc))
    assert m, str(exc)
    return [float(v) for v in m.group(1).split(", ")], m.group(2)


# ---- an independent grouping of item instants (reference §2.6) -----------

def _day_coord(d):
    return calendar.timegm(d.timetuple())


def group_of(dt, period):
    """(label, filter, coord, unit) of an aware datetime's time step."""
    d = dt.astimezone(UTC).date()
    if period is None:
        label = dt.astimezone(UTC).isoformat().replace("+00:00", "Z")
        ns = calendar.timegm(dt.timetuple()) * 10**9 + dt.microsecond * 1000
        return label, label, ns, "ns"
    if period == "P1D":
        return d.isoformat(), d.isoformat(), _day_coord(d), "s"
    if period == "P1M":
        last = calendar.monthrange(d.year, d.month)[1]
        first = d.replace(day=1)
        return (f"{d.year:04d}-{d.month:02d}",
                f"{first}/{d.replace(day=last)}", _day_coord(first), "s")
    if period == "P1W":
        iso = d.isocalendar()
        monday = d - timedelta(days=d.weekday())
        return (f"{iso.year}-W{iso.week:02d}",
                f"{monday}/{monday + timedelta(days=6)}", _day_coord(monday),
                "s")
    m = re.fullmatch(r"P(\d+)D", period)
    if m:
        n = int(m.group(1))
        idx = (d - date(2000, 1, 1)).days // n
        start = date(2000, 1, 1) + timedelta(days=idx * n)
        end = start + timedelta(days=n - 1)
        return f"{idx:06d}", f"{start}/{end}", _day_coord(start), "s"
    m = re.fullmatch(r"PT(\d+)H", period)
    if m:
        width = int(m.group(1)) * 3600
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        delta = dt - epoch
        elapsed_us = (delta.days * 86400 + delta.seconds) * 10**6 + \
            delta.microseconds
        start = epoch + timedelta(seconds=(elapsed_us // (width * 10**6)) *
                                  width)
        end = start + timedelta(seconds=width - 1)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return (start.strftime(fmt),
                f"{start.strftime(fmt)}/{end.strftime(fmt)}",
                calendar.timegm(start.timetuple()), "s")
    raise AssertionError(period)


def expected_steps(items, period):
    groups = {}
    for item in items:
        text = item["datetime"] or item["start_datetime"]
        if text is None:
            continue
        key = group_of(datetime.fromisoformat(text), period)
        groups[key] = groups.get(key, 0) + 1
    return [dict(label=k[0], filter=k[1], coord=k[2], unit=k[3], nitems=n)
            for k, n in sorted(groups.items(), key=lambda kv: kv[0][2])]


# ---- grid ----------------------------------------------------------------

@pytest.mark.parametrize("dx, dy, res", [
    (400000.0, 200000.0, 1000.0),   # exact multiples
    (2500.0, 3500.0, 1000.0),       # 2.5 -> 2, 3.5 -> 4 (half to even)
    (4500.0, 1500.0, 1000.0),       # 4.5 -> 4, 1.5 -> 2
    (400.0, 300.0, 1000.0),         # 0.4 and 0.3 -> 0 -> 1
    (123456.0, 65432.0, 30.0),      # 4115.2, 2181.07
    (1000.0, 1000.0, 1000.0 / 3.0),
])
def test_grid(ci_world, dx, dy, res):
    minx, maxy = 200000.0, 2700000.0
    bbox = (minx, maxy - dy, minx + dx, maxy)
    info = open_5070(ci_world / "items.parquet", bbox=bbox,
                     resolution=res).info()
    assert info["width"] == max(1, round((bbox[2] - bbox[0]) / res))
    assert info["height"] == max(1, round((bbox[3] - bbox[1]) / res))
    assert info["transform"] == (res, 0.0, minx, 0.0, -res, maxy)
    assert info["epsg"] == 5070
    assert pyproj.CRS(info["crs_wkt"]).equals(pyproj.CRS("EPSG:5070"))


def test_huge_grid_opens_without_per_pixel_work(ci_world):
    """A 400000 x 200000 grid (8e10 pixels) opens as fast as a small one:
    nothing is planned per chunk or pixel at open."""
    href = ci_world / "items.parquet"
    open_5070(href)  # warm the header cache and PROJ
    t0 = time.perf_counter()
    small = open_5070(href, resolution=10000.0)
    t_small = time.perf_counter() - t0
    t0 = time.perf_counter()
    big = open_5070(href, resolution=1.0)
    t_big = time.perf_counter() - t0
    assert (big.info()["width"], big.info()["height"]) == (400000, 200000)
    assert big.times() == small.times()
    assert t_big < 10 * t_small + 0.5


# ---- the 4326 query box --------------------------------------------------

def test_bbox_4326_is_densified(ci_world):
    """Where nothing matches, the message shows the 4326 box: it equals
    pyproj's densified transform_bounds, and reaches further north than
    the corners alone (Albers bends the northern edge)."""
    bbox = (-2000000.0, 1000000.0, 2000000.0, 1200000.0)
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        open_5070(ci_world / "items.parquet", bbox=bbox)
    got, dt = no_match_bbox(e.value)
    want = bbox_4326("EPSG:5070", bbox)
    assert got == pytest.approx(want, abs=1e-9)
    assert dt == "None"
    t = pyproj.Transformer.from_crs("EPSG:5070", "EPSG:4326", always_xy=True)
    _, corner_ys = t.transform([bbox[0], bbox[2]], [bbox[3], bbox[3]])
    assert got[3] > max(corner_ys) + 0.5


def test_bbox_4326_identity_and_antimeridian(ci_world):
    href = ci_world / "items.parquet"
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        collection(href, crs="EPSG:4326", bbox=(10.125, -3.5, 11.0, -2.0),
                   resolution=0.1, datetime="2025-06-03")
    assert no_match_bbox(e.value) == ([10.125, -3.5, 11.0, -2.0],
                                      "2025-06-03")
    # A Pacific-centred Mercator box across 180 degrees: minx > maxx.
    bbox = (3000000.0, 1000000.0, 4000000.0, 2000000.0)
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        collection(href, crs="EPSG:3832", bbox=bbox, resolution=1000.0)
    got, _ = no_match_bbox(e.value)
    want = bbox_4326("EPSG:3832", bbox)
    assert got[0] > got[2] and want[0] > want[2]
    assert got == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("crs, bbox", [
    ("EPSG:5070", BBOX_5070),
    # OSGB36: its own-datum box is some 100 m off the 4326 box.
    ("EPSG:27700", (300000.0, 200000.0, 500000.0, 400000.0)),
])
@pytest.mark.parametrize("suffix", [".parquet", ".ndjson"])
def test_selection_at_the_query_box_edges(tmp_path, crs, bbox, suffix):
    """open() loads the catalogue with a box around the 4326 query box
    (the box in the CRS's own datum grown by the datum's margin:
    LC_DATUM_SHIFT_NEAR_DEG, 0.001 degrees, for NAD83,
    LC_DATUM_SHIFT_MARGIN_DEG, 0.05, for OSGB36) while a pool thread
    searches for the datum transformation; items that meet that box but
    not the one shrunk by as much make it take the query box itself and
    keep the items that meet it:
    an item 50 m outside an edge, inside the box around, is left out; one
    50 m inside is kept."""
    from conftest import write_catalogue, write_synthetic_cog

    cog = write_synthetic_cog(tmp_path / "a.tif")
    west, south, east, north = bbox_4326(crs, bbox)
    mx, my = (west + east) / 2, (south + north) / 2
    d, w = 0.0005, 0.01
    boxes = {
        "east-in": (east - w, my - w, east - d, my + w),
        "east-out": (east + d, my - w, east + w, my + w),
        "west-in": (west + d, my - w, west + w, my + w),
        "west-out": (west - w, my - w, west - d, my + w),
        "north-in": (mx - w, north - w, mx + w, north - d),
        "north-out": (mx - w, north + d, mx + w, north + w),
        "south-in": (mx - w, south + d, mx + w, south + w),
        "south-out": (mx - w, south - w, mx + w, south - d),
    }
    items = []
    for day, (name, (x0, y0, x1, y1)) in enumerate(boxes.items(), 1):
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        items.append({
            "type": "Feature", "stac_version": "1.1.0", "id": name,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "bbox": [x0, y0, x1, y1],
            "properties": {"datetime": f"2025-06-{day:02d}T10:00:00Z"},
            "links": [],
            "assets": {"a": {"href": str(cog), "type": "image/tiff",
                             "roles": ["data"]}}})
    href = write_catalogue(items, tmp_path / f"items{suffix}")
    c = collection(href, crs=crs, bbox=bbox, resolution=1000.0)
    days = [day for day, name in enumerate(boxes, 1)
            if name.endswith("-in")]
    assert [t["label"][:10] for t in c.times()] == [
        f"2025-06-{day:02d}" for day in days]
    assert c.info()["nitems"] == 4
    assert [i["id"] for i in listed(href, (west, south, east, north))] == [
        name for name in boxes if name.endswith("-in")]


# ---- time steps and selection --------------------------------------------

@pytest.mark.parametrize("catalog", CATALOGS)
@pytest.mark.parametrize("period", ["P1D", "P1M", "P1W", "P16D", "PT6H",
                                    None])
def test_time_steps_equal_independent_grouping(ci_world, catalog, period):
    href = ci_world / catalog
    c = open_5070(href, time_period=period)
    items = listed(href, bbox_4326("EPSG:5070", BBOX_5070))
    assert items, "the test bbox should select items"
    want = expected_steps(items, period)
    assert c.times() == want
    assert c.info()["nitems"] == sum(s["nitems"] for s in want)
    assert c.info()["ntimes"] == len(want)


def test_default_period_is_p1d(ci_world):
    href = ci_world / "items.parquet"
    c = open_5070(href)
    assert c.times() == open_5070(href, time_period="P1D").times()
    assert c.times()[0]["unit"] == "s"
    assert open_5070(href, time_period=None).times()[0]["unit"] == "ns"


@pytest.mark.parametrize("query", [
    dict(datetime="2025-06-10/2025-07-31"),
    dict(datetime="2025-08-12"),
    dict(filter="eo:cloud_cover < 40"),
    dict(filter='{"op": "=", "args": [{"property": "platform"}, '
                '"sentinel-2a"]}'),
    dict(ids=["S2C_T15TXM_20250603T165631_L2A",
              "S2A_T15TVM_20250812T170446_L2A", "no-such-item"]),
    dict(sortby="-eo:cloud_cover", filter="eo:cloud_cover >= 10"),
])
@pytest.mark.parametrize("catalog", ["items.parquet", "items.ndjson"])
def test_selection_matches_items_listing(ci_world, catalog, query):
    href = ci_world / catalog
    c = open_5070(href, time_period="P1M", **query)
    items = listed(href, bbox_4326("EPSG:5070", BBOX_5070), **query)
    assert items
    assert c.times() == expected_steps(items, "P1M")
    assert c.info()["nitems"] == len(items)


def test_no_match_message(ci_world):
    href = ci_world / "items.parquet"
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        open_5070(href, datetime="2030-01-01/2030-12-31")
    box = bbox_4326("EPSG:5070", BBOX_5070)
    text = str(e.value)
    assert text.startswith(f"No STAC items matched the query in {str(href)!r} "
                           "(bbox=[")
    assert text.endswith("], datetime=2030-01-01/2030-12-31).")
    assert no_match_bbox(e.value)[0] == pytest.approx(box, abs=1e-9)
    with pytest.raises(lazycogs.InvalidArgumentError, match="No STAC items"):
        open_5070(href, ids=["nope"])


def test_time_period_fails_before_io(tmp_path):
    """A bad time_period is refused with the reference's message before the
    catalogue (which does not exist) is touched."""
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        collection(tmp_path / "missing.parquet", crs="EPSG:4326",
                   bbox=(0, 0, 1, 1), resolution=0.1, time_period="PT30M")
    assert str(e.value) == (
        "Unsupported time_period 'PT30M'. Supported values: None, 'P1D', "
        "'PnD' (n>1), 'P1W', 'P1M', 'P1Y', and 'PTnH' (n>=1).")
    with pytest.raises(lazycogs.NotFoundError):
        collection(tmp_path / "missing.parquet", crs="EPSG:4326",
                   bbox=(0, 0, 1, 1), resolution=0.1)


@pytest.mark.parametrize("options, exc, text", [
    (dict(resolution=0.0), lazycogs.InvalidArgumentError,
     "resolution must be a positive number"),
    (dict(resolution=-5.0), lazycogs.InvalidArgumentError,
     "resolution must be a positive number"),
    (dict(bbox=(10.0, 0.0, 0.0, 1.0)), lazycogs.InvalidArgumentError,
     "minx <= maxx"),
    (dict(bbox=(0.0, 0.0, math.inf, 1.0)), lazycogs.InvalidArgumentError,
     "not finite"),
    (dict(crs="EPSG:0"), lazycogs.InvalidArgumentError, "not a CRS"),
    (dict(resampling="lanczos"), lazycogs.InvalidArgumentError,
     "Unsupported resampling 'lanczos'"),
    (dict(bands=[]), lazycogs.InvalidArgumentError, "bands is an empty list"),
    (dict(sortby="-"), lazycogs.InvalidArgumentError, None),
    (dict(filter="eo:cloud_cover <"), lazycogs.InvalidArgumentError, None),
    (dict(datetime="2025-13-01"), lazycogs.InvalidArgumentError, None),
    (dict(dtype="complex64"), ValueError, "dtype 'complex64' is not one of"),
    (dict(errors="warn"), ValueError, "errors must be 'raise' or 'ignore'"),
    (dict(mosaic_method=7), ValueError, "mosaic_method must be 0 to 6"),
    (dict(colour="red"), TypeError, "unknown collection option 'colour'"),
    (dict(bbox=(0, 1, 2)), TypeError, "bbox must be"),
    (dict(bands="red"), TypeError, "bands must be a list of str"),
    (dict(store="s3://x"), TypeError, "store must be a lazycogs Store"),
    (dict(max_concurrent_reads=-1), ValueError, ">= 0"),
])
def test_bad_options(ci_world, options, exc, text):
    with pytest.raises(exc) as e:
        open_5070(ci_world / "items.parquet", **options)
    if text is not None:
        assert text in str(e.value)


@pytest.mark.parametrize("value, text", [
    ("two", "LAZYCOGS_REPROJECT_WORKERS must be an integer, got 'two'"),
    ("2.5", "LAZYCOGS_REPROJECT_WORKERS must be an integer, got '2.5'"),
    ("", "LAZYCOGS_REPROJECT_WORKERS must be an integer, got ''"),
    ("0", "worker count must be >= 1, got 0"),
    ("-3", "worker count must be >= 1, got -3"),
    ("5000", "worker count must be <= 1024, got 5000"),
])
def test_reproject_workers_variable(ci_world, monkeypatch, value, text):
    """The reference's LAZYCOGS_REPROJECT_WORKERS sets the default number
    of decode/warp threads; bad values fail the open with its messages."""
    monkeypatch.setenv("LAZYCOGS_REPROJECT_WORKERS", value)
    with pytest.raises(ValueError, match=re.escape(text)):
        open_5070(ci_world / "items.parquet")


def test_reproject_workers_variable_is_used(ci_world, monkeypatch):
    """A good value opens, reads the same pixels, and an explicit nthreads
    wins over it."""
    reference = open_5070(ci_world / "items.parquet", nthreads=2)
    monkeypatch.setenv("LAZYCOGS_REPROJECT_WORKERS", " 3 ")
    one = open_5070(ci_world / "items.parquet")
    assert one.info()["nthreads"] == 3
    assert open_5070(ci_world / "items.parquet",
                     nthreads=1).info()["nthreads"] == 1
    window = ([0], [0], 100, 100, 64, 64)
    a = np.zeros((1, 1, 64, 64), reference.info()["dtype"])
    b = np.zeros_like(a)
    reference.read(*window, a)
    one.read(*window, b)
    np.testing.assert_array_equal(a, b)


def test_required_options(ci_world):
    with pytest.raises(TypeError, match="crs, bbox and resolution"):
        _ext.Collection(str(ci_world / "items.parquet"),
                        {"crs": "EPSG:5070", "bbox": BBOX_5070})


# ---- bands -----------------------------------------------------------------

def _first_item(href, **query):
    return listed(href, bbox_4326("EPSG:5070", BBOX_5070), **query)[0]


@pytest.mark.parametrize("catalog", CATALOGS)
def test_band_auto_selection(ci_world, catalog):
    """The data assets of the first item (roles has "data" or the type is a
    TIFF), in item order; the JPEG thumbnail is left out."""
    href = ci_world / catalog
    first = json.loads(
        (ci_world / "items.ndjson").read_text().splitlines()[0])
    # The first matching item in catalogue order is the first line.
    assert _first_item(href)["id"] == first["id"]
    want = [k for k, a in first["assets"].items()
            if "data" in a.get("roles", []) or
            "image/tiff" in a.get("type", "")]
    assert "thumbnail" in first["assets"] and "thumbnail" not in want
    c = open_5070(href)
    assert c.bands() == want
    assert c.info()["nbands"] == len(want)


def test_explicit_bands(ci_world):
    href = ci_world / "items.parquet"
    c = open_5070(href, bands=["nir", "scl", "red"])
    assert c.bands() == ["nir", "scl", "red"]
    assert c.info()["dtype"] == "uint16"
    assert open_5070(href, bands=["scl"]).info()["dtype"] == "uint8"
    # Every band is sampled, even with an explicit dtype: a JPEG is no COG.
    with pytest.raises(lazycogs.CorruptDataError) as e:
        open_5070(href, bands=["red", "thumbnail"], dtype="float32")
    first = _first_item(href)
    assert str(e.value).startswith(
        f"Store cannot open {first['assets']['thumbnail']['href']!r}: ")
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        open_5070(href, bands=["red", "B99", "coastal"])
    assert str(e.value) == ("Requested bands ['B99', 'coastal'] were not "
                            "present on the first matching item.")


# ---- dtype and nodata ------------------------------------------------------

def _promote(dtypes):
    """The reference's promotion (lazycogs/_core.py), for the ci world."""
    dts = [np.dtype(d) for d in dtypes]
    if len(set(dts)) == 1:
        return dts[0]
    if any(d.kind == "f" for d in dts):
        return np.dtype("float64" if np.dtype("float64") in dts else "float32")
    signed = [d.itemsize * 8 for d in dts if d.kind == "i"]
    unsigned = [d.itemsize * 8 for d in dts if d.kind == "u"]
    if not signed or not unsigned:
        return max(dts, key=lambda d: d.itemsize)
    need = max(max(signed), max(unsigned) + 1)
    return np.dtype(f"int{min(b for b in (8, 16, 32, 64) if b >= need)}")


@pytest.mark.parametrize("catalog", CATALOGS)
def test_dtype_and_nodata_from_rasterio(ci_world, catalog):
    rasterio = pytest.importorskip("rasterio")
    href = ci_world / catalog
    c = open_5070(href)
    first = _first_item(href)
    dtypes, nodatas = [], set()
    for band in c.bands():
        with rasterio.open(first["assets"][band]["href"]) as src:
            dtypes.append(src.dtypes[0])
            if src.nodata is not None:
                nodatas.add(src.nodata)
    info = c.info()
    assert info["dtype"] == str(_promote(dtypes))
    assert len(nodatas) == 1
    assert info["has_nodata"] and info["nodata"] == nodatas.pop()
    assert not info["dtype_explicit"] and not info["nodata_explicit"]
    assert info["mosaic_method"] == 0


def _write_cog(path, dtype, nodata):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    profile = dict(driver="GTiff", width=32, height=32, count=1, dtype=dtype,
                   crs="EPSG:4326", transform=from_origin(-93, 46, 0.01, 0.01),
                   tiled=True, blockxsize=16, blockysize=16)
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.zeros((1, 32, 32), dtype=dtype))
    return path


def _catalog(tmp_path, bands, name="items.ndjson"):
    """One item whose assets are (key, dtype, nodata) COGs written here."""
    assets = {}
    for key, dtype, nodata in bands:
        path = _write_cog(tmp_path / f"{key}.tif", dtype, nodata)
        assets[key] = {"href": str(path), "type": "image/tiff",
                       "roles": ["data"]}
    item = {"type": "Feature", "stac_version": "1.1.0", "id": "only",
            "bbox": [-93.5, 45.5, -92.5, 46.5], "geometry": None,
            "properties": {"datetime": "2025-06-03T10:00:00Z"},
            "assets": assets}
    path = tmp_path / name
    path.write_text(json.dumps(item) + "\n")
    return path


def _open_small(href, **options):
    return collection(href, crs="EPSG:4326", bbox=(-93.2, 45.8, -92.8, 46.2),
                      resolution=0.01, **options)


@pytest.mark.parametrize("a, b, want", [
    ("uint8", "int8", "int16"),
    ("uint8", "int16", "int16"),
    ("uint16", "int16", "int32"),
    ("uint32", "int32", "int64"),
    ("uint8", "int32", "int32"),
    ("int8", "int32", "int32"),
    ("uint8", "uint32", "uint32"),
    ("float32", "uint16", "float32"),
    ("float64", "uint16", "float64"),
    ("float32", "float64", "float64"),
    ("float32", "int64", "float32"),
    ("int16", "int16", "int16"),
])
def test_dtype_promotion(tmp_path, a, b, want):
    href = _catalog(tmp_path, [("a", a, None), ("b", b, None)])
    assert str(_promote([a, b])) == want  # the table agrees with the oracle
    info = _open_small(href).info()
    assert info["dtype"] == want
    assert info["has_nodata"] is False and info["nodata"] is None


@pytest.mark.parametrize("b", ["int64", "int8"])
def test_dtype_promotion_uint64_with_signed(tmp_path, b):
    href = _catalog(tmp_path, [("a", "uint64", None), ("b", b, None)])
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        _open_small(href)
    assert str(e.value) == ("Cannot safely promote sampled dtypes containing "
                            "both uint64 and int64.")
    # An explicit dtype wins: nothing is promoted.
    assert _open_small(href, dtype="float64").info()["dtype"] == "float64"


@pytest.mark.parametrize("method, dtype, want", [
    (3, None, "float32"),      # mean over integers
    (4, None, "float32"),      # median
    (5, "float64", "float64"),
    (6, None, "uint16"),       # count
    (6, "int32", "int32"),
    (1, None, "int16"),        # highest keeps the sampled dtype
])
def test_dtype_by_method(tmp_path, method, dtype, want):
    href = _catalog(tmp_path, [("a", "uint8", 0), ("b", "int16", 0)])
    info = _open_small(href, mosaic_method=method, dtype=dtype).info()
    assert info["dtype"] == want
    assert info["dtype_explicit"] is (dtype is not None)
    assert info["mosaic_method"] == method


@pytest.mark.parametrize("method, name", [(3, "MeanMethod"),
                                          (4, "MedianMethod"),
                                          (5, "StdevMethod")])
def test_float_method_with_integer_dtype(tmp_path, method, name):
    href = _catalog(tmp_path, [("a", "uint8", 0)])
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        _open_small(href, mosaic_method=method, dtype="uint16")
    assert str(e.value) == (
        f"{name} requires a floating-point dtype, but got explicit dtype "
        "uint16. Pass dtype='float32' or dtype='float64', or omit dtype= to "
        "let lazycogs choose a float dtype automatically.")


@pytest.mark.parametrize("a, b, want", [
    (("uint16", 0), ("uint8", 0), 0.0),
    (("int16", -9999), ("float32", -9999.0), -9999.0),
    (("uint16", None), ("uint16", 7), 7.0),
    (("float32", math.nan), ("float64", math.nan), math.nan),
    (("uint16", None), ("float32", None), None),
])
def test_nodata_inference(tmp_path, a, b, want):
    href = _catalog(tmp_path, [("a", *a), ("b", *b)])
    info = _open_small(href).info()
    if want is None:
        assert info["has_nodata"] is False and info["nodata"] is None
    elif math.isnan(want):
        assert info["has_nodata"] and math.isnan(info["nodata"])
    else:
        assert info["has_nodata"] and info["nodata"] == want
    assert info["nodata_explicit"] is False


@pytest.mark.parametrize("a, b", [
    (("uint16", 0), ("uint16", 1)),
    (("float32", 0.0), ("float32", math.nan)),
])
def test_conflicting_nodata(tmp_path, a, b):
    href = _catalog(tmp_path, [("a", *a), ("b", *b)])
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        _open_small(href)
    assert str(e.value) == ("Conflicting sampled nodata values; pass nodata= "
                            "explicitly.")
    info = _open_small(href, nodata=-1.0).info()
    assert (info["nodata"], info["nodata_explicit"]) == (-1.0, True)


def test_missing_cog_and_empty_href(tmp_path):
    href = _catalog(tmp_path, [("a", "uint8", 0)])
    (tmp_path / "a.tif").unlink()
    with pytest.raises(lazycogs.NotFoundError) as e:
        _open_small(href)
    assert str(e.value).startswith(f"Store cannot open '{tmp_path / 'a.tif'}'")
    item = json.loads(href.read_text())
    item["assets"]["a"]["href"] = ""
    href.write_text(json.dumps(item) + "\n")
    with pytest.raises(lazycogs.InvalidArgumentError) as e:
        _open_small(href)
    assert str(e.value) == ("Asset 'a' on the first matching item does not "
                            "have an href.")


def test_missing_cog_in_a_parquet_catalogue(tmp_path):
    """From stac-geoparquet the first item's headers are fetched while the
    catalogue loads; a failed fetch still fails open() with the same
    message as from NDJSON (which fetches after the load)."""
    rustac = pytest.importorskip("rustac")
    href = _catalog(tmp_path, [("a", "uint8", 0), ("b", "uint8", 0)])
    item = json.loads(href.read_text())
    w, s, e, n = item["bbox"]
    item["geometry"] = {"type": "Polygon", "coordinates": [
        [[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    parquet = tmp_path / "items.parquet"
    rustac.write_sync(str(parquet), [item])
    cog = tmp_path / "b.tif"
    cog.rename(tmp_path / "b.away")
    for catalogue in (parquet, href):
        with pytest.raises(lazycogs.NotFoundError) as e:
            _open_small(catalogue)
        assert str(e.value).startswith(f"Store cannot open '{cog}'")
    # (a failed open caches nothing: with the file back, it opens)
    (tmp_path / "b.away").rename(cog)
    assert _open_small(parquet).info()["dtype"] == "uint8"


def test_open_ignores_malformed_raster_bands(ci_world, tmp_path):
    """open() uses raster:bands only to skip the first item's header fetch:
    a catalogue whose raster:bands are not the extension's list of structs
    opens as the original does (dtype and nodata from the headers), while
    `lazycogs items`, which prints them, refuses it naming the column."""
    rustac = pytest.importorskip("rustac")
    items = [json.loads(line) for line in
             (ci_world / "items.ndjson").read_text().splitlines()]
    for item in items:
        for asset in item["assets"].values():
            if "raster:bands" in asset:
                asset["raster:bands"] = "not a list"
    href = tmp_path / "items.parquet"
    rustac.write_sync(str(href), items)
    bands = ["red", "green", "blue"]
    got = open_5070(href, bands=bands)
    want = open_5070(ci_world / "items.parquet", bands=bands)
    assert got.info() == want.info()
    assert got.times() == want.times()
    with pytest.raises(lazycogs.LazycogsError) as e:
        _ext.items_json(str(href))
    assert "raster:bands" in str(e.value)


# ---- open reads no pixel -----------------------------------------------------

def _open_in_fresh_process(http_world, href, bands):
    """Opens href over HTTP in a fresh process (no header cached): the
    server's log of the open, and what the process saw."""
    script = textwrap.dedent(f"""
        import json, lazycogs
        from lazycogs import _ext
        c = _ext.Collection({str(href)!r}, dict(
            crs="EPSG:5070", bbox={BBOX_5070!r}, resolution=10.0,
            bands={bands!r}))
        print(json.dumps(dict(stats=_ext.process_stats(), info=c.info(),
                              bands=c.bands())))
    """)
    http_world.server.clear_log()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True,
                         text=True, check=True)
    return list(http_world.server.log), json.loads(out.stdout)


def test_open_takes_dtype_and_nodata_from_raster_bands(http_world, tmp_path):
    """When the first item's raster:bands give data_type and nodata (and its
    assets proj:transform), open() makes no request at all; without them it
    fetches the headers, and both agree on dtype and nodata."""
    pq = pytest.importorskip("pyarrow.parquet")
    bands = ["red", "scl", "visual"]
    log, result = _open_in_fresh_process(http_world, http_world.items_parquet,
                                         bands)
    assert log == []
    assert result["stats"]["requests"] == 0
    bare = tmp_path / "items.parquet"
    pq.write_table(without_raster_bands(pq.read_table(
        http_world.items_parquet)), bare)
    log, from_headers = _open_in_fresh_process(http_world, bare, bands)
    assert len(log) == len(bands)
    for key in ("dtype", "has_nodata", "nodata", "width", "height"):
        assert result["info"][key] == from_headers["info"][key], key
    assert result["info"]["dtype"] == "uint16" and result["info"]["nodata"] == 0


def test_open_fetches_one_header_per_band(http_world, tmp_path):
    """Over HTTP, without raster:bands in the catalogue, open() makes one
    request per band: the head of the first item's COG, nothing else. It
    runs in a fresh process so that no header is cached yet."""
    pq = pytest.importorskip("pyarrow.parquet")
    href = tmp_path / "items.parquet"
    pq.write_table(without_raster_bands(pq.read_table(
        http_world.items_parquet)), href)
    bands = ["red", "scl", "visual"]
    log, result = _open_in_fresh_process(http_world, href, bands)
    first = _first_item(href)
    want_paths = sorted("/" + first["assets"][b]["href"].split("/", 3)[3]
                        for b in bands)
    assert sorted(e["path"] for e in log) == want_paths
    assert all(e["method"] == "GET" and e["range"].startswith("bytes=0-")
               for e in log)
    assert result["stats"]["requests"] == len(bands)
    assert result["bands"] == bands
    assert result["info"]["width"] == 40000


FETCHED_BANDS = ["red", "green", "blue"]


def _band_paths(item) -> list[str]:
    """The server paths of item's FETCHED_BANDS, sorted."""
    return sorted("/" + item["assets"][b]["href"].split("/", 3)[3]
                  for b in FETCHED_BANDS)


def _headers_fetched_by_failing_open(http_world, tmp_path, table,
                                     sortby=None) -> list[str]:
    """Writes table (rows after the first with broken footprints) and opens
    it in a fresh process (no header cached), which must fail on those
    rows; returns the paths the server was asked for, sorted."""
    pq = pytest.importorskip("pyarrow.parquet")
    href = tmp_path / "items.parquet"
    pq.write_table(table, href)
    options = dict(crs="EPSG:5070", bbox=BBOX_5070, resolution=1000.0,
                   bands=FETCHED_BANDS)
    if sortby:
        options["sortby"] = sortby
    script = textwrap.dedent(f"""
        import lazycogs
        from lazycogs import _ext
        try:
            _ext.Collection({str(href)!r}, {options!r})
        except lazycogs.CorruptDataError as e:
            print(e)
    """)
    http_world.server.clear_log()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True,
                         text=True, check=True)
    assert "column 'geometry'" in out.stdout
    return sorted(e["path"] for e in http_world.server.log)


@pytest.mark.parametrize("with_raster_bands", [False, True])
@pytest.mark.parametrize("sortby", [None, "-eo:cloud_cover"])
def test_first_headers_are_fetched_while_the_catalogue_loads(
        http_world, tmp_path, sortby, with_raster_bands):
    """Without sortby, the first matching item is the catalogue's first
    matching row: open() loads that row alone, then fetches its headers
    while the whole catalogue loads. A catalogue whose other rows have
    broken footprints shows it: the first item's headers are fetched, one
    request per band, before the whole load fails on those rows. With
    sortby the first item is known only after the whole load, which fails
    before any request. When the row's raster:bands say what the headers
    would, none is fetched."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(http_world.items_parquet)
    if not with_raster_bands:
        table = without_raster_bands(table)
    first = _first_item(http_world.items_parquet)
    assert first["id"] == table.column("id")[0].as_py()
    i = table.column_names.index("geometry")
    wkb = table.column(i).to_pylist()
    broken = wkb[:1] + [b"\x01\x03\x00"] * (len(wkb) - 1)  # cut short
    table = table.set_column(i, table.field(i),
                             pa.array(broken, table.field(i).type))
    paths = _headers_fetched_by_failing_open(http_world, tmp_path, table,
                                             sortby=sortby)
    if sortby or with_raster_bands:
        assert paths == []
    else:
        assert paths == _band_paths(first)


@pytest.mark.parametrize("place", ["edge", "outside"])
def test_first_row_near_the_box_edge(http_world, tmp_path, place):
    """open() fetches the first row's headers as soon as the row surely
    meets the query box: it meets the box in the CRS's own datum shrunk by
    the most a datum shift can move it. A row near the edge waits for the
    EPSG:4326 box itself: inside it, its headers are fetched; outside, none
    is (the open would not fetch them). The other rows have broken
    footprints, so the whole load fails after that decision."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pyproj = pytest.importorskip("pyproj")
    west, south, east, north = pyproj.Transformer.from_crs(
        "EPSG:5070", "EPSG:4326", always_xy=True).transform_bounds(
            *BBOX_5070, densify_pts=21)
    mid = (south + north) / 2
    # Within 0.001 degrees of the east edge: inside the query box, outside
    # the sure box (NAD83's margin, LC_DATUM_SHIFT_NEAR_DEG, is 0.001
    # degrees of latitude, some 0.0015 of longitude here); or as far
    # outside it, inside the box around.
    x0, x1 = (east - 0.001, east - 0.0002) if place == "edge" else (
        east + 0.0002, east + 0.001)
    ring = [(x0, mid - 0.01), (x1, mid - 0.01), (x1, mid + 0.01),
            (x0, mid + 0.01), (x0, mid - 0.01)]
    polygon = struct.pack("<BIII", 1, 3, 1, len(ring)) + b"".join(
        struct.pack("<dd", x, y) for x, y in ring)
    table = without_raster_bands(pq.read_table(http_world.items_parquet))
    first = _first_item(http_world.items_parquet)
    i = table.column_names.index("geometry")
    n = table.num_rows
    table = table.set_column(i, table.field(i), pa.array(
        [polygon] + [b"\x01\x03\x00"] * (n - 1), table.field(i).type))
    j = table.column_names.index("bbox")
    boxes = table.column(j).to_pylist()
    boxes[0] = dict(xmin=x0, ymin=mid - 0.01, xmax=x1, ymax=mid + 0.01)
    table = table.set_column(j, table.field(j),
                             pa.array(boxes, table.field(j).type))
    paths = _headers_fetched_by_failing_open(http_world, tmp_path, table)
    assert paths == ([] if place == "outside" else _band_paths(first))


# ---- read() binding ----------------------------------------------------------

def test_read_failure_names_the_item(tmp_path):
    """A read that fails on an item raises the status's exception with
    item_id and bands attached (the Python layer builds ChunkReadError)."""
    good = _write_cog(tmp_path / "good.tif", "uint8", 0)
    items = []
    for i, path in enumerate([good, tmp_path / "gone.tif"]):
        items.append({
            "type": "Feature", "stac_version": "1.1.0", "id": f"item{i}",
            "bbox": [-93.5, 45.5, -92.5, 46.5], "geometry": None,
            "properties": {"datetime": "2025-06-03T10:00:00Z"},
            "assets": {"a": {"href": str(path), "type": "image/tiff",
                             "roles": ["data"]}}})
    href = tmp_path / "items.ndjson"
    href.write_text("".join(json.dumps(i) + "\n" for i in items))
    c = _open_small(href, mosaic_method=6)  # count reads every item
    info = c.info()
    out = np.zeros((1, 1, info["height"], info["width"]), dtype=info["dtype"])
    with pytest.raises(lazycogs.LazycogsError) as e:
        c.read([0], [0], 0, 0, info["width"], info["height"], out)
    assert e.value.item_id == "item1"
    assert e.value.bands == ["a"]
    assert e.value.contract_violation is False


def test_read_argument_checks(ci_world):
    c = open_5070(ci_world / "items.parquet")
    with pytest.raises(BufferError):
        c.read([0], [0], 0, 0, 1, 1, b"\0\0")
    with pytest.raises(ValueError, match="negative index"):
        c.read([-1], [0], 0, 0, 1, 1, np.zeros(1, np.uint16))
    with pytest.raises(ValueError, match="at least one C int"):
        c.read([0], [0], 0, 0, 1, 1, np.zeros(1, np.uint16),
               cancel=np.zeros(1, np.uint8))


def test_explicit_store(http_world):
    """store= reads every asset (a lazycogs Store for the server's root);
    catalog_store= reads the catalogue."""
    store = _ext.Store(http_world.url)
    c = open_5070(http_world.items_parquet, store=store, bands=["blue"])
    assert c.bands() == ["blue"] and c.info()["dtype"] == "uint16"
    local = open_5070(http_world.items_parquet, catalog_store=None)
    assert c.times() == local.times()
