"""`lazycogs read`: the GeoTIFF it writes holds what lazycogs.open() reads,
as GDAL (rasterio) and our own COG reader see it, with its CRS, transform,
nodata, deflate and 256 x 256 tiles; and bad command lines, missing files
and unwritable outputs fail clearly.

LAZYCOGS_CLI=<build>/lazycogs runs these against another build of the
command (an ASan one, say)."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.transform import Affine  # noqa: E402

import lazycogs  # noqa: E402

CLI = (os.environ.get("LAZYCOGS_CLI") or shutil.which("lazycogs")
       or str(Path(sys.executable).parent / "lazycogs"))

# Most of the ci world in EPSG:5070, at 500 m: 820 x 400 pixels.
BBOX = (150000.0, 2540000.0, 560000.0, 2740000.0)
RES = 500.0
QUERY = {"time_period": "P1M", "filter": "eo:cloud_cover < 50",
         "sortby": "eo:cloud_cover"}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True)


def _read_args(catalog, out, *extra, bands=("red", "green", "blue")):
    return ["read", str(catalog), "--crs", "EPSG:5070",
            "--bbox", ",".join(str(v) for v in BBOX),
            "--resolution", str(RES), "--time-period", QUERY["time_period"],
            "--filter", QUERY["filter"], "--sortby", QUERY["sortby"],
            "--bands", ",".join(bands), "--out", str(out), *extra]


def _open(catalog, bands=("red", "green", "blue"), **kw):
    return lazycogs.open(str(catalog), crs="EPSG:5070", bbox=BBOX,
                         resolution=RES, bands=list(bands), **QUERY, **kw)


def _step(da, label: str) -> int:
    """The index of the time step whose label (a month here) is given."""
    months = [str(t)[:7] for t in da.time.values]
    return months.index(label)


@pytest.fixture
def gdal_warnings(caplog):
    """GDAL's warnings and errors while reading our files (none allowed)."""
    caplog.set_level(logging.WARNING, logger="rasterio")
    yield lambda: [r.getMessage() for r in caplog.records
                   if r.name.startswith("rasterio")]


def _check_file(path, da, *, dtype, interleave="pixel", predictor):
    """What GDAL reports about path, against the DataArray it came from."""
    with rasterio.open(path) as src:
        prof = src.profile
        assert prof["driver"] == "GTiff"
        assert prof["compress"] == "deflate"
        assert prof["tiled"] is True
        assert (prof["blockxsize"], prof["blockysize"]) == (256, 256)
        assert prof["interleave"] == interleave
        assert src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == \
            str(predictor)
        assert src.dtypes[0] == dtype
        assert src.crs.to_epsg() == 5070
        a, b, c, d, e, f = da.attrs["spatial:transform"]
        x0 = int(round((float(da.x[0]) - c) / a - 0.5))
        y0 = int(round((float(da.y[0]) - f) / e - 0.5))
        assert src.transform == Affine(a, b, c + x0 * a, d, e, f + y0 * e)
        assert (src.width, src.height) == (da.sizes["x"], da.sizes["y"])
        fill = da.attrs.get("_FillValue")
        if fill is None:
            assert src.nodata is None
        elif np.isnan(fill):
            assert np.isnan(src.nodata)
        else:
            assert src.nodata == fill
        assert list(src.descriptions) == [str(b) for b in da.band.values]
        return src.read()


def test_read_uint16_equals_open(ci_world, tmp_path, gdal_warnings):
    """A month of three uint16 bands, read in 512-pixel blocks: every pixel
    equals lazycogs.open() read in the same blocks; GDAL and our reader
    agree on the file."""
    out = tmp_path / "june.tif"
    result = _run(*_read_args(ci_world / "items.parquet", out,
                              "--time", "2025-06", "--chunk", "512"))
    assert result.returncode == 0, result.stderr
    # The read's window depends on the block (the source-pixel map is
    # approximated per window), so the oracle reads the same blocks.
    da = _open(ci_world / "items.parquet",
               chunks={"time": 1, "y": 512, "x": 512})
    want = da.isel(time=_step(da, "2025-06")).values
    got = _check_file(out, da, dtype="uint16", predictor=2)
    assert want.dtype == got.dtype
    np.testing.assert_array_equal(got, want)
    assert (want != 0).mean() > 0.2  # the month has data
    # Our own reader reads the file back the same.
    np.testing.assert_array_equal(lazycogs.read_cog(str(out)), want)
    assert gdal_warnings() == []


