"""Giving memory back between the steps of a run (issue 14: a county run within 1.5 GB).

The analyses and output writers make millions of small objects (shapely geometries, strings) and
free them when a step ends. CPython and the C allocator keep much of that freed memory mapped: the
next step reuses some of it, the rest stays resident. :func:`release_memory` collects cycles and,
with glibc, asks ``malloc_trim`` to hand free pages back to the system, so one step's leftovers do
not add to the next step's peak. Nothing an analysis computes depends on it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys

log = logging.getLogger(__name__)

_TRIM = None  # libc's malloc_trim, False where there is none (not glibc)


def _malloc_trim():
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                trim = libc.malloc_trim
                trim.argtypes = [ctypes.c_size_t]
                trim.restype = ctypes.c_int
                _TRIM = trim
            except (OSError, AttributeError):  # musl and others: no malloc_trim
                _TRIM = False
    return _TRIM


def release_memory() -> None:
    """Collect garbage cycles and return the allocator's free pages to the system (glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim:
        trim(0)
