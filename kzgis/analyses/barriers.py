"""Forest-fire barrier bands (林火阻隔带) measured from the forest edge into the forest.

Seed task 8 (开州府办发〔2023〕47号): the barrier system is built from the forest edge inward, at
least 200 m wide where the forest faces the urban area (城区) and at least 100 m where it faces other
townships' settlements.

Method
------
1. **Forest.** The forest layer is dissolved into connected blocks (adjacent polygons merged);
   the block boundary, holes included, is the forest edge. A settlement point lying inside the
   forest is treated as a clearing of ``built_up_radius_m`` (houses are not forest), so the forest
   around it gets an edge that can face it; such settlements are listed in a warning.
2. **Built-up land** is the urban area (``urban_area`` polygons, facing name ``name`` or 城区),
   settlement polygons, and settlement points buffered by ``built_up_radius_m``, each minus the
   forest. A settlement counts as urban when it lies in the urban area or its ``town`` is in
   ``urban_towns``.
3. **Facing test.** The edge near built-up land is cut into pieces of ``edge_step_m``. A piece
   faces a built-up feature when the feature lies within ``facing_m`` of the piece's midpoint *and*
   the straight line from the midpoint to the nearest point of the feature leaves the edge on the
   outside (a probe 1 m along it is not in forest) and crosses at most ``through_forest_max_m`` of
   forest in all (so the far side of a forest strip, an edge hidden behind another forest patch, or
   an edge turned away from the feature does not face it; the tolerance absorbs jagged edges). Of the features a piece faces, the one giving the
   larger width wins (urban 200 m over township 100 m), then the nearer one.
4. **Separation test** (existing barriers). Barrier features are water (``water_bodies``, river
   polygons, and river lines with ``width_m`` buffered by half their width) kept only where at
   least ``river_barrier_width_m`` wide (morphological opening), and roads at least
   ``road_barrier_width_m`` wide (``width_m``), buffered by half their width. Around each facing
   feature a window of ``facing_m + separation_margin_m`` is cut by the barrier features; the
   pieces of the window touching the feature are the land reachable from it without crossing a
   barrier. An edge piece is *separated* when the forest just behind it (points 1-40 m further from
   the feature) lies in none of those pieces: every way from the settlement to that forest crosses
   the river or road within the window. Water alone -> natural; water plus wide roads -> road.
   A pond that can be walked around inside the window does not separate; a river crossing the
   whole window does. Rivers and roads without ``width_m`` are not counted (the safe side: a band
   is proposed), and a warning says how many were skipped.
5. **Stretches and bands.** Contiguous pieces with the same block, facing feature, town, width and
   separation form an edge stretch (split into equal parts of at most ``max_stretch_m``). Its band
   is the forest within ``width_m`` of the stretch (3调 forest is split by every road and stream
   polygon; the band goes on behind such a gap). Its area (``area_m2``) therefore includes the half
   discs at the stretch's two ends and the forest along side edges that face the same settlement
   (a U of edge around a corner is one stretch); with ``band_ends: flat`` the ends are cut square,
   so a band of width w along a straight edge of length L has the area w x L. ``band_ends`` says
   which on every band. Overlapping bands are made disjoint:
   wider bands first, then bands to be built before existing barriers, then longer stretches.
6. **Type** (``barrier_type``). Separated stretches are ``natural`` (天然阻隔) / ``road`` (道路阻隔).
   Others: ``engineered`` (工程阻隔, an engineered break) where the band's mean DEM slope is below
   ``steep_slope_deg``, ``biological`` (生物阻隔, a belt of fire-resistant trees) on steeper ground,
   ``undetermined`` (待定) without a DEM.

``town`` is the township of the settlement the band protects (the settlement's ``town``, else the
``boundary`` township at the nearest built-up point); ``facing`` is the settlement (or urban area)
name.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from .. import rules
from .._geom import threaded, threaded_contains_xy
from ..analysis import register
from ..crs import require_projected
from . import _forest

log = logging.getLogger(__name__)

#: ``barrier_type`` codes (Chinese labels in :mod:`kzgis._labels`): 工程阻隔, 生物阻隔, existing 天然阻隔
#: (river / water) and 道路阻隔 (wide road), and 待定 (no DEM to choose engineered or biological).
TYPE_ENGINEERED = "engineered"
TYPE_BIOLOGICAL = "biological"
TYPE_NATURAL = "natural"
TYPE_ROAD = "road"
TYPE_UNKNOWN = "undetermined"
BARRIER_TYPES = (TYPE_ENGINEERED, TYPE_BIOLOGICAL, TYPE_NATURAL, TYPE_ROAD, TYPE_UNKNOWN)
_TYPE_COLUMN = {TYPE_ENGINEERED: "area_engineered_m2", TYPE_BIOLOGICAL: "area_biological_m2",
                TYPE_NATURAL: "area_natural_m2", TYPE_ROAD: "area_road_m2",
                TYPE_UNKNOWN: "area_undetermined_m2"}

_SEP_NONE, _SEP_WATER, _SEP_ROAD = 0, 1, 2
_SEP_NAME = {_SEP_NONE: "", _SEP_WATER: "water", _SEP_ROAD: "road"}
# distances (m) behind an edge piece, away from the settlement, at which the forest side is probed
_PROBE_M = (1.0, 5.0, 15.0, 40.0)
_PIECE_VERTICES = 2000  # forest blocks are cut into pieces of at most this many vertices
_ZONE_QUAD = 64  # segments per quarter circle of the facing zone (0.02 m off a true circle of 300 m)
_BAND_QUAD = 16  # same for the band buffers (they stay inside the exact width)
_PAIRS_CHUNK = 50_000  # (edge point, built-up feature) pairs whose shortest lines exist at once (memory)



@dataclass(frozen=True)
class BarrierParams:
    """Parameters of the ``barriers`` analysis (all distances in metres of the working CRS).

    Attributes
    ----------
    facing_m : edge within this distance of built-up land faces it (GB 50039 homes-to-forest 300 m).
    urban_width_m, town_width_m : band width inward from the edge facing the urban area / other
        settlements (seed task 8: 200 m / 100 m).
    built_up_radius_m : settlement points stand for a built-up disc of this radius (A).
    steep_slope_deg : mean band slope from which a biological belt replaces an engineered break (A).
    road_barrier_width_m, river_barrier_width_m : roads / water at least this wide are existing
        barriers (A).
    separation_margin_m : the separation window reaches this far beyond the facing distance (A).
    through_forest_max_m : forest the line of sight from an edge to built-up land may cross (A).
    edge_step_m : length of the edge pieces classified one by one.
    max_stretch_m : longer facing stretches are split into equal bands of at most this length.
    urban_towns : townships (streets) whose settlements count as urban when there is no
        ``urban_area`` layer, e.g. [汉丰街道, 文峰街道].
    band_ends : ``round`` (default): a band is all forest within the width of its edge stretch, so
        its area includes half discs at the stretch's two ends and the forest along side edges that
        face the same settlement; ``flat``: the band ends square across the stretch's end, so a band
        of width w along a straight edge of length L has the area w x L.
    """

    facing_m: float = rules.param("homes_to_forest_m")
    urban_width_m: float = rules.param("barrier_urban_m")
    town_width_m: float = rules.param("barrier_town_m")
    built_up_radius_m: float = rules.param("settlement_point_radius_m")
    steep_slope_deg: float = rules.param("barrier_steep_slope_deg")
    road_barrier_width_m: float = rules.param("road_barrier_width_m")
    river_barrier_width_m: float = rules.param("river_barrier_width_m")
    separation_margin_m: float = rules.param("separation_margin_m")
    through_forest_max_m: float = rules.param("through_forest_max_m")
    edge_step_m: float = 10.0
    max_stretch_m: float = 1000.0
    urban_towns: tuple[str, ...] = ()
    band_ends: str = "round"

    def __post_init__(self):
        positive = ("facing_m", "urban_width_m", "town_width_m", "built_up_radius_m", "edge_step_m",
                    "max_stretch_m")
        problems = [f"{k} must be > 0 (got {getattr(self, k)})" for k in positive if not getattr(self, k) > 0]
        for k in ("road_barrier_width_m", "river_barrier_width_m", "separation_margin_m",
                  "through_forest_max_m"):
            if not getattr(self, k) >= 0:
                problems.append(f"{k} must be >= 0 (got {getattr(self, k)})")
        if not 0 < self.steep_slope_deg < 90:
            problems.append(f"steep_slope_deg must be between 0 and 90 (got {self.steep_slope_deg})")
        if self.band_ends not in ("round", "flat"):
            problems.append(f"band_ends must be 'round' or 'flat' (got {self.band_ends!r})")
        if self.max_stretch_m < self.edge_step_m:
            problems.append("max_stretch_m must be at least edge_step_m")
        if problems:
            raise ValueError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# inputs


def _text(series, n) -> np.ndarray:
    if series is None:
        return np.full(n, None, dtype=object)
    return np.array([None if (v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "")
                     else str(v) for v in series], dtype=object)


def _built_up(ctx, p: BarrierParams) -> gpd.GeoDataFrame:
    """Urban area polygons and settlements as built-up polygons: name, town, urban, layer, fid."""
    frames = []
    urban_union = None
    if ctx.layers.has("urban_area"):
        ua = ctx.layers["urban_area"]
        geoms = _forest.polygonal(ua.geometry.values)
        names = _text(ua.get("name"), len(ua))
        names = np.where(pd.isna(names), "城区", names)
        frames.append(pd.DataFrame({"name": names, "town": np.full(len(ua), None, dtype=object),
                                    "urban": True, "layer": "urban_area", "fid": ua.index.to_numpy(),
                                    "geometry": geoms}))
        urban_union = shapely.union_all(geoms)
        shapely.prepare(urban_union)
    if ctx.layers.has("settlements"):
        st = ctx.layers["settlements"]
        geoms = np.asarray(st.geometry.values, dtype=object)
        is_pt = np.isin(shapely.get_type_id(geoms), [0, 4])  # Point, MultiPoint
        poly = geoms.copy()
        poly[is_pt] = shapely.buffer(geoms[is_pt], p.built_up_radius_m)
        poly[~is_pt] = _forest.polygonal(geoms[~is_pt])
        town = _text(st.get("town"), len(st))
        urban = np.zeros(len(st), dtype=bool)
        if urban_union is not None:
            urban |= shapely.contains(urban_union, shapely.point_on_surface(geoms))
        if p.urban_towns:
            urban |= np.isin(town.astype(str), list(p.urban_towns))
        frames.append(pd.DataFrame({"name": _text(st.get("name"), len(st)), "town": town, "urban": urban,
                                    "layer": "settlements", "fid": st.index.to_numpy(), "geometry": poly,
                                    "point": is_pt}))
    if urban_union is None and not p.urban_towns:
        ctx.warn("barriers: no urban_area layer and no urban_towns given, so no forest edge faces the "
                 f"urban area (城区) and every band uses the township width {p.town_width_m:g} m. "
                 "Add the urban_area layer or list the urban streets in barriers.urban_towns.")
    if not frames:
        return gpd.GeoDataFrame({"name": [], "town": [], "urban": [], "layer": [], "fid": [], "point": []},
                                geometry=[], crs=ctx.crs)
    df = pd.concat(frames, ignore_index=True)
    df["point"] = df.get("point", pd.Series(False, index=df.index)).fillna(False).astype(bool)
    df = df[~shapely.is_empty(df["geometry"].to_numpy())].reset_index(drop=True)
    return gpd.GeoDataFrame(df, geometry="geometry", crs=ctx.crs)


def _minus_forest(geoms, pieces) -> np.ndarray:
    """Each geometry minus the forest (``pieces``: the subdivided blocks it touches take part)."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    if len(pieces) == 0 or len(geoms) == 0:
        return out
    gi, pj = shapely.STRtree(pieces).query(geoms, predicate="intersects")
    if gi.size == 0:
        return out
    has = np.unique(gi)
    out[has] = shapely.difference(geoms[has], _union_by(pieces[pj], gi, len(geoms))[has])
    return _forest.polygonal(out)


