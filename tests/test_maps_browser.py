"""The HTML maps in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Every request that is not file:// or data: is aborted and recorded, so an offline map that tries to
fetch anything fails here. Screenshots land in tests/_artifacts/ (gitignored).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from pyproj import Geod
from test_maps import COUNTY_OVERLAYS, XSS, XSS_SCRIPT, make_fixture

from kzgis.gcj02 import wgs84_to_gcj02
from kzgis.maps import MapOptions, write_maps

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "_artifacts"
GEOD = Geod(ellps="WGS84")

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def offline_maps(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps_offline")
    layers, results = make_fixture()
    paths = write_maps(layers, results, out, MapOptions(), title="开州区")
    return {p.name: p for p in paths}


@pytest.fixture(scope="module")
def online_maps(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps_online")
    layers, results = make_fixture()
    paths = write_maps(layers, results, out, MapOptions(offline=False, tianditu_key="TESTKEY", townships=False))
    return {p.name: p for p in paths}, layers


class Page:
    """A page with every non-file request blocked and console errors, dialogs and blocked URLs kept."""

    def __init__(self, browser, path: Path, width=1400, height=900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

        def on_dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)

        def route(r):
            url = r.request.url
            if url.startswith(("file:", "data:")):
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(path.as_uri())

    def ready(self):
        self.page.wait_for_function("window.kz && window.kz.ready === true", timeout=30_000)
        self.page.wait_for_timeout(300)
        return self

    def js(self, expr, arg=None):
        return self.page.evaluate(expr, arg)

    def shot(self, name):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name))

    def close(self):
        self.page.close()


def _common_checks(pg: Page):
    assert pg.errors == [], pg.errors
    assert pg.blocked == [], pg.blocked
    assert pg.dialogs == []
    assert pg.js("typeof L === 'object' && kz.map instanceof L.Map")
    assert pg.page.locator("#kz-legend").is_visible()
    assert pg.page.locator("#kz-review").inner_text() == "审图号：（待审）"
    box = pg.page.locator("#kz-review").bounding_box()
    assert box["x"] < 60 and box["y"] > 800  # bottom-left
    assert pg.page.locator("#kz-synthetic").first.is_visible()
    assert pg.page.locator(".leaflet-control-scale").is_visible()
    assert pg.page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert pg.page.locator(".leaflet-control-measure").count() == 1


def test_county_map_offline(browser, offline_maps):
    pg = Page(browser, offline_maps["county.html"]).ready()
    try:
        _common_checks(pg)
        n = pg.js("document.querySelectorAll('.leaflet-control-layers-overlays label').length")
        assert n == COUNTY_OVERLAYS
        assert pg.js("kz.control._layers.filter(x => !x.overlay).length") == 0  # no tile basemap offline
        # group headings in the layer control
        heads = pg.js("[...document.querySelectorAll('.kz-lc-group')].map(e => e.textContent)")
        assert heads[:2] == ["消防车通道", "消防救援到场"] and heads[-1] == "基础数据"
        # the hillshade image is drawn from a data: URI
        assert pg.js("[...document.querySelectorAll('img.kz-hillshade')].every(i => i.src.startsWith('data:') "
                     "&& i.complete && i.naturalWidth > 0)")
        pg.shot("county_offline.png")
    finally:
        pg.close()


def test_township_map_offline(browser, offline_maps):
    pg = Page(browser, offline_maps["town_温泉镇.html"]).ready()
    try:
        _common_checks(pg)
        assert "温泉镇" in pg.page.locator("#kz-title").inner_text()
        labels = pg.js("[...document.querySelectorAll('.kz-label span')].map(e => e.textContent)")
        assert "温泉镇" in labels and XSS in labels  # settlement names as text, the probe included
        assert pg.js("document.querySelectorAll('.kz-label img, .kz-label script').length") == 0
        pg.shot("town_wenquan_offline.png")
    finally:
        pg.close()


def test_escaped_name_renders_as_text_in_tooltip_and_popup(browser, offline_maps):
    pg = Page(browser, offline_maps["county.html"]).ready()
    try:
        # open the popup and tooltip of the settlement named like an XSS probe
        found = pg.js("""() => {
            let hit = null;
            kz.overlays.forEach(o => { if (o._kzSpec && o._kzSpec.key === 'response_settlements')
                o.eachLayer(l => { if (l.feature.properties._t.indexOf('onerror') >= 0) hit = l; }); });
            if (!hit) return null;
            hit.openTooltip(); hit.openPopup();
            return true; }""")
        assert found
        pg.page.wait_for_timeout(300)
        pop = pg.page.locator(".leaflet-popup-content")
        assert XSS in pop.inner_text()
        assert pg.js("document.querySelectorAll('.leaflet-popup-content img').length") == 0
        assert XSS in pg.page.locator(".leaflet-tooltip").first.inner_text()
        # the station label that tries to close the script element is text too
        sym = pg.js("[...document.querySelectorAll('.kz-sym-label')].map(e => e.textContent)")
        assert XSS_SCRIPT in sym
        pg.page.wait_for_timeout(200)
        assert pg.dialogs == [] and pg.errors == []
        pg.shot("county_popup_escaped.png")
    finally:
        pg.close()


def test_toggling_an_overlay_hides_its_legend_section(browser, offline_maps):
    pg = Page(browser, offline_maps["county.html"]).ready()
    try:
        sec = pg.page.locator('#kz-legend [data-kz-layer="response_isochrones"]')
        assert sec.is_visible()
        pg.page.locator(".leaflet-control-layers-overlays label", has_text="消防队站响应时间圈").click()
        assert not sec.is_visible()
        hidden = pg.page.locator('#kz-legend [data-kz-layer="response_zones"]')
        assert not hidden.is_visible()  # off when the map opens (overlaps the time rings)
        pg.page.locator(".leaflet-control-layers-overlays label", has_text="消防队站责任区").click()
        assert hidden.is_visible()
        # the order of drawing follows the rules, not the order of clicking
        order = pg.js("kz.overlays.filter(o => kz.map.hasLayer(o) && o._kzSpec).map(o => o._kzSpec.key)")
        assert "response_zones" in order
        assert pg.errors == []
    finally:
        pg.close()


def test_mouse_position_and_measure_in_chinese(browser, offline_maps):
    pg = Page(browser, offline_maps["county.html"]).ready()
    try:
        pg.page.mouse.move(700, 450)
        pg.page.mouse.move(705, 455)
        txt = pg.page.locator("#kz-mouse").inner_text()
        assert txt.startswith("经度 108.") and "纬度 31." in txt and "CGCS2000" in txt
        assert "X 344" in txt and "Y 53" in txt and "中央经线108°E" in txt  # Gauss-Kruger, EPSG:4545
        # the page's Gauss-Kruger formula agrees with PROJ to the millimetre
        from pyproj import Transformer

        tr = Transformer.from_crs("EPSG:4490", "EPSG:4545", always_xy=True)
        for lon, lat in ((108.41, 31.16), (107.55, 31.9), (108.95, 30.5)):
            e, n = pg.js("([lat, lng]) => kz.gk(lat, lng, kz.cfg.gk)", [lat, lon])
            pe, pn = tr.transform(lon, lat)
            assert abs(e - pe) < 0.005 and abs(n - pn) < 0.005
        toggle = pg.page.locator(".leaflet-control-measure-toggle")
        assert toggle.get_attribute("title") == "同时测量距离和面积"  # leaflet-measure's Chinese locale
        assert "开始一次新的测量" in pg.js("document.querySelector('.leaflet-control-measure').textContent")
        assert pg.errors == []
    finally:
        pg.close()


def test_index_page(browser, offline_maps):
    pg = Page(browser, offline_maps["index.html"])
    try:
        pg.page.wait_for_load_state("load")
        links = pg.js("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
        assert links == ["county.html", "town_温泉镇.html", "town_岳溪镇.html"]
        assert pg.errors == [] and pg.blocked == []
        pg.shot("index.png")
    finally:
        pg.close()


def test_amap_basemap_shifts_overlays_to_gcj02_and_back(browser, online_maps):
    maps, layers = online_maps
    pg = Page(browser, maps["county.html"]).ready()
    try:
        bases = pg.js("kz.control._layers.filter(x => !x.overlay).map(x => x.name)")
        assert bases == ["天地图 矢量", "天地图 影像", "高德地图（GCJ-02）", "高德影像（GCJ-02）", "OpenStreetMap"]
        assert pg.blocked and all(("tianditu.gov.cn" in u and "tk=TESTKEY" in u) for u in pg.blocked)

        def station():
            return pg.js("""() => { let p = null;
                kz.overlays.forEach(o => { if (o._kzSpec && o._kzSpec.key === 'stations')
                    o.eachLayer(l => { if (!p) p = l.getLatLng(); }); });
                return [p.lng, p.lat]; }""")

        lon0, lat0 = station()
        pg.page.locator(".leaflet-control-layers-base label", has_text="高德地图").click()
        pg.page.wait_for_timeout(200)
        assert pg.js("kz.gcjOn") is True
        assert pg.page.locator("#kz-gcj-badge").is_visible()
        lon1, lat1 = station()
        _, _, moved = GEOD.inv(lon0, lat0, lon1, lat1)
        assert 400 < moved < 700
        elon, elat = wgs84_to_gcj02(lon0, lat0)
        assert GEOD.inv(lon1, lat1, float(elon), float(elat))[2] < 1.0  # metres from kzgis.gcj02
        # the hillshade image moves too; the mouse still reads CGCS2000
        pg.page.mouse.move(700, 450)
        pg.page.mouse.move(702, 452)
        assert "CGCS2000" in pg.page.locator("#kz-mouse").inner_text()
        pg.shot("county_online_amap.png")
        pg.page.locator(".leaflet-control-layers-base label", has_text="OpenStreetMap").click()
        pg.page.wait_for_timeout(200)
        assert pg.js("kz.gcjOn") is False
        lon2, lat2 = station()
        assert math.isclose(lon2, lon0, abs_tol=1e-9) and math.isclose(lat2, lat0, abs_tol=1e-9)
        tile_errors = [e for e in pg.errors if "ERR_FAILED" not in e and "Failed to load resource" not in e]
        assert tile_errors == []
        assert all(("tianditu" in u or "autonavi" in u or "openstreetmap" in u) for u in pg.blocked)
    finally:
        pg.close()


def test_layer_declared_only_in_the_schema_is_drawn_with_title_legend_and_popup(browser, tmp_path):
    """A toy analysis's layer, declared in the schema and never styled by hand (issue 16 §3)."""
    from test_maps_schema import TOY_POINTS, declared, toy_results

    layers, results = make_fixture()
    with declared(TOY_POINTS):
        paths = write_maps(layers, {**results, "toy_hydrant_checks": toy_results()["toy_hydrant_checks"]}, tmp_path,
                           MapOptions(townships=False))
    pg = Page(browser, [p for p in paths if p.name == "county.html"][0]).ready()
    try:
        _common_checks(pg)
        heads = pg.js("[...document.querySelectorAll('.kz-lc-group')].map(e => e.textContent)")
        assert "消火栓巡检" in heads and heads.index("消火栓巡检") < heads.index("基础数据")
        assert pg.page.locator(".leaflet-control-layers-overlays label", has_text="消火栓巡检结果").count() == 1
        sec = pg.page.locator('#kz-legend [data-kz-layer="toy_hydrant_checks"]')
        assert sec.is_visible()
        text = sec.inner_text()
        assert "消火栓巡检结果" in text and "已巡检：是" in text and "已巡检：否" in text
        found = pg.js("""() => {
            let hit = null;
            kz.overlays.forEach(o => { if (o._kzSpec && o._kzSpec.key === 'toy_hydrant_checks')
                o.eachLayer(l => { if (l.feature.properties._t.indexOf('一号栓') >= 0) hit = l; }); });
            if (!hit) return null;
            hit.openTooltip(); hit.openPopup();
            return true; }""")
        assert found
        pg.page.wait_for_timeout(300)
        pop = pg.page.locator(".leaflet-popup-content").inner_text()
        for text in ("名称", "一号栓", "已巡检", "水压（MPa）", "0.35", "等待时间（分钟）", "7.5分钟内到场", "巡检班组"):
            assert text in pop, text
        assert "pressure_mpa" not in pop and "within_7_5" not in pop
        assert "一号栓 · 已巡检：是" in pg.page.locator(".leaflet-tooltip").first.inner_text()
        assert pg.errors == []
        pg.shot("county_toy_schema_layer.png")
    finally:
        pg.close()
