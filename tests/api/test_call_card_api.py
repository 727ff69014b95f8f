"""The call card over HTTP on both backends (issue 16): priority, the call log, dispositions, taking a call,
history search and the top search box; hostile text everywhere it can be typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.accounts import AuditRecord
from store.layers import read_layers
from store.units import seed_demo_units
from tests.api.test_intake_api import audit_after, audit_mark, created
from tests.conftest import bearer

HOSTILE = [
    "<script>alert(1)</script>",
    "'; DROP TABLE incident; --",
    "=HYPERLINK(\"http://x\")",
    "%_\\ 100% _ persen",
    "🔥 kebakaran di RT 03 — ‮kanan ke kiri‬",
    "x" * 2000,
]


def move(client, inc: dict, to: str, **extra):
    """POST a transition with the incident's current version."""
    return client.post(f"/api/incidents/{inc['id']}/transition", json={"to": to, "version": inc["version"], **extra})


# -- priority -----------------------------------------------------------------------------------------
def test_priority_is_proposed_from_the_category_and_changed_by_the_operator(client, database) -> None:
    fire = created(client)  # kebakaran: P1 in the catalog
    order = created(client, category="ketertiban_umum")  # P3
    given = created(client, category="ketertiban_umum", priority="P1")
    assert (fire["priority"], order["priority"], given["priority"]) == ("P1", "P3", "P1")
    mark = audit_mark(database)
    r = client.patch(f"/api/incidents/{fire['id']}", json={"version": fire["version"], "priority": "P3"})
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == "P3" and r.json()["version"] == fire["version"] + 1
    assert audit_after(database, mark) == [("incident.update", str(fire["id"]))]
    for bad in ("P4", "p1", "", 1, "P1\x00"):
        r = client.patch(f"/api/incidents/{fire['id']}", json={"version": 2, "priority": bad})
        assert r.status_code == 422 and "priority" in r.text, r.text
    # null means "not changing it": a priority is never cleared.
    r = client.patch(f"/api/incidents/{fire['id']}", json={"version": 2, "priority": None, "description": "x"})
    assert r.status_code == 200 and r.json()["priority"] == "P3"
    # A priority still at its category's proposal follows a new category; a chosen one stays.
    r = client.patch(f"/api/incidents/{order['id']}", json={"version": order["version"], "category": "medis"})
    assert r.json()["priority"] == "P1"
    r = client.patch(f"/api/incidents/{given['id']}", json={"version": given["version"], "category": "banjir"})
    assert r.json()["priority"] == "P1"
    assert r.json()["state_since"] == r.json()["transitions"][-1]["at"]


def test_list_filters_by_priority(client) -> None:
    p1 = created(client)
    p3 = created(client, category="infrastruktur")
    got = client.get("/api/incidents", params={"priority": "p3"}).json()
    assert [i["id"] for i in got["items"]] == [p3["id"]]
    got = client.get("/api/incidents", params={"priority": "P1,P3"}).json()
    assert {i["id"] for i in got["items"]} == {p1["id"], p3["id"]}
    r = client.get("/api/incidents", params={"priority": "P9"})
    assert r.status_code == 422 and r.json()["field"] == "priority"


# -- the call log ---------------------------------------------------------------------------------------
def test_notes_are_appended_newest_first_audited_and_never_conflict(client, database) -> None:
    inc = created(client)
    mark = audit_mark(database)
    for text in ("Pelapor melihat asap", "Koreksi: asap dari gudang, bukan rumah"):
        r = client.post(f"/api/incidents/{inc['id']}/notes", json={"text": text})
        assert r.status_code == 201, r.text
    got = r.json()
    assert [n["text"] for n in got["notes"]] == ["Koreksi: asap dari gudang, bukan rumah", "Pelapor melihat asap"]
    assert all(n["by"] == "t-dispatcher" and n["at_wib"].endswith("WIB") for n in got["notes"])
    # A note does not make another operator's version stale.
    assert got["version"] == inc["version"]
    assert audit_after(database, mark) == [("incident.note", str(inc["id"]))] * 2
    with database.sessions() as s:
        last = s.scalars(select(AuditRecord).where(AuditRecord.action == "incident.note")
                         .order_by(AuditRecord.id.desc())).first()
    assert last.after["text"] == "Koreksi: asap dari gudang, bukan rumah" and last.actor == "t-dispatcher"
    # Notes go on after the call ended (a callback, a correction), and show in every list.
    assert move(client, got, "batal", disposition="informasi").status_code == 200
    assert client.post(f"/api/incidents/{inc['id']}/notes", json={"text": "Pelapor menelepon lagi"}).status_code == 201
    listed = client.get("/api/incidents", params={"number": inc["number"]}).json()["items"][0]
    assert [n["text"] for n in listed["notes"]][0] == "Pelapor menelepon lagi" and len(listed["notes"]) == 3


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_note_text_is_stored_as_typed(client, text: str) -> None:
    inc = created(client)
    r = client.post(f"/api/incidents/{inc['id']}/notes", json={"text": text})
    assert r.status_code == 201, r.text
    assert r.json()["notes"][0]["text"] == text
    assert client.get(f"/api/incidents/{inc['id']}").json()["notes"][0]["text"] == text


