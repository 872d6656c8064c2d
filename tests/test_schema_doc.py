"""The result schema as documentation (issue 16 §3): API docstrings and docs/results.md render from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kzgis
import kzgis.api
from kzgis import _schema_doc, analysis, cli, schema

ROOT = Path(__file__).resolve().parents[1]
SPECS = analysis.load_all()
API = sorted(n for n in kzgis.api.__all__ if n in SPECS)


def test_docs_results_md_is_up_to_date():
    path = ROOT / "docs" / "results.md"
    want = _schema_doc.markdown()
    have = path.read_text(encoding="utf-8") if path.exists() else ""
    assert have == want, f"docs/results.md is out of date with kzgis/schema.py or kzgis/rules.py: run {_schema_doc.COMMAND}"


def test_docs_results_md_lists_every_layer_column_and_default_rule():
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    for name, spec in SPECS.items():
        assert f"## {name} — {spec.title_zh}" in text
        for lay in schema.for_analysis(name):
            section = text.split(f"### `{lay.name}` — ", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
            for c in lay.columns:
                assert f"| `{c.name}` | {c.kind} | {c.unit} |" in section, (lay.name, c.name)
        for r in spec.in_force(spec.params()):
            assert f"| `{r.key}` | " in text.split(f"## {name} — ", 1)[1].split("\n## ", 1)[0], (name, r.key)


def test_the_cli_prints_the_same_markdown(capsys):
    assert cli.main(["analyses", "--markdown", "water"]) == 0
    assert capsys.readouterr().out == _schema_doc.markdown(["water"])


@pytest.mark.parametrize("name", API)
def test_api_docstring_lists_the_result_layers_from_the_schema(name):
    doc = getattr(kzgis, name).__doc__
    returns = doc.split("\n    Returns\n    -------\n", 1)[1].split("\n    Examples\n", 1)[0]
    lays = schema.for_analysis(name)
    assert lays, f"{name}: no result layer declared"
    for lay in lays:
        m = re.search(rf"- ``{lay.name}`` \((\w+), {lay.title_zh}\): (.*?)(?=\n        - |\Z)", returns, re.S)
        assert m, (name, lay.name)
        assert m.group(1) == (lay.geometry or "table")
        body = " ".join(m.group(2).split())
        for c in lay.columns:
            assert f"``{c.name}`` ({c.kind}{', ' + c.unit if c.unit else ''})" in body, (lay.name, c.name)


def test_isochrones_docstring_lists_its_one_layer_without_ring():
    returns = kzgis.isochrones.__doc__.split("\n    Returns\n", 1)[1].split("\n    Examples\n", 1)[0]
    assert "``response_isochrones`` (Polygon" in returns and "``response_zones``" not in returns
    assert "``break_min`` (float, min)" in returns and "``ring`` (str)" not in returns


def test_a_function_without_a_returns_section_is_refused():
    def f():
        """Nothing.

        Examples
        --------
        >>> 1
        1
        """

    with pytest.raises(ValueError, match="needs a Returns section"):
        _schema_doc.add_returns(f, "access")
