"""Keep freed window-batch memory in the process during prediction (glibc only).

A CPU forward pass allocates and frees its activations on every window batch. glibc serves
blocks above its mmap threshold (at most 32 MiB, e.g. one 16 x 32 x 224 x 224 float32 feature
map is 98 MiB) with a fresh ``mmap`` and gives them back with ``munmap`` when freed, so every batch
page-faults (and zero-fills) its whole working set again. A profile of the streaming loop
(3-layer CNN, batch 16, NCHW, one thread) spent over half its CPU time there: 6.7 s with
glibc's defaults, 2.9 s with the heap kept. :func:`retained_heap` raises the mmap and trim
thresholds for the duration of a scene, so the same blocks are reused batch after batch, and
gives the free memory back (``malloc_trim``) at the end (the mmap threshold then stays at
32 MiB, the ceiling glibc's own dynamic threshold reaches). Peak memory is unchanged: it is the
same batch's working set, now kept instead of returned and faulted in again.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["retained_heap"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: blocks up to this size come from the heap while a scene is predicted (one window batch is far smaller)
_MMAP_THRESHOLD = 1 << 30
_TRIM_THRESHOLD = (1 << 31) - 1
#: after the scene: glibc's default trim threshold, and the ceiling of its dynamic mmap threshold
_DEFAULT_TRIM = 128 * 1024
_AFTER_MMAP = 32 * 1024 * 1024

_libc: Any = None
_depth = 0


def _glibc() -> Any:
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux") and os.environ.get("GEO_RETAIN_HEAP", "1") != "0":
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL(None)
                if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
                    _libc = libc
    return _libc


@contextlib.contextmanager
def retained_heap() -> Iterator[None]:
    """Serve large blocks from the heap and keep them there until the block exits (nested: the outermost).

    A no-op where the C library is not glibc, or with ``GEO_RETAIN_HEAP=0`` in the environment.
    """
    global _depth
    libc = _glibc()
    if not libc:
        yield
        return
    _depth += 1
    if _depth == 1:
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, _AFTER_MMAP)
            libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM)
            libc.malloc_trim(0)
