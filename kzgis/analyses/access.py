"""Fire-vehicle access to settlements on village roads (消防车通行分析).

For every settlement, from the brigades (``stations``) over the road network
(:mod:`kzgis.network`):

- ``best_vehicle``: the best class (standard fire truck, small fire truck, fire motorcycle) that
  reaches it, and the travel time for each class (from the nearest station), with the rules of
  :mod:`kzgis.analyses._reach` shared with ``response``: a class reaches a settlement (point, or a
  point inside a polygon) when it can drive to a road point within ``on_road_m`` (rule, 50 m, A)
  of it; farther (up to ``snap_max_m``) the crew walks the rest at ``walk_speed_kmh``, the walk
  is added to that class's time (``time_min_<class>``) and, when no class gets within
  ``on_road_m``, ``best_vehicle`` is the quickest road end and ``walk_m`` says how far is on
  foot. ``none`` only where no vehicle gets within ``snap_max_m`` or no route exists (reported).
  Planned stations are not sources unless ``planned_stations`` (or ``station_status``) asks.
- the **bottleneck**: the road edge whose width caps the best route. It is a maximum-bottleneck
  (widest-path) computation, not a shortest path: ``bottleneck_width_m`` is the largest width
  ``w`` such that the settlement can be reached over roads all at least ``w`` wide, using only
  roads whose grade a standard truck may climb (grade as a hard limit; one-way respected).
  ``bottleneck_edge`` is the narrowest edge of one such widest route (the first found by the
  capacity sweep, see :meth:`kzgis.network.RoadNetwork.widest`). The route ends where the best
  vehicle stops (its road point), so the bottleneck agrees with ``best_vehicle``: a standard-truck
  settlement never shows a 2 m bottleneck from a footpath beside it.
  ``bottleneck_width_assumed`` is True when that edge's width was not measured
  (``width_source`` not surveyed / tagged): the class then rests on a default width.
  Where no route within the standard grade limit exists, the cap is the grade:
  ``bottleneck_kind`` = ``grade`` and the edge is the steepest of the least-steep route
  (``bottleneck_grade_pct``).
- dead-end standard-truck roads longer than 40 m (GB 55037 3.4.5) without a turnaround, and the
  settlements reached only through one. A dead end runs from a road end (a node where only one
  standard-truck road meets) back to the first junction of three or more standard-truck roads,
  where a truck can turn. It has a turnaround when any of its roads has ``turnaround`` true, or
  when a ``turnarounds`` point layer has a point within ``turnaround_search_m`` of its end.
- road km by vehicle class and settlements by best class per township (``boundary`` layer when
  present, else the settlements' ``town`` field).
- road km with assumed widths per township (``road_km_width_assumed``, ``width_assumed_share``;
  the district-wide km and share are in the network's warning).
- a ranked **upgrade list**: road sections to widen to 4 m, each with the settlements and
  population it unlocks for standard trucks. ``action`` is ``widen`` where every edge's width
  was measured and ``survey width first`` where some width is a default (``width_assumed_m``):
  nobody should widen a road whose width nobody knows. Greedy: each entry is the set of below-standard
  edges on the cheapest route (least length to widen, grade within the standard limit) to some
  settlement, chosen for the most population unlocked per km widened (``rank_by: total`` for the
  most population), and each entry assumes the ones above it are done. The unlocked counts are
  recomputed exactly after each step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import rules
from .._errors import AnalysisError
from .._geom import as_points
from ..analysis import Context, register
from ..network import NONE, VEHICLE_CLASSES, RoadNetwork
from . import _reach

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessParams:
    #: width an upgraded road is widened to (m)
    upgrade_width_m: float = rules.param("truck_road_width_m")
    #: a standard-truck dead end longer than this needs a turnaround (m)
    dead_end_max_m: float = rules.param("dead_end_turnaround_m")
    #: a ``turnarounds`` point this close to a dead end's end serves it (m; A)
    turnaround_search_m: float = 20.0
    #: a vehicle class reaches a settlement when it can drive to a road point this close to it; farther,
    #: the crew walks the rest (m; rule on_road_m, shared with response)
    on_road_m: float = rules.param("on_road_m")
    #: walking speed over the off-road stretch (km/h; rule walk_speed_kmh)
    walk_speed_kmh: float = rules.param("walk_speed_kmh")
    #: count planned stations (status 规划/planned) as sources (ignored when station_status is given)
    planned_stations: bool = False
    #: how many upgrade entries to list at most
    max_upgrades: int = 30
    #: "per_km" (population unlocked per km widened) or "total" (population unlocked)
    rank_by: str = "per_km"
    #: roads narrower than this are not proposed for widening (m; 0 = any road)
    upgrade_min_width_m: float = 0.0
    #: use only stations whose ``status`` is one of these (empty: all stations)
    station_status: tuple[str, ...] = ()

    def __post_init__(self):
        if self.rank_by not in ("per_km", "total"):
            raise ValueError(f"rank_by: expected 'per_km' or 'total', got {self.rank_by!r}")
        if self.max_upgrades < 0:
            raise ValueError("max_upgrades: must be >= 0")
        if not self.on_road_m >= 0:
            raise ValueError(f"on_road_m: must be >= 0, got {self.on_road_m}")
        if not self.walk_speed_kmh > 0:
            raise ValueError(f"walk_speed_kmh: must be positive, got {self.walk_speed_kmh}")


def _points(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return gpd.GeoSeries(as_points(gdf.geometry.values), index=gdf.index, crs=gdf.crs)


def _restrict(snapped: pd.DataFrame, w: np.ndarray) -> pd.DataFrame:
    """Snapped points with ``ok`` False where their edge is closed under weights ``w``."""
    s = snapped.copy()
    ok = s["ok"].to_numpy(bool)
    e = np.where(ok, s["edge"].to_numpy(), 0).astype(np.int64)
    s["ok"] = ok & np.isfinite(w[e])
    return s


# ---------------------------------------------------------------------------------------------
# dead ends


def dead_ends(net: RoadNetwork, max_m: float, turnaround_points=None, search_m: float = 20.0) -> pd.DataFrame:
    """Dead-end chains of standard-truck roads (see the module docstring).

    Returns a DataFrame with ``dead_end`` (id), ``edges`` (list), ``length_m``, ``end_node``,
    ``junction_node`` (-1 for an isolated road), ``turnaround`` and ``flagged``
    (longer than ``max_m`` without a turnaround).
    """
    A = np.flatnonzero(net.allowed("standard"))
    u, v = net.edge_u, net.edge_v
    n = net.n_nodes
    ends = np.concatenate([u[A], v[A]])
    inc_edge = np.concatenate([A, A])
    deg = np.bincount(ends, minlength=n)
    o = np.argsort(ends, kind="stable")
    ends_s, inc_s = ends[o], inc_edge[o]
    start = np.searchsorted(ends_s, np.arange(n))
    stop = np.searchsorted(ends_s, np.arange(n), side="right")
    length = net.edge_length_m
    turn_edge = net.edges["turnaround"].to_numpy(bool) if "turnaround" in net.edges else np.zeros(len(length), bool)
    rows, seen = [], set()
    for leaf in np.flatnonzero(deg == 1):
        chain = []
        x = int(leaf)
        e = int(inc_s[start[x]])
        while True:
            chain.append(e)
            y = int(v[e]) if int(u[e]) == x else int(u[e])
            if deg[y] != 2 or y == leaf:
                break
            nxt = [int(k) for k in inc_s[start[y]:stop[y]] if int(k) != e]
            if not nxt:
                break
            x, e = y, nxt[0]
            if e in chain:
                break
        key = frozenset(chain)
        if key in seen:
            continue
        seen.add(key)
        rows.append({"edges": chain, "length_m": float(length[chain].sum()), "end_node": int(leaf),
                     "junction_node": y if deg[y] >= 3 else -1,
                     "turnaround": bool(turn_edge[chain].any())})
    df = pd.DataFrame(rows, columns=["edges", "length_m", "end_node", "junction_node", "turnaround"])
    if len(df) and turnaround_points is not None and len(turnaround_points):
        tree = shapely.STRtree(np.asarray(_points(turnaround_points).values, dtype=object))
        endpts = net.nodes.geometry.values[df["end_node"].to_numpy()]
        hit, _ = tree.query(endpts, predicate="dwithin", distance=search_m)
        df.loc[df.index[np.unique(hit)], "turnaround"] = True
    df["flagged"] = (df["length_m"] > max_m + 1e-9) & ~df["turnaround"].astype(bool)
    df.insert(0, "dead_end", np.arange(len(df)))
    return df


# ---------------------------------------------------------------------------------------------
# bottlenecks


def bottlenecks(net: RoadNetwork, st_geoms, se_geoms, ends: pd.DataFrame | None = None) -> pd.DataFrame:
    """Widest-path bottleneck per settlement (see the module docstring). Aligned to ``se_geoms``.

    ``ends`` (a snapped frame aligned to ``se_geoms``): where each settlement's best vehicle stops;
    rows with ``ok`` take that road point as the route's end, the others the settlement's nearest
    road point the computation may use.
    """
    p = net.params
    ed = net.edges
    width = ed["width_m"].to_numpy(float)
    g = (ed["grade_max_pct"] if p.grade_measure == "max" else ed["grade_mean_pct"]).to_numpy(float)
    barred = np.isin(ed["road_class"].to_numpy(object), p.barred_classes)
    usable = ~barred & ~(g > p.standard_grade_max_pct)
    out = pd.DataFrame({"bottleneck_kind": None, "bottleneck_width_m": np.nan, "bottleneck_grade_pct": np.nan,
                        "bottleneck_edge": -1}, index=se_geoms.index)
    out["bottleneck_kind"] = out["bottleneck_kind"].astype(object)
    st = net.snap(st_geoms, mask=usable)
    se = _ends(net.snap(se_geoms, mask=usable), ends, usable)
    W, edge = net.widest(st, se, width, usable, return_edges=True)
    hit = np.isfinite(W)
    out.loc[hit, "bottleneck_kind"] = "width"
    out.loc[hit, "bottleneck_width_m"] = W[hit]
    out.loc[hit, "bottleneck_edge"] = edge[hit]
    # no route within the standard grade limit: the grade caps it (least-steep route, steepest edge)
    rest = ~hit
    if rest.any():
        usable_g = ~barred & (width >= p.motorcycle_width_m - 1e-9)
        steep = -np.nan_to_num(g, nan=0.0)
        st2 = net.snap(st_geoms, mask=usable_g)
        se2 = _ends(net.snap(se_geoms, mask=usable_g), ends, usable_g)[rest]
        Wg, edge_g = net.widest(st2, se2, steep, usable_g, return_edges=True)
        ok = np.isfinite(Wg)
        idx = se_geoms.index[rest][ok]
        out.loc[idx, "bottleneck_kind"] = "grade"
        out.loc[idx, "bottleneck_grade_pct"] = -Wg[ok]
        out.loc[idx, "bottleneck_edge"] = edge_g[ok]
    out["bottleneck_edge"] = out["bottleneck_edge"].astype(np.int64)
    assumed = _reach.width_assumed(ed["width_source"]) if "width_source" in ed else np.zeros(len(ed), bool)
    be = out["bottleneck_edge"].to_numpy()
    out["bottleneck_width_assumed"] = (out["bottleneck_kind"].to_numpy(object) == "width") & (be >= 0) & \
        assumed[np.maximum(be, 0)]
    return out


def _ends(nearest: pd.DataFrame, ends: pd.DataFrame | None, usable: np.ndarray) -> pd.DataFrame:
    """Targets: the best vehicle's road point where it lies on a usable edge, else the nearest one."""
    if ends is None:
        return nearest
    e = ends["edge"].to_numpy()
    ok = ends["ok"].to_numpy(bool) & (e >= 0)
    ok &= usable[np.where(ok, e, 0).astype(np.int64)]
    out = nearest.copy()
    for c in ("edge", "offset_m", "snap_m", "x", "y", "ok"):
        out[c] = np.where(ok, ends[c].to_numpy(), out[c].to_numpy())
    out["edge"] = out["edge"].astype(np.int64)
    out["ok"] = out["ok"].astype(bool)
    return out


