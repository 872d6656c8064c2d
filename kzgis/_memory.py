"""Giving memory back between the steps of a run (issue 14: a county run within 1.5 GB).

The analyses and output writers make millions of small objects (shapely geometries, strings) and
free them when a step ends. CPython and the C allocator keep much of that freed memory mapped: the
next step reuses some of it, the rest stays resident. :func:`release_memory` collects cycles and,
with glibc, asks ``malloc_trim`` to hand free pages back to the system, so one step's leftovers do
not add to the next step's peak. :func:`limit_arenas` (the command line calls it) keeps glibc from
giving each worker thread of the shapely helpers its own heap, whose freed memory the main thread
could not reuse (the barriers step at county scale: ~90 MB less at its peak, same time). Nothing
an analysis computes depends on either.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

_TRIM = None  # libc's malloc_trim, False where there is none (not glibc)
_M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _malloc_trim():
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        libc = _libc()
        trim = getattr(libc, "malloc_trim", None) if libc is not None else None  # musl: none
        if trim is not None:
            trim.argtypes = [ctypes.c_size_t]
            trim.restype = ctypes.c_int
            _TRIM = trim
    return _TRIM


def release_memory() -> None:
    """Collect garbage cycles and return the allocator's free pages to the system (glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim:
        trim(0)


def limit_arenas(n: int = 2) -> bool:
    """Let glibc's allocator use at most ``n`` heaps (arenas) for all threads of this process.

    For a process that runs kzgis and little else (the command line): the environment variable
    ``MALLOC_ARENA_MAX`` wins when it is set. Returns True when the limit was set.
    """
    import os

    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None or not hasattr(libc, "malloc_trim"):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, max(1, int(n))))
