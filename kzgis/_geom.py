"""Small geometry helpers shared by the analyses."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely


def as_points(geoms) -> np.ndarray:
    """Point geometries for any geometries: points stay, others become a point on their surface.

    Settlements, stations and pools may be given as polygons; the analyses place them on the
    network by this point (always inside the polygon, unlike the centroid).
    """
    arr = np.asarray(geoms, dtype=object).copy()
    if len(arr):
        notpt = shapely.get_type_id(arr) != 0
        if notpt.any():
            arr[notpt] = shapely.point_on_surface(arr[notpt])
    return arr


#: arrays shorter than this per thread are not split (thread start-up would cost more than it saves)
_THREAD_MIN = 2000


def cores() -> int:
    """CPU cores this process may use (at most 4 threads are started)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def threaded(func, *arrays, **kwargs) -> np.ndarray:
    """``func(*arrays, **kwargs)`` for an element-wise shapely function, the arrays cut into one slice
    per core and run in threads (shapely releases the GIL inside GEOS).

    Each element is computed by the same GEOS call on the same geometries as in one call, so the
    result is the same, element for element; only the wall time changes. Arguments that are not
    arrays of the first one's length (a buffer distance, a scalar) go to every slice whole. Not for
    prepared geometries (their lazily built index is not safe to share between threads).
    """
    n = len(arrays[0])
    k = min(cores(), n // _THREAD_MIN)
    if k <= 1:
        return func(*arrays, **kwargs)
    cuts = np.linspace(0, n, k + 1).astype(int)

    def part(a: int, b: int):
        return func(*(x[a:b] if isinstance(x, np.ndarray) and x.ndim and len(x) == n else x for x in arrays), **kwargs)

    with ThreadPoolExecutor(max_workers=k) as pool:
        parts = list(pool.map(part, cuts[:-1], cuts[1:]))
    return np.concatenate(parts)


def threaded_contains_xy(geom, x, y) -> np.ndarray:
    """``shapely.contains_xy(geom, x, y)`` for many points, on all cores.

    Each thread tests its slice of the points against its own prepared copy of ``geom`` (same
    coordinates: a WKB copy), since a prepared geometry's lazily built index is not safe to share
    between threads. The answer is the same as one call's, point for point.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = len(x)
    k = min(cores(), n // (4 * _THREAD_MIN))
    if k <= 1:
        return shapely.contains_xy(geom, x, y)
    copies = [geom] + [shapely.from_wkb(shapely.to_wkb(geom)) for _ in range(k - 1)]
    for g in copies:
        shapely.prepare(g)
    cuts = np.linspace(0, n, k + 1).astype(int)

    def part(i: int):
        return shapely.contains_xy(copies[i], x[cuts[i]:cuts[i + 1]], y[cuts[i]:cuts[i + 1]])

    with ThreadPoolExecutor(max_workers=k) as pool:
        parts = list(pool.map(part, range(k)))
    return np.concatenate(parts)
