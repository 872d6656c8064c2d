"""Report text for the village side of the plan: micro fire stations and building clusters.

Township sections (each only where the township has communities / micro stations, or buildings):
现状 (micro stations and communities of the 2024/2025 programme; buildings by grade), 分析 (3-minute
reach of the micro stations; building clusters over the area limit), 规划措施 (planned and suggested
micro stations; firebreaks and fire walls). County: the 2024/2025 programme and its coverage per
township, and the building clusters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import rules as _rules
from ._model import num, pct

SEED = "《关于进一步加强基层消防治理工作实施方案》（开州府办发〔2023〕47号）"
GRADE_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def _n(series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _bool(series) -> pd.Series:
    return series.fillna(False).astype(bool)


def _t(v) -> str:
    v = pd.to_numeric(v, errors="coerce")
    return "—" if pd.isna(v) else f"{v:.1f}"


def _s(v) -> str:
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v) else str(v)


def _has(frame) -> bool:
    return frame is not None and len(frame) > 0


def _limited(frame, max_rows: int):
    if len(frame) <= max_rows:
        return frame, ""
    return frame.head(max_rows), f"仅列出前{max_rows}项，共{len(frame)}项，完整清单见成果表格 tables.xlsx。"


def _planned(st) -> pd.Series:
    if st is None or "status" not in st.columns:  # input layer (micro_stations): optional field
        return pd.Series(False, index=getattr(st, "index", None))
    return st["status"].astype(str).str.contains("plan|propos|规划|拟建|在建|待建", case=False, na=False)


# ---------------------------------------------------------------------------------------------
# 一、现状


def status_micro(c, s):
    b, td = c.b, c.td
    comm, st = td.layer("communities"), td.layer("micro_stations")
    if not _has(comm) and not _has(st):
        return
    s("社区与微型消防站")
    if _has(comm):  # input layer (communities): year and name are optional fields
        year = _n(comm["year"]) if "year" in comm.columns else pd.Series(np.nan, index=comm.index)
        parts = []
        for y in (2024, 2025):
            names = comm.loc[year == y, "name"].astype(str).tolist() if "name" in comm.columns else []
            if names:
                parts.append(f"{y}年配齐微型消防站器材的有{'、'.join(names)}（{len(names)}个）")
        b.para(f"{c.town}纳入本次分析的社区（村）{len(comm)}个" + ("；按" + SEED + "第3项任务，" + "，".join(parts)
                                                                  if parts else "") + "。")
    if _has(st):
        pl = _planned(st)
        cols = [x for x in ("name", "community", "status", "year") if x in st.columns]  # input layer: optional
        head = {"name": "微型消防站", "community": "所属社区", "status": "状态", "year": "年份"}
        rows = []
        for (_, r), p in zip(st.iterrows(), pl):
            row = []
            for x in cols:
                if x == "status":
                    row.append("规划" if p else "现状")
                elif x == "year":
                    y = pd.to_numeric(r[x], errors="coerce")
                    row.append("—" if pd.isna(y) else str(int(y)))
                else:
                    row.append(_s(r[x]))
            rows.append(row)
        b.para(f"{c.town}现有微型消防站{int((~pl).sum())}处、规划（待配齐）{int(pl.sum())}处，见{b.next_table}。")
        b.table(f"{c.town}微型消防站", [head[x] for x in cols], rows, key="micro_stations")
    elif _has(comm):
        b.para(f"{c.town}尚无微型消防站资料（未提供微型消防站图层或辖区内无站点）。")


def status_buildings(c, s):
    b, td = c.b, c.td
    bl = td.layer("buildings")
    if not _has(bl):
        return
    s("建筑")
    txt = f"{c.town}纳入分析的建筑{len(bl)}栋"
    if "fire_resistance" in bl.columns:  # input layer (buildings): optional fields
        known = bl["fire_resistance"].notna() & (bl["fire_resistance"].astype(str).str.strip() != "")
        txt += f"，其中有耐火等级资料的{int(known.sum())}栋"
        if "structure" in bl.columns:
            vc = bl.loc[~known, "structure"].dropna().astype(str).value_counts()
            if len(vc):
                txt += "，其余按结构类型推定（" + "、".join(f"{k}{v}栋" for k, v in vc.items()) + "）"
    ot = td.layer("old_towns")
    if _has(ot):
        txt += f"；辖区内有{'、'.join(ot['name'].dropna().astype(str))}" if "name" in ot.columns else ""
    b.para(txt + "。")


# ---------------------------------------------------------------------------------------------
# 二、分析


def analysis_micro(c, s):
    b, td, run = c.b, c.td, c.run
    mc = td.result("micro_communities")
    if not _has(td.layer("communities")) and not _has(mc):
        return
    s("微型消防站3分钟到场分析")
    if mc is None:
        b.missing(run.why_missing("micro_stations", "micro_communities"))
        return
    if not len(mc):
        b.para(f"{c.town}无纳入分析的社区。")
        return
    speed = run.param("micro_stations", "lane_speed_kmh") or None
    mode = run.param("micro_stations", "mode", "motorcycle")
    b.para(f"按{b.cites(('micro_turnout_min', '为'), ('micro_arrival_min', '不大于'))}，"
           f"{'消防摩托车' if mode == 'motorcycle' else '人员推车'}沿{b.cite('motorcycle_width_m')}的道路和巷道行进，"
           + (f"速度{num(speed)}公里/小时" if speed else
              b.cite('micro_motorcycle_speed_kmh' if mode == 'motorcycle' else 'micro_cart_speed_kmh', '为'))
           + f"，站点和社区至道路的距离按{b.cite('micro_offroad_speed_kmh', '为')}计入，沿道路网络计算各社区的到场时间。")
    cov = _bool(mc["covered"])
    covp = _bool(mc["covered_planned"])
    pop = _n(mc["population"]).fillna(0)
    n = len(mc)
    b.para(f"{c.town}{n}个社区中，现状微型消防站3分钟内可到场的{int(cov.sum())}个（{pct(int(cov.sum()), n)}，"
           f"人口{num(pop[cov].sum())}人），计入规划站后{int(covp.sum())}个（{pct(int(covp.sum()), n)}，人口"
           f"{num(pop[covp].sum())}人），见{b.next_table}。")
    show = mc.sort_values(["covered_planned", "time_min_planned"], ascending=[True, False], na_position="first")
    show, note = _limited(show, c.opts.max_rows)
    rows = []
    for _, r in show.iterrows():
        y = _n(pd.Series([r.get("year")])).iloc[0]
        rows.append([_s(r.get("name")), "—" if pd.isna(y) else str(int(y)), num(r.get("population")),
                     _s(r.get("station")), _t(r.get("time_min")), _t(r.get("time_min_planned")),
                     "是" if bool(r.get("covered_planned")) else "否"])
    b.table(f"{c.town}社区微型消防站到场时间", ["社区", "配齐年份", "人口", "现状到场站", "现状到场时间（分钟）",
                                            "含规划站到场时间（分钟）", "3分钟内可到场（含规划）"], rows, note=note,
            key="micro_communities")


def analysis_clusters(c, s):
    b, td, run = c.b, c.td, c.run
    cl = td.result("building_clusters")
    if not _has(td.layer("buildings")) and not _has(cl):
        return
    s("建筑连片密集区分析")
    if cl is None:
        b.missing(run.why_missing("building_clusters", "building_clusters"))
        return
    b.para("两栋建筑的间距小于其耐火等级组合所要求的防火间距时视为相连，相连建筑组成连片区（"
           + b.cites(("separation_12_12_m", "为"), ("separation_12_3_m", "为"), ("separation_12_4_m", "为"),
                     ("separation_3_3_m", "为"), ("separation_3_4_m", "为"), ("separation_4_4_m", "为"))
           + f"；耐火等级不详且结构不详的建筑按{GRADE_ZH.get(int(_rules.value('unknown_fire_grade')), '四级')}计，本工具假设）；"
           f"连片区占地面积超过{b.rule_value('cluster_area_max_m2')}（凭记忆的取值，按本工具假设使用，待对照"
           f"《农村防火规范》（GB 50039-2010）核对）的，应设置防火隔离带或防火墙分隔。")
    if not len(cl):
        b.para(f"{c.town}未发现两栋以上建筑相连的连片区。")
        return
    over = _bool(cl["over_limit"])
    b.para(f"{c.town}共有建筑连片区{len(cl)}处，其中占地面积超过上限的{int(over.sum())}处，见{b.next_table}。")
    show = cl.sort_values("footprint_m2", ascending=False)
    show, note = _limited(show, c.opts.max_rows)
    rows = [[_s(r.get("cluster_id")), _s(r.get("old_town")),
             str(int(r["buildings"])), num(r["footprint_m2"]), _s(r.get("grade_mix")),
             "是" if bool(r["over_limit"]) else "否", str(int(r["parts"])) if bool(r["over_limit"]) else "—"]
            for _, r in show.iterrows()]
    b.table(f"{c.town}建筑连片区", ["编号", "所在古镇", "建筑数", "占地面积（平方米）", "耐火等级构成", "是否超限",
                                 "分隔后分区数"], rows, note=note, key="building_clusters")


# ---------------------------------------------------------------------------------------------
# 三、规划措施


def plan_micro(c, s):
    b, td = c.b, c.td
    mc = td.result("micro_communities")
    sug = td.result("micro_suggestions")
    st = td.layer("micro_stations")
    if not _has(mc) and not _has(sug):
        return
    s("微型消防站")
    if _has(st):
        pl = st[_planned(st)]
        if len(pl):
            b.para(f"按计划配齐{'、'.join(pl['name'].astype(str))}的器材，纳入消防调度指挥体系（{SEED}第3项任务）。",
                   "item")
    if _has(sug):
        b.para(f"为使更多社区在3分钟内可到场，建议新增微型消防站{len(sug)}处（按新增3分钟可达人口排序），见{b.next_table}。",
               "item")
        rows = [[str(int(r["rank"])), _s(r.get("communities")), str(int(r["new_communities"])),
                 num(r["new_population"]), _s(r.get("road_name"))] for _, r in sug.iterrows()]
        b.table(f"{c.town}建议新增微型消防站", ["序号", "新增3分钟可达社区", "社区数", "人口", "所在道路"], rows,
                key="micro_suggestions")
    if _has(mc):
        left = mc[~_bool(mc["covered_after"])]
        if len(left):
            b.para(f"{'、'.join(left['name'].astype(str))}在规划站和建议站点建成后仍不能在3分钟内到场（距可通行消防摩托车的"
                   f"道路过远或超出新增站点数量上限），宜结合道路改造或配置社区（村）志愿消防队就近值守。", "item")


def plan_firebreaks(c, s):
    b, td = c.b, c.td
    cl = td.result("building_clusters")
    fb = td.result("firebreak_suggestions")
    if not _has(cl) or not _bool(cl["over_limit"]).any():
        return
    s("防火隔离带与防火墙")
    over = cl[_bool(cl["over_limit"])]
    if fb is None:
        fb = pd.DataFrame(columns=["cluster_id", "measure"])
    for _, r in over.sort_values("footprint_m2", ascending=False).iterrows():
        cuts = fb[fb["cluster_id"] == r["cluster_id"]]
        wall = int((cuts["measure"].astype(str) == "设置防火墙").sum()) if len(cuts) else 0
        widen = len(cuts) - wall
        where = f"（{r['old_town']}）" if pd.notna(r.get("old_town")) else ""
        b.para(f"第{int(r['cluster_id'])}号连片区{where}{int(r['buildings'])}栋建筑、占地{num(r['footprint_m2'])}平方米，"
               f"超过{num(r['limit_m2'])}平方米；建议在现状间距最宽处分隔为{int(r['parts'])}个分区：拓宽防火间距{widen}处、"
               f"设置防火墙{wall}处。", "item")
    if _has(fb):
        show = fb.sort_values(["cluster_id", "gap_m"], ascending=[True, False])
        show, note = _limited(show, c.opts.max_rows)
        rows = [[str(int(r["cluster_id"])), f"{_s(r.get('building_a'))} / {_s(r.get('building_b'))}",
                 f"{float(r['gap_m']):.1f}", num(r["required_m"]), _s(r["measure"])] for _, r in show.iterrows()]
        b.para(f"各处分隔的位置（相对的两栋建筑）、现状间距和要求间距见{b.next_table}；差距不大于"
               f"{b.rule_value('firebreak_widen_max_m')}的拓宽间距（拆除或后退），其余在相对一侧设置防火墙。")
        b.table(f"{c.town}建议防火隔离带与防火墙", ["连片区", "相对建筑", "现状间距（米）", "要求间距（米）", "措施"],
                rows, note=note, key="firebreaks")
    b.para(f"结合{SEED}第7项任务，在建筑连片密集区设置防火隔离带、防火墙，推广安装简易喷淋、独立式感烟探测器和电气火灾"
           f"监控等技防设施。", "item")


# ---------------------------------------------------------------------------------------------
# county


def county_micro(b, run, names, s):
    mt = run.result("micro_towns")
    if mt is None and run.layer("communities") is None:
        return
    s("微型消防站")
    if mt is None:
        b.missing(run.why_missing("micro_stations", "micro_towns"))
        return
    rows_t = mt[mt["town"].isin(names)]
    rows_t = rows_t[rows_t["communities"] > 0]
    if not len(rows_t):
        b.para("汇总范围内无纳入分析的社区。")
        return
    cols = [("communities", 0), ("programme_2024", 0), ("programme_2025", 0), ("stations_existing", 0),
            ("stations_planned", 0), ("communities_covered", 0), ("communities_covered_planned", 0),
            ("communities_covered_after", 0)]
    rows = [[str(r["town"])] + [num(r[k], d) for k, d in cols] for _, r in rows_t.iterrows()]
    tot = rows_t[[k for k, _ in cols]].sum()
    rows.append(["合计"] + [num(tot[k], d) for k, d in cols])
    n = int(tot["communities"])
    b.para(f"按{SEED}第3项任务，2024年配齐{int(tot['programme_2024'])}个社区、2025年配齐{int(tot['programme_2025'])}个社区"
           f"的微型消防站器材。按接警1分钟出动、3分钟到场计算，汇总范围内{n}个社区中现状3分钟内可到场"
           f"{int(tot['communities_covered'])}个（{pct(int(tot['communities_covered']), n)}），计入规划站后"
           f"{int(tot['communities_covered_planned'])}个（{pct(int(tot['communities_covered_planned']), n)}），"
           f"再加建议新增站点后{int(tot['communities_covered_after'])}个，见{b.next_table}。")
    b.table("各乡镇（街道）社区微型消防站建设与3分钟到场情况（个）",
            ["乡镇（街道）", "社区", "2024年配齐", "2025年配齐", "现状站", "规划站", "现状可到场", "含规划站可到场",
             "含建议站可到场"], rows, key="micro_county", total_row=True)


def county_clusters(b, run, names, s):
    cl = run.result("building_clusters")
    if cl is None:
        return
    s("建筑连片密集区")
    sel = cl[cl["town"].isin(names)]
    if not len(sel):
        b.para("汇总范围内未发现建筑连片区。")
        return
    over = sel[_bool(sel["over_limit"])]
    fb = run.result("firebreak_suggestions")
    n_cuts = int(fb["cluster_id"].isin(over["cluster_id"]).sum()) if fb is not None and len(fb) else 0
    b.para(f"汇总范围内建筑连片区{len(sel)}处，其中占地面积超过上限的{len(over)}处"
           + (f"（{'、'.join(sorted(set(over['town'].dropna().astype(str))))}）" if len(over) else "") + f"，建议防火隔离带、防火墙分隔{n_cuts}处，详见各乡镇（街道）消防专篇。")
