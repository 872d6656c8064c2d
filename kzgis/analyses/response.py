"""Response reach of the fire brigades (``analyses: response:``).

What it computes, all on the shared road network (:meth:`kzgis.analysis.Context.network`) and in
the working CRS:

``response_isochrones``
    Service areas per station, vehicle class and break (default 5/10/15/20/30 min). A break is a
    *total* response time: the turnout time (default 1 min, rule ``turnout_min``) is taken off once
    and the rest is the drive budget. The area is the road reached within the budget (the last
    edge cut exactly where the time runs out; the engine's ``reached_pieces``) buffered sideways by
    ``trim_m`` (default 100 m). Never a hull: a valley the roads do not reach in time stays out.
    ``ring`` is ``"disk"`` for the whole area within the break, ``"a-b"`` for the nested ring
    between two breaks (the disk of ``b`` minus the disk of ``a``).
``response_zones`` (and the road pieces behind them, ``response_zone_roads``)
    First-due zones: every road piece goes to the station that arrives first (edges split at the
    exact equal-time point), buffered by ``trim_m`` and dissolved per station. Where two stations'
    buffers overlap, the land goes to the station of the **nearest road piece** (Voronoi cells of
    points sampled every ``zone_spacing_m`` along the pieces), so zones never overlap and the
    boundary crosses a road at its equal-time point.
``response_radii``
    The straight-line radius per station: ``radius_m = radius_speed_kmh x (radius_min - turnout)``
    (default speed: rule ``truck_speed_urban_kmh``, 30 km/h, the 建标152 urban planning speed), and
    ``network_share`` = **road length** inside the circle that the vehicle class reaches within
    ``radius_min``, divided by the road length inside the circle the class may use at all. It says
    how much of the road around a station the circle pretends to serve and the network really does.
    ``area_share`` (share of the circle's area inside the service area) is given beside it.
``response_settlements``
    Per settlement, by the **best vehicle class that reaches it** (``vehicle_class``; see
    :mod:`kzgis.analyses._reach`: the best class that drives to within ``on_road_m`` of it, else
    the quickest road end + walk): nearest station by total response time (turnout, drive and
    the walk from the road end included), ``time_min``, the off-road walk ``walk_m`` (0 on the
    road), the second station ``station_2`` / ``time_min_2`` (backup), ``within_<b>`` per
    break, each class's own time (``time_min_standard``, ``time_min_small``,
    ``time_min_motorcycle``; walk included, NaN where the class does not get within
    ``snap_max_m``) and the best time with existing stations only (``time_min_existing``).
    ``vehicle_class`` is ``none`` and the time blank only where no vehicle reaches at all.
``response_towns``
    Per township: settlements and population, and how many / what share are within the summary
    breaks (default 15 and 30 min).
``response_scenarios``
    The same shares district-wide for: existing stations (status quo), existing + planned (the
    gain from planned stations such as 雪宝山 as numbers), the recipe's ``add_stations`` /
    ``remove_stations`` edit, and the siting result.
``response_siting`` (when ``siting`` is ``mclp`` or ``lscp``)
    Candidate sites (``candidate_sites`` layer, else ``township_seats``) with ``selected``; spopt's
    MCLP (``siting_k`` new stations maximising the population reached within ``siting_time_min``)
    or LSCP (fewest new stations reaching every settlement that can be reached at all), fed with
    response times from the same restricted network; the stations in use count as existing
    facilities, so the demand they cover is pre-covered.

Stations: ``name``, optional ``short`` (used as the ``station`` label when present and unique),
``status`` ``existing`` / ``planned`` (also 现状/已建 and 规划/拟建/在建). The main outputs use
the existing stations of the layer (planned ones too with ``planned_stations: true``) with the
recipe's additions and removals; the scenario table always compares existing and existing +
planned. Vehicle classes: isochrones and radii for each class in ``vehicle_classes``; zones and
siting for the first one; settlements, townships and scenarios by the best vehicle of all three.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import rules
from .._errors import AnalysisError, suggest
from .._geom import as_points
from ..analysis import register
from ..network import VEHICLE_CLASSES
from . import _reach
from . import _response_geom as geom
from ._response_siting import solve_siting

log = logging.getLogger(__name__)

#: times within this of a break count as within it (floating-point noise of summed edge times)
_EPS = 1e-9


@dataclass(frozen=True)
class ResponseParams:
    """Parameters of ``analyses: response:`` (times in minutes, distances in metres)."""

    #: total response times (turnout + drive) of the service-area breaks
    breaks_min: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
    #: turnout time before driving, taken off every break once (GB 51080 / 建标152 split of 5 min)
    turnout_min: float = rules.param("turnout_min")
    #: sideways buffer around reached road pieces (presentation tolerance, not a rule)
    trim_m: float = 100.0
    #: vehicle classes for the service areas and radii; the first one also for zones, settlements,
    #: scenarios and siting
    vehicle_classes: tuple[str, ...] = ("standard",)
    #: also give nested rings ("0-5", "5-10", ...) besides the whole disks
    rings: bool = True
    #: the break whose straight-line radius is drawn
    radius_min: float = 15.0
    #: speed of the straight-line radius (km/h); None: rule truck_speed_urban_kmh (30 km/h)
    radius_speed_kmh: float | None = None
    #: breaks of the township and scenario shares
    summary_breaks_min: tuple[float, ...] = (15.0, 30.0)
    #: first-due zones only over road reached within this total time (None: all reachable road)
    zone_max_min: float | None = None
    #: spacing of the sample points that settle zone boundaries where buffers overlap (m)
    zone_spacing_m: float = 10.0
    #: compare existing / existing + planned / recipe edit
    scenarios: bool = True
    #: new stations for the main outputs, by name of a candidate site or township seat
    add_stations: tuple[str, ...] = ()
    #: stations left out of the main outputs, by name or short name
    remove_stations: tuple[str, ...] = ()
    #: new-station siting: none, mclp or lscp
    siting: str = "none"
    #: MCLP: number of new stations
    siting_k: int = 1
    #: siting coverage threshold (total response time)
    siting_time_min: float = 15.0
    #: candidate sites: auto (candidate_sites layer, else township_seats), candidate_sites, township_seats
    siting_candidates: str = "auto"
    #: a settlement this close to a road a vehicle may use is reached by it; farther, the crew walks (m)
    on_road_m: float = rules.param("on_road_m")
    #: walking speed of the crew over the off-road stretch (km/h)
    walk_speed_kmh: float = rules.param("walk_speed_kmh")
    #: count planned stations (status 规划/planned) as sources of the main outputs (today's answers)
    planned_stations: bool = False

    def __post_init__(self):
        from ..network import VEHICLE_CLASSES

        set_ = object.__setattr__
        br = tuple(float(b) for b in self.breaks_min)
        if not br:
            raise ValueError("breaks_min: give at least one break, e.g. [5, 10, 15]")
        if any(b <= 0 for b in br) or len(set(br)) != len(br):
            raise ValueError(f"breaks_min: breaks must be positive and distinct, got {list(br)}")
        set_(self, "breaks_min", tuple(sorted(br)))
        set_(self, "summary_breaks_min", tuple(sorted(float(b) for b in self.summary_breaks_min)))
        if self.turnout_min < 0:
            raise ValueError(f"turnout_min: must be >= 0, got {self.turnout_min}")
        if self.breaks_min[0] <= self.turnout_min:
            raise ValueError(f"breaks_min: the smallest break ({self.breaks_min[0]:g} min) must exceed the "
                             f"turnout time ({self.turnout_min:g} min), or nothing is left to drive")
        if self.radius_min <= self.turnout_min:
            raise ValueError(f"radius_min: {self.radius_min:g} min leaves no drive time after the turnout "
                             f"({self.turnout_min:g} min)")
        if not self.trim_m > 0:
            raise ValueError(f"trim_m: must be positive, got {self.trim_m}")
        if not self.zone_spacing_m > 0:
            raise ValueError(f"zone_spacing_m: must be positive, got {self.zone_spacing_m}")
        if self.radius_speed_kmh is not None and not self.radius_speed_kmh > 0:
            raise ValueError(f"radius_speed_kmh: must be positive, got {self.radius_speed_kmh}")
        if self.zone_max_min is not None and self.zone_max_min <= self.turnout_min:
            raise ValueError(f"zone_max_min: must exceed the turnout time ({self.turnout_min:g} min)")
        vcs = tuple(self.vehicle_classes)
        if not vcs:
            raise ValueError("vehicle_classes: give at least one of " + ", ".join(VEHICLE_CLASSES))
        for vc in vcs:
            if vc not in VEHICLE_CLASSES:
                raise ValueError(f"vehicle_classes: unknown class '{vc}'{suggest(str(vc), VEHICLE_CLASSES)}")
        set_(self, "vehicle_classes", tuple(dict.fromkeys(vcs)))
        if self.siting not in ("none", "mclp", "lscp"):
            raise ValueError(f"siting: '{self.siting}' unknown{suggest(self.siting, ('none', 'mclp', 'lscp'))}")
        if self.siting_k < 1:
            raise ValueError(f"siting_k: must be >= 1, got {self.siting_k}")
        if self.siting_time_min <= self.turnout_min:
            raise ValueError(f"siting_time_min: must exceed the turnout time ({self.turnout_min:g} min)")
        if not self.on_road_m >= 0:
            raise ValueError(f"on_road_m: must be >= 0, got {self.on_road_m}")
        if not self.walk_speed_kmh > 0:
            raise ValueError(f"walk_speed_kmh: must be positive, got {self.walk_speed_kmh}")
        opts = ("auto", "candidate_sites", "township_seats")
        if self.siting_candidates not in opts:
            raise ValueError(f"siting_candidates: '{self.siting_candidates}' unknown{suggest(self.siting_candidates, opts)}")

    @property
    def speed_kmh(self) -> float:
        return float(self.radius_speed_kmh) if self.radius_speed_kmh is not None else rules.value("truck_speed_urban_kmh")


RESULTS = ("response_isochrones", "response_zones", "response_zone_roads", "response_radii",
           "response_settlements", "response_towns", "response_scenarios", "response_siting")


def bname(b: float) -> str:
    """Column suffix of a break: 15.0 -> "15", 7.5 -> "7_5"."""
    return f"{b:g}".replace(".", "_")


# ---------------------------------------------------------------------------------------------
# stations


def _text(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


def _station_table(ctx, p: ResponseParams) -> gpd.GeoDataFrame:
    """Every station the run needs: the layer's stations plus the recipe's added ones.

    Columns: ``label`` (unique), ``name``, ``status`` (existing / planned / added), ``fid``,
    ``in_main`` (part of the main outputs), geometry (point).
    """
    st = ctx.layers["stations"]
    names = [_text(v) for v in st["name"]] if "name" in st else [""] * len(st)
    shorts = [_text(v) for v in st["short"]] if "short" in st else [""] * len(st)
    names = [n or f"station {fid}" for n, fid in zip(names, st.index)]
    labels = [s or n for s, n in zip(shorts, names)]
    if len(set(labels)) != len(labels):
        labels = names
    if len(set(labels)) != len(labels):
        labels = [f"{n} ({fid})" for n, fid in zip(names, st.index)]
    raw = st["status"] if "status" in st else pd.Series([None] * len(st), index=st.index)
    statuses, unknown = _reach.station_status(raw)
    if unknown:
        ctx.warn(f"response: station status {sorted(unknown)} not recognised; treated as existing "
                 "(use existing or planned)")
    if "status" not in st:
        ctx.warn("response: the stations layer has no 'status' field; all stations treated as existing")
    pts = as_points(st.geometry.values)
    rows = pd.DataFrame({"label": labels, "name": names, "status": statuses, "fid": list(st.index),
                         "source": "stations"})
    table = gpd.GeoDataFrame(rows, geometry=pts, crs=ctx.crs)

    added = []
    for nm in p.add_stations:
        hit = _find_site(ctx, nm)
        if hit is None:
            known = []
            for kind, fld in (("candidate_sites", "name"), ("township_seats", "town"), ("township_seats", "name")):
                if ctx.layers.has(kind) and fld in ctx.layers[kind]:
                    known += [_text(v) for v in ctx.layers[kind][fld]]
            raise AnalysisError(f"add_stations: '{nm}' is neither a candidate site nor a township seat"
                                f"{suggest(nm, [k for k in known if k])}. Name a feature of the "
                                "candidate_sites layer (name) or of township_seats (town).")
        kind, fid, pt = hit
        label = nm if nm not in set(table["label"]) else f"{nm} (new)"
        added.append({"label": label, "name": nm, "status": "added", "fid": fid, "source": kind, "geometry": pt})
    if added:
        table = pd.concat([table, gpd.GeoDataFrame(added, geometry="geometry", crs=ctx.crs)], ignore_index=True)
    removed = set()
    for nm in p.remove_stations:
        m = (table["label"] == nm) | (table["name"] == nm)
        if "short" in st:
            m |= pd.Series([s == nm for s in shorts] + [False] * len(added), index=table.index)
        if not m.any():
            raise AnalysisError(f"remove_stations: no station named '{nm}'"
                                f"{suggest(nm, list(table['label']) + list(table['name']))}")
        removed |= set(table.index[m])
    table["in_main"] = ~table.index.isin(list(removed))
    planned = table["status"].to_numpy() == "planned"
    if not p.planned_stations and planned.any():
        table.loc[planned, "in_main"] = False
        log.info("response: planned station(s) %s left out of today's answers (planned_stations: false); "
                 "see response_scenarios", ", ".join(table.loc[planned, "label"]))
    if not table["in_main"].any():
        if planned.any() and not p.planned_stations:
            raise AnalysisError("response: every station left is planned; set planned_stations: true to count "
                                "planned stations, or give existing ones")
        raise AnalysisError("remove_stations: every station was removed; keep at least one")
    return table


def _find_site(ctx, name):
    for kind, fields in (("candidate_sites", ("name",)), ("township_seats", ("town", "name"))):
        if not ctx.layers.has(kind):
            continue
        lay = ctx.layers[kind]
        for fld in fields:
            if fld in lay:
                m = [_text(v) == name for v in lay[fld]]
                if any(m):
                    i = int(np.flatnonzero(m)[0])
                    g = lay.geometry.iloc[i]
                    if g.geom_type != "Point":
                        g = g.representative_point()
                    return kind, lay.index[i], g
    return None


# ---------------------------------------------------------------------------------------------
# settlements


def _settlement_frame(ctx) -> gpd.GeoDataFrame | None:
    if not ctx.layers.has("settlements"):
        return None
    s = ctx.layers["settlements"]
    out = gpd.GeoDataFrame({"name": [_text(v) for v in s["name"]] if "name" in s else [""] * len(s)},
                           geometry=s.geometry.values, crs=ctx.crs, index=s.index)
    town = pd.Series([_text(v) for v in s["town"]], index=s.index) if "town" in s else pd.Series("", index=s.index)
    if (town == "").any() and ctx.layers.has("boundary"):
        b = ctx.layers["boundary"]
        pts = gpd.GeoDataFrame(geometry=s.geometry.representative_point().values, index=s.index, crs=ctx.crs)
        j = gpd.sjoin(pts, b[["town", "geometry"]], how="left", predicate="within")
        j = j[~j.index.duplicated()]
        fill = j["town"].map(_text).reindex(s.index).fillna("")
        town = town.where(town != "", fill)
    out["town"] = town
    if "population" in s:
        pop = pd.to_numeric(s["population"], errors="coerce")
        if pop.isna().any():
            ctx.warn(f"response: {int(pop.isna().sum())} settlement(s) without population; counted as 0 people")
        out["population"] = pop.fillna(0.0).astype(float)
    else:
        out["population"] = np.nan
    return out


def _nearest_two(T: np.ndarray, labels: np.ndarray):
    """Nearest and second-nearest station per column of T (n_stations, n_targets)."""
    n_s, n_t = T.shape
    if n_s == 0:
        nan = np.full(n_t, np.nan)
        none = np.full(n_t, None, dtype=object)
        return none, nan, none.copy(), nan.copy()
    order = np.argsort(T, axis=0, kind="stable")
    cols = np.arange(n_t)
    t1 = T[order[0], cols]
    s1 = np.where(np.isfinite(t1), labels[order[0]], None)
    if n_s > 1:
        t2 = T[order[1], cols]
        s2 = np.where(np.isfinite(t2), labels[order[1]], None)
    else:
        t2 = np.full(n_t, np.inf)
        s2 = np.full(n_t, None, dtype=object)
    return s1, np.where(np.isfinite(t1), t1, np.nan), s2, np.where(np.isfinite(t2), t2, np.nan)


def _shares(times: np.ndarray, pop: np.ndarray, breaks) -> dict:
    """Counts and shares within each break (times NaN = not reached)."""
    out = {"settlements": int(len(times))}
    has_pop = bool(np.isfinite(pop).any())
    total_pop = float(np.nansum(pop)) if has_pop else np.nan
    out["population"] = total_pop
    for b in breaks:
        k = bname(b)
        inside = np.nan_to_num(times, nan=np.inf) <= b + _EPS
        out[f"settlements_within_{k}"] = int(inside.sum())
        out[f"share_within_{k}"] = float(inside.mean()) if len(times) else np.nan
        out[f"population_within_{k}"] = float(np.nansum(pop[inside])) if has_pop else np.nan
        out[f"pop_share_within_{k}"] = (float(np.nansum(pop[inside]) / total_pop)
                                        if has_pop and total_pop > 0 else np.nan)
    reached = np.isfinite(times)
    out["unreached"] = int((~reached).sum())
    out["mean_time_min"] = float(np.nanmean(times)) if reached.any() else np.nan
    return out


# ---------------------------------------------------------------------------------------------
# the analysis


def assumptions(p: ResponseParams) -> list[rules.InForce]:
    """The rules in force (:func:`kzgis.rules.in_force`), the radius speed included as ``speed_kmh``."""
    return rules.in_force(p, {"speed_kmh": "truck_speed_urban_kmh"})


@register("response", title_zh="消防队站响应范围分析", needs=("roads", "stations"), params=ResponseParams,
          optional=("settlements", "boundary", "candidate_sites", "township_seats"), after=("access",),
          results=RESULTS, in_force=assumptions)
def run_response(ctx, p: ResponseParams) -> dict:
    """Service areas, first-due zones, radii, settlement times, scenarios and siting (module docstring)."""
    net = ctx.network()
    stations = _station_table(ctx, p)
    main = np.flatnonzero(stations["in_main"].to_numpy())
    labels = stations["label"].to_numpy(dtype=object)
    vc0 = p.vehicle_classes[0]
    turnout = p.turnout_min
    out: dict = {}

    # drive times from every station, per vehicle class (unlimited: cheap, reused by everything);
    # every class for the settlements' best vehicle, the recipe's classes for the service areas
    snapped, costs = _drive_costs(ctx, net, stations, dict.fromkeys(p.vehicle_classes + VEHICLE_CLASSES), p)

    out["response_isochrones"] = _isochrones(net, stations, main, snapped, costs, p)
    disks = {(r.station, r.vehicle_class, r.break_min): r.geometry
             for r in out["response_isochrones"].itertuples() if r.ring == "disk"}
    out["response_radii"] = _radii(net, stations, main, costs, disks, p)

    settl = _settlement_frame(ctx)
    T = None
    if settl is not None and len(settl):
        # per class: drive to the class's road end, walk the rest (see _reach); (stations, settlements)
        ends = _reach.road_ends(net, settl.geometry, p.on_road_m, p.walk_speed_kmh)
        T_by = {}
        for vc in VEHICLE_CLASSES:
            Tv = np.asarray(net.costs_to(costs[vc], ends.snapped[vc], vc, "time_min"), dtype=float)
            Tv = Tv + turnout + np.nan_to_num(ends.walk_min[vc], nan=np.inf)[None, :]
            T_by[vc] = np.where(np.isfinite(Tv), Tv, np.inf)
        T = T_by[vc0]  # siting: the first class of vehicle_classes

    zones, zone_roads = _zones(net, stations, main, snapped[vc0], costs[vc0], p)

    if T is not None:
        s_out = _settlements_out(settl, ends, T_by, stations, main, p)
        none = s_out["vehicle_class"].to_numpy() == "none"
        if none.any():
            ctx.warn(f"response: {int(none.sum())} settlement(s) no vehicle reaches (no usable road within "
                     f"{net.params.snap_max_m:g} m, or no route from a station); no response time (e.g. "
                     f"{', '.join(s_out['name'].to_numpy()[none][:5])})")
        foot = s_out["walk_m"].to_numpy(float) > 0
        if foot.any():
            ctx.warn(f"response: {int(foot.sum())} settlement(s) are more than {p.on_road_m:g} m from every road a "
                     f"fire vehicle may use; their times include the walk from the road end at "
                     f"{p.walk_speed_kmh:g} km/h (walk_m)")
        out["response_settlements"] = s_out
        counts = s_out.groupby("station").agg(settlements=("name", "size"), population=("population", "sum"))
        zones["settlements"] = zones["station"].map(counts["settlements"]).fillna(0).astype(int)
        zones["population"] = zones["station"].map(counts["population"]).fillna(0.0)
        out["response_towns"] = _towns(s_out, p)
    out["response_zones"] = zones
    out["response_zone_roads"] = zone_roads

    if T is not None:
        scen = _scenarios(stations, main, p)
        T_all, labels_all = T_by, labels
        if p.siting != "none":
            siting, Tc_by, chosen = _siting(ctx, net, stations, main, T, settl, ends, p)
            out["response_siting"] = siting
            T_all = {vc: np.vstack([T_by[vc], Tc_by[vc]]) for vc in T_by}
            labels_all = np.r_[labels, siting.sort_index()["name"].to_numpy(dtype=object)]
            scen.append((f"siting_{p.siting}", np.r_[main, len(labels) + chosen]))
        out["response_scenarios"] = _scenario_table(scen, T_all, labels_all, settl, ends, p)
    elif p.siting != "none":
        ctx.warn("response: siting needs a settlements layer (the demand); skipped")
    return out


def service_areas(ctx, p: ResponseParams) -> gpd.GeoDataFrame:
    """Only the ``response_isochrones`` layer (``kzgis.isochrones``): the same stations, drive times
    and areas as :func:`run_response`, for ``p.vehicle_classes`` only, without zones, radii,
    settlements, scenarios or siting."""
    net = ctx.network()
    stations = _station_table(ctx, p)
    main = np.flatnonzero(stations["in_main"].to_numpy())
    snapped, costs = _drive_costs(ctx, net, stations, p.vehicle_classes, p)
    return _isochrones(net, stations, main, snapped, costs, p)


def _drive_costs(ctx, net, stations, classes, p: ResponseParams) -> tuple[dict, dict]:
    """Snapped stations and unlimited drive times (``time_min``) from every station, per class of
    ``classes``; warns about the recipe's classes (``p.vehicle_classes``) a station cannot use."""
    labels = stations["label"].to_numpy(dtype=object)
    snapped, costs = {}, {}
    for vc in classes:
        sn = net.snap(stations.geometry, vehicle_class=vc)
        bad = ~sn["ok"].to_numpy(bool)
        if vc not in p.vehicle_classes:  # computed for the settlements' best vehicle; warned by access
            bad[:] = False
        elif not net.allowed(vc).any():  # one warning, not one "nan m" per station
            ctx.warn(f"response: no road carries a {vc} vehicle (see the road-width warnings: widths that are "
                     f"defaults may close whole classes); no station has {vc} reach")
            bad[:] = False
        for i in np.flatnonzero(bad & stations["in_main"].to_numpy()):
            ctx.warn(f"response: station '{labels[i]}' is {sn['snap_m'].iloc[i]:.0f} m from the nearest road a "
                     f"{vc} vehicle may use (limit {net.params.snap_max_m:g} m); it has no {vc} reach")
        snapped[vc] = sn
        costs[vc] = net.costs_from(sn, vc, "time_min")
    return snapped, costs


