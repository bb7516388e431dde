#!/usr/bin/env python3
"""Build the deterministic synthetic Sentinel-2-like test world (COGs + STAC catalogs)."""
# SPDX-License-Identifier: MIT
#
# The test world
# ==============
#
# lazycogs reads many Cloud-Optimized GeoTIFFs listed in a stac-geoparquet
# file.  Its tests and benchmarks need an archive that looks like the real
# Sentinel-2 L2A archive on earth-search (the demo's data source), but that is
# small, offline, deterministic and whose every pixel value is known.  This
# tool writes one:
#
#   DIR/
#     cogs/<item id>/red.tif ... visual.tif   COGs written by GDAL (rasterio)
#     cogs/<item id>/thumbnail.jpg            small JPEG preview
#     items.parquet            stac-geoparquet written by rustac
#     items-pyarrow.parquet    stac-geoparquet written by stac-geoparquet/pyarrow
#     items.ndjson             the same items, one JSON object per line
#     items/<item id>.json     one file per item (target of the "self" links)
#     collection.json          the collection ("root", "parent", "collection" links)
#     world.json               manifest; written last, so it marks completion
#     .make_world.lock         serialises concurrent runs on the same DIR
#
# Layout (see SIZES below for the numbers):
#
#   * Tiles follow the Sentinel-2 / MGRS tiling: a tile is the 100 km MGRS
#     square (E0, N0) of one UTM zone, grown to 109.8 km so that it spans
#     x in [E0 - 40, E0 + 109760] and y in [N0 - 9800, N0 + 100000], exactly
#     like real S2 tiles (neighbours overlap by 9.8 km).  Tiles of
#     neighbouring zones overlap more, as in reality.  Tile ids use the real
#     MGRS lettering (zone, latitude band, 100 km column and row letters), so
#     "15TVK" is where it is on the real grid.
#   * Each acquisition date is one satellite pass: a 290 km swath whose edges
#     are slanted lines (descending orbit).  Every tile the swath touches
#     becomes an item; pixels outside the swath are nodata (0), which gives
#     the characteristic S2 nodata wedges.  The item geometry is the footprint
#     of the valid-data area, as on real items.
#   * Pixel values follow expected_value() (documented there): they encode
#     the item, the band and the pixel position, so a wrong scene, band or
#     offset is detectable, and they compress like a smooth field with noise.
#
# Everything derives from (size, seed) only.  Re-running with the same size,
# seed and GENERATOR_VERSION on a complete world rewrites the catalogs (so a
# different --href-base is cheap) but keeps the COGs.
#
# Importable helpers used by tests (tools/ on sys.path, "import make_world"):
#   expected_value, expected_asset, valid_mask, plan_world, build_items,
#   load_items, load_manifest, rebase_hrefs, write_catalogs, render_scene,
#   world_is_complete, generate_world.

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import datetime as dt
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

# Bump whenever the output (pixels, items or layout) changes: a world written
# by another version is regenerated instead of reused.
GENERATOR_VERSION = "1.0.0"
DEFAULT_SEED = 20250601

COLLECTION_ID = "synthetic-sentinel-2-l2a"
STAC_VERSION = "1.1.0"
STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/grid/v1.1.0/schema.json",
    "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
]
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"

# Sentinel-2 tile geometry, in metres.
TILE_SIZE_M = 109_800
GRID_STEP_M = 100_000
TILE_X_OFFSET_M = -40  # real S2 tiles start 40 m west of the MGRS square

# Swath model: a descending sun-synchronous pass 290 km wide whose ground
# track leans east-northeast going north (about 0.3 degrees of longitude per
# degree of latitude at 46 N, i.e. roughly 12 degrees off north).
SWATH_KM = 290.0
SWATH_TILT = 0.30
# Tiles with less valid area than this are not published (the real archive
# does publish tiny slivers, but they add files without adding coverage).
MIN_VALID_FRACTION = 0.01

BLOCK_SIZE = 512

# ---------------------------------------------------------------------------
# Bands and assets
# ---------------------------------------------------------------------------

# Band codes are part of the pixel formula: a uint16 band's values lie in
# [1000 * code + 1, 1000 * code + 913], so value // 1000 names the band.
BAND_CODE = {
    "red": 1,
    "green": 2,
    "blue": 3,
    "nir": 4,
    "swir16": 5,
    "scl": 6,
    "visual": 7,
}

# Static description of every asset kind: eo band, data type, resolution
# factor relative to the world's base pixel, and STAC roles.
ASSET_INFO: dict[str, dict[str, Any]] = {
    "red": dict(eo=("B04", 0.665, 0.038), dtype="uint16", factor=1,
                roles=["data", "reflectance"], title="Red"),
    "green": dict(eo=("B03", 0.560, 0.045), dtype="uint16", factor=1,
                  roles=["data", "reflectance"], title="Green"),
    "blue": dict(eo=("B02", 0.490, 0.098), dtype="uint16", factor=1,
                 roles=["data", "reflectance"], title="Blue"),
    "nir": dict(eo=("B08", 0.842, 0.145), dtype="uint16", factor=1,
                roles=["data", "reflectance"], title="NIR 1"),
    "swir16": dict(eo=("B11", 1.610, 0.143), dtype="uint16", factor=2,
                   roles=["data", "reflectance"], title="SWIR 1.6\u03bcm"),
    "scl": dict(eo=None, dtype="uint8", factor=2, roles=["data"],
                title="Scene classification map (SCL)"),
    "visual": dict(eo=None, dtype="uint8", factor=1, roles=["visual"],
                   title="True color image"),
}

