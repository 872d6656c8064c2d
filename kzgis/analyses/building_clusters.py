"""Building clusters and firebreaks (建筑连片密集区, 防火隔离带, 防火墙) in old towns and villages.

Seed task 7 (开州府办发〔2023〕47号): firebreaks and fire walls in the dense building clusters of
温泉古镇 and of villages.

Definitions
-----------
**Grades.** Each building's fire-resistance grade (耐火等级) is its ``fire_resistance`` (1-4, or
一级 ... 四级); when missing, its ``structure`` gives it (``structure_grades``: 钢混/框架 -> 一级,
砖混 -> 二级, 砖木 -> 三级, 木 -> 四级; an assumption); else ``unknown_grade`` (四级 by default, for
wooden and brick-wood village houses, an assumption). ``grade_basis`` says which.

**Separations** (GB 50016-2014 table 5.2.2, civil buildings; from memory, confidence M): 一二级 /
一二级 6 m, 一二级 / 三级 7 m, 一二级 / 四级 9 m, 三级 / 三级 8 m, 三级 / 四级 10 m, 四级 / 四级 12 m.

**Clusters.** Two buildings are *linked* when the gap between their footprints (shortest distance;
0 when they touch) is below the separation for their pair of grades; a cluster is a connected
group of linked buildings. Pairs are found with a spatial index (an ``STRtree`` query of the
envelopes grown by the largest separation, then one exact distance per candidate pair; measured
faster than ``dwithin``, which computes the distance and then needs it again), never all pairs. A cluster is *over the limit* when its
footprint (sum of its buildings' areas) exceeds ``limit_m2`` (5,000 m2 by default; a rule marked
M/A, to be checked against GB 50039-2010).

**Firebreaks.** An over-limit cluster is split into parts each within the limit (a single
building larger than the limit stays a part of its own, reported). Links are taken tightest first
(largest shortfall ``required - gap``: touching rows of houses stay together) and two parts are
joined unless the joined footprint would exceed the limit, i.e. a maximum spanning forest of the
proximity graph under the area limit; the links left between different parts are the cuts, so
the cuts fall where the gaps are widest relative to what is required. Each cut is reported as a
line between the facing points of the two buildings (``firebreak_suggestions``) with the present
gap, the required separation and the measure: widen the gap to the required separation when the
shortfall is at most ``widen_max_m`` (拓宽间距), else a fire wall (设置防火墙) on the facing side.

**Results**

- ``building_clusters`` (polygons: the buildings of each cluster of two or more buildings, or a
  single building over the limit): ``cluster_id``, ``buildings``, ``footprint_m2``, ``over_limit``,
  ``limit_m2``, ``parts`` (after the cuts), ``cuts``, ``assumed_grades`` (buildings whose grade is
  the assumed default), ``grade_mix``, ``town``, ``old_town``.
- ``firebreak_suggestions`` (lines): ``cluster_id``, ``part_a``, ``part_b``, ``building_a``,
  ``building_b``, ``gap_m``, ``required_m``, ``measure``.
- ``building_grades`` (table aligned to the buildings): ``grade``, ``grade_basis``, ``cluster_id``,
  ``part``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .. import rules
from .._errors import AnalysisError, RecipeError
from ..analysis import Context, register
from ..crs import require_projected

log = logging.getLogger(__name__)

RESULTS = ("building_clusters", "firebreak_suggestions", "building_grades")

#: structure (结构) -> fire-resistance grade when the grade is missing (an assumption; substrings,
#: first match wins, so 砖木 is tested before 木 and 钢混 before 砖混).
STRUCTURE_GRADES = {"钢混": 1, "钢筋混凝土": 1, "框架": 1, "钢结构": 2, "砖混": 2, "砖木": 3, "石木": 3,
                    "土木": 4, "木": 4, "竹": 4}
_GRADE_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_UNKNOWN_WORDS = ("", "不详", "未知", "无", "unknown", "nan", "none", "null", "-", "—")
_PAIRS = ("12_12", "12_3", "12_4", "3_3", "3_4", "4_4")
MEASURE_WIDEN = "拓宽间距"
MEASURE_WALL = "设置防火墙"


@dataclass(frozen=True)
class ClusterParams:
    """Parameters of the ``building_clusters`` analysis (recipe ``analyses: building_clusters:``).

    separation_m : dict with keys ``12_12``, ``12_3``, ``12_4``, ``3_3``, ``3_4``, ``4_4`` overriding the
        GB 50016-2014 table 5.2.2 separations (m); only the keys given change.
    unknown_grade : grade (1-4) of a building with neither grade nor a known structure (A: 4).
    structure_grades : extra / changed structure -> grade mappings (merged onto the defaults).
    limit_m2 : largest footprint of one cluster (M/A, 5,000 m2).
    widen_max_m : shortfall up to which the measure is widening the gap, above it a fire wall (A).
    min_buildings : clusters with fewer buildings are not listed (unless over the limit).
    """

    separation_m: dict[str, float] = rules.param_table({k: f"separation_{k}_m" for k in _PAIRS})
    unknown_grade: int = rules.param("unknown_fire_grade", int)
    structure_grades: dict[str, int] = field(default_factory=lambda: dict(STRUCTURE_GRADES))
    limit_m2: float = rules.param("cluster_area_max_m2")
    widen_max_m: float = rules.param("firebreak_widen_max_m")
    min_buildings: int = 2

    def __post_init__(self):
        problems = []
        keys = _PAIRS
        given = dict(self.separation_m or {})
        for k, v in given.items():
            if str(k) not in keys:
                problems.append(f"separation_m: unknown pair {k!r} (valid: {', '.join(keys)})")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                problems.append(f"separation_m.{k}: expected a distance >= 0 in metres, got {v!r}")
        if not problems:
            table = {k: rules.value(f"separation_{k}_m") for k in keys}
            table.update({str(k): float(v) for k, v in given.items()})
            object.__setattr__(self, "separation_m", table)
        sg = dict(self.structure_grades or {})
        for k, v in sg.items():
            if isinstance(v, bool) or v not in (1, 2, 3, 4):
                problems.append(f"structure_grades.{k}: expected a grade 1-4, got {v!r}")
        object.__setattr__(self, "structure_grades", {**STRUCTURE_GRADES, **{str(k): int(v) for k, v in sg.items()}})
        if self.unknown_grade not in (1, 2, 3, 4):
            problems.append(f"unknown_grade must be a grade 1-4, got {self.unknown_grade!r}")
        if not self.limit_m2 > 0:
            problems.append(f"limit_m2 must be positive, got {self.limit_m2!r}")
        if not self.widen_max_m >= 0:
            problems.append(f"widen_max_m must be >= 0, got {self.widen_max_m!r}")
        if self.min_buildings < 1:
            problems.append(f"min_buildings must be >= 1, got {self.min_buildings!r}")
        if problems:
            raise RecipeError("; ".join(problems))

    __hash__ = object.__hash__

    def table(self) -> np.ndarray:
        """3 x 3 separations (m) indexed by grade class 0 = 一二级, 1 = 三级, 2 = 四级."""
        s = self.separation_m
        return np.array([[s["12_12"], s["12_3"], s["12_4"]],
                         [s["12_3"], s["3_3"], s["3_4"]],
                         [s["12_4"], s["3_4"], s["4_4"]]], dtype=float)


# ---------------------------------------------------------------------------------------------
# grades


def parse_grade(value) -> int | None:
    """A fire-resistance grade 1-4 from ``3``, ``3.0``, ``"三级"``, ``"3级"``; None when unknown.

    Raises ValueError for a value that is neither a grade nor a word for "unknown".
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    t = str(value).strip().lower()
    if t in _UNKNOWN_WORDS:
        return None
    t = t.removesuffix("级").removeprefix("耐火等级").strip()
    m = re.fullmatch(r"([1-4])(?:\.0+)?", t)
    if m:
        return int(m.group(1))
    if t in _GRADE_WORDS:
        return _GRADE_WORDS[t]
    if t in ("一二", "一、二", "1-2", "1、2", "i-ii"):
        return 2
    raise ValueError(value)


