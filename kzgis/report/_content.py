"""The text of the 消防专篇 of one township (the county roll-up is :mod:`._county`).

Structure (as in the fire chapter of a township territorial spatial plan)::

    编制说明
    一、现状        stations and brigades, roads by vehicle class, water sources, forest
    二、分析        fire-truck access, response times, water coverage, barriers, checkpoints, helicopter
    三、规划措施    roads to widen, water sources to add, barrier bands, checkpoints, dip sites and pads
    附录            rules cited (standard and clause), assumptions and parameters in force, data sources

Every number comes from the result layers filtered to the township (:mod:`._data`); a section whose
analysis did not run says so and why.
"""

from __future__ import annotations

import logging
import math
from datetime import date

import numpy as np
import pandas as pd

from .. import __version__
from .. import rules as _rules
from .._labels import VALUES_ZH, VEHICLE_ORDER, header_zh, value_zh
from . import _figures, _village
from ._appendix import appendix
from ._data import RunData, TownData, time_bins, town_facts
from ._default import default_sections
from ._model import Builder, Document, crs_zh, num, pct, source_zh
from ._options import ReportOptions
from ._scope import is_geo

log = logging.getLogger(__name__)

SEED = "《关于进一步加强基层消防治理工作实施方案》（开州府办发〔2023〕47号）"
CN_NUM = "一二三四五六七八九十"


def _cn(i: int) -> str:
    return CN_NUM[i - 1] if 1 <= i <= 10 else str(i)


class _Sections:
    """（一）（二）... numbering within a chapter."""

    def __init__(self, b: Builder):
        self.b = b
        self.i = 0

    def __call__(self, text: str):
        self.i += 1
        self.b.heading(f"（{_cn(self.i)}）{text}", 2)


