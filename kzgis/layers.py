"""Layer kinds, loading from real formats, and the :class:`Layers` container.

A recipe maps the user's files onto *layer kinds* (``roads``, ``settlements``...) and the user's
column names onto *canonical fields* (``width_m``, ``population``...). Loading reads the file
(GeoPackage, shapefile with an encoding, GeoJSON, CSV with coordinate columns, OSM XML/PBF for
roads), converts GCJ-02 when asked, reprojects to the working CRS, and renames fields. Problems
are collected by :mod:`kzgis.validation`, never printed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import LayerError, suggest
from .crs import as_crs, guess_crs_from_coordinates

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    dtype: str  # "str", "float", "int", "bool"
    required: bool = False
    min: float | None = None
    max: float | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindSpec:
    kind: str
    geom: tuple[str, ...]  # allowed base geometry types: "Point", "LineString", "Polygon"
    fields: tuple[FieldSpec, ...] = ()
    title_zh: str = ""

    def field(self, name: str) -> FieldSpec:
        return {f.name: f for f in self.fields}[name]


_NAME = FieldSpec("name", "str", aliases=("名称", "名字", "NAME", "Name", "mc", "MC"))
_TOWN = FieldSpec("town", "str", aliases=("乡镇", "乡镇名称", "镇街", "所属乡镇", "XZQMC", "town_name"))
_SRC = FieldSpec("source", "str", aliases=("来源", "数据来源"))

KINDS: dict[str, KindSpec] = {
    k.kind: k
    for k in [
        KindSpec("county", ("Polygon",), (_NAME, _SRC), "区县界"),
        KindSpec("boundary", ("Polygon",),
                 (FieldSpec("town", "str", required=True, aliases=_TOWN.aliases), _SRC), "乡镇界"),
        KindSpec("township_seats", ("Point",), (_TOWN, _SRC), "乡镇驻地"),
        KindSpec("urban_area", ("Polygon",), (_NAME, _SRC), "城区"),
        KindSpec("settlements", ("Point", "Polygon"), (
            FieldSpec("name", "str", required=True, aliases=_NAME.aliases), _TOWN,
            FieldSpec("population", "float", min=0, aliases=("人口", "户籍人口", "常住人口", "RK")), _SRC,
        ), "居民点"),
        KindSpec("roads", ("LineString",), (
            FieldSpec("width_m", "float", min=0, max=100, aliases=("路面宽度", "宽度", "路宽", "width", "KD")),
            FieldSpec("road_class", "str", aliases=("道路等级", "等级", "highway", "DLDJ")),
            FieldSpec("name", "str", aliases=("道路名称",) + _NAME.aliases),
            # raw direction codes are kept as text and read by the network (kzgis._road_attrs)
            FieldSpec("oneway", "str", aliases=("单行", "单向", "ONEWAY", "Oneway")),
            FieldSpec("lanes", "str", aliases=("车道数", "LANES")),
            FieldSpec("bridge", "str", aliases=("桥梁", "是否桥梁", "BRIDGE", "Bridge")),
            FieldSpec("tunnel", "str", aliases=("隧道", "是否隧道", "TUNNEL", "Tunnel")),
            FieldSpec("layer", "float", aliases=("z_level", "Z_LEVEL", "ZLEVEL", "zlevel", "层级", "LAYER")),
            FieldSpec("f_elev", "float", aliases=("F_ELEV", "F_ZLEV", "FROM_ELEV")),
            FieldSpec("t_elev", "float", aliases=("T_ELEV", "T_ZLEV", "TO_ELEV")),
            _SRC,
        ), "道路"),
        KindSpec("stations", ("Point",), (
            FieldSpec("name", "str", required=True, aliases=_NAME.aliases),
            FieldSpec("short", "str", aliases=("简称",)), _TOWN,
            FieldSpec("kind", "str", aliases=("类型", "队站类型")),
            FieldSpec("status", "str", aliases=("状态", "建设状态")), _SRC,
        ), "消防队站"),
        KindSpec("hydrants", ("Point",), (FieldSpec("status", "str", aliases=("状态",)), _SRC), "消火栓"),
        KindSpec("fire_pools", ("Point", "Polygon"), (
            FieldSpec("volume_m3", "float", required=True, min=0, aliases=("容积", "有效容积", "容量")), _SRC,
        ), "消防水池"),
        KindSpec("water_intakes", ("Point",), (
            FieldSpec("kind", "str", aliases=("类型",)),
            FieldSpec("lift_m", "float", min=0, max=100, aliases=("吸水高度", "吸程")), _SRC,
        ), "天然水源取水点"),
        KindSpec("water_bodies", ("Polygon",), (
            _NAME, FieldSpec("depth_m", "float", min=0, max=500, aliases=("水深", "深度")), _SRC,
        ), "水体"),
        KindSpec("rivers", ("LineString", "Polygon"), (
            _NAME, FieldSpec("width_m", "float", min=0, aliases=("河宽", "宽度")), _SRC,
        ), "河流"),
        KindSpec("water_mains", ("LineString",), (
            FieldSpec("diameter_mm", "float", required=True, min=0, max=3000, aliases=("管径", "口径", "DN")),
            _SRC,
        ), "消防给水管网"),
        KindSpec("forest", ("Polygon",), (_SRC,), "林地"),
        KindSpec("power_lines", ("LineString",), (
            FieldSpec("voltage_kv", "float", min=0, aliases=("电压", "电压等级")), _SRC,
        ), "电力线"),
        KindSpec("old_towns", ("Polygon",), (_NAME, _SRC), "古镇"),
        KindSpec("candidate_sites", ("Point",), (_NAME, _TOWN, _SRC), "候选站址"),
        KindSpec("mountain_units", ("Polygon",), (_NAME, _SRC), "山系单元"),
        KindSpec("monitor_sites", ("Point",), (
            _NAME, FieldSpec("status", "str", aliases=("状态", "建设状态")),
            FieldSpec("mast_m", "float", min=0, max=300, aliases=("架设高度", "塔高", "杆高")),
            FieldSpec("range_km", "float", min=0, max=100, aliases=("监测半径", "监控距离", "有效距离")), _SRC,
        ), "林火监控点（摄像机、瞭望塔）"),
        KindSpec("forest_work_sites", ("Point", "Polygon"), (
            _NAME, FieldSpec("kind", "str", aliases=("类型", "作业类型")), _SRC,
        ), "林区生产作业场地"),
        KindSpec("fire_risk_edges", ("LineString", "Polygon"), (_NAME, _SRC), "易发火林缘"),
        KindSpec("communities", ("Point", "Polygon"), (
            FieldSpec("name", "str", required=True, aliases=("社区名称", "社区", "村名") + _NAME.aliases), _TOWN,
            FieldSpec("population", "float", min=0, aliases=("人口", "户籍人口", "常住人口", "RK")),
            FieldSpec("year", "int", min=1900, max=2100, aliases=("年份", "建设年份", "配齐年份", "计划年份")), _SRC,
        ), "社区（村）"),
        KindSpec("micro_stations", ("Point",), (
            FieldSpec("name", "str", required=True, aliases=("站名",) + _NAME.aliases), _TOWN,
            FieldSpec("community", "str", aliases=("社区", "所属社区", "村（社区）")),
            FieldSpec("status", "str", aliases=("状态", "建设状态")),
            FieldSpec("year", "int", min=1900, max=2100, aliases=("年份", "建设年份", "配齐年份")), _SRC,
        ), "微型消防站"),
        KindSpec("buildings", ("Polygon",), (
            _NAME,
            FieldSpec("fire_resistance", "str", aliases=("耐火等级", "NHDJ", "nhdj")),
            FieldSpec("structure", "str", aliases=("结构", "建筑结构", "结构类型", "JGLX", "jglx")),
            FieldSpec("floors", "int", min=0, max=200, aliases=("层数", "建筑层数", "CS", "cs")), _SRC,
        ), "建筑"),
        KindSpec("landuse", ("Polygon",), (
            FieldSpec("DLBM", "str", required=True, aliases=("地类编码", "dlbm")),
            FieldSpec("CZCSXM", "str", aliases=("城镇村属性码", "czcsxm")),
        ), "三调地类图斑"),
    ]
}
RASTER_KINDS = {"dem"}
ALL_KINDS = set(KINDS) | RASTER_KINDS

#: 三调 DLBM codes from which landuse-derived layers are built (DOMAIN.md, "from memory, verify").
DLBM_FOREST = ("0301", "0302", "0305", "0307")
DLBM_WATER = ("1101", "1102", "1103", "1104", "1107")
DLBM_SETTLEMENT = ("0701", "0702")

_SOURCE_KEYS = {"path", "fields", "encoding", "datum", "crs", "layer", "x", "y", "id_field", "where", "oneway_codes"}


@dataclass
class LayerSource:
    """Where a layer comes from, as written in a recipe's ``layers:`` section."""

    kind: str
    path: Path
    fields: dict[str, str] = field(default_factory=dict)  # canonical name -> user's column
    encoding: str | None = None
    datum: str | None = None  # "gcj02" to convert Amap/Gaode coordinates to WGS84 first
    crs: str | None = None  # CRS of the file when it has none (or a wrong one)
    layer: str | None = None  # layer name inside a GeoPackage
    x: str | None = None  # CSV coordinate columns
    y: str | None = None
    id_field: str | None = None  # column holding the user's feature id
    #: roads only: raw direction codes -> both/forward/backward/closed (e.g. {1: both, 2: forward, 3: backward})
    oneway_codes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, kind: str, spec, base: Path) -> LayerSource:
        if kind not in ALL_KINDS:
            raise LayerError(f"unknown layer kind '{kind}'{suggest(kind, ALL_KINDS)}")
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict):
            raise LayerError(f"layers.{kind}: expected a path or a mapping with 'path', got {type(spec).__name__}")
        unknown = set(spec) - _SOURCE_KEYS
        for key in sorted(unknown):
            raise LayerError(f"layers.{kind}: unknown key '{key}'{suggest(key, _SOURCE_KEYS)}")
        if "path" not in spec:
            raise LayerError(f"layers.{kind}: 'path' is missing")
        fields = spec.get("fields") or {}
        if not isinstance(fields, dict):
            raise LayerError(f"layers.{kind}.fields: expected a mapping canonical_name: your_column")
        if kind in KINDS:
            valid = {f.name for f in KINDS[kind].fields}
            for canon in fields:
                if canon not in valid:
                    raise LayerError(
                        f"layers.{kind}.fields: '{canon}' is not a field of {kind}{suggest(canon, valid)}"
                    )
        datum = spec.get("datum")
        if datum is not None and str(datum).lower() not in ("gcj02", "wgs84", "cgcs2000"):
            raise LayerError(f"layers.{kind}.datum: '{datum}' unknown (use gcj02 for Amap/Gaode coordinates)")
        codes = spec.get("oneway_codes") or {}
        if codes:
            from ._road_attrs import DIRECTIONS, code_key

            if kind != "roads":
                raise LayerError(f"layers.{kind}.oneway_codes: only the roads layer has direction codes")
            if not isinstance(codes, dict):
                raise LayerError("layers.roads.oneway_codes: expected a mapping code: direction, "
                                 "e.g. {1: both, 2: forward, 3: backward}")
            for k, v in codes.items():
                if str(v).strip().lower() not in DIRECTIONS:
                    raise LayerError(f"layers.roads.oneway_codes.{k}: '{v}' is not a direction "
                                     f"(use {', '.join(DIRECTIONS)}){suggest(str(v), DIRECTIONS)}")
            codes = {code_key(k): str(v).strip().lower() for k, v in codes.items()}
        path = Path(spec["path"])
        if not path.is_absolute():
            path = (base / path).resolve()
        return cls(kind=kind, path=path, fields={str(k): str(v) for k, v in fields.items()},
                   encoding=spec.get("encoding"), datum=(str(datum).lower() if datum else None),
                   crs=spec.get("crs"), layer=spec.get("layer"), x=spec.get("x"), y=spec.get("y"),
                   id_field=spec.get("id_field"), oneway_codes=codes)


