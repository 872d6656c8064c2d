"""Helicopter water-intake (bucket dip) sites and landing pads, per township or mountain system.

Seed task 8 (开州府办发〔2023〕47号): plan helicopter water-intake points and pads per township
(乡镇（街道）) or per mountain system (山系). No national rule sets dip-site criteria, so every
threshold is a parameter; the ones without a published source are assumptions (confidence ``A``
in :mod:`kzgis.rules`), listed in each result's ``attrs["assumptions"]`` and in the ``assumptions``
column of ``heli_units``.

Results
-------
``heli_water_bodies`` (polygons, index = water body fid)
    Every body with each test: ``area_m2``/``area_ok``; ``clear_diameter_m``/``clear_ok`` (largest
    inscribed circle); ``depth_m``, ``depth_status`` (ok / shallow / unknown), ``depth_ok``
    (unknown counts as passing, flagged ``provisional``); ``water_level_m`` (surface elevation at
    the dip point); ``approach_dirs`` (clear directions), ``approach_from`` (their compass labels:
    ``N`` = low terrain north of the water, the helicopter can come in from the north),
    ``approach_best_deg`` (the lowest terrain angle of all directions; each direction's angle is the
    steepest over its ``approach_corridor_m`` wide corridor), ``approach_power_blocked``
    (directions clear of terrain but crossed by a power line within the approach distance),
    ``approach_ok``;
    ``power_line_m`` (NaN when no power line is known), ``power_ok``; ``passed``, ``provisional``;
    ``reason`` (``中文 / English``), ``reason_zh``, ``reason_en``; ``unit``.
``heli_dip_sites`` (points, index = water body fid)
    Passing bodies, the point being the centre of the largest clear circle (the dip point):
    ``unit, area_m2, clear_diameter_m, depth_m, depth_status, provisional, approach_dirs,
    approach_from``; ``forest_km2_in_radius`` (forest within the dip radius), ``forest_mean_km``
    (mean distance to that forest), ``forest_nearest_km`` (to the nearest forest edge);
    ``round_trip_min`` = 2 x ``forest_mean_km`` / cruise speed + dip-and-drop time (NaN when no
    forest is within reach), ``round_trip_nearest_min`` (same to the nearest forest);
    ``selected`` and ``selected_for`` (the units whose cover chose it).
``heli_pads`` (polygons: the candidate area, the zone where the pad centre may go; index 0..n-1)
    One candidate per connected zone, centred at ``x, y`` (the zone's deepest cell):
    ``unit``, ``pad_area_m2`` (the pad's own footprint, ``pad_side_m`` squared), ``candidate_area_m2``
    (the area of the zone the centre may be chosen in, not the pad), ``slope_max_deg`` (steepest cell
    under the pad square), ``road_m`` (centre to the nearest road a vehicle of
    ``road_vehicle_class`` = ``pad_vehicle_class`` can use: an edge of the road network open to that
    class), ``nearest_dip_site_km`` (to a selected dip site),
    ``forest_m`` (to the nearest forest), ``score_km`` = dip km + forest km, ``rank`` in the unit.
``heli_units`` (unit polygons)
    ``unit, forest_km2``; ``forest_covered_before_km2``/``share_before`` (0: no dip sites are
    planned before this run); ``forest_coverable_km2``/``share_coverable`` (within reach of any
    passing site the unit may use); ``forest_covered_km2``/``share_after`` (by the selected
    sites); ``sites_selected``, ``selected_sites`` (fids), ``pads``, ``assumptions``.
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
from ..analysis import Context, register
from ..crs import require_projected
from . import _heli_cover, _heli_pads, _heli_water

log = logging.getLogger(__name__)

UNIT_LAYERS = ("boundary", "mountain_units")
_MIC_TOLERANCE_M = 0.1  # radius accuracy of the largest inscribed circle
RESULTS = ("heli_water_bodies", "heli_dip_sites", "heli_pads", "heli_units")


@dataclass(frozen=True)
class HelicopterParams:
    """Parameters of the ``helicopter`` analysis (recipe section ``analyses: helicopter:``).

    Dip sites
    ---------
    area_min_m2 : minimum water surface area (A).
    clear_diameter_min_m : minimum diameter of a circle of open water (A).
    depth_min_m : minimum water depth for the bucket, when ``depth_m`` is known (V2 weak).
    approach_directions : number of approach directions tried, evenly spaced (method).
    approach_min_dirs : directions that must be clear (A).
    approach_distance_m : how far past the shore the terrain is checked (A).
    approach_slope_max_deg : a direction is clear when the terrain within that distance rises less
        than this angle above the water surface, seen from the shore (A).
    approach_corridor_m : width of the approach corridor of each direction; the terrain angle is
        the steepest over the whole corridor, and a power line crossing the corridor within the
        approach distance blocks the direction (A; 0 = a single ray, no width).
    power_line_clear_m : no power line within this distance of the water (A; Zhou 2018 requires
        none near approach paths).
    water_level_pct : the water surface is this percentile of the DEM cells inside the body
        within ``approach_distance_m`` of the dip point (0 = minimum; method).
    dip_radius_km : forest within this distance of a dip site counts as served (A).
    cruise_kmh : helicopter speed with a bucket (V2 weak).
    dip_drop_min : minutes to fill the bucket and drop the water, added to the flight (A).

    Units and cover
    ---------------
    unit_layer : ``boundary`` (townships, field ``town``) or ``mountain_units`` (field ``name``).
    cover_cell_m : cell size (m) of the forest grid used for reach and cover (method).
    cover_from_other_units : a unit may use dip sites lying in a neighbouring unit.
    max_sites_per_unit : stop the greedy cover after this many sites (0 = until all reachable
        forest is covered).

    Pads
    ----
    pad_slope_max_deg : (V2, Zhou 2018). pad_side_m : earth pad side (V2). pad_clear_ring_m :
    obstacle-free ring around the pad (V2). pad_road_max_m : pad centre within this distance of a
    road a vehicle of ``pad_vehicle_class`` can use (A). pad_vehicle_class : the fire vehicle that
    must reach the pad (``standard``, ``small`` or ``motorcycle``; the network's width and grade
    classes); the road distance is measured to the nearest network edge that class may use (A).
    settlement_point_radius_m : a settlement given as a point blocks this radius (A).
    pads_per_unit : keep the best ranked pads of each unit (0 = all candidates).

    warn_share_below : name in the run's warnings the units where less than this share of the
        forest is within reach of any usable dip site (a message only).
    """

    area_min_m2: float = rules.param("dip_area_min_m2")
    clear_diameter_min_m: float = rules.param("dip_clear_diameter_m")
    depth_min_m: float = rules.param("bucket_depth_min_m")
    approach_directions: int = rules.method(16, "", "进近方向数")
    approach_min_dirs: int = rules.method(1, "", "至少需要的净空进近方向数")
    approach_distance_m: float = rules.param("dip_approach_dist_m")
    approach_slope_max_deg: float = rules.param("dip_approach_slope_deg")
    approach_corridor_m: float = rules.param("dip_approach_corridor_m")
    power_line_clear_m: float = rules.param("dip_power_line_m")
    water_level_pct: float = rules.method(5.0, "%", "水面高程取水体内高程的百分位")
    dip_radius_km: float = rules.param("dip_radius_km")
    cruise_kmh: float = rules.param("heli_cruise_kmh")
    dip_drop_min: float = rules.param("heli_dip_drop_min")
    unit_layer: str = "boundary"
    cover_cell_m: float = rules.method(100.0, "m", "林地栅格边长")
    cover_from_other_units: bool = True
    max_sites_per_unit: int = 0
    pad_slope_max_deg: float = rules.param("helipad_slope_max_deg")
    pad_side_m: float = rules.param("helipad_side_m")
    pad_clear_ring_m: float = rules.param("helipad_clear_ring_m")
    pad_road_max_m: float = rules.param("helipad_road_m")
    pad_vehicle_class: str = "small"
    settlement_point_radius_m: float = rules.param("settlement_point_radius_m")
    pads_per_unit: int = 0
    warn_share_below: float = 0.5

    def __post_init__(self):
        problems = []
        positive = ("area_min_m2", "clear_diameter_min_m", "approach_distance_m", "approach_slope_max_deg",
                    "dip_radius_km", "cruise_kmh", "cover_cell_m", "pad_slope_max_deg", "pad_side_m")
        for name in positive:
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0 (got {getattr(self, name)!r})")
        for name in ("depth_min_m", "power_line_clear_m", "approach_corridor_m", "dip_drop_min", "pad_clear_ring_m",
                     "pad_road_max_m",
                     "settlement_point_radius_m", "max_sites_per_unit", "pads_per_unit"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0 (got {getattr(self, name)!r})")
        if self.approach_directions < 1:
            problems.append(f"approach_directions must be >= 1 (got {self.approach_directions})")
        if not 1 <= self.approach_min_dirs <= self.approach_directions:
            problems.append(f"approach_min_dirs must be between 1 and approach_directions "
                            f"({self.approach_directions}), got {self.approach_min_dirs}")
        if not 0 <= self.warn_share_below <= 1:
            problems.append(f"warn_share_below must be a share between 0 and 1 (got {self.warn_share_below})")
        if not 0 <= self.water_level_pct <= 100:
            problems.append(f"water_level_pct must be between 0 and 100 (got {self.water_level_pct})")
        if self.pad_vehicle_class not in ("standard", "small", "motorcycle"):
            problems.append(f"pad_vehicle_class must be one of standard, small, motorcycle (got {self.pad_vehicle_class!r})")
        if self.unit_layer not in UNIT_LAYERS:
            problems.append(f"unit_layer must be one of {', '.join(UNIT_LAYERS)} (got {self.unit_layer!r})")
        if problems:
            raise ValueError("; ".join(problems))


def assumptions(p: HelicopterParams) -> list[rules.InForce]:
    """The thresholds in force, each with its source and whether it is our assumption.

    :func:`kzgis.rules.in_force` of the parameters: the rule-backed ones with the rule's source and
    confidence, the method choices (``approach_directions``...) with confidence ``A``; a value changed
    in the recipe is reported with source ``recipe``.
    """
    return rules.in_force(p)


# ---------------------------------------------------------------------------------------------
# units


def _units(ctx: Context, p: HelicopterParams) -> gpd.GeoDataFrame:
    """Planning units (``unit``, geometry), index 0..n-1."""
    layers = ctx.layers
    kind = p.unit_layer
    if not layers.has(kind):
        other = [k for k in UNIT_LAYERS if k != kind and layers.has(k)]
        if other:
            ctx.warn(f"helicopter: unit_layer '{kind}' is not loaded; planning units taken from '{other[0]}'")
            kind = other[0]
        else:
            kind = None
    if kind is None:
        ctx.warn("helicopter: no 'boundary' or 'mountain_units' layer; the whole DEM extent is one unit")
        return gpd.GeoDataFrame({"unit": ["全区"]}, geometry=[shapely.box(*ctx.dem.bounds)], crs=ctx.crs)
    gdf = layers[kind]
    field = "town" if kind == "boundary" else "name"
    names = gdf[field] if field in gdf else pd.Series([None] * len(gdf), index=gdf.index)
    names = [str(v) if v is not None and not (isinstance(v, float) and np.isnan(v)) else f"{kind}#{fid}"
             for fid, v in zip(gdf.index, names)]
    g = gpd.GeoDataFrame({"unit": names}, geometry=gdf.geometry.to_numpy(), crs=ctx.crs)
    g = g.dissolve(by="unit", sort=False).reset_index()
    if kind == "boundary" and ctx.towns:
        keep = g["unit"].isin(list(ctx.towns))
        if not keep.any():
            raise AnalysisError(f"helicopter: none of the towns {', '.join(ctx.towns)} is in the boundary layer")
        g = g[keep].reset_index(drop=True)
    return g[["unit", "geometry"]]


def _unit_of(points, units: gpd.GeoDataFrame) -> np.ndarray:
    """Index of the unit holding each point (-1 when none)."""
    out = np.full(len(points), -1, dtype=int)
    if len(points) == 0 or len(units) == 0:
        return out
    tree = shapely.STRtree(units.geometry.to_numpy())
    pi, ui = tree.query(np.asarray(points, dtype=object), predicate="intersects")
    # first unit wins for a point on a shared border
    order = np.lexsort((ui, pi))
    pi, ui = pi[order], ui[order]
    first = np.concatenate([[True], pi[1:] != pi[:-1]]) if pi.size else np.zeros(0, bool)
    out[pi[first]] = ui[first]
    return out


# ---------------------------------------------------------------------------------------------
# dip-site screening


def screen_water_bodies(water: gpd.GeoDataFrame, dem, power_lines, p: HelicopterParams) -> pd.DataFrame:
    """Each test's value and result for every water body (index aligned to ``water``)."""
    geoms = water.geometry.to_numpy()
    n = len(water)
    area = shapely.area(geoms).astype(float) if n else np.zeros(0)
    cx, cy, diam = _heli_water.inscribed_circles(geoms, _MIC_TOLERANCE_M)
    depth = (pd.to_numeric(water["depth_m"], errors="coerce").to_numpy(float) if "depth_m" in water
             else np.full(n, np.nan))
    level = _heli_water.water_levels(dem, geoms, p.water_level_pct, cx, cy, near_m=p.approach_distance_m)
    ang, shore = _heli_water.approach_angles(dem, geoms, cx, cy, level, p.approach_directions,
                                             p.approach_distance_m, corridor_m=p.approach_corridor_m)
    terrain_ok = np.isfinite(ang) & (ang < p.approach_slope_max_deg)
    # a power line across a corridor within the approach distance blocks the direction
    wired = _heli_water.corridor_blocked(cx, cy, shore, p.approach_directions, p.approach_distance_m,
                                         p.approach_corridor_m,
                                         power_lines.geometry.to_numpy() if power_lines is not None else None)
    clear_dir = terrain_ok & ~wired
    ndirs = clear_dir.sum(axis=1) if n else np.zeros(0, int)
    n_wired = (terrain_ok & wired).sum(axis=1) if n else np.zeros(0, int)
    labels = _heli_water.direction_labels(p.approach_directions)
    approach_from = [" ".join(lab for lab, ok in zip(labels, row) if ok) for row in clear_dir]
    with np.errstate(invalid="ignore"):
        best = np.where(np.isfinite(ang).any(axis=1), np.where(np.isfinite(ang), ang, np.inf).min(axis=1),
                        np.nan) if n else np.zeros(0)
    checked = np.isfinite(level) & np.isfinite(ang).any(axis=1) if n else np.zeros(0, bool)
    pl = (_heli_water.nearest_distance(geoms, power_lines.geometry.to_numpy())
          if power_lines is not None else np.full(n, np.nan))
    pl[~np.isfinite(pl)] = np.nan  # no power line known

    area_ok = area >= p.area_min_m2
    # the inscribed circle found is at most 2 x tolerance narrower than the true one
    clear_ok = diam >= p.clear_diameter_min_m - 2 * _MIC_TOLERANCE_M
    depth_known = np.isfinite(depth)
    depth_ok = ~depth_known | (depth >= p.depth_min_m)
    approach_ok = checked & (ndirs >= p.approach_min_dirs)
    power_ok = ~(pl < p.power_line_clear_m)
    passed = area_ok & clear_ok & depth_ok & approach_ok & power_ok

    zh_all, en_all = [], []
    for i in range(n):
        zh, en = [], []
        if not area_ok[i]:
            zh.append(f"水面面积{area[i]:,.0f} m²小于{p.area_min_m2:,.0f} m²")
            en.append(f"area {area[i]:,.0f} m2 < {p.area_min_m2:,.0f} m2")
        if not clear_ok[i]:
            zh.append(f"净水面直径{diam[i]:.1f} m小于{p.clear_diameter_min_m:g} m")
            en.append(f"clear circle {diam[i]:.1f} m < {p.clear_diameter_min_m:g} m")
        if depth_known[i] and not depth_ok[i]:
            zh.append(f"水深{depth[i]:.1f} m小于{p.depth_min_m:.1f} m")
            en.append(f"depth {depth[i]:.1f} m < {p.depth_min_m:.1f} m")
        if not checked[i]:
            zh.append("超出高程数据范围，无法判断进近条件")
            en.append("outside the DEM: approach not checked")
        elif not approach_ok[i]:
            wide = f"{p.approach_corridor_m:g} m宽进近通道" if p.approach_corridor_m > 0 else "进近方向"
            wide_en = f"{p.approach_corridor_m:g} m wide corridors" if p.approach_corridor_m > 0 else "directions"
            zh.append(f"进近净空不足：{p.approach_directions}个{wide}中{ndirs[i]}个满足{p.approach_distance_m:.0f} m内"
                      f"地形仰角<{p.approach_slope_max_deg:g}°且无电力线横穿（需{p.approach_min_dirs}个）"
                      + (f"，其中{n_wired[i]}个地形满足但被电力线横穿" if n_wired[i] else ""))
            en.append(f"no approach: {ndirs[i]} of {p.approach_directions} {wide_en} have terrain within "
                      f"{p.approach_distance_m:.0f} m below {p.approach_slope_max_deg:g} deg and no power line across "
                      f"(need {p.approach_min_dirs})"
                      + (f"; {n_wired[i]} clear of terrain are crossed by a power line" if n_wired[i] else ""))
        if not power_ok[i]:
            zh.append(f"距电力线{pl[i]:.0f} m，小于{p.power_line_clear_m:.0f} m")
            en.append(f"power line {pl[i]:.0f} m from the water (< {p.power_line_clear_m:.0f} m)")
        if passed[i]:
            zh.insert(0, "可作吊桶取水点")
            en.insert(0, "usable as a bucket dip site")
        if not depth_known[i]:
            zh.append("水深未知：需实测")
            en.append("depth unknown: survey")
        zh_all.append("；".join(zh))
        en_all.append("; ".join(en))

    depth_status = np.where(~depth_known, "unknown", np.where(depth_ok, "ok", "shallow"))
    return pd.DataFrame({
        "area_m2": area, "area_ok": area_ok,
        "clear_diameter_m": diam, "clear_ok": clear_ok,
        "depth_m": depth, "depth_status": depth_status, "depth_ok": depth_ok,
        "water_level_m": level,
        "approach_dirs": ndirs.astype(int), "approach_from": approach_from,
        "approach_best_deg": best, "approach_power_blocked": n_wired.astype(int), "approach_ok": approach_ok,
        "power_line_m": pl, "power_ok": power_ok,
        "passed": passed, "provisional": passed & ~depth_known,
        "reason": [f"{z} / {e}" for z, e in zip(zh_all, en_all)],
        "reason_zh": zh_all, "reason_en": en_all,
        "dip_x": cx, "dip_y": cy,
    }, index=water.index)


