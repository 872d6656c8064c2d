"""The document model: a list of blocks (headings, paragraphs, numbered tables and figures).

The content is built once (:mod:`._content`) and rendered twice, to Word (:mod:`._docx`) and to
HTML (:mod:`._html`), so both formats always say the same thing with the same numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .. import rules as _rules
from .._labels import UNITS_ZH


@dataclass
class Heading:
    text: str
    level: int  # 1 = 一、 2 = （一） 3 = 1.


@dataclass
class Paragraph:
    text: str
    kind: str = "body"  # body | note | notice | missing | item


@dataclass
class Table:
    number: int
    caption: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    key: str = ""
    total_row: bool = False  # last row is a 合计 row (rendered bold)

    @property
    def label(self) -> str:
        return f"表{self.number}"


@dataclass
class Figure:
    number: int
    caption: str
    png: bytes
    key: str = ""

    @property
    def label(self) -> str:
        return f"图{self.number}"


@dataclass
class Document:
    title: str
    subtitle: str
    meta: list[tuple[str, str]]
    blocks: list = field(default_factory=list)
    town: str | None = None
    cited: list = field(default_factory=list)  # rule keys the text cites (appendix A)

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


class Builder:
    """Appends blocks, numbers tables and figures, and records which rules the text cites."""

    def __init__(self, title: str, subtitle: str, meta, town: str | None = None, rule_values: dict | None = None):
        self.doc = Document(title=title, subtitle=subtitle, meta=list(meta), town=town)
        self.cited: list[str] = self.doc.cited
        #: ``{analysis: {rule key: value in force}}`` (``RunData.rule_values``), for :meth:`rule_value`
        self.rule_values = dict(rule_values or {})

    # numbering
    @property
    def next_table(self) -> str:
        return f"表{len(self.doc.tables()) + 1}"

    @property
    def next_figure(self) -> str:
        return f"图{len(self.doc.figures()) + 1}"

    def heading(self, text: str, level: int = 1):
        self.doc.blocks.append(Heading(clean(text), level))

    def para(self, text: str, kind: str = "body"):
        self.doc.blocks.append(Paragraph(clean(text), kind))

    def missing(self, reason: str):
        self.para(f"本次未开展该项分析（{reason}）。", "missing")

    def table(self, caption: str, header, rows, note: str = "", key: str = "", total_row: bool = False) -> Table:
        t = Table(len(self.doc.tables()) + 1, clean(caption), [clean(h) for h in header],
                  [[clean(c) for c in r] for r in rows], clean(note), key, total_row)
        self.doc.blocks.append(t)
        return t

    def figure(self, caption: str, png: bytes, key: str = "") -> Figure:
        f = Figure(len(self.doc.figures()) + 1, clean(caption), png, key)
        self.doc.blocks.append(f)
        return f

    def cite(self, key: str, relation: str = "不小于") -> str:
        """``"消防车道净宽不小于4米（《建筑设计防火规范》GB 50016-2014第7.1.8条…）"`` and remember the rule."""
        r = _rules.rule(key)
        if key not in self.cited:
            self.cited.append(key)
        return f"{r.text_zh}{relation}{num(r.value)}{unit_zh(r.unit)}（{source_zh(r.source)}）"

    def cites(self, *items) -> str:
        """Several rules in one phrase, each source said once after the run of rules sharing it.

        ``b.cites(("helipad_slope_max_deg", "小于"), ("helipad_side_m", "为"))`` ->
        ``"直升机停机坪坡度小于5度、土质停机坪边长为50米（周（2018），《森林防火》）"``.
        """
        out, run, src = [], [], None
        for item in items:
            key, rel = (item, "不小于") if isinstance(item, str) else item
            r = _rules.rule(key)
            if key not in self.cited:
                self.cited.append(key)
            s = source_zh(r.source)
            if src is not None and s != src:
                out.append("、".join(run) + f"（{src}）")
                run = []
            src = s
            run.append(f"{r.text_zh}{rel}{num(r.value)}{unit_zh(r.unit)}")
        if run:
            out.append("、".join(run) + f"（{src}）")
        return "，".join(out)

    def rule_value(self, key: str, used_by: str | None = None) -> str:
        """The value of rule ``key`` with its unit: the rule's own, or with ``used_by`` (an analysis or
        ``network``) the value that analysis used in this run (the recipe's when it changed it)."""
        r = _rules.rule(key)
        if key not in self.cited:
            self.cited.append(key)
        v = self.rule_values.get(used_by, {}).get(key, r.value) if used_by else r.value
        return f"{num(v)}{unit_zh(r.unit)}"


# ---------------------------------------------------------------------------------------------
# text helpers

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value) -> str:
    """Text safe for Word XML: control characters removed (they make python-docx fail)."""
    return _CONTROL.sub("", "" if value is None else str(value))


