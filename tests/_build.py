"""Tiny geometry builders for hand-made test cases in EPSG:4545 near Kaizhou (E 537000, N 3448000).

Coordinates are given as offsets in metres from (X0, Y0), so expected answers read as plain numbers.
"""

import shapely

X0, Y0 = 537000.0, 3448000.0
CRS = "EPSG:4545"


def L(*pts):
    """A LineString through offsets (a, b) metres east/north of (X0, Y0)."""
    return shapely.LineString([(X0 + a, Y0 + b) for a, b in pts])


def P(a, b):
    """A Point at offset (a, b) metres."""
    return shapely.Point(X0 + a, Y0 + b)


def box(a0, b0, a1, b1):
    """A rectangle between offsets (a0, b0) and (a1, b1)."""
    return shapely.box(X0 + a0, Y0 + b0, X0 + a1, Y0 + b1)