def test_bad_notes_are_422_naming_the_field(client) -> None:
    inc = created(client)
    for body in ({"text": ""}, {"text": "   "}, {"text": "a\x00b"}, {"text": "x" * 2001}, {}, {"text": "ok", "x": 1}):
        r = client.post(f"/api/incidents/{inc['id']}/notes", json=body)
        assert r.status_code == 422, (body, r.text)
    assert client.post("/api/incidents/999999/notes", json={"text": "x"}).status_code == 404
    assert client.get(f"/api/incidents/{inc['id']}").json()["notes"] == []


def test_notes_need_a_dispatcher(app_client, tokens, client) -> None:
    inc = created(client)
    leader = bearer(tokens["leader"])
    r = app_client.post(f"/api/incidents/{inc['id']}/notes", json={"text": "x"}, headers=leader)
    assert r.status_code == 403


# -- dispositions -------------------------------------------------------------------------------------
def test_cancel_and_close_need_a_disposition_from_the_catalog(client, database) -> None:
    inc = created(client)
    for extra in ({}, {"disposition": "bosan"}, {"disposition": ""}, {"disposition": "<b>iseng</b>"}):
        r = move(client, inc, "batal", **extra)
        assert r.status_code == 422 and r.json()["field"] == "disposition", r.text
        assert "iseng" in r.json()["valid"]
    assert client.get(f"/api/incidents/{inc['id']}").json()["status"] == "baru"  # nothing written
    r = move(client, inc, "batal", disposition="iseng")
    assert r.status_code == 200, r.text
    assert (r.json()["disposition"], r.json()["disposition_label_id"]) == ("iseng", "Iseng / prank")
    done = created(client, {"lon": 114.9, "lat": -1.8})
    for state in ("diverifikasi", "dikirim", "menuju_lokasi", "tiba", "selesai"):
        r = move(client, done, state, disposition="iseng")  # ignored on a normal step
        assert r.status_code == 200, r.text
        done = r.json()
    assert done["disposition"] is None
    assert move(client, done, "ditutup").status_code == 422
    r = move(client, done, "ditutup", disposition="selesai_ditangani")
    assert r.status_code == 200 and r.json()["disposition"] == "selesai_ditangani"
    d = client.get("/api/dispositions").json()["dispositions"]
    assert [x["code"] for x in d][:3] == ["selesai_ditangani", "ditangani_instansi_lain", "duplikat"]
    got = client.get("/api/incidents", params={"disposition": "iseng"}).json()
    assert [i["id"] for i in got["items"]] == [inc["id"]]


def test_a_merged_duplicate_gets_the_duplicate_disposition(client) -> None:
    first = created(client)
    second = created(client, {"lon": 114.853, "lat": -1.7115})
    assert client.post(f"/api/incidents/{first['id']}/merge", json={"duplicate_id": second["id"]}).status_code == 200
    assert client.get(f"/api/incidents/{second['id']}").json()["disposition"] == "duplikat"


# -- taking a call --------------------------------------------------------------------------------------
def test_taking_a_call_is_shown_to_everyone_without_a_version_bump(app_client, tokens, client, database) -> None:
    inc = created(client)
    mark = audit_mark(database)
    r = client.post(f"/api/incidents/{inc['id']}/claim", json={})
    assert r.status_code == 200, r.text
    assert r.json()["claimed_by"] == "t-dispatcher" and r.json()["claimed_at"] and r.json()["version"] == inc["version"]
    seen = app_client.get(f"/api/incidents/{inc['id']}", headers=bearer(tokens["supervisor"])).json()
    assert seen["claimed_by"] == "t-dispatcher"
    # An edit begun before the claim still saves.
    edit = client.patch(f"/api/incidents/{inc['id']}", json={"version": inc["version"], "priority": "P2"})
    assert edit.status_code == 200
    r = client.post(f"/api/incidents/{inc['id']}/claim", json={"release": True})
    assert r.json()["claimed_by"] is None
    assert audit_after(database, mark) == [("incident.claim", str(inc["id"])), ("incident.update", str(inc["id"])),
                                           ("incident.release", str(inc["id"]))]
    assert client.post("/api/incidents/999999/claim", json={}).status_code == 404
    assert client.post(f"/api/incidents/{inc['id']}/claim", json={"release": "x"}).status_code == 422