def _isochrones(net, stations, main, snapped, costs, p) -> gpd.GeoDataFrame:
    rows = []
    budgets = [b - p.turnout_min for b in p.breaks_min]
    jobs = [(vc, int(i)) for vc in p.vehicle_classes for i in main if snapped[vc]["ok"].iat[int(i)]]
    def one(job):
        vc, i = job
        sn = snapped[vc].iloc[i]
        return geom.service_areas(net, costs[vc][i], budgets, vc, p.trim_m, origin=shapely.Point(sn["x"], sn["y"]))

    results = geom.parallel_map(one, jobs)
    for (vc, i), areas in zip(jobs, results):
        prev_b, prev_poly = 0.0, None
        for b, (poly, pieces) in zip(p.breaks_min, areas):
            road_m = float((pieces["end_m"] - pieces["start_m"]).sum()) if len(pieces) else 0.0
            base = {"station": stations["label"].iat[i], "station_name": stations["name"].iat[i],
                    "status": stations["status"].iat[i], "vehicle_class": vc, "break_min": b}
            rows.append({**base, "ring": "disk", "road_m": road_m, "area_m2": poly.area, "geometry": poly})
            if p.rings:
                ring = poly if prev_poly is None else shapely.difference(poly, prev_poly)
                ring = geom.polygonal(ring)
                rows.append({**base, "ring": f"{prev_b:g}-{b:g}", "road_m": np.nan, "area_m2": ring.area,
                             "geometry": ring})
            prev_b, prev_poly = b, poly
    cols = ["station", "station_name", "status", "vehicle_class", "break_min", "ring", "road_m", "area_m2"]
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=net.crs)
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=net.crs)
    return g[cols + ["geometry"]]


