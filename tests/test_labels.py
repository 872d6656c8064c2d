"""Chinese labels (issue 16 §3): result columns are labelled once, in the result schema."""

from __future__ import annotations

import re
from collections import defaultdict

from kzgis import _labels, analysis, schema
from kzgis._labels import COLUMNS_ZH, header_zh
from kzgis.layers import KINDS

CJK = re.compile(r"[\u4e00-\u9fff]")

#: Columns whose meaning differs by layer, so their label does too (each layer declares its own).
PER_LAYER = {
    "vehicle_class": "the best class reaching a settlement (response) or the class a road or ring is for",
    "distance_m": "a hose-laying distance (water_settlements), a distance to the protected settlement (barrier_edges)",
    "width_m": "a required band width (barrier_edges) or a road width",
    "covered": "within 3 minutes today (micro_communities) or covered by water",
    "covered_after": "within 3 minutes with the new stations (micro_communities) or covered after the suggestions",
    "communities": "communities newly within 3 minutes (micro_suggestions)",
    "rank": "priority (checkpoints), order chosen (monitor_sites), rank within a unit (heli_pads)",
    "road_m": "distance to the road (helicopter pads) or a road length (response, water)",
    "station": "a fire station, or a micro fire station (micro_stations)",
    "nearest_station": "the nearest fire station (access) or micro fire station (micro_stations)",
}


def _declared() -> dict[str, dict[str, str]]:
    """column name -> {layer: label} over every declared result layer."""
    analysis.load_all()
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for lay in schema.LAYERS.values():
        for c in lay.columns:
            out[c.name][lay.name] = c.label_zh
    return out


def test_every_result_column_has_a_chinese_label():
    for name, labels in _declared().items():
        for layer, label in labels.items():
            assert CJK.search(label), f"{layer}.{name}: no Chinese label ({label!r})"
            if "{" in name:  # a family: the label keeps the placeholder (15分钟内到场)
                assert set(re.findall(r"\{(\w+)\}", name)) == set(re.findall(r"\{(\w+)\}", label)), (layer, name)


def test_no_label_is_declared_twice_with_different_text():
    declared = _declared()
    for name, labels in declared.items():
        texts = set(labels.values())
        if name in COLUMNS_ZH:  # an input-layer field that is also a result column: one label
            if name in PER_LAYER:  # ... except where a layer says what its value is more precisely
                assert COLUMNS_ZH[name] in texts, (name, COLUMNS_ZH[name], labels)
            else:
                assert texts == {COLUMNS_ZH[name]}, (name, COLUMNS_ZH[name], labels)
        if name not in PER_LAYER:
            assert len(texts) == 1, f"'{name}' is labelled differently by layer: {labels} (or add it to PER_LAYER)"
        else:
            assert len(texts) > 1, f"'{name}' no longer differs by layer: drop it from PER_LAYER"


def test_columns_zh_keeps_only_input_fields_and_undeclared_columns():
    fields = {f.name for spec in KINDS.values() for f in spec.fields}
    declared = _declared()
    extra = [k for k in COLUMNS_ZH if k in declared and k not in fields]
    assert extra == [], f"result columns labelled in _labels.COLUMNS_ZH as well as the schema: {extra}"


def test_header_zh_reads_the_schema_per_layer():
    assert header_zh("road_m", layer="heli_pads") == "距道路（米）"
    assert header_zh("road_m", layer="water_coverage") == "覆盖道路（米）"
    assert header_zh("nearest_station", layer="micro_communities") == "最近微型消防站"
    assert header_zh("nearest_station", layer="access_settlements") == "最近消防队站"
    assert header_zh("within_20", layer="response_settlements") == "20分钟内到场"
    assert header_zh("population_within_7_5", layer="response_towns") == "7.5分钟内人口"
    # without a layer: an input field's label, else the label most declaring layers give, else the name
    assert header_zh("town") == "乡镇（街道）"
    assert header_zh("bottleneck_width_m") == schema.LAYERS["access_settlements"].column("bottleneck_width_m").label_zh
    assert header_zh("within_15") == "15分钟内到场"
    assert header_zh("station") == "消防队站"  # response's layers, not micro_stations' two
    assert header_zh("no_such_column") == "no_such_column"
    assert header_zh("no_such_column", layer="access_roads") == "no_such_column"


def test_a_label_changed_in_the_schema_is_what_header_zh_shows(monkeypatch):
    import dataclasses

    lay = schema.LAYERS["access_dead_ends"]
    cols = tuple(dataclasses.replace(c, label_zh="测试长度") if c.name == "length_m" else c for c in lay.columns)
    monkeypatch.setitem(schema.LAYERS, "access_dead_ends", dataclasses.replace(lay, columns=cols))
    assert header_zh("length_m", layer="access_dead_ends") == "测试长度"
    assert header_zh("length_m", layer="access_roads") == "长度（米）"
    assert _labels.COLUMNS_ZH.get("length_m") is None
