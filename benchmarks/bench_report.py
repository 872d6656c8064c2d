"""Benchmark of the 消防专篇 report on a finished run (``python -m benchmarks.bench_report``).

Not a test: it prints wall and CPU times of :func:`kzgis.report.write_report` on the demo layers
and the result layers of a previous run (``kzgis run analyses/kaizhou.yaml --out DIR``), and,
serially, where the time goes (figures by kind, chapter text, docx, html, county summary).
Target for the 40 demo townships + county summary with figures, docx and html: <= 10 s wall on an
idle 2-core machine.

Options: ``--run DIR`` (default /tmp/kzrep, must hold results.gpkg), ``--recipe PATH``
(analyses/kaizhou.yaml), ``--out DIR`` (report folder, default a temporary one), ``--towns N``
(first N townships only), ``--workers N`` (report option; default automatic), ``--repeat N`` (runs
of write_report, each printed with the cores free just before and after it: other work on the
machine lengthens the wall time), ``--no-steps`` (skip the serial per-step breakdown), ``--profile
FILE`` (cProfile of the serial run to FILE).
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import sys
import tempfile
import time
from pathlib import Path


def load(recipe_path: str, run_dir: str):
    import pyogrio

    import kzgis.analysis
    import kzgis.load
    import kzgis.recipe

    rec = kzgis.recipe.load(recipe_path)
    layers = kzgis.load.load_layers(rec.layers, rec.crs)
    ctx = kzgis.analysis.Context(layers=layers, network_params=rec.network)
    gpkg = Path(run_dir) / "results.gpkg"
    results = {}
    for name, _ in pyogrio.list_layers(gpkg):
        results[str(name)] = pyogrio.read_dataframe(gpkg, layer=str(name))
    return rec, ctx, results


def _burn(n: int = 20_000_000) -> float:
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += i
    return time.perf_counter() - t


def free_cores() -> float:
    """How many cores this process gets right now: one pure-Python loop, then two at once (forked).
    Other work on the machine makes the wall times of the report longer; this says how much."""
    import multiprocessing

    one = _burn()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        t = time.perf_counter()
        pool.map(_burn, [20_000_000] * 2)
        two = time.perf_counter() - t
    return 2 * one / two


def timed(label: str, acc: dict, fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            acc[label] += time.perf_counter() - t

    return wrapper


def steps(rec, ctx, results, out, towns, profile=None):
    """One serial run with the report's steps wrapped in timers; returns {step: seconds}."""
    import kzgis.report as report
    from kzgis.report import _figures

    acc: dict = collections.defaultdict(float)
    saved = []

    def patch(mod, name, label):
        saved.append((mod, name, getattr(mod, name)))
        setattr(mod, name, timed(label, acc, getattr(mod, name)))

    for f in ("fig_status", "fig_access", "fig_response", "fig_water", "fig_forest", "fig_heli", "fig_county"):
        patch(_figures, f, f"figure {f[4:]}")
    patch(report, "township_document", "chapter (text + figures)")
    patch(report, "county_document", "county (text + figures)")
    patch(report._docx, "render", "docx")
    patch(report._html, "render", "html")
    patch(_figures, "run_hillshade", "hillshade")
    try:
        t = time.perf_counter()
        if profile:
            import cProfile

            pr = cProfile.Profile()
            pr.enable()
        report.write_report(ctx, results, out, rec, towns=towns, options={"workers": 1})
        if profile:
            pr.disable()
            pr.dump_stats(profile)
        acc["total (serial)"] = time.perf_counter() - t
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)
    figs = sum(v for k, v in acc.items() if k.startswith("figure ") and k != "figure county")
    acc["chapter text (without figures)"] = acc.pop("chapter (text + figures)") - figs
    acc["county text (without figures)"] = acc.pop("county (text + figures)") - acc.get("figure county", 0.0)
    return dict(acc)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", default="/tmp/kzrep")
    ap.add_argument("--recipe", default="analyses/kaizhou.yaml")
    ap.add_argument("--out", default=None)
    ap.add_argument("--towns", type=int, default=0)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--no-steps", action="store_true")
    ap.add_argument("--profile", default=None)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args(argv)
    if not (Path(a.run) / "results.gpkg").exists():
        sys.exit(f"{a.run}/results.gpkg not found: run `kzgis run {a.recipe} --out {a.run}` first")

    import kzgis.report as report

    t = time.perf_counter()
    rec, ctx, results = load(a.recipe, a.run)
    print(f"load layers and results: {time.perf_counter() - t:.1f} s")
    from kzgis.report._data import RunData

    names = RunData(ctx, results, rec).all_towns()
    towns = names[: a.towns] if a.towns else None
    n = len(towns or names)
    out = Path(a.out or tempfile.mkdtemp(prefix="kzreport-"))

    for _ in range(a.repeat):
        free = free_cores()
        t = time.perf_counter()
        c0 = os.times()
        paths = report.write_report(ctx, results, out / "report", rec, towns=towns, options={"workers": a.workers})
        wall = time.perf_counter() - t
        c1 = os.times()
        cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + \
            (c1.children_system - c0.children_system)
        size = sum(p.stat().st_size for p in paths) / 1e6
        print(f"write_report ({n} townships + county, workers={a.workers or 'auto'}): wall {wall:.2f} s, "
              f"CPU (self + workers) {cpu:.2f} s, {len(paths)} files, {size:.1f} MB -> {out / 'report'}; "
              f"cores free before / after: {free:.1f} / {free_cores():.1f} of {os.cpu_count()}")
    if a.no_steps:
        return
    acc = steps(rec, ctx, results, out / "serial", towns, a.profile)
    print("serial run, by step (s):")
    for k in sorted(acc, key=lambda k: -acc[k]):
        print(f"  {k:34s} {acc[k]:7.2f}")


if __name__ == "__main__":
    main()
