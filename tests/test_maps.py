"""kzgis.maps: options, style rules, escaping, offline HTML, GCJ-02 display shift, files written.

The fixture is a tiny synthetic district in EPSG:4545 around E 537000 N 3448000 (Kaizhou): two
townships, a few settlements (one named like an XSS probe), roads, stations, water, forest, a DEM,
and one small frame for every result layer the analyses produce. No network.
"""

from __future__ import annotations

import json
import math
import re

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon, box

from kzgis import RecipeError
from kzgis.gcj02 import wgs84_to_gcj02
from kzgis.layers import Layers
from kzgis.maps import MapOptions, _assets, _display, styles, write_maps
from kzgis.terrain import DEM

CRS = "EPSG:4545"
E0, N0 = 537000.0, 3448000.0
XSS = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "</script><script>alert(2)</script>"
GEOD = Geod(ellps="WGS84")


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=list(geoms), crs=CRS)


def make_fixture(synthetic: bool = True):
    """(layers, results) of the tiny district; also used by tests/test_maps_browser.py."""
    L = Layers(CRS)
    src = "开州区示意数据" if synthetic else "开州区规划局 2024"
    L["county"] = _gdf({"name": ["开州区"], "source": [src]}, [box(E0 - 6000, N0 - 5000, E0 + 6000, N0 + 5000)])
    L["boundary"] = _gdf({"town": ["温泉镇", "岳溪镇"], "source": [src, src]},
                         [box(E0 - 6000, N0 - 5000, E0, N0 + 5000), box(E0, N0 - 5000, E0 + 6000, N0 + 5000)])
    L["urban_area"] = _gdf({"name": ["城区"]}, [box(E0 + 3500, N0 - 4500, E0 + 5500, N0 - 2500)])
    L["old_towns"] = _gdf({"name": ["温泉古镇"]}, [box(E0 - 4600, N0 - 300, E0 - 3600, N0 + 700)])
    L["settlements"] = _gdf(
        {"name": [XSS, "石门村", "大坪村", "水口村"], "town": ["温泉镇", "温泉镇", "岳溪镇", "岳溪镇"],
         "population": [500.0, 1200.0, 300.0, 80.0], "source": [src] * 4},
        [Point(E0 - 3000, N0 + 1000), Point(E0 - 2000, N0 - 2000), Point(E0 + 3000, N0), Point(E0 + 4500, N0 + 3500)])
    roads = [LineString([(E0 - 5500, N0), (E0 + 5500, N0 + 500)]),
             LineString([(E0 - 3000, N0 + 1000), (E0 - 2000, N0 - 2000)]),
             LineString([(E0 + 3000, N0), (E0 + 4500, N0 + 3500)])]
    L["roads"] = _gdf({"name": ["X101", "村道一", "村道二"], "width_m": [6.0, 3.2, 1.8]}, roads)
    L["stations"] = _gdf({"name": ["温泉专职消防队", "雪宝山专职消防队"], "short": ["温泉", XSS_SCRIPT],
                          "status": ["existing", "planned"]},
                         [Point(E0 - 4000, N0 + 200), Point(E0 + 4000, N0 + 800)])
    L["hydrants"] = _gdf({"status": ["existing"] * 3},
                         [Point(E0 - 4100, N0 + 100), Point(E0 - 3900, N0 + 350), Point(E0 - 3700, N0 + 200)])
    L["fire_pools"] = _gdf({"volume_m3": [500.0]}, [Point(E0 - 4300, N0 + 500)])
    L["water_bodies"] = _gdf({"name": ["汉丰湖"], "depth_m": [6.0]},
                             [Point(E0 + 1500, N0 - 2500).buffer(700)])
    L["rivers"] = _gdf({"name": ["澎溪河"]}, [LineString([(E0 - 6000, N0 - 3000), (E0 + 1500, N0 - 2500),
                                                         (E0 + 6000, N0 - 1500)])])
    L["forest"] = _gdf({}, [Polygon([(E0 + 500, N0 + 1500), (E0 + 5500, N0 + 1500), (E0 + 5500, N0 + 4500),
                                     (E0 + 500, N0 + 4500)])])
    L["power_lines"] = _gdf({"voltage_kv": [110.0]}, [LineString([(E0 - 6000, N0 + 4000), (E0 + 6000, N0 + 3000)])])
    y, x = np.mgrid[0:130, 0:150]
    z = 300 + 400 * np.sin(x / 15.0) * np.cos(y / 20.0) + y * 3.0
    L["dem"] = DEM(z, affine.Affine(100, 0, E0 - 7500, 0, -100, N0 + 6500), CRS)

    st = Point(E0 - 4000, N0 + 200)
    R = {
        "access_roads": _gdf({"name": ["X101", "村道一", "村道二"], "vehicle_class": ["standard", "small", "motorcycle"],
                              "width_m": [6.0, 3.2, 1.8], "grade_max_pct": [4.0, 9.5, 12.0],
                              "length_m": [11000.0, 3200.0, 3800.0]}, roads),
        "access_settlements": _gdf({"name": [XSS, "石门村", "大坪村", "水口村"],
                                    "best_vehicle": ["standard", "small", "motorcycle", "none"],
                                    "time_min_standard": [4.0, np.nan, np.nan, np.nan]},
                                   list(L["settlements"].geometry)),
        "access_upgrades": _gdf({"rank": [1], "length_m": [3800.0], "population_unlocked": [80.0]}, [roads[2]]),
        "response_isochrones": _gdf({"station": ["温泉专职消防队"] * 3, "vehicle_class": ["standard"] * 3,
                                     "break_min": [5, 10, 15], "ring": [1, 2, 3]},
                                    [st.buffer(1500), st.buffer(3000), st.buffer(4500)]),
        "response_zones": _gdf({"station": ["温泉专职消防队", "雪宝山专职消防队"]},
                               [box(E0 - 6000, N0 - 5000, E0, N0 + 5000), box(E0, N0 - 5000, E0 + 6000, N0 + 5000)]),
        "response_settlements": _gdf({"name": [XSS, "石门村", "大坪村", "水口村"],
                                      "station": ["温泉专职消防队"] * 4, "time_min": [3.0, 8.0, 17.0, np.nan]},
                                     list(L["settlements"].geometry)),
        "water_coverage": _gdf({"source_kind": ["hydrant", "pool"]},
                               [Point(E0 - 4100, N0 + 100).buffer(150), Point(E0 - 4300, N0 + 500).buffer(150)]),
        "water_sources": _gdf({"source_kind": ["hydrant", "natural"], "usable": [True, False],
                               "reason": ["", "吸水高度 7.5 米 > 6 米"]},
                              [Point(E0 - 4100, N0 + 100), Point(E0 + 1000, N0 - 2400)]),
        "water_settlements": _gdf({"name": [XSS, "石门村"], "covered": [True, False], "distance_m": [90.0, 2100.0]},
                                  list(L["settlements"].geometry[:2])),
        "water_suggestions": _gdf({"rank": [1, 2], "source_kind": ["fire_pool", "hydrant"]},
                                  [Point(E0 - 2000, N0 - 1900), Point(E0 + 3000, N0 + 100)]),
        "barrier_bands": _gdf({"barrier_type": ["工程阻隔", "生物阻隔"], "width_m": [200.0, 100.0]},
                              [box(E0 + 500, N0 + 1500, E0 + 5500, N0 + 1700), box(E0 + 500, N0 + 1700, E0 + 700, N0 + 4500)]),
        "checkpoints": _gdf({"kind": ["必经道口", "村口"], "population_behind": [80.0, 300.0],
                             "road_name": ["村道二", "X101"]},
                            [Point(E0 + 3700, N0 + 1500), Point(E0 + 3000, N0 + 100)]),
        "forest_blocks": _gdf({"block_id": [1]}, [box(E0 + 500, N0 + 1500, E0 + 5500, N0 + 4500)]),
        "heli_water_bodies": _gdf({"name": ["汉丰湖"], "area_ok": [True], "depth_ok": [True], "depth_status": ["ok"]},
                                  [Point(E0 + 1500, N0 - 2500).buffer(700)]),
        "heli_dip_sites": _gdf({"name": ["汉丰湖取水点"], "provisional": [False]}, [Point(E0 + 1500, N0 - 2500)]),
        "heli_pads": _gdf({"unit": ["岳溪镇", "岳溪镇"], "rank": [1, 2], "slope_max_deg": [3.2, 4.1]},
                          [box(E0 + 2480, N0 - 1020, E0 + 2520, N0 - 980), box(E0 + 3480, N0 - 2020, E0 + 3520, N0 - 1980)]),
        "new_analysis_layer": _gdf({"foo": ["bar"]}, [Point(E0 + 1000, N0 - 3500)]),
        "summary_table": pd.DataFrame({"a": [1, 2]}),
    }
    return L, R


