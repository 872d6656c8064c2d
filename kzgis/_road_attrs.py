"""Reading road attributes from real data: direction codes, widths, structures, levels, foot ways.

Private to :mod:`kzgis.network`. Every function takes raw column values (object arrays as read
from GeoPackage, shapefile, CSV or OSM) and returns plain numpy arrays, one entry per road.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: canonical direction words (what ``oneway_codes`` in a recipe maps raw codes onto)
DIRECTIONS = ("both", "forward", "backward", "closed")

# raw direction values (lower case, stripped) -> direction. ArcGIS Network Analyst conventions:
# FT / F = with the digitising direction, TF / T = against it, N = no travel, B = both ways.
_FORWARD = {"yes", "true", "y", "1", "ft", "f", "forward", "是", "单行", "单向", "正向", "顺向"}
_BACKWARD = {"-1", "tf", "t", "backward", "reverse", "反向", "逆向"}
_BOTH = {"no", "false", "0", "b", "both", "双向", "否", "", "none"}
_CLOSED = {"n", "closed", "禁行", "禁止通行"}
# "N" is ArcGIS's "no travel"; in a column of yes/no-style values (Y/N) it means "not one-way"
_YES_NO = {"y", "yes"}


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


def _text(v) -> str:
    """A raw value as stripped lower-case text; whole floats as integers ("1.0" -> "1")."""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else str(float(v))
    s = str(v).strip().lower()
    try:
        f = float(s)
    except ValueError:
        return s
    return str(int(f)) if np.isfinite(f) and f.is_integer() else s


def code_key(v) -> str:
    """How a raw code is compared with the keys of a recipe's ``oneway_codes`` mapping."""
    return "" if _is_missing(v) else _text(v)


def parse_directions(values) -> tuple[np.ndarray, list[str]]:
    """Direction of travel per road from raw ``oneway`` values.

    Understands booleans, ``yes/no/true/false/1/0/-1`` (OSM), ArcGIS ``FT/TF/F/T/N/B``, Chinese
    正向/反向/双向/单行, and the canonical words of :data:`DIRECTIONS`. Missing values are two-way.

    Returns
    -------
    (directions, unknown) : object array of :data:`DIRECTIONS` words, and the distinct raw values
        that were not understood (read as two-way; the caller warns).
    """
    arr = np.asarray(values, dtype=object)
    if len(arr) > 64:  # parse each distinct value once
        codes, uniq = pd.factorize(pd.Series(arr, dtype=object), use_na_sentinel=True)
        if len(uniq) < len(arr) // 2:
            d_uniq, unknown = parse_directions(np.concatenate([np.asarray(uniq, dtype=object), [None]]))
            return d_uniq[np.where(codes >= 0, codes, len(uniq))], unknown
    out = np.full(len(arr), "both", dtype=object)
    texts = ["" if _is_missing(v) else _text(v) for v in arr]
    yes_no_column = any(t in _YES_NO for t in texts)
    unknown: list[str] = []
    for i, t in enumerate(texts):
        if t in _FORWARD:
            out[i] = "forward"
        elif t in _BACKWARD:
            out[i] = "backward"
        elif t in _BOTH or (t == "n" and yes_no_column):
            out[i] = "both"
        elif t in _CLOSED:
            out[i] = "closed"
        elif t in DIRECTIONS:
            out[i] = t
        else:
            if t not in unknown:
                unknown.append(t)
    return out, unknown


# ---------------------------------------------------------------------------------------------
# widths


def _by_distinct(f, values) -> np.ndarray:
    """``f`` applied to each distinct value once (long columns repeat a few values)."""
    arr = np.asarray(values, dtype=object)
    if len(arr) <= 64 or any(isinstance(v, list) for v in arr[:64]):
        return f(arr)
    codes, uniq = pd.factorize(pd.Series(arr, dtype=object), use_na_sentinel=True)
    out = f(np.concatenate([np.asarray(uniq, dtype=object), [None]]))
    return out[np.where(codes >= 0, codes, len(uniq))]


