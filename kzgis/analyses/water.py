"""Fire water supply (消防水源分析): coverage along the road network, gaps, new hydrants, old-town checks.

Seed tasks 5/7 (开州府办发〔2023〕47号): hydrants and fire pools with town construction, natural water
with intake points where mains are weak, and the 温泉古镇 requirements (mains >= DN100, a pool
>= 500 m3, a fire-truck intake wharf on the river, hydrants in the dense clusters).

Definitions
-----------
**Hose network.** Protection distances are measured along roads, not as circles: a hose is laid
along streets and lanes, so every line of the ``roads`` layer counts (footpaths and steps too),
in both directions (one-way rules and vehicle classes do not apply to a carried hose). The road
network engine (:mod:`kzgis.network`) provides the edges and the snapping; the routing itself runs
on :class:`~kzgis.analyses._water_graph.SplitGraph`, the engine's edges cut at every point of
interest, with :mod:`scipy.sparse.csgraph`.

**Usable sources** (``water_sources``, every source with ``usable`` and ``reason``): see
:mod:`kzgis.analyses._water_sources`. A hydrant enters the hose network at the nearest road
point, a fire pool or natural intake where the fire truck stands (nearest road of the allowed
classes within ``truck_road_max_m``); the distance from the source to that point is counted in
its reach (``init_m``).

**Coverage** (``water_coverage``, one polygon per usable source): the road pieces within the
source's reach (150 m for hydrants GB 50974 7.2.5, fire-pool intakes GB 50974 6.1.5 and, as an
assumption, natural intakes), cut exactly where the reach runs out, widened by ``lateral_m`` on
both sides (a round buffer: everything within ``lateral_m`` in a straight line of a protected road
point). ``water_circles`` are the straight-line circles, for comparison only, with
``network_share``: the road length the network reaches over the road length inside the circle.

**Settlements** (``water_settlements``, aligned to the settlements layer): a settlement is snapped
to its nearest road point (polygons: a point inside), ``snap_m`` away. A hose runs the whole way,
so a settlement is ``covered`` only when the *hose run* is within the source's reach: the source's
own distance to its road point + the distance along the roads + the settlement's distance from
its road point (``snap_m``). A village 400 m up a slope from the road is not covered by a hydrant
beside that road. ``nearest_source`` / ``distance_m`` are the nearest usable source by hose run
(whether in reach or not); ``covered_after`` with the suggested hydrants (standing on the road);
``coverable`` when some new-hydrant candidate could reach it at all (False: no built-up road near
enough, or the settlement stands too far off the road, so a fire pool or natural intake is the
answer there).

**Built-up roads**: road pieces inside ``urban_area`` polygons, settlement polygons, ``old_towns``
polygons, or within ``builtup_point_radius_m`` of settlement points (the radius of houses around
a settlement point, an assumption), cut exactly at those shapes (``builtup_from`` picks which);
when the run is limited to some townships, only inside them.

**Spacing gaps** (``water_spacing_gaps``): the usable hydrants at their road points; each built-up
road point is given its nearest hydrant along the built-up roads (other roads do not join them). Two hydrants are
*consecutive* where their territories meet; the road path between them through the meeting
point is a gap when longer than ``hydrant_spacing_m`` (120 m, GB 50974 7.2.5). A dead-end street
beyond its last hydrant is not a spacing gap (it shows as uncovered road when beyond reach).

**New hydrants** (``water_suggestions``): candidates every ``candidate_spacing_m`` (at most) along
built-up roads, road ends and junctions included; greedy: most newly covered settlements, then
most newly covered built-up road (exact), until everything coverable is covered, the gain falls
below ``min_new_road_m`` or ``budget`` hydrants are placed. Each pick lists what it adds given
the ones above it. See :mod:`kzgis.analyses._water_greedy`.

**温泉古镇 checks** (``water_compliance``): :mod:`kzgis.analyses._water_oldtown`.

**Townships** (``water_towns``): per township (``boundary`` when loaded, else the settlements'
``town``) the settlements, population and built-up road length covered, before and after the
suggested hydrants, plus a total row ``合计``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import rules
from .._errors import AnalysisError, RecipeError
from .._geom import as_points as _points
from ..analysis import Context, register
from ..crs import require_projected
from ..network import VEHICLE_CLASSES
from . import _water_greedy, _water_oldtown, _water_sources
from ._water_graph import Intervals, SplitGraph, cut_lines

log = logging.getLogger(__name__)

RESULTS = ("water_coverage", "water_circles", "water_sources", "water_settlements", "water_spacing_gaps",
           "water_suggestions", "water_compliance", "water_towns")

@dataclass(frozen=True)
class WaterParams:
    """Parameters of the ``water`` analysis (recipe section ``analyses: water:``). Distances in metres.

    Reach and coverage
    ------------------
    hydrant_reach_m : network distance a hydrant protects (GB 50974 7.2.5).
    pool_reach_m : fire-pool intake protection distance (GB 50974 6.1.5).
    natural_reach_m : natural intake protection distance (A, as hydrants).
    lateral_m : protected width on each side of a protected road (A).

    Usable sources
    --------------
    truck_road_max_m : a pool / natural intake needs a road of ``truck_classes`` this close (A).
    truck_classes : vehicle classes a truck road may be of (``standard``, ``small``).
    suction_lift_max_m : maximum suction lift (GB 50974 4.3.7, 4.4.5).
    water_surface_radius_m : the water surface is the lowest DEM value this close to the intake (A).
    unknown_lift_usable : count a natural intake whose lift is neither surveyed nor derivable.
    pool_volume_min_m3 : minimum fire-pool volume (GB 50974 4.3.4; 50 m3 where only hydrants draw).
    hydrant_unusable_status : a hydrant whose ``status`` contains one of these is not counted.

    Built-up roads, spacing and new hydrants
    ----------------------------------------
    builtup_from : layers defining built-up areas (``urban_area``, ``settlements``, ``old_towns``).
    builtup_point_radius_m : settlement points count as built-up within this radius (A).
    hydrant_spacing_m : maximum spacing of hydrants along built-up roads (GB 50974 7.2.5).
    candidate_spacing_m : new-hydrant candidates at most this far apart along built-up roads (A).
    budget : at most this many new hydrants (A).
    min_new_road_m : a new hydrant covering no new settlement must add this much built-up road (A).
    mains_max_m : when set, new hydrants only on roads this close to a ``water_mains`` line (a hydrant
        needs a main; None: anywhere on built-up roads).

    温泉古镇 checks
    --------------
    old_town_main_diameter_mm, old_town_pool_volume_m3 : seed task 7.
    old_town_pool_search_m : pools inside the old town or this close count (A).
    wharf_max_m : the intake wharf within this distance of the old town (A).
    wharf_water_max_m : and this close to a river / water body when those layers are loaded (A).
    wharf_kinds : ``water_intakes.kind`` values (substrings) that mark a wharf.
    old_town_hydrant_share_min : share of the old town's road length within hydrant reach (A).
    """

    hydrant_reach_m: float = rules.param("hydrant_radius_m")
    pool_reach_m: float = rules.param("pool_intake_radius_m")
    natural_reach_m: float = rules.param("natural_intake_radius_m")
    lateral_m: float = rules.param("water_lateral_m")
    truck_road_max_m: float = rules.param("water_truck_road_m")
    truck_classes: tuple[str, ...] = ("standard", "small")
    suction_lift_max_m: float = rules.param("suction_lift_max_m")
    water_surface_radius_m: float = rules.param("water_surface_radius_m")
    unknown_lift_usable: bool = False
    pool_volume_min_m3: float = rules.param("pool_volume_min_m3")
    hydrant_unusable_status: tuple[str, ...] = ("损坏", "故障", "停用", "废弃", "报废", "拆除", "失效", "无水",
                                                "规划", "拟建", "在建", "broken", "disused", "out of service",
                                                "planned", "removed")
    builtup_from: tuple[str, ...] = ("urban_area", "settlements", "old_towns")
    builtup_point_radius_m: float = rules.param("settlement_point_radius_m")
    hydrant_spacing_m: float = rules.param("hydrant_spacing_m")
    candidate_spacing_m: float = rules.param("water_candidate_spacing_m")
    budget: int = rules.param("water_budget", int)
    mains_max_m: float | None = None
    min_new_road_m: float = rules.param("water_min_new_road_m")
    old_town_main_diameter_mm: float = rules.param("old_town_main_diameter_mm")
    old_town_pool_volume_m3: float = rules.param("old_town_pool_volume_m3")
    old_town_pool_search_m: float = rules.param("old_town_pool_search_m")
    wharf_max_m: float = rules.param("old_town_wharf_m")
    wharf_water_max_m: float = rules.param("old_town_wharf_water_m")
    wharf_kinds: tuple[str, ...] = ("取水码头", "码头", "wharf")
    old_town_hydrant_share_min: float = rules.param("old_town_hydrant_share")

    def __post_init__(self):
        problems = []
        for name in ("hydrant_reach_m", "pool_reach_m", "natural_reach_m", "hydrant_spacing_m",
                     "candidate_spacing_m"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("lateral_m", "truck_road_max_m", "suction_lift_max_m", "water_surface_radius_m",
                     "pool_volume_min_m3", "builtup_point_radius_m", "min_new_road_m", "old_town_pool_search_m",
                     "wharf_max_m", "wharf_water_max_m", "old_town_main_diameter_mm", "old_town_pool_volume_m3"):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.mains_max_m is not None and not self.mains_max_m >= 0:
            problems.append(f"mains_max_m must be >= 0 (or left out), got {self.mains_max_m!r}")
        if self.budget < 0:
            problems.append(f"budget must be >= 0, got {self.budget!r}")
        if not 0 <= self.old_town_hydrant_share_min <= 1:
            problems.append("old_town_hydrant_share_min is a share between 0 and 1, got "
                            f"{self.old_town_hydrant_share_min!r}")
        for c in self.truck_classes:
            if c not in VEHICLE_CLASSES:
                problems.append(f"truck_classes: unknown vehicle class {c!r} (valid: {', '.join(VEHICLE_CLASSES)})")
        if not self.truck_classes:
            problems.append("truck_classes must name at least one vehicle class")
        for k in self.builtup_from:
            if k not in ("urban_area", "settlements", "old_towns"):
                problems.append(f"builtup_from: {k!r} is not one of urban_area, settlements, old_towns")
        if problems:
            raise RecipeError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# geometry helpers


def intervals_in(lines, polys) -> tuple[Intervals, np.ndarray]:
    """The pieces of ``lines`` inside ``polys``, exactly: intervals and the polygon of each."""
    lines = np.asarray(lines, dtype=object)
    polys = np.asarray(polys, dtype=object)
    if not len(lines) or not len(polys):
        return Intervals.empty(), np.zeros(0, dtype=np.int64)
    tree = shapely.STRtree(lines)
    # lines wholly inside: no intersection needed
    pi_in, ei_in = tree.query(polys, predicate="contains")
    pi, ei = tree.query(polys, predicate="intersects")
    whole = pd.MultiIndex.from_arrays([pi_in, ei_in])
    cross = ~pd.MultiIndex.from_arrays([pi, ei]).isin(whole)
    pi, ei = pi[cross], ei[cross]
    edge = [ei_in]
    start = [np.zeros(len(ei_in))]
    end = [shapely.length(lines[ei_in])]
    owner = [pi_in]
    if len(pi):
        inter = shapely.intersection(lines[ei], polys[pi])
        parts, idx = shapely.get_parts(inter, return_index=True)
        while len(parts) and np.isin(shapely.get_type_id(parts), (4, 5, 6, 7)).any():
            multi = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
            sub, sidx = shapely.get_parts(parts[multi], return_index=True)
            parts = np.concatenate([parts[~multi], sub])
            idx = np.concatenate([idx[~multi], idx[multi][sidx]])
        isline = shapely.get_type_id(parts) == 1
        parts, idx = parts[isline], idx[isline]
        e = ei[idx]
        a = shapely.line_locate_point(lines[e], shapely.get_point(parts, 0))
        b = shapely.line_locate_point(lines[e], shapely.get_point(parts, -1))
        edge.append(e)
        start.append(np.minimum(a, b))
        end.append(np.maximum(a, b))
        owner.append(pi[idx])
    iv = Intervals(np.concatenate(edge).astype(np.int64), np.concatenate(start), np.concatenate(end))
    own = np.concatenate(owner).astype(np.int64)
    keep = iv.end - iv.start > 1e-6
    return Intervals(iv.edge[keep], iv.start[keep], iv.end[keep]), own[keep]


def _per_owner(iv: Intervals, owner, i) -> Intervals:
    k = owner == i
    return Intervals(iv.edge[k], iv.start[k], iv.end[k]).norm()


def _contains(iv: Intervals, edge, x) -> np.ndarray:
    """Whether position ``x`` on ``edge`` lies in the normalised intervals."""
    edge = np.asarray(edge, dtype=np.int64)
    x = np.asarray(x, dtype=float)
    out = np.zeros(len(edge), dtype=bool)
    if not len(iv) or not len(edge):
        return out
    q = pd.DataFrame({"edge": edge, "x": x, "i": np.arange(len(edge))}).sort_values("x")
    r = pd.DataFrame({"edge": iv.edge, "x": iv.start, "end": iv.end}).sort_values("x")
    m = pd.merge_asof(q, r, on="x", by="edge", direction="backward")
    ok = m["end"].notna().to_numpy() & (m["x"].to_numpy() <= m["end"].to_numpy() + 1e-9)
    out[m["i"].to_numpy()[ok]] = True
    return out


def _empty(columns, crs, geom=True):
    if geom:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=crs)
    return pd.DataFrame({c: [] for c in columns})


def _path_line(coords_list):
    coords = []
    for c in coords_list:
        if coords and len(c) and abs(coords[-1][0] - c[0][0]) < 1e-6 and abs(coords[-1][1] - c[0][1]) < 1e-6:
            c = c[1:]
        coords.extend(map(tuple, c))
    return shapely.LineString(coords) if len(coords) >= 2 else None


# ---------------------------------------------------------------------------------------------
# the analysis


@register("water", title_zh="消防水源分析", needs=("roads",),
          needs_any=(("hydrants", "fire_pools", "water_intakes"),),
          optional=("settlements", "boundary", "urban_area", "old_towns", "water_mains", "rivers", "water_bodies",
                    "dem"),
          after=("access",), params=WaterParams, results=RESULTS)
def run_water(ctx: Context, p: WaterParams) -> dict:
    crs = require_projected(ctx.crs, "the water analysis")
    net = ctx.network()
    edges = net.edges
    m = len(edges)
    if m == 0:
        raise AnalysisError("the road network has no edges: the roads layer is empty or not lines")
    L = edges["length_m"].to_numpy(float)
    egeoms = np.asarray(edges.geometry.values, dtype=object)
    road_fid = edges["road_fid"].to_numpy()

    src, use = _usable_sources(ctx, net, p)
    reach_of = {"hydrant": p.hydrant_reach_m, "pool": p.pool_reach_m, "natural": p.natural_reach_m}
    sett, s_snap, s_ok, s_off, s_pop = _settlement_snaps(ctx, net, crs, m)
    s_town = _settlement_towns(ctx, sett)

    bu = _builtup(ctx, p, egeoms, sett)
    if not len(bu):
        ctx.warn("water: no built-up road found (no urban_area / settlement / old_towns overlap the roads); "
                 "spacing gaps and new hydrants are not computed")
    c_edge, c_off = _candidates(bu, p)

    G, use_node, s_node, cand_node_all = _split_graph(net, L, use, sett, s_snap, s_ok, c_edge, c_off, bu)
    init = use["init_m"].to_numpy(float)
    src_iv, src_owner, covered, s_by = _cover_by_source(G, use, use_node, init, egeoms, reach_of, sett, s_node,
                                                        s_off, m)
    is_h = use["source_kind"].to_numpy() == "hydrant"
    hk = is_h[src_owner] if len(src_owner) else np.zeros(0, bool)
    hydrant_cover = Intervals(src_iv.edge[hk], src_iv.start[hk], src_iv.end[hk]).norm()

    coverage = _coverage_layer(use, src_iv, src_owner, egeoms, p, crs)
    circles = _circles_layer(use, src_iv, src_owner, egeoms, reach_of, crs)

    # -- settlements: covered, nearest source ----------------------------------------------------
    settlements = _settlements_layer(G, sett, s_town, s_snap, s_node, s_off, s_pop, use, use_node, init, s_by,
                                     crs)

    # -- spacing gaps -------------------------------------------------------------------------------
    gaps = _spacing_gaps(G, use, use_node, is_h, egeoms, p, crs)

    # -- new hydrants ---------------------------------------------------------------------------------
    uncovered_bu = bu.subtract(covered, L) if len(covered) else bu
    suggestions, after_cover, after_settled, coverable = _suggest(
        ctx, G, p, bu, uncovered_bu, covered, c_edge, c_off, cand_node_all, egeoms, edges, sett, s_node, s_pop,
        settlements["covered"].to_numpy(bool) if len(sett) else np.zeros(0, bool), s_off, crs)
    if len(sett):
        settlements.insert(settlements.columns.get_loc("covered") + 2, "covered_after", after_settled)
        settlements.insert(settlements.columns.get_loc("covered_after") + 1, "coverable", coverable)

    # -- old towns -------------------------------------------------------------------------------------
    compliance = _compliance(ctx, p, src, egeoms, road_fid, L, hydrant_cover)

    # -- townships -------------------------------------------------------------------------------------
    towns = _towns_table(ctx, s_town, settlements, s_pop, bu, covered, after_cover, after_settled, egeoms)

    sources_out = _sources_layer(src, crs)
    log.info("water: %d of %d sources usable; %d settlements covered of %d; %d spacing gaps; %d new hydrants",
             len(use), len(src), int(settlements["covered"].sum()) if len(sett) else 0, len(sett), len(gaps),
             len(suggestions))
    return {"water_coverage": coverage, "water_circles": circles, "water_sources": sources_out,
            "water_settlements": settlements, "water_spacing_gaps": gaps, "water_suggestions": suggestions,
            "water_compliance": compliance, "water_towns": towns}


def _usable_sources(ctx, net, p):
    """Every water source with its verdict, and the usable ones that enter a road (warns about the rest)."""
    src = _water_sources.evaluate(ctx, net, p)
    use = src[src["usable"].to_numpy(bool) & (src["edge"].to_numpy() >= 0)].reset_index(drop=True)
    n_bad = int((~src["usable"]).sum())
    if n_bad:
        ctx.warn(f"water: {n_bad} of {len(src)} water sources are not counted (see water_sources.reason)")
    return src, use


def _settlement_snaps(ctx, net, crs, m):
    """The settlements, their road points, which snapped, their distance to the road and their population."""
    layers = ctx.layers
    if layers.has("settlements"):
        sett = layers["settlements"]
    else:
        sett = gpd.GeoDataFrame({"name": []}, geometry=[], crs=crs)
    s_snap = net.snap(sett.geometry, mask=np.ones(m, dtype=bool)) if len(sett) else \
        pd.DataFrame({"edge": [], "offset_m": [], "snap_m": [], "x": [], "y": [], "ok": []})
    s_ok = s_snap["ok"].to_numpy(bool) if len(sett) else np.zeros(0, bool)
    n_far = int((~s_ok).sum())
    if n_far:
        ctx.warn(f"water: {n_far} settlement(s) farther than {net.params.snap_max_m:g} m from any road "
                 "count as not covered")
    # the settlement's own distance from its road point: the last stretch of every hose run
    s_off = np.where(s_ok, s_snap["snap_m"].to_numpy(float), np.inf) if len(sett) else np.zeros(0)
    s_pop = pd.to_numeric(sett["population"], errors="coerce").fillna(0.0).to_numpy(float) \
        if "population" in sett else np.zeros(len(sett))
    return sett, s_snap, s_ok, s_off, s_pop


def _candidates(bu: Intervals, p) -> tuple[np.ndarray, np.ndarray]:
    """New-hydrant candidate points (edge, offset) every candidate_spacing_m along the built-up roads."""
    lens = bu.end - bu.start
    npieces = np.maximum(np.ceil(lens / p.candidate_spacing_m - 1e-9).astype(np.int64), 1) if len(bu) else \
        np.zeros(0, np.int64)
    rep = np.repeat(np.arange(len(bu)), npieces + 1)
    k = np.arange(len(rep)) - np.repeat(np.concatenate([[0], np.cumsum(npieces + 1)[:-1]]), npieces + 1) \
        if len(rep) else np.zeros(0)
    c_edge = bu.edge[rep] if len(bu) else np.zeros(0, np.int64)
    c_off = (bu.start[rep] + lens[rep] * k / npieces[rep]) if len(bu) else np.zeros(0)
    return c_edge, c_off


def _split_graph(net, L, use, sett, s_snap, s_ok, c_edge, c_off, bu):
    """The road graph split at sources, settlements, candidates and built-up limits, and those points' nodes."""
    edges = net.edges
    pts_edge = np.concatenate([use["edge"].to_numpy(np.int64),
                               s_snap["edge"].to_numpy(np.int64)[s_ok] if len(sett) else np.zeros(0, np.int64),
                               c_edge, bu.edge, bu.edge]).astype(np.int64)
    pts_off = np.concatenate([use["offset_m"].to_numpy(float),
                              s_snap["offset_m"].to_numpy(float)[s_ok] if len(sett) else np.zeros(0),
                              c_off, bu.start, bu.end])
    G = SplitGraph(edges["u"].to_numpy(), edges["v"].to_numpy(), L, net.n_nodes, pts_edge, pts_off)
    n_use, n_s = len(use), int(s_ok.sum())
    use_node = G.point_node[:n_use]
    s_node = np.full(len(sett), -1, dtype=np.int64)
    s_node[s_ok] = G.point_node[n_use:n_use + n_s]
    cand_node_all = G.point_node[n_use + n_s:n_use + n_s + len(c_edge)]
    sub = G.sub
    G.add_mask("builtup", _contains(bu, sub["edge"].to_numpy(), (sub["start"] + sub["end"]).to_numpy() / 2))
    return G, use_node, s_node, cand_node_all


