"""The crew page in Chromium at phone size (390x844) with geolocation emulation, against a real uvicorn server:
pair a unit, receive a dispatch, tap through the statuses while the dispatcher's page follows; go offline, tap
and move, come back: every tap arrives once, in order, with the phone's original time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select

from store.crew import CrewPosition, CrewTap
from store.db import make_engine, make_sessionmaker
from tests.conftest import TEST_PASSWORD
from tests.servers import start_server, stop_server
from tests.web.test_map_browser import (
    ARTIFACTS,
    BUNTOK,
    FOREIGN,
    _token,
    browser_database,
    open_call_from_list,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def crew_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server over a SpatiaLite file with layers, accounts and demo units; GPS sent every 2 s."""
    url = browser_database(tmp_path_factory.mktemp("crew"), demo_units=True)
    proc, base = start_server(url, extra_env={"SIGAP_HOST": "127.0.0.1", "SIGAP_CREW_GPS_INTERVAL_S": "2",
                                                 "SIGAP_CREW_ACK_ALERT_S": "1"})
    try:
        yield base, url
    finally:
        stop_server(proc)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _local_only(context, base: str, foreign: list[str]) -> None:
    def refuse(r) -> None:
        foreign.append(r.request.url)
        r.abort()

    context.route(FOREIGN, refuse)  # matched in Playwright's driver: local requests never come through here


def test_crew_pairs_hears_a_dispatch_taps_through_and_replays_offline_taps_in_order(chromium, crew_server) -> None:
    base, url = crew_server
    disp = {"Authorization": f"Bearer {_token(base, 'dispatcher')}"}
    units = httpx.get(f"{base}/api/units", headers=disp).json()["units"]
    unit = next(u for u in units if u["callsign"] == "DMK-BTK-1")
    foreign: list[str] = []
    errors: list[str] = []
    # The dispatcher shows a pairing code (and its QR) for the unit from the board beside the map.
    desk = chromium.new_context(viewport={"width": 1400, "height": 850}, locale="id-ID")
    _local_only(desk, base, foreign)
    board = desk.new_page()
    board.on("pageerror", lambda e: errors.append(str(e)))
    board.goto(f"{base}/login?next=/map")
    board.fill("#username", "t-dispatcher")
    board.fill("#password", TEST_PASSWORD)
    board.click("#login-submit")
    board.wait_for_selector("body[data-ready='1']", timeout=20_000)
    board.locator("tr[data-callsign='DMK-BTK-1'] button.crew-pair").first.click()
    board.wait_for_selector("#crew-pair-dialog[open] .crew-qr svg")
    code = board.get_attribute("#crew-pair-dialog .crew-code", "data-code")
    _shot(board, "crew-0-pairing-code")
    board.click("#crew-pair-dialog .crew-pair-close")
    # The phone starts where the unit is (its station) and then drives: ~45 m between fixes seconds apart.
    start = {"latitude": unit["lat"] + 0.0004, "longitude": unit["lon"]}

    phone = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                 locale="id-ID", geolocation=start,
                                 permissions=["geolocation"])
    _local_only(phone, base, foreign)
    crew = phone.new_page()
    crew.on("pageerror", lambda e: errors.append(str(e)))
    crew.goto(f"{base}/crew#kode={code.lower()}")
    crew.wait_for_selector("body[data-paired='0']")
    assert crew.input_value("#pair-code") == code
    _shot(crew, "crew-1-pair")
    crew.click("#pair-submit")
    crew.wait_for_selector("body[data-paired='1'][data-stream='1']")
    crew.wait_for_selector("#idle:not([hidden])")
    # The phone's GPS moved the unit on the map (source crew-gps).
    crew.wait_for_selector("body[data-outbox='0']")

    # A call, open on the dispatcher's map.
    call = httpx.post(f"{base}/api/incidents", headers=disp, json={
        "category": "kebakaran", "description": "Rumah terbakar dekat pasar", "caller_phone": "081234567890",
        "location": {"lon": BUNTOK[0], "lat": BUNTOK[1]}}).json()
    open_call_from_list(board, call["id"])

    started = time.monotonic()
    sent = httpx.post(f"{base}/api/incidents/{call['id']}/dispatch", headers=disp,
                      json={"unit_ids": [unit["id"]], "eta_s": {str(unit["id"]): 360}})
    assert sent.status_code == 200, sent.text
    crew.wait_for_selector("body[data-assignment='dikirim']")
    heard_s = time.monotonic() - started
    print(f"dispatch -> crew page: {heard_s * 1000:.0f} ms")
    assert call["number"] in crew.inner_text("#job-number")
    assert "Buntok" in crew.inner_text("#job-place") and "object" not in crew.inner_text("#job-place")
    assert crew.get_attribute("#job-call", "href").startswith("tel:")
    assert crew.get_attribute("#job-nav", "href").startswith("geo:")
    assert crew.is_disabled("button[data-action='tidak_tersedia']")
    _shot(crew, "crew-2-dispatched")

    # Not acknowledged yet (the alert threshold is 1 s here): the dispatcher's board raises it, with the
    # notification on the crew page's stream beside the unit, and can send it again.
    alert = ".crew-alert[data-callsign='DMK-BTK-1']"
    board.wait_for_selector(alert)
    board.wait_for_selector("tr[data-callsign='DMK-BTK-1'] .b-notify .n-sent")
    board.locator(alert).locator("button.crew-resend").first.click()
    board.wait_for_selector("body[data-crew-resent]")
    _shot(board, "crew-5-dispatcher-alert")
    row = "#units-on-call li.assignment[data-callsign='DMK-BTK-1']"
    crew.click("button[data-action='terima']")
    crew.wait_for_selector("body[data-assignment='diterima']")
    board.wait_for_selector(alert, state="detached")
    crew.click("button[data-action='menuju_lokasi']")
    crew.wait_for_selector("body[data-assignment='menuju_lokasi']")
    board.wait_for_selector(f"{row}[data-status='menuju_lokasi']")

    # Offline: a tap and a move wait in the outbox with the phone's times.
    phone.set_offline(True)
    crew.wait_for_selector("#net.off")
    crew.click("button[data-action='tiba']")
    phone.set_geolocation({"latitude": start["latitude"] + 0.0004, "longitude": start["longitude"]})
    crew.wait_for_function("() => Number(document.body.dataset.outbox) >= 2")
    _shot(crew, "crew-3-offline")
    waited = crew.eval_on_selector("body", "b => b.dataset.outbox")
    back_online = datetime.now().astimezone()
    phone.set_offline(False)
    crew.wait_for_selector("body[data-outbox='0']")
    crew.wait_for_selector("body[data-assignment='tiba']")
    board.wait_for_selector(f"{row}[data-status='tiba']")
    crew.click("button[data-action='selesai']")
    crew.wait_for_selector("#idle:not([hidden])")
    board.wait_for_selector(f"{row}[data-status='selesai']")
    _shot(crew, "crew-4-done")
    _shot(board, "crew-6-dispatcher")

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            taps = s.scalars(select(CrewTap).order_by(CrewTap.id)).all()
            positions = s.scalars(select(CrewPosition).order_by(CrewPosition.id)).all()
    finally:
        engine.dispose()
    assert [t.action for t in taps] == ["terima", "menuju_lokasi", "tiba", "selesai"]
    assert len({t.key for t in taps}) == 4
    tiba = taps[2]
    # The phone's time of the offline tap, not the time it reached the server.
    assert tiba.device_at is not None and tiba.device_at < back_online <= tiba.server_at
    assert [t.device_at for t in taps] == sorted(t.device_at for t in taps)
    assert len(positions) >= 2 and {p.source for p in positions} == {"crew-gps"}
    assert int(waited) >= 2
    assert foreign == [] and errors == []
    phone.close()
    desk.close()


