"""DEM sampling, grades along lines, slope and zonal means on planes with known answers."""

import numpy as np
import pytest
import shapely
from affine import Affine

from kzgis import CRSError
from kzgis.terrain import DEM

X0, Y0, CELL = 537000.0, 3449000.0, 10.0


def _plane(gx=0.05, gy=0.0, n=100):
    """z = 100 + gx * (x - X0) + gy * (y - Y0) sampled at cell centres."""
    cols = X0 + (np.arange(n) + 0.5) * CELL
    rows = Y0 - (np.arange(n) + 0.5) * CELL
    xx, yy = np.meshgrid(cols, rows)
    return DEM(100 + gx * (xx - X0) + gy * (yy - Y0), Affine(CELL, 0, X0, 0, -CELL, Y0), "EPSG:4545")


def test_sample_is_exact_on_a_plane_and_nan_outside():
    dem = _plane()
    z = dem.sample([X0 + 123.4, X0 + 5000], [Y0 - 456.7, Y0 - 10])
    assert z[0] == pytest.approx(100 + 0.05 * 123.4)
    assert np.isnan(z[1])


def test_grades_along_and_across_the_slope():
    dem = _plane(gx=0.05)
    along = shapely.LineString([(X0 + 100, Y0 - 500), (X0 + 700, Y0 - 500)])
    across = shapely.LineString([(X0 + 500, Y0 - 100), (X0 + 500, Y0 - 900)])
    gmax, gmean = dem.grades([along, across])
    assert gmax[0] == pytest.approx(5.0, abs=1e-6) and gmean[0] == pytest.approx(5.0, abs=1e-6)
    assert gmax[1] == pytest.approx(0.0, abs=1e-6)


def test_slope_degrees_of_a_plane():
    dem = _plane(gx=0.1)
    inner = dem.slope_deg[5:-5, 5:-5]
    assert np.allclose(inner, np.degrees(np.arctan(0.1)), atol=1e-4)


def test_zonal_mean_with_empty_and_subcell_polygons():
    dem = _plane(gx=0.05)
    big = shapely.box(X0, Y0 - 200, X0 + 200, Y0)  # mean x offset 100 m -> z 105
    tiny = shapely.box(X0 + 301, Y0 - 309, X0 + 302, Y0 - 308)  # smaller than a cell
    out = dem.zonal_mean([big, shapely.Polygon(), tiny])
    assert out[0] == pytest.approx(105.0)
    assert np.isnan(out[1])
    assert out[2] == pytest.approx(100 + 0.05 * 305, abs=0.01)


def test_geographic_dem_refused():
    with pytest.raises(CRSError, match="geographic"):
        DEM(np.zeros((2, 2)), Affine(0.001, 0, 108, 0, -0.001, 31), "EPSG:4490")
