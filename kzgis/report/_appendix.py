"""Appendix of every 消防专篇: the rules cited (standard and clause), the assumptions and parameters in
force, and the data sources."""

from __future__ import annotations

import pandas as pd

from .. import analysis as _analysis
from .. import params as _params
from .. import rules as _rules
from .._labels import header_zh
from ._data import RunData
from ._model import CONFIDENCE_ZH, Builder, num, source_zh, unit_zh


def appendix(run: RunData, b: Builder):
    b.heading("附录", 1)
    b.heading("附录A  引用的规范条文", 2)
    cited = [_rules.rule(k) for k in b.cited]
    norm = sorted((r for r in cited if not r.is_assumption), key=lambda r: (source_zh(r.source), r.key))
    rows = [[str(i + 1), r.text_zh, f"{num(r.value)}{unit_zh(r.unit)}", source_zh(r.source),
             CONFIDENCE_ZH.get(r.confidence, r.confidence)] for i, r in enumerate(norm)]
    b.para(f"本专篇正文引用的规范条文见{b.next_table}。可信度：V1 已核对条文原文；V2 数值见二手资料；M 凭记忆、待核对。"
           f"标注为V2、M的条目在正式报批前应由编制单位对照规范原文复核。")
    b.table("引用的规范条文", ["序号", "条目", "数值", "依据（标准及条款）", "可信度"], rows, key="rules_cited")

    b.heading("附录B  假设与参数", 2)
    assum_rows, param_rows, source_rows = _run_rows(run)
    b.para(f"国家标准未作规定、由本工具假设的取值见{b.next_table}，均可在任务配方中修改。")
    b.table("本工具采用的假设（可信度A）", ["序号", "条目", "取值", "说明"], assum_rows, key="assumptions")
    method_rows = _method_rows(run)
    if method_rows:
        b.para(f"计算方法中由本工具设定、无规范或文献依据的取值（如各等级道路的消防车车速）见{b.next_table}，"
               f"同属假设，均可在任务配方中修改；标注“配方设定”的是本次在任务配方中设定的取值。")
        b.table("本工具方法取值（假设）", ["分析", "条目", "取值"], method_rows, key="method_numbers")
    if param_rows:
        b.para(f"本次计算采用的全部参数见{b.next_table}；标注“配方设定”的是本次在任务配方中设定的取值，其余为默认值"
               f"（默认值取自上述规范条文和假设）。")
        b.table("本次计算采用的参数", ["分析", "参数", "取值"], param_rows, key="parameters")
    else:
        b.para("本次未记录分析参数（无任务配方）。", "note")

    b.heading("附录C  数据来源", 2)
    b.table("输入图层", ["图层", "要素数", "数据来源"], source_rows, key="data_sources")
    if run.synthetic:
        b.para(f"其中{'、'.join(dict.fromkeys(run.synthetic))}为示意数据（合成），仅用于演示。", "notice")

    warnings = list(dict.fromkeys(getattr(run.ctx, "warnings", None) or []))
    if warnings:
        b.heading("附录D  计算提示", 2)
        b.para(f"计算程序对本次输入数据和结果给出的提示见{b.next_table}（程序原文），编制时应逐条核对。")
        b.table("计算提示", ["序号", "提示"], [[str(i + 1), w] for i, w in enumerate(warnings)], key="warnings")


def _run_rows(run: RunData) -> tuple[list, list, list]:
    """Rows of the appendix tables that are the same in every chapter of a run (assumptions, parameters,
    data sources), built once per run."""
    if "_appendix_rows" in run.__dict__:
        return run.__dict__["_appendix_rows"]
    assum = [r for r in _rules.RULES.values() if r.is_assumption]
    assum_rows = [[str(i + 1), r.text_zh, f"{num(r.value)}{unit_zh(r.unit)}", source_zh(r.source)]
                  for i, r in enumerate(assum)]
    rows = []
    recipe = run.recipe
    if recipe is not None:
        for name, p in recipe.analyses.items():
            try:
                desc = _params.describe(p, recipe.analyses_given.get(name))
                spec = _analysis.REGISTRY.get(name)
                in_force = {r.key: r for r in spec.in_force(p)} if spec is not None else {}
            except TypeError:
                continue
            for key, d in desc.items():
                rows.append(_param_row(name, key, d, in_force.get(key)))
        try:
            in_force = {r.key: r for r in recipe.network.in_force()}
            for key, d in _params.describe(recipe.network, recipe.network_given).items():
                rows.append(_param_row("network", key, d, in_force.get(key)))
        except (TypeError, AttributeError):
            pass
    sources = []
    for kind, frame in run.layers.items():
        if kind == "dem":
            sources.append([_layer_name(kind), f"{frame.shape[1]}×{frame.shape[0]}栅格，{num(frame.cell_m, 1)}米", "—"])
            continue
        src = "—"
        if isinstance(frame, pd.DataFrame) and "source" in frame.columns:
            vals = list(dict.fromkeys(frame["source"].dropna().astype(str)))
            src = "；".join(vals[:3]) + ("等" if len(vals) > 3 else "") if vals else "—"
        sources.append([_layer_name(kind), str(len(frame)), src])
    out = (assum_rows, rows, sources)
    run.__dict__["_appendix_rows"] = out
    return out