def zh(text) -> str:
    """The Chinese half of a bilingual value ``"中文 / English"`` (results carry both)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    t = str(text)
    return t.split(" / ")[0].strip() if " / " in t else t


def _n(series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _cell(column: str, v, digits=None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return num(v, digits)
    if isinstance(v, (list, tuple, set)):
        return "、".join(str(x) for x in v)
    return value_zh(column, v)


def frame_rows(frame, columns, digits=None) -> list[list[str]]:
    """Rows of the given columns as text (coded values in Chinese, numbers rounded per ``digits``)."""
    digits = digits or {}
    if not columns:
        return [[] for _ in range(len(frame))]
    values = [frame[c].tolist() for c in columns]
    return [[_cell(c, v, digits.get(c)) for c, v in zip(columns, row)] for row in zip(*values)]


def _limited(b: Builder, frame, opts: ReportOptions, what: str):
    """First ``max_rows`` rows and a note pointing to tables.xlsx for the rest."""
    if len(frame) <= opts.max_rows:
        return frame, ""
    return frame.head(opts.max_rows), f"仅列出前{opts.max_rows}项，共{len(frame)}项，完整清单见成果表格 tables.xlsx（{what}）。"


class _Ctx:
    def __init__(self, run: RunData, td: TownData, opts: ReportOptions, b: Builder):
        self.run, self.td, self.opts, self.b = run, td, opts, b
        self.town = td.scope.name
        self.stamp = "示意数据" if run.synthetic else ""

    def figure(self, caption: str, fn, *args, key=""):
        if not self.opts.figures or self.td.scope.polygon is None:
            return None
        try:
            png = fn(self.td, self.opts.dpi, self.stamp, *args)
        except Exception as exc:  # noqa: BLE001 - a figure must not stop the report
            log.warning("report: figure '%s' for %s not drawn: %s", caption, self.town, exc)
            self.b.para(f"（{caption}未能绘制：{exc}）", "note")
            return None
        if png:
            return self.b.figure(caption, png, key)
        return None


# ---------------------------------------------------------------------------------------------
# township chapter


def township_document(run: RunData, td: TownData, opts: ReportOptions, county: str) -> Document:
    town = td.scope.name
    plan = opts.plan_name.replace("{town}", town)
    meta = [("规划范围", f"{town}行政辖区" + (f"（{county}）" if county else "")),
            ("编制单位", opts.author or "（编制单位）"),
            ("编制日期", opts.date or date.today().isoformat()),
            ("生成工具", f"kzgis {__version__}" + (f"，任务 {run.recipe.name}" if run.recipe is not None else ""))]
    b = Builder(plan, "消防专篇", meta, town=town, rule_values=run.rule_values())
    c = _Ctx(run, td, opts, b)
    f = town_facts(td)

    _preface(c, f)
    b.heading("一、现状", 1)
    if opts.figures and td.scope.polygon is not None:
        b.para(f"{town}现状消防队站、道路、消防水源和林地分布见{b.next_figure}。")
        c.figure(f"{town}消防设施现状图", _figures.fig_status, key="status")
    s = _Sections(b)
    _status_stations(c, s)
    _status_roads(c, s)
    _status_water(c, s, f)
    _status_forest(c, s, f)
    _village.status_micro(c, s)
    _village.status_buildings(c, s)

    b.heading("二、分析", 1)
    s = _Sections(b)
    _an_access(c, s)
    _an_response(c, s)
    _an_water(c, s)
    _an_barriers(c, s)
    _an_checkpoints(c, s)
    _an_heli(c, s)
    _village.analysis_micro(c, s)
    _village.analysis_clusters(c, s)
    _an_monitoring(c, s)
    default_sections(c, s)  # analyses without a hand-written section, from the result schema

    b.heading("三、规划措施", 1)
    s = _Sections(b)
    _pl_roads(c, s)
    _pl_water(c, s)
    _pl_barriers(c, s)
    _pl_checkpoints(c, s)
    _pl_heli(c, s)
    _pl_monitoring(c, s)
    _pl_stations(c, s)
    _village.plan_micro(c, s)
    _village.plan_firebreaks(c, s)

    appendix(run, b)
    return b.doc


def _preface(c: _Ctx, f: dict):
    b, run, town = c.b, c.run, c.town
    b.heading("编制说明", 1)
    b.para(f"本专篇依据{SEED}第5项任务“其他乡镇（街道）编制消防专项规划或在国土空间规划中编制消防专篇，明确消防站用地、"
           f"消防车通道、消防水源建设等要求”，以及第6、8项任务关于农村公共消防设施和森林防火基础设施的要求编制，"
           f"作为{c.opts.plan_name.replace('{town}', town)}的组成部分。")
    area = f.get("area_km2")
    parts = [f"规划范围为{town}行政辖区"]
    if area is not None:
        parts.append(f"面积约{num(area, 1)}平方公里")
    if f.get("settlements") is not None:
        parts.append(f"现状居民点{f['settlements']}处" +
                     (f"、人口约{num(f['population'])}人" if f.get("population") else ""))
    b.para("，".join(parts) + "。")
    has_dem = run.layers.get("dem") is not None if hasattr(run.layers, "get") else False
    grade = ("车型等级由路面宽度和纵坡判定" if has_dem else
             "车型等级仅由路面宽度判定（无 DEM 数字高程模型：未评估道路纵坡，图件无地形晕渲）")
    b.para(f"分析采用{crs_zh(run.crs)}坐标系，距离、面积均在该投影坐标系下计算。道路可达性、"
           f"到场时间和水源覆盖均沿道路网络计算（非直线距离），{grade}。所引用的规范条文和本次采用的"
           f"假设见附录。")
    if run.synthetic:
        b.para(f"示意数据提示：本专篇所用的{'、'.join(dict.fromkeys(run.synthetic))}为示意数据（合成），其中的数字和图件仅用于"
               f"演示分析方法，不得作为规划审批依据；正式成果应以实测数据重新计算。", "notice")


# -- 一、现状 ----------------------------------------------------------------------------------


def _status_stations(c: _Ctx, s):
    b, td = c.b, c.td
    s("消防队站")
    st = td.layer("stations")
    if st is None:
        b.missing("缺少消防队站图层")
        return
    if len(st):
        cols = [x for x in ("name", "kind", "status", "town") if x in st.columns]  # input layer: optional fields
        b.para(f"{c.town}境内现有（含规划）消防队站{len(st)}处，见{b.next_table}。")
        b.table(f"{c.town}消防队站", [header_zh(x) for x in cols], frame_rows(st, cols), key="stations")
    else:
        b.para(f"{c.town}境内无政府专职消防队站，火灾扑救依靠周边乡镇专职消防队和区消防救援支队跨区增援。")
    rs = td.result("response_settlements")
    if rs is not None and len(rs):
        vc = rs["station"].dropna().astype(str).value_counts()
        none = int(rs["station"].isna().sum())
        if len(vc):
            b.para("按接警到场时间分析，辖区居民点的首到消防队站为：" +
                   "、".join(f"{k}（{v}处）" for k, v in vc.items()) +
                   (f"；另有{none}处居民点{_vehicle_label(c.run)}无法到达" if none else "") + "。")
        elif none:
            b.para(f"按接警到场时间分析，辖区{none}处居民点{_vehicle_label(c.run)}均无法到达。")
    b.para(f"根据{SEED}，全区建强温泉、岳溪、长沙、郭家、铁桥、大进、天和等7支政府专职消防队，2025年底前完成雪宝山政府"
           f"专职消防队建设；村（居）民委员会、消防安全重点单位、居民住宅小区按标准建设志愿消防队（微型消防站），统一纳入"
           f"消防调度指挥体系。")


def _cite_opt(b: Builder, key: str, relation: str) -> str:
    """Cite a rule if this version of kzgis.rules has it (rules are added over time)."""
    return b.cite(key, relation) if key in _rules.RULES else ""


def _width_class(width) -> str:
    w = _n(width)
    std = _rules.value("truck_road_width_m")
    small = _rules.value("small_truck_width_m")
    moto = _rules.value("motorcycle_width_m")
    return np.select([w >= std, w >= small, w >= moto, w.notna()], ["standard", "small", "motorcycle", "none"],
                     default="unknown")


def _status_roads(c: _Ctx, s):
    b, td = c.b, c.td
    s("道路交通")
    roads = td.result_clip("access_roads")
    rule_text = (f"车型等级判定：{b.cite('truck_road_width_m')}，{b.cite('truck_grade_max_pct', '不大于')}；"
                 f"{b.cite('small_truck_width_m')}，{_cite_opt(b, 'small_truck_grade_max_pct', '不大于')}；"
                 f"{b.cite('motorcycle_width_m')}，{_cite_opt(b, 'motorcycle_grade_max_pct', '不大于')}。"
                 f"车型等级为按道路自身条件的判定，居民点能否到达还取决于其与消防队站之间整条路径上的最窄、最陡路段。")
    if roads is not None:
        vc = roads["vehicle_class"].fillna("none").astype(str)
        ln = roads.geometry.length / 1000.0
        total = float(ln.sum())
        rows = []
        for k in VEHICLE_ORDER:
            km = float(ln[vc == k].sum())
            rows.append([VALUES_ZH["vehicle_class"][k], num(km, 2), pct(km, total)])
        rows.append(["合计", num(total, 2), pct(total, total) if total else "—"])
        std_km = float(ln[vc == "standard"].sum())
        b.para(f"{c.town}境内道路总长约{num(total, 1)}公里，其中满足标准消防车通行的约{num(std_km, 1)}公里"
               f"（{pct(std_km, total)}），按通行车型分类见{b.next_table}。")
        b.table(f"{c.town}道路按消防车型通行能力分类", ["通行车型", "道路长度（公里）", "占比"], rows,
                note=rule_text, key="roads_by_class", total_row=True)
        return
    raw = td.layer_clip("roads")
    if raw is None:
        b.missing("缺少道路图层")
        return
    why = c.run.why_missing("access", "access_roads")
    ln = raw.geometry.length / 1000.0
    total = float(ln.sum())
    if "width_m" in raw.columns:  # input layer: width is an optional field
        wc = pd.Series(_width_class(raw["width_m"]), index=raw.index)
        rows = []
        for k in VEHICLE_ORDER + ("unknown",):
            km = float(ln[wc == k].sum())
            label = "宽度不详" if k == "unknown" else VALUES_ZH["vehicle_class"][k]
            rows.append([label, num(km, 2), pct(km, total)])
        rows.append(["合计", num(total, 2), pct(total, total) if total else "—"])
        b.para(f"{c.town}境内道路总长约{num(total, 1)}公里。未开展消防车通行分析（{why}），仅按路面宽度粗分（未计纵坡），"
               f"见{b.next_table}。")
        b.table(f"{c.town}道路按路面宽度分类", ["按宽度可通行车型", "道路长度（公里）", "占比"], rows, note=rule_text,
                key="roads_by_width", total_row=True)
    else:
        b.para(f"{c.town}境内道路总长约{num(total, 1)}公里；道路图层无路面宽度，未能按车型分类（{why}）。")


def _status_water(c: _Ctx, s, f: dict):
    b, td = c.b, c.td
    s("消防水源")
    kinds = [("hydrants", "市政消火栓"), ("fire_pools", "消防水池"), ("water_intakes", "天然水源取水点")]
    if all(c.run.layer(k) is None for k, _ in kinds):
        b.missing("缺少消火栓、消防水池和天然水源取水点图层")
        return
    rows = []
    for k, label in kinds:  # input layers: volume, status and kind are optional fields
        fr = td.layer(k)
        if fr is None:
            rows.append([label, "—", "无该图层"])
            continue
        note = ""
        if k == "fire_pools" and "volume_m3" in fr.columns and len(fr):
            v = _n(fr["volume_m3"])
            small = int((v < _rules.value("pool_volume_min_m3")).sum())
            note = f"总容积{num(v.sum())}立方米" + (f"，其中{small}处小于{b.rule_value('pool_volume_min_m3')}" if small else "")
        if k == "hydrants" and "status" in fr.columns and len(fr):
            bad = fr["status"].astype(str).str.contains("broken|损坏|失效|停用", case=False, na=False)
            if bad.any():
                note = f"其中{int(bad.sum())}处损坏或停用"
        if k == "water_intakes" and "kind" in fr.columns and len(fr):
            note = "、".join(f"{value_zh('kind', kk)}{v}处" for kk, v in fr["kind"].astype(str).value_counts().items())
        rows.append([label, str(len(fr)), note])
    mains = td.layer_clip("water_mains")
    if mains is not None:
        ln = float(mains.geometry.length.sum()) / 1000.0
        note = ""
        if "diameter_mm" in mains.columns and len(mains):  # input layer: optional field
            d = _n(mains["diameter_mm"])
            thin = float(mains.geometry.length[d < _rules.value("old_town_main_diameter_mm")].sum()) / 1000.0
            note = f"管径小于100毫米的约{num(thin, 2)}公里" if thin > 0 else "管径均不小于100毫米"
        rows.append(["消防给水管网（公里）", num(ln, 2), note])
    b.para(f"{c.town}现状消防水源见{b.next_table}。")
    b.table(f"{c.town}现状消防水源", ["水源类型", "数量", "说明"], rows, key="water_status")
    src = td.result("water_sources")
    if src is not None and len(src):
        usable = src["usable"].fillna(False).astype(bool)
        b.para(f"经核查，辖区内消防水源{len(src)}处，其中可用{int(usable.sum())}处、不可用{int((~usable).sum())}处"
               + (f"（不可用原因见{b.next_table}）。" if (~usable).any() else "。"))
        if (~usable).any():
            bad = src[~usable].copy()
            bad["reason"] = bad["reason"].map(zh)
            cols = [x for x in ("source_kind", "source_id", "name", "reason")
                    if x != "name" or bad["name"].fillna("").astype(str).str.strip().any()]
            show, note = _limited(b, bad, c.opts, "water_sources")
            b.table(f"{c.town}不可用消防水源及原因", [header_zh(x, "water_sources") for x in cols], frame_rows(show, cols), note=note,
                    key="water_unusable")
    b.para(f"农村消防水源的选用顺序为：市政给水管网，其次天然水源，再次消防水池（{source_zh('GB 50039-2010 5.0.6')}）。")


def _status_forest(c: _Ctx, s, f: dict):
    b, td = c.b, c.td
    s("森林资源")
    forest = td.layer_clip("forest")
    if forest is None:
        b.missing("缺少林地图层")
        return
    fk = f.get("forest_km2") or 0.0
    area = f.get("area_km2")
    txt = f"{c.town}境内林地面积约{num(fk, 2)}平方公里"
    if area:
        txt += f"，占辖区面积的{pct(fk, area)}"
    st = td.layer("settlements")
    near = None
    if st is not None and len(st) and c.run.layer("forest") is not None:
        near = _near_forest(st, c.run.layer("forest"), _rules.value("homes_to_forest_m"))
    txt += "。"
    if near is not None:
        txt += (f"距林缘{b.rule_value('homes_to_forest_m')}以内（含位于林中）的居民点{near}处，"
                f"《农村防火规范》（GB 50039-2010）第3章要求村庄与林区边缘宜保持{num(_rules.value('homes_to_forest_m'))}米距离，"
                f"这些居民点应作为森林防火的重点。")
    b.para(txt)
    seasons = "、".join(f"{int(a[:2])}月{int(a[3:])}日至{int(z[:2])}月{int(z[3:])}日" for a, z in _rules.FIRE_SEASON)
    b.para(f"重庆市森林防火期为每年{seasons}（《重庆市森林防火条例》）；林地及其外延"
           f"{b.rule_value('forest_prevention_zone_m')}范围为森林防火区（{source_zh('开州区2023年森林防火禁火令')}）。")


def _near_forest(settlements, forest, dist_m: float) -> int | None:
    try:
        pts = settlements.geometry.representative_point()
        idx = forest.sindex.query(pts.values, predicate="dwithin", distance=dist_m)
        return int(len(np.unique(idx[0])))
    except Exception as exc:  # noqa: BLE001 - older GEOS without dwithin
        log.debug("near-forest count skipped: %s", exc)
        return None


# -- 二、分析 ----------------------------------------------------------------------------------


def _settlement_result(c: _Ctx, analysis: str, name: str):
    """The township's rows of a per-settlement result, or None after saying why the section is empty
    (analysis not run, result lacking a declared column, or no settlement in this township)."""
    frame = c.td.result(name)
    if frame is None:
        c.b.missing(c.run.why_missing(analysis, name))
        return None
    if not len(frame):
        c.b.para(f"{c.town}范围内无参与分析的居民点。")
        return None
    return frame


def _an_access(c: _Ctx, s):
    b, td = c.b, c.td
    s("消防车通行分析")
    acc = _settlement_result(c, "access", "access_settlements")
    if acc is None:
        return
    bv = acc["best_vehicle"].fillna("none").astype(str)
    pop = td.population(acc)
    total = len(acc)
    rows = []
    for k in VEHICLE_ORDER:
        sel = bv == k
        rows.append([VALUES_ZH["best_vehicle"][k], str(int(sel.sum())),
                     num(pop[sel].sum()) if pop is not None else "—", pct(int(sel.sum()), total)])
    rows.append(["合计", str(total), num(pop.sum()) if pop is not None else "—", "100.0%"])
    n_std = int((bv == "standard").sum())
    b.para(f"以辖区{total}处居民点为对象，沿道路网络分析各车型能否从消防队站到达。标准消防车可到达的居民点{n_std}处"
           f"（{pct(n_std, total)}），只能由小型消防车到达的{int((bv == 'small').sum())}处，只能由消防摩托车到达的"
           f"{int((bv == 'motorcycle').sum())}处，消防车辆均无法到达的{int((bv == 'none').sum())}处，见{b.next_table}"
           + (f"和{b.next_figure}。" if c.opts.figures else "。"))
    b.table(f"{c.town}居民点消防车可达情况", ["可达最优车型", "居民点数", "人口", "占比"], rows, key="access_summary",
            total_row=True)
    foot = _n(acc["walk_m"]).fillna(0.0) > 0
    if foot.any():
        on_road = c.run.param("access", "on_road_m", _rules.value("on_road_m"))
        b.para(f"其中{int(foot.sum())}处居民点距任何消防车辆可通行道路超过{num(on_road)}米，车辆只能停于路端，"
               f"其余路程需携装步行（到场时间已计入步行，{b.cite('walk_speed_kmh', '按')}）。")
    _assumed_widths(c)
    c.figure(f"{c.town}消防车通行分析图", _figures.fig_access, key="access")
    worse = acc[bv != "standard"].copy()
    if len(worse):
        worse["_o"] = worse["best_vehicle"].fillna("none").map({k: i for i, k in enumerate(VEHICLE_ORDER)})
        worse = worse.sort_values(["_o", "bottleneck_width_m"])
        worse["upgrade_rank"] = _n(worse["upgrade_rank"]).where(lambda v: v > 0)
        cols = ["name", "best_vehicle", "bottleneck_kind", "bottleneck_width_m", "bottleneck_width_assumed",
                "bottleneck_grade_pct", "time_min_small", "time_min_motorcycle", "upgrade_rank"]
        show, note = _limited(b, worse, c.opts, "access_settlements")
        b.para(f"标准消防车无法到达的居民点及其通行瓶颈见{b.next_table}。瓶颈指从消防队站出发、纵坡不超过"
               f"{_rules.value('truck_grade_max_pct'):g}%的最宽路线上最窄的路段（无此类路线时为最陡路段），"
               "即按标准消防车要求需首先拓宽或改造的路段；小型消防车、消防摩托车可经其他路线到达。")
        note = (note + " " if note else "") + "“拓宽序号”为三（一）建议拓宽路段中使该居民点可通行标准消防车的序号。"
        b.table(f"{c.town}标准消防车无法到达的居民点", [header_zh(x, "access_settlements") for x in cols],
                frame_rows(show, cols, {"bottleneck_width_m": 1, "bottleneck_grade_pct": 1, "time_min_small": 1,
                                        "time_min_motorcycle": 1, "upgrade_rank": 0}),
                note=note, key="access_worse")


def _assumed_widths(c: _Ctx) -> None:
    """Say how much of the township's road width is assumed; above half, the chapter rests on it."""
    roads = c.td.result_clip("access_roads")
    if roads is None or not len(roads):
        return
    ln = roads.geometry.length.to_numpy(float)
    assumed = roads["width_assumed"].fillna(False).astype(bool).to_numpy()
    total = float(ln.sum())
    if total <= 0 or not assumed.any():
        return
    share = float(ln[assumed].sum()) / total
    txt = (f"{c.town}道路中约{num(ln[assumed].sum() / 1000.0, 1)}公里（{share:.0%}）无实测路宽，按道路等级推定；"
           "依据推定路宽得出的通行车型、瓶颈和拓宽建议应先实测路宽核实。")
    if share > 0.5:
        txt += "推定路宽的道路超过一半，本节（消防车通行分析）及消防车通道规划的结论主要建立在推定路宽之上，仅供参考。"
    c.b.para(txt, "note")