def _radii(net, stations, main, costs, disks, p) -> gpd.GeoDataFrame:
    drive = p.radius_min - p.turnout_min
    radius = p.speed_kmh * 1000.0 / 60.0 * drive
    rows = []
    edges_geom = np.asarray(net.edges.geometry.values, dtype=object)
    for vc in p.vehicle_classes:
        usable = edges_geom[net.allowed(vc)]
        for i in main:
            lab = stations["label"].iat[i]
            centre = stations.geometry.iat[i]
            circle = shapely.buffer(centre, radius, quad_segs=32)
            row = costs[vc][int(i)]
            if not np.isfinite(np.asarray(row)).any():
                reached = np.array([], dtype=object)
                disk = shapely.Polygon()
            else:
                pieces = net.reached_pieces(row, drive, vc, "time_min")
                reached = np.asarray(pieces.geometry.values, dtype=object)
                disk = disks.get((lab, vc, p.radius_min))
                if disk is None:
                    disk = geom.corridor(reached, p.trim_m)
            road_m, reached_m, area_share = geom.radius_shares(circle, usable, reached, disk)
            rows.append({"station": lab, "station_name": stations["name"].iat[i], "status": stations["status"].iat[i],
                         "vehicle_class": vc, "break_min": p.radius_min, "speed_kmh": p.speed_kmh,
                         "radius_m": radius, "road_m": road_m, "reached_m": reached_m,
                         "network_share": reached_m / road_m if road_m > 0 else np.nan,
                         "area_share": area_share, "geometry": circle})
    cols = ["station", "station_name", "status", "vehicle_class", "break_min", "speed_kmh", "radius_m",
            "road_m", "reached_m", "network_share", "area_share"]
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=net.crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=net.crs)[cols + ["geometry"]]


