"""Named planning rules and assumptions, each with its source and confidence.

Confidence codes follow the domain brief: ``V1`` clause text seen, ``V2`` number seen on a
secondary page, ``M`` from memory, ``A`` an assumption of ours. Every default an analysis uses
comes from here, so reports can list the rules and assumptions in force, and every value is
overridable in a recipe.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rule:
    key: str
    value: float
    unit: str
    source: str
    confidence: str
    text_zh: str

    @property
    def is_assumption(self) -> bool:
        return "A" in self.confidence.split("/")

    def cite(self) -> str:
        return f"{self.text_zh}：{self.value:g} {self.unit}（{self.source}）"


RECIPE = "recipe"  #: the source of a value the recipe changed
METHOD = "method choice"  #: the source of a number of the method without a rule of its own


_RULES = [
    Rule("truck_road_width_m", 4.0, "m", "GB 50016-2014 7.1.8; GB 50039-2010 ch.3", "V2", "消防车道净宽"),
    Rule("truck_road_clear_height_m", 4.0, "m", "GB 50016-2014 7.1.8", "V2", "消防车道净空高度"),
    Rule("truck_grade_preferred_pct", 8.0, "%", "GB 50016-2014 7.1.8", "V2", "消防车道坡度（宜）"),
    Rule("truck_grade_max_pct", 10.0, "%", "GB 55037-2022 3.4.5", "M", "消防车道坡度（应）"),
    Rule("dead_end_turnaround_m", 40.0, "m", "GB 55037-2022 3.4.5", "M", "尽头式消防车道需设回车场的长度"),
    Rule("turnaround_side_m", 12.0, "m", "GB 50016-2014 7.1.9", "V2", "回车场边长"),
    Rule("truck_road_spacing_m", 160.0, "m", "GB 50016-2014 7.1.1; GB 50039", "V2", "建成区消防车道间距"),
    Rule("small_truck_width_m", 3.0, "m", "assumption (vehicle ~2.0-2.2 m wide); no national rule", "A",
         "小型消防车通行道路宽度"),
    Rule("motorcycle_width_m", 1.5, "m", "assumption; no national rule", "A", "消防摩托车通行道路宽度"),
    Rule("small_truck_grade_max_pct", 15.0, "%", "assumption (light chassis); no national rule", "A",
         "小型消防车通行道路最大坡度"),
    Rule("motorcycle_grade_max_pct", 20.0, "%", "assumption; no national rule", "A", "消防摩托车通行道路最大坡度"),
    Rule("hydrant_radius_m", 150.0, "m", "GB 50974-2014 7.2.5", "V2", "室外消火栓保护半径"),
    Rule("hydrant_spacing_m", 120.0, "m", "GB 50974-2014 7.2.5", "V2", "室外消火栓间距"),
    Rule("pool_intake_radius_m", 150.0, "m", "GB 50974-2014 6.1.5", "M", "消防水池取水口保护半径"),
    Rule("natural_intake_radius_m", 150.0, "m", "assumption, as hydrants", "A", "天然水源取水点保护半径"),
    Rule("suction_lift_max_m", 6.0, "m", "GB 50974-2014 4.3.7, 4.4.5", "V1", "消防车最大吸水高度"),
    Rule("pool_volume_min_m3", 100.0, "m3", "GB 50974-2014 4.3.4", "V2", "消防水池最小有效容积"),
    Rule("pool_volume_hydrant_only_m3", 50.0, "m3", "GB 50974-2014 4.3.4", "V2", "仅设消火栓时消防水池最小容积"),
    Rule("old_town_main_diameter_mm", 100.0, "mm", "开州府办发〔2023〕47号 task 7", "V1", "温泉古镇消防给水管网管径"),
    Rule("old_town_pool_volume_m3", 500.0, "m3", "开州府办发〔2023〕47号 task 7", "V1", "温泉古镇消防水池容积"),
    Rule("turnout_min", 1.0, "min", "GB 51080-2015 4.1.3; 建标152-2017", "V1", "出动时间"),
    Rule("urban_response_min", 5.0, "min", "GB 51080-2015 4.1.3", "V1", "城市消防站接警到达辖区边缘时间"),
    Rule("truck_speed_urban_kmh", 30.0, "km/h", "建标152-2017 commentary", "M", "城区消防车行驶速度"),
    Rule("on_road_m", 50.0, "m", "assumption: a settlement this close to a road a vehicle may use is reached by "
         "that vehicle; farther, the crew walks the rest", "A", "居民点视为位于道路旁的距离"),
    Rule("walk_speed_kmh", 3.0, "km/h", "assumption: fire crew on foot carrying hose and tools on rural paths",
         "A", "消防员携装步行速度"),
    Rule("homes_to_forest_m", 300.0, "m", "GB 50039-2010 ch.3", "V2", "村庄与林区边缘距离（宜）"),
    Rule("forest_prevention_zone_m", 100.0, "m", "开州区2023年森林防火禁火令", "V1", "森林防火区外延距离"),
    Rule("barrier_urban_m", 200.0, "m", "开州府办发〔2023〕47号 task 8", "V1", "面向城区林火阻隔带宽度（林缘向内）"),
    Rule("barrier_town_m", 100.0, "m", "开州府办发〔2023〕47号 task 8", "V1", "其余乡镇林火阻隔带宽度（林缘向内）"),
    Rule("helipad_slope_max_deg", 5.0, "deg", "Zhou 2018 《森林防火》", "V2", "直升机停机坪坡度"),
    Rule("helipad_side_m", 50.0, "m", "Zhou 2018 《森林防火》 (earth pad)", "V2", "土质停机坪边长"),
    Rule("helipad_clear_ring_m", 30.0, "m", "Zhou 2018 《森林防火》", "V2", "停机坪净空带宽度"),
    Rule("bucket_depth_min_m", 2.5, "m", "Chongqing news 2022", "V2", "吊桶取水水深"),
    Rule("heli_cruise_kmh", 160.0, "km/h", "news reports", "V2", "吊桶直升机巡航速度"),
    Rule("dip_area_min_m2", 2000.0, "m2", "assumption; no national rule", "A", "吊桶取水水面面积"),
    Rule("dip_clear_diameter_m", 30.0, "m", "assumption; no national rule", "A", "吊桶取水净水面直径"),
    Rule("dip_radius_km", 10.0, "km", "assumption; no national rule", "A", "取水点服务半径"),
    Rule("dip_approach_slope_deg", 15.0, "deg", "assumption; no national rule", "A", "吊桶取水进近地形仰角上限"),
    Rule("dip_approach_dist_m", 500.0, "m", "assumption; no national rule", "A", "吊桶取水进近地形检查距离"),
    Rule("dip_approach_corridor_m", 50.0, "m", "assumption; no national rule (rotor span plus margin)", "A",
         "吊桶取水进近通道宽度"),
    Rule("dip_power_line_m", 100.0, "m", "assumption (Zhou 2018: no power lines near approach paths)", "A",
         "取水水面与电力线最小距离"),
    Rule("heli_dip_drop_min", 3.0, "min", "assumption; no published figure", "A", "吊桶取水与投水耗时"),
    Rule("helipad_road_m", 500.0, "m", "assumption; no national rule", "A", "停机坪与道路最大距离"),
    Rule("settlement_point_radius_m", 100.0, "m", "assumption: radius of houses around a settlement point",
         "A", "居民点（点状）障碍半径"),
    Rule("checkpoint_group_m", 200.0, "m", "assumption; no national rule", "A", "检查站合并距离"),
    # roads: widths where none is surveyed (JTG B01-2014 公路工程技术标准, lane and roadbed widths)
    Rule("road_width_national_m", 9.0, "m", "JTG B01-2014: 国道 mostly 二级 or better, two 3.75 m lanes + shoulders",
         "M", "国道缺省路宽"),
    Rule("road_width_provincial_m", 8.0, "m", "JTG B01-2014: 省道 二级/三级, two lanes 3.5-3.75 m + shoulders", "M",
         "省道缺省路宽"),
    Rule("road_width_county_m", 6.5, "m", "JTG B01-2014: 县道 three/four-class two-lane, roadbed ~6.5-7 m", "M",
         "县道缺省路宽"),
    Rule("road_width_township_m", 4.5, "m", "JTG B01-2014: 乡道 四级, single-lane roadbed 4.5 m (4.5-6 m)", "M",
         "乡道缺省路宽"),
    Rule("road_width_village_m", 3.5, "m", "JTG B01-2014: 村道 四级 single lane 3.5 m pavement (3.5-4.5 m)", "M",
         "村道缺省路宽"),
    Rule("road_width_farm_track_m", 2.5, "m", "assumption: 机耕道 one tractor wide", "A", "机耕道缺省路宽"),
    Rule("road_width_urban_m", 7.0, "m", "assumption: urban 支路 two lanes (CJJ 37)", "A", "城市道路缺省路宽"),
    Rule("road_width_footpath_m", 1.5, "m", "assumption", "A", "步道缺省路宽"),
    Rule("road_width_steps_m", 1.0, "m", "assumption", "A", "台阶缺省路宽"),
    Rule("road_width_unknown_m", 3.5, "m", "assumption: a road of unknown class is taken as the narrowest common "
         "rural road (single lane); survey it", "A", "未知等级道路缺省路宽"),
    Rule("road_width_osm_residential_m", 5.5, "m", "assumption: usual carriageway of OSM highway=residential", "A",
         "OSM 居住区道路缺省路宽"),
    Rule("road_width_osm_unclassified_m", 4.5, "m", "assumption: OSM highway=unclassified ~ 乡道/村道 single lane "
         "roadbed", "A", "OSM 未分级道路缺省路宽"),
    Rule("road_width_osm_service_m", 3.5, "m", "assumption: OSM highway=service, one lane", "A",
         "OSM 服务道路缺省路宽"),
    Rule("road_width_osm_living_street_m", 4.5, "m", "assumption: OSM highway=living_street", "A",
         "OSM 生活街道缺省路宽"),
    Rule("lane_width_m", 3.5, "m", "JTG B01-2014 lane width at 20-60 km/h design speed", "M",
         "车道宽度（仅知车道数时）"),
    # roads: topology and terrain checks
    Rule("dangle_snap_m", 2.0, "m", "assumption: digitising error; a line end this close to another line is "
         "joined to it", "A", "悬挂端点自动连接距离"),
    Rule("near_miss_m", 10.0, "m", "assumption: a line end this close to another line is reported for checking",
         "A", "悬挂端点近距提示距离"),
    Rule("structure_profile_grade_pct", 40.0, "%", "assumption: no road climbs this steeply over two DEM cells; "
         "with an ordinary end-to-end grade it is a bridge, tunnel or DEM artefact", "A",
         "疑似桥隧（DEM 剖面坡度上限）"),
    Rule("dem_closed_share_max", 0.05, "", "assumption: above this share of road length closed to every vehicle "
         "by DEM grade, the DEM may not fit the roads", "A", "DEM 封闭道路比例提示阈值"),
    # water
    Rule("water_lateral_m", 60.0, "m", "assumption: buildings this far beside a protected road are reached", "A",
         "消防水源保护范围道路两侧宽度"),
    Rule("water_truck_road_m", 20.0, "m",
         "assumption; GB 50974-2014 4.4.7 requires a truck road to the intake but gives no distance", "A",
         "取水点、消防水池至消防车可通行道路最大距离"),
    Rule("water_surface_radius_m", 30.0, "m", "method: lowest DEM value this close to the intake", "A",
         "水面高程取值半径"),
    Rule("water_candidate_spacing_m", 20.0, "m", "method", "A", "新增消火栓候选点间距"),
    Rule("water_budget", 100.0, "", "assumption", "A", "新增消火栓数量上限"),
    Rule("water_min_new_road_m", 10.0, "m", "assumption: a new hydrant covering no new settlement must add at least this much built-up road", "A",
         "新增消火栓最小新增覆盖道路长度"),
    Rule("old_town_pool_search_m", 200.0, "m", "assumption: a pool this close serves the old town", "A",
         "古镇消防水池搜索距离"),
    Rule("old_town_wharf_m", 500.0, "m", "assumption: the seed says 'near the old town' without a distance", "A",
         "取水码头距古镇最大距离"),
    Rule("old_town_wharf_water_m", 50.0, "m", "assumption: a wharf this close to the water is 'on the river'", "A",
         "取水码头距水体最大距离"),
    Rule("old_town_hydrant_share", 1.0, "", "assumption: all roads of the old town within hydrant reach", "A",
         "古镇内道路消火栓覆盖比例"),
    # barriers
    Rule("barrier_steep_slope_deg", 25.0, "deg", "assumption; engineered break below, biological belt above",
         "A", "工程阻隔与生物阻隔坡度界限"),
    Rule("road_barrier_width_m", 8.0, "m", "assumption; road this wide counts as an existing barrier", "A",
         "可作阻隔的道路宽度"),
    Rule("river_barrier_width_m", 10.0, "m", "assumption; water this wide counts as an existing barrier", "A",
         "可作阻隔的河流水面宽度"),
    Rule("separation_margin_m", 100.0, "m", "assumption; how far around a river end fire is traced", "A",
         "阻隔判定外延距离"),
    Rule("through_forest_max_m", 20.0, "m", "assumption; forest a facing line of sight may cross", "A",
         "林缘朝向判定穿越林地容差"),
    # checkpoints
    Rule("checkpoint_min_block_m2", 1_000_000.0, "m2", "assumption; smaller forest patches get no 必经道口",
         "A", "设检查站林区最小面积"),
    Rule("checkpoint_exit_search_m", 3000.0, "m", "assumption; road distance from a village to the forest "
         "within which its exit road counts as leading to it", "A", "村口至林缘道路距离上限"),
    Rule("checkpoint_cut_merge_m", 0.0, "m", "assumption; one post controls only the road it stands on, so "
         "every road of the cut keeps its own checkpoint unless the planner merges cut points this close "
         "along the road", "A", "必经道口沿道路合并距离"),
    Rule("checkpoint_cut_search_m", 5000.0, "m", "assumption; a junction farther than this along the road from "
         "the forest entries is not used as the one checkpoint of several entries", "A", "必经道口沿道路搜索距离"),
    Rule("checkpoint_standard_pop", 1000.0, "people", "assumption; no national rule", "A",
         "设标准检查站的后方人口下限"),
    Rule("checkpoint_fire_edge_m", 100.0, "m", "assumption; a road entry this close to a fire-prone forest "
         "edge serves it", "A", "易发火林缘服务道口距离"),
    # micro fire stations (社区/村微型消防站)
    Rule("micro_turnout_min", 1.0, "min", "公消〔2015〕301号", "M", "微型消防站接警出动时间"),
    Rule("micro_arrival_min", 3.0, "min", "公消〔2015〕301号", "M",
         "微型消防站接警到场时间"),
    Rule("micro_motorcycle_speed_kmh", 15.0, "km/h", "assumption (fire motorcycle in lanes); no national rule", "A",
         "消防摩托车巷道行驶速度"),
    Rule("micro_cart_speed_kmh", 5.0, "km/h", "assumption (on foot with a hand cart); no national rule", "A",
         "人员推车步行速度"),
    Rule("micro_offroad_speed_kmh", 5.0, "km/h", "assumption (the stretch between a lane and the door is walked); no national rule", "A",
         "道路至社区（站点）步行速度"),
    Rule("micro_candidate_spacing_m", 50.0, "m", "assumption (method: new-site candidates along lanes)", "A",
         "新增微型消防站候选点间距"),
    Rule("micro_budget", 20.0, "", "assumption", "A", "新增微型消防站数量上限"),
    # building clusters (建筑连片密集区); GB 50016-2014 table 5.2.2, civil buildings, by fire-resistance grade
    Rule("separation_12_12_m", 6.0, "m", "GB 50016-2014 5.2.2", "M", "一、二级与一、二级民用建筑防火间距"),
    Rule("separation_12_3_m", 7.0, "m", "GB 50016-2014 5.2.2", "M", "一、二级与三级民用建筑防火间距"),
    Rule("separation_12_4_m", 9.0, "m", "GB 50016-2014 5.2.2", "M", "一、二级与四级民用建筑防火间距"),
    Rule("separation_3_3_m", 8.0, "m", "GB 50016-2014 5.2.2", "M", "三级与三级民用建筑防火间距"),
    Rule("separation_3_4_m", 10.0, "m", "GB 50016-2014 5.2.2", "M", "三级与四级民用建筑防火间距"),
    Rule("separation_4_4_m", 12.0, "m", "GB 50016-2014 5.2.2", "M", "四级与四级民用建筑防火间距"),
    Rule("unknown_fire_grade", 4.0, "", "assumption (wooden / brick-wood village houses of unknown grade)", "A",
         "耐火等级不详的建筑按此等级计"),
    Rule("cluster_area_max_m2", 5000.0, "m2", "GB 50039-2010", "M/A", "建筑连片密集区（防火分区）最大占地面积"),
    Rule("firebreak_widen_max_m", 3.0, "m", "assumption (shortfall up to which widening the gap is suggested, "
         "above it a fire wall)", "A", "建议拓宽间距（否则设防火墙）的最大差距"),
]

_RULES += [
    # forest-fire video monitoring (seed task 18)
    Rule("monitor_mast_m", 25.0, "m", "assumption: camera mast/tower height; LY/T 2581-2016 gives no single value",
         "A", "林火监控摄像机架设高度"),
    Rule("monitor_target_m", 10.0, "m", "assumption: smoke must be seen this far above the ground (above the "
         "canopy)", "A", "林火监控目标高度（烟雾离地）"),
    Rule("monitor_range_km", 8.0, "km", "assumption: useful smoke-detection range of a visible-light camera", "A",
         "林火监控有效监测距离"),
    Rule("monitor_refraction", 0.13, "", "standard atmospheric refraction coefficient for visible light "
         "(as in GDAL's viewshed)", "M", "大气折射系数"),
    Rule("monitor_target_share", 0.9, "", "assumption after targets such as 'key forest 90 % under video "
         "monitoring'", "A", "林火视频监控覆盖率目标"),
    Rule("monitor_summit_spacing_m", 1000.0, "m", "method: a generated candidate is the highest point within "
         "this distance", "A", "候选监控点（山顶）间距"),
    Rule("monitor_candidate_road_m", 1000.0, "m", "assumption: a camera site needs power and access within "
         "this distance of a road", "A", "候选监控点距道路最大距离"),
    Rule("monitor_blind_spot_km2", 1.0, "km2", "issue 18: blind spots listed from this size", "A",
         "林火监控盲区统计面积下限"),
]

RULES: dict[str, Rule] = {r.key: r for r in _RULES}


def rule(key: str) -> Rule:
    return RULES[key]


def group(*keys: str) -> dict[str, Rule]:
    """The rules of the given keys, e.g. an analysis's assumptions, in that order."""
    return {k: RULES[k] for k in keys}


