"""The analysis registry and the run context shared by all analyses.

An analysis module registers itself with :func:`register`::

    @dataclass(frozen=True)
    class AccessParams:
        upgrade_width_m: float = 4.0

    @register("access", title_zh="消防车通行分析", needs=("roads", "settlements"),
              params=AccessParams, results=("access_roads", "access_settlements"))
    def run_access(ctx: Context, p: AccessParams) -> dict[str, GeoDataFrame]: ...

The pipeline validates the recipe section against ``params``, skips the analysis (with a clear
message) when a needed layer is absent, runs analyses in dependency order, and hands each the
same :class:`Context`, so the road network and DEM products are built once.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._errors import RecipeError, suggest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Analysis:
    name: str
    title_zh: str
    needs: tuple[str, ...]
    params: type
    func: Callable
    results: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # analyses to run first when they are in the recipe
    needs_any: tuple[tuple[str, ...], ...] = ()  # at least one of each group
    #: params -> the rules in force (list of kzgis.rules.InForce); None: kzgis.rules.in_force(params)
    rules_in_force: Callable | None = None

    def in_force(self, params) -> list:
        """The rules and method numbers in force for ``params`` (:class:`kzgis.rules.InForce` each)."""
        from . import rules

        return (self.rules_in_force or rules.in_force)(params)

    def run(self, ctx, params, func: Callable | None = None) -> dict:
        """Run the analysis (or ``func``, a part of it) and stamp every result frame's
        ``attrs["assumptions"]`` with the rules in force (:meth:`kzgis.rules.InForce.as_dict` each)."""
        out = (func or self.func)(ctx, params) or {}
        records = [r.as_dict() for r in self.in_force(params)]
        for frame in out.values():
            if hasattr(frame, "attrs"):
                frame.attrs["assumptions"] = records
        return out

    def missing(self, layers) -> list[str]:
        """The needed layers that ``layers`` lacks (``"a or b"`` for a needs_any group)."""
        missing = [k for k in self.needs if not layers.has(k)]
        for group in self.needs_any:
            if not any(layers.has(k) for k in group):
                missing.append(" or ".join(group))
        return missing


REGISTRY: dict[str, Analysis] = {}


def register(name: str, *, title_zh: str, needs=(), params, results=(), optional=(), after=(), needs_any=(),
             in_force=None):
    def deco(func):
        REGISTRY[name] = Analysis(name, title_zh, tuple(needs), params, func, tuple(results),
                                  tuple(optional), tuple(after), tuple(tuple(g) for g in needs_any), in_force)
        return func

    return deco


def load_all() -> dict[str, Analysis]:
    """Import every module of :mod:`kzgis.analyses` so that they register."""
    from . import analyses

    for mod in pkgutil.iter_modules(analyses.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{analyses.__name__}.{mod.name}")
    return REGISTRY


def get(name: str) -> Analysis:
    load_all()
    if name not in REGISTRY:
        raise RecipeError(f"analyses: unknown analysis '{name}'{suggest(name, REGISTRY)}")
    return REGISTRY[name]


def order(names) -> list[str]:
    """Dependency order (``after``) of the given analyses; ties keep the recipe order."""
    names = list(names)
    done: list[str] = []
    visiting: set[str] = set()

    def visit(n):
        if n in done:
            return
        if n in visiting:
            raise RecipeError(f"analyses: circular dependency at '{n}'")
        visiting.add(n)
        for dep in REGISTRY[n].after:
            if dep in names:
                visit(dep)
        visiting.discard(n)
        done.append(n)

    for n in names:
        visit(n)
    return done


@dataclass
class Context:
    """What an analysis sees: the layers, the working CRS, shared products and earlier results."""

    layers: Any  # kzgis.layers.Layers
    network_params: Any = None  # kzgis.network.NetworkParams
    results: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    cache: dict = field(default_factory=dict)
    towns: tuple | None = None  # limit to these townships (None = all)

    @property
    def crs(self):
        return self.layers.crs

    @property
    def dem(self):
        return self.layers.get("dem")

    def warn(self, message: str):
        log.warning(message)
        self.warnings.append(message)

    def shared(self, key: str, build: Callable):
        """Build a product once per run (``ctx.shared("network", lambda: ...)``)."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def network(self):
        """The routable road network, built once per run from ``roads`` (+ DEM)."""
        from . import network as _net

        def build():
            net = _net.RoadNetwork.from_layers(self.layers, self.network_params)
            for w in net.warnings:  # what the road data made the build assume
                self.warn(w)
            return net

        return self.shared("network", build)
