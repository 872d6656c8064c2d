"""One record of the rules in force for every analysis (issue 16 §4): kzgis.rules.in_force."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap

import pytest

from kzgis import analysis, params, rules
from kzgis.analyses.helicopter import HelicopterParams
from kzgis.analyses.micro_stations import MicroParams
from kzgis.analyses.water import WaterParams
from kzgis.network import NetworkParams

SPECS = analysis.load_all()


def _by_key(records):
    return {r.key: r for r in records}


def test_a_default_rule_is_reported_with_its_source_and_confidence():
    rec = _by_key(SPECS["water"].in_force(WaterParams()))
    r = rec["hydrant_reach_m"]
    assert (r.rule, r.value, r.unit, r.source, r.confidence) == ("hydrant_radius_m", 150.0, "m", "GB 50974-2014 7.2.5",
                                                                 "V2")
    assert r.text_zh == "室外消火栓保护半径" and not r.is_assumption and not r.changed_by_recipe
    a = rec["lateral_m"]
    assert a.is_assumption and a.confidence == "A" and a.source.startswith("assumption")
    assert a.text() == "消防水源保护范围道路两侧宽度 60 m（A）"
    assert a.cite() == rules.rule("water_lateral_m").cite()  # the same words as the rule's own citation


def test_a_recipe_override_is_reported_as_changed():
    p = params.from_mapping(WaterParams, {"hydrant_reach_m": 120, "lateral_m": 40}, "analyses.water")
    rec = _by_key(SPECS["water"].in_force(p))
    r = rec["hydrant_reach_m"]
    assert r.changed_by_recipe and r.value == 120.0 and r.default == 150.0
    assert r.source == "recipe" and r.is_assumption  # it now rests on the planner, not on GB 50974
    assert r.text() == "室外消火栓保护半径 120 m（配方设定）"
    assert rec["lateral_m"].changed_by_recipe and rec["lateral_m"].cite() == "消防水源保护范围道路两侧宽度：40 m（recipe）"
    assert not rec["pool_reach_m"].changed_by_recipe
    # the same in a dict parameter of the network, and in a method number
    net = _by_key(NetworkParams(default_width_m={"村道": 4.0}, speed_kmh={"乡道": 25}, narrow_speed_factor=0.5).in_force())
    assert net["default_width_m.村道"].changed_by_recipe and net["default_width_m.村道"].rule == "road_width_village_m"
    assert not net["default_width_m.乡道"].changed_by_recipe and net["default_width_m.乡道"].value == 4.5
    assert net["speed_kmh.乡道"].changed_by_recipe and net["speed_kmh.乡道"].default == 30.0
    assert net["speed_kmh.城市道路"].rule == "truck_speed_urban_kmh" and net["speed_kmh.城市道路"].confidence == "M"
    assert net["narrow_speed_factor"].changed_by_recipe and net["narrow_speed_factor"].source == "recipe"
    assert not net["steep_from_pct"].changed_by_recipe and net["steep_from_pct"].source == "method choice"


def test_text_lists_only_the_assumptions_by_default():
    recs = rules.in_force(HelicopterParams())
    txt = rules.text(recs)
    assert "吊桶取水水面面积 2000 m2（A）" in txt and "进近方向数 16（A）" in txt
    assert "直升机停机坪坡度" not in txt  # V2: a rule, not an assumption
    assert "直升机停机坪坡度 5 deg（V2）" in rules.text(recs, assumptions_only=False)


def _rule_keys_named_in(cls) -> set[str]:
    """Every RULES key written as a string in the class's source (defaults, properties, checks)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in rules.RULES}


def _params_classes():
    out = [(name, spec.params, spec.in_force) for name, spec in sorted(SPECS.items())]
    out.append(("network", NetworkParams, lambda p: p.in_force()))
    return out


