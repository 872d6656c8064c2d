"""Demo generator: roads (least-cost paths on the grade-priced grid), noded into one network, in sections with widths."""

from __future__ import annotations

import logging
import math

import numpy as np

from .common import (
    CELL,
    OLD_STREETS,
    PRIO,
    RCELL,
    ROAD_CLASSES,
    STREET_NAMES,
    URBAN_STREETS,
    Ctx,
    Grid,
    _cumlen,
    _line_grade,
    _rng,
    _safe_chaikin,
    _seg_grades,
    _smooth_noise,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# roads
# --------------------------------------------------------------------------------------------

class RoadGraph:
    """Least-cost routing on a 150 m grid; used edges get cheaper so roads share corridors.

    Moves go to 32 neighbours (the 8 nearest plus (1, 2), (1, 3) and (2, 3) moves in every
    direction), so a road can follow the contour to within ~9 degrees. Each move's grade is
    measured on the 75 m DEM along the move itself (``GRADE_STEP`` sub-runs, the steepest counts),
    as the network engine measures a finished road. Two cost tables share one sparse structure:

    - ``trunk`` (国道/省道/县道 and roads between seats): a move steeper than ``TRUNK_GRADE`` is
      priced out (x ``STEEP_PRICE``), so a route climbs by following the contour or by switchbacks;
    - ``village`` (村道/机耕道/乡道): steep moves are strongly discouraged above ``VILLAGE_GRADE``
      but allowed where nothing else is near, so a few steep village roads remain.
    """

    DIRS = [(0, 1), (1, 0), (1, 1), (1, -1), (1, 2), (2, 1), (1, -2), (2, -1),
            (1, 3), (3, 1), (1, -3), (3, -1), (2, 3), (3, 2), (2, -3), (3, -2)]
    GRADE_STEP = 30.0  # m, sub-run over which a move's grade is measured
    TRUNK_GRADE = 0.085  # below the 10 % limit (GB 55037 3.4.5) with a margin for smoothing / sampling
    VILLAGE_GRADE = 0.10
    STEEP_PRICE = 400.0

    def __init__(self, ctx: Ctx):
        import shapely
        from scipy.sparse import csr_matrix

        self.ctx = ctx
        g = ctx.grid
        self.ny, self.nx = g.ny // 2, g.nx // 2
        self.grid = Grid(g.x0, g.ytop, RCELL, self.nx, self.ny)
        G = self.grid
        ok = G.rasterize([ctx.county.buffer(-120.0)]).astype(bool)
        lake = G.rasterize([ctx.lake]).astype(bool)
        res = G.rasterize([r["poly"] for r in ctx.reservoirs]).astype(bool)
        riv = G.rasterize([shapely.LineString(r["line"]).buffer(r["width"] / 2 + 30.0) for r in ctx.rivers],
                          all_touched=True).astype(bool)
        self.ok, self.lake, self.riv = ok, lake, riv
        N = self.ny * self.nx
        idx = np.arange(N).reshape(self.ny, self.nx)
        # what a move crosses: river corridor, lake, reservoir (sampled along the move, not only at its ends)
        wet = riv.astype(np.uint8) | (lake.astype(np.uint8) << 1) | (res.astype(np.uint8) << 2)
        # gentle random cost field so routes over flat land wander instead of running grid-straight
        wander = np.exp(0.35 * _smooth_noise(_rng(ctx.seed, "wander"), (self.ny, self.nx), 4.0)).ravel()
        xs, ys = G.xs(), G.ys()
        rows, cols, wt, wv, gr = [], [], [], [], []
        okf = ok.ravel()
        for dr, dc in self.DIRS:
            a = idx[max(0, -dr): self.ny - max(0, dr), max(0, -dc): self.nx - max(0, dc)].ravel()
            b = a + dr * self.nx + dc
            m = okf[a] & okf[b]
            a, b = a[m], b[m]
            L = RCELL * math.hypot(dr, dc)
            n = max(2, int(math.ceil(L / self.GRADE_STEP)))
            t = np.linspace(0.0, 1.0, n + 1)
            ra, ca = np.divmod(a, self.nx)
            px = xs[ca][None, :] + t[:, None] * (dc * RCELL)
            py = ys[ra][None, :] - t[:, None] * (dr * RCELL)
            z = g.sample(ctx.dem, px.ravel(), py.ravel()).reshape(px.shape)
            grade = np.abs(np.diff(z, axis=0)).max(axis=0) / (L / n)
            rr, cc = G.rc(px.ravel(), py.ravel())
            hit = np.bitwise_or.reduce(wet[rr, cc].reshape(px.shape), axis=0)
            pen = np.where(hit & 1, 250.0, 0.0) + np.where(hit & 2, 600.0, 0.0)
            mult = np.where(hit & 4, 40.0, 1.0) * np.maximum(wander[a], wander[b])
            ct = L * (1.0 + 0.8 * (grade / 0.07) ** 2) * mult + pen
            ct = np.where(grade > self.TRUNK_GRADE, ct * self.STEEP_PRICE, ct)
            cv = L * (1.0 + np.minimum((grade / 0.08) ** 2, 40.0)) * mult + pen
            cv = np.where(grade > self.VILLAGE_GRADE, cv * 6.0, cv)
            rows += [a, b]
            cols += [b, a]
            wt += [ct, ct]
            wv += [cv, cv]
            gr += [grade, grade]
        # route on the passable cells only (compact ids): dijkstra's per-call cost scales with the node count
        self.cell = np.nonzero(okf)[0]
        self.comp = np.full(N, -1, dtype=np.int64)
        self.comp[self.cell] = np.arange(len(self.cell))
        K = len(self.cell)
        rows, cols = self.comp[np.concatenate(rows)], self.comp[np.concatenate(cols)]
        M = csr_matrix((np.arange(1, len(rows) + 1, dtype=float), (rows, cols)), shape=(K, K))
        M.sort_indices()
        order = M.data.astype(np.int64) - 1  # position of each stored arc in the input arrays
        self.Mt = csr_matrix((np.concatenate(wt)[order], M.indices, M.indptr), shape=(K, K))
        self.Mv = csr_matrix((np.concatenate(wv)[order], M.indices, M.indptr), shape=(K, K))
        self.grade = np.concatenate(gr)[order]
        self.indptr, self.indices = M.indptr, M.indices
        self.on_net = np.zeros(N, dtype=bool)
        self.edges = {}  # (a,b) a<b -> dict(prio, name, usage, urban)

    def node_of(self, x, y):
        r, c = self.grid.rc(x, y)
        if self.ok[r, c]:
            return int(r * self.nx + c)
        # nearest passable cell
        k = 6
        while True:
            rr, cc = np.nonzero(self.ok[max(0, r - k): r + k + 1, max(0, c - k): c + k + 1])
            if len(rr):
                break
            k *= 2
        rr, cc = rr + max(0, r - k), cc + max(0, c - k)
        k = np.argmin((rr - r) ** 2 + (cc - c) ** 2)
        return int(rr[k] * self.nx + cc[k])

    def node_xy(self, n):
        r, c = divmod(int(n), self.nx)
        x, y = self.grid.xy(r, c)
        return float(x), float(y)

    def _pos(self, a, b):
        a, b = self.comp[a], self.comp[b]
        lo, hi = self.indptr[a], self.indptr[a + 1]
        return lo + int(np.searchsorted(self.indices[lo:hi], b))

    def arc_grade(self, a, b):
        return float(self.grade[self._pos(a, b)])

    def add_path(self, nodes, cls, name, village=False, urban=False, discount=0.35):
        for a, b in zip(nodes[:-1], nodes[1:]):
            if a == b:
                continue
            k = (min(a, b), max(a, b))
            e = self.edges.get(k)
            if e is None:
                for M in (self.Mt, self.Mv):
                    M.data[self._pos(a, b)] *= discount
                    M.data[self._pos(b, a)] *= discount
                e = {"prio": PRIO[cls], "name": name, "usage": 0, "urban": urban}
                self.edges[k] = e
            elif PRIO[cls] > e["prio"]:
                e["prio"], e["name"] = PRIO[cls], name
            if village:
                e["usage"] += 1
        self.on_net[np.asarray(nodes)] = True

    def route(self, src, dst=None, limit=None, trunk=False):
        """Least-cost path from src to dst, or to the nearest on-network node if dst is None.

        ``trunk``: use the trunk-road costs (moves steeper than ``TRUNK_GRADE`` priced out).
        """
        from scipy.sparse.csgraph import dijkstra

        M = self.Mt if trunk else self.Mv
        s = int(self.comp[src])
        lim = limit or 6000.0
        while True:
            d, pred = dijkstra(M, indices=s, return_predecessors=True, limit=lim)
            if dst is None:
                cand = np.nonzero(self.on_net[self.cell] & np.isfinite(d))[0]
                if len(cand):
                    t = int(cand[np.argmin(d[cand])])
                    break
            elif np.isfinite(d[self.comp[dst]]):
                t = int(self.comp[dst])
                break
            if lim > 5e7:
                return None
            lim *= 1.6
        path = [t]
        while path[-1] != s:
            p = int(pred[path[-1]])
            if p < 0:
                return None
            path.append(p)
        return [int(self.cell[k]) for k in path[::-1]]


def _seat_xy(ctx, town):
    p = ctx.seats.set_index("town").geometry[town]
    return p.x, p.y


CORRIDORS = [
    ("国道", "开温公路", ["汉丰街道", "丰乐街道", "白鹤街道", "郭家镇", "温泉镇", "谭家镇", "大进镇"]),
    ("国道", "开云公路", ["汉丰街道", "文峰街道", "渠口镇", "@exit_se"]),
    ("省道", "开梁公路", ["汉丰街道", "云枫街道", "正安街道", "竹溪镇", "临江镇", "铁桥镇", "@exit_sw"]),
    ("省道", "开长公路", ["文峰街道", "赵家街道", "长沙镇", "南门镇", "岳溪镇"]),
    ("省道", "开城公路", ["镇东街道", "大德镇", "敦好镇", "紫水乡", "麻柳乡"]),
    ("省道", "开巫公路", ["丰乐街道", "厚坝镇", "金峰镇", "@exit_e"]),
    ("县道", "温河公路", ["温泉镇", "白桥镇", "河堰镇"]),
    ("县道", "谭满公路", ["谭家镇", "关面乡", "雪宝山镇"]),
    ("县道", "关满公路", ["关面乡", "满月镇"]),
]
EXITS = {"@exit_se": (552800.0, 3441300.0), "@exit_sw": (506800.0, 3426500.0), "@exit_e": (559000.0, 3449000.0)}


def _roads(ctx: Ctx):
    from scipy.spatial import Delaunay

    rng = _rng(ctx.seed, "roads")
    rg = RoadGraph(ctx)
    G = rg.grid
    seats = ctx.seats
    seat_node = {t: _gentle_node(ctx, rg, p) for t, p in zip(seats["town"], seats.geometry)}
    short = {t: _short(t) for t in seats["town"]}

    # --- urban street grid (pre-seeded network)
    urb = G.rasterize([ctx.urban.buffer(-60.0)]).astype(bool) & rg.ok & ~rg.lake
    rr, cc = np.nonzero(urb)
    r_ref, c_ref = G.rc(*_seat_xy(ctx, "汉丰街道"))
    sname = {}
    for axis in (0, 1):
        lines = sorted(set((rr if axis == 0 else cc).tolist()))
        for ln in lines:
            off = ln - (r_ref if axis == 0 else c_ref)
            if off % 2:
                continue
            main = off % 6 == 0
            other = np.sort((cc if axis == 0 else rr)[(rr if axis == 0 else cc) == ln])
            runs = np.split(other, np.nonzero(np.diff(other) != 1)[0] + 1)
            for run in runs:
                if len(run) < 2:
                    continue
                key = (axis, ln)
                if key not in sname:
                    sname[key] = STREET_NAMES[len(sname) % len(STREET_NAMES)] if rng.random() < 0.85 else None
                nodes = [int((ln * rg.nx + o) if axis == 0 else (o * rg.nx + ln)) for o in run]
                rg.add_path(nodes, "县道" if main else "乡道", sname[key], urban=True, discount=0.3)

    # --- trunk corridors between seats
    def node_for(t):
        if t.startswith("@"):
            return rg.node_of(*EXITS[t])
        return seat_node[t]

    steep = []

    def trunk(a, b, cls, nm):
        # the exact least-cost path whatever the limit; a tight first limit only saves time
        limit = 1.8 * math.dist(rg.node_xy(a), rg.node_xy(b)) + 3000.0
        path = rg.route(a, b, limit=limit, trunk=True)
        if path:
            rg.add_path(path, cls, nm)
            g = [rg.arc_grade(u, v) for u, v in zip(path[:-1], path[1:])]
            steep.extend((nm, round(x * 100, 1)) for x in g if x > RoadGraph.TRUNK_GRADE)
        return path

    for cls, nm, seq in CORRIDORS:
        for a, b in zip(seq[:-1], seq[1:]):
            trunk(node_for(a), node_for(b), cls, nm)
    # remaining seats: connect along a seat MST
    xy = np.c_[seats.geometry.x, seats.geometry.y]
    names = list(seats["town"])
    tri = Delaunay(xy)
    cand = set()
    for simp in tri.simplices:
        for i in range(3):
            a, b = sorted((int(simp[i]), int(simp[(i + 1) % 3])))
            cand.add((a, b))
    cand = sorted(cand, key=lambda e: np.hypot(*(xy[e[0]] - xy[e[1]])))
    import networkx as nx

    H = nx.Graph()
    for cls, nm, seq in CORRIDORS:
        for a, b in zip(seq[:-1], seq[1:]):
            if not a.startswith("@") and not b.startswith("@"):
                H.add_edge(names.index(a), names.index(b))
    H.add_nodes_from(range(len(names)))
    for a, b in cand:
        dist = np.hypot(*(xy[a] - xy[b]))
        if dist > 22000:
            continue
        try:
            pl = nx.shortest_path_length(H, a, b)
        except nx.NetworkXNoPath:
            pl = None
        if pl is None or (pl > 2 and dist < 14000):
            if trunk(seat_node[names[a]], seat_node[names[b]], "县道", f"{short[names[a]]}{short[names[b]]}公路"):
                H.add_edge(a, b)
    log.info("trunk roads: %d grid moves steeper than %.1f %% %s", len(steep), RoadGraph.TRUNK_GRADE * 100, steep[:20])

    # --- villages: connect each to the nearest existing road, nearest-to-network first
    vill = ctx.villages
    vxy = np.c_[vill.geometry.x, vill.geometry.y]
    vnode = [_gentle_node(ctx, rg, p, 0.09) for p in vill.geometry]
    dseat = np.min(np.hypot(vxy[:, None, 0] - xy[None, :, 0], vxy[:, None, 1] - xy[None, :, 1]), axis=1)
    order = np.argsort(dseat, kind="stable")
    vpaths = {}
    for i in order:
        n = vnode[i]
        if rg.on_net[n]:
            vpaths[i] = [n]
            continue
        path = rg.route(n, None, limit=5000)
        if path is None:
            continue
        vpaths[i] = path
        rg.add_path(path, "村道", vill["name"].iloc[i].removesuffix("村") + "村道路", village=True)
    # loops: some extra village-village links
    vt = Delaunay(vxy)
    extra = set()
    for simp in vt.simplices:
        for k in range(3):
            a, b = sorted((int(simp[k]), int(simp[(k + 1) % 3])))
            extra.add((a, b))
    extra = sorted(extra)
    pick = [e for e in extra if np.hypot(*(vxy[e[0]] - vxy[e[1]])) < 2600]
    pick = [pick[i] for i in sorted(rng.choice(len(pick), size=min(len(pick), 120), replace=False))]
    for a, b in pick:
        path = rg.route(vnode[a], vnode[b], limit=9000)
        if path and len(path) < 40:
            cls = "机耕道" if rng.random() < 0.55 else "村道"
            rg.add_path(path, cls, None if cls == "机耕道" else vill["name"].iloc[a].removesuffix("村") + "村道路",
                        village=True)

    # upgrade busy village edges to 乡道
    for k, e in rg.edges.items():
        if e["prio"] <= PRIO["村道"] and e["usage"] >= 4:
            e["prio"] = PRIO["乡道"]
            if e["name"] and e["name"].endswith("村道路"):
                e["name"] = e["name"].replace("村道路", "公路")

    return rg, seat_node, vnode


def _gentle_node(ctx: Ctx, rg: RoadGraph, p, max_grade=0.08):
    """Grid node for a seat / village: the nearest one whose straight link to it is gentle enough."""
    r0, c0 = divmod(rg.node_of(p.x, p.y), rg.nx)
    cand = [(r, c) for r in range(r0 - 2, r0 + 3) for c in range(c0 - 2, c0 + 3)
            if 0 <= r < rg.ny and 0 <= c < rg.nx and rg.ok[r, c]]
    xy = np.array([rg.grid.xy(r, c) for r, c in cand], dtype=float)
    d = np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y)
    g = _seg_grades(ctx, xy, np.tile([p.x, p.y], (len(xy), 1)))
    k = min(range(len(cand)), key=lambda i: (g[i] > max_grade, round(d[i], 3), i))
    return int(cand[k][0] * rg.nx + cand[k][1])


