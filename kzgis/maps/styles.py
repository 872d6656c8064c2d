"""Map style rules, as data: one dict per layer, and the functions that apply them.

Every input layer kind and most result layers have an entry in :data:`LAYER_STYLES`. A rule says
how the layer is drawn (``order``), what selects a feature's class (``by`` a column with ``classes``,
numeric ``bins`` or a ``ramp`` over the values present, or a ``palette`` over category values),
which columns its tooltip and popup show, and how values are written (``values``: raw value ->
Chinese text).

A result layer declared in :mod:`kzgis.schema` takes its title, group (its analysis) and popup
labels from the declaration: its entry here holds only what is special (colours, symbols, value
translations, which columns the popup shows and in which order). A declared layer without an entry
is drawn by :func:`default_rule` (colour class from its column kinds or its ``style_by`` hint, every
declared column in the popup), so a new analysis needs no entry here. :func:`rule_for` gives the
completed rule of any layer; anything else gets :data:`DEFAULT_RULE`.

:func:`classify` turns a rule and a frame into the per-feature class index, the list of Leaflet
style dicts and the legend entries; the maps module only ever reads these.

Style dicts use Leaflet path options (``color``, ``weight``, ``dashArray``, ``fillColor``,
``fillOpacity``, ``radius``); point classes with a ``symbol`` are drawn as small SVG icons
(:func:`symbol_svg`) that the legend reuses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html import escape

import numpy as np
import pandas as pd

YES_NO = {"true": "是", "false": "否"}
VEHICLE_ZH = {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车", "none": "不可通行"}
SOURCE_KIND_ZH = {
    "hydrant": "消火栓", "fire_pool": "消防水池", "pool": "消防水池", "hydrants": "消火栓",
    "fire_pools": "消防水池", "water_intakes": "天然水源取水点", "water_intake": "天然水源取水点",
    "intake": "天然水源取水点", "natural": "天然水源", "river": "河流", "water_body": "水体",
    "mains": "市政给水管网", "water_mains": "消防给水管网",
}
STATUS_ZH = {"existing": "现状", "planned": "规划", "proposed": "规划"}
WIDTH_SOURCE_ZH = {"surveyed": "实测/标注", "lanes": "按车道数推算", "class_default": "按道路等级推定（假定）",
                   "unknown": "等级未知，按缺省值（假定）"}
NETWORK_ISSUE_ZH = {"snapped_dangle": "悬挂端点已自动连接", "near_miss": "悬挂端点近距未连接",
                    "unsplit_crossing": "相交无节点（未连通）", "suspected_structure": "疑似桥隧/DEM 误差",
                    "zero_length": "零长度要素", "duplicate_edge": "重复路段", "small_component": "孤立路网片段"}
DEPTH_ZH = {"ok": "满足", "unknown": "未知（待测）", "shallow": "水深不足"}
BARRIER_ZH = {"工程阻隔": "工程阻隔带", "生物阻隔": "生物阻隔带", "天然阻隔": "天然阻隔（水体等）",
              "existing natural": "天然阻隔（水体等）", "natural": "天然阻隔（水体等）", "road": "道路阻隔",
              "engineered": "工程阻隔带", "biological": "生物阻隔带", "mixed": "工程与生物结合", "待定": "类型待定"}
CHECKPOINT_ZH = {
    "村口": "村镇出入口（临林）", "road_entry": "必经道口", "entry": "必经道口", "必经道口": "必经道口",
    "village_exit": "村镇出口（临林）", "town_exit": "村镇出口（临林）", "exit": "村镇出口（临林）",
    "work_site": "林区作业点", "worksite": "林区作业点", "fire_prone": "林缘高火险点",
    "edge": "林缘高火险点", "forest_edge": "林缘高火险点",
}

# Qualitative palette (ColorBrewer Set1/Dark2 mix, readable on white and on a hillshade).
PALETTE = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#1b9e77",
           "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#666666"]
# Sequential green -> yellow -> red, for travel times.
TIME_RAMP = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027"]
# Response-time classes of settlements (total minutes, upper bound inclusive).
TIME_BINS = [(5, "≤5 分钟", "#1a9850"), (10, "5–10 分钟", "#91cf60"), (15, "10–15 分钟", "#fee08b"),
             (20, "15–20 分钟", "#fc8d59"), (30, "20–30 分钟", "#d73027"), (math.inf, ">30 分钟", "#67001f")]
# The shape of a settlement point says which vehicle reaches it (its colour says when): a
# shape_by override applied on top of the colour class (see classify).
VEHICLE_SHAPES = {
    "standard": {"label": "标准消防车到达（圆）"},
    "small": {"label": "小型消防车到达（方块）", "symbol": "square", "size": 11},
    "motorcycle": {"label": "消防摩托车到达（三角）", "symbol": "triangle", "size": 13},
}


def _line(color, weight=2.0, **kw):
    return {"color": color, "weight": weight, "opacity": 0.95, **kw}


def _fill(color, fill_opacity=0.3, stroke=None, weight=1.0, **kw):
    return {"color": stroke or color, "weight": weight, "opacity": 0.9, "fill": True,
            "fillColor": color, "fillOpacity": fill_opacity, **kw}


def _dot(color, radius=4.0, stroke="#ffffff", **kw):
    return {"color": stroke, "weight": 1.0, "opacity": 1.0, "fill": True, "fillColor": color,
            "fillOpacity": 0.95, "radius": radius, **kw}


def _sym(symbol, color, size=16, fill=None, **kw):
    return {"symbol": symbol, "color": color, "fillColor": fill or color, "size": size, **kw}


# Drawing order: polygons 10-39, lines 40-69, points 70-99 (higher on top).
LAYER_STYLES: dict[str, dict] = {
    # ---------------------------------------------------------------- input layers
    "county": {"title": "区界", "group": "base", "order": 48, "interactive": False, "outline": True,
               "default": {"color": "#5e3c99", "weight": 3.0, "opacity": 0.9, "fill": False}},
    "boundary": {"title": "乡镇（街道）界", "group": "base", "order": 46, "interactive": False, "outline": True,
                 "default": {"color": "#6a51a3", "weight": 1.4, "opacity": 0.85, "fill": False,
                             "dashArray": "6 3"}},
    "urban_area": {"title": "城区", "group": "base", "order": 14,
                   "default": _fill("#f4a6a6", 0.35, stroke="#d6604d", weight=1.0),
                   "fields": [("name", "名称")]},
    "old_towns": {"title": "古镇", "group": "base", "order": 16,
                  "default": _fill("#fdb863", 0.45, stroke="#b35806", weight=1.5),
                  "fields": [("name", "名称")]},
    "forest": {"title": "林地", "group": "base", "order": 10,
               "default": _fill("#8fcf80", 0.38, stroke="#8fcf80", weight=0.3),
               "tip": []},
    "water_bodies": {"title": "水体", "group": "base", "order": 12,
                     "default": _fill("#6baed6", 0.6, stroke="#2171b5", weight=0.8),
                     "fields": [("name", "名称"), ("depth_m", "水深（米）")]},
    "mountain_units": {"title": "山系单元", "group": "base", "order": 11, "show": False,
                       "default": _fill("#bcbddc", 0.1, stroke="#756bb1", weight=1.2, dashArray="8 4"),
                       "fields": [("name", "名称")]},
    "landuse": {"title": "三调地类图斑", "group": "base", "order": 9, "show": False,
                "default": _fill("#cccccc", 0.2, weight=0.4), "fields": [("DLBM", "地类编码")]},
    "rivers": {"title": "河流", "group": "base", "order": 41,
               "default": {**_line("#3182bd", 2.0), "fillColor": "#6baed6", "fillOpacity": 0.6},
               "fields": [("name", "名称"), ("width_m", "河宽（米）")]},
    "roads": {"title": "道路", "group": "base", "order": 42,
              "default": _line("#8c8c8c", 1.4),
              "fields": [("name", "道路名称"), ("road_class", "道路等级"), ("width_m", "路面宽度（米）")]},
    "water_mains": {"show_county": False, "title": "消防给水管网", "group": "base", "order": 44,
                    "default": _line("#08519c", 1.6, dashArray="1 3"),
                    "fields": [("diameter_mm", "管径（毫米）")]},
    "power_lines": {"title": "电力线", "group": "base", "order": 45, "show": False,
                    "default": _line("#7b3294", 1.2, dashArray="8 3 2 3"),
                    "fields": [("voltage_kv", "电压（千伏）")]},
    "settlements": {"title": "居民点", "group": "base", "order": 72,
                    "default": _dot("#a6761d", 3.5, stroke="#5c3d0e", fillOpacity=0.85),
                    "size_by": ("population", 2.5, 7.0),
                    "fields": [("name", "名称"), ("town", "乡镇（街道）"), ("population", "人口")],
                    "tip": ["name"]},
    "township_seats": {"show_county": False, "title": "乡镇驻地", "group": "base", "order": 74,
                       "default": _dot("#252525", 4.0), "fields": [("town", "乡镇（街道）")]},
    "candidate_sites": {"title": "候选站址", "group": "base", "order": 80, "show": False,
                        "default": _sym("diamond", "#e7298a", 13, fill="#ffffff"),
                        "fields": [("name", "名称"), ("town", "乡镇（街道）")]},
    "hydrants": {"show_county": False, "title": "消火栓", "group": "base", "order": 82,
                 "default": _dot("#e31a1c", 3.0, stroke="#67000d"),
                 "fields": [("status", "状态")], "values": {"status": STATUS_ZH}},
    "fire_pools": {"show_county": False, "title": "消防水池", "group": "base", "order": 84,
                   "default": {**_sym("square", "#2171b5", 12), **_fill("#2171b5", 0.8)},
                   "fields": [("volume_m3", "容积（立方米）")]},
    "water_intakes": {"show_county": False, "title": "天然水源取水点", "group": "base", "order": 85,
                      "default": _sym("triangle", "#08519c", 14, fill="#6baed6"),
                      "fields": [("kind", "类型"), ("lift_m", "吸水高度（米）")]},
    "micro_stations": {"show_county": False, "title": "微型消防站", "group": "base", "order": 96, "by": "status",
                       "classes": {"existing": {"label": "现状微型消防站", **_sym("square", "#b2182b", 12)},
                                   "现状": {"label": "现状微型消防站", **_sym("square", "#b2182b", 12)},
                                   "planned": {"label": "规划微型消防站", **_sym("square", "#b2182b", 12,
                                                                           fill="#ffffff", dashed=True)},
                                   "规划": {"label": "规划微型消防站", **_sym("square", "#b2182b", 12,
                                                                        fill="#ffffff", dashed=True)}},
                       "default": {"label": "微型消防站", **_sym("square", "#b2182b", 12)},
                       "fields": [("name", "名称"), ("community", "所属社区"), ("status", "状态"), ("year", "年份"),
                                  ("town", "乡镇（街道）")],
                       "values": {"status": STATUS_ZH}, "tip": ["name", "status"]},
    "communities": {"show_county": False, "title": "社区（村）", "group": "base", "order": 73,
                    "default": _dot("#8073ac", 4.0, stroke="#2d004b"),
                    "fields": [("name", "名称"), ("town", "乡镇（街道）"), ("population", "人口"), ("year", "配齐年份")],
                    "tip": ["name"]},
    "buildings": {"show_county": False, "title": "建筑", "group": "base", "order": 17,
                  "default": _fill("#bdbdbd", 0.7, stroke="#636363", weight=0.5),
                  "fields": [("name", "名称"), ("fire_resistance", "耐火等级"), ("structure", "结构"),
                             ("floors", "层数")], "tip": ["fire_resistance"]},
    "stations": {"title": "消防队站", "group": "base", "order": 98, "label": ("short", "name"), "label_county": True,
                 "by": "status",
                 "classes": {"existing": {"label": "现状消防队站", **_sym("station", "#cb181d", 20)},
                             "planned": {"label": "规划消防队站", **_sym("station", "#cb181d", 20, fill="#ffffff",
                                                                   dashed=True)}},
                 "default": {"label": "消防队站", **_sym("station", "#cb181d", 20)},
                 "fields": [("name", "名称"), ("kind", "类型"), ("status", "状态"), ("town", "乡镇（街道）")],
                 "values": {"status": STATUS_ZH}, "tip": ["name", "status"]},

    # ---------------------------------------------------------------- access
    "access_roads": {
        "order": 50, "by": "vehicle_class",
        "classes": {
            "standard": {"label": "标准消防车可通行（宽≥4米）", **_line("#1a9850", 3.0)},
            "small": {"label": "仅小型消防车可通行", **_line("#fd8d3c", 2.6)},
            "motorcycle": {"label": "仅消防摩托车可通行", **_line("#d7301f", 2.2, dashArray="6 3")},
            "none": {"label": "消防车辆不可通行", **_line("#636363", 1.5, dashArray="2 4")},
        },
        "fields": ["name", "vehicle_class", "width_m", "width_source", "grade_max_pct", "length_m", "road_class",
                   "turnaround"],
        "values": {"vehicle_class": VEHICLE_ZH, "width_source": WIDTH_SOURCE_ZH},
        "tip": ["name", "vehicle_class"],
    },
    "access_settlements": {
        "order": 76, "by": "best_vehicle",
        "classes": {
            "standard": {"label": "标准消防车可达", **_dot("#1a9850", 5.0, stroke="#00441b")},
            "small": {"label": "仅小型消防车可达", **_dot("#fd8d3c", 5.0, stroke="#7f2704")},
            "motorcycle": {"label": "仅消防摩托车可达", **_dot("#d7301f", 5.0, stroke="#67000d")},
            "none": {"label": "任何消防车辆均无法到达", **_dot("#252525", 5.0, stroke="#ffffff")},
        },
        "fields": ["name", "town", "population", "best_vehicle", "nearest_station", "time_min_standard",
                   "time_min_small", "time_min_motorcycle", "walk_m", "bottleneck_kind", "bottleneck_width_m",
                   "bottleneck_width_assumed", "bottleneck_grade_pct"],
        "values": {"best_vehicle": VEHICLE_ZH, "bottleneck_kind": {"width": "路面宽度", "grade": "纵坡"},
                   "bottleneck_width_assumed": YES_NO},
        "dash_by": "walk_m", "dash_label": "车辆至路端后步行（虚线框）",
        "tip": ["name", "best_vehicle"],
    },
    "access_upgrades": {
        "order": 58, "label": ("rank",),
        "default": {"label": "建议改造路段（序号按受益人口）", **_line("#c51b8a", 4.5, dashArray="10 5")},
        "fields": ["rank", "road_names", "length_m", "widen_from_m", "population_unlocked", "settlements_unlocked",
                   "settlement_names"],
        "tip": ["rank", "population_unlocked"], "tip_format": "第{rank}段 · 受益人口 {population_unlocked}",
    },
    "access_dead_ends": {
        "order": 54, "by": "turnaround", "show_county": False,
        "classes": {"false": {"label": "尽端路无回车场（>40米应设）", **_line("#8e0152", 2.4, dashArray="2 3")},
                    "true": {"label": "尽端路有回车场", **_line("#7fbc41", 2.0, dashArray="2 3")}},
        "fields": ["length_m", "turnaround", "settlements"],
        "tip": ["length_m", "turnaround"], "tip_format": "尽端路 {length_m} 米 · 回车场：{turnaround}",
    },

    # ---------------------------------------------------------------- response
    "response_isochrones": {
        "order": 20, "by": "break_min",
        "exclude": {"ring": ["disk"]},  # draw the non-overlapping rings, not the nested disks
        "ramp": TIME_RAMP, "ramp_label": "到场 ≤{v:g} 分钟",
        "ramp_style": {"weight": 1.0, "opacity": 0.85, "fill": True, "fillOpacity": 0.2},
        "sort_desc": "break_min",
        "fields": ["station_name", "station", "status", "vehicle_class", "break_min", "ring", "road_m", "area_m2"],
        "values": {"vehicle_class": VEHICLE_ZH, "status": STATUS_ZH}, "tip": ["station", "ring"],
        "tip_format": "{station} · {ring} 分钟",
    },
    "response_zones": {
        "order": 22, "by": "station",
        "palette": PALETTE, "palette_style": {"weight": 2.0, "opacity": 0.9, "fill": True, "fillOpacity": 0.12},
        "fields": ["station_name", "station", "status", "max_time_min", "area_m2", "settlements", "population"],
        "values": {"status": STATUS_ZH}, "tip": ["station"], "tip_format": "{station} 责任区",
    },
    "response_zone_roads": {
        "order": 49, "show": False, "by": "station",
        "palette": PALETTE, "palette_style": {"weight": 2.2, "opacity": 0.85},
        "fields": ["station", "time_min_start", "time_min_end", "length_m"],
        "tip": ["station"],
    },
    "response_radii": {
        "order": 47, "show": False,
        "default": {"label": "直线服务半径", "color": "#54278f", "weight": 1.5, "dashArray": "4 4",
                    "fill": False, "opacity": 0.9},
        "fields": ["station_name", "station", "status", "radius_m", "network_share", "area_share"],
        "values": {"status": STATUS_ZH}, "tip": ["station", "radius_m"],
        "tip_format": "{station} · 半径 {radius_m} 米",
    },
    "response_siting": {
        "order": 88, "by": "selected",
        "classes": {"true": {"label": "建议新增消防站", **_sym("star", "#67000d", 18, fill="#ef3b2c")},
                    "false": {"label": "候选站址（未选）", **_sym("circle", "#525252", 8, fill="#ffffff")}},
        "default": {"label": "候选站址", **_sym("circle", "#525252", 8, fill="#ffffff")},
        "label": ("name",),
        "fields": ["name", "town", "selected", "rank", "model", "time_threshold_min", "new_settlements",
                   "new_population", "covered_population"],
        "tip": ["name", "selected"],
    },
    "response_settlements": {
        "order": 77, "by": "time_min",
        "bins": TIME_BINS,
        "bin_style": {"weight": 1.0, "color": "#333333", "radius": 4.5, "fill": True, "fillOpacity": 0.95},
        "missing": {"label": "无法到达", **_dot("#000000", 4.5, stroke="#ffffff")},
        # colour = time of the best vehicle that reaches the settlement; shape = that vehicle;
        # dashed outline = the vehicle stops at the road end and the crew walks the rest
        "shape_by": "vehicle_class", "shapes": VEHICLE_SHAPES, "dash_by": "walk_m",
        "dash_label": "车辆至路端后步行（虚线框）",
        "fields": ["name", "town", "population", "vehicle_class", "station", "time_min", "walk_m", "station_2",
                   "time_min_2", "time_min_standard", "time_min_small", "time_min_motorcycle", "time_min_existing"],
        "values": {"vehicle_class": VEHICLE_ZH},
        "tip": ["name", "time_min", "vehicle_class"], "tip_format": "{name} · {time_min} 分钟 · {vehicle_class}",
    },
    # the standard-truck view of the same settlements (derived by the maps from response_settlements)
    "response_settlements_standard": {
        "title": "居民点到场时间（标准消防车）", "schema": "response_settlements", "order": 76,
        "by": "time_min_standard", "show": False, "bins": TIME_BINS,
        "bin_style": {"weight": 1.0, "color": "#333333", "radius": 4.5, "fill": True, "fillOpacity": 0.95},
        "missing": {"label": "标准消防车无法到达（见可达最优车型图层）", **_dot("#000000", 4.5, stroke="#ffffff")},
        # labels of response_settlements (its columns), but time_min is the best vehicle's here
        "fields": ["name", "town", "population", "time_min_standard", "vehicle_class",
                   ("time_min", "可达最优车型到场时间（分钟）")],
        "values": {"vehicle_class": VEHICLE_ZH},
        "tip": ["name", "time_min_standard"], "tip_format": "{name} · 标准消防车 {time_min_standard} 分钟",
    },

    # ---------------------------------------------------------------- water
    "water_coverage": {
        "order": 24, "by": "source_kind",
        "classes": {
            "hydrant": {"label": "消火栓保护范围", **_fill("#4292c6", 0.22, weight=0.6)},
            "pool": {"label": "消防水池保护范围", **_fill("#6a51a3", 0.22, weight=0.6)},
            "fire_pool": {"label": "消防水池保护范围", **_fill("#6a51a3", 0.22, weight=0.6)},
            "natural": {"label": "天然水源保护范围", **_fill("#41b6c4", 0.22, weight=0.6)},
            "water_intake": {"label": "天然水源保护范围", **_fill("#41b6c4", 0.22, weight=0.6)},
        },
        "default": {"label": "水源保护范围", **_fill("#4292c6", 0.2, weight=0.6)},
        "fields": ["source_kind", "source_id", "reach_m", "lateral_m"],
        "values": {"source_kind": SOURCE_KIND_ZH}, "tip": ["source_kind", "source_id"],
    },
    "water_circles": {
        "order": 25, "show": False, "by": "source_kind",
        "classes": {
            "hydrant": {"label": "消火栓保护半径", "color": "#2171b5", "weight": 1.0, "fill": False,
                        "dashArray": "3 3", "opacity": 0.8},
            "pool": {"label": "消防水池保护半径", "color": "#6a51a3", "weight": 1.0, "fill": False,
                     "dashArray": "3 3", "opacity": 0.8},
            "natural": {"label": "天然水源保护半径", "color": "#41b6c4", "weight": 1.0, "fill": False,
                        "dashArray": "3 3", "opacity": 0.8},
        },
        "default": {"label": "水源保护半径", "color": "#2171b5", "weight": 1.0, "fill": False, "dashArray": "3 3"},
        "fields": ["source_kind", "source_id", "radius_m", "network_share"],
        "values": {"source_kind": SOURCE_KIND_ZH}, "tip": ["source_kind", "radius_m"],
    },
    "water_sources": {
        "order": 86, "by": "usable", "show_county": False,
        "classes": {"true": {"label": "可用水源", **_dot("#2171b5", 3.8, stroke="#ffffff")},
                    "false": {"label": "不可用水源（见原因）", **_dot("#ffffff", 3.8, stroke="#e31a1c", weight=2.0)}},
        "fields": ["source_kind", "source_id", "name", "kind", "status", "usable", "reason", "volume_m3", "lift_m",
                   "truck_road_m"],
        "values": {"source_kind": SOURCE_KIND_ZH, "usable": YES_NO}, "tip": ["source_kind", "usable"],
        "tip_format": "{source_kind} · 可用：{usable}",
    },
    "water_settlements": {
        "order": 78, "by": "covered",
        "classes": {"true": {"label": "已覆盖", **_dot("#2171b5", 4.5, stroke="#ffffff")},
                    "false": {"label": "未覆盖", **_dot("#ffffff", 4.5, stroke="#e31a1c", weight=2.0)}},
        "fields": ["name", "town", "population", "covered", "covered_by", "nearest_source", "nearest_kind",
                   "distance_m", "snap_m"],
        "values": {"covered": YES_NO, "nearest_kind": SOURCE_KIND_ZH}, "tip": ["name", "covered"],
        "tip_format": "{name} · 覆盖：{covered}",
    },
    "water_suggestions": {
        "order": 90, "label": ("rank",), "show_county": False,
        "default": {"label": "建议新增水源点（序号为优先级）", **_sym("star", "#ff7f00", 18, fill="#ffd92f")},
        "fields": ["rank", "source_kind", "road_name", "new_settlements", "new_population", "new_road_m"],
        "values": {"source_kind": SOURCE_KIND_ZH}, "tip": ["rank"], "tip_format": "建议水源 第{rank}号",
    },
    "water_spacing_gaps": {
        "order": 56, "show_county": False,
        "default": {"label": "消火栓间距超限（>120米）", **_line("#e7298a", 3.0, dashArray="3 4"),
                    **{"radius": 5.0, "fillColor": "#e7298a", "fillOpacity": 0.9}},
        "fields": ["spacing_m", "limit_m", "hydrant_a", "hydrant_b", "length_m"],
        "tip": ["spacing_m"], "tip_format": "消火栓间距 {spacing_m} 米",
    },

    # ---------------------------------------------------------------- micro fire stations
    "micro_coverage": {
        "order": 51, "by": "status",
        "classes": {"existing": {"label": "现状站3分钟可达道路", **_line("#b2182b", 3.5, opacity=0.75)},
                    "planned": {"label": "规划站3分钟可达道路", **_line("#ef8a62", 3.5, opacity=0.75,
                                                                   dashArray="6 4")}},
        "fields": ["station", "community", "status", "reached_m", "travel_m"],
        "values": {"status": STATUS_ZH}, "tip": ["station"],
    },
    "micro_communities": {
        "order": 79, "by": "covered_planned",
        "classes": {"true": {"label": "3分钟内可到场（含规划站）", **_dot("#1a9850", 5.5, stroke="#ffffff")},
                    "false": {"label": "3分钟内不能到场", **_dot("#ffffff", 5.5, stroke="#d73027", weight=2.5)}},
        "fields": ["name", "town", "population", "year", "covered", "time_min", "station", "covered_planned",
                   "time_min_planned", "station_planned", "covered_after", "offroad_m"],
        "values": {"covered": YES_NO, "covered_planned": YES_NO, "covered_after": YES_NO},
        "tip": ["name", "time_min_planned"], "tip_format": "{name} · {time_min_planned} 分钟",
    },
    "micro_suggestions": {
        "order": 91, "label": ("rank",), "show_county": False,
        "default": {"label": "建议新增微型消防站（序号为优先级）", **_sym("star", "#b2182b", 18, fill="#fddbc7")},
        "fields": ["rank", "town", "communities", "new_communities", "new_population", "road_name"],
        "tip": ["rank"], "tip_format": "建议微型消防站 第{rank}号",
    },

    # ---------------------------------------------------------------- building clusters
    "building_clusters": {
        "order": 19, "by": "over_limit", "show_county": False,
        "classes": {"true": {"label": "超过面积上限的连片区", **_fill("#d7301f", 0.55, stroke="#7f0000", weight=0.8)},
                    "false": {"label": "连片区（未超限）", **_fill("#fdbb84", 0.5, stroke="#b35806", weight=0.6)}},
        "fields": ["cluster_id", "buildings", "footprint_m2", "limit_m2", "over_limit", "parts", "cuts",
                   "grade_mix", "assumed_grades", "old_town", "town"],
        "values": {"over_limit": YES_NO}, "tip": ["cluster_id", "footprint_m2"],
        "tip_format": "连片区 {cluster_id} · {footprint_m2} 平方米",
    },
    "firebreak_suggestions": {
        "order": 59, "by": "measure", "show_county": False,
        "classes": {"设置防火墙": {"label": "设置防火墙", **_line("#000000", 3.0)}},
        "default": {"label": "拓宽防火间距", **_line("#2166ac", 3.0, dashArray="4 3")},
        "fields": ["cluster_id", "gap_m", "required_m", "shortfall_m", "measure", "building_a", "building_b"],
        "tip": ["measure", "gap_m"], "tip_format": "{measure} · 现状 {gap_m} 米",
    },

    # ---------------------------------------------------------------- forest barriers, checkpoints
    "barrier_bands": {
        "order": 26, "by": "barrier_type",
        "classes": {
            "工程阻隔": {"label": "工程阻隔带", **_fill("#b2182b", 0.5, weight=0.6)},
            "engineered": {"label": "工程阻隔带", **_fill("#b2182b", 0.5, weight=0.6)},
            "生物阻隔": {"label": "生物阻隔带", **_fill("#1b7837", 0.55, weight=0.6)},
            "biological": {"label": "生物阻隔带", **_fill("#1b7837", 0.55, weight=0.6)},
            "天然阻隔": {"label": "天然阻隔（水体等）", **_fill("#4393c3", 0.5, weight=0.6)},
            "existing natural": {"label": "天然阻隔（水体等）", **_fill("#4393c3", 0.5, weight=0.6)},
            "road": {"label": "道路阻隔", **_fill("#878787", 0.5, weight=0.6)},
            "道路阻隔": {"label": "道路阻隔", **_fill("#878787", 0.5, weight=0.6)},
            "待定": {"label": "类型待定", **_fill("#fee090", 0.5, stroke="#d8b365", weight=0.6)},
        },
        "fields": ["barrier_type", "town", "facing", "width_m", "edge_length_m", "area_m2", "slope_mean_deg"],
        "values": {"barrier_type": BARRIER_ZH}, "tip": ["barrier_type", "width_m"],
        "tip_format": "{barrier_type} · 宽 {width_m} 米",
    },
    "barrier_edges": {
        "order": 52, "show_county": False, "by": "barrier_type",
        "classes": {
            "工程阻隔": {"label": "林缘：工程阻隔", **_line("#b2182b", 2.0)},
            "生物阻隔": {"label": "林缘：生物阻隔", **_line("#1b7837", 2.0)},
            "天然阻隔": {"label": "林缘：天然阻隔", **_line("#4393c3", 2.0)},
            "待定": {"label": "林缘：类型待定", **_line("#d8b365", 2.0, dashArray="4 3")},
        },
        "default": {"label": "林缘起算线", **_line("#8c510a", 2.0)},
        "fields": ["barrier_type", "town", "facing", "width_m", "length_m", "distance_m", "separated_by"],
        "values": {"barrier_type": BARRIER_ZH, "separated_by": {"water": "水体"}},
        "tip": ["facing", "width_m"], "tip_format": "面向 {facing} · 宽 {width_m} 米",
    },
    "forest_blocks": {
        "order": 28, "show": False,
        "default": {"label": "林区分块", "color": "#00441b", "weight": 1.5, "dashArray": "5 4",
                    "fill": True, "fillColor": "#00441b", "fillOpacity": 0.04},
        "fields": ["block_id", "area_m2", "entries", "cut_size", "checkpoints", "road_length_m"],
        "tip": ["block_id"], "tip_format": "林区 {block_id}",
    },
    "checkpoints": {
        "order": 92, "by": "kind", "show_county": False,
        "classes": {
            "必经道口": {"label": "进入林区必经道口", **_sym("triangle", "#7f2704", 15, fill="#fd8d3c")},
            "road_entry": {"label": "进入林区必经道口", **_sym("triangle", "#7f2704", 15, fill="#fd8d3c")},
            "村口": {"label": "村镇出入口（临林）", **_sym("triangle", "#3f007d", 15, fill="#bcbddc")},
            "village_exit": {"label": "村镇出入口（临林）", **_sym("triangle", "#3f007d", 15, fill="#bcbddc")},
            "work_site": {"label": "林区作业点", **_sym("triangle", "#00441b", 15, fill="#a1d99b")},
            "forest_edge": {"label": "易发火险林缘", **_sym("triangle", "#67000d", 15, fill="#fb6a4a")},
        },
        "default": {"label": "其他卡点", **_sym("triangle", "#333333", 15, fill="#bdbdbd")},
        "fields": ["kind", "recommend", "reason", "rank", "item", "road_name", "road_class", "forest_block",
                   "settlements_behind", "population_behind", "work_sites_behind", "settlements"],
        "values": {"kind": CHECKPOINT_ZH, "recommend": {"standard": "标准检查站", "simple": "简易检查站",
                                                        "optional": "可选（过境道路）"}},
        "tip": ["kind", "road_name"],
    },

    # ---------------------------------------------------------------- forest-fire monitoring
    "monitor_viewsheds": {
        "order": 24, "by": "status",
        "classes": {"existing": {"label": "现状监控点可视林地", **_fill("#2b8cbe", 0.25, weight=0.6)},
                    "chosen": {"label": "规划新增监控点可视林地", **_fill("#88419d", 0.25, weight=0.6,
                                                                   dashArray="4 3")}},
        "fields": ["site", "status", "visible_forest_km2"],
        "values": {"status": {"existing": "现状", "chosen": "规划新增"}}, "tip": ["site", "visible_forest_km2"],
    },
    "monitor_blocks": {
        "order": 13, "show": False, "by": "seen_share_after",
        "bins": [(0.5, "规划后可视林地 <50%", "#d73027"), (0.9, "50–90%", "#fee08b"), (math.inf, "≥90%", "#1a9850")],
        "bin_style": {"weight": 1.2, "opacity": 0.9, "fill": True, "fillOpacity": 0.15},
        "fields": ["block_id", "forest_km2", "seen_share", "seen_share_after"],
        "tip": ["block_id", "seen_share_after"], "tip_format": "林区{block_id} · 规划后可视 {seen_share_after}",
    },
    "monitor_blind_spots": {
        "order": 26, "show_county": False,
        "default": _fill("#e31a1c", 0.3, stroke="#b10026", weight=1.0, dashArray="3 3"),
        "fields": ["area_km2"], "tip": ["area_km2"], "tip_format": "监控盲区 {area_km2} 平方公里",
    },
    "monitor_sites": {
        "order": 90, "by": "status", "label": ("name",),
        "exclude": {"status": ["candidate"]},  # the unchosen candidates are in results.gpkg / tables.xlsx
        "classes": {"existing": {"label": "现状监控点", **_sym("triangle", "#08519c", 15, fill="#6baed6")},
                    "chosen": {"label": "规划新增监控点", **_sym("star", "#54278f", 17, fill="#bcbddc")}},
        "fields": ["name", "status", "chosen", "rank", "added_forest_km2", "visible_forest_km2", "elevation_m",
                   "mast_m", "range_km"],
        "values": {"status": {"existing": "现状", "chosen": "规划新增", "candidate": "候选（未选）"}},
        "tip": ["name", "status"],
    },

    # ---------------------------------------------------------------- helicopter
    "heli_units": {
        "order": 12, "show": False, "by": "share_after",
        "bins": [(0.5, "取水点10公里覆盖林地 <50%", "#d73027"), (0.8, "50–80%", "#fee08b"),
                 (math.inf, "≥80%", "#1a9850")],
        "bin_style": {"weight": 1.5, "opacity": 0.9, "fill": True, "fillOpacity": 0.18},
        "fields": ["unit", "forest_km2", "share_before", "share_after", "sites_selected", "selected_sites", "pads"],
        "tip": ["unit", "share_after"], "tip_format": "{unit} · 覆盖 {share_after}",
    },
    "heli_water_bodies": {
        "order": 18,
        "derive": {"passed": ("area_ok", "clear_ok", "depth_ok", "approach_ok")}, "by": "passed",
        "classes": {"true": {"label": "满足吊桶取水条件", **_fill("#2166ac", 0.55, weight=1.2)},
                    "false": {"label": "不满足（见弹窗）", **_fill("#bababa", 0.45, stroke="#878787",
                                                            weight=1.0, dashArray="3 3")}},
        "fields": ["name", "unit", "passed", "reason", "area_m2", "area_ok", "clear_diameter_m", "clear_ok",
                   "depth_m", "depth_status", "approach_dirs", "approach_ok"],
        "values": {"passed": YES_NO, "depth_status": DEPTH_ZH}, "tip": ["name", "passed"],
        "tip_format": "{name} · 满足：{passed}",
    },
    "heli_dip_sites": {
        "order": 94, "by": "provisional",
        "classes": {"false": {"label": "取水点", **_sym("diamond", "#08306b", 16, fill="#4292c6")},
                    "true": {"label": "取水点（水深待测）", **_sym("diamond", "#08306b", 16, fill="#ffffff",
                                                               dashed=True)}},
        "default": {"label": "直升机取水点", **_sym("diamond", "#08306b", 16, fill="#4292c6")},
        "label": ("name",),
        "fields": ["name", "unit", "area_m2", "clear_diameter_m", "depth_m", "depth_status", "approach_dirs",
                   "forest_km2_in_radius", "round_trip_min"],
        "values": {"depth_status": DEPTH_ZH}, "tip": ["name", "unit"],
    },
    "heli_pads": {
        "order": 96, "as_points": True, "show_county": False,
        "by": "rank",
        "bins": [(1, "首选起降点（各单元第1）", "#006d2c"), (math.inf, "备选起降点", "#74c476")],
        "bin_style": {"symbol": "helipad", "size": 16, "fillColor": "#ffffff"},
        "fields": ["pad", "unit", "rank", "pad_area_m2", "candidate_area_m2", "slope_max_deg", "road_m",
                   "road_vehicle_class", "nearest_dip_site_km", "forest_m"],
        "values": {"road_vehicle_class": {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车"}},
        "tip": ["unit", "rank"], "tip_format": "{unit} 起降点 · 第{rank}",
    },

    # ---------------------------------------------------------------- road data quality
    "network_issues": {
        "title": "路网数据问题（待核实）", "group": "other", "order": 99, "show": False, "by": "kind",
        "classes": {
            "snapped_dangle": {"label": NETWORK_ISSUE_ZH["snapped_dangle"], **_sym("circle", "#1f78b4", 10)},
            "near_miss": {"label": NETWORK_ISSUE_ZH["near_miss"], **_sym("triangle", "#ff7f00", 12)},
            "unsplit_crossing": {"label": NETWORK_ISSUE_ZH["unsplit_crossing"], **_sym("diamond", "#e31a1c", 12)},
            "suspected_structure": {"label": NETWORK_ISSUE_ZH["suspected_structure"],
                                    **_sym("square", "#6a3d9a", 11)},
            "zero_length": {"label": NETWORK_ISSUE_ZH["zero_length"], **_sym("circle", "#999999", 8)},
            "duplicate_edge": {"label": NETWORK_ISSUE_ZH["duplicate_edge"], **_sym("square", "#b15928", 10)},
            "small_component": {"label": NETWORK_ISSUE_ZH["small_component"], **_sym("circle", "#000000", 11)},
        },
        "fields": [("kind", "问题类型"), ("note", "说明"), ("road_fid", "道路要素编号"),
                   ("other_fid", "相关道路要素编号"), ("distance_m", "距离（米）"), ("length_m", "长度（米）")],
        "values": {"kind": NETWORK_ISSUE_ZH}, "tip": ["kind"],
    },
}

#: Rule for any layer not listed above (new analyses appear on the map unstyled but readable).
DEFAULT_RULE: dict = {
    "group": "other", "order": 60,
    "default": {"color": "#6a3d9a", "weight": 2.0, "opacity": 0.9, "fill": True, "fillColor": "#cab2d6",
                "fillOpacity": 0.3, "radius": 4.5},
}

GROUP_ZH = {"access": "消防车通道", "response": "消防救援到场", "water": "消防水源", "forest": "森林防火",
            "monitor": "森林防火监控", "heli": "航空消防", "micro": "微型消防站", "clusters": "建筑连片密集区",
            "other": "其他分析结果", "base": "基础数据"}
#: Input layer kinds (drawn as "基础数据"), everything else is a result.
GROUP_ORDER = ("access", "response", "water", "forest", "monitor", "heli", "micro", "clusters", "other", "base")
#: Analysis (as registered) -> its group in the layer control; a new analysis is its own group,
#: headed by its registered Chinese title (:func:`group_titles`).
ANALYSIS_GROUP = {"access": "access", "response": "response", "water": "water", "barriers": "forest",
                  "checkpoints": "forest", "monitoring": "monitor", "helicopter": "heli", "micro_stations": "micro",
                  "building_clusters": "clusters"}
#: Units of the result schema in Chinese (legends and popup labels).
UNIT_ZH = {"m": "米", "min": "分钟", "%": "%", "km": "公里", "km2": "平方公里", "m2": "平方米", "m3": "立方米",
           "deg": "度", "km/h": "公里/小时", "mm": "毫米", "kV": "千伏"}

_SYMBOL_SHAPES = ("circle", "square", "triangle", "diamond", "star", "drop", "helipad", "station")


# ------------------------------------------------------------------------------------------------
# values


def value_key(v) -> str:
    """The key a value is looked up by in ``classes``/``values``: bools -> "true"/"false", NaN -> ""."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return ""
        if float(v).is_integer():
            return str(int(v))
        return repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    s = str(v).strip()
    if s.lower() in ("true", "false"):
        return s.lower()
    return s


