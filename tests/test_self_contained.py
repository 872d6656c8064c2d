"""The test suite, scripts and docs never reach outside the repository (issue 16 §1)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("../shared", "/work/shared", "shared/data", "KZGIS_SHARED_DATA", "/work/main")


def _files():
    for sub in ("tests", "kzgis", "benchmarks", "docs", "analyses", ".ci", "qgis_plugin"):
        for p in (ROOT / sub).rglob("*"):
            if p.is_file() and p.suffix in {".py", ".md", ".yaml", ".yml", ".cfg", ".toml", ".txt", ""}:
                yield p
    for name in ("Makefile", "pyproject.toml", "README.md", "environment.yml"):
        yield ROOT / name


@pytest.mark.parametrize("needle", FORBIDDEN)
def test_nothing_refers_to_folders_outside_the_repository(needle):
    me = Path(__file__).resolve()
    hits = [str(p.relative_to(ROOT)) for p in _files()
            if p.resolve() != me and p.exists() and needle in p.read_text(encoding="utf-8", errors="replace")]
    assert hits == [], f"{needle!r} found in {hits}: copy the data into tests/data/ with a PROVENANCE line"


def test_every_test_data_file_has_a_provenance_line():
    text = (ROOT / "tests" / "data" / "PROVENANCE.md").read_text(encoding="utf-8")
    data = [p for p in (ROOT / "tests" / "data").rglob("*")
            if p.is_file() and p.name != "PROVENANCE.md" and p.suffix != ".py" and "__pycache__" not in p.parts]
    missing = [str(p.relative_to(ROOT / "tests" / "data")) for p in data if p.relative_to(ROOT / "tests" / "data").as_posix() not in text]
    assert missing == [], f"add these to tests/data/PROVENANCE.md: {missing}"
