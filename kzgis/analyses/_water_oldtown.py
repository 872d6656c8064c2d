"""The 温泉古镇 checks of seed task 7 for every ``old_towns`` polygon (water analysis).

Private to :mod:`kzgis.analyses.water`. Four rules per old town, one row each:

``main_diameter``
    Every fire main (``water_mains``) running inside the old town (more than 0.5 m of it; mains
    only touching its edge do not count) has ``diameter_mm`` >= 100
    (开州府办发〔2023〕47号 task 7). No main at all fails: the rule asks for a main network.
``pool_volume``
    At least one fire pool of >= 500 m3 inside the old town or within ``old_town_pool_search_m``
    of it (task 7).
``wharf``
    A fire-truck water-intake wharf (a ``water_intakes`` point whose ``kind`` is one of
    ``wharf_kinds``) within ``wharf_max_m`` of the old town, usable (truck road and suction lift,
    as every natural source) and, when ``rivers`` / ``water_bodies`` are loaded, within
    ``wharf_water_max_m`` of the water ("on the river") (task 7).
``hydrant_coverage``
    The share of the road length inside the old town within hydrant reach along the network is
    at least ``old_town_hydrant_share_min`` (task 7 asks for hydrants in the dense clusters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def _ids(values) -> list:
    return [v.item() if hasattr(v, "item") else v for v in values]


def check(old_towns, sources: pd.DataFrame, mains, water_geoms, road_in_town: dict, hydrant_cover,
          edge_road_fid, edge_len, p, in_force: dict) -> pd.DataFrame:
    """One row per (old town, rule). ``road_in_town[i]`` are the road intervals inside old town ``i``;
    ``hydrant_cover`` the normalised hydrant coverage intervals; ``in_force`` the water analysis's
    rules in force by rule key (:func:`kzgis.rules.in_force`), cited with the values used."""
    rows = []
    names = old_towns["name"] if "name" in old_towns else pd.Series([None] * len(old_towns), index=old_towns.index)
    pools = sources[sources["source_kind"] == "pool"]
    wharves = _wharves(sources, p)
    water_tree = shapely.STRtree(np.asarray(water_geoms, dtype=object)) if water_geoms is not None and len(
        water_geoms) else None

    for i, (fid, poly) in enumerate(zip(old_towns.index, old_towns.geometry.values)):
        nm = names.loc[fid]
        area = str(nm) if isinstance(nm, str) and nm.strip() else f"古镇 {fid}"
        for verdict in (_main_diameter(poly, mains, p, in_force),
                        _pool_volume(poly, pools, p, in_force),
                        _wharf(poly, wharves, water_tree, p, in_force),
                        _hydrant_coverage(road_in_town.get(i), hydrant_cover, edge_road_fid, edge_len, p,
                                          in_force)):
            rows.append(_row(area, fid, *verdict))
    cols = ["area", "old_town_id", "rule_key", "rule", "required", "found", "passed", "offending",
            "required_value", "found_value", "source"]
    return pd.DataFrame(rows, columns=cols)


def _row(area, fid, key, rule_text, required, found, passed, offending, source, required_value=np.nan,
         found_value=np.nan) -> dict:
    """One result row of the old-town table from a rule's verdict."""
    return {"area": area, "old_town_id": fid, "rule_key": key, "rule": rule_text,
            "required": required, "found": found, "passed": bool(passed),
            "offending": offending, "required_value": required_value,
            "found_value": found_value, "source": source}


def _wharves(sources: pd.DataFrame, p) -> pd.DataFrame:
    """The natural sources whose kind names an intake wharf (``p.wharf_kinds``)."""
    wharf_words = tuple(w.lower() for w in p.wharf_kinds)
    nat = sources[sources["source_kind"] == "natural"]
    is_wharf = nat["kind"].fillna("").astype(str).str.lower().map(lambda k: any(w in k for w in wharf_words)) \
        if len(nat) else pd.Series([], dtype=bool)
    return nat[is_wharf.to_numpy(bool)] if len(nat) else nat


def _main_diameter(poly, mains, p, in_force: dict) -> tuple:
    """The fire-main diameter verdict of one old town: every main inside at least the required DN."""
    r = in_force["old_town_main_diameter_mm"]
    need = p.old_town_main_diameter_mm
    if mains is not None and len(mains):
        m = mains[mains.intersects(poly)]
        m = m[m.intersection(poly).length > 0.5]  # inside, not merely touching the edge
    else:
        m = None
    if m is None or not len(m):
        return ("main_diameter", "消防给水管网管径 / fire main diameter", f"≥ {need:g} mm",
                "古镇内无消防给水管网 / no fire main inside" if mains is not None else
                "未提供 water_mains 图层 / no water_mains layer", False, [], r.cite(), need)
    d = pd.to_numeric(m["diameter_mm"], errors="coerce")
    small = m.index[(d < need - 1e-9) | d.isna()]
    dmin = float(d.min()) if d.notna().any() else np.nan
    found = (f"{len(m)} 段，最小 DN{dmin:g}；{len(small)} 段小于 DN{need:g} / "
             f"{len(m)} mains, smallest {dmin:g} mm, {len(small)} below {need:g} mm")
    return ("main_diameter", "消防给水管网管径 / fire main diameter", f"≥ {need:g} mm", found,
            len(small) == 0, _ids(small), r.cite(), need, dmin)