# ---------------------------------------------------------------------------------------------
# the analysis


def _validate(ctx: Context):
    problems = []
    require_projected(ctx.crs, "the helicopter analysis")
    for kind in ("water_bodies", "forest"):
        if kind not in ctx.layers or ctx.layers[kind] is None:
            problems.append(f"layer '{kind}' is required")
    if ctx.dem is None:
        problems.append("layer 'dem' is required (slopes and approach angles come from it)")
    elif ctx.dem.crs != ctx.crs:
        problems.append(f"the DEM is in {ctx.dem.crs.to_string()}, the layers in {ctx.crs.to_string()}; "
                        "load the DEM through kzgis.load so it is warped to the working CRS")
    if problems:
        raise AnalysisError("helicopter: " + "; ".join(problems))


def _geoms(ctx, kind):
    return ctx.layers[kind].geometry.to_numpy() if ctx.layers.has(kind) else np.zeros(0, dtype=object)


def _warn_dem_gaps(ctx, dem, grid, unit_names) -> None:
    """Name the units whose forest the DEM does not cover: their shares would read as a bare 0 %."""
    if not len(grid.xy):
        return
    out = ~np.isfinite(dem.sample(grid.xy[:, 0], grid.xy[:, 1]))
    lost = out & (grid.unit < 0)
    if lost.any():  # e.g. the units are the DEM's own extent
        ctx.warn(f"helicopter: {lost.sum() * grid.cell_km2:.1f} km² of forest lies outside the DEM and outside "
                 "every unit: it is not counted in any cover share. Use a DEM that covers the whole area")
    for u, name in enumerate(unit_names):
        mine = grid.unit == u
        if mine.any() and out[mine].mean() > 0.05:
            ctx.warn(f"helicopter: the DEM does not cover {out[mine].mean():.0%} of the forest of {name} "
                     f"({out[mine].sum() * grid.cell_km2:.1f} km²): water bodies and pads there cannot be checked, "
                     "so its cover shares are understated (not a true 0 %). Use a DEM that covers the whole area")


