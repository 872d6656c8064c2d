"""Assembling the folium maps: overlays, basemaps, controls, title block, legend; writing files."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import Fullscreen, MeasureControl
from folium.template import Template

from . import _assets, _dense, _display, _html, styles
from ._options import MapOptions

log = logging.getLogger(__name__)

#: Input layer kinds drawn on the maps (in this order within "基础数据"); others are ignored.
INPUT_KINDS = ("stations", "micro_stations", "communities", "hydrants", "fire_pools", "water_intakes", "candidate_sites", "township_seats",
               "settlements", "roads", "water_mains", "power_lines", "rivers", "water_bodies", "buildings", "old_towns",
               "urban_area", "forest", "mountain_units", "boundary", "county")
#: Among each group only the first layer present is shown when the map opens (they overlap).
EXCLUSIVE = (("response_settlements", "access_settlements", "water_settlements", "settlements"),
             ("response_isochrones", "response_zones", "water_coverage"))
#: Extra map layers drawn from a result's own columns: result -> (layer key, column it needs).
#: The standard-truck view of the settlements' response stays a layer of its own (issue 13 §7).
DERIVED = {"response_settlements": (("response_settlements_standard", "time_min_standard"),)}
#: An input layer is off when the map opens if a result redraws the same features with more meaning.
SUPERSEDED = {"roads": "access_roads", "hydrants": "water_sources", "fire_pools": "water_sources",
              "water_intakes": "water_sources", "communities": "micro_communities"}

TILES = {
    "tianditu_vec": ("天地图 矢量", [
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=",
        "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="],
        "01234567", "天地图 © 国家地理信息公共服务平台", False),
    "tianditu_img": ("天地图 影像", [
        "https://t{s}.tianditu.gov.cn/img_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=img"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=",
        "https://t{s}.tianditu.gov.cn/cia_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cia"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="],
        "01234567", "天地图 © 国家地理信息公共服务平台", False),
    "amap": ("高德地图（GCJ-02）", [
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"],
        "1234", "© 高德地图", True),
    "amap_img": ("高德影像（GCJ-02）", [
        "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}"],
        "1234", "© 高德地图", True),
    "osm": ("OpenStreetMap", ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"], "",
            "© OpenStreetMap contributors", False),
}


# ------------------------------------------------------------------------------------------------
# folium elements whose JS/CSS come from the vendored assets


class _Map(folium.Map):
    default_js = [("leaflet", _assets.LEAFLET_JS)]
    default_css = [("leaflet_css", _assets.LEAFLET_CSS)]


class _Runtime(JSCSSMixin, MacroElement):
    _template = Template("")
    default_js = [("kzmap", _assets.KZMAP_JS)]
    default_css = [("kzmap_css", _assets.KZMAP_CSS)]


class _Fullscreen(Fullscreen):
    default_js = [("leaflet_fullscreen", _assets.FULLSCREEN_JS)]
    default_css = [("leaflet_fullscreen_css", _assets.FULLSCREEN_CSS)]


class _Measure(MeasureControl):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.Control.Measure.include({
                _setCaptureMarkerIcon: function () {
                    this._captureMarker.options.autoPanOnFocus = false;
                    this._captureMarker.setIcon(L.divIcon({iconSize: this._map.getSize().multiplyBy(2)}));
                },
            });
            var {{ this.get_name() }} = new L.Control.Measure({{ this.options|tojavascript }});
            {{ this._parent.get_name() }}.addControl({{ this.get_name() }});
        {% endmacro %}
        """
    )
    default_js = [("leaflet_measure_js", _assets.MEASURE_JS)]
    default_css = [("leaflet_measure_css", _assets.MEASURE_CSS)]


class _Raw(Element):
    """Text that goes into the page as it is.

    folium puts what an element's macros render into the page as a new Jinja template, which
    compiles megabytes of GeoJSON once more and would evaluate any ``{{ }}`` or ``{% %}`` in
    attribute values, township names or the title block. Our elements add their text as this.
    """

    def __init__(self, text: str):
        super().__init__()
        self._name = "KzRaw"
        self.text = text

    def render(self, **kwargs):
        return self.text


