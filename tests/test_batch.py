"""``kzgis batch`` and ``kzgis run --scheduler`` on a real Dask cluster give the serial answers.

A tiny world (three 4 x 4 km townships in a row, one road through them, nine settlements) is written
to tmp_path; two recipes run on it serially and on a ``distributed.LocalCluster`` of two worker
processes, and their results.gpkg, maps and report chapters are compared. One test starts
``dask scheduler`` and ``dask worker`` as separate processes, as on a real cluster.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import yaml
from shapely.geometry import LineString, Point, box

from kzgis import KzgisError, batch, pipeline, recipe
from kzgis.cli import main

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:4545"
X0, Y0 = 537000.0, 3448000.0
TOWNS = ["甲镇", "乙镇", "丙镇"]


def write_world(d: Path) -> Path:
    """Three townships west to east; settlement j of township i at (4000 i + a_j, b_j), population
    100 (i + 1) + j; a 6 m county road along y = 0, 3.5 m and 2.2 m spurs to the other settlements."""
    d.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"town": TOWNS, "source": ["示意数据"] * 3},
                     geometry=[box(X0 + 4000 * i, Y0 - 2000, X0 + 4000 * (i + 1), Y0 + 2000) for i in range(3)],
                     crs=CRS).to_file(d / "boundary.gpkg")
    names, towns, pts, pop = [], [], [], []
    for i, t in enumerate(TOWNS):
        for j, (a, b) in enumerate([(1000, 0), (2500, 1200), (3000, -1500)]):
            names.append(f"{t}{j}村")
            towns.append(t)
            pts.append(Point(X0 + 4000 * i + a, Y0 + b))
            pop.append(100 * (i + 1) + j)
    gpd.GeoDataFrame({"name": names, "town": towns, "population": pop}, geometry=pts,
                     crs=CRS).to_file(d / "settlements.gpkg")
    roads, widths = [LineString([(X0 + 200, Y0), (X0 + 11800, Y0)])], [6.0]
    for i in range(3):
        roads.append(LineString([(X0 + 4000 * i + 2500, Y0), (X0 + 4000 * i + 2500, Y0 + 1200)]))
        roads.append(LineString([(X0 + 4000 * i + 3000, Y0), (X0 + 4000 * i + 3000, Y0 - 1500)]))
        widths += [3.5, 2.2]
    gpd.GeoDataFrame({"width_m": widths, "road_class": ["县道"] + ["村道"] * 6}, geometry=roads,
                     crs=CRS).to_file(d / "roads.gpkg")
    gpd.GeoDataFrame({"name": ["甲镇专职消防队"], "kind": ["full_time"], "status": ["existing"], "town": ["甲镇"]},
                     geometry=[Point(X0 + 500, Y0 + 100)], crs=CRS).to_file(d / "stations.gpkg")
    gpd.GeoDataFrame({"status": ["ok", "ok", "ok"]},
                     geometry=[Point(X0 + 1000, Y0 + 50), Point(X0 + 5000, Y0 + 50), Point(X0 + 10500, Y0 - 1500)],
                     crs=CRS).to_file(d / "hydrants.gpkg")
    gpd.GeoDataFrame({"source": ["synthetic"]}, geometry=[box(X0 + 1500, Y0 + 500, X0 + 10500, Y0 + 1900)],
                     crs=CRS).to_file(d / "forest.gpkg")
    return d


def write_recipe(path: Path, world: Path, name: str, analyses: dict, outputs: dict) -> Path:
    data = {"name": name, "title": name, "crs": CRS,
            "layers": {k: str(world / f"{k}.gpkg")
                       for k in ("boundary", "settlements", "roads", "stations", "hydrants", "forest")},
            "analyses": analyses, "outputs": outputs}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = write_world(tmp_path_factory.mktemp("world"))
    a = write_recipe(d / "a.yaml", d, "county-a",
                     {"access": {}, "response": {"breaks_min": [5, 10, 15]}, "water": {}, "checkpoints": {}},
                     {"maps": {"offline": True}, "report": {"figures": True}})
    b = write_recipe(d / "b.yaml", d, "county-b", {"access": {}, "water": {}, "barriers": {}},
                     {"maps": {"offline": True}, "report": False})
    bad_layer = d / "bad.yaml"  # reads fine, fails on the worker: its road layer is missing
    bad_layer.write_text("name: bad-layer\nlayers: {roads: nowhere.gpkg}\nanalyses: {access: {}}\n", encoding="utf-8")
    bad_yaml = d / "broken.yaml"  # cannot even be read
    bad_yaml.write_text("name: [unclosed\n", encoding="utf-8")
    return {"dir": d, "a": a, "b": b, "bad_layer": bad_layer, "bad_yaml": bad_yaml}


@pytest.fixture(scope="module")
def serial(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return {k: pipeline.run(recipe.load(world[k]), out_dir=out / k).out_dir for k in ("a", "b")}


@pytest.fixture(scope="module")
def client():
    import warnings

    from distributed import Client, LocalCluster

    with warnings.catch_warnings():  # another cluster on this machine has port 8787
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


# -- comparing outputs ----------------------------------------------------------------------------


def assert_same_gpkg(p: Path, q: Path):
    layers_p, layers_q = pyogrio.list_layers(p), pyogrio.list_layers(q)
    assert [tuple(x) for x in layers_p] == [tuple(x) for x in layers_q]
    for name, geom_type in layers_p:
        a = pyogrio.read_dataframe(p, layer=name)
        b = pyogrio.read_dataframe(q, layer=name)
        if geom_type is not None:
            assert a.crs == b.crs, name
            assert list(a.geometry.to_wkb()) == list(b.geometry.to_wkb()), name
            a, b = pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)


def html_text(path: Path) -> str:
    """An output page without folium's random element ids (which differ between two serial runs too)."""
    return re.sub(r"_[0-9a-f]{32}", "_ID", path.read_text(encoding="utf-8"))


