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
   ``group_m`` (``forest_blocks.entries`` counts the groups).
4. **必经道口** (``kind`` ``road_entry``) of a block with roads inside: the smallest set of road points that every route from
   the settlements and stations outside the block into it must pass: a minimum vertex cut
   between a super-source joined to those settlements and stations and a super-sink joined to
   every road piece inside the block (node splitting, max-flow with
   :func:`scipy.sparse.csgraph.maximum_flow`). Of the minimum cuts, the one nearest the forest is
   taken, so the checkpoint is at the entry itself unless a junction outside the forest serves
   several entries at once (three roads merging before the edge need one checkpoint, at the
   merged road). Cut points closer than ``group_m`` share one checkpoint. An empty cut
   (``cut_size`` 0) means no settlement or station reaches the block by road.
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
   point is the checkpoint itself (a village in a forest clearing) counts for it. Checkpoints are
   ranked (``rank`` 1 first) by population behind, then settlements behind, then road class,
   必经道口 before 村口. ``settlement_names`` lists the villages whose exit a checkpoint is.
7. **Coordinates**: ``lon, lat`` in WGS84 (EPSG:4326) and ``lon_cgcs2000, lat_cgcs2000``
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
)

_ROAD_RANK = {c: i for i, c in enumerate(("国道", "省道", "县道", "乡道", "城市道路", "村道", "机耕道", "未知",
                                          "步道", "台阶"))}


@dataclass(frozen=True)
class CheckpointParams:
    """Parameters of the ``checkpoints`` analysis (distances in metres of the working CRS).

    Attributes
    ----------
    group_m : entries and checkpoints closer than this are one (rule ``checkpoint_group_m``, A).
    exit_forest_m : settlements whose built-up area is within this distance of a block get a 村口
        (GB 50039 homes-to-forest distance, 300 m).
    exit_search_m : the road from a village to the forest may be at most this long (A).
    built_up_radius_m : settlement points stand for a built-up disc of this radius (A).
    min_block_area_m2 : forest blocks smaller than this are left out (A).
    exclude_classes : road classes left out of the graph (foot paths and steps are patrolled, not
        checkpointed).
    """

    group_m: float = rules.value("checkpoint_group_m")
    exit_forest_m: float = rules.value("homes_to_forest_m")
    exit_search_m: float = ASSUMPTIONS["checkpoint_exit_search_m"].value
    built_up_radius_m: float = ASSUMPTIONS["settlement_point_radius_m"].value
    min_block_area_m2: float = ASSUMPTIONS["checkpoint_min_block_m2"].value
    exclude_classes: tuple[str, ...] = ("步道", "台阶")

    def __post_init__(self):
        problems = [f"{k} must be > 0 (got {getattr(self, k)})"
                    for k in ("exit_search_m", "built_up_radius_m") if not getattr(self, k) > 0]
        problems += [f"{k} must be >= 0 (got {getattr(self, k)})"
                     for k in ("group_m", "exit_forest_m", "min_block_area_m2") if not getattr(self, k) >= 0]
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


def _min_cut_near_sink(g: _Graph, sources: np.ndarray, sink_pieces: np.ndarray) -> np.ndarray:
    """Minimum vertex cut between ``sources`` (nodes) and the pieces ``sink_pieces``.

    Node x is split into x_in (x) -> x_out (x + n) with capacity 1; pieces join x_out -> y_in
    both ways with a capacity no cut can use. Of the minimum cuts, the one nearest the sink.
    """
    n = g.n
    S, T = 2 * n, 2 * n + 1
    big = len(sources) + 1
    ends = np.concatenate([g.p0[sink_pieces], g.p1[sink_pieces]])
    rows = np.concatenate([np.arange(n), g.p0 + n, g.p1 + n, np.full(len(sources), S), ends + n])
    cols = np.concatenate([np.arange(n) + n, g.p1, g.p0, sources, np.full(len(ends), T)])
    cap = np.concatenate([np.ones(n), np.full(2 * len(g.p0) + len(sources) + len(ends), big)]).astype(np.int32)
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
    return cut


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


def _behind(A: csr_matrix, outside: np.ndarray, closed_nodes, closed_pieces, g: _Graph, starts,
            node_pop: np.ndarray, node_cnt: np.ndarray):
    """Settlements and population cut off from ``outside`` when the group is closed, per start.

    ``starts`` are (node list) per checkpoint: the nodes at and next to it. A closed node is a
    component of its own, so a settlement whose road point is a closed node counts as cut off.
    """
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
    out_ok = outside[keep[outside]]
    reached[lab[out_ok]] = True
    comp_pop = np.bincount(lab, weights=node_pop, minlength=ncomp)
    comp_cnt = np.bincount(lab, weights=node_cnt, minlength=ncomp)
    res = []
    for st in starts:
        st = np.asarray(st, dtype=np.int64)
        comps = np.unique(lab[st]) if len(st) else np.array([], dtype=np.int64)
        comps = comps[~reached[comps]]
        res.append((int(round(comp_cnt[comps].sum())), float(comp_pop[comps].sum())))
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
    cols = ("kind", "forest_block", "road_class", "road_name", "settlement_names", "settlements_behind",
            "population_behind", "rank", "lon", "lat", "lon_cgcs2000", "lat_cgcs2000")
    out = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    out.index.name = "checkpoint_id"
    return out


