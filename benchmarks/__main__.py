"""Benchmarks of the road network engine against plain networkx (``python -m benchmarks``).

Not a test: it prints timings, speed-up ratios and peak memory. On a synthetic network of about
100,000 nodes (a jittered 316 x 316 grid of 100 m blocks in EPSG:4545, mixed widths, classes and
one-way streets):

1. **8 stations, 30 min cut-off**: :meth:`RoadNetwork.costs_from` (one compiled call, sources
   part-way along edges) against networkx ``single_source_dijkstra_path_length`` with ``cutoff``
   from each station's nearest node. Target: >= 20x.
2. **150 m network coverage from 5,000 points**: :meth:`RoadNetwork.nearest_source` (one
   multi-source run) plus :meth:`RoadNetwork.reached_pieces` (edges cut exactly at 150 m) against
   networkx ``ego_graph(radius=150, distance="length_m")`` per point from its nearest node.
   Target: >= 50x. When the full networkx baseline would take more than ``--max-baseline-s``
   seconds, a random sample of the per-point runs is timed and extrapolated, and the output says so.

Options: ``--nodes N`` (default 100000), ``--points N`` (5000), ``--max-baseline-s S`` (120),
``--seed N``.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from kzgis.network import RoadNetwork

X0, Y0 = 520000.0, 3430000.0


def synthetic_roads(n_nodes: int, seed: int) -> gpd.GeoDataFrame:
    """A jittered grid of about ``n_nodes`` nodes, 100 m blocks, with a mix of road classes."""
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n_nodes)))
    step = 100.0
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = X0 + ii * step + rng.uniform(-20, 20, ii.shape)
    y = Y0 + jj * step + rng.uniform(-20, 20, jj.shape)
    a_h = (ii[:-1, :].ravel(), jj[:-1, :].ravel())
    b_h = (ii[1:, :].ravel(), jj[1:, :].ravel())
    a_v = (ii[:, :-1].ravel(), jj[:, :-1].ravel())
    b_v = (ii[:, 1:].ravel(), jj[:, 1:].ravel())
    ai = np.concatenate([a_h[0], a_v[0]])
    aj = np.concatenate([a_h[1], a_v[1]])
    bi = np.concatenate([b_h[0], b_v[0]])
    bj = np.concatenate([b_h[1], b_v[1]])
    m = len(ai)
    # drop 8 % of the blocks' sides so the grid is not perfect
    keep = rng.random(m) > 0.08
    ai, aj, bi, bj = ai[keep], aj[keep], bi[keep], bj[keep]
    m = len(ai)
    mid_x = (x[ai, aj] + x[bi, bj]) / 2 + rng.uniform(-10, 10, m)
    mid_y = (y[ai, aj] + y[bi, bj]) / 2 + rng.uniform(-10, 10, m)
    coords = np.stack([np.stack([x[ai, aj], y[ai, aj]], 1), np.stack([mid_x, mid_y], 1),
                       np.stack([x[bi, bj], y[bi, bj]], 1)], 1).reshape(-1, 2)
    lines = shapely.linestrings(coords, indices=np.repeat(np.arange(m), 3))
    cls = rng.choice(["县道", "乡道", "村道", "村道", "机耕道"], m)
    width = np.round(rng.choice([2.5, 3.0, 3.5, 4.0, 4.5, 6.0, 7.0], m), 1)
    width[cls == "县道"] = 7.0
    oneway = rng.random(m) < 0.05
    return gpd.GeoDataFrame({"road_class": cls, "width_m": width, "oneway": oneway}, geometry=lines,
                            crs="EPSG:4545")


def nx_graph(net: RoadNetwork, vehicle_class: str, weight: str) -> nx.DiGraph:
    """A plain networkx DiGraph with one weight (the cheapest of parallel edges)."""
    w = net.edge_weights(vehicle_class, weight)
    e = np.flatnonzero(np.isfinite(w))
    u, v, ow = net.edges["u"].to_numpy()[e], net.edges["v"].to_numpy()[e], net.edges["oneway"].to_numpy()[e]
    G = nx.DiGraph()
    G.add_nodes_from(range(net.n_nodes))
    arcs = list(zip(u.tolist(), v.tolist(), w[e].tolist())) + \
        list(zip(v[~ow].tolist(), u[~ow].tolist(), w[e][~ow].tolist()))
    arcs.sort(key=lambda t: -t[2])  # the last added (cheapest) wins for parallel arcs
    G.add_weighted_edges_from(arcs, weight=weight)
    return G


def nearest_nodes(net: RoadNetwork, points) -> np.ndarray:
    tree = shapely.STRtree(np.asarray(net.nodes.geometry.values, dtype=object))
    return tree.nearest(np.asarray(points, dtype=object))


def timed(fn, *args, **kw):
    """(result, seconds). Timed without tracemalloc, which would slow Python-level code."""
    gc.collect()
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def peak_mib(fn, *args, **kw) -> float:
    """Peak memory traced by tracemalloc (numpy buffers included) during a second run of ``fn``."""
    gc.collect()
    tracemalloc.start()
    fn(*args, **kw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def random_points(net: RoadNetwork, k: int, rng) -> gpd.GeoSeries:
    b = net.edges.total_bounds
    return gpd.GeoSeries(shapely.points(rng.uniform(b[0], b[2], k), rng.uniform(b[1], b[3], k)), crs=net.crs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--max-baseline-s", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    out = []

    def say(msg=""):
        print(msg, flush=True)
        out.append(msg)

    say(f"kzgis network benchmark (seed {a.seed})")
    roads = synthetic_roads(a.nodes, a.seed)
    net, dt = timed(RoadNetwork.from_roads, roads)
    mem = peak_mib(RoadNetwork.from_roads, roads)
    say(f"build: {len(roads):,} road lines -> {net.n_nodes:,} nodes, {len(net.edges):,} edges in {dt:.2f} s "
        f"(peak traced {mem:.0f} MiB)")

    # 1. eight stations, 30 min --------------------------------------------------------------
    vc = "standard"
    stations = random_points(net, 8, rng)
    G = nx_graph(net, vc, "time_min")

    def ours_stations():
        sn = net.snap(stations, vc)
        return net.costs_from(sn, vc, "time_min", limit=30.0)

    net._cache.pop("graphs", None)  # count building the class graph in our time
    costs, t_ours = timed(ours_stations)
    m_ours = peak_mib(ours_stations)
    src_nodes = nearest_nodes(net, stations.values)
    ours_stations()  # warm: the class graph and the snapping index are built once per network
    costs, t_warm = timed(ours_stations)

    def nx_stations():
        nodes = nearest_nodes(net, stations.values)
        return [nx.single_source_dijkstra_path_length(G, int(s), cutoff=30.0, weight="time_min") for s in nodes]

    ref, t_nx = timed(nx_stations)
    m_nx = peak_mib(lambda: nx.single_source_dijkstra_path_length(G, int(src_nodes[0]), cutoff=30.0,
                                                                  weight="time_min"))
    reached_ours = int(np.isfinite(np.asarray(costs)).sum())
    reached_nx = sum(len(r) for r in ref)
    say("")
    say("1. 8 stations, standard trucks, 30 min cut-off")
    say(f"   kzgis costs_from (one csgraph call, mid-edge sources): {t_ours:.3f} s, peak traced {m_ours:.0f} MiB,"
        f" {reached_ours:,} (station, node) pairs reached")
    say(f"   networkx single_source_dijkstra_path_length x 8:      {t_nx:.3f} s, peak traced {m_nx:.0f} MiB"
        " (one source),"
        f" {reached_nx:,} pairs")
    say(f"   kzgis again with the class graph and snapping index built (as networkx's G is):  {t_warm:.3f} s")
    say(f"   speed-up: {t_nx / t_ours:.1f}x cold, {t_nx / t_warm:.1f}x warm (target >= 20x)")

    # 2. 150 m coverage from 5,000 points ----------------------------------------------------------
    vc2 = "motorcycle"
    pts = random_points(net, a.points, rng)
    G2 = nx_graph(net, vc2, "length_m")

    def ours_cover():
        sn = net.snap(pts, vc2)
        cost, _ = net.nearest_source(sn, vc2, "length_m", limit=150.0)
        return net.reached_pieces(cost, 150.0, vc2, "length_m")

    net._cache.pop("graphs", None)
    pieces, t_ours2 = timed(ours_cover)
    m_ours2 = peak_mib(ours_cover)

    def ours_nodes():
        sn = net.snap(pts, vc2)
        return net.nearest_source(sn, vc2, "length_m", limit=150.0)

    (cost_nodes, _), t_nodes = timed(ours_nodes)
    nodes = nearest_nodes(net, pts.values)
    ours_cover()
    _, t_warm2 = timed(ours_cover)

    def nx_one(s):
        return nx.ego_graph(G2, int(s), radius=150.0, distance="length_m")

    t0 = time.perf_counter()
    probe = [nx_one(s) for s in nodes[:50]]
    per = (time.perf_counter() - t0) / 50
    del probe
    if per * len(nodes) <= a.max_baseline_s:
        egos, t_nx2 = timed(lambda: [nx_one(s) for s in nodes])
        covered_nx = len(set().union(*[set(g) for g in egos]))
        del egos
        how = f"all {len(nodes):,} runs timed"
    else:
        k = max(200, int(a.max_baseline_s / per / 4))
        sample = rng.choice(nodes, size=min(k, len(nodes)), replace=False)
        _, t_s = timed(lambda: [nx_one(s) for s in sample])
        covered_nx = None
        t_nx2 = t_s / len(sample) * len(nodes)
        how = f"EXTRAPOLATED from a random sample of {len(sample):,} of the {len(nodes):,} runs"
    say("")
    say(f"2. 150 m network coverage from {a.points:,} points, fire motorcycles")
    say(f"   kzgis snap + nearest_source + reached_pieces (exact cut): {t_ours2:.3f} s, peak traced "
        f"{m_ours2:.0f} MiB, {len(pieces):,} pieces, {pieces.length.sum() / 1000:.1f} km covered")
    m_nx2 = peak_mib(lambda: [nx_one(s) for s in nodes[:50]])
    say(f"   kzgis again, warm: {t_warm2:.3f} s")
    say(f"   kzgis snap + nearest_source only (covered nodes, the output networkx gives): {t_nodes:.3f} s, "
        f"{int(np.isfinite(np.asarray(cost_nodes)).sum()):,} nodes covered")
    say(f"   networkx ego_graph per point (nearest node, no cut):        {t_nx2:.3f} s ({how}), "
        f"peak traced {m_nx2:.0f} MiB (50 points)" + (f", {covered_nx:,} nodes covered" if covered_nx else ""))
    say(f"   speed-up with exact pieces: {t_nx2 / t_ours2:.1f}x cold, {t_nx2 / t_warm2:.1f}x warm; covered nodes "
        f"only: {t_nx2 / t_nodes:.1f}x (target >= 50x)")
    try:
        import os

        say(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say("")
    say(f"peak resident memory of the whole run: {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