def docx_text(path: Path) -> list[str]:
    import docx

    doc = docx.Document(path)
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        out += ["|".join(c.text for c in row.cells) for row in t.rows]
    return out + [str(len(doc.inline_shapes))]


def assert_same_outputs(p: Path, q: Path):
    """results.gpkg, every map and every chapter of two output folders say the same."""
    assert_same_gpkg(p / "results.gpkg", q / "results.gpkg")
    files_p = sorted(str(f.relative_to(p)) for f in p.rglob("*") if f.is_file())
    files_q = sorted(str(f.relative_to(q)) for f in q.rglob("*") if f.is_file())
    assert files_p == files_q
    for rel in files_p:
        if rel.endswith(".html"):
            assert html_text(p / rel) == html_text(q / rel), rel
        elif rel.endswith(".docx"):
            assert docx_text(p / rel) == docx_text(q / rel), rel
    sp = json.loads((p / "summary.json").read_text(encoding="utf-8"))
    sq = json.loads((q / "summary.json").read_text(encoding="utf-8"))
    for key in ("ran", "skipped", "counts", "outputs", "warnings", "parameters"):
        assert sp[key] == sq[key], key


# -- tests --------------------------------------------------------------------------------------------


def test_batch_on_a_local_cluster_equals_serial_and_records_failures(world, serial, client, tmp_path):
    out = tmp_path / "batch"
    res = batch.run_batch([world["a"], world["bad_layer"], world["b"], world["bad_yaml"]], out, client=client)
    assert res.exit_code == 1
    by_job = {r["job"]: r for r in res.records}
    assert [r["job"] for r in res.records] == ["county-a", "bad-layer", "county-b", "broken"]
    assert by_job["county-a"]["status"] == by_job["county-b"]["status"] == "ok"
    assert by_job["bad-layer"]["status"] == "failed" and "nowhere.gpkg" in by_job["bad-layer"]["error"]
    assert by_job["broken"]["status"] == "failed" and by_job["broken"]["error"]
    assert not (out / "bad-layer").exists()
    # the answers equal the serial run's
    assert_same_outputs(serial["a"], out / "county-a")
    assert_same_outputs(serial["b"], out / "county-b")
    # the summary names the worker that ran each job: one of the cluster's
    workers = set(client.scheduler_info()["workers"])
    summary = json.loads((out / "batch_summary.json").read_text(encoding="utf-8"))
    assert summary["jobs_failed"] == 2 and summary["jobs_total"] == 4
    for r in summary["jobs"]:
        assert set(r) >= {"job", "recipe", "status", "wall_s", "worker", "error"}
        if r["status"] == "ok":
            assert r["worker"] in workers and r["wall_s"] > 0 and r["error"] is None
    # index.html links every job's maps and report, and every link resolves
    page = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', page)
    assert "county-a/maps/index.html" in links and "county-b/maps/index.html" in links
    assert any(h.startswith("county-a/report/") and h.endswith("汇总.html") for h in links)
    for h in links:
        assert (out / h).exists(), h
    assert "nowhere.gpkg" in page
    a = by_job["county-a"]["headline"]
    assert f"标准消防车可达 {a['standard_truck_share']:g}%" in page and f"检查站 {a['checkpoints']} 处" in page


