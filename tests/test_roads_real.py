"""Building the network from real road data (issue 13 §1-4, §6), on tiny hand-made worlds.

Coordinates are metre offsets from (X0, Y0) in EPSG:4545 (tests/_build.py); every expected number
is worked out by hand in the comments. Real formats (GeoPackage, OSM XML) are written to tmp_path.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _build import CRS, X0, Y0, L, P
from affine import Affine

from kzgis import LayerError, RecipeError, _net_report, rules
from kzgis._road_attrs import parse_directions
from kzgis.layers import LayerSource, read_osm_roads
from kzgis.load import load_layers
from kzgis.network import (
    DEFAULT_WIDTH_M,
    OSM_WIDTH_RULE,
    WIDTH_RULE,
    NetworkParams,
    RoadNetwork,
)
from kzgis.params import from_mapping
from kzgis.terrain import DEM


def roads(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def pts(*xy):
    return gpd.GeoSeries([P(a, b) for a, b in xy], crs=CRS)


def by_fid(net):
    return net.edges.set_index("road_fid")


def dem_from(f, cell=10.0, x0=-200.0, x1=1200.0, y0=-300.0, y1=300.0):
    """A DEM with elevation f(x, y) (metre offsets) at the centre of each cell."""
    nx_, ny_ = int((x1 - x0) / cell), int((y1 - y0) / cell)
    x = x0 + (np.arange(nx_) + 0.5) * cell
    y = y1 - (np.arange(ny_) + 0.5) * cell
    z = f(x[None, :], y[:, None]) + np.zeros((ny_, nx_))
    return DEM(z.astype(np.float32), Affine(cell, 0, X0 + x0, 0, -cell, Y0 + y1), CRS)


def gorge(x, y):
    """100 m plateau with a 60 m deep, 100 m wide gorge between x = 200 and 300 m."""
    return np.where((x > 200) & (x < 300), 40.0, 100.0)


# ---------------------------------------------------------------------------------------------
# §2 direction codes


@pytest.mark.parametrize("raw, expected", [
    (["yes", "no", "-1", None], ["forward", "both", "backward", "both"]),
    ([True, False], ["forward", "both"]),
    ([-1, 1, 0, -1.0], ["backward", "forward", "both", "backward"]),
    (["FT", "TF", "B", "N", ""], ["forward", "backward", "both", "closed", "both"]),
    (["F", "T"], ["forward", "backward"]),
    (["Y", "N"], ["forward", "both"]),  # a yes/no column: N is "not one-way", not ArcGIS "no travel"
    (["正向", "反向", "双向", "单行", "禁行"], ["forward", "backward", "both", "forward", "closed"]),
    (["forward", "backward", "both", "closed"], ["forward", "backward", "both", "closed"]),
])
def test_direction_codes(raw, expected):
    out, unknown = parse_directions(raw)
    assert list(out) == expected and unknown == []


def test_unknown_direction_codes_are_two_way_and_named():
    out, unknown = parse_directions([1, 2, 3, "x"])
    assert list(out) == ["forward", "both", "both", "both"]
    assert unknown == ["2", "3", "x"]
    net = RoadNetwork.from_roads(roads([L((0, 10 * i), (100, 10 * i)) for i in range(3)], oneway=[1, 2, 3]))
    assert any("one-way values not understood ('2', '3')" in w and "oneway_codes" in w for w in net.warnings)


def _six_lines():
    return [L((0, 20 * i), (100, 20 * i)) for i in range(6)]


def test_direction_codes_from_a_geopackage_reverse_lines(tmp_path):
    path = tmp_path / "roads.gpkg"
    roads(_six_lines(), width_m=[6.0] * 6, oneway=["-1", "TF", "反向", "FT", "B", "N"]).to_file(path)
    layers = load_layers({"roads": LayerSource("roads", path)}, CRS)
    net = RoadNetwork.from_layers(layers)
    e = by_fid(net)
    for fid in (1, 2, 3):  # against the drawing direction: the line runs east -> west now
        assert e.loc[fid, "oneway"] and e.loc[fid].geometry.coords[0][0] == pytest.approx(X0 + 100)
    assert e.loc[4, "oneway"] and e.loc[4].geometry.coords[0][0] == pytest.approx(X0)
    assert not e.loc[5, "oneway"]
    assert e.loc[6, "vehicle_class"] == "none"  # ArcGIS N: no travel
    assert any("0.1 km of road have the direction code for 'no travel'" in w for w in net.warnings)
    # route on the reversed one-way: east -> west 100 m, west -> east not at all
    s = net.snap(pts((100, 0), (0, 0)), "standard")
    to = net.costs_to(net.costs_from(s, "standard", "length_m"), s, "standard", "length_m")
    assert to[0, 1] == pytest.approx(100.0) and np.isinf(to[1, 0])


def test_integer_minus_one_in_a_geopackage_is_reversed(tmp_path):
    path = tmp_path / "roads.gpkg"
    roads(_six_lines()[:3], width_m=[6.0] * 3, 单行=np.array([-1, 1, 0], dtype=np.int64)).to_file(path)
    net = RoadNetwork.from_layers(load_layers({"roads": LayerSource("roads", path)}, CRS))
    e = by_fid(net)
    assert list(e["oneway"].sort_index()) == [True, True, False]
    assert e.loc[1].geometry.coords[0][0] == pytest.approx(X0 + 100)
    assert e.loc[2].geometry.coords[0][0] == pytest.approx(X0)


def test_numeric_direction_field_mapped_in_the_recipe(tmp_path):
    path = tmp_path / "links.gpkg"
    roads(_six_lines()[:4], width_m=[6.0] * 4, Direction=np.array([1, 2, 3, 4], dtype=np.int64)).to_file(path)
    src = LayerSource.from_mapping("roads", {"path": "links.gpkg", "fields": {"oneway": "Direction"},
                                             "oneway_codes": {1: "both", 2: "forward", 3: "backward"}}, tmp_path)
    layers = load_layers({"roads": src}, CRS)
    codes = [p for p in layers.problems if p.code == "direction-codes"]
    assert len(codes) == 1 and "1 feature(s) have direction codes not in oneway_codes ('4')" in codes[0].message
    e = by_fid(RoadNetwork.from_layers(layers))
    assert list(e["oneway"].sort_index()) == [False, True, True, False]
    assert e.loc[3].geometry.coords[0][0] == pytest.approx(X0 + 100)  # 3 = against digitising
    assert e.loc[2].geometry.coords[0][0] == pytest.approx(X0)


def test_oneway_codes_must_name_a_direction(tmp_path):
    with pytest.raises(LayerError, match=r"oneway_codes.2: 'fwd' is not a direction"):
        LayerSource.from_mapping("roads", {"path": "x.gpkg", "oneway_codes": {1: "both", 2: "fwd"}}, tmp_path)
    with pytest.raises(LayerError, match="only the roads layer"):
        LayerSource.from_mapping("hydrants", {"path": "x.gpkg", "oneway_codes": {1: "both"}}, tmp_path)


# ---------------------------------------------------------------------------------------------
# §1 widths


def test_width_defaults_are_named_rules_matching_jtg_b01():
    for c, key in {**WIDTH_RULE, **OSM_WIDTH_RULE}.items():
        r = rules.rule(key)
        assert r.confidence in ("A", "M") and r.unit == "m"
        assert DEFAULT_WIDTH_M[c] == r.value
    # JTG B01 classes from memory (M); 村道 single lane 3.5 m, 县道 two-lane 6.5 m
    assert (DEFAULT_WIDTH_M["村道"], DEFAULT_WIDTH_M["县道"], DEFAULT_WIDTH_M["乡道"]) == (3.5, 6.5, 4.5)
    assert rules.rule("road_width_village_m").confidence == "M"
    assert rules.rule("road_width_unknown_m").confidence == "A"
    assert NetworkParams().lane_width_m == 3.5


def test_width_sources_in_order():
    g = roads([L((0, 10 * i), (100, 10 * i)) for i in range(6)],
              width_m=[5.0, None, None, None, None, None], width=[None, "4 m", None, None, None, None],
              est_width=[None, None, "4.5", None, None, None], lanes=[None, None, None, "2", None, None],
              road_class=["村道", "村道", "村道", "村道", "村道", None])
    e = RoadNetwork.from_roads(g).edges.sort_values("road_fid")
    assert list(e["width_m"]) == [5.0, 4.0, 4.5, 7.0, 3.5, 3.5]  # lanes 2 x 3.5 m
    assert list(e["width_source"]) == ["surveyed", "surveyed", "surveyed", "lanes", "class_default", "unknown"]


def test_width_defaults_overridable_in_the_recipe():
    p = from_mapping(NetworkParams, {"default_width_m": {"村道": 4.5, "residential": 6}}, "network")
    g = roads([L((0, 0), (100, 0)), L((0, 10), (100, 10)), L((0, 20), (100, 20))],
              road_class=["村道", None, None], highway=[None, "residential", "service"])
    e = RoadNetwork.from_roads(g, params=p).edges.sort_values("road_fid")
    assert list(e["width_m"]) == [4.5, 6.0, 3.5]
    assert list(e["vehicle_class"]) == ["standard", "standard", "small"]
    with pytest.raises(RecipeError, match="did you mean 'residential'"):
        from_mapping(NetworkParams, {"default_width_m": {"residental": 6}}, "network")


def test_assumed_width_warning_and_class_closed_by_default():
    # 1 km of surveyed 县道 and 0.5 km of 村道 without width (default 3.5 m < 4 m)
    g = roads([L((0, 0), (1000, 0)), L((1000, 0), (1500, 0))], width_m=[6.0, None], road_class=["县道", "村道"])
    net = RoadNetwork.from_roads(g)
    assert any("0.5 km of 1.5 km of road (33%) have no surveyed width" in w for w in net.warnings)
    closed = [w for w in net.warnings if "closed to standard trucks by the default alone" in w]
    assert len(closed) == 1
    assert "村道 (0.5 km, default 3.5 m, rule road_width_village_m)" in closed[0]
    # one surveyed 村道 is enough: the class is no longer closed by the default alone
    g2 = roads([L((0, 0), (1000, 0)), L((1000, 0), (1500, 0)), L((0, 0), (0, 100))], width_m=[6.0, None, 5.0],
               road_class=["县道", "村道", "村道"])
    assert not any("default alone" in w for w in RoadNetwork.from_roads(g2).warnings)


def test_effective_speed_per_class_and_vehicle_in_the_summary():
    g = roads([L((0, 0), (1000, 0)), L((1000, 0), (1500, 0))], width_m=[6.0, None], road_class=["县道", "村道"])
    block = _net_report.network_summary(RoadNetwork.from_roads(g))
    # 县道 6 m: 35 km/h for every class (6 >= 4 + 1 m, not narrow)
    assert block["effective_speed_kmh"]["县道"] == {"standard": 35.0, "small": 35.0, "motorcycle": 35.0}
    # 村道 3.5 m: no standard truck; small truck narrow (3.5 < 3 + 1) 25 x 0.7 = 17.5; motorcycle 25
    assert block["effective_speed_kmh"]["村道"] == {"standard": None, "small": 17.5, "motorcycle": 25.0}
    assert block["km_by_class"] == {"县道": 1.0, "村道": 0.5}
    assert (block["km_assumed_width"], block["assumed_width_share"]) == (0.5, pytest.approx(1 / 3, abs=1e-4))
    assert (block["nodes"], block["edges"], block["components"], block["largest_component_share"]) == (3, 2, 1, 1.0)


# ---------------------------------------------------------------------------------------------
# §3 bridges, tunnels, levels, foot ways


def test_bridge_over_a_gorge_is_graded_from_its_ends():
    dem = dem_from(gorge)
    line = [L((0, 0), (500, 0))]
    plain = RoadNetwork.from_roads(roads(line, width_m=[6.0]), dem=dem).edges.iloc[0]
    # the DEM profile drops 60 m within a cell or two: far steeper than any road; the ends are level
    assert plain["grade_dem_max_pct"] > 100
    assert plain["grade_source"] == "suspected_structure" and plain["grade_max_pct"] == pytest.approx(0.0)
    assert plain["vehicle_class"] == "standard"
    for cols in ({"bridge": ["yes"]}, {"name": ["幸福大桥"]}, {"tunnel": ["是"]}):
        e = RoadNetwork.from_roads(roads(line, width_m=[6.0], **cols), dem=dem).edges.iloc[0]
        assert e["grade_source"] == "structure" and e["grade_max_pct"] == pytest.approx(0.0)
        assert e["vehicle_class"] == "standard"
    # a field saying "not a bridge" wins over the name
    e = RoadNetwork.from_roads(roads(line, width_m=[6.0], bridge=["no"], name=["幸福大桥"]), dem=dem).edges.iloc[0]
    assert e["grade_source"] == "suspected_structure"


def test_suspected_structure_is_reported_and_a_real_ramp_is_not():
    net = RoadNetwork.from_roads(roads([L((0, 0), (500, 0))], width_m=[6.0]), dem=dem_from(gorge))
    iss = net.issues
    assert list(iss["kind"]) == ["suspected_structure"]
    assert iss.geometry.iloc[0].equals_exact(P(250, 0), 1e-6) and iss["length_m"].iloc[0] == pytest.approx(500)
    assert any("suspected bridges/tunnels" in w for w in net.warnings)
    # a steady 30 % ramp: the ends say 30 % too, so the DEM is believed and nothing may pass
    ramp = RoadNetwork.from_roads(roads([L((0, 0), (300, 0))], width_m=[6.0]),
                                  dem=dem_from(lambda x, y: 0.3 * x))
    e = ramp.edges.iloc[0]
    assert e["grade_source"] == "dem" and e["grade_max_pct"] == pytest.approx(30.0, abs=0.5)
    assert e["vehicle_class"] == "none"


def test_a_bridge_drawn_in_pieces_is_graded_over_the_whole_structure():
    # a 2 % ramp with the gorge cut into it; the bridge is two features meeting above the gorge
    dem = dem_from(lambda x, y: 100 + 0.02 * x - np.where((x > 200) & (x < 300), 60.0, 0.0))
    g = roads([L((-100, 0), (0, 0)), L((0, 0), (250, 0)), L((250, 0), (500, 0)), L((500, 0), (600, 0))],
              width_m=[6.0] * 4, bridge=[None, "yes", "viaduct", None])
    e = by_fid(RoadNetwork.from_roads(g, dem=dem))
    # ends at z(0) = 100 m and z(500) = 110 m: (110 - 100) / 500 = 2 % for both pieces (alone, the
    # first piece would read (100 - z(250) = 45) / 250 = 22 %)
    assert e.loc[1, "grade_max_pct"] == pytest.approx(2.0, abs=1e-3)
    assert e.loc[2, "grade_max_pct"] == pytest.approx(2.0, abs=1e-3)
    assert set(e.loc[[1, 2], "structure"]) == {"bridge"} and set(e.loc[[1, 2], "grade_source"]) == {"structure"}
    assert e.loc[0, "grade_source"] == "dem"


def test_no_junction_inside_a_bridge_or_between_levels():
    cross = [L((0, 0), (50, 0), (100, 0)), L((50, -50), (50, 0), (50, 50))]
    assert len(RoadNetwork.from_roads(roads(cross)).edges) == 4  # an at-grade crossing
    for cols in ({"bridge": ["yes", None]}, {"tunnel": [None, "yes"]}, {"layer": [1, 0]},
                 {"f_elev": [1, 0], "t_elev": [1, 0]}):
        net = RoadNetwork.from_roads(roads(cross, **cols))
        assert (len(net.edges), len(net.nodes)) == (2, 4), cols
        assert "unsplit_crossing" not in set(net.issues["kind"])  # an overpass, not a missing junction
    assert len(RoadNetwork.from_roads(roads(cross, layer=[1, 1])).edges) == 4  # same level: a junction


def test_chinese_bridge_field_and_z_levels_from_a_geopackage(tmp_path):
    path = tmp_path / "roads.gpkg"
    cross = [L((0, 0), (50, 0), (100, 0)), L((50, -50), (50, 0), (50, 50)),
             L((200, 0), (250, 0), (300, 0)), L((250, -50), (250, 0), (250, 50))]
    roads(cross, 桥梁=["是", "否", None, None], F_ELEV=[0, 0, 1, 0], T_ELEV=[0, 0, 1, 0]).to_file(path)
    layers = load_layers({"roads": LayerSource("roads", path)}, CRS)
    assert {"bridge", "f_elev", "t_elev"} <= set(layers["roads"].columns)
    net = RoadNetwork.from_layers(layers)
    e = by_fid(net)
    assert e.loc[1, "structure"] == "bridge" and e.loc[2, "structure"] == ""
    # neither crossing is a junction: a bridge over (50, 0), z-level 1 over 0 at (250, 0)
    assert (len(net.edges), len(net.nodes)) == (4, 8)


def test_bridge_ends_join_the_roads_they_meet():
    # road - bridge (layer 1) - road, and a bridge ending on a road's interior vertex
    g = roads([L((0, 0), (100, 0)), L((100, 0), (200, 0)), L((200, 0), (300, 0)),
               L((0, -50), (150, -50), (300, -50)), L((150, -50), (150, 0))],
              bridge=[None, "yes", None, None, "yes"], layer=[0, 1, 0, 0, 1])
    net = RoadNetwork.from_roads(g)
    # the (150, 0) end of the short bridge meets the long bridge's interior? no vertex there: not joined;
    # its (150, -50) end joins the road below, splitting it: 3 + 2 + 1 = 6 edges
    assert len(net.edges) == 6
    n_comp, _ = _net_report.components(net)
    assert n_comp == 2  # the upper road and the lower road + short bridge


def test_join_endpoints_only():
    p = NetworkParams(join="endpoints")
    cross = [L((0, 0), (50, 0), (100, 0)), L((50, -50), (50, 0), (50, 50))]
    assert len(RoadNetwork.from_roads(roads(cross), params=p).edges) == 2
    tee = [L((0, 0), (50, 0), (100, 0)), L((50, 0), (50, 50))]
    assert len(RoadNetwork.from_roads(roads(tee), params=p).edges) == 3  # a line end still joins
    with pytest.raises(RecipeError, match="network.join"):
        NetworkParams(join="ends")


def test_foot_ways_never_carry_trucks():
    g = roads([L((0, 10 * i), (100, 10 * i)) for i in range(5)],
              width_m=[5.0, 6.0, 2.0, None, 2.0], highway=["footway", None, None, None, None],
              road_class=[None, "人行道", "游步道", "梯道", "便道"])
    e = RoadNetwork.from_roads(g).edges.sort_values("road_fid")
    assert list(e["pedestrian"]) == [True, True, True, True, False]
    assert list(e["vehicle_class"]) == ["none", "none", "none", "none", "motorcycle"]
    p = NetworkParams(motorcycle_on_paths=True)
    e = RoadNetwork.from_roads(g, params=p).edges.sort_values("road_fid")
    # steps stay barred (台阶 class); 5 m and 6 m foot ways and a 2 m trail: motorcycles only
    assert list(e["vehicle_class"]) == ["motorcycle", "motorcycle", "motorcycle", "none", "motorcycle"]


OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="kzgis-test">
  <node id="1" lat="31.1600" lon="108.3900" version="1"/>
  <node id="2" lat="31.1600" lon="108.3910" version="1"/>
  <node id="3" lat="31.1600" lon="108.3920" version="1"/>
  <node id="4" lat="31.1590" lon="108.3910" version="1"/>
  <node id="5" lat="31.1610" lon="108.3910" version="1"/>
  <node id="6" lat="31.1620" lon="108.3900" version="1"/>
  <node id="7" lat="31.1620" lon="108.3920" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="tertiary"/><tag k="width" v="7"/></way>
  <way id="11" version="1"><nd ref="4"/><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="secondary"/><tag k="bridge" v="yes"/><tag k="layer" v="1"/><tag k="width" v="9"/></way>
  <way id="12" version="1"><nd ref="6"/><nd ref="7"/>
    <tag k="highway" v="footway"/><tag k="width" v="5"/></way>
  <way id="13" version="1"><nd ref="5"/><nd ref="7"/>
    <tag k="highway" v="unclassified"/><tag k="oneway" v="-1"/></way>
</osm>
"""


