"""One result schema: each analysis declares its result layers once (issue 16 §3).

A :class:`ResultLayer` names the layer (as in ``results.gpkg``), its analysis, geometry, Chinese
title, description and its :class:`Column` s (name, kind, unit, Chinese label, description).
:func:`check` compares a result frame with its declaration (the test suite runs it on every declared
result), ``kzgis analyses NAME`` prints it, and :func:`label_zh` gives the column label per layer
(``_labels.header_zh`` reads it when it is given the layer; tables.xlsx headers use it).

Each analysis declares its layers beside its code (``access`` and ``monitoring`` here, ``response``
and ``water`` at the end of their modules). A column whose name holds a placeholder (``within_{n}``,
see :data:`PLACEHOLDERS`) declares a family of columns that depends on the parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

KINDS = ("int", "float", "str", "bool")

#: Placeholders a pattern column's name may hold: ``within_{n}`` is one column per time break
#: (``within_15``, ``within_7_5``), ``covered_{what}`` is ``covered_population`` or ``covered_settlements``.
PLACEHOLDERS = {"n": r"\d+(?:_\d+)?", "what": r"population|settlements"}
#: How a placeholder's value reads in a label (``{n}``: ``7_5`` reads 7.5).
PLACEHOLDERS_ZH = {"what": {"population": "人口", "settlements": "居民点数"}}


@dataclass(frozen=True)
class Column:
    """One result column: ``kind`` is int, float, str or bool; ``unit`` as in the name (m, min, %)."""

    name: str
    kind: str
    unit: str = ""
    label_zh: str = ""
    description: str = ""
    optional: bool = False  # present only with some inputs (e.g. ``town`` needs a boundary layer)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: kind '{self.kind}' is not one of {KINDS}")

    @property
    def is_pattern(self) -> bool:
        """True when the name holds a placeholder (a family of columns that depends on parameters)."""
        return "{" in self.name

    def matches(self, column: str) -> bool:
        """True when ``column`` is this column (or one of its family, for a pattern column)."""
        if not self.is_pattern:
            return column == self.name
        parts = re.split(r"\{(\w+)\}", self.name)
        rx = "".join(re.escape(t) if i % 2 == 0 else f"(?:{PLACEHOLDERS[t]})" for i, t in enumerate(parts))
        return re.fullmatch(rx, str(column)) is not None


@dataclass(frozen=True)
class ResultLayer:
    """One result layer of an analysis (``geometry`` None: a table without geometry)."""

    name: str
    analysis: str
    geometry: str | None
    title_zh: str
    description: str
    columns: tuple[Column, ...]
    #: Optional map hint: the column whose values colour the layer on the maps when it has no hand
    #: style in :mod:`kzgis.maps.styles` (default: chosen from the column kinds, see ``default_rule``).
    style_by: str = ""

    def column(self, name: str) -> Column:
        """The declared column ``name`` (KeyError when it is not declared)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}: no column '{name}' declared")


LAYERS: dict[str, ResultLayer] = {}


def declared_column(layer: str, column: str) -> Column | None:
    """The declaration of ``column`` in result ``layer`` (a pattern column for ``within_15``), or None."""
    lay = LAYERS.get(layer)
    return _declared(lay, column) if lay is not None else None


def declare(*layers: ResultLayer) -> None:
    """Register result layers (once each)."""
    for layer in layers:
        if layer.name in LAYERS and LAYERS[layer.name] != layer:
            raise ValueError(f"result layer '{layer.name}' is declared twice")
        names = [c.name for c in layer.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"result layer '{layer.name}': a column is declared twice")
        LAYERS[layer.name] = layer


def for_analysis(analysis: str) -> list[ResultLayer]:
    """The declared result layers of an analysis, in declaration order."""
    return [lay for lay in LAYERS.values() if lay.analysis == analysis]


def label_zh(layer: str, column: str) -> str | None:
    """The Chinese label of ``column`` in result ``layer``, or None when not declared.

    A member of a pattern column gets the family's label with the placeholder filled in:
    ``within_15`` -> 15分钟内到场, ``within_7_5`` -> 7.5分钟内到场, ``covered_population`` -> ...人口.
    """
    lay = LAYERS.get(layer)
    if lay is None:
        return None
    col = _declared(lay, str(column))
    if col is None or not col.label_zh:
        return None
    if not col.is_pattern or col.name == column:
        return col.label_zh
    parts = re.split(r"\{(\w+)\}", col.name)
    rx = "".join(re.escape(t) if i % 2 == 0 else f"(?P<{t}>{PLACEHOLDERS[t]})" for i, t in enumerate(parts))
    found = re.fullmatch(rx, str(column))
    values = {k: PLACEHOLDERS_ZH.get(k, {}).get(v, v.replace("_", ".")) for k, v in found.groupdict().items()}
    return col.label_zh.format(**values)


