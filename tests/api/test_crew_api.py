"""Crews in the loop over HTTP, on both backends: pairing (single use, expiry, one 401), device tokens and their
revocation, the crew's assignment, taps with idempotency keys (replays, 409 with what can be taken), positions
(bad ones 422 or dropped with a reason, jumps dropped, replays, 429), and the crew's event stream."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from geo.times import iso_utc, utcnow
from store.crew import CrewPairing, CrewPosition, CrewTap
from store.db import session_scope
from tests.api.test_units_api import demo, new_incident, set_units
from tests.conftest import bearer

__all__ = ["demo"]

# Buntok, inside Kalimantan.
LON, LAT = 114.845, -1.711


def key() -> str:
    return uuid.uuid4().hex


def pair_unit(client, unit_id: int, *, label: str = "HP uji") -> dict:
    """A pairing code made by the dispatcher, used by a phone: the device's token and unit."""
    code = client.post(f"/api/units/{unit_id}/pairing").json()
    saved = client.headers.pop("Authorization", None)
    try:
        r = client.post("/api/crew/pair", json={"code": code["code"], "label": label})
    finally:
        if saved:
            client.headers["Authorization"] = saved
    assert r.status_code == 200, r.text
    return r.json()


def as_crew(client, token: str, method: str, url: str, **kw):
    saved = client.headers.pop("Authorization", None)
    kw.setdefault("headers", bearer(token))
    try:
        return client.request(method, url, **kw)
    finally:
        if saved:
            client.headers["Authorization"] = saved


def test_pairing_code_is_single_use_and_expiry_looks_the_same(client, demo, database) -> None:
    unit = demo["DMK-BTK-1"]
    made = client.post(f"/api/units/{unit}/pairing")
    assert made.status_code == 200, made.text
    code = made.json()
    assert len(code["code"]) == 8 and code["qr_svg"].startswith("<svg") and code["code"] in code["url"]
    client.headers.pop("Authorization")
    # Typed with a dash and in lower case: still the code.
    typed = code["code"][:4].lower() + "-" + code["code"][4:]
    first = client.post("/api/crew/pair", json={"code": typed})
    assert first.status_code == 200 and first.json()["unit_id"] == unit
    assert first.json()["token"].startswith("crew_")
    reused = client.post("/api/crew/pair", json={"code": code["code"]})
    # A used code and an unknown one: the same answer, word for word.
    unknown = client.post("/api/crew/pair", json={"code": "ZZZZZZZZ"})
    assert reused.status_code == unknown.status_code == 401
    assert reused.json() == unknown.json()
    assert "expired" not in reused.text.lower() and "used" not in reused.text.lower()


def test_expired_code_is_refused(client, demo, database) -> None:
    code = client.post(f"/api/units/{demo['AMB-BTK-1']}/pairing").json()["code"]
    with session_scope(database.sessions) as s:
        s.execute(update(CrewPairing).values(expires_at=utcnow() - timedelta(seconds=1)))
    client.headers.pop("Authorization")
    r = client.post("/api/crew/pair", json={"code": code})
    assert r.status_code == 401 and r.json()["field"] == "code"


def test_hostile_pairing_input(client, demo) -> None:
    for body in ({"code": "A" * 33}, {"code": ""}, {"code": "ABCD\x00EFG"}, {"code": 12345678}, {}):
        r = client.post("/api/crew/pair", json=body)
        assert r.status_code in (401, 422), (body, r.status_code)
    assert client.post("/api/units/987654/pairing").status_code == 404


