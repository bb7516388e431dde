"""Mosaic methods: how the items of one time step combine into a pixel.

``lazycogs.open(..., mosaic_method=MeanMethod)`` takes the class (or an
instance); the engine then combines the items in C while a chunk is read.
An instance can also be used on its own, as in the reference: ``feed`` it
masked arrays in order and read ``data``. Its arithmetic is the same C
mosaic the engine runs (src/mosaic/mosaic.h, through ``_ext.Mosaic``), so
these classes hold no per-pixel logic.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import numpy as np

from . import _ext, _output

#: The dtypes the C mosaic takes (enum lc_dtype).
_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64",
           "int64", "float32", "float64")


class MosaicMethodBase:
    """Base of the mosaic method classes.

    ``requires_float`` is true for methods whose output is fractional
    (mean, median, standard deviation): an explicit integer ``dtype`` is
    refused with them by ``lazycogs.open``, an inferred integer dtype
    becomes float32.

    Used directly, an instance combines arrays fed one after another (in
    the engine's sort order: the first fed is the first item):

    - ``feed(arr)`` takes a numpy masked array of shape (bands, height,
      width), mask True meaning nodata (``np.ma.nomask``: every value
      valid), or a plain ndarray (every value valid); a 2-D array is one
      band. The first feed fixes the shape and dtype (uint8, int8, uint16,
      int16, uint32, int32, uint64, int64, float32 or float64); a later
      feed of another shape or dtype raises ValueError.
    - ``data`` is a new plain ndarray of shape (bands, height, width):
      the fed dtype for first/highest/lowest, uint16 for count, float32
      for mean/median/stdev of 8- and 16-bit values and float32, float64
      for wider ones. Values never valid are ``fill_value`` (count: 0).
      Before any feed it raises ValueError("No data has been fed to the
      mosaic method.").
    - ``is_done`` is False before any feed; then it says whether the
      engine would stop reading items: for FirstMethod once every value of
      every band is valid, for every other method never.

    Differences from the reference's classes (behaviour reference §1.7),
    all because these are the engine's semantics:

    - the reference's ``is_done`` is True for every method once each
      pixel has a valid value, and CountMethod's after any feed; here
      only FirstMethod is ever done, since one more item still changes a
      max, a mean or a count;
    - NaN in float input is never valid data (the reference keeps
      unmasked NaNs, which then poison highest/lowest/mean);
    - mean accumulates in float64 and mean/median/stdev return float32 or
      float64 as above (the reference keeps mean in the fed dtype,
      truncating integer means, and returns float64 for median/stdev);
    - count saturates at 65535 instead of wrapping;
    - ``data`` is a plain ndarray with ``fill_value`` where no value was
      valid (the reference's is the filled masked accumulator, the same
      values).
    """

    #: The C engine's method number (enum lc_mosaic_method).
    method_id: int = -1
    requires_float: bool = False

    def __init__(self, *, fill_value: float = 0):
        self.fill_value = fill_value
        self._mosaic = None  # _ext.Mosaic, built by the first feed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fill_value={self.fill_value!r})"

    @property
    def is_done(self) -> bool:
        """True when no further feed can change ``data`` (see the class
        docstring); False before any feed."""
        return self._mosaic is not None and self._mosaic.is_done

    @property
    def data(self) -> np.ndarray:
        """The mosaic so far, as a new (bands, height, width) ndarray."""
        if self._mosaic is None:
            raise ValueError("No data has been fed to the mosaic method.")
        out = _output.empty(self._mosaic.shape, self._mosaic.output_dtype)
        self._mosaic.get(out, float(self.fill_value))
        return out

    def feed(self, arr) -> None:
        """Adds one array (masked: mask True = nodata) to the mosaic."""
        if self.method_id < 0:
            raise NotImplementedError(
                "MosaicMethodBase is abstract: use one of its subclasses")
        values = np.ma.getdata(arr)
        mask = np.ma.getmask(arr)
        if values.ndim == 2:
            values = values[np.newaxis]
            if mask is not np.ma.nomask:
                mask = mask[np.newaxis]
        if values.ndim != 3 or 0 in values.shape:
            raise ValueError(
                "a mosaic method takes a non-empty (bands, height, width) or "
                f"(height, width) array, got shape {np.shape(arr)}")
        dtype = values.dtype
        if dtype.kind not in "iuf" or dtype.name not in _DTYPES:
            raise TypeError(
                f"a mosaic method takes arrays of {', '.join(_DTYPES)}, "
                f"got {dtype}")
        if self._mosaic is not None and (
                values.shape != self._mosaic.shape
                or dtype.name != self._mosaic.dtype):
            raise ValueError(
                f"array of shape {values.shape} and dtype {dtype.name} fed "
                f"to a mosaic of shape {self._mosaic.shape} and dtype "
                f"{self._mosaic.dtype} (fixed by its first feed)")
        # The C mosaic reads native-order C-contiguous values, and takes
        # validity (non-zero = valid) rather than numpy's nodata mask.
        values = np.ascontiguousarray(values, dtype=dtype.newbyteorder("="))
        valid = None
        if mask is not np.ma.nomask:
            valid = np.ascontiguousarray(
                ~np.broadcast_to(mask, values.shape), dtype=np.bool_)
        mosaic = self._mosaic
        if mosaic is None:
            mosaic = _ext.Mosaic(self.method_id, dtype.name, *values.shape)
        mosaic.feed(values, valid)
        self._mosaic = mosaic  # only once a feed went in


class FirstMethod(MosaicMethodBase):
    """The first valid value in sort order; later items only fill pixels
    still empty, and are not read once the chunk is covered."""

    method_id = 0


class HighestMethod(MosaicMethodBase):
    """The largest valid value."""

    method_id = 1


class LowestMethod(MosaicMethodBase):
    """The smallest valid value."""

    method_id = 2


class MeanMethod(MosaicMethodBase):
    """The mean of the valid values (computed in float64)."""

    method_id = 3
    requires_float = True


class MedianMethod(MosaicMethodBase):
    """The median of the valid values."""

    method_id = 4
    requires_float = True


class StdevMethod(MosaicMethodBase):
    """The population standard deviation (ddof 0) of the valid values."""

    method_id = 5
    requires_float = True


class CountMethod(MosaicMethodBase):
    """How many valid values each pixel has (uint16)."""

    method_id = 6


METHODS = (FirstMethod, HighestMethod, LowestMethod, MeanMethod,
           MedianMethod, StdevMethod, CountMethod)


def method_id(method) -> int:
    """The method number of a mosaic method class (or instance, or None
    for the default, FirstMethod)."""
    if method is None:
        return FirstMethod.method_id
    cls = method if isinstance(method, type) else type(method)
    if not (issubclass(cls, MosaicMethodBase) and cls.method_id >= 0):
        raise TypeError(
            "mosaic_method must be one of lazycogs' mosaic method classes "
            f"({', '.join(m.__name__ for m in METHODS)}), got {method!r}")
    return cls.method_id
