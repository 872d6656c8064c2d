"""Processing algorithms: write the chosen layers to a GeoPackage, write a recipe, run kzgis, load results.

Parameter names are the canonical kzgis layer kinds in upper case (``ROADS``, ``SETTLEMENTS``,
``STATIONS``, ``HYDRANTS``, ``DEM`` ...), their fields ``<KIND>_<FIELD>`` (``ROADS_WIDTH_M``),
numbers by their kzgis name in upper case (``UPGRADE_WIDTH_M``), and ``OUTPUT_FOLDER``::

    qgis_process run kzgis:access -- ROADS=roads.gpkg SETTLEMENTS=villages.gpkg STATIONS=stations.gpkg OUTPUT_FOLDER=out
"""

import os
import uuid
from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QIcon

from . import runner

LINES = {"roads", "rivers", "power_lines", "water_mains"}
POLYGONS = {"county", "boundary", "urban_area", "forest", "water_bodies", "old_towns", "mountain_units"}
POINTS = {"stations", "hydrants", "water_intakes", "township_seats", "candidate_sites"}


def _types(kind):
    if kind in LINES:
        return [QgsProcessing.TypeVectorLine]
    if kind in POLYGONS:
        return [QgsProcessing.TypeVectorPolygon]
    if kind in POINTS:
        return [QgsProcessing.TypeVectorPoint]
    return [QgsProcessing.TypeVectorAnyGeometry]


class _Base(QgsProcessingAlgorithm):
    def group(self):
        return "农村消防规划"

    def groupId(self):  # noqa: N802
        return "kzgis"

    def icon(self):
        return QIcon(os.path.join(os.path.dirname(__file__), "icon.png"))

    def _python(self):
        from .provider import python_setting

        try:
            return runner.find_python(python_setting() or None)
        except runner.KzgisRunError as exc:
            raise QgsProcessingException(str(exc))

    def _add_outputs(self):
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "输出文件夹（kzgis 结果）"))
        self.addOutput(QgsProcessingOutputFile("RESULTS", "结果 GeoPackage（results.gpkg）"))
        self.addOutput(QgsProcessingOutputFile("MAPS_INDEX", "离线地图（maps/index.html）"))
        self.addOutput(QgsProcessingOutputFolder("REPORT_FOLDER", "消防专篇（report/）"))
        self.addOutput(QgsProcessingOutputString("LAYERS", "结果图层"))

    def _run_and_load(self, python, recipe_path, out_dir, n_steps, context, feedback):
        feedback.pushInfo(f"kzgis: {python} -m kzgis run {recipe_path} --out {out_dir}")
        try:
            summary = runner.run_kzgis(python, recipe_path, out_dir, on_line=feedback.pushConsoleInfo,
                                       on_progress=feedback.setProgress, cancelled=feedback.isCanceled,
                                       n_steps=n_steps)
            styles = runner.write_styles(python, out_dir)
        except runner.KzgisRunError as exc:
            raise QgsProcessingException(f"kzgis: {exc}")
        for w in summary.get("warnings", [])[:50]:
            feedback.reportError(f"kzgis 提示: {w}", fatalError=False)
        gpkg = Path(out_dir) / "results.gpkg"
        loaded = []
        kinds_zh = {"point": "点", "line": "线", "polygon": "面"}
        ogr_kind = {"point": "Point", "line": "LineString", "polygon": "Polygon"}
        for lname, meta in styles.items():
            title = meta.get("title", lname)
            if not meta.get("features", 1):
                feedback.pushInfo(f"{title} ({lname}): 无要素，未加载")
                continue
            parts = meta.get("parts")
            todo = ([(f"{gpkg}|layername={lname}|geometrytype={ogr_kind[k]}", f"{title}（{kinds_zh[k]}）", q)
                     for k, q in parts.items()] if parts else [(f"{gpkg}|layername={lname}", title, meta["qml"])])
            for uri, name, qml in todo:
                layer = QgsVectorLayer(uri, name, "ogr")
                if not layer.isValid():
                    feedback.reportError(f"kzgis: could not open result layer {lname} in {gpkg}", fatalError=False)
                    continue
                layer.loadNamedStyle(str(Path(out_dir) / "qgis" / qml))
                context.temporaryLayerStore().addMapLayer(layer)
                context.addLayerToLoadOnCompletion(
                    layer.id(), QgsProcessingContext.LayerDetails(name, context.project(), lname))
            loaded.append(lname)
        maps = Path(out_dir) / "maps" / "index.html"
        report = Path(out_dir) / "report"
        if maps.exists():
            feedback.pushInfo(f"离线地图: {maps.as_uri()}")
        if report.exists():
            feedback.pushInfo(f"消防专篇: {report}")
        return {"OUTPUT_FOLDER": str(out_dir), "RESULTS": str(gpkg) if gpkg.exists() else None,
                "MAPS_INDEX": str(maps) if maps.exists() else None,
                "REPORT_FOLDER": str(report) if report.exists() else None, "LAYERS": ",".join(loaded)}