def test_osm_xml_bridge_over_a_shared_node_footway_and_one_way(tmp_path):
    path = tmp_path / "t.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    raw = read_osm_roads(path)
    assert len(raw) == 4  # whole ways
    g = raw.to_crs(CRS)
    net = RoadNetwork.from_roads(g)
    e = net.edges
    hw = dict(zip(g.index, g["highway"]))
    kind = e["road_fid"].map(hw)
    # the bridge (layer 1) shares node 2 with the tertiary road below: not a junction, so the road
    # and the bridge stay one edge each; footway and one-way make 4 edges
    assert len(e) == 4
    br = e[kind == "secondary"].iloc[0]
    assert br["structure"] == "bridge" and br["width_source"] == "surveyed"
    fw = e[kind == "footway"].iloc[0]
    assert fw["vehicle_class"] == "none" and fw["width_m"] == 5.0
    uc = e[kind == "unclassified"].iloc[0]
    # oneway=-1 on 5 -> 7: travel 7 -> 5; unclassified default 4.5 m (rule road_width_osm_unclassified_m)
    assert uc["oneway"] and uc["width_m"] == 4.5 and uc["width_source"] == "class_default"
    start = shapely.get_point(uc.geometry, 0)
    assert start.distance(gpd.GeoSeries([shapely.Point(108.3920, 31.1620)], crs=4326).to_crs(CRS).iloc[0]) < 0.01