def _short(town):
    for suf in ("街道", "镇", "乡"):
        if town.endswith(suf):
            return town[: -len(suf)]
    return town


def _chains(rg: RoadGraph, attach):
    """Split the used grid edges into chains between junctions / attribute changes."""
    adj = {}
    for (a, b), e in rg.edges.items():
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)

    def key(a, b):
        e = rg.edges[(min(a, b), max(a, b))]
        return (e["prio"], e["name"], e["urban"])

    def is_node(n):
        nb = adj[n]
        if len(nb) != 2 or n in attach:
            return True
        return key(n, nb[0]) != key(n, nb[1])

    seen = set()
    chains = []
    for start in sorted(adj):
        if not is_node(start):
            continue
        for nb in sorted(adj[start]):
            k = (min(start, nb), max(start, nb))
            if k in seen:
                continue
            seq = [start, nb]
            seen.add(k)
            while not is_node(seq[-1]):
                cur, prev = seq[-1], seq[-2]
                nxt = adj[cur][0] if adj[cur][1] == prev else adj[cur][1]
                kk = (min(cur, nxt), max(cur, nxt))
                if kk in seen:
                    break
                seen.add(kk)
                seq.append(nxt)
            chains.append(seq)
    # pure cycles (no junction)
    for k in sorted(rg.edges):
        if k not in seen:
            seq = [k[0], k[1]]
            seen.add(k)
            while True:
                cur, prev = seq[-1], seq[-2]
                nxt = adj[cur][0] if adj[cur][1] == prev else adj[cur][1]
                kk = (min(cur, nxt), max(cur, nxt))
                if kk in seen:
                    break
                seen.add(kk)
                seq.append(nxt)
            chains.append(seq)
    return chains, key


