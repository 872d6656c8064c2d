"""Load every layer a recipe names, validate it, and return a :class:`~kzgis.layers.Layers`."""

from __future__ import annotations

import logging
from pathlib import Path

import shapely

from ._errors import LayerError
from .crs import as_crs, choose_working_crs
from .layers import (
    KINDS,
    Layers,
    LayerSource,
    Problem,
    canonical_frame,
    derive_from_landuse,
    read_layer,
)
from .validation import validate_layer

log = logging.getLogger(__name__)

# layers that define the study area, in order of preference
_EXTENT_KINDS = ("county", "boundary")


def _strip_layer(kind: str, exc) -> str:
    """The message without its ``layer 'kind': `` prefix (the problem table names the layer)."""
    msg = str(exc)
    prefix = f"layer '{kind}': "
    return msg.removeprefix(prefix)


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


def _outside_dem(layers: Layers, dem) -> None:
    """A warning per layer with the share of it outside the DEM or on nodata (grades, slopes and
    elevations there are not measured)."""
    import numpy as np

    for kind, gdf in list(layers.items()):
        if kind == "dem" or gdf is None or not len(gdf):
            continue
        share = dem.outside_share(gdf.geometry.values)
        bad = np.nan_to_num(share) > 0.001
        if not bad.any():
            continue
        geom = gdf.geom_type.iloc[0]
        if geom.endswith("LineString"):
            lengths = gdf.geometry.length.to_numpy()
            total = float((lengths * share).sum())
            part = total / max(float(lengths.sum()), 1e-9)
            amount = f"{total / 1000:.1f} km ({part:.0%} of its length)"
        elif geom.endswith("Polygon"):
            areas = gdf.geometry.area.to_numpy()
            total = float((areas * share).sum())
            part = total / max(float(areas.sum()), 1e-9)
            amount = f"{total / 1e6:.2f} km² ({part:.0%} of its area)"
        else:
            part = float(bad.mean())
            amount = f"{int(bad.sum())} of {len(gdf)} features ({part:.0%})"
        layers.problems.append(Problem(
            kind, "warning", "outside-dem", f"{amount} lies outside the DEM or on its nodata cells: grades, "
            "slopes and elevations there are not measured", list(gdf.index[bad]),
            hint="use a DEM that covers the whole study area"))


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
            if isinstance(w, Problem):
                layers.problems.append(w)
                continue
            code = "direction-codes" if "oneway_codes" in w else "crs-guessed"
            layers.problems.append(Problem(kind, "warning", code, w))
        raw[kind] = gdf

    extent = _validate_all(layers, raw)
    if "dem" in sources:
        from .terrain import DEM

        src = sources["dem"]
        try:
            _add_dem(layers, DEM.read(src.path, working, crs=src.crs), extent)
        except LayerError as exc:
            layers.problems.append(Problem("dem", "error", "unreadable", _strip_layer("dem", exc)))

    return _finish(layers, strict)


def _validate_all(layers: Layers, raw: dict) -> object:
    """Validate the raw frames into ``layers`` (study area first); returns the extent or None."""
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
    return extent


def _add_dem(layers: Layers, dem, extent) -> None:
    layers["dem"] = dem
    if extent is not None:
        b = dem.bounds
        if not shapely.box(*b).intersects(extent):
            layers.problems.append(Problem("dem", "error", "outside-extent",
                                           f"the DEM (bounds {tuple(round(v) for v in b)}) does not "
                                           "overlap the study area", hint="check the DEM's CRS"))
    _outside_dem(layers, dem)


def _finish(layers: Layers, strict: bool) -> Layers:
    errors = [p for p in layers.problems if p.severity == "error"]
    if strict and errors:
        raise LayerError("the layers have errors:\n" + "\n".join(f"  - {p}" for p in errors))
    return layers


def _frames_crs(frames: dict):
    """The working CRS for in-memory frames, chosen as :func:`_working_crs` does for files."""
    for kind in _EXTENT_KINDS + tuple(k for k in frames if k not in _EXTENT_KINDS):
        gdf = frames.get(kind)
        if gdf is not None and len(gdf):
            crs = choose_working_crs(gdf.to_crs("EPSG:4326").total_bounds)
            log.info("working CRS chosen from layer %s: %s", kind, crs.to_string())
            return crs
    return as_crs("EPSG:4545")


def layers_from_frames(frames: dict, crs=None, dem=None, fields: dict | None = None,
                       strict: bool = True) -> Layers:
    """Validate GeoDataFrames held in memory into :class:`Layers`, as :func:`load_layers` does files.

    Parameters
    ----------
    frames : mapping kind -> GeoDataFrame (any CRS; ``None`` entries are left out)
    crs : working CRS; chosen from the data (the local 3-degree GK zone) when None, or the CRS of
        ``dem`` when that is a :class:`~kzgis.terrain.DEM`.
    dem : path of a GeoTIFF, or a :class:`~kzgis.terrain.DEM` in the working CRS.
    fields : mapping kind -> {canonical field: your column} for columns that are not recognised.
    strict : raise :class:`LayerError` listing every error when any layer has one.

    Each frame keeps its own index as the feature id (``fid``) when it is unique.
    """
    import geopandas as gpd

    from ._errors import CRSError, suggest
    from .terrain import DEM

    frames = {k: v for k, v in frames.items() if v is not None}
    for kind, gdf in frames.items():
        if kind not in KINDS:
            raise LayerError(f"unknown layer kind '{kind}'{suggest(kind, KINDS)}")
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise LayerError(f"layer '{kind}': expected a GeoDataFrame, got {type(gdf).__name__}. Read files "
                             "with kzgis.read_layer(path, kind) or geopandas.read_file(path).")
        if gdf.crs is None:
            raise CRSError(f"layer '{kind}': the GeoDataFrame has no CRS. Set it first, e.g. "
                           f"{kind}.set_crs('EPSG:4326') for longitude/latitude or {kind}.set_crs('EPSG:4545').")
    if crs is not None:
        working = as_crs(crs)
    elif isinstance(dem, DEM):
        working = dem.crs
    else:
        working = _frames_crs(frames)
    if not working.is_projected:
        raise LayerError(f"the working CRS {working.to_string()} is geographic; distances need a projected "
                         "CRS such as EPSG:4545")
    layers = Layers(working)
    raw = {}
    for kind, gdf in frames.items():
        src = LayerSource(kind, Path(f"the {kind} GeoDataFrame"), fields=dict((fields or {}).get(kind, {})))
        try:
            raw[kind], warns = canonical_frame(gdf, src, working, keep_index=True)
            layers.problems.extend(w for w in warns if isinstance(w, Problem))
        except LayerError as exc:
            layers.problems.append(Problem(kind, "error", "unreadable", _strip_layer(kind, exc)))
    extent = _validate_all(layers, raw)
    if dem is not None:
        if isinstance(dem, DEM):
            if dem.crs != working:
                raise CRSError(f"layer 'dem': the DEM is in {dem.crs.to_string()} but the working CRS is "
                               f"{working.to_string()}; pass crs='{dem.crs.to_string()}' or the DEM's file path "
                               "(which is warped to the working CRS)")
            dem_obj = dem
        else:
            try:
                dem_obj = DEM.read(Path(dem), working)
            except LayerError as exc:
                layers.problems.append(Problem("dem", "error", "unreadable", _strip_layer("dem", exc)))
                dem_obj = None
        if dem_obj is not None:
            _add_dem(layers, dem_obj, extent)
    return _finish(layers, strict)