def test_crew_token_reads_its_assignment_and_steps_through_it(client, demo) -> None:
    unit = demo["DMK-BTK-1"]
    device = pair_unit(client, unit)
    token = device["token"]
    idle = as_crew(client, token, "GET", "/api/crew/assignment").json()
    assert idle["assignment"] is None and idle["unit"]["id"] == unit and "tidak_tersedia" in idle["can_take"]
    inc = new_incident(client)
    client.post(f"/api/incidents/{inc['id']}/notes", json={"text": "Masuk lewat gang sebelah masjid"})
    sent = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [unit], "eta_s": {str(unit): 420}})
    assert sent.status_code == 200, sent.text
    got = as_crew(client, token, "GET", "/api/crew/assignment").json()
    a = got["assignment"]
    assert a["incident"]["number"] == inc["number"] and a["incident"]["category"] == "kebakaran"
    assert a["incident"]["priority"] and a["eta_s"] == 420 and a["navigate"].startswith("geo:")
    assert got["can_take"][:3] == ["terima", "menuju_lokasi", "tiba"]
    device_at = iso_utc(utcnow() - timedelta(seconds=30))
    k = key()
    first = as_crew(client, token, "POST", "/api/crew/taps", json={"key": k, "action": "terima",
                                                                   "device_at": device_at, "incident_id": inc["id"]})
    assert first.status_code == 200, first.text
    assert first.json()["replayed"] is False and first.json()["tap"]["device_at"] == device_at
    assert first.json()["state"]["assignment"]["status"] == "diterima"
    again = as_crew(client, token, "POST", "/api/crew/taps", json={"key": k, "action": "terima",
                                                                   "device_at": device_at})
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["tap"]["server_at"] == first.json()["tap"]["server_at"]
    # Acknowledged again is not something it can take now: 409 naming what it can.
    late = as_crew(client, token, "POST", "/api/crew/taps", json={"key": key(), "action": "terima"})
    assert late.status_code == 409 and late.json()["can_take"][0] == "menuju_lokasi"
    off = as_crew(client, token, "POST", "/api/crew/taps", json={"key": key(), "action": "tidak_tersedia"})
    assert off.status_code == 409 and "tidak_tersedia" not in off.json()["can_take"]
    for action in ("menuju_lokasi", "tiba", "butuh_bantuan", "selesai"):
        r = as_crew(client, token, "POST", "/api/crew/taps", json={"key": key(), "action": action})
        assert r.status_code == 200, (action, r.text)
    shown = client.get(f"/api/incidents/{inc['id']}").json()
    [row] = shown["assignments"]
    assert row["status"] == "selesai" and row["arrived_at"] and row["acknowledged_at"]
    # The call is over for the unit: a tap for it (from a phone that was offline) is answered clearly.
    stale = as_crew(client, token, "POST", "/api/crew/taps", json={"key": key(), "action": "tiba",
                                                                   "incident_id": inc["id"]})
    assert stale.status_code == 409 and stale.json()["field"] == "incident_id"
    free = as_crew(client, token, "POST", "/api/crew/taps", json={"key": key(), "action": "tersedia"})
    assert free.status_code == 200 and free.json()["state"]["unit"]["status"] == "tersedia"
    with client.app.state.ctx.read_sessions() as s:
        assert s.scalar(select(func.count()).select_from(CrewTap)) == 6


def test_taps_refuse_bad_input(client, demo) -> None:
    token = pair_unit(client, demo["AMB-BTK-1"])["token"]
    bad = [{"key": "short", "action": "terima"}, {"key": key(), "action": "terbang"},
           {"key": key(), "action": "terima", "device_at": "2026-01-01T00:00:00"},
           {"key": "a b c d e f g h", "action": "terima"}, {"key": key(), "action": "terima\x00"},
           {"key": key(), "action": "tersedia", "extra": 1}]
    for body in bad:
        r = as_crew(client, token, "POST", "/api/crew/taps", json=body)
        assert r.status_code == 422, (body, r.status_code, r.text)


def test_positions_checked_stored_once_and_jumps_dropped(client, demo, database) -> None:
    unit = demo["POL-BTK-1"]
    token = pair_unit(client, unit)["token"]
    now = utcnow()
    set_units(database, [unit], position_at=now - timedelta(hours=1))
    good = {"key": key(), "lon": LON, "lat": LAT, "accuracy_m": 12.0, "at": iso_utc(now - timedelta(seconds=60))}
    r = as_crew(client, token, "POST", "/api/crew/position", json=good)
    assert r.status_code == 200 and r.json()["result"] == "stored", r.text
    assert as_crew(client, token, "POST", "/api/crew/position", json=good).json()["result"] == "replayed"
    units = client.get("/api/units").json()["units"]
    mine = next(u for u in units if u["id"] == unit)
    assert (mine["lon"], mine["lat"]) == (LON, LAT)
    for bad in ({"lon": float("nan")}, {"lon": 500.0}, {"lat": -95.0}, {"accuracy_m": 6000.0}, {"lon": 100.0},
                {"at": "2026-01-01T00:00:00"}, {"at": iso_utc(now + timedelta(hours=1))}):
        body = good | {"key": key()} | bad
        content = json.dumps(body)  # NaN goes out as the bare token NaN, as a sloppy client would send it
        r = as_crew(client, token, "POST", "/api/crew/position", content=content,
                    headers={**bearer(token), "content-type": "application/json"})
        assert r.status_code == 422, (bad, r.status_code, r.text)
    # A batch: the bad ones dropped with a reason, a 200 km/h jump dropped, a slow move stored.
    batch = [
        {"key": key(), "lon": LON + 0.001, "lat": LAT, "accuracy_m": 10, "at": iso_utc(now - timedelta(seconds=30))},
        {"key": key(), "lon": LON + 1.0, "lat": LAT, "accuracy_m": 10, "at": iso_utc(now - timedelta(seconds=20))},
        {"key": key(), "lon": 500, "lat": LAT, "at": iso_utc(now - timedelta(seconds=15))},
        {"lon": LON, "lat": LAT},
        {"key": key(), "lon": LON + 0.002, "lat": LAT, "accuracy_m": 9000, "at": iso_utc(now - timedelta(seconds=12))},
        {"key": key(), "lon": LON + 0.002, "lat": LAT, "accuracy_m": 10, "at": iso_utc(now - timedelta(seconds=10))},
    ]
    out = as_crew(client, token, "POST", "/api/crew/positions", json={"positions": batch}).json()
    assert [x["result"] for x in out["results"]] == ["stored", "dropped", "dropped", "dropped", "dropped", "stored"]
    assert "km/" in out["results"][1]["reason"] and out["results"][3]["key"] is None
    assert all(x["reason"] for x in out["results"] if x["result"] == "dropped")
    with client.app.state.ctx.read_sessions() as s:
        sources = s.scalars(select(CrewPosition.source).where(CrewPosition.unit_id == unit)).all()
    assert sources == ["crew-gps"] * 3


