"""Vectorised line helpers for the road network: noding lines and cutting sub-lines.

Private to :mod:`kzgis.network`. Everything works on whole arrays of geometries at once.
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


def node_lines(lines, tolerance_m: float):
    """Split lines at their ends and at every vertex shared with another line (or repeated).

    Crossings without a shared vertex are *not* nodes (bridges, overpasses). Call
    :func:`insert_t_junctions` first to also node line ends lying on another line's interior.

    Parameters
    ----------
    lines : array of LineString (no None, no empties)
    tolerance_m : vertices whose coordinates round to the same ``tolerance_m`` grid cell are the
        same vertex.

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
    # vertex id per coordinate (same rounded key -> same id)
    order = np.lexsort((ky, kx))
    new = np.ones(n, dtype=bool)
    new[1:] = (kx[order][1:] != kx[order][:-1]) | (ky[order][1:] != ky[order][:-1])
    vid = np.empty(n, dtype=np.int64)
    vid[order] = np.cumsum(new) - 1
    n_vid = int(vid.max()) + 1
    first = np.ones(n, dtype=bool)
    first[1:] = line_of[1:] != line_of[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = line_of[1:] != line_of[:-1]
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


def substrings(lines, start_m, end_m):
    """Sub-lines of ``lines[i]`` between distances ``start_m[i]`` and ``end_m[i]`` (metres from the start).

    Vectorised equivalent of :func:`shapely.ops.substring` for ``start_m <= end_m`` (both clipped
    to the line). A zero-length request gives a two-point line of length zero.
    """
    lines = np.asarray(lines, dtype=object)
    if len(lines) == 0:
        return np.array([], dtype=object)
    lengths = shapely.length(lines)
    a = np.clip(np.asarray(start_m, float), 0.0, lengths)
    b = np.clip(np.asarray(end_m, float), 0.0, lengths)
    b = np.maximum(a, b)
    xy, li = shapely.get_coordinates(lines, return_index=True)
    seg = np.hypot(*(xy[1:] - xy[:-1]).T)
    same = li[1:] == li[:-1]
    seg = np.where(same, seg, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    line_first = np.searchsorted(li, np.arange(len(lines)))
    d = cum - cum[line_first][li]  # distance of each vertex along its own line
    # a globally increasing key: line base + distance
    base = np.concatenate([[0.0], np.cumsum(lengths + 1.0)[:-1]])
    key = base[li] + d
    eps = 1e-9 * np.maximum(lengths, 1.0)  # vertices this close to a cut are the cut point itself
    lo = np.searchsorted(key, base + a + eps, side="right")
    hi = np.searchsorted(key, base + b - eps, side="left")
    hi = np.maximum(hi, lo)
    n_inner = hi - lo
    # the cut points, interpolated on the segment that holds them
    line_last = np.concatenate([line_first[1:], [len(xy)]]) - 1
    seg_len = np.concatenate([seg, [0.0]])

    def at(dist, j):
        j = np.clip(j, line_first, np.maximum(line_last - 1, line_first))
        sl = seg_len[j]
        t = np.where(sl > 0, (dist - d[j]) / np.where(sl > 0, sl, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)[:, None]
        nxt = np.minimum(j + 1, line_last)
        return xy[j] + t * (xy[nxt] - xy[j])

    p0 = at(a, lo - 1)
    p1 = at(b, hi - 1)
    counts = n_inner + 2
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    total = int(counts.sum())
    out = np.empty((total, 2))
    out[offsets] = p0
    out[offsets + counts - 1] = p1
    owner = np.repeat(np.arange(len(lines)), n_inner)
    if owner.size:
        k = np.arange(owner.size) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
        out[offsets[owner] + 1 + k] = xy[lo[owner] + k]
    return np.asarray(shapely.linestrings(out, indices=np.repeat(np.arange(len(lines)), counts)), dtype=object)