class KzgisAlgorithm(_Base):
    """One kzgis analysis as a Processing algorithm (``kzgis:<analysis>``)."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec

    def createInstance(self):  # noqa: N802
        return KzgisAlgorithm(self.spec)

    def name(self):
        return self.spec.name

    def displayName(self):  # noqa: N802
        return self.spec.title_zh

    def shortHelpString(self):  # noqa: N802
        kinds = ", ".join(k.upper() for k in self._kinds())
        return (f"{self.spec.help_zh}\n\n图层参数: {kinds}。kzgis 在独立的 Python 环境中运行"
                "（处理选项 > 提供者 > kzgis 中设置 kzgis Python，或环境变量 KZGIS_PYTHON）。")

    def _kinds(self):
        kinds = list(self.spec.needs)
        for group in self.spec.needs_any:
            kinds += [k for k in group if k not in kinds]
        kinds += [k for k in self.spec.optional if k not in kinds]
        return kinds

    def _required(self, kind):
        return kind in self.spec.needs

    def initAlgorithm(self, config=None):  # noqa: N802
        for kind in self._kinds():
            title = runner.LAYER_TITLES_ZH.get(kind, kind)
            optional = not self._required(kind)
            label = title + ("（可选）" if optional else "")
            if kind == "dem":
                self.addParameter(QgsProcessingParameterRasterLayer("DEM", label, optional=optional))
                continue
            self.addParameter(QgsProcessingParameterVectorLayer(kind.upper(), label, _types(kind), optional=optional))
            for f in runner.LAYER_FIELDS.get(kind, ()):
                ftype = QgsProcessingParameterField.Numeric if f.numeric else QgsProcessingParameterField.Any
                self.addParameter(QgsProcessingParameterField(
                    f"{kind}_{f.canonical}".upper(), f"{title}: {f.label_zh}（可选，缺省时自动识别）",
                    parentLayerParameterName=kind.upper(), type=ftype, optional=True))
        for num in self.spec.numbers:
            self.addParameter(QgsProcessingParameterNumber(
                num.name.upper(), num.label_zh,
                QgsProcessingParameterNumber.Integer if num.integer else QgsProcessingParameterNumber.Double,
                defaultValue=num.default))
        self.addParameter(QgsProcessingParameterString(
            "OTHER_PARAMETERS", "其他参数（每行 名称: 值，见 kzgis analyses）", optional=True, multiLine=True))
        self.addParameter(QgsProcessingParameterBoolean(
            "SELECTED_ONLY", "仅使用选中要素（对有选择集的图层）", defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean("MAPS", "输出离线 HTML 地图", defaultValue=True))
        self.addParameter(QgsProcessingParameterBoolean("REPORT", "输出消防专篇", defaultValue=False))
        self._add_outputs()

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        python = self._python()
        selected = self.parameterAsBoolean(parameters, "SELECTED_ONLY", context)
        work = Path(QgsProcessingUtils.tempFolder()) / f"kzgis_{uuid.uuid4().hex[:8]}"
        work.mkdir(parents=True, exist_ok=True)
        gpkg = work / "inputs.gpkg"
        inputs = []
        for kind in self._kinds():
            if kind == "dem":
                dem = self.parameterAsRasterLayer(parameters, "DEM", context)
                if dem is not None:
                    src = dem.source().split("|")[0]
                    if not Path(src).exists():
                        raise QgsProcessingException(f"DEM: '{dem.name()}' is not a file on disk ({src}); "
                                                     "save it as GeoTIFF first")
                    inputs.append(runner.LayerInput("dem", src))
                continue
            layer = self.parameterAsVectorLayer(parameters, kind.upper(), context)
            if layer is None:
                continue
            opts = QgsVectorFileWriter.SaveVectorOptions()
            opts.driverName = "GPKG"
            opts.layerName = kind
            opts.fileEncoding = "UTF-8"
            # "selected features only" applies to the layers that have a selection; the others go whole
            opts.onlySelectedFeatures = bool(selected) and layer.selectedFeatureCount() > 0
            opts.actionOnExistingFile = (QgsVectorFileWriter.CreateOrOverwriteLayer if gpkg.exists()
                                         else QgsVectorFileWriter.CreateOrOverwriteFile)
            res = QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(gpkg), context.transformContext(), opts)
            if res[0] != QgsVectorFileWriter.NoError:
                raise QgsProcessingException(f"{kind.upper()}: could not write '{layer.name()}' for kzgis: {res[1]}")
            fields = {}
            for f in runner.LAYER_FIELDS.get(kind, ()):
                picked = self.parameterAsFields(parameters, f"{kind}_{f.canonical}".upper(), context)
                if picked:
                    fields[f.canonical] = picked[0]
            inputs.append(runner.LayerInput(kind, str(gpkg), fields, layer=kind))
            feedback.pushInfo(f"{kind.upper()}: {layer.name()} ({layer.featureCount()} features, "
                              f"{layer.crs().authid() or 'no CRS'})")
        params = {}
        for num in self.spec.numbers:
            v = (self.parameterAsInt if num.integer else self.parameterAsDouble)(parameters, num.name.upper(), context)
            if v != num.default:
                params[num.name] = v
        try:
            extra = runner.parse_extra(self.parameterAsString(parameters, "OTHER_PARAMETERS", context))
            recipe = runner.build_recipe(self.spec.name, inputs, params, name=f"qgis-{self.spec.name}",
                                         maps=self.parameterAsBoolean(parameters, "MAPS", context),
                                         report=self.parameterAsBoolean(parameters, "REPORT", context), extra=extra)
        except runner.KzgisRunError as exc:
            raise QgsProcessingException(f"kzgis: {exc}")
        recipe_path = runner.write_recipe(recipe, work / "recipe.yaml")
        out_dir = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        return self._run_and_load(python, recipe_path, out_dir, 1, context, feedback)


class RecipeAlgorithm(_Base):
    """``kzgis:recipe``: run a whole recipe file."""

    def createInstance(self):  # noqa: N802
        return RecipeAlgorithm()

    def name(self):
        return "recipe"

    def displayName(self):  # noqa: N802
        return runner.RECIPE_ALGO.title_zh

    def shortHelpString(self):  # noqa: N802
        return runner.RECIPE_ALGO.help_zh

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("RECIPE", "配方文件（YAML）", extension="yaml"))
        self._add_outputs()

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        python = self._python()
        recipe = self.parameterAsFile(parameters, "RECIPE", context)
        out_dir = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        return self._run_and_load(python, recipe, out_dir, 6, context, feedback)