def test_crew_map_draws_the_route_leg_by_leg(chromium, crew_server) -> None:
    base, _ = crew_server
    disp = {"Authorization": f"Bearer {_token(base, 'dispatcher')}"}
    units = {u["callsign"]: u for u in httpx.get(f"{base}/api/units", headers=disp).json()["units"]}
    boat, jetty = units["PRH-BTK-1"], units["PRH-MKT-1"]
    code = httpx.post(f"{base}/api/units/{boat['id']}/pairing", headers=disp).json()["code"]
    errors: list[str] = []
    foreign: list[str] = []
    phone = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                 locale="id-ID", geolocation={"latitude": boat["lat"], "longitude": boat["lon"]},
                                 permissions=["geolocation"])
    _local_only(phone, base, foreign)
    crew = phone.new_page()
    crew.on("pageerror", lambda e: errors.append(str(e)))
    crew.goto(f"{base}/crew#kode={code}")
    crew.click("#pair-submit")
    crew.wait_for_selector("body[data-paired='1'][data-stream='1']")
    call = httpx.post(f"{base}/api/incidents", headers=disp, json={
        "category": "banjir", "location": {"lon": jetty["lon"], "lat": jetty["lat"]}}).json()
    sent = httpx.post(f"{base}/api/incidents/{call['id']}/dispatch", headers=disp, json={"unit_ids": [boat["id"]]})
    assert sent.status_code == 200, sent.text
    crew.wait_for_selector("body[data-assignment='dikirim']")
    # The route from the platform's router, drawn leg by leg: the river leg is on the map, not a straight line.
    crew.wait_for_function("() => Number(document.body.dataset.legs) > 0", timeout=20_000)
    assert crew.locator("#map path[data-leg='river']").count() >= 1
    modes = crew.eval_on_selector_all("#job-legs li", "els => els.map(e => e.className)")
    assert "leg river" in modes
    assert "Sungai" in crew.inner_text("#job-legs")
    assert "lewat rute" in crew.inner_text("#job-eta")
    # The category as people call it, not its code.
    assert crew.inner_text("#job-category") == "Banjir"
    _shot(crew, "crew-route-legs")
    # English on the header's button: what the page wrote is written again.
    crew.click("#lang")
    crew.wait_for_function("() => document.getElementById('job-category').textContent === 'Flood'")
    assert crew.inner_text("button[data-action='terima']") == "Acknowledge"
    assert "River" in crew.inner_text("#job-legs") and "by route" in crew.inner_text("#job-eta")
    _shot(crew, "crew-route-legs-en")
    assert not errors and not foreign
    phone.close()


