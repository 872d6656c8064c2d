"""New hydrant positions: candidate x target reach and a lazy greedy max-coverage (water analysis).

Private to :mod:`kzgis.analyses.water`.

Every candidate is a node of the :class:`~kzgis.analyses._water_graph.SplitGraph`. Candidates are
put in groups more than twice the reach apart (:meth:`SplitGraph.batches`); one multi-source run
per group (``limit`` = reach) gives every candidate of the group its own reached nodes and its
exact coverage intervals, since within a group no two candidates reach the same place. So a few
hundred compiled runs serve thousands of candidates.

The greedy then picks, one at a time, the candidate that newly covers the most uncovered
settlements, ties broken by the most newly covered built-up road length (exact intervals, not
samples), until nothing is left to cover or the budget is spent. Gains only shrink as coverage
grows, so a lazy priority queue re-evaluates only the candidate at the top.
"""

from __future__ import annotations

import heapq

import numpy as np

from ._water_graph import Intervals, SplitGraph


def reach_sets(G: SplitGraph, cand_nodes, cand_xy, reach_m: float, target_nodes, keep_edges=None,
               target_extra=None):
    """Per-candidate coverage intervals and reached targets.

    Returns ``(iv, owner, t_cand, t_target)``: intervals (on ``keep_edges`` only, when given)
    with the candidate owning each, and the (candidate, target) pairs within ``reach_m``, counting
    ``target_extra`` (m, per target: the hose from the road to a settlement standing off it).
    """
    cand_nodes = np.asarray(cand_nodes, dtype=np.int64)
    target_nodes = np.asarray(target_nodes, dtype=np.int64)
    extra = np.zeros(len(target_nodes)) if target_extra is None else np.asarray(target_extra, dtype=float)
    ivs, owners, tc, tt = [], [], [], []
    for b in SplitGraph.batches(cand_xy, reach_m):
        dist, label = G.nearest(cand_nodes[b], limit=reach_m)
        iv, lab = G.cover(dist, label, reach_m)
        if keep_edges is not None and len(iv):
            k = np.isin(iv.edge, keep_edges)
            iv, lab = Intervals(iv.edge[k], iv.start[k], iv.end[k]), lab[k]
        ivs.append(iv)
        owners.append(b[lab])
        if len(target_nodes):
            lt = label[target_nodes]
            ok = (lt >= 0) & (dist[target_nodes] + extra <= reach_m + 1e-9)
            tc.append(b[lt[ok]])
            tt.append(np.flatnonzero(ok))
    if ivs:
        iv = Intervals(np.concatenate([x.edge for x in ivs]), np.concatenate([x.start for x in ivs]),
                       np.concatenate([x.end for x in ivs]))
        owner = np.concatenate(owners)
    else:
        iv, owner = Intervals.empty(), np.zeros(0, dtype=np.int64)
    t_cand = np.concatenate(tc) if tc else np.zeros(0, dtype=np.int64)
    t_target = np.concatenate(tt) if tt else np.zeros(0, dtype=np.int64)
    return iv, owner, t_cand, t_target


def overlap_by_owner(iv: Intervals, owner, other: Intervals, n_owners: int) -> np.ndarray:
    """Length of ``iv ∩ other`` per owner (``other`` normalised; the pieces of one owner must not
    overlap each other, or the overlap counts twice)."""
    out = np.zeros(n_owners)
    if not len(iv) or not len(other):
        return out
    # the pieces of `other` on each query's edge, a few per edge: step through them together
    lo = np.searchsorted(other.edge, iv.edge, side="left")
    hi = np.searchsorted(other.edge, iv.edge, side="right")
    total = np.zeros(len(iv))
    for k in range(int((hi - lo).max())):
        j = lo + k
        ok = j < hi
        jj = np.where(ok, j, 0)
        ov = np.minimum(iv.end, other.end[jj]) - np.maximum(iv.start, other.start[jj])
        total += np.where(ok & (ov > 0), ov, 0.0)
    np.add.at(out, np.asarray(owner, dtype=np.int64), total)
    return out