# ---------------------------------------------------------------------------------------------
# §4 topology


def test_dangle_within_2_m_is_snapped_and_the_line_split():
    net = RoadNetwork.from_roads(roads([L((0, 0), (100, 0)), L((50, 1.5), (50, 100))]))
    # the side road is moved 1.5 m onto the main road, which is split there: 50 + 50 + 100 m
    assert sorted(net.edges["length_m"].round(9)) == [50.0, 50.0, 100.0]
    assert _net_report.components(net)[0] == 1
    iss = net.issues
    assert list(iss["kind"]) == ["snapped_dangle"]
    assert iss["distance_m"].iloc[0] == pytest.approx(1.5)
    assert (iss["road_fid"].iloc[0], iss["other_fid"].iloc[0]) == ("1", "0")
    assert iss.geometry.iloc[0].equals_exact(P(50, 1.5), 1e-9)


def test_near_miss_reported_not_snapped_and_small_component():
    net = RoadNetwork.from_roads(roads([L((0, 0), (100, 0)), L((50, 6), (50, 100))]))
    assert len(net.edges) == 2
    kinds = dict(zip(net.issues["kind"], net.issues["distance_m"]))
    assert kinds["near_miss"] == pytest.approx(6.0)
    sc = net.issues[net.issues["kind"] == "small_component"].iloc[0]
    assert sc["road_fid"] == "1" and sc["length_m"] == pytest.approx(94.0)  # the shorter part
    assert sc.geometry.equals_exact(P(50, 53), 1e-9)  # drawn at its middle
    block = _net_report.network_summary(net)
    assert block["components"] == 2 and block["largest_component_share"] == pytest.approx(100 / 194, abs=1e-4)
    # 12 m is beyond near_miss_m (10 m): nothing reported but the small component
    far = RoadNetwork.from_roads(roads([L((0, 0), (100, 0)), L((50, 12), (50, 100))]))
    assert list(far.issues["kind"]) == ["small_component"]


