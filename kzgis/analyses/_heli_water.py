"""Dip-site geometry for the helicopter analysis: clear circle, water level, approach corridors.

Private helpers of :mod:`kzgis.analyses.helicopter`; inputs are trusted (validated there).
Everything is vectorised over all water bodies at once.
"""

from __future__ import annotations

import numpy as np
import shapely

#: compass labels for 16 directions, clockwise from north
COMPASS16 = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")


def direction_labels(n: int) -> list[str]:
    """Labels of ``n`` directions clockwise from north (compass names for 4, 8 and 16)."""
    if n in (4, 8, 16):
        return list(COMPASS16[:: 16 // n])
    return [f"{360.0 * j / n:g}°" for j in range(n)]


def inscribed_circles(geoms, tolerance_m: float = 0.1):
    """Centre (x, y) and diameter (m) of each polygon's largest inscribed circle.

    Uses GEOS's ``MaximumInscribedCircle`` (shapely 2); ``tolerance_m`` bounds the error of the
    radius. Empty or missing geometries give NaN.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    cx = np.full(n, np.nan)
    cy = np.full(n, np.nan)
    diam = np.full(n, np.nan)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if ok.any():
        lines = shapely.maximum_inscribed_circle(geoms[ok], tolerance_m)
        centre = shapely.get_coordinates(shapely.get_point(lines, 0))
        cx[ok] = centre[:, 0]
        cy[ok] = centre[:, 1]
        diam[ok] = 2.0 * shapely.length(lines)
    return cx, cy, diam


def clear_diameter_m(geoms, tolerance_m: float = 0.1) -> np.ndarray:
    """Diameter (m) of the largest circle that fits inside each polygon."""
    return inscribed_circles(geoms, tolerance_m)[2]


def water_levels(dem, geoms, pct: float, cx, cy, near_m: float | None = None) -> np.ndarray:
    """Water-surface elevation at each dip point: the ``pct`` percentile of the DEM cells in the water.

    Cells count when their centre lies inside the polygon and, with ``near_m``, within that
    distance of the dip point ``(cx, cy)`` (a long river falls along its course; its surface at
    the dip point is what the approach is measured from). A polygon that holds no cell centre takes
    the DEM sampled (bilinear) at ``(cx, cy)``. ``pct=0`` is the minimum.
    """
    from rasterio.features import rasterize

    geoms = np.asarray(geoms, dtype=object)
    if near_m is not None and len(geoms):
        disks = shapely.buffer(shapely.points(np.asarray(cx, float), np.asarray(cy, float)), near_m, quad_segs=32)
        clipped = shapely.intersection(geoms, disks)
        geoms = np.where(shapely.is_empty(clipped) | shapely.is_missing(clipped), geoms, clipped)
    geoms = list(geoms)
    n = len(geoms)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    ids = rasterize(((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
                    out_shape=dem.z.shape, transform=dem.transform, fill=0, dtype="int32")
    sel = (ids > 0) & np.isfinite(dem.z)
    lab = ids[sel] - 1
    val = dem.z[sel].astype(float)
    if lab.size:
        order = np.lexsort((val, lab))
        lab, val = lab[order], val[order]
        cnt = np.bincount(lab, minlength=n)
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        has = cnt > 0
        # nearest-rank percentile inside each group (no interpolation: a real cell's elevation)
        k = np.floor(pct / 100.0 * (cnt[has] - 1) + 1e-9).astype(int)
        out[has] = val[start[has] + k]
    missing = ~np.isfinite(out)
    if missing.any():
        out[missing] = dem.sample(np.asarray(cx)[missing], np.asarray(cy)[missing])
    return out


def approach_angles(dem, geoms, cx, cy, levels, n_dirs: int, dist_m: float, step_m: float | None = None,
                    corridor_m: float = 0.0, chunk: int = 64):
    """Steepest terrain angle (deg) seen over each of ``n_dirs`` approach corridors of each water body.

    The corridor of a direction is a strip ``corridor_m`` wide centred on the ray from the dip point
    ``(cx, cy)``; the ray leaves the water at its first crossing of the polygon's boundary (the
    shore) and the corridor runs ``dist_m`` further. The terrain is sampled on lines parallel to the
    ray across the whole width (at most a sample step apart, both edges included); a sample at
    distance ``t`` past the shore (measured along the ray) gives the angle ``atan((z - level) / t)``
    and the direction's value is the largest angle over the corridor (samples outside the DEM are
    skipped; NaN when all are). ``corridor_m = 0`` is the single ray. Terrain beside the water
    before the shore line is the hover area (the clear-circle test), not the approach. Direction
    ``j`` points ``360 * j / n_dirs`` degrees clockwise from north.

    Returns (angles (n, n_dirs), shore distances (n, n_dirs)).
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n == 0:
        return np.zeros((0, n_dirs)), np.zeros((0, n_dirs))
    cx = np.asarray(cx, float)
    cy = np.asarray(cy, float)
    shore, good = shore_distances(geoms, cx, cy, n_dirs)
    theta = 2.0 * np.pi * np.arange(n_dirs) / n_dirs
    ux, uy = np.sin(theta), np.cos(theta)
    vx, vy = uy, -ux  # across the corridor

    step = step_m or max(min(dem.cell_m / 2.0, dist_m / 10.0), 1e-3)
    k = max(int(np.ceil(dist_m / step)), 1)
    t = np.minimum(step * np.arange(1, k + 1), dist_m)  # (k,)
    m = max(int(np.ceil(corridor_m / step)) + 1, 2) if corridor_m > 0 else 1
    off = np.linspace(-corridor_m / 2.0, corridor_m / 2.0, m) if m > 1 else np.zeros(1)  # (m,)
    levels = np.asarray(levels, float)
    best = np.full((n, n_dirs), np.nan)
    for c0 in range(0, n, chunk):
        sl = slice(c0, min(c0 + chunk, n))
        along = shore[sl, :, None, None] + t[None, None, None, :]  # (c, d, 1, k)
        xs = cx[sl, None, None, None] + along * ux[None, :, None, None] + off[None, None, :, None] * vx[None, :, None, None]
        ys = cy[sl, None, None, None] + along * uy[None, :, None, None] + off[None, None, :, None] * vy[None, :, None, None]
        z = dem.sample(xs.ravel(), ys.ravel()).reshape(xs.shape)
        h = z - levels[sl, None, None, None]
        ang = np.degrees(np.arctan2(h, t[None, None, None, :]))
        seen = np.isfinite(ang)
        b_ = np.where(seen, ang, -np.inf).max(axis=(2, 3))
        best[sl] = np.where(seen.any(axis=(2, 3)), b_, np.nan)
    best[~good] = np.nan
    return best, shore


