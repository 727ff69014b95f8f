"""Honest answers near water: whether a call's uncertainty circle touches the river or a flood zone, how far a
boat's crew must walk from its landing, and the points of the circle an ETA range is taken over.

Pure: points, distances, polygons and legs in, answers out. Metric work in UTM 50S.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import shapely

from geo.crs import UTM50S, WGS84, project_geometries, to_utm, to_wgs84

__all__ = ["BOAT_LEG_MODES", "boat_walk_m", "circle_points", "circle_touches_water"]

# The legs a boat travels on water; everything after its last water leg is the crew's walk from the landing.
BOAT_LEG_MODES = frozenset({"river"})


def circle_touches_water(
    *,
    lon: float,
    lat: float,
    radius_m: float,
    river_distance_m: float | None,
    near_m: float,
    floods: Sequence[shapely.Geometry] = (),
) -> bool:
    """True when the circle of `radius_m` around the point comes within `near_m` of the river, or touches an
    active flood zone (WGS84 polygons)."""
    radius = max(float(radius_m or 0.0), 0.0)
    if river_distance_m is not None and river_distance_m <= near_m + radius:
        return True
    if not floods:
        return False
    x, y = to_utm(np.array([lon]), np.array([lat]))
    disc = shapely.points(float(x[0]), float(y[0])).buffer(max(radius, 1.0), quad_segs=16)
    zones = project_geometries(np.asarray(list(floods), dtype=object), src=WGS84, dst=UTM50S)
    return bool(np.any(shapely.intersects(zones, disc)))


def boat_walk_m(*, travel_mode: str, legs: Iterable[tuple[str, float]]) -> float:
    """Metres a boat's crew covers on foot after leaving the water (legs: (mode, metres) in route order).

    Zero for a unit that does not travel by river; for a boat, every leg after its last water leg.
    """
    if not travel_mode.startswith("river"):
        return 0.0
    walk = 0.0
    for mode, metres in legs:
        walk = 0.0 if mode in BOAT_LEG_MODES else walk + float(metres)
    return walk


def circle_points(*, lon: float, lat: float, radius_m: float, n: int = 8) -> list[tuple[float, float]]:
    """`n` points (lon, lat) evenly on the circle of `radius_m` around the point, starting north."""
    if n < 1 or not radius_m > 0:
        return []
    x, y = to_utm(np.array([lon]), np.array([lat]))
    angle = np.arange(n) * 2 * np.pi / n
    px, py = to_wgs84(x[0] + radius_m * np.sin(angle), y[0] + radius_m * np.cos(angle))
    return list(zip(np.asarray(px).tolist(), np.asarray(py).tolist(), strict=True))
