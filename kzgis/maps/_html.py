"""HTML fragments of a map page (title block, legend) and the ``index.html`` page.

Every text that comes from data or options is escaped here with :func:`html.escape`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from . import styles


def main_title(title: str) -> str:
    """"开州区" -> "开州区 农村消防基础设施规划分析图"; a recipe title that already says what the
    plan is (contains 规划 or 消防) is kept as it is."""
    title = (title or "").strip() or "开州区"
    if "规划" in title or "消防" in title:
        return title
    return f"{title} 农村消防基础设施规划分析图"


@dataclass
class LegendSection:
    key: str  # layer key (data-kz-layer)
    title: str
    geom: str
    entries: list  # (label, style)
    show: bool = True


@dataclass
class PageInfo:
    title: str
    subtitle: str
    sources: str
    date: str
    synthetic: bool
    review: str
    nav: list = field(default_factory=list)  # (text, href)
    online: bool = False


def title_block(info: PageInfo) -> str:
    nav = ""
    if info.nav:
        links = "　".join(f'<a href="{escape(h, quote=True)}">{escape(t)}</a>' for t, h in info.nav)
        nav = f'<div class="kz-nav">{links}</div>'
    synthetic = ""
    if info.synthetic:
        synthetic = ('<div class="kz-synthetic" id="kz-synthetic">示意数据：部分图层为示意（合成）数据，'
                     '仅供方法演示，不作为规划依据</div>')
    return (
        '<div id="kz-title">'
        f'<div class="kz-t1">{escape(info.title)}</div>'
        f'<div class="kz-t2">{escape(info.subtitle)}</div>'
        f'<div class="kz-t3">数据来源：{escape(info.sources)}　制图日期：{escape(info.date)}</div>'
        f"{synthetic}"
        '<div id="kz-gcj-badge" style="display:none">'
        "高德底图（GCJ-02）：专题图层已偏移到GCJ-02显示，坐标读数仍为CGCS2000</div>"
        f"{nav}</div>"
    )


def legend(sections: list[LegendSection], note: str = "") -> str:
    body = []
    for sec in sections:
        items = "".join(
            f'<div class="kz-litem"><span class="kz-sw">{styles.swatch_svg(style, sec.geom)}</span>'
            f"<span>{escape(str(label))}</span></div>"
            for label, style in sec.entries
        )
        hidden = "" if sec.show else ' style="display:none"'
        body.append(f'<div class="kz-lsec" data-kz-layer="{escape(sec.key, quote=True)}"{hidden}>'
                    f'<div class="kz-lsec-h">{escape(sec.title)}</div>{items}</div>')
    empty = '<div class="kz-legend-empty" style="display:none">（未显示专题图层）</div>'
    note_html = f'<div class="kz-legend-note">{escape(note)}</div>' if note else ""
    return (f'<div id="kz-legend" class="leaflet-control"><div class="kz-legend-h">图例</div>'
            f'<div class="kz-legend-body">{"".join(body)}{empty}{note_html}</div></div>')


_INDEX_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 0;
       background: #f5f5f2; color: #222; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
.sub { color: #555; margin-bottom: 14px; }
.synthetic { color: #b30000; border: 1px dashed #b30000; background: #fff5f0; padding: 6px 10px;
             display: inline-block; font-weight: bold; margin: 6px 0 14px; }
h2 { font-size: 17px; margin: 22px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
ul.maps { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr));
          gap: 8px; }
ul.maps li a { display: block; padding: 8px 10px; background: #fff; border: 1px solid #d0d0d0;
               border-radius: 4px; text-decoration: none; color: #08306b; }
ul.maps li a:hover { border-color: #2171b5; background: #f0f6fc; }
ul.maps .size { color: #888; font-size: 12px; }
.big a { font-size: 16px; font-weight: bold; }
footer { margin-top: 28px; font-size: 12px; color: #666; line-height: 1.6; }
"""


def index_page(title: str, date: str, sources: str, synthetic: bool, review: str, county, towns,
               offline: bool, layer_titles: list[str], hillshade: bool = True) -> str:
    """The index: the county map first, then one link per township map.

    ``county`` is (filename, size_bytes) or None; ``towns`` a list of (town, filename, size_bytes).
    """
    def size(b):
        return f"{b / 1e6:.1f} MB" if b >= 1e5 else f"{b / 1e3:.0f} KB"

    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(main_title(title))} · 索引</title><style>{_INDEX_CSS}</style></head><body><main>",
        f"<h1>{escape(main_title(title))}</h1>",
        f'<div class="sub">制图日期：{escape(date)}　数据来源：{escape(sources)}</div>',
    ]
    if synthetic:
        parts.append('<div class="synthetic" id="kz-synthetic">示意数据：部分图层为示意（合成）数据，'
                     "仅供方法演示，不作为规划依据</div>")
    if county:
        parts.append('<h2>区域总图</h2><ul class="maps big">'
                     f'<li><a href="{escape(county[0], quote=True)}">全域总图'
                     f' <span class="size">{size(county[1])}</span></a></li></ul>')
    if towns:
        parts.append(f"<h2>乡镇（街道）分图（{len(towns)} 幅）</h2><ul class=\"maps\">")
        for town, fname, b in towns:
            parts.append(f'<li><a href="{escape(fname, quote=True)}">{escape(town)}'
                         f' <span class="size">{size(b)}</span></a></li>')
        parts.append("</ul>")
    mode = (("离线单文件：无需联网即可打开，底图为数字高程模型地形晕渲" if hillshade else
             "离线单文件：无需联网即可打开；无 DEM（数字高程模型），无地形晕渲底图，以乡镇界和标注代替") if offline
            else "在线底图：天地图 / 高德（GCJ-02，专题图层自动偏移）/ OpenStreetMap，可在图层控件中切换")
    layers = "、".join(escape(t) for t in layer_titles) if layer_titles else "（无）"
    parts.append(f"<footer><div>{mode}。</div><div>图中专题图层：{layers}。</div>"
                 f"<div>坐标系：CGCS2000；{escape(review)}。</div></footer></main></body></html>")
    return "\n".join(parts)
