"""Mosaic methods: how the items of one time step combine into a pixel.

``lazycogs.open(..., mosaic_method=MeanMethod)`` takes the class; the
combining itself runs in the C engine while a chunk is read, so these
classes carry the method's identity and contract, not its arithmetic.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations


class MosaicMethodBase:
    """Base of the mosaic method classes.

    ``requires_float`` is true for methods whose output is fractional
    (mean, median, standard deviation): an explicit integer ``dtype`` is
    refused with them, an inferred integer dtype becomes float32.
    """

    #: The C engine's method number (enum lc_mosaic_method).
    method_id: int = -1
    requires_float: bool = False

    def __init__(self, *, fill_value: float = 0):
        self.fill_value = fill_value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fill_value={self.fill_value!r})"


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