def shore_distances(geoms, cx, cy, n_dirs: int):
    """Distance from the dip point to the first shore crossing per direction, and whether the ray
    could be built (finite coordinates). Returns ((n, n_dirs), (n, n_dirs) bool)."""
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    theta = 2.0 * np.pi * np.arange(n_dirs) / n_dirs
    ux, uy = np.sin(theta), np.cos(theta)
    b = shapely.bounds(geoms)
    reach = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) + 1.0  # a ray this long leaves the bbox
    reach = np.where(np.isfinite(reach), reach, 1.0)
    x1 = cx[:, None] + reach[:, None] * ux[None, :]
    y1 = cy[:, None] + reach[:, None] * uy[None, :]
    x0 = np.repeat(cx, n_dirs).reshape(n, n_dirs)
    y0 = np.repeat(cy, n_dirs).reshape(n, n_dirs)
    coords = np.stack([np.stack([x0, y0], -1), np.stack([x1, y1], -1)], axis=2).reshape(-1, 2, 2)
    good = np.isfinite(coords).all(axis=(1, 2))
    shore = np.full(n * n_dirs, np.nan)
    if good.any():
        rays = shapely.linestrings(coords[good])
        bnd = np.repeat(shapely.boundary(geoms), n_dirs)[good]
        hits = shapely.intersection(rays, bnd)
        start = shapely.points(coords[good, 0, :])
        shore[good] = shapely.distance(start, hits)  # nearest crossing = where the ray first leaves
    shore = np.where(np.isfinite(shore), shore, 0.0).reshape(n, n_dirs)
    return shore, good.reshape(n, n_dirs)


def corridors(cx, cy, shore, n_dirs: int, dist_m: float, corridor_m: float) -> np.ndarray:
    """The approach corridor of each direction as a polygon (a line when ``corridor_m`` is 0): from
    the dip point out to ``dist_m`` past the shore, ``corridor_m`` wide. Shape (n, n_dirs)."""
    cx = np.asarray(cx, float)
    cy = np.asarray(cy, float)
    n = len(cx)
    theta = 2.0 * np.pi * np.arange(n_dirs) / n_dirs
    ux, uy = np.sin(theta)[None, :], np.cos(theta)[None, :]
    end = shore + dist_m
    x1, y1 = cx[:, None] + end * ux, cy[:, None] + end * uy
    x0, y0 = np.broadcast_to(cx[:, None], (n, n_dirs)), np.broadcast_to(cy[:, None], (n, n_dirs))
    if corridor_m <= 0:
        coords = np.stack([np.stack([x0, y0], -1), np.stack([x1, y1], -1)], axis=2).reshape(-1, 2, 2)
        return shapely.linestrings(coords).reshape(n, n_dirs)
    h = corridor_m / 2.0
    vx, vy = uy * h, -ux * h
    ring = np.stack([np.stack([x0 + vx, y0 + vy], -1), np.stack([x1 + vx, y1 + vy], -1),
                     np.stack([x1 - vx, y1 - vy], -1), np.stack([x0 - vx, y0 - vy], -1)], axis=2)
    return shapely.polygons(ring.reshape(-1, 4, 2)).reshape(n, n_dirs)


def corridor_blocked(cx, cy, shore, n_dirs: int, dist_m: float, corridor_m: float, lines) -> np.ndarray:
    """True where a line (a power line) crosses a direction's approach corridor. Shape (n, n_dirs)."""
    n = len(np.asarray(cx))
    out = np.zeros((n, n_dirs), dtype=bool)
    lines = [g for g in (lines if lines is not None else []) if g is not None and not g.is_empty]
    if n == 0 or not lines:
        return out
    ok = np.isfinite(np.asarray(cx, float)) & np.isfinite(np.asarray(cy, float))
    if not ok.any():
        return out
    cor = corridors(np.asarray(cx, float)[ok], np.asarray(cy, float)[ok], shore[ok], n_dirs, dist_m, corridor_m)
    ci, _ = shapely.STRtree(np.asarray(lines, dtype=object)).query(cor.ravel(), predicate="intersects")
    flat = np.zeros(cor.size, dtype=bool)
    flat[ci] = True
    out[ok] = flat.reshape(-1, n_dirs)
    return out


def nearest_distance(geoms, others) -> np.ndarray:
    """Distance (m) from each geometry to the nearest of ``others`` (inf when there are none)."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), np.inf)
    others = [g for g in others if g is not None and not g.is_empty]
    if not others or len(geoms) == 0:
        return out
    tree = shapely.STRtree(others)
    idx, dist = tree.query_nearest(geoms, return_distance=True, all_matches=False)
    out[idx[0]] = dist
    return out
