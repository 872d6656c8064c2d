"""Forest-fire camera coverage by viewshed (issue 18 §1): the line-of-sight engine and the analysis."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from _build import CRS, X0, Y0, box
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter

from kzgis.viewshed import curvature_drop_m, line_of_sight, viewshed

# ------------------------------------------------------------------------------------------------
# the viewshed engine


def test_curvature_drop_at_8_km():
    # d^2 (1 - k) / 2R = 64e6 * 0.87 / 12.742e6
    assert curvature_drop_m(8000.0) == pytest.approx(4.3698, abs=1e-3)


def test_wall_shadow_is_exact():
    """Flat ground, a 21 m wall 100 m east of a 30 m mast: from the eye the wall top hides the ground
    up to 100 m x 30 / (30 - 21) = 333.3 m east, everywhere along the wall."""
    z = np.zeros((61, 81))
    oc, orow = 20, 30
    z[:, oc + 10] = 21.0
    v = viewshed(z, orow, oc, cell_m=10.0, observer_m=30.0, target_m=0.0, curvature=False)
    dx = (np.arange(81) - oc) * 10.0
    expected = np.ones_like(v)
    expected[:, (dx > 100) & (dx < 333.3)] = False
    assert (v == expected).all()
    # below the wall top nothing behind it is seen
    low = viewshed(z, orow, oc, cell_m=10.0, observer_m=10.0, target_m=0.0, curvature=False)
    assert not low[:, dx > 100].any() and low[:, dx < 100].all()
    assert low[:, dx == 100].mean() > 0.9  # the wall face itself (R2 rays pass beside some cell centres)


def test_flat_ground_range_and_curvature():
    z = np.zeros((101, 101))
    v = viewshed(z, 50, 50, cell_m=100.0, observer_m=25.0, target_m=10.0, range_m=3000.0)
    d = np.hypot(*(np.mgrid[0:101, 0:101] - 50)) * 100.0
    assert (v == (d <= 3000.0)).all()
    # earth curvature: a 0 m target on flat ground disappears beyond the horizon of a 2 m eye
    # (horizon distance sqrt(2 R h / (1 - k)) = 5.4 km)
    far = viewshed(np.zeros((3, 141)), 1, 0, cell_m=100.0, observer_m=2.0, target_m=0.0)
    horizon = np.sqrt(2 * 6_371_000.0 * 2.0 / 0.87)
    seen = np.flatnonzero(far[1]) * 100.0
    assert seen.max() <= horizon + 100.0 and seen.max() >= horizon - 300.0


def test_nodata_is_never_seen_and_does_not_block():
    z = np.zeros((21, 21))
    z[10, 12] = np.nan
    v = viewshed(z, 10, 5, cell_m=10.0, observer_m=2.0, target_m=0.0)
    assert not v[10, 12] and v[10, 13:].all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), mast=st.floats(2.0, 40.0), target=st.floats(0.0, 15.0))
def test_agrees_with_brute_force_line_of_sight(seed, mast, target):
    rng = np.random.default_rng(seed)
    z = gaussian_filter(rng.normal(0, 1, (31, 31)), 2.5) * 300.0
    r, c = (int(x) for x in rng.integers(3, 28, 2))
    v = viewshed(z, r, c, cell_m=30.0, observer_m=mast, target_m=target)
    b = np.array([[line_of_sight(z, r, c, i, j, cell_m=30.0, observer_m=mast, target_m=target)
                   for j in range(31)] for i in range(31)])
    # R2 rays pass beside, not through, most cell centres: they may disagree on the horizon's edge,
    # almost never elsewhere
    assert (v == b).mean() >= 0.90
    from scipy.ndimage import binary_dilation

    horizon = binary_dilation(b, np.ones((3, 3))) & binary_dilation(~b, np.ones((3, 3)))
    assert ((v != b) & ~horizon).mean() <= 0.01


def test_agreement_with_brute_force_on_average():
    share = []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        z = gaussian_filter(rng.normal(0, 1, (31, 31)), 2.5) * 300.0
        r, c = (int(x) for x in rng.integers(3, 28, 2))
        v = viewshed(z, r, c, cell_m=30.0, observer_m=10.0, target_m=5.0)
        b = np.array([[line_of_sight(z, r, c, i, j, cell_m=30.0, observer_m=10.0, target_m=5.0)
                       for j in range(31)] for i in range(31)])
        share.append((v == b).mean())
    assert np.mean(share) >= 0.97


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), low=st.floats(0.0, 20.0), extra=st.floats(0.1, 30.0))
def test_a_higher_mast_never_sees_less(seed, low, extra):
    rng = np.random.default_rng(seed)
    z = gaussian_filter(rng.normal(0, 1, (25, 25)), 2.0) * 200.0
    a = viewshed(z, 12, 12, cell_m=50.0, observer_m=low, target_m=5.0)
    b = viewshed(z, 12, 12, cell_m=50.0, observer_m=low + extra, target_m=5.0)
    assert not (a & ~b).any()


# ------------------------------------------------------------------------------------------------
# the analysis on a hand-made world


def _ctx(monitor=None, candidates=None, new_sites=0, towns=None):
    from kzgis.analysis import Context
    from kzgis.layers import Layers
    from kzgis.terrain import DEM

    # 40 x 40 cells of 100 m; flat ground with a 300 m N-S ridge at column 20; forest covers all
    z = np.zeros((40, 40), dtype=np.float32)
    z[:, 20] = 300.0
    dem = DEM(z, Affine(100.0, 0, X0, 0, -100.0, Y0 + 4000.0), CRS)
    forest = gpd.GeoDataFrame(geometry=[box(0, 0, 4000, 4000)], crs=CRS)
    boundary = gpd.GeoDataFrame({"town": ["西镇", "东镇"]}, geometry=[box(0, 0, 2000, 4000), box(2000, 0, 4000, 4000)],
                                crs=CRS)
    layers = Layers(dem.crs)
    layers.update(forest=forest, boundary=boundary, dem=dem)
    if monitor is not None:
        layers["monitor_sites"] = monitor
    if candidates is not None:
        layers["candidate_sites"] = candidates
    return Context(layers=layers, towns=towns)


def _pts(names, offsets, **cols):
    from _build import P

    return gpd.GeoDataFrame({"name": names, **cols}, geometry=[P(a, b) for a, b in offsets], crs=CRS)


def test_a_ridge_hides_the_other_valley_and_greedy_picks_the_far_side():
    from kzgis.analyses.monitoring import MonitoringParams, run_monitoring

    west = _pts(["西塔"], [(550, 2050)], mast_m=[10.0], range_km=[10.0])
    cands = _pts(["西2", "东1"], [(1050, 2050), (3050, 2050)])
    ctx = _ctx(monitor=west, candidates=cands)
    out = run_monitoring(ctx, MonitoringParams(new_sites=1, target_m=0.0))
    towns = out["monitor_towns"].set_index("town")
    # the west camera sees the whole west valley (columns 0-19) and the ridge, nothing east of it
    assert towns.loc["西镇", "seen_share"] == pytest.approx(1.0)
    assert towns.loc["东镇", "seen_share"] == pytest.approx(40 / 800)  # only the ridge column (col 20) of 20 columns
    sites = out["monitor_sites"].set_index("name")
    assert sites.loc["东1", "chosen"] and not sites.loc["西2", "chosen"]
    assert sites.loc["东1", "rank"] == 1 and sites.loc["东1", "status"] == "chosen"
    # the east candidate adds the 19 east columns (ridge already seen): 19 x 40 cells of 0.01 km2
    assert sites.loc["东1", "added_forest_km2"] == pytest.approx(19 * 40 * 0.01)
    assert towns.loc["东镇", "seen_share_after"] == pytest.approx(1.0)
    vs = out["monitor_viewsheds"]
    assert set(vs["site"]) == {"西塔", "东1"}
    assert vs.set_index("site").loc["西塔", "visible_forest_km2"] == pytest.approx(21 * 40 * 0.01)
    assert len(out["monitor_blind_spots"]) == 0


def test_target_share_stops_when_reached_and_blind_spots_listed():
    from kzgis.analyses.monitoring import MonitoringParams, run_monitoring

    cands = _pts(["西1", "东1"], [(550, 2050), (3050, 2050)], mast_m=[10.0, 10.0])
    ctx = _ctx(candidates=cands)
    out = run_monitoring(ctx, MonitoringParams(target_share=0.5, target_m=0.0))
    assert int(out["monitor_sites"]["chosen"].sum()) == 1  # one valley + ridge is 52.5 % >= 50 %
    spots = out["monitor_blind_spots"]
    assert len(spots) == 1 and spots["area_km2"].iloc[0] == pytest.approx(19 * 40 * 0.01)


def test_bad_parameters_and_no_forest_are_clear_errors():
    from kzgis._errors import AnalysisError
    from kzgis.analyses.monitoring import MonitoringParams

    with pytest.raises(AnalysisError, match="target_share"):
        MonitoringParams(target_share=90)
    with pytest.raises(AnalysisError, match="mast_m"):
        MonitoringParams(mast_m=float("nan"))


def test_generated_candidates_are_summits_near_roads():
    from _build import L

    from kzgis.analyses.monitoring import MonitoringParams, generate_candidates

    ctx = _ctx()
    roads = gpd.GeoDataFrame(geometry=[L((2050, 0), (2050, 1000))], crs=CRS)
    c = generate_candidates(ctx.dem, roads, MonitoringParams(candidate_road_max_m=500.0))
    assert len(c) >= 1 and (c["elevation_m"] == 300.0).all()
    assert c.geometry.distance(roads.geometry.iloc[0]).max() <= 500.0


def test_per_forest_block_shares():
    from kzgis.analyses.monitoring import MonitoringParams, run_monitoring

    west = _pts(["西塔"], [(550, 2050)], mast_m=[10.0], range_km=[10.0])
    out = run_monitoring(_ctx(monitor=west), MonitoringParams(target_m=0.0, target_share=0.0))
    blocks = out["monitor_blocks"]
    # one forest block covering the 40 x 40 cells; the west tower sees 21 of 40 columns
    assert list(blocks["block_id"]) == [1]
    assert blocks["forest_km2"].iloc[0] == pytest.approx(16.0)
    assert blocks["seen_share"].iloc[0] == pytest.approx(21 / 40)


def test_results_conform_to_the_schema():
    from kzgis import schema
    from kzgis.analyses.monitoring import MonitoringParams, run_monitoring

    west = _pts(["西塔"], [(550, 2050)], mast_m=[10.0], range_km=[10.0])
    cands = _pts(["西2", "东1"], [(1050, 2050), (3050, 2050)])
    out = run_monitoring(_ctx(monitor=west, candidates=cands), MonitoringParams(new_sites=1, target_m=0.0))
    assert {lay.name for lay in schema.for_analysis("monitoring")} == set(out)
    for name, frame in out.items():
        assert schema.check(name, frame) == [], name
