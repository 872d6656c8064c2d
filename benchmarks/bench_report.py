"""Benchmark of the 消防专篇 report against an earlier commit's, in one run (``python -m benchmarks.bench_report``).

Not a test: it writes the demo report (every township's chapter + the county summary, with figures,
docx and html) with the current :func:`kzgis.report.write_report` and with ``kzgis/report`` as it
was at ``--before`` (a git ref, loaded from ``git archive`` as a side package), on the same layers
and results loaded once, alternating the two ``--repeat`` times. Each run prints its wall time, the
CPU time of all its processes (the township chapters are written by forked worker processes) and
the cores free on the machine just before and after it: other work on the machine lengthens wall
times, and this says how much. Then, unless ``--no-steps``, one serial run (``workers: 1``) of each
broken down by step, and what the two wrote: every paragraph and table cell of every .docx, the
number of figures, and the HTML without its embedded images.

Target for the 40 demo townships + county summary: <= 10 s wall on an idle 2-core machine.

Steps (serial run; figures by kind, each township's chapter text without its figures):
    figure <kind>   one map per township (status, access, response, water, forest, heli; county: 2)
    chapter text    selections, numbers and sentences of a township's chapter, figures excluded
    county text     the county summary, its figures excluded
    docx / html     rendering the documents
    hillshade       the DEM hillshade, once per run

Options: ``--run DIR`` (a finished ``kzgis run``: its results.gpkg; default /tmp/kzrep),
``--recipe PATH`` (analyses/kaizhou.yaml), ``--before REF`` (default HEAD), ``--repeat N`` (2),
``--workers N`` (report option; 0 = automatic), ``--towns N`` (first N townships only),
``--out DIR`` (default a temporary folder; ``DIR/before`` and ``DIR/after``), ``--no-steps``,
``--profile FILE`` (cProfile of the serial run of the working tree to FILE).
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("fig_status", "fig_access", "fig_response", "fig_water", "fig_forest", "fig_heli", "fig_county")


def load(recipe_path: str, run_dir: str):
    import pyogrio

    import kzgis.analysis
    import kzgis.load
    import kzgis.recipe

    gpkg = Path(run_dir) / "results.gpkg"
    if not gpkg.is_file():
        sys.exit(f"{gpkg} not found: run `kzgis run {recipe_path} --out {run_dir}` first")
    rec = kzgis.recipe.load(recipe_path)
    layers = kzgis.load.load_layers(rec.layers, rec.crs)
    ctx = kzgis.analysis.Context(layers=layers, network_params=rec.network)
    results = {str(n): pyogrio.read_dataframe(gpkg, layer=str(n)) for n, _ in pyogrio.list_layers(gpkg)}
    return rec, ctx, results


def report_at(ref: str, into: Path) -> str:
    """``kzgis/report`` at git ``ref``, imported as the package ``kzgis._report_before``."""
    tar = subprocess.run(["git", "archive", "--format=tar", ref, "kzgis/report"], cwd=REPO, check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    pkg = into / "kzgis" / "report"
    name = "kzgis._report_before"
    spec = importlib.util.spec_from_file_location(name, pkg / "__init__.py", submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return name


def _burn(n: int = 20_000_000) -> float:
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += i
    return time.perf_counter() - t


def free_cores() -> float:
    """How many cores this process gets right now: one pure-Python loop, then two at once (forked)."""
    import multiprocessing

    one = _burn()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        t = time.perf_counter()
        pool.map(_burn, [20_000_000] * 2)
        two = time.perf_counter() - t
    return 2 * one / two


def timed_run(pkg: str, rec, ctx, results, folder: Path, towns, workers: int):
    """Wall time, CPU time of this process and its workers, and the files written."""
    report = importlib.import_module(pkg)
    c0, t = os.times(), time.perf_counter()
    paths = report.write_report(ctx, results, folder, rec, towns=towns, options={"workers": workers})
    wall, c1 = time.perf_counter() - t, os.times()
    cpu = sum(getattr(c1, k) - getattr(c0, k) for k in ("user", "system", "children_user", "children_system"))
    return wall, cpu, paths


def _timed(acc: dict, label: str, fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            acc[label] += time.perf_counter() - t

    return wrapper


def serial_steps(pkg: str, rec, ctx, results, folder: Path, towns, profile: str | None = None) -> dict:
    """One serial run with the report's steps wrapped in timers; ``{step: seconds}``."""
    report = importlib.import_module(pkg)
    figures = importlib.import_module(pkg + "._figures")
    acc: dict = collections.defaultdict(float)
    saved = []

    def patch(mod, name, label):
        fn = getattr(mod, name, None)
        if fn is not None:
            saved.append((mod, name, fn))
            setattr(mod, name, _timed(acc, label, fn))

    for f in FIGURES:
        patch(figures, f, f"figure {f[4:]}")
    patch(report, "township_document", "chapter")
    patch(report, "county_document", "county")
    patch(report._docx, "render", "docx")
    patch(report._html, "render", "html")
    patch(figures, "run_hillshade", "hillshade")
    try:
        pr = None
        if profile:
            import cProfile

            pr = cProfile.Profile()
            pr.enable()
        t = time.perf_counter()
        report.write_report(ctx, results, folder, rec, towns=towns, options={"workers": 1})
        acc["total (serial)"] = time.perf_counter() - t
        if pr is not None:
            pr.disable()
            pr.dump_stats(profile)
    finally:
        for mod, name, fn in reversed(saved):
            setattr(mod, name, fn)
    acc["chapter text"] = acc.pop("chapter", 0.0) - sum(
        v for k, v in acc.items() if k.startswith("figure ") and k != "figure county")
    acc["county text"] = acc.pop("county", 0.0) - acc.get("figure county", 0.0)
    return dict(acc)


