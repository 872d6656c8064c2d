"""kzgis: rural fire-infrastructure planning for Kaizhou District (Chongqing).

Load town boundaries, roads, water sources, forest and a DEM (:mod:`kzgis.load`), build a routable
road network by fire-vehicle class (:mod:`kzgis.network`), and run the analyses registered in
:mod:`kzgis.analyses` from a YAML recipe (:mod:`kzgis.recipe`, :mod:`kzgis.pipeline`), writing a
GeoPackage, offline HTML maps (:mod:`kzgis.maps`) and the 消防专篇 report (:mod:`kzgis.report`).

In Python (a notebook), the analyses run on GeoDataFrames (:mod:`kzgis.api`)::

    import kzgis
    roads = kzgis.read_layer("roads.gpkg", "roads")
    res = kzgis.access(roads, settlements, stations)     # {result layer: GeoDataFrame}
    res["access_settlements"].explore(column="best_class")
"""

__version__ = "0.1.0"

from ._errors import AnalysisError, CRSError, KzgisError, LayerError, NetworkError, RecipeError  # noqa: E402
from .api import (  # noqa: E402
    Results,
    RoadNetwork,
    access,
    analyse,
    barriers,
    building_clusters,
    checkpoints,
    helicopter,
    isochrones,
    micro_stations,
    monitoring,
    read_layer,
    response,
    run,
    water,
)

__all__ = ["AnalysisError", "CRSError", "KzgisError", "LayerError", "NetworkError", "RecipeError", "Results",
           "RoadNetwork", "__version__", "access", "analyse", "barriers", "building_clusters", "checkpoints",
           "helicopter", "isochrones", "micro_stations", "monitoring", "read_layer", "response", "run", "water"]
