"""CRS recognition and the GCJ-02 conversion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from kzgis import CRSError
from kzgis.crs import choose_working_crs, guess_crs_from_coordinates, require_projected
from kzgis.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")
KAIZHOU = (108.39, 31.17)  # near the urban area


def test_gk_zone_without_prefix_is_4545():
    crs, why = guess_crs_from_coordinates([537184.0], [3448779.0])
    assert crs.to_epsg() == 4545
    assert "EPSG:4545" in why


def test_gk_zone_with_prefix_is_4524():
    crs, why = guess_crs_from_coordinates([36537184.0, 36540000.0], [3448779.0, 3450000.0])
    assert crs.to_epsg() == 4524
    assert "zone number 36" in why


def test_lonlat_recognised_and_unknown_range_none():
    assert guess_crs_from_coordinates([108.3], [31.1])[0].to_epsg() == 4490
    assert guess_crs_from_coordinates([1e9], [1e9])[0] is None


def test_working_crs_for_kaizhou_and_outside_china():
    assert choose_working_crs((107.9, 30.8, 108.9, 31.7)).to_epsg() == 4545
    assert choose_working_crs((11.5, 48.1, 11.6, 48.2)).to_epsg() == 32632  # Munich: UTM 32N


def test_require_projected_message():
    with pytest.raises(CRSError, match="geographic.*EPSG:4545"):
        require_projected("EPSG:4490", "buffering")
    assert require_projected("EPSG:4545").to_epsg() == 4545


def test_gcj02_shift_at_kaizhou_is_about_500m():
    glon, glat = wgs84_to_gcj02(*KAIZHOU)
    d = GEOD.inv(KAIZHOU[0], KAIZHOU[1], float(glon), float(glat))[2]
    assert 480 < d < 510
    # PROVENANCE.md: GCJ-02 is east and south of WGS84 in Kaizhou
    assert glon > KAIZHOU[0] and glat < KAIZHOU[1]


def test_gcj02_outside_china_unchanged():
    lon, lat = wgs84_to_gcj02(11.5, 48.1)
    assert float(lon) == 11.5 and float(lat) == 48.1


@settings(max_examples=200, deadline=None)
@given(st.floats(107.5, 109.0), st.floats(30.5, 32.0))
def test_gcj02_round_trip_below_1cm(lon, lat):
    g = wgs84_to_gcj02(lon, lat)
    w = gcj02_to_wgs84(*g)
    d = GEOD.inv(lon, lat, float(w[0]), float(w[1]))[2]
    assert d < 0.01


def test_gcj02_vectorised():
    lon = np.array([108.1, 108.4, 108.7])
    lat = np.array([31.0, 31.2, 31.4])
    g = wgs84_to_gcj02(lon, lat)
    w = gcj02_to_wgs84(*g)
    np.testing.assert_allclose(w[0], lon, atol=1e-7)
    np.testing.assert_allclose(w[1], lat, atol=1e-7)
