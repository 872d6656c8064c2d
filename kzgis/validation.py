"""Layer validation: collect every problem with layer, feature ids, field and a fix hint.

:func:`validate_layer` repairs what can be repaired (invalid polygons via ``make_valid``, multi-part
geometries exploded, value types coerced) and reports the rest. Errors stop a run; warnings are
listed in ``summary.json`` and the report.
"""

from __future__ import annotations

import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .layers import KINDS, Problem

_BASE = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}


#: unit words accepted after a number, by the unit suffix of the canonical field name
_UNITS = {
    "_m": ("m", "米", "公尺", "meter", "meters", "metre", "metres"),
    "_m3": ("m3", "立方米", "立方", "方", "cbm"),
    "_mm": ("mm", "毫米"),
    "_kv": ("kv", "千伏"),
    "population": ("人", "口", "人口", "persons", "people"),
}
_APPROX = ("约", "大约", "大概", "近", "~", "≈", "about", "approx.", "approx", "ca.", "ca")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([, \u00a0\u2009\u202f']\d{3})+(\.\d+)?$", re.ASCII)
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)


def _units_for(field: str) -> tuple[str, ...]:
    for suffix in ("_m3", "_mm", "_kv", "_m"):
        if field.endswith(suffix):
            return _UNITS[suffix]
    return _UNITS.get(field, ())


def parse_number(value, field: str = ""):
    """A number typed the way people type it, or NaN.

    Accepts thousands separators (``"1,200"``, ``"1 200"``), full-width digits (``"１２００"``),
    an approximation word (``"约4米"``), a unit suffix in the field's own unit (``"4m"``, ``"4 米"``
    for ``width_m``; ``"DN150"``/``"150mm"`` for ``diameter_mm``; ``"1.2万"`` people for
    ``population``). Anything else (other units, ranges, words) is NaN.
    """
    if value is None or isinstance(value, bool):
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if not text:
        return np.nan
    for word in _APPROX:
        if text.startswith(word):
            text = text[len(word):].strip()
            break
    if field == "diameter_mm" and text.startswith("dn"):
        text = text[2:].strip()
    scale = 1.0
    for unit in sorted(_units_for(field), key=len, reverse=True):
        if text.endswith(unit):
            text = text[: -len(unit)].strip()
            break
    if field == "population" and text.endswith("万"):
        scale, text = 10000.0, text[:-1].strip()
    text = text.rstrip("左右").strip() if text.endswith("左右") else text
    if _THOUSANDS.match(text):
        text = re.sub(r"[, \u00a0\u2009\u202f']", "", text)
    if not _PLAIN.match(text):
        return np.nan
    return float(text) * scale


def _to_numbers(series: pd.Series, field: str) -> tuple[pd.Series, np.ndarray]:
    """Numbers of a column and a mask of the values that were text read as numbers."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float), np.zeros(len(series), bool)
    vals = series.map(lambda v: parse_number(v, field)).astype(float)
    texty = series.map(lambda v: isinstance(v, str) and not _PLAIN.match(v.strip() or "x")).to_numpy(bool)
    return vals, texty & vals.notna().to_numpy()


def _coerce(series: pd.Series, dtype: str, field: str = "") -> pd.Series:
    if dtype in ("float", "int"):
        return _to_numbers(series, field)[0]
    if dtype == "bool":
        def b(v):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                return False
            return str(v).strip().lower() in ("1", "true", "yes", "y", "是", "t", "-1")
        return series.map(b).astype(bool)
    return series.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


def _nan_vertices(gdf, add):
    """Vertices with NaN coordinates: removed from lines (the feature kept when 2 vertices remain),
    other geometries with one are left out; every feature is named."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad_v = np.isnan(coords).any(axis=1)
    if not bad_v.any():
        return gdf
    feats = np.unique(owner[bad_v])
    repaired, dropped = [], []
    new = geoms.copy()
    for i in feats:
        g = geoms[i]
        if shapely.get_type_id(g) in (1, 5):
            parts = []
            for part in shapely.get_parts(g):
                c = shapely.get_coordinates(part)
                c = c[~np.isnan(c).any(axis=1)]
                if len(c) >= 2:
                    parts.append(shapely.LineString(c))
            if parts:
                new[i] = parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)
                repaired.append(i)
                continue
        dropped.append(i)
    gdf = gdf.copy()
    gdf[gdf.geometry.name] = gpd.GeoSeries(new, index=gdf.index, crs=gdf.crs)
    if repaired:
        add("warning", "nan-vertex", f"{len(repaired)} line(s) have vertices with missing (NaN) coordinates; those "
            "vertices were removed", gdf.index[repaired], hint="check the lines in the source data")
    if dropped:
        add("warning", "nan-vertex", f"{len(dropped)} feature(s) have missing (NaN) coordinates and are left out",
            gdf.index[dropped], hint="fix their coordinates in the source data")
        keep = np.ones(len(gdf), bool)
        keep[dropped] = False
        gdf = gdf[keep]
    return gdf


