"""Render a :class:`~._model.Document` to Word (.docx) with python-docx.

Chinese typesetting conventions: body in 宋体 小四, headings in 黑体, table captions above the table
(表N), figure captions below the figure (图N), header row repeated on every page, page numbers in
the footer.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.sax.saxutils import escape as _xml_escape

from docx import Document as _new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
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


def _xml_attr(v: str) -> str:
    return _xml_escape(v, {'"': "&quot;"})


def _caption(doc, text: str):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Cm(0)
    p.paragraph_format.keep_with_next = True
    r = p.add_run(text)
    _set_font(r, HEAD_FONT, size=10.5, bold=True)
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


_TBL_PR = ('<w:tblPr><w:tblStyle w:val="{style}"/><w:tblW w:type="auto" w:w="0"/><w:jc w:val="center"/>'
           '<w:tblLayout w:type="fixed"/><w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" '
           'w:noHBand="0" w:noVBand="1" w:val="04A0"/></w:tblPr>')
_SHADE = '<w:shd w:val="clear" w:color="auto" w:fill="D9E2F3"/>'
_BREAKS = re.compile(r"(\t|\r|\n)")


def _run_xml(text: str, bold: bool = False, rpr: str = "") -> str:
    """``<w:r>`` holding ``text`` as python-docx's ``add_run`` writes it (tabs and line breaks as elements)."""
    out = ["<w:r>", rpr or ("<w:rPr><w:b/></w:rPr>" if bold else "")]
    for piece in _BREAKS.split(text):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            out.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            out.append(f"<w:t{space}>{_xml_escape(piece)}</w:t>")
    out.append("</w:r>")
    return "".join(out)


def _cell_xml(width: int, text: str | None, *, bold=False, left=False, shade=False) -> str:
    tcpr = f'<w:tcPr><w:tcW w:type="dxa" w:w="{width}"/>{_SHADE if shade else ""}</w:tcPr>'
    if text is None:  # a cell the row does not fill
        return f"<w:tc>{tcpr}<w:p/></w:tc>"
    style = _STYLE_IDS[TABLE_STYLE_LEFT if left else TABLE_STYLE]
    return (f'<w:tc>{tcpr}<w:p><w:pPr><w:pStyle w:val="{_xml_attr(style)}"/></w:pPr>'
            f"{_run_xml(text, bold)}</w:p></w:tc>")


def _table_xml(t: Table, ncol: int, twips: list[int], style_id: str) -> str:
    """The whole ``<w:tbl>`` as text: one parse instead of python-docx building it cell by cell (the same
    elements: grid, fixed layout, repeated shaded header row, per-cell width and paragraph style)."""
    out = [f"<w:tbl {nsdecls('w')}>", _TBL_PR.format(style=_xml_attr(style_id)), "<w:tblGrid>"]
    out += [f'<w:gridCol w:w="{w}"/>' for w in twips]
    out.append('</w:tblGrid><w:tr><w:trPr><w:tblHeader w:val="true"/></w:trPr>')
    for i in range(ncol):
        if i < len(t.header):
            out.append(_cell_xml(twips[i], t.header[i], bold=True, shade=True))
        else:
            out.append(_cell_xml(twips[i], None))
    out.append("</w:tr>")
    if not t.rows:
        out.append("<w:tr>" + _cell_xml(twips[0], "（无）") + "".join(_cell_xml(w, None) for w in twips[1:]) + "</w:tr>")
    last = len(t.rows) - 1
    for k, r in enumerate(t.rows):
        bold = t.total_row and k == last
        out.append("<w:tr>")
        for i in range(ncol):
            v = r[i] if i < len(r) else None
            out.append(_cell_xml(twips[i], v, bold=bold, left=v is not None and len(v) > 16))
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def _table(t: Table, style_id: str) -> str:
    """Caption, table and note (or spacer) as WordprocessingML text."""
    ncol = max(len(t.header), max((len(r) for r in t.rows), default=0), 1)
    header = list(t.header) + [""] * (ncol - len(t.header))
    twips = [Cm(w).twips for w in column_widths_cm(header, t.rows)]
    out = _caption_xml(f"{t.label}  {t.caption}") + _table_xml(t, ncol, twips, style_id)
    if t.note:
        return out + _P_NOTE.format(run=_run_xml(f"注：{t.note}", rpr=_RPR_NOTE))
    return out + _P_SPACER