WIDTH_BY_CLASS = {
    "国道": lambda r: r.uniform(8.5, 12.0),
    "省道": lambda r: r.uniform(6.5, 9.0),
    "县道": lambda r: r.uniform(5.0, 7.5),
    "乡道": lambda r: r.uniform(3.5, 6.0) if r.random() < 0.85 else r.uniform(3.0, 3.5),
    "村道": lambda r: (r.uniform(4.0, 5.0), r.uniform(3.0, 4.0), r.uniform(2.2, 3.0))[
        int(np.searchsorted([0.4, 0.8], r.random()))],
    "机耕道": lambda r: (r.uniform(2.5, 3.5), r.uniform(1.5, 2.5), r.uniform(0.9, 1.5))[
        int(np.searchsorted([0.35, 0.8], r.random()))],
}


def _finish_roads(ctx: Ctx, rg: RoadGraph, seat_node, vnode):
    import shapely

    rng = _rng(ctx.seed, "roadattrs")
    attach = set(seat_node.values()) | set(vnode)
    chains, key = _chains(rg, attach)
    lines = []  # dicts: geom(np array), cls, name, width, oneway, urban
    for seq in chains:
        prio, name, urban = key(seq[0], seq[1])
        pts = np.array([rg.node_xy(n) for n in seq])
        if not urban:
            pts = _safe_chaikin(ctx, pts, RoadGraph.TRUNK_GRADE if prio >= PRIO["县道"] else RoadGraph.VILLAGE_GRADE)
        lines.append({"pts": pts, "cls": ROAD_CLASSES[prio], "name": name, "urban": urban})

    # urban bridges over the lake: a few straight N-S links across the water
    # (grid streets stop at the shore; bridges join facing street ends)
    # links from grid cells to the actual seat / village points
    tmp = []
    for t, n in seat_node.items():
        p = ctx.seats.set_index("town").geometry[t]
        x, y = rg.node_xy(n)
        if math.hypot(p.x - x, p.y - y) > 1.0:
            cls = max((ROAD_CLASSES[e["prio"]] for k, e in rg.edges.items() if n in k), key=PRIO.get, default="县道")
            tmp.append({"pts": np.array([[x, y], [p.x, p.y]]), "cls": cls, "name": None, "urban": t in URBAN_STREETS})
    vill = ctx.villages
    for i, n in enumerate(vnode):
        p = vill.geometry.iloc[i]
        x, y = rg.node_xy(n)
        if math.hypot(p.x - x, p.y - y) > 1.0:
            tmp.append({"pts": np.array([[x, y], [p.x, p.y]]), "cls": "村道",
                        "name": vill["name"].iloc[i].removesuffix("村") + "村道路", "urban": False})
    lines += tmp

    # old-town lanes
    lines += _old_town_lanes(ctx, rng)

    # spurs (dead ends 30-200 m) at villages
    geoms = [shapely.LineString(item["pts"]) for item in lines]
    tree = shapely.STRtree(geoms)
    water = shapely.union_all([ctx.lake] + [r["poly"] for r in ctx.reservoirs]
                              + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 5) for r in ctx.rivers])
    shapely.prepare(water)
    spurs = []
    for i in range(len(vill)):
        p = vill.geometry.iloc[i]
        for _ in range(int(rng.integers(0, 3))):
            for _try in range(6):
                ang = rng.uniform(0, 2 * np.pi)
                L = float(rng.uniform(30, 200))
                bend = rng.uniform(-0.4, 0.4)
                q1 = (p.x + 0.5 * L * math.cos(ang), p.y + 0.5 * L * math.sin(ang))
                q2 = (q1[0] + 0.5 * L * math.cos(ang + bend), q1[1] + 0.5 * L * math.sin(ang + bend))
                ls = shapely.LineString([(p.x, p.y), q1, q2])
                hits = tree.query(ls.buffer(8.0), predicate="intersects")
                bad = False
                for h in hits:
                    gh = geoms[h]
                    if gh.distance(shapely.Point(q2)) < 15 or gh.distance(shapely.Point(q1)) < 8:
                        bad = True
                        break
                    inter = gh.intersection(ls)
                    if not inter.is_empty and inter.distance(shapely.Point(p.x, p.y)) > 0.01:
                        bad = True
                        break
                if any(s.distance(ls) < 10 and s.distance(shapely.Point(p.x, p.y)) > 0.01 for s in spurs[-4:]):
                    bad = True
                if bad or water.intersects(ls):
                    continue
                if _line_grade(ctx, ls.coords) > 0.10 and rng.random() < 0.75:
                    continue  # most farm tracks follow the slope gently; some climb straight up
                spurs.append(ls)
                cls = "机耕道" if rng.random() < 0.5 else "村道"
                lines.append({"pts": np.asarray(ls.coords), "cls": cls, "name": None, "urban": False, "spur": True})
                break

    lines = _node_lines(lines)
    rows = _sections(ctx, lines, rng)
    ctx.roads = rows


