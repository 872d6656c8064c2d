"""``kzgis compare``: two runs of a tiny world that differ by one station (issue 18 §2)."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import openpyxl
import pytest
from _build import CRS, L, P

from kzgis import cli
from kzgis.compare import CompareError, compare, direction, find_key


def _world(folder, dx=0.0):
    folder.mkdir(parents=True, exist_ok=True)
    roads = gpd.GeoDataFrame({"width_m": [6.0, 6.0, 3.5, 6.0]},
                             geometry=[L((dx, 0), (dx + 3000, 0)), L((dx + 3000, 0), (dx + 6000, 0)),
                                       L((dx + 3000, 0), (dx + 3000, 2000)), L((dx + 6000, 0), (dx + 12000, 0))],
                             crs=CRS)
    roads.to_file(folder / "roads.gpkg")
    gpd.GeoDataFrame({"name": ["甲村", "乙村", "丙村"], "town": ["温泉镇"] * 3, "population": [300, 200, 100]},
                     geometry=[P(dx + 2900, 10), P(dx + 3000, 1990), P(dx + 11900, 5)], crs=CRS).to_file(
        folder / "settlements.gpkg")
    gpd.GeoDataFrame({"name": ["温泉专职队"], "status": ["existing"]}, geometry=[P(dx, 0)], crs=CRS).to_file(
        folder / "stations_a.gpkg")
    gpd.GeoDataFrame({"name": ["温泉专职队", "新站"], "status": ["existing", "existing"]},
                     geometry=[P(dx, 0), P(dx + 11000, 0)], crs=CRS).to_file(folder / "stations_b.gpkg")
    gpd.GeoDataFrame({"status": ["existing"]}, geometry=[P(dx + 2950, 5)], crs=CRS).to_file(folder / "hydrants.gpkg")


def _run(data, stations, out, water=None):
    from kzgis.api import run

    rec = {"name": f"tiny-{stations}", "layers": {
        "roads": str(data / "roads.gpkg"), "settlements": str(data / "settlements.gpkg"),
        "stations": str(data / f"stations_{stations}.gpkg"), "hydrants": str(data / "hydrants.gpkg")},
        "analyses": {"access": {}, "response": {}, "water": water or {}}, "outputs": {"maps": False, "report": False}}
    return run(rec, out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    _world(base / "data")
    _run(base / "data", "a", base / "run_a")
    _run(base / "data", "b", base / "run_b")
    return base


def test_changed_rows_are_exactly_those_the_new_station_reaches(runs, tmp_path):
    res = compare(runs / "run_a", runs / "run_b", tmp_path / "cmp")
    rs = res.layer("response_settlements")
    assert rs.key == ("name", "town")
    t = rs.table.set_index("name")
    # 丙村 (11.9 km from the old station, 0.9 km from the new one) now within 15 minutes;
    # 甲村 and 乙村 (on a 3.5 m lane: shown by its best vehicle, the small truck) only gain a second station
    assert set(t.index) == {"甲村", "乙村", "丙村"}
    assert t.loc["乙村", "changed_columns"] == "station_2, time_min_2"
    assert t.loc["丙村", "change"] == "improved"
    assert (t.loc["丙村", "within_15_before"], t.loc["丙村", "within_15_after"]) == (False, True)
    assert (t.loc["丙村", "station_before"], t.loc["丙村", "station_after"]) == ("温泉专职队", "新站")
    assert t.loc["丙村", "time_min_change"] < -30
    assert "within_15" not in t.loc["甲村", "changed_columns"]
    assert res.layer("response_radii").added == 1
    assert res.layer("water_settlements").changed == 0  # the station changes nothing about water
    assert res.sentences == ["新增消防站1处后，15分钟到场的居民点由1处增至2处（+100人），"
                             "标准消防车可达的居民点仍为2处，消防水源覆盖的居民点仍为1处。"]


def test_outputs_xlsx_gpkg_html_summary(runs, tmp_path):
    compare(runs / "run_a", runs / "run_b", tmp_path / "cmp")
    out = tmp_path / "cmp"
    wb = openpyxl.load_workbook(out / "compare.xlsx")
    assert wb.sheetnames[0] == "总览"
    ws = wb["response_settlements"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["名称", "乡镇（街道）", "变化", "变化字段"]
    assert {"15分钟内到场（前）", "15分钟内到场（后）", "到场时间（分钟）（变化）"} <= set(header)
    assert ws.max_row == 4  # header + 甲村 + 乙村 + 丙村
    ch = gpd.read_file(out / "changes.gpkg", layer="response_settlements")
    assert sorted(ch["name"]) == ["丙村", "乙村", "甲村"] and ch.crs.to_epsg() == 4545
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))  # strict JSON
    assert summary["summary_zh"].startswith("新增消防站1处后")
    assert summary["layers"]["response_settlements"]["improved"] == 3
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert "新增消防站1处后" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert (out / ".kzgis-output").exists()


def test_same_run_twice_changes_nothing(runs):
    res = compare(runs / "run_a", runs / "run_a")
    assert all(d.changed == d.added == d.removed == 0 for d in res.diffs)
    assert res.rules_changed == []


def test_rules_changed_between_the_runs_are_named(runs, tmp_path):
    """A difference that comes from a changed rule value says so (summary.json rules_in_force of both)."""
    _run(runs / "data", "a", tmp_path / "run_c", water={"hydrant_reach_m": 120, "lateral_m": 40})
    res = compare(runs / "run_a", tmp_path / "run_c", tmp_path / "cmp")
    assert [(c["analysis"], c["key"], c["before"], c["after"]) for c in res.rules_changed] == [
        ("water", "hydrant_reach_m", 150.0, 120.0), ("water", "lateral_m", 60.0, 40.0)]
    assert res.sentences[-1] == ("两次计算采用的规则取值不同（室外消火栓保护半径150 m→120 m；"
                                 "消防水源保护范围道路两侧宽度60 m→40 m），差别部分来自取值的改变。")
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text(encoding="utf-8"))
    assert summary["rules_changed"] == res.rules_changed and "规则取值不同" in summary["summary_zh"]


def test_refuses_a_folder_that_is_not_a_kzgis_output(runs, tmp_path):
    with pytest.raises(CompareError, match="not a kzgis output folder"):
        compare(runs / "run_a", runs / "data")


def test_refuses_different_crs_and_different_areas(runs, tmp_path):
    other = tmp_path / "other_crs"
    shutil.copytree(runs / "run_b", other)
    s = json.loads((other / "summary.json").read_text(encoding="utf-8"))
    s["crs"] = "EPSG:32648"
    (other / "summary.json").write_text(json.dumps(s), encoding="utf-8")
    with pytest.raises(CompareError, match="different CRSs"):
        compare(runs / "run_a", other)
    _world(tmp_path / "far", dx=80000.0)
    _run(tmp_path / "far", "a", tmp_path / "run_far")
    with pytest.raises(CompareError, match="different study areas"):
        compare(runs / "run_a", tmp_path / "run_far")


def test_cli_compare_and_folder_safety(runs, tmp_path, capsys):
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter1.docx").write_bytes(b"mine")
    assert cli.main(["compare", str(runs / "run_a"), str(runs / "run_b"), "--out", str(user)]) == 2
    assert (user / "chapter1.docx").read_bytes() == b"mine"
    assert "kzgis did not write" in capsys.readouterr().err
    assert cli.main(["compare", str(runs / "run_a"), str(runs / "run_b"), "--out", str(runs / "run_a" / "cmp")]) == 2
    assert cli.main(["compare", str(runs / "run_a"), str(runs / "run_b"), "--out", str(tmp_path / "c")]) == 0
    assert "15分钟到场的居民点由1处增至2处" in capsys.readouterr().out


@pytest.mark.parametrize("col, before, after, expected", [
    ("time_min", 20.0, 10.0, 1), ("time_min", 10.0, 20.0, -1), ("within_15", False, True, 1),
    ("best_vehicle", "small", "standard", 1), ("best_vehicle", "standard", "none", -1),
    ("covered", True, False, -1), ("population_within_15", 100, 50, -1), ("name", "a", "b", 0),
    ("time_min", None, 12.0, 1),
])
def test_direction_of_a_change(col, before, after, expected):
    assert direction(col, before, after) == expected


def test_key_needs_to_be_unique_in_both():
    import pandas as pd

    a = pd.DataFrame({"name": ["x", "x"], "town": ["t1", "t2"], "feature_id": [1, 2]})
    assert find_key(a, a) == ("name", "town")
    b = pd.DataFrame({"name": ["x", "x"], "town": ["t1", "t1"], "feature_id": [1, 2]})
    assert find_key(b, b) == ("feature_id",)
