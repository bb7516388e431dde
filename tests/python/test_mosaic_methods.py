"""The mosaic method classes used on their own: feed / data / is_done.

The classes are thin wrappers over the engine's C mosaic (_ext.Mosaic); the
oracle here is numpy.ma on the stacked feeds. The rows of the behaviour
reference's test_mosaic_methods list are covered where they apply; where our
behaviour differs on purpose (is_done of the non-first methods, NaN never
valid, float32/float64 results of mean/median/stdev) the tests assert our
documented behaviour (python/lazycogs/_mosaic.py, src/mosaic/mosaic.h).
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import re
import threading

import numpy as np
import pytest

import lazycogs
from lazycogs import (CountMethod, FirstMethod, HighestMethod, LowestMethod,
                      MeanMethod, MedianMethod, MosaicMethodBase, StdevMethod)
from lazycogs._mosaic import method_id

ALL = [FirstMethod, HighestMethod, LowestMethod, MeanMethod, MedianMethod,
       StdevMethod, CountMethod]
NO_DATA = re.escape("No data has been fed to the mosaic method.")


def ma(values, mask=None, dtype=np.uint8):
    """A (1, h, w) masked array from nested lists (mask True = nodata)."""
    values = np.asarray(values, dtype=dtype)
    if values.ndim == 2:
        values = values[np.newaxis]
    if mask is None:
        return np.ma.masked_array(values)
    return np.ma.masked_array(values, mask=np.broadcast_to(
        np.asarray(mask, dtype=bool), values.shape))


# ---- the reference's rows ---------------------------------------------------

@pytest.mark.parametrize("cls", ALL)
def test_data_raises_before_feed_and_not_done(cls):
    m = cls()
    assert m.is_done is False
    with pytest.raises(ValueError, match=NO_DATA):
        m.data
    assert m.fill_value == 0


@pytest.mark.parametrize("cls", ALL)
def test_is_done_after_one_fully_valid_tile(cls):
    """The reference is done for every method here (Count after any feed);
    ours stops only for first, as the engine does (documented)."""
    m = cls()
    m.feed(ma([[1, 2], [3, 4]]))
    assert m.is_done is (cls is FirstMethod)
    m.feed(ma([[5, 6], [7, 8]]))
    assert m.is_done is (cls is FirstMethod)


def test_first_keeps_first_fills_gaps_no_overwrite():
    m = FirstMethod()
    m.feed(ma([[1, 2], [3, 4]], [[False, True], [False, True]]))
    assert not m.is_done
    np.testing.assert_array_equal(m.data, [[[1, 0], [3, 0]]])
    # Fills the gaps only: 1 and 3 stay.
    m.feed(ma([[9, 8], [7, 6]]))
    assert m.is_done
    np.testing.assert_array_equal(m.data, [[[1, 8], [3, 6]]])
    # Once full, nothing overwrites.
    m.feed(ma([[100, 100], [100, 100]]))
    np.testing.assert_array_equal(m.data, [[[1, 8], [3, 6]]])
    assert m.data.dtype == np.uint8


def test_first_done_after_gap_fill_only():
    m = FirstMethod()
    m.feed(ma([[1, 2]], [[True, True]]))
    assert not m.is_done
    m.feed(ma([[5, 6]], [[False, True]]))
    assert not m.is_done
    m.feed(ma([[7, 8]], [[True, False]]))
    assert m.is_done
    np.testing.assert_array_equal(m.data, [[[5, 8]]])


@pytest.mark.parametrize("cls, fn", [(HighestMethod, np.ma.max),
                                     (LowestMethod, np.ma.min)])
def test_highest_lowest(cls, fn):
    a = ma([[1, 9, 5], [0, 0, 0]], [[False, False, True], [True, True, True]])
    b = ma([[4, 2, 7], [3, 0, 0]], [[False, True, False], [False, True, True]])
    m = cls(fill_value=99)
    m.feed(a)
    m.feed(b)
    expected = fn(np.ma.stack([a, b]), axis=0).filled(99)
    np.testing.assert_array_equal(m.data, expected)
    assert m.data.dtype == np.uint8
    assert m.data[0, 1, 2] == 99  # never valid


def test_mean_of_two_and_masked_ignoring_mean():
    m = MeanMethod()
    m.feed(ma([[1, 2], [3, 4]]))
    m.feed(ma([[2, 4], [6, 9]]))
    # float32 for uint8 input; the reference would truncate 6.5 to 6.
    assert m.data.dtype == np.float32
    np.testing.assert_array_equal(m.data, [[[1.5, 3], [4.5, 6.5]]])

    m = MeanMethod()
    m.feed(ma([[10, 20]], [[False, True]]))
    m.feed(ma([[30, 40]], [[True, False]]))
    m.feed(ma([[50, 60]], [[False, False]]))
    np.testing.assert_array_equal(m.data, [[[30, 50]]])


def test_median_of_three_and_even_count():
    m = MedianMethod()
    for v in (5, 1, 3):
        m.feed(ma([[v, v + 10]]))
    np.testing.assert_array_equal(m.data, [[[3, 13]]])
    m.feed(ma([[4, 0]], [[False, True]]))
    # Even count: the mean of the two middle values; masked values ignored.
    np.testing.assert_array_equal(m.data, [[[3.5, 13]]])
    assert m.data.dtype == np.float32


def test_stdev_constant_is_zero_and_matches_np_std():
    m = StdevMethod()
    for _ in range(4):
        m.feed(ma([[7, 7]]))
    np.testing.assert_array_equal(m.data, [[[0, 0]]])

    values = [2, 4, 4, 4, 5, 5, 7, 9]  # np.std = 2 exactly
    m = StdevMethod()
    for v in values:
        m.feed(np.full((1, 2, 2), v, dtype=np.float64))
    assert m.data.dtype == np.float64
    np.testing.assert_allclose(m.data, np.std(values), rtol=1e-15)
    assert np.std(values, ddof=0) == 2.0


def test_count_values():
    m = CountMethod(fill_value=9)
    m.feed(ma([[1, 2, 3]], [[False, True, True]]))
    m.feed(ma([[1, 2, 3]], [[False, False, True]]))
    m.feed(ma([[1, 2, 3]], [[False, False, True]]))
    # A count is never missing: 0, not fill_value, where nothing was valid.
    np.testing.assert_array_equal(m.data, [[[3, 2, 0]]])
    assert m.data.dtype == np.uint16
    assert not m.is_done


def test_requires_float_flags():
    assert {c.__name__ for c in ALL if c.requires_float} == {
        "MeanMethod", "MedianMethod", "StdevMethod"}
    assert MosaicMethodBase.requires_float is False


@pytest.mark.parametrize("cls", [FirstMethod, MedianMethod])
def test_fill_value_honoured(cls):
    m = cls(fill_value=255)
    m.feed(ma([[1, 2], [3, 4]], [[True, False], [False, True]]))
    m.feed(ma([[5, 6], [7, 8]], [[True, True], [False, True]]))
    data = m.data
    assert data[0, 0, 0] == 255 and data[0, 1, 1] == 255
    assert data[0, 0, 1] == 2
    assert data.dtype == (np.uint8 if cls is FirstMethod else np.float32)


# ---- random stacks against numpy.ma -----------------------------------------

FILL = 7  # representable in every dtype tested
# The documented result dtype of mean/median/stdev (lc__mosaic_output_dtype).
FLOAT_OUT = {"uint8": np.float32, "int16": np.float32, "uint16": np.float32,
             "float32": np.float32, "float64": np.float64, "int32": np.float64}


def random_feed(rng, dtype, shape):
    """A masked array (sometimes a plain ndarray or a nomask masked array),
    with NaNs among the valid values of float dtypes."""
    if dtype.kind == "f":
        values = (rng.normal(0, 1, shape) * 10.0 ** rng.integers(0, 4)).astype(
            dtype)
        values[rng.random(shape) < 0.1] = np.nan
    else:
        info = np.iinfo(dtype)
        # A small pool of values, so that ties happen.
        pool = rng.integers(info.min, info.max, 12, dtype=dtype, endpoint=True)
        values = rng.choice(pool, size=shape)
    kind = rng.integers(0, 6)
    if kind == 0:
        return values
    if kind == 1:
        return np.ma.masked_array(values)
    if kind == 2:
        return np.ma.masked_array(values, mask=np.ones(shape, bool))
    return np.ma.masked_array(values, mask=rng.random(shape) < 0.4)


def oracle(method, feeds, dtype):
    """numpy.ma's answer for the stack of feeds (NaN counted as nodata)."""
    stack = np.ma.stack([np.ma.masked_invalid(np.ma.masked_array(f))
                         if dtype.kind == "f" else np.ma.masked_array(f)
                         for f in feeds])
    valid = ~np.ma.getmaskarray(stack)
    data = np.ma.getdata(stack)
    if method is FirstMethod:
        idx = np.argmax(valid, axis=0)
        first = np.take_along_axis(data, idx[np.newaxis], axis=0)[0]
        return np.where(valid.any(axis=0), first, FILL).astype(dtype)
    if method is HighestMethod:
        return np.ma.max(stack, axis=0).filled(FILL).astype(dtype)
    if method is LowestMethod:
        return np.ma.min(stack, axis=0).filled(FILL).astype(dtype)
    if method is CountMethod:
        return valid.sum(axis=0).astype(np.uint16)
    s64 = stack.astype(np.float64)
    out = FLOAT_OUT[dtype.name]
    if method is MeanMethod:
        r = np.ma.mean(s64, axis=0)
    elif method is MedianMethod:
        r = np.ma.median(s64, axis=0)
    else:
        r = np.ma.std(s64, axis=0, ddof=0)
    return np.ma.masked_array(r, mask=~valid.any(axis=0)).filled(FILL).astype(
        out)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "float32",
                                   "float64"])
