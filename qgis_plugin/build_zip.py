"""Build the plugin zip that QGIS's "Install from ZIP" accepts: ``python qgis_plugin/build_zip.py [DIR]``.

Writes ``DIR/kzgis_qgis-<version>.zip`` (default DIR: ``dist/``) holding the folder ``kzgis_qgis/``
without caches, and prints its path.
"""

import configparser
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "kzgis_qgis"


def build(dest: Path) -> Path:
    meta = configparser.ConfigParser()
    meta.read(PLUGIN / "metadata.txt", encoding="utf-8")
    version = meta["general"]["version"]
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"kzgis_qgis-{version}.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(PLUGIN.rglob("*")):
            if p.is_dir() or "__pycache__" in p.parts or p.suffix in (".pyc", ".pyo"):
                continue
            z.write(p, Path("kzgis_qgis") / p.relative_to(PLUGIN))
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "dist"))
