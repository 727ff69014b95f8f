"""Units on calls over HTTP, on both backends: multi-unit dispatch, steps by radio, release, divert, the call's
assignments, agency contacts, the unit status board and its thresholds, and the bad input the issue lists."""

from __future__ import annotations

from datetime import timedelta

from geo.times import utcnow
from tests.api.test_units_api import demo, new_incident, set_units
from tests.waiting import wait_until

__all__ = ["demo"]


def post(client, url: str, body: dict, status: int = 200) -> dict:
    r = client.post(url, json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_two_units_on_one_call_steps_release_and_history(client, demo) -> None:
    inc = new_incident(client)
    dmk, amb = demo["DMK-BTK-1"], demo["AMB-BTK-1"]
    sent = post(client, f"/api/incidents/{inc['id']}/dispatch", {"unit_ids": [dmk, amb], "version": inc["version"],
                                                                  "eta_s": {str(dmk): 300.0, "x": 1.0}})
    assert {u["incident_number"] for u in sent["units"]} == {inc["number"]}
    step = post(client, f"/api/incidents/{inc['id']}/units/{dmk}/status", {"status": "tiba"})
    assert (step["status"], step["skipped"], step["transitions"]) == ("tiba", ["menuju_lokasi"],
                                                                      ["menuju_lokasi", "tiba"])
    assert step["unit"]["status"] == "tiba" and step["unit"]["incident_id"] == inc["id"]
    gone = post(client, f"/api/incidents/{inc['id']}/units/{amb}/release", {"reason": "ambulans dibutuhkan RSUD"})
    assert gone["unit"]["status"] == "tersedia" and gone["unit"]["incident_id"] is None
    shown = client.get(f"/api/incidents/{inc['id']}").json()
    by_callsign = {a["callsign"]: a for a in shown["assignments"]}
    assert by_callsign["DMK-BTK-1"]["status"] == "tiba" and by_callsign["DMK-BTK-1"]["arrived_at"]
    assert by_callsign["DMK-BTK-1"]["eta_s"] == 300.0
    assert by_callsign["DMK-BTK-1"]["intervals"]["dispatch_to_scene_s"] >= 0
    assert by_callsign["AMB-BTK-1"]["status"] == "dilepas"
    assert by_callsign["AMB-BTK-1"]["release_reason"] == "ambulans dibutuhkan RSUD"
    # The list carries them too.
    listed = next(i for i in client.get("/api/incidents").json()["items"] if i["id"] == inc["id"])
    assert [a["callsign"] for a in listed["assignments"]] == [a["callsign"] for a in shown["assignments"]]
    done = post(client, f"/api/incidents/{inc['id']}/units/{dmk}/status", {"status": "selesai"})
    assert done["unit"]["status"] == "kembali"
    closed = post(client, f"/api/incidents/{inc['id']}/transition", {"to": "selesai", "version": done["version"]})
    notes = " ".join(t["note"] or "" for t in closed["transitions"])
    assert "DMK-BTK-1" in notes and "AMB-BTK-1" in notes
    # Every unit event names the call it serves (or none once free).
    wait_until(lambda: any(e["data"]["id"] == dmk and e["data"]["status"] == "kembali"
                           for e in list(client.app.state.ctx.events.recent) if e["kind"] == "unit.updated"),
               timeout=15)


def test_bad_input_is_refused_with_reasons(client, demo, database) -> None:
    inc, other = new_incident(client), new_incident(client, category="penyelamatan")
    off, busy, free = demo["DMK-BTK-2"], demo["DMK-BTK-1"], demo["POL-BTK-1"]
    set_units(database, [off], status="offline")
    post(client, f"/api/incidents/{other['id']}/dispatch", {"unit_ids": [busy]})
    r = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [free, off]})
    assert r.status_code == 409 and [(u["callsign"], u["reason"]) for u in r.json()["unavailable"]] == [
        ("DMK-BTK-2", "offline")]
    r = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [busy]})
    assert r.status_code == 409 and r.json()["unavailable"][0]["incident_number"] == other["number"]
    assert client.post(f"/api/incidents/{inc['id']}/units/{busy}/release", json={"reason": "x"}).status_code == 409
    assert client.post(f"/api/incidents/{other['id']}/units/{busy}/release", json={}).status_code == 422
    assert client.post(f"/api/incidents/{other['id']}/units/{busy}/release", json={"reason": ""}).status_code == 422
    assert client.post(f"/api/incidents/{inc['id']}/units/987654/status", json={"status": "tiba"}).status_code == 404
    assert client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [987654]}).status_code == 404
    assert client.post(f"/api/incidents/{inc['id']}/units/{free}/status", json={"status": "terbang"}).status_code == 422
    assert client.post(f"/api/units/{busy}/status", json={"status": "offline"}).status_code == 409
    # Nothing of it changed the call.
    again = client.get(f"/api/incidents/{inc['id']}").json()
    assert again["status"] == "baru" and again["assignments"] == []
    # Divert: the busy unit moves with an explicit divert, its first assignment ends 'dialihkan'.
    moved = post(client, f"/api/incidents/{inc['id']}/dispatch", {"unit_ids": [busy], "divert": True})
    assert moved["diverted_from"] == [other["id"]]
    old = client.get(f"/api/incidents/{other['id']}").json()["assignments"][0]
    assert (old["status"], old["diverted_to_id"]) == ("dialihkan", inc["id"])


