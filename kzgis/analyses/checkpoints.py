"""Forest checkpoints (森林防火检查站/卡口): unavoidable road entries into forest and village exits.

Seed task 8 (开州府办发〔2023〕47号) sites checkpoints at unavoidable road entries into forest
(进山入林必经道口) and at town and village exits next to forest. No national rule fixes their
spacing; the grouping distance and the other distances here are assumptions (A), overridable.

Method
------
1. **Forest blocks**: the forest layer dissolved into connected blocks (see ``barriers``); blocks
   smaller than ``min_block_area_m2`` are left out (a grove is not a 林区).
2. **Road graph**: the edges of the shared road network (``ctx.network()``), foot paths and
   steps (``exclude_classes``) left out, split exactly where they cross a block boundary (the
   *entries*) and where settlements and fire stations snap onto them. One-way flags are ignored:
   people walk in either way.
3. **Entries** of a block: the crossing points of roads into it, grouped when closer than
   ``group_m`` (``forest_blocks.entries`` counts the groups; nothing else is merged by it).
4. **必经道口** (``kind`` ``road_entry``) of a block with roads inside: the smallest set of road points that every route from
   the settlements and stations outside the block into it (and to the ``forest_work_sites`` within
   ``exit_forest_m`` of it) must pass: a minimum vertex cut between a super-source joined to those
   settlements and stations and a super-sink joined to every road piece inside the block and to
   the work sites' road points (node splitting, max-flow with
   :func:`scipy.sparse.csgraph.maximum_flow`) on the road within ``cut_search_m`` (5 km) of the
   block's entries, the far edge of that road standing for the outside (a junction farther out is
   not used as the one checkpoint of several roads; 0 searches the whole network, exactly, and
   slowly on a county of village roads). Of the minimum cuts, the one nearest the forest is taken, so the checkpoint is at
   the entry itself unless a junction outside the forest serves several entries at once (three
   roads merging before the edge need one checkpoint, at the merged road). **Every cut point is a
   checkpoint** (one post controls only the road it stands on): ``forest_blocks.checkpoints`` equals
   ``cut_size`` unless ``cut_merge_m`` (default 0) merges cut points joined by at most that much road,
   which ``forest_blocks.merged`` and the run's warnings report. An empty cut (``cut_size`` 0) means
   no settlement or station reaches the block by road.
5. **村口** (``kind`` ``village_exit``): settlements within ``exit_forest_m`` of a block. From the settlement's
   road point, the shortest road route (at most ``exit_search_m``) to the forest; the checkpoint
   is where that route leaves the settlement's built-up area (polygon, or a disc of
   ``built_up_radius_m`` around a point), or where it enters the forest if that comes first. For
   a settlement inside the forest the route goes the other way, out of the forest. An exit within
   ``group_m`` of a 必经道口 on the village's own route to the forest is merged into it, and exits
   within ``group_m`` of each other on one road out of the villages are one checkpoint.
6. **Behind**: with the checkpoint's group closed (all cut points of the block, or the exit's
   road piece), the settlements whose road point is cut off from the *outside* (fire stations;
   without stations the urban area; without either the most populous settlement), counted for
   each checkpoint they reach without passing another one of the group; a settlement whose road
   point is the checkpoint itself (a village in a forest clearing) counts for it. Forest work
   sites are counted the same way (``work_sites_behind``), and ``fire_risk_edge`` marks the
   checkpoints behind which lies a road entry within ``fire_edge_m`` of a ``fire_risk_edges``
   feature. ``settlement_names`` lists the villages whose exit a checkpoint is.
7. **A list to act on** (``item_kind``, ``item``, ``recommend``, ``reason``, ``rank``, ``town``):
   entries with settlements, work sites or a fire-prone edge behind them (``entry``) and village
   exits are recommended, as *standard* checkpoints with at least ``standard_pop`` people behind
   them (for an exit: in its village) or on a road of ``standard_classes``, else *simple*; a road
   into the forest with nothing behind (``forest_road``) gets a simple checkpoint; the ends of a
   through road crossing a block with nothing behind (ends enclosing the same stretch of road)
   form one ``road_crossing`` item (same ``item`` number, every end a row), listed as optional.
   ``rank`` orders the list: standard, simple, optional; people or work sites behind first, then
   population, road class, 必经道口 before 村口; an item's ends stay together.
8. **Coordinates**: ``lon, lat`` in WGS84 (EPSG:4326) and ``lon_cgcs2000, lat_cgcs2000``
   (EPSG:4490), for field staff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra, maximum_flow
from shapely.ops import substring

from .. import rules
from ..analysis import register
from ..crs import CGCS2000_GEOGRAPHIC, WGS84, require_projected
from . import _forest

log = logging.getLogger(__name__)

#: ``kind`` codes (Chinese labels in :mod:`kzgis._labels`): 进入林区必经道口 and 村镇出入口.
KIND_CUT = "road_entry"
KIND_EXIT = "village_exit"

_ROAD_RANK = {c: i for i, c in enumerate(("国道", "省道", "县道", "乡道", "城市道路", "村道", "机耕道", "未知",
                                          "步道", "台阶"))}


@dataclass(frozen=True)
class CheckpointParams:
    """Parameters of the ``checkpoints`` analysis (distances in metres of the working CRS).

    Attributes
    ----------
    group_m : village exits closer than this to a checkpoint or to each other are one, and road
        entries closer than this count as one entry in ``forest_blocks.entries`` (rule
        ``checkpoint_group_m``, A). It never merges the cut points of a 必经道口 set.
    cut_merge_m : cut points of one forest block joined by at most this much road share one
        checkpoint (rule ``checkpoint_cut_merge_m``, A; default 0: every road of the cut keeps its
        own checkpoint). A merge is reported in ``forest_blocks.merged`` and in the run's warnings.
    cut_search_m : the 必经道口 are sought on the road within this distance of a block's entries;
        a junction farther out that every route passes is not used (rule ``checkpoint_cut_search_m``,
        A; 0: the whole network, exact but slow on a county of village roads).
    exit_forest_m : settlements whose built-up area is within this distance of a block get a 村口
        (GB 50039 homes-to-forest distance, 300 m); forest work sites this close to a block are
        served by its road entries.
    exit_search_m : the road from a village to the forest may be at most this long (A).
    built_up_radius_m : settlement points stand for a built-up disc of this radius (A).
    min_block_area_m2 : forest blocks smaller than this are left out (A).
    exclude_classes : road classes left out of the graph (foot paths and steps are patrolled, not
        checkpointed).
    standard_pop : a recommended checkpoint with at least this many people behind it (for a 村口,
        in its village) is a standard checkpoint, smaller ones simple (rule
        ``checkpoint_standard_pop``, A).
    standard_classes : road classes on which a recommended road entry is a standard checkpoint
        whatever the population behind it.
    fire_edge_m : a road entry this close to a ``fire_risk_edges`` feature serves it (rule
        ``checkpoint_fire_edge_m``, A).
    """

    group_m: float = rules.param("checkpoint_group_m")
    cut_merge_m: float = rules.param("checkpoint_cut_merge_m")
    cut_search_m: float = rules.param("checkpoint_cut_search_m")
    exit_forest_m: float = rules.param("homes_to_forest_m")
    exit_search_m: float = rules.param("checkpoint_exit_search_m")
    built_up_radius_m: float = rules.param("settlement_point_radius_m")
    min_block_area_m2: float = rules.param("checkpoint_min_block_m2")
    exclude_classes: tuple[str, ...] = ("步道", "台阶")
    standard_pop: float = rules.param("checkpoint_standard_pop")
    standard_classes: tuple[str, ...] = ("国道", "省道", "县道")
    fire_edge_m: float = rules.param("checkpoint_fire_edge_m")

    def __post_init__(self):
        problems = [f"{k} must be > 0 (got {getattr(self, k)})"
                    for k in ("exit_search_m", "built_up_radius_m") if not getattr(self, k) > 0]
        problems += [f"{k} must be >= 0 (got {getattr(self, k)})"
                     for k in ("group_m", "cut_merge_m", "cut_search_m", "exit_forest_m", "min_block_area_m2", "standard_pop",
                               "fire_edge_m") if not getattr(self, k) >= 0]
        if problems:
            raise ValueError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# the split road graph


@dataclass
class _Graph:
    """Road pieces between consecutive split points, and their nodes."""

    n: int  # number of nodes
    xy: np.ndarray  # (n, 2) node coordinates
    p0: np.ndarray  # piece end nodes
    p1: np.ndarray
    edge: np.ndarray  # network edge of each piece
    a: np.ndarray  # offsets (m) of the piece along its edge
    b: np.ndarray
    length: np.ndarray
    block: np.ndarray  # block id of the piece (0 = outside every block)
    road_class: np.ndarray
    road_name: np.ndarray
    edge_geoms: np.ndarray  # geometry of every network edge (pieces are sub-lines of these)

    def adjacency(self, weights=None) -> csr_matrix:
        """Symmetric node adjacency; with ``weights``, the smallest weight of parallel pieces."""
        w = np.ones(len(self.p0)) if weights is None else np.asarray(weights, float)
        i = np.concatenate([self.p0, self.p1])
        j = np.concatenate([self.p1, self.p0])
        w = np.concatenate([w, w])
        key = i * np.int64(self.n) + j
        o = np.lexsort((w, key))
        first = np.r_[True, key[o][1:] != key[o][:-1]]
        o = o[first]
        return csr_matrix((w[o], (i[o], j[o])), shape=(self.n, self.n))


def _crossings(lines, blocks):
    """(line index, offset m) of every point where a line crosses or touches a block boundary.

    Works on the boundary's individual segments, so no overlay scans a whole block.
    """
    none = (np.array([], dtype=np.int64), np.array([]))
    if len(lines) == 0 or len(blocks) == 0:
        return none
    a, b, _ = _forest.ring_segments(blocks)
    segs = shapely.linestrings(np.stack([a, b], axis=1))
    li, sj = shapely.STRtree(segs).query(lines, predicate="intersects")
    if li.size == 0:
        return none
    hits = shapely.intersection(lines[li], segs[sj])
    xy, k = shapely.get_coordinates(hits, return_index=True)
    owner = li[k]
    off = shapely.line_locate_point(lines[owner], shapely.points(xy))
    return owner, off


def _build_graph(net, allowed, blocks, block_ids, anchors_edge, anchors_off) -> tuple[_Graph, np.ndarray]:
    """Split the allowed network edges at block crossings and anchor points.

    Returns the graph and the node of each anchor.
    """
    edges = net.edges
    eidx = np.flatnonzero(allowed)
    geoms = np.asarray(edges.geometry.values, dtype=object)
    L = edges["length_m"].to_numpy(float)
    u = edges["u"].to_numpy(np.int64)
    v = edges["v"].to_numpy(np.int64)
    n0 = net.n_nodes
    cl, coff = _crossings(geoms[eidx], blocks)
    ce = eidx[cl]
    # split positions: crossings, then anchors
    pe = np.concatenate([ce, anchors_edge]).astype(np.int64)
    po = np.concatenate([coff, anchors_off]).astype(float)
    po = np.clip(po, 0.0, L[pe] if len(pe) else po)
    eps = 1e-6
    at_u = po <= eps
    at_v = po >= L[pe] - eps
    inner = ~at_u & ~at_v
    # one node per distinct inner position (rounded to a millimetre)
    key = pd.DataFrame({"e": pe[inner], "o": np.round(po[inner], 3)})
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(key))
    node_of = np.empty(len(pe), dtype=np.int64)
    node_of[at_u] = u[pe[at_u]]
    node_of[at_v & ~at_u] = v[pe[at_v & ~at_u]]
    node_of[inner] = n0 + codes
    new_e = np.array([t[0] for t in uniq], dtype=np.int64) if len(uniq) else np.array([], np.int64)
    new_o = np.array([t[1] for t in uniq], dtype=float) if len(uniq) else np.array([])
    n = n0 + len(new_e)
    xy = np.empty((n, 2))
    xy[:n0] = net.nodes[["x", "y"]].to_numpy(float)
    if len(new_e):
        xy[n0:] = shapely.get_coordinates(shapely.line_interpolate_point(geoms[new_e], new_o))
    # pieces: per allowed edge, the sorted split positions between u (0) and v (L)
    se = np.concatenate([eidx, eidx, new_e])
    so = np.concatenate([np.zeros(len(eidx)), L[eidx], new_o])
    sn = np.concatenate([u[eidx], v[eidx], n0 + np.arange(len(new_e))])
    o = np.lexsort((so, se))
    se, so, sn = se[o], so[o], sn[o]
    same = se[1:] == se[:-1]
    p_e, p_a, p_b = se[:-1][same], so[:-1][same], so[1:][same]
    p0, p1 = sn[:-1][same], sn[1:][same]
    keep = (p_b - p_a > 1e-9) | (p0 != p1)
    p_e, p_a, p_b, p0, p1 = p_e[keep], p_a[keep], p_b[keep], p0[keep], p1[keep]
    mids = shapely.line_interpolate_point(geoms[p_e], (p_a + p_b) / 2.0)
    block = np.zeros(len(p_e), dtype=np.int64)
    if len(blocks) and len(mids):
        # blocks as the query side: GEOS prepares each (huge) block once for all its points
        bi, mi = shapely.STRtree(mids).query(blocks, predicate="contains")
        block[mi] = block_ids[bi]
    g = _Graph(n=n, xy=xy, p0=p0, p1=p1, edge=p_e, a=p_a, b=p_b, length=p_b - p_a, block=block,
               road_class=edges["road_class"].to_numpy(object)[p_e],
               road_name=edges["name"].to_numpy(object)[p_e] if "name" in edges else np.full(len(p_e), None),
               edge_geoms=geoms)
    anchor_node = node_of[len(ce):]
    return g, anchor_node


# ---------------------------------------------------------------------------------------------
# cuts


def _min_cut_near_sink(g: _Graph, sources: np.ndarray, sink_pieces: np.ndarray,
                       sink_nodes: np.ndarray | None = None, search_m: float | None = None) -> np.ndarray:
    """Minimum vertex cut between ``sources`` (nodes) and the pieces ``sink_pieces`` (and nodes ``sink_nodes``).

    Every route from outside into the sink pieces first meets one of their *entries* (an end that
    also touches another piece), so the sink is those entries (and ``sink_nodes``) and the sink
    pieces themselves drop out. Node x is split into x_in (x) -> x_out (x + n) with capacity 1;
    pieces join x_out -> y_in both ways with a capacity no cut can use. Of the minimum cuts, the
    one nearest the sink.

    ``search_m``: only the road within this distance of the entries takes part, its far edge
    standing for the outside (every node there with a road beyond counts as a source): the cut is
    then the smallest set of points within that distance that every route into the forest passes.
    None: the whole graph (exact for any distance).
    """
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    sink_nodes = np.array([], np.int64) if sink_nodes is None else np.asarray(sink_nodes, dtype=np.int64)
    sink_pieces = np.asarray(sink_pieces, dtype=np.int64)
    in_sink = np.zeros(len(g.p0), dtype=bool)
    in_sink[sink_pieces] = True
    ends = np.zeros(g.n, dtype=bool)
    ends[g.p0[sink_pieces]] = True
    ends[g.p1[sink_pieces]] = True
    touch = np.zeros(g.n, dtype=bool)
    touch[g.p0[~in_sink]] = True
    touch[g.p1[~in_sink]] = True
    entries = np.unique(np.concatenate([np.flatnonzero(ends & touch), sink_nodes]))
    if len(sources) == 0 or len(entries) == 0:
        return np.array([], dtype=np.int64)
    q0, q1 = g.p0[~in_sink], g.p1[~in_sink]
    is_src = np.zeros(g.n, dtype=bool)
    is_src[sources] = True
    if search_m is None:
        local = np.arange(g.n)
    else:
        ln = np.maximum(g.length[~in_sink], 1e-6)
        W = csr_matrix((np.concatenate([ln, ln]), (np.concatenate([q0, q1]), np.concatenate([q1, q0]))),
                       shape=(g.n, g.n))
        d = dijkstra(W, directed=True, indices=entries, min_only=True, limit=search_m)
        inr = np.isfinite(d)
        local = np.flatnonzero(inr)
        is_src &= inr
        # the far edge of the searched road: nodes with a piece leaving the region
        edge_ = inr[q0] != inr[q1]
        is_src[q0[edge_ & inr[q0]]] = True
        is_src[q1[edge_ & inr[q1]]] = True
        keep = inr[q0] & inr[q1]
        q0, q1 = q0[keep], q1[keep]
    n = len(local)
    pos = np.full(g.n, -1, dtype=np.int64)
    pos[local] = np.arange(n)
    src = pos[np.flatnonzero(is_src)]
    if len(src) == 0:
        return np.array([], dtype=np.int64)
    q0, q1 = pos[q0], pos[q1]
    e_loc = pos[entries]
    S, T = 2 * n, 2 * n + 1
    big = len(src) + len(e_loc) + 1
    rows = np.concatenate([np.arange(n), q0 + n, q1 + n, np.full(len(src), S), e_loc + n])
    cols = np.concatenate([np.arange(n) + n, q1, q0, src, np.full(len(e_loc), T)])
    cap = np.concatenate([np.ones(n), np.full(2 * len(q0) + len(src) + len(e_loc), big)]).astype(np.int32)
    C = csr_matrix((cap, (rows, cols)), shape=(2 * n + 2, 2 * n + 2))
    C.sum_duplicates()
    res = maximum_flow(C, S, T)
    if res.flow_value == 0:
        return np.array([], dtype=np.int64)
    R = C - res.flow
    R.data[R.data < 0] = 0
    R.eliminate_zeros()
    # nodes that can still reach T in the residual graph: the smallest sink side
    z = breadth_first_order(R.T.tocsr(), T, directed=True, return_predecessors=False)
    in_z = np.zeros(2 * n + 2, dtype=bool)
    in_z[z] = True
    cut = np.flatnonzero(~in_z[:n] & in_z[n:2 * n])
    if len(cut) != res.flow_value:  # should not happen: max-flow = min-cut
        raise RuntimeError(f"vertex cut of size {len(cut)} for a flow of {res.flow_value}")
    return np.sort(local[cut])


def _road_merge_groups(g: _Graph, nodes: np.ndarray, max_m: float) -> np.ndarray:
    """Groups of ``nodes`` joined by at most ``max_m`` of road (a label per node; 0 m: each alone)."""
    n = len(nodes)
    if n == 0:
        return np.array([], dtype=np.int64)
    if max_m <= 0 or n == 1:
        return np.arange(n)
    W = g.adjacency(np.maximum(g.length, 1e-6))
    d = dijkstra(W, directed=False, indices=nodes, limit=max_m)[:, nodes]
    i, j = np.nonzero(np.isfinite(d) & (d <= max_m))
    A = csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    return connected_components(A, directed=False)[1]


def _groups(xy: np.ndarray, dist: float) -> np.ndarray:
    """Single-linkage groups of points closer than ``dist``: a label per point."""
    if len(xy) == 0:
        return np.array([], dtype=np.int64)
    pts = shapely.points(xy)
    i, j = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=dist)
    A = csr_matrix((np.ones(len(i)), (i, j)), shape=(len(xy), len(xy)))
    return connected_components(A, directed=False)[1]


def _medoid(xy: np.ndarray) -> int:
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]).sum(axis=1)
    return int(np.argmin(d))


#: columns of the node weights counted behind a checkpoint
_W_CNT, _W_POP, _W_WORK, _W_FIRE = range(4)


def _cut_off(A: csr_matrix, outside: np.ndarray, closed_nodes, closed_pieces, g: _Graph):
    """Component label per node with the group closed, and whether each component still reaches
    ``outside``. A closed node is a component of its own (a settlement at it is cut off)."""
    keep = np.ones(g.n, dtype=bool)
    keep[np.asarray(closed_nodes, dtype=np.int64)] = False
    pk = keep[g.p0] & keep[g.p1]
    if len(closed_pieces):
        pk[np.asarray(closed_pieces, dtype=np.int64)] = False
    M = csr_matrix((np.ones(int(pk.sum()), dtype=np.int8), (g.p0[pk], g.p1[pk])), shape=(g.n, g.n))
    ncomp, lab = connected_components(M, directed=False)
    reached = np.zeros(ncomp, dtype=bool)
    reached[lab[outside[keep[outside]]]] = True
    return lab, reached


class _Bridges:
    """What closing one road piece cuts off, for every piece at once (the village exits).

    A spanning forest of the road graph (depth-first, so every subtree is a run of consecutive
    nodes in discovery order) tells for each tree piece whether it is a bridge: no other piece
    joins its subtree to the rest. Closing a bridge cuts its subtree off from the rest of its
    component; closing any other piece cuts nothing off. Weights and ``outside`` nodes are summed
    per subtree with prefix sums over the discovery order.
    """

    def __init__(self, g: _Graph, outside: np.ndarray, weights: np.ndarray):
        from scipy.sparse.csgraph import depth_first_order

        n = g.n
        real = g.p0 != g.p1
        q0, q1 = g.p0[real], g.p1[real]
        ncomp, comp = connected_components(
            csr_matrix((np.ones(len(q0), dtype=np.int8), (q0, q1)), shape=(n, n)), directed=False)
        # a virtual root joined to the first node of every component: one depth-first search
        firsts = np.unique(comp, return_index=True)[1]
        i = np.concatenate([q0, q1, np.full(len(firsts), n), firsts])
        j = np.concatenate([q1, q0, firsts, np.full(len(firsts), n)])
        M = csr_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n + 1, n + 1))
        order, pred = depth_first_order(M, n, directed=False, return_predecessors=True)
        tin = np.empty(n + 1, dtype=np.int64)
        tin[order] = np.arange(n + 1)
        parent = pred[:n].astype(np.int64)
        # per node, the lowest and highest discovery index it reaches by a piece other than its own
        # tree piece (parallel pieces to the parent count: they bypass it)
        lo = tin[:n].copy()
        hi = tin[:n].copy()
        ends = np.concatenate([q0, q1])
        other = np.concatenate([q1, q0])
        k = np.concatenate([np.arange(len(q0)), np.arange(len(q0))])
        is_par = other == parent[ends]
        # the first piece from a node to its parent is its tree piece; the others are not
        df = pd.DataFrame({"e": ends[is_par], "k": k[is_par]})
        tree_piece = df.groupby("e")["k"].min()
        skip = np.zeros(len(ends), dtype=bool)
        idx = np.flatnonzero(is_par)
        skip[idx] = k[idx] == tree_piece.reindex(ends[idx]).to_numpy()
        np.minimum.at(lo, ends[~skip], tin[other[~skip]])
        np.maximum.at(hi, ends[~skip], tin[other[~skip]])
        # subtree size, lowest and highest reach: children before parents (reverse discovery order)
        size = np.ones(n + 1, dtype=np.int64)
        lo_l, hi_l, size_l = lo.tolist() + [0], hi.tolist() + [0], size.tolist()
        par_l = parent.tolist()
        for v in order[::-1].tolist():
            if v == n:
                continue
            p_ = par_l[v]
            if p_ < 0 or p_ == n:
                continue
            size_l[p_] += size_l[v]
            if lo_l[v] < lo_l[p_]:
                lo_l[p_] = lo_l[v]
            if hi_l[v] > hi_l[p_]:
                hi_l[p_] = hi_l[v]
        self.size = np.asarray(size_l[:n], dtype=np.int64)
        lo_s = np.asarray(lo_l[:n])
        hi_s = np.asarray(hi_l[:n])
        self.tin = tin[:n]
        self.parent = parent
        self.bridge_child = (parent >= 0) & (parent < n) & (lo_s >= self.tin) & (hi_s < self.tin + self.size)
        # tree piece of each child node
        self.piece_child = np.full(len(g.p0), -1, dtype=np.int64)
        real_idx = np.flatnonzero(real)
        self.piece_child[real_idx[tree_piece.to_numpy()]] = tree_piece.index.to_numpy()
        # prefix sums over the discovery order (the virtual root is position 0)
        wo = np.zeros((n + 1, weights.shape[1] + 1))
        wo[tin[:n], :-1] = weights
        out_flag = np.zeros(n)
        out_flag[outside] = 1.0
        wo[tin[:n], -1] = out_flag
        self.prefix = np.vstack([np.zeros((1, wo.shape[1])), np.cumsum(wo, axis=0)])
        self.comp = comp
        self.comp_sum = np.zeros((ncomp, wo.shape[1]))
        np.add.at(self.comp_sum, comp, wo[tin[:n]])

    def behind(self, piece: int | None, start: int) -> np.ndarray:
        """Weights cut off from ``outside`` on ``start``'s side when ``piece`` is closed (None: nothing
        closed: the start's component if no outside node is in it)."""
        tot = self.comp_sum[self.comp[start]]
        c = self.piece_child[piece] if piece is not None and piece >= 0 else -1
        if c < 0 or not self.bridge_child[c] or self.comp[c] != self.comp[start]:
            side = tot
        else:
            t0, t1 = self.tin[c], self.tin[c] + self.size[c]
            sub = self.prefix[t1] - self.prefix[t0]
            side = sub if t0 <= self.tin[start] < t1 else tot - sub
        return np.zeros(len(side) - 1) if side[-1] > 0.5 else side[:-1]


