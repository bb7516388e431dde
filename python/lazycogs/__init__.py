"""lazycogs: lazy (band, time, y, x) xarray arrays over Cloud-Optimized GeoTIFFs.

The data path (parquet/STAC index, CQL2, HTTP/S3 range reads, TIFF decoding,
reprojection, mosaicking) is the C library liblazycogs; this package turns it
into xarray objects.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import os as _os
import threading as _threading

from . import _ext

# A process's first PROJ context reads proj.db's schema, 7-10 ms that the
# first open() would otherwise wait for: read it while the rest of the
# package (and xarray) imports. A fork waits for the thread, so that no child
# starts with PROJ's locks held by a thread it does not have.
_prepare_geo = _threading.Thread(target=_ext.prepare_geo, name="lazycogs-proj")
_prepare_geo.start()
_os.register_at_fork(before=_prepare_geo.join)

from . import store  # noqa: E402
from ._cog import read_cog
from ._mosaic import (
    CountMethod,
    FirstMethod,
    HighestMethod,
    LowestMethod,
    MeanMethod,
    MedianMethod,
    MosaicMethodBase,
    StdevMethod,
)
from ._open import align_bbox, open, open_async
from ._explain import (  # importing registers the da.lazycogs accessor
    ChunkRead,
    CogRead,
    ExplainPlan,
    StacCogAccessor,
)
from .store import store_for
from ._errors import (
    BufferTooSmallError,
    CancelledError,
    ChunkReadError,
    CorruptDataError,
    HTTPStatusError,
    InvalidArgumentError,
    LazycogsError,
    LimitExceededError,
    NotFoundError,
    OutOfMemoryError,
    ReadError,
    UnsupportedError,

)

if _ext.version() != _ext.COMPILED_VERSION_NUMBER:
    raise ImportError(
        f"lazycogs C library version {_ext.version()} does not match the "
        f"version {_ext.COMPILED_VERSION_NUMBER} the extension was built for"
    )

from ._errors import error_for_status as _error_for_status  # noqa: E402

_ext.set_error_factory(_error_for_status)

__version__: str = _ext.version_string()

__all__ = [
    "BufferTooSmallError",
    "CancelledError",
    "ChunkRead",
    "ChunkReadError",
    "CogRead",
    "CountMethod",
    "ExplainPlan",
    "FirstMethod",
    "HighestMethod",
    "LowestMethod",
    "MeanMethod",
    "MedianMethod",
    "MosaicMethodBase",
    "StdevMethod",
    "CorruptDataError",
    "HTTPStatusError",
    "InvalidArgumentError",
    "LazycogsError",
    "LimitExceededError",
    "NotFoundError",
    "OutOfMemoryError",
    "ReadError",
    "UnsupportedError",
    "__version__",
    "align_bbox",
    "open",
    "open_async",
    "read_cog",
    "store",
    "store_for",
]
