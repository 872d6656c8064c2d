"""Which fire-water sources count, and why not (water analysis).

Private to :mod:`kzgis.analyses.water`. One table of every hydrant, fire pool and natural intake
with ``usable`` and a ``reason`` in Chinese and English, and where each one enters the hose
network (``edge``, ``offset_m``, ``init_m``: the hose already spent between the source and its
road point).

- **Hydrant** (消火栓): usable unless its ``status`` names it broken, disused or only planned;
  it enters the hose network at the nearest point of any road or path, the distance to it counted.
- **Fire pool** (消防水池): needs ``volume_m3`` >= ``pool_volume_min_m3`` (GB 50974 4.3.4) and a
  road a fire truck of the allowed classes may use within ``truck_road_max_m``; water leaves from
  the truck standing there, the distance from the pool to it counted.
- **Natural intake** (取水点 / 取水码头): the same truck road test (GB 50974 4.4.7), and the
  suction lift from the truck to the water surface at most ``suction_lift_max_m`` (GB 50974 4.3.7,
  4.4.5). The lift is the surveyed ``lift_m`` when given; otherwise DEM elevation of the road at
  the truck position minus the water surface, taken as the *lowest* DEM value within
  ``water_surface_radius_m`` of the intake (inside a water body / river polygon when one is
  there). Taking the lowest value can only overstate the lift, so a source is never wrongly
  accepted. Without either, the lift is unknown and the source is not counted unless
  ``unknown_lift_usable``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .._geom import as_points as _points

KINDS = ("hydrant", "pool", "natural")
KIND_ZH = {"hydrant": "消火栓", "pool": "消防水池", "natural": "天然水源取水点"}
WHARF_KINDS_DEFAULT = ("取水码头", "码头", "wharf")


def _text(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


def water_surface_z(dem, xy, radius_m: float, water_polys=None) -> np.ndarray:
    """Lowest DEM elevation within ``radius_m`` of each point (inside water polygons if any there).

    Samples on a grid of half a DEM cell (at most 25 x 25 samples per point).
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    if len(xy) == 0:
        return np.zeros(0)
    step = max(min(dem.cell_m / 2.0, radius_m / 2.0), radius_m / 12.0, 1e-6)
    k = int(np.ceil(radius_m / step))
    g = np.arange(-k, k + 1) * step
    dx, dy = np.meshgrid(g, g)
    inside = dx ** 2 + dy ** 2 <= radius_m ** 2 + 1e-9
    dx, dy = dx[inside], dy[inside]
    px = (xy[:, 0:1] + dx[None, :]).ravel()
    py = (xy[:, 1:2] + dy[None, :]).ravel()
    z = dem.sample(px, py).reshape(len(xy), -1)
    if water_polys is not None and len(water_polys):
        tree = shapely.STRtree(np.asarray(water_polys, dtype=object))
        pts = shapely.points(px, py)
        hit = np.zeros(len(pts), dtype=bool)
        qi, _ = tree.query(pts, predicate="intersects")
        hit[qi] = True
        hit = hit.reshape(len(xy), -1)
        zw = np.where(hit, z, np.nan)
        use_w = np.isfinite(zw).any(axis=1)
        z = np.where(use_w[:, None], zw, z)
    with np.errstate(all="ignore"):
        out = np.full(len(xy), np.nan)
        ok = np.isfinite(z).any(axis=1)
        out[ok] = np.nanmin(z[ok], axis=1)
    return out


