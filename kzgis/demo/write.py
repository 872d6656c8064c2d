"""Demo generator: writing the layers (GeoPackage, GeoTIFF, CSV) reproducibly."""

from __future__ import annotations

import csv
from pathlib import Path

from .common import CRS, FILES, SRC_COUNTY, SYN, Ctx, _round_geoms, _round_polys
from .stations import _stations
from .water import _fire_pools, _hydrants, _mains

# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

def _write_gpkg(gdf, path: Path, layer: str, geometry_type: str):
    import pyogrio

    if path.exists():
        path.unlink()
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type=geometry_type)


def _write_dem(ctx: Ctx, path: Path):
    import rasterio

    if path.exists():
        path.unlink()
    g = ctx.grid
    with rasterio.open(path, "w", driver="GTiff", width=g.nx, height=g.ny, count=1, dtype="int16",
                       crs=CRS, transform=g.transform, nodata=-32768, compress="DEFLATE", predictor=2,
                       zlevel=9, tiled=True, blockxsize=256, blockysize=256) as ds:
        ds.write(ctx.demi, 1)
        ds.set_band_description(1, "elevation_m (synthetic)")
        ds.update_tags(source=SYN, note="示意数据: synthetic DEM shaped after Kaizhou relief; not survey data")


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------

def _gdf(records, geoms, columns):
    import geopandas as gpd
    import pandas as pd

    df = pd.DataFrame(records, columns=columns)
    return gpd.GeoDataFrame(df, geometry=list(_round_geoms(geoms)), crs=CRS)


def _write_all(ctx: Ctx, out: Path) -> dict[str, Path]:
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    from kzgis.gcj02 import wgs84_to_gcj02

    paths = {}

    def w(name, gdf, gtype):
        p = out / name
        _write_gpkg(gdf, p, name.removesuffix(".gpkg"), gtype)
        paths[name] = p

    w("county.gpkg", gpd.GeoDataFrame({"name": ["开州区"], "source": [SRC_COUNTY]},
                                      geometry=_round_polys([shapely.multipolygons(shapely.get_parts(ctx.county))]), crs=CRS),
      "MultiPolygon")
    w("township_seats.gpkg", _gdf(ctx.seats[["town", "code", "source"]].to_dict("records"), ctx.seats.geometry.values,
                                  ["town", "code", "source"]), "Point")
    w("boundary.gpkg", ctx.townships, "MultiPolygon")

    p = out / "dem.tif"
    _write_dem(ctx, p)
    paths["dem.tif"] = p

    rrec, rgeo = [], []
    for r in ctx.rivers:
        ln = shapely.intersection(shapely.LineString(r["line"]), ctx.county)
        parts = [q for q in shapely.get_parts(ln) if q.geom_type == "LineString"]
        part = max(parts, key=lambda q: q.length)
        rrec.append({"name": r["name"], "width_m": r["width"], "source": SYN})
        rgeo.append(part)
    w("rivers.gpkg", _gdf(rrec, rgeo, ["name", "width_m", "source"]), "LineString")

    wrec, wgeo = [{"name": "汉丰湖", "depth_m": 5.5, "kind": "lake", "source": SYN}], [ctx.lake]
    for res in ctx.reservoirs:
        wrec.append({"name": res["name"], "depth_m": res["depth"], "kind": "reservoir", "source": SYN})
        wgeo.append(res["poly"])
    pond_order = sorted(ctx.ponds, key=lambda p: (-round(p["poly"].centroid.y, 1), round(p["poly"].centroid.x, 1)))
    for pd_ in pond_order:
        wrec.append({"name": pd_["name"], "depth_m": pd_["depth"], "kind": "pond", "source": SYN})
        wgeo.append(pd_["poly"])
    wgdf = gpd.GeoDataFrame(pd.DataFrame(wrec, columns=["name", "depth_m", "kind", "source"]),
                            geometry=list(_round_polys(wgeo)), crs=CRS)
    w("water_bodies.gpkg", wgdf, "Polygon")

    fgdf = gpd.GeoDataFrame(pd.DataFrame([{k: f[k] for k in ("block_id", "DLBM")} | {"source": SYN} for f in ctx.forest]),
                            geometry=list(_round_polys([f["geom"] for f in ctx.forest])), crs=CRS)
    fgdf = fgdf[fgdf.geometry.geom_type == "Polygon"]
    w("forest.gpkg", fgdf, "Polygon")

    w("urban_area.gpkg", gpd.GeoDataFrame({"name": ["开州城区"], "source": [SYN]}, geometry=_round_polys([ctx.urban]), crs=CRS),
      "MultiPolygon")

    srec, sgeo = [], []
    for town, name, pop, kind, pt in ctx.seat_settlements:
        srec.append({"name": name, "town": town, "population": pop, "kind": kind, "source": SYN})
        sgeo.append(pt)
    for r in ctx.villages.itertuples():
        srec.append({"name": r.name, "town": r.town, "population": int(r.population), "kind": "村庄", "source": SYN})
        sgeo.append(r.geometry)
    w("settlements.gpkg", _gdf(srec, sgeo, ["name", "town", "population", "kind", "source"]), "Point")

    rows = ctx.roads
    rrec = [{"道路名称": r["name"], "道路等级": r["cls"], "路面宽度": r["width"], "单行": int(r["oneway"]), "source": SYN}
            for r in rows]
    rg = _gdf(rrec, [shapely.LineString(r["pts"]) for r in rows], ["道路名称", "道路等级", "路面宽度", "单行", "source"])
    rg["路面宽度"] = rg["路面宽度"].astype("float64")
    w("roads.gpkg", rg, "LineString")

    st = _stations(ctx)
    sg = _gdf([{k: v for k, v in r.items() if k != "geom"} for r in st], [r["geom"] for r in st],
              ["name", "short", "town", "kind", "status", "year", "source"])
    sg["year"] = sg["year"].astype("Int32")
    w("stations.gpkg", sg, "Point")

    hy, status = _hydrants(ctx)
    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(hy[:, 0], hy[:, 1])
    glon, glat = wgs84_to_gcj02(lon, lat)
    p = out / "hydrants.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["编号", "经度", "纬度", "状态"])
        for i, (x, y, s) in enumerate(zip(glon, glat, status)):
            wr.writerow([f"XH{i + 1:04d}", f"{x:.6f}", f"{y:.6f}", s])
    paths["hydrants.csv"] = p

    pools = _fire_pools(ctx)
    w("fire_pools.gpkg", _gdf([{"volume_m3": v, "source": SYN} for _, v in pools], [q for q, _ in pools],
                              ["volume_m3", "source"]), "Point")

    it = ctx.intakes
    ig = _gdf([{"kind": k, "lift_m": lift, "source": SYN} for _, k, lift in it], [q for q, _, _ in it], ["kind", "lift_m", "source"])
    ig["lift_m"] = ig["lift_m"].astype("float64")
    w("water_intakes.gpkg", ig, "Point")

    mains = _mains(ctx)
    w("water_mains.gpkg", _gdf([{"diameter_mm": d, "source": SYN} for _, d in mains], [ln for ln, _ in mains],
                               ["diameter_mm", "source"]), "LineString")

    w("power_lines.gpkg", _gdf([{"voltage_kv": item["kv"], "source": SYN} for item in ctx.power], [item["geom"] for item in ctx.power],
                               ["voltage_kv", "source"]), "LineString")

    w("old_towns.gpkg", gpd.GeoDataFrame({"name": ["温泉古镇"], "source": [SYN]}, geometry=_round_polys([ctx.old_town]), crs=CRS),
      "Polygon")
    return {k: paths[k] for k in FILES}
