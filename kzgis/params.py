"""Small validated parameter objects for recipe sections.

Each analysis declares its parameters as a frozen dataclass with defaults (units in the names).
:func:`from_mapping` builds one from a recipe mapping: unknown keys and wrong types raise a
:class:`~kzgis._errors.RecipeError` naming the key and the closest valid one.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing

from ._errors import RecipeError, suggest


def _key(where: str) -> str:
    """The parameter name of a location such as ``analyses.response.breaks_min[1]``."""
    return re.sub(r"\[\d+\]$", "", where).rsplit(".", 1)[-1]


def _number_range(value: float, where: str, key: str | None = None) -> float:
    """NaN and +-inf are never a planning number; grades are 0..100 %, speeds are > 0."""
    key = _key(where) if key is None else key
    if not math.isfinite(value):
        raise RecipeError(f"{where}: expected a finite number, got {value!r} (NaN and infinity are not allowed)")
    if "grade" in key and key.endswith("_pct") and not 0 <= value <= 100:
        raise RecipeError(f"{where}: a grade must be between 0 and 100 %, got {value:g}")
    if ("speed" in key or key.endswith("_kmh")) and not value > 0:
        raise RecipeError(f"{where}: a speed (or speed factor) must be greater than 0, got {value:g}")
    return value


def _check(value, tp, where: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any:
        return value
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check(value, a, where)
            except RecipeError as e:
                errors.append(str(e))
        raise RecipeError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                value = [value]
            else:
                raise RecipeError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        inner = args[0] if args else typing.Any
        return tuple(_check(v, inner, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        key = _key(where)
        for k, v in value.items():
            if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)):
                _number_range(float(v), f"{where}.{k}", key)
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        return _number_range(float(value), where)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                return int(value)
            raise RecipeError(f"{where}: expected a whole number, got {type(value).__name__} {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise RecipeError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise RecipeError(f"{where}: expected text, got {type(value).__name__} {value!r}")
        return str(value)
    return value


def from_mapping(cls, mapping, where: str):
    """Build dataclass ``cls`` from a recipe mapping, validating keys and types."""
    if mapping is None or mapping is True:
        mapping = {}
    if not isinstance(mapping, dict):
        raise RecipeError(f"{where}: expected a mapping of parameters (or {{}}), got {mapping!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in mapping.items():
        if key not in fields:
            raise RecipeError(f"{where}: unknown parameter '{key}'{suggest(str(key), fields)}")
        kwargs[key] = _check(value, hints[key], f"{where}.{key}")
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"{where}: {exc}") from exc
    return obj


def describe(obj, given) -> dict:
    """Parameters in force with their source: ``{"name": {"value": v, "source": "recipe"|"default"}}``."""
    given = given or {}
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, tuple):
            v = list(v)
        out[f.name] = {"value": v, "source": "recipe" if f.name in given else "default"}
    return out