@register("helicopter", title_zh="直升机取水点与停机坪", needs=("water_bodies", "dem", "forest"),
          optional=("power_lines", "roads", "boundary", "mountain_units", "settlements", "urban_area", "rivers"),
          params=HelicopterParams, results=RESULTS)
def run_helicopter(ctx: Context, p: HelicopterParams) -> dict[str, gpd.GeoDataFrame]:
    """Screen water bodies as bucket dip sites, choose sites per unit, and find pads on the DEM."""
    _validate(ctx)
    crs = ctx.crs
    dem = ctx.dem
    water = ctx.layers["water_bodies"]
    forest_geoms = _geoms(ctx, "forest")
    power = ctx.layers["power_lines"] if ctx.layers.has("power_lines") else None
    if power is None:
        ctx.warn("helicopter: no 'power_lines' layer; dip sites and pads are not checked for power lines")
    units = _units(ctx, p)
    unit_names = units["unit"].to_numpy()

    scr, dip_pts, body_unit = _screen(ctx, water, dem, power, units, p)

    # -- usefulness and cover ----------------------------------------------------------------------
    grid = _heli_cover.ForestGrid.build(forest_geoms, units.geometry.to_numpy(), p.cover_cell_m)
    _warn_dem_gaps(ctx, dem, grid, unit_names)
    site_idx = np.flatnonzero(scr["passed"].to_numpy())
    reach = _site_reach(grid, scr, dip_pts, site_idx, forest_geoms, p)
    site_unit = body_unit[site_idx]
    rows, selected_for = _choose_sites(grid, units, reach, scr, site_idx, site_unit, water, p)
    _warn_short_units(ctx, rows, p)
    sites = _sites_layer(water, scr, dip_pts, site_idx, site_unit, unit_names, reach, selected_for, crs)

    # -- pads --------------------------------------------------------------------------------------
    pads = _find_pads(ctx, p, units, sites)
    unit_tab = _units_layer(rows, units, pads, p, crs)

    bodies = gpd.GeoDataFrame(scr.drop(columns=["dip_x", "dip_y"]), geometry=water.geometry.to_numpy(),
                              crs=crs, index=water.index)
    out = {"heli_water_bodies": bodies, "heli_dip_sites": sites, "heli_pads": pads, "heli_units": unit_tab}
    log.info("helicopter: %d of %d water bodies pass, %d sites selected, %d pads",
             int(scr["passed"].sum()), len(water), int(sites["selected"].sum()), len(pads))
    return out


