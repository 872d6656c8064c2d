"""Chinese labels for result columns and layer names (tables, maps, report share them)."""

from __future__ import annotations

COLUMNS_ZH = {
    # forest-fire monitoring
    "site": "监控点", "visible_forest_km2": "可视林地（平方公里）", "chosen": "规划选定",
    "added_forest_km2": "新增可视林地（平方公里）", "mast_m": "架设高度（米）", "range_km": "监测距离（公里）",
    "elevation_m": "海拔（米）", "seen_km2": "现状可视林地（平方公里）", "seen_share": "现状可视林地比例",
    "seen_after_km2": "规划后可视林地（平方公里）", "seen_share_after": "规划后可视林地比例",
    "area_km2": "面积（平方公里）",
    "name": "名称", "town": "乡镇（街道）", "population": "人口", "kind": "类型", "status": "状态",
    "station": "消防队站", "station_2": "第二到场队站", "time_min": "到场时间（分钟）",
    "time_min_2": "第二到场时间（分钟）", "vehicle_class": "车型等级", "best_vehicle": "可达最优车型",
    "width_m": "宽度（米）", "width_source": "宽度来源", "grade_max_pct": "最大纵坡（%）",
    "grade_mean_pct": "平均纵坡（%）", "length_m": "长度（米）", "road_class": "道路等级",
    "time_min_standard": "标准消防车到场时间（分钟）", "time_min_small": "小型消防车到场时间（分钟）",
    "time_min_motorcycle": "消防摩托车到场时间（分钟）", "bottleneck_width_m": "瓶颈路段宽度（米）",
    "bottleneck_edge": "瓶颈路段编号", "rank": "序号", "settlements_unlocked": "受益居民点数",
    "population_unlocked": "受益人口", "break_min": "时间圈（分钟）", "ring": "圈层",
    "radius_m": "半径（米）", "network_share": "路网实际可达比例", "source_kind": "水源类型",
    "source_id": "水源编号", "usable": "是否可用", "reason": "原因", "covered": "是否覆盖",
    "nearest_source": "最近水源", "distance_m": "距离（米）", "new_settlements": "新增覆盖居民点",
    "new_road_m": "新增覆盖道路（米）", "area": "区域", "rule": "规则", "required": "要求值",
    "found": "现状值", "passed": "是否满足", "facing": "面向居民点", "area_m2": "面积（平方米）",
    "slope_mean_deg": "平均坡度（度）", "barrier_type": "阻隔类型", "forest_block": "林区编号",
    "settlements_behind": "后方居民点数", "population_behind": "后方人口", "lon": "经度（WGS84）",
    "lat": "纬度（WGS84）", "block_id": "林区编号", "entries": "入口数", "cut_size": "必经道口数",
    "unit": "单元", "clear_diameter_m": "净水面直径（米）", "depth_m": "水深（米）",
    "approach_dirs": "可进近方向数", "forest_km2_in_radius": "服务半径内林地（平方公里）",
    "round_trip_min": "往返时间（分钟）", "selected": "是否选定", "slope_max_deg": "最大坡度（度）",
    "road_m": "距道路（米）", "nearest_dip_site_km": "距取水点（公里）", "source": "数据来源",
    "volume_m3": "容积（立方米）", "diameter_mm": "管径（毫米）", "lift_m": "吸水高度（米）",
    "settlements": "居民点数", "share": "比例", "scenario": "情景",
    "walk_m": "路端后步行（米）", "bottleneck_width_assumed": "瓶颈宽度为推定值", "action": "建议措施",
    "width_assumed": "宽度为推定值", "width_assumed_m": "推定宽度路段长度（米）",
    "road_km_width_assumed": "推定宽度道路（公里）", "width_assumed_share": "推定宽度道路比例",
}

