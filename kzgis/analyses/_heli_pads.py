"""Candidate helicopter pads from the DEM (private to the helicopter analysis).

Raster first, vectors last:

1. ``flat``: cells with slope below the limit, not water.
2. The pad square (``side_m``) centred on a cell covers ``2k+1`` cells a side, ``k`` the number
   of cells its half-side reaches past the centre cell; ``fits`` = ``flat`` eroded by that square.
3. Obstacles (forest, settlements, urban area, power lines) are rasterised and dilated by the
   square plus the clear ring (``side_m / 2 + ring_m`` from the centre), so ``clear`` = no obstacle
   cell within it. The raster screen is then confirmed exactly on the vector obstacles for the
   surviving cells (the clear square around each cell centre must not touch any obstacle).
4. Road reach: distance transform of the rasterised roads as a screen, then the exact distance
   from each surviving cell centre to the nearest road.
5. Connected candidate zones (8-neighbour, cut at unit borders); one pad per zone at its deepest
   cell (farthest from the zone's edge); only the zones are vectorised
   (``rasterio.features.shapes``).
"""

from __future__ import annotations

import numpy as np
import shapely


def half_cells(half_m: float, cell_m: float) -> int:
    """Cells a square of half-side ``half_m`` centred on a cell centre reaches past that cell."""
    return max(int(np.ceil(half_m / cell_m - 0.5 - 1e-9)), 0)


def _centres(dem, r, c):
    """Cell-centre coordinates of rows ``r`` and columns ``c`` (the DEM is north-up)."""
    t = dem.transform
    return t.c + (np.asarray(c, float) + 0.5) * t.a, t.f + (np.asarray(r, float) + 0.5) * t.e


def _rasterize(geoms, dem, all_touched: bool) -> np.ndarray:
    from rasterio.features import rasterize

    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(dem.z.shape, dtype=bool)
    return rasterize(((g, 1) for g in geoms), out_shape=dem.z.shape, transform=dem.transform, fill=0,
                     all_touched=all_touched, dtype="uint8").astype(bool)


def _label_by_unit(cand, unit_raster):
    """Connected candidate zones (8-neighbour) that never cross a unit border, and each cell's depth.

    Zones are labelled 1..n; the depth is the distance (cells) to the nearest cell outside the
    zone's unit piece, so a unit's pads do not depend on its neighbours (a run limited to one
    township finds the same pads there as a run over the district).
    """
    from scipy import ndimage

    units = np.zeros(cand.shape, dtype=np.int64) if unit_raster is None else unit_raster.astype(np.int64)
    uid = np.where(cand, units, -1)
    labels = np.zeros(cand.shape, dtype=np.int32)
    depth = np.zeros(cand.shape, dtype=float)
    n = 0
    eight = np.ones((3, 3), dtype=bool)
    for u, sl in enumerate(ndimage.find_objects(uid + 1)):
        if sl is None:
            continue
        sub = uid[sl] == u
        lab, k = ndimage.label(sub, structure=eight)
        labels[sl][sub] = lab[sub] + n
        depth[sl][sub] = ndimage.distance_transform_edt(np.pad(sub, 1))[1:-1, 1:-1][sub]
        n += k
    return labels, depth, n


