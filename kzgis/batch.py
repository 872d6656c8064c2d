"""Many recipes (counties) at once, and one county's townships, on a Dask cluster: ``kzgis batch``.

::

    from kzgis.batch import run_batch
    res = run_batch(["wanzhou.yaml", "kaizhou.yaml"], "out/city", workers=2)   # a LocalCluster
    res = run_batch(recipes, "out/city", scheduler="tcp://10.0.0.5:8786")     # a running cluster
    res.exit_code  # 0 when every job succeeded

Each recipe is one job (a Dask task) that runs :func:`kzgis.pipeline.run` on a worker and writes
exactly what ``kzgis run`` writes into ``DIR/<recipe name>/`` (same atomic swap, same folder rules).
The job reads its layers on the worker from the recipe's paths: only the recipe path goes through
the scheduler, never a data frame. Workers therefore need the same paths (a shared disk) or object
storage URLs GDAL reads (``/vsis3/``, ``/vsicurl/``), and ``DIR`` must be on a disk every worker
writes to.

With ``split_towns=N`` a job also sends its per-township outputs (township maps and report
chapters) to the cluster as N tasks (:class:`DaskTowns`). The job writes its layers and results once
into its temporary output folder (a pickle file on the shared disk, removed before the folder is
swapped into place); the tasks read that file, write their files into the same folder and return
only file names and the chapters' numbers for the county summary. The result is the same as the
serial run: the same result layers, maps and chapters (tests compare them).

A failed job does not stop the others: its error is recorded, ``batch_summary.json`` says which,
and :attr:`BatchResult.exit_code` is 1. ``DIR/index.html`` links every job's maps and report and
``DIR/tables.xlsx`` puts the headline numbers of every recipe on one sheet.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from ._errors import KzgisError
from ._outdir import MARKER

log = logging.getLogger(__name__)

SUMMARY = "batch_summary.json"
INDEX = "index.html"
TABLES = "tables.xlsx"
KIND = "kzgis batch"  # DIR's marker (kzgis._outdir.MARKER) says so: a later batch may write into it
STATE = ".kzgis-towns-state.pkl"  # a job's layers and results for its township tasks
RESPONSE_MIN = 15.0  # the comparison sheet's response-time cut (issue 15: "within 15 min of a brigade")
_RESERVED = {SUMMARY.lower(), INDEX.lower(), TABLES.lower()}
_LEFTOVER = re.compile(r"^\..+\.(kzgis-(tmp|old)-.*|kzgis-lock)$")  # a job's staging / lock, beside its folder


# -- jobs -------------------------------------------------------------------------------------------


@dataclass
class Job:
    """One recipe of a batch: its output folder name under ``DIR`` and the recipe path."""

    name: str
    recipe: Path
    error: str | None = None  # the recipe could not be read (the job is recorded as failed)
    inputs: list = field(default_factory=list)  # its layer paths (DIR may not hold them)


@dataclass
class BatchResult:
    out_dir: Path
    records: list = field(default_factory=list)  # one dict per job, in the order given
    summary: dict = field(default_factory=dict)

    @property
    def failed(self) -> list:
        return [r for r in self.records if r["status"] != "ok"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def folder_name(name: str) -> str:
    """A recipe name as a folder name (path separators and reserved characters replaced)."""
    s = re.sub(r'[\\/:*?"<>|\x00-\x1f\u202a-\u202e\u2066-\u2069]', "_", str(name)).strip().strip(".")
    return s or "job"


def plan_jobs(recipes) -> list[Job]:
    """Read each recipe for its name; equal names get ``-2``, ``-3``... A recipe that cannot be read
    becomes a job that has already failed (the others still run)."""
    from . import recipe as _recipe

    jobs, used = [], set(_RESERVED)
    for given in recipes:
        path = Path(given).expanduser().resolve()
        error, inputs = None, []
        try:
            rec = _recipe.load(path)
            name = rec.name
            inputs = [src.path for src in rec.layers.values() if getattr(src, "path", None) is not None]
        except KzgisError as exc:
            name, error = path.stem, str(exc)
        except Exception as exc:  # noqa: BLE001 - unreadable file, bad YAML... recorded, the batch goes on
            name, error = path.stem, f"{type(exc).__name__}: {exc}"
        base = folder_name(name)
        job, i = base, 2
        while job.lower() in used:
            job, i = f"{base}-{i}", i + 1
        used.add(job.lower())
        jobs.append(Job(job, path, error, inputs))
    return jobs


_JOB_LOCK = threading.RLock()  # one job computing per worker process (module state, log files)


def run_job(recipe_path: str, out_dir: str, split_towns: int = 0, towns=None, only=None) -> dict:
    """Run one recipe into ``out_dir`` (on a Dask worker, or here); return a small record.

    Never raises for a failed recipe: the record has ``status`` ``"failed"`` and the ``error``.
    """
    from . import pipeline
    from . import recipe as _recipe

    t0 = time.perf_counter()
    rec = {"status": "failed", "error": None, "worker": _worker_address(), "headline": None,
           "warnings": None, "outputs": None}
    with _JOB_LOCK:
        try:
            if not Path(recipe_path).exists():
                raise KzgisError(f"the recipe {recipe_path} is not there on worker {rec['worker']}: every worker "
                                 "needs the recipes and layers under the same paths (a shared disk, or /vsis3/ "
                                 "/vsicurl/ layer paths)")
            recipe = _recipe.load(recipe_path)
            runner = DaskTowns(split_towns, lock=_JOB_LOCK) if split_towns else None
            res = pipeline.run(recipe, out_dir=Path(out_dir), towns=towns, quiet=True, only=only,
                               town_runner=runner)
            rec.update(status="ok", headline=headline(res.results), warnings=len(res.summary.get("warnings", [])),
                       outputs=res.summary.get("outputs"))
        except KzgisError as exc:
            rec["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded in the summary; the other jobs go on
            rec["error"] = f"{type(exc).__name__}: {exc}"
            rec["traceback"] = traceback.format_exc(limit=-8)
    rec["wall_s"] = round(time.perf_counter() - t0, 2)
    return rec


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


# -- headline numbers ---------------------------------------------------------------------------------


HEADLINE = {  # key -> column of DIR/tables.xlsx
    "settlements": "居民点（个）",
    "population": "人口（人）",
    "standard_truck_share": "标准消防车可达居民点占比（%）",
    "brigade_15min_share": f"{RESPONSE_MIN:g} 分钟内消防队可到达居民点占比（%）",
    "water_covered_share": "消防水源覆盖居民点占比（%）",
    "forest_band_km2": "林火阻隔带面积（km²）",
    "checkpoints": "森林防火检查站（处）",
    "dip_sites": "直升机取水点（处）",
}


def _share(mask) -> float | None:
    mask = np.asarray(mask, dtype=bool)
    return round(100.0 * float(mask.mean()), 1) if mask.size else None


def headline(results: dict) -> dict:
    """The numbers a corps compares its counties by (``None`` where the analysis did not run).

    Shares are of settlements (rows of the settlement results): reached by a standard fire truck
    (``access``: best vehicle ``standard``), reached by a brigade within 15 min (``response``:
    ``time_min``), covered by a fire water source (``water``: ``covered``); the forest-barrier band
    area in km2 (``barriers``), the number of forest checkpoints and of helicopter dip sites.
    """
    h: dict = dict.fromkeys(HEADLINE)
    acc = results.get("access_settlements")
    if acc is not None:
        h["settlements"] = len(acc)
        if "population" in acc.columns:
            h["population"] = float(pd.to_numeric(acc["population"], errors="coerce").sum())
        if "best_vehicle" in acc.columns:
            h["standard_truck_share"] = _share(acc["best_vehicle"].astype(str) == "standard")
        elif "time_min_standard" in acc.columns:
            h["standard_truck_share"] = _share(np.isfinite(pd.to_numeric(acc["time_min_standard"],
                                                                         errors="coerce").to_numpy(float)))
    resp = results.get("response_settlements")
    if resp is not None and "time_min" in resp.columns:
        t = pd.to_numeric(resp["time_min"], errors="coerce").to_numpy(float)
        h["brigade_15min_share"] = _share(np.nan_to_num(t, nan=np.inf) <= RESPONSE_MIN)
        if h["settlements"] is None:
            h["settlements"] = len(resp)
    water = results.get("water_settlements")
    if water is not None and "covered" in water.columns:
        h["water_covered_share"] = _share(water["covered"].fillna(False).astype(bool))
    bands = results.get("barrier_bands")
    if bands is not None:
        area = (pd.to_numeric(bands["area_m2"], errors="coerce").sum() if "area_m2" in bands.columns
                else float(bands.geometry.area.sum()) if hasattr(bands, "geometry") else np.nan)
        h["forest_band_km2"] = round(float(area) / 1e6, 3)
    for key, name in (("checkpoints", "checkpoints"), ("dip_sites", "heli_dip_sites")):
        if results.get(name) is not None:
            h[key] = len(results[name])
    return h


# -- township outputs as Dask tasks ---------------------------------------------------------------


class DaskTowns:
    """Send a run's per-township maps and report chapters to a Dask cluster as ``parts`` tasks.

    ``pipeline.run(recipe, town_runner=DaskTowns(4, client))`` from a client process, or
    ``DaskTowns(4)`` inside a task (a batch job), which then submits through ``worker_client``.
    The run's temporary output folder must be on a disk every worker reads and writes (same path).
    """

    def __init__(self, parts: int, client=None, lock=None):
        if int(parts) < 1:
            raise KzgisError(f"--split-towns: expected a number of tasks >= 1, got {parts}")
        self.parts = int(parts)
        self.client = client
        self.lock = lock  # released while this job waits for its tasks (another job may use the worker)

    def bind(self, tmp, ctx, results, recipe, towns) -> _BoundTowns:
        return _BoundTowns(self, Path(tmp), ctx, results, recipe, towns)


class _BoundTowns:
    def __init__(self, runner: DaskTowns, tmp: Path, ctx, results, recipe, towns):
        from .analysis import Context

        self.runner = runner
        self.state = tmp / STATE
        light = Context(layers=ctx.layers, network_params=ctx.network_params, warnings=list(ctx.warnings),
                        towns=ctx.towns)  # not the network cache: the outputs do not route
        with open(self.state, "wb") as f:
            pickle.dump({"ctx": light, "results": results, "recipe": recipe, "towns": towns}, f,
                        protocol=pickle.HIGHEST_PROTOCOL)
        self.token = uuid.uuid4().hex[:8]

    def close(self):
        self.state.unlink(missing_ok=True)

    def _chunks(self, items: list) -> list[list]:
        n = min(self.runner.parts, len(items))
        if n == 0:
            return []
        bounds = np.linspace(0, len(items), n + 1).round().astype(int)
        return [items[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    def _gather(self, func, calls: list[tuple]) -> list:
        def submit(client):
            futs = [client.submit(func, *args, key=f"kzgis-{func.__name__.strip('_')}-{self.token}-{i}", pure=False)
                    for i, args in enumerate(calls)]
            return client.gather(futs)

        if self.runner.client is not None:
            return submit(self.runner.client)
        from distributed import worker_client

        lock = self.runner.lock
        if lock is not None:
            lock.release()
        try:
            with worker_client() as client:  # secedes: this thread does not hold a worker slot meanwhile
                return submit(client)
        finally:
            if lock is not None:
                lock.acquire()

    def maps(self, jobs: list, out_dir) -> None:
        out_dir = Path(out_dir)
        chunks = self._chunks(list(jobs))
        parts = [out_dir / f".part-{self.token}-{i}" for i in range(len(chunks))]
        written = self._gather(_town_maps, [(str(self.state), str(p), c) for p, c in zip(parts, chunks)])
        for part, chunk, names in zip(parts, chunks, written):
            for (_town, fname), got in zip(chunk, names):
                os.replace(part / got, out_dir / fname)
            shutil.rmtree(part, ignore_errors=True)

    def report(self, names: list, out_dir) -> dict:
        done: dict = {}
        for part in self._gather(_town_chapters, [(str(self.state), str(out_dir), c) for c in self._chunks(list(names))]):
            done.update(part)
        return done


_STATES: dict = {}
_STATES_LOCK = threading.Lock()


def _load_state(path: str) -> dict:
    """A job's layers and results, read once per worker process (the last two kept)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise KzgisError(f"worker {_worker_address()} cannot see {path}: the output folder must be on a disk "
                         "every worker shares under the same path (kzgis run --scheduler / --split-towns)") from None
    key = (path, st.st_mtime_ns, st.st_size)
    with _STATES_LOCK:
        if key not in _STATES:
            while len(_STATES) >= 2:
                _STATES.pop(next(iter(_STATES)))
            with open(path, "rb") as f:
                _STATES[key] = pickle.load(f)
        return _STATES[key]


