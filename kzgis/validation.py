"""Layer validation: collect every problem with layer, feature ids, field and a fix hint.

:func:`validate_layer` repairs what can be repaired (invalid polygons via ``make_valid``, multi-part
geometries exploded, value types coerced) and reports the rest. Errors stop a run; warnings are
listed in ``summary.json`` and the report.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .layers import KINDS, Problem

_BASE = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}


def _coerce(series: pd.Series, dtype: str) -> pd.Series:
    if dtype in ("float", "int"):
        return pd.to_numeric(series, errors="coerce")
    if dtype == "bool":
        def b(v):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                return False
            return str(v).strip().lower() in ("1", "true", "yes", "y", "是", "t", "-1")
        return series.map(b).astype(bool)
    return series.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


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

    # coordinates that reprojection could not map (inf/NaN) cannot be repaired: report and drop them
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    xy_bounds = shapely.bounds(geoms)
    broken = ~np.isfinite(xy_bounds).all(axis=1) & ~shapely.is_empty(geoms)
    if broken.any():
        add("error", "bad-coordinates", f"{broken.sum()} feature(s) have coordinates that do not map into the "
            "working CRS", gdf.index[broken], hint="check the layer's CRS and whether x and y are swapped")
        gdf = gdf[~broken]
        geoms = geoms[~broken]

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
        val = _coerce(raw, f.dtype)
        if f.dtype in ("float", "int"):
            notnum = raw.notna() & val.isna()
            if notnum.any():
                add("warning", "not-a-number", f"{notnum.sum()} value(s) are not numbers and are treated as missing",
                    gdf.index[notnum], f.name, hint="use numbers in metres / units named by the field")
            if f.required and val.isna().any():
                add("error", "missing-value", f"{val.isna().sum()} feature(s) have no {f.name}",
                    gdf.index[val.isna()], f.name, hint="fill the value or drop the features")
            low = val < f.min if f.min is not None else pd.Series(False, index=val.index)
            high = val > f.max if f.max is not None else pd.Series(False, index=val.index)
            out = low | high
            if out.any():
                rng = f"{f.min if f.min is not None else '-inf'}..{f.max if f.max is not None else 'inf'}"
                add("error", "out-of-range", f"{out.sum()} value(s) outside {rng}", gdf.index[out], f.name,
                    hint="correct the values (units are metres, m3, mm as the field name says)")
        elif f.required:
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
