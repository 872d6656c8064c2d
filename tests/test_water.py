"""The water analysis on hand-built cases with answers worked out by hand (EPSG:4545, metres).

Coordinates are offsets from E 537000 N 3448000. Unless a test says otherwise: reach 150 m
(GB 50974 7.2.5), lateral 60 m, truck road within 20 m of an intake, suction lift <= 6 m.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _build import CRS, X0, Y0, L, P, box
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from kzgis import RecipeError
from kzgis.analyses._water_graph import Intervals, SplitGraph, cut_lines
from kzgis.analyses.water import WaterParams, run_water
from kzgis.analysis import Context, get
from kzgis.layers import Layers
from kzgis.network import NetworkParams, RoadNetwork
from kzgis.params import from_mapping
from kzgis.terrain import DEM


def gdf(geoms, index=None, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), index=index, crs=CRS)


def run(roads, dem=None, **kw):
    """Run the analysis on the given layers (keyword = layer kind; the rest are parameters)."""
    ly = Layers(CRS)
    ly["roads"] = roads
    params = {}
    for k, v in kw.items():
        if k in ("hydrants", "fire_pools", "water_intakes", "settlements", "urban_area", "old_towns",
                 "water_mains", "rivers", "water_bodies", "boundary"):
            ly[k] = v
        else:
            params[k] = v
    if dem is not None:
        ly["dem"] = dem
    ctx = Context(layers=ly, network_params=NetworkParams())
    return run_water(ctx, from_mapping(WaterParams, params, "analyses.water")), ctx


def hydrants(*pts, status=None):
    return gdf([P(a, b) for a, b in pts], index=list(range(1, len(pts) + 1)),
               status=status or ["正常"] * len(pts))


# ---------------------------------------------------------------------------------------------
# registration and parameters


def test_registered_with_its_layers_and_results():
    spec = get("water")
    assert spec.needs == ("roads",)
    assert spec.needs_any == (("hydrants", "fire_pools", "water_intakes"),)
    assert spec.after == ("access",)
    assert set(spec.results) == {"water_coverage", "water_circles", "water_sources", "water_settlements",
                                 "water_spacing_gaps", "water_suggestions", "water_compliance", "water_towns"}


def test_defaults_come_from_the_rules():
    p = WaterParams()
    assert (p.hydrant_reach_m, p.pool_reach_m, p.hydrant_spacing_m, p.suction_lift_max_m) == (150, 150, 120, 6)
    assert (p.old_town_main_diameter_mm, p.old_town_pool_volume_m3, p.pool_volume_min_m3) == (100, 500, 100)


def test_bad_parameters_are_reported_together():
    with pytest.raises(RecipeError, match="hydrant_reach_m must be positive.*truck_classes: unknown vehicle class 'bus'"):
        from_mapping(WaterParams, {"hydrant_reach_m": 0, "truck_classes": ["bus"]}, "analyses.water")
    with pytest.raises(RecipeError, match="unknown parameter 'reach_m'"):
        from_mapping(WaterParams, {"reach_m": 100}, "analyses.water")


# ---------------------------------------------------------------------------------------------
# coverage along the network


def test_hydrant_across_the_river_does_not_cover_the_village_it_sees():
    # two banks 80 m apart, joined only by a bridge 500 m downstream
    roads = gdf([L((0, 0), (500, 0)), L((500, 0), (500, 80)), L((500, 80), (0, 80))], width_m=[6.0] * 3)
    res, _ = run(roads, hydrants=hydrants((0, -5)),
                 settlements=gdf([P(0, 85)], name=["对岸村"], population=[120.0]))
    s = res["water_settlements"].iloc[0]
    assert not s["covered"]
    # 5 m from the hydrant to the road, 500 + 80 + 500 m along it, 5 m from the road to the village
    assert s["distance_m"] == pytest.approx(1090.0)
    assert s["nearest_source"] == "1" and s["nearest_kind"] == "hydrant"
    # the straight-line circle (comparison layer) does contain the village
    circle = res["water_circles"].geometry.iloc[0]
    assert circle.contains(P(0, 85))
    assert not res["water_coverage"].geometry.iloc[0].contains(P(0, 85))


def test_coverage_is_cut_exactly_at_150_m_on_a_straight_road():
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    sett = gdf([P(550, 0), P(551, 0), P(280, 30)], name=["刚好", "差一米", "路边"], population=[1.0, 1.0, 1.0])
    res, _ = run(roads, hydrants=hydrants((400, 0)), settlements=sett)
    cov = res["water_coverage"].iloc[0]
    assert cov["road_m"] == pytest.approx(300.0, abs=1e-6)
    # the road pieces [250, 550] widened 60 m: along the road 60 m past each cut
    assert cov.geometry.intersection(roads.geometry.iloc[0]).length == pytest.approx(420.0, abs=0.01)
    xmin, ymin, xmax, ymax = cov.geometry.bounds
    assert (xmin - X0, xmax - X0) == (pytest.approx(190.0), pytest.approx(610.0))
    assert ymax - Y0 == pytest.approx(60.0)
    s = res["water_settlements"]
    assert s["covered"].tolist() == [True, False, True]
    # 路边: 120 m along the road + 30 m from the road to the village
    assert s["distance_m"].tolist() == pytest.approx([150.0, 151.0, 150.0])


def test_the_hose_run_counts_the_stretch_from_the_road_to_the_village():
    # issue 13 §5: a village 400 m off the road, 5 m (along the road) from a hydrant's road point,
    # is not covered: 0 + 5 + 400 m of hose > 150 m
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    sett = gdf([P(405, 400), P(405, 100), P(405, 146), P(405, 145)], name=["山上", "坡上", "差一米", "刚好"],
               population=[50.0, 20.0, 1.0, 1.0])
    res, _ = run(roads, hydrants=hydrants((400, 0)), settlements=sett, budget=0)
    s = res["water_settlements"]
    assert s["covered"].tolist() == [False, True, False, True]
    assert s["distance_m"].tolist() == pytest.approx([405.0, 105.0, 151.0, 150.0])
    assert s["snap_m"].tolist() == pytest.approx([400.0, 100.0, 146.0, 145.0])
    # a hydrant 10 m off the road spends those 10 m too: 10 + 5 + 100 = 115; 10 + 5 + 136 = 151
    res, _ = run(roads, hydrants=hydrants((400, -10)), budget=0,
                 settlements=gdf([P(405, 100), P(405, 136)], name=["a", "b"], population=[1.0, 1.0]))
    s = res["water_settlements"]
    assert s["covered"].tolist() == [True, False]
    assert s["distance_m"].tolist() == pytest.approx([115.0, 151.0])


def test_new_hydrants_only_count_villages_their_hose_reaches_off_the_road():
    # the built-up street is 0-300 m; a village 400 m off the road at x = 100 no hydrant on the road
    # can reach (coverable False); one 120 m off the road at x = 250 a hydrant at x = 250 +- 30 can
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    sett = gdf([P(100, 400), P(250, 120)], name=["山上", "坡上"], population=[50.0, 20.0])
    res, _ = run(roads, hydrants=hydrants((900, 0)), settlements=sett, urban_area=gdf([box(0, -20, 300, 20)]),
                 builtup_from=["urban_area"])
    s = res["water_settlements"]
    assert s["covered"].tolist() == [False, False]
    assert s["coverable"].tolist() == [False, True]
    assert s["covered_after"].tolist() == [False, True]
    sug = res["water_suggestions"]
    assert sug["new_settlements"].iloc[0] == 1
    assert abs(sug["offset_m"].iloc[0] - 250.0) <= 30.0 + 1e-6


def test_a_hydrant_off_the_road_spends_that_distance_first():
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    res, _ = run(roads, hydrants=hydrants((400, 10)))
    assert res["water_coverage"]["road_m"].iloc[0] == pytest.approx(280.0)
    assert res["water_sources"]["road_m"].iloc[0] == pytest.approx(10.0)


def test_hoses_ignore_one_way_rules_and_use_footpaths():
    # a one-way street (drawn west to east) and a 1 m footpath with steps
    roads = gdf([L((0, 0), (300, 0)), L((300, 0), (300, 100))], width_m=[6.0, 1.0], oneway=[True, False],
                road_class=["城市道路", "台阶"])
    res, _ = run(roads, hydrants=hydrants((300, 0)),
                 settlements=gdf([P(200, 0), P(300, 100)], name=["西", "北"], population=[1.0, 1.0]))
    assert res["water_settlements"]["distance_m"].tolist() == pytest.approx([100.0, 100.0])
    assert res["water_coverage"]["road_m"].iloc[0] == pytest.approx(250.0)


def test_coverage_spreads_through_junctions_and_loops():
    # a 100 x 100 m block with a 200 m tail east from its north-east corner (100, 100)
    roads = gdf([L((0, 0), (100, 0)), L((100, 0), (100, 100)), L((100, 100), (0, 100)), L((0, 100), (0, 0)),
                 L((100, 100), (300, 100))], width_m=[6.0] * 5)
    # from the south-west corner: 100 + 50 each way round the block
    res, _ = run(roads, hydrants=hydrants((0, 0)))
    assert res["water_coverage"]["road_m"].iloc[0] == pytest.approx(300.0)
    # from the middle of the east side: east side, bottom and top whole (50 + 100), tail 100
    res, _ = run(roads, hydrants=hydrants((100, 50)))
    assert res["water_coverage"]["road_m"].iloc[0] == pytest.approx(400.0)
    # 250 m from the south-west corner: the whole block (the two ways meet) and 50 m of the tail
    res, _ = run(roads, hydrants=hydrants((0, 0)), hydrant_reach_m=250.0)
    assert res["water_coverage"]["road_m"].iloc[0] == pytest.approx(450.0)


# ---------------------------------------------------------------------------------------------
# usable sources


def intake_roads():
    return gdf([L((0, 0), (1000, 0))], width_m=[6.0])


def test_natural_intake_lift_from_lift_m():
    wi = gdf([P(200, -15), P(800, -15)], index=[1, 2], kind=["取水点", "取水点"], lift_m=[7.0, 5.0])
    res, _ = run(intake_roads(), water_intakes=wi)
    s = res["water_sources"].set_index("source_id")
    assert not s.loc["1", "usable"] and s.loc["2", "usable"]
    assert "吸水高度 7.0 m 超过 6 m（实测）" in s.loc["1", "reason"]
    assert "suction lift 7.0 m > 6 m (surveyed)" in s.loc["1", "reason"]
    assert (s["lift_source"] == "surveyed").all()
    assert res["water_coverage"]["source_id"].tolist() == ["2"]
    # the truck stands on the road 15 m away: 135 m each way
    assert res["water_coverage"]["road_m"].iloc[0] == pytest.approx(270.0)


def river_dem():
    """Road plateau at 100 m north of y = -10; water 93 m (x < 500) and 95 m (x >= 500) south of it."""
    cell = 10.0
    cols, rows = 110, 20  # x -50..1050, y 100..-100
    z = np.full((rows, cols), 100.0, dtype=np.float32)
    ys = Y0 + 100 - (np.arange(rows) + 0.5) * cell
    xs = X0 - 50 + (np.arange(cols) + 0.5) * cell
    south = (ys < Y0 - 10)[:, None]
    z = np.where(south & (xs < X0 + 500)[None, :], 93.0, z)
    z = np.where(south & (xs >= X0 + 500)[None, :], 95.0, z)
    return DEM(z, Affine(cell, 0, X0 - 50, 0, -cell, Y0 + 100), CRS)


def test_natural_intake_lift_from_the_dem():
    wi = gdf([P(200, -18), P(800, -18)], index=[1, 2], kind=["取水点", "取水点"], lift_m=[np.nan, np.nan])
    res, _ = run(intake_roads(), water_intakes=wi, dem=river_dem())
    s = res["water_sources"].set_index("source_id")
    assert s["lift_source"].tolist() == ["dem", "dem"]
    assert s["lift_m"].tolist() == pytest.approx([7.0, 5.0])
    assert s["road_z_m"].tolist() == pytest.approx([100.0, 100.0])
    assert s["usable"].tolist() == [False, True]
    assert "DEM 估算" in s.loc["1", "reason"]


def test_a_surveyed_lift_wins_over_the_dem_and_unknown_lift_is_not_counted():
    wi = gdf([P(200, -18), P(800, -18)], index=[1, 2], kind=["取水点"] * 2, lift_m=[4.0, np.nan])
    res, _ = run(intake_roads(), water_intakes=wi, dem=river_dem())
    s = res["water_sources"].set_index("source_id")
    assert s.loc["1", "lift_m"] == 4.0 and s.loc["1", "usable"]
    res, _ = run(intake_roads(), water_intakes=wi)  # no DEM
    s = res["water_sources"].set_index("source_id")
    assert not s.loc["2", "usable"] and "吸水高度未知" in s.loc["2", "reason"]
    res, _ = run(intake_roads(), water_intakes=wi, unknown_lift_usable=True)
    assert res["water_sources"]["usable"].all()


def test_intake_without_a_truck_road_is_not_counted():
    roads = gdf([L((0, 0), (1000, 0)), L((0, 100), (1000, 100))], width_m=[2.0, 6.0])  # motorcycle track
    wi = gdf([P(500, -10), P(500, 85)], index=[1, 2], kind=["取水点"] * 2, lift_m=[2.0, 2.0])
    res, _ = run(roads, water_intakes=wi)
    s = res["water_sources"].set_index("source_id")
    assert s["usable"].tolist() == [False, True]
    assert "20 m 内无标准消防车/小型消防车可通行道路" in s.loc["1", "reason"]
    assert s.loc["2", "truck_road_m"] == pytest.approx(15.0)


def test_small_pools_and_broken_hydrants_are_listed_with_the_reason():
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    pools = gdf([P(100, 10), P(600, 10)], index=[1, 2], volume_m3=[80.0, 150.0])
    res, _ = run(roads, fire_pools=pools, hydrants=hydrants((300, 0), (900, 0), status=["损坏", "正常"]))
    s = res["water_sources"].set_index(["source_kind", "source_id"])
    assert not s.loc[("pool", "1"), "usable"]
    assert s.loc[("pool", "1"), "reason"] == "容积 80 m³ 小于 100 m³ / volume 80 m3 < 100 m3"
    assert s.loc[("pool", "2"), "usable"]
    assert not s.loc[("hydrant", "1"), "usable"] and "损坏" in s.loc[("hydrant", "1"), "reason"]
    assert sorted(res["water_coverage"]["source_kind"]) == ["hydrant", "pool"]
    # every source is listed, usable or not
    assert len(res["water_sources"]) == 4


# ---------------------------------------------------------------------------------------------
# spacing gaps


def street(hyd_x, length=300.0):
    roads = gdf([L((0, 0), (length, 0))], width_m=[6.0])
    urban = gdf([box(-20, -50, length + 20, 50)], name=["城区"])
    return run(roads, hydrants=hydrants(*[(x, 0) for x in hyd_x]), urban_area=urban)[0]


def test_spacing_gap_on_a_300_m_street_with_hydrants_at_both_ends():
    g = street([0, 300])["water_spacing_gaps"]
    assert len(g) == 1
    assert g["spacing_m"].iloc[0] == pytest.approx(300.0)
    assert g.geometry.iloc[0].length == pytest.approx(300.0)
    assert {g["hydrant_a"].iloc[0], g["hydrant_b"].iloc[0]} == {"1", "2"}


def test_spacing_gaps_between_each_pair_and_none_when_close_enough():
    g = street([0, 150, 300])["water_spacing_gaps"]
    assert sorted(g["spacing_m"]) == pytest.approx([150.0, 150.0])
    assert len(street([0, 100, 200, 300])["water_spacing_gaps"]) == 0
    # a dead end beyond the last hydrant is not a spacing gap
    assert len(street([0, 100])["water_spacing_gaps"]) == 0


def test_spacing_is_measured_along_built_up_roads_only():
    # two hydrants 100 m apart in a straight line but 400 m apart along the road around a block
    roads = gdf([L((0, 0), (0, 150)), L((0, 150), (100, 150)), L((100, 150), (100, 0))], width_m=[6.0] * 3)
    urban = gdf([box(-20, -20, 120, 170)])
    res, _ = run(roads, hydrants=hydrants((0, 0), (100, 0)), urban_area=urban)
    g = res["water_spacing_gaps"]
    assert len(g) == 1 and g["spacing_m"].iloc[0] == pytest.approx(400.0)


# ---------------------------------------------------------------------------------------------
# new hydrants


def grid_roads(n=2, side=300.0):
    """Streets of an n x n block grid, one edge per block side."""
    lines = []
    for i in range(n + 1):
        for j in range(n):
            lines.append(L((i * side, j * side), (i * side, (j + 1) * side)))
            lines.append(L((j * side, i * side), ((j + 1) * side, i * side)))
    return gdf(lines, width_m=[6.0] * len(lines))


def test_greedy_covers_a_2x2_block_grid_with_nine_hydrants():
    # 12 streets of 300 m, no working hydrant. By hand: the centre covers half of each inner
    # street (600 m); then each mid-side junction 450 m (outer half of its inner street and half
    # of both ring streets); then each corner the two ring halves left (300 m).
    roads = grid_roads()
    urban = gdf([box(-50, -50, 650, 650)])
    res, _ = run(roads, hydrants=hydrants((5000, 5000), status=["损坏"]), urban_area=urban)
    s = res["water_suggestions"]
    assert len(s) == 9
    assert s["new_road_m"].tolist() == pytest.approx([600.0] + [450.0] * 4 + [300.0] * 4)
    xy = shapely.get_coordinates(s.geometry.values) - [X0, Y0]
    assert tuple(xy[0]) == pytest.approx((300.0, 300.0))
    assert sorted(map(tuple, np.round(xy[1:5]))) == [(0, 300), (300, 0), (300, 600), (600, 300)]
    assert sorted(map(tuple, np.round(xy[5:]))) == [(0, 0), (0, 600), (600, 0), (600, 600)]
    total = res["water_towns"].set_index("town").loc["合计"]
    assert total["builtup_road_m"] == pytest.approx(3600.0)
    assert total["road_share"] == pytest.approx(0.0)
    assert total["road_share_after"] == pytest.approx(1.0)


def test_greedy_stops_at_the_budget_and_puts_settlements_first():
    roads = grid_roads()
    urban = gdf([box(-50, -50, 650, 650)])
    # a hamlet at the far end of a ring street: the centre (most road) cannot reach it
    sett = gdf([P(600, 500)], name=["角落"], population=[30.0])
    res, ctx = run(roads, hydrants=hydrants((5000, 5000), status=["损坏"]), urban_area=urban, settlements=sett,
                   budget=1)
    s = res["water_suggestions"]
    assert len(s) == 1
    assert s["new_settlements"].iloc[0] == 1 and s["new_population"].iloc[0] == 30.0
    assert s["settlement_ids"].iloc[0] == [0]
    x, y = shapely.get_coordinates(s.geometry.values)[0] - [X0, Y0]
    assert np.hypot(x - 600, y - 500) <= 150.0 + 1e-6
    assert any("budget (1) is spent" in w for w in ctx.warnings)


def test_settlements_say_whether_new_hydrants_can_reach_them():
    roads = grid_roads()
    urban = gdf([box(-50, -50, 650, 650)])
    # one hamlet on the grid, one 150 m off the end of a 400 m lane out of the built-up area: its
    # 100 m built-up circle misses the lane, and the lane is built-up only to y = -50 (350 m away)
    roads = gdf(list(roads.geometry) + [L((600, 0), (600, -400))], width_m=[6.0] * 13)
    sett = gdf([P(600, 500), P(750, -400)], name=["角落", "远村"], population=[30.0, 20.0])
    res, _ = run(roads, hydrants=hydrants((5000, 5000), status=["损坏"]), urban_area=urban, settlements=sett,
                 budget=1)
    s = res["water_settlements"]
    assert s["covered"].tolist() == [False, False]
    assert s["covered_after"].tolist() == [True, False]
    assert s["coverable"].tolist() == [True, False]


def test_new_hydrants_can_be_kept_near_the_mains():
    roads = grid_roads()
    urban = gdf([box(-50, -50, 650, 650)])
    mains = gdf([L((0, 0), (600, 0))], diameter_mm=[150.0])
    res, _ = run(roads, hydrants=hydrants((5000, 5000), status=["损坏"]), urban_area=urban, water_mains=mains,
                 mains_max_m=10.0)
    xy = shapely.get_coordinates(res["water_suggestions"].geometry.values) - [X0, Y0]
    assert len(xy) and np.all(np.abs(xy[:, 1]) <= 10.0)
    # without the limit the centre comes first
    res, _ = run(roads, hydrants=hydrants((5000, 5000), status=["损坏"]), urban_area=urban, water_mains=mains)
    assert tuple(shapely.get_coordinates(res["water_suggestions"].geometry.values)[0] - [X0, Y0]) == (300.0, 300.0)


def test_existing_coverage_is_not_suggested_again():
    res = street([0, 150, 300], length=300.0)
    assert len(res["water_suggestions"]) == 0


# ---------------------------------------------------------------------------------------------
# 温泉古镇


def old_town_case(pool_m3, mains_mm=(150.0, 100.0), wharf_at=(150, -60), wharf_lift=3.0):
    # the lane to the wharf meets the street at a shared vertex (150, 0)
    roads = gdf([L((0, 0), (150, 0), (300, 0)), L((150, 0), (150, -55))], width_m=[6.0, 4.5], name=["老街", "码头路"])
    town = gdf([box(0, -20, 300, 20)], index=[7], name=["温泉古镇"])
    pools = gdf([P(280, 10)], index=[3], volume_m3=[pool_m3])
    mains = gdf([L((0, 2), (150, 2)), L((150, 2), (300, 2))], index=[11, 12], diameter_mm=list(mains_mm))
    wi = gdf([P(*wharf_at)], index=[5], kind=["取水码头"], lift_m=[wharf_lift])
    river = gdf([L((-100, -70), (400, -70))], name=["浦里河"])
    res, _ = run(roads, hydrants=hydrants((150, 0)), fire_pools=pools, water_mains=mains, water_intakes=wi,
                 old_towns=town, rivers=river)
    return res["water_compliance"].set_index("rule_key")


def test_old_town_pool_300_m3_fails_and_600_m3_passes():
    c = old_town_case(300.0)
    assert not c.loc["pool_volume", "passed"]
    assert c.loc["pool_volume", "found_value"] == 300.0
    assert c.loc["pool_volume", "offending"] == [3]
    assert "500 m3" in c.loc["pool_volume", "source"]
    c = old_town_case(600.0)
    assert c.loc["pool_volume", "passed"] and c.loc["pool_volume", "offending"] == []
    assert (c["area"] == "温泉古镇").all() and (c["old_town_id"] == 7).all()


def test_old_town_mains_of_75_mm_fail():
    c = old_town_case(600.0, mains_mm=(150.0, 75.0))
    r = c.loc["main_diameter"]
    assert not r["passed"] and r["offending"] == [12] and r["found_value"] == 75.0
    assert r["required"] == "≥ 100 mm" and "开州府办发〔2023〕47号" in r["source"]
    assert old_town_case(600.0, mains_mm=(150.0, 100.0)).loc["main_diameter", "passed"]


def test_old_town_wharf_and_hydrant_coverage():
    c = old_town_case(600.0)
    assert c.loc["wharf", "passed"]
    assert c.loc["hydrant_coverage", "passed"] and c.loc["hydrant_coverage", "found_value"] == pytest.approx(1.0)
    # the wharf's lift is too high: not usable, so the rule fails and names it
    c = old_town_case(600.0, wharf_lift=8.0)
    assert not c.loc["wharf", "passed"] and c.loc["wharf", "offending"] == [5]
    assert "吸水高度 8.0 m" in c.loc["wharf", "found"]
    # far from the old town
    c = old_town_case(600.0, wharf_at=(150, -600))
    assert not c.loc["wharf", "passed"]


def test_old_town_hydrant_coverage_share():
    # hydrant at x = 0 covers 150 of the 300 m street inside the old town
    roads = gdf([L((0, 0), (300, 0))], width_m=[6.0])
    town = gdf([box(0, -20, 300, 20)], name=["古镇"])
    res, _ = run(roads, hydrants=hydrants((0, 0)), old_towns=town)
    r = res["water_compliance"].set_index("rule_key").loc["hydrant_coverage"]
    assert not r["passed"] and r["found_value"] == pytest.approx(0.5)
    assert r["offending"] == [0]


# ---------------------------------------------------------------------------------------------
# settlements and townships


def test_township_table_shares():
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    b = gdf([box(-10, -100, 500, 100), box(500, -100, 1010, 100)], town=["甲镇", "乙镇"])
    sett = gdf([P(100, 0), P(700, 0), P(900, 0)], name=["a", "b", "c"], population=[100.0, 50.0, 50.0])
    res, _ = run(roads, hydrants=hydrants((0, 0)), settlements=sett, boundary=b, budget=0)
    t = res["water_towns"].set_index("town")
    assert t.loc["甲镇", "settlements"] == 1 and t.loc["甲镇", "settlement_share"] == 1.0
    assert t.loc["乙镇", "settlements_covered"] == 0 and t.loc["乙镇", "population"] == 100.0
    # built-up: 100 m around each settlement point; 甲镇 (0, 200) of which 0-150 covered;
    # 乙镇 (600, 1000) uncovered
    assert t.loc["甲镇", "builtup_road_m"] == pytest.approx(200.0)
    assert t.loc["甲镇", "builtup_covered_m"] == pytest.approx(150.0)
    assert t.loc["乙镇", "builtup_road_m"] == pytest.approx(400.0)
    assert t.loc["乙镇", "road_share"] == 0.0
    assert t.loc["合计", "builtup_road_m"] == pytest.approx(600.0)
    assert t.loc["合计", "population_share"] == pytest.approx(0.5)
    # settlements without a town field get the township they lie in
    assert res["water_settlements"]["town"].tolist() == ["甲镇", "乙镇", "乙镇"]


def test_results_are_in_the_working_crs_and_aligned_to_settlements():
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    sett = gdf([P(100, 10), P(700, 10)], index=[11, 12], name=["a", "b"], population=[1.0, 2.0])
    res, _ = run(roads, hydrants=hydrants((0, 0)), settlements=sett)
    assert list(res["water_settlements"].index) == [11, 12]
    for name, frame in res.items():
        if isinstance(frame, gpd.GeoDataFrame):
            assert frame.crs == CRS, name


# ---------------------------------------------------------------------------------------------
# the split graph against the road network engine


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), side=st.floats(40, 200), fx=st.floats(0, 1), fy=st.floats(0, 1),
       limit=st.floats(10, 500))
def test_split_graph_reach_matches_the_engine(n, side, fx, fy, limit):
    roads = grid_roads(n, side)
    net = RoadNetwork.from_roads(roads)
    pt = P(fx * n * side, fy * n * side)
    snap = net.snap([pt])
    costs = net.costs_from(snap, None, weight="length_m")
    pieces = net.reached_pieces(costs[0], limit, None, weight="length_m")
    G = SplitGraph(net.edges["u"], net.edges["v"], net.edges["length_m"], net.n_nodes, snap["edge"],
                   snap["offset_m"])
    dist, label = G.nearest(G.point_node, limit=limit)
    iv, _ = G.cover(dist, label, limit)
    iv = iv.norm()
    # to 10 micrometres: a start a hair off a node (hypothesis found 1e-9 of the grid) leaves slivers of
    # ~2.5e-7 m at the far edges that the two implementations round differently (1e-6 m in all)
    assert iv.length_m == pytest.approx(float((pieces["end_m"] - pieces["start_m"]).sum()), abs=1e-5)
    # and the node costs agree (coordinates near 3.4e6 m carry ~1e-9 m of rounding, so a point 5e-10 m
    # off a node may start 2e-8 m along its edge)
    node_costs = np.asarray(costs[0])
    finite = np.isfinite(dist[: net.n_nodes])
    assert np.allclose(dist[: net.n_nodes][finite], node_costs[finite], rtol=1e-9, atol=1e-6)


def test_split_graph_initial_costs_and_labels():
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0])
    net = RoadNetwork.from_roads(roads)
    G = SplitGraph(net.edges["u"], net.edges["v"], net.edges["length_m"], net.n_nodes, [0, 0, 0],
                   [200.0, 700.0, 500.0])
    dist, label = G.nearest(G.point_node[:2], init=[0.0, 100.0])
    # the target at 500: 300 from the first, 100 + 200 from the second (tie -> either), 600 m mark
    assert dist[G.point_node[2]] == pytest.approx(300.0)
    iv, lab = G.cover(dist, label, 250.0)
    iv = iv.norm()
    # first: [0, 450]; second: 150 m budget around 700 -> [550, 850]
    assert list(zip(iv.start, iv.end)) == [pytest.approx((0.0, 450.0)), pytest.approx((550.0, 850.0))]


def test_intervals_set_operations():
    lens = np.array([100.0, 50.0])
    a = Intervals.make([0, 0, 1], [0, 30, 10], [20, 60, 20]).norm()
    b = Intervals.make([0, 1], [10, 0], [40, 50]).norm()
    i = a.intersect(b)
    assert list(zip(i.edge, i.start, i.end)) == [(0, 10, 20), (0, 30, 40), (1, 10, 20)]
    d = a.subtract(b, lens)
    assert list(zip(d.edge, d.start, d.end)) == [(0, 0, 10), (0, 40, 60)]
    c = b.complement(lens)
    assert list(zip(c.edge, c.start, c.end)) == [(0, 0, 10), (0, 40, 100)]
    lines = np.array([L((0, 0), (50, 0), (50, 50)), L((0, 0), (0, 50))], dtype=object)
    cut = cut_lines(lines, Intervals.make([0], [40], [60]))
    assert shapely.get_coordinates(cut[0]).tolist() == [[X0 + 40, Y0], [X0 + 50, Y0], [X0 + 50, Y0 + 10]]