def _cover_by_source(G, use, use_node, init, egeoms, reach_of, sett, s_node, s_off, m):
    """Road stretches each source covers (by owner and merged) and the nearest source covering each settlement.

    Sources run in batches of sources that cannot reach the same place.
    """
    entry_xy = _entry_xy(egeoms, use)
    per_iv, per_owner = [], []
    s_best = np.full(len(sett), np.inf)
    s_by = np.full(len(sett), -1, dtype=np.int64)
    for kind in _water_sources.KINDS:
        idx = np.flatnonzero(use["source_kind"].to_numpy() == kind)
        if not len(idx):
            continue
        R = reach_of[kind]
        for b in SplitGraph.batches(entry_xy[idx], R):
            ids = idx[b]
            dist, label = G.nearest(use_node[ids], limit=R, init=init[ids])
            iv, lab = G.cover(dist, label, R)
            per_iv.append(iv)
            per_owner.append(ids[lab])
            if len(sett):
                # the whole hose run: source to its road point + along the roads + road to settlement
                ds = np.where(s_node >= 0, dist[np.maximum(s_node, 0)] + s_off, np.inf)
                better = (ds <= R + 1e-9) & (ds < s_best)
                s_best[better] = ds[better]
                s_by[better] = ids[label[s_node[better]]]
    if per_iv:
        all_iv = Intervals(np.concatenate([x.edge for x in per_iv]), np.concatenate([x.start for x in per_iv]),
                           np.concatenate([x.end for x in per_iv]))
        all_owner = np.concatenate(per_owner)
    else:
        all_iv, all_owner = Intervals.empty(), np.zeros(0, dtype=np.int64)
    src_iv, src_owner = _water_greedy.norm_by_owner(all_iv, all_owner, m)
    return src_iv, src_owner, all_iv.norm(), s_by


