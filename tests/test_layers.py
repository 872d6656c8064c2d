"""Layer loading from real formats, and every validation finding with its message."""


import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from kzgis import LayerError
from kzgis.gcj02 import wgs84_to_gcj02
from kzgis.layers import LayerSource, read_layer
from kzgis.load import load_layers
from kzgis.validation import problems_table, validate_layer

CRS = "EPSG:4545"
X0, Y0 = 537000.0, 3448000.0


def _county(tmp_path):
    poly = Polygon([(X0 - 5000, Y0 - 5000), (X0 + 5000, Y0 - 5000), (X0 + 5000, Y0 + 5000), (X0 - 5000, Y0 + 5000)])
    path = tmp_path / "county.gpkg"
    gpd.GeoDataFrame({"name": ["开州区"]}, geometry=[poly], crs=CRS).to_file(path)
    return path


def _roads_gdf():
    return gpd.GeoDataFrame(
        {"道路名称": ["幸福路", "河街"], "路面宽度": [4.5, 3.2], "道路等级": ["村道", "村道"]},
        geometry=[LineString([(X0, Y0), (X0 + 100, Y0)]), LineString([(X0 + 100, Y0), (X0 + 100, Y0 + 80)])],
        crs=CRS,
    )


def test_gbk_shapefile_with_chinese_fields(tmp_path):
    path = tmp_path / "roads.shp"
    _roads_gdf().to_file(path, encoding="gbk")
    cpg = path.with_suffix(".cpg")
    if cpg.exists():
        cpg.unlink()  # Chinese desktop GIS often writes no .cpg
    raw = path.with_suffix(".dbf").read_bytes()
    assert "幸福路".encode("gbk") in raw  # really GBK on disk
    src = LayerSource.from_mapping("roads", {"path": str(path), "encoding": "gbk",
                                             "fields": {"width_m": "路面宽度", "name": "道路名称"}}, tmp_path)
    gdf, warns = read_layer(src, CRS)
    assert list(gdf["name"]) == ["幸福路", "河街"]
    assert list(gdf["width_m"]) == [4.5, 3.2]
    assert gdf.crs.to_epsg() == 4545
    assert list(gdf.index) == [1, 2]


def test_gbk_shapefile_without_encoding_is_a_clear_error(tmp_path):
    path = tmp_path / "roads.shp"
    _roads_gdf().to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    src = LayerSource.from_mapping("roads", {"path": str(path)}, tmp_path)
    with pytest.raises(LayerError, match="encoding: gbk"):
        read_layer(src, CRS)


def test_geojson_in_wgs84_reprojected(tmp_path):
    path = tmp_path / "stations.geojson"
    gpd.GeoDataFrame({"名称": ["温泉"]}, geometry=[Point(108.39, 31.17)], crs="EPSG:4326").to_file(path)
    gdf, _ = read_layer(LayerSource.from_mapping("stations", str(path), tmp_path), CRS)
    assert gdf["name"].iloc[0] == "温泉"
    x, y = gdf.geometry.iloc[0].x, gdf.geometry.iloc[0].y
    assert 500_000 < x < 600_000 and 3_400_000 < y < 3_500_000


def test_csv_gcj02_converted_to_wgs84(tmp_path):
    lon, lat = 108.39, 31.17
    glon, glat = wgs84_to_gcj02(lon, lat)
    path = tmp_path / "hydrants.csv"
    pd.DataFrame({"编号": ["H1"], "经度": [float(glon)], "纬度": [float(glat)]}).to_csv(path, index=False)
    src = LayerSource.from_mapping("hydrants", {"path": "hydrants.csv", "datum": "gcj02"}, tmp_path)
    gdf, _ = read_layer(src, "EPSG:4326")
    assert gdf.geometry.iloc[0].x == pytest.approx(lon, abs=1e-7)
    assert gdf.geometry.iloc[0].y == pytest.approx(lat, abs=1e-7)
    # without the datum the point would be ~500 m off
    plain, _ = read_layer(LayerSource.from_mapping("hydrants", {"path": "hydrants.csv", "crs": "EPSG:4326"},
                                                   tmp_path), CRS)
    fixed, _ = read_layer(src, CRS)
    assert 480 < plain.distance(fixed).iloc[0] < 510


