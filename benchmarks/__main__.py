"""Benchmarks of the road network engine against plain networkx, and of the demo run (``python -m benchmarks``).

Not a test: it prints timings, speed-up ratios and peak memory. ``make bench`` runs it.

**Network** (issue 3): a synthetic network of about 100,000 nodes (a jittered 316 x 316 grid of
100 m blocks in EPSG:4545, 8 % of the block sides missing, mixed widths and classes, 5 % one-way).
Both sides are timed in the same run, each the median of ``--repeat`` runs (the networkx
5,000-point coverage ``--repeat-nx`` runs), in two regimes: *back-to-back* (repetitions in a row,
as ``timeit`` does) and *interleaved* (each run after a run of the other functions, so with cold
processor caches, as in a real pipeline); see :func:`measure`. Nothing is kept between
repetitions except what each side builds once per network (below).

One-offs, timed separately and in no ratio: networkx builds a ``DiGraph`` per vehicle class (one
weight, the cheapest of parallel arcs) and a KD-tree of the nodes that have an arc in it (for the
nearest node); kzgis builds the class's CSR graph, its snapping index and the flattened edge
coordinates (:meth:`RoadNetwork.prepare`). The network itself (:meth:`RoadNetwork.from_roads`) is
built once for both.

1. **8 stations, standard trucks, 30 min cut-off** - the cost from each station to every node it
   reaches within 30 min (one row per station).
   A. *from the station points*: kzgis ``snap`` + ``costs_from(limit=30)`` (one csgraph call;
      each station starts at its exact point part-way along its edge) against networkx: nearest
      node (KD-tree) + ``single_source_dijkstra_path_length(cutoff=30)`` per station.
   B. *same start, same answer*: both start at the same nearest nodes (kzgis ``costs_from`` with
      sources placed on those nodes); the reached pairs and costs are checked to be equal.
   Target: >= 20x.
2. **150 m network coverage from 5,000 random points, fire motorcycles** (length in metres).
   networkx per point from its nearest node (KD-tree): ``ego_graph(radius=150,
   distance="length_m")`` (the issue's baseline), and the lighter
   ``single_source_dijkstra_path_length(cutoff=150)``; the covered nodes are the union (each
   point's result is dropped once its nodes are added: keeping 5,000 subgraphs alive in a list
   would slow networkx down with memory and garbage-collector work, an unfair baseline).
   kzgis from the exact snapped points: ``snap`` + ``nearest_source(limit=150)`` gives the
   covered nodes with the cost to and the nearest point of each (the output networkx gives, and
   more); ``+ reached_pieces(geometry=False)`` the exact covered extent of every edge, cut where
   150 m runs out; ``+ reached_pieces()`` also those cut lines as geometries. B: covered nodes with
   both sides from the same nearest nodes, checked equal. Target: >= 50x.

**Demo** (issue 9, :mod:`benchmarks.bench_demo`): the wall time of ``kzgis demo`` (the command
``make demo`` runs) in a fresh process on the embedded Kaizhou data, with its step timings from
``summary.json``. Target: well under a minute.

3. **Peers** (issue 14): pandana (contraction hierarchies, the accessibility tool urban planners
   use) and igraph beside networkx and kzgis, on the same directed graph (the arcs networkx gets)
   and the B queries of 1 and 2 (from the same nearest nodes): pandana ``nodes_in_range`` (its
   contraction-hierarchy preprocessing timed apart, in no ratio; minutes given to it as seconds
   because it keeps weights to 0.001), igraph ``distances`` (no cut-off in igraph: all nodes, then
   <= 30 min; the coverage as one Dijkstra from a super source tied to the 5,000 start nodes). The
   answers are checked against networkx's; ratios printed in the same run.

**Batch** (issue 15, :mod:`benchmarks.bench_batch`): 4 copies of the demo recipe, ``kzgis run``
four times in a row against one ``kzgis batch --workers 2``; prints the speed-up. ``--no-batch``
skips it.

Options: ``--nodes N`` (default 100000), ``--points N`` (5000), ``--repeat N`` (5),
``--repeat-nx N`` (3), ``--seed N``, ``--demo`` (the demo run only), ``--no-demo`` (the network
only), ``--no-peers`` (without pandana and igraph).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import sys
import time
import tracemalloc

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

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


class NearestNode:
    """networkx's side of "start at the nearest node": a KD-tree of the nodes with an arc in G."""

    def __init__(self, net: RoadNetwork, G: nx.DiGraph):
        self.ids = np.array([n for n in G.nodes if G.degree(n) > 0], dtype=np.int64)
        self.tree = cKDTree(net.nodes[["x", "y"]].to_numpy(float)[self.ids])

    def __call__(self, points) -> np.ndarray:
        xy = shapely.get_coordinates(np.asarray(points, dtype=object))
        return self.ids[self.tree.query(xy)[1]]


