"""Benchmark of the demo run (``python -m benchmarks.bench_demo``; also part of ``python -m benchmarks``).

Not a test. Issue 9 asks that ``make demo`` take well under a minute after installation. This
runs what ``make demo`` runs once kzgis is installed - ``kzgis demo`` (the Kaizhou recipe
``analyses/kaizhou.yaml`` on the embedded data, through ``kzgis.pipeline.run``) - in a fresh
Python process writing to a temporary folder, so the wall time includes the interpreter start and
the imports. It prints that wall time and the step timings the run wrote to ``summary.json``
(``timings_s``: loading the layers, each analysis, the outputs with the maps and the report, and
the total measured inside ``pipeline.run``); "start-up" is the wall time outside ``pipeline.run``.

Options: ``--repeat N`` (default 1; with more, the run with the median wall time is shown),
``--in-process`` (call ``kzgis.pipeline.run`` here instead of a fresh ``kzgis demo`` process),
``--keep DIR`` (write the outputs to DIR and keep them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "analyses" / "kaizhou.yaml"
TARGET_S = 60.0


def run_cli(out: Path) -> tuple[float, dict | None, str]:
    """Wall time, summary.json and the error tail of ``python -m kzgis demo --out OUT --quiet``."""
    cmd = [sys.executable, "-m", "kzgis", "demo", "--out", str(out), "--quiet"]
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t
    summary = out / "summary.json"
    if p.returncode != 0 or not summary.exists():
        return wall, None, (p.stderr or p.stdout)[-2000:]
    return wall, json.loads(summary.read_text(encoding="utf-8")), ""


def run_in_process(out: Path) -> tuple[float, dict | None, str]:
    """Wall time and summary of ``kzgis.pipeline.run`` called here (imports excluded when warm)."""
    import kzgis.pipeline
    import kzgis.recipe

    t = time.perf_counter()
    try:
        res = kzgis.pipeline.run(kzgis.recipe.load(RECIPE), out_dir=out)
    except Exception as exc:  # report, do not hide the network benchmark's results
        return time.perf_counter() - t, None, f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - t
    return wall, json.loads((res.out_dir / "summary.json").read_text(encoding="utf-8")), ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_demo", description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--keep", type=Path, default=None)
    a = ap.parse_args(argv)
    how = "kzgis.pipeline.run in this process" if a.in_process else "`kzgis demo` in a fresh process"
    print(f"demo run (issue 9): {RECIPE.relative_to(REPO)} via {how}, {a.repeat} run(s), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    runs = []
    for i in range(a.repeat):
        base = Path(tempfile.mkdtemp(prefix="kzgis-bench-demo-"))
        out = (a.keep if a.keep else base / "out").resolve()
        try:
            wall, summary, err = (run_in_process if a.in_process else run_cli)(out)
        finally:
            shutil.rmtree(base, ignore_errors=True)
        if summary is None:
            print(f"   run {i + 1}: FAILED after {wall:.1f} s\n{err}", flush=True)
            return 1
        runs.append((wall, summary))
        print(f"   run {i + 1}: {wall:.1f} s wall", flush=True)
    runs.sort(key=lambda r: r[0])
    wall, summary = runs[len(runs) // 2]
    tm = summary.get("timings_s", {})
    print("   steps (summary.json timings_s, seconds; outputs includes maps and report):")
    for k, v in tm.items():
        if k != "total":
            print(f"      {k:12s} {v:7.2f}")
    if "outputs" in tm:
        files = tm["outputs"] - tm.get("maps", 0.0) - tm.get("report", 0.0)
        print(f"      {'':12s} (outputs = maps + report + {files:.2f} s for results.gpkg, tables.xlsx)")
    total = tm.get("total", float("nan"))
    print(f"      {'total':12s} {total:7.2f}  (inside pipeline.run)")
    print(f"      {'start-up':12s} {wall - total:7.2f}  (interpreter, imports, recipe; outside pipeline.run)")
    verdict = "met" if wall < TARGET_S else "NOT met"
    print(f"   demo wall time {wall:.1f} s (target: well under {TARGET_S:.0f} s: {verdict})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
