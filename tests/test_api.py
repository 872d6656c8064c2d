"""The public Python API (issue 16 §2): GeoDataFrames in, the recipe's validation and results out."""

from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml

import kzgis
import kzgis.api
import kzgis.demo.tiny
from kzgis import CRSError, LayerError, RecipeError, pipeline, recipe
from kzgis.demo import tiny_world

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world():
    return tiny_world()


@pytest.mark.parametrize("module", [kzgis.api, kzgis.demo.tiny])
def test_docstring_examples_run(module, tmp_path):
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, extraglobs={"tmp": tmp_path})
    assert sum(len(t.examples) for t in tests) >= 3
    for t in tests:
        runner.run(t)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} docstring example(s) of {module.__name__} failed (see output)"


def test_every_public_function_has_a_numpydoc_examples_section():
    for name in kzgis.api.__all__:
        obj = getattr(kzgis, name)
        doc = obj.__doc__ or ""
        assert "Parameters\n" in doc or name in ("Results", "RoadNetwork"), name
        if callable(obj) and name not in ("Results", "RoadNetwork", "run"):
            assert "Examples\n    --------" in doc, name


def _write_world(world, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind in ("roads", "settlements", "stations", "boundary"):
        p = folder / f"{kind}.gpkg"
        world[kind].to_file(p)
        paths[kind] = p
    return paths


def test_access_gives_what_the_recipe_run_gives(world, tmp_path):
    """The same data through a recipe file and through kzgis.access: identical result values."""
    paths = _write_world(world, tmp_path / "layers")
    rec = {"name": "t", "crs": "EPSG:4545", "layers": {k: str(p) for k, p in paths.items()},
           "analyses": {"access": {"max_upgrades": 5}}, "outputs": {"dir": str(tmp_path / "out"), "maps": False,
                                                                  "tables": False}}
    run = pipeline.run(recipe.parse(rec, tmp_path))
    res = kzgis.access(world["roads"], world["settlements"], world["stations"], layers={"boundary": world["boundary"]},
                       max_upgrades=5)
    assert set(res) == set(run.results)
    for name, frame in res.items():
        a = pd.DataFrame(frame).reset_index(drop=True)
        b = pd.DataFrame(run.results[name]).reset_index(drop=True)
        # feature ids: 1-based row numbers from a file, the frame's own index (0-based here) via the API
        for col in [c for c in a.columns if c in ("fid", "feature_id", "settlement_fid", "road_fid")]:
            a, b = a.drop(columns=col), b.drop(columns=col, errors="ignore")
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(a.drop(columns="geometry", errors="ignore"),
                                      b.drop(columns="geometry", errors="ignore"), check_dtype=False, obj=name)


def test_frames_in_any_crs_are_reprojected_to_the_working_crs(world):
    lonlat = {k: world[k].to_crs("EPSG:4326") for k in ("roads", "settlements", "stations")}
    utm = world["stations"].to_crs("EPSG:32648")
    res = kzgis.access(lonlat["roads"], lonlat["settlements"], utm)
    assert res.crs.to_epsg() == 4545  # the local GK zone, as a recipe chooses it
    ref = kzgis.access(world["roads"], world["settlements"], world["stations"])
    a, b = res["access_settlements"], ref["access_settlements"]
    assert a["best_vehicle"].tolist() == b["best_vehicle"].tolist()
    np.testing.assert_allclose(a["time_min_small"], b["time_min_small"], rtol=1e-3)
    assert kzgis.access(world["roads"], world["settlements"], world["stations"], crs="EPSG:32648").crs.to_epsg() == 32648


def test_chinese_column_names_are_recognised_and_the_index_is_kept(world):
    roads = world["roads"].rename(columns={"width_m": "路面宽度", "name": "道路名称"})
    sett = world["settlements"].rename(columns={"population": "人口"}).set_index(
        pd.Index([11, 12, 13, 14], name="my_id"))
    res = kzgis.access(roads, sett, world["stations"])
    s = res["access_settlements"]
    assert list(s.index) == [11, 12, 13, 14]
    assert s["population"].tolist() == [820.0, 260.0, 540.0, 410.0]


def test_validation_errors_are_the_recipe_path_errors(world, tmp_path):
    bad = world["settlements"].drop(columns="name")
    bad.index = pd.RangeIndex(1, len(bad) + 1)  # the recipe path's feature ids
    p = tmp_path / "settlements.gpkg"
    bad.to_file(p)
    with pytest.raises(LayerError) as via_file:
        kzgis.read_layer(p, "settlements")
    with pytest.raises(LayerError) as via_frame:
        kzgis.access(world["roads"], bad, world["stations"])
    assert "name" in str(via_frame.value)
    assert str(via_frame.value) == str(via_file.value)


def test_parameter_errors(world):
    w = world
    with pytest.raises(RecipeError, match=r"kzgis.access: unknown parameter 'rank_bi' \(did you mean 'rank_by'\?\)"):
        kzgis.access(w["roads"], w["settlements"], w["stations"], rank_bi="total")
    with pytest.raises(RecipeError, match=r"kzgis.access.max_upgrades: expected a whole number"):
        kzgis.access(w["roads"], w["settlements"], w["stations"], max_upgrades="many")
    with pytest.raises(TypeError):  # keyword-only
        kzgis.access(w["roads"], w["settlements"], w["stations"], None)
    with pytest.raises(RecipeError, match=r"network: unknown parameter 'snap_max'"):
        kzgis.access(w["roads"], w["settlements"], w["stations"], network={"snap_max": 100})
    with pytest.raises(RecipeError, match=r"'boundry' is not used by access \(did you mean 'boundary'\?\)"):
        kzgis.access(w["roads"], w["settlements"], w["stations"], layers={"boundry": w["boundary"]})
    with pytest.raises(RecipeError, match="'vehicle_classes' is not a parameter of isochrones"):
        kzgis.isochrones(w["roads"], w["stations"], vehicle_classes=["small"])
    with pytest.raises(RecipeError, match=r"kzgis.run: unknown option 'towns_'"):
        kzgis.run({}, towns_=["x"])


def test_input_errors_name_the_layer_and_the_fix(world):
    w = world
    nocrs = gpd.GeoDataFrame(w["stations"].drop(columns="geometry"), geometry=list(w["stations"].geometry))
    with pytest.raises(CRSError, match=r"layer 'stations': the GeoDataFrame has no CRS. Set it first"):
        kzgis.access(w["roads"], w["settlements"], nocrs)
    with pytest.raises(LayerError, match=r"layer 'settlements': expected a GeoDataFrame, got DataFrame"):
        kzgis.access(w["roads"], pd.DataFrame(w["settlements"]).drop(columns="geometry"), w["stations"])
    with pytest.raises(LayerError, match=r"kzgis.water: no hydrants or fire_pools or water_intakes layer"):
        kzgis.water(w["roads"], w["settlements"])
    with pytest.raises(CRSError, match="the DEM is in EPSG:4545 but the working CRS is EPSG:32648"):
        kzgis.access(w["roads"], w["settlements"], w["stations"], dem=w["dem"], crs="EPSG:32648")


def test_dem_as_path_or_object(world, tmp_path):
    import rasterio

    dem = world["dem"]
    p = tmp_path / "dem.tif"
    with rasterio.open(p, "w", driver="GTiff", width=dem.z.shape[1], height=dem.z.shape[0], count=1,
                       dtype="float32", crs="EPSG:4545", transform=dem.transform) as ds:
        ds.write(dem.z, 1)
    a = kzgis.access(world["roads"], world["settlements"], world["stations"], dem=p)
    b = kzgis.access(world["roads"], world["settlements"], world["stations"], dem=dem)
    assert a["access_roads"]["grade_max_pct"].notna().all()
    np.testing.assert_allclose(a["access_roads"]["grade_max_pct"], b["access_roads"]["grade_max_pct"])


@pytest.mark.parametrize("vehicle_class", ["standard", "small"])
def test_isochrones_compute_only_the_isochrone_layer_of_response(world, monkeypatch, vehicle_class):
    """kzgis.isochrones equals the disks of the full response run, without running its other steps."""
    from kzgis.analyses import response as resp_mod

    full = kzgis.response(world["roads"], world["stations"], world["settlements"], breaks_min=[2, 4, 9],
                          vehicle_classes=[vehicle_class])["response_isochrones"]
    full = full[full["ring"] == "disk"].drop(columns="ring").reset_index(drop=True)
    calls = []
    costs_from = kzgis.RoadNetwork.costs_from

    def spy(self, snapped, vc, *a, **k):
        calls.append(vc)
        return costs_from(self, snapped, vc, *a, **k)

    monkeypatch.setattr(kzgis.RoadNetwork, "costs_from", spy)
    for step in ("_zones", "_radii", "_settlements_out", "_scenario_table", "_siting"):
        monkeypatch.setattr(resp_mod, step, lambda *a, _s=step, **k: pytest.fail(f"isochrones ran {_s}"))
    iso = kzgis.isochrones(world["roads"], world["stations"], breaks_min=(2, 4, 9), vehicle_class=vehicle_class)
    assert calls == [vehicle_class]  # drive times of the one class asked for, not of all three
    assert len(iso) == len(full) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(iso.drop(columns="geometry")),
                                  pd.DataFrame(full.drop(columns="geometry")))
    assert iso.geometry.geom_equals_exact(full.geometry, tolerance=1e-9).all()


