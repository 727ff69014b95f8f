"""A route's distance is the whole way the unit travels: off-road to the network, the network, off-road again.

Regression (issue 13): ``distance_m`` counted only the network part while the ETA counted the off-network
stretches too, so an ambulance 465 m away whose position and the incident snapped to the same node showed
"ETA 3 mnt · 0 m".
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import select

from geo.crs import UTM50S, WGS84, project_geometries, to_utm, to_wgs84
from geo.network import TravelNetwork, build_network
from geo.routing import RankedUnit, rank_units
from store.db import session_scope
from store.layers import read_layers
from store.units import Unit, seed_demo_units

X0, Y0 = 500_000.0, 9_800_000.0  # UTM 50S, near Buntok
KMH = 1 / 3.6
OFFNETWORK_KMH = 15.0


def _ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = to_wgs84(np.array([X0 + x]), np.array([Y0 + y]))
    return float(lon[0]), float(lat[0])


@pytest.fixture(scope="module")
def line() -> TravelNetwork:
    """One two-way road from A (0, 0) to B (1000, 0)."""
    road = shapely.LineString([(X0, Y0), (X0 + 1000, Y0)])
    return build_network(lines=np.array([road], dtype=object), kind=np.array(["primary"]), crs=UTM50S)


def _one(net: TravelNetwork, unit: tuple[float, float], incident: tuple[float, float]) -> RankedUnit:
    ulon, ulat = _ll(*unit)
    ilon, ilat = _ll(*incident)
    res = rank_units(
        net, incident_lon=ilon, incident_lat=ilat, unit_ids=np.array(["u"], dtype=object),
        unit_types=np.array(["ambulans"]), unit_modes=np.array(["road"]), unit_lon=np.array([ulon]),
        unit_lat=np.array([ulat]),
    )
    (ranked,) = res.by_type["ambulans"]
    return ranked


def _route_length_m(route: dict) -> float:
    coords = np.asarray(route["coordinates"])
    return float(shapely.length(project_geometries(np.array([shapely.LineString(coords)]), src=WGS84)[0]))


def test_both_snap_stretches_count_in_the_distance(line: TravelNetwork) -> None:
    """Unit 300 m south of A, incident 200 m north of B: 300 + 1000 + 200 m, leg by leg."""
    u = _one(line, (0, -300), (1000, 200))
    assert [leg.mode for leg in u.legs] == ["offnetwork", "road", "offnetwork"]
    assert [leg.distance_m for leg in u.legs] == pytest.approx([300.0, 1000.0, 200.0], abs=0.5)
    assert u.distance_m == pytest.approx(1500.0, abs=1.0)
    assert u.distance_m == pytest.approx(sum(leg.distance_m for leg in u.legs))
    assert u.eta_s == pytest.approx(sum(leg.time_s for leg in u.legs))


def test_a_unit_snapping_to_the_incidents_node_is_not_zero_metres_away(line: TravelNetwork) -> None:
    """Unit 300 m south of A, incident 165 m north of A: both snap to A; the unit walks 465 m."""
    u = _one(line, (0, -300), (0, 165))
    assert u.straight_line_m == pytest.approx(465.0, abs=0.5)
    assert u.distance_m == pytest.approx(465.0, abs=0.5)
    assert u.eta_s == pytest.approx(465.0 / (OFFNETWORK_KMH * KMH), abs=0.5)
    assert [leg.mode for leg in u.legs] == ["offnetwork", "offnetwork"]


def test_the_distance_is_the_length_of_the_route_drawn(line: TravelNetwork) -> None:
    """Over many unit/incident pairs: distance = sum of legs = length of the route line >= straight line."""
    rng = np.random.default_rng(13)
    for ux, uy, ix, iy in rng.uniform([-500, -800, -500, -800], [1500, 800, 1500, 800], size=(40, 4)):
        u = _one(line, (ux, uy), (ix, iy))
        assert u.distance_m == pytest.approx(sum(leg.distance_m for leg in u.legs), abs=1e-6)
        assert u.distance_m == pytest.approx(_route_length_m(u.route), abs=0.5)
        assert u.distance_m >= u.straight_line_m - 0.5


# -- through the API, both backends ----------------------------------------------------------------------
INCIDENT = {"lon": 114.95, "lat": -1.80}  # south-east of Buntok, on the derived road network's side of the river


def test_recommendations_count_the_off_road_metres(client, database) -> None:
    """An ambulance 465 m from the incident is recommended with a distance of at least 465 m."""
    with session_scope(database.sessions) as s:
        seed_demo_units(s, read_layers(s))
    with database.sessions() as s:
        ambulance, callsign = s.execute(
            select(Unit.id, Unit.callsign).where(Unit.type == "ambulans").order_by(Unit.id)
        ).first()
    x, y = to_utm(np.array([INCIDENT["lon"]]), np.array([INCIDENT["lat"]]))
    lon, lat = to_wgs84(x - 465.0, y)
    r = client.put(f"/api/units/{ambulance}/position", json={"lon": float(lon[0]), "lat": float(lat[0])})
    assert r.status_code == 200, r.text
    inc = client.post("/api/incidents", json={"category": "medis", "location": INCIDENT})
    assert inc.status_code == 201, inc.text
    body = client.get(f"/api/incidents/{inc.json()['id']}/recommendations", params={"types": "ambulans"}).json()
    ranked = body["recommendations"]["ambulans"]
    near = next(u for u in ranked if u["callsign"] == callsign)
    assert near["rank"] == 1
    assert near["straight_line_m"] == pytest.approx(465.0, abs=1.0)
    assert near["distance_m"] >= near["straight_line_m"] - 1.0
    for unit in ranked:
        assert unit["distance_m"] == pytest.approx(sum(leg["distance_m"] for leg in unit["legs"]), abs=1.0)
        assert unit["distance_m"] >= unit["straight_line_m"] - 1.0
