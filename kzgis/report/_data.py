"""Access to the run's layers and results for the report, and the per-township numbers.

:class:`RunData` wraps the context, the result frames and the recipe (what ran, what is missing
and why, which layers are synthetic). :class:`TownData` is the same seen through one township
(:class:`~._scope.Scope`). :func:`town_facts` gives the numbers both the township chapter and the
county summary print, so the summary's rows are exactly the townships' numbers.
"""

from __future__ import annotations

import logging
import math
from functools import cached_property

import numpy as np
import pandas as pd

from .. import analysis as _analysis
from .. import schema as _schema
from ..layers import KINDS
from ._scope import FrameIndex, Scope, clip, is_geo, select

log = logging.getLogger(__name__)

SYNTHETIC_MARKS = ("示意", "synthetic", "合成", "模拟")
DEFAULT_BREAKS = (5.0, 10.0, 15.0, 20.0, 30.0)


def layer_title(kind: str) -> str:
    if kind == "dem":
        return "数字高程模型（DEM）"
    spec = KINDS.get(kind)
    return f"{spec.title_zh}" if spec and spec.title_zh else kind


def conforming(results: dict | None) -> tuple[dict, dict[str, list[str]]]:
    """The results the report may read, checked against their declaration in :mod:`kzgis.schema`.

    Every column a result layer declares (not optional, not a pattern family) is then present, so the
    report reads it without asking; a result that lacks one is left out (its sections say which
    columns it lacks: ``rejected`` maps its name to them). Other differences (a column of another
    kind, an undeclared column) are logged, not refused: the report coerces what it reads.
    """
    _analysis.load_all()  # the analyses declare their result layers when imported
    kept, rejected = {}, {}
    for name, frame in (results or {}).items():
        if frame is None:
            continue
        lay = _schema.LAYERS.get(name)
        if lay is not None:
            missing = [c.name for c in lay.columns
                       if not c.optional and not c.is_pattern and c.name not in frame.columns]
            if missing:
                log.warning("report: result %s lacks the declared column(s) %s; its sections are left out",
                            name, ", ".join(missing))
                rejected[name] = missing
                continue
        kept[name] = frame
    return kept, rejected


