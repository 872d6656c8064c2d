"""Dip-site geometry for the helicopter analysis: clear circle, water level, approach rays.

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


def approach_angles(dem, geoms, cx, cy, levels, n_dirs: int, dist_m: float, step_m: float | None = None):
    """Steepest terrain angle (deg) seen along each of ``n_dirs`` rays from each water body.

    A ray starts at the dip point ``(cx, cy)``, leaves the water at its first crossing of the
    polygon's boundary (the shore) and runs ``dist_m`` further. At each sample at distance ``t``
    past the shore the angle is ``atan((z - level) / t)``; the ray's value is the largest angle
    (samples outside the DEM are skipped; NaN when all are). Direction ``j`` points
    ``360 * j / n_dirs`` degrees clockwise from north.

    Returns (angles (n, n_dirs), shore distances (n, n_dirs)).
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n == 0:
        return np.zeros((0, n_dirs)), np.zeros((0, n_dirs))
    cx = np.asarray(cx, float)
    cy = np.asarray(cy, float)
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

    step = step_m or max(min(dem.cell_m / 2.0, dist_m / 10.0), 1e-3)
    k = max(int(np.ceil(dist_m / step)), 1)
    t = np.minimum(step * np.arange(1, k + 1), dist_m)  # (k,)
    along = shore[:, :, None] + t[None, None, :]
    xs = cx[:, None, None] + along * ux[None, :, None]
    ys = cy[:, None, None] + along * uy[None, :, None]
    z = dem.sample(xs.ravel(), ys.ravel()).reshape(n, n_dirs, k)
    h = z - np.asarray(levels, float)[:, None, None]
    ang = np.degrees(np.arctan2(h, t[None, None, :]))
    seen = np.isfinite(ang)
    best = np.where(seen, ang, -np.inf).max(axis=2)
    best = np.where(seen.any(axis=2), best, np.nan)
    best[~good.reshape(n, n_dirs)] = np.nan
    return best, shore


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
