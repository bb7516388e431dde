"""lazycogs.open: a lazy (band, time, y, x) DataArray over a STAC catalogue.

The C engine does everything between the catalogue and the pixels (see
docs/engine.md); this module turns its collection handle into xarray
objects: coordinates, CF and rioxarray metadata, lazy indexing, dask
chunks, async loads and pickling for distributed workers.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import uuid
import weakref
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from . import _ext, _output
from ._errors import ChunkReadError
from ._mosaic import MosaicMethodBase, method_id
from .store import as_store

_log = logging.getLogger("lazycogs")

# A read whose items in flight would hold more than this many bytes of
# decoded pixels gets a warning (the seed notebook shows it).
MEMORY_WARNING_NBYTES = 500_000_000

# Cancel flags of the reads running now, in any thread. Python delivers
# Ctrl-C to the main thread only, while dask runs chunk reads in its worker
# threads: the SIGINT hook below sets every flag, so those reads stop too.
_active_flags: dict[int, np.ndarray] = {}
_active_lock = threading.Lock()


def _cancel_active_reads(signum, frame) -> None:
    with _active_lock:
        for flag in _active_flags.values():
            flag[0] = 1
    signal.default_int_handler(signum, frame)


def _install_sigint_hook() -> None:
    """Routes Ctrl-C to the running reads as well, when Python's default
    handler is in place (a handler of the application's is left alone)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _cancel_active_reads)


_ZARR_CONVENTIONS = [
    {
        "name": "proj:",
        "uuid": "f17cb550-5864-4468-aeb7-f3180cfb622f",
        "schema_url": "https://raw.githubusercontent.com/zarr-experimental/"
                      "geo-proj/refs/tags/v1/schema.json",
        "spec_url": "https://github.com/zarr-experimental/geo-proj/blob/v1/"
                    "README.md",
        "description": "Coordinate reference system information for "
                       "geospatial data",
    },
    {
        "name": "spatial:",
        "uuid": "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4",
        "schema_url": "https://raw.githubusercontent.com/zarr-conventions/"
                      "spatial/refs/tags/v1/schema.json",
        "spec_url": "https://github.com/zarr-conventions/spatial/blob/v1/"
                    "README.md",
        "description": "Spatial coordinate information",
    },
]


def _crs_text(crs: Any) -> str:
    if isinstance(crs, str):
        return crs
    to_wkt = getattr(crs, "to_wkt", None)
    if callable(to_wkt):
        return to_wkt()
    raise TypeError(f"crs must be a string or have to_wkt(), got {crs!r}")


def _json_or_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _options(*, datetime, bbox, crs, resolution, filter, ids, bands, sortby,
             nodata, dtype, mosaic_method, time_period, store,
             max_concurrent_reads, errors, resampling, catalog_store,
             nthreads) -> dict:
    if errors not in ("raise", "ignore"):
        raise ValueError(f"errors must be 'raise' or 'ignore', got {errors!r}")
    if bbox is None or crs is None or resolution is None:
        raise TypeError("open() needs bbox=, crs= and resolution=")
    if isinstance(sortby, (list, tuple)) and all(isinstance(s, str)
                                                 for s in sortby):
        sortby = ",".join(sortby)
    return {
        "crs": _crs_text(crs),
        "bbox": tuple(float(v) for v in bbox),
        "resolution": float(resolution),
        "datetime": datetime,
        "filter": _json_or_text(filter),
        "ids": list(ids) if ids is not None else None,
        "bands": list(bands) if bands is not None else None,
        "sortby": _json_or_text(sortby),
        "time_period": "none" if time_period is None else time_period,
        "nodata": None if nodata is None else float(nodata),
        "dtype": None if dtype is None else np.dtype(dtype).name,
        "mosaic_method": method_id(mosaic_method),
        "resampling": resampling,
        "store": as_store(store),
        "catalog_store": as_store(catalog_store),
        "max_concurrent_reads": int(max_concurrent_reads),
        "errors": errors,
        "nthreads": int(nthreads or 0),
    }


# The collections open in this process, by the key their pickles carry.
_live: "weakref.WeakValueDictionary[str, CollectionArray]" = \
    weakref.WeakValueDictionary()

# The collections this process reopened from pickles (dask.distributed
# workers), most recently used last, held strongly. A worker drops its
# copy when a graph's tasks are done, so without this every compute()
# reopened the collection: a catalogue load and all header fetches again,
# and with an explicit store also a new store, whose headers the header
# cache (keyed by store and href) can never share with the last one; the
# cache then filled up to its byte budget with entries nobody could hit
# (a worker's RSS grew ~6 MB per compute of the ci world up to +260 MB).
REOPENED_MAX = 8
_reopened: "dict[str, CollectionArray]" = {}
_reopen_lock = threading.Lock()


def _reopen(href: str, options: dict, user_crs: str,
            key: str | None = None) -> "CollectionArray":
    """Unpickles a CollectionArray: the same object while it is alive in
    this process (dask pickles and unpickles arrays to tokenize them, and
    a reopen costs a catalogue load and header fetches), else a new open
    of the same arguments (another process: dask.distributed workers),
    kept for the next REOPENED_MAX - 1 other reopens."""
    if key is None:
        return CollectionArray(href, options, user_crs)
    # One lock: tasks of a worker unpickling the same array at once must
    # not all open it.
    with _reopen_lock:
        live = _live.get(key)
        if live is None:
            live = CollectionArray(href, options, user_crs, key=key)
        elif key not in _reopened:
            return live  # opened here by lazycogs.open: not ours to keep
        _reopened.pop(key, None)
        _reopened[key] = live
        while len(_reopened) > REOPENED_MAX:
            del _reopened[next(iter(_reopened))]
        return live


class CollectionArray(BackendArray):
    """The lazy array behind a DataArray of ``lazycogs.open``: every
    indexing turns into one read of the C collection."""

    def __init__(self, href: str, options: dict, user_crs: str,
                 key: str | None = None):
        self.href = href
        self._options = options
        self.user_crs = user_crs
        self.collection = _ext.Collection(href, options)
        self.key = key or uuid.uuid4().hex
        _live[self.key] = self
        info = self.collection.info()
        self.info = info
        self.bands = self.collection.bands()
        self.times = self.collection.times()
        self.shape = (info["nbands"], info["ntimes"], info["height"],
                      info["width"])
        self.dtype = np.dtype(info["dtype"])
        self.errors = options["errors"]
        self.max_concurrent_reads = options["max_concurrent_reads"]

    def __repr__(self) -> str:
        return f"CollectionArray(bands={self.bands!r}, shape={self.shape})"

    # A collection is immutable and thread-safe: copies share it.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        # Pickles as its open arguments; the other process reopens (dask
        # distributed workers).
        return (_reopen, (self.href, self._options, self.user_crs, self.key))

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read)

    async def async_getitem(self, key):
        return await asyncio.to_thread(self.__getitem__, key)

    @staticmethod
    def _indices(k, n: int) -> tuple[list[int], bool]:
        if isinstance(k, (int, np.integer)):
            return [int(k) % n if k < 0 else int(k)], True
        return list(range(*k.indices(n))), False

    def _read(self, key: tuple) -> np.ndarray:
        nb, nt, height, width = self.shape
        bands, band_scalar = self._indices(key[0], nb)
        times, time_scalar = self._indices(key[1], nt)
        ys, y_scalar = self._indices(key[2], height)
        xs, x_scalar = self._indices(key[3], width)
        shape = (len(bands), len(times), len(ys), len(xs))
        fill = self.info["nodata"] if self.info["has_nodata"] else 0
        if 0 in shape:
            out = np.full(shape, fill, dtype=self.dtype)
        else:
            y0, y1 = min(ys), max(ys) + 1
            x0, x1 = min(xs), max(xs) + 1
            out = _output.empty((len(bands), len(times), y1 - y0, x1 - x0),
                                self.dtype)
            self._warn_memory(bands, times, x1 - x0, y1 - y0)
            self._read_window(bands, times, x0, y0, x1 - x0, y1 - y0, out)
            # Stepped or reversed spatial slices: pick from the window.
            if ys != list(range(y0, y1)):
                out = out[:, :, [y - y0 for y in ys], :]
            if xs != list(range(x0, x1)):
                out = out[:, :, :, [x - x0 for x in xs]]
        squeeze = tuple(axis for axis, scalar in
                        enumerate((band_scalar, time_scalar, y_scalar,
                                   x_scalar)) if scalar)
        return out.squeeze(axis=squeeze) if squeeze else out

    def _warn_memory(self, bands, times, width, height) -> None:
        nitems = sum(self.times[t]["nitems"] for t in times)
        reads = min(self.max_concurrent_reads, nitems)
        nbytes = reads * len(bands) * width * height * 4
        if nbytes > MEMORY_WARNING_NBYTES:
            names = [self.bands[b] for b in bands]
            _log.warning(
                "Estimated peak in-flight memory for bands=%r is ~%d MB "
                "(%d concurrent reads \u00d7 %d bands \u00d7 %dx%d px). Lower "
                "max_concurrent_reads or add spatial chunks to reduce memory "
                "use.", names, nbytes // 1_000_000, reads, len(bands), width,
                height)

    def _read_window(self, bands, times, x0, y0, width, height, out) -> None:
        """Reads in a helper thread so that Ctrl-C (KeyboardInterrupt in
        the main thread) cancels the C read promptly."""
        cancel = np.zeros(1, dtype=np.intc)
        result: dict[str, Any] = {}

        def work():
            with _active_lock:
                _active_flags[id(cancel)] = cancel
            try:
                result["stats"] = self.collection.read(
                    bands, times, x0, y0, width, height, out, cancel=cancel)
            except BaseException as exc:  # re-raised in the caller
                result["error"] = exc
            finally:
                with _active_lock:
                    del _active_flags[id(cancel)]

        if threading.current_thread() is not threading.main_thread():
            work()
        else:
            thread = threading.Thread(target=work, name="lazycogs-read",
                                      daemon=True)
            thread.start()
            try:
                while thread.is_alive():
                    thread.join(0.05)
            except KeyboardInterrupt:
                cancel[0] = 1
                thread.join()
                raise
        error = result.get("error")
        if error is None:
            _warn_ignored(result["stats"])
            return
        item = getattr(error, "item_id", None)
        if item and not getattr(error, "contract_violation", False) \
                and not isinstance(error, ValueError):
            raise ChunkReadError(item, list(getattr(error, "bands", [])),
                                 error) from error
        raise error