def format_value(v, column: str | None = None, rule: dict | None = None) -> str:
    """A value as plain (unescaped) Chinese text: bools 是/否, floats to 1-2 decimals, codes translated."""
    if v is None or (isinstance(v, (float, np.floating)) and not math.isfinite(v)):
        return ""
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    values = (rule or {}).get("values", {}).get(column) if column else None
    key = value_key(v)
    if values and key in values:
        return values[key]
    if isinstance(v, (bool, np.bool_)):
        return YES_NO[key]
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        if abs(f) >= 100:
            return f"{f:.0f}"
        if abs(f) >= 1:
            return f"{f:.1f}"
        return f"{f:.2f}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (list, tuple, set)):
        return "、".join(str(x) for x in v)
    return str(v)


# ------------------------------------------------------------------------------------------------
# rules: the hand style of a layer completed from the result schema (kzgis/schema.py)


def schema_layer(name: str):
    """The :class:`kzgis.schema.ResultLayer` declared for ``name``, or None (input layers, tables of
    other tools). The analyses declare their layers when imported: they are all imported first."""
    from .. import schema

    lay = schema.LAYERS.get(name)
    if lay is None and not _LOADED:
        from .. import analysis

        analysis.load_all()
        _LOADED.append(True)
        lay = schema.LAYERS.get(name)
    return lay


