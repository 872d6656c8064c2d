"""kzgis QGIS plugin: a Processing provider that runs kzgis out of process."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import KzgisPlugin

    return KzgisPlugin(iface)
