"""The village demo layers (communities, micro stations, buildings) in layers/kaizhou."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pyogrio

from kzgis.demo import village as _village

DATA = Path(__file__).resolve().parents[1] / "layers" / "kaizhou"


def read(name):
    return gpd.read_file(DATA / f"{name}.gpkg")


def test_the_57_communities_of_the_seed_with_their_year():
    c = read("communities")
    assert len(c) == 57 and c["name"].is_unique
    assert c.loc[c["year"] == 2024, "name"].tolist() == _village.COMMUNITIES_2024
    assert c.loc[c["year"] == 2025, "name"].tolist() == _village.COMMUNITIES_2025
    assert len(_village.COMMUNITIES_2024) == 28 and len(_village.COMMUNITIES_2025) == 29
    assert c["source"].str.contains("示意").all()
    assert (c["population"] > 0).all() and c["town"].notna().all()
    assert "温泉镇" in set(c["town"])  # the 温泉镇 report has a micro-station section


def test_micro_stations_existing_and_planned_for_some_communities():
    s = read("micro_stations")
    c = read("communities")
    assert set(s["status"]) == {"existing", "planned"}
    assert set(s["community"]) < set(c["name"])
    assert 10 < len(s) < 57
    assert (s.loc[s["status"] == "planned", "year"] == 2025).all()


def test_old_town_buildings_are_dense_and_mostly_grade_3_or_4():
    b = read("buildings")
    old = read("old_towns").geometry.iloc[0]
    inside = b[b.within(old.buffer(30))]
    assert len(inside) > 300
    known = inside["fire_resistance"].dropna()
    assert (known.isin(["三级", "四级"]).mean()) > 0.6
    assert inside["fire_resistance"].isna().any()  # some grades missing: derived from structure
    assert len(b) > len(inside)  # and a few villages
    assert not b.geometry.overlaps(b.geometry.iloc[0]).iloc[1:].any()
    assert b["source"].str.contains("示意").all()


def test_village_layers_regenerate_identically(tmp_path):
    for name in ("roads.gpkg", "settlements.gpkg", "old_towns.gpkg"):
        shutil.copy(DATA / name, tmp_path / name)
    paths = _village.generate(tmp_path)
    assert list(paths) == _village.FILES
    for name in _village.FILES:
        a, b = pyogrio.read_dataframe(paths[name]), pyogrio.read_dataframe(DATA / name)
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry")), name
        assert [g.wkb for g in a.geometry] == [g.wkb for g in b.geometry], name
