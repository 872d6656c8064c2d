"""Forest reach of dip sites and the greedy cover per unit (private to the helicopter analysis).

Forest is rasterised once on a square grid (cell centre inside a forest polygon = forest cell),
each cell tagged with the unit (township or mountain system) it lies in. A dip site "reaches" a
forest cell when the cell centre is within the dip radius of the dip point.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass
class ForestGrid:
    xy: np.ndarray  # (m, 2) forest cell centres
    unit: np.ndarray  # (m,) unit index, -1 outside every unit
    cell_m: float

    @property
    def cell_km2(self) -> float:
        return self.cell_m * self.cell_m / 1e6

    @classmethod
    def build(cls, forest_geoms, unit_geoms, cell_m: float) -> ForestGrid:
        import shapely
        from affine import Affine
        from rasterio.features import rasterize

        forest_geoms = [g for g in forest_geoms if g is not None and not g.is_empty]
        if not forest_geoms:
            return cls(np.zeros((0, 2)), np.zeros(0, dtype=int), cell_m)
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(forest_geoms, dtype=object))
        x0 = np.floor(x0 / cell_m) * cell_m
        y1 = np.ceil(y1 / cell_m) * cell_m
        w = max(int(np.ceil((x1 - x0) / cell_m)), 1)
        h = max(int(np.ceil((y1 - y0) / cell_m)), 1)
        tr = Affine(cell_m, 0, x0, 0, -cell_m, y1)
        forest = rasterize(((g, 1) for g in forest_geoms), out_shape=(h, w), transform=tr, fill=0,
                           dtype="uint8").astype(bool)
        if unit_geoms is not None and len(unit_geoms):
            units = rasterize(((g, i) for i, g in enumerate(unit_geoms) if g is not None and not g.is_empty),
                              out_shape=(h, w), transform=tr, fill=-1, dtype="int32")
        else:
            units = np.zeros((h, w), dtype="int32")
        r, c = np.nonzero(forest)
        xy = np.column_stack([x0 + (c + 0.5) * cell_m, y1 - (r + 0.5) * cell_m])
        return cls(xy, units[r, c].astype(int), cell_m)


def reach(grid: ForestGrid, site_xy: np.ndarray, radius_m: float):
    """Forest cells within ``radius_m`` of each site.

    Returns (list of index arrays into ``grid.xy``, forest km2 reached, mean distance km to the
    forest reached (NaN when none)).
    """
    from scipy.spatial import cKDTree

    n = len(site_xy)
    cells: list[np.ndarray] = [np.zeros(0, dtype=np.intp) for _ in range(n)]
    km2 = np.zeros(n)
    mean_km = np.full(n, np.nan)
    if n == 0 or len(grid.xy) == 0:
        return cells, km2, mean_km
    tree = cKDTree(grid.xy)
    found = tree.query_ball_point(site_xy, radius_m, workers=2, return_sorted=False)
    for i, lst in enumerate(found):
        idx = np.asarray(lst, dtype=np.intp)
        cells[i] = idx
        if idx.size:
            d = np.hypot(grid.xy[idx, 0] - site_xy[i, 0], grid.xy[idx, 1] - site_xy[i, 1])
            km2[i] = idx.size * grid.cell_km2
            mean_km[i] = d.mean() / 1000.0
    return cells, km2, mean_km


def greedy_cover(site_cells: dict[int, np.ndarray], n_cells: int, priority, max_sites: int = 0,
                 min_gain_cells: int = 1) -> list[int]:
    """Fewest sites (greedy) covering the union of ``site_cells``.

    ``site_cells`` maps a site number to the cell indices (< ``n_cells``) it reaches; ``priority``
    maps a site to a sort key that breaks ties (smaller first). Each step takes the site adding the
    most uncovered cells, until nothing is left, ``max_sites`` (0 = no limit) are chosen, or the best
    gain falls below ``min_gain_cells``. Lazy evaluation: a site's gain only ever shrinks, so a stale
    heap entry is re-evaluated and re-queued before being trusted.
    """
    covered = np.zeros(n_cells, dtype=bool)
    heap = [(-len(c), priority(s), s) for s, c in site_cells.items() if len(c)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and (max_sites <= 0 or len(chosen) < max_sites):
        neg, key, s = heapq.heappop(heap)
        cells = site_cells[s]
        gain = int(np.count_nonzero(~covered[cells]))
        if gain < max(min_gain_cells, 1):
            continue  # gains only shrink: this site will never be worth taking
        if heap and (-gain, key, s) > heap[0]:
            heapq.heappush(heap, (-gain, key, s))
            continue
        chosen.append(s)
        covered[cells] = True
    return chosen