@pytest.mark.parametrize("cls", ALL)
def test_random_stacks_match_numpy_ma(cls, dtype):
    dtype = np.dtype(dtype)
    rng = np.random.default_rng([cls.method_id, dtype.num])
    for case in range(12):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 9)),
                 int(rng.integers(1, 70)))
        nfeeds = int(rng.integers(1, 7))
        m = cls(fill_value=FILL)
        feeds = []
        for _ in range(nfeeds):
            f = random_feed(rng, dtype, shape)
            m.feed(f)
            feeds.append(f)
            # First is done once every value has been valid; others never.
            stack_valid = [~np.ma.getmaskarray(np.ma.masked_invalid(g))
                           if dtype.kind == "f" else ~np.ma.getmaskarray(g)
                           for g in feeds]
            covered = np.logical_or.reduce(stack_valid).all()
            assert m.is_done == (cls is FirstMethod and covered)
        expected = oracle(cls, feeds, dtype)
        got = m.data
        assert got.dtype == expected.dtype, (case, got.dtype)
        assert got.shape == shape
        if cls in (MeanMethod, MedianMethod, StdevMethod):
            # Float reductions: our mean sums sequentially and stdev uses
            # Welford's update, numpy sums pairwise in two passes; both are
            # in float64, so they differ in the last bits, which rounding
            # to float32 may turn into one float32 ulp.
            rtol = 1e-6 if got.dtype == np.float32 else 1e-12
            atol = 1e-12 * float(np.nanmax(np.abs(
                np.ma.getdata(np.ma.stack(feeds)).astype(np.float64)),
                initial=0))
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol,
                                       err_msg=f"case {case}")
        else:
            np.testing.assert_array_equal(got, expected,
                                          err_msg=f"case {case}")


