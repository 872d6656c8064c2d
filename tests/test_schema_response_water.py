"""The response and water result layers conform to their declarations (issue 16 §3)."""

from __future__ import annotations

import pytest

import kzgis
from kzgis import analysis, schema
from kzgis.demo import tiny_world


@pytest.fixture(scope="module")
def world():
    return tiny_world()


@pytest.fixture(scope="module")
def response_results(world):
    w = world
    cand = w["settlements"][["geometry"]].copy()
    cand["name"] = [f"c{i}" for i in range(len(cand))]
    return kzgis.response(w["roads"], w["stations"], w["settlements"], dem=w["dem"], breaks_min=[5, 7.5, 15],
                          layers={"boundary": w["boundary"], "candidate_sites": cand}, siting="mclp", siting_k=1)


@pytest.fixture(scope="module")
def water_results(world):
    w = world
    return kzgis.water(w["roads"], w["settlements"], hydrants=w["hydrants"], fire_pools=w["fire_pools"],
                       water_intakes=w["water_intakes"], dem=w["dem"],
                       layers={"boundary": w["boundary"], "urban_area": w["urban_area"],
                               "water_bodies": w["water_bodies"], "old_towns": w["urban_area"][["geometry"]]})


@pytest.mark.parametrize("name", ["response", "water"])
def test_every_result_layer_is_declared(name):
    spec = analysis.load_all()[name]
    assert {lay.name for lay in schema.for_analysis(name)} == set(spec.results)


def test_response_results_conform(response_results):
    for lay in schema.for_analysis("response"):
        assert lay.name in response_results, lay.name
        assert len(response_results[lay.name]), lay.name  # an empty frame would not check kinds
        assert schema.check(lay.name, response_results[lay.name]) == [], lay.name
    # the pattern columns really matched members (7.5 -> within_7_5)
    assert {"within_5", "within_7_5", "within_15"} <= set(response_results["response_settlements"].columns)


def test_water_results_conform(water_results):
    for lay in schema.for_analysis("water"):
        assert lay.name in water_results, lay.name
        assert len(water_results[lay.name]), lay.name
        assert schema.check(lay.name, water_results[lay.name]) == [], lay.name


def test_water_without_optional_layers_conforms(world):
    w = world
    res = kzgis.water(w["roads"], w["settlements"], hydrants=w["hydrants"])
    for lay in schema.for_analysis("water"):
        if lay.name in res:
            assert schema.check(lay.name, res[lay.name]) == [], lay.name


def test_pattern_columns_match_only_their_family(response_results):
    frame = response_results["response_settlements"].copy()
    frame["within_x"] = True
    frame["within_20"] = 1.5
    problems = schema.check("response_settlements", frame)
    assert "response_settlements: column 'within_x' is not declared (add it to kzgis/schema.py)" in problems
    assert any("'within_20' is float64, declared bool (within_{n})" in p for p in problems)
    col = schema.LAYERS["response_siting"].column("covered_{what}")
    assert col.matches("covered_population") and col.matches("covered_settlements")
    assert not col.matches("covered_people")
    # a family member is labelled by its family, the placeholder filled in
    assert schema.label_zh("response_settlements", "within_15") == "15分钟内到场"
    assert schema.label_zh("response_settlements", "within_7_5") == "7.5分钟内到场"
    assert schema.label_zh("response_siting", "covered_population") == "选址后覆盖人口"
    assert schema.label_zh("response_settlements", "within_x") is None