def _clean_text(kind, gdf, add):
    """Control and bidirectional-override characters removed from every text column (named)."""
    from ._text import clean, has_bad

    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        ser = gdf[col]
        if not (ser.dtype == object or pd.api.types.is_string_dtype(ser.dtype)):
            continue
        bad = ser.map(has_bad).to_numpy(bool)
        if bad.any():
            gdf = gdf.copy() if gdf is not None else gdf
            gdf[col] = ser.map(clean)
            add("warning", "control-characters", f"{int(bad.sum())} value(s) held control or bidirectional-override "
                "characters (invisible; they can disguise text or break files); removed", gdf.index[bad],
                str(col), hint="remove them in the source data")
    return gdf


def _unit_words(field: str) -> str:
    if field == "population":
        return " (persons, e.g. 1200)"
    for suffix, words in ((("_m3",), "m³"), (("_mm",), "mm"), (("_kv",), "kV"), (("_m",), "metres")):
        if field.endswith(suffix):
            return f" in {words} as the field name says (e.g. 4.5, not '约4.5米')"
    return ""


def _short(v, n: int = 30) -> str:
    t = str(v)
    return t if len(t) <= n else t[:n] + "..."


def validate_layer(kind: str, gdf: gpd.GeoDataFrame, extent=None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Validate and repair one layer already in the working CRS.

    Parameters
    ----------
    kind : str
        Layer kind (a key of :data:`kzgis.layers.KINDS`).
    gdf : GeoDataFrame
        The layer, index = feature id.
    extent : shapely geometry, optional
        The study area (county or township outline) in the same CRS, to catch layers that lie
        outside it (swapped x/y, wrong CRS).

    Returns
    -------
    (GeoDataFrame, list of Problem)
        The repaired layer (multi-part geometries exploded, fields typed) and the findings.
    """
    spec = KINDS[kind]
    problems: list[Problem] = []

    def add(severity, code, message, fids=(), field=None, hint=""):
        problems.append(Problem(kind, severity, code, message, list(fids), field, hint))

    if len(gdf) == 0:
        add("warning", "empty", "the layer has no features", hint="check the file and any layer name")
        return gdf, problems

    if gdf.crs is None:
        add("error", "no-crs", "the layer has no CRS", hint="give the layer 'crs:' in the recipe")

    dup = gdf.index[gdf.index.duplicated()].unique()
    if len(dup):
        add("error", "duplicate-id", f"{len(dup)} feature id(s) occur more than once", dup,
            hint="make the id field unique or drop 'id_field' to number rows")

    gdf = _nan_vertices(gdf, add)
    gdf = _clean_text(kind, gdf, add)

    # coordinates that reprojection could not map (inf/NaN) cannot be repaired: report and drop them
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    xy_bounds = shapely.bounds(geoms)
    broken = ~np.isfinite(xy_bounds).all(axis=1) & ~shapely.is_empty(geoms)
    if broken.any():
        add("error", "bad-coordinates", f"{broken.sum()} feature(s) have coordinates that do not map into the "
            "working CRS", gdf.index[broken], hint="check the layer's CRS and whether x and y are swapped")
        gdf = gdf[~broken]
        geoms = geoms[~broken]

    # zero-length lines (every vertex at one point): their own message, dropped
    is_line = np.isin(shapely.get_type_id(geoms), (1, 5))
    zero = is_line & (shapely.length(geoms) == 0)
    if zero.any():
        add("warning", "zero-length", f"{int(zero.sum())} line(s) have zero length (every vertex at the same point) "
            "and are left out", gdf.index[zero], hint="delete them in the source data, or redraw them if they "
            "should be real lines")
        gdf = gdf[~zero]
        geoms = geoms[~zero]

    # geometry validity: repair and count
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        fids = gdf.index[invalid]
        repaired = shapely.make_valid(geoms[invalid])
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = repaired
        add("warning", "invalid-geometry", f"{invalid.sum()} invalid geometr{'y' if invalid.sum() == 1 else 'ies'} "
            "repaired with make_valid", fids, hint="fix self-intersections in the source data")

    # geometry types: explode multi-parts, keep the allowed base type, report the rest
    gdf = gdf.explode(index_parts=False) if any(t.startswith("Multi") or t == "GeometryCollection"
                                               for t in gdf.geom_type.unique()) else gdf
    base = gdf.geom_type.map(lambda t: _BASE.get(t, t))
    wrong = ~base.isin(spec.geom)
    if wrong.any():
        fids = gdf.index[wrong].unique()
        found = ", ".join(sorted(base[wrong].unique()))
        sev = "error" if wrong.all() else "warning"
        add(sev, "geometry-type", f"{wrong.sum()} feature(s) are {found}, expected {'/'.join(spec.geom)}"
            + ("" if sev == "error" else "; they are dropped"), fids,
            hint=f"give a {'/'.join(spec.geom)} file for {kind}")
        gdf = gdf[~wrong]

    # fields
    for f in spec.fields:
        if f.name not in gdf.columns:
            if f.required:
                others = [c for c in gdf.columns if c != gdf.geometry.name]
                add("error", "missing-field", f"required field '{f.name}' is missing", field=f.name,
                    hint=f"map your column onto it in the recipe: fields: {{{f.name}: <your column>}} "
                         f"(columns here: {', '.join(map(str, others[:12]))})")
            continue
        raw = gdf[f.name]
        if f.dtype in ("float", "int"):
            val, from_text = _to_numbers(raw, f.name)
            blank = raw.map(lambda v: v is None or (isinstance(v, float) and np.isnan(v))
                            or (isinstance(v, str) and not v.strip())).to_numpy(bool)
            val = val.where(~np.isinf(val.to_numpy()), np.nan)  # +-inf is not a planning number
            notnum = ~blank & val.isna().to_numpy()
            unit = _unit_words(f.name)
            if notnum.any():
                i = int(np.flatnonzero(notnum)[0])
                add("warning", "not-a-number",
                    f"{kind}.{f.name}: {int(notnum.sum())} value(s) not numbers, e.g. feature {gdf.index[i]} "
                    f"'{_short(raw.iloc[i])}'; they are treated as missing", gdf.index[notnum], f.name,
                    hint=f"write plain numbers{unit}")
            if from_text.any():
                i = int(np.flatnonzero(from_text)[0])
                add("warning", "number-from-text",
                    f"{kind}.{f.name}: {int(from_text.sum())} value(s) written as text were read as numbers, e.g. "
                    f"feature {gdf.index[i]} '{_short(raw.iloc[i])}' -> {val.iloc[i]:g}", gdf.index[from_text],
                    f.name, hint=f"check them; write plain numbers{unit}")
            if kind == "settlements" and f.name == "population" and val.isna().any():
                n = int(val.isna().sum())
                add("warning", "no-population", f"{n} of {len(val)} settlements have no population: population "
                    "totals and rankings leave them out", gdf.index[val.isna()], f.name,
                    hint="fill the population (persons) of each settlement")
            if f.required and val.isna().any():
                add("error", "missing-value", f"{val.isna().sum()} feature(s) have no {f.name}",
                    gdf.index[val.isna()], f.name, hint="fill the value or drop the features")
            low = val < f.min if f.min is not None else pd.Series(False, index=val.index)
            high = val > f.max if f.max is not None else pd.Series(False, index=val.index)
            out = low | high
            if out.any():
                rng = f"{f.min if f.min is not None else '-inf'}..{f.max if f.max is not None else 'inf'}"
                add("error", "out-of-range", f"{out.sum()} value(s) outside {rng}", gdf.index[out], f.name,
                    hint=f"correct the values{unit or ' (units as the field name says)'}")
        else:
            val = _coerce(raw, f.dtype, f.name)
            if f.required:
                empty = val.isna() | (val.astype(str).str.strip() == "")
                if empty.any():
                    add("error", "missing-value", f"{empty.sum()} feature(s) have an empty {f.name}",
                        gdf.index[empty], f.name, hint="fill the value")
        gdf = gdf.assign(**{f.name: val})

    # lies outside the study area?
    if extent is not None and len(gdf):
        inside = gdf.intersects(extent)
        share = float(inside.mean())
        if share == 0:
            b = gdf.total_bounds
            add("error", "outside-extent",
                f"no feature lies inside the study area (layer bounds x {b[0]:.0f}..{b[2]:.0f}, "
                f"y {b[1]:.0f}..{b[3]:.0f})",
                hint="check the CRS (a wrong 'crs:' or a missing datum: gcj02) and whether x and y are swapped")
        elif share < 0.5:
            add("warning", "outside-extent", f"{(~inside).sum()} of {len(gdf)} features lie outside the study area",
                gdf.index[~inside], hint="check their coordinates")
    return gdf, problems


def problems_table(problems) -> str:
    """Plain-text table of problems for the terminal."""
    if not problems:
        return "no problems found"
    rows = [("severity", "layer", "code", "field", "features", "message / fix")]
    for p in problems:
        fids = ", ".join(map(str, p.fids[:5])) + (" ..." if len(p.fids) > 5 else "")
        rows.append((p.severity, p.layer, p.code, p.field or "", fids,
                     p.message + (f". Fix: {p.hint}" if p.hint else "")))
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    lines = []
    for r in rows:
        lines.append("  ".join(str(r[i]).ljust(widths[i]) for i in range(5)) + "  " + r[5])
    return "\n".join(lines)
