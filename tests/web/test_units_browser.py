"""Units on calls in Chromium: two units sent to one call from the response plan, both on the card and on the
board, tiba recorded for one by radio, the other released with a reason, the call closed; the history and the
card name each callsign. A unit's popup names its call; the board has its own page. Screenshots in
test-artifacts/ (also 390 px wide)."""

from __future__ import annotations

import httpx
import pytest

from tests.web.test_map_browser import (
    BUNTOK,
    _token,
    offline,
    open_call_from_list,
    server,
    shot,
)

pytestmark = pytest.mark.browser
__all__ = ["offline", "server"]


def _new_call(base: str, category: str = "kebakaran") -> dict:
    r = httpx.post(f"{base}/api/incidents", headers={"Authorization": f"Bearer {_token(base, 'dispatcher')}"},
                   json={"category": category, "description": "Rumah terbakar, uji unit",
                         "location": {"lon": BUNTOK[0], "lat": BUNTOK[1]}})
    assert r.status_code == 201, r.text
    return r.json()


def test_two_units_on_one_call_radio_steps_release_and_close(offline, server: str) -> None:
    call = _new_call(server)
    ctx = offline()
    page = ctx.login("dispatcher", "/map")
    open_call_from_list(page, call["id"])
    # The plan is proposed whole and pre-selected; the dispatcher keeps two of its units and sends them at once.
    page.wait_for_selector("#recs li.rec.top")
    picks = page.locator("#recs input.pick")
    # (A house fire is P1 by the catalog: three damkar, a police car and an ambulance.)
    assert picks.count() >= 5 and page.locator("#recs input.pick:checked").count() == 5
    assert "PLN" in page.inner_text("#recs .notify")
    for i in range(picks.count()):
        picks.nth(i).set_checked(i < 2)
    assert page.inner_text("#picked-n") == "2"
    chosen = [picks.nth(i).get_attribute("aria-label") for i in range(2)]
    page.click("#send-picked")
    page.wait_for_selector("#incident-panel[data-status='dikirim']")
    for callsign in chosen:
        page.wait_for_selector(f"#units-on-call li.assignment[data-callsign='{callsign}'][data-status='dikirim']")
        # ... and on the board beside the list, with the call's number.
        row = page.locator(f"#dispatch-board tr[data-callsign='{callsign}']")
        row.wait_for()
        assert call["number"] in row.inner_text()
    first, second = chosen
    shot(page, "units-card-dispatched")
    # The first reports on scene by radio: the call follows (menuju lokasi is recorded as skipped).
    page.click(f"#units-on-call li.assignment[data-callsign='{first}'] button.a-step[data-status='tiba']")
    page.wait_for_selector(f"#units-on-call li.assignment[data-callsign='{first}'][data-status='tiba']")
    page.wait_for_selector("#incident-panel[data-status='tiba']")
    # The second is released with a reason.
    page.once("dialog", lambda d: d.accept("Dibutuhkan di kejadian lain"))
    page.click(f"#units-on-call li.assignment[data-callsign='{second}'] button.a-release")
    page.wait_for_selector(f"#units-on-call li.assignment[data-callsign='{second}'][data-status='dilepas']")
    assert "Dibutuhkan di kejadian lain" in page.inner_text(f"#units-on-call li.assignment[data-callsign='{second}']")
    page.locator(f"#dispatch-board tr[data-callsign='{second}'] .b-status", has_text="tersedia").wait_for()
    # An agency without units is informed, and the card says so.
    page.select_option("#c-agency", "pln")
    page.select_option("#c-channel", "telepon")
    page.fill("#c-contact", "ULP Buntok")
    page.click("#c-save")
    page.locator("#units-on-call .contacts li", has_text="PLN").wait_for()
    shot(page, "units-card-steps")
    # A busy unit's popup names its call and links to it.
    page.evaluate(
        "(cs) => { const e = [...SIGAP.live.units.values()].find((x) => x.data.callsign === cs);"
        " SIGAP.map.setView(e.marker.getLatLng(), 15, {animate: false}); e.marker.openPopup(); }", first)
    popup = page.locator(".leaflet-popup-content .unit-popup")
    popup.wait_for()
    assert call["number"] in popup.inner_text()
    page.evaluate("() => { SIGAP.map.closePopup(); }")
    # Close the call: selesai, then ditutup.
    page.click("#incident-panel button.tr[data-to='selesai']")
    page.wait_for_selector("#incident-panel[data-status='selesai']")
    page.click("#incident-panel button.tr[data-to='ditutup']")
    page.wait_for_selector("#disp-dialog[open]")  # closing asks why (issue 16)
    page.select_option("#disp-select", "selesai_ditangani")
    page.click("#disp-ok")
    page.wait_for_selector("#incident-panel[data-status='ditutup']")
    history = page.inner_text("#incident-panel .timeline")
    assert first in history and second in history
    units_block = page.inner_text("#units-on-call")
    assert first in units_block and second in units_block
    page.locator(f"#units-on-call li.assignment[data-callsign='{first}'][data-status='selesai']").wait_for()
    shot(page, "units-card-closed")
    # The board on its own page, and narrow (390 px).
    board = ctx.login("dispatcher", "/board")
    board.locator(f"#board tr[data-callsign='{first}']").wait_for()
    # Its levels use the configured thresholds (dikirim 3 min: amber past it, red past twice it).
    levels = board.evaluate(
        "() => [4, 7, 1].map((m) => SIGAP.board.level({status: 'dikirim',"
        " status_at: new Date(Date.now() - m * 60000).toISOString()}, Date.now()))")
    assert levels == ["amber", "red", "ok"]
    shot(board, "units-board-page")
    board.set_viewport_size({"width": 390, "height": 844})
    shot(board, "units-board-page-390")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "units-card-390")