def _declared(lay: ResultLayer, column: str) -> Column | None:
    for c in lay.columns:
        if c.name == column:
            return c
    for c in lay.columns:
        if c.is_pattern and c.matches(column):
            return c
    return None


def _kind_ok(series: pd.Series, kind: str) -> bool:
    if kind == "bool":
        return pd.api.types.is_bool_dtype(series)
    if kind == "int":
        return pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if kind == "float":
        return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    return (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
            or series.isna().all())


def check(name: str, frame) -> list[str]:
    """Differences between result ``frame`` and the declaration of layer ``name`` ([] = conforms)."""
    lay = LAYERS[name]
    problems = []
    geom_col = getattr(frame, "_geometry_column_name", None) if hasattr(frame, "geometry") else None
    cols = [c for c in frame.columns if c != geom_col]
    for c in cols:
        col = _declared(lay, c)
        if col is None:
            problems.append(f"{name}: column '{c}' is not declared (add it to kzgis/schema.py)")
        elif col.is_pattern and len(frame) and not _kind_ok(frame[c], col.kind):
            problems.append(f"{name}: column '{c}' is {frame[c].dtype}, declared {col.kind} ({col.name})")
    for c in lay.columns:
        if c.is_pattern:
            continue  # a family of columns: present or not depending on parameters
        if c.name not in frame.columns and not c.optional:
            problems.append(f"{name}: declared column '{c.name}' is missing")
        elif c.name in frame.columns and len(frame) and not _kind_ok(frame[c.name], c.kind):
            problems.append(f"{name}: column '{c.name}' is {frame[c.name].dtype}, declared {c.kind}")
    if lay.geometry is None and geom_col is not None and geom_col in frame.columns:
        problems.append(f"{name}: declared as a table but has geometry")
    if lay.geometry is not None:
        if geom_col is None or geom_col not in frame.columns:
            problems.append(f"{name}: declared with {lay.geometry} geometry but has none")
        elif len(frame):
            types = set(frame.geometry.geom_type.dropna()) - {lay.geometry, "Multi" + lay.geometry}
            if types:
                problems.append(f"{name}: geometry {sorted(types)}, declared {lay.geometry}")
    return problems


def describe(analysis: str) -> str:
    """The declared result layers of an analysis as text (``kzgis analyses NAME``)."""
    lines = []
    for lay in for_analysis(analysis):
        geom = lay.geometry or "table"
        lines.append(f"  {lay.name} ({geom}) {lay.title_zh}: {lay.description}")
        for c in lay.columns:
            unit = f" [{c.unit}]" if c.unit else ""
            desc = f"  {c.description}" if c.description else ""
            lines.append(f"    {c.name:<28} {c.kind:<5}{unit:<7} {c.label_zh}{desc}")
    if any(c.is_pattern for lay in for_analysis(analysis) for c in lay.columns):
        lines.append("  ({n}: one column per time break, 15 or 7_5; {what}: population or settlements)")
    return "\n".join(lines)


#: The columns a settlement (or community) result row opens with, in every analysis that has one.
SETTLEMENT = (Column("name", "str", "", "名称"), Column("town", "str", "", "乡镇（街道）"),
              Column("population", "float", "", "人口"))
#: Travel time from the nearest station by vehicle class (access and response settlements).
TIMES_BY_CLASS = (Column("time_min_standard", "float", "min", "标准消防车到场时间（分钟）"),
                  Column("time_min_small", "float", "min", "小型消防车到场时间（分钟）"),
                  Column("time_min_motorcycle", "float", "min", "消防摩托车到场时间（分钟）"))