def test_csv_bad_coordinates_name_the_line(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("x,y\n537000,3448000\nabc,3448000\n", encoding="utf-8")
    with pytest.raises(LayerError, match="line\\(s\\) 3"):
        read_layer(LayerSource.from_mapping("hydrants", {"path": "h.csv", "crs": CRS}, tmp_path), CRS)


def test_missing_crs_gauss_kruger_recognised_with_warning(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("x,y\n36537000,3448000\n", encoding="utf-8")
    gdf, warns = read_layer(LayerSource.from_mapping("hydrants", "h.csv", tmp_path), CRS)
    assert "EPSG:4524" in warns[0]
    assert gdf.geometry.iloc[0].x == pytest.approx(537000, abs=0.01)


def test_missing_crs_lonlat_is_an_error(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("lon,lat\n108.3,31.1\n", encoding="utf-8")
    with pytest.raises(LayerError, match="has no CRS.*crs: EPSG:4490"):
        read_layer(LayerSource.from_mapping("hydrants", "h.csv", tmp_path), CRS)


def test_unknown_field_mapping_suggests(tmp_path):
    path = tmp_path / "r.gpkg"
    _roads_gdf().to_file(path)
    with pytest.raises(LayerError, match="did you mean 'width_m'"):
        LayerSource.from_mapping("roads", {"path": "r.gpkg", "fields": {"widht_m": "路面宽度"}}, tmp_path)
    src = LayerSource.from_mapping("roads", {"path": "r.gpkg", "fields": {"width_m": "路面宽"}}, tmp_path)
    with pytest.raises(LayerError, match="did you mean '路面宽度'"):
        read_layer(src, CRS)


def test_dem_tile_reprojected(tmp_path):
    """A 1-arc-second DEM tile in lon/lat with -32768 nodata (as SRTM tiles come) is read in EPSG:4545."""
    import rasterio
    from rasterio.transform import from_origin

    from kzgis.terrain import DEM

    step = 1 / 3600
    z = (300 + np.arange(24)[:, None] * 2.0 + np.arange(37)[None, :]).astype("int16")
    z[0, :5] = -32768
    path = tmp_path / "tile.tif"
    with rasterio.open(path, "w", driver="GTiff", width=37, height=24, count=1, dtype="int16", crs="EPSG:4326",
                       transform=from_origin(108.40, 31.17, step, step), nodata=-32768) as dst:
        dst.write(z, 1)
    dem = DEM.read(path, "EPSG:4545")
    assert dem.crs.to_epsg() == 4545
    assert 20 < dem.cell_m < 40  # 1 arc-second ~ 30 m
    assert np.isfinite(dem.z).any()
    assert not (dem.z < -1000).any()  # nodata never becomes an elevation
    b = dem.bounds
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    assert 300 < dem.sample([cx], [cy])[0] < 400


# ----------------------------------------------------------------------------------- validation

def _find(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, f"no {code} in {[p.code for p in problems]}"
    return found[0]


def test_invalid_polygon_repaired_and_counted():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    gdf = gpd.GeoDataFrame({"town": ["甲"]}, geometry=[bowtie], crs=CRS, index=pd.Index([7], name="fid"))
    fixed, problems = validate_layer("boundary", gdf)
    p = _find(problems, "invalid-geometry")
    assert p.fids == [7] and "repaired" in p.message
    assert fixed.geometry.is_valid.all()


def test_wrong_geometry_type_missing_field_negative_width_nan_duplicate():
    gdf = gpd.GeoDataFrame(
        {"width_m": [4.0, -1.0, np.nan, "wide"]},
        geometry=[LineString([(0, 0), (1, 0)]), LineString([(1, 0), (2, 0)]), Point(0, 0),
                  LineString([(2, 0), (3, 0)])],
        crs=CRS, index=pd.Index([1, 2, 3, 3], name="fid"))
    fixed, problems = validate_layer("roads", gdf)
    assert _find(problems, "duplicate-id").fids == [3]
    gt = _find(problems, "geometry-type")
    assert gt.fids == [3] and "Point" in gt.message and gt.severity == "warning"
    rng = _find(problems, "out-of-range")
    assert rng.fids == [2] and rng.field == "width_m" and rng.severity == "error"
    nn = _find(problems, "not-a-number")
    assert nn.fids == [3] and nn.field == "width_m"
    assert len(fixed) == 3


def test_missing_required_field_lists_columns():
    gdf = gpd.GeoDataFrame({"容量x": [100.0]}, geometry=[Point(0, 0)], crs=CRS)
    _, problems = validate_layer("fire_pools", gdf)
    p = _find(problems, "missing-field")
    assert p.field == "volume_m3" and "容量x" in p.hint and p.severity == "error"
    assert "fields: {volume_m3" in str(p)


def test_layer_outside_extent_swapped_xy(tmp_path):
    county = _county(tmp_path)
    path = tmp_path / "h.gpkg"
    # x and y swapped: a classic mistake
    gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(Y0, X0), Point(Y0 + 10, X0)], crs=CRS).to_file(path)
    layers = load_layers({"county": LayerSource.from_mapping("county", str(county), tmp_path),
                          "hydrants": LayerSource.from_mapping("hydrants", str(path), tmp_path)}, CRS, strict=False)
    p = _find(layers.problems, "outside-extent")
    assert p.layer == "hydrants" and "swapped" in p.hint
    with pytest.raises(LayerError, match="outside-extent"):
        load_layers({"county": LayerSource.from_mapping("county", str(county), tmp_path),
                     "hydrants": LayerSource.from_mapping("hydrants", str(path), tmp_path)}, CRS)
    assert "hydrants" in problems_table(layers.problems)


def test_landuse_derives_forest_water_settlements(tmp_path):
    sq = lambda x: Polygon([(X0 + x, Y0), (X0 + x + 50, Y0), (X0 + x + 50, Y0 + 50), (X0 + x, Y0 + 50)])
    path = tmp_path / "sandiao.gpkg"
    gpd.GeoDataFrame({"地类编码": ["0301", "1103", "0702", "0101"]}, geometry=[sq(0), sq(100), sq(200), sq(300)],
                     crs=CRS).to_file(path)
    layers = load_layers({"landuse": LayerSource.from_mapping("landuse", str(path), tmp_path)}, CRS)
    assert len(layers["forest"]) == 1 and len(layers["water_bodies"]) == 1 and len(layers["settlements"]) == 1


def test_swapped_lonlat_named_before_reprojection(tmp_path):
    """Latitude 108 in a GCJ-02 phone list: the columns are swapped; say so instead of crashing."""
    (tmp_path / "h.csv").write_text("编号,经度,纬度\nH1,31.17,108.39\nH2,108.39,31.17\n", encoding="utf-8")
    src = LayerSource.from_mapping("hydrants", {"path": "h.csv", "datum": "gcj02"}, tmp_path)
    with pytest.raises(LayerError, match=r"1 feature\(s\) of h.csv .*out of range \(features 1\).*swapped"):
        read_layer(src, CRS)


def test_unmappable_coordinates_reported_and_dropped():
    gdf = gpd.GeoDataFrame({"status": ["ok", "ok"]}, geometry=[Point(np.inf, np.inf), Point(X0, Y0)], crs=CRS,
                           index=pd.Index([4, 5], name="fid"))
    fixed, problems = validate_layer("hydrants", gdf)
    p = _find(problems, "bad-coordinates")
    assert p.fids == [4] and p.severity == "error"
    assert list(fixed.index) == [5]
