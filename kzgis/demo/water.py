"""Demo generator: natural intakes and their spur roads, ponds, hydrants, fire pools and water mains."""

from __future__ import annotations

import logging
import math

import numpy as np

from .common import NATURE, SURNAMES, Ctx, _cumlen, _ellipse, _rng, _seg_grades
from .rivers import LAKE_END_KM
from .roads import _road_tree, _vehicle_classes

log = logging.getLogger(__name__)


def _water_access(ctx: Ctx):
    """Natural intakes (取水点 / 取水码头) and the short spur roads that serve them.

    GB 50974 4.4.7: a natural water source needs a fire-truck road (and a turnaround) to its intake.
    Every 取水码头 gets a spur from a standard (else small) fire-truck road ending 9 m from it, with a
    hammerhead turnaround; most 取水点 get one too, from the shortest gentle spur (<= 8.5 % standard,
    <= 13.5 % small) within reach. Some are left without a road on purpose (remote gorge intakes
    beyond reach, and a few others), so the rule shows in the water analysis. Spurs are noded into
    the road they leave (that road is split there).
    """
    import shapely

    roads, tree = _road_tree(ctx)
    vc = _vehicle_classes(ctx)
    usable = np.array([vc[i] in ("standard", "small") and not (r["bridge"] or r["spur"])
                       for i, r in enumerate(ctx.roads)])
    intakes = _intakes(ctx, shapely.STRtree([roads[i] for i in np.nonzero(usable)[0]]))
    rng = _rng(ctx.seed, "intake_roads")
    water = shapely.union_all([ctx.lake] + [r["poly"] for r in ctx.reservoirs]
                              + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 2.0) for r in ctx.rivers])
    shapely.prepare(water)
    new = []  # spur geometries added so far
    spurs = []  # (host row, anchor xy, [road rows])
    served = 0
    chosen = []
    for cands, kind, lift in intakes:
        wharf = kind == "取水码头"
        chosen.append((cands[0], kind, lift))
        done = next((q for q in cands if any(usable[int(i)] for i in tree.query(q, predicate="dwithin", distance=15.0))),
                    None)
        if done is not None:
            chosen[-1] = (done, kind, lift)
            served += 1
            continue
        if not wharf and rng.random() < 0.1:
            continue  # no road to this one yet (shows the rule)
        for q in cands:
            sp = _spur_to(ctx, q, roads, tree, usable, vc, water, new, max_len=700.0 if wharf else 450.0,
                          turnaround=wharf)
            if sp is not None:
                chosen[-1] = (q, kind, lift)
                break
        if sp is None:
            if wharf:
                log.warning("no spur road found for the 取水码头 at %.0f, %.0f", cands[0].x, cands[0].y)
            continue
        host, a, lines, std = sp
        w = round(float(rng.uniform(5.0, 6.5) if wharf else rng.uniform(4.0, 5.0) if std else rng.uniform(3.1, 3.8)), 1)
        nm = "取水码头道路" if wharf else "取水点道路"
        rows = [{"pts": ln, "cls": "村道", "name": nm, "width": w, "oneway": 0, "urban": False, "spur": True,
                 "oldtown": False, "bridge": False} for ln in lines]
        new += [shapely.LineString(ln) for ln in lines]
        spurs.append((host, a, rows))
        served += 1
    log.info("intakes: %d of %d with a fire-truck road within 15 m (%d new spur roads)", served, len(intakes), len(spurs))
    _attach_spurs(ctx, spurs)
    ctx.intakes = chosen


