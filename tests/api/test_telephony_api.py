"""The PBX webhook on both backends: signature, replay window, duplicates, order, orphans, transfers, the
screen-pop event for the answering operator, and AML SMS attaching its fix to the call."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select

from api.routes.telephony import sign
from store.accounts import AuditRecord
from store.calls import PhoneCall, TelephonyEvent
from tests.conftest import bearer
from tests.waiting import wait_until

SECRET = "uji-rahasia-pbx-112-cukup-panjang"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
AML = 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20261129081530;lc=68;pm=G;si=510101000000000;ei=356938035643809'


@pytest.fixture
def pbx(client, tokens, monkeypatch):
    """The client with the webhook secret configured and extension 201 seated with t-dispatcher."""
    monkeypatch.setattr(client.app.state.ctx.settings, "telephony_secret", SECRET)
    r = client.put("/api/telephony/extensions/201", json={"username": "t-dispatcher"},
                   headers=bearer(tokens["supervisor"]))
    assert r.status_code == 200, r.text
    r = client.put("/api/telephony/extensions/202", json={"username": "t-supervisor"},
                   headers=bearer(tokens["supervisor"]))
    assert r.status_code == 200, r.text
    return client


def send(client, body: dict, *, path: str = "/api/telephony/events", secret: str = SECRET, ts: float | None = None,
         signature: str | None = None):
    raw = orjson.dumps(body)
    stamp = str(int(time.time() if ts is None else ts))
    sig = sign(secret, stamp, raw) if signature is None else signature
    return client.post(path, content=raw, headers={"Content-Type": "application/json", "X-Sigap-Timestamp": stamp,
                                                   "X-Sigap-Signature": sig})


def ev(kind: str, call_id: str = "pbx-1", s: int = 0, **extra) -> dict:
    return {"event": kind, "call_id": call_id, "at": (T0 + timedelta(seconds=s)).isoformat(), **extra}


RING = ev("ringing", number="0812 3456 7890", line="trunk-telkomsel")
ANSWER = ev("answered", s=4, extension="201")
HANGUP = ev("hangup", s=64)


def stored(database, call_id: str = "pbx-1") -> dict | None:
    with database.sessions() as s:
        call = s.scalar(select(PhoneCall).where(PhoneCall.pbx_call_id == call_id))
        if call is None:
            return None
        return {k: getattr(call, k) for k in ("type", "state", "operator", "extension", "caller_number", "line",
                                              "duration_s", "answered_at", "ended_at", "at", "callback_status")}


def counts(database) -> tuple[int, int]:
    with database.sessions() as s:
        return (s.scalar(select(func.count()).select_from(PhoneCall)),
                s.scalar(select(func.count()).select_from(TelephonyEvent)))


def test_a_ring_answered_and_hung_up(pbx, database) -> None:
    for body in (RING, ANSWER, HANGUP):
        r = send(pbx, body)
        assert r.status_code == 200, r.text
    call = stored(database)
    assert call["state"] == "selesai" and call["operator"] == "t-dispatcher" and call["extension"] == "201"
    assert call["caller_number"] == "+6281234567890" and call["line"] == "trunk-telkomsel"
    assert call["duration_s"] == 60 and call["type"] is None  # answered: the operator types it


@pytest.mark.parametrize("order", list(itertools.permutations([RING, ANSWER, HANGUP])))
def test_any_order_and_duplicates_give_the_same_call(pbx, database, order) -> None:
    for body in (*order, *order[::-1]):
        assert send(pbx, body).status_code == 200
    call = stored(database)
    assert (call["state"], call["operator"], call["duration_s"], call["caller_number"]) == (
        "selesai", "t-dispatcher", 60, "+6281234567890")
    assert counts(database) == (1, 3)


def test_missed_call_goes_to_the_callback_list_then_a_late_answer_takes_it_out(pbx, database) -> None:
    send(pbx, RING)
    send(pbx, HANGUP)
    assert stored(database)["type"] == "tak_terjawab" and stored(database)["callback_status"] == "perlu"
    assert pbx.get("/api/callbacks").json()["total"] == 1
    send(pbx, ANSWER)  # it was answered after all (the event came late)
    call = stored(database)
    assert call["type"] is None and call["callback_status"] is None and call["operator"] == "t-dispatcher"


def test_a_typed_call_keeps_its_type_whatever_the_pbx_sends_later(pbx, database) -> None:
    r = send(pbx, RING)
    call_id = r.json()["call"]["id"]
    send(pbx, ANSWER)
    assert pbx.patch(f"/api/calls/{call_id}", json={"type": "iseng"}).json()["type"] == "iseng"
    send(pbx, HANGUP)
    assert stored(database)["type"] == "iseng"


def test_hangup_for_an_unknown_call_is_an_orphan_event_then_folded_in(pbx, database) -> None:
    r = send(pbx, ev("hangup", "pbx-x", s=30))
    assert r.status_code == 200 and r.json()["orphan"] is True and r.json()["call"] is None
    assert counts(database) == (0, 1)
    r = send(pbx, ev("ringing", "pbx-x", number="081234567890"))
    assert r.json()["call"]["state"] == "selesai" and r.json()["call"]["type"] == "tak_terjawab"
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(TelephonyEvent).where(TelephonyEvent.orphan)) == 0


def test_transfer_moves_the_call_to_the_second_operator(pbx, database) -> None:
    send(pbx, RING)
    send(pbx, ANSWER)
    r = send(pbx, ev("transfer", s=20, extension="202"))
    assert r.json()["popped"]["operator"] == "t-supervisor"
    send(pbx, HANGUP)
    call = stored(database)
    assert call["operator"] == "t-supervisor" and call["duration_s"] == 60  # from the first answer


def test_the_answering_operator_gets_the_pop_event(pbx, database) -> None:
    hub = pbx.app.state.ctx.events
    before = {e["id"] for e in list(hub.recent)}
    send(pbx, RING)
    r = send(pbx, ANSWER)
    popped = r.json()["popped"]
    assert popped["operator"] == "t-dispatcher" and popped["caller_number"] == "+6281234567890"

    def seen():
        return [e for e in list(hub.recent) if e["kind"] == "call.popped" and e["id"] not in before]

    [event] = wait_until(seen, message="call.popped never delivered")
    assert event["data"]["extension"] == "201"
    assert send(pbx, ANSWER).json()["popped"] is None  # a duplicate pops nothing


@pytest.mark.parametrize("case", ["bad_signature", "stale", "future", "missing", "other_secret", "body_changed"])
def test_bad_signatures_are_401_audited_and_store_nothing(pbx, database, case) -> None:
    with database.sessions() as s:
        mark = s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))
    now = time.time()
    if case == "bad_signature":
        r = send(pbx, RING, signature="sha256=" + "0" * 64)
    elif case == "stale":
        r = send(pbx, RING, ts=now - 301)
    elif case == "future":
        r = send(pbx, RING, ts=now + 301)
    elif case == "other_secret":
        r = send(pbx, RING, secret="another-secret")
    elif case == "body_changed":
        stamp = str(int(now))
        sig = sign(SECRET, stamp, orjson.dumps(RING))
        r = pbx.post("/api/telephony/events", content=orjson.dumps(ANSWER),
                     headers={"X-Sigap-Timestamp": stamp, "X-Sigap-Signature": sig})
    else:
        r = pbx.post("/api/telephony/events", json=RING)
    assert r.status_code == 401, r.text
    assert counts(database) == (0, 0)
    with database.sessions() as s:
        rows = s.scalars(select(AuditRecord).where(AuditRecord.id > mark)).all()
    assert [a.action for a in rows] == ["telephony.rejected"] and rows[0].actor == "pbx"


def test_no_secret_configured_refuses_everything(client, database) -> None:
    r = send(client, RING)
    assert r.status_code == 401 and "not_configured" in r.json()["message_en"]
    assert counts(database) == (0, 0)


@pytest.mark.parametrize("body", [
    {"event": "exploded", "call_id": "a"},
    {"event": "ringing"},
    {"event": "ringing", "call_id": ""},
    {"event": "ringing", "call_id": "a", "at": "yesterday"},
    [1, 2, 3],
])
def test_signed_but_malformed_is_422_and_stores_nothing(pbx, database, body) -> None:
    r = send(pbx, body)
    assert r.status_code == 422, r.text
    assert counts(database) == (0, 0)


def test_hostile_fields_are_cleaned_not_refused(pbx, database) -> None:
    body = ev("ringing", "pbx-\u202e<script>", number="=cmd|' /C calc'!A0\x00", line="L" * 200, extension="2" * 100,
              at=int((T0 + timedelta(days=30)).timestamp()), vendor_field={"x": 1})
    r = send(pbx, body)
    assert r.status_code == 200, r.text
    call = r.json()["call"]
    assert call["number_ok"] is False and len(call["line"]) == 32
    assert datetime.fromisoformat(call["at"]) <= datetime.now(UTC)  # a PBX clock from the future: received now


def test_aml_sms_attaches_its_fix_to_the_call_from_that_number(pbx, database) -> None:
    send(pbx, RING)
    send(pbx, ANSWER)
    r = send(pbx, {"number": "+6281234567890", "text": AML, "at": (T0 + timedelta(seconds=30)).isoformat()},
             path="/api/telephony/aml")
    assert r.status_code == 200, r.text
    call = r.json()["call"]
    assert (call["lon"], call["lat"], call["accuracy_m"], call["location_source"]) == (114.84567, -1.71234, 25, "aml")
    h = pbx.get("/api/callers/081234567890").json()
    assert h["last_location"]["source"] == "aml"
    # Sent twice: one event, nothing new.
    assert send(pbx, {"number": "+6281234567890", "text": AML}, path="/api/telephony/aml").json()["duplicate"]


def test_aml_sms_before_the_ring_waits_for_its_call(pbx, database) -> None:
    r = send(pbx, {"number": "0812-3456-7890", "text": AML, "at": T0.isoformat()}, path="/api/telephony/aml")
    assert r.json()["orphan"] is True
    r = send(pbx, RING)
    assert r.json()["call"]["lon"] == 114.84567


def test_malformed_aml_is_422_naming_the_attribute(pbx, database) -> None:
    r = send(pbx, {"number": "0812", "text": 'A"ML=1;lt=abc;lg=114'}, path="/api/telephony/aml")
    assert r.status_code == 422 and r.json()["field"].startswith("text.")
    assert counts(database) == (0, 0)