def _behind(A: csr_matrix, outside: np.ndarray, closed_nodes, closed_pieces, g: _Graph, starts,
            weights: np.ndarray):
    """Weights (settlements, population, work sites, fire-edge entries) cut off from ``outside``
    when the group is closed, per start, and the cut-off components each start touches.

    ``starts`` are (node list) per checkpoint: the nodes at and next to it.
    """
    lab, reached = _cut_off(A, outside, closed_nodes, closed_pieces, g)
    ncomp = len(reached)
    comp_w = np.column_stack([np.bincount(lab, weights=weights[:, c], minlength=ncomp)
                              for c in range(weights.shape[1])])
    res = []
    for st in starts:
        st = np.asarray(st, dtype=np.int64)
        comps = np.unique(lab[st]) if len(st) else np.array([], dtype=np.int64)
        comps = comps[~reached[comps]]
        res.append((comp_w[comps].sum(axis=0), comps))
    return res


# ---------------------------------------------------------------------------------------------
# inputs


def _settlement_frame(ctx, p: CheckpointParams) -> gpd.GeoDataFrame:
    if not ctx.layers.has("settlements"):
        return gpd.GeoDataFrame({"name": [], "population": [], "is_point": []}, geometry=[], crs=ctx.crs)
    st = ctx.layers["settlements"]
    geoms = np.asarray(st.geometry.values, dtype=object)
    is_pt = np.isin(shapely.get_type_id(geoms), [0, 4])
    area = geoms.copy()
    area[is_pt] = shapely.buffer(geoms[is_pt], p.built_up_radius_m)
    pop = pd.to_numeric(st["population"], errors="coerce").to_numpy(float) if "population" in st else np.full(len(st), np.nan)
    names = st["name"].astype(object).where(st["name"].notna(), None).to_numpy(object) if "name" in st else \
        np.array([str(i) for i in st.index], dtype=object)
    out = gpd.GeoDataFrame({"name": names, "population": pop, "is_point": is_pt,
                            "town": st["town"].to_numpy(object) if "town" in st else None,
                            "site": geoms}, geometry=area, crs=ctx.crs, index=st.index)
    return out


