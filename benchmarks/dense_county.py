"""A real-density county made from the demo layers, for ``make bench-county`` (issue 14).

Deterministic generator (not a test, nothing committed): the embedded Kaizhou demo layers
(``layers/kaizhou``: 3,511 road lines, 500 settlements, 1,447 hydrants) densified to the density of
a real survey of village roads (农村公路):

- **roads**: a jittered mesh of village roads (村道 / 机耕道, 2-6 m wide, some without a width) over
  the county, denser in the low valleys than on the mountains, each side a 5-point line; mesh
  nodes near a demo road are joined to it by a short connector that ends on the road (a T-junction,
  which the network builder nodes), so the mesh and the demo network are one network. The mesh
  spacing is chosen so the network has about ``edges`` edges (demo + mesh + connectors + the demo
  edges the connectors split).
- **settlements**: the demo's 500 plus small villages (村民小组) beside mesh nodes, up to
  ``settlements`` in all, each in the township whose boundary holds it.
- **hydrants**: the demo's plus two beside the mesh road at each new settlement (``hydrants`` in
  all), written as the demo's CSV (GCJ-02 longitude/latitude, as collected with a phone map app).

Every other layer is the demo's own file. :func:`write_recipe` writes the demo recipe
(``analyses/kaizhou.yaml``) pointing at the dense layers.

``python -m benchmarks.dense_county OUT --edges 100000`` writes the layers and the recipe to OUT.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "kaizhou"
RECIPE = REPO / "analyses" / "kaizhou.yaml"
CRS = "EPSG:4545"
SOURCE = "示意数据(synthetic, bench-county)"
SIZES = {"25k": 25_000, "50k": 50_000, "100k": 100_000, "200k": 200_000}
SURNAMES = list("张王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢")
SUFFIX = ["家湾", "家坝", "家沟", "家坪", "家院", "家岭", "家嘴", "家垭", "家槽", "家梁"]


def parse_size(text: str) -> int:
    """'100k', '100000', '1e5' -> 100000."""
    t = str(text).strip().lower().replace("_", "").replace(",", "")
    if t in SIZES:
        return SIZES[t]
    if t.endswith("k"):
        return int(float(t[:-1]) * 1000)
    return int(float(t))


def _mesh(county, dem, spacing: float, rng_seed: int):
    """Mesh sides (a, b node ids), node coordinates, for one spacing (deterministic per seed)."""
    import shapely

    rng = np.random.default_rng(rng_seed)
    minx, miny, maxx, maxy = county.bounds
    nx = int((maxx - minx) // spacing) + 2
    ny = int((maxy - miny) // spacing) + 2
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    x = minx + ii * spacing + rng.uniform(-0.22, 0.22, ii.shape) * spacing
    y = miny + jj * spacing + rng.uniform(-0.22, 0.22, jj.shape) * spacing
    inner = county.buffer(-150.0)
    shapely.prepare(inner)
    inside = shapely.contains_xy(inner, x.ravel(), y.ravel()).reshape(x.shape)
    z = np.nan_to_num(dem.sample(x.ravel(), y.ravel()), nan=1500.0).reshape(x.shape)
    # valleys are denser: keep probability of a side from the elevation of its first node
    keep_p = np.clip(0.30 + 0.68 * np.exp(-(z - 180.0) / 700.0), 0.30, 0.97)
    sides = []
    for di, dj in ((1, 0), (0, 1)):
        a_i, a_j = ii[: nx - di, : ny - dj].ravel(), jj[: nx - di, : ny - dj].ravel()
        b_i, b_j = a_i + di, a_j + dj
        ok = inside[a_i, a_j] & inside[b_i, b_j] & (rng.random(len(a_i)) < keep_p[a_i, a_j])
        sides.append(np.c_[a_i[ok] * ny + a_j[ok], b_i[ok] * ny + b_j[ok]])
    sides = np.concatenate(sides)
    return sides, np.c_[x.ravel(), y.ravel()], inside.ravel()


def _side_lines(xy, sides, spacing, rng):
    """5-point lines with a smooth sideways wiggle (village roads follow the ground)."""
    import shapely

    a, b = xy[sides[:, 0]], xy[sides[:, 1]]
    d = b - a
    n = np.c_[-d[:, 1], d[:, 0]] / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    amp = rng.normal(0, 0.07, len(a)) * spacing
    ph = rng.uniform(0, np.pi, len(a))
    pts = [a]
    for t in (0.25, 0.5, 0.75):
        off = amp * np.sin(np.pi * t + ph) * np.sin(np.pi * t)
        pts.append(a + d * t + n * off[:, None])
    pts.append(b)
    coords = np.round(np.stack(pts, 1).reshape(-1, 2), 2)
    return shapely.linestrings(coords, indices=np.repeat(np.arange(len(a)), 5))


def _connectors(xy, used_nodes, roads, spacing):
    """Short lines from mesh nodes near a demo road to the nearest point on it (T-junctions)."""
    import shapely

    tree = shapely.STRtree(roads)
    nodes = np.flatnonzero(used_nodes)
    pts = shapely.points(xy[nodes])
    (pi, ri), dist = tree.query_nearest(pts, max_distance=0.45 * spacing, return_distance=True, all_matches=False)
    ok = dist > 1.0
    pi, ri = pi[ok], ri[ok]
    lines = shapely.shortest_line(pts[pi], roads[ri])
    return lines, ri


def generate(out: Path | str, edges: int = 100_000, settlements: int = 5500, hydrants: int = 11_000,
             seed: int = 14) -> dict:
    """Write the dense roads, settlements and hydrants to ``out``; returns what was made.

    The mesh spacing is found in two steps (a first guess from the county's area, then scaled by
    the square root of the count it gave), so the edge count lands within a few percent of
    ``edges``; the exact count (demo edges split by connectors included) is in the result.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    from kzgis.gcj02 import wgs84_to_gcj02
    from kzgis.terrain import DEM

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    county = gpd.read_file(DEMO / "county.gpkg").to_crs(CRS).geometry.union_all()
    roads = gpd.read_file(DEMO / "roads.gpkg").to_crs(CRS)
    boundary = gpd.read_file(DEMO / "boundary.gpkg").to_crs(CRS)
    dem = DEM.read(DEMO / "dem.tif", CRS)
    road_geoms = np.asarray(roads.geometry.values, dtype=object)
    n_demo = len(roads)
    want_mesh = max(edges - n_demo, 1000)

    # spacing: sides ~ 2 * area / s^2 * keep (~0.6), plus ~10 % connectors and split demo edges
    spacing = math.sqrt(2 * county.area * 0.6 / (want_mesh / 1.1))
    for _ in range(3):
        sides, xy, _inside = _mesh(county, dem, spacing, seed)
        used = np.zeros(len(xy), bool)
        used[sides.ravel()] = True
        conn, _ = _connectors(xy, used, road_geoms, spacing)
        n_split = len(conn) + 0  # each connector splits one demo edge (at most) into two
        got = len(sides) + len(conn) + n_split
        if abs(got - want_mesh) / want_mesh < 0.03:
            break
        spacing *= math.sqrt(got / want_mesh)

    rng = np.random.default_rng(seed + 1)
    mesh = _side_lines(xy, sides, spacing, rng)
    m = len(mesh)
    cls = np.where(rng.random(m) < 0.72, "村道", "机耕道")
    width = np.round(np.clip(rng.triangular(2.0, 3.6, 6.0, m), 2.0, 6.0), 1)
    width[cls == "机耕道"] = np.round(np.clip(width[cls == "机耕道"] - 0.8, 2.0, 6.0), 1)
    width[rng.random(m) < 0.06] = np.nan  # no survey width: the network's class default applies
    nc = len(conn)
    new_roads = gpd.GeoDataFrame({
        "道路名称": ["村组道路"] * m + ["连接道路"] * nc,
        "道路等级": np.r_[cls, np.full(nc, "村道")],
        "路面宽度": np.r_[width, np.round(rng.uniform(3.0, 5.0, nc), 1)],
        "单行": 0,
        "source": SOURCE,
    }, geometry=np.r_[mesh, conn], crs=CRS)
    dense = pd.concat([roads, new_roads], ignore_index=True)
    dense = gpd.GeoDataFrame(dense, geometry="geometry", crs=CRS)
    dense.to_file(out / "roads.gpkg", layer="roads", engine="pyogrio")

    # settlements: beside mesh nodes (valley nodes first by the same keep rule), 20-120 m off
    demo_s = gpd.read_file(DEMO / "settlements.gpkg").to_crs(CRS)
    k = max(settlements - len(demo_s), 0)
    deg = np.bincount(sides.ravel(), minlength=len(xy))
    cand = np.flatnonzero(deg >= 2)
    pick = np.sort(rng.choice(cand, size=min(k, len(cand)), replace=False))
    ang = rng.uniform(0, 2 * np.pi, len(pick))
    r = rng.uniform(20, 120, len(pick))
    sx, sy = xy[pick, 0] + r * np.cos(ang), xy[pick, 1] + r * np.sin(ang)
    spts = gpd.GeoDataFrame(geometry=shapely.points(np.round(sx, 2), np.round(sy, 2)), crs=CRS)
    town = gpd.sjoin_nearest(spts, boundary[["town", "geometry"]], how="left")
    town = town[~town.index.duplicated()]["town"].to_numpy()
    names = [SURNAMES[i % len(SURNAMES)] + SUFFIX[(i // len(SURNAMES)) % len(SUFFIX)] + f"{i // 500 + 1}组"
             for i in rng.permutation(len(pick))]
    pop = np.clip(np.rint(np.exp(rng.normal(np.log(180), 0.55, len(pick))) / 10) * 10, 30, 1500).astype(int)
    new_s = gpd.GeoDataFrame({"name": names, "town": town, "population": pop, "kind": "村庄", "source": SOURCE},
                             geometry=spts.geometry.values, crs=CRS)
    dense_s = gpd.GeoDataFrame(pd.concat([demo_s, new_s], ignore_index=True), geometry="geometry", crs=CRS)
    dense_s.to_file(out / "settlements.gpkg", layer="settlements", engine="pyogrio")

    # hydrants: two beside a mesh road leaving each new settlement's node, 4 m off the centre line
    demo_h = pd.read_csv(DEMO / "hydrants.csv", dtype={"编号": str})
    kh = max(hydrants - len(demo_h), 0)
    side_of = {}
    for s_i, (a, b) in enumerate(sides):
        side_of.setdefault(int(a), s_i)
        side_of.setdefault(int(b), s_i)
    hx, hy = [], []
    for j in range(kh):
        node = int(pick[j % len(pick)]) if len(pick) else 0
        line = mesh[side_of[node]]
        frac = float(rng.uniform(0.05, 0.45)) if j < len(pick) else float(rng.uniform(0.55, 0.95))
        if int(sides[side_of[node], 0]) != node:
            frac = 1.0 - frac
        p = shapely.line_interpolate_point(line, frac, normalized=True)
        q = shapely.line_interpolate_point(line, min(frac + 0.01, 1.0), normalized=True)
        dx, dy = q.x - p.x, q.y - p.y
        nrm = math.hypot(dx, dy) or 1.0
        hx.append(p.x - dy / nrm * 4.0)
        hy.append(p.y + dx / nrm * 4.0)
    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(np.asarray(hx), np.asarray(hy))
    glon, glat = wgs84_to_gcj02(np.asarray(lon), np.asarray(lat))
    status = rng.choice(["正常", "损坏", "无水", "停用"], size=kh, p=[0.84, 0.08, 0.05, 0.03])
    new_h = pd.DataFrame({"编号": [f"XC{i + 1:05d}" for i in range(kh)], "经度": np.round(glon, 7),
                          "纬度": np.round(glat, 7), "状态": status})
    pd.concat([demo_h, new_h], ignore_index=True).to_csv(out / "hydrants.csv", index=False, encoding="utf-8")

    info = {"edges_target": edges, "road_lines": len(dense), "mesh_sides": m, "connectors": nc,
            "edges_estimated": n_demo + m + 2 * nc, "mesh_spacing_m": round(spacing, 1),
            "settlements": len(dense_s), "hydrants": len(demo_h) + kh, "seed": seed,
            "seconds": round(time.perf_counter() - t0, 2)}
    (out / "dense_county.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return info


def write_recipe(layer_dir: Path | str, path: Path | str, out_dir: Path | str) -> Path:
    """The demo recipe with roads, settlements and hydrants taken from ``layer_dir``."""
    import yaml

    layer_dir, path = Path(layer_dir).resolve(), Path(path)
    recipe = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    for kind, spec in recipe["layers"].items():
        dense = {"roads": "roads.gpkg", "settlements": "settlements.gpkg", "hydrants": "hydrants.csv"}.get(kind)
        src = str(layer_dir / dense) if dense else str((RECIPE.parent / (spec["path"] if isinstance(spec, dict)
                                                                          else spec)).resolve())
        if isinstance(spec, dict):
            spec["path"] = src
        else:
            recipe["layers"][kind] = src
    recipe["name"] = "kaizhou-bench-county"
    recipe["outputs"]["dir"] = str(Path(out_dir).resolve())
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.dense_county", description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--edges", default="100k", help="25k, 50k, 100k, 200k or a number (default 100k)")
    ap.add_argument("--settlements", type=int, default=5500)
    ap.add_argument("--hydrants", type=int, default=11_000)
    ap.add_argument("--seed", type=int, default=14)
    a = ap.parse_args(argv)
    info = generate(a.out, parse_size(a.edges), a.settlements, a.hydrants, a.seed)
    write_recipe(a.out, a.out / "recipe.yaml", a.out / "out")
    print(json.dumps(info, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