def _screen(ctx: Context, water, dem, power, units: gpd.GeoDataFrame, p: HelicopterParams):
    """The screened water bodies with their name and unit, their dip points and each dip point's unit index."""
    scr = screen_water_bodies(water, dem, power, p)
    dip_pts = shapely.points(scr["dip_x"].to_numpy(), scr["dip_y"].to_numpy())
    body_unit = _unit_of(dip_pts, units)
    unit_names = units["unit"].to_numpy()
    scr.insert(0, "unit", [unit_names[u] if u >= 0 else None for u in body_unit])
    if "name" in water:
        scr.insert(0, "name", water["name"].to_numpy())
    n_prov = int(scr["provisional"].sum())
    if n_prov:
        ctx.warn(f"helicopter: {n_prov} dip site(s) pass with unknown water depth (depth_m empty); "
                 "survey the depth before adopting them")
    return scr, dip_pts, body_unit


def _site_reach(grid, scr: pd.DataFrame, dip_pts, site_idx, forest_geoms, p: HelicopterParams) -> dict:
    """Per passing site: the forest cells within the dip radius, their area, mean and nearest distance, round trips."""
    site_xy = np.column_stack([scr["dip_x"].to_numpy()[site_idx], scr["dip_y"].to_numpy()[site_idx]])
    radius_m = p.dip_radius_km * 1000.0
    cells, km2, mean_km = _heli_cover.reach(grid, site_xy, radius_m)
    nearest_km = _heli_water.nearest_distance(dip_pts[site_idx], forest_geoms) / 1000.0
    nearest_km[~np.isfinite(nearest_km)] = np.nan
    per_km = 2.0 / p.cruise_kmh * 60.0  # minutes of round-trip flight per km of distance
    return {"cells": cells, "km2": km2, "mean_km": mean_km, "nearest_km": nearest_km,
            "round_trip": mean_km * per_km + p.dip_drop_min,
            "round_trip_nearest": nearest_km * per_km + p.dip_drop_min}


