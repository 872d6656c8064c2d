"""GCJ-02 ("Mars coordinates") conversion, vectorised.

Amap/Gaode, Tencent and DataV publish coordinates in GCJ-02, an obfuscated WGS84 that is shifted
by about 500 m in Kaizhou. The forward transform is the published one (Krasovsky ellipsoid
constants); the inverse is iterated until the round trip is below ``tol_m`` metres.

Outside mainland China GCJ-02 equals WGS84; this module follows the common convention of
leaving points outside the rough China box untouched.
"""

from __future__ import annotations

import numpy as np

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared


def _in_china(lon, lat):
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def _delta(lon, lat):
    x = lon - 105.0
    y = lat - 35.0
    sq = np.sqrt(np.abs(x))
    pi = np.pi
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq
    dlat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq
    dlon += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """Shift WGS84 longitude/latitude (degrees, arrays or scalars) to GCJ-02."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(lon, lat, tol_m: float = 0.01, max_iter: int = 30):
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration to below ``tol_m`` metres."""
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    tol_deg = tol_m / 111_320.0 / 10.0
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        if np.all(np.abs(elon) < tol_deg) and np.all(np.abs(elat) < tol_deg):
            break
    return wlon, wlat


def shift_geometries(geoms, to: str):
    """Apply the shift to a GeoSeries/array of shapely geometries in lon/lat degrees.

    ``to="gcj02"`` shifts WGS84 geometry for display on Amap tiles; ``to="wgs84"`` converts
    GCJ-02 geometry (phone-app hydrant lists) back to WGS84.
    """
    import shapely

    func = {"gcj02": wgs84_to_gcj02, "wgs84": gcj02_to_wgs84}[to]

    def _tx(coords):
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    values = geoms.values if hasattr(geoms, "values") else geoms
    out = shapely.transform(np.asarray(values, dtype=object), _tx)
    if hasattr(geoms, "values"):
        import geopandas as gpd

        return gpd.GeoSeries(out, index=geoms.index, crs=getattr(geoms, "crs", None))
    return out