def _outside_points(ctx, sett) -> tuple[np.ndarray, str]:
    """Points standing for 'the outside' (where help comes from), and what they are."""
    if ctx.layers.has("stations"):
        return np.asarray(ctx.layers["stations"].geometry.values, dtype=object), "fire stations"
    if ctx.layers.has("urban_area"):
        return shapely.point_on_surface(np.asarray(ctx.layers["urban_area"].geometry.values, dtype=object)), \
            "the urban area"
    if len(sett):
        pop = np.nan_to_num(sett["population"].to_numpy(float), nan=-1)
        return np.asarray([sett["site"].iloc[int(np.argmax(pop))]], dtype=object), \
            f"the most populous settlement ({sett['name'].iloc[int(np.argmax(pop))]})"
    return np.array([], dtype=object), "nothing"


# ---------------------------------------------------------------------------------------------
# the analysis


def _empty_checkpoints(crs):
    out = gpd.GeoDataFrame({c: [] for c in _COLUMNS}, geometry=[], crs=crs)
    out.index.name = "checkpoint_id"
    return out


def _lonlat(points, crs):
    s = gpd.GeoSeries(points, crs=crs)
    w = s.to_crs(WGS84)
    c = s.to_crs(CGCS2000_GEOGRAPHIC)
    return w.x.to_numpy(), w.y.to_numpy(), c.x.to_numpy(), c.y.to_numpy()


