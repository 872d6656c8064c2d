"""Chinese labels: input-layer columns, coded values, parameters, units.

Result columns are labelled where each analysis declares its result layers (:mod:`kzgis.schema`,
``Column.label_zh``); :func:`header_zh` reads them there. :data:`COLUMNS_ZH` keeps only the labels of
input-layer fields (``kzgis.layers.KINDS``) and of columns no analysis declares (the run's
``network_issues`` points, the report's own tables). ``tests/test_labels.py`` checks that no label
is declared twice with different text and that every result column has a declared label.
"""

from __future__ import annotations

from collections import Counter

#: Labels of input-layer fields and of columns that are not declared result columns.
COLUMNS_ZH = {
    # input-layer fields (also the labels of result columns of the same name: the test keeps them equal)
    "mast_m": "架设高度（米）", "range_km": "监测距离（公里）", "name": "名称", "town": "乡镇（街道）", "population": "人口",
    "kind": "类型", "status": "状态", "width_m": "宽度（米）", "road_class": "道路等级", "depth_m": "水深（米）",
    "source": "数据来源", "volume_m3": "容积（立方米）", "diameter_mm": "管径（毫米）", "lift_m": "吸水高度（米）", "oneway": "单行",
    "structure": "桥隧", "year": "年份", "community": "所属社区",
    # not declared result columns: network_issues (a run product beside the analyses), the named indexes of
    # result layers (the first column of their tables.xlsx sheet)
    "share": "比例", "edge_id": "林缘段编号", "checkpoint_id": "检查站编号", "pad": "停机坪编号", "feature_id": "要素编号",
    "other_fid": "相关道路要素编号", "note": "说明",
}


_LOADED = False


def _schema_label(column: str, layer: str | None) -> str | None:
    """The label declared in :mod:`kzgis.schema`: for ``layer``, else the one most layers declare."""
    global _LOADED
    from . import schema

    if not _LOADED:  # the analyses declare their layers when imported
        from .analysis import load_all

        load_all()
        _LOADED = True
    if layer is not None and layer in schema.LAYERS:
        return schema.label_zh(layer, column)
    # exact names first, then the members of pattern columns; a column labelled by layer (``station``:
    # a fire station, or a micro station in micro_stations) gets the label most layers give it
    labels = [c.label_zh for lay in schema.LAYERS.values() for c in lay.columns if c.name == column and c.label_zh]
    if not labels:
        labels = [label for name in schema.LAYERS if (label := schema.label_zh(name, column))]
    return Counter(labels).most_common(1)[0][0] if labels else None


def header_zh(column: str, layer: str | None = None) -> str:
    """The Chinese label of a column: ``"time_min" -> "到场时间（分钟）"``; unknown columns unchanged.

    With ``layer`` (a result layer name) the label that layer declares in :mod:`kzgis.schema` (pattern
    columns too: ``within_15`` -> 15分钟内到场); without, an input-layer field's label
    (:data:`COLUMNS_ZH`), else the label most result layers declaring the column give it.
    """
    column = str(column)
    if layer is not None:
        declared = _schema_label(column, layer)
        if declared:
            return declared
    if column in COLUMNS_ZH:
        return COLUMNS_ZH[column]
    return _schema_label(column, None) or column


