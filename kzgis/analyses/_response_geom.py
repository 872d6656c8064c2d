"""Geometry of response reach for :mod:`kzgis.analyses.response`.

- :func:`service_areas`: nested service areas of one station from the engine's reached road
  pieces (the last edge cut exactly where the time runs out), buffered sideways by a trim
  distance. Never a hull: land the network does not reach stays out.
- :func:`first_due_pieces`: every reachable road piece assigned to the station that arrives
  first, edges split at the exact equal-time point.
- :func:`zone_polygons`: the first-due pieces buffered, dissolved per station and made
  non-overlapping.
- :func:`radius_shares`: how much of a straight-line response circle the network actually reaches.

Everything is vectorised over edges; only the few edges that carry a station are handled one by one.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import shapely

from .._errors import AnalysisError
from .._net_geom import substrings

log = logging.getLogger(__name__)

#: worker threads for per-station geometry (GEOS releases the GIL in buffer and union)
THREADS = max(1, min(4, os.cpu_count() or 1))

#: quadrant segments of the sideways buffers (8: round ends within 0.5 % of the trim distance, inside it)
QUAD_SEGS = 8


def corridor(lines, trim_m: float):
    """Union of ``lines`` buffered by ``trim_m`` (round ends): the land within ``trim_m`` of them."""
    lines = np.asarray(lines, dtype=object)
    lines = lines[~shapely.is_empty(lines)] if len(lines) else lines
    if len(lines) == 0:
        return shapely.Polygon()
    # buffering each piece and a cascaded union is several times faster than buffering one
    # MultiLineString of thousands of parts (GEOS), and gives the same polygon
    out = shapely.union_all(shapely.buffer(lines, trim_m, quad_segs=QUAD_SEGS))
    return shapely.make_valid(out) if not shapely.is_valid(out) else out


def parallel_map(func, items):
    """``[func(x) for x in items]`` on :data:`THREADS` threads (in order)."""
    items = list(items)
    if THREADS <= 1 or len(items) <= 1:
        return [func(x) for x in items]
    with ThreadPoolExecutor(max_workers=THREADS) as ex:
        return list(ex.map(func, items))


def _piece_key(p) -> pd.Index:
    return pd.MultiIndex.from_arrays([p["edge"].to_numpy(), np.round(p["start_m"].to_numpy(float), 6),
                                      np.round(p["end_m"].to_numpy(float), 6)])


def service_areas(net, node_costs_row, budgets, vehicle_class: str, trim_m: float, origin=None):
    """Whole service areas ("disks") of one source for increasing drive budgets.

    Parameters
    ----------
    net : kzgis.network.RoadNetwork
    node_costs_row : one row of ``net.costs_from`` (a NodeCosts remembering its source)
    budgets : increasing drive budgets (minutes, turnout already taken off)
    trim_m : sideways buffer (m)
    origin : the source's snapped point; always part of the area (it is reached at time 0, also
        when no road piece of positive length is, e.g. at the end of a one-way road)

    Returns
    -------
    list of (polygon, pieces GeoDataFrame) per budget. The polygon of a budget is the union of the
    previous one and the buffer of the pieces that are new at this budget (identical pieces are
    not buffered twice), which equals the buffer of all its pieces.
    """
    out = []
    prev_poly = shapely.Polygon() if origin is None else shapely.buffer(origin, trim_m, quad_segs=QUAD_SEGS)
    prev_keys = None
    for b in budgets:
        pieces = net.reached_pieces(node_costs_row, float(b), vehicle_class, "time_min")
        if len(pieces) == 0:
            out.append((prev_poly, pieces))
            continue
        geoms = np.asarray(pieces.geometry.values, dtype=object)
        if prev_keys is not None:
            new = ~_piece_key(pieces).isin(prev_keys)
            geoms = geoms[np.asarray(new)]
        add = corridor(geoms, trim_m)
        poly = shapely.union_all([prev_poly, add]) if not prev_poly.is_empty else add
        out.append((poly, pieces))
        prev_poly = poly
        prev_keys = _piece_key(pieces)
    return out


# ---------------------------------------------------------------------------------------------
# first-due pieces


def first_due_pieces(net, node_costs, station_costs, snapped_stations, vehicle_class: str,
                     limit: float | None = None) -> pd.DataFrame:
    """Split every reachable road edge between the stations by who arrives first.

    Parameters
    ----------
    net : RoadNetwork
    node_costs : (n_stations, n_nodes) drive times from ``net.costs_from`` (unlimited)
    station_costs : (n_stations, n_stations) drive time from each station to each station's snapped
        point (``net.costs_to(node_costs, snapped_stations, ...)``)
    snapped_stations : the snapped stations (``net.snap``), rows aligned with ``node_costs``
    limit : keep only road reached within this drive time (None: all reachable road)

    Returns
    -------
    DataFrame with ``edge``, ``start_m``, ``end_m`` (along the edge from u), ``station`` (row
    position of the first-arriving station), ``cost_start``, ``cost_end`` (drive time at the
    piece's ends) and ``cost_max`` (latest arrival on the piece).

    How: on an edge part without a station, the earliest arrival at a point a fraction ``t``
    along it is ``min(Ca + t*w, Cb + (1-t)*w)`` (the second term only when the edge is two-way),
    where ``Ca``, ``Cb`` are the earliest arrivals at its ends and ``w`` its drive time. The station
    arriving first at an end keeps that end's side; the two sides meet at ``t* = (Cb - Ca + w) / 2w``,
    the equal-time point. Edges carrying a station are first cut at the station points, whose
    earliest arrivals come from ``station_costs`` (the station itself at 0).
    """
    w_all = net.edge_weights(vehicle_class, "time_min")
    L_all = net.edges["length_m"].to_numpy(float)
    u_all = net.edges["u"].to_numpy(np.int64)
    v_all = net.edges["v"].to_numpy(np.int64)
    one_all = net.edges["oneway"].to_numpy(bool)
    C = np.asarray(node_costs, dtype=float)
    node_min = C.min(axis=0) if len(C) else np.full(net.n_nodes, np.inf)
    node_own = C.argmin(axis=0) if len(C) else np.full(net.n_nodes, -1)
    SC = np.asarray(station_costs, dtype=float)

    ok = snapped_stations["ok"].to_numpy(bool)
    st_edge = snapped_stations["edge"].to_numpy(np.int64)
    st_off = snapped_stations["offset_m"].to_numpy(float)
    st_rows = np.flatnonzero(ok)
    st_edges = set(st_edge[st_rows].tolist())

    # sub-segments: (edge, a_m, b_m, Ca, owner_a, Cb, owner_b)
    fin = np.isfinite(w_all)
    plain = np.flatnonzero(fin & ~np.isin(np.arange(len(w_all)), list(st_edges)))
    seg_e = [plain]
    seg_a = [np.zeros(len(plain))]
    seg_b = [L_all[plain]]
    seg_ca = [node_min[u_all[plain]]]
    seg_oa = [node_own[u_all[plain]]]
    seg_cb = [node_min[v_all[plain]]]
    seg_ob = [node_own[v_all[plain]]]
    for e in sorted(st_edges):
        if not fin[e]:
            continue
        here = st_rows[st_edge[st_rows] == e]
        cuts = sorted(set(np.clip(st_off[here], 0.0, L_all[e]).tolist()))
        pts = [0.0] + cuts + [float(L_all[e])]
        costs, owners = [], []
        for x in pts:
            if x == 0.0 and x not in cuts:
                costs.append(node_min[u_all[e]])
                owners.append(node_own[u_all[e]])
            elif x == float(L_all[e]) and x not in cuts:
                costs.append(node_min[v_all[e]])
                owners.append(node_own[v_all[e]])
            else:
                at = here[np.isclose(np.clip(st_off[here], 0.0, L_all[e]), x)]
                col = SC[:, at].min(axis=1)
                costs.append(col.min())
                owners.append(int(col.argmin()))
        for i in range(len(pts) - 1):
            if pts[i + 1] - pts[i] <= 0:
                continue
            seg_e.append(np.array([e]))
            seg_a.append(np.array([pts[i]]))
            seg_b.append(np.array([pts[i + 1]]))
            seg_ca.append(np.array([costs[i]]))
            seg_oa.append(np.array([owners[i]]))
            seg_cb.append(np.array([costs[i + 1]]))
            seg_ob.append(np.array([owners[i + 1]]))
    e = np.concatenate(seg_e).astype(np.int64)
    a = np.concatenate(seg_a)
    b = np.concatenate(seg_b)
    ca = np.concatenate(seg_ca)
    oa = np.concatenate(seg_oa).astype(np.int64)
    cb = np.concatenate(seg_cb)
    ob = np.concatenate(seg_ob).astype(np.int64)
    w = np.where(L_all[e] > 0, w_all[e] * (b - a) / np.where(L_all[e] > 0, L_all[e], 1.0), 0.0)
    cb = np.where(one_all[e], np.inf, cb)  # a one-way part is entered at its start only
    lim = np.inf if limit is None else float(limit)

    fa, fb = np.isfinite(ca), np.isfinite(cb)
    with np.errstate(invalid="ignore", divide="ignore"):
        tstar = np.where(fa & fb, np.clip((cb - ca + w) / np.where(w > 0, 2 * w, 1.0), 0.0, 1.0),
                         np.where(fa, 1.0, 0.0))
        tstar = np.where(w > 0, tstar, np.where(ca <= cb, 1.0, 0.0))
        # side a: [0, min(t*, (lim - ca)/w)]
        ta_end = np.minimum(tstar, np.where(w > 0, (lim - ca) / np.where(w > 0, w, 1.0), 1.0))
        # side b: [max(t*, 1 - (lim - cb)/w), 1]
        tb_start = np.maximum(tstar, np.where(w > 0, 1.0 - (lim - cb) / np.where(w > 0, w, 1.0), 0.0))
    span = b - a
    pa = fa & (ca <= lim) & (ta_end * span > 1e-9)
    pb = fb & (cb <= lim) & ((1.0 - tb_start) * span > 1e-9)
    out = pd.DataFrame({
        "edge": np.concatenate([e[pa], e[pb]]),
        "start_m": np.concatenate([a[pa], a[pb] + tb_start[pb] * span[pb]]),
        "end_m": np.concatenate([a[pa] + ta_end[pa] * span[pa], b[pb]]),
        "station": np.concatenate([oa[pa], ob[pb]]),
        "cost_start": np.concatenate([ca[pa], cb[pb] + (1.0 - tb_start[pb]) * w[pb]]),
        "cost_end": np.concatenate([ca[pa] + ta_end[pa] * w[pa], cb[pb]]),
    })
    out["cost_max"] = np.maximum(out["cost_start"], out["cost_end"])
    return out.sort_values(["edge", "start_m"], kind="mergesort").reset_index(drop=True)


def piece_geometries(net, pieces: pd.DataFrame):
    """LineStrings of pieces given by ``edge``, ``start_m``, ``end_m``."""
    if len(pieces) == 0:
        return np.array([], dtype=object)
    geoms = np.asarray(net.edges.geometry.values, dtype=object)[pieces["edge"].to_numpy(np.int64)]
    return substrings(geoms, pieces["start_m"].to_numpy(float), pieces["end_m"].to_numpy(float))


# ---------------------------------------------------------------------------------------------
# first-due polygons


def _sample(lines, spacing_m: float):
    """Points every ``spacing_m`` along each line, both ends included: (points xy, line index)."""
    lines = np.asarray(lines, dtype=object)
    if len(lines) == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    lengths = shapely.length(lines)
    n = np.maximum(np.ceil(lengths / spacing_m).astype(np.int64), 1) + 1
    owner = np.repeat(np.arange(len(lines)), n)
    k = np.arange(owner.size) - np.repeat(np.cumsum(n) - n, n)
    frac = k / (n[owner] - 1)
    pts = shapely.line_interpolate_point(lines[owner], frac, normalized=True)
    return shapely.get_coordinates(pts), owner


def zone_polygons(lines, owner, n_owners: int, trim_m: float, spacing_m: float):
    """Non-overlapping first-due polygons: the pieces of each owner buffered by ``trim_m``.

    Land within ``trim_m`` of only one station's pieces is that station's. Land within ``trim_m``
    of pieces of several stations (where zones meet) goes to the station of the **nearest piece**,
    found with the Voronoi cells of points sampled every ``spacing_m`` along the nearby pieces
    (boundary accurate to about half the spacing). On the road itself the boundary therefore falls
    at the equal-time split point.

    Returns a list of polygons, one per owner (empty when the owner has no pieces).
    """
    lines = np.asarray(lines, dtype=object)
    owner = np.asarray(owner, dtype=np.int64)
    bufs = parallel_map(lambda s: corridor(lines[owner == s], trim_m), range(n_owners))
    # contested land: where two stations' corridors overlap
    nonempty = [s for s in range(n_owners) if not bufs[s].is_empty]
    if len(nonempty) < 2:
        return bufs
    tree = shapely.STRtree([bufs[s] for s in nonempty])
    pairs = tree.query([bufs[s] for s in nonempty], predicate="intersects")
    overlaps = []
    for i, j in zip(*pairs):
        if i < j:
            ov = shapely.intersection(bufs[nonempty[i]], bufs[nonempty[j]])
            if not ov.is_empty and ov.area > 0:
                overlaps.append(ov)
    if not overlaps:
        return bufs
    contested = shapely.union_all(overlaps)
    exclusive = [shapely.difference(bp, contested) if not bp.is_empty else bp for bp in bufs]
    # the nearest piece of any contested point lies within trim of it: sample only those parts
    reach = shapely.buffer(contested, trim_m * 1.01, quad_segs=QUAD_SEGS)
    shapely.prepare(reach)
    near = shapely.intersects(reach, lines)
    parts = shapely.intersection(lines[near], reach)
    parts_owner = owner[near]
    parts, idx = shapely.get_parts(parts, return_index=True)
    parts_owner = parts_owner[idx]
    is_line = np.isin(shapely.get_type_id(parts), (1, 2))
    parts, parts_owner = parts[is_line], parts_owner[is_line]
    xy, which = _sample(parts, spacing_m)
    pt_owner = parts_owner[which]
    # one point per location (pieces of two stations meet at the equal-time point)
    key = np.round(xy, 3)
    _, first = np.unique(key, axis=0, return_index=True)
    xy, pt_owner = xy[np.sort(first)], pt_owner[np.sort(first)]
    if len(xy) < 2:
        return bufs
    cells = _voronoi_cells(xy, reach)
    out = []
    for s in range(n_owners):
        mine = cells[pt_owner == s]
        if len(mine) == 0:
            out.append(exclusive[s])
            continue
        got = _safe_intersection(_union_cells(mine), contested)
        out.append(_safe_union([exclusive[s], got]))
    # tidy: drop slivers left between neighbours, keep polygons only
    return [polygonal(p) for p in out]


def _voronoi_cells(xy, extend_to):
    """The Voronoi cell of each point (in the points' order), checked to tile the plane.

    GEOS builds the diagram in floating point; points 10 m apart along straight roads are
    collinear by the hundred, and its Delaunay step can then go wrong: on hypothesis seed 1250 one
    cell came out overlapping a hundred others (cells of 22.8 km2 in total over 16.4 km2) and two
    first-due zones overlapped by 0.04 km2. The diagram is computed about a local origin (more
    precision left), and accepted only when the cells' areas add up to the area they cover; else
    it is computed again with the points moved by a deterministic jitter of 1 mm, then 1 cm, then
    10 cm (far below the zone boundary's accuracy of half the sample spacing), which breaks the
    collinearity. A diagram still wrong then is an error, never silently used.
    """
    origin = xy.mean(axis=0)
    ext = shapely.transform(extend_to, lambda c: c - origin)
    rng = np.random.default_rng(0)
    for jitter_m in (0.0, 1e-3, 1e-2, 1e-1):
        local = xy - origin
        if jitter_m:
            local = local + rng.uniform(-jitter_m, jitter_m, local.shape)
        cells = np.asarray(shapely.get_parts(shapely.voronoi_polygons(
            shapely.multipoints(local), extend_to=ext, ordered=True)), dtype=object)
        total = float(shapely.area(cells).sum())
        try:
            tiles = len(cells) == len(local) and abs(shapely.union_all(cells).area - total) <= 1e-6 * total
        except shapely.errors.GEOSException:  # overlapping cells can make the union itself fail
            tiles = False
        if tiles:
            return np.asarray(shapely.transform(cells, lambda c: c + origin), dtype=object)
        log.debug("first-due zones: Voronoi diagram of %d points does not tile (jitter %g m); again",
                  len(local), jitter_m)
    raise AnalysisError("response: the first-due zone boundaries could not be computed (GEOS Voronoi "
                        "diagram inconsistent even with jittered points); please report this with the "
                        "run's log, or set zone_spacing_m to another value")


def _union_cells(cells):
    """Union of Voronoi cells: they tile the plane edge to edge, so a coverage union, checked.

    A plain union can fail with a GEOS TopologyException on near-coincident vertices (hypothesis
    seed 7071). The coverage union trusts that the cells meet exactly; when near-degenerate points
    make two cells' shared edge differ in the last digits it returns a self-intersecting polygon
    larger than the cells (seed 1250: 15.3 km2 for 11.7 km2 of cells, so two first-due zones
    overlapped by 0.04 km2). Its answer is therefore kept only when it is valid and its area is the
    cells' total area; otherwise the cells are unioned the robust way.
    """
    cells = np.asarray(cells, dtype=object)
    try:
        whole = shapely.coverage_union_all(cells)
        total = float(shapely.area(cells).sum())
        if whole.is_valid and abs(whole.area - total) <= 1e-7 * max(total, 1.0):
            return whole
    except shapely.errors.GEOSException:
        pass
    return _safe_union(cells)


def _safe_union(geoms):
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:  # robustness: snap to a 1 mm grid and retry
        return shapely.union_all(shapely.make_valid(np.asarray(geoms, dtype=object)), grid_size=1e-3)


def _safe_intersection(a, b):
    try:
        return shapely.intersection(a, b)
    except shapely.errors.GEOSException:
        return shapely.intersection(shapely.make_valid(a), shapely.make_valid(b), grid_size=1e-3)


def polygonal(g):
    if g.is_empty:
        return shapely.Polygon()
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


# ---------------------------------------------------------------------------------------------
# straight-line radii


def radius_shares(circle, usable_lines, reached_lines, disk):
    """Road length inside ``circle``: usable by the class, and reached in time; area share of the disk.

    Returns (road_m, reached_m, area_share).
    """
    shapely.prepare(circle)
    ul = np.asarray(usable_lines, dtype=object)
    rl = np.asarray(reached_lines, dtype=object)
    ul = ul[shapely.intersects(circle, ul)] if len(ul) else ul
    rl = rl[shapely.intersects(circle, rl)] if len(rl) else rl
    road_m = float(shapely.length(shapely.intersection(ul, circle)).sum()) if len(ul) else 0.0
    reached_m = float(shapely.length(shapely.intersection(rl, circle)).sum()) if len(rl) else 0.0
    area_share = float(shapely.intersection(disk, circle).area / circle.area) if circle.area > 0 else np.nan
    return road_m, reached_m, area_share
