"""Preparing layers for display: clip, simplify, WGS84, GeoJSON with escaped attributes, hillshade
image, and the GCJ-02 shift grid used when the Amap basemap is switched on.

Nothing here changes an analysis result: every function works on a copy meant only for drawing.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import warnings
from html import escape

import numpy as np
import shapely

from ..gcj02 import wgs84_to_gcj02
from . import styles as S

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


def geom_kind(gdf) -> str:
    """'point', 'line' or 'polygon': what most of the layer's geometries are."""
    types = gdf.geometry.geom_type.dropna()
    if not len(types):
        return "polygon"
    base = types.str.replace("Multi", "", regex=False).replace({"LinearRing": "LineString"})
    top = base.value_counts().idxmax()
    return {"Point": "point", "LineString": "line", "Polygon": "polygon"}.get(top, "polygon")


def prepare(gdf, tolerance_m: float, clip=None):
    """Clip (to a projected-CRS polygon), simplify (metres) and return the frame in WGS84.

    Empty or missing geometries are dropped. Geometry collections from the clip keep only the
    parts of the layer's own dimension.
    """
    import geopandas as gpd

    arr = np.asarray(gdf.geometry.values, dtype=object)
    gdf = gdf[~(shapely.is_missing(arr) | shapely.is_empty(arr))]
    if clip is not None and len(gdf):
        gdf = gdf[gdf.geometry.intersects(clip)]
        if len(gdf):
            kind = geom_kind(gdf)
            if kind != "point":
                gdf = gpd.clip(gdf, clip, keep_geom_type=True)
    if not len(gdf):
        return gdf.to_crs(WGS84) if gdf.crs is not None else gdf
    kind = geom_kind(gdf)
    if kind == "point":  # single-part multipoints (as analyses write them) become points
        arr = np.asarray(gdf.geometry.values, dtype=object)
        single = (shapely.get_type_id(arr) == 4) & (shapely.get_num_geometries(arr) == 1)
        if single.any():
            arr = arr.copy()
            arr[single] = shapely.get_geometry(arr[single], 0)
            gdf = gdf.set_geometry(gpd.GeoSeries(arr, index=gdf.index, crs=gdf.crs))
    if tolerance_m and tolerance_m > 0 and kind != "point":
        geoms = shapely.simplify(gdf.geometry.values, tolerance_m, preserve_topology=True)
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
        gdf = gdf[~gdf.geometry.is_empty]
    return gdf.to_crs(WGS84)


def _round_coords(values, decimals: int):
    return shapely.transform(values, lambda c: np.round(c, decimals))