def value(key: str) -> float:
    """The default value of a rule, e.g. ``value("hydrant_radius_m") == 150.0``."""
    return RULES[key].value


# ---------------------------------------------------------------------------------------------
# the rules in force in a run: one record type for every analysis (issue 16 §4)


def param(key: str, kind: Callable = float):
    """A parameter field whose default is rule ``key``, e.g. ``hydrant_reach_m: float = rules.param("hydrant_radius_m")``.

    The field remembers its rule, so :func:`in_force` lists it with the rule's source and confidence.
    """
    return field(default=kind(RULES[key].value), metadata={"rule": key})


def param_table(rule_keys: dict[str, str], *, merged: bool = False):
    """A dict parameter field whose entries are rules, ``{entry: rule key}``.

    ``merged=True``: the default is ``{}`` and the params class merges what is given onto the rule
    values itself (``__post_init__``); otherwise the default is the table of rule values.
    """
    keys = dict(rule_keys)
    factory = dict if merged else (lambda: {k: RULES[r].value for k, r in keys.items()})
    return field(default_factory=factory, metadata={"rules": keys})


def method(default: Any, unit: str, text_zh: str):
    """A parameter field that is a number of the method without a rule (listed as an assumption, A)."""
    return field(default=default, metadata={"method": (unit, text_zh)})


