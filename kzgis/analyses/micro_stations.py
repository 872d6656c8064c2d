"""Micro fire stations (社区/村微型消防站): which communities are reached within 3 minutes.

Seed task 3 (开州府办发〔2023〕47号): 28 communities' micro stations equipped in 2024 and 29 in 2025.
A micro station works to "1 minute to turn out, 3 minutes to the scene" (社区微型消防站建设标准（试行）,
公消〔2015〕301号; from memory, confidence M).

Definitions
-----------
**Travel.** A fire motorcycle (default, ``mode: motorcycle``, 15 km/h, an assumption) or the crew on
foot with a hand cart (``mode: cart``, 5 km/h) uses every road and lane of the network's
``vehicle_class`` (default ``motorcycle``: width >= 1.5 m and grade <= 20 %, the network's class
thresholds; steps are barred); one-way rules of the roads layer apply. The time budget is the
arrival limit less the turnout time, so by default (3 - 1) min x 250 m/min = **500 m along the
network**.

**Off-road stretches** (as in water coverage, they count): the station and the community are each
snapped to the nearest usable lane (polygons: a point inside); the straight distance between the
point and the lane is walked at ``offroad_speed_kmh`` (5 km/h, an assumption), so 10 m off the lane
costs 0.12 min, as 30 m of lane at 15 km/h. A point farther than ``snap_max_m`` from any usable
lane is not reached.

**Results**

- ``micro_coverage`` (lines, one per station that reaches any lane): the lane pieces the station
  reaches within the budget, cut exactly where the budget runs out (the network engine's
  ``reached_pieces``); ``station``, ``status``, ``community``, ``town``, ``reached_m``, ``travel_m`` (lane metres left after the walk to the lane).
- ``micro_communities`` (the communities, aligned to the layer): ``covered`` / ``time_min`` /
  ``station`` by the existing stations (现状); ``covered_planned`` / ``time_min_planned`` /
  ``station_planned`` with the planned ones too; ``covered_after`` with the suggested new sites;
  ``time_min`` is NaN when no station is within ``horizon_min``.
- ``micro_towns`` (table): per township the communities and people covered now, with the planned
  stations and with the suggestions, the stations existing / planned and the communities of each
  programme year (2024, 2025 in the seed), plus a total row ``合计``.
- ``micro_suggestions`` (points): new sites, greedy: candidates every ``site_spacing_m`` along
  the usable lanes inside built-up areas (``urban_area``, ``settlements`` and ``communities``
  polygons, or within ``builtup_point_radius_m`` of their points) and within the budget in a straight
  line of a community not covered by the existing and planned stations; each pick adds the most
  people newly within the arrival limit (then the most communities), until no candidate adds any or
  ``max_new_sites`` sites are placed. With ``siting: mclp`` spopt's maximal covering location model
  chooses the set of sites together (optimal for their number, which the greedy order may miss),
  listed in the same order of what each adds. ``rank``, ``new_communities``, ``new_population``,
  ``communities`` (names), ``town``, ``road_name``.

A station's ``status`` counts as planned when it contains 规划 / 拟建 / 在建 / 待建 / planned /
proposed (a ``year`` later than ``existing_until_year``, when set, too); otherwise existing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import rules
from .._errors import AnalysisError, RecipeError
from ..analysis import Context, register
from ..crs import require_projected
from ..network import VEHICLE_CLASSES
from .water import _settlement_towns, _town_of_points, intervals_in

log = logging.getLogger(__name__)

RESULTS = ("micro_coverage", "micro_communities", "micro_towns", "micro_suggestions")

PLANNED_MARKS = ("规划", "拟建", "在建", "待建", "planned", "proposed")
EXISTING_MARKS = ("现状", "已建", "建成", "在用", "正常", "existing", "built")
_BATCH = 128  # sources per routing run (bounds memory: batch x nodes floats)


@dataclass(frozen=True)
class MicroParams:
    """Parameters of the ``micro_stations`` analysis (recipe ``analyses: micro_stations:``).

    turnout_min : turnout time (公消〔2015〕301号, 1 min).
    arrival_min : arrival limit from the call (公消〔2015〕301号, 3 min).
    mode : ``motorcycle`` (fire motorcycle, 15 km/h) or ``cart`` (on foot with a hand cart, 5 km/h).
    lane_speed_kmh : travel speed along the lanes; None = the mode's rule.
    vehicle_class : network class whose roads may be used (``motorcycle``: >= 1.5 m wide).
    offroad_speed_kmh : speed between a point and its lane (walked; A).
    snap_max_m : a station / community farther than this from a usable lane is not reached.
    horizon_min : times up to this are reported for communities not covered (longer: NaN).
    existing_until_year : when set, stations with a ``year`` after it count as planned.
    site_spacing_m : new-site candidates at most this far apart along lanes (A).
    max_new_sites : at most this many new sites (A); 0 turns the suggestions off.
    siting : ``greedy`` (each site adds the most people given those before it) or ``mclp`` (spopt's
        maximal covering location model chooses up to ``max_new_sites`` sites together, optimally;
        they are then listed in the order of what each adds).
    builtup_point_radius_m : settlement / community points count as built-up within this radius (A).
    """

    turnout_min: float = rules.param("micro_turnout_min")
    arrival_min: float = rules.param("micro_arrival_min")
    mode: str = "motorcycle"
    lane_speed_kmh: float | None = None
    vehicle_class: str = "motorcycle"
    offroad_speed_kmh: float = rules.param("micro_offroad_speed_kmh")
    snap_max_m: float = 200.0
    horizon_min: float = 10.0
    existing_until_year: int | None = None
    site_spacing_m: float = rules.param("micro_candidate_spacing_m")
    max_new_sites: int = rules.param("micro_budget", int)
    siting: str = "greedy"
    builtup_point_radius_m: float = rules.param("settlement_point_radius_m")

    def __post_init__(self):
        problems = []
        if self.siting not in ("greedy", "mclp"):
            problems.append(f"siting must be 'greedy' or 'mclp', got {self.siting!r}")
        if self.mode not in ("motorcycle", "cart"):
            problems.append(f"mode must be 'motorcycle' or 'cart', got {self.mode!r}")
        if self.vehicle_class not in VEHICLE_CLASSES:
            problems.append(f"vehicle_class: unknown class {self.vehicle_class!r} (valid: {', '.join(VEHICLE_CLASSES)})")
        for name in ("arrival_min", "offroad_speed_kmh", "snap_max_m", "site_spacing_m", "horizon_min"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.lane_speed_kmh is not None and not self.lane_speed_kmh > 0:
            problems.append(f"lane_speed_kmh must be positive (or left out), got {self.lane_speed_kmh!r}")
        if not 0 <= self.turnout_min < self.arrival_min:
            problems.append(f"turnout_min must be >= 0 and below arrival_min ({self.arrival_min:g}), "
                            f"got {self.turnout_min!r}")
        if self.max_new_sites < 0:
            problems.append(f"max_new_sites must be >= 0, got {self.max_new_sites!r}")
        if self.builtup_point_radius_m < 0:
            problems.append(f"builtup_point_radius_m must be >= 0, got {self.builtup_point_radius_m!r}")
        if problems:
            raise RecipeError("; ".join(problems))

    @property
    def speed(self) -> float:
        """Travel speed along the lanes (km/h)."""
        if self.lane_speed_kmh is not None:
            return float(self.lane_speed_kmh)
        return rules.value("micro_motorcycle_speed_kmh" if self.mode == "motorcycle" else "micro_cart_speed_kmh")

    @property
    def m_per_min(self) -> float:
        return self.speed * 1000.0 / 60.0

    @property
    def budget_m(self) -> float:
        """Lane distance reachable within the arrival limit (500 m by default)."""
        return (self.arrival_min - self.turnout_min) * self.m_per_min

    @property
    def offroad_factor(self) -> float:
        """Metres of lane one metre off-road costs."""
        return self.speed / self.offroad_speed_kmh


def assumptions(p: MicroParams) -> list[rules.InForce]:
    """The numbers in force (:func:`kzgis.rules.in_force`), the lane speed of the mode included as ``speed``."""
    mode_rule = "micro_motorcycle_speed_kmh" if p.mode == "motorcycle" else "micro_cart_speed_kmh"
    return rules.in_force(p, {"speed": mode_rule})


# ---------------------------------------------------------------------------------------------


def _status_planned(st: gpd.GeoDataFrame, p: MicroParams) -> np.ndarray:
    status = st["status"] if "status" in st else pd.Series([None] * len(st), index=st.index)
    s = status.fillna("").astype(str).str.lower()
    planned = np.zeros(len(st), dtype=bool)
    for mark in PLANNED_MARKS:
        planned |= s.str.contains(mark.lower(), regex=False).to_numpy()
    if p.existing_until_year is not None and "year" in st:
        y = pd.to_numeric(st["year"], errors="coerce").to_numpy(float)
        planned |= np.nan_to_num(y, nan=-1) > p.existing_until_year
    return planned


def _texts(frame, col, default=None) -> np.ndarray:
    if col in frame:
        return frame[col].astype(object).where(frame[col].notna(), default).to_numpy(object)
    return np.full(len(frame), default, dtype=object)


def _offroad(snapped: pd.DataFrame, p: MicroParams) -> np.ndarray:
    """Off-road distance in lane-metre equivalents (inf where not snapped)."""
    ok = snapped["ok"].to_numpy(bool)
    d = np.nan_to_num(snapped["snap_m"].to_numpy(float), nan=0.0) * p.offroad_factor
    return np.where(ok, d, np.inf)


def _cost_matrix(net, src: pd.DataFrame, src_off: np.ndarray, tgt: pd.DataFrame, tgt_off: np.ndarray,
                 vc: str, limit_m: float) -> np.ndarray:
    """Lane-metre equivalents from each source to each target (off-road parts included; inf beyond)."""
    out = np.full((len(src), len(tgt)), np.inf)
    if not len(src) or not len(tgt):
        return out
    okt = tgt["ok"].to_numpy(bool)
    for a in range(0, len(src), _BATCH):
        s = src.iloc[a:a + _BATCH]
        ok = s["ok"].to_numpy(bool)
        if not ok.any():
            continue
        rows = net.costs_from(s, vc, weight="length_m", limit=limit_m)
        c = np.asarray(net.costs_to(rows, tgt, vc, weight="length_m", sources=s), dtype=float)
        c = c + src_off[a:a + _BATCH, None] + tgt_off[None, :]
        c[:, ~okt] = np.inf
        c[c > limit_m + 1e-9] = np.inf
        out[a:a + _BATCH] = c
    return out


@register("micro_stations", title_zh="微型消防站3分钟到场分析", needs=("roads", "communities"),
          optional=("micro_stations", "boundary", "urban_area", "settlements"),
          params=MicroParams, results=RESULTS, in_force=assumptions)
def run_micro_stations(ctx: Context, p: MicroParams) -> dict:
    """Run the micro-station analysis on ``ctx`` (see the module docstring for the definitions).

    Parameters
    ----------
    ctx : Context
        Needs ``roads`` and ``communities``; uses ``micro_stations`` (none: every community is
        uncovered and the suggestions place new sites), ``boundary``, ``urban_area``, ``settlements``.
    p : MicroParams

    Returns
    -------
    dict
        ``micro_coverage``, ``micro_communities``, ``micro_towns``, ``micro_suggestions``.
    """
    crs = require_projected(ctx.crs, "the micro_stations analysis")
    net = ctx.network()
    if len(net.edges) == 0:
        raise AnalysisError("micro_stations: the road network has no edges: the roads layer is empty or not lines")
    vc = p.vehicle_class
    layers = ctx.layers
    comm = layers["communities"]
    if ctx.towns:  # a run limited to some townships: their communities (stations stay whole)
        comm = comm[np.isin(_settlement_towns(ctx, comm), list(ctx.towns))]
    if layers.has("micro_stations"):
        st = layers["micro_stations"]
    else:
        st = gpd.GeoDataFrame({"name": []}, geometry=[], crs=crs)
        ctx.warn("micro_stations: no micro_stations layer; every community counts as not covered")
    budget_m = p.budget_m
    horizon_m = max(p.horizon_min - p.turnout_min, 0.0) * p.m_per_min

    st_snap = net.snap(st.geometry, vehicle_class=vc, max_m=p.snap_max_m) if len(st) else _no_snap(0)
    cm_snap = net.snap(comm.geometry, vehicle_class=vc, max_m=p.snap_max_m)
    st_off, cm_off = _offroad(st_snap, p), _offroad(cm_snap, p)
    far_st = st.index[~st_snap["ok"].to_numpy(bool)] if len(st) else []
    if len(far_st):
        ctx.warn(f"micro_stations: station(s) {', '.join(map(str, list(far_st)[:10]))} are farther than "
                 f"{p.snap_max_m:g} m from any road a {vc} may use; they reach nothing (check their position "
                 "or the road widths)")
    far_cm = comm.index[~cm_snap["ok"].to_numpy(bool)]
    if len(far_cm):
        ctx.warn(f"micro_stations: {len(far_cm)} communit(y/ies) farther than {p.snap_max_m:g} m from any usable "
                 f"lane count as not covered (e.g. {', '.join(map(str, list(far_cm)[:5]))})")
    planned = _status_planned(st, p) if len(st) else np.zeros(0, bool)
    if len(st) and "status" in st:
        s = st["status"].fillna("").astype(str)
        odd = ~planned & ~s.str.lower().str.contains("|".join(EXISTING_MARKS), regex=True).to_numpy()
        if odd.any():
            vals = ", ".join(repr(v) for v in pd.unique(s[odd])[:5])
            ctx.warn(f"micro_stations: layer 'micro_stations', field 'status', features "
                     f"{', '.join(map(str, st.index[odd][:10]))}: status {vals} is neither existing nor planned; "
                     "counted as existing (write 现状/existing or 规划/planned)")

    C = _cost_matrix(net, st_snap, st_off, cm_snap, cm_off, vc, max(horizon_m, budget_m))
    to_min = lambda m: p.turnout_min + m / p.m_per_min

    def best(mask):
        if not mask.any():
            return np.full(len(comm), np.inf), np.full(len(comm), -1)
        sub = np.where(mask[:, None], C, np.inf)
        j = np.argmin(sub, axis=0)
        return sub[j, np.arange(len(comm))], np.where(np.isfinite(sub[j, np.arange(len(comm))]), j, -1)

    d_now, by_now = best(~planned)
    d_all, by_all = best(np.ones(len(st), bool))
    names = _texts(st, "name")
    pop = pd.to_numeric(comm["population"], errors="coerce").fillna(0.0).to_numpy(float) \
        if "population" in comm else np.zeros(len(comm))
    towns = _settlement_towns(ctx, comm)

    def station_names(by, d):
        return np.where((by >= 0) & (d <= budget_m + 1e-9), names[np.maximum(by, 0)] if len(names) else None, None)

    def times(d):
        return np.where(np.isfinite(d), to_min(d), np.nan)

    communities = gpd.GeoDataFrame({
        "name": _texts(comm, "name"),
        "town": towns,
        "population": pop,
        "year": pd.to_numeric(comm["year"], errors="coerce").to_numpy(float) if "year" in comm else np.nan,
        "covered": d_now <= budget_m + 1e-9,
        "time_min": times(d_now),
        "station": station_names(by_now, d_now),
        "nearest_station": np.where(by_now >= 0, names[np.maximum(by_now, 0)] if len(names) else None, None),
        "covered_planned": d_all <= budget_m + 1e-9,
        "time_min_planned": times(d_all),
        "station_planned": station_names(by_all, d_all),
        "offroad_m": cm_snap["snap_m"].to_numpy(float),
    }, geometry=list(comm.geometry.values), index=comm.index, crs=crs)

    coverage = _coverage(net, st, st_snap, st_off, planned, budget_m, vc, crs)
    suggestions, after = _suggest(ctx, net, p, comm, cm_snap, cm_off, communities, towns, pop, crs)
    communities.insert(communities.columns.get_loc("station_planned") + 1, "covered_after", after)
    town_table = _towns(ctx, communities, st, planned, towns)
    log.info("micro_stations: %d stations (%d planned); %d of %d communities within %g min now, %d with planned, "
             "%d suggested sites", len(st), int(planned.sum()), int(communities["covered"].sum()), len(comm),
             p.arrival_min, int(communities["covered_planned"].sum()), len(suggestions))
    return {"micro_coverage": coverage, "micro_communities": communities, "micro_towns": town_table,
            "micro_suggestions": suggestions}


def _no_snap(n):
    return pd.DataFrame({"edge": np.full(n, -1, np.int64), "offset_m": np.nan, "snap_m": np.nan, "x": np.nan,
                         "y": np.nan, "ok": False})


def _coverage(net, st, st_snap, st_off, planned, budget_m, vc, crs):
    cols = ["station", "status", "community", "town", "year", "reached_m", "travel_m"]
    rows, geoms = [], []
    ok = st_snap["ok"].to_numpy(bool) if len(st) else np.zeros(0, bool)
    idx = np.flatnonzero(ok & (st_off < budget_m))
    for a in range(0, len(idx), _BATCH):
        b = idx[a:a + _BATCH]
        src = st_snap.iloc[b]
        costs = net.costs_from(src, vc, weight="length_m", limit=budget_m)
        for k, i in enumerate(b):
            lim = budget_m - st_off[i]
            pieces = net.reached_pieces(np.asarray(costs[k]), lim, vc, weight="length_m", source=src.iloc[[k]])
            if not len(pieces):
                continue
            g = shapely.multilinestrings(np.asarray(pieces.geometry.values, dtype=object))
            r = st.iloc[i]
            rows.append({"station": r.get("name"), "status": "planned" if planned[i] else "existing",
                         "community": r.get("community"), "town": r.get("town"),
                         "year": pd.to_numeric(r.get("year"), errors="coerce"),
                         "reached_m": float((pieces["end_m"] - pieces["start_m"]).sum()), "travel_m": float(lim)})
            geoms.append(g)
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, columns=cols, geometry=geoms, crs=crs)


def _builtup_polys(ctx, p, comm):
    layers = ctx.layers
    polys = []
    if layers.has("urban_area"):
        polys.extend(layers["urban_area"].geometry.values)
    for kind in ("settlements", "communities"):
        if not layers.has(kind):
            continue
        g = np.asarray(layers[kind].geometry.values, dtype=object)
        tid = shapely.get_type_id(g)
        polys.extend(g[np.isin(tid, (3, 6))])
        pts = g[np.isin(tid, (0, 4))]
        if len(pts) and p.builtup_point_radius_m > 0:
            polys.extend(shapely.buffer(pts, p.builtup_point_radius_m))
    return polys


def _suggest(ctx, net, p, comm, cm_snap, cm_off, communities, towns, pop, crs):
    cols = ["rank", "town", "new_communities", "new_population", "communities", "road_name", "edge", "offset_m"]
    empty = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    after = communities["covered_planned"].to_numpy(bool).copy()
    targets = np.flatnonzero(~after & cm_snap["ok"].to_numpy(bool) & (cm_off <= p.budget_m))
    if p.max_new_sites == 0 or not len(targets):
        return empty, after
    vc = p.vehicle_class
    edges = net.edges
    egeoms = np.asarray(edges.geometry.values, dtype=object)
    usable = net.allowed(vc)
    # lanes inside built-up areas and within the budget (straight line) of a target community
    near = shapely.union_all(shapely.buffer(shapely.points(cm_snap[["x", "y"]].to_numpy()[targets]), p.budget_m))
    polys = _builtup_polys(ctx, p, comm)
    if not polys:
        return empty, after
    area = shapely.intersection(shapely.union_all(polys), near)
    e_ok = np.flatnonzero(usable)
    iv, _ = intervals_in(egeoms[e_ok], [area])
    if not len(iv):
        return empty, after
    iv = iv.norm()
    e = e_ok[iv.edge]
    n = np.maximum(np.ceil((iv.end - iv.start) / p.site_spacing_m - 1e-9).astype(np.int64), 1)
    c_edge = np.repeat(e, n + 1)
    k = np.concatenate([np.arange(x + 1) for x in n])
    c_off = np.repeat(iv.start, n + 1) + np.repeat((iv.end - iv.start) / n, n + 1) * k
    # one candidate per position (rounded to 1 cm)
    key = pd.DataFrame({"e": c_edge, "o": np.round(c_off, 2)}).drop_duplicates()
    c_edge, c_off = key["e"].to_numpy(np.int64), key["o"].to_numpy(float)
    cand = pd.DataFrame({"edge": c_edge, "offset_m": c_off, "snap_m": 0.0, "ok": True})
    tg = cm_snap.iloc[targets]
    C = _cost_matrix(net, cand, np.zeros(len(cand)), tg, cm_off[targets], vc, p.budget_m)
    reach = np.isfinite(C) & (C <= p.budget_m + 1e-9)
    w = pop[targets]
    if p.siting == "mclp":  # the optimal set of sites, then ranked below by what each adds
        from ._response_siting import solve_siting

        useful = np.flatnonzero(reach.any(axis=1))
        k = min(p.max_new_sites, len(useful))
        if k:
            # weight: people, plus a little per community so that places without a population count
            res = solve_siting("mclp", np.where(reach[useful], C[useful], np.inf).T, p.budget_m, k=k,
                               weights=w + 1e-3 * max(float(w.max(initial=0.0)), 1.0))
            keep = np.zeros(len(cand), dtype=bool)
            keep[useful[res.selected]] = True
            reach = reach & keep[:, None]
    left = np.ones(len(targets), dtype=bool)
    cxy = shapely.line_interpolate_point(egeoms[c_edge], c_off)
    rows, geoms = [], []
    names = communities["name"].to_numpy(object)
    road_names = edges["name"].to_numpy(object) if "name" in edges else np.full(len(edges), None, object)
    for rank in range(1, p.max_new_sites + 1):
        gain_pop = reach[:, left] @ w[left] if left.any() else np.zeros(len(cand))
        gain_n = reach[:, left].sum(axis=1) if left.any() else np.zeros(len(cand))
        if not len(gain_n) or gain_n.max() == 0:
            break
        score = gain_pop * (len(targets) + 1) + gain_n  # population first, then count
        c = int(np.argmax(score))
        newly = targets[left & reach[c]]
        left &= ~reach[c]
        after[newly] = True
        rows.append({"rank": rank, "town": None, "new_communities": len(newly),
                     "new_population": float(pop[newly].sum()),
                     "communities": "、".join(str(x) for x in names[newly]),
                     "road_name": road_names[c_edge[c]], "edge": int(c_edge[c]), "offset_m": float(c_off[c])})
        geoms.append(cxy[c])
    if not rows:
        return empty, after
    out = gpd.GeoDataFrame(rows, columns=cols, geometry=geoms, crs=crs)
    if ctx.layers.has("boundary"):
        out["town"] = _town_of_points(ctx, out.geometry.values)
    else:  # the town of the first community it covers
        first = {r["rank"]: r["communities"].split("、")[0] for r in rows}
        by_name = dict(zip(names, towns))
        out["town"] = [by_name.get(first[r]) for r in out["rank"]]
    if left.any():
        ctx.warn(f"micro_stations: {int(left.sum())} communit(y/ies) stay beyond {p.arrival_min:g} min after the "
                 f"suggested sites (no built-up lane near enough, or the budget of {p.max_new_sites} is spent)")
    return out, after


def _towns(ctx, communities, st, planned, towns):
    names = []
    if ctx.layers.has("boundary"):
        names = [t for t in ctx.layers["boundary"]["town"].tolist() if t is not None]
    present = [t for t in pd.unique(pd.Series(towns, dtype=object).dropna())]
    names = [t for t in names if t in present] + [t for t in present if t not in names]
    if ctx.towns:
        names = [t for t in names if t in ctx.towns]
    st_town = _settlement_towns(ctx, st) if len(st) else np.zeros(0, object)
    tarr = np.asarray(towns, dtype=object)
    year = communities["year"].to_numpy(float)
    pop = communities["population"].to_numpy(float)
    cov = {k: communities[k].to_numpy(bool) for k in ("covered", "covered_planned", "covered_after")}
    rows = []

    def share(a, b):
        return float(a / b) if b > 0 else math.nan

    def add(name, sel, ssel):
        n = int(sel.sum())
        r = {"town": name, "communities": n, "population": float(pop[sel].sum()),
             "stations_existing": int((ssel & ~planned).sum()), "stations_planned": int((ssel & planned).sum())}
        for k, tag in (("covered", ""), ("covered_planned", "_planned"), ("covered_after", "_after")):
            c = sel & cov[k]
            r[f"communities_covered{tag}"] = int(c.sum())
            r[f"population_covered{tag}"] = float(pop[c].sum())
            r[f"population_share{tag}"] = share(float(pop[c].sum()), float(pop[sel].sum()))
        r["programme_2024"] = int((sel & (year == 2024)).sum())
        r["programme_2025"] = int((sel & (year == 2025)).sum())
        rows.append(r)

    for name in names:
        add(name, tarr == name, np.asarray(st_town, dtype=object) == name)
    add("合计", np.ones(len(tarr), bool), np.ones(len(st), bool))
    return pd.DataFrame(rows)


# --- result schema (issue 16 §3) -------------------------------------------------------------

from ..schema import SETTLEMENT, Column, ResultLayer, declare  # noqa: E402

declare(
    ResultLayer("micro_coverage", "micro_stations", "LineString", "微型消防站3分钟到场范围（沿路）",
                "The lanes each micro station reaches within the time limit.",
                (Column("station", "str", "", "微型消防站"),
                 Column("status", "str", "", "状态"),
                 Column("community", "str", "", "所属社区"),
                 Column("town", "str", "", "乡镇（街道）"),
                 Column("year", "float", "", "年份"),
                 Column("reached_m", "float", "m", "可达道路（米）"),
                 Column("travel_m", "float", "m", "沿路行进距离（米）"))),
    ResultLayer("micro_communities", "micro_stations", "Point", "社区微型消防站覆盖",
                "Each community: covered now, with planned stations and after the suggestions, and the time.",
                SETTLEMENT + (
                 Column("year", "float", "", "年份"),
                 Column("covered", "bool", "", "现状3分钟可达"),
                 Column("time_min", "float", "min", "到场时间（分钟）"),
                 Column("station", "str", "", "到场微型消防站"),
                 Column("nearest_station", "str", "", "最近微型消防站"), Column("covered_planned", "bool", "", "含规划站3分钟可达"),
                 Column("time_min_planned", "float", "min", "含规划站到场时间（分钟）"),
                 Column("station_planned", "str", "", "到场站（含规划）"),
                 Column("covered_after", "bool", "", "新增站点后3分钟可达"), Column("offroad_m", "float", "m", "距道路（米）"))),
    ResultLayer("micro_towns", "micro_stations", None, "乡镇微型消防站覆盖统计",
                "Per township: communities and population covered now, with planned stations and after the suggestions.",
                (Column("town", "str", "", "乡镇（街道）"),
                 Column("communities", "int", "", "社区"),
                 Column("population", "float", "", "人口"),
                 Column("stations_existing", "int", "", "现状微型消防站"), Column("stations_planned", "int", "", "规划微型消防站"),
                 Column("communities_covered", "int", "", "现状3分钟可达社区"),
                 Column("population_covered", "float", "", "覆盖人口"),
                 Column("population_share", "float", "", "人口覆盖率"),
                 Column("communities_covered_planned", "int", "", "含规划站3分钟可达社区"),
                 Column("population_covered_planned", "float", "", "含规划站可达人口"),
                 Column("population_share_planned", "float", "", "含规划站人口覆盖率"),
                 Column("communities_covered_after", "int", "", "含建议站3分钟可达社区"),
                 Column("population_covered_after", "float", "", "含建议站可达人口"),
                 Column("population_share_after", "float", "", "含建议站人口覆盖率"),
                 Column("programme_2024", "int", "", "2024年配齐社区"),
                 Column("programme_2025", "int", "", "2025年配齐社区"))),
    ResultLayer("micro_suggestions", "micro_stations", "Point", "微型消防站选址建议",
                "Suggested new micro station sites, most newly covered people first.",
                (Column("rank", "int", "", "序号"),
                 Column("town", "str", "", "乡镇（街道）"),
                 Column("new_communities", "int", "", "新增可达社区数"),
                 Column("new_population", "float", "", "新增覆盖人口"),
                 Column("communities", "str", "", "新增3分钟可达社区"),
                 Column("road_name", "str", "", "道路名称"),
                 Column("edge", "int", "", "路段编号"), Column("offset_m", "float", "m", "沿路位置（米）"))),
)