@dataclass
class Problem:
    """One validation finding, with where it is and how to fix it."""

    layer: str
    severity: str  # "error" or "warning"
    code: str
    message: str
    fids: list = field(default_factory=list)
    field: str | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"layer '{self.layer}'"
        if self.field:
            where += f", field '{self.field}'"
        if self.fids:
            shown = ", ".join(str(f) for f in self.fids[:10])
            more = f" (+{len(self.fids) - 10} more)" if len(self.fids) > 10 else ""
            where += f", features {shown}{more}"
        hint = f" Fix: {self.hint}" if self.hint else ""
        message = self.message if self.message.endswith((".", "?", ")")) else self.message + "."
        return f"{self.severity.upper()} [{self.code}] {where}: {message}{hint}"


class Layers(dict):
    """Mapping of layer kind -> GeoDataFrame in the working CRS (plus ``dem`` -> :class:`~kzgis.terrain.DEM`).

    Each frame's index is the feature id (``fid``) used in messages: the user's ``id_field`` when
    given, else the 1-based row number in the file.
    """

    def __init__(self, crs, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.crs = as_crs(crs)
        self.problems: list[Problem] = []
        self.sources: dict[str, LayerSource] = {}

    def __missing__(self, key):
        raise LayerError(f"layer '{key}' is not loaded{suggest(key, self.keys())}")

    def has(self, kind: str) -> bool:
        return kind in self and self[kind] is not None and (kind == "dem" or len(self[kind]) > 0)


# ---------------------------------------------------------------------------------------------
# reading


def _read_csv(src: LayerSource) -> gpd.GeoDataFrame:
    enc = src.encoding or "utf-8-sig"
    try:
        df = pd.read_csv(src.path, encoding=enc)
    except UnicodeDecodeError as exc:
        raise LayerError(
            f"layer '{src.kind}': {src.path.name} is not {enc} text ({exc.reason}). "
            "Give the recipe an 'encoding:' such as gbk."
        ) from exc
    xcol, ycol = src.x, src.y
    if xcol is None or ycol is None:
        cands = [("lon", "lat"), ("经度", "纬度"), ("x", "y"), ("X", "Y"), ("longitude", "latitude"),
                 ("lng", "lat"), ("东坐标", "北坐标")]
        for cx, cy in cands:
            if cx in df.columns and cy in df.columns:
                xcol, ycol = cx, cy
                break
    if xcol not in df.columns or ycol not in df.columns:
        raise LayerError(
            f"layer '{src.kind}': CSV {src.path.name} has no coordinate columns "
            f"(columns: {', '.join(map(str, df.columns))}). Name them in the recipe with x: and y:."
        )
    xs = pd.to_numeric(df[xcol], errors="coerce")
    ys = pd.to_numeric(df[ycol], errors="coerce")
    bad = df.index[xs.isna() | ys.isna()]
    if len(bad):
        rows = ", ".join(str(i + 2) for i in bad[:10])
        raise LayerError(
            f"layer '{src.kind}': CSV {src.path.name} has non-numeric or empty coordinates in "
            f"columns {xcol}/{ycol} on line(s) {rows}. Fix or remove those lines."
        )
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xs, ys), crs=None)


