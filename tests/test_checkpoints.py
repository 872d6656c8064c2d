"""Forest checkpoints: vertex cuts at road entries, village exits, population behind, coordinates."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from kzgis import params as kparams
from kzgis._errors import RecipeError
from kzgis.analyses import checkpoints as ck
from kzgis.analyses.checkpoints import KIND_CUT, KIND_EXIT, CheckpointParams, run_checkpoints
from kzgis.analysis import Context, get
from kzgis.layers import Layers

CRS = "EPSG:4545"
X0, Y0 = 537000.0, 3448000.0
FOREST = shapely.box(X0 + 1000, Y0 - 1000, X0 + 3000, Y0 + 1000)  # 4 km2, west edge at x = 1000


def P(x, y):
    return (X0 + x, Y0 + y)


def line(*pts):
    return shapely.LineString([P(*q) for q in pts])


def gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def roads(*lines_, road_class="村道", width=4.0):
    n = len(lines_)
    return gdf(lines_, road_class=[road_class] * n if isinstance(road_class, str) else list(road_class),
               width_m=[width] * n)


def villages(*spec):
    """spec: (name, x, y, population)"""
    return gdf([shapely.Point(P(x, y)) for _, x, y, _ in spec], name=[s[0] for s in spec],
               population=[float(s[3]) for s in spec])


def station(x, y):
    return gdf([shapely.Point(P(x, y))], name=["消防站"])


def run(params=None, forest=(FOREST,), **layers):
    ctx = Context(layers=Layers(CRS, forest=gdf(forest), **layers))
    return run_checkpoints(ctx, params or CheckpointParams()), ctx


def xy(frame):
    return np.c_[frame.geometry.x - X0, frame.geometry.y - Y0]


THREE_MERGE = roads(line((0, 500), (500, 0)), line((-200, 0), (500, 0)), line((0, -500), (500, 0)),
                    line((500, 0), (1500, 0)), line((-2000, 0), (-200, 0)))
THREE_VILLAGES = villages(("北村", 0, 500, 100), ("西村", -200, 0, 200), ("南村", 0, -500, 300))


def test_three_roads_merging_before_the_edge_need_one_checkpoint():
    res, _ = run(roads=THREE_MERGE, settlements=THREE_VILLAGES, stations=station(-2000, 0))
    cut = res["checkpoints"][res["checkpoints"].kind == KIND_CUT]
    assert len(cut) == 1
    x, y = xy(cut)[0]
    # on the merged road, at the forest edge (the minimum cut nearest the forest)
    assert (x, y) == pytest.approx((1000.0, 0.0), abs=1e-6)
    blocks = res["forest_blocks"]
    assert blocks.loc[1, "cut_size"] == 1 and blocks.loc[1, "entries"] == 1
    assert blocks.loc[1, "road_length_m"] == pytest.approx(500.0)


def test_three_separate_roads_need_three():
    r = roads(line((0, 0), (0, 600)), line((0, 0), (0, -600)),  # a north-south road outside
              line((0, 600), (1500, 600)), line((0, 0), (1500, 0)), line((0, -600), (1500, -600)),
              line((-2000, 0), (0, 0)))
    v = villages(("北村", 0, 600, 10), ("中村", 0, 0, 10), ("南村", 0, -600, 10))
    res, _ = run(CheckpointParams(exit_forest_m=0), roads=r, settlements=v, stations=station(-2000, 0))
    cut = res["checkpoints"][res["checkpoints"].kind == KIND_CUT]
    assert len(cut) == 3
    assert sorted(xy(cut)[:, 1]) == pytest.approx([-600, 0, 600])
    assert (xy(cut)[:, 0] == pytest.approx(1000.0))
    assert res["forest_blocks"].loc[1, "cut_size"] == 3
    assert res["forest_blocks"].loc[1, "entries"] == 3


def test_two_roads_150_m_apart_each_keep_a_checkpoint():
    # the audit's case (issue 20): two villages' roads enter the forest 150 m apart; the second
    # road serves 200 people. Grouping by straight-line distance gave one checkpoint between the
    # roads, on neither; every road of the cut must keep its own.
    r = roads(line((-2000, 0), (2000, 0)), line((-2000, 150), (2000, 150)))  # two roads into the forest
    v = villages(("甲村", 1500, 0, 50), ("乙村", 1500, 150, 200))  # each up its own road, in the forest
    st = gdf([shapely.Point(P(-2000, 0)), shapely.Point(P(-2000, 150))], name=["甲站", "乙站"])
    res, _ = run(CheckpointParams(exit_forest_m=0), roads=r, settlements=v, stations=st)
    cut = res["checkpoints"][res["checkpoints"].kind == KIND_CUT].sort_values("lat")
    assert len(cut) == 2
    # at the forest edge x = 1000, one on each road
    assert xy(cut) == pytest.approx(np.array([[1000.0, 0.0], [1000.0, 150.0]]))
    assert list(cut["population_behind"]) == [50.0, 200.0]
    assert list(cut["cut_points"]) == [1, 1]
    b = res["forest_blocks"].loc[1]
    assert b["cut_size"] == 2 and b["checkpoints"] == 2 and b["merged"] == 0
    assert b["entries"] == 1  # 150 m apart: one entry group for the count of entries (group_m 200)


def test_cut_points_merge_only_along_the_road_when_asked():
    # two roads enter 40 m apart and are joined 10 m before the edge by a 40 m link: 60 m of road
    # from one cut point to the other
    r = roads(line((-2000, 0), (990, 0)), line((990, 0), (2000, 0)), line((990, 40), (2000, 40)),
              line((990, 0), (990, 40)), line((-2000, 40), (990, 40)))
    v = villages(("甲村", -1000, 0, 10), ("乙村", -1000, 40, 10))
    st = station(-2000, 0)
    res, ctx = run(CheckpointParams(exit_forest_m=0), roads=r, settlements=v, stations=st)
    b = res["forest_blocks"].loc[1]
    assert b["cut_size"] == 2 and b["checkpoints"] == 2 and b["merged"] == 0
    assert not any("merged" in w for w in ctx.warnings)
    # 59 m is not enough road, 61 m is
    res, _ = run(CheckpointParams(exit_forest_m=0, cut_merge_m=59), roads=r, settlements=v, stations=st)
    assert res["forest_blocks"].loc[1, "checkpoints"] == 2
    res, ctx = run(CheckpointParams(exit_forest_m=0, cut_merge_m=61), roads=r, settlements=v, stations=st)
    b = res["forest_blocks"].loc[1]
    assert b["cut_size"] == 2 and b["checkpoints"] == 1 and b["merged"] == 1
    cut = res["checkpoints"][res["checkpoints"].kind == KIND_CUT]
    assert list(cut["cut_points"]) == [2]
    assert any("cut_merge_m = 61 m merged 1" in w for w in ctx.warnings)
    # cut points 150 m apart in a straight line on roads not joined near the forest never merge
    r2 = roads(line((-2000, 0), (2000, 0)), line((-2000, 150), (2000, 150)), line((-2000, 0), (-2000, 150)))
    st2 = gdf([shapely.Point(P(-1000, 0)), shapely.Point(P(-1000, 150))], name=["甲站", "乙站"])
    res, _ = run(CheckpointParams(exit_forest_m=0, cut_merge_m=200), roads=r2,
                 settlements=villages(("甲村", 1500, 0, 50), ("乙村", 1500, 150, 200)), stations=st2)
    assert res["forest_blocks"].loc[1, "cut_size"] == 2
    assert res["forest_blocks"].loc[1, "checkpoints"] == 2


def test_fork_outside_the_forest_is_the_single_checkpoint():
    # one road forks 100 m before the edge into two entries 800 m apart
    r = roads(line((-2000, 0), (900, 0)), line((900, 0), (1200, 400)), line((900, 0), (1200, -400)))
    res, _ = run(roads=r, settlements=villages(("村", -1000, 0, 10)), stations=station(-2000, 0))
    cut = res["checkpoints"][res["checkpoints"].kind == KIND_CUT]
    assert len(cut) == 1
    assert tuple(xy(cut)[0]) == pytest.approx((900.0, 0.0))
    assert res["forest_blocks"].loc[1, "entries"] == 2


def test_population_behind_and_village_beyond_the_forest():
    # a village inside the block, and one beyond it reached only through the forest
    r = roads(line((-2000, 0), (0, 0)), line((0, 0), (2000, 0)), line((2000, 0), (4000, 0)))
    v = villages(("近村", 0, 0, 100), ("林中村", 2000, 0, 50), ("远村", 4000, 0, 70))
    res, _ = run(CheckpointParams(exit_forest_m=0), roads=r, settlements=v, stations=station(-2000, 0))
    cut = res["checkpoints"][res["checkpoints"].kind == KIND_CUT].sort_values("lon")
    assert len(cut) == 2
    assert xy(cut)[:, 0] == pytest.approx([1000.0, 3000.0])
    # with both entries closed: the forest village is behind both, the far village only behind
    # the east entry (its way out)
    assert list(cut["settlements_behind"]) == [1, 2]
    assert list(cut["population_behind"]) == [50.0, 120.0]
    assert cut["rank"].iloc[1] < cut["rank"].iloc[0]


def test_village_in_a_forest_clearing_is_its_own_checkpoint():
    # a clearing in the block with a village at a junction of three forest roads, reached from
    # outside by one road through the forest
    block = FOREST.difference(shapely.box(X0 + 1800, Y0 - 200, X0 + 2200, Y0 + 200))
    r = roads(line((-2000, 0), (2000, 0)), line((2000, 0), (2000, 800)), line((2000, 0), (2000, -800)),
              line((2000, 0), (2800, 0)))
    v = villages(("林间村", 2000, 0, 400))
    res, _ = run(CheckpointParams(exit_forest_m=0), forest=(block,), roads=r, settlements=v,
                 stations=station(-2000, 0))
    cut = res["checkpoints"][res["checkpoints"].kind == KIND_CUT].sort_values("lon")
    assert xy(cut)[:, 0] == pytest.approx([1000.0, 2000.0])  # the outer entry, and the village itself
    assert list(cut["settlements_behind"]) == [0, 1]
    assert list(cut["population_behind"]) == [0.0, 400.0]
    assert res["forest_blocks"].loc[1, "cut_size"] == 2


def test_block_without_settlement_access_has_empty_cut():
    r = roads(line((1500, 0), (2500, 0)), line((-2000, 0), (0, 0)))  # forest road not linked
    res, _ = run(roads=r, settlements=villages(("村", 0, 0, 10)), stations=station(-2000, 0))
    assert res["forest_blocks"].loc[1, "cut_size"] == 0
    assert (res["checkpoints"]["kind"] != KIND_CUT).all()


def test_block_without_roads_inside():
    r = roads(line((-2000, 0), (0, 0)))
    res, _ = run(roads=r, settlements=villages(("村", -500, 0, 10)))
    b = res["forest_blocks"]
    assert b.loc[1, "entries"] == 0 and b.loc[1, "road_length_m"] == 0
    assert b["cut_size"].isna().all()
    assert len(res["checkpoints"]) == 0 and res["checkpoints"].crs is not None


def test_foot_paths_are_not_road_access_unless_asked():
    r = gdf([line((-2000, 0), (0, 0)), line((0, 0), (1500, 0))], road_class=["村道", "步道"], width_m=[4.0, 1.5])
    res, _ = run(roads=r, settlements=villages(("村", -1000, 0, 10)), stations=station(-2000, 0))
    assert res["forest_blocks"]["cut_size"].isna().all()  # no road inside the block at all
    res, _ = run(CheckpointParams(exclude_classes=()), roads=r, settlements=villages(("村", -1000, 0, 10)),
                 stations=station(-2000, 0))
    assert res["forest_blocks"].loc[1, "cut_size"] == 1


def test_small_blocks_are_left_out():
    grove = shapely.box(X0 + 1000, Y0 - 100, X0 + 1200, Y0 + 100)
    r = roads(line((-2000, 0), (1500, 0)))
    res, _ = run(forest=(grove,), roads=r, settlements=villages(("村", -1000, 0, 10)))
    assert len(res["forest_blocks"]) == 0 and len(res["checkpoints"]) == 0
    res, _ = run(CheckpointParams(min_block_area_m2=0), forest=(grove,), roads=r,
                 settlements=villages(("村", -1000, 0, 10)))
    assert len(res["forest_blocks"]) == 1


def test_village_exit_where_the_road_leaves_the_village():
    r = roads(line((-2000, 0), (700, 0)), line((700, 0), (1500, 0)))
    v = villages(("林边村", 700, 0, 80))
    res, _ = run(CheckpointParams(group_m=100), roads=r, settlements=v, stations=station(-2000, 0))
    cp = res["checkpoints"]
    ex = cp[cp.kind == KIND_EXIT]
    assert len(ex) == 1
    assert tuple(xy(ex)[0]) == pytest.approx((800.0, 0.0), abs=1e-6)  # 100 m disc around the point
    assert ex["settlement_names"].iloc[0] == "林边村"
    assert ex["forest_block"].iloc[0] == 1
    assert ex["settlements_behind"].iloc[0] == 0  # nobody lives up the forest road
    # with the default 200 m grouping the exit merges into the 必经道口 200 m further on
    res, _ = run(roads=r, settlements=v, stations=station(-2000, 0))
    cp = res["checkpoints"]
    assert list(cp["kind"]) == [KIND_CUT]
    assert cp["settlement_names"].iloc[0] == "林边村"


def test_village_far_from_forest_gets_no_exit():
    r = roads(line((-2000, 0), (0, 0)), line((0, 0), (1500, 0)))
    res, _ = run(roads=r, settlements=villages(("远村", 0, 0, 10)), stations=station(-2000, 0))
    assert (res["checkpoints"]["kind"] == KIND_CUT).all()


def test_lon_lat_match_pyproj():
    res, _ = run(roads=THREE_MERGE, settlements=THREE_VILLAGES, stations=station(-2000, 0))
    cp = res["checkpoints"]
    x, y = cp.geometry.x.to_numpy(), cp.geometry.y.to_numpy()
    lon, lat = Transformer.from_crs("EPSG:4545", "EPSG:4326", always_xy=True).transform(x, y)
    assert cp["lon"].to_numpy() == pytest.approx(lon, abs=1e-9)
    assert cp["lat"].to_numpy() == pytest.approx(lat, abs=1e-9)
    lon2, lat2 = Transformer.from_crs("EPSG:4545", "EPSG:4490", always_xy=True).transform(x, y)
    assert cp["lon_cgcs2000"].to_numpy() == pytest.approx(lon2, abs=1e-9)
    assert cp["lat_cgcs2000"].to_numpy() == pytest.approx(lat2, abs=1e-9)
    # the point 1 km east of Kaizhou's centre easting is near 108.4 E, 31.2 N
    assert 108.0 < lon[0] < 109.0 and 30.5 < lat[0] < 31.8


def test_params_and_registration():
    with pytest.raises(RecipeError, match="group_m must be >= 0"):
        kparams.from_mapping(CheckpointParams, {"group_m": -5}, "analyses.checkpoints")
    with pytest.raises(RecipeError, match="did you mean 'group_m'"):
        kparams.from_mapping(CheckpointParams, {"groupm": 5}, "analyses.checkpoints")
    spec = get("checkpoints")
    assert spec.results == ("checkpoints", "forest_blocks")
    assert set(spec.needs) == {"forest", "roads"}


# ---------------------------------------------------------------------------------------------
# the vertex cut agrees with networkx on random graphs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(6, 25), extra=st.integers(0, 30), seed=st.integers(0, 10_000), n_src=st.integers(1, 4),
       n_sink=st.integers(1, 4))
def test_min_cut_matches_networkx(n, extra, seed, n_src, n_sink):
    rng = np.random.default_rng(seed)
    # a random connected graph: a random tree plus extra edges
    edges = {(int(rng.integers(0, i)), i) for i in range(1, n)}
    for _ in range(extra):
        a, b = rng.integers(0, n, 2)
        if a != b:
            edges.add((int(min(a, b)), int(max(a, b))))
    edges = np.array(sorted(edges))
    nodes = rng.permutation(n)
    sources = nodes[:n_src]
    sink_nodes = set(nodes[n_src:n_src + n_sink].tolist())
    sink_pieces = np.flatnonzero([(a in sink_nodes) or (b in sink_nodes) for a, b in edges])
    # sources touching a sink piece cannot be separated: drop them, as the analysis does
    touching = set(edges[sink_pieces].ravel().tolist())
    sources = np.array([s for s in sources if s not in touching], dtype=np.int64)
    if len(sources) == 0:
        return
    g = ck._Graph(n=n, xy=rng.uniform(size=(n, 2)), p0=edges[:, 0], p1=edges[:, 1],
                  edge=np.zeros(len(edges), int), a=np.zeros(len(edges)), b=np.ones(len(edges)),
                  length=np.ones(len(edges)), block=np.zeros(len(edges), int),
                  road_class=np.full(len(edges), "村道", dtype=object), road_name=np.full(len(edges), None),
                  edge_geoms=np.array([], dtype=object))
    cut = ck._min_cut_near_sink(g, sources, sink_pieces)
    H = nx.Graph()
    H.add_nodes_from(range(n))
    H.add_edges_from(map(tuple, edges))
    H.add_edges_from(("s", int(s)) for s in sources)
    # the sink hangs off the ends of every sink piece (reaching them means entering the block)
    H.add_edges_from((int(x), "t") for x in touching)
    if not nx.has_path(H, "s", "t"):
        assert len(cut) == 0
        return
    expected = nx.minimum_node_cut(H, "s", "t")
    assert len(cut) == len(expected)
    H2 = H.copy()
    H2.remove_nodes_from(cut.tolist())
    assert not nx.has_path(H2, "s", "t")


# ---------------------------------------------------------------------------------------------
# a list a forestry bureau can act on (issue 20): items, recommended set, reasons


def test_through_road_is_one_optional_crossing_item_and_populated_entry_comes_first():
    # a national road crosses the block (x 1000..3000) with nobody living on it inside; a village
    # road from 南村 in the south-west enters the block to a village of 1,200 people
    r = gdf([line((-2000, 0), (4000, 0)), line((-2000, -600), (2000, -600))],
            road_class=["国道", "村道"], width_m=[9.0, 4.0], name=["G243", "林场路"])
    v = villages(("林中村", 2000, -600, 1200), ("南村", 0, -600, 10))
    # fire stations at both ends of the national road and on the village road
    st = gdf([shapely.Point(P(-2000, 0)), shapely.Point(P(-2000, -600)), shapely.Point(P(4000, 0))],
             name=["甲站", "乙站", "丙站"])
    res, _ = run(CheckpointParams(exit_forest_m=0), roads=r, settlements=v, stations=st)
    cp = res["checkpoints"]
    assert res["forest_blocks"].loc[1, "cut_size"] == 3
    cut = cp[cp.kind == KIND_CUT]
    assert len(cut) == 3
    first = cp.iloc[0]
    assert tuple(xy(cp)[0]) == pytest.approx((1000.0, -600.0))
    assert first["item_kind"] == ck.ITEM_ENTRY and first["recommend"] == ck.REC_STANDARD
    assert first["population_behind"] == 1200.0 and first["item"] == 1 and first["rank"] == 1
    assert "后方居民点1处、人口1,200人" in first["reason"] and "标准检查站（人口1,200人，不少于1,000人）" in first["reason"]
    # the village in the forest also gets its exit (out of the forest), a standard one: 1,200 people
    ex = cp[cp.kind == KIND_EXIT]
    assert len(ex) == 1 and ex["recommend"].iloc[0] == ck.REC_STANDARD and ex["rank"].iloc[0] == 2
    rest = cp[cp["item_kind"] == ck.ITEM_CROSSING]
    assert sorted(xy(rest)[:, 0]) == pytest.approx([1000.0, 3000.0])
    assert set(rest["recommend"]) == {ck.REC_OPTIONAL}
    assert rest["item"].nunique() == 1 and rest["item"].iloc[0] == 3  # both ends are one item
    assert list(rest["rank"]) == [3, 4]
    assert all("G243（国道）穿越林区1号（本项2个出入口）" in x and "可选" in x for x in rest["reason"])


def test_forest_road_with_nothing_behind_gets_a_simple_checkpoint_and_a_work_site_raises_it():
    r = roads(line((-2000, 0), (2000, 0)))
    res, _ = run(CheckpointParams(), roads=r, settlements=villages(("村", -1000, 0, 10)),
                 stations=station(-2000, 0))
    cp = res["checkpoints"]
    assert len(cp) == 1 and cp["item_kind"].iloc[0] == ck.ITEM_FOREST_ROAD
    assert cp["recommend"].iloc[0] == ck.REC_SIMPLE and "后方无居民点和林区作业点" in cp["reason"].iloc[0]
    # a work site at the end of the road (in the forest), and one 1 km from any forest
    ws = gdf([shapely.Point(P(2000, 10)), shapely.Point(P(-1500, -2000))], name=["采伐点", "远处"])
    res, ctx = run(CheckpointParams(), roads=r, settlements=villages(("村", -1000, 0, 10)),
                   stations=station(-2000, 0), forest_work_sites=ws)
    cp = res["checkpoints"]
    assert len(cp) == 1 and tuple(xy(cp)[0]) == pytest.approx((1000.0, 0.0))
    assert cp["work_sites_behind"].iloc[0] == 1 and cp["item_kind"].iloc[0] == ck.ITEM_ENTRY
    assert cp["recommend"].iloc[0] == ck.REC_SIMPLE and "后方林区作业点1处" in cp["reason"].iloc[0]
    assert res["forest_blocks"].loc[1, "work_sites"] == 1
    assert any("1 forest work site(s) are farther than 300 m" in w for w in ctx.warnings)


def test_work_site_near_the_forest_on_its_own_road_gets_the_entry_serving_it():
    # the work site is beside the forest (outside it) at the end of a spur; the block has no road
    r = roads(line((-2000, 0), (0, 0)), line((0, 0), (900, 0)))
    ws = gdf([shapely.Point(P(950, 0))], name=["苗圃"])
    res, _ = run(CheckpointParams(), roads=r, settlements=villages(("村", -1000, 0, 10)),
                 stations=station(-2000, 0), forest_work_sites=ws)
    cp = res["checkpoints"]
    assert len(cp) == 1 and cp["work_sites_behind"].iloc[0] == 1
    assert res["forest_blocks"].loc[1, "cut_size"] == 1


def test_fire_prone_edge_marks_the_entries_serving_it():
    r = roads(line((-2000, 600), (1500, 600)), line((-2000, -600), (1500, -600)))
    edge = gdf([line((1000, 500), (1000, 700))], name=["北坡林缘"])
    st = gdf([shapely.Point(P(-2000, 600)), shapely.Point(P(-2000, -600))], name=["甲站", "乙站"])
    res, _ = run(CheckpointParams(exit_forest_m=0), roads=r, settlements=villages(("村", -1000, 600, 10)),
                 stations=st, fire_risk_edges=edge)
    cp = res["checkpoints"].sort_values("lat")
    assert len(cp) == 2
    assert list(cp["fire_risk_edge"]) == [False, True]
    north = cp.iloc[1]
    assert north["item_kind"] == ck.ITEM_ENTRY and "通往易发火林缘" in north["reason"] and north["rank"] == 1
    assert cp.iloc[0]["item_kind"] == ck.ITEM_FOREST_ROAD


def test_village_exit_is_recommended_with_its_reason():
    r = roads(line((-2000, 0), (700, 0)), line((700, 0), (1500, 0)))
    res, _ = run(CheckpointParams(group_m=100), roads=r, settlements=villages(("林边村", 700, 0, 80)),
                 stations=station(-2000, 0))
    ex = res["checkpoints"][res["checkpoints"].kind == KIND_EXIT].iloc[0]
    assert ex["item_kind"] == ck.ITEM_EXIT and ex["recommend"] == ck.REC_SIMPLE
    assert ex["reason"].startswith("林边村村口（村庄人口80人）")
    res, _ = run(CheckpointParams(group_m=100, standard_pop=50), roads=r, settlements=villages(("林边村", 700, 0, 80)),
                 stations=station(-2000, 0))
    assert res["checkpoints"].set_index("kind").loc[KIND_EXIT, "recommend"] == ck.REC_STANDARD


def test_town_of_each_checkpoint():
    res, _ = run(roads=THREE_MERGE, settlements=THREE_VILLAGES, stations=station(-2000, 0),
                 boundary=gdf([shapely.box(X0 - 5000, Y0 - 5000, X0 + 5000, Y0 + 5000)], town=["温泉镇"]))
    assert set(res["checkpoints"]["town"]) == {"温泉镇"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 20), extra=st.integers(0, 12), seed=st.integers(0, 10_000), parallel=st.booleans())
def test_closing_one_piece_agrees_with_networkx(n, extra, seed, parallel):
    # what a village exit has behind it: closing one piece, the weights on the start's side that no
    # longer reach an outside node; against removing the piece from a networkx multigraph
    rng = np.random.default_rng(seed)
    edges = [(int(rng.integers(0, i)), i) for i in range(1, n) if rng.random() < 0.9]  # a forest
    for _ in range(extra):
        a, b = rng.integers(0, n, 2)
        edges.append((int(a), int(b)))
    if parallel and edges:
        edges.append(edges[0])
    if not edges:
        return
    edges = np.array(edges, dtype=np.int64)
    k = len(edges)
    g = ck._Graph(n=n, xy=np.zeros((n, 2)), p0=edges[:, 0], p1=edges[:, 1], edge=np.zeros(k, int),
                  a=np.zeros(k), b=np.ones(k), length=np.ones(k), block=np.zeros(k, int),
                  road_class=np.full(k, "村道", dtype=object), road_name=np.full(k, None),
                  edge_geoms=np.array([], dtype=object))
    outside = np.unique(rng.integers(0, n, int(rng.integers(1, 3))))
    weights = rng.integers(0, 5, (n, 4)).astype(float)
    br = ck._Bridges(g, outside, weights)
    for piece in list(range(k)) + [None]:
        H = nx.MultiGraph()
        H.add_nodes_from(range(n))
        H.add_edges_from((int(a), int(b), i) for i, (a, b) in enumerate(edges) if i != piece)
        for start in range(n):
            comp = nx.node_connected_component(H, start)
            want = np.zeros(4) if set(outside.tolist()) & comp else weights[sorted(comp)].sum(axis=0)
            assert br.behind(piece, start) == pytest.approx(want), (piece, start)


def test_village_exit_merges_only_into_the_checkpoint_on_its_own_road():
    # road A at y = 0 and road B at y = 100 enter the forest at x = 1000; 林边村 sits on road B at
    # x = 780 (its exit where B leaves the 100 m disc: x = 880). Both cut points lie within 200 m of
    # the exit; only B's is on the village's road to the forest.
    r = roads(line((-2000, 0), (1500, 0)), line((-2000, 100), (1500, 100)))
    st = gdf([shapely.Point(P(-2000, 0)), shapely.Point(P(-2000, 100))], name=["甲站", "乙站"])
    res, _ = run(roads=r, settlements=villages(("林边村", 780, 100, 80)), stations=st)
    cp = res["checkpoints"].sort_values("lat")
    assert list(cp["kind"]) == [KIND_CUT, KIND_CUT]
    assert xy(cp) == pytest.approx(np.array([[1000.0, 0.0], [1000.0, 100.0]]))
    assert pd.isna(cp["settlement_names"].iloc[0]) and cp["settlement_names"].iloc[1] == "林边村"


def test_a_junction_beyond_the_search_distance_is_not_the_one_checkpoint():
    # one road from the station forks 6 km before the forest into two roads 600 m apart: the
    # junction is the one point every route passes, but it is farther than cut_search_m (5 km)
    r = roads(line((-8000, 0), (-6000, 0)), line((-6000, 0), (-5000, 300), (1500, 300)),
              line((-6000, 0), (-5000, -300), (1500, -300)))
    v = villages(("远村", -7000, 0, 10))
    res, _ = run(CheckpointParams(exit_forest_m=0), roads=r, settlements=v, stations=station(-8000, 0))
    cut = res["checkpoints"]
    assert res["forest_blocks"].loc[1, "cut_size"] == 2
    assert sorted(xy(cut)[:, 1]) == pytest.approx([-300.0, 300.0]) and (xy(cut)[:, 0] == pytest.approx(1000.0))
    res, _ = run(CheckpointParams(exit_forest_m=0, cut_search_m=0), roads=r, settlements=v,
                 stations=station(-8000, 0))  # 0: the whole network
    assert res["forest_blocks"].loc[1, "cut_size"] == 1
    assert tuple(xy(res["checkpoints"])[0]) == pytest.approx((-6000.0, 0.0))