def _barrier_features(ctx, p: BarrierParams):
    """(water polygons, wide-road polygons) usable as existing barriers, and skip counts."""
    water, skipped_rivers = [], 0
    w = p.river_barrier_width_m
    if ctx.layers.has("water_bodies"):
        water.append(_forest.polygonal(ctx.layers["water_bodies"].geometry.values))
    if ctx.layers.has("rivers"):
        rv = ctx.layers["rivers"]
        geoms = np.asarray(rv.geometry.values, dtype=object)
        is_line = np.isin(shapely.get_type_id(geoms), [1, 2, 5])
        water.append(_forest.polygonal(geoms[~is_line]))
        width = pd.to_numeric(rv["width_m"], errors="coerce").to_numpy() if "width_m" in rv else np.full(len(rv), np.nan)
        ok = is_line & np.isfinite(width) & (width >= w) & (width > 0)
        skipped_rivers = int((is_line & ~np.isfinite(width)).sum())
        if ok.any():
            water.append(shapely.buffer(geoms[ok], width[ok] / 2.0, cap_style="flat"))
    water = np.concatenate(water) if water else np.array([], dtype=object)
    water = water[~shapely.is_empty(water)]
    if water.size and w > 0:
        # keep only water at least w wide: morphological opening
        opened = shapely.buffer(shapely.buffer(water, -w / 2.0 + 1e-6), w / 2.0 - 1e-6)
        water = _forest.polygonal(shapely.intersection(opened, water))
        water = water[~shapely.is_empty(water)]
    roads, skipped_roads = np.array([], dtype=object), 0
    if ctx.layers.has("roads"):
        rd = ctx.layers["roads"]
        geoms = np.asarray(rd.geometry.values, dtype=object)
        width = pd.to_numeric(rd["width_m"], errors="coerce").to_numpy() if "width_m" in rd else np.full(len(rd), np.nan)
        skipped_roads = int((~np.isfinite(width)).sum())
        ok = np.isfinite(width) & (width >= p.road_barrier_width_m) & (width > 0)
        roads = shapely.buffer(geoms[ok], width[ok] / 2.0, cap_style="flat")
    return water, roads, skipped_rivers, skipped_roads