def test_a_flood_of_positions_from_one_device_is_429(client, demo) -> None:
    token = pair_unit(client, demo["AMB-BTK-1"])["token"]
    limit = client.app.state.ctx.settings.crew_positions_per_minute
    codes = []
    for _ in range(limit + 3):
        r = as_crew(client, token, "POST", "/api/crew/positions", json={"positions": [{"lon": 1}]})
        codes.append(r.status_code)
    assert codes[0] == 200 and codes[-1] == 429
    # Another phone is not held back by this one.
    other = pair_unit(client, demo["DMK-BTK-1"])["token"]
    assert as_crew(client, other, "POST", "/api/crew/positions", json={"positions": [{"lon": 1}]}).status_code == 200


def test_revoked_device_is_refused_on_its_next_request(client, app_client, tokens, demo) -> None:
    device = pair_unit(client, demo["DMK-BTK-1"], label="HP Budi")
    assert as_crew(client, device["token"], "GET", "/api/crew/assignment").status_code == 200
    listed = client.get("/api/crew/devices", headers=bearer(tokens["admin"])).json()
    assert listed["devices"][0]["label"] == "HP Budi" and "token" not in listed["devices"][0]
    # Only an admin revokes.
    assert client.delete(f"/api/crew/devices/{device['device_id']}").status_code == 403
    r = client.delete(f"/api/crew/devices/{device['device_id']}", headers=bearer(tokens["admin"]))
    assert r.status_code == 200 and r.json()["active"] is False
    refused = as_crew(client, device["token"], "GET", "/api/crew/assignment")
    assert refused.status_code == 401
    assert as_crew(client, device["token"], "POST", "/api/crew/taps",
                   json={"key": key(), "action": "tersedia"}).status_code == 401
    # Positions are checked in the position writer's transaction, not by a lookup per request: refused all the same.
    fix = {"key": key(), "lon": LON, "lat": LAT, "accuracy_m": 10, "at": iso_utc(utcnow())}
    assert as_crew(client, device["token"], "POST", "/api/crew/position", json=fix).status_code == 401
    assert as_crew(client, device["token"], "POST", "/api/crew/positions",
                   json={"positions": [fix | {"key": key()}]}).status_code == 401
    assert client.delete("/api/crew/devices/987654", headers=bearer(tokens["admin"])).status_code == 404


@pytest.mark.parametrize("path", ["/api/crew/assignment", "/api/crew/events"])
def test_staff_tokens_are_not_crew_tokens(client, tokens, path: str) -> None:
    r = client.get(path, headers=bearer(tokens["admin"]))
    assert r.status_code == 401


def test_crew_route_has_its_legs_each_with_its_line(client, demo) -> None:
    boat = demo["PRH-BTK-1"]
    token = pair_unit(client, boat)["token"]
    assert as_crew(client, token, "GET", "/api/crew/route").json() == {"incident_id": None, "route": None}
    jetty = next(u for u in client.get("/api/units").json()["units"] if u["callsign"] == "PRH-MKT-1")
    inc = new_incident(client, category="banjir", location={"lon": jetty["lon"], "lat": jetty["lat"]})
    assert client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [boat]}).status_code == 200
    got = as_crew(client, token, "GET", "/api/crew/route")
    assert got.status_code == 200, got.text
    body = got.json()
    route = body["route"]
    assert body["incident_id"] == inc["id"] and route["reachable"] is True and route["eta_s"] > 0
    legs = route["legs"]
    assert "river" in [leg["mode"] for leg in legs]
    assert abs(sum(leg["distance_m"] for leg in legs) - route["distance_m"]) < 1
    line = route["route"]["geometry"]["coordinates"]
    # The legs' lines cut the route's line: the first starts at the unit, each starts where the last ended.
    assert legs[0]["geometry"]["coordinates"][0] == pytest.approx(line[0], abs=1e-6)
    assert legs[-1]["geometry"]["coordinates"][-1] == pytest.approx(line[-1], abs=1e-6)
    for prev, nxt in zip(legs, legs[1:], strict=False):
        assert nxt["geometry"]["coordinates"][0] == pytest.approx(prev["geometry"]["coordinates"][-1], abs=1e-6)
    # Staff tokens do not read a crew's route.
    assert client.get("/api/crew/route").status_code == 401