def test_admin_sets_unit_channels_and_revokes_a_phone_with_the_keyboard(chromium, crew_server) -> None:
    base, _ = crew_server
    disp = {"Authorization": f"Bearer {_token(base, 'dispatcher')}"}
    units = {u["callsign"]: u for u in httpx.get(f"{base}/api/units", headers=disp).json()["units"]}
    unit = units["DMK-BTK-2"]
    code = httpx.post(f"{base}/api/units/{unit['id']}/pairing", headers=disp).json()["code"]
    phone = httpx.post(f"{base}/api/crew/pair", json={"code": code, "label": "HP Andi"}).json()
    errors: list[str] = []
    foreign: list[str] = []
    desk = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    _local_only(desk, base, foreign)
    page = desk.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login?next=/board")
    page.fill("#username", "t-admin")
    page.fill("#password", TEST_PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_selector("body[data-crew-admin='1']", timeout=30_000)
    # The unit picked with the arrow keys, its channels typed field by field (Tab) and saved with Enter.
    options = page.eval_on_selector_all("#chan-unit option", "els => els.map(e => e.value)")
    # The unit passed over just before it has a Telegram chat, and its answer is held back until the chosen
    # unit's has arrived: the late answer must not fill the chosen unit's form (nor be saved to it).
    passed = options[options.index(str(unit["id"])) - 1]
    admin = {"Authorization": f"Bearer {_token(base, 'admin')}"}
    assert httpx.put(f"{base}/api/units/{passed}/channels", headers=admin,
                     json={"channels": [{"channel": "telegram", "address": "-100999"}]}).status_code == 200
    held: list = []
    page.route(f"{base}/api/units/{passed}/channels", lambda route: held.append(route))
    page.focus("#chan-unit")
    page.keyboard.press("Home")
    for _ in range(options.index(str(unit["id"]))):
        page.keyboard.press("ArrowDown")
    page.wait_for_selector(f"body[data-channels-unit='{unit['id']}']")
    assert len(held) == 1
    with page.expect_response(f"{base}/api/units/{passed}/channels") as late:
        held[0].continue_()
    late.value.finished()
    page.evaluate("() => new Promise((done) => setTimeout(done, 50))")  # the late answer's handler has run
    assert page.input_value("#chan-telegram") == ""
    assert page.evaluate("document.body.dataset.channelsUnit") == str(unit["id"])
    page.unroute(f"{base}/api/units/{passed}/channels")
    page.keyboard.press("Tab")
    page.keyboard.type("-100777")
    page.keyboard.press("Tab")
    page.keyboard.type("0812 1111 2222")
    page.keyboard.press("Tab")
    page.keyboard.type("+62 812-3333-4444")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-channels-saved]")
    assert "3" in page.inner_text("#chan-msg")
    saved = httpx.get(f"{base}/api/units/{unit['id']}/channels", headers=admin).json()["channels"]
    assert {c["channel"]: c["address"] for c in saved} == {
        "telegram": "-100777", "whatsapp": "6281211112222", "sms": "6281233334444"}
    # What was saved is shown back as stored (numbers as digits).
    assert page.input_value("#chan-whatsapp") == "6281211112222"
    # The phone listed by its name; revoked with two presses of Enter (the first asks).
    row = page.locator(f"#devices tr[data-device='{phone['device_id']}']")
    assert "HP Andi" in row.inner_text() and "aktif" in row.inner_text()
    row.locator("button.revoke").focus()
    page.keyboard.press("Enter")
    assert "Yakin" in row.locator("button.revoke").inner_text()
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => (document.querySelector(\"#devices tr[data-device='{phone['device_id']}']\") || {{}}).className"
        " === 'revoked'")
    assert "dicabut" in page.locator(f"#devices tr[data-device='{phone['device_id']}']").inner_text()
    crew = {"Authorization": f"Bearer {phone['token']}"}
    assert httpx.get(f"{base}/api/crew/assignment", headers=crew).status_code == 401
    _shot(page, "crew-admin-board")
    assert not errors and not foreign
    desk.close()
