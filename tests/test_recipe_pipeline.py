"""Recipe validation, the pipeline's skipping / atomic outputs, and the CLI."""

import gc
import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
import yaml
from shapely.geometry import Point, Polygon

from kzgis import AnalysisError, RecipeError, pipeline, recipe
from kzgis import analysis as an
from kzgis.cli import main

CRS = "EPSG:4545"
X0, Y0 = 537000.0, 3448000.0


@dataclass(frozen=True)
class _P:
    radius_m: float = 100.0
    breaks_min: tuple[float, ...] = (5.0, 10.0)
    fail: bool = False


@pytest.fixture
def toy_analyses():
    """Register two throw-away analyses for the duration of a test."""

    def buffer_hydrants(ctx, p):
        h = ctx.layers["hydrants"]
        if p.fail:
            raise ValueError("boom on purpose")
        return {"toy_buffers": gpd.GeoDataFrame({"r": [p.radius_m] * len(h)}, geometry=h.buffer(p.radius_m).values,
                                                crs=ctx.crs)}

    def needs_forest(ctx, p):
        return {"toy_forest": ctx.layers["forest"]}

    an.load_all()
    an.register("toy", title_zh="测试", needs=("hydrants",), params=_P, results=("toy_buffers",))(buffer_hydrants)
    an.register("toy_forest", title_zh="测试林地", needs=("forest",), params=_P)(needs_forest)
    yield
    an.REGISTRY.pop("toy", None)
    an.REGISTRY.pop("toy_forest", None)


def _write_case(tmp_path, analyses, outputs=None):
    layers = tmp_path / "layers"
    layers.mkdir(exist_ok=True)
    county = Polygon([(X0 - 1000, Y0 - 1000), (X0 + 1000, Y0 - 1000), (X0 + 1000, Y0 + 1000), (X0 - 1000, Y0 + 1000)])
    gpd.GeoDataFrame({"name": ["县"]}, geometry=[county], crs=CRS).to_file(layers / "county.gpkg")
    gpd.GeoDataFrame({"status": ["ok", "ok"]}, geometry=[Point(X0, Y0), Point(X0 + 50, Y0)], crs=CRS).to_file(
        layers / "hydrants.gpkg")
    rec = {"name": "toy", "crs": CRS,
           "layers": {"county": "layers/county.gpkg", "hydrants": {"path": "layers/hydrants.gpkg"}},
           "analyses": analyses, "outputs": outputs or {"dir": "out", "maps": False}}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("bad, message", [
    ({"layerz": {}}, "unknown key 'layerz' \\(did you mean 'layers'\\?\\)"),
    ({"analyses": {"acess": {}}}, "did you mean 'access'"),
    ({"outputs": {"mpas": True}}, "did you mean 'maps'"),
    ({"layers": {"road": "x.gpkg"}}, "did you mean 'roads'"),
    ({"layers": {"roads": {"paht": "x.gpkg"}}}, "did you mean 'path'"),
    ({"crs": "EPSG:99999999"}, "crs: cannot read CRS"),
])
def test_recipe_errors_name_key_and_suggest(tmp_path, bad, message):
    with pytest.raises(RecipeError, match=message):
        recipe.parse(bad, tmp_path)


def test_analysis_parameter_errors(tmp_path, toy_analyses):
    with pytest.raises(RecipeError, match="analyses.toy: unknown parameter 'radius' \\(did you mean 'radius_m'"):
        recipe.parse({"analyses": {"toy": {"radius": 5}}}, tmp_path)
    with pytest.raises(RecipeError, match="analyses.toy.radius_m: expected a number, got str"):
        recipe.parse({"analyses": {"toy": {"radius_m": "far"}}}, tmp_path)
    with pytest.raises(RecipeError, match=r"analyses.toy.breaks_min\[1\]: expected a number"):
        recipe.parse({"analyses": {"toy": {"breaks_min": [5, "x"]}}}, tmp_path)
    r = recipe.parse({"analyses": {"toy": {"breaks_min": [5, 15]}}}, tmp_path)
    assert r.analyses["toy"].breaks_min == (5.0, 15.0)


def test_pipeline_runs_skips_and_writes(tmp_path, toy_analyses):
    path = _write_case(tmp_path, {"toy": {"radius_m": 30}, "toy_forest": {}})
    res = pipeline.run(recipe.load(path))
    out = tmp_path / "out"
    assert res.ran == ["toy"]
    assert "no forest layer" in res.skipped["toy_forest"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"toy_buffers": 2}
    assert summary["parameters"]["toy"]["radius_m"] == {"value": 30.0, "source": "recipe"}
    assert summary["parameters"]["toy"]["breaks_min"]["source"] == "default"
    g = gpd.read_file(out / "results.gpkg", layer="toy_buffers")
    assert g.crs.to_epsg() == 4545
    assert g.area.iloc[0] == pytest.approx(3.14159 * 30 ** 2, rel=0.01)
    assert (out / "tables.xlsx").exists() and (out / "kzgis.log").exists()
    assert gc.get_freeze_count() == 0  # the run froze the long-lived objects for its duration only