# result columns added by the analyses
COLUMNS_ZH.update({
    "approach_best_deg": "最佳进近方向地形仰角（度）", "approach_from": "可进近方向", "approach_ok": "进近条件满足",
    "area_ok": "面积满足", "clear_ok": "净水面直径满足", "depth_ok": "水深满足", "power_ok": "电力线避让满足",
    "power_line_m": "距电力线（米）", "provisional": "待核实（水深未知）", "reason_en": "原因（英文）",
    "reason_zh": "原因", "water_level_m": "水面高程（米）", "assumptions": "采用的假定",
    "area_biological_m2": "生物阻隔面积（平方米）", "area_engineered_m2": "工程阻隔面积（平方米）",
    "area_natural_m2": "天然阻隔面积（平方米）", "area_road_m2": "道路阻隔面积（平方米）",
    "area_undetermined_m2": "类型待定面积（平方米）", "area_share": "面积可达比例", "band_id": "阻隔带编号",
    "bands": "阻隔带数", "edge_id": "林缘段编号", "edge_length_m": "林缘长度（米）",
    "facing_settlements": "面向居民点数", "separated_by": "已有分隔", "checkpoint_id": "检查站编号",
    "checkpoints": "检查站数", "road_length_m": "道路长度（米）", "lon_cgcs2000": "经度（CGCS2000）",
    "lat_cgcs2000": "纬度（CGCS2000）",
    "builtup_covered_after_m": "建议实施后建成区道路覆盖（米）", "builtup_covered_m": "建成区道路覆盖（米）",
    "builtup_road_m": "建成区道路（米）", "coverable": "可通过新增消火栓覆盖", "covered_after": "建议实施后是否覆盖",
    "covered_by": "覆盖水源", "nearest_kind": "最近水源类型", "found_value": "现状数值", "required_value": "要求数值",
    "offending": "不满足的要素", "old_town_id": "古镇编号", "rule_key": "规则代码", "lift_source": "吸水高度来源",
    "limit_m": "限值（米）", "offset_m": "沿路位置（米）", "population_covered": "覆盖人口",
    "population_share": "人口覆盖率", "reach_m": "保护距离（米）", "road_in_circle_m": "圆内道路（米）",
    "road_share": "道路覆盖率", "road_share_after": "建议实施后道路覆盖率", "road_z_m": "道路高程（米）",
    "water_z_m": "水面高程（米）", "truck_road_m": "距消防车道（米）", "settlement_ids": "覆盖居民点编号",
    "settlement_share": "居民点覆盖率", "settlement_share_after": "建议实施后居民点覆盖率",
    "settlements_covered": "覆盖居民点数", "settlements_covered_after": "建议实施后覆盖居民点数",
    "dead_end": "尽头路", "edge": "路段编号", "edges": "路段", "end_node": "尽头节点", "junction_node": "交叉口节点",
    "grade_warning": "纵坡8%-10%提示", "oneway": "单行", "road_fid": "道路要素编号", "runs": "连续路段",
    "turnaround": "设回车场", "u": "起点节点", "v": "终点节点", "via_dead_end": "仅经尽头路可达",
    "snap_m": "距道路（米）", "snap_ok": "已接入路网",
    "end_m": "终点里程（米）", "start_m": "起点里程（米）", "max_time_min": "最大到场时间（分钟）",
    "reached_m": "可达道路（米）", "speed_kmh": "车速（公里/小时）", "station_name": "队站名称",
    "time_min_end": "终点到场时间（分钟）", "time_min_start": "起点到场时间（分钟）",
    "time_min_existing": "仅现状队站到场时间（分钟）", "objective": "目标值",
    "forest_coverable_km2": "可覆盖林地（平方公里）", "forest_covered_before_km2": "现状覆盖林地（平方公里）",
    "forest_covered_km2": "规划覆盖林地（平方公里）", "forest_m": "距林地（米）",
    "forest_nearest_km": "距最近林地（公里）", "pad": "停机坪编号", "round_trip_nearest_min": "至最近林地往返（分钟）",
    "score_km": "排序得分（公里）", "selected_for": "服务单元", "selected_sites": "选定取水点",
    "share_before": "现状覆盖率", "share_after": "规划覆盖率", "x": "X坐标（米）", "y": "Y坐标（米）",
    "feature_id": "要素编号", "settlements_none": "消防车辆不可达居民点数",
    "population_none": "消防车辆不可达人口", "road_km_none": "消防车辆不可通行道路（公里）",
    "road_km_total": "道路合计（公里）",
    "grade_source": "纵坡来源", "grade_dem_max_pct": "DEM 剖面最大纵坡（%）", "grade_checked_share": "DEM 覆盖比例", "structure": "桥隧",
    "pedestrian": "人行道路", "other_fid": "相关道路要素编号", "note": "说明",
})

