"""Chinese labels for result columns and layer names (tables, maps, report share them)."""

from __future__ import annotations

COLUMNS_ZH = {
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
}


def header_zh(column: str) -> str:
    """``"time_min" -> "到场时间（分钟）"``; unknown columns are returned unchanged."""
    return COLUMNS_ZH.get(str(column), str(column))


#: Chinese labels for coded values, by column (report and maps share them).
VALUES_ZH = {
    "vehicle_class": {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车",
                      "none": "消防车辆无法通行"},
    "best_vehicle": {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车",
                     "none": "消防车辆无法到达"},
    "status": {"existing": "现状", "planned": "规划", "ok": "完好", "broken": "损坏"},
    "kind": {"road_entry": "进入林区必经道口", "village_exit": "毗邻林区的村镇出入口", "work_site": "林区作业点",
             "forest_edge": "易发火险林缘", "hydrant": "消火栓", "fire_pool": "消防水池",
             "water_intake": "天然水源取水点", "wharf": "消防车取水码头", "full_time": "政府专职消防队",
             "micro": "微型消防站", "station": "消防站"},
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
})

#: Vehicle classes best first (as in kzgis.network.VEHICLE_CLASSES) plus "none".
VEHICLE_ORDER = ("standard", "small", "motorcycle", "none")

#: Units in Chinese (rules and parameters).
UNITS_ZH = {"m": "米", "mm": "毫米", "m2": "平方米", "m3": "立方米", "km": "公里", "km2": "平方公里",
            "min": "分钟", "km/h": "公里/小时", "deg": "度", "%": "%", "": ""}


def value_zh(column: str, value) -> str:
    """``value_zh("vehicle_class", "small") -> "小型消防车"``; booleans become 是/否; unknown values unchanged."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "是" if value else "否"
    table = VALUES_ZH.get(str(column), {})
    return table.get(value, table.get(str(value), str(value))) if value is not None else ""