def _zones(net, stations, main, snapped, costs, p):
    sn = snapped.iloc[main]
    D = costs[main]
    sn_vc = p.vehicle_classes[0]
    SC = net.costs_to(D, sn, sn_vc, "time_min")
    limit = None if p.zone_max_min is None else p.zone_max_min - p.turnout_min
    pieces = geom.first_due_pieces(net, D, SC, sn, sn_vc, limit=limit)
    lines = geom.piece_geometries(net, pieces)
    polys = geom.zone_polygons(lines, pieces["station"].to_numpy(), len(main), p.trim_m, p.zone_spacing_m)
    lab = stations["label"].to_numpy(dtype=object)[main]
    pieces["length_m"] = pieces["end_m"] - pieces["start_m"]
    per = pieces.groupby("station").agg(road_m=("length_m", "sum"), cost_max=("cost_max", "max"))
    zones = gpd.GeoDataFrame({
        "station": lab, "station_name": stations["name"].to_numpy(dtype=object)[main],
        "status": stations["status"].to_numpy(dtype=object)[main], "vehicle_class": sn_vc,
        "road_m": per["road_m"].reindex(range(len(main))).fillna(0.0).to_numpy(),
        "max_time_min": (per["cost_max"].reindex(range(len(main))) + p.turnout_min).to_numpy(),
        "area_m2": [g.area for g in polys],
    }, geometry=polys, crs=net.crs)
    roads = gpd.GeoDataFrame({
        "station": lab[pieces["station"].to_numpy()] if len(pieces) else np.array([], dtype=object),
        "edge": pieces["edge"].to_numpy(),
        "road_fid": net.edges["road_fid"].to_numpy()[pieces["edge"].to_numpy()] if len(pieces) else [],
        "start_m": pieces["start_m"].to_numpy(), "end_m": pieces["end_m"].to_numpy(),
        "length_m": pieces["length_m"].to_numpy(),
        "time_min_start": pieces["cost_start"].to_numpy() + p.turnout_min,
        "time_min_end": pieces["cost_end"].to_numpy() + p.turnout_min,
    }, geometry=lines, crs=net.crs)
    return zones, roads