def grades(buildings: gpd.GeoDataFrame, p: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    """Each building's grade (1-4) and its source (``surveyed``, ``structure``, ``assumed``).

    Raises
    ------
    AnalysisError
        naming the buildings and the field when a ``fire_resistance`` value is not a grade.
    """
    n = len(buildings)
    raw = buildings["fire_resistance"] if "fire_resistance" in buildings else pd.Series([None] * n, dtype=object)
    # parse each distinct value once
    codes, uniq = pd.factorize(raw.astype(object), use_na_sentinel=True)
    parsed = np.zeros(len(uniq), dtype=np.int64)
    bad_u = []
    for k, v in enumerate(uniq):
        try:
            x = parse_grade(v)
        except ValueError:
            bad_u.append(k)
            continue
        parsed[k] = 0 if x is None else x
    if bad_u:
        bad = np.flatnonzero(np.isin(codes, bad_u))
        fids = ", ".join(str(f) for f in buildings.index[bad][:10]) + (" ..." if len(bad) > 10 else "")
        vals = ", ".join(repr(uniq[k]) for k in bad_u[:3])
        raise AnalysisError(f"layer 'buildings', field 'fire_resistance', features {fids}: {len(bad)} value(s) are "
                            f"not a fire-resistance grade (e.g. {vals}). Fix: use 1-4 or 一级/二级/三级/四级, or leave "
                            "the value empty to derive it from 'structure'")
    g = np.where(codes >= 0, np.append(parsed, 0)[codes], 0).astype(np.int64)
    src = np.where(g > 0, "surveyed", "assumed").astype(object)
    if "structure" in buildings and (g == 0).any():
        scodes, suniq = pd.factorize(buildings["structure"].astype(object), use_na_sentinel=True)
        sg = np.zeros(len(suniq), dtype=np.int64)
        order = list(p.structure_grades.items())
        for k, s in enumerate(suniq):
            for word, grade in order:
                if word in str(s):
                    sg[k] = grade
                    break
        by_s = np.where(scodes >= 0, np.append(sg, 0)[scodes], 0)
        use = (g == 0) & (by_s > 0)
        g[use] = by_s[use]
        src[use] = "structure"
    g[g == 0] = p.unknown_grade
    return g, src


def grade_class(g: np.ndarray) -> np.ndarray:
    """Grade 1-4 -> class index 0 (一二级), 1 (三级), 2 (四级)."""
    return np.where(g <= 2, 0, g - 2).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# clustering


def links(geoms, gcls: np.ndarray, table: np.ndarray):
    """Pairs of buildings closer than their required separation.

    Returns ``(i, j, gap_m, required_m)`` with ``i < j``; pairs come from a spatial index query of
    the envelopes grown by the largest separation, so the work grows with the number of near pairs,
    not all pairs.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), np.zeros(0)
    tree = shapely.STRtree(geoms)
    # candidate pairs: envelopes grown by the largest separation (cheap), then one exact distance each
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    d = float(table.max())
    i, j = tree.query(shapely.box(xmin - d, ymin - d, xmax + d, ymax + d))
    keep = i < j
    i, j = i[keep], j[keep]
    gap = shapely.distance(geoms[i], geoms[j])
    req = table[gcls[i], gcls[j]]
    close = gap < req - 1e-9
    return i[close].astype(np.int64), j[close].astype(np.int64), gap[close], req[close]


def clusters(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Cluster label per building (connected components of the links)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    g = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    return lab.astype(np.int64)


def split(area: np.ndarray, i: np.ndarray, j: np.ndarray, gap: np.ndarray, req: np.ndarray, limit: float):
    """Split linked buildings into parts each within ``limit`` (a lone larger building: its own part).

    Links are merged tightest first (largest ``req - gap``; ties: smaller gap, then input order)
    unless the merged footprint would exceed ``limit``. Returns the part label per building
    (0..k-1, numbered by first building) and the boolean mask of links that are cuts (their two
    buildings in different parts).
    """
    n = len(area)
    parent = np.arange(n)
    size = np.asarray(area, dtype=float).copy()

    def find(x):
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    order = np.lexsort((np.arange(len(i)), gap, -(req - gap)))
    for k in order:
        a, b = find(int(i[k])), find(int(j[k]))
        if a == b or size[a] + size[b] > limit + 1e-9:
            continue
        if size[a] < size[b]:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
    roots = np.array([find(x) for x in range(n)], dtype=np.int64)
    _, label = np.unique(roots, return_inverse=True)
    # renumber by first occurrence
    first = {}
    out = np.empty(n, dtype=np.int64)
    for x, r in enumerate(label):
        out[x] = first.setdefault(int(r), len(first))
    cut = out[i] != out[j] if len(i) else np.zeros(0, bool)
    return out, cut


# ---------------------------------------------------------------------------------------------


@register("building_clusters", title_zh="建筑连片密集区与防火隔离分析", needs=("buildings",),
          optional=("boundary", "old_towns"), params=ClusterParams, results=RESULTS)
def run_building_clusters(ctx: Context, p: ClusterParams) -> dict:
    """Clusters of buildings closer than their fire separations, and firebreaks for the large ones.

    Parameters
    ----------
    ctx : Context
        Needs ``buildings`` (polygons); uses ``boundary`` (town of a cluster) and ``old_towns``.
    p : ClusterParams

    Returns
    -------
    dict
        ``building_clusters``, ``firebreak_suggestions``, ``building_grades`` (see the module docstring).
    """
    crs = require_projected(ctx.crs, "the building_clusters analysis")
    b = ctx.layers["buildings"]
    if ctx.towns and ctx.layers.has("boundary"):  # a run limited to some townships: their buildings
        bd = ctx.layers["boundary"]
        area_of = shapely.union_all(np.asarray(bd.geometry.values[bd["town"].isin(ctx.towns).to_numpy()], dtype=object))
        b = b[shapely.intersects(np.asarray(b.geometry.values, dtype=object), area_of)]
    geoms = np.asarray(b.geometry.values, dtype=object)
    g, gsrc = grades(b, p)
    gcls = grade_class(g)
    table = p.table()
    area = shapely.area(geoms)
    i, j, gap, req = links(geoms, gcls, table)
    lab = clusters(len(b), i, j)
    n_cl = int(lab.max()) + 1 if len(lab) else 0
    count = np.bincount(lab, minlength=n_cl)
    foot = np.bincount(lab, weights=area, minlength=n_cl)
    over = foot > p.limit_m2 + 1e-9
    # split each over-limit cluster
    part = np.zeros(len(b), dtype=np.int64)
    cut = np.zeros(len(i), dtype=bool)
    link_cl = lab[i] if len(i) else np.zeros(0, np.int64)
    for c in np.flatnonzero(over & (count > 1)):
        members = np.flatnonzero(lab == c)
        local = np.full(len(b), -1, dtype=np.int64)
        local[members] = np.arange(len(members))
        lk = np.flatnonzero(link_cl == c)
        pl, pc = split(area[members], local[i[lk]], local[j[lk]], gap[lk], req[lk], p.limit_m2)
        part[members] = pl
        cut[lk] = pc
    n_parts = np.ones(n_cl, dtype=np.int64)
    for c in np.flatnonzero(over & (count > 1)):
        n_parts[c] = int(part[lab == c].max()) + 1
    n_cuts = np.bincount(link_cl[cut], minlength=n_cl) if len(i) else np.zeros(n_cl, np.int64)

    # numbering: listed clusters 1..k, largest footprint first
    listed = np.flatnonzero((count >= p.min_buildings) | over)
    listed = listed[np.lexsort((listed, -foot[listed]))]
    cid = np.zeros(n_cl, dtype=np.int64)
    cid[listed] = np.arange(1, len(listed) + 1)

    assumed = np.bincount(lab, weights=(gsrc == "assumed").astype(float), minlength=n_cl).astype(np.int64)
    out_rows, out_geoms = [], []
    if len(listed):
        order = np.argsort(lab, kind="stable")
        bounds = np.searchsorted(lab[order], np.arange(n_cl + 1))
        for c in listed:
            mem = order[bounds[c]:bounds[c + 1]]
            gm = np.bincount(g[mem], minlength=5)
            mix = "、".join(f"{w}{gm[k]}" for k, w in ((1, "一级"), (2, "二级"), (3, "三级"), (4, "四级")) if gm[k])
            out_rows.append({"cluster_id": int(cid[c]), "buildings": int(count[c]), "footprint_m2": float(foot[c]),
                             "over_limit": bool(over[c]), "limit_m2": p.limit_m2, "parts": int(n_parts[c]),
                             "cuts": int(n_cuts[c]), "assumed_grades": int(assumed[c]), "grade_mix": mix})
            out_geoms.append(shapely.multipolygons(shapely.get_parts(geoms[mem])))
    cols = ["cluster_id", "buildings", "footprint_m2", "over_limit", "limit_m2", "parts", "cuts", "assumed_grades",
            "grade_mix", "town", "old_town"]
    cl = gpd.GeoDataFrame(out_rows, columns=[c for c in cols if c not in ("town", "old_town")],
                          geometry=out_geoms, crs=crs)
    cl["town"] = _where(ctx, "boundary", "town", cl.geometry.values)
    cl["old_town"] = _where(ctx, "old_towns", "name", cl.geometry.values)

    # firebreak lines
    ci = np.flatnonzero(cut)
    fcols = ["cluster_id", "part_a", "part_b", "building_a", "building_b", "gap_m", "required_m", "shortfall_m",
             "measure"]
    if len(ci):
        lines = shapely.shortest_line(geoms[i[ci]], geoms[j[ci]])
        short = req[ci] - gap[ci]
        fid = np.asarray(b.index)
        fb = gpd.GeoDataFrame({
            "cluster_id": cid[lab[i[ci]]], "part_a": part[i[ci]] + 1, "part_b": part[j[ci]] + 1,
            "building_a": fid[i[ci]], "building_b": fid[j[ci]], "gap_m": gap[ci], "required_m": req[ci],
            "shortfall_m": short,
            "measure": np.where(short <= p.widen_max_m + 1e-9,
                                [f"{MEASURE_WIDEN}至{r:g}米" for r in req[ci]], MEASURE_WALL),
        }, geometry=lines, crs=crs)
        fb = fb.sort_values(["cluster_id", "part_a", "part_b", "gap_m"], kind="stable").reset_index(drop=True)
    else:
        fb = gpd.GeoDataFrame({c: [] for c in fcols}, geometry=[], crs=crs)

    bg = pd.DataFrame({"grade": g, "grade_basis": gsrc, "cluster_id": np.where(cid[lab] > 0, cid[lab], 0),
                       "part": np.where(over[lab] & (count[lab] > 1), part + 1, 1), "area_m2": area},
                      index=b.index)
    n_assumed = int((gsrc == "assumed").sum())
    if n_assumed:
        ctx.warn(f"building_clusters: {n_assumed} of {len(b)} buildings have neither a fire-resistance grade nor a "
                 f"known structure and count as grade {p.unknown_grade} (an assumption; it sets their separations)")
    if over.any():
        ctx.warn(f"building_clusters: {int(over.sum())} building cluster(s) exceed {p.limit_m2:g} m2; "
                 f"{int(cut.sum())} firebreak / fire-wall cut(s) suggested")
    log.info("building_clusters: %d buildings, %d links, %d clusters listed, %d over %g m2, %d cuts", len(b),
             len(i), len(listed), int(over.sum()), p.limit_m2, int(cut.sum()))
    return {"building_clusters": cl, "firebreak_suggestions": fb, "building_grades": bg}


def _where(ctx, kind, col, geoms) -> np.ndarray:
    """The ``col`` value of the ``kind`` polygon holding each geometry's representative point."""
    out = np.full(len(geoms), None, dtype=object)
    if not len(geoms) or not ctx.layers.has(kind) or col not in ctx.layers[kind]:
        return out
    poly = ctx.layers[kind]
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    tree = shapely.STRtree(np.asarray(poly.geometry.values, dtype=object))
    qi, ti = tree.query(pts, predicate="within")
    vals = poly[col].to_numpy(object)
    out[qi] = vals[ti]
    return out



# --- result schema (issue 16 §3) -------------------------------------------------------------

from ..schema import Column, ResultLayer, declare  # noqa: E402

declare(
    ResultLayer("building_clusters", "building_clusters", "Polygon", "建筑连片密集区",
                "Buildings closer than their fire separation, joined; those over the area limit and how they are cut.",
                (Column("cluster_id", "int", "", "连片区编号"),
                 Column("buildings", "int", "", "建筑数"),
                 Column("footprint_m2", "float", "m2", "占地面积（平方米）"),
                 Column("over_limit", "bool", "", "是否超限"),
                 Column("limit_m2", "float", "m2", "面积上限（平方米）"),
                 Column("parts", "int", "", "分隔后分区数"),
                 Column("cuts", "int", "", "建议分隔处数"),
                 Column("assumed_grades", "int", "", "按假设等级计的建筑数"),
                 Column("grade_mix", "str", "", "耐火等级构成"),
                 Column("town", "str", "", "乡镇（街道）"), Column("old_town", "str", "", "古镇"))),
    ResultLayer("firebreak_suggestions", "building_clusters", "LineString", "防火隔离建议",
                "Where to cut an over-limit cluster: the gap to widen (or a fire wall) between two parts.",
                (Column("cluster_id", "int", "", "连片区编号"),
                 Column("part_a", "int", "", "分区A"),
                 Column("part_b", "int", "", "分区B"),
                 Column("building_a", "int", "", "建筑A"),
                 Column("building_b", "int", "", "建筑B"),
                 Column("gap_m", "float", "m", "现状间距（米）"),
                 Column("required_m", "float", "m", "要求防火间距（米）"), Column("shortfall_m", "float", "m", "差距（米）"),
                 Column("measure", "str", "", "措施"))),
    ResultLayer("building_grades", "building_clusters", None, "建筑耐火等级",
                "Each building: fire-resistance grade and its basis, cluster and part.",
                (Column("grade", "int", "", "耐火等级"),
                 Column("grade_basis", "str", "", "耐火等级依据（surveyed 调查/structure 按结构/assumed 假设）"),
                 Column("cluster_id", "int", "", "连片区编号"),
                 Column("part", "int", "", "分区"),
                 Column("area_m2", "float", "m2", "面积（平方米）"))),
)
