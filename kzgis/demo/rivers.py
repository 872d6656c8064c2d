"""Demo generator: the rivers (carved into the terrain), 汉丰湖 and the reservoirs."""

from __future__ import annotations

import numpy as np

from .common import CELL, LAKE_LEVEL, Ctx, _cumlen, _rng, _spline_line

# Rivers: name, width (m), source-bed elevation (m), parent, valley-floor half width (m),
# control points in km (EPSG:4545), listed source -> mouth. The mouth of a tributary is snapped
# onto its parent. The main stem starts at the west end of 汉丰湖.
RIVERS = [
    ("澎溪河", 160.0, None, None, 500.0,
     [(533.3, 3450.2), (535.5, 3450.5), (537.8, 3450.7), (539.6, 3450.6), (541.4, 3449.3),
      (543.4, 3447.9), (545.2, 3447.0), (547.6, 3445.7), (549.8, 3444.4), (553.5, 3442.3)]),
    ("东河", 90.0, 1650.0, "澎溪河", 300.0,
     [(570.5, 3501.5), (567.0, 3497.0), (564.3, 3493.3), (560.5, 3490.5), (557.0, 3488.2),
      (551.5, 3484.0), (548.2, 3481.1), (548.7, 3476.5), (549.3, 3471.4), (547.6, 3467.2),
      (546.3, 3463.4), (544.7, 3460.7), (543.0, 3457.2), (540.9, 3454.0), (539.3, 3451.0)]),
    ("南河", 70.0, 1050.0, "澎溪河", 280.0,
     [(519.5, 3484.5), (523.6, 3479.9), (527.0, 3477.2), (529.4, 3476.0), (532.0, 3472.5),
      (533.4, 3468.6), (534.6, 3465.0), (534.2, 3461.0), (533.2, 3455.5), (533.5, 3452.0),
      (533.3, 3450.2)]),
    ("普里河", 55.0, 760.0, "澎溪河", 250.0,
     [(511.8, 3416.5), (515.9, 3420.3), (519.5, 3423.6), (522.6, 3426.2), (525.8, 3428.8),
      (528.5, 3431.7), (532.5, 3434.3), (536.0, 3437.0), (539.6, 3440.8), (542.0, 3443.6),
      (544.0, 3446.5)]),
    ("竹溪河", 35.0, 620.0, "澎溪河", 180.0,
     [(506.0, 3430.5), (509.5, 3433.0), (513.3, 3436.3), (517.0, 3439.2), (520.5, 3442.9),
      (524.5, 3443.5), (527.4, 3445.6), (530.6, 3448.7), (533.3, 3450.2)]),
    ("义和河", 30.0, 820.0, "南河", 160.0,
     [(502.5, 3452.5), (507.5, 3449.4), (512.0, 3451.4), (516.5, 3451.0), (520.5, 3452.0),
      (523.4, 3453.4), (527.0, 3453.5), (530.5, 3453.4), (533.3, 3453.0)]),
    ("桃溪河", 30.0, 900.0, "南河", 160.0,
     [(507.5, 3461.8), (510.3, 3460.1), (514.5, 3462.4), (518.3, 3463.6), (522.0, 3461.0),
      (526.5, 3459.0), (530.5, 3458.5), (533.8, 3458.0)]),
    ("高桥河", 25.0, 950.0, "南河", 140.0,
     [(516.5, 3475.5), (520.0, 3473.5), (522.5, 3472.6), (526.5, 3472.3), (530.0, 3471.5),
      (532.3, 3471.3)]),
    ("大进河", 30.0, 1250.0, "东河", 150.0,
     [(537.5, 3496.0), (540.5, 3491.0), (542.0, 3488.4), (544.5, 3485.5), (547.5, 3483.6),
      (549.8, 3482.8)]),
    ("满月河", 30.0, 1450.0, "东河", 150.0,
     [(551.0, 3503.5), (553.0, 3500.6), (554.8, 3497.0), (556.0, 3492.5), (557.0, 3489.0)]),
    ("白泉河", 20.0, 1850.0, "东河", 120.0,
     [(578.5, 3497.0), (574.6, 3496.3), (571.5, 3494.8), (567.5, 3494.0), (565.5, 3494.5)]),
    ("和谦河", 20.0, 850.0, "东河", 120.0,
     [(539.5, 3481.5), (542.0, 3479.3), (544.2, 3477.9), (546.5, 3477.0), (548.6, 3476.4)]),
    ("白桥河", 40.0, 1050.0, "澎溪河", 200.0,
     [(568.5, 3475.0), (564.6, 3471.5), (560.5, 3466.5), (557.2, 3463.1), (553.0, 3459.0),
      (548.9, 3454.6), (545.5, 3451.3), (542.8, 3448.6)]),
    ("金峰河", 20.0, 780.0, "澎溪河", 120.0,
     [(556.0, 3455.4), (554.2, 3453.4), (551.8, 3450.0), (549.5, 3446.3),
      (548.3, 3445.3)]),
]
LAKE_END_KM = (539.9, 3450.5)  # where 汉丰湖 ends on the main stem