def test_agency_contacts_recorded_and_hostile_text_kept_as_text(client, demo) -> None:
    inc = new_incident(client, category="listrik")
    note = "<img src=x onerror=alert(1)> kabel putus \u202e"
    made = post(client, f"/api/incidents/{inc['id']}/contacts",
                {"agency": "pln", "channel": "telepon", "contact": "ULP Buntok", "note": note}, status=201)
    assert made["note"] == note and made["by"] == "t-dispatcher"
    shown = client.get(f"/api/incidents/{inc['id']}").json()
    assert [(c["agency"], c["channel"]) for c in shown["agency_contacts"]] == [("pln", "telepon")]
    assert client.post(f"/api/incidents/{inc['id']}/contacts",
                       json={"agency": "nasa", "channel": "telepon"}).status_code == 422
    assert client.post(f"/api/incidents/{inc['id']}/contacts",
                       json={"agency": "pln", "channel": "telepati"}).status_code == 422
    assert client.post("/api/incidents/999999/contacts", json={"agency": "pln", "channel": "radio"}).status_code == 404


def test_board_lists_units_with_call_time_in_status_and_levels(client, demo, database) -> None:
    inc = new_incident(client)
    late, fresh = demo["DMK-BTK-1"], demo["AMB-BTK-1"]
    post(client, f"/api/incidents/{inc['id']}/dispatch", {"unit_ids": [late, fresh]})
    # One unit has waited 4 minutes without moving (amber past 3), another 7 (red past 6).
    set_units(database, [late], status_at=utcnow() - timedelta(minutes=4))
    set_units(database, [demo["DMK-BTK-2"]], status="tidak_tersedia")
    board = client.get("/api/board").json()
    by = {u["callsign"]: u for u in board["units"]}
    assert by["DMK-BTK-1"]["level"] == "amber" and by["DMK-BTK-1"]["incident_number"] == inc["number"]
    assert by["AMB-BTK-1"]["level"] == "ok" and by["DMK-BTK-1"]["in_status_s"] >= 240
    assert board["by_status"]["dikirim"] == 2 and board["by_status"]["tidak_tersedia"] == 1
    assert board["thresholds_minutes"] == {"dikirim": 3.0, "tiba": 60.0}
    set_units(database, [late], status_at=utcnow() - timedelta(minutes=7))
    assert {u["callsign"]: u["level"] for u in client.get("/api/board").json()["units"]}["DMK-BTK-1"] == "red"
    only = client.get("/api/board", params={"type": "ambulans", "agency": "rsud"}).json()
    assert only["units"] and {(u["type"], u["agency"]) for u in only["units"]} == {("ambulans", "rsud")}
    assert [u["callsign"] for u in board["units"]] == sorted(u["callsign"] for u in board["units"])