def _lonlat(points, crs):
    s = gpd.GeoSeries(points, crs=crs)
    w = s.to_crs(WGS84)
    c = s.to_crs(CGCS2000_GEOGRAPHIC)
    return w.x.to_numpy(), w.y.to_numpy(), c.x.to_numpy(), c.y.to_numpy()


@register("checkpoints", title_zh="森林防火检查站", needs=("forest", "roads"),
          optional=("settlements", "stations", "urban_area", "dem"), params=CheckpointParams,
          results=("checkpoints", "forest_blocks"))
def run_checkpoints(ctx, p: CheckpointParams) -> dict:
    """Checkpoints at unavoidable road entries into forest blocks (必经道口) and at village exits (村口).

    Returns ``checkpoints`` (points: ``kind, forest_block, road_class, road_name, settlement_names,
    settlements_behind, population_behind, rank, lon, lat, lon_cgcs2000, lat_cgcs2000``) and
    ``forest_blocks`` (polygons: ``area_m2, entries, cut_size, checkpoints, road_length_m``).
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
    out_pts, out_what = _outside_points(ctx, sett)
    # anchors: settlements, then stations / outside points
    anchor_geoms = np.concatenate([np.asarray(sett["site"].to_numpy(object), dtype=object), out_pts]) \
        if len(out_pts) else np.asarray(sett["site"].to_numpy(object), dtype=object)
    snapped = net.snap(list(anchor_geoms), mask=allowed) if len(anchor_geoms) else \
        pd.DataFrame({"edge": [], "offset_m": [], "ok": []})
    ok = snapped["ok"].to_numpy(bool) if len(snapped) else np.array([], bool)
    n_sett = len(sett)
    if n_sett and (~ok[:n_sett]).any():
        ctx.warn(f"checkpoints: {int((~ok[:n_sett]).sum())} settlement(s) are farther than "
                 f"{net.params.snap_max_m:g} m from any road and are not counted")
    aidx = np.flatnonzero(ok)
    g, anode_ok = _build_graph(net, allowed, blocks, block_ids,
                               snapped["edge"].to_numpy(np.int64)[aidx], snapped["offset_m"].to_numpy(float)[aidx])
    anchor_node = np.full(len(anchor_geoms), -1, dtype=np.int64)
    anchor_node[aidx] = anode_ok
    sett_node = anchor_node[:n_sett]
    outside = anchor_node[n_sett:]
    outside = outside[outside >= 0]
    if len(outside) == 0:
        ctx.warn("checkpoints: nothing stands for the outside (no stations, urban area or settlement on a "
                 "road), so settlements and population behind the checkpoints are not counted")
    else:
        log.info("checkpoints: 'outside' is %s", out_what)

    node_pop = np.zeros(g.n)
    node_cnt = np.zeros(g.n)
    has = sett_node >= 0
    np.add.at(node_pop, sett_node[has], np.nan_to_num(sett["population"].to_numpy(float)[has]))
    np.add.at(node_cnt, sett_node[has], 1.0)
    A = g.adjacency()

    # pieces and nodes by block
    node_block_pieces = pd.DataFrame({"node": np.concatenate([g.p0, g.p1]),
                                      "block": np.concatenate([g.block, g.block])})
    sources_all = np.unique(np.concatenate([sett_node[has], outside]))

    rows = []  # checkpoint rows
    block_rows = []
    for bid, bgeom in zip(block_ids, blocks):
        bp = np.flatnonzero(g.block == bid)
        nodes_in = np.unique(np.concatenate([g.p0[bp], g.p1[bp]])) if len(bp) else np.array([], np.int64)
        # entries: nodes touching a piece of this block and a piece that is not
        other = node_block_pieces[node_block_pieces["block"] != bid]["node"].to_numpy()
        entries = np.intersect1d(nodes_in, other)
        n_entry_groups = len(np.unique(_groups(g.xy[entries], p.group_m))) if len(entries) else 0
        cut = np.array([], dtype=np.int64)
        if len(bp):
            src = np.setdiff1d(sources_all, nodes_in)
            if len(src):
                cut = _min_cut_near_sink(g, src, bp)
        labels = _groups(g.xy[cut], p.group_m) if len(cut) else np.array([], np.int64)
        starts, reps = [], []
        for lab in np.unique(labels):
            members = cut[labels == lab]
            rep = members[_medoid(g.xy[members])]
            reps.append((rep, members))
            # the cut points themselves (a settlement at one is cut off with it) and their neighbours
            starts.append(np.unique(np.concatenate([members, np.setdiff1d(A[members].indices, cut)])))
        behind = _behind(A, outside, cut, [], g, starts, node_pop, node_cnt) if len(cut) and len(outside) else \
            [(0, 0.0)] * len(reps)
        for (rep, members), (cnt, pop) in zip(reps, behind):
            pieces_at = np.flatnonzero(np.isin(g.p0, members) | np.isin(g.p1, members))
            rc, rn = _best_road(g, pieces_at)
            rows.append({"kind": KIND_CUT, "forest_block": int(bid), "road_class": rc, "road_name": rn,
                         "settlement_names": None, "settlements_behind": cnt, "population_behind": pop,
                         "x": g.xy[rep, 0], "y": g.xy[rep, 1]})
        block_rows.append({"block_id": int(bid), "area_m2": float(shapely.area(bgeom)), "entries": n_entry_groups,
                           "cut_size": int(len(cut)) if len(bp) else None,
                           "checkpoints": len(reps), "road_length_m": float(g.length[bp].sum()),
                           "geometry": bgeom})

    rows += _village_exits(ctx, p, g, sett, sett_node, blocks, block_ids, A, outside, node_pop, node_cnt)
    return _finish(ctx, p, rows, block_rows)


def _best_road(g: _Graph, pieces):
    if len(pieces) == 0:
        return None, None
    ranks = np.array([_ROAD_RANK.get(c, len(_ROAD_RANK)) for c in g.road_class[pieces]])
    k = pieces[int(np.argmin(ranks))]
    name = g.road_name[k]
    name = None if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
    return g.road_class[k], name


def _village_exits(ctx, p, g, sett, sett_node, blocks, block_ids, A, outside, node_pop, node_cnt):
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
                                node_pop, node_cnt)
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


def _exit_row(g, sett, k_s, line, piece_seq, cum, path_nodes, from_inside, A, outside, node_pop, node_cnt):
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
    cnt, pop = (0, 0.0)
    if len(outside):
        cnt, pop = _behind(A, outside, [], closed, g, [beyond], node_pop, node_cnt)[0]
    return {"kind": KIND_EXIT, "forest_block": block, "road_class": rc, "road_name": rn,
            "settlement_names": str(sett["name"].iloc[k_s]), "settlements_behind": cnt, "population_behind": pop,
            "x": pt.x, "y": pt.y}


def _finish(ctx, p, rows, block_rows):
    crs = ctx.crs
    blocks = gpd.GeoDataFrame(block_rows, geometry="geometry", crs=crs) if block_rows else \
        gpd.GeoDataFrame({"block_id": [], "area_m2": [], "entries": [], "cut_size": [], "checkpoints": [],
                          "road_length_m": []}, geometry=[], crs=crs)
    blocks = blocks.set_index("block_id")
    if "cut_size" in blocks:
        blocks["cut_size"] = pd.array(blocks["cut_size"], dtype="Int64")
    if not rows:
        return {"checkpoints": _empty_checkpoints(crs), "forest_blocks": blocks}
    df = pd.DataFrame(rows)
    df = _merge_exits(df, p.group_m)
    pts = shapely.points(df[["x", "y"]].to_numpy(float))
    lon, lat, lon_c, lat_c = _lonlat(pts, crs)
    order = np.lexsort((
        (df["kind"] != KIND_CUT).to_numpy(),
        np.array([_ROAD_RANK.get(c, len(_ROAD_RANK)) for c in df["road_class"]]),
        -df["settlements_behind"].to_numpy(float),
        -df["population_behind"].to_numpy(float),
    ))
    rank = np.empty(len(df), dtype=np.int64)
    rank[order] = np.arange(1, len(df) + 1)
    out = gpd.GeoDataFrame({
        "kind": df["kind"].to_numpy(object),
        "forest_block": pd.array(df["forest_block"], dtype="Int64"),
        "road_class": df["road_class"].to_numpy(object), "road_name": df["road_name"].to_numpy(object),
        "settlement_names": df["settlement_names"].astype(object).where(df["settlement_names"].notna(), None).to_numpy(object),
        "settlements_behind": df["settlements_behind"].to_numpy(np.int64),
        "population_behind": df["population_behind"].to_numpy(float),
        "rank": rank, "lon": lon, "lat": lat, "lon_cgcs2000": lon_c, "lat_cgcs2000": lat_c,
    }, geometry=pts, crs=crs)
    out = out.sort_values("rank")
    out.index = pd.RangeIndex(1, len(out) + 1, name="checkpoint_id")
    if ctx.towns is not None and ctx.layers.has("boundary"):
        bd = ctx.layers["boundary"]
        keep = bd[bd["town"].isin(ctx.towns)].geometry.union_all()
        out = out[out.intersects(keep)]
    log.info("checkpoints: %d (%d 必经道口, %d 村口) for %d forest blocks", len(out),
             int((out["kind"] == KIND_CUT).sum()), int((out["kind"] == KIND_EXIT).sum()), len(blocks))
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
        else:
            best = exits[np.argmax(df["population_behind"].to_numpy(float)[exits])]
            names = "、".join(sorted(set(df["settlement_names"].iloc[exits].dropna())))
            df.at[df.index[best], "settlement_names"] = names
            keep.append(best)
    return df.iloc[np.sort(np.asarray(keep))].reset_index(drop=True)