def _contents(folder: Path) -> dict:
    """``{file name: what it says}``: paragraphs, table cells and figure count of a .docx; an .html
    without its embedded images."""
    from docx import Document

    out = {}
    for p in sorted(folder.iterdir()):
        if p.suffix == ".docx":
            d = Document(p)
            out[p.name] = ([x.text for x in d.paragraphs],
                           [[c.text for r in t.rows for c in r.cells] for t in d.tables], len(d.inline_shapes))
        elif p.suffix == ".html":
            out[p.name] = re.sub(r'base64,[^"]*"', 'IMG"', p.read_text(encoding="utf-8"))
    return out


def compare(before: Path, after: Path) -> int:
    a, b = _contents(before), _contents(after)
    problems = [f"only in before: {n}" for n in sorted(set(a) - set(b))]
    problems += [f"only in after: {n}" for n in sorted(set(b) - set(a))]
    problems += [f"differs: {n}" for n in sorted(set(a) & set(b)) if a[n] != b[n]]
    print(f"  {len(a)} files before, {len(b)} after; {len(problems)} differ"
          + (" (dates differ if the runs straddle midnight)" if problems else ""))
    for p in problems[:20]:
        print("   ", p)
    return len(problems)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="/tmp/kzrep")
    ap.add_argument("--recipe", default=str(REPO / "analyses" / "kaizhou.yaml"))
    ap.add_argument("--before", default="HEAD")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--towns", type=int, default=0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-steps", action="store_true")
    ap.add_argument("--profile", default=None)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    rec, ctx, results = load(args.recipe, args.run)
    print(f"layers and results loaded in {time.perf_counter() - t:.1f} s")
    tmp = tempfile.TemporaryDirectory(prefix="bench_report_")
    out = Path(args.out or tmp.name)
    before_pkg = report_at(args.before, Path(tmp.name) / "src")
    importlib.import_module("kzgis.report")
    from kzgis.report._data import RunData

    names = RunData(ctx, results, rec).all_towns()
    towns = names[: args.towns] if args.towns else None
    n = len(towns or names)
    impls = [(f"before ({args.before})", before_pkg, out / "before"), ("after (working tree)", "kzgis.report",
                                                                        out / "after")]
    print(f"write_report: {n} townships + county summary, workers={args.workers or 'auto'}, "
          f"{os.cpu_count()} cores on the machine")
    best = {}
    for i in range(args.repeat):
        for label, pkg, folder in impls:
            free = free_cores()
            wall, cpu, paths = timed_run(pkg, rec, ctx, results, folder, towns, args.workers)
            size = sum(p.stat().st_size for p in paths) / 1e6
            print(f"run {i + 1} {label:24s} wall {wall:6.2f} s, CPU {cpu:6.2f} s, {len(paths)} files {size:.1f} MB;"
                  f" cores free before / after {free:.1f} / {free_cores():.1f}", flush=True)
            best[label] = min(best.get(label, (wall, cpu)), (wall, cpu))
    (lb, (wb, cb)), (la, (wa, ca)) = best.items()
    print(f"\nfastest run of each: wall {wb:.2f} s -> {wa:.2f} s ({wb / wa:.1f}x), CPU {cb:.2f} s -> {ca:.2f} s")
    if not args.no_steps:
        sb = serial_steps(before_pkg, rec, ctx, results, out / "before_serial", towns)
        sa = serial_steps("kzgis.report", rec, ctx, results, out / "after_serial", towns, args.profile)
        print("\nserial run (workers: 1), seconds")
        print(f"  {'step':20s} {'before':>8s} {'after':>8s}")
        for k in sorted(set(sb) | set(sa), key=lambda k: (k.startswith("total"), -sb.get(k, 0.0))):
            print(f"  {k:20s} {sb.get(k, 0.0):8.2f} {sa.get(k, 0.0):8.2f}")
    print("\nwhat the reports say (before -> after)")
    compare(out / "before", out / "after")
    if args.out is None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
