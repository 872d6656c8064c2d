"""Giving memory back between the steps of a run (issue 14: a county run within 1.5 GB).

The analyses and output writers make millions of small objects (shapely geometries, strings) and
free them when a step ends. CPython and the C allocator keep much of that freed memory mapped: the
next step reuses some of it, the rest stays resident. :func:`release_memory` collects cycles and,
with glibc, asks ``malloc_trim`` to hand free pages back to the system, so one step's leftovers do
not add to the next step's peak; :class:`Trimmer` does the same in the background while the steps
run (when the resident size has grown). :func:`limit_arenas` (the command line calls it) keeps
glibc from giving each worker thread of the shapely helpers a heap of its own, whose freed memory
the main thread cannot reuse. Nothing an analysis computes depends on any of them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import threading

_TRIM = None  # libc's malloc_trim, False where there is none (not glibc)
_M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


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


def can_trim() -> bool:
    """True where the allocator can hand free pages back (glibc's ``malloc_trim``)."""
    return bool(_malloc_trim())


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
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None or not hasattr(libc, "malloc_trim"):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, max(1, int(n))))


class Trimmer:
    """While in use, a background thread hands the allocator's free pages back to the system.

    Freed memory that the allocator keeps resident makes most of a county run's peak (at 100k road
    edges ~100-250 MB above what is alive in the barriers and maps steps). Every ``period_s`` the
    thread reads the process's resident size and, when it has grown by ``grow_mb`` since the last
    trim, calls ``malloc_trim`` (a few milliseconds; what jemalloc's background purging does). A
    no-op where there is no ``malloc_trim`` (not glibc). Nested and concurrent uses (several runs
    in one process) share one thread.

    >>> with Trimmer():  # doctest: +SKIP
    ...     run_the_steps()
    """

    _lock = threading.Lock()
    _users = 0
    _stop: threading.Event | None = None

    def __init__(self, period_s: float = 0.5, grow_mb: float = 32.0):
        self.period_s = period_s
        self.grow_mb = grow_mb

    def __enter__(self):
        trim = _malloc_trim()
        cls = type(self)
        with cls._lock:
            cls._users += 1
            if trim and cls._users == 1:
                cls._stop = threading.Event()
                threading.Thread(target=_trim_loop, args=(trim, cls._stop, self.period_s, self.grow_mb),
                                 name="kzgis-trimmer", daemon=True).start()
        return self

    def __exit__(self, *exc):
        cls = type(self)
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._stop is not None:
                cls._stop.set()
                cls._stop = None
        return False


def _resident_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _trim_loop(trim, stop: threading.Event, period_s: float, grow_mb: float) -> None:
    last = _resident_mb()
    while not stop.wait(period_s):
        now = _resident_mb()
        if now >= last + grow_mb:
            trim(0)
            last = _resident_mb()
        elif now < last:
            last = now
