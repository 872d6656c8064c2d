# kzgis: two commands for a new user.
#   make demo   creates .venv if missing, installs kzgis, runs the Kaizhou demo recipe
#   make test   installs the test dependencies into the same venv and runs every test (ruff and mypy included)
#   make bench, make bench-county EDGES=25k,50k,100k   benchmarks (not tests)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= out/kaizhou

.PHONY: demo test lint bench bench-county install install-test clean qgis-plugin

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(VENV)/bin/kzgis demo --out $(OUT)

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

# ruff + mypy alone (make test runs them too, in tests/test_code_style.py)
lint: $(VENV)/.installed-test
	$(PY) -m ruff check kzgis tests benchmarks qgis_plugin
	$(PY) -m mypy

bench: $(VENV)/.installed-bench
	$(PY) -m benchmarks

# the demo recipe on the demo county densified to EDGES road edges (25k, 50k, 100k, 200k; several
# comma-separated sizes also fit the growth exponent), in a temporary folder
EDGES ?= 100k
bench-county: $(VENV)/.installed-test
	$(PY) -m benchmarks.bench_county --sizes $(EDGES)

qgis-plugin:  ## dist/kzgis_qgis-<version>.zip for QGIS's Plugins > Install from ZIP
	$(PYTHON) qgis_plugin/build_zip.py dist

clean:
	rm -rf out maps/*.html tests/_artifacts
