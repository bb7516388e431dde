"""The C COG reader against GDAL (rasterio) on every real third-party TIFF."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import os
from pathlib import Path

import pytest
import rasterio

import lazycogs
from gdal_oracle import assert_reads_like_gdal, assert_same_pixels

pytestmark = pytest.mark.filterwarnings(
    "ignore::rasterio.errors.NotGeoreferencedWarning")

REALDATA = Path(
    os.environ.get("LAZYCOGS_REALDATA",
                   Path(__file__).resolve().parents[3] / "shared" / "realdata")
)
COG_DIR = REALDATA / "cog"
TIFFS = sorted(
    p for p in COG_DIR.rglob("*")
    if p.suffix.lower() in (".tif", ".tiff", ".cog") and p.is_file()
) if COG_DIR.is_dir() else []

# Files lazycogs refuses on purpose, with the error class and a message part.
REJECTED = {
    "slc.tif": (lazycogs.UnsupportedError, "complex"),
}


def test_realdata_is_present():
    assert len(TIFFS) > 80, f"expected the real TIFFs under {COG_DIR}"


@pytest.mark.parametrize("path", TIFFS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reads_like_gdal(path: Path):
    if path.name in REJECTED:
        cls, part = REJECTED[path.name]
        with pytest.raises(cls) as excinfo:
            lazycogs.read_cog(str(path), window=(0, 0, 1, 1))
        assert part in str(excinfo.value)
        assert str(path) in str(excinfo.value)
        return
    assert_reads_like_gdal(path)


def test_band_selection_and_order():
    path = COG_DIR / "rio-cogeo" / "image_rioCOG_gdal3.1.tif"
    with rasterio.open(path) as src:
        theirs = src.read(indexes=[3, 1])
    ours = lazycogs.read_cog(str(path), bands=[3, 1])
    assert_same_pixels(ours, theirs, "bands [3, 1]")


def test_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.tif"
    with pytest.raises(lazycogs.NotFoundError) as excinfo:
        lazycogs.read_cog(str(missing))
    assert str(missing) in str(excinfo.value)
    not_tiff = tmp_path / "not.tif"
    not_tiff.write_bytes(b"PK\x03\x04 this is a zip file, not a TIFF")
    with pytest.raises(lazycogs.CorruptDataError) as excinfo:
        lazycogs.read_cog(str(not_tiff))
    assert "not a TIFF" in str(excinfo.value)
    path = COG_DIR / "rio-tiler" / "cog.tif"
    with pytest.raises(lazycogs.InvalidArgumentError):
        lazycogs.read_cog(str(path), window=(2600, 0, 100, 10))
