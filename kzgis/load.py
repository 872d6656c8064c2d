"""Load every layer a recipe names, validate it, and return a :class:`~kzgis.layers.Layers`."""

from __future__ import annotations

import logging

import shapely

from ._errors import LayerError
from .crs import as_crs, choose_working_crs
from .layers import KINDS, Layers, LayerSource, Problem, derive_from_landuse, read_layer
from .validation import validate_layer

log = logging.getLogger(__name__)

# layers that define the study area, in order of preference
_EXTENT_KINDS = ("county", "boundary")


def _strip_layer(kind: str, exc) -> str:
    """The message without its ``layer 'kind': `` prefix (the problem table names the layer)."""
    msg = str(exc)
    prefix = f"layer '{kind}': "
    return msg[len(prefix):] if msg.startswith(prefix) else msg


def _working_crs(sources: dict[str, LayerSource], crs):
    if crs:
        return as_crs(crs)
    import geopandas as gpd

    for kind in _EXTENT_KINDS + tuple(k for k in sources if k not in _EXTENT_KINDS and k != "dem"):
        src = sources.get(kind)
        if src is None:
            continue
        try:
            gdf, _ = read_layer(src, "EPSG:4326")
        except LayerError:
            continue
        if len(gdf):
            crs = choose_working_crs(gdf.total_bounds)
            log.info("working CRS chosen from layer %s: %s", kind, crs.to_string())
            return crs
    del gpd
    return as_crs("EPSG:4545")


def load_layers(sources: dict[str, LayerSource], crs=None, strict: bool = True) -> Layers:
    """Read, reproject, rename and validate layers.

    Parameters
    ----------
    sources : mapping kind -> LayerSource
    crs : working CRS; chosen from the data (the local 3-degree GK zone) when None.
    strict : raise :class:`LayerError` listing every error when any layer has one. With
        ``strict=False`` the problems are only collected in ``Layers.problems`` (``layers check``).
    """
    working = _working_crs(sources, crs)
    if not working.is_projected:
        raise LayerError(f"the working CRS {working.to_string()} is geographic; distances need a projected "
                         "CRS such as EPSG:4545")
    layers = Layers(working)
    raw = {}
    for kind, src in sources.items():
        layers.sources[kind] = src
        if kind == "dem":
            continue
        try:
            gdf, warns = read_layer(src, working)
        except LayerError as exc:
            layers.problems.append(Problem(kind, "error", "unreadable", _strip_layer(kind, exc)))
            continue
        for w in warns:
            layers.problems.append(Problem(kind, "warning", "crs-guessed", w))
        raw[kind] = gdf

    if "landuse" in raw:
        landuse, probs = validate_layer("landuse", raw.pop("landuse"))
        layers.problems.extend(probs)
        if "DLBM" in landuse:
            for kind, part in derive_from_landuse(landuse).items():
                if kind not in raw and len(part):
                    raw[kind] = part
                    log.info("layer %s derived from landuse (%d features)", kind, len(part))

    extent = None
    for kind in _EXTENT_KINDS:
        if kind in raw and len(raw[kind]):
            fixed, probs = validate_layer(kind, raw.pop(kind))
            layers.problems.extend(probs)
            layers[kind] = fixed
            extent = shapely.union_all(fixed.geometry.values).buffer(2000)
            break
    for kind, gdf in raw.items():
        if kind not in KINDS:
            continue
        fixed, probs = validate_layer(kind, gdf, extent)
        layers.problems.extend(probs)
        layers[kind] = fixed

    if "dem" in sources:
        from .terrain import DEM

        src = sources["dem"]
        try:
            dem = DEM.read(src.path, working, crs=src.crs)
            layers["dem"] = dem
            if extent is not None:
                b = dem.bounds
                box = shapely.box(*b)
                if not box.intersects(extent):
                    layers.problems.append(Problem("dem", "error", "outside-extent",
                                                   f"the DEM (bounds {tuple(round(v) for v in b)}) does not "
                                                   "overlap the study area", hint="check the DEM's CRS"))
        except LayerError as exc:
            layers.problems.append(Problem("dem", "error", "unreadable", _strip_layer("dem", exc)))

    errors = [p for p in layers.problems if p.severity == "error"]
    if strict and errors:
        raise LayerError("the layers have errors:\n" + "\n".join(f"  - {p}" for p in errors))
    return layers
