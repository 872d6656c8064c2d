"""Benchmark: building clusters on 100,000 synthetic footprints (issue 17: <= 10 s on 2 cores).

``python -m benchmarks.bench_clusters [--n 100000] [--seed 1]``. Not a test; prints timings.

The footprints: a jittered grid of village houses (8-16 m x 8-14 m) in blocks of 6 x 6 houses with
1-6 m between houses and 6-20 m lanes between blocks, grades 一二级 to 四级 and some unknown, in
EPSG:4545. Timed: the grade lookup, the pair search (``STRtree.query`` with ``dwithin``) with the
separations, the connected components, and the whole analysis (clusters, over-limit splits,
firebreak lines, output frames).
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely


def footprints(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    block = 6
    k = np.arange(side)
    # house pitch: 16 m plus a lane after every 6th house
    lane = rng.uniform(6, 20, size=side // block + 1)
    pos = k * 18.0 + np.concatenate([[0.0], np.cumsum(np.repeat(lane, block)[: side - 1] * ((k[1:] % block) == 0))])
    gx, gy = np.meshgrid(pos, pos)
    gx, gy = gx.ravel()[:n], gy.ravel()[:n]
    w = rng.uniform(8, 16, n)
    h = rng.uniform(8, 14, n)
    x0 = 500000.0 + gx + rng.uniform(0, 2, n)
    y0 = 3400000.0 + gy + rng.uniform(0, 2, n)
    geoms = shapely.box(x0, y0, x0 + w, y0 + h)
    grade = rng.choice(np.array(["1", "2", "3", "4", None], dtype=object), n, p=[0.1, 0.15, 0.35, 0.3, 0.1])
    return gpd.GeoDataFrame({"fire_resistance": grade}, geometry=geoms, crs="EPSG:4545")


def main(argv=None) -> int:
    from kzgis.analyses.building_clusters import (
        ClusterParams,
        clusters,
        grade_class,
        grades,
        links,
        run_building_clusters,
    )
    from kzgis.analysis import Context
    from kzgis.layers import Layers

    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_clusters", description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    b = footprints(a.n, a.seed)
    p = ClusterParams()
    t0 = time.perf_counter()
    g, _ = grades(b, p)
    t1 = time.perf_counter()
    i, j, _gap, _req = links(b.geometry.values, grade_class(g), p.table())
    t2 = time.perf_counter()
    lab = clusters(len(b), i, j)
    t3 = time.perf_counter()
    ly = Layers("EPSG:4545")
    ly["buildings"] = b
    ctx = Context(layers=ly)
    t4 = time.perf_counter()
    res = run_building_clusters(ctx, p)
    t5 = time.perf_counter()
    cl = res["building_clusters"]
    print(f"{len(b):,} buildings, {len(i):,} links, {int(lab.max()) + 1:,} clusters "
          f"({len(cl):,} listed, {int(cl['over_limit'].sum())} over {p.limit_m2:g} m2, "
          f"{len(res['firebreak_suggestions']):,} cuts)")
    print(f"grades          {t1 - t0:6.2f} s")
    print(f"pairs (STRtree) {t2 - t1:6.2f} s")
    print(f"components      {t3 - t2:6.2f} s")
    print(f"clustering      {t3 - t0:6.2f} s   (target <= 10 s)")
    print(f"whole analysis  {t5 - t4:6.2f} s   (with splits, firebreak lines and output frames)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
