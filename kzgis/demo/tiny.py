"""A tiny hand-made world for examples, doctests and the quickstart (no files, built in memory).

:func:`tiny_world` returns every layer kind the analyses use, as GeoDataFrames in EPSG:4545 near
温泉镇 (Kaizhou), plus a synthetic DEM: one township, a 6 m main road with a 3 m bridge, village
roads, four villages, one fire station, hydrants, a pool, an intake, a reservoir and forest.
Everything is synthetic (示意数据); it is small enough for an analysis to run in a second.
"""

from __future__ import annotations

import numpy as np

X0, Y0 = 537000.0, 3448000.0
CRS = "EPSG:4545"
SOURCE = "示意数据(synthetic, tiny world)"


def _xy(pts):
    return [(X0 + a, Y0 + b) for a, b in pts]


def tiny_world(with_dem: bool = True) -> dict:
    """The tiny world: ``{kind: GeoDataFrame}`` (EPSG:4545) and ``"dem"``: a :class:`~kzgis.terrain.DEM`.

    Parameters
    ----------
    with_dem : bool
        Include the synthetic DEM (a valley rising to a hill in the north-east, 25 m cells).

    Returns
    -------
    dict
        Keys ``boundary``, ``roads``, ``settlements``, ``stations``, ``hydrants``, ``fire_pools``,
        ``water_intakes``, ``water_bodies``, ``forest``, ``urban_area`` and ``dem``.

    Examples
    --------
    >>> from kzgis.demo import tiny_world
    >>> world = tiny_world()
    >>> len(world["roads"]), len(world["settlements"]), world["roads"].crs.to_string()
    (9, 4, 'EPSG:4545')
    """
    import geopandas as gpd
    import shapely

    def gdf(geoms, **cols):
        cols.setdefault("source", [SOURCE] * len(geoms))
        return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)

    def line(*pts):
        return shapely.LineString(_xy(pts))

    def point(a, b):
        return shapely.Point(X0 + a, Y0 + b)

    def box(a0, b0, a1, b1):
        return shapely.box(X0 + a0, Y0 + b0, X0 + a1, Y0 + b1)

    world: dict = {}
    world["boundary"] = gdf([box(-500, -1000, 3500, 2500)], town=["温泉镇"])
    world["urban_area"] = gdf([box(-300, -300, 300, 300)], name=["温泉场镇"])
    # main road west-east with a narrow bridge, a village road north, lanes to the villages
    world["roads"] = gdf(
        [line((0, 0), (1000, 0)), line((1000, 0), (1030, 0)), line((1030, 0), (2500, 0)),
         line((0, 0), (0, 1200)), line((0, 1200), (900, 1600)), line((2500, 0), (2500, 900)),
         line((0, 0), (-400, -600)), line((1500, 0), (1500, -700)), line((2500, 900), (2500, 1100))],
        name=["温泉大道", "石桥", "温泉大道", "青龙路", "青龙路", "白鹤路", "南岸路", "林场路", "白鹤路"],
        road_class=["县道", "县道", "县道", "村道", "村道", "村道", "乡道", "机耕道", "机耕道"],
        width_m=[6.5, 3.0, 6.5, 4.5, 3.5, 4.0, 5.0, 3.0, 2.5],
    )
    world["settlements"] = gdf([point(50, 1250), point(900, 1650), point(2550, 950), point(-420, -650)],
                               name=["青龙村", "桂花湾", "白鹤村", "南岸"], town=["温泉镇"] * 4,
                               population=[820.0, 260.0, 540.0, 410.0])
    world["stations"] = gdf([point(60, -40)], name=["温泉镇专职消防队"], short=["温泉"], town=["温泉镇"],
                            kind=["乡镇专职消防队"], status=["existing"])
    world["hydrants"] = gdf([point(100, 15), point(-150, -200), point(60, 1190)], status=["ok", "ok", "ok"])
    world["fire_pools"] = gdf([point(2520, 880)], volume_m3=[200.0])
    world["water_intakes"] = gdf([point(1520, -720)], kind=["取水点"], lift_m=[3.0])
    # a reservoir in the valley south-east, and forest on the slopes
    world["water_bodies"] = gdf([shapely.Point(X0 + 2000, Y0 - 700).buffer(220.0, quad_segs=16)],
                                name=["林场水库"], depth_m=[6.0])
    world["forest"] = gdf([box(300, 300, 2300, 1150), box(1100, -950, 3300, -250), box(2650, 200, 3400, 2300)])
    if with_dem:
        world["dem"] = tiny_dem()
    return world


def tiny_dem():
    """The tiny world's DEM (EPSG:4545, 25 m cells): a valley at ~200 m rising to ~520 m in the north-east."""
    from affine import Affine

    from ..terrain import DEM

    cell = 25.0
    x0, y0 = X0 - 1000.0, Y0 + 3000.0
    nx, ny = 200, 180
    xs = (np.arange(nx) + 0.5) * cell - 1000.0
    ys = 3000.0 - (np.arange(ny) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    z = 200.0 + 0.02 * gx + 0.03 * gy + 260.0 * np.exp(-(((gx - 3000.0) ** 2 + (gy - 1800.0) ** 2) / 900.0 ** 2))
    # the reservoir basin is flat
    z = np.where(np.hypot(gx - 2000.0, gy + 700.0) < 260.0, 200.0, z)
    return DEM(z.astype(np.float32), Affine(cell, 0.0, x0, 0.0, -cell, y0), CRS)