_LOADED: list = []


def rule_for(name: str, frame=None) -> dict:
    """The style rule of a layer: its hand style (:data:`LAYER_STYLES`) completed from the result
    schema (title, group, popup labels), or :func:`default_rule` for a declared layer without a hand
    style, or :data:`DEFAULT_RULE` titled by the name for anything else.

    With ``frame`` (the layer's data), what the default rule leaves to the data is settled on it:
    which text column colours the layer, the class breaks of a numeric column.
    """
    hand = LAYER_STYLES.get(name)
    lay = schema_layer(hand.get("schema", name) if hand else name)
    if hand is None and lay is None:
        return {**DEFAULT_RULE, "title": name}
    if hand is None:
        rule = default_rule(lay, frame)
    else:
        rule = dict(hand)
        if lay is not None:
            rule.setdefault("title", lay.title_zh)
            rule.setdefault("group", analysis_group(lay.analysis))
    if lay is not None:
        rule["schema"] = lay.name
    return rule


def analysis_group(analysis: str) -> str:
    """The layer-control group of an analysis's layers (its own name for a new analysis)."""
    return ANALYSIS_GROUP.get(analysis, analysis)


def group_titles(groups=()) -> dict[str, str]:
    """Group key -> Chinese heading: :data:`GROUP_ZH`, and for each of ``groups`` (those a map draws)
    that is a new analysis's own group, the analysis's registered title (so a map depends only on
    what it draws, not on what else happens to be registered)."""
    from .. import analysis

    out = dict(GROUP_ZH)
    extra = {g for g in groups if g and g not in out}
    if extra:
        for name, spec in analysis.load_all().items():
            if analysis_group(name) in extra:
                out.setdefault(analysis_group(name), spec.title_zh)
    return out