class RunData:
    """The run as the report sees it."""

    def __init__(self, ctx, results: dict, recipe):
        self.ctx = ctx
        self.layers = ctx.layers
        self.results, self.rejected = conforming(results)
        self.recipe = recipe
        self.crs = ctx.layers.crs

    # -- layers and results ------------------------------------------------------------------
    def layer(self, kind: str):
        if not self.layers.has(kind):
            return None
        return self.layers[kind]

    def result(self, name: str):
        return self.results.get(name)

    # -- what ran ------------------------------------------------------------------------------
    @staticmethod
    def analysis(name: str):
        """The registered analysis ``name`` (its title, result layers and needed layers), or None."""
        _analysis.load_all()
        return _analysis.REGISTRY.get(name)

    def title(self, analysis: str) -> str:
        """The analysis' Chinese title, as registered (one title per analysis)."""
        reg = self.analysis(analysis)
        return reg.title_zh if reg is not None and reg.title_zh else analysis

    def ran(self, analysis: str) -> bool:
        """True when any of the analysis' registered result layers is in the run."""
        reg = self.analysis(analysis)
        return reg is not None and any(r in self.results for r in reg.results)

    def why_missing(self, analysis: str, result: str | None = None) -> str:
        """Why a section has no result: no such analysis in the recipe, a layer missing, or the result absent."""
        reg = self.analysis(analysis)
        missing = [layer_title(k) for k in (reg.needs if reg else ()) if not self.layers.has(k)]
        for group in reg.needs_any if reg else ():
            if not any(self.layers.has(k) for k in group):
                missing.append("或".join(layer_title(k) for k in group))
        if missing:
            return f"缺少{'、'.join(missing)}图层"
        named = None
        if result is not None:
            from .. import schema

            lay = schema.LAYERS.get(result)
            named = f"“{lay.title_zh}”（{result}）" if lay is not None else result
            if result in self.rejected:  # it ran, but its result lacks declared columns
                return f"{named}结果图层缺少字段{'、'.join(self.rejected[result])}"
        in_recipe = self.recipe is not None and analysis in getattr(self.recipe, "analyses", {})
        if not in_recipe and not self.ran(analysis):
            return f"本次任务未包含{self.title(analysis)}（配方 analyses: 中无 {analysis}）"
        if named is not None:
            return f"缺少{named}结果图层"
        return f"缺少{self.title(analysis)}结果"

    def town_col(self, name: str) -> str:
        """The column naming a result row's township: ``town``, else ``unit`` when its units are townships
        (helicopter results per township), else none (rows are then placed by location)."""
        cache = self.__dict__.setdefault("_town_cols", {})
        if name not in cache:
            f = self.results.get(name)
            if f is None or "town" in f.columns or "unit" not in f.columns:
                cache[name] = "town"
            else:
                units = set(f["unit"].dropna().astype(str))
                towns = set(self.all_towns())
                cache[name] = "unit" if units and towns and len(units & towns) >= 0.8 * len(units) else "town"
        return cache[name]

    def warm(self):
        """Build the spatial indexes of every layer and result (a few tens of milliseconds), so that
        worker processes forked afterwards share them instead of each building its own."""
        for frame in list(self.layers.values()) + list(self.results.values()):
            index = self.index(frame)
            if index is None or not len(frame):
                continue
            try:
                index.tree("geometry")
                if index.kind() != "line":
                    index.tree("point")
            except Exception:  # noqa: BLE001 - odd geometries: select() meets them again and says so
                continue

    def index(self, frame) -> FrameIndex | None:
        """The :class:`FrameIndex` of a layer or result frame, made once per run and shared by every
        township's selections."""
        if frame is None or not is_geo(frame):
            return None
        store = self.__dict__.setdefault("_indexes", {})
        hit = store.get(id(frame))
        if hit is None or hit.frame is not frame:
            hit = store[id(frame)] = FrameIndex(frame)
        return hit

    def rule_values(self) -> dict:
        """``{analysis: {rule key: value in force}}`` (:func:`kzgis.rules.in_force` of each analysis of
        the recipe, and ``network``), so the text can state the numbers the run used."""
        if "_rule_values" in self.__dict__:
            return self.__dict__["_rule_values"]
        out: dict = {}
        recipe = self.recipe
        if recipe is not None:
            for name, p in (getattr(recipe, "analyses", None) or {}).items():
                spec = _analysis.REGISTRY.get(name)
                try:
                    records = spec.in_force(p) if spec is not None else []
                except TypeError:  # not a params dataclass
                    continue
                out[name] = {r.rule: r.value for r in records if r.rule is not None}
            net = getattr(recipe, "network", None)
            if hasattr(net, "in_force"):
                out["network"] = {r.rule: r.value for r in net.in_force() if r.rule is not None}
        self.__dict__["_rule_values"] = out
        return out

    def param(self, analysis: str, name: str, default=None):
        if self.recipe is None:
            return default
        p = getattr(self.recipe, "analyses", {}).get(analysis)
        return getattr(p, name, default) if p is not None else default

    @property
    def breaks(self) -> tuple[float, ...]:
        b = self.param("response", "breaks_min")
        try:
            b = tuple(sorted(float(x) for x in b)) if b else DEFAULT_BREAKS
        except (TypeError, ValueError):
            b = DEFAULT_BREAKS
        return b or DEFAULT_BREAKS

    # -- synthetic data ------------------------------------------------------------------------
    @cached_property
    def synthetic(self) -> list[str]:
        """Names (Chinese) of the input layers and results whose ``source`` says they are synthetic."""
        out = []
        for kind, frame in list(self.layers.items()) + list(self.results.items()):
            if kind == "dem" or not isinstance(frame, pd.DataFrame) or "source" not in frame.columns:
                continue
            vals = frame["source"].dropna().astype(str).unique()
            if any(any(m in v.lower() for m in SYNTHETIC_MARKS) for v in vals):
                out.append(layer_title(kind) if kind in KINDS else kind)
        dem = self.layers.get("dem")
        src = str(getattr(dem, "source", "") or "")
        if dem is not None and any(m in src.lower() for m in SYNTHETIC_MARKS):
            out.append(layer_title("dem"))
        return out

    # -- townships -----------------------------------------------------------------------------
    def all_towns(self) -> list[str]:
        b = self.layer("boundary")
        if b is not None and "town" in b.columns:
            return list(dict.fromkeys(str(t) for t in b["town"].dropna()))
        s = self.layer("settlements")
        if s is not None and "town" in s.columns:
            return list(dict.fromkeys(str(t) for t in s["town"].dropna()))
        return []

    def scope(self, towns, name: str | None = None) -> Scope:
        towns = tuple(towns)
        b = self.layer("boundary")
        poly = None
        if b is not None and "town" in b.columns:
            sub = b[b["town"].astype(str).isin(towns)]
            if len(sub):
                poly = sub.geometry.union_all() if hasattr(sub.geometry, "union_all") else sub.unary_union
        return Scope(name or towns[0], towns, poly, self.crs)

    @cached_property
    def county_name(self) -> str:
        c = self.layer("county")
        if c is not None and "name" in c.columns:
            names = [str(n) for n in c["name"].dropna() if str(n).strip()]
            if names:
                return names[0]
        return ""


