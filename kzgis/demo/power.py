"""Demo generator: power lines."""

from __future__ import annotations

import math

import numpy as np

from .common import Ctx, _ellipse, _rng
from .roads import _road_tree

POWER = [
    (500, [(498.0, 3423.0), (511.0, 3437.5), (522.0, 3448.5), (534.0, 3461.5), (546.0, 3474.0),
           (557.0, 3486.0), (569.0, 3499.0), (586.0, 3507.0)]),
    (220, [(535.0, 3455.0), (541.5, 3464.5), (546.5, 3472.0), (553.0, 3479.0), (566.0, 3478.5)]),
    (220, [(503.0, 3456.5), (514.0, 3455.0), (524.0, 3451.0), (533.5, 3447.0)]),
    (110, [(539.0, 3437.0), (544.0, 3443.0), (549.5, 3451.5), (555.5, 3460.5), (562.0, 3465.5), (570.0, 3468.0)]),
    (110, [(522.5, 3427.0), (528.0, 3436.0), (535.0, 3442.0), (537.5, 3447.5)]),
]


def _power_lines(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "power")
    lines = []
    for kv, ctrl in POWER:
        p = np.asarray(ctrl) * 1000.0
        towers = [p[0]]
        for a, b in zip(p[:-1], p[1:]):
            L = float(np.hypot(*(b - a)))
            n = max(1, int(L // 420))
            t = (b - a) / L
            nrm = np.array([-t[1], t[0]])
            for k in range(1, n + 1):
                q = a + (b - a) * k / n
                if k < n and rng.random() < 0.35:
                    q = q + nrm * rng.uniform(-25, 25)
                towers.append(q)
        ln = shapely.LineString(np.asarray(towers))
        for part in shapely.get_parts(shapely.intersection(ln, ctx.county)):
            if part.length > 1000:
                lines.append({"kv": kv, "geom": part})
    ctx.power = lines
    # a pond right next to the 110 kV line (a dip site that fails the no-power-line rule)
    line = next(item["geom"] for item in lines if item["kv"] == 110)
    roads, rtree = _road_tree(ctx)
    g = ctx.grid
    vill = shapely.MultiPoint(list(ctx.villages.geometry))
    for f in np.linspace(0.15, 0.9, 60):
        q = line.interpolate(f, normalized=True)
        q2 = line.interpolate(min(1.0, f + 0.002), normalized=True)
        t = np.array([q2.x - q.x, q2.y - q.y])
        t /= np.hypot(*t)
        cx, cy = q.x - t[1] * 48.0, q.y + t[0] * 48.0
        if float(g.sample(ctx.slope, cx, cy)[0]) > 0.1:
            continue
        poly = _ellipse(cx, cy, 70.0, 30.0, math.degrees(math.atan2(t[1], t[0])), n=20)
        if len(rtree.query(poly, predicate="dwithin", distance=20.0)) or poly.distance(vill) < 120:
            continue
        if any(poly.distance(p["poly"]) < 30 for p in ctx.ponds) or poly.intersects(ctx.lake) or poly.intersects(ctx.urban):
            continue
        if any(poly.distance(shapely.LineString(r["line"])) < r["width"] / 2 + 30 for r in ctx.rivers):
            continue
        ctx.ponds.append({"poly": poly, "type": "powerline", "name": "高压线旁堰塘", "depth": 3.2, "kind": "pond"})
        break