def _best(T_by: dict, idx, walk_m: dict):
    """Best vehicle, its time and walk per settlement, with the stations ``idx`` (see _reach)."""
    idx = np.asarray(idx, dtype=int)
    times = {vc: (T[idx].min(axis=0) if len(idx) else np.full(T.shape[1], np.inf)) for vc, T in T_by.items()}
    return _reach.best_of(times, walk_m), times


def _settlements_out(settl, ends, T_by, stations, main, p) -> gpd.GeoDataFrame:
    labels = stations["label"].to_numpy(dtype=object)
    (best, t_best, walk), times = _best(T_by, main, ends.walk_m)
    out = settl.copy()
    n = len(out)
    s1 = np.full(n, None, dtype=object)
    s2 = np.full(n, None, dtype=object)
    t1 = np.full(n, np.nan)
    t2 = np.full(n, np.nan)
    snap = np.full(n, np.nan)
    for vc in T_by:
        k = best == vc
        if not k.any():
            continue
        a1, b1, a2, b2 = _nearest_two(T_by[vc][main][:, k], labels[main])
        s1[k], t1[k], s2[k], t2[k] = a1, b1, a2, b2
        snap[k] = ends.snapped[vc]["snap_m"].to_numpy(float)[k]
    out["vehicle_class"] = best
    out["station"] = s1
    out["time_min"] = t1
    out["walk_m"] = walk
    out["station_2"] = s2
    out["time_min_2"] = t2
    for b in p.breaks_min:
        out[f"within_{bname(b)}"] = np.nan_to_num(t1, nan=np.inf) <= b + _EPS
    for vc in VEHICLE_CLASSES:
        tv = times[vc]
        out[f"time_min_{vc}"] = np.where(np.isfinite(tv), tv, np.nan)
    existing = np.flatnonzero(stations["status"].to_numpy() == "existing")
    (_, te, _), _ = _best(T_by, existing, ends.walk_m)
    out["time_min_existing"] = te
    out["snap_m"] = snap
    cols = ["name", "town", "population", "vehicle_class", "station", "time_min", "walk_m", "station_2", "time_min_2"]
    cols += [f"within_{bname(b)}" for b in p.breaks_min]
    cols += [f"time_min_{vc}" for vc in VEHICLE_CLASSES] + ["time_min_existing", "snap_m"]
    return out[cols + ["geometry"]]


