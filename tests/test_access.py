"""The access analysis on hand-built networks with answers worked out by hand (EPSG:4545)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _build import CRS, X0, Y0, L, P
from affine import Affine

from kzgis import RecipeError
from kzgis.analyses.access import AccessParams, run_access
from kzgis.analysis import Context, get
from kzgis.layers import Layers
from kzgis.params import from_mapping
from kzgis.terrain import DEM


def gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def run(roads, settlements, stations=None, boundary=None, dem=None, turnarounds=None, network_params=None, **params):
    ly = Layers(CRS)
    ly["roads"] = roads
    ly["settlements"] = settlements
    ly["stations"] = stations if stations is not None else gdf([P(0, 0)], name=["温泉"])
    if boundary is not None:
        ly["boundary"] = boundary
    if dem is not None:
        ly["dem"] = dem
    if turnarounds is not None:
        ly["turnarounds"] = turnarounds
    ctx = Context(ly, network_params=network_params)
    return run_access(ctx, from_mapping(AccessParams, params, "analyses.access")), ctx


def bridge_roads(bridge_width=3.5):
    # main road 6 m, a 30 m bridge, the village road 5 m
    return gdf([L((0, 0), (1000, 0)), L((1000, 0), (1030, 0)), L((1030, 0), (1500, 0))],
               width_m=[6.0, bridge_width, 5.0], name=["主路", "石桥", "村道"])


def test_village_behind_a_narrow_bridge_gets_small_and_the_bridge_is_the_bottleneck():
    res, _ = run(bridge_roads(), gdf([P(1400, 20)], name=["A村"], population=[100.0]))
    s = res["access_settlements"].iloc[0]
    assert s["best_vehicle"] == "small"
    assert np.isnan(s["time_min_standard"])
    # unknown class 20 km/h; the 3.5 m bridge is "narrow" for a small truck (< 3.0 + 1.0 m): x 0.7
    expected = (1.0 / 20 + 0.03 / (20 * 0.7) + 0.37 / 20) * 60
    assert s["time_min_small"] == pytest.approx(expected)
    assert s["time_min_motorcycle"] == pytest.approx(1.4 / 20 * 60)
    assert s["bottleneck_kind"] == "width"
    assert s["bottleneck_width_m"] == 3.5
    roads = res["access_roads"]
    assert roads.loc[roads["edge"] == s["bottleneck_edge"], "name"].iloc[0] == "石桥"
    assert s["nearest_station"] == "温泉"
    assert s["snap_m"] == pytest.approx(20.0)


def test_widening_the_bridge_moves_the_village_to_standard():
    res, _ = run(bridge_roads(4.0), gdf([P(1400, 20)], name=["A村"], population=[100.0]))
    s = res["access_settlements"].iloc[0]
    assert s["best_vehicle"] == "standard"
    assert s["bottleneck_width_m"] == 4.0
    assert len(res["access_upgrades"]) == 0


def test_upgrade_list_proposes_the_bridge():
    res, _ = run(bridge_roads(), gdf([P(1400, 20)], name=["A村"], population=[100.0]))
    up = res["access_upgrades"]
    assert len(up) == 1
    u = up.iloc[0]
    assert (u["rank"], u["length_m"], u["settlements_unlocked"], u["population_unlocked"]) == (1, 30.0, 1, 100.0)
    assert u["road_names"] == "石桥" and u["widen_from_m"] == 3.5 and u["runs"] == 1
    assert res["access_settlements"]["upgrade_rank"].iloc[0] == 1


def test_greedy_upgrades_each_assume_the_ones_above_are_done():
    # main road 6 m east of the station; two narrow (3 m) branches
    roads = gdf([L((0, 0), (500, 0)), L((500, 0), (1500, 0)), L((1500, 0), (2000, 0)),
                 L((500, 0), (500, 300)), L((500, 300), (500, 1000)),  # B1a 300 m, B1b 700 m
                 L((1500, 0), (1500, 100)), L((1500, 100), (1500, 400))],  # B2a 100 m, B2b 300 m
                width_m=[6, 6, 6, 3, 3, 3, 3], name=["主", "主", "主", "B1a", "B1b", "B2a", "B2b"])
    sett = gdf([P(510, 290), P(1510, 90), P(1510, 390), P(510, 990)], name=["V1", "V2", "V3", "V4"],
               population=[100.0, 50.0, 200.0, 100.0])
    res, _ = run(roads, sett)
    up = res["access_upgrades"].set_index("rank")
    # per km: V3's route (B2a+B2b, 0.4 km) unlocks V2+V3 = 250 -> 625/km; V1 (B1a) 333/km;
    # V4 (B1a+B1b) 200/km. After B1a is done, V4 needs only B1b: 100 / 0.7 km.
    assert list(up.index) == [1, 2, 3]
    assert up.loc[1, "road_names"] == "B2a、B2b" and up.loc[1, "length_m"] == pytest.approx(400)
    assert (up.loc[1, "settlements_unlocked"], up.loc[1, "population_unlocked"]) == (2, 250.0)
    assert up.loc[2, "road_names"] == "B1a" and up.loc[2, "population_unlocked"] == 100.0
    assert up.loc[3, "road_names"] == "B1b" and up.loc[3, "length_m"] == pytest.approx(700)
    assert list(res["access_settlements"]["upgrade_rank"]) == [2, 1, 1, 3]
    # ranked by total population: V1+V4's route (200) comes before V1 alone
    res2, _ = run(roads, sett, rank_by="total")
    up2 = res2["access_upgrades"].set_index("rank")
    assert up2.loc[1, "population_unlocked"] == 250.0
    assert up2.loc[2, "road_names"] == "B1a、B1b" and up2.loc[2, "population_unlocked"] == 200.0


def ring_with_spurs():
    ring = [L((0, 0), (500, 0), (1000, 0)), L((1000, 0), (1000, 500), (1000, 1000)), L((1000, 1000), (0, 1000)),
            L((0, 1000), (0, 0))]
    spurs = [L((500, 0), (500, -60)), L((1000, 500), (1030, 500)), L((0, 500), (-70, 500)),
             L((500, 1000), (500, 1080))]
    # the ring needs the spur junctions as shared vertices
    ring[2] = L((1000, 1000), (500, 1000), (0, 1000))
    ring[3] = L((0, 1000), (0, 500), (0, 0))
    return gdf(ring + spurs, width_m=[6.0] * 8, name=["r1", "r2", "r3", "r4", "60m", "30m", "70m", "80m"],
               turnaround=[False] * 6 + [True, False])


def test_dead_ends_over_40_m_without_turnaround_are_flagged():
    sett = gdf([P(505, -55), P(200, 10)], name=["尽头村", "环路村"])
    tp = gdf([P(505, 1082)])
    res, _ = run(ring_with_spurs(), sett, turnarounds=tp)
    de = res["access_dead_ends"]
    # 60 m flagged; 30 m too short; 70 m has a turnaround field; 80 m has a turnaround point
    assert list(de["length_m"].round(6)) == [60.0]
    assert de["settlements"].iloc[0] == 1
    s = res["access_settlements"]
    assert s["via_dead_end"].iloc[0] == de["dead_end"].iloc[0]
    assert s["via_dead_end"].iloc[1] == -1
    roads = res["access_roads"]
    assert set(roads.loc[roads["dead_end"] >= 0, "name"]) == {"60m"}
    # without the turnaround point the 80 m spur is flagged too
    res2, _ = run(ring_with_spurs(), sett)
    assert sorted(res2["access_dead_ends"]["length_m"].round(6)) == [60.0, 80.0]


def test_a_settlement_600_m_from_every_road_is_reported():
    res, ctx = run(bridge_roads(), gdf([P(500, 600)], name=["远村"]))
    s = res["access_settlements"].iloc[0]
    assert s["best_vehicle"] == "none"
    assert not s["snap_ok"]
    assert s["snap_m"] == pytest.approx(600.0)
    assert np.isnan(s["time_min_motorcycle"])
    assert any("远村" in w and "500 m" in w for w in ctx.warnings)


def test_grade_caps_when_no_route_is_within_the_truck_limit():
    x = X0 - 500 + (np.arange(250) + 0.5) * 10.0
    z = np.tile((x - X0) * 0.12, (40, 1)).astype(np.float32)
    dem = DEM(z, Affine(10.0, 0, X0 - 500, 0, -10.0, Y0 + 200), CRS)
    res, _ = run(bridge_roads(6.0), gdf([P(1400, 20)], name=["坡村"]), dem=dem)
    s = res["access_settlements"].iloc[0]
    assert s["best_vehicle"] == "small"
    assert s["bottleneck_kind"] == "grade"
    assert s["bottleneck_grade_pct"] == pytest.approx(12.0, rel=1e-3)
    assert np.isnan(s["bottleneck_width_m"])
    assert len(res["access_upgrades"]) == 0  # widening does not fix a grade


def test_towns_split_road_km_at_the_boundary_and_count_settlements():
    boundary = gpd.GeoDataFrame({"town": ["甲镇", "乙镇"]},
                                geometry=[shapely.box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 100),
                                          shapely.box(X0 + 500, Y0 - 100, X0 + 2000, Y0 + 100)], crs=CRS)
    sett = gdf([P(100, 10), P(1400, 20)], name=["甲村", "乙村"], population=[10.0, 20.0])
    res, _ = run(bridge_roads(), sett, boundary=boundary)
    t = res["access_towns"].set_index("town")
    assert t.loc["甲镇", "road_km_standard"] == pytest.approx(0.5)
    assert t.loc["乙镇", "road_km_standard"] == pytest.approx(0.5 + 0.47)
    assert t.loc["乙镇", "road_km_small"] == pytest.approx(0.03)
    assert (t.loc["甲镇", "settlements_standard"], t.loc["乙镇", "settlements_small"]) == (1, 1)
    assert t.loc["乙镇", "population_small"] == 20.0
    assert list(res["access_settlements"]["town"].isna()) == [True, True]  # the input field stays as given


def test_polygon_settlements_and_station_status_filter():
    village = shapely.box(X0 + 1380, Y0 + 10, X0 + 1420, Y0 + 50)
    stations = gdf([P(0, 0), P(1500, 0)], name=["温泉", "雪宝山"], status=["existing", "planned"])
    # planned stations are not sources of today's answer (issue 13 §5): only 温泉, behind the bridge
    res, _ = run(bridge_roads(), gdf([village], name=["面村"]), stations=stations)
    s = res["access_settlements"]
    assert s["best_vehicle"].iloc[0] == "small" and s["nearest_station"].iloc[0] == "温泉"
    assert s.geometry.iloc[0].geom_type == "Polygon"
    res1, _ = run(bridge_roads(), gdf([village], name=["面村"]), stations=stations, planned_stations=True)
    assert res1["access_settlements"]["best_vehicle"].iloc[0] == "standard"  # 雪宝山 sits on the village road
    res2, _ = run(bridge_roads(), gdf([village], name=["面村"]), stations=stations, station_status=["planned"])
    assert res2["access_settlements"]["best_vehicle"].iloc[0] == "standard"  # an explicit list is obeyed


def test_registered_with_its_needs_and_params():
    a = get("access")
    assert set(a.needs) == {"roads", "settlements", "stations"}
    assert a.params is AccessParams
    assert {"access_roads", "access_settlements", "access_upgrades", "access_towns"} <= set(a.results)
    with pytest.raises(RecipeError, match="rank_by"):
        from_mapping(AccessParams, {"rank_by": "cost"}, "analyses.access")


def test_result_layers_have_the_documented_columns_and_a_crs():
    res, _ = run(bridge_roads(), gdf([P(1400, 20)], name=["A村"], population=[100.0]))
    assert {"vehicle_class", "width_m", "width_source", "grade_max_pct"} <= set(res["access_roads"].columns)
    assert {"name", "town", "best_vehicle", "time_min_standard", "time_min_small", "time_min_motorcycle",
            "bottleneck_width_m", "bottleneck_edge"} <= set(res["access_settlements"].columns)
    assert {"rank", "length_m", "settlements_unlocked", "population_unlocked"} <= set(res["access_upgrades"].columns)
    for k in ("access_roads", "access_settlements", "access_upgrades", "access_dead_ends"):
        assert res[k].crs is not None


def test_one_way_roads_are_respected_in_access():
    # the village sits on a one-way road that runs south; trucks can't drive up it from the main
    # road, and the only way round to its top is a 2 m track (motorcycles; a 步道 foot way would
    # carry no vehicle unless the recipe allows motorcycles on paths)
    roads = gdf([L((0, 0), (1000, 0)), L((1000, 600), (1000, 0)), L((0, 0), (0, 600), (1000, 600))],
                width_m=[6.0, 6.0, 2.0], oneway=[False, True, False], road_class=["县道", "县道", "机耕道"])
    res, _ = run(roads, gdf([P(1010, 300)], name=["单行村"]))
    s = res["access_settlements"].iloc[0]
    assert s["best_vehicle"] == "motorcycle"
    assert np.isnan(s["time_min_standard"]) and np.isnan(s["time_min_small"])
    # 1,600 m of 2 m track at 15 km/h x 0.7 (narrow: < 1.5 + 1.0 m), then 300 m down the one-way at 35 km/h
    assert s["time_min_motorcycle"] == pytest.approx((1.6 / (15 * 0.7) + 0.3 / 35) * 60)


def test_a_wider_road_slightly_farther_away_still_counts():
    # 20 m from a 3 m lane, 40 m from a 6 m road: within 20 + 50 m, so standard trucks reach it;
    # 10 m from the lane and 290 m from the road: they do not
    roads = gdf([L((0, 0), (1000, 0)), L((0, 60), (1000, 60)), L((1000, 0), (1000, 60))], width_m=[6.0, 3.0, 3.0])
    res, _ = run(roads, gdf([P(500, 20), P(500, 350)], name=["近村", "远村"]))
    s = res["access_settlements"]
    assert s["best_vehicle"].iloc[0] == "standard" and s["snap_m"].iloc[0] == pytest.approx(20.0)
    res2, _ = run(gdf([L((0, 0), (1000, 0)), L((500, 0), (500, 300))], width_m=[6.0, 3.0]),
                  gdf([P(510, 290)], name=["坡上村"]))
    assert res2["access_settlements"]["best_vehicle"].iloc[0] == "small"
    res3, _ = run(gdf([L((0, 0), (1000, 0)), L((500, 0), (500, 300))], width_m=[6.0, 3.0]),
                  gdf([P(510, 290)], name=["坡上村"]), on_road_m=300.0)
    assert res3["access_settlements"]["best_vehicle"].iloc[0] == "standard"


def test_the_bottleneck_agrees_with_the_best_vehicle():
    # issue 13 §5: 5 m from a 2 m path, 38 m from a 6 m road: a standard truck reaches it (<= 50 m),
    # so the bottleneck is the 6 m road, not the path beside the village (was: 'standard' with 2 m)
    roads = gdf([L((0, 0), (1000, 0)), L((500, 0), (500, 60))], width_m=[6.0, 2.0], name=["县道", "小路"])
    res, _ = run(roads, gdf([P(505, 38)], name=["路边村"]))
    s = res["access_settlements"].iloc[0]
    assert s["best_vehicle"] == "standard" and s["walk_m"] == 0 and s["snap_m"] == pytest.approx(38.0)
    assert (s["bottleneck_kind"], s["bottleneck_width_m"]) == ("width", 6.0)
    # 60 m from the 6 m road: the standard truck stops 60 m away; a motorcycle rides the path to it
    res, _ = run(roads, gdf([P(505, 60)], name=["坡上村"]))
    s = res["access_settlements"].iloc[0]
    assert s["best_vehicle"] == "motorcycle" and s["bottleneck_width_m"] == 2.0


def test_settlement_off_every_road_is_reached_on_foot_from_the_road_end():
    # 300 m north of a 6 m 县道 (35 km/h); station at x = 0: drive 500 m, walk 300 m at 3 km/h (50 m/min)
    roads = gdf([L((0, 0), (1000, 0))], width_m=[6.0], road_class=["县道"])
    res, ctx = run(roads, gdf([P(500, 300), P(500, 700)], name=["山上村", "太远村"]))
    s = res["access_settlements"].set_index("name")
    assert s.loc["山上村", "best_vehicle"] == "standard" and s.loc["山上村", "walk_m"] == pytest.approx(300.0)
    assert s.loc["山上村", "time_min_standard"] == pytest.approx(0.5 / 35 * 60 + 300 / 50.0)
    assert s.loc["山上村", "time_min_motorcycle"] == pytest.approx(0.5 / 35 * 60 + 300 / 50.0)
    assert s.loc["太远村", "best_vehicle"] == "none" and np.isnan(s.loc["太远村", "walk_m"])  # 700 m > snap_max_m
    assert any("on foot" in w and "山上村" in w for w in ctx.warnings)
    res, _ = run(roads, gdf([P(500, 300)], name=["山上村"]), walk_speed_kmh=6.0)
    assert res["access_settlements"]["time_min_standard"].iloc[0] == pytest.approx(0.5 / 35 * 60 + 300 / 100.0)


def assumed_bridge_roads():
    # as bridge_roads, but the bridge's width was never surveyed: 村道 default, fixed here at 3.5 m
    r = bridge_roads()
    r["width_m"] = [6.0, np.nan, 5.0]
    r["road_class"] = ["县道", "村道", "村道"]
    return r


def test_results_say_which_widths_are_assumed():
    from kzgis.network import NetworkParams

    npar = NetworkParams(default_width_m={"村道": 3.5})
    boundary = gpd.GeoDataFrame({"town": ["甲镇", "乙镇"]},
                                geometry=[shapely.box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 100),
                                          shapely.box(X0 + 500, Y0 - 100, X0 + 2000, Y0 + 100)], crs=CRS)
    sett = gdf([P(100, 10), P(1400, 20)], name=["甲村", "乙村"], population=[10.0, 100.0])
    res, ctx = run(assumed_bridge_roads(), sett, boundary=boundary, network_params=npar)
    s = res["access_settlements"].set_index("name")
    # 乙村's best route is capped by the bridge, whose 3.5 m is a default
    assert s.loc["乙村", "best_vehicle"] == "small" and s.loc["乙村", "bottleneck_width_m"] == 3.5
    assert bool(s.loc["乙村", "bottleneck_width_assumed"]) and not bool(s.loc["甲村", "bottleneck_width_assumed"])
    up = res["access_upgrades"].iloc[0]
    assert (up["action"], up["width_assumed_m"], up["length_m"]) == ("survey width first", 30.0, 30.0)
    # 30 m of 1,500 m road assumed: 乙镇 0.03 of 1.0 km, 甲镇 none
    t = res["access_towns"].set_index("town")
    assert t.loc["乙镇", "road_km_width_assumed"] == pytest.approx(0.03)
    assert t.loc["乙镇", "width_assumed_share"] == pytest.approx(0.03)
    assert t.loc["甲镇", "width_assumed_share"] == 0.0
    assert bool(res["access_roads"]["width_assumed"].tolist() == [False, True, False])
    assert any("(2%)" in w and "no surveyed width" in w for w in ctx.warnings)  # said once, by the network
    # surveyed: plain "widen", no warning
    res, ctx = run(bridge_roads(), sett, boundary=boundary)
    assert res["access_upgrades"]["action"].tolist() == ["widen"]
    assert not any("assumed width" in w for w in ctx.warnings)
