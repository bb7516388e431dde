"""Exception classes of lazycogs: one per C status category."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

from . import _ext


class LazycogsError(Exception):
    """Base class of every error raised by the lazycogs C engine.

    ``status`` is the C status code (negative int) and ``code`` its name,
    e.g. ``"LC_ECORRUPT"``.
    """

    status: int = 0
    code: str = ""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status
            self.code = _ext.status_table().get(status, ("LC_EUNKNOWN", ""))[0]


class InvalidArgumentError(LazycogsError, ValueError):
    """A call received an argument it cannot use (LC_EINVAL)."""


class OutOfMemoryError(LazycogsError, MemoryError):
    """An allocation failed (LC_ENOMEM)."""


class ReadError(LazycogsError, OSError):
    """An I/O or network failure that may be worth retrying (LC_EIO)."""


class HTTPStatusError(ReadError):
    """A server answered with an HTTP error status (LC_EHTTP)."""


class CorruptDataError(LazycogsError, ValueError):
    """A file is corrupt or malformed (LC_ECORRUPT)."""


class UnsupportedError(LazycogsError, NotImplementedError):
    """A valid file uses a feature lazycogs does not implement (LC_EUNSUPPORTED)."""


class BufferTooSmallError(LazycogsError, ValueError):
    """An output buffer is smaller than the result (LC_ENOSPACE)."""


class LimitExceededError(LazycogsError):
    """A configured resource limit was exceeded (LC_ELIMIT)."""


class CancelledError(LazycogsError):
    """The operation was cancelled (LC_ECANCELLED)."""


class NotFoundError(LazycogsError, FileNotFoundError):
    """A file, object, band or item does not exist (LC_ENOTFOUND)."""


_CLASS_BY_NAME: dict[str, type[LazycogsError]] = {
    "LC_EINVAL": InvalidArgumentError,
    "LC_ENOMEM": OutOfMemoryError,
    "LC_EIO": ReadError,
    "LC_EHTTP": HTTPStatusError,
    "LC_ECORRUPT": CorruptDataError,
    "LC_EUNSUPPORTED": UnsupportedError,
    "LC_ENOSPACE": BufferTooSmallError,
    "LC_ELIMIT": LimitExceededError,
    "LC_ECANCELLED": CancelledError,
    "LC_ENOTFOUND": NotFoundError,
}


def error_for_status(status: int, message: str) -> LazycogsError:
    """The exception to raise for a negative C status and its message."""
    name = _ext.status_table().get(status, ("LC_EUNKNOWN", ""))[0]
    cls = _CLASS_BY_NAME.get(name, LazycogsError)
    return cls(message, status)


class ChunkReadError(RuntimeError):
    """Reading one item of a chunk failed (with ``errors="raise"``).

    ``item_id`` names the STAC item, ``bands`` the asset keys being read,
    ``original`` the error underneath (also ``__cause__``).
    """

    def __init__(self, item_id: str, bands: list[str], original: BaseException):
        prefix = f"Failed to read bands {bands!r} from item {item_id!r}: "
        text = str(original)
        # The engine's message already starts with this prefix: say it once.
        super().__init__(text if text.startswith(prefix) else prefix + text)
        self.item_id = item_id
        self.bands = bands
        self.original = original