def _towns(s_out, p) -> pd.DataFrame:
    rows = []
    for town, g in s_out.groupby("town", sort=True):
        rows.append({"town": town or "(unknown)",
                     **_shares(g["time_min"].to_numpy(float), g["population"].to_numpy(float), p.summary_breaks_min)})
    return pd.DataFrame(rows)


def _scenarios(stations, main, p):
    """List of (scenario name, station row positions)."""
    status = stations["status"].to_numpy()
    from_layer = stations["source"].to_numpy() == "stations"
    scen = [("existing", np.flatnonzero((status == "existing") & from_layer))]
    if p.scenarios:
        if (status[from_layer] == "planned").any():
            scen.append(("existing+planned", np.flatnonzero(from_layer)))
        if p.add_stations or p.remove_stations:
            scen.append(("recipe", main))
    return scen


def _scenario_table(scen, T_by, labels, settl, ends, p) -> pd.DataFrame:
    """District-wide shares per scenario (best vehicle); gains against the first (existing) scenario."""
    pop = settl["population"].to_numpy(float)
    rows = []
    base = None
    for name, idx in scen:
        idx = np.asarray(idx, dtype=int)
        (_, t, _), _ = _best(T_by, idx, ends.walk_m)
        r = {"scenario": name, "stations": ", ".join(labels[idx]), "n_stations": int(len(idx)),
             **_shares(t, pop, p.summary_breaks_min)}
        if base is None:
            base = r
        for b in p.summary_breaks_min:
            k = bname(b)
            r[f"gain_settlements_within_{k}"] = r[f"settlements_within_{k}"] - base[f"settlements_within_{k}"]
            r[f"gain_population_within_{k}"] = r[f"population_within_{k}"] - base[f"population_within_{k}"]
        rows.append(r)
    return pd.DataFrame(rows)


