"""The result schema as documentation (issue 16 §3): the Returns sections of the public API's
docstrings and ``docs/results.md`` (``kzgis analyses --markdown``), both rendered from
:mod:`kzgis.schema` and the analysis registry, so they never disagree with the results."""

from __future__ import annotations

import textwrap

from . import analysis as _analysis
from . import schema as _schema

#: what ``docs/results.md`` is written by (the test compares the file with :func:`markdown`)
COMMAND = "kzgis analyses --markdown > docs/results.md"
_PATTERN_NOTE = "{n}: one column per time break (15, 7_5); {what}: population or settlements"


def _column_text(c: _schema.Column) -> str:
    unit = f", {c.unit}" if c.unit else ""
    return f"``{c.name}`` ({c.kind}{unit})"


def layer_doc(layer: _schema.ResultLayer, indent: str = "", drop: tuple[str, ...] = ()) -> str:
    """One result layer as a reST bullet: name, geometry, Chinese title, description, columns."""
    geom = layer.geometry or "table"
    cols = [c for c in layer.columns if c.name not in drop]
    tokens = f"- ``{layer.name}`` ({geom}, {layer.title_zh}): {layer.description} Columns:".split()
    tokens += [_column_text(c) + ("," if i < len(cols) - 1 else ".") for i, c in enumerate(cols)]
    return _wrap(tokens, indent, indent + "  ")


def _wrap(tokens: list[str], first: str, rest: str, width: int = 100) -> str:
    """Tokens joined by spaces into lines of at most ``width`` characters, never breaking a token."""
    lines, line = [], first
    for t in tokens:
        if line.strip() and len(line) + 1 + len(t) > width:
            lines.append(line)
            line = rest + t
        else:
            line = line + (" " if line.strip() else "") + t
    lines.append(line)
    return "\n".join(lines)


def returns_doc(analysis: str, *, layers: tuple[str, ...] | None = None, drop: tuple[str, ...] = (),
                indent: str = "        ") -> str:
    """The result layers of ``analysis`` (or only ``layers``) as the body of a numpydoc Returns entry."""
    lays = [lay for lay in _schema.for_analysis(analysis) if layers is None or lay.name in layers]
    if not lays:
        spec = _analysis.get(analysis)
        return textwrap.fill("Result layers: " + ", ".join(f"``{n}``" for n in spec.results) + ".", 100,
                             initial_indent=indent, subsequent_indent=indent)
    out = [f"{indent}Listed from the result schema (:mod:`kzgis.schema`, ``kzgis analyses {analysis}``):", ""]
    out += [layer_doc(lay, indent, drop) for lay in lays]
    if any(c.is_pattern and c.name not in drop for lay in lays for c in lay.columns):
        out += ["", f"{indent}({_PATTERN_NOTE})"]
    return "\n".join(out)


def add_returns(func, analysis: str, **options) -> None:
    """Insert the schema listing of ``analysis`` into ``func``'s Returns section (before Examples)."""
    doc = func.__doc__ or ""
    mark = "\n    Examples\n    --------"
    i = doc.find(mark)
    if i < 0 or "\n    Returns\n    -------" not in doc[:i]:
        raise ValueError(f"{func.__name__}: the docstring needs a Returns section before Examples")
    func.__doc__ = doc[:i].rstrip() + "\n\n" + returns_doc(analysis, **options) + "\n" + doc[i:]


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _api_functions() -> set[str]:
    from . import api

    return {n for n in api.__all__ if n in _analysis.REGISTRY}


def markdown(names: list[str] | None = None) -> str:
    """The reference of every analysis's result layers and default rules, as Markdown (``docs/results.md``)."""
    reg = _analysis.load_all()
    names = list(reg) if names is None else names
    out = ["# Result layers", "",
           f"Generated from the result schema (`kzgis/schema.py`) and the rules (`kzgis/rules.py`) by "
           f"`{COMMAND}`; do not edit by hand (`tests/test_schema_doc.py` fails when it is out of date).",
           "Every layer is named as in `results.gpkg` and as the key of the dict the Python API returns.", ""]
    for name in names:
        spec = reg[name]
        needs = list(spec.needs) + [" or ".join(g) for g in spec.needs_any]
        out += [f"## {name} — {spec.title_zh}", "",
                f"Needs layers: {', '.join(needs) or '-'}"
                + (f"; uses if given: {', '.join(spec.optional)}" if spec.optional else "") + ".", ""]
        if name in _api_functions():
            out += [f"Python: `kzgis.{name}(...)` returns these layers (`help(kzgis.{name})`), as does "
                    f"`kzgis.analyse(\"{name}\", ...)`.", ""]
        else:
            out += [f"Python: `kzgis.analyse(\"{name}\", layer_kind=GeoDataFrame, ..., parameter=value)` "
                    "returns these layers.", ""]
        lays = _schema.for_analysis(name)
        for lay in lays:
            out += [f"### `{lay.name}` — {lay.title_zh} ({lay.geometry or 'table'})", "", _md(lay.description), "",
                    "| column | type | unit | 中文 | description |", "|---|---|---|---|---|"]
            for c in lay.columns:
                desc = _md(c.description) + (" (only with some inputs)" if c.optional else "")
                out.append(f"| `{c.name}` | {c.kind} | {c.unit} | {_md(c.label_zh)} | {desc} |")
            out.append("")
        if any(c.is_pattern for lay in lays for c in lay.columns):
            out += [f"({_PATTERN_NOTE})", ""]
        undeclared = [n for n in spec.results if n not in {lay.name for lay in lays}]
        if undeclared:
            out += [f"Not declared in the schema yet: {', '.join(f'`{n}`' for n in undeclared)}.", ""]
        recs = spec.in_force(spec.params())
        if recs:
            out += ["Defaults from the rules and the method (parameters of `analyses: "
                    f"{name}:`; A = assumption of kzgis):", "",
                    "| parameter | default | unit | 中文 | source | confidence |", "|---|---|---|---|---|---|"]
            out += [f"| `{r.key}` | {_value(r.value)} | {r.unit} | {_md(r.text_zh)} | {_md(r.source)} | {r.confidence} |"
                    for r in recs]
            out.append("")
    if names == list(reg):
        from .network import NetworkParams

        out += ["## network — 道路网络", "", "The recipe's `network:` section (every analysis that routes on roads):", "",
                "| parameter | default | unit | 中文 | source | confidence |", "|---|---|---|---|---|---|"]
        out += [f"| `{r.key}` | {_value(r.value)} | {r.unit} | {_md(r.text_zh)} | {_md(r.source)} | {r.confidence} |"
                for r in NetworkParams().in_force()]
    return "\n".join(out).rstrip("\n") + "\n"


__all__ = ["add_returns", "layer_doc", "markdown", "returns_doc", "COMMAND"]