# ---------------------------------------------------------------------------------------------
# edge pieces and the facing test


def _edge_pieces(blocks, zone, step):
    """Forest edge inside ``zone`` cut into pieces of at most ``step``.

    Works on the ring segments of the blocks, so no overlay ever scans a whole block: segments
    inside a zone part are kept as they are, only those crossing its boundary are clipped.
    Returns (a, b) endpoint arrays (n, 2) and the block index of each piece.
    """
    empty = (np.zeros((0, 2)), np.zeros((0, 2)), np.array([], dtype=np.int64))
    a, b, owner = _forest.ring_segments(blocks)
    if len(a) == 0:
        return empty
    segs = shapely.linestrings(np.stack([a, b], axis=1))
    zparts = np.asarray(shapely.get_parts(zone), dtype=object)
    shapely.prepare(zparts)
    zi, si = shapely.STRtree(segs).query(zparts, predicate="intersects")
    if si.size == 0:
        return empty
    inside = shapely.contains(zparts[zi], segs[si])
    clipped = segs[si].copy()
    clipped[~inside] = shapely.intersection(segs[si][~inside], zparts[zi][~inside])
    lines, k = shapely.get_parts(clipped, return_index=True)
    is_line = np.isin(shapely.get_type_id(lines), [1, 2]) & (shapely.length(lines) > 0)
    lines, line_block = lines[is_line], owner[si[k[is_line]]]
    seg = shapely.segmentize(lines, step)
    xy, idx = shapely.get_coordinates(seg, return_index=True)
    same = idx[1:] == idx[:-1]
    pa, pb = xy[:-1][same], xy[1:][same]
    pblock = line_block[idx[:-1][same]]
    nonzero = np.hypot(*(pb - pa).T) > 1e-9
    return pa[nonzero], pb[nonzero], pblock[nonzero]


