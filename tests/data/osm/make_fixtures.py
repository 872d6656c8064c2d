"""Write the hand-made OSM fixtures ``village.osm`` (XML) and ``village.osm.pbf`` (PBF).

These are our own synthetic data (no OpenStreetMap content): a 10 x 8 grid of nodes ~100 m apart
near Kaizhou (108.40 E, 31.16 N), 8 east-west ways (one per row) and 10 north-south ways (one per
column), with the tags real OSM roads carry (classes, ``width``, ``lanes``, ``oneway`` yes/-1,
``bridge``/``layer``, steps, a footway).  Regenerate with ``python tests/data/osm/make_fixtures.py``
(needs the ``osmium`` package, used only here; the tests read the committed files).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

HERE = Path(__file__).resolve().parent
NX, NY = 10, 8
LON0, LAT0, STEP = 108.40, 31.16, 0.001

ROWS = [  # east-west ways, south to north
    {"highway": "tertiary", "width": "6.5", "name": "县道甲"},
    {"highway": "residential", "lanes": "1"},
    {"highway": "service"},
    {"highway": "unclassified", "width": "4"},
    {"highway": "track"},
    {"highway": "residential", "lanes": "2", "name": "新村路"},
    {"highway": "service", "oneway": "yes"},
    {"highway": "footway", "width": "5"},
]
COLS = [  # north-south ways, west to east
    {"highway": "secondary", "width": "8", "name": "省道乙"},
    {"highway": "residential"},
    {"highway": "service", "oneway": "yes"},
    {"highway": "track"},
    {"highway": "unclassified"},
    {"highway": "service", "oneway": "-1"},
    {"highway": "residential", "width": "3"},
    {"highway": "tertiary", "bridge": "yes", "layer": "1"},
    {"highway": "path"},
    {"highway": "steps"},
]


def node_id(i: int, j: int) -> int:
    return 1 + j * NX + i


def ways():
    wid = 1000
    for j, tags in enumerate(ROWS):
        yield wid, [node_id(i, j) for i in range(NX)], tags
        wid += 1
    for i, tags in enumerate(COLS):
        yield wid, [node_id(i, j) for j in range(NY)], tags
        wid += 1


def write_xml(path: Path) -> None:
    out = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="kzgis-fixture">']
    for j in range(NY):
        for i in range(NX):
            out.append(f'  <node id="{node_id(i, j)}" lat="{LAT0 + j * STEP:.7f}" lon="{LON0 + i * STEP:.7f}" version="1"/>')
    for wid, refs, tags in ways():
        out.append(f'  <way id="{wid}" version="1">')
        out += [f'    <nd ref="{r}"/>' for r in refs]
        out += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
        out.append("  </way>")
    out.append("</osm>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_pbf(path: Path) -> None:
    import osmium

    if path.exists():
        path.unlink()
    with osmium.SimpleWriter(str(path)) as w:
        for j in range(NY):
            for i in range(NX):
                w.add_node(osmium.osm.mutable.Node(id=node_id(i, j), location=(LON0 + i * STEP, LAT0 + j * STEP), version=1))
        for wid, refs, tags in ways():
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1))


if __name__ == "__main__":
    write_xml(HERE / "village.osm")
    write_pbf(HERE / "village.osm.pbf")