def _candidates(ctx, p):
    kind = p.siting_candidates
    if kind == "auto":
        kind = "candidate_sites" if ctx.layers.has("candidate_sites") else "township_seats"
    if not ctx.layers.has(kind):
        raise AnalysisError(f"siting: no '{kind}' layer to take candidate sites from; add a candidate_sites or "
                            "township_seats layer to the recipe, or set siting: none")
    lay = ctx.layers[kind]
    if kind == "township_seats":
        names = [_text(v) for v in lay["town"]] if "town" in lay else [""] * len(lay)
    else:
        names = [_text(v) for v in lay["name"]] if "name" in lay else [""] * len(lay)
    names = [n or f"{kind} {fid}" for n, fid in zip(names, lay.index)]
    towns = [_text(v) for v in lay["town"]] if "town" in lay else [""] * len(lay)
    g = lay.geometry
    pts = [x if x.geom_type == "Point" else x.representative_point() for x in g]
    return gpd.GeoDataFrame({"name": names, "town": towns, "source": kind, "fid": list(lay.index)},
                            geometry=pts, crs=ctx.crs)


def _siting(ctx, net, stations, main, T, settl, ends, p):
    vc = p.vehicle_classes[0]
    cand = _candidates(ctx, p)
    Tc_by = {}
    for c in dict.fromkeys((vc,) + VEHICLE_CLASSES):
        snc = net.snap(cand.geometry, vehicle_class=c)
        Dc = net.costs_from(snc, c, "time_min")
        Tcc = np.asarray(net.costs_to(Dc, ends.snapped[c], c, "time_min"), dtype=float) + p.turnout_min
        Tcc = Tcc + np.nan_to_num(ends.walk_min[c], nan=np.inf)[None, :]  # (C, P)
        Tc_by[c] = np.where(np.isfinite(Tcc) & snc["ok"].to_numpy(bool)[:, None], Tcc, np.inf)
        if c == vc:
            sn = snc
    far = ~sn["ok"].to_numpy(bool)
    if far.any():
        ctx.warn(f"response siting: {int(far.sum())} candidate site(s) too far from a {vc} road; they cannot be chosen")
    Tc = Tc_by[vc]
    pop = settl["population"].to_numpy(float)
    weights = None if not np.isfinite(pop).any() else np.nan_to_num(pop)
    what = "population" if weights is not None else "settlements"
    if p.siting == "mclp" and p.siting_k > len(cand):
        raise AnalysisError(f"siting: siting_k is {p.siting_k} but there are only {len(cand)} candidate sites "
                            f"in '{cand['source'].iat[0] if len(cand) else p.siting_candidates}'. Lower siting_k "
                            "or give a candidate_sites layer with more sites.")
    k = min(p.siting_k, int((~far).sum())) if p.siting == "mclp" else None
    if p.siting == "mclp" and k < 1:
        raise AnalysisError("siting: no candidate site is near a usable road")
    if p.siting == "mclp" and k < p.siting_k:
        ctx.warn(f"response siting: only {k} candidate site(s) usable; siting_k lowered from {p.siting_k}")
    Tc = np.where(far[:, None], np.inf, Tc)
    service = p.siting_time_min + _EPS  # the same "within" test as the settlement and scenario tables
    res = solve_siting(p.siting, Tc.T, service, k=k, weights=weights, cost_existing=T[main].T)
    if res.uncoverable.any():
        ctx.warn(f"response siting: {int(res.uncoverable.sum())} settlement(s) cannot be reached within "
                 f"{p.siting_time_min:g} min from any station or candidate")
    cover = Tc <= service  # (C, P)
    new_cov = cover & ~res.pre_covered[None, :]
    w = weights if weights is not None else np.ones(len(settl))
    sel = np.zeros(len(cand), dtype=bool)
    sel[res.selected] = True
    rank = np.full(len(cand), np.nan)
    # order the chosen sites by the demand each adds beyond the existing coverage (for reading)
    for r, j in enumerate(sorted(res.selected, key=lambda j: -float(w[new_cov[j]].sum()))):
        rank[j] = r + 1
    out = cand.copy()
    out["model"] = p.siting
    out["vehicle_class"] = vc
    out["time_threshold_min"] = p.siting_time_min
    out["selected"] = sel
    out["rank"] = rank
    out["new_settlements"] = new_cov.sum(axis=1)
    out["new_population"] = (new_cov * np.nan_to_num(w)[None, :]).sum(axis=1) if weights is not None else np.nan
    out["objective"] = res.objective
    out["objective_what"] = ("covered " + what) if p.siting == "mclp" else "stations (existing + new)"
    out["pre_covered_" + what] = float(w[res.pre_covered].sum())
    out["covered_" + what] = float(w[res.covered].sum())
    out["snap_m"] = sn["snap_m"].to_numpy()
    out = out.sort_values(["selected", "rank"], ascending=[False, True], kind="mergesort")
    return out, Tc_by, res.selected


# ---------------------------------------------------------------------------------------------
# result schema (issue 16 §3): what each result layer holds ({n}: one column per time break)

