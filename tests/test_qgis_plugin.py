"""The QGIS Processing provider (qgis_plugin/kzgis_qgis) and the QML styles it loads (issue 19).

The QGIS-free half (the algorithm table, recipes, running kzgis) is tested in this Python; the
provider itself runs in Debian's QGIS (``qgis_process.bin`` and QgsApplication offscreen under the
system ``/usr/bin/python3``), skipped with the reason when QGIS is not installed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _build import CRS, L, P

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "qgis_plugin" / "kzgis_qgis"
sys.path.insert(0, str(PLUGIN.parent))
from kzgis_qgis import runner  # noqa: E402  (QGIS-free module)

QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"
HAVE_QGIS = Path(QGIS_PROCESS).exists() and Path("/usr/bin/python3").exists()
needs_qgis = pytest.mark.skipif(not HAVE_QGIS, reason="QGIS is not installed (apt-get install qgis python3-qgis)")


def tiny_world(folder: Path) -> dict:
    """A 3-road village: a station at the west end, two settlements, roads 6 m / 3.5 m / 2 m wide."""
    folder.mkdir(parents=True, exist_ok=True)
    roads = gpd.GeoDataFrame(
        {"路面宽度": [6.0, 3.5, 2.0], "道路名称": ["主路", "支路", "小路"]},
        geometry=[L((0, 0), (1000, 0)), L((1000, 0), (1000, 800)), L((1000, 0), (1600, 0))], crs=CRS)
    settlements = gpd.GeoDataFrame(
        {"名称": ["上村", "下村"], "人口": [320, 150]}, geometry=[P(1000, 790), P(1590, 10)], crs=CRS)
    stations = gpd.GeoDataFrame({"名称": ["温泉专职队"], "状态": ["existing"]}, geometry=[P(5, 5)], crs=CRS)
    paths = {}
    for name, gdf in (("roads", roads), ("settlements", settlements), ("stations", stations)):
        paths[name] = folder / f"{name}.gpkg"
        gdf.to_file(paths[name])
    return paths


def kzgis_env():
    env = dict(os.environ)
    env["KZGIS_PYTHONPATH"] = str(ROOT)
    env["PYTHONPATH"] = str(ROOT)
    env["KZGIS_PYTHON"] = sys.executable
    return env


# ------------------------------------------------------------------------------------------------
# the algorithm table agrees with kzgis


def test_every_algorithm_matches_its_kzgis_analysis():
    from kzgis import analysis
    from kzgis.layers import ALL_KINDS, KINDS

    reg = analysis.load_all()
    for name, algo in runner.ALGORITHMS.items():
        spec = reg[name]
        assert set(algo.needs) == set(spec.needs), name
        assert {frozenset(g) for g in algo.needs_any} == {frozenset(g) for g in spec.needs_any}, name
        offered = set(algo.needs) | set(algo.optional) | {k for g in algo.needs_any for k in g}
        wanted = set(spec.needs) | set(spec.optional) | {k for g in spec.needs_any for k in g}
        assert offered == wanted, (name, offered ^ wanted)
        defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                    for f in dataclasses.fields(spec.params)}
        for num in algo.numbers:
            assert num.name in defaults, (name, num.name)
            assert defaults[num.name] == pytest.approx(num.default), (name, num.name)
    for kind, fields in runner.LAYER_FIELDS.items():
        assert kind in ALL_KINDS
        assert {f.canonical for f in fields} <= {f.name for f in KINDS[kind].fields}, kind
    for kind in runner.LAYER_TITLES_ZH:
        assert kind in ALL_KINDS, kind


def test_every_result_layer_has_a_chinese_title():
    """QGIS names the loaded layers from kzgis's map styles (styles.json): every spatial result has one."""
    from kzgis import analysis, schema
    from kzgis.maps import styles

    for spec in analysis.load_all().values():
        for layer in spec.results:
            if schema.LAYERS[layer].geometry is not None:
                assert styles.rule_for(layer).get("title", layer) != layer, layer


@pytest.mark.parametrize("text, expected", [
    ("", {}),
    ("max_upgrades: 5", {"max_upgrades": 5}),
    ("rank_by=population; upgrade_width_m = 4.5", {"rank_by": "population", "upgrade_width_m": 4.5}),
    ("breaks_min: [5, 10]\nrings: false", {"breaks_min": [5, 10], "rings": False}),
    ('{"siting": "mclp", "siting_k": 2}', {"siting": "mclp", "siting_k": 2}),
])
def test_other_parameters_box(text, expected):
    assert runner.parse_extra(text) == expected


@pytest.mark.parametrize("text, message", [("just words", "not of the form"), ("{bad json", "not a valid JSON")])
def test_other_parameters_box_errors(text, message):
    with pytest.raises(runner.KzgisRunError, match=message):
        runner.parse_extra(text)


