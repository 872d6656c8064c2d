"""Preparing layers for display: clip, simplify, WGS84, GeoJSON with escaped attributes, hillshade
image, and the GCJ-02 shift grid used when the Amap basemap is switched on.

Nothing here changes an analysis result: every function works on a copy meant only for drawing.

One run writes a county map and dozens of township maps from the same layers, so the work that does
not depend on the map is done once per layer (:class:`DisplayLayer`: simplification, WGS84
coordinates, GeoJSON text, formatted popup values, a spatial index) and once per DEM
(:class:`HillshadeSource`: the tinted hillshade warped to Web Mercator); a township map then picks its
features with the index and clips only those that cross its edge.
"""

from __future__ import annotations

import base64
import io
import json
import json.encoder
import logging
import math
import warnings
from html import escape

import numpy as np
import pandas as pd
import shapely

from ..gcj02 import wgs84_to_gcj02
from . import styles

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


#: shapely type id -> category as :func:`geom_kind` counts them (Point, LineString, Polygon, collection)
_CATEGORY = np.array([0, 1, 1, 2, 0, 1, 2, 3])
_CATEGORY_KIND = ("point", "line", "polygon", "polygon")


def kind_of_types(type_ids) -> str:
    """'point', 'line' or 'polygon' for shapely type ids: the most common category (Multi* counted
    with its part type, a tie going to the category seen first; no geometry -> 'polygon')."""
    t = np.asarray(type_ids)
    t = t[t >= 0]
    if not len(t):
        return "polygon"
    cats = _CATEGORY[t]
    counts = np.bincount(cats, minlength=4)
    winners = np.flatnonzero(counts == counts.max())
    top = winners[0] if len(winners) == 1 else cats[np.isin(cats, winners)][0]
    return _CATEGORY_KIND[top]


def geom_kind(gdf) -> str:
    """'point', 'line' or 'polygon': what most of the layer's geometries are."""
    return kind_of_types(shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)))


def round_coords(values, decimals: int):
    return shapely.transform(values, lambda c: np.round(c, decimals))


