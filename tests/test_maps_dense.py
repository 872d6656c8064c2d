"""Dense layers on the county map (kzgis.maps._dense, issue 14): generalised, compressed, drawn in Chromium.

The threshold is lowered to 10 features so a small district is "dense"; the browser part uses the
same Chromium set-up as tests/test_maps_browser.py (every request that is not file:/data:/blob:
is blocked).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re

import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from kzgis.layers import Layers
from kzgis.maps import MapOptions, _dense, write_maps

CRS = "EPSG:4545"
E0, N0 = 540000.0, 3450000.0


def _gdf(cols, geoms):
    import geopandas as gpd

    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def dense_fixture():
    """A 6 x 6 km district: a road grid (2 county roads, the rest village roads) and 60 settlements."""
    L = Layers(CRS)
    L["county"] = _gdf({"name": ["开州区"], "source": ["示意数据"]}, [box(E0 - 3000, N0 - 3000, E0 + 3000, N0 + 3000)])
    L["boundary"] = _gdf({"town": ["温泉镇", "岳溪镇"], "source": ["示意数据"] * 2},
                         [box(E0 - 3000, N0 - 3000, E0, N0 + 3000), box(E0, N0 - 3000, E0 + 3000, N0 + 3000)])
    lines, cls, vc = [], [], []
    for i in range(11):
        x = E0 - 2500 + 500 * i
        lines.append(LineString([(x, N0 - 2500), (x, N0 + 2500)]))
        lines.append(LineString([(E0 - 2500, N0 - 2500 + 500 * i), (E0 + 2500, N0 - 2500 + 500 * i)]))
        cls += ["县道" if i == 5 else "村道"] * 2
        vc += ["standard" if i == 5 else ("small" if i % 2 else "motorcycle")] * 2
    roads = _gdf({"name": [f"路{i}" for i in range(len(lines))], "road_class": cls, "width_m": 4.0}, lines)
    L["roads"] = roads
    rng = np.random.default_rng(3)
    pts = [Point(E0 + x, N0 + y) for x, y in rng.uniform(-2800, 2800, (60, 2))]
    names = [f"村{i}" for i in range(60)]
    L["settlements"] = _gdf({"name": names, "town": ["温泉镇" if p.x < E0 else "岳溪镇" for p in pts]}, pts)
    best = ["standard", "small", "motorcycle", "none"]
    results = {
        "access_roads": _gdf({"name": roads["name"], "road_class": cls, "vehicle_class": vc,
                              "length_m": [ln.length for ln in lines]}, lines),
        "access_settlements": _gdf({"name": names, "best_vehicle": [best[i % 4] for i in range(60)]}, pts),
    }
    return L, results


@pytest.fixture
def dense(monkeypatch):
    monkeypatch.setattr(_dense, "DENSE_FEATURES", 10)


def _packed(html):
    """{layer key: decoded GeoJSON} of every kz.packed layer of a page."""
    out = {}
    for b64, spec in re.findall(r'kz\.packed\("([A-Za-z0-9+/=]+)", (\{.*?\})\);?\n', html):
        key = json.loads(spec)["key"]
        out[key] = json.loads(gzip.decompress(base64.b64decode(b64)).decode("utf-8"))
    return out


def test_county_map_generalises_dense_layers_township_maps_keep_them(tmp_path, dense):
    layers, results = dense_fixture()
    paths = write_maps(layers, results, tmp_path, MapOptions(hillshade=False))
    county = (tmp_path / "county.html").read_text(encoding="utf-8")
    packed = _packed(county)
    assert set(packed) == {"access_roads", "access_settlements"}
    # roads: one multi-line per vehicle class, village roads apart (shown from MINOR_ZOOM on)
    feats = packed["access_roads"]["features"]
    assert all(f["geometry"]["type"] == "MultiLineString" for f in feats)
    main = [f for f in feats if "_z" not in f["properties"]]
    minor = [f for f in feats if f["properties"].get("_z") == _dense.MINOR_ZOOM]
    assert len(main) == 1 and len(main[0]["geometry"]["coordinates"]) == 2  # the two 县道
    assert sum(len(f["geometry"]["coordinates"]) for f in minor) == 20
    assert "2 段" in main[0]["properties"]["_t"] and "10.0 公里" in main[0]["properties"]["_t"]
    # settlements: every point with its popup, clustered in the page
    pts = packed["access_settlements"]["features"]
    assert len(pts) == 60 and all("_p" in f["properties"] for f in pts)
    # the input layers the results redraw are left off the county map, kept on township maps
    assert '"key":"roads"' not in county and '"key":"settlements"' not in county
    town = next(p for p in paths if p.name.startswith("town_")).read_text(encoding="utf-8")
    assert "kz.packed(" not in town and '"key":"roads"' in town and '"key":"access_roads"' in town


def _bands():
    """30 squares 100 m wide, 1 km apart on a 6 x 5 grid, alternately 工程阻隔 and 生物阻隔."""
    squares = [box(E0 - 2900 + 1000 * i, N0 - 2400 + 1000 * j, E0 - 2800 + 1000 * i, N0 - 2300 + 1000 * j)
               for i in range(6) for j in range(5)]
    kinds = ["工程阻隔" if k % 2 else "生物阻隔" for k in range(30)]
    return _gdf({"barrier_type": kinds, "band_id": range(30)}, squares)


@pytest.mark.parametrize("cell_deg, n_features", [(1.0, 2), (1e-6, 30)])
def test_dense_polygons_joined_per_class_and_cell(tmp_path, dense, monkeypatch, cell_deg, n_features):
    """Dense polygons: every polygon drawn once, joined per legend class and grid cell (1 degree: the
    whole district is one cell, so one feature per class; a tiny cell: one feature per polygon)."""
    monkeypatch.setattr(_dense, "CELL_DEG", cell_deg)
    monkeypatch.setattr(_dense.polygons_by_class, "__defaults__", (cell_deg,))
    layers, results = dense_fixture()
    results["barrier_bands"] = _bands()
    write_maps(layers, results, tmp_path, MapOptions(hillshade=False, townships=False))
    bands = _packed((tmp_path / "county.html").read_text(encoding="utf-8"))["barrier_bands"]["features"]
    assert len(bands) == n_features
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in bands)
    by_class: dict = {}
    for f in bands:
        by_class[f["properties"]["_s"]] = by_class.get(f["properties"]["_s"], 0) + len(f["geometry"]["coordinates"])
    assert sorted(by_class.values()) == [15, 15]  # 30 squares, each once, 15 per class


def test_small_layers_stay_plain_geojson(tmp_path):
    layers, results = dense_fixture()  # 22 roads, 60 settlements: far below the real threshold
    write_maps(layers, results, tmp_path, MapOptions(hillshade=False, townships=False))
    assert "kz.packed(" not in (tmp_path / "county.html").read_text(encoding="utf-8")


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs /usr/bin/chromium")
def test_dense_county_map_in_chromium(tmp_path, dense):
    sync_api = pytest.importorskip("playwright.sync_api")
    layers, results = dense_fixture()
    write_maps(layers, results, tmp_path, MapOptions(hillshade=False, townships=False))
    errors, blocked = [], []
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = b.new_page(viewport={"width": 1200, "height": 800})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            def route(r):
                if r.request.url.startswith(("file:", "data:", "blob:")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto((tmp_path / "county.html").as_uri())
            page.wait_for_function("window.kz && window.kz.ready === true", timeout=30_000)
            js = page.evaluate
            # zoom 11 (the small district fits at 13.75); re-applied until it holds, because on a busy
            # machine the opening fit's zoom animation may still end after a first setZoom
            page.wait_for_function("""() => { if (kz.map.getZoom() !== 11) kz.map.setZoom(11, {animate: false});
                const g = kz.overlays.find(o => o._kzSpec && o._kzSpec.key === 'access_settlements');
                return kz.map.getZoom() === 11 && !kz.map._animatingZoom && g._kzShown && g._kzShown !== g._kzDetail;
                }""", timeout=30_000, polling=250)
            # settlements aggregated: fewer circles than points, each cluster's tooltip counts its points
            n_shown = js("""() => { const g = kz.overlays.find(o => o._kzSpec && o._kzSpec.key === 'access_settlements');
                let n = 0, total = 0; g._kzShown.eachLayer(l => { n++;
                    const t = l.getTooltip && l.getTooltip() ? l.getTooltip().getContent() : '';
                    const m = /(\\d+) 个/.exec(t); total += m ? +m[1] : 1; });
                return [n, total]; }""")
            assert n_shown[0] < 60 and n_shown[1] == 60
            # village roads hidden at county zoom, shown from MINOR_ZOOM on; the legend still lists the layer
            minor_on = "() => { const g = kz.overlays.find(o => o._kzSpec && o._kzSpec.key === 'access_roads'); " \
                       "return g.hasLayer(g._kzMinor); }"
            assert js(minor_on) is False
            assert page.locator('#kz-legend [data-kz-layer="access_roads"]').is_visible()
            js(f"() => kz.map.setZoom({_dense.DETAIL_ZOOM}, {{animate: false}})")
            page.wait_for_function(minor_on, timeout=20_000)
            # from DETAIL_ZOOM every settlement is its own marker with its popup
            n = js("""() => { const g = kz.overlays.find(o => o._kzSpec && o._kzSpec.key === 'access_settlements');
                return g._kzShown === g._kzDetail ? g._kzDetail.getLayers().length : -1; }""")
            assert n == 60
            js("""() => { const g = kz.overlays.find(o => o._kzSpec && o._kzSpec.key === 'access_settlements');
                const l = g._kzDetail.getLayers()[0]; kz.map.setView(l.getLatLng(), 14, {animate: false});
                l.openPopup(); }""")
            page.locator(".leaflet-popup-content").wait_for(timeout=20_000)
            assert "村" in page.locator(".leaflet-popup-content").inner_text()
        finally:
            b.close()
    assert errors == [] and blocked == []