declare(
    ResultLayer('access_roads', "access", 'LineString', '道路消防车通行能力',
                'Every road edge of the network with the vehicle class that may use it (width, grade, one-way, dead ends).',
                (
            Column('edge', 'int', '', '路段编号'),
            Column('u', 'int', '', '起点节点'),
            Column('v', 'int', '', '终点节点'),
            Column('length_m', 'float', 'm', '长度（米）'),
            Column('width_m', 'float', 'm', '宽度（米）'),
            Column('width_source', 'str', '', '宽度来源'),
            Column('road_class', 'str', '', '道路等级'),
            Column('name', 'str', '', '名称'),
            Column('oneway', 'bool', '', '单行'),
            Column('grade_max_pct', 'float', '%', '最大纵坡（%）'),
            Column('grade_mean_pct', 'float', '%', '平均纵坡（%）'),
            Column('grade_source', 'str', '', '纵坡来源'),
            Column('grade_dem_max_pct', 'float', '%', 'DEM 剖面最大纵坡（%）'),
            Column('grade_checked_share', 'float', '', 'DEM 覆盖比例'),
            Column('structure', 'str', '', '桥隧'),
            Column('pedestrian', 'bool', '', '人行道路'),
            Column('turnaround', 'bool', '', '设回车场'),
            Column('road_fid', 'int', '', '道路要素编号'),
            Column('vehicle_class', 'str', '', '车型等级'),
            Column('grade_warning', 'bool', '', '纵坡8%-10%提示'),
            Column('time_min_standard', 'float', 'min', '标准消防车到场时间（分钟）'),
            Column('time_min_small', 'float', 'min', '小型消防车到场时间（分钟）'),
            Column('time_min_motorcycle', 'float', 'min', '消防摩托车到场时间（分钟）'),
            Column('dead_end', 'int', '', '尽头路'),
            Column('width_assumed', 'bool', '', '宽度为推定值'),
                )),
    ResultLayer('access_settlements', "access", 'Point', '居民点消防车可达性',
                'Each settlement: the best vehicle class that reaches it, times by class from the nearest station, and the bottleneck of its best route.',
                SETTLEMENT + TIMES_BY_CLASS + (
            Column('best_vehicle', 'str', '', '可达最优车型'),
            Column('walk_m', 'float', 'm', '路端后步行（米）'),
            Column('nearest_station', 'str', '', '最近消防队站'),
            Column('snap_m', 'float', 'm', '距道路（米）'),
            Column('snap_ok', 'bool', '', '已接入路网'),
            Column('bottleneck_kind', 'str', '', '瓶颈类型'),
            Column('bottleneck_width_m', 'float', 'm', '瓶颈路段宽度（米）'),
            Column('bottleneck_grade_pct', 'float', '%', '瓶颈纵坡（%）'),
            Column('bottleneck_edge', 'int', '', '瓶颈路段编号'),
            Column('bottleneck_width_assumed', 'bool', '', '瓶颈宽度为推定值'),
            Column('via_dead_end', 'int', '', '仅经尽头路可达'),
            Column('upgrade_rank', 'int', '', '拓宽序号'),
                )),
    ResultLayer('access_upgrades', "access", 'LineString', '道路拓宽建议',
                'Ranked road sections to widen, each with the settlements and population it unlocks for standard trucks (each assumes the ones above are done).',
                (
            Column('rank', 'int', '', '序号'),
            Column('length_m', 'float', 'm', '长度（米）'),
            Column('settlements_unlocked', 'int', '', '受益居民点数'),
            Column('population_unlocked', 'float', '', '受益人口'),
            Column('settlement_names', 'str', '', '相关居民点'),
            Column('edges', 'str', '', '路段'),
            Column('runs', 'int', '', '连续路段'),
            Column('widen_from_m', 'float', 'm', '现状宽度（米）'),
            Column('road_names', 'str', '', '道路名称'),
            Column('width_assumed_m', 'float', 'm', '推定宽度路段长度（米）'),
            Column('action', 'str', '', '建议措施'),
                )),
    ResultLayer('access_towns', "access", None, '乡镇通行统计',
                'Road km by vehicle class and settlements / population by best class, per township.',
                (
            Column('town', 'str', '', '乡镇（街道）'),
            Column('road_km_standard', 'float', 'km', '标准消防车道路（公里）'),
            Column('road_km_small', 'float', 'km', '小型消防车道路（公里）'),
            Column('road_km_motorcycle', 'float', 'km', '消防摩托车道路（公里）'),
            Column('road_km_none', 'float', 'km', '消防车辆不可通行道路（公里）'),
            Column('road_km_width_assumed', 'float', 'km', '推定宽度道路（公里）'),
            Column('road_km_total', 'float', 'km', '道路合计（公里）'),
            Column('width_assumed_share', 'float', '', '推定宽度道路比例'),
            Column('settlements_standard', 'int', '', '标准消防车可达居民点数'),
            Column('population_standard', 'float', '', '标准消防车可达人口'),
            Column('settlements_small', 'int', '', '小型消防车可达居民点数'),
            Column('population_small', 'float', '', '小型消防车可达人口'),
            Column('settlements_motorcycle', 'int', '', '消防摩托车可达居民点数'),
            Column('population_motorcycle', 'float', '', '消防摩托车可达人口'),
            Column('settlements_none', 'int', '', '消防车辆不可达居民点数'),
            Column('population_none', 'float', '', '消防车辆不可达人口'),
            Column('settlements', 'int', '', '居民点数'),
                )),
    ResultLayer('access_dead_ends', "access", 'LineString', '尽端路（回车场）',
                'Standard-truck dead ends longer than the turnaround limit, from the road end back to the first junction.',
                (
            Column('dead_end', 'int', '', '尽头路'),
            Column('edges', 'str', '', '路段'),
            Column('length_m', 'float', 'm', '长度（米）'),
            Column('end_node', 'int', '', '尽头节点'),
            Column('junction_node', 'int', '', '交叉口节点'),
            Column('turnaround', 'bool', '', '设回车场'),
            Column('settlements', 'int', '', '居民点数'),
                )),)