def _declare_results() -> None:
    from ..schema import SETTLEMENT, TIMES_BY_CLASS, Column, ResultLayer, declare

    st = (Column("station", "str", "", "消防队站", "station label"), Column("station_name", "str", "", "队站名称"),
          Column("status", "str", "", "状态", "existing, planned or candidate"),
          Column("vehicle_class", "str", "", "车型等级", "standard, small or motorcycle"))
    shares = (Column("settlements", "int", "", "居民点数"), Column("population", "float", "", "人口"),
              Column("settlements_within_{n}", "int", "", "{n}分钟内居民点数", "settlements reached within n min"),
              Column("share_within_{n}", "float", "", "{n}分钟内居民点比例", "share of settlements reached within n min"),
              Column("population_within_{n}", "float", "", "{n}分钟内人口", "population reached within n min"),
              Column("pop_share_within_{n}", "float", "", "{n}分钟内人口比例", "share of population reached within n min"),
              Column("unreached", "int", "", "不可达居民点", "settlements no station reaches"),
              Column("mean_time_min", "float", "min", "平均到场时间（分钟）", "mean response time of the reached settlements"))
    declare(
        ResultLayer("response_isochrones", "response", "Polygon", "消防队站响应时间圈",
                    "Service areas along the roads per station, vehicle class and time break (disks or rings).",
                    st + (Column("break_min", "float", "min", "时间圈（分钟）", "time break"),
                          Column("ring", "str", "", "圈层", "disk or ring"),
                          Column("road_m", "float", "m", "可达道路（米）", "road length reached"),
                          Column("area_m2", "float", "m2", "面积（平方米）"))),
        ResultLayer("response_zones", "response", "Polygon", "消防队站责任区（首到站）",
                    "First-due zones: the roads each station reaches first, with what they serve.",
                    st + (Column("road_m", "float", "m", "责任区道路（米）", "road length of the zone"),
                          Column("max_time_min", "float", "min", "最大到场时间（分钟）", "longest time to a road of the zone"),
                          Column("area_m2", "float", "m2", "面积（平方米）"),
                          Column("settlements", "int", "", "居民点数"),
                          Column("population", "float", "", "人口"))),
        ResultLayer("response_zone_roads", "response", "LineString", "责任区道路（首到站）",
                    "The road pieces of each first-due zone, with the time at both ends.",
                    (Column("station", "str", "", "首到消防队站", "station label"),
                     Column("edge", "int", "", "路段编号", "network edge"),
                     Column("road_fid", "int", "", "道路要素编号", "road feature id"),
                     Column("start_m", "float", "m", "起点里程（米）", "start along the edge"),
                     Column("end_m", "float", "m", "终点里程（米）", "end along the edge"),
                     Column("length_m", "float", "m", "长度（米）"),
                     Column("time_min_start", "float", "min", "起点到场时间（分钟）", "time at the start"),
                     Column("time_min_end", "float", "min", "终点到场时间（分钟）", "time at the end"))),
        ResultLayer("response_radii", "response", "Polygon", "消防队站服务半径（直线）",
                    "The textbook radius (speed x time) per station, and how much of the road inside it is really reached.",
                    st + (Column("break_min", "float", "min", "时间圈（分钟）"),
                          Column("speed_kmh", "float", "km/h", "车速（公里/小时）", "assumed speed"),
                          Column("radius_m", "float", "m", "半径（米）"),
                          Column("road_m", "float", "m", "圆内道路（米）", "road length inside the circle"),
                          Column("reached_m", "float", "m", "可达道路（米）", "road inside the circle reached in time"),
                          Column("network_share", "float", "", "路网实际可达比例", "reached_m / road_m"),
                          Column("area_share", "float", "", "面积可达比例", "share of the circle's area reached"))),
        ResultLayer("response_settlements", "response", "Point", "居民点到场时间（可达最优车型）",
                    "Each settlement: the first and second station to arrive, the time (best vehicle) and per break.",
                    SETTLEMENT + (
                     Column("vehicle_class", "str", "", "可达最优车型", "best vehicle class that reaches it"),
                     Column("station", "str", "", "首到消防队站", "first station to arrive"),
                     Column("time_min", "float", "min", "到场时间（分钟）", "response time (incl. walk)"),
                     Column("walk_m", "float", "m", "路端后步行（米）", "walk from the road end"),
                     Column("station_2", "str", "", "第二到场队站", "second station to arrive"),
                     Column("time_min_2", "float", "min", "第二到场时间（分钟）", "second station's time"),
                     Column("within_{n}", "bool", "", "{n}分钟内到场", "reached within n min"),
                    ) + TIMES_BY_CLASS + (
                     Column("time_min_existing", "float", "min", "仅现状队站到场时间（分钟）", "time from the existing stations only"),
                     Column("snap_m", "float", "m", "距道路（米）", "distance to the road"))),
        ResultLayer("response_towns", "response", None, "乡镇响应统计",
                    "Settlements and population reached within each summary break, per township.",
                    (Column("town", "str", "", "乡镇（街道）"),) + shares),
        ResultLayer("response_scenarios", "response", None, "队站布局方案比较",
                    "District-wide shares per scenario (existing, existing+planned, recipe), gains against existing.",
                    (Column("scenario", "str", "", "情景"), Column("stations", "str", "", "消防队站", "station labels"),
                     Column("n_stations", "int", "", "队站数")) + shares
                    + (Column("gain_settlements_within_{n}", "int", "", "新增{n}分钟内居民点", "settlements gained against existing"),
                       Column("gain_population_within_{n}", "float", "", "新增{n}分钟内人口", "population gained against existing"))),
        ResultLayer("response_siting", "response", "Point", "新建队站选址",
                    "Candidate station sites: which the siting model chose, in which order, and what they add.",
                    (Column("name", "str", "", "名称"),
                     Column("town", "str", "", "乡镇（街道）"),
                     Column("source", "str", "", "数据来源", "candidate layer"),
                     Column("fid", "int", "", "要素编号", "feature id in that layer"),
                     Column("model", "str", "", "选址模型", "mclp or lscp"),
                     Column("vehicle_class", "str", "", "车型等级"),
                     Column("time_threshold_min", "float", "min", "选址到场时间标准（分钟）"),
                     Column("selected", "bool", "", "是否选定"),
                     Column("rank", "float", "", "序号", "order of choice (empty: not chosen)"),
                     Column("new_settlements", "int", "", "新增覆盖居民点"), Column("new_population", "float", "", "新增覆盖人口"),
                     Column("objective", "float", "", "目标值"), Column("objective_what", "str", "", "目标内容"),
                     Column("pre_covered_{what}", "float", "", "现状队站覆盖{what}", "covered by existing stations"),
                     Column("covered_{what}", "float", "", "选址后覆盖{what}", "covered with the chosen sites"),
                     Column("snap_m", "float", "m", "距道路（米）", "distance to the road"))),
    )


_declare_results()