def _warn_ignored(stats: dict) -> None:
    """Logs the items a read skipped with errors="ignore"."""
    messages = stats.get("ignored", ())
    for message in messages:
        _log.warning("%s", message)
    more = stats.get("items_failed", 0) - len(messages)
    if more > 0:
        _log.warning("%d more items failed and were skipped", more)


def _time_coord(times: list[dict]) -> np.ndarray:
    unit = "ns" if times and times[0]["unit"] == "ns" else "s"
    return np.array([t["coord"] for t in times], dtype=f"datetime64[{unit}]")


def _dataarray(backend: CollectionArray, bbox, chunks) -> xr.DataArray:
    info = backend.info
    a, b, c, d, e, f = info["transform"]
    nb, nt, height, width = backend.shape
    x = c + (np.arange(width) + 0.5) * a
    y = f + (np.arange(height) + 0.5) * e
    wkt = info["crs_wkt"]
    gdal = " ".join(str(float(v)) for v in (c, a, b, f, d, e))
    spatial_ref = xr.Variable((), np.int64(0), {
        "crs_wkt": wkt, "spatial_ref": wkt, "GeoTransform": gdal})
    data = indexing.LazilyIndexedArray(backend)
    var = xr.Variable(("band", "time", "y", "x"), data)
    if chunks is not None:
        var = var.chunk(chunks)
    attrs: dict[str, Any] = {
        "grid_mapping": "spatial_ref",
        "zarr_conventions": _ZARR_CONVENTIONS,
        "spatial:dimensions": ["y", "x"],
        "spatial:bbox": list(bbox),
        "spatial:transform_type": "affine",
        "spatial:transform": [float(v) for v in (a, b, c, d, e, f)],
        "spatial:shape": [height, width],
        "spatial:registration": "pixel",
    }
    if info["epsg"]:
        attrs["proj:code"] = f"EPSG:{info['epsg']}"
    else:
        attrs["proj:wkt2"] = wkt
    if info["has_nodata"]:
        attrs["_FillValue"] = backend.dtype.type(info["nodata"]).item() \
            if backend.dtype.kind in "iu" else float(info["nodata"])
    band = np.array(backend.bands, dtype=str)
    coords = {"band": band, "time": _time_coord(backend.times), "y": y, "x": x}
    # pandas 3 keeps an index of str in pyarrow, and a process's first such
    # index costs 4-6 ms of imports and regular expressions, more than the
    # rest of open()'s Python. An object index selects the same way, and the
    # band coordinate keeps its unicode dtype.
    indexes = {"band": xr.indexes.PandasIndex(
        pd.Index(band, dtype=object), "band", coord_dtype=band.dtype)}
    indexes.update((dim, xr.indexes.PandasIndex(values, dim))
                   for dim, values in coords.items() if dim != "band")
    coords["spatial_ref"] = spatial_ref
    return xr.DataArray(var, coords=xr.Coordinates(coords, indexes=indexes),
                        attrs=attrs)