def _town_maps(state_path: str, part_dir: str, jobs: list) -> list[str]:
    """(task) Write the township maps of ``jobs`` [(town, file name)] into ``part_dir``; their names."""
    from .maps import MapOptions, write_maps

    s = _load_state(state_path)
    rec = s["recipe"]
    opts = MapOptions.from_mapping(rec.outputs.maps)
    paths = write_maps(s["ctx"].layers, s["results"], Path(part_dir), opts, title=rec.title,
                       towns=[t for t, _ in jobs], towns_only=True)
    if len(paths) != len(jobs):
        raise KzgisError(f"maps: a township task wrote {len(paths)} maps for {len(jobs)} townships "
                         f"({', '.join(t for t, _ in jobs)})")
    return [Path(p).name for p in paths]


def _town_chapters(state_path: str, out_dir: str, names: list) -> dict:
    """(task) Write the report chapters of ``names`` into ``out_dir``; their paths and numbers."""
    from .report import town_chapters

    s = _load_state(state_path)
    return town_chapters(s["ctx"], s["results"], Path(out_dir), s["recipe"], names,
                         options=s["recipe"].outputs.report)


# -- the batch --------------------------------------------------------------------------------------


def _prepare_dir(out_dir, jobs: list[Job]) -> Path:
    """Check the batch folder ``DIR`` by kzgis's output-folder rule (:mod:`kzgis._outdir`); return it.

    ``DIR`` must be new, empty or an earlier batch folder (its marker says ``kzgis batch`` and it
    holds only what batches wrote, plus a killed job's staging folder, which that job's next run
    clears); the root, home and current folders, a recipe's folder, a folder holding an input layer
    and files are refused before any work. The job folders inside follow the rule themselves
    (``pipeline.run``): each replaced only when its run succeeded.
    """
    from ._outdir import OutputError, check_output_folder

    raw = "" if out_dir is None else str(out_dir)
    recipes = [j.recipe for j in jobs if j.recipe.is_file()] or [None]
    inputs = [p for j in jobs for p in j.inputs]
    target = None
    for rp in recipes:
        try:
            target = check_output_folder(raw, recipe_path=rp, inputs=inputs, what="--out")
        except OutputError as exc:
            # the location checks come first; an earlier batch folder fails only the content check
            folder = Path(os.path.abspath(os.path.expanduser(raw))).resolve() if raw.strip() else None
            if folder is None or "did not write" not in str(exc) or _batch_extras(folder) != []:
                extra = _batch_extras(folder) if folder is not None and folder.is_dir() else None
                if extra:
                    shown = ", ".join(extra[:5]) + (f" (+{len(extra) - 5} more)" if len(extra) > 5 else "")
                    raise OutputError(f"--out {folder}: refused, this earlier kzgis batch folder also holds "
                                      f"files kzgis did not write: {shown}. Move them out (or give --out "
                                      "another folder).") from None
                raise
            target = folder
    return target