#: overlays in the layer control of the county map of the fixture: every result and input layer
#: with features (the table is skipped), the township-name labels and the hillshade.
N_RESULTS = 17
N_INPUTS = 13
COUNTY_OVERLAYS = N_RESULTS + N_INPUTS + 2


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    layers, results = make_fixture()
    paths = write_maps(layers, results, out, MapOptions.from_mapping(True), title="开州区")
    return out, paths


def _html(written, name):
    return (written[0] / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# options


def test_options_true_false_none():
    assert MapOptions.from_mapping(True) == MapOptions()
    assert MapOptions.from_mapping(None).offline is True
    assert MapOptions.from_mapping(False).enabled is False


def test_options_mapping_values():
    o = MapOptions.from_mapping({"offline": False, "basemap": "AMAP", "towns": "温泉镇", "margin_m": 500,
                                 "review_number": "渝S(2024)001号", "date": "2024-05-01",
                                 "sources": ["三调", "示意数据"]})
    assert (o.offline, o.basemap, o.towns, o.margin_m) == (False, "amap", ("温泉镇",), 500.0)
    assert o.review_text == "审图号：渝S(2024)001号"
    assert MapOptions().review_text == "审图号：（待审）"
    assert o.sources == "三调；示意数据"


def test_options_unknown_key_suggests():
    with pytest.raises(RecipeError, match=r"unknown key 'ofline'.*did you mean 'offline'"):
        MapOptions.from_mapping({"ofline": True})


def test_options_collects_every_problem_in_one_error():
    with pytest.raises(RecipeError) as exc:
        MapOptions.from_mapping({"basemap": "google", "margin_m": -5, "offline": "yes", "simplfy_m": 3})
    msg = str(exc.value)
    for part in ("'basemap' = 'google' is unknown", "'margin_m' = -5 is outside", "'offline' must be true or false",
                 "unknown key 'simplfy_m'", "did you mean 'simplify_m'"):
        assert part in msg
    assert isinstance(exc.value, ValueError)


def test_options_wrong_type():
    with pytest.raises(RecipeError, match="expected true, false or a mapping"):
        MapOptions.from_mapping("yes")
    with pytest.raises(RecipeError, match="'hillshade_px' must be an integer"):
        MapOptions.from_mapping({"hillshade_px": 10.5})


def test_tianditu_key_from_environment(monkeypatch):
    monkeypatch.setenv("TIANDITU_KEY", "envkey")
    assert MapOptions().resolved_tianditu_key() == "envkey"
    assert MapOptions(tianditu_key="k").resolved_tianditu_key() == "k"


# ------------------------------------------------------------------------------------------------
# style rules


KNOWN_RESULTS = ("access_roads", "access_settlements", "access_upgrades", "response_isochrones", "response_zones",
                 "response_radii", "response_settlements", "water_coverage", "water_sources", "water_settlements",
                 "water_suggestions", "water_spacing_gaps", "barrier_bands", "barrier_edges", "checkpoints",
                 "forest_blocks", "heli_dip_sites", "heli_pads", "heli_water_bodies")


@pytest.mark.parametrize("name", KNOWN_RESULTS + ("county", "boundary", "settlements", "roads", "stations", "hydrants",
                                                  "fire_pools", "water_intakes", "water_bodies", "rivers", "forest",
                                                  "power_lines", "old_towns", "urban_area"))
def test_every_layer_has_a_complete_rule(name):
    rule = styles.rule_for(name)
    assert re.search(r"[\u4e00-\u9fff]", rule["title"])
    style_list = list(rule.get("classes", {}).values()) + ([rule["default"]] if "default" in rule else [])
    if "bins" in rule:
        style_list += [{"color": c} for _, _, c in rule["bins"]]
    assert style_list or "ramp" in rule or "palette" in rule
    for st in style_list:
        assert re.fullmatch(r"#[0-9a-f]{6}", st["color"])
        if "symbol" in st:
            assert st["symbol"] in styles._SYMBOL_SHAPES
    for key, label in rule.get("classes", {}).items():
        assert label.get("label"), f"{name}.{key} has no legend label"
    columns = [f for f in rule.get("fields", []) if isinstance(f, str)] + [f[0] for f in rule.get("fields", [])
                                                                         if isinstance(f, tuple)]
    for col, label in styles.popup_fields(name, rule, columns):
        assert re.search(r"[\u4e00-\u9fff]", label), (col, label)


def test_vehicle_class_colours_and_legend_only_present_classes():
    gdf = _gdf({"vehicle_class": ["standard", "none", "standard", "hovercraft"]},
               [LineString([(0, i), (1, i)]) for i in range(4)])
    c = styles.classify("access_roads", gdf, "line")
    labels = [lab for lab, _ in c.legend]
    assert labels == ["标准消防车可通行（宽≥4米）", "消防车辆不可通行", "道路消防车通行能力"]
    assert c.styles[c.index[0]]["color"] == "#1a9850"
    assert c.styles[c.index[1]]["dashArray"] == "2 4"
    assert c.index[0] == c.index[2]
    assert c.styles[c.index[3]] == c.styles[2]  # unknown value -> the layer's default style
    assert all(s["fill"] is False for s in c.styles)  # lines are never filled


def test_time_bins_and_missing():
    gdf = _gdf({"time_min": [3.0, 5.0, 12.0, 45.0, np.nan]}, [Point(i, 0) for i in range(5)])
    c = styles.classify("response_settlements", gdf, "point")
    got = [c.legend[i][0] for i in c.index]
    # legend lists classes in rule order; each feature points at its own class
    assert [lab for lab, _ in c.legend] == ["≤5 分钟", "10–15 分钟", ">30 分钟", "无法到达"]
    assert got == ["≤5 分钟", "≤5 分钟", "10–15 分钟", ">30 分钟", "无法到达"]
    assert c.styles[c.index[0]]["fillColor"] == "#1a9850"
    assert all("radius" in s for s in c.styles)


def test_settlement_response_colour_by_time_shape_by_best_vehicle_dash_on_foot():
    # issue 13 §7: colour = time of the best vehicle, shape = that vehicle, dashed = walks from the road end
    gdf = _gdf({"time_min": [3.0, 12.0, 12.0, 45.0, np.nan],
                "vehicle_class": ["standard", "small", "motorcycle", "standard", "none"],
                "walk_m": [0.0, 0.0, 0.0, 300.0, np.nan]}, [Point(i, 0) for i in range(5)])
    c = styles.classify("response_settlements", gdf, "point")
    st = [c.styles[i] for i in c.index]
    assert "symbol" not in st[0] and st[0]["fillColor"] == "#1a9850" and "dashArray" not in st[0]
    assert (st[1]["symbol"], st[1]["fillColor"]) == ("square", "#fee08b")
    assert (st[2]["symbol"], st[2]["fillColor"]) == ("triangle", "#fee08b")
    assert st[3]["fillColor"] == "#67001f" and st[3]["dashArray"] == "3 2"
    assert st[4]["fillColor"] == "#000000" and "symbol" not in st[4]  # 无法到达: no vehicle at all
    # a label per style (the county map's cluster tooltips name the styles they aggregate)
    assert len(c.labels) == len(c.styles)
    assert c.labels[c.index[1]] == "10–15 分钟 · 小型消防车到达（方块）"
    assert c.labels[c.index[3]] == ">30 分钟 · 标准消防车到达（圆） · 车辆至路端后步行（虚线框）"
    labels = [lab for lab, _ in c.legend]
    assert labels == ["≤5 分钟", "10–15 分钟", ">30 分钟", "无法到达", "标准消防车到达（圆）", "小型消防车到达（方块）",
                      "消防摩托车到达（三角）", "车辆至路端后步行（虚线框）"]
    # the standard-truck view is its own layer, drawn from the same result
    from kzgis.layers import Layers
    from kzgis.maps._build import collect
    res = gpd.GeoDataFrame({"time_min": [3.0], "time_min_standard": [np.nan], "vehicle_class": ["small"],
                            "walk_m": [0.0]}, geometry=[Point(537000, 3448000)], crs="EPSG:4545")
    keys = [it.key for it in collect(Layers("EPSG:4545"), {"response_settlements": res})]
    assert keys == ["response_settlements", "response_settlements_standard"]
    std = styles.classify("response_settlements_standard", res, "point")
    assert std.legend[0][0].startswith("标准消防车无法到达")


def test_isochrone_ramp_orders_colours_and_draws_big_rings_first():
    gdf = _gdf({"break_min": [10, 5, 15]}, [Point(0, 0).buffer(r) for r in (2, 1, 3)])
    c = styles.classify("response_isochrones", gdf, "polygon")
    assert [lab for lab, _ in c.legend] == ["到场 ≤5 分钟", "到场 ≤10 分钟", "到场 ≤15 分钟"]
    assert c.legend[0][1]["fillColor"] == styles.TIME_RAMP[0] and c.legend[-1][1]["fillColor"] == styles.TIME_RAMP[-1]
    assert list(gdf["break_min"].to_numpy()[c.order]) == [15, 10, 5]


def test_boolean_classes_accept_bools_and_strings():
    gdf = _gdf({"covered": [True, False, "true", "False", None]}, [Point(i, 0) for i in range(5)])
    c = styles.classify("water_settlements", gdf, "point")
    labs = [c.legend[i][0] for i in c.index]
    assert labs[:4] == ["已覆盖", "未覆盖", "已覆盖", "未覆盖"]
    assert styles.format_value(True, "covered", styles.LAYER_STYLES["water_settlements"]) == "是"


def test_palette_for_station_zones_and_checkpoint_symbols():
    gdf = _gdf({"station": ["温泉", "岳溪", "温泉"]}, [box(i, 0, i + 1, 1) for i in range(3)])
    c = styles.classify("response_zones", gdf, "polygon")
    assert [lab for lab, _ in c.legend] == sorted(["温泉", "岳溪"])
    assert c.index[0] == c.index[2] != c.index[1]
    cp = styles.classify("checkpoints", _gdf({"kind": ["必经道口", "mystery", "村口"]}, [Point(i, i) for i in range(3)]),
                    "point")
    assert [lab for lab, _ in cp.legend] == ["进入林区必经道口", "村镇出入口（临林）", "其他卡点"]
    assert all(s["symbol"] == "triangle" for s in cp.styles)


def test_display_frame_rules():
    iso = _gdf({"break_min": [5, 5], "ring": ["disk", "0-5"]}, [Point(0, 0).buffer(1)] * 2)
    assert list(styles.display_frame("response_isochrones", iso)["ring"]) == ["0-5"]  # nested disks not drawn
    wb = _gdf({"area_ok": [True, True, False], "depth_ok": [True, None, True]}, [Point(i, 0).buffer(1) for i in range(3)])
    assert list(styles.display_frame("heli_water_bodies", wb)["passed"]) == [True, True, False]  # unknown depth passes
    pads = _gdf({"rank": [1, 2]}, [box(0, 0, 40, 40), box(100, 0, 140, 40)])
    pts = styles.display_frame("heli_pads", pads)
    assert list(pts.geom_type) == ["Point", "Point"]
    c = styles.classify("heli_pads", pts, "point")
    assert [lab for lab, _ in c.legend] == ["首选起降点（各单元第1）", "备选起降点"]
    assert c.styles[0]["symbol"] == "helipad" and c.styles[0]["fillColor"] == "#ffffff"


def test_unknown_layer_gets_default_rule_and_all_columns():
    gdf = _gdf({"foo": ["x"], "bar_m": [1.5]}, [Point(0, 0)])
    rule = styles.rule_for("brand_new_result")
    assert rule["title"] == "brand_new_result"
    c = styles.classify("brand_new_result", gdf, "point")
    assert c.styles[0]["radius"] > 0 and c.styles[0]["fill"] is True
    assert [col for col, _ in styles.popup_fields("brand_new_result", rule, gdf.columns)] == ["foo", "bar_m"]


def test_settlement_radius_grows_with_population():
    gdf = _gdf({"population": [10.0, 1000.0, np.nan]}, [Point(i, 0) for i in range(3)])
    c = styles.classify("settlements", gdf, "point")
    assert c.radius[0] < c.radius[1] and c.radius[2] == styles.LAYER_STYLES["settlements"]["size_by"][1]


def test_format_value():
    assert styles.format_value(3.0) == "3"
    assert styles.format_value(3.14159) == "3.1"
    assert styles.format_value(0.123) == "0.12"
    assert styles.format_value(1234.5) == "1234"
    assert styles.format_value(np.nan) == ""
    assert styles.format_value(None) == ""
    assert styles.format_value("small", "vehicle_class", styles.LAYER_STYLES["access_roads"]) == "小型消防车"



def test_format_column_is_format_value_of_each_record():
    rule = styles.LAYER_STYLES["water_sources"]
    frame = pd.DataFrame({
        "f": [3.0, 3.14159, 0.123, 1234.5, -0.0, -2.25, 1e15, 2.5e16, 99.95, np.nan, np.inf, -np.inf],
        "i": np.arange(-5, 7, dtype=np.int64),
        "b": [True, False] * 6,
        "usable": [True, False] * 6,  # translated
        "source_kind": ["hydrant", "pool", None, "natural", "x", "hydrant", np.nan, "  true ", "", "水", "x", "pool"],
        "mixed": [1, 2.5, "a", None, [1, 2], ("x",), True, np.float64(7.0), pd.Timestamp("2024-05-01"), pd.NA,
                  np.int64(3), "a"],
        "nullable": pd.array([1, None, 3, 4, 5, 6, 7, 8, 9, 10, 11, None], dtype="Int64"),
        "when": pd.date_range("2024-01-01", periods=12, freq="D"),
    })
    records = frame.to_dict("records")
    for col in frame.columns:
        for r in (rule, None):
            assert styles.format_column(frame[col], col, r) == [styles.format_value(rec[col], col, r) for rec in records], col


def _cut_fixture():
    def at(coords):
        return [(E0 + x, N0 + y) for x, y in coords]

    lines = [LineString(at([(0, 0), (50, 50)])),  # inside
             LineString(at([(50, 50), (200, 50)])),  # crosses the edge
             LineString(at([(300, 300), (400, 300)])),  # outside
             LineString(at([(100, -50), (100, 0), (150, 0)])),  # touches the corner only
             LineString(at([(90, 10), (120, 10), (120, 20), (90, 20)]))]  # in, out and back in
    polys = [box(E0 + 10, N0 + 10, E0 + 20, N0 + 20), box(E0 + 90, N0 + 90, E0 + 150, N0 + 150),
             box(E0 + 100, N0, E0 + 110, N0 + 10), box(E0 + 200, N0 + 200, E0 + 210, N0 + 210)]
    return _gdf({"name": list("abcde")}, lines), _gdf({"name": list("pqrs")}, polys), box(E0, N0, E0 + 100, N0 + 100)


def test_display_layer_cuts_only_what_crosses_the_clip_edge():
    lines, polys, clip = _cut_fixture()
    layer = _display.DisplayLayer("roads", lines)
    v = layer.view(0.0, clip=clip, decimals=9)
    assert layer.attrs["name"].iloc[v.pos].tolist() == ["a", "b", "e"]  # layer order; the point contact is dropped
    assert v.kind == "line"
    got = [shapely.from_geojson(g) for g in v.geojson]
    ref = gpd.clip(lines.iloc[[0, 1, 4]], clip, keep_geom_type=True).to_crs("EPSG:4326")
    for g, r in zip(got, ref.sort_index().geometry):
        assert shapely.hausdorff_distance(g, r) < 1e-8  # the pieces geopandas.clip cuts
    assert shapely.get_num_geometries(got[2]) == 2  # the line leaving and coming back: two pieces, one feature
    pv = _display.DisplayLayer("forest", polys).view(0.0, clip=clip)
    assert pv.layer.attrs["name"].iloc[pv.pos].tolist() == ["p", "q"]  # "r" only shares an edge: not drawn
    whole = _display.DisplayLayer("forest", polys).view(0.0)
    assert len(whole) == 4 and whole.kind == "polygon"


def test_display_layer_views_match_the_whole_layer_inside_the_clip():
    layers, results = make_fixture()
    clip = box(E0 - 6000, N0 - 5000, E0, N0 + 5000).buffer(200)
    shapely.prepare(clip)
    for name, frame in list(results.items()) + [(k, layers[k]) for k in ("roads", "forest", "settlements")]:
        if not isinstance(frame, gpd.GeoDataFrame):
            continue
        layer = _display.DisplayLayer(name, styles.display_frame(name, frame))
        v = layer.view(2.0, clip=clip, decimals=6)
        inside = shapely.contains_properly(clip, layer.geoms[v.pos])
        # features wholly inside are the whole layer's own simplified geometry
        assert list(v.geojson[inside]) == list(layer.view(2.0, decimals=6).geojson[v.pos[inside]])
        kept = np.asarray(layer.geoms[shapely.intersects(layer.geoms, clip)], dtype=object)
        assert len(v) <= len(kept)


def test_township_views_are_the_same_whichever_view_came_first_and_their_geometries_match_their_text():
    # a township view keeps only the whole layer's GeoJSON text (not its simplified and WGS84
    # copies); its WGS84 geometries are made when read
    layers, results = make_fixture()
    clip = box(E0 - 6000, N0 - 5000, E0, N0 + 5000).buffer(200)
    shapely.prepare(clip)
    for name, frame in list(results.items()) + [(k, layers[k]) for k in ("roads", "forest", "settlements")]:
        if not isinstance(frame, gpd.GeoDataFrame):
            continue
        df = styles.display_frame(name, frame)
        first = _display.DisplayLayer(name, df).view(2.0, clip=clip, decimals=6)
        after = _display.DisplayLayer(name, df)
        after.view(2.0, decimals=6)  # the county view first: the whole layer's WGS84 copy is made
        second = after.view(2.0, clip=clip, decimals=6)
        assert list(first.geojson) == list(second.geojson)
        assert first.pos.tolist() == second.pos.tolist()
        assert len(first.wgs84) == len(first) == len(second.wgs84)
        for text, geom in zip(first.geojson, first.wgs84):
            assert not shapely.is_empty(geom)
            assert shapely.hausdorff_distance(shapely.from_geojson(text), geom) < 1e-6


def test_feature_collection_escapes_and_orders_by_the_rule():
    gdf = _gdf({"break_min": [5, 15, 10], "station": [XSS, "岳溪", "温泉"], "vehicle_class": ["standard"] * 3,
                "ring": ["0-5", "10-15", "5-10"]}, [Point(0, 0).buffer(r) for r in (1, 3, 2)])
    layer = _display.DisplayLayer("response_isochrones", gdf)
    v = layer.view(0.0)
    cls = styles.classify("response_isochrones", v.style_frame, v.kind)
    data = json.loads(layer.collection(v, cls))
    props = [f["properties"] for f in data["features"]]
    assert [p["_s"] for p in props] == [2, 1, 0]  # biggest ring first
    assert XSS not in layer.collection(v, cls)
    assert props[2]["_p"][0] == "&lt;img src=x onerror=alert(1)&gt;"


def test_symbol_svgs_are_wellformed():
    import xml.dom.minidom

    for shape in styles._SYMBOL_SHAPES:
        svg = styles.symbol_svg({"symbol": shape, "color": "#123456", "fillColor": "#ffffff", "size": 16})
        xml.dom.minidom.parseString(svg)
    svg = styles.symbol_svg({"symbol": "circle", "color": '"/><script>', "size": 10})
    assert "<script>" not in svg


# ------------------------------------------------------------------------------------------------
# generated HTML


def test_write_maps_returns_index_first_and_writes_every_township(written):
    out, paths = written
    assert [p.name for p in paths] == ["index.html", "county.html", "town_温泉镇.html", "town_岳溪镇.html"]
    index = _html(written, "index.html")
    for p in paths[1:]:
        assert f'href="{p.name}"' in index
    assert "示意数据" in index


def test_escaping_in_generated_html(written):
    for name in ("county.html", "town_温泉镇.html"):
        html = _html(written, name)
        assert XSS not in html
        assert "<script>alert(2)" not in html
        assert html.count("</script>") == html.count("<script")  # nothing closes a script early
        # the escaped text is there (JSON-escaped '&' of '&lt;')
        assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html


def test_escaping_of_township_names_in_files_and_index(tmp_path):
    layers, results = make_fixture()
    layers["boundary"] = layers["boundary"].assign(town=["<b>温泉</b>", "岳溪镇"])
    paths = write_maps(layers, {}, tmp_path, MapOptions(hillshade=False))
    names = [p.name for p in paths]
    assert "town_b_温泉_b.html" in names
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<b>温泉</b>" not in index and "&lt;b&gt;温泉&lt;/b&gt;" in index
    town = (tmp_path / "town_b_温泉_b.html").read_text(encoding="utf-8")
    assert "<b>温泉</b>" not in town


#: hosts named inside Leaflet / Leaflet.fullscreen code (an SVG namespace, an attribution link that
#: kz.finish replaces, comments citing browser bugs) -- never fetched.
LIBRARY_HOSTS = {"www.w3.org", "leafletjs.com", "bugs.chromium.org", "bugzilla.mozilla.org", "caniuse.com"}


def test_offline_html_has_no_external_urls(written):
    for name in ("county.html", "town_温泉镇.html", "index.html"):
        html = _html(written, name)
        refs = _assets.external_references(html)
        assert all(r.startswith("local:") for r in refs), refs
        markup = re.sub(r"<script>.*?</script>", "<script></script>", html, flags=re.S)
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup, re.I)
        assert not re.search(r"""url\(\s*["']?(?:https?:)?//""", html, re.I)
        # the only URLs at all are strings and comments inside the vendored libraries
        hosts = set(re.findall(r"https?://([a-z0-9.-]+)", html))
        assert hosts <= LIBRARY_HOSTS, hosts - LIBRARY_HOSTS
        for host in ("tianditu", "autonavi", "openstreetmap.org", "cdn.jsdelivr", "cdnjs", "unpkg", "code.jquery"):
            assert host not in html
    county = _html(written, "county.html")
    assert "Leaflet 1.9.4 (BSD-2-Clause)" in county  # licence notice carried along
    assert "data:image/png;base64," in county  # hillshade and CSS images inline


