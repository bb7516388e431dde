"""Rows of the behaviour reference's test table (§4) that no other test of
ours asserted, on real files: COGs written here with rasterio (the
reference's synthetic COG and variants of it with edited nodata, pixels or
dtype, as its benchmarks/test_regressions.py does), catalogues written with
rustac, the ci world, and the loopback HTTP server. docs/reference-tests.md
maps every row of the table to the test that covers it.

Sections: test_regressions rows; test_chunk_reader overview and window
rows (through explain(fetch_headers=True)); test_temporal rows through
lazycogs.open; test_core / test_backend rows.
"""
# SPDX-License-Identifier: MIT
import datetime as dt
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")

import lazycogs  # noqa: E402
from conftest import (SYNTH_CRS, SYNTH_ORIGIN, SYNTH_RES,  # noqa: E402
                      SYNTH_SIZE, stac_item, write_catalogue,
                      write_synthetic_cog)

EXTENT = SYNTH_SIZE * SYNTH_RES
COG_BBOX = (SYNTH_ORIGIN[0], SYNTH_ORIGIN[1] - EXTENT,
            SYNTH_ORIGIN[0] + EXTENT, SYNTH_ORIGIN[1])
# The pixels the variants edit (row, col of the full-resolution COG), and a
# 16 x 16 grid at native resolution around them: P is at (8, 8) of it.
P, Q = (100, 200), (100, 201)
SMALL = (SYNTH_ORIGIN[0] + 192 * SYNTH_RES, SYNTH_ORIGIN[1] - 108 * SYNTH_RES,
         SYNTH_ORIGIN[0] + 208 * SYNTH_RES, SYNTH_ORIGIN[1] - 92 * SYNTH_RES)
PY, PX = 8, 8


def base_value(row, col):
    """The synthetic COG's value, computed from its formula."""
    return (col + row * SYNTH_SIZE) % 65535 + 1


def set_nodata_tag(path, nodata):
    """Rewrite the GDAL_NODATA tag in place, as the reference's regression
    tests do with rasterio (even a value the dtype cannot hold)."""
    with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
        ds.nodata = nodata
    return path


def small(href, **kw):
    return lazycogs.open(str(href), crs=SYNTH_CRS, bbox=SMALL,
                         resolution=SYNTH_RES, **kw)


def pixel(da, y=PY, x=PX):
    return da.isel(band=0, time=0, y=y, x=x).values


# ---------------------------------------------------------------------------
# benchmarks/test_regressions.py rows
# ---------------------------------------------------------------------------


def _set(arr, values):
    """An edit for write_synthetic_cog: {(row, col): value}."""
    for (r, c), v in values.items():
        arr[r, c] = v
    return arr


def _variant(d, name, **kw):
    """A variant of the synthetic COG (written once per module)."""
    path = d / f"{name}.tif"
    if not path.exists():
        write_synthetic_cog(path, **kw)
    return path


@pytest.fixture(scope="module")
def vdir(tmp_path_factory):
    return tmp_path_factory.mktemp("variants")


def hole(vdir):
    """P is 0 (nodata), Q is 255."""
    return _variant(vdir, "hole", edit=lambda a: _set(a, {P: 0, Q: 255}))


def two_items(vdir, name, first, second):
    """A catalogue of two items over the same footprint and day: first,
    then second (catalogue order is the mosaic order)."""
    items = [stac_item("first", {"B04": first}),
             stac_item("second", {"B04": second})]
    return write_catalogue(items, vdir / f"{name}.parquet")


def test_inferred_dtype_and_fill_value(vdir, synthetic_cog):
    """The reference's benchmark parquet infers uint16 and _FillValue 0."""
    href = write_catalogue([stac_item("one", {"B04": synthetic_cog})],
                           vdir / "one.parquet")
    da = small(href)
    assert da.dtype == np.uint16
    assert da.attrs["_FillValue"] == 0
    assert pixel(da) == base_value(*P)