def _read_vector(src: LayerSource) -> gpd.GeoDataFrame:
    import pyogrio

    if not src.path.exists():
        raise LayerError(f"layer '{src.kind}': file not found: {src.path}. Check 'path' in the recipe "
                         "(paths are relative to the recipe file).")
    suffix = src.path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(src)
    if suffix in (".osm", ".pbf") or src.path.name.endswith(".osm.pbf"):
        if src.kind != "roads":
            raise LayerError(f"layer '{src.kind}': OSM files are read for roads only")
        return read_osm_roads(src.path)
    kwargs = {}
    if src.encoding:
        kwargs["encoding"] = src.encoding
    if src.layer:
        kwargs["layer"] = src.layer
    try:
        gdf = pyogrio.read_dataframe(src.path, **kwargs)
    except Exception as exc:
        raise LayerError(f"layer '{src.kind}': cannot read {src.path.name}: {exc}") from exc
    if suffix == ".shp" and not src.encoding and not src.path.with_suffix(".cpg").exists():
        _check_mojibake(gdf, src)
    return gdf


def _check_mojibake(gdf, src):
    """A GBK shapefile read as UTF-8/latin-1 shows replacement or Latin-1 accented characters."""
    for col in gdf.columns:
        if col == "geometry":
            continue
        text = " ".join([str(col)] + [str(v) for v in gdf[col].head(50) if isinstance(v, str)])
        if "\ufffd" in text or any(0xC0 <= ord(ch) <= 0xFF for ch in text):
            raise LayerError(
                f"layer '{src.kind}': {src.path.name} has no .cpg file and its text looks garbled "
                f"(column '{col}'). Chinese shapefiles are usually GBK: add 'encoding: gbk' to the layer."
            )


