"""Terrain from a DEM GeoTIFF: elevation sampling, slope, hillshade, grade along lines.

The DEM is read once, warped to the working CRS when it is in another one (bilinear), and kept in
memory as a float32 array with NaN for nodata. Products (slope, hillshade) are computed once and
cached on the object, so analyses share them.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path

import numpy as np
from affine import Affine

from ._errors import CRSError, KzgisError, LayerError
from .crs import as_crs, require_projected

log = logging.getLogger(__name__)


class DEM:
    """An elevation grid in a projected CRS.

    Attributes
    ----------
    z : ndarray (rows, cols) float32, metres, NaN = nodata
    transform : affine.Affine (north-up)
    crs : pyproj.CRS (projected)
    """

    def __init__(self, z, transform: Affine, crs):
        self.z = np.asarray(z, dtype=np.float32)
        self.transform = transform
        self.crs = require_projected(crs, "the DEM")
        if transform.b != 0 or transform.d != 0 or transform.e >= 0:
            raise LayerError("the DEM must be north-up without rotation")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def read(cls, path, working_crs, crs=None, resolution_m: float | None = None) -> DEM:
        """Read a GeoTIFF and warp it to ``working_crs`` if needed.

        Raises :class:`~kzgis._errors.LayerError` naming the file when it is missing, empty, corrupt,
        truncated or not a raster (never a rasterio traceback).
        """
        from rasterio.errors import RasterioError

        path = Path(path)
        if not path.exists():
            raise LayerError(f"layer 'dem': file not found: {path}")
        if path.is_file() and path.stat().st_size == 0:
            raise LayerError(f"layer 'dem': {path} is empty (0 bytes): copy the DEM again or export it as GeoTIFF")
        working_crs = require_projected(working_crs, "the working CRS")
        try:
            return cls._read(path, working_crs, crs, resolution_m)
        except (RasterioError, OSError, MemoryError, ValueError) as exc:
            if isinstance(exc, KzgisError):
                raise
            what = ("too large to read into memory (use a coarser DEM or clip it to the study area)"
                    if isinstance(exc, MemoryError) else
                    "not a readable raster: the file is corrupt, truncated or not a GeoTIFF")
            detail = " ".join(str(exc).split())[:200]
            raise LayerError(f"layer 'dem': {path} is {what} ({type(exc).__name__}: {detail}). "
                             "Export the DEM again as GeoTIFF (e.g. gdal_translate -of GTiff) and check it opens "
                             "in QGIS") from exc

    @classmethod
    def _read(cls, path, working_crs, crs, resolution_m):
        import rasterio
        from rasterio.warp import Resampling, calculate_default_transform, reproject

        with rasterio.open(path) as src:
            src_crs = as_crs(crs) if crs else (as_crs(src.crs.to_wkt()) if src.crs else None)
            if src_crs is None:
                raise CRSError(f"layer 'dem': {path.name} has no CRS; add 'crs:' to the dem layer in the recipe")
            data = src.read(1, masked=True).astype(np.float32).filled(np.nan)
            if src_crs == working_crs and resolution_m is None:
                return cls(data, src.transform, working_crs)
            dst_t, w, h = calculate_default_transform(
                src_crs.to_wkt(), working_crs.to_wkt(), src.width, src.height, *src.bounds,
                resolution=resolution_m)
            out = np.full((h, w), np.nan, dtype=np.float32)
            reproject(data, out, src_transform=src.transform, src_crs=src_crs.to_wkt(),
                      dst_transform=dst_t, dst_crs=working_crs.to_wkt(), resampling=Resampling.bilinear,
                      src_nodata=np.nan, dst_nodata=np.nan)
            return cls(out, dst_t, working_crs)

    # -- geometry of the grid ------------------------------------------------------------------
    @property
    def cell_m(self) -> float:
        return float(abs(self.transform.a))

    @property
    def shape(self):
        return self.z.shape

    @property
    def bounds(self):
        h, w = self.z.shape
        x0, y0 = self.transform @ (0, 0)
        x1, y1 = self.transform @ (w, h)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def rowcol(self, x, y):
        """Fractional (row, col) of cell centres for coordinates x, y."""
        inv = ~self.transform
        col, row = inv @ (np.asarray(x, float), np.asarray(y, float))
        return row - 0.5, col - 0.5

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, x, y) -> np.ndarray:
        """Bilinear elevation at points (NaN outside the grid or next to nodata)."""
        from scipy.ndimage import map_coordinates

        r, c = self.rowcol(x, y)
        r = np.atleast_1d(r)
        c = np.atleast_1d(c)
        h, w = self.z.shape
        outside = (r < -0.5) | (c < -0.5) | (r > h - 0.5) | (c > w - 0.5)
        vals = map_coordinates(self.z, [np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)], order=1,
                               mode="nearest", prefilter=False)
        vals = vals.astype(float)
        vals[outside] = np.nan
        return vals

    def profile(self, line, step_m: float | None = None):
        """Distances along ``line`` (m) and elevations, sampled every ``step_m`` (default one cell)."""
        import shapely

        step = step_m or self.cell_m
        n = max(int(np.ceil(line.length / step)), 1)
        d = np.linspace(0.0, line.length, n + 1)
        pts = shapely.line_interpolate_point(line, d)
        xy = shapely.get_coordinates(pts)
        return d, self.sample(xy[:, 0], xy[:, 1])

    def grades(self, lines, step_m: float | None = None, min_run_m: float | None = None, coverage: bool = False):
        """Max and mean absolute grade (%) of each line, from the elevation profile.

        The grade is taken over runs of at least ``min_run_m`` (default two cells) so that
        single-cell noise does not dominate. Vectorised over all lines at once.
        Returns arrays (grade_max_pct, grade_mean_pct); NaN where the DEM has no data.
        With ``coverage=True`` also a third array: the share (0..1) of each line's runs whose grade
        could be measured (0 = wholly outside the DEM or on nodata; the grade there was not checked).
        """
        import shapely

        lines = np.asarray(lines, dtype=object)
        run = min_run_m or 2.0 * self.cell_m
        step = step_m or self.cell_m
        lengths = shapely.length(lines)
        nseg = np.maximum(np.ceil(lengths / max(run, step)).astype(int), 1)
        starts = np.concatenate([[0], np.cumsum(nseg + 1)[:-1]])
        idx = np.repeat(np.arange(len(lines)), nseg + 1)
        k = np.arange(idx.size) - starts[idx]
        frac = k / nseg[idx]
        pts = shapely.line_interpolate_point(lines[idx], frac, normalized=True)
        xy = shapely.get_coordinates(pts)
        z = self.sample(xy[:, 0], xy[:, 1])
        dz = np.abs(np.diff(z))
        dd = (lengths / nseg)[idx[1:]]
        same = idx[1:] == idx[:-1]
        g = np.where(same & (dd > 0), dz / np.where(dd > 0, dd, 1) * 100.0, np.nan)
        gmax = np.full(len(lines), np.nan)
        gmean = np.full(len(lines), np.nan)
        owner = idx[1:][same]
        gv = g[same]
        ok = np.isfinite(gv)
        if ok.any():
            np.fmax.at(gmax, owner[ok], gv[ok])
            sums = np.bincount(owner[ok], weights=gv[ok], minlength=len(lines))
            cnt = np.bincount(owner[ok], minlength=len(lines))
            with np.errstate(invalid="ignore", divide="ignore"):
                gmean = np.where(cnt > 0, sums / cnt, np.nan)
        # net grade over the whole line also bounds the max from below (short lines)
        if coverage:
            measured = np.bincount(owner[ok], minlength=len(lines)) if ok.any() else np.zeros(len(lines))
            return gmax, gmean, np.asarray(measured, float) / nseg
        return gmax, gmean

    def outside_share(self, geoms) -> np.ndarray:
        """Share (0..1) of each geometry outside the DEM or on nodata (points: 0 or 1; lines by
        length, sampled every cell; polygons by area, cells whose centre is inside)."""
        import shapely

        arr = np.asarray(list(geoms), dtype=object)
        out = np.full(len(arr), np.nan)
        if not len(arr):
            return out
        kind = shapely.get_type_id(arr)
        pts = kind == 0
        if pts.any():
            xy = shapely.get_coordinates(arr[pts])
            out[pts] = ~np.isfinite(self.sample(xy[:, 0], xy[:, 1]))
        lines = np.isin(kind, (1, 2, 5))
        if lines.any():
            ln = arr[lines]
            lengths = shapely.length(ln)
            n = np.maximum(np.ceil(lengths / self.cell_m).astype(int), 1)
            idx = np.repeat(np.arange(len(ln)), n)
            k = np.arange(idx.size) - np.concatenate([[0], np.cumsum(n)[:-1]])[idx]
            frac = (k + 0.5) / n[idx]
            p = shapely.line_interpolate_point(ln[idx], frac, normalized=True)
            xy = shapely.get_coordinates(p)
            bad = ~np.isfinite(self.sample(xy[:, 0], xy[:, 1]))
            out[lines] = np.bincount(idx, weights=bad, minlength=len(ln)) / n
        polys = np.isin(kind, (3, 6))
        if polys.any():
            have = np.isfinite(self.z).astype(np.float32)
            inside = self.zonal_mean(arr[polys], raster=have)
            area = shapely.area(arr[polys])
            # cells of the polygon inside the grid vs the polygon's whole area
            grid = shapely.box(*self.bounds)
            frac_in_grid = np.where(area > 0, shapely.area(shapely.intersection(arr[polys], grid)) / np.where(
                area > 0, area, 1), 0.0)
            out[polys] = 1.0 - np.nan_to_num(inside) * frac_in_grid
        return out

    # -- derived rasters (cached) --------------------------------------------------------------
    @cached_property
    def slope_deg(self) -> np.ndarray:
        """Slope in degrees per cell (Horn-like central differences)."""
        z = self.z
        gy, gx = np.gradient(z, self.cell_m)
        return np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)

    @cached_property
    def aspect_deg(self) -> np.ndarray:
        gy, gx = np.gradient(self.z, self.cell_m)
        # rows increase southward, so -gy is the northward gradient
        return (np.degrees(np.arctan2(gx, gy)) % 360).astype(np.float32)

    def hillshade(self, azimuth_deg: float = 315.0, altitude_deg: float = 45.0, z_factor: float = 1.5):
        """Hillshade 0..1 (NaN where no data)."""
        gy, gx = np.gradient(self.z * z_factor, self.cell_m)
        slope = np.arctan(np.hypot(gx, gy))
        aspect = np.arctan2(-gx, gy)
        az = np.radians(360.0 - azimuth_deg + 90.0)
        alt = np.radians(altitude_deg)
        hs = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
        return np.clip(hs, 0, 1)

    def zonal_mean(self, geoms, raster: np.ndarray | None = None) -> np.ndarray:
        """Mean of ``raster`` (default elevation) over each polygon (cells whose centre is inside)."""
        from rasterio.features import rasterize

        raster = self.z if raster is None else raster
        geoms = list(geoms)
        if not geoms:
            return np.array([])
        ids = rasterize(((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
                        out_shape=self.z.shape, transform=self.transform, fill=0, dtype="int32")
        ok = (ids > 0) & np.isfinite(raster)
        sums = np.bincount(ids[ok], weights=raster[ok], minlength=len(geoms) + 1)
        cnt = np.bincount(ids[ok], minlength=len(geoms) + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / cnt
        means = means[1:]
        # polygons smaller than a cell: sample at a representative point
        import shapely

        arr = np.asarray(geoms, dtype=object)
        empty = np.array([g is None or g.is_empty for g in arr])
        means[empty] = np.nan
        small = (cnt[1:] == 0) & ~empty
        if small.any():
            pts = shapely.get_coordinates(shapely.point_on_surface(arr[small]))
            r, c = self.rowcol(pts[:, 0], pts[:, 1])
            r = np.clip(np.round(r).astype(int), 0, self.z.shape[0] - 1)
            c = np.clip(np.round(c).astype(int), 0, self.z.shape[1] - 1)
            means[small] = raster[r, c]
        return means