def _sources_layer(src, crs) -> gpd.GeoDataFrame:
    """The water_sources output layer: every source, its verdict and its road distance."""
    sources_out = gpd.GeoDataFrame(src.drop(columns=["geometry", "edge", "offset_m", "fid"]),
                                   geometry=list(src["geometry"]), crs=crs)
    sources_out = sources_out.rename(columns={"init_m": "road_m"})
    return sources_out


# ---------------------------------------------------------------------------------------------
# steps


def _entry_xy(egeoms, use) -> np.ndarray:
    if not len(use):
        return np.zeros((0, 2))
    e = use["edge"].to_numpy(np.int64)
    pts = shapely.line_interpolate_point(egeoms[e], use["offset_m"].to_numpy(float))
    return shapely.get_coordinates(pts)


def _builtup(ctx, p, egeoms, sett) -> Intervals:
    layers = ctx.layers
    polys = []
    if "urban_area" in p.builtup_from and layers.has("urban_area"):
        polys.extend(layers["urban_area"].geometry.values)
    if "old_towns" in p.builtup_from and layers.has("old_towns"):
        polys.extend(layers["old_towns"].geometry.values)
    if "settlements" in p.builtup_from and len(sett):
        g = np.asarray(sett.geometry.values, dtype=object)
        tid = shapely.get_type_id(g)
        polys.extend(g[np.isin(tid, (3, 6))])
        pts = g[np.isin(tid, (0, 4))]
        if len(pts) and p.builtup_point_radius_m > 0:
            polys.extend(shapely.buffer(pts, p.builtup_point_radius_m))
    if not polys:
        return Intervals.empty()
    iv, _ = intervals_in(egeoms, polys)
    bu = iv.norm()
    if ctx.towns and layers.has("boundary"):
        b = layers["boundary"]
        sel = b[b["town"].isin(ctx.towns)]
        tiv, _ = intervals_in(egeoms, sel.geometry.values)
        bu = bu.intersect(tiv.norm())
    return bu