_OSM_COLUMNS = ("osmid", "highway", "width", "est_width", "lanes", "name", "oneway", "bridge", "tunnel", "layer",
                "geometry")


def read_osm_roads(path: Path) -> gpd.GeoDataFrame:
    """Read drivable ways from an OSM XML or PBF file, offline, as line features with OSM tags.

    XML goes through ``osmnx.graph_from_xml``; PBF through GDAL's OSM driver (pyogrio).
    Returned columns: ``osmid``, ``highway``, ``width``, ``est_width``, ``lanes``, ``name``, ``oneway``,
    ``bridge``, ``tunnel``, ``layer`` (those present).
    """
    path = Path(path)
    if path.suffix.lower() == ".osm":
        import osmnx as ox

        tags = list(ox.settings.useful_tags_way)
        ox.settings.useful_tags_way = tags + [t for t in ("layer",) if t not in tags]
        try:
            G = ox.graph_from_xml(path, simplify=False, retain_all=True)
        finally:
            ox.settings.useful_tags_way = tags
        edges = ox.graph_to_gdfs(G, nodes=False).reset_index()
        # osmnx stores both directions of a two-way street; keep one row per undirected (u, v)
        pair = [tuple(sorted(p)) for p in zip(edges["u"], edges["v"])]
        edges = edges.loc[~pd.Series(pair, index=edges.index).duplicated()]
        keep = [c for c in _OSM_COLUMNS if c in edges]
        edges = edges[keep].reset_index(drop=True)
        for col in ("highway", "width", "est_width", "lanes", "name", "osmid", "bridge", "tunnel", "layer"):
            if col in edges:
                edges[col] = edges[col].map(lambda v: v[0] if isinstance(v, list) else v)
        edges = _whole_ways(edges).set_crs("EPSG:4326", allow_override=True)
        return _normalise_osm(edges)
    import pyogrio

    gdf = pyogrio.read_dataframe(path, layer="lines")
    gdf = gdf[gdf["highway"].notna()].copy()
    tags = gdf.get("other_tags")
    for tag in ("width", "est_width", "lanes", "oneway", "bridge", "tunnel", "layer"):
        if tag in gdf.columns:
            continue
        if tags is not None:
            gdf[tag] = tags.str.extract(rf'"{tag}"=>"([^"]*)"', expand=False)
        else:
            gdf[tag] = None
    gdf = gdf.rename(columns={"osm_id": "osmid"})
    keep = [c for c in _OSM_COLUMNS if c in gdf]
    return _normalise_osm(gdf[keep].reset_index(drop=True).set_crs("EPSG:4326", allow_override=True))


