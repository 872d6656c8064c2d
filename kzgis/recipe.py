"""Recipes: the YAML file that says which layers, which analyses with which parameters, which outputs.

::

    name: kaizhou-demo
    crs: EPSG:4545            # optional; chosen from the data when absent
    layers:
      roads: {path: ../layers/kaizhou/roads.gpkg, fields: {width_m: 路面宽度}}
      hydrants: {path: ../layers/kaizhou/hydrants.csv, x: 经度, y: 纬度, datum: gcj02}
      dem: ../layers/kaizhou/dem.tif
    network: {snap_max_m: 500}
    analyses:
      access: {}
      response: {breaks_min: [5, 10, 15, 20, 30]}
    outputs: {dir: ../out/kaizhou, maps: true, report: true}

Paths are relative to the recipe file. Every key is checked; a wrong one is an error naming the key
and the closest valid one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import analysis as _analysis
from . import params as _params
from ._errors import LayerError, RecipeError, suggest
from .layers import LayerSource

log = logging.getLogger(__name__)

TOP_KEYS = {"name", "title", "crs", "layers", "network", "analyses", "outputs", "towns"}
OUTPUT_KEYS = {"dir", "maps", "report", "tables", "gpkg"}


@dataclass
class Outputs:
    dir: Path
    maps: dict | bool = True
    report: dict | bool = False
    tables: bool = True


@dataclass
class Recipe:
    name: str
    path: Path | None
    crs: str | None
    layers: dict[str, LayerSource]
    analyses: dict[str, object]  # name -> params dataclass instance
    analyses_given: dict[str, dict]
    network: object  # kzgis.network.NetworkParams
    network_given: dict
    outputs: Outputs
    title: str = ""
    towns: tuple[str, ...] | None = None
    raw: dict = field(default_factory=dict)

    @property
    def base(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def _network_params(mapping):
    from . import network as _net

    return _params.from_mapping(_net.NetworkParams, mapping, "network")


def parse(data: dict, base: Path, path: Path | None = None) -> Recipe:
    """Validate a recipe mapping (already parsed from YAML)."""
    if not isinstance(data, dict):
        raise RecipeError("recipe: the file must be a YAML mapping with keys such as name, layers, analyses")
    for key in data:
        if key not in TOP_KEYS:
            raise RecipeError(f"recipe: unknown key '{key}'{suggest(str(key), TOP_KEYS)}")
    name = str(data.get("name") or (path.stem if path else "kzgis"))
    layers_raw = data.get("layers") or {}
    if not isinstance(layers_raw, dict):
        raise RecipeError("layers: expected a mapping kind: {path: ...}")
    layers = {}
    for kind, spec in layers_raw.items():
        try:
            layers[kind] = LayerSource.from_mapping(str(kind), spec, base)
        except LayerError as exc:
            raise RecipeError(str(exc)) from exc

    _analysis.load_all()
    an_raw = data.get("analyses") or {}
    if not isinstance(an_raw, dict):
        raise RecipeError("analyses: expected a mapping name: {parameters}")
    analyses = {}
    for an, p in an_raw.items():
        spec = _analysis.get(str(an))
        analyses[an] = _params.from_mapping(spec.params, p, f"analyses.{an}")

    net_raw = data.get("network") or {}
    network = _network_params(net_raw)

    out_raw = data.get("outputs") or {}
    if not isinstance(out_raw, dict):
        raise RecipeError("outputs: expected a mapping such as {dir: out, maps: true}")
    for key in out_raw:
        if key not in OUTPUT_KEYS:
            raise RecipeError(f"outputs: unknown key '{key}'{suggest(str(key), OUTPUT_KEYS)}")
    out_dir = Path(out_raw.get("dir", f"out/{name}"))
    if not out_dir.is_absolute():
        out_dir = (base / out_dir).resolve()
    for key in ("maps", "report"):
        v = out_raw.get(key)
        if v is not None and not isinstance(v, (bool, dict)):
            raise RecipeError(f"outputs.{key}: expected true/false or a mapping of options, got {v!r}")
    outputs = Outputs(dir=out_dir, maps=out_raw.get("maps", True), report=out_raw.get("report", False),
                      tables=bool(out_raw.get("tables", True)))
    towns = data.get("towns")
    if towns is not None:
        if isinstance(towns, str):
            towns = [t.strip() for t in towns.split(",") if t.strip()]
        if not isinstance(towns, list):
            raise RecipeError("towns: expected a list of township names")
        towns = tuple(str(t) for t in towns)
    crs = data.get("crs")
    if crs is not None:
        from .crs import as_crs

        try:
            as_crs(crs)
        except Exception as exc:
            raise RecipeError(f"crs: {exc}") from exc
    return Recipe(name=name, path=path, crs=str(crs) if crs else None, layers=layers, analyses=analyses,
                  analyses_given={k: (v if isinstance(v, dict) else {}) for k, v in an_raw.items()},
                  network=network, network_given=net_raw, outputs=outputs,
                  title=str(data.get("title") or name), towns=towns, raw=data)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue
        if key in seen:
            raise RecipeError(f"the key '{key}' is given twice in the same section (lines {seen[key] + 1} and "
                              f"{key_node.start_mark.line + 1}); keep one of them")
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(raw: bytes, name: str) -> tuple[str, str]:
    """Text of a recipe file and the encoding used: a BOM first, then UTF-8, then GBK.

    UTF-16 without a BOM is recognised by its NUL bytes. Raises :class:`RecipeError` saying how to
    save the file as UTF-8 when none fits.
    """
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc
            except UnicodeDecodeError:
                break
    if raw and raw.count(b"\x00") > len(raw) // 4:
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = raw.decode(enc)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text:
                return text, enc
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first = exc
    try:
        return raw.decode("gbk"), "gbk"
    except UnicodeDecodeError:
        pass
    line = raw[:first.start].count(b"\n") + 1
    raise RecipeError(f"{name}: cannot read the text (line {line} is neither UTF-8 nor GBK). Save the recipe "
                      "as UTF-8 (in Notepad: Save as > Encoding: UTF-8; in VS Code: 'Save with Encoding')")


def load(path) -> Recipe:
    """Read and validate a recipe file (UTF-8, or GBK / UTF-16 with a note in the log)."""
    path = Path(path).resolve()
    if not path.exists():
        raise RecipeError(f"recipe not found: {path}")
    if path.is_dir():
        raise RecipeError(f"recipe {path} is a folder; give the recipe's .yaml file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecipeError(f"recipe {path}: cannot be read ({exc.strerror or exc})") from exc
    text, enc = decode_text(raw, path.name)
    if enc not in ("utf-8", "utf-8-sig"):
        log.warning("recipe %s is saved as %s; read as such (UTF-8 is recommended)", path.name, enc.upper())
    from ._text import clean

    text = clean(text)  # stray control and bidirectional-override characters
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path.name}: not valid YAML: {exc}") from exc
    except RecipeError as exc:
        raise RecipeError(f"{path.name}: {exc}") from exc
    return parse(data or {}, path.parent, path)
