"""OSM roads (XML through osmnx, PBF through GDAL) into the network engine, offline.

The fixtures ``tests/data/osm/village.osm`` and ``village.osm.pbf`` are hand-made (see
``tests/data/osm/make_fixtures.py``): the same 18 ways in both formats, so the osmnx (XML) and GDAL
(PBF) paths must give the same network; a tiny OSM XML with known tags is written to ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from kzgis.crs import choose_working_crs
from kzgis.layers import LayerSource, read_osm_roads
from kzgis.load import load_layers
from kzgis.network import RoadNetwork

OSM = Path(__file__).resolve().parent / "data" / "osm"


def projected(gdf):
    return gdf.to_crs(choose_working_crs(gdf.total_bounds))


def check_against_networkx(net, vc="motorcycle"):
    """Costs from a well-connected node equal networkx's on the class's graph; returns reached count."""
    G = net.to_networkx(vc)
    comp = max(nx.strongly_connected_components(G), key=len)
    n0 = min(comp)
    s = net.snap(net.nodes.geometry.iloc[[n0]], vc)
    assert s["ok"].iloc[0] and s["snap_m"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    c = net.costs_from(s, vc, "length_m")[0]
    ref = nx.single_source_dijkstra_path_length(G, n0, weight="length_m")
    assert set(np.flatnonzero(np.isfinite(c))) == set(ref)
    for k, d in ref.items():
        assert c[k] == pytest.approx(d, abs=1e-6)
    return len(ref)


def test_xml_fixture_loads_through_osmnx_and_routes():
    roads = read_osm_roads(OSM / "village.osm")
    # osmnx's node-to-node pieces are joined back into whole ways, as GDAL reads the PBF: 8 rows + 10 columns
    assert len(roads) == 18 and roads.crs.to_epsg() == 4326
    assert set(roads.geom_type) == {"LineString"}
    assert (roads["highway"] == "steps").sum() == 1
    # one-way: the row-6 service way, columns 2 (yes) and 5 (-1)
    assert roads["oneway"].sum() == 3
    net = RoadNetwork.from_roads(projected(roads))
    assert net.crs.is_projected
    # 80 grid nodes and 8 x 9 + 10 x 7 = 142 node-to-node edges, except where column 7 (bridge=yes,
    # layer=1) passes over rows 1-6: those 6 shared interior nodes are not junctions, so the bridge
    # is one edge (7 -> 1) and rows 1-6 run through (9 -> 8 edges each): 142 - 6 - 6 = 130 edges, 74 nodes
    assert (len(net.edges), len(net.nodes)) == (130, 74)
    assert net.edges["length_m"].sum() == pytest.approx(projected(roads).length.sum())
    bridge = net.edges[net.edges["structure"] == "bridge"]
    assert len(bridge) == 1 and bridge["length_m"].iloc[0] == pytest.approx(7 * 111.2, rel=0.01)
    # foot ways never carry trucks, whatever width they are tagged with (row 7 footway width=5)
    assert set(net.edges.loc[net.edges["pedestrian"], "vehicle_class"]) == {"none"}
    assert net.edges["pedestrian"].sum() == 9 + 7 + 7  # footway row, path and steps columns
    assert check_against_networkx(net) >= 60


def test_pbf_fixture_gives_the_same_network_as_the_xml():
    roads = read_osm_roads(OSM / "village.osm.pbf")
    # GDAL's lines are whole ways (18); the engine nodes them at the shared grid vertices
    assert len(roads) == 18
    assert roads["oneway"].sum() == 3
    net = RoadNetwork.from_roads(projected(roads))
    ref = RoadNetwork.from_roads(projected(read_osm_roads(OSM / "village.osm")))
    assert (len(net.edges), len(net.nodes)) == (len(ref.edges), len(ref.nodes)) == (130, 74)
    assert net.edges["oneway"].sum() == ref.edges["oneway"].sum() == 8 + 7 + 7  # row 6 runs under the bridge
    cols = ["road_class", "width_m", "width_source", "vehicle_class", "oneway"]

    def key(n):
        e = n.edges
        k = e.geometry.map(lambda g: tuple(sorted((round(x, 1), round(y, 1)) for x, y in (g.coords[0], g.coords[-1]))))
        return e.assign(k=k).set_index("k")[cols + ["length_m"]].sort_index()

    a, b = key(net), key(ref)
    assert list(a.index) == list(b.index)
    assert (a[cols] == b[cols]).all().all()
    assert np.allclose(a["length_m"], b["length_m"])
    assert check_against_networkx(net) == check_against_networkx(ref)


def test_osm_through_load_layers_and_from_layers():
    layers = load_layers({"roads": LayerSource("roads", OSM / "village.osm")})
    assert layers.crs.to_epsg() == 4545  # 3-degree Gauss-Kruger zone of 108.4 E
    net = RoadNetwork.from_layers(layers)
    assert len(net.edges) == 130


OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="kzgis-test">
  <node id="1" lat="31.1600" lon="108.3900" version="1"/>
  <node id="2" lat="31.1600" lon="108.3950" version="1"/>
  <node id="3" lat="31.1600" lon="108.4000" version="1"/>
  <node id="4" lat="31.1650" lon="108.4000" version="1"/>
  <node id="5" lat="31.1550" lon="108.4000" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="tertiary"/><tag k="width" v="6.5"/><tag k="name" v="县道甲"/></way>
  <way id="11" version="1"><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="lanes" v="1"/></way>
  <way id="12" version="1"><nd ref="4"/><nd ref="3"/>
    <tag k="highway" v="service"/><tag k="oneway" v="-1"/></way>
  <way id="13" version="1"><nd ref="3"/><nd ref="5"/>
    <tag k="highway" v="steps"/></way>
</osm>
"""