def _cells_by_unit(grid, cells, site_unit, p: HelicopterParams) -> dict[int, dict[int, np.ndarray]]:
    """For each unit: the forest cells of that unit each site can reach (only its own unit's sites unless allowed)."""
    by_unit: dict[int, dict[int, np.ndarray]] = {}
    for s, idx in enumerate(cells):
        if idx.size == 0:
            continue
        u_of = grid.unit[idx]
        for u in np.unique(u_of):
            if u < 0:
                continue
            if not p.cover_from_other_units and site_unit[s] != u:
                continue
            by_unit.setdefault(int(u), {})[s] = idx[u_of == u]
    return by_unit


def _choose_sites(grid, units, reach: dict, scr, site_idx, site_unit, water, p: HelicopterParams):
    """The sites chosen per unit (greedy forest cover) as one summary row per unit, and the units each site serves."""
    round_trip = reach["round_trip"]
    provisional = scr["provisional"].to_numpy()[site_idx]
    site_area = scr["area_m2"].to_numpy()[site_idx]
    unit_names = units["unit"].to_numpy()

    def priority(s):
        rt = round_trip[s]
        return (bool(provisional[s]), float(rt) if np.isfinite(rt) else np.inf, -float(site_area[s]), int(s))

    by_unit = _cells_by_unit(grid, reach["cells"], site_unit, p)
    selected_for: list[list[str]] = [[] for _ in range(len(site_idx))]
    cell_counts = np.bincount(grid.unit[grid.unit >= 0], minlength=len(units)) if len(grid.unit) else \
        np.zeros(len(units), dtype=int)
    rows = []
    for u in range(len(units)):
        cand = by_unit.get(u, {})
        coverable = np.unique(np.concatenate(list(cand.values()))) if cand else np.zeros(0, dtype=np.intp)
        chosen = _heli_cover.greedy_cover(cand, len(grid.xy), priority, p.max_sites_per_unit)
        covered = (np.unique(np.concatenate([cand[s] for s in chosen])) if chosen
                   else np.zeros(0, dtype=np.intp))
        for s in chosen:
            selected_for[s].append(unit_names[u])
        total = cell_counts[u] * grid.cell_km2
        rows.append({
            "unit": unit_names[u],
            "forest_km2": total,
            "forest_covered_before_km2": 0.0,
            "share_before": 0.0 if total > 0 else np.nan,
            "forest_coverable_km2": coverable.size * grid.cell_km2,
            "share_coverable": coverable.size * grid.cell_km2 / total if total > 0 else np.nan,
            "forest_covered_km2": covered.size * grid.cell_km2,
            "share_after": covered.size * grid.cell_km2 / total if total > 0 else np.nan,
            "sites_selected": len(chosen),
            "selected_sites": ", ".join(str(water.index[site_idx[s]]) for s in chosen),
        })
    return rows, selected_for


