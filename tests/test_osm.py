"""OSM roads (XML through osmnx, PBF through GDAL) into the network engine, offline.

The real extracts are read from ``../shared/data/osm`` (munich_small.osm, aguascalientes.osm.pbf);
a tiny OSM XML with known tags is written to ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from _shared import SHARED_DATA

from kzgis.crs import choose_working_crs
from kzgis.layers import LayerSource, read_osm_roads
from kzgis.load import load_layers
from kzgis.network import RoadNetwork

OSM = SHARED_DATA / "osm"


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


def test_munich_xml_loads_through_osmnx_and_routes():
    roads = read_osm_roads(OSM / "munich_small.osm")
    assert len(roads) == 36 and roads.crs.to_epsg() == 4326
    assert set(roads["highway"]) == {"residential", "service", "track"}
    net = RoadNetwork.from_roads(projected(roads))
    assert net.crs.is_projected
    assert len(net.edges) == 36
    assert set(net.edges["width_source"]) == {"class default"}  # no width tags in this extract
    assert set(net.edges["road_class"]) == {"村道", "机耕道"}
    assert net.edges["length_m"].sum() == pytest.approx(projected(roads).length.sum())
    assert check_against_networkx(net) >= 30


def test_aguascalientes_pbf_loads_with_tags_and_one_ways():
    roads = read_osm_roads(OSM / "aguascalientes.osm.pbf")
    assert len(roads) == 674
    assert roads["oneway"].sum() == 240
    net = RoadNetwork.from_roads(projected(roads))
    # GDAL's lines are whole ways: the engine nodes them at shared vertices
    assert len(net.edges) > len(roads)
    src = net.edges["width_source"].value_counts()
    assert src["tag"] > 0 and src["class default"] > 0  # lanes tags give widths
    assert net.edges["oneway"].sum() > 0
    assert (net.edges["vehicle_class"] == "none").sum() == (net.edges["road_class"] == "台阶").sum()
    assert check_against_networkx(net) > 1000


def test_osm_through_load_layers_and_from_layers():
    layers = load_layers({"roads": LayerSource("roads", OSM / "munich_small.osm")})
    assert layers.crs.to_epsg() == 32632  # UTM zone of Munich
    net = RoadNetwork.from_layers(layers)
    assert len(net.edges) == 36


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
    assert (by_hw["tertiary"]["width_m"], by_hw["tertiary"]["width_source"]) == (6.5, "tag")
    assert by_hw["tertiary"]["road_class"] == "乡道"
    assert (by_hw["residential"]["width_m"], by_hw["residential"]["width_source"]) == (3.0, "tag")  # 1 lane
    assert (by_hw["service"]["width_m"], by_hw["service"]["width_source"]) == (3.5, "class default")
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