def at_nodes(net: RoadNetwork, nodes, vehicle_class: str) -> pd.DataFrame:
    """A snapped frame (as ``net.snap`` returns) placing each source exactly on a node.

    On an allowed edge leaving the node (offset 0), else one arriving at it (offset = length):
    from there kzgis's costs equal a plain Dijkstra from the node.
    """
    e_ok = np.flatnonzero(net.allowed(vehicle_class))
    u, v, L = net.edge_u[e_ok], net.edge_v[e_ok], net.edge_length_m[e_ok]
    first_u = pd.Series(np.arange(len(e_ok))).groupby(u).first()
    first_v = pd.Series(np.arange(len(e_ok))).groupby(v).first()
    edge, off = [], []
    for x in np.asarray(nodes).tolist():
        if x in first_u.index:
            i = first_u[x]
            edge.append(e_ok[i]), off.append(0.0)
        else:
            i = first_v[x]
            edge.append(e_ok[i]), off.append(L[i])
    xy = net.nodes[["x", "y"]].to_numpy(float)[np.asarray(nodes)]
    return pd.DataFrame({"edge": np.array(edge, np.int64), "offset_m": off, "snap_m": 0.0, "x": xy[:, 0],
                         "y": xy[:, 1], "ok": True})


def measure(fns: dict, repeat: dict) -> dict:
    """Median seconds of each function in two regimes: {name: (last result, back-to-back, interleaved)}.

    *back-to-back*: after one untimed warm-up, ``repeat[name]`` runs in a row (as ``timeit`` does;
    the processor caches hold what the previous run left). *interleaved*: rounds of one run of
    each function in turn, so every run follows other work (the other side's) with cold caches, as
    a call in a real pipeline does. Nothing computed by one run is given to the next.
    """
    out, b2b, inter = {}, {}, {k: [] for k in fns}
    for k, fn in fns.items():
        fn()
        ts = []
        for _ in range(repeat[k]):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        b2b[k] = float(np.median(ts))
    for r in range(max(repeat.values())):
        for k, fn in fns.items():
            if r < repeat[k]:
                out[k] = None
                t = time.perf_counter()
                out[k] = fn()
                inter[k].append(time.perf_counter() - t)
    return {k: (out[k], b2b[k], float(np.median(inter[k]))) for k in fns}


