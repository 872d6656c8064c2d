"""Compare two kzgis runs: what changed between a scenario and the present, or between two years.

``kzgis compare RUN_A RUN_B --out DIR`` (and :func:`compare` from Python) matches the features of
the result layers of two output folders by stable keys and writes:

- ``DIR/compare.xlsx``: an overview sheet (rows before/after, changed, added, removed per layer) and
  one sheet per result layer with the changed rows: key, then before / after / change per column,
  with Chinese headers;
- ``DIR/changes.gpkg``: the changed features with geometry and both values (``<col>_before``,
  ``<col>_after``), a ``change`` column (improved / worsened / changed / added / removed);
- ``DIR/compare.html``: an offline map of the settlements that improved or worsened, with the
  summary table;
- ``DIR/summary.json``: counts per layer and a Chinese summary paragraph
  ("新增消防站后，15分钟到场的居民点由X处增至Y处（+Z人）"), and ``rules_changed``: the rules whose value
  in force differs between the runs (from their ``rules_in_force``), also said in the paragraph.

Keys, in order, the first unique in both runs: settlement ``name`` + ``town``, ``feature_id``,
``town``, ``scenario``, station (+ vehicle class, time break, ring), road ``road_fid`` + ``edge``,
``source_kind`` + ``source_id``, ``rank``. A layer without a unique key is compared by its count
per township (when it has ``town``) and in the overview.

Two folders are refused when one is not a kzgis output, when their CRSs differ, or when their study
areas do not overlap.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import KzgisError
from ._labels import header_zh

KEYS = (("name", "town"), ("feature_id",), ("town",), ("scenario",),
        ("station", "vehicle_class", "break_min", "ring"), ("station", "vehicle_class", "break_min"),
        ("station", "vehicle_class"), ("station",), ("road_fid", "edge"), ("source_kind", "source_id"),
        ("old_town_id", "rule_key"), ("rank",))
#: columns that say where a feature is or how it was computed, not what it is
IGNORE = {"geometry", "feature_id", "snap_m", "snap_ok", "edge", "u", "v", "bottleneck_edge", "edges",
          "settlement_ids", "end_node", "junction_node", "offset_m"}
VEHICLE_RANK = {"standard": 0, "small": 1, "motorcycle": 2, "none": 3}
LAYER_ZH = {"access_settlements": "居民点消防车可达性", "response_settlements": "居民点到场时间",
            "water_settlements": "居民点消防水源覆盖"}
FLOAT_TOL = 1e-6


class CompareError(KzgisError):
    """Two folders that cannot be compared (not kzgis outputs, different CRS or study area)."""


# ------------------------------------------------------------------------------------------------
# reading a run


@dataclass
class Run:
    """A kzgis output folder: its summary and its result layers."""

    path: Path
    summary: dict
    layers: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path) -> Run:
        import pyogrio

        from . import _outdir

        path = Path(path).expanduser()
        if not path.is_dir():
            raise CompareError(f"{path} is not a folder: give two output folders written by 'kzgis run'")
        gpkg, summ = path / "results.gpkg", path / "summary.json"
        if not (_outdir.is_kzgis_folder(path) and gpkg.exists() and summ.exists()):
            raise CompareError(f"{path} is not a kzgis output folder (no {_outdir.MARKER}, results.gpkg and "
                               "summary.json): give two folders written by 'kzgis run'")
        try:
            summary = json.loads(summ.read_text(encoding="utf-8"))
            layers = {}
            for name, gtype in pyogrio.list_layers(gpkg):
                frame = pyogrio.read_dataframe(gpkg, layer=name)
                if gtype is None and "geometry" in frame:
                    frame = pd.DataFrame(frame.drop(columns="geometry"))
                layers[str(name)] = frame
        except (OSError, ValueError, pyogrio.errors.DataSourceError) as exc:
            raise CompareError(f"{path}: cannot read its results ({exc}); is the run complete?") from exc
        return cls(path=path, summary=summary, layers=layers)

    @property
    def crs(self) -> str | None:
        return self.summary.get("crs")

    def bounds(self):
        b = [f.total_bounds for f in self.layers.values()
             if isinstance(f, gpd.GeoDataFrame) and len(f) and np.isfinite(f.total_bounds).all()]
        if not b:
            return None
        b = np.array(b)
        return b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()


def _check_comparable(a: Run, b: Run):
    if a.crs and b.crs and a.crs != b.crs:
        raise CompareError(f"the two runs are in different CRSs ({a.path}: {a.crs}; {b.path}: {b.crs}): "
                           "compare runs of the same study area with the same crs: in their recipes")
    ba, bb = a.bounds(), b.bounds()
    if ba is not None and bb is not None:
        ix = max(0.0, min(ba[2], bb[2]) - max(ba[0], bb[0])) * max(0.0, min(ba[3], bb[3]) - max(ba[1], bb[1]))
        area = min(max((ba[2] - ba[0]) * (ba[3] - ba[1]), 1.0), max((bb[2] - bb[0]) * (bb[3] - bb[1]), 1.0))
        if ix / area < 0.5:
            raise CompareError(f"the two runs cover different study areas ({a.path} and {b.path} overlap on "
                               f"{100 * ix / area:.0f} % of the smaller one): compare two runs of the same area")


# ------------------------------------------------------------------------------------------------
# matching and differences


def find_key(before: pd.DataFrame, after: pd.DataFrame) -> tuple[str, ...] | None:
    """The first key of :data:`KEYS` present and unique in both frames."""
    for key in KEYS:
        cols = list(key)
        if all(c in before.columns and c in after.columns for c in cols):
            if not before.duplicated(cols).any() and not after.duplicated(cols).any() \
                    and before[cols].notna().all().all() and after[cols].notna().all().all():
                return key
    return None


def _same(x, y) -> bool:
    if _isna(x) and _isna(y):
        return True
    if _isna(x) or _isna(y):
        return False
    if isinstance(x, (int, float, np.integer, np.floating)) and isinstance(y, (int, float, np.integer, np.floating)) \
            and not isinstance(x, (bool, np.bool_)):
        return abs(float(x) - float(y)) <= FLOAT_TOL * max(1.0, abs(float(x)))
    return str(x) == str(y)


def _isna(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def direction(column: str, before, after) -> int:
    """+1 if the change is an improvement for fire safety, -1 if worse, 0 if neither or unknown."""
    c = column
    if c in ("best_vehicle", "vehicle_class"):
        rb, ra = VEHICLE_RANK.get(str(before), 4), VEHICLE_RANK.get(str(after), 4)
        return int(np.sign(rb - ra))
    if _isna(before) and not _isna(after):
        return 1 if c.startswith(("time_min", "mean_time")) else 0
    if _isna(after) and not _isna(before):
        return -1 if c.startswith(("time_min", "mean_time")) else 0
    try:
        fb, fa = float(before), float(after)
    except (TypeError, ValueError):
        return 0
    lower_better = c.startswith(("time_min", "mean_time", "unreached", "distance_m")) or c.endswith("_none") \
        or c in ("road_km_none", "settlements_none", "population_none")
    higher_better = (c.startswith(("within_", "covered", "settlements_within", "population_within", "share_within",
                                   "pop_share", "settlement_share", "population_share", "road_share",
                                   "settlements_covered", "population_covered", "road_km_standard",
                                   "settlements_standard", "population_standard", "network_share"))
                     or c in ("covered", "coverable", "passed"))
    if lower_better:
        return int(np.sign(fb - fa))
    if higher_better:
        return int(np.sign(fa - fb))
    return 0


@dataclass
class LayerDiff:
    name: str
    key: tuple[str, ...] | None
    rows_before: int
    rows_after: int
    table: pd.DataFrame  # one row per changed / added / removed feature
    changed: int = 0
    added: int = 0
    removed: int = 0
    improved: int = 0
    worsened: int = 0


def diff_layer(name: str, before: pd.DataFrame, after: pd.DataFrame) -> LayerDiff:
    """Changed, added and removed rows of one result layer between two runs."""
    key = find_key(before, after)
    if key is None and "town" in before.columns and "town" in after.columns:
        cb = before.groupby("town").size().rename("features")
        ca = after.groupby("town").size().rename("features")
        before = cb.reset_index()
        after = ca.reset_index()
        key = ("town",)
        name = f"{name}（按乡镇计数）"
    if key is None:
        return LayerDiff(name, None, len(before), len(after), pd.DataFrame())
    k = list(key)
    cols = [c for c in before.columns if c in after.columns and c not in IGNORE and c not in k]
    b = before.set_index(k)
    a = after.set_index(k)
    rows, geoms = [], []
    ga = after.geometry if isinstance(after, gpd.GeoDataFrame) else None
    gb = before.geometry if isinstance(before, gpd.GeoDataFrame) else None
    a_pos = {idx: i for i, idx in enumerate(a.index)}
    b_pos = {idx: i for i, idx in enumerate(b.index)}
    for idx in dict.fromkeys(list(b.index) + list(a.index)):
        row = dict(zip(k, idx if isinstance(idx, tuple) else (idx,)))
        if idx not in a_pos or idx not in b_pos:  # a feature of one run only
            gone = idx not in a_pos
            frame, pos, geo, suffix = (b, b_pos, gb, "_before") if gone else (a, a_pos, ga, "_after")
            src = frame.iloc[pos[idx]]
            row["change"] = "removed" if gone else "added"
            row.update({f"{c}{suffix}": src[c] for c in cols})
            geoms.append(geo.iloc[pos[idx]] if geo is not None else None)
            rows.append(row)
            continue
        rb, ra = b.iloc[b_pos[idx]], a.iloc[a_pos[idx]]
        changed = [c for c in cols if not _same(rb[c], ra[c])]
        if not changed:
            continue
        score = [direction(c, rb[c], ra[c]) for c in changed]
        up, down = any(s > 0 for s in score), any(s < 0 for s in score)
        row["change"] = "improved" if up and not down else "worsened" if down and not up else "changed"
        row["changed_columns"] = ", ".join(changed)
        for c in changed:
            row[f"{c}_before"], row[f"{c}_after"] = rb[c], ra[c]
            try:
                if not isinstance(rb[c], (bool, np.bool_)) and not isinstance(ra[c], (bool, np.bool_)):
                    row[f"{c}_change"] = float(ra[c]) - float(rb[c])
            except (TypeError, ValueError):
                pass
        geoms.append(ga.iloc[a_pos[idx]] if ga is not None else None)
        rows.append(row)
    table = pd.DataFrame(rows)
    if ga is not None or gb is not None:
        crs = (ga if ga is not None else gb).crs
        table = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    n = table["change"].value_counts() if len(table) else pd.Series(dtype=int)
    return LayerDiff(name, key, len(before), len(after), table,
                     changed=int(n.get("improved", 0) + n.get("worsened", 0) + n.get("changed", 0)),
                     added=int(n.get("added", 0)), removed=int(n.get("removed", 0)),
                     improved=int(n.get("improved", 0)), worsened=int(n.get("worsened", 0)))


# ------------------------------------------------------------------------------------------------
# the Chinese summary


def _count(frame, col):
    if frame is None or col not in frame.columns:
        return None
    v = frame[col].astype("boolean").fillna(False).to_numpy(bool)
    pop = pd.to_numeric(frame.get("population"), errors="coerce") if "population" in frame else None
    people = int(np.nansum(pop.to_numpy()[v])) if pop is not None else None
    return int(v.sum()), people


def summary_sentences(a: Run, b: Run) -> list[str]:
    """Chinese sentences on the headline changes (stations, 15-minute reach, trucks, water)."""
    sa = (a.summary.get("layers") or {}).get("stations")
    sb = (b.summary.get("layers") or {}).get("stations")
    if isinstance(sa, int) and isinstance(sb, int) and sb > sa:
        lead = f"新增消防站{sb - sa}处后"
    elif isinstance(sa, int) and isinstance(sb, int) and sb < sa:
        lead = f"减少消防站{sa - sb}处后"
    else:
        lead = "调整后"
    out = []

    def sentence(layer, col, what):
        ca, cb = _count(a.layers.get(layer), col), _count(b.layers.get(layer), col)
        if ca is None or cb is None:
            return
        verb = "增至" if cb[0] > ca[0] else "减至" if cb[0] < ca[0] else "保持"
        text = f"{what}的居民点由{ca[0]}处{verb}{cb[0]}处" if verb != "保持" else f"{what}的居民点仍为{ca[0]}处"
        if ca[1] is not None and cb[1] is not None and verb != "保持":
            text += f"（{cb[1] - ca[1]:+d}人）"
        out.append(text)

    sentence("response_settlements", "within_15", "15分钟到场")
    ra, rb = a.layers.get("access_settlements"), b.layers.get("access_settlements")
    if ra is not None and rb is not None and "best_vehicle" in ra and "best_vehicle" in rb:
        fa = ra.assign(_std=ra["best_vehicle"].eq("standard"))
        fb = rb.assign(_std=rb["best_vehicle"].eq("standard"))
        a.layers["_std"], b.layers["_std"] = fa, fb
        sentence("_std", "_std", "标准消防车可达")
        a.layers.pop("_std"), b.layers.pop("_std")
    sentence("water_settlements", "covered", "消防水源覆盖")
    if not out:
        return []
    return [f"{lead}，" + "，".join(out) + "。"]


def rules_changed(a: Run, b: Run) -> list[dict]:
    """The rules and method numbers whose value in force differs between the two runs (their
    summary.json ``rules_in_force``; runs written before it give none): analysis, key, text_zh,
    unit, before, after."""
    ra, rb = a.summary.get("rules_in_force") or {}, b.summary.get("rules_in_force") or {}
    out = []
    for analysis in [n for n in ra if n in rb]:
        after = {r["key"]: r for r in rb[analysis]}
        for r in ra[analysis]:
            s = after.get(r["key"])
            if s is not None and s["value"] != r["value"]:
                out.append({"analysis": analysis, "key": r["key"], "text_zh": r["text_zh"], "unit": r["unit"],
                            "before": r["value"], "after": s["value"]})
    return out


def _rules_sentence(changed: list[dict]) -> list[str]:
    if not changed:
        return []

    def v(x, unit):
        return (f"{x:g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)) + \
            (f" {unit}" if unit else "")

    items = [f"{c['text_zh']}{v(c['before'], c['unit'])}→{v(c['after'], c['unit'])}" for c in changed[:5]]
    more = f"等{len(changed)}项" if len(changed) > 5 else ""
    return [f"两次计算采用的规则取值不同（{'；'.join(items)}{more}），差别部分来自取值的改变。"]


# ------------------------------------------------------------------------------------------------
# writing


def _sheet_frame(d: LayerDiff) -> pd.DataFrame:
    t = pd.DataFrame(d.table.drop(columns="geometry", errors="ignore"))
    ren = {}
    for c in t.columns:
        for suffix, zh in (("_before", "（前）"), ("_after", "（后）"), ("_change", "（变化）")):
            if c.endswith(suffix):
                ren[c] = header_zh(c[: -len(suffix)], d.name) + zh
                break
        else:
            ren[c] = {"change": "变化", "changed_columns": "变化字段"}.get(c, header_zh(c, d.name))
    t["change"] = t["change"].map({"improved": "改善", "worsened": "变差", "changed": "变化",
                                   "added": "新增", "removed": "删除"}).fillna(t["change"])
    return t.rename(columns=ren)


def _write_xlsx(diffs: list[LayerDiff], path: Path, sentences: list[str]):
    overview = pd.DataFrame([{"图层": d.name, "匹配键": "+".join(d.key) if d.key else "（无稳定键，仅比较数量）",
                              "前（要素数）": d.rows_before, "后（要素数）": d.rows_after, "变化": d.changed,
                              "改善": d.improved, "变差": d.worsened, "新增": d.added, "删除": d.removed}
                             for d in diffs])
    sheets = {"总览": overview}
    if sentences:
        sheets["结论"] = pd.DataFrame({"结论": sentences})
    used = set(sheets)
    for d in diffs:
        if len(d.table):
            name = d.name[:31]
            i = 2
            while name in used:
                name = f"{d.name[:28]}~{i}"
                i += 1
            used.add(name)
            sheets[name] = _sheet_frame(d)
    try:
        from .pipeline import write_tables

        write_tables(sheets, path)
    except ImportError:  # pragma: no cover
        with pd.ExcelWriter(path) as xw:
            for name, frame in sheets.items():
                frame.to_excel(xw, sheet_name=name[:31], index=False)


def _write_gpkg(diffs: list[LayerDiff], path: Path):
    """The changed features with geometry, one layer per result layer (the run's own GeoPackage writer).

    Before/after columns hold the two runs' values with gaps (e.g. True and NaN): numbers and booleans
    stay as they are, anything else becomes text, and all-text columns are written as text.
    """
    from .pipeline import write_gpkg

    frames = {}
    for d in diffs:
        t = d.table
        if not isinstance(t, gpd.GeoDataFrame) or not len(t) or not t.geometry.notna().any():
            continue
        t = t[t.geometry.notna()].copy()
        for c in t.columns:
            if c != t.geometry.name and t[c].dtype == object:
                v = t[c].map(lambda x: None if _isna(x) else x if isinstance(x, (str, int, float, bool)) else str(x))
                t[c] = v.astype("string") if v.map(lambda x: x is None or isinstance(x, str)).all() else v
        frames[d.name.replace("（按乡镇计数）", "_by_town")] = t
    if frames:
        write_gpkg(frames, path, next(iter(frames.values())).crs)


_COLOURS = {"improved": "#1a9850", "worsened": "#d73027", "changed": "#fd8d3c", "added": "#2c7bb6",
            "removed": "#636363"}
_LABELS = {"improved": "改善", "worsened": "变差", "changed": "有变化", "added": "新增", "removed": "删除"}


def _write_html(diffs: list[LayerDiff], path: Path, a: Run, b: Run, sentences: list[str]):
    from .maps import _assets

    feats = []
    for d in diffs:
        t = d.table
        if not isinstance(t, gpd.GeoDataFrame) or not len(t) or not d.name.endswith("_settlements"):
            continue
        pts = t[t.geometry.notna()].to_crs("EPSG:4326")
        for _, r in pts.iterrows():
            g = r.geometry
            p = g.representative_point() if g.geom_type != "Point" else g
            label = str(r.get("name", "")) if "name" in r else ""
            detail = "; ".join(f"{header_zh(c, d.name)}: {r.get(c + '_before')} → {r.get(c + '_after')}"
                               for c in str(r.get("changed_columns") or "").split(", ") if c)
            feats.append({"lat": round(p.y, 6), "lon": round(p.x, 6), "kind": r["change"],
                          "text": f"{LAYER_ZH.get(d.name, d.name)} · {label} · {_LABELS.get(r['change'], r['change'])}"
                                  + (f"<br>{escape(detail)}" if detail else "")})
    roads = b.layers.get("access_roads")
    road_json = "null"
    if isinstance(roads, gpd.GeoDataFrame) and len(roads):
        if len(roads) > 20000 and "vehicle_class" in roads:  # county scale: the standard-truck roads only
            roads = roads[roads["vehicle_class"].eq("standard")]
        geo = gpd.GeoSeries(roads.geometry.simplify(5.0).values, crs=roads.crs).to_crs("EPSG:4326")
        road_json = json.dumps({"type": "MultiLineString", "coordinates": [
            [[round(x, 5), round(y, 5)] for x, y in line.coords]
            for g in geo if g is not None and not g.is_empty
            for line in (getattr(g, "geoms", None) or [g])]})
    from .maps import styles as map_styles

    def title(name):
        base = name.replace("（按乡镇计数）", "")
        t = map_styles.rule_for(base).get("title", base)
        return (t if t != base else LAYER_ZH.get(base, base)) + ("（按乡镇计数）" if base != name else "")

    rows = "".join(f"<tr><td>{escape(title(d.name))}</td><td>{d.rows_before}</td><td>{d.rows_after}</td><td>{d.changed}</td>"
                   f"<td>{d.improved}</td><td>{d.worsened}</td><td>{d.added}</td><td>{d.removed}</td></tr>"
                   for d in diffs)
    legend = "".join(f'<span><i style="background:{c}"></i>{_LABELS[k]}</span>' for k, c in _COLOURS.items())
    data = json.dumps(feats, ensure_ascii=False).replace("</", "<\\/")
    html = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>规划实施对比</title>
<style>{_assets.read_css("leaflet/leaflet.css")}
body{{margin:0;font-family:"Noto Sans CJK SC",sans-serif}} #map{{height:62vh}}
.box{{padding:8px 14px}} table{{border-collapse:collapse;font-size:13px}} td,th{{border:1px solid #ccc;padding:2px 6px}}
.legend span{{margin-right:12px}} .legend i{{display:inline-block;width:11px;height:11px;border-radius:6px;margin-right:4px}}
</style></head><body>
<div class="box"><h2>规划实施对比</h2><p>前：{escape(str(a.path))}（{escape(str(a.summary.get('name', '')))}）<br>
后：{escape(str(b.path))}（{escape(str(b.summary.get('name', '')))}）</p>
<p id="summary">{escape(' '.join(sentences) or '两次结果的居民点指标没有变化。')}</p>
<div class="legend">{legend}<span><i style="background:#888;border-radius:0;height:3px"></i>道路（后）</span></div></div>
<div id="map"></div>
<div class="box"><table><tr><th>图层</th><th>前</th><th>后</th><th>变化</th><th>改善</th><th>变差</th><th>新增</th><th>删除</th></tr>{rows}</table></div>
<script>{_assets.read_js("leaflet/leaflet.js")}</script>
<script>
var feats = {data};
var colours = {json.dumps(_COLOURS)};
var map = L.map('map', {{preferCanvas: true}});
var roads = {road_json};
if (roads) {{ L.geoJSON(roads, {{style: {{color: '#888', weight: 1.2, opacity: 0.8}}, interactive: false}}).addTo(map); }}
var group = L.featureGroup().addTo(map);
feats.forEach(function(f) {{
  L.circleMarker([f.lat, f.lon], {{radius: 6, color: '#fff', weight: 1, fillColor: colours[f.kind] || '#333',
    fillOpacity: 0.95}}).bindPopup(f.text).addTo(group);
}});
if (feats.length) {{ map.fitBounds(group.getBounds().pad(0.2)); }} else {{ map.setView([31.16, 108.39], 9); }}
L.control.scale({{imperial: false}}).addTo(map);
</script></body></html>"""
    path.write_text(html, encoding="utf-8")


@dataclass
class Comparison:
    """What :func:`compare` found: per-layer differences and the Chinese summary."""

    diffs: list[LayerDiff]
    sentences: list[str]
    out_dir: Path | None = None
    #: rules whose value in force differs between the runs (:func:`rules_changed`)
    rules_changed: list[dict] = field(default_factory=list)

    def layer(self, name: str) -> LayerDiff:
        return next(d for d in self.diffs if d.name == name)


def compare(run_a, run_b, out=None) -> Comparison:
    """Compare two kzgis output folders; write ``out`` (compare.xlsx, changes.gpkg, compare.html,
    summary.json) when given.

    Parameters
    ----------
    run_a, run_b : str or Path
        Output folders of two ``kzgis run`` (before, after).
    out : str or Path, optional
        Where to write; the same folder rules as ``kzgis run --out`` (never a folder kzgis did not write).

    Returns
    -------
    Comparison
    """
    a, b = Run.read(run_a), Run.read(run_b)
    _check_comparable(a, b)
    diffs = []
    for name in [n for n in a.layers if n in b.layers]:
        diffs.append(diff_layer(name, a.layers[name], b.layers[name]))
    for name in [n for n in a.layers if n not in b.layers] + [n for n in b.layers if n not in a.layers]:
        diffs.append(LayerDiff(name, None, len(a.layers.get(name, ())), len(b.layers.get(name, ())), pd.DataFrame()))
    changed_rules = rules_changed(a, b)
    sentences = summary_sentences(a, b) + _rules_sentence(changed_rules)
    result = Comparison(diffs=diffs, sentences=sentences, rules_changed=changed_rules)
    if out is None:
        return result
    from ._outdir import OutputFolder

    with OutputFolder(out, inputs=[a.path, b.path]) as folder:
        tmp = folder.staging
        _write_xlsx(diffs, tmp / "compare.xlsx", sentences)
        _write_gpkg(diffs, tmp / "changes.gpkg")
        _write_html(diffs, tmp / "compare.html", a, b, sentences)
        summary = {"before": str(a.path), "after": str(b.path), "crs": a.crs,
                   "summary_zh": " ".join(sentences), "rules_changed": changed_rules,
                   "layers": {d.name: {"key": list(d.key) if d.key else None, "rows_before": d.rows_before,
                                       "rows_after": d.rows_after, "changed": d.changed, "improved": d.improved,
                                       "worsened": d.worsened, "added": d.added, "removed": d.removed}
                              for d in diffs}}
        (tmp / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2,
                                                     default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else str(v)),
                                          encoding="utf-8")
    result.out_dir = folder.path
    return result
