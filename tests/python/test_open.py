"""lazycogs.open: the DataArray's structure (reference section 2.8), indexing
(2.9), copies, pickling, dask (threads and a distributed cluster of worker
processes), async loads and rioxarray interop, on the ci world."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import asyncio
import copy
import mmap
import pickle

import numpy as np
import pytest
import xarray as xr

import lazycogs
from lazycogs import _output

CRS = "EPSG:5070"
# A part of the ci world in CONUS Albers at 200 m: small enough for tests.
BBOX = (100_000, 2_560_000, 300_000, 2_700_000)
RES = 200


@pytest.fixture(scope="module")
def da(ci_world):
    return lazycogs.open(str(ci_world / "items.parquet"), crs=CRS, bbox=BBOX,
                         resolution=RES, bands=["red", "green"],
                         dtype="int16")


def test_structure(da):
    assert da.dims == ("band", "time", "y", "x")
    assert da.shape[:1] == (2,) and da.shape[2:] == (700, 1000)
    assert da.dtype == np.int16
    assert list(da.band.values) == ["red", "green"]
    assert da.band.dtype.kind == "U"  # unicode, over an object index
    assert list(da.indexes) == ["band", "time", "y", "x"]
    assert da.sel(band="green").band.item() == "green"
    assert da.sel(band=["green", "red"]).sizes["band"] == 2
    with pytest.raises(KeyError):
        da.sel(band="nir")
    assert da.time.dtype == np.dtype("datetime64[s]")
    assert np.all(np.diff(da.time.values) > np.timedelta64(0))
    np.testing.assert_allclose(da.x.values[:2], [100_100, 100_300])
    np.testing.assert_allclose(da.y.values[:2], [2_699_900, 2_699_700])
    assert da.x.dtype == da.y.dtype == np.float64
    sr = da.spatial_ref
    assert sr.values == 0 and sr.dtype == np.int64
    assert sr.attrs["crs_wkt"] == sr.attrs["spatial_ref"]
    assert sr.attrs["GeoTransform"] == "100000.0 200.0 0.0 2700000.0 0.0 -200.0"
    assert list(da.attrs) == [
        "grid_mapping", "zarr_conventions", "spatial:dimensions",
        "spatial:bbox", "spatial:transform_type", "spatial:transform",
        "spatial:shape", "spatial:registration", "proj:code", "_FillValue"]
    assert da.attrs["spatial:transform"] == [200.0, 0.0, 100000.0, 0.0,
                                             -200.0, 2700000.0]
    assert da.attrs["spatial:shape"] == [700, 1000]
    assert da.attrs["proj:code"] == "EPSG:5070"
    assert da.attrs["_FillValue"] == 0
    assert [c["name"] for c in da.attrs["zarr_conventions"]] == ["proj:",
                                                                 "spatial:"]
    for absent in ("nodata", "missing_value", "_stac_backend"):
        assert absent not in da.attrs
    assert "_FillValue" not in da.encoding


def test_crs_object_and_wkt(ci_world):
    pyproj = pytest.importorskip("pyproj")
    crs = pyproj.CRS.from_epsg(5070)
    da = lazycogs.open(str(ci_world / "items.parquet"), crs=crs, bbox=BBOX,
                       resolution=RES, bands=["red"])
    assert pyproj.CRS.from_wkt(da.spatial_ref.attrs["crs_wkt"]).equals(crs)


def test_indexing_agrees(da):
    """A point, a subset and a bigger window read the same pixels."""
    t = 3
    block = da.isel(time=t, y=slice(300, 340), x=slice(500, 560)).values
    assert block.shape == (2, 40, 60)
    sub = da.isel(time=t, y=slice(310, 320), x=slice(505, 525)).values
    np.testing.assert_array_equal(sub, block[:, 10:20, 5:25])
    point = da.isel(time=t, y=315, x=512).values
    np.testing.assert_array_equal(point, block[:, 15, 12])
    stepped = da.isel(time=t, y=slice(300, 340, 3), x=slice(500, 560, 7))
    np.testing.assert_array_equal(stepped.values, block[:, ::3, ::7])
    assert da.isel(band=1, time=t, y=315, x=512).values.shape == ()


def _mapping_flags(address: int) -> str:
    """The permissions of the mapping holding address (/proc/self/maps)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, flags = line.split()[:2]
            lo, hi = (int(v, 16) for v in span.split("-"))
            if lo <= address < hi:
                return flags
    raise AssertionError(f"no mapping holds {address:#x}")