def _facing(mid, built_out, built_urban, forest_all, p: BarrierParams):
    """Winner built-up feature per edge piece (index or -1), its nearest point and distance.

    The candidates of a piece (features within ``facing_m``) are tried in the order of preference
    (wider band, then nearer, then lower index) and the first one passing the line-of-sight test
    wins; the test runs in rounds over all pieces at once, so a piece whose first candidate passes
    costs one test, not one per feature around it.
    """
    n = len(mid)
    win = np.full(n, -1)
    q = np.full((n, 2), np.nan)
    dist = np.full(n, np.nan)
    if n == 0 or len(built_out) == 0:
        return win, q, dist
    tree = shapely.STRtree(built_out)
    pts = shapely.points(mid)
    si, fj = tree.query(pts, predicate="dwithin", distance=p.facing_m)
    if si.size == 0:
        return win, q, dist
    # each line's second point is the nearest built-up point; the lines are made a chunk at a time
    # (at county scale all of them at once were ~100 MB)
    cq = np.empty((si.size, 2))
    d = np.empty(si.size)
    for a in range(0, si.size, _PAIRS_CHUNK):
        b = min(a + _PAIRS_CHUNK, si.size)
        sl = threaded(shapely.shortest_line, pts[si[a:b]], built_out[fj[a:b]])
        cq[a:b] = shapely.get_coordinates(sl)[1::2]
        d[a:b] = shapely.length(sl)
    del sl
    width = np.where(built_urban[fj], p.urban_width_m, p.town_width_m)
    order = np.lexsort((fj, d, -width, si))
    si, fj, cq, d = si[order], fj[order], cq[order], d[order]
    first = np.r_[True, si[1:] != si[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(si.size), 0))
    k_of = np.arange(si.size) - start  # rank of the candidate within its piece
    decided = np.zeros(n, dtype=bool)
    for r in range(int(k_of.max()) + 1):
        cand = np.flatnonzero((k_of == r) & ~decided[si])
        if cand.size == 0:
            if not ((k_of > r) & ~decided[si]).any():
                break
            continue
        ok = _line_of_sight(mid[si[cand]], cq[cand], d[cand], forest_all, p)
        good = cand[ok]
        decided[si[good]] = True
        win[si[good]] = fj[good]
        q[si[good]] = cq[good]
        dist[si[good]] = d[good]
    return win, q, dist


def _line_of_sight(m, cq, d, forest_all, p: BarrierParams) -> np.ndarray:
    """The straight line from each edge point ``m`` to its built-up point ``cq`` crosses at most
    ``through_forest_max_m`` of forest (probed every ``edge_step_m``) and leaves the edge on the
    outside (a first probe 1 m along, half-way when closer).

    The probes go in batches from the edge outward; a line that enters the forest at once or has
    already crossed too much is not probed further (its answer cannot change: the count only grows).
    """
    nprobe = np.ceil(d / p.edge_step_m).astype(int)
    spacing = d / np.maximum(nprobe, 1)
    t0 = np.minimum(1.0, d / 2.0) / np.where(d > 0, d, 1.0)
    enters = threaded_contains_xy(forest_all, m[:, 0] + t0 * (cq[:, 0] - m[:, 0]),
                                 m[:, 1] + t0 * (cq[:, 1] - m[:, 1])) & (d > 0)
    count = np.zeros(len(d), dtype=np.int64)
    alive = ~enters
    k0, size = 0, 2
    while True:
        live = np.flatnonzero(alive & (nprobe > k0))
        if live.size == 0:
            break
        n_here = np.minimum(nprobe[live], k0 + size) - k0
        rep = np.repeat(live, n_here)
        k = k0 + np.arange(rep.size) - np.repeat(np.cumsum(n_here) - n_here, n_here)
        t = (k + 0.5) / np.maximum(nprobe[rep], 1)
        px = m[rep, 0] + t * (cq[rep, 0] - m[rep, 0])
        py = m[rep, 1] + t * (cq[rep, 1] - m[rep, 1])
        inside = threaded_contains_xy(forest_all, px, py)
        count += np.bincount(rep[inside], minlength=len(d))
        alive &= ~((count * spacing) > p.through_forest_max_m)
        k0 += size
        size *= 2
    crossed = count * spacing
    return (crossed <= p.through_forest_max_m) & ~enters


