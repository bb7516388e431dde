"""``da.lazycogs.explain()``: what computing a DataArray would read, without
reading a pixel.

The plan follows the behaviour reference (section 3): tiles are the dask
chunks of the current view (or the whole view), one item query per (time
step, tile) fanned out to the bands. The items come from the C engine's own
matching (``lc_collection_plan``, the code a read runs), so a plan lists
exactly the items a read of each tile would use; with ``fetch_headers=True``
it also gives each COG's overview level, source window and the estimated
requests and bytes of reading it, and, for the ``first`` mosaic, whether early
exit would skip it (judged from footprints).
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import numbers
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import xarray as xr

from ._open import CollectionArray, _time_coord
from .store import redact_url

try:  # chunk_affine is an affine.Affine when the package is there
    from affine import Affine
except ImportError:  # pragma: no cover - affine comes with rasterio
    Affine = None

_NOT_BACKED = (
    "This DataArray is not backed by lazycogs' lazy array. Ensure it was "
    "created by lazycogs.open() and has not been materialized or transformed "
    "into a different backing array.")

# How many objects the search for the backend visits at most (a dask graph
# of a huge array holds one task per chunk).
_MAX_VISITS = 200_000


@dataclass
class CogRead:
    """Reading one COG (one band of one item) for one chunk.

    ``overview_level`` and the window fields are None unless the plan was
    made with ``fetch_headers=True``: ``overview_level`` None means full
    resolution, 0 the first (finest) overview. ``window_*`` are None when the
    chunk misses the COG. Our additions: ``est_requests`` / ``est_bytes``
    (headers only), the requests on the wire and block bytes reading the
    window costs, from the COG's block index; ``skipped_by_early_exit``,
    True when the ``first`` mosaic would not read this COG because items
    before it cover its part of the chunk (from footprints, not pixels).
    """

    item_id: str
    asset_key: str
    href: str
    overview_level: int | None = None
    overview_resolution: float | None = None
    window_col_off: int | None = None
    window_row_off: int | None = None
    window_width: int | None = None
    window_height: int | None = None
    est_requests: int | None = None
    est_bytes: int | None = None
    skipped_by_early_exit: bool | None = None


@dataclass
class ChunkRead:
    """All COG reads of one (band, time step, spatial tile)."""

    band: str
    time_index: int  # into the backend's full time axis
    date_filter: str  # the step's datetime interval
    time_coord: np.datetime64
    chunk_row: int
    chunk_col: int
    chunk_affine: Any  # affine.Affine, or a tuple (a, b, c, d, e, f)
    chunk_width: int
    chunk_height: int
    cog_reads: list[CogRead] = field(default_factory=list)

    @property
    def n_cog_reads(self) -> int:
        return len(self.cog_reads)


@dataclass
class ExplainPlan:
    """A dry-run read plan of a lazycogs DataArray (its current view)."""

    href: str
    crs: str
    resolution: float
    bands: list[str]
    time_coords: list[np.datetime64]
    dst_width: int
    dst_height: int
    chunk_width: int
    chunk_height: int
    chunk_reads: list[ChunkRead]
    fetch_headers: bool

    @property
    def total_chunk_reads(self) -> int:
        return len(self.chunk_reads)

    @property
    def total_cog_reads(self) -> int:
        return sum(c.n_cog_reads for c in self.chunk_reads)

    @property
    def empty_chunk_count(self) -> int:
        return sum(1 for c in self.chunk_reads if c.n_cog_reads == 0)

    def _n_tiles(self) -> tuple[int, int]:
        return (max(1, -(-self.dst_width // self.chunk_width)),
                max(1, -(-self.dst_height // self.chunk_height)))

    def __repr__(self) -> str:
        nx, ny = self._n_tiles()
        return (f"ExplainPlan: {len(self.bands)} band(s) x "
                f"{len(self.time_coords)} time step(s) x {nx * ny} spatial "
                f"chunk(s) = {self.total_chunk_reads} chunk read(s)\n"
                f"  Grid: {self.dst_width}x{self.dst_height} px | COG reads: "
                f"{self.total_cog_reads} (fetch_headers={self.fetch_headers})")

    def _time_range(self) -> str:
        if not self.time_coords:
            return "none"
        first = str(self.time_coords[0])[:10]
        last = str(self.time_coords[-1])[:10]
        return first if first == last else f"{first} - {last}"

    def summary(self) -> str:
        nx, ny = self._n_tiles()
        counts = Counter(c.n_cog_reads for c in self.chunk_reads)
        total = len(self.chunk_reads) or 1
        zero, one = counts.get(0, 0), counts.get(1, 0)
        more = sum(v for k, v in counts.items() if k >= 2)

        def pct(n: int) -> str:
            return f"({100 * n / total:.1f}%)"

        lines = [
            "=== ExplainPlan ===",
            f"Parquet:    {redact_url(self.href)}",
            f"CRS:        {self.crs}  |  Resolution: {self.resolution} "
            f"units/px  |  Grid: {self.dst_width} x {self.dst_height} px",
            f"Bands ({len(self.bands)}):  {', '.join(self.bands)}",
            f"Time steps: {len(self.time_coords)} ({self._time_range()})",
            f"Chunks:     {self.chunk_width} x {self.chunk_height} px -> "
            f"{nx}x{ny} spatial tiles",
            "",
            f"Total chunk reads:     {self.total_chunk_reads} "
            f"({len(self.bands)} band(s) x {len(self.time_coords)} time "
            f"step(s) x {nx * ny} spatial tile(s))",
            f"Total COG reads:       {self.total_cog_reads}",
            f"Chunks with 0 COGs:    {zero:>4} {pct(zero)}",
            f"Chunks with 1 COG:     {one:>4} {pct(one)}",
            f"Chunks with 2+ COGs:   {more:>4} {pct(more)}",
            "Max COGs per chunk:    "
            f"{max((c.n_cog_reads for c in self.chunk_reads), default=0)}",
        ]
        if not self.fetch_headers:
            lines.append("(Pass fetch_headers=True to see overview levels and "
                         "pixel windows.)")
            return "\n".join(lines)
        reads = [r for c in self.chunk_reads for r in c.cog_reads]
        if not reads:
            lines.append("Overview levels: n/a (no matched COG reads)")
        else:
            levels = Counter("full" if r.overview_level is None
                             else f"ovr {r.overview_level}" for r in reads)
            widths = [r.window_width for r in reads
                      if r.window_width is not None]
            heights = [r.window_height for r in reads
                       if r.window_height is not None]
            avg_w = sum(widths) / len(widths) if widths else 0
            avg_h = sum(heights) / len(heights) if heights else 0
            lines += [
                "Overview levels:       " + "  ".join(
                    f"{k}: {v}" for k, v in sorted(levels.items())),
                f"Avg read window:       {avg_w:.0f} x {avg_h:.0f} px",
                "(Use .to_dataframe() for per-item overview and window "
                "details.)",
            ]
        # Ours: what the reads would fetch (COGs early exit skips and COGs
        # the chunk misses fetch nothing).
        fetched = [r for r in reads if r.est_requests is not None
                   and not r.skipped_by_early_exit]
        skipped = sum(1 for r in reads if r.skipped_by_early_exit)
        nbytes = sum(r.est_bytes for r in fetched)
        lines += [
            f"Est. requests:         {sum(r.est_requests for r in fetched)} "
            f"({nbytes / 2**20:.1f} MiB in {len(fetched)} COG read(s))",
            f"Early exit skips:      {skipped} of {len(reads)} COG read(s)",
        ]
        return "\n".join(lines)

    def to_dataframe(self):
        """One row per (chunk, COG read); a chunk without reads gives one row
        whose item columns are None."""
        import pandas as pd

        item_cols = ["item_id", "asset_key", "href", "overview_level",
                     "overview_resolution", "window_col_off", "window_row_off",
                     "window_width", "window_height", "est_requests",
                     "est_bytes", "skipped_by_early_exit"]
        columns = ["band", "time_index", "date_filter", "time_coord",
                   "chunk_row", "chunk_col", "chunk_width", "chunk_height",
                   "n_cog_reads", *item_cols]
        rows = []
        for c in self.chunk_reads:
            base = [c.band, c.time_index, c.date_filter, c.time_coord,
                    c.chunk_row, c.chunk_col, c.chunk_width, c.chunk_height,
                    c.n_cog_reads]
            if not c.cog_reads:
                rows.append(base + [None] * len(item_cols))
            for r in c.cog_reads:
                rows.append(base + [getattr(r, k) for k in item_cols])
        return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------
# Building a plan
# ---------------------------------------------------------------------------


def _children(obj: Any, deferred: list) -> Iterator[Any]:
    """What obj wraps: xarray adapters, dask arrays, graphs, layers, tasks,
    containers. Layers whose iteration builds tasks go to deferred."""
    if isinstance(obj, dict):
        yield from obj.values()
        return
    if isinstance(obj, (list, tuple, set, frozenset)):
        yield from obj
        return
    inner = getattr(obj, "array", None)  # LazilyIndexedArray, adapters
    if inner is not None:
        yield inner
    graph = getattr(obj, "__dask_graph__", None)  # a dask collection
    if callable(graph):
        try:
            yield graph()
        except Exception:  # noqa: BLE001 - not a graph after all
            pass
    layers = getattr(obj, "layers", None)  # HighLevelGraph
    if isinstance(layers, dict):
        # The original array lives in a materialized layer; iterating a
        # Blockwise layer would build one task per chunk, so those wait.
        for layer in layers.values():
            if hasattr(layer, "mapping"):
                yield layer.mapping
            else:
                deferred.append(layer)
        return
    if hasattr(obj, "items") and hasattr(obj, "keys") and \
            not isinstance(obj, xr.DataArray):  # other Mappings
        try:
            yield from obj.values()
        except Exception:  # noqa: BLE001
            pass
    for attr in ("value", "args", "kwargs"):  # dask task spec nodes
        v = getattr(obj, attr, None)
        if v is not None and not callable(v):
            yield v


def _find_backend(da: xr.DataArray) -> CollectionArray | None:
    stack: list = [da.variable._data]
    deferred: list = []
    seen: dict[int, Any] = {}  # holding each object keeps its id unique
    while (stack or deferred) and len(seen) < _MAX_VISITS:
        obj = stack.pop() if stack else deferred.pop(0)
        if id(obj) in seen or obj is None:
            continue
        seen[id(obj)] = obj
        if isinstance(obj, CollectionArray):
            return obj
        if isinstance(obj, (str, bytes, numbers.Number, np.ndarray,
                            np.generic, type)):
            continue
        stack.extend(_children(obj, deferred))
    return None


def _time_items(da: xr.DataArray, backend: CollectionArray) -> list[int]:
    """Backend step of each current time value, matched by value to a step
    not used yet (the current order is kept, e.g. after sortby)."""
    if "time" not in da.coords:
        raise ValueError("DataArray has no 'time' coordinate: explain() "
                         "needs one to know which time steps to plan.")
    full = _time_coord(backend.times)
    used: set[int] = set()
    steps = []
    for value in np.atleast_1d(da.coords["time"].values):
        for i, coord in enumerate(full):
            if i not in used and coord == value:
                used.add(i)
                steps.append(i)
                break
        else:
            raise ValueError(f"Time coordinate {value} matches no time step "
                             "of the stored backend.")
    if not steps:
        raise ValueError("No time steps to explain: the time coordinate is "
                         "empty.")
    return steps


def _tile_affine(transform, col: int, row: int):
    a, b, c, d, e, f = transform
    coeffs = (a, b, c + col * a + row * b, d, e, f + col * d + row * e)
    return Affine(*coeffs) if Affine is not None else tuple(coeffs)


def _cog_read(item_id: str, band: str, read: dict | None,
              fetch_headers: bool) -> CogRead | None:
    if read is None:
        # No such asset: the reference lists it (href "") without headers
        # and drops it with them; a read never opens anything.
        return None if fetch_headers else CogRead(item_id, band, "")
    cog = CogRead(item_id, band, read["href"],
                  skipped_by_early_exit=read["skipped"])
    if fetch_headers and read["level"] is not None:
        cog.overview_level = read["level"] - 1 if read["level"] > 0 else None
        cog.overview_resolution = read["resolution"]
        if read["window"] is not None:
            (cog.window_col_off, cog.window_row_off, cog.window_width,
             cog.window_height) = read["window"]
            cog.est_requests = read["est_requests"]
            cog.est_bytes = read["est_bytes"]
    return cog


def explain(da: xr.DataArray, *, fetch_headers: bool = False) -> ExplainPlan:
    backend = _find_backend(da)
    if backend is None:
        raise ValueError(_NOT_BACKED)
    if "y" not in da.sizes or "x" not in da.sizes:
        raise ValueError("DataArray must have 'y' and 'x' dimensions for "
                         "explain(). The array may have been reduced to a "
                         "single pixel.")
    if "band" in da.coords:
        current = set(np.atleast_1d(da.coords["band"].values).astype(str))
        bands = [b for b in backend.bands if b in current]
    else:
        bands = list(backend.bands)
    if not bands:
        raise ValueError("No matching bands found in the stored backend.")
    steps = _time_items(da, backend)

    info = backend.info
    transform = info["transform"]
    res = transform[0]
    grid_w, grid_h = info["width"], info["height"]
    roi_w, roi_h = da.sizes["x"], da.sizes["y"]
    x_start = max(0, int(round((float(da.x.values[0]) - transform[2]) / res
                               - 0.5)))
    y_start = max(0, int(round((transform[5] - float(da.y.values[0])) / res
                               - 0.5)))
    chunksizes = da.chunksizes
    chunk_h = int(chunksizes["y"][0]) if "y" in chunksizes else roi_h
    chunk_w = int(chunksizes["x"][0]) if "x" in chunksizes else roi_w

    # Tiles row-major from the ROI origin, edge tiles truncated; each one's
    # window of the grid (clipped to it) for the engine.
    tiles, windows = [], []
    for row, y_off in enumerate(range(0, roi_h, chunk_h)):
        for col, x_off in enumerate(range(0, roi_w, chunk_w)):
            w, h = min(chunk_w, roi_w - x_off), min(chunk_h, roi_h - y_off)
            x0, y0 = x_start + x_off, y_start + y_off
            x1, y1 = min(x0 + w, grid_w), min(y0 + h, grid_h)
            win = None
            if x1 > x0 and y1 > y0:
                win = len(windows)
                windows.append((x0, y0, x1 - x0, y1 - y0))
            tiles.append((row, col, x0, y0, w, h, win))

    band_idx = [backend.bands.index(b) for b in bands]
    plan = backend.collection.plan(band_idx, steps, windows,
                                   fetch_headers=bool(fetch_headers)) \
        if windows else [[] for _ in steps]
    full_coords = _time_coord(backend.times)
    chunk_reads = []
    for ti, step in enumerate(steps):
        for row, col, x0, y0, w, h, win in tiles:
            items = plan[ti][win] if win is not None else []
            affine = _tile_affine(transform, x0, y0)
            for bi, band in enumerate(bands):
                reads = [_cog_read(item_id, band, item_reads[bi],
                                   fetch_headers)
                         for item_id, _k, item_reads in items]
                chunk_reads.append(ChunkRead(
                    band=band, time_index=step,
                    date_filter=backend.times[step]["filter"],
                    time_coord=full_coords[step], chunk_row=row,
                    chunk_col=col, chunk_affine=affine, chunk_width=w,
                    chunk_height=h,
                    cog_reads=[r for r in reads if r is not None]))
    return ExplainPlan(
        href=backend.href, crs=backend.user_crs, resolution=float(res),
        bands=bands, time_coords=[full_coords[s] for s in steps],
        dst_width=roi_w, dst_height=roi_h, chunk_width=chunk_w,
        chunk_height=chunk_h, chunk_reads=chunk_reads,
        fetch_headers=bool(fetch_headers))


@xr.register_dataarray_accessor("lazycogs")
class StacCogAccessor:
    """``da.lazycogs``: lazycogs' methods on DataArrays (registered when
    lazycogs is imported)."""

    def __init__(self, da: xr.DataArray):
        self._da = da

    def explain(self, *, fetch_headers: bool = False) -> ExplainPlan:
        """A dry-run read plan of this DataArray's current view and chunks:
        which COGs computing it reads per (band, time step, tile), without
        reading a pixel. ``fetch_headers=True`` also opens each COG's header
        (through the header cache) for overview levels, source windows and
        estimated requests and bytes.

        Raises ValueError when the DataArray is not backed by
        ``lazycogs.open`` or has lost its y/x dimensions, bands or time
        steps.
        """
        return explain(self._da, fetch_headers=fetch_headers)