def test_two_dangling_ends_meet_once():
    net = RoadNetwork.from_roads(roads([L((0, 0), (100, 0)), L((101, 0), (200, 0))]))
    assert (len(net.edges), len(net.nodes)) == (2, 3)
    # both ends are 1 m from the other line; the first (the second line's start) moves onto the
    # first line's end, which then is no longer dangling: 100 + 100 m
    assert sorted(net.edges["length_m"].round(9)) == [100.0, 100.0]
    assert list(net.issues["kind"]) == ["snapped_dangle"]


def test_unsplit_crossing_zero_length_and_duplicate_edges():
    g = roads([L((0, 0), (100, 0)), L((50, -50), (50, 50)), L((300, 0), (300, 0)), L((0, 0), (100, 0))])
    net = RoadNetwork.from_roads(g)
    kinds = sorted(net.issues["kind"])
    # the crossing line is not joined, so it is also a small component of its own
    assert kinds == ["duplicate_edge", "small_component", "unsplit_crossing", "zero_length"]
    iss = net.issues.set_index("kind")
    assert iss.loc["unsplit_crossing"].geometry.equals_exact(P(50, 0), 1e-9)
    assert iss.loc["zero_length"].geometry.equals_exact(P(300, 0), 1e-9)
    assert iss.loc["duplicate_edge", "other_fid"] in ("0", "3")