def find_pads(dem, *, slope_max_deg: float, side_m: float, ring_m: float, road_max_m: float,
              water=(), obstacle_areas=(), obstacle_lines=(), roads=None, unit_raster=None):
    """Candidate pad zones and centres.

    Parameters
    ----------
    dem : kzgis.terrain.DEM
    water : polygons the pad square may not touch
    obstacle_areas : polygons (forest, settlements, urban area; points already buffered)
    obstacle_lines : lines (power lines)
    roads : lines, or None to skip the road test
    unit_raster : int array on the DEM grid (-1 outside every unit), or None

    Returns a dict of arrays, one entry per pad: ``x, y, zone (polygon), area_m2, slope_max_deg,
    road_m (NaN without roads), unit (index or -1)``.
    """
    from rasterio.features import shapes
    from scipy import ndimage

    cell = dem.cell_m
    valid = np.isfinite(dem.z)
    slope = np.where(valid, dem.slope_deg, np.inf)
    k = half_cells(side_m / 2.0, cell)
    kc = half_cells(side_m / 2.0 + ring_m, cell)
    sq = np.ones((2 * k + 1, 2 * k + 1), dtype=bool)
    sqc = np.ones((2 * kc + 1, 2 * kc + 1), dtype=bool)

    wet = _rasterize(water, dem, all_touched=True)
    flat = valid & (slope < slope_max_deg) & ~wet
    fits = ndimage.binary_erosion(flat, structure=sq, border_value=0)
    obst = _rasterize(obstacle_areas, dem, all_touched=False) | _rasterize(obstacle_lines, dem, all_touched=True)
    # outside the DEM nothing is known: treat as obstacle (border_value=0)
    clear = ndimage.binary_erosion(~obst, structure=sqc, border_value=0)
    cand = fits & clear
    if unit_raster is not None:
        cand &= unit_raster >= 0

    road_raster_m = None
    if roads is not None:
        road_cells = _rasterize(roads, dem, all_touched=True)
        if road_cells.any():
            road_raster_m = ndimage.distance_transform_edt(~road_cells) * cell
            # the true distance from a cell centre is within half a diagonal of the raster one
            cand &= road_raster_m <= road_max_m + cell
        else:
            cand[:] = False

    r, c = np.nonzero(cand)
    xs, ys = _centres(dem, r, c)
    keep = np.ones(r.size, dtype=bool)
    # exact obstacle clearance on the vectors
    obstacles = [g for g in list(obstacle_areas) + list(obstacle_lines) if g is not None and not g.is_empty]
    if obstacles and r.size:
        half_clear = side_m / 2.0 + ring_m
        boxes = shapely.box(xs - half_clear, ys - half_clear, xs + half_clear, ys + half_clear)
        # query the boxes with the obstacles: the query side is prepared, so each (possibly large)
        # obstacle polygon is prepared once
        hit = shapely.STRtree(boxes).query(np.asarray(obstacles, dtype=object), predicate="intersects")
        keep[np.unique(hit[1])] = False
    wet_geoms = [g for g in water if g is not None and not g.is_empty]
    if wet_geoms and r.size:
        h = side_m / 2.0
        boxes = shapely.box(xs - h, ys - h, xs + h, ys + h)
        hit = shapely.STRtree(boxes).query(np.asarray(wet_geoms, dtype=object), predicate="intersects")
        keep[np.unique(hit[1])] = False
    road_m = np.full(r.size, np.nan)
    if roads is not None and r.size:
        from ._heli_water import nearest_distance

        todo = np.flatnonzero(keep)
        road_m[todo] = nearest_distance(shapely.points(xs[todo], ys[todo]), roads)
        keep &= ~(road_m > road_max_m)  # NaN (no roads) never passes here: handled above
    cand[:] = False
    cand[r[keep], c[keep]] = True

    labels, depth, n = _label_by_unit(cand, unit_raster)
    empty = {"x": np.zeros(0), "y": np.zeros(0), "zone": np.zeros(0, dtype=object), "area_m2": np.zeros(0),
             "slope_max_deg": np.zeros(0), "road_m": np.zeros(0), "unit": np.zeros(0, dtype=int)}
    if n == 0:
        return empty
    ids = np.arange(1, n + 1)
    # deepest cell of each zone; ties go to the first in raster order (north, then west), so the
    # choice does not depend on how the zones happen to be numbered
    rr, cc = np.nonzero(labels)
    lab, dep = labels[rr, cc], depth[rr, cc]
    order = np.lexsort((cc, rr, -dep, lab))
    first = order[np.concatenate([[True], lab[order][1:] != lab[order][:-1]])]
    pr, pc = rr[first], cc[first]  # zones 1..n in order
    px, py = _centres(dem, pr, pc)
    slope_win = ndimage.maximum_filter(np.where(valid, dem.slope_deg, np.inf), footprint=sq, mode="nearest")

    zones: dict[int, list] = {}
    for geom, val in shapes(labels.astype("int32"), mask=cand, connectivity=8, transform=dem.transform):
        zones.setdefault(int(val), []).append(shapely.geometry.shape(geom))
    zone = np.empty(n, dtype=object)
    for i in ids:
        parts = zones.get(int(i), [])
        zone[i - 1] = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    # road distance at the chosen centre, exact
    cell_index = {(a, b): j for j, (a, b) in enumerate(zip(r.tolist(), c.tolist()))}
    rm = np.array([road_m[cell_index[(a, b)]] for a, b in zip(pr.tolist(), pc.tolist())])
    unit = unit_raster[pr, pc].astype(int) if unit_raster is not None else np.zeros(n, dtype=int)
    return {
        "x": px, "y": py, "zone": zone,
        "area_m2": np.bincount(labels[cand], minlength=n + 1)[1:] * cell * cell,
        "slope_max_deg": slope_win[pr, pc].astype(float),
        "road_m": rm,
        "unit": unit,
    }