def evaluate(ctx, net, p) -> pd.DataFrame:
    """Every source with its usability, reason and hose-network entry point.

    Columns: ``source_kind, source_id, fid, name, kind, status, volume_m3, lift_m,
    lift_source, truck_road_m, usable, reason, reach_m, edge, offset_m, init_m, geometry``
    (a point; polygons give a point inside). ``edge`` is -1 when the source enters no road.
    """
    rows = []
    hose_mask = np.ones(len(net.edges), dtype=bool)
    truck_mask = np.zeros(len(net.edges), dtype=bool)
    for vc in p.truck_classes:
        truck_mask |= net.allowed(vc)
    truck_names = "/".join({"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车"}.get(c, c)
                           for c in p.truck_classes)
    if ctx.layers.has("hydrants"):
        rows.append(_hydrants(ctx, net, p, hose_mask))
    if ctx.layers.has("fire_pools"):
        rows.append(_fire_pools(ctx, net, p, truck_mask, truck_names))
    if ctx.layers.has("water_intakes"):
        rows.append(_natural_intakes(ctx, net, p, truck_mask, truck_names))

    cols = ["source_kind", "source_id", "fid", "name", "kind", "status", "volume_m3", "lift_m", "lift_source",
            "road_z_m", "water_z_m", "truck_road_m", "usable", "reason", "reach_m", "edge", "offset_m", "init_m",
            "geometry"]
    if not rows:
        return pd.DataFrame({c: [] for c in cols})
    out = pd.concat(rows, ignore_index=True)
    for c in cols:
        if c not in out:
            out[c] = np.nan if c not in ("kind", "status", "lift_source") else None
    out["edge"] = out["edge"].astype(np.int64)
    out["usable"] = out["usable"].astype(bool)
    return out[cols]


def _frame(kind, gdf) -> pd.DataFrame:
    """The common columns of one source layer: kind, id, fid, name and a point geometry."""
    pts = _points(gdf.geometry.values)
    df = pd.DataFrame({"source_kind": kind, "source_id": [f"{k}" for k in gdf.index],
                       "fid": list(gdf.index),
                       "name": [_text(v) for v in gdf["name"]] if "name" in gdf else "",
                       "geometry": pts})
    return df


def _hydrants(ctx, net, p, hose_mask) -> pd.DataFrame:
    """The hydrants with their verdicts: usable unless their status says so or no road is within reach."""
    h = ctx.layers["hydrants"]
    df = _frame("hydrant", h)
    status = [_text(v) for v in h["status"]] if "status" in h else [""] * len(h)
    df["status"] = status
    df["reach_m"] = p.hydrant_reach_m
    snap = net.snap(df["geometry"], mask=hose_mask, max_m=p.hydrant_reach_m)
    usable, reason = [], []
    bad_words = tuple(w.lower() for w in p.hydrant_unusable_status)
    for st, ok, d in zip(status, snap["ok"], snap["snap_m"]):
        why = []
        if st and any(w in st.lower() for w in bad_words):
            why.append(f"状态为“{st}”，不计入 / status '{st}' not counted")
        if not ok:
            dd = f"{d:.0f} m" if np.isfinite(d) else "—"
            why.append(f"{p.hydrant_reach_m:g} m 内无道路（{dd}），保护范围无法沿路计算 / "
                       f"no road within {p.hydrant_reach_m:g} m ({dd})")
        usable.append(not why)
        reason.append("；".join(why) if why else "可用 / usable")
    return _placed(df, snap, usable, reason, truck_road=False)


def _no_truck_road(p, d: float, truck_names: str) -> str:
    """Why a pool or intake is not counted: no fire-truck road within reach (``d``: the nearest, m)."""
    dd = f"{d:.0f} m" if np.isfinite(d) else "无 / none"
    return (f"{p.truck_road_max_m:g} m 内无{truck_names}可通行道路（最近 {dd}） / "
            f"no fire-truck road within {p.truck_road_max_m:g} m (nearest {dd})")


def _fire_pools(ctx, net, p, truck_mask, truck_names: str) -> pd.DataFrame:
    """The fire pools with their verdicts: large enough and near a fire-truck road."""
    fp = ctx.layers["fire_pools"]
    df = _frame("pool", fp)
    vol = pd.to_numeric(fp["volume_m3"], errors="coerce").to_numpy(float)
    df["volume_m3"] = vol
    df["reach_m"] = p.pool_reach_m
    snap = net.snap(df["geometry"], mask=truck_mask, max_m=p.truck_road_max_m)
    usable, reason = [], []
    for v, ok, d in zip(vol, snap["ok"], snap["snap_m"]):
        why = []
        if not np.isfinite(v):
            why.append("容积未知 / volume unknown")
        elif v < p.pool_volume_min_m3:
            why.append(f"容积 {v:g} m³ 小于 {p.pool_volume_min_m3:g} m³ / volume {v:g} m3 < "
                       f"{p.pool_volume_min_m3:g} m3")
        if not ok:
            why.append(_no_truck_road(p, d, truck_names))
        usable.append(not why)
        reason.append("；".join(why) if why else "可用 / usable")
    return _placed(df, snap, usable, reason, truck_road=True)


