"""Demo generator: forest blocks."""

from __future__ import annotations

import numpy as np

from .common import CELL, Ctx, _rng, _smooth_noise


def _forest(ctx: Ctx, target=0.50):
    import contourpy
    import shapely

    rng = _rng(ctx.seed, "forest")
    g = ctx.grid
    dem = ctx.dem
    zn = np.clip((dem - 380.0) / 700.0, -1.0, 2.0)
    sn = np.clip(ctx.slope / 0.28, 0.0, 2.0)
    F = 0.9 * zn + 0.8 * sn + 0.55 * _smooth_noise(rng, dem.shape, 900.0 / CELL) + 0.25 * _smooth_noise(rng, dem.shape, 250.0 / CELL)
    # wooded hills right at the edge of the urban area
    from scipy.ndimage import distance_transform_edt

    um = g.rasterize([ctx.urban]).astype(bool)
    du = distance_transform_edt(~um, sampling=CELL)
    F += 0.9 * np.exp(-((du - 500.0) / 450.0) ** 2) * (_smooth_noise(rng, dem.shape, 500.0 / CELL) > -0.2)
    cm = g.rasterize([ctx.county]).astype(bool)
    thr = float(np.quantile(F[cm], 1.0 - target - 0.035))
    xs, ys = g.xs(), g.ys()[::-1]
    gen = contourpy.contour_generator(xs, ys, F[::-1], fill_type="OuterOffset", chunk_size=64)
    pts_list, offs_list = gen.filled(thr, np.inf)
    pieces = []
    for pts, offs in zip(pts_list, offs_list):
        rings = [pts[offs[i]: offs[i + 1]] for i in range(len(offs) - 1)]
        if len(rings[0]) < 4:
            continue
        pieces.append(shapely.Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
    pieces = shapely.make_valid(shapely.simplify(np.asarray(pieces, dtype=object), 15.0, preserve_topology=True))
    # holes: built-up land, villages, water
    holes = [ctx.urban, ctx.lake] + [b[1] for b in ctx.builtup[1:]]
    holes += [r["poly"] for r in ctx.reservoirs] + [p["poly"] for p in ctx.ponds]
    holes += [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 5) for r in ctx.rivers]
    vpop = ctx.villages["population"].values
    holes += [p.buffer(60.0 + v / 40.0, quad_segs=6) for p, v in zip(ctx.villages.geometry, vpop)]
    hole = shapely.union_all(holes)
    county = ctx.county
    # blocks: Voronoi cells of random seeds (~1.6 km2 each)
    minx, miny, maxx, maxy = county.bounds
    n = int(county.area / 1.6e6)
    seeds = shapely.MultiPoint(np.c_[rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])
    cells = list(shapely.voronoi_polygons(seeds, extend_to=shapely.box(minx - 5000, miny - 5000, maxx + 5000, maxy + 5000)).geoms)
    cells.sort(key=lambda c: (-round(c.centroid.y), round(c.centroid.x)))
    ctree = shapely.STRtree(cells)
    htree_parts = list(shapely.get_parts(hole))
    htree = shapely.STRtree(htree_parts)
    by_cell = {}
    for pc in shapely.get_parts(pieces):
        if pc.geom_type != "Polygon" or pc.area < 1.0:
            continue
        pc = shapely.intersection(pc, county)
        hs = htree.query(pc, predicate="intersects")
        if len(hs):
            pc = shapely.difference(pc, shapely.union_all([htree_parts[i] for i in hs]))
        if pc.is_empty:
            continue
        for ci in ctree.query(pc, predicate="intersects"):
            part = shapely.intersection(pc, cells[ci])
            if not part.is_empty and part.area > 1.0:
                by_cell.setdefault(int(ci), []).append(part)
    blocks = []
    for ci in sorted(by_cell):
        u = shapely.union_all(by_cell[ci])
        for p in shapely.get_parts(u):
            if p.geom_type == "Polygon" and p.area >= 3000:
                blocks.append(p)
    blocks = [b for b in shapely.make_valid(np.asarray(blocks, dtype=object))]
    blocks = [b if b.geom_type == "Polygon" else max((q for q in shapely.get_parts(b) if q.geom_type == "Polygon"), key=lambda q: q.area)
              for b in blocks]
    blocks.sort(key=lambda b: (-round(b.centroid.y, 1), round(b.centroid.x, 1)))
    out = []
    for i, b in enumerate(blocks):
        c = b.centroid
        z = float(g.sample(dem, c.x, c.y)[0])
        u = rng.random()
        if z > 1900:
            code = "0305" if u < 0.55 else "0301"
        elif z < 520:
            code = "0302" if u < 0.35 else ("0307" if u < 0.5 else "0301")
        else:
            code = "0301" if u < 0.74 else ("0305" if u < 0.87 else "0307")
        out.append({"block_id": f"LB{i + 1:05d}", "DLBM": code, "geom": b})
    ctx.forest = out
