"""Forest-fire video monitoring coverage by viewshed (林火视频监控), and where to add cameras.

Seed task 18 (林火智能监控系统): forestry bureaus plan monitoring towers by viewshed analysis on
the DEM, with targets such as "90 % of key forest under video monitoring" (LY/T 2581-2016
森林防火视频监控系统技术规范).

Method
------
1. **Forest grid.** The forest polygons are rasterised on the DEM grid (a cell is forest when its
   centre is); areas are cell counts x cell area.
2. **Sites.** Existing cameras and lookout towers (``monitor_sites``: ``mast_m`` and ``range_km``
   per site when given) and candidates: the ``candidate_sites`` layer when given, else generated
   from the DEM: local summits (highest cell within ``summit_spacing_m``) that lie within
   ``candidate_road_max_m`` of a road (power and access), at most ``max_candidates`` of the highest.
3. **Viewshed** of each site (:func:`kzgis.viewshed.viewshed`): the eye ``mast_m`` above the ground,
   the target ``target_m`` above the ground (smoke above the canopy), out to ``range_km``, earth
   curvature and refraction (k = 0.13) applied.
4. **New sites.** Greedy maximum coverage: repeatedly the candidate adding the most forest not yet
   seen, until ``new_sites`` are chosen or, when ``new_sites`` is 0, until ``target_share`` of the
   forest is seen (or no candidate adds anything). Greedy is within 1 - 1/e of the best choice.
5. **Blind spots**: forest seen by no site (existing and chosen), as polygons of at least
   ``blind_spot_min_km2``.

Results: ``monitor_viewsheds`` (visible forest per site), ``monitor_sites`` (existing and
candidate sites, chosen, rank, added forest), ``monitor_towns`` and ``monitor_blocks`` (forest,
seen, share per township and per connected forest block, now and with the chosen sites),
``monitor_blind_spots``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import rules
from .._errors import AnalysisError
from ..analysis import register
from ..viewshed import viewshed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitoringParams:
    """Parameters of the ``monitoring`` analysis.

    Attributes
    ----------
    mast_m : camera height above the ground where a site has no ``mast_m`` (A).
    target_m : height above the ground that must be seen (smoke above the canopy) (A).
    range_km : camera range where a site has no ``range_km`` (A).
    refraction : atmospheric refraction coefficient k.
    new_sites : number of new sites to choose (0: enough to reach ``target_share``).
    target_share : share of the forest to be seen when ``new_sites`` is 0.
    summit_spacing_m : generated candidates are the highest cell within this distance.
    candidate_road_max_m : generated candidates lie within this distance of a road.
    max_candidates : at most this many generated candidates (the highest).
    blind_spot_min_km2 : unseen forest patches at least this large are listed.
    """

    mast_m: float = rules.param("monitor_mast_m")
    target_m: float = rules.param("monitor_target_m")
    range_km: float = rules.param("monitor_range_km")
    refraction: float = rules.param("monitor_refraction")
    new_sites: int = 0
    target_share: float = rules.param("monitor_target_share")
    summit_spacing_m: float = rules.param("monitor_summit_spacing_m")
    candidate_road_max_m: float = rules.param("monitor_candidate_road_m")
    max_candidates: int = 50
    blind_spot_min_km2: float = rules.param("monitor_blind_spot_km2")

    def __post_init__(self):
        for name in ("mast_m", "target_m", "range_km", "summit_spacing_m", "candidate_road_max_m"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise AnalysisError(f"monitoring.{name}: {v!r} must be a finite number >= 0")
        if not 0 <= self.target_share <= 1:
            raise AnalysisError(f"monitoring.target_share: {self.target_share!r} must be between 0 and 1 (e.g. 0.9)")
        if self.new_sites < 0 or self.max_candidates < 0:
            raise AnalysisError("monitoring.new_sites and max_candidates must be >= 0")


def forest_grid(dem, forest: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean grid on the DEM: cells whose centre lies in forest."""
    from rasterio.features import rasterize

    geoms = [g for g in forest.geometry if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(dem.shape, dtype=bool)
    return rasterize(((g, 1) for g in geoms), out_shape=dem.shape, transform=dem.transform, fill=0,
                     dtype="uint8").astype(bool)


def generate_candidates(dem, roads: gpd.GeoDataFrame | None, params: MonitoringParams) -> gpd.GeoDataFrame:
    """Local summits near a road: the highest cell within ``summit_spacing_m``, at most
    ``max_candidates``, highest first."""
    from scipy.ndimage import maximum_filter

    z = np.where(np.isfinite(dem.z), dem.z, -np.inf)
    size = max(3, int(round(2 * params.summit_spacing_m / dem.cell_m)) | 1)
    peak = (z == maximum_filter(z, size=size, mode="nearest")) & np.isfinite(dem.z)
    rows, cols = np.nonzero(peak)
    xs, ys = dem.transform @ (cols + 0.5, rows + 0.5)
    pts = gpd.GeoDataFrame({"elevation_m": dem.z[rows, cols].astype(float)},
                           geometry=shapely.points(xs, ys), crs=dem.crs)
    if roads is not None and len(roads):
        tree = shapely.STRtree(np.asarray(roads.geometry.values))
        near = tree.query(np.asarray(pts.geometry.values), predicate="dwithin",
                          distance=params.candidate_road_max_m)
        pts = pts.iloc[np.unique(near[0])]
    pts = pts.sort_values("elevation_m", ascending=False, kind="stable").head(params.max_candidates)
    pts = pts.reset_index(drop=True)
    pts.insert(0, "name", [f"候选{i + 1}" for i in range(len(pts))])
    return pts


def _site_cells(dem, gdf):
    r, c = dem.rowcol(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
    return np.rint(r).astype(int), np.rint(c).astype(int)


def _per_site(gdf, column, default):
    if column in gdf.columns:
        v = pd.to_numeric(gdf[column], errors="coerce").to_numpy(float)
        return np.where(np.isfinite(v) & (v >= 0), v, default)
    return np.full(len(gdf), float(default))


def _polygons(mask: np.ndarray, dem) -> shapely.Geometry | None:
    from rasterio.features import shapes

    if not mask.any():
        return None
    polys = [shapely.geometry.shape(g) for g, v in shapes(mask.astype("uint8"), mask=mask,
                                                          transform=dem.transform) if v == 1]
    return shapely.union_all(polys) if polys else None


def _towns(ctx, crs):
    if not ctx.layers.has("boundary"):
        return None
    b = ctx.layers["boundary"]
    if "town" not in b.columns:
        return None
    return b[["town", "geometry"]].to_crs(crs)


@register("monitoring", title_zh="森林防火视频监控覆盖", needs=("forest", "dem"),
          optional=("monitor_sites", "candidate_sites", "roads", "boundary"), params=MonitoringParams,
          results=("monitor_viewsheds", "monitor_sites", "monitor_towns", "monitor_blocks", "monitor_blind_spots"))
def run_monitoring(ctx, params: MonitoringParams) -> dict:
    """Forest seen by the existing cameras (viewshed), the best new sites, blind spots."""
    dem = ctx.dem
    forest = forest_grid(dem, ctx.layers["forest"])
    cell_km2 = dem.cell_m ** 2 / 1e6
    total = int(forest.sum())
    if total == 0:
        raise AnalysisError("monitoring: no forest lies on the DEM (check that the forest layer and the DEM "
                            "cover the same area)")
    frames = []
    if ctx.layers.has("monitor_sites") and len(ctx.layers["monitor_sites"]):
        ex = ctx.layers["monitor_sites"].copy()
        ex["status"] = "existing"
        frames.append(ex)
    if ctx.layers.has("candidate_sites") and len(ctx.layers["candidate_sites"]):
        cand = ctx.layers["candidate_sites"].copy()
        cand["status"] = "candidate"
        frames.append(cand)
    elif params.new_sites > 0 or params.target_share > 0:
        roads = ctx.layers["roads"] if ctx.layers.has("roads") else None
        cand = generate_candidates(dem, roads, params)
        cand["status"] = "candidate"
        if len(cand):
            frames.append(cand)
            ctx.warn(f"monitoring: {len(cand)} candidate sites generated from the DEM (local summits within "
                     f"{params.candidate_road_max_m:g} m of a road); give candidate_sites to use your own")
    if not frames:
        raise AnalysisError("monitoring: no monitor_sites, no candidate_sites and no summit near a road to "
                            "place a camera: add a monitor_sites or candidate_sites layer")
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ctx.crs)
    if "name" not in sites.columns:
        sites["name"] = None
    sites["name"] = [n if isinstance(n, str) and n else f"监控点{i + 1}" for i, n in enumerate(sites["name"])]
    masts = _per_site(sites, "mast_m", params.mast_m)
    ranges = _per_site(sites, "range_km", params.range_km) * 1000.0
    rows, cols = _site_cells(dem, sites)
    h, w = dem.shape
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    if (~inside).any():
        ctx.warn(f"monitoring: {int((~inside).sum())} site(s) outside the DEM are not analysed: "
                 + ", ".join(sites.loc[~inside, "name"].astype(str).head(5)))
    seen = []
    for i in range(len(sites)):
        if not inside[i]:
            seen.append(np.zeros(0, dtype=np.int64))
            continue
        v = viewshed(dem.z, int(rows[i]), int(cols[i]), cell_m=dem.cell_m, observer_m=float(masts[i]),
                     target_m=params.target_m, range_m=float(ranges[i]), refraction=params.refraction)
        seen.append(np.flatnonzero(v & forest))
    existing = np.flatnonzero(sites["status"].eq("existing").to_numpy())
    covered = np.zeros(forest.size, dtype=bool)
    for i in existing:
        covered[seen[i]] = True
    covered_now = covered.copy()
    cands = [i for i in range(len(sites)) if sites["status"].iloc[i] == "candidate"]
    chosen, added = [], {}
    goal = params.new_sites if params.new_sites > 0 else len(cands)
    while len(chosen) < goal and cands:
        if params.new_sites == 0 and covered.sum() >= params.target_share * total:
            break
        gains = [int((~covered[seen[i]]).sum()) for i in cands]
        best = int(np.argmax(gains))
        if gains[best] == 0:
            break
        i = cands.pop(best)
        added[i] = gains[best] * cell_km2
        covered[seen[i]] = True
        chosen.append(i)
    if params.new_sites == 0 and covered.sum() < params.target_share * total and cands == []:
        ctx.warn(f"monitoring: all candidates together see {covered.sum() / total:.0%} of the forest, below the "
                 f"target {params.target_share:.0%}: add candidate sites")
    sites["chosen"] = False
    sites.loc[sites.index[chosen], "chosen"] = True
    sites.loc[sites.index[chosen], "status"] = "chosen"
    sites["rank"] = pd.array([pd.NA] * len(sites), dtype="Int64")
    for r, i in enumerate(chosen, start=1):
        sites.loc[sites.index[i], "rank"] = r
    sites["added_forest_km2"] = [round(added.get(i, 0.0), 3) for i in range(len(sites))]
    sites["visible_forest_km2"] = [round(len(s) * cell_km2, 3) for s in seen]
    sites["mast_m"] = masts
    sites["range_km"] = ranges / 1000.0
    sites["elevation_m"] = [float(dem.z[r, c]) if ok else np.nan for r, c, ok in zip(rows, cols, inside)]
    keep = ["name", "status", "chosen", "rank", "added_forest_km2", "visible_forest_km2", "mast_m", "range_km",
            "elevation_m", "geometry"]
    site_out = sites[keep].copy()

    shown = list(existing) + chosen
    vs_rows, vs_geoms = [], []
    for i in shown:
        mask = np.zeros(forest.size, dtype=bool)
        mask[seen[i]] = True
        g = _polygons(mask.reshape(dem.shape), dem)
        if g is None:
            continue
        vs_rows.append({"site": sites["name"].iloc[i], "status": "existing" if i in existing else "chosen",
                        "visible_forest_km2": round(len(seen[i]) * cell_km2, 3)})
        vs_geoms.append(g)
    viewsheds = gpd.GeoDataFrame(vs_rows, geometry=vs_geoms, crs=ctx.crs) if vs_rows else \
        gpd.GeoDataFrame({"site": [], "status": [], "visible_forest_km2": []}, geometry=[], crs=ctx.crs)

    blind = forest.ravel() & ~covered
    bgeom = _polygons(blind.reshape(dem.shape), dem)
    parts = [p for p in getattr(bgeom, "geoms", [bgeom]) if p is not None and p.area / 1e6 >= params.blind_spot_min_km2]
    blind_spots = gpd.GeoDataFrame({"area_km2": [round(p.area / 1e6, 3) for p in parts]}, geometry=parts,
                                   crs=ctx.crs)

    towns = _towns(ctx, dem.crs)
    rows_out = []
    if towns is not None and len(towns):
        from rasterio.features import rasterize

        names = list(dict.fromkeys(towns["town"]))  # a township drawn as several polygons counts once
        code = {n: k + 1 for k, n in enumerate(names)}
        ids = rasterize(((g, code[t]) for t, g in zip(towns["town"], towns.geometry)), out_shape=dem.shape,
                        transform=dem.transform, fill=0, dtype="int32").ravel()
    else:
        ids = np.ones(forest.size, dtype=np.int32)
        names = ["全部"]
    f = forest.ravel()
    for k, name in enumerate(names, start=1):
        m = f & (ids == k)
        n = int(m.sum())
        if n == 0:
            continue
        rows_out.append({"town": name, "forest_km2": round(n * cell_km2, 3),
                         "seen_km2": round(int((m & covered_now).sum()) * cell_km2, 3),
                         "seen_share": round(float((m & covered_now).sum() / n), 4),
                         "seen_after_km2": round(int((m & covered).sum()) * cell_km2, 3),
                         "seen_share_after": round(float((m & covered).sum() / n), 4)})
    town_out = pd.DataFrame(rows_out)
    block_out = _per_block(ctx, dem, f, covered_now, covered, cell_km2)
    if ctx.towns and len(town_out):
        town_out = town_out[town_out["town"].isin(list(ctx.towns))].reset_index(drop=True)
    share_now, share_after = covered_now.sum() / total, covered.sum() / total
    log.info("monitoring: %d sites, %d chosen, share %.3f -> %.3f", len(sites), len(chosen), share_now, share_after)
    return {"monitor_viewsheds": viewsheds, "monitor_sites": site_out, "monitor_towns": town_out,
            "monitor_blocks": block_out, "monitor_blind_spots": blind_spots}


def _per_block(ctx, dem, forest, covered_now, covered, cell_km2) -> gpd.GeoDataFrame:
    """Forest, seen forest and shares per connected forest block (the blocks of ``checkpoints``)."""
    from rasterio.features import rasterize

    from ._forest import forest_blocks

    blocks = forest_blocks(ctx)
    cols = ["block_id", "forest_km2", "seen_km2", "seen_share", "seen_after_km2", "seen_share_after"]
    if not len(blocks):
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=ctx.crs)
    ids = rasterize(((g, int(b)) for b, g in zip(blocks.index, blocks.geometry)), out_shape=dem.shape,
                    transform=dem.transform, fill=0, dtype="int32").ravel()
    n = np.bincount(ids[forest], minlength=int(blocks.index.max()) + 1)
    now = np.bincount(ids[forest & covered_now], minlength=len(n))
    after = np.bincount(ids[forest & covered], minlength=len(n))
    rows, geoms = [], []
    for b, g in zip(blocks.index, blocks.geometry):
        if n[b] == 0:
            continue  # smaller than a DEM cell or off the DEM
        rows.append({"block_id": int(b), "forest_km2": round(n[b] * cell_km2, 3),
                     "seen_km2": round(now[b] * cell_km2, 3), "seen_share": round(now[b] / n[b], 4),
                     "seen_after_km2": round(after[b] * cell_km2, 3), "seen_share_after": round(after[b] / n[b], 4)})
        geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=ctx.crs)