def _whole_ways(edges):
    """osmnx's node-to-node pieces joined back into one line per OSM way (as GDAL reads PBF).

    A way's interior nodes matter: where a bridge, a tunnel or another layer passes, a node the
    way shares with another way is not a junction unless it is a way's end. One-way pieces keep
    their travel direction (osmnx has already turned ``oneway=-1`` ways round).
    """
    import shapely

    if "osmid" not in edges or not len(edges):
        return edges
    rows = []
    for _, grp in edges.groupby("osmid", sort=False):
        first = grp.iloc[0]
        ow = first.get("oneway")
        merged = shapely.line_merge(shapely.multilinestrings(list(grp.geometry.values)),
                                    directed=str(ow).strip().lower() in ("true", "1", "yes"))
        rows.append({**{c: first[c] for c in grp.columns if c != "geometry"}, "geometry": merged})
    return gpd.GeoDataFrame(rows, columns=list(edges.columns), geometry="geometry", crs=edges.crs)


def _normalise_osm(gdf):
    gdf = gdf.copy()
    drivable = {"motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
                "living_street", "service", "track", "road", "motorway_link", "trunk_link",
                "primary_link", "secondary_link", "tertiary_link", "path", "footway", "cycleway",
                "pedestrian", "steps", "bridleway"}
    gdf = gdf[gdf["highway"].isin(drivable)].copy()
    ow = gdf.get("oneway")
    if ow is not None:
        # OSM oneway=-1: one-way against the drawing direction; reverse the line so that it is with it
        rev = ow.map(lambda v: str(v).strip() == "-1" if isinstance(v, str) else False).to_numpy(bool)
        if rev.any():
            gdf.loc[rev, "geometry"] = gdf.geometry[rev].reverse()
        gdf["oneway"] = ow.map(lambda v: str(v).lower() in ("yes", "true", "1", "-1") if v is not None else False)
    gdf["road_class"] = gdf["highway"]
    return gdf


