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
   :func:`scipy.sparse.csgraph.maximum_flow`, on the part of the graph a route can use after its
   last source). Of the minimum cuts, the one nearest the forest is taken, so the checkpoint is at
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
   a settlement inside the forest the route goes the other way, out of the forest. Exits within
   ``group_m`` of a 必经道口 or of another exit are merged into it.
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
from ..rules import Rule
from . import _forest

log = logging.getLogger(__name__)

#: ``kind`` codes (Chinese labels in :mod:`kzgis._labels`): 进入林区必经道口 and 村镇出入口.
KIND_CUT = "road_entry"
KIND_EXIT = "village_exit"

#: Assumptions of this analysis (no national rule found), in the form of :mod:`kzgis.rules`.
ASSUMPTIONS: dict[str, Rule] = rules.group(
    "checkpoint_min_block_m2",
    "checkpoint_exit_search_m",
    "settlement_point_radius_m",
    "checkpoint_cut_merge_m",
    "checkpoint_standard_pop",
    "checkpoint_fire_edge_m",
)

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

    group_m: float = rules.value("checkpoint_group_m")
    cut_merge_m: float = rules.value("checkpoint_cut_merge_m")
    exit_forest_m: float = rules.value("homes_to_forest_m")
    exit_search_m: float = ASSUMPTIONS["checkpoint_exit_search_m"].value
    built_up_radius_m: float = ASSUMPTIONS["settlement_point_radius_m"].value
    min_block_area_m2: float = ASSUMPTIONS["checkpoint_min_block_m2"].value
    exclude_classes: tuple[str, ...] = ("步道", "台阶")
    standard_pop: float = rules.value("checkpoint_standard_pop")
    standard_classes: tuple[str, ...] = ("国道", "省道", "县道")
    fire_edge_m: float = rules.value("checkpoint_fire_edge_m")

    def __post_init__(self):
        problems = [f"{k} must be > 0 (got {getattr(self, k)})"
                    for k in ("exit_search_m", "built_up_radius_m") if not getattr(self, k) > 0]
        problems += [f"{k} must be >= 0 (got {getattr(self, k)})"
                     for k in ("group_m", "cut_merge_m", "exit_forest_m", "min_block_area_m2", "standard_pop",
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
                       sink_nodes: np.ndarray | None = None) -> np.ndarray:
    """Minimum vertex cut between ``sources`` (nodes) and the pieces ``sink_pieces`` (and nodes ``sink_nodes``).

    Node x is split into x_in (x) -> x_out (x + n) with capacity 1; pieces join x_out -> y_in
    both ways with a capacity no cut can use. Of the minimum cuts, the one nearest the sink.
    Only the part of the graph a route from a source to the sink can use after its last source
    is built: the nodes reachable from the sink without passing through a source (the sources met
    on the way are kept as terminals), so the cost follows the block's surroundings, not the county.
    """
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    sink_nodes = np.array([], np.int64) if sink_nodes is None else np.asarray(sink_nodes, dtype=np.int64)
    ends = np.unique(np.concatenate([g.p0[sink_pieces], g.p1[sink_pieces], sink_nodes]))
    if len(sources) == 0 or len(ends) == 0:
        return np.array([], dtype=np.int64)
    local, p_loc = _region(g, ends, sources)
    n = len(local)
    if n == 0:
        return np.array([], dtype=np.int64)
    pos = np.full(g.n, -1, dtype=np.int64)
    pos[local] = np.arange(n)
    src = pos[sources]
    src = src[src >= 0]
    if len(src) == 0:
        return np.array([], dtype=np.int64)
    q0, q1 = pos[g.p0[p_loc]], pos[g.p1[p_loc]]
    e_loc = pos[ends]
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


def _region(g: _Graph, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes reachable from ``start`` without passing through a ``stop`` node (stop nodes met are
    included but not passed), and the pieces among them. Start nodes are never stops."""
    is_stop = np.zeros(g.n, dtype=bool)
    is_stop[stop] = True
    is_stop[start] = False
    # directed adjacency: no way out of a stop node
    i = np.concatenate([g.p0, g.p1])
    j = np.concatenate([g.p1, g.p0])
    keep = ~is_stop[i]
    n1 = g.n + 1  # a virtual root joined to every start node
    i = np.concatenate([i[keep], np.full(len(start), g.n)])
    j = np.concatenate([j[keep], start])
    M = csr_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n1, n1))
    reached = breadth_first_order(M, g.n, directed=True, return_predecessors=False)
    nodes = np.sort(reached[reached < g.n])
    inr = np.zeros(g.n, dtype=bool)
    inr[nodes] = True
    # pieces with both ends in the region and at least one end not a stop
    pk = inr[g.p0] & inr[g.p1] & ~(is_stop[g.p0] & is_stop[g.p1])
    return nodes, np.flatnonzero(pk)


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
    A2 = A.copy()
    if len(closed_pieces):
        cp = np.asarray(closed_pieces, dtype=np.int64)
        drop = csr_matrix((np.ones(2 * len(cp)), (np.concatenate([g.p0[cp], g.p1[cp]]),
                                                  np.concatenate([g.p1[cp], g.p0[cp]]))), shape=A.shape)
        A2 = A2 - A2.multiply(drop > 0)
        A2.eliminate_zeros()
    D = csr_matrix((keep.astype(float), (np.arange(g.n), np.arange(g.n))), shape=A.shape)
    A2 = D @ A2 @ D
    ncomp, lab = connected_components(A2, directed=False)
    reached = np.zeros(ncomp, dtype=bool)
    reached[lab[outside[keep[outside]]]] = True
    return lab, reached


def _behind(A: csr_matrix, outside: np.ndarray, closed_nodes, closed_pieces, g: _Graph, starts,
            weights: np.ndarray):
    """Weights (settlements, population, work sites, fire-edge entries) cut off from ``outside``
    when the group is closed, per start, and the cut-off components each start touches.

    ``starts`` are (node list) per checkpoint: the nodes at and next to it.
    """
    lab, reached = _cut_off(A, outside, closed_nodes, closed_pieces, g)
    ncomp = len(reached)
    comp_w = np.zeros((ncomp, weights.shape[1]))
    np.add.at(comp_w, lab, weights)
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
                cut = _min_cut_near_sink(g, src, bp, ws_nodes)
        labels = _road_merge_groups(g, cut, p.cut_merge_m)
        starts, reps = [], []
        for lab in np.unique(labels):
            members = cut[labels == lab]
            rep = members[_medoid(g.xy[members])]
            reps.append((rep, members))
            # the cut points themselves (a settlement at one is cut off with it) and their neighbours
            starts.append(np.unique(np.concatenate([members, np.setdiff1d(A[members].indices, cut)])))
        n_merged += len(cut) - len(reps)
        if len(cut) and len(outside):
            behind = _behind(A, outside, cut, [], g, starts, weights)
        else:
            behind = [(np.zeros(4), np.array([], np.int64))] * len(reps)
        for (rep, members), (w, comps) in zip(reps, behind):
            pieces_at = np.flatnonzero(np.isin(g.p0, members) | np.isin(g.p1, members))
            rc, rn = _best_road(g, pieces_at)
            # a piece of the block running straight from this cut point to another one encloses a
            # stretch with no node of its own: key it like a cut-off component (negative)
            direct = pieces_at[(g.block[pieces_at] == bid) & np.isin(g.p0[pieces_at], cut)
                               & np.isin(g.p1[pieces_at], cut)]
            comps = np.concatenate([comps, -1 - direct])
            rows.append({"kind": KIND_CUT, "forest_block": int(bid), "road_class": rc, "road_name": rn,
                         "settlement_names": None, "settlements_behind": int(round(w[_W_CNT])),
                         "population_behind": float(w[_W_POP]), "work_sites_behind": int(round(w[_W_WORK])),
                         "fire_risk_edge": bool(w[_W_FIRE] > 0 or weights[members, _W_FIRE].any()),
                         "cut_points": len(members), "_comps": tuple(int(c) for c in comps),
                         "_pop_served": 0.0, "x": g.xy[rep, 0], "y": g.xy[rep, 1]})
        block_rows.append({"block_id": int(bid), "area_m2": float(shapely.area(bgeom)), "entries": n_entry_groups,
                           "cut_size": int(len(cut)) if (len(bp) or len(ws_nodes)) else None,
                           "checkpoints": len(reps), "merged": int(len(cut) - len(reps)),
                           "work_sites": int((work_block == bid).sum()),
                           "road_length_m": float(g.length[bp].sum()), "geometry": bgeom})
    if n_merged:
        ctx.warn(f"checkpoints: cut_merge_m = {p.cut_merge_m:g} m merged {n_merged} road entry point(s) into a "
                 "neighbouring checkpoint; those roads have no post of their own (forest_blocks.merged)")

    rows += _village_exits(ctx, p, g, sett, sett_node, blocks, block_ids, A, outside, weights)
    return _finish(ctx, p, rows, block_rows)


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
    forest_node = np.zeros(g.n, dtype=bool)
    ins = g.block > 0
    forest_node[g.p0[ins]] = True
    forest_node[g.p1[ins]] = True
    # a settlement whose road point is in the forest goes out of it, the others into it
    W = g.adjacency(np.maximum(g.length, 1e-6))
    # piece lookup by node pair (shortest piece)
    pair = pd.DataFrame({"lo": np.minimum(g.p0, g.p1), "hi": np.maximum(g.p0, g.p1), "len": g.length,
                         "k": np.arange(len(g.p0))}).sort_values("len").drop_duplicates(["lo", "hi"])
    piece_of = dict(zip(zip(pair["lo"], pair["hi"]), pair["k"]))
    rows = []
    src_nodes = sett_node[cand]
    uniq = np.unique(src_nodes)
    for c0 in range(0, len(uniq), 32):
        chunk = uniq[c0:c0 + 32]
        dist, pred = dijkstra(W, directed=False, indices=chunk, limit=p.exit_search_m, return_predecessors=True)
        for r, s_node in enumerate(chunk):
            target_mask = ~forest_node if forest_node[s_node] else forest_node
            d = np.where(target_mask, dist[r], np.inf)
            t = int(np.argmin(d))
            if not np.isfinite(d[t]):
                continue
            path_nodes = [t]
            while path_nodes[-1] != s_node:
                path_nodes.append(int(pred[r, path_nodes[-1]]))
            path_nodes.reverse()
            line, piece_seq, cum = _path_line(g, path_nodes, piece_of)
            for k_s in cand[src_nodes == s_node]:
                row = _exit_row(g, sett, k_s, line, piece_seq, cum, path_nodes, forest_node[s_node], A, outside,
                                weights)
                if row is not None:
                    rows.append(row)
    return rows


def _path_line(g, path_nodes, piece_of):
    """Geometry of a node path through the pieces, the pieces used and their cumulative starts."""
    coords, seq, cum = [], [], [0.0]
    if len(path_nodes) == 1:
        xy = g.xy[path_nodes[0]]
        return shapely.LineString([xy, xy]), [], np.array([0.0])
    for x, y in zip(path_nodes[:-1], path_nodes[1:]):
        k = piece_of[(min(x, y), max(x, y))]
        seq.append(k)
        geom = _piece_geom(g, k)
        pts = np.asarray(geom.coords)
        if g.p0[k] != x:
            pts = pts[::-1]
        coords.extend(pts if not coords else pts[1:])
        cum.append(cum[-1] + g.length[k])
    return shapely.LineString(coords), seq, np.array(cum)


def _piece_geom(g, k):
    return substring(g.edge_geoms[g.edge[k]], g.a[k], g.b[k])


def _exit_row(g, sett, k_s, line, piece_seq, cum, path_nodes, from_inside, A, outside, weights):
    area = sett.geometry.iloc[k_s]
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
        inc = np.flatnonzero(((g.p0 == end) | (g.p1 == end)) & (g.block > 0))
        block = int(g.block[inc[0]]) if len(inc) else None
        rc, rn = _best_road(g, np.array([k]))
    else:
        closed, beyond, block, rc, rn = [], [path_nodes[0]], None, None, None
        incident = np.flatnonzero((g.p0 == path_nodes[0]) | (g.p1 == path_nodes[0]))
        if len(incident):
            rc, rn = _best_road(g, incident)
            inb = g.block[incident]
            block = int(inb[inb > 0][0]) if (inb > 0).any() else None
    if from_inside:
        # the village is in the forest: what is behind is the village side
        beyond = [path_nodes[0]]
    w = np.zeros(weights.shape[1])
    if len(outside):
        w = _behind(A, outside, [], closed, g, [beyond], weights)[0][0]
    return {"kind": KIND_EXIT, "forest_block": block, "road_class": rc, "road_name": rn,
            "settlement_names": str(sett["name"].iloc[k_s]), "settlements_behind": int(round(w[_W_CNT])),
            "population_behind": float(w[_W_POP]), "work_sites_behind": int(round(w[_W_WORK])),
            "fire_risk_edge": bool(w[_W_FIRE] > 0), "cut_points": 0, "_comps": (),
            "_pop_served": float(np.nan_to_num(sett["population"].iloc[k_s])), "x": pt.x, "y": pt.y}


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


def _finish(ctx, p, rows, block_rows):
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
    df = _merge_exits(df, p.group_m)
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
        "settlement_names": df["settlement_names"].astype(object).where(df["settlement_names"].notna(), None).to_numpy(object),
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


def _merge_exits(df: pd.DataFrame, group_m: float) -> pd.DataFrame:
    """Village exits near a 必经道口 or near each other become one checkpoint."""
    if len(df) == 0:
        return df
    lab = _groups(df[["x", "y"]].to_numpy(float), group_m)
    keep = []
    for l_ in np.unique(lab):
        idx = np.flatnonzero(lab == l_)
        cuts = idx[df["kind"].to_numpy()[idx] == KIND_CUT]
        exits = idx[df["kind"].to_numpy()[idx] == KIND_EXIT]
        if len(cuts):
            keep.extend(cuts)  # cut points are never merged away: each is a distinct road point
            if len(exits):
                names = "、".join(sorted(set(df["settlement_names"].iloc[exits].dropna())))
                first = cuts[0]
                old = df.at[df.index[first], "settlement_names"]
                df.at[df.index[first], "settlement_names"] = names if pd.isna(old) else f"{old}、{names}"
                df.at[df.index[first], "_pop_served"] = float(df["_pop_served"].iloc[exits].sum())
        else:
            best = exits[np.argmax(df["population_behind"].to_numpy(float)[exits])]
            names = "、".join(sorted(set(df["settlement_names"].iloc[exits].dropna())))
            df.at[df.index[best], "settlement_names"] = names
            df.at[df.index[best], "_pop_served"] = float(df["_pop_served"].iloc[exits].sum())
            keep.append(best)
    return df.iloc[np.sort(np.asarray(keep))].reset_index(drop=True)