_SEEN = (
    Column("forest_km2", "float", "km2", "林地面积（平方公里）", "forest area on the DEM grid"),
    Column("seen_km2", "float", "km2", "现状可视林地（平方公里）", "forest seen by the existing sites"),
    Column("seen_share", "float", "", "现状可视林地比例", "seen_km2 / forest_km2"),
    Column("seen_after_km2", "float", "km2", "规划后可视林地（平方公里）", "forest seen by the existing and the chosen new sites"),
    Column("seen_share_after", "float", "", "规划后可视林地比例", "seen_after_km2 / forest_km2"),
)

declare(
    ResultLayer("monitor_viewsheds", "monitoring", "Polygon", "林火监控可视林地",
                "The forest each existing or chosen camera sees (line of sight on the DEM within its range).",
                (Column("site", "str", "", "监控点", "camera name"),
                 Column("status", "str", "", "状态", "existing or chosen"),
                 Column("visible_forest_km2", "float", "km2", "可视林地（平方公里）", "forest seen by this camera"))),
    ResultLayer("monitor_sites", "monitoring", "Point", "林火监控点",
                "Existing cameras and candidate sites: which were chosen, in which order, and what they add.",
                (Column("name", "str", "", "名称"), Column("status", "str", "", "状态", "existing, chosen or candidate"),
                 Column("chosen", "bool", "", "规划选定", "picked as a new site"),
                 Column("rank", "int", "", "选定次序", "order of choice (greedy: most forest added first)"),
                 Column("added_forest_km2", "float", "km2", "新增可视林地（平方公里）", "forest not seen before that this site adds when chosen"),
                 Column("visible_forest_km2", "float", "km2", "可视林地（平方公里）", "forest this site sees alone"),
                 Column("mast_m", "float", "m", "架设高度（米）", "camera height above the ground"),
                 Column("range_km", "float", "km", "监测距离（公里）", "useful range"),
                 Column("elevation_m", "float", "m", "海拔（米）", "ground elevation at the site (DEM)"))),
    ResultLayer("monitor_towns", "monitoring", None, "乡镇林火监控覆盖",
                "Forest seen per township, now and with the chosen new sites.",
                (Column("town", "str", "", "乡镇（街道）"),) + _SEEN),
    ResultLayer("monitor_blocks", "monitoring", "Polygon", "林区监控覆盖率",
                "Forest seen per connected forest block, now and with the chosen new sites.",
                (Column("block_id", "int", "", "林区编号", "forest block (as in checkpoints' forest_blocks)"),) + _SEEN),
    ResultLayer("monitor_blind_spots", "monitoring", "Polygon", "林火监控盲区",
                "Forest seen by no site (existing and chosen), patches of at least blind_spot_min_km2.",
                (Column("area_km2", "float", "km2", "面积（平方公里）"),)),
)