class _RawMacro(MacroElement):
    """Mixin (after a folium class in the bases): what the macros render goes in as :class:`_Raw`."""

    def render(self, **kwargs):
        figure = self.get_root()
        module = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.get(part)
            if macro is not None:
                target.add_child(_Raw(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _LayerControl(folium.LayerControl, _RawMacro):
    """The layer control; its script lists the layer names (from data for unknown result layers)."""


class _JsLayer(Layer):
    """A layer whose JavaScript constructor expression is given (already script-safe)."""

    def __init__(self, js: str, name: str, overlay=True, control=True, show=True):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "KzLayer"
        self.js = js

    def render(self, **kwargs):
        name = self.get_name()
        text = f"var {name} = {self.js};"
        if self.show:
            text += f"\n{name}.addTo({self._parent.get_name()});"
        self.get_root().script.add_child(_Raw(text), name=name)


class _Chrome(MacroElement):
    """Title block, legend and the final ``kz.finish`` call (after the layer control exists)."""

    def __init__(self, body: str, control: str, cfg: str):
        super().__init__()
        self._name = "KzChrome"
        self.body = body
        self.control = control
        self.cfg = cfg

    def render(self, **kwargs):
        figure = self.get_root()
        figure.html.add_child(_Raw(self.body), name=self.get_name())
        figure.script.add_child(_Raw(f"kz.finish({self._parent.get_name()}, {self.control}, {self.cfg});"),
                                name=self.get_name())


# ------------------------------------------------------------------------------------------------
# layer preparation


@dataclass
class Item:
    key: str  # layer kind or result name
    gdf: object  # GeoDataFrame in the working CRS
    is_result: bool


def collect(layers, results) -> list[Item]:
    """Drawable layers: input kinds with features, then results that are non-empty GeoDataFrames."""
    import geopandas as gpd

    crs = getattr(layers, "crs", None)
    items = []
    for kind in INPUT_KINDS:
        if kind in layers and isinstance(layers[kind], gpd.GeoDataFrame) and len(layers[kind]):
            items.append(Item(kind, layers[kind], False))
    for name, frame in (results or {}).items():
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
            continue  # tables without geometry
        if not len(frame) or shapely.is_missing(np.asarray(frame.geometry.values, dtype=object)).all():
            continue
        if frame.crs is None:
            log.warning("result layer %s has no CRS; assuming the working CRS %s", name, crs)
            frame = frame.set_crs(crs)
        elif crs is not None and frame.crs != crs:
            frame = frame.to_crs(crs)
        items.append(Item(name, frame, True))
        for view, col in DERIVED.get(name, ()):
            if col in frame.columns:
                items.append(Item(view, frame, True))
    return items


def _is_synthetic(layers, results) -> bool:
    frames = [v for v in list(layers.values()) + list((results or {}).values()) if hasattr(v, "columns")]
    for f in frames:
        for col in ("source", "settlements"):
            if col in f.columns and not pd.api.types.is_numeric_dtype(f[col]):
                vals = f[col].dropna().astype(str)
                if vals.str.contains("示意|synthetic", case=False, regex=True).any():
                    return True
    return False


def _sources_text(layers) -> str:
    seen = []
    synthetic = False
    for kind in INPUT_KINDS:
        f = layers.get(kind) if hasattr(layers, "get") else None
        if f is None or not hasattr(f, "columns") or "source" not in f.columns:
            continue
        for v in f["source"].dropna().astype(str).unique():
            v = v.strip()
            if re.search("示意|synthetic", v, re.I):
                synthetic = True  # all synthetic layers are named once, below
            elif v and v not in seen:
                seen.append(v)
    if synthetic:
        seen.append("示意（合成）数据")
    if not seen:
        return "用户提供的图层数据；kzgis 分析成果"
    more = " 等" if len(seen) > 5 else ""
    return "；".join(seen[:5]) + more + "；kzgis 分析成果"


def _file_name(town: str, used: set) -> str:
    from .._text import safe_filename

    base = re.sub(r"[^\w\u3400-\u9fff-]+", "_", str(town)).strip("_") or "town"
    name = safe_filename(f"town_{base}", ".html")  # long names: shortened with a stable hash
    i = 2
    while name in used:
        name = safe_filename(f"town_{base}_{i}", ".html")
        i += 1
    used.add(name)
    return name


def _default_visibility(items: list[Item], county: bool = False) -> dict[str, bool]:
    keys = {it.key for it in items}
    show = {}
    for it in items:
        rule = styles.rule_for(it.key)
        show[it.key] = rule.get("show", True) and not (county and rule.get("show_county") is False)
    for group in EXCLUSIVE:
        present = [k for k in group if k in keys]
        for k in present[1:]:
            show[k] = False
    for k, by in SUPERSEDED.items():
        if k in show and by in keys:
            show[k] = False
    return show


def _overlay_sort_key(it: Item):
    rule = styles.rule_for(it.key)
    group = rule.get("group", "other") if it.is_result else "base"
    return (styles.group_rank(group), group, -rule.get("order", 60))


# ------------------------------------------------------------------------------------------------
# one map


@dataclass
class MapPlan:
    page: _html.PageInfo
    tolerance_m: float
    clip: object = None  # projected polygon (township + margin)
    focus: object = None  # projected polygon (the township itself)
    label_points: tuple = ()  # (label GeoJSON, css class, name, show)
    hillshade_px: int = 1600
    decimals: int = 5


class RunCache:
    """What every map of one run shares, made when first needed: each layer prepared for display
    (:class:`_display.DisplayLayer`, once per layer and outline variant) and the DEM hillshade
    warped to Web Mercator (:class:`_display.HillshadeSource`)."""

    def __init__(self, layers):
        self.layers = layers
        self._display: dict = {}
        self._hillshade = None

    def display(self, it: Item, outline: bool) -> _display.DisplayLayer:
        key = (it.key, it.is_result, outline)
        if key not in self._display:
            gdf = styles.display_frame(it.key, it.gdf)
            if outline:
                # outline-only polygons (county, townships) on township maps: clip their boundary
                # lines, so the clip edge does not show up as a boundary
                gdf = gdf.set_geometry(gdf.geometry.boundary)
            self._display[key] = _display.DisplayLayer(it.key, gdf, styles.rule_for(it.key, gdf))
        return self._display[key]

    def forget(self, tolerance_m: float):
        """Drop every layer's geometries and GeoJSON prepared for this display tolerance."""
        for layer in self._display.values():
            layer.forget(tolerance_m)

    def hillshade(self, dem) -> _display.HillshadeSource:
        if self._hillshade is None or self._hillshade.dem is not dem:
            self._hillshade = _display.HillshadeSource(dem)
        return self._hillshade


def render_map(items: list[Item], layers, opts: MapOptions, plan: MapPlan,
               cache: RunCache | None = None) -> tuple[str, list[str]]:
    """The HTML of one map and the layer-control names of its overlays (in control order).

    ``cache`` carries the layers prepared for display between the maps of one run."""
    crs = layers.crs
    cache = cache or RunCache(layers)
    clip = plan.clip
    if clip is not None:
        shapely.prepare(clip)
    show = _default_visibility(items, county=clip is None)
    prepared = _prepare_overlays(items, plan, cache)
    west, south, east, north = _extent(prepared, layers, clip)
    bounds = [[south, west], [north, east]]

    fig = Figure(title=escape(plan.page.title + " · " + plan.page.subtitle))
    m = _Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=10, tiles=None,
             prefer_canvas=True, control_scale=False, zoom_snap=0.25, zoom_delta=0.5)
    fig.add_child(m)
    _Runtime().add_to(m)

    online = not opts.offline
    gcj_names = _add_basemaps(m, opts) if online else []
    legend_sections, control_names = _add_overlays(m, prepared, plan, show)
    control_names += _add_label_layers(m, plan)
    if plan.focus is not None and clip is not None:
        _add_focus_mask(m, plan, crs)
    drew_hillshade = _add_hillshade(m, layers, opts, plan, cache, (west, south, east, north), control_names)

    lc = _LayerControl(position="topright", collapsed=False)
    lc.add_to(m)
    _Fullscreen(position="topleft", title="全屏显示", title_cancel="退出全屏").add_to(m)
    _Measure(position="topleft", primary_length_unit="meters", secondary_length_unit="kilometers",
             primary_area_unit="sqmeters", secondary_area_unit="hectares", localization="cn").add_to(m)
    _add_chrome(m, lc, plan, opts, crs, legend_sections, gcj_names, drew_hillshade, (west, south, east, north),
                bounds)
    return _page_html(fig, opts), control_names


def _prepare_overlays(items: list[Item], plan: MapPlan, cache: RunCache) -> list[tuple]:
    """``(item, display layer, view)`` of every layer with something to draw, in layer-control order."""
    clip = plan.clip
    prepared = []
    keys = {it.key for it in items}
    for it in sorted(items, key=_overlay_sort_key):
        if clip is None and not it.is_result and _dense.SUPERSEDED_DENSE.get(it.key) in keys \
                and len(it.gdf) > _dense.DENSE_FEATURES:
            continue  # a dense input layer that a result redraws: township maps only
        layer = cache.display(it, outline=bool(styles.rule_for(it.key).get("outline")) and clip is not None)
        view = layer.view(plan.tolerance_m, clip=clip, decimals=plan.decimals)
        if not len(view):
            continue
        prepared.append((it, layer, view))
    return prepared


def _extent(prepared: list[tuple], layers, clip) -> tuple[float, float, float, float]:
    """The map's WGS 84 extent: the clip polygon, else the county/boundary, else everything drawn."""
    crs = layers.crs
    if clip is not None:
        ext = shapely.total_bounds(_display.to_wgs84([shapely.box(*shapely.bounds(clip))], crs))
    else:
        frames = [v for it, _, v in prepared if it.key in ("county", "boundary")] or [v for _, _, v in prepared]
        if frames:
            b = np.array([f.total_bounds for f in frames])
            ext = np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
        elif layers.get("dem") is not None:
            ext = shapely.total_bounds(_display.to_wgs84([shapely.box(*layers["dem"].bounds)], crs))
        else:
            ext = np.array([108.0, 30.8, 108.9, 31.7])  # Kaizhou
    west, south, east, north = (float(v) for v in ext)
    return west, south, east, north


def _add_basemaps(m, opts: MapOptions) -> list[str]:
    """Add the online tile basemaps (the chosen one shown); returns the names of the GCJ-02 ones."""
    gcj_names = []
    key = opts.resolved_tianditu_key()
    wanted = opts.basemap
    if wanted == "tianditu" and not key:
        log.warning("maps: 天地图 needs a key (outputs.maps.tianditu_key or the environment variable "
                    "TIANDITU_KEY); showing OpenStreetMap first")
        wanted = "osm"
    order = [k for k in ("tianditu_vec", "tianditu_img", "amap", "amap_img", "osm")
             if key or not k.startswith("tianditu")]
    first = {"tianditu": "tianditu_vec", "amap": "amap", "osm": "osm"}[wanted]
    for tk in order:
        title, urls, subs, attr, gcj = TILES[tk]
        tiles = []
        for u in urls:
            u = u + key if u.endswith("tk=") else u
            opt = {"attribution": attr, "maxZoom": 18, "minZoom": 3}
            if subs:
                opt["subdomains"] = subs
            tiles.append(f"L.tileLayer({json.dumps(u)}, {json.dumps(opt, ensure_ascii=False)})")
        js = tiles[0] if len(tiles) == 1 else "L.layerGroup([" + ", ".join(tiles) + "])"
        _JsLayer(_display.script_safe(js), name=title, overlay=False, show=(tk == first)).add_to(m)
        if gcj:
            gcj_names.append(title)
    return gcj_names


def _add_overlays(m, prepared: list[tuple], plan: MapPlan, show: dict) -> tuple[list, list[str]]:
    """Add the thematic overlays, results first; returns their legend sections and control names."""
    legend_sections = []
    control_names = []
    used_names = set()
    for it, layer, view in prepared:
        rule = layer.rule
        kind = view.kind
        cls = styles.classify(it.key, view.style_frame, kind, rule=rule)
        title = rule.get("title", it.key)
        name = escape(title)
        if name in used_names:
            name = escape(f"{title}（{it.key}）")
        used_names.add(name)
        js = _overlay_js(it, layer, view, cls, name, plan)
        visible = show.get(it.key, True)
        _JsLayer(js, name=name, overlay=True, show=visible).add_to(m)
        control_names.append(name)
        if it.key not in ("county", "boundary"):
            legend_sections.append(_html.LegendSection(it.key, title, kind, cls.legend, show=visible))
        else:
            legend_sections.append(_html.LegendSection(it.key, title, "line", cls.legend[:1], show=visible))
    return legend_sections, control_names


def _overlay_js(it: Item, layer, view, cls, name: str, plan: MapPlan) -> str:
    """The JavaScript drawing one overlay: plain GeoJSON, or packed and built when shown (dense county)."""
    rule = layer.rule
    kind = view.kind
    clip = plan.clip
    leaflet_styles = []
    for st in cls.styles:
        st = dict(st)
        if "symbol" in st:
            st["icon"] = styles.symbol_svg(st)
        leaflet_styles.append(st)
    fields = layer.fields
    group = rule.get("group", "other") if it.is_result else "base"
    spec = {"key": it.key, "name": name, "group": group, "order": rule.get("order", 60),
            "interactive": rule.get("interactive", True), "styles": leaflet_styles,
            "fields": [escape(lab) for _, lab in fields]}
    labels = plan.clip is not None or rule.get("label_county", False)  # point labels: township maps
    if clip is None and _dense.is_dense(view):  # county map: generalised, compressed, built when shown
        if kind == "line":
            data = _dense.lines_by_class(view, cls, plan.decimals)
            spec["noPopup"] = True
        elif kind == "point":
            data = layer.collection(view, cls, labels=labels)
            spec["cluster"] = {"detailZoom": _dense.DETAIL_ZOOM, "cellPx": 56,
                               "labels": [escape(str(lab)) for lab in cls.labels]}
        else:
            data = _dense.polygons_by_class(view, cls, plan.decimals)
            spec["interactive"] = False
        return f"kz.packed({json.dumps(_dense.pack(data))}, {_display.safe_json(spec)})"
    data = layer.collection(view, cls, labels=labels)
    return f"kz.overlay({data}, {_display.safe_json(spec)})"


def _add_label_layers(m, plan: MapPlan) -> list[str]:
    """Add the label layers (township names, settlement names); returns their control names."""
    names = []
    for data, css, lname, lshow in plan.label_points:
        spec = {"key": "labels:" + lname, "name": escape(lname), "group": "base", "order": 200, "css": css}
        _JsLayer(f"kz.labels({data}, {_display.safe_json(spec)})", name=escape(lname), overlay=True,
                 show=lshow).add_to(m)
        names.append(escape(lname))
    return names


def _add_focus_mask(m, plan: MapPlan, crs):
    """Township focus: fade what lies outside the township (a white veil, not in the layer control)."""
    cb = shapely.bounds(plan.clip)
    big = max(cb[2] - cb[0], cb[3] - cb[1])  # beyond the hillshade (35 % pad) and the screen
    outside = shapely.box(cb[0] - big, cb[1] - big, cb[2] + big, cb[3] + big).difference(plan.focus)
    og = shapely.to_geojson(_display.round_coords(_display.to_wgs84([outside], crs), 5)[0])
    spec = {"key": "mask", "name": "本乡镇以外", "group": "base", "order": 45, "interactive": False,
            "styles": [{"stroke": False, "fill": True, "fillColor": "#ffffff", "fillOpacity": 0.5}],
            "fields": []}
    data = '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":' + og + \
           ',"properties":{"_s":0}}]}'
    _JsLayer(f"kz.overlay({data}, {_display.safe_json(spec)})", name="本乡镇以外（淡化）", overlay=True,
             show=True, control=False).add_to(m)


def _add_hillshade(m, layers, opts: MapOptions, plan: MapPlan, cache: RunCache, extent,
                   control_names: list[str]) -> bool:
    """Add the DEM hillshade (the offline basemap) when asked and there is a DEM; True when drawn."""
    dem = layers.get("dem") if hasattr(layers, "get") else None
    if not (opts.hillshade and dem is not None):
        return False
    online = not opts.offline
    clip = plan.clip
    hb = shapely.bounds(clip) if clip is not None else None
    if hb is not None:  # a township: cover the screen around it too
        pad = 0.35 * max(hb[2] - hb[0], hb[3] - hb[1])
        hb = (hb[0] - pad, hb[1] - pad, hb[2] + pad, hb[3] + pad)
    else:
        import geopandas as gpd

        hb = gpd.GeoSeries([shapely.box(*extent)], crs=_display.WGS84).to_crs(dem.crs).total_bounds
        pad = 0.03 * max(hb[2] - hb[0], hb[3] - hb[1])
        hb = (hb[0] - pad, hb[1] - pad, hb[2] + pad, hb[3] + pad)
    img = cache.hillshade(dem).image(hb, max_px=plan.hillshade_px)
    if img is None:
        return False
    uri, ib = img
    spec = {"key": "hillshade", "name": "地形晕渲（DEM）", "group": "base", "order": 1}
    js = (f"kz.register(L.imageOverlay({json.dumps(uri)}, {json.dumps(ib)}, "
          f"{{opacity: {0.95 if not online else 0.55}, interactive: false, className: 'kz-hillshade'}}), "
          f"{_display.safe_json(spec)})")
    _JsLayer(js, name="地形晕渲（DEM）", overlay=True, show=not online).add_to(m)
    control_names.append("地形晕渲（DEM）")
    return True


def _add_chrome(m, lc, plan: MapPlan, opts: MapOptions, crs, legend_sections, gcj_names, drew_hillshade: bool,
                extent, bounds):
    """Add the title block, legend and the page script's configuration (bounds, GCJ-02 grid, GK read-out)."""
    online = not opts.offline
    west, south, east, north = extent
    note = (("底图：数字高程模型地形晕渲（离线）" if drew_hillshade else "无 DEM：无地形晕渲底图（离线）") if not online else
            "切换到高德底图时，专题图层自动由CGCS2000偏移到GCJ-02显示")
    body = _html.title_block(plan.page) + _html.legend(legend_sections, note=note)
    groups = styles.group_titles(styles.rule_for(sec.key).get("group") for sec in legend_sections)
    cfg = {"review": plan.page.review, "groups": groups, "bounds": bounds,
           "gcjBases": gcj_names, "startGcj": online and opts.basemap == "amap"}
    if gcj_names:
        cfg["gcj"] = _display.gcj_grid(west, south, east, north)
    gk = _gk_params(crs)
    if gk:
        cfg["gk"] = gk
    _Chrome(body, lc.get_name(), _display.safe_json(cfg)).add_to(m)


def _page_html(fig, opts: MapOptions) -> str:
    """The figure rendered as one self-contained page (assets inlined; offline: no external reference)."""
    html = fig.render()
    html = _assets.inline(html)
    html = html.replace("<html>", '<html lang="zh-CN">', 1)
    html = html + "\n" + _assets.licence_comment() + "\n"
    if opts.offline:
        bad = [r for r in _assets.external_references(html) if not r.startswith("local:")]
        if bad:
            raise _assets.AssetError(f"offline map still refers to external resources: {bad[:5]}")
    return html


def _gk_params(crs) -> dict | None:
    """Parameters of a Gauss-Kruger (transverse Mercator) working CRS for the mouse read-out."""
    try:
        op = crs.coordinate_operation
        if op is None or op.method_name != "Transverse Mercator":
            return None
        par = {p.name: float(p.value) for p in op.params}
        if par.get("Latitude of natural origin", 0.0) != 0.0:
            return None
        lon0 = par["Longitude of natural origin"]
        ell = crs.ellipsoid
        name = crs.name
        if "CGCS2000" in name and "Gauss" in name:
            name = f"CGCS2000 高斯-克吕格 中央经线{lon0:g}°E"
        return {"lon0": lon0, "k0": par.get("Scale factor at natural origin", 1.0),
                "x0": par.get("False easting", 0.0), "y0": par.get("False northing", 0.0),
                "a": float(ell.semi_major_metre), "f": 1.0 / float(ell.inverse_flattening), "name": name}
    except Exception:  # an unusual CRS: lon/lat only
        return None


# ------------------------------------------------------------------------------------------------
# all maps


def write_maps(layers, results, out_dir, opts: MapOptions | None = None, title: str = "开州区",
               towns=None, town_runner=None, towns_only: bool = False) -> list[Path]:
    """Write the county map, one map per township and ``index.html`` into ``out_dir``.

    Parameters
    ----------
    layers : kzgis.layers.Layers (working projected CRS; ``dem`` optional)
    results : dict result name -> GeoDataFrame (tables without geometry are skipped)
    out_dir : folder to write into (created)
    opts : :class:`MapOptions` (default: offline, county + all townships)
    title : the district's name for titles
    towns : limit the township maps to these names (and the ``towns`` option, if both given,
        to the names in both)
    town_runner : callable ``(jobs, out_dir)`` that writes the township maps elsewhere (a Dask cluster,
        :mod:`kzgis.batch`); ``jobs`` is the list of ``(town, file name)`` in serial order and each
        file must exist in ``out_dir`` when it returns. Default: render them here, one by one.
    towns_only : write only the township maps (no county map, no index): the part a worker runs.

    Returns the written paths, ``index.html`` first (with ``towns_only``: the township maps only).
    """
    opts = opts or MapOptions()
    if not opts.enabled:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = collect(layers, results)
    pages = _Pages(opts, title, layers, results)
    boundary = _town_boundary(layers)
    written_county = None
    town_files = []
    cache = RunCache(layers)
    town_names = town_points = None
    if boundary is not None:
        bw = boundary.to_crs(_display.WGS84)
        town_names = bw["town"].astype(str)
        town_points = shapely.point_on_surface(np.asarray(bw.geometry.values, dtype=object))

    if opts.county and not towns_only:
        labels = ()
        if boundary is not None:
            labels = ((_display.label_collection(town_points, town_names.tolist()), "", "乡镇（街道）名称", True),)
        written_county = _write_county_map(items, layers, opts, pages, labels, cache, out_dir)

    if opts.townships and boundary is not None:
        town_files = _write_town_maps(items, layers, results, opts, pages, cache, out_dir, boundary,
                                      town_names, town_points, towns, town_runner)
    if towns_only:
        return [p for _, p in town_files]

    _write_index(items, layers, opts, pages, written_county, town_files, out_dir)
    paths = [out_dir / "index.html"]
    if written_county:
        paths.append(written_county)
    paths += [p for _, p in town_files]
    return paths


class _Pages:
    """What every page of one run shows in its title block: title, sources, date, synthetic flag, review."""

    def __init__(self, opts: MapOptions, title: str, layers, results):
        self.opts = opts
        self.base_title = opts.title or title or "开州区"
        self.date = opts.date or _dt.date.today().isoformat()
        self.sources = opts.sources or _sources_text(layers)
        self.synthetic = _is_synthetic(layers, results) if opts.synthetic == "auto" else bool(opts.synthetic)
        self.review = opts.review_text

    def page(self, subtitle, nav) -> _html.PageInfo:
        """The title-block information of one map page."""
        return _html.PageInfo(title=_html.main_title(self.base_title), subtitle=subtitle, sources=self.sources,
                              date=self.date, synthetic=self.synthetic, review=self.review, nav=nav,
                              online=not self.opts.offline)


def _town_boundary(layers):
    """The township boundary layer when there is one with a ``town`` column, else None."""
    boundary = layers["boundary"] if hasattr(layers, "has") and layers.has("boundary") else None
    if boundary is not None and "town" not in boundary.columns:
        boundary = None
    return boundary


def _write_county_map(items, layers, opts: MapOptions, pages: _Pages, labels, cache: RunCache,
                      out_dir: Path) -> Path:
    """Write ``county.html``, simplifying more (up to 5 tries) while it is over ``max_size_mb``."""
    tol = opts.simplify_m
    px = opts.hillshade_px
    for _attempt in range(5):
        plan = MapPlan(page=pages.page("全域总图", [("地图索引", "index.html")]), tolerance_m=tol,
                       label_points=labels, hillshade_px=px)
        html, _names = render_map(items, layers, opts, plan, cache)
        size_mb = len(html.encode("utf-8")) / 1e6
        if size_mb <= opts.max_size_mb:
            break
        log.warning("maps: county map is %.1f MB (> %.1f MB) at a %.0f m display tolerance; simplifying more",
                    size_mb, opts.max_size_mb, tol)
        if tol != opts.simplify_town_m:
            cache.forget(tol)
        tol = max(tol * 3, 5.0)
        px = max(int(px * 0.7), 400)
    (out_dir / "county.html").write_text(html, encoding="utf-8")
    del html
    if opts.townships and tol != opts.simplify_town_m:
        cache.forget(tol)
    return out_dir / "county.html"


def _wanted_towns(towns, opts: MapOptions, all_towns) -> set | None:
    """The township names both ``towns`` and the ``towns`` option ask for (None: all); warns of unknown ones."""
    wanted = None
    for limit in (towns, opts.towns):
        if limit:
            names = {str(t) for t in ([limit] if isinstance(limit, str) else limit)}
            wanted = names if wanted is None else wanted & names
    if wanted is not None:
        missing = sorted(wanted - set(all_towns))
        if missing:
            log.warning("maps: townships not in the boundary layer: %s", ", ".join(missing))
    return wanted


def _label_source(layers, results):
    """The first settlements layer (input or result) with names, for the settlement labels; else None."""
    import geopandas as gpd

    for k in ("settlements", "access_settlements", "response_settlements"):
        src = layers.get(k) if k in layers else (results or {}).get(k)
        if isinstance(src, gpd.GeoDataFrame) and "name" in src.columns and len(src):
            return src
    return None


class _SettlementLabels:
    """Settlement name labels, found by township clip polygon through a spatial index."""

    def __init__(self, src):
        geoms = np.asarray(src.geometry.values, dtype=object)
        self.tree = shapely.STRtree(geoms)
        self.points = _display.to_wgs84(shapely.point_on_surface(geoms), src.crs)
        self.names = src["name"].astype(str).to_numpy(dtype=object)

    def layer(self, clip):
        """The label layer of the settlements meeting ``clip``, or None when there are none."""
        sub = np.sort(self.tree.query(clip, predicate="intersects"))
        if not len(sub):
            return None
        return (_display.label_collection(self.points[sub], self.names[sub].tolist()), "kz-label-small",
                "居民点名称", True)


def _write_town_maps(items, layers, results, opts: MapOptions, pages: _Pages, cache: RunCache, out_dir: Path,
                     boundary, town_names, town_points, towns, town_runner) -> list[tuple]:
    """Write one map per wanted township (here, or through ``town_runner``); returns ``(town, path)`` pairs."""
    all_towns = boundary["town"].dropna().astype(str)
    wanted = _wanted_towns(towns, opts, all_towns)
    used = {"index.html", "county.html"}
    seen = set()
    label_src = _label_source(layers, results)
    town_tree = shapely.STRtree(np.asarray(boundary.geometry.values, dtype=object))
    settlement_labels = _SettlementLabels(label_src) if label_src is not None else None
    town_files = []
    pending = []
    for town in all_towns:
        if town in seen or (wanted is not None and town not in wanted):
            continue
        seen.add(town)
        geom = shapely.union_all(boundary.geometry[town_names.to_numpy() == town].values)
        if geom is None or geom.is_empty:
            continue
        clip = geom.buffer(opts.margin_m)
        shapely.prepare(clip)
        near = np.sort(town_tree.query(clip, predicate="intersects"))
        labels = [(_display.label_collection(town_points[near], town_names.iloc[near].tolist()), "",
                   "乡镇（街道）名称", True)]
        if settlement_labels is not None:
            extra = settlement_labels.layer(clip)
            if extra is not None:
                labels.append(extra)
        fname = _file_name(town, used)
        if town_runner is not None:
            pending.append((town, fname))
            continue
        nav = [("地图索引", "index.html")] + ([("全域总图", "county.html")] if opts.county else [])
        plan = MapPlan(page=pages.page(town, nav), tolerance_m=opts.simplify_town_m, clip=clip, focus=geom,
                       label_points=tuple(labels), hillshade_px=min(opts.hillshade_px, 1400), decimals=6)
        html, _ = render_map(items, layers, opts, plan, cache)
        (out_dir / fname).write_text(html, encoding="utf-8")
        town_files.append((town, out_dir / fname))
    if pending:
        town_runner(pending, out_dir)
        town_files = [(t, out_dir / f) for t, f in pending]
    return town_files


def _write_index(items, layers, opts: MapOptions, pages: _Pages, written_county, town_files, out_dir: Path):
    """Write ``index.html``: links to the county and township maps with their sizes, the results drawn."""
    titles = []
    for it in items:
        if it.is_result:
            t = styles.rule_for(it.key).get("title", it.key)
            if t not in titles:
                titles.append(t)
    index = _html.index_page(
        pages.base_title, pages.date, pages.sources, pages.synthetic, pages.review,
        (written_county.name, written_county.stat().st_size) if written_county else None,
        [(t, p.name, p.stat().st_size) for t, p in town_files], opts.offline, titles,
        hillshade=bool(opts.hillshade and (layers.get("dem") if hasattr(layers, "get") else None) is not None))
    (out_dir / "index.html").write_text(index, encoding="utf-8")


__all__ = ["write_maps", "render_map", "collect", "Element"]