def test_tiny_osm_xml_tags_become_widths_classes_and_one_ways(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    roads = projected(read_osm_roads(path))
    net = RoadNetwork.from_roads(roads)
    e = net.edges.set_index("road_fid")
    by_hw = {roads.loc[f, "highway"]: row for f, row in e.iterrows()}
    assert (by_hw["tertiary"]["width_m"], by_hw["tertiary"]["width_source"]) == (6.5, "surveyed")
    assert by_hw["tertiary"]["road_class"] == "乡道"
    assert (by_hw["residential"]["width_m"], by_hw["residential"]["width_source"]) == (3.5, "lanes")  # 1 x 3.5 m
    assert (by_hw["service"]["width_m"], by_hw["service"]["width_source"]) == (3.5, "class_default")
    assert by_hw["steps"]["vehicle_class"] == "none"
    # oneway=-1 on way 4 -> 3 means travel 3 -> 4 only
    svc = by_hw["service"]
    assert bool(svc["oneway"])
    start = np.array(svc.geometry.coords[0])
    node3 = net.nodes.geometry.iloc[int(svc["u"])]
    assert np.allclose(start, node3.coords[0])
    G = net.to_networkx("small")
    assert G.has_edge(int(svc["u"]), int(svc["v"])) and not G.has_edge(int(svc["v"]), int(svc["u"]))


def test_pbf_style_oneway_minus_one_is_reversed():
    # GDAL's OSM driver hands the raw tag through; layers._normalise_osm turns "-1" into a reversed one-way
    import geopandas as gpd
    import shapely

    from kzgis.layers import _normalise_osm

    g = gpd.GeoDataFrame({"highway": ["service", "service"], "oneway": ["-1", "no"]},
                         geometry=[shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(0, 1), (1, 1)])],
                         crs="EPSG:4326")
    out = _normalise_osm(g)
    assert list(out["oneway"]) == [True, False]
    assert out.geometry.iloc[0].coords[0] == (1.0, 0.0)
    assert out.geometry.iloc[1].coords[0] == (0.0, 1.0)
