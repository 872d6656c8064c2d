"""The 消防专篇 report: sections, tables equal to the result layers, figures, HTML escaping, roll-up."""

import math

import geopandas as gpd
import pandas as pd
import pytest
from docx import Document as open_docx
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph
from shapely.geometry import LineString, Point, box

from kzgis import RecipeError, analysis, schema
from kzgis import recipe as _recipe
from kzgis.analysis import Context
from kzgis.layers import Layers
from kzgis.report import _figures, write_report
from kzgis.report._model import num, source_zh

CRS = "EPSG:4545"
X0, Y0 = 537000.0, 3448000.0
EVIL = "<img src=x onerror=alert(1)>"
INF = math.inf
analysis.load_all()  # the analyses declare their result layers (kzgis.schema)


def make_case(tmp_path, synthetic=True):
    """Two 4 x 4 km townships side by side: 甲镇 west of X0, 乙镇 east of it."""
    lay = Layers(CRS)
    src = ["示意数据"] * 2 if synthetic else ["实测"] * 2
    lay["boundary"] = gpd.GeoDataFrame(
        {"town": ["甲镇", "乙镇"], "source": src},
        geometry=[box(X0 - 4000, Y0 - 2000, X0, Y0 + 2000), box(X0, Y0 - 2000, X0 + 4000, Y0 + 2000)], crs=CRS)
    lay["settlements"] = gpd.GeoDataFrame(
        {"name": ["甲村", EVIL, "丙村", "丁村", "戊村"], "town": ["甲镇", "甲镇", "甲镇", "乙镇", "乙镇"],
         "population": [100, 200, 300, 400, 500]},
        geometry=[Point(X0 - 3000, Y0), Point(X0 - 2000, Y0 + 1000), Point(X0 - 1000, Y0 - 1000),
                  Point(X0 + 1000, Y0), Point(X0 + 3000, Y0 + 1000)], crs=CRS)
    roads = [LineString([(X0 - 3500, Y0), (X0 + 3500, Y0)]),  # 3.5 km in each township
             LineString([(X0 - 2000, Y0), (X0 - 2000, Y0 + 1500)]),  # 1.5 km in 甲镇
             LineString([(X0 + 3000, Y0), (X0 + 3000, Y0 + 1500)])]  # 1.5 km in 乙镇
    lay["roads"] = gpd.GeoDataFrame({"width_m": [6.0, 3.5, 2.0]}, geometry=roads, crs=CRS)
    lay["stations"] = gpd.GeoDataFrame(
        {"name": ["甲镇专职消防队"], "kind": ["full_time"], "status": ["existing"], "town": ["甲镇"]},
        geometry=[Point(X0 - 3200, Y0 + 100)], crs=CRS)
    lay["hydrants"] = gpd.GeoDataFrame(
        {"status": ["ok", "ok", "broken"]},
        geometry=[Point(X0 - 3000, Y0 + 50), Point(X0 - 2900, Y0 + 50), Point(X0 + 1000, Y0 + 50)], crs=CRS)
    lay["fire_pools"] = gpd.GeoDataFrame({"volume_m3": [80.0, 200.0]},
                                         geometry=[Point(X0 - 1000, Y0 - 900), Point(X0 + 2500, Y0)], crs=CRS)
    lay["forest"] = gpd.GeoDataFrame({"source": ["synthetic" if synthetic else "三调"]},
                                     geometry=[box(X0 - 1500, Y0 + 500, X0 + 2500, Y0 + 2000)], crs=CRS)
    ctx = Context(layers=lay)
    st = lay["settlements"]
    res = {
        "access_roads": gpd.GeoDataFrame({"vehicle_class": ["standard", "small", "motorcycle"],
                                          "width_m": [6.0, 3.5, 2.0]}, geometry=roads, crs=CRS),
        "access_settlements": gpd.GeoDataFrame(
            {"name": st["name"], "town": st["town"], "population": st["population"],
             "best_vehicle": ["standard", "small", "standard", "standard", "motorcycle"],
             "time_min_standard": [2.0, INF, 6.0, 11.0, INF], "time_min_small": [2.0, 5.0, 6.0, 11.0, INF],
             "time_min_motorcycle": [2.0, 5.0, 6.0, 11.0, 20.0], "bottleneck_width_m": [None, 3.5, None, None, 2.0]},
            geometry=st.geometry, crs=CRS),
        "access_upgrades": gpd.GeoDataFrame(
            {"rank": [1, 2], "length_m": [1500.0, 1500.0], "settlements_unlocked": [1, 1],
             "population_unlocked": [200, 500]}, geometry=[roads[1], roads[2]], crs=CRS),
        "response_settlements": gpd.GeoDataFrame(
            {"name": st["name"], "town": st["town"], "population": st["population"], "station": ["甲镇专职消防队"] * 5,
             "time_min": [3.0, 8.0, 12.0, 18.0, INF], "station_2": [None] * 5, "time_min_2": [None] * 5},
            geometry=st.geometry, crs=CRS),
        "water_settlements": gpd.GeoDataFrame(
            {"name": st["name"], "town": st["town"], "population": st["population"], "covered": [True, False, True, False, False],
             "nearest_source": ["H1", "H1", "P1", "H3", "P2"], "distance_m": [50.0, 900.0, 100.0, 300.0, 700.0]},
            geometry=st.geometry, crs=CRS),
        "barrier_bands": gpd.GeoDataFrame(
            {"town": ["甲镇", "乙镇", "乙镇"], "facing": [EVIL, "丁村", "戊村"], "width_m": [100.0] * 3,
             "area_m2": [50000.0, 70000.0, 30000.0], "slope_mean_deg": [12.0, 30.0, 5.0],
             "barrier_type": ["engineered", "biological", "natural"]},
            geometry=[box(X0 - 2200, Y0 + 500, X0 - 1800, Y0 + 625), box(X0 + 800, Y0 + 500, X0 + 1500, Y0 + 600),
                      box(X0 + 2800, Y0 + 500, X0 + 3100, Y0 + 600)], crs=CRS),
        # no town column: assigned to townships by location
        "checkpoints": gpd.GeoDataFrame(
            {"kind": ["road_entry", "village_exit", "road_entry"], "road_class": ["县道", "村道", "村道"],
             "settlements_behind": [1, 2, 1], "population_behind": [200, 900, 500],
             "lon": [108.39, 108.42, 108.43], "lat": [31.16, 31.17, 31.18]},
            geometry=[Point(X0 - 2000, Y0 + 500), Point(X0 + 3000, Y0 + 500), Point(X0 + 1000, Y0 + 500)], crs=CRS),
    }
    rec = _recipe.parse({"name": "test", "title": "测试", "analyses": {}}, tmp_path)
    return ctx, {k: declared(k, v) for k, v in res.items()}, rec


