"""What building the road network found in the data: topology issues, assumptions, a summary.

Private to :mod:`kzgis.network` and :mod:`kzgis.pipeline`:

- :func:`topology_issues` -> the ``network_issues`` layer (``kind``: snapped_dangle, near_miss,
  unsplit_crossing, suspected_structure, zero_length, duplicate_edge, small_component);
- :func:`build_warnings` -> warnings on assumed widths, classes closed by a default alone,
  direction codes, suspected structures and a DEM that does not fit the roads;
- :func:`network_summary` -> the ``network`` block of summary.json (also printed by
  ``kzgis layers check``);
- :func:`settlement_warnings` -> settlements on a small disconnected part of the network, or
  reachable only against a one-way.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from ._geom import threaded

ISSUE_KINDS = ("snapped_dangle", "near_miss", "unsplit_crossing", "suspected_structure", "zero_length",
               "duplicate_edge", "small_component")
ISSUE_COLUMNS = ["kind", "road_fid", "other_fid", "distance_m", "length_m", "note"]


def _fid(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def components(net) -> tuple[int, np.ndarray]:
    """Connected components of the undirected network (all edges): (count, label per node)."""
    n = net.n_nodes
    if n == 0:
        return 0, np.zeros(0, np.int64)
    g = csr_matrix((np.ones(len(net.edge_u)), (net.edge_u, net.edge_v)), shape=(n, n))
    return connected_components(g, directed=False)


def _component_lengths(net, labels, n_comp):
    lab_e = labels[net.edge_u] if len(net.edge_u) else np.zeros(0, np.int64)
    return np.bincount(lab_e, weights=net.edge_length_m, minlength=n_comp), lab_e


def topology_issues(net, parts_fid, zero, zero_geoms, snaps, near, levels) -> gpd.GeoDataFrame:
    """The ``network_issues`` rows of a freshly built network (points, network CRS).

    Issues on a line (suspected structures, duplicate edges, small components) are placed at the
    middle of the line, with its length in ``length_m``.
    """
    rows: list[dict] = []
    geoms: list = []

    def add(kind, geom, road_fid=None, other_fid=None, distance_m=np.nan, length_m=np.nan, note=""):
        # one point per issue (one geometry type per layer, in the GeoPackage and on the map):
        # line issues at their middle
        if shapely.get_type_id(geom) == 1:
            geom = shapely.line_interpolate_point(geom, 0.5, normalized=True)
        elif shapely.get_type_id(geom) == 5:  # a component: the middle of its longest line
            parts = shapely.get_parts(shapely.line_merge(geom))
            longest = parts[int(np.argmax(shapely.length(parts)))]
            geom = shapely.line_interpolate_point(longest, 0.5, normalized=True)
        elif shapely.get_type_id(geom) != 0:
            geom = shapely.point_on_surface(geom)
        rows.append({"kind": kind, "road_fid": _fid(road_fid), "other_fid": _fid(other_fid),
                     "distance_m": float(distance_m), "length_m": float(length_m), "note": note})
        geoms.append(geom)

    for frame, kind, note in ((snaps, "snapped_dangle", "悬挂端点距另一道路 {d:.2f} m，已自动连接（请核实）"),
                              (near, "near_miss", "悬挂端点距另一道路 {d:.2f} m，未连接（请核实是否相通）")):
        for r in frame.itertuples(index=False):
            add(kind, shapely.Point(r.x, r.y), parts_fid[r.line], parts_fid[r.other], r.distance_m,
                note=note.format(d=r.distance_m))
    for i in np.flatnonzero(zero):
        add("zero_length", shapely.get_point(zero_geoms[i], 0), parts_fid[i], length_m=0.0,
            note="零长度道路要素，已忽略")
    e = net.edges
    if len(e):
        fid = e["road_fid"].to_numpy(object)
        # suspected structures
        sus = np.flatnonzero(e["grade_source"].to_numpy(object) == "suspected_structure")
        dem_g = e["grade_dem_max_pct"].to_numpy(float)
        for i in sus:
            add("suspected_structure", net.edge_geoms[i], fid[i], length_m=net.edge_length_m[i],
                note=f"DEM 剖面坡度 {dem_g[i]:.0f}%，两端坡度 {e['grade_max_pct'].iat[i]:.1f}%：疑似桥梁/隧道或 DEM 误差，"
                     "按两端高程计坡度，请实地核实")
        # duplicate edges: same ends, same course
        a = np.minimum(net.edge_u, net.edge_v)
        b = np.maximum(net.edge_u, net.edge_v)
        key = pd.DataFrame({"a": a, "b": b})
        dup_groups = key[key.duplicated(["a", "b"], keep=False)].groupby(["a", "b"]).groups  # labels = edge ids
        for idx in dup_groups.values():
            idx = np.sort(np.asarray(idx))
            first = idx[0]
            for j in idx[1:]:
                if abs(net.edge_length_m[j] - net.edge_length_m[first]) <= 1.0 and \
                        shapely.hausdorff_distance(net.edge_geoms[j], net.edge_geoms[first]) <= 1.0:
                    add("duplicate_edge", net.edge_geoms[j], fid[j], fid[first], length_m=net.edge_length_m[j],
                        note="与另一道路重复（同起止点、同走向）")
        # crossings without a junction, where neither line is a bridge/tunnel and levels agree
        struct = e["structure"].to_numpy(object) != ""
        lv = np.asarray(levels, float)  # NaN: a line whose ends lie on different levels
        tree = shapely.STRtree(net.edge_geoms)
        i1, i2 = tree.query(net.edge_geoms, predicate="intersects")
        k = (i1 < i2) & ~struct[i1] & ~struct[i2] & (lv[i1] == lv[i2])
        i1, i2 = i1[k], i2[k]
        if len(i1):
            # intersection points of every candidate pair (vectorised), minus those at the pair's nodes
            inter = threaded(shapely.intersection, net.edge_geoms[i1], net.edge_geoms[i2])
            parts, pair = shapely.get_parts(inter, return_index=True)
            pt = shapely.get_type_id(parts) == 0
            parts, pair = parts[pt], pair[pt]
            xy = shapely.get_coordinates(parts)
            tol = max(net.params.node_tolerance_m, 1e-6)
            nxy = net.nodes[["x", "y"]].to_numpy()
            a_, b_ = i1[pair], i2[pair]
            at_node = np.zeros(len(xy), bool)
            for ends in (net.edge_u[a_], net.edge_v[a_], net.edge_u[b_], net.edge_v[b_]):
                at_node |= np.hypot(*(nxy[ends] - xy).T) <= tol
            keep = ~at_node
            xy, a_, b_ = xy[keep], a_[keep], b_[keep]
            # once per place (duplicate lines cross the same road at the same point)
            _, first = np.unique(np.round(xy / tol).astype(np.int64), axis=0, return_index=True)
            for j in np.sort(first):
                add("unsplit_crossing", shapely.Point(xy[j]), fid[a_[j]], fid[b_[j]],
                    note="两条道路相交但无公共节点，未连通：平交请在交点加节点；立交请标注桥梁/隧道或层级")
        # small components: every connected part but the largest (by length)
        n_comp, labels = components(net)
        if n_comp > 1:
            comp_len, lab_e = _component_lengths(net, labels, n_comp)
            big = int(np.argmax(comp_len))
            n_edges = np.bincount(lab_e, minlength=n_comp)
            # each small part is drawn at the middle of its longest edge
            by = pd.DataFrame({"c": lab_e, "L": net.edge_length_m}).sort_values(["c", "L"], ascending=[True, False],
                                                                        kind="stable")
            longest = by[~by["c"].duplicated()]
            longest = longest[longest["c"] != big]
            e_long = longest.index.to_numpy()
            mids = shapely.line_interpolate_point(net.edge_geoms[e_long], 0.5, normalized=True)
            for c, ei, m in zip(longest["c"].to_numpy(), e_long, mids):
                add("small_component", m, fid[ei], length_m=comp_len[c],
                    note=f"与主路网不连通的道路片段（{n_edges[c]} 段，{comp_len[c]:.0f} m）")
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=ISSUE_COLUMNS), geometry=geoms if geoms else [],
                           crs=net.crs)
    return out


def _km(x) -> float:
    return round(float(x) / 1000.0, 3)


def _width_key(net):
    return getattr(net, "_width_key", net.edges["road_class"].to_numpy(object))


def build_warnings(net, has_dem: bool, closed_km: float = 0.0) -> list[str]:
    """Warnings about what the network rests on (assumed widths, defaults, DEM fit, topology)."""
    from . import network as _network

    e = net.edges
    out: list[str] = []
    if not len(e):
        return out
    L = net.edge_length_m
    total = L.sum()
    src = e["width_source"].to_numpy(object)
    assumed = np.isin(src, _network.ASSUMED_WIDTH_SOURCES)
    if assumed.any() and total > 0:
        out.append(f"roads: {_km(L[assumed].sum()):g} km of {_km(total):g} km of road ({L[assumed].sum() / total:.0%}) "
                   "have no surveyed width and use a default by road class (width_source class_default/unknown); "
                   "results that depend on road width rest on these assumptions: survey the widths")
    # whole classes closed to standard trucks by a default alone
    params = net.params
    foot = e["pedestrian"].to_numpy(bool)
    wkey = _width_key(net)
    closed_parts = []
    for k in pd.unique(wkey[~foot]):
        m = (wkey == k) & ~foot
        if not m.any() or not assumed[m].all():
            continue
        w = params.default_width_m.get(k)
        if w is None or w >= params.standard_width_m:
            continue
        rule = _network.WIDTH_RULE.get(k) or _network.OSM_WIDTH_RULE.get(k)
        closed_parts.append(f"{k} ({_km(L[m].sum()):g} km, default {w:g} m, rule {rule})")
    if closed_parts:
        out.append("roads: no road of class " + "; ".join(closed_parts) + " has a surveyed width, and the class "
                   f"default is below the standard truck's {params.standard_width_m:g} m: these roads are closed to "
                   "standard trucks by the default alone (results that say 'no standard truck' there rest on it). "
                   "Survey their widths or set network.default_width_m in the recipe")
    if closed_km > 0:
        out.append(f"roads: {closed_km:g} km of road have the direction code for 'no travel' (ArcGIS N, 禁行) and "
                   "are closed to every vehicle; if the field means yes/no, map it with oneway_codes")
    gsrc = e["grade_source"].to_numpy(object)
    sus = gsrc == "suspected_structure"
    if sus.any():
        out.append(f"roads: {int(sus.sum())} road section(s) ({_km(L[sus].sum()):g} km) have a DEM profile no road "
                   f"could have (steeper than {params.structure_profile_grade_pct:g} %) with an ordinary grade between "
                   "their ends: graded from their ends as suspected bridges/tunnels/DEM artefacts "
                   "(network_issues kind suspected_structure); survey them")
    if has_dem and total > 0:
        unknown = gsrc == "unknown"
        checked = e["grade_checked_share"].to_numpy(float) if "grade_checked_share" in e else (~unknown).astype(float)
        by_dem = np.isin(gsrc, ("dem", "unknown"))
        unchecked_m = float((L * (1.0 - np.nan_to_num(checked)))[by_dem].sum())
        if unchecked_m > 0.5:
            out.append(f"DEM: {unchecked_m / 1000:.1f} km of roads outside the DEM or on nodata: grade not checked "
                       f"({int(unknown.sum())} road section(s) with no grade at all, grade_source unknown; their "
                       "vehicle class rests on width alone). Use a DEM that covers every road")
        if L[unknown].sum() / total > 0.5:
            out.append(f"DEM: {L[unknown].sum() / total:.0%} of road length lies outside the DEM or on its nodata "
                       "cells, so those grades are unknown: the DEM may not fit the roads (wrong CRS, a DEM of "
                       "another area, or a synthetic one)")
        g = e["grade_max_pct" if params.grade_measure == "max" else "grade_mean_pct"].to_numpy(float)
        width_ok = e["width_m"].to_numpy(float) >= params.motorcycle_width_m - 1e-9
        barred = np.isin(e["road_class"].to_numpy(object), params.barred_classes) | foot
        steep = width_ok & ~barred & (g > params.motorcycle_grade_max_pct)
        share = L[steep].sum() / total
        if share > _network.rules.value("dem_closed_share_max"):
            out.append(f"DEM: grades steeper than {params.motorcycle_grade_max_pct:g} % close {_km(L[steep].sum()):g} km "
                       f"({share:.0%}) of road length to every vehicle: the DEM may not fit the roads (wrong CRS, "
                       "synthetic, too coarse), or bridges/tunnels are not marked. Check the DEM before trusting "
                       "access results")
    iss = net.issues
    if iss is not None and len(iss):
        counts = iss["kind"].value_counts()
        parts = [f"{int(counts[k])} {k}" for k in ISSUE_KINDS if k in counts and k != "suspected_structure"]
        if parts:
            out.append("road network topology: " + ", ".join(parts) + " (see the network_issues layer; dangling "
                       f"ends within {params.dangle_snap_m:g} m were joined, near misses up to "
                       f"{params.near_miss_m:g} m only reported)")
    return out


def network_summary(net) -> dict:
    """The ``network`` block of summary.json: size, connectivity, km by class/width source, speeds."""
    e = net.edges
    L = net.edge_length_m
    total = float(L.sum())
    n_comp, labels = components(net)
    share = 1.0
    if n_comp > 1:
        comp_len, _ = _component_lengths(net, labels, n_comp)
        share = float(comp_len.max() / total) if total > 0 else 0.0
    from . import network as _network

    src = e["width_source"].to_numpy(object) if len(e) else np.zeros(0, object)
    assumed = np.isin(src, _network.ASSUMED_WIDTH_SOURCES)

    def km_by(col):
        if not len(e):
            return {}
        return {str(k): _km(v) for k, v in pd.Series(L).groupby(e[col].to_numpy(object)).sum().items()}

    speeds: dict = {}
    for c in pd.unique(e["road_class"]) if len(e) else []:
        m = e["road_class"].to_numpy(object) == c
        speeds[str(c)] = {}
        for vc in _network.VEHICLE_CLASSES:
            t = e[f"time_min_{vc}"].to_numpy(float)[m]
            ok = np.isfinite(t)
            speeds[str(c)][vc] = (round(float(L[m][ok].sum() / 1000.0 / (t[ok].sum() / 60.0)), 2)
                                  if ok.any() and t[ok].sum() > 0 else None)
    iss = net.issues
    return {
        "nodes": int(net.n_nodes),
        "edges": int(len(e)),
        "components": int(n_comp),
        "largest_component_share": round(share, 4),
        "km": _km(total),
        "km_by_class": km_by("road_class"),
        "km_by_vehicle_class": km_by("vehicle_class"),
        "km_by_width_source": km_by("width_source"),
        "km_assumed_width": _km(L[assumed].sum()) if len(e) else 0.0,
        "assumed_width_share": round(float(L[assumed].sum() / total), 4) if total > 0 else 0.0,
        "km_by_grade_source": km_by("grade_source"),
        "effective_speed_kmh": speeds,
        "issues": {k: int(v) for k, v in iss["kind"].value_counts().items()} if iss is not None and len(iss) else {},
    }


def summary_lines(block: dict) -> list[str]:
    """The network block as a few lines of text (for ``kzgis layers check``)."""
    out = [f"road network: {block['nodes']} nodes, {block['edges']} edges, {round(block['km'], 2):g} km, "
           f"{block['components']} connected part(s), the largest holds {block['largest_component_share']:.1%} "
           "of the length",
           "  km by class: " + ", ".join(f"{k} {round(v, 2):g}" for k, v in block["km_by_class"].items()),
           "  km by width source: " + ", ".join(f"{k} {round(v, 2):g}" for k, v in block["km_by_width_source"].items())
           + f" (assumed: {round(block['km_assumed_width'], 2):g} km, {block['assumed_width_share']:.0%})",
           "  km by best vehicle: " + ", ".join(f"{k} {round(v, 2):g}" for k, v in block["km_by_vehicle_class"].items())]
    if block["issues"]:
        out.append("  topology issues: " + ", ".join(f"{k} {v}" for k, v in block["issues"].items()))
    return out


def settlement_warnings(net, settlements, stations=None) -> list[str]:
    """Name settlements on a small disconnected part of the network, or reachable only against a one-way.

    Settlements are snapped to the nearest road any vehicle may use (within ``snap_max_m``).
    "Reachable only against a one-way": connected to the stations (or, without stations, to the
    largest strongly connected part) when one-ways are ignored, but not when they are obeyed.
    """
    out: list[str] = []
    if settlements is None or not len(settlements) or not len(net.edges):
        return out
    allowed = net.allowed(None)
    if not allowed.any():
        return out
    pts = settlements.geometry.representative_point() if hasattr(settlements, "geometry") else settlements
    s = net.snap(pts, None)
    ok = s["ok"].to_numpy(bool)
    if not ok.any():
        return out
    names = (settlements["name"].astype(str).to_numpy(object) if "name" in settlements
             else np.asarray(settlements.index.astype(str), object))
    e_of = s["edge"].to_numpy()
    n_comp, labels = components(net)
    if n_comp > 1:
        comp_len, _ = _component_lengths(net, labels, n_comp)
        big = int(np.argmax(comp_len))
        lab = np.full(len(s), -1)
        lab[ok] = labels[net.edge_u[e_of[ok].astype(np.int64)]]
        small = ok & (lab != big) & (lab >= 0)
        if small.any():
            shown = "、".join(names[small][:10]) + (f" (+{small.sum() - 10} more)" if small.sum() > 10 else "")
            out.append(f"settlements on a road network part not connected to the main network ({small.sum()}): "
                       f"{shown}. No vehicle from the main network reaches them; check the roads near them "
                       "(network_issues kinds small_component, near_miss)")
    # directed reachability over the roads any vehicle may use
    n = net.n_nodes
    eids = np.flatnonzero(allowed)
    two = eids[~net.edge_oneway[eids]]
    src = np.concatenate([net.edge_u[eids], net.edge_v[two]])
    dst = np.concatenate([net.edge_v[eids], net.edge_u[two]])
    G = csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    if stations is not None and len(stations):
        st = net.snap(stations.geometry.representative_point(), None)
        st = st[st["ok"]]
        if not len(st):
            return out
        se = st["edge"].to_numpy(np.int64)
        starts = np.unique(np.concatenate([net.edge_v[se], net.edge_u[se[~net.edge_oneway[se]]]]))
    else:
        _, slab = connected_components(G, directed=True, connection="strong")
        big_s = np.argmax(np.bincount(slab))
        starts = np.flatnonzero(slab == big_s)
    reach = np.zeros(n, bool)
    for s0 in starts:
        if reach[s0]:
            continue
        reach[breadth_first_order(G, int(s0), directed=True, return_predecessors=False)] = True
    und = csr_matrix((np.ones(len(eids)), (net.edge_u[eids], net.edge_v[eids])), shape=(n, n))
    _, ulab = connected_components(und, directed=False)
    start_comps = set(ulab[starts].tolist())
    eo = e_of[ok].astype(np.int64)
    # a settlement on edge e is reached when u is reached (or v, on a two-way edge)
    hit = reach[net.edge_u[eo]] | (reach[net.edge_v[eo]] & ~net.edge_oneway[eo])
    same_part = np.isin(ulab[net.edge_u[eo]], list(start_comps))
    against = np.zeros(len(s), bool)
    against[np.flatnonzero(ok)] = ~hit & same_part & allowed[eo]
    if against.any():
        shown = "、".join(names[against][:10]) + (f" (+{against.sum() - 10} more)" if against.sum() > 10 else "")
        what = "the stations" if stations is not None and len(stations) else "the main network"
        out.append(f"settlements reachable from {what} only against a one-way ({against.sum()}): {shown}. "
                   "Check the one-way codes of the roads near them (oneway / oneway_codes)")
    return out
