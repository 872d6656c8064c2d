"""The Processing provider "kzgis 农村消防规划": one algorithm per kzgis analysis plus the whole recipe."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import runner
from .algorithms import KzgisAlgorithm, RecipeAlgorithm

SETTING_PYTHON = "KZGIS_PYTHON"


def python_setting():
    """The "kzgis Python" setting of Processing options (empty when unset or outside the desktop)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        return ProcessingConfig.getSetting(SETTING_PYTHON) or ""
    except Exception:  # qgis_process without the processing plugin's settings
        return ""


class KzgisProvider(QgsProcessingProvider):
    def load(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting

            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(self.name(), SETTING_PYTHON,
                                                "kzgis Python (python of the environment where kzgis is installed)",
                                                os.environ.get("KZGIS_PYTHON", ""), valuetype=Setting.FILE))
            ProcessingConfig.readSettings()
        except Exception:  # settings are optional (qgis_process): KZGIS_PYTHON or PATH are used
            pass
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig

            ProcessingConfig.removeSetting(SETTING_PYTHON)
        except Exception:
            pass

    def loadAlgorithms(self):  # noqa: N802 (QGIS's name)
        specs = runner.ALGORITHMS
        try:  # every analysis of the installed kzgis, with all its numeric parameters
            specs = runner.algorithms_from_kzgis(runner.find_python(python_setting() or None))
        except Exception as exc:  # kzgis not found yet: the built-in table; the algorithms say what to set
            from qgis.core import Qgis, QgsMessageLog

            QgsMessageLog.logMessage(f"kzgis: using the built-in algorithm list ({exc})", "kzgis", Qgis.Info)
        for spec in specs.values():
            self.addAlgorithm(KzgisAlgorithm(spec))
        self.addAlgorithm(RecipeAlgorithm())

    def id(self):
        return runner.PROVIDER_ID

    def name(self):
        return runner.PROVIDER_NAME

    def longName(self):  # noqa: N802
        return runner.PROVIDER_NAME

    def icon(self):
        return QIcon(os.path.join(os.path.dirname(__file__), "icon.png"))
