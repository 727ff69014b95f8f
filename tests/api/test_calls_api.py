"""The call desk over HTTP on both backends: recording and listing calls, hostile numbers, caller history,
flags, the callback list, the report and its exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from store.accounts import AuditRecord
from tests.conftest import bearer

MOBILE = "+6281234567890"
BUNTOK = {"lon": 114.85, "lat": -1.71}


def record(client, type_: str = "iseng", number: str | None = "0812 3456 7890", **extra) -> dict:
    r = client.post("/api/calls", json={"type": type_, "number": number, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_prank_call_is_recorded_with_its_number_normalised(client) -> None:
    call = record(client, "iseng", "0812-3456-7890", line="trunk-1", duration_s=12)
    assert (call["type"], call["caller_number"], call["number_ok"], call["caller_raw"]) == (
        "iseng", MOBILE, True, "0812-3456-7890")
    assert call["operator"] == "t-dispatcher" and call["source"] == "desk" and call["line"] == "trunk-1"
    assert call["at"].endswith("+00:00") and call["at_wib"].endswith("WIB") and call["duration_s"] == 12
    assert call["callback_status"] is None


@pytest.mark.parametrize("number", ["anonymous", "'; DROP TABLE phone_call;--", "=cmd|' /C calc'!A0", "\u202e112",
                                    "0" * 200, "<img src=x onerror=alert(1)>", "💥📞", "\x00\x01\x02", None, ""])
def test_hostile_numbers_never_refuse_a_call(client, number: str | None) -> None:
    call = record(client, "darurat", number)
    assert call["number_ok"] is False and call["type"] == "darurat"
    assert call["caller_raw"] is None or ("\x00" not in call["caller_raw"] and len(call["caller_raw"]) <= 64)
    listed = client.get("/api/calls").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == call["id"]


def test_unknown_type_and_bad_fields_are_422_naming_the_field(client) -> None:
    r = client.post("/api/calls", json={"type": "hoax"})
    assert r.status_code == 422 and r.json()["field"] == "type"
    r = client.post("/api/calls", json={"type": "iseng", "incident_id": 999999})
    assert r.status_code == 404 and r.json()["field"] == "incident_id"
    r = client.post("/api/calls", json={"type": "iseng", "duration_s": -1})
    assert r.status_code == 422 and r.json()["field"] == "duration_s"


def test_a_desk_clock_from_the_future_records_the_call_now(client) -> None:
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    call = record(client, "informasi", "081234567890", at=ahead)
    assert datetime.fromisoformat(call["at"]) < datetime.now(UTC) + timedelta(minutes=1)


def test_filters(client) -> None:
    record(client, "iseng", "081234567890")
    record(client, "ghost", "+62 812 3456 7890")
    record(client, "informasi", "0525 21234", line="L2")
    assert client.get("/api/calls", params={"number": "62812-3456-7890"}).json()["total"] == 2
    assert client.get("/api/calls", params={"type": "iseng,ghost"}).json()["total"] == 2
    assert client.get("/api/calls", params={"line": "L2"}).json()["items"][0]["caller_number"] == "+6252521234"
    assert client.get("/api/calls", params={"operator": "t-dispatcher"}).json()["total"] == 3
    assert client.get("/api/calls", params={"callback": "perlu"}).json()["total"] == 1  # the ghost call
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/api/calls", params={"since": future}).json()["total"] == 0
    r = client.get("/api/calls", params={"type": "nope"})
    assert r.status_code == 422 and r.json()["field"] == "type"


def test_only_desk_roles_see_calls(client, tokens) -> None:
    for role, status in (("planner", 403), ("leader", 403), ("supervisor", 200), ("admin", 200)):
        assert client.get("/api/calls", headers=bearer(tokens[role])).status_code == status


def test_caller_history_by_type_prank_count_incidents_and_last_location(client) -> None:
    inc = client.post("/api/incidents", json={"category": "kebakaran", "location": BUNTOK,
                                              "caller_phone": "081234567890"}).json()
    # The incident's darurat call is recorded with it (no second request).
    for _ in range(3):
        record(client, "iseng", "+62 812 3456 7890")
    record(client, "iseng", "0811 111 111")  # someone else
    h = client.get("/api/callers/6281234567890").json()
    assert h["number"] == MOBILE and h["number_ok"] is True
    assert h["by_type"] == {"darurat": 1, "iseng": 3} and h["prank_count"] == 3 and h["total"] == 4
    assert [i["id"] for i in h["incidents"]] == [inc["id"]]
    assert h["last_location"]["incident_id"] == inc["id"] and h["last_location"]["lon"] == pytest.approx(114.85)
    assert len(h["calls"]) == 4 and h["flag"] is None
    empty = client.get("/api/callers/0899%2099").json()
    assert empty["total"] == 0 and empty["calls"] == [] and empty["last_location"] is None


def test_flags_by_supervisor_audited_shown_never_blocking(client, tokens, database) -> None:
    sup = bearer(tokens["supervisor"])
    r = client.post("/api/callers/081234567890/flags", json={"reason": "iseng berulang"})
    assert r.status_code == 403  # an operator does not flag
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    r = client.post("/api/callers/081234567890/flags", json={"reason": "iseng berulang", "expires_at": expires},
                    headers=sup)
    assert r.status_code == 201, r.text
    flag = r.json()
    assert flag["number"] == MOBILE and flag["created_by"] == "t-supervisor"
    assert client.get("/api/callers/+6281234567890").json()["flag"]["id"] == flag["id"]
    # The flagged number still gets its call recorded.
    assert record(client, "darurat", "081234567890")["type"] == "darurat"
    with database.sessions() as s:
        actions = s.scalars(select(AuditRecord.action).where(AuditRecord.entity_id == MOBILE)).all()
    assert "caller.flag" in actions
    r = client.delete(f"/api/flags/{flag['id']}", headers=sup)
    assert r.status_code == 200 and r.json()["revoked_by"] == "t-supervisor"
    assert client.get("/api/callers/081234567890").json()["flag"] is None


@pytest.mark.parametrize("number", ["112", "110", "113", "118", "119", "+62 112", "1 1 2"])
def test_emergency_numbers_cannot_be_flagged(client, tokens, number: str) -> None:
    r = client.post(f"/api/callers/{number}/flags", json={"reason": "x"}, headers=bearer(tokens["admin"]))
    assert r.status_code == 422 and r.json()["field"] == "number"


def test_flag_needs_a_reason_and_a_future_expiry(client, tokens) -> None:
    sup = bearer(tokens["supervisor"])
    assert client.post("/api/callers/0812345678/flags", json={"reason": ""}, headers=sup).status_code == 422
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = client.post("/api/callers/081234567890/flags", json={"reason": "x", "expires_at": past}, headers=sup)
    assert r.status_code == 422 and r.json()["field"] == "expires_at"


def test_callback_list_with_who_called_back_and_the_outcome(client, tokens) -> None:
    missed = record(client, "tak_terjawab", "081234567890")
    ghost = record(client, "ghost", "0525 21234")
    record(client, "iseng", "0811111111")
    waiting = client.get("/api/callbacks").json()["items"]
    assert [c["id"] for c in waiting] == [missed["id"], ghost["id"]]
    r = client.post(f"/api/calls/{missed['id']}/callback", json={"outcome": "tidak_diangkat"})
    assert r.json()["callback_status"] == "perlu" and r.json()["callback_attempts"] == 1
    r = client.post(f"/api/calls/{missed['id']}/callback", json={"outcome": "tersambung", "note": "aman"},
                    headers=bearer(tokens["supervisor"]))
    done = r.json()
    assert (done["callback_status"], done["callback_by"], done["callback_outcome"], done["callback_attempts"]) == (
        "selesai", "t-supervisor", "tersambung", 2)
    assert [c["id"] for c in client.get("/api/callbacks").json()["items"]] == [ghost["id"]]
    assert [c["id"] for c in client.get("/api/callbacks?status=selesai").json()["items"]] == [missed["id"]]
    other = client.get("/api/calls", params={"type": "iseng"}).json()["items"][0]
    r = client.post(f"/api/calls/{other['id']}/callback", json={"outcome": "tersambung"})
    assert r.status_code == 409
    r = client.post(f"/api/calls/{ghost['id']}/callback", json={"outcome": "maybe"})
    assert r.status_code == 422 and r.json()["field"] == "outcome"


def test_typing_and_linking_a_call(client) -> None:
    call = record(client, "informasi", "081234567890")
    inc = client.post("/api/incidents", json={"category": "kebakaran", "location": BUNTOK}).json()
    r = client.patch(f"/api/calls/{call['id']}", json={"type": "darurat", "incident_id": inc["id"]})
    assert r.status_code == 200 and (r.json()["type"], r.json()["incident_id"]) == ("darurat", inc["id"])
    follow = record(client, "panggilan_ulang", "081234567890", related_call_id=call["id"])
    assert follow["related_call_id"] == call["id"]
    r = client.patch(f"/api/calls/{follow['id']}", json={"related_call_id": follow["id"]})
    assert r.status_code == 422
    assert client.patch("/api/calls/99999", json={"type": "uji"}).status_code == 404


def _seed_report(client) -> int:
    inc = client.post("/api/incidents", json={"category": "kebakaran", "location": BUNTOK}).json()
    v = inc["version"]
    for to in ("diverifikasi", "dikirim", "menuju_lokasi", "tiba"):
        r = client.post(f"/api/incidents/{inc['id']}/transitions", json={"to": to, "version": v})
        if r.status_code != 200:
            break
        v = r.json()["version"]
    # The incident's own darurat call was recorded with it.
    for _ in range(3):
        record(client, "iseng", "=HYPERLINK(\"http://evil\")")
    record(client, "ghost", "0525 21234")
    return inc["id"]


def test_report_for_supervisors_and_leaders(client, tokens) -> None:
    _seed_report(client)
    assert client.get("/api/calls/report").status_code == 403  # operators do not read the statistics
    r = client.get("/api/calls/report", headers=bearer(tokens["leader"]))
    assert r.status_code == 200, r.text
    rep = r.json()
    counts = {t["type"]: t["count"] for t in rep["by_type"]}
    assert rep["total"] == 5 and counts["iseng"] == 3 and counts["darurat"] == 1 and counts["ghost"] == 1
    assert sum(rep["by_hour"]) == 5 and sum(d["total"] for d in rep["by_day"]) == 5
    assert rep["emergency"]["by_category"][0]["code"] == "kebakaran"
    assert rep["emergency"]["by_agency"][0]["code"] == "damkar"
    assert rep["emergency"]["by_kecamatan"][0]["name"] == "Dusun Selatan"
    assert rep["operators"][0] == {"operator": "t-dispatcher", "total": 5,
                                   "by_type": {"darurat": 1, "ghost": 1, "iseng": 3}}
    assert rep["intervals"]["answer_to_dispatch"]["count"] in (0, 1)
    month = datetime.now(UTC).strftime("%Y-%m")
    assert client.get("/api/calls/report", params={"month": "2020-01"},
                      headers=bearer(tokens["supervisor"])).json()["total"] == 0
    assert client.get("/api/calls/report", params={"month": "2020-13"},
                      headers=bearer(tokens["supervisor"])).status_code == 422
    r = client.get("/api/calls/report", params={"since": "2026-02-01", "until": "2026-01-01"},
                   headers=bearer(tokens["supervisor"]))
    assert r.status_code == 422 and r.json()["field"] == "until"
    assert month


def test_report_exports_are_guarded_against_formulas(client, tokens, database) -> None:
    _seed_report(client)
    # An operator named like a formula: the export must show it as text.
    with database.sessions() as s:
        from store.calls import PhoneCall

        s.query(PhoneCall).update({"operator": "=1+1"})
        s.commit()
    sup = bearer(tokens["supervisor"])
    r = client.get("/api/calls/report.csv", headers=sup)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert "'=1+1" in cells and "=1+1" not in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    r = client.get("/api/calls/report.xlsx", headers=sup)
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert "'=1+1" in values and not any(isinstance(v, str) and v.startswith("=") for v in values)
    assert wb.active["A1"].value.startswith("Laporan panggilan")


def test_overlong_side_data_is_cut_not_refused(client) -> None:
    call = record(client, "darurat", "0812" * 300, line="L" * 1500, note="n" * 3000)
    assert len(call["caller_raw"]) == 64 and len(call["line"]) == 32 and len(call["note"]) == 500
