"""Demo generator: the real county outline and seats, townships, the urban area, villages, 温泉古镇 and built-up areas."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .common import (
    CRS,
    EXTRA_SEATS,
    NATURE,
    PLACE_SUFFIX,
    SRC_SEATS,
    SURNAMES,
    SYN,
    SYN_APPROX,
    URBAN_STREETS,
    Ctx,
    _blob,
    _rng,
    _round_polys,
)

# --------------------------------------------------------------------------------------------
# real inputs
# --------------------------------------------------------------------------------------------

def _load_real(ctx: Ctx, source_dir: Path):
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    county = gpd.read_file(source_dir / "county_outline_wgs84.geojson").to_crs(CRS)
    geom = shapely.union_all(county.geometry.values)
    ctx.county = shapely.make_valid(shapely.set_precision(geom, 0.01))

    df = pd.read_csv(source_dir / "township_seats.csv", dtype={"code": str})
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    rows = []
    for r in df.itertuples(index=False):
        if isinstance(r.lon, float) and not math.isnan(r.lon):
            x, y = tr.transform(r.lon, r.lat)
            rows.append((r.name_zh, r.code, SRC_SEATS, round(x, 2), round(y, 2)))
        elif r.name_zh in EXTRA_SEATS:
            code, x, y = EXTRA_SEATS[r.name_zh]
            rows.append((r.name_zh, code, SYN, x, y))
    rows.sort(key=lambda t: t[1])
    ctx.seats = gpd.GeoDataFrame(
        {"town": [t[0] for t in rows], "code": [t[1] for t in rows], "source": [t[2] for t in rows]},
        geometry=shapely.points([t[3] for t in rows], [t[4] for t in rows]), crs=CRS)


# --------------------------------------------------------------------------------------------
# townships, urban area
# --------------------------------------------------------------------------------------------

def _townships(ctx: Ctx):
    import geopandas as gpd
    import shapely

    pts = shapely.MultiPoint(list(ctx.seats.geometry))
    env = shapely.box(*ctx.county.buffer(20000).bounds)
    vor = shapely.voronoi_polygons(pts, extend_to=env)
    cells = list(vor.geoms)
    geoms = []
    tree = shapely.STRtree(cells)
    for pt in ctx.seats.geometry:
        idx = tree.query(pt, predicate="intersects")
        cell = cells[int(idx[0])]
        geoms.append(shapely.intersection(cell, ctx.county))
    geoms = [shapely.multipolygons(shapely.get_parts(g)) if g.geom_type == "Polygon" else g for g in geoms]
    ctx.townships = gpd.GeoDataFrame(
        {"town": ctx.seats["town"].values, "code": ctx.seats["code"].values,
         "source": [SYN_APPROX] * len(geoms)},
        geometry=_round_polys(geoms), crs=CRS)


def _urban(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "urban")
    s = ctx.seats.set_index("town")
    radii = {"汉丰街道": 1700.0, "文峰街道": 1300.0, "云枫街道": 1400.0, "镇东街道": 1300.0, "丰乐街道": 1350.0}
    blobs = [_blob(s.geometry[n].x, s.geometry[n].y, radii[n], rng, amp=0.22) for n in URBAN_STREETS]
    u = shapely.union_all(blobs).buffer(250).buffer(-250)
    u = shapely.difference(u, ctx.lake.buffer(30.0))
    u = shapely.intersection(u, ctx.county)
    parts = [p for p in shapely.get_parts(u) if p.area > 50000]
    ctx.urban = shapely.make_valid(shapely.set_precision(shapely.multipolygons(parts).simplify(5.0), 0.01))


# --------------------------------------------------------------------------------------------
# settlements
# --------------------------------------------------------------------------------------------

def _village_names(rng, n):
    names, seen = [], set()
    while len(names) < n:
        if rng.random() < 0.62:
            nm = rng.choice(SURNAMES) + rng.choice(PLACE_SUFFIX)
            if rng.random() < 0.35:
                nm += rng.choice(list("湾坝沟坪岭"))
        else:
            nm = str(rng.choice(NATURE))
            if rng.random() < 0.3:
                nm += rng.choice(list("坪湾沟"))
        nm += "村"
        if nm not in seen:
            seen.add(nm)
            names.append(nm)
    return names


def _settlements(ctx: Ctx, n_villages=460):
    import geopandas as gpd
    import shapely

    rng = _rng(ctx.seed, "villages")
    g = ctx.grid
    inner = ctx.county.buffer(-400.0)
    water = [ctx.lake] + [r["poly"] for r in ctx.reservoirs]
    water += [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 90.0) for r in ctx.rivers]
    excl = shapely.union_all(water + [ctx.urban.buffer(400.0)])
    shapely.prepare(excl)
    shapely.prepare(inner)
    minx, miny, maxx, maxy = ctx.county.bounds
    seats_xy = np.c_[ctx.seats.geometry.x, ctx.seats.geometry.y]
    acc = []
    for _ in range(40):
        cx = rng.uniform(minx, maxx, 4000)
        cy = rng.uniform(miny, maxy, 4000)
        z = g.sample(ctx.dem, cx, cy)
        sl = g.sample(ctx.slope, cx, cy)
        w = np.exp(-(z - 200.0) / 650.0) * np.clip(1.0 - sl / 0.42, 0, 1) ** 1.5
        keep = rng.random(4000) < w
        for x, y in zip(cx[keep], cy[keep]):
            if len(acc) >= n_villages:
                break
            if np.min(np.hypot(seats_xy[:, 0] - x, seats_xy[:, 1] - y)) < 1400:
                continue
            if acc:
                a = np.asarray(acc)
                if np.min(np.hypot(a[:, 0] - x, a[:, 1] - y)) < 1150:
                    continue
            p = shapely.Point(x, y)
            if not inner.contains(p) or excl.contains(p):
                continue
            acc.append((round(float(x), 2), round(float(y), 2)))
        if len(acc) >= n_villages:
            break
    acc.sort(key=lambda t: (-t[1], t[0]))
    xy = np.asarray(acc)
    names = _village_names(rng, len(acc))
    pop = np.clip(np.rint(np.exp(rng.normal(np.log(650), 0.6, len(acc))) / 10) * 10, 100, 3000).astype(int)
    vill = gpd.GeoDataFrame({"name": names, "population": pop, "kind": "村庄", "source": SYN},
                            geometry=shapely.points(xy), crs=CRS)
    vill["town"] = _town_of(ctx, vill.geometry)
    ctx.villages = vill

    # seat built-up areas
    srng = _rng(ctx.seed, "seats")
    rows = []
    for r in ctx.seats.itertuples():
        if r.town in URBAN_STREETS:
            pop, kind = int(srng.integers(30, 90)) * 1000, "城区"
        elif r.town.endswith("街道"):
            pop, kind = int(srng.integers(60, 200)) * 100, "镇区"
        else:
            pop, kind = int(srng.integers(20, 140)) * 100, "镇区"
        rows.append((r.town, r.town, pop, kind, r.geometry))
    ctx.seat_settlements = rows


def _town_of(ctx: Ctx, geoms):
    import shapely

    t = ctx.townships
    tree = shapely.STRtree(t.geometry.values)
    out = []
    for gm in geoms:
        idx = tree.query(gm, predicate="intersects")
        if len(idx) == 0:
            idx = [tree.nearest(gm)]
        out.append(t["town"].values[int(sorted(idx)[0])])
    return out


# --------------------------------------------------------------------------------------------
# old town
# --------------------------------------------------------------------------------------------

def _old_town(ctx: Ctx):
    import shapely

    p = ctx.seats.set_index("town").geometry["温泉镇"]
    river = next(r for r in ctx.rivers if r["name"] == "东河")
    rl = shapely.LineString(river["line"])
    q = rl.interpolate(rl.project(p))
    d = p.distance(q)
    ux, uy = (q.x - p.x) / d, (q.y - p.y) / d
    b = 280.0  # semi-axis towards the river
    a = 460.0
    clear = river["width"] / 2 + 45.0
    shift = max(0.0, d - clear - b)
    cx, cy = p.x + ux * shift, p.y + uy * shift
    ang = math.atan2(uy, ux) + math.pi / 2  # long axis along the river
    rng = _rng(ctx.seed, "oldtown")
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    rr = 1 + 0.06 * np.sin(3 * t + rng.uniform(0, 6)) + 0.04 * np.sin(5 * t + rng.uniform(0, 6))
    x, y = a * np.cos(t) * rr, b * np.sin(t) * rr
    ca, sa = math.cos(ang), math.sin(ang)
    poly = shapely.Polygon(np.c_[cx + ca * x - sa * y, cy + sa * x + ca * y])
    poly = shapely.difference(poly, rl.buffer(clear))
    if poly.geom_type != "Polygon":
        poly = max(shapely.get_parts(poly), key=lambda g: g.area)
    ctx.old_town = shapely.set_precision(poly, 0.01)
    ctx.old_town_angle = ang


# --------------------------------------------------------------------------------------------
# built-up areas, ponds, power lines, forest
# --------------------------------------------------------------------------------------------

def _builtup(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "builtup")
    out = [("开州城区", ctx.urban, True)]
    county_in = ctx.county.buffer(-30.0)
    water = shapely.union_all([ctx.lake] + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 10) for r in ctx.rivers])
    for town, _, pop, kind, pt in ctx.seat_settlements:
        if kind == "城区":
            continue
        r = float(np.clip(230.0 + 110.0 * math.log(pop / 1500.0), 250.0, 650.0))
        poly = _blob(pt.x, pt.y, r, rng, amp=0.2)
        if town == "温泉镇":
            poly = shapely.union(poly, ctx.old_town.buffer(40.0))
        poly = shapely.difference(shapely.intersection(poly, county_in), water)
        if poly.geom_type != "Polygon":
            parts = [p for p in shapely.get_parts(poly) if p.intersects(pt.buffer(300))]
            poly = shapely.union_all(parts) if parts else poly
        has = town == "温泉镇" or rng.random() < 0.75
        out.append((town, poly, has))
    ctx.builtup = out