def _pool_volume(poly, pools, p, in_force: dict) -> tuple:
    """The fire-pool verdict of one old town: a large enough pool inside or within the search distance."""
    r = in_force["old_town_pool_volume_m3"]
    need = p.old_town_pool_volume_m3
    search = p.old_town_pool_search_m
    req = f"≥ {need:g} m³（古镇内或 {search:g} m 内） / ≥ {need:g} m3 within {search:g} m"
    if len(pools):
        dist = shapely.distance(np.asarray(pools["geometry"].values, dtype=object), poly)
        near = pools[dist <= search + 1e-9]
    else:
        near = pools
    if not len(near):
        return ("pool_volume", "消防水池容积 / fire pool volume", req,
                f"{search:g} m 内无消防水池 / no fire pool within {search:g} m", False, [],
                f"{r.cite()}；{in_force['old_town_pool_search_m'].cite()}", need, 0.0)
    vol = near["volume_m3"].astype(float)
    vmax = float(vol.max())
    best = near.loc[vol.idxmax()]
    ok = vmax >= need - 1e-9
    offending = [] if ok else _ids(near["fid"])
    found = (f"最大 {vmax:g} m³（水池 {best['fid']}），共 {len(near)} 座 / largest {vmax:g} m3 "
             f"(pool {best['fid']}) of {len(near)}")
    return ("pool_volume", "消防水池容积 / fire pool volume", req, found, ok, offending,
            f"{r.cite()}；{in_force['old_town_pool_search_m'].cite()}", need, vmax)


def _wharf(poly, wharves, water_tree, p, in_force: dict) -> tuple:
    """The intake-wharf verdict of one old town: a usable wharf near the town and on the water."""
    a = in_force["old_town_wharf_m"]
    req = (f"{p.wharf_max_m:g} m 内有可用取水码头 / a usable fire-truck intake wharf within "
           f"{p.wharf_max_m:g} m")
    src = f"开州府办发〔2023〕47号 task 7（取水码头）；{a.cite()}"
    if not len(wharves):
        return ("wharf", "消防车取水码头 / fire-truck intake wharf", req,
                "无取水码头（water_intakes 中 kind 为取水码头者） / no intake wharf in water_intakes", False, [],
                src, p.wharf_max_m)
    wd = shapely.distance(np.asarray(wharves["geometry"].values, dtype=object), poly)
    on_water = np.ones(len(wharves), dtype=bool)
    water_d = np.full(len(wharves), np.nan)
    if water_tree is not None:
        pts = np.asarray(wharves["geometry"].values, dtype=object)
        (qi, ti), dd = water_tree.query_nearest(pts, return_distance=True, all_matches=False)
        water_d[qi] = dd
        on_water = np.isfinite(water_d) & (water_d <= p.wharf_water_max_m + 1e-9)
        src += f"；{in_force['old_town_wharf_water_m'].cite()}"
    near = wd <= p.wharf_max_m + 1e-9
    good = near & on_water & wharves["usable"].to_numpy(bool)
    order = np.argsort(wd)
    if good.any():
        j = int(np.flatnonzero(good)[np.argmin(wd[good])])
        w = wharves.iloc[j]
        found = f"取水码头 {w['fid']} 距古镇 {wd[j]:.0f} m，可用 / wharf {w['fid']} at {wd[j]:.0f} m, usable"
        return ("wharf", "消防车取水码头 / fire-truck intake wharf", req, found, True, [], src,
                p.wharf_max_m, float(wd[j]))
    parts, offending = [], []
    # the wharves in range that fail, else the nearest one
    listed = [int(j) for j in order if near[j]][:5] or [int(order[0])]
    for j in listed:
        w = wharves.iloc[int(j)]
        why = []
        if not near[j]:
            why.append(f"距古镇 {wd[j]:.0f} m > {p.wharf_max_m:g} m")
        if not on_water[j]:
            why.append(f"距水体 {water_d[j]:.0f} m > {p.wharf_water_max_m:g} m"
                       if np.isfinite(water_d[j]) else "附近无水体")
        if not bool(w["usable"]):
            why.append(str(w["reason"]).split(" / ")[0])
        parts.append(f"码头 {w['fid']}：" + "，".join(why))
        offending.append(w["fid"])
    return ("wharf", "消防车取水码头 / fire-truck intake wharf", req,
            "；".join(parts) + " / no usable wharf near the old town", False, _ids(offending), src,
            p.wharf_max_m, float(wd.min()))


def _hydrant_coverage(inside, hydrant_cover, edge_road_fid, edge_len, p, in_force: dict) -> tuple:
    """The hydrant-coverage verdict of one old town: the share of its roads within hydrant reach."""
    a = in_force["old_town_hydrant_share"]
    need = p.old_town_hydrant_share_min
    req = f"古镇内道路 ≥ {need * 100:g}% 在消火栓保护范围内 / ≥ {need * 100:g}% of its roads within hydrant reach"
    src = f"开州府办发〔2023〕47号 task 7；{in_force['hydrant_radius_m'].cite()}；{a.cite()}"
    total = inside.length_m if inside is not None else 0.0
    if total <= 0:
        return ("hydrant_coverage", "消火栓覆盖 / hydrant coverage", req, "古镇内无道路 / no road inside", False,
                [], src, need, np.nan)
    cov = inside.intersect(hydrant_cover)
    share = cov.length_m / total
    unc = inside.subtract(hydrant_cover, edge_len) if len(hydrant_cover) else inside
    bad_roads = sorted(set(_ids(np.asarray(edge_road_fid)[unc.edge]))) if len(unc) else []
    ok = share >= need - 1e-9
    found = (f"{share * 100:.1f}%（未覆盖 {total - cov.length_m:.0f} m，共 {total:.0f} m） / "
             f"{share * 100:.1f}% ({total - cov.length_m:.0f} of {total:.0f} m uncovered)")
    return ("hydrant_coverage", "消火栓覆盖 / hydrant coverage", req, found, ok, [] if ok else bad_roads,
            src, need, share)
