"""Result schema (issue 16 §3) of barriers, checkpoints, helicopter, micro_stations, building_clusters."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

import kzgis
from kzgis import analysis, schema
from kzgis.demo import tiny_world

ANALYSES = ("barriers", "checkpoints", "helicopter", "micro_stations", "building_clusters")


@pytest.fixture(scope="module")
def results():
    w = tiny_world()
    out = {
        "barriers": kzgis.barriers(w["forest"], w["settlements"], urban_area=w["urban_area"], dem=w["dem"]),
        "checkpoints": kzgis.checkpoints(w["forest"], w["roads"], w["settlements"]),
        "helicopter": kzgis.helicopter(w["water_bodies"], w["forest"], w["dem"], roads=w["roads"],
                                       layers={"boundary": w["boundary"]}),
    }
    crs = "EPSG:4545"
    lane = gpd.GeoDataFrame({"width_m": [2.0]}, geometry=[shapely.LineString([(537000, 3448000),
                                                                              (538000, 3448000)])], crs=crs)
    comm = gpd.GeoDataFrame({"name": ["近", "远"], "population": [300, 200], "year": [2024, 2025]},
                            geometry=shapely.points([(537499, 3448000), (537501, 3448000)]), crs=crs)
    st = gpd.GeoDataFrame({"name": ["站"], "status": ["existing"]},
                          geometry=[shapely.Point(537000, 3448000)], crs=crs)
    out["micro_stations"] = kzgis.micro_stations(lane, comm, st)
    x = [0, 32, 64, 104, 136, 168]  # six 30 x 30 m wooden houses: one cluster over the limit, one cut
    b = gpd.GeoDataFrame({"structure": ["木"] * 6},
                         geometry=[shapely.box(537000 + a, 3448000, 537030 + a, 3448030) for a in x], crs=crs)
    out["building_clusters"] = kzgis.building_clusters(b)
    return out


@pytest.mark.parametrize("name", ANALYSES)
def test_every_result_layer_is_declared(name):
    reg = analysis.load_all()
    declared = [lay.name for lay in schema.for_analysis(name)]
    assert declared == list(reg[name].results)


@pytest.mark.parametrize("name", ANALYSES)
def test_results_conform_to_the_schema(results, name):
    res = results[name]
    for lay in schema.for_analysis(name):
        assert lay.name in res, lay.name
        assert len(res[lay.name]) > 0, f"{lay.name} is empty: the check would not test the column kinds"
        assert schema.check(lay.name, res[lay.name]) == []


def test_a_wrong_kind_in_a_declared_layer_is_found(results):
    frame = results["building_clusters"]["building_clusters"].copy()
    frame["over_limit"] = frame["over_limit"].astype(str)
    assert any("'over_limit'" in p for p in schema.check("building_clusters", frame))
