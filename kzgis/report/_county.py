"""The county summary (``<county>_消防专篇汇总``): the townships' numbers side by side, with totals."""

from __future__ import annotations

import logging
from datetime import date

import pandas as pd

from .. import __version__
from .._labels import VALUES_ZH, VEHICLE_ORDER, value_zh
from . import _figures, _village
from ._appendix import analysis_short, appendix
from ._content import SEED, _Sections, _vehicle_label
from ._data import RunData, TownData, time_bins
from ._model import Builder, Document, num, pct
from ._options import ReportOptions

log = logging.getLogger(__name__)


def county_document(run: RunData, tds: list[TownData], facts: dict, opts: ReportOptions, county: str,
                    cited=()) -> Document:
    """The county roll-up; ``cited`` are the rules the township chapters cite (listed in its appendix A)."""
    label = county or "全区"
    meta = [("汇总范围", f"{label}{len(tds)}个乡镇（街道）"),
            ("编制单位", opts.author or "（编制单位）"),
            ("编制日期", opts.date or date.today().isoformat()),
            ("生成工具", f"kzgis {__version__}" + (f"，任务 {run.recipe.name}" if run.recipe is not None else ""))]
    b = Builder(f"{label}乡镇国土空间规划", "消防专篇汇总", meta, rule_values=run.rule_values())
    b.cited.extend(k for k in cited if k not in b.cited)
    names = [td.scope.name for td in tds]
    b.heading("编制说明", 1)
    b.para(f"本汇总依据{SEED}第5项任务，将{label}{len(tds)}个乡镇（街道）消防专篇的主要指标汇总成表，各项数字与各乡镇（街道）"
           f"消防专篇中的数字一致（合计行为各乡镇（街道）数字之和）。")
    if run.synthetic:
        b.para(f"示意数据提示：{'、'.join(dict.fromkeys(run.synthetic))}为示意数据（合成），数字和图件仅用于演示分析方法，"
               f"不得作为规划审批依据。", "notice")

    def tot(key, rows_facts):
        vals = [rf.get(key) for rf in rows_facts]
        vals = [v for v in vals if v is not None]
        return sum(vals) if vals else None

    fl = [facts[n] for n in names]
    b.heading("一、现状汇总", 1)
    cols = [("area_km2", "面积（平方公里）", 1), ("settlements", "居民点", 0), ("population", "人口", 0),
            ("stations", "消防队站", 0), ("hydrants", "消火栓", 0), ("fire_pools", "消防水池", 0),
            ("water_intakes", "取水点", 0), ("forest_km2", "林地（平方公里）", 2)]
    _summary_table(b, "各乡镇（街道）消防设施现状", names, fl, cols, tot, "status_summary")

    b.heading("二、分析汇总", 1)
    s = _Sections(b)
    s("消防车通行")
    if run.result("access_settlements") is None:
        b.missing(run.why_missing("access", "access_settlements"))
    else:
        cols = [("access_total", "居民点", 0)] + [(f"access_{k}", VALUES_ZH["best_vehicle"][k], 0) for k in VEHICLE_ORDER]
        _summary_table(b, "各乡镇（街道）居民点消防车可达情况（处）", names, fl, cols, tot, "access_county",
                       intro="各乡镇（街道）居民点按可到达的最优消防车型统计")
        _county_figure(b, run, names, facts, opts, "access_standard", "access_total", "标准消防车可达居民点比例",
                       f"{label}各乡镇（街道）标准消防车可达居民点比例", "county_access")
    s("接警到场时间")
    if run.result("response_settlements") is None:
        b.missing(run.why_missing("response", "response_settlements"))
    else:
        cols = [(f"resp_{lab}", lab, 0) for lab, _, _ in time_bins(run.breaks)] + [("resp_unreached", "不可达", 0),
                                                                                   ("resp_total", "合计", 0)]
        _summary_table(b, "各乡镇（街道）居民点接警到场时间分布（处）", names, fl, cols, tot, "response_county",
                       intro=f"各乡镇（街道）居民点接警到场时间分布（{_vehicle_label(run)}）")
        _scenarios(b, run)
    s("消防水源覆盖")
    if run.result("water_settlements") is None:
        b.missing(run.why_missing("water", "water_settlements"))
    else:
        cols = [("water_total", "居民点", 0), ("water_covered", "已覆盖", 0), ("water_uncovered", "未覆盖", 0),
                ("water_suggestions", "建议新增消火栓", 0)]
        _summary_table(b, "各乡镇（街道）消防水源覆盖情况（处）", names, fl, cols, tot, "water_county")
        _county_figure(b, run, names, facts, opts, "water_covered", "water_total", "消防水源覆盖居民点比例",
                       f"{label}各乡镇（街道）消防水源覆盖居民点比例", "county_water")
    s("森林防火设施")
    if all(run.result(r) is None for r in ("barrier_bands", "checkpoints", "heli_dip_sites", "heli_pads")):
        b.missing("；".join(run.why_missing(a) for a in ("barriers", "checkpoints", "helicopter")))
    else:
        cols = [("bands", "阻隔带（段）", 0), ("bands_ha", "阻隔带面积（公顷）", 2), ("checkpoints", "检查站（处）", 0),
                ("dip_sites", "取水点（处）", 0), ("dip_selected", "选定取水点（处）", 0), ("pads", "停机坪候选（处）", 0)]
        _summary_table(b, "各乡镇（街道）森林防火设施规划", names, fl, cols, tot, "forest_county")
        missing = [a for a, r in (("barriers", "barrier_bands"), ("checkpoints", "checkpoints"),
                                  ("helicopter", "heli_dip_sites")) if run.result(r) is None]
        for a in missing:
            b.para(f"{analysis_short(a)}：本次未开展该项分析（{run.why_missing(a)}）。", "missing")
    _village.county_micro(b, run, names, s)
    _village.county_clusters(b, run, names, s)
    b.heading("三、规划措施汇总", 1)
    if run.result("access_upgrades") is not None:
        cols = [("upgrades", "建议拓宽路段（段）", 0), ("upgrade_km", "拓宽长度（公里）", 2)]
        _summary_table(b, "各乡镇（街道）建议拓宽的消防车通道", names, fl, cols, tot, "upgrades_county",
                       note="跨乡镇路段计入各相关乡镇（街道），合计可能大于全区实际长度。")
    else:
        b.missing(run.why_missing("access", "access_upgrades"))
    b.para("各乡镇（街道）的规划措施清单（拓宽路段、新增水源、林火阻隔带、检查站、直升机取水点和停机坪的位置）见各乡镇（街道）"
           "消防专篇。")
    appendix(run, b)
    return b.doc