def group_rank(group: str) -> float:
    """Sort rank of a group in the layer control: :data:`GROUP_ORDER`, new analyses just before "other"."""
    if group in GROUP_ORDER:
        return float(GROUP_ORDER.index(group))
    return GROUP_ORDER.index("other") - 0.5


def unit_zh(unit: str) -> str:
    return UNIT_ZH.get(unit, unit)


def _short(label: str) -> str:
    """A label without its unit in brackets: ``到场时间（分钟）`` -> ``到场时间``."""
    return re.sub(r"（[^（）]*）$", "", label) or label


def field_label(layer: str | None, column: str) -> str:
    """The Chinese label of ``column`` in result ``layer``: the schema's (:func:`kzgis.schema.label_zh`;
    a pattern column's with its placeholder filled in: ``within_7_5`` -> 7.5分钟内到场), with its unit
    when the label lacks it; the shared labels (:func:`kzgis._labels.header_zh`) for other columns."""
    from .. import schema
    from .._labels import header_zh

    label = schema.label_zh(layer, str(column)) if layer else None
    if not label or not _HAN.search(label):
        return header_zh(str(column))
    col = schema.declared_column(layer, str(column)) if layer else None
    u = unit_zh(col.unit) if col is not None and col.unit else ""
    if u and u not in label:
        label = f"{label}（{u}）"
    return label