def _node_lines(lines):
    """Split lines where they cross or touch another line's interior, at shared exact points."""
    import shapely

    geoms = [shapely.LineString(item["pts"]) for item in lines]
    tree = shapely.STRtree(geoms)
    a_idx, b_idx = tree.query(geoms, predicate="intersects")
    cuts = {i: [] for i in range(len(lines))}
    for a, b in zip(a_idx, b_idx):
        if a >= b:
            continue
        inter = shapely.intersection(geoms[a], geoms[b])
        pts = []
        for part in shapely.get_parts(inter):
            if part.geom_type == "Point":
                pts.append((part.x, part.y))
            else:  # overlap: split at its end points
                c = np.asarray(part.coords)
                pts += [tuple(c[0]), tuple(c[-1])]
        for pt in pts:
            P = shapely.Point(pt)
            for i in (a, b):
                ends = lines[i]["pts"][[0, -1]]
                if np.min(np.hypot(ends[:, 0] - pt[0], ends[:, 1] - pt[1])) < 0.005:
                    continue
                cuts[i].append((geoms[i].project(P), pt))
    out = []
    for i, item in enumerate(lines):
        if not cuts[i]:
            out.append(item)
            continue
        pts = item["pts"]
        s = _cumlen(pts)
        cs = sorted(set(cuts[i]))
        pieces = []
        cur = [tuple(pts[0])]
        j = 1
        for d, pt in cs:
            while j < len(pts) and s[j] < d - 1e-9:
                cur.append(tuple(pts[j]))
                j += 1
            if j < len(pts) and abs(s[j] - d) < 1e-6:
                j += 1  # vertex coincides with the cut: replace it by the exact point
            cur.append(pt)
            pieces.append(cur)
            cur = [pt]
        cur += [tuple(p) for p in pts[j:]]
        pieces.append(cur)
        for pc in pieces:
            pc = np.asarray(pc)
            if len(pc) >= 2 and _cumlen(pc)[-1] > 0.05:
                d = dict(item)
                d["pts"] = pc
                out.append(d)
    return out


