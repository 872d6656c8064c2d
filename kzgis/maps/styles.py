"""Map style rules, as data: one dict per layer, and the functions that apply them.

Every input layer kind and every known result layer has an entry in :data:`LAYER_STYLES`. A rule
says how the layer is drawn (``geom`` pane, ``order``), what selects a feature's class (``by`` a
column with ``classes``, numeric ``bins`` or a ``ramp`` over the values present, or a ``palette``
over category values), which columns its tooltip and popup show (with Chinese labels), and how
values are written (``values``: raw value -> Chinese text). Unknown layers get
:data:`DEFAULT_RULE`, so a new analysis shows up on the map before anyone styles it.

:func:`classify` turns a rule and a frame into the per-feature class index, the list of Leaflet
style dicts and the legend entries; the maps module only ever reads these.

Style dicts use Leaflet path options (``color``, ``weight``, ``dashArray``, ``fillColor``,
``fillOpacity``, ``radius``); point classes with a ``symbol`` are drawn as small SVG icons
(:func:`symbol_svg`) that the legend reuses.
"""

from __future__ import annotations

import math
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
        "title": "道路消防车通行能力", "group": "access", "order": 50, "by": "vehicle_class",
        "classes": {
            "standard": {"label": "标准消防车可通行（宽≥4米）", **_line("#1a9850", 3.0)},
            "small": {"label": "仅小型消防车可通行", **_line("#fd8d3c", 2.6)},
            "motorcycle": {"label": "仅消防摩托车可通行", **_line("#d7301f", 2.2, dashArray="6 3")},
            "none": {"label": "消防车辆不可通行", **_line("#636363", 1.5, dashArray="2 4")},
        },
        "fields": [("name", "道路名称"), ("vehicle_class", "通行车型"), ("width_m", "宽度（米）"),
                   ("width_source", "宽度来源"), ("grade_max_pct", "最大纵坡（%）"),
                   ("length_m", "长度（米）"), ("road_class", "道路等级"), ("turnaround", "有回车场")],
        "values": {"vehicle_class": VEHICLE_ZH, "width_source": WIDTH_SOURCE_ZH},
        "tip": ["name", "vehicle_class"],
    },
    "access_settlements": {
        "title": "居民点消防车可达性", "group": "access", "order": 76, "by": "best_vehicle",
        "classes": {
            "standard": {"label": "标准消防车可达", **_dot("#1a9850", 5.0, stroke="#00441b")},
            "small": {"label": "仅小型消防车可达", **_dot("#fd8d3c", 5.0, stroke="#7f2704")},
            "motorcycle": {"label": "仅消防摩托车可达", **_dot("#d7301f", 5.0, stroke="#67000d")},
            "none": {"label": "任何消防车辆均无法到达", **_dot("#252525", 5.0, stroke="#ffffff")},
        },
        "fields": [("name", "居民点"), ("town", "乡镇（街道）"), ("population", "人口"),
                   ("best_vehicle", "可达最优车型"), ("nearest_station", "最近消防队站"),
                   ("time_min_standard", "标准消防车到场（分钟）"), ("time_min_small", "小型消防车到场（分钟）"),
                   ("time_min_motorcycle", "消防摩托车到场（分钟）"), ("walk_m", "路端后步行（米）"),
                   ("bottleneck_kind", "瓶颈类型"), ("bottleneck_width_m", "瓶颈路段宽度（米）"),
                   ("bottleneck_width_assumed", "瓶颈宽度为推定值"), ("bottleneck_grade_pct", "瓶颈路段纵坡（%）")],
        "values": {"best_vehicle": VEHICLE_ZH, "bottleneck_kind": {"width": "路面宽度", "grade": "纵坡"},
                   "bottleneck_width_assumed": YES_NO},
        "dash_by": "walk_m", "dash_label": "车辆至路端后步行（虚线框）",
        "tip": ["name", "best_vehicle"],
    },
    "access_upgrades": {
        "title": "建议拓宽改造路段", "group": "access", "order": 58, "label": ("rank",),
        "default": {"label": "建议改造路段（序号按受益人口）", **_line("#c51b8a", 4.5, dashArray="10 5")},
        "fields": [("rank", "序号"), ("road_names", "道路"), ("length_m", "长度（米）"),
                   ("widen_from_m", "现状宽度（米）"), ("population_unlocked", "受益人口"),
                   ("settlements_unlocked", "受益居民点数"), ("settlement_names", "受益居民点")],
        "tip": ["rank", "population_unlocked"], "tip_format": "第{rank}段 · 受益人口 {population_unlocked}",
    },
    "access_dead_ends": {
        "title": "尽端路（回车场）", "group": "access", "order": 54, "by": "turnaround", "show_county": False,
        "classes": {"false": {"label": "尽端路无回车场（>40米应设）", **_line("#8e0152", 2.4, dashArray="2 3")},
                    "true": {"label": "尽端路有回车场", **_line("#7fbc41", 2.0, dashArray="2 3")}},
        "fields": [("length_m", "长度（米）"), ("turnaround", "有回车场"), ("settlements", "居民点数")],
        "tip": ["length_m", "turnaround"], "tip_format": "尽端路 {length_m} 米 · 回车场：{turnaround}",
    },

    # ---------------------------------------------------------------- response
    "response_isochrones": {
        "title": "消防队站到场时间圈", "group": "response", "order": 20, "by": "break_min",
        "exclude": {"ring": ["disk"]},  # draw the non-overlapping rings, not the nested disks
        "ramp": TIME_RAMP, "ramp_label": "到场 ≤{v:g} 分钟",
        "ramp_style": {"weight": 1.0, "opacity": 0.85, "fill": True, "fillOpacity": 0.2},
        "sort_desc": "break_min",
        "fields": [("station_name", "消防队站"), ("station", "消防队站"), ("status", "状态"),
                   ("vehicle_class", "车型"), ("break_min", "时间圈（分钟）"), ("ring", "时间段（分钟）"),
                   ("road_m", "可达道路（米）"), ("area_m2", "面积（平方米）")],
        "values": {"vehicle_class": VEHICLE_ZH, "status": STATUS_ZH}, "tip": ["station", "ring"],
        "tip_format": "{station} · {ring} 分钟",
    },
    "response_zones": {
        "title": "消防队站责任区（首到站）", "group": "response", "order": 22, "by": "station",
        "palette": PALETTE, "palette_style": {"weight": 2.0, "opacity": 0.9, "fill": True, "fillOpacity": 0.12},
        "fields": [("station_name", "消防队站"), ("station", "消防队站"), ("status", "状态"),
                   ("max_time_min", "最远到场时间（分钟）"), ("area_m2", "面积（平方米）"),
                   ("settlements", "居民点数"), ("population", "人口")],
        "values": {"status": STATUS_ZH}, "tip": ["station"], "tip_format": "{station} 责任区",
    },
    "response_zone_roads": {
        "title": "责任区道路（首到站）", "group": "response", "order": 49, "show": False, "by": "station",
        "palette": PALETTE, "palette_style": {"weight": 2.2, "opacity": 0.85},
        "fields": [("station", "首到消防队站"), ("time_min_start", "起点到场（分钟）"),
                   ("time_min_end", "终点到场（分钟）"), ("length_m", "长度（米）")],
        "tip": ["station"],
    },
    "response_radii": {
        "title": "队站服务半径（直线）", "group": "response", "order": 47, "show": False,
        "default": {"label": "直线服务半径", "color": "#54278f", "weight": 1.5, "dashArray": "4 4",
                    "fill": False, "opacity": 0.9},
        "fields": [("station_name", "消防队站"), ("station", "消防队站"), ("status", "状态"),
                   ("radius_m", "半径（米）"), ("network_share", "路网实际可达比例"),
                   ("area_share", "面积可达比例")],
        "values": {"status": STATUS_ZH}, "tip": ["station", "radius_m"],
        "tip_format": "{station} · 半径 {radius_m} 米",
    },
    "response_siting": {
        "title": "新增消防站选址（候选）", "group": "response", "order": 88, "by": "selected",
        "classes": {"true": {"label": "建议新增消防站", **_sym("star", "#67000d", 18, fill="#ef3b2c")},
                    "false": {"label": "候选站址（未选）", **_sym("circle", "#525252", 8, fill="#ffffff")}},
        "default": {"label": "候选站址", **_sym("circle", "#525252", 8, fill="#ffffff")},
        "label": ("name",),
        "fields": [("name", "候选站址"), ("town", "乡镇（街道）"), ("selected", "是否选定"), ("rank", "序号"),
                   ("model", "模型"), ("time_threshold_min", "到场时间标准（分钟）"),
                   ("new_settlements", "新增覆盖居民点"), ("new_population", "新增覆盖人口"),
                   ("covered_population", "选址后覆盖人口")],
        "tip": ["name", "selected"],
    },
    "response_settlements": {
        "title": "居民点到场时间（可达最优车型）", "group": "response", "order": 77, "by": "time_min",
        "bins": TIME_BINS,
        "bin_style": {"weight": 1.0, "color": "#333333", "radius": 4.5, "fill": True, "fillOpacity": 0.95},
        "missing": {"label": "无法到达", **_dot("#000000", 4.5, stroke="#ffffff")},
        # colour = time of the best vehicle that reaches the settlement; shape = that vehicle;
        # dashed outline = the vehicle stops at the road end and the crew walks the rest
        "shape_by": "vehicle_class", "shapes": VEHICLE_SHAPES, "dash_by": "walk_m",
        "dash_label": "车辆至路端后步行（虚线框）",
        "fields": [("name", "居民点"), ("town", "乡镇（街道）"), ("population", "人口"),
                   ("vehicle_class", "可达最优车型"), ("station", "首到消防队站"), ("time_min", "到场时间（分钟）"),
                   ("walk_m", "路端后步行（米）"), ("station_2", "第二到场队站"), ("time_min_2", "第二到场时间（分钟）"),
                   ("time_min_standard", "标准消防车（分钟）"), ("time_min_small", "小型消防车（分钟）"),
                   ("time_min_motorcycle", "消防摩托车（分钟）"), ("time_min_existing", "仅现状队站时（分钟）")],
        "values": {"vehicle_class": VEHICLE_ZH},
        "tip": ["name", "time_min", "vehicle_class"], "tip_format": "{name} · {time_min} 分钟 · {vehicle_class}",
    },
    # the standard-truck view of the same settlements (derived by the maps from response_settlements)
    "response_settlements_standard": {
        "title": "居民点到场时间（标准消防车）", "group": "response", "order": 76, "by": "time_min_standard",
        "show": False, "bins": TIME_BINS,
        "bin_style": {"weight": 1.0, "color": "#333333", "radius": 4.5, "fill": True, "fillOpacity": 0.95},
        "missing": {"label": "标准消防车无法到达（见可达最优车型图层）", **_dot("#000000", 4.5, stroke="#ffffff")},
        "fields": [("name", "居民点"), ("town", "乡镇（街道）"), ("population", "人口"),
                   ("time_min_standard", "标准消防车到场（分钟）"), ("vehicle_class", "可达最优车型"),
                   ("time_min", "最优车型到场（分钟）")],
        "values": {"vehicle_class": VEHICLE_ZH},
        "tip": ["name", "time_min_standard"], "tip_format": "{name} · 标准消防车 {time_min_standard} 分钟",
    },

    # ---------------------------------------------------------------- water
    "water_coverage": {
        "title": "消防水源保护范围（沿路）", "group": "water", "order": 24, "by": "source_kind",
        "classes": {
            "hydrant": {"label": "消火栓保护范围", **_fill("#4292c6", 0.22, weight=0.6)},
            "pool": {"label": "消防水池保护范围", **_fill("#6a51a3", 0.22, weight=0.6)},
            "fire_pool": {"label": "消防水池保护范围", **_fill("#6a51a3", 0.22, weight=0.6)},
            "natural": {"label": "天然水源保护范围", **_fill("#41b6c4", 0.22, weight=0.6)},
            "water_intake": {"label": "天然水源保护范围", **_fill("#41b6c4", 0.22, weight=0.6)},
        },
        "default": {"label": "水源保护范围", **_fill("#4292c6", 0.2, weight=0.6)},
        "fields": [("source_kind", "水源类型"), ("source_id", "水源编号"), ("reach_m", "沿路保护距离（米）"),
                   ("lateral_m", "道路两侧（米）")],
        "values": {"source_kind": SOURCE_KIND_ZH}, "tip": ["source_kind", "source_id"],
    },
    "water_circles": {
        "title": "消防水源保护半径（直线）", "group": "water", "order": 25, "show": False, "by": "source_kind",
        "classes": {
            "hydrant": {"label": "消火栓保护半径", "color": "#2171b5", "weight": 1.0, "fill": False,
                        "dashArray": "3 3", "opacity": 0.8},
            "pool": {"label": "消防水池保护半径", "color": "#6a51a3", "weight": 1.0, "fill": False,
                     "dashArray": "3 3", "opacity": 0.8},
            "natural": {"label": "天然水源保护半径", "color": "#41b6c4", "weight": 1.0, "fill": False,
                        "dashArray": "3 3", "opacity": 0.8},
        },
        "default": {"label": "水源保护半径", "color": "#2171b5", "weight": 1.0, "fill": False, "dashArray": "3 3"},
        "fields": [("source_kind", "水源类型"), ("source_id", "水源编号"), ("radius_m", "半径（米）"),
                   ("network_share", "路网实际可达比例")],
        "values": {"source_kind": SOURCE_KIND_ZH}, "tip": ["source_kind", "radius_m"],
    },
    "water_sources": {
        "title": "消防水源（可用性）", "group": "water", "order": 86, "by": "usable", "show_county": False,
        "classes": {"true": {"label": "可用水源", **_dot("#2171b5", 3.8, stroke="#ffffff")},
                    "false": {"label": "不可用水源（见原因）", **_dot("#ffffff", 3.8, stroke="#e31a1c", weight=2.0)}},
        "fields": [("source_kind", "水源类型"), ("source_id", "编号"), ("name", "名称"), ("kind", "类型"),
                   ("status", "状态"), ("usable", "是否可用"), ("reason", "原因"), ("volume_m3", "容积（立方米）"),
                   ("lift_m", "吸水高度（米）"), ("truck_road_m", "距消防车道（米）")],
        "values": {"source_kind": SOURCE_KIND_ZH, "usable": YES_NO}, "tip": ["source_kind", "usable"],
        "tip_format": "{source_kind} · 可用：{usable}",
    },
    "water_settlements": {
        "title": "居民点消防水源覆盖", "group": "water", "order": 78, "by": "covered",
        "classes": {"true": {"label": "已覆盖", **_dot("#2171b5", 4.5, stroke="#ffffff")},
                    "false": {"label": "未覆盖", **_dot("#ffffff", 4.5, stroke="#e31a1c", weight=2.0)}},
        "fields": [("name", "居民点"), ("town", "乡镇（街道）"), ("population", "人口"), ("covered", "是否覆盖"),
                   ("covered_by", "覆盖水源"), ("nearest_source", "最近水源"), ("nearest_kind", "最近水源类型"),
                   ("distance_m", "水带铺设距离（米）"), ("snap_m", "距道路（米）")],
        "values": {"covered": YES_NO, "nearest_kind": SOURCE_KIND_ZH}, "tip": ["name", "covered"],
        "tip_format": "{name} · 覆盖：{covered}",
    },
    "water_suggestions": {
        "title": "建议新增消防水源", "group": "water", "order": 90, "label": ("rank",), "show_county": False,
        "default": {"label": "建议新增水源点（序号为优先级）", **_sym("star", "#ff7f00", 18, fill="#ffd92f")},
        "fields": [("rank", "序号"), ("source_kind", "建议类型"), ("road_name", "道路"),
                   ("new_settlements", "新增覆盖居民点"), ("new_population", "新增覆盖人口"),
                   ("new_road_m", "新增覆盖道路（米）")],
        "values": {"source_kind": SOURCE_KIND_ZH}, "tip": ["rank"], "tip_format": "建议水源 第{rank}号",
    },
    "water_spacing_gaps": {
        "title": "消火栓间距超限路段", "group": "water", "order": 56, "show_county": False,
        "default": {"label": "消火栓间距超限（>120米）", **_line("#e7298a", 3.0, dashArray="3 4"),
                    **{"radius": 5.0, "fillColor": "#e7298a", "fillOpacity": 0.9}},
        "fields": [("spacing_m", "间距（米）"), ("limit_m", "限值（米）"), ("hydrant_a", "消火栓A"),
                   ("hydrant_b", "消火栓B"), ("length_m", "长度（米）")],
        "tip": ["spacing_m"], "tip_format": "消火栓间距 {spacing_m} 米",
    },

    # ---------------------------------------------------------------- micro fire stations
    "micro_coverage": {
        "title": "微型消防站3分钟到场范围（沿路）", "group": "micro", "order": 51, "by": "status",
        "classes": {"existing": {"label": "现状站3分钟可达道路", **_line("#b2182b", 3.5, opacity=0.75)},
                    "planned": {"label": "规划站3分钟可达道路", **_line("#ef8a62", 3.5, opacity=0.75,
                                                                   dashArray="6 4")}},
        "fields": [("station", "微型消防站"), ("community", "所属社区"), ("status", "状态"),
                   ("reached_m", "可达道路长度（米）"), ("travel_m", "沿路行进距离（米）")],
        "values": {"status": STATUS_ZH}, "tip": ["station"],
    },
    "micro_communities": {
        "title": "社区3分钟到场情况", "group": "micro", "order": 79, "by": "covered_planned",
        "classes": {"true": {"label": "3分钟内可到场（含规划站）", **_dot("#1a9850", 5.5, stroke="#ffffff")},
                    "false": {"label": "3分钟内不能到场", **_dot("#ffffff", 5.5, stroke="#d73027", weight=2.5)}},
        "fields": [("name", "社区"), ("town", "乡镇（街道）"), ("population", "人口"), ("year", "配齐年份"),
                   ("covered", "现状3分钟可达"), ("time_min", "现状到场时间（分钟）"), ("station", "现状到场站"),
                   ("covered_planned", "含规划站3分钟可达"), ("time_min_planned", "含规划站到场时间（分钟）"),
                   ("station_planned", "到场站（含规划）"), ("covered_after", "新增站点后可达"),
                   ("offroad_m", "距道路（米）")],
        "values": {"covered": YES_NO, "covered_planned": YES_NO, "covered_after": YES_NO},
        "tip": ["name", "time_min_planned"], "tip_format": "{name} · {time_min_planned} 分钟",
    },
    "micro_suggestions": {
        "title": "建议新增微型消防站", "group": "micro", "order": 91, "label": ("rank",), "show_county": False,
        "default": {"label": "建议新增微型消防站（序号为优先级）", **_sym("star", "#b2182b", 18, fill="#fddbc7")},
        "fields": [("rank", "序号"), ("town", "乡镇（街道）"), ("communities", "新增3分钟可达社区"),
                   ("new_communities", "新增可达社区数"), ("new_population", "新增可达人口"), ("road_name", "道路")],
        "tip": ["rank"], "tip_format": "建议微型消防站 第{rank}号",
    },

    # ---------------------------------------------------------------- building clusters
    "building_clusters": {
        "title": "建筑连片密集区", "group": "clusters", "order": 19, "by": "over_limit", "show_county": False,
        "classes": {"true": {"label": "超过面积上限的连片区", **_fill("#d7301f", 0.55, stroke="#7f0000", weight=0.8)},
                    "false": {"label": "连片区（未超限）", **_fill("#fdbb84", 0.5, stroke="#b35806", weight=0.6)}},
        "fields": [("cluster_id", "编号"), ("buildings", "建筑数"), ("footprint_m2", "占地面积（平方米）"),
                   ("limit_m2", "面积上限（平方米）"), ("over_limit", "是否超限"), ("parts", "分隔后分区数"),
                   ("cuts", "建议隔断处数"), ("grade_mix", "耐火等级构成"), ("assumed_grades", "按假设等级计的建筑"),
                   ("old_town", "古镇"), ("town", "乡镇（街道）")],
        "values": {"over_limit": YES_NO}, "tip": ["cluster_id", "footprint_m2"],
        "tip_format": "连片区 {cluster_id} · {footprint_m2} 平方米",
    },
    "firebreak_suggestions": {
        "title": "建议防火隔离带 / 防火墙", "group": "clusters", "order": 59, "by": "measure", "show_county": False,
        "classes": {"设置防火墙": {"label": "设置防火墙", **_line("#000000", 3.0)}},
        "default": {"label": "拓宽防火间距", **_line("#2166ac", 3.0, dashArray="4 3")},
        "fields": [("cluster_id", "连片区"), ("gap_m", "现状间距（米）"), ("required_m", "要求间距（米）"),
                   ("shortfall_m", "差距（米）"), ("measure", "措施"), ("building_a", "建筑A"), ("building_b", "建筑B")],
        "tip": ["measure", "gap_m"], "tip_format": "{measure} · 现状 {gap_m} 米",
    },

    # ---------------------------------------------------------------- forest barriers, checkpoints
    "barrier_bands": {
        "title": "森林防火阻隔带", "group": "forest", "order": 26, "by": "barrier_type",
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
        "fields": [("barrier_type", "阻隔类型"), ("town", "乡镇（街道）"), ("facing", "保护对象"),
                   ("width_m", "宽度（米）"), ("edge_length_m", "林缘长度（米）"), ("area_m2", "面积（平方米）"),
                   ("slope_mean_deg", "平均坡度（度）")],
        "values": {"barrier_type": BARRIER_ZH}, "tip": ["barrier_type", "width_m"],
        "tip_format": "{barrier_type} · 宽 {width_m} 米",
    },
    "barrier_edges": {
        "title": "林缘（阻隔带起算线）", "group": "forest", "order": 52, "show_county": False, "by": "barrier_type",
        "classes": {
            "工程阻隔": {"label": "林缘：工程阻隔", **_line("#b2182b", 2.0)},
            "生物阻隔": {"label": "林缘：生物阻隔", **_line("#1b7837", 2.0)},
            "天然阻隔": {"label": "林缘：天然阻隔", **_line("#4393c3", 2.0)},
            "待定": {"label": "林缘：类型待定", **_line("#d8b365", 2.0, dashArray="4 3")},
        },
        "default": {"label": "林缘起算线", **_line("#8c510a", 2.0)},
        "fields": [("barrier_type", "阻隔类型"), ("town", "乡镇（街道）"), ("facing", "保护对象"),
                   ("width_m", "要求宽度（米）"), ("length_m", "长度（米）"), ("distance_m", "距保护对象（米）"),
                   ("separated_by", "已有分隔")],
        "values": {"barrier_type": BARRIER_ZH, "separated_by": {"water": "水体"}},
        "tip": ["facing", "width_m"], "tip_format": "面向 {facing} · 宽 {width_m} 米",
    },
    "forest_blocks": {
        "title": "林区分块", "group": "forest", "order": 28, "show": False,
        "default": {"label": "林区分块", "color": "#00441b", "weight": 1.5, "dashArray": "5 4",
                    "fill": True, "fillColor": "#00441b", "fillOpacity": 0.04},
        "fields": [("block_id", "林区编号"), ("area_m2", "面积（平方米）"), ("entries", "入口数"),
                   ("cut_size", "必经道口数"), ("checkpoints", "检查站数"), ("road_length_m", "林内道路（米）")],
        "tip": ["block_id"], "tip_format": "林区 {block_id}",
    },
    "checkpoints": {
        "title": "森林防火检查站（卡点）", "group": "forest", "order": 92, "by": "kind", "show_county": False,
        "classes": {
            "必经道口": {"label": "进入林区必经道口", **_sym("triangle", "#7f2704", 15, fill="#fd8d3c")},
            "road_entry": {"label": "进入林区必经道口", **_sym("triangle", "#7f2704", 15, fill="#fd8d3c")},
            "村口": {"label": "村镇出入口（临林）", **_sym("triangle", "#3f007d", 15, fill="#bcbddc")},
            "village_exit": {"label": "村镇出入口（临林）", **_sym("triangle", "#3f007d", 15, fill="#bcbddc")},
            "work_site": {"label": "林区作业点", **_sym("triangle", "#00441b", 15, fill="#a1d99b")},
            "forest_edge": {"label": "易发火险林缘", **_sym("triangle", "#67000d", 15, fill="#fb6a4a")},
        },
        "default": {"label": "其他卡点", **_sym("triangle", "#333333", 15, fill="#bdbdbd")},
        "fields": [("kind", "类型"), ("recommend", "建议"), ("reason", "理由"), ("rank", "优先序"), ("item", "清单项"),
                   ("road_name", "道路"), ("road_class", "道路等级"),
                   ("forest_block", "林区编号"), ("settlements_behind", "后方居民点数"),
                   ("population_behind", "后方人口"), ("work_sites_behind", "后方林区作业点"),
                   ("settlements", "后方居民点")],
        "values": {"kind": CHECKPOINT_ZH, "recommend": {"standard": "标准检查站", "simple": "简易检查站",
                                                        "optional": "可选（过境道路）"}},
        "tip": ["kind", "road_name"],
    },

    # ---------------------------------------------------------------- forest-fire monitoring
    "monitor_viewsheds": {
        "title": "林火监控可视林地", "group": "monitor", "order": 24, "by": "status",
        "classes": {"existing": {"label": "现状监控点可视林地", **_fill("#2b8cbe", 0.25, weight=0.6)},
                    "chosen": {"label": "规划新增监控点可视林地", **_fill("#88419d", 0.25, weight=0.6,
                                                                   dashArray="4 3")}},
        "fields": [("site", "监控点"), ("status", "类型"), ("visible_forest_km2", "可视林地（平方公里）")],
        "values": {"status": {"existing": "现状", "chosen": "规划新增"}}, "tip": ["site", "visible_forest_km2"],
    },
    "monitor_blocks": {
        "title": "林区监控覆盖率", "group": "monitor", "order": 13, "show": False, "by": "seen_share_after",
        "bins": [(0.5, "规划后可视林地 <50%", "#d73027"), (0.9, "50–90%", "#fee08b"), (math.inf, "≥90%", "#1a9850")],
        "bin_style": {"weight": 1.2, "opacity": 0.9, "fill": True, "fillOpacity": 0.15},
        "fields": [("block_id", "林区编号"), ("forest_km2", "林地（平方公里）"), ("seen_share", "现状可视比例"),
                   ("seen_share_after", "规划后可视比例")],
        "tip": ["block_id", "seen_share_after"], "tip_format": "林区{block_id} · 规划后可视 {seen_share_after}",
    },
    "monitor_blind_spots": {
        "title": "林火监控盲区（≥1平方公里）", "group": "monitor", "order": 26, "show_county": False,
        "default": _fill("#e31a1c", 0.3, stroke="#b10026", weight=1.0, dashArray="3 3"),
        "fields": [("area_km2", "面积（平方公里）")], "tip": ["area_km2"], "tip_format": "监控盲区 {area_km2} 平方公里",
    },
    "monitor_sites": {
        "title": "林火监控点", "group": "monitor", "order": 90, "by": "status", "label": ("name",),
        "exclude": {"status": ["candidate"]},  # the unchosen candidates are in results.gpkg / tables.xlsx
        "classes": {"existing": {"label": "现状监控点", **_sym("triangle", "#08519c", 15, fill="#6baed6")},
                    "chosen": {"label": "规划新增监控点", **_sym("star", "#54278f", 17, fill="#bcbddc")}},
        "fields": [("name", "名称"), ("status", "类型"), ("chosen", "规划选定"), ("rank", "选定次序"),
                   ("added_forest_km2", "新增可视林地（平方公里）"), ("visible_forest_km2", "可视林地（平方公里）"),
                   ("elevation_m", "海拔（米）"), ("mast_m", "架设高度（米）"), ("range_km", "监测距离（公里）")],
        "values": {"status": {"existing": "现状", "chosen": "规划新增", "candidate": "候选（未选）"}},
        "tip": ["name", "status"],
    },

    # ---------------------------------------------------------------- helicopter
    "heli_units": {
        "title": "航空消防单元（取水点覆盖）", "group": "heli", "order": 12, "show": False, "by": "share_after",
        "bins": [(0.5, "取水点10公里覆盖林地 <50%", "#d73027"), (0.8, "50–80%", "#fee08b"),
                 (math.inf, "≥80%", "#1a9850")],
        "bin_style": {"weight": 1.5, "opacity": 0.9, "fill": True, "fillOpacity": 0.18},
        "fields": [("unit", "单元"), ("forest_km2", "林地（平方公里）"), ("share_before", "现状覆盖比例"),
                   ("share_after", "选点后覆盖比例"), ("sites_selected", "选定取水点数"),
                   ("selected_sites", "选定取水点"), ("pads", "起降点数")],
        "tip": ["unit", "share_after"], "tip_format": "{unit} · 覆盖 {share_after}",
    },
    "heli_water_bodies": {
        "title": "直升机取水水体筛选", "group": "heli", "order": 18,
        "derive": {"passed": ("area_ok", "clear_ok", "depth_ok", "approach_ok")}, "by": "passed",
        "classes": {"true": {"label": "满足吊桶取水条件", **_fill("#2166ac", 0.55, weight=1.2)},
                    "false": {"label": "不满足（见弹窗）", **_fill("#bababa", 0.45, stroke="#878787",
                                                            weight=1.0, dashArray="3 3")}},
        "fields": [("name", "名称"), ("unit", "单元"), ("passed", "是否满足"), ("reason", "原因"),
                   ("area_m2", "面积（平方米）"), ("area_ok", "面积满足"), ("clear_diameter_m", "净水面直径（米）"),
                   ("clear_ok", "净水面满足"), ("depth_m", "水深（米）"), ("depth_status", "水深"),
                   ("approach_dirs", "可进近方向数"), ("approach_ok", "进近满足")],
        "values": {"passed": YES_NO, "depth_status": DEPTH_ZH}, "tip": ["name", "passed"],
        "tip_format": "{name} · 满足：{passed}",
    },
    "heli_dip_sites": {
        "title": "直升机吊桶取水点", "group": "heli", "order": 94, "by": "provisional",
        "classes": {"false": {"label": "取水点", **_sym("diamond", "#08306b", 16, fill="#4292c6")},
                    "true": {"label": "取水点（水深待测）", **_sym("diamond", "#08306b", 16, fill="#ffffff",
                                                               dashed=True)}},
        "default": {"label": "直升机取水点", **_sym("diamond", "#08306b", 16, fill="#4292c6")},
        "label": ("name",),
        "fields": [("name", "名称"), ("unit", "单元"), ("area_m2", "水面面积（平方米）"),
                   ("clear_diameter_m", "净水面直径（米）"), ("depth_m", "水深（米）"), ("depth_status", "水深"),
                   ("approach_dirs", "可进近方向数"), ("forest_km2_in_radius", "服务半径内林地（平方公里）"),
                   ("round_trip_min", "往返时间（分钟）")],
        "values": {"depth_status": DEPTH_ZH}, "tip": ["name", "unit"],
    },
    "heli_pads": {
        "title": "直升机临时起降点", "group": "heli", "order": 96, "as_points": True, "show_county": False,
        "by": "rank",
        "bins": [(1, "首选起降点（各单元第1）", "#006d2c"), (math.inf, "备选起降点", "#74c476")],
        "bin_style": {"symbol": "helipad", "size": 16, "fillColor": "#ffffff"},
        "fields": [("pad", "编号"), ("unit", "单元"), ("rank", "单元内排序"), ("pad_area_m2", "停机坪面积（平方米）"),
                   ("candidate_area_m2", "可选坪址范围（平方米）"),
                   ("slope_max_deg", "最大坡度（度）"), ("road_m", "距道路（米）"), ("road_vehicle_class", "道路可通行车型"),
                   ("nearest_dip_site_km", "距取水点（公里）"), ("forest_m", "距林地（米）")],
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
# rules


def rule_for(name: str) -> dict:
    """The style rule of a layer (a copy of :data:`DEFAULT_RULE` titled by the name when unknown)."""
    rule = LAYER_STYLES.get(name)
    if rule is None:
        try:
            from .._labels import LAYERS_ZH  # type: ignore[attr-defined]
        except Exception:  # the shared label table is optional
            LAYERS_ZH = {}
        title = LAYERS_ZH.get(name) or name
        return {**DEFAULT_RULE, "title": title}
    return rule


def column_label(column: str) -> str:
    try:
        from .._labels import header_zh
    except Exception:
        return column
    return header_zh(column)


def popup_fields(name: str, rule: dict, columns) -> list[tuple[str, str]]:
    """(column, Chinese label) shown in the popup: the rule's fields that the frame has.

    Unknown layers show their first 12 attribute columns, labelled from :mod:`kzgis._labels`.
    """
    cols = [c for c in columns if c != "geometry" and not str(c).startswith("_")]
    if "fields" in rule:
        return [(c, label) for c, label in rule["fields"] if c in cols]
    return [(c, column_label(c)) for c in cols[:12]]


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


def classify(name: str, gdf, geom_kind: str = "polygon") -> Classified:
    """Apply the rule of layer ``name`` to ``gdf`` (columns as produced by the analysis).

    ``geom_kind`` is "point", "line" or "polygon" (what the layer mostly holds).
    """
    rule = rule_for(name)
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
