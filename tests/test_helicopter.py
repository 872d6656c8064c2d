"""Helicopter dip sites and pads on a synthetic DEM near Kaizhou (EPSG:4545), hand-checked."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from kzgis import analysis
from kzgis._errors import RecipeError
from kzgis.analyses import _heli_cover, _heli_pads, _heli_water
from kzgis.analyses.helicopter import RESULTS, HelicopterParams, assumptions, run_helicopter, screen_water_bodies
from kzgis.layers import Layers
from kzgis.params import from_mapping
from kzgis.terrain import DEM

CRS = "EPSG:4545"
X0, Y0 = 535000.0, 3450000.0  # top-left corner; the grids span 4 km east and south


def frame(geoms, crs=CRS, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs, index=range(1, len(geoms) + 1))


def grid(cell, n):
    xs = X0 + (np.arange(n) + 0.5) * cell
    ys = Y0 - (np.arange(n) + 0.5) * cell
    return np.meshgrid(xs, ys)


def flat_dem(cell=20.0, n=200, z=200.0):
    return DEM(np.full((n, n), z, dtype=np.float32), Affine(cell, 0, X0, 0, -cell, Y0), CRS)


def run(layers, **params):
    ctx = analysis.Context(layers=layers)
    out = analysis.get("helicopter").run(ctx, HelicopterParams(**params))  # as the pipeline runs it
    return out, ctx


# ---------------------------------------------------------------------------------------------
# the synthetic terrain: plain (W), gorge lake in the plain, 20 deg slope (middle), plateau (E)

GORGE = (535800.0, 3447000.0)
OPEN = (535800.0, 3449000.0)
SLOPE_X0, PLATEAU_X0 = 537000.0, 538300.0
TAN20 = math.tan(math.radians(20))


def terrain():
    cell, n = 10.0, 400
    X, Y = grid(cell, n)
    z = np.full(X.shape, 200.0)
    up = np.clip(X - SLOPE_X0, 0, PLATEAU_X0 - SLOPE_X0) * TAN20  # slope, then flat plateau at 673 m
    z = z + up
    # a trench 80 m wide and 200 m long, 80 m deep, walls rising 80 m over 60 m (53 deg)
    r = np.maximum(np.maximum(np.abs(X - GORGE[0]) - 40.0, np.abs(Y - GORGE[1]) - 100.0), 0.0)
    z = np.minimum(z, 120.0 + r * 80.0 / 60.0)
    return DEM(z.astype(np.float32), Affine(cell, 0, X0, 0, -cell, Y0), CRS)


def sq(cx, cy, side):
    return box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


WATER = {  # name: (geometry, depth_m)
    "gorge": (box(GORGE[0] - 35, GORGE[1] - 90, GORGE[0] + 35, GORGE[1] + 90), 5.0),
    "open": (Point(OPEN).buffer(50, 64), 4.0),
    "unknown": (sq(536400, 3449000, 60), np.nan),
    "small": (sq(536400, 3448500, 25), 3.0),
    "shallow": (sq(536400, 3448000, 60), 1.0),
    "powered": (sq(535800, 3448000, 60), 3.0),
    "strip": (box(536300, 3447300, 536340, 3447500), 3.0),  # 40 x 200 m
}
POWER_X = 535800 + 30 + 50  # 50 m east of the 'powered' pond's shore
FOREST_PLATEAU = box(PLATEAU_X0, 3449300, 539000, 3450000)


def world(roads=True, forest_extra=()):
    lay = Layers(CRS)
    lay["dem"] = terrain()
    names = list(WATER)
    lay["water_bodies"] = frame([WATER[k][0] for k in names], name=names, depth_m=[WATER[k][1] for k in names])
    lay["forest"] = frame([box(535000, 3446000, 535500, 3446500), FOREST_PLATEAU, *forest_extra])
    lay["power_lines"] = frame([LineString([(POWER_X, 3447700), (POWER_X, 3448300)])], voltage_kv=[10.0])
    if roads:
        lay["roads"] = frame([
            LineString([(536700, 3446000), (536700, 3450000)]),  # plain
            LineString([(538650, 3446000), (538650, 3450000)]),  # plateau
            LineString([(536700, 3448000), (538650, 3448000)]),  # across the slope
        ], width_m=[5.0, 5.0, 5.0])
    lay["boundary"] = frame([box(X0, Y0 - 4000, SLOPE_X0, Y0), box(SLOPE_X0, Y0 - 4000, X0 + 4000, Y0)],
                            town=["西镇", "东镇"])
    return lay


@pytest.fixture(scope="module")
def result():
    out, ctx = run(world())
    return out, ctx


def body(out, name):
    wb = out["heli_water_bodies"]
    return wb[wb["name"] == name].iloc[0]


# ---------------------------------------------------------------------------------------------
# result contract


def test_registered_with_exact_result_layers(result):
    a = analysis.get("helicopter")
    assert a.results == RESULTS == ("heli_water_bodies", "heli_dip_sites", "heli_pads", "heli_units")
    assert set(a.needs) == {"water_bodies", "dem", "forest"}
    out, _ = result
    assert list(out) == list(RESULTS)
    for name, gdf in out.items():
        assert gdf.crs == CRS, name
    assert {"unit", "area_m2", "clear_diameter_m", "depth_m", "approach_dirs", "forest_km2_in_radius",
            "round_trip_min", "selected"} <= set(out["heli_dip_sites"].columns)
    assert {"unit", "pad_area_m2", "candidate_area_m2", "slope_max_deg", "road_m", "road_vehicle_class",
            "nearest_dip_site_km"} <= set(out["heli_pads"].columns)
    assert "area_m2" not in out["heli_pads"].columns  # the pad and its candidate area are never confused
    # every body is reported, aligned to the input fids
    assert list(out["heli_water_bodies"].index) == list(range(1, len(WATER) + 1))


def test_assumptions_are_flagged(result):
    out, _ = result
    ann = {a["key"]: a for a in out["heli_dip_sites"].attrs["assumptions"]}
    assert ann["area_min_m2"]["is_assumption"] and ann["area_min_m2"]["confidence"] == "A"
    assert ann["dip_radius_km"]["is_assumption"]
    assert not ann["pad_slope_max_deg"]["is_assumption"] and ann["pad_slope_max_deg"]["confidence"] == "V2"
    assert "吊桶取水水面面积 2000 m2（A）" in out["heli_units"]["assumptions"].iloc[0]
    assert "直升机停机坪坡度" not in out["heli_units"]["assumptions"].iloc[0]
    # a recipe override of a sourced value becomes an assumption
    changed = {a.key: a for a in assumptions(HelicopterParams(pad_slope_max_deg=8.0))}
    assert changed["pad_slope_max_deg"].is_assumption and changed["pad_slope_max_deg"].source == "recipe"
    assert changed["pad_slope_max_deg"].changed_by_recipe and changed["pad_slope_max_deg"].default == 5.0
    assert not ann["pad_slope_max_deg"]["changed_by_recipe"]
    assert ann["approach_directions"]["source"] == "method choice" and ann["approach_directions"]["value"] == 16


# ---------------------------------------------------------------------------------------------
# dip-site screening


def test_gorge_lake_has_no_approach_open_lake_has_all(result):
    out, _ = result
    gorge, open_ = body(out, "gorge"), body(out, "open")
    assert gorge["water_level_m"] == pytest.approx(120.0)
    assert gorge["approach_dirs"] == 0
    # the walls rise 80 m within 70 m of the shore; the best ray runs obliquely up the trench
    assert gorge["approach_best_deg"] > 25
    assert not gorge["passed"] and "no approach" in gorge["reason"] and "进近净空不足" in gorge["reason"]
    assert gorge["area_ok"] and gorge["clear_ok"] and gorge["depth_ok"]  # fails on approach alone
    assert open_["approach_dirs"] == 16 and open_["approach_best_deg"] == pytest.approx(0.0, abs=1e-6)
    assert open_["passed"] and not open_["provisional"]
    assert open_["reason"].startswith("可作吊桶取水点")


def test_approach_angle_is_measured_from_the_shore():
    # ground rising at 10 deg eastward from the pond's east shore, flat elsewhere
    cell, n = 10.0, 400
    X, _ = grid(cell, n)
    cx, cy, r = 536000.0, 3448000.0, 100.0
    z = 200.0 + np.maximum(X - (cx + r), 0.0) * math.tan(math.radians(10))
    dem = DEM(z.astype(np.float32), Affine(cell, 0, X0, 0, -cell, Y0), CRS)
    pond = Point(cx, cy).buffer(r, 256)
    ang, shore = _heli_water.approach_angles(dem, [pond], [cx], [cy], [200.0], 16, 500.0)
    assert shore[0, 4] == pytest.approx(r, abs=0.1)  # direction 4 of 16 is east
    assert ang[0, 4] == pytest.approx(10.0, abs=0.3)  # from the centre it would be ~8.4 deg
    assert ang[0, 12] == pytest.approx(0.0, abs=1e-6)  # west: flat
    # NE (45 deg) meets the rising ground at an angle: atan(tan 10 * sin 45) at most, and at least 6 deg
    assert 6.0 < ang[0, 2] < math.degrees(math.atan(math.tan(math.radians(10)) * math.sin(math.pi / 4))) + 0.3


def test_approach_threshold_is_a_parameter():
    lay = world()
    out, _ = run(lay, approach_slope_max_deg=60.0)  # walls are ~50 deg: now the gorge is clear
    assert body(out, "gorge")["approach_dirs"] > 0 and body(out, "gorge")["passed"]


def test_power_line_beside_pond_rules_it_out(result):
    out, _ = result
    b = body(out, "powered")
    assert b["power_line_m"] == pytest.approx(50.0)
    assert not b["power_ok"] and not b["passed"]
    # terrain is fine everywhere; the line (x = +80 m from the centre, y within +-300 m) crosses the
    # 50 m corridors of the seven directions NNE..SSE within 500 m of the shore, not N or S
    assert b["approach_dirs"] == 9 and b["approach_power_blocked"] == 7
    assert b["approach_from"] == "N S SSW SW WSW W WNW NW NNW"
    assert "power line 50 m" in b["reason"] and "电力线" in b["reason"]
    assert body(out, "open")["power_ok"]
    out2, _ = run(world(), power_line_clear_m=40.0)
    assert body(out2, "powered")["passed"]


def test_without_power_lines_layer_the_test_is_skipped_with_a_warning():
    lay = world()
    del lay["power_lines"]
    out, ctx = run(lay)
    b = body(out, "powered")
    assert b["passed"] and np.isnan(b["power_line_m"])
    assert any("no 'power_lines' layer" in w for w in ctx.warnings)


def test_clear_diameter_exactly_at_the_threshold_passes():
    lay = Layers(CRS)
    lay["dem"] = flat_dem()
    lay["water_bodies"] = frame([sq(536000, 3448000, 30.0), sq(536500, 3448000, 29.0)], depth_m=[3.0, 3.0])
    lay["forest"] = frame([box(535000, 3446000, 535500, 3446500)])
    wb = run(lay, area_min_m2=500.0)[0]["heli_water_bodies"]
    assert list(wb["clear_ok"]) == [True, False]


def test_inscribed_circle_of_40_by_200_rectangle_is_40_m(result):
    assert _heli_water.clear_diameter_m([box(0, 0, 40, 200)])[0] == pytest.approx(40.0, abs=0.2)
    out, _ = result
    assert body(out, "strip")["clear_diameter_m"] == pytest.approx(40.0, abs=0.2)
    assert body(out, "strip")["area_m2"] == pytest.approx(8000.0)


def test_small_pond_fails_on_area(result):
    out, _ = result
    b = body(out, "small")
    assert b["area_m2"] == pytest.approx(625.0)
    assert not b["area_ok"] and not b["clear_ok"] and not b["passed"]
    assert "area 625 m2 < 2,000 m2" in b["reason"] and "水面面积625 m²小于2,000 m²" in b["reason"]
    assert "clear circle 25.0 m < 30 m" in b["reason"] and "净水面直径25.0 m小于30 m" in b["reason"]
    out2, _ = run(world(), area_min_m2=500.0, clear_diameter_min_m=20.0)
    assert body(out2, "small")["passed"]


def test_unknown_depth_says_survey_and_passes_provisionally(result):
    out, ctx = result
    b = body(out, "unknown")
    assert b["depth_status"] == "unknown" and b["passed"] and b["provisional"]
    assert "depth unknown: survey" in b["reason"] and "水深未知：需实测" in b["reason"]
    assert "survey" not in body(out, "open")["reason"]
    site = out["heli_dip_sites"].loc[b.name]
    assert site["provisional"] and site["depth_status"] == "unknown"
    assert any("unknown water depth" in w for w in ctx.warnings)
    shallow = body(out, "shallow")
    assert shallow["depth_status"] == "shallow" and not shallow["passed"]
    assert "depth 1.0 m < 2.5 m" in shallow["reason"]


def test_water_level_of_a_river_is_taken_near_the_dip_point():
    # a 40 m wide, 4 km long river falling 2 % eastward; the dip point is somewhere along it
    cell, n = 20.0, 200
    X, _ = grid(cell, n)
    dem = DEM((200.0 + 0.02 * (X - X0)).astype(np.float32), Affine(cell, 0, X0, 0, -cell, Y0), CRS)
    # a widening (80 m) in the middle holds the largest clear circle, so the dip point is there
    river = shapely.union(box(X0, 3447980, X0 + 4000, 3448020), box(X0 + 1900, 3447960, X0 + 2100, 3448040))
    cx, cy, _ = _heli_water.inscribed_circles([river])
    local = _heli_water.water_levels(dem, [river], 5.0, cx, cy, near_m=500.0)[0]
    whole = _heli_water.water_levels(dem, [river], 5.0, cx, cy)[0]
    at_dip = 200.0 + 0.02 * (cx[0] - X0)
    assert at_dip - 10.0 <= local <= at_dip  # 5th percentile within 500 m: at most 10 m lower
    assert whole < 210.0  # the whole river's 5th percentile is near its upper end
    assert cx[0] == pytest.approx(X0 + 2000, abs=70)


def test_water_outside_the_dem_is_not_passed():
    lay = world()
    wb = lay["water_bodies"]
    far = frame([Point(545000, 3448000).buffer(60)], name=["far"], depth_m=[5.0])
    far.index = [99]
    lay["water_bodies"] = gpd.GeoDataFrame(pd.concat([wb, far]), crs=CRS)
    out, _ = run(lay)
    b = out["heli_water_bodies"].loc[99]
    assert not b["passed"] and np.isnan(b["water_level_m"]) and b["approach_dirs"] == 0
    assert "outside the DEM" in b["reason"] and "超出高程数据范围" in b["reason"]


def test_dip_sites_are_the_passing_bodies(result):
    out, _ = result
    wb, sites = out["heli_water_bodies"], out["heli_dip_sites"]
    assert set(sites.index) == set(wb.index[wb["passed"]])
    assert set(wb.loc[sites.index, "name"]) == {"open", "unknown", "strip"}
    assert sites.loc[wb.index[wb["name"] == "open"][0]].geometry.distance(Point(OPEN)) < 0.5
    assert set(sites["unit"]) == {"西镇"}


# ---------------------------------------------------------------------------------------------
# usefulness: forest reach and round trip


def test_round_trip_minutes_hand_computed():
    lay = Layers(CRS)
    lay["dem"] = flat_dem()
    lay["water_bodies"] = frame([Point(535500, 3448000).buffer(40, 64)], depth_m=[3.0])
    # a 200 x 200 m forest 3 km east of the pond: nearest edge 2.9 km, mean distance ~3.0 km
    lay["forest"] = frame([box(538400, 3447900, 538600, 3448100)])
    out, _ = run(lay, cover_cell_m=20.0)
    s = out["heli_dip_sites"].iloc[0]
    assert s["forest_km2_in_radius"] == pytest.approx(0.04)
    assert s["forest_nearest_km"] == pytest.approx(2.9, abs=1e-3)
    assert s["forest_mean_km"] == pytest.approx(3.0, abs=2e-3)
    # 2 x 3.0 km / 160 km/h = 2.25 min of flight, plus 3 min to dip and drop
    assert s["round_trip_min"] == pytest.approx(5.25, abs=0.01)
    assert s["round_trip_nearest_min"] == pytest.approx(2 * 2.9 / 160 * 60 + 3.0, abs=0.01)
    out2, _ = run(lay, cover_cell_m=20.0, cruise_kmh=120.0, dip_drop_min=1.0)
    assert out2["heli_dip_sites"].iloc[0]["round_trip_min"] == pytest.approx(2 * 3.0 / 120 * 60 + 1.0, abs=0.01)
    out3, _ = run(lay, cover_cell_m=20.0, dip_radius_km=2.0)  # forest now out of reach
    s3 = out3["heli_dip_sites"].iloc[0]
    assert s3["forest_km2_in_radius"] == 0 and np.isnan(s3["round_trip_min"]) and not s3["selected"]


# ---------------------------------------------------------------------------------------------
# greedy cover


F1 = box(535200, 3449200, 535600, 3449600)  # NW, reached by A (and partly by C)
F2 = box(538400, 3446400, 538800, 3446800)  # SE, reached by B
F3 = box(535200, 3446400, 535600, 3446800)  # SW, no water within reach
PONDS = {"A": (535400, 3448900), "B": (538600, 3447100), "C": (536300, 3449400), "D": (537000, 3448000)}


def cover_world():
    lay = Layers(CRS)
    lay["dem"] = flat_dem()
    lay["water_bodies"] = frame([Point(xy).buffer(40, 64) for xy in PONDS.values()], name=list(PONDS),
                                depth_m=[3.0] * 4)
    lay["forest"] = frame([F1, F2, F3])
    lay["boundary"] = frame([box(X0, Y0 - 4000, X0 + 4000, Y0)], town=["测试镇"])
    return lay


def test_greedy_cover_picks_the_expected_sites():
    out, _ = run(cover_world(), dip_radius_km=1.0, cover_cell_m=50.0)
    sites = out["heli_dip_sites"].set_index("name")
    assert sites["selected"].sum() == 2
    assert set(sites.index[sites["selected"]]) == {"A", "B"}
    assert sites.loc["C", "forest_km2_in_radius"] < sites.loc["A", "forest_km2_in_radius"]
    u = out["heli_units"].iloc[0]
    assert u["unit"] == "测试镇" and u["sites_selected"] == 2
    assert u["forest_km2"] == pytest.approx(0.48)
    assert u["share_before"] == 0.0
    assert u["share_after"] == pytest.approx(2 / 3) and u["share_coverable"] == pytest.approx(2 / 3)
    assert set(u["selected_sites"].split(", ")) == {"1", "2"}
    assert set(sites.loc[sites["selected"], "selected_for"]) == {"测试镇"}


def test_greedy_cover_respects_the_site_limit():
    out, _ = run(cover_world(), dip_radius_km=1.0, cover_cell_m=50.0, max_sites_per_unit=1)
    u = out["heli_units"].iloc[0]
    assert u["sites_selected"] == 1 and out["heli_dip_sites"]["selected"].sum() == 1
    assert u["share_after"] == pytest.approx(1 / 3) and u["share_coverable"] == pytest.approx(2 / 3)


def test_units_with_forest_out_of_reach_are_named_in_the_warnings():
    _, ctx = run(cover_world(), dip_radius_km=1.0, cover_cell_m=50.0)
    assert not any("within 1 km of a usable dip site" in w for w in ctx.warnings)  # 67 % is reachable
    _, ctx = run(cover_world(), dip_radius_km=1.0, cover_cell_m=50.0, warn_share_below=0.8)
    msg = [w for w in ctx.warnings if "within 1 km of a usable dip site" in w]
    assert len(msg) == 1 and "测试镇（0.5 km²，67%）" in msg[0]


def test_units_from_mountain_units_layer():
    lay = cover_world()
    lay["mountain_units"] = frame([box(X0, Y0 - 4000, X0 + 2000, Y0), box(X0 + 2000, Y0 - 4000, X0 + 4000, Y0)],
                                  name=["西山", "东山"])
    out, _ = run(lay, dip_radius_km=1.0, cover_cell_m=50.0, unit_layer="mountain_units")
    units = out["heli_units"].set_index("unit")
    assert list(units.index) == ["西山", "东山"]
    assert units.loc["西山", "forest_km2"] == pytest.approx(0.32)  # F1 + F3
    assert units.loc["西山", "share_after"] == pytest.approx(0.5)
    assert units.loc["东山", "share_after"] == pytest.approx(1.0)
    # without cross-unit help the east (B lies there) is unchanged, the west keeps A
    out2, _ = run(lay, dip_radius_km=1.0, cover_cell_m=50.0, unit_layer="mountain_units",
                  cover_from_other_units=False)
    assert out2["heli_units"].set_index("unit")["sites_selected"].to_dict() == {"西山": 1, "东山": 1}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.integers(0, 29), max_size=12), min_size=1, max_size=8))
def test_greedy_cover_covers_the_union_without_waste(sets):
    site_cells = {i: np.array(sorted(s), dtype=np.intp) for i, s in enumerate(sets)}
    chosen = _heli_cover.greedy_cover(site_cells, 30, priority=lambda s: s)
    union = set().union(*sets)
    got = set().union(*(sets[s] for s in chosen)) if chosen else set()
    assert got == union
    assert len(chosen) == len(set(chosen))
    # each pick adds something, and the first is a largest set
    seen: set = set()
    for s in chosen:
        assert sets[s] - seen
        seen |= sets[s]
    if chosen:
        assert len(sets[chosen[0]]) == max(len(s) for s in sets)


# ---------------------------------------------------------------------------------------------
# pads


def test_plateau_has_a_pad_steep_slope_has_none(result):
    out, _ = result
    pads = out["heli_pads"]
    dem = terrain()
    assert dem.slope_deg[:, 215:225].min() > 19.0  # the fixture: x 537150-537250 is a 20 deg slope
    on_slope = (pads["x"] > SLOPE_X0 - 25) & (pads["x"] < PLATEAU_X0 + 25)
    assert not on_slope.any()
    assert not pads.geometry.intersects(box(SLOPE_X0 + 10, Y0 - 4000, PLATEAU_X0 - 10, Y0)).any()
    assert len(pads[pads["x"] < SLOPE_X0]) >= 1  # the plain near its road
    plateau = pads[pads["x"] > PLATEAU_X0]
    assert len(plateau) >= 1 and set(plateau["unit"]) == {"东镇"}
    assert (pads["slope_max_deg"] < 5.0).all()
    assert (pads["road_m"] <= 500.0).all()
    # the obstacle-free ring keeps the 50 m pad 30 m clear of the forest on the plateau
    assert (pads["forest_m"] >= 25.0 + 30.0 - 1e-6).all()
    assert not plateau.geometry.intersects(FOREST_PLATEAU).any()
    # the flat gorge floor has no road within 500 m and water covers it; no pad there
    assert not pads.geometry.intersects(box(GORGE[0] - 40, GORGE[1] - 100, GORGE[0] + 40, GORGE[1] + 100)).any()
    # pads never sit on water
    for g, _ in WATER.values():
        assert not shapely.intersects(g, shapely.points(pads["x"], pads["y"])).any()
    # pads are ranked within each unit, nearest the chosen dip sites and forest first
    for _, grp in pads.groupby("unit"):
        assert list(grp["rank"]) == list(range(1, len(grp) + 1))
        assert grp["score_km"].is_monotonic_increasing
    assert pads["nearest_dip_site_km"].notna().all()


def test_pads_need_a_road_within_reach():
    out, ctx = run(world(roads=False))
    pads = out["heli_pads"]
    assert pads["road_m"].isna().all() and any("roads" in w for w in ctx.warnings)
    lay = world()
    lay["roads"] = lay["roads"].iloc[[0]]  # only the plain road, 1.6 km from the plateau
    out2, _ = run(lay)
    assert not (out2["heli_pads"]["x"] > PLATEAU_X0).any()
    assert (out2["heli_pads"]["road_m"] <= 500).all()


def test_forest_over_the_plateau_leaves_no_pad_there():
    out, _ = run(world(forest_extra=[box(PLATEAU_X0, Y0 - 4000, X0 + 4000, 3449300)]))
    assert not (out["heli_pads"]["x"] > PLATEAU_X0).any()


def test_pads_in_a_town_do_not_depend_on_its_neighbours():
    # one flat field across a town border, a road along the border
    lay = Layers(CRS)
    lay["dem"] = flat_dem()
    lay["water_bodies"] = frame([Point(535500, 3449500).buffer(40)], depth_m=[3.0])
    lay["forest"] = frame([box(535000, 3446000, 535300, 3446300), box(538000, 3448900, 538300, 3449400)])
    lay["roads"] = frame([LineString([(537000, 3446000), (537000, 3450000)])])
    west, east = box(X0, Y0 - 4000, 537000, Y0), box(537000, Y0 - 4000, X0 + 4000, Y0)
    lay["boundary"] = frame([west, east], town=["西镇", "东镇"])
    full = run(lay)[0]["heli_pads"]
    assert set(full["unit"]) == {"西镇", "东镇"}
    for _, pad in full.iterrows():  # zones are cut at the border
        assert (west if pad["unit"] == "西镇" else east).buffer(1e-6).contains(pad.geometry)
    ctx = analysis.Context(layers=lay, towns=("东镇",))
    town = run_helicopter(ctx, HelicopterParams())["heli_pads"]
    assert set(town["unit"]) == {"东镇"}
    key = ["x", "y", "candidate_area_m2"]
    assert town[key].sort_values(key).to_numpy().tolist() == \
        full.loc[full["unit"] == "东镇", key].sort_values(key).to_numpy().tolist()


def test_pad_window_in_cells():
    # a 50 m square centred on a cell centre covers 5 cells of 10 m, 3 of 20 m, 1 of 60 or 90 m
    assert [_heli_pads.half_cells(25.0, c) for c in (10.0, 20.0, 60.0, 90.0)] == [2, 1, 0, 0]
    # with the 30 m ring: 110 m -> 11 cells of 10 m, 3 of 60 m
    assert [_heli_pads.half_cells(55.0, c) for c in (10.0, 60.0)] == [5, 1]


def test_pads_per_unit_keeps_the_best(result):
    out, _ = run(world(), pads_per_unit=1)
    pads = out["heli_pads"]
    assert pads["unit"].value_counts().max() == 1 and set(pads["rank"]) == {1}
    full = result[0]["heli_pads"]
    best = full[full["rank"] == 1].set_index("unit")
    assert pads.set_index("unit")["score_km"].to_dict() == pytest.approx(best["score_km"].to_dict())


# ---------------------------------------------------------------------------------------------
# parameters


def test_recipe_parameters_are_checked():
    p = from_mapping(HelicopterParams, {"dip_radius_km": 8, "unit_layer": "mountain_units"}, "analyses.helicopter")
    assert p.dip_radius_km == 8.0 and p.area_min_m2 == 2000.0 and p.depth_min_m == 2.5
    with pytest.raises(RecipeError, match="unknown parameter 'dip_radius'.*dip_radius_km"):
        from_mapping(HelicopterParams, {"dip_radius": 8}, "analyses.helicopter")
    with pytest.raises(RecipeError, match="unit_layer must be one of boundary, mountain_units"):
        from_mapping(HelicopterParams, {"unit_layer": "villages"}, "analyses.helicopter")
    with pytest.raises(RecipeError, match="approach_min_dirs must be between 1 and approach_directions"):
        from_mapping(HelicopterParams, {"approach_min_dirs": 20}, "analyses.helicopter")


# ---------------------------------------------------------------------------------------------
# approach corridors (issue 20): the audit's notched pond and the power line across the approach

TAN60 = math.tan(math.radians(60))
POND_C = (535750.0, 3449250.0)  # a 100 m square pond at water level 0, walls rising at 60 deg


def _walled_pond(gap_half_m: float, cell: float = 5.0, n: int = 300):
    """DEM: 0 in the pond and in an eastward gap of width 2 x ``gap_half_m`` running from its east
    shore to the edge of the grid; elsewhere tan 60 x the distance to pond-or-gap."""
    X, Y = grid(cell, n)
    dx = np.maximum(np.abs(X - POND_C[0]) - 50.0, 0.0)
    dy = np.maximum(np.abs(Y - POND_C[1]) - 50.0, 0.0)
    d_pond = np.hypot(dx, dy)
    in_gap_x = X >= POND_C[0] + 50.0
    d_gap = np.where(in_gap_x, np.maximum(np.abs(Y - POND_C[1]) - gap_half_m, 0.0),
                     np.hypot(POND_C[0] + 50.0 - X, np.maximum(np.abs(Y - POND_C[1]) - gap_half_m, 0.0)))
    z = TAN60 * np.minimum(d_pond, d_gap)
    dem = DEM(z.astype(np.float32), Affine(cell, 0, X0, 0, -cell, Y0), CRS)
    water = frame([sq(POND_C[0], POND_C[1], 100.0)], name=["塘"], depth_m=[4.0])
    return dem, water


def test_notched_pond_passes_a_ray_but_not_a_50_m_corridor():
    # the audit's case: a pond in 60-degree walls with one 20 m notch to the east. One ray through
    # the notch sees flat ground (0 deg) out to 500 m; the 50 m corridor meets the walls 10 m to
    # either side of the notch: at 5 m past the shore, 15 m off the notch the wall stands
    # tan 60 x 5 = 8.7 m high, far above 15 deg. Every other direction faces a 60-degree wall.
    dem, water = _walled_pond(gap_half_m=10.0)
    ray = screen_water_bodies(water, dem, None, HelicopterParams(approach_corridor_m=0.0)).iloc[0]
    assert ray["approach_dirs"] == 1 and ray["approach_from"] == "E" and ray["passed"]
    assert ray["approach_best_deg"] == pytest.approx(0.0, abs=1e-6)
    cor = screen_water_bodies(water, dem, None, HelicopterParams()).iloc[0]  # default: 50 m corridor
    assert cor["approach_dirs"] == 0 and not cor["approach_ok"] and not cor["passed"]
    assert cor["approach_best_deg"] > 45.0
    assert "50 m宽进近通道" in cor["reason"] and "50 m wide corridors" in cor["reason"]
    # a gap wider than the corridor (120 m) passes with the corridor too
    dem2, water2 = _walled_pond(gap_half_m=60.0)
    wide = screen_water_bodies(water2, dem2, None, HelicopterParams()).iloc[0]
    assert wide["approach_from"] == "E" and wide["passed"]
    assert wide["approach_best_deg"] == pytest.approx(0.0, abs=1e-6)


def test_power_line_across_the_only_clear_approach_150_m_out_blocks_it():
    # the same pond with a 120 m valley to the east (the only clear approach); a power line crosses
    # the valley 150 m past the shore: 150 m from the water, so the 100 m rule alone let it pass
    dem, water = _walled_pond(gap_half_m=60.0)
    xl = POND_C[0] + 50.0 + 150.0
    line = frame([LineString([(xl, POND_C[1] - 55.0), (xl, POND_C[1] + 55.0)])], voltage_kv=[10.0])
    b = screen_water_bodies(water, dem, line, HelicopterParams()).iloc[0]
    assert b["power_line_m"] == pytest.approx(150.0) and b["power_ok"]  # the 100 m rule stays, and passes
    assert b["approach_dirs"] == 0 and b["approach_power_blocked"] == 1 and not b["passed"]
    assert "其中1个地形满足但被电力线横穿" in b["reason"] and "crossed by a power line" in b["reason"]
    # beyond the approach distance (500 m past the shore) the line does not count
    far = frame([LineString([(xl + 400.0, POND_C[1] - 55.0), (xl + 400.0, POND_C[1] + 55.0)])])
    b = screen_water_bodies(water, dem, far, HelicopterParams()).iloc[0]
    assert b["approach_dirs"] == 1 and b["passed"]
    # a line 20 m beside the corridor (its end stops short of it) does not block either
    side = frame([LineString([(xl, POND_C[1] + 45.0), (xl, POND_C[1] + 55.0)])])
    b = screen_water_bodies(water, dem, side, HelicopterParams()).iloc[0]
    assert b["approach_dirs"] == 1 and b["approach_power_blocked"] == 0


def test_pad_footprint_and_candidate_area_are_reported_apart(result):
    pads = result[0]["heli_pads"]
    assert (pads["pad_area_m2"] == 2500.0).all()  # the 50 m earth pad
    assert pads["candidate_area_m2"].to_numpy() == pytest.approx(pads.geometry.area.to_numpy())
    assert (pads["candidate_area_m2"] > pads["pad_area_m2"]).any()  # a zone is larger than one pad


def test_pad_road_must_carry_the_needed_vehicle_class():
    # only a 2 m track serves the plateau: motorcycles (>= 1.5 m) may use it, small trucks (>= 3 m) not
    lay = world()
    lay["roads"] = frame([LineString([(536700, 3446000), (536700, 3450000)]),
                          LineString([(538650, 3446000), (538650, 3450000)])], width_m=[5.0, 2.0])
    small = run(lay)[0]["heli_pads"]
    assert not (small["x"] > PLATEAU_X0).any() and set(small["road_vehicle_class"]) == {"small"}
    moto = run(lay, pad_vehicle_class="motorcycle")[0]["heli_pads"]
    plateau = moto[moto["x"] > PLATEAU_X0]
    assert len(plateau) >= 1 and (plateau["road_m"] <= 500.0).all()
    # the distance is to the track: the pad centre's x distance from x = 538650
    assert plateau["road_m"].to_numpy() == pytest.approx(np.abs(plateau["x"].to_numpy() - 538650.0))
    with pytest.raises(RecipeError, match="pad_vehicle_class must be one of"):
        from_mapping(HelicopterParams, {"pad_vehicle_class": "truck"}, "analyses.helicopter")
