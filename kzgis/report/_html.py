"""Render a :class:`~._model.Document` to one self-contained HTML file.

Figures are embedded as base64 PNG, styles are inline, nothing is fetched from the network (the
file opens on an offline government intranet). Every value is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from ._model import Document, Figure, Heading, Paragraph, Table

CSS = """
body{font-family:"Noto Serif CJK SC","Source Han Serif SC","SimSun","宋体",serif;max-width:900px;margin:2em auto;
padding:0 1.5em;color:#111;line-height:1.8;font-size:16px}
h1,h2,h3,.title,.subtitle{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","SimHei","黑体",sans-serif}
.cover{text-align:center;border-bottom:2px solid #333;padding-bottom:1em;margin-bottom:1.5em}
.title{font-size:26px;font-weight:bold;margin:0.2em 0}.subtitle{font-size:30px;font-weight:bold;margin:0.2em 0 0.6em}
.meta{display:inline-block;text-align:left;font-size:15px}.meta div{margin:0.1em 0}
nav.toc{background:#f6f6f6;border:1px solid #ddd;padding:0.6em 1.2em;margin:1em 0 2em;font-size:14px}
nav.toc ul{margin:0.2em 0;padding-left:1.2em}nav.toc li{list-style:none}
h1{font-size:22px;border-bottom:1px solid #999;margin-top:2em}h2{font-size:18px;margin-top:1.4em}h3{font-size:16px}
p{text-indent:2em;margin:0.5em 0}p.note{color:#444;font-size:14px}p.missing{color:#7f6000;background:#fff8e1;
padding:0.2em 0.5em}p.item{}p.notice{text-indent:0;color:#b00000;font-weight:bold;border:2px solid #b00000;padding:0.5em 0.8em}
figure{margin:1.2em 0;text-align:center}figcaption{font-family:"Noto Sans CJK SC","SimHei",sans-serif;font-weight:bold;
font-size:15px;margin:0.3em 0}
table{border-collapse:collapse;margin:0 auto;font-size:14px;line-height:1.45}
th,td{border:1px solid #777;padding:0.25em 0.6em;text-align:center}th{background:#d9e2f3}
tr.total td{font-weight:bold;background:#f2f2f2}.tnote{font-size:13px;color:#333;text-align:left;margin:0.3em auto 0;
max-width:100%}
img{max-width:100%;height:auto;border:1px solid #ccc}
@media print{nav.toc{display:none}body{max-width:none;margin:0}figure,table{page-break-inside:avoid}
h1,h2{page-break-after:avoid}}
"""


def esc(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _table(t: Table, anchor: str) -> str:
    out = [f'<figure class="table" id="{anchor}"><figcaption>{esc(t.label)}&#x2003;{esc(t.caption)}</figcaption>',
           "<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in t.header) + "</tr></thead><tbody>"]
    if not t.rows:
        out.append(f'<tr><td colspan="{max(len(t.header), 1)}">（无）</td></tr>')
    for k, r in enumerate(t.rows):
        cls = ' class="total"' if t.total_row and k == len(t.rows) - 1 else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    if t.note:
        out.append(f'<div class="tnote">注：{esc(t.note)}</div>')
    out.append("</figure>")
    return "".join(out)


def _figure(f: Figure, anchor: str) -> str:
    data = base64.b64encode(f.png).decode("ascii")
    return (f'<figure id="{anchor}"><img alt="{esc(f.label)} {esc(f.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(f.label)}&#x2003;{esc(f.caption)}</figcaption></figure>")


def render(d: Document, path: Path) -> Path:
    body, toc = [], []
    for i, blk in enumerate(d.blocks):
        anchor = f"b{i}"
        if isinstance(blk, Heading):
            lvl = min(max(blk.level, 1), 3)
            body.append(f'<h{lvl} id="{anchor}">{esc(blk.text)}</h{lvl}>')
            if lvl <= 2:
                toc.append((lvl, anchor, blk.text))
        elif isinstance(blk, Paragraph):
            if blk.text:
                body.append(f'<p class="{esc(blk.kind)}">{esc(blk.text)}</p>')
        elif isinstance(blk, Table):
            body.append(_table(blk, anchor))
        elif isinstance(blk, Figure):
            body.append(_figure(blk, anchor))
    toc_html = ["<nav class=\"toc\"><strong>目录</strong><ul>"]
    for lvl, anchor, text in toc:
        pad = "" if lvl == 1 else ' style="padding-left:1.5em"'
        toc_html.append(f'<li{pad}><a href="#{anchor}">{esc(text)}</a></li>')
    toc_html.append("</ul></nav>")
    meta = "".join(f"<div>{esc(k)}：{esc(v)}</div>" for k, v in d.meta)
    page = (f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(d.title)} {esc(d.subtitle)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f'<header class="cover"><div class="title">{esc(d.title)}</div><div class="subtitle">{esc(d.subtitle)}</div>'
            f'<div class="meta">{meta}</div></header>\n'
            + "".join(toc_html) + "\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path