def declared(name, frame):
    """A hand-made result with every column its layer declares (kzgis.schema): the ones not given are
    empty (NaN, 0, False, None by kind), as the report refuses a result that lacks a declared column."""
    lay = schema.LAYERS[name]
    frame = frame.copy()
    empty = {"float": math.nan, "int": 0, "bool": False, "str": None}
    for c in lay.columns:
        if not c.optional and not c.is_pattern and c.name not in frame.columns:
            frame[c.name] = pd.Series([empty[c.kind]] * len(frame), index=frame.index,
                                      dtype={"float": float, "int": "int64", "bool": bool, "str": object}[c.kind])
    return frame


# -- reading the docx back -----------------------------------------------------------------------


def blocks(doc):
    """Paragraphs and tables in document order."""
    for child in doc.element.body.iterchildren():
        if child.tag.endswith("}p"):
            yield DocxParagraph(child, doc)
        elif child.tag.endswith("}tbl"):
            yield DocxTable(child, doc)


def tables_by_caption(doc) -> dict:
    """``{"表4  甲镇居民点消防车可达情况": [[header...], [row...], ...]}``."""
    out, last = {}, None
    for b in blocks(doc):
        if isinstance(b, DocxParagraph):
            if b.text.strip():
                last = b.text.strip()
        else:
            out[last] = [[c.text for c in r.cells] for r in b.rows]
    return out


def find_table(doc, words: str):
    hits = [rows for cap, rows in tables_by_caption(doc).items() if cap and words in cap]
    assert len(hits) == 1, f"expected one table captioned '{words}', got {len(hits)}: {list(tables_by_caption(doc))}"
    return hits[0]


def row(rows, first: str):
    hits = [r for r in rows if r[0] == first]
    assert hits, f"no row '{first}' in {rows}"
    return hits[0]


