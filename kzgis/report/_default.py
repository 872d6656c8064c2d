"""The default report section of an analysis that has no hand-written one, rendered from the schema.

An analysis registered with :func:`kzgis.analysis.register` and its result layers declared in
:mod:`kzgis.schema` gets, in 二、分析, a section titled by its registered title: per declared result
layer a sentence (how many features lie in the township) and a table of the declared columns, with
their declared labels and units, limited to ``max_rows`` rows like the other tables (the full list is
in tables.xlsx). Only what is special needs a hand-written section (:data:`HAND_WRITTEN`).
"""

from __future__ import annotations

from .. import analysis as _analysis
from .. import schema as _schema
from .._labels import UNITS_ZH, header_zh

#: Analyses whose sections are written by hand (:mod:`._content`, :mod:`._village`).
HAND_WRITTEN = frozenset({"access", "response", "water", "barriers", "checkpoints", "helicopter", "micro_stations",
                          "building_clusters", "monitoring"})

#: Columns per default table (the first declared ones; the rest are in tables.xlsx).
MAX_COLUMNS = 8

_MEASURE = {"Point": "处", "LineString": "段", "Polygon": "处", None: "项"}
_DIGITS = {"m": 0, "m2": 0, "m3": 0, "km": 2, "km2": 2, "min": 1, "%": 1, "deg": 1}


def default_analyses(run) -> list[str]:
    """Registered analyses without a hand-written section that ran or that the recipe asks for."""
    _analysis.load_all()
    asked = set(getattr(run.recipe, "analyses", {}) or {}) if run.recipe is not None else set()
    return [name for name in _analysis.REGISTRY
            if name not in HAND_WRITTEN and _schema.for_analysis(name) and (run.ran(name) or name in asked)]


def header(lay: _schema.ResultLayer, column: str) -> str:
    """The declared label of a column, with its unit when the label does not already say it."""
    label = header_zh(column, lay.name)
    col = _declared(lay, column)
    unit = UNITS_ZH.get(col.unit, col.unit) if col is not None and col.unit else ""
    if unit and "（" not in label and "(" not in label:
        label += f"（{unit}）"
    return label


def _declared(lay: _schema.ResultLayer, column: str) -> _schema.Column | None:
    return next((c for c in lay.columns if c.name == column), None) or next(
        (c for c in lay.columns if c.is_pattern and c.matches(column)), None)


def columns(lay: _schema.ResultLayer, frame, drop=("town",)) -> list[str]:
    """The frame's declared columns in declaration order (a pattern column's members in frame order)."""
    out: list[str] = []
    for c in lay.columns:
        if c.name in drop:
            continue
        if c.is_pattern:
            out += [x for x in frame.columns if isinstance(x, str) and c.matches(x) and x not in out]
        elif c.name in frame.columns:
            out.append(c.name)
    return out


def default_section(c, s, name: str) -> None:
    """The section of analysis ``name`` from its registered title and declared result layers."""
    from ._content import _limited, frame_rows

    b, td, run = c.b, c.td, c.run
    s(run.title(name))
    layers = [lay for lay in _schema.for_analysis(name) if run.result(lay.name) is not None]
    if not layers:
        b.missing(run.why_missing(name))
        return
    for lay in layers:
        whole = run.result(lay.name)
        sub = td.result(lay.name)
        measure = _MEASURE.get(lay.geometry, "项")
        if sub is None:  # neither a township column nor geometry: a district-wide table
            b.para(f"{lay.title_zh}：全区共{len(whole)}{measure}，不分乡镇（街道），见成果表格 tables.xlsx（{lay.name}）。")
            continue
        if not len(sub):
            b.para(f"{c.town}范围内无{lay.title_zh}。")
            continue
        cols = columns(lay, sub)
        shown = cols[:MAX_COLUMNS]
        b.para(f"{c.town}范围内{lay.title_zh}{len(sub)}{measure}，见{b.next_table}。")
        show, note = _limited(b, sub, c.opts, lay.name)
        if len(cols) > len(shown):
            note = (note + " " if note else "") + f"表中列出前{len(shown)}个字段，其余字段见成果表格 tables.xlsx（{lay.name}）。"
        digits = {}
        for x in shown:
            col = _declared(lay, x)
            if col is not None and col.kind == "float":
                digits[x] = _DIGITS.get(col.unit)  # None: whole numbers as such, else 2 decimals
        rows = frame_rows(show, shown, digits)
        b.table(f"{c.town}{lay.title_zh}", [header(lay, x) for x in shown], rows, note=note,
                key=f"default_{lay.name}")


def default_sections(c, s) -> None:
    """A default section for every analysis of the run that has no hand-written one."""
    for name in default_analyses(c.run):
        default_section(c, s, name)