def test_large_reads_fill_mapped_arrays(da):
    """A read of 4 MiB and more fills an anonymous mapping (no huge pages:
    lazycogs/_output.py), smaller ones np.empty; the pixels agree."""
    pair = da.isel(time=slice(3, 5)).values
    assert pair.nbytes >= _output.MAPPED_MIN_NBYTES
    singles = [da.isel(time=t).values for t in (3, 4)]
    assert singles[0].nbytes < _output.MAPPED_MIN_NBYTES
    base = pair
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)
    assert _mapping_flags(pair.ctypes.data) == "rw-p"  # private, not shmem
    assert pair.flags.writeable and pair.flags.c_contiguous
    assert np.count_nonzero(pair) > 0
    np.testing.assert_array_equal(pair, np.stack(singles, axis=1))


def test_chunked_point_keeps_scalar_coords(da):
    got = da.chunk({"time": 1}).sel(x=200_000, y=2_630_000,
                                    method="nearest").compute()
    assert got.dims == ("band", "time")
    assert got.x.shape == () and got.y.shape == ()
    want = da.sel(x=200_000, y=2_630_000, method="nearest").values
    np.testing.assert_array_equal(got.values, want)


def test_copies_and_sortby_time(da):
    assert copy.deepcopy(da).identical(da)
    flipped = da.sortby("time", ascending=False)
    np.testing.assert_array_equal(
        flipped.isel(time=0, y=slice(0, 5), x=slice(0, 5)).values,
        da.isel(time=-1, y=slice(0, 5), x=slice(0, 5)).values)


def test_pickle_reopens(da):
    back = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(
        back.isel(time=2, y=slice(100, 110), x=slice(200, 220)).values,
        da.isel(time=2, y=slice(100, 110), x=slice(200, 220)).values)


def test_pickle_in_process_shares_the_collection(ci_world, http_server,
                                                 tmp_path, monkeypatch):
    """dask tokenizes .chunk() by pickling and unpickling the array: in the
    process that opened it, unpickling gives the same backend (no reopen,
    no request); once it is gone, unpickling opens anew. Another process
    reopens (test_distributed_workers)."""
    import gc

    from conftest import _rewrite_catalogs
    from lazycogs._explain import _find_backend

    from lazycogs import _open

    opened = []

    real = _open._ext.Collection

    def counted(*args):
        opened.append(args[0])
        return real(*args)

    monkeypatch.setattr(_open._ext, "Collection", counted)
    srv = http_server(ci_world)
    catalogs = _rewrite_catalogs(ci_world, srv.url, tmp_path / "catalogs")
    href = str(catalogs["items_parquet"])
    da = lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                       bands=["red"])
    backend = _find_backend(da)
    data = pickle.dumps(backend)
    assert pickle.loads(data) is backend
    before = len(srv.log)
    chunked = da.chunk(time=1)
    assert len(opened) == 1  # no reopen
    assert len(srv.log) == before
    sub = chunked.isel(time=2, y=slice(10, 20), x=slice(20, 30))
    np.testing.assert_array_equal(
        sub.values, da.isel(time=2, y=slice(10, 20), x=slice(20, 30)).values)
    del da, chunked, sub, backend
    gc.collect()
    again = pickle.loads(data)  # reopened from its arguments
    assert len(opened) == 2
    assert again.shape[0] == 1 and again.bands == ["red"]


def test_load_async(da):
    sub = da.isel(time=slice(0, 2), y=slice(0, 8), x=slice(0, 8))
    got = asyncio.run(sub.load_async())
    np.testing.assert_array_equal(got.values, sub.values)


def test_open_async(ci_world):
    async def go():
        return await lazycogs.open_async(
            str(ci_world / "items.parquet"), crs=CRS, bbox=BBOX,
            resolution=RES, bands=["red"])

    da = asyncio.run(go())
    assert da.dims == ("band", "time", "y", "x")


def test_distributed_workers(da):
    """The backend reopens in worker processes of a LocalCluster."""
    distributed = pytest.importorskip("distributed")
    sub = da.isel(time=slice(0, 4), y=slice(200, 264), x=slice(400, 464))
    want = sub.values
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  processes=True, dashboard_address=None) \
            as cluster, distributed.Client(cluster):
        got = sub.chunk({"time": 1}).compute()
    np.testing.assert_array_equal(got.values, want)


