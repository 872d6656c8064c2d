"""Road network engine (placeholder: being written for issue 3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkParams:
    snap_max_m: float = 500.0