def peak_mib(fn) -> float:
    """Peak memory traced by tracemalloc (numpy buffers included) during one more run of ``fn``."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def random_points(net: RoadNetwork, k: int, rng) -> gpd.GeoSeries:
    b = net.edges.total_bounds
    return gpd.GeoSeries(shapely.points(rng.uniform(b[0], b[2], k), rng.uniform(b[1], b[3], k)), crs=net.crs)


def ms(t: float) -> str:
    return f"{t * 1000:8.1f} ms"


def network_benchmark(a) -> int:
    rng = np.random.default_rng(a.seed)

    def say(msg=""):
        print(msg, flush=True)

    say(f"kzgis network benchmark (seed {a.seed}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the start; medians of {a.repeat} runs, networkx coverage {a.repeat_nx})")
    roads = synthetic_roads(a.nodes, a.seed)
    t = time.perf_counter()
    net = RoadNetwork.from_roads(roads)
    dt = time.perf_counter() - t
    say(f"network: {len(roads):,} road lines -> {net.n_nodes:,} nodes, {len(net.edges):,} edges in {dt:.2f} s "
        "(RoadNetwork.from_roads, shared by both sides)")
    stations = random_points(net, 8, rng)
    pts = random_points(net, a.points, rng)

    # one-offs ---------------------------------------------------------------------------------
    say("")
    say("one-offs per vehicle class (not in any ratio):")
    one = {}
    for vc, wt in (("standard", "time_min"), ("motorcycle", "length_m")):
        t = time.perf_counter()
        G = nx_graph(net, vc, wt)
        t_g = time.perf_counter() - t
        t = time.perf_counter()
        near = NearestNode(net, G)
        t_k = time.perf_counter() - t
        m_g = peak_mib(lambda: nx_graph(net, vc, wt))
        net._cache.clear()
        t = time.perf_counter()
        net.prepare(vc, wt)
        t_p = time.perf_counter() - t
        net._cache.clear()
        m_p = peak_mib(lambda: net.prepare(vc, wt))
        one[vc] = (G, near)
        say(f"   {vc:10s} networkx DiGraph {t_g:5.2f} s (peak traced {m_g:4.0f} MiB) + nodes KD-tree {t_k:5.2f} s | "
            f"kzgis prepare (CSR graph, snapping index, edge coordinates) {t_p:5.2f} s (peak traced {m_p:4.0f} MiB)")

    # 1. eight stations, 30 min ---------------------------------------------------------------
    vc = "standard"
    G, near = one[vc]
    lim = 30.0

    def ours_a():
        sn = net.snap(stations, vc)
        return net.costs_from(sn, vc, "time_min", limit=lim)

    def nx_a():
        return [nx.single_source_dijkstra_path_length(G, int(s), cutoff=lim, weight="time_min")
                for s in near(stations.values)]

    src_nodes = near(stations.values)
    at = at_nodes(net, src_nodes, vc)

    def ours_b():
        return net.costs_from(at, vc, "time_min", limit=lim)

    def nx_b():
        return [nx.single_source_dijkstra_path_length(G, int(s), cutoff=lim, weight="time_min") for s in src_nodes]

    R, Rx = a.repeat, a.repeat_nx
    r = measure({"ours_a": ours_a, "nx_a": nx_a, "ours_b": ours_b, "nx_b": nx_b},
                {"ours_a": R, "nx_a": R, "ours_b": R, "nx_b": R})
    costs_a, costs_b, ref_b = np.asarray(r["ours_a"][0]), np.asarray(r["ours_b"][0]), r["nx_b"][0]
    # B: the same answer?
    same_b, maxdiff = True, 0.0
    for i, d in enumerate(ref_b):
        got = np.flatnonzero(np.isfinite(costs_b[i]))
        keys = np.fromiter(d.keys(), dtype=np.int64, count=len(d))
        if len(got) != len(keys) or not np.array_equal(np.sort(keys), got):
            same_b = False
            continue
        maxdiff = max(maxdiff, float(np.abs(costs_b[i][keys] - np.fromiter(d.values(), float, len(d))).max()))
    m_ours = peak_mib(ours_a)
    m_nx = peak_mib(nx_a)

    def row(label, t, extra=""):
        say(f"      {label:62s} {ms(t[1])} {ms(t[2])}  {extra}")

    def ratio(label, nx_t, our_t, target):
        say(f"      {label:62s} {nx_t[1] / our_t[1]:9.1f}x {nx_t[2] / our_t[2]:9.1f}x  (target >= {target}x)")

    say("")
    say(f"1. 8 stations, standard trucks, {lim:g} min cut-off: cost from each station to every node it reaches")
    say(f"      {'':62s} {'back-to-back':>11s} {'interleaved':>11s}")
    say("   A. from the station points")
    row("kzgis snap + costs_from (exact points part-way along edges)", r["ours_a"],
        f"peak traced {m_ours:.0f} MiB, {int(np.isfinite(costs_a).sum()):,} (station, node) pairs")
    row("networkx nearest node + single_source_dijkstra_path_length x 8", r["nx_a"],
        f"peak traced {m_nx:.0f} MiB, {sum(len(d) for d in r['nx_a'][0]):,} pairs")
    ratio("speed-up", r["nx_a"], r["ours_a"], 20)
    say("   B. both from the same nearest nodes")
    row("kzgis costs_from", r["ours_b"])
    row("networkx single_source_dijkstra_path_length x 8", r["nx_b"],
        f"same reached pairs: {'yes' if same_b else 'NO'}, largest cost difference {maxdiff:.1e} min")
    ratio("speed-up", r["nx_b"], r["ours_b"], 20)

    # 2. 150 m coverage from 5,000 points --------------------------------------------------------
    vc2 = "motorcycle"
    G2, near2 = one[vc2]
    rad = 150.0

    def ours_nodes():
        sn = net.snap(pts, vc2)
        return net.nearest_source(sn, vc2, "length_m", limit=rad)

    def ours_extents():
        sn = net.snap(pts, vc2)
        cost, _ = net.nearest_source(sn, vc2, "length_m", limit=rad)
        return net.reached_pieces(cost, rad, vc2, "length_m", geometry=False)

    def ours_pieces():
        sn = net.snap(pts, vc2)
        cost, _ = net.nearest_source(sn, vc2, "length_m", limit=rad)
        return net.reached_pieces(cost, rad, vc2, "length_m")

    def nx_ego():
        covered = set()
        for s in near2(pts.values):
            covered.update(nx.ego_graph(G2, int(s), radius=rad, distance="length_m"))
        return covered

    def nx_sp():
        covered = set()
        for s in near2(pts.values):
            covered.update(nx.single_source_dijkstra_path_length(G2, int(s), cutoff=rad, weight="length_m"))
        return covered

    pt_nodes = near2(pts.values)
    at2 = at_nodes(net, pt_nodes, vc2)

    def ours_nodes_b():
        return net.nearest_source(at2, vc2, "length_m", limit=rad)

    r2 = measure({"nodes": ours_nodes, "extents": ours_extents, "pieces": ours_pieces, "nodes_b": ours_nodes_b,
                  "ego": nx_ego, "sp": nx_sp},
                 {"nodes": R, "extents": R, "pieces": R, "nodes_b": R, "ego": Rx, "sp": Rx})
    cost_a = np.asarray(r2["nodes"][0][0])
    cost_b = np.asarray(r2["nodes_b"][0][0])
    ext, pieces = r2["extents"][0], r2["pieces"][0]
    cov_nx = r2["ego"][0]
    same2 = set(np.flatnonzero(np.isfinite(cost_b)).tolist()) == cov_nx and r2["sp"][0] == cov_nx
    m_ours2 = peak_mib(ours_pieces)
    m_nx2 = peak_mib(nx_ego)
    ego, sp = r2["ego"], r2["sp"]

    say("")
    say(f"2. {rad:g} m network coverage from {a.points:,} random points, fire motorcycles")
    say(f"      {'':62s} {'back-to-back':>11s} {'interleaved':>11s}")
    say("   networkx per point from its nearest node (KD-tree); covered nodes = the union")
    row(f"ego_graph(radius={rad:g}, distance='length_m')", ego,
        f"{ego[1] / a.points * 1e3:.3f} ms a point, peak traced {m_nx2:.0f} MiB, {len(cov_nx):,} nodes")
    row(f"single_source_dijkstra_path_length(cutoff={rad:g})", sp, f"{sp[1] / a.points * 1e3:.3f} ms a point")
    say("   A. kzgis from the exact snapped points; speed-ups against ego_graph (the issue's baseline) "
        "and [against single_source_dijkstra_path_length]")
    for key, label, extra in (
            ("nodes", "snap + nearest_source: covered nodes (+ cost, nearest point)",
             f"{int(np.isfinite(cost_a).sum()):,} nodes"),
            ("extents", "+ reached_pieces(geometry=False): exact extent on each edge",
             f"{len(ext):,} pieces, {(ext['end_m'] - ext['start_m']).sum() / 1000:,.1f} km"),
            ("pieces", "+ reached_pieces(): and the cut lines as geometries",
             f"{len(pieces):,} lines, peak traced {m_ours2:.0f} MiB")):
        t = r2[key]
        row(label, t, extra)
        say(f"      {'':62s} {ego[1] / t[1]:9.1f}x {ego[2] / t[2]:9.1f}x  [{sp[1] / t[1]:.1f}x {sp[2] / t[2]:.1f}x]"
            + ("  (target >= 50x)" if key == "nodes" else ""))
    say("   B. both from the same nearest nodes, covered nodes")
    t = r2["nodes_b"]
    row("kzgis nearest_source", t, f"same covered nodes as networkx: {'yes' if same2 else 'NO'}")
    say(f"      {'':62s} {ego[1] / t[1]:9.1f}x {ego[2] / t[2]:9.1f}x  [{sp[1] / t[1]:.1f}x {sp[2] / t[2]:.1f}x]")
    say("   (a point's nearest node can be most of a block from its nearest point on a road, so A's covered "
        "nodes differ from networkx's by design)")

    if not a.no_peers:
        peers(net, say, R, Rx, {"stations": (src_nodes, lim, r["nx_b"], r["ours_b"], ref_b, G),
                                "coverage": (pt_nodes, rad, sp, t, cov_nx)})

    say("")
    say(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(other processes slow both sides alike; the ratios are of the same run)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"peak resident memory of the whole network benchmark: {rss:.0f} MiB")
    return 0


def arcs(net: RoadNetwork, vehicle_class: str, weight: str):
    """The directed arcs (u, v, w) of the class's graph, as :func:`nx_graph` builds them."""
    w = net.edge_weights(vehicle_class, weight)
    e = np.flatnonzero(np.isfinite(w))
    u, v, ow = net.edges["u"].to_numpy()[e], net.edges["v"].to_numpy()[e], net.edges["oneway"].to_numpy()[e]
    return np.r_[u, v[~ow]], np.r_[v, u[~ow]], np.r_[w[e], w[e][~ow]]


