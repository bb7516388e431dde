"""Output arrays that the C engine fills."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import math
import mmap

import numpy as np

# From this size on, an output is an anonymous mapping of 4 KiB pages, not
# np.empty. numpy asks the kernel for transparent huge pages for arrays of
# 4 MiB and more; on a VM whose memory the host backs only when first
# touched (the bench machine), fresh 2 MiB pages made the first write into
# W4's 108 MB output cost 0.18-0.31 s in a new process, 4 KiB pages 0.05 s.
# Huge pages freed earlier in the process are cheap again (0.02 s), but six
# W4 reads in a row in one process took the same 0.50-0.55 s each either
# way. The engine writes an output once, front to back, so huge pages buy
# it nothing later. The mapping is private: mmap's default, a shared
# anonymous mapping, lives in shmem, whose first touch cost 82 ms for
# 108 MB against 57 ms for private pages.
MAPPED_MIN_NBYTES = 4 << 20


def empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised, writable, C-contiguous array of shape and dtype."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MAPPED_MIN_NBYTES:
        return np.empty(shape, dtype=dtype)
    buffer = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)
