"""Text that is safe to write: no control or bidirectional-override characters, spreadsheet cells
that can never become formulas, file names that fit the file system.

* :func:`clean` removes C0/C1 control characters (keeping tab and newline) and the Unicode
  bidirectional embedding / override / isolate characters U+202A-U+202E and U+2066-U+2069, which can
  disguise text in a report or on a map. Input layers are cleaned when they are loaded (with a
  warning naming the features), and the writers clean again.
* :func:`looks_like_formula` is True for text a spreadsheet might evaluate (``=``, ``+``, ``-``,
  ``@``, tab, CR at the start); :func:`protect_workbook` stores such cells as text.
* :func:`safe_filename` keeps a file name within 255 bytes with a stable hash suffix.
"""

from __future__ import annotations

import hashlib
import re

#: bidirectional embedding/override (U+202A-U+202E) and isolate (U+2066-U+2069) characters
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + BIDI + "]")
_BAD_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f" + BIDI + "]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def has_bad(text) -> bool:
    """True when ``text`` holds a control or bidirectional-override character."""
    return isinstance(text, str) and _BAD.search(text) is not None


def clean(text, one_line: bool = False):
    """``text`` without control characters (tab/newline kept unless ``one_line``) and bidi overrides.

    Anything that is not a ``str`` is returned unchanged.
    """
    if not isinstance(text, str):
        return text
    return (_BAD_ONE_LINE if one_line else _BAD).sub("", text)


def looks_like_formula(text) -> bool:
    return isinstance(text, str) and text.startswith(FORMULA_START)


def protect_workbook(path) -> int:
    """Re-save an .xlsx so that no text cell is a formula and none holds a control character.

    pandas/openpyxl store a string beginning with ``=`` as a live formula; here every such cell
    becomes a text cell again (``data_type == 's'``). kzgis writes no formulas of its own.
    Returns the number of cells changed.
    """
    import openpyxl

    wb = openpyxl.load_workbook(path)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                if not isinstance(v, str):
                    continue
                c = clean(v)
                if c != v or cell.data_type == "f":
                    cell.value = c
                    cell.data_type = "s"
                    n += 1
    if n:
        wb.save(path)
    return n


def safe_filename(stem: str, suffix: str = "", max_bytes: int = 200) -> str:
    """A file name from ``stem`` + ``suffix``: reserved and control characters replaced, and when the
    UTF-8 name would exceed ``max_bytes`` (file systems allow 255), shortened with a stable hash
    suffix of the full stem so that different long names stay different."""
    s = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", clean(str(stem), one_line=True)).strip().strip(".")
    s = s or "_"
    if len((s + suffix).encode("utf-8")) <= max_bytes:
        return s + suffix
    tag = "-" + hashlib.sha1(str(stem).encode("utf-8")).hexdigest()[:10]
    room = max_bytes - len((tag + suffix).encode("utf-8"))
    cut = s.encode("utf-8")[:max(room, 1)].decode("utf-8", errors="ignore")
    return cut + tag + suffix
