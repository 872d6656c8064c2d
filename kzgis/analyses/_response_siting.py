"""New-station siting for :mod:`kzgis.analyses.response`: MCLP and LSCP on network travel times.

The models are spopt's (``MCLP.from_cost_matrix`` / ``LSCP.from_cost_matrix``); this module only
prepares the cost matrix (demand x facilities, existing stations first, then the candidates),
marks the existing stations as predefined facilities (so the demand they already cover counts as
covered) and reads the answer back. The costs are whatever the caller measured: response uses
total response times in minutes (turnout + drive on the same restricted network as the isochrones).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import AnalysisError

log = logging.getLogger(__name__)

MODELS = ("mclp", "lscp")


@dataclass
class SitingResult:
    """What a siting model chose.

    Attributes
    ----------
    model : "mclp" or "lscp"
    selected : indices (into the candidate columns) of the chosen new sites, ascending
    covered : bool per demand point, covered within the service time by existing + chosen sites
    pre_covered : bool per demand point, covered by the existing stations alone
    uncoverable : bool per demand point that no existing station or candidate reaches in time
    objective : the model's objective value: MCLP, the covered weight (existing coverage
        included); LSCP, the number of facilities (existing + new)
    status : the solver status text
    """

    model: str
    selected: np.ndarray
    covered: np.ndarray
    pre_covered: np.ndarray
    uncoverable: np.ndarray
    objective: float
    status: str


def _solver():
    import pulp

    return pulp.PULP_CBC_CMD(msg=False)


def coverage_models():
    """spopt's ``LSCP`` and ``MCLP`` classes, imported without the rest of spopt when it is not loaded yet.

    ``from spopt.locate import MCLP`` runs spopt's package ``__init__`` files, which import its
    regionalisation and p-median modules and through them libpysal, pointpats and matplotlib's
    pyplot: 1-2 s, most of the siting step on the demo county, for models that need only pulp and
    numpy. Here the module ``spopt.locate.coverage`` is loaded on its own (the two packages above
    it stand in as bare namespaces while it loads and are removed afterwards, so a later
    ``import spopt`` runs spopt's own ``__init__`` files and reuses the same classes). When spopt is
    already imported, or its files are not laid out as expected, the ordinary import is used.
    """
    import importlib
    import importlib.util
    import sys
    import types

    if "spopt" not in sys.modules:
        stubs: dict = {}
        try:
            spec = importlib.util.find_spec("spopt")
            root = Path(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else None
            if root is not None and (root / "locate" / "coverage.py").is_file():
                for name, folder in (("spopt", root), ("spopt.locate", root / "locate")):
                    mod = types.ModuleType(name)
                    mod.__path__ = [str(folder)]
                    mod.__package__ = name
                    stubs[name] = mod
                sys.modules.update(stubs)
                coverage = importlib.import_module("spopt.locate.coverage")
                return coverage.LSCP, coverage.MCLP
        except ImportError:
            log.debug("spopt.locate.coverage not importable alone; importing spopt.locate", exc_info=True)
        finally:
            for name, mod in stubs.items():
                if sys.modules.get(name) is mod:
                    del sys.modules[name]
    from spopt.locate import LSCP, MCLP

    return LSCP, MCLP


def solve_siting(model: str, cost_candidates, service: float, *, k: int | None = None, weights=None,
                 cost_existing=None) -> SitingResult:
    """Choose new sites with spopt's MCLP (``k`` sites maximising covered weight) or LSCP
    (fewest sites covering every coverable demand point).

    Parameters
    ----------
    model : "mclp" or "lscp"
    cost_candidates : array (n_demand, n_candidates) of costs (``inf`` = not reachable)
    service : the coverage threshold, in the cost's unit (cost <= service counts as covered)
    k : number of new sites (MCLP only)
    weights : demand weight per demand point (MCLP; default 1 each)
    cost_existing : array (n_demand, n_existing) for the stations that exist anyway, or None

    LSCP leaves out the demand points that no facility can cover (they are reported in
    ``uncoverable``); otherwise the model would be infeasible.
    """
    import pulp

    LSCP, MCLP = coverage_models()
    if model not in MODELS:
        raise AnalysisError(f"siting: unknown model '{model}' (use mclp or lscp)")
    cc = np.asarray(cost_candidates, dtype=float)
    if cc.ndim != 2:
        raise AnalysisError("siting: the candidate cost matrix must be 2-D (demand x candidates)")
    n_dem, n_cand = cc.shape
    ce = np.zeros((n_dem, 0)) if cost_existing is None else np.asarray(cost_existing, dtype=float)
    n_ex = ce.shape[1]
    cost = np.hstack([ce, cc])
    cost = np.where(np.isnan(cost), np.inf, cost)
    # a large finite stand-in for "unreachable" keeps solvers and comparisons simple
    cost = np.where(np.isfinite(cost), cost, np.float64(service) * 10.0 + 1e9)
    cover = cost <= service
    pre_covered = cover[:, :n_ex].any(axis=1) if n_ex else np.zeros(n_dem, dtype=bool)
    uncoverable = ~cover.any(axis=1)
    predefined = np.r_[np.ones(n_ex, dtype=int), np.zeros(n_cand, dtype=int)]
    fixed = predefined if n_ex else None

    if model == "mclp":
        if k is None or k < 1:
            raise AnalysisError("siting: MCLP needs siting_k >= 1 new stations")
        if k > n_cand:
            raise AnalysisError(f"siting: MCLP asked for {k} new stations but there are only {n_cand} "
                                "candidate sites. Lower siting_k or give more candidate_sites.")
        w = np.ones(n_dem) if weights is None else np.nan_to_num(np.asarray(weights, dtype=float), nan=0.0)
        m = MCLP.from_cost_matrix(cost, w, service_radius=float(service), p_facilities=int(n_ex + k),
                                  predefined_facilities_arr=fixed, name="kzgis_mclp")
        m = m.solve(_solver(), results=False)
        objective = float(pulp.value(m.problem.objective) or 0.0)
    else:
        rows = np.flatnonzero(~uncoverable)
        if len(rows) == 0 or (n_ex and pre_covered[rows].all()):
            chosen = np.zeros(n_ex + n_cand, dtype=bool)
            chosen[:n_ex] = True
            covered = cover[:, :n_ex].any(axis=1) if n_ex else np.zeros(n_dem, dtype=bool)
            return SitingResult("lscp", np.array([], dtype=int), covered, pre_covered, uncoverable,
                                float(n_ex), "Optimal (nothing to add)")
        m = LSCP.from_cost_matrix(cost[rows], service_radius=float(service),
                                  predefined_facilities_arr=fixed, name="kzgis_lscp")
        m = m.solve(_solver(), results=False)
        objective = float(pulp.value(m.problem.objective) or 0.0)
    status = pulp.LpStatus[m.problem.status]
    if status != "Optimal":
        raise AnalysisError(f"siting: the {model.upper()} solver ended with status '{status}'")
    x = np.array([(v.value() or 0.0) > 0.5 for v in m.fac_vars])
    selected = np.flatnonzero(x[n_ex:])
    covered = (cover & x[None, :]).any(axis=1)
    log.info("siting %s: %d new sites, objective %s", model, len(selected), objective)
    return SitingResult(model, selected, covered, pre_covered, uncoverable, objective, status)
