"""Static map figures (PNG) for the report, drawn with matplotlib from the same layers as the tables.

Every figure shows the township boundary (neighbours in grey), a legend below the map, a scale bar
and a north arrow, and a 示意数据 stamp when the data is synthetic. Chinese text needs a CJK font
(Debian: ``apt-get install fonts-noto-cjk``); without one the figures are still drawn, with a
warning, and Chinese characters may show as boxes.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from functools import lru_cache

import numpy as np
from shapely.geometry import box as box_

from .._labels import VALUES_ZH, VEHICLE_ORDER, value_zh
from ._scope import is_geo

log = logging.getLogger(__name__)

VEHICLE_COLORS = {"standard": "#1a9641", "small": "#2b83ba", "motorcycle": "#f28e2b", "none": "#d7191c"}
VEHICLE_WIDTHS = {"standard": 1.6, "small": 1.2, "motorcycle": 0.9, "none": 0.6}
FOREST = "#cfe8c4"
WATER = "#9ecae1"
URBAN = "#f4c7c3"
STATION = "#c00000"
BAND_COLORS = {"工程阻隔": "#e6550d", "生物阻隔": "#31a354", "天然阻隔": "#3182bd", "道路阻隔": "#756bb1",
               "待定": "#969696"}

_CJK_NAMES = ("Noto Sans CJK SC", "Noto Sans CJK", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
              "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Noto Serif CJK SC",
              "AR PL UMing CN", "Droid Sans Fallback")


_CJK_FILES = ("notosanscjk", "sourcehansans", "wqy-microhei", "wqy-zenhei", "msyh", "simhei", "notoserifcjk",
              "sourcehanserif", "simsun", "droidsansfallback", "uming", "ukai")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Name of an installed font with Chinese glyphs (``None`` when there is none).

    Looks in matplotlib's font list first, then among the system font files (matplotlib's cache
    may predate a font installed later, e.g. ``apt-get install fonts-noto-cjk``) and registers the
    first one found.
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for n in _CJK_NAMES:
        if n in names:
            return n
    try:
        files = font_manager.findSystemFonts()
    except Exception:  # noqa: BLE001 - no fontconfig
        files = []
    ranked = []
    for path in files:
        low = path.lower().replace("_", "").replace(" ", "")
        for i, key in enumerate(_CJK_FILES):
            if key in low:
                bold = "bold" in low or "black" in low or "light" in low or "thin" in low
                ranked.append((i, bold, path))
                break
    first = None
    for _, _, path in sorted(ranked):  # regular and bold faces alike, so bold text finds its face
        try:
            font_manager.fontManager.addfont(path)
            first = first or font_manager.FontProperties(fname=path).get_name()
        except Exception:  # noqa: BLE001 - unreadable font file: try the next
            continue
    # a collection (.ttc) registers every face: prefer the Simplified Chinese one
    names = {f.name for f in font_manager.fontManager.ttflist}
    for n in _CJK_NAMES:
        if n in names:
            return n
    return first


_warned = False


def _rc() -> dict:
    global _warned
    font = cjk_font()
    rc = {"font.size": 8, "axes.unicode_minus": False, "savefig.facecolor": "white"}
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    elif not _warned:
        _warned = True
        msg = ("no font with Chinese glyphs found for the report figures (install fonts-noto-cjk); "
               "Chinese text in the figures may show as boxes")
        log.warning(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return rc


def _styled(fn):
    """Run a figure function inside the report's matplotlib style (CJK font for every text object)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_rc()), warnings.catch_warnings():
            # without a CJK font we warned once already; do not repeat it for every glyph
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            return fn(*args, **kwargs)

    return wrapper


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width: 1, 2, 5 x 10^n metres."""
    target = max(span_m / 5.0, 1.0)
    exp = math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * 10 ** exp <= target:
            return m * 10 ** exp
    return 10 ** exp


def _fmt_len(m: float) -> str:
    return f"{m / 1000:g} 公里" if m >= 1000 else f"{m:g} 米"


def _encode_png(rgba, w: int, h: int, dpi: int) -> bytes:
    """PNG with a 256-colour palette: maps over a hillshade are 5x smaller and faster to encode than RGBA.

    zlib level 4: as small within a few per cent as the default level 6, in half the time.
    """
    from PIL import Image

    img = Image.frombytes("RGB", (w, h), rgba, "raw", "RGBX")  # the page is opaque: alpha dropped
    pal = img.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    pal.save(buf, format="PNG", dpi=(dpi, dpi), compress_level=4)
    return buf.getvalue()


# -- geometry prepared for drawing ------------------------------------------------------------


class _Parts:
    """The drawable parts of the rows of one frame that lie in one view.

    ``owner[i]`` is the row position (in the frame) of part ``i``; ``items`` are matplotlib paths
    (polygons: one compound path per row, as geopandas draws them) or vertex arrays (lines), ``xy``
    the coordinates of points. A figure selects from them with a boolean mask over the frame's rows.
    """

    __slots__ = ("owner", "items", "xy")

    def __init__(self, owner, items=None, xy=None):
        self.owner, self.items, self.xy = owner, items, xy

    def pick(self, where):
        """Indices of the parts whose row is selected by ``where`` (None = every row)."""
        if where is None:
            return np.arange(len(self.owner))
        return np.flatnonzero(np.asarray(where, dtype=bool)[self.owner])


def _split(coords, idx):
    """``coords`` grouped by consecutive equal ``idx``: (list of arrays, first position of each group)."""
    cuts = np.flatnonzero(np.diff(idx)) + 1
    return np.split(coords, cuts), np.r_[0, cuts]


def _prepare(frame, mode: str, bounds, tolerance: float):
    """The rows of ``frame`` in the view ``bounds``, cut to it (with a margin) and simplified below
    pixel size, as :class:`_Parts` (``mode``: ``poly``, ``line``, ``outline`` or ``point``)."""
    import shapely
    from matplotlib.path import Path

    geoms = np.asarray(frame.geometry.array, dtype=object)
    xmin, ymin, xmax, ymax = bounds
    try:
        pos = np.sort(frame.sindex.query(box_(xmin, ymin, xmax, ymax)))
    except Exception:  # noqa: BLE001 - odd geometries: take them all
        pos = np.arange(len(frame))
    g = geoms[pos]
    ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
    pos, g = pos[ok], g[ok]
    if not len(pos):
        return None
    if mode == "point":
        if not (shapely.get_type_id(g) == 0).all():
            g = shapely.point_on_surface(g)
        return _Parts(pos, xy=shapely.get_coordinates(g))
    if mode == "outline":
        g = shapely.boundary(g)
    pad = 0.02 * max(xmax - xmin, ymax - ymin)
    try:  # what lies outside the view is not drawn: cut it off before simplifying
        g = shapely.clip_by_rect(g, xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    except Exception:  # noqa: BLE001 - invalid polygons: simplify them whole
        pass
    g = shapely.simplify(g, tolerance, preserve_topology=True)
    parts, row = shapely.get_parts(g, return_index=True)
    types = shapely.get_type_id(parts)
    if mode == "poly":
        sel = types == 3
        parts, row = parts[sel], row[sel]
        if not len(parts):
            return None
        # exterior counter-clockwise, holes clockwise: matplotlib fills by the non-zero rule
        parts = shapely.orient_polygons(parts)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring = shapely.get_coordinates(rings, return_index=True)
        codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
        first = np.r_[0, np.flatnonzero(np.diff(ring)) + 1]
        codes[first] = Path.MOVETO
        codes[np.r_[first[1:] - 1, len(coords) - 1]] = Path.CLOSEPOLY
        coord_row = row[ring_part[ring]]
        verts, start = _split(coords, coord_row)
        cs = np.split(codes, start[1:])
        return _Parts(pos[coord_row[start]], items=[Path(v, c) for v, c in zip(verts, cs)])
    if mode in ("line", "outline"):
        if (types >= 3).any():  # polygons given as lines: their rings
            rings, ring_part = shapely.get_rings(parts[types == 3], return_index=True)
            keep = (types == 1) | (types == 2)
            row = np.r_[row[keep], row[types == 3][ring_part]]
            parts = np.r_[parts[keep], rings]
            order = np.argsort(row, kind="stable")
            parts, row = parts[order], row[order]
        else:
            keep = (types == 1) | (types == 2)
            parts, row = parts[keep], row[keep]
        if not len(parts):
            return None
        coords, part = shapely.get_coordinates(parts, return_index=True)
        if not len(coords):
            return None
        verts, start = _split(coords, part)
        return _Parts(pos[row[part[start]]], items=verts)
    raise ValueError(f"unknown mode {mode!r}")


def clear_caches():
    """Forget the legends and label outlines kept between figures (a run's worth, some MB)."""
    _LEGENDS.clear()
    _TEXT_PATHS.clear()


# -- legends, rendered once per content --------------------------------------------------------

#: (figure width px, dpi, font, legend entries) -> (RGBA pixels of the legend alone, left column, rows
#: between its bottom and the figure's bottom edge); legends are anchored to the bottom centre of figures
#: of the same width, whatever their height
_LEGENDS: dict = {}
_LEGENDS_MAX = 128  # a few hundred kB each


def _blend(dst, rgba):
    """``rgba`` (straight alpha, uint8) over the RGB(A) pixels ``dst``, in place."""
    a = rgba[..., 3:4].astype(np.uint16)
    out = dst[..., :3]
    out[...] = (rgba[..., :3].astype(np.uint16) * a + out.astype(np.uint16) * (255 - a) + 127) // 255


def _scatter(ax, xy, size, marker, face, edge, lw, zorder):
    """What ``ax.scatter(x, y, s=size, color=face, marker=marker, edgecolors=edge, linewidths=lw)`` draws, as the
    PathCollection it makes, without its argument parsing and autoscaling (a quarter of the time)."""
    from matplotlib.collections import PathCollection
    from matplotlib.markers import MarkerStyle
    from matplotlib.transforms import IdentityTransform

    style = MarkerStyle(marker)
    path = style.get_path().transformed(style.get_transform())
    coll = PathCollection((path,), [size], facecolors=face, edgecolors=edge, linewidths=lw, offsets=xy,
                          offset_transform=ax.transData, zorder=zorder)
    coll.set_transform(IdentityTransform())
    return ax.add_collection(coll, autolim=False)


_TEXT_PATHS: dict = {}  # (text, font, size, dpi) -> glyph outlines in pixels, offset 3 points up and right


def _labels(ax, xy, texts, size, color, dpi, family=None):
    """Labels drawn as ``ax.annotate(text, xy, xytext=(3, 3), textcoords="offset points", fontsize=size,
    color=color, path_effects=[withStroke(linewidth=2, foreground="white")])`` draws them (the glyph
    outlines, stroked white then filled), as one collection: no text layout per label, and the
    outlines of a name are made once per run (station names are on every figure)."""
    from matplotlib.collections import PathCollection
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path
    from matplotlib.textpath import text_to_path
    from matplotlib.transforms import IdentityTransform

    prop = FontProperties(family=family, size=size)  # family None: the current style's
    family = tuple(prop.get_family())
    scale = prop.get_size_in_points() * dpi / 72.0 / text_to_path.FONT_SCALE
    shift = 3.0 * dpi / 72.0
    paths, offsets = [], []
    for (x, y), text in zip(xy, texts):
        if not text:
            continue
        key = (text, family, size, dpi)
        path = _TEXT_PATHS.get(key)
        if path is None:
            verts, codes = text_to_path.get_text_path(prop, text)
            path = Path(np.asarray(verts, dtype=float).reshape(-1, 2) * scale + shift, codes)
            if len(_TEXT_PATHS) > 4096:
                _TEXT_PATHS.clear()
            _TEXT_PATHS[key] = path
        paths += [path, path]
        offsets += [(x, y), (x, y)]
    n = len(paths) // 2
    coll = PathCollection(paths, offsets=np.asarray(offsets, dtype=float).reshape(-1, 2),
                          offset_transform=ax.transData, facecolors=[color], edgecolors=["white", "none"] * n,
                          linewidths=[2.0, 0.0] * n, zorder=9)
    coll.set_transform(IdentityTransform())
    ax.add_collection(coll, autolim=False)
    coll.set_clip_on(False)  # text is not clipped to the map frame
    return coll


class MapFigure:
    """One map: extent from a polygon, layers added with a legend entry each, then ``png()``.

    One object serves every figure of a township (same extent): :meth:`reset` removes the layers
    of the previous figure and keeps the furniture (scale bar, north arrow, stamp), the hillshade
    background and the geometry already cut to the view. Layers are drawn as matplotlib collections
    straight from the shapely coordinates; ``where`` (a boolean mask over the frame's rows) draws a
    subset, so that the geometry prepared for a frame serves all its subsets.
    """

    def __init__(self, polygon, *, dpi: int = 130, stamp: str = "", width_in: float = 7.0, margin: float = 0.06,
                 cache: dict | None = None):
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self._rc = _rc()
        self.dpi = dpi
        self.stamp = stamp
        xmin, ymin, xmax, ymax = polygon.bounds
        dx, dy = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
        pad = margin * max(dx, dy)
        self.bounds = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
        aspect = (self.bounds[3] - self.bounds[1]) / (self.bounds[2] - self.bounds[0])
        aspect = min(max(aspect, 0.55), 1.45)
        with matplotlib.rc_context(self._rc):
            # not pyplot: no global state. The figure and axes backgrounds are not drawn: png() paints
            # the white page and the hillshade into the canvas first, then draws the layers over them
            self.fig = Figure(figsize=(width_in, width_in * aspect + 1.1), dpi=dpi)
            self.fig.patch.set_visible(False)
            self.canvas = FigureCanvasAgg(self.fig)
            legend_h = 1.1 / (width_in * aspect + 1.1)
            self.ax = self.fig.add_axes((0.01, legend_h, 0.98, 1 - legend_h - 0.01))
            self.ax.patch.set_visible(False)
            self.ax.set_xlim(self.bounds[0], self.bounds[2])
            self.ax.set_ylim(self.bounds[1], self.bounds[3])
            self.ax.set_aspect("equal", adjustable="box")
            self.ax.set_xticks([])
            self.ax.set_yticks([])
            self.ax.xaxis.set_visible(False)  # no ticks or labels: the axes only frame the map
            self.ax.yaxis.set_visible(False)
            before = set(self.ax.get_children())
            self._scale_bar()
            self._north_arrow()
            if self.stamp:
                self.ax.text(0.99, 0.01, self.stamp, transform=self.ax.transAxes, ha="right", va="bottom",
                             fontsize=7, color="#b00000", zorder=12,
                             bbox=dict(facecolor="white", edgecolor="#b00000", alpha=0.85, pad=2))
            # drawn above every layer (zorder 10-12): rendered once per map (png) and blended on top
            self._furniture = [a for a in self.ax.get_children() if a not in before]
        self.handles: list = []
        self.labels: list[str] = []
        self._keys: list = []
        self._layers: list = []  # artists of the current figure (removed by reset)
        self._shade = None  # (array, extent, cmap, alpha) of the background raster
        self._bg = None  # (key, RGBA array) painted under the layers
        self._over = None  # (key, [(RGBA pixels, row, column)]) of the furniture, blended over the layers
        # the layers cut to this view and simplified to a fraction of a pixel, shared by the figures of one
        # township (they all have the same extent)
        self.cache = {} if cache is None else cache
        self.tolerance = (self.bounds[2] - self.bounds[0]) / (width_in * dpi) / 3.0

    def reset(self):
        """Remove the layers and the legend of the previous figure (furniture and background stay)."""
        for a in self._layers:
            a.remove()
        self._layers.clear()
        for lg in list(self.fig.legends):
            lg.remove()
        self.handles.clear()
        self.labels.clear()
        self._keys.clear()

    # -- helpers -------------------------------------------------------------------------------
    def _parts(self, frame, mode: str):
        if frame is None or not is_geo(frame) or len(frame) == 0:
            return None
        key = (id(frame), len(frame), mode, self.bounds, self.tolerance)
        hit = self.cache.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        out = _prepare(frame, mode, self.bounds, self.tolerance)
        self.cache[key] = (frame, out)  # the frame is kept so its id cannot be reused while cached
        return out

    def _legend(self, handle, label: str, key: tuple = ()):
        if label and label not in self.labels:
            self.handles.append(handle)
            self.labels.append(label)
            self._keys.append((label,) + tuple(key))

    def _add(self, artist):
        self._layers.append(artist)
        return artist

    # -- layers --------------------------------------------------------------------------------
    def raster(self, array, extent, cmap="Greys_r", alpha=0.3):
        """A north-up grid (``extent`` = xmin, xmax, ymin, ymax) under every layer, e.g. the hillshade.

        It is resampled to the map's pixels once (:meth:`_background`), not drawn as an image per figure.
        """
        if array is None:
            return
        self._shade = (array, tuple(float(v) for v in extent), cmap, float(alpha))
        self._bg = None

    def polygons(self, frame, *, where=None, face, edge="none", lw=0.4, alpha=1.0, label="", zorder=1, hatch=None):
        from matplotlib.collections import PathCollection
        from matplotlib.patches import Patch

        p = self._parts(frame, "poly")
        if p is None:
            return False
        idx = p.pick(where)
        if not len(idx):
            return False
        coll = PathCollection([p.items[i] for i in idx], facecolors=face, edgecolors=edge, linewidths=lw,
                              alpha=alpha, zorder=zorder, hatch=hatch)
        self._add(self.ax.add_collection(coll, autolim=False))
        self._legend(Patch(facecolor=face, edgecolor=edge if edge != "none" else face, alpha=alpha, hatch=hatch),
                     label, ("poly", face, edge, alpha, hatch))
        return True

    def outline(self, frame, *, where=None, color="#333333", lw=1.0, ls="-", label="", zorder=5):
        return self._lines(frame, "outline", where, color=color, lw=lw, ls=ls, label=label, zorder=zorder,
                           alpha=1.0, legend_lw=lw)

    def lines(self, frame, *, where=None, color, lw=1.0, ls="-", label="", zorder=3, alpha=1.0):
        return self._lines(frame, "line", where, color=color, lw=lw, ls=ls, label=label, zorder=zorder, alpha=alpha,
                           legend_lw=max(lw, 1.2))

    def _lines(self, frame, mode, where, *, color, lw, ls, label, zorder, alpha, legend_lw):
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        p = self._parts(frame, mode)
        if p is None:
            return False
        idx = p.pick(where)
        if not len(idx):
            return False
        coll = LineCollection([p.items[i] for i in idx], colors=color, linewidths=lw, linestyles=ls, zorder=zorder,
                              alpha=alpha)
        self._add(self.ax.add_collection(coll, autolim=False))
        self._legend(Line2D([], [], color=color, lw=legend_lw, ls=ls, alpha=alpha), label,
                     ("line", color, legend_lw, ls, alpha))
        return True

    def points(self, frame, *, where=None, color, marker="o", size=14, edge="white", label="", zorder=6, lw=0.5):
        from matplotlib.lines import Line2D

        p = self._parts(frame, "point")
        if p is None:
            return False
        idx = p.pick(where)
        if not len(idx):
            return False
        if marker in ("x", "+", "1", "2", "3", "4", "|", "_"):  # unfilled markers have no edge colour
            self._add(_scatter(self.ax, p.xy[idx], size, marker, color, "face", max(lw, 1.0), zorder))
        else:
            self._add(_scatter(self.ax, p.xy[idx], size, marker, color, edge, lw, zorder))
        self._legend(Line2D([], [], ls="none", marker=marker, markersize=math.sqrt(size) + 1,
                            markerfacecolor=color, markeredgecolor=edge if edge != "none" else color), label,
                     ("point", color, marker, size, edge))
        return True

    def labels_at(self, frame, column: str, *, where=None, size=6.5, color="#222222", max_n=40):
        """Text beside each feature (3 points up and right), with a white halo."""
        p = self._parts(frame, "point")
        if p is None or column not in frame.columns:
            return
        idx = p.pick(where)[:max_n]
        texts = frame[column].astype(str).to_numpy()[p.owner[idx]]
        one_line = np.array(["\n" not in t for t in texts], dtype=bool)
        if one_line.any():
            self._add(_labels(self.ax, p.xy[idx][one_line], texts[one_line], size, color, self.dpi,
                              self._rc.get("font.family")))
        if not one_line.all():  # text on several lines: laid out by matplotlib
            import matplotlib
            import matplotlib.patheffects as pe

            stroke = [pe.withStroke(linewidth=2, foreground="white")]
            with matplotlib.rc_context(self._rc):
                for (x, y), text in zip(p.xy[idx][~one_line], texts[~one_line]):
                    self._add(self.ax.annotate(text, (x, y), xytext=(3, 3), textcoords="offset points",
                                               fontsize=size, color=color, zorder=9, path_effects=stroke))

    # -- furniture -----------------------------------------------------------------------------
    def _scale_bar(self):
        from matplotlib.patches import Rectangle

        xmin, xmax = self.ax.get_xlim()
        ymin, ymax = self.ax.get_ylim()
        span = xmax - xmin
        length = _nice_length(span)
        h = (ymax - ymin) * 0.012
        x0 = xmin + span * 0.04
        y0 = ymin + (ymax - ymin) * 0.05
        self.ax.add_patch(Rectangle((x0 - span * 0.015, y0 - h * 2.2), length + span * 0.05, h * 6.2,
                                    facecolor="white", edgecolor="none", alpha=0.8, zorder=10))
        half = length / 2
        self.ax.add_patch(Rectangle((x0, y0), half, h, facecolor="black", edgecolor="black", lw=0.6, zorder=11))
        self.ax.add_patch(Rectangle((x0 + half, y0), half, h, facecolor="white", edgecolor="black", lw=0.6,
                                    zorder=11))
        for x, t in ((x0, "0"), (x0 + half, _fmt_len(half).split()[0]), (x0 + length, _fmt_len(length))):
            self.ax.text(x, y0 + h * 1.6, t, ha="center", va="bottom", fontsize=6.5, zorder=12)

    def _north_arrow(self):
        ax = self.ax
        ax.annotate("", xy=(0.955, 0.97), xytext=(0.955, 0.88), xycoords="axes fraction",
                    arrowprops=dict(facecolor="black", edgecolor="black", width=3, headwidth=10, headlength=10),
                    zorder=12)
        ax.text(0.955, 0.855, "北", transform=ax.transAxes, ha="center", va="top", fontsize=9, fontweight="bold",
                zorder=12)

    # -- rendering -----------------------------------------------------------------------------
    def _background(self, w: int, h: int):
        """White page with the raster (hillshade) resampled to the map's pixels, as the original
        ``imshow(alpha=...)`` over a white axes would draw it; computed once per map."""
        bb = self.ax.bbox
        key = (w, h, round(bb.x0, 3), round(bb.y0, 3), round(bb.x1, 3), round(bb.y1, 3))
        if self._bg is not None and self._bg[0] == key:
            return self._bg[1]
        bg = np.full((h, w, 4), 255, dtype=np.uint8)
        if self._shade is not None:
            try:
                _paint_raster(bg, self._shade, bb, self.ax.get_xlim(), self.ax.get_ylim())
            except Exception as exc:  # noqa: BLE001 - a background must never stop the figure
                log.warning("report figures: no hillshade background (%s)", exc)
        self._bg = (key, bg)
        return bg

    def _overlay(self, renderer, w: int, h: int):
        """The furniture alone as pixels (pieces around each of its parts), drawn once per map."""
        from scipy import ndimage

        bb = self.ax.bbox
        key = (w, h, round(bb.x0, 3), round(bb.y0, 3), round(bb.x1, 3), round(bb.y1, 3))
        if self._over is not None and self._over[0] == key:
            return self._over[1]
        hidden = [a for a in self.ax.get_children() if a.get_visible() and a not in self._furniture]
        hidden += [lg for lg in self.fig.legends if lg.get_visible()]
        for a in hidden:
            a.set_visible(False)
        try:
            renderer.clear()
            self.fig.draw(renderer)
        finally:
            for a in hidden:
                a.set_visible(True)
        rgba = np.asarray(renderer.buffer_rgba())
        # pieces: the drawn parts found on a grid of 8-pixel cells (labelling the cells, not the pixels)
        cell = 8
        hh, ww = -(-h // cell) * cell, -(-w // cell) * cell
        ink = np.zeros((hh, ww), dtype=bool)
        ink[:h, :w] = rgba[..., 3] > 0
        cells = ink.reshape(hh // cell, cell, ww // cell, cell).any(axis=(1, 3))
        labels, _ = ndimage.label(cells, structure=np.ones((3, 3)))
        pieces = []
        for rs, cs in ndimage.find_objects(labels):
            r0, r1, c0, c1 = rs.start * cell, min(rs.stop * cell, h), cs.start * cell, min(cs.stop * cell, w)
            pieces.append((rgba[r0:r1, c0:c1].copy(), r0, c0))
        self._over = (key, pieces)
        return pieces

    def _legend_image(self, renderer, w: int, h: int):
        """The legend as pixels: drawn alone once per content and figure width, then pasted."""
        key = (w, self.dpi, str(self._rc.get("font.family")), tuple(self._keys))
        hit = _LEGENDS.get(key)
        if hit is not None:
            return hit
        ncol = 4 if len(self.handles) > 6 else min(len(self.handles), 3)
        leg = self.fig.legend(self.handles, self.labels, loc="lower center", ncol=ncol, frameon=False, fontsize=7.5,
                              bbox_to_anchor=(0.5, 0.0), title="图例", title_fontsize=8)
        self.ax.set_visible(False)
        try:
            renderer.clear()
            self.fig.draw(renderer)
        finally:
            self.ax.set_visible(True)
        leg.set_visible(False)  # kept on the figure (its texts say what the map shows); drawn from pixels
        bb = leg.get_window_extent(renderer)
        c0, c1 = max(int(math.floor(bb.x0)) - 2, 0), min(int(math.ceil(bb.x1)) + 2, w)
        r0, r1 = max(h - int(math.ceil(bb.y1)) - 2, 0), min(h - int(math.floor(bb.y0)) + 2, h)
        out = (np.asarray(renderer.buffer_rgba())[r0:r1, c0:c1].copy(), c0, h - r1)
        if len(_LEGENDS) >= _LEGENDS_MAX:
            _LEGENDS.clear()
        _LEGENDS[key] = out
        return out

    def png(self) -> bytes:
        import matplotlib

        with matplotlib.rc_context(self._rc):
            self.ax.set_xlim(self.bounds[0], self.bounds[2])
            self.ax.set_ylim(self.bounds[1], self.bounds[3])
            self.ax.set_xlabel("")
            self.ax.set_ylabel("")
            self.ax.apply_aspect()
            renderer = self.canvas.get_renderer()
            w, h = int(renderer.width), int(renderer.height)
            legend = self._legend_image(renderer, w, h) if self.handles else None
            furniture = self._overlay(renderer, w, h)
            renderer.clear()
            buf = np.asarray(renderer.buffer_rgba())
            buf[...] = self._background(w, h)
            for a in self._furniture:
                a.set_visible(False)
            try:
                self.fig.draw(renderer)
            finally:
                for a in self._furniture:
                    a.set_visible(True)
            for pixels, r0, c0 in furniture:  # above every layer, as their zorder says
                _blend(buf[r0:r0 + pixels.shape[0], c0:c0 + pixels.shape[1]], pixels)
            if legend is not None:  # drawn after the axes, as Figure.draw does
                pixels, c0, bottom = legend
                rh, rw = pixels.shape[:2]
                _blend(buf[h - bottom - rh:h - bottom, c0:c0 + rw], pixels)
        return _encode_png(buf, w, h, self.dpi)


def _paint_raster(bg, shade, bb, xlim, ylim):
    """Paint ``shade`` = (array, (xmin, xmax, ymin, ymax), cmap, alpha) into the pixels of the axes box
    ``bb`` of the RGBA page ``bg`` (white), bilinear, normalised to the values in view like ``imshow``."""
    import matplotlib
    from PIL import Image

    array, (xmin, xmax, ymin, ymax), cmap, alpha = shade
    h_img = bg.shape[0]
    rows, cols = array.shape
    dx, dy = (xmax - xmin) / cols, (ymax - ymin) / rows
    c0, c1 = max(int(round(bb.x0)), 0), min(int(round(bb.x1)), bg.shape[1])
    r0, r1 = max(h_img - int(round(bb.y1)), 0), min(h_img - int(round(bb.y0)), h_img)
    if c1 <= c0 or r1 <= r0:
        return
    sx = (xlim[1] - xlim[0]) / bb.width
    sy = (ylim[1] - ylim[0]) / bb.height
    x_l, x_r = xlim[0] + (c0 - bb.x0) * sx, xlim[0] + (c1 - bb.x0) * sx
    y_t, y_b = ylim[0] + (h_img - r0 - bb.y0) * sy, ylim[0] + (h_img - r1 - bb.y0) * sy
    # source window around the view, padded with NaN where it leaves the grid
    a0, a1 = int(math.floor((x_l - xmin) / dx)) - 1, int(math.ceil((x_r - xmin) / dx)) + 1
    b0, b1 = int(math.floor((ymax - y_t) / dy)) - 1, int(math.ceil((ymax - y_b) / dy)) + 1
    win = np.full((b1 - b0, a1 - a0), np.nan, dtype=np.float32)
    i0, i1, j0, j1 = max(b0, 0), min(b1, rows), max(a0, 0), min(a1, cols)
    if i1 <= i0 or j1 <= j0:
        return
    src = np.asarray(array[i0:i1, j0:j1], dtype=np.float32)
    win[i0 - b0:i1 - b0, j0 - a0:j1 - a0] = src
    finite = src[np.isfinite(src)]
    if not finite.size:
        return
    vmin, vmax = float(finite.min()), float(finite.max())
    box = ((x_l - xmin) / dx - a0, (ymax - y_t) / dy - b0, (x_r - xmin) / dx - a0, (ymax - y_b) / dy - b0)
    v = np.asarray(Image.fromarray(win).resize((c1 - c0, r1 - r0), Image.Resampling.BILINEAR, box=box))
    # colour index as matplotlib's colormap lookup (value * 256, clipped); 256 = no data (white)
    nodata = np.isnan(v)
    idx = (v - np.float32(vmin)) * np.float32(256.0 / (vmax - vmin) if vmax > vmin else 0.0)
    np.clip(idx, 0, 255, out=idx)
    idx[nodata] = 256
    idx = idx.astype(np.uint16)
    lut = np.full((257, 3), 255.0)
    lut[:256] = 255.0 * (1.0 - alpha) + matplotlib.colormaps[cmap](np.arange(256))[:, :3] * 255.0 * alpha
    lut = np.round(lut).astype(np.uint8)
    out = bg[r0:r1, c0:c1, :3]
    if (lut[:, 0] == lut[:, 1]).all() and (lut[:, 0] == lut[:, 2]).all():  # a grey ramp: one channel
        out[...] = lut[:, 0][idx][..., None]
    else:
        out[...] = lut[idx]


# ---------------------------------------------------------------------------------------------
# the report's figures


def _derived(run, key, make):
    """A frame or mask derived from the run's layers, made once per run (the figures of every township
    select from the same objects, so the geometry prepared for them is reused)."""
    store = run.__dict__.setdefault("_figure_derived", {})
    if key not in store:
        store[key] = make()
    return store[key]


def _col(run, frame, name: str, column: str, fill):
    """``frame[column]`` with ``fill`` for missing values, as str, computed once per run."""
    return _derived(run, ("col", name, column, fill), lambda: frame[column].fillna(fill).astype(str).to_numpy())


def _base(td, dpi, stamp, hillshade=True):
    run, scope = td.run, td.scope
    key = ("figure", dpi, stamp, hillshade)
    m = td.cache.get(key)
    if m is None:
        m = MapFigure(scope.polygon, dpi=dpi, stamp=stamp, cache=td.cache.setdefault("figure_views", {}))
        if hillshade:
            hs = run_hillshade(run)
            if hs is not None:
                m.raster(*hs)
        td.cache[key] = m
    else:
        m.reset()
    b = run.layer("boundary")
    if b is not None:
        where = ~np.isin(_col(run, b, "boundary", "town", ""), list(scope.towns)) if "town" in b.columns else None
        m.polygons(b, where=where, face="#ffffff", edge="#9a9a9a", lw=0.6, alpha=0.55, zorder=4.5)
    return m


def _frame_boundary(m, td):
    b = td.run.layer("boundary")
    if b is not None and "town" in b.columns:
        m.outline(b, where=np.isin(_col(td.run, b, "boundary", "town", ""), list(td.scope.towns)), color="#222222",
                  lw=1.4, ls="-", label="乡镇（街道）界")


def run_hillshade(run):
    """(array, extent) of the DEM hillshade, computed once per run; None without a DEM."""
    if "hillshade" in run.__dict__:
        return run.__dict__["hillshade"]
    out = None
    dem = run.layers.get("dem") if hasattr(run.layers, "get") else None
    try:
        if dem is not None:
            hs = dem.hillshade()
            step = max(1, int(max(hs.shape) / 2500))
            hs = hs[::step, ::step]
            xmin, ymin, xmax, ymax = dem.bounds
            out = (np.where(np.isfinite(hs), hs, np.nan), (xmin, xmax, ymin, ymax))
    except Exception as exc:  # noqa: BLE001 - a background must never stop the report
        log.warning("report figures: no hillshade background (%s)", exc)
        out = None
    run.__dict__["hillshade"] = out
    return out


def prepare(run):
    """Work every township's figures share, done once before the townships are drawn (and before
    worker processes fork, so that they inherit it): the CJK font and matplotlib's text machinery,
    the hillshade, and the spatial index of every layer and result."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cjk_font()
    run_hillshade(run)
    for frame in list(run.layers.values()) + list(run.results.values()):
        if is_geo(frame) and len(frame):
            try:
                frame.sindex  # noqa: B018 - built and cached on the frame
            except Exception:  # noqa: BLE001 - odd geometries: figures fall back to every row
                pass
    with matplotlib.rc_context(_rc()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = Figure(figsize=(1, 1), dpi=50)
        fig.text(0.1, 0.1, "图例 北 0123456789 公里米", fontsize=8)
        FigureCanvasAgg(fig).draw()


def _planned(run, st, name="stations"):
    if "status" not in st.columns:
        return np.zeros(len(st), bool)
    return _derived(run, ("planned", name), lambda: st["status"].astype(str).str.contains(
        "plan|规划|拟建", case=False, na=False).to_numpy())


def _settlements_plain(m, td, label="居民点", names=False):
    st = td.run.layer("settlements")
    m.points(st, color="#444444", size=12, label=label, zorder=6)
    if names and st is not None:
        mine = td.layer("settlements")
        if mine is not None and 0 < len(mine) <= 40:
            m.labels_at(st, "name", where=st.index.isin(mine.index), size=6, color="#333333")


def _stations(m, td):
    st = td.run.layer("stations")
    if st is None:
        return
    planned = _planned(td.run, st)
    m.points(st, where=~planned, color=STATION, marker="*", size=110, edge="black", label="消防队站（现状）", zorder=8)
    m.points(st, where=planned, color="white", marker="*", size=110, edge=STATION, lw=1.0, label="消防队站（规划）",
             zorder=8)
    m.labels_at(st, "short" if "short" in st.columns else "name", size=7, color=STATION)


@_styled
def fig_status(td, dpi, stamp):
    m = _base(td, dpi, stamp)
    run = td.run
    m.polygons(run.layer("forest"), face=FOREST, label="林地", zorder=1)
    m.polygons(run.layer("urban_area"), face=URBAN, label="城区", zorder=1.2)
    m.polygons(run.layer("water_bodies"), face=WATER, label="水体", zorder=1.5)
    rv = run.layer("rivers")
    if rv is not None and is_geo(rv):
        m.lines(rv, color="#6baed6", lw=1.0, label="河流", zorder=1.6)
    m.lines(run.layer("roads"), color="#7f7f7f", lw=0.7, label="道路", zorder=3)
    _settlements_plain(m, td, names=True)
    m.points(run.layer("hydrants"), color="#08519c", size=10, label="消火栓", zorder=7)
    m.points(run.layer("fire_pools"), color="#08519c", marker="s", size=18, label="消防水池", zorder=7)
    m.points(run.layer("water_intakes"), color="#08519c", marker="^", size=22, label="天然水源取水点", zorder=7)
    _stations(m, td)
    _frame_boundary(m, td)
    return m.png()


@_styled
def fig_access(td, dpi, stamp):
    m = _base(td, dpi, stamp)
    run = td.run
    m.polygons(run.layer("forest"), face=FOREST, alpha=0.6, zorder=1)
    roads = run.result("access_roads")
    if roads is not None:
        vc = _col(run, roads, "access_roads", "vehicle_class", "none")
        for c in reversed(VEHICLE_ORDER):
            m.lines(roads, where=vc == c, color=VEHICLE_COLORS[c], lw=VEHICLE_WIDTHS[c],
                    label=f"道路：{VALUES_ZH['vehicle_class'][c]}", zorder=3 + VEHICLE_ORDER[::-1].index(c) * 0.1)
    up = run.result("access_upgrades")
    if up is not None and is_geo(up):
        m.lines(up, color="#d62fd2", lw=2.6, ls=(0, (3, 1.5)), label="建议拓宽路段", zorder=4, alpha=0.9)
    acc = run.result("access_settlements")
    if acc is not None and is_geo(acc):
        bv = _col(run, acc, "access_settlements", "best_vehicle", "none")
        for c in VEHICLE_ORDER:
            m.points(acc, where=bv == c, color=VEHICLE_COLORS[c], size=20, edge="black",
                     label=f"居民点（可达）：{VALUES_ZH['vehicle_class'][c]}" if c != "none"
                     else "居民点：消防车辆无法到达")
    _stations(m, td)
    _frame_boundary(m, td)
    return m.png()


def _isochrones(run):
    """The response areas drawn: whole areas (not the nested rings) of the recipe's first vehicle class
    (settlements are by the best vehicle), and the column holding their time."""
    iso = run.result("response_isochrones")
    if iso is None or not is_geo(iso):
        return None, None
    if (iso["ring"].astype(str) == "disk").any():
        iso = iso[iso["ring"].astype(str) == "disk"]
    classes = run.param("response", "vehicle_classes")
    vc = str(classes[0]) if classes else "standard"
    if (iso["vehicle_class"].astype(str) == vc).any():
        iso = iso[iso["vehicle_class"].astype(str) == vc]
    return iso, "break_min"


def _marker_handle(marker):
    from matplotlib.lines import Line2D

    return Line2D([], [], ls="none", marker=marker, markersize=math.sqrt(18) + 1, markerfacecolor="#ffffff",
                  markeredgecolor="black")


@_styled
def fig_response(td, dpi, stamp, breaks):
    import matplotlib

    m = _base(td, dpi, stamp)
    run = td.run
    iso, col = _derived(run, "isochrones", lambda: _isochrones(run))
    cmap = matplotlib.colormaps["YlOrRd"]
    if iso is not None:
        t_iso = _derived(run, "isochrone_times", lambda: iso[col].astype(float).to_numpy())
        vals = sorted(set(float(v) for v in iso[col].dropna()), reverse=True)
        for i, v in enumerate(vals):  # largest first, nearest on top and darkest
            shade = cmap(0.15 + 0.7 * (i / max(len(vals) - 1, 1)))
            m.polygons(iso, where=t_iso == v, face=shade, alpha=0.55, label=f"{v:g}分钟到场范围", zorder=1 + i * 0.01)
    m.lines(run.layer("roads"), color="#8c8c8c", lw=0.5, label="道路", zorder=3)
    rs = run.result("response_settlements")
    if rs is not None and is_geo(rs):
        import pandas as pd

        t = _derived(run, "response_times",
                     lambda: pd.to_numeric(rs["time_min"], errors="coerce").fillna(np.inf).to_numpy())
        # colour: time of the best vehicle that reaches it; shape: that vehicle
        vc = rs["vehicle_class"].astype(str).to_numpy()
        shapes = (("standard", "o"), ("small", "s"), ("motorcycle", "^"))
        lo = -math.inf
        edges = list(breaks) + [math.inf]
        for i, hi in enumerate(edges):
            sel = (t > lo) & (t <= hi) & np.isfinite(t)
            label = f"居民点：≤{hi:g}分钟" if lo == -math.inf else (
                f"居民点：{lo:g}～{hi:g}分钟" if math.isfinite(hi) else f"居民点：>{lo:g}分钟")
            colour = cmap(0.95 - 0.85 * i / max(len(edges) - 1, 1))
            for c, mk in shapes:
                m.points(rs, where=sel & (vc == c), color=colour, marker=mk, size=18, edge="black",
                         label=label if c == "standard" else "")
            lo = hi
        for c, mk in shapes[1:]:
            if (np.isfinite(t) & (vc == c)).any():
                m._legend(_marker_handle(mk), f"居民点：{VALUES_ZH['vehicle_class'][c]}到达",
                          ("point", "#ffffff", mk, 18, "black"))
        m.points(rs, where=~np.isfinite(t), color="#000000", marker="x", size=18, edge="none",
                 label="居民点：无法到达")
    _stations(m, td)
    _frame_boundary(m, td)
    return m.png()


@_styled
def fig_water(td, dpi, stamp):
    m = _base(td, dpi, stamp)
    run = td.run
    m.polygons(run.layer("water_bodies"), face=WATER, label="水体", zorder=1.5)
    m.lines(run.layer("roads"), color="#9a9a9a", lw=0.6, label="道路", zorder=3)
    mains = run.layer("water_mains")
    if mains is not None:
        m.lines(mains, color="#2171b5", lw=1.0, ls="--", label="消防给水管网", zorder=3.5)
    src = run.result("water_sources")
    if src is not None and is_geo(src):
        usable = _derived(run, "usable", lambda: src["usable"].fillna(False).astype(bool).to_numpy())
        m.points(src, where=usable, color="#08519c", marker="D", size=16, label="可用消防水源", zorder=7)
        m.points(src, where=~usable, color="#969696", marker="X", size=20, edge="none", label="不可用水源", zorder=7)
    else:
        m.points(run.layer("hydrants"), color="#08519c", size=10, label="消火栓", zorder=7)
        m.points(run.layer("fire_pools"), color="#08519c", marker="s", size=18, label="消防水池", zorder=7)
        m.points(run.layer("water_intakes"), color="#08519c", marker="^", size=22, label="天然水源取水点", zorder=7)
    ws = run.result("water_settlements")
    if ws is not None and is_geo(ws):
        cov = _derived(run, "covered", lambda: ws["covered"].fillna(False).astype(bool).to_numpy())
        m.points(ws, where=cov, color="#41ab5d", size=20, edge="black", label="居民点：水源已覆盖")
        m.points(ws, where=~cov, color="#e31a1c", size=22, edge="black", label="居民点：水源未覆盖")
    sug = run.result("water_suggestions")
    if sug is not None and is_geo(sug):
        m.points(sug, color="#ff7f00", marker="P", size=60, edge="black", label="建议新增消火栓", zorder=8)
        m.labels_at(sug, "rank", size=7, color="#a63603")
    _stations(m, td)
    _frame_boundary(m, td)
    return m.png()


@_styled
def fig_forest(td, dpi, stamp):
    m = _base(td, dpi, stamp)
    run = td.run
    m.polygons(run.layer("forest"), face=FOREST, label="林地", zorder=1)
    m.polygons(run.layer("urban_area"), face=URBAN, label="城区", zorder=1.2)
    m.lines(run.layer("roads"), color="#9a9a9a", lw=0.5, label="道路", zorder=3)
    bands = run.result("barrier_bands")
    if bands is not None and is_geo(bands):
        bt = _derived(run, "barrier_types", lambda: bands["barrier_type"].fillna("undetermined").astype(str).map(
            lambda v: value_zh("barrier_type", v)).to_numpy())
        for t in sorted(set(bt), key=lambda s: list(BAND_COLORS).index(s) if s in BAND_COLORS else 99):
            m.polygons(bands, where=bt == t, face=BAND_COLORS.get(t, "#e6550d"), alpha=0.75,
                       label=f"林火阻隔带：{t}", zorder=2)
    _settlements_plain(m, td)
    cp = run.result("checkpoints")
    if cp is not None and is_geo(cp):
        m.points(cp, color="#ffd700", marker="^", size=55, edge="black", label="森林防火检查站", zorder=8, lw=0.8)
    _frame_boundary(m, td)
    return m.png()


def _pad_points(pads):
    """The pads as points at their centre (the declared ``x``/``y`` columns)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(pads.drop(columns=[pads.geometry.name]),
                            geometry=gpd.points_from_xy(pads["x"], pads["y"]), crs=pads.crs)


@_styled
def fig_heli(td, dpi, stamp):
    m = _base(td, dpi, stamp)
    run = td.run
    m.polygons(run.layer("forest"), face=FOREST, label="林地", zorder=1)
    m.polygons(run.layer("water_bodies"), face=WATER, label="水体", zorder=1.5)
    pl = run.layer("power_lines")
    if pl is not None:
        m.lines(pl, color="#6a3d9a", lw=0.8, ls=(0, (4, 2)), label="电力线", zorder=3)
    dips = run.result("heli_dip_sites")
    if dips is not None and is_geo(dips):
        sel = _derived(run, "dip_selected", lambda: dips["selected"].fillna(False).astype(bool).to_numpy())
        m.points(dips, where=~sel, color="#c6dbef", marker="o", size=26, edge="#08519c", label="取水点（备选）",
                 zorder=7)
        m.points(dips, where=sel, color="#08519c", marker="o", size=50, edge="black", label="直升机取水点（选定）",
                 zorder=8)
    pads = run.result("heli_pads")
    if pads is not None and is_geo(pads):
        import pandas as pd

        if not set(pads.geom_type.unique()) <= {"Point"}:
            m.polygons(pads, face="#fdd0a2", edge="#a63603", lw=0.4, alpha=0.7, zorder=2, label="停机坪候选区")
        pts = _derived(run, "pad_points", lambda: _pad_points(pads))
        first = _derived(run, "pad_first", lambda: (pd.to_numeric(pts["rank"], errors="coerce") == 1).to_numpy())
        m.points(pts, where=first, color="#ff7f00", marker="H", size=70, edge="black",
                 label="直升机停机坪（规划）", zorder=8)
    _stations(m, td)
    _frame_boundary(m, td)
    return m.png()


def _county_shapes(run, towns):
    """One shape per township (dissolved), and its label point."""
    b = run.layer("boundary")
    sub = b[b["town"].astype(str).isin(list(towns))]
    if not len(sub):
        return None, None
    sub = sub.dissolve(by=sub["town"].astype(str)).reset_index(drop=True)  # one shape and label per township
    sub["town"] = sub["town"].astype(str)
    pts = sub.assign(geometry=sub.geometry.representative_point()).set_geometry("geometry")
    return sub, pts


@_styled
def fig_county(run, towns, shares: dict, dpi, stamp, what: str = "标准消防车可达居民点比例",
               missing: str = "无分析结果"):
    """Townships shaded by a share (0..1) per township, e.g. settlements a standard fire truck reaches."""
    import matplotlib
    import pandas as pd

    b = run.layer("boundary")
    if b is None or "town" not in b.columns:
        return None
    sub, pts = _derived(run, ("county_shapes", tuple(towns)), lambda: _county_shapes(run, towns))
    if sub is None:
        return None
    key = ("county_figure", tuple(towns), dpi, stamp)
    m = run.__dict__.setdefault("_figure_derived", {}).get(key)
    if m is None:
        m = MapFigure(sub.geometry.union_all(), dpi=dpi, stamp=stamp)
        hs = run_hillshade(run)
        if hs is not None:
            m.raster(*hs)
        run.__dict__["_figure_derived"][key] = m
    else:
        m.reset()
    share = pd.to_numeric(sub["town"].map(shares), errors="coerce").to_numpy(dtype=float)
    cmap = matplotlib.colormaps["RdYlGn"]
    bins = [(0, 0.5, "<50%"), (0.5, 0.7, "50%～70%"), (0.7, 0.9, "70%～90%"), (0.9, 1.01, "≥90%")]
    for i, (lo, hi, lab) in enumerate(bins):
        with np.errstate(invalid="ignore"):
            sel = (share >= lo) & (share < hi)
        m.polygons(sub, where=sel, face=cmap(0.1 + 0.8 * i / (len(bins) - 1)), edge="#555555", lw=0.5, alpha=0.8,
                   label=f"{what}{lab}")
    m.polygons(sub, where=np.isnan(share), face="#eeeeee", edge="#555555", lw=0.5, label=missing)
    m.labels_at(pts, "town", size=6, color="#111111", max_n=500)
    st = run.layer("stations")
    if st is not None:
        planned = _planned(run, st)
        m.points(st, where=~planned, color=STATION, marker="*", size=110, edge="black", label="消防队站（现状）", zorder=8)
        m.points(st, where=planned, color="white", marker="*", size=110, edge=STATION, lw=1.0, label="消防队站（规划）",
                 zorder=8)
    return m.png()