def _mark_dir(target: Path, jobs: list[Job]) -> None:
    """Create ``DIR`` and mark it as a batch folder naming the job folders about to be written."""
    from ._outdir import read_marker

    target.mkdir(parents=True, exist_ok=True)
    before = read_marker(target) or {}
    files = set(before.get("files") or []) | {j.name for j in jobs} | {SUMMARY, INDEX, TABLES}
    _write_marker(target, files, "writing")


def _batch_extras(folder: Path) -> list[str] | None:
    """Entries of an earlier batch folder that no batch wrote (None: not a batch folder)."""
    from ._outdir import MARKER, read_marker

    marker = read_marker(folder)
    if not marker or marker.get("kind") != KIND:
        return None
    known = set(marker.get("files") or []) | {MARKER}
    return sorted(p.name for p in folder.iterdir() if p.name not in known and not _LEFTOVER.match(p.name))


def _write_marker(folder: Path, files, state: str):
    from ._outdir import MARKER

    data = {"kzgis_version": __version__, "kind": KIND, "state": state,
            "updated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "note": "a kzgis batch folder: kzgis batch writes job folders and summaries here",
            "files": sorted(files)}
    _write_atomic(folder / MARKER, lambda p: p.write_text(json.dumps(data, ensure_ascii=False, indent=1),
                                                          encoding="utf-8"))