_HAN = re.compile(r"[\u3400-\u9fff]")


def popup_fields(name: str, rule: dict, columns) -> list[tuple[str, str]]:
    """(column, Chinese label) shown in the popup: the rule's fields that the frame has.

    A field is a column name (labelled from the result schema, see :func:`field_label`; a pattern
    such as ``within_{n}`` stands for each of its columns) or, for input layers, a (column, label)
    pair. Layers without fields show their first 12 attribute columns.
    """
    from .. import schema

    cols = [c for c in columns if c != "geometry" and not str(c).startswith("_")]
    layer = rule.get("schema")
    if "fields" not in rule:
        return [(c, field_label(layer, c)) for c in cols[:12]]
    out = []
    for f in rule["fields"]:
        if isinstance(f, tuple):
            if f[0] in cols:
                out.append(f)
        elif "{" in f:
            pat = schema.Column(f, "str")
            out += [(c, field_label(layer, c)) for c in cols if pat.matches(str(c))]
        elif f in cols:
            out.append((f, field_label(layer, f)))
    return out


# ------------------------------------------------------------------------------------------------
# the default style of a declared layer without a hand style

#: Geometry of a declared layer -> the drawing order of its default style (polygons below lines below points).
_DEFAULT_ORDER = {"Polygon": 30, "LineString": 62, "Point": 89}
#: Colours of a true / false column (the flagged features stand out) and of a layer with no class.
BOOL_COLOURS = {"true": "#d95f02", "false": "#9e9ac8"}
SINGLE_COLOUR = "#6a3d9a"
#: Sequential ramp for a numeric column with a unit (minutes use :data:`TIME_BINS`).
GRADED_RAMP = ["#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]
#: Units a numeric column may be graded by, preferred first.
GRADED_UNITS = ("min", "%", "m", "km", "m2", "km2", "deg", "m3", "km/h")
#: Coordinates are never a colour class.
COORDINATE_COLUMNS = {"x", "y", "lon", "lat", "lon_cgcs2000", "lat_cgcs2000"}
#: Columns that name a feature: the first of them starts the tooltip (else the first text column).
NAME_COLUMNS = ("name", "site", "station", "unit", "town")


def _geom_style(geometry: str | None, colour: str, strong: bool = True) -> dict:
    if geometry == "Point":
        return _dot(colour, 5.0 if strong else 4.0, stroke="#333333")
    if geometry == "LineString":
        return _line(colour, 3.0 if strong else 2.0)
    return _fill(colour, 0.35 if strong else 0.2, weight=1.0)


def _bin_style(geometry: str | None) -> dict:
    if geometry == "Point":
        return {"weight": 1.0, "color": "#333333", "radius": 5.0, "fill": True, "fillOpacity": 0.95}
    if geometry == "LineString":
        return {"weight": 3.0, "opacity": 0.95}
    return {"weight": 1.0, "opacity": 0.9, "fill": True, "fillOpacity": 0.35}


def default_rule(lay, frame=None) -> dict:
    """The style of a declared result layer without a hand style, from its schema.

    Title and group from the declaration (group: its analysis); the popup lists every declared
    column with its label and unit. The colour class: the layer's ``style_by`` hint, else its first
    bool column (是/否 legend), else a numeric column with a unit (graded: minutes in the time classes
    of the other maps, anything else in classes of the values present), else a text column whose
    values are few (a palette; coded values translated as in :data:`kzgis._labels.VALUES_ZH`),
    else one colour.
    """
    from .._labels import VALUES_ZH

    geometry = lay.geometry
    rule: dict = {"title": lay.title_zh, "group": analysis_group(lay.analysis),
                  "order": _DEFAULT_ORDER.get(geometry or "", 60), "fields": [c.name for c in lay.columns],
                  "default": {"label": lay.title_zh, **_geom_style(geometry, SINGLE_COLOUR)}}
    values = {c.name: VALUES_ZH[c.name] for c in lay.columns if c.kind == "str" and c.name in VALUES_ZH}
    if values:
        rule["values"] = values
    col = _style_column(lay, frame)
    texts = [c for c in lay.columns if c.kind == "str" and not c.is_pattern and c is not col]
    name_col = next((c for n in NAME_COLUMNS for c in texts if c.name == n), texts[0] if texts else None)
    tip = [name_col.name] if name_col is not None else []
    if col is None:
        rule["tip"] = tip or [c.name for c in lay.columns if not c.is_pattern][:1]
        return rule
    label = field_label(lay.name, col.name)
    rule["by"] = col.name
    if col.name not in tip:
        tip.append(col.name)
    rule["tip"] = tip
    short = _short(label).replace("{", "{{").replace("}", "}}")
    if col.kind == "bool":
        rule["classes"] = {key: {"label": f"{_short(label)}：{YES_NO[key]}",
                                 **_geom_style(geometry, BOOL_COLOURS[key], strong=key == "true")}
                           for key in ("true", "false")}
        rule["tip_format"] = " · ".join(([f"{{{name_col.name}}}"] if name_col is not None else [])
                                        + [f"{short}：{{{col.name}}}"])
    elif col.kind in ("int", "float"):
        rule["bins"] = _graded_bins(frame[col.name] if frame is not None and col.name in frame.columns else None,
                                    col.unit)
        rule["bin_style"] = _bin_style(geometry)
        rule["missing"] = {"label": "无数据", **_geom_style(geometry, "#bdbdbd", strong=False)}
        u = unit_zh(col.unit)
        rule["tip_format"] = " · ".join(([f"{{{name_col.name}}}"] if name_col is not None else [])
                                        + [f"{short} {{{col.name}}}{u}"])
    else:
        rule["palette"] = PALETTE
        rule["palette_style"] = without_label(_geom_style(geometry, SINGLE_COLOUR))
    return rule


def _style_column(lay, frame):
    """The declared column that colours a layer by default (see :func:`default_rule`), or None.

    With the data, a column whose values all agree (every settlement snapped) is passed over for
    one that tells features apart, and a text column qualifies when it has 2-8 values.
    """
    cols = [c for c in lay.columns if not c.is_pattern]
    if lay.style_by:
        hinted = [c for c in cols if c.name == lay.style_by]
        if hinted:
            return hinted[0]
    present = [c for c in cols if frame is None or c.name in frame.columns]
    bools = [c for c in present if c.kind == "bool"]
    graded = [c for unit in GRADED_UNITS for c in present
              if c.kind in ("int", "float") and c.unit == unit and c.name not in COORDINATE_COLUMNS]
    if frame is None:
        return (bools + graded or [None])[0]
    distinct = {c.name: frame[c.name].nunique(dropna=True) for c in bools + graded}
    for c in bools + graded:
        if distinct[c.name] > 1:
            return c
    for c in present:
        if c.kind == "str" and c.name not in NAME_COLUMNS:
            n = frame[c.name].nunique(dropna=True)
            if 1 < n <= 8 and n < len(frame):
                return c
    return (bools + graded or [None])[0]


def _nice(v: float) -> float:
    """``v`` rounded to two significant digits (class breaks people read)."""
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.2g}")