@dataclass(frozen=True)
class InForce:
    """One rule or method number in force in a run, as every output lists it.

    ``key`` is the parameter name (``speed_kmh.村道`` for an entry of a dict parameter), ``rule``
    the :data:`RULES` key it defaults to (None for a method number). A value changed in the recipe
    has source ``recipe`` and confidence ``A`` (it rests on the planner, not on the cited source),
    ``changed_by_recipe`` True and ``default`` the value it replaced.
    """

    key: str
    value: Any
    unit: str
    source: str
    confidence: str
    text_zh: str
    is_assumption: bool
    changed_by_recipe: bool
    rule: str | None = None
    default: Any = None

    def text(self) -> str:
        """``"吊桶取水水面面积 2000 m2（A）"``; ``（配方设定）`` for a value the recipe changed."""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.text_zh} {_fmt(self.value)}{unit}（{'配方设定' if self.changed_by_recipe else self.confidence}）"

    def cite(self) -> str:
        """As :meth:`Rule.cite` with the value in force: ``"古镇消防水池搜索距离：200 m（assumption...）"``."""
        return f"{self.text_zh}：{_fmt(self.value)} {self.unit}（{self.source}）"

    def as_dict(self) -> dict:
        """The record as plain JSON-able values (summary.json, ``attrs["assumptions"]``)."""
        return dataclasses.asdict(self)