def test_failed_step_leaves_previous_output_untouched(tmp_path, toy_analyses):
    path = _write_case(tmp_path, {"toy": {"radius_m": 30}})
    pipeline.run(recipe.load(path))
    before = (tmp_path / "out" / "summary.json").read_text(encoding="utf-8")
    path = _write_case(tmp_path, {"toy": {"fail": True}})
    with pytest.raises(AnalysisError, match="step 'toy' .*boom on purpose"):
        pipeline.run(recipe.load(path))
    assert gc.get_freeze_count() == 0
    assert (tmp_path / "out" / "summary.json").read_text(encoding="utf-8") == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert leftovers == []


def test_towns_unknown_is_an_error(tmp_path, toy_analyses):
    path = _write_case(tmp_path, {"toy": {}})
    layers = tmp_path / "layers"
    gpd.GeoDataFrame({"town": ["温泉镇"]}, geometry=[Point(X0, Y0).buffer(500)], crs=CRS).to_file(
        layers / "boundary.gpkg")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["layers"]["boundary"] = "layers/boundary.gpkg"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RecipeError, match="unknown township '温泉' \\(did you mean '温泉镇'"):
        pipeline.run(recipe.load(path), towns=["温泉"])


def test_cli_layers_check_exit_codes(tmp_path, capsys, toy_analyses):
    path = _write_case(tmp_path, {"toy": {}})
    assert main(["layers", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hydrants" in out and "0 error(s)" in out
    # break a layer: negative-volume pool
    layers = tmp_path / "layers"
    gpd.GeoDataFrame({"容积": [-5.0]}, geometry=[Point(X0, Y0)], crs=CRS).to_file(layers / "pools.gpkg")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["layers"]["fire_pools"] = "layers/pools.gpkg"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["layers", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "out-of-range" in out and "volume_m3" in out


def test_cli_run_bad_recipe_message(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text("analyses: {acces: {}}\n", encoding="utf-8")
    assert main(["run", str(path)]) == 2
    assert "did you mean 'access'" in capsys.readouterr().err


def test_environment_yml_matches_pyproject():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    py = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    extras = py["project"]["optional-dependencies"]
    deps = py["project"]["dependencies"] + extras["test"] + extras.get("bench", [])

    def name(spec):
        import re
        return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")

    env = yaml.safe_load((root / "environment.yml").read_text(encoding="utf-8"))
    conda = {name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    for d in env["dependencies"]:
        if isinstance(d, dict):
            conda |= {name(x) for x in d.get("pip", [])}
    assert {name(d) for d in deps} == conda


def test_gpkg_writer_keeps_text_and_repeated_feature_ids(tmp_path):
    """GeoPackage reserves 'fid': user ids such as 'H-1' (or repeated ids) must still be written."""
    import pandas as pd

    g = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[Point(X0, Y0), Point(X0 + 1, Y0)], crs=CRS,
                         index=pd.Index(["H-1", "H-1"], name="fid"))
    pipeline.write_gpkg({"h": g, "t": pd.DataFrame({"fid": [5, 5], "b": [1, 2]})}, tmp_path / "r.gpkg", CRS)
    back = gpd.read_file(tmp_path / "r.gpkg", layer="h")
    assert list(back["feature_id"]) == ["H-1", "H-1"]
    assert back.crs.to_epsg() == 4545
    t = gpd.read_file(tmp_path / "r.gpkg", layer="t")
    assert list(t["feature_id"]) == [5, 5]


def test_cli_analyses_lists_parameters(capsys):
    assert main(["analyses", "water"]) == 0
    out = capsys.readouterr().out
    assert "needs layers : roads, hydrants or fire_pools or water_intakes" in out
    assert "hydrant_reach_m = 150.0" in out
    assert main(["analyses", "wter"]) == 2
    assert "did you mean 'water'" in capsys.readouterr().err


def test_memory_release_helpers_are_harmless_and_the_environment_wins(monkeypatch):
    from kzgis import _memory

    _memory.release_memory()  # collects and trims; nothing to see but that it runs anywhere
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert _memory.limit_arenas(2) is False  # the user's MALLOC_ARENA_MAX is left as it is


def test_trimmer_thread_runs_only_while_in_use_and_is_shared():
    import threading
    import time

    from kzgis import _memory

    def running():
        return sum(t.name == "kzgis-trimmer" for t in threading.enumerate())

    before = running()
    with _memory.Trimmer(period_s=0.01, grow_mb=0.0):
        with _memory.Trimmer(period_s=0.01, grow_mb=0.0):  # nested: still one thread
            blob = bytearray(64 * 2**20)
            del blob
            time.sleep(0.05)
            inside = running()
    deadline = time.time() + 2.0
    while running() > before and time.time() < deadline:
        time.sleep(0.01)
    assert inside == before + (1 if _memory.can_trim() else 0)
    assert running() == before  # stopped when the last user left