@contextlib.contextmanager
def quiet_stdout():
    """Silence what C/C++ code prints on file descriptor 1 (pandana's progress)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def peers(net: RoadNetwork, say, repeat: int, repeat_nx: int, queries: dict):
    """pandana (contraction hierarchies) and igraph beside networkx and kzgis: the same graph, the
    same queries from the same nearest nodes (variant B of 1 and 2), answers checked equal."""
    # pandana's OpenMP threads spin while waiting by default, which on a busy machine costs more
    # than the second thread gains
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import igraph
        import pandana
    except ImportError as exc:
        say(f"\n3. peers skipped: {exc} (pip install pandana igraph, or the 'bench' extra)")
        return
    say("")
    say("3. peers on the same graph and the same queries (from the same nearest nodes as B above); "
        "ratios: networkx time / peer time, and peer time / kzgis time")
    say(f"      {'':62s} {'median':>11s}")
    n = net.n_nodes
    xy = net.nodes[["x", "y"]].to_numpy(float)
    rows = {}
    # pandana keeps weights to 0.001: minutes are given to it as seconds (x 60) so rounding stays
    # far below the cut-off's resolution
    scale = {"stations": 60.0, "coverage": 1.0}
    for q, (vc, wt) in (("stations", ("standard", "time_min")), ("coverage", ("motorcycle", "length_m"))):
        u, v, w = arcs(net, vc, wt)
        t = time.perf_counter()
        # pandana: one impedance, arcs given both ways (twoway=False), contraction hierarchies built here
        with quiet_stdout():  # its C++ progress lines
            pn = pandana.Network(pd.Series(xy[:, 0]), pd.Series(xy[:, 1]), pd.Series(u), pd.Series(v),
                                 pd.DataFrame({wt: w * scale[q]}), twoway=False)
        t_ch = time.perf_counter() - t
        t = time.perf_counter()
        g = igraph.Graph(n=n, edges=np.c_[u, v].tolist(), directed=True)
        g.es["w"] = w.tolist()
        t_ig = time.perf_counter() - t
        rows[q] = (pn, g, t_ch, t_ig)
        say(f"   {vc} ({wt}): pandana preprocessing (contraction hierarchies) {t_ch:.2f} s, "
            f"igraph Graph {t_ig:.2f} s (one-offs, in no ratio)")

    def med(fn, k):
        ts, out = [], None
        for _ in range(k):
            t = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t)
        return out, float(np.median(ts))

    # 1B: 8 stations, 30 min
    src, lim, nx_t, ours_t, ref, G = queries["stations"]
    pn, g, _, _ = rows["stations"]
    p_out, p_t = med(lambda: pn.nodes_in_range(list(map(int, src)), lim * scale["stations"]), repeat)
    i_out, i_t = med(lambda: np.asarray(g.distances(source=list(map(int, src)), weights="w")), repeat)
    ref_sets = [set(d) for d in ref]
    same_p, near_cut = True, 0
    for i, s_node in enumerate(map(int, src)):
        got = set(p_out.loc[p_out["source"] == s_node, "destination"].astype(int))
        for k in got ^ ref_sets[i]:  # pandana sums float32 weights: only pairs at the cut-off may differ
            if abs(nx.shortest_path_length(G, s_node, int(k), weight="time_min") - lim) <= 1e-4 * lim:
                near_cut += 1
            else:
                same_p = False
    same_i = all(set(np.flatnonzero(i_out[i] <= lim).tolist()) == ref_sets[i] for i in range(len(src)))
    say(f"   1B. 8 stations, standard trucks, {lim:g} min (networkx {ms(nx_t[1])}, kzgis {ms(ours_t[1])})")
    say(f"      {'pandana nodes_in_range (CH range query)':62s} {ms(p_t)}  networkx/pandana "
        f"{nx_t[1] / p_t:6.1f}x, kzgis/pandana {p_t / ours_t[1]:6.1f}x, same pairs: "
        f"{'yes' if same_p else 'NO'}" + (f" ({near_cut} pairs within 1e-4 of the cut-off differ: pandana "
                                          "sums float32 weights)" if near_cut else ""))
    say(f"      {'igraph distances (all nodes, no cut-off in igraph)':62s} {ms(i_t)}  networkx/igraph "
        f"{nx_t[1] / i_t:6.1f}x, kzgis/igraph {i_t / ours_t[1]:6.1f}x, same pairs: {'yes' if same_i else 'NO'}")

    # 2B: 150 m coverage from 5,000 points
    pts, rad, sp_t, ours2_t, cov = queries["coverage"]
    pn, g, _, _ = rows["coverage"]
    p2, p2_t = med(lambda: set(pn.nodes_in_range(list(map(int, pts)), rad)["destination"].astype(int)), repeat_nx)

    def ig_cover():  # one multi-source Dijkstra: a super source tied to every start node at 0
        h = g.copy()
        h.add_vertices(1)
        starts = np.unique(np.asarray(pts, dtype=np.int64))
        h.add_edges([(n, int(s)) for s in starts], attributes={"w": [0.0] * len(starts)})
        d = np.asarray(h.distances(source=[n], weights="w"))[0, :n]
        return set(np.flatnonzero(d <= rad).tolist())

    i2, i2_t = med(ig_cover, repeat)
    say(f"   2B. {rad:g} m coverage from {len(pts):,} points, fire motorcycles "
        f"(networkx single_source_dijkstra_path_length {ms(sp_t[1])}, kzgis nearest_source {ms(ours2_t[1])})")
    say(f"      {f'pandana nodes_in_range ({len(pts):,} CH range queries)':62s} {ms(p2_t)}  networkx/pandana "
        f"{sp_t[1] / p2_t:6.1f}x, kzgis/pandana {p2_t / ours2_t[1]:6.1f}x, same nodes: {'yes' if p2 == cov else 'NO'}")
    say(f"      {'igraph distances from a super source (one Dijkstra)':62s} {ms(i2_t)}  networkx/igraph "
        f"{sp_t[1] / i2_t:6.1f}x, kzgis/igraph {i2_t / ours2_t[1]:6.1f}x, same nodes: {'yes' if i2 == cov else 'NO'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5, help="runs per kzgis measurement and per 8-station networkx one")
    ap.add_argument("--repeat-nx", type=int, default=3, help="runs of the networkx 5,000-point coverage")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-peers", action="store_true", help="without the pandana and igraph peers")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--demo", action="store_true", help="only the demo run (benchmarks.bench_demo)")
    g.add_argument("--no-demo", action="store_true", help="only the network benchmark")
    ap.add_argument("--no-batch", action="store_true", help="skip kzgis batch (4 demo copies, benchmarks.bench_batch)")
    a = ap.parse_args(argv)
    rc = 0
    if not a.demo:
        rc |= network_benchmark(a)
    if not a.no_demo:
        from benchmarks import bench_demo

        if not a.demo:
            print("", flush=True)
        rc |= bench_demo.main([])
    if not (a.demo or a.no_demo or a.no_batch):
        from benchmarks import bench_batch

        print("", flush=True)
        rc |= bench_batch.main([])
    return rc


if __name__ == "__main__":
    sys.exit(main())
