"""The 消防专篇 (fire chapter of a township territorial spatial plan), as Word and HTML.

:func:`write_report` writes, per township, ``<town>_消防专篇.docx`` and ``<town>_消防专篇.html``,
and a county roll-up ``<county>_消防专篇汇总.docx`` / ``.html``. The content (:mod:`._content`) is
built once as a list of blocks and rendered by :mod:`._docx` and :mod:`._html`; tables take their
numbers from the result layers filtered to the township, figures (:mod:`._figures`) are drawn from
the same layers.

Example
-------
>>> from kzgis.report import write_report
>>> paths = write_report(ctx, results, "out/report", recipe, towns=["温泉镇"])  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import logging
import re
from pathlib import Path

from .._errors import RecipeError, suggest
from . import _docx, _html
from ._content import township_document
from ._county import county_document
from ._data import RunData, TownData, town_facts
from ._options import ReportOptions

log = logging.getLogger(__name__)

__all__ = ["ReportOptions", "town_chapters", "write_report"]


def _safe(name: str) -> str:
    """A file-name-safe township name (path separators and reserved characters replaced)."""
    from .._text import safe_filename

    s = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", str(name)).strip().strip(".")
    # the longest suffix is "_消防专篇汇总.docx" (27 bytes): keep the whole name within 255 bytes
    return safe_filename(s, max_bytes=200) if s else "未命名"


def _choose_towns(run: RunData, towns, opts: ReportOptions) -> list[str]:
    known = run.all_towns()
    asked = None
    if towns:
        asked = [str(t) for t in towns]
    if opts.towns:
        asked = [t for t in asked if t in opts.towns] if asked else list(opts.towns)
        if not asked:
            raise RecipeError("outputs.report.towns: none of the townships asked for is in this run's --towns "
                              f"({', '.join(towns or ())})")
    if asked is None:
        if not known:
            raise RecipeError("report: no township names: give a 'boundary' layer with a 'town' field "
                              "(or settlements with a 'town' field)")
        return known
    for t in asked:
        if known and t not in known:
            raise RecipeError(f"report: unknown township '{t}'{suggest(t, known)}")
    return list(dict.fromkeys(asked))


def write_report(ctx, results: dict, out_dir, recipe, towns=None, options=True, town_runner=None) -> list[Path]:
    """Write the 消防专篇 per township and the county summary; return the paths written.

    Parameters
    ----------
    ctx : kzgis.analysis.Context
        ``ctx.layers`` (a :class:`kzgis.layers.Layers` in the working CRS) with ``boundary`` (``town``)
        and whatever else the run loaded.
    results : dict
        Result name -> GeoDataFrame / DataFrame (``access_settlements``, ``water_settlements``...).
        Missing results make their section say the analysis was not carried out and why.
    out_dir : folder to write into (created).
    recipe : kzgis.recipe.Recipe or None
        For the title, the analyses asked for, and the parameters in force (appendix B).
    towns : township names to write (default: every township of ``boundary``, or ``options.towns``).
    options : ``True`` or a mapping of :class:`ReportOptions` fields (unknown keys are an error).
    town_runner : callable ``(names, out_dir) -> {town: (paths, facts, cited)}`` that writes the
        township chapters elsewhere (a Dask cluster, :mod:`kzgis.batch`, each part by
        :func:`town_chapters`). Default: here, serially or in forked worker processes.

    Returns
    -------
    list of Path : every file written (docx and html per township, then the county summary).
    """
    opts = ReportOptions.from_value(options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = RunData(ctx, results, recipe)
    names = _choose_towns(run, towns, opts)
    county = opts.county or run.county_name
    run.warm()  # spatial indexes once, before any worker starts
    if opts.figures:
        from ._figures import prepare

        prepare(run)  # font, hillshade and the figures' spatial indexes once, before any worker starts
    try:
        if town_runner is not None:
            done = town_runner(list(names), out_dir)
        else:
            done = _townships(run, names, opts, county, out_dir)
        paths: list[Path] = []
        facts: dict = {}
        cited: list = []
        for name in names:
            p, f, c = done[name]
            paths += p
            facts[name] = f
            cited += [k for k in c if k not in cited]
        if opts.county_summary and names:
            tds = [TownData(run, run.scope([n])) for n in names]
            doc = county_document(run, tds, facts, opts, county, cited)
            paths += _render(doc, out_dir / f"{_safe(county or '全区')}_消防专篇汇总", opts)
    finally:
        if opts.figures:
            from ._figures import clear_caches

            clear_caches()
    return paths


def town_chapters(ctx, results: dict, out_dir, recipe, names, options=True) -> dict:
    """Write the chapters of the townships ``names`` only (no county summary), serially in this process.

    The part of :func:`write_report` a cluster task runs (``town_runner``); returns
    ``{town: (paths, facts, cited rule keys)}`` for the county summary written by the caller.
    """
    opts = ReportOptions.from_value(options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = RunData(ctx, results, recipe)
    county = opts.county or run.county_name
    run.warm()
    if opts.figures:
        from ._figures import prepare

        prepare(run)
    try:
        state = (run, opts, county, out_dir)
        return {name: _one_town(name, state)[1:] for name in dict.fromkeys(names)}
    finally:
        if opts.figures:
            from ._figures import clear_caches

            clear_caches()


# -- township chapters, in worker processes when there are many ---------------------------------

_STATE: tuple | None = None  # (run, opts, county, out_dir) for forked workers


def _one_town(name: str, state: tuple | None = None):
    run, opts, county, out_dir = state or _STATE
    td = TownData(run, run.scope([name]))
    log.info("report: %s", name)
    doc = township_document(run, td, opts, county)
    paths = _render(doc, out_dir / f"{_safe(name)}_消防专篇", opts)
    return name, paths, town_facts(td), list(doc.cited)


def _workers(opts: ReportOptions, n_towns: int) -> int:
    import multiprocessing
    import os

    if opts.workers:
        n = opts.workers
    else:  # auto: the figures dominate; worth it from a handful of townships on
        n = min(os.cpu_count() or 1, 4) if n_towns >= 6 and opts.figures else 1
    if n > 1 and "fork" not in multiprocessing.get_all_start_methods():
        return 1  # workers share the run by fork (no pickling of layers); serial elsewhere
    if n > 1 and (multiprocessing.current_process().daemon or _in_dask_worker()):
        return 1  # a daemon process may not have children; a Dask worker runs threads (no fork)
    return max(1, min(n, n_towns))


def _in_dask_worker() -> bool:
    import sys

    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_worker

        get_worker()
        return True
    except (ImportError, ValueError):
        return False


def _townships(run, names, opts, county, out_dir) -> dict:
    """``{town: (paths, facts, cited rule keys)}``, rendered serially or by forked worker processes."""
    global _STATE
    _STATE = (run, opts, county, out_dir)
    done: dict = {}
    try:
        n = _workers(opts, len(names))
        if n > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            from concurrent.futures.process import BrokenProcessPool

            # the workers share the run's objects by fork; frozen, the collector in a worker never
            # walks (and so never copies) the pages of what existed before the fork. A caller that
            # froze objects itself (the pipeline) unfreezes them when it is done, so do not here
            outer_freeze = gc.get_freeze_count() > 0
            gc.collect()
            gc.freeze()
            try:
                with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")) as pool:
                    for name, paths, facts, cited in pool.map(_one_town, names):
                        done[name] = (paths, facts, cited)
            except BrokenProcessPool as exc:  # a worker died (out of memory...): finish serially
                log.warning("report: worker processes failed (%s); writing the remaining townships serially", exc)
            finally:
                if not outer_freeze:
                    gc.unfreeze()
        for name in names:
            if name not in done:
                _, paths, facts, cited = _one_town(name)
                done[name] = (paths, facts, cited)
    finally:
        _STATE = None
    return done


def _render(doc, stem: Path, opts: ReportOptions) -> list[Path]:
    out = []
    if opts.docx:
        out.append(_docx.render(doc, stem.with_name(stem.name + ".docx")))
    if opts.html:
        out.append(_html.render(doc, stem.with_name(stem.name + ".html")))
    return out
