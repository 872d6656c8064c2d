"""Coordinate reference systems: the working CRS, Gauss-Kruger recognition, checks.

Chinese planning data is in CGCS2000: geographic EPSG:4490, or a 3-degree Gauss-Kruger zone.
Kaizhou lies in the zone with central meridian 108 E: EPSG:4545 (false easting 500 km) or
EPSG:4524 (zone number 36 prefixed, false easting 36,500 km). Files often lack a ``.prj``; the
coordinate range then tells which one it is.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pyproj import CRS

from ._errors import CRSError

log = logging.getLogger(__name__)

#: Default working CRS for Kaizhou: CGCS2000 / 3-degree Gauss-Kruger CM 108E.
KAIZHOU_CRS = "EPSG:4545"
WGS84 = "EPSG:4326"
CGCS2000_GEOGRAPHIC = "EPSG:4490"


def as_crs(value) -> CRS:
    """Parse anything pyproj understands ("EPSG:4545", 4545, WKT) into a :class:`pyproj.CRS`."""
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises its own CRSError
        raise CRSError(f"cannot read CRS {value!r}: {exc}. Use an EPSG code such as 'EPSG:4545'.") from exc


def gk3_crs_for_lon(lon: float) -> CRS:
    """The CGCS2000 3-degree Gauss-Kruger CRS (no zone prefix) whose central meridian is nearest ``lon``.

    EPSG:4534..4554 cover CM 75E..135E (without zone prefix).
    """
    cm = int(round(lon / 3.0) * 3)
    cm = min(max(cm, 75), 135)
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def choose_working_crs(bounds_lonlat) -> CRS:
    """Pick a projected CRS for data with the given WGS84 bounds (minx, miny, maxx, maxy).

    Inside China the CGCS2000 3-degree GK zone of the centre is used (EPSG:4545 for Kaizhou);
    elsewhere the UTM zone of the centre.
    """
    minx, miny, maxx, maxy = bounds_lonlat
    lon = (minx + maxx) / 2.0
    lat = (miny + maxy) / 2.0
    if 73 <= lon <= 136 and 3 <= lat <= 54:
        return gk3_crs_for_lon(lon)
    zone = int(math.floor((lon + 180) / 6) + 1)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def guess_crs_from_coordinates(xs, ys) -> tuple[CRS | None, str]:
    """Guess a CRS from coordinate ranges alone. Returns (crs or None, explanation).

    - easting 36,3xx,xxx-36,7xx,xxx and northing 0-6e6: EPSG:4524 (zone 36 prefixed, CM 108E);
    - easting 3xx,xxx-7xx,xxx and northing 2e6-6e6: EPSG:4545 (CM 108E, no prefix), assuming
      the Kaizhou zone (other zones share this range, so the message says so);
    - longitude/latitude ranges: EPSG:4490 (CGCS2000 geographic, equal to WGS84 within a metre).
    """
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    if xs.size == 0:
        return None, "no coordinates"
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    if 1e6 <= x0 and x1 < 1e8:
        zone = int(x0 // 1e6)
        if zone == int(x1 // 1e6) and 25 <= zone <= 45:
            cm = zone * 3
            epsg = 4513 + (zone - 25)
            return CRS.from_epsg(epsg), (
                f"eastings start with zone number {zone} (false easting {zone},500 km): "
                f"CGCS2000 3-degree GK zone {zone}, CM {cm}E, EPSG:{epsg}"
            )
    if 2e5 <= x0 and x1 <= 8e5 and 1e6 <= y0 and y1 <= 6.5e6:
        return CRS.from_epsg(4545), (
            "eastings 200-800 km with false easting 500 km: taken as CGCS2000 3-degree GK "
            "CM 108E (EPSG:4545), the Kaizhou zone"
        )
    if -180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90:
        return CRS.from_epsg(4490), "coordinates look like longitude/latitude: CGCS2000 EPSG:4490"
    return None, f"coordinate range x {x0:.0f}..{x1:.0f}, y {y0:.0f}..{y1:.0f} matches no known CRS"


def require_projected(crs, what: str = "this operation") -> CRS:
    """Raise :class:`CRSError` unless ``crs`` is projected (metres)."""
    if crs is None:
        raise CRSError(f"{what} needs a CRS; none is set. Give the recipe a 'crs:' such as EPSG:4545.")
    crs = as_crs(crs)
    if not crs.is_projected:
        raise CRSError(
            f"{what} measures distances in metres but the CRS {crs.to_string()} is geographic. "
            "Reproject to a projected CRS first (e.g. EPSG:4545 for Kaizhou)."
        )
    return crs


def lonlat(geoms, crs_to=WGS84):
    """Longitude/latitude arrays of point geometries (or representative points) in ``crs_to``."""
    import geopandas as gpd

    gs = gpd.GeoSeries(geoms)
    pts = gs.to_crs(crs_to)
    pts = pts.where(pts.geom_type == "Point", pts.representative_point())
    return pts.x.to_numpy(), pts.y.to_numpy()
