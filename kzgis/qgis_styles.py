"""QGIS styles (QML) for a run's result layers, from the same style rules as the HTML maps.

``python -m kzgis.qgis_styles OUT_DIR`` writes ``OUT_DIR/qgis/<layer>.qml`` for every layer of
``OUT_DIR/results.gpkg`` and ``OUT_DIR/qgis/styles.json`` (layer -> QML file and Chinese title). The
QGIS plugin (``qgis_plugin/kzgis_qgis``) loads the layers with these styles; a planner can also
load a QML by hand (Layer Properties -> Style -> Load Style).

Each style is a rule-based renderer whose rules are the map legend's classes (:mod:`kzgis.maps.styles`:
``classes`` by a column, numeric ``bins``, a ``ramp`` or ``palette`` over the values present), plus
Chinese field aliases (the result schema's labels, :func:`kzgis.maps.styles.field_label`), so the
attribute table reads in Chinese while the data keep their English column names. Layer titles are the
maps' (the schema's ``title_zh`` for declared result layers).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ._errors import KzgisError
from .maps import styles as map_styles

PX_MM = 0.26  # one CSS pixel in millimetres (96 dpi)
_SHAPES = {"circle": "circle", "square": "square", "triangle": "triangle", "diamond": "diamond",
           "star": "star", "drop": "circle", "helipad": "circle", "station": "square"}


def _rgba(colour: str | None, alpha: float = 1.0) -> str:
    c = str(colour or "#333333").lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        r, g, b = 51, 51, 51
    a = max(0, min(255, round(255 * float(alpha))))
    return f"{r},{g},{b},{a}"


def _props(d: dict) -> str:
    return "".join(f'<prop k={quoteattr(k)} v={quoteattr(str(v))}/>' for k, v in d.items())


def _dash(style: dict) -> dict:
    dash = style.get("dashArray")
    if not dash:
        return {"use_custom_dash": "0"}
    parts = [float(x) * PX_MM for x in str(dash).replace(",", " ").split() if x]
    if len(parts) % 2:
        parts = parts * 2
    return {"use_custom_dash": "1", "customdash": ";".join(f"{p:.2f}" for p in parts), "customdash_unit": "MM"}


def symbol_xml(style: dict, geom: str, name: str) -> str:
    """One ``<symbol>`` for a Leaflet-style dict on a point, line or polygon layer."""
    if geom == "point":
        size = style.get("size") or 2 * float(style.get("radius", 4.5))
        props = {"name": _SHAPES.get(style.get("symbol", "circle"), "circle"),
                 "color": _rgba(style.get("fillColor", style.get("color")), style.get("fillOpacity", 1.0)),
                 "outline_color": _rgba(style.get("color")), "outline_width": f"{0.3:.2f}",
                 "outline_width_unit": "MM", "size": f"{float(size) * PX_MM:.2f}", "size_unit": "MM"}
        layer = f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0">{_props(props)}</layer>'
        kind = "marker"
    elif geom == "line":
        props = {"line_color": _rgba(style.get("color"), style.get("opacity", 1.0)),
                 "line_width": f"{float(style.get('weight', 2.0)) * PX_MM:.2f}", "line_width_unit": "MM",
                 "capstyle": "round", "joinstyle": "round", **_dash(style)}
        layer = f'<layer class="SimpleLine" enabled="1" locked="0" pass="0">{_props(props)}</layer>'
        kind = "line"
    else:
        filled = style.get("fill", True)
        props = {"color": _rgba(style.get("fillColor", style.get("color")),
                                style.get("fillOpacity", 0.3) if filled else 0.0),
                 "style": "solid" if filled else "no",
                 "outline_color": _rgba(style.get("color"), style.get("opacity", 1.0)),
                 "outline_width": f"{float(style.get('weight', 1.0)) * PX_MM:.2f}", "outline_width_unit": "MM",
                 "outline_style": "dash" if style.get("dashArray") else "solid"}
        layer = f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">{_props(props)}</layer>'
        kind = "fill"
    return f'<symbol type="{kind}" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">{layer}</symbol>'


def _lit(key: str) -> str:
    return "'" + str(key).replace("'", "''") + "'"


def _eq(col: str, key: str, dtype: str) -> str:
    q = '"' + col.replace('"', '""') + '"'
    if key in ("true", "false") and dtype in ("bool", "int"):
        return f"{q} = {1 if key == 'true' else 0}"
    if key == "":
        return f"{q} IS NULL"
    if dtype in ("int", "float"):
        try:
            return f"{q} = {float(key)!r}"
        except ValueError:
            pass
    return f"to_string({q}) = {_lit(key)}"


def layer_rules(name: str, frame, geom: str) -> list[tuple[str, str, dict]]:
    """(filter expression, legend label, style) per class of layer ``name`` as the HTML map draws it."""
    import pandas as pd

    rule = map_styles.rule_for(name, frame)
    by = rule.get("by")
    default = rule.get("default") or map_styles.DEFAULT_RULE["default"]
    col = frame[by] if by and by in frame.columns else None

    def dtype(s):
        if s.dtype == bool:
            return "bool"
        if pd.api.types.is_integer_dtype(s):
            return "int"
        if pd.api.types.is_float_dtype(s):
            return "float"
        return "str"

    out: list[tuple[str, str, dict]] = []
    if col is not None and "classes" in rule:
        dt = dtype(col)
        keys = [k for k in col.map(map_styles.value_key).unique()]
        listed = []
        for key, style in rule["classes"].items():
            if key in keys:
                out.append((_eq(by, key, dt), style.get("label", key), style))
                listed.append(key)
        rest = [k for k in keys if k not in listed]
        if rest:
            out.append(("ELSE", default.get("label", rule.get("title", name)), default))
    elif col is not None and "bins" in rule:
        q = '"' + by + '"'
        lower = -math.inf
        base = rule.get("bin_style", {})
        for upper, label, colour in rule["bins"]:
            expr = f"{q} <= {upper!r}" if lower == -math.inf else f"{q} > {lower!r} AND {q} <= {upper!r}"
            style = {**base, "color": colour, "fillColor": colour}
            out.append((expr, label, style))
            lower = upper
        mstyle = rule.get("missing") or default
        out.append((f"{q} IS NULL", mstyle.get("label", "无数据"), mstyle))
    elif col is not None and "ramp" in rule:
        vals = sorted(v for v in pd.to_numeric(col, errors="coerce").dropna().unique())
        colours = map_styles.ramp_colours(rule["ramp"], len(vals))
        for v, c in zip(vals, colours):
            out.append((f'"{by}" = {float(v)!r}', rule.get("ramp_label", "{v:g}").format(v=v),
                        {**rule.get("ramp_style", {}), "color": c, "fillColor": c}))
    elif col is not None and "palette" in rule:
        dt = dtype(col)
        keys = col.map(map_styles.value_key)
        values = rule.get("values", {}).get(by, {})
        present = set(keys.unique())
        uniq = [k for k in values if k in present] + sorted(present - set(values))
        pal = rule["palette"]
        for i, k in enumerate(uniq):
            c = pal[i % len(pal)]
            base = rule.get("palette_style", {})
            style = {**base, "color": c, "fillColor": c}
            out.append((_eq(by, k, dt), values.get(k, k) or "（空）", style))
    else:
        out.append(("", default.get("label", rule.get("title", name)), default))
    excl = []
    for c, vals in rule.get("exclude", {}).items():
        if c in frame.columns:
            dt = dtype(frame[c])
            excl += [_eq(c, map_styles.value_key(v), dt) for v in vals]
    if excl:
        nots = " AND ".join(f"NOT ({e})" for e in excl)
        out = [((f"({f}) AND {nots}" if f and f != "ELSE" else (nots if f == "" else f)), lab, st)
               for f, lab, st in out]
    return out


def qml(name: str, frame, geom: str) -> str:
    """The QML document (rule-based renderer + Chinese field aliases) for one result layer."""
    rules = layer_rules(name, frame, geom)
    layer = map_styles.rule_for(name).get("schema")
    rule_xml, sym_xml = [], []
    for i, (expr, label, style) in enumerate(rules):
        s = map_styles.geom_default(map_styles.without_label(style), geom)
        attrs = f'key="r{i}" symbol="{i}" label={quoteattr(str(label))}'
        if expr == "ELSE":
            attrs += ' filter="ELSE"'
        elif expr:
            attrs += f" filter={quoteattr(expr)}"
        rule_xml.append(f"<rule {attrs}/>")
        sym_xml.append(symbol_xml(s, geom, str(i)))
    cols = [c for c in frame.columns if c != frame.geometry.name] if hasattr(frame, "geometry") else list(frame.columns)
    aliases = "".join(f'<alias index="{i}" field={quoteattr(str(c))} name={quoteattr(map_styles.field_label(layer, c))}/>'
                      for i, c in enumerate(cols))
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.22.0" styleCategories="Symbology|Fields">\n'
            '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
            f'<rules key="root">{"".join(rule_xml)}</rules><symbols>{"".join(sym_xml)}</symbols>'
            "</renderer-v2>\n"
            f"<aliases>{aliases}</aliases>\n"
            f"<layerGeometryType>{ {'point': 0, 'line': 1, 'polygon': 2}[geom] }</layerGeometryType>\n"
            "</qgis>\n")


_KIND = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
         "Polygon": "polygon", "MultiPolygon": "polygon"}


def _geom_kind(gdf) -> str | None:
    types = set(gdf.geom_type.dropna().unique()) if len(gdf) else set()
    if not types:
        return None
    if types <= {"Point", "MultiPoint"}:
        return "point"
    if types <= {"LineString", "MultiLineString"}:
        return "line"
    return "polygon"


def write_styles(out_dir: Path) -> dict:
    """Write ``out_dir/qgis/<layer>.qml`` for each spatial layer of ``out_dir/results.gpkg``.

    Returns and writes (``qgis/styles.json``) ``{layer: {"qml": file name, "title": 中文名}}``.
    Tables without geometry get no QML. Only files inside ``qgis/`` are written.
    """
    import geopandas as gpd
    import pyogrio

    out_dir = Path(out_dir)
    gpkg = out_dir / "results.gpkg"
    if not gpkg.exists():
        raise KzgisError(f"{gpkg} does not exist: give the output folder of a kzgis run")
    qdir = out_dir / "qgis"
    qdir.mkdir(exist_ok=True)
    index = {}
    for lname, gtype in pyogrio.list_layers(gpkg):
        if gtype is None:
            continue
        frame = gpd.read_file(gpkg, layer=lname)
        title = map_styles.rule_for(lname).get("title", lname)
        kinds = frame.geom_type.map(_KIND).dropna() if len(frame) else None
        if kinds is not None and kinds.nunique() > 1:
            # mixed points/lines/polygons (e.g. network_issues): one style per geometry kind; QGIS
            # opens each kind as its own sublayer (``|geometrytype=Point`` ...)
            parts = {}
            for kind in sorted(kinds.unique()):
                path = qdir / f"{lname}.{kind}.qml"
                path.write_text(qml(lname, frame[frame.geom_type.map(_KIND) == kind], kind), encoding="utf-8")
                parts[kind] = path.name
            index[lname] = {"qml": parts[sorted(parts)[0]], "title": title, "parts": parts,
                            "features": int(len(frame))}
            continue
        geom = _geom_kind(frame) or ("point" if "Point" in str(gtype) else "line" if "Line" in str(gtype) else "polygon")
        path = qdir / f"{lname}.qml"
        path.write_text(qml(lname, frame, geom), encoding="utf-8")
        index[lname] = {"qml": path.name, "title": title, "features": int(len(frame))}
    (qdir / "styles.json").write_text(json.dumps(index, ensure_ascii=False, indent=2), encoding="utf-8")
    return index


def algorithms() -> list[dict]:
    """What the QGIS provider offers, from the analysis registry (``--algorithms`` prints it as JSON).

    One entry per registered analysis: ``name``, ``title_zh``, layer kinds (``needs``, ``needs_any``,
    ``optional``), every numeric parameter with its default and Chinese label (``numbers``), the
    Chinese titles of its result layers and of the layer kinds. New analyses appear in QGIS without
    touching the plugin.
    """
    import dataclasses

    from . import analysis
    from ._labels import PARAMS_ZH

    out = []
    for name, spec in analysis.load_all().items():
        numbers = []
        for f in dataclasses.fields(spec.params):
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            if isinstance(default, bool) or not isinstance(default, (int, float)):
                continue
            numbers.append({"name": f.name, "label_zh": PARAMS_ZH.get(f.name, f.name), "default": default,
                            "integer": isinstance(default, int)})
        out.append({"name": name, "title_zh": spec.title_zh, "needs": list(spec.needs),
                    "needs_any": [list(g) for g in spec.needs_any], "optional": list(spec.optional),
                    "numbers": numbers,
                    "results": {r: map_styles.rule_for(r).get("title", r) for r in spec.results},
                    "help_zh": (spec.func.__doc__ or "").strip().splitlines()[0] if spec.func.__doc__ else ""})
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--algorithms"]:
        print(json.dumps(algorithms(), ensure_ascii=False))
        return 0
    if len(argv) != 1:
        print("usage: python -m kzgis.qgis_styles OUT_DIR | --algorithms", file=sys.stderr)
        return 2
    try:
        index = write_styles(Path(argv[0]))
    except KzgisError as exc:
        print(f"kzgis: error: {exc}", file=sys.stderr)
        return 2
    print(f"kzgis: {len(index)} QGIS style(s) written to {Path(argv[0]) / 'qgis'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["write_styles", "qml", "layer_rules", "symbol_xml"]
