"""A default report section for an analysis nobody wrote a section for (issue 16 §3).

A toy analysis is registered and its result layers declared only for these tests (removed after),
then run by the pipeline on the tiny world with the report on: its section comes from the schema.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pytest
from docx import Document as open_docx

import kzgis
from kzgis import analysis, schema
from kzgis.demo import tiny_world
from kzgis.report import _default
from kzgis.schema import Column, ResultLayer


@dataclass(frozen=True)
class ToyParams:
    big_from: float = 500.0


def run_toy(ctx, p: ToyParams):
    """Each settlement with its distance to the nearest station; per-town counts; a district total."""
    st = ctx.layers["settlements"]
    stations = ctx.layers["stations"]
    dist = st.geometry.apply(lambda g: stations.distance(g).min())
    pop = pd.to_numeric(st["population"])
    points = gpd.GeoDataFrame({"name": st["name"], "town": st["town"], "population": pop,
                               "big": pop >= p.big_from, "station_m": dist.astype(float)},
                              geometry=st.geometry, crs=ctx.crs)
    towns = pd.DataFrame({"town": ["温泉镇"], "settlements": [len(st)], "big_settlements": [int(points["big"].sum())]})
    district = pd.DataFrame({"what": ["合计"], "settlements": [len(st)]})
    return {"toy_points": points, "toy_towns": towns, "toy_district": district}


TOY_LAYERS = (
    ResultLayer("toy_points", "toy", "Point", "玩具居民点", "Each settlement, big or not, and its distance.",
                (Column("name", "str", "", "名称"), Column("town", "str", "", "乡镇（街道）"),
                 Column("population", "float", "", "人口"), Column("big", "bool", "", "大村"),
                 Column("station_m", "float", "m", "距消防站", "straight-line distance to the nearest station"))),
    ResultLayer("toy_towns", "toy", None, "玩具乡镇统计", "Per township.",
                (Column("town", "str", "", "乡镇（街道）"), Column("settlements", "int", "", "居民点数"),
                 Column("big_settlements", "int", "", "大村数"))),
    ResultLayer("toy_district", "toy", None, "玩具全区合计", "District-wide.",
                (Column("what", "str", "", "项目"), Column("settlements", "int", "", "居民点数"))),
)


@pytest.fixture(scope="module")
def toy():
    """Register the toy analysis and declare its layers; remove both afterwards."""
    analysis.load_all()
    analysis.register("toy", title_zh="玩具分析", needs=("settlements", "stations"), params=ToyParams,
                      results=tuple(lay.name for lay in TOY_LAYERS))(run_toy)
    schema.declare(*TOY_LAYERS)
    try:
        yield
    finally:
        analysis.REGISTRY.pop("toy", None)
        for lay in TOY_LAYERS:
            schema.LAYERS.pop(lay.name, None)


def _html_text(path) -> str:
    t = path.read_text(encoding="utf-8")
    t = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", t, flags=re.S)
    t = re.sub(r"<(td|th)[^>]*>", " | ", t)
    t = re.sub(r"<[^>]+>", "\n", t)
    return "\n".join(x.strip() for x in t.splitlines() if x.strip())


def _tables(doc) -> dict:
    """caption -> rows of the docx tables (the caption is the paragraph before each table)."""
    out, last = {}, None
    for child in doc.element.body.iterchildren():
        if child.tag.endswith("}p"):
            text = "".join(x.text or "" for x in child.iter() if x.tag.endswith("}t")).strip()
            if text:
                last = text
        elif child.tag.endswith("}tbl"):
            rows = []
            for tr in child.iter():
                if tr.tag.endswith("}tr"):
                    rows.append(["".join(x.text or "" for x in tc.iter() if x.tag.endswith("}t"))
                                 for tc in tr.iter() if tc.tag.endswith("}tc")])
            out[last] = rows
    return out


@pytest.fixture(scope="module")
def report(toy, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy")
    w = tiny_world()
    paths = {}
    for kind in ("boundary", "roads", "settlements", "stations"):
        paths[kind] = tmp / f"{kind}.gpkg"
        gpd.GeoDataFrame(w[kind]).to_file(paths[kind])
    rec = {"name": "toy", "title": "玩具", "layers": {k: str(v) for k, v in paths.items()},
           "analyses": {"access": {}, "toy": {"big_from": 500}},
           "outputs": {"dir": str(tmp / "out"), "maps": False,
                       "report": {"figures": False, "county_summary": False, "max_rows": 3}}}
    run = kzgis.run(rec, quiet=True)
    return run, w


def test_the_toy_results_conform_to_their_declaration(report):
    run, _ = report
    for lay in TOY_LAYERS:
        assert schema.check(lay.name, run.results[lay.name]) == [], lay.name


def test_an_analysis_without_a_hand_written_section_gets_one_from_the_schema(report):
    run, w = report
    out = run.out_dir / "report"
    text = _html_text(out / "温泉镇_消防专篇.html")
    analysis_part = text[text.index("二、分析", text.index("附录D")):text.index("三、规划措施", text.index("附录D"))]
    assert re.search(r"（[一二三四五六七八九十]+）玩具分析", analysis_part)  # titled as registered
    assert "温泉镇范围内玩具居民点4处，见表" in analysis_part  # one sentence per layer: the count
    assert "温泉镇范围内玩具乡镇统计1项，见表" in analysis_part
    assert "玩具全区合计：全区共1项，不分乡镇（街道），见成果表格 tables.xlsx（toy_district）。" in analysis_part

    tables = _tables(open_docx(out / "温泉镇_消防专篇.docx"))
    cap = next(c for c in tables if c and c.endswith("温泉镇玩具居民点"))
    rows = tables[cap]
    # the declared labels; the unit added where the label does not say it; town left out in a town chapter
    assert rows[0] == ["名称", "人口", "大村", "距消防站（米）"]
    assert len(rows) == 1 + 3  # limited to max_rows like every list table
    st, station = w["settlements"], w["stations"].geometry.iloc[0]
    expect = [[n, f"{p:g}", "是" if p >= 500 else "否", str(int(round(g.distance(station))))]
              for n, p, g in zip(st["name"], st["population"], st.geometry)]
    assert rows[1:] == expect[:3]  # 青龙村 820 是, 桂花湾 260 否, 白鹤村 540 是
    assert "仅列出前3项，共4项，完整清单见成果表格 tables.xlsx（toy_points）" in text
    cap = next(c for c in tables if c and c.endswith("温泉镇玩具乡镇统计"))
    assert tables[cap] == [["居民点数", "大村数"], ["4", "2"]]


def test_hand_written_analyses_get_no_default_section(report, toy):
    run, _ = report
    text = _html_text(run.out_dir / "report" / "温泉镇_消防专篇.html")
    assert text.count("消防车通行分析") >= 1 and "access_roads）" not in text  # access keeps its own section
    ran = types.SimpleNamespace(recipe=None, ran=lambda name: name in ("access", "toy"))
    assert _default.default_analyses(ran) == ["toy"]


def test_a_default_section_says_why_when_the_analysis_did_not_run(toy, tmp_path):
    from kzgis import recipe as _recipe
    from kzgis.analysis import Context
    from kzgis.layers import Layers
    from kzgis.report import write_report

    w = tiny_world()
    lay = Layers("EPSG:4545")
    for kind in ("boundary", "roads", "settlements"):
        lay[kind] = w[kind]
    rec = _recipe.parse({"name": "t", "analyses": {"toy": {}}}, tmp_path)
    paths = write_report(Context(layers=lay), {}, tmp_path / "r", rec, options={"figures": False, "docx": False,
                                                                                 "county_summary": False})
    text = _html_text(paths[0])
    assert "玩具分析" in text and "本次未开展该项分析（缺少消防队站图层）" in text


def test_a_new_analysis_is_callable_from_python_with_nothing_else_written(toy):
    """``kzgis.analyse`` runs the toy analysis (registered and declared only here) on GeoDataFrames:
    layers and parameters as keywords, results named as declared, hand-computed distances."""
    w = tiny_world()
    res = kzgis.analyse("toy", settlements=w["settlements"], stations=w["stations"], big_from=1e9)
    assert set(res) == {"toy_points", "toy_towns", "toy_district"}
    for name, frame in res.items():
        assert schema.check(name, frame) == [], name
    pts = res["toy_points"]
    st = w["stations"].to_crs(res.crs)
    for g, d in zip(pts.geometry, pts["station_m"]):
        assert d == pytest.approx(min(g.distance(s) for s in st.geometry))  # straight-line, by hand
    assert not pts["big"].any()  # big_from=1e9 reached the analysis's parameters
    with pytest.raises(kzgis.RecipeError, match="did you mean 'big_from'"):
        kzgis.analyse("toy", settlements=w["settlements"], stations=w["stations"], bigfrom=1)
    with pytest.raises(kzgis.LayerError, match="no stations layer"):
        kzgis.analyse("toy", settlements=w["settlements"])