def _coverage_layer(use, src_iv, src_owner, egeoms, p, crs):
    cols = ["source_kind", "source_id", "reach_m", "road_m", "lateral_m"]
    if not len(use) or not len(src_iv):
        return _empty(cols, crs)
    pieces = cut_lines(egeoms, src_iv)
    order = np.argsort(src_owner, kind="stable")
    owners = src_owner[order]
    multi = shapely.multilinestrings(pieces[order], indices=np.unique(owners, return_inverse=True)[1])
    who = np.unique(owners)
    road_m = np.bincount(src_owner, weights=src_iv.end - src_iv.start, minlength=len(use))[who]
    polys = shapely.buffer(multi, p.lateral_m) if p.lateral_m > 0 else multi
    u = use.iloc[who]
    return gpd.GeoDataFrame({"source_kind": u["source_kind"].to_numpy(), "source_id": u["source_id"].to_numpy(),
                             "reach_m": u["reach_m"].to_numpy(float), "road_m": road_m,
                             "lateral_m": p.lateral_m}, geometry=polys, crs=crs)


def _circles_layer(use, src_iv, src_owner, egeoms, reach_of, crs):
    cols = ["source_kind", "source_id", "radius_m", "road_in_circle_m", "road_m", "network_share"]
    if not len(use):
        return _empty(cols, crs)
    pts = np.asarray(use["geometry"].values, dtype=object)
    radius = use["source_kind"].map(reach_of).to_numpy(float)
    circles = shapely.buffer(pts, radius, quad_segs=32)
    iv, own = intervals_in(egeoms, circles)
    inside = np.zeros(len(use))
    if len(iv):
        iv2, own2 = _water_greedy.norm_by_owner(iv, own, len(egeoms))
        inside = np.bincount(own2, weights=iv2.end - iv2.start, minlength=len(use))
    reached = np.bincount(src_owner, weights=src_iv.end - src_iv.start, minlength=len(use)) if len(src_iv) else \
        np.zeros(len(use))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(inside > 0, np.minimum(reached / np.where(inside > 0, inside, 1.0), 1.0), np.nan)
    return gpd.GeoDataFrame({"source_kind": use["source_kind"].to_numpy(), "source_id": use["source_id"].to_numpy(),
                             "radius_m": radius, "road_in_circle_m": inside, "road_m": reached,
                             "network_share": share}, geometry=circles, crs=crs)