def open(  # noqa: A001 - the public name, as upstream
    href: str,
    *,
    datetime: str | None = None,
    bbox: Sequence[float],
    crs: Any,
    resolution: float,
    filter: str | Mapping | None = None,  # noqa: A002
    ids: Sequence[str] | None = None,
    bands: Sequence[str] | None = None,
    chunks: Mapping[str, int] | None = None,
    sortby: str | Sequence[str | Mapping] | None = None,
    nodata: float | None = None,
    dtype: Any = None,
    mosaic_method: type[MosaicMethodBase] | None = None,
    time_period: str | None = "P1D",
    store: Any = None,
    max_concurrent_reads: int = 32,
    path_from_href: Callable[[str], str] | None = None,
    errors: str = "raise",
    resampling: str = "nearest",
    catalog_store: Any = None,
    nthreads: int | None = None,
    allowed_local_roots: Sequence[str] | None = None,
    limits: Mapping[str, int] | None = None,
    readahead: bool = True,
) -> xr.DataArray:
    """Open the COGs a STAC catalogue lists as one lazy DataArray.

    Args:
        href: a stac-geoparquet file, directory or glob, or NDJSON / JSON
            items; a local path or URL.
        bbox: output extent (minx, miny, maxx, maxy) in ``crs``.
        crs: output CRS, a string ("EPSG:5070", WKT, PROJ) or an object
            with ``to_wkt()`` (pyproj.CRS).
        resolution: square pixel size in ``crs`` units.
        datetime: an instant, a date or ``start/end``; selects items for
            the time axis and for every read.
        filter: CQL2 text or CQL2-JSON (str or dict).
        ids: only these item ids.
        bands: asset keys in output order; None chooses the data assets of
            the first matching item.
        chunks: None for a lazily indexed array (one read per access), or
            a dict for dask chunks (``{"time": 1}`` is a good start).
        sortby: item order inside each time step: ``"eo:cloud_cover"``,
            ``"-datetime"``, a list of those, or STAC API dicts.
        nodata, dtype: the output's; None infers them from the first
            item (reference rules): from its raster:bands when they give
            data_type and nodata, else from its COG headers.
        mosaic_method: a class from lazycogs (FirstMethod by default).
        time_period: "P1D" (default), "PnD", "P1W", "PnW", "P1M", "P1Y",
            "PTnH", or None for one step per distinct timestamp.
        store: where assets are read (a lazycogs or obstore store); None
            picks a store per href root.
        path_from_href: maps an asset href to its path in ``store`` (e.g.
            an Azure URL to the blob name under the container); called
            once per item and band while opening, never during reads.
        max_concurrent_reads: items read at once per chunk read.
        errors: "raise" (a failed item fails the read with ChunkReadError)
            or "ignore" (the item is skipped).
        resampling: "nearest", "bilinear", "cubic", "average", "mode",
            "min" or "max".
        catalog_store: the store the catalogue itself is read from.
        nthreads: decode/warp threads (default: the environment variable
            LAZYCOGS_REPROJECT_WORKERS, else the CPU count).
        allowed_local_roots: folders that asset hrefs read from the local
            file system (file:// URLs, plain paths) must lie in, after
            resolving symlinks and ".."; others fail the open. None (the
            default) confines them to nothing when the catalogue is remote
            (a URL, or a remote catalog_store), so a remote catalogue
            cannot make lazycogs read local files, and leaves local
            catalogues unconfined. ``["/"]`` allows everything.
        limits: caps on what the catalogue and the COGs may ask of
            lazycogs, by name: ``{"max_block_nbytes": 2**30}`` raises one
            (docs/limits.md lists them and their defaults). An error that
            hits a cap names it; an unknown name is a ValueError.
        readahead: when one-step reads of one small window (at most 65536
            pixels: a point time series chunked by time) go from step to
            step, read the same window at the next two steps with items
            in that direction ahead of their reads, so that they find
            their headers and tiles fetched or on their way. False turns
            it off (no request for a step that is not asked for).

    Returns:
        A DataArray with dims ("band", "time", "y", "x").
    """
    _install_sigint_hook()
    options = _options(
        datetime=datetime, bbox=bbox, crs=crs, resolution=resolution,
        filter=filter, ids=ids, bands=bands, sortby=sortby, nodata=nodata,
        dtype=dtype, mosaic_method=mosaic_method, time_period=time_period,
        store=store, max_concurrent_reads=max_concurrent_reads, errors=errors,
        resampling=resampling, catalog_store=catalog_store, nthreads=nthreads)
    if allowed_local_roots is not None:
        if isinstance(allowed_local_roots, (str, bytes)):
            raise TypeError("allowed_local_roots must be a list of folders")
        options["allowed_local_roots"] = [str(r) for r in allowed_local_roots]
    if limits is not None:
        if not isinstance(limits, Mapping):
            raise TypeError("limits must be a dict of cap name -> int")
        options["limits"] = dict(limits)
    options["readahead"] = bool(readahead)
    if path_from_href is not None:
        if not callable(path_from_href):
            raise TypeError("path_from_href must be callable")
        options["path_from_href"] = path_from_href
    backend = CollectionArray(str(href), options, options["crs"])
    _log.info("Discovered %d bands and %d time steps.", backend.shape[0],
              backend.shape[1])
    return _dataarray(backend, bbox, chunks)


async def open_async(href: str, **kwargs: Any) -> xr.DataArray:
    """``open`` without blocking the event loop: the catalogue is read in
    a worker thread."""
    _install_sigint_hook()
    return await asyncio.to_thread(open, href, **kwargs)


def align_bbox(affine: Any, bbox: Sequence[float]) -> tuple[float, float,
                                                            float, float]:
    """Expand bbox outward to the pixel grid of ``affine`` (an
    affine.Affine, or 6 or 9 numbers in row-major affine order, as STAC's
    proj:transform)."""
    coeffs = list(affine)[:6]
    if len(coeffs) < 6:
        raise ValueError("affine needs 6 coefficients (a, b, c, d, e, f)")
    a, _, x0, _, e, y0 = (float(v) for v in coeffs)
    pw, ph = abs(a), abs(e)
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    return (float(x0 + np.floor((minx - x0) / pw) * pw),
            float(y0 + np.floor((miny - y0) / ph) * ph),
            float(x0 + np.ceil((maxx - x0) / pw) * pw),
            float(y0 + np.ceil((maxy - y0) / ph) * ph))
