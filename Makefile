# kzgis: two commands for a new user.
#   make demo   creates .venv if missing, installs kzgis, runs the Kaizhou demo recipe
#   make test   installs the test dependencies into the same venv and runs every test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= out/kaizhou

.PHONY: demo test bench install install-test clean qgis-plugin

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(VENV)/bin/kzgis demo --out $(OUT)

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

bench: $(VENV)/.installed-test
	$(PY) -m benchmarks

qgis-plugin:  ## dist/kzgis_qgis-<version>.zip for QGIS's Plugins > Install from ZIP
	$(PYTHON) qgis_plugin/build_zip.py dist

clean:
	rm -rf out maps/*.html tests/_artifacts