@pytest.mark.parametrize("name,cls,in_force", _params_classes(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_parameter_that_comes_from_a_rule_is_in_force(name, cls, in_force):
    p = cls()
    recs = in_force(p)
    rule_keys = {r.rule for r in recs if r.rule}
    if cls is MicroParams:  # the lane speed is the rule of the mode
        rule_keys |= {r.rule for r in in_force(MicroParams(mode="cart")) if r.rule}
    missing = _rule_keys_named_in(cls) - rule_keys
    assert not missing, f"{name}: rules used by {cls.__name__} but not reported in force: {sorted(missing)}"
    # every default is the rule's value, reported unchanged with the rule's source and confidence
    for r in recs:
        if r.rule:
            rule = rules.rule(r.rule)
            assert r.value == rule.value and not r.changed_by_recipe, (name, r.key)
            assert (r.source, r.confidence, r.text_zh, r.unit) == (rule.source, rule.confidence, rule.text_zh,
                                                                  rule.unit)
        else:
            assert r.source == "method choice" and r.confidence == "A" and r.is_assumption
    assert len({r.key for r in recs}) == len(recs)
    # a field made with rules.param always appears
    for f in dataclasses.fields(cls):
        if "rule" in f.metadata:
            assert f.name in {r.key for r in recs}, (name, f.name)
    json.dumps([r.as_dict() for r in recs], allow_nan=False)  # summary.json and attrs take them as they are


def test_no_params_class_takes_a_rule_value_without_saying_so():
    """A default written as rules.value(...) would hide the rule from the outputs: use rules.param."""
    for name, cls, _ in _params_classes():
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        body = tree.body[0].body
        for node in body:
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                src = ast.unparse(node.value)
                assert "rules.value" not in src and "RULES[" not in src and "_rule(" not in src, (name, src)


def test_every_result_frame_carries_the_rules_in_force(tmp_path):
    """The pipeline stamps attrs["assumptions"] and writes the same records to summary.json."""
    import geopandas as gpd

    import kzgis
    from kzgis.demo import tiny_world

    w = tiny_world()
    res = kzgis.water(w["roads"], w["settlements"], hydrants=w["hydrants"], fire_pools=w["fire_pools"],
                      hydrant_reach_m=120)
    for key, frame in res.items():
        if key == "network_issues":
            continue
        recs = {a["key"]: a for a in frame.attrs["assumptions"]}
        assert recs["hydrant_reach_m"]["changed_by_recipe"] and recs["hydrant_reach_m"]["value"] == 120.0, key
        assert recs["pool_reach_m"]["source"] == "GB 50974-2014 6.1.5", key
    paths = {}
    for kind in ("roads", "settlements", "stations"):
        paths[kind] = tmp_path / f"{kind}.gpkg"
        gpd.GeoDataFrame(w[kind]).to_file(paths[kind])
    rec = {"name": "t", "layers": {k: str(v) for k, v in paths.items()},
           "analyses": {"access": {"upgrade_width_m": 5}}, "network": {"small_width_m": 2.5},
           "outputs": {"dir": str(tmp_path / "out"), "maps": False, "report": False}}
    run = kzgis.run(rec, quiet=True)
    summary = json.loads((run.out_dir / "summary.json").read_text(encoding="utf-8"))
    acc = {a["key"]: a for a in summary["rules_in_force"]["access"]}
    assert acc["upgrade_width_m"]["changed_by_recipe"] and acc["upgrade_width_m"]["default"] == 4.0
    assert acc["dead_end_max_m"]["rule"] == "dead_end_turnaround_m" and not acc["dead_end_max_m"]["changed_by_recipe"]
    net = {a["key"]: a for a in summary["rules_in_force"]["network"]}
    assert net["small_width_m"]["changed_by_recipe"] and net["small_width_m"]["value"] == 2.5
    assert run.results["access_roads"].attrs["assumptions"] == summary["rules_in_force"]["access"]


def test_the_report_states_the_values_the_run_used():
    """Builder.rule_value(key, used_by) gives the analysis's value in force; without used_by the rule's own."""
    from types import SimpleNamespace

    from kzgis.report._data import RunData
    from kzgis.report._model import Builder

    recipe = SimpleNamespace(analyses={"helicopter": HelicopterParams(dip_radius_km=8.0), "water": WaterParams()},
                             network=NetworkParams(small_width_m=2.5))
    run = RunData(SimpleNamespace(layers=SimpleNamespace(crs=None)), {}, recipe)
    values = run.rule_values()
    assert values["helicopter"]["dip_radius_km"] == 8.0 and values["water"]["hydrant_radius_m"] == 150.0
    b = Builder("t", "s", [], rule_values=values)
    assert b.rule_value("dip_radius_km", "helicopter") == "8公里"
    assert b.rule_value("dip_radius_km") == "10公里"  # the rule itself (a norm or the default)
    assert b.rule_value("small_truck_width_m", "network") == "2.5米"
    assert b.rule_value("hydrant_spacing_m", "water") == "120米"
    assert b.rule_value("dip_radius_km", "monitoring") == "10公里"  # not run: the rule's value
    assert "dip_radius_km" in b.cited


def test_kzgis_analyses_names_each_parameters_rule(capsys):
    from kzgis import cli

    assert cli.main(["analyses", "water"]) == 0
    out = capsys.readouterr().out
    assert "    hydrant_reach_m = 150.0  [rule hydrant_radius_m: GB 50974-2014 7.2.5; V2]" in out
    assert "    lateral_m = 60.0  [rule water_lateral_m: assumption: buildings this far" in out
    assert "    unknown_lift_usable = False\n" in out  # not a number of a rule