def _settlements_layer(G, sett, s_town, s_snap, s_node, s_off, s_pop, use, use_node, init, s_by, crs):
    cols = ["name", "town", "population", "covered", "covered_by", "covered_after", "coverable", "nearest_source",
            "nearest_kind", "distance_m", "snap_m"]
    if not len(sett):
        return _empty(cols, crs)
    dist, label = G.nearest(use_node, init=init) if len(use) else (np.full(G.n, np.inf), np.full(G.n, -1))
    ok = s_node >= 0
    d = np.full(len(sett), np.inf)
    lab = np.full(len(sett), -1, dtype=np.int64)
    d[ok] = dist[s_node[ok]] + s_off[ok]
    lab[ok] = label[s_node[ok]]
    sid = use["source_id"].to_numpy(object) if len(use) else np.zeros(0, object)
    skind = use["source_kind"].to_numpy(object) if len(use) else np.zeros(0, object)
    reached = lab >= 0
    out = gpd.GeoDataFrame({
        "name": sett["name"].to_numpy(object) if "name" in sett else None,
        "town": s_town,
        "population": s_pop,
        "covered": s_by >= 0,
        "covered_by": np.where(s_by >= 0, sid[np.maximum(s_by, 0)] if len(sid) else None, None),
        "nearest_source": np.where(reached, sid[np.maximum(lab, 0)] if len(sid) else None, None),
        "nearest_kind": np.where(reached, skind[np.maximum(lab, 0)] if len(skind) else None, None),
        "distance_m": np.where(reached, d, np.nan),
        "snap_m": s_snap["snap_m"].to_numpy(float),
    }, geometry=list(sett.geometry.values), index=sett.index, crs=crs)
    return out