def _spur_to(ctx, p, roads, tree, usable, vc, water, new, max_len, turnaround=False):
    """Shortest straight spur from a usable road to 9 m landward of ``p``; None if none fits.

    Returns (host row, anchor (x, y), [point arrays of the new lines], standard?).
    """
    import shapely

    ang = np.arange(16) * (2 * np.pi / 16)
    u = np.c_[np.cos(ang), np.sin(ang)]
    ends = []
    for v in u:
        e = (p.x + 9.0 * v[0], p.y + 9.0 * v[1])
        probe = shapely.LineString([(p.x + 1.5 * v[0], p.y + 1.5 * v[1]), e])
        if not water.intersects(probe) and len(tree.query(shapely.Point(e), predicate="dwithin", distance=4.0)) == 0:
            ends.append(e)
    if not ends:
        return None
    ends = np.asarray(ends)
    anchors, host = [], []
    for i in sorted(int(i) for i in tree.query(p, predicate="dwithin", distance=max_len + 10.0)):
        if not usable[i]:
            continue
        g = roads[i]
        s = np.r_[np.arange(0.0, g.length, 8.0), g.length, g.project(p)]
        xy = shapely.get_coordinates(shapely.line_interpolate_point(g, s))
        vx = np.asarray(g.coords)
        dv = np.hypot(xy[:, None, 0] - vx[None, :, 0], xy[:, None, 1] - vx[None, :, 1])
        near_v = dv.min(axis=1) < 0.5  # on a vertex: use it exactly (no sliver pieces)
        xy[near_v] = vx[dv.argmin(axis=1)[near_v]]
        anchors.append(xy)
        host += [i] * len(xy)
    if not anchors:
        return None
    A = np.vstack(anchors)
    host = np.asarray(host)
    ia, ie = np.meshgrid(np.arange(len(A)), np.arange(len(ends)), indexing="ij")
    ia, ie = ia.ravel(), ie.ravel()
    L = np.hypot(*(A[ia] - ends[ie]).T)
    ok = (L >= 6.0) & (L <= max_len)
    ia, ie, L = ia[ok], ie[ok], L[ok]
    if not len(L):
        return None
    grade = _seg_grades(ctx, A[ia], ends[ie])
    std = (vc[host[ia]] == "standard") & (grade <= 0.085)
    small = grade <= 0.135
    score = np.where(std, L, np.where(small, L + 40.0, np.inf))
    order = np.lexsort((ie, ia, score))
    for j in order[:400]:
        if not np.isfinite(score[j]):
            break
        a, e = A[ia[j]], ends[ie[j]]
        s = shapely.LineString([a, e])
        if water.intersects(s):
            continue
        d = (e - a) / L[j]
        far = shapely.LineString([a + d * min(10.0, L[j] / 2), e])
        if len(tree.query(far, predicate="dwithin", distance=3.0)) or any(far.distance(q) < 3.0 for q in new):
            continue
        if any(not shapely.equals_exact(roads[int(h)].intersection(s), shapely.Point(a), 0.01)
               for h in tree.query(s, predicate="intersects")):
            continue
        lines = [np.array([a, e])]
        if turnaround:  # hammerhead: 2 x 9 m across the end of the spur
            n = np.array([-d[1], d[0]])
            arms = [np.array([e, e + 9.0 * n]), np.array([e, e - 9.0 * n])]
            if all(not water.intersects(shapely.LineString(t)) and
                   len(tree.query(shapely.LineString(t), predicate="dwithin", distance=3.0)) == 0 for t in arms):
                lines += arms
        return int(host[ia[j]]), (float(a[0]), float(a[1])), lines, bool(std[j])
    return None


def _attach_spurs(ctx, spurs):
    """Split each host road at its spur's anchor (exact shared point) and append the spur rows."""
    import shapely

    cuts = {}
    for h, a, _ in spurs:
        cuts.setdefault(h, []).append(a)
    rows = []
    for i, r in enumerate(ctx.roads):
        if i not in cuts:
            rows.append(r)
            continue
        pts = r["pts"]
        s = _cumlen(pts)
        line = shapely.LineString(pts)
        cs = sorted((line.project(shapely.Point(a)), a) for a in cuts[i])
        pieces, cur, j = [], [tuple(pts[0])], 1
        for d, a in cs:
            if d < 1e-6 or d > s[-1] - 1e-6:
                continue  # at an end already: nothing to split
            while j < len(pts) and s[j] < d - 1e-9:
                cur.append(tuple(pts[j]))
                j += 1
            if j < len(pts) and abs(s[j] - d) < 1e-6:
                j += 1
            cur.append(a)
            pieces.append(cur)
            cur = [a]
        cur += [tuple(q) for q in pts[j:]]
        pieces.append(cur)
        for pc in pieces:
            rows.append(dict(r, pts=np.asarray(pc, dtype=float)))
    for _, _, new in spurs:
        rows += new
    ctx.roads = rows