def _warn_short_units(ctx: Context, rows: list[dict], p: HelicopterParams) -> None:
    """Warn about the units where too little forest is within the dip radius of a usable site."""
    short = [f"{r['unit']}（{r['forest_km2']:.1f} km²，{r['share_coverable']:.0%}）" for r in rows
             if r["forest_km2"] > 0 and r["share_coverable"] < p.warn_share_below]
    if short:
        ctx.warn(f"helicopter: less than {p.warn_share_below:.0%} of the forest is within {p.dip_radius_km:g} km "
                 f"of a usable dip site in {len(short)} unit(s): {'、'.join(short)}; new water sources "
                 "(or a survey of the failing ones) are needed there")


def _sites_layer(water, scr, dip_pts, site_idx, site_unit, unit_names, reach: dict, selected_for,
                 crs) -> gpd.GeoDataFrame:
    """The heli_dip_sites layer: every passing dip site, its forest reach, round trips and the units it serves."""
    fids = water.index[site_idx]
    sites = gpd.GeoDataFrame({
        "name": water["name"].to_numpy()[site_idx] if "name" in water else None,
        "unit": [unit_names[u] if u >= 0 else None for u in site_unit],
        "area_m2": scr["area_m2"].to_numpy()[site_idx],
        "clear_diameter_m": scr["clear_diameter_m"].to_numpy()[site_idx],
        "depth_m": scr["depth_m"].to_numpy()[site_idx],
        "depth_status": scr["depth_status"].to_numpy()[site_idx],
        "provisional": scr["provisional"].to_numpy()[site_idx],
        "approach_dirs": scr["approach_dirs"].to_numpy()[site_idx],
        "approach_from": scr["approach_from"].to_numpy()[site_idx],
        "forest_km2_in_radius": reach["km2"],
        "forest_mean_km": reach["mean_km"],
        "forest_nearest_km": reach["nearest_km"],
        "round_trip_min": reach["round_trip"],
        "round_trip_nearest_min": reach["round_trip_nearest"],
        "selected": np.array([bool(x) for x in selected_for], dtype=bool),
        "selected_for": [", ".join(x) for x in selected_for],
    }, geometry=dip_pts[site_idx], crs=crs, index=pd.Index(fids, name=water.index.name or "fid"))
    if "name" not in water:
        sites = sites.drop(columns="name")
    return sites


