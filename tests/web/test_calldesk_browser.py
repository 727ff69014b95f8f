"""The call desk in Chromium against a real server: a PBX ring answered at extension 201 pops the call with its
history and flag on that operator's screen (not on the shift lead's), a prank is recorded with two keys (F2, 1),
a silent call typed by number goes to the callback list, and the calls report page draws the month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import TEST_PASSWORD
from tests.pbx_player import PbxPlayer
from tests.servers import start_server, stop_server
from tests.waiting import wait_until
from tests.web.test_map_browser import Offline, browser_database, shot

pytestmark = pytest.mark.browser
SECRET = "browser-pbx-secret-0123456789abcdef"
NUMBER = "0812 3456 7890"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A uvicorn server over a SpatiaLite file with layers and accounts, its PBX webhook secret set."""
    url = browser_database(tmp_path_factory.mktemp("calldesk"), demo_units=False)
    proc, base = start_server(url, extra_env={"SIGAP_HOST": "127.0.0.1", "SIGAP_TELEPHONY_SECRET": SECRET})
    try:
        yield base
    finally:
        stop_server(proc)


def _headers(base: str, role: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def offline(chromium, server: str) -> Iterator:
    contexts: list[Offline] = []

    def make() -> Offline:
        ctx = Offline(chromium, server)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        assert not ctx.foreign, ctx.foreign
        assert not ctx.errors, ctx.errors
        ctx.close()


def test_pbx_ring_pops_on_the_answering_operator_and_two_keys_record_a_prank(offline, server: str) -> None:
    op, sup = _headers(server, "dispatcher"), _headers(server, "supervisor")
    for _ in range(3):
        r = httpx.post(f"{server}/api/calls", json={"type": "iseng", "number": NUMBER}, headers=op)
        assert r.status_code == 201
    r = httpx.post(f"{server}/api/callers/{NUMBER}/flags", json={"reason": "Iseng berulang malam hari"}, headers=sup)
    assert r.status_code == 201
    for ext, user in (("201", "t-dispatcher"), ("202", "t-supervisor")):
        httpx.put(f"{server}/api/telephony/extensions/{ext}", json={"username": user}, headers=sup)

    operator = offline().login("dispatcher", "/map")
    lead = offline().login("supervisor", "/map")
    for page in (operator, lead):
        page.wait_for_selector("#live.on", timeout=15_000)

    player = PbxPlayer(server, SECRET)
    start = datetime.now(UTC) - timedelta(seconds=20)
    cid = "asterisk-browser-1"
    player.send({"event": "ringing", "call_id": cid, "number": NUMBER, "line": "telkomsel", "at": start.isoformat()})
    answer = player.send({"event": "answered", "call_id": cid, "extension": "201",
                          "at": (start + timedelta(seconds=4)).isoformat()}).json()
    call_id = answer["popped"]["call_id"]

    operator.wait_for_selector(f"body[data-popped='{call_id}']", timeout=15_000)
    operator.wait_for_selector("#cd-history[data-ready='1'] .cd-flag", timeout=15_000)
    history = operator.inner_text("#cd-history")
    assert "DITANDAI" in history and "Iseng berulang malam hari" in history
    assert "+6281234567890" in history and "3 iseng" in history.replace("\n", " ")
    assert operator.input_value("#f-phone") == "+6281234567890"  # the draft is pre-filled
    assert not operator.is_hidden("#incident-form")
    assert f"#{call_id}" in operator.inner_text("#cd-current")
    shot(operator, "calldesk-popped")

    # The shift lead's screen heard the same event and did not pop: the call went to extension 201.
    lead.wait_for_function(
        f"() => window.SIGAP.lastEvent && window.SIGAP.lastEvent.kind === 'call.popped' "
        f"&& window.SIGAP.lastEvent.data.call_id === {call_id}", timeout=15_000)
    assert lead.get_attribute("body", "data-popped") is None

    # Two keys: F2, then 1 (iseng).
    operator.keyboard.press("F2")
    operator.keyboard.press("1")
    operator.wait_for_selector(f"body[data-last-call='{call_id}']", timeout=15_000)
    calls = httpx.get(f"{server}/api/calls", params={"number": NUMBER}, headers=sup).json()["items"]
    typed = next(c for c in calls if c["id"] == call_id)
    assert (typed["type"], typed["operator"], typed["pbx_call_id"]) == ("iseng", "t-dispatcher", cid)
    assert operator.is_hidden("#incident-form")  # not an emergency: the draft went away
    shot(operator, "calldesk-prank-recorded")

    # A silent call typed by number: two keys again, and it waits on the callback list.
    operator.fill("#cd-number", "0525 21234")
    operator.wait_for_selector("#cd-history[data-ready='1']", timeout=15_000)
    operator.keyboard.press("F2")
    operator.keyboard.press("2")
    operator.wait_for_function("() => document.getElementById('cd-callback-count').textContent === '1'", timeout=15_000)
    operator.click("#cd-callbacks summary")
    assert "+6252521234" in operator.inner_text("#cd-callback-list")
    shot(operator, "calldesk-callbacks")

    report = offline().login("leader", "/calls")
    assert report.inner_text("body").count("Iseng") >= 1
    assert report.get_attribute("body", "data-total") == "5"
    shot(report, "calls-report")
    href = report.get_attribute("#cr-xlsx", "href")
    assert href.startswith("/api/calls/report.xlsx?")


def test_supervisor_flags_a_number_and_a_repeat_caller_joins_the_open_incident(offline, server: str) -> None:
    op = _headers(server, "dispatcher")
    number = "0811 5201 234"
    inc = httpx.post(f"{server}/api/incidents", json={"category": "kebakaran", "caller_phone": number,
                                                      "location": {"lon": 114.85, "lat": -1.71}}, headers=op).json()
    # The incident's own darurat call was recorded with it.
    assert httpx.get(f"{server}/api/calls", params={"incident_id": inc["id"]}, headers=op).json()["total"] == 1

    lead = offline().login("supervisor", "/map")
    lead.fill("#cd-number", number)
    lead.wait_for_selector("#cd-history[data-ready='1'] .cd-flag-btn", timeout=15_000)
    lead.once("dialog", lambda d: d.accept("Menelepon berulang untuk menguji"))
    lead.click(".cd-flag-btn")
    lead.wait_for_selector("#cd-history .cd-flag", timeout=15_000)
    assert "Menelepon berulang untuk menguji" in lead.inner_text("#cd-history")
    shot(lead, "calldesk-flagged-by-supervisor")

    operator = offline().login("dispatcher", "/map")
    assert operator.query_selector(".cd-flag-btn") is None  # operators see flags, never set them
    operator.fill("#cd-number", "+62 811-5201-234")
    operator.wait_for_selector("#cd-history[data-ready='1'] .cd-join", timeout=15_000)
    assert "DITANDAI" in operator.inner_text("#cd-history")  # shown, and the call is still taken
    operator.click(".cd-join")
    operator.wait_for_selector("body[data-last-call]", timeout=15_000)
    calls = httpx.get(f"{server}/api/calls", params={"incident_id": inc["id"]}, headers=op).json()
    assert calls["total"] == 2 and {c["type"] for c in calls["items"]} == {"darurat"}
    shot(operator, "calldesk-joined")


def test_an_emergency_from_a_popped_call_makes_that_call_the_incidents_call(offline, server: str) -> None:
    """F2 9 on a popped PBX call, the form sent: one call for the ring, typed darurat and linked by the server."""
    sup = _headers(server, "supervisor")
    httpx.put(f"{server}/api/telephony/extensions/203", json={"username": "t-dispatcher"}, headers=sup)
    operator = offline().login("dispatcher", "/map")
    operator.wait_for_selector("#live.on", timeout=15_000)
    player = PbxPlayer(server, SECRET)
    start = datetime.now(UTC) - timedelta(seconds=10)
    cid = "asterisk-browser-emergency"
    player.send({"event": "ringing", "call_id": cid, "number": "0813 5550 1212", "at": start.isoformat()})
    answer = player.send({"event": "answered", "call_id": cid, "extension": "203",
                          "at": (start + timedelta(seconds=3)).isoformat()}).json()
    call_id = answer["popped"]["call_id"]
    operator.wait_for_selector(f"body[data-popped='{call_id}']", timeout=15_000)

    operator.keyboard.press("F2")
    operator.keyboard.press("9")
    operator.select_option("#f-category", "kebakaran")
    operator.click("#create-incident")
    operator.wait_for_selector("#incident-form", state="hidden", timeout=15_000)

    def linked() -> dict | None:
        calls = httpx.get(f"{server}/api/calls", params={"number": "0813 5550 1212"}, headers=sup).json()["items"]
        return calls[0] if len(calls) == 1 and calls[0]["incident_id"] else None

    call = wait_until(linked, message="the popped call was not linked to the new incident")
    assert (call["id"], call["type"], call["pbx_call_id"]) == (call_id, "darurat", cid)
    incident_calls = httpx.get(f"{server}/api/calls", params={"incident_id": call["incident_id"]}, headers=sup).json()
    assert incident_calls["total"] == 1  # one ring, one call: no second darurat call for the incident
    shot(operator, "calldesk-emergency-from-pop")