def section_text(doc, heading: str) -> str:
    """Text of the paragraphs after a heading, up to the next heading."""
    out, inside = [], False
    for b in blocks(doc):
        if isinstance(b, DocxParagraph):
            if b.style.name.startswith("Heading"):
                if inside:
                    break
                inside = b.text.strip() == heading
                continue
            if inside:
                out.append(b.text)
    assert inside or out, f"heading '{heading}' not found"
    return "\n".join(out)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    ctx, res, rec = make_case(tmp)
    paths = write_report(ctx, res, tmp / "report", rec, options={"author": "开州区规划设计研究院"})
    return tmp / "report", paths, res


# -- tests -----------------------------------------------------------------------------------


def test_files_written_per_township_and_county(written):
    out, paths, _ = written
    names = sorted(p.name for p in paths)
    assert names == sorted(["甲镇_消防专篇.docx", "甲镇_消防专篇.html", "乙镇_消防专篇.docx", "乙镇_消防专篇.html",
                            "全区_消防专篇汇总.docx", "全区_消防专篇汇总.html"])
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)


def test_docx_has_the_chapter_structure(written):
    doc = open_docx(written[0] / "甲镇_消防专篇.docx")
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    for h in ["编制说明", "一、现状", "（一）消防队站", "（二）道路交通", "（三）消防水源", "（四）森林资源", "二、分析",
              "（一）消防车通行分析", "（二）接警到场时间分析", "（三）消防水源覆盖分析", "（四）林火阻隔分析",
              "（五）森林防火检查站分析", "（六）直升机取水点与停机坪分析", "三、规划措施", "（一）消防车通道",
              "（二）消防水源", "（三）林火阻隔带", "（四）森林防火检查站", "（五）直升机取水点和停机坪", "附录",
              "附录A  引用的规范条文", "附录B  假设与参数", "附录C  数据来源"]:
        assert h in heads, h
    assert heads.index("一、现状") < heads.index("二、分析") < heads.index("三、规划措施") < heads.index("附录")
    # tables numbered 表1..表n in order, figures 图1..图n
    caps = [c for c in tables_by_caption(doc) if c]
    assert [c.split()[0] for c in caps] == [f"表{i + 1}" for i in range(len(caps))]
    figs = [p.text.split()[0] for p in doc.paragraphs if p.text.startswith("图") and "  " in p.text]
    assert figs == [f"图{i + 1}" for i in range(len(figs))]


def test_access_table_equals_result_layer(written):
    out, _, res = written
    acc = res["access_settlements"]
    for town in ("甲镇", "乙镇"):
        doc = open_docx(out / f"{town}_消防专篇.docx")
        rows = find_table(doc, "居民点消防车可达情况")
        mine = acc[acc["town"] == town]
        std = mine[mine["best_vehicle"] == "standard"]
        assert row(rows, "标准消防车")[1] == str(len(std))
        assert row(rows, "合计")[1] == str(len(mine))
    doc = open_docx(out / "甲镇_消防专篇.docx")
    rows = find_table(doc, "居民点消防车可达情况")
    assert row(rows, "标准消防车")[1:3] == ["2", "400"]  # 甲村 100 + 丙村 300
    assert row(rows, "小型消防车")[1:3] == ["1", "200"]
    assert row(rows, "标准消防车")[3] == "66.7%"


def test_road_lengths_are_clipped_to_the_township(written):
    doc = open_docx(written[0] / "甲镇_消防专篇.docx")
    rows = find_table(doc, "道路按消防车型通行能力分类")
    assert row(rows, "标准消防车")[1] == "3.50"  # the 7 km road, half of it in 甲镇
    assert row(rows, "小型消防车")[1] == "1.50"
    assert row(rows, "消防摩托车")[1] == "0.00"
    assert row(rows, "合计")[1] == "5.00"