def _units_layer(rows: list[dict], units: gpd.GeoDataFrame, pads, p: HelicopterParams, crs) -> gpd.GeoDataFrame:
    """The heli_units layer: the per-unit rows with the unit outlines, their pad count and the assumptions."""
    pad_counts = pads["unit"].value_counts() if len(pads) else pd.Series(dtype=int)
    unit_tab = gpd.GeoDataFrame(rows, geometry=units.geometry.to_numpy(), crs=crs) if rows else \
        gpd.GeoDataFrame(columns=["unit", "geometry"], geometry="geometry", crs=crs)
    unit_tab["pads"] = [int(pad_counts.get(u, 0)) for u in unit_tab["unit"]]
    unit_tab["assumptions"] = rules.text(assumptions(p))
    return unit_tab


def _find_pads(ctx: Context, p: HelicopterParams, units: gpd.GeoDataFrame, sites: gpd.GeoDataFrame):
    from rasterio.features import rasterize

    dem = ctx.dem
    crs = ctx.crs
    areas = list(_geoms(ctx, "forest")) + list(_geoms(ctx, "urban_area"))
    if ctx.layers.has("settlements"):
        sg = _geoms(ctx, "settlements")
        is_pt = shapely.get_type_id(sg) == 0
        areas += list(sg[~is_pt])
        if is_pt.any() and p.settlement_point_radius_m > 0:
            areas += list(shapely.buffer(sg[is_pt], p.settlement_point_radius_m))
    water = list(_geoms(ctx, "water_bodies"))
    if ctx.layers.has("rivers"):
        rg = _geoms(ctx, "rivers")
        water += list(rg[shapely.get_type_id(rg) >= 3])
    lines = list(_geoms(ctx, "power_lines"))
    roads = None
    if ctx.layers.has("roads"):
        # only roads the pad's vehicle class can use (width and grade classes of the road network)
        net = ctx.network()
        roads = np.asarray(net.edges.geometry.values, dtype=object)[net.allowed(p.pad_vehicle_class)]
    else:
        ctx.warn("helicopter: no 'roads' layer; pad distance to a road is not checked (road_m empty)")
    unit_raster = rasterize(((g, i) for i, g in enumerate(units.geometry)), out_shape=dem.z.shape,
                            transform=dem.transform, fill=-1, dtype="int32")
    found = _heli_pads.find_pads(dem, slope_max_deg=p.pad_slope_max_deg, side_m=p.pad_side_m,
                                 ring_m=p.pad_clear_ring_m, road_max_m=p.pad_road_max_m, water=water,
                                 obstacle_areas=areas, obstacle_lines=lines, roads=roads,
                                 unit_raster=unit_raster)
    n = len(found["x"])
    pts = shapely.points(found["x"], found["y"]) if n else np.zeros(0, dtype=object)
    sel = sites[sites["selected"]] if len(sites) else sites
    if len(sel) and n:
        from scipy.spatial import cKDTree

        d, _ = cKDTree(shapely.get_coordinates(sel.geometry.to_numpy())).query(
            np.column_stack([found["x"], found["y"]]))
        dip_km = d / 1000.0
    else:
        dip_km = np.full(n, np.nan)
    forest_m = _heli_water.nearest_distance(pts, _geoms(ctx, "forest"))
    forest_m[~np.isfinite(forest_m)] = np.nan
    unit_names = units["unit"].to_numpy()
    pads = gpd.GeoDataFrame({
        "unit": [unit_names[u] if u >= 0 else None for u in found["unit"]],
        "pad_area_m2": np.full(n, p.pad_side_m * p.pad_side_m),
        "candidate_area_m2": found["area_m2"].astype(float),
        "slope_max_deg": found["slope_max_deg"],
        "road_m": found["road_m"],
        "road_vehicle_class": np.full(n, p.pad_vehicle_class if roads is not None else None, dtype=object),
        "nearest_dip_site_km": dip_km,
        "forest_m": forest_m,
        "x": found["x"], "y": found["y"],
    }, geometry=list(found["zone"]) if n else [], crs=crs)
    # rank within each unit: closest to the chosen dip sites plus closest to forest, then road
    score = np.nan_to_num(pads["nearest_dip_site_km"].to_numpy(float), nan=0.0) + \
        np.nan_to_num(pads["forest_m"].to_numpy(float) / 1000.0, nan=0.0)
    pads["score_km"] = score
    pads = pads.sort_values(["unit", "score_km", "road_m", "y", "x"], kind="stable")
    pads["rank"] = pads.groupby("unit", sort=False).cumcount() + 1 if n else pd.Series(dtype=int)
    if p.pads_per_unit > 0 and n:
        pads = pads[pads["rank"] <= p.pads_per_unit]
    pads = pads.reset_index(drop=True)
    pads.index.name = "pad"
    pads["rank"] = pads["rank"].astype(int) if len(pads) else pads["rank"]
    return pads


__all__ = ["HelicopterParams", "run_helicopter", "screen_water_bodies", "assumptions", "RESULTS"]


