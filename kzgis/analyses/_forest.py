"""Forest helpers shared by the ``barriers`` and ``checkpoints`` analyses.

- :func:`forest_blocks`: the forest layer dissolved into connected blocks (adjacent polygons
  merged, holes kept), built once per run and shared through ``ctx.shared``.
- :func:`polygonal`: keep only the polygon parts of overlay results (GEOS may return lines or
  points where shapes only touch).
- :func:`tile`: cut big polygons into grid tiles, so that many small overlays (bands, clips) do
  not each scan a block with a million vertices.
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


def tile(polys, tags, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into pieces on a square grid of ``cell_m``; returns (pieces, tag per piece)."""
    polys = np.asarray(polys, dtype=object)
    tags = np.asarray(tags)
    if polys.size == 0:
        return polys, tags
    x0, y0, x1, y1 = shapely.total_bounds(polys)
    nx = max(int(np.ceil((x1 - x0) / cell_m)), 1)
    ny = max(int(np.ceil((y1 - y0) / cell_m)), 1)
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    cx0 = x0 + gx.ravel() * cell_m
    cy0 = y0 + gy.ravel() * cell_m
    cells = shapely.box(cx0, cy0, cx0 + cell_m, cy0 + cell_m)
    tree = shapely.STRtree(polys)
    ci, pi = tree.query(cells, predicate="intersects")
    # exact overlay (clip_by_rect may return invalid polygons); OverlayNG clips to the box
    # envelope first, so this stays close to linear in the block's vertices
    pieces = polygonal(shapely.intersection(polys[pi], cells[ci]))
    keep = ~shapely.is_empty(pieces)
    return pieces[keep], tags[pi][keep]