def _apply_fields(gdf: gpd.GeoDataFrame, src: LayerSource) -> gpd.GeoDataFrame:
    spec = KINDS.get(src.kind)
    if spec is None:
        return gdf
    renames = {}
    for f in spec.fields:
        user_col = src.fields.get(f.name)
        if user_col is not None:
            if user_col not in gdf.columns:
                raise LayerError(
                    f"layer '{src.kind}': field mapping {f.name}: {user_col} names a column that "
                    f"{src.path.name} does not have{suggest(user_col, [c for c in gdf.columns if c != 'geometry'])}"
                )
            renames[user_col] = f.name
        elif f.name not in gdf.columns:
            for alias in f.aliases:
                if alias in gdf.columns and alias not in renames:
                    renames[alias] = f.name
                    break
    # move away existing columns that would collide with a canonical name
    clash = {c: f"{c}_orig" for c in gdf.columns if c in renames.values() and c not in renames}
    gdf = gdf.rename(columns=clash).rename(columns=renames)
    return gdf


def _apply_oneway_codes(gdf, src):
    """Translate the roads' raw direction codes with the recipe's ``oneway_codes`` mapping."""
    from ._road_attrs import code_key

    if "oneway" not in gdf.columns:
        raise LayerError(f"layer 'roads': oneway_codes given but {src.path.name} has no one-way field; map it with "
                         "fields: {oneway: <your direction column>}")
    raw = gdf["oneway"].map(code_key)
    mapped = raw.map(src.oneway_codes)
    unknown = raw[mapped.isna() & (raw != "")]
    warnings = []
    if len(unknown):
        vals = ", ".join(repr(v) for v in unknown.unique()[:8])
        warnings.append(f"{len(unknown)} feature(s) have direction codes not in oneway_codes ({vals}); "
                        "read as two-way")
    gdf = gdf.copy()
    gdf["oneway"] = mapped.fillna("both")
    return gdf, warnings


def _set_index(gdf, src):
    if src.id_field:
        if src.id_field not in gdf.columns:
            raise LayerError(f"layer '{src.kind}': id_field '{src.id_field}' is not a column"
                             f"{suggest(src.id_field, gdf.columns)}")
        gdf = gdf.set_index(src.id_field, drop=False)
    else:
        gdf.index = pd.RangeIndex(1, len(gdf) + 1)
    gdf.index.name = "fid"
    return gdf


def _check_lonlat_range(gdf, src):
    """Longitude/latitude outside -180..180 / -90..90 means swapped columns or a wrong CRS."""
    if gdf.crs is None or not gdf.crs.is_geographic or not len(gdf):
        return
    import shapely

    b = shapely.bounds(np.asarray(gdf.geometry.values, dtype=object))
    bad = (np.abs(b[:, [1, 3]]) > 90).any(axis=1) | (np.abs(b[:, [0, 2]]) > 180).any(axis=1)
    if bad.any():
        fids = ", ".join(str(f) for f in gdf.index[bad][:10])
        raise LayerError(
            f"layer '{src.kind}': {bad.sum()} feature(s) of {src.path.name} have longitude/latitude out of range "
            f"(features {fids}) for {gdf.crs.to_string()}. Are x and y swapped (x must be the longitude, e.g. "
            "108.4)? Or is the file in a projected CRS: give the layer 'crs:' such as EPSG:4545."
        )