def _incidence(g: _Graph) -> csr_matrix:
    """Node x piece incidence: ``inc[x].indices`` are the pieces at node x (built once per graph)."""
    if "_inc" not in g.__dict__:
        k = len(g.p0)
        g.__dict__["_inc"] = csr_matrix((np.ones(2 * k, dtype=np.int8),
                                         (np.concatenate([g.p0, g.p1]), np.tile(np.arange(k), 2))), shape=(g.n, k))
    return g.__dict__["_inc"]


def _pieces_at(g: _Graph, x: int) -> np.ndarray:
    inc = _incidence(g)
    return inc.indices[inc.indptr[x]:inc.indptr[x + 1]]


def _town_at(ctx, xy) -> np.ndarray:
    """Township (``boundary.town``) holding each point; None outside or without the layer."""
    out = np.full(len(xy), None, dtype=object)
    if len(xy) == 0 or not ctx.layers.has("boundary") or "town" not in ctx.layers["boundary"]:
        return out
    bd = ctx.layers["boundary"]
    pi, gi = shapely.STRtree(np.asarray(bd.geometry.values, dtype=object)).query(
        shapely.points(np.asarray(xy, float)), predicate="intersects")
    towns = bd["town"].to_numpy(object)
    o = np.lexsort((gi, pi))
    pi, gi = pi[o], gi[o]
    first = np.r_[True, pi[1:] != pi[:-1]] if pi.size else np.array([], bool)
    out[pi[first]] = towns[gi[first]]
    return out


def _optional_geoms(ctx, kind) -> np.ndarray:
    if not ctx.layers.has(kind):
        return np.array([], dtype=object)
    g = np.asarray(ctx.layers[kind].geometry.values, dtype=object)
    return g[~(shapely.is_missing(g) | shapely.is_empty(g))]


def _block_of(geoms, blocks, block_ids, max_m) -> np.ndarray:
    """Forest block holding each geometry, else the nearest within ``max_m`` (0 = none)."""
    out = np.zeros(len(geoms), dtype=np.int64)
    if len(geoms) == 0 or len(blocks) == 0:
        return out
    gi, bi = shapely.STRtree(blocks).query_nearest(geoms, max_distance=max(max_m, 1e-6), all_matches=False)
    out[gi] = block_ids[bi]
    return out


@register("checkpoints", title_zh="森林防火检查站", needs=("forest", "roads"),
          optional=("settlements", "stations", "urban_area", "boundary", "forest_work_sites", "fire_risk_edges", "dem"),
          params=CheckpointParams, results=("checkpoints", "forest_blocks"))