def test_comparison_sheet_has_the_headline_numbers(world, serial, client, tmp_path):
    out = tmp_path / "batch"
    batch.run_batch([world["a"], world["b"]], out, client=client)
    sheet = pd.read_excel(out / "tables.xlsx")
    assert list(sheet["任务"]) == ["county-a", "county-b"]
    a = sheet.iloc[0]
    assert a["居民点（个）"] == 9 and a["人口（人）"] == 1809  # 3 x (100 + 200 + 300) + 3 x (0 + 1 + 2)
    acc = pyogrio.read_dataframe(serial["a"] / "results.gpkg", layer="access_settlements")
    resp = pyogrio.read_dataframe(serial["a"] / "results.gpkg", layer="response_settlements")
    water = pyogrio.read_dataframe(serial["a"] / "results.gpkg", layer="water_settlements")
    cps = pyogrio.read_dataframe(serial["a"] / "results.gpkg", layer="checkpoints")
    assert a["标准消防车可达居民点占比（%）"] == pytest.approx(100 * (acc["best_vehicle"] == "standard").sum() / 9, abs=0.05)
    assert a["15 分钟内消防队可到达居民点占比（%）"] == pytest.approx(
        100 * (resp["time_min"].fillna(np.inf) <= 15).sum() / 9, abs=0.05)
    assert a["消防水源覆盖居民点占比（%）"] == pytest.approx(100 * water["covered"].sum() / 9, abs=0.05)
    assert a["森林防火检查站（处）"] == len(cps)
    assert pd.isna(a["林火阻隔带面积（km²）"])  # county-a has no barriers analysis
    bands = pyogrio.read_dataframe(serial["b"] / "results.gpkg", layer="barrier_bands")
    assert sheet.iloc[1]["林火阻隔带面积（km²）"] == pytest.approx(bands["area_m2"].sum() / 1e6, abs=5e-4)


def test_split_towns_sends_township_outputs_to_the_cluster_and_equals_serial(world, serial, client, tmp_path):
    from distributed import get_task_stream

    out = tmp_path / "batch"
    with get_task_stream(client) as ts:
        res = batch.run_batch([world["a"]], out, client=client, split_towns=2)
    assert res.exit_code == 0, res.records
    keys = [t["key"] for t in ts.data]
    # two map tasks and two chapter tasks (three townships in two parts), beside the job itself
    assert sum("kzgis-town_maps-" in str(k) for k in keys) == 2
    assert sum("kzgis-town_chapters-" in str(k) for k in keys) == 2
    assert_same_outputs(serial["a"], out / "county-a")
    leftovers = [p.name for p in (out / "county-a").rglob(".*") if p.name != ".kzgis-output"]
    assert leftovers == []  # no state file, no part folders


def test_run_with_scheduler_uses_the_cluster_for_townships(world, serial, client, tmp_path):
    from distributed import get_task_stream

    out = tmp_path / "run"
    with get_task_stream(client) as ts:
        rc = main(["run", str(world["a"]), "--out", str(out), "--scheduler", client.scheduler.address, "--quiet"])
    assert rc == 0
    keys = [str(t["key"]) for t in ts.data]
    assert sum("kzgis-town_maps-" in k for k in keys) == 2  # one part per worker
    assert_same_outputs(serial["a"], out)


def test_headline_numbers_by_hand():
    inf = np.inf
    results = {
        "access_settlements": pd.DataFrame({"best_vehicle": ["standard", "small", "standard", "none"],
                                            "population": [10, 20, 30, np.nan]}),
        "response_settlements": pd.DataFrame({"time_min": [3.0, 15.0, 15.01, inf]}),
        "water_settlements": pd.DataFrame({"covered": [True, None, False, True]}),
        "barrier_bands": pd.DataFrame({"area_m2": [250_000.0, 1_000_000.0]}),
        "checkpoints": pd.DataFrame({"x": range(3)}),
    }
    h = batch.headline(results)
    assert h == {"settlements": 4, "population": 60.0, "standard_truck_share": 50.0, "brigade_15min_share": 50.0,
                 "water_covered_share": 50.0, "forest_band_km2": 1.25, "checkpoints": 3, "dip_sites": None}