def test_nan_is_never_valid():
    """The reference keeps unmasked NaN as data (it then poisons highest
    and mean); ours treats NaN as nodata, as the engine does."""
    a = np.array([[[np.nan, 1.0, np.nan]]], dtype=np.float32)
    b = np.array([[[2.0, np.nan, np.nan]]], dtype=np.float32)
    for cls, expected in [(FirstMethod, [2, 1, -1]),
                          (HighestMethod, [2, 1, -1]),
                          (MeanMethod, [2, 1, -1]),
                          (CountMethod, [1, 1, 0])]:
        m = cls(fill_value=-1)
        m.feed(a)
        m.feed(b)
        np.testing.assert_array_equal(m.data[0, 0], expected)
    first = FirstMethod()
    first.feed(a)
    assert not first.is_done  # NaN pixels still wait for data


# ---- shapes, dtypes, bands --------------------------------------------------

def test_multiband_masks_per_band():
    """Each band keeps its own mask (the C mosaic is fed band by band)."""
    rng = np.random.default_rng(3)
    feeds = [np.ma.masked_array(
        rng.integers(0, 1000, (3, 5, 6), dtype=np.int16),
        mask=rng.random((3, 5, 6)) < 0.5) for _ in range(4)]
    for cls in ALL:
        m = cls(fill_value=FILL)
        for f in feeds:
            m.feed(f)
        expected = oracle(cls, feeds, np.dtype(np.int16))
        np.testing.assert_allclose(m.data, expected, rtol=1e-6)
    # Done per value: band 1 still empty at one pixel keeps first going.
    mask = np.zeros((3, 2, 2), bool)
    mask[1, 0, 1] = True
    m = FirstMethod()
    m.feed(np.ma.masked_array(np.ones((3, 2, 2), np.int16), mask=mask))
    assert not m.is_done
    m.feed(np.ma.masked_array(np.full((3, 2, 2), 5, np.int16),
                              mask=~mask))
    assert m.is_done
    np.testing.assert_array_equal(m.data[1], [[1, 5], [1, 1]])


def test_two_dimensional_input_is_one_band():
    m = HighestMethod()
    m.feed(np.ma.masked_array(np.array([[1, 5]], np.uint16),
                              mask=[[False, True]]))
    m.feed(np.array([[[3, 2]]], dtype=np.uint16))  # the same shape in 3-D
    assert m.data.shape == (1, 1, 2)
    np.testing.assert_array_equal(m.data, [[[3, 2]]])