def test_inlined_css_has_images_as_data_uris():
    css = _assets.read_css("leaflet/leaflet.css")
    assert "url(images/" not in css and "data:image/png;base64," in css
    assert "data:image/svg+xml;base64," in _assets.read_css("leaflet.fullscreen/Control.FullScreen.css")
    assert "url(images/" not in _assets.read_css("leaflet-measure/leaflet-measure.css")


def test_external_reference_finder_catches_cdn_links():
    html = ('<html><head><script src="https://cdn.example/leaflet.js"></script>'
            '<link rel="stylesheet" href="//cdn.example/x.css"><style>.a{background:url(http://x/y.png)}</style>'
            '</head><body><img src="data:image/png;base64,AAAA"><a href="index.html">i</a>'
            '<script>L.tileLayer("https://{s}.tile.osm.org/{z}/{x}/{y}.png")</script></body></html>')
    refs = _assets.external_references(html)
    assert len([r for r in refs if not r.startswith("local:")]) == 4
    assert any(r.startswith("local:") for r in refs)


def test_county_map_contents(written):
    html = _html(written, "county.html")
    assert 'id="kz-legend"' in html and "图例" in html
    assert "审图号：（待审）" in html
    assert 'id="kz-synthetic"' in html
    assert "开州区 农村消防基础设施规划分析图" in html
    for title in ("道路消防车通行能力", "消防队站响应时间圈", "林火阻隔带", "直升机临时停机坪", "new_analysis_layer"):
        assert title in html
    assert "summary_table" not in html  # tables without geometry are skipped
    assert "L.control.layers" in html and "L.Control.Measure" in html and "L.control.fullscreen" in html