#: Chinese labels for coded values, by column (report and maps share them).
VALUES_ZH = {
    "vehicle_class": {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车",
                      "none": "消防车辆无法通行"},
    "best_vehicle": {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车",
                     "none": "消防车辆无法到达"},
    "status": {"existing": "现状", "planned": "规划", "ok": "完好", "broken": "损坏"},
    "action": {"widen": "拓宽", "survey width first": "先实测路宽（现状宽度为推定值）"},
    "kind": {"road_entry": "进入林区必经道口", "village_exit": "毗邻林区的村镇出入口", "work_site": "林区作业点",
             "forest_edge": "易发火险林缘", "hydrant": "消火栓", "fire_pool": "消防水池",
             "water_intake": "天然水源取水点", "wharf": "消防车取水码头", "full_time": "政府专职消防队",
             "micro": "微型消防站", "station": "消防站",
             # network_issues
             "snapped_dangle": "悬挂端点已自动连接", "near_miss": "悬挂端点近距未连接",
             "unsplit_crossing": "相交无节点（未连通）", "suspected_structure": "疑似桥隧/DEM 误差",
             "zero_length": "零长度要素", "duplicate_edge": "重复路段", "small_component": "孤立路网片段"},
    "width_source": {"surveyed": "实测/标注", "lanes": "按车道数推算", "class_default": "按道路等级推定（假定）",
                     "unknown": "等级未知，按缺省值（假定）"},
    "grade_source": {"dem": "DEM", "structure": "桥隧（按两端高程）", "suspected_structure": "疑似桥隧（按两端高程）",
                     "unknown": "DEM 无数据", "no_dem": "无 DEM"},
    "source_kind": {"hydrant": "消火栓", "fire_pool": "消防水池", "water_intake": "天然水源取水点", "pool": "消防水池",
                    "natural": "天然水源取水点",
                    "hydrants": "消火栓", "fire_pools": "消防水池", "water_intakes": "天然水源取水点"},
    "barrier_type": {"engineered": "工程阻隔", "biological": "生物阻隔", "mixed": "工程与生物结合",
                     "natural": "天然阻隔", "road": "道路阻隔", "undetermined": "待定", "unknown": "待定"},
    "bottleneck_kind": {"width": "路面宽度", "grade": "纵坡"},
    "scenario": {"existing": "现状队站", "existing+planned": "现状及规划队站", "edited": "配方调整后",
                 "siting": "选址方案"},
    "depth_status": {"ok": "满足", "shallow": "水深不足", "unknown": "水深未知"},
    "facing": {"urban": "面向城区", "town": "面向乡镇", "settlement": "面向居民点", "village": "面向村庄"},
    "recommend": {"standard": "标准检查站", "simple": "简易检查站", "optional": "可选"},
    "road_vehicle_class": {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车"},
    "band_ends": {"round": "圆弧端部（含两端半圆）", "flat": "平直端部"},
    "item_kind": {"entry": "进入林区必经道口", "road_crossing": "过境道路穿越林区", "forest_road": "进山道路入口",
                  "village_exit": "毗邻林区的村镇出入口"},
}

#: Vehicle classes best first (as in kzgis.network.VEHICLE_CLASSES) plus "none".
VEHICLE_ORDER = ("standard", "small", "motorcycle", "none")

#: Units in Chinese (rules and parameters).
UNITS_ZH = {"m": "米", "mm": "毫米", "m2": "平方米", "m3": "立方米", "km": "公里", "km2": "平方公里",
            "min": "分钟", "km/h": "公里/小时", "deg": "度", "%": "%", "people": "人", "": ""}


def value_zh(column: str, value) -> str:
    """``value_zh("vehicle_class", "small") -> "小型消防车"``; booleans become 是/否; unknown values unchanged."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "是" if value else "否"
    table = VALUES_ZH.get(str(column), {})
    return table.get(value, table.get(str(value), str(value))) if value is not None else ""


#: Chinese names of recipe parameters (report appendix B); unknown ones are shown by their key.
PARAMS_ZH = {
    # network
    "snap_max_m": "居民点、队站接入道路最大距离（米）", "node_tolerance_m": "道路节点合并容差（米）",
    "t_junctions": "T形交叉自动打断", "standard_width_m": "标准消防车通行最小路宽（米）",
    "standard_grade_max_pct": "标准消防车最大纵坡（%）", "standard_grade_preferred_pct": "标准消防车宜用纵坡（%）",
    "small_width_m": "小型消防车通行最小路宽（米）", "small_grade_max_pct": "小型消防车最大纵坡（%）",
    "motorcycle_width_m": "消防摩托车通行最小路宽（米）", "motorcycle_grade_max_pct": "消防摩托车最大纵坡（%）",
    "grade_measure": "路段纵坡取值方式", "speed_kmh": "按道路等级的行驶速度（公里/小时）",
    "vehicle_speed_factor": "车型速度系数", "default_width_m": "缺少路宽时按道路等级取值（米）",
    "class_aliases": "道路等级别名", "lane_width_m": "车道宽度（米）", "narrow_margin_m": "窄路判定余量（米）",
    "narrow_speed_factor": "窄路速度系数", "steep_from_pct": "陡坡减速起始纵坡（%）",
    "steep_slowdown_per_pct": "每1%纵坡减速比例", "min_speed_kmh": "最低行驶速度（公里/小时）",
    "barred_classes": "禁止消防车通行的道路等级", "join": "道路连接方式（共享节点/仅端点）",
    "dangle_snap_m": "悬挂端点自动连接距离（米）", "near_miss_m": "悬挂端点近距提示距离（米）",
    "structure_profile_grade_pct": "疑似桥隧判定剖面纵坡（%）", "motorcycle_on_paths": "消防摩托车可走人行道路",
    # access
    "upgrade_width_m": "道路拓宽目标宽度（米）", "dead_end_max_m": "尽头路需设回车场的长度（米）",
    "turnaround_search_m": "回车场搜索距离（米）", "on_road_m": "居民点视为位于道路旁的距离（米）",
    "walk_speed_kmh": "路端后携装步行速度（公里/小时）", "planned_stations": "规划队站参与现状计算",
    "max_upgrades": "拓宽建议最大条数", "rank_by": "拓宽排序依据", "upgrade_min_width_m": "可拓宽道路最小现状宽度（米）",
    "station_status": "参与计算的队站状态",
    # response
    "breaks_min": "到场时间分级（分钟）", "turnout_min": "出动时间（分钟）", "trim_m": "到场范围道路两侧宽度（米）",
    "vehicle_classes": "计算车型", "rings": "输出分级环带", "radius_min": "直线半径对应时间（分钟）",
    "radius_speed_kmh": "直线半径计算车速（公里/小时）", "summary_breaks_min": "汇总时间（分钟）",
    "zone_max_min": "责任区最大到场时间（分钟）", "zone_spacing_m": "责任区划分采样间距（米）", "scenarios": "情景比较",
    "add_stations": "情景新增队站", "remove_stations": "情景移除队站", "siting": "选址模型",
    "siting_k": "新增队站数", "siting_time_min": "选址到场时间标准（分钟）", "siting_candidates": "候选站址",
    # water
    "hydrant_reach_m": "消火栓保护距离（米）", "pool_reach_m": "消防水池保护距离（米）",
    "natural_reach_m": "天然水源保护距离（米）", "lateral_m": "保护范围道路两侧宽度（米）",
    "truck_road_max_m": "取水点距消防车道最大距离（米）", "truck_classes": "可用于取水的车型",
    "suction_lift_max_m": "最大吸水高度（米）", "water_surface_radius_m": "水面高程取样半径（米）",
    "unknown_lift_usable": "吸水高度未知时视为可用", "pool_volume_min_m3": "消防水池最小容积（立方米）",
    "hydrant_unusable_status": "视为不可用的消火栓状态", "builtup_from": "建成区范围来源",
    "builtup_point_radius_m": "点状居民点建成区半径（米）", "hydrant_spacing_m": "消火栓最大间距（米）",
    "candidate_spacing_m": "新增消火栓候选间距（米）", "budget": "新增消火栓数量上限",
    "min_new_road_m": "新增覆盖道路最小长度（米）", "old_town_main_diameter_mm": "古镇消防给水管径（毫米）",
    "old_town_pool_volume_m3": "古镇消防水池容积（立方米）", "old_town_pool_search_m": "古镇消防水池搜索距离（米）",
    "wharf_max_m": "取水码头距古镇最大距离（米）", "wharf_water_max_m": "取水码头距水面最大距离（米）",
    "wharf_kinds": "取水码头类型名称", "old_town_hydrant_share_min": "古镇消火栓覆盖率下限",
    # barriers
    "facing_m": "林缘面向判定距离（米）", "urban_width_m": "面向城区阻隔带宽度（米）",
    "town_width_m": "其余乡镇阻隔带宽度（米）", "built_up_radius_m": "点状居民点建成区半径（米）",
    "steep_slope_deg": "生物阻隔坡度下限（度）", "road_barrier_width_m": "可作阻隔的道路最小宽度（米）",
    "river_barrier_width_m": "可作阻隔的河流最小宽度（米）", "separation_margin_m": "分隔判定余量（米）",
    "through_forest_max_m": "面向判定穿越林地容差（米）", "edge_step_m": "林缘分段步长（米）",
    "max_stretch_m": "阻隔带最大分段长度（米）", "urban_towns": "视为城区的乡镇（街道）",
    # checkpoints
    "group_m": "检查站合并距离（米）", "exit_forest_m": "村口检查站距林缘距离（米）",
    "exit_search_m": "村口检查站搜索距离（米）", "min_block_area_m2": "林区最小面积（平方米）",
    "exclude_classes": "不计入的道路等级",
    # helicopter
    "area_min_m2": "取水水面最小面积（平方米）", "clear_diameter_min_m": "取水净水面最小直径（米）",
    "depth_min_m": "取水最小水深（米）", "approach_directions": "进近方向数", "approach_min_dirs": "最少可进近方向数",
    "approach_distance_m": "进近地形检查距离（米）", "approach_slope_max_deg": "进近地形仰角上限（度）",
    "power_line_clear_m": "与电力线最小距离（米）", "water_level_pct": "水面高程取值分位（%）",
    "dip_radius_km": "取水点服务半径（公里）", "cruise_kmh": "巡航速度（公里/小时）",
    "dip_drop_min": "取水与投水耗时（分钟）", "unit_layer": "规划单元图层", "cover_cell_m": "覆盖计算格网（米）",
    "cover_from_other_units": "可使用相邻单元取水点", "max_sites_per_unit": "每单元取水点上限（0为不限）",
    "pad_slope_max_deg": "停机坪最大坡度（度）", "pad_side_m": "停机坪边长（米）", "pad_clear_ring_m": "停机坪净空带宽度（米）",
    "pad_road_max_m": "停机坪距道路最大距离（米）", "settlement_point_radius_m": "点状居民点避让半径（米）",
    "pads_per_unit": "每单元停机坪候选数", "warn_share_below": "覆盖率预警下限",
    # micro_stations
    "arrival_min": "微型消防站到场时限（分钟）", "mode": "行进方式（motorcycle 消防摩托车 / cart 推车步行）",
    "lane_speed_kmh": "巷道行进速度（公里/小时）", "vehicle_class": "可用道路车型等级",
    "offroad_speed_kmh": "道路至站点、社区步行速度（公里/小时）", "horizon_min": "到场时间统计上限（分钟）",
    "existing_until_year": "视为现状站的最晚年份", "site_spacing_m": "新增微型消防站候选点间距（米）",
    "max_new_sites": "新增微型消防站数量上限",
    # building_clusters
    "separation_m": "防火间距（米，按耐火等级组合）", "unknown_grade": "耐火等级不详时按此等级",
    "structure_grades": "结构类型对应耐火等级", "limit_m2": "连片区面积上限（平方米）",
    "widen_max_m": "建议拓宽间距的最大差距（米，否则设防火墙）", "min_buildings": "列出连片区的最少建筑数",
}
