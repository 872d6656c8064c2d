"""Demo generator: fire stations (on standard fire-truck roads)."""

from __future__ import annotations

import numpy as np

from .common import SRC_STATION, STATIONS, Ctx
from .roads import _road_tree, _short, _vehicle_classes


def _stations(ctx: Ctx):
    """The 8 brigades beside their seat, on the nearest standard fire-truck road (not a spur)."""
    import shapely

    roads, rtree = _road_tree(ctx)
    vc = _vehicle_classes(ctx, margin_pct=1.0)
    rows = []
    seats = ctx.seats.set_index("town")
    for town in STATIONS:
        p = seats.geometry[town]
        cand = [int(c) for c in rtree.query(p.buffer(300), predicate="intersects")
                if not ctx.roads[int(c)]["spur"] and vc[int(c)] == "standard" and ctx.roads[int(c)]["width"] is not None]
        if not cand:
            raise RuntimeError(f"no standard fire-truck road within 300 m of the {town} seat")
        best = min(cand, key=lambda c: (round(roads[c].distance(p), 3), c))
        ln = roads[best]
        s0 = ln.project(p)
        s1 = s0 + 20.0 if s0 + 20.0 <= ln.length else max(0.0, s0 - 20.0)
        q = ln.interpolate(s1)
        q2 = ln.interpolate(min(ln.length, s1 + 1.0)) if s1 + 1.0 <= ln.length else ln.interpolate(s1 - 1.0)
        t = np.array([q2.x - q.x, q2.y - q.y])
        t /= np.hypot(*t) or 1.0
        x, y = q.x - t[1] * 8.0, q.y + t[0] * 8.0
        short = _short(town)
        planned = town == "雪宝山镇"
        rows.append({"name": f"{short}政府专职消防队", "short": short, "town": town, "kind": "政府专职消防队",
                     "status": "planned" if planned else "existing", "year": 2025 if planned else None,
                     "source": SRC_STATION, "geom": shapely.Point(x, y)})
    return rows