def test_settlements_on_a_small_part_or_behind_a_one_way_are_named():
    # main road with the station; a one-way spur drawn from the village down to the main road;
    # a detached lane 30 m off the main road
    g = roads([L((0, 0), (1000, 0)), L((500, 500), (500, 0)), L((0, 30), (0, 200))], width_m=[6.0, 6.0, 6.0],
              oneway=[False, True, False])
    net = RoadNetwork.from_roads(g)
    villages = gpd.GeoDataFrame({"name": ["上坡村", "孤岛村", "路边村"]},
                                geometry=[P(505, 400), P(5, 150), P(300, 5)], crs=CRS)
    stations = gpd.GeoDataFrame({"name": ["温泉"]}, geometry=[P(0, 0)], crs=CRS)
    w = _net_report.settlement_warnings(net, villages, stations)
    assert len(w) == 2
    assert "not connected to the main network (1): 孤岛村" in w[0]
    assert "only against a one-way (1): 上坡村" in w[1]


def test_a_class_closed_by_default_gives_one_response_warning_not_one_per_station():
    # navigation links with no widths and no classes: every road is "unknown", 3.5 m by default
    from kzgis import analysis
    from kzgis.analyses.response import ResponseParams, run_response
    from kzgis.layers import Layers

    ly = Layers(CRS)
    ly["roads"] = roads([L((0, 0), (1000, 0)), L((1000, 0), (1000, 1000))])
    ly["stations"] = gpd.GeoDataFrame({"name": ["甲", "乙", "丙"], "status": ["existing"] * 3},
                                      geometry=[P(0, 0), P(1000, 0), P(1000, 900)], crs=CRS)
    ctx = analysis.Context(layers=ly, network_params=NetworkParams())
    run_response(ctx, from_mapping(ResponseParams, {"vehicle_classes": ["standard", "small"]}, "analyses.response"))
    assert sum("no road carries a standard vehicle" in w for w in ctx.warnings) == 1
    assert not any("m from the nearest road a standard" in w for w in ctx.warnings)
    closed = [w for w in ctx.warnings if "default alone" in w]
    assert len(closed) == 1 and "未知 (2 km, default 3.5 m, rule road_width_unknown_m)" in closed[0]