def test_explicit_float32_and_nodata_win(vdir, synthetic_cog):
    href = write_catalogue([stac_item("one", {"B04": synthetic_cog})],
                           vdir / "one.parquet")
    bbox = (COG_BBOX[2] - 80.0, COG_BBOX[1], COG_BBOX[2] + 80.0,
            COG_BBOX[1] + 160.0)  # half outside the COG
    da = lazycogs.open(str(href), crs=SYNTH_CRS, bbox=bbox, resolution=10.0,
                       dtype="float32", nodata=-9999)
    assert da.dtype == np.float32 and da.attrs["_FillValue"] == -9999.0
    got = da.isel(band=0, time=0).values
    with rasterio.open(synthetic_cog) as src:
        want = src.read(1, window=((2048 - 16, 2048), (2048 - 8, 2048)))
    np.testing.assert_array_equal(got[:, :8], want.astype(np.float32))
    assert (got[:, 8:] == -9999.0).all()  # outside every item


def test_explain_headers_give_windows_and_resolutions(vdir, synthetic_cog):
    href = write_catalogue([stac_item("one", {"B04": synthetic_cog})],
                           vdir / "one.parquet")
    da = small(href)
    df = da.lazycogs.explain(fetch_headers=True).to_dataframe()
    assert len(df) == 1
    row = df.iloc[0]
    assert row.overview_resolution == 10.0
    # The grid is aligned on the COG: the window is the grid's own pixels.
    assert (row.window_col_off, row.window_row_off, row.window_width,
            row.window_height) == (192, 92, 16, 16)


def test_nodata_conflict_on_open(vdir, synthetic_cog):
    """One item, two assets: B08 is the COG with its nodata rewritten to
    -9999. Open raises the conflict; an explicit nodata opens."""
    b08 = set_nodata_tag(_variant(vdir, "b08"), -9999)
    href = write_catalogue([stac_item("one", {"B04": synthetic_cog,
                                              "B08": b08})],
                           vdir / "conflict.parquet")
    with pytest.raises(ValueError) as e:
        small(href)
    assert str(e.value) == ("Conflicting sampled nodata values; pass nodata= "
                            "explicitly.")
    da = small(href, nodata=0)
    assert list(da.band.values) == ["B04", "B08"]
    np.testing.assert_array_equal(da.isel(time=0, y=PY, x=PX).values,
                                  [base_value(*P)] * 2)


def test_later_float32_item(vdir):
    """The second item (float32, 5.0 at P, where the first has nodata)
    breaks the inferred uint16 at compute; explicit float32 reads 5.0."""
    flt = _variant(vdir, "float", dtype="float32",
                   edit=lambda a: _set(a, {P: 5.0}))
    href = two_items(vdir, "later-float", hole(vdir), flt)
    da = small(href)
    assert da.dtype == np.uint16
    with pytest.raises(ValueError) as e:
        pixel(da)
    assert str(e.value) == (
        "Auto-inferred output dtype uint16 from representative assets, but "
        "encountered float32 in asset 'B04' for item 'second'. Pass "
        "dtype='float32', dtype='float64', or another explicit dtype if "
        "mixed source dtypes are expected.")
    assert pixel(small(href, dtype="float32")) == np.float32(5.0)


def test_later_nodata_item(vdir):
    """The second item declares nodata -9999 (7 at P): the inferred nodata
    0 breaks at compute; explicit nodata 0 reads 7 from it."""
    later = set_nodata_tag(
        _variant(vdir, "later-nd", edit=lambda a: _set(a, {P: 7})), -9999)
    href = two_items(vdir, "later-nodata", hole(vdir), later)
    with pytest.raises(ValueError) as e:
        pixel(small(href))
    assert str(e.value) == (
        "Auto-inferred output nodata 0.0 from representative assets, but "
        "encountered conflicting nodata -9999.0 in asset 'B04' for item "
        "'second'. Pass nodata= explicitly if mixed source nodata values are "
        "expected.")
    assert pixel(small(href, nodata=0)) == 7


def test_explicit_nodata_255_keeps_255(vdir):
    """Explicit nodata 255 in uint16: Q is 255 in both items (fully
    masked: the fill 255 stays), P is 0 in the first (valid now)."""
    second = _variant(vdir, "q255", edit=lambda a: _set(a, {P: 7, Q: 255}))
    href = two_items(vdir, "nd255", hole(vdir), second)
    da = small(href, nodata=255)
    assert da.dtype == np.uint16 and da.attrs["_FillValue"] == 255
    assert pixel(da, PY, PX + 1) == 255
    assert pixel(da) == 0
    # And a pixel 255 in the first item only takes the second's value.
    href = two_items(vdir, "nd255b", hole(vdir), _variant(vdir, "base2"))
    assert pixel(small(href, nodata=255), PY, PX + 1) == base_value(*Q)


