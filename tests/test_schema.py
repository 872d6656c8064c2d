"""One result schema (issue 16 §3): declared result layers match what the analyses return."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

import kzgis
from kzgis import analysis, schema
from kzgis.cli import main
from kzgis.demo import tiny_world


@pytest.fixture(scope="module")
def access_results():
    w = tiny_world()
    return kzgis.access(w["roads"], w["settlements"], w["stations"], dem=w["dem"],
                        layers={"boundary": w["boundary"]})


def test_declared_layers_belong_to_their_analysis():
    reg = analysis.load_all()
    assert schema.for_analysis("access")
    for lay in schema.LAYERS.values():
        assert lay.name in reg[lay.analysis].results, lay.name


def test_access_results_conform_to_the_schema(access_results):
    for lay in schema.for_analysis("access"):
        assert lay.name in access_results
        assert schema.check(lay.name, access_results[lay.name]) == []


def test_check_names_undeclared_missing_and_mistyped_columns(access_results):
    frame = access_results["access_settlements"].copy()
    frame["extra_m"] = 1.0
    frame = frame.drop(columns="best_vehicle")
    frame["population"] = frame["population"].astype(str)
    problems = schema.check("access_settlements", frame)
    assert "access_settlements: column 'extra_m' is not declared (add it to kzgis/schema.py)" in problems
    assert "access_settlements: declared column 'best_vehicle' is missing" in problems
    assert any("'population' is" in p and "declared float" in p for p in problems)
    table = pd.DataFrame(access_results["access_towns"])
    assert schema.check("access_towns", gpd.GeoDataFrame(table, geometry=[None] * len(table))) != []


def test_units_match_the_column_names():
    for lay in schema.LAYERS.values():
        for c in lay.columns:
            if c.name.endswith("_m") or "_m_" in c.name:
                assert c.unit == "m", (lay.name, c.name)
            if c.name.endswith("_min") or "_min_" in c.name:
                assert c.unit == "min", (lay.name, c.name)
            if c.name.endswith("_pct"):
                assert c.unit == "%", (lay.name, c.name)


def test_cli_prints_the_schema(capsys):
    assert main(["analyses", "access"]) == 0
    out = capsys.readouterr().out
    assert "result schema:" in out and "bottleneck_width_m" in out and "瓶颈路段宽度（米）" in out
    assert main(["analyses", "response"]) == 0
    out = capsys.readouterr().out
    assert "within_{n}" in out and "{n}分钟内到场" in out and "one column per time break" in out


def test_tables_xlsx_headers_come_from_the_schema(access_results, tmp_path, monkeypatch):
    """A label declared for one layer only is what tables.xlsx shows for that layer's sheet."""
    import dataclasses

    import openpyxl

    from kzgis import pipeline

    lay = schema.LAYERS["access_towns"]
    cols = tuple(dataclasses.replace(c, label_zh="测试标签") if c.name == "settlements" else c for c in lay.columns)
    monkeypatch.setitem(schema.LAYERS, "access_towns", dataclasses.replace(lay, columns=cols))
    pipeline.write_tables({"access_towns": access_results["access_towns"],
                           "access_dead_ends": access_results["access_dead_ends"]}, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx", read_only=True)
    towns = [c.value for c in next(wb["access_towns"].iter_rows(max_row=1))]
    dead = [c.value for c in next(wb["access_dead_ends"].iter_rows(max_row=1))]
    assert "测试标签" in towns and "居民点数" in dead and "测试标签" not in dead
