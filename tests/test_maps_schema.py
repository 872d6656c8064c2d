"""The maps and QGIS styles render result layers from the result schema (issue 16 §3).

A declared result layer takes its title, group and popup labels from :mod:`kzgis.schema`; one
without a hand style is drawn by ``styles.default_rule`` from its column kinds. The toy layers
here are declared only in the schema (and their analysis registered) for the length of a test.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box
from test_maps import E0, N0, _extract_cfg, _gdf, make_fixture

from kzgis import analysis, schema
from kzgis.maps import MapOptions, styles, write_maps

Column, ResultLayer = schema.Column, schema.ResultLayer

TOY_POINTS = ResultLayer(
    "toy_hydrant_checks", "toy_inspection", "Point", "消火栓巡检结果", "Toy: hydrants inspected (tests only).",
    (Column("name", "str", "", "名称"), Column("inspected", "bool", "", "已巡检"),
     Column("pressure_mpa", "float", "MPa", "水压"), Column("wait_min", "float", "min", "等待时间（分钟）"),
     Column("within_{n}", "bool", "", "{n}分钟内到场"), Column("crew", "str", "", "巡检班组")))
TOY_LINES = ResultLayer(
    "toy_patrol_routes", "toy_inspection", "LineString", "巡检路线", "Toy: patrol routes (tests only).",
    (Column("route", "str", "", "路线"), Column("length_m", "float", "m", "长度（米）"),
     Column("time_min", "float", "min", "用时（分钟）")))
TOY_AREAS = ResultLayer(
    "toy_patrol_areas", "toy_inspection", "Polygon", "巡检片区", "Toy: patrol areas (tests only).",
    (Column("area_name", "str", "", "片区"), Column("level", "str", "", "风险等级"),
     Column("area_km2", "float", "km2", "面积（平方公里）")), style_by="level")


@dataclass(frozen=True)
class _ToyParams:
    pass


@contextlib.contextmanager
def declared(*layers: ResultLayer, name: str = "toy_inspection", title_zh: str = "消火栓巡检"):
    """Declare ``layers`` and register their (empty) analysis; both are removed on exit."""
    analysis.load_all()  # the real analyses first, so nothing re-imports while the toy is declared
    assert name not in analysis.REGISTRY and not any(lay.name in schema.LAYERS for lay in layers)
    schema.declare(*layers)
    analysis.register(name, title_zh=title_zh, params=_ToyParams, results=tuple(lay.name for lay in layers))(
        lambda ctx, params: {})
    try:
        yield
    finally:
        for lay in layers:
            schema.LAYERS.pop(lay.name, None)
        analysis.REGISTRY.pop(name, None)


def toy_results():
    """Frames of the three toy layers (inside the map fixture's district)."""
    pts = _gdf({"name": ["一号栓", "二号栓", "三号栓"], "inspected": [True, False, True],
                "pressure_mpa": [0.35, 0.1, np.nan], "wait_min": [4.0, 12.0, 40.0],
                "within_7_5": [True, False, False], "crew": ["甲", "乙", "甲"]},
               [Point(E0 - 3500, N0 + 900), Point(E0 - 2500, N0 - 1500), Point(E0 + 2000, N0 + 300)])
    lines = _gdf({"route": ["东线", "西线"], "length_m": [1200.0, 800.0], "time_min": [8.0, 22.0]},
                 [LineString([(E0 - 3000, N0 - 800), (E0 - 1000, N0 - 600)]),
                  LineString([(E0 + 1000, N0 - 800), (E0 + 2500, N0 - 300)])])
    areas = _gdf({"area_name": ["北片", "南片", "西片"], "level": ["high", "low", "high"],
                  "area_km2": [3.0, 2.5, 1.0]},
                 [box(E0 - 5000, N0 + 2000, E0 - 3000, N0 + 4000), box(E0 - 5000, N0 - 4000, E0 - 3000, N0 - 2000),
                  box(E0 - 2500, N0 + 2000, E0 - 1000, N0 + 3500)])
    return {"toy_hydrant_checks": pts, "toy_patrol_routes": lines, "toy_patrol_areas": areas}


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


# ------------------------------------------------------------------------------------------------
# hand styles of declared layers: only what is special


def test_declared_layers_take_title_group_and_labels_from_the_schema():
    analysis.load_all()
    checked = 0
    for name, hand in styles.LAYER_STYLES.items():
        lay = schema.LAYERS.get(name)
        if lay is None:
            continue
        checked += 1
        assert "title" not in hand and "group" not in hand, name
        assert all(isinstance(f, str) for f in hand.get("fields", [])), name  # names, no labels
        labels = {c.label_zh for c in lay.columns}
        repeated = labels & set(_strings(hand))
        assert not repeated, (name, repeated)  # no schema label written again by hand
        rule = styles.rule_for(name)
        assert rule["title"] == lay.title_zh and rule["group"] == styles.analysis_group(lay.analysis)
        for col, label in styles.popup_fields(name, rule, [c.name for c in lay.columns]):
            declared = lay.column(col)
            assert label.startswith(declared.label_zh) or not re.search(r"[\u4e00-\u9fff]", declared.label_zh)
            assert re.search(r"[\u4e00-\u9fff]", label), (name, col, label)
    assert checked >= 30


def test_derived_layer_keeps_its_title_and_takes_the_labels_of_its_source():
    rule = styles.rule_for("response_settlements_standard")
    assert rule["title"] == "居民点到场时间（标准消防车）" and rule["group"] == "response"
    fields = dict(styles.popup_fields("response_settlements_standard", rule,
                                      ["name", "time_min_standard", "time_min", "vehicle_class"]))
    assert fields["time_min_standard"] == schema.label_zh("response_settlements", "time_min_standard")
    assert fields["time_min"] == "可达最优车型到场时间（分钟）"  # what is special there, by hand


def test_pattern_columns_are_labelled_with_their_placeholder_filled():
    analysis.load_all()
    assert styles.field_label("response_settlements", "within_7_5") == "7.5分钟内到场"
    assert styles.field_label("response_settlements", "within_15") == "15分钟内到场"
    assert styles.field_label("response_siting", "covered_population") == "选址后覆盖人口"
    assert styles.field_label("response_siting", "pre_covered_settlements") == "现状队站覆盖居民点数"
    assert styles.field_label("response_isochrones", "road_m") == "可达道路（米）"  # per layer
    assert styles.field_label("heli_pads", "road_m") == "距道路（米）"
    assert styles.field_label(None, "population") == "人口"  # undeclared: the shared labels
    rule = styles.rule_for("response_settlements")
    shown = styles.popup_fields("response_settlements", {**rule, "fields": ["name", "within_{n}"]},
                                ["name", "within_5", "within_7_5", "time_min"])
    assert shown == [("name", "名称"), ("within_5", "5分钟内到场"), ("within_7_5", "7.5分钟内到场")]


# ------------------------------------------------------------------------------------------------
# default style of a declared layer without a hand style


def test_toy_point_layer_default_rule_bool_classes_and_labelled_popup():
    frame = toy_results()["toy_hydrant_checks"]
    with declared(TOY_POINTS):
        assert "toy_hydrant_checks" not in styles.LAYER_STYLES
        rule = styles.rule_for("toy_hydrant_checks", frame)
        assert rule["title"] == "消火栓巡检结果" and rule["group"] == "toy_inspection"
        assert styles.group_titles(["toy_inspection"])["toy_inspection"] == "消火栓巡检"
        assert "toy_inspection" not in styles.group_titles()  # only for the groups a map draws
        assert rule["by"] == "inspected"  # the first bool column
        c = styles.classify("toy_hydrant_checks", frame, "point", rule=rule)
        assert [lab for lab, _ in c.legend] == ["已巡检：是", "已巡检：否"]
        assert c.index[0] == c.index[2] != c.index[1]
        assert all(s["radius"] > 0 and s["fill"] for s in c.styles)
        fields = styles.popup_fields("toy_hydrant_checks", rule, frame.columns)
        assert fields == [("name", "名称"), ("inspected", "已巡检"), ("pressure_mpa", "水压（MPa）"),
                          ("wait_min", "等待时间（分钟）"), ("within_7_5", "7.5分钟内到场"), ("crew", "巡检班组")]
        props = {"name": "一号栓", "inspected": True}
        assert styles.tooltip_text(rule, props, fields) == "一号栓 · 已巡检：是"
    assert "toy_hydrant_checks" not in schema.LAYERS and "toy_inspection" not in analysis.REGISTRY
    assert styles.rule_for("toy_hydrant_checks")["title"] == "toy_hydrant_checks"  # gone: the plain default


def test_toy_line_layer_minutes_use_the_time_classes_of_the_other_maps():
    frame = toy_results()["toy_patrol_routes"]
    with declared(TOY_LINES):
        rule = styles.rule_for("toy_patrol_routes", frame)
        assert rule["by"] == "time_min" and rule["bins"] == styles.TIME_BINS
        c = styles.classify("toy_patrol_routes", frame, "line", rule=rule)
        assert [lab for lab, _ in c.legend] == ["5–10 分钟", "20–30 分钟"]
        assert all(s["fill"] is False for s in c.styles)
        assert styles.tooltip_text(rule, {"route": "东线", "time_min": 8.0},
                                   styles.popup_fields("toy_patrol_routes", rule, frame.columns)) == "东线 · 用时 8分钟"


def test_graded_classes_for_other_units_cover_every_value():
    vals = np.array([0.2, 0.5, 1.0, 2.0, 3.0, 8.0, 9.5, 40.0, np.nan])
    bins = styles._graded_bins(vals, "km2")
    uppers = [u for u, _, _ in bins]
    assert uppers == sorted(uppers) and uppers[-1] == math.inf and len(bins) <= 5
    assert bins[0][1].startswith("≤") and bins[0][1].endswith("平方公里") and bins[-1][1].startswith(">")
    # every finite value falls in exactly one class
    lower = -math.inf
    counts = []
    for upper, _, _ in bins:
        counts.append(int(((vals > lower) & (vals <= upper)).sum()))
        lower = upper
    assert sum(counts) == 8 and all(counts)
    assert styles._graded_bins(np.array([3.0, 3.0]), "m") == [(math.inf, "3米", styles.GRADED_RAMP[-1])]


def test_style_by_hint_and_value_translations():
    frame = toy_results()["toy_patrol_areas"]
    with declared(TOY_AREAS):
        rule = styles.rule_for("toy_patrol_areas", frame)
        assert rule["by"] == "level" and "palette" in rule  # the hint wins over the km2 column
        c = styles.classify("toy_patrol_areas", frame, "polygon", rule=rule)
        assert sorted(lab for lab, _ in c.legend) == ["high", "low"]
        assert c.index[0] == c.index[2] != c.index[1]


def test_toy_layers_on_the_map_with_title_group_legend_and_labelled_popups(tmp_path):
    layers, results = make_fixture()
    with declared(TOY_POINTS, TOY_LINES, TOY_AREAS):
        paths = write_maps(layers, {**results, **toy_results()}, tmp_path,
                           MapOptions(townships=False, hillshade=False))
    html = paths[1].read_text(encoding="utf-8")
    specs = {}
    for m in re.finditer(r'(\{"key":"(toy_\w+)".*?\})\)', html):
        specs[m.group(2)] = json.loads(m.group(1))
    assert set(specs) == {"toy_hydrant_checks", "toy_patrol_routes", "toy_patrol_areas"}
    pts = specs["toy_hydrant_checks"]
    assert pts["name"] == "消火栓巡检结果" and pts["group"] == "toy_inspection"
    assert pts["fields"] == ["名称", "已巡检", "水压（MPa）", "等待时间（分钟）", "7.5分钟内到场", "巡检班组"]
    assert specs["toy_patrol_routes"]["name"] == "巡检路线" and "用时（分钟）" in specs["toy_patrol_routes"]["fields"]
    assert _extract_cfg(html)["groups"]["toy_inspection"] == "消火栓巡检"
    for text in ("已巡检：是", "已巡检：否", "5–10 分钟", "20–30 分钟", "巡检片区"):
        assert text in html, text
    # the group of the new analysis comes after the known analyses and before the input layers
    keys = re.findall(r'\{"key":"(\w+)","name"', html)
    assert keys.index("heli_pads") < keys.index("toy_hydrant_checks") < keys.index("settlements")


# ------------------------------------------------------------------------------------------------
# QGIS styles


def test_qml_of_a_toy_layer_has_schema_aliases_and_the_map_classes():
    from kzgis.qgis_styles import layer_rules, qml

    frame = toy_results()["toy_hydrant_checks"]
    with declared(TOY_POINTS):
        rules = layer_rules("toy_hydrant_checks", frame, "point")
        assert [(r[0], r[1]) for r in rules] == [('"inspected" = 1', "已巡检：是"), ('"inspected" = 0', "已巡检：否")]
        doc = ET.fromstring(qml("toy_hydrant_checks", frame, "point").split("\n", 1)[1])
    aliases = {a.get("field"): a.get("name") for a in doc.iter("alias")}
    assert aliases["pressure_mpa"] == "水压（MPa）" and aliases["within_7_5"] == "7.5分钟内到场"


def test_qml_aliases_of_declared_layers_are_the_schema_labels():
    from kzgis.qgis_styles import qml

    analysis.load_all()
    iso = _gdf({"station": ["甲"], "road_m": [1200.0], "break_min": [5.0], "ring": ["0-5"]},
               [Point(E0, N0).buffer(100)])
    doc = ET.fromstring(qml("response_isochrones", iso, "polygon").split("\n", 1)[1])
    aliases = {a.get("field"): a.get("name") for a in doc.iter("alias")}
    assert aliases["road_m"] == "可达道路（米）" == schema.label_zh("response_isochrones", "road_m")


@pytest.mark.parametrize("name", ["access_roads", "water_coverage", "monitor_blind_spots"])
def test_qgis_titles_are_the_schema_titles(name):
    from kzgis.qgis_styles import algorithms

    analysis.load_all()
    titles = {r: t for a in algorithms() for r, t in a["results"].items()}
    assert titles[name] == schema.LAYERS[name].title_zh


def _frame_for(lay, n=4):
    """A small frame with every declared column of ``lay`` (pattern columns as one member)."""
    import pandas as pd

    rng = np.random.default_rng(7)
    data = {}
    for c in lay.columns:
        name = c.name.replace("{n}", "15").replace("{what}", "population")
        if c.kind == "bool":
            data[name] = [bool(i % 2) for i in range(n)]
        elif c.kind == "int":
            data[name] = list(range(n))
        elif c.kind == "float":
            data[name] = list(rng.uniform(0, 50, n).round(2))
        else:
            data[name] = [f"v{i % 2}" for i in range(n)]
    geoms = {"Point": [Point(E0 + i * 100, N0) for i in range(n)],
             "LineString": [LineString([(E0, N0 + i * 100), (E0 + 500, N0 + i * 100)]) for i in range(n)],
             "Polygon": [box(E0 + i * 100, N0, E0 + i * 100 + 50, N0 + 50) for i in range(n)]}[lay.geometry]
    return _gdf(pd.DataFrame(data).to_dict("list"), geoms)


def test_default_style_of_every_declared_layer_draws_and_labels_it():
    """Had no declared layer a hand style, each would still get a title, a legend and labelled popups."""
    from kzgis.qgis_styles import layer_rules

    analysis.load_all()
    kinds = {"Point": "point", "LineString": "line", "Polygon": "polygon"}
    for lay in [lay for lay in schema.LAYERS.values() if lay.geometry]:
        frame = _frame_for(lay)
        rule = styles.default_rule(lay, frame)
        assert rule["title"] == lay.title_zh and rule["group"] == styles.analysis_group(lay.analysis)
        c = styles.classify(lay.name, frame, kinds[lay.geometry], rule=rule)
        assert c.legend and len(c.index) == len(frame) and all(0 <= i < len(c.styles) for i in c.index)
        assert all(re.search(r"[\u4e00-\u9fff]", lab) for lab, _ in c.legend), (lay.name, c.legend)
        fields = styles.popup_fields(lay.name, rule, frame.columns)
        assert [col for col, _ in fields] == [col for col in frame.columns if col != "geometry"]
        assert all(re.search(r"[\u4e00-\u9fff]", lab) for _, lab in fields), (lay.name, fields)
        assert styles.tooltip_text(rule, frame.iloc[0].to_dict(), fields)
        assert layer_rules(lay.name, frame, kinds[lay.geometry])  # the QML follows the same rule


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60), st.sampled_from(["m", "km2", "%"]))
def test_graded_classes_are_increasing_and_hold_each_value_once(values, unit):
    bins = styles._graded_bins(np.array(values), unit)
    uppers = [u for u, _, _ in bins]
    assert uppers == sorted(set(uppers)) and uppers[-1] == math.inf and 1 <= len(bins) <= 5
    lower = -math.inf
    seen = np.zeros(len(values), dtype=int)
    for upper, label, colour in bins:
        seen += (np.array(values) > lower) & (np.array(values) <= upper)
        assert re.fullmatch(r"#[0-9a-f]{6}", colour) and label
        lower = upper
    assert (seen == 1).all()


def test_default_class_column_tells_features_apart():
    lay = ResultLayer("toy_sites", "toy_inspection", "Point", "巡检点", "Toy (tests only).",
                      (Column("snapped", "bool", "", "已接入路网"), Column("lon", "float", "deg", "经度"),
                       Column("kind", "str", "", "类型"), Column("walk_m", "float", "m", "步行距离（米）")))
    frame = _gdf({"snapped": [True, True, True], "lon": [108.1, 108.2, 108.3], "kind": ["a", "b", "a"],
                  "walk_m": [0.0, 0.0, 0.0]}, [Point(E0 + i, N0) for i in range(3)])
    assert styles.default_rule(lay, frame)["by"] == "kind"  # all snapped, no walk; never by longitude
    assert styles.default_rule(lay, frame.assign(walk_m=[0.0, 50.0, 400.0]))["by"] == "walk_m"
    assert styles.default_rule(lay, frame.assign(kind=["a"] * 3))["by"] == "snapped"  # nothing varies
    assert styles.default_rule(lay)["by"] == "snapped"  # without data: by kinds alone
