"""Dense layers on the county map (issue 14): generalised, compressed, built when first shown.

A real county has ~100,000 road edges and ~5,500 settlements. Drawn one by one on the county map
they make a 70 MB page that takes 12 s and 1.3 GB of browser memory to open, and settlements cover
the county like a blanket. On the county map (never on township maps, which keep every feature
with its popup) a layer with more than :data:`DENSE_FEATURES` features is drawn instead as:

- **lines** (roads by vehicle class, barrier edges...): one multi-line per class of the legend; its
  tooltip gives the class, the number of pieces and their length. Minor roads (村道, 机耕道...) are
  drawn from zoom :data:`MINOR_ZOOM` on. The township maps carry every road with its popup.
- **points** (settlements, hydrants, checkpoints...): every point with its popup, aggregated on a
  screen grid below zoom :data:`DETAIL_ZOOM` (a circle per grid cell sized by how many points it
  holds, coloured by its most common class; a click zooms in), every point from that zoom on.
- **polygons** (barrier bands...): the polygons of each legend class joined per ~2 km grid cell, not
  clickable (18,807 barrier bands drawn one by one made each pan of the county map twice as slow).

The layer's GeoJSON is gzip-compressed and base64-encoded into the page and decoded by the
browser's ``DecompressionStream`` (Chromium 80+, Firefox 113+, Safari 16.4+) only when the layer is
first shown, so layers that open hidden cost neither time nor memory.
"""

from __future__ import annotations

import base64
import gzip

import numpy as np
import shapely

from . import _display

#: a layer with more features than this is drawn generalised on the county map
DENSE_FEATURES = 2500
#: points aggregated below this zoom level on the county map
DETAIL_ZOOM = 13
#: road classes drawn on the county map only from MINOR_ZOOM on (when a dense layer has road_class)
MINOR_ROADS = ("村道", "机耕道", "步道", "台阶", "未知")
MINOR_ZOOM = 12
#: grid cell (degrees, ~2 km) within which a dense polygon layer's polygons are drawn as one feature
#: (100k-edge county, 18,807 barrier bands: main-thread time of a pan step ~300 ms drawn one by one,
#: ~130 ms by 0.02-degree cells, ~150 ms by 0.05, ~210 ms by 0.1, 2,200 ms as one feature per class)
CELL_DEG = 0.02
#: input layers left off the county map when the named result redraws them and the layer is dense
SUPERSEDED_DENSE = {"roads": "access_roads", "hydrants": "water_sources", "settlements": "access_settlements"}


def is_dense(view) -> bool:
    return len(view) > DENSE_FEATURES


def pack(text: str) -> str:
    """gzip + base64 of the text (what ``kz.packed`` in kzmap.js decodes)."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")


def lines_by_class(view, cls, decimals: int) -> str:
    """GeoJSON: one MultiLineString per style class of a line layer's view, with a tooltip.

    Roads of a minor class (:data:`MINOR_ROADS`, when the layer has ``road_class``) make separate
    features marked ``"_z": MINOR_ZOOM``: the map shows them from that zoom on (the county at a
    glance shows the main roads; the village-road mesh appears as one zooms in).
    """
    idx = np.asarray(cls.index)
    wgs = np.asarray(view.wgs84, dtype=object)
    labels = [lab for lab, _ in cls.legend]
    length_km = shapely.length(view.layer.geoms[view.pos]) / 1000.0 if len(view) else np.zeros(0)
    attrs = view.layer.attrs
    minor = np.zeros(len(view), dtype=bool)
    if "road_class" in attrs.columns:
        minor = attrs["road_class"].iloc[view.pos].isin(MINOR_ROADS).to_numpy(dtype=bool)
    feats = []
    for low in (False, True):
        for s in np.unique(idx):
            m = (idx == s) & (minor == low)
            if not m.any():
                continue
            parts = shapely.get_parts(wgs[m])
            parts = parts[shapely.get_type_id(parts) == 1]
            if not len(parts):
                continue
            geom = shapely.multilinestrings(_display.round_coords(parts, decimals))
            label = labels[s] if s < len(labels) else ""
            what = "（村道、机耕道等，放大后显示）" if low else ""
            tip = f"{label}{what}：{int(m.sum()):,} 段，{float(length_km[m].sum()):,.1f} 公里（逐段属性见乡镇图）"
            feats.append('{"type":"Feature","geometry":' + shapely.to_geojson(geom) + ',"properties":{"_s":'
                         + str(int(s)) + (f',"_z":{MINOR_ZOOM}' if low else "")
                         + ',"_t":' + _display.script_safe(_display.json_str(_display.escape(tip))) + "}}")
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


def polygons_by_class(view, cls, decimals: int, cell_deg: float = CELL_DEG) -> str:
    """GeoJSON: the polygons of a layer's view joined per style class and grid cell (no dissolve).

    One multi-polygon per class and :data:`CELL_DEG` cell: a browser fills one huge path slowly (all
    18,807 barrier bands as 4 features made a pan 25 times slower), and many tiny features cost
    Leaflet's per-feature work; cells of a few km keep both small. Drawn not clickable on the county
    map; the township maps carry every polygon with its popup.
    """
    idx = np.asarray(cls.index)
    wgs = np.asarray(view.wgs84, dtype=object)
    feats = []
    for s in np.unique(idx):
        parts = shapely.get_parts(wgs[idx == s])
        parts = parts[shapely.get_type_id(parts) == 3]
        if not len(parts):
            continue
        pts = shapely.get_coordinates(shapely.point_on_surface(parts))
        cell = np.floor(pts / cell_deg).astype(np.int64)
        key = cell[:, 0] * 1_000_003 + cell[:, 1]
        order = np.argsort(key, kind="stable")
        splits = np.flatnonzero(np.diff(key[order])) + 1
        for group in np.split(order, splits):
            geom = shapely.multipolygons(_display.round_coords(parts[group], decimals))
            feats.append('{"type":"Feature","geometry":' + shapely.to_geojson(geom) + ',"properties":{"_s":'
                         + str(int(s)) + "}}")
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"