def _vehicle_label(run: RunData) -> str:
    """The vehicle response times are counted by: each settlement by the best vehicle that reaches it
    (response_settlements declares ``vehicle_class`` and ``walk_m``)."""
    return "可达最优车型"


def _an_response(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("接警到场时间分析")
    rs = _settlement_result(c, "response", "response_settlements")
    if rs is None:
        return
    veh = _vehicle_label(run)
    t = _n(rs["time_min"]).fillna(np.inf)
    pop = td.population(rs)
    total = len(rs)
    rows, cum = [], 0
    for label, lo, hi in time_bins(run.breaks):
        sel = (t > lo) & (t <= hi) & np.isfinite(t)
        cum += int(sel.sum())
        rows.append([label, str(int(sel.sum())), num(pop[sel].sum()) if pop is not None else "—", pct(cum, total)])
    unre = ~np.isfinite(t)
    rows.append(["任何消防车辆均无法到达", str(int(unre.sum())),
                 num(pop[unre].sum()) if pop is not None else "—", "—"])
    rows.append(["合计", str(total), num(pop.sum()) if pop is not None else "—", "—"])
    fin = t[np.isfinite(t)]
    ref = _rules.value("urban_response_min")
    turnout = run.param("response", "turnout_min")
    incl = f"，含出动时间{num(turnout)}分钟" if turnout is not None else ""
    planned = run.param("response", "planned_stations")
    which = "各消防队站（含规划队站）" if planned else "各现状消防队站"
    on_road = run.param("response", "on_road_m", _rules.value("on_road_m"))
    walk = run.param("response", "walk_speed_kmh", _rules.value("walk_speed_kmh"))
    txt = (f"按道路等级和纵坡确定的行驶速度，沿道路网络计算{which}到辖区{total}处居民点的接警到场时间（从接警起算{incl}），"
           f"每处居民点按可到达的最优车型计（依次为标准消防车、小型消防车、消防摩托车）；居民点距该车型可通行道路超过"
           f"{num(on_road)}米的，车辆停于路端，到场时间计入携装步行（{num(walk)}公里/小时，本工具假设）。")
    if len(fin):
        txt += (f"可到达的{len(fin)}处居民点中，到场时间中位数约{num(float(fin.median()), 1)}分钟，最长约"
                f"{num(float(fin.max()), 1)}分钟，{num(ref)}分钟内可到达的{int((t <= ref).sum())}处")
    if unre.any():
        txt += f"；{int(unre.sum())}处居民点任何消防车辆均无法到达（附近无可通行道路或路网不连通）"
    b.para(txt + f"，分布见{b.next_table}" + (f"和{b.next_figure}。" if c.opts.figures else "。"))
    b.para(f"参照标准：{b.cite('urban_response_min', '为')}。该指标适用于城市消防站辖区，乡镇及农村地区无强制到场时限，"
           f"此处作为衡量消防力量覆盖的参照。", "note")
    b.table(f"{c.town}居民点接警到场时间分布（{veh}）", ["到场时间", "居民点数", "人口", "累计比例"], rows,
            key="response_bins", total_row=True)
    vcs = rs["vehicle_class"].fillna("none").astype(str)
    wk = _n(rs["walk_m"]).fillna(0.0) > 0
    vrows = []
    for vc in ("standard", "small", "motorcycle"):
        sel = (vcs == vc) & np.isfinite(t)
        vrows.append([value_zh("vehicle_class", vc), str(int(sel.sum())),
                      num(pop[sel].sum()) if pop is not None else "—", str(int((sel & wk).sum())),
                      num(float(t[sel].median()), 1) if sel.any() else "—"])
    vrows.append(["任何消防车辆均无法到达", str(int(unre.sum())), num(pop[unre].sum()) if pop is not None else "—",
                  "—", "—"])
    vrows.append(["合计", str(total), num(pop.sum()) if pop is not None else "—", str(int((wk & ~unre).sum())),
                  num(float(fin.median()), 1) if len(fin) else "—"])
    b.para(f"各居民点可到达的最优车型见{b.next_table}；标准消防车到达情况另见地图图层“居民点到场时间（标准消防车）”。")
    b.table(f"{c.town}居民点按可达最优车型统计", ["最优车型", "居民点数", "人口", "其中需路端后步行", "到场时间中位数（分钟）"],
            vrows, key="response_vehicles", total_row=True)
    c.figure(f"{c.town}接警到场时间分析图", _figures.fig_response, run.breaks, key="response")
    if rs["station"].notna().any():
        g = rs.assign(_t=t.where(np.isfinite(t)))
        g = g[g["station"].notna()]
        rows = []
        for name, grp in g.groupby(g["station"].astype(str), sort=False):
            p = td.population(grp)
            rows.append([name, str(len(grp)), num(p.sum()) if p is not None else "—", num(grp["_t"].mean(), 1),
                         num(grp["_t"].max(), 1)])
        rows.sort(key=lambda r: -int(r[1]))
        b.para(f"各消防队站承担的首到责任见{b.next_table}。")
        b.table(f"{c.town}各消防队站首到责任", ["首到消防队站", "居民点数", "人口", "平均到场时间（分钟）",
                                          "最长到场时间（分钟）"], rows, key="response_stations")
    slow = rs.assign(_t=t)
    slow = slow[np.isfinite(slow["_t"]) & (slow["_t"] > ref)].sort_values("_t", ascending=False)
    if len(slow):
        cols = ["name", "station", "time_min", "station_2", "time_min_2"]
        show, note = _limited(b, slow, c.opts, "response_settlements")
        b.para(f"{veh}可到达、但到场时间超过{num(ref)}分钟的居民点{len(slow)}处，按到场时间由长到短见{b.next_table}。")
        b.table(f"{c.town}到场时间超过{num(ref)}分钟的居民点", [header_zh(x, "response_settlements") for x in cols],
                frame_rows(show, cols, {"time_min": 1, "time_min_2": 1}), note=note, key="response_slow")


def _an_water(c: _Ctx, s):
    b, td = c.b, c.td
    s("消防水源覆盖分析")
    ws = _settlement_result(c, "water", "water_settlements")
    if ws is None:
        return
    cov = ws["covered"].fillna(False).astype(bool)
    pop = td.population(ws)
    total = len(ws)
    rows = [["已覆盖", str(int(cov.sum())), num(pop[cov].sum()) if pop is not None else "—", pct(int(cov.sum()), total)],
            ["未覆盖", str(int((~cov).sum())), num(pop[~cov].sum()) if pop is not None else "—",
             pct(int((~cov).sum()), total)],
            ["合计", str(total), num(pop.sum()) if pop is not None else "—", "100.0%"]]
    b.para(f"按{b.cites(('hydrant_radius_m', '为'), ('pool_intake_radius_m', '为'))}（天然水源取水点参照消火栓取"
           f"{b.rule_value('natural_intake_radius_m', 'water')}，本工具假设），沿道路网络（水带铺设路线）计算可用消防水源对居民点的保护范围；"
           "水带长度计入水源至道路、沿道路及道路至居民点三段，远离道路的居民点不因靠近道路上的消火栓而视为覆盖。"
           f"辖区{total}处居民点中，已覆盖{int(cov.sum())}处（{pct(int(cov.sum()), total)}），未覆盖{int((~cov).sum())}处，"
           f"见{b.next_table}" + (f"和{b.next_figure}。" if c.opts.figures else "。"))
    b.table(f"{c.town}居民点消防水源覆盖情况", ["覆盖情况", "居民点数", "人口", "占比"], rows, key="water_summary",
            total_row=True)
    c.figure(f"{c.town}消防水源覆盖分析图", _figures.fig_water, key="water")
    un = ws[~cov]
    if len(un):
        un = un.sort_values("distance_m", ascending=False)
        un = un.assign(nearest_source=[f"{value_zh('source_kind', k)}{v}" if pd.notna(k) and pd.notna(v) else "—"
                                       for k, v in zip(un["nearest_kind"], un["nearest_source"])])
        cols = ["name", "nearest_source", "distance_m", "snap_m"]
        show, note = _limited(b, un, c.opts, "water_settlements")
        b.para(f"未被消防水源覆盖的居民点见{b.next_table}（水带铺设距离含水源至道路、沿道路和道路至居民点三段）。")
        heads = {"distance_m": "水带铺设距离（米）", "snap_m": "距道路（米）"}
        b.table(f"{c.town}未被消防水源覆盖的居民点", [heads.get(x) or header_zh(x, "water_settlements") for x in cols],
                frame_rows(show, cols, {"distance_m": 0, "snap_m": 0}), note=note, key="water_uncovered")
    gaps = td.result("water_spacing_gaps")
    if gaps is not None and len(gaps):
        b.para(f"建成区道路上相邻消火栓间距超过{b.rule_value('hydrant_spacing_m', 'water')}的路段{len(gaps)}处"
               f"（{source_zh(_rules.rule('hydrant_spacing_m').source)}），应加密布置消火栓。")
    _compliance(c)


def _compliance(c: _Ctx):
    b, td = c.b, c.td
    comp = c.run.result("water_compliance")
    if comp is None or not len(comp):
        return
    names = {c.town, c.td.scope.short}
    old = td.layer("old_towns")
    if old is not None and "name" in old.columns:  # input layer: optional field
        names |= set(old["name"].dropna().astype(str))
    area = comp["area"].astype(str)
    sel = area.isin(names) | area.str.startswith(c.td.scope.short)
    if "town" in comp.columns:  # optional: the township, when the run has a boundary layer
        sel |= comp["town"].astype(str) == c.town
    sub = comp[sel].copy()
    if not len(sub):
        return
    for col in ("rule", "required", "found"):
        sub[col] = sub[col].map(zh)
    cols = ["area", "rule", "required", "found", "passed"]
    failed = int((~sub["passed"].fillna(False).astype(bool)).sum())
    b.para(f"{'、'.join(dict.fromkeys(sub['area'].astype(str)))}消防供水设施与{SEED}第7项任务要求的核对结果见"
           f"{b.next_table}" + (f"，{failed}项不满足。" if failed else "。"))
    b.table("古镇消防供水设施核对", [header_zh(x, "water_compliance") for x in cols], frame_rows(sub, cols), key="water_compliance")


def _barrier_type(bands) -> pd.Series:
    return bands["barrier_type"].fillna("undetermined").astype(str).map(lambda v: value_zh("barrier_type", v))


def _area_ha(bands) -> pd.Series:
    return _n(bands["area_m2"]) / 1e4


EXISTING_BARRIERS = ("天然阻隔", "道路阻隔")


def _an_barriers(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("林火阻隔分析")
    bands = td.result("barrier_bands")
    if bands is None:
        b.missing(run.why_missing("barriers", "barrier_bands"))
        return
    b.para(f"{SEED}第8项任务要求，林火阻隔系统建设范围按照面向城区的林区从林缘向林内计算，城区不低于"
           f"{b.rule_value('barrier_urban_m')}，其余乡镇（街道）不低于{b.rule_value('barrier_town_m')}。本次按林缘是否面向城区或居民点确定阻隔带段落；林缘与居民点之间已有河流、水面"
           f"或宽路分隔的，记为天然（道路）阻隔；其余按平均坡度分为工程阻隔（防火隔离带）和生物阻隔（防火林带）。")
    if not len(bands):
        b.para(f"{c.town}范围内无需设置林火阻隔带（林缘未与居民点或城区相邻）。")
        return
    bt = _barrier_type(bands)
    ha = _area_ha(bands)
    rows = []
    for t in dict.fromkeys(bt):
        sel = bt == t
        wid = _n(bands.loc[sel, "width_m"])
        rows.append([t, str(int(sel.sum())), num(ha[sel].sum(), 2), "、".join(num(w) for w in sorted(set(wid.dropna())))])
    rows.append(["合计", str(len(bands)), num(ha.sum(), 2), ""])
    nf = bands["facing"].nunique()
    b.para(f"{c.town}林缘面向居民点或城区、需纳入林火阻隔系统的共{len(bands)}段，面积约{num(ha.sum(), 2)}公顷"
           + (f"，保护居民点（城区）{nf}处" if nf else "") + f"，按阻隔类型统计见{b.next_table}" +
           (f"和{b.next_figure}。" if c.opts.figures else "。"))
    flat = (bands["band_ends"].astype(str) == "flat").all()
    b.table(f"{c.town}林火阻隔带按类型统计", ["阻隔类型", "段数", "面积（公顷）", "宽度（米）"], rows, key="barrier_summary",
            total_row=True,
            note="面积为林缘向林内规定宽度范围内的林地面积，" + (
                "阻隔带两端按垂直林缘截平（宽度×林缘长度）。" if flat else
                "含阻隔带两端的半圆形端部以及面向同一保护对象的侧向林缘，因此大于宽度×林缘长度；"
                "需按宽度×长度计量时在配方中设 barriers.band_ends: flat。"))
    c.figure(f"{c.town}林火阻隔带与森林防火检查站分布图", _figures.fig_forest, key="forest")


def _an_checkpoints(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("森林防火检查站分析")
    cp = td.result("checkpoints")
    if cp is None:
        b.missing(run.why_missing("checkpoints", "checkpoints"))
        return
    b.para(f"按{SEED}第8项任务，检查站设在进入林区的必经道口、毗邻林区的城镇和村庄集中出入口、林区内较为集中的生产作业场地"
           f"和容易发生火险的林缘等区域。本次在道路网上求出从居民点和消防队站进入每片林区必须经过的最少道口（必经道口），"
           f"以及毗邻林区的村镇出入口；一处检查站只控制其所在道路，必经道口按道路逐条设站；国家标准未规定检查站间距，"
           f"村口与其进山路线上相距{b.rule_value('checkpoint_group_m', 'checkpoints')}以内的必经道口或同一道路上的村口合并（本工具假设）。")
    if not len(cp):
        b.para(f"{c.town}范围内未识别出需设检查站的道口。")
        return
    kinds = cp["kind"].fillna("其他").astype(str).map(lambda v: value_zh("kind", v))
    popb = _n(cp["population_behind"])
    rows = []
    for k in dict.fromkeys(kinds):
        sel = kinds == k
        rows.append([k, str(int(sel.sum())), num(popb[sel].sum())])
    rows.append(["合计", str(len(cp)), num(popb.sum())])
    b.para(f"{c.town}共识别森林防火检查站点位{len(cp)}处，按类型统计见{b.next_table}，点位清单见三（四）。")
    b.table(f"{c.town}森林防火检查站按类型统计", ["类型", "数量", "后方人口"], rows, key="checkpoint_summary",
            total_row=True, note="后方人口：该检查站关闭时与消防队站（外部）断开联系的居民点人口，表示其所控制的进山人流规模。")
    rec = cp["recommend"].astype(str)
    n_std, n_simple = int((rec == "standard").sum()), int((rec == "simple").sum())
    opt = cp[rec == "optional"]
    n_items = opt["item"].nunique()
    b.para(f"按后方居民点、林区作业点和易发火林缘排序，建议设置标准检查站{n_std}处、简易检查站{n_simple}处"
           f"（后方人口不少于{b.rule_value('checkpoint_standard_pop', 'checkpoints')}或位于国道、省道、县道的为标准检查站）"
           + (f"；过境道路穿越林区、后方无居民点和林区作业点的{n_items}项（{len(opt)}个出入口）列为可选，"
              f"宜设宣传牌或纳入巡护。" if len(opt) else "。"))
    if c.opts.figures and td.result("barrier_bands") is None:
        c.figure(f"{c.town}森林防火检查站分布图", _figures.fig_forest, key="forest")


def _selected(dips) -> pd.Series:
    """The dip sites chosen for their unit."""
    return dips["selected"].fillna(False).astype(bool)


def _planned_pads(pads):
    """The pad to build per unit: ``rank`` 1 (candidates are ranked per unit)."""
    if pads is None or not len(pads):
        return pads
    return pads[_n(pads["rank"]) == 1]


def _an_heli(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("直升机取水点与停机坪分析")
    dips = td.result("heli_dip_sites")
    pads = td.result("heli_pads")
    if dips is None and pads is None:
        b.missing(run.why_missing("helicopter", "heli_dip_sites"))
        return
    b.para(f"按{SEED}第8项任务“以乡镇（街道）或山系为单元，合理规划建设直升机取水点和停机坪”，对水体逐一筛查吊桶取水条件："
           f"{b.cites('bucket_depth_min_m', 'dip_area_min_m2', 'dip_clear_diameter_m', ('dip_approach_slope_deg', '不大于'))}"
           f"（按宽{b.rule_value('dip_approach_corridor_m', 'helicopter')}的进近通道取通道内最陡地形，"
           f"进近距离{b.rule_value('dip_approach_dist_m', 'helicopter')}内有电力线横穿通道的方向不可用），"
           f"{b.cite('dip_power_line_m')}；在数字高程模型上筛选停机坪："
           f"{b.cites(('helipad_slope_max_deg', '小于'), ('helipad_side_m', '为'), ('helipad_clear_ring_m', '为'))}，"
           f"{b.cite('helipad_road_m', '不大于')}。")
    rows = []
    if dips is not None:
        sel = _selected(dips)
        prov = int(dips["provisional"].fillna(False).astype(bool).sum())
        rows.append(["符合条件的吊桶取水点", str(len(dips)), str(int(sel.sum())),
                     f"其中{prov}处水深未知，需实测" if prov else ""])
    if pads is not None:
        rows.append(["停机坪候选区", str(len(pads)), str(len(_planned_pads(pads))), "每个单元取排序第一的候选区"])
    b.para(f"{c.town}范围内筛查结果见{b.next_table}" + (f"和{b.next_figure}。" if c.opts.figures else "。"))
    b.table(f"{c.town}直升机取水点与停机坪筛查结果", ["项目", "符合条件数", "规划选定数", "说明"], rows, key="heli_summary")
    c.figure(f"{c.town}直升机取水点与停机坪分布图", _figures.fig_heli, key="heli")
    u = td.result("heli_units")
    if u is not None and len(u):
        r = u.iloc[0]
        txt = [f"林地{num(r['forest_km2'], 2)}平方公里",
               f"规划取水点{b.rule_value('dip_radius_km', 'helicopter')}服务半径覆盖林地{pct(float(r['share_after']), 1)}",
               f"全部合格水体可覆盖{pct(float(r['share_coverable']), 1)}"]
        b.para(f"{c.town}作为规划单元：" + "，".join(txt) + "。")


def _monitor_row(c: _Ctx):
    towns = c.td.result("monitor_towns")
    if towns is None or not len(towns):
        return None
    return towns.iloc[0]


def _an_monitoring(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    if run.result("monitor_towns") is None:
        if run.recipe is not None and "monitoring" in getattr(run.recipe, "analyses", {}):
            s("森林防火视频监控覆盖分析")
            b.missing(run.why_missing("monitoring", "monitor_towns"))
        return
    s("森林防火视频监控覆盖分析")
    b.para("按“林火智能监控系统”建设任务，在数字高程模型上逐一计算监控点的可视范围（通视分析）："
           f"{b.cites(('monitor_mast_m', '取'), ('monitor_target_m', '取'), ('monitor_range_km', '取'))}，"
           f"计入地球曲率和{b.cite('monitor_refraction', '取')}；林地栅格中可被任一监控点看到的部分为可视林地。")
    r = _monitor_row(c)
    if r is None:
        b.para(f"{c.town}范围内无林地，或林地不在数字高程模型范围内。")
        return
    sites = td.result("monitor_sites")
    n_exist = int(sites["status"].eq("existing").sum()) if sites is not None else 0
    b.para(f"{c.town}林地{num(r['forest_km2'], 2)}平方公里；现状监控点{n_exist}处，"
           f"可视林地{num(r['seen_km2'], 2)}平方公里，占{pct(float(r['seen_share']), 1)}。"
           + f"按规划新增监控点后可视林地占{pct(float(r['seen_share_after']), 1)}。")
    blind = td.result("monitor_blind_spots")
    if blind is not None and len(blind):
        b.para(f"{c.town}范围内面积1平方公里以上的监控盲区{len(blind)}处，合计{num(blind['area_km2'].sum(), 2)}平方公里，"
               "宜以瞭望塔、无人机巡护或新增监控点补充。")


def _pl_monitoring(c: _Ctx, s):
    b, td = c.b, c.td
    sites = td.result("monitor_sites")
    if sites is None:
        return
    chosen = sites[sites["chosen"].fillna(False).astype(bool)]
    if not len(chosen):
        return
    s("林火视频监控点")
    chosen = chosen.sort_values("rank")
    lons, lats = _lonlat(chosen)
    if lons is None:
        lons = lats = [None] * len(chosen)
    rows = []
    for (_, r), lon, lat in zip(chosen.iterrows(), lons, lats):
        rows.append([str(r["name"]), num(r.get("elevation_m"), 0), num(r["added_forest_km2"], 2),
                     f"{lon:.5f}, {lat:.5f}" if lon is not None else ""])
    b.para(f"规划在{c.town}新增林火视频监控点{len(chosen)}处（按新增可视林地面积依次选定），位置见{b.next_table}；"
           "站址需现场核实供电、通信和交通条件。")
    b.table(f"{c.town}规划新增林火视频监控点", ["名称", "海拔（米）", "新增可视林地（平方公里）", "经度, 纬度（WGS84）"],
            rows, key="monitor_sites")


# -- 三、规划措施 ------------------------------------------------------------------------------


def _pl_roads(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("消防车通道")
    b.para(f"村庄之间以及与其他城镇连通的公路应满足消防车通行要求；村庄内的主要道路应满足消防车通行的需要，暂时无法满足的，"
           f"应当建设能够保证小型消防车或者消防摩托车通行的道路（{SEED}第6项任务）。新建、改建消防车通道应满足："
           f"{b.cites('truck_road_width_m', 'truck_road_clear_height_m', ('truck_grade_preferred_pct', '不宜大于'))}；"
           f"{b.cite('dead_end_turnaround_m', '大于')}时设回车场，{b.cite('turnaround_side_m', '不小于')}。", "item")
    up = td.result("access_upgrades")
    if up is None:
        if td.result("access_settlements") is None:
            b.missing(run.why_missing("access", "access_upgrades"))
        else:
            b.para("消防车通行分析未给出道路拓宽建议（缺少access_upgrades结果图层）。", "note")
    elif not len(up):
        b.para(f"{c.town}范围内无建议拓宽的路段：标准消防车已可到达全部居民点，或无法通过拓宽道路改善。")
    else:
        up = up.sort_values("rank")
        cols = ["rank", "road_names", "action", "widen_from_m", "length_m", "settlements_unlocked",
                "settlement_names", "population_unlocked"]
        show, note = _limited(b, up, c.opts, "access_upgrades")
        ln = _n(up["length_m"])
        unl = _n(up["settlements_unlocked"]).sum()
        b.para(f"按每公里拓宽受益人口由多到少排序，建议将以下{len(up)}段道路拓宽至不小于{b.rule_value('truck_road_width_m', 'access')}"
               f"，合计约{num(ln.sum() / 1000, 2)}公里，依次实施后标准消防车可新增到达居民点{num(unl)}处，见{b.next_table}。")
        if (up["action"].astype(str) == "survey width first").any():
            n_sv = int((up["action"].astype(str) == "survey width first").sum())
            b.para(f"其中{n_sv}段的现状宽度为按道路等级推定的数值（无实测），应先实测路宽，确认不足"
                   f"{b.rule_value('truck_road_width_m', 'access')}后再实施拓宽。", "note")
        note = (note + " " if note else "") + ("序号为全区统一排序；受益居民点和人口为按序号依次实施后的新增数；"
                                               "跨乡镇（街道）路段计入各相关乡镇（街道）。")
        heads = {"widen_from_m": "现状宽度（米）", "length_m": "拓宽长度（米）", "settlements_unlocked": "受益居民点数",
                 "action": "建议措施",
                 "settlement_names": "受益居民点", "population_unlocked": "受益人口", "rank": "序号",
                 "road_names": "道路名称"}
        b.table(f"{c.town}建议拓宽的消防车通道", [heads.get(x, header_zh(x, "access_upgrades")) for x in cols],
                frame_rows(show, cols, {"length_m": 0, "population_unlocked": 0, "widen_from_m": 1}),
                note=note.strip(), key="upgrades")
    de = td.result("access_dead_ends")
    if de is not None and len(de):
        de = de[~de["turnaround"].fillna(False).astype(bool)]
        de = de[_n(de["length_m"]) > _rules.value("dead_end_turnaround_m")]
        if len(de):
            with_st = int((_n(de["settlements"]) > 0).sum())
            b.para(f"长度大于{b.rule_value('dead_end_turnaround_m', 'access')}、无回车场的尽头式消防车道{len(de)}处"
                   + (f"（其中{with_st}处通往居民点）" if with_st else "") +
                   f"，应在尽端设置不小于{num(_rules.value('turnaround_side_m'))}米×{num(_rules.value('turnaround_side_m'))}米"
                   f"的回车场，位置见成果数据 access_dead_ends 图层。", "item")
    acc = td.result("access_settlements")
    if acc is not None:
        bv = acc["best_vehicle"].fillna("none").astype(str)
        low = acc[bv.isin(["motorcycle", "none"])]
        if len(low):
            names = "、".join(low["name"].astype(str).head(c.opts.max_rows))
            more = f"等{len(low)}处" if len(low) > c.opts.max_rows else ""
            b.para(f"{names}{more}居民点目前小型消防车也无法到达，近期应至少建设宽度不小于"
                   f"{b.rule_value('small_truck_width_m', 'network')}的小型消防车道路，或宽度不小于"
                   f"{b.rule_value('motorcycle_width_m', 'network')}的消防摩托车通道，并配备相应车辆。", "item")


def _lonlat(frame):
    """WGS84 longitude/latitude of each row (its own ``lon``/``lat`` when its layer declares them, as
    checkpoints do, else from the ``x``/``y`` centre heli_pads declare, else from the geometry)."""
    if {"lon", "lat"} <= set(frame.columns):
        return _n(frame["lon"]), _n(frame["lat"])
    if is_geo(frame) and frame.crs is not None and len(frame):
        if {"x", "y"} <= set(frame.columns):
            import geopandas as gpd

            pts = gpd.GeoSeries(gpd.points_from_xy(frame["x"], frame["y"]), index=frame.index, crs=frame.crs)
        else:
            pts = frame.geometry.representative_point()
        ll = pts.to_crs("EPSG:4326")
        return ll.x, ll.y
    return None, None


def _with_lonlat(frame):
    lon, lat = _lonlat(frame)
    if lon is None:
        return frame, []
    return frame.assign(lon=lon.to_numpy(), lat=lat.to_numpy()), ["lon", "lat"]


def _pl_water(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("消防水源")
    b.para(f"结合场镇建设和农村供水保障，同步建设消火栓、消防水池；无集中供水或供水能力不足的，利用天然水源设置取水点、取水泵房"
           f"（{SEED}第6项任务）。{b.cite('hydrant_spacing_m', '不应大于')}；{b.cite('pool_volume_min_m3')}；"
           f"利用天然水源和消防水池时，{b.cite('suction_lift_max_m', '不大于')}，并设置消防车道和回车场通至取水点"
           f"（{source_zh('GB 50974-2014 4.4.7')}）。", "item")
    sug = td.result("water_suggestions")
    ws = td.result("water_settlements")
    if sug is None and ws is None:
        b.missing(run.why_missing("water", "water_suggestions"))
    elif sug is not None and len(sug):
        sug = sug.sort_values("rank")
        sug, ll = _with_lonlat(sug)
        cols = ["rank", "road_name", "new_settlements", "new_population", "new_road_m"] + ll
        show, note = _limited(b, sug, c.opts, "water_suggestions")
        newset = _n(sug["new_settlements"]).sum()
        heads = {"rank": "序号", "new_settlements": "新增覆盖居民点", "new_road_m": "新增覆盖道路（米）"}
        b.para(f"在建成区道路上建议新增市政消火栓{len(sug)}处，可新增覆盖居民点{num(newset)}处，位置见{b.next_table}。")
        note = (note + " " if note else "") + "序号为全区统一排序，每处的新增覆盖量以前序各处已建成为前提。"
        b.table(f"{c.town}建议新增消火栓", [heads.get(x, header_zh(x, "water_suggestions")) for x in cols],
                frame_rows(show, cols, {"new_road_m": 0, "new_population": 0, "lon": 6, "lat": 6}), note=note.strip(),
                key="water_suggestions")
    if ws is not None:
        left = ws[~ws["covered"].fillna(False).astype(bool)]
        if sug is not None and len(sug):
            done = set()
            for v in sug["settlement_ids"]:
                if isinstance(v, (list, tuple, set, np.ndarray)):
                    done |= {int(x) for x in v}
            left = left[~left.index.isin(done)]
        if len(left):
            b.para(f"其余{len(left)}处未覆盖居民点附近无可布置消火栓的建成区道路，应就近设置不小于"
                   f"{b.rule_value('pool_volume_min_m3', 'water')}的消防水池，或利用天然水源设置取水点（取水泵房），"
                   f"并保证消防车可通至取水点。", "item")
        elif not len(ws[~ws["covered"].fillna(False).astype(bool)]):
            b.para(f"{c.town}居民点均已被消防水源覆盖，规划期内重点做好现有消火栓、消防水池的维护。")
    if c.td.scope.short == "温泉" or _has_old_town(c):
        b.para(f"温泉古镇：按“一镇一策”建设消防供水设施，消防给水管网管径不小于{b.rule_value('old_town_main_diameter_mm')}，"
               f"消防水池应满足灭火需要且不小于{b.rule_value('old_town_pool_volume_m3')}；在古镇临近河流处设置消防车取水码头；结合实际增设或拓宽消防车通道，"
               f"在建筑连片密集区设置防火隔离带、防火墙（{SEED}第7项任务）。", "item")


def _has_old_town(c: _Ctx) -> bool:
    old = c.td.layer("old_towns")
    return old is not None and len(old) > 0


def _pl_barriers(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("林火阻隔带")
    bands = td.result("barrier_bands")
    if bands is None:
        b.missing(run.why_missing("barriers", "barrier_bands"))
        return
    if not len(bands):
        b.para(f"{c.town}范围内无需新建林火阻隔带。")
        return
    bt = _barrier_type(bands)
    existing = bt.isin(EXISTING_BARRIERS)
    ha_all = _area_ha(bands)
    build = bands[~existing].assign(_type=bt[~existing], _ha=ha_all[~existing])
    if existing.any():
        b.para(f"已有河流、水面或宽路形成天然（道路）阻隔的{int(existing.sum())}段、约{num(ha_all[existing].sum(), 2)}公顷"
               f"不再新建，纳入林火阻隔系统管护。")
    if not len(build):
        return
    # one row per protected settlement: a long forest edge is cut into many bands
    g = build.groupby([build["facing"].astype(str), build["_type"]], sort=False)
    rows_df = pd.DataFrame({
        "facing": [k[0] for k in g.groups],
        "_type": [k[1] for k in g.groups],
        "n": g.size().to_numpy(),
        "width_m": g["width_m"].max().to_numpy(),
        "_ha": g["_ha"].sum().to_numpy(),
        "slope_mean_deg": g["slope_mean_deg"].mean().to_numpy(),
    }).sort_values(["width_m", "_ha"], ascending=False)
    cols = ["facing", "_type", "n", "width_m", "_ha", "slope_mean_deg"]
    show, note = _limited(b, rows_df, c.opts, "barrier_bands")
    heads = {"facing": "保护对象（居民点或城区）", "width_m": "宽度（米）", "_ha": "面积（公顷）", "slope_mean_deg": "平均坡度（度）",
             "_type": "阻隔类型", "n": "段数"}
    b.para(f"规划新建林火阻隔带{len(build)}段、约{num(build['_ha'].sum(), 2)}公顷；坡度较缓处以工程阻隔（防火隔离带）为主，"
           f"坡度较陡处营造防火林带（生物阻隔），工程阻隔与生物阻隔相结合，并同步规划森林消防管网、消防水池、水箱，"
           f"按保护对象汇总见{b.next_table}，逐段范围见成果数据 barrier_bands 图层。")
    b.table(f"{c.town}规划林火阻隔带", [heads[x] for x in cols],
            frame_rows(show, cols, {"width_m": 0, "_ha": 2, "slope_mean_deg": 1, "n": 0}), note=note,
            key="bands_to_build")


def _pl_checkpoints(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("森林防火检查站")
    cp = td.result("checkpoints")
    if cp is None:
        b.missing(run.why_missing("checkpoints", "checkpoints"))
        return
    if not len(cp):
        b.para(f"{c.town}范围内无规划检查站。")
        return
    cp, ll = _with_lonlat(cp)
    _pl_checkpoints_ranked(c, cp, ll)


def _pl_checkpoints_ranked(c: _Ctx, cp, ll):
    """The recommended set (standard / simple, with the reason) and the optional road crossings."""
    b = c.b
    cp = cp.sort_values("rank")
    rec = cp["recommend"].astype(str)
    want = cp[rec != "optional"]
    opt = cp[rec == "optional"]
    if len(want):
        cols = ["recommend", "kind", "road_name", "population_behind", "reason"] + ll
        show, note = _limited(b, want, c.opts, "checkpoints")
        b.para(f"建议设置森林防火检查站{len(want)}处（标准检查站{int((want['recommend'] == 'standard').sum())}处、"
               f"简易检查站{int((want['recommend'] == 'simple').sum())}处），标准检查站同步建设宣传标识和智能卡口，"
               f"逐处理由和位置见{b.next_table}（经纬度为WGS84，成果数据中另有CGCS2000经纬度）。")
        b.table(f"{c.town}规划森林防火检查站（建议设置）", ["序号"] + [header_zh(x, "checkpoints") for x in cols],
                [[str(i + 1)] + r for i, r in enumerate(frame_rows(show, cols, {"lon": 6, "lat": 6,
                                                                                 "population_behind": 0}))],
                note=note, key="checkpoints")
    else:
        b.para(f"{c.town}范围内无建议设置的检查站。")
    if not len(opt):
        return
    # one row per item: a through road's ends together
    rows = []
    for _, grp in opt.groupby(opt["item"], sort=False):
        r0 = grp.iloc[0]
        ends = "；".join(f"{num(x, 6)}, {num(y, 6)}" for x, y in zip(grp["lon"], grp["lat"])) if ll else "—"
        names = [r.get("road_name") if pd.notna(r.get("road_name")) else r.get("road_class") for _, r in grp.iterrows()]
        road = "、".join(dict.fromkeys(str(x) for x in names if pd.notna(x))) or None
        rows.append([str(len(rows) + 1), _cell("road_name", road), _cell("forest_block", r0.get("forest_block")),
                     str(len(grp)), ends, _cell("reason", r0.get("reason"))])
    b.para(f"过境道路穿越林区、后方无居民点和林区作业点的{len(rows)}项列为可选检查站，每项列出道路进出林区的各出入口，"
           f"见{b.next_table}。")
    b.table(f"{c.town}可选森林防火检查站（过境道路）", ["序号", "道路", "林区编号", "本镇出入口数", "出入口经纬度（WGS84）", "理由"],
            rows, key="checkpoints_optional")


def _pl_heli(c: _Ctx, s):
    b, td, run = c.b, c.td, c.run
    s("直升机取水点和停机坪")
    dips = td.result("heli_dip_sites")
    pads = td.result("heli_pads")
    if dips is None and pads is None:
        b.missing(run.why_missing("helicopter", "heli_dip_sites"))
        return
    rows = []
    if dips is not None and len(dips):
        sel = dips[_selected(dips)]
        sel, _ = _with_lonlat(sel)
        for _, r in sel.iterrows():
            extra = []
            for col, lab, d, u in (("depth_m", "水深", 1, "米"), ("clear_diameter_m", "净水面直径", 0, "米"),
                                   ("round_trip_min", "往返", 1, "分钟")):
                if pd.notna(r.get(col)):
                    extra.append(f"{lab}{num(r.get(col), d)}{u}")
            if str(r.get("depth_status")) == "unknown":
                extra.append("水深未知，需实测")
            rows.append(["吊桶取水点", _cell("name", r.get("name")), num(r.get("area_m2"), 0), "，".join(extra) or "—",
                         num(r.get("lon"), 6), num(r.get("lat"), 6)])
    chosen = _planned_pads(pads)
    if chosen is not None and len(chosen):
        chosen, _ = _with_lonlat(chosen)
        for _, r in chosen.iterrows():
            extra = []
            for col, lab, d, u in (("slope_max_deg", "最大坡度", 1, "度"), ("road_m", "距道路", 0, "米"),
                                   ("nearest_dip_site_km", "距取水点", 1, "公里"),
                                   ("candidate_area_m2", "可选坪址范围", 0, "平方米")):
                if pd.notna(r.get(col)):
                    extra.append(f"{lab}{num(r.get(col), d)}{u}")
            if pd.notna(r.get("road_vehicle_class")):
                extra.append(f"道路可通行{value_zh('vehicle_class', r.get('road_vehicle_class'))}")
            area = r.get("pad_area_m2")
            rows.append(["停机坪", "—", num(area, 0) if area is not None else "—",
                         "，".join(extra) or "—", num(r.get("lon"), 6), num(r.get("lat"), 6)])
    if not rows:
        b.para(f"{c.town}范围内无符合条件的直升机取水点和停机坪，由相邻乡镇（街道）或所在山系单元统筹。")
        return
    b.para(f"规划直升机取水点和停机坪见{b.next_table}；停机坪按40米×40米硬化坪或50米×50米土质坪建设，四周设20米压实带和"
           f"30米净空带，进近、离场方向不得有高压线（周，2018，《森林防火》）。")
    b.table(f"{c.town}规划直升机取水点和停机坪", ["类型", "名称", "面积（平方米）", "主要条件", "经度", "纬度"], rows,
            key="heli_plan", note="取水点面积为水面面积；停机坪面积为停机坪本身的面积（边长的平方），坪心位于所列经纬度，"
                                  "可选坪址范围为坪心可选区域的面积，列于主要条件；距道路为至所列车型可通行道路的距离。")


def _pl_stations(c: _Ctx, s):
    b, td = c.b, c.td
    s("消防队站与消防力量")
    st = td.layer("stations")
    planned = None
    if st is not None and "status" in st.columns and len(st):  # input layer: optional field
        planned = st[st["status"].astype(str).str.contains("plan|规划|拟建", case=False, na=False)]
    if planned is not None and len(planned):
        b.para(f"保障{'、'.join(planned['name'].astype(str))}建设用地，按《乡镇消防队》（GB/T 35547-2017）配备人员和装备。",
               "item")
    b.para(f"乡镇（街道）根据建成区面积、常住人口和火灾形势，按《乡镇消防队》（GB/T 35547-2017）安排乡镇消防队建设；"
           f"村（居）民委员会按标准建设志愿消防队（微型消防站），统一纳入消防调度指挥体系（{SEED}第3、6项任务）。", "item")
    rs = td.result("response_settlements")
    if rs is not None and len(rs):
        t = _n(rs["time_min"]).fillna(np.inf)
        far = int((t > c.run.breaks[-1]).sum())
        if far:
            b.para(f"到场时间超过{num(c.run.breaks[-1])}分钟或无法到达的居民点{far}处，宜优先建设志愿消防队（微型消防站），"
                   f"配备与道路条件相适应的小型消防车、消防摩托车和灭火器材。", "item")
    sit = td.result("response_siting")
    if sit is not None and len(sit):
        chosen = sit[sit["selected"].astype(bool)]
        for _, row in chosen.iterrows():
            model = {"mclp": "最大覆盖选址模型（MCLP）", "lscp": "集合覆盖选址模型（LSCP）"}.get(
                str(row.get("model", "")).lower(), "选址模型")
            gain = row.get("new_population")
            gain_txt = f"，可新增{num(row.get('time_threshold_min'))}分钟内可达人口{num(gain)}人" if pd.notna(gain) else ""
            b.para(f"{model}建议在{row.get('name')}新增消防站{gain_txt}（备选方案，需结合用地和财力论证）。", "item")