def test_isochrones_grow_with_the_break_and_match_response(world):
    iso = kzgis.isochrones(world["roads"], world["stations"], breaks_min=(2, 3, 9))
    assert iso["break_min"].tolist() == [2.0, 3.0, 9.0] and "ring" not in iso
    assert (np.diff(iso["road_m"]) > 0).all()
    assert all(iso.geometry.iloc[i].buffer(1e-6).contains(iso.geometry.iloc[i - 1]) for i in (1, 2))
    resp = kzgis.response(world["roads"], world["stations"], breaks_min=[2, 3, 9], rings=False, scenarios=False)
    disks = resp["response_isochrones"]
    np.testing.assert_allclose(disks["area_m2"], iso["area_m2"])
    small = kzgis.isochrones(world["roads"], world["stations"], breaks_min=(9,), vehicle_class="small")
    assert small["vehicle_class"].tolist() == ["small"]
    assert small["road_m"].iat[0] > iso["road_m"].iat[2]  # the small truck also crosses the 3 m bridge


def test_run_is_the_cli_run(world, tmp_path):
    paths = _write_world(world, tmp_path / "layers")
    rec = {"name": "t", "layers": {k: str(p) for k, p in paths.items()}, "analyses": {"access": {}},
           "outputs": {"dir": "out", "maps": False}}
    rp = tmp_path / "r.yaml"
    rp.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    result = kzgis.run(rp, out=tmp_path / "elsewhere")
    assert result.ran == ["access"] and (tmp_path / "elsewhere" / "results.gpkg").exists()
    assert result.summary["crs"] == "EPSG:4545"


def test_quickstart_runs(tmp_path, monkeypatch):
    """Every code block of docs/quickstart.md, in order, in a folder that has the demo layers."""
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    (tmp_path / "layers").symlink_to(ROOT / "layers")
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"quickstart.md block {i + 1}", "exec"), ns)
    assert set(ns["res"]) == {"access_roads", "access_settlements", "access_upgrades", "access_towns",
                              "access_dead_ends", "network_issues"}
    assert os.path.getsize(tmp_path / "access_wenquan.html") > 10_000