def _ponds(ctx: Ctx, n_open=120, n_narrow=22, n_gorge=22):
    import shapely

    rng = _rng(ctx.seed, "ponds")
    g = ctx.grid
    roads, rtree = _road_tree(ctx)
    inner = ctx.county.buffer(-300.0)
    vill = ctx.villages.geometry
    blocked = shapely.union_all([ctx.lake.buffer(80), ctx.urban.buffer(-200.0)]
                                + [r["poly"].buffer(80) for r in ctx.reservoirs]
                                + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 40) for r in ctx.rivers]
                                + [p.buffer(120) for p in vill]
                                + [b[1] for b in ctx.builtup[1:]])
    shapely.prepare(blocked)
    shapely.prepare(inner)
    ponds = []

    def ok(poly, road_gap=12.0):
        if not inner.contains(poly) or blocked.intersects(poly):
            return False
        if any(poly.distance(q["poly"]) < 40 for q in ponds[-60:]):
            return False
        near = rtree.query(poly, predicate="dwithin", distance=road_gap)
        return len(near) == 0

    minx, miny, maxx, maxy = ctx.county.bounds
    # open ground ponds (many small, some large enough for a helicopter bucket)
    tries = 0
    while sum(1 for p in ponds if p["type"] == "open") < n_open and tries < 20000:
        tries += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        z = float(g.sample(ctx.dem, x, y)[0])
        sl = float(g.sample(ctx.slope, x, y)[0])
        if sl > 0.07 or z > 800:
            continue
        area = float(np.exp(rng.uniform(np.log(350), np.log(28000))))
        ecc = rng.uniform(1.0, 2.2)
        a = math.sqrt(area * ecc / math.pi)
        b = area / (math.pi * a)
        poly = _ellipse(x, y, a, b, rng.uniform(0, 180), n=20)
        if ok(poly):
            ponds.append({"poly": poly, "type": "open"})
    # long narrow ponds (along the contour)
    tries = 0
    while sum(1 for p in ponds if p["type"] == "narrow") < n_narrow and tries < 8000:
        tries += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        sl = float(g.sample(ctx.slope, x, y)[0])
        if sl > 0.12 or float(g.sample(ctx.dem, x, y)[0]) > 900:
            continue
        r, c = g.rc(x, y)
        gy, gx = np.gradient(ctx.dem[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2])
        ang = math.degrees(math.atan2(-float(gy.mean()), float(gx.mean()))) + 90.0
        L = rng.uniform(140, 420)
        W = rng.uniform(8, 22)
        ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        ln = shapely.LineString([(x - ca * L / 2, y - sa * L / 2), (x + ca * L / 2, y + sa * L / 2)])
        poly = ln.buffer(W / 2, quad_segs=3)
        if ok(poly):
            ponds.append({"poly": poly, "type": "narrow"})
    # ponds in gorges: beside tributaries where the valley walls are steep
    tribs = [r for r in ctx.rivers if r["parent"] is not None]
    tries = 0
    while sum(1 for p in ponds if p["type"] == "gorge") < n_gorge and tries < 8000:
        tries += 1
        r = tribs[int(rng.integers(len(tribs)))]
        i = int(rng.integers(5, len(r["line"]) - 5))
        x, y = r["line"][i]
        if float(g.sample(ctx.slope, x, y)[0]) < 0.22:
            continue
        t = r["line"][i + 1] - r["line"][i - 1]
        t /= np.hypot(*t)
        side = 1 if rng.random() < 0.5 else -1
        off = r["width"] / 2 + rng.uniform(25, 60)
        cx, cy = x - side * t[1] * off, y + side * t[0] * off
        area = float(np.exp(rng.uniform(np.log(300), np.log(6000))))
        a = math.sqrt(area * 1.6 / math.pi)
        poly = _ellipse(cx, cy, a, area / (math.pi * a), math.degrees(math.atan2(t[1], t[0])), n=16)
        blocked_g = shapely.LineString(r["line"]).buffer(r["width"] / 2 + 10)
        if inner.contains(poly) and not poly.intersects(blocked_g) and len(rtree.query(poly, predicate="dwithin", distance=8.0)) == 0 \
                and not any(poly.distance(q["poly"]) < 40 for q in ponds):
            ponds.append({"poly": poly, "type": "gorge"})
    for p in ponds:
        _pond_attrs(p, rng)
    ctx.ponds = ponds


def _pond_attrs(p, rng):
    p["name"] = None
    if rng.random() < 0.25:
        p["name"] = (rng.choice(SURNAMES) + "家堰塘") if rng.random() < 0.6 else (str(rng.choice(NATURE)) + "塘")
    p["depth"] = round(float(rng.uniform(0.8, 6.0)), 1) if rng.random() < 0.55 else None
    p["kind"] = "pond"


# --------------------------------------------------------------------------------------------
# point layers
# --------------------------------------------------------------------------------------------

