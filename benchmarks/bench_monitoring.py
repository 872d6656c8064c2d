"""Benchmark: forest-fire camera coverage on the demo DEM (issue 18 target: 50 candidates <= 30 s on 2 cores).

``python -m benchmarks.bench_monitoring [--candidates 50] [--range-km 8]``: reads the embedded
``layers/kaizhou`` forest and DEM, generates the candidate summits near roads, and times the
viewsheds (one per site), the greedy choice and the whole ``monitoring`` analysis. It also times
xarray-spatial's ``viewshed`` on the same 8 km window, the first call (numba compilation) apart,
as the peer the engine was chosen against.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--range-km", type=float, default=8.0)
    ap.add_argument("--no-peer", action="store_true", help="skip xarray-spatial")
    args = ap.parse_args(argv)

    from kzgis import recipe as _recipe
    from kzgis.analyses.monitoring import MonitoringParams, run_monitoring
    from kzgis.analysis import Context
    from kzgis.load import load_layers
    from kzgis.viewshed import viewshed

    rec = _recipe.load(ROOT / "analyses" / "kaizhou.yaml")
    keep = {k: v for k, v in rec.layers.items() if k in ("forest", "dem", "roads", "boundary")}
    t0 = time.perf_counter()
    layers = load_layers(keep, rec.crs)
    print(f"layers loaded in {time.perf_counter() - t0:.1f} s; DEM {layers['dem'].shape} cells of "
          f"{layers['dem'].cell_m:.0f} m")
    dem = layers["dem"]
    params = MonitoringParams(new_sites=5, max_candidates=args.candidates, range_km=args.range_km)
    ctx = Context(layers=layers)
    t = time.perf_counter()
    out = run_monitoring(ctx, params)
    total = time.perf_counter() - t
    n = len(out["monitor_sites"])
    print(f"monitoring analysis, {n} sites ({args.candidates} candidates), 5 chosen: {total:.2f} s")

    # the viewsheds alone
    sites = out["monitor_sites"]
    rows, cols = dem.rowcol(sites.geometry.representative_point().x, sites.geometry.representative_point().y)
    t = time.perf_counter()
    for r, c in zip(np.rint(rows).astype(int), np.rint(cols).astype(int)):
        viewshed(dem.z, int(r), int(c), cell_m=dem.cell_m, observer_m=25.0, target_m=10.0,
                 range_m=args.range_km * 1000)
    vs = time.perf_counter() - t
    print(f"kzgis viewshed: {vs / n * 1000:.1f} ms per site ({n} sites: {vs:.2f} s)")

    if not args.no_peer:
        try:
            import xarray as xr
            from xrspatial import viewshed as xrs_viewshed
        except ImportError:
            print("xarray-spatial not installed: peer skipped")
            return
        reach = int(np.ceil(args.range_km * 1000 / dem.cell_m))
        r, c = int(np.rint(rows[0])), int(np.rint(cols[0]))
        win = dem.z[max(0, r - reach):r + reach + 1, max(0, c - reach):c + reach + 1].astype(float)
        da = xr.DataArray(win, dims=["y", "x"],
                          coords={"y": np.arange(win.shape[0]) * dem.cell_m, "x": np.arange(win.shape[1]) * dem.cell_m})
        ox, oy = (c - max(0, c - reach)) * dem.cell_m, (r - max(0, r - reach)) * dem.cell_m
        t = time.perf_counter()
        xrs_viewshed(da, x=ox, y=oy, observer_elev=25.0, target_elev=10.0)
        first = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(3):
            xrs_viewshed(da, x=ox, y=oy, observer_elev=25.0, target_elev=10.0)
        per = (time.perf_counter() - t) / 3
        print(f"xarray-spatial viewshed (same {win.shape[0]}x{win.shape[1]} window, no range or curvature): "
              f"first call {first:.1f} s (numba compilation), then {per * 1000:.0f} ms per site; "
              f"kzgis is {per / (vs / n):.0f}x faster per site")


if __name__ == "__main__":
    main()