def test_job_names_are_unique_folders(tmp_path):
    r = tmp_path / "r.yaml"
    r.write_text("name: 'a/b:c'\nanalyses: {}\n", encoding="utf-8")
    idx = tmp_path / "index.yaml"
    idx.write_text("name: index.html\nanalyses: {}\n", encoding="utf-8")
    jobs = batch.plan_jobs([r, r, idx])
    assert [j.name for j in jobs] == ["a_b_c", "a_b_c-2", "index.html-2"]
    assert all(j.error is None for j in jobs)


def test_batch_folder_follows_the_output_folder_rule(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.docx").write_text("x")
    with pytest.raises(KzgisError, match="kzgis did not write"):
        batch.run_batch([world["b"]], mine)
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    with pytest.raises(KzgisError, match="existing file"):
        batch.run_batch([world["b"]], afile)
    for bad in ("", ".", str(world["dir"]), str(world["dir"].parent)):  # current, recipe and input folders
        with pytest.raises(KzgisError, match="refused|empty"):
            batch.run_batch([world["b"]], bad)
    assert (mine / "chapter1.docx").read_text() == "x" and afile.read_text() == "x"
    assert sorted(p.name for p in world["dir"].iterdir()) == sorted(
        ["boundary.gpkg", "settlements.gpkg", "roads.gpkg", "stations.gpkg", "hydrants.gpkg", "forest.gpkg",
         "a.yaml", "b.yaml", "bad.yaml", "broken.yaml"])


def test_an_earlier_batch_folder_is_reused_and_keeps_other_jobs(world, client, tmp_path):
    out = tmp_path / "batch"
    assert batch.run_batch([world["b"]], out, client=client).exit_code == 0
    (out / ".county-a.kzgis-tmp-123-dead").mkdir()  # a killed job's staging folder
    res = batch.run_batch([world["bad_layer"]], out, client=client)
    assert res.exit_code == 1
    assert (out / "county-b" / "results.gpkg").exists()  # an earlier job stays
    (out / "notes.txt").write_text("mine")
    with pytest.raises(KzgisError, match="notes.txt"):
        batch.run_batch([world["b"]], out, client=client)
    assert (out / "notes.txt").read_text() == "mine"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_batch_on_a_separately_started_scheduler_and_worker(world, serial, tmp_path):
    """As on a real cluster: `dask scheduler` and `dask worker` are their own processes."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    dask_cli = [sys.executable, "-m", "dask"]
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = []
    with open(logs / "scheduler.log", "w") as slog, open(logs / "worker.log", "w") as wlog:
        try:
            procs.append(subprocess.Popen(dask_cli + ["scheduler", "--host", "127.0.0.1", "--port", str(port),
                                                      "--no-dashboard"], env=env, cwd=tmp_path,
                                          stdout=slog, stderr=subprocess.STDOUT))
            procs.append(subprocess.Popen(dask_cli + ["worker", address, "--nthreads", "1", "--nworkers", "1",
                                                      "--no-dashboard", "--host", "127.0.0.1"], env=env,
                                          cwd=tmp_path, stdout=wlog, stderr=subprocess.STDOUT))
            _use_cluster(address, world, serial, tmp_path, logs)
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in reversed(procs):
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


def _use_cluster(address, world, serial, tmp_path, logs):
    """Wait for the worker, run `kzgis batch --scheduler ADDRESS`, compare with the serial run."""
    from distributed import Client

    deadline = time.monotonic() + 90
    while True:
        try:
            with Client(address, timeout="5s") as c:
                c.wait_for_workers(1, timeout=60)
                workers = set(c.scheduler_info()["workers"])
            break
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    out = tmp_path / "batch"
    rc = main(["batch", str(world["b"]), "--out", str(out), "--scheduler", address, "--quiet"])
    assert rc == 0, (logs / "worker.log").read_text()
    summary = json.loads((out / "batch_summary.json").read_text(encoding="utf-8"))
    assert summary["jobs"][0]["status"] == "ok"
    assert summary["jobs"][0]["worker"] in workers
    assert_same_outputs(serial["b"], out / "county-b")


def test_paths_a_worker_cannot_see_are_named_with_the_shared_path_rule(tmp_path):
    rec = batch.run_job(str(tmp_path / "elsewhere" / "r.yaml"), str(tmp_path / "out"))
    assert rec["status"] == "failed" and "same paths" in rec["error"] and rec["worker"] == "local"
    assert not (tmp_path / "out").exists()
    with pytest.raises(KzgisError, match="shares under the same path"):
        batch._load_state(str(tmp_path / "gone.pkl"))