def _write_atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Cluster:
    """A client on ``scheduler``, or on a LocalCluster of ``workers`` processes started and closed here."""

    def __init__(self, scheduler=None, workers=None, dashboard=False):
        self.scheduler, self.workers, self.dashboard = scheduler, workers, dashboard
        self.cluster = self.client = None

    def __enter__(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a dependency
            raise KzgisError("kzgis batch needs dask.distributed: pip install 'dask[distributed]'") from exc
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise KzgisError(f"--scheduler {self.scheduler}: cannot reach the Dask scheduler ({exc}); "
                                 "start one with `dask scheduler` and workers with `dask worker ADDRESS`") from exc
        else:
            n = int(self.workers) if self.workers is not None else (os.cpu_count() or 1)
            if n < 1:
                raise KzgisError(f"--workers: expected at least 1, got {n}")
            with warnings.catch_warnings():  # "port 8787 in use, using another": not the user's concern
                warnings.filterwarnings("ignore", message="Port .* is already in use")
                self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                            dashboard_address=":0" if self.dashboard else None,
                                            silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc):
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "worker still alive after 4 s, killing" at close is no news
        try:
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            quiet.setLevel(level)


def run_batch(recipes, out_dir, scheduler: str | None = None, workers: int | None = None,
              split_towns: int = 0, dashboard: bool = False, quiet: bool = True, echo=None,
              client=None) -> BatchResult:
    """Run every recipe as a job on a Dask cluster; write ``DIR/<job>/`` and the batch summaries.

    Parameters
    ----------
    recipes : recipe paths (each a job; its output folder is the recipe's ``name``)
    out_dir : the batch folder ``DIR`` (new, or an earlier batch folder)
    scheduler : address of a running Dask scheduler (``tcp://host:8786``); default: a LocalCluster
    workers : worker processes of the LocalCluster (default: the number of cores)
    split_towns : also split each job's township maps and chapters into this many tasks (0 = no)
    dashboard : tell ``echo`` the dashboard link
    quiet : no progress bar
    echo : callable for one line per event (default: nothing)
    client : an existing ``distributed.Client`` to use instead (scheduler and workers ignored)

    Returns
    -------
    BatchResult : the records (one per job, in the order given); ``exit_code`` 1 when one failed.
    """

    echo = echo or (lambda s: None)
    if not recipes:
        raise KzgisError("kzgis batch: give at least one recipe")
    if split_towns and int(split_towns) < 1:
        raise KzgisError(f"--split-towns: expected a number of tasks >= 1, got {split_towns}")
    t0 = time.perf_counter()
    jobs = plan_jobs(recipes)
    out_dir = _prepare_dir(out_dir, jobs)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = _batch_lock(out_dir)
    try:
        return _run_jobs(jobs, out_dir, t0, scheduler, workers, split_towns, dashboard, quiet, echo, client)
    finally:
        lock.release()


