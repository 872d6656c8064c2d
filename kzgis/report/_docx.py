"""Render a :class:`~._model.Document` to Word (.docx) with python-docx.

Chinese typesetting conventions: body in 宋体 小四, headings in 黑体, table captions above the table
(表N), figure captions below the figure (图N), header row repeated on every page, page numbers in
the footer.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document as _new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ._model import Document, Figure, Heading, Paragraph, Table

BODY_FONT = "宋体"
HEAD_FONT = "黑体"
LATIN_FONT = "Times New Roman"


def _set_font(style_or_run, east_asia: str, latin: str = LATIN_FONT, size=None, bold=None, color=None):
    font = style_or_run.font
    font.name = latin
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if color is not None:
        font.color.rgb = RGBColor.from_string(color)
    el = style_or_run.element
    rpr = el.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)


def _styles(doc):
    st = doc.styles
    _set_font(st["Normal"], BODY_FONT, size=12)
    pf = st["Normal"].paragraph_format
    pf.line_spacing = 1.5
    pf.space_after = Pt(0)
    for name, size in (("Heading 1", 16), ("Heading 2", 14), ("Heading 3", 12), ("Title", 22)):
        s = st[name]
        _set_font(s, HEAD_FONT, size=size, bold=True, color="000000")
        s.paragraph_format.space_before = Pt(12 if name != "Heading 3" else 6)
        s.paragraph_format.space_after = Pt(6)
        s.paragraph_format.keep_with_next = True
    # the default Title style draws a blue rule under the text: remove it
    ppr = st["Title"].element.get_or_add_pPr()
    for el in ppr.findall(qn("w:pBdr")):
        ppr.remove(el)


def _page_number_field(paragraph):
    run = paragraph.add_run()
    for tag, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if tag:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), tag)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)


def _shade(cell, fill: str):
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _repeat_header(row):
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


TABLE_STYLE = "表格文字"
TABLE_STYLE_LEFT = "表格文字左"


def _table_styles(doc):
    """Paragraph styles for table cells (set once; per-cell formatting is slow in python-docx)."""
    from docx.enum.style import WD_STYLE_TYPE

    for name, align in ((TABLE_STYLE, WD_ALIGN_PARAGRAPH.CENTER), (TABLE_STYLE_LEFT, WD_ALIGN_PARAGRAPH.LEFT)):
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = doc.styles["Normal"]
        _set_font(st, BODY_FONT, size=9)
        pf = st.paragraph_format
        pf.first_line_indent = Cm(0)
        pf.line_spacing = 1.0
        pf.space_before = pf.space_after = Pt(1)
        pf.alignment = align
        _STYLE_IDS[name] = st.style_id


_STYLE_IDS: dict = {}


def _cell_text(cell, text: str, *, bold=False, left=False):
    p = cell.paragraphs[0]
    # set the style id directly: python-docx's style-by-name lookup scans every style per call
    p._p.style = _STYLE_IDS[TABLE_STYLE_LEFT if left else TABLE_STYLE]
    run = p.add_run(text)
    if bold:
        run.bold = True


def _caption(doc, text: str):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Cm(0)
    p.paragraph_format.keep_with_next = True
    r = p.add_run(text)
    _set_font(r, HEAD_FONT, size=10.5, bold=True)
    return p


def _note(doc, text: str):
    p = doc.add_paragraph()
    p.paragraph_format.first_line_indent = Cm(0)
    p.paragraph_format.line_spacing = 1.2
    r = p.add_run(text)
    r.font.size = Pt(9)
    return p


def _text_width(text: str) -> int:
    """Display width in half-width units (CJK and full-width characters count 2)."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def column_widths_cm(header, rows, total_cm: float = 16.0) -> list[float]:
    """Column widths from the longest text of each column (header counted at half weight: it may wrap)."""
    ncol = len(header)
    need = []
    for i in range(ncol):
        cells = [r[i] for r in rows if i < len(r)]
        w = max([_text_width(c) for c in cells] + [(_text_width(header[i]) + 1) // 2, 4])
        need.append(min(w, 44) + 2)
    unit = 0.2  # cm per half-width character at 9 pt, with cell padding
    natural = [n * unit for n in need]
    if sum(natural) <= total_cm:
        return natural
    return [total_cm * n / sum(need) for n in need]


def _table(doc, t: Table):
    _caption(doc, f"{t.label}  {t.caption}")
    ncol = max(len(t.header), max((len(r) for r in t.rows), default=0), 1)
    table = doc.add_table(rows=1, cols=ncol)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header = list(t.header) + [""] * (ncol - len(t.header))
    widths = [Cm(w) for w in column_widths_cm(header, t.rows)]
    for col, w in zip(table.columns, widths):
        col.width = w
    hdr = table.rows[0]
    _repeat_header(hdr)
    for i, h in enumerate(t.header):
        hdr.cells[i].width = widths[i]
        _cell_text(hdr.cells[i], h, bold=True)
        _shade(hdr.cells[i], "D9E2F3")
    if not t.rows:
        row = table.add_row()
        _cell_text(row.cells[0], "（无）")
    for k, r in enumerate(t.rows):
        row = table.add_row()
        bold = t.total_row and k == len(t.rows) - 1
        cells = row.cells
        for i, v in enumerate(r[:ncol]):
            cells[i].width = widths[i]
            _cell_text(cells[i], v, bold=bold, left=len(v) > 16)
    if t.note:
        _note(doc, f"注：{t.note}")
    else:
        doc.add_paragraph().paragraph_format.space_after = Pt(0)


def _figure(doc, f: Figure, width_cm: float):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Cm(0)
    p.paragraph_format.keep_with_next = True
    p.paragraph_format.line_spacing = 1.0
    p.add_run().add_picture(io.BytesIO(f.png), width=Cm(width_cm))
    _caption(doc, f"{f.label}  {f.caption}").paragraph_format.keep_with_next = False


def _paragraph(doc, blk: Paragraph):
    p = doc.add_paragraph()
    if blk.kind == "notice":
        p.paragraph_format.first_line_indent = Cm(0)
        r2 = p.add_run(blk.text)
        r2.font.color.rgb = RGBColor.from_string("B00000")
        r2.font.bold = True
        pbdr = OxmlElement("w:pBdr")
        for side in ("top", "left", "bottom", "right"):
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), "8")
            el.set(qn("w:space"), "4")
            el.set(qn("w:color"), "B00000")
            pbdr.append(el)
        p._p.get_or_add_pPr().append(pbdr)
        return
    p.paragraph_format.first_line_indent = Pt(24)
    r = p.add_run(blk.text)
    if blk.kind == "note":
        r.font.size = Pt(10.5)
        r.font.color.rgb = RGBColor.from_string("404040")
    elif blk.kind == "missing":
        r.font.color.rgb = RGBColor.from_string("7F6000")


