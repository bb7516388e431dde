"""`lazycogs info`: what it prints agrees with GDAL, and errors are clear."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rasterio

CLI = shutil.which("lazycogs") or str(Path(sys.executable).parent / "lazycogs")


def _info(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "info", *args], capture_output=True, text=True)


def test_info_json_agrees_with_gdal(ci_world):
    path = next((ci_world / "cogs").glob("*/swir16.tif"))
    result = _info(str(path), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    with rasterio.open(path) as src:
        assert (info["width"], info["height"]) == (src.width, src.height)
        assert info["dtype"] == src.dtypes[0]
        assert info["samples"] == src.count
        assert [info["block_height"], info["block_width"]] == list(src.block_shapes[0])
        assert info["compression"] == src.profile["compress"].lower()
        assert info["nodata"] == src.nodata
        assert info["epsg"] == src.crs.to_epsg()
        assert info["crs"] == f"EPSG:{src.crs.to_epsg()}"
        assert info["geotransform"] == pytest.approx(list(src.transform.to_gdal()))
        assert len(info["levels"]) == 1 + len(src.overviews(1))
        for level, factor in zip(info["levels"][1:], src.overviews(1)):
            assert level["resolution"][0] == pytest.approx(
                src.res[0] * src.width / level["width"])
            assert abs(level["width"] - src.width / factor) < 1
    # The bytes read to learn all that: the first 64 KiB only.
    assert info["requests"] == 1
    assert info["bytes_read"] == min(65536, path.stat().st_size)
    assert info["file_bytes"] == path.stat().st_size


def test_info_text_lists_overviews(ci_world):
    path = next((ci_world / "cogs").glob("*/red.tif"))
    result = _info(str(path))
    assert result.returncode == 0
    out = result.stdout
    assert out.startswith(f"{path}\n")
    for word in ("size:", "blocks:", "compression:", "overview 1:", "crs:",
                 "transform:", "nodata:", "read:"):
        assert word in out


def test_info_errors(tmp_path):
    missing = tmp_path / "nope.tif"
    result = _info(str(missing))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "LC_ENOTFOUND" in result.stderr and str(missing) in result.stderr
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00\xff\xff\xff\x7f")
    result = _info(str(bad))
    assert result.returncode == 1
    assert "LC_ECORRUPT" in result.stderr and "bad.tif" in result.stderr
    assert _info().returncode == 2