def test_missing_layer_is_named():
    with pytest.raises(runner.KzgisRunError, match="needs the layer.*stations"):
        runner.build_recipe("access", [runner.LayerInput("roads", "r.gpkg"),
                                       runner.LayerInput("settlements", "s.gpkg")], {})
    with pytest.raises(runner.KzgisRunError, match="hydrants or fire_pools or water_intakes"):
        runner.build_recipe("water", [runner.LayerInput("roads", "r.gpkg")], {})


def test_find_python_explains_what_to_set(monkeypatch, tmp_path):
    monkeypatch.delenv("KZGIS_PYTHON", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(runner.KzgisRunError, match="KZGIS_PYTHON"):
        runner.find_python(None)
    with pytest.raises(runner.KzgisRunError, match="does not exist"):
        runner.find_python(str(tmp_path / "nope" / "python"))
    assert runner.find_python(sys.executable) == sys.executable


def test_recipe_written_by_the_plugin_runs_like_the_cli(tmp_path):
    """The plugin's recipe + runner give the same results.gpkg as a hand-written recipe through the CLI."""
    w = tiny_world(tmp_path / "data")
    layers = [runner.LayerInput("roads", str(w["roads"]), {"width_m": "路面宽度", "name": "道路名称"}),
              runner.LayerInput("settlements", str(w["settlements"]), {"name": "名称", "population": "人口"}),
              runner.LayerInput("stations", str(w["stations"]), {"name": "名称", "status": "状态"})]
    rec = runner.build_recipe("access", layers, {"max_upgrades": 5}, maps=False)
    path = runner.write_recipe(rec, tmp_path / "recipe.yaml")
    lines, progress = [], []
    summary = runner.run_kzgis(sys.executable, path, tmp_path / "out", on_line=lines.append,
                               on_progress=progress.append, env=kzgis_env())
    assert summary["ran"] == ["access"]
    assert progress[-1] == 100.0 and any("running access" in ln for ln in lines)
    got = gpd.read_file(tmp_path / "out" / "results.gpkg", layer="access_settlements")
    assert list(got["name"]) == ["上村", "下村"]
    # 上村 is on the 3.5 m lane (small truck), 下村 on the 2 m path (motorcycle)
    assert list(got["best_vehicle"]) == ["small", "motorcycle"]
    styles = runner.write_styles(sys.executable, tmp_path / "out", env=kzgis_env())
    assert "access_roads" in styles and styles["access_roads"]["title"] == "道路消防车通行能力"


def test_kzgis_errors_reach_the_user_without_traceback(tmp_path):
    rec = {"name": "bad", "layers": {"roads": {"path": str(tmp_path / "missing.gpkg")}},
           "analyses": {"access": {}}, "outputs": {"maps": False, "report": False}}
    path = runner.write_recipe(rec, tmp_path / "recipe.yaml")
    with pytest.raises(runner.KzgisRunError) as info:
        runner.run_kzgis(sys.executable, path, tmp_path / "out", env=kzgis_env())
    msg = str(info.value)
    assert "missing.gpkg" in msg or "settlements" in msg
    assert "Traceback" not in msg


# ------------------------------------------------------------------------------------------------
# QML styles from the map rules


def test_qml_rules_follow_the_map_legend(tmp_path):
    from kzgis.maps import styles as map_styles
    from kzgis.qgis_styles import layer_rules, qml

    gdf = gpd.GeoDataFrame({"vehicle_class": ["standard", "small", "none", "small"], "width_m": [6, 3.5, 1, 3]},
                           geometry=[L((0, 0), (1, 0))] * 4, crs=CRS)
    rules = layer_rules("access_roads", gdf, "line")
    assert [r[1] for r in rules] == [lab for lab, _ in map_styles.classify("access_roads", gdf, "line").legend]
    assert rules[0][0] == "to_string(\"vehicle_class\") = 'standard'"
    doc = ET.fromstring(qml("access_roads", gdf, "line").split("\n", 1)[1])
    assert len(doc.findall(".//rule")) == 3 and len(doc.findall(".//symbol")) == 3
    colours = [p.get("v") for p in doc.iter("prop") if p.get("k") == "line_color"]
    assert colours[0].startswith("26,152,80")  # #1a9850, the HTML map's standard-truck green
    aliases = {a.get("field"): a.get("name") for a in doc.iter("alias")}
    assert aliases["width_m"] != "width_m"  # a Chinese label


def test_qml_booleans_and_exclusions(tmp_path):
    from kzgis.qgis_styles import layer_rules

    dead = gpd.GeoDataFrame({"turnaround": [True, False]}, geometry=[L((0, 0), (1, 0))] * 2, crs=CRS)
    assert [r[0] for r in layer_rules("access_dead_ends", dead, "line")] == ['"turnaround" = 0', '"turnaround" = 1']
    iso = gpd.GeoDataFrame({"break_min": [5.0, 10.0], "ring": ["0-5", "disk"]},
                           geometry=[P(0, 0).buffer(5)] * 2, crs=CRS)
    exprs = [r[0] for r in layer_rules("response_isochrones", iso, "polygon")]
    assert all("NOT (to_string(\"ring\") = 'disk')" in e for e in exprs)


# ------------------------------------------------------------------------------------------------
# the plugin zip and the provider inside QGIS


def test_plugin_zip_has_the_plugin_folder(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "qgis_plugin" / "build_zip.py"), str(tmp_path)],
                         capture_output=True, text=True, check=True)
    z = Path(out.stdout.strip())
    names = zipfile.ZipFile(z).namelist()
    assert "kzgis_qgis/metadata.txt" in names and "kzgis_qgis/__init__.py" in names
    assert "kzgis_qgis/icon.png" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    meta = zipfile.ZipFile(z).read("kzgis_qgis/metadata.txt").decode("utf-8")
    assert "hasProcessingProvider=yes" in meta and "qgisMinimumVersion=3.22" in meta