def test_lowest_with_explicit_nodata_masks_zero(vdir):
    ten = _variant(vdir, "ten", edit=lambda a: _set(a, {P: 10}))
    href = two_items(vdir, "lowest", hole(vdir), ten)
    da = small(href, nodata=0, mosaic_method=lazycogs.LowestMethod)
    assert pixel(da) == 10
    # Elsewhere both items hold the same values.
    assert pixel(da, PY + 1, PX) == base_value(P[0] + 1, P[1])


# ---------------------------------------------------------------------------
# test_chunk_reader.py rows: overview choice and source windows, through
# explain(fetch_headers=True) on COGs written with rasterio
# ---------------------------------------------------------------------------


def levels_of(href, res, bbox=COG_BBOX):
    da = lazycogs.open(str(href), crs=SYNTH_CRS, bbox=bbox, resolution=res)
    (chunk,) = da.lazycogs.explain(fetch_headers=True).chunk_reads
    (cog,) = chunk.cog_reads
    return cog.overview_level, cog.overview_resolution


@pytest.mark.parametrize("res, level, level_res", [
    (5.0, None, 10.0),     # finer than native: full resolution
    (10.0, None, 10.0),    # equal to native
    (15.0, None, 10.0),    # between native and the finest overview
    (20.0, 0, 20.0),       # exactly the finest overview
    (30.0, 0, 20.0),       # 30 m over [20, 40, 80] -> 20 m
    (200.0, 2, 80.0),      # coarser than all: the coarsest
])
def test_overview_choice(vdir, res, level, level_res):
    cog = _variant(vdir, "ovr-2-4-8", overviews=(2, 4, 8))
    href = write_catalogue([stac_item("one", {"B04": cog})],
                           vdir / "ovr.parquet")
    assert levels_of(href, res) == (level, level_res)


def test_no_overviews_is_full_resolution(vdir):
    cog = _variant(vdir, "no-ovr", overviews=())
    href = write_catalogue([stac_item("one", {"B04": cog})],
                           vdir / "no-ovr.parquet")
    assert levels_of(href, 200.0) == (None, 10.0)


def test_source_windows(vdir, synthetic_cog):
    """full grid -> the whole COG; a 4 x 4 tile at (4, 4) -> (4, 4, 4, 4);
    a tile across the COG's edge -> clamped; a tile outside -> no read."""
    href = write_catalogue([stac_item("one", {"B04": synthetic_cog})],
                           vdir / "one.parquet")
    bbox = (COG_BBOX[0], COG_BBOX[1] - 1000.0, COG_BBOX[2] + 1000.0,
            COG_BBOX[3])
    da = lazycogs.open(str(href), crs=SYNTH_CRS, bbox=bbox, resolution=10.0)
    assert da.shape[2:] == (2148, 2148)

    def window(view):
        (chunk,) = view.lazycogs.explain(fetch_headers=True).chunk_reads
        if not chunk.cog_reads:
            return None
        (cog,) = chunk.cog_reads
        return (cog.window_col_off, cog.window_row_off, cog.window_width,
                cog.window_height)

    assert window(da.isel(x=slice(0, 2048), y=slice(0, 2048))) == \
        (0, 0, 2048, 2048)
    assert window(da.isel(x=slice(4, 8), y=slice(4, 8))) == (4, 4, 4, 4)
    assert window(da.isel(x=slice(2000, 2100), y=slice(10, 20))) == \
        (2000, 10, 48, 10)
    assert window(da.isel(x=slice(2100, 2148), y=slice(2100, 2148))) is None


# ---------------------------------------------------------------------------
# test_temporal.py rows, through lazycogs.open on catalogues with such dates
# ---------------------------------------------------------------------------

