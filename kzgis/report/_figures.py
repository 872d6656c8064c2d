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


def _encode_png(rgba: bytes, w: int, h: int, dpi: int) -> bytes:
    """PNG with a 256-colour palette: maps over a hillshade are 5x smaller and faster to encode than RGBA."""
    from PIL import Image

    img = Image.frombuffer("RGBA", (w, h), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    pal = img.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    pal.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


class MapFigure:
    """One map: extent from a polygon, layers added with a legend entry each, then ``png()``."""

    def __init__(self, polygon, *, dpi: int = 130, stamp: str = "", width_in: float = 7.0, margin: float = 0.06,
                 cache: dict | None = None):
        import matplotlib
        from matplotlib.backend_bases import FigureCanvasBase
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
            # not pyplot: no global state, and a canvas whose draw() does nothing, so that each
            # GeoDataFrame.plot (which calls draw_idle) does not render the whole figure again;
            # savefig renders once with Agg
            self.fig = Figure(figsize=(width_in, width_in * aspect + 1.1), dpi=dpi)
            FigureCanvasBase(self.fig)
            legend_h = 1.1 / (width_in * aspect + 1.1)
            self.ax = self.fig.add_axes((0.01, legend_h, 0.98, 1 - legend_h - 0.01))
        self.ax.set_xlim(self.bounds[0], self.bounds[2])
        self.ax.set_ylim(self.bounds[1], self.bounds[3])
        self.ax.set_aspect("equal", adjustable="box")
        self.ax.set_xticks([])
        self.ax.set_yticks([])
        self.handles: list = []
        self.labels: list[str] = []
        # the layers cut to this view and simplified to a fraction of a pixel, shared by the figures of one
        # township (they all have the same extent)
        self.cache = {} if cache is None else cache
        self.tolerance = (self.bounds[2] - self.bounds[0]) / (width_in * dpi) / 3.0

    # -- helpers -------------------------------------------------------------------------------
    def _in_view(self, frame):
        """The features of ``frame`` inside the view, lines and polygons simplified below pixel size."""
        if frame is None or not is_geo(frame) or len(frame) == 0:
            return None
        key = (id(frame), len(frame), self.bounds)
        hit = self.cache.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        xmin, ymin, xmax, ymax = self.bounds
        try:
            sub = frame.iloc[np.sort(frame.sindex.query(box_(xmin, ymin, xmax, ymax)))]
        except Exception:  # noqa: BLE001 - odd geometries: draw them all
            sub = frame
        sub = sub[~sub.geometry.isna() & ~sub.geometry.is_empty]
        if len(sub) and not set(sub.geom_type.unique()) <= {"Point", "MultiPoint"}:
            import shapely

            simple = shapely.simplify(sub.geometry.to_numpy(), self.tolerance, preserve_topology=True)
            sub = sub.set_geometry(type(sub.geometry)(simple, index=sub.index, crs=sub.crs))
        out = sub if len(sub) else None
        self.cache[key] = (frame, out)  # the frame is kept so its id cannot be reused while cached
        return out

    def _legend(self, handle, label: str):
        if label and label not in self.labels:
            self.handles.append(handle)
            self.labels.append(label)

    # -- layers --------------------------------------------------------------------------------
    def raster(self, array, extent, cmap="Greys_r", alpha=0.3):
        """Draw a north-up grid (``extent`` = xmin, xmax, ymin, ymax), cropped to the map first."""
        if array is None:
            return
        xmin, xmax, ymin, ymax = extent
        rows, cols = array.shape
        dx, dy = (xmax - xmin) / cols, (ymax - ymin) / rows
        bx0, by0, bx1, by1 = self.bounds
        c0, c1 = max(int((bx0 - xmin) / dx), 0), min(int(math.ceil((bx1 - xmin) / dx)), cols)
        r0, r1 = max(int((ymax - by1) / dy), 0), min(int(math.ceil((ymax - by0) / dy)), rows)
        if c0 >= c1 or r0 >= r1:
            return
        array = array[r0:r1, c0:c1]
        extent = (xmin + c0 * dx, xmin + c1 * dx, ymax - r1 * dy, ymax - r0 * dy)
        self.ax.imshow(array, extent=extent, cmap=cmap, alpha=alpha, zorder=0, interpolation="bilinear",
                       origin="upper")
        self.ax.set_xlim(self.bounds[0], self.bounds[2])
        self.ax.set_ylim(self.bounds[1], self.bounds[3])

    def polygons(self, frame, *, face, edge="none", lw=0.4, alpha=1.0, label="", zorder=1, hatch=None):
        from matplotlib.patches import Patch

        sub = self._in_view(frame)
        if sub is None:
            return False
        sub.plot(ax=self.ax, facecolor=face, edgecolor=edge, linewidth=lw, alpha=alpha, zorder=zorder,
                 hatch=hatch)
        self._legend(Patch(facecolor=face, edgecolor=edge if edge != "none" else face, alpha=alpha, hatch=hatch),
                     label)
        return True

    def outline(self, frame, *, color="#333333", lw=1.0, ls="-", label="", zorder=5):
        from matplotlib.lines import Line2D

        sub = self._in_view(frame)
        if sub is None:
            return False
        sub.boundary.plot(ax=self.ax, color=color, linewidth=lw, linestyle=ls, zorder=zorder)
        self._legend(Line2D([], [], color=color, lw=lw, ls=ls), label)
        return True

    def lines(self, frame, *, color, lw=1.0, ls="-", label="", zorder=3, alpha=1.0):
        from matplotlib.lines import Line2D

        sub = self._in_view(frame)
        if sub is None:
            return False
        sub.plot(ax=self.ax, color=color, linewidth=lw, linestyle=ls, zorder=zorder, alpha=alpha)
        self._legend(Line2D([], [], color=color, lw=max(lw, 1.2), ls=ls, alpha=alpha), label)
        return True

    def points(self, frame, *, color, marker="o", size=14, edge="white", label="", zorder=6, lw=0.5):
        from matplotlib.lines import Line2D

        sub = self._in_view(frame)
        if sub is None:
            return False
        g = sub.geometry
        if not set(g.geom_type.unique()) <= {"Point"}:
            g = g.representative_point()
        if marker in ("x", "+", "1", "2", "3", "4", "|", "_"):  # unfilled markers have no edge colour
            self.ax.scatter(g.x, g.y, s=size, color=color, marker=marker, linewidths=max(lw, 1.0), zorder=zorder)
        else:
            self.ax.scatter(g.x, g.y, s=size, color=color, marker=marker, edgecolors=edge, linewidths=lw,
                            zorder=zorder)
        self._legend(Line2D([], [], ls="none", marker=marker, markersize=math.sqrt(size) + 1,
                            markerfacecolor=color, markeredgecolor=edge if edge != "none" else color), label)
        return True

    def labels_at(self, frame, column: str, *, size=6.5, color="#222222", max_n=40):
        sub = self._in_view(frame)
        if sub is None or column not in sub.columns:
            return
        import matplotlib.patheffects as pe

        g = sub.geometry.representative_point()
        for (x, y), text in list(zip(zip(g.x, g.y), sub[column].astype(str)))[:max_n]:
            self.ax.annotate(text, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=size, color=color,
                             zorder=9, path_effects=[pe.withStroke(linewidth=2, foreground="white")])

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

    def png(self) -> bytes:
        import matplotlib

        with matplotlib.rc_context(self._rc):
            self.ax.set_xlim(self.bounds[0], self.bounds[2])
            self.ax.set_ylim(self.bounds[1], self.bounds[3])
            self.ax.set_xlabel("")
            self.ax.set_ylabel("")
            self._scale_bar()
            self._north_arrow()
            if self.stamp:
                self.ax.text(0.99, 0.01, self.stamp, transform=self.ax.transAxes, ha="right", va="bottom",
                             fontsize=7, color="#b00000", zorder=12,
                             bbox=dict(facecolor="white", edgecolor="#b00000", alpha=0.85, pad=2))
            if self.handles:
                ncol = 4 if len(self.handles) > 6 else min(len(self.handles), 3)
                self.fig.legend(self.handles, self.labels, loc="lower center", ncol=ncol, frameon=False,
                                fontsize=7.5, bbox_to_anchor=(0.5, 0.0), title="图例", title_fontsize=8)
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            canvas = FigureCanvasAgg(self.fig)
            canvas.draw()
            w, h = canvas.get_width_height()
            rgba = bytes(canvas.buffer_rgba())
        return _encode_png(rgba, w, h, self.dpi)


# ---------------------------------------------------------------------------------------------
# the report's figures


def _base(td, dpi, stamp, hillshade=True):
    run, scope = td.run, td.scope
    m = MapFigure(scope.polygon, dpi=dpi, stamp=stamp, cache=td._cache.setdefault("figure_views", {}))
    if hillshade:
        hs = run_hillshade(run)
        if hs is not None:
            m.raster(*hs)
    b = run.layer("boundary")
    if b is not None:
        m.polygons(b[~b["town"].astype(str).isin(scope.towns)] if "town" in b.columns else b,
                   face="#ffffff", edge="#9a9a9a", lw=0.6, alpha=0.55, zorder=4.5)
    return m


def _frame_boundary(m, td):
    b = td.run.layer("boundary")
    if b is not None and "town" in b.columns:
        m.outline(b[b["town"].astype(str).isin(td.scope.towns)], color="#222222", lw=1.4, ls="-",
                  label="乡镇（街道）界")


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


def _settlements_plain(m, td, label="居民点", names=False):
    st = td.run.layer("settlements")
    m.points(st, color="#444444", size=12, label=label, zorder=6)
    if names and st is not None:
        mine = td.layer("settlements")
        if mine is not None and 0 < len(mine) <= 40:
            m.labels_at(mine, "name", size=6, color="#333333")


def _stations(m, td):
    st = td.run.layer("stations")
    if st is None:
        return
    planned = st["status"].astype(str).str.contains("plan|规划|拟建", case=False, na=False) \
        if "status" in st.columns else np.zeros(len(st), bool)
    m.points(st[~planned], color=STATION, marker="*", size=110, edge="black", label="消防队站（现状）", zorder=8)
    m.points(st[planned], color="white", marker="*", size=110, edge=STATION, lw=1.0, label="消防队站（规划）",
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
    if roads is not None and "vehicle_class" in roads.columns:
        vc = roads["vehicle_class"].fillna("none").astype(str)
        for c in reversed(VEHICLE_ORDER):
            m.lines(roads[vc == c], color=VEHICLE_COLORS[c], lw=VEHICLE_WIDTHS[c],
                    label=f"道路：{VALUES_ZH['vehicle_class'][c]}", zorder=3 + VEHICLE_ORDER[::-1].index(c) * 0.1)
    up = run.result("access_upgrades")
    if up is not None and is_geo(up):
        m.lines(up, color="#d62fd2", lw=2.6, ls=(0, (3, 1.5)), label="建议拓宽路段", zorder=4, alpha=0.9)
    acc = run.result("access_settlements")
    if acc is not None and is_geo(acc) and "best_vehicle" in acc.columns:
        bv = acc["best_vehicle"].fillna("none").astype(str)
        for c in VEHICLE_ORDER:
            m.points(acc[bv == c], color=VEHICLE_COLORS[c], size=20, edge="black",
                     label=f"居民点（可达）：{VALUES_ZH['vehicle_class'][c]}" if c != "none"
                     else "居民点：消防车辆无法到达")
    _stations(m, td)
    _frame_boundary(m, td)
    return m.png()


@_styled
def fig_response(td, dpi, stamp, breaks):
    import matplotlib

    m = _base(td, dpi, stamp)
    run = td.run
    iso = run.result("response_isochrones")
    cmap = matplotlib.colormaps["YlOrRd"]
    col = next((c for c in ("break_min", "time_min") if iso is not None and c in iso.columns), None)
    if iso is not None and is_geo(iso) and col:
        if "ring" in iso.columns and (iso["ring"].astype(str) == "disk").any():
            iso = iso[iso["ring"].astype(str) == "disk"]  # whole areas, not the nested rings
        rs0 = run.result("response_settlements")
        if "vehicle_class" in iso.columns:
            vc = (str(rs0["vehicle_class"].dropna().iloc[0]) if rs0 is not None and "vehicle_class" in rs0.columns
                  and rs0["vehicle_class"].notna().any() else "standard")
            if (iso["vehicle_class"].astype(str) == vc).any():
                iso = iso[iso["vehicle_class"].astype(str) == vc]
        vals = sorted(set(float(v) for v in iso[col].dropna()), reverse=True)
        for i, v in enumerate(vals):  # largest first, nearest on top and darkest
            shade = cmap(0.15 + 0.7 * (i / max(len(vals) - 1, 1)))
            m.polygons(iso[iso[col].astype(float) == v], face=shade, alpha=0.55,
                       label=f"{v:g}分钟到场范围", zorder=1 + i * 0.01)
    m.lines(run.layer("roads"), color="#8c8c8c", lw=0.5, label="道路", zorder=3)
    rs = run.result("response_settlements")
    if rs is not None and is_geo(rs) and "time_min" in rs.columns:
        import pandas as pd

        t = pd.to_numeric(rs["time_min"], errors="coerce").fillna(np.inf)
        lo = -math.inf
        edges = list(breaks) + [math.inf]
        for i, hi in enumerate(edges):
            sel = (t > lo) & (t <= hi) & np.isfinite(t)
            label = f"居民点：≤{hi:g}分钟" if lo == -math.inf else (
                f"居民点：{lo:g}～{hi:g}分钟" if math.isfinite(hi) else f"居民点：>{lo:g}分钟")
            m.points(rs[sel], color=cmap(0.95 - 0.85 * i / max(len(edges) - 1, 1)), size=18, edge="black",
                     label=label)
            lo = hi
        m.points(rs[~np.isfinite(t)], color="#000000", marker="x", size=18, edge="none", label="居民点：无法到达")
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
        usable = src["usable"].fillna(False).astype(bool) if "usable" in src.columns else np.ones(len(src), bool)
        m.points(src[usable], color="#08519c", marker="D", size=16, label="可用消防水源", zorder=7)
        m.points(src[~usable], color="#969696", marker="X", size=20, edge="none", label="不可用水源", zorder=7)
    else:
        m.points(run.layer("hydrants"), color="#08519c", size=10, label="消火栓", zorder=7)
        m.points(run.layer("fire_pools"), color="#08519c", marker="s", size=18, label="消防水池", zorder=7)
        m.points(run.layer("water_intakes"), color="#08519c", marker="^", size=22, label="天然水源取水点", zorder=7)
    ws = run.result("water_settlements")
    if ws is not None and is_geo(ws) and "covered" in ws.columns:
        cov = ws["covered"].fillna(False).astype(bool)
        m.points(ws[cov], color="#41ab5d", size=20, edge="black", label="居民点：水源已覆盖")
        m.points(ws[~cov], color="#e31a1c", size=22, edge="black", label="居民点：水源未覆盖")
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
        bt = (bands["barrier_type"].fillna("undetermined").astype(str).map(lambda v: value_zh("barrier_type", v))
              if "barrier_type" in bands.columns else None)
        if bt is None:
            m.polygons(bands, face="#e6550d", alpha=0.75, label="林火阻隔带", zorder=2)
        else:
            for t in sorted(set(bt), key=lambda s: list(BAND_COLORS).index(s) if s in BAND_COLORS else 99):
                m.polygons(bands[bt == t], face=BAND_COLORS.get(t, "#e6550d"), alpha=0.75,
                           label=f"林火阻隔带：{t}", zorder=2)
    _settlements_plain(m, td)
    cp = run.result("checkpoints")
    if cp is not None and is_geo(cp):
        m.points(cp, color="#ffd700", marker="^", size=55, edge="black", label="森林防火检查站", zorder=8, lw=0.8)
    _frame_boundary(m, td)
    return m.png()


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
        sel = dips["selected"].fillna(False).astype(bool) if "selected" in dips.columns else np.ones(len(dips), bool)
        m.points(dips[~sel], color="#c6dbef", marker="o", size=26, edge="#08519c", label="取水点（备选）", zorder=7)
        m.points(dips[sel], color="#08519c", marker="o", size=50, edge="black", label="直升机取水点（选定）", zorder=8)
    pads = run.result("heli_pads")
    if pads is not None and is_geo(pads):
        import geopandas as gpd
        import pandas as pd

        if not set(pads.geom_type.unique()) <= {"Point"}:
            m.polygons(pads, face="#fdd0a2", edge="#a63603", lw=0.4, alpha=0.7, zorder=2, label="停机坪候选区")
        pts = pads
        if {"x", "y"} <= set(pads.columns):
            pts = gpd.GeoDataFrame(pads.drop(columns=[pads.geometry.name]),
                                   geometry=gpd.points_from_xy(pads["x"], pads["y"]), crs=pads.crs)
        if "rank" in pts.columns:
            first = pd.to_numeric(pts["rank"], errors="coerce") == 1
            m.points(pts[first], color="#ff7f00", marker="H", size=70, edge="black", label="直升机停机坪（规划）",
                     zorder=8)
        else:
            m.points(pts, color="#ff7f00", marker="H", size=60, edge="black", label="直升机停机坪", zorder=8)
    _stations(m, td)
    _frame_boundary(m, td)
    return m.png()


@_styled
def fig_county(run, towns, shares: dict, dpi, stamp, what: str = "标准消防车可达居民点比例",
               missing: str = "无分析结果"):
    """Townships shaded by a share (0..1) per township, e.g. settlements a standard fire truck reaches."""
    import matplotlib
    import pandas as pd

    b = run.layer("boundary")
    if b is None or "town" not in b.columns:
        return None
    sub = b[b["town"].astype(str).isin(list(towns))]
    if not len(sub):
        return None
    sub = sub.dissolve(by=sub["town"].astype(str)).reset_index(drop=True)  # one shape and label per township
    sub["town"] = sub["town"].astype(str)
    m = MapFigure(sub.geometry.union_all(), dpi=dpi, stamp=stamp)
    hs = run_hillshade(run)
    if hs is not None:
        m.raster(*hs)
    sub["_share"] = pd.to_numeric(sub["town"].map(shares), errors="coerce")
    cmap = matplotlib.colormaps["RdYlGn"]
    bins = [(0, 0.5, "<50%"), (0.5, 0.7, "50%～70%"), (0.7, 0.9, "70%～90%"), (0.9, 1.01, "≥90%")]
    for i, (lo, hi, lab) in enumerate(bins):
        sel = (sub["_share"] >= lo) & (sub["_share"] < hi)
        m.polygons(sub[sel], face=cmap(0.1 + 0.8 * i / (len(bins) - 1)), edge="#555555", lw=0.5, alpha=0.8,
                   label=f"{what}{lab}")
    m.polygons(sub[sub["_share"].isna()], face="#eeeeee", edge="#555555", lw=0.5, label=missing)
    pts = sub.assign(geometry=sub.geometry.representative_point()).set_geometry("geometry")
    m.labels_at(pts, "town", size=6, color="#111111", max_n=500)
    st = run.layer("stations")
    if st is not None:
        planned = st["status"].astype(str).str.contains("plan|规划|拟建", case=False, na=False) \
            if "status" in st.columns else pd.Series(False, index=st.index)
        m.points(st[~planned], color=STATION, marker="*", size=110, edge="black", label="消防队站（现状）", zorder=8)
        m.points(st[planned], color="white", marker="*", size=110, edge=STATION, lw=1.0, label="消防队站（规划）",
                 zorder=8)
    return m.png()