def _spacing_gaps(G, use, use_node, is_h, egeoms, p, crs):
    cols = ["hydrant_a", "hydrant_b", "spacing_m", "length_m", "limit_m"]
    if not is_h.any() or "builtup" not in G.masks or not G.masks["builtup"].any():
        return _empty(cols, crs)
    hid = np.flatnonzero(is_h)
    dist, label, pred = G.nearest(use_node[hid], subgraph="builtup", predecessors=True)
    sub = G.sub[G.masks["builtup"]]
    a, b, w = sub["a"].to_numpy(), sub["b"].to_numpy(), sub["w"].to_numpy()
    la, lb = label[a], label[b]
    P = dist[a] + w + dist[b]
    gap = (la >= 0) & (lb >= 0) & (la != lb) & (P > p.hydrant_spacing_m + 1e-6)
    if not gap.any():
        return _empty(cols, crs)
    # piece lookup by node pair (shortest built-up piece)
    s2 = sub.assign(lo=np.minimum(a, b), hi=np.maximum(a, b)).sort_values("w", kind="stable")
    s2 = s2.drop_duplicates(["lo", "hi"]).reset_index(drop=True)
    lookup = dict(zip(zip(s2["lo"].tolist(), s2["hi"].tolist()), range(len(s2))))

    def chain(x):
        out = [x]
        while pred[out[-1]] >= 0:
            out.append(int(pred[out[-1]]))
        return out

    rows, paths, seen = [], [], set()
    sid = use["source_id"].to_numpy(object)
    for i in np.flatnonzero(gap):
        x, y = int(a[i]), int(b[i])
        ha, hb = hid[la[i]], hid[lb[i]]
        key = (min(ha, hb), max(ha, hb), min(x, y), max(x, y))
        if key in seen:
            continue
        seen.add(key)
        nodes = chain(x)[::-1] + chain(y)
        steps = [(lookup[(min(n1, n2), max(n1, n2))], n1) for n1, n2 in zip(nodes[:-1], nodes[1:])]
        paths.append(steps)
        rows.append({"hydrant_a": sid[ha], "hydrant_b": sid[hb], "spacing_m": float(P[i]), "length_m": float(P[i]),
                     "limit_m": p.hydrant_spacing_m})
    flat = np.array([k for st in paths for k, _ in st], dtype=np.int64)
    pieces = cut_lines(egeoms, Intervals(s2["edge"].to_numpy()[flat], s2["start"].to_numpy()[flat],
                                         s2["end"].to_numpy()[flat]))
    coords = shapely.get_coordinates(pieces, return_index=True)
    xy, owner = coords
    bounds = np.searchsorted(owner, np.arange(len(pieces) + 1))
    s2a = s2["a"].to_numpy()
    geoms, j = [], 0
    for st in paths:
        parts = []
        for k, n1 in st:
            c = xy[bounds[j]:bounds[j + 1]]
            parts.append(c if s2a[k] == n1 else c[::-1])
            j += 1
        geoms.append(_path_line(parts))
    return gpd.GeoDataFrame(rows, columns=cols, geometry=geoms, crs=crs)


def _suggest(ctx, G, p, bu, uncovered_bu, covered, c_edge, c_off, cand_node_all, egeoms, edges, sett, s_node,
             s_pop, s_covered, s_off, crs):
    cols = ["rank", "source_kind", "town", "new_settlements", "new_population", "new_road_m", "settlement_ids",
            "road_fid", "road_name", "edge", "offset_m"]
    after_cover = covered
    after_settled = s_covered.copy()
    coverable = s_covered.copy()
    if not len(cand_node_all) or p.budget == 0:
        return _empty(cols, crs), after_cover, after_settled, coverable
    # one candidate per node (junctions appear once per edge)
    node, first = np.unique(cand_node_all, return_index=True)
    first = np.sort(first)
    cn = cand_node_all[first]
    ce, co = c_edge[first], c_off[first]
    cxy = shapely.get_coordinates(shapely.line_interpolate_point(egeoms[ce], co))
    if p.mains_max_m is not None:
        if ctx.layers.has("water_mains"):
            tree = shapely.STRtree(np.asarray(ctx.layers["water_mains"].geometry.values, dtype=object))
            qi, _ = tree.query(shapely.points(cxy), predicate="dwithin", distance=p.mains_max_m)
            keep = np.zeros(len(cn), dtype=bool)
            keep[qi] = True
            cn, ce, co, cxy = cn[keep], ce[keep], co[keep], cxy[keep]
        else:
            ctx.warn("water: mains_max_m is set but there is no water_mains layer; new hydrants are not "
                     "limited to roads near mains")
    R = p.hydrant_reach_m
    targets = np.flatnonzero((s_node >= 0) & ~s_covered)
    keep_edges = np.unique(uncovered_bu.edge) if len(uncovered_bu) else np.zeros(0, np.int64)
    iv, owner, t_cand, t_target = _water_greedy.reach_sets(G, cn, cxy, R, s_node[targets], keep_edges=keep_edges,
                                                           target_extra=s_off[targets])
    coverable[targets[np.unique(t_target)]] = True
    weight = np.ones(len(targets))
    picks = _water_greedy.greedy(iv, owner, len(cn), uncovered_bu, t_cand, t_target, weight, p.budget,
                                 p.min_new_road_m)
    rows, geoms, new_ivs = [], [], []
    sfid = np.asarray(sett.index)
    names = edges["name"].to_numpy(object)
    rfid = edges["road_fid"].to_numpy()
    for rank, (c, newly, road, civ) in enumerate(picks, start=1):
        si = targets[np.asarray(newly, dtype=np.int64)] if newly else np.zeros(0, np.int64)
        after_settled[si] = True
        new_ivs.append(civ)
        rows.append({"rank": rank, "source_kind": "hydrant", "town": None, "new_settlements": len(si),
                     "new_population": float(s_pop[si].sum()), "new_road_m": road, "settlement_ids": [v.item() if hasattr(v, "item") else v for v in sfid[si]],
                     "road_fid": rfid[ce[c]].item() if hasattr(rfid[ce[c]], "item") else rfid[ce[c]],
                     "road_name": names[ce[c]], "edge": int(ce[c]), "offset_m": float(co[c])})
        geoms.append(shapely.Point(cxy[c]))
    if new_ivs:
        add = new_ivs[0]
        for x in new_ivs[1:]:
            add = add.concat(x)
        after_cover = covered.concat(add).norm()
    n_left = int((~after_settled[targets]).sum()) if len(targets) else 0
    if n_left:
        ctx.warn(f"water: {n_left} uncovered settlement(s) stay uncovered after the suggested hydrants "
                 "(no built-up road within hydrant reach, or budget spent)")
    if len(picks) >= p.budget and p.budget > 0:
        ctx.warn(f"water: the new-hydrant budget ({p.budget}) is spent before full coverage")
    if not rows:
        return _empty(cols, crs), after_cover, after_settled, coverable
    out = gpd.GeoDataFrame(rows, columns=cols, geometry=geoms, crs=crs)
    if ctx.layers.has("boundary"):
        out["town"] = _town_of_points(ctx, out.geometry.values)
    return out, after_cover, after_settled, coverable