# ---------------------------------------------------------------------------------------------
# upgrades


def _segment_sums(values: np.ndarray, start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``values[start[i]:start[i] + size[i]].sum()`` for each i, rounded exactly as numpy's ``sum`` of that
    slice (pairwise summation; ``np.add.reduceat`` rounds differently): segments of one length at once."""
    out = np.empty(len(start))
    for n in np.unique(size):
        k = np.flatnonzero(size == n)
        out[k] = values[start[k][:, None] + np.arange(n)].sum(axis=1)
    return out


def _best_project(flat: np.ndarray, ptr: np.ndarray, has: np.ndarray, narrow: np.ndarray, tw: np.ndarray,
                  length: np.ndarray, rank_by: str) -> np.ndarray | None:
    """The next widening project of :func:`upgrade_list`: the below-standard edges (sorted ids) of one route.

    Route ``j`` (edges ``flat[ptr[j]:ptr[j + 1]]``, source to settlement; ``has``: reached) unlocks
    the settlements whose last narrow edge it widens (their weights ``tw``); the route with the most
    per km widened (``rank_by`` ``per_km``) or in all wins, ties to the shorter, then the first.
    None when no reached route has a narrow edge. All routes at once (arrays, no loop per route).
    """
    T = len(ptr) - 1
    owner = np.repeat(np.arange(T), np.diff(ptr))
    nm = narrow[flat]
    own, ne = owner[nm], flat[nm]  # each route's narrow edges, in route order
    if not len(ne):
        return None
    # value of the settlements whose last narrow edge is e: they open when e's route is widened
    is_last = np.r_[own[1:] != own[:-1], True]
    by_last = np.bincount(ne[is_last], weights=tw[own[is_last]], minlength=len(narrow))
    # each route's distinct narrow edges, sorted (ids of routes not reached are dropped)
    o = np.lexsort((ne, own))
    own, ne = own[o], ne[o]
    keep = np.r_[True, (own[1:] != own[:-1]) | (ne[1:] != ne[:-1])] & has[own]
    own, ne = own[keep], ne[keep]
    if not len(ne):
        return None
    start = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
    cand = own[start]
    size = np.diff(np.r_[start, len(ne)])
    benefit = _segment_sums(by_last[ne], start, size)
    km = _segment_sums(length[ne], start, size) / 1000.0
    if rank_by == "per_km":
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(km > 0, benefit / np.where(km > 0, km, 1.0), benefit)
    else:
        score = benefit
    # the most score, then the least km, then the first route
    b = np.lexsort((cand, km, -score))[0]
    return ne[start[b]:(start[b + 1] if b + 1 < len(start) else len(ne))]


def upgrade_list(net: RoadNetwork, st_geoms, se_geoms, weight: np.ndarray, already: np.ndarray,
                 p: AccessParams, names=None) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Greedy ranked list of widening projects (see the module docstring).

    ``weight`` is each settlement's value (population, or 1); ``already`` marks settlements a
    standard truck reaches now. Returns the list and, per settlement, the rank that unlocks it.
    """
    np_ = net.params
    ed = net.edges
    width = ed["width_m"].to_numpy(float).copy()
    g = (ed["grade_max_pct"] if np_.grade_measure == "max" else ed["grade_mean_pct"]).to_numpy(float)
    barred = np.isin(ed["road_class"].to_numpy(object), np_.barred_classes)
    eligible = ~barred & ~(g > np_.standard_grade_max_pct) & (width >= p.upgrade_min_width_m)
    std_w = np_.standard_width_m
    target_w = max(p.upgrade_width_m, std_w)
    length = net.edge_length_m
    assumed = _reach.width_assumed(ed["width_source"]) if "width_source" in ed else np.zeros(len(ed), bool)
    st = net.snap(st_geoms, mask=eligible)
    se = net.snap(se_geoms, mask=eligible)
    reached = np.asarray(already, bool).copy()
    rank_of = pd.Series(np.zeros(len(se), dtype=np.int64), index=se.index)
    entries = []
    names = None if names is None else np.asarray(names, dtype=object)
    for rank in range(1, p.max_upgrades + 1):
        todo = ~reached & se["ok"].to_numpy(bool)
        if not todo.any():
            break
        wup = np.where(eligible, np.where(width >= std_w - 1e-9, length * 1e-6, length), np.nan)
        tg = se[todo]
        cost, _, ptr, flat = net.route_edge_arrays(_restrict(st, wup), tg, None, weights=wup)
        has = np.isfinite(cost)
        if not has.any():
            break
        best = _best_project(flat, ptr, has, width < std_w - 1e-9, weight[todo], length, p.rank_by)
        if best is None:
            break
        proj = best
        old_w = width[proj].copy()
        width[proj] = np.maximum(width[proj], target_w)
        wnow = np.where(eligible & (width >= std_w - 1e-9), length, np.nan)
        now = net.nearest_source_to(_restrict(st, wnow), _restrict(se, wnow), None, weights=wnow)
        newly = np.isfinite(now["cost"].to_numpy()) & ~reached
        if not newly.any():
            width[proj] = old_w
            log.warning("upgrade step %d unlocked nothing; stopping", rank)
            break
        reached |= newly
        rank_of[newly] = rank
        merged = shapely.line_merge(shapely.union_all(net.edge_geoms[proj]))
        assumed_m = float(length[proj][assumed[proj]].sum())
        entries.append({
            "rank": rank, "length_m": float(length[proj].sum()),
            "settlements_unlocked": int(newly.sum()), "population_unlocked": float(weight[newly].sum()),
            "settlement_names": "、".join(str(x) for x in (names[newly] if names is not None else se.index[newly])),
            "edges": ",".join(map(str, proj)), "runs": int(shapely.get_num_geometries(merged)),
            "widen_from_m": float(old_w.min()), "road_names": "、".join(sorted({str(x) for x in
                                                                          ed["name"].to_numpy()[proj] if x is not None and x == x})),
            "width_assumed_m": assumed_m, "action": "survey width first" if assumed_m > 0 else "widen",
            "geometry": merged,
        })
    cols = ["rank", "length_m", "settlements_unlocked", "population_unlocked", "settlement_names", "edges", "runs",
            "widen_from_m", "road_names", "width_assumed_m", "action"]
    if entries:
        up = gpd.GeoDataFrame(entries, geometry="geometry", crs=net.crs)
    else:
        up = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=net.crs)
    return up, rank_of


