"""Static heat sources (industry, flares, zinc-roof clusters): which detections fall inside one.

Pure logic: WGS84 points and polygons in, the owning source id per point out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from geo.crs import to_utm, to_wgs84
from geo.firms import in_area


def assign_sources(*, lon: np.ndarray, lat: np.ndarray, ids: Sequence[int],
                   geometries: Sequence[shapely.Geometry]) -> np.ndarray:
    """Per point the id of the static source containing it (lowest id where sources overlap), else -1."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    out = np.full(len(lon), -1, dtype=np.int64)
    for sid, geom in sorted(zip(ids, geometries, strict=True), key=lambda p: p[0], reverse=True):
        # Highest id first, so the lowest id containing a point is written last and wins.
        out[in_area(lon=lon, lat=lat, area=geom)] = int(sid)
    return out


def merged_bounds(geometries: Sequence[shapely.Geometry | None]) -> tuple[float, float, float, float] | None:
    """The bounding box (minlon, minlat, maxlon, maxlat) of the given geometries (None entries skipped)."""
    present = [g for g in geometries if g is not None and not g.is_empty]
    if not present:
        return None
    b = shapely.total_bounds(np.array(present, dtype=object))
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def footprint(*, lon: float, lat: float, radius_m: float) -> shapely.Polygon:
    """A square of half-side `radius_m` (metres, built in UTM 50S) around a point, as a WGS84 polygon."""
    x, y = to_utm(np.array([lon]), np.array([lat]))
    xs = np.array([x[0] - radius_m, x[0] + radius_m, x[0] + radius_m, x[0] - radius_m])
    ys = np.array([y[0] - radius_m, y[0] - radius_m, y[0] + radius_m, y[0] + radius_m])
    lons, lats = to_wgs84(xs, ys)
    return shapely.Polygon(np.column_stack([lons, lats]))


def nearest_centres(*, lon: np.ndarray, lat: np.ndarray, centre_lon: np.ndarray,
                    centre_lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point the index of the nearest centre and the distance to it in metres (UTM 50S); (-1, inf) if none."""
    lon = np.asarray(lon, dtype=np.float64)
    n = len(lon)
    if not len(centre_lon) or not n:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    px, py = to_utm(lon, np.asarray(lat, dtype=np.float64))
    cx, cy = to_utm(np.asarray(centre_lon, dtype=np.float64), np.asarray(centre_lat, dtype=np.float64))
    d = np.hypot(np.asarray(px)[:, None] - np.asarray(cx)[None, :], np.asarray(py)[:, None] - np.asarray(cy)[None, :])
    idx = d.argmin(axis=1)
    return idx.astype(np.int64), d[np.arange(n), idx]