def norm_by_owner(iv: Intervals, owner, n_edges: int):
    """Normalise intervals separately per owner. Returns (intervals, owner)."""
    if not len(iv):
        return iv, np.asarray(owner, dtype=np.int64)
    key = np.asarray(owner, dtype=np.int64) * np.int64(n_edges) + iv.edge
    merged = Intervals(key, iv.start, iv.end).norm()
    return Intervals(merged.edge % n_edges, merged.start, merged.end), merged.edge // n_edges


def _sub(lst, a, b):
    """Remove [a, b] from a sorted list of disjoint (lo, hi)."""
    out = []
    for lo, hi in lst:
        if hi <= a or lo >= b:
            out.append((lo, hi))
            continue
        if lo < a:
            out.append((lo, a))
        if hi > b:
            out.append((b, hi))
    return [(lo, hi) for lo, hi in out if hi - lo > 1e-9]


def greedy(iv: Intervals, owner, n_cand: int, uncovered: Intervals, t_cand, t_target, target_weight,
           budget: int, min_new_road_m: float):
    """Lazy greedy max-coverage.

    Returns a list of ``(candidate, [targets newly covered], new_road_m, its coverage intervals)``.

    ``uncovered`` (normalised) is the built-up road not yet covered; ``target_weight`` > 0 marks
    the targets (settlements) still to cover.
    """
    # the pieces of one candidate do not overlap (SplitGraph.cover), so gains need no merging
    owner = np.asarray(owner, dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    o_edge, o_a, o_b, o_own = iv.edge[order], iv.start[order], iv.end[order], owner[order]
    starts = np.searchsorted(o_own, np.arange(n_cand))
    stops = np.searchsorted(o_own, np.arange(n_cand), side="right")
    U: dict[int, list] = {}
    for e, a, b in zip(uncovered.edge.tolist(), uncovered.start.tolist(), uncovered.end.tolist()):
        U.setdefault(e, []).append((a, b))
    # targets per candidate
    tw = np.asarray(target_weight, dtype=float).copy()
    ts = np.argsort(t_cand, kind="stable")
    tc_sorted, tt_sorted = t_cand[ts], t_target[ts]
    t_starts = np.searchsorted(tc_sorted, np.arange(n_cand))
    t_stops = np.searchsorted(tc_sorted, np.arange(n_cand), side="right")

    def road_gain(c):
        tot = 0.0
        for k in range(starts[c], stops[c]):
            lst = U.get(int(o_edge[k]))
            if not lst:
                continue
            a, b = o_a[k], o_b[k]
            for lo, hi in lst:
                ov = min(b, hi) - max(a, lo)
                if ov > 0:
                    tot += ov
        return tot

    def settle_gain(c):
        t = tt_sorted[t_starts[c]:t_stops[c]]
        return float(tw[t].sum()) if len(t) else 0.0

    gr0 = overlap_by_owner(Intervals(o_edge, o_a, o_b), o_own, uncovered, n_cand)
    gs0 = np.bincount(tc_sorted, weights=tw[tt_sorted], minlength=n_cand) if len(tc_sorted) else np.zeros(n_cand)
    live = np.flatnonzero((gs0 > 0) | (gr0 >= min_new_road_m))
    heap = list(zip((-np.round(gs0[live], 9)).tolist(), (-np.round(gr0[live], 6)).tolist(), live.tolist()))
    heapq.heapify(heap)
    picks = []
    while heap and len(picks) < budget:
        _, _, c = heapq.heappop(heap)
        gs, gr = settle_gain(c), road_gain(c)
        if gs <= 0 and gr < min_new_road_m:
            continue
        key = (-round(gs, 9), -round(gr, 6), c)
        if heap and key > heap[0]:
            heapq.heappush(heap, key)
            continue
        t = tt_sorted[t_starts[c]:t_stops[c]]
        newly = t[tw[t] > 0]
        tw[newly] = 0.0
        for k in range(starts[c], stops[c]):
            e = int(o_edge[k])
            if e in U:
                U[e] = _sub(U[e], o_a[k], o_b[k])
        sl = slice(starts[c], stops[c])
        picks.append((int(c), newly.tolist(), float(gr), Intervals(o_edge[sl], o_a[sl], o_b[sl])))
    return picks