# Lossless compressions (GDAL COMPRESS, TIFF predictor) for data assets.
# The choice for a file is
# LOSSLESS_CODECS[(item_index + band_code) % len(LOSSLESS_CODECS)], so each
# item mixes codecs across its bands and each band cycles through all of them.
# DEFLATE with the horizontal predictor (what real S2 COGs use) is listed
# three times; LZW without predictor, which barely compresses 16-bit data,
# only once, to keep the ci world small.
LOSSLESS_CODECS: list[tuple[str, int]] = [
    ("DEFLATE", 2),
    ("ZSTD", 1),
    ("LZW", 2),
    ("DEFLATE", 2),
    ("ZSTD", 2),
    ("LZW", 1),
    ("DEFLATE", 2),
    ("DEFLATE", 1),
]
JPEG_QUALITY = 90
THUMBNAIL_PX = 128


def codec_for(item_index: int, band: str) -> tuple[str, int]:
    """Return (GDAL COMPRESS value, TIFF predictor) used for one asset file."""
    if band == "visual":
        return ("JPEG", 1)
    return LOSSLESS_CODECS[(item_index + BAND_CODE[band]) % len(LOSSLESS_CODECS)]


# ---------------------------------------------------------------------------
# World sizes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldSize:
    """Static parameters of one world size."""

    name: str
    pixel_m: int                      # base resolution (red/green/blue/nir/visual)
    tiles: tuple[tuple[int, int, int], ...]  # (utm zone, E0, N0) of MGRS squares
    dates: tuple[str, ...]            # acquisition dates, YYYY-MM-DD
    assets: tuple[str, ...]           # asset keys written (thumbnail always added)


def _dates(start: str, count: int, step_days: int) -> tuple[str, ...]:
    first = dt.date.fromisoformat(start)
    return tuple((first + dt.timedelta(days=step_days * i)).isoformat()
                 for i in range(count))


def _row(zone: int, eastings_km: Iterable[int], northing_km: int):
    return tuple((zone, e * 1000, northing_km * 1000) for e in eastings_km)


SIZES: dict[str, WorldSize] = {
    # ci: one row of tiles across central Minnesota and into Wisconsin at
    # about 46-47 N, from the eastern edge of zone 14 through zone 15 into
    # zone 16, plus two tiles of the next row north (vertical overlap).
    # 180 m pixels: a 109.8 km tile is 610 px (2 x 2 blocks of 512, one
    # overview); the half-resolution assets are 305 px.
    "ci": WorldSize(
        name="ci",
        pixel_m=180,
        tiles=(_row(14, [700], 5100)
               + _row(15, [200, 300, 400, 500, 600, 700], 5100)
               + _row(15, [400, 500], 5200)
               + _row(16, [200], 5100)),
        dates=_dates("2025-06-03", 12, 10),
        assets=("red", "green", "blue", "nir", "swir16", "scl", "visual"),
    ),
    # bench: 3 rows x 4 columns of zone 15 plus a column of zone 16 over
    # northern Minnesota (Duluth, the demo's point, and the demo's subset
    # window), i.e. about 410 x 310 km in zone 15 alone; 24 dates every five
    # days; red/green/blue only at 40 m (2745 px, three overviews).
    "bench": WorldSize(
        name="bench",
        pixel_m=40,
        tiles=(_row(15, [400, 500, 600, 700], 5100)
               + _row(15, [400, 500, 600, 700], 5200)
               + _row(15, [400, 500, 600, 700], 5300)
               + _row(16, [200], 5100) + _row(16, [200], 5200)
               + _row(16, [200], 5300)),
        dates=_dates("2025-06-01", 24, 5),
        assets=("red", "green", "blue"),
    ),
}


# ---------------------------------------------------------------------------
# Pixel formula
# ---------------------------------------------------------------------------

_MIX_INIT = np.uint64(0x243F6A8885A308D3)
_MIX_MUL = np.uint64(0x9E3779B97F4A7C15)
_U29 = np.uint64(29)
_U32 = np.uint64(32)
_U20 = np.uint64(20)
NOISE_LEVELS = 2


def _mix(*values) -> np.ndarray:
    """64-bit integer hash of a sequence of non-negative integers (or arrays).

    h = 0x243F6A8885A308D3; for each v: h = (h XOR v) * 0x9E3779B97F4A7C15
    (mod 2**64); h = h XOR (h >> 29).  Written with numpy uint64 so that it
    broadcasts over arrays; wrap-around is the intended modular arithmetic.
    """
    h = np.asarray(_MIX_INIT)
    with np.errstate(over="ignore"):
        for v in values:
            h = (h ^ np.asarray(v).astype(np.uint64)) * _MIX_MUL
            h = h ^ (h >> _U29)
    return h


