"""Mosaic methods (src/mosaic) against numpy.ma on random stacks with nodata.

Each case builds a random stack of items for one chunk: every item covers a
random sub-rectangle, carries a random validity mask, nodata values and (for
float dtypes) NaNs. The C test program `test_mosaic --oracle` mosaics it
(stdin/stdout protocol documented in tests/c/test_mosaic.c) and the result
must equal numpy's: np.ma.max/min for highest/lowest, the first valid item
for first, np.ma.mean/median/std (ddof 0, in float64) for mean/median/stdev,
and the number of valid observations for count. is_done after each item is
checked too: first is done once every value is valid, the other methods
never, and all of them once covered when exit_when_covered is asked for.

Validity is our documented rule, not the reference's: a value is valid when
the item covers it, its mask is set, it differs from nodata and it is not
NaN.

Environment:
  LAZYCOGS_BUILD_DIR   CMake build folder holding tests/c/test_mosaic
                       (default: build/asan of this checkout); skipped if absent
"""
# SPDX-License-Identifier: MIT
import os
import struct
import zlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

BUILD_DIR = Path(os.environ.get(
    "LAZYCOGS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build" / "asan"))
BINARY = BUILD_DIR / "tests" / "c" / "test_mosaic"

# Values pinned by enum lc_mosaic_method and enum lc_dtype.
METHODS = {"first": 0, "highest": 1, "lowest": 2, "mean": 3, "median": 4,
           "stdev": 5, "count": 6}
DTYPES = {"uint8": 1, "int8": 2, "uint16": 3, "int16": 4, "uint32": 5,
          "int32": 6, "uint64": 7, "int64": 8, "float32": 9, "float64": 10}


def natural_dtype(method: str, dtype: np.dtype) -> np.dtype:
    """lc__mosaic_output_dtype."""
    if method in ("first", "highest", "lowest"):
        return dtype
    if method == "count":
        return np.dtype(np.uint16)
    wide = dtype.itemsize >= 4 and dtype != np.float32
    return np.dtype(np.float64 if wide else np.float32)