def _batch_lock(out_dir: Path):
    """One batch at a time per ``DIR`` (an exclusive lock beside it, as for a run's folder)."""
    from ._outdir import _Lock

    lock = _Lock(out_dir.parent / f".{out_dir.name}.kzgis-batch-lock", out_dir)
    lock.acquire()
    return lock


def _run_jobs(jobs, out_dir, t0, scheduler, workers, split_towns, dashboard, quiet, echo, client) -> BatchResult:
    from tqdm import tqdm

    records: dict[str, dict] = {}
    for job in jobs:
        if job.error:
            records[job.name] = {"status": "failed", "error": job.error, "worker": None, "wall_s": 0.0,
                                 "headline": None, "warnings": None, "outputs": None}
    todo = [j for j in jobs if not j.error]
    cm = _Cluster(scheduler, workers, dashboard) if client is None else None
    address = None
    n_workers = None
    try:
        if cm is not None:
            client = cm.__enter__()
        _mark_dir(out_dir, jobs)  # only now: an unreachable scheduler leaves no folder behind
        address = client.scheduler.address
        n_workers = len(client.scheduler_info().get("workers", {}))
        if dashboard:
            link = client.dashboard_link
            echo(f"dashboard: {link}" if link else "dashboard: not available (start the scheduler with one)")
        bar = tqdm(total=len(jobs), unit="job", desc="kzgis batch",
                   disable=quiet or not sys.stderr.isatty())
        bar.update(len(jobs) - len(todo))
        for job in jobs:
            if job.error:
                echo(f"  failed  {job.name}: {job.error}")
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        futures = {client.submit(run_job, str(j.recipe), str(out_dir / j.name), int(split_towns or 0),
                                 key=f"kzgis-job-{j.name}-{token}", pure=False, retries=0): j for j in todo}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # noqa: BLE001 - the worker died, was killed, or the task could not run
                rec = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "worker": None,
                       "wall_s": None, "headline": None, "warnings": None, "outputs": None}
            records[job.name] = rec
            bar.update(1)
            if rec["status"] == "ok":
                echo(f"  ok      {job.name} ({rec['wall_s']:.1f} s on {rec['worker']})")
            else:
                echo(f"  failed  {job.name}: {rec['error']}")
        bar.close()
    finally:
        if cm is not None:
            cm.__exit__(None, None, None)

    ordered = []
    for job in jobs:
        rec = dict(records[job.name])
        ordered.append({"job": job.name, "recipe": str(job.recipe), "status": rec.pop("status"),
                        "wall_s": rec.pop("wall_s", None), "worker": rec.pop("worker", None),
                        "error": rec.pop("error", None), "out_dir": job.name, **rec})
    summary = {
        "kzgis_version": __version__,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "scheduler": scheduler or (f"LocalCluster ({address})" if cm is not None else address),
        "workers": n_workers,
        "split_towns": int(split_towns or 0),
        "jobs_total": len(jobs),
        "jobs_failed": sum(r["status"] != "ok" for r in ordered),
        "wall_s": round(time.perf_counter() - t0, 2),
        "jobs": ordered,
    }
    _write_atomic(out_dir / SUMMARY, lambda p: p.write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, default=_json_default, allow_nan=False), encoding="utf-8"))
    _write_atomic(out_dir / INDEX, lambda p: p.write_text(index_html(summary, out_dir), encoding="utf-8"))
    _write_atomic(out_dir / TABLES, lambda p: write_comparison(summary, p))
    files = {p.name for p in out_dir.iterdir() if p.is_dir() and (p / MARKER).is_file()} | {SUMMARY, INDEX, TABLES}
    _write_marker(out_dir, files, "complete")
    return BatchResult(out_dir=out_dir, records=ordered, summary=summary)


