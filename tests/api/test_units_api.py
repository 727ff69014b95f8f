"""Stations, units, positions, the network endpoint, recommendations, dispatch and flood closures, on both backends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import shapely
from sqlalchemy import select, text, update

from geo.times import utcnow
from store.accounts import AuditRecord
from store.db import session_scope
from store.dispatch import DispatchAssignment, UnitsUnavailableError, dispatch_units
from store.floods import FloodZone
from store.incidents import Incident
from store.layers import read_layers
from store.network import read_lines
from store.units import Unit, seed_demo_units
from tests.conftest import bearer
from tests.waiting import wait_until

# A village south-east of Buntok, inside Barito Selatan, on the derived road network's side of the river.
INCIDENT = {"lon": 114.95, "lat": -1.80}
JAKARTA = {"lon": 106.8, "lat": -6.2}


@pytest.fixture
def demo(client, database) -> dict[str, int]:
    """The demo stations and units seeded into the test database; callsign -> unit id."""
    with session_scope(database.sessions) as s:
        seed_demo_units(s, read_layers(s))
    with database.sessions() as s:
        return {u.callsign: u.id for u in s.scalars(select(Unit))}


def new_incident(client, *, category: str = "kebakaran", location: dict | None = INCIDENT,
                 priority: str | None = None) -> dict:
    body = {"category": category, "location": location}
    if priority is not None:
        body["priority"] = priority
    r = client.post("/api/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def set_units(database, ids: list[int], **values) -> None:
    with session_scope(database.sessions) as s:
        s.execute(update(Unit).where(Unit.id.in_(ids)).values(**values))


def recent_events(client, kind: str) -> list[dict]:
    # A copy first: on PostGIS the listener thread appends while this reads.
    return [e for e in list(client.app.state.ctx.events.recent) if e["kind"] == kind]


def event_matching(client, kind: str, match, *, timeout_s: float = 10.0) -> dict:
    """The data of the newest `kind` event `match` accepts, waiting for it (PostGIS delivers after commit)."""
    return wait_until(
        lambda: next((e["data"] for e in reversed(recent_events(client, kind)) if match(e["data"])), None),
        timeout=timeout_s,
        message=f"no {kind} event matched",
    )


def latest_status(client, kind: str, ids: list[int]) -> dict[int, str]:
    """The status the newest `kind` event of each of `ids` announced (ids without one left out)."""
    return {e["data"]["id"]: e["data"]["status"] for e in recent_events(client, kind) if e["data"]["id"] in ids}


# -- network, stations, units ------------------------------------------------------------------------
def test_network_endpoint_serves_the_derived_default_marked_as_such(client, database) -> None:
    r = client.get("/api/network")
    assert r.status_code == 200
    body = r.json()
    with database.sessions() as s:  # every stored line, vertex by vertex, in the stored order
        stored = read_lines(s).lines
    assert [f["geometry"]["coordinates"] for f in body["features"]] == [
        shapely.get_coordinates(g).round(7).tolist() for g in stored
    ]
    assert body["type"] == "FeatureCollection" and body["network"]["approximate"] is True
    assert {f["properties"]["source"] for f in body["features"]} == {"derived"}
    assert {f["properties"]["kind"] for f in body["features"]} == {"derived", "landing", "river"}
    near_buntok = client.get("/api/network", params={"bbox": "114.8,-1.75,114.9,-1.65"}).json()
    assert 0 < len(near_buntok["features"]) < len(body["features"])
    assert client.get("/api/network", params={"bbox": "1,2,3"}).status_code == 422


def test_reads_need_login_and_writes_need_a_dispatcher(anon_client, tokens, database) -> None:
    assert anon_client.get("/api/units").status_code == 401
    assert anon_client.get("/api/stations").status_code == 401
    with session_scope(database.sessions) as s:
        seed_demo_units(s, read_layers(s))
        uid = s.scalars(select(Unit.id)).first()
    for role in ("leader", "planner"):
        r = anon_client.put(
            f"/api/units/{uid}/position", json={"lon": 114.9, "lat": -1.7}, headers=bearer(tokens[role])
        )
        assert r.status_code == 403, role
    assert anon_client.get("/api/units", headers=bearer(tokens["leader"])).status_code == 200


def test_stations_and_units_are_listed_with_position_age_and_stale_flag(client, demo, database) -> None:
    stations = client.get("/api/stations").json()
    assert stations["count"] >= 20
    rsud = next(s for s in stations["stations"] if s["code"] == "RSUD")
    assert rsud["name"] == "RSUD Jaraga Sasameh" and rsud["source"] == "demo" and rsud["units"] == 2
    old = demo["DMK-PDG-1"]
    set_units(database, [old], position_at=utcnow() - timedelta(minutes=25))
    units = {u["callsign"]: u for u in client.get("/api/units").json()["units"]}
    assert len(units) == len(demo)
    assert units["DMK-PDG-1"]["stale"] is True and units["DMK-PDG-1"]["position_age_s"] > 1400
    assert units["DMK-BTK-1"]["stale"] is False and units["DMK-BTK-1"]["source"] == "demo"
    assert units["PRH-BTK-1"]["mode"] == "river" and units["DMK-BTK-1"]["mode"] == "road"
    geo = client.get("/api/units", params={"format": "geojson", "type": "perahu"}).json()
    assert geo["type"] == "FeatureCollection"
    assert {f["properties"]["type"] for f in geo["features"]} == {"perahu"}
    assert all(f["geometry"]["type"] == "Point" for f in geo["features"])


def test_position_update_checks_kalimantan_and_announces_the_unit(client, demo) -> None:
    uid = demo["AMB-BTK-1"]
    r = client.put(f"/api/units/{uid}/position", json={"lon": 114.88, "lat": -1.72})
    assert r.status_code == 200, r.text
    assert (r.json()["lon"], r.json()["lat"], r.json()["stale"]) == (114.88, -1.72, False)
    ev = event_matching(client, "unit.updated", lambda d: d["id"] == uid and d["lon"] == 114.88)
    assert ev["lat"] == -1.72
    r = client.put(f"/api/units/{uid}/position", json=JAKARTA)
    assert r.status_code == 422 and "Kalimantan" in r.json()["message_en"]
    r = client.put(f"/api/units/{uid}/position", json={"lon": -1.72, "lat": 114.88})
    assert r.status_code == 422 and r.json()["hint"] == "swapped"
    older = (utcnow() - timedelta(hours=1)).isoformat()
    assert client.put(f"/api/units/{uid}/position", json={"lon": 114.9, "lat": -1.7, "at": older}).status_code == 409
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert client.put(f"/api/units/{uid}/position", json={"lon": 114.9, "lat": -1.7, "at": future}).status_code == 422
    assert client.put("/api/units/999999/position", json={"lon": 114.9, "lat": -1.7}).status_code == 404
    # The refused updates left the unit where the accepted one put it.
    unit = next(u for u in client.get("/api/units").json()["units"] if u["id"] == uid)
    assert (unit["lon"], unit["lat"]) == (114.88, -1.72)


# -- recommendations ---------------------------------------------------------------------------------
def test_recommendation_ranks_available_units_by_eta_with_routes(client, demo) -> None:
    inc = new_incident(client)
    r = client.get(f"/api/incidents/{inc['id']}/recommendations")
    assert r.status_code == 200, r.text
    body = r.json()
    # Types default from the category's response plan (kebakaran -> damkar first, police and ambulance too).
    assert body["types"] == ["damkar", "polisi", "ambulans"] and body["network_source"] == "derived"
    ranked = body["recommendations"]["damkar"]
    assert [u["rank"] for u in ranked] == [1, 2, 3]
    assert [u["eta_s"] for u in ranked] == sorted(u["eta_s"] for u in ranked)
    first = ranked[0]
    assert first["callsign"].startswith("DMK-") and first["stale"] is False
    assert first["distance_m"] > 0 and first["straight_line_m"] > 0
    assert {leg["mode"] for leg in first["legs"]} <= {"road", "ferry", "offnetwork"}
    assert sum(leg["time_s"] for leg in first["legs"]) == pytest.approx(first["eta_s"], abs=1.0)
    route = first["route"]
    assert route["type"] == "Feature" and route["geometry"]["type"] == "LineString"
    end = route["geometry"]["coordinates"][-1]
    assert end == pytest.approx([INCIDENT["lon"], INCIDENT["lat"]], abs=1e-6)
    assert body["left_out"] == []


def test_recommendation_types_k_and_boats(client, demo) -> None:
    inc = new_incident(client)
    body = client.get(f"/api/incidents/{inc['id']}/recommendations", params={"types": "ambulans,perahu", "k": 2}).json()
    assert set(body["recommendations"]) == {"ambulans", "perahu"}
    assert len(body["recommendations"]["ambulans"]) == 2
    # 13 km from the river, a boat's crew would walk kilometres from the landing: no boat is proposed (issue 15).
    assert body["recommendations"]["perahu"] == []
    assert {u["detail"] for u in body["left_out"] if u["type"] == "perahu"} <= {"boat_walk"}
    # On the bank at Mengkatip, boats are proposed, the farther ones by river.
    jetty = next(u for u in client.get("/api/units").json()["units"] if u["callsign"] == "PRH-MKT-1")
    bank = new_incident(client, location={"lon": jetty["lon"], "lat": jetty["lat"]})
    body = client.get(f"/api/incidents/{bank['id']}/recommendations", params={"types": "perahu", "k": 3}).json()
    boats = body["recommendations"]["perahu"]
    assert boats and all(b["travel_mode"].startswith("river") for b in boats)
    assert any(leg["mode"] == "river" for b in boats for leg in b["legs"])
    bad = client.get(f"/api/incidents/{inc['id']}/recommendations", params={"types": "helikopter"})
    assert bad.status_code == 422 and bad.json()["field"] == "types"
    assert client.get("/api/incidents/999999/recommendations").status_code == 404


def test_units_left_out_say_why(client, demo, database) -> None:
    inc = new_incident(client)
    set_units(database, [demo["DMK-BTK-1"]], status="tiba")
    set_units(database, [demo["DMK-BTK-2"]], status="offline")
    set_units(database, [demo["DMK-BKG-1"]], position_at=utcnow() - timedelta(hours=2))
    # A fire engine parked in Palangka Raya, far from any network line of the derived default.
    set_units(database, [demo["DMK-PTS-1"]], geom="SRID=4326;POINT(113.92 -2.21)")
    url = f"/api/incidents/{inc['id']}/recommendations"
    body = client.get(url).json()
    why = {u["callsign"]: u for u in body["left_out"]}
    assert why["DMK-BTK-1"]["reason"] == "bertugas" and why["DMK-BTK-2"]["reason"] == "offline"
    assert why["DMK-PTS-1"]["reason"] == "unreachable" and why["DMK-PTS-1"]["detail"] == "unit_off_network"
    assert all(w["message_id"] and w["message_en"] for w in why.values())
    ranked = {u["callsign"]: u for u in body["recommendations"]["damkar"]}
    assert set(ranked).isdisjoint({"DMK-BTK-1", "DMK-BTK-2", "DMK-PTS-1"})
    # Stale positions are ranked but flagged by default, and left out on request.
    assert ranked["DMK-BKG-1"]["stale"] is True
    strict = client.get(url, params={"stale": "exclude"}).json()
    assert {u["callsign"]: u["reason"] for u in strict["left_out"]}["DMK-BKG-1"] == "stale"
    assert "DMK-BKG-1" not in {u["callsign"] for u in strict["recommendations"]["damkar"]}


def test_cached_units_follow_changes_made_by_another_session_or_worker(client, demo, database) -> None:
    """Recommendations serve units from memory; a change written elsewhere must still show on the next request."""
    from store.recommend import recommend
    from store.travel import TravelService

    inc = new_incident(client)
    url = f"/api/incidents/{inc['id']}/recommendations"
    service = client.app.state.ctx.travel
    first = client.get(url).json()["recommendations"]["damkar"][0]
    reads = service.unit_reads
    assert client.get(url).json()["recommendations"]["damkar"][0]["id"] == first["id"]
    assert service.unit_reads == reads  # nothing changed: served from the cache

    # A second API worker with its own cache, warmed on the same database.
    with database.sessions() as s:
        other = TravelService(sessions=database.sessions, layers=read_layers(s))

    def ask_other() -> dict:
        with database.sessions() as s:
            return recommend(
                s,
                other,
                lon=INCIDENT["lon"],
                lat=INCIDENT["lat"],
                types=["damkar"],
                k=3,
                now=utcnow(),
                stale_minutes=10,
            )

    assert ask_other()["recommendations"]["damkar"][0]["id"] == first["id"]
    # This worker moves the best fire engine to Palangka Raya (far off the derived network) through the API...
    moved = client.put(f"/api/units/{first['id']}/position", json={"lon": 113.92, "lat": -2.21})
    assert moved.status_code == 200, moved.text
    seen = {u["id"]: u for u in ask_other()["left_out"]}
    assert seen[first["id"]]["detail"] == "unit_off_network"
    assert (seen[first["id"]]["lon"], seen[first["id"]]["lat"]) == (113.92, -2.21)
    # ...and a plain SQL update from another session (no version bump, no ORM) reaches this worker's cache too.
    second = client.get(url).json()["recommendations"]["damkar"][0]
    assert second["id"] != first["id"]
    set_units(database, [second["id"]], status="offline")
    body = client.get(url).json()
    assert {u["id"]: u["reason"] for u in body["left_out"]}[second["id"]] == "offline"
    assert second["id"] not in {u["id"] for u in body["recommendations"]["damkar"]}
    set_units(database, [second["id"]], geom="SRID=4326;POINT(113.92 -2.21)", status="tersedia")
    body = client.get(url).json()
    assert {u["id"]: u["detail"] for u in body["left_out"]}[second["id"]] == "unit_off_network"
    # Removed units disappear as well.
    with session_scope(database.sessions) as s:
        s.execute(text("DELETE FROM unit WHERE id = :id"), {"id": first["id"]})
    assert first["id"] not in {u["id"] for u in client.get(url).json()["left_out"]}
    assert service.unit_reads > reads


def test_a_transaction_that_wrote_units_sees_its_own_change_and_leaves_no_trace(client, demo, database) -> None:
    from store.recommend import recommend

    inc = new_incident(client)
    url = f"/api/incidents/{inc['id']}/recommendations"
    best = client.get(url).json()["recommendations"]["damkar"][0]["id"]
    with database.sessions() as s:
        s.execute(update(Unit).where(Unit.id == best).values(status="offline"))
        mine = recommend(
            s,
            client.app.state.ctx.travel,
            lon=INCIDENT["lon"],
            lat=INCIDENT["lat"],
            types=["damkar"],
            k=3,
            now=utcnow(),
            stale_minutes=10,
        )
        assert {u["id"]: u["reason"] for u in mine["left_out"]}[best] == "offline"
        s.rollback()
    # The rolled-back change must not have been cached for everybody else.
    after = client.get(url).json()
    assert after["recommendations"]["damkar"][0]["id"] == best and after["left_out"] == []


def test_incident_without_location_gets_409(client, demo) -> None:
    inc = new_incident(client, location=None)
    r = client.get(f"/api/incidents/{inc['id']}/recommendations")
    assert r.status_code == 409 and r.json()["field"] == "location"
    r = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [demo["DMK-BTK-1"]]})
    assert r.status_code == 409 and r.json()["field"] == "location"


# -- dispatch ----------------------------------------------------------------------------------------
def test_dispatch_from_baru_verifies_and_dispatches_atomically(client, demo, database) -> None:
    inc = new_incident(client)
    ids = [demo["DMK-BTK-1"], demo["AMB-BTK-1"]]
    r = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": ids, "version": inc["version"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "dikirim" and body["transitions"] == ["diverifikasi", "dikirim"]
    assert {u["status"] for u in body["units"]} == {"dikirim"}
    assert {u["incident_number"] for u in body["units"]} == {inc["number"]}
    shown = client.get(f"/api/incidents/{inc['id']}").json()
    assert [t["status"] for t in shown["transitions"]] == ["baru", "diverifikasi", "dikirim"]
    with database.sessions() as s:
        rows = s.scalars(select(DispatchAssignment).where(DispatchAssignment.incident_id == inc["id"])).all()
        audit = s.scalars(select(AuditRecord).where(AuditRecord.action == "dispatch").order_by(AuditRecord.id)).all()
    assert sorted(r.unit_id for r in rows) == sorted(ids) and all(r.actor == "t-dispatcher" for r in rows)
    assert audit[-1].entity_id == str(inc["id"])
    # On PostGIS the events come back through LISTEN on the hub's own thread, after the commit: wait for them.
    wait_until(lambda: latest_status(client, "incident.updated", [inc["id"]]) == {inc["id"]: "dikirim"}, timeout=15)
    wait_until(lambda: latest_status(client, "unit.updated", ids) == dict.fromkeys(ids, "dikirim"), timeout=15)
    # The recommendation now leaves the busy engine out.
    again = client.get(f"/api/incidents/{inc['id']}/recommendations").json()
    assert {u["callsign"]: u["reason"] for u in again["left_out"]}["DMK-BTK-1"] == "bertugas"


def test_dispatching_a_taken_unit_is_409_and_changes_nothing(client, demo, database) -> None:
    first, second = new_incident(client), new_incident(client, category="kecelakaan_lalu_lintas")
    taken, free = demo["DMK-BTK-1"], demo["POL-BTK-1"]
    assert client.post(f"/api/incidents/{first['id']}/dispatch", json={"unit_ids": [taken]}).status_code == 200
    r = client.post(f"/api/incidents/{second['id']}/dispatch", json={"unit_ids": [free, taken]})
    assert r.status_code == 409
    assert [u["callsign"] for u in r.json()["unavailable"]] == ["DMK-BTK-1"]
    after = client.get(f"/api/incidents/{second['id']}").json()
    assert after["status"] == "baru" and after["version"] == second["version"]
    units = {u["id"]: u for u in client.get("/api/units").json()["units"]}
    assert units[free]["status"] == "tersedia"
    with database.sessions() as s:
        assert not s.scalars(select(DispatchAssignment).where(DispatchAssignment.incident_id == second["id"])).all()
    assert client.post(f"/api/incidents/{second['id']}/dispatch", json={"unit_ids": [987654]}).status_code == 404


def test_units_are_released_when_the_incident_ends(client, demo) -> None:
    inc = new_incident(client)
    ids = [demo["DMK-BTK-1"], demo["DMK-BTK-2"]]
    assert client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": ids}).status_code == 200
    # Reinforcement: an incident already dikirim can receive more units without changing state.
    more = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [demo["POL-BTK-1"]]})
    assert more.status_code == 200 and more.json()["transitions"] == [] and more.json()["status"] == "dikirim"
    cur = client.get(f"/api/incidents/{inc['id']}").json()
    for to in ("menuju_lokasi", "tiba", "selesai"):
        r = client.post(f"/api/incidents/{inc['id']}/transition", json={"to": to, "version": cur["version"]})
        assert r.status_code == 200, r.text
        cur = r.json()
        on_call = client.get("/api/units", params={"status": "dikirim,menuju_lokasi,tiba"}).json()["units"]
        busy = {u["id"] for u in on_call}
        assert busy == (set() if to == "selesai" else {*ids, demo["POL-BTK-1"]})
    every = [*ids, demo["POL-BTK-1"]]
    wait_until(lambda: latest_status(client, "unit.updated", every) == dict.fromkeys(every, "tersedia"), timeout=15,
               message=lambda: f"last unit events: {latest_status(client, 'unit.updated', every)}")


def test_concurrent_dispatch_of_one_unit_lets_exactly_one_win(client, demo, database) -> None:
    a, b = new_incident(client), new_incident(client, category="penyelamatan")
    unit = demo["DMK-BTK-1"]
    outcome: dict[str, object] = {}

    def second_operator() -> None:
        with database.sessions() as s:
            try:
                dispatch_units(s, s.get(Incident, b["id"]), [unit], actor="op2")
                s.commit()
                outcome["b"] = "won"
            except UnitsUnavailableError as exc:
                s.rollback()
                outcome["b"] = exc.units

    with database.sessions() as s1:
        dispatch_units(s1, s1.get(Incident, a["id"]), [unit], actor="op1")
        t = threading.Thread(target=second_operator)
        t.start()
        if database.backend == "postgis":
            # Wait until the second operator is blocked on the unit's row lock, then commit the first.
            with database.engine.connect() as probe:
                for _ in range(500):
                    waiting = probe.execute(
                        text(
                            "select count(*) from pg_stat_activity "
                            "where wait_event_type = 'Lock' and datname = current_database()"
                        )
                    ).scalar()
                    if waiting:
                        break
                    t.join(0.01)
        s1.commit()
    t.join(60)
    assert not t.is_alive()
    assert [(u["id"], u["callsign"], u["status"]) for u in outcome["b"]] == [(unit, "DMK-BTK-1", "dikirim")]
    assert client.get(f"/api/incidents/{b['id']}").json()["status"] == "baru"


# -- floods ------------------------------------------------------------------------------------------
def test_activating_a_flood_zone_changes_the_recommendation(client, demo, database) -> None:
    inc = new_incident(client)
    url = f"/api/incidents/{inc['id']}/recommendations"
    params = {"types": "damkar,perahu", "k": 1}
    dry = client.get(url, params=params).json()
    assert dry["network"]["closed_road_edges"] == 0
    d0 = dry["recommendations"]["damkar"][0]
    # Flood the middle of the fire engine's route, well away from both of its ends.
    route = shapely.LineString(d0["route"]["geometry"]["coordinates"])
    middle = shapely.line_interpolate_point(route, 0.5, normalized=True)
    zone = shapely.MultiPolygon([middle.buffer(0.01)])
    start, end = shapely.Point(route.coords[0]), shapely.Point(route.coords[-1])
    assert zone.distance(start) > 0.02 and zone.distance(end) > 0.02
    with session_scope(database.sessions) as s:
        s.add(FloodZone(name="Banjir uji", severity="tinggi", status="active", geom=f"SRID=4326;{zone.wkt}"))
    wet = client.get(url, params=params).json()
    assert wet["network"]["flood_zones"] == 1 and wet["network"]["closed_road_edges"] > 0
    assert wet["network"]["flood_version"] != dry["network"]["flood_version"]
    d1 = wet["recommendations"]["damkar"][0]
    assert d1["eta_s"] > d0["eta_s"] + 60
    # The new road route goes around the flooded area.
    wet_route = shapely.LineString(d1["route"]["geometry"]["coordinates"])
    assert not wet_route.intersects(zone.buffer(-0.001))
    # Boats are not affected by road closures.
    # (Here, 13 km from the river, boats are left out for their crews' walk from the landing, the same walk.)
    def boats(answer: dict) -> dict:
        return {u["callsign"]: (u.get("detail"), u.get("walk_m")) for u in answer["left_out"] if u["type"] == "perahu"}

    assert boats(wet) == boats(dry) and boats(dry)
    with session_scope(database.sessions) as s:
        s.execute(update(FloodZone).values(status="ended", version=FloodZone.version + 1))
    ended = client.get(url, params=params).json()
    assert ended["network"]["closed_road_edges"] == 0
    assert ended["recommendations"]["damkar"][0]["eta_s"] == pytest.approx(d0["eta_s"])


def test_ids_beyond_32_bits_are_422_not_a_database_error(client):
    for path in ("/api/incidents/99366043279520/recommendations",):
        assert client.get(path).status_code == 422
    assert client.put("/api/units/99366043279520/position", json={"lon": 114.9, "lat": -1.7}).status_code == 422
    assert client.post("/api/incidents/99366043279520/dispatch", json={"unit_ids": [1]}).status_code == 422
    assert client.post("/api/incidents/1/dispatch", json={"unit_ids": [2**40]}).status_code == 422