# ---------------------------------------------------------------------------------------------
# §6 the DEM and the roads


def test_dem_closing_roads_and_dem_off_the_roads_are_warned():
    g = roads([L((0, 0), (300, 0))], width_m=[6.0])
    steep = RoadNetwork.from_roads(g, dem=dem_from(lambda x, y: 0.3 * x))
    assert any(w.startswith("DEM: grades steeper than 20 % close 0.3 km (100%)") for w in steep.warnings)
    off = RoadNetwork.from_roads(g, dem=dem_from(lambda x, y: 0 * x, x0=2000, x1=2500))
    assert set(off.edges["grade_source"]) == {"unknown"}
    assert any("100% of road length lies outside the DEM" in w for w in off.warnings)
    level = RoadNetwork.from_roads(g, dem=dem_from(lambda x, y: 0 * x))
    assert not any(w.startswith("DEM") for w in level.warnings)
    assert set(RoadNetwork.from_roads(g).edges["grade_source"]) == {"no_dem"}


# ---------------------------------------------------------------------------------------------
# the run: summary.json, results.gpkg, maps, layers check


def _write_run(tmp_path, maps=False):
    import yaml

    d = tmp_path / "layers"
    d.mkdir()
    roads([L((0, 0), (1000, 0)), L((500, 1.0), (500, 300)), L((0, 30), (0, 200))], width_m=[6.0, None, 6.0],
          道路等级=["县道", "村道", "县道"]).to_file(d / "roads.gpkg")
    gpd.GeoDataFrame({"name": ["坡上村", "孤岛村"]}, geometry=[P(505, 250), P(5, 150)], crs=CRS).to_file(
        d / "settlements.gpkg")
    gpd.GeoDataFrame({"name": ["温泉"]}, geometry=[P(0, 0)], crs=CRS).to_file(d / "stations.gpkg")
    rec = {"name": "roads", "crs": CRS,
           "layers": {"roads": "layers/roads.gpkg", "settlements": "layers/settlements.gpkg",
                      "stations": "layers/stations.gpkg"},
           "analyses": {"access": {}},
           "outputs": {"dir": "out", "maps": {"county": True, "townships": False} if maps else False}}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    return path


