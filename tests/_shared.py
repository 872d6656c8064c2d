"""Where the real reference data lives (``../shared/data`` beside the checkout, see PROVENANCE.md).

CI has the same copy beside the checkout; ``KZGIS_SHARED_DATA`` overrides the location.
"""

import os
from pathlib import Path


def _find() -> Path:
    candidates = []
    if os.environ.get("KZGIS_SHARED_DATA"):
        candidates.append(Path(os.environ["KZGIS_SHARED_DATA"]))
    candidates += [Path(__file__).resolve().parents[2] / "shared" / "data", Path("/work/shared/data")]
    for c in candidates:
        if (c / "PROVENANCE.md").exists():
            return c
    raise FileNotFoundError(
        "the shared reference data (../shared/data with PROVENANCE.md) is not beside the checkout; "
        "set KZGIS_SHARED_DATA to its folder")


SHARED_DATA = _find()