def _old_town_lanes(ctx: Ctx, rng):
    """A small lane grid inside 温泉古镇, narrow and named like old streets."""
    import shapely

    ot = ctx.old_town
    c = ot.centroid
    ang = ctx.old_town_angle
    ca, sa = math.cos(ang), math.sin(ang)
    lanes = []
    k = 0
    for off in (-160.0, 0.0, 150.0):
        a = shapely.LineString([(c.x - 600 * ca - off * sa, c.y - 600 * sa + off * ca),
                                (c.x + 600 * ca - off * sa, c.y + 600 * sa + off * ca)])
        lanes.append((a, OLD_STREETS[k % len(OLD_STREETS)]))
        k += 1
    for off in (-300.0, -120.0, 60.0, 240.0):
        a = shapely.LineString([(c.x + off * ca + 400 * sa, c.y + off * sa - 400 * ca),
                                (c.x + off * ca - 400 * sa, c.y + off * sa + 400 * ca)])
        lanes.append((a, OLD_STREETS[k % len(OLD_STREETS)]))
        k += 1
    out = []
    inner = ot.buffer(-15.0)
    for ln, nm in lanes:
        part = shapely.intersection(ln, inner)
        for p in shapely.get_parts(part):
            if p.length > 40:
                out.append({"pts": np.asarray(p.coords), "cls": "村道", "name": nm, "urban": False,
                            "oldtown": True})
    return out


