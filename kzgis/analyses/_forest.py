"""Forest helpers shared by the ``barriers`` and ``checkpoints`` analyses.

- :func:`forest_blocks`: the forest layer dissolved into connected blocks (adjacent polygons
  merged, holes kept), built once per run and shared through ``ctx.shared``.
- :func:`polygonal`: keep only the polygon parts of overlay results (GEOS may return lines or
  points where shapes only touch).
- :func:`subdivide`: cut big polygons into small pieces (quadtree), so that many small overlays
  (bands, clips) do not each scan a block with a million vertices.
- :func:`ring_segments`: the forest edge as individual segments, for vectorised edge work.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

log = logging.getLogger(__name__)

_POLY = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def polygonal(geoms) -> np.ndarray:
    """The polygon parts of each geometry (empty polygon where there are none).

    Overlay results are Polygon, MultiPolygon or GeometryCollection; collections are rebuilt
    from their polygon parts only.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    if geoms.size == 0:
        return geoms
    types = shapely.get_type_id(geoms)
    odd = ~np.isin(types, [int(t) for t in _POLY]) & ~shapely.is_empty(geoms)
    for i in np.flatnonzero(odd):
        parts = shapely.get_parts(geoms[i])
        parts = parts[np.isin(shapely.get_type_id(parts), [int(t) for t in _POLY])]
        geoms[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    empty_other = ~np.isin(shapely.get_type_id(geoms), [int(t) for t in _POLY])
    geoms[empty_other] = shapely.Polygon()
    return geoms


def dissolve(geoms) -> np.ndarray:
    """Union polygons and return the connected blocks (Polygons, holes kept), largest first."""
    geoms = np.asarray(geoms, dtype=object)
    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    if geoms.size == 0:
        return np.array([], dtype=object)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = polygonal(shapely.make_valid(geoms[bad]))
    merged = shapely.union_all(geoms)
    parts = shapely.get_parts(polygonal([merged])[0])
    parts = parts[shapely.area(parts) > 0]
    # deterministic order: area descending, then lower-left corner
    b = shapely.bounds(parts)
    order = np.lexsort((b[:, 1], b[:, 0], -np.round(shapely.area(parts), 3)))
    return parts[order]


def forest_blocks(ctx) -> gpd.GeoDataFrame:
    """The dissolved forest of a run: one row per connected block, index ``block_id`` (1..n)."""

    def build():
        parts = dissolve(ctx.layers["forest"].geometry.values)
        gdf = gpd.GeoDataFrame({"area_m2": shapely.area(parts)}, geometry=parts, crs=ctx.crs,
                               index=pd.RangeIndex(1, len(parts) + 1, name="block_id"))
        log.info("forest dissolved into %d blocks", len(gdf))
        return gdf

    return ctx.shared("forest_blocks", build)


def subdivide(polys, tags, max_vertices: int = 2000, max_depth: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into pieces of at most ``max_vertices`` by halving their boxes (a quadtree).

    Each level touches every vertex once, so a block of a million vertices costs about
    ``log2(1e6 / max_vertices)`` linear passes, not one pass per grid cell. Returns (pieces, tag
    per piece); the pieces of a polygon tile it exactly (shared cut lines).
    """
    polys = np.asarray(polys, dtype=object)
    tags = np.asarray(tags)
    out_p, out_t = [], []
    parts, idx = shapely.get_parts(polygonal(polys), return_index=True) if polys.size else (polys, tags)
    polys, tags = np.asarray(parts, dtype=object), tags[idx] if polys.size else tags
    for _ in range(max_depth):
        if polys.size == 0:
            break
        small = shapely.get_num_coordinates(polys) <= max_vertices
        out_p.append(polys[small])
        out_t.append(tags[small])
        polys, tags = polys[~small], tags[~small]
        if polys.size == 0:
            break
        b = shapely.bounds(polys)
        wide = (b[:, 2] - b[:, 0]) >= (b[:, 3] - b[:, 1])
        mx, my = (b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0
        box1 = shapely.box(b[:, 0], b[:, 1], np.where(wide, mx, b[:, 2]), np.where(wide, b[:, 3], my))
        box2 = shapely.box(np.where(wide, mx, b[:, 0]), np.where(wide, b[:, 1], my), b[:, 2], b[:, 3])
        halves = polygonal(shapely.intersection(np.concatenate([polys, polys]), np.concatenate([box1, box2])))
        htags = np.concatenate([tags, tags])
        parts, idx = shapely.get_parts(halves, return_index=True)
        keep = shapely.area(parts) > 0
        polys, tags = np.asarray(parts, dtype=object)[keep], htags[idx][keep]
    if polys.size:  # depth limit reached: keep what is left as it is
        out_p.append(polys)
        out_t.append(tags)
    if not out_p:
        return np.array([], dtype=object), tags[:0]
    return np.concatenate(out_p), np.concatenate(out_t)


def ring_segments(polys) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every segment of every ring (exterior and holes) of the polygons: (a, b, polygon index).

    Segments keep the ring order, so consecutive segments share their end points exactly.
    """
    polys = np.asarray(polys, dtype=object)
    if polys.size == 0:
        z = np.zeros((0, 2))
        return z, z, np.array([], dtype=np.int64)
    parts, pidx = shapely.get_parts(polys, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    xy, k = shapely.get_coordinates(rings, return_index=True)
    same = k[1:] == k[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    owner = pidx[ridx[k[:-1][same]]]
    keep = (a != b).any(axis=1)
    return a[keep], b[keep], owner[keep]