def test_run_writes_network_block_and_issues_layer(tmp_path):
    import pyogrio

    from kzgis import pipeline, recipe

    res = pipeline.run(recipe.load(_write_run(tmp_path, maps=True)), quiet=True)
    summary = json.loads((res.out_dir / "summary.json").read_text(encoding="utf-8"))
    net = summary["network"]
    # main road split by the snapped spur (500 + 500) + spur 300 m + detached lane 170 m
    assert (net["edges"], net["components"]) == (4, 2)
    assert net["km"] == pytest.approx(1.47)
    assert net["km_by_width_source"] == {"class_default": 0.3, "surveyed": 1.17}
    assert net["largest_component_share"] == pytest.approx(1.3 / 1.47, abs=1e-4)
    assert net["issues"] == {"snapped_dangle": 1, "small_component": 1}
    assert net["effective_speed_kmh"]["村道"]["small"] == 17.5
    warnings = "\n".join(summary["warnings"])
    assert "孤岛村" in warnings and "0.3 km of 1.47 km of road (20%)" in warnings
    issues = pyogrio.read_dataframe(res.out_dir / "results.gpkg", layer="network_issues")
    assert sorted(issues["kind"]) == ["small_component", "snapped_dangle"]
    html = (res.out_dir / "maps" / "county.html").read_text(encoding="utf-8")
    assert "路网数据问题（待核实）" in html
    assert "无 DEM" in (res.out_dir / "maps" / "index.html").read_text(encoding="utf-8")
    from kzgis.maps import styles

    assert styles.rule_for("network_issues")["show"] is False


