"""Road network engine: a routable network of the ``roads`` layer by fire-vehicle class.

Build it once per run (:meth:`RoadNetwork.from_layers` / :meth:`RoadNetwork.from_roads`) and use it
from every analysis that needs travel on roads (access, response, water, checkpoints):

- **Noding**: lines are split at their ends, at every vertex they share with another line (or
  repeat), and where a line ends on another line's interior (a T-junction, within
  ``node_tolerance_m``); a dangling end within ``dangle_snap_m`` of another line is moved onto it
  first. A vertex inside a bridge or tunnel, or shared by lines of different ``layer``/z-levels,
  is not a junction (``join="endpoints"``: only line ends join). Lines that cross without a
  shared vertex are not connected: bridges and overpasses stay separate, as in the survey data.
- **Per edge**: length (m, working CRS, which must be projected), width with where it came from
  (``width_source``: ``surveyed`` / ``lanes`` / ``class_default`` / ``unknown``), canonical road
  class, one-way flag, DEM grade max/mean (%) with ``grade_source`` (``dem``, ``structure``:
  bridge/tunnel graded from its ends, ``suspected_structure``, ``unknown``: no DEM data there,
  ``no_dem``), the best vehicle class allowed, and travel time for each class. Attribute parsing
  (direction codes, widths, structures) lives in :mod:`kzgis._road_attrs`; the topology report
  (``issues``, ``warnings``, summary) in :mod:`kzgis._net_report`.
- **Vehicle classes** (:data:`VEHICLE_CLASSES`, best first): ``standard`` fire truck (width >=
  4.0 m GB 50016 7.1.8, grade <= 10 % GB 55037 3.4.5, 8-10 % flagged), ``small`` fire truck (width
  >= 3.0 m, grade <= 15 %: assumptions) and ``motorcycle`` (width >= 1.5 m, grade <= 20 %:
  assumptions). ``none`` where no class may pass.
- **Snapping** to the nearest point on an allowed edge (not the nearest node), keeping the snap
  distance; points farther than ``snap_max_m`` are reported (``ok`` False), never snapped. A
  numpy grid index of the edges' segments (:class:`~kzgis._net_geom.SegmentGrid`, one per class
  or mask, cached) answers thousands of points at once, exactly (ties: the lowest edge id).
- **Shortest paths** with :mod:`scipy.sparse.csgraph` on the directed graph of each class
  (one-way edges respected; CSR cached per class). Sources part-way along an edge become virtual
  nodes joined to the ends of their edge by the exact partial costs, so costs are exact from the
  snapped point; their rows are appended to the cached graph in reused scratch arrays, so a call
  costs the Dijkstra run, not a graph rebuild. :meth:`RoadNetwork.nearest_source` runs once from
  a single super source joined to all the sources' edge ends. Node ids follow a Z-order curve
  (nodes close on the ground have close ids), which keeps the runs in cache.
- **Reached pieces**: the parts of edges within a budget, the last edge cut exactly where the
  budget runs out; edges reached from both ends and the sources' own edges handled (vectorised:
  closed form for edges entered at their nodes only; the cut lines from cached edge coordinates).
- :meth:`RoadNetwork.prepare` builds a class's graph and snapping index up front (else the first
  call does); ``python -m benchmarks`` compares the engine with plain networkx.

Speeds and default widths are assumptions (confidence A in DOMAIN.md terms), documented in
:data:`DEFAULT_SPEED_KMH`, :data:`DEFAULT_WIDTH_M` and :class:`NetworkParams`, all overridable in
the recipe's ``network:`` section.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from . import rules
from ._errors import NetworkError, RecipeError, suggest
from ._net_geom import LineCoords, SegmentGrid, insert_t_junctions, node_lines, snap_dangles
from .crs import as_crs, require_projected

log = logging.getLogger(__name__)

#: Fire-vehicle classes, best first. ``"none"`` marks roads and places no class can use.
VEHICLE_CLASSES = ("standard", "small", "motorcycle")
NONE = "none"
#: snapping indexes (one per edge set) a network keeps at most; the least recently used go first
#: (a county's full edge set takes ~30 MB, and one is rebuilt in ~0.2 s)
SNAP_INDEXES_KEPT = 6

# ---------------------------------------------------------------------------------------------
# road classes

#: Canonical road classes: Chinese highway administrative classes plus urban streets, foot paths
#: and steps. Every raw class (Chinese or OSM ``highway``) is mapped onto one of these.
ROAD_CLASSES = ("国道", "省道", "县道", "乡道", "村道", "机耕道", "城市道路", "步道", "台阶", "未知")
UNKNOWN_CLASS = "未知"

#: Rule giving the default carriageway width of each canonical class (where no width is surveyed,
#: tagged or derivable from lanes). JTG B01-2014 for the highway classes (confidence M), our
#: assumptions (A) for the rest; every one overridable in the recipe (``network.default_width_m``).
WIDTH_RULE = {"国道": "road_width_national_m", "省道": "road_width_provincial_m", "县道": "road_width_county_m",
              "乡道": "road_width_township_m", "村道": "road_width_village_m", "机耕道": "road_width_farm_track_m",
              "城市道路": "road_width_urban_m", "步道": "road_width_footpath_m", "台阶": "road_width_steps_m",
              "未知": "road_width_unknown_m"}
#: OSM ``highway`` values with their own usual carriageway (A), before their canonical class's default
OSM_WIDTH_RULE = {"residential": "road_width_osm_residential_m", "unclassified": "road_width_osm_unclassified_m",
                  "service": "road_width_osm_service_m", "living_street": "road_width_osm_living_street_m"}
DEFAULT_WIDTH_M = {c: rules.value(k) for c, k in WIDTH_RULE.items()}
DEFAULT_WIDTH_M.update({h: rules.value(k) for h, k in OSM_WIDTH_RULE.items()})
#: width sources that are assumptions (results resting on them say so)
ASSUMED_WIDTH_SOURCES = ("class_default", "unknown")

#: Standard fire-truck speed (km/h) by class on a wide, level road. Assumption (A), within the
#: 20-40 km/h DOMAIN.md gives for rural and mountain roads; urban streets use the 30 km/h of
#: 建标152-2017 (rule ``truck_speed_urban_kmh``).
DEFAULT_SPEED_KMH = {"国道": 40.0, "省道": 40.0, "县道": 35.0, "乡道": 30.0, "村道": 25.0, "机耕道": 15.0,
                     "城市道路": rules.value("truck_speed_urban_kmh"), "步道": 10.0, "台阶": 5.0, "未知": 20.0}

#: Speed multiplier per vehicle class (A: same speeds for all classes unless the recipe says so).
DEFAULT_VEHICLE_SPEED_FACTOR = {"standard": 1.0, "small": 1.0, "motorcycle": 1.0}

#: OSM ``highway`` values mapped onto the canonical classes (A: trunk ~ 国道, primary ~ 省道,
#: secondary ~ 县道, tertiary ~ 乡道, minor roads ~ 村道, track ~ 机耕道).
OSM_HIGHWAY_CLASS = {
    "motorway": "国道", "motorway_link": "国道", "trunk": "国道", "trunk_link": "国道",
    "primary": "省道", "primary_link": "省道", "secondary": "县道", "secondary_link": "县道",
    "tertiary": "乡道", "tertiary_link": "乡道", "unclassified": "村道", "residential": "村道",
    "living_street": "村道", "service": "村道", "road": "未知", "track": "机耕道",
    "path": "步道", "footway": "步道", "cycleway": "步道", "pedestrian": "步道", "bridleway": "步道",
    "steps": "台阶",
}

#: Chinese spellings seen in survey data, mapped onto the canonical classes.
CHINESE_CLASS_ALIASES = {
    "高速公路": "国道", "高速": "国道", "国道公路": "国道", "省道公路": "省道", "县道公路": "县道",
    "县乡道": "县道", "专用公路": "县道", "乡道公路": "乡道", "乡村道路": "村道", "村道公路": "村道",
    "农村公路": "村道", "村级道路": "村道", "通村公路": "村道", "机耕路": "机耕道", "生产路": "机耕道",
    "田间道": "机耕道", "快速路": "城市道路", "主干路": "城市道路", "次干路": "城市道路",
    "支路": "城市道路", "城市主干路": "城市道路", "城市次干路": "城市道路", "城市支路": "城市道路",
    "街道": "城市道路", "人行道": "步道", "步行道": "步道", "游步道": "步道", "便道": "步道", "小路": "步道",
    "梯步": "台阶", "石梯": "台阶", "梯道": "台阶",
    "G": "国道", "S": "省道", "X": "县道", "Y": "乡道", "C": "村道",
}

_TRUE = {"1", "true", "yes", "y", "t", "是", "单行", "单向"}


@dataclass(frozen=True)
class NetworkParams:
    """The recipe's ``network:`` section. Every default is a rule or a documented assumption.

    Dict parameters (``speed_kmh``, ``default_width_m``, ``vehicle_speed_factor``,
    ``class_aliases``) are merged onto the defaults: a recipe only lists what it changes.
    """

    #: farther than this from any usable road, a point is reported, not snapped (m)
    snap_max_m: float = 500.0
    #: vertices closer than this (grid rounding) are the same node (m; A)
    node_tolerance_m: float = 0.01
    #: a line end lying on another line (within node_tolerance_m) is a junction there (T-junction)
    t_junctions: bool = True
    standard_width_m: float = rules.param("truck_road_width_m")
    standard_grade_max_pct: float = rules.param("truck_grade_max_pct")
    #: standard-truck edges steeper than this (but within the max) are flagged ``grade_warning``
    standard_grade_preferred_pct: float = rules.param("truck_grade_preferred_pct")
    small_width_m: float = rules.param("small_truck_width_m")
    small_grade_max_pct: float = rules.param("small_truck_grade_max_pct")
    motorcycle_width_m: float = rules.param("motorcycle_width_m")
    motorcycle_grade_max_pct: float = rules.param("motorcycle_grade_max_pct")
    #: which DEM grade the limits apply to: "max" (steepest run of >= 2 DEM cells) or "mean"
    grade_measure: str = "max"
    #: standard-truck speed by canonical road class (km/h; A), merged onto DEFAULT_SPEED_KMH
    speed_kmh: dict[str, float] = field(default_factory=dict)
    #: speed multiplier per vehicle class (A), merged onto DEFAULT_VEHICLE_SPEED_FACTOR
    vehicle_speed_factor: dict[str, float] = field(default_factory=dict)
    #: width by canonical class (or OSM highway value with its own default: residential,
    #: unclassified, service, living_street) where none is surveyed or tagged (m), merged onto
    #: DEFAULT_WIDTH_M (rules ``road_width_*``)
    default_width_m: dict[str, float] = rules.param_table({**WIDTH_RULE, **OSM_WIDTH_RULE}, merged=True)
    #: extra raw class -> canonical class mappings (merged onto the OSM and Chinese defaults)
    class_aliases: dict[str, str] = field(default_factory=dict)
    #: width of one lane when only the ``lanes`` count is known (m; JTG B01, rule ``lane_width_m``)
    lane_width_m: float = rules.param("lane_width_m")
    #: where lines join: "vertices" (every shared vertex, except at bridges/tunnels and between
    #: different layers/z-levels) or "endpoints" (only where a line ends)
    join: str = "vertices"
    #: a dangling line end this close to another line is moved onto it and joined (m; rule dangle_snap_m)
    dangle_snap_m: float = rules.param("dangle_snap_m")
    #: a dangling line end this close to another line is reported as a near miss (m; rule near_miss_m)
    near_miss_m: float = rules.param("near_miss_m")
    #: a DEM grade steeper than this on an edge whose end-to-end grade is within the standard
    #: truck's limit marks a suspected bridge/tunnel/DEM artefact, graded from its ends (%)
    structure_profile_grade_pct: float = rules.param("structure_profile_grade_pct")
    #: fire motorcycles may use foot ways (footway/path/steps.../人行道/步道...); trucks never do
    motorcycle_on_paths: bool = False
    #: a road narrower than the class minimum + this margin slows the class down (m; A)
    narrow_margin_m: float = rules.method(1.0, "m", "窄路判定：路宽小于车型最小宽度加此值")
    #: speed factor on such narrow roads (A)
    narrow_speed_factor: float = rules.method(0.7, "", "窄路减速系数")
    #: above this mean grade speeds fall: speed / (1 + steep_slowdown_per_pct * (grade - this)) (%; A)
    steep_from_pct: float = rules.method(3.0, "%", "开始减速的平均坡度")
    steep_slowdown_per_pct: float = rules.method(0.05, "", "平均坡度超过起始坡度后每1%的减速系数")
    #: speeds never fall below this (km/h; A)
    min_speed_kmh: float = rules.method(5.0, "km/h", "最低车速")
    #: canonical classes no vehicle may use, whatever their width
    barred_classes: tuple[str, ...] = ("台阶",)

    def __post_init__(self):
        set_ = object.__setattr__
        for name, defaults, keys in (
            ("speed_kmh", DEFAULT_SPEED_KMH, ROAD_CLASSES),
            ("default_width_m", DEFAULT_WIDTH_M, tuple(DEFAULT_WIDTH_M)),
            ("vehicle_speed_factor", DEFAULT_VEHICLE_SPEED_FACTOR, VEHICLE_CLASSES),
        ):
            given = dict(getattr(self, name) or {})
            for k, v in given.items():
                if k not in keys:
                    raise RecipeError(f"network.{name}: unknown key '{k}'{suggest(str(k), keys)}")
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                    raise RecipeError(f"network.{name}.{k}: expected a positive number, got {v!r}")
            set_(self, name, {**defaults, **{k: float(v) for k, v in given.items()}})
        aliases = dict(self.class_aliases or {})
        for k, v in aliases.items():
            if v not in ROAD_CLASSES:
                raise RecipeError(f"network.class_aliases.{k}: '{v}' is not a road class{suggest(str(v), ROAD_CLASSES)}")
        set_(self, "class_aliases", aliases)
        for k in self.barred_classes:
            if k not in ROAD_CLASSES:
                raise RecipeError(f"network.barred_classes: '{k}' is not a road class{suggest(str(k), ROAD_CLASSES)}")
        set_(self, "barred_classes", tuple(self.barred_classes))
        if self.join not in ("vertices", "endpoints"):
            raise RecipeError(f"network.join: expected 'vertices' or 'endpoints', got {self.join!r}")
        if not 0 <= self.dangle_snap_m <= self.near_miss_m:
            raise RecipeError(f"network.dangle_snap_m ({self.dangle_snap_m!r}) must be >= 0 and at most "
                              f"network.near_miss_m ({self.near_miss_m!r})")
        if self.grade_measure not in ("max", "mean"):
            raise RecipeError(f"network.grade_measure: expected 'max' or 'mean', got {self.grade_measure!r}")
        for name in ("snap_max_m", "standard_width_m", "small_width_m", "motorcycle_width_m", "lane_width_m",
                     "min_speed_kmh", "narrow_speed_factor"):
            if not getattr(self, name) > 0:
                raise RecipeError(f"network.{name}: must be positive, got {getattr(self, name)!r}")

    __hash__ = object.__hash__

    # -- per-class lookups ----------------------------------------------------------------------
    def width_min(self, vehicle_class: str) -> float:
        return getattr(self, f"{_check_class(vehicle_class)}_width_m")

    def grade_max(self, vehicle_class: str) -> float:
        return getattr(self, f"{_check_class(vehicle_class)}_grade_max_pct")

    def canonical_class(self, raw) -> np.ndarray:
        """Canonical road class for each raw value (Chinese or OSM ``highway``); unknown -> 未知."""
        table = {**OSM_HIGHWAY_CLASS, **CHINESE_CLASS_ALIASES, **{c: c for c in ROAD_CLASSES},
                 **self.class_aliases}
        raw = pd.Series(raw, dtype=object).map(lambda v: v[0] if isinstance(v, list) and v else v)
        codes, uniq = pd.factorize(raw, use_na_sentinel=True)
        if len(uniq) < len(raw):  # map the distinct values only
            mapped = self.canonical_class(np.asarray(uniq, dtype=object)) if len(uniq) else np.array([], object)
            return np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(uniq) else UNKNOWN_CLASS,
                            UNKNOWN_CLASS).astype(object)
        s = raw
        s = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
        out = s.map(table)
        # "县道X123" or "X123" style values: try the leading Chinese class word / route letter
        miss = out.isna() & s.notna()
        if miss.any():
            def guess(v):
                for c in ("国道", "省道", "县道", "乡道", "村道", "机耕道"):
                    if c in v:
                        return c
                m = re.match(r"^([GSXYC])\d", v)
                return table.get(m.group(1)) if m else None

            out[miss] = s[miss].map(guess)
        return out.fillna(UNKNOWN_CLASS).to_numpy(dtype=object)

    def in_force(self) -> list[rules.InForce]:
        """The rules and method numbers in force (:func:`kzgis.rules.in_force`): the rule-backed
        thresholds and default widths, the speed table (rule ``truck_speed_urban_kmh`` for 城市道路,
        assumptions for the rest), the vehicle speed factors and the slow-down numbers."""
        speeds = {f"speed_kmh.{c}": ("km/h", f"{c}标准消防车车速", DEFAULT_SPEED_KMH[c])
                  for c in ROAD_CLASSES if c != "城市道路"}
        names = {"standard": "标准消防车", "small": "小型消防车", "motorcycle": "消防摩托车"}
        factors = {f"vehicle_speed_factor.{v}": ("", f"{names[v]}车速系数", DEFAULT_VEHICLE_SPEED_FACTOR[v])
                   for v in VEHICLE_CLASSES}
        return rules.in_force(self, {"speed_kmh.城市道路": "truck_speed_urban_kmh"}, method={**speeds, **factors})

    def assumptions(self) -> list[rules.InForce]:
        """The assumption-grade numbers in force (confidence A, or changed in the recipe)."""
        return [r for r in self.in_force() if r.is_assumption]

    def class_width(self, raw_class, road_class) -> np.ndarray:
        """Default width per road: the OSM value's own default (residential...) else its class's."""
        series = pd.Series(raw_class, dtype=object)
        try:  # a county repeats a few values: each distinct one is read once
            codes, uniq = pd.factorize(series, use_na_sentinel=True)
        except TypeError:  # lists (several OSM values) are not hashable: value by value
            codes, uniq = np.arange(len(series)), series.to_numpy(object)
        raw = pd.Series(np.asarray(uniq, dtype=object), dtype=object).map(
            lambda v: (v[0] if isinstance(v, list) and v else v)).map(
            lambda v: str(v).strip().lower() if isinstance(v, str) else None)
        own_u = raw.map(lambda v: self.default_width_m.get(v) if v in OSM_WIDTH_RULE else None).to_numpy(object)
        own = pd.Series(np.where(codes >= 0, own_u[np.maximum(codes, 0)] if len(own_u) else None, None),
                        dtype=object, index=series.index)
        cls_w = pd.Series(road_class, dtype=object).map(self.default_width_m)
        return own.where(own.notna(), cls_w).to_numpy(float)


def _osm_width_key(raw_class, road_class) -> np.ndarray:
    """Per road: the key of its default width, the OSM value (lower case) where it has its own rule, else
    its class. Each distinct raw value is read once."""
    values = list(raw_class)
    seen: dict = {}
    own = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        key = (type(v), v) if isinstance(v, str) else None
        k = seen.get(key) if key is not None else None
        if k is None:
            k = (v.strip().lower() in OSM_WIDTH_RULE, str(v).strip().lower()) if isinstance(v, str) else \
                (False, str(v).strip().lower())
            if key is not None:
                seen[key] = k
        own[i] = k[1] if k[0] else None
    has = np.array([x is not None for x in own], dtype=bool)
    return np.where(has, own, np.asarray(road_class, dtype=object)).astype(object)


def _check_class(vehicle_class) -> str:
    if vehicle_class not in VEHICLE_CLASSES:
        raise NetworkError(f"unknown vehicle class {vehicle_class!r}{suggest(str(vehicle_class), VEHICLE_CLASSES)}")
    return vehicle_class


# ---------------------------------------------------------------------------------------------
# attribute parsing


def _structure_grades(u, v, length, struct, z_node) -> np.ndarray:
    """Grade (%) of each bridge/tunnel edge from the ends of its whole structure.

    Consecutive structure edges (a bridge drawn in pieces, OSM ways split at every node) form
    one structure; its ends are the nodes where it meets other roads or stops. The grade is the
    height difference of those ends over the structure's length: the DEM under a bridge (the
    gorge) or over a tunnel (the hill) says nothing about the road.
    """
    from scipy.sparse.csgraph import connected_components

    n = len(z_node)
    se = np.flatnonzero(struct)
    g = csr_matrix((np.ones(len(se)), (u[se], v[se])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    sdeg = np.bincount(np.concatenate([u[se], v[se]]), minlength=n)
    alldeg = np.bincount(np.concatenate([u, v]), minlength=n)
    end_node = (sdeg == 1) | ((sdeg >= 1) & (alldeg > sdeg))
    comp = lab[u[se]]
    n_c = int(lab.max()) + 1
    comp_len = np.bincount(comp, weights=length[se], minlength=n_c)
    zmax = np.full(n_c, -np.inf)
    zmin = np.full(n_c, np.inf)
    ok = end_node & np.isfinite(z_node)
    np.maximum.at(zmax, lab[ok], z_node[ok])
    np.minimum.at(zmin, lab[ok], z_node[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        g_c = np.where(np.isfinite(zmax) & np.isfinite(zmin) & (comp_len > 0),
                       (zmax - zmin) / np.where(comp_len > 0, comp_len, 1.0) * 100.0, np.nan)
    return g_c[comp]


def _code_text(v) -> str:
    from ._road_attrs import code_key

    return code_key(v)


# ---------------------------------------------------------------------------------------------
# cost arrays that remember their sources


class NodeCosts(np.ndarray):
    """Cost per node (1-D: one row, e.g. the nearest of several sources; 2-D: one row per source).

    A plain ndarray carrying ``sources``: the snapped sources the costs start from (a 2-D array's
    row ``i`` belongs to ``sources.iloc[i]``; a 1-D array's entries come from all of them). It lets
    :meth:`RoadNetwork.costs_to` and :meth:`RoadNetwork.reached_pieces` handle targets and pieces
    on a source's own edge exactly without the caller passing the sources again.
    """

    def __new__(cls, arr, sources=None):
        obj = np.asarray(arr).view(cls)
        obj.sources = sources
        return obj

    def __array_finalize__(self, obj):
        self.sources = getattr(obj, "sources", None)

    def __getitem__(self, key):
        out = super().__getitem__(key)
        if not isinstance(out, NodeCosts):
            return out
        src = self.sources
        if self.ndim == 2 and src is not None:
            if isinstance(key, (int, np.integer)) and out.ndim == 1:
                out.sources = src.iloc[[int(key)]]
                return out
            if isinstance(key, (slice, list, np.ndarray)) and out.ndim == 2:
                out.sources = src.iloc[key]
                return out
        if out.ndim == self.ndim and isinstance(key, slice) and key == slice(None):
            return out
        return out.view(np.ndarray)


# ---------------------------------------------------------------------------------------------
# the network


class RoadNetwork:
    """A routable road network by fire-vehicle class. Build with :meth:`from_roads` / :meth:`from_layers`.

    Attributes
    ----------
    crs : pyproj.CRS (projected)
    nodes : GeoDataFrame, index 0..n-1, columns ``x, y, degree``
    edges : GeoDataFrame, index 0..m-1, see the module docstring and DEVELOPING.md
    params : NetworkParams

    Treat ``nodes`` and ``edges`` as read-only: per-class masks, weights, graphs and snapping
    indexes are cached on the object. Build a new network for changed roads.
    """

    def __init__(self, nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, params: NetworkParams, crs):
        self.nodes = nodes
        self.edges = edges
        self.params = params
        self.crs = as_crs(crs)
        self._cache: dict = {}
        self._u = edges["u"].to_numpy(np.int64)
        self._v = edges["v"].to_numpy(np.int64)
        self._len = edges["length_m"].to_numpy(float)
        self._oneway = edges["oneway"].to_numpy(bool)
        self._geoms = np.asarray(edges.geometry.values, dtype=object)
        self._width_key: np.ndarray | None = None  # per edge: the key of its default width (from_roads)
        #: what the road data made the build assume (said in the run's warnings)
        self.warnings: list[str] = []
        #: topology findings (GeoDataFrame, see kzgis._net_report.topology_issues) or None
        self.issues = None

    def __repr__(self):
        counts = self.edges["vehicle_class"].value_counts().to_dict() if len(self.edges) else {}
        return f"<RoadNetwork {len(self.nodes)} nodes, {len(self.edges)} edges, {counts}, {self.crs.to_string()}>"

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    # -- edge arrays aligned to ``edges`` (read-only; for callers outside this module) ---------------
    @property
    def edge_u(self) -> np.ndarray:
        """Start node of each edge (int64)."""
        return self._u

    @property
    def edge_v(self) -> np.ndarray:
        """End node of each edge (int64)."""
        return self._v

    @property
    def edge_length_m(self) -> np.ndarray:
        """Length of each edge in metres."""
        return self._len

    @property
    def edge_oneway(self) -> np.ndarray:
        """True where an edge may only be driven u -> v."""
        return self._oneway

    @property
    def edge_geoms(self) -> np.ndarray:
        """The edges' LineStrings (object array, oriented u -> v)."""
        return self._geoms

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_layers(cls, layers, params: NetworkParams | None = None) -> RoadNetwork:
        """Build from ``layers["roads"]`` and, when loaded, ``layers["dem"]``."""
        if not layers.has("roads"):
            raise NetworkError("the road network needs a 'roads' layer: add one to the recipe's layers:")
        return cls.from_roads(layers["roads"], dem=layers.get("dem"), params=params)

    @classmethod
    def from_roads(cls, roads: gpd.GeoDataFrame, dem=None, params: NetworkParams | None = None) -> RoadNetwork:
        """Build the network from road lines.

        Parameters
        ----------
        roads : GeoDataFrame of LineString/MultiLineString in a projected CRS. Optional columns:
            ``width_m`` (surveyed, m), ``road_class`` (Chinese or OSM class), ``highway``, ``width``,
            ``est_width`` and ``lanes`` (OSM tags), ``name``, ``oneway`` (bool, yes/no/-1, ArcGIS
            FT/TF/T/F/N/B, 正向/反向/双向, or both/forward/backward/closed), ``bridge``, ``tunnel``,
            ``layer`` (OSM layer or z-level), ``f_elev``/``t_elev`` (z-levels at the line's ends),
            ``turnaround``.
        dem : :class:`kzgis.terrain.DEM` in the same CRS, for grades (optional).
        params : :class:`NetworkParams`.

        The network's ``warnings`` list says what the data made us assume; ``issues`` is a
        GeoDataFrame of topology findings (see :mod:`kzgis._net_report`).
        """
        from . import _net_report
        from ._road_attrs import (
            is_pedestrian,
            parse_directions,
            parse_flag_structure,
            parse_lanes,
            parse_level,
            parse_width,
            structure_from_names,
        )

        params = params or NetworkParams()
        crs = require_projected(roads.crs, "the road network")
        if dem is not None and as_crs(dem.crs) != crs:
            raise NetworkError("the DEM and the roads are in different CRSs "
                               f"({as_crs(dem.crs).to_string()} vs {crs.to_string()}); load both into the working CRS")
        geom = roads.geometry
        present = geom.notna().to_numpy() & ~geom.is_empty.to_numpy()
        tid = shapely.get_type_id(geom.values)
        bad = present & ~np.isin(tid, (1, 5))
        if bad.any():
            fids = ", ".join(str(f) for f in roads.index[bad][:10])
            raise NetworkError(f"layer 'roads': features {fids} are not lines ({geom[bad].geom_type.iloc[0]}); "
                               "the road network needs LineString or MultiLineString features")
        roads = roads[present]
        n_roads = len(roads)
        cols = roads.columns
        warnings: list[str] = []

        def col(name, default=None):
            return roads[name].to_numpy(dtype=object) if name in cols else np.full(n_roads, default, dtype=object)

        # attributes per road feature
        raw_class = col("road_class")
        if "highway" in cols:
            no_cls = pd.isna(pd.Series(raw_class, dtype=object)).to_numpy()
            raw_class = np.where(no_cls, col("highway"), raw_class)
        road_class = params.canonical_class(raw_class)
        surveyed = parse_width(col("width_m"))
        for tag in ("width", "est_width"):
            if tag in cols:
                tw = parse_width(col(tag))
                surveyed = np.where(np.isfinite(surveyed), surveyed, tw)
        lanes_w = parse_lanes(col("lanes")) * params.lane_width_m if "lanes" in cols else np.full(n_roads, np.nan)
        class_w = params.class_width(raw_class, road_class)
        width = np.where(np.isfinite(surveyed), surveyed, np.where(np.isfinite(lanes_w), lanes_w, class_w))
        width_source = np.where(np.isfinite(surveyed), "surveyed", np.where(
            np.isfinite(lanes_w), "lanes", np.where(road_class == UNKNOWN_CLASS, "unknown", "class_default"))
        ).astype(object)
        if "oneway" in cols:
            direction, unknown_codes = parse_directions(col("oneway"))
            if unknown_codes:
                shown = ", ".join(repr(v) for v in unknown_codes[:8])
                n_unk = int(np.isin(pd.Series(col("oneway"), dtype=object).map(_code_text).to_numpy(object),
                                    unknown_codes).sum())
                warnings.append(
                    f"roads: {n_unk} feature(s) have one-way values not understood ({shown}); read as two-way. "
                    "If the field holds direction codes, map them in the recipe's roads layer, e.g. "
                    "oneway_codes: {1: both, 2: forward, 3: backward}")
        else:
            direction = np.full(n_roads, "both", dtype=object)
        oneway = np.isin(direction, ("forward", "backward"))
        reverse = direction == "backward"
        closed = direction == "closed"
        names = col("name")
        bridge = parse_flag_structure(col("bridge")) if "bridge" in cols else np.zeros(n_roads, bool)
        tunnel = parse_flag_structure(col("tunnel")) if "tunnel" in cols else np.zeros(n_roads, bool)
        if "bridge" not in cols and "tunnel" not in cols:
            bridge, tunnel = structure_from_names(names)
        structure = bridge | tunnel
        level = parse_level(col("layer")) if "layer" in cols else np.full(n_roads, np.nan)
        has_elev = "f_elev" in cols or "t_elev" in cols
        f_elev: np.ndarray | None = None
        t_elev: np.ndarray | None = None
        if has_elev:  # a reversed line swaps its end levels
            fe, te = parse_level(col("f_elev")), parse_level(col("t_elev"))
            f_elev, t_elev = np.where(reverse, te, fe), np.where(reverse, fe, te)
        pedestrian = is_pedestrian(raw_class) | np.isin(road_class, ("台阶",))
        turn = col("turnaround")
        turnaround = np.zeros(n_roads, bool) if "turnaround" not in cols else pd.Series(turn, dtype=object).map(
            lambda v: False if v is None or (isinstance(v, float) and np.isnan(v)) else
            (bool(v) if isinstance(v, (bool, np.bool_, int, np.integer, float)) else str(v).strip().lower() in _TRUE)
        ).to_numpy(bool)

        # explode multi-lines, reverse one-ways drawn against their direction
        parts, part_of = shapely.get_parts(geom.values[present], return_index=True)
        parts = np.asarray(parts, dtype=object)
        rev = reverse[part_of]
        if rev.any():
            parts[rev] = shapely.reverse(parts[rev])
        tol = params.node_tolerance_m
        zero = shapely.length(parts) <= tol
        parts0 = parts
        p_level = level[part_of]
        p_struct = structure[part_of]
        # dangling ends near another line: snapped within dangle_snap_m, reported up to near_miss_m
        parts, snaps, near = snap_dangles(parts, params.dangle_snap_m, params.near_miss_m, tol,
                                          target_ok=~p_struct, level=p_level)
        if params.t_junctions:
            parts, n_t = insert_t_junctions(parts, tol)
            if n_t:
                log.info("road network: %d line end(s) on another line's interior noded as T-junctions", n_t)
        net = node_lines(parts, tol, level=p_level, no_join=p_struct,
                         f_level=None if f_elev is None else f_elev[part_of],
                         t_level=None if t_elev is None else t_elev[part_of], join=params.join)
        r = part_of[net["line"]]  # road row of each edge
        geoms = net["geoms"]
        length = shapely.length(geoms)
        node_xy = net["node_xy"]

        e_struct = structure[r]
        if dem is not None and len(geoms):
            gmax, gmean, covered = dem.grades(geoms, coverage=True)
            gdem = gmax.copy()
            z_node = dem.sample(node_xy[:, 0], node_xy[:, 1])
            with np.errstate(invalid="ignore", divide="ignore"):
                end_grade = np.where(length > 0, np.abs(z_node[net["v"]] - z_node[net["u"]])
                                     / np.where(length > 0, length, 1.0) * 100.0, 0.0)
            if e_struct.any():
                end_grade[e_struct] = _structure_grades(net["u"], net["v"], length, e_struct, z_node)
            suspect = (~e_struct & (gmax > params.structure_profile_grade_pct)
                       & (end_grade <= params.standard_grade_max_pct))
            by_ends = e_struct | suspect
            gmax = np.where(by_ends, end_grade, gmax)
            gmean = np.where(by_ends, end_grade, gmean)
            grade_source = np.where(e_struct, "structure", np.where(suspect, "suspected_structure", "dem")).astype(object)
            grade_source[~np.isfinite(gmax if params.grade_measure == "max" else gmean)] = "unknown"
        else:
            gmax = np.full(len(geoms), np.nan)
            gmean = np.full(len(geoms), np.nan)
            gdem = gmax.copy()
            grade_source = np.full(len(geoms), "no_dem", dtype=object)
            covered = np.zeros(len(geoms))

        e_class = road_class[r]
        e_width = width[r]
        e = pd.DataFrame({
            "u": net["u"], "v": net["v"], "length_m": length, "width_m": e_width,
            "width_source": width_source[r], "road_class": e_class, "name": names[r],
            "oneway": oneway[r], "grade_max_pct": gmax, "grade_mean_pct": gmean, "grade_source": grade_source,
            "grade_dem_max_pct": gdem, "grade_checked_share": np.round(covered, 3),
            "structure": np.where(bridge[r], "bridge", np.where(tunnel[r], "tunnel", "")).astype(object),
            "pedestrian": pedestrian[r], "turnaround": turnaround[r], "road_fid": roads.index.to_numpy()[r],
        })
        allowed = cls._allowed_masks(params, e_width, e_class, gmax, gmean, pedestrian[r], closed[r])
        best = np.full(len(e), NONE, dtype=object)
        for vc in VEHICLE_CLASSES[::-1]:
            best[allowed[vc]] = vc
        e["vehicle_class"] = best
        g = gmax if params.grade_measure == "max" else gmean
        e["grade_warning"] = allowed["standard"] & (np.nan_to_num(g) > params.standard_grade_preferred_pct)
        for vc in VEHICLE_CLASSES:
            e[f"time_min_{vc}"] = cls._times(params, vc, length, e_width, e_class, gmean, allowed[vc])
        edges = gpd.GeoDataFrame(e, geometry=geoms, crs=crs)
        deg = np.bincount(np.concatenate([net["u"], net["v"]]), minlength=len(node_xy))
        nodes = gpd.GeoDataFrame({"x": node_xy[:, 0], "y": node_xy[:, 1], "degree": deg},
                                 geometry=shapely.points(node_xy), crs=crs)
        log.info("road network: %d nodes, %d edges from %d road features", len(nodes), len(edges), n_roads)
        out = cls(nodes, edges, params, crs)
        # the level of each road for the crossing report (NaN: its ends' levels differ, skip it)
        rep_level = np.nan_to_num(level)
        if f_elev is not None and t_elev is not None:
            fz, tz = np.nan_to_num(f_elev), np.nan_to_num(t_elev)
            rep_level = np.where(fz == tz, fz, np.nan)
        out._width_key = _osm_width_key(raw_class, road_class)[r]
        fids = roads.index.to_numpy()
        out.issues = _net_report.topology_issues(out, parts_fid=fids[part_of], zero=zero,
                                                 zero_geoms=parts0,
                                                 snaps=snaps, near=near, levels=rep_level[r])
        out.warnings = warnings + _net_report.build_warnings(out, dem is not None, closed_km=float(
            shapely.length(parts[closed[part_of]]).sum() / 1000.0) if closed.any() else 0.0)
        return out

    @staticmethod
    def _allowed_masks(params, width, road_class, gmax, gmean, pedestrian=None, closed=None) -> dict[str, np.ndarray]:
        g = gmax if params.grade_measure == "max" else gmean
        barred = np.isin(road_class, params.barred_classes)
        if closed is not None:
            barred = barred | closed
        foot = np.zeros(len(width), bool) if pedestrian is None else np.asarray(pedestrian, bool)
        out = {}
        for vc in VEHICLE_CLASSES:
            ok_grade = ~(g > params.grade_max(vc))  # NaN (no DEM) passes
            no_foot = ~foot if not (vc == "motorcycle" and params.motorcycle_on_paths) else True
            out[vc] = (width >= params.width_min(vc) - 1e-9) & ok_grade & ~barred & no_foot
        return out

    @staticmethod
    def _times(params, vc, length, width, road_class, gmean, allowed) -> np.ndarray:
        speed = RoadNetwork._speeds(params, vc, width, road_class, gmean)
        t = length / 1000.0 / speed * 60.0
        return np.where(allowed, t, np.nan)

    @staticmethod
    def _speeds(params, vc, width, road_class, gmean) -> np.ndarray:
        """Effective speed (km/h) of class ``vc`` per edge: class speed, narrow-road and grade factors."""
        speed = np.array([params.speed_kmh[c] for c in road_class], dtype=float) * params.vehicle_speed_factor[vc]
        narrow = width < params.width_min(vc) + params.narrow_margin_m
        speed = np.where(narrow, speed * params.narrow_speed_factor, speed)
        over = np.clip(np.nan_to_num(gmean) - params.steep_from_pct, 0.0, None)
        speed = speed / (1.0 + params.steep_slowdown_per_pct * over)
        return np.maximum(speed, params.min_speed_kmh)

    # -- weights and graphs ---------------------------------------------------------------------
    def allowed(self, vehicle_class: str | None) -> np.ndarray:
        """Boolean mask of the edges ``vehicle_class`` may use (None: any vehicle class). Read-only, cached."""
        key = ("allowed", vehicle_class)
        if key not in self._cache:
            if vehicle_class is None:
                m = self.edges["vehicle_class"].to_numpy(object) != NONE
            else:
                _check_class(vehicle_class)
                m = np.isfinite(self.edges[f"time_min_{vehicle_class}"].to_numpy(float))
            m.flags.writeable = False
            self._cache[key] = m
        return self._cache[key]

    def edge_weights(self, vehicle_class: str | None, weight: str = "time_min") -> np.ndarray:
        """Per-edge weight for a class (NaN where the class may not pass). Read-only, cached."""
        key = ("w", vehicle_class, weight)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if weight in ("time_min", "time"):
            if vehicle_class is None:
                raise NetworkError("weight 'time_min' needs a vehicle class (travel times differ by class)")
            w = self.edges[f"time_min_{_check_class(vehicle_class)}"].to_numpy(float).copy()
        elif weight.startswith("time_min_") and weight in self.edges:
            w = self.edges[weight].to_numpy(float).copy()
            w[~self.allowed(vehicle_class)] = np.nan
        elif weight in ("length_m", "length"):
            w = np.where(self.allowed(vehicle_class), self._len, np.nan)
        else:
            raise NetworkError(f"unknown weight {weight!r} (use 'time_min' or 'length_m')")
        w.flags.writeable = False
        self._cache[key] = w
        return w

    @staticmethod
    def _csr_min(src, dst, w, n):
        """CSR matrix keeping the smallest weight of parallel arcs (scipy would sum them)."""
        if len(src):
            o = np.lexsort((w, dst, src))
            src, dst, w = src[o], dst[o], w[o]
            first = np.ones(len(src), dtype=bool)
            first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
            src, dst, w = src[first], dst[first], w[first]
        return csr_matrix((w, (src, dst)), shape=(n, n))

    def _skeleton(self, w: np.ndarray) -> dict:
        """The arcs of the edges open under ``w`` grouped by (src, dst); cached by the open set.

        Custom weights that change values but not which edges are open (the upgrade list's rounds)
        share it, so their graphs need no sort: ``order`` sorts the arcs of :meth:`_arcs` by
        (src, dst) keeping their order within a pair, ``start`` is each pair's first position,
        ``keys`` the sorted unique src * n + dst, ``indptr`` / ``indices`` the CSR structure.
        """
        ok = np.isfinite(w)
        key = np.packbits(ok).tobytes()
        cache = self._cache.setdefault("skeletons", {})
        sk = cache.get(key)
        if sk is None:
            src, dst, _, eid = self._arcs(w)
            n = np.int64(self.n_nodes)
            order = np.lexsort((dst, src))
            k = src[order] * n + dst[order]
            first = np.ones(len(k), dtype=bool)
            first[1:] = k[1:] != k[:-1]
            start = np.flatnonzero(first)
            keys = k[start]
            sizes = np.diff(np.r_[start, len(k)])
            indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
            np.cumsum(np.bincount(keys // n, minlength=self.n_nodes), out=indptr[1:])
            sk = {"order": order, "start": start, "keys": keys, "eid": eid[order], "group": np.repeat(
                np.arange(len(start)), sizes), "multi": bool((sizes > 1).any()),
                "indptr": indptr, "indices": keys % n}
            if len(cache) >= 2:
                cache.pop(next(iter(cache)))
            cache[key] = sk
        return sk

    def _cheapest_arcs(self, w: np.ndarray):
        """(skeleton, weight, position in the skeleton's order) of the cheapest arc of each (src, dst).

        The same choice as :meth:`_csr_min` and a stable sort by (src, dst, weight): the least
        weight, ties to the arc first in :meth:`_arcs` order.
        """
        sk = self._skeleton(w)
        ww = np.asarray(w, float)[sk["eid"]]
        if not sk["multi"]:
            return sk, ww, np.arange(len(ww))
        start = sk["start"]
        if not len(start):
            return sk, ww[:0], start
        gmin = np.minimum.reduceat(ww, start)
        eq = np.flatnonzero(ww == gmin[sk["group"]])
        g = sk["group"][eq]
        first = np.ones(len(eq), dtype=bool)
        first[1:] = g[1:] != g[:-1]
        return sk, gmin, eq[first]

    def _csr_of(self, w: np.ndarray):
        """The directed graph of weights ``w`` as a canonical CSR matrix (parallel arcs reduced to the
        cheapest, indices sorted): what :meth:`_csr_min` gives, without sorting the arcs again."""
        sk, data, _ = self._cheapest_arcs(w)
        n = self.n_nodes
        m = csr_matrix((data, sk["indices"], sk["indptr"]), shape=(n, n))
        m.has_sorted_indices = True
        return m

    def _arcs(self, w: np.ndarray):
        """Directed arcs (src, dst, weight, edge) of the edges with finite weight ``w``."""
        ok = np.isfinite(w)
        e = np.flatnonzero(ok)
        two = e[~self._oneway[e]]
        src = np.concatenate([self._u[e], self._v[two]])
        dst = np.concatenate([self._v[e], self._u[two]])
        ww = np.concatenate([w[e], w[two]])
        eid = np.concatenate([e, two])
        return src, dst, ww, eid

    def _backward_ok(self, e, offset_m):
        """Whether a point at ``offset_m`` on edge ``e`` may go to ``u`` (two-way, or already at ``u``)."""
        return ~self._oneway[e] | (np.asarray(offset_m, float) <= self.params.node_tolerance_m)

    def _from_v_ok(self, e, offset_m):
        """Whether a point at ``offset_m`` on edge ``e`` is reached from ``v`` (two-way, or at ``v``)."""
        return ~self._oneway[e] | (np.asarray(offset_m, float) >= self._len[e] - self.params.node_tolerance_m)

    def _virtual_rows(self, snapped, w):
        """CSR rows of the virtual source nodes n.. n+k-1: arcs to the ends of the sources' edges.

        Returns (counts per row, column of each arc, weight of each arc), each row's columns in
        increasing order. A source reaches ``v`` always and ``u`` when the edge is two-way or the
        source is at ``u``; on a loop edge (u == v) the cheaper of the two arcs is kept.
        """
        e = snapped["edge"].to_numpy(np.int64)
        off = snapped["offset_m"].to_numpy(float)
        L = self._len[e]
        frac = np.clip(off / np.where(L > 0, L, 1.0), 0.0, 1.0)
        we = w[e]
        to_v = (1.0 - frac) * we
        to_u = frac * we
        u, v = self._u[e], self._v[e]
        two = self._backward_ok(e, off)
        loop = two & (u == v)
        to_v = np.where(loop, np.minimum(to_u, to_v), to_v)
        two &= ~loop
        u_first = two & (u < v)
        counts = 1 + two.astype(np.int64)
        start = np.cumsum(counts) - counts
        cols = np.empty(int(counts.sum()), dtype=np.int64)
        wts = np.empty(len(cols))
        cols[start] = np.where(u_first, u, v)
        wts[start] = np.where(u_first, to_u, to_v)
        second = start[two] + 1
        cols[second] = np.where(u_first, v, u)[two]
        wts[second] = np.where(u_first, to_v, to_u)[two]
        return counts, cols, wts

    def _ok_sources(self, snapped, w, what="source"):
        snapped = _as_snapped(snapped)
        ok = snapped["ok"].to_numpy(bool)
        e = snapped["edge"].to_numpy()
        bad = ok & ~np.isfinite(w[np.where(ok, e, 0).astype(np.int64)])
        if bad.any():
            raise NetworkError(
                f"{what}s {', '.join(map(str, snapped.index[bad][:10]))} are snapped to edges this vehicle "
                "class may not use; snap them with the same vehicle_class as the routing")
        return snapped, ok

    def _base_graph(self, w):
        """The directed graph for weights ``w`` (CSR, parallel arcs reduced to the cheapest); cached.

        Returns the cache entry, a dict: ``nnz`` arcs, CSR arrays ``data``, ``indices`` and
        ``indptr`` holding the graph followed by spare room, into which :meth:`_dijkstra_plus`
        writes extra rows (the sources), and a ``lock`` guarding that room.
        """
        # the cached per-class weights are keyed by identity; custom weights by content
        named = [k for k, v in self._cache.items() if isinstance(k, tuple) and k[0] == "w" and v is w]
        key = named[0] if named else w.tobytes()
        cache = self._cache.setdefault("graphs", {})
        if key not in cache:
            m = self._csr_of(w)
            if len(cache) >= 4:
                cache.pop(next(iter(cache)))
            g = {"nnz": m.nnz, "data": m.data, "indices": m.indices, "indptr": m.indptr, "lock": threading.Lock()}
            self._grow(g, 1024, 512)
            cache[key] = g
        return cache[key]

    def _grow(self, g, nnz, rows):
        """The graph's CSR arrays with room for ``rows`` more rows and ``nnz`` more arcs (reallocated if short)."""
        n0 = self.n_nodes + 1
        if len(g["data"]) < g["nnz"] + nnz or len(g["indptr"]) < n0 + rows:
            extra_nnz = max(2 * nnz, 1024)
            extra_rows = max(2 * rows, 512)
            for name, size in (("data", g["nnz"]), ("indices", g["nnz"]), ("indptr", n0)):
                a = g[name]
                g[name] = np.concatenate([a[:size], np.empty(extra_nnz if name != "indptr" else extra_rows, a.dtype)])
        return g["data"], g["indices"], g["indptr"]

    def _dijkstra_plus(self, w, counts, cols, wts, **kw):
        """scipy ``dijkstra`` on the cached graph of ``w`` with extra rows n, n+1, ... appended.

        The extra rows (``counts`` arcs each, to ``cols`` at ``wts``; the order of a row's arcs
        does not matter to the Dijkstra) are written after the graph in its spare room: the graph
        is neither rebuilt nor copied. ``kw`` go to scipy (``indices``, ``limit``, ...).
        """
        g = self._base_graph(w)
        n = self.n_nodes
        k = len(counts)
        nnz0 = g["nnz"]
        with g["lock"]:
            data, indices, indptr = self._grow(g, len(cols), k)
            nnz = nnz0 + len(cols)
            data[nnz0:nnz] = wts
            indices[nnz0:nnz] = cols
            indptr[n + 1:n + 1 + k] = nnz0 + np.cumsum(counts)
            m = csr_matrix((data[:nnz], indices[:nnz], indptr[:n + 1 + k]), shape=(n + k, n + k), copy=False)
            return dijkstra(m, directed=True, **kw)

    def _run(self, snapped, w, limit=None, min_only=False, predecessors=False):
        """Dijkstra from snapped points with per-edge weights ``w`` (NaN = closed).

        The sources become virtual nodes n.. n+k-1 joined to the ends of their edges by the exact
        partial costs, and one compiled call runs from all of them.
        """
        ok = snapped["ok"].to_numpy(bool)
        src_ok = snapped if ok.all() else snapped[ok]
        n = self.n_nodes
        k = len(src_ok)
        if k == 0:
            if min_only:
                return np.full(n, np.inf), np.full(n, -9999), np.full(n, -1)
            return np.zeros((0, n))
        counts, cols, wts = self._virtual_rows(src_ok, w)
        lim = np.inf if limit is None else float(limit)
        return self._dijkstra_plus(w, counts, cols, wts, indices=np.arange(n, n + k), limit=lim, min_only=min_only,
                                   return_predecessors=predecessors or min_only)

    def _run_nearest(self, snapped, w, limit=None):
        """Cost to the nearest snapped source and its row position (among the ``ok`` ones) per node.

        One super source n joined to the ends of every source's edge by the exact partial costs: a
        single-source run from it, cheaper than one virtual node per source. The nearest source of
        a node is the one seeding the first node of its shortest path (the least partial cost
        there, ties to the lowest source), found by following predecessors (pointer jumping).
        """
        ok = snapped["ok"].to_numpy(bool)
        src_ok = snapped if ok.all() else snapped[ok]
        n = self.n_nodes
        counts, cols, wts = self._virtual_rows(src_ok, w)
        owner = np.repeat(np.arange(len(counts)), counts)
        lim = np.inf if limit is None else float(limit)
        # one row for n with an arc per source end
        dist, pred = self._dijkstra_plus(w, np.array([len(cols)]), cols, wts, indices=n, limit=lim,
                                         return_predecessors=True)
        dist, pred = dist[:n], pred[:n]
        # the source seeding each node: the least partial cost, ties to the lowest source
        best = np.full(n, np.inf)
        np.minimum.at(best, cols, wts)
        win = np.flatnonzero(wts <= best[cols])[::-1]
        seed = np.empty(n, np.int64)  # read at seeded nodes only
        seed[cols[win]] = owner[win]
        # root of each reached node's branch of the tree: the node reached straight from n
        R = np.flatnonzero(dist < np.inf)
        root = np.empty(n, np.int64)  # read at reached nodes only (a predecessor is reached)
        p = pred[R]
        root[R] = np.where(p == n, R, p)
        while True:
            up = root[root[R]]
            if np.array_equal(up, root[R]):
                break
            root[R] = up
        nearest = np.full(n, -1, np.int64)
        nearest[R] = seed[root[R]]
        return dist, nearest

    # -- snapping -------------------------------------------------------------------------------
    def snap(self, geoms, vehicle_class: str | None = None, max_m: float | None = None,
             mask: np.ndarray | None = None) -> pd.DataFrame:
        """Snap points to the nearest point on an edge ``vehicle_class`` may use.

        Non-point geometries use a representative point (inside polygons). Returns a DataFrame
        aligned to the input index: ``edge`` (-1 when not snapped), ``offset_m`` (along the edge
        from ``u``), ``snap_m`` (distance to the nearest usable edge, also when too far), ``x``, ``y``
        (the snapped point) and ``ok`` (False when farther than ``max_m``, default
        ``params.snap_max_m``, or when there is no usable edge). ``mask`` (bool per edge)
        replaces the vehicle class's edges, for custom routing.
        """
        if isinstance(geoms, (gpd.GeoDataFrame, gpd.GeoSeries)):
            if geoms.crs is not None and as_crs(geoms.crs) != self.crs:
                raise NetworkError(f"points to snap are in {as_crs(geoms.crs).to_string()}, the network in "
                                   f"{self.crs.to_string()}; reproject them first (to_crs)")
            index = geoms.index
            arr = np.asarray(geoms.geometry.values if isinstance(geoms, gpd.GeoDataFrame) else geoms.values,
                             dtype=object)
        else:
            arr = np.asarray(list(geoms), dtype=object)
            index = pd.RangeIndex(len(arr))
        max_m = self.params.snap_max_m if max_m is None else float(max_m)
        n_in = len(arr)
        valid = ~(shapely.is_missing(arr) | shapely.is_empty(arr)) if n_in else np.zeros(0, bool)
        allowed = np.flatnonzero(self.allowed(vehicle_class) if mask is None else np.asarray(mask, bool))
        if not valid.any() or len(allowed) == 0:
            return pd.DataFrame({"edge": np.full(n_in, -1, dtype=np.int64), "offset_m": np.nan,
                                 "snap_m": np.nan, "x": np.nan, "y": np.nan, "ok": False}, index=index)
        pts = arr[valid]
        notpt = shapely.get_type_id(pts) != 0
        if notpt.any():
            pts = pts.copy()
            pts[notpt] = shapely.point_on_surface(pts[notpt])
        grid = self._snap_index(allowed, named=mask is None)
        pxy = shapely.get_coordinates(pts)
        # the exact nearest point on an allowed edge (ties: the lowest edge id), also for points
        # farther than max_m, whose distance is reported
        pos, dist, off, sx, sy = grid.nearest(pxy[:, 0], pxy[:, 1])
        e = allowed[pos]
        good = dist <= max_m
        rows = np.flatnonzero(valid)
        edge = np.full(n_in, -1, dtype=np.int64)
        offset = np.full(n_in, np.nan)
        snap_m = np.full(n_in, np.nan)
        x = np.full(n_in, np.nan)
        y = np.full(n_in, np.nan)
        ok = np.zeros(n_in, dtype=bool)
        snap_m[rows] = dist
        gi = rows[good]
        edge[gi] = e[good]
        offset[gi] = np.clip(off[good], 0.0, self._len[e[good]])
        x[gi] = sx[good]
        y[gi] = sy[good]
        ok[gi] = True
        if (~good).any():
            log.info("%d point(s) farther than %.0f m from a road usable by %s", int((~good).sum()), max_m,
                     vehicle_class or "any vehicle")
        return pd.DataFrame({"edge": edge, "offset_m": offset, "snap_m": snap_m, "x": x, "y": y, "ok": ok},
                            index=index)

    def _snap_index(self, allowed, named: bool = False):
        """The snapping index (:class:`~kzgis._net_geom.SegmentGrid`) of an edge set (edge ids); cached.

        Keyed by the edge set itself, so a vehicle class and a mask with the same edges share one
        index (at county scale each is tens of megabytes). ``named``: the set of a vehicle class,
        kept by :meth:`release_caches` (the sets of custom masks are dropped there). At most
        :data:`SNAP_INDEXES_KEPT` are kept, the least recently used dropped first.
        """
        cache = self._cache.setdefault("snap_index", {})
        key = allowed.tobytes()
        hit = cache.pop(key, None)  # re-inserted last: the most recently used
        if hit is None:
            while len(cache) >= SNAP_INDEXES_KEPT:
                cache.pop(next(iter(cache)))
            hit = (SegmentGrid(self._geoms[allowed]), named)
        elif named and not hit[1]:
            hit = (hit[0], True)
        cache[key] = hit
        return hit[0]

    def release_caches(self, keep_classes: bool = True) -> None:
        """Free the memory of what routing and snapping cached (rebuilt on the next use if needed).

        ``keep_classes=True`` drops what custom masks and weights built (their snapping indexes
        and graphs: one analysis's own edge sets) and the arc skeletons (only needed to build a new
        graph), and keeps the vehicle classes' indexes, graphs and the edge coordinates that the
        next analyses reuse; ``False`` drops everything.
        Answers do not change either way. The pipeline calls this after each analysis, and with
        ``keep_classes=False`` once the analyses are done (writing the outputs does not route).
        """
        if not keep_classes:
            self._cache.clear()
            return
        snaps = self._cache.get("snap_index", {})
        for key in [k for k, (_, named) in snaps.items() if not named]:
            del snaps[key]
        graphs = self._cache.get("graphs", {})
        for key in [k for k in graphs if not isinstance(k, tuple)]:  # custom weights: keyed by content
            del graphs[key]
        self._cache.pop("skeletons", None)

    def prepare(self, vehicle_class: str | None = None, weight: str = "time_min") -> RoadNetwork:
        """Build now what the first routing and snapping calls for a class would build (cached).

        The per-class weights, the class's directed graph (CSR), its snapping index and the
        flattened edge coordinates used to cut pieces. Optional: every call builds what it needs
        on first use; this front-loads that one-off cost (benchmarks time it separately).
        """
        w = self.edge_weights(vehicle_class, weight)
        self._base_graph(w)
        self._snap_index(np.flatnonzero(self.allowed(vehicle_class)), named=True)
        if "coords" not in self._cache:
            self._cache["coords"] = LineCoords(self._geoms)
        return self

    # -- shortest paths -------------------------------------------------------------------------
    def costs_from(self, snapped, vehicle_class: str, weight: str = "time_min", limit: float | None = None):
        """Cost from each snapped source to every node: array (n_sources, n_nodes), inf = not reached.

        Costs start at the snapped point part-way along the source's edge. Sources not snapped
        (``ok`` False) give a row of inf. Returns a :class:`NodeCosts` remembering the sources.
        """
        w = self.edge_weights(vehicle_class, weight)
        snapped, ok = self._ok_sources(snapped, w)
        if ok.all() and len(ok):
            out = self._run(snapped, w, limit=limit)[:, : self.n_nodes]
        else:
            out = np.full((len(snapped), self.n_nodes), np.inf)
            if ok.any():
                out[ok] = self._run(snapped, w, limit=limit)[:, : self.n_nodes]
        return NodeCosts(out, snapped)

    def nearest_source(self, snapped_sources, vehicle_class: str | None, weight: str = "time_min",
                       limit: float | None = None, weights: np.ndarray | None = None):
        """One multi-source run: (cost per node to the nearest source, position of that source).

        The position indexes ``snapped_sources`` (0-based row number); -1 where no source is
        reached within ``limit``. The cost array is a 1-D :class:`NodeCosts`. ``weights`` (per
        edge, NaN = closed) replaces the class/weight pair, for custom routing.
        """
        w = self.edge_weights(vehicle_class, weight) if weights is None else np.asarray(weights, float)
        snapped, ok = self._ok_sources(snapped_sources, w)
        n = self.n_nodes
        if not ok.any():
            return NodeCosts(np.full(n, np.inf), snapped), np.full(n, -1, dtype=np.int64)
        dist, nearest = self._run_nearest(snapped, w, limit=limit)
        if not ok.all():  # positions among the ok sources -> rows of snapped_sources
            nearest = np.where(nearest >= 0, np.flatnonzero(ok)[np.maximum(nearest, 0)], -1)
        return NodeCosts(dist, snapped), nearest

    def _same_edge(self, sources, targets, w):
        """Pairs (source position, target position, direct cost along the shared edge)."""
        s = sources[sources["ok"].to_numpy(bool)]
        t = targets[targets["ok"].to_numpy(bool)]
        if not len(s) or not len(t) or not np.isin(t["edge"].to_numpy(), s["edge"].to_numpy()).any():
            return np.array([], int), np.array([], int), np.array([])
        sp = pd.DataFrame({"sp": np.flatnonzero(sources["ok"].to_numpy(bool)),
                           "edge": s["edge"].to_numpy(np.int64), "so": s["offset_m"].to_numpy(float)})
        tp = pd.DataFrame({"tp": np.flatnonzero(targets["ok"].to_numpy(bool)),
                           "edge": t["edge"].to_numpy(np.int64), "to": t["offset_m"].to_numpy(float)})
        m = sp.merge(tp, on="edge")
        if not len(m):
            return np.array([], int), np.array([], int), np.array([])
        e = m["edge"].to_numpy()
        L = np.where(self._len[e] > 0, self._len[e], 1.0)
        d = (m["to"].to_numpy() - m["so"].to_numpy()) / L
        c = np.abs(d) * w[e]
        c = np.where((d < 0) & self._oneway[e], np.inf, c)
        return m["sp"].to_numpy(), m["tp"].to_numpy(), c

    def costs_to(self, node_costs, snapped_targets, vehicle_class: str, weight: str = "time_min",
                 sources=None, limit: float | None = None):
        """Cost to snapped target points part-way along their edges: (n_sources, n_targets).

        ``node_costs`` is a row or rows from :meth:`costs_from` / :meth:`nearest_source`; the
        sources they start from (``sources``, default the array's own) are used for targets on a
        source's own edge. A 1-D ``node_costs`` gives a 1-D result. Costs above ``limit`` and
        targets not snapped are inf.
        """
        w = self.edge_weights(vehicle_class, weight)
        tg, tok = self._ok_sources(snapped_targets, w, what="target")
        sources = getattr(node_costs, "sources", None) if sources is None else _as_snapped(sources)
        one = np.ndim(node_costs) == 1
        C = np.atleast_2d(np.asarray(node_costs, dtype=float))
        T = len(tg)
        res = np.full((C.shape[0], T), np.inf)
        if tok.any():
            e = tg["edge"].to_numpy()[tok].astype(np.int64)
            frac = np.clip(tg["offset_m"].to_numpy(float)[tok] / np.where(self._len[e] > 0, self._len[e], 1.0), 0, 1)
            cu = C[:, self._u[e]] + frac * w[e]
            okv = self._from_v_ok(e, tg["offset_m"].to_numpy(float)[tok])
            cv = np.where(okv, C[:, self._v[e]] + (1 - frac) * w[e], np.inf)
            res[:, tok] = np.minimum(cu, cv)
        if sources is not None and len(sources):
            sp, tp, c = self._same_edge(sources, tg, w)
            if len(sp):
                rows = np.zeros(len(sp), dtype=int) if one else sp
                np.minimum.at(res, (rows, tp), c)
        if limit is not None:
            res[res > limit] = np.inf
        return res[0] if one else res

    def nearest_source_to(self, snapped_sources, snapped_targets, vehicle_class: str | None,
                          weight: str = "time_min", limit: float | None = None,
                          weights: np.ndarray | None = None) -> pd.DataFrame:
        """For each target, the cost from the nearest source and that source's position (-1: none).

        One multi-source run; targets part-way along edges and on a source's own edge are exact.
        Returns a DataFrame aligned to the targets with ``cost`` and ``source``.
        """
        w = self.edge_weights(vehicle_class, weight) if weights is None else np.asarray(weights, float)
        sn, _ = self._ok_sources(snapped_sources, w)
        tg, tok = self._ok_sources(snapped_targets, w, what="target")
        cost, near = self.nearest_source(sn, vehicle_class, weight, limit, weights=w)
        T = len(tg)
        best = np.full(T, np.inf)
        who = np.full(T, -1, dtype=np.int64)
        if tok.any():
            e = tg["edge"].to_numpy()[tok].astype(np.int64)
            frac = np.clip(tg["offset_m"].to_numpy(float)[tok] / np.where(self._len[e] > 0, self._len[e], 1.0), 0, 1)
            cu = cost[self._u[e]] + frac * w[e]
            okv = self._from_v_ok(e, tg["offset_m"].to_numpy(float)[tok])
            cv = np.where(okv, np.asarray(cost)[self._v[e]] + (1 - frac) * w[e], np.inf)
            via_v = cv < cu
            best[tok] = np.where(via_v, cv, cu)
            who[tok] = np.where(via_v, near[self._v[e]], near[self._u[e]])
        sp, tp, c = self._same_edge(sn, tg, w)
        for s_, t_, c_ in zip(sp, tp, c):
            if c_ < best[t_]:
                best[t_], who[t_] = c_, s_
        if limit is not None:
            far = best > limit
            best[far] = np.inf
            who[far] = -1
        who[~np.isfinite(best)] = -1
        return pd.DataFrame({"cost": best, "source": who}, index=tg.index)

    # -- reached pieces -------------------------------------------------------------------------
    def reached_pieces(self, node_costs_row, limit: float, vehicle_class: str, weight: str = "time_min",
                       source=None, geometry: bool = True) -> gpd.GeoDataFrame:
        """The parts of edges whose cost is <= ``limit``, cut exactly where the budget runs out.

        ``node_costs_row`` is a 1-D cost per node (a row of :meth:`costs_from` or the result of
        :meth:`nearest_source`). Pieces on the sources' own edges start at the snapped points
        (``source``, default the row's own sources). An edge reached from both ends gives one piece
        when the two reaches meet, else two. Columns: ``edge``, ``start_m``, ``end_m`` (along the
        edge from ``u``), ``cost_start``, ``cost_end`` (cost at the piece's two ends, in the
        edge's u -> v orientation), geometry. Rows are ordered by edge, then ``start_m``.

        ``geometry=False`` returns the same rows as a plain DataFrame without the cut lines (the
        extents are exact; building the lines is most of the time on large networks).
        """
        w = self.edge_weights(vehicle_class, weight)
        c = np.asarray(node_costs_row, dtype=float)
        if c.ndim != 1 or len(c) != self.n_nodes:
            raise NetworkError(f"reached_pieces needs one cost per node ({self.n_nodes}), got shape {c.shape}")
        src = getattr(node_costs_row, "sources", None) if source is None else _as_snapped(source)
        lim = float(limit)
        fin = np.isfinite(w)
        # entries into an edge: from u (if reached), from v (two-way edges), from a source on it
        cu = c[self._u]
        cv = c[self._v]
        has_u = fin & (cu <= lim)
        has_v = fin & ~self._oneway & (cv <= lim)
        touched = has_u | has_v
        src_edge = np.zeros(len(w), dtype=bool)
        s_e = s_t = None
        if src is not None and len(src):
            okm = src["ok"].to_numpy(bool)
            s_e = src["edge"].to_numpy(np.int64)[okm]
            s_off = src["offset_m"].to_numpy(float)[okm]
            keep = fin[s_e]
            s_e, s_off = s_e[keep], s_off[keep]
            s_t = np.clip(s_off / np.where(self._len[s_e] > 0, self._len[s_e], 1.0), 0, 1)
            src_edge[s_e] = True
        parts = []
        with np.errstate(invalid="ignore", divide="ignore"):
            # edges without a source: at most the two node entries, in closed form
            e = np.flatnonzero(touched & ~src_edge)
            if len(e):
                parts.append(self._pieces_two_ends(e, w[e], cu[e], cv[e], has_u[e], has_v[e], lim))
            # the sources' own edges: every entry, overlapping reaches merged
            if s_e is not None and len(s_e):
                parts.append(self._pieces_general(np.flatnonzero(src_edge), s_e, s_t, w, cu, cv, has_u, has_v, lim))
        cols = ["edge", "start_m", "end_m", "cost_start", "cost_end"]
        if parts:
            pe, lo, hi, c0, c1 = (np.concatenate(x) for x in zip(*parts))
            L = self._len[pe]
            keep = (hi - lo) * L > 1e-9
            pe, lo, hi, c0, c1, L = pe[keep], lo[keep], hi[keep], c0[keep], c1[keep], L[keep]
            o = np.argsort(pe, kind="stable")  # sorted runs: each edge's pieces are in order already
            pe, lo, hi, c0, c1, L = pe[o], lo[o], hi[o], c0[o], c1[o], L[o]
        else:
            pe = np.zeros(0, np.int64)
            lo = hi = c0 = c1 = L = np.zeros(0)
        start = lo * L
        end = hi * L
        data = {"edge": pe, "start_m": start, "end_m": end, "cost_start": c0, "cost_end": c1}
        if not geometry:
            return pd.DataFrame(data, columns=cols)
        if not len(pe):
            return gpd.GeoDataFrame({k: [] for k in cols}, geometry=[], crs=self.crs)
        geoms = self._geoms[pe]
        part = (start > 0) | (end < L)
        if part.any():
            coords = self._cache.get("coords")
            if coords is None:
                coords = self._cache["coords"] = LineCoords(self._geoms)
            geoms[part] = coords.substrings(pe[part], start[part], end[part])
        return gpd.GeoDataFrame(data, geometry=geoms, crs=self.crs)

    @staticmethod
    def _pieces_two_ends(e, we, cu, cv, hu, hv, lim):
        """Pieces of edges entered only at their nodes (u and/or v), vectorised in closed form.

        The entry from u covers [0, hi_u] at cost cu + x w, the one from v [lo_v, 1] at cost
        cv + (1 - x) w (x the fraction along the edge); they make one piece when they meet.
        """
        tol = 1e-9
        hi_u = np.fmin(1.0, (lim - cu) / we)  # w == 0: the whole edge (0/0 -> NaN -> 1)
        lo_v = np.fmax(0.0, 1.0 - (lim - cv) / we)
        reach_u = np.where(hu, hi_u + tol, -np.inf)  # entries absent: never cover
        from_v = np.where(hv, lo_v - tol, np.inf)

        def cost(x):
            a = np.where(x <= reach_u, cu + x * we, np.inf)
            b = np.where(x >= from_v, cv + (1.0 - x) * we, np.inf)
            c = np.minimum(a, b)
            return np.where(np.isfinite(c), np.minimum(c, lim), np.nan)

        merged = hu & hv & (lo_v <= hi_u + 1e-12)
        split = hu & hv & ~merged
        lo1 = np.where(hu, 0.0, lo_v)
        hi1 = np.where(hu & ~merged, hi_u, 1.0)
        out = [e, lo1, hi1, cost(lo1), cost(hi1)]
        if split.any():
            i = np.flatnonzero(split)
            lo2 = lo_v[i]
            one = np.ones(len(i))
            e2, we, cu, cv, reach_u, from_v = e[i], we[i], cu[i], cv[i], reach_u[i], from_v[i]
            out = [np.concatenate([a, b]) for a, b in zip(out, (e2, lo2, one, cost(lo2), cost(one)))]
        return tuple(out)

    def _pieces_general(self, edges, s_e, s_t, w, cu, cv, hu, hv, lim):
        """Pieces of the sources' own edges: entries from u, v and each source; overlaps merged."""

        def frac(b, e):
            return np.where(w[e] > 0, b / np.where(w[e] > 0, w[e], 1.0), np.inf)

        eu = edges[hu[edges]]
        ev = edges[hv[edges]]
        rr = frac(np.full(len(s_e), lim), s_e)
        ent_e = np.concatenate([eu, ev, s_e])
        ent_lo = np.concatenate([np.zeros(len(eu)), np.maximum(0.0, 1.0 - frac(lim - cv[ev], ev)),
                                 np.where(self._oneway[s_e], s_t, np.maximum(0.0, s_t - rr))])
        ent_hi = np.concatenate([np.minimum(1.0, frac(lim - cu[eu], eu)), np.ones(len(ev)), np.minimum(1.0, s_t + rr)])
        ent_base = np.concatenate([cu[eu], cv[ev], np.zeros(len(s_e))])
        ent_pos = np.concatenate([np.zeros(len(eu)), np.ones(len(ev)), s_t])
        o = np.lexsort((ent_lo, ent_e))  # stable: equal starts keep the u, v, source order
        edge, lo, hi, base, pos = ent_e[o], ent_lo[o], ent_hi[o], ent_base[o], ent_pos[o]
        same = np.zeros(len(edge), bool)
        same[1:] = edge[1:] == edge[:-1]
        # running maximum of hi within each edge (a prefix scan by doubling)
        run = hi.copy()
        step = 1
        while step < len(run):
            grp = np.zeros(len(run), bool)
            grp[step:] = edge[step:] == edge[:-step]
            if not grp.any():
                break
            run[step:] = np.where(grp[step:], np.maximum(run[step:], run[:-step]), run[step:])
            step *= 2
        new = np.ones(len(edge), bool)
        new[1:] = ~same[1:] | (lo[1:] > run[:-1] + 1e-12)
        starts = np.flatnonzero(new)
        pe = edge[starts]
        p_lo = np.minimum.reduceat(lo, starts)
        p_hi = np.maximum.reduceat(hi, starts)
        # the entries of each piece's edge: pairs (piece, entry)
        g_first = np.searchsorted(edge, pe, side="left")
        g_last = np.searchsorted(edge, pe, side="right")
        cnt = g_last - g_first
        pp = np.repeat(np.arange(len(pe)), cnt)
        ee = np.arange(int(cnt.sum())) + np.repeat(g_first - (np.cumsum(cnt) - cnt), cnt)
        wq = w[edge[ee]]
        out = []
        for x in (p_lo, p_hi):
            xq = x[pp]
            inside = (xq >= lo[ee] - 1e-9) & (xq <= hi[ee] + 1e-9)
            val = np.where(inside, base[ee] + np.abs(xq - pos[ee]) * wq, np.inf)
            best = np.minimum.reduceat(val, np.cumsum(cnt) - cnt)
            out.append(np.where(np.isfinite(best), np.minimum(best, lim), np.nan))
        return pe, p_lo, p_hi, out[0], out[1]

    # -- routes and bottlenecks -----------------------------------------------------------------
    def _arc_lookup(self, w):
        """Sorted keys src*N+dst -> edge id for the arcs kept by :meth:`_csr_min` (cheapest)."""
        sk, _, pos = self._cheapest_arcs(w)
        return sk["keys"], sk["eid"][pos]

    def _walk(self, pred, start, keys, eids, v_edge):
        """Walk predecessor pointers from ``start`` nodes back to the virtual sources, all at once.

        Returns (start index, step, edge) triples; step 0 is the arc into the start node.
        """
        n = self.n_nodes
        # the edge of the tree arc into each node, looked up once for every node of the tree
        pr = np.asarray(pred[:n], np.int64)
        into = np.full(n, -1, dtype=np.int64)
        real = np.flatnonzero((pr >= 0) & (pr < n))
        into[real] = eids[np.searchsorted(keys, pr[real] * np.int64(n) + real)]
        virt = np.flatnonzero(pr >= n)
        into[virt] = v_edge[pr[virt] - n]
        cur = np.asarray(start, np.int64).copy()
        active = np.flatnonzero(cur < n)
        t_rec, s_rec, e_rec = [], [], []
        step = 0
        while len(active):
            x = cur[active]
            p = pr[x]
            t_rec.append(active)
            s_rec.append(np.full(len(active), step))
            e_rec.append(into[x])
            cur[active] = p
            active = active[p < n]
            step += 1
        if not t_rec:
            return np.array([], np.int64), np.array([], np.int64), np.array([], np.int64)
        return np.concatenate(t_rec), np.concatenate(s_rec), np.concatenate(e_rec)

    def route_edges(self, snapped_sources, snapped_targets, vehicle_class: str | None = None,
                    weight: str = "time_min", weights: np.ndarray | None = None) -> pd.DataFrame:
        """The cheapest route from the nearest source to each target, as a list of edge ids.

        ``weights`` (per edge, NaN = closed) overrides the class/weight pair, for custom routing.
        Returns a DataFrame aligned to the targets: ``cost``, ``source`` (position, -1 none),
        ``edges`` (list of edge ids from the source's edge to the target's edge).
        """
        tg = _as_snapped(snapped_targets)
        costs, sources, ptr, flat = self.route_edge_arrays(snapped_sources, tg, vehicle_class, weight, weights)
        fl = flat.tolist()
        lists = [fl[a:b] for a, b in zip(ptr[:-1].tolist(), ptr[1:].tolist())]
        return pd.DataFrame({"cost": costs, "source": sources, "edges": lists}, index=tg.index)

    def route_edge_arrays(self, snapped_sources, snapped_targets, vehicle_class: str | None = None,
                          weight: str = "time_min", weights: np.ndarray | None = None):
        """:meth:`route_edges` as arrays, for many targets: ``(cost, source, indptr, edges)``.

        Target ``i``'s route is ``edges[indptr[i]:indptr[i + 1]]`` (empty when not reached);
        ``cost`` and ``source`` as in :meth:`route_edges`.
        """
        w = self.edge_weights(vehicle_class, weight) if weights is None else np.asarray(weights, float)
        sn, ok = self._ok_sources(snapped_sources, w)
        tg, tok = self._ok_sources(snapped_targets, w, what="target")
        n = self.n_nodes
        T = len(tg)
        costs = np.full(T, np.inf)
        sources = np.full(T, -1, dtype=np.int64)
        if not (ok.any() and tok.any()):
            return costs, sources, np.zeros(T + 1, dtype=np.int64), np.array([], dtype=np.int64)
        dist, pred, srcs = self._run(sn, w, min_only=True)
        pos = np.flatnonzero(ok)
        keys, eids = self._arc_lookup(w)
        v_edge = sn[ok]["edge"].to_numpy(np.int64)
        j = np.flatnonzero(tok)
        e = tg["edge"].to_numpy()[j].astype(np.int64)
        off = tg["offset_m"].to_numpy(float)[j]
        f = np.clip(off / np.where(self._len[e] > 0, self._len[e], 1.0), 0, 1)
        cu = dist[self._u[e]] + f * w[e]
        cv = np.where(self._from_v_ok(e, off), dist[self._v[e]] + (1 - f) * w[e], np.inf)
        via_v = cv < cu
        best = np.where(via_v, cv, cu)
        node = np.where(via_v, self._v[e], self._u[e])
        # a source on the target's own edge may be closer directly
        same_src = np.full(len(j), -1, dtype=np.int64)
        sp, tp, sc = self._same_edge(sn, tg, w)
        if len(sp):
            where = np.searchsorted(j, tp)
            for a, b, c in zip(sp, where, sc):
                if c <= best[b]:
                    best[b], same_src[b] = c, a
        reach = np.isfinite(best)
        walk = reach & (same_src < 0)
        wi = np.flatnonzero(walk)
        ti, st_, ee = self._walk(pred, node[wi], keys, eids, v_edge)
        order = np.lexsort((-st_, ti))  # each route from the source's edge to the target
        ti, ee = ti[order], ee[order]
        # the target's own edge closes the route unless it already does
        cnt = np.bincount(ti, minlength=len(wi))
        end = np.cumsum(cnt)
        last = np.where(cnt > 0, ee[np.maximum(end - 1, 0)] if len(ee) else -1, -1)
        app = (cnt == 0) | (last != e[wi])
        cnt2 = cnt + app
        end2 = np.cumsum(cnt2)
        path = np.empty(int(end2[-1]) if len(end2) else 0, dtype=np.int64)
        path[np.arange(len(ee)) + np.repeat(end2 - cnt2 - (end - cnt), cnt)] = ee
        path[end2[app] - 1] = e[wi[app]]
        owner = np.repeat(wi, cnt2)
        # consecutive repeats of an edge are one step
        keep = np.ones(len(path), dtype=bool)
        keep[1:] = (owner[1:] != owner[:-1]) | (path[1:] != path[:-1])
        path, owner = path[keep], owner[keep]
        sources[j[wi]] = pos[srcs[node[wi]] - n]
        ss = np.flatnonzero(same_src >= 0)
        sources[j[ss]] = same_src[ss]
        costs[j[reach]] = best[reach]
        # every route in target order: walked ones and single edges on a source's own edge
        tgt = np.concatenate([j[owner], j[ss]])
        flat = np.concatenate([path, e[ss]])
        o = np.argsort(tgt, kind="stable")
        tgt, flat = tgt[o], flat[o]
        ptr = np.zeros(T + 1, dtype=np.int64)
        np.cumsum(np.bincount(tgt, minlength=T), out=ptr[1:])
        return costs, sources, ptr, flat

    def widest(self, snapped_sources, snapped_targets, capacity: np.ndarray, usable: np.ndarray | None = None,
               return_edges: bool = False):
        """Maximum-bottleneck (widest-path) capacity from any source to each target.

        For every target, the largest ``c`` such that the target can be reached from a source on
        edges of capacity >= ``c`` (one-way respected; ``usable`` False edges closed), the target's
        own edge included. Computed with a max-min (bottleneck) Dijkstra from a super source joined
        to every source point, whose tree gives a widest route to every node. Returns an array aligned
        to the targets (-inf where unreachable); with ``return_edges`` also the bottleneck edge of
        that route per target (the edge of least capacity; -1 where unreachable).
        """
        cap = np.asarray(capacity, float)
        use = np.isfinite(cap) if usable is None else (np.asarray(usable, bool) & np.isfinite(cap))
        sn = _as_snapped(snapped_sources)
        tg = _as_snapped(snapped_targets)
        n = self.n_nodes
        s_ok = sn[sn["ok"].to_numpy(bool)]
        s_ok = s_ok[use[s_ok["edge"].to_numpy(np.int64)]]
        se = s_ok["edge"].to_numpy(np.int64)
        w = np.where(use, cap, np.nan)
        a_src, a_dst, a_cap, a_eid = self._arcs(w)
        # a virtual node n + i per source -> both ends of its edge (u only when two-way or at u),
        # and a super source n + k -> every virtual node
        k = len(se)
        two = self._backward_ok(se, s_ok["offset_m"].to_numpy(float))
        vi = np.arange(n, n + k)
        src = np.concatenate([a_src, vi, vi[two], np.full(k, n + k)])
        dst = np.concatenate([a_dst, self._v[se], self._u[se][two], vi])
        cc = np.concatenate([a_cap, cap[se], cap[se][two], np.full(k, np.inf)])
        eid = np.concatenate([a_eid, se, se[two], np.full(k, -1)])
        # parallel arcs: keep the widest
        o = np.lexsort((-cc, dst, src))
        src, dst, cc, eid = src[o], dst[o], cc[o], eid[o]
        first = np.ones(len(src), bool)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        src, dst, cc, eid = src[first], dst[first], cc[first], eid[first]
        N = n + k + 1
        node_w, pred_arc = _widest_tree(src, dst, cc, N, n + k)
        node_w = node_w[:n]
        out = np.full(len(tg), -np.inf)
        bn = np.full(len(tg), -1, dtype=np.int64)
        ok = tg["ok"].to_numpy(bool)
        if ok.any():
            j = np.flatnonzero(ok)
            e = tg["edge"].to_numpy()[ok].astype(np.int64)
            okv = self._from_v_ok(e, tg["offset_m"].to_numpy(float)[ok])
            wu = node_w[self._u[e]]
            wv = np.where(okv, node_w[self._v[e]], -np.inf)
            via = np.maximum(wu, wv)
            node = np.where(wv > wu, self._v[e], self._u[e])
            val = np.where(use[e], np.minimum(cap[e], via), -np.inf)
            # targets on a source's own edge (direction respected)
            sp, tp, c = self._same_edge(sn, tg, np.where(use, 1.0, np.nan))
            direct = np.zeros(len(tg), bool)
            direct[tp[np.isfinite(c)]] = True
            val = np.where(direct[j] & use[e], cap[e], val)
            out[j] = val
            if return_edges:
                # walk every chain of tree arcs back to the super source, keeping the narrowest edge
                cur = np.where(direct[j] | ~np.isfinite(via), n + k, node).astype(np.int64)
                mn = np.full(len(j), np.inf)
                arg = np.full(len(j), -1, dtype=np.int64)
                active = np.flatnonzero(cur != n + k)
                while len(active):
                    arc = pred_arc[cur[active]]
                    live = arc >= 0
                    active, arc = active[live], arc[live]
                    ce, ee = cc[arc], eid[arc]
                    better = (ce < mn[active]) & (ee >= 0)
                    mn[active[better]] = ce[better]
                    arg[active[better]] = ee[better]
                    cur[active] = src[arc]
                    active = active[cur[active] != n + k]
                own = np.isfinite(val) & (cap[e] <= mn)
                arg = np.where(own, e, arg)
                bn[j] = np.where(np.isfinite(val), arg, -1)
        return (out, bn) if return_edges else out

    # -- networkx -------------------------------------------------------------------------------
    def to_networkx(self, vehicle_class: str | None = None):
        """A networkx MultiDiGraph of the edges ``vehicle_class`` may use (None: all edges).

        Two-way edges appear in both directions; edge attributes are the edge columns plus
        ``edge`` (the edge id); ``G.graph["crs"]`` is set.
        """
        import networkx as nx

        mask = np.ones(len(self.edges), bool) if vehicle_class is None else self.allowed(vehicle_class)
        G = nx.MultiDiGraph(crs=self.crs)
        G.add_nodes_from((int(i), {"x": x, "y": y}) for i, x, y in zip(self.nodes.index, self.nodes["x"],
                                                                       self.nodes["y"]))
        sel = np.flatnonzero(mask)
        recs = pd.DataFrame(self.edges.drop(columns="geometry")).iloc[sel].to_dict("records")
        u, v, ow = self._u[sel].tolist(), self._v[sel].tolist(), self._oneway[sel].tolist()
        arcs = []
        for e, a, b, o, attrs in zip(sel.tolist(), u, v, ow, recs):
            attrs["edge"] = e
            attrs["geometry"] = self._geoms[e]
            arcs.append((a, b, e, attrs))
            if not o:
                arcs.append((b, a, e, attrs))
        G.add_edges_from(arcs)
        return G


def _widest_tree(src, dst, cap, n_nodes, root):
    """Max-min Dijkstra: the widest bottleneck from ``root`` to every node and the tree arc into it.

    Arcs are (src, dst, cap). A heap of candidate widths, largest first; each node is settled
    once with the largest bottleneck any path gives it. O(E log V) in plain Python over lists
    (the arrays are converted once), about a second for 100,000 nodes.
    """
    import heapq

    order = np.argsort(src, kind="stable")
    indptr = np.searchsorted(src[order], np.arange(n_nodes + 1))
    dst_l = dst[order].tolist()
    cap_l = cap[order].tolist()
    arc_l = order.tolist()
    ptr = indptr.tolist()
    best = [-np.inf] * n_nodes
    pred = [-1] * n_nodes
    done = [False] * n_nodes
    best[root] = np.inf
    heap = [(-np.inf, root)]
    while heap:
        negw, x = heapq.heappop(heap)
        if done[x]:
            continue
        done[x] = True
        wx = -negw
        for i in range(ptr[x], ptr[x + 1]):
            y = dst_l[i]
            if done[y]:
                continue
            c = cap_l[i] if cap_l[i] < wx else wx
            if c > best[y]:
                best[y] = c
                pred[y] = arc_l[i]
                heapq.heappush(heap, (-c, y))
    return np.array(best, dtype=float), np.array(pred, dtype=np.int64)


def _as_snapped(snapped) -> pd.DataFrame:
    if isinstance(snapped, pd.DataFrame) and {"edge", "offset_m", "ok"} <= set(snapped.columns):
        return snapped
    raise NetworkError("expected the DataFrame returned by RoadNetwork.snap (columns edge, offset_m, ok)")
