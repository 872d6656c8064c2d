"""Vectorised line helpers for the road network: noding lines, cutting sub-lines, snapping.

Private to :mod:`kzgis.network`. Everything works on whole arrays of geometries at once:
:func:`node_lines` / :func:`insert_t_junctions` (noding), :func:`substrings` and
:class:`LineCoords` (sub-lines), :class:`SegmentGrid` (exact nearest point on many lines).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def insert_t_junctions(lines, tolerance_m: float):
    """Add a vertex where a line's end lies on another line's interior (a T-junction).

    Survey data often end a side road on the main road without a vertex there; such an end is
    a junction. Two lines that merely cross keep no common vertex (bridges). Returns the lines
    (the same objects where nothing changed) and how many vertices were inserted.
    """
    lines = np.asarray(lines, dtype=object)
    if len(lines) < 2:
        return lines, 0
    tol = max(float(tolerance_m), 1e-9)
    ends = np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    owner = np.concatenate([np.arange(len(lines)), np.arange(len(lines))])
    tree = shapely.STRtree(lines)
    pi, li = tree.query(ends, predicate="dwithin", distance=tol)
    keep = li != owner[pi]
    pi, li = pi[keep], li[keep]
    if not len(pi):
        return lines, 0
    # skip ends that already coincide with a vertex of that line (vertex noding handles them)
    d = shapely.line_locate_point(lines[li], ends[pi])
    xy, ci = shapely.get_coordinates(lines[np.unique(li)], return_index=True)
    uniq = np.unique(li)
    ci = uniq[ci]
    vx = pd.DataFrame({"line": ci, "x": np.floor(xy[:, 0] / tol + 0.5).astype(np.int64),
                       "y": np.floor(xy[:, 1] / tol + 0.5).astype(np.int64)})
    exy = shapely.get_coordinates(ends[pi])
    q = pd.DataFrame({"line": li, "x": np.floor(exy[:, 0] / tol + 0.5).astype(np.int64),
                      "y": np.floor(exy[:, 1] / tol + 0.5).astype(np.int64), "i": np.arange(len(li))})
    on_vertex = q.merge(vx.drop_duplicates(), on=["line", "x", "y"])["i"].to_numpy()
    new = np.ones(len(li), bool)
    new[on_vertex] = False
    L = shapely.length(lines[li])
    new &= (d > tol) & (d < L - tol)
    if not new.any():
        return lines, 0
    li, d = li[new], d[new]
    ins = shapely.get_coordinates(shapely.line_interpolate_point(lines[li], d))
    # rebuild the affected lines with the new vertices in order along each line
    aff = np.unique(li)
    axy, aidx = shapely.get_coordinates(lines[aff], return_index=True)
    seg = np.hypot(*(axy[1:] - axy[:-1]).T)
    same = aidx[1:] == aidx[:-1]
    cum = np.concatenate([[0.0], np.cumsum(np.where(same, seg, 0.0))])
    first = np.searchsorted(aidx, np.arange(len(aff)))
    along = cum - cum[first][aidx]
    pos = np.searchsorted(aff, li)
    all_idx = np.concatenate([aidx, pos])
    all_d = np.concatenate([along, d])
    all_xy = np.concatenate([axy, ins])
    o = np.lexsort((all_d, all_idx))
    rebuilt = shapely.linestrings(all_xy[o], indices=all_idx[o])
    out = lines.copy()
    out[aff] = rebuilt
    return out, int(len(li))


def node_lines(lines, tolerance_m: float, level=None, no_join=None, f_level=None, t_level=None,
               join: str = "vertices"):
    """Split lines at their ends and at every vertex shared with another line (or repeated).

    Crossings without a shared vertex are *not* nodes (bridges, overpasses). Call
    :func:`insert_t_junctions` first to also node line ends lying on another line's interior.

    Parameters
    ----------
    lines : array of LineString (no None, no empties)
    tolerance_m : vertices whose coordinates round to the same ``tolerance_m`` grid cell are the
        same vertex.
    level : per line, its level (OSM ``layer``, z-level; NaN = 0). Interior vertices join only
        vertices of the same level; line ends join whatever they touch (OSM practice: a bridge's
        ends meet the ground roads), choosing level 0 when several levels meet there.
    no_join : per line, True for bridges and tunnels: their interior vertices join nothing.
    f_level, t_level : per line, the levels of its first and last vertex (ArcGIS/StreetMap
        F_ELEV/T_ELEV; NaN = 0). When given, line ends join only vertices of their own level, and
        the interior of a line whose end levels differ joins nothing.
    join : "vertices" (default) or "endpoints": interior vertices join only where a line ends.

    Returns
    -------
    dict with
        ``geoms`` edge LineStrings (orientation of the input line),
        ``line`` index of the input line of each edge,
        ``u``, ``v`` node ids of the edge ends,
        ``node_xy`` (n_nodes, 2) node coordinates.
    """
    lines = np.asarray(lines, dtype=object)
    xy, line_of = shapely.get_coordinates(lines, return_index=True)
    if len(xy) == 0:
        return {"geoms": np.array([], dtype=object), "line": np.array([], dtype=int),
                "u": np.array([], dtype=np.int64), "v": np.array([], dtype=np.int64),
                "node_xy": np.zeros((0, 2))}
    tol = float(tolerance_m) if tolerance_m and tolerance_m > 0 else 1e-9
    kx = np.floor(xy[:, 0] / tol + 0.5).astype(np.int64)
    ky = np.floor(xy[:, 1] / tol + 0.5).astype(np.int64)
    # drop consecutive duplicate vertices of the same line
    dup = np.zeros(len(xy), dtype=bool)
    dup[1:] = (line_of[1:] == line_of[:-1]) & (kx[1:] == kx[:-1]) & (ky[1:] == ky[:-1])
    keep = ~dup
    xy, line_of, kx, ky = xy[keep], line_of[keep], kx[keep], ky[keep]
    # lines reduced to a single vertex are dropped
    counts_per_line = np.bincount(line_of, minlength=len(lines))
    good_line = counts_per_line >= 2
    keep = good_line[line_of]
    xy, line_of, kx, ky = xy[keep], line_of[keep], kx[keep], ky[keep]
    n = len(xy)
    if n == 0:
        return node_lines(np.array([], dtype=object), tol)
    first = np.ones(n, dtype=bool)
    first[1:] = line_of[1:] != line_of[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = line_of[1:] != line_of[:-1]
    sub = _join_keys(kx, ky, line_of, first, last, level, no_join, f_level, t_level, join)
    # vertex id per coordinate (same rounded key and join key -> same id), numbered along a
    # Z-order curve of 64 m cells: nodes close on the ground have close ids (cache-friendly runs)
    order = np.lexsort((sub, ky, kx, _z_order(xy, 64.0)))
    new = np.ones(n, dtype=bool)
    new[1:] = ((kx[order][1:] != kx[order][:-1]) | (ky[order][1:] != ky[order][:-1])
               | (sub[order][1:] != sub[order][:-1]))
    vid = np.empty(n, dtype=np.int64)
    vid[order] = np.cumsum(new) - 1
    n_vid = int(vid.max()) + 1
    occurrences = np.bincount(vid, minlength=n_vid)
    is_node = first | last | (occurrences[vid] > 1)
    # segments j -> j+1 for every coordinate that is not the last of its line
    seg_start = np.flatnonzero(~last)
    # every line starts at a node, so a global cumulative count numbers the edges
    seg_edge = np.cumsum(is_node[seg_start]) - 1
    n_edges = int(seg_edge[-1]) + 1 if len(seg_edge) else 0
    edge_end_seg = np.ones(len(seg_start), dtype=bool)
    edge_end_seg[:-1] = seg_edge[1:] != seg_edge[:-1]
    end_pos = seg_start[edge_end_seg] + 1
    idx_all = np.concatenate([seg_start, end_pos])
    edge_all = np.concatenate([seg_edge, np.arange(n_edges)])
    o = np.lexsort((idx_all, edge_all))
    geoms = shapely.linestrings(xy[idx_all[o]], indices=edge_all[o])
    start_pos = seg_start[np.r_[True, edge_end_seg[:-1]]] if len(seg_start) else seg_start
    node_vids = np.flatnonzero(np.bincount(vid[is_node], minlength=n_vid) > 0)
    node_of_vid = np.full(n_vid, -1, dtype=np.int64)
    node_of_vid[node_vids] = np.arange(len(node_vids))
    # coordinate of a node: its first occurrence
    first_occ = np.full(n_vid, -1, dtype=np.int64)
    rev = np.arange(n)[::-1]
    first_occ[vid[rev]] = rev
    node_xy = xy[first_occ[node_vids]]
    return {"geoms": np.asarray(geoms, dtype=object), "line": line_of[start_pos],
            "u": node_of_vid[vid[start_pos]], "v": node_of_vid[vid[end_pos]], "node_xy": node_xy}


def _place_ids(kx, ky) -> np.ndarray:
    """One id per distinct (kx, ky) grid key (int64 arithmetic when it fits, else row-wise unique)."""
    if not len(kx):
        return np.zeros(0, np.int64)
    x0, y0 = int(kx.min()), int(ky.min())
    span_y = int(ky.max()) - y0 + 1
    if (int(kx.max()) - x0 + 1) * span_y < 2**62:
        _, ids = np.unique((kx - x0) * span_y + (ky - y0), return_inverse=True)
    else:
        _, ids = np.unique(np.stack([kx, ky], axis=1), axis=0, return_inverse=True)
    return ids.ravel().astype(np.int64)


def _join_keys(kx, ky, line_of, first, last, level, no_join, f_level, t_level, join):
    """An integer per vertex occurrence: occurrences at the same place join only with equal keys.

    0 everywhere when no line has a level, structure flag or the endpoints rule (the plain case).
    """
    n = len(kx)
    end = first | last
    plain = ((level is None or not np.any(np.nan_to_num(np.asarray(level, float))))
             and (no_join is None or not np.any(no_join)) and f_level is None and join == "vertices")
    if plain:
        return np.zeros(n, np.int64)
    lv = np.zeros(n) if level is None else np.nan_to_num(np.asarray(level, float))[line_of]
    alone = np.zeros(n, bool)  # occurrences that join nothing
    anyl = np.zeros(n, bool)  # line ends that join any level
    if f_level is not None:
        fl = np.nan_to_num(np.asarray(f_level, float))[line_of]
        tl = np.nan_to_num(np.asarray(t_level, float))[line_of]
        lv = np.where(first, fl, np.where(last, tl, fl))
        alone |= ~end & (fl != tl)
    else:
        anyl = end.copy()
    if no_join is not None:
        alone |= ~end & np.asarray(no_join, bool)[line_of]
    # the place of each occurrence
    place = _place_ids(kx, ky)
    n_place = int(place.max()) + 1
    if join == "endpoints":
        has_end = np.zeros(n_place, bool)
        has_end[place[end]] = True
        alone |= ~end & ~has_end[place]
    # ends joining any level take level 0 when a level-0 vertex is there, else the lowest level
    explicit = ~alone & ~anyl
    if anyl.any():
        zero_there = np.zeros(n_place, bool)
        zero_there[place[explicit & (lv == 0)]] = True
        low = np.full(n_place, np.inf)
        np.minimum.at(low, place[explicit], lv[explicit])
        pick = np.where(zero_there[place], 0.0, np.where(np.isfinite(low[place]), low[place], 0.0))
        lv = np.where(anyl, pick, lv)
    _, key = np.unique(lv, return_inverse=True)
    key = key.ravel().astype(np.int64)
    key[alone] = key.max() + 1 + np.arange(int(alone.sum()))
    return key


def snap_dangles(lines, snap_m: float, near_m: float, tolerance_m: float, target_ok=None, level=None):
    """Move dangling line ends lying within ``snap_m`` of another line onto it; find near misses.

    A dangling end is a line end no other vertex shares. When the nearest other line (allowed by
    ``target_ok`` and of the same ``level``) is farther than ``tolerance_m`` but within ``snap_m``,
    the end is moved to the nearest point on that line (:func:`insert_t_junctions` then splits the
    line there); within ``near_m`` it is only reported. Two dangling ends close to each other meet
    at the first one's place (closest pairs first).

    Returns
    -------
    (lines, snaps, near) : the lines (changed ones rebuilt), and two DataFrames with columns
        ``line`` (moved / reported line), ``x``, ``y`` (the end before snapping), ``distance_m``,
        ``other`` (the line it is near).
    """
    lines = np.asarray(lines, dtype=object).copy()
    cols = ["line", "x", "y", "distance_m", "other"]
    empty = pd.DataFrame({c: np.array([], dtype=float if c in ("x", "y", "distance_m") else np.int64) for c in cols})
    if len(lines) < 2 or near_m <= 0:
        return lines, empty, empty.copy()
    tol = max(float(tolerance_m), 1e-9)
    n = len(lines)
    ends = np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    owner = np.concatenate([np.arange(n), np.arange(n)])
    which = np.concatenate([np.zeros(n, np.int64), np.full(n, -1)])
    exy = shapely.get_coordinates(ends)
    xy = shapely.get_coordinates(lines)

    def grid(a):
        return np.floor(a[:, 0] / tol + 0.5).astype(np.int64), np.floor(a[:, 1] / tol + 0.5).astype(np.int64)

    def key(a):
        gx, gy = grid(a)
        return list(zip(gx.tolist(), gy.tolist()))

    # occurrences of each rounded place over all vertices (a closed line's ends count twice)
    gx, gy = grid(np.concatenate([xy, exy]))
    place = _place_ids(gx, gy)
    occ = np.bincount(place[:len(xy)], minlength=int(place.max()) + 1)[place[len(xy):]]
    ek = key(exy)
    dangling = occ == 1
    if not dangling.any():
        return lines, empty, empty.copy()
    di = np.flatnonzero(dangling)
    tree = shapely.STRtree(lines)
    pi, ti = tree.query(ends[di], predicate="dwithin", distance=near_m)
    pi = di[pi]
    keep = ti != owner[pi]
    pi, ti = pi[keep], ti[keep]
    if not len(pi):
        return lines, empty, empty.copy()
    d = shapely.distance(lines[ti], ends[pi])
    ok_t = np.ones(n, bool) if target_ok is None else np.asarray(target_ok, bool)
    lv = np.zeros(n) if level is None else np.nan_to_num(np.asarray(level, float))
    allowed = ok_t[ti] & (lv[ti] == lv[owner[pi]])
    # nearest line per end, allowed targets first (ties: lowest line)
    o = np.lexsort((ti, d, ~allowed, pi))
    pi, ti, d, allowed = pi[o], ti[o], d[o], allowed[o]
    firsts = np.r_[True, pi[1:] != pi[:-1]]
    pi, ti, d, allowed = pi[firsts], ti[firsts], d[firsts], allowed[firsts]
    # ends already on a line (T-junctions) are left to insert_t_junctions
    on_line = d <= tol
    snap = allowed & ~on_line & (d <= snap_m)
    rows_snap = []
    moved: set = set()
    order = np.flatnonzero(snap)[np.argsort(d[snap], kind="stable")]
    for k in order:
        end_i, tgt = int(pi[k]), int(ti[k])
        if ek[end_i] in moved:
            continue  # another end was moved onto this one: the two ends meet there
        ln = int(owner[end_i])
        target = lines[tgt]
        p = shapely.line_interpolate_point(target, shapely.line_locate_point(target, ends[end_i]))
        pxy = shapely.get_coordinates(p)
        c = shapely.get_coordinates(lines[ln]).copy()
        c[which[end_i]] = pxy[0]
        lines[ln] = shapely.linestrings(c)
        moved.add(key(pxy)[0])
        moved.add(ek[end_i])
        rows_snap.append((ln, exy[end_i, 0], exy[end_i, 1], float(d[k]), tgt))
    near = ~on_line & ~snap & (d <= near_m)
    near_rows = [(int(owner[pi[k]]), exy[pi[k], 0], exy[pi[k], 1], float(d[k]), int(ti[k]))
                 for k in np.flatnonzero(near)]

    def frame(rows):
        if not rows:
            return empty.copy()
        return pd.DataFrame(rows, columns=cols)

    return lines, frame(rows_snap), frame(near_rows)


def _z_order(xy, cell: float) -> np.ndarray:
    """Z-order (Morton) code of the ``cell``-sized grid cell of each point (up to 2^21 cells a side)."""
    if not len(xy):
        return np.zeros(0, np.int64)
    ij = np.floor((xy - xy.min(axis=0)) / cell).astype(np.int64)
    ij = np.minimum(ij, 2**21 - 1)
    z = np.zeros(len(xy), np.int64)
    for b in range(int(ij.max()).bit_length()):
        z |= ((ij[:, 0] >> b) & 1) << (2 * b) | ((ij[:, 1] >> b) & 1) << (2 * b + 1)
    return z


def substrings(lines, start_m, end_m):
    """Sub-lines of ``lines[i]`` between distances ``start_m[i]`` and ``end_m[i]`` (metres from the start).

    Vectorised equivalent of :func:`shapely.ops.substring` for ``start_m <= end_m`` (both clipped
    to the line). A zero-length request gives a two-point line of length zero.
    """
    lines = np.asarray(lines, dtype=object)
    if len(lines) == 0:
        return np.array([], dtype=object)
    return LineCoords(lines).substrings(np.arange(len(lines)), start_m, end_m)


class LineCoords:
    """The vertices of many lines, flattened once, for cutting sub-lines of any of them quickly.

    ``substrings(ids, start_m, end_m)`` cuts ``lines[ids[i]]``; keeping one of these per network
    spares reading the coordinates back from the geometries on every call.
    """

    def __init__(self, lines):
        lines = np.asarray(lines, dtype=object)
        self.lengths = shapely.length(lines) if len(lines) else np.zeros(0)
        xy, li = shapely.get_coordinates(lines, return_index=True)
        seg = np.hypot(*(xy[1:] - xy[:-1]).T) if len(xy) else np.zeros(0)
        same = li[1:] == li[:-1]
        seg = np.where(same, seg, 0.0)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.first = np.searchsorted(li, np.arange(len(lines)))  # first vertex of each line
        self.last = np.concatenate([self.first[1:], [len(xy)]]) - 1  # last vertex of each line
        self.d = cum - cum[self.first][li] if len(xy) else cum[:0]  # distance of each vertex along its line
        # a globally increasing key: line base + distance
        self.base = np.concatenate([[0.0], np.cumsum(self.lengths + 1.0)[:-1]])
        self.key = self.base[li] + self.d
        self.seg_len = np.concatenate([seg, [0.0]])
        self.xy = xy

    def substrings(self, ids, start_m, end_m):
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.array([], dtype=object)
        lengths = self.lengths[ids]
        a = np.clip(np.asarray(start_m, float), 0.0, lengths)
        b = np.clip(np.asarray(end_m, float), 0.0, lengths)
        b = np.maximum(a, b)
        base = self.base[ids]
        line_first = self.first[ids]
        line_last = self.last[ids]
        eps = 1e-9 * np.maximum(lengths, 1.0)  # vertices this close to a cut are the cut point itself
        lo = np.searchsorted(self.key, base + a + eps, side="right")
        hi = np.searchsorted(self.key, base + b - eps, side="left")
        hi = np.maximum(hi, lo)
        n_inner = hi - lo
        x, y, d, seg_len = self.xy[:, 0], self.xy[:, 1], self.d, self.seg_len
        last_seg = np.maximum(line_last - 1, line_first)

        def at(dist, j):  # the cut points, interpolated on the segment that holds them
            j = np.clip(j, line_first, last_seg)
            sl = seg_len[j]
            with np.errstate(invalid="ignore", divide="ignore"):
                t = np.where(sl > 0, (dist - d[j]) / sl, 0.0)
            np.clip(t, 0.0, 1.0, out=t)
            nxt = np.minimum(j + 1, line_last)
            x0, y0 = x[j], y[j]
            return x0 + t * (x[nxt] - x0), y0 + t * (y[nxt] - y0)

        p0 = at(a, lo - 1)
        p1 = at(b, hi - 1)
        counts = n_inner + 2
        offsets = np.cumsum(counts) - counts
        total = int(counts.sum())
        out = np.empty((total, 2))
        out[offsets, 0], out[offsets, 1] = p0
        out[offsets + counts - 1, 0], out[offsets + counts - 1, 1] = p1
        owner = np.repeat(np.arange(len(ids)), n_inner)
        if owner.size:
            k = np.arange(owner.size) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
            out[offsets[owner] + 1 + k] = self.xy[lo[owner] + k]
        return np.asarray(shapely.linestrings(out, indices=np.repeat(np.arange(len(ids)), counts)), dtype=object)


class SegmentGrid:
    """Exact nearest point on a set of lines for many query points at once (numpy only).

    The lines' segments are registered in the cells of a uniform grid (cell size about the mean
    spacing of the segments, so a few segments per cell); long segments are cut into pieces no
    longer than a cell, each registered in every cell its bounding box touches. A query looks at
    the (2r + 1)^2 cells around each point, r = 1, 2, 4, 8: when the nearest segment found is
    closer than the edge of that block of cells it is the true nearest (any segment that close has
    a part in those cells). Points farther than that from every line are answered by a shapely
    ``STRtree`` built on first need.

    Speed: a cell's segments are stored together (in cell order, as float32 offsets from the
    grid's corner), so a query reads short contiguous runs; the float32 distances only shortlist
    the segments within a few centimetres of the nearest (a bound on their rounding), whose exact
    distances are then computed in float64. Ties (within 1e-9 m) go to the lowest line position,
    then the smallest offset along it.
    """

    #: the largest ring searched on the grid before the STRtree answers (cells)
    MAX_RING = 8
    #: cell size as a multiple of sqrt(area / segments)
    CELL_FACTOR = 1.0

    def __init__(self, lines):
        self.lines = np.asarray(lines, dtype=object)
        xy, li = shapely.get_coordinates(self.lines, return_index=True)
        s = np.flatnonzero(li[1:] == li[:-1]) if len(li) else np.array([], np.int64)
        x0, y0 = xy[s, 0], xy[s, 1]
        x1, y1 = xy[s + 1, 0], xy[s + 1, 1]
        line = li[s]
        # distance along its line of each segment's start
        csum = np.concatenate([[0.0], np.cumsum(np.hypot(x1 - x0, y1 - y0))])
        along = csum[:-1] - csum[np.searchsorted(line, line)]
        n = len(s)
        self.n_seg = n
        self._tree = None
        self.cell, self.nx, self.ny, self.xmin, self.ymin = 1.0, 1, 1, 0.0, 0.0
        self.indptr = np.zeros(2, np.int64)
        if n:
            xmin = float(min(x0.min(), x1.min()))
            ymin = float(min(y0.min(), y1.min()))
            W = float(max(x0.max(), x1.max())) - xmin
            H = float(max(y0.max(), y1.max())) - ymin
            c = max(self.CELL_FACTOR * np.sqrt(W * H / n), max(W, H) / n, 1.0)
            self.cell, self.xmin, self.ymin = c, xmin, ymin
            self.nx, self.ny = int(W // c) + 1, int(H // c) + 1
            # segments in grid-cell order (of their midpoints), so a query's segments are close in memory
            order = np.argsort(self._iy((y0 + y1) / 2) * self.nx + self._ix((x0 + x1) / 2), kind="stable")
            x0, y0, x1, y1, line, along = x0[order], y0[order], x1[order], y1[order], line[order], along[order]
        dx, dy = x1 - x0, y1 - y0
        len2 = dx * dx + dy * dy
        self.seg_len = np.sqrt(len2)
        self.line = line.astype(np.int32) if len(line) and line.max() < 2**31 - 1 else line
        self.along = along
        self.cols = (x0, y0, x1, y1)  # exact ends; differences are taken for the few candidates
        self.reg = tuple(np.zeros(0, np.float32) for _ in range(5))
        self.reg_seg = np.zeros(0, np.int64)
        self.eps = 0.0
        if n == 0:
            return
        c = self.cell
        # pieces of segments no longer than about a cell along each axis
        nsub = (np.maximum(np.abs(dx), np.abs(dy)) // c).astype(np.int64) + 1
        if (nsub == 1).all():
            sg = np.arange(n)
            xa, xb, ya, yb = x0, x1, y0, y1
        else:
            sg = np.repeat(np.arange(n), nsub)
            j = np.arange(len(sg)) - np.repeat(np.cumsum(nsub) - nsub, nsub)
            ta = j / nsub[sg]
            tb = (j + 1) / nsub[sg]
            xa, xb = x0[sg] + ta * dx[sg], x0[sg] + tb * dx[sg]
            ya, yb = y0[sg] + ta * dy[sg], y0[sg] + tb * dy[sg]
        ix0 = self._ix(np.minimum(xa, xb))
        iy0 = self._iy(np.minimum(ya, yb))
        kx = self._ix(np.maximum(xa, xb)) - ix0 + 1
        ky = self._iy(np.maximum(ya, yb)) - iy0 + 1
        k = kx * ky
        r = np.repeat(np.arange(len(sg)), k)
        j = np.arange(len(r)) - np.repeat(np.cumsum(k) - k, k)
        cells = (iy0[r] + j // kx[r]) * self.nx + ix0[r] + j % kx[r]
        # counting sort by cell (linear), repeats of a segment in a cell summed away
        from scipy.sparse import coo_matrix

        m = coo_matrix((np.ones(len(r), np.int8), (cells, sg[r])), shape=(self.nx * self.ny, n)).tocsr()
        itype = np.int32 if max(m.nnz, n) < 2**31 - 1 else np.int64
        self.indptr = m.indptr.astype(itype)
        reg = m.indices.astype(itype)
        self.reg_seg = reg
        with np.errstate(divide="ignore"):
            inv = np.where(len2 > 0, 1.0 / np.where(len2 > 0, len2, 1.0), 0.0)
        f32 = np.float32
        self.reg = ((x0[reg] - self.xmin).astype(f32), (y0[reg] - self.ymin).astype(f32), dx[reg].astype(f32),
                    dy[reg].astype(f32), inv[reg].astype(f32))
        # a bound on the float32 distance error near the grid (coordinates up to E from its corner)
        E = max(self.nx, self.ny) * c + 2 * (self.MAX_RING + 1) * c
        self.eps = 16.0 * E * 2.0 ** -24 + 1e-4

    def _ix(self, x):
        return np.clip(np.floor((x - self.xmin) / self.cell), 0, self.nx - 1).astype(np.int64)

    def _iy(self, y):
        return np.clip(np.floor((y - self.ymin) / self.cell), 0, self.ny - 1).astype(np.int64)

    def _exact(self, qx, qy, sg):
        """Exact (float64) segment parameter and squared distance of points (qx, qy) to segments sg."""
        x0, y0, x1, y1 = self.cols
        a0, b0 = x0[sg], y0[sg]
        ax = qx - a0
        ay = qy - b0
        gx, gy = x1[sg] - a0, y1[sg] - b0
        l2 = gx * gx + gy * gy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(l2 > 0, (ax * gx + ay * gy) / l2, 0.0)
        np.clip(t, 0.0, 1.0, out=t)
        return t, (ax - t * gx) ** 2 + (ay - t * gy) ** 2

    def _search(self, px, py, r):
        """Nearest segment among the (2r + 1)^2 cells around each point: (found, segment, t, d2)."""
        P = len(px)
        c = self.cell
        fx = np.clip(np.floor((px - self.xmin) / c), -r - 1, self.nx + r).astype(np.int64)
        fy = np.clip(np.floor((py - self.ymin) / c), -r - 1, self.ny + r).astype(np.int64)
        o = np.arange(-r, r + 1)
        side = len(o)
        # the registrations of a block row of cells are one contiguous run [start, stop)
        cy = fy[:, None] + o  # (P, side)
        x_lo = np.clip(fx - r, 0, self.nx)
        x_hi = np.clip(fx + r + 1, 0, self.nx)
        row_ok = (cy >= 0) & (cy < self.ny) & (x_hi > x_lo)[:, None]
        base = np.where(row_ok, cy * self.nx, 0)
        start = self.indptr[base + x_lo[:, None]]
        stop = self.indptr[base + x_hi[:, None]]
        cnt = np.where(row_ok, stop - start, 0).ravel()
        start = start.ravel()
        found = np.zeros(P, bool)
        best_seg = np.full(P, -1, np.int64)
        best_t = np.zeros(P)
        best_d2 = np.full(P, np.inf)
        tot = int(cnt.sum())
        if not tot:
            return found, best_seg, best_t, best_d2
        per_pt = cnt.reshape(P, side).sum(axis=1)
        pt = np.repeat(np.arange(P), per_pt)
        ends = np.cumsum(cnt)
        pos = np.arange(tot) + np.repeat(start - (ends - cnt), cnt)
        # float32 distances of every candidate, from contiguous runs
        rx0, ry0, rdx, rdy, rinv = self.reg
        ax = np.take((px - self.xmin).astype(np.float32), pt)
        ay = np.take((py - self.ymin).astype(np.float32), pt)
        ax -= np.take(rx0, pos)
        ay -= np.take(ry0, pos)
        gx = np.take(rdx, pos)
        gy = np.take(rdy, pos)
        t = ax * gx
        t += ay * gy
        t *= np.take(rinv, pos)
        np.clip(t, 0.0, 1.0, out=t)
        gx *= t
        gy *= t
        ax -= gx
        ay -= gy
        ax *= ax
        ay *= ay
        d2 = ax
        d2 += ay
        has = per_pt > 0
        hp = np.flatnonzero(has)
        g0 = (np.cumsum(per_pt) - per_pt)[has]
        dmin = np.full(P, np.inf)
        dmin[hp] = np.sqrt(np.minimum.reduceat(d2, g0).astype(float))
        # shortlist: within twice the float32 error bound of the least; then exact distances
        keep = (dmin + 2 * self.eps) ** 2
        cand = np.flatnonzero(d2 <= np.take(keep, pt))
        cp = pt[cand]
        cs = np.take(self.reg_seg, pos[cand])
        ct, cd2 = self._exact(px[cp], py[cp], cs)
        g = np.flatnonzero(np.r_[True, cp[1:] != cp[:-1]])
        size = np.diff(np.append(g, len(cp)))
        emin = np.minimum.reduceat(cd2, g)
        # at the least distance (within 1e-9 m): the lowest line, then the smallest offset
        tie = cd2 <= np.repeat(emin + 2e-9 * np.sqrt(emin) + 1e-18, size)
        ln = np.where(tie, self.line[cs].astype(np.int64), np.iinfo(np.int64).max)
        tie &= ln == np.repeat(np.minimum.reduceat(ln, g), size)
        off = np.where(tie, self.along[cs] + ct * self.seg_len[cs], np.inf)
        tie &= off == np.repeat(np.minimum.reduceat(off, g), size)
        k = np.flatnonzero(tie)
        k = k[np.r_[True, cp[k[1:]] != cp[k[:-1]]]]
        tp = cp[k]
        best_seg[tp] = cs[k]
        best_t[tp] = ct[k]
        best_d2[tp] = cd2[k]
        # exact when within the distance from the point to the edge of its block of cells
        rad = np.minimum(np.minimum(px - self.xmin - (fx - r) * c, self.xmin + (fx + r + 1) * c - px),
                         np.minimum(py - self.ymin - (fy - r) * c, self.ymin + (fy + r + 1) * c - py))
        found[tp] = cd2[k] <= np.maximum(rad[tp], 0.0) ** 2
        return found, best_seg, best_t, best_d2

    def _point(self, sg, t):
        """The point at parameter t of segments sg (the end vertex itself at t = 1)."""
        x0, y0, x1, y1 = self.cols
        a0, b0, a1, b1 = x0[sg], y0[sg], x1[sg], y1[sg]
        end = t >= 1.0
        return np.where(end, a1, a0 + t * (a1 - a0)), np.where(end, b1, b0 + t * (b1 - b0))

    def nearest(self, px, py):
        """For points (px, py): (line position, distance, offset along the line, x, y) of the nearest point.

        Line position -1 (distance inf) only when there are no lines.
        """
        px = np.asarray(px, float)
        py = np.asarray(py, float)
        P = len(px)
        out_line = np.full(P, -1, np.int64)
        out_d = np.full(P, np.inf)
        out_off = np.full(P, np.nan)
        out_x = np.full(P, np.nan)
        out_y = np.full(P, np.nan)
        if P == 0 or self.n_seg == 0:
            return out_line, out_d, out_off, out_x, out_y
        todo = np.arange(P)
        r = 1
        while len(todo) and r <= self.MAX_RING:
            found, sg, t, d2 = self._search(px[todo], py[todo], r)
            hit = todo[found]
            sg, t = sg[found], t[found]
            sx, sy = self._point(sg, t)
            out_line[hit] = self.line[sg]
            out_d[hit] = np.hypot(px[hit] - sx, py[hit] - sy)
            out_off[hit] = self.along[sg] + t * self.seg_len[sg]
            out_x[hit] = sx
            out_y[hit] = sy
            todo = todo[~found]
            r *= 2
        if len(todo):
            if self._tree is None:
                self._tree = shapely.STRtree(self.lines)
            pts = shapely.points(px[todo], py[todo])
            (qi, ti), dd = self._tree.query_nearest(pts, return_distance=True, all_matches=True)
            o = np.lexsort((ti, qi))
            qi, ti, dd = qi[o], ti[o], dd[o]
            first = np.ones(len(qi), bool)
            first[1:] = qi[1:] != qi[:-1]
            qi, ti, dd = qi[first], ti[first], dd[first]
            geo = self.lines[ti]
            off = shapely.line_locate_point(geo, pts[qi])
            sxy = shapely.get_coordinates(shapely.line_interpolate_point(geo, off))
            rr = todo[qi]
            out_line[rr] = ti
            out_d[rr] = dd
            out_off[rr] = off
            out_x[rr] = sxy[:, 0]
            out_y[rr] = sxy[:, 1]
        return out_line, out_d, out_off, out_x, out_y