def run_checkpoints(ctx, p: CheckpointParams) -> dict:
    """Checkpoints at unavoidable road entries into forest blocks (必经道口) and at village exits (村口).

    Returns ``checkpoints`` (points: ``kind, item, item_kind, recommend, reason, town, forest_block,
    road_class, road_name, settlement_names, settlements_behind, population_behind,
    work_sites_behind, fire_risk_edge, cut_points, rank, lon, lat, lon_cgcs2000, lat_cgcs2000``) and
    ``forest_blocks`` (polygons: ``area_m2, entries, cut_size, checkpoints, merged, work_sites,
    road_length_m``).
    """
    require_projected(ctx.crs, "checkpoints")
    blocks_all = _forest.forest_blocks(ctx)
    big = blocks_all[blocks_all["area_m2"] >= p.min_block_area_m2]
    n_small = len(blocks_all) - len(big)
    if n_small:
        log.info("checkpoints: %d forest block(s) smaller than %g m2 left out", n_small, p.min_block_area_m2)
    blocks = np.asarray(big.geometry.values, dtype=object)
    block_ids = big.index.to_numpy(np.int64)
    net = ctx.network()
    cls = net.edges["road_class"].to_numpy(object)
    allowed = ~np.isin(cls, list(p.exclude_classes))

    sett = _settlement_frame(ctx, p)
    work = _optional_geoms(ctx, "forest_work_sites")
    work_block = _block_of(work, blocks, block_ids, p.exit_forest_m)
    if len(work) and (work_block == 0).any():
        ctx.warn(f"checkpoints: {int((work_block == 0).sum())} forest work site(s) are farther than "
                 f"{p.exit_forest_m:g} m from every forest block of at least {p.min_block_area_m2:g} m2 and get no "
                 "checkpoint")
    out_pts, out_what = _outside_points(ctx, sett)
    # anchors: settlements, work sites, then stations / outside points
    anchor_geoms = np.concatenate([np.asarray(sett["site"].to_numpy(object), dtype=object),
                                   np.asarray(work, dtype=object), np.asarray(out_pts, dtype=object)])
    snapped = net.snap(list(anchor_geoms), mask=allowed) if len(anchor_geoms) else \
        pd.DataFrame({"edge": [], "offset_m": [], "ok": []})
    ok = snapped["ok"].to_numpy(bool) if len(snapped) else np.array([], bool)
    n_sett, n_work = len(sett), len(work)
    if n_sett and (~ok[:n_sett]).any():
        ctx.warn(f"checkpoints: {int((~ok[:n_sett]).sum())} settlement(s) are farther than "
                 f"{net.params.snap_max_m:g} m from any road and are not counted")
    if n_work and (~ok[n_sett:n_sett + n_work]).any():
        ctx.warn(f"checkpoints: {int((~ok[n_sett:n_sett + n_work]).sum())} forest work site(s) are farther than "
                 f"{net.params.snap_max_m:g} m from any road; no road entry serves them")
    aidx = np.flatnonzero(ok)
    g, anode_ok = _build_graph(net, allowed, blocks, block_ids,
                               snapped["edge"].to_numpy(np.int64)[aidx], snapped["offset_m"].to_numpy(float)[aidx])
    anchor_node = np.full(len(anchor_geoms), -1, dtype=np.int64)
    anchor_node[aidx] = anode_ok
    sett_node = anchor_node[:n_sett]
    work_node = anchor_node[n_sett:n_sett + n_work]
    outside = anchor_node[n_sett + n_work:]
    outside = outside[outside >= 0]
    if len(outside) == 0:
        ctx.warn("checkpoints: nothing stands for the outside (no stations, urban area or settlement on a "
                 "road), so settlements and population behind the checkpoints are not counted")
    else:
        log.info("checkpoints: 'outside' is %s", out_what)

    weights = np.zeros((g.n, 4))
    has = sett_node >= 0
    np.add.at(weights[:, _W_CNT], sett_node[has], 1.0)
    np.add.at(weights[:, _W_POP], sett_node[has], np.nan_to_num(sett["population"].to_numpy(float)[has]))
    wok = (work_node >= 0) & (work_block > 0)
    np.add.at(weights[:, _W_WORK], work_node[wok], 1.0)
    A = g.adjacency()
    _incidence(g)  # build the node-piece incidence once, before the searches below

    # entries: nodes touching a piece of a block and a piece that is not of that block
    nb = pd.DataFrame({"node": np.concatenate([g.p0, g.p1]), "block": np.concatenate([g.block, g.block])})
    nb = nb.drop_duplicates()
    multi = nb.groupby("node")["block"].transform("size").to_numpy() > 1
    entry_tab = nb[multi & (nb["block"].to_numpy() > 0)]
    fire = _optional_geoms(ctx, "fire_risk_edges")
    if len(fire) and len(entry_tab):
        en = np.unique(entry_tab["node"].to_numpy())
        near = shapely.STRtree(fire).query(shapely.points(g.xy[en]), predicate="dwithin", distance=p.fire_edge_m)[0]
        weights[en[np.unique(near)], _W_FIRE] = 1.0
    entries_by_block = entry_tab.groupby("block")["node"].apply(np.asarray).to_dict()
    order = np.argsort(g.block, kind="stable")
    bstart = np.searchsorted(g.block[order], block_ids, side="left")
    bend = np.searchsorted(g.block[order], block_ids, side="right")
    sources_all = np.unique(np.concatenate([sett_node[has], outside]))

    rows = []  # checkpoint rows
    block_rows = []
    n_merged = 0
    is_cut = np.zeros(g.n, dtype=bool)
    for k, (bid, bgeom) in enumerate(zip(block_ids, blocks)):
        bp = np.sort(order[bstart[k]:bend[k]])
        nodes_in = np.unique(np.concatenate([g.p0[bp], g.p1[bp]])) if len(bp) else np.array([], np.int64)
        entries = entries_by_block.get(int(bid), np.array([], np.int64))
        n_entry_groups = len(np.unique(_groups(g.xy[entries], p.group_m))) if len(entries) else 0
        ws_nodes = np.unique(work_node[wok & (work_block == bid)])
        cut = np.array([], dtype=np.int64)
        if len(bp) or len(ws_nodes):
            src = np.setdiff1d(sources_all, np.concatenate([nodes_in, ws_nodes]))
            if len(src):
                cut = _min_cut_near_sink(g, src, bp, ws_nodes, p.cut_search_m or None)
        labels = _road_merge_groups(g, cut, p.cut_merge_m)
        is_cut[cut] = True
        starts, reps = [], []
        groups = [cut[labels == lab] for lab in np.unique(labels)] if len(cut) > len(np.unique(labels)) \
            else [cut[i:i + 1] for i in range(len(cut))]
        for members in groups:
            rep = members[_medoid(g.xy[members])] if len(members) > 1 else members[0]
            reps.append((rep, members))
            # the cut points themselves (a settlement at one is cut off with it) and their neighbours
            nb = np.concatenate([A.indices[A.indptr[m]:A.indptr[m + 1]] for m in members])
            starts.append(np.unique(np.concatenate([members, nb[~is_cut[nb]]])))
        n_merged += len(cut) - len(reps)
        if len(cut) and len(outside):
            behind = _behind(A, outside, cut, [], g, starts, weights)
        else:
            behind = [(np.zeros(4), np.array([], np.int64))] * len(reps)
        for (rep, members), (w, comps) in zip(reps, behind):
            pieces_at = np.concatenate([_pieces_at(g, m) for m in members])
            rc, rn = _best_road(g, np.unique(pieces_at))
            # a piece of the block running straight from this cut point to another one encloses a
            # stretch with no node of its own: key it like a cut-off component (negative)
            direct = np.unique(pieces_at[(g.block[pieces_at] == bid) & is_cut[g.p0[pieces_at]] & is_cut[g.p1[pieces_at]]])
            comps = np.concatenate([comps, -1 - direct])
            rows.append({"kind": KIND_CUT, "forest_block": int(bid), "road_class": rc, "road_name": rn,
                         "settlement_names": None, "settlements_behind": int(round(w[_W_CNT])),
                         "population_behind": float(w[_W_POP]), "work_sites_behind": int(round(w[_W_WORK])),
                         "fire_risk_edge": bool(w[_W_FIRE] > 0 or weights[members, _W_FIRE].any()),
                         "cut_points": len(members), "_comps": tuple(comps.tolist()),
                         "_pop_served": 0.0, "_route": frozenset(), "_piece": -1,
                         "_nodes": tuple(members.tolist()), "x": g.xy[rep, 0], "y": g.xy[rep, 1]})
        is_cut[cut] = False
        block_rows.append({"block_id": int(bid), "area_m2": float(shapely.area(bgeom)), "entries": n_entry_groups,
                           "cut_size": int(len(cut)) if (len(bp) or len(ws_nodes)) else None,
                           "checkpoints": len(reps), "merged": int(len(cut) - len(reps)),
                           "work_sites": int((work_block == bid).sum()),
                           "road_length_m": float(g.length[bp].sum()), "geometry": bgeom})
    if n_merged:
        ctx.warn(f"checkpoints: cut_merge_m = {p.cut_merge_m:g} m merged {n_merged} road entry point(s) into a "
                 "neighbouring checkpoint; those roads have no post of their own (forest_blocks.merged)")

    rows += _village_exits(ctx, p, g, sett, sett_node, blocks, block_ids, A, outside, weights)
    return _finish(ctx, p, rows, block_rows, g)