def _compliance(ctx, p, src, egeoms, road_fid, L, hydrant_cover):
    cols = ["area", "old_town_id", "rule_key", "rule", "required", "found", "passed", "offending",
            "required_value", "found_value", "source"]
    layers = ctx.layers
    if not layers.has("old_towns"):
        return pd.DataFrame({c: [] for c in cols})
    ot = layers["old_towns"]
    iv, own = intervals_in(egeoms, ot.geometry.values)
    road_in = {i: _per_owner(iv, own, i) for i in range(len(ot))}
    water = []
    for kind in ("rivers", "water_bodies"):
        if layers.has(kind):
            water.extend(layers[kind].geometry.values)
    mains = layers["water_mains"] if layers.has("water_mains") else None
    out = _water_oldtown.check(ot, src, mains, water if water else None, road_in, hydrant_cover, road_fid, L, p,
                               {r.rule: r for r in rules.in_force(p) if r.rule})
    if layers.has("boundary") and len(out):
        town = dict(zip(ot.index, _town_of_points(ctx, ot.geometry.values)))
        out.insert(2, "town", out["old_town_id"].map(town))
    return out


def _town_of_points(ctx, geoms) -> np.ndarray:
    b = ctx.layers["boundary"]
    pts = _points(geoms)
    out = np.full(len(pts), None, dtype=object)
    if not len(pts):
        return out
    tree = shapely.STRtree(np.asarray(b.geometry.values, dtype=object))
    qi, ti = tree.query(pts, predicate="within")
    towns = b["town"].to_numpy(object)
    out[qi] = towns[ti]
    return out


def _settlement_towns(ctx, sett) -> np.ndarray:
    """Each settlement's township: its ``town`` field, else the boundary polygon it lies in."""
    town = sett["town"].to_numpy(object).copy() if "town" in sett else np.full(len(sett), None, dtype=object)
    missing = pd.isna(pd.Series(town, dtype=object)).to_numpy()
    if missing.any() and ctx.layers.has("boundary"):
        town[missing] = _town_of_points(ctx, sett.geometry.values[missing])
    return town


def _towns_table(ctx, town, settlements, s_pop, bu, covered, after_cover, after_settled, egeoms):
    layers = ctx.layers
    has_b = layers.has("boundary")
    names = []
    if has_b:
        names = [t for t in layers["boundary"]["town"].tolist() if t is not None]
    names += [t for t in pd.unique(pd.Series(town, dtype=object).dropna()) if t not in names]
    if ctx.towns:
        names = [t for t in names if t in ctx.towns]
    cov = settlements["covered"].to_numpy(bool) if len(town) else np.zeros(0, bool)
    bu_cov = bu.intersect(covered) if len(bu) and len(covered) else Intervals.empty()
    bu_after = bu.intersect(after_cover) if len(bu) and len(after_cover) else Intervals.empty()
    road = {}
    if has_b and len(bu):
        b = layers["boundary"]
        tiv, town_i = intervals_in(egeoms, b.geometry.values)
        tiv, town_i = _water_greedy.norm_by_owner(tiv, town_i, len(egeoms))
        nb = len(b)
        per = [_water_greedy.overlap_by_owner(tiv, town_i, x, nb) for x in (bu, bu_cov, bu_after)]
        for i, t in enumerate(b["town"].to_numpy(object)):
            prev = road.get(t, (0.0, 0.0, 0.0))
            road[t] = tuple(prev[j] + per[j][i] for j in range(3))
    rows = []

    def share(a, b):
        return float(a / b) if b > 0 else np.nan

    def add(name, sel):
        n = int(sel.sum())
        nc = int((sel & cov).sum())
        na = int((sel & after_settled).sum()) if len(after_settled) else 0
        pop = float(s_pop[sel].sum())
        popc = float(s_pop[sel & cov].sum())
        if name == "合计":
            r = (bu.length_m, bu_cov.length_m, bu_after.length_m)
        else:
            r = road.get(name, (np.nan, np.nan, np.nan) if not has_b else (0.0, 0.0, 0.0))
        rows.append({"town": name, "settlements": n, "settlements_covered": nc, "settlement_share": share(nc, n),
                     "population": pop, "population_covered": popc, "population_share": share(popc, pop),
                     "builtup_road_m": r[0], "builtup_covered_m": r[1], "road_share": share(r[1], r[0]),
                     "settlements_covered_after": na, "settlement_share_after": share(na, n),
                     "builtup_covered_after_m": r[2], "road_share_after": share(r[2], r[0])})

    tarr = np.asarray(town, dtype=object)
    for name in names:
        add(name, tarr == name)
    add("合计", np.ones(len(tarr), dtype=bool) if len(tarr) else np.zeros(0, bool))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# result schema (issue 16 §3): what each result layer holds

