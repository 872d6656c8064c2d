"""Exception classes.

Every error subclasses both :class:`KzgisError` and a builtin, so callers can catch either
(``except ValueError`` keeps working), the way rasterio's errors do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KzgisError(Exception):
    """Base class of every kzgis error."""


class RecipeError(KzgisError, ValueError):
    """A recipe (YAML job description) is malformed: unknown key, wrong type, missing path."""


class LayerError(KzgisError, ValueError):
    """A layer cannot be loaded or is invalid beyond repair."""


class CRSError(KzgisError, ValueError):
    """A layer has no usable coordinate reference system, or a distance needs a projected CRS."""


class NetworkError(KzgisError, ValueError):
    """The road network cannot be built or routed on."""


class AnalysisError(KzgisError, RuntimeError):
    """An analysis step failed; the message names the step."""


class OutputError(KzgisError, ValueError):
    """An output folder cannot be used (it holds the user's files, is locked by another run,
    is not writable, or the disk is full). Nothing was written or deleted."""


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or a list of valid choices."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if choices:
        return f" (valid: {', '.join(choices)})"
    return ""