def _best_road(g: _Graph, pieces):
    if len(pieces) == 0:
        return None, None
    ranks = np.array([_ROAD_RANK.get(c, len(_ROAD_RANK)) for c in g.road_class[pieces]])
    k = pieces[int(np.argmin(ranks))]
    name = g.road_name[k]
    name = None if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
    return g.road_class[k], name


def _village_exits(ctx, p, g, sett, sett_node, blocks, block_ids, A, outside, weights):
    """One 村口 per settlement near the forest: where its road toward the forest leaves the village."""
    if len(sett) == 0 or len(blocks) == 0:
        return []
    area = np.asarray(sett.geometry.values, dtype=object)
    bi, si = shapely.STRtree(area).query(blocks, predicate="dwithin", distance=p.exit_forest_m)
    near = np.zeros(len(sett), dtype=bool)
    near[si] = True
    cand = np.flatnonzero(near & (sett_node >= 0))
    if len(cand) == 0:
        return []
    bridges = _Bridges(g, outside, weights) if len(outside) else None
    forest_node = np.zeros(g.n, dtype=bool)
    ins = g.block > 0
    forest_node[g.p0[ins]] = True
    forest_node[g.p1[ins]] = True
    W = g.adjacency(np.maximum(g.length, 1e-6))
    # piece lookup by node pair (shortest piece)
    pair = pd.DataFrame({"lo": np.minimum(g.p0, g.p1), "hi": np.maximum(g.p0, g.p1), "len": g.length,
                         "k": np.arange(len(g.p0))}).sort_values("len").drop_duplicates(["lo", "hi"])
    piece_of = dict(zip(zip(pair["lo"].tolist(), pair["hi"].tolist()), pair["k"].tolist()))
    src_nodes = sett_node[cand]
    # the nearest forest node from every village outside the forest, and the nearest node outside
    # the forest from every village in it: one search from all targets at once each (the graph is
    # undirected, so the predecessors lead from a village to its nearest target)
    pred = {}
    for inside in (False, True):
        if not (forest_node[src_nodes] == inside).any():
            continue
        targets = np.flatnonzero(~forest_node if inside else forest_node)
        if len(targets) == 0:
            continue
        _, pr, _ = dijkstra(W, directed=False, indices=targets, limit=p.exit_search_m, min_only=True,
                            return_predecessors=True)
        pred[inside] = (pr, set(targets.tolist()))
    rows = []
    names = sett["name"].to_numpy(object)
    pops = np.nan_to_num(sett["population"].to_numpy(float))
    by_node: dict[int, list[int]] = {}
    for k_s, s_node in zip(cand.tolist(), src_nodes.tolist()):
        by_node.setdefault(s_node, []).append(k_s)
    for s_node in sorted(by_node):
        key = bool(forest_node[s_node])
        if key not in pred:
            continue
        pr, targets = pred[key]
        if s_node in targets or pr[s_node] < 0:
            continue  # no target within exit_search_m (or the node is its own target)
        path_nodes = [s_node]
        while path_nodes[-1] not in targets:
            path_nodes.append(int(pr[path_nodes[-1]]))
        for k_s in by_node[s_node]:
            line, piece_seq, cum = _path_line(g, path_nodes, piece_of, area[k_s])
            row = _exit_row(g, (area[k_s], names[k_s], pops[k_s]), line, piece_seq, cum, path_nodes, key, bridges,
                            outside)
            if row is not None:
                rows.append(row)
    return rows


def _path_line(g, path_nodes, piece_of, area=None):
    """Geometry of a node path through the pieces, the pieces used and their cumulative starts.

    With ``area`` (the village) the line stops after the first piece that ends outside it: the exit
    is on it (the rest of the route is not needed).
    """
    coords, seq, cum = [], [], [0.0]
    if len(path_nodes) == 1:
        xy = g.xy[path_nodes[0]]
        return shapely.LineString([xy, xy]), [], np.array([0.0])
    inside = area is not None and shapely.contains_xy(area, *g.xy[path_nodes[0]])
    for x, y in zip(path_nodes[:-1], path_nodes[1:]):
        k = piece_of[(min(x, y), max(x, y))]
        seq.append(k)
        geom = _piece_geom(g, k)
        pts = np.asarray(geom.coords)
        if g.p0[k] != x:
            pts = pts[::-1]
        coords.extend(pts if not coords else pts[1:])
        cum.append(cum[-1] + g.length[k])
        if area is not None and (not inside or not shapely.contains_xy(area, *g.xy[y])):
            break
    return shapely.LineString(coords), seq, np.array(cum)


def _piece_geom(g, k):
    return substring(g.edge_geoms[g.edge[k]], g.a[k], g.b[k])


def _exit_row(g, village, line, piece_seq, cum, path_nodes, from_inside, bridges, outside):
    area, name, pop = village
    L = line.length
    start = shapely.Point(line.coords[0])
    if not area.contains(start):
        pos = 0.0
    else:
        hits = shapely.get_parts(line.intersection(area.boundary))
        locs = [line.project(h) for h in shapely.get_parts(shapely.points(shapely.get_coordinates(hits)))] \
            if len(hits) else []
        locs = [d for d in locs if d > 1e-9]
        pos = min(locs) if locs else L
    pos = min(pos, L)
    pt = line.interpolate(pos)
    # the piece at the exit, and the forest block the route leads to (or comes from)
    if piece_seq:
        j = int(np.clip(np.searchsorted(cum, pos, side="right") - 1, 0, len(piece_seq) - 1))
        k = piece_seq[j]
        closed = [k]
        beyond = [path_nodes[j + 1]]
        # the block the route enters (or, from inside, the one it leaves)
        end = path_nodes[0] if from_inside else path_nodes[-1]
        at_end = np.sort(_pieces_at(g, end))
        at_end = at_end[g.block[at_end] > 0]
        block = int(g.block[at_end[0]]) if len(at_end) else None
        rc, rn = _best_road(g, np.array([k]))
    else:
        closed, beyond, block, rc, rn = [], [path_nodes[0]], None, None, None
        incident = np.sort(_pieces_at(g, path_nodes[0]))
        if len(incident):
            rc, rn = _best_road(g, incident)
            inb = g.block[incident]
            block = int(inb[inb > 0][0]) if (inb > 0).any() else None
    if from_inside:
        # the village is in the forest: what is behind is the village side
        beyond = [path_nodes[0]]
    w = np.zeros(4)
    if len(outside):
        w = bridges.behind(closed[0] if closed else None, beyond[0])
    return {"kind": KIND_EXIT, "forest_block": block, "road_class": rc, "road_name": rn,
            "settlement_names": str(name), "settlements_behind": int(round(w[_W_CNT])),
            "population_behind": float(w[_W_POP]), "work_sites_behind": int(round(w[_W_WORK])),
            "fire_risk_edge": bool(w[_W_FIRE] > 0), "cut_points": 0, "_comps": (),
            "_pop_served": float(pop), "_route": frozenset(path_nodes),
            "_piece": closed[0] if closed else -1, "_nodes": (), "x": pt.x, "y": pt.y}


