"""The upgrade list (access) and the route arrays it reads, against plain reference computations.

``upgrade_list`` picks each project from all routes at once (arrays); here the greedy choice is
made the plain way, one route at a time in Python (the implementation before issue 14), on small
random road grids with parallel roads, one-way roads, ties in population and length, and the
results must be the same exactly. ``route_edge_arrays`` must give the routes of ``route_edges``
and their costs must be networkx's.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from _build import CRS, L, P

from kzgis.analyses.access import AccessParams, upgrade_list
from kzgis.network import RoadNetwork


def grid_world(seed: int, n: int = 6, step: float = 100.0):
    """Roads on an n x n grid (random gaps, widths, one-way roads, a few parallel roads), 1-2
    stations and ~15 settlements with small integer populations (ties)."""
    rng = np.random.default_rng(seed)
    lines, widths, oneway = [], [], []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= n or j + dj >= n or rng.random() < 0.15:
                    continue
                a, b = (i * step, j * step), ((i + di) * step, (j + dj) * step)
                copies = 2 if rng.random() < 0.08 else 1
                for c in range(copies):
                    # a parallel road bends a little (a different length) or runs the same line
                    mid = ((a[0] + b[0]) / 2 + (15.0 * c * dj), (a[1] + b[1]) / 2 + (15.0 * c * di))
                    lines.append(L(a, mid, b) if c else L(a, b))
                    widths.append(float(rng.choice([2.5, 3.0, 3.5, 4.5, 6.0], p=[0.15, 0.3, 0.2, 0.15, 0.2])))
                    oneway.append("yes" if rng.random() < 0.07 else "no")
    roads = gpd.GeoDataFrame({"width_m": widths, "oneway": oneway, "name": [f"R{k % 7}" for k in range(len(lines))]},
                             geometry=lines, crs=CRS)
    k = int(rng.integers(1, 3))
    st = gpd.GeoSeries([P(*(rng.integers(0, n, 2) * step)) for _ in range(k)], crs=CRS)
    m = 15
    se_xy = rng.uniform(0, (n - 1) * step, (m, 2))
    se = gpd.GeoSeries([P(x, y) for x, y in se_xy], crs=CRS, index=pd.RangeIndex(100, 100 + m))
    pop = rng.integers(1, 4, m).astype(float) * 10
    return roads, st, se, pop


def reference_upgrades(net, st_geoms, se_geoms, weight, already, p):
    """The greedy list as it was written first: a Python loop over the routes of every round."""
    ed = net.edges
    width = ed["width_m"].to_numpy(float).copy()
    g = ed["grade_max_pct"].to_numpy(float)
    barred = np.isin(ed["road_class"].to_numpy(object), net.params.barred_classes)
    eligible = ~barred & ~(g > net.params.standard_grade_max_pct) & (width >= p.upgrade_min_width_m)
    std_w = net.params.standard_width_m
    target_w = max(p.upgrade_width_m, std_w)
    length = net.edge_length_m

    def restrict(s, w):
        s = s.copy()
        ok = s["ok"].to_numpy(bool)
        s["ok"] = ok & np.isfinite(w[np.where(ok, s["edge"].to_numpy(), 0).astype(np.int64)])
        return s

    st = net.snap(st_geoms, mask=eligible)
    se = net.snap(se_geoms, mask=eligible)
    reached = np.asarray(already, bool).copy()
    rank_of = np.zeros(len(se), dtype=np.int64)
    projects = []
    for rank in range(1, p.max_upgrades + 1):
        todo = ~reached & se["ok"].to_numpy(bool)
        if not todo.any():
            break
        wup = np.where(eligible, np.where(width >= std_w - 1e-9, length * 1e-6, length), np.nan)
        r = net.route_edges(restrict(st, wup), se[todo], None, weights=wup)
        has = np.isfinite(r["cost"].to_numpy())
        if not has.any():
            break
        narrow = width < std_w - 1e-9
        routes = [tuple(e for e in edges if narrow[e]) for edges in r["edges"]]
        tw = weight[todo]
        last = np.array([pp[-1] if pp else -1 for pp in routes], dtype=np.int64)
        by_last = np.bincount(last[last >= 0], weights=tw[last >= 0], minlength=len(width))
        best, best_key = None, None
        for j in np.flatnonzero(has):
            if not routes[j]:
                continue
            ue = np.unique(routes[j])
            benefit = float(by_last[ue].sum())
            km = length[ue].sum() / 1000.0
            score = benefit / km if p.rank_by == "per_km" and km > 0 else benefit
            key = (score, -km, -j)
            if best_key is None or key > best_key:
                best, best_key = j, key
        if best is None:
            break
        proj = np.array(sorted(set(routes[best])), dtype=np.int64)
        old_w = width[proj].copy()
        width[proj] = np.maximum(width[proj], target_w)
        wnow = np.where(eligible & (width >= std_w - 1e-9), length, np.nan)
        now = net.nearest_source_to(restrict(st, wnow), restrict(se, wnow), None, weights=wnow)
        newly = np.isfinite(now["cost"].to_numpy()) & ~reached
        if not newly.any():
            width[proj] = old_w
            break
        reached |= newly
        rank_of[newly] = rank
        projects.append((",".join(map(str, proj)), int(newly.sum()), float(weight[newly].sum()),
                         float(length[proj].sum())))
    return projects, rank_of


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("rank_by", ["per_km", "total"])
def test_upgrade_list_equals_the_route_by_route_greedy(seed, rank_by):
    roads, st, se, pop = grid_world(seed)
    net = RoadNetwork.from_roads(roads)
    p = AccessParams(rank_by=rank_by, max_upgrades=8)
    already = np.zeros(len(se), dtype=bool)
    already[::5] = True
    up, rank_of = upgrade_list(net, st, se, pop, already, p)
    want, want_rank = reference_upgrades(net, st, se, pop, already, p)
    got = [(e, int(s), float(w), float(m)) for e, s, w, m in
           zip(up["edges"], up["settlements_unlocked"], up["population_unlocked"], up["length_m"])]
    assert got == want
    assert rank_of.to_numpy().tolist() == want_rank.tolist()


def test_the_random_worlds_do_exercise_the_greedy():
    """Guard against a generator whose worlds make the comparison above vacuous."""
    lengths = []
    for seed in range(24):
        roads, st, se, pop = grid_world(seed)
        up, _ = upgrade_list(RoadNetwork.from_roads(roads), st, se, pop, np.zeros(len(se), bool),
                             AccessParams(max_upgrades=8))
        lengths.append(len(up))
    assert sum(x >= 2 for x in lengths) >= 12 and max(lengths) >= 4


@pytest.mark.parametrize("seed", range(12))
def test_route_arrays_are_the_routes_and_their_costs_are_networkx(seed):
    roads, st, se, _ = grid_world(seed, n=7)
    net = RoadNetwork.from_roads(roads)
    rng = np.random.default_rng(seed)
    # integer weights: many equal-cost routes and parallel roads of equal cost
    w = np.round(net.edge_length_m / 50.0) + rng.integers(0, 2, len(net.edge_length_m))
    w[rng.random(len(w)) < 0.05] = np.nan
    mask = np.isfinite(w)
    sn = net.snap(st, mask=mask)
    tg = net.snap(se, mask=mask)
    r = net.route_edges(sn, tg, None, weights=w)
    cost, source, ptr, flat = net.route_edge_arrays(sn, tg, None, weights=w)
    assert np.array_equal(cost, r["cost"].to_numpy()) and np.array_equal(source, r["source"].to_numpy())
    assert [flat[a:b].tolist() for a, b in zip(ptr[:-1], ptr[1:])] == list(r["edges"])
    # each route is a connected chain of open edges whose cost is the networkx distance between
    # the snapped points (points on edges become nodes splitting them)
    G = nx.MultiDiGraph()
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    ow = net.edges["oneway"].to_numpy(bool)
    for e in np.flatnonzero(mask):
        G.add_edge(int(u[e]), int(v[e]), weight=w[e])
        if not ow[e]:
            G.add_edge(int(v[e]), int(u[e]), weight=w[e])

    def split(G, name, edge, off):
        frac = min(max(off / net.edge_length_m[edge], 0.0), 1.0)
        G.add_edge(int(u[edge]), name, weight=frac * w[edge])
        G.add_edge(name, int(v[edge]), weight=(1 - frac) * w[edge])
        if not ow[edge]:
            G.add_edge(name, int(u[edge]), weight=frac * w[edge])
            G.add_edge(int(v[edge]), name, weight=(1 - frac) * w[edge])

    checked = 0
    for i in np.flatnonzero(tg["ok"].to_numpy()):
        H = G.copy()
        split(H, "t", int(tg["edge"].iloc[i]), float(tg["offset_m"].iloc[i]))
        for k in np.flatnonzero(sn["ok"].to_numpy()):
            split(H, ("s", k), int(sn["edge"].iloc[k]), float(sn["offset_m"].iloc[k]))
            H.add_edge("S", ("s", k), weight=0.0)
        try:
            want = nx.shortest_path_length(H, "S", "t", weight="weight")
        except nx.NetworkXNoPath:
            want = np.inf
        if np.isfinite(want) and sn["edge"].iloc[source[i]] == tg["edge"].iloc[i]:
            continue  # same-edge shortcut: not a graph path in this construction when one-way
        assert cost[i] == pytest.approx(want, abs=1e-9)
        edges = flat[ptr[i]:ptr[i + 1]]
        if np.isfinite(cost[i]):
            assert np.isfinite(w[edges]).all()
            assert edges[0] == sn["edge"].iloc[source[i]] and edges[-1] == tg["edge"].iloc[i]
            for a, b in zip(edges[:-1], edges[1:]):  # consecutive edges share a node
                assert {u[a], v[a]} & {u[b], v[b]}
            checked += 1
    assert checked >= 5


def test_parallel_roads_route_over_the_cheaper_one():
    # a bent road and a straight road between the same two nodes: the route takes the straight one,
    # whichever of the two comes first in the layer
    for bent_first in (True, False):
        pair = [L((100, 0), (150, 40), (200, 0)), L((100, 0), (200, 0))]
        roads = gpd.GeoDataFrame({"width_m": [6.0] * 4},
                                 geometry=[L((0, 0), (100, 0))] + (pair if bent_first else pair[::-1])
                                 + [L((200, 0), (300, 0))], crs=CRS)
        net = RoadNetwork.from_roads(roads)
        sn = net.snap(gpd.GeoSeries([P(0, 0)], crs=CRS), "standard")
        tg = net.snap(gpd.GeoSeries([P(250, 0)], crs=CRS), "standard")
        cost, _, ptr, flat = net.route_edge_arrays(sn, tg, "standard", "length_m")
        assert cost[0] == pytest.approx(250.0)
        assert net.edge_length_m[flat[ptr[0]:ptr[1]]].tolist() == pytest.approx([100.0, 100.0, 100.0])