# micro fire stations and building clusters (issue 17)
COLUMNS_ZH.update({
    "year": "年份", "community": "所属社区", "nearest_station": "最近微型消防站", "offroad_m": "距道路（米）",
    "covered_planned": "含规划站3分钟可达", "time_min_planned": "含规划站到场时间（分钟）",
    "station_planned": "到场站（含规划）", "travel_m": "沿路行进距离（米）", "communities": "社区",
    "new_communities": "新增可达社区数",
    "stations_existing": "现状微型消防站", "stations_planned": "规划微型消防站",
    "communities_covered": "现状3分钟可达社区", "communities_covered_planned": "含规划站3分钟可达社区",
    "communities_covered_after": "含建议站3分钟可达社区", "population_covered_planned": "含规划站可达人口",
    "population_share_planned": "含规划站人口覆盖率", "population_covered_after": "含建议站可达人口",
    "population_share_after": "含建议站人口覆盖率", "programme_2024": "2024年配齐社区", "programme_2025": "2025年配齐社区",
    "cluster_id": "连片区编号", "buildings": "建筑数", "footprint_m2": "占地面积（平方米）", "over_limit": "是否超限",
    "limit_m2": "面积上限（平方米）", "parts": "分隔后分区数", "cuts": "建议分隔处数", "assumed_grades": "按假设等级计的建筑数",
    "grade_mix": "耐火等级构成", "old_town": "古镇", "part_a": "分区A", "part_b": "分区B", "building_a": "建筑A",
    "building_b": "建筑B", "gap_m": "现状间距（米）", "required_m": "要求防火间距（米）", "shortfall_m": "差距（米）",
    "measure": "措施", "grade": "耐火等级", "grade_basis": "耐火等级依据（surveyed 调查/structure 按结构/assumed 假设）",
    "part": "分区",
})

_PATTERNS = (
    ("gain_population_within_", "新增{n}分钟内人口"), ("gain_settlements_within_", "新增{n}分钟内居民点"),
    ("pop_share_within_", "{n}分钟内人口比例"), ("population_within_", "{n}分钟内人口"),
    ("settlements_within_", "{n}分钟内居民点数"), ("share_within_", "{n}分钟内居民点比例"),
    ("within_", "{n}分钟内到场"),
)
_VEHICLE_ZH = {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车", "none": "消防车辆不可达",
               "total": "合计"}


def header_zh(column: str, layer: str | None = None) -> str:
    """``"time_min" -> "到场时间（分钟）"``; unknown columns are returned unchanged.

    With ``layer`` (a result layer name), the label declared in :mod:`kzgis.schema` wins.
    Families of columns are labelled by pattern: ``within_15`` -> 15分钟内到场,
    ``road_km_small`` -> 小型消防车道路（公里）, ``population_standard`` -> 标准消防车可达人口.
    """
    column = str(column)
    if layer is not None:
        from .schema import label_zh

        declared = label_zh(layer, column)
        if declared:
            return declared
    if column in COLUMNS_ZH:
        return COLUMNS_ZH[column]
    for prefix, fmt in _PATTERNS:
        if column.startswith(prefix) and column[len(prefix):].replace(".", "").isdigit():
            return fmt.format(n=column[len(prefix):])
    for prefix, fmt in (("road_km_", "{v}道路（公里）"), ("population_", "{v}可达人口"),
                        ("settlements_", "{v}可达居民点数")):
        if column.startswith(prefix) and column[len(prefix):] in _VEHICLE_ZH:
            return fmt.format(v=_VEHICLE_ZH[column[len(prefix):]])
    return column


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

#: More column labels used by the report (kept apart from COLUMNS_ZH so the two lists merge cleanly).
COLUMNS_ZH.update({
    "new_population": "新增覆盖人口", "road_name": "道路名称", "road_names": "道路名称", "widen_from_m": "现状宽度（米）",
    "settlement_names": "相关居民点", "bottleneck_kind": "瓶颈类型", "bottleneck_grade_pct": "瓶颈纵坡（%）",
    "upgrade_rank": "拓宽序号", "nearest_station": "最近消防队站", "forest_km2": "林地面积（平方公里）",
    "share_coverable": "可覆盖林地比例", "share_after": "选定取水点覆盖林地比例", "sites_selected": "选定取水点数",
    "pads": "停机坪候选数", "n_stations": "队站数", "stations": "消防队站", "unreached": "不可达居民点",
    "mean_time_min": "平均到场时间（分钟）", "spacing_m": "间距（米）", "hydrant_a": "消火栓甲", "hydrant_b": "消火栓乙",
    "depth_status": "水深状况", "round_trip_min": "往返时间（分钟）", "forest_mean_km": "至林地平均距离（公里）",
    "recommend": "建议", "item_kind": "检查站类别", "item": "清单项", "reason": "理由",
    "work_sites_behind": "后方林区作业点", "fire_risk_edge": "通往易发火林缘", "cut_points": "控制道口数",
    "merged": "合并的道口数", "work_sites": "林区作业点数",
    "pad_area_m2": "停机坪面积（平方米）", "candidate_area_m2": "可选坪址范围（平方米）",
    "road_vehicle_class": "道路可通行车型", "approach_power_blocked": "被电力线横穿的进近方向数",
    "band_ends": "阻隔带端部",
})

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
