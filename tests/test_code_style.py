"""Code a newcomer can carry on (issue 16 §4): lint, types, and two house rules ruff cannot express.

- ruff with the agreed rule set (``[tool.ruff]`` in pyproject.toml; numpy docstrings on the public API);
- mypy on the typed core (``[tool.mypy] files``: the network engine and the public API);
- no single-letter module aliases (``from . import styles as S``): write the module's name;
- no use of another module's private attributes (``net._u``, ``_display._safe_json``): make them public
  (a property, a function without the underscore) where others need them.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("kzgis", "tests", "benchmarks", "qgis_plugin")


def _py_files(*dirs):
    for d in dirs:
        for p in sorted((ROOT / d).rglob("*.py")):
            if "_artifacts" not in p.parts:
                yield p


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff not installed (pip install -e .[test])")
def test_ruff():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *SOURCES], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, f"ruff found problems (fix them, or `ruff check --fix`):\n{out.stdout}{out.stderr}"


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed (pip install -e .[test])")
def test_mypy():
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, f"mypy:\n{out.stdout}{out.stderr}"


def test_no_single_letter_module_aliases():
    bad = []
    for p in _py_files(*SOURCES):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    if a.asname and len(a.asname.strip("_")) == 1:
                        bad.append(f"{p.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert bad == [], "write the module's name instead of a one-letter alias:\n" + "\n".join(bad)


def _private_attrs_by_module() -> dict[str, set[str]]:
    """For each kzgis module: the private attributes it sets on ``self`` and its private top-level names."""
    own: dict[str, set[str]] = {}
    for p in _py_files("kzgis"):
        names: set[str] = set()
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name) and node.value.id == "self"):
                names.add(node.attr)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        own[str(p.relative_to(ROOT))] = {n for n in names if n.startswith("_") and not n.startswith("__")}
    return own


def test_no_private_names_of_imported_kzgis_modules():
    """``mod._name`` where ``mod`` is a kzgis module imported by name (``from . import _display``)."""
    bad = []
    for p in _py_files("kzgis"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                   and (n.level > 0 or (n.module or "").startswith("kzgis")) for a in n.names}
        modules |= {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                    for a in n.names if a.name.startswith("kzgis")}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                bad.append(f"{p.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert bad == [], "private names of other kzgis modules (make them public where needed):\n" + "\n".join(bad)


def test_no_private_attributes_of_other_modules():
    """``x._name`` where ``_name`` is private to another kzgis module (set there on self, or defined there)."""
    own = _private_attrs_by_module()
    bad = []
    for p in _py_files("kzgis", "tests", "benchmarks"):
        rel = str(p.relative_to(ROOT))
        mine = own.get(rel, set())
        others = set().union(*(v for k, v in own.items() if k != rel)) - mine
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in others
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                bad.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    if any(b.startswith("kzgis/") for b in bad):
        pytest.fail("private attributes used across modules (make them public where needed):\n"
                    + "\n".join(b for b in bad if b.startswith("kzgis/")))
