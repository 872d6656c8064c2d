"""Line-of-sight viewsheds on a DEM, with earth curvature and refraction.

:func:`viewshed` answers, for one observer, which DEM cells within a range can be seen: a target
``target_m`` above the ground (smoke over the canopy) is visible from an eye ``observer_m`` above the
ground (a camera on its mast) when no terrain between them rises above the straight sight line.
Earth curvature with atmospheric refraction lowers distant terrain by ``d**2 (1 - k) / (2 R)``
(R = 6,371 km, k = 0.13; 4.4 m at 8 km), as in GDAL's viewshed and the forestry practice of
LY/T 2581-2016.

Method: the R2 ray sweep (Franklin and Ray 1994) vectorised with NumPy. From the observer a ray runs
to the centre of every cell on the border of the square window around the range; along each ray
the terrain is sampled wherever the ray crosses a column or row line of cell centres, interpolating
linearly along that line (so a one-cell ridge or wall is never stepped over); a cell is visible when
its target's elevation angle is at least the largest terrain angle met before it on its ray. Every cell of the window lies on a ray. Cells
outside the range or on nodata are not visible; nodata does not block.

Why not xarray-spatial's ``viewshed``: it has no range limit and no curvature, and its numba kernel
compiles for about a minute in each new process (53 s on this machine), then takes 0.25 s per 8 km
window where this sweep takes 0.1 s (``python -m benchmarks.bench_monitoring``). This sweep is
tested against a brute-force line of sight (``tests/test_monitoring.py``).
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_000.0


def curvature_drop_m(distance_m, refraction: float = 0.13):
    """How much lower terrain at ``distance_m`` appears, earth curvature less refraction (metres)."""
    d = np.asarray(distance_m, dtype=float)
    return d * d * (1.0 - refraction) / (2.0 * EARTH_RADIUS_M)


def viewshed(z: np.ndarray, row: int, col: int, *, cell_m: float, observer_m: float = 25.0,
             target_m: float = 10.0, range_m: float | None = None, refraction: float = 0.13,
             curvature: bool = True) -> np.ndarray:
    """Boolean grid of the cells of ``z`` whose target point is visible from the observer.

    Parameters
    ----------
    z : ndarray (rows, cols)
        Ground elevation in metres, NaN for nodata; square cells of ``cell_m`` metres.
    row, col : int
        The observer's cell.
    cell_m : float
        Cell size in metres.
    observer_m : float
        Eye height above the ground at the observer (a mast).
    target_m : float
        Height above the ground of what must be seen at each cell.
    range_m : float, optional
        Cells farther than this (centre to centre) are not visible; default: the whole grid.
    refraction : float
        Refraction coefficient k (0.13 for visible light).
    curvature : bool
        Apply earth curvature and refraction.

    Returns
    -------
    ndarray of bool, the shape of ``z``. The observer's own cell is visible.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros((5, 9))
    >>> z[:, 4] = 50.0                      # a wall one cell east of the observer
    >>> v = viewshed(z, 2, 2, cell_m=10.0, observer_m=2.0, target_m=0.0)
    >>> v[2, :4].all(), v[2, 5:].any()
    (True, False)
    """
    z = np.asarray(z, dtype=float)
    nr, nc = z.shape
    if not (0 <= row < nr and 0 <= col < nc):
        raise ValueError(f"observer cell ({row}, {col}) is outside the grid {z.shape}")
    z0 = z[row, col]
    out = np.zeros(z.shape, dtype=bool)
    if not np.isfinite(z0):
        return out
    reach = int(np.ceil(range_m / cell_m)) if range_m is not None else max(nr, nc)
    r0, r1 = max(0, row - reach), min(nr - 1, row + reach)
    c0, c1 = max(0, col - reach), min(nc - 1, col + reach)
    win = z[r0:r1 + 1, c0:c1 + 1]
    orow, ocol = row - r0, col - c0
    h, w = win.shape
    rr, cc = np.mgrid[0:h, 0:w]
    dist = np.hypot((rr - orow) * cell_m, (cc - ocol) * cell_m)
    ground = win - (curvature_drop_m(dist, refraction) if curvature else 0.0)
    eye = z0 + observer_m
    target = ground + target_m
    vis = np.zeros((h, w), dtype=bool)
    vis[orow, ocol] = True

    # border cells of the window: the ray ends
    ends = np.concatenate([
        np.stack([np.zeros(w, int), np.arange(w)], 1), np.stack([np.full(w, h - 1), np.arange(w)], 1),
        np.stack([np.arange(h), np.zeros(h, int)], 1), np.stack([np.arange(h), np.full(h, w - 1)], 1)])
    ends = np.unique(ends, axis=0)
    dr = ends[:, 0] - orow
    dc = ends[:, 1] - ocol
    keep = (dr != 0) | (dc != 0)
    dr, dc = dr[keep].astype(float), dc[keep].astype(float)
    steps = np.maximum(np.abs(dr), np.abs(dc)).astype(int)
    n = int(steps.max()) if len(steps) else 0
    if n == 0:
        return _place(out, vis, r0, c0)
    # samples where the ray crosses a column line (x integer) or a row line (y integer); there the
    # terrain is interpolated along that grid line, so a one-cell wall is never stepped over
    k = np.arange(1, n + 1, dtype=float)[None, :]
    adc, adr = np.abs(dc)[:, None], np.abs(dr)[:, None]
    tc = np.where(k <= adc, k / np.where(adc > 0, adc, 1), np.inf)
    tr = np.where(k <= adr, k / np.where(adr > 0, adr, 1), np.inf)
    tt = np.concatenate([tc, tr], axis=1)
    on_col = np.concatenate([np.ones_like(tc, bool), np.zeros_like(tr, bool)], axis=1)
    order = np.argsort(tt, axis=1, kind="stable")
    tt = np.take_along_axis(tt, order, axis=1)
    on_col = np.take_along_axis(on_col, order, axis=1)
    valid = np.isfinite(tt)
    tt = np.where(valid, tt, 1.0)
    fr = np.clip(orow + dr[:, None] * tt, 0, h - 1)
    fc = np.clip(ocol + dc[:, None] * tt, 0, w - 1)
    lo_r, lo_c = np.floor(fr).astype(int), np.floor(fc).astype(int)
    hi_r, hi_c = np.minimum(lo_r + 1, h - 1), np.minimum(lo_c + 1, w - 1)
    wr, wc = fr - lo_r, fc - lo_c
    ir, ic = np.rint(fr).astype(int), np.rint(fc).astype(int)
    # on a column line the column is an integer: interpolate between rows; on a row line, between columns
    ga = np.where(on_col, ground[lo_r, ic], ground[ir, lo_c])
    gb = np.where(on_col, ground[hi_r, ic], ground[ir, hi_c])
    wt = np.where(on_col, wr, wc)
    gz = np.where(np.isnan(ga), gb, np.where(np.isnan(gb), ga, ga * (1 - wt) + gb * wt))
    d = np.hypot((fr - orow) * cell_m, (fc - ocol) * cell_m)
    d = np.where(d > 0, d, np.inf)
    terrain_angle = np.where(np.isfinite(gz) & valid, (gz - eye) / d, -np.inf)
    # the cell each sample stands for: the nearest cell centre
    cr, ccol = ir, ic
    # the largest terrain angle on the ray before the cell of each sample (a cell never hides itself:
    # samples standing for the same cell form a run, and only samples before the run count)
    cummax = np.maximum.accumulate(terrain_angle, axis=1)
    new_run = np.ones(cr.shape, dtype=bool)
    new_run[:, 1:] = (cr[:, 1:] != cr[:, :-1]) | (ccol[:, 1:] != ccol[:, :-1])
    idx = np.where(new_run, np.arange(cr.shape[1])[None, :], 0)
    start = np.maximum.accumulate(idx, axis=1)
    before = np.concatenate([np.full((len(dr), 1), -np.inf), cummax], axis=1)
    prev = np.take_along_axis(before, start, axis=1)
    tz = target[cr, ccol]
    cd = np.hypot((cr - orow) * cell_m, (ccol - ocol) * cell_m)
    cd = np.where(cd > 0, cd, np.inf)
    seen = valid & np.isfinite(tz) & ((tz - eye) / cd >= prev - 1e-12)
    np.logical_or.at(vis, (cr[seen], ccol[seen]), True)
    if range_m is not None:
        vis &= dist <= range_m + 1e-9
    vis &= np.isfinite(win)
    vis[orow, ocol] = True
    return _place(out, vis, r0, c0)


def _place(out, vis, r0, c0):
    out[r0:r0 + vis.shape[0], c0:c0 + vis.shape[1]] = vis
    return out


def line_of_sight(z: np.ndarray, row: int, col: int, trow: int, tcol: int, *, cell_m: float,
                  observer_m: float = 25.0, target_m: float = 10.0, refraction: float = 0.13,
                  curvature: bool = True, samples_per_cell: int = 8) -> bool:
    """Brute force: is target cell (trow, tcol) visible from (row, col)? Samples the straight segment
    between the two cell centres ``samples_per_cell`` times per cell with bilinear interpolation.

    Slow, exact in its own model; used by the tests to check :func:`viewshed`.
    """
    z = np.asarray(z, dtype=float)
    z0, zt = z[row, col], z[trow, tcol]
    if not (np.isfinite(z0) and np.isfinite(zt)):
        return False
    drow, dcol = trow - row, tcol - col
    total = np.hypot(drow, dcol) * cell_m
    if total == 0:
        return True
    eye = z0 + observer_m
    drop = curvature_drop_m(total, refraction) if curvature else 0.0
    angle_t = (zt - drop + target_m - eye) / total
    n = max(2, int(np.ceil(max(abs(drow), abs(dcol)) * samples_per_cell)))
    f = np.arange(1, n) / n
    fr, fc = row + drow * f, col + dcol * f
    # the target's own cell does not hide it (as in :func:`viewshed`)
    outside = np.maximum(np.abs(fr - trow), np.abs(fc - tcol)) > 0.5
    f, fr, fc = f[outside], fr[outside], fc[outside]
    lr, lc = np.floor(fr).astype(int), np.floor(fc).astype(int)
    hr, hc = np.minimum(lr + 1, z.shape[0] - 1), np.minimum(lc + 1, z.shape[1] - 1)
    wr, wc = fr - lr, fc - lc
    g = (z[lr, lc] * (1 - wr) * (1 - wc) + z[hr, lc] * wr * (1 - wc) + z[lr, hc] * (1 - wr) * wc
         + z[hr, hc] * wr * wc)
    d = f * total
    if curvature:
        g = g - curvature_drop_m(d, refraction)
    ang = (g - eye) / d
    ang = ang[np.isfinite(ang)]
    return bool(not len(ang) or ang.max() <= angle_t + 1e-12)