def _graded_bins(values, unit: str) -> list:
    """(upper bound, legend label, colour) classes of a numeric column: the time classes of the other
    maps for minutes, else up to five classes at rounded quantiles of the values present."""
    if unit == "min":
        return list(TIME_BINS)
    u = unit_zh(unit)
    vals = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float) if values is not None \
        else np.array([])
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return [(math.inf, f"有数值（{u}）" if u else "有数值", GRADED_RAMP[2])]
    top = float(vals.max())
    breaks = sorted({_nice(float(q)) for q in np.quantile(vals, [0.2, 0.4, 0.6, 0.8])})
    breaks = [b for b in breaks if b < top]
    if not breaks:
        return [(math.inf, f"{_nice(top):g}{u}", GRADED_RAMP[-1])]
    colours = ramp_colours(GRADED_RAMP, len(breaks) + 1)
    out = [(breaks[0], f"≤{breaks[0]:g}{u}", colours[0])]
    for i in range(1, len(breaks)):
        out.append((breaks[i], f"{breaks[i - 1]:g}–{breaks[i]:g}{u}", colours[i]))
    out.append((math.inf, f">{breaks[-1]:g}{u}", colours[-1]))
    return out


def format_column(values, column: str | None = None, rule: dict | None = None) -> list[str]:
    """:func:`format_value` of every value of a column (a pandas Series), as a list.

    The same text as ``[format_value(v, column, rule) for v in values]`` (with the values as
    ``DataFrame.to_dict("records")`` gives them), but plain numeric and boolean columns are
    formatted as arrays and repeated values of other columns are formatted once.
    """
    table = (rule or {}).get("values", {}).get(column) if column else None
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        yes = table.get("true", YES_NO["true"]) if table else YES_NO["true"]
        no = table.get("false", YES_NO["false"]) if table else YES_NO["false"]
        return [yes if v else no for v in values.to_numpy().tolist()]
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and not table:
        return _format_floats(values.to_numpy(dtype=float))
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and not table:
        return [str(v) for v in values.to_numpy().tolist()]
    out = []
    cache: dict = {}
    for v in values.astype(object).tolist():
        try:
            key = (type(v), v)
            text = cache.get(key)
        except TypeError:  # unhashable (a list)
            out.append(format_value(v, column, rule))
            continue
        if text is None:
            text = cache[key] = format_value(v, column, rule)
        out.append(text)
    return out