def test_read_one_block_equals_unchunked_open(ci_world, tmp_path):
    """With one block the size of the grid, the read is lazycogs.open()'s
    single read of the whole grid."""
    out = tmp_path / "july.tif"
    result = _run(*_read_args(ci_world / "items.parquet", out,
                              "--time", "2025-07", "--chunk", "1024",
                              "--quiet"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    da = _open(ci_world / "items.parquet")
    want = da.isel(time=_step(da, "2025-07")).values
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(), want)


def test_read_float32_mean_band_interleaved(ci_world, tmp_path,
                                            gdal_warnings):
    """The mean mosaic is float32: floating-point predictor, NaN nodata
    where no item covers, planes per band."""
    out = tmp_path / "mean.tif"
    bands = ("red", "nir")
    result = _run(*_read_args(ci_world / "items.parquet", out,
                              "--mosaic", "mean", "--time", "2025-08",
                              "--chunk", "256", "--interleave", "band",
                              bands=bands))
    assert result.returncode == 0, result.stderr
    da = _open(ci_world / "items.parquet", bands=bands,
               mosaic_method=lazycogs.MeanMethod,
               chunks={"time": 1, "y": 256, "x": 256})
    want = da.isel(time=_step(da, "2025-08")).values
    assert want.dtype == np.float32
    got = _check_file(out, da, dtype="float32", interleave="band",
                      predictor=3)
    np.testing.assert_array_equal(got, want)  # NaNs in the same places
    assert np.isfinite(want).any()
    np.testing.assert_array_equal(lazycogs.read_cog(str(out)), want)
    info = json.loads(_run("info", str(out), "--json").stdout)
    assert (info["predictor"], info["interleave"]) == (3, "band")
    assert gdal_warnings() == []


def test_read_window_and_time_inside_step(ci_world, tmp_path):
    """--window reads that part of the grid, and the transform moves to
    its corner; --time given as a day inside the month picks the month."""
    out = tmp_path / "window.tif"
    result = _run(*_read_args(ci_world / "items.parquet", out,
                              "--window", "300,100,333,222",
                              "--time", "2025-06-17T12:00:00Z",
                              "--dtype", "int32", "--nodata", "-1"))
    assert result.returncode == 0, result.stderr
    da = _open(ci_world / "items.parquet", dtype="int32", nodata=-1)
    view = da.isel(time=_step(da, "2025-06"), y=slice(100, 322),
                   x=slice(300, 633))
    want = view.values
    got = _check_file(out, view, dtype="int32", predictor=2)
    np.testing.assert_array_equal(got, want)
    assert (want == -1).any() and (want > 0).any()
    with rasterio.open(out) as src:
        assert src.nodata == -1
        assert src.bounds.left == BBOX[0] + 300 * RES
        assert src.bounds.top == BBOX[3] - 100 * RES


def test_read_default_time_is_first_step(ci_world, tmp_path):
    out = tmp_path / "first.tif"
    result = _run(*_read_args(ci_world / "items.parquet", out,
                              "--compress", "none", bands=("scl",)))
    assert result.returncode == 0, result.stderr
    da = _open(ci_world / "items.parquet", bands=("scl",))
    with rasterio.open(out) as src:
        assert src.profile.get("compress") is None
        assert src.dtypes[0] == "uint8"
        np.testing.assert_array_equal(src.read(), da.isel(time=0).values)
    assert "time step 2025-06" in result.stderr


def test_read_errors_ignore_names_the_skipped_item(ci_world, tmp_path):
    """--errors ignore: an item whose asset is gone is skipped with a line
    on stderr saying which and why; the rest equals open(errors=ignore).
    Without it the command fails naming the item."""
    lines = (ci_world / "items.ndjson").read_text().splitlines()
    items = [json.loads(line) for line in lines]
    june = [i for i in items if i["properties"]["datetime"].startswith(
        "2025-06") and i["properties"]["eo:cloud_cover"] < 50]
    broken = june[0]["id"]
    june[0]["assets"]["red"]["href"] = str(tmp_path / "gone.tif")
    catalog = tmp_path / "items.ndjson"
    catalog.write_text("".join(json.dumps(i) + "\n" for i in items))
    out = tmp_path / "ignored.tif"
    args = _read_args(catalog, out, "--time", "2025-06", "--quiet")
    failed = _run(*args)
    assert failed.returncode == 1
    assert f"from item '{broken}'" in failed.stderr
    result = _run(*args, "--errors", "ignore")
    assert result.returncode == 0, result.stderr
    skipped = [line for line in result.stderr.splitlines()
               if line.startswith("lazycogs read: skipped: ")]
    assert skipped and all(
        f"Failed to read bands ['red', 'green', 'blue'] from item "
        f"'{broken}': " in line and "gone.tif" in line for line in skipped)
    da = _open(catalog, errors="ignore")
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(
            src.read(), da.isel(time=_step(da, "2025-06")).values)


def test_read_time_errors(ci_world, tmp_path):
    out = tmp_path / "x.tif"
    cat = ci_world / "items.parquet"
    none = _run(*_read_args(cat, out, "--time", "2024-01"))
    assert none.returncode == 1
    assert "--time 2024-01 matches no time step" in none.stderr
    assert "2025-06, 2025-07, 2025-08, 2025-09" in none.stderr
    # Several daily steps in one month: listed, none chosen.
    args = _read_args(cat, out, "--time", "2025-06")
    args[args.index("P1M")] = "P1D"
    several = _run(*args)
    assert several.returncode == 1
    daily = lazycogs.open(str(cat), crs="EPSG:5070", bbox=BBOX,
                          resolution=RES, bands=["red"],
                          **{**QUERY, "time_period": "P1D"})
    june = [str(t)[:10] for t in daily.time.values
            if str(t).startswith("2025-06")]
    assert len(june) >= 2
    assert (f"--time 2025-06 matches {len(june)} time steps; give one of: "
            + ", ".join(june)) in several.stderr
    bad = _run(*_read_args(cat, out, "--time", "June"))
    assert bad.returncode == 2
    assert "--time" in bad.stderr
    assert not out.exists()


@pytest.mark.parametrize("change, option", [
    (("--bbox", "1,2,3"), "--bbox"),
    (("--bbox", "5,0,1,1"), "--bbox"),
    (("--resolution", "-3"), "--resolution"),
    (("--resolution", "abc"), "--resolution"),
    (("--mosaic", "best"), "--mosaic"),
    (("--dtype", "float16"), "--dtype"),
    (("--resampling", "lanczos"), "--resampling"),
    (("--errors", "warn"), "--errors"),
    (("--chunk", "300"), "--chunk"),
    (("--window", "0,0,0,5"), "--window"),
    (("--window", "800,0,100,10"), "--window"),  # past the 820-px grid
    (("--interleave", "line"), "--interleave"),
    (("--threads", "0"), "--threads"),
    (("--frobnicate", "1"), "--frobnicate"),
])
def test_read_bad_arguments(ci_world, tmp_path, change, option):
    out = tmp_path / "x.tif"
    args = _read_args(ci_world / "items.parquet", out)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += list(change)
    result = _run(*args)
    assert result.returncode == 2, result.stderr
    assert option in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("drop", ["--crs", "--bbox", "--resolution",
                                  "--out"])
def test_read_missing_required(ci_world, tmp_path, drop):
    args = _read_args(ci_world / "items.parquet", tmp_path / "x.tif")
    i = args.index(drop)
    del args[i:i + 2]
    result = _run(*args)
    assert result.returncode == 2
    assert f"{drop} is required" in result.stderr


def test_read_missing_catalogue(tmp_path):
    missing = tmp_path / "nope.parquet"
    result = _run(*_read_args(missing, tmp_path / "x.tif"))
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert not (tmp_path / "x.tif").exists()


def test_read_output_in_missing_directory(ci_world, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "x.tif"
    result = _run(*_read_args(ci_world / "items.parquet", out))
    assert result.returncode == 1
    assert str(out) in result.stderr
    assert not out.parent.exists()


def test_read_crs_without_epsg(ci_world, tmp_path):
    out = tmp_path / "x.tif"
    laea = "+proj=laea +lat_0=46 +lon_0=-93 +datum=WGS84 +units=m +no_defs"
    result = _run("read", str(ci_world / "items.parquet"), "--crs", laea,
                  "--bbox", "-100000,-100000,100000,100000",
                  "--resolution", "1000", "--out", str(out))
    assert result.returncode == 1
    assert "EPSG" in result.stderr
    assert not out.exists()


def test_read_progress(ci_world, tmp_path):
    out = tmp_path / "p.tif"
    forced = _run(*_read_args(ci_world / "items.parquet", out, "--progress",
                              "--chunk", "256"))
    assert forced.returncode == 0, forced.stderr
    # one redraw per block: 2 x 4 blocks of 256 and the first, empty one
    assert forced.stderr.count("reading [") == 9
    assert "100% 8/8 blocks" in forced.stderr
    quiet = _run(*_read_args(ci_world / "items.parquet", out, "--progress",
                             "--quiet"))
    assert quiet.returncode == 0 and quiet.stderr == ""
    # stderr is a pipe here: no bar unless forced, only the summary line
    plain = _run(*_read_args(ci_world / "items.parquet", out))
    assert plain.returncode == 0
    assert "reading [" not in plain.stderr
    assert plain.stderr.startswith(f"wrote {out}: 820 x 400 px")


def test_read_help_and_usage():
    result = _run("read", "--help")
    assert result.returncode == 0
    for word in ("--out", "--time", "--window", "--crs", "--mosaic",
                 "--progress", "--region"):
        assert word in result.stdout
    top = _run("--help")
    assert "read FILE" in top.stdout and "explain FILE" in top.stdout


def test_read_interrupted_removes_the_file(ci_world, tmp_path):
    """Ctrl-C stops the read within a block: exit status 130, no file."""
    import signal

    out = tmp_path / "big.tif"
    args = _read_args(ci_world / "items.parquet", out, "--progress",
                      "--chunk", "256")
    args[args.index("--resolution") + 1] = "50"  # 8200 x 4000: 512 blocks
    proc = subprocess.Popen([CLI, *args], stderr=subprocess.PIPE)
    seen = b""
    while b" 2/" not in seen:  # two blocks written
        chunk = proc.stderr.read1(4096)
        assert chunk, seen[-300:]
        seen += chunk
    assert out.exists()
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, (seen + rest)[-500:]
    assert b"interrupted" in rest
    assert not out.exists()


@pytest.mark.parametrize("when, step", [
    ("2025-07", "2025-07"),                    # a label
    ("2025", None),                            # a year: four months
    ("2025-06-30", "2025-06"),                 # a day
    ("2025-06-30T23:30:00-01:00", "2025-07"),  # 00:30 UTC on July 1
    ("2025-07-01T00:29:59.999999+01:00", "2025-06"),
    ("2025-08-15 12:00", "2025-08"),
    ("2025-09-30T23:59:59.5Z", "2025-09"),
    ("2025-02-30", "bad"),
    ("2025-13", "bad"),
    ("2025-06-01T24:00Z", "bad"),
    ("2025-06-01T10:00:00Zjunk", "bad"),
])
def test_read_time_forms(ci_world, tmp_path, when, step):
    out = tmp_path / "t.tif"
    result = _run(*_read_args(ci_world / "items.parquet", out, "--time",
                              when, "--window", "0,0,16,16"))
    if step == "bad":
        assert result.returncode == 2
        assert f"bad value for --time: {when}" in result.stderr
    elif step is None:
        assert result.returncode == 1
        assert "matches 4 time steps" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert f"time step {step} " in result.stderr


def test_read_allowed_roots_confine_local_hrefs(ci_world, tmp_path):
    """--allowed-roots confines the catalogue's local hrefs: a folder that
    does not hold the COGs fails naming one, the world's folder reads."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    out = tmp_path / "out.tif"
    r = _run(*_read_args(ci_world / "items.parquet", out,
                         "--allowed-roots", str(other)))
    assert r.returncode == 1, r.stderr
    assert "allowed" in r.stderr and ".tif" in r.stderr, r.stderr
    assert not out.exists()
    r = _run(*_read_args(ci_world / "items.parquet", out,
                         "--allowed-roots", f"{other},{ci_world}"))
    assert r.returncode == 0, r.stderr
    # on with no roots: nothing local may be read.
    r = _run(*_read_args(ci_world / "items.parquet", tmp_path / "b.tif",
                         "--confine-local-hrefs", "on"))
    assert r.returncode == 1 and "allowed" in r.stderr, r.stderr
    r = _run(*_read_args(ci_world / "items.parquet", tmp_path / "c.tif",
                         "--confine-local-hrefs", "off"))
    assert r.returncode == 0, r.stderr


def test_exit_right_after_open(ci_world, tmp_path):
    """open() may return before PROJ's search for the transformation to
    EPSG:4326 ends (a pool thread goes on with it, for the reads); a CLI
    that fails right after open() exits while it runs. exit() must wait for
    it: PROJ's static destructors ran under the search and crashed such
    processes (SIGSEGV) when the machine was busy: without the wait, four
    runs of this test out of four failed. Thirty-two at once, three times,
    keep the machine busy."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    for _ in range(3):
        procs = [subprocess.Popen(
            [CLI, *_read_args(ci_world / "items.parquet",
                              tmp_path / f"{i}.tif",
                              "--allowed-roots", str(other))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(32)]
        for p in procs:
            _, err = p.communicate()
            assert p.returncode == 1 and "allowed" in err, (p.returncode,
                                                            err)


def test_read_limit_option(ci_world, tmp_path):
    """--limit lowers (or raises) a cap of docs/limits.md: a block cap under
    the world's 512 x 512 uint16 tiles fails the read naming the cap; a
    bad name or value is a usage error."""
    out = tmp_path / "out.tif"
    r = _run(*_read_args(ci_world / "items.parquet", out,
                         "--limit", "max_block_nbytes=1000"))
    assert r.returncode == 1, r.stderr
    assert "max_block_nbytes" in r.stderr, r.stderr
    r = _run(*_read_args(ci_world / "items.parquet", out,
                         "--limit", "max_block_nbytes=1073741824"))
    assert r.returncode == 0, r.stderr
    for bad in ("max_nothing=5", "max_ifds=0", "max_ifds", "max_ifds=x"):
        r = _run(*_read_args(ci_world / "items.parquet", out, "--limit", bad))
        assert r.returncode == 2, (bad, r.stderr)
        assert "--limit" in r.stderr, r.stderr
