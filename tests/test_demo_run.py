"""The whole demo recipe end to end on the embedded data, limited to 温泉镇 to stay quick.

Checks what a planner relies on: every analysis ran, every result layer has the working CRS, the
温泉古镇 checks show both passing and failing rules, and the township's 消防专篇 opens in
python-docx with its sections and tables whose numbers equal the result layers.
"""

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from kzgis import pipeline, recipe

ROOT = Path(__file__).resolve().parents[1]
TOWN = "温泉镇"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    res = pipeline.run(recipe.load(ROOT / "analyses" / "kaizhou.yaml"), out_dir=out, towns=[TOWN])
    return res


def test_every_analysis_ran_and_every_layer_has_the_crs(run):
    assert run.ran == ["access", "response", "water", "barriers", "checkpoints", "helicopter", "micro_stations",
                       "building_clusters", "monitoring"]
    assert run.skipped == {}
    layers = pyogrio.list_layers(run.out_dir / "results.gpkg")
    assert len(layers) == len([k for k, v in run.results.items() if v is not None])
    for name, geom_type in layers:
        if geom_type is not None:
            assert pyogrio.read_info(run.out_dir / "results.gpkg", layer=name)["crs"] == "EPSG:4545", name


def test_old_town_rules_pass_and_fail(run):
    comp = gpd.read_file(run.out_dir / "results.gpkg", layer="water_compliance")
    assert set(comp["passed"]) == {True, False}
    mains = comp[comp["rule"].str.contains("管径")]
    assert not mains["passed"].iloc[0]


def test_report_sections_and_numbers_match_results(run):
    import docx

    path = run.out_dir / "report" / f"{TOWN}_消防专篇.docx"
    doc = docx.Document(path)
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 1")]
    for h in ("一、现状", "二、分析", "三、规划措施", "附录"):
        assert h in headings
    assert len(doc.inline_shapes) >= 3  # the figures

    acc = gpd.read_file(run.out_dir / "results.gpkg", layer="access_settlements")
    acc = acc[acc["town"] == TOWN]
    table = _table_after(doc, "居民点消防车可达情况")
    rows = {r[0]: r for r in table}
    assert int(rows["标准消防车"][1]) == int((acc["best_vehicle"] == "standard").sum())
    assert int(rows["小型消防车"][1]) == int((acc["best_vehicle"] == "small").sum())
    assert int(rows["合计"][1]) == len(acc)
    assert int(rows["合计"][2]) == int(acc["population"].sum())


def test_report_checkpoint_and_pad_tables_match_results(run):
    # issue 20: the recommended checkpoints with their reasons, the optional road crossings as
    # one row per item, and the pad footprint apart from its candidate area
    import docx

    doc = docx.Document(run.out_dir / "report" / f"{TOWN}_消防专篇.docx")
    cp = gpd.read_file(run.out_dir / "results.gpkg", layer="checkpoints")
    town = gpd.read_file(run.out_dir / "results.gpkg", layer="checkpoints")
    town = town[town["town"] == TOWN]
    rec = town[town["recommend"] != "optional"].sort_values("rank")
    table = _table_after(doc, "规划森林防火检查站（建议设置）")
    assert len(table) - 1 == len(rec) > 0
    assert [r[-3] for r in table[1:]] == list(rec["reason"])
    assert {r[1] for r in table[1:]} <= {"标准检查站", "简易检查站"}
    opt = town[town["recommend"] == "optional"]
    if len(opt):
        table = _table_after(doc, "可选森林防火检查站（过境道路）")
        assert len(table) - 1 == opt["item"].nunique()
        assert sum(int(r[3]) for r in table[1:]) == len(opt)
    assert len(cp) >= len(town)
    pads = gpd.read_file(run.out_dir / "results.gpkg", layer="heli_pads")
    assert (pads["pad_area_m2"] == 2500.0).all() and (pads["candidate_area_m2"] >= 2500.0).all()
    table = _table_after(doc, "规划直升机取水点和停机坪")
    pad_rows = [r for r in table[1:] if r[0] == "停机坪"]
    assert pad_rows and all(r[2] == "2500" and "可选坪址范围" in r[3] for r in pad_rows)


def test_tables_xlsx_matches_results(run):
    sheets = pd.read_excel(run.out_dir / "tables.xlsx", sheet_name=None)
    acc = gpd.read_file(run.out_dir / "results.gpkg", layer="access_settlements")
    sheet = sheets["access_settlements"]
    assert len(sheet) == len(acc)
    assert "可达最优车型" in sheet.columns  # Chinese headers


def test_maps_written_for_the_town(run):
    maps = sorted(p.name for p in (run.out_dir / "maps").glob("*.html"))
    assert maps == ["county.html", "index.html", f"town_{TOWN}.html"]


def _table_after(doc, caption_part):
    """Rows (cell texts) of the table whose caption paragraph contains ``caption_part``."""
    body = doc.element.body
    found = False
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(t.text or "" for t in child.iter() if t.tag.endswith("}t"))
            if caption_part in text and text.startswith("表"):
                found = True
        elif tag == "tbl" and found:
            import docx.table

            t = docx.table.Table(child, doc)
            return [[c.text for c in r.cells] for r in t.rows]
    raise AssertionError(f"no table captioned {caption_part!r}")


def test_report_lists_the_run_warnings(run):
    import docx

    doc = docx.Document(run.out_dir / "report" / f"{TOWN}_消防专篇.docx")
    assert run.summary["warnings"]
    rows = _table_after(doc, "计算提示")
    assert [r[1] for r in rows[1:]] == list(dict.fromkeys(run.summary["warnings"]))


def test_micro_stations_and_building_clusters_in_the_township_report(run):
    import docx

    doc = docx.Document(run.out_dir / "report" / f"{TOWN}_消防专篇.docx")
    text = "\n".join(p.text for p in doc.paragraphs)
    for h in ("社区与微型消防站", "微型消防站3分钟到场分析", "建筑连片密集区分析", "防火隔离带与防火墙"):
        assert h in text, h
    mc = gpd.read_file(run.out_dir / "results.gpkg", layer="micro_communities")
    mc = mc[mc["town"] == TOWN]
    rows = _table_after(doc, "社区微型消防站到场时间")[1:]
    assert sorted(r[0] for r in rows) == sorted(mc["name"])
    covered = {r[0]: r[-1] == "是" for r in rows}
    assert covered == dict(zip(mc["name"], mc["covered_planned"].astype(bool)))
    cl = gpd.read_file(run.out_dir / "results.gpkg", layer="building_clusters")
    cl = cl[cl["town"] == TOWN]
    assert cl["over_limit"].any()  # 温泉古镇 is one dense cluster over 5,000 m2
    rows = _table_after(doc, "建筑连片区")[1:]
    assert len(rows) == min(len(cl), 30)
    top = cl.sort_values("footprint_m2", ascending=False).iloc[0]
    assert rows[0][0] == str(top["cluster_id"]) and rows[0][1] == "温泉古镇" and rows[0][5] == "是"
    fb = gpd.read_file(run.out_dir / "results.gpkg", layer="firebreak_suggestions")
    assert len(fb) and set(fb["cluster_id"]) <= set(cl.loc[cl["over_limit"], "cluster_id"])