def _format_floats(a: np.ndarray) -> list[str]:
    """:func:`format_value` of float values, as arrays (same rounding: both use Python's float
    formatting; integers below 1e15 without decimals)."""
    out = np.full(len(a), "", dtype=object)
    fin = np.isfinite(a)
    whole = fin & (np.floor(np.where(fin, a, 0.0)) == a) & (np.abs(a) < 1e15)
    if whole.any():
        out[whole] = [str(v) for v in a[whole].astype(np.int64).tolist()]
    mag = np.abs(np.where(fin, a, 0.0))
    rest = fin & ~whole
    for m, fmt in ((rest & (mag >= 100), "%.0f"), (rest & (mag >= 1) & (mag < 100), "%.1f"),
                   (rest & (mag < 1), "%.2f")):
        if m.any():
            out[m] = [fmt % v for v in a[m].tolist()]
    return out.tolist()


def tooltip_text(rule: dict, props: dict, fields: list[tuple[str, str]]) -> str:
    """Plain text of the hover tooltip (escaped by the caller)."""
    tip = tooltip_columns(rule, fields)
    return tooltip_from_shown(rule, tip, {c: format_value(props.get(c), c, rule) for c in tip})


def tooltip_columns(rule: dict, fields: list[tuple[str, str]]) -> list[str]:
    """The columns a layer's tooltip is made of (the rule's ``tip``, else the first two fields)."""
    tip = rule.get("tip")
    if tip is None:
        tip = [c for c, _ in fields[:2]]
    return list(tip)


def tooltip_from_shown(rule: dict, tip: list[str], shown: dict) -> str:
    """The tooltip text from the formatted values ``shown`` (column -> text) of the ``tip`` columns."""
    fmt = rule.get("tip_format")
    if fmt and all(shown.get(c) for c in tip):
        try:
            return fmt.format(**shown)
        except (KeyError, IndexError, ValueError):
            pass
    parts = [shown[c] for c in tip if shown.get(c)]
    title = rule.get("title", "")
    return " · ".join(parts) if parts else title


def display_frame(name: str, gdf):
    """The rows and geometry of a layer as drawn: the rule's ``exclude`` rows dropped, ``derive``d
    columns added (``passed`` = every listed ``*_ok`` column true; unknown counts as true),
    ``as_points`` geometries replaced by a point on their surface."""
    rule = rule_for(name)
    for col, values in rule.get("exclude", {}).items():
        if col in gdf.columns:
            gdf = gdf[~gdf[col].map(value_key).isin([value_key(v) for v in values])]
    for new, cols in rule.get("derive", {}).items():
        have = [c for c in cols if c in gdf.columns]
        if new not in gdf.columns and have:
            ok = np.ones(len(gdf), dtype=bool)
            for c in have:
                v = gdf[c]
                ok &= ~v.map(value_key).eq("false").to_numpy()
            gdf = gdf.assign(**{new: ok})
    if rule.get("as_points") and len(gdf):
        import shapely

        pts = shapely.point_on_surface(np.asarray(gdf.geometry.values, dtype=object))
        gdf = gdf.set_geometry(type(gdf.geometry)(pts, index=gdf.index, crs=gdf.crs))
    return gdf


@dataclass
class Classified:
    """Result of :func:`classify`: per-feature class index and the class styles and legend."""

    index: np.ndarray  # int per feature -> styles[i]
    styles: list[dict]  # Leaflet style dicts (with "symbol" for icon points)
    legend: list[tuple[str, dict]]  # (label, style) in legend order, only classes present
    radius: np.ndarray | None = None  # per-feature radius (points sized by a column)
    order: np.ndarray | None = None  # draw order of features (e.g. big isochrones first)
    labels: list[str] = field(default_factory=list)  # a label per style (cluster tooltips)


def without_label(style: dict) -> dict:
    return {k: v for k, v in style.items() if k != "label"}