# --- result schema (issue 16 §3) -------------------------------------------------------------

from ..schema import Column, ResultLayer, declare  # noqa: E402

declare(
    ResultLayer("heli_water_bodies", "helicopter", "Polygon", "直升机取水水体筛查",
                "Every water body screened as a bucket dip site: area, clear diameter, depth, approach, power lines.",
                (Column("name", "str", "", "名称"),
                 Column("unit", "str", "", "单元"),
                 Column("area_m2", "float", "m2", "面积（平方米）"),
                 Column("area_ok", "bool", "", "面积满足"),
                 Column("clear_diameter_m", "float", "m", "净水面直径（米）"), Column("clear_ok", "bool", "", "净水面直径满足"),
                 Column("depth_m", "float", "m", "水深（米）"),
                 Column("depth_status", "str", "", "水深状况"),
                 Column("depth_ok", "bool", "", "水深满足"),
                 Column("water_level_m", "float", "m", "水面高程（米）"), Column("approach_dirs", "int", "", "可进近方向数"),
                 Column("approach_from", "str", "", "可进近方向"),
                 Column("approach_best_deg", "float", "deg", "最佳进近方向地形仰角（度）"),
                 Column("approach_power_blocked", "int", "", "被电力线横穿的进近方向数"),
                 Column("approach_ok", "bool", "", "进近条件满足"),
                 Column("power_line_m", "float", "m", "距电力线（米）"),
                 Column("power_ok", "bool", "", "电力线避让满足"),
                 Column("passed", "bool", "", "是否满足"),
                 Column("provisional", "bool", "", "待核实（水深未知）"),
                 Column("reason", "str", "", "理由"),
                 Column("reason_zh", "str", "", "原因"),
                 Column("reason_en", "str", "", "原因（英文）"))),
    ResultLayer("heli_dip_sites", "helicopter", "Point", "直升机取水点",
                "Water bodies that pass the screen, with the forest in reach and which were selected per unit.",
                (Column("name", "str", "", "名称"),
                 Column("unit", "str", "", "单元"),
                 Column("area_m2", "float", "m2", "面积（平方米）"),
                 Column("clear_diameter_m", "float", "m", "净水面直径（米）"), Column("depth_m", "float", "m", "水深（米）"),
                 Column("depth_status", "str", "", "水深状况"),
                 Column("provisional", "bool", "", "待核实（水深未知）"),
                 Column("approach_dirs", "int", "", "可进近方向数"),
                 Column("approach_from", "str", "", "可进近方向"),
                 Column("forest_km2_in_radius", "float", "km2", "服务半径内林地（平方公里）"),
                 Column("forest_mean_km", "float", "km", "至林地平均距离（公里）"),
                 Column("forest_nearest_km", "float", "km", "距最近林地（公里）"),
                 Column("round_trip_min", "float", "min", "往返时间（分钟）"),
                 Column("round_trip_nearest_min", "float", "min", "至最近林地往返（分钟）"),
                 Column("selected", "bool", "", "是否选定"), Column("selected_for", "str", "", "服务单元"))),
    ResultLayer("heli_pads", "helicopter", "Polygon", "直升机临时停机坪",
                "Candidate temporary landing pads per unit, ranked.",
                (Column("unit", "str", "", "单元"), Column("pad_area_m2", "float", "m2", "停机坪面积（平方米）"),
                 Column("candidate_area_m2", "float", "m2", "可选坪址范围（平方米）"),
                 Column("slope_max_deg", "float", "deg", "最大坡度（度）"),
                 Column("road_m", "float", "m", "距道路（米）"), Column("road_vehicle_class", "str", "", "道路可通行车型"),
                 Column("nearest_dip_site_km", "float", "km", "距取水点（公里）"), Column("forest_m", "float", "m", "距林地（米）"),
                 Column("x", "float", "m", "X坐标（米）"),
                 Column("y", "float", "m", "Y坐标（米）"),
                 Column("score_km", "float", "km", "排序得分（公里）"),
                 Column("rank", "int", "", "单元内排序"))),
    ResultLayer("heli_units", "helicopter", "Polygon", "航空消防单元（取水点覆盖）",
                "Per unit (township): forest covered by dip sites before and after the selection, pads, assumptions.",
                (Column("unit", "str", "", "单元"), Column("forest_km2", "float", "km2", "林地面积（平方公里）"),
                 Column("forest_covered_before_km2", "float", "km2", "现状覆盖林地（平方公里）"),
                 Column("share_before", "float", "", "现状覆盖率"),
                 Column("forest_coverable_km2", "float", "km2", "可覆盖林地（平方公里）"),
                 Column("share_coverable", "float", "", "可覆盖林地比例"),
                 Column("forest_covered_km2", "float", "km2", "规划覆盖林地（平方公里）"),
                 Column("share_after", "float", "", "选定取水点覆盖林地比例"),
                 Column("sites_selected", "int", "", "选定取水点数"),
                 Column("selected_sites", "str", "", "选定取水点"),
                 Column("pads", "int", "", "停机坪候选数"),
                 Column("assumptions", "str", "", "采用的假定"))),
)
