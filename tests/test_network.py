"""Road network engine: hand-computed answers on tiny networks, and properties.

Coordinates are EPSG:4545 around Kaizhou (E 537000, N 3448000); every network is built here.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from _build import CRS, X0, Y0, L, P
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.ops import substring

from kzgis import CRSError, NetworkError, RecipeError
from kzgis.network import NetworkParams, RoadNetwork
from kzgis.params import from_mapping
from kzgis.terrain import DEM


def roads(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def pts(*xy):
    return gpd.GeoSeries([P(a, b) for a, b in xy], crs=CRS)


def line_net(length=1000.0, width=6.0, oneway=False):
    return RoadNetwork.from_roads(roads([L((0, 0), (length, 0))], width_m=[width], oneway=[oneway]))


# ---------------------------------------------------------------------------------------------
# noding


def test_noding_at_shared_vertex_but_not_at_bare_crossing():
    # a cross whose lines share the vertex (50, 0): 4 edges meeting at one node of degree 4
    shared = RoadNetwork.from_roads(roads([L((0, 0), (50, 0), (100, 0)), L((50, -50), (50, 0), (50, 50))]))
    assert len(shared.edges) == 4
    assert len(shared.nodes) == 5
    assert sorted(shared.nodes["degree"]) == [1, 1, 1, 1, 4]
    # the same cross drawn without the shared vertex is a bridge: no junction
    bridge = RoadNetwork.from_roads(roads([L((0, 0), (100, 0)), L((50, -50), (50, 50))]))
    assert len(bridge.edges) == 2
    assert len(bridge.nodes) == 4


def test_noding_splits_a_line_at_a_t_junction_vertex_and_keeps_lengths():
    net = RoadNetwork.from_roads(roads([L((0, 0), (30, 0), (100, 0)), L((30, 0), (30, 40))]))
    assert len(net.edges) == 3
    assert sorted(net.edges["length_m"].round(9)) == [30.0, 40.0, 70.0]
    # every edge's geometry runs u -> v
    for _, e in net.edges.iterrows():
        assert e.geometry.coords[0] == pytest.approx(tuple(net.nodes.loc[e.u, ["x", "y"]]))
        assert e.geometry.coords[-1] == pytest.approx(tuple(net.nodes.loc[e.v, ["x", "y"]]))


def test_a_side_road_ending_on_the_main_road_interior_is_a_junction():
    g = roads([L((0, 0), (1000, 0)), L((400, 300), (400, 0.004))])  # ends 4 mm from the main road
    net = RoadNetwork.from_roads(g)
    assert len(net.edges) == 3
    assert sorted(net.edges["length_m"].round(2)) == [300.0, 400.0, 600.0]
    assert sorted(net.nodes["degree"]) == [1, 1, 1, 3]
    off = RoadNetwork.from_roads(g, params=NetworkParams(t_junctions=False))
    assert len(off.edges) == 2


def test_multilinestrings_and_near_duplicate_vertices():
    ml = shapely.MultiLineString([[(X0, Y0), (X0 + 10, Y0)], [(X0 + 10.004, Y0), (X0 + 20, Y0)]])
    net = RoadNetwork.from_roads(gpd.GeoDataFrame(geometry=[ml], crs=CRS))
    # the two parts meet within the 1 cm node tolerance
    assert len(net.edges) == 2
    assert len(net.nodes) == 3


def test_geographic_crs_is_refused():
    g = gpd.GeoDataFrame(geometry=[shapely.LineString([(108.4, 31.2), (108.5, 31.2)])], crs="EPSG:4490")
    with pytest.raises(CRSError, match="geographic"):
        RoadNetwork.from_roads(g)


def test_points_in_a_roads_layer_are_refused_with_their_fid():
    g = gpd.GeoDataFrame(geometry=[L((0, 0), (1, 0)), P(5, 5)], crs=CRS, index=[11, 12])
    with pytest.raises(NetworkError, match="features 12 are not lines"):
        RoadNetwork.from_roads(g)


# ---------------------------------------------------------------------------------------------
# widths, classes, grades, times


def test_width_fallback_and_source():
    g = roads([L((0, 0), (100, 0)), L((0, 10), (100, 10)), L((0, 20), (100, 20)), L((0, 30), (100, 30)),
               L((0, 40), (100, 40))],
              width_m=[4.5, None, None, None, None], width=[None, "5 m", None, None, None],
              lanes=[None, None, "2", None, None], highway=[None, None, None, "residential", "track"])
    e = RoadNetwork.from_roads(g).edges.sort_values("road_fid")
    # 2 lanes x 3.5 m (JTG B01); OSM residential has its own default 5.5 m; track is 机耕道 2.5 m
    assert list(e["width_m"]) == [4.5, 5.0, 7.0, 5.5, 2.5]
    assert list(e["width_source"]) == ["surveyed", "surveyed", "lanes", "class_default", "class_default"]
    assert list(e["road_class"]) == ["未知", "未知", "未知", "村道", "机耕道"]
    assert list(e["vehicle_class"]) == ["standard", "standard", "standard", "standard", "motorcycle"]


def test_vehicle_class_thresholds_and_barred_steps():
    g = roads([L((0, 10 * i), (100, 10 * i)) for i in range(6)],
              width_m=[4.0, 3.99, 3.0, 1.5, 1.4, 5.0], road_class=["村道"] * 5 + ["steps"])
    e = RoadNetwork.from_roads(g).edges.sort_values("road_fid")
    assert list(e["vehicle_class"]) == ["standard", "small", "small", "motorcycle", "none", "none"]
    assert np.isnan(e["time_min_standard"].iloc[1]) and np.isfinite(e["time_min_small"].iloc[1])


def test_speed_table_narrow_slowdown_and_overrides():
    g = roads([L((0, 0), (1000, 0)), L((0, 10), (1000, 10))], width_m=[6.0, 4.5], road_class=["县道", "县道"])
    e = RoadNetwork.from_roads(g).edges.sort_values("road_fid")
    # 县道 35 km/h: 1 km in 60/35 min; 4.5 m < 4.0 + 1.0 margin: x 0.7 for standard trucks only
    assert e["time_min_standard"].iloc[0] == pytest.approx(60 / 35)
    assert e["time_min_standard"].iloc[1] == pytest.approx(60 / (35 * 0.7))
    assert e["time_min_small"].iloc[1] == pytest.approx(60 / 35)
    p = from_mapping(NetworkParams, {"speed_kmh": {"县道": 30}}, "network")
    e2 = RoadNetwork.from_roads(g, params=p).edges.sort_values("road_fid")
    assert e2["time_min_standard"].iloc[0] == pytest.approx(2.0)
    assert p.speed_kmh["国道"] == 40.0  # other classes keep their defaults


def test_params_reject_unknown_keys_and_classes():
    with pytest.raises(RecipeError, match="did you mean 'snap_max_m'"):
        from_mapping(NetworkParams, {"snap_max": 300}, "network")
    with pytest.raises(RecipeError, match="unknown key '县路'"):
        from_mapping(NetworkParams, {"speed_kmh": {"县路": 30}}, "network")
    with pytest.raises(RecipeError, match="grade_measure"):
        NetworkParams(grade_measure="median")


def ramp_dem(grade_pct, nx_=200, ny=40, cell=10.0):
    """A DEM rising eastwards at ``grade_pct`` over x in [-500, 1500) m, y in [-200, 200) m."""
    x = X0 - 500 + (np.arange(nx_) + 0.5) * cell
    z = np.tile((x - X0) * grade_pct / 100.0, (ny, 1)).astype(np.float32)
    return DEM(z, Affine(cell, 0, X0 - 500, 0, -cell, Y0 + 200), CRS)


@pytest.mark.parametrize("grade, expected, warn", [(5.0, "standard", False), (9.0, "standard", True),
                                                    (12.0, "small", False), (17.0, "motorcycle", False),
                                                    (25.0, "none", False)])
def test_grade_limits_by_class(grade, expected, warn):
    net = RoadNetwork.from_roads(roads([L((0, 0), (300, 0))], width_m=[6.0]), dem=ramp_dem(grade))
    e = net.edges.iloc[0]
    assert e["grade_max_pct"] == pytest.approx(grade, rel=1e-3)
    assert e["grade_mean_pct"] == pytest.approx(grade, rel=1e-3)
    assert e["vehicle_class"] == expected
    assert bool(e["grade_warning"]) is warn


def test_steep_roads_are_slower():
    flat = RoadNetwork.from_roads(roads([L((0, 0), (300, 0))], width_m=[6.0], road_class=["县道"]))
    steep = RoadNetwork.from_roads(roads([L((0, 0), (300, 0))], width_m=[6.0], road_class=["县道"]),
                                   dem=ramp_dem(9.0))
    # speed / (1 + 0.05 * (9 - 3)) = speed / 1.3
    assert steep.edges["time_min_standard"].iloc[0] == pytest.approx(flat.edges["time_min_standard"].iloc[0] * 1.3,
                                                                      rel=1e-3)


# ---------------------------------------------------------------------------------------------
# snapping


def test_snap_to_edge_interior_with_offset_and_distance():
    net = line_net()
    s = net.snap(pts((250, 30), (1000, 0)), "standard")
    assert list(s["ok"]) == [True, True]
    assert s["offset_m"].iloc[0] == pytest.approx(250.0)
    assert s["snap_m"].iloc[0] == pytest.approx(30.0)
    assert (s["x"].iloc[0], s["y"].iloc[0]) == pytest.approx((X0 + 250, Y0))
    assert s["offset_m"].iloc[1] == pytest.approx(1000.0)


def test_point_600_m_from_every_road_is_reported_not_snapped():
    net = line_net()
    s = net.snap(pts((500, 600)), "standard")
    assert not s["ok"].iloc[0]
    assert s["edge"].iloc[0] == -1
    assert np.isnan(s["offset_m"].iloc[0])
    assert s["snap_m"].iloc[0] == pytest.approx(600.0)
    assert net.snap(pts((500, 600)), "standard", max_m=700)["ok"].iloc[0]


def test_snap_skips_roads_the_vehicle_cannot_use_and_keeps_the_index():
    net = RoadNetwork.from_roads(roads([L((0, 0), (1000, 0)), L((0, 100), (1000, 100))], width_m=[3.0, 6.0]))
    g = gpd.GeoSeries([P(400, 10)], index=["村A"], crs=CRS)
    s_std = net.snap(g, "standard")
    s_small = net.snap(g, "small")
    assert list(s_std.index) == ["村A"]
    assert s_std["snap_m"].iloc[0] == pytest.approx(90.0)
    assert s_small["snap_m"].iloc[0] == pytest.approx(10.0)


def test_snap_indexes_are_shared_by_equal_edge_sets_and_released_without_changing_answers(monkeypatch):
    import kzgis.network as network_mod

    built = []
    real = network_mod.SegmentGrid

    def counting(lines):
        built.append(len(lines))
        return real(lines)

    monkeypatch.setattr(network_mod, "SegmentGrid", counting)
    net = RoadNetwork.from_roads(roads([L((0, 0), (1000, 0)), L((0, 100), (1000, 100))], width_m=[3.0, 6.0]))
    narrow = (net.edges["width_m"] < 4).to_numpy()
    g = pts((400, 10), (700, 95))
    s_std = net.snap(g, "standard")
    assert list(s_std["snap_m"]) == pytest.approx([90.0, 5.0])
    pd.testing.assert_frame_equal(net.snap(g, mask=~narrow), s_std)
    assert built == [1]  # the class and a mask with the same edges share one index
    s_narrow = net.snap(g, mask=narrow)
    assert list(s_narrow["snap_m"]) == pytest.approx([10.0, 95.0])
    assert built == [1, 1]
    c_std = net.costs_from(s_std, "standard", "length_m")
    net.release_caches()  # the mask's index goes, the class's stays
    pd.testing.assert_frame_equal(net.snap(g, "standard"), s_std)
    assert built == [1, 1]
    pd.testing.assert_frame_equal(net.snap(g, mask=narrow), s_narrow)
    assert built == [1, 1, 1]
    net.release_caches(keep_classes=False)  # everything goes; the answers are the same when rebuilt
    pd.testing.assert_frame_equal(net.snap(g, "standard"), s_std)
    np.testing.assert_array_equal(net.costs_from(s_std, "standard", "length_m"), c_std)
    assert len(built) == 4


def test_snap_indexes_kept_are_bounded_least_recently_used_first(monkeypatch):
    import kzgis.network as network_mod

    built = []
    real = network_mod.SegmentGrid

    def counting(lines):
        built.append(len(lines))
        return real(lines)

    monkeypatch.setattr(network_mod, "SegmentGrid", counting)
    monkeypatch.setattr(network_mod, "SNAP_INDEXES_KEPT", 2)
    net = RoadNetwork.from_roads(roads([L((0, 0), (1000, 0)), L((0, 100), (1000, 100)), L((0, 200), (1000, 200))]))
    a, b, c = (np.arange(3) == i for i in range(3))
    g = pts((500, 50))
    for mask in (a, b, a, c):  # c evicts b (a was used since)
        net.snap(g, mask=mask)
    assert len(built) == 3
    net.snap(g, mask=a)
    assert len(built) == 3
    net.snap(g, mask=b)
    assert len(built) == 4


def test_snap_refuses_points_in_another_crs():
    net = line_net()
    with pytest.raises(NetworkError, match="reproject"):
        net.snap(gpd.GeoSeries([shapely.Point(108.4, 31.2)], crs="EPSG:4490"))


def test_snap_ties_go_to_the_lowest_edge_id_and_far_points_get_their_distance():
    # two parallel roads 20 m apart: a point half-way is 10 m from both
    net = RoadNetwork.from_roads(roads([L((0, 20), (1000, 20)), L((0, 0), (1000, 0))], width_m=[6.0, 6.0]))
    s = net.snap(pts((300, 10), (300, 5000)), "standard", max_m=1e6)
    assert s["edge"].iloc[0] == 0 and s["snap_m"].iloc[0] == pytest.approx(10.0)
    # 5 km away (beyond the grid index's rings): still the exact distance
    assert s["edge"].iloc[1] == 0 and s["snap_m"].iloc[1] == pytest.approx(4980.0)


@st.composite
def lines_and_points(draw):
    # lines spread over up to 100 km (float32 rounding of the index is then ~1 cm), points near and far
    span = draw(st.sampled_from([50.0, 2000.0, 100_000.0]))
    coord = st.floats(0, span, allow_nan=False)
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        k = draw(st.integers(2, 5))
        xy = [(draw(coord), draw(coord)) for _ in range(k)]
        lines.append(shapely.LineString([(X0 + x, Y0 + y) for x, y in xy]))
    pts_ = [(X0 + draw(st.floats(-0.5 * span, 1.5 * span)), Y0 + draw(st.floats(-0.5 * span, 1.5 * span)))
            for _ in range(draw(st.integers(1, 8)))]
    # points on vertices (ties between lines sharing them)
    for g in lines[: draw(st.integers(0, 2))]:
        pts_.append(g.coords[draw(st.integers(0, len(g.coords) - 1))])
    return lines, np.array(pts_)


@settings(max_examples=150, deadline=None)
@given(lines_and_points())
def test_segment_grid_finds_the_exact_nearest_point(case):
    from kzgis._net_geom import SegmentGrid

    lines, xy = case
    g = SegmentGrid(np.array(lines, dtype=object))
    pos, dist, off, sx, sy = g.nearest(xy[:, 0], xy[:, 1])
    P = shapely.points(xy)
    d_all = shapely.distance(P[:, None], np.array(lines, dtype=object)[None, :])
    best = d_all.min(axis=1)
    assert dist == pytest.approx(best, abs=1e-6)
    # the lowest line at the least distance (ties within 1e-9 m: rounding may separate near-ties)
    for i, (row, m) in enumerate(zip(d_all, best)):
        assert row[pos[i]] <= m + 1e-6 and pos[i] <= np.flatnonzero(row <= m + 1e-12)[0]
    on = shapely.line_interpolate_point(np.array(lines, dtype=object)[pos], off)
    assert shapely.get_coordinates(on) == pytest.approx(np.c_[sx, sy], abs=1e-6)
    assert np.hypot(sx - xy[:, 0], sy - xy[:, 1]) == pytest.approx(dist, abs=1e-6)


def test_segment_grid_keeps_the_nearer_of_two_segments_a_millimetre_apart_far_from_its_corner():
    from kzgis._net_geom import SegmentGrid

    # the index's float32 distances cannot tell 1 mm at 100 km from its corner: the exact pass must
    lines = [L((0, 0), (5, 0)), L((100_000, 100_000), (100_010, 100_000)),
             L((100_000, 100_000.001), (100_010, 100_000.001))]
    g = SegmentGrid(np.array(lines, dtype=object))
    pos, dist, *_ = g.nearest([X0 + 100_005], [Y0 + 100_003])
    assert pos[0] == 2 and dist[0] == pytest.approx(2.999, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# costs


def test_costs_from_a_mid_edge_source():
    net = RoadNetwork.from_roads(roads([L((0, 0), (1000, 0)), L((1000, 0), (1000, 500))], width_m=[6.0, 6.0],
                                       road_class=["县道", "县道"]))
    s = net.snap(pts((250, 5)), "standard")
    c = net.costs_from(s, "standard", "length_m")
    by_xy = {(round(x - X0), round(y - Y0)): c[0, i] for i, (x, y) in enumerate(zip(net.nodes.x, net.nodes.y))}
    assert by_xy == {(0, 0): pytest.approx(250.0), (1000, 0): pytest.approx(750.0), (1000, 500): pytest.approx(1250.0)}
    t = net.costs_from(s, "standard", "time_min")
    assert t[0].min() == pytest.approx(0.25 / 35 * 60)  # 250 m of 县道 at 35 km/h


def test_one_way_respected():
    net = line_net(oneway=True)
    s = net.snap(pts((250, 0), (750, 0)), "standard")
    c = net.costs_from(s, "standard", "length_m")
    u = int(net.edges["u"].iloc[0])
    v = int(net.edges["v"].iloc[0])
    assert c[0, v] == pytest.approx(750.0)
    assert np.isinf(c[0, u])  # cannot drive back against the one-way
    to = net.costs_to(c, s, "standard", "length_m")
    assert to[0, 1] == pytest.approx(500.0)  # same edge, forwards
    assert np.isinf(to[1, 0])  # same edge, backwards: not allowed


def test_one_way_minus_one_runs_against_the_drawing_direction():
    net = RoadNetwork.from_roads(roads([L((0, 0), (1000, 0))], oneway=["-1"]))
    e = net.edges.iloc[0]
    assert e.geometry.coords[0] == (X0 + 1000, Y0)
    s = net.snap(pts((1000, 0), (0, 0)), "small")
    to = net.costs_to(net.costs_from(s, "small", "length_m"), s, "small", "length_m")
    assert to[0, 1] == pytest.approx(1000.0)
    assert np.isinf(to[1, 0])


def test_costs_to_same_edge_two_way_and_limit():
    net = line_net()
    s = net.snap(pts((250, 0)), "standard")
    t = net.snap(pts((100, 0), (900, 0)), "standard")
    c = net.costs_from(s, "standard", "length_m")
    assert net.costs_to(c, t, "standard", "length_m")[0] == pytest.approx([150.0, 650.0])
    assert net.costs_to(c[0], t, "standard", "length_m", limit=500) == pytest.approx([150.0, np.inf])


def test_a_source_at_a_one_way_edge_start_is_at_its_node():
    # two one-way edges a->b->c; the source exactly at b reaches c and has cost 0 at b
    net = RoadNetwork.from_roads(roads([L((0, 0), (100, 0)), L((100, 0), (300, 0))], oneway=[True, True]))
    s = net.snap(pts((100, 0)), "small")
    c = net.costs_from(s, "small", "length_m")[0]
    assert sorted(c[np.isfinite(c)]) == pytest.approx([0.0, 200.0])


def test_nearest_source_matches_rows_of_costs_from():
    net = RoadNetwork.from_roads(roads([L((0, 0), (1000, 0)), L((1000, 0), (1000, 1000)), L((0, 0), (0, 800))]))
    s = net.snap(pts((100, 0), (1000, 850), (0, 700)), "small")
    full = net.costs_from(s, "small", "length_m")
    cost, src = net.nearest_source(s, "small", "length_m")
    assert cost == pytest.approx(full.min(axis=0))
    assert list(src) == list(np.argmin(np.asarray(full), axis=0))
    cost, src = net.nearest_source(s, "small", "length_m", limit=150)
    assert set(src[np.isfinite(cost)]) <= {0, 1, 2}
    assert (src[~np.isfinite(cost)] == -1).all()
    t = net.snap(pts((500, 0)), "small")
    r = net.nearest_source_to(s, t, "small", "length_m")
    assert r["cost"].iloc[0] == pytest.approx(400.0) and r["source"].iloc[0] == 0


def test_unknown_vehicle_class_and_weight():
    net = line_net()
    s = net.snap(pts((1, 0)), "small")
    with pytest.raises(NetworkError, match="did you mean 'standard'"):
        net.costs_from(s, "standrad")
    with pytest.raises(NetworkError, match="unknown weight"):
        net.costs_from(s, "small", "minutes")


def test_a_source_snapped_for_another_class_is_refused():
    net = RoadNetwork.from_roads(roads([L((0, 0), (100, 0))], width_m=[3.0]))
    s = net.snap(pts((50, 0)), "small")
    with pytest.raises(NetworkError, match="same vehicle_class"):
        net.costs_from(s, "standard")


# ---------------------------------------------------------------------------------------------
# reached pieces


def test_reached_pieces_cut_exactly_where_the_budget_runs_out():
    net = RoadNetwork.from_roads(roads([L((0, 0), (500, 0)), L((500, 0), (500, 400), (900, 400))]))
    s = net.snap(pts((100, 0)), "small")
    c = net.costs_from(s, "small", "length_m")
    pcs = net.reached_pieces(c[0], 700, "small", "length_m")
    long_edge = int(np.flatnonzero(net.edges["length_m"].round(6) == 800)[0])
    piece = pcs[pcs["edge"] == long_edge].iloc[0]
    # 400 m to the junction, 300 m left: the cut is 300 m along the 800 m edge
    assert piece["start_m"] == pytest.approx(0.0) and piece["end_m"] == pytest.approx(300.0)
    assert piece["cost_start"] == pytest.approx(400.0) and piece["cost_end"] == pytest.approx(700.0)
    assert piece.geometry.equals_exact(substring(net.edges.geometry.iloc[long_edge], 0, 300), 1e-6)
    assert piece.geometry.coords[-1] == pytest.approx((X0 + 500, Y0 + 300))
    # the source's own edge: the whole 500 m edge (100 m back, 400 m forward)
    own = pcs[pcs["edge"] != long_edge]
    assert own["end_m"].sum() - own["start_m"].sum() == pytest.approx(500.0)
    assert pcs.length.sum() == pytest.approx(800.0)


def test_reached_pieces_from_both_ends_and_within_the_source_edge():
    # a 1000 m edge between two sources at its ends: budget 300 gives two pieces, budget 600 one
    net = line_net()
    s = net.snap(pts((0, 0), (1000, 0)), "small")
    cost, _ = net.nearest_source(s, "small", "length_m")
    two = net.reached_pieces(cost, 300, "small", "length_m").sort_values("start_m")
    assert list(zip(two["start_m"].round(9), two["end_m"].round(9))) == [(0.0, 300.0), (700.0, 1000.0)]
    one = net.reached_pieces(cost, 600, "small", "length_m")
    assert len(one) == 1 and one.length.iloc[0] == pytest.approx(1000.0)
    # a source in the middle with a small budget: one piece around it
    mid = net.snap(pts((400, 0)), "small")
    p = net.reached_pieces(net.costs_from(mid, "small", "length_m")[0], 50, "small", "length_m")
    assert list(zip(p["start_m"], p["end_m"])) == [pytest.approx((350.0, 450.0))]
    assert (p["cost_start"].iloc[0], p["cost_end"].iloc[0]) == pytest.approx((50.0, 50.0))


def test_reached_pieces_on_a_one_way_source_edge_only_go_forward():
    net = line_net(oneway=True)
    mid = net.snap(pts((400, 0)), "small")
    p = net.reached_pieces(net.costs_from(mid, "small", "length_m")[0], 50, "small", "length_m")
    assert list(zip(p["start_m"], p["end_m"])) == [pytest.approx((400.0, 450.0))]


def test_reached_pieces_without_geometry_are_the_same_rows():
    net = RoadNetwork.from_roads(roads([L((0, 0), (500, 0)), L((500, 0), (500, 400), (900, 400)),
                                        L((0, 0), (0, 300))], oneway=[False, True, False]))
    s = net.snap(pts((100, 0), (0, 250)), "small")
    cost, _ = net.nearest_source(s, "small", "length_m")
    with_geom = net.reached_pieces(cost, 300, "small", "length_m")
    plain = net.reached_pieces(cost, 300, "small", "length_m", geometry=False)
    assert type(plain) is pd.DataFrame and "geometry" not in plain
    pd.testing.assert_frame_equal(pd.DataFrame(with_geom.drop(columns="geometry")), plain)
    assert with_geom.length.to_numpy() == pytest.approx((plain["end_m"] - plain["start_m"]).to_numpy())
    assert list(plain["edge"]) == sorted(plain["edge"])


def test_routing_calls_of_any_size_in_any_order_match_a_fresh_network():
    # the virtual source rows are written into reused scratch arrays: sizes going up and down
    g = roads([L((i * 100, 0), (i * 100 + 100, 0)) for i in range(20)] +
              [L((i * 100, 0), (i * 100, 100)) for i in range(21)])
    net = RoadNetwork.from_roads(g).prepare("small", "length_m")
    rng = np.random.default_rng(3)
    for k in (2, 40, 1, 90, 3):
        p = pts(*zip(rng.uniform(0, 2000, k), rng.uniform(-20, 120, k)))
        fresh = RoadNetwork.from_roads(g)
        s, s2 = net.snap(p, "small"), fresh.snap(p, "small")
        pd.testing.assert_frame_equal(s, s2)
        assert np.array_equal(net.costs_from(s, "small", "length_m", limit=250),
                              fresh.costs_from(s2, "small", "length_m", limit=250))
        c, near = net.nearest_source(s, "small", "length_m")
        c2, near2 = fresh.nearest_source(s2, "small", "length_m")
        assert np.array_equal(c, c2) and np.array_equal(near, near2)


# ---------------------------------------------------------------------------------------------
# routes, widest path, networkx


def test_route_edges_and_widest_path():
    # two routes from s to t: via a 6 m road with a 3.5 m bridge (short), or a 4.5 m detour (long)
    g = roads([L((0, 0), (400, 0)), L((400, 0), (430, 0)), L((430, 0), (800, 0)),
               L((0, 0), (0, 500), (800, 500), (800, 0))], width_m=[6.0, 3.5, 6.0, 4.5])
    net = RoadNetwork.from_roads(g)
    s = net.snap(pts((0, 0)), "motorcycle")
    t = net.snap(pts((700, 0)), "motorcycle")
    r = net.route_edges(s, t, "motorcycle", "length_m")
    assert r["cost"].iloc[0] == pytest.approx(700.0)
    assert sorted(net.edges.loc[r["edges"].iloc[0], "road_fid"]) == [0, 1, 2]
    assert net.widest(s, t, net.edges["width_m"].to_numpy())[0] == pytest.approx(4.5)
    r_std = net.route_edges(net.snap(pts((0, 0)), "standard"), net.snap(pts((700, 0)), "standard"), "standard",
                            "length_m")
    assert r_std["cost"].iloc[0] == pytest.approx(500 + 800 + 500 + 100)


def test_targets_on_a_sources_own_edge_via_the_remembered_sources():
    net = RoadNetwork.from_roads(roads([L((0, 0), (1000, 0)), L((1000, 0), (1000, 1000))]))
    s = net.snap(pts((100, 0), (1000, 900)), "small")
    t = net.snap(pts((300, 0), (1000, 950)), "small")
    cost, _ = net.nearest_source(s, "small", "length_m")
    # the 1-D multi-source row remembers both sources: both targets are 200 m / 50 m along their edge
    assert net.costs_to(cost, t, "small", "length_m") == pytest.approx([200.0, 50.0])
    # a plain array forgets them: only the routes through nodes remain
    assert net.costs_to(np.asarray(cost), t, "small", "length_m") == pytest.approx([400.0, 150.0])
    r = net.route_edges(s, t, "small", "length_m")
    assert [len(x) for x in r["edges"]] == [1, 1] and list(r["source"]) == [0, 1]
    assert list(r["cost"]) == pytest.approx([200.0, 50.0])


def test_to_networkx_respects_one_way_and_class():
    net = RoadNetwork.from_roads(roads([L((0, 0), (100, 0)), L((100, 0), (200, 0))], width_m=[6, 3],
                                       oneway=[True, False]))
    G = net.to_networkx("small")
    assert G.number_of_edges() == 3
    assert net.to_networkx("standard").number_of_edges() == 1
    assert G.graph["crs"] == net.crs


# ---------------------------------------------------------------------------------------------
# properties


@st.composite
def grid_roads(draw):
    n = draw(st.integers(2, 4))
    m = draw(st.integers(2, 4))
    step = 100.0
    lines, widths, ow = [], [], []
    for i in range(n):
        for j in range(m):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < m and draw(st.booleans() | st.just(True)):
                    a = (i * step, j * step)
                    b = ((i + di) * step, (j + dj) * step)
                    if draw(st.booleans()):
                        a, b = b, a
                    bend = draw(st.floats(-30, 30))
                    mid = ((a[0] + b[0]) / 2 + (bend if dj else 0), (a[1] + b[1]) / 2 + (bend if di else 0))
                    lines.append(L(a, mid, b))
                    widths.append(draw(st.sampled_from([2.0, 3.5, 5.0])))
                    ow.append(draw(st.booleans()))
    return roads(lines, width_m=widths, oneway=ow), step * (n - 1), step * (m - 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_roads(), st.floats(0, 1), st.floats(0, 1), st.sampled_from(["small", "motorcycle"]))
def test_costs_equal_networkx_dijkstra(case, fx, fy, vc):
    g, w, h = case
    net = RoadNetwork.from_roads(g)
    s = net.snap(pts((fx * w, fy * h)), vc, max_m=1e6)
    if not s["ok"].iloc[0]:
        return
    c = net.costs_from(s, vc, "time_min")[0]
    # networkx on a copy with the source edge split at the snapped point
    G = nx.DiGraph()
    e0 = int(s["edge"].iloc[0])
    off = s["offset_m"].iloc[0]
    for e, row in net.edges.iterrows():
        wt = row[f"time_min_{vc}"]
        if not np.isfinite(wt):
            continue
        arcs = [(row.u, row.v)] + ([] if row.oneway else [(row.v, row.u)])
        for a, b in arcs:
            if not G.has_edge(a, b) or G[a][b]["w"] > wt:
                G.add_edge(a, b, w=wt)
    frac = off / net.edges["length_m"].iloc[e0]
    wt0 = net.edges[f"time_min_{vc}"].iloc[e0]
    G.add_edge("s", net.edges["v"].iloc[e0], w=(1 - frac) * wt0)
    if not net.edges["oneway"].iloc[e0] or off <= 0.01:
        G.add_edge("s", net.edges["u"].iloc[e0], w=frac * wt0)
    ref = nx.single_source_dijkstra_path_length(G, "s", weight="w")
    for i in range(net.n_nodes):
        if i in ref:
            assert c[i] == pytest.approx(ref[i], abs=1e-9)
        else:
            assert np.isinf(c[i])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_roads(), st.floats(0, 1), st.floats(0, 1), st.floats(20, 400))
def test_reached_pieces_are_exactly_the_points_within_budget(case, fx, fy, budget):
    g, w, h = case
    net = RoadNetwork.from_roads(g)
    vc = "motorcycle"
    s = net.snap(pts((fx * w, fy * h)), vc, max_m=1e6)
    if not s["ok"].iloc[0]:
        return
    c = net.costs_from(s, vc, "length_m")[0]
    pcs = net.reached_pieces(c, budget, vc, "length_m")
    assert (pcs["cost_start"] <= budget + 1e-9).all() and (pcs["cost_end"] <= budget + 1e-9).all()
    # sample points along every usable edge and compare their true cost with piece membership
    allowed = np.flatnonzero(net.allowed(vc))
    fr = np.linspace(0.013, 0.987, 9)
    e = np.repeat(allowed, len(fr))
    off = np.tile(fr, len(allowed)) * net.edges["length_m"].to_numpy()[e]
    sample = net.snap(gpd.GeoSeries(shapely.line_interpolate_point(net.edges.geometry.values[e], off), crs=CRS), vc)
    sample["edge"] = e  # the point lies on this edge (snap could pick a touching twin)
    sample["offset_m"] = off
    cost = net.costs_to(c, sample, vc, "length_m")
    inside = np.zeros(len(e), bool)
    for _, p in pcs.iterrows():
        inside |= (e == p["edge"]) & (off >= p["start_m"] - 1e-6) & (off <= p["end_m"] + 1e-6)
    clear = np.abs(cost - budget) > 1e-6
    assert ((cost <= budget) == inside)[clear].all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_roads(), st.floats(0, 1), st.floats(0, 1))
def test_widest_equals_the_best_threshold_reachability(case, fx, fy):
    g, w, h = case
    net = RoadNetwork.from_roads(g)
    width = net.edges["width_m"].to_numpy()
    s = net.snap(pts((0, 0)), None, max_m=1e6, mask=np.ones(len(width), bool))
    t = net.snap(pts((fx * w, fy * h)), None, max_m=1e6, mask=np.ones(len(width), bool))
    W, bn = net.widest(s, t, width, return_edges=True)
    # brute force: the largest threshold at which the target is reachable on edges >= threshold
    expect = -np.inf
    for thr in sorted(set(width)):
        mask = width >= thr
        ss = net.snap(pts((0, 0)), None, max_m=1e6, mask=np.ones(len(width), bool))
        wts = np.where(mask, net.edges["length_m"].to_numpy(), np.nan)
        ss.loc[:, "ok"] = ss["ok"] & mask[ss["edge"]]
        tt = t.copy()
        tt.loc[:, "ok"] = tt["ok"] & mask[tt["edge"]]
        r = net.nearest_source_to(ss, tt, None, weights=wts)
        if np.isfinite(r["cost"].iloc[0]):
            expect = thr
    assert W[0] == expect
    if np.isfinite(W[0]):
        assert width[bn[0]] == W[0]
    else:
        assert bn[0] == -1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), min_size=2, max_size=7, unique=True),
       st.floats(0, 1), st.floats(0, 1))
def test_vectorised_substrings_equal_shapely_substring(coords, fa, fb):
    from kzgis._net_geom import substrings

    line = shapely.LineString(coords)
    if line.length == 0:
        return
    a, b = sorted((fa * line.length, fb * line.length))
    got = substrings(np.array([line, line], dtype=object), [a, 0.0], [b, line.length])
    ref = substring(line, a, b)
    if ref.geom_type == "Point":
        assert got[0].length == pytest.approx(0.0, abs=1e-9)
        assert got[0].coords[0] == pytest.approx(ref.coords[0])
    else:
        # same shape (vertices within 1e-9 x length (at least 1e-9 m) of a cut point merge into it)
        tol = max(1e-7, 2e-9 * line.length)
        assert got[0].hausdorff_distance(ref) < tol
        assert got[0].length == pytest.approx(ref.length, abs=tol)
        assert got[0].coords[0] == pytest.approx(ref.coords[0]) and got[0].coords[-1] == pytest.approx(ref.coords[-1])
    # the whole line: a vertex within the merge tolerance of an end may become the end
    # (coords [(0, 0), (0, 5.96e-8), (0, 60)]: the end moves 6e-8 m; found by hypothesis)
    merge_m = 1e-9 * max(line.length, 1.0)
    assert got[1].hausdorff_distance(line) <= merge_m * 1.01 + 1e-12
    assert got[1].length == pytest.approx(line.length)


def test_substrings_merge_a_vertex_at_the_tolerance_into_the_end():
    from kzgis._net_geom import substrings

    line = shapely.LineString([(0, 0), (0, 5.96e-08), (0, 60)])
    whole = substrings(np.array([line], dtype=object), [0.0], [60.0])[0]
    assert whole.length == pytest.approx(60.0) and whole.hausdorff_distance(line) < 6e-8


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_roads(), st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=4),
       st.floats(20, 300))
def test_multi_source_pieces_are_exactly_the_points_within_budget(case, fracs, budget):
    g, w, h = case
    net = RoadNetwork.from_roads(g)
    vc = "motorcycle"
    s = net.snap(pts(*[(fx * w, fy * h) for fx, fy in fracs]), vc, max_m=1e6)
    if not s["ok"].all():
        return
    cost, near = net.nearest_source(s, vc, "length_m")
    pcs = net.reached_pieces(cost, budget, vc, "length_m")
    allowed = np.flatnonzero(net.allowed(vc))
    fr = np.linspace(0.011, 0.989, 11)
    e = np.repeat(allowed, len(fr))
    off = np.tile(fr, len(allowed)) * net.edges["length_m"].to_numpy()[e]
    sample = net.snap(gpd.GeoSeries(shapely.line_interpolate_point(net.edges.geometry.values[e], off), crs=CRS), vc)
    sample["edge"] = e
    sample["offset_m"] = off
    # the true cost of a point is the least over the sources of each source's own cost
    true = net.costs_to(net.costs_from(s, vc, "length_m"), sample, vc, "length_m").min(axis=0)
    assert net.costs_to(cost, sample, vc, "length_m") == pytest.approx(true)
    inside = np.zeros(len(e), bool)
    for _, p in pcs.iterrows():
        inside |= (e == p["edge"]) & (off >= p["start_m"] - 1e-6) & (off <= p["end_m"] + 1e-6)
    clear = np.abs(true - budget) > 1e-6
    assert ((true <= budget) == inside)[clear].all()