def test_synthetic_notice_only_when_data_says_so(tmp_path):
    layers, _ = make_fixture(synthetic=False)
    layers["settlements"] = layers["settlements"].drop(columns="source")
    paths = write_maps(layers, {}, tmp_path, MapOptions(townships=False, hillshade=False))
    assert 'id="kz-synthetic"' not in paths[1].read_text(encoding="utf-8")
    paths = write_maps(layers, {}, tmp_path / "b", MapOptions(townships=False, hillshade=False, synthetic=True))
    assert 'id="kz-synthetic"' in paths[1].read_text(encoding="utf-8")


def test_towns_filter_and_clip(tmp_path):
    layers, results = make_fixture()
    paths = write_maps(layers, results, tmp_path, MapOptions(county=False, margin_m=200), towns=["温泉镇"])
    assert [p.name for p in paths] == ["index.html", "town_温泉镇.html"]
    html = paths[1].read_text(encoding="utf-8")
    assert "现状消防队站" in html
    assert "规划消防队站" not in html  # the planned station is 4 km east, outside the 200 m margin
    assert "水口村" not in html


def test_disabled_maps_write_nothing(tmp_path):
    layers, results = make_fixture()
    assert write_maps(layers, results, tmp_path / "m", MapOptions.from_mapping(False)) == []
    assert not (tmp_path / "m").exists()


