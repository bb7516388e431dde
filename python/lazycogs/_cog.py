"""read_cog: one GeoTIFF window as a numpy array, through the C reader."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import numpy as np

from . import _ext, _output
from .store import as_store


def read_cog(
    href: str,
    *,
    overview: int | None = None,
    window: tuple[int, int, int, int] | None = None,
    bands: list[int] | None = None,
    store: object | None = None,
) -> np.ndarray:
    """Read a GeoTIFF (or a window of one of its overviews) into memory.

    Args:
        href: local path or file:// URL (http(s):// and s3:// arrive with
            the object-store reader).
        overview: None for full resolution, else the overview index as
            rasterio counts them (0 is the finest overview).
        window: (col_off, row_off, width, height) in pixels of that level;
            None reads the whole level.
        bands: 1-based band numbers, as rasterio's ``indexes``; None reads
            all bands.
        store: where href is read from (a ``lazycogs.store`` store or an
            obstore store); None picks one for href's root.

    Returns:
        A ``(bands, rows, cols)`` array of the file's data type (float16
        files read as float32).
    """
    cog = _ext.Cog(href, store=as_store(store))
    info = cog.info()
    level = 0 if overview is None else overview + 1
    if overview is not None and not 0 <= overview < info["nlevels"] - 1:
        raise ValueError(
            f"{href}: overview {overview} does not exist "
            f"({info['nlevels'] - 1} overviews)"
        )
    lv = cog.level(level)
    if window is None:
        window = (0, 0, lv["width"], lv["height"])
    window = tuple(int(v) for v in window)
    samples = None
    nbands = info["samples"]
    if bands is not None:
        samples = [int(b) - 1 for b in bands]
        if any(s < 0 or s >= info["samples"] for s in samples):
            raise ValueError(f"{href}: bands must be in 1..{info['samples']}")
        nbands = len(samples)
    out = _output.empty((nbands, window[3], window[2]), info["dtype"])
    cog.read_window(level, window, samples, out)
    return out
