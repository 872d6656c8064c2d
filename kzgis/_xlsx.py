"""A fast writer of plain tables to .xlsx (``tables.xlsx``): one sheet per frame, a bold header row.

pandas' ``to_excel`` through openpyxl makes a Python cell object per value (about 17 us a cell:
25 s for the 1.5 million cells of a county with 25,000 road edges). Here each column is turned into
its XML cells with vectorised pandas string operations and every row is one ``join``, so a sheet
costs about as much as formatting its values once.

What is written (Office Open XML, SpreadsheetML; read by Excel, LibreOffice, WPS, openpyxl and
``pandas.read_excel``):

- numbers as numbers (integers exactly; NaN, inf and missing values as empty cells), booleans as
  booleans, everything else as text (``str(value)``; dates in ISO form);
- text as inline strings: a value that starts with ``=`` stays text, never a formula; characters
  XML 1.0 cannot carry (control characters other than tab, newline, carriage return) are dropped
  and text longer than Excel's 32,767 characters is cut there; carriage returns come back as
  written;
- the header row bold and frozen, column widths from the header and the first values.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

MAX_TEXT = 32_767
# also C1 controls and bidirectional overrides (they can disguise names; kzgis._text.BIDI)
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _text(values) -> np.ndarray:
    """XML-escaped text of each value (None for missing); each distinct value escaped once."""
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    u = pd.Series(uniq, dtype=object).map(str)
    if len(u) and u.str.contains(_BAD_XML).any():
        u = u.str.replace(_BAD_XML, "", regex=True)
    long = (u.str.len() > MAX_TEXT).to_numpy(dtype=bool)
    if long.any():  # cut before escaping, so no entity is cut in half
        u[long] = u[long].str.slice(0, MAX_TEXT)
    u = (u.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False)
         .str.replace(">", "&gt;", regex=False))
    if len(u) and u.str.contains("\r", regex=False).any():  # XML parsers turn a bare CR into LF
        u = u.str.replace("\r", "&#13;", regex=False)
    table = np.append(u.to_numpy(dtype=object), None)  # code -1 (missing) -> None
    return table[codes]


def _cells(col: pd.Series) -> list[str]:
    """The ``<c>`` elements of one column, in row order."""
    n = len(col)
    if n == 0:
        return []
    if col.dtype == object:
        nn = col.dropna()
        if len(nn) and all(isinstance(v, (bool, np.bool_)) for v in nn.iloc[:1000]) and \
                nn.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            col = col.astype("boolean")
    if pd.api.types.is_bool_dtype(col.dtype):
        na = col.isna().to_numpy(dtype=bool)
        out = np.where(col.fillna(False).to_numpy(dtype=bool), '<c t="b"><v>1</v></c>', '<c t="b"><v>0</v></c>')
        out = out.astype(object)
        out[na] = "<c/>"
        return out.tolist()
    if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_float_dtype(col.dtype):
        vals = col.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(vals)
        if pd.api.types.is_integer_dtype(col.dtype):
            txt = col.astype(object).map(lambda v: "" if pd.isna(v) else str(int(v))).to_numpy(dtype=object) \
                if col.isna().any() else col.astype("int64").astype(str).to_numpy(dtype=object)
        else:
            txt = np.where(ok, vals, 0.0).astype(str).astype(object)  # shortest repr of each float
        out = np.full(n, "<c/>", dtype=object)
        out[ok] = "<c><v>" + txt[ok] + "</v></c>"
        return out.tolist()
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        col = col.map(lambda v: v.isoformat() if not pd.isna(v) else None, na_action="ignore")
    txt = _text(col)
    out = np.full(n, "<c/>", dtype=object)
    ok = np.array([t is not None for t in txt], dtype=bool)
    if ok.any():
        out[ok] = '<c t="inlineStr"><is><t xml:space="preserve">' + txt[ok].astype(str).astype(object) + "</t></is></c>"
    return out.tolist()


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


#: rows formatted at a time (bounds the memory a big sheet takes while it is written)
CHUNK_ROWS = 20_000


def _write_sheet(f, df: pd.DataFrame):
    """Write one worksheet's XML to the open zip member ``f``, ``CHUNK_ROWS`` rows at a time."""
    header = "".join('<c t="inlineStr" s="1"><is><t xml:space="preserve">' + t + "</t></is></c>"
                     for t in _text(pd.Series([str(c) for c in df.columns], dtype=object)))
    widths = []
    for j, c in enumerate(df.columns):
        sample = df.iloc[:50, j].map(str).map(len).max() if len(df) else 0
        sample = int(sample) if pd.notna(sample) else 0
        w = max(len(str(c)) * 2 + 2, min(sample + 2, 40), 8)
        widths.append(f'<col min="{j + 1}" max="{j + 1}" width="{min(w, 60)}" customWidth="1"/>')
    last = f"{_col_letter(max(df.shape[1] - 1, 0))}{len(df) + 1}"
    f.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="A1:{last}"/>'
             '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
             'state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
             + ("<cols>" + "".join(widths) + "</cols>" if widths else "")
             + '<sheetData><row r="1">' + header + "</row>").encode("utf-8"))
    if df.shape[1]:
        for start in range(0, len(df), CHUNK_ROWS):
            sub = df.iloc[start:start + CHUNK_ROWS]
            cols = [_cells(sub.iloc[:, j]) for j in range(sub.shape[1])]
            f.write("".join(f'<row r="{start + i + 2}">' + "".join(r) + "</row>"
                            for i, r in enumerate(zip(*cols))).encode("utf-8"))
    f.write(b"</sheetData></worksheet>")