def _scenarios(b: Builder, run: RunData):
    """District-wide station scenarios (existing vs existing + planned, e.g. 雪宝山) from ``response_scenarios``."""
    import re

    sc = run.result("response_scenarios")
    if sc is None or not len(sc):
        return
    within = sorted({int(m.group(1)) for c in sc.columns if (m := re.fullmatch(r"settlements_within_(\d+)", str(c)))})
    header = ["情景", "队站数"]
    for w in within:
        header += [f"{w}分钟内居民点", f"{w}分钟内人口比例"]
    header += ["无法到达居民点", "平均到场时间（分钟）"]
    rows = []
    for _, r in sc.iterrows():
        row = [value_zh("scenario", r["scenario"]), num(r.get("n_stations"))]
        for w in within:
            row += [num(r.get(f"settlements_within_{w}")),
                    pct(float(r.get(f"pop_share_within_{w}", float("nan"))), 1)
                    if pd.notna(r.get(f"pop_share_within_{w}")) else "—"]
        row += [num(r.get("unreached")), num(r.get("mean_time_min"), 1)]
        rows.append(row)
    stations = "；".join(f"{value_zh('scenario', a)}：{z}" for a, z in zip(sc["scenario"], sc["stations"]))
    b.para(f"现状队站与规划队站（如雪宝山政府专职消防队）建成前后，全区接警到场时间的比较见{b.next_table}。")
    b.table("全区消防队站布局情景比较", header, rows, key="scenarios", note=f"各情景的队站：{stations}。" if stations else "")


def _county_figure(b: Builder, run: RunData, names, facts, opts, part: str, whole: str, what: str, caption: str,
                   key: str):
    if not opts.figures:
        return
    shares = {n: (facts[n][part] / facts[n][whole]) if facts[n].get(whole) else None for n in names}
    try:
        png = _figures.fig_county(run, names, shares, opts.dpi, "示意数据" if run.synthetic else "", what)
    except Exception as exc:  # noqa: BLE001 - a figure must not stop the report
        log.warning("report: county figure '%s' not drawn: %s", caption, exc)
        return
    if png:
        b.para(f"{caption}见{b.next_figure}。")
        b.figure(caption, png, key=key)


def _summary_table(b: Builder, caption, names, fl, cols, tot, key, note: str = "", intro: str = ""):
    rows = []
    for n, f in zip(names, fl):
        rows.append([n] + [num(f.get(k), d) if f.get(k) is not None else "—" for k, _, d in cols])
    rows.append(["合计"] + [num(tot(k, fl), d) if tot(k, fl) is not None else "—" for k, _, d in cols])
    b.para(f"{intro or caption}见{b.next_table}。")
    return b.table(caption, ["乡镇（街道）"] + [h for _, h, _ in cols], rows, key=key, total_row=True, note=note)
