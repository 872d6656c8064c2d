"""Road edges split at points of interest, and interval arithmetic along edges (water analysis).

Private to :mod:`kzgis.analyses.water`. The road network engine routes from points part-way
along edges; the water analysis needs more from one graph at once: thousands of hydrant
candidates and road samples as *nodes* (so a candidate x target reach matrix comes from a few
multi-source runs), nearest-source labels with predecessors (spacing gaps), sources that start
with a cost already spent (a hydrant standing off the road), and hose routing that ignores
one-way rules. :class:`SplitGraph` builds that from the engine's public pieces (``edges.u``,
``edges.v``, ``edges.length_m`` and snapped positions ``edge`` / ``offset_m``): every edge is cut
at the given points, the pieces become undirected sparse-graph edges, and
``scipy.sparse.csgraph.dijkstra`` does the routing.

Coverage along roads is kept exactly as *intervals* ``(edge, start_m, end_m)`` of the engine's
edges (offsets from ``u``); :class:`Intervals` merges, intersects, subtracts and measures them,
and :func:`cut_lines` turns them into line geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

#: offsets closer than this (m) are the same position on an edge
TOL_M = 1e-6


# ---------------------------------------------------------------------------------------------
# intervals along edges


@dataclass(frozen=True)
class Intervals:
    """Pieces of edges: arrays ``edge``, ``start``, ``end`` (metres from the edge's ``u``).

    :meth:`norm` returns the sorted, disjoint union; the set operations expect normalised inputs
    and return normalised results.
    """

    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def make(cls, edge, start, end) -> Intervals:
        edge = np.asarray(edge, dtype=np.int64).ravel()
        start = np.asarray(start, dtype=float).ravel()
        end = np.asarray(end, dtype=float).ravel()
        keep = end - start > TOL_M
        return cls(edge[keep], start[keep], end[keep])

    @classmethod
    def empty(cls) -> Intervals:
        return cls.make([], [], [])

    @classmethod
    def whole(cls, edges, lengths) -> Intervals:
        edges = np.asarray(edges, dtype=np.int64)
        return cls.make(edges, np.zeros(len(edges)), np.asarray(lengths, float)[edges])

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def length_m(self) -> float:
        return float(np.sum(self.end - self.start))

    def concat(self, other: Intervals) -> Intervals:
        return Intervals.make(np.concatenate([self.edge, other.edge]),
                              np.concatenate([self.start, other.start]),
                              np.concatenate([self.end, other.end]))

    def norm(self) -> Intervals:
        """Sorted, disjoint union (touching or overlapping pieces merged)."""
        if len(self) == 0:
            return self
        order = np.lexsort((self.start, self.edge))
        e, a, b = self.edge[order], self.start[order], self.end[order]
        # running max of the ends within each edge, exactly, in whole micrometres offset per edge
        grp = np.cumsum(np.concatenate([[0], e[1:] != e[:-1]]))
        span = np.int64(np.ceil(max(float(b.max()), 0.0) / TOL_M)) + 2
        reach = np.maximum.accumulate(np.round(b / TOL_M).astype(np.int64) + grp * span) - grp * span
        new = np.ones(len(e), dtype=bool)
        new[1:] = (e[1:] != e[:-1]) | (np.round(a[1:] / TOL_M).astype(np.int64) > reach[:-1] + 1)
        first = np.flatnonzero(new)
        return Intervals(e[first], a[first], np.maximum.reduceat(b, first))

    def _pairs(self, other: Intervals):
        left = pd.DataFrame({"edge": self.edge, "a1": self.start, "b1": self.end})
        right = pd.DataFrame({"edge": other.edge, "a2": other.start, "b2": other.end})
        return left.merge(right, on="edge", how="inner")

    def intersect(self, other: Intervals) -> Intervals:
        if len(self) == 0 or len(other) == 0:
            return Intervals.empty()
        m = self._pairs(other)
        lo = np.maximum(m["a1"].to_numpy(), m["a2"].to_numpy())
        hi = np.minimum(m["b1"].to_numpy(), m["b2"].to_numpy())
        return Intervals.make(m["edge"].to_numpy(), lo, hi).norm()

    def complement(self, lengths) -> Intervals:
        """The rest of the edges *that appear in this set* (gaps between and around pieces)."""
        if len(self) == 0:
            return self
        lengths = np.asarray(lengths, float)
        e, a, b = self.edge, self.start, self.end
        first = np.ones(len(e), dtype=bool)
        first[1:] = e[1:] != e[:-1]
        last = np.ones(len(e), dtype=bool)
        last[:-1] = e[1:] != e[:-1]
        prev_end = np.where(first, 0.0, np.concatenate([[0.0], b[:-1]]))
        gaps = Intervals.make(e, prev_end, a)
        tail = Intervals.make(e[last], b[last], lengths[e[last]])
        return gaps.concat(tail).norm()

    def subtract(self, other: Intervals, lengths) -> Intervals:
        """``self`` minus ``other``."""
        if len(self) == 0 or len(other) == 0:
            return self
        touched = np.unique(other.edge)
        inside = np.isin(self.edge, touched)
        keep = Intervals(self.edge[~inside], self.start[~inside], self.end[~inside])
        mine = Intervals(self.edge[inside], self.start[inside], self.end[inside])
        # the gaps of `other` on the edges it touches
        return keep.concat(mine.intersect(other.complement(lengths))).norm()

    def length_by(self, key) -> np.ndarray:
        """Total length per value of ``key[edge]`` (key: int array over edges, -1 = ignore)."""
        key = np.asarray(key, dtype=np.int64)
        size = int(key.max()) + 1 if len(key) else 0
        k = key[self.edge]
        ok = k >= 0
        return np.bincount(k[ok], weights=(self.end - self.start)[ok], minlength=size)


def cut_lines(lines, iv: Intervals) -> np.ndarray:
    """Line pieces of ``lines[edge]`` from ``start`` to ``end`` metres, all at once.

    Each piece is its interpolated start point, the line's vertices strictly between, and its
    interpolated end point (the same measure as :func:`shapely.line_interpolate_point`).
    """
    lines = np.asarray(lines, dtype=object)
    n = len(iv)
    if n == 0:
        return np.empty(0, dtype=object)
    sel = lines[iv.edge]
    xy, li = shapely.get_coordinates(sel, return_index=True)
    seg = np.zeros(len(xy))
    same = li[1:] == li[:-1]
    seg[1:] = np.where(same, np.hypot(*(xy[1:] - xy[:-1]).T), 0.0)
    cum = np.cumsum(seg)
    first = np.ones(len(xy), dtype=bool)
    first[1:] = ~same
    d = cum - np.maximum.accumulate(np.where(first, cum, 0.0))
    a = iv.start[li]
    b = iv.end[li]
    inner = (d > a + TOL_M) & (d < b - TOL_M)
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(sel, iv.start))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(sel, iv.end))
    ids = np.concatenate([np.arange(n), li[inner], np.arange(n)])
    rank = np.concatenate([np.full(n, -np.inf), d[inner], np.full(n, np.inf)])
    allxy = np.concatenate([p0, xy[inner], p1])
    order = np.lexsort((rank, ids))
    return shapely.linestrings(allxy[order], indices=ids[order])


# ---------------------------------------------------------------------------------------------
# the split graph


class SplitGraph:
    """Undirected graph of road edges cut at points; every point is a node.

    Parameters
    ----------
    u, v : node ids of each edge's ends (engine ``edges.u`` / ``edges.v``)
    length_m : length of each edge (engine ``edges.length_m``)
    n_nodes : number of engine nodes
    pt_edge, pt_offset : positions to make nodes of (edge index, metres from ``u``)

    Attributes
    ----------
    point_node : node id of each input point (points at the same position share a node; a point
        at an edge end is that end's node)
    sub : DataFrame of the pieces: ``edge``, ``start``, ``end`` (offsets on the edge), ``a``,
        ``b`` (node ids at start / end), ``w`` (length, m)
    n : number of nodes (engine nodes first, then the new ones)
    """

    def __init__(self, u, v, length_m, n_nodes: int, pt_edge, pt_offset):
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        L = np.asarray(length_m, dtype=float)
        pe = np.asarray(pt_edge, dtype=np.int64)
        po = np.clip(np.asarray(pt_offset, dtype=float), 0.0, L[pe] if len(pe) else 0.0)
        self.n_base = int(n_nodes)
        self.length_m = L
        point_node = np.full(len(pe), -1, dtype=np.int64)
        at_u = po <= TOL_M
        at_v = ~at_u & (po >= L[pe] - TOL_M)
        point_node[at_u] = u[pe[at_u]]
        point_node[at_v] = v[pe[at_v]]
        mid = ~(at_u | at_v)
        # one new node per distinct interior position
        key = pd.DataFrame({"edge": pe[mid], "off": np.round(po[mid] / TOL_M).astype(np.int64)})
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(key)) if len(key) else (np.array([], int), None)
        n_new = int(codes.max()) + 1 if len(codes) else 0
        point_node[mid] = self.n_base + codes
        new_edge = np.zeros(n_new, dtype=np.int64)
        new_off = np.zeros(n_new)
        new_edge[codes] = pe[mid]
        new_off[codes] = po[mid]
        self.n = self.n_base + n_new
        self.point_node = point_node
        self.node_edge = np.concatenate([np.full(self.n_base, -1), new_edge])
        self.node_offset = np.concatenate([np.zeros(self.n_base), new_off])
        # breakpoints: both ends of every edge and the new nodes, sorted along each edge
        m = len(u)
        be = np.concatenate([np.arange(m), np.arange(m), new_edge])
        bo = np.concatenate([np.zeros(m), L, new_off])
        bn = np.concatenate([u, v, self.n_base + np.arange(n_new)])
        rank = np.concatenate([np.zeros(m), np.full(m, 2.0), np.ones(n_new)])  # u first, v last
        order = np.lexsort((rank, bo, be))
        be, bo, bn = be[order], bo[order], bn[order]
        same = be[1:] == be[:-1]
        self.sub = pd.DataFrame({
            "edge": be[1:][same], "start": bo[:-1][same], "end": bo[1:][same],
            "a": bn[:-1][same], "b": bn[1:][same],
        })
        self.sub["w"] = self.sub["end"] - self.sub["start"]
        # plain arrays of the pieces and, per node, the pieces touching it
        self._sa = self.sub["a"].to_numpy()
        self._sb = self.sub["b"].to_numpy()
        self._sw = self.sub["w"].to_numpy()
        self._ss = self.sub["start"].to_numpy()
        self._se = self.sub["edge"].to_numpy()
        ends = np.concatenate([self._sa, self._sb])
        pieces = np.concatenate([np.arange(len(self._sa)), np.arange(len(self._sa))])
        o = np.argsort(ends, kind="stable")
        self._inc = pieces[o]
        self._inc_ptr = np.searchsorted(ends[o], np.arange(self.n + 1))
        self._csr = {}
        self.masks = {}

    # -- graphs ---------------------------------------------------------------------------------
    def add_mask(self, name: str, sub_mask) -> None:
        """Register a subgraph (a boolean mask over :attr:`sub`) under ``name``."""
        self.masks[name] = np.asarray(sub_mask, dtype=bool)
        self._csr.pop(name, None)

    def _entries(self, name):
        s = self.sub if name is None else self.sub[self.masks[name]]
        a, b, w = s["a"].to_numpy(), s["b"].to_numpy(), s["w"].to_numpy()
        loop = a == b
        a, b, w = a[~loop], b[~loop], w[~loop]
        return np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w])

    @staticmethod
    def _matrix(rows, cols, data, n):
        # parallel pieces between the same two nodes: keep the shortest (csr would add them up)
        order = np.lexsort((data, cols, rows))
        rows, cols, data = rows[order], cols[order], data[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        return csr_matrix((data[first], (rows[first], cols[first])), shape=(n, n))

    def csr(self, name=None):
        """Symmetric sparse matrix of the pieces (of the subgraph ``name``; None = all)."""
        if name not in self._csr:
            self._csr[name] = self._matrix(*self._entries(name), self.n)
        return self._csr[name]

    # -- routing --------------------------------------------------------------------------------
    def nearest(self, src_nodes, limit=np.inf, init=None, subgraph=None, predecessors=False):
        """Multi-source run: cost to every node from the nearest source, and which source.

        ``init`` is a cost already spent at each source (e.g. a hose from a hydrant standing off
        the road). Returns ``(dist, label[, pred])`` over nodes; ``label`` is the source's position
        in ``src_nodes`` (-1 = not reached within ``limit``); ``pred`` is the previous node on
        the path (-1 at sources and unreached nodes).
        """
        src_nodes = np.asarray(src_nodes, dtype=np.int64)
        n = self.n
        if len(src_nodes) == 0:
            out = (np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
            return out + (np.full(n, -1, dtype=np.int64),) if predecessors else out
        init = np.zeros(len(src_nodes)) if init is None else np.asarray(init, dtype=float)
        # one source per node: the one with the least initial cost
        order = np.lexsort((init, src_nodes))
        first = np.ones(len(order), dtype=bool)
        first[1:] = src_nodes[order][1:] != src_nodes[order][:-1]
        pick = order[first]
        node_src = np.full(n, -1, dtype=np.int64)
        node_src[src_nodes[pick]] = pick
        if not np.any(init[pick] > 0):
            dist, pred, srcn = dijkstra(self.csr(subgraph), directed=True, indices=src_nodes[pick],
                                        limit=limit, min_only=True, return_predecessors=True)
            pred = pred.astype(np.int64)
            pred[pred < 0] = -1
            srcn = srcn.astype(np.int64)
            label = np.where(srcn >= 0, node_src[np.maximum(srcn, 0)], -1)
            label[~np.isfinite(dist)] = -1
            return (dist, label, pred) if predecessors else (dist, label)
        # initial costs: a virtual node joined to every source by its initial cost
        sup = n
        base = self.csr(subgraph)
        g = csr_matrix((np.concatenate([base.data, init[pick]]),
                        np.concatenate([base.indices, src_nodes[pick]]),
                        np.concatenate([base.indptr, [base.indptr[-1] + len(pick)]])), shape=(n + 1, n + 1))
        dist, pred = dijkstra(g, directed=True, indices=sup, limit=limit, return_predecessors=True)
        dist = dist[:n]
        pred = pred[:n].astype(np.int64)
        pred[(pred < 0) | ~np.isfinite(dist)] = -1
        # label: follow predecessors up to the child of the virtual node (pointer doubling)
        anc = np.where(pred == sup, np.arange(n), pred)
        anc[~np.isfinite(dist)] = -1
        for _ in range(64):
            nxt = np.where(anc >= 0, anc[np.maximum(anc, 0)], -1)
            if np.array_equal(nxt, anc):
                break
            anc = nxt
        label = np.where(anc >= 0, node_src[np.maximum(anc, 0)], -1)
        pred = np.where(pred == sup, -1, pred)
        return (dist, label, pred) if predecessors else (dist, label)

    def touching(self, nodes) -> np.ndarray:
        """Pieces with an end at one of ``nodes`` (sorted, unique)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        lo, hi = self._inc_ptr[nodes], self._inc_ptr[nodes + 1]
        cnt = hi - lo
        if cnt.sum() == 0:
            return np.zeros(0, dtype=np.int64)
        rel = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        mark = np.zeros(len(self._sa), dtype=bool)
        mark[self._inc[np.repeat(lo, cnt) + rel]] = True
        return np.flatnonzero(mark)

    def cover(self, dist, label, limit) -> tuple[Intervals, np.ndarray]:
        """Pieces within ``limit`` of the sources of a :meth:`nearest` run, with their source.

        Each piece ``a-b`` of length ``w`` is reached from ``a`` over ``[0, limit - d(a)]`` and
        from ``b`` over ``[w - (limit - d(b)), w]``, exactly. Returns intervals on the engine's
        edges and the label of the source that reaches each. The intervals of one label do not
        overlap (they may touch); when sources reach disjoint sets (:meth:`batches`), no two
        intervals overlap.
        """
        reached = np.flatnonzero(dist <= limit)
        k = self.touching(reached)
        a, b = self._sa[k], self._sb[k]
        da, db = dist[a], dist[b]
        w, st, e = self._sw[k], self._ss[k], self._se[k]
        ok_a = da <= limit
        ok_b = db <= limit
        ra = limit - da
        rb = limit - db
        la, lb = label[a], label[b]
        # from a: [0, min(w, ra)]; from b: [max(0, w - rb), w]; one piece when the two meet
        # and come from the same source (pieces of one source never overlap then)
        whole = ok_a & ok_b & (la == lb) & (ra + rb >= w)
        ok_b = ok_b & ~whole
        end_a = np.where(whole, w, np.minimum(w, ra))
        edge = np.concatenate([e[ok_a], e[ok_b]]).astype(np.int64)
        start = np.concatenate([st[ok_a], st[ok_b] + np.maximum(0.0, w[ok_b] - rb[ok_b])])
        end = np.concatenate([st[ok_a] + end_a[ok_a], st[ok_b] + w[ok_b]])
        lab = np.concatenate([la[ok_a], lb[ok_b]])
        keep = end - start > TOL_M
        return Intervals(edge[keep], start[keep], end[keep]), lab[keep]

    # -- batches of sources whose reach sets cannot overlap -----------------------------------
    @staticmethod
    def batches(xy, limit: float, k: int = 4):
        """Split points into groups whose members are more than ``2 * limit`` apart.

        Network distance is never shorter than the straight line, so sources in one group reach
        disjoint sets within ``limit``, and one multi-source run per group gives every source's
        own reach set. Grid colouring: cells of ``2 * limit / (k - 1)``, ``k x k`` colours, the
        i-th point of each cell in the i-th round.
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(xy) == 0:
            return []
        cell = 2.0 * limit / (k - 1) * (1 + 1e-9) + 1e-6
        ix = np.floor((xy[:, 0] - xy[:, 0].min()) / cell).astype(np.int64)
        iy = np.floor((xy[:, 1] - xy[:, 1].min()) / cell).astype(np.int64)
        colour = (ix % k) * k + (iy % k)
        cell_id = pd.factorize(pd.MultiIndex.from_arrays([ix, iy]))[0]
        rank = pd.Series(np.arange(len(xy))).groupby(cell_id).cumcount().to_numpy()
        group = pd.factorize(pd.MultiIndex.from_arrays([rank, colour]))[0]
        order = np.argsort(group, kind="stable")
        bounds = np.flatnonzero(np.diff(group[order])) + 1
        return np.split(order, bounds)