DATES = [
    "2020-12-31T12:00:00Z",   # 2020-W53
    "2021-12-27T10:00:00Z",   # Monday of 2021-W52
    "2022-01-02T23:59:59Z",   # its Sunday: still 2021-W52
    "2022-01-03T00:00:00Z",   # 2022-W01
    "2023-02-28T12:00:00Z",
    "2024-02-28T06:00:00Z",
    "2024-02-29T06:30:00Z",   # leap day
    "2024-03-01T00:00:00Z",
    "2000-01-16T23:59:59Z",   # last second of P16D bucket 0
    "2000-01-17T00:00:00Z",   # first of bucket 1
    "2025-01-01T00:59:59Z",   # PT1H: 00:59:59 and 01:00:00 split
    "2025-01-01T01:00:00Z",
    "2025-01-01T05:59:59Z",   # PT6H: 05:59:59 and 06:00:00 split
    "2025-01-01T06:00:00Z",
    "2025-01-01T06:00:00Z",   # the same instant twice: one exact step
    "2025-01-01T10:00:00.250Z",
]
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def _instant(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def oracle_step(text, period):
    """(coord as numpy datetime64, datetime filter) of an instant's step,
    from the reference's table (§2.6), with Python's calendar."""
    t = _instant(text).astimezone(dt.timezone.utc)
    d = t.date()
    if period is None:
        iso = t.isoformat().replace("+00:00", "Z")
        return np.datetime64(t.replace(tzinfo=None), "ns"), iso
    if period == "P1D":
        return np.datetime64(d, "s"), d.isoformat()
    if period == "P1W":
        mon = d - dt.timedelta(days=d.weekday())
        return np.datetime64(mon, "s"), \
            f"{mon}/{mon + dt.timedelta(days=6)}"
    if period == "P1M":
        first = d.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return np.datetime64(first, "s"), \
            f"{first}/{nxt - dt.timedelta(days=1)}"
    if period == "P1Y":
        return np.datetime64(dt.date(d.year, 1, 1), "s"), \
            f"{d.year}-01-01/{d.year}-12-31"
    m = re.fullmatch(r"P(\d+)D", period)
    if m:
        n = int(m.group(1))
        start = dt.date(2000, 1, 1) + dt.timedelta(
            days=(d - dt.date(2000, 1, 1)).days // n * n)
        return np.datetime64(start, "s"), \
            f"{start}/{start + dt.timedelta(days=n - 1)}"
    n = int(re.fullmatch(r"PT(\d+)H", period).group(1))
    secs = int((t - EPOCH).total_seconds() // (n * 3600)) * n * 3600
    start = EPOCH + dt.timedelta(seconds=secs)
    end = start + dt.timedelta(seconds=n * 3600 - 1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return np.datetime64(start.replace(tzinfo=None), "s"), \
        f"{start.strftime(fmt)}/{end.strftime(fmt)}"


@pytest.fixture(scope="module")
def dated(synthetic_cog, tmp_path_factory):
    """One item per date of DATES, all over the synthetic COG; as rustac
    stac-geoparquet and as NDJSON."""
    d = tmp_path_factory.mktemp("dated")
    items = [stac_item(f"item{i:02d}", {"B04": synthetic_cog}, datetime=t)
             for i, t in enumerate(DATES)]
    return {"parquet": write_catalogue(items, d / "items.parquet"),
            "ndjson": write_catalogue(items, d / "items.ndjson")}


@pytest.mark.parametrize("fmt", ["parquet", "ndjson"])
@pytest.mark.parametrize("period", ["P1D", "P1W", "P1M", "P1Y", "P16D",
                                    "P5D", "PT1H", "PT6H", None])
def test_time_steps_through_open(dated, fmt, period):
    """Steps (coords, per-step datetime filters as explain reports them,
    items per step) equal an independent grouping of DATES: ISO weeks
    across year ends, Feb 28/29, fixed-day buckets from 2000-01-01, hour
    buckets, exact instants (ns, with milliseconds)."""
    da = lazycogs.open(str(dated[fmt]), crs=SYNTH_CRS, bbox=SMALL,
                       resolution=SYNTH_RES, time_period=period)
    groups = {}
    for t in DATES:
        key = oracle_step(t, period)
        groups[key] = groups.get(key, 0) + 1
    want = sorted(groups.items(), key=lambda kv: kv[0][0])
    unit = "ns" if period is None else "s"
    assert da.time.dtype == np.dtype(f"datetime64[{unit}]")
    np.testing.assert_array_equal(da.time.values,
                                  np.array([k[0] for k, _ in want]))
    plan = da.lazycogs.explain()
    assert [c.date_filter for c in plan.chunk_reads] == \
        [k[1] for k, _ in want]
    assert [c.n_cog_reads for c in plan.chunk_reads] == [n for _, n in want]
    # Every step reads the COG.
    assert (da.isel(band=0, time=-1).values ==
            da.isel(band=0, time=0).values).all()


@pytest.mark.parametrize("period", ["invalid", "P2M", "P2Y", "PT30M",
                                    "PT1.5H", "PT0H"])
def test_unsupported_time_period(dated, period):
    with pytest.raises(ValueError) as e:
        lazycogs.open(str(dated["parquet"]), crs=SYNTH_CRS, bbox=SMALL,
                      resolution=SYNTH_RES, time_period=period)
    assert str(e.value) == (
        f"Unsupported time_period '{period}'. Supported values: None, "
        "'P1D', 'PnD' (n>1), 'P1W', 'P1M', 'P1Y', and 'PTnH' (n>=1).")


def test_bare_date_items_are_midnight_utc(vdir, synthetic_cog):
    """The reference refuses a timestamp without a time under exact or
    hourly grouping ('must include a time component'; our grouper too,
    tests/c/test_time.c). Item datetimes reach the grouper as instants
    here: a JSON item's bare date is its midnight UTC
    (docs/time-and-mosaic.md), stac-geoparquet stores timestamps."""
    href = write_catalogue([stac_item("bare", {"B04": synthetic_cog},
                                      datetime="2024-06-15")],
                           vdir / "bare.ndjson")
    for period in (None, "PT1H"):
        da = small(href, time_period=period)
        assert da.time.values[0] == np.datetime64("2024-06-15T00:00:00")


# ---------------------------------------------------------------------------
# test_core.py / test_backend.py rows
# ---------------------------------------------------------------------------


def test_missing_empty_truncated_catalogues(tmp_path, synthetic_cog):
    """The reference refuses hrefs not ending in .parquet (we read JSON
    too: docs/engine.md); an empty parquet fails 'for another reason'.
    Ours name the file and the problem."""
    def open_(path):
        return lazycogs.open(str(path), crs=SYNTH_CRS, bbox=SMALL,
                             resolution=SYNTH_RES)

    with pytest.raises(lazycogs.NotFoundError) as e:
        open_(tmp_path / "missing.parquet")
    assert str(e.value) == \
        f"{tmp_path / 'missing.parquet'}: no such file or directory"
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    with pytest.raises(lazycogs.CorruptDataError) as e:
        open_(empty)
    assert str(e.value) == (f"{empty}: file of 0 bytes is too small for "
                            "Parquet (at least 12)")
    good = write_catalogue([stac_item("one", {"B04": synthetic_cog})],
                           tmp_path / "good.parquet")
    data = good.read_bytes()
    assert open_(good).shape[:2] == (1, 1)
    for cut in (len(data) // 2, len(data) - 1):
        trunc = tmp_path / f"trunc{cut}.parquet"
        trunc.write_bytes(data[:cut])
        with pytest.raises(lazycogs.CorruptDataError) as e:
            open_(trunc)
        assert str(e.value).startswith(f"{trunc}: ")
    # A .json href is read (the reference's ValueError does not apply).
    js = write_catalogue([stac_item("one", {"B04": synthetic_cog})],
                         tmp_path / "items.json")
    assert open_(js).shape[:2] == (1, 1)


@pytest.fixture(scope="module")
def two_dates(synthetic_cog, tmp_path_factory):
    """Item 'here' (2024-06-15) over the synthetic COG, item 'there'
    (2024-06-16) over a copy 30 km east."""
    d = tmp_path_factory.mktemp("two_dates")
    east = d / "east.tif"
    with rasterio.open(synthetic_cog) as src:
        profile, arr = src.profile, src.read(1)
    profile["transform"] = rasterio.transform.from_origin(
        SYNTH_ORIGIN[0] + 30000.0, SYNTH_ORIGIN[1], SYNTH_RES, SYNTH_RES)
    with rasterio.open(east, "w", **profile) as dst:
        dst.write(arr, 1)
    items = [stac_item("here", {"B04": synthetic_cog},
                       datetime="2024-06-15T10:00:00Z"),
             stac_item("there", {"B04": east},
                       datetime="2024-06-16T10:00:00Z")]
    return write_catalogue(items, d / "items.parquet")


def test_step_without_items_is_fill(two_dates):
    """No items in a step's window: nodata-filled (-9999), shape
    (1, 2, 1, 4); int time squeezes; a full squeeze is 0-d."""
    bbox = (SYNTH_ORIGIN[0], SYNTH_ORIGIN[1] - 20000.0,
            SYNTH_ORIGIN[0] + 60000.0, SYNTH_ORIGIN[1])
    da = lazycogs.open(str(two_dates), crs=SYNTH_CRS, bbox=bbox,
                       resolution=100.0, nodata=-9999, dtype="int32")
    assert da.shape[:2] == (1, 2)
    win = da.isel(y=slice(10, 11), x=slice(20, 24))
    got = win.values
    assert got.shape == (1, 2, 1, 4)
    assert (got[0, 1] == -9999).all()  # 'there' is 30 km east
    # 100 m over overviews of 20/40/80/160 m: the reference's rule reads
    # the 80 m level (overview_level 2); nearest takes the pixel holding
    # each centre.
    with rasterio.open(lazycogs_href(two_dates, "here"),
                       overview_level=2) as src:
        ovr = src.read(1)
    cols = [int((i + 0.5) * 100.0 // 80.0) for i in range(20, 24)]
    row = int(10.5 * 100.0 // 80.0)
    np.testing.assert_array_equal(got[0, 0, 0], ovr[row, cols])
    one = da.isel(time=0, y=slice(10, 11), x=slice(20, 24))
    assert one.dims == ("band", "y", "x") and one.values.shape == (1, 1, 4)
    scalar = da.isel(band=0, time=1, y=10, x=20)
    assert scalar.values.shape == () and scalar.values == -9999


def lazycogs_href(catalogue, item_id):
    """An item's B04 href, read back with pyarrow (independent of us)."""
    import pyarrow.parquet as pq

    t = pq.read_table(catalogue, columns=["id", "assets"]).to_pylist()
    (row,) = [r for r in t if r["id"] == item_id]
    return row["assets"]["B04"]["href"]


def test_errors_forwarded_and_chunk_read_error(vdir, tmp_path):
    """A later item whose COG is gone: errors='raise' (the default) fails
    the compute with ChunkReadError(item_id, bands, original) from the
    original; errors='ignore' skips it (P keeps the fill)."""
    gone = tmp_path / "gone.tif"
    gone.write_bytes(_variant(vdir, "base2").read_bytes())
    href = two_items(tmp_path, "gone", hole(vdir), gone)
    da = small(href)  # opens: only the first item's header is sampled
    gone.unlink()
    with pytest.raises(lazycogs.ChunkReadError) as e:
        pixel(da)
    err = e.value
    assert err.item_id == "second" and err.bands == ["B04"]
    assert err.__cause__ is err.original
    assert str(err).startswith(
        "Failed to read bands ['B04'] from item 'second': ")
    assert "gone.tif" in str(err)
    ign = small(href, errors="ignore")
    assert pixel(ign) == 0  # the first item's nodata hole stays fill
    assert pixel(ign, PY + 1, PX) == base_value(P[0] + 1, P[1])
    assert lazycogs._explain._find_backend(ign).errors == "ignore"
    assert lazycogs._explain._find_backend(da).errors == "raise"


def test_concurrent_reads_equal_serial(ci_world):
    """Reads of one DataArray from 8 threads at once equal serial reads
    (the reference runs concurrent async_getitem calls)."""
    da = lazycogs.open(str(ci_world / "items.parquet"), crs="EPSG:5070",
                       bbox=(150000.0, 2540000.0, 560000.0, 2740000.0),
                       resolution=1000.0, bands=["red", "nir"],
                       sortby="eo:cloud_cover")
    nt = da.sizes["time"]
    jobs = [dict(time=slice(t, t + 2), y=slice(y, y + 60),
                 x=slice(x, x + 90))
            for t in range(0, nt - 1, 3) for y in (0, 100) for x in (0, 250)]
    serial = [da.isel(**j).values for j in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        par = list(pool.map(lambda j: da.isel(**j).values, jobs))
    for a, b in zip(serial, par):
        np.testing.assert_array_equal(a, b)
    assert sum(int((a != 0).sum()) for a in serial) > 0


@pytest.mark.parametrize("limit", [1, 3, 32])
def test_max_concurrent_reads_caps_items_in_flight(ci_world, http_server,
                                                   limit):
    """max_concurrent_reads bounds the items in flight of one access,
    across its time steps: with 50 ms of latency per request, the COGs
    (one per item) with requests in progress at once never exceed the
    limit, and reach it (the server's request log gives the intervals).
    nthreads=8: the decode pool (CPU count by default) bounds too."""
    srv = http_server(ci_world, latency_ms=50)
    prefix = f"file://{ci_world}/"
    da = lazycogs.open(
        str(ci_world / "items.parquet"), crs="EPSG:32615",
        bbox=(495000.0, 5185000.0, 515000.0, 5205000.0), resolution=200.0,
        bands=["red"], mosaic_method=lazycogs.HighestMethod,
        max_concurrent_reads=limit, nthreads=8,
        store=lazycogs.store.from_url(srv.url),
        path_from_href=lambda h: h[len(prefix):])
    n = [s["nitems"] for s in lazycogs._explain._find_backend(da).times]
    steps = [i for i, k in enumerate(n) if k >= 2][:3]
    assert len(steps) == 3
    srv.clear_log()
    da.isel(time=steps).values
    log = [e for e in srv.log if e["path"].startswith("/cogs/")]
    intervals = {}
    for e in log:
        start, end = e["time"], e["time"] + e["duration_ms"] / 1000.0
        a, b = intervals.get(e["path"], (start, end))
        intervals[e["path"]] = (min(a, start), max(b, end))
    assert len(intervals) >= 4  # items of three steps were read
    # The server stamps an answer's end after writing it, on that
    # connection's thread; the client may by then have sent the next
    # item's request, stamped by another thread: under load a few ms
    # apart. An item really in flight with another lasts the 50 ms of
    # latency at least, so ends are taken 5 ms early: jitter is not
    # counted, a real excess still is.
    events = sorted([(a, 1) for a, _ in intervals.values()] +
                    [(b - 0.005, -1) for _, b in intervals.values()])
    peak = cur = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    if limit < 32:
        assert peak == limit, (peak, len(intervals))
    else:  # the cap above is what bounds (the pool has 8 threads)
        assert peak > 3, (peak, len(intervals))


@pytest.mark.parametrize("filt, sortby, keep, key", [
    ("eo:cloud_cover < 40", "-eo:cloud_cover",
     lambda it: it["cloud_cover"] < 40, lambda it: -it["cloud_cover"]),
    # CQL2-JSON as a dict; sortby as STAC API dicts.
    ({"op": "<", "args": [{"property": "eo:cloud_cover"}, 40]},
     [{"field": "eo:cloud_cover", "direction": "desc"}],
     lambda it: it["cloud_cover"] < 40, lambda it: -it["cloud_cover"]),
    # Nested OR over two fields; sortby a list with a '+' prefix.
    ("(eo:cloud_cover < 20 OR platform = 'sentinel-2c') AND "
     "eo:cloud_cover < 95", ["+eo:cloud_cover"],
     lambda it: (it["cloud_cover"] < 20 or it["platform"] == "sentinel-2c")
     and it["cloud_cover"] < 95, lambda it: it["cloud_cover"]),
])
def test_explain_follows_sortby_and_filter(ci_world, filt, sortby, keep,
                                           key):
    """explain's per-step items follow sortby and honour filter (the
    reference forwards both, as text, dict or list, to each query),
    checked against world.json (make_world's own record of the items)."""
    world = json.loads((Path(ci_world) / "world.json").read_text())["items"]
    da = lazycogs.open(str(ci_world / "items.parquet"), crs="EPSG:5070",
                       bbox=(-700000.0, 2220000.0, 600000.0, 2930000.0),
                       resolution=5000.0, bands=["red"], sortby=sortby,
                       filter=filt)
    labels = [s["label"] for s in lazycogs._explain._find_backend(da).times]
    plan = da.lazycogs.explain()
    assert len(plan.chunk_reads) == len(labels)
    for label, chunk in zip(labels, plan.chunk_reads):
        want = sorted((it for it in world if it["date"] == label
                       and keep(it)), key=key)
        assert [r.item_id for r in chunk.cog_reads] == \
            [it["id"] for it in want]
    n = sum(1 for it in world if keep(it))
    assert 0 < n < len(world)
    assert sum(c.n_cog_reads for c in plan.chunk_reads) == n


def test_start_datetime_fallback_in_parquet(synthetic_cog, tmp_path):
    """A real (rustac) parquet item with datetime null and start/end
    datetimes is read under time_period=None at its start instant (items
    with no time at all: tests/c/test_collection.c)."""
    span = stac_item("span", {"B04": synthetic_cog}, datetime=None,
                     start_datetime="2024-06-15T10:30:00Z",
                     end_datetime="2024-06-20T00:00:00Z")
    plain = stac_item("plain", {"B04": synthetic_cog},
                      datetime="2024-06-14T08:00:00Z")
    href = write_catalogue([plain, span], tmp_path / "span.parquet")
    da = small(href, time_period=None)
    np.testing.assert_array_equal(
        da.time.values, np.array(["2024-06-14T08:00:00",
                                  "2024-06-15T10:30:00"],
                                 dtype="datetime64[ns]"))
    assert pixel(da.isel(time=[1])) == base_value(*P)


def test_ignored_failure_is_logged(vdir, tmp_path, caplog):
    import logging

    gone = tmp_path / "gone.tif"
    gone.write_bytes(_variant(vdir, "base2").read_bytes())
    href = two_items(tmp_path, "gone", hole(vdir), gone)
    da = small(href, errors="ignore")
    gone.unlink()
    with caplog.at_level(logging.WARNING, logger="lazycogs"):
        value = pixel(da)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text
    assert warnings[0].getMessage().startswith(
        "Failed to read bands ['B04'] from item 'second': "), caplog.text
    assert "gone.tif" in warnings[0].getMessage()
    # P is a hole in the first item and the second is gone: the fill.
    assert value == 0
    assert pixel(da, PY, PX + 1) == 255  # Q: the first item is still read


def test_open_inside_a_running_event_loop(vdir, synthetic_cog):
    """open() (sync) works when called from a coroutine on a running
    loop, and so does a read there."""
    import asyncio

    href = write_catalogue([stac_item("one", {"B04": synthetic_cog})],
                           vdir / "one.parquet")

    async def go():
        return pixel(small(href))

    assert asyncio.run(go()) == base_value(*P)


def test_explain_headers_use_path_from_href(ci_world, http_server):
    """The reference's explain(fetch_headers=True) ignores path_from_href
    (§6: fails for stores that need it). Ours opens the headers through
    the same store and paths as reads: levels and windows come back, and
    the server saw the header requests."""
    srv = http_server(ci_world)
    prefix = f"file://{ci_world}/"
    da = lazycogs.open(
        str(ci_world / "items.parquet"), crs="EPSG:32615",
        bbox=(495000.0, 5185000.0, 515000.0, 5205000.0), resolution=200.0,
        bands=["red"], store=lazycogs.store.from_url(srv.url),
        path_from_href=lambda h: h[len(prefix):])
    df = da.isel(time=slice(0, 4)).lazycogs.explain(
        fetch_headers=True).to_dataframe()
    reads = df[df.item_id.notna()]
    assert len(reads) > 0
    assert reads.overview_resolution.notna().all()
    assert reads.window_width.notna().all()
    # The server logs a request just after answering it: wait for them.
    wanted = {f"/cogs/{i}/red.tif" for i in reads.item_id}
    deadline = time.monotonic() + 5
    while not wanted <= {e["path"] for e in srv.log} \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    assert wanted <= {e["path"] for e in srv.log}
