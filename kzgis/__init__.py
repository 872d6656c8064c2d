"""kzgis: rural fire-infrastructure planning for Kaizhou District (Chongqing).

Load town boundaries, roads, water sources, forest and a DEM (:mod:`kzgis.load`), build a routable
road network by fire-vehicle class (:mod:`kzgis.network`), and run the analyses registered in
:mod:`kzgis.analyses` from a YAML recipe (:mod:`kzgis.recipe`, :mod:`kzgis.pipeline`), writing a
GeoPackage, offline HTML maps (:mod:`kzgis.maps`) and the 消防专篇 report (:mod:`kzgis.report`).
"""

from ._errors import AnalysisError, CRSError, KzgisError, LayerError, NetworkError, RecipeError

__version__ = "0.1.0"

__all__ = ["AnalysisError", "CRSError", "KzgisError", "LayerError", "NetworkError", "RecipeError",
           "__version__"]