def _figure(doc, f: Figure, width_cm: float):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Cm(0)
    p.paragraph_format.keep_with_next = True
    p.paragraph_format.line_spacing = 1.0
    p.add_run().add_picture(io.BytesIO(f.png), width=Cm(width_cm))
    _caption(doc, f"{f.label}  {f.caption}").paragraph_format.keep_with_next = False


# Paragraphs as python-docx writes them with the formatting calls of the first version of this module
# (p.paragraph_format.first_line_indent = Pt(24), run.font.color.rgb = ...), written as text: the same
# elements, in the same order, without building them one attribute at a time.
_RPR_CAPTION = (f'<w:rPr><w:rFonts w:ascii="{LATIN_FONT}" w:hAnsi="{LATIN_FONT}" w:eastAsia="{HEAD_FONT}"/><w:b/>'
                f'<w:sz w:val="21"/></w:rPr>')
_RPR_NOTE = '<w:rPr><w:sz w:val="18"/></w:rPr>'
_P_CAPTION = '<w:p><w:pPr><w:keepNext/><w:ind w:firstLine="0"/><w:jc w:val="center"/></w:pPr>{run}</w:p>'
_P_NOTE = '<w:p><w:pPr><w:spacing w:line="288" w:lineRule="auto"/><w:ind w:firstLine="0"/></w:pPr>{run}</w:p>'
_P_SPACER = '<w:p><w:pPr><w:spacing w:after="0"/></w:pPr></w:p>'
_P_BODY = '<w:p><w:pPr><w:ind w:firstLine="480"/></w:pPr>{run}</w:p>'
_RPR_KIND = {"note": '<w:rPr><w:color w:val="404040"/><w:sz w:val="21"/></w:rPr>',
             "missing": '<w:rPr><w:color w:val="7F6000"/></w:rPr>'}
_P_NOTICE = ('<w:p><w:pPr><w:ind w:firstLine="0"/><w:pBdr>'
             + "".join(f'<w:{side} w:val="single" w:sz="8" w:space="4" w:color="B00000"/>'
                       for side in ("top", "left", "bottom", "right"))
             + '</w:pBdr></w:pPr>{run}</w:p>')
_RPR_NOTICE = '<w:rPr><w:b/><w:color w:val="B00000"/></w:rPr>'


def _caption_xml(text: str) -> str:
    return _P_CAPTION.format(run=_run_xml(text, rpr=_RPR_CAPTION))


def _paragraph(blk: Paragraph) -> str:
    if blk.kind == "notice":
        return _P_NOTICE.format(run=_run_xml(blk.text, rpr=_RPR_NOTICE))
    return _P_BODY.format(run=_run_xml(blk.text, rpr=_RPR_KIND.get(blk.kind, "")))


def _heading(blk: Heading, style_ids: dict) -> str:
    style = _xml_attr(style_ids[min(max(blk.level, 1), 3)])
    return f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{_run_xml(blk.text) if blk.text else ""}</w:p>'


def _append_xml(doc, parts: list[str]):
    """Parse the pending body text once and move its elements before the section properties."""
    if not parts:
        return
    body = doc.element.body
    chunk = parse_xml(f"<w:body {nsdecls('w')}>{''.join(parts)}</w:body>")
    end = body.sectPr
    for el in list(chunk):
        if end is not None:
            end.addprevious(el)
        else:
            body.append(el)
    parts.clear()


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


_TEMPLATE: list[bytes] = []


def _styled_docx():
    """A new document with the report's styles: python-docx's default template styled once per process,
    then reopened from bytes for every document (styling it anew took as long again)."""
    if not _TEMPLATE:
        doc = _new_docx()
        _styles(doc)
        _table_styles(doc)
        buf = io.BytesIO()
        doc.save(buf)
        _TEMPLATE.append(buf.getvalue())
    return _new_docx(io.BytesIO(_TEMPLATE[0]))


def render(d: Document, path: Path) -> Path:
    doc = _styled_docx()
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
    heads = {lvl: doc.styles[f"Heading {lvl}"].style_id for lvl in (1, 2, 3)}
    grid = doc.styles["Table Grid"].style_id
    pending: list[str] = []  # body text not parsed yet (figures go through python-docx: they add an image part)
    for blk in d.blocks:
        if isinstance(blk, Heading):
            pending.append(_heading(blk, heads))
        elif isinstance(blk, Paragraph):
            pending.append(_paragraph(blk))
        elif isinstance(blk, Table):
            pending.append(_table(blk, grid))
        elif isinstance(blk, Figure):
            _append_xml(doc, pending)
            _figure(doc, blk, width_cm)
    _append_xml(doc, pending)
    path = Path(path)
    doc.save(path)
    return path