def test_county_map_is_simplified_below_the_size_limit(tmp_path):
    layers, _ = make_fixture()
    t = np.linspace(0, 2 * np.pi, 60_000, endpoint=False)
    r = 3000 + 30 * np.sin(t * 900)  # a wiggly forest edge: 60k vertices, ~2 MB of GeoJSON
    wiggly = Polygon(np.column_stack([E0 + r * np.cos(t), N0 + r * np.sin(t)]))
    layers["forest"] = _gdf({}, [wiggly])
    opts = MapOptions(townships=False, hillshade=False, simplify_m=0.1, max_size_mb=1.0)
    paths = write_maps(layers, {}, tmp_path, opts)
    assert paths[1].stat().st_size < 1.0e6


def _extract_cfg(html):
    m = re.search(r"kz\.finish\([^,]+, [^,]+, (\{.*?\})\);\n", html)
    return json.loads(m.group(1))


def test_online_map_has_basemaps_and_switcher(tmp_path):
    layers, results = make_fixture()
    opts = MapOptions(offline=False, tianditu_key="KEY123", townships=False)
    html = write_maps(layers, results, tmp_path, opts)[1].read_text(encoding="utf-8")
    assert "tianditu.gov.cn/vec_w" in html and "tianditu.gov.cn/cva_w" in html and "tk=KEY123" in html
    assert "autonavi.com" in html and "tile.openstreetmap.org" in html
    cfg = _extract_cfg(html)
    assert cfg["gcjBases"] == ["高德地图（GCJ-02）", "高德影像（GCJ-02）"]
    assert cfg["startGcj"] is False and cfg["gcj"]["nx"] > 2
    # scripts and CSS are still inline: only the tiles come from the internet
    assert not re.search(r"""<(?:script|link)[^>]+(?:src|href)\s*=\s*["']?https?:""", html)


