"""Which features of a layer belong to a township (or to the set of townships of the county summary).

A feature belongs to a township by its ``town`` attribute when it has one; otherwise by where it
lies: a point or polygon by its representative point inside the township polygon, a line by the
part of it inside (clipped, so lengths add up across townships).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

log = logging.getLogger(__name__)


@dataclass
class Scope:
    name: str
    towns: tuple[str, ...]
    polygon: object  # shapely geometry (union of the townships), or None when unknown
    crs: object = None

    @property
    def area_km2(self) -> float:
        return float(self.polygon.area) / 1e6 if self.polygon is not None else float("nan")

    @property
    def short(self) -> str:
        """温泉镇 -> 温泉, 汉丰街道 -> 汉丰 (used to match names such as 温泉古镇 or 温泉专职队)."""
        n = self.name
        for suf in ("街道办事处", "街道", "镇", "乡"):
            if n.endswith(suf) and len(n) > len(suf):
                return n[: -len(suf)]
        return n


def is_geo(frame) -> bool:
    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns



def _geom_kind(frame) -> str:
    types = set(frame.geometry.dropna().geom_type.unique())
    if types and types <= {"LineString", "MultiLineString"}:
        return "line"
    return "area_or_point"


def _spatial_mask(frame, polygon) -> np.ndarray:
    geoms = frame.geometry
    mask = np.zeros(len(frame), dtype=bool)
    valid = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    if polygon is None or not valid.any():
        return mask
    if _geom_kind(frame) == "line":
        idx = geoms[valid].sindex.query(polygon, predicate="intersects")
    else:
        pts = gpd.GeoSeries(shapely.point_on_surface(geoms[valid].to_numpy()), crs=frame.crs)
        idx = pts.sindex.query(polygon, predicate="intersects")
    where = np.flatnonzero(valid)[idx]
    mask[where] = True
    return mask


def select(frame, scope: Scope, town_col: str = "town"):
    """Rows of ``frame`` in the scope; ``None`` when the frame has neither a town column nor geometry."""
    if frame is None:
        return None
    if len(frame) == 0:
        return frame
    by_attr = None
    if town_col in frame.columns and frame[town_col].notna().any():
        by_attr = frame[town_col].isin(scope.towns).to_numpy()
        unknown = frame[town_col].isna().to_numpy()
        if unknown.any() and is_geo(frame):
            by_attr = by_attr | (unknown & _spatial_mask(frame, scope.polygon))
        return frame[by_attr]
    if is_geo(frame):
        if frame.crs is not None and scope.crs is not None and frame.crs != scope.crs:
            frame = frame.to_crs(scope.crs)
        return frame[_spatial_mask(frame, scope.polygon)]
    return None


def clip(frame, scope: Scope):
    """Features intersecting the scope, geometries cut to the township polygon (lines and polygons)."""
    if frame is None or not is_geo(frame) or scope.polygon is None:
        return None
    if len(frame) == 0:
        return frame
    if frame.crs is not None and scope.crs is not None and frame.crs != scope.crs:
        frame = frame.to_crs(scope.crs)
    geoms = frame.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    sub = frame[ok]
    idx = sub.sindex.query(scope.polygon, predicate="intersects")
    sub = sub.iloc[np.sort(idx)].copy()
    if len(sub) == 0:
        return sub
    cut = shapely.intersection(sub.geometry.to_numpy(), scope.polygon)
    sub = sub.set_geometry(gpd.GeoSeries(cut, index=sub.index, crs=sub.crs))
    return sub[~sub.geometry.is_empty]
