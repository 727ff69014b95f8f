"""Static heat sources (industry, flares, zinc-roof clusters): which detections fall inside one.

Pure logic: WGS84 points and polygons in, the owning source id per point out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

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