def test_layers_check_prints_the_network(tmp_path, capsys):
    from kzgis import cli

    cli.main(["layers", "check", str(_write_run(tmp_path))])
    out = capsys.readouterr().out
    assert "road network: 6 nodes, 4 edges, 1.47 km, 2 connected part(s)" in out
    assert "km by width source: class_default 0.3, surveyed 1.17" in out
    assert "topology issues: " in out and "孤岛村" in out


def test_long_direction_columns_parse_like_short_ones():
    short = ["yes", "-1", "N", "B", 2, None, True, "反向"]
    out, unknown = parse_directions(short * 20)  # the distinct values are parsed once
    ref, ref_unknown = parse_directions(short)
    assert list(out) == list(ref) * 20 and unknown == ref_unknown == ["2"]


def test_osm_xml_whole_one_way_ways_keep_their_travel_direction():
    from pathlib import Path

    osm = Path(__file__).resolve().parent / "data" / "osm"
    xml = read_osm_roads(osm / "village.osm")
    pbf = read_osm_roads(osm / "village.osm.pbf")
    assert len(xml) == len(pbf) == 18
    for frame in (xml, pbf):
        frame["osmid"] = frame["osmid"].astype(str)
    a = xml[xml["oneway"]].set_index("osmid").geometry
    b = pbf[pbf["oneway"]].set_index("osmid").geometry
    assert sorted(a.index) == sorted(b.index) and len(a) == 3
    for k in a.index:  # same vertices in the same (travel) order, oneway=-1 turned round in both
        assert np.allclose(shapely.get_coordinates(a[k]), shapely.get_coordinates(b[k]), atol=1e-7)