def _json_default(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v) if np.isfinite(v) else None
    return str(v)


# -- DIR/index.html and DIR/tables.xlsx ---------------------------------------------------------------


def _report_links(rec: dict) -> tuple[str | None, list[str]]:
    """(the county summary html, the township chapters' html) of a job, relative to its folder."""
    files = [f for f in ((rec.get("outputs") or {}).get("report") or []) if f.endswith(".html")]
    county = next((f for f in files if f.endswith("汇总.html")), None)
    return county, [f for f in files if f != county]


def index_html(summary: dict, out_dir: Path) -> str:
    """``DIR/index.html``: one row per job with its status and links to its maps and report."""
    e = html.escape
    rows = []
    for r in summary["jobs"]:
        job = r["job"]
        base = job + "/"
        links = []
        if r["status"] == "ok":
            maps = (r.get("outputs") or {}).get("maps") or []
            if any(Path(m).name == "index.html" for m in maps):
                links.append(f'<a href="{e(base)}maps/index.html">地图索引</a>')
            county, towns = _report_links(r)
            if county:
                links.append(f'<a href="{e(base + county)}">消防专篇汇总</a>')
            if towns:
                links.append(f'<a href="{e(base)}report/">乡镇消防专篇（{len(towns)} 篇）</a>')
            links.append(f'<a href="{e(base)}summary.json">summary.json</a>')
            status = "完成"
        else:
            status = "失败"
        err = f'<pre class="err">{e(str(r.get("error") or ""))}</pre>' if r.get("error") else ""
        wall = "" if r.get("wall_s") is None else f"{r['wall_s']:.1f}"
        rows.append(f"<tr class=\"{e(r['status'])}\"><td>{e(job)}</td><td>{status}</td><td>{wall}</td>"
                    f"<td>{e(str(r.get('worker') or ''))}</td><td>{' · '.join(links)}{err}</td>"
                    f"<td>{_headline_text(r.get('headline'))}</td></tr>")
    failed = summary["jobs_failed"]
    head = (f"{summary['jobs_total']} 项任务，{failed} 项失败" if failed else f"{summary['jobs_total']} 项任务全部完成")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>kzgis 批量规划任务</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}}