def _reach(feature, window_r, barriers_tree, barriers):
    """Land within ``window_r`` of ``feature`` reachable from it without crossing a barrier."""
    window = shapely.buffer(feature, window_r)
    if barriers_tree is None:
        return window
    idx = barriers_tree.query(window, predicate="intersects")
    if idx.size == 0:
        return window
    cut = shapely.difference(window, shapely.union_all(barriers[idx]))
    parts = shapely.get_parts(_forest.polygonal([cut])[0])
    keep = parts[shapely.intersects(parts, feature)]
    return shapely.union_all(keep) if keep.size else shapely.Polygon()


def _separation(mid, q, win, built_out, water, roads, p: BarrierParams) -> np.ndarray:
    """Separation code per edge piece: none, water (天然阻隔) or road (道路阻隔)."""
    sep = np.full(len(mid), _SEP_NONE)
    if water.size == 0 and roads.size == 0:
        return sep
    v = mid - q
    d = np.hypot(v[:, 0], v[:, 1])
    has = (win >= 0) & (d > 1e-6)
    # only features whose surroundings contain a barrier need the window test
    wtree = shapely.STRtree(water) if water.size else None
    both = np.concatenate([water, roads]) if roads.size else water
    atree = shapely.STRtree(both)
    r = p.facing_m + p.separation_margin_m
    # the pieces of each facing feature (one sort, not a scan of every piece per feature)
    hidx = np.flatnonzero(has)
    hidx = hidx[np.argsort(win[hidx], kind="stable")]
    wsort = win[hidx]
    starts = np.flatnonzero(np.r_[True, wsort[1:] != wsort[:-1]]) if len(hidx) else np.array([], dtype=int)
    stops = np.r_[starts[1:], len(hidx)]
    for f, i0, i1 in zip(wsort[starts], starts, stops):
        sel = hidx[i0:i1]
        u = v[sel] / d[sel, None]
        probes = [(mid[sel, 0] + s * u[:, 0], mid[sel, 1] + s * u[:, 1]) for s in _PROBE_M]
        feat = built_out[f]

        def reached(area):
            shapely.prepare(area)
            return np.any([shapely.contains_xy(area, x, y) for x, y in probes], axis=0)

        by_water = ~reached(_reach(feat, r, wtree, water)) if wtree is not None else np.zeros(sel.size, bool)
        by_any = by_water.copy()
        if roads.size:
            by_any = ~reached(_reach(feat, r, atree, both))
        sep[sel[by_water]] = _SEP_WATER
        sep[sel[~by_water & by_any]] = _SEP_ROAD
    return sep


# ---------------------------------------------------------------------------------------------
# stretches and bands


def _stretches(a, b, key_cols: pd.DataFrame, max_m: float):
    """Merge contiguous pieces with equal keys into stretches; split long ones. Returns (lines, key row)."""
    keys = key_cols.reset_index(drop=True)
    gid = keys.groupby(list(keys.columns), sort=True, dropna=False).ngroup().to_numpy()
    order = np.argsort(gid, kind="stable")
    segs = shapely.linestrings(np.stack([a, b], axis=1)[order])
    multis = shapely.multilinestrings(segs, indices=gid[order])
    first_row = pd.Series(np.arange(len(gid))).groupby(gid).first().to_numpy()
    merged = shapely.line_merge(multis)
    parts, owner = shapely.get_parts(merged, return_index=True)
    length = shapely.length(parts)
    count = np.ceil(length / max_m - 1e-9).astype(int)
    if not (count > 1).any():
        return np.asarray(parts, dtype=object), np.asarray(first_row[owner], dtype=int)
    lines, rows = [], []
    for line, g, n, ln in zip(parts, owner, count.tolist(), length.tolist()):
        if n <= 1:
            lines.append(line)
            rows.append(first_row[g])
        else:
            step = ln / n
            for k in range(n):
                lines.append(substring(line, k * step, (k + 1) * step))
                rows.append(first_row[g])
    return np.array(lines, dtype=object), np.array(rows, dtype=int)


def _bands(stretches, widths, priority, pieces, ends: str = "round"):
    """Forest within ``width`` of each stretch; overlaps given to higher priority.

    ``ends``: ``round`` keeps half discs at the stretch ends, ``flat`` cuts the band square across
    them.

    ``pieces`` are the subdivided forest blocks (any block: a forest road or stream that splits
    the forest into two blocks does not cut a band short).
    """
    n = len(stretches)
    if n == 0:
        return np.array([], dtype=object)
    # the stretches carry a vertex every edge_step_m along straight edge segments; dropping those
    # (colinear to 1 cm) leaves the band the same and makes the buffers and overlays much smaller
    buf = threaded(shapely.buffer, shapely.simplify(stretches, 0.01), np.asarray(widths, float),
                           quad_segs=_BAND_QUAD, cap_style=ends)
    ptree = shapely.STRtree(pieces)
    si, pj = ptree.query(buf, predicate="intersects")
    inter = _forest.polygonal(threaded(shapely.intersection, buf[si], pieces[pj]))
    raw = _union_by(inter, si, n)
    # disjoint bands: earlier in priority keeps the overlap
    rank = np.empty(n, dtype=int)
    rank[priority] = np.arange(n)
    rtree = shapely.STRtree(raw)
    ii, jj = rtree.query(raw, predicate="intersects")
    earlier = rank[jj] < rank[ii]
    ii, jj = ii[earlier], jj[earlier]
    out = raw.copy()
    if ii.size:
        # subtract the earlier bands one at a time, all bands at once in rounds (cheaper than the
        # union of each band's earlier neighbours when the bands of a dense village area overlap)
        o = np.lexsort((rank[jj], ii))
        ii, jj = ii[o], jj[o]
        first = np.r_[True, ii[1:] != ii[:-1]]
        k = np.arange(ii.size) - np.maximum.accumulate(np.where(first, np.arange(ii.size), 0))
        for r in range(int(k.max()) + 1):
            sel = k == r
            out[ii[sel]] = threaded(shapely.difference, out[ii[sel]], raw[jj[sel]])
    return _forest.polygonal(out)


