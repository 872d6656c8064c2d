"""Micro fire stations on hand-built lanes with answers worked out by hand (EPSG:4545, metres).

Defaults: turnout 1 min, arrival 3 min, fire motorcycle at 15 km/h = 250 m/min on roads >= 1.5 m
wide, so 500 m of lane; off-road metres walked at 5 km/h (1 m off-road = 3 m of lane).
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _build import CRS, X0, L, P, box
from hypothesis import given, settings
from hypothesis import strategies as st

from kzgis import RecipeError
from kzgis.analyses.micro_stations import MicroParams, run_micro_stations
from kzgis.analysis import Context, get
from kzgis.layers import Layers
from kzgis.network import NetworkParams
from kzgis.params import from_mapping


def gdf(geoms, index=None, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), index=index, crs=CRS)


def run(roads, **kw):
    ly = Layers(CRS)
    ly["roads"] = roads
    params = {}
    for k, v in kw.items():
        if k in ("communities", "micro_stations", "boundary", "urban_area", "settlements"):
            ly[k] = v
        else:
            params[k] = v
    ctx = Context(layers=ly, network_params=NetworkParams())
    return run_micro_stations(ctx, from_mapping(MicroParams, params, "analyses.micro_stations")), ctx


def stations(*pts, status=None, names=None):
    n = len(pts)
    return gdf([P(a, b) for a, b in pts], index=list(range(1, n + 1)),
               name=names or [f"站{i}" for i in range(1, n + 1)], status=status or ["existing"] * n,
               town=["甲镇"] * n)


def comms(*pts, pop=None, names=None, year=None):
    n = len(pts)
    return gdf([P(a, b) for a, b in pts], index=list(range(1, n + 1)),
               name=names or [f"社区{i}" for i in range(1, n + 1)], town=["甲镇"] * n,
               population=pop or [100.0] * n, **({"year": year} if year else {}))


def test_registered_and_defaults_from_rules():
    spec = get("micro_stations")
    assert spec.needs == ("roads", "communities")
    assert set(spec.results) == {"micro_coverage", "micro_communities", "micro_towns", "micro_suggestions"}
    p = MicroParams()
    assert (p.turnout_min, p.arrival_min, p.speed, p.offroad_speed_kmh) == (1.0, 3.0, 15.0, 5.0)
    assert p.budget_m == pytest.approx(500.0)
    assert MicroParams(mode="cart").budget_m == pytest.approx(2 * 5000 / 60)


def test_bad_parameters_are_named():
    with pytest.raises(RecipeError, match="mode must be 'motorcycle' or 'cart'.*turnout_min must be"):
        from_mapping(MicroParams, {"mode": "bike", "turnout_min": 4}, "analyses.micro_stations")
    with pytest.raises(RecipeError, match="unknown parameter 'arival_min'.*arrival_min"):
        from_mapping(MicroParams, {"arival_min": 3}, "analyses.micro_stations")


def test_communities_just_inside_and_just_outside_500_m_along_a_lane():
    lane = gdf([L((0, 0), (1000, 0))], width_m=[2.0])
    res, _ = run(lane, micro_stations=stations((0, 0)),
                 communities=comms((499, 0), (501, 0), (480, 10), (471, 10)))
    c = res["micro_communities"]
    # 499 m: 1 + 499/250 = 2.996 min; 501 m: 3.004 min
    # (480, 10): 480 m of lane + 10 m walked (= 30 m of lane) = 510 -> out; (471, 10): 501 -> out? no: 471 + 30 = 501
    assert c["covered"].tolist() == [True, False, False, False]
    assert c["time_min"].tolist() == pytest.approx([1 + 499 / 250, 1 + 501 / 250, 1 + 510 / 250, 1 + 501 / 250])
    assert [None if pd.isna(x) else x for x in c["station"]] == ["站1", None, None, None]
    assert c["nearest_station"].tolist() == ["站1"] * 4
    cov = res["micro_coverage"]
    assert len(cov) == 1 and cov["reached_m"].iloc[0] == pytest.approx(500.0)
    xmin, _, xmax, _ = cov.geometry.iloc[0].bounds
    assert (xmin - X0, xmax - X0) == (pytest.approx(0.0), pytest.approx(500.0))


def test_offroad_walk_counts_for_the_community_and_the_station():
    lane = gdf([L((0, 0), (1000, 0))], width_m=[2.0])
    # station 20 m off the lane: 60 m of its budget gone -> reaches 440 m of lane
    res, _ = run(lane, micro_stations=stations((0, 20)), communities=comms((430, 0), (450, 0), (420, 5)))
    c = res["micro_communities"]
    # 60 + 430 = 490 in; 60 + 450 = 510 out; 60 + 420 + 15 = 495 in
    assert c["covered"].tolist() == [True, False, True]
    assert res["micro_coverage"]["reached_m"].iloc[0] == pytest.approx(440.0)
    assert c["offroad_m"].tolist() == pytest.approx([0.0, 0.0, 5.0])


def test_distance_is_along_the_lanes_not_straight():
    # a U: the community 300 m from the station in a straight line, 700 m along the lanes
    roads = gdf([L((0, 0), (200, 0)), L((200, 0), (200, 300)), L((200, 300), (0, 300))], width_m=[2.0] * 3)
    res, _ = run(roads, micro_stations=stations((0, 0)), communities=comms((0, 300)))
    c = res["micro_communities"].iloc[0]
    assert not c["covered"]
    assert c["time_min"] == pytest.approx(1 + 700 / 250)


def test_lanes_narrower_than_a_fire_motorcycle_are_not_used():
    # the short way is a 1.2 m path; the long way 4 m wide
    roads = gdf([L((0, 0), (300, 0)), L((0, 0), (0, 300)), L((0, 300), (300, 300)), L((300, 300), (300, 0))],
                width_m=[1.2, 4.0, 4.0, 4.0])
    res, _ = run(roads, micro_stations=stations((0, 0)), communities=comms((300, 0)))
    c = res["micro_communities"].iloc[0]
    assert not c["covered"] and c["time_min"] == pytest.approx(1 + 900 / 250)
    # on foot with a cart the same 1.2 m path is still not usable by the motorcycle class: same route
    res2, _ = run(roads, micro_stations=stations((0, 0)), communities=comms((300, 0)), mode="cart",
                  horizon_min=15)
    assert res2["micro_communities"]["time_min"].iloc[0] == pytest.approx(1 + 900 / (5000 / 60))
    # beyond the horizon (default 10 min) no time is given
    res3, _ = run(roads, micro_stations=stations((0, 0)), communities=comms((300, 0)), mode="cart")
    assert np.isnan(res3["micro_communities"]["time_min"].iloc[0])


def test_planned_stations_count_only_in_the_planned_columns():
    lane = gdf([L((0, 0), (2000, 0))], width_m=[2.0])
    res, _ = run(lane, micro_stations=stations((0, 0), (1500, 0), status=["现状", "规划"]),
                 communities=comms((100, 0), (1400, 0), pop=[100.0, 300.0]))
    c = res["micro_communities"]
    assert c["covered"].tolist() == [True, False]
    assert c["covered_planned"].tolist() == [True, True]
    assert c["station_planned"].tolist() == ["站1", "站2"]
    assert set(res["micro_coverage"]["status"]) == {"existing", "planned"}
    t = res["micro_towns"].set_index("town")
    assert t.loc["甲镇", "communities_covered"] == 1 and t.loc["甲镇", "communities_covered_planned"] == 2
    assert t.loc["甲镇", "population_share"] == pytest.approx(0.25)
    assert (t.loc["甲镇", "stations_existing"], t.loc["甲镇", "stations_planned"]) == (1, 1)


def test_suggestion_covers_the_most_people_first():
    # built-up area along a 3 km street; communities A (x=1000, 50 people), B (2000) and C (2400, 400 people)
    lane = gdf([L((0, 0), (3000, 0))], width_m=[3.0])
    res, _ = run(lane, micro_stations=stations((0, 0)),
                 communities=comms((1000, 0), (2000, 0), (2400, 0), pop=[50.0, 200.0, 400.0], year=[2024, 2025, 2025]),
                 urban_area=gdf([box(-10, -50, 3010, 50)], name=["城区"]))
    s = res["micro_suggestions"]
    # one site between 1900 and 2500 covers B and C (600 people): first; then A
    assert s["rank"].tolist() == [1, 2]
    assert s["new_population"].tolist() == [600.0, 50.0]
    x1 = s.geometry.iloc[0].x - X0
    assert 1900 - 1e-6 <= x1 <= 2500 + 1e-6
    assert s["new_communities"].tolist() == [2, 1]
    assert res["micro_communities"]["covered_after"].all()
    t = res["micro_towns"].set_index("town")
    assert (t.loc["合计", "programme_2024"], t.loc["合计", "programme_2025"]) == (1, 2)
    # the budget limits the picks
    res1, _ = run(lane, micro_stations=stations((0, 0)),
                  communities=comms((1000, 0), (2000, 0), (2400, 0), pop=[50.0, 200.0, 400.0]),
                  urban_area=gdf([box(-10, -50, 3010, 50)], name=["城区"]), max_new_sites=1)
    assert len(res1["micro_suggestions"]) == 1


def test_mclp_finds_the_pair_of_sites_the_greedy_order_misses():
    # P (0, 100 people), X (900, 150), Y (1100, 150), Q (2000, 100) on a lane; 500 m reach.
    # Greedy takes a site covering X + Y (300) first, then P or Q: 400. The best two sites cover
    # P + X (site at 450) and Y + Q (site at 1550): 500.
    lane = gdf([L((-100, 0), (2100, 0))], width_m=[3.0])
    kw = {"communities": comms((0, 0), (900, 0), (1100, 0), (2000, 0), pop=[100.0, 150.0, 150.0, 100.0]),
          "urban_area": gdf([box(-110, -50, 2110, 50)], name=["城区"]), "max_new_sites": 2}
    greedy, _ = run(lane, **kw)
    mclp, _ = run(lane, siting="mclp", **kw)
    assert greedy["micro_suggestions"]["new_population"].tolist() == [300.0, 100.0]
    assert sorted(mclp["micro_suggestions"]["new_population"].tolist()) == [250.0, 250.0]
    assert mclp["micro_communities"]["covered_after"].all()
    xs = sorted(g.x - X0 for g in mclp["micro_suggestions"].geometry)
    assert 400 <= xs[0] <= 500 and 1500 <= xs[1] <= 1600
    with pytest.raises(RecipeError, match="siting must be 'greedy' or 'mclp'"):
        from_mapping(MicroParams, {"siting": "lscp"}, "analyses.micro_stations")


def test_no_station_layer_is_a_warning_and_everyone_is_uncovered():
    lane = gdf([L((0, 0), (500, 0))], width_m=[2.0])
    res, ctx = run(lane, communities=comms((100, 0)), max_new_sites=0)
    assert not res["micro_communities"]["covered"].any()
    assert any("no micro_stations layer" in w for w in ctx.warnings)
    assert len(res["micro_coverage"]) == 0 and len(res["micro_suggestions"]) == 0


def test_an_unknown_status_counts_as_existing_and_is_named():
    lane = gdf([L((0, 0), (500, 0))], width_m=[2.0])
    res, ctx = run(lane, micro_stations=stations((0, 0), (400, 0), status=["现状", "待定"]),
                   communities=comms((100, 0)), max_new_sites=0)
    assert any("field 'status', features 2: status '待定' is neither existing nor planned" in w for w in ctx.warnings)
    assert set(res["micro_coverage"]["status"]) == {"existing"}


def test_station_far_from_any_lane_is_named():
    lane = gdf([L((0, 0), (500, 0))], width_m=[2.0])
    res, ctx = run(lane, micro_stations=stations((0, 900)), communities=comms((100, 0)), max_new_sites=0)
    assert any("station(s) 1 are farther than 200 m" in w for w in ctx.warnings)
    assert not res["micro_communities"]["covered"].any()


def test_polygon_communities_snap_from_a_point_inside():
    lane = gdf([L((0, 0), (1000, 0))], width_m=[2.0])
    comm = gdf([box(300, -20, 340, 20)], index=[1], name=["片区"], population=[10.0])
    res, _ = run(lane, micro_stations=stations((0, 0)), communities=comm)
    c = res["micro_communities"].iloc[0]
    assert c["covered"] and np.isfinite(c["time_min"])


# ---------------------------------------------------------------------------------------------
# against an independent implementation (networkx on the same lanes)


@st.composite
def lane_grids(draw):
    """A 4 x 4 grid of 120 m blocks with some sides missing or too narrow, a station and communities on it."""
    n = 4
    sides = []
    for i in range(n):
        for j in range(n):
            if i + 1 < n:
                sides.append(((i, j), (i + 1, j)))
            if j + 1 < n:
                sides.append(((i, j), (i, j + 1)))
    keep = draw(st.lists(st.booleans(), min_size=len(sides), max_size=len(sides)))
    widths = draw(st.lists(st.sampled_from([1.0, 2.0, 4.0]), min_size=len(sides), max_size=len(sides)))
    lines = [(a, b, w) for (a, b), k, w in zip(sides, keep, widths) if k]
    if not lines:
        lines = [(sides[0][0], sides[0][1], 2.0)]

    def point_on(k, t):
        a, b, _ = lines[k % len(lines)]
        return (120 * (a[0] + t * (b[0] - a[0])), 120 * (a[1] + t * (b[1] - a[1])))

    # (not half way: a point on a narrow side there is as far from two usable lanes, a tie either may break)
    t = st.floats(0, 1).filter(lambda x: abs(x - 0.5) > 1e-3)
    s = point_on(draw(st.integers(0, 100)), draw(t))
    comms = [point_on(draw(st.integers(0, 100)), draw(t)) for _ in range(draw(st.integers(1, 5)))]
    return lines, s, comms


@settings(max_examples=40, deadline=None)
@given(lane_grids())
def test_times_equal_networkx_shortest_paths(case):
    import networkx as nx

    lines, s, comms = case
    roads = gdf([L((120 * a[0], 120 * a[1]), (120 * b[0], 120 * b[1])) for a, b, _ in lines],
                width_m=[w for _, _, w in lines])
    res, _ = run(roads, micro_stations=stations(s), communities=comms_at(comms), max_new_sites=0, horizon_min=30)
    got = res["micro_communities"]["time_min"].to_numpy()
    # networkx: lanes >= 1.5 m, the station and each community inserted as nodes on their nearest lane
    segs = [((120 * a[0], 120 * a[1]), (120 * b[0], 120 * b[1])) for a, b, w in lines if w >= 1.5]
    pts = [s] + list(comms)
    on = {}  # segment -> [(position along, point index)]
    off = [np.inf] * len(pts)
    for k, p in enumerate(pts):
        best = None
        for si, (u, v) in enumerate(segs):
            d = shapely.LineString([u, v]).distance(shapely.Point(p))
            if best is None or d < best[0] - 1e-9:
                best = (d, si)
        if best is not None and best[0] <= 200:
            off[k] = best[0]
            u, v = segs[best[1]]
            t = shapely.LineString([u, v]).project(shapely.Point(p))
            on.setdefault(best[1], []).append((t, k))
    G = nx.Graph()
    for si, (u, v) in enumerate(segs):
        chain = [(0.0, u)] + sorted((t, ("p", k)) for t, k in on.get(si, [])) + [(float(np.hypot(v[0] - u[0], v[1] - u[1])), v)]
        for (t0, n0), (t1, n1) in itertools.pairwise(chain):
            if G.has_edge(n0, n1):
                G.edges[n0, n1]["w"] = min(G.edges[n0, n1]["w"], t1 - t0)
            else:
                G.add_edge(n0, n1, w=t1 - t0)
    dist = nx.single_source_dijkstra_path_length(G, ("p", 0), weight="w") if np.isfinite(off[0]) else {}
    for k, t in enumerate(got, start=1):
        if ("p", k) not in dist:
            assert np.isnan(t)
            continue
        metres = dist[("p", k)] + 3 * (off[0] + off[k])  # off-road walked: 5 km/h vs 15 km/h
        want = 1 + metres / 250
        if want > 30:
            assert np.isnan(t)
        else:
            assert t == pytest.approx(want, abs=1e-6)


def comms_at(pts):
    return gdf([P(a, b) for a, b in pts], index=list(range(1, len(pts) + 1)),
               name=[f"社区{i}" for i in range(1, len(pts) + 1)], town=["甲镇"] * len(pts),
               population=[10.0] * len(pts))