def safe_json(obj) -> str:
    """JSON that can sit inside a <script> element (no '<', '>', '&', U+2028/9 literally)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return script_safe(s)


#: ``json.dumps(s, ensure_ascii=False)`` of one string, without the encoder set-up per call
json_str = json.encoder.encode_basestring


def script_safe(s: str) -> str:
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# ------------------------------------------------------------------------------------------------
# layers prepared once per run


_TRANSFORMERS: dict = {}


def _transformer(crs):
    """The pyproj transformer ``crs`` -> WGS84 lon/lat that ``GeoSeries.to_crs`` uses (cached)."""
    from pyproj import CRS, Transformer

    crs = CRS.from_user_input(crs)
    key = crs.to_wkt()
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = Transformer.from_crs(crs, CRS.from_user_input(WGS84), always_xy=True)
    return _TRANSFORMERS[key]


def to_wgs84(geoms, crs):
    """Geometries (a numpy array) from ``crs`` to WGS84 lon/lat, x/y only (what the maps draw);
    the same coordinates as ``GeoSeries.to_crs("EPSG:4326")``."""
    return _to_wgs84(geoms, _transformer(crs))


def _to_wgs84(geoms, transformer):
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return geoms

    def fn(c):
        x, y = transformer.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def _same_dimension(pieces, category: int):
    """Clipped pieces reduced to the layer's dimension, as ``geopandas.clip(keep_geom_type=True)``
    does: pieces of another dimension become None; a collection keeps its parts of the dimension
    (one feature, a multi-geometry when there are several)."""
    pieces = np.asarray(pieces, dtype=object).copy()
    cats = _CATEGORY[np.maximum(shapely.get_type_id(pieces), 0)]
    for i in np.flatnonzero(cats != category):
        g = pieces[i]
        parts = []
        if cats[i] == 3:
            parts = [p for p in shapely.get_parts(shapely.get_parts(g))
                     if _CATEGORY[shapely.get_type_id(p)] == category and not p.is_empty]
        if not parts:
            pieces[i] = None
        elif len(parts) == 1:
            pieces[i] = parts[0]
        else:
            pieces[i] = {0: shapely.multipoints, 1: shapely.multilinestrings, 2: shapely.multipolygons}[category](parts)
    return pieces


def _simplify(geoms, tolerance: float):
    """Douglas-Peucker for display, without GEOS's topology-preserving variant (5-10x slower on a
    county's 100,000 road edges and tens of thousands of coverage polygons). A line cannot become
    invalid; a polygon could, which the browser draws all the same, and one that would vanish keeps
    its own rings. Nothing is computed from these geometries."""
    geoms = np.asarray(geoms, dtype=object)
    out = shapely.simplify(geoms, tolerance, preserve_topology=False)
    lost = shapely.is_empty(out) & ~shapely.is_empty(geoms)
    if lost.any():
        out[lost] = geoms[lost]
    return out


class LayerView:
    """What one map draws of a :class:`DisplayLayer`: feature positions, their GeoJSON geometry
    (WGS84, rounded), the attribute rows and the geometry kind."""

    def __init__(self, layer: DisplayLayer, pos, geojson, kind: str, wgs=None):
        self.layer = layer
        self.pos = pos
        self.geojson = geojson
        self.kind = kind
        self._wgs = wgs

    def __len__(self):
        return len(self.pos)

    @property
    def columns(self):
        return self.layer.attrs.columns

    @property
    def frame(self):
        """The attribute rows drawn (no geometry), in feature order."""
        return self.layer.attrs.iloc[self.pos]

    @property
    def style_frame(self):
        """The columns :func:`styles.classify` reads, of the rows drawn."""
        return self.layer.style_attrs.iloc[self.pos]

    @property
    def wgs84(self):
        """The drawn geometries in WGS84 (not rounded); made when first read (township views)."""
        if callable(self._wgs):
            self._wgs = self._wgs()
        return self._wgs

    @property
    def total_bounds(self):
        """(west, south, east, north) of the drawn geometries (WGS84)."""
        return shapely.total_bounds(self.wgs84)


class DisplayLayer:
    """A layer as every map draws it, prepared once: missing and empty geometries dropped, a spatial
    index, simplified geometries per tolerance, WGS84 GeoJSON text per (tolerance, decimals) and the
    escaped popup/tooltip/label properties of each feature.

    :meth:`view` gives one map's features. Without a clip polygon that is the whole layer; with one
    (a township plus its margin, projected) it is the features that intersect it (found with the
    spatial index). Only those that cross its edge are cut, and reduced to the layer's dimension
    like ``geopandas.clip(..., keep_geom_type=True)`` (a collection's parts of that dimension stay
    one feature), before they are simplified; the others are the whole layer's simplified features.
    Point layers are never cut and single-part multipoints become points; lines and polygons are
    simplified (Douglas-Peucker, for display). Features keep the layer's order, as on the county
    map. What a layer "is" (point, line, polygon) is decided on the features a map draws, by
    majority, as :func:`geom_kind` does.
    """

    def __init__(self, name: str, frame, rule: dict | None = None):
        arr = np.asarray(frame.geometry.values, dtype=object)
        keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
        if not keep.all():
            frame = frame[keep]
            arr = arr[keep]
        self.name = name
        self.rule = rule if rule is not None else styles.rule_for(name, frame)
        self.crs = frame.crs
        self.geoms = arr
        self.types = shapely.get_type_id(arr)
        self.attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        self.fields = styles.popup_fields(name, self.rule, self.attrs.columns)
        self.style_attrs = self.attrs[[c for c in styles.style_columns(self.rule) if c in self.attrs.columns]]
        self._tree = None
        self._tr = None
        self._geoms: dict = {}  # variant -> projected display geometries
        self._wgs: dict = {}  # variant -> WGS84 display geometries
        self._json: dict = {}  # (variant, decimals) -> GeoJSON text per feature
        self._props: dict = {}  # labels -> properties JSON after "_s"/"_r", per feature

    def __len__(self):
        return len(self.geoms)

    @property
    def _wgs_transformer(self):
        if self._tr is None:
            self._tr = _transformer(self.crs)
        return self._tr

    # -- geometries -----------------------------------------------------------------------------

    def _display_geoms(self, variant, keep: bool = True):
        """Projected geometries of the whole layer: variant "point" (single-part multipoints as
        points) or a tolerance (simplified; 0 = as they are). ``keep=False``: not cached."""
        if not keep and variant not in self._geoms:
            return self._simplified(variant)
        if variant not in self._geoms:
            self._geoms[variant] = self._simplified(variant)
        return self._geoms[variant]

    def _simplified(self, variant):
        g = self.geoms
        if variant == "point":
            single = (self.types == 4) & (shapely.get_num_geometries(g) == 1)
            if single.any():
                g = g.copy()
                g[single] = shapely.get_geometry(g[single], 0)
        elif variant and variant > 0:
            g = _simplify(g, variant)
        return g

    def _wgs84(self, variant):
        if variant not in self._wgs:
            self._wgs[variant] = _to_wgs84(self._display_geoms(variant), self._wgs_transformer)
        return self._wgs[variant]

    def _geojson(self, variant, decimals: int):
        key = (variant, decimals)
        if key not in self._json:
            if variant in self._wgs or variant == "point":
                wgs = self._wgs84(variant)
            else:  # only the text is kept: township views need no more of the whole layer (at
                # county scale its simplified and WGS84 copies of every layer are ~200 MB)
                wgs = _to_wgs84(self._display_geoms(variant, keep=False), self._wgs_transformer)
            self._json[key] = shapely.to_geojson(round_coords(wgs, decimals))
        return self._json[key]

    def _variant(self, kind: str, tolerance_m: float):
        return "point" if kind == "point" else (float(tolerance_m) if tolerance_m and tolerance_m > 0 else 0.0)

    def forget(self, tolerance_m: float):
        """Drop what was prepared for one display tolerance (the county map's, once it is written:
        at county scale these copies of every layer are hundreds of megabytes)."""
        v = float(tolerance_m)
        self._geoms.pop(v, None)
        self._wgs.pop(v, None)
        for key in [k for k in self._json if k[0] == v]:
            del self._json[key]

    @property
    def tree(self):
        if self._tree is None:
            self._tree = shapely.STRtree(self.geoms)
        return self._tree

    def view(self, tolerance_m: float, clip=None, decimals: int = 5) -> LayerView:
        """The features one map draws (see the class); ``clip`` should be prepared
        (:func:`shapely.prepare`) when it is used for many layers."""
        if clip is None:
            pos = np.arange(len(self.geoms))
            kind = kind_of_types(self.types)
            variant = self._variant(kind, tolerance_m)
            wgs = self._wgs84(variant)
            if variant != "point":
                keep = ~shapely.is_empty(wgs)
                pos = pos[keep]
            return LayerView(self, pos, self._geojson(variant, decimals)[pos], kind, wgs[pos])

        cand = np.sort(self.tree.query(clip, predicate="intersects"))
        if not len(cand):
            return LayerView(self, cand, np.array([], dtype=object), "polygon", np.array([], dtype=object))
        cats = _CATEGORY[self.types[cand]]
        kind = kind_of_types(self.types[cand])
        if kind == "point":  # points are not cut
            variant = "point"
            return LayerView(self, cand, self._geojson(variant, decimals)[cand], kind, self._wgs84(variant)[cand])

        inside = shapely.contains_properly(clip, self.geoms[cand])
        inner, cross = cand[inside], cand[~inside]
        pieces = shapely.intersection(self.geoms[cross], clip)
        if len(np.unique(cats)) == 1 and cats[0] < 3:  # one dimension: keep only pieces of it
            pieces = _same_dimension(pieces, int(cats[0]))
        ok = ~(shapely.is_missing(pieces) | shapely.is_empty(pieces))
        cross, pieces = cross[ok], pieces[ok]
        # what the layer mostly is after the cut (only mixed layers can change), in layer order
        types = np.concatenate([self.types[inner], shapely.get_type_id(pieces)])
        kind = kind_of_types(types[np.argsort(np.concatenate([inner, cross]), kind="stable")])
        variant = self._variant(kind, tolerance_m)
        if variant == "point":
            single = (shapely.get_type_id(pieces) == 4) & (shapely.get_num_geometries(pieces) == 1)
            pieces = pieces.copy()
            pieces[single] = shapely.get_geometry(pieces[single], 0)
        elif variant:
            pieces = _simplify(pieces, variant)
        pieces_wgs = _to_wgs84(pieces, self._wgs_transformer)
        pos = np.concatenate([inner, cross])
        gj = np.concatenate([self._geojson(variant, decimals)[inner],
                             shapely.to_geojson(round_coords(pieces_wgs, decimals))])
        # the layer's display geometries are never empty (dropped here, kept by _simplify): only
        # cut pieces can be
        keep = np.concatenate([np.ones(len(inner), dtype=bool), ~shapely.is_empty(pieces_wgs)])
        order = np.argsort(pos[keep], kind="stable")

        def wgs():  # the WGS84 geometries, only if read (the county map's dense layers read them)
            return np.concatenate([self._wgs84(variant)[inner], pieces_wgs])[keep][order]

        return LayerView(self, pos[keep][order], gj[keep][order], kind, wgs)

    # -- properties -----------------------------------------------------------------------------

    def properties(self, labels: bool) -> list[str]:
        """Per feature, the script-safe JSON properties that follow ``{"_s":..`` (and ``_r``):
        ``,"_t":..`` tooltip, ``,"_p":[..]`` popup values, ``,"_l":..`` symbol label, then ``}``.
        Every value is formatted (:func:`styles.format_column`) and HTML-escaped here."""
        if labels not in self._props:
            self._props[labels] = self._make_properties(labels)
        return self._props[labels]

    def _make_properties(self, labels: bool) -> list[str]:
        rule, attrs, n = self.rule, self.attrs, len(self.attrs)
        fields = self.fields
        tip_cols = styles.tooltip_columns(rule, fields)
        label_cols = list(rule.get("label", ())) if labels else []
        text: dict[str, list[str]] = {}
        for c in [c for c, _ in fields] + tip_cols + label_cols:
            if c not in text:
                text[c] = styles.format_column(attrs[c], c, rule) if c in attrs.columns else [""] * n

        def enc(values: list[str]) -> list[str]:
            cache: dict[str, str] = {}
            out = []
            for v in values:
                j = cache.get(v)
                if j is None:
                    j = cache[v] = script_safe(json_str(escape(v)))
                out.append(j)
            return out

        shown = [text[c] for c in tip_cols]
        tips = [styles.tooltip_from_shown(rule, tip_cols, dict(zip(tip_cols, vals))) for vals in zip(*shown)] \
            if tip_cols else [styles.tooltip_from_shown(rule, tip_cols, {})] * n
        parts = [[(',"_t":' + j) if t else "" for t, j in zip(tips, enc(tips))]]
        if fields:
            cols = [enc(text[c]) for c, _ in fields]
            parts.append([',"_p":[' + ",".join(vals) + "]" for vals in zip(*cols)])
        if label_cols:
            labs = [next((v for v in vals if v), "") for vals in zip(*[text[c] for c in label_cols])]
            parts.append([(',"_l":' + j) if lab else "" for lab, j in zip(labs, enc(labs))])
        return ["".join(p) + "}" for p in zip(*parts)]

    def collection(self, view: LayerView, cls: styles.Classified, labels: bool = True) -> str:
        """GeoJSON text (script-safe) of a view, each feature carrying only:

        ``_s`` style index, ``_r`` radius (sized points), ``_t`` tooltip HTML, ``_p`` popup values
        (HTML, aligned with the popup field list), ``_l`` symbol label. Every attribute value is
        HTML-escaped, so the browser never sees raw attribute text as markup.
        """
        order = cls.order if cls.order is not None else np.arange(len(view))
        gj = view.geojson[order].tolist()
        pos = view.pos[order].tolist()
        idx = cls.index[order].tolist()
        rad = cls.radius[order].tolist() if cls.radius is not None else None
        props = self.properties(labels)
        out = []
        for i, g in enumerate(gj):
            if g is None:
                continue
            head = '{"_s":' + str(int(idx[i]))
            if rad is not None:
                head += ',"_r":' + repr(float(rad[i]))
            out.append('{"type":"Feature","geometry":' + g + ',"properties":' + head + props[pos[i]] + "}")
        return '{"type":"FeatureCollection","features":[' + ",".join(out) + "]}"


def label_collection(points_wgs, texts, decimals: int = 5) -> str:
    """GeoJSON of label points (``_l`` = escaped text)."""
    geoms = round_coords(np.asarray(points_wgs, dtype=object), decimals)
    out = []
    for g, t in zip(shapely.to_geojson(geoms), texts):
        if g is None or not t:
            continue
        out.append('{"type":"Feature","geometry":' + g + ',"properties":' + safe_json({"_l": escape(str(t))}) + "}")
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


def _dem_window(dem, bounds):
    """(r0, r1, c0, c1): the DEM cells covering ``bounds`` plus one cell around; None when that is
    less than 2 x 2 cells (the DEM does not cover ``bounds``)."""
    h, w = dem.z.shape
    if bounds is None:
        return 0, h, 0, w
    inv = ~dem.transform
    cols, rows = zip(*[_apply(inv, x, y) for x in (bounds[0], bounds[2]) for y in (bounds[1], bounds[3])])
    c0 = max(int(math.floor(min(cols))) - 1, 0)
    c1 = min(int(math.ceil(max(cols))) + 1, w)
    r0 = max(int(math.floor(min(rows))) - 1, 0)
    r1 = min(int(math.ceil(max(rows))) + 1, h)
    if c1 - c0 < 2 or r1 - r0 < 2:
        return None
    return r0, r1, c0, c1


def _window_transform(t, r0, c0):
    from affine import Affine

    return Affine(t.a, t.b, t.c + c0 * t.a + r0 * t.b, t.d, t.e, t.f + c0 * t.d + r0 * t.e)


def _shaded(dem, window, mask=None):
    """Tinted, shaded RGBA bands (4, rows, cols; float32) of a DEM window and their transform."""
    from ..terrain import DEM

    r0, r1, c0, c1 = window
    zc = dem.z[r0:r1, c0:c1]
    tc = _window_transform(dem.transform, r0, c0)
    sub = DEM(zc, tc, dem.crs)
    hs = np.nan_to_num(sub.hillshade(), nan=0.7)
    shade = np.clip(0.50 + 0.62 * hs, 0, 1.08)
    rgb = np.clip(_tint(zc) * shade[..., None], 0, 255)
    alpha = np.where(np.isfinite(zc), 255, 0).astype(float)
    if mask is not None:
        from rasterio.features import geometry_mask

        outside = geometry_mask([mask], out_shape=zc.shape, transform=tc)
        rgb[outside] = rgb[outside] * 0.55 + 255 * 0.45
    return np.concatenate([rgb, alpha[..., None]], axis=-1).transpose(2, 0, 1).astype(np.float32), tc


def _to_mercator(bands, tc, crs, max_px: int | None):
    """Warp RGBA bands to Web Mercator (EPSG:3857) at about their own resolution, at most
    ``max_px`` on the longest side: (RGBA uint8 image rows x cols x 4, its transform)."""
    from affine import Affine
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    _, hh, ww = bands.shape
    left, top = _apply(tc, 0, 0)
    right, bottom = _apply(tc, ww, hh)
    src_crs = crs.to_wkt() if hasattr(crs, "to_wkt") else str(crs)
    with warnings.catch_warnings():  # rasterio's own use of affine's deprecated '*'
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        dst_t, dw, dh = calculate_default_transform(src_crs, "EPSG:3857", ww, hh, left, bottom, right, top)
    scale = max(dw, dh) / float(max_px) if max_px else 1.0
    if scale > 1:
        dst_t = Affine(dst_t.a * scale, dst_t.b * scale, dst_t.c, dst_t.d * scale, dst_t.e * scale, dst_t.f)
        dw = max(int(math.ceil(dw / scale)), 1)
        dh = max(int(math.ceil(dh / scale)), 1)
    out = np.zeros((4, dh, dw), dtype=np.float32)
    reproject(bands, out, src_transform=tc, src_crs=src_crs, dst_transform=dst_t, dst_crs="EPSG:3857",
              resampling=Resampling.bilinear, src_nodata=None, dst_nodata=0)
    return np.clip(out, 0, 255).astype(np.uint8).transpose(1, 2, 0), dst_t


def _png_uri(img, dst_t):
    """(PNG data URI, [[S, W], [N, E]]) of a Web Mercator RGBA image (96 colours)."""
    from PIL import Image

    pil = Image.fromarray(np.ascontiguousarray(img), "RGBA").quantize(colors=96, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", compress_level=6)  # zlib's default: ~10x faster than 9, ~5 % bigger
    dh, dw = img.shape[:2]
    x0, y0 = _apply(dst_t, 0, 0)
    x1, y1 = _apply(dst_t, dw, dh)
    tr = _transformer("EPSG:3857")
    west, north = tr.transform(x0, y0)
    east, south = tr.transform(x1, y1)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return uri, [[south, west], [north, east]]


def hillshade_image(dem, bounds=None, max_px: int = 1600, mask=None):
    """A tinted hillshade of ``dem`` as PNG data-URI plus its WGS84 bounds ``[[S, W], [N, E]]``.

    The grid is warped to Web Mercator (EPSG:3857, what Leaflet draws in) before encoding, so the
    image stretched between its two corner coordinates lands on the right ground everywhere, not
    only at the corners. ``bounds`` (projected, the DEM's CRS) crops; ``mask`` (a projected
    polygon) fades what lies outside it. Returns ``None`` when the DEM does not cover ``bounds``.
    """
    window = _dem_window(dem, bounds)
    if window is None:
        return None
    r0, r1, c0, c1 = window
    if not np.isfinite(dem.z[r0:r1, c0:c1]).any():
        return None
    bands, tc = _shaded(dem, window, mask)
    return _png_uri(*_to_mercator(bands, tc, dem.crs, max_px))


class HillshadeSource:
    """The hillshade of one DEM for many maps: shaded and warped to Web Mercator once, then cropped.

    :meth:`image` gives what :func:`hillshade_image` gives for the same bounds, cut from the one
    warped grid instead of shading and warping each map's part again (the shading at a crop's edge
    uses the cells beyond it, so edges are, if anything, better). A crop bigger than ``max_px`` is
    made the direct way, downsampled as before.
    """

    def __init__(self, dem):
        self.dem = dem
        self._merc = None

    def _mercator(self):
        if self._merc is None:
            h, w = self.dem.z.shape
            bands, tc = _shaded(self.dem, (0, h, 0, w))
            img, t = _to_mercator(bands, tc, self.dem.crs, None)
            from pyproj import Transformer

            self._merc = (img, t, Transformer.from_crs(self.dem.crs, "EPSG:3857", always_xy=True))
        return self._merc

    def image(self, bounds, max_px: int = 1600):
        dem = self.dem
        window = _dem_window(dem, bounds)
        if window is None:
            return None
        r0, r1, c0, c1 = window
        if not np.isfinite(dem.z[r0:r1, c0:c1]).any():
            return None
        img, t, tr = self._mercator()
        tc = _window_transform(dem.transform, r0, c0)
        left, top = _apply(tc, 0, 0)
        right, bottom = _apply(tc, c1 - c0, r1 - r0)
        x0, y0, x1, y1 = tr.transform_bounds(left, bottom, right, top, densify_pts=21)
        inv = ~t
        ca, ra = _apply(inv, x0, y1)
        cb, rb = _apply(inv, x1, y0)
        h, w = img.shape[:2]
        i0, i1 = max(int(math.floor(min(ra, rb))), 0), min(int(math.ceil(max(ra, rb))), h)
        j0, j1 = max(int(math.floor(min(ca, cb))), 0), min(int(math.ceil(max(ca, cb))), w)
        if i1 - i0 < 1 or j1 - j0 < 1:
            return None
        if max(i1 - i0, j1 - j0) > max_px:
            return hillshade_image(dem, bounds, max_px=max_px)
        return _png_uri(img[i0:i1, j0:j1], _window_transform(t, i0, j0))


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