def qgis_env(tmp_path, plugin_parent: Path):
    env = kzgis_env()
    env.update({"QT_QPA_PLATFORM": "offscreen", "QGIS_PLUGINPATH": str(plugin_parent),
                "XDG_RUNTIME_DIR": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home"),
                "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "profile")})
    (tmp_path / "xdg").mkdir(mode=0o700, exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    env.pop("PYTHONHOME", None)
    # QGIS's own Python must not see this virtualenv's packages
    env["PYTHONPATH"] = ""
    return env


def qgis_process(args, env, timeout=600):
    return subprocess.run([QGIS_PROCESS, *args], capture_output=True, text=True, env=env, timeout=timeout)


def enable_plugin(env):
    """A new profile knows the plugin but has not enabled it: ``qgis_process plugins enable`` (as a user would)."""
    res = qgis_process(["plugins", "enable", "kzgis_qgis"], env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


@needs_qgis
def test_qgis_process_lists_the_provider_from_the_plugin_zip(tmp_path):
    """The zip unpacked into a clean profile's plugin folder is found and lists every algorithm."""
    out = subprocess.run([sys.executable, str(ROOT / "qgis_plugin" / "build_zip.py"), str(tmp_path)],
                         capture_output=True, text=True, check=True)
    plugins = tmp_path / "profile" / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    zipfile.ZipFile(out.stdout.strip()).extractall(plugins)
    env = qgis_env(tmp_path, plugins)
    enable_plugin(env)
    res = qgis_process(["list"], env)
    assert res.returncode == 0, res.stderr[-2000:]
    for name in [*runner.ALGORITHMS, "recipe"]:
        assert f"kzgis:{name}" in res.stdout, res.stdout[-3000:]


@needs_qgis
def test_qgis_process_access_equals_the_cli(tmp_path):
    w = tiny_world(tmp_path / "data")
    env = qgis_env(tmp_path, PLUGIN.parent)
    env["KZGIS_PYTHON"] = sys.executable
    env["KZGIS_PYTHONPATH"] = str(ROOT)
    enable_plugin(env)
    res = qgis_process(["run", "kzgis:access", "--",
                        f"ROADS={w['roads']}", f"SETTLEMENTS={w['settlements']}", f"STATIONS={w['stations']}",
                        "ROADS_WIDTH_M=路面宽度", "SETTLEMENTS_NAME=名称", "SETTLEMENTS_POPULATION=人口",
                        "STATIONS_NAME=名称", "STATIONS_STATUS=状态", "MAPS=false",
                        f"OUTPUT_FOLDER={tmp_path / 'qgis_out'}"], env)
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    assert "Traceback" not in res.stdout + res.stderr
    # the same analysis through the CLI on the same files
    recipe = tmp_path / "cli.yaml"
    recipe.write_text(json.dumps({
        "name": "cli", "layers": {
            "roads": {"path": str(w["roads"]), "fields": {"width_m": "路面宽度"}},
            "settlements": {"path": str(w["settlements"]), "fields": {"name": "名称", "population": "人口"}},
            "stations": {"path": str(w["stations"]), "fields": {"name": "名称", "status": "状态"}}},
        "analyses": {"access": {}}, "outputs": {"maps": False, "report": False}}, ensure_ascii=False),
        encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "kzgis", "run", str(recipe), "--out", str(tmp_path / "cli_out"),
                          "--quiet"], capture_output=True, text=True, env=kzgis_env())
    assert cli.returncode == 0, cli.stderr
    for layer in ("access_settlements", "access_roads"):
        a = gpd.read_file(tmp_path / "qgis_out" / "results.gpkg", layer=layer).drop(columns="geometry")
        b = gpd.read_file(tmp_path / "cli_out" / "results.gpkg", layer=layer).drop(columns="geometry")
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert (tmp_path / "qgis_out" / "qgis" / "access_roads.qml").exists()


@needs_qgis
def test_provider_in_qgis_loads_styled_layers_and_reports_errors(tmp_path):
    """QgsApplication offscreen (QGIS's own Python): run kzgis:access, check the layers it loads."""
    w = tiny_world(tmp_path / "data")
    script = tmp_path / "inside_qgis.py"
    script.write_text(f'''
import json, sys
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
sys.path.insert(0, "/usr/share/qgis/python/plugins")
sys.path.insert(0, {str(PLUGIN.parent)!r})
import processing
from processing.core.Processing import Processing
Processing.initialize()
from kzgis_qgis.plugin import KzgisPlugin
plugin = KzgisPlugin(None)
plugin.initProcessing()
out = {{}}
ctx = QgsProcessingContext()
ctx.setProject(QgsProject.instance())
fb = QgsProcessingFeedback()
roads = QgsVectorLayer({str(w["roads"])!r}, "roads", "ogr")
roads.selectByIds([1, 2])   # the main road and the lane, not the 2 m path
res = processing.run("kzgis:access", {{"ROADS": roads, "SETTLEMENTS": {str(w["settlements"])!r},
    "STATIONS": {str(w["stations"])!r}, "ROADS_WIDTH_M": "路面宽度", "SETTLEMENTS_NAME": "名称",
    "STATIONS_NAME": "名称", "SELECTED_ONLY": True, "MAPS": False,
    "OUTPUT_FOLDER": {str(tmp_path / "out")!r}}}, context=ctx, feedback=fb)
out["layers"] = res["LAYERS"].split(",")
details = ctx.layersToLoadOnCompletion()
names = {{}}
for lid, d in details.items():
    lyr = ctx.getMapLayer(lid)
    names[d.outputName] = [d.name, lyr.renderer().type() if lyr.renderer() else None, lyr.featureCount(),
                           lyr.attributeAlias(lyr.fields().indexOf("name"))]
out["loaded"] = names
try:
    processing.run("kzgis:access", {{"ROADS": {str(w["roads"])!r}, "SETTLEMENTS": {str(w["settlements"])!r},
        "STATIONS": {str(w["stations"])!r}, "OTHER_PARAMETERS": "rank_byy: population",
        "OUTPUT_FOLDER": {str(tmp_path / "out2")!r}}}, context=QgsProcessingContext(), feedback=fb)
    out["error"] = None
except Exception as exc:
    out["error"] = str(exc)
print("RESULT" + json.dumps(out, ensure_ascii=False))
app.exitQgis()
''', encoding="utf-8")
    env = qgis_env(tmp_path, PLUGIN.parent)
    env["KZGIS_PYTHON"] = sys.executable
    env["KZGIS_PYTHONPATH"] = str(ROOT)
    res = subprocess.run(["/usr/bin/python3", str(script)], capture_output=True, text=True, env=env, timeout=600)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")]
    assert line, (res.stdout[-3000:], res.stderr[-3000:])
    out = json.loads(line[0][len("RESULT"):])
    loaded = out["loaded"]
    assert loaded["access_settlements"][0] == "居民点消防车可达性"
    assert loaded["access_settlements"][1] == "RuleRenderer"
    assert loaded["access_roads"][2] == 2  # only the selected roads went to kzgis
    assert loaded["access_settlements"][3] not in ("", "name")  # Chinese alias
    assert "rank_by" in out["error"] and "Traceback" not in out["error"]
    got = gpd.read_file(tmp_path / "out" / "results.gpkg", layer="access_settlements")
    assert got.set_index("name").loc["下村", "best_vehicle"] in ("none", "motorcycle")


def test_algorithms_come_from_the_installed_kzgis():
    """The provider asks kzgis for its analyses: every registered one, every numeric parameter, and the
    built-in fallback table agrees with it."""
    from kzgis import analysis

    algos = runner.algorithms_from_kzgis(sys.executable, env=kzgis_env())
    assert set(algos) == set(analysis.load_all())
    access = algos["access"]
    nums = {n.name: n for n in access.numbers}
    assert nums["upgrade_width_m"].default == 4.0 and nums["upgrade_width_m"].label_zh == "道路拓宽目标宽度（米）"
    assert nums["max_upgrades"].integer
    for name, static in runner.ALGORITHMS.items():
        dyn = algos[name]
        def offered(a):
            return set(a.optional) | {k for g in a.needs_any for k in g}

        assert (set(static.needs), offered(static)) == (set(dyn.needs), offered(dyn)), name
        dnums = {n.name: n.default for n in dyn.numbers}
        for n in static.numbers:
            assert dnums[n.name] == pytest.approx(n.default), (name, n.name)