#: ``item_kind`` codes: an entry with settlements, work sites or a fire-prone edge behind it; a
#: through road crossing a block with nothing behind (its ends are one item); a road into the
#: forest with nothing behind; a village exit.
ITEM_ENTRY, ITEM_CROSSING, ITEM_FOREST_ROAD, ITEM_EXIT = "entry", "road_crossing", "forest_road", "village_exit"
#: ``recommend`` codes, in the order of the list
REC_STANDARD, REC_SIMPLE, REC_OPTIONAL = "standard", "simple", "optional"
_REC_ORDER = {REC_STANDARD: 0, REC_SIMPLE: 1, REC_OPTIONAL: 2}
_COLUMNS = ("kind", "item_kind", "item", "recommend", "reason", "town", "forest_block", "road_class", "road_name",
            "settlement_names", "settlements_behind", "population_behind", "work_sites_behind", "fire_risk_edge",
            "cut_points", "rank", "lon", "lat", "lon_cgcs2000", "lat_cgcs2000")


def _road_label(rc, rn) -> str:
    if rn:
        return f"{rn}（{rc}）" if rc else str(rn)
    return str(rc) if rc else "道路"


def _classify(df: pd.DataFrame, p: CheckpointParams) -> pd.DataFrame:
    """``item_kind``, ``recommend``, ``reason`` and the list order of every checkpoint row.

    Entries with settlements, forest work sites or a fire-prone edge behind them (or that are also
    a village's exit) are recommended: standard with at least ``standard_pop`` people behind or on
    a road of ``standard_classes``, else simple. Village exits are recommended (standard for a
    village of ``standard_pop`` or more). A road into the forest with nothing behind gets a simple
    checkpoint. The ends of a through road crossing a block with nothing behind (ends sharing the
    stretch of road they enclose) are one optional ``road_crossing`` item.
    """
    n = len(df)
    kind = df["kind"].to_numpy(object)
    cnt = df["settlements_behind"].to_numpy(float)
    pop = df["population_behind"].to_numpy(float)
    work = df["work_sites_behind"].to_numpy(float)
    fire = df["fire_risk_edge"].to_numpy(bool)
    names = df["settlement_names"].to_numpy(object)
    has_exit = np.array([isinstance(x, str) and x != "" for x in names])
    served = df["_pop_served"].to_numpy(float)
    cut = kind == KIND_CUT
    behind_any = (cnt > 0) | (work > 0) | fire
    item_kind = np.where(cut, np.where(behind_any | has_exit, ITEM_ENTRY, ITEM_FOREST_ROAD), ITEM_EXIT).astype(object)
    # through roads: empty entries sharing an enclosed stretch of the same road in the same block
    group = np.arange(n)
    cand = np.flatnonzero(item_kind == ITEM_FOREST_ROAD)
    if len(cand) > 1:
        key = {}
        i_, j_ = [], []
        for r in cand:
            for c in df["_comps"].iat[r]:
                k = (df["forest_block"].iat[r], c)
                if k in key:
                    i_.append(key[k])
                    j_.append(r)
                else:
                    key[k] = r
        if i_:
            M = csr_matrix((np.ones(len(i_)), (i_, j_)), shape=(n, n))
            _, lab = connected_components(M, directed=False)
            sizes = np.bincount(lab, minlength=n)
            multi = sizes[lab] > 1
            item_kind[cand[multi[cand]]] = ITEM_CROSSING
            group = np.where(multi, lab + n, group)  # crossing rows share a group label
    road_class = df["road_class"].to_numpy(object)
    major = np.isin(road_class.astype(str), list(p.standard_classes))
    # people the post controls: those behind it, or the village whose exit it is (the same people
    # when the village is behind it)
    pop_key = np.where(kind == KIND_EXIT, served, np.maximum(pop, np.where(cut & has_exit, served, 0.0)))
    rec = np.full(n, REC_SIMPLE, dtype=object)
    rec[((item_kind == ITEM_ENTRY) & ((pop_key >= p.standard_pop) | major))
        | ((item_kind == ITEM_EXIT) & (pop_key >= p.standard_pop))] = REC_STANDARD
    rec[item_kind == ITEM_CROSSING] = REC_OPTIONAL
    ends = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy()
    labels = [_road_label(road_class[r], df["road_name"].iat[r]) for r in range(n)]
    roads_of = pd.Series(labels).groupby(group).agg(lambda x: "、".join(dict.fromkeys(x))).to_dict()
    reasons = []
    for r in range(n):
        road = labels[r]
        ik = item_kind[r]
        if ik == ITEM_CROSSING:
            reasons.append(f"{roads_of[group[r]]}穿越林区{df['forest_block'].iat[r]}号（本项{ends[r]}个出入口），"
                           "后方无居民点和林区作业点：可选，宜设宣传牌或纳入巡护")
            continue
        if ik == ITEM_FOREST_ROAD:
            reasons.append(f"{road}进入林区，后方无居民点和林区作业点，控制进山人员：简易检查站（卡口）")
            continue
        parts = []
        if ik == ITEM_EXIT:
            parts.append(f"{names[r]}村口（村庄人口{served[r]:,.0f}人），毗邻林区")
        else:
            if cnt[r] > 0:
                parts.append(f"后方居民点{cnt[r]:.0f}处、人口{pop[r]:,.0f}人")
            if has_exit[r]:
                parts.append(f"兼作{names[r]}村口")
        if work[r] > 0:
            parts.append(f"后方林区作业点{work[r]:.0f}处")
        if fire[r]:
            parts.append("通往易发火林缘")
        if rec[r] == REC_STANDARD:
            why = f"人口{pop_key[r]:,.0f}人，不少于{p.standard_pop:,.0f}人" if pop_key[r] >= p.standard_pop \
                else f"位于{road_class[r]}"
            verdict = f"标准检查站（{why}）"
        else:
            verdict = "简易检查站"
        reasons.append("，".join(parts) + f"，{road}：{verdict}")
    # list order: recommended standard, simple, then optional; people or work sites behind first
    first = ~((cnt > 0) | (work > 0) | has_exit)
    road_rank = np.array([_ROAD_RANK.get(c, len(_ROAD_RANK)) for c in road_class])
    key_rows = pd.DataFrame({"rec": [_REC_ORDER[x] for x in rec], "first": first, "pop": -pop_key, "work": -work,
                             "cnt": -cnt, "road": road_rank, "exit": (kind != KIND_CUT), "group": group})
    # an item's rows take the item's best key and stay together
    gk = key_rows.groupby("group").transform("min")
    order = np.lexsort((np.arange(n), group, gk["exit"], gk["road"], gk["cnt"], gk["work"], gk["pop"], gk["first"],
                        gk["rec"]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    item = np.empty(n, dtype=np.int64)
    _, first_pos = np.unique(group[order], return_index=True)
    item_of_group = dict(zip(group[order][np.sort(first_pos)], range(1, len(first_pos) + 1)))
    item[:] = [item_of_group[x] for x in group]
    out = df.copy()
    out["item_kind"] = item_kind
    out["item"] = item
    out["recommend"] = rec
    out["reason"] = reasons
    out["rank"] = rank
    return out


def _finish(ctx, p, rows, block_rows, g=None):
    crs = ctx.crs
    blocks = gpd.GeoDataFrame(block_rows, geometry="geometry", crs=crs) if block_rows else \
        gpd.GeoDataFrame({"block_id": [], "area_m2": [], "entries": [], "cut_size": [], "checkpoints": [],
                          "merged": [], "work_sites": [], "road_length_m": []}, geometry=[], crs=crs)
    blocks = blocks.set_index("block_id")
    if "cut_size" in blocks:
        blocks["cut_size"] = pd.array(blocks["cut_size"], dtype="Int64")
    if not rows:
        return {"checkpoints": _empty_checkpoints(crs), "forest_blocks": blocks}
    df = pd.DataFrame(rows)
    df = _merge_exits(df, p.group_m, g)
    df = _classify(df, p)
    pts = shapely.points(df[["x", "y"]].to_numpy(float))
    lon, lat, lon_c, lat_c = _lonlat(pts, crs)
    out = gpd.GeoDataFrame({
        "kind": df["kind"].to_numpy(object),
        "item_kind": df["item_kind"].to_numpy(object),
        "item": df["item"].to_numpy(np.int64),
        "recommend": df["recommend"].to_numpy(object),
        "reason": df["reason"].to_numpy(object),
        "town": _town_at(ctx, df[["x", "y"]].to_numpy(float)),
        "forest_block": pd.array(df["forest_block"], dtype="Int64"),
        "road_class": df["road_class"].to_numpy(object), "road_name": df["road_name"].to_numpy(object),
        "settlement_names": np.array([x if isinstance(x, str) else None for x in df["settlement_names"]], dtype=object),
        "settlements_behind": df["settlements_behind"].to_numpy(np.int64),
        "population_behind": df["population_behind"].to_numpy(float),
        "work_sites_behind": df["work_sites_behind"].to_numpy(np.int64),
        "fire_risk_edge": df["fire_risk_edge"].to_numpy(bool),
        "cut_points": df["cut_points"].to_numpy(np.int64),
        "rank": df["rank"].to_numpy(np.int64), "lon": lon, "lat": lat, "lon_cgcs2000": lon_c, "lat_cgcs2000": lat_c,
    }, geometry=pts, crs=crs)
    out = out.sort_values("rank")
    out.index = pd.RangeIndex(1, len(out) + 1, name="checkpoint_id")
    if ctx.towns is not None and ctx.layers.has("boundary"):
        bd = ctx.layers["boundary"]
        keep = bd[bd["town"].isin(ctx.towns)].geometry.union_all()
        out = out[out.intersects(keep)]
    log.info("checkpoints: %d (%d 必经道口, %d 村口; %d recommended) for %d forest blocks", len(out),
             int((out["kind"] == KIND_CUT).sum()), int((out["kind"] == KIND_EXIT).sum()),
             int((out["recommend"] != REC_OPTIONAL).sum()), len(blocks))
    return {"checkpoints": out, "forest_blocks": blocks}


def _merge_exits(df: pd.DataFrame, group_m: float, g: _Graph | None = None) -> pd.DataFrame:
    """Village exits near a 必经道口 or near each other become one checkpoint, only along one road.

    Within ``group_m`` (straight line), an exit merges into a 必经道口 that lies on the village's
    own route to the forest, and exits merge with each other when one's exit piece lies on the
    other's route (the same road out of the villages). Cut points are never merged away.
    """
    if len(df) == 0:
        return df
    lab = _groups(df[["x", "y"]].to_numpy(float), group_m)
    kind = df["kind"].to_numpy(object)
    names = df["settlement_names"].to_numpy(object).copy()
    served = df["_pop_served"].to_numpy(float).copy()
    popb = df["population_behind"].to_numpy(float)
    route = df["_route"].tolist() if "_route" in df else [frozenset()] * len(df)
    piece = df["_piece"].to_numpy(np.int64) if "_piece" in df else np.full(len(df), -1)
    nodes = df["_nodes"].tolist() if "_nodes" in df else [()] * len(df)
    drop = np.zeros(len(df), dtype=bool)

    def on_route(e, other):
        k = piece[e]
        if k < 0 or g is None:
            return False
        return (g.p0[k] in route[other] and g.p1[k] in route[other]) or piece[other] == k

    order = np.argsort(lab, kind="stable")
    bounds = np.flatnonzero(np.r_[True, lab[order][1:] != lab[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = order[a:b]
        if len(idx) == 1:
            continue
        cuts = [i for i in idx if kind[i] == KIND_CUT]
        exits = [i for i in idx if kind[i] == KIND_EXIT]
        left = []
        for e in exits:
            target = next((c for c in cuts if any(x in route[e] for x in nodes[c])), None)
            if target is None:
                left.append(e)
                continue
            old = names[target]
            names[target] = names[e] if not isinstance(old, str) else f"{old}、{names[e]}"
            served[target] = (served[target] if isinstance(old, str) else 0.0) + served[e]
            drop[e] = True
        # exits on one road out of the villages
        while left:
            e = left.pop(0)
            same = [o for o in left if on_route(e, o) or on_route(o, e)]
            if not same:
                continue
            grp = [e] + same
            left = [o for o in left if o not in same]
            best = max(grp, key=lambda i: (popb[i], -i))
            names[best] = "、".join(sorted({names[i] for i in grp if isinstance(names[i], str)}))
            served[best] = float(sum(served[i] for i in grp))
            drop[[i for i in grp if i != best]] = True
    out = df.copy()
    out["settlement_names"] = names
    out["_pop_served"] = served
    return out[~drop].reset_index(drop=True)


# --- result schema (issue 16 §3) -------------------------------------------------------------

from ..schema import Column, ResultLayer, declare  # noqa: E402

declare(
    ResultLayer("checkpoints", "checkpoints", "Point", "森林防火检查站（卡点）",
                "Recommended checkpoints at village exits and forest road entries, ranked, with what lies behind them.",
                (Column("kind", "str", "", "类型", "village_exit or road_entry"), Column("item_kind", "str", "", "检查站类别"),
                 Column("item", "int", "", "清单项"), Column("recommend", "str", "", "建议", "checkpoint type"),
                 Column("reason", "str", "", "理由"),
                 Column("town", "str", "", "乡镇（街道）"),
                 Column("forest_block", "int", "", "林区编号"),
                 Column("road_class", "str", "", "道路等级"),
                 Column("road_name", "str", "", "道路名称"),
                 Column("settlement_names", "str", "", "相关居民点"),
                 Column("settlements_behind", "int", "", "后方居民点数"), Column("population_behind", "float", "", "后方人口"),
                 Column("work_sites_behind", "int", "", "后方林区作业点"), Column("fire_risk_edge", "bool", "", "通往易发火林缘"),
                 Column("cut_points", "int", "", "控制道口数"), Column("rank", "int", "", "优先序"),
                 Column("lon", "float", "deg", "经度（WGS84）"), Column("lat", "float", "deg", "纬度（WGS84）"),
                 Column("lon_cgcs2000", "float", "deg", "经度（CGCS2000）"),
                 Column("lat_cgcs2000", "float", "deg", "纬度（CGCS2000）"))),
    ResultLayer("forest_blocks", "checkpoints", "Polygon", "林区分块",
                "Connected forest blocks with their road entries, the checkpoints that close them and work sites inside.",
                (Column("area_m2", "float", "m2", "面积（平方米）"),
                 Column("entries", "int", "", "入口数"),
                 Column("cut_size", "int", "", "必经道口数"),
                 Column("checkpoints", "int", "", "检查站数"),
                 Column("merged", "int", "", "合并的道口数"),
                 Column("work_sites", "int", "", "林区作业点数"),
                 Column("road_length_m", "float", "m", "林内道路长度（米）"))),
)