def test_the_response_plan_is_proposed_whole_and_agencies_without_units_are_named(client, demo) -> None:
    # A fire is P1 by the catalog (three damkar); at P2 the plan's base units are proposed.
    p1 = client.get(f"/api/incidents/{new_incident(client)['id']}/recommendations").json()["plan"]
    assert ("damkar", 3) in {(u["type"], u["count"]) for u in p1["units"]}
    fire = new_incident(client, priority="P2")
    rec = client.get(f"/api/incidents/{fire['id']}/recommendations").json()
    plan = rec["plan"]
    assert {(u["type"], u["count"]) for u in plan["units"]} == {("damkar", 2), ("polisi", 1), ("ambulans", 1)}
    assert [a["code"] for a in plan["notify"]] == ["pln"]
    nearest = [u["id"] for u in rec["recommendations"]["damkar"][:2]] + [
        rec["recommendations"]["polisi"][0]["id"], rec["recommendations"]["ambulans"][0]["id"]]
    assert sorted(plan["selected"]) == sorted(nearest) and plan["short"] == []
    # Damkar ranked nearest first.
    etas = [u["eta_s"] for u in rec["recommendations"]["damkar"]]
    assert etas == sorted(etas)
    # The whole plan goes in one action.
    sent = post(client, f"/api/incidents/{fire['id']}/dispatch", {"unit_ids": plan["selected"]})
    assert len(sent["units"]) == 4
    # A category with no unit types: no list of every unit, the agencies to inform instead.
    power = new_incident(client, category="listrik")
    rec = client.get(f"/api/incidents/{power['id']}/recommendations").json()
    assert rec["recommendations"] == {} and rec["types"] == []
    assert [a["code"] for a in rec["plan"]["notify"]] == ["pln"] and rec["plan"]["selected"] == []


def test_honest_near_water_boat_walk_and_eta_range(client, demo) -> None:
    # A flood call placed by a village name by the river: its circle touches the river, boats are proposed.
    # (Kalanis: its centre 0.9 km from the Barito, known to 3.5 km.)
    wet = new_incident(client, category="banjir", location={"place": "Kalanis"})
    assert wet["accuracy_m"] > 1000 and wet["location"]["river"]["distance_m"] > 100
    assert "perahu" in wet["unit_types"]  # the call's own answer says so too
    rec = client.get(f"/api/incidents/{wet['id']}/recommendations").json()
    assert rec["on_water"] is True and "perahu" in rec["types"]
    # Uncertain by more than 1 km: each ETA comes with its range over the circle.
    assert rec["eta_range_radius_m"] == wet["accuracy_m"]
    for units in rec["recommendations"].values():
        for u in units:
            lo, hi = u["eta_range_s"]
            assert lo <= u["eta_s"] <= hi and lo < hi
    # Far inland, a boat would be kilometres on foot from its landing: never proposed, said why.
    inland = new_incident(client, category="penyelamatan")
    assert inland["location"]["river"]["distance_m"] > 5000
    rec = client.get(f"/api/incidents/{inland['id']}/recommendations", params={"types": "perahu"}).json()
    assert rec["recommendations"].get("perahu", []) == []
    walked = [u for u in rec["left_out"] if u.get("detail") == "boat_walk"]
    assert walked and all(u["walk_m"] > 1000 for u in walked)
    assert "tidak terjangkau lewat sungai" in walked[0]["message_id"].lower()
    # A precise point gets no range.
    exact = new_incident(client)
    rec = client.get(f"/api/incidents/{exact['id']}/recommendations").json()
    assert rec["eta_range_radius_m"] is None and rec["recommendations"]["damkar"][0]["eta_range_s"] is None


def test_hostile_text_in_every_new_input_is_refused_or_kept_as_text(client, demo) -> None:
    inc = new_incident(client)
    unit = demo["DMK-BTK-1"]
    nul = "a\x00b"
    url = f"/api/incidents/{inc['id']}/dispatch"
    assert client.post(url, json={"unit_ids": [unit], "note": nul}).status_code == 422
    assert client.post(f"/api/incidents/{inc['id']}/contacts",
                       json={"agency": "pln", "channel": "radio", "note": nul}).status_code == 422
    assert client.post(f"/api/units/{unit}/status", json={"status": "offline", "note": nul}).status_code == 422
    assert client.post(f"/api/incidents/{inc['id']}/dispatch",
                       json={"unit_ids": [unit], "eta_s": {str(unit): -5}}).status_code == 422
    post(client, f"/api/incidents/{inc['id']}/dispatch", {"unit_ids": [unit], "note": "'; DROP TABLE unit; --"})
    assert client.post(f"/api/incidents/{inc['id']}/units/{unit}/release", json={"reason": nul}).status_code == 422
    assert client.post(f"/api/incidents/{inc['id']}/units/{unit}/release",
                       json={"reason": "x" * 501}).status_code == 422
    weird = "<script>alert(1)</script> \u202e 🚒"
    gone = post(client, f"/api/incidents/{inc['id']}/units/{unit}/release", {"reason": weird})
    assert gone["unit"]["status"] == "tersedia"
    [a] = client.get(f"/api/incidents/{inc['id']}").json()["assignments"]
    assert a["release_reason"] == weird
    # The call itself is never refused or lost for any of it.
    assert client.get(f"/api/incidents/{inc['id']}").json()["status"] == "dikirim"
