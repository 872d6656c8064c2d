"""Benchmark of ``kzgis batch`` (``python -m benchmarks.bench_batch``; also part of ``python -m benchmarks``).

Not a test. Issue 15: four copies of the demo recipe (``analyses/kaizhou.yaml``), first serially -
``kzgis run`` four times in a row, each a fresh process, as a planner would without batch - then
as one ``kzgis batch RECIPE x4 --workers 2`` (a Dask LocalCluster of 2 worker processes started and
closed by the command, included in its wall time). Prints both wall times and the speed-up, and
checks that the batch's four results.gpkg hold the same layers and row counts as the serial run's.

On 2 cores the ideal is 2x; the serial runs already use a second core for part of the report (its
township chapters are drawn by forked processes), so expect less.

Options: ``--copies N`` (default 4), ``--workers N`` (2), ``--split-towns N`` (0: also time the
batch with the township outputs split into N tasks per job), ``--keep DIR``.
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


def _run(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    return wall, "" if p.returncode == 0 else (p.stderr or p.stdout)[-2000:]


def _layers(gpkg: Path) -> dict:
    import pyogrio

    return {name: pyogrio.read_info(gpkg, layer=name)["features"] for name, _ in pyogrio.list_layers(gpkg)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_batch", description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--split-towns", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None)
    a = ap.parse_args(argv)
    print(f"batch (issue 15): {a.copies} copies of {RECIPE.relative_to(REPO)}, serial `kzgis run` x{a.copies} "
          f"vs `kzgis batch --workers {a.workers}`; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores", flush=True)
    base = (a.keep.resolve() if a.keep else Path(tempfile.mkdtemp(prefix="kzgis-bench-batch-")))
    kz = [sys.executable, "-m", "kzgis"]
    try:
        serial = 0.0
        for i in range(a.copies):
            wall, err = _run(kz + ["run", str(RECIPE), "--out", str(base / "serial" / f"run{i + 1}"), "--quiet"])
            if err:
                print(f"   serial run {i + 1}: FAILED\n{err}", flush=True)
                return 1
            serial += wall
            print(f"   serial run {i + 1}: {wall:.1f} s", flush=True)
        print(f"   serial total: {serial:.1f} s", flush=True)
        variants = [("batch", [])] + ([(f"batch --split-towns {a.split_towns}", ["--split-towns", str(a.split_towns)])]
                                      if a.split_towns else [])
        reference = _layers(base / "serial" / "run1" / "results.gpkg")
        for label, extra in variants:
            out = base / label.replace(" ", "_").replace("-", "")
            wall, err = _run(kz + ["batch", *[str(RECIPE)] * a.copies, "--out", str(out),
                                   "--workers", str(a.workers), "--quiet", *extra])
            if err:
                print(f"   {label}: FAILED\n{err}", flush=True)
                return 1
            summary = json.loads((out / "batch_summary.json").read_text(encoding="utf-8"))
            same = all(_layers(out / j["job"] / "results.gpkg") == reference for j in summary["jobs"])
            workers = sorted({j["worker"] for j in summary["jobs"]})
            print(f"   {label} --workers {a.workers}: {wall:.1f} s wall (jobs on {len(workers)} worker(s)); "
                  f"speed-up {serial / wall:.2f}x over serial; results.gpkg layers and counts "
                  f"{'equal' if same else 'DIFFER'}", flush=True)
            if not same:
                return 1
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