#: Short names of the analyses for the first column of appendix B (report wording); an analysis not
#: listed is named by its registered title (:func:`analysis_short`).
def _method_rows(run: RunData) -> list[list[str]]:
    """The method numbers in force (:func:`kzgis.rules.in_force` records without a rule) of the
    recipe's analyses and network: analysis, item, value."""
    if "_method_rows" in run.__dict__:
        return run.__dict__["_method_rows"]
    rows = []
    recipe = run.recipe
    if recipe is not None:
        sets = []
        for name, p in (getattr(recipe, "analyses", None) or {}).items():
            spec = _analysis.REGISTRY.get(name)
            try:
                sets.append((name, spec.in_force(p) if spec is not None else []))
            except TypeError:
                continue
        net = getattr(recipe, "network", None)
        if hasattr(net, "in_force"):
            sets.append(("network", net.in_force()))
        for name, records in sets:
            for r in records:
                if r.rule is None:
                    value = f"{num(r.value)}{unit_zh(r.unit)}" if isinstance(r.value, (int, float)) else str(r.value)
                    rows.append([ANALYSIS_ZH.get(name, name), f"{r.text_zh} {r.key}",
                                 value + ("（配方设定）" if r.changed_by_recipe else "")])
    run.__dict__["_method_rows"] = rows
    return rows


ANALYSIS_ZH = {"access": "消防车通行", "response": "到场时间", "water": "消防水源", "barriers": "林火阻隔",
               "checkpoints": "检查站", "helicopter": "直升机", "network": "道路网络", "micro_stations": "微型消防站",
               "building_clusters": "建筑连片区",
               "monitoring": "林火视频监控"}


def analysis_short(analysis: str) -> str:
    """The analysis' short name (:data:`ANALYSIS_ZH`), else its registered title."""
    if analysis in ANALYSIS_ZH:
        return ANALYSIS_ZH[analysis]
    from .. import analysis as _analysis

    reg = _analysis.REGISTRY.get(analysis)
    return reg.title_zh if reg is not None and reg.title_zh else analysis


def _param_row(analysis: str, key: str, d: dict, in_force: _rules.InForce | None = None) -> list[str]:
    """One row of the parameters table; ``in_force`` (the parameter's rule or method number in force,
    :func:`kzgis.rules.in_force`) names it and says whether its default is an assumption."""
    from .._labels import PARAMS_ZH

    v = d.get("value")
    if isinstance(v, (list, tuple)):
        vs = "、".join(num(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x) for x in v)
    elif isinstance(v, dict):
        vs = "；".join(f"{k} {num(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x}"
                      for k, x in v.items())
    elif isinstance(v, bool):
        vs = "是" if v else "否"
    elif isinstance(v, (int, float)):
        vs = num(v)
    else:
        vs = "—" if v is None or v == "" else str(v)
    if not vs:
        vs = "—"
    if d.get("source") == "recipe":
        vs += "（配方设定）"
    label = PARAMS_ZH.get(key) or (header_zh(key) if header_zh(key) != key else "")
    if in_force is not None:
        assumed = in_force.rule is None or _rules.rule(in_force.rule).is_assumption
        if assumed:
            label = (label or in_force.text_zh) + "（假设）"
        else:
            label = label or in_force.text_zh
    name = f"{label} {key}" if label else key
    return [analysis_short(analysis), name, vs]


def _layer_name(kind: str) -> str:
    from ._data import layer_title

    t = layer_title(kind)
    return f"{t}（{kind}）" if t != kind else kind


