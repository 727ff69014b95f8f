"""geo.water: a call's circle near the river or a flood zone, a boat crew's walk from the landing, circle points."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.crs import to_utm
from geo.water import boat_walk_m, circle_points, circle_touches_water

BUNTOK = (114.8445, -1.7065)


def test_the_circle_not_the_centre_decides_near_water() -> None:
    # A village centre 2.5 km from the river, known to 3 km: the river may be where the caller is.
    assert circle_touches_water(lon=BUNTOK[0], lat=BUNTOK[1], radius_m=3000, river_distance_m=2500, near_m=100)
    assert not circle_touches_water(lon=BUNTOK[0], lat=BUNTOK[1], radius_m=30, river_distance_m=2500, near_m=100)
    assert not circle_touches_water(lon=BUNTOK[0], lat=BUNTOK[1], radius_m=0, river_distance_m=None, near_m=100)


def test_a_flood_zone_touching_the_circle_counts() -> None:
    lon, lat = BUNTOK
    # A square 0.02 degrees (about 2.2 km) east of the point.
    zone = shapely.box(lon + 0.02, lat - 0.01, lon + 0.04, lat + 0.01)
    far = dict(lon=lon, lat=lat, river_distance_m=None, near_m=100, floods=[zone])
    assert circle_touches_water(radius_m=2500, **far)
    assert not circle_touches_water(radius_m=1500, **far)
    assert circle_touches_water(lon=lon + 0.03, lat=lat, radius_m=0, river_distance_m=None, near_m=100, floods=[zone])


def test_boat_walk_is_what_follows_the_last_water_leg() -> None:
    legs = [("offnetwork", 20.0), ("river", 9000.0), ("landing", 400.0), ("river", 300.0), ("landing", 700.0),
            ("offnetwork", 450.0)]
    assert boat_walk_m(travel_mode="river:klotok", legs=legs) == pytest.approx(1150.0)
    assert boat_walk_m(travel_mode="river", legs=[("offnetwork", 5.0), ("river", 100.0)]) == 0.0
    assert boat_walk_m(travel_mode="road", legs=legs) == 0.0


def test_circle_points_lie_on_the_circle() -> None:
    pts = circle_points(lon=BUNTOK[0], lat=BUNTOK[1], radius_m=2000, n=8)
    assert len(pts) == 8
    cx, cy = to_utm(np.array([BUNTOK[0]]), np.array([BUNTOK[1]]))
    x, y = to_utm(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    assert np.allclose(np.hypot(x - cx[0], y - cy[0]), 2000, atol=0.5)
    assert pts[0][1] > BUNTOK[1]  # north first
    assert circle_points(lon=BUNTOK[0], lat=BUNTOK[1], radius_m=0) == []
