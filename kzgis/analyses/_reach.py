"""How a vehicle reaches a settlement: drive to a road point, walk the rest (access and response).

Private to :mod:`kzgis.analyses.access` and :mod:`kzgis.analyses.response`; both answer "which
vehicle gets there, and when" with the same rules:

- **Road end.** For each vehicle class the settlement (point, or a point inside a polygon) is
  snapped to the nearest point of a road that class may use, at most the network's
  ``snap_max_m`` away. The vehicle drives there.
- **On the road.** Within ``on_road_m`` (rule ``on_road_m``, 50 m, A) of that point the
  settlement counts as on the road: the vehicle reaches it. Farther, the crew walks the whole
  off-road stretch (``walk_m``) at ``walk_speed_kmh`` (rule ``walk_speed_kmh``, 3 km/h, A), and
  the walk is added to that class's time: "road end + N m on foot". The same for every class.
- **Best vehicle.** The first class in :data:`~kzgis.network.VEHICLE_CLASSES` order (standard
  truck, small truck, motorcycle) that reaches the settlement *on the road*; when no class gets
  within ``on_road_m``, the class with the least total time (drive + walk), with its ``walk_m``.
  ``none`` only when no vehicle reaches the settlement at all (no usable road within
  ``snap_max_m``, or no route from any station).
- **Stations.** Stations whose ``status`` says planned (规划, 拟建, 在建...) are not sources of
  today's answers unless the recipe asks (``planned_stations: true``); the response scenario
  table compares existing and existing + planned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..network import ASSUMED_WIDTH_SOURCES, NONE, VEHICLE_CLASSES

PLANNED = {"planned", "planning", "proposed", "规划", "拟建", "在建", "新建", "待建", "计划"}
EXISTING = {"existing", "built", "现状", "已建", "现有", "建成"}


def _text(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


def station_status(raw) -> tuple[np.ndarray, set]:
    """``existing`` / ``planned`` per station status value, and the unrecognised values (existing)."""
    out, unknown = [], set()
    for v in raw:
        s = _text(v).lower()
        if s in PLANNED:
            out.append("planned")
        else:
            if s and s not in EXISTING:
                unknown.add(s)
            out.append("existing")
    return np.asarray(out, dtype=object), unknown


def width_assumed(width_source) -> np.ndarray:
    """True where a road's width is a default, not surveyed or tagged (``network.ASSUMED_WIDTH_SOURCES``:
    class default, unknown; the older spelling "class default" too)."""
    values = pd.Series(width_source, dtype=object).tolist()
    out = np.empty(len(values), dtype=bool)
    seen: dict = {}  # a handful of distinct values on 100,000 roads: each is read once
    for i, v in enumerate(values):
        key = (type(v), v) if isinstance(v, (str, float, int, type(None))) else None
        flag = seen.get(key) if key is not None else None
        if flag is None:
            flag = _text(v).lower().replace(" ", "_") in ASSUMED_WIDTH_SOURCES
            if key is not None:
                seen[key] = flag
        out[i] = flag
    return out


def walk_speed_m_per_min(walk_speed_kmh: float) -> float:
    return float(walk_speed_kmh) * 1000.0 / 60.0


@dataclass
class RoadEnds:
    """Per vehicle class: the snapped road point (engine ``snap`` frame) and the walk from it."""

    snapped: dict  # vc -> DataFrame (edge, offset_m, snap_m, x, y, ok)
    walk_m: dict  # vc -> array: 0 on the road, else the whole off-road stretch; NaN when not snapped
    walk_min: dict  # vc -> array (0 on the road; NaN when not snapped)


def road_ends(net, geoms, on_road_m: float, walk_speed_kmh: float, classes=VEHICLE_CLASSES) -> RoadEnds:
    """Snap settlements to each class's roads (within ``snap_max_m``) and price the walk from there."""
    speed = walk_speed_m_per_min(walk_speed_kmh)
    snapped, walk_m, walk_min = {}, {}, {}
    for vc in classes:
        sn = net.snap(geoms, vehicle_class=vc)
        d = sn["snap_m"].to_numpy(float)
        ok = sn["ok"].to_numpy(bool)
        w = np.where(d > on_road_m + 1e-9, d, 0.0)
        w = np.where(ok, w, np.nan)
        snapped[vc] = sn
        walk_m[vc] = w
        walk_min[vc] = w / speed
    return RoadEnds(snapped, walk_m, walk_min)


def best_of(times: dict, walk_m: dict, classes=VEHICLE_CLASSES):
    """The best vehicle per settlement (module docstring).

    ``times[vc]`` is each class's total time (walk included; NaN / inf = not reached) and
    ``walk_m[vc]`` its walk. Returns ``(vehicle, time, walk_m)`` arrays (``none`` / NaN / NaN
    where nothing reaches).
    """
    classes = [vc for vc in classes if vc in times]
    n = len(next(iter(times.values()))) if times else 0
    best = np.full(n, NONE, dtype=object)
    t = np.full(n, np.nan)
    w = np.full(n, np.nan)
    # on the road: the best class in order
    for vc in classes:
        tv = np.asarray(times[vc], float)
        on = (best == NONE) & np.isfinite(tv) & (np.nan_to_num(walk_m[vc], nan=np.inf) == 0)
        best[on], t[on], w[on] = vc, tv[on], 0.0
    # on foot from a road end: the least total time (ties: the better class)
    left = best == NONE
    if left.any() and classes:
        T = np.vstack([np.where(np.isfinite(np.asarray(times[vc], float)), times[vc], np.inf) for vc in classes])
        k = np.argmin(T, axis=0)
        tk = T[k, np.arange(n)]
        hit = left & np.isfinite(tk)
        cls = np.asarray(classes, dtype=object)
        W = np.vstack([np.asarray(walk_m[vc], float) for vc in classes])
        best[hit] = cls[k[hit]]
        t[hit] = tk[hit]
        w[hit] = W[k[hit], np.flatnonzero(hit)]
    return best, t, w
