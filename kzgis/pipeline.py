"""Run a recipe end to end: load layers, run analyses in dependency order, write outputs atomically.

Outputs are written into a temporary folder beside the target and moved into place only when
everything succeeded, so a failed or interrupted run never leaves a half-written result next to a
good one: the previous output folder stays untouched.
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import __version__
from . import analysis as _analysis
from . import params as _params
from ._errors import AnalysisError, KzgisError, OutputError, RecipeError, suggest
from ._memory import Trimmer, release_memory
from ._outdir import OutputFolder, check_output_folder, os_error_message
from .load import load_layers
from .recipe import Recipe

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    out_dir: Path
    results: dict
    summary: dict
    ran: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)


def _missing_layers(spec: _analysis.Analysis, layers) -> list[str]:
    return spec.missing(layers)


def _limit_towns(layers, towns):
    """Keep only the settlements of the given townships (the network and stations stay whole)."""
    known = set()
    if layers.has("boundary"):
        known = set(layers["boundary"]["town"].dropna())
    elif layers.has("settlements") and "town" in layers["settlements"]:
        known = set(layers["settlements"]["town"].dropna())
    for t in towns:
        if known and t not in known:
            raise RecipeError(f"--towns: unknown township '{t}'{suggest(t, known)}")
    if layers.has("settlements") and "town" in layers["settlements"]:
        s = layers["settlements"]
        layers["settlements"] = s[s["town"].isin(towns)]


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, (tuple, set)):
        return list(v)
    return str(v)


def _strict(v):
    """Nested data with every NaN/inf float replaced by None (strict JSON has neither)."""
    if isinstance(v, dict):
        return {str(k): _strict(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_strict(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.ndarray):
        return _strict(v.tolist())
    return v


def strict_json(data) -> str:
    """``json.dumps`` that writes strict JSON: NaN and +-inf become ``null`` (never ``NaN``)."""
    return json.dumps(_strict(data), ensure_ascii=False, indent=2, default=_jsonable, allow_nan=False)


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _data_gaps(layers) -> dict:
    """How much of the input the totals cannot count (issue 12: no silent wrong answers)."""
    gaps = {}
    if layers.has("settlements"):
        s = layers["settlements"]
        pop = s["population"] if "population" in s else None
        gaps["settlements_without_population"] = int(len(s) if pop is None else pop.isna().sum())
        gaps["settlements"] = int(len(s))
    counted = {}
    for p in layers.problems:
        if p.code in ("empty-geometry", "nan-vertex", "zero-length", "not-a-number", "control-characters"):
            key = f"{p.layer}.{p.code}"
            counted[key] = counted.get(key, 0) + len(p.fids)
    gaps["features_reported"] = counted
    return gaps


def _nothing_ran(skipped: dict, layers) -> str:
    vector = [k for k, v in layers.items() if k != "dem"]
    empty = [k for k in vector if len(layers[k]) == 0]
    why = "; ".join(skipped.values()) if skipped else "no analysis ran"
    msg = f"nothing to write: every analysis was skipped ({why})"
    if vector and len(empty) == len(vector):
        msg += f". Every input layer is empty ({', '.join(empty)}): check the files and any 'layer:' name"
    return msg + ". The previous output folder is untouched."


def write_gpkg(results: dict, path: Path, crs) -> list[str]:
    """Write every result frame as a named layer (tables without geometry as attribute tables).

    Each layer goes in as one transaction (pyogrio), its geometry encoded once; SQLite does not
    wait for the disk after each statement (``OGR_SQLITE_SYNCHRONOUS=OFF``): the file is written
    into the run's staging folder and only moved into place once the whole run succeeded, so a
    crash half-way never leaves it as a result (on a loaded disk the syncs were most of the time).
    """
    import pyogrio

    written = []
    keep = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        for name, frame in results.items():
            if frame is None:
                continue
            if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
                out = frame if frame.crs is not None else frame.set_crs(crs)
                out = _clean_columns(out.reset_index(drop=not _named_index(out)))
                pyogrio.write_dataframe(out, path, layer=name, promote_to_multi=True)
            else:
                df = pd.DataFrame(frame)
                df = _clean_columns(df.reset_index(drop=not _named_index(df)))
                pyogrio.write_dataframe(df, path, layer=name)
            written.append(name)
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": keep})
    return written


def _named_index(df) -> bool:
    return df.index.name is not None and df.index.name not in df.columns


def _clean_columns(df):
    """Make a frame storable in a GeoPackage.

    Lists/dicts become JSON text; a column named ``fid`` (the user's feature ids, which may be text
    or repeat) is renamed ``feature_id`` because GeoPackage reserves ``fid`` for its own row ids.
    """
    df = df.copy(deep=False)  # columns below are replaced, never changed in place
    if "fid" in df.columns:
        df = df.rename(columns={"fid": "feature_id" if "feature_id" not in df.columns else "fid_source"})
    for col in df.columns:
        if col == getattr(df, "_geometry_column_name", None):
            continue
        if df[col].dtype == object:
            sample = df[col].dropna().head(20)
            if any(isinstance(v, (list, dict, tuple, set)) for v in sample):
                df[col] = df[col].map(lambda v: json.dumps(_listify(v), ensure_ascii=False)
                                      if v is not None and not (isinstance(v, float) and np.isnan(v)) else None)
    return df


def _listify(v):
    if isinstance(v, (set, tuple)):
        return list(v)
    return v


def write_tables(results: dict, path: Path) -> list[str]:
    """One sheet per result table (attribute columns; geometry dropped), Chinese headers.

    Written by :mod:`kzgis._xlsx` (vectorised; text stays text, never a formula)."""
    from ._labels import header_zh
    from ._xlsx import write_xlsx

    written, sheets = [], []
    for name, frame in results.items():
        if frame is None:
            continue
        df = pd.DataFrame(frame)
        if isinstance(frame, gpd.GeoDataFrame):
            df = df.drop(columns=[frame.geometry.name], errors="ignore")
        df = _clean_columns(df.reset_index(drop=not _named_index(df)))
        df = df.rename(columns={c: header_zh(c, layer=name) for c in df.columns})  # the schema label first
        sheets.append((name, df))
        written.append(name)
    if not sheets:
        sheets.append(("summary", pd.DataFrame({"说明": ["没有分析结果"]})))
    write_xlsx(sheets, path)
    return written


def _counts(frame) -> int:
    return len(frame) if frame is not None else 0


def _inputs(recipe: Recipe) -> list[Path]:
    return [src.path for src in recipe.layers.values() if getattr(src, "path", None) is not None]


def check_out_dir(recipe: Recipe, out_dir=None) -> Path:
    """The output folder a run of ``recipe`` would write, validated (see :mod:`kzgis._outdir`).

    Raises :class:`~kzgis._errors.OutputError` before any work when the folder is not kzgis's to replace.
    """
    what = "--out" if out_dir is not None else "outputs.dir"
    target = out_dir if out_dir is not None else recipe.outputs.dir
    return check_output_folder(target, recipe_path=recipe.path, inputs=_inputs(recipe), what=what)


def run(recipe: Recipe, out_dir: Path | None = None, towns=None, quiet: bool = True,
        only: list[str] | None = None, town_runner=None) -> RunResult:
    """Run every analysis the recipe names and write all outputs.

    The output folder follows the rule of :mod:`kzgis._outdir`: it is refused before any work when
    it holds anything kzgis did not write; outputs are staged beside it and swapped in only when the
    run succeeded and produced something, so a failed, interrupted or empty run leaves the previous
    output untouched.

    Parameters
    ----------
    recipe : Recipe
    out_dir : output folder (default: the recipe's ``outputs.dir``)
    towns : limit the job to these townships (names as in the boundary layer)
    quiet : no progress bar
    only : run only these analyses of the recipe
    town_runner : where the per-township maps and report chapters are written (e.g.
        :class:`kzgis.batch.DaskTowns`: a Dask cluster); default: here. ``bind(tmp, ctx, results,
        recipe, towns)`` gives an object with ``.maps`` and ``.report`` (the ``town_runner`` hooks of
        :func:`kzgis.maps.write_maps` and :func:`kzgis.report.write_report`) and ``close()``.
    """
    what = "--out" if out_dir is not None else "outputs.dir"
    target = out_dir if out_dir is not None else recipe.outputs.dir
    with OutputFolder(target, recipe_path=recipe.path, inputs=_inputs(recipe), what=what) as folder:
        tmp = folder.staging
        handler = logging.FileHandler(tmp / "kzgis.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_NotOtherRuns())
        root = logging.getLogger("kzgis")
        root.addHandler(handler)
        old_level = root.level
        root.setLevel(min(old_level or logging.INFO, logging.INFO))
        _RUN_THREADS.add(threading.get_ident())
        try:
            for note in folder.notes:
                log.warning(note)
            try:
                with Trimmer():  # free pages back to the system during the steps too (issue 14)
                    result = _run(recipe, tmp, folder.path, towns, quiet, only, notes=folder.notes,
                                  town_runner=town_runner)
            except KzgisError:
                raise
            except OSError as exc:
                msg = os_error_message(exc, folder.path)
                if msg is None:
                    raise
                raise OutputError(msg) from exc
            except Exception as exc:  # e.g. pyogrio's DataSourceError "Failed to commit transaction"
                msg = os_error_message(exc, folder.path, disk_full=True) if _disk_full(tmp) else None
                if msg is None:
                    raise
                raise OutputError(msg) from exc
        finally:
            gc.unfreeze()
            _RUN_THREADS.discard(threading.get_ident())
            root.removeHandler(handler)
            handler.close()
            root.setLevel(old_level)
    result.out_dir = folder.path
    return result


_RUN_THREADS: set = set()  # threads running a recipe in this process (a Dask worker may run two)


class _NotOtherRuns(logging.Filter):
    """A run's log file takes its own thread's records and helper threads', not another run's."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record):
        return record.thread == self.thread or record.thread not in _RUN_THREADS


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1_000_000
    except OSError:
        return False


def _network_outputs(ctx, layers, results, counts):
    """The road network's summary block and ``network_issues`` layer (when there are roads).

    Settlements on a disconnected part of the network, or reachable only against a one-way, are
    named in the warnings. A network that cannot be built is a warning here (the analyses that
    need it have already failed with the reason).
    """
    from . import _net_report

    if not layers.has("roads"):
        return None
    try:
        net = ctx.network()
    except KzgisError as exc:
        ctx.warn(f"road network not summarised: {exc}")
        return None
    block = _net_report.network_summary(net)
    settlements = layers["settlements"] if layers.has("settlements") else None
    stations = layers["stations"] if layers.has("stations") else None
    for w in _net_report.settlement_warnings(net, settlements, stations):
        ctx.warn(w)
    if net.issues is not None:  # also when empty: the checks ran and found nothing
        results["network_issues"] = net.issues
        counts["network_issues"] = len(net.issues)
    return block


def _run(recipe: Recipe, tmp: Path, out_dir: Path, towns, quiet, only, notes=(), town_runner=None) -> RunResult:
    """Load the layers, run the analyses, write every output into ``tmp``; the body of :func:`run`."""
    from tqdm import tqdm

    timings = {}
    t0 = time.perf_counter()
    towns = tuple(towns) if towns else recipe.towns
    registry = _analysis.load_all()
    ordered = _analyses_to_run(recipe, only)
    show = not quiet and sys.stderr.isatty()
    steps = ["layers"] + ordered + ["outputs"]
    bar = tqdm(total=len(steps), disable=not show, unit="step", desc="kzgis")

    bar.set_postfix_str("loading layers")
    layers = load_layers(recipe.layers, recipe.crs)
    if towns:
        _limit_towns(layers, towns)
    timings["layers"] = round(time.perf_counter() - t0, 3)
    bar.update(1)
    # the imported modules and the loaded layers live through the run: leave them out of the garbage
    # collector's full passes, which otherwise walk them again and again (gc.freeze; unfrozen when
    # the run ends). Also keeps the forked report workers from copying pages the collector touched.
    gc.freeze()

    ctx = _new_context(recipe, layers, towns, notes)
    results: dict = {}
    ran, skipped, counts, params_used = _run_analyses(recipe, registry, ordered, ctx, results, timings, bar)
    if not ran:
        raise AnalysisError(_nothing_ran(skipped, layers))
    network_block = _network_outputs(ctx, layers, results, counts)
    _release(ctx, analyses_done=True)

    bar.set_postfix_str("writing outputs")
    t2 = time.perf_counter()
    outputs = _write_outputs(recipe, tmp, ctx, results, towns, town_runner, timings)
    timings["outputs"] = round(time.perf_counter() - t2, 3)
    timings["total"] = round(time.perf_counter() - t0, 3)
    bar.update(1)
    bar.close()

    summary = {
        "kzgis_version": __version__,
        "recipe": str(recipe.path) if recipe.path else None,
        "name": recipe.name,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "crs": layers.crs.to_string(),
        "towns": list(towns) if towns else None,
        "layers": _layer_sizes(layers),
        "ran": ran,
        "skipped": skipped,
        "parameters": params_used,
        "network_parameters": _params.describe(recipe.network, recipe.network_given),
        "rules_in_force": _rules_in_force(recipe, registry, ran),
        "network": network_block,
        "counts": counts,
        "outputs": outputs,
        "warnings": ctx.warnings,
        "data_gaps": _data_gaps(layers),
        "timings_s": timings,
    }
    (tmp / "summary.json").write_text(strict_json(summary), encoding="utf-8")
    return RunResult(out_dir=out_dir, results=results, summary=summary, ran=ran, skipped=skipped)


def _rules_in_force(recipe: Recipe, registry, ran) -> dict:
    """Per analysis run (and ``network``), the rules and method numbers in force (kzgis.rules.in_force)."""
    out = {name: [r.as_dict() for r in registry[name].in_force(recipe.analyses[name])] for name in ran}
    out["network"] = [r.as_dict() for r in recipe.network.in_force()]
    return out


def _analyses_to_run(recipe: Recipe, only) -> list[str]:
    """The recipe's analyses (limited to ``only``) in dependency order; a RecipeError when there are none."""
    if not recipe.analyses:
        raise RecipeError(f"recipe {recipe.path.name if recipe.path else ''}: it names no analyses, so there is "
                          "nothing to write. Add an 'analyses:' section (kzgis analyses lists them); the "
                          "previous output folder is untouched.")
    names = [n for n in recipe.analyses if only is None or n in only]
    if only:
        for n in only:
            if n not in recipe.analyses:
                raise RecipeError(f"--only: analysis '{n}' is not in the recipe{suggest(n, recipe.analyses)}")
    return _analysis.order(names)


def _new_context(recipe: Recipe, layers, towns, notes) -> _analysis.Context:
    """The analyses' shared context, its warnings started with the folder notes and layer warnings."""
    ctx = _analysis.Context(layers=layers, network_params=recipe.network, towns=towns)
    ctx.warnings.extend(notes)
    for p in layers.problems:
        if p.severity == "warning":
            ctx.warnings.append(str(p))
    return ctx


def _run_analyses(recipe: Recipe, registry, ordered, ctx, results: dict, timings: dict, bar):
    """Run each analysis in order (skipping those missing a layer); returns ran, skipped, counts, parameters."""
    layers = ctx.layers
    ran, skipped, counts, params_used = [], {}, {}, {}
    for i, name in enumerate(ordered):
        spec = registry[name]
        bar.set_postfix_str(name)
        missing = _missing_layers(spec, layers)
        if missing:
            msg = (f"analysis '{name}' ({spec.title_zh}) skipped: the recipe has no "
                   f"{', '.join(missing)} layer")
            log.warning(msg)
            skipped[name] = msg
            ctx.warnings.append(msg)
            bar.update(1)
            continue
        params = recipe.analyses[name]
        params_used[name] = _params.describe(params, recipe.analyses_given.get(name))
        t1 = time.perf_counter()
        out = _run_one(name, spec, ctx, params)
        timings[name] = round(time.perf_counter() - t1, 3)
        for key, frame in out.items():
            if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None and frame.geometry.name in frame:
                frame = frame.set_crs(layers.crs)
            results[key] = frame
            counts[key] = _counts(frame)
        ctx.results.update(out)
        ran.append(name)
        del out
        # the next analysis that runs: does it route (needs the roads)?
        upcoming = [registry[n] for n in ordered[i + 1:] if not _missing_layers(registry[n], layers)]
        _release(ctx, routing_next=bool(upcoming) and "roads" in upcoming[0].needs)
        bar.update(1)
    return ran, skipped, counts, params_used


def _release(ctx, analyses_done: bool = False, routing_next: bool = False) -> None:
    """Free what a finished step no longer needs (issue 14: peak memory at county scale).

    After an analysis: the network's snapping indexes and graphs built for that analysis's own edge
    sets; the vehicle classes' stay when the next analysis routes (needs the roads), else they go
    too (~100 MB at county scale; a later routing analysis rebuilds them in about a second). Once
    every analysis has run (and the network was summarised): the whole shared cache, network
    included, since writing the outputs does not route. Then garbage and the allocator's free
    pages go back to the system.
    """
    net = ctx.cache.get("network")
    if net is not None:
        net.release_caches(keep_classes=routing_next and not analyses_done)
    if analyses_done:
        ctx.cache.clear()
    release_memory()


def _run_one(name: str, spec: _analysis.Analysis, ctx, params) -> dict:
    """One analysis's outputs; its failure becomes an AnalysisError naming the step."""
    log.info("running %s", name)
    try:
        return spec.run(ctx, params)
    except KzgisError as exc:
        raise AnalysisError(f"step '{name}' ({spec.title_zh}) failed: {exc}") from exc
    except Exception as exc:
        # the traceback goes to the run's kzgis.log (INFO) only; the terminal gets one line
        log.info("step %s failed unexpectedly", name, exc_info=True)
        err = AnalysisError(f"step '{name}' ({spec.title_zh}) failed: {type(exc).__name__}: "
                            f"{_one_line(exc)}")
        err.unexpected = True  # a kzgis defect: the CLI asks the user to report it
        raise err from exc


def _write_outputs(recipe: Recipe, tmp: Path, ctx, results: dict, towns, town_runner, timings: dict) -> dict:
    """Write results.gpkg, tables.xlsx, maps and report into ``tmp``; returns the outputs block."""
    layers = ctx.layers
    outputs = {}
    split = None  # per-township maps and chapters elsewhere (a Dask cluster)
    if town_runner is not None and (recipe.outputs.maps or recipe.outputs.report):
        split = town_runner.bind(tmp, ctx, results, recipe, towns)
    if results:
        outputs["results.gpkg"] = write_gpkg(results, tmp / "results.gpkg", layers.crs)
        release_memory()
    if recipe.outputs.tables:
        outputs["tables.xlsx"] = write_tables({k: v for k, v in results.items()}, tmp / "tables.xlsx")
        release_memory()
    if recipe.outputs.maps:
        _write_map_outputs(recipe, tmp, layers, results, towns, split, outputs, timings)
        release_memory()
    if recipe.outputs.report:
        _write_report_outputs(recipe, tmp, ctx, results, towns, split, outputs, timings)
    if split is not None:
        split.close()
    return outputs


def _write_map_outputs(recipe: Recipe, tmp: Path, layers, results, towns, split, outputs: dict, timings: dict):
    """Write the maps into ``tmp/maps`` (when the maps package is there), noting paths and time."""
    try:
        from . import maps as _maps
    except ImportError:  # maps not installed in this build
        _maps = None
    if _maps is not None and hasattr(_maps, "write_maps"):
        opts = _maps.MapOptions.from_mapping(recipe.outputs.maps)
        t3 = time.perf_counter()
        paths = _maps.write_maps(layers, results, tmp / "maps", opts, title=recipe.title, towns=towns,
                                 town_runner=split and split.maps)
        timings["maps"] = round(time.perf_counter() - t3, 3)
        outputs["maps"] = [str(Path(p).relative_to(tmp)) for p in paths]


def _write_report_outputs(recipe: Recipe, tmp: Path, ctx, results, towns, split, outputs: dict, timings: dict):
    """Write the report into ``tmp/report`` (when the report package is there), noting paths and time."""
    try:
        from . import report as _report
    except ImportError:
        _report = None
    if _report is not None and hasattr(_report, "write_report"):
        t3 = time.perf_counter()
        paths = _report.write_report(ctx, results, tmp / "report", recipe, towns=towns,
                                     options=recipe.outputs.report,
                                     town_runner=split and split.report)
        timings["report"] = round(time.perf_counter() - t3, 3)
        outputs["report"] = [str(Path(p).relative_to(tmp)) for p in paths]


def _layer_sizes(layers) -> dict:
    """The summary's ``layers`` block: feature count per layer, shape and cell size for the DEM."""
    return {k: (len(v) if k != "dem" else {"shape": list(v.shape), "cell_m": v.cell_m})
            for k, v in layers.items()}