def num(v, digits: int | None = None) -> str:
    """Format a number: ``num(1234.5, 1) -> "1234.5"``, ``num(4.0) -> "4"``, ``num(2.5) -> "2.5"``;
    NaN/None -> "—", infinity -> "不可达"."""
    if v is None:
        return "—"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return clean(v)
    if math.isnan(f):
        return "—"
    if math.isinf(f):
        return "不可达"
    if digits is None:
        if abs(f - round(f)) < 1e-9:
            return str(int(round(f)))
        return f"{f:.2f}".rstrip("0").rstrip(".")
    if digits == 0:
        return str(int(round(f)))
    return f"{f:.{digits}f}"


def pct(part, whole) -> str:
    if not whole:
        return "—"
    return f"{100.0 * part / whole:.1f}%"


def unit_zh(unit: str) -> str:
    return UNITS_ZH.get(unit, unit)


STANDARDS_ZH = {
    "GB 50016-2014": "《建筑设计防火规范》（GB 50016-2014）",
    "GB 50016": "《建筑设计防火规范》（GB 50016）",
    "GB 50039-2010": "《农村防火规范》（GB 50039-2010）",
    "GB 50039": "《农村防火规范》（GB 50039）",
    "GB 55037-2022": "《建筑防火通用规范》（GB 55037-2022）",
    "GB 50974-2014": "《消防给水及消火栓系统技术规范》（GB 50974-2014）",
    "GB 51080-2015": "《城市消防规划规范》（GB 51080-2015）",
    "建标152-2017": "《城市消防站建设标准》（建标152-2017）",
    "GB/T 35547-2017": "《乡镇消防队》（GB/T 35547-2017）",
    "开州府办发〔2023〕47号": "《关于进一步加强基层消防治理工作实施方案》（开州府办发〔2023〕47号）",
    "开州区2023年森林防火禁火令": "《开州区2023年森林防火禁火令》",
    "公消〔2015〕301号": "《社区微型消防站建设标准（试行）》（公消〔2015〕301号）",
}


def crs_zh(crs) -> str:
    """``EPSG:4545`` -> ``"CGCS2000国家大地坐标系 3度带高斯-克吕格投影（中央经线108°E，EPSG:4545）"``."""
    name = str(getattr(crs, "name", crs))
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    m = re.match(r"CGCS2000 / 3-degree Gauss-Kruger (?:zone (\d+)|CM (\d+)E)", name)
    tail = f"EPSG:{epsg}" if epsg else ""
    if m:
        if m.group(2):
            txt = f"CGCS2000国家大地坐标系 3度带高斯-克吕格投影（中央经线{m.group(2)}°E"
        else:
            txt = (f"CGCS2000国家大地坐标系 3度带高斯-克吕格投影（第{m.group(1)}带，中央经线{int(m.group(1)) * 3}°E，"
                   f"横坐标含带号")
        return txt + (f"，{tail}）" if tail else "）")
    return name + (f"（{tail}）" if tail else "")


