"""``outputs: maps:`` of a recipe, validated once into a frozen :class:`MapOptions`."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from .._errors import RecipeError, suggest

BASEMAPS = ("tianditu", "amap", "osm")


@dataclass(frozen=True)
class MapOptions:
    """How the HTML maps are written.

    Parameters
    ----------
    enabled : write maps at all (``maps: false`` in a recipe turns them off).
    offline : one self-contained HTML file per map, no tiles, no request to the internet; the DEM
        hillshade, township boundaries and labels stand in for a basemap. Default true.
    basemap : basemap shown first when ``offline`` is false: ``tianditu`` (天地图, needs a key),
        ``amap`` (高德, GCJ-02: overlays are shifted for display) or ``osm``. All three are in the
        switcher (天地图 only with a key).
    tianditu_key : 天地图 key (``tk``); default the environment variable ``TIANDITU_KEY``.
    county / townships : write the county overview / one map per township.
    towns : only these townships (names as in the boundary layer's ``town`` field).
    margin_m : township maps show features up to this distance (m) outside the township.
    simplify_m / simplify_town_m : display simplification tolerance (m) for the county / township
        maps (Douglas-Peucker, topology preserved). The analysis results are not changed.
    max_size_mb : the county map is re-simplified with a coarser tolerance until it is below this.
    hillshade : draw the DEM hillshade (if a DEM is loaded); ``hillshade_px`` caps its longest side.
    review_number : the map review number (审图号) shown bottom-left; placeholder "（待审）".
    title, sources, date : override the title, the data-source line and the date of the title block.
    synthetic : show the 示意数据 notice: ``auto`` (when a layer's ``source`` says 示意/synthetic),
        true or false.
    """

    enabled: bool = True
    offline: bool = True
    basemap: str = "tianditu"
    tianditu_key: str | None = None
    county: bool = True
    townships: bool = True
    towns: tuple[str, ...] | None = None
    margin_m: float = 1000.0
    simplify_m: float = 10.0
    simplify_town_m: float = 2.0
    max_size_mb: float = 15.0
    hillshade: bool = True
    hillshade_px: int = 1600
    review_number: str | None = None
    title: str | None = None
    sources: str | None = None
    date: str | None = None
    synthetic: str | bool = "auto"

    @classmethod
    def from_mapping(cls, value) -> MapOptions:
        """``True``/``False``/``None``/a mapping -> options; every problem reported in one RecipeError."""
        if value is None or value is True:
            return cls()
        if value is False:
            return cls(enabled=False)
        if not isinstance(value, dict):
            raise RecipeError(f"outputs.maps: expected true, false or a mapping of options, got "
                              f"{type(value).__name__} {value!r}")
        known = {f.name for f in fields(cls)}
        problems = []
        for key in value:
            if key not in known:
                problems.append(f"unknown key '{key}'{suggest(str(key), known)}")
        kw = {}
        for key, v in value.items():
            if key not in known:
                continue
            try:
                kw[key] = _coerce(key, v)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise RecipeError("outputs.maps: " + "; ".join(problems))
        return cls(**kw)

    @property
    def review_text(self) -> str:
        v = (self.review_number or "").strip()
        if not v:
            return "审图号：（待审）"
        return v if v.startswith("审图号") else f"审图号：{v}"

    def resolved_tianditu_key(self) -> str | None:
        return self.tianditu_key or os.environ.get("TIANDITU_KEY") or None


_BOOLS = {"enabled", "offline", "county", "townships", "hillshade"}
_FLOATS = {"margin_m": (0.0, 50_000.0), "simplify_m": (0.0, 1000.0), "simplify_town_m": (0.0, 1000.0),
           "max_size_mb": (0.5, 500.0)}
_STRS = {"tianditu_key", "review_number", "title", "sources", "date"}


def _coerce(key, v):
    if key in _BOOLS:
        if not isinstance(v, bool):
            raise ValueError(f"'{key}' must be true or false, got {v!r}")
        return v
    if key in _FLOATS:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"'{key}' must be a number, got {v!r}")
        lo, hi = _FLOATS[key]
        if not lo <= float(v) <= hi:
            raise ValueError(f"'{key}' = {v} is outside {lo:g}..{hi:g}")
        return float(v)
    if key == "hillshade_px":
        if isinstance(v, bool) or not isinstance(v, int) or not 64 <= v <= 8192:
            raise ValueError(f"'hillshade_px' must be an integer 64..8192, got {v!r}")
        return v
    if key == "basemap":
        if not isinstance(v, str) or v.lower() not in BASEMAPS:
            raise ValueError(f"'basemap' = {v!r} is unknown{suggest(str(v), BASEMAPS)}")
        return v.lower()
    if key == "towns":
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, (list, tuple)) or not all(isinstance(t, str) for t in v):
            raise ValueError(f"'towns' must be a list of township names, got {v!r}")
        return tuple(v)
    if key == "synthetic":
        if isinstance(v, bool) or v == "auto":
            return v
        raise ValueError(f"'synthetic' must be auto, true or false, got {v!r}")
    if key in _STRS:
        if v is None:
            return None
        if key == "date" and not isinstance(v, str):
            return str(v)  # YAML reads 2024-05-01 as a date
        if key == "sources" and isinstance(v, (list, tuple)):
            return "；".join(str(x) for x in v)
        if not isinstance(v, str):
            raise ValueError(f"'{key}' must be text, got {v!r}")
        return v
    raise ValueError(f"'{key}' is not handled")  # pragma: no cover
