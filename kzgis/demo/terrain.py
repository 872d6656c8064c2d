"""Demo generator: the DEM grid and the synthetic terrain (relief, then rivers, lake and reservoirs)."""

from __future__ import annotations

import logging
import math

import numpy as np

from .common import CELL, LAKE_LEVEL, MARGIN, Ctx, Grid, _rng, _smooth_noise
from .rivers import _build_rivers, _carve, _make_lake, _make_reservoirs

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# terrain and rivers
# --------------------------------------------------------------------------------------------

def _make_grid(ctx: Ctx):
    minx, miny, maxx, maxy = ctx.county.bounds
    x0 = math.floor((minx - MARGIN) / 150.0) * 150.0
    ytop = math.ceil((maxy + MARGIN) / 150.0) * 150.0
    nx = int(math.ceil((maxx + MARGIN - x0) / 150.0)) * 2
    ny = int(math.ceil((ytop - (miny - MARGIN)) / 150.0)) * 2
    ctx.grid = Grid(x0, ytop, CELL, nx, ny)


def _base_terrain(ctx: Ctx):
    g = ctx.grid
    rng = _rng(ctx.seed, "terrain")
    X, Y = np.meshgrid(g.xs() / 1000.0, g.ys() / 1000.0)
    z = 320.0 + 0.0 * X
    # Daba-mountain flank in the north
    z += 620.0 / (1.0 + np.exp(-(Y - 3474.0) / 5.0))
    z += 520.0 * np.clip((Y - 3483.0) / 20.0, 0, 1)
    # 雪宝山 massif in the north-east
    z += 800.0 * np.exp(-((X - 578.5) ** 2 + (Y - 3501.0) ** 2) / (2 * 4.0 ** 2))
    z += 380.0 * np.exp(-((X - 571.0) ** 2 + (Y - 3498.0) ** 2) / (2 * 10.0 ** 2))
    # parallel NE-SW fold ridges in the south
    th = math.radians(40.0)
    u = (X - 530.0) * math.cos(th) + (Y - 3435.0) * math.sin(th)
    v = -(X - 530.0) * math.sin(th) + (Y - 3435.0) * math.cos(th)
    fade = 1.0 / (1.0 + np.exp((Y - 3452.0) / 3.0))
    for vk, h, w, ph, uend in [(-10.5, 760.0, 1.5, 0.3, 34.0), (4.0, 880.0, 1.4, 1.7, 24.0), (16.0, 820.0, 1.5, 4.1, 20.0)]:
        along = (0.62 + 0.38 * np.sin(u / 6.5 + ph)) / (1.0 + np.exp((u - uend) / 3.0))
        vv = v - vk - 0.6 * np.sin(u / 11.0 + ph)
        z += fade * h * along * np.exp(-(vv ** 2) / (2 * w * w))
    # hills everywhere, rougher in the mountains
    rough = np.clip((z - 250.0) / 900.0, 0.5, 1.5)
    z += _smooth_noise(rng, z.shape, 2000.0 / CELL) * 150.0 * rough
    z += _smooth_noise(rng, z.shape, 900.0 / CELL) * 110.0 * rough
    z += _smooth_noise(rng, z.shape, 400.0 / CELL) * 45.0 * rough
    z += _smooth_noise(rng, z.shape, 180.0 / CELL) * 15.0 * rough
    return z


def _build_dem(ctx: Ctx):
    from scipy.ndimage import distance_transform_edt

    g = ctx.grid
    terrain = _base_terrain(ctx)
    _build_rivers(ctx, terrain)
    dem, dmin = _carve(ctx, terrain)
    # seat shelves: built-up land is fairly flat
    import shapely

    rlines = [shapely.LineString(r["line"]) for r in ctx.rivers]
    for pt in ctx.seats.geometry:
        rr, cc = g.rc(pt.x, pt.y)
        R = int(3000 / CELL)
        r0, r1 = max(0, rr - R), min(g.ny, rr + R + 1)
        c0, c1 = max(0, cc - R), min(g.nx, cc + R + 1)
        xs, ys = g.xy(np.arange(r0, r1)[:, None], np.arange(c0, c1)[None, :])
        d = np.hypot(xs - pt.x, ys - pt.y)
        win = dem[r0:r1, c0:c1]
        z0 = float(g.sample(dem, pt.x, pt.y)[0])
        z0 = max(min(z0, float(np.percentile(win[d < 2500], 20))), z0 - 250.0)
        # stay above the nearby river bed so rivers keep running downhill
        for r, rl in zip(ctx.rivers, rlines):
            dr = rl.distance(pt)
            if dr < 2500:
                zr = float(np.interp(rl.project(pt), r["s"], r["bed"]))
                z0 = max(z0, zr + 6.0 + 0.01 * dr)
        zb = z0 + 0.02 * np.minimum(d, 400.0) + 0.14 * np.maximum(0.0, d - 400.0)
        dem[r0:r1, c0:c1] = np.minimum(win, zb)
    # urban basin around 汉丰湖
    _make_lake(ctx)
    lake_m = g.rasterize([ctx.lake]).astype(bool)
    dl = distance_transform_edt(~lake_m, sampling=CELL)
    zb = LAKE_LEVEL + 2.0 + 0.012 * dl + 4.0e-5 * np.maximum(0.0, dl - 2300.0) ** 2
    dem = np.minimum(dem, zb)
    # a little roughness away from the rivers
    rng = _rng(ctx.seed, "micro")
    rough = np.clip((dem - 300.0) / 800.0, 0.1, 1.5) * np.clip((dmin - 300.0) / 600.0, 0, 1)
    dem += _smooth_noise(rng, dem.shape, 130.0 / CELL) * 10.0 * rough
    dem[lake_m] = LAKE_LEVEL
    _make_reservoirs(ctx, dem)
    for res in ctx.reservoirs:
        m = g.rasterize([res["poly"]]).astype(bool)
        dem[m] = np.minimum(dem[m], res["level"]) * 0 + res["level"]
    log.info("unclipped DEM range %.0f..%.0f", dem.min(), dem.max())
    ctx.dem_raw_range = (float(dem.min()), float(dem.max()))
    dem = np.clip(dem, 150.0, 2650.0)
    valid = g.rasterize([ctx.county.buffer(2500.0)]).astype(bool)
    ctx.dem = np.rint(dem)
    ctx.demi = np.where(valid, ctx.dem, -32768).astype("int16")
    ctx.valid = valid
    gy, gx = np.gradient(ctx.dem, CELL)
    ctx.slope = np.hypot(gx, gy)