def expected_value(item_index, band: str, col, row) -> np.ndarray:
    """Value of pixel (col, row) of asset `band` of item `item_index`, before masking.

    `col`, `row` are pixel indices in that asset's own grid (half-resolution
    assets such as swir16/scl have their own, coarser grid); they may be
    numpy arrays (broadcast together).  `item_index` is the item's position
    in items.ndjson (also recorded in world.json).  Valid pixels are those
    whose centre lies inside the item's swath (see valid_mask); the others
    hold the nodata value 0.

    uint16 bands (red, green, blue, nir, swir16), with c = BAND_CODE[band]:

        h       = mix(item_index, c)
        offset  = h % 400                            (per item and band)
        phase   = (h >> 20) % 1024
        smooth  = | (3*col + 2*row + phase) % 1024 - 512 |   (0..512, a ramp)
        noise   = (mix(item_index, c, col, row) >> 32) % 2   (0..1)
        value   = 1000*c + 1 + offset + smooth + noise   (1000*c+1 .. 1000*c+913)

      so value // 1000 == c, value >= 1001 (never nodata), and any change of
      item, band or pixel position changes the value almost everywhere.

    scl (uint8, classes 1..11 in 4x4-pixel patches):

        value = 1 + (mix(item_index, 6, col // 4, row // 4) >> 32) % 11

    visual (uint8 RGB, JPEG-compressed so only approximately preserved):
    `band` is "visual:red", "visual:green" or "visual:blue" and

        value = 1 + (expected_value(item_index, colour, col, row)
                     - 1000*BAND_CODE[colour] - 1) // 4      (1..229)

    mix() is the hash defined in _mix().
    """
    col = np.asarray(col, dtype=np.int64)
    row = np.asarray(row, dtype=np.int64)
    if band.startswith("visual:"):
        colour = band.split(":", 1)[1]
        raw = expected_value(item_index, colour, col, row)
        return (1 + (raw - 1000 * BAND_CODE[colour] - 1) // 4).astype(np.int64)
    code = BAND_CODE[band]
    if band == "scl":
        h = _mix(item_index, code, col // 4, row // 4)
        return (1 + (h >> _U32) % np.uint64(11)).astype(np.int64)
    if band not in ("red", "green", "blue", "nir", "swir16"):
        raise ValueError(f"no pixel formula for band {band!r}")
    h = int(_mix(item_index, code))
    offset = h % 400
    phase = (h >> 20) % 1024
    smooth = np.abs((3 * col + 2 * row + phase) % 1024 - 512)
    noise = (_mix(item_index, code, col, row) >> _U32) % np.uint64(NOISE_LEVELS)
    return 1000 * code + 1 + offset + smooth + noise.astype(np.int64)


def valid_mask(halfplanes: Sequence[Sequence[float]], transform: Sequence[float],
               col, row) -> np.ndarray:
    """True where the centre of pixel (col, row) lies inside the swath.

    `halfplanes` is a list of (a, b, c) with a*x + b*y + c >= 0 inside (x, y
    in the item's UTM CRS, (a, b) a unit normal so the left side is a signed
    distance in metres); `transform` is the asset's proj:transform
    [res, 0, x0, 0, -res, y0].  The same floating-point expression is used by
    the generator, so recomputing it reproduces the files exactly.
    """
    res_x, _, x0, _, res_y, y0 = transform[:6]
    x = x0 + (np.asarray(col, dtype=np.float64) + 0.5) * res_x
    y = y0 + (np.asarray(row, dtype=np.float64) + 0.5) * res_y
    inside = np.ones(np.broadcast_shapes(np.shape(x), np.shape(y)), dtype=bool)
    for a, b, c in halfplanes:
        inside &= (a * x + b * y + c) >= 0.0
    return inside


def expected_asset(scene: dict, band: str, window: tuple[int, int, int, int] | None = None
                   ) -> np.ndarray:
    """The exact array of a lossless asset (or the ideal visual) of one scene.

    `scene` is an entry of world.json "items" (or a Scene as dict); `window`
    is (col_off, row_off, width, height) in the asset's grid, default whole.
    For "visual" the result has shape (3, h, w) and is what went into the
    JPEG encoder, not what comes out of it.
    """
    transform = asset_transform(scene, band)
    rows_total, cols_total = asset_shape(scene, band)
    if window is None:
        window = (0, 0, cols_total, rows_total)
    c0, r0, w, h = window
    col = np.arange(c0, c0 + w, dtype=np.int64)[None, :]
    row = np.arange(r0, r0 + h, dtype=np.int64)[:, None]
    mask = valid_mask(scene["halfplanes"], transform, col, row)
    idx = scene["index"]
    if band == "visual":
        planes = [np.where(mask, expected_value(idx, f"visual:{c}", col, row), 0)
                  for c in ("red", "green", "blue")]
        return np.stack(planes).astype(np.uint8)
    dtype = ASSET_INFO[band]["dtype"]
    return np.where(mask, expected_value(idx, band, col, row), 0).astype(dtype)


# ---------------------------------------------------------------------------
# MGRS naming and geometry helpers
# ---------------------------------------------------------------------------

_LAT_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_COL_SETS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"


def mgrs_tile_id(zone: int, e0: int, n0: int, lat: float) -> str:
    """MGRS 100 km square id ("15TVK") of the square whose SW corner is (e0, n0).

    Uses the standard WGS84 MGRS lettering: column letters cycle through three
    sets by zone, row letters through 20 letters with a 5-letter offset on even
    zones; the latitude band is the 8-degree band of `lat` (the square's
    centre latitude).
    """
    col_letter = _COL_SETS[(zone - 1) % 3][e0 // GRID_STEP_M - 1]
    row_letter = _ROW_LETTERS[(n0 // GRID_STEP_M + (5 if zone % 2 == 0 else 0)) % 20]
    band = _LAT_BANDS[int((lat + 80) // 8)]
    return f"{zone:02d}{band}{col_letter}{row_letter}"


_TRANSFORMERS: dict[tuple[str, str], Any] = {}


def _transformer(src: str, dst: str):
    """Cached always_xy pyproj Transformer (creating one costs milliseconds)."""
    from pyproj import Transformer

    key = (src, dst)
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = Transformer.from_crs(src, dst, always_xy=True)
    return _TRANSFORMERS[key]


def _clip_polygon(poly: list[tuple[float, float]], a: float, b: float, c: float
                  ) -> list[tuple[float, float]]:
    """Sutherland-Hodgman clip of a convex ring (no closing vertex) by a*x+b*y+c >= 0."""
    out: list[tuple[float, float]] = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        dp = a * p[0] + b * p[1] + c
        dq = a * q[0] + b * q[1] + c
        if dp >= 0:
            out.append(p)
        if (dp >= 0) != (dq >= 0):
            t = dp / (dp - dq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _densify(ring: list[tuple[float, float]], max_step: float) -> list[tuple[float, float]]:
    """Insert points so no edge of the (unclosed) ring is longer than max_step.

    A straight edge in UTM is slightly curved in longitude/latitude (a few
    hundred metres of sag over 110 km); densifying keeps the EPSG:4326
    footprint within metres of the true valid-data boundary.
    """
    out: list[tuple[float, float]] = []
    n = len(ring)
    for i in range(n):
        p, q = ring[i], ring[(i + 1) % n]
        steps = max(1, math.ceil(math.hypot(q[0] - p[0], q[1] - p[1]) / max_step))
        for k in range(steps):
            t = k / steps
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


# ---------------------------------------------------------------------------
# Planning: tiles, passes, scenes
# ---------------------------------------------------------------------------


@dataclass
class Tile:
    """One Sentinel-2 tile: an MGRS square grown to 109.8 km."""

    id: str
    zone: int
    epsg: int
    e0: int
    n0: int
    x0: float            # upper-left corner (metres, in the zone's CRS)
    y0: float
    lonlat_bounds: tuple[float, float, float, float]


def make_tile(zone: int, e0: int, n0: int) -> Tile:
    """Build a Tile from its MGRS square (zone, SW corner easting/northing)."""
    epsg = 32600 + zone
    to_ll = _transformer(f"EPSG:{epsg}", "EPSG:4326")
    _, lat_c = to_ll.transform(e0 + GRID_STEP_M / 2, n0 + GRID_STEP_M / 2)
    x0 = float(e0 + TILE_X_OFFSET_M)
    y0 = float(n0 + GRID_STEP_M)
    xs = [x0, x0 + TILE_SIZE_M]
    ys = [y0 - TILE_SIZE_M, y0]
    lons, lats = to_ll.transform([xs[0], xs[1], xs[1], xs[0]], [ys[0], ys[0], ys[1], ys[1]])
    return Tile(id=mgrs_tile_id(zone, e0, n0, lat_c), zone=zone, epsg=epsg, e0=e0, n0=n0,
                x0=x0, y0=y0,
                lonlat_bounds=(min(lons), min(lats), max(lons), max(lats)))


@dataclass
class Scene:
    """One item: a tile seen on one pass.  Serialised into world.json "items"."""

    index: int
    id: str
    tile: str
    epsg: int
    datetime: str
    date: str
    platform: str
    cloud_cover: float
    pixel_m: int
    transform: list[float]          # base-resolution proj:transform
    shape: list[int]                # base-resolution [rows, cols]
    halfplanes: list[list[float]]   # valid area: a*x + b*y + c >= 0 for all
    valid_fraction: float
    geometry: dict
    bbox: list[float]
    assets: list[str] = field(default_factory=list)


def _swath_halfplanes(tile: Tile, lon_c: float, lat_ref: float, half_width_deg: float
                      ) -> list[list[float]]:
    """The two swath edges as half-planes in the tile's UTM CRS.

    Each edge is a straight line in longitude/latitude; within one tile it is
    replaced by the straight UTM line through two of its points (just beyond
    the tile's latitude range), which is what defines the valid pixels.
    """
    to_utm = _transformer("EPSG:4326", f"EPSG:{tile.epsg}")
    lat_a = tile.lonlat_bounds[1] - 0.1
    lat_b = tile.lonlat_bounds[3] + 0.1
    planes = []
    for side in (-1.0, 1.0):  # west edge, east edge
        lons = [lon_c + side * half_width_deg + SWATH_TILT * (lat - lat_ref)
                for lat in (lat_a, lat_b)]
        (x1, x2), (y1, y2) = to_utm.transform(lons, [lat_a, lat_b])
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        # (dy, -dx) points east of a south-to-north line; the inside of the
        # swath is east of the west edge and west of the east edge.
        a, b = dy / norm, -dx / norm
        if side > 0:
            a, b = -a, -b
        c = -(a * x1 + b * y1)
        planes.append([a, b, c])
    return planes


def _format_datetime(t: dt.datetime) -> str:
    """RFC 3339 UTC with microseconds, as earth-search writes it."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plan_world(size: str, seed: int = DEFAULT_SEED) -> list[Scene]:
    """Plan every scene (item) of a world: pure function of (size, seed).

    Returns scenes sorted by (datetime, tile id); Scene.index is the position.
    The seed drives the pass times, platforms, swath positions and cloud
    cover; the tiling and the dates are fixed per size.
    """
    spec = SIZES[size]
    rng = np.random.default_rng(seed)
    tiles = [make_tile(*t) for t in spec.tiles]
    lon_w = min(t.lonlat_bounds[0] for t in tiles)
    lon_e = max(t.lonlat_bounds[2] for t in tiles)
    lat_ref = float(np.mean([(t.lonlat_bounds[1] + t.lonlat_bounds[3]) / 2 for t in tiles]))
    half_width_deg = (SWATH_KM / 2) / (111.32 * math.cos(math.radians(lat_ref)))
    # Swath centres spread over the world by a golden-ratio sequence with a
    # seeded phase: every pass hits the world, and consecutive passes land in
    # different places, like the interleaved relative orbits of S2.
    phase = float(rng.uniform())
    golden = (math.sqrt(5) - 1) / 2
    px = spec.pixel_m
    n_px = TILE_SIZE_M // px
    if n_px * px != TILE_SIZE_M:
        raise ValueError(f"pixel size {px} does not divide the tile size")

    planned: list[tuple[str, str, dict]] = []
    for i, date in enumerate(spec.dates):
        lon_c = lon_w + ((phase + i * golden) % 1.0) * (lon_e - lon_w)
        platform = str(rng.choice(["sentinel-2b", "sentinel-2c", "sentinel-2a"],
                                  p=[0.45, 0.45, 0.10]))
        # Pass time over the world's centre latitude: about 17:00 UTC over
        # Minnesota (10:30 local solar time), to the millisecond.
        t_pass = (dt.datetime.fromisoformat(date).replace(tzinfo=dt.timezone.utc)
                  + dt.timedelta(hours=16, minutes=55)
                  + dt.timedelta(milliseconds=int(rng.integers(0, 15 * 60 * 1000))))
        for tile in tiles:
            planes = _swath_halfplanes(tile, lon_c, lat_ref, half_width_deg)
            transform = [float(px), 0.0, tile.x0, 0.0, -float(px), tile.y0]
            # Cheap valid-fraction estimate on a coarse grid decides whether
            # the tile is published at all.
            step = max(1, n_px // 61)
            idx = np.arange(0, n_px, step)
            frac = float(valid_mask(planes, transform, idx[None, :], idx[:, None]).mean())
            cloud = float(round(100.0 * rng.beta(0.6, 0.9), 4))
            if frac < MIN_VALID_FRACTION:
                continue
            # A descending pass reaches northern tiles first: ~15 s per 100 km.
            lat_tile = (tile.lonlat_bounds[1] + tile.lonlat_bounds[3]) / 2
            t_item = t_pass + dt.timedelta(milliseconds=round((lat_ref - lat_tile) * 16_700))
            planned.append((_format_datetime(t_item), tile.id, dict(
                tile=tile, planes=planes, transform=transform, platform=platform,
                cloud=cloud, date=date, t_item=t_item)))

    planned.sort(key=lambda p: (p[0], p[1]))
    scenes = []
    for index, (dtstr, tile_id, p) in enumerate(planned):
        tile: Tile = p["tile"]
        n = TILE_SIZE_M // px
        geometry, bbox, area = _footprint(tile, p["planes"])
        sat = {"sentinel-2a": "S2A", "sentinel-2b": "S2B", "sentinel-2c": "S2C"}[p["platform"]]
        item_id = f"{sat}_T{tile_id}_{p['t_item'].strftime('%Y%m%dT%H%M%S')}_L2A"
        scenes.append(Scene(
            index=index, id=item_id, tile=tile_id, epsg=tile.epsg, datetime=dtstr,
            date=p["date"], platform=p["platform"], cloud_cover=p["cloud"], pixel_m=px,
            transform=p["transform"], shape=[n, n], halfplanes=p["planes"],
            valid_fraction=round(area / TILE_SIZE_M ** 2, 6), geometry=geometry, bbox=bbox,
            assets=list(spec.assets) + ["thumbnail"]))
    return scenes


def _footprint(tile: Tile, planes: list[list[float]]) -> tuple[dict, list[float], float]:
    """GeoJSON polygon (EPSG:4326, counter-clockwise), bbox and UTM area (m^2)
    of the valid area."""
    x0, y0 = tile.x0, tile.y0
    x1, y1 = x0 + TILE_SIZE_M, y0 - TILE_SIZE_M
    # Counter-clockwise in a y-up frame: SW, SE, NE, NW.
    ring = [(x0, y1), (x1, y1), (x1, y0), (x0, y0)]
    for a, b, c in planes:
        ring = _clip_polygon(ring, a, b, c)
    # Shoelace area of the clipped (convex) ring, before densifying.
    area = 0.5 * abs(sum(ring[i][0] * ring[(i + 1) % len(ring)][1]
                         - ring[(i + 1) % len(ring)][0] * ring[i][1]
                         for i in range(len(ring))))
    ring = _densify(ring, 10_000.0)
    to_ll = _transformer(f"EPSG:{tile.epsg}", "EPSG:4326")
    lons, lats = to_ll.transform([p[0] for p in ring], [p[1] for p in ring])
    coords = [[round(lon, 9), round(lat, 9)] for lon, lat in zip(lons, lats)]
    coords.append(coords[0])
    bbox = [min(c[0] for c in coords), min(c[1] for c in coords),
            max(c[0] for c in coords), max(c[1] for c in coords)]
    return {"type": "Polygon", "coordinates": [coords]}, bbox, area


# ---------------------------------------------------------------------------
# Per-asset grids
# ---------------------------------------------------------------------------


def asset_transform(scene: dict | Scene, band: str) -> list[float]:
    """proj:transform of one asset's grid (base grid scaled by the asset's factor)."""
    s = scene if isinstance(scene, dict) else asdict(scene)
    f = ASSET_INFO[band]["factor"]
    t = s["transform"]
    return [t[0] * f, 0.0, t[2], 0.0, t[4] * f, t[5]]


def asset_shape(scene: dict | Scene, band: str) -> list[int]:
    """proj:shape [rows, cols] of one asset's grid."""
    s = scene if isinstance(scene, dict) else asdict(scene)
    f = ASSET_INFO[band]["factor"]
    return [s["shape"][0] // f, s["shape"][1] // f]


def asset_relpath(item_id: str, band: str) -> str:
    """Path of an asset file relative to the world directory."""
    name = "thumbnail.jpg" if band == "thumbnail" else f"{band}.tif"
    return f"cogs/{item_id}/{name}"


# ---------------------------------------------------------------------------
# Writing COGs (runs in worker processes)
# ---------------------------------------------------------------------------


def _write_cog(path: Path, data: np.ndarray, transform: list[float], epsg: int,
               compress: str, predictor: int, resampling: str) -> None:
    """Write one COG with GDAL's COG driver, atomically (temp file + rename)."""
    import rasterio
    from rasterio.transform import Affine

    count = 1 if data.ndim == 2 else data.shape[0]
    height, width = data.shape[-2:]
    opts: dict[str, Any] = dict(
        driver="COG", width=width, height=height, count=count, dtype=data.dtype.name,
        crs=f"EPSG:{epsg}", transform=Affine(*transform[:6]), nodata=0,
        blocksize=BLOCK_SIZE, compress=compress, resampling=resampling,
        # Small rasters (one block) would get no overview with the default
        # OVERVIEWS=AUTO; force one so every file exercises overview reading.
        **({"overview_count": 1} if max(width, height) <= BLOCK_SIZE else {}),
    )
    if predictor != 1:
        opts["predictor"] = predictor
    if compress == "JPEG":
        opts["quality"] = JPEG_QUALITY
    tmp = path.with_name(path.name + ".part")
    with rasterio.Env(GDAL_NUM_THREADS="1"):
        with rasterio.open(tmp, "w", **opts) as dst:
            dst.write(data if data.ndim == 3 else data[None])
    os.replace(tmp, path)


def _write_thumbnail(path: Path, rgb: np.ndarray) -> None:
    """Write a small non-georeferenced JPEG preview (role "thumbnail")."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    tmp = path.with_name(path.name + ".part")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tmp, "w", driver="JPEG", width=rgb.shape[2], height=rgb.shape[1],
                           count=3, dtype="uint8", quality=80) as dst:
            dst.write(rgb)
    os.replace(tmp, path)


def render_scene(scene: dict, out_dir: str | Path) -> dict[str, dict]:
    """Write every asset file of one scene below out_dir; return file records.

    Records map the path relative to out_dir to what was written (codec,
    predictor, dtype, nodata, shape, resolution, byte size), which the
    manifest keeps so tests can check each file.
    """
    out_dir = Path(out_dir)
    item_dir = out_dir / "cogs" / scene["id"]
    item_dir.mkdir(parents=True, exist_ok=True)
    records: dict[str, dict] = {}
    for band in scene["assets"]:
        rel = asset_relpath(scene["id"], band)
        path = out_dir / rel
        if band == "thumbnail":
            # Sample the ideal visual image on a coarse grid (nearest pixel).
            n = scene["shape"][0]
            idx = np.linspace(0, n - 1, THUMBNAIL_PX).round().astype(np.int64)
            mask = valid_mask(scene["halfplanes"], scene["transform"],
                              idx[None, :], idx[:, None])
            rgb = np.stack([np.where(mask, expected_value(scene["index"], f"visual:{c}",
                                                          idx[None, :], idx[:, None]), 0)
                            for c in ("red", "green", "blue")]).astype(np.uint8)
            _write_thumbnail(path, rgb)
            records[rel] = dict(asset=band, format="JPEG", bytes=path.stat().st_size)
            continue
        data = expected_asset(scene, band)
        compress, predictor = codec_for(scene["index"], band)
        resampling = "nearest" if band == "scl" else "average"
        transform = asset_transform(scene, band)
        _write_cog(path, data, transform, scene["epsg"], compress, predictor, resampling)
        records[rel] = dict(
            asset=band, compression=compress, predictor=predictor,
            dtype=ASSET_INFO[band]["dtype"], nodata=0, count=1 if data.ndim == 2 else 3,
            width=int(data.shape[-1]), height=int(data.shape[-2]),
            pixel_m=abs(transform[0]), overview_resampling=resampling.upper(),
            bytes=path.stat().st_size)
    return records


# ---------------------------------------------------------------------------
# STAC items and catalogs
# ---------------------------------------------------------------------------


def _base_url(world_dir: str | Path, href_base: str | None) -> str:
    """The URL prefix of every href: href_base, or file:// of the world dir."""
    if href_base:
        return href_base.rstrip("/")
    return Path(world_dir).resolve().as_uri()


def build_items(scenes: Sequence[Scene | dict], world_dir: str | Path,
                href_base: str | None = None) -> list[dict]:
    """STAC 1.1 items for the scenes, hrefs under href_base (default file://)."""
    base = _base_url(world_dir, href_base)
    items = []
    for sc in scenes:
        s = sc if isinstance(sc, dict) else asdict(sc)
        zone = s["epsg"] - 32600
        tile = s["tile"]
        created = (dt.datetime.strptime(s["datetime"], "%Y-%m-%dT%H:%M:%S.%fZ")
                   + dt.timedelta(hours=9, minutes=27)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        props: dict[str, Any] = {
            "datetime": s["datetime"],
            "created": created,
            "updated": created,
            "platform": s["platform"],
            "constellation": "sentinel-2",
            "instruments": ["msi"],
            "eo:cloud_cover": s["cloud_cover"],
            "proj:code": f"EPSG:{s['epsg']}",
            "proj:shape": list(s["shape"]),
            "proj:transform": list(s["transform"]),
            "grid:code": f"MGRS-{tile}",
            "mgrs:utm_zone": zone,
            "mgrs:latitude_band": tile[2],
            "mgrs:grid_square": tile[3:5],
        }
        assets: dict[str, dict] = {}
        for band in s["assets"]:
            href = f"{base}/{asset_relpath(s['id'], band)}"
            if band == "thumbnail":
                assets[band] = {"href": href, "type": "image/jpeg",
                                "title": "Thumbnail of preview image", "roles": ["thumbnail"]}
                continue
            info = ASSET_INFO[band]
            res = s["pixel_m"] * info["factor"]
            asset: dict[str, Any] = {"href": href, "type": COG_MEDIA_TYPE,
                                     "title": f"{info['title']} - {res}m"
                                     if band not in ("scl", "visual") else info["title"]}
            if info["eo"]:
                name, wl, fwhm = info["eo"]
                asset["eo:bands"] = [{"name": name, "common_name": band,
                                      "center_wavelength": wl, "full_width_half_max": fwhm}]
            if band == "visual":
                asset["eo:bands"] = [
                    {"name": ASSET_INFO[c]["eo"][0], "common_name": c,
                     "center_wavelength": ASSET_INFO[c]["eo"][1],
                     "full_width_half_max": ASSET_INFO[c]["eo"][2]}
                    for c in ("red", "green", "blue")]
            asset["gsd"] = res
            if info["factor"] != 1:
                # Only assets whose grid differs from the item's carry their
                # own proj:shape / proj:transform (readers must fall back to
                # the item-level values for the others).
                asset["proj:shape"] = asset_shape(s, band)
                asset["proj:transform"] = asset_transform(s, band)
            rb: dict[str, Any] = {"nodata": 0, "data_type": info["dtype"],
                                  "spatial_resolution": res}
            if info["dtype"] == "uint16":
                rb.update(scale=0.0001, offset=-0.1)
            asset["raster:bands"] = [dict(rb) for _ in range(3 if band == "visual" else 1)]
            asset["roles"] = list(info["roles"])
            assets[band] = asset
        items.append({
            "type": "Feature",
            "stac_version": STAC_VERSION,
            "stac_extensions": list(STAC_EXTENSIONS),
            "id": s["id"],
            "geometry": copy.deepcopy(s["geometry"]),
            "bbox": list(s["bbox"]),
            "properties": props,
            "links": [
                {"rel": "self", "type": "application/geo+json",
                 "href": f"{base}/items/{s['id']}.json"},
                {"rel": "parent", "type": "application/json", "href": f"{base}/collection.json"},
                {"rel": "collection", "type": "application/json",
                 "href": f"{base}/collection.json"},
                {"rel": "root", "type": "application/json", "href": f"{base}/collection.json"},
            ],
            "assets": assets,
            "collection": COLLECTION_ID,
        })
    return items


def build_collection(items: Sequence[dict], base: str) -> dict:
    """A STAC collection describing the items (spatial and temporal extent)."""
    bboxes = np.array([it["bbox"] for it in items]) if items else np.zeros((1, 4))
    times = sorted(it["properties"]["datetime"] for it in items) or [None]
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": COLLECTION_ID,
        "title": "Synthetic Sentinel-2 L2A (lazycogs test world)",
        "description": "Deterministic synthetic Sentinel-2-like scenes written by "
                       "tools/make_world.py for lazycogs tests and benchmarks.",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [[float(bboxes[:, 0].min()), float(bboxes[:, 1].min()),
                                  float(bboxes[:, 2].max()), float(bboxes[:, 3].max())]]},
            "temporal": {"interval": [[times[0], times[-1]]]},
        },
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/collection.json"},
            {"rel": "root", "type": "application/json", "href": f"{base}/collection.json"},
        ],
    }


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    os.replace(tmp, path)


def _common_base(items: Sequence[dict]) -> str | None:
    """The base URL the items' collection link points into (for collection.json)."""
    for it in items:
        for link in it.get("links", []):
            if link.get("rel") == "collection" and link["href"].endswith("/collection.json"):
                return link["href"][: -len("/collection.json")]
    return None


def write_catalogs(items: Sequence[dict], out_dir: str | Path) -> None:
    """Write the items as items.parquet (rustac), items-pyarrow.parquet
    (stac-geoparquet on pyarrow) and items.ndjson, plus collection.json and
    items/<id>.json (the targets of the items' links), into out_dir.

    Each file is written to a temporary name and renamed into place.
    """
    import rustac
    from stac_geoparquet.arrow import parse_stac_items_to_arrow, to_parquet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = list(items)
    base = _common_base(items) or out.resolve().as_uri()
    collection = build_collection(items, base)

    _atomic_write_text(out / "items.ndjson",
                       "".join(json.dumps(it, separators=(",", ":")) + "\n" for it in items))

    # Both writers pick the format from the extension, so the temporary
    # names end in .parquet too.
    tmp = out / ".items.rustac-tmp.parquet"
    rustac.write_sync(str(tmp), items)
    os.replace(tmp, out / "items.parquet")

    tmp = out / ".items-pyarrow.tmp.parquet"
    to_parquet(parse_stac_items_to_arrow(items), tmp,
               collections={COLLECTION_ID: collection})
    os.replace(tmp, out / "items-pyarrow.parquet")

    _atomic_write_text(out / "collection.json", json.dumps(collection, indent=1) + "\n")
    # Per-item files are replaced one by one (never a missing directory for
    # a concurrent reader); files of items no longer in the list are removed.
    item_dir = out / "items"
    item_dir.mkdir(exist_ok=True)
    wanted = set()
    for it in items:
        name = f"{it['id']}.json"
        wanted.add(name)
        _atomic_write_text(item_dir / name, json.dumps(it, indent=1) + "\n")
    for stale in item_dir.iterdir():
        if stale.name not in wanted:
            stale.unlink()


def load_items(world_dir: str | Path) -> list[dict]:
    """Items of a world, from its items.ndjson, in item-index order."""
    with open(Path(world_dir) / "items.ndjson") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_manifest(world_dir: str | Path) -> dict:
    """The world's manifest (world.json)."""
    return json.loads((Path(world_dir) / "world.json").read_text())


def _relative_href(href: str, old_bases: Sequence[str]) -> str:
    """Path of an href relative to the world root, whatever base it was written with."""
    for base in old_bases:
        if base and href.startswith(base + "/"):
            return href[len(base) + 1:]
    # Fall back on the layout itself: every href we write ends in one of these.
    for marker in ("/cogs/", "/items/"):
        pos = href.rfind(marker)
        if pos >= 0:
            return href[pos + 1:]
    if href.endswith("/collection.json"):
        return "collection.json"
    raise ValueError(f"href {href!r} is not inside the world")


def rebase_hrefs(items: Sequence[dict], world_dir: str | Path, href_base: str | None
                 ) -> list[dict]:
    """Copies of items whose asset and link hrefs point under href_base.

    href_base is a URL prefix such as "s3://bucket/world" or
    "http://127.0.0.1:8000" (None means file:// of world_dir); each href
    becomes href_base + "/" + its path relative to the world root
    (e.g. "cogs/<id>/red.tif").  The items may carry any earlier base.
    """
    world_dir = Path(world_dir)
    old_bases = [world_dir.resolve().as_uri()]
    try:
        old = load_manifest(world_dir).get("href_base")
        if old:
            old_bases.insert(0, old.rstrip("/"))
    except (OSError, ValueError):
        pass
    new_base = _base_url(world_dir, href_base)
    out = []
    for it in items:
        it = copy.deepcopy(it)
        for asset in it["assets"].values():
            asset["href"] = f"{new_base}/{_relative_href(asset['href'], old_bases)}"
        for link in it.get("links", []):
            link["href"] = f"{new_base}/{_relative_href(link['href'], old_bases)}"
        out.append(it)
    return out


# ---------------------------------------------------------------------------
# Whole-world generation
# ---------------------------------------------------------------------------


def world_is_complete(world_dir: str | Path, size: str, seed: int) -> bool:
    """True when world_dir holds a finished world of this size, seed and version.

    A world is finished when world.json (written last) exists, matches, and
    every file it lists exists with the recorded size.
    """
    try:
        m = load_manifest(world_dir)
    except (OSError, ValueError):
        return False
    if (m.get("generator_version") != GENERATOR_VERSION or m.get("size") != size
            or m.get("seed") != seed or not m.get("complete")):
        return False
    root = Path(world_dir)
    for rel, rec in m.get("files", {}).items():
        p = root / rel
        if not p.is_file() or p.stat().st_size != rec["bytes"]:
            return False
    return True


def _render_task(args: tuple[dict, str]) -> dict[str, dict]:
    scene, out = args
    return render_scene(scene, out)


def generate_world(size: str, out: str | Path, seed: int = DEFAULT_SEED,
                   href_base: str | None = None, jobs: int = 2, force: bool = False,
                   log=print) -> dict:
    """Create (or refresh the catalogs of) a world; return its manifest.

    Holds an exclusive lock on DIR/.make_world.lock meanwhile: several test
    sessions may ask for the same shared world at once, and the second must
    wait and then reuse what the first wrote.
    """
    import fcntl

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".make_world.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _generate_locked(size, out, seed, href_base, jobs, force, log)


def _generate_locked(size: str, out: Path, seed: int, href_base: str | None,
                     jobs: int, force: bool, log) -> dict:
    """generate_world() once the lock is held."""
    t_start = time.monotonic()
    spec = SIZES[size]
    scenes = [asdict(s) for s in plan_world(size, seed)]

    reused = not force and world_is_complete(out, size, seed)
    if reused:
        old = load_manifest(out)
        files = old["files"]
        cog_seconds = old.get("cog_seconds")
    else:
        # Remove the completion marker first: if this run is interrupted the
        # next one sees an incomplete world and starts over.
        (out / "world.json").unlink(missing_ok=True)
        shutil.rmtree(out / "cogs", ignore_errors=True)
        t_cogs = time.monotonic()
        files = {}
        tasks = [(s, str(out)) for s in scenes]
        if jobs <= 1:
            for rec in map(_render_task, tasks):
                files.update(rec)
        else:
            # spawn: a fresh interpreter per worker, so no GDAL/PROJ state is
            # inherited through fork.
            ctx = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as ex:
                for rec in ex.map(_render_task, tasks, chunksize=1):
                    files.update(rec)
        files = dict(sorted(files.items()))
        cog_seconds = round(time.monotonic() - t_cogs, 2)

    items = build_items(scenes, out, href_base)
    write_catalogs(items, out)

    tiles = {}
    for t in spec.tiles:
        tile = make_tile(*t)
        tiles[tile.id] = dict(epsg=tile.epsg, zone=tile.zone, e0=tile.e0, n0=tile.n0,
                              transform=[float(spec.pixel_m), 0.0, tile.x0, 0.0,
                                         -float(spec.pixel_m), tile.y0],
                              lonlat_bounds=list(tile.lonlat_bounds))
    total = sum(r["bytes"] for r in files.values())
    manifest = {
        "generator": "lazycogs tools/make_world.py",
        "generator_version": GENERATOR_VERSION,
        "size": size,
        "seed": seed,
        "complete": True,
        "href_base": _base_url(out, href_base),
        "collection": COLLECTION_ID,
        "item_count": len(scenes),
        "dates": sorted({s["date"] for s in scenes}),
        "bands": list(spec.assets),
        "assets": {b: dict(dtype=ASSET_INFO[b]["dtype"], nodata=0,
                           pixel_m=spec.pixel_m * ASSET_INFO[b]["factor"],
                           roles=ASSET_INFO[b]["roles"], code=BAND_CODE[b])
                   for b in spec.assets},
        "pixel_m": spec.pixel_m,
        "tile_size_m": TILE_SIZE_M,
        "block_size": BLOCK_SIZE,
        "tiles": tiles,
        "zones": sorted({t["epsg"] for t in tiles.values()}),
        "codecs": [list(c) for c in LOSSLESS_CODECS] + [["JPEG", 1]],
        "total_bytes": total,
        "cog_seconds": cog_seconds,
        "items": scenes,
        "files": files,
    }
    _atomic_write_text(out / "world.json", json.dumps(manifest, indent=1) + "\n")
    elapsed = time.monotonic() - t_start
    manifest["elapsed_seconds"] = elapsed
    if log:
        zones = ", ".join(str(z) for z in manifest["zones"])
        log(f"make_world: size={size} seed={seed} -> {out}\n"
            f"  items {len(scenes)}, dates {len(manifest['dates'])} "
            f"({manifest['dates'][0]} .. {manifest['dates'][-1]}), "
            f"tiles {len(tiles)} (EPSG {zones})\n"
            f"  assets {', '.join(spec.assets)} + thumbnail at {spec.pixel_m} m; "
            f"{len(files)} files, {total / 1e6:.1f} MB\n"
            f"  hrefs under {manifest['href_base']}\n"
            f"  {'COGs reused, catalogs rewritten' if reused else 'COGs written'} "
            f"in {elapsed:.1f} s")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(
        description="Build the deterministic synthetic Sentinel-2-like test world.")
    ap.add_argument("--size", choices=sorted(SIZES), default="ci",
                    help="world size (default: ci)")
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--href-base", default=None,
                    help="URL prefix for hrefs (default: file:// of --out)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED,
                    help=f"random seed (default: {DEFAULT_SEED})")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default: 2)")
    ap.add_argument("--force", action="store_true",
                    help="regenerate the COGs even if the world is complete")
    args = ap.parse_args(argv)
    generate_world(args.size, args.out, seed=args.seed, href_base=args.href_base,
                   jobs=args.jobs, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