def test_online_without_tianditu_key_falls_back(tmp_path, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    layers, _ = make_fixture()
    html = write_maps(layers, {}, tmp_path, MapOptions(offline=False, townships=False))[1].read_text(encoding="utf-8")
    assert "tianditu" not in html and "tile.openstreetmap.org" in html


# ------------------------------------------------------------------------------------------------
# GCJ-02 display shift


def test_gcj_grid_matches_the_exact_shift_at_kaizhou():
    grid = _display.gcj_grid(107.9, 30.8, 108.9, 31.7)
    rng = np.random.default_rng(1)
    lon = rng.uniform(107.9, 108.9, 500)
    lat = rng.uniform(30.8, 31.7, 500)
    glon, glat = _display.grid_shift(grid, lon, lat)
    elon, elat = wgs84_to_gcj02(lon, lat)
    _, _, err = GEOD.inv(glon, glat, elon, elat)
    assert err.max() < 0.5  # metres
    _, _, shift = GEOD.inv(lon, lat, glon, glat)
    assert 300 < shift.min() and shift.max() < 800  # "about 500 m" in Kaizhou


def test_overlay_coordinates_shift_about_500_m_when_amap_is_used(tmp_path):
    """The grid an online map carries moves a station from its CGCS2000 spot onto GCJ-02."""
    layers, results = make_fixture()
    opts = MapOptions(offline=False, basemap="amap", townships=False)
    html = write_maps(layers, results, tmp_path, opts)[1].read_text(encoding="utf-8")
    cfg = _extract_cfg(html)
    assert cfg["startGcj"] is True
    st = layers["stations"].to_crs("EPSG:4326").geometry.iloc[0]
    # the station as written into the file (CGCS2000, 5 decimals)
    lon, lat = round(st.x, 5), round(st.y, 5)
    assert f'"coordinates":[{lon!r},{lat!r}]' in html
    assert math.isclose(lon, st.x, abs_tol=1e-5) and math.isclose(lat, st.y, abs_tol=1e-5)
    glon, glat = _display.grid_shift(cfg["gcj"], lon, lat)
    _, _, shift = GEOD.inv(lon, lat, glon, glat)
    assert 400 < shift < 700
    elon, elat = wgs84_to_gcj02(lon, lat)
    assert GEOD.inv(glon, glat, elon, elat)[2] < 0.5


# ------------------------------------------------------------------------------------------------
# hillshade


def test_hillshade_image_bounds_are_the_dem_extent_in_wgs84():
    layers, _ = make_fixture()
    dem = layers["dem"]
    uri, ((s, w), (n, e)) = _display.hillshade_image(dem, None, max_px=200)
    assert uri.startswith("data:image/png;base64,")
    corners = gpd.GeoSeries([box(*dem.bounds)], crs=CRS).to_crs("EPSG:4326").total_bounds
    # the Mercator-warped image covers the DEM's footprint (within one 100 m cell)
    assert w <= corners[0] + 1e-3 and s <= corners[1] + 1e-3 and e >= corners[2] - 1e-3 and n >= corners[3] - 1e-3
    assert (corners[0] - w) < 0.002 and (e - corners[2]) < 0.002
    import base64
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert max(img.size) <= 200


def test_hillshade_outside_the_dem_is_skipped():
    layers, _ = make_fixture()
    assert _display.hillshade_image(layers["dem"], (0, 0, 1000, 1000)) is None
    assert _display.HillshadeSource(layers["dem"]).image((0, 0, 1000, 1000)) is None


def _png(uri):
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGBA"), dtype=float)


def test_hillshade_crops_of_one_warp_match_the_direct_image():
    dem = make_fixture()[0]["dem"]
    src = _display.HillshadeSource(dem)
    for bounds in [(E0 - 4000, N0 - 3000, E0 + 1000, N0 + 2000), (E0 - 7000, N0 - 6000, E0 - 3000, N0 - 2000), None]:
        direct, crop = _display.hillshade_image(dem, bounds, max_px=1400), src.image(bounds, max_px=1400)
        a, b = _png(direct[0]), _png(crop[0])
        assert abs(a.shape[0] - b.shape[0]) <= 2 and abs(a.shape[1] - b.shape[1]) <= 2
        assert np.allclose(direct[1], crop[1], atol=0.0015)  # bounds within about one 100 m cell
        h, w = min(a.shape[0], b.shape[0]) - 2, min(a.shape[1], b.shape[1]) - 2
        assert np.abs(a[1:h, 1:w, :3] - b[1:h, 1:w, :3]).mean() < 12  # same picture (96-colour palettes)
    small = src.image((E0 - 4000, N0 - 3000, E0 + 1000, N0 + 2000), max_px=20)  # too big: warped smaller
    assert max(_png(small[0]).shape[:2]) <= 20


def test_main_title_does_not_repeat_the_recipe_title():
    from kzgis.maps._html import main_title

    assert main_title("开州区") == "开州区 农村消防基础设施规划分析图"
    assert main_title("开州区农村消防基础设施规划（示意）") == "开州区农村消防基础设施规划（示意）"


def test_results_in_another_crs_are_reprojected(tmp_path):
    layers, _ = make_fixture()
    pt = gpd.GeoDataFrame({"rank": [1]}, geometry=[Point(E0 + 3000, N0 + 100)], crs=CRS).to_crs("EPSG:4326")
    paths = write_maps(layers, {"water_suggestions": pt}, tmp_path, MapOptions(county=False, hillshade=False),
                       towns=["岳溪镇"])
    html = paths[1].read_text(encoding="utf-8")
    assert "建议新增水源点" in html  # inside 岳溪镇 after reprojection, so drawn and in the legend


def test_unknown_result_layer_name_is_escaped_in_the_layer_control(tmp_path):
    layers, _ = make_fixture()
    evil = "<i onmouseover=alert(3)>x</i>"
    pt = _gdf({"note": [evil]}, [Point(E0 + 1000, N0 + 100)])
    html = write_maps(layers, {evil: pt}, tmp_path, MapOptions(townships=False, hillshade=False))[1].read_text(
        encoding="utf-8")
    assert evil not in html and "onmouseover=alert(3)" in html  # only in escaped form


def test_template_syntax_in_data_is_written_as_text(tmp_path):
    # folium hands what an element renders to Jinja once more; data must never be evaluated there
    layers, results = make_fixture()
    expr, unbalanced = "{{ 6 * 7 }}kz", "{% kz"
    layers["settlements"].loc[layers["settlements"].index[1], "name"] = expr
    layers["boundary"].loc[layers["boundary"].index[1], "town"] = "岳溪镇" + unbalanced
    pt = _gdf({"note": [expr]}, [Point(E0 + 1000, N0 + 100)])
    paths = write_maps(layers, {expr: pt}, tmp_path, MapOptions(hillshade=False))
    for p in paths[1:]:
        html = p.read_text(encoding="utf-8")
        assert "42kz" not in html
        assert expr in html and unbalanced in html  # settlement label, popup, layer name; township name