def _cover(doc, d: Document):
    for _ in range(6):
        doc.add_paragraph()
    t = doc.add_paragraph(style="Title")
    t.alignment = WD_ALIGN_PARAGRAPH.CENTER
    t.add_run(d.title)
    s = doc.add_paragraph()
    s.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = s.add_run(d.subtitle)
    _set_font(r, HEAD_FONT, size=26, bold=True)
    for _ in range(6):
        doc.add_paragraph()
    for k, v in d.meta:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        r = p.add_run(f"{k}：{v}")
        _set_font(r, BODY_FONT, size=14)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def render(d: Document, path: Path) -> Path:
    doc = _new_docx()
    _styles(doc)
    _table_styles(doc)
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.5)
    sec.top_margin, sec.bottom_margin = Cm(2.5), Cm(2.2)
    hp = sec.header.paragraphs[0]
    hp.text = f"{d.title}  {d.subtitle}"
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for r in hp.runs:
        r.font.size = Pt(9)
    fp = sec.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number_field(fp)
    sec.different_first_page_header_footer = True
    doc.core_properties.title = f"{d.title} {d.subtitle}"
    doc.core_properties.subject = "消防专篇"
    doc.core_properties.author = dict(d.meta).get("编制单位", "kzgis")
    _cover(doc, d)
    width_cm = 16.0
    for blk in d.blocks:
        if isinstance(blk, Heading):
            doc.add_heading(blk.text, level=min(max(blk.level, 1), 3))
        elif isinstance(blk, Paragraph):
            _paragraph(doc, blk)
        elif isinstance(blk, Table):
            _table(doc, blk)
        elif isinstance(blk, Figure):
            _figure(doc, blk, width_cm)
    path = Path(path)
    doc.save(path)
    return path