def test_response_water_bands_checkpoints_tables(written):
    out, _, res = written
    doc = open_docx(out / "乙镇_消防专篇.docx")
    rows = find_table(doc, "接警到场时间分布")
    assert row(rows, "15～20分钟")[1:3] == ["1", "400"]  # 丁村 18 min
    assert row(rows, "任何消防车辆均无法到达")[1:3] == ["1", "500"]  # 戊村 (by the best vehicle: a declared walk_m)
    assert row(rows, "≤5分钟")[1] == "0"
    rows = find_table(doc, "居民点消防水源覆盖情况")
    ws = res["water_settlements"]
    assert row(rows, "未覆盖")[1] == str(int((~ws[ws["town"] == "乙镇"]["covered"]).sum())) == "2"
    rows = find_table(doc, "林火阻隔带按类型统计")
    assert row(rows, "合计")[1:3] == ["2", "10.00"]  # 7 + 3 ha
    rows = find_table(doc, "规划林火阻隔带")  # the natural barrier is not to be built
    assert len(rows) == 2 and rows[1][:3] == ["丁村", "生物阻隔", "1"]
    # checkpoints have no town column: by location, two lie in 乙镇
    rows = find_table(doc, "森林防火检查站按类型统计")
    assert row(rows, "合计")[1:3] == ["2", "1400"]
    assert row(rows, "进入林区必经道口")[1] == "1"


