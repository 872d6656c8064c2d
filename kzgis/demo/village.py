"""Demo layers for the village side of the plan: communities, micro fire stations, buildings.

Written from the other demo layers already in the folder (roads, settlements, old towns), so the
other files stay as they are: ``python -m kzgis.demo.village [DIR]`` (default ``layers/kaizhou``)
writes only ``communities.gpkg``, ``micro_stations.gpkg`` and ``buildings.gpkg``. Deterministic.

- ``communities.gpkg``: the 57 communities the seed names (28 equipped in 2024, 29 in 2025,
  ``year``), as synthetic points beside a street of the urban area or of a township seat (which
  township is our invention: the seed does not say), ``population`` invented; marked 示意.
- ``micro_stations.gpkg``: a micro station for most 2024 communities (``status`` existing) and
  for some 2025 ones (planned), 30-250 m from the community along the streets; the others have
  none, so the analysis has gaps to suggest sites for.
- ``buildings.gpkg``: footprints in 温泉古镇 (rows of wooden / brick-wood houses along its lanes,
  0-4 m apart, mostly 三级/四级, some grades missing) and in a few villages (looser groups).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from .common import VILLAGE_FILES

log = logging.getLogger(__name__)

CRS = "EPSG:4545"
SYN = "示意数据(synthetic)"
FIXED_DATE = "2024-01-01T00:00:00Z"
FILES = VILLAGE_FILES

#: seed task 3 (开州府办发〔2023〕47号, 任务分解表 7-8): communities whose micro stations are equipped
COMMUNITIES_2024 = ["天祠社区", "红亮社区", "大胜社区", "福佳社区", "大慈社区", "新进社区", "正鹤社区", "水田社区",
                    "华联社区", "八仙桥社区", "花园桥社区", "水河社区", "河堰口社区", "合兴社区", "东岳街社区",
                    "柳盛社区", "石口社区", "钦云社区", "大石社区", "紫荆社区", "帅兴社区", "安和社区", "睡佛社区",
                    "宏源社区", "双峰社区", "丰盛社区", "石河社区", "三合场社区"]
COMMUNITIES_2025 = ["永兴社区", "盛山社区", "金州社区", "红光社区", "百成社区", "正街社区", "兴隆街社区", "万安社区",
                    "青和社区", "洪星社区", "铁锁桥社区", "花桥社区", "徐家坝社区", "河东社区", "东平社区", "中吉社区",
                    "杨柳社区", "天鹅湖社区", "双合店社区", "南郊社区", "岳兴社区", "长青社区", "永安社区", "兴合社区",
                    "关子社区", "甜橙社区", "狮寨社区", "古迹社区", "陈家社区"]
URBAN_STREETS = ["汉丰街道", "文峰街道", "云枫街道", "镇东街道", "丰乐街道"]
#: communities placed in 温泉镇 (the old town's township), with or without a station (the rest: drawn at random)
PINNED = {"东岳街社区": ("温泉镇", True), "石口社区": ("温泉镇", False), "正街社区": ("温泉镇", True),
          "古迹社区": ("温泉镇", False)}
N_URBAN = 22  # communities in the urban streets; the rest at township seats
OLD_TOWN_STRUCTURE = (["木"] * 40 + ["砖木"] * 38 + ["砖混"] * 15 + ["钢混"] * 2 + [None] * 5)
VILLAGE_STRUCTURE = (["砖木"] * 35 + ["砖混"] * 35 + ["木"] * 15 + ["钢混"] * 5 + [None] * 10)
GRADE_OF = {"木": "四级", "砖木": "三级", "砖混": "二级", "钢混": "一级"}


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, sum(map(ord, name))])


def _read(folder: Path, name: str) -> gpd.GeoDataFrame:
    import pyogrio

    return pyogrio.read_dataframe(folder / name)


def _round(geoms):
    return shapely.set_precision(np.asarray(geoms, dtype=object), 0.01)


def _point_near_road(rng, roads, centre, r_min, r_max, off_min=5.0, off_max=30.0):
    """A point beside a usable road between r_min and r_max from centre (None when there is none)."""
    near = roads[roads.distance(centre) <= r_max]
    if not len(near):
        return None
    for _ in range(40):
        k = int(rng.integers(len(near)))
        line = near.geometry.iloc[k]
        t = float(rng.uniform(0, line.length))
        p = line.interpolate(t)
        d = p.distance(centre)
        if not r_min <= d <= r_max:
            continue
        p2 = line.interpolate(min(line.length, t + 1.0))
        dx, dy = p2.x - p.x, p2.y - p.y
        n = math.hypot(dx, dy) or 1.0
        side = 1 if rng.random() < 0.5 else -1
        off = float(rng.uniform(off_min, off_max)) * side
        return shapely.Point(p.x - dy / n * off, p.y + dx / n * off)
    return None


def communities_and_stations(folder: Path, seed: int = 20231):
    rng = _rng(seed, "communities")
    roads = _read(folder, "roads.gpkg")
    width = roads["路面宽度"].astype(float)
    roads = roads[(width.isna() | (width >= 2.0)) & ~roads["道路等级"].isin(["机耕道"])]
    sett = _read(folder, "settlements.gpkg")
    centres = sett[sett["kind"].isin(["城区", "镇区"])].set_index("name")
    names = COMMUNITIES_2024 + COMMUNITIES_2025
    years = [2024] * len(COMMUNITIES_2024) + [2025] * len(COMMUNITIES_2025)
    seats = [t for t in centres.index if t not in URBAN_STREETS]
    free = [k for k, nm in enumerate(names) if nm not in PINNED]
    n_seat = len(free) - N_URBAN
    seat_pick = list(rng.choice(seats, size=n_seat, replace=n_seat > len(seats)))
    order = rng.permutation(len(free))
    towns = [PINNED[nm][0] if nm in PINNED else None for nm in names]
    for k, i in enumerate(order):
        towns[free[i]] = URBAN_STREETS[k % len(URBAN_STREETS)] if k < N_URBAN else str(seat_pick[k - N_URBAN])
    rows, geoms = [], []
    for name, year, town in zip(names, years, towns):
        urban = town in URBAN_STREETS
        c = centres.geometry[town]
        p = _point_near_road(rng, roads, c, 100.0, 1600.0 if urban else 700.0)
        if p is None:
            p = c
        pop = int(rng.integers(2500, 12000) if urban else rng.integers(800, 5000)) // 10 * 10
        rows.append({"name": name, "town": town, "population": pop, "year": year,
                     "source": f"{SYN}：社区名称与配齐年份据开州府办发〔2023〕47号，位置、所属乡镇和人口为示意"})
        geoms.append(p)
    comm = gpd.GeoDataFrame(rows, geometry=_round(geoms), crs=CRS)
    # micro stations: most 2024 communities (existing), some 2025 ones (planned)
    srng = _rng(seed, "micro_stations")
    srows, sgeoms = [], []
    for k, r in comm.iterrows():
        has = srng.random() < (0.8 if r["year"] == 2024 else 0.35)
        if r["name"] in PINNED:
            has = PINNED[r["name"]][1]
        if not has:
            continue
        p = _point_near_road(srng, roads, r.geometry, 30.0, 250.0, 2.0, 12.0)
        if p is None:
            continue
        existing = r["year"] == 2024
        srows.append({"name": r["name"].removesuffix("社区") + "社区微型消防站", "town": r["town"],
                      "community": r["name"], "status": "existing" if existing else "planned",
                      "year": int(r["year"]), "source": f"{SYN}：位置为示意"})
        sgeoms.append(p)
    st = gpd.GeoDataFrame(srows, geometry=_round(sgeoms), crs=CRS)
    return comm, st


# ---------------------------------------------------------------------------------------------
# buildings


def _rows_along(rng, line, half_width, structures, grade_missing, name_prefix, pitch=(6.0, 14.0),
                gap=(0.0, 4.0), depth=(8.0, 15.0), setback=(0.5, 3.0)):
    """Rectangles on both sides of a lane, fronting it."""
    out = []
    L = line.length
    for side in (1, -1):
        t = float(rng.uniform(0, 4))
        while t < L - 4:
            w = float(rng.uniform(*pitch))
            if t + w > L:
                break
            a = line.interpolate(t)
            b = line.interpolate(t + w)
            dx, dy = b.x - a.x, b.y - a.y
            n = math.hypot(dx, dy) or 1.0
            nx, ny = -dy / n * side, dx / n * side
            s0 = half_width + float(rng.uniform(*setback))
            d = float(rng.uniform(*depth))
            poly = shapely.Polygon([(a.x + nx * s0, a.y + ny * s0), (b.x + nx * s0, b.y + ny * s0),
                                    (b.x + nx * (s0 + d), b.y + ny * (s0 + d)),
                                    (a.x + nx * (s0 + d), a.y + ny * (s0 + d))])
            st = structures[int(rng.integers(len(structures)))]
            grade = None if st is None or rng.random() < grade_missing else GRADE_OF[st]
            floors = int(rng.choice([1, 2, 2, 2, 3])) if st in ("木", "砖木") else int(rng.choice([2, 3, 3, 4]))
            out.append((poly, {"structure": st, "fire_resistance": grade, "floors": floors, "area": name_prefix}))
            t += w + float(rng.uniform(*gap))
    return out


def buildings(folder: Path, seed: int = 20231) -> gpd.GeoDataFrame:
    rng = _rng(seed, "buildings")
    roads = _read(folder, "roads.gpkg")
    ot = _read(folder, "old_towns.gpkg")
    sett = _read(folder, "settlements.gpkg")
    old = ot.geometry.iloc[0]
    cand = []
    # 温泉古镇: rows along every lane inside it
    lanes = roads[roads.intersects(old)]
    for _, r in lanes.iterrows():
        w = float(r["路面宽度"]) if r["路面宽度"] == r["路面宽度"] else 3.0
        part = shapely.intersection(r.geometry, old)
        for ln in shapely.get_parts(part):
            if ln.geom_type == "LineString" and ln.length > 20:
                cand += _rows_along(rng, ln, w / 2, OLD_TOWN_STRUCTURE, 0.25, "温泉古镇")
    # a few villages of 温泉镇 and neighbours: looser houses along their roads
    vill = sett[(sett["kind"] == "村庄") & sett["town"].isin(["温泉镇", "郭家镇", "大进镇", "岳溪镇"])]
    vill = vill.sort_values("name").iloc[:: max(1, len(vill) // 6)].head(6)
    for _, v in vill.iterrows():
        near = roads[roads.distance(v.geometry) < 250]
        for _, r in near.iterrows():
            w = float(r["路面宽度"]) if r["路面宽度"] == r["路面宽度"] else 3.5
            part = shapely.intersection(r.geometry, v.geometry.buffer(220))
            for ln in shapely.get_parts(part):
                if ln.geom_type == "LineString" and ln.length > 30:
                    cand += _rows_along(rng, ln, w / 2, VILLAGE_STRUCTURE, 0.4, v["name"], pitch=(8.0, 14.0),
                                        gap=(1.0, 14.0), depth=(8.0, 13.0), setback=(1.5, 6.0))
    if not cand:
        return gpd.GeoDataFrame({"name": []}, geometry=[], crs=CRS)
    polys = np.array([c[0] for c in cand], dtype=object)
    # drop what overlaps a road (by its width) or an earlier building
    rw = roads["路面宽度"].astype(float).fillna(3.0).to_numpy()
    road_area = shapely.buffer(np.asarray(roads.geometry.values, dtype=object), rw / 2 + 0.3)
    rtree = shapely.STRtree(road_area)
    on_road = np.zeros(len(polys), dtype=bool)
    qi, _ = rtree.query(polys, predicate="intersects")
    on_road[qi] = True
    tree = shapely.STRtree(polys)
    a, b = tree.query(polys, predicate="intersects")
    keep = ~on_road
    clash = a < b
    for x, y in zip(a[clash], b[clash]):
        if keep[x] and keep[y]:
            keep[y] = False
    rows = []
    for k in np.flatnonzero(keep):
        attrs = cand[k][1]
        rows.append({"name": f"{attrs['area']}{len(rows) + 1:04d}", "fire_resistance": attrs["fire_resistance"],
                     "structure": attrs["structure"], "floors": attrs["floors"],
                     "source": f"{SYN}：建筑轮廓、结构和耐火等级为示意"})
    return gpd.GeoDataFrame(rows, geometry=_round(polys[keep]), crs=CRS)


def generate(out_dir: Path | str, seed: int = 20231) -> dict[str, Path]:
    """Write ``communities.gpkg``, ``micro_stations.gpkg``, ``buildings.gpkg`` beside the other demo layers."""
    import pyogrio

    out = Path(out_dir)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE, "OGR_SQLITE_JOURNAL": "OFF"})
    comm, st = communities_and_stations(out, seed)
    bl = buildings(out, seed)
    paths = {}
    for name, gdf, layer, gt in (("communities.gpkg", comm, "communities", "Point"),
                                 ("micro_stations.gpkg", st, "micro_stations", "Point"),
                                 ("buildings.gpkg", bl, "buildings", "Polygon")):
        p = out / name
        if p.exists():
            p.unlink()
        pyogrio.write_dataframe(gdf, p, layer=layer, driver="GPKG", geometry_type=gt)
        paths[name] = p
    log.info("village demo layers: %d communities, %d micro stations, %d buildings", len(comm), len(st), len(bl))
    return paths


def main(argv=None) -> int:
    import argparse

    from .common import default_out_dir

    ap = argparse.ArgumentParser(prog="python -m kzgis.demo.village", description=__doc__)
    ap.add_argument("out_dir", nargs="?", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=20231)
    a = ap.parse_args(argv)
    for p in generate(a.out_dir or default_out_dir(), a.seed).values():
        print(f"{p.stat().st_size / 1e6:8.2f} MB  {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