# ---------------------------------------------------------------------------------------------
# townships


def _towns(ctx, net: RoadNetwork, sett: pd.DataFrame) -> pd.DataFrame:
    ed = net.edges
    classes = list(VEHICLE_CLASSES) + [NONE]
    assumed = _reach.width_assumed(ed["width_source"]) if "width_source" in ed else np.zeros(len(ed), bool)
    rows = {}
    if ctx.layers.has("boundary"):
        b = ctx.layers["boundary"]
        bt = b["town"].astype(str).to_numpy()
        tree = shapely.STRtree(np.asarray(b.geometry.values, dtype=object))
        ei, bi = tree.query(net.edge_geoms, predicate="intersects")
        bg = np.asarray(b.geometry.values, dtype=object)[bi]
        # a road well inside a township is all in it: its own length (the overlay gives the same number)
        inter = shapely.length(net.edge_geoms[ei])
        cut = ~shapely.contains_properly(bg, net.edge_geoms[ei])
        inter[cut] = shapely.length(shapely.intersection(net.edge_geoms[ei][cut], bg[cut]))
        df = pd.DataFrame({"town": bt[bi], "vc": ed["vehicle_class"].to_numpy(object)[ei], "km": inter / 1000.0,
                           "assumed": assumed[ei]})
        km = df.pivot_table(index="town", columns="vc", values="km", aggfunc="sum", fill_value=0.0)
        akm = df[df["assumed"]].groupby("town")["km"].sum()
        for t in bt:
            rows.setdefault(t, {})
        for t, r in km.iterrows():
            for c in classes:
                rows[t][f"road_km_{c}"] = float(r.get(c, 0.0))
            rows[t]["road_km_width_assumed"] = float(akm.get(t, 0.0))
    else:
        km = ed.groupby("vehicle_class")["length_m"].sum() / 1000.0
        rows["全区"] = {f"road_km_{c}": float(km.get(c, 0.0)) for c in classes}
        rows["全区"]["road_km_width_assumed"] = float(ed["length_m"].to_numpy(float)[assumed].sum()) / 1000.0
    towns = pd.DataFrame.from_dict(rows, orient="index")
    for c in classes:
        col = f"road_km_{c}"
        towns[col] = towns[col].fillna(0.0) if col in towns else 0.0
    towns["road_km_total"] = towns[[f"road_km_{c}" for c in classes]].sum(axis=1)
    towns["road_km_width_assumed"] = towns["road_km_width_assumed"].fillna(0.0) \
        if "road_km_width_assumed" in towns else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        towns["width_assumed_share"] = np.where(towns["road_km_total"] > 0,
                                                towns["road_km_width_assumed"] / towns["road_km_total"], np.nan)
    s = sett.copy()
    whole = "全区"
    if ctx.layers.has("boundary"):
        b = ctx.layers["boundary"]
        pts = np.asarray(_points(gpd.GeoDataFrame(geometry=s.geometry, crs=net.crs)).values, dtype=object)
        pi, bi = shapely.STRtree(np.asarray(b.geometry.values, dtype=object)).query(pts, predicate="within")
        where = pd.Series(b["town"].astype(str).to_numpy()[bi], index=s.index[pi])
        where = where[~where.index.duplicated()]
        s["town"] = s["town"].where(s["town"].notna(), where.reindex(s.index))
        whole = "未知"
    s["town"] = s["town"].fillna(whole).astype(str)
    pop = s["population"].fillna(0.0) if "population" in s else pd.Series(0.0, index=s.index)
    cnt = s.pivot_table(index="town", columns="best_vehicle", values="name", aggfunc="count", fill_value=0)
    pp = pd.DataFrame({"town": s["town"], "best_vehicle": s["best_vehicle"], "pop": pop}).pivot_table(
        index="town", columns="best_vehicle", values="pop", aggfunc="sum", fill_value=0.0)
    towns = towns.reindex(towns.index.union(cnt.index))
    for c in classes:
        towns[f"settlements_{c}"] = cnt.get(c, pd.Series(dtype=float)).reindex(towns.index).fillna(0).astype(int)
        towns[f"population_{c}"] = pp.get(c, pd.Series(dtype=float)).reindex(towns.index).fillna(0.0)
    towns["settlements"] = towns[[f"settlements_{c}" for c in classes]].sum(axis=1)
    towns = towns.fillna({c: 0.0 for c in towns.columns if c.startswith("road_km")})
    towns.index.name = "town"
    return towns.reset_index()