def test_figures_embedded_in_docx_and_html(written):
    out = written[0]
    doc = open_docx(out / "甲镇_消防专篇.docx")
    caps = [p.text for p in doc.paragraphs if p.text.startswith("图") and "  " in p.text]
    # status, access, response, water, forest (no helicopter result)
    assert len(doc.inline_shapes) == len(caps) == 5
    assert any("消防车通行分析图" in c for c in caps)
    html = (out / "甲镇_消防专篇.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 5
    assert "http://" not in html and "https://" not in html  # one offline file


def test_html_escapes_every_value(written):
    html = (written[0] / "甲镇_消防专篇.html").read_text(encoding="utf-8")
    assert EVIL not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html
    docx_text = "\n".join(c.text for t in open_docx(written[0] / "甲镇_消防专篇.docx").tables
                          for r in t.rows for c in r.cells)
    assert EVIL in docx_text  # the name itself is kept, as text


def test_missing_analysis_says_not_carried_out(written):
    doc = open_docx(written[0] / "甲镇_消防专篇.docx")
    text = section_text(doc, "（六）直升机取水点与停机坪分析")
    assert "本次未开展该项分析（缺少水体、数字高程模型（DEM）图层）" in text
    text = section_text(doc, "（五）直升机取水点和停机坪")
    assert "本次未开展该项分析" in text


def test_missing_result_and_missing_column(tmp_path):
    ctx, res, rec = make_case(tmp_path)
    del res["water_settlements"]
    res["access_settlements"] = res["access_settlements"].drop(columns=["best_vehicle"])
    paths = write_report(ctx, res, tmp_path / "r", rec, towns=["甲镇"],
                         options={"figures": False, "county_summary": False})
    doc = open_docx([p for p in paths if p.suffix == ".docx"][0])
    # the analysis is named by its registered title; a result lacking a declared column is left out, saying which
    assert "本次未开展该项分析（本次任务未包含消防水源分析（配方 analyses: 中无 water）" in section_text(doc, "（三）消防水源覆盖分析")
    assert "缺少字段best_vehicle" in section_text(doc, "（一）消防车通行分析")
    assert len(doc.inline_shapes) == 0


def test_county_summary_rolls_up(written):
    out, _, res = written
    doc = open_docx(out / "全区_消防专篇汇总.docx")
    rows = find_table(doc, "居民点消防车可达情况")
    head = rows[0]
    std = head.index("标准消防车")
    towns = {r[0]: r for r in rows[1:] if r[0] != "合计"}
    assert set(towns) == {"甲镇", "乙镇"}
    total = row(rows, "合计")
    assert int(total[std]) == sum(int(r[std]) for r in towns.values())
    assert int(total[std]) == int((res["access_settlements"]["best_vehicle"] == "standard").sum()) == 3
    # each township row equals that township's own chapter
    for town, r in towns.items():
        own = find_table(open_docx(out / f"{town}_消防专篇.docx"), "居民点消防车可达情况")
        assert r[std] == row(own, "标准消防车")[1]
    rows = find_table(doc, "森林防火设施规划")
    assert row(rows, "合计")[1:4] == ["3", "15.00", "3"]
    assert len(doc.inline_shapes) == 2  # access and water shares by township


def test_appendix_lists_rules_and_assumptions(written):
    from kzgis import rules

    doc = open_docx(written[0] / "甲镇_消防专篇.docx")
    cited = find_table(doc, "引用的规范条文")
    assert any("《建筑设计防火规范》（GB 50016-2014）第7.1.8条" in r[3] for r in cited[1:])
    assert all("本工具假设" not in r[3] for r in cited[1:])
    assum = find_table(doc, "本工具采用的假设")
    n_assumptions = sum(r.is_assumption for r in rules.RULES.values())
    assert len(assum) - 1 == n_assumptions
    assert {r[1] for r in assum[1:]} == {r.text_zh for r in rules.RULES.values() if r.is_assumption}
    assert find_table(doc, "本次计算采用的参数")[1][0] == "道路网络"
    # the method numbers in force (no rule of their own): the truck speed of each road class among them
    method = find_table(doc, "本工具方法取值")
    assert ["道路网络", "村道标准消防车车速 speed_kmh.村道", "25公里/小时"] in method[1:]


def test_synthetic_notice_only_for_synthetic_data(written, tmp_path):
    doc = open_docx(written[0] / "甲镇_消防专篇.docx")
    assert "示意数据提示" in "\n".join(p.text for p in doc.paragraphs)
    ctx, res, rec = make_case(tmp_path, synthetic=False)
    paths = write_report(ctx, res, tmp_path / "r", rec, towns=["甲镇"], options={"figures": False})
    doc = open_docx(paths[0])
    assert "示意数据" not in "\n".join(p.text for p in doc.paragraphs)


def test_options_are_validated(tmp_path):
    ctx, res, rec = make_case(tmp_path)
    with pytest.raises(RecipeError, match="unknown parameter 'figure' \\(did you mean 'figures'"):
        write_report(ctx, res, tmp_path / "r", rec, options={"figure": False})
    with pytest.raises(RecipeError, match="unknown township '甲' \\(did you mean '甲镇'"):
        write_report(ctx, res, tmp_path / "r", rec, towns=["甲"])
    paths = write_report(ctx, res, tmp_path / "r2", rec,
                         options={"towns": "乙镇", "figures": False, "html": False, "county": "开州区"})
    assert sorted(p.name for p in paths) == ["乙镇_消防专篇.docx", "开州区_消防专篇汇总.docx"]


def test_no_cjk_font_warns_but_draws(tmp_path, monkeypatch):
    ctx, res, rec = make_case(tmp_path)
    monkeypatch.setattr(_figures, "cjk_font", lambda: None)
    monkeypatch.setattr(_figures, "_warned", False)
    with pytest.warns(RuntimeWarning, match="no font with Chinese glyphs"):
        paths = write_report(ctx, res, tmp_path / "r", rec, towns=["乙镇"],
                             options={"county_summary": False, "html": False})
    assert len(open_docx(paths[0]).inline_shapes) >= 4


def test_figure_has_scale_bar_north_arrow_and_legend(tmp_path):
    from kzgis.report._data import RunData, TownData

    ctx, res, rec = make_case(tmp_path)
    run = RunData(ctx, res, rec)
    td = TownData(run, run.scope(["甲镇"]))
    m = _figures.MapFigure(td.scope.polygon, dpi=60)
    m.lines(res["access_roads"], color="#000000", label="道路")
    png = m.png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    texts = [t.get_text() for t in m.ax.texts] + [t.get_text() for lg in m.fig.legends for t in lg.get_texts()]
    assert "北" in texts and "道路" in texts
    assert "500 米" in texts  # a 4.5 km wide map gets a 500 m bar
    assert m.ax.get_xlabel() == ""


def test_text_helpers():
    assert source_zh("GB 50974-2014 4.3.7, 4.4.5") == "《消防给水及消火栓系统技术规范》（GB 50974-2014）第4.3.7、4.4.5条"
    assert source_zh("assumption; no national rule") == "本工具假设，无国家标准规定"
    assert num(4.0) == "4" and num(2.5) == "2.5" and num(float("nan")) == "—" and num(INF) == "不可达"
    assert num(1234.567, 1) == "1234.6"
    assert _figures._nice_length(4500) == 500 and _figures._nice_length(40000) == 5000


def test_worker_processes_write_the_same_chapters(tmp_path):
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("worker processes need fork")
    ctx, res, rec = make_case(tmp_path)
    opts = {"figures": False, "html": False}
    serial = write_report(ctx, res, tmp_path / "serial", rec, options={**opts, "workers": 1})
    import gc

    forked = write_report(ctx, res, tmp_path / "forked", rec, options={**opts, "workers": 2})
    assert gc.get_freeze_count() == 0  # frozen for the fork only
    gc.freeze()  # a caller's own freeze (the pipeline's) is left for the caller to undo
    try:
        write_report(ctx, res, tmp_path / "forked2", rec, options={**opts, "workers": 2})
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert [p.name for p in serial] == [p.name for p in forked]
    for a, b in zip(serial, forked):
        ta, tb = tables_by_caption(open_docx(a)), tables_by_caption(open_docx(b))
        assert ta == tb and len(ta) > 5
    summary = find_table(open_docx(forked[-1]), "居民点消防车可达情况")
    assert row(summary, "合计")[2] == "3"
    # the county appendix lists the rules the township chapters cite
    cited = find_table(open_docx(forked[-1]), "引用的规范条文")
    assert len(cited) > 5


def test_docx_table_cells_keep_tabs_breaks_and_markup(tmp_path):
    from kzgis.report import _docx
    from kzgis.report._model import Builder

    b = Builder("标题", "消防专篇", [("编制单位", "甲")])
    b.para("正文 <b>&", "note")
    odd = [" 前导空格", "制表\t符", "换\n行", '引"号 <x> & y', ""]
    b.table("特殊字符", ["甲", "乙"], [[odd[0], odd[1]], [odd[2], odd[3]], [odd[4]], ["合计", "1"]], total_row=True)
    doc = open_docx(_docx.render(b.doc, tmp_path / "t.docx"))
    rows = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    assert rows == [["甲", "乙"], odd[:2], odd[2:4], ["", ""], ["合计", "1"]]
    assert "正文 <b>&" in [p.text for p in doc.paragraphs]
    last = doc.tables[0].rows[-1].cells[0].paragraphs[0].runs[0]
    assert last.bold  # the 合计 row


def test_select_with_a_shared_index_equals_a_fresh_one(tmp_path):
    from kzgis.report._data import RunData
    from kzgis.report._scope import clip, select

    ctx, res, rec = make_case(tmp_path)
    run = RunData(ctx, res, rec)
    run.warm()
    for town in ("甲镇", "乙镇"):
        scope = run.scope([town])
        for frame in (res["checkpoints"], res["access_roads"], ctx.layers["hydrants"], ctx.layers["forest"]):
            assert list(select(frame, scope, index=run.index(frame)).index) == list(select(frame, scope).index)
            a, b = clip(frame, scope, run.index(frame)), clip(frame, scope)
            assert list(a.index) == list(b.index) and a.geometry.equals(b.geometry)


def test_figures_of_a_township_share_one_figure_and_match_fresh_ones(tmp_path):
    from kzgis.report._data import RunData, TownData

    ctx, res, rec = make_case(tmp_path)
    run = RunData(ctx, res, rec)
    _figures.prepare(run)
    td = TownData(run, run.scope(["乙镇"]))
    status = _figures.fig_status(td, 60, "示意数据")
    access = _figures.fig_access(td, 60, "示意数据")  # drawn on the same figure, status layers removed
    assert len([k for k in td.cache if k[0] == "figure"]) == 1
    fresh = TownData(run, run.scope(["乙镇"]))
    assert _figures.fig_access(fresh, 60, "示意数据") == access  # legend from the cache: same pixels
    assert status != access


def test_polygon_holes_are_not_filled(tmp_path):
    import io

    import numpy as np
    from PIL import Image
    from shapely.geometry import Polygon

    ring = [(0, 0), (100, 0), (100, 100), (0, 100)]
    hole = [(40, 40), (60, 40), (60, 60), (40, 60)]  # same orientation as the shell: fill rule must not matter
    frame = gpd.GeoDataFrame(geometry=[Polygon(ring, [hole])], crs=CRS)
    m = _figures.MapFigure(box(0, 0, 100, 100), dpi=50, margin=0.0)
    m.polygons(frame, face="#000000")
    img = np.asarray(Image.open(io.BytesIO(m.png())).convert("L"))
    x0, y0, x1, y1 = (round(v) for v in m.ax.bbox.extents)
    h = img.shape[0]
    cx, cy = (x0 + x1) // 2, h - (y0 + y1) // 2  # map centre, in the hole
    assert img[cy, cx] > 200
    assert img[h - (y0 + (y1 - y0) // 5), x0 + (x1 - x0) // 5] < 50  # inside the shell


def test_labels_draw_what_annotate_with_a_halo_draws(tmp_path):
    import warnings

    import matplotlib
    import matplotlib.patheffects as pe

    pts = gpd.GeoDataFrame({"name": ["甲村", "乙村 2", "两\n行"]},
                           geometry=[Point(X0 - 3000, Y0), Point(X0 - 2000, Y0 + 1000), Point(X0 - 1000, Y0 - 500)],
                           crs=CRS)
    area = box(X0 - 4000, Y0 - 2000, X0, Y0 + 2000)
    new = _figures.MapFigure(area, dpi=72)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no CJK font on the machine: glyphs missing, drawn alike
        new.labels_at(pts, "name", size=7, color="#c00000")
        old = _figures.MapFigure(area, dpi=72)
        with matplotlib.rc_context(old._rc):  # the report's font, as inside the figure functions
            for p, text in zip(pts.geometry, pts["name"]):
                old._add(old.ax.annotate(text, (p.x, p.y), xytext=(3, 3), textcoords="offset points", fontsize=7,
                                         color="#c00000", zorder=9,
                                         path_effects=[pe.withStroke(linewidth=2, foreground="white")]))
        assert new.png() == old.png()


def test_best_vehicle_walks_and_assumed_widths_are_said(tmp_path):
    # issue 13 §1/§7: response by the best vehicle (a table per vehicle class equal to the result);
    # upgrades on an assumed width say "survey width first"; above half the road length on assumed
    # widths, the access section says its conclusions rest on assumptions
    ctx, res, rec = make_case(tmp_path)
    rs = res["response_settlements"]
    rs["vehicle_class"] = ["standard", "small", "motorcycle", "standard", "none"]
    rs["walk_m"] = [0.0, 0.0, 120.0, 0.0, math.nan]
    res["access_roads"]["width_assumed"] = [True, True, False]  # 甲镇: all its 5 km of road
    res["access_upgrades"]["action"] = ["survey width first", "widen"]
    write_report(ctx, res, tmp_path / "report", rec)
    doc = open_docx(tmp_path / "report" / "甲镇_消防专篇.docx")
    rows = find_table(doc, "居民点按可达最优车型统计")
    mine = rs[rs["town"] == "甲镇"]
    assert row(rows, "标准消防车")[1:4] == ["1", "100", "0"]
    assert row(rows, "消防摩托车")[1:4] == ["1", "300", "1"]  # 丙村 walks 120 m from the road end
    assert row(rows, "合计")[1] == str(len(mine))
    rows = find_table(doc, "居民点接警到场时间分布")
    assert row(rows, "任何消防车辆均无法到达")[1] == "0"
    text = section_text(doc, "（一）消防车通行分析")
    assert "无实测路宽" in text and "主要建立在推定路宽之上" in text
    rows = find_table(doc, "建议拓宽的消防车通道")
    assert "建议措施" in rows[0]
    assert [r[rows[0].index("建议措施")] for r in rows[1:]] == ["先实测路宽（现状宽度为推定值）"]
    doc = open_docx(tmp_path / "report" / "乙镇_消防专篇.docx")
    assert row(find_table(doc, "居民点接警到场时间分布"), "任何消防车辆均无法到达")[1:3] == ["1", "500"]


def test_why_missing_names_a_result_layer_by_its_chinese_title(tmp_path):
    """A result lacking a declared column is left out of the report, and the section says which
    layer (by its schema title) and which column."""
    from kzgis.report._data import RunData

    ctx, res, rec = make_case(tmp_path)
    res = dict(res)
    res["checkpoints"] = res["checkpoints"].drop(columns=["road_name"])
    run = RunData(ctx, res, rec)
    assert "checkpoints" not in run.results and run.rejected["checkpoints"] == ["road_name"]
    assert run.why_missing("checkpoints", "checkpoints") == "“森林防火检查站（卡点）”（checkpoints）结果图层缺少字段road_name"
    del res["checkpoints"]
    rec = _recipe.parse({"name": "test", "title": "测试", "analyses": {"checkpoints": {}}}, tmp_path)
    assert RunData(ctx, res, rec).why_missing("checkpoints", "checkpoints") == "缺少“森林防火检查站（卡点）”（checkpoints）结果图层"
