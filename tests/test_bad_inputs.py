"""Do no harm (issue 12): bad inputs and faults give a clear message, never a traceback, never data loss.

Every case runs the CLI in-process on a tiny world written to ``tmp_path`` (a user folder ``data/``
with the input layers, the recipe beside it, a previous kzgis output ``out/``) and asserts:
the exit code, that the message names the layer / field / path, that no traceback is printed, and
that the previous output folder and the user's folders are byte-for-byte intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import yaml
from shapely.geometry import LineString, Point, Polygon

from kzgis import pipeline, recipe
from kzgis._errors import KzgisError, OutputError
from kzgis._outdir import MARKER, OutputFolder, check_output_folder
from kzgis.cli import main

CRS = "EPSG:4545"
X0, Y0 = 537000.0, 3448000.0
REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# the tiny world


def _world(root: Path, roads=None, settlements=None, analyses=None, outputs=None, extra_layers=None,
           recipe_text=None) -> Path:
    """Write data/ (county, roads, stations, settlements) and r.yaml under ``root``; return the recipe."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    county = Polygon([(X0 - 1000, Y0 - 1000), (X0 + 1000, Y0 - 1000), (X0 + 1000, Y0 + 1000), (X0 - 1000, Y0 + 1000)])
    gpd.GeoDataFrame({"name": ["县"]}, geometry=[county], crs=CRS).to_file(data / "county.gpkg")
    if roads is None:
        roads = gpd.GeoDataFrame({"name": ["r1", "r2"], "width_m": [6.0, 3.0]},
                                 geometry=[LineString([(X0 - 500, Y0), (X0 + 500, Y0)]),
                                           LineString([(X0, Y0), (X0, Y0 + 500)])], crs=CRS)
    roads.to_file(data / "roads.gpkg")
    if settlements is None:
        settlements = gpd.GeoDataFrame({"name": ["甲村", "乙村"], "population": [10.0, 20.0], "town": ["甲镇", "甲镇"]},
                                       geometry=[Point(X0 + 400, Y0 + 10), Point(X0 - 300, Y0)], crs=CRS)
    settlements.to_file(data / "settlements.gpkg")
    gpd.GeoDataFrame({"name": ["一站"], "status": ["existing"]}, geometry=[Point(X0, Y0 + 450)], crs=CRS).to_file(
        data / "stations.gpkg")
    layers = {"county": "data/county.gpkg", "roads": "data/roads.gpkg", "stations": "data/stations.gpkg",
              "settlements": "data/settlements.gpkg"}
    layers.update(extra_layers or {})
    rec = {"name": "t", "crs": CRS, "layers": layers,
           "analyses": analyses if analyses is not None else {"access": {}},
           "outputs": outputs or {"dir": "out", "maps": False}}
    path = root / "r.yaml"
    if recipe_text is not None:
        path.write_text(recipe_text, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    return path


def _snapshot(*folders: Path) -> dict:
    """Every file (and empty folder) under the folders with the sha256 of its bytes."""
    snap = {}
    for f in folders:
        if f.is_file():
            snap[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
            continue
        if not f.exists():
            snap[str(f)] = None
            continue
        for p in sorted(f.rglob("*")):
            snap[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return snap


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A world with a previous kzgis output in out/; cwd is a separate empty folder."""
    monkeypatch.setenv("KZGIS_LOG", str(tmp_path / "logs" / "kzgis.log"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    path = _world(tmp_path / "w")
    assert main(["run", str(path), "--quiet"]) == 0
    assert (tmp_path / "w" / "out" / MARKER).is_file()
    return path


def _run_cli(capsys, argv):
    rc = main(argv)
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert "Traceback" not in text
    return rc, text


def _guarded(world: Path):
    root = world.parent
    return [root / "data", root / "out", world]


# ---------------------------------------------------------------------------------------------
# 1. output folders


def _out_cases(root: Path):
    home = Path.home()
    return {
        "empty": ("", "--out is empty"),
        "dot": (".", "current folder"),
        "home": (str(home), "home folder"),
        "root": ("/", "root of the file system"),
        "recipe-folder": (str(root), "holds the recipe"),
        "input-folder": (str(root / "data"), "holds the input layer"),
        "parent-of-inputs": (str(root.parent), "holds"),
        "input-file": (str(root / "data" / "roads.gpkg"), "holds the input layer"),
        "existing-file": (str(root / "notes.txt"), "existing file"),
        "user-folder": (str(root / "thesis"), "files that kzgis did not write"),
        "kzgis-folder-with-user-file": (str(root / "out"), "kzgis did not write: my_notes.docx"),
    }


@pytest.mark.parametrize("case", ["empty", "dot", "home", "root", "recipe-folder", "input-folder",
                                  "parent-of-inputs", "input-file", "existing-file", "user-folder",
                                  "kzgis-folder-with-user-file"])
def test_out_folder_refused(world, capsys, case):
    root = world.parent
    (root / "notes.txt").write_text("my notes", encoding="utf-8")
    (root / "thesis").mkdir()
    (root / "thesis" / "chapter1.docx").write_bytes(b"precious")
    if case == "kzgis-folder-with-user-file":
        (root / "out" / "my_notes.docx").write_bytes(b"mine")
    out, message = _out_cases(root)[case]
    guarded = _guarded(world) + [root / "notes.txt", root / "thesis", Path.cwd()]
    before = _snapshot(*guarded)
    rc, text = _run_cli(capsys, ["run", str(world), "--out", out, "--quiet"])
    assert rc == 2
    assert message in text
    if out not in ("", "."):
        assert str(Path(out).resolve()) in text  # names the path
    assert "Give --out" in text or "Move them out" in text  # says what to do
    assert _snapshot(*guarded) == before


@pytest.mark.parametrize("out", ["", ".", "data", "r.yaml"])
def test_out_folder_refused_from_recipe_outputs_dir(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    path = _world(tmp_path, outputs={"dir": out, "maps": False})
    before = _snapshot(tmp_path)
    with pytest.raises(OutputError, match="outputs.dir|--out is empty|outputs.dir is empty"):
        pipeline.run(recipe.load(path))
    assert _snapshot(tmp_path) == before


def test_pipeline_run_refuses_like_the_cli(world):
    root = world.parent
    (root / "thesis").mkdir()
    (root / "thesis" / "a.txt").write_text("x", encoding="utf-8")
    before = _snapshot(root / "thesis")
    with pytest.raises(OutputError, match=r"thesis: refused.*kzgis did not write"):
        pipeline.run(recipe.load(world), out_dir=root / "thesis")
    assert _snapshot(root / "thesis") == before


def test_out_folder_replaced_when_marker(world, capsys):
    root = world.parent
    old = json.loads((root / "out" / MARKER).read_text(encoding="utf-8"))
    rc, _ = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0
    new = json.loads((root / "out" / MARKER).read_text(encoding="utf-8"))
    assert new["run_id"] != old["run_id"] and new["state"] == "complete"
    assert "summary.json" in new["files"]
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".out")) == []


def test_legacy_kzgis_folder_without_marker_is_replaced(world, capsys):
    out = world.parent / "out"
    (out / MARKER).unlink()  # as written by kzgis before markers
    assert _run_cli(capsys, ["run", str(world), "--quiet"])[0] == 0
    assert (out / MARKER).is_file()


def test_empty_existing_folder_is_used(world, capsys):
    empty = world.parent / "fresh"
    empty.mkdir()
    assert _run_cli(capsys, ["run", str(world), "--out", str(empty), "--quiet"])[0] == 0
    assert (empty / "summary.json").is_file()


def test_output_permissions_follow_umask(world, capsys):
    old = os.umask(0o022)
    try:
        assert _run_cli(capsys, ["run", str(world), "--out", str(world.parent / "perm"), "--quiet"])[0] == 0
    finally:
        os.umask(old)
    mode = (world.parent / "perm").stat().st_mode & 0o777
    assert mode == 0o755
    assert (world.parent / "perm" / "summary.json").stat().st_mode & 0o044 == 0o044


def test_second_run_on_same_out_is_refused_at_once(world, capsys):
    root = world.parent
    before = _snapshot(*_guarded(world))
    with pytest.raises(RuntimeError, match="abandon"):
        with OutputFolder(root / "out", recipe_path=world):  # another run holds the folder
            t0 = time.perf_counter()
            rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
            assert time.perf_counter() - t0 < 30
            raise RuntimeError("abandon the holding run")
    assert rc == 2
    assert "another kzgis run" in text and str(root / "out") in text
    assert _snapshot(*_guarded(world)) == before


def _recipe_world(tmp_path):
    (tmp_path / "cwd").mkdir(exist_ok=True)
    return _world(tmp_path / "w")


def test_killed_between_renames_previous_output_restored(world, capsys):
    """kill -9 after the old folder was moved aside and before the new one moved in."""
    root = world.parent
    before = _snapshot(root / "out")
    aside = root / ".out.kzgis-old-999-deadbeef"
    (root / "out").rename(aside)
    (root / ".out.kzgis-tmp-999-deadbeef").mkdir()
    (root / ".out.kzgis-tmp-999-deadbeef" / MARKER).write_text("{}", encoding="utf-8")
    assert not (root / "out").exists()
    # a run that fails still restores the previous output and cleans up
    bad = _world(root, analyses={"access": {"nonsense": 1}})
    rc, text = _run_cli(capsys, ["run", str(bad), "--quiet"])
    assert rc == 2 and "unknown parameter 'nonsense'" in text
    # the recipe error is found before the output folder is touched; the next good run recovers
    good = _world(root)
    rc, text = _run_cli(capsys, ["run", str(good), "--quiet"])
    assert rc == 0
    names = sorted(p.name for p in root.iterdir() if p.name.startswith(".out"))
    assert names == []
    s = json.loads((root / "out" / "summary.json").read_text(encoding="utf-8"))
    assert any("restored the previous output" in w for w in s["warnings"])
    del before


def test_recover_restores_when_run_fails(world, capsys):
    root = world.parent
    before = _snapshot(root / "out")
    (root / "out").rename(root / ".out.kzgis-old-1-aaaa")
    # a run that produces nothing: the restored previous output stays, byte for byte
    nothing = _world(root, analyses={"helicopter": {}})
    rc, text = _run_cli(capsys, ["run", str(nothing), "--quiet"])
    assert rc == 2 and "nothing to write" in text
    assert _snapshot(root / "out") == before


def test_lookalike_leftover_without_marker_is_left_alone(world, capsys):
    root = world.parent
    look = root / ".out.kzgis-tmp-5-cafe"
    look.mkdir()
    (look / "mine.txt").write_text("not kzgis", encoding="utf-8")
    rc, _ = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0
    assert (look / "mine.txt").read_text(encoding="utf-8") == "not kzgis"
    s = json.loads((root / "out" / "summary.json").read_text(encoding="utf-8"))
    assert any("left alone" in w for w in s["warnings"])


@pytest.mark.parametrize("analyses, message", [
    ({}, "names no analyses"),
    ({"helicopter": {}}, "nothing to write: every analysis was skipped"),
    ({"water": {}}, "no hydrants or fire_pools or water_intakes layer"),
])
def test_run_that_produces_nothing_exits_nonzero(world, capsys, analyses, message):
    root = world.parent
    before = _snapshot(*_guarded(world))
    path = root / "r2.yaml"
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["analyses"] = analyses
    path.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    rc, text = _run_cli(capsys, ["run", str(path), "--quiet"])
    assert rc == 2
    assert message in text and "previous output folder is untouched" in text
    assert _snapshot(*_guarded(world)) == before


def test_all_input_layers_empty(world, capsys):
    root = world.parent
    empty = gpd.GeoDataFrame({"name": [], "width_m": []}, geometry=[], crs=CRS)
    data2 = root / "empty"
    data2.mkdir()
    empty.to_file(data2 / "roads.gpkg")
    gpd.GeoDataFrame({"name": []}, geometry=[], crs=CRS).to_file(data2 / "stations.gpkg")
    rec = {"name": "e", "crs": CRS, "layers": {"roads": "empty/roads.gpkg", "stations": "empty/stations.gpkg"},
           "analyses": {"response": {}}, "outputs": {"dir": "out", "maps": False}}
    (root / "e.yaml").write_text(yaml.safe_dump(rec), encoding="utf-8")
    before = _snapshot(*_guarded(world))
    rc, text = _run_cli(capsys, ["run", str(root / "e.yaml"), "--quiet"])
    assert rc == 2
    assert "Every input layer is empty (roads, stations)" in text
    assert _snapshot(*_guarded(world)) == before


def test_read_only_output_parent(world, capsys, monkeypatch):
    root = world.parent
    ro = root / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root ignores folder permissions: make the folder creation fail as it would
        real = os.open

        def deny(path, *a, **k):
            if str(path).startswith(str(ro)):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *a, **k)

        monkeypatch.setattr(os, "open", deny)
    try:
        rc, text = _run_cli(capsys, ["run", str(world), "--out", str(ro / "out"), "--quiet"])
    finally:
        ro.chmod(0o755)
    assert rc == 2 and "permission denied" in text and str(ro) in text
    assert list(ro.iterdir()) == []


def test_disk_full_is_named(world, capsys, monkeypatch):
    import errno

    root = world.parent
    before = _snapshot(*_guarded(world))

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline, "write_tables", full)
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 2
    assert "no space left on device" in text and str(root / "out") in text
    assert _snapshot(*_guarded(world)) == before
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".out")) == []


def test_disk_full_from_gdal_is_named(world, capsys, monkeypatch):
    """pyogrio says 'Failed to commit transaction' without errno: the free space decides."""
    import shutil as _shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")

    def full(*a, **k):
        raise RuntimeError("Failed to commit transaction")

    monkeypatch.setattr(pipeline, "write_gpkg", full)
    monkeypatch.setattr(_shutil, "disk_usage", lambda p: usage(10, 10, 0))
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 2 and "no space left on device" in text


def _subprocess_env(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["KZGIS_LOG"] = str(tmp_path / "logs" / "kzgis.log")
    return env


_SLOW_STEP = """
import sys, time
from kzgis import analysis as an
from kzgis.cli import main
from dataclasses import dataclass

@dataclass(frozen=True)
class P:
    pass

def slow(ctx, p):
    print("started", flush=True)
    time.sleep(60)
    return {}

an.load_all()
an.register("slow", title_zh="慢", needs=(), params=P)(slow)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_killed_run_leaves_previous_output(world, sig, code):
    root = world.parent
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["analyses"] = {"slow": {}}
    slow = root / "slow.yaml"
    slow.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    script = root.parent / "slow.py"
    script.write_text(_SLOW_STEP, encoding="utf-8")
    before = _snapshot(*_guarded(world))
    p = subprocess.Popen([sys.executable, str(script), "run", str(slow), "--out", str(root / "out"), "--quiet"],
                         env=_subprocess_env(root.parent), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=str(root.parent / "cwd"))
    try:
        assert p.stdout.readline().strip() == "started"
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == code
    assert "Traceback" not in err
    if code > 0:
        assert "previous output folder is untouched" in err
    assert _snapshot(*_guarded(world)) == before
    leftovers = sorted(x.name for x in root.iterdir() if x.name.startswith(".out"))
    if sig == signal.SIGKILL:
        assert leftovers and all(n.startswith(".out.kzgis-") for n in leftovers)
        # the next run recognises and removes the leftovers
        assert main(["run", str(world), "--quiet"]) == 0
        leftovers = sorted(x.name for x in root.iterdir() if x.name.startswith(".out"))
    assert leftovers == []


def test_check_output_folder_is_importable_for_batch(tmp_path):
    assert check_output_folder(tmp_path / "new") == (tmp_path / "new").resolve()
    with pytest.raises(KzgisError, match="is empty"):
        check_output_folder("")


# ---------------------------------------------------------------------------------------------
# DEM: corrupt / empty files, nodata and partial coverage


def _write_dem(path: Path, x0, y0, nx, ny, cell=10.0, z=None, nodata_cols=None):
    import rasterio
    from rasterio.transform import from_origin

    arr = np.full((ny, nx), 300.0, dtype="float32") if z is None else z.astype("float32")
    if nodata_cols is not None:
        arr[:, nodata_cols] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", width=nx, height=ny, count=1, dtype="float32", crs=CRS,
                       transform=from_origin(x0, y0, cell, cell), nodata=-9999.0) as dst:
        dst.write(arr, 1)


def _dem_bytes(kind: str, tmp: Path) -> bytes:
    good = tmp / "good.tif"
    _write_dem(good, X0 - 1000, Y0 + 1000, 200, 200)
    data = good.read_bytes()
    return {"zero-bytes": b"", "truncated": data[: len(data) // 3], "text": b"this is not a raster\n" * 50,
            "png-magic": b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "header-only": data[:200]}[kind]


@pytest.mark.parametrize("kind", ["zero-bytes", "truncated", "text", "png-magic", "header-only"])
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_dem_is_a_clear_error(world, capsys, tmp_path, kind, command):
    root = world.parent
    (root / "data" / "dem.tif").write_bytes(_dem_bytes(kind, tmp_path))
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["layers"]["dem"] = "data/dem.tif"
    world.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    before = _snapshot(*_guarded(world))
    argv = ["run", str(world), "--quiet"] if command == "run" else ["layers", "check", str(world)]
    rc, text = _run_cli(capsys, argv)
    assert rc == (2 if command == "run" else 1)
    assert "dem" in text and "dem.tif" in text
    assert "empty (0 bytes)" in text if kind == "zero-bytes" else "corrupt, truncated or not a GeoTIFF" in text
    assert _snapshot(*_guarded(world)) == before


def test_dem_partial_coverage_grade_unknown_and_counted(world, capsys):
    """The DEM covers x < X0 only (and has a nodata stripe): roads east of X0 are not graded."""
    from kzgis.network import RoadNetwork
    from kzgis.terrain import DEM

    root = world.parent
    _write_dem(root / "data" / "dem.tif", X0 - 1000, Y0 + 1000, 100, 200, nodata_cols=slice(40, 45))
    dem = DEM.read(root / "data" / "dem.tif", CRS)
    roads = gpd.GeoDataFrame({"width_m": [6.0, 6.0]}, crs=CRS,
                             geometry=[LineString([(X0 - 900, Y0 - 500), (X0 - 900, Y0 + 500)]),  # covered
                                       LineString([(X0 + 100, Y0 - 500), (X0 + 100, Y0 + 500)])])  # outside
    net = RoadNetwork.from_roads(roads, dem=dem)
    e = net.edges.set_index("road_fid").sort_index()
    assert list(e["grade_source"]) == ["dem", "unknown"]
    assert list(e["grade_checked_share"]) == [1.0, 0.0]
    assert any("1.0 km of roads outside the DEM or on nodata: grade not checked" in w for w in net.warnings)
    # layers check reports the share of each layer outside the DEM
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["layers"]["dem"] = "data/dem.tif"
    world.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    rc, text = _run_cli(capsys, ["layers", "check", str(world)])
    assert rc == 0
    assert "outside-dem" in text and "roads" in text
    s = DEM.outside_share(dem, roads.geometry)
    assert s[0] == pytest.approx(0.0) and s[1] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# recipes: encodings, duplicate keys, NaN / inf / out-of-range numbers


_RECIPE = """name: 甲镇
crs: EPSG:4545
layers:
  county: data/county.gpkg
  roads: data/roads.gpkg
  stations: data/stations.gpkg
  settlements: data/settlements.gpkg
analyses:
  access: {}
outputs: {dir: out, maps: false}
"""


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "utf-16", "utf-16-le", "utf-32"])
def test_recipe_in_other_encodings_is_read(world, capsys, encoding):
    world.write_bytes(_RECIPE.encode(encoding))
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0, text
    s = json.loads((world.parent / "out" / "summary.json").read_text(encoding="utf-8"))
    assert s["name"] == "甲镇"


def test_recipe_in_unknown_encoding_says_how_to_save(world, capsys):
    world.write_bytes(b"name: \xff\xfe\xfd\x80\x80\nanalyses: {access: {}}\n\xa0\xff")
    before = _snapshot(*_guarded(world))
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 2 and "r.yaml" in text and "Save the recipe as UTF-8" in text
    assert _snapshot(*_guarded(world)) == before


@pytest.mark.parametrize("snippet, message", [
    ("analyses:\n  access: {}\n  access: {}\n", "the key 'access' is given twice"),
    ("name: a\nname: b\nanalyses: {access: {}}\n", "the key 'name' is given twice"),
    ("analyses:\n  response: {breaks_min: [5, 10], breaks_min: [20]}\n", "the key 'breaks_min' is given twice"),
    ("analyses:\n  response: {breaks_min: [.nan, 10]}\n", r"analyses.response.breaks_min\[0\]: expected a finite number"),
    ("analyses:\n  response: {turnout_min: .inf}\n", "analyses.response.turnout_min: expected a finite number"),
    ("analyses:\n  response: {turnout_min: -.inf}\n", "expected a finite number"),
    ("network: {standard_grade_max_pct: 150}\nanalyses: {access: {}}\n",
     "network.standard_grade_max_pct: a grade must be between 0 and 100"),
    ("network: {small_grade_max_pct: -1}\nanalyses: {access: {}}\n", "network.small_grade_max_pct: a grade"),
    ("network: {speed_kmh: {国道: 0}}\nanalyses: {access: {}}\n", "network.speed_kmh.国道: a speed"),
    ("network: {min_speed_kmh: -5}\nanalyses: {access: {}}\n", "network.min_speed_kmh: a speed"),
    ("network: {narrow_speed_factor: .nan}\nanalyses: {access: {}}\n", "network.narrow_speed_factor: expected a finite"),
    ("analyses:\n  helicopter: {cruise_kmh: 0}\n", "analyses.helicopter.cruise_kmh: a speed"),
])
def test_bad_recipe_numbers_and_keys(world, capsys, snippet, message):
    base = "crs: EPSG:4545\nlayers: {roads: data/roads.gpkg}\noutputs: {dir: out, maps: false}\n"
    world.write_text(base + snippet, encoding="utf-8")
    before = _snapshot(*_guarded(world))
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 2
    assert __import__("re").search(message, text), text
    assert _snapshot(*_guarded(world)) == before


def test_summary_json_is_strict(world):
    s = (world.parent / "out" / "summary.json").read_text(encoding="utf-8")
    assert "NaN" not in s and "Infinity" not in s
    json.loads(s, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert pipeline.strict_json({"a": float("nan"), "b": [np.float32("inf"), 1.5]}) == \
        '{\n  "a": null,\n  "b": [\n    null,\n    1.5\n  ]\n}'


# ---------------------------------------------------------------------------------------------
# numbers typed the way people type them; missing population; geometries


@pytest.mark.parametrize("typed, expected", [
    ("1,200", 1200.0), ("1 200", 1200.0), ("１２００", 1200.0), ("约1200", 1200.0), ("1200人", 1200.0),
    ("1.2万", 12000.0), ("12,345.5", 12345.5),
])
def test_population_typed_as_text_is_parsed_and_named(world, capsys, typed, expected):
    root = world.parent
    s = gpd.GeoDataFrame({"name": ["甲村", "乙村"], "population": [typed, "20"], "town": ["甲镇", "甲镇"]},
                         geometry=[Point(X0 + 400, Y0 + 10), Point(X0 - 300, Y0)], crs=CRS)
    s.to_file(root / "data" / "settlements.gpkg")
    from kzgis.load import load_layers

    layers = load_layers(recipe.load(world).layers, CRS)
    assert layers["settlements"]["population"].tolist() == [expected, 20.0]
    msgs = [str(p) for p in layers.problems if p.code == "number-from-text"]
    assert len(msgs) == 1 and "settlements.population: 1 value(s) written as text" in msgs[0]
    assert f"feature 1 '{typed}'" in msgs[0]


@pytest.mark.parametrize("typed, expected", [("约4米", 4.0), ("4m", 4.0), ("4.5 米", 4.5), ("３．５", 3.5)])
def test_width_with_unit_is_parsed(world, typed, expected):
    root = world.parent
    roads = gpd.GeoDataFrame({"name": ["r1", "r2"], "width_m": [typed, "3"]},
                             geometry=[LineString([(X0 - 500, Y0), (X0 + 500, Y0)]),
                                       LineString([(X0, Y0), (X0, Y0 + 500)])], crs=CRS)
    roads.to_file(root / "data" / "roads.gpkg")
    from kzgis.load import load_layers

    layers = load_layers(recipe.load(world).layers, CRS)
    assert layers["roads"]["width_m"].tolist() == [expected, 3.0]


@pytest.mark.parametrize("typed", ["约1200户", "unknown", "4-5", "1,5"])
def test_population_not_a_number_is_counted_and_named(world, capsys, typed):
    root = world.parent
    s = gpd.GeoDataFrame({"name": ["甲村", "乙村", "丙村"], "population": ["10", typed, typed], "town": ["甲镇"] * 3},
                         geometry=[Point(X0 + 400, Y0 + 10), Point(X0 - 300, Y0), Point(X0 - 200, Y0)], crs=CRS)
    s.to_file(root / "data" / "settlements.gpkg")
    rc, text = _run_cli(capsys, ["layers", "check", str(world)])
    assert rc == 0
    assert f"settlements.population: 2 value(s) not numbers, e.g. feature 2 '{typed}'" in text
    assert "2 of 3 settlements have no population" in text
    assert "metres" not in text.split("population")[-1].split("\n")[0]  # the hint speaks of persons
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0
    s = json.loads((root / "out" / "summary.json").read_text(encoding="utf-8"))
    assert any("2 of 3 settlements have no population" in w for w in s["warnings"])
    assert s["data_gaps"]["settlements_without_population"] == 2 and s["data_gaps"]["settlements"] == 3
    assert s["data_gaps"]["features_reported"]["settlements.not-a-number"] == 2


@pytest.mark.parametrize("case, code, fids", [
    ("null-geometry", "empty-geometry", [2]),
    ("empty-geometry", "empty-geometry", [2]),
    ("nan-vertex", "nan-vertex", [2]),
    ("all-nan", "nan-vertex", [2]),
    ("zero-length", "zero-length", [2]),
])
def test_bad_road_geometries_are_reported_with_ids(world, capsys, case, code, fids):
    import shapely

    root = world.parent
    bad = {"null-geometry": None, "empty-geometry": shapely.LineString(),
           "nan-vertex": LineString([(X0, Y0), (np.nan, np.nan), (X0, Y0 + 500)]),
           "all-nan": LineString([(np.nan, np.nan), (np.nan, np.nan)]),
           "zero-length": LineString([(X0 + 1, Y0 + 1), (X0 + 1, Y0 + 1)])}[case]
    roads = gpd.GeoDataFrame({"name": ["r1", "r2"], "width_m": [6.0, 3.0]},
                             geometry=[LineString([(X0 - 500, Y0), (X0 + 500, Y0)]), bad], crs=CRS)
    roads.to_file(root / "data" / "roads.gpkg")
    rc, text = _run_cli(capsys, ["layers", "check", str(world)])
    assert rc == 0
    line = [ln for ln in text.splitlines() if code in ln]
    assert line and "roads" in line[0] and all(str(f) in line[0] for f in fids)
    if case == "zero-length":
        assert "self-intersection" not in text
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0


def test_gcj02_hint_for_lonlat_points_without_crs(world, capsys):
    root = world.parent
    (root / "data" / "hydrants.csv").write_text("经度,纬度\n108.40,31.18\n108.41,31.19\n", encoding="utf-8")
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["layers"]["hydrants"] = "data/hydrants.csv"
    world.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    rc, text = _run_cli(capsys, ["layers", "check", str(world)])
    assert rc == 1
    assert "hydrants" in text and "hydrants.csv" in text and "EPSG:4490" in text
    assert "datum: gcj02" in text and "500 m" in text


# ---------------------------------------------------------------------------------------------
# safe outputs: spreadsheet formulas, control and bidi characters, long names


_NASTY = ['=HYPERLINK("http://evil","点我")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("name", _NASTY)
def test_xlsx_text_is_never_a_formula(world, capsys, name):
    import openpyxl

    root = world.parent
    s = gpd.GeoDataFrame({"name": [name, "乙村"], "population": [10.0, 20.0], "town": ["甲镇", "甲镇"]},
                         geometry=[Point(X0 + 400, Y0 + 10), Point(X0 - 300, Y0)], crs=CRS)
    s.to_file(root / "data" / "settlements.gpkg")
    rc, _ = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0
    wb = openpyxl.load_workbook(root / "out" / "tables.xlsx")
    found = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if cell.value == name:
                    assert cell.data_type == "s"
                    found += 1
    assert found >= 1


@pytest.mark.parametrize("char", ["\x0b", "\x00", "\x1b", "\u202e", "\u2066", "\u202a"])
def test_control_and_bidi_characters_removed_everywhere(world, capsys, char):
    import openpyxl

    root = world.parent
    name = f"甲{char}村"
    s = gpd.GeoDataFrame({"name": [name, "乙村"], "population": [10.0, 20.0], "town": [f"甲{char}镇", "甲镇"]},
                         geometry=[Point(X0 + 400, Y0 + 10), Point(X0 - 300, Y0)], crs=CRS)
    s.to_file(root / "data" / "settlements.gpkg")
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["outputs"] = {"dir": "out", "maps": True, "report": True}
    world.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0, text
    out = root / "out"
    wb = openpyxl.load_workbook(out / "tables.xlsx")
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert ("甲村" in cells or char == "\x00") and not any(char in c for c in cells)  # GDAL cuts at NUL
    import pyogrio

    for layer, _ in pyogrio.list_layers(out / "results.gpkg"):
        df = pyogrio.read_dataframe(out / "results.gpkg", layer=layer, read_geometry=False)
        for col in df.columns:
            assert not df[col].map(lambda v: isinstance(v, str) and char in v).any(), (layer, col)
    for p in out.rglob("*"):
        if p.is_file() and p.suffix in (".html", ".json", ".docx"):
            data = p.read_bytes()
            if p.suffix == ".docx":
                import zipfile

                with zipfile.ZipFile(p) as z:
                    data = b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))
            assert char.encode("utf-8") not in data.replace(b"\\u", b""), p
        assert char not in p.name
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert char == "\x00" or any("control or bidirectional-override" in w and "name" in w for w in s["warnings"])


def test_long_township_name_gets_a_short_file_name(world, capsys):
    root = world.parent
    town = "很长的乡镇名称" * 20  # 420 bytes of UTF-8
    s = gpd.GeoDataFrame({"name": ["甲村", "乙村"], "population": [10.0, 20.0], "town": [town, town]},
                         geometry=[Point(X0 + 400, Y0 + 10), Point(X0 - 300, Y0)], crs=CRS)
    s.to_file(root / "data" / "settlements.gpkg")
    gpd.GeoDataFrame({"town": [town]}, crs=CRS, geometry=[Polygon(
        [(X0 - 900, Y0 - 900), (X0 + 900, Y0 - 900), (X0 + 900, Y0 + 900), (X0 - 900, Y0 + 900)])]).to_file(
        root / "data" / "boundary.gpkg")
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["layers"]["boundary"] = "data/boundary.gpkg"
    rec["outputs"] = {"dir": "out", "maps": True, "report": True}
    world.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0, text
    names = [p.name for p in (root / "out").rglob("*")]
    assert all(len(n.encode("utf-8")) <= 255 for n in names)
    assert any(n.startswith("town_很长的乡镇名称") and n.endswith(".html") for n in names)
    from kzgis._text import safe_filename

    a, b = safe_filename("镇" * 100 + "甲", ".html"), safe_filename("镇" * 100 + "乙", ".html")
    assert a != b and len(a.encode()) <= 200 and a == safe_filename("镇" * 100 + "甲", ".html")


# ---------------------------------------------------------------------------------------------
# the last-resort handler


def test_internal_error_is_one_line_and_logged(world, capsys, monkeypatch):
    from kzgis import cli

    def boom(*a, **k):
        raise ZeroDivisionError("division by zero deep inside")

    monkeypatch.setattr(pipeline, "run", boom)
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 3
    assert "internal error: ZeroDivisionError" in text and "please report" in text
    log = Path(os.environ["KZGIS_LOG"])
    assert str(log) in text
    assert "Traceback" in log.read_text(encoding="utf-8") and "boom" in log.read_text(encoding="utf-8")
    # -v shows the traceback
    rc = cli.main(["run", str(world), "--quiet", "-v"])
    assert rc == 3 and "Traceback" in capsys.readouterr().err


def test_unexpected_error_inside_a_step_asks_for_a_report(world, capsys, monkeypatch):
    from kzgis.analyses import access

    def broken(*a, **k):
        raise KeyError("some_column")

    import dataclasses

    from kzgis import analysis as an

    monkeypatch.setitem(an.REGISTRY, "access", dataclasses.replace(an.get("access"), func=broken))
    before = _snapshot(*_guarded(world))
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 3
    assert "step 'access'" in text and "KeyError" in text and "please report" in text
    assert _snapshot(*_guarded(world)) == before
    del access


def test_helicopter_names_forest_the_dem_does_not_cover(world, capsys):
    """The forest lies half outside the DEM: the township's shares are said to be understated."""
    root = world.parent
    _write_dem(root / "data" / "dem.tif", X0 - 1000, Y0 + 1000, 100, 200)  # covers x < X0 only
    gpd.GeoDataFrame({"name": ["林"]}, crs=CRS, geometry=[Polygon(
        [(X0 - 800, Y0 - 800), (X0 + 800, Y0 - 800), (X0 + 800, Y0 + 800), (X0 - 800, Y0 + 800)])]).to_file(
        root / "data" / "forest.gpkg")
    gpd.GeoDataFrame({"name": ["塘"], "depth_m": [5.0]}, crs=CRS, geometry=[Point(X0 - 500, Y0 - 500).buffer(60)]).to_file(
        root / "data" / "water.gpkg")
    rec = yaml.safe_load(world.read_text(encoding="utf-8"))
    rec["layers"].update({"dem": "data/dem.tif", "forest": "data/forest.gpkg", "water_bodies": "data/water.gpkg"})
    rec["analyses"] = {"helicopter": {}}
    world.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0, text
    s = json.loads((root / "out" / "summary.json").read_text(encoding="utf-8"))
    assert any(w.startswith("helicopter: 1.3 km² of forest lies outside the DEM") for w in s["warnings"])
    assert any("[outside-dem]" in w and "forest" in w for w in s["warnings"])
    # with townships: the township is named
    gpd.GeoDataFrame({"town": ["甲镇"]}, crs=CRS, geometry=[Polygon(
        [(X0 - 1000, Y0 - 1000), (X0 + 1000, Y0 - 1000), (X0 + 1000, Y0 + 1000), (X0 - 1000, Y0 + 1000)])]).to_file(
        root / "data" / "boundary.gpkg")
    rec["layers"]["boundary"] = "data/boundary.gpkg"
    world.write_text(yaml.safe_dump(rec, allow_unicode=True), encoding="utf-8")
    rc, text = _run_cli(capsys, ["run", str(world), "--quiet"])
    assert rc == 0, text
    s = json.loads((root / "out" / "summary.json").read_text(encoding="utf-8"))
    msg = [w for w in s["warnings"] if w.startswith("helicopter: the DEM does not cover")]
    assert msg and "甲镇" in msg[0] and "50%" in msg[0] and "understated" in msg[0]