# ---------------------------------------------------------------------------------------------
# the analysis


@register("access", title_zh="消防车通行分析", needs=("roads", "settlements", "stations"), params=AccessParams,
          optional=("boundary", "dem"),
          results=("access_roads", "access_settlements", "access_upgrades", "access_towns", "access_dead_ends"))
def run_access(ctx: Context, p: AccessParams) -> dict:
    net = ctx.network()
    sett = ctx.layers["settlements"]
    if ctx.towns and "town" in sett:
        sett = sett[sett["town"].isin(ctx.towns)]
    stations = ctx.layers["stations"]
    if p.station_status and "status" in stations:
        stations = stations[stations["status"].isin(p.station_status)]
    elif not p.planned_stations and "status" in stations:
        planned = _reach.station_status(stations["status"])[0] == "planned"
        if planned.any():
            log.info("access: planned station(s) left out (planned_stations: false): %s",
                     ", ".join(map(str, stations.loc[planned, "name"] if "name" in stations else stations.index[planned])))
        stations = stations[~planned]
    if not len(stations):
        raise AnalysisError("access: no stations left (check station_status in the recipe, or set planned_stations: "
                            "true when every station is planned)")
    st_pts = _points(stations)
    se_pts = _points(sett)
    names = sett["name"].astype(str).to_numpy() if "name" in sett else sett.index.astype(str).to_numpy()
    st_names = stations["name"].astype(str).to_numpy() if "name" in stations else stations.index.astype(str).to_numpy()

    out = pd.DataFrame(index=sett.index)
    out["name"] = names
    out["town"] = sett["town"] if "town" in sett else None
    if "population" in sett:
        out["population"] = sett["population"]
    far = net.snap(se_pts, None)
    # per class: drive to the class's nearest road point, walk the rest beyond on_road_m (see _reach)
    ends = _reach.road_ends(net, se_pts, p.on_road_m, p.walk_speed_kmh)
    times, source = {}, {}
    for vc in VEHICLE_CLASSES:
        st_sn = net.snap(st_pts, vc)
        bad = ~st_sn["ok"].to_numpy(bool)
        if bad.any() and vc == "standard":
            ctx.warn(f"access: station(s) {', '.join(st_names[bad][:10])} are farther than "
                     f"{net.params.snap_max_m:g} m from any standard-truck road")
        r = net.nearest_source_to(st_sn, ends.snapped[vc], vc, "time_min")
        t = r["cost"].to_numpy(float) + np.nan_to_num(ends.walk_min[vc], nan=np.inf)
        times[vc] = np.where(np.isfinite(t), t, np.nan)
        source[vc] = r["source"].to_numpy()
        out[f"time_min_{vc}"] = times[vc]
    best, _, walk = _reach.best_of(times, ends.walk_m)
    nearest = np.full(len(sett), None, dtype=object)
    snap_m = far["snap_m"].to_numpy(float).copy()
    best_end = ends.snapped["standard"].copy()
    best_end["ok"] = False
    for vc in VEHICLE_CLASSES:
        k = best == vc
        if k.any():
            nearest[k] = st_names[source[vc][k]]
            snap_m[k] = ends.snapped[vc]["snap_m"].to_numpy(float)[k]
            for c in best_end.columns:
                best_end[c] = np.where(k, ends.snapped[vc][c].to_numpy(), best_end[c].to_numpy())
    best_end["edge"] = best_end["edge"].astype(np.int64)
    best_end["ok"] = best_end["ok"].astype(bool)
    off_road = ~far["ok"].to_numpy(bool)
    if off_road.any():
        ctx.warn(f"access: {int(off_road.sum())} settlement(s) are farther than {net.params.snap_max_m:g} m "
                 f"from any usable road (e.g. {', '.join(names[off_road][:5])}); they are reported as 'none'")
    foot = np.nan_to_num(walk, nan=0.0) > 0
    if foot.any():
        ctx.warn(f"access: {int(foot.sum())} settlement(s) are more than {p.on_road_m:g} m from every road a fire "
                 f"vehicle may use; they are reached from the road end on foot (walk_m), e.g. "
                 f"{', '.join(names[foot][:5])}")
    out["best_vehicle"] = best
    out["walk_m"] = walk
    out["nearest_station"] = nearest
    out["snap_m"] = snap_m
    out["snap_ok"] = ~off_road

    bn = bottlenecks(net, st_pts, se_pts, ends=best_end)
    out = out.join(bn)

    # dead ends
    tp = ctx.layers.get("turnarounds") if hasattr(ctx.layers, "get") else None
    de = dead_ends(net, p.dead_end_max_m, tp, p.turnaround_search_m)
    edge_de = np.full(len(net.edges), -1, dtype=np.int64)
    for d, edges, flag in zip(de["dead_end"], de["edges"], de["flagged"]):
        if flag:
            edge_de[edges] = d
    se_edge = ends.snapped["standard"]["edge"].to_numpy()
    via = np.where((best == "standard") & (se_edge >= 0), edge_de[np.maximum(se_edge, 0)], -1)
    out["via_dead_end"] = via
    flagged = de[de["flagged"]].copy()
    n_sett = pd.Series(via[via >= 0]).value_counts()
    flagged["settlements"] = flagged["dead_end"].map(n_sett).fillna(0).astype(int)
    flagged["edges"] = flagged["edges"].map(lambda es: ",".join(map(str, es)))
    dead_gdf = gpd.GeoDataFrame(
        flagged.drop(columns=["flagged"]),
        geometry=[shapely.line_merge(shapely.union_all(net.edge_geoms[list(map(int, s.split(",")))])) for s in flagged["edges"]],
        crs=net.crs)

    # upgrades
    if "population" in sett and (sett["population"].fillna(0) > 0).any():
        wgt = sett["population"].fillna(0.0).to_numpy(float)
    else:
        wgt = np.ones(len(sett))
    ups, rank_of = upgrade_list(net, st_pts, se_pts, wgt, best == "standard", p, names=names)
    if "population" not in sett:
        ups["population_unlocked"] = np.nan
    out["upgrade_rank"] = rank_of.replace(0, -1).to_numpy()

    roads = net.edges.copy()
    roads.insert(0, "edge", np.arange(len(roads)))
    roads["dead_end"] = edge_de
    assumed = _reach.width_assumed(roads["width_source"]) if "width_source" in roads else np.zeros(len(roads), bool)
    roads["width_assumed"] = assumed  # the district-wide km and share: the network's own warning
    sett_gdf = gpd.GeoDataFrame(out, geometry=sett.geometry.values, crs=net.crs)
    towns = _towns(ctx, net, sett_gdf)
    counts = pd.Series(best).value_counts().to_dict()
    log.info("access: settlements by best vehicle %s; %d dead ends flagged; %d upgrades", counts, len(dead_gdf), len(ups))
    return {"access_roads": roads, "access_settlements": sett_gdf, "access_upgrades": ups,
            "access_towns": towns, "access_dead_ends": dead_gdf}