def _union_by(geoms, group, n) -> np.ndarray:
    """Union of ``geoms`` per group label (0..n-1); empty polygon for groups without any."""
    out = np.array([shapely.Polygon()] * n, dtype=object)
    if len(geoms) == 0:
        return out
    order = np.argsort(group, kind="stable")
    g, geoms = group[order], geoms[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    single = ends - starts == 1
    out[g[starts[single]]] = geoms[starts[single]]  # one part: nothing to union
    for a, b in zip(starts[~single], ends[~single]):
        out[g[a]] = shapely.union_all(geoms[a:b])
    return _forest.polygonal(out)


def _town_at(ctx, xy) -> np.ndarray:
    """Township of the ``boundary`` polygon containing each point (None outside / no layer)."""
    out = np.full(len(xy), None, dtype=object)
    if len(xy) == 0 or not ctx.layers.has("boundary"):
        return out
    bd = ctx.layers["boundary"]
    geoms = np.asarray(bd.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(shapely.points(xy), predicate="intersects")
    towns = _text(bd["town"], len(bd))
    first = np.r_[True, pi[1:] != pi[:-1]] if pi.size else np.array([], bool)
    out[pi[first]] = towns[gi[first]]
    return out


def _town_of_pieces(ctx, built, built_out, win, q) -> np.ndarray:
    """Township protected by each edge piece: the facing feature's ``town``; else the ``boundary``
    township at its nearest built-up point; else the ``town`` of the nearest built-up feature of
    the same kind (urban or not) that has one (the urban area polygon itself has no town)."""
    towns = _text(built["town"], len(built))
    town = towns[win]
    missing = pd.isna(town)
    if missing.any():
        town[missing] = _town_at(ctx, q[missing])
    missing = pd.isna(town)
    known = ~pd.isna(towns)
    if missing.any() and known.any():
        urban = built["urban"].to_numpy(bool)
        for flag in (True, False):
            cand = np.flatnonzero(known & (urban == flag))
            sel = np.flatnonzero(missing & (urban[win] == flag))
            if cand.size == 0 or sel.size == 0:
                continue
            tree = shapely.STRtree(built_out[cand])
            qi, ci = tree.query_nearest(shapely.points(q[sel]), all_matches=False)
            town[sel[qi]] = towns[cand[ci]]
    return town


# ---------------------------------------------------------------------------------------------
# the analysis


def _empty(ctx):
    bands = gpd.GeoDataFrame({c: [] for c in ("town", "facing", "width_m", "edge_length_m", "area_m2",
                                               "slope_mean_deg", "barrier_type", "band_ends")},
                             geometry=[], crs=ctx.crs)
    bands.index.name = "band_id"
    edges = gpd.GeoDataFrame({c: [] for c in ("band_id", "town", "facing", "width_m", "length_m",
                                               "distance_m", "separated_by", "barrier_type")},
                             geometry=[], crs=ctx.crs)
    edges.index.name = "edge_id"
    return {"barrier_bands": bands, "barrier_edges": edges, "barrier_towns": _towns_table(bands, edges)}


def _towns_table(bands, edges) -> pd.DataFrame:
    cols = ["town", "bands", "facing_settlements", "edge_length_m", "area_m2"] + list(_TYPE_COLUMN.values())
    if len(bands) == 0:
        return pd.DataFrame({c: [] for c in cols})
    b = pd.DataFrame(bands.drop(columns="geometry"))
    b["town"] = b["town"].fillna("（未知乡镇）")
    g = b.groupby("town", sort=True)
    out = pd.DataFrame({"bands": g.size(), "facing_settlements": g["facing"].nunique(),
                        "edge_length_m": g["edge_length_m"].sum(), "area_m2": g["area_m2"].sum()})
    piv = b.pivot_table(index="town", columns="barrier_type", values="area_m2", aggfunc="sum")
    for t, col in _TYPE_COLUMN.items():
        out[col] = piv[t] if t in piv else 0.0
    out = out.fillna(0.0).reset_index()
    return out[cols]


@register("barriers", title_zh="林火阻隔带", needs=("forest",), needs_any=(("settlements", "urban_area"),),
          optional=("dem", "rivers", "water_bodies", "roads", "boundary"), params=BarrierParams,
          results=("barrier_bands", "barrier_edges", "barrier_towns"))
def run_barriers(ctx, p: BarrierParams) -> dict:
    """Barrier bands from the forest edge into the forest where it faces built-up land.

    Returns ``barrier_bands`` (polygons: ``town, facing, width_m, edge_length_m, area_m2,
    slope_mean_deg, barrier_type, band_ends``; with ``band_ends`` ``round`` the area includes the
    half discs at the stretch ends and the side edges facing the same settlement), ``barrier_edges`` (the facing edge stretches) and
    ``barrier_towns`` (per township: bands, area by type, edge length).
    """
    require_projected(ctx.crs, "barriers")
    blocks = np.asarray(_forest.forest_blocks(ctx).geometry.values, dtype=object)
    built = _built_up(ctx, p)
    if len(blocks) == 0 or len(built) == 0:
        return _empty(ctx)

    # settlements swallowed by the forest become clearings
    pieces, _ = _forest.subdivide(blocks, np.arange(len(blocks)), _PIECE_VERTICES)
    built_out = _minus_forest(built.geometry.values, pieces)
    # a settlement point inside the forest stands for houses in an unmapped clearing
    pts_in = built["point"].to_numpy(bool) & shapely.intersects(
        shapely.multipolygons(shapely.get_parts(blocks)), shapely.centroid(built.geometry.values))
    swallowed = shapely.is_empty(built_out) | pts_in
    if swallowed.any():
        holes = np.asarray(built.geometry.values, dtype=object)[swallowed]
        names = ", ".join(str(x) for x in built["name"][swallowed][:10])
        more = f" and {int(swallowed.sum()) - 10} more" if swallowed.sum() > 10 else ""
        ctx.warn(f"barriers: {int(swallowed.sum())} settlement(s) lie inside the forest ({names}{more}); each "
                 "is treated as a clearing of its built-up area so the forest around it gets a barrier band")
        tree = shapely.STRtree(blocks)
        hi, bi = tree.query(holes, predicate="intersects")
        blocks = blocks.copy()
        for b_ in np.unique(bi):
            blocks[b_] = shapely.difference(blocks[b_], shapely.union_all(holes[hi[bi == b_]]))
        blocks = _forest.polygonal(blocks)
        built_out[swallowed] = holes
        pieces, _ = _forest.subdivide(blocks, np.arange(len(blocks)), _PIECE_VERTICES)
    blocks_carved = blocks
    forest_all = shapely.multipolygons(shapely.get_parts(blocks_carved))
    shapely.prepare(forest_all)
    built_out = np.asarray(built_out, dtype=object)
    urban = built["urban"].to_numpy(bool)

    # a zone slightly larger than the facing distance (polygon buffers lie inside the true one);
    # the exact distance test is done per piece
    # (one long GEOS call: the existing-barrier features are prepared on the other core meanwhile)
    with ThreadPoolExecutor(max_workers=1) as pool:
        zone_job = pool.submit(lambda: shapely.union_all(shapely.buffer(
            built_out, p.facing_m / np.cos(np.pi / (4 * _ZONE_QUAD)), quad_segs=_ZONE_QUAD)))
        features = _barrier_features(ctx, p)
        zone = zone_job.result()
    a, b, piece_block = _edge_pieces(blocks_carved, zone, p.edge_step_m)
    del zone  # memory at county scale: what is not used further goes as soon as it is done
    mid = (a + b) / 2.0
    win, q, dist = _facing(mid, built_out, urban, forest_all, p)
    del forest_all
    facing = win >= 0
    if not facing.any():
        return _empty(ctx)
    a, b, mid, q, dist, win = a[facing], b[facing], mid[facing], q[facing], dist[facing], win[facing]
    piece_block = piece_block[facing]

    water, roads, skip_rivers, skip_roads = features
    if skip_rivers:
        ctx.warn(f"barriers: {skip_rivers} river line(s) have no width_m and were not counted as natural "
                 "barriers (bands are proposed there instead); add width_m to the rivers layer")
    if skip_roads and ctx.layers.has("roads"):
        log.info("barriers: %d road(s) without width_m not counted as road barriers", skip_roads)
    sep = _separation(mid, q, win, built_out, water, roads, p)

    town = _town_of_pieces(ctx, built, built_out, win, q)
    width = np.where(urban[win], p.urban_width_m, p.town_width_m)
    keys = pd.DataFrame({"block": piece_block, "feature": win, "town": pd.Series(town).fillna(""),
                         "width": width, "sep": sep})
    lines, rows = _stretches(a, b, keys, p.max_stretch_m)
    krow = keys.iloc[rows].reset_index(drop=True)
    st_dist = shapely.distance(lines, built_out[krow["feature"].to_numpy()])

    length = shapely.length(lines)
    widths = krow["width"].to_numpy(float)
    seps = krow["sep"].to_numpy(int)
    priority = np.lexsort((np.arange(len(lines)), -length, seps != _SEP_NONE, -widths))
    band_geoms = _bands(lines, widths, priority, pieces, p.band_ends)
    area = shapely.area(band_geoms)

    if ctx.dem is not None:
        slope = np.full(len(band_geoms), np.nan)
        ok = area > 0  # DEM.zonal_mean cannot take empty geometries
        if ok.any():
            slope[ok] = ctx.dem.zonal_mean(band_geoms[ok], ctx.dem.slope_deg)
    else:
        slope = np.full(len(band_geoms), np.nan)
        ctx.warn("barriers: no DEM, so the band slope is unknown and the engineered / biological choice "
                 f"is left as '{TYPE_UNKNOWN}' (待定)")
    btype = np.where(np.isnan(slope), TYPE_UNKNOWN,
                     np.where(slope < p.steep_slope_deg, TYPE_ENGINEERED, TYPE_BIOLOGICAL)).astype(object)
    btype[seps == _SEP_WATER] = TYPE_NATURAL
    btype[seps == _SEP_ROAD] = TYPE_ROAD

    feat = krow["feature"].to_numpy()
    names = built["name"].to_numpy(object)[feat]
    towns = krow["town"].replace("", None).to_numpy(object)
    has_band = area >= 1.0
    band_id = np.full(len(lines), -1)
    band_id[has_band] = np.arange(1, has_band.sum() + 1)
    edges = gpd.GeoDataFrame({
        "band_id": pd.array(np.where(has_band, band_id, pd.NA), dtype="Int64"),
        "town": towns, "facing": names, "width_m": widths, "length_m": length, "distance_m": st_dist,
        "separated_by": [_SEP_NAME[s] for s in seps], "barrier_type": btype,
    }, geometry=lines, crs=ctx.crs)
    edges.index = pd.RangeIndex(1, len(edges) + 1, name="edge_id")
    bands = gpd.GeoDataFrame({
        "town": towns[has_band], "facing": names[has_band], "width_m": widths[has_band],
        "edge_length_m": length[has_band], "area_m2": area[has_band],
        "slope_mean_deg": [None if np.isnan(s) else float(s) for s in slope[has_band]],
        "barrier_type": btype[has_band], "band_ends": p.band_ends,
    }, geometry=band_geoms[has_band], crs=ctx.crs)
    bands.index = pd.RangeIndex(1, len(bands) + 1, name="band_id")
    if ctx.towns is not None:
        bands = bands[bands["town"].isin(ctx.towns)]
        edges = edges[edges["town"].isin(ctx.towns)]
    log.info("barriers: %d edge stretches, %d bands, %.1f km2", len(edges), len(bands), bands["area_m2"].sum() / 1e6)
    return {"barrier_bands": bands, "barrier_edges": edges, "barrier_towns": _towns_table(bands, edges)}


# --- result schema (issue 16 §3) -------------------------------------------------------------

from ..schema import Column, ResultLayer, declare  # noqa: E402

declare(
    ResultLayer("barrier_bands", "barriers", "Polygon", "林火阻隔带",
                "Buffer bands along the forest edge facing settlements / the urban area, by barrier type.",
                (Column("town", "str", "", "乡镇（街道）"),
                 Column("facing", "str", "", "面向居民点", "settlement or urban area the band protects"),
                 Column("width_m", "float", "m", "宽度（米）", "band width"),
                 Column("edge_length_m", "float", "m", "林缘长度（米）", "forest edge the band runs along"),
                 Column("area_m2", "float", "m2", "面积（平方米）", "band area"),
                 Column("slope_mean_deg", "float", "deg", "平均坡度（度）", "mean slope inside the band (DEM)"),
                 Column("barrier_type", "str", "", "阻隔类型", "engineered, biological, natural, road or undetermined"),
                 Column("band_ends", "str", "", "阻隔带端部", "how the band ends are drawn"))),
    ResultLayer("barrier_edges", "barriers", "LineString", "林缘（阻隔带起算线）",
                "The forest edge each band runs along.",
                (Column("band_id", "int", "", "阻隔带编号", "band (row of barrier_bands)"),
                 Column("town", "str", "", "乡镇（街道）"),
                 Column("facing", "str", "", "面向居民点"), Column("width_m", "float", "m", "要求宽度（米）", "band width"),
                 Column("length_m", "float", "m", "长度（米）", "edge length"),
                 Column("distance_m", "float", "m", "距保护对象（米）", "distance from the forest edge to what it faces"),
                 Column("separated_by", "str", "", "已有分隔", "what already separates the edge (river, road ...)"),
                 Column("barrier_type", "str", "", "阻隔类型"))),
    ResultLayer("barrier_towns", "barriers", None, "乡镇阻隔带统计",
                "Barrier bands per township: count, edge length and area by barrier type.",
                (Column("town", "str", "", "乡镇（街道）"),
                 Column("bands", "int", "", "阻隔带数"),
                 Column("facing_settlements", "int", "", "面向居民点数"),
                 Column("edge_length_m", "float", "m", "林缘长度（米）"), Column("area_m2", "float", "m2", "面积（平方米）"),
                 Column("area_engineered_m2", "float", "m2", "工程阻隔面积（平方米）"),
                 Column("area_biological_m2", "float", "m2", "生物阻隔面积（平方米）"),
                 Column("area_natural_m2", "float", "m2", "天然阻隔面积（平方米）"),
                 Column("area_road_m2", "float", "m2", "道路阻隔面积（平方米）"),
                 Column("area_undetermined_m2", "float", "m2", "类型待定面积（平方米）"))),
)