def ramp_colours(ramp: list[str], n: int) -> list[str]:
    if n <= 1:
        return [ramp[0]]
    idx = np.linspace(0, len(ramp) - 1, n)
    out = []
    for t in idx:
        lo = int(math.floor(t))
        hi = min(lo + 1, len(ramp) - 1)
        f = t - lo
        a = [int(ramp[lo][i:i + 2], 16) for i in (1, 3, 5)]
        b = [int(ramp[hi][i:i + 2], 16) for i in (1, 3, 5)]
        out.append("#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b)))
    return out


def geom_default(style: dict, geom_kind: str) -> dict:
    """Complete a style for the geometry it is applied to (points need a radius, polygons a fill)."""
    s = dict(style)
    if geom_kind == "point" and "symbol" not in s:
        s.setdefault("radius", 4.5)
        s.setdefault("fill", True)
        s.setdefault("fillColor", s.get("color", "#6a3d9a"))
        s.setdefault("fillOpacity", 0.9)
    if geom_kind == "line":
        s.pop("radius", None)
        s["fill"] = False
    if geom_kind == "polygon":
        s.pop("radius", None)
    return s


def style_columns(rule: dict) -> list[str]:
    """The columns :func:`classify` reads for a rule (``by``, ``size_by``, ``sort_desc``, ``shape_by``,
    ``dash_by``)."""
    cols = [rule.get("by"), (rule.get("size_by") or (None,))[0], rule.get("sort_desc"), rule.get("shape_by"),
            rule.get("dash_by")]
    return list(dict.fromkeys(c for c in cols if c))


def classify(name: str, gdf, geom_kind: str = "polygon", rule: dict | None = None) -> Classified:
    """Apply the rule of layer ``name`` to ``gdf`` (columns as produced by the analysis).

    ``geom_kind`` is "point", "line" or "polygon" (what the layer mostly holds). ``rule``: the
    layer's rule when the caller has it (settled on the whole layer; default ``rule_for(name, gdf)``).
    """
    if rule is None:
        rule = rule_for(name, gdf)
    n = len(gdf)
    by = rule.get("by")
    col = gdf[by] if by and by in gdf.columns else None
    default = rule.get("default") or DEFAULT_RULE["default"]
    styles: list[dict] = []
    legend: list[tuple[str, dict]] = []
    index = np.zeros(n, dtype=int)

    def add(label, style):
        styles.append(geom_default(without_label(style), geom_kind))
        legend.append((label, styles[-1]))
        return len(styles) - 1

    if col is not None and "classes" in rule:
        keys = col.map(value_key)
        seen = set(keys)
        slot = {}
        for key, style in rule["classes"].items():
            if key in seen:
                slot[key] = add(style.get("label", key), style)
        rest = [k for k in keys.unique() if k not in slot]
        if rest:
            d = add(default.get("label", rule.get("title", name)), default)
            for k in rest:
                slot[k] = d
        index = keys.map(slot).to_numpy(dtype=int)
    elif col is not None and "bins" in rule:
        vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        index = np.full(n, -1)
        lower = -math.inf
        for upper, label, colour in rule["bins"]:
            m = (vals > lower) & (vals <= upper)
            if lower == -math.inf:
                m = vals <= upper
            if m.any():
                base = rule.get("bin_style", {})
                if "symbol" in base:
                    style = {**base, "color": colour}
                else:
                    style = {**base, "fillColor": colour, **({"color": colour} if geom_kind != "point" else {})}
                index[m] = add(label, style)
            lower = upper
        miss = ~np.isfinite(vals)
        if miss.any():
            mstyle = rule.get("missing") or default
            index[miss] = add(mstyle.get("label", "无数据"), mstyle)
    elif col is not None and "ramp" in rule:
        vals = pd.to_numeric(col, errors="coerce")
        uniq = sorted(v for v in vals.dropna().unique())
        colours = ramp_colours(rule["ramp"], len(uniq))
        slot = {}
        for v, c in zip(uniq, colours):
            slot[v] = add(rule.get("ramp_label", "{v:g}").format(v=v),
                          {**rule.get("ramp_style", {}), "color": c, "fillColor": c})
        index = vals.map(slot)
        if index.isna().any():
            d = add(default.get("label", "无数据"), default)
            index = index.fillna(d)
        index = index.to_numpy(dtype=int)
    elif col is not None and "palette" in rule:
        keys = col.map(value_key)
        values = rule.get("values", {}).get(by, {})
        present = set(keys.unique())
        known = [k for k in values if k in present]  # translated values first, in the rule's order
        uniq = known + sorted(present - set(known))
        pal = rule["palette"]
        slot = {}
        for i, k in enumerate(uniq):
            c = pal[i % len(pal)]
            base = rule.get("palette_style", {})
            style = {**base, "color": c, "fillColor": c}
            if "symbol" in base:
                style = _sym(base["symbol"], "#333333", base.get("size", 14), fill=c)
            slot[k] = add(values.get(k, k) or "（空）", style)
        index = keys.map(slot).to_numpy(dtype=int)
    else:
        add(default.get("label", rule.get("title", name)), default)

    radius = None
    sb = rule.get("size_by")
    if sb and sb[0] in gdf.columns and geom_kind == "point":
        v = pd.to_numeric(gdf[sb[0]], errors="coerce").to_numpy(dtype=float)
        lo, hi = sb[1], sb[2]
        if np.isfinite(v).any():
            top = np.nanpercentile(v, 98) if np.isfinite(v).sum() > 1 else np.nanmax(v)
            top = top if top > 0 else 1.0
            r = lo + (hi - lo) * np.sqrt(np.clip(np.nan_to_num(v, nan=0.0), 0, top) / top)
            radius = np.round(r, 1)

    style_labels = [lab for lab, _ in legend]  # one per style while styles and legend align
    if geom_kind == "point" and n and (rule.get("shape_by") in gdf.columns or rule.get("dash_by") in gdf.columns):
        index, styles, legend, style_labels = _shape_and_dash(rule, gdf, np.asarray(index, dtype=int), styles,
                                                              legend)

    order = None
    if rule.get("sort_desc") and rule["sort_desc"] in gdf.columns:
        key = pd.to_numeric(gdf[rule["sort_desc"]], errors="coerce").fillna(0).to_numpy()
        order = np.argsort(-key, kind="stable")
    return Classified(index=np.asarray(index, dtype=int), styles=styles, legend=legend, radius=radius,
                      order=order, labels=style_labels)


def _shape_and_dash(rule, gdf, index, styles, legend):
    """Second and third visual variables on top of the colour class of point layers.

    ``shape_by`` (a column) with ``shapes`` (value -> style overrides such as ``symbol``): the
    feature keeps its class colour and takes the shape of its value. ``dash_by`` (a numeric
    column): where it is > 0 the outline is dashed. The legend gains one neutral entry per shape
    present and one for the dashed outline.
    """
    n = len(gdf)
    shapes = rule.get("shapes", {})
    sb, db = rule.get("shape_by"), rule.get("dash_by")
    keys = gdf[sb].map(value_key).to_numpy(object) if sb in gdf.columns else np.full(n, "", dtype=object)
    keys = np.where(np.isin(keys, list(shapes)), keys, "")
    dash = (pd.to_numeric(gdf[db], errors="coerce").fillna(0).to_numpy(float) > 0) if db in gdf.columns else \
        np.zeros(n, dtype=bool)
    combo = pd.MultiIndex.from_arrays([index, keys, dash])
    codes, uniq = pd.factorize(combo)
    new_styles, new_labels = [], []
    for base, key, dashed in uniq:
        lab = legend[base][0] if base < len(legend) else ""
        if key and shapes[key].get("label"):
            lab += " · " + shapes[key]["label"]
        new_labels.append(lab + (" · " + rule.get("dash_label", "") if dashed else ""))
        st = dict(styles[base])
        if key:
            st.update(without_label(shapes[key]))
            if "symbol" in st:  # icons: the class colour fills the shape, a dark outline
                st["fillColor"] = st.get("fillColor", st.get("color"))
                st["color"] = "#333333"
        if dashed:
            if "symbol" in st:
                st["dashed"] = True
            else:
                st.update({"dashArray": "3 2", "weight": 1.6})
        new_styles.append(st)
    legend = list(legend)
    neutral = {"color": "#333333", "fillColor": "#ffffff", "weight": 1.2, "radius": 4.5, "fill": True,
               "fillOpacity": 1.0}
    for key, st in shapes.items():
        if (keys == key).any():
            legend.append((st.get("label", key), {**neutral, **without_label(st)}))
    if dash.any():
        legend.append((rule.get("dash_label", "虚线框"), {**neutral, "dashArray": "3 2", "weight": 1.6}))
    return codes.astype(int), new_styles, legend, new_labels


# ------------------------------------------------------------------------------------------------
# symbols and legend swatches (SVG strings; every text is escaped)


def symbol_svg(style: dict, size: int | None = None) -> str:
    """Inline SVG for a point symbol (used on the map by the Leaflet divIcon and in the legend)."""
    shape = style.get("symbol", "circle")
    if shape not in _SYMBOL_SHAPES:
        shape = "circle"
    s = int(size or style.get("size", 14))
    stroke = escape(str(style.get("color", "#333333")), quote=True)
    fill = escape(str(style.get("fillColor", stroke)), quote=True)
    dash = ' stroke-dasharray="2 1.5"' if style.get("dashed") else ""
    sw = 1.5
    h = s / 2
    body = ""
    if shape == "circle":
        body = f'<circle cx="{h}" cy="{h}" r="{h - sw}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash}/>'
    elif shape == "square":
        body = (f'<rect x="{sw}" y="{sw}" width="{s - 2 * sw}" height="{s - 2 * sw}" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="{sw}"{dash}/>')
    elif shape == "triangle":
        body = (f'<polygon points="{h},{sw} {s - sw},{s - sw} {sw},{s - sw}" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{sw}" stroke-linejoin="round"{dash}/>')
    elif shape == "diamond":
        body = (f'<polygon points="{h},{sw} {s - sw},{h} {h},{s - sw} {sw},{h}" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="{sw}"{dash}/>')
    elif shape == "star":
        pts = []
        for i in range(10):
            r = (h - sw) if i % 2 == 0 else (h - sw) * 0.45
            a = -math.pi / 2 + i * math.pi / 5
            pts.append(f"{h + r * math.cos(a):.1f},{h + r * math.sin(a):.1f}")
        body = (f'<polygon points="{" ".join(pts)}" fill="{fill}" stroke="{stroke}" stroke-width="1.2" '
                f'stroke-linejoin="round"/>')
    elif shape == "drop":
        body = (f'<path d="M{h},{sw} C{h},{sw} {s - sw * 2},{h * 1.05} {s - sw * 2},{h * 1.3} '
                f'A{h - sw * 1.5},{h - sw * 1.5} 0 0 1 {sw * 2},{h * 1.3} C{sw * 2},{h * 1.05} {h},{sw} {h},{sw}Z" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash}/>')
    elif shape == "helipad":
        fs = s * 0.62
        body = (f'<circle cx="{h}" cy="{h}" r="{h - sw}" fill="{fill}" stroke="{stroke}" stroke-width="2"{dash}/>'
                f'<text x="{h}" y="{h + fs * 0.36:.1f}" font-size="{fs:.1f}" font-weight="bold" '
                f'font-family="Arial,sans-serif" text-anchor="middle" fill="{stroke}">H</text>')
    elif shape == "station":
        fs = s * 0.62
        txt = "#ffffff" if fill.lower() != "#ffffff" else stroke
        body = (f'<rect x="{sw}" y="{sw}" width="{s - 2 * sw}" height="{s - 2 * sw}" rx="2" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="{sw + 0.5}"{dash}/>'
                f'<text x="{h}" y="{h + fs * 0.36:.1f}" font-size="{fs:.1f}" font-weight="bold" '
                f'font-family="sans-serif" text-anchor="middle" fill="{txt}">消</text>')
    if style.get("cross"):
        body += (f'<path d="M{s * 0.25},{s * 0.45} L{s * 0.75},{s * 0.95} M{s * 0.75},{s * 0.45} '
                 f'L{s * 0.25},{s * 0.95}" stroke="#e31a1c" stroke-width="2"/>')
    return (f'<svg width="{s}" height="{s}" viewBox="0 0 {s} {s}">'
            f"{body}</svg>")


def swatch_svg(style: dict, geom_kind: str) -> str:
    """A small legend swatch for a class style: a line, a filled box, a dot or the symbol."""
    if "symbol" in style:
        return symbol_svg(style, size=min(int(style.get("size", 14)), 18))
    c = escape(str(style.get("color", "#333333")), quote=True)
    dash = style.get("dashArray")
    dash_attr = f' stroke-dasharray="{escape(str(dash), quote=True)}"' if dash else ""
    w = float(style.get("weight", 1.5))
    if geom_kind == "point":
        r = min(float(style.get("radius", 4.5)), 7.0)
        fc = escape(str(style.get("fillColor", c)), quote=True)
        return (f'<svg width="18" height="16"><circle cx="9" cy="8" r="{r}" '
                f'fill="{fc}" stroke="{c}" stroke-width="{min(w, 2.0)}"{dash_attr}/></svg>')
    if geom_kind == "line" or not style.get("fill", True):
        return (f'<svg width="28" height="14"><line x1="2" y1="7" x2="26" y2="7" '
                f'stroke="{c}" stroke-width="{min(w, 5.0)}" stroke-opacity="{style.get("opacity", 1)}"'
                f'{dash_attr}/></svg>')
    fc = escape(str(style.get("fillColor", c)), quote=True)
    fo = min(float(style.get("fillOpacity", 0.3)) + 0.15, 1.0)
    return (f'<svg width="28" height="16"><rect x="2" y="2" width="24" height="12" '
            f'fill="{fc}" fill-opacity="{fo:.2f}" stroke="{c}" stroke-width="{min(max(w, 1.0), 2.5)}"'
            f'{dash_attr}/></svg>')
