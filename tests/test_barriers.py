"""Barrier bands: hand-built squares with exact answers, separation by rivers and roads, a property test."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kzgis import params as kparams
from kzgis._errors import RecipeError
from kzgis.analyses.barriers import (
    TYPE_BIOLOGICAL,
    TYPE_ENGINEERED,
    TYPE_NATURAL,
    TYPE_ROAD,
    TYPE_UNKNOWN,
    BarrierParams,
    run_barriers,
)
from kzgis.analysis import Context, get
from kzgis.layers import Layers
from kzgis.terrain import DEM

CRS = "EPSG:4545"
X0, Y0 = 537000.0, 3448000.0


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


FOREST = box(0, 0, 1000, 1000)
TOWN = box(1100, 200, 1400, 800)  # 100 m east of the forest


def run(params=None, **layers):
    ctx = Context(layers=Layers(CRS, **layers))
    return run_barriers(ctx, params or BarrierParams()), ctx


def square_case(urban: bool, **extra):
    layers = dict(forest=gdf([FOREST]), settlements=gdf([TOWN], name=["河堰村"], town=["河堰镇"]))
    if urban:
        layers["urban_area"] = gdf([TOWN.buffer(5)], name=["开州城区"])
    layers.update(extra)
    return run(**layers)


@pytest.mark.parametrize("urban, width", [(True, 200.0), (False, 100.0)])
def test_square_forest_beside_town_band_width(urban, width):
    res, _ = square_case(urban)
    bands = res["barrier_bands"]
    assert len(bands) >= 1
    assert set(bands["width_m"]) == {width}
    band = shapely.union_all(bands.geometry.values)
    # the whole east edge faces the town (its ends are within 300 m); the band is exactly the
    # strip `width` deep behind it, and nothing of the west, north or south sides
    expected = box(1000 - width, 0, 1000, 1000)
    assert band.symmetric_difference(expected).area < 1e-3
    assert bands["area_m2"].sum() == pytest.approx(width * 1000, rel=1e-9)
    assert bands["edge_length_m"].sum() == pytest.approx(1000, rel=1e-9)
    assert set(bands["town"]) == {"河堰镇"}
    assert set(bands["facing"]) <= ({"河堰村", "开州城区"} if urban else {"河堰村"})
    edges = res["barrier_edges"]
    assert edges.geometry.union_all().difference(box(1000, 0, 1000, 1000).buffer(1e-6)).is_empty
    assert set(bands["barrier_type"]) == {TYPE_UNKNOWN}  # no DEM


def test_band_bigger_facing_distance_only_within_it():
    # town 250 m away: the edge within 300 m is shorter, and bands end there (round caps)
    town = box(1250, 400, 1300, 600)
    res, _ = run(forest=gdf([FOREST]), settlements=gdf([town], name=["村"]))
    edges = res["barrier_edges"]
    half = np.sqrt(300.0**2 - 250.0**2)
    ys = shapely.get_coordinates(edges.geometry.values)[:, 1] - Y0
    # exact within 5 cm, erring on the longer (safe) side
    assert 400 - half - 0.05 <= ys.min() <= 400 - half
    assert 600 + half <= ys.max() <= 600 + half + 0.05
    assert res["barrier_bands"]["edge_length_m"].sum() == pytest.approx(200 + 2 * half, abs=0.1)


def test_far_side_of_a_thin_strip_does_not_face():
    strip = box(800, 0, 950, 1000)  # 150 m wide; its west edge is 250-300 m from the town
    town = box(1050, 100, 1200, 900)
    res, _ = run(forest=gdf([strip]), settlements=gdf([town], name=["村"]))
    edges = res["barrier_edges"].geometry.union_all()
    assert edges.difference(box(950, 0, 950, 1000).buffer(1e-6)).is_empty
    band = res["barrier_bands"].geometry.union_all()
    assert band.symmetric_difference(box(850, 0, 950, 1000)).area < 1e-3


def test_urban_width_wins_over_town_width_where_both_face():
    village = box(1100, 200, 1200, 300)
    urban = box(1150, 600, 1400, 900)
    res, _ = run(forest=gdf([FOREST]), settlements=gdf([village], name=["村"], town=["镇"]),
                 urban_area=gdf([urban], name=["城区"]))
    bands = res["barrier_bands"]
    assert set(bands["width_m"]) == {100.0, 200.0}
    # edge points within 300 m of the urban area get 200 m, whatever village is nearer
    e = res["barrier_edges"]
    for geom, w in zip(e.geometry, e["width_m"]):
        d_urban = geom.distance(urban)
        if w == 100.0:
            assert shapely.hausdorff_distance(geom, shapely.Point(geom.coords[0])) >= 0
            # every vertex of a 100 m stretch is beyond the facing distance of the urban area
            pts = shapely.points(shapely.get_coordinates(shapely.segmentize(geom, 1.0)))
            assert (shapely.distance(pts, urban) > 300 - 1.0).all()
        else:
            assert d_urban <= 300 + 1e-6
    # and the urban band covers the full 200 m behind its stretch
    urban_band = shapely.union_all(bands[bands.width_m == 200].geometry.values)
    assert urban_band.contains(box(801, 600, 999, 990))


def test_river_between_marks_natural_barrier():
    river = shapely.LineString([(X0 + 1050, Y0 - 3000), (X0 + 1050, Y0 + 4000)])
    res, ctx = square_case(False, rivers=gdf([river], width_m=[30.0]))
    bands = res["barrier_bands"]
    assert set(bands["barrier_type"]) == {TYPE_NATURAL}
    assert set(res["barrier_edges"]["separated_by"]) == {"water"}
    assert res["barrier_towns"]["area_natural_m2"].sum() == pytest.approx(100 * 1000, rel=1e-9)


def test_river_polygon_and_forest_edge_inside_the_river():
    # the forest polygon runs into the river (edge at the centre line): still separated
    forest = box(0, 0, 1060, 1000)
    river = box(1040, -3000, 1080, 4000)
    res, _ = run(forest=gdf([forest]), settlements=gdf([TOWN], name=["村"]), rivers=gdf([river]))
    assert set(res["barrier_bands"]["barrier_type"]) == {TYPE_NATURAL}


def test_narrow_or_unmeasured_river_and_pond_do_not_separate():
    stream = shapely.LineString([(X0 + 1050, Y0 - 3000), (X0 + 1050, Y0 + 4000)])
    res, _ = square_case(False, rivers=gdf([stream], width_m=[3.0]))
    assert TYPE_NATURAL not in set(res["barrier_bands"]["barrier_type"])
    res, ctx = square_case(False, rivers=gdf([stream], width_m=[np.nan]))
    assert TYPE_NATURAL not in set(res["barrier_bands"]["barrier_type"])
    assert any("no width_m" in w for w in ctx.warnings)
    # a pond between forest and town can be walked around
    pond = box(1020, 450, 1080, 550)
    res, _ = square_case(False, water_bodies=gdf([pond]))
    assert TYPE_NATURAL not in set(res["barrier_bands"]["barrier_type"])


def test_river_ending_near_the_town_does_not_separate():
    # fire can go round the river's end inside the window: not an existing barrier
    river = shapely.LineString([(X0 + 1050, Y0 - 3000), (X0 + 1050, Y0 + 500)])
    res, _ = square_case(False, rivers=gdf([river], width_m=[30.0]))
    assert set(res["barrier_edges"]["separated_by"]) == {""}


def test_river_turning_into_the_forest_separates_only_the_part_it_cuts_off():
    # the river runs north between forest and town, then turns west through the forest at y=500:
    # the forest south of it is cut off from the town, the forest north of it is not
    river = shapely.LineString([(X0 + 1050, Y0 - 3000), (X0 + 1050, Y0 + 500), (X0 - 3000, Y0 + 500)])
    res, _ = square_case(False, rivers=gdf([river], width_m=[30.0]))
    e = res["barrier_edges"]
    sep, open_ = e[e.separated_by == "water"], e[e.separated_by == ""]
    assert len(sep) and len(open_)
    ys_sep = shapely.get_coordinates(sep.geometry.values)[:, 1] - Y0
    ys_open = shapely.get_coordinates(open_.geometry.values)[:, 1] - Y0
    # within the river half-width (15 m) plus one edge piece (10 m) of the bend
    assert ys_sep.max() <= 525 and ys_open.min() >= 475
    b = res["barrier_bands"]
    assert set(b.loc[b.barrier_type == TYPE_NATURAL].index) == set(sep["band_id"].dropna())


def test_wide_road_marks_road_barrier_and_narrow_road_does_not():
    road = shapely.LineString([(X0 + 1050, Y0 - 3000), (X0 + 1050, Y0 + 4000)])
    res, _ = square_case(False, roads=gdf([road], width_m=[12.0]))
    assert set(res["barrier_bands"]["barrier_type"]) == {TYPE_ROAD}
    res, _ = square_case(False, roads=gdf([road], width_m=[4.0]))
    assert TYPE_ROAD not in set(res["barrier_bands"]["barrier_type"])
    # river and road together: the river (natural) is named first
    river = shapely.LineString([(X0 + 1020, Y0 - 3000), (X0 + 1020, Y0 + 4000)])
    res, _ = square_case(False, roads=gdf([road], width_m=[12.0]), rivers=gdf([river], width_m=[20.0]))
    assert set(res["barrier_bands"]["barrier_type"]) == {TYPE_NATURAL}


def test_slope_decides_engineered_or_biological():
    for grade, expected in ((0.1, TYPE_ENGINEERED), (1.0, TYPE_BIOLOGICAL)):
        cell = 10.0
        n = 300
        x = (np.arange(n) + 0.5) * cell
        z = np.tile(x * grade, (n, 1)).astype("float32")  # rises eastward
        dem = DEM(z, Affine(cell, 0, X0 - 500, 0, -cell, Y0 + 2000), CRS)
        res, _ = square_case(False, dem=dem)
        bands = res["barrier_bands"]
        assert set(bands["barrier_type"]) == {expected}
        assert bands["slope_mean_deg"].iloc[0] == pytest.approx(np.degrees(np.arctan(grade)), abs=0.5)


def test_settlement_point_inside_forest_gets_a_ring():
    p = shapely.Point(X0 + 500, Y0 + 500)
    res, ctx = run(forest=gdf([FOREST]), settlements=gdf([p], name=["林中村"], town=["镇"]))
    assert any("inside the forest" in w and "林中村" in w for w in ctx.warnings)
    band = res["barrier_bands"].geometry.union_all()
    ring = p.buffer(200).difference(p.buffer(100))
    assert band.symmetric_difference(ring).area / ring.area < 0.01
    # the outer square edge is 400 m away: not facing
    assert band.within(p.buffer(200.01))


def test_town_from_boundary_when_settlement_has_none():
    boundary = gdf([box(1000, -5000, 6000, 5000), box(-5000, -5000, 1000, 5000)], town=["东镇", "西镇"])
    res, _ = run(forest=gdf([FOREST]), settlements=gdf([TOWN], name=["村"]), boundary=boundary)
    assert set(res["barrier_bands"]["town"]) == {"东镇"}
    towns = res["barrier_towns"]
    assert list(towns["town"]) == ["东镇"]
    assert towns["area_m2"].iloc[0] == pytest.approx(100 * 1000)
    assert towns["area_undetermined_m2"].iloc[0] == pytest.approx(100 * 1000)


def test_adjacent_forest_polygons_are_dissolved():
    halves = [box(0, 0, 1000, 500), box(0, 500, 1000, 1000)]
    res, _ = run(forest=gdf(halves), settlements=gdf([TOWN], name=["村"]))
    band = res["barrier_bands"].geometry.union_all()
    assert band.symmetric_difference(box(900, 0, 1000, 1000)).area < 1e-3


def test_band_goes_on_behind_a_forest_road_gap():
    # a 10 m forest-road gap 50 m inside the edge splits the forest into two blocks
    halves = [box(0, 0, 940, 1000), box(950, 0, 1000, 1000)]
    res, _ = run(forest=gdf(halves), settlements=gdf([TOWN], name=["村"]))
    band = res["barrier_bands"].geometry.union_all()
    expected = box(900, 0, 940, 1000).union(box(950, 0, 1000, 1000))
    assert band.symmetric_difference(expected).area < 1e-3


def test_no_facing_gives_empty_layers_with_crs():
    res, _ = run(forest=gdf([FOREST]), settlements=gdf([box(3000, 0, 3100, 100)], name=["远村"]))
    for name in ("barrier_bands", "barrier_edges"):
        assert len(res[name]) == 0
        assert res[name].crs is not None
    assert len(res["barrier_towns"]) == 0


def test_params_are_validated():
    with pytest.raises(RecipeError, match="urban_width_m must be > 0"):
        kparams.from_mapping(BarrierParams, {"urban_width_m": -1}, "analyses.barriers")
    with pytest.raises(RecipeError, match="did you mean 'facing_m'"):
        kparams.from_mapping(BarrierParams, {"facing_mm": 300}, "analyses.barriers")
    p = kparams.from_mapping(BarrierParams, {"urban_towns": ["汉丰街道"]}, "analyses.barriers")
    assert p.urban_towns == ("汉丰街道",)


def test_registered():
    spec = get("barriers")
    assert spec.results == ("barrier_bands", "barrier_edges", "barrier_towns")
    assert "forest" in spec.needs


def test_urban_towns_parameter_makes_settlements_urban():
    res, ctx = run(BarrierParams(urban_towns=("汉丰街道",)), forest=gdf([FOREST]),
                   settlements=gdf([TOWN], name=["社区"], town=["汉丰街道"]))
    assert set(res["barrier_bands"]["width_m"]) == {200.0}
    assert not any("no urban_area" in w for w in ctx.warnings)


# ---------------------------------------------------------------------------------------------
# property: every band point is in the forest and within the width of its facing edge stretch

cells = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=20, unique=True)
places = st.lists(st.tuples(st.floats(-300, 1900), st.floats(-300, 1900), st.booleans(), st.booleans()),
                  min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=cells, places=places, river=st.booleans())
def test_property_bands_inside_forest_and_within_width(cells, places, river):
    forest = gdf([box(i * 200, j * 200, i * 200 + 200, j * 200 + 200) for i, j in cells])
    geoms, urb = [], []
    for x, y, is_poly, is_urban in places:
        geoms.append(box(x, y, x + 80, y + 60) if is_poly else shapely.Point(X0 + x, Y0 + y))
        urb.append(is_urban)
    layers = dict(forest=forest, settlements=gdf(geoms, name=[f"s{i}" for i in range(len(geoms))]))
    if any(urb):
        layers["urban_area"] = gdf([g.buffer(1) for g, u in zip(geoms, urb) if u])
    if river:
        layers["rivers"] = gdf([shapely.LineString([(X0 - 500, Y0 + 830), (X0 + 2500, Y0 + 870)])], width_m=[25.0])
    res, _ = run(**layers)
    bands, edges = res["barrier_bands"], res["barrier_edges"]
    forest_u = forest.geometry.union_all()
    tol = 1e-6
    for bid, band in zip(bands.index, bands.geometry):
        own = edges[edges["band_id"] == bid]
        assert len(own) == 1
        width = float(own["width_m"].iloc[0])
        assert bands.loc[bid, "width_m"] == width
        # vertices and interior grid points of the band
        pts = shapely.points(shapely.get_coordinates(band))
        x0, y0, x1, y1 = band.bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, 25), np.linspace(y0, y1, 25))
        inside = shapely.contains_xy(band, gx.ravel(), gy.ravel())
        pts = np.concatenate([pts, shapely.points(gx.ravel()[inside], gy.ravel()[inside])])
        assert (shapely.distance(pts, forest_u) <= tol).all()
        assert (shapely.distance(pts, own.geometry.iloc[0]) <= width + tol).all()
    # bands do not overlap
    geoms_b = bands.geometry.values
    if len(geoms_b) > 1:
        assert shapely.union_all(geoms_b).area == pytest.approx(shapely.area(geoms_b).sum(), rel=1e-6, abs=1e-3)
    # every edge stretch lies on the forest edge
    if len(edges):
        # settlements inside the forest are clearings: points as 100 m discs, polygons as they are
        holes = [shapely.buffer(g, 100) for g in geoms if g.geom_type == "Point" and forest_u.intersects(g)]
        polys = [g for g in geoms if g.geom_type == "Polygon"]
        polys += list(layers["urban_area"].geometry) if "urban_area" in layers else []
        holes += [g for g in polys if forest_u.covers(g)]
        edge_u = forest_u.difference(shapely.union_all(holes)).boundary if holes else forest_u.boundary
        assert (shapely.distance(shapely.points(shapely.get_coordinates(edges.geometry.values)), edge_u)
                <= 1e-6).all()


# ---------------------------------------------------------------------------------------------
# band ends (issue 20): the area of a band along a 1 km straight edge


def _km_edge_case(ends):
    # a forest 1 km wide; the urban area 100 m south of its whole south edge, reaching 1 km past
    # both sides. The south edge (1 km) faces it, and so do the first 200 m of both side edges
    # (within 300 m of the urban area, the line of sight running along the edge).
    forest = box(0, 0, 1000, 3000)
    urban = box(-1000, -400, 2000, -100)
    return run(BarrierParams(band_ends=ends), forest=gdf([forest]), urban_area=gdf([urban], name=["城区"]))


def test_flat_ends_give_width_times_length_for_a_1_km_edge():
    res, ctx = _km_edge_case("flat")
    bands = res["barrier_bands"]
    assert set(bands["width_m"]) == {200.0} and set(bands["band_ends"]) == {"flat"}
    # the side edges' 200 m lie inside the 200 m strip behind the south edge: exactly 1000 x 200
    assert bands["area_m2"].sum() == pytest.approx(200_000.0, rel=1e-4)
    assert shapely.union_all(bands.geometry.values).symmetric_difference(box(0, 0, 1000, 200)).area < 50.0


def test_round_ends_add_the_quarter_discs_beyond_the_stretch_ends():
    res, _ = _km_edge_case("round")
    bands = res["barrier_bands"]
    assert set(bands["band_ends"]) == {"round"}
    # the stretch runs (0, 200) -> (0, 0) -> (1000, 0) -> (1000, 200): its round ends add a half disc of
    # radius 200 at each end, half of which (a quarter disc) lies in the forest
    expected = 200_000.0 + 2 * np.pi * 200.0 ** 2 / 4
    assert bands["area_m2"].sum() == pytest.approx(expected, rel=2e-3)  # 16 segments a quarter circle


def test_band_ends_parameter_is_checked():
    with pytest.raises(RecipeError, match="band_ends must be 'round' or 'flat'"):
        kparams.from_mapping(BarrierParams, {"band_ends": "square"}, "analyses.barriers")


def test_threaded_shapely_calls_give_the_single_call_results(monkeypatch):
    """``_geom.threaded`` (the band overlays on all cores) returns what one call returns, element for element."""
    from kzgis import _geom

    monkeypatch.setattr(_geom, "cores", lambda: 3)  # split even on a one-core machine
    rng = np.random.default_rng(5)
    n = 3 * 2000 + 17
    a = shapely.buffer(shapely.points(rng.uniform(0, 2000, (n, 2))), rng.uniform(5, 60, n), quad_segs=4)
    b = shapely.buffer(shapely.points(rng.uniform(0, 2000, (n, 2))), 40.0)
    for func, args, kw in ((shapely.difference, (a, b), {}), (shapely.intersection, (a, b), {}),
                           (shapely.buffer, (a, rng.uniform(1, 9, n)), {"quad_segs": 3, "cap_style": "flat"}),
                           (shapely.buffer, (a, 2.5), {}), (shapely.shortest_line, (a, b), {})):
        got = _geom.threaded(func, *args, **kw)
        want = func(*args, **kw)
        assert len(got) == n
        assert list(shapely.to_wkb(got)) == list(shapely.to_wkb(want))
    small = _geom.threaded(shapely.difference, a[:10], b[:10])  # short: one call
    assert list(shapely.to_wkb(small)) == list(shapely.to_wkb(shapely.difference(a[:10], b[:10])))


def test_threaded_point_in_polygon_gives_the_single_call_answers(monkeypatch):
    """``_geom.threaded_contains_xy`` (the line-of-sight probes) answers like one ``contains_xy`` call,
    also for points on the boundary and in holes."""
    from kzgis import _geom

    monkeypatch.setattr(_geom, "cores", lambda: 3)
    rng = np.random.default_rng(11)
    blobs = shapely.buffer(shapely.points(rng.uniform(0, 1000, (60, 2))), rng.uniform(20, 120, 60))
    forest = shapely.difference(shapely.union_all(blobs), shapely.box(400, 400, 600, 600))
    shapely.prepare(forest)
    n = 3 * 4 * 2000 + 5
    x, y = rng.uniform(-50, 1050, n), rng.uniform(-50, 1050, n)
    bx, by = shapely.get_coordinates(forest.boundary)[:500].T  # exactly on the boundary
    x, y = np.r_[x, bx, 400.0, 500.0], np.r_[y, by, 500.0, 400.0]
    got = _geom.threaded_contains_xy(forest, x, y)
    want = shapely.contains_xy(forest, x, y)
    assert np.array_equal(got, want) and want.any() and not want.all()