def sheet_names(names) -> list[str]:
    """Valid, unique sheet names (at most 31 characters, none of ``[]:*?/\\``)."""
    out, seen = [], set()
    for name in names:
        base = _SHEET_BAD.sub("_", str(name)).strip("'") or "sheet"
        cand, i = base[:31], 2
        while cand.lower() in seen:
            suffix = f"_{i}"
            cand = base[:31 - len(suffix)] + suffix
            i += 1
        seen.add(cand.lower())
        out.append(cand)
    return out


_STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill>'
           '<fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           "</styleSheet>")


def write_xlsx(sheets: list[tuple[str, pd.DataFrame]], path: Path | str) -> Path:
    """Write ``[(sheet name, frame), ...]`` (columns as they are, no index) to ``path``."""
    path = Path(path)
    names = sheet_names([n for n, _ in sheets])
    ns = "http://schemas.openxmlformats.org"
    ct = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          f'<Types xmlns="{ns}/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/styles.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>']
    wb_sheets, wb_rels = [], []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for i, ((_, df), name) in enumerate(zip(sheets, names), start=1):
            with z.open(f"xl/worksheets/sheet{i}.xml", "w") as f:
                _write_sheet(f, df)
            ct.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
            esc = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            wb_sheets.append(f'<sheet name="{esc}" sheetId="{i}" r:id="rId{i}"/>')
            wb_rels.append(f'<Relationship Id="rId{i}" Type="{ns}/officeDocument/2006/relationships/worksheet" '
                           f'Target="worksheets/sheet{i}.xml"/>')
        n = len(names)
        wb_rels.append(f'<Relationship Id="rId{n + 1}" Type="{ns}/officeDocument/2006/relationships/styles" '
                       'Target="styles.xml"/>')
        z.writestr("[Content_Types].xml", "".join(ct) + "</Types>")
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   f'<Relationships xmlns="{ns}/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   f'<workbook xmlns="{ns}/spreadsheetml/2006/main" '
                   f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>' + "".join(wb_sheets)
                   + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   f'<Relationships xmlns="{ns}/package/2006/relationships">' + "".join(wb_rels)
                   + "</Relationships>")
        z.writestr("xl/styles.xml", _STYLES)
    return path