def test_send_from_popup_search_divert_and_spread_markers(offline, server: str) -> None:
    """A unit sent from its popup, a busy one diverted from the search after confirming, units on one spot apart."""
    first, urgent = _new_call(server), _new_call(server, category="penyelamatan")
    page = offline().login("dispatcher", "/map")
    # Two engines based at the same post are drawn apart, not one on top of the other.
    boxes = page.evaluate(
        "() => [...SIGAP.live.units.values()].filter((e) => /^DMK-BTK-/.test(e.data.callsign))"
        ".map((e) => { const r = e.marker.getElement().getBoundingClientRect(); return [r.x, r.y]; })")
    assert len(boxes) == 2 and boxes[0] != boxes[1]
    open_call_from_list(page, first["id"])
    # From the map: the unit's popup offers to send it to the selected call.
    callsign = "TRC-BTK-1"
    page.evaluate(
        "(cs) => { const e = [...SIGAP.live.units.values()].find((x) => x.data.callsign === cs);"
        " SIGAP.map.setView(e.marker.getLatLng(), 15, {animate: false}); e.marker.openPopup(); }", callsign)
    page.locator(".leaflet-popup-content button.unit-send").click()
    page.wait_for_selector(f"#units-on-call li.assignment[data-callsign='{callsign}'][data-status='dikirim']")
    # The other call needs it more: found by search, busy, sent only after the divert is confirmed.
    open_call_from_list(page, urgent["id"])
    page.fill("#unit-search", "trc")
    button = page.locator("#unit-found li[data-unit] button.divert").first
    button.wait_for()
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    button.click()
    assert asked and callsign in asked[0] and first["number"] in asked[0]
    assert page.locator(f"#units-on-call li.assignment[data-callsign='{callsign}']").count() == 0  # declined
    page.once("dialog", lambda d: d.accept())
    page.locator("#unit-found button.divert").first.click()
    page.wait_for_selector(f"#units-on-call li.assignment[data-callsign='{callsign}'][data-status='dikirim']")
    # The first call shows the unit diverted; its popup now names the urgent call and links to it.
    page.evaluate(
        "(cs) => { const e = [...SIGAP.live.units.values()].find((x) => x.data.callsign === cs);"
        " e.marker.openPopup(); }", callsign)
    link = page.locator(".leaflet-popup-content a.unit-call")
    link.wait_for()
    assert urgent["number"] in link.inner_text()
    open_call_from_list(page, first["id"])
    page.wait_for_selector(f"#units-on-call li.assignment[data-callsign='{callsign}'][data-status='dialihkan']")
    page.evaluate(
        "(cs) => { const e = [...SIGAP.live.units.values()].find((x) => x.data.callsign === cs);"
        " e.marker.openPopup(); }", callsign)
    page.locator(".leaflet-popup-content a.unit-call").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{urgent['id']}']")
    shot(page, "units-divert")
