"""GeoKey parsing (src/tiff/geokeys.c) against rasterio/GDAL on real files.

For every TIFF in the real-data folder, tools/dump_geokeys.py extracts the
three GeoKey tags, the C test program `test_geokeys --stdin` turns them into a
CRS definition, and the definition must describe the same CRS as the one
rasterio reports: pyproj equality, or else the same ellipsoid and the same
ground coordinates for points inside the raster (1e-9 degree, about 0.1 mm).

Environment:
  LAZYCOGS_BUILD_DIR     CMake build folder holding tests/c/test_geokeys
                         (default: build/asan of this checkout); skipped if absent
  LAZYCOGS_REALDATA_COG  the real COG folder (default
                         shared/realdata/cog beside the checkout); skipped if absent
"""
# SPDX-License-Identifier: MIT
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import dump_geokeys  # noqa: E402  (tools/dump_geokeys.py)

rasterio = pytest.importorskip("rasterio")
pyproj = pytest.importorskip("pyproj")

BUILD_DIR = Path(os.environ.get(
    "LAZYCOGS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build" / "asan"))
BINARY = BUILD_DIR / "tests" / "c" / "test_geokeys"
REALDATA = Path(os.environ.get("LAZYCOGS_REALDATA_COG",
                               Path(__file__).resolve().parents[3] / "shared" / "realdata" / "cog"))

DEG_TOL = 1e-9  # degrees, about 0.1 mm on Earth
M_TOL = 1e-3    # metres

# Files where rasterio reports no usable CRS although the keys define one,
# with the independent reference used instead.
#
# merc.tif: Mercator 1SP on NAD27 whose keys also give a latitude of natural
# origin of 30 degrees. GDAL carries it into "Mercator (variant A)", which
# PROJ cannot export or use ("Unsupported value for Latitude of natural
# origin"), so rasterio's CRS is None. Mercator has no latitude of origin
# (PROJ ignores +lat_0), and the scale factor 0.829916312080482 is that of a
# true-scale latitude of 34 degrees on Clarke 1866 (the file's
# ProjCenterLatGeoKey): the reference is that Mercator 2SP.
REFERENCES = {
    "georust-geotiff/merc.tif":
        "+proj=merc +lat_ts=34 +lon_0=-90 +x_0=0.001 +y_0=0.002 "
        "+datum=NAD27 +units=m +no_defs +type=crs",
}


def _tiffs():
    if not REALDATA.is_dir():
        return []
    return sorted(p for p in REALDATA.rglob("*")
                  if p.is_file() and p.suffix.lower() in
                  (".tif", ".tiff", ".cog"))


TIFFS = _tiffs()


@pytest.fixture(scope="module")
def parsed():
    """{relative path: (status, epsg, model, raster, definition)}, from one
    run of the C program over every file."""
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} not built (set LAZYCOGS_BUILD_DIR)")
    lines = [dump_geokeys.to_numbers(dump_geokeys.read_geokeys(p))
             for p in TIFFS]
    run = subprocess.run([str(BINARY), "--stdin"], input="\n".join(lines),
                         capture_output=True, text=True, check=True)
    rows = run.stdout.rstrip("\n").split("\n")
    assert len(rows) == len(TIFFS), run.stderr
    out = {}
    for path, row in zip(TIFFS, rows):
        status, epsg, model, raster, definition = row.split("\t", 4)
        out[path.relative_to(REALDATA).as_posix()] = (
            status, int(epsg), int(model), int(raster), definition)
    return out


def _rasterio_view(path):
    """(crs, sample points in that CRS, AREA_OR_POINT) as rasterio sees the
    file; the CRS of the GCPs when the file is georeferenced by GCPs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path) as ds:
            crs = ds.crs
            area_or_point = ds.tags().get("AREA_OR_POINT")
            gcps, gcp_crs = ds.gcps
            if crs is None and gcps and gcp_crs is not None:
                return gcp_crs, [(g.x, g.y) for g in gcps[:9]], area_or_point
            b = ds.bounds
            points = [(b.left + (b.right - b.left) * fx,
                       b.bottom + (b.top - b.bottom) * fy)
                      for fx in (0.0, 0.5, 1.0) for fy in (0.0, 0.5, 1.0)]
            return crs, points, area_or_point


def _to_lonlat(crs, points):
    geod = crs.geodetic_crs
    tr = pyproj.Transformer.from_crs(crs, geod, always_xy=True)
    return [tr.transform(x, y) for x, y in points]


def _same_ground(ours, theirs, points):
    """Same ellipsoid, prime meridian and lon/lat for every sample point."""
    e1, e2 = ours.ellipsoid, theirs.ellipsoid
    assert math.isclose(e1.semi_major_metre, e2.semi_major_metre,
                        rel_tol=1e-12), (e1, e2)
    assert math.isclose(e1.semi_minor_metre, e2.semi_minor_metre,
                        rel_tol=1e-12), (e1, e2)
    assert math.isclose(ours.prime_meridian.longitude,
                        theirs.prime_meridian.longitude, abs_tol=1e-12)
    for (x, y), a, b in zip(points, _to_lonlat(ours, points),
                            _to_lonlat(theirs, points)):
        assert all(math.isfinite(v) for v in a + b), (x, y, a, b)
        assert abs(a[0] - b[0]) < DEG_TOL and abs(a[1] - b[1]) < DEG_TOL, (
            x, y, a, b)


def _same_datum_shift(ours, theirs, points):
    """A bound CRS (TOWGS84) must shift to WGS 84 the same way."""
    if not (ours.is_bound or theirs.is_bound):
        return
    out = []
    for crs in (ours, theirs):
        tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        out.append([tr.transform(x, y) for x, y in points])
    for a, b in zip(*out):
        assert abs(a[0] - b[0]) < DEG_TOL and abs(a[1] - b[1]) < DEG_TOL


@pytest.mark.skipif(not TIFFS, reason="real-data folder not found")
@pytest.mark.parametrize(
    "rel", [p.relative_to(REALDATA).as_posix() for p in TIFFS])
def test_definition_matches_rasterio(parsed, rel):
    status, epsg, _model, raster, definition = parsed[rel]
    assert status == "LC_OK", definition
    theirs, points, area_or_point = _rasterio_view(REALDATA / rel)
    # GTRasterTypeGeoKey: 1 PixelIsArea, 2 PixelIsPoint (0: absent).
    if raster:
        assert area_or_point == {1: "Area", 2: "Point"}[raster]

    if rel in REFERENCES:
        assert theirs is None, "rasterio now reads this file: drop the entry"
        theirs = pyproj.CRS(REFERENCES[rel])
        ours = pyproj.CRS(definition)
        # Points around the projection center instead of the raster.
        geo = [(-90 + dx, 34 + dy) for dx in (-5, 0, 5) for dy in (-5, 0, 5)]
        to_xy = pyproj.Transformer.from_crs(theirs.geodetic_crs, theirs,
                                            always_xy=True)
        points = [to_xy.transform(lon, lat) for lon, lat in geo]
        assert ours.datum.to_json_dict()["id"]["code"] == 6267
        _same_ground(ours, theirs, points)
        return

    if theirs is None:
        assert definition == "", "rasterio sees no CRS here"
        return
    assert definition, f"rasterio reports {theirs.to_string()}"
    ours = pyproj.CRS(definition)
    theirs = pyproj.CRS(theirs.to_wkt())
    if epsg:
        assert definition == f"EPSG:{epsg}"
        assert theirs.to_epsg() == epsg
    if ours.equals(theirs, ignore_axis_order=True):
        return
    _same_ground(ours, theirs, points)
    _same_datum_shift(ours, theirs, points)