class TownData:
    """The run seen through one scope (township or the set of townships of the summary)."""

    def __init__(self, run: RunData, scope: Scope):
        self.run = run
        self.scope = scope
        self.cache: dict = {}

    def layer(self, kind: str):
        key = ("layer", kind)
        if key not in self.cache:
            f = self.run.layer(kind)
            self.cache[key] = select(f, self.scope, index=self.run.index(f)) if f is not None else None
        return self.cache[key]

    def layer_clip(self, kind: str):
        key = ("clip", kind)
        if key not in self.cache:
            f = self.run.layer(kind)
            self.cache[key] = clip(f, self.scope, self.run.index(f)) if f is not None else None
        return self.cache[key]

    def result(self, name: str):
        """Result rows in the scope; ``None`` when the result is absent or cannot be assigned to townships."""
        key = ("result", name)
        if key not in self.cache:
            f = self.run.result(name)
            self.cache[key] = (select(f, self.scope, self.run.town_col(name), self.run.index(f))
                                if f is not None else None)
        return self.cache[key]

    def result_clip(self, name: str):
        key = ("rclip", name)
        if key not in self.cache:
            f = self.run.result(name)
            self.cache[key] = clip(f, self.scope, self.run.index(f)) if f is not None and is_geo(f) else None
        return self.cache[key]

    def population(self, frame) -> pd.Series | None:
        """Population of the rows of a per-settlement result (access/response/water_settlements declare it)."""
        if frame is None:
            return None
        return pd.to_numeric(frame["population"], errors="coerce")


def _num(series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _sum(s) -> float | None:
    if s is None:
        return None
    return float(np.nansum(s.to_numpy(dtype=float))) if len(s) else 0.0


def time_bins(breaks) -> list[tuple[str, float, float]]:
    """``[("≤5分钟", -inf, 5), ("5～10分钟", 5, 10), ..., (">30分钟", 30, inf)]``."""
    from ._model import num

    out = []
    lo = -math.inf
    for b in breaks:
        label = f"≤{num(b)}分钟" if lo == -math.inf else f"{num(lo)}～{num(b)}分钟"
        out.append((label, lo, b))
        lo = b
    out.append((f">{num(lo)}分钟", lo, math.inf))
    return out


def town_facts(td: TownData) -> dict:
    """Every number the county summary rolls up for one township (``None`` = not available)."""
    if "facts" not in td.cache:
        td.cache["facts"] = _town_facts(td)
    return dict(td.cache["facts"])


def _town_facts(td: TownData) -> dict:
    f: dict = {}
    st = td.layer("settlements")
    f["settlements"] = None if st is None else int(len(st))
    # input layers: population and volume are optional fields
    f["population"] = None if st is None or "population" not in st.columns else _sum(_num(st["population"]))
    f["area_km2"] = td.scope.area_km2 if td.scope.polygon is not None else None
    for kind in ("stations", "hydrants", "water_intakes", "fire_pools"):
        fr = td.layer(kind)
        f[kind] = None if fr is None else int(len(fr))
    pools = td.layer("fire_pools")
    f["pool_volume_m3"] = (None if pools is None or "volume_m3" not in pools.columns
                           else _sum(_num(pools["volume_m3"])))
    forest = td.layer_clip("forest")
    f["forest_km2"] = None if forest is None else float(forest.geometry.union_all().area) / 1e6 if len(forest) else 0.0

    acc = td.result("access_settlements")
    if acc is not None:
        bv = acc["best_vehicle"].fillna("none").astype(str)
        pop = td.population(acc)
        for c in ("standard", "small", "motorcycle", "none"):
            f[f"access_{c}"] = int((bv == c).sum())
            f[f"access_{c}_pop"] = None if pop is None else _sum(pop[bv == c])
        f["access_total"] = int(len(acc))
    roads = td.result_clip("access_roads")
    if roads is not None:
        vc = roads["vehicle_class"].fillna("none").astype(str)
        ln = roads.geometry.length
        for c in ("standard", "small", "motorcycle", "none"):
            f[f"road_km_{c}"] = float(ln[vc == c].sum()) / 1000.0
    up = td.result("access_upgrades")
    if up is not None:
        f["upgrades"] = int(len(up))
        f["upgrade_km"] = _sum(_num(up["length_m"])) / 1000.0

    resp = td.result("response_settlements")
    if resp is not None:
        t = _num(resp["time_min"]).fillna(np.inf)
        for label, lo, hi in time_bins(td.run.breaks):
            f[f"resp_{label}"] = int(((t > lo) & (t <= hi) & np.isfinite(t)).sum())
        f["resp_unreached"] = int((~np.isfinite(t)).sum())
        f["resp_total"] = int(len(resp))
        fin = t[np.isfinite(t)]
        f["resp_max_min"] = float(fin.max()) if len(fin) else None

    ws = td.result("water_settlements")
    if ws is not None:
        cov = ws["covered"].fillna(False).astype(bool)
        f["water_covered"] = int(cov.sum())
        f["water_uncovered"] = int((~cov).sum())
        f["water_total"] = int(len(ws))
    sug = td.result("water_suggestions")
    if sug is not None:
        f["water_suggestions"] = int(len(sug))

    bands = td.result("barrier_bands")
    if bands is not None:
        f["bands"] = int(len(bands))
        f["bands_ha"] = _sum(_num(bands["area_m2"])) / 1e4
    cp = td.result("checkpoints")
    if cp is not None:
        f["checkpoints"] = int(len(cp))
    dips = td.result("heli_dip_sites")
    if dips is not None:
        f["dip_sites"] = int(len(dips))
        f["dip_selected"] = int(dips["selected"].fillna(False).astype(bool).sum())
    pads = td.result("heli_pads")
    if pads is not None:
        f["pads"] = int(len(pads))
    return f
