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


class FrameIndex:
    """What :func:`select` and :func:`clip` need of one frame, computed once and reused for every
    township: the rows with a geometry, and a spatial index of them (of their representative points
    for points and areas, of the geometries themselves for lines and for clipping)."""

    def __init__(self, frame):
        self.frame = frame
        self._valid = None
        self._kind = None
        self._trees: dict = {}

    @property
    def valid(self) -> np.ndarray:
        """Positions of the rows with a non-empty geometry."""
        if self._valid is None:
            geoms = self.frame.geometry
            self._valid = np.flatnonzero((~geoms.isna() & ~geoms.is_empty).to_numpy())
        return self._valid

    def tree(self, what: str) -> shapely.STRtree:
        """``what``: ``"geometry"`` or ``"point"`` (representative points) of the valid rows."""
        if what not in self._trees:
            geoms = np.asarray(self.frame.geometry.array, dtype=object)[self.valid]
            self._trees[what] = shapely.STRtree(shapely.point_on_surface(geoms) if what == "point" else geoms)
        return self._trees[what]

    def kind(self) -> str:
        """``"line"`` or ``"area_or_point"`` (see :func:`_geom_kind`)."""
        if self._kind is None:
            self._kind = _geom_kind(self.frame)
        return self._kind


def _spatial_mask(frame, polygon, index: FrameIndex | None = None) -> np.ndarray:
    mask = np.zeros(len(frame), dtype=bool)
    index = index if index is not None and index.frame is frame else FrameIndex(frame)
    if polygon is None or not len(index.valid):
        return mask
    tree = index.tree("geometry" if index.kind() == "line" else "point")
    mask[index.valid[tree.query(polygon, predicate="intersects")]] = True
    return mask


def select(frame, scope: Scope, town_col: str = "town", index: FrameIndex | None = None):
    """Rows of ``frame`` in the scope; ``None`` when the frame has neither a town column nor geometry.

    ``index``: the frame's :class:`FrameIndex`, when the caller keeps one for many scopes."""
    if frame is None:
        return None
    if len(frame) == 0:
        return frame
    by_attr = None
    if town_col in frame.columns and frame[town_col].notna().any():
        by_attr = frame[town_col].isin(scope.towns).to_numpy()
        unknown = frame[town_col].isna().to_numpy()
        if unknown.any() and is_geo(frame):
            by_attr = by_attr | (unknown & _spatial_mask(frame, scope.polygon, index))
        return frame[by_attr]
    if is_geo(frame):
        if frame.crs is not None and scope.crs is not None and frame.crs != scope.crs:
            frame = frame.to_crs(scope.crs)
            index = None
        return frame[_spatial_mask(frame, scope.polygon, index)]
    return None


def clip(frame, scope: Scope, index: FrameIndex | None = None):
    """Features intersecting the scope, geometries cut to the township polygon (lines and polygons)."""
    if frame is None or not is_geo(frame) or scope.polygon is None:
        return None
    if len(frame) == 0:
        return frame
    if frame.crs is not None and scope.crs is not None and frame.crs != scope.crs:
        frame = frame.to_crs(scope.crs)
        index = None
    index = index if index is not None and index.frame is frame else FrameIndex(frame)
    idx = index.tree("geometry").query(scope.polygon, predicate="intersects")
    sub = frame.iloc[index.valid[np.sort(idx)]].copy()
    if len(sub) == 0:
        return sub
    cut = shapely.intersection(sub.geometry.to_numpy(), scope.polygon)
    sub = sub.set_geometry(gpd.GeoSeries(cut, index=sub.index, crs=sub.crs))
    return sub[~sub.geometry.is_empty]