def _natural_intakes(ctx, net, p, truck_mask, truck_names: str) -> pd.DataFrame:
    """The natural intakes with their verdicts: near a fire-truck road, suction lift surveyed or from the DEM."""
    wi = ctx.layers["water_intakes"]
    df = _frame("natural", wi)
    df["kind"] = [_text(v) for v in wi["kind"]] if "kind" in wi else ""
    df["reach_m"] = p.natural_reach_m
    snap = net.snap(df["geometry"], mask=truck_mask, max_m=p.truck_road_max_m)
    surveyed = pd.to_numeric(wi["lift_m"], errors="coerce").to_numpy(float) if "lift_m" in wi else \
        np.full(len(wi), np.nan)
    lift = surveyed.copy()
    src = np.where(np.isfinite(surveyed), "surveyed", "unknown").astype(object)
    road_z = np.full(len(wi), np.nan)
    water_z = np.full(len(wi), np.nan)
    dem = ctx.dem
    need = ~np.isfinite(surveyed) & snap["ok"].to_numpy(bool)
    if dem is not None and need.any():
        polys = []
        for kind in ("water_bodies", "rivers"):
            if ctx.layers.has(kind):
                g = ctx.layers[kind].geometry.values
                polys.extend(g[np.isin(shapely.get_type_id(g), (3, 6))])
        xy = shapely.get_coordinates(np.asarray(df["geometry"].values, dtype=object)[need])
        wz = water_surface_z(dem, xy, p.water_surface_radius_m, polys)
        rz = dem.sample(snap["x"].to_numpy(float)[need], snap["y"].to_numpy(float)[need])
        water_z[need] = wz
        road_z[need] = rz
        est = rz - wz
        ok_est = np.isfinite(est)
        idx = np.flatnonzero(need)
        lift[idx[ok_est]] = np.maximum(est[ok_est], 0.0)
        src[idx[ok_est]] = "dem"
    df["lift_m"] = lift
    df["lift_source"] = src
    df["road_z_m"] = road_z
    df["water_z_m"] = water_z
    usable, reason = [], []
    for lf, ls, ok, d in zip(lift, src, snap["ok"], snap["snap_m"]):
        why = []
        if not ok:
            why.append(_no_truck_road(p, d, truck_names))
        how_zh = {"surveyed": "实测", "dem": "DEM 估算"}.get(ls, "")
        how_en = {"surveyed": "surveyed", "dem": "DEM"}.get(ls, "")
        if ls == "unknown":
            if ok and not p.unknown_lift_usable:
                why.append("吸水高度未知（无实测 lift_m，且无 DEM） / suction lift unknown (no lift_m, no DEM)")
        elif lf > p.suction_lift_max_m + 1e-9:
            why.append(f"吸水高度 {lf:.1f} m 超过 {p.suction_lift_max_m:g} m（{how_zh}） / "
                       f"suction lift {lf:.1f} m > {p.suction_lift_max_m:g} m ({how_en})")
        usable.append(not why)
        if why:
            reason.append("；".join(why))
        elif ls == "unknown":
            reason.append("可用（吸水高度未知，按参数计入） / usable (lift unknown, counted by parameter)")
        else:
            reason.append(f"可用（吸水高度 {lf:.1f} m，{how_zh}） / usable (lift {lf:.1f} m, {how_en})")
    return _placed(df, snap, usable, reason, truck_road=True)


def _placed(df, snap, usable, reason, truck_road: bool):
    """Attach the verdicts and where each source sits on the network (edge, offset, distance)."""
    df["usable"] = usable
    df["reason"] = reason
    df["edge"] = np.where(snap["ok"], snap["edge"], -1)
    df["offset_m"] = snap["offset_m"].to_numpy()
    df["init_m"] = snap["snap_m"].to_numpy()
    df["truck_road_m"] = snap["snap_m"].to_numpy() if truck_road else np.nan
    return df