def _sections(ctx: Ctx, lines, rng):
    """Cut long lines into surveyed sections, give widths, NULLs, one-way streets, narrow bridges."""
    import shapely

    rows = []
    for item in lines:
        pts = item["pts"]
        s = _cumlen(pts)
        L = s[-1]
        cuts = [0]
        if L > 1500 and not item.get("oldtown"):
            target = 0.0
            while True:
                target += float(rng.uniform(300, 1500))
                if target > L - 200:
                    break
                j = int(np.searchsorted(s, target))
                if 0 < j < len(pts) - 1 and j > cuts[-1]:
                    cuts.append(j)
        cuts.append(len(pts) - 1)
        base_w = WIDTH_BY_CLASS[item["cls"]](rng)
        if item.get("urban"):
            base_w = rng.uniform(14.0, 24.0) if item["cls"] == "县道" else rng.uniform(6.0, 12.0)
        if item.get("oldtown"):
            base_w = float(rng.choice([2.5, 3.0, 3.5, 4.5, 6.0]))
        for a, b in zip(cuts[:-1], cuts[1:]):
            w = base_w * rng.uniform(0.9, 1.1) if a > 0 else base_w
            rows.append({"pts": pts[a: b + 1], "cls": item["cls"], "name": item["name"], "width": round(float(w), 1),
                         "oneway": 0, "urban": item.get("urban", False), "spur": item.get("spur", False),
                         "oldtown": item.get("oldtown", False), "bridge": False})
    # narrow bridges / segments on the only way to some villages: pick village-road sections that are
    # graph bridges and cut a 30-80 m narrow piece out of the middle
    import networkx as nx

    Gx = nx.Graph()
    for i, r in enumerate(rows):
        a, b = tuple(np.round(r["pts"][0], 3)), tuple(np.round(r["pts"][-1], 3))
        Gx.add_edge(a, b, idx=i)
    bridges = set()
    for a, b in nx.bridges(Gx):
        bridges.add(Gx.edges[a, b]["idx"])
    cand = [i for i in sorted(bridges) if rows[i]["cls"] in ("村道", "乡道") and not rows[i]["spur"]
            and not rows[i]["oldtown"] and 150 < _cumlen(rows[i]["pts"])[-1] < 3000]
    pick = sorted(rng.choice(len(cand), size=min(28, len(cand)), replace=False)) if cand else []
    new = []
    for k, ci in enumerate(pick):
        r = rows[cand[ci]]
        pts = r["pts"]
        s = _cumlen(pts)
        L = s[-1]
        blen = float(rng.uniform(30, 80))
        s0 = float(rng.uniform(0.3, 0.6)) * L
        line = shapely.LineString(pts)
        p0, p1 = line.interpolate(s0), line.interpolate(s0 + blen)
        before = np.vstack([pts[s < s0], [[p0.x, p0.y]]])
        mid = np.vstack([[[p0.x, p0.y]], pts[(s > s0) & (s < s0 + blen)], [[p1.x, p1.y]]])
        after = np.vstack([[[p1.x, p1.y]], pts[s > s0 + blen]])
        r["pts"] = before
        nm = (r["name"] or "无名").removesuffix("道路").removesuffix("公路")
        w = round(float(rng.uniform(1.2, 2.9) if k % 3 else rng.uniform(3.0, 3.8)), 1)
        new.append(dict(r, pts=mid, width=w, name=nm + "便桥", bridge=True))
        new.append(dict(r, pts=after))
    rows += new
    # one-way streets in the urban area
    urb = [i for i, r in enumerate(rows) if r["urban"] and r["cls"] == "乡道"]
    for i in sorted(rng.choice(len(urb), size=min(8, len(urb)), replace=False)):
        rows[urb[i]]["oneway"] = 1
    # ~5 % unknown widths (never on the narrow bridges, they are the point of the exercise)
    for r in rows:
        if not r["bridge"] and rng.random() < 0.05:
            r["width"] = None
    # make sure every width band occurs
    return rows