# reservoirs: river, position along the river (fraction from the source), dam height (m), name, depth
RESERVOIRS = [
    ("高桥河", 0.42, 18.0, "高桥水库", 14.0),
    ("大进河", 0.45, 26.0, "大进水库", None),
    ("金峰河", 0.40, 20.0, "金峰水库", 8.5),
    ("桃溪河", 0.30, 14.0, "桃溪水库", None),
    ("普里河", 0.12, 9.0, "龙潭水库", 7.5),
    ("满月河", 0.50, 22.0, "满月水库", 17.0),
    ("和谦河", 0.45, 18.0, "和谦水库", 9.0),
]


def _build_rivers(ctx: Ctx, terrain):
    import shapely

    rng = _rng(ctx.seed, "rivers")
    g = ctx.grid
    by_name = {}
    for name, width, zsrc, parent, floor, ctrl in RIVERS:
        p = np.asarray(ctrl) * 1000.0
        inner = ctx.county.buffer(-600.0)
        while not inner.contains(shapely.Point(p[0])) and len(p) > 2:
            q = p[0] + (p[1] - p[0]) * min(1.0, 300.0 / np.hypot(*(p[1] - p[0])))
            p = p[1:] if np.hypot(*(p[1] - q)) < 400 else np.vstack([q, p[1:]])
        if parent is not None:
            pl = shapely.LineString(by_name[parent]["line"])
            end = shapely.Point(p[-1])
            q = pl.interpolate(pl.project(end))
            p[-1] = (q.x, q.y)
        pts = _spline_line(p, 40.0)
        s = _cumlen(pts)
        # gentle meander, zero at both ends
        if parent is not None:
            nrm = np.gradient(pts, axis=0)
            nrm = np.c_[-nrm[:, 1], nrm[:, 0]] / (np.hypot(*nrm.T)[:, None] + 1e-9)
            ph = rng.uniform(0, 2 * np.pi, 2)
            taper = np.clip(np.sin(np.pi * s / s[-1]), 0, 1) ** 0.5
            off = (70.0 * np.sin(2 * np.pi * s / 2300.0 + ph[0]) + 40.0 * np.sin(2 * np.pi * s / 900.0 + ph[1]))
            off *= taper * min(1.0, width / 40.0 + 0.4)
            pts = pts + nrm * off[:, None]
            s = _cumlen(pts)
        L = s[-1]
        tz = g.sample(terrain, pts[:, 0], pts[:, 1])
        if parent is None:
            s_le = shapely.LineString(pts).project(shapely.Point(np.asarray(LAKE_END_KM) * 1000.0))
            bed = np.where(s <= s_le, LAKE_LEVEL, LAKE_LEVEL - 2.0 - 16.0 * (s - s_le) / (L - s_le))
        else:
            par = by_name[parent]
            pl = shapely.LineString(par["line"])
            sp = pl.project(shapely.Point(pts[-1]))
            zm = float(np.interp(sp, par["s"], par["bed"]))
            zs = min(zsrc, float(tz[0]) - 40.0)
            zs = max(zs, zm + 30.0)
            bed = zm + (zs - zm) * (1.0 - s / L) ** 2.1
            # never above the ground upstream: cumulative minimum of the terrain along the river
            cap = np.minimum.accumulate(tz - 25.0)
            bed = np.maximum(np.minimum(bed, cap), zm)
            bed = np.minimum.accumulate(bed)
        r = {"name": name, "width": width, "line": pts, "s": s, "bed": bed, "parent": parent,
             "floor": floor}
        by_name[name] = r
        ctx.rivers.append(r)
    return by_name


def _carve(ctx: Ctx, terrain):
    from scipy.ndimage import distance_transform_edt

    g = ctx.grid
    dem = terrain.copy()
    dmin = np.full(dem.shape, 1e9)
    pad = int(7000 / CELL)
    for r in ctx.rivers:
        pts = r["line"]
        rr, cc = g.rc(pts[:, 0], pts[:, 1])
        r0, r1 = max(0, rr.min() - pad), min(g.ny, rr.max() + pad + 1)
        c0, c1 = max(0, cc.min() - pad), min(g.nx, cc.max() + pad + 1)
        win = dem[r0:r1, c0:c1]
        bedg = np.full(win.shape, np.inf)
        np.minimum.at(bedg, (rr - r0, cc - c0), r["bed"])
        mask = np.isfinite(bedg)
        d, (ir, ic) = distance_transform_edt(~mask, sampling=CELL, return_indices=True)
        bn = bedg[ir, ic]
        rel = np.clip((terrain[r0:r1, c0:c1] - bn - 150.0) / 1100.0, 0, 1)
        s1 = 0.05 + 0.33 * rel
        dd = np.maximum(0.0, d - r["floor"])
        zv = bn + s1 * dd + 0.5 * np.minimum(d, r["floor"]) * 0.02
        dem[r0:r1, c0:c1] = np.minimum(win, zv)
        dmin[r0:r1, c0:c1] = np.minimum(dmin[r0:r1, c0:c1], d)
    return dem, dmin