def _clause_zh(rest: str) -> str:
    rest = rest.strip().strip(",")
    if not rest:
        return ""
    m = re.fullmatch(r"ch\.?\s*(\d+)", rest)
    if m:
        return f"第{m.group(1)}章"
    if rest == "commentary":
        return "条文说明"
    m = re.fullmatch(r"task\s*(\d+)", rest)
    if m:
        return f"第{m.group(1)}项任务"
    clauses = [c.strip() for c in rest.split(",") if c.strip()]
    if clauses and all(re.fullmatch(r"\d+(\.\d+)+", c) for c in clauses):
        return "第" + "、".join(clauses) + "条"
    m = re.fullmatch(r"sec\.?\s*(\d+)", rest)
    if m:
        return f"第{m.group(1)}章"
    return rest


_EXPLAIN_ZH = {
    "vehicle ~2.0-2.2 m wide": "小型消防车车宽约2.0～2.2米",
    "light chassis": "轻型底盘",
    "as hydrants": "参照消火栓",
    "zhou 2018: no power lines near approach paths": "周（2018）：进近、离场航线附近不得有电力线",
    "radius of houses around a settlement point": "点状居民点周边房屋范围",
    "earth pad": "土质停机坪",
    "fire motorcycle in lanes": "消防摩托车在巷道中行驶",
    "on foot with a hand cart": "人员推手推车步行",
    "the stretch between a lane and the door is walked": "道路至门口一段步行",
    "method: new-site candidates along lanes": "方法参数：沿巷道布置候选点",
    "wooden / brick-wood village houses of unknown grade": "耐火等级不详的木结构、砖木结构农房",
    "shortfall up to which widening the gap is suggested, above it a fire wall": "差距不大于此值时建议拓宽间距，否则设防火墙",
}


def _explain(text: str) -> str:
    t = text.strip().strip("();:, ")
    return _EXPLAIN_ZH.get(t.lower(), t)


def source_zh(source: str) -> str:
    """Source of a rule in the form Chinese documents cite it.

    ``"GB 50016-2014 7.1.8; GB 50039-2010 ch.3"`` ->
    ``"《建筑设计防火规范》（GB 50016-2014）第7.1.8条；《农村防火规范》（GB 50039-2010）第3章"``;
    ``"assumption (vehicle ~2.0-2.2 m wide); no national rule"`` -> ``"本工具假设（小型消防车车宽约2.0～2.2米），无国家标准规定"``.
    Unknown sources are returned as written.
    """
    src = str(source).strip()
    low = src.lower()
    if low.startswith("assumption"):
        rest = src[len("assumption"):]
        notes = []
        none = ""
        for piece in re.split(r";", rest):
            piece = piece.strip()
            pl = piece.lower()
            if not piece:
                continue
            if "no national rule" in pl:
                none = "，无国家标准规定"
                piece = re.sub(r"(?i)no national rule", "", piece)
            if "no published figure" in pl:
                none = "，无公开数据"
                piece = re.sub(r"(?i)no published figure", "", piece)
            piece = piece.strip().strip(",:;")
            m = re.fullmatch(r"\((.*)\)", piece)
            if m:
                piece = m.group(1)
            if piece.strip():
                notes.append(_explain(piece))
        return "本工具假设" + (f"（{'；'.join(notes)}）" if notes else "") + none
    parts = []
    for part in src.split(";"):
        part = part.strip()
        if not part:
            continue
        pl = part.lower()
        if pl == "news reports":
            parts.append("新闻报道（数值待核实）")
            continue
        if pl.startswith("chongqing news"):
            parts.append(f"重庆新闻报道（{part[len('chongqing news'):].strip()}年，数值待核实）")
            continue
        if part.startswith("Zhou 2018"):
            extra = re.search(r"\(([^)]*)\)\s*$", part)
            parts.append("周（2018），《森林防火》" + (f"（{_explain(extra.group(1))}）" if extra else ""))
            continue
        for code in sorted(STANDARDS_ZH, key=len, reverse=True):
            if part.startswith(code):
                parts.append(STANDARDS_ZH[code] + _clause_zh(part[len(code):]))
                break
        else:
            parts.append(part)
    return "；".join(parts)


CONFIDENCE_ZH = {
    "V1": "V1 已核对条文原文",
    "V2": "V2 数值见二手资料",
    "M": "M 凭记忆，待核对",
    "A": "A 本工具假设",
    "M/A": "M/A 凭记忆的取值，按本工具假设使用，待核对",
}