# -- history --------------------------------------------------------------------------------------------
def test_history_filters_combine(client, app_client, tokens) -> None:
    a = created(client, caller_phone="+62 812-3456-7890", description="Rumah terbakar di gang sempit")
    b = created(client, {"place": "Pendang"}, category="banjir", caller_phone="0813 1111 2222",
                description="Air masuk rumah")
    c = created(client, None, category="medis", description="Pingsan 100% tidak sadar")
    client.post(f"/api/incidents/{b['id']}/notes", json={"text": "Perahu karet diminta"})
    got = lambda **p: [i["id"] for i in client.get("/api/incidents", params=p).json()["items"]]  # noqa: E731
    assert got(number=a["number"]) == [a["id"]]
    assert got(number=a["number"][-4:].lstrip("0") or "1") and a["id"] in got(number=a["number"][4:12])
    assert got(phone="08123456") == [a["id"]]
    assert got(phone="+62 813-1111") == [b["id"]]
    assert got(q="perahu") == [b["id"]]  # in a note only
    assert got(q="RUMAH") == [b["id"], a["id"]]  # newest first
    assert got(q="rumah gang") == [a["id"]]  # every word
    assert got(q="100%") == [c["id"]] and got(q="%") == [c["id"]] and got(q="_") == []  # wildcards literal
    assert got(q="'; DROP TABLE incident; --") == []
    assert got(operator="t-dispatcher", category="banjir") == [b["id"]]
    assert got(operator="nobody") == []
    assert got(desa="Pendang") == [b["id"]]
    assert got(status="baru,perlu_lokasi", q="rumah") == [b["id"], a["id"]]
    assert client.get("/api/incidents", params={"q": "a\x00b"}).status_code == 422
    assert client.get("/api/incidents", params={"disposition": "bosan"}).status_code == 422
    leader = app_client.get("/api/incidents", params={"q": "rumah"}, headers=bearer(tokens["leader"]))
    assert leader.status_code == 200 and leader.json()["total"] == 2


# -- the top search box ---------------------------------------------------------------------------------
def test_search_answers_places_calls_and_units_typed(client, database) -> None:
    with database.sessions() as s:
        seed_demo_units(s, read_layers(s))
        s.commit()
    inc = created(client, caller_phone="0812-9999-0001")
    by_number = client.get("/api/search", params={"q": inc["number"]}).json()
    assert [c["id"] for c in by_number["calls"]] == [inc["id"]] and by_number["calls"][0]["type"] == "call"
    by_phone = client.get("/api/search", params={"q": "+62 812 9999"}).json()
    assert [c["id"] for c in by_phone["calls"]] == [inc["id"]] and by_phone["places"] == []
    place = client.get("/api/search", params={"q": "buntok kota"}).json()
    assert place["places"][0]["name"] == "Buntok Kota" and place["calls"] == []
    typo = client.get("/api/search", params={"q": "pendng"}).json()
    assert "Pendang" in [p["name"] for p in typo["places"]]
    unit = client.get("/api/search", params={"q": "dmk-btk"}).json()
    assert unit["units"] and all(u["type"] == "unit" and "DMK-BTK" in u["callsign"] for u in unit["units"])
    assert unit["count"] == len(unit["places"]) + len(unit["calls"]) + len(unit["units"])
    for hostile in ("%", "_", "'; --", "<script>", "\\", "...."):
        r = client.get("/api/search", params={"q": hostile})
        assert r.status_code == 200, (hostile, r.text)
        assert r.json()["calls"] == [] and r.json()["units"] == []
    # A NUL in any query is refused naming the field (issue 14), never a 500.
    nul = client.get("/api/search", params={"q": "buntok\x00"})
    assert nul.status_code == 422 and nul.json()["field"] == "q"
    assert client.get("/api/search", params={"q": ""}).status_code == 422
    assert client.get("/api/search", params={"q": "x" * 121}).status_code == 422


def test_search_needs_login(anon_client) -> None:
    assert anon_client.get("/api/search", params={"q": "buntok"}).status_code == 401


def test_an_event_carries_priority_and_who_took_the_call(client) -> None:
    inc = created(client)
    assert inc["priority"] == "P1" and inc["claimed_by"] is None and inc["notes"] == []
    listed = client.get("/api/incidents", params={"status": "baru"}).json()["items"][0]
    assert listed["state_since"] == inc["created_at"]