def _hydrants(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "hydrants")
    roads, rtree = _road_tree(ctx)
    # some parts of the urban area have none
    upts = shapely.get_parts(shapely.points(rng.uniform(*ctx.urban.bounds[::2], 3), rng.uniform(*ctx.urban.bounds[1::2], 3)))
    gaps = shapely.union_all([p.buffer(450) for p in upts])
    pts = []
    for name, poly, has in ctx.builtup:
        if not has:
            continue
        for i in sorted(rtree.query(poly, predicate="intersects")):
            r = ctx.roads[i]
            if r["spur"] or r["bridge"]:
                continue
            part = shapely.intersection(roads[i], poly)
            for ln in shapely.get_parts(part):
                if ln.geom_type != "LineString" or ln.length < 20:
                    continue
                pos = float(rng.uniform(5, 70))
                w = r["width"] or 5.0
                while pos < ln.length:
                    p = ln.interpolate(pos)
                    q = ln.interpolate(min(ln.length, pos + 1.0))
                    t = np.array([q.x - p.x, q.y - p.y])
                    nt = np.hypot(*t)
                    if nt > 0:
                        t /= nt
                        off = w / 2 + 1.5
                        h = (p.x - t[1] * off, p.y + t[0] * off)
                        if not (name == "开州城区" and gaps.contains(shapely.Point(h))):
                            pts.append(h)
                    u = rng.random()
                    pos += float(rng.uniform(60, 110) if u < 0.6 else rng.uniform(110, 170) if u < 0.9 else rng.uniform(170, 320))
    # drop near-duplicates at junctions
    keep = []
    arr = np.asarray(pts)
    from scipy.spatial import cKDTree

    tree = cKDTree(arr)
    taken = np.zeros(len(arr), dtype=bool)
    for i in range(len(arr)):
        if taken[i]:
            continue
        keep.append(arr[i])
        taken[tree.query_ball_point(arr[i], 30.0)] = True
    keep = np.asarray(keep)
    status = rng.choice(["正常", "损坏", "无水", "停用"], size=len(keep), p=[0.84, 0.08, 0.05, 0.03])
    return keep, status


def _fire_pools(ctx: Ctx):
    """Fire pools at villages and seats: most beside a fire-truck road (standard / small, the truck
    stands within 20 m: GB 50974 needs it to draft), some set back from any such road on purpose."""
    import shapely

    rng = _rng(ctx.seed, "pools")
    roads, rtree = _road_tree(ctx)
    vc = _vehicle_classes(ctx)
    good = [i for i, r in enumerate(ctx.roads) if vc[i] in ("standard", "small") and not (r["spur"] or r["bridge"])]
    gtree = shapely.STRtree([roads[i] for i in good])
    wet = shapely.union_all([ctx.lake.buffer(20.0)] + [r["poly"] for r in ctx.reservoirs]
                            + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 10.0) for r in ctx.rivers])
    shapely.prepare(wet)
    out = []

    def truck_m(p):
        return float(gtree.geometries[gtree.nearest(p)].distance(p))

    def clear(p, gap=10.0):
        return len(rtree.query(p, predicate="dwithin", distance=gap)) == 0 and ctx.county.contains(p) \
            and not wet.contains(p)

    def roadside(x, y, r1, vol):
        near = sorted(int(i) for i in gtree.query(shapely.Point(x, y), predicate="dwithin", distance=r1))
        for _ in range(30 if near else 0):
            g = gtree.geometries[near[int(rng.integers(len(near)))]]
            s = float(rng.uniform(0.0, g.length))
            q, q2 = g.interpolate(s), g.interpolate(min(g.length, s + 1.0))
            if q2.equals(q):
                q2 = g.interpolate(max(0.0, s - 1.0))
            if math.hypot(q.x - x, q.y - y) > r1:
                continue
            t = np.array([q2.x - q.x, q2.y - q.y])
            t /= np.hypot(*t) or 1.0
            off = float(rng.uniform(11.0, 16.0)) * (1 if rng.random() < 0.5 else -1)
            p = shapely.Point(q.x - t[1] * off, q.y + t[0] * off)
            if clear(p) and truck_m(p) <= 17.0:
                out.append((p, int(vol)))
                return True
        return False

    def set_back(x, y, r0, r1, vol):
        for _ in range(40):
            a = rng.uniform(0, 2 * np.pi)
            d = rng.uniform(r0, r1)
            p = shapely.Point(x + d * math.cos(a), y + d * math.sin(a))
            if clear(p) and truck_m(p) > 30.0:
                out.append((p, int(vol)))
                return

    for p in ctx.villages.geometry:
        if rng.random() < 0.24:  # about as many pools as before placements stopped failing
            vol = rng.choice([50, 100, 100, 200, 300])
            if rng.random() < 0.2 or not roadside(p.x, p.y, 250.0, vol):
                set_back(p.x, p.y, 20, 120, vol)
    for town, _, pop, kind, p in ctx.seat_settlements:
        if kind == "城区":
            for _ in range(2):
                vol = rng.choice([300, 600, 1000])
                if not roadside(p.x, p.y, 900.0, vol):
                    set_back(p.x, p.y, 200, 900, vol)
        elif rng.random() < 0.5:
            vol = rng.choice([100, 300, 300, 600])
            if rng.random() < 0.15 or not roadside(p.x, p.y, 300.0, vol):
                set_back(p.x, p.y, 50, 300, vol)
    # 温泉古镇: a 600 m3 pool just inside its edge, beside a fire-truck road where there is one,
    # and a small old 50 m3 tank inside (too small: GB 50974 4.3.4)
    ot = ctx.old_town
    c = ot.centroid
    b = ot.exterior
    cand = []
    for f in np.linspace(0, 1, 41)[:-1]:
        q = b.interpolate(f, normalized=True)
        v = np.array([c.x - q.x, c.y - q.y])
        v /= np.hypot(*v)
        p = shapely.Point(q.x + v[0] * 25, q.y + v[1] * 25)
        if len(rtree.query(p, predicate="dwithin", distance=10.0)) == 0:
            cand.append(p)
    if cand:
        out.append((next((p for p in cand if truck_m(p) <= 17.0), cand[0]), 600))
    for f in np.linspace(0.05, 0.95, 19):
        q = shapely.Point(c.x + (f - 0.5) * 300, c.y + (0.5 - f) * 120)
        if ot.contains(q) and len(rtree.query(q, predicate="dwithin", distance=8.0)) == 0:
            out.append((q, 50))
            break
    return out


