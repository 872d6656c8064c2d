"""Offline assets: Leaflet and its plugins, installed with kzgis, inlined into each HTML file.

folium names its JavaScript/CSS by CDN URL. Our folium elements name them ``kzasset:PATH``
(PATH relative to ``kzgis/maps/assets/``); :func:`inline` replaces each such ``<script src>`` /
``<link href>`` by the file's content, and every ``url(...)`` inside the CSS (Leaflet's layer icon,
the measure tool's buttons, the full-screen icon) by a ``data:`` URI, so the browser never asks for
a file. Where each vendored file came from, and its licence, is in ``assets/README.md``.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

ASSET_DIR = Path(__file__).with_name("assets")
PREFIX = "kzasset:"

LEAFLET_JS = PREFIX + "leaflet/leaflet.js"
LEAFLET_CSS = PREFIX + "leaflet/leaflet.css"
FULLSCREEN_JS = PREFIX + "leaflet.fullscreen/Control.FullScreen.js"
FULLSCREEN_CSS = PREFIX + "leaflet.fullscreen/Control.FullScreen.css"
MEASURE_JS = PREFIX + "leaflet-measure/leaflet-measure.min.js"
MEASURE_CSS = PREFIX + "leaflet-measure/leaflet-measure.css"
KZMAP_JS = PREFIX + "kzmap.js"
KZMAP_CSS = PREFIX + "kzmap.css"

#: (component, version, licence, licence file) of every third-party file we inline.
THIRD_PARTY = [
    ("Leaflet", "1.9.4", "BSD-2-Clause", "leaflet/LICENSE"),
    ("Leaflet.fullscreen", "3.0.2", "MIT", "leaflet.fullscreen/LICENSE"),
    ("leaflet-measure", "2.1.7", "MIT", "leaflet-measure/LICENSE"),
]

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif", ".jpg": "image/jpeg",
         ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}
_SCRIPT_RE = re.compile(r'<script\s+src="' + PREFIX + r'([^"]+)"\s*>\s*</script>')
_LINK_RE = re.compile(r'<link\s+rel="stylesheet"\s+href="' + PREFIX + r'([^"]+)"\s*/?>')
_URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


class AssetError(RuntimeError):
    """A vendored asset is missing (a broken install) or an unknown external reference remains."""


def asset_path(rel: str) -> Path:
    p = (ASSET_DIR / rel).resolve()
    if ASSET_DIR.resolve() not in p.parents or not p.is_file():
        raise AssetError(f"map asset '{rel}' is missing from {ASSET_DIR}; reinstall kzgis "
                         "(the package data maps/assets/** must be installed)")
    return p


@cache
def read_js(rel: str) -> str:
    text = asset_path(rel).read_text(encoding="utf-8")
    # a literal "</script" would end the inline element early
    return text.replace("</script", "<\\/script")


def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@cache
def read_css(rel: str) -> str:
    path = asset_path(rel)
    text = path.read_text(encoding="utf-8")

    def repl(m):
        url = m.group(2).strip()
        if url.startswith(("data:", "#")):
            return m.group(0)
        if re.match(r"^[a-z]+:|^//", url, re.I):
            raise AssetError(f"{rel} refers to an external resource {url!r}")
        target = (path.parent / url.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            raise AssetError(f"{rel} refers to {url!r}, which is not vendored next to it")
        return f'url("{_data_uri(target)}")'

    return _URL_RE.sub(repl, text).replace("</style", "<\\/style")


def inline(html: str) -> str:
    """Replace every ``kzasset:`` script/stylesheet reference by the file's content."""
    html = _SCRIPT_RE.sub(lambda m: f"<script>/* {m.group(1)} */\n{read_js(m.group(1))}\n</script>", html)
    html = _LINK_RE.sub(lambda m: f"<style>/* {m.group(1)} */\n{read_css(m.group(1))}\n</style>", html)
    if PREFIX in html:
        left = re.findall(PREFIX + r'[^"\s]*', html)
        raise AssetError(f"asset references left after inlining: {sorted(set(left))}")
    return html


def licence_comment() -> str:
    """An HTML comment naming the inlined third-party code and carrying its licence texts."""
    parts = ["Third-party code inlined in this file (licence texts follow):"]
    for name, ver, lic, _ in THIRD_PARTY:
        parts.append(f"  {name} {ver} ({lic})")
    for name, ver, _, rel in THIRD_PARTY:
        text = asset_path(rel).read_text(encoding="utf-8").replace("--", "- -")
        parts.append(f"\n===== {name} {ver} =====\n{text.strip()}")
    return "<!--\n" + "\n".join(parts) + "\n-->"


# ------------------------------------------------------------------------------------------------
# offline check


class _RefFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href", "data", "poster", "srcset", "background") and v:
                self.refs.append(f"<{tag} {k}={v[:120]}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            for m in _URL_RE.finditer(data):
                self.refs.append(f"url({m.group(2)[:120]})")


def external_references(html: str) -> list[str]:
    """Every reference in ``html`` that would make the browser fetch something that is not inline.

    Looks at src/href-like attributes of elements, ``url()`` in <style>, ``@import`` and tile URL
    templates anywhere (``{z}``/``{x}`` with http). ``data:`` URIs and in-page ``#`` anchors are
    fine; links between the map files of one folder (``index.html`` -> ``county.html``) are
    reported with a ``local:`` prefix so callers can tell them apart.
    """
    finder = _RefFinder()
    finder.feed(html)
    out = []
    for ref in finder.refs:
        val = ref.split("=", 1)[1] if "=" in ref else ref
        val = val.rstrip(">")
        if ref.startswith("url("):
            val = ref[4:-1]
        v = val.strip().strip("'\"")
        if v.startswith(("data:", "#", "javascript:void")) or not v:
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:|^//", v, re.I):
            out.append(ref)
        else:
            out.append("local:" + ref)
    for m in re.finditer(r"@import[^;]{0,120}", html):
        out.append(m.group(0))
    for m in re.finditer(r"""["'](?:https?:)?//[^"']*\{[xyzs]\}[^"']*["']""", html):
        out.append("tiles:" + m.group(0)[:160])
    return out
