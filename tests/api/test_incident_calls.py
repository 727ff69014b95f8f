"""Every incident has its call, on both backends, whatever path created it: the map's form, another client's
POST (coordinates, place name, AML SMS, no location yet), a ground check, the store's create_incident, a batch
of the call writer; a desk call the incident names (a PBX pop) becomes its call instead of a second one."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from geo.times import utcnow
from store.calls import PhoneCall, caller_history
from store.commands import Writer
from store.commands.calls import PbxEvent, telephony_event
from store.events import EventHub
from store.hotspots import Hotspot, ingest_detections
from store.incidents import Call, Incident, create_incident, record_calls
from tests.conftest import bearer

BUNTOK = {"lon": 114.85, "lat": -1.71}
AML_OK = 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20261129081530;lc=68;pm=G;si=510101000000000;ei=356938035643809'
VIIRS = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
         "bright_ti5,frp,daynight\n-1.7150,114.8450,330,0.4,0.4,2023-09-14,0542,N,VIIRS,h,2.0NRT,297,4.2,D\n")


def _calls_of(db, incident_id: int) -> list[PhoneCall]:
    with db.sessions() as s:
        return list(s.scalars(select(PhoneCall).where(PhoneCall.incident_id == incident_id)))


def _every_incident_has_one_call(db) -> None:
    with db.sessions() as s:
        ids = s.scalars(select(Incident.id)).all()
        linked = s.scalars(select(PhoneCall.incident_id).where(PhoneCall.incident_id.is_not(None))).all()
    assert sorted(linked) == sorted(ids)


def _post(client, **body) -> dict:
    r = client.post("/api/incidents", json={"category": "kebakaran", "description": "Rumah terbakar", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_an_incident_posted_by_any_client_gets_its_darurat_call(client, database) -> None:
    inc = _post(client, caller_phone="0812-3456-7890", location=BUNTOK)
    [call] = _calls_of(database, inc["id"])
    assert (call.type, call.caller_number, call.number_ok) == ("darurat", "+6281234567890", True)
    assert (call.operator, call.typed_by, call.source) == ("t-dispatcher", "t-dispatcher", "desk")
    assert call.at == call.answered_at and call.lon is None  # a pin is the incident's place, not the caller's
    listed = client.get(f"/api/calls?incident_id={inc['id']}").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == call.id
    # The caller's history shows the incident and counts the call.
    h = client.get("/api/callers/0812-3456-7890").json()
    assert h["by_type"] == {"darurat": 1} and [i["id"] for i in h["incidents"]] == [inc["id"]]
    # Place name, no location yet, no number, a number nobody can read: each still has its call.
    for body in ({"location": {"place": "Buntok Kota"}}, {}, {"caller_phone": "rahasia!!"}):
        other = _post(client, **body)
        [c] = _calls_of(database, other["id"])
        assert c.type == "darurat"
    _every_incident_has_one_call(database)


def test_an_incident_from_an_aml_sms_gives_its_call_the_handset_fix(client, database) -> None:
    inc = _post(client, caller_phone="+62 812 9999 0001", location={"aml": AML_OK})
    [call] = _calls_of(database, inc["id"])
    assert (call.lon, call.lat, call.accuracy_m, call.location_source) == (114.84567, -1.71234, 25, "aml")
    h = client.get("/api/callers/081299990001").json()
    assert h["last_location"]["source"] in ("aml", "incident") and h["last_location"]["lat"] == -1.71234


def test_a_popped_pbx_call_becomes_the_incidents_call(client, database) -> None:
    w = Writer(sessions=database.sessions, hub=EventHub(database.engine), actor="pbx")
    popped = telephony_event(w, PbxEvent("answered", "pbx-77", utcnow(), number="0812 4444 5555"))["call"]
    inc = _post(client, caller_phone="0812 4444 5555", location=BUNTOK, call_id=popped["id"])
    [call] = _calls_of(database, inc["id"])
    assert call.id == popped["id"] and call.type == "darurat" and call.typed_by == "t-dispatcher"
    assert call.pbx_call_id == "pbx-77"
    with database.sessions() as s:
        assert len(s.scalars(select(PhoneCall.id)).all()) == 1  # no second call for the same ring
    # The same call named again (already an incident's), or a call that does not exist: a new call, never a 4xx.
    again = _post(client, location=BUNTOK, call_id=popped["id"])
    for bogus in (999_999, 0, -5, 2**40):
        _post(client, location=BUNTOK, call_id=bogus)
    assert [c.id for c in _calls_of(database, inc["id"])] == [popped["id"]]
    assert [c.id for c in _calls_of(database, again["id"])] != [popped["id"]]
    _every_incident_has_one_call(database)


def test_a_ground_check_incident_has_its_call(client, tokens, database, locator) -> None:
    ingest_detections(database.sessions, io.StringIO(VIIRS), locator=locator)
    with database.sessions() as s:
        [hid] = s.scalars(select(Hotspot.id)).all()
    r = client.post("/api/ground-checks", json={"hotspot_id": hid}, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    [call] = _calls_of(database, r.json()["properties"]["incident_id"])
    assert (call.type, call.operator, call.caller_number) == ("darurat", "t-planner", None)
    _every_incident_has_one_call(database)


def test_store_paths_write_the_call_in_the_incidents_transaction(db) -> None:
    hub = EventHub(db.engine)
    w = Writer(sessions=db.sessions, hub=hub, actor="pbx")
    popped = telephony_event(w, PbxEvent("answered", "pbx-9", utcnow(), number="0812 1212 3434"))["call"]
    with db.sessions() as s:
        one = create_incident(s, category="medis", actor="op1", caller_phone="0812 1212 3434")
        s.commit()
        one_id = one.id
    with db.sessions() as s:
        # A batch of the call writer, the middle call naming the popped desk call.
        batch = record_calls(s, [Call("medis", "op2", caller_phone="0812 5656 7878", at=utcnow()),
                                 Call("banjir", "op2", caller_phone="0812 1212 3434", call_id=popped["id"],
                                      at=utcnow() + timedelta(seconds=1)),
                                 Call("kebakaran", "op3", at=utcnow() + timedelta(seconds=2))], hub=hub)
    assert [c.id for c in _calls_of(db, batch[1].id)] == [popped["id"]]
    assert [c.operator for c in _calls_of(db, batch[2].id)] == ["op3"]
    assert [c.caller_number for c in _calls_of(db, one_id)] == ["+6281212123434"]
    _every_incident_has_one_call(db)
    with db.sessions() as s:
        h = caller_history(s, "081212123434", at=utcnow())
    assert h["by_type"] == {"darurat": 2} and {i["id"] for i in h["incidents"]} == {one_id, batch[1].id}