def _make_lake(ctx: Ctx):
    import shapely

    main = ctx.rivers[0]
    pts, s = main["line"], main["s"]
    s_le = shapely.LineString(pts).project(shapely.Point(np.asarray(LAKE_END_KM) * 1000.0))
    sel = s <= s_le + 1.0
    lp, ls = pts[sel], s[sel]
    rng = _rng(ctx.seed, "lake")
    frac = ls / ls[-1]
    half = 130.0 + 260.0 * np.sin(np.pi * np.clip(frac * 1.05, 0, 1)) ** 0.7
    half *= 1.0 + 0.18 * np.sin(2 * np.pi * ls / 1700.0 + rng.uniform(0, 6.28))
    half = np.maximum(half, 90.0)
    tang = np.gradient(lp, axis=0)
    tang /= np.hypot(*tang.T)[:, None]
    nrm = np.c_[-tang[:, 1], tang[:, 0]]
    left = lp + nrm * half[:, None]
    right = lp - nrm * (half * 0.85)[:, None]
    ring = np.vstack([left, right[::-1]])
    poly = shapely.Polygon(ring).buffer(60.0).buffer(-60.0)
    # a bay where 东河 enters
    donghe = ctx.rivers[1]["line"]
    bay = shapely.LineString(donghe[-40:]).buffer(110.0)
    poly = shapely.union(poly, bay).buffer(40).buffer(-40)
    ctx.lake = shapely.make_valid(shapely.set_precision(poly.simplify(5.0), 0.01))


def _make_reservoirs(ctx: Ctx, dem):
    import shapely
    from rasterio.features import shapes
    from scipy.ndimage import label

    g = ctx.grid
    by = {r["name"]: r for r in ctx.rivers}
    out = []
    for rname, frac, H, name, depth in RESERVOIRS:
        r = by[rname]
        s, pts = r["s"], r["line"]
        i = int(np.searchsorted(s, frac * s[-1]))
        seat_xy = np.c_[ctx.seats.geometry.x, ctx.seats.geometry.y]
        # move the dam upstream until it is well away from every township seat
        while i > 40 and np.min(np.hypot(*(seat_xy - pts[i]).T)) < 2800:
            i -= 5
        dam = pts[i]
        level = float(np.interp(s[i], s, r["bed"])) + H
        tdown = pts[min(i + 3, len(pts) - 1)] - pts[max(i - 3, 0)]
        tdown /= np.hypot(*tdown)
        rr, cc = g.rc(dam[0], dam[1])
        R = int(2600 / CELL)
        r0, r1 = max(0, rr - R), min(g.ny, rr + R + 1)
        c0, c1 = max(0, cc - R), min(g.nx, cc + R + 1)
        xs, ys = g.xy(np.arange(r0, r1)[:, None], np.arange(c0, c1)[None, :])
        up = ((xs - dam[0]) * tdown[0] + (ys - dam[1]) * tdown[1]) < -CELL * 0.5
        disc = np.hypot(xs - dam[0], ys - dam[1]) < 2500
        wet = (dem[r0:r1, c0:c1] < level) & up & disc
        for sp in ctx.seats.geometry:  # never flood a township seat
            wet &= np.hypot(xs - sp.x, ys - sp.y) > 1500.0
        lab, _ = label(wet)
        # seed: the river a bit upstream of the dam
        j = max(0, i - int(250 / 40))
        sr, sc = g.rc(pts[j, 0], pts[j, 1])
        k = lab[sr - r0, sc - c0]
        if k == 0:
            continue
        m = (lab == k).astype("uint8")
        from affine import Affine

        tr = g.transform @ Affine.translation(c0, r0)
        polys = [shapely.geometry.shape(geo) for geo, v in shapes(m, mask=m.astype(bool), transform=tr) if v == 1]
        poly = shapely.union_all(polys).buffer(50.0, quad_segs=4).buffer(-70.0, quad_segs=4)
        if poly.is_empty:
            continue
        if poly.geom_type == "MultiPolygon":
            poly = max(poly.geoms, key=lambda p: p.area)
        # smooth the ring (no staircase from the 75 m cells): densify, circular gaussian filter
        from scipy.ndimage import gaussian_filter1d

        ring = np.asarray(shapely.segmentize(poly.exterior, 15.0).coords)[:-1]
        ring = gaussian_filter1d(ring, 5.0, axis=0, mode="wrap")
        poly = shapely.make_valid(shapely.Polygon(ring).simplify(3.0))
        if poly.geom_type != "Polygon":
            poly = max(shapely.get_parts(poly), key=lambda p: p.area)
        # dam line: cut the polygon at the dam
        out.append({"name": name, "poly": poly, "level": level, "depth": depth, "river": rname})
    ctx.reservoirs = out