def _bank_point(river, i, side, extra=3.0):
    pts = river["line"]
    t = pts[min(i + 1, len(pts) - 1)] - pts[max(i - 1, 0)]
    t /= np.hypot(*t)
    off = river["width"] / 2 + extra
    return pts[i, 0] - side * t[1] * off, pts[i, 1] + side * t[0] * off


def _intakes(ctx: Ctx, truck_tree=None):
    """Natural intakes: river bank points (some near roads, some remote), lake and reservoir shores,
    and 取水码头 at seats on the larger rivers.

    Returns ``(candidates, kind, lift_m)`` per intake: the preferred point first, then alternatives
    for where a road can reach it (the other bank; for a wharf, other bank points near its seat,
    best first by distance to a fire-truck road in ``truck_tree`` and to the seat).
    """
    import shapely

    rng = _rng(ctx.seed, "intakes")
    roads, rtree = _road_tree(ctx)
    out = []

    def lift():
        return round(float(rng.uniform(1.5, 9.5)), 1) if rng.random() < 0.55 else None

    def banks(r, i, side):
        return [shapely.Point(*_bank_point(r, i, side)), shapely.Point(*_bank_point(r, i, -side))]

    main_le = shapely.LineString(ctx.rivers[0]["line"]).project(shapely.Point(np.asarray(LAKE_END_KM) * 1000))
    # river intakes: some where a road comes near, some remote
    for r in ctx.rivers:
        pts, s = r["line"], r["s"]
        n = max(2, int(s[-1] // 9000))
        for k in range(n):
            i = int(rng.integers(3, len(pts) - 3))
            if r["parent"] is None and s[i] < main_le + 200:
                continue
            side = 1 if rng.random() < 0.5 else -1
            cand = banks(r, i, side)
            if ctx.county.contains(cand[0]):
                out.append(([c for c in cand if ctx.county.contains(c)], "取水点", lift()))
        # near a road: up to three
        line = shapely.LineString(pts)
        near = sorted(int(j) for j in rtree.query(line, predicate="dwithin", distance=60.0))
        taken = 0
        for j in (rng.permutation(near) if near else []):
            if taken == 3:
                break
            q = roads[int(j)].interpolate(0.5, normalized=True)
            sp = line.project(q)
            i = int(np.clip(np.searchsorted(s, sp), 2, len(pts) - 3))
            if r["parent"] is None and s[i] < main_le + 200:
                continue
            cand = banks(r, i, 1 if rng.random() < 0.5 else -1)
            if ctx.county.contains(cand[0]):
                out.append(([c for c in cand if ctx.county.contains(c)], "取水点", lift()))
                taken += 1
    # lake shore and reservoirs
    for f in (0.1, 0.3, 0.55, 0.8):
        q = ctx.lake.exterior.interpolate(f, normalized=True)
        out.append(([q], "取水码头" if f in (0.3, 0.8) else "取水点", round(float(rng.uniform(2, 5)), 1)))
    for res in ctx.reservoirs:
        q = res["poly"].exterior.interpolate(float(rng.uniform(0, 1)), normalized=True)
        out.append(([q], "取水点", lift()))

    def truck_m(q):
        return truck_tree.geometries[truck_tree.nearest(q)].distance(q) if truck_tree is not None else 0.0

    # wharves near seats on the large rivers
    for town in ["温泉镇", "郭家镇", "谭家镇", "大德镇", "渠口镇", "赵家街道", "长沙镇", "白鹤街道"]:
        p = ctx.seats.set_index("town").geometry[town]
        r = min(ctx.rivers, key=lambda rv: shapely.LineString(rv["line"]).distance(p))
        line = shapely.LineString(r["line"])
        i = int(np.clip(np.searchsorted(r["s"], line.project(p)), 2, len(r["line"]) - 3))
        if town == "温泉镇":
            # the wharf for 温泉古镇: on the old-town bank, beside the old town
            ot = ctx.old_town
            cand = [shapely.Point(*_bank_point(r, j, side))
                    for j in range(max(2, i - 40), min(len(r["line"]) - 3, i + 40)) for side in (1, -1)]
            cand = sorted(cand, key=lambda q: round(ot.distance(q), 3))
            out.append(([q for q in cand if ot.distance(q) < cand[0].distance(ot) + 60.0], "取水码头", 3.5))
            continue
        side = 1 if (p.x - r["line"][i, 0]) * -(r["line"][i + 1, 1] - r["line"][i - 1, 1]) + \
            (p.y - r["line"][i, 1]) * (r["line"][i + 1, 0] - r["line"][i - 1, 0]) > 0 else -1
        # within ~1.4 km of the seat, preferably on its bank, where a fire-truck road comes closest
        cand = []
        for j in range(max(2, i - 35), min(len(r["line"]) - 3, i + 36)):
            for sd in (side, -side):
                q = shapely.Point(*_bank_point(r, j, sd))
                cand.append((round(truck_m(q) + 0.25 * q.distance(p) + (0.0 if sd == side else 150.0), 3), j, sd, q))
        cand.sort(key=lambda t: t[:3])
        out.append(([t[3] for t in cand[:12]], "取水码头", lift()))
    return out


def _mains(ctx: Ctx):
    """Water mains under the built-up roads of towns with hydrants.

    温泉古镇 (old-town check: mains >= DN100) has exactly one 75 mm pipe, under one section of an
    old street, among 100 / 150 mm ones: the check fails for that one named reason.
    """
    import shapely

    rng = _rng(ctx.seed, "mains")
    roads, rtree = _road_tree(ctx)
    out = []
    ot = ctx.old_town
    near_ot = ot.buffer(5.0)
    for name, poly, has in ctx.builtup:
        if not has:
            continue
        for i in sorted(rtree.query(poly, predicate="intersects")):
            r = ctx.roads[i]
            if r["spur"] or r["bridge"] or r["oldtown"]:
                continue
            for ln in shapely.get_parts(shapely.intersection(roads[i], poly)):
                if ln.geom_type != "LineString" or ln.length < 30:
                    continue
                if name == "开州城区":
                    d = int(rng.choice([200, 150]) if r["cls"] == "县道" else rng.choice([150, 100, 100]))
                else:
                    d = int(rng.choice([150, 100, 100, 75]))
                    if ln.intersects(near_ot):
                        d = max(d, 100)  # the old town's own pipes are set below
                out.append((ln, d))
    # old town lanes: 100 / 150 mm, except one section of the second-longest street (75 mm)
    lanes = {}
    for i, r in enumerate(ctx.roads):
        if r["oldtown"]:
            lanes.setdefault(r["name"], []).append(i)
    order = sorted(lanes, key=lambda nm: (-sum(roads[i].length for i in lanes[nm]), nm))
    thin = max(lanes[order[1 if len(order) > 1 else 0]], key=lambda i: (round(roads[i].length, 2), -i))
    for k, nm in enumerate(order):
        for i in lanes[nm]:
            out.append((roads[i], 75 if i == thin else (150 if k % 2 == 0 else 100)))
    return out
