"""Embedded Kaizhou demo data (``layers/kaizhou``) and its deterministic generator.

``generate(out_dir, seed)`` writes every demo layer; ``python -m kzgis.demo [OUT_DIR]`` regenerates
the committed copy. Only the county outline and 38 township seats are real (see
``layers/README.md``); everything else is synthetic (示意数据) and labelled so in a ``source`` column.
"""

from __future__ import annotations

from ._generate import generate
from .common import FILES as _BASE_FILES
from .common import VILLAGE_FILES, default_out_dir, default_source_dir
from .tiny import tiny_world

#: every file of the demo folder, in the order ``generate`` returns them
FILES = [*_BASE_FILES, *VILLAGE_FILES]

__all__ = ["FILES", "default_out_dir", "default_source_dir", "generate", "tiny_world"]
