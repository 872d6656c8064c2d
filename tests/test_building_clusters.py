"""Building clusters and firebreaks on hand-built footprints (EPSG:4545, metres) and property tests.

Separations (GB 50016-2014 table 5.2.2): 一二级/一二级 6, 一二级/三级 7, 一二级/四级 9, 三级/三级 8,
三级/四级 10, 四级/四级 12 m; unknown grade -> 四级; cluster limit 5,000 m2.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _build import CRS, X0, box
from hypothesis import given, settings
from hypothesis import strategies as st

from kzgis import RecipeError
from kzgis._errors import AnalysisError
from kzgis.analyses.building_clusters import (
    ClusterParams,
    grade_class,
    parse_grade,
    run_building_clusters,
)
from kzgis.analysis import Context, get
from kzgis.layers import Layers
from kzgis.params import from_mapping


def run(buildings, **params):
    ly = Layers(CRS)
    ly["buildings"] = buildings
    ctx = Context(layers=ly)
    return run_building_clusters(ctx, from_mapping(ClusterParams, params, "analyses.building_clusters")), ctx


def row(widths, gaps, depth=10.0, grade=None, structure=None):
    """Buildings in a row along x: widths[k] wide, gaps[k] between building k and k+1."""
    geoms, x = [], 0.0
    for k, w in enumerate(widths):
        geoms.append(box(x, 0, x + w, depth))
        x += w + (gaps[k] if k < len(gaps) else 0)
    n = len(widths)
    cols = {"name": [f"房{k + 1}" for k in range(n)]}
    if grade is not None:
        cols["fire_resistance"] = grade if isinstance(grade, list) else [grade] * n
    if structure is not None:
        cols["structure"] = structure if isinstance(structure, list) else [structure] * n
    return gpd.GeoDataFrame(cols, geometry=geoms, index=list(range(1, n + 1)), crs=CRS)


def test_registered_and_defaults():
    spec = get("building_clusters")
    assert spec.needs == ("buildings",)
    t = ClusterParams().table()
    assert t.tolist() == [[6, 7, 9], [7, 8, 10], [9, 10, 12]]
    assert ClusterParams().limit_m2 == 5000
    t2 = ClusterParams(separation_m={"4_4": 15}).table()
    assert t2[2, 2] == 15 and t2[0, 0] == 6
    with pytest.raises(RecipeError, match="separation_m: unknown pair '5_5'.*unknown_grade must be a grade 1-4"):
        from_mapping(ClusterParams, {"separation_m": {"5_5": 3}, "unknown_grade": 7}, "analyses.building_clusters")


@pytest.mark.parametrize("raw,grade", [(1, 1), ("2", 2), (3.0, 3), ("四级", 4), ("三", 3), ("2级", 2), ("一二级", 2),
                                       (None, None), ("不详", None), ("", None)])
def test_parse_grade(raw, grade):
    assert parse_grade(raw) == grade


def test_bad_grade_names_the_buildings_and_the_field():
    b = row([10, 10], [20], grade=["五级", 2])
    with pytest.raises(AnalysisError, match=r"layer 'buildings', field 'fire_resistance', features 1: .*'五级'"):
        run(b)


@pytest.mark.parametrize("g1,g2,gap,linked", [
    (1, 2, 5.9, True), (1, 2, 6.1, False),      # 一二级/一二级 6 m
    (2, 3, 6.9, True), (2, 3, 7.1, False),      # 一二级/三级 7 m
    (1, 4, 8.9, True), (1, 4, 9.1, False),      # 一二级/四级 9 m
    (3, 3, 7.9, True), (3, 3, 8.1, False),      # 三级/三级 8 m
    (3, 4, 9.9, True), (4, 3, 10.1, False),     # 三级/四级 10 m
    (4, 4, 11.9, True), (4, 4, 12.1, False),    # 四级/四级 12 m
    (4, 4, 0.0, True),                          # touching
])
def test_pairs_link_below_their_separation(g1, g2, gap, linked):
    res, _ = run(row([10, 10], [gap], grade=[g1, g2]))
    cl = res["building_clusters"]
    assert (len(cl) == 1) == linked
    if linked:
        assert cl["buildings"].iloc[0] == 2 and cl["footprint_m2"].iloc[0] == pytest.approx(200.0)
        assert not cl["over_limit"].iloc[0]


def test_grade_from_structure_then_the_assumed_default():
    # 砖混 -> 二级, 砖木 -> 三级, unknown -> 四级; gaps 8.5 and 9.5
    b = row([10, 10, 10], [8.5, 9.5], structure=["砖混", "砖木", None])
    res, ctx = run(b)
    g = res["building_grades"]
    assert g["grade"].tolist() == [2, 3, 4]
    assert g["grade_basis"].tolist() == ["structure", "structure", "assumed"]
    # 二/三 needs 7 (8.5 apart: no link); 三/四 needs 10 (9.5 apart: link)
    assert g["cluster_id"].tolist() == [0, 1, 1]
    assert any("1 of 3 buildings have neither" in w for w in ctx.warnings)
    # with the unknown grade set to 三级: 三/三 needs 8 -> 9.5 apart is no link
    res2, _ = run(b, unknown_grade=3)
    assert len(res2["building_clusters"]) == 0


def test_an_over_limit_row_is_cut_at_its_widest_gap():
    # six 30 x 30 m houses (900 m2 each, 5,400 m2), 四级, gaps 2, 2, 8, 2, 2 m
    b = row([30] * 6, [2, 2, 8, 2, 2], depth=30, grade=4)
    res, _ = run(b)
    cl = res["building_clusters"].iloc[0]
    assert (cl["buildings"], cl["footprint_m2"], cl["over_limit"]) == (6, pytest.approx(5400.0), True)
    assert (cl["parts"], cl["cuts"]) == (2, 1)
    fb = res["firebreak_suggestions"]
    assert len(fb) == 1
    f = fb.iloc[0]
    assert (f["building_a"], f["building_b"]) == (3, 4)
    assert (f["gap_m"], f["required_m"], f["shortfall_m"]) == (pytest.approx(8.0), 12.0, pytest.approx(4.0))
    assert f["measure"] == "设置防火墙"  # 4 m short of 12 m: more than 3 m
    # the cut line spans the gap between x = 94 and x = 102
    xs = sorted(x - X0 for x, _ in f.geometry.coords)
    assert xs == [pytest.approx(94.0), pytest.approx(102.0)]
    assert res["building_grades"]["part"].tolist() == [1, 1, 1, 2, 2, 2]
    # with a gap of 10 m (2 m short) widening is suggested
    res2, _ = run(row([30] * 6, [2, 2, 10, 2, 2], depth=30, grade=4))
    assert res2["firebreak_suggestions"]["measure"].tolist() == ["拓宽间距至12米"]


def test_a_lower_limit_cuts_more_and_each_part_fits():
    b = row([30] * 6, [2, 2, 8, 2, 2], depth=30, grade=4)
    res, _ = run(b, limit_m2=1800)
    g = res["building_grades"]
    # parts of at most two houses: the 8 m gap is cut first, then the rows of three split once each
    assert res["building_clusters"]["parts"].iloc[0] == 4
    areas = g.groupby("part")["area_m2"].sum()
    assert (areas <= 1800 + 1e-6).all()
    assert res["building_clusters"]["cuts"].iloc[0] == 3


def test_a_grid_is_cut_between_the_columns_with_the_wider_lane():
    # 3 x 3 blocks of 25 x 25 m (625 m2; 5,625 m2 in all) 三级; rows 3 m apart, columns 3 m then a 6 m lane
    geoms, xs = [], [0, 28, 59]
    for x in xs:
        for y in (0, 28, 56):
            geoms.append(box(x, y, x + 25, y + 25))
    b = gpd.GeoDataFrame({"fire_resistance": [3] * 9}, geometry=geoms, index=range(1, 10), crs=CRS)
    res, _ = run(b)
    fb = res["firebreak_suggestions"]
    # the cut follows the 6 m lane between the 2nd and 3rd columns: three facing pairs 6 m apart and
    # four diagonal pairs sqrt(6^2 + 3^2) = 6.71 m apart (all below 8 m)
    assert len(fb) == 7
    assert sorted(fb["gap_m"].round(3)) == [6.0] * 3 + [round(45 ** 0.5, 3)] * 4
    assert set(fb["measure"]) == {"拓宽间距至8米"}
    assert set(fb["building_a"]) == {4, 5, 6} and set(fb["building_b"]) == {7, 8, 9}
    assert res["building_grades"]["part"].tolist() == [1] * 6 + [2] * 3


def test_one_building_over_the_limit_is_listed_without_cuts():
    b = row([100, 10], [50], depth=60, grade=2)
    res, _ = run(b)
    cl = res["building_clusters"]
    assert len(cl) == 1 and cl["buildings"].iloc[0] == 1 and cl["over_limit"].iloc[0]
    assert cl["parts"].iloc[0] == 1 and len(res["firebreak_suggestions"]) == 0


# ---------------------------------------------------------------------------------------------
# properties


@st.composite
def villages(draw):
    n = draw(st.integers(2, 24))
    geoms, grades = [], []
    for k in range(n):
        cx = draw(st.floats(0, 150, allow_nan=False))
        cy = draw(st.floats(0, 150, allow_nan=False))
        w = draw(st.floats(4, 30))
        h = draw(st.floats(4, 30))
        cand = box(cx, cy, cx + w, cy + h)
        if any(cand.intersects(g) for g in geoms):
            continue
        geoms.append(cand)
        grades.append(draw(st.sampled_from([1, 2, 3, 4, None])))
    limit = draw(st.floats(300, 3000))
    return gpd.GeoDataFrame({"fire_resistance": grades}, geometry=geoms, index=range(1, len(geoms) + 1),
                            crs=CRS), limit


@settings(max_examples=60, deadline=None)
@given(villages())
def test_parts_fit_the_limit_and_different_clusters_keep_their_separation(case):
    b, limit = case
    res, _ = run(b, limit_m2=limit)
    g = res["building_grades"]
    table = ClusterParams().table()
    geoms = np.asarray(b.geometry.values, dtype=object)
    cls = grade_class(g["grade"].to_numpy())
    cid = g["cluster_id"].to_numpy()
    part = g["part"].to_numpy()
    area = g["area_m2"].to_numpy()
    fb = res["firebreak_suggestions"]
    cut_pairs = {(int(a), int(c)) for a, c in zip(fb["building_a"], fb["building_b"])}
    for a, c in itertools.combinations(range(len(b)), 2):
        gap = shapely.distance(geoms[a], geoms[c])
        req = table[cls[a], cls[c]]
        if cid[a] == 0 or cid[b_ := c] == 0 or cid[a] != cid[b_]:
            # different clusters (0 = a building alone): never closer than their separation
            assert gap >= req - 1e-6
        elif part[a] != part[c] and gap < req - 1e-9:
            # a link between two parts is a suggested cut
            assert (a + 1, c + 1) in cut_pairs
    # each part of a cluster within the limit (a lone building may be larger)
    key = cid * 10_000 + part
    for k in np.unique(key[cid > 0]):
        sel = key == k
        assert sel.sum() == 1 or area[sel].sum() <= limit + 1e-6
