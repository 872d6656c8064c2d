"""The public Python API: every analysis on GeoDataFrames, the way a notebook uses it.

Each function takes GeoDataFrames in any CRS, reprojects them to a working CRS (chosen from the data
as a recipe does -- the local 3-degree Gauss-Kruger zone, EPSG:4545 for Kaizhou -- or ``crs=``),
validates them with the same rules and messages as the recipe path, runs the analysis and returns a
:class:`Results` dict of result frames named exactly as the layers of ``results.gpkg``. Parameters
are keyword-only and are the recipe's parameters of that analysis; a wrong name raises the same
"did you mean" :class:`~kzgis.RecipeError` as a recipe.

Every function also takes:

``crs``
    the working CRS (default: chosen from the data).
``network``
    the recipe's ``network:`` section (a mapping, or a :class:`~kzgis.network.NetworkParams`).
``layers``
    further optional layers the analysis uses, ``{kind: GeoDataFrame}`` (e.g. ``{"boundary": towns}``).
``fields``
    ``{kind: {canonical_field: your_column}}`` for columns whose names are not recognised.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd

from . import analysis as _analysis
from . import params as _params
from ._errors import LayerError, RecipeError, suggest
from .load import layers_from_frames, load_layers
from .network import NetworkParams, RoadNetwork

log = logging.getLogger(__name__)

__all__ = ["Results", "RoadNetwork", "access", "analyse", "barriers", "building_clusters", "checkpoints",
           "helicopter", "isochrones", "micro_stations", "monitoring", "read_layer", "response", "run", "water"]



class Results(dict):
    """The result frames of one analysis, ``{result layer name: GeoDataFrame | DataFrame}``.

    Every frame's ``attrs["assumptions"]`` lists the rules in force (:func:`kzgis.rules.in_force`).

    Attributes
    ----------
    warnings : list of str
        What the run said the user must check (data problems, assumptions in force).
    params : dataclass
        The parameters in force (defaults and given values).
    layers : kzgis.layers.Layers
        The validated input layers in the working CRS.
    crs : pyproj.CRS
        The working CRS.
    """

    def __init__(self, frames: dict, *, warnings: list, params: Any, layers: Any):
        super().__init__(frames)
        self.warnings = list(warnings)
        self.params = params
        self.layers = layers
        self.crs = layers.crs


def read_layer(path: str | Path, kind: str, *, working_crs: Any = None, **options: Any) -> gpd.GeoDataFrame:
    """Read one layer file into a validated GeoDataFrame with canonical field names.

    Parameters
    ----------
    path : str or Path
        GeoPackage, shapefile, GeoJSON, CSV with coordinate columns, or OSM XML/PBF (roads).
    kind : str
        Layer kind, e.g. ``"roads"``, ``"settlements"`` (see ``kzgis layers kinds``).
    working_crs : optional
        CRS of the returned frame; default: chosen from the data (the local 3-degree GK zone).
    **options
        The recipe's layer keys: ``fields`` (``{canonical_field: your_column}``), ``encoding``,
        ``datum`` (``"gcj02"`` for Amap/Gaode coordinates), ``crs`` (the file's CRS when it has none),
        ``layer``, ``x``, ``y``, ``id_field``, ``oneway_codes``.

    Returns
    -------
    GeoDataFrame
        In the working CRS, index = feature id (``fid``), repaired as a recipe run repairs it. The
        warnings found are in ``gdf.attrs["problems"]``.

    Raises
    ------
    LayerError
        The file cannot be read or has errors (each named with feature ids, field and fix).

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> path = tmp / "roads.gpkg"
    >>> tiny_world()["roads"].rename(columns={"width_m": "路面宽度"}).to_file(path)
    >>> roads = kzgis.read_layer(path, "roads")
    >>> roads.crs.to_string(), float(roads["width_m"].max())
    ('EPSG:4545', 6.5)
    >>> kzgis.read_layer(path, "roads", encodng="gbk")
    Traceback (most recent call last):
    ...
    kzgis._errors.RecipeError: layers.roads: unknown key 'encodng' (did you mean 'encoding'?)
    """
    from .layers import LayerSource

    try:
        src = LayerSource.from_mapping(kind, {"path": str(path), **options}, Path.cwd())
    except LayerError as exc:
        raise RecipeError(str(exc)) from exc
    if kind == "dem":
        from .terrain import DEM

        raise LayerError("read_layer reads vector layers; read a DEM with kzgis.terrain.DEM.read(path, crs) "
                         f"or pass its path as dem= ({DEM.__name__})")
    layers = load_layers({kind: src}, working_crs)
    if kind not in layers:
        raise LayerError(f"layer '{kind}': {Path(path).name} has no usable features")
    gdf = layers[kind]
    gdf.attrs["problems"] = [str(p) for p in layers.problems]
    return gdf


def _network_params(network: Any) -> NetworkParams:
    if network is None:
        return NetworkParams()
    if isinstance(network, NetworkParams):
        return network
    return _params.from_mapping(NetworkParams, network, "network")


def _run(name: str, frames: dict, *, dem: Any = None, crs: Any = None, network: Any = None,
         layers: dict | None = None, fields: dict | None = None, params: dict, func: Any = None) -> Results:
    """Validate the inputs and parameters, run analysis ``name``, return its results.

    ``func(ctx, params)``, when given, runs instead of the analysis (a part of it, as for isochrones).
    """
    spec = _analysis.get(name)
    p = _params.from_mapping(spec.params, params, f"kzgis.{name}")
    netp = _network_params(network)
    uses = set(spec.needs) | set(spec.optional) | {k for g in spec.needs_any for k in g}
    all_frames = dict(frames)
    for kind, gdf in (layers or {}).items():
        if kind not in uses:
            raise RecipeError(f"kzgis.{name}: layers: '{kind}' is not used by {name}{suggest(str(kind), uses)}")
        if kind in all_frames and all_frames[kind] is not None:
            raise RecipeError(f"kzgis.{name}: layer '{kind}' is given twice (as an argument and in layers=)")
        all_frames[kind] = gdf
    ly = layers_from_frames(all_frames, crs=crs, dem=dem, fields=fields)
    missing = spec.missing(ly)
    if missing:
        raise LayerError(f"kzgis.{name}: no {', '.join(missing)} layer given (or it has no features)")
    ctx = _analysis.Context(layers=ly, network_params=netp)
    ctx.warnings.extend(str(pr) for pr in ly.problems if pr.severity == "warning")
    out = spec.run(ctx, p, func)
    frames_out = {}
    for key, frame in out.items():
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None and frame.geometry.name in frame:
            frame = frame.set_crs(ly.crs)
        frames_out[key] = frame
    net = ctx.cache.get("network")
    if net is not None:  # as a recipe run: the network's problems as a layer, its warnings
        from . import _net_report

        for w in _net_report.settlement_warnings(net, ly["settlements"] if ly.has("settlements") else None,
                                                 ly["stations"] if ly.has("stations") else None):
            ctx.warn(w)
        if net.issues is not None:
            frames_out["network_issues"] = net.issues
    return Results(frames_out, warnings=ctx.warnings, params=p, layers=ly)


def access(roads: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *,
           dem: Any = None, crs: Any = None, network: Any = None, layers: dict | None = None,
           fields: dict | None = None, **params: Any) -> Results:
    """Fire-truck access (消防车通行分析): which vehicle class reaches each settlement, and why not.

    Parameters
    ----------
    roads, settlements, stations : GeoDataFrame
        Any CRS; recognised column names (``width_m``/``路面宽度``, ``population``/``人口``...).
    dem : str, Path or kzgis.terrain.DEM, optional
        Elevation, for road grades.
    crs, network, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``boundary``).
    **params
        The recipe's ``analyses: access:`` parameters (``kzgis analyses access`` lists them).

    Returns
    -------
    Results
        The access result layers below, and ``network_issues`` (as in ``results.gpkg``, for every
        analysis that routes on the road network).

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> res = kzgis.access(w["roads"], w["settlements"], w["stations"])
    >>> sorted(res)
    ['access_dead_ends', 'access_roads', 'access_settlements', 'access_towns', 'access_upgrades', 'network_issues']
    >>> res["access_settlements"][["name", "best_vehicle"]].to_dict("list")
    {'name': ['青龙村', '桂花湾', '白鹤村', '南岸'], 'best_vehicle': ['small', 'small', 'motorcycle', 'standard']}
    >>> kzgis.access(w["roads"], w["settlements"], w["stations"], rank_bi="total")
    Traceback (most recent call last):
    ...
    kzgis._errors.RecipeError: kzgis.access: unknown parameter 'rank_bi' (did you mean 'rank_by'?)
    """
    return _run("access", {"roads": roads, "settlements": settlements, "stations": stations}, dem=dem,
                crs=crs, network=network, layers=layers, fields=fields, params=params)


def response(roads: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame | None = None,
             *, dem: Any = None, crs: Any = None, network: Any = None, layers: dict | None = None,
             fields: dict | None = None, **params: Any) -> Results:
    """Brigade response (消防队站响应范围分析): service areas, first-due zones, times to settlements.

    Parameters
    ----------
    roads, stations : GeoDataFrame
    settlements : GeoDataFrame, optional
    dem : str, Path or kzgis.terrain.DEM, optional
    crs, network, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``boundary``, ``candidate_sites``, ``township_seats``).
    **params
        The recipe's ``analyses: response:`` parameters (``breaks_min``, ``vehicle_classes``...).

    Returns
    -------
    Results
        The response result layers below (``response_siting`` only with ``siting``; settlements,
        townships and scenarios only with settlements), and ``network_issues``.

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> res = kzgis.response(w["roads"], w["stations"], w["settlements"], breaks_min=[5, 10])
    >>> sorted(res["response_isochrones"]["break_min"].unique().tolist())
    [5.0, 10.0]
    """
    return _run("response", {"roads": roads, "stations": stations, "settlements": settlements}, dem=dem,
                crs=crs, network=network, layers=layers, fields=fields, params=params)


def isochrones(roads: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *,
               breaks_min: tuple | list = (5, 10, 15, 20, 30), vehicle_class: str = "standard",
               dem: Any = None, crs: Any = None, network: Any = None, fields: dict | None = None,
               **params: Any) -> gpd.GeoDataFrame:
    """Service areas of each station: one polygon per station and total response time.

    The times are total response times (turnout ``turnout_min`` + drive), as in the response analysis;
    only the service areas are computed (no zones, radii, settlement times or scenarios), and they
    equal the ``disk`` rows of :func:`response`'s ``response_isochrones``.

    Parameters
    ----------
    roads, stations : GeoDataFrame
    breaks_min : sequence of float
        Total response times (minutes).
    vehicle_class : {"standard", "small", "motorcycle"}
    dem, crs, network, fields
        See :mod:`kzgis.api`.
    **params
        Further ``response`` parameters (``turnout_min``, ``trim_m``).

    Returns
    -------
    GeoDataFrame
        One row per station and break: the ``disk`` rows of ``response_isochrones`` without the
        ``ring`` column (warnings in ``attrs["warnings"]``, the rules in force in ``attrs["assumptions"]``).

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> iso = kzgis.isochrones(w["roads"], w["stations"], breaks_min=(5, 8))
    >>> iso[["break_min", "vehicle_class"]].to_dict("list")
    {'break_min': [5.0, 8.0], 'vehicle_class': ['standard', 'standard']}
    >>> bool(iso.area.iloc[1] > iso.area.iloc[0])
    True
    """
    for key in ("vehicle_classes", "rings", "scenarios", "siting"):
        if key in params:
            raise RecipeError(f"kzgis.isochrones: '{key}' is not a parameter of isochrones "
                              "(use kzgis.response for it)")
    from .analyses import response as _response

    res = _run("response", {"roads": roads, "stations": stations}, dem=dem, crs=crs, network=network,
               fields=fields, params={**params, "breaks_min": list(breaks_min), "vehicle_classes": [vehicle_class],
                                      "rings": False, "scenarios": False},
               func=lambda ctx, p: {"response_isochrones": _response.service_areas(ctx, p)})
    iso = res["response_isochrones"]
    iso = iso[iso["ring"] == "disk"].drop(columns="ring").reset_index(drop=True)
    iso.attrs["warnings"] = res.warnings
    return iso


def water(roads: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame | None = None, *,
          hydrants: gpd.GeoDataFrame | None = None, fire_pools: gpd.GeoDataFrame | None = None,
          water_intakes: gpd.GeoDataFrame | None = None, dem: Any = None, crs: Any = None,
          network: Any = None, layers: dict | None = None, fields: dict | None = None,
          **params: Any) -> Results:
    """Fire water (消防水源分析): which settlements a hydrant, pool or natural intake covers by hose.

    Parameters
    ----------
    roads, settlements : GeoDataFrame
    hydrants, fire_pools, water_intakes : GeoDataFrame, optional
        At least one of them.
    dem, crs, network, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``boundary``, ``urban_area``, ``old_towns``,
        ``water_mains``, ``rivers``, ``water_bodies``).
    **params
        The recipe's ``analyses: water:`` parameters.

    Returns
    -------
    Results
        The water result layers below, and ``network_issues``.

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> res = kzgis.water(w["roads"], w["settlements"], hydrants=w["hydrants"], fire_pools=w["fire_pools"])
    >>> "water_settlements" in res
    True
    """
    return _run("water", {"roads": roads, "settlements": settlements, "hydrants": hydrants,
                          "fire_pools": fire_pools, "water_intakes": water_intakes}, dem=dem, crs=crs,
                network=network, layers=layers, fields=fields, params=params)


def barriers(forest: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame | None = None, *,
             urban_area: gpd.GeoDataFrame | None = None, dem: Any = None, crs: Any = None,
             network: Any = None, layers: dict | None = None, fields: dict | None = None,
             **params: Any) -> Results:
    """Forest fire barriers (林火阻隔带): bands where the forest faces settlements or the urban area.

    Parameters
    ----------
    forest : GeoDataFrame
    settlements, urban_area : GeoDataFrame, optional
        At least one of them.
    dem, crs, network, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``rivers``, ``water_bodies``, ``roads``, ``boundary``).
    **params
        The recipe's ``analyses: barriers:`` parameters.

    Returns
    -------
    Results
        The barrier result layers below.

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> res = kzgis.barriers(w["forest"], w["settlements"], urban_area=w["urban_area"])
    >>> sorted(res)
    ['barrier_bands', 'barrier_edges', 'barrier_towns']
    """
    return _run("barriers", {"forest": forest, "settlements": settlements, "urban_area": urban_area}, dem=dem,
                crs=crs, network=network, layers=layers, fields=fields, params=params)


def checkpoints(forest: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame | None = None,
                *, dem: Any = None, crs: Any = None, network: Any = None, layers: dict | None = None,
                fields: dict | None = None, **params: Any) -> Results:
    """Forest checkpoints (森林防火检查站): unavoidable road entries into forest blocks and village exits.

    Parameters
    ----------
    forest, roads : GeoDataFrame
    settlements : GeoDataFrame, optional
    dem, crs, network, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``stations``, ``urban_area``).
    **params
        The recipe's ``analyses: checkpoints:`` parameters.

    Returns
    -------
    Results
        The checkpoint result layers below, and ``network_issues``.

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> res = kzgis.checkpoints(w["forest"], w["roads"], w["settlements"])
    >>> sorted(res)
    ['checkpoints', 'forest_blocks', 'network_issues']
    """
    return _run("checkpoints", {"forest": forest, "roads": roads, "settlements": settlements}, dem=dem,
                crs=crs, network=network, layers=layers, fields=fields, params=params)


def helicopter(water_bodies: gpd.GeoDataFrame, forest: gpd.GeoDataFrame, dem: Any, *,
               power_lines: gpd.GeoDataFrame | None = None, roads: gpd.GeoDataFrame | None = None,
               crs: Any = None, network: Any = None, layers: dict | None = None, fields: dict | None = None,
               **params: Any) -> Results:
    """Helicopter bucket dip sites and landing pads (直升机取水点与停机坪).

    Parameters
    ----------
    water_bodies, forest : GeoDataFrame
    dem : str, Path or kzgis.terrain.DEM
    power_lines, roads : GeoDataFrame, optional
    crs, network, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``boundary``, ``mountain_units``, ``settlements``,
        ``urban_area``, ``rivers``).
    **params
        The recipe's ``analyses: helicopter:`` parameters.

    Returns
    -------
    Results
        The helicopter result layers below.

    Examples
    --------
    >>> import kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> res = kzgis.helicopter(w["water_bodies"], w["forest"], w["dem"], layers={"boundary": w["boundary"]})
    >>> res["heli_water_bodies"][["name", "passed"]].to_dict("list")
    {'name': ['林场水库'], 'passed': [True]}
    """
    return _run("helicopter", {"water_bodies": water_bodies, "forest": forest, "power_lines": power_lines,
                               "roads": roads}, dem=dem, crs=crs, network=network, layers=layers, fields=fields,
                params=params)


def micro_stations(roads: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                   micro_stations: gpd.GeoDataFrame | None = None, *, crs: Any = None, network: Any = None,
                   layers: dict | None = None, fields: dict | None = None, **params: Any) -> Results:
    """Micro fire stations (微型消防站): which communities are reached within 3 minutes along the lanes.

    Parameters
    ----------
    roads, communities : GeoDataFrame
    micro_stations : GeoDataFrame, optional
        Points with ``name``, ``status`` (existing / planned); none: every community is uncovered.
    crs, network, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``boundary``, ``urban_area``, ``settlements``).
    **params
        The recipe's ``analyses: micro_stations:`` parameters (``arrival_min``, ``mode``, ...).

    Returns
    -------
    Results
        The micro-station result layers below, and ``network_issues``.

    Examples
    --------
    >>> import geopandas as gpd, shapely, kzgis
    >>> lane = gpd.GeoDataFrame({"width_m": [2.0]}, geometry=[shapely.LineString([(537000, 3448000),
    ...                          (538000, 3448000)])], crs="EPSG:4545")
    >>> comm = gpd.GeoDataFrame({"name": ["近", "远"], "population": [300, 200]},
    ...                         geometry=shapely.points([(537499, 3448000), (537501, 3448000)]), crs="EPSG:4545")
    >>> st = gpd.GeoDataFrame({"name": ["站"], "status": ["existing"]},
    ...                       geometry=[shapely.Point(537000, 3448000)], crs="EPSG:4545")
    >>> res = kzgis.micro_stations(lane, comm, st, max_new_sites=0)
    >>> res["micro_communities"][["name", "covered"]].to_dict("list")
    {'name': ['近', '远'], 'covered': [True, False]}
    """
    return _run("micro_stations", {"roads": roads, "communities": communities, "micro_stations": micro_stations},
                crs=crs, network=network, layers=layers, fields=fields, params=params)


def building_clusters(buildings: gpd.GeoDataFrame, *, crs: Any = None, layers: dict | None = None,
                      fields: dict | None = None, **params: Any) -> Results:
    """Find building clusters closer than their fire separations, and firebreaks for those over the area limit.

    Parameters
    ----------
    buildings : GeoDataFrame
        Polygons with ``fire_resistance`` (1-4 or 一级..四级) and/or ``structure`` (木/砖木/砖混/钢混).
    crs, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``boundary``, ``old_towns``).
    **params
        The recipe's ``analyses: building_clusters:`` parameters (``limit_m2``, ``separation_m``, ...).

    Returns
    -------
    Results
        The building-cluster result layers below.

    Examples
    --------
    >>> import geopandas as gpd, shapely, kzgis
    >>> x = [0, 32, 64, 104, 136, 168]  # six 30 x 30 m houses, gaps 2, 2, 10, 2, 2 m
    >>> b = gpd.GeoDataFrame({"structure": ["木"] * 6},
    ...                      geometry=[shapely.box(537000 + a, 3448000, 537030 + a, 3448030) for a in x],
    ...                      crs="EPSG:4545")
    >>> res = kzgis.building_clusters(b)
    >>> res["building_clusters"][["footprint_m2", "over_limit", "parts"]].to_dict("list")
    {'footprint_m2': [5400.0], 'over_limit': [True], 'parts': [2]}
    >>> res["firebreak_suggestions"][["gap_m", "required_m", "measure"]].to_dict("list")
    {'gap_m': [10.0], 'required_m': [12.0], 'measure': ['拓宽间距至12米']}
    """
    return _run("building_clusters", {"buildings": buildings}, crs=crs, layers=layers, fields=fields,
                params=params)


def monitoring(forest: gpd.GeoDataFrame, dem: Any, *, monitor_sites: gpd.GeoDataFrame | None = None,
               candidate_sites: gpd.GeoDataFrame | None = None, crs: Any = None, layers: dict | None = None,
               fields: dict | None = None, **params: Any) -> Results:
    """Forest-fire camera coverage (森林防火视频监控): forest seen from the cameras, new sites, blind spots.

    Parameters
    ----------
    forest : GeoDataFrame
        Forest polygons.
    dem : str, Path or kzgis.terrain.DEM
        The elevation model the viewsheds are computed on (metres).
    monitor_sites : GeoDataFrame, optional
        Existing (and planned) camera sites: points with ``name``, ``status``, ``mast_m``.
    candidate_sites : GeoDataFrame, optional
        Places a new camera could go; none: summits near roads are proposed.
    crs, layers, fields
        See :mod:`kzgis.api` (``layers`` may hold ``roads``, ``boundary``).
    **params
        The recipe's ``analyses: monitoring:`` parameters (``mast_m``, ``range_km``, ``new_sites``...).

    Returns
    -------
    Results
        The monitoring result layers below.

    Examples
    --------
    >>> import geopandas as gpd, shapely, kzgis
    >>> from kzgis.demo import tiny_world
    >>> w = tiny_world()
    >>> tower = gpd.GeoDataFrame({"name": ["瞭望塔"], "status": ["existing"]},
    ...                          geometry=[shapely.Point(538800, 3448700)], crs="EPSG:4545")
    >>> res = kzgis.monitoring(w["forest"], w["dem"], monitor_sites=tower, new_sites=1,
    ...                        layers={"roads": w["roads"]})
    >>> res["monitor_sites"][["name", "chosen"]].to_dict("list")
    {'name': ['瞭望塔', '候选1'], 'chosen': [False, True]}
    """
    return _run("monitoring", {"forest": forest, "monitor_sites": monitor_sites, "candidate_sites": candidate_sites},
                dem=dem, crs=crs, layers=layers, fields=fields, params=params)


def analyse(name: str, *, dem: Any = None, crs: Any = None, network: Any = None, fields: dict | None = None,
            **layers_and_params: Any) -> Results:
    """Run any registered analysis by name: its layers and its parameters as keyword arguments.

    The one entry point for every analysis, including one added later: a new analysis module that
    registers itself (:func:`kzgis.analysis.register`) and declares its result layers
    (:mod:`kzgis.schema`) is callable here with nothing else written. Each keyword is a layer when
    it names a layer kind the analysis uses (``kzgis analyses NAME`` lists them), else one of its
    parameters; a name that is neither is an error with a suggestion.

    Parameters
    ----------
    name : str
        The analysis (``access``, ``response``, ``monitoring``...; ``kzgis analyses`` lists them).
    dem, crs, network, fields
        See :mod:`kzgis.api`.
    **layers_and_params
        GeoDataFrames by layer kind (``roads=``, ``settlements=``...) and the recipe's parameters.

    Returns
    -------
    Results
        The analysis's result layers, named as in results.gpkg.

    Examples
    --------
    >>> import geopandas as gpd, shapely, kzgis
    >>> b = gpd.GeoDataFrame({"structure": ["木", "木"]}, crs="EPSG:4545",
    ...                      geometry=[shapely.box(537000, 3448000, 537030, 3448030),
    ...                                shapely.box(537032, 3448000, 537062, 3448030)])
    >>> res = kzgis.analyse("building_clusters", buildings=b, limit_m2=1000)
    >>> res["building_clusters"][["footprint_m2", "over_limit"]].to_dict("list")
    {'footprint_m2': [1800.0], 'over_limit': [True]}
    >>> kzgis.analyse("building_clusters", biuldings=b)
    Traceback (most recent call last):
    ...
    kzgis._errors.RecipeError: kzgis.analyse('building_clusters'): 'biuldings' is neither a layer it uses nor one of its parameters (did you mean 'buildings'?)
    """
    import dataclasses

    spec = _analysis.get(name)
    kinds = set(spec.needs) | set(spec.optional) | {k for g in spec.needs_any for k in g}
    names = {f.name for f in dataclasses.fields(spec.params)}
    frames, params = {}, {}
    for key, value in layers_and_params.items():
        if key in kinds:
            frames[key] = value
        elif key in names:
            params[key] = value
        else:
            raise RecipeError(f"kzgis.analyse('{name}'): '{key}' is neither a layer it uses nor one of its "
                              f"parameters{suggest(key, kinds | names)}")
    return _run(name, frames, dem=dem, crs=crs, network=network, fields=fields, params=params)


def run(recipe: Any, out: str | Path | None = None, **options: Any):
    """Run a recipe end to end, as ``kzgis run`` does, and return the run result.

    Parameters
    ----------
    recipe : str, Path, dict or kzgis.recipe.Recipe
        A recipe file, or a recipe mapping (paths relative to the current folder).
    out : str or Path, optional
        Output folder (default: the recipe's ``outputs.dir``).
    **options
        ``towns`` (limit to these townships), ``only`` (run only these analyses), ``quiet``.

    Returns
    -------
    kzgis.pipeline.RunResult
        ``out_dir``, ``results`` (every result frame), ``summary`` (what ``summary.json`` holds),
        ``ran``, ``skipped``.
    """
    from . import pipeline as _pipeline
    from . import recipe as _recipe

    known = {"towns", "only", "quiet"}
    for key in options:
        if key not in known:
            raise RecipeError(f"kzgis.run: unknown option '{key}'{suggest(key, known)}")
    if isinstance(recipe, _recipe.Recipe):
        rec = recipe
    elif isinstance(recipe, dict):
        rec = _recipe.parse(recipe, Path.cwd())
    else:
        rec = _recipe.load(recipe)
    return _pipeline.run(rec, Path(out) if out is not None else None, **options)


def _document_results() -> None:
    """Each function's Returns section lists its result layers from the schema (issue 16 §3)."""
    from . import _schema_doc

    _analysis.load_all()  # the analyses declare their layers
    for func in (access, response, water, barriers, checkpoints, helicopter, micro_stations, building_clusters,
                 monitoring):
        _schema_doc.add_returns(func, func.__name__)
    _schema_doc.add_returns(isochrones, "response", layers=("response_isochrones",), drop=("ring",))


_document_results()
