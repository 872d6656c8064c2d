"""Small geometry helpers shared by the analyses."""

from __future__ import annotations

import numpy as np
import shapely


def as_points(geoms) -> np.ndarray:
    """Point geometries for any geometries: points stay, others become a point on their surface.

    Settlements, stations and pools may be given as polygons; the analyses place them on the
    network by this point (always inside the polygon, unlike the centroid).
    """
    arr = np.asarray(geoms, dtype=object).copy()
    if len(arr):
        notpt = shapely.get_type_id(arr) != 0
        if notpt.any():
            arr[notpt] = shapely.point_on_surface(arr[notpt])
    return arr