def test_rioxarray_to_raster(da, tmp_path):
    rioxarray = pytest.importorskip("rioxarray")  # noqa: F841
    rasterio = pytest.importorskip("rasterio")
    import warnings

    two_d = da.isel(band=0, time=1, y=slice(0, 10), x=slice(0, 10))
    assert two_d.rio.crs.to_epsg() == 5070
    assert two_d.rio.nodata == 0 and two_d.rio.encoded_nodata is None
    assert tuple(two_d.rio.transform())[:6] == (200.0, 0.0, 100000.0, 0.0,
                                                -200.0, 2700000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        two_d.rio.to_raster(tmp_path / "a.tif")
        da.isel(time=1, y=slice(0, 10), x=slice(0, 10)).rio.to_raster(
            tmp_path / "b.tif")
    with rasterio.open(tmp_path / "b.tif") as src:
        assert src.count == 2 and src.crs.to_epsg() == 5070
        assert src.nodata == 0
        np.testing.assert_array_equal(
            src.read(), da.isel(time=1, y=slice(0, 10), x=slice(0, 10)).values)


def test_align_bbox():
    assert lazycogs.align_bbox([10, 0, 499980, 0, -10, 6800040],
                               (551893.3, 6752047.1, 705001.2, 6842111.0)) \
        == (551890.0, 6752040.0, 705010.0, 6842120.0)


def test_mosaic_method_contract(ci_world):
    href = str(ci_world / "items.parquet")
    da = lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                       bands=["red"], mosaic_method=lazycogs.MeanMethod)
    assert da.dtype == np.float32
    with pytest.raises(ValueError, match="requires a floating-point dtype"):
        lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                      bands=["red"], dtype="uint16",
                      mosaic_method=lazycogs.MeanMethod)
    with pytest.raises(TypeError, match="mosaic_method"):
        lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                      mosaic_method=str)


def test_no_items(ci_world):
    with pytest.raises(ValueError, match="No STAC items matched"):
        lazycogs.open(str(ci_world / "items.parquet"), crs=CRS,
                      bbox=(1_500_000, 500_000, 1_600_000, 600_000),
                      resolution=RES)


def test_memory_warning(ci_world, caplog):
    import logging

    da = lazycogs.open(str(ci_world / "items.parquet"), crs=CRS,
                       bbox=(-700_000, 2_220_000, 600_000, 2_930_000),
                       resolution=100, bands=["red", "green", "blue"],
                       max_concurrent_reads=12)
    lazycogs._open.MEMORY_WARNING_NBYTES = 1
    try:
        with caplog.at_level(logging.WARNING, logger="lazycogs"):
            da.isel(time=1, y=slice(0, 2), x=slice(0, 2)).values
    finally:
        lazycogs._open.MEMORY_WARNING_NBYTES = 500_000_000
    assert "Estimated peak in-flight memory for bands=['red', 'green', " \
           "'blue']" in caplog.text
    assert "Lower max_concurrent_reads or add spatial chunks" in caplog.text


def test_dataarray_is_xarray(da):
    assert isinstance(da, xr.DataArray)


def test_path_from_href(ci_world, http_world):
    """A catalogue of file:// hrefs read from the HTTP server: the store is
    the server's root and path_from_href turns each href into its path
    there. The function is called while opening, never during reads."""
    prefix = f"file://{ci_world}/"
    calls = []

    def to_path(href):
        calls.append(href)
        assert href.startswith(prefix)
        return href[len(prefix):]

    href = str(ci_world / "items.parquet")
    remote = lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                           bands=["red"], store=lazycogs.store.from_url(
                               http_world.url), path_from_href=to_path)
    assert calls
    ncalls = len(calls)
    local = lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                          bands=["red"])
    http_world.server.clear_log()
    window = dict(time=slice(0, 3), y=slice(200, 300), x=slice(300, 400))
    np.testing.assert_array_equal(remote.isel(**window).values,
                                  local.isel(**window).values)
    assert len(calls) == ncalls
    assert any(e["path"].startswith("/cogs/")
               for e in http_world.server.wait_for_log(1))


def test_path_from_href_errors(ci_world):
    href = str(ci_world / "items.parquet")

    def broken(h):
        raise KeyError(f"no path for {h}")

    with pytest.raises(KeyError, match="no path for"):
        lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                      bands=["red"], path_from_href=broken)
    with pytest.raises(TypeError, match="must return a str"):
        lazycogs.open(href, crs=CRS, bbox=BBOX, resolution=RES,
                      bands=["red"], path_from_href=lambda h: 42)