def parse_width(values) -> np.ndarray:
    """Width values ("5", "3.5 m", "12'", "4;5", 4.5) -> metres (NaN when unreadable or not positive)."""
    return _by_distinct(_parse_width, values)


def _parse_width(values) -> np.ndarray:
    def one(v):
        if _is_missing(v):
            return np.nan
        if isinstance(v, list):
            v = v[0] if v else None
            if v is None:
                return np.nan
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            return float(v) if v > 0 else np.nan
        s = str(v).strip().lower().replace(",", ".")
        m = re.match(r"^([0-9]*\.?[0-9]+)\s*(m|meters?|metres?|米|ft|feet|')?", s)
        if not m:
            return np.nan
        x = float(m.group(1))
        if m.group(2) in ("ft", "feet", "'"):
            x *= 0.3048
        return x if x > 0 else np.nan

    return np.array([one(v) for v in values], dtype=float)


def parse_lanes(values) -> np.ndarray:
    """Lane counts ("2", "2;3", 1.0) -> float (NaN when unreadable or not positive)."""
    def one(v):
        if isinstance(v, list):
            v = v[0] if v else None
        try:
            x = float(str(v).split(";")[0])
        except (TypeError, ValueError):
            return np.nan
        return x if x > 0 else np.nan

    return np.array([one(v) for v in values], dtype=float)


# ---------------------------------------------------------------------------------------------
# bridges, tunnels, levels


_NOT_STRUCTURE = {"", "no", "false", "0", "否", "无", "none", "n"}


def parse_flag_structure(values) -> np.ndarray:
    """True where a ``bridge``/``tunnel`` value says the road is one (OSM yes/viaduct/..., 是, 1, 桥梁...)."""
    return np.array([not _is_missing(v) and _text(v) not in _NOT_STRUCTURE for v in values], dtype=bool)


def structure_from_names(names) -> tuple[np.ndarray, np.ndarray]:
    """(bridge, tunnel) from road names ending in 桥/大桥 or 隧道 (used when no field says it)."""
    try:
        both = _by_distinct(_structure_from_names, names)
    except TypeError:  # an unhashable value (a list) past the first rows: name by name
        both = _structure_from_names(np.asarray(names, dtype=object))
    return both[:, 0].copy(), both[:, 1].copy()


def _structure_from_names(names) -> np.ndarray:
    bridge = np.zeros(len(names), bool)
    tunnel = np.zeros(len(names), bool)
    for i, v in enumerate(names):
        if _is_missing(v):
            continue
        s = str(v).strip()
        bridge[i] = s.endswith("桥")
        tunnel[i] = s.endswith("隧道")
    return np.stack([bridge, tunnel], axis=1)


def parse_level(values) -> np.ndarray:
    """Numeric levels (OSM ``layer``, z-levels, F_ELEV/T_ELEV) -> float; NaN when missing or unreadable."""
    def one(v):
        if _is_missing(v):
            return np.nan
        try:
            return float(str(v).split(";")[0].strip())
        except ValueError:
            return np.nan

    return np.array([one(v) for v in values], dtype=float)


#: OSM ``highway`` values and Chinese class words that name ways for people on foot (never trucks)
PEDESTRIAN_OSM = {"footway", "path", "steps", "pedestrian", "cycleway", "bridleway"}
PEDESTRIAN_ZH = {"人行道", "步行道", "步道", "游步道", "台阶", "梯道", "梯步", "石梯"}


def is_pedestrian(raw_class) -> np.ndarray:
    """True where the raw class (OSM highway or Chinese class word) is a foot way."""
    return _by_distinct(_is_pedestrian, raw_class)


def _is_pedestrian(raw_class) -> np.ndarray:
    words = PEDESTRIAN_OSM | PEDESTRIAN_ZH
    return np.array([not _is_missing(v) and str(v[0] if isinstance(v, list) and v else v).strip().lower() in words
                     for v in raw_class], dtype=bool)
