"""Benchmark of the HTML maps against an earlier commit's, in one run (``python -m benchmarks.bench_maps``).

Not a test: it writes the demo maps (county + every township + index) with the current
:func:`kzgis.maps.write_maps` and with ``kzgis/maps`` as it was at ``--before`` (a git ref, loaded
from ``git archive`` as a side package), on the same layers and results loaded once, alternating the
two ``--repeat`` times. It prints the wall time of each run, where the time goes (steps below), and
then compares what the two wrote, map by map: the overlays, the GeoJSON feature count of each, the
escaped popup/tooltip properties (as multisets) and, for ``--town``, a per-layer table.

Target for the 40 demo townships + county + index: <= 8 s wall on an idle 2-core machine.

Steps (a step's time excludes the steps it calls; "other" is the rest of ``write_maps``):
    layers      selecting, clipping, simplifying and reprojecting the layers for a map
    geojson     GeoJSON text with the escaped properties
    classify    styles.classify
    hillshade   hillshade PNG of a map
    render      folium/branca figure rendering
    inline      inlining the vendored JS/CSS, licence comment, offline check
    write       writing the HTML files

Options: ``--run DIR`` (a finished ``kzgis run``: its results.gpkg; default /tmp/kzrun2),
``--recipe PATH`` (analyses/kaizhou.yaml), ``--before REF`` (default HEAD), ``--repeat N`` (2),
``--out DIR`` (default a temporary folder; ``DIR/before`` and ``DIR/after``), ``--town NAME``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import importlib.util
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STEPS = ("layers", "geojson", "classify", "hillshade", "render", "inline", "write")


def load(recipe_path: str, run_dir: str):
    import pyogrio

    import kzgis.load
    import kzgis.recipe

    rec = kzgis.recipe.load(recipe_path)
    layers = kzgis.load.load_layers(rec.layers, rec.crs)
    gpkg = Path(run_dir) / "results.gpkg"
    if not gpkg.is_file():
        sys.exit(f"{gpkg} not found: run `kzgis run {recipe_path} --out {run_dir}` first")
    results = {str(n): pyogrio.read_dataframe(gpkg, layer=str(n)) for n, _ in pyogrio.list_layers(gpkg)}
    return rec, layers, results


def maps_at(ref: str, into: Path):
    """``kzgis/maps`` at git ``ref``, imported as the package ``kzgis._maps_before``."""
    tar = subprocess.run(["git", "archive", "--format=tar", ref, "kzgis/maps"], cwd=REPO, check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    pkg = into / "kzgis" / "maps"
    name = "kzgis._maps_before"
    spec = importlib.util.spec_from_file_location(name, pkg / "__init__.py", submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return name


class Timers:
    """Step timers; a timed call inside another timed call counts for the outer step only."""

    def __init__(self):
        self.acc = collections.defaultdict(float)
        self.depth = 0
        self.saved = []

    def wrap(self, owner, attr: str, step: str):
        fn = getattr(owner, attr, None)
        if fn is None:
            return
        timers = self

        @functools.wraps(fn)
        def wrapper(*a, **k):
            if timers.depth:
                return fn(*a, **k)
            timers.depth += 1
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers.acc[step] += time.perf_counter() - t
                timers.depth -= 1

        self.saved.append((owner, attr, fn))
        setattr(owner, attr, wrapper)

    def restore(self):
        for owner, attr, fn in reversed(self.saved):
            setattr(owner, attr, fn)
        self.saved.clear()


def timed_run(pkg: str, layers, results, out: Path, rec) -> tuple[float, dict]:
    import pathlib

    import branca.element

    build = sys.modules[pkg + "._build"]
    disp = sys.modules[pkg + "._display"]
    styles = sys.modules[pkg + ".styles"]
    assets = sys.modules[pkg + "._assets"]
    T = Timers()
    T.wrap(disp, "prepare", "layers")  # before
    T.wrap(styles, "display_frame", "layers")
    T.wrap(getattr(build, "RunCache", None), "display", "layers")  # after
    T.wrap(getattr(disp, "DisplayLayer", None), "view", "layers")
    T.wrap(disp, "feature_collection", "geojson")
    T.wrap(getattr(disp, "DisplayLayer", None), "collection", "geojson")
    T.wrap(styles, "classify", "classify")
    T.wrap(disp, "hillshade_image", "hillshade")
    T.wrap(getattr(disp, "HillshadeSource", None), "image", "hillshade")
    T.wrap(branca.element.Figure, "render", "render")
    for f in ("inline", "external_references", "licence_comment"):
        T.wrap(assets, f, "inline")
    T.wrap(pathlib.Path, "write_text", "write")
    opts = sys.modules[pkg].MapOptions.from_mapping(rec.outputs.maps)
    try:
        t = time.perf_counter()
        sys.modules[pkg].write_maps(layers, results, out, opts, title=rec.title)
        total = time.perf_counter() - t
    finally:
        T.restore()
    steps = {s: T.acc.get(s, 0.0) for s in STEPS}
    steps["other"] = total - sum(steps.values())
    return total, steps


# ------------------------------------------------------------------------------------------------
# what the maps hold

_DEC = json.JSONDecoder()


def overlays(html: str) -> list[tuple[str, dict, dict]]:
    """(kind, spec, GeoJSON) of every ``kz.overlay`` / ``kz.labels`` call of a map page."""
    out = []
    for m in re.finditer(r"kz\.(overlay|labels)\(", html):
        data, j = _DEC.raw_decode(html, m.end())
        spec, _ = _DEC.raw_decode(html, j + 2)
        out.append((m.group(1), spec, data))
    return out


def compare(before: Path, after: Path, town: str | None) -> int:
    """Print the comparison; returns the number of differences in overlays, counts or properties."""
    problems = []
    rows = []
    for fb in sorted(before.glob("*.html")):
        if fb.name == "index.html":
            continue
        fa = after / fb.name
        if not fa.is_file():
            problems.append(f"{fb.name}: not written")
            continue
        ob, oa = overlays(fb.read_text(encoding="utf-8")), overlays(fa.read_text(encoding="utf-8"))
        kb, ka = [s["key"] for _, s, _ in ob], [s["key"] for _, s, _ in oa]
        if kb != ka:
            problems.append(f"{fb.name}: overlays {kb} != {ka}")
        nb = na = 0
        for (_, spec, db), (_, _, da) in zip(ob, oa):
            cb, ca = len(db["features"]), len(da["features"])
            nb += cb
            na += ca
            if cb != ca:
                problems.append(f"{fb.name} {spec['key']}: {cb} -> {ca} features")

            def props(d):
                return collections.Counter(json.dumps(f["properties"], sort_keys=True, ensure_ascii=False)
                                           for f in d["features"])

            if props(db) != props(da):
                problems.append(f"{fb.name} {spec['key']}: feature properties differ")
            if town and town in fb.name:
                rows.append((spec["key"], cb, ca))
        print(f"  {fb.name:28s} {len(ob):3d} overlays  {nb:6d} -> {na:6d} features  "
              f"{fb.stat().st_size / 1e6:6.2f} -> {fa.stat().st_size / 1e6:6.2f} MB")
    if rows:
        print(f"\n  {town}: GeoJSON features per overlay (before -> after)")
        for key, cb, ca in rows:
            print(f"    {key:24s} {cb:6d} -> {ca:6d}{'' if cb == ca else '   <-- differs'}")
    print(f"\n  differences: {len(problems)}")
    for p in problems[:50]:
        print("   ", p)
    return len(problems)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="/tmp/kzrun2")
    ap.add_argument("--recipe", default=str(REPO / "analyses" / "kaizhou.yaml"))
    ap.add_argument("--before", default="HEAD")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--town", default="温泉镇")
    args = ap.parse_args(argv)

    rec, layers, results = load(args.recipe, args.run)
    tmp = tempfile.TemporaryDirectory(prefix="bench_maps_")
    out = Path(args.out or tmp.name)
    before_pkg = maps_at(args.before, Path(tmp.name) / "src")
    importlib.import_module("kzgis.maps")
    impls = [(f"before ({args.before})", before_pkg, out / "before"), ("after (working tree)", "kzgis.maps", out / "after")]

    runs = {label: [] for label, _, _ in impls}
    for i in range(args.repeat):
        for label, pkg, folder in impls:
            total, steps = timed_run(pkg, layers, results, folder, rec)
            runs[label].append((total, steps))
            print(f"run {i + 1} {label:24s} {total:6.2f} s", flush=True)

    best = {label: min(r, key=lambda x: x[0]) for label, r in runs.items()}
    (lb, (tb, sb)), (la, (ta, sa)) = best.items()
    print(f"\nfastest run of each, seconds (write_maps, {len(list((out / 'after').glob('*.html')))} files)")
    print(f"  {'step':10s} {'before':>8s} {'after':>8s}")
    for s in STEPS + ("other",):
        print(f"  {s:10s} {sb[s]:8.2f} {sa[s]:8.2f}")
    print(f"  {'total':10s} {tb:8.2f} {ta:8.2f}   ({tb / ta:.1f}x)")
    print("\nwhat the maps hold (before -> after)")
    compare(out / "before", out / "after", args.town)
    if args.out is None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