# -- safer drafting -------------------------------------------------------------------------------------
def test_open_calls_near_a_draft_any_category(client) -> None:
    fire = created(client, {"lon": 114.85, "lat": -1.71})
    flood = created(client, {"lon": 114.855, "lat": -1.712}, category="banjir")  # ~590 m away
    created(client, {"lon": 114.87, "lat": -1.71})  # ~2.2 km: outside 1 km
    ended = created(client, {"lon": 114.851, "lat": -1.71})
    assert move(client, ended, "batal", disposition="salah_sambung").status_code == 200
    got = client.get("/api/incidents/nearby", params={"lon": 114.8501, "lat": -1.7101}).json()
    assert (got["radius_m"], got["minutes"]) == (1000.0, 60.0)
    assert [i["id"] for i in got["items"]] == [fire["id"], flood["id"]]
    assert got["items"][0]["distance_m"] < 20 and 500 < got["items"][1]["distance_m"] < 700
    tight = client.get("/api/incidents/nearby", params={"lon": 114.8501, "lat": -1.7101, "radius_m": 100}).json()
    assert [i["id"] for i in tight["items"]] == [fire["id"]]
    for bad in ({"lon": 200, "lat": 0}, {"lon": "x", "lat": 0}, {"lat": 0},
                {"lon": 114.85, "lat": -1.71, "minutes": 0}):
        assert client.get("/api/incidents/nearby", params=bad).status_code == 422


AML_OLD = 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20200101000000;lc=68;pm=G'


def test_aml_preview_agrees_with_the_call_and_tells_the_fix_age(client) -> None:
    from datetime import UTC, datetime

    fresh_top = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    fresh = f'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top={fresh_top};lc=68;pm=G'
    p = client.post("/api/aml/preview", json={"aml": fresh}).json()
    assert p["status"] == "located" and p["location"]["aml"]["stale"] is False and p["location"]["aml"]["age_s"] < 120
    inc = created(client, {"aml": fresh})
    assert (inc["lon"], inc["lat"], inc["accuracy_m"]) == (p["lon"], p["lat"], p["accuracy_m"])
    assert inc["location"]["desa"] == p["location"]["desa"]
    old = client.post("/api/aml/preview", json={"aml": AML_OLD}).json()
    assert old["location"]["aml"]["stale"] is True and old["location"]["aml"]["age_s"] > 15 * 60
    assert created(client, {"aml": AML_OLD})["location"]["aml"]["stale"] is True
    nofix = client.post("/api/aml/preview", json={"aml": 'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;pm=N'}).json()
    assert nofix["status"] == "needs_location"
    # Garbage: the preview refuses it exactly as the call does, naming the same field.
    for text in ("halo ini bukan AML", 'A"ML=1;lt=-1.7;rd=20;ml=5', 'A"ML=1;lg=114.8;top=99999999999999'):
        pr = client.post("/api/aml/preview", json={"aml": text})
        cr = client.post("/api/incidents", json={"category": "medis", "location": {"aml": text}})
        assert pr.status_code == cr.status_code == 422
        assert pr.json()["field"] == cr.json()["field"]
    # A missing lg is named before the wrong length; a missing lt before a garbled top.
    r = client.post("/api/aml/preview", json={"aml": 'A"ML=1;lt=-1.7;rd=20;ml=5'})
    assert r.json()["field"] == "location.aml.lg"
    r = client.post("/api/aml/preview", json={"aml": 'A"ML=1;lg=114.8;top=99999999999999'})
    assert r.json()["field"] == "location.aml.lt"
    assert client.post("/api/aml/preview", json={"aml": "x\x00"}).status_code == 422


def test_exports_carry_priority_disposition_and_the_call_log(client) -> None:
    import csv
    import io
    import json

    inc = created(client)
    for text in ("Pertama", "=cmd|' /C calc'!A0 kedua"):
        client.post(f"/api/incidents/{inc['id']}/notes", json={"text": text})
    assert move(client, inc, "batal", disposition="informasi").status_code == 200
    gj = json.loads(client.get("/api/export/incidents.geojson").content)
    props = next(f["properties"] for f in gj["features"] if f["id"] == inc["id"])
    assert (props["priority"], props["disposition"]) == ("P1", "informasi")
    assert props["notes"].index("Pertama") < props["notes"].index("kedua") and "t-dispatcher" in props["notes"]
    rows = list(csv.DictReader(io.StringIO(client.get("/api/export/incidents.csv").content.decode("utf-8-sig"))))
    row = next(r for r in rows if r["id"] == str(inc["id"]))
    assert row["priority"] == "P1" and "Pertama" in row["notes"]
    # Another call without notes has an empty log, not a missing column.
    other = created(client, {"lon": 114.9, "lat": -1.8})
    gj = json.loads(client.get("/api/export/incidents.geojson").content)
    assert next(f["properties"] for f in gj["features"] if f["id"] == other["id"])["notes"] == ""