def read_layer(src: LayerSource, working_crs) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read one vector layer into the working CRS with canonical field names.

    Returns the frame and a list of warnings (e.g. a CRS guessed from the coordinate range).
    Raises :class:`LayerError` when the file cannot be used at all.
    """
    return canonical_frame(_read_vector(src), src, working_crs)


def canonical_frame(gdf: gpd.GeoDataFrame, src: LayerSource, working_crs,
                    keep_index: bool = False) -> tuple[gpd.GeoDataFrame, list[str]]:
    """A frame already in memory -> working CRS, canonical field names, ``fid`` index.

    The part of :func:`read_layer` after reading the file (also used for GeoDataFrames handed to the
    Python API). ``keep_index``: keep the frame's own index as the feature id when it is unique
    (otherwise the 1-based row number, as for files).
    """
    warnings: list = []  # text, or a Problem naming features
    gdf = _apply_fields(gdf, src)
    if src.oneway_codes:
        gdf, w = _apply_oneway_codes(gdf, src)
        warnings.extend(w)
    if keep_index and not src.id_field and gdf.index.is_unique:
        gdf = gdf.copy()
        gdf.index.name = "fid"
    else:
        gdf = _set_index(gdf, src)
    if len(gdf):  # null / empty geometries: reported with their ids (row numbers in the file), dropped
        none = gdf.geometry.isna().to_numpy() | gdf.geometry.is_empty.to_numpy()
        if none.any():
            warnings.append(Problem(src.kind, "warning", "empty-geometry",
                                    f"{int(none.sum())} feature(s) have no geometry (null or empty) and are left out",
                                    list(gdf.index[none]), hint="draw them or delete them in the source data"))
            gdf = gdf[~none]
    if src.crs:
        gdf = gdf.set_crs(as_crs(src.crs), allow_override=True)
    elif gdf.crs is None:
        if src.datum == "gcj02":
            gdf = gdf.set_crs("EPSG:4326")
        else:
            b = gdf.total_bounds if len(gdf) else np.array([np.nan] * 4)
            guess, why = guess_crs_from_coordinates(b[[0, 2]], b[[1, 3]])
            if guess is None or guess.is_geographic:
                china = bool(np.isfinite(b).all() and 73 <= b[0] and b[2] <= 136 and 3 <= b[1] and b[3] <= 54)
                phone = (" If the points were taken from a phone map app (Amap/高德, Tencent) their coordinates "
                         "are GCJ-02, shifted about 500 m from the true position: add 'datum: gcj02' instead."
                         if china else "")
                raise LayerError(
                    f"layer '{src.kind}': {src.path.name} has no CRS ({why}). Add 'crs:' to the layer "
                    "in the recipe, e.g. crs: EPSG:4490 for CGCS2000 longitude/latitude (GPS: EPSG:4326) or "
                    f"EPSG:4545.{phone}"
                )
            warnings.append(f"layer '{src.kind}': no CRS in {src.path.name}; {why}")
            gdf = gdf.set_crs(guess)
    _check_lonlat_range(gdf, src)
    if src.datum == "gcj02":
        from .gcj02 import shift_geometries

        wgs = gdf.to_crs("EPSG:4326")
        wgs = wgs.set_geometry(shift_geometries(wgs.geometry, to="wgs84"))
        gdf = wgs
    gdf = gdf.to_crs(working_crs)
    return gdf, warnings


def derive_from_landuse(landuse: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Forest, water bodies and settlement polygons from 三调 DLBM codes."""
    code = landuse["DLBM"].astype(str).str.strip()
    out = {}
    for kind, codes in (("forest", DLBM_FOREST), ("water_bodies", DLBM_WATER),
                        ("settlements", DLBM_SETTLEMENT)):
        part = landuse[code.str[:4].isin(codes)].copy()
        if kind == "settlements" and len(part):
            if "name" not in part:
                part["name"] = [f"图斑{fid}" for fid in part.index]
        out[kind] = part
    return out