td:nth-child(-n+4),th{{white-space:nowrap}}
tr.failed td{{background:#fdecea}}pre.err{{white-space:pre-wrap;margin:0;color:#a00;max-width:60em}}</style>
</head><body><h1>kzgis 批量规划任务</h1>
<p>{e(head)}；完成时间 {e(summary['finished_utc'])}；集群 {e(str(summary['scheduler']))}。
各县（区）对比见 <a href="{TABLES}">{TABLES}</a>，明细见 <a href="{SUMMARY}">{SUMMARY}</a>。</p>
<table><tr><th>任务</th><th>状态</th><th>耗时（s）</th><th>计算节点</th><th>成果</th><th>要点</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""


_SHORT = {"standard_truck_share": ("标准消防车可达", "%"), "brigade_15min_share": (f"{RESPONSE_MIN:g} 分钟到达", "%"),
          "water_covered_share": ("水源覆盖", "%"), "forest_band_km2": ("阻隔带", " km²"),
          "checkpoints": ("检查站", " 处"), "dip_sites": ("取水点", " 处")}


def _headline_text(h) -> str:
    """The headline numbers in one line for index.html (escaped)."""
    if not h:
        return ""
    parts = [f"{label} {h[k]:g}{unit}" for k, (label, unit) in _SHORT.items() if h.get(k) is not None]
    return html.escape(" · ".join(parts))


def comparison_table(summary: dict) -> pd.DataFrame:
    """One row per job: recipe, status and the headline numbers (Chinese column names)."""
    rows = []
    for r in summary["jobs"]:
        h = r.get("headline") or {}
        row = {"任务": r["job"], "配方": r["recipe"], "状态": "完成" if r["status"] == "ok" else "失败"}
        row.update({col: h.get(key) for key, col in HEADLINE.items()})
        row["耗时（s）"] = r.get("wall_s")
        row["错误"] = r.get("error") or ""
        rows.append(row)
    return pd.DataFrame(rows)


def write_comparison(summary: dict, path: Path) -> None:
    """``DIR/tables.xlsx``: the comparison sheet; text cells are stored as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    df = comparison_table(summary)
    wb = Workbook()
    ws = wb.active
    ws.title = "对比"
    ws.append(list(df.columns))
    for values in df.itertuples(index=False):
        ws.append([None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v for v in values])
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", cell.value)
                cell.data_type = "s"  # '=...' stays text
    for i, col in enumerate(df.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(col)) * 2))
    ws.freeze_panes = "B2"
    wb.save(path)