def _declare_results() -> None:
    from ..schema import SETTLEMENT, Column, ResultLayer, declare

    src = (Column("source_kind", "str", "", "水源类型", "hydrant, fire_pool or water_intake"),
           Column("source_id", "str", "", "水源编号", "feature id in its input layer"))
    declare(
        ResultLayer("water_coverage", "water", "Polygon", "消防水源保护范围（沿路）",
                    "Each usable source's hose coverage: the roads within reach along the network, buffered by the lateral hose distance.",
                    src + (Column("reach_m", "float", "m", "保护距离（米）", "hose reach along the road"),
                           Column("road_m", "float", "m", "覆盖道路（米）", "road length covered"),
                           Column("lateral_m", "float", "m", "道路两侧覆盖宽度（米）", "buffer either side of the covered road"))),
        ResultLayer("water_circles", "water", "Polygon", "消防水源保护半径（直线）",
                    "The textbook circle around each usable source, and how much of the road inside it the hose really reaches.",
                    src + (Column("radius_m", "float", "m", "半径（米）", "circle radius (the reach)"),
                           Column("road_in_circle_m", "float", "m", "圆内道路（米）", "road length inside the circle"),
                           Column("road_m", "float", "m", "可达道路（米）", "road length reached along the network"),
                           Column("network_share", "float", "", "路网实际可达比例", "road_m / road_in_circle_m"))),
        ResultLayer("water_sources", "water", "Point", "消防水源（可用性）",
                    "Every hydrant, fire pool and natural intake: usable or not, and why (volume, suction lift, truck road).",
                    src + (Column("name", "str", "", "名称"), Column("kind", "str", "", "类型", "kind of natural source"),
                           Column("status", "str", "", "状态", "status as given"),
                           Column("volume_m3", "float", "m3", "容积（立方米）", "fire pool volume"),
                           Column("lift_m", "float", "m", "吸水高度（米）", "suction lift from the road to the water surface"),
                           Column("lift_source", "str", "", "吸水高度来源", "where the lift comes from (DEM, field)"),
                           Column("road_z_m", "float", "m", "道路高程（米）", "road elevation"),
                           Column("water_z_m", "float", "m", "水面高程（米）", "water surface elevation"),
                           Column("truck_road_m", "float", "m", "距消防车道（米）", "distance to the nearest truck road"),
                           Column("usable", "bool", "", "是否可用", "counted as a fire water source"),
                           Column("reason", "str", "", "理由", "why usable or not"),
                           Column("reach_m", "float", "m", "保护距离（米）", "hose reach along the road"),
                           Column("road_m", "float", "m", "覆盖道路（米）", "road length covered"))),
        ResultLayer("water_settlements", "water", "Point", "居民点消防水源覆盖",
                    "Each settlement: covered or not, by which source, and whether a suggested hydrant would cover it.",
                    SETTLEMENT + (
                     Column("covered", "bool", "", "是否覆盖", "within hose reach of a usable source"),
                     Column("covered_by", "str", "", "覆盖水源", "source id that covers it"),
                     Column("covered_after", "bool", "", "建议实施后是否覆盖", "covered once the suggestions are built"),
                     Column("coverable", "bool", "", "可通过新增消火栓覆盖", "a new hydrant on a reachable road would cover it"),
                     Column("nearest_source", "str", "", "最近水源", "nearest usable source id"),
                     Column("nearest_kind", "str", "", "最近水源类型", "its kind"),
                     Column("distance_m", "float", "m", "水带铺设距离（米）", "network distance to the nearest source"),
                     Column("snap_m", "float", "m", "距道路（米）", "distance to the road"))),
        ResultLayer("water_spacing_gaps", "water", "LineString", "消火栓间距超限路段",
                    "Road stretches in built-up areas where neighbouring hydrants are further apart than the spacing limit.",
                    (Column("hydrant_a", "str", "", "消火栓甲", "hydrant id at one end"),
                     Column("hydrant_b", "str", "", "消火栓乙", "hydrant id at the other end"),
                     Column("spacing_m", "float", "m", "间距（米）", "spacing along the road"),
                     Column("length_m", "float", "m", "长度（米）", "length of the gap"),
                     Column("limit_m", "float", "m", "限值（米）", "spacing limit"))),
        ResultLayer("water_suggestions", "water", "Point", "建议新增消防水源",
                    "Ranked new hydrant sites (greedy: most settlements / built-up road added first).",
                    (Column("rank", "int", "", "序号", "order of choice"),
                     Column("source_kind", "str", "", "水源类型", "kind of source to build"),
                     Column("town", "str", "", "乡镇（街道）"),
                     Column("new_settlements", "int", "", "新增覆盖居民点", "settlements newly covered"),
                     Column("new_population", "float", "", "新增覆盖人口", "population newly covered"),
                     Column("new_road_m", "float", "m", "新增覆盖道路（米）", "built-up road newly covered"),
                     Column("settlement_ids", "str", "", "覆盖居民点编号", "list of the settlement ids newly covered"),
                     Column("road_fid", "int", "", "道路要素编号", "road feature the site is on"),
                     Column("road_name", "str", "", "道路名称"), Column("edge", "int", "", "路段编号", "network edge"),
                     Column("offset_m", "float", "m", "沿路位置（米）", "position along the edge"))),
        ResultLayer("water_compliance", "water", None, "古镇消防给水核查",
                    "Old towns: each fire water rule (main diameter, hydrant spacing, intakes...), required, found, passed.",
                    (Column("area", "str", "", "区域", "old town"),
                     Column("old_town_id", "int", "", "古镇编号", "old_towns feature id"),
                     Column("town", "str", "", "乡镇（街道）", "township (with a boundary layer)", optional=True),
                     Column("rule_key", "str", "", "规则代码"),
                     Column("rule", "str", "", "规则"),
                     Column("required", "str", "", "要求值"),
                     Column("found", "str", "", "现状值"),
                     Column("passed", "bool", "", "是否满足"),
                     Column("offending", "str", "", "不满足的要素", "list of the offending feature ids"),
                     Column("required_value", "float", "", "要求数值"),
                     Column("found_value", "float", "", "现状数值"),
                     Column("source", "str", "", "数据来源", "rule source"))),
        ResultLayer("water_towns", "water", None, "乡镇消防水源覆盖统计",
                    "Settlements, population and built-up road covered per township, now and with the suggestions.",
                    (Column("town", "str", "", "乡镇（街道）"),
                     Column("settlements", "int", "", "居民点数"),
                     Column("settlements_covered", "int", "", "覆盖居民点数"),
                     Column("settlement_share", "float", "", "居民点覆盖率"),
                     Column("population", "float", "", "人口"),
                     Column("population_covered", "float", "", "覆盖人口"),
                     Column("population_share", "float", "", "人口覆盖率"),
                     Column("builtup_road_m", "float", "m", "建成区道路（米）"),
                     Column("builtup_covered_m", "float", "m", "建成区道路覆盖（米）"),
                     Column("road_share", "float", "", "道路覆盖率"),
                     Column("settlements_covered_after", "int", "", "建议实施后覆盖居民点数"),
                     Column("settlement_share_after", "float", "", "建议实施后居民点覆盖率"),
                     Column("builtup_covered_after_m", "float", "m", "建议实施后建成区道路覆盖（米）"),
                     Column("road_share_after", "float", "", "建议实施后道路覆盖率"))),
    )


_declare_results()