def _road_tree(ctx):
    import shapely

    geoms = [shapely.LineString(r["pts"]) for r in ctx.roads]
    return geoms, shapely.STRtree(geoms)


def _engine_grades(ctx, geoms):
    """Steepest grade (%) of each line as :meth:`kzgis.terrain.DEM.grades` measures it.

    Runs of two DEM cells (the line cut into ``ceil(length / 150 m)`` equal runs), bilinear elevations.
    """
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    L = shapely.length(geoms)
    nseg = np.maximum(np.ceil(L / (2.0 * CELL)).astype(int), 1)
    starts = np.concatenate([[0], np.cumsum(nseg + 1)[:-1]])
    idx = np.repeat(np.arange(len(geoms)), nseg + 1)
    frac = (np.arange(idx.size) - starts[idx]) / nseg[idx]
    xy = shapely.get_coordinates(shapely.line_interpolate_point(geoms[idx], frac, normalized=True))
    z = ctx.grid.sample(ctx.dem, xy[:, 0], xy[:, 1])
    same = idx[1:] == idx[:-1]
    run = (L / nseg)[idx[1:]]
    g = np.where(same & (run > 0), np.abs(np.diff(z)) / np.where(run > 0, run, 1.0) * 100.0, 0.0)
    out = np.zeros(len(geoms))
    np.maximum.at(out, idx[1:], g)
    return out


def _vehicle_classes(ctx, margin_pct=0.5):
    """Best fire-vehicle class of each road row as the network engine rates it with its defaults.

    ``standard`` (width >= 4.0 m, grade <= 10 %), ``small`` (>= 3.0 m, <= 15 %), else ``other``;
    a missing width counts as the class default (kzgis.network.DEFAULT_WIDTH_M); grades must clear
    the limits by ``margin_pct`` so that a facility placed here stays on a usable road.
    """
    import shapely

    from kzgis import rules
    from kzgis.network import DEFAULT_WIDTH_M

    g = _engine_grades(ctx, [shapely.LineString(r["pts"]) for r in ctx.roads])
    w = np.array([DEFAULT_WIDTH_M[r["cls"]] if r["width"] is None else r["width"] for r in ctx.roads], dtype=float)
    out = np.full(len(w), "other", dtype=object)
    small = (w >= rules.value("small_truck_width_m")) & (g <= rules.value("small_truck_grade_max_pct") - margin_pct)
    std = (w >= rules.value("truck_road_width_m")) & (g <= rules.value("truck_grade_max_pct") - margin_pct)
    out[small] = "small"
    out[std] = "standard"
    return out