def _safe_json(obj) -> str:
    """JSON that can sit inside a <script> element (no '<', '>', '&', U+2028/9 literally)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return script_safe(s)


def script_safe(s: str) -> str:
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _label_of(rule: dict, props: dict) -> str:
    for col in rule.get("label", ()):
        v = S.format_value(props.get(col), col, rule)
        if v:
            return v
    return ""


def feature_collection(name: str, gdf, cls: "S.Classified", rule: dict, decimals: int = 5,
                       labels: bool = True) -> str:
    """GeoJSON text (script-safe) of a display frame, each feature carrying only:

    ``_s`` style index, ``_r`` radius (sized points), ``_t`` tooltip HTML, ``_p`` popup values
    (HTML, aligned with the popup field list), ``_l`` symbol label. Every attribute value is
    HTML-escaped here, so the browser never sees raw attribute text as markup.
    """
    fields = S.popup_fields(name, rule, gdf.columns)
    order = cls.order if cls.order is not None else np.arange(len(gdf))
    geoms = _round_coords(gdf.geometry.values[order], decimals)
    gj = shapely.to_geojson(geoms)
    records = gdf.drop(columns=gdf.geometry.name).iloc[order].to_dict("records")
    idx = cls.index[order]
    rad = cls.radius[order] if cls.radius is not None else None
    out = []
    for i, (g, rec) in enumerate(zip(gj, records)):
        if g is None:
            continue
        props = {"_s": int(idx[i])}
        if rad is not None:
            props["_r"] = float(rad[i])
        tip = S.tooltip_text(rule, rec, fields)
        if tip:
            props["_t"] = escape(tip)
        if fields:
            props["_p"] = [escape(S.format_value(rec.get(c), c, rule)) for c, _ in fields]
        lab = _label_of(rule, rec) if labels else ""
        if lab:
            props["_l"] = escape(lab)
        out.append('{"type":"Feature","geometry":' + g + ',"properties":' + _safe_json(props) + "}")
    return '{"type":"FeatureCollection","features":[' + ",".join(out) + "]}"


def label_collection(points_wgs, texts, decimals: int = 5) -> str:
    """GeoJSON of label points (``_l`` = escaped text)."""
    geoms = _round_coords(np.asarray(points_wgs, dtype=object), decimals)
    out = []
    for g, t in zip(shapely.to_geojson(geoms), texts):
        if g is None or not t:
            continue
        out.append('{"type":"Feature","geometry":' + g + ',"properties":' + _safe_json({"_l": escape(str(t))}) + "}")
    return '{"type":"FeatureCollection","features":[' + ",".join(out) + "]}"


# ------------------------------------------------------------------------------------------------
# hillshade

# Elevation (m) -> pale hypsometric tint, tuned for 150-2600 m (Kaizhou); multiplied by the shade.
_TINT = [(0, (196, 222, 186)), (300, (210, 228, 190)), (700, (232, 234, 200)), (1200, (236, 224, 190)),
         (1800, (222, 204, 176)), (2300, (214, 206, 198)), (2700, (245, 245, 245))]


def _tint(z):
    zs = np.array([s for s, _ in _TINT], dtype=float)
    cols = np.array([c for _, c in _TINT], dtype=float)
    zz = np.nan_to_num(z, nan=0.0)
    return np.stack([np.interp(zz, zs, cols[:, k]) for k in range(3)], axis=-1)


def _apply(t, x, y):
    """Affine transform of one point (explicit, so no operator deprecation across affine versions)."""
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


def hillshade_image(dem, bounds=None, max_px: int = 1600, mask=None):
    """A tinted hillshade of ``dem`` as PNG data-URI plus its WGS84 bounds ``[[S, W], [N, E]]``.

    The grid is warped to Web Mercator (EPSG:3857, what Leaflet draws in) before encoding, so the
    image stretched between its two corner coordinates lands on the right ground everywhere, not
    only at the corners. ``bounds`` (projected, the DEM's CRS) crops; ``mask`` (a projected
    polygon) fades what lies outside it. Returns ``None`` when the DEM does not cover ``bounds``.
    """
    from affine import Affine
    from PIL import Image
    from pyproj import Transformer
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from ..terrain import DEM

    z = dem.z
    t = dem.transform
    h, w = z.shape
    r0, c0, r1, c1 = 0, 0, h, w
    if bounds is not None:
        inv = ~t
        xs = [bounds[0], bounds[2]]
        ys = [bounds[1], bounds[3]]
        cols, rows = zip(*[_apply(inv, x, y) for x in xs for y in ys])
        c0 = max(int(math.floor(min(cols))) - 1, 0)
        c1 = min(int(math.ceil(max(cols))) + 1, w)
        r0 = max(int(math.floor(min(rows))) - 1, 0)
        r1 = min(int(math.ceil(max(rows))) + 1, h)
        if c1 - c0 < 2 or r1 - r0 < 2:
            return None
    zc = z[r0:r1, c0:c1]
    if not np.isfinite(zc).any():
        return None
    tc = Affine(t.a, t.b, t.c + c0 * t.a + r0 * t.b, t.d, t.e, t.f + c0 * t.d + r0 * t.e)
    sub = DEM(zc, tc, dem.crs)
    hs = np.nan_to_num(sub.hillshade(), nan=0.7)
    shade = np.clip(0.50 + 0.62 * hs, 0, 1.08)
    rgb = np.clip(_tint(zc) * shade[..., None], 0, 255)
    alpha = np.where(np.isfinite(zc), 255, 0).astype(float)
    if mask is not None:
        from rasterio.features import geometry_mask

        outside = geometry_mask([mask], out_shape=zc.shape, transform=tc)
        rgb[outside] = rgb[outside] * 0.55 + 255 * 0.45
    bands = np.concatenate([rgb, alpha[..., None]], axis=-1).transpose(2, 0, 1).astype(np.float32)

    hh, ww = zc.shape
    left, top = _apply(tc, 0, 0)
    right, bottom = _apply(tc, ww, hh)
    src_crs = dem.crs.to_wkt()
    with warnings.catch_warnings():  # rasterio's own use of affine's deprecated '*'
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        dst_t, dw, dh = calculate_default_transform(src_crs, "EPSG:3857", ww, hh, left, bottom, right, top)
    scale = max(dw, dh) / float(max_px)
    if scale > 1:
        dst_t = Affine(dst_t.a * scale, dst_t.b * scale, dst_t.c, dst_t.d * scale, dst_t.e * scale, dst_t.f)
        dw = max(int(math.ceil(dw / scale)), 1)
        dh = max(int(math.ceil(dh / scale)), 1)
    out = np.zeros((4, dh, dw), dtype=np.float32)
    reproject(bands, out, src_transform=tc, src_crs=src_crs, dst_transform=dst_t, dst_crs="EPSG:3857",
              resampling=Resampling.bilinear, src_nodata=None, dst_nodata=0)
    img = np.clip(out, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    pil = Image.fromarray(img, "RGBA").quantize(colors=96, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=True)
    x0, y0 = _apply(dst_t, 0, 0)
    x1, y1 = _apply(dst_t, dw, dh)
    tr = Transformer.from_crs("EPSG:3857", WGS84, always_xy=True)
    west, north = tr.transform(x0, y0)
    east, south = tr.transform(x1, y1)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return uri, [[south, west], [north, east]]


# ------------------------------------------------------------------------------------------------
# GCJ-02 display shift


def gcj_grid(west: float, south: float, east: float, north: float, step: float = 0.02) -> dict:
    """The WGS84 -> GCJ-02 offset sampled on a lon/lat grid covering the box (plus a margin).

    The map's JavaScript interpolates this grid bilinearly to move every overlay onto Amap tiles,
    so :mod:`kzgis.gcj02` stays the one implementation of the shift. The offset field is smooth
    (shortest wavelength ~1/3 degree), so a 0.02-degree grid is within ~0.3 m of the exact formula.
    """
    pad = 2 * step
    lon0 = math.floor((west - pad) / step) * step
    lat0 = math.floor((south - pad) / step) * step
    nx = int(math.ceil((east + pad - lon0) / step)) + 1
    ny = int(math.ceil((north + pad - lat0) / step)) + 1
    lons = lon0 + step * np.arange(nx)
    lats = lat0 + step * np.arange(ny)
    LON, LAT = np.meshgrid(lons, lats)
    glon, glat = wgs84_to_gcj02(LON, LAT)
    return {"lon0": round(lon0, 6), "lat0": round(lat0, 6), "step": step, "nx": nx, "ny": ny,
            "dlon": np.round(glon - LON, 8).ravel().tolist(), "dlat": np.round(glat - LAT, 8).ravel().tolist()}


def grid_shift(grid: dict, lon, lat):
    """Apply :func:`gcj_grid` offsets the way the map's JavaScript does (bilinear, clamped)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    nx, ny, step = grid["nx"], grid["ny"], grid["step"]
    fx = np.clip((lon - grid["lon0"]) / step, 0, nx - 1.000001)
    fy = np.clip((lat - grid["lat0"]) / step, 0, ny - 1.000001)
    ix = np.floor(fx).astype(int)
    iy = np.floor(fy).astype(int)
    tx = fx - ix
    ty = fy - iy
    out = []
    for key in ("dlon", "dlat"):
        d = np.asarray(grid[key]).reshape(ny, nx)
        v = (d[iy, ix] * (1 - tx) * (1 - ty) + d[iy, ix + 1] * tx * (1 - ty)
             + d[iy + 1, ix] * (1 - tx) * ty + d[iy + 1, ix + 1] * tx * ty)
        out.append(v)
    return lon + out[0], lat + out[1]
