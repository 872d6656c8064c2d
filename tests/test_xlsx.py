"""kzgis._xlsx: tables.xlsx written without a Python object per cell, read back by openpyxl and pandas."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzgis import _xlsx
from kzgis._xlsx import MAX_TEXT, sheet_names, write_xlsx


def _read(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_values_round_trip_with_their_types(tmp_path):
    df = pd.DataFrame({
        "名称": ["温泉镇", "a<b&c>", "=1+1", None],
        "n": np.array([1, -2, 3, 2**40], dtype=np.int64),
        "x": [1.5, np.nan, np.inf, 1e-7],
        "ok": [True, False, True, False],
        "maybe": [True, None, False, None],
        "ni": pd.array([1, None, 3, 4], dtype="Int64"),
    })
    p = write_xlsx([("sheet1", df)], tmp_path / "t.xlsx")
    rows = _read(p, "sheet1")
    assert rows[0] == ["名称", "n", "x", "ok", "maybe", "ni"]
    assert rows[1] == ["温泉镇", 1, 1.5, True, True, 1]
    assert rows[2] == ["a<b&c>", -2, None, False, None, None]
    assert rows[3][0] == "=1+1"  # text, not a formula
    assert rows[3][2] is None  # inf is no number Excel has
    assert rows[4] == [None, 2**40, 1e-7, False, None, 4]
    ws = openpyxl.load_workbook(p)["sheet1"]
    assert ws["A1"].font.b and not ws["A2"].font.b
    assert ws["A4"].data_type == "s"
    back = pd.read_excel(p, sheet_name="sheet1")
    assert back["n"].tolist() == df["n"].tolist()
    assert back["名称"].tolist()[:3] == df["名称"].tolist()[:3]


def test_control_characters_dropped_long_text_cut_empty_sheets(tmp_path):
    df = pd.DataFrame({"t": ["a\x00b\x1fc\td\ne\r", "x" * (MAX_TEXT + 10)]})
    p = write_xlsx([("a", df), ("empty", pd.DataFrame({"c": []})), ("none", pd.DataFrame())], tmp_path / "t.xlsx")
    rows = _read(p, "a")
    assert rows[1] == ["abc\td\ne\r"]
    assert len(rows[2][0]) == MAX_TEXT
    p2 = write_xlsx([("a", pd.DataFrame({"t": ["x&" * MAX_TEXT]}))], tmp_path / "amp.xlsx")
    assert _read(p2, "a")[1][0] == ("x&" * MAX_TEXT)[:MAX_TEXT]  # cut before escaping: valid XML
    assert _read(p, "empty") == [["c"]]
    assert openpyxl.load_workbook(p).sheetnames == ["a", "empty", "none"]
    with zipfile.ZipFile(p) as z:
        assert z.testzip() is None


def test_sheet_names_valid_and_unique():
    names = sheet_names(["a" * 40, "a" * 40, "x/y:z", "Sheet", "sheet", ""])
    assert names[0] == "a" * 31 and names[1] == "a" * 29 + "_2"
    assert names[2] == "x_y_z"
    assert names[3] == "Sheet" and names[4] == "sheet_2"
    assert all(len(n) <= 31 for n in names) and len({n.lower() for n in names}) == len(names)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=20) | st.sampled_from(["a\r\nb", "<&>", "=A1"]), st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
                          st.integers(min_value=-2**53, max_value=2**53)), min_size=1, max_size=30))
def test_round_trip_property(tmp_path_factory, rows):
    df = pd.DataFrame(rows, columns=["s", "f", "i"])
    p = write_xlsx([("t", df)], tmp_path_factory.mktemp("x") / "t.xlsx")
    got = _read(p, "t")[1:]
    for (s, f, i), (gs, gf, gi) in zip(rows, got):

        clean = _xlsx._BAD_XML.sub("", s)  # control and bidi-override characters dropped (issue 12)
        assert (gs or "") == clean or (gs is None and clean == "")
        if f is None or not math.isfinite(f):
            assert gf is None
        else:
            assert gf == pytest.approx(f, rel=1e-15, abs=0)
        assert gi == i


def test_rows_written_in_chunks_come_back_in_order(tmp_path, monkeypatch):
    from kzgis import _xlsx

    monkeypatch.setattr(_xlsx, "CHUNK_ROWS", 3)
    df = pd.DataFrame({"i": np.arange(10), "s": [f"行{i}" for i in range(10)]})
    p = write_xlsx([("t", df)], tmp_path / "t.xlsx")
    rows = _read(p, "t")
    assert rows[0] == ["i", "s"] and rows[1:] == [[i, f"行{i}"] for i in range(10)]
    assert openpyxl.load_workbook(p)["t"].dimensions == "A1:B11"