def random_values(rng, dtype: np.dtype, shape) -> np.ndarray:
    """Values spanning most of the dtype's range (floats: wide magnitudes),
    from a small set of distinct values so that ties happen."""
    if dtype.kind == "f":
        pool = rng.normal(0, 1, 40) * 10.0 ** rng.integers(-3, 6, 40)
        return rng.choice(pool, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    pool = rng.integers(info.min, info.max, 40, dtype=dtype, endpoint=True)
    pool[:3] = [info.min, info.max, 0]
    return rng.choice(pool, size=shape).astype(dtype)


def make_case(rng, dtype: np.dtype, nbands: int, height: int, width: int,
              nitems: int, with_nodata: bool):
    """Items as (x0, y0, values[b, h, w], mask[h, w] or None), the full
    stacks (nitems, nbands, H, W) of values and validity, and nodata."""
    nodata = None
    if with_nodata:
        if dtype.kind == "f" and rng.random() < 0.3:
            nodata = float("nan")
        elif dtype.kind == "f":
            nodata = -9999.0
        elif dtype.kind == "u":
            # The dtype's maximum, unless double cannot hold it exactly.
            info = np.iinfo(dtype)
            nodata = float(info.max) if dtype.itemsize < 8 else 12345.0
        else:
            nodata = -7.0
    items = []
    stack = np.zeros((nitems, nbands, height, width), dtype=dtype)
    valid = np.zeros((nitems, nbands, height, width), dtype=bool)
    for k in range(nitems):
        if rng.random() < 0.3:
            x0, y0, w, h = 0, 0, width, height
        else:
            x0 = int(rng.integers(0, width))
            y0 = int(rng.integers(0, height))
            w = int(rng.integers(1, width - x0 + 1))
            h = int(rng.integers(1, height - y0 + 1))
        vals = random_values(rng, dtype, (nbands, h, w))
        ok = np.ones((nbands, h, w), dtype=bool)
        if nodata is not None:
            hit = rng.random((nbands, h, w)) < 0.25
            if not np.isnan(nodata):
                vals[hit] = nodata
        if dtype.kind == "f":
            nan = rng.random((nbands, h, w)) < 0.1
            vals[nan] = np.nan
            ok &= ~nan
        if nodata is not None and not np.isnan(nodata):
            ok &= vals != dtype.type(nodata)
        mask = None
        if rng.random() < 0.5:
            mask = (rng.random((h, w)) < 0.8).astype(np.uint8)
            ok &= mask.astype(bool)[None, :, :]
        items.append((x0, y0, vals, mask))
        stack[k, :, y0:y0 + h, x0:x0 + w] = vals
        valid[k, :, y0:y0 + h, x0:x0 + w] = ok
    return items, stack, valid, nodata


def run_c(method: str, dtype: np.dtype, out_dtype: np.dtype, shape, items,
          nodata, fill: float, exit_when_covered: bool):
    nbands, height, width = shape
    blob = bytearray(b"LCMO")
    blob += struct.pack("<9q", METHODS[method], DTYPES[dtype.name], nbands,
                        height, width, len(items), int(exit_when_covered),
                        int(nodata is not None), DTYPES[out_dtype.name])
    blob += struct.pack("<2d", nodata if nodata is not None else 0.0, fill)
    for x0, y0, vals, mask in items:
        _, h, w = vals.shape
        blob += struct.pack("<5q", x0, y0, w, h, int(mask is not None))
        blob += np.ascontiguousarray(vals, dtype=dtype.newbyteorder("<")).tobytes()
        if mask is not None:
            blob += mask.tobytes()
    run = subprocess.run([str(BINARY), "--oracle"], input=bytes(blob),
                         capture_output=True, check=False)
    assert run.returncode == 0, run.stderr.decode()
    done = np.frombuffer(run.stdout[:len(items)], dtype=np.uint8).astype(bool)
    out = np.frombuffer(run.stdout[len(items):],
                        dtype=out_dtype.newbyteorder("<")).reshape(shape)
    return done, out


def expected(method: str, stack, valid, fill, out_dtype: np.dtype):
    """numpy's answer, in out_dtype."""
    covered = valid.any(axis=0)
    # Values under the mask never count; zero them so that NaN data there
    # cannot leak into numpy's masked reductions.
    stack = np.where(valid, stack, np.zeros((), dtype=stack.dtype))
    if method == "count":
        return valid.sum(axis=0).astype(np.uint16)
    if method == "first":
        first = valid.argmax(axis=0)
        res = np.take_along_axis(stack, first[None], axis=0)[0]
        res = res.astype(out_dtype)
    elif method in ("highest", "lowest"):
        ma = np.ma.MaskedArray(stack, mask=~valid)
        res = (ma.max(axis=0) if method == "highest" else ma.min(axis=0))
        res = np.ma.getdata(res).astype(out_dtype)
    else:
        ma = np.ma.MaskedArray(stack.astype(np.float64), mask=~valid)
        if method == "mean":
            res = ma.mean(axis=0)
        elif method == "median":
            res = np.ma.median(ma, axis=0)
        else:
            res = ma.std(axis=0)
        res = np.ma.getdata(res).astype(np.float64)
    res = np.array(res)
    res[~covered] = np.asarray(fill).astype(res.dtype)
    return res.astype(out_dtype)


def assert_matches(method, got, want, stack, valid):
    if method in ("first", "highest", "lowest", "count"):
        np.testing.assert_array_equal(got, want)
        return
    # Floating results: mean is summed in order (numpy sums pairwise), stdev
    # uses Welford's update (numpy two passes); both agree to rounding. The
    # median is exact up to the output's rounding.
    scale = np.nanmax(np.abs(np.where(valid, stack.astype(np.float64), 0)),
                      axis=0, initial=0.0)
    rtol = 1e-6 if got.dtype == np.float32 else 1e-11
    tol = rtol * (np.abs(want.astype(np.float64)) + scale) + 1e-300
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = ~(diff <= tol)
    assert not bad.any(), (
        f"{bad.sum()} values differ; first at {np.argwhere(bad)[0]}: "
        f"got {got[tuple(np.argwhere(bad)[0])]}, "
        f"want {want[tuple(np.argwhere(bad)[0])]}")


def expected_done(method, valid, exit_when_covered):
    cov = np.logical_or.accumulate(valid, axis=0)
    all_cov = cov.reshape(len(valid), -1).all(axis=1)
    if method == "first" or exit_when_covered:
        return all_cov
    return np.zeros(len(valid), dtype=bool)


@pytest.fixture(scope="module")
def binary():
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} not built (set LAZYCOGS_BUILD_DIR)")
    return BINARY


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("method", list(METHODS))
def test_random_stacks(binary, method, dtype):
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(zlib.crc32(f"{method}/{dtype.name}".encode()))
    for case in range(12):
        nbands = int(rng.integers(1, 3))
        height = int(rng.integers(1, 6))
        width = int(rng.choice([1, 7, 63, 64, 65, 130]))
        nitems = int(rng.integers(1, 8))
        items, stack, valid, nodata = make_case(
            rng, dtype, nbands, height, width, nitems,
            with_nodata=case % 3 != 0)
        out_dtype = natural_dtype(method, dtype)
        if nodata is None or np.isnan(nodata):
            fill = -1.0 if out_dtype.kind == "f" else 0.0
        else:
            fill = nodata
        exit_when_covered = case % 4 == 1
        done, got = run_c(method, dtype, out_dtype, (nbands, height, width),
                          items, nodata, fill, exit_when_covered)
        want = expected(method, stack, valid, fill, out_dtype)
        assert got.dtype == want.dtype
        assert_matches(method, got, want, stack, valid)
        np.testing.assert_array_equal(
            done, expected_done(method, valid, exit_when_covered))


@pytest.mark.parametrize("method", ["mean", "median", "stdev"])
@pytest.mark.parametrize("out_dtype", ["float32", "float64"])
def test_float_methods_any_float_output(binary, method, out_dtype):
    """The engine may ask float32 of a float64 result and the reverse."""
    rng = np.random.default_rng(7)
    dtype = np.dtype(np.int32)
    out = np.dtype(out_dtype)
    items, stack, valid, nodata = make_case(rng, dtype, 2, 4, 65, 6, True)
    _, got = run_c(method, dtype, out, (2, 4, 65), items, nodata, -1.0,
                   False)
    want = expected(method, stack, valid, -1.0, out)
    assert_matches(method, got, want, stack, valid)


def test_first_into_wider_output(binary):
    """First of uint16 written as float32, fill included."""
    rng = np.random.default_rng(3)
    dtype = np.dtype(np.uint16)
    items, stack, valid, nodata = make_case(rng, dtype, 1, 3, 70, 4, True)
    _, got = run_c("first", dtype, np.dtype(np.float32), (1, 3, 70), items,
                   nodata, -9999.0, False)
    want = expected("first", stack, valid, -9999.0, np.dtype(np.float32))
    np.testing.assert_array_equal(got, want)