def test_non_native_byte_order_and_non_contiguous_input():
    values = np.arange(24, dtype=">i2").reshape(2, 3, 4)
    m = LowestMethod()
    m.feed(values[:, :, ::2])  # big-endian, strided
    np.testing.assert_array_equal(m.data, values[:, :, ::2].astype(np.int16))
    assert m.data.dtype == np.int16


def test_later_feed_of_another_shape_or_dtype_raises():
    m = MeanMethod()
    m.feed(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 5\).*first feed"):
        m.feed(np.zeros((2, 3, 5), np.uint8))
    with pytest.raises(ValueError, match="dtype uint16.*dtype uint8"):
        m.feed(np.zeros((2, 3, 4), np.uint16))
    m.feed(np.ones((2, 3, 4), np.uint8))  # still usable
    np.testing.assert_array_equal(m.data, np.full((2, 3, 4), 0.5))


@pytest.mark.parametrize("bad", [np.zeros((2, 2), bool),
                                 np.zeros((2, 2), np.float16),
                                 np.zeros((2, 2), np.complex64)])
def test_unsupported_dtypes_raise_type_error(bad):
    m = FirstMethod()
    with pytest.raises(TypeError, match="mosaic method takes arrays of"):
        m.feed(bad)
    assert not m.is_done
    with pytest.raises(ValueError, match=NO_DATA):
        m.data


@pytest.mark.parametrize("shape", [(4,), (1, 2, 3, 4), (0, 3, 3), (1, 0, 2)])
def test_bad_shapes_raise_value_error(shape):
    with pytest.raises(ValueError, match="height, width"):
        CountMethod().feed(np.zeros(shape, np.uint8))


def test_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        MosaicMethodBase().feed(np.zeros((1, 1), np.uint8))


def test_method_id_accepts_classes_and_instances():
    for cls in ALL:
        assert method_id(cls) == method_id(cls(fill_value=3)) == cls.method_id
    assert method_id(None) == FirstMethod.method_id
    with pytest.raises(TypeError, match="mosaic_method"):
        method_id(MosaicMethodBase)
    assert repr(MeanMethod(fill_value=2)) == "MeanMethod(fill_value=2)"


def test_ext_mosaic_checks_its_arguments():
    """The C type behind the classes refuses bad buffers with clear errors."""
    m = lazycogs._ext.Mosaic(0, "uint8", 1, 2, 2)
    with pytest.raises(ValueError, match=NO_DATA):
        m.get(np.empty((1, 2, 2), np.uint8), 0.0)
    with pytest.raises(TypeError, match="format 'H'.*holds uint8"):
        m.feed(np.zeros((1, 2, 2), np.uint16))
    with pytest.raises(ValueError, match="hold 3 bytes, not the 4"):
        m.feed(np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="validity must be 1-byte"):
        m.feed(np.zeros((1, 2, 2), np.uint8), np.ones(3, bool))
    m.feed(np.ones((1, 2, 2), np.uint8), np.array([[1, 0], [0, 1]], np.uint8))
    assert m.nfed == 1 and not m.is_done
    with pytest.raises(ValueError, match="holds 6 bytes"):
        m.get(np.empty((1, 2, 3), np.uint8), 0.0)
    with pytest.raises(ValueError, match="contiguous"):
        m.get(np.empty((1, 2, 4), np.uint8)[:, :, ::2], 0.0)
    out = np.empty((1, 2, 2), np.int64)
    m.get(out, -5.0)  # any numeric output dtype
    np.testing.assert_array_equal(out, [[[1, -5], [-5, 1]]])
    with pytest.raises(ValueError, match="method 9"):
        lazycogs._ext.Mosaic(9, "uint8", 1, 1, 1)
    with pytest.raises(TypeError, match="'bool' is not one of"):
        lazycogs._ext.Mosaic(0, "bool", 1, 1, 1)
    with pytest.raises(ValueError, match="must be positive"):
        lazycogs._ext.Mosaic(0, "uint8", 1, 0, 1)


def test_feeds_from_threads_release_the_gil():
    """Separate instances fed from several threads at once give the same
    result as one thread (the C calls run without the GIL)."""
    rng = np.random.default_rng(11)
    feeds = [np.ma.masked_array(rng.normal(size=(2, 64, 64)),
                                mask=rng.random((2, 64, 64)) < 0.3)
             for _ in range(5)]
    expected = oracle(MedianMethod, feeds, np.dtype(np.float64))
    results = [None] * 4

    def run(i):
        m = MedianMethod(fill_value=FILL)
        for f in feeds:
            m.feed(f)
        results[i] = m.data

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_allclose(r, expected, rtol=1e-12)