def _fmt(v) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return f"{v:g}"


def _get(params, name: str):
    head, _, entry = name.partition(".")
    v = getattr(params, head)
    return v[entry] if entry else v


def _same(a, b) -> bool:
    try:
        return a == b or (math.isnan(float(a)) and math.isnan(float(b)))
    except (TypeError, ValueError):
        return False


def in_force(params, rule_params: dict[str, str] | None = None,
             method: dict[str, tuple] | None = None) -> list[InForce]:
    """The rules and method numbers in force for a parameter object, one :class:`InForce` each.

    Parameters
    ----------
    params : dataclass instance
        An analysis's parameters. Fields made with :func:`param`, :func:`param_table` and
        :func:`method` are found by themselves.
    rule_params : dict, optional
        Further ``{parameter name: rule key}`` (a property, or ``name.entry`` of a dict parameter).
    method : dict, optional
        Further method numbers ``{parameter name: (unit, text_zh)}`` or ``(unit, text_zh, default)``.

    Returns
    -------
    list of InForce
        Rule-backed parameters first (in field order, then ``rule_params``), then method numbers.
    """
    rule_map: dict[str, str] = {}
    method_map: dict[str, tuple] = {}
    for f in dataclasses.fields(params):
        if "rule" in f.metadata:
            rule_map[f.name] = f.metadata["rule"]
        for entry, key in f.metadata.get("rules", {}).items():
            rule_map[f"{f.name}.{entry}"] = key
        if "method" in f.metadata:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            method_map[f.name] = (*f.metadata["method"], default)
    rule_map.update(rule_params or {})
    for name, spec in (method or {}).items():
        if len(spec) == 2:
            f = {x.name: x for x in dataclasses.fields(params)}[name]
            spec = (*spec, f.default if f.default is not dataclasses.MISSING else f.default_factory())  # type: ignore[misc]
        method_map[name] = tuple(spec)
    out = []
    for name, key in rule_map.items():
        r = RULES[key]
        v = _get(params, name)
        changed = not _same(v, r.value)
        out.append(InForce(name, v, r.unit, RECIPE if changed else r.source, "A" if changed else r.confidence,
                           r.text_zh, changed or r.is_assumption, changed, key, r.value))
    for name, (unit, text_zh, default) in method_map.items():
        v = _get(params, name)
        changed = not _same(v, default)
        out.append(InForce(name, v, unit, RECIPE if changed else METHOD, "A", text_zh, True, changed, None, default))
    return out


def text(records: list[InForce], *, assumptions_only: bool = True) -> str:
    """The records in one line of text, ``"；"``-separated (by default only the assumptions)."""
    return "；".join(r.text() for r in records if r.is_assumption or not assumptions_only)


# Chongqing forest fire season (重庆市森林防火条例, V1): 1 Jan - 10 May and 10 Jul - 10 Oct.
FIRE_SEASON = (("01-01", "05-10"), ("07-10", "10-10"))
