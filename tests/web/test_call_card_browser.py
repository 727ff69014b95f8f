"""The call card in Chromium (issue 16): cancelling needs a reason and a confirmation, a new call nobody has
taken flashes and is taken live, priority and the call log from the card. Screenshots in test-artifacts/."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import TEST_PASSWORD
from tests.web.test_map_browser import (  # noqa: F401 - fixtures used by name
    ARTIFACTS,
    BUNTOK,
    _token,
    offline,
    server,
    shot,
)

pytestmark = pytest.mark.browser


def _call(server: str, role: str = "dispatcher", **body) -> dict:  # noqa: F811
    """Record a call over the API as `role`."""
    payload = {"category": "kebakaran", "description": "Uji kartu panggilan",
               "location": {"lon": BUNTOK[0], "lat": BUNTOK[1]}} | body
    r = httpx.post(server + "/api/incidents", json=payload,
                   headers={"Authorization": f"Bearer {_token(server, role)}"})
    assert r.status_code == 201, r.text
    return r.json()


def _get(server: str, incident_id: int) -> dict:  # noqa: F811
    r = httpx.get(f"{server}/api/incidents/{incident_id}",
                  headers={"Authorization": f"Bearer {_token(server, 'leader')}"})
    return r.json()


def test_cancel_needs_a_reason_and_sits_apart(offline, server: str) -> None:  # noqa: F811
    """Cancel is not among the status buttons; its dialog refuses to go on without a disposition."""
    inc = _call(server)
    page = offline().login("dispatcher", "/map")
    page.locator(f"#incident-list li[data-id='{inc['id']}']").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{inc['id']}']")
    assert page.locator(".transitions button.tr[data-to='batal']").count() == 0
    assert page.locator(".danger-zone #cancel-call").count() == 1
    page.click("#cancel-call")
    page.wait_for_selector("#disp-dialog[open]")
    page.click("#disp-ok")  # no reason chosen
    page.wait_for_selector("#disp-error:not([hidden])")
    assert "Pilih alasan" in page.inner_text("#disp-error")
    shot(page, "callcard-cancel-reason")
    assert _get(server, inc["id"])["status"] == "baru"
    page.select_option("#disp-select", "iseng")
    page.fill("#disp-note", "Anak-anak main telepon")
    page.click("#disp-ok")
    page.wait_for_selector("#incident-panel[data-status='batal']")
    assert "Iseng / prank" in page.inner_text("#disposition")
    got = _get(server, inc["id"])
    assert (got["status"], got["disposition"]) == ("batal", "iseng")
    assert got["transitions"][-1]["note"] == "Anak-anak main telepon"
    # Going back from the dialog changes nothing.
    other = _call(server, location={"lon": 114.9, "lat": -1.8})
    page.locator(f"#incident-list li[data-id='{other['id']}']").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{other['id']}']")
    page.click("#cancel-call")
    page.click("#disp-back")
    assert page.locator("#disp-dialog").count() == 0 and _get(server, other["id"])["status"] == "baru"
    shot(page, "callcard-cancelled")


def test_a_new_unclaimed_call_flashes_and_is_taken_live(offline, server: str) -> None:  # noqa: F811
    """A call recorded by someone else flashes with a toast; taking it shows 'ditangani' on another screen."""
    page = offline().login("dispatcher", "/map")
    watcher = offline().login("leader", "/map")
    inc = _call(server, role="supervisor", category="medis", description="Pingsan di dermaga")
    row = page.locator(f"#incident-list li.flash.unclaimed[data-id='{inc['id']}']")
    row.wait_for()
    assert "belum diambil" in row.inner_text()
    page.locator("#toasts .toast.warn", has_text=inc["number"]).wait_for()
    shot(page, "callcard-new-call")
    row.click()
    page.wait_for_selector(f"#incident-panel[data-incident='{inc['id']}']")
    page.click("#claim-call")
    page.locator("#claim-line", has_text="ditangani: t-dispatcher").wait_for()
    page.locator(f"#incident-list li.claimed[data-id='{inc['id']}']:not(.flash)").wait_for()
    watcher.locator(f"#incident-list li[data-id='{inc['id']}']", has_text="ditangani: t-dispatcher").wait_for()
    assert _get(server, inc["id"])["claimed_by"] == "t-dispatcher"
    shot(watcher, "callcard-taken-watcher")


def test_priority_timer_and_call_log_from_the_card(offline, server: str) -> None:  # noqa: F811
    """The list puts P1 first; the card changes priority and appends notes shown newest first, inert."""
    low = _call(server, category="infrastruktur", location={"lon": 114.88, "lat": -1.74})
    high = _call(server, category="kebakaran", location={"lon": 114.87, "lat": -1.73})
    page = offline().login("dispatcher", "/map")
    ids = page.eval_on_selector_all("#incident-list li[data-id]", "els => els.map(e => Number(e.dataset.id))")
    assert ids.index(high["id"]) < ids.index(low["id"])
    assert page.locator(f"#incident-list li[data-id='{high['id']}'] .prio").inner_text() == "P1"
    page.locator(f"#incident-list li[data-id='{low['id']}']").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{low['id']}']")
    page.click("button.prio-btn[data-prio='P1']")
    page.wait_for_selector("button.prio-btn.on[data-prio='P1']")
    assert _get(server, low["id"])["priority"] == "P1"
    for text in ("Pelapor: jalan amblas 2 m", "<img src=x onerror=alert(1)> koreksi: 3 m"):
        page.fill("#note-text", text)
        page.click("#note-save")
        page.locator("#notes li .note-text", has_text=text).wait_for()
    notes = page.eval_on_selector_all("#notes li .note-text", "els => els.map(e => e.textContent)")
    assert notes == ["<img src=x onerror=alert(1)> koreksi: 3 m", "Pelapor: jalan amblas 2 m"]
    assert page.locator("#notes img").count() == 0
    assert page.locator(f"#incident-list li[data-id='{low['id']}'] .timer").count() == 1
    shot(page, "callcard-notes")


def test_a_note_being_typed_survives_a_live_update_of_the_call(offline, server: str) -> None:  # noqa: F811
    """Another operator changes the call while this one types a note: the card redraws, the typing stays."""
    inc = _call(server, category="infrastruktur", location={"lon": 114.881, "lat": -1.741})
    page = offline().login("dispatcher", "/map")
    page.locator(f"#incident-list li[data-id='{inc['id']}']").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{inc['id']}']")
    page.click("#note-text")
    page.keyboard.type("Pelapor bilang jembatan")
    r = httpx.patch(f"{server}/api/incidents/{inc['id']}", json={"priority": "P1", "version": inc["version"]},
                    headers={"Authorization": f"Bearer {_token(server, 'supervisor')}"})
    assert r.status_code == 200, r.text
    page.wait_for_selector("#incident-panel button.prio-btn.on[data-prio='P1']")  # the card was redrawn
    page.keyboard.type(" retak")  # the cursor is still in the note, at its end
    assert page.input_value("#note-text") == "Pelapor bilang jembatan retak"


def test_history_finds_a_closed_call_by_a_word_of_its_log_and_opens_it_read_only(offline, server: str) -> None:  # noqa: F811
    """Riwayat: a cancelled call found by a note's word opens read-only with its timeline; the search box
    finds a call by its number and by the caller's phone."""
    headers = {"Authorization": f"Bearer {_token(server, 'dispatcher')}"}
    inc = _call(server, category="banjir", caller_phone="0812-7777-4321", location={"lon": 114.86, "lat": -1.72})
    httpx.post(f"{server}/api/incidents/{inc['id']}/notes", json={"text": "Pelapor minta perahu karet"},
               headers=headers)
    r = httpx.post(f"{server}/api/incidents/{inc['id']}/transition",
                   json={"to": "batal", "version": inc["version"], "disposition": "ditangani_instansi_lain"},
                   headers=headers)
    assert r.status_code == 200, r.text
    page = offline().login("dispatcher", "/map")
    page.click("#tab-history")
    page.fill("#h-q", "karet")
    page.click("#h-search")
    row = page.locator(f"#history-list li[data-id='{inc['id']}']")
    row.wait_for()
    assert page.locator("#history-list li[data-id]").count() == 1
    assert "Ditangani instansi lain" in row.inner_text()
    row.click()
    page.wait_for_selector(f"#incident-panel[data-incident='{inc['id']}'][data-status='batal']")
    panel = page.locator("#incident-panel")
    assert "Pelapor minta perahu karet" in panel.inner_text()
    assert page.locator("#incident-panel .timeline li").count() == 2
    assert panel.locator("#note-form, #cancel-call, button.tr, button.prio-btn:not([disabled])").count() == 0
    shot(page, "callcard-history")
    # The search box: a call number, then a phone number written differently from how it was stored.
    page.click("#panel-close")
    for query in (inc["number"], "+62 812 7777 4321"):
        page.fill("#desa-search", query)
        page.press("#desa-search", "Enter")
        page.wait_for_selector(f"#incident-panel[data-incident='{inc['id']}']")
        page.click("#panel-close")


def _click_map(page, lon: float, lat: float) -> None:
    """Click the map at a point, zoomed in so no marker is hit."""
    point = page.evaluate(
        "([lon, lat]) => { SIGAP.map.setView([lat, lon], 16, {animate: false});"
        " const p = SIGAP.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lon, lat],
    )
    page.locator("#map").click(position={"x": point[0], "y": point[1]})


def test_a_stray_click_does_not_move_a_located_draft(offline, server: str) -> None:  # noqa: F811
    """Drafted by village name, a later map click asks "Pindahkan lokasi?"; "Tetap" keeps the place."""
    page = offline().login("dispatcher", "/map")
    page.fill("#desa-search", "Pendang")
    page.press("#desa-search", "Enter")
    page.wait_for_selector("#locate-answer[data-ready='1']")
    assert "Pendang" in page.inner_text("#locate-answer")
    _click_map(page, 114.95, -1.60)
    page.wait_for_selector("#move-ask:not([hidden])")
    assert "Pindahkan lokasi" in page.inner_text("#move-ask")
    shot(page, "callcard-move-ask")
    page.click("#move-no")
    assert page.locator("#move-ask").is_hidden()
    assert "Pendang" in page.inner_text("#locate-answer")
    assert page.evaluate("SIGAP.dispatcher.state.draftPlace.name") == "Pendang"
    _click_map(page, 114.95, -1.60)
    page.click("#move-yes")
    page.wait_for_function("() => SIGAP.dispatcher.state.draftPlace === null && "
                           "Math.abs(SIGAP.dispatcher.state.draftAt.lng - 114.95) < 0.001")
    page.click("#cancel-draft")


def test_open_calls_nearby_are_a_bold_banner_before_create(offline, server: str) -> None:  # noqa: F811
    """A draft 300 m from an open call of another category shows it; "gabungkan" adds the caller to it."""
    near = _call(server, category="kecelakaan_lalu_lintas", location={"lon": 114.80, "lat": -1.90})
    page = offline().login("dispatcher", "/map")
    _click_map(page, 114.8027, -1.90)
    banner = page.locator("#dup-banner")
    banner.locator(f"li[data-id='{near['id']}']").wait_for()
    page.select_option("#f-category", "medis")
    page.fill("#f-phone", "0813-5555-0000")
    page.fill("#f-description", "Korban kecelakaan pingsan")
    page.click("#create-incident")  # the banner is not answered yet: nothing is created
    page.wait_for_selector("#form-error:not([hidden])")
    assert "gabungkan" in page.inner_text("#form-error")
    shot(page, "callcard-dup-banner")
    banner.locator(f"button.dup-join[data-id='{near['id']}']").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{near['id']}']")
    got = _get(server, near["id"])
    assert "0813-5555-0000" in got["notes"][0]["text"] and "Korban kecelakaan pingsan" in got["notes"][0]["text"]
    assert page.locator("#incident-form").is_hidden()
    # "Tetap buat baru" lets the call be created.
    _click_map(page, 114.8027, -1.90)
    page.locator("#dup-new").wait_for()
    page.click("#dup-new")
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        page.click("#create-incident")
    assert resp.value.status == 201


def test_a_garbage_aml_is_refused_in_the_preview_and_a_stale_fix_is_flagged(offline, server: str) -> None:  # noqa: F811
    page = offline().login("dispatcher", "/map")
    page.click("#aml-open")
    page.fill("#aml-text", 'A"ML=1;lt=-1.7;rd=20;ml=5')
    page.click("#aml-use")
    page.wait_for_selector("#aml-error:not([hidden])")
    assert "lg" in page.inner_text("#aml-error") and page.locator("#incident-form").is_hidden()
    page.fill("#aml-text", 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20200101000000;lc=68;pm=G')
    page.click("#aml-use")
    page.wait_for_selector("#locate-answer .aml-age.stale")
    assert page.locator("#aml-error").is_hidden()
    assert "hari" in page.inner_text("#locate-answer .aml-age")  # a fix years old is told in days
    shot(page, "callcard-aml-stale")


def test_keyboard_only_dispatch_by_village_name(offline, server: str) -> None:  # noqa: F811
    """No mouse: "/" to the search box, the village, Enter, the category's number, Enter, "d" dispatches the
    proposed unit. Markers are not in the tab order; the list rows are; "?" shows the shortcuts."""
    page = offline().login("dispatcher", "/map")
    assert page.locator(".leaflet-marker-icon[tabindex='0']").count() == 0
    assert page.locator(".leaflet-marker-icon").count() > 0
    keys = 0

    def press(key: str) -> None:
        nonlocal keys
        page.keyboard.press(key)
        keys += 1

    page.locator("body").focus()
    press("?")
    page.wait_for_selector("#keys-dialog[open]")
    assert "Kirim unit usulan" in page.inner_text("#keys-dialog")
    shot(page, "callcard-keys")
    press("Escape")
    keys = 0
    press("/")
    assert page.evaluate("document.activeElement.id") == "desa-search"
    for ch in "Tabak Kanilan":
        press(ch if ch != " " else "Space")
    press("Enter")
    page.wait_for_selector("#locate-answer[data-ready='1']")
    page.wait_for_function("() => document.activeElement.id === 'f-category'")
    medis = 1 + [c["code"] for c in httpx.get(server + "/api/categories", headers={
        "Authorization": f"Bearer {_token(server, 'leader')}"}).json()["categories"]].index("medis")
    press(str(medis % 10))
    assert page.input_value("#f-category") == "medis"
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        press("Enter")
    incident = resp.value.json()
    assert resp.value.status == 201 and incident["desa_name"] == "Tabak Kanilan"
    page.wait_for_selector(f"#incident-panel[data-incident='{incident['id']}']")
    page.wait_for_selector("#recs li.rec.top button.dispatch")
    press("d")
    page.wait_for_selector("#incident-panel[data-status='dikirim']")
    assert keys <= 25, keys
    assert _get(server, incident["id"])["status"] == "dikirim"
    # The list is reachable by keyboard: J moves to the next call and opens it.
    press("j")
    page.wait_for_function("() => document.activeElement.id === 'incident-panel'")
    assert page.locator("#incident-list li[data-id][tabindex='0']").count() >= 1
    shot(page, "callcard-keyboard-dispatch")


def test_the_units_stay_usable_while_a_live_update_refreshes_them(offline, server: str) -> None:  # noqa: F811
    """A live update of the open call (here another operator changing its priority) redraws the card and asks
    for the units again; until the answer comes, the units shown stay, and "d" sends the proposed one. (They
    were blanked while the new list loaded: a "d" pressed then did nothing.)"""
    incident = _call(server, category="medis")
    page = offline().login("dispatcher", "/map")
    page.click(f"#incident-list li[data-id='{incident['id']}']")
    page.wait_for_selector(f"#incident-panel[data-incident='{incident['id']}'] #recs li.rec.top button.dispatch")
    held: list = []  # the units asked for after the update, answered only after "d"
    recommendations = re.compile(r".*/api/incidents/\d+/recommendations.*")
    page.route(recommendations, lambda route: held.append(route))
    with page.expect_request(recommendations):  # the redrawn card asks for the units again
        r = httpx.patch(f"{server}/api/incidents/{incident['id']}",
                        json={"version": incident["version"], "priority": "P3"},
                        headers={"Authorization": f"Bearer {_token(server, 'supervisor')}"})
        assert r.status_code == 200, r.text
    page.wait_for_selector("#incident-panel button.prio-btn.prio-P3[aria-pressed='true']")
    page.locator("#incident-panel").focus()
    page.keyboard.press("d")
    page.wait_for_selector("#incident-panel[data-status='dikirim']")
    for route in held:
        route.continue_()
    assert _get(server, incident["id"])["status"] == "dikirim"


def test_phone_layout_shows_map_and_panel(chromium, server: str) -> None:  # noqa: F811
    """At 390x844 the map is above and wide, the panel below, and the header's logout is on screen."""
    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, locale="id-ID", is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(f"{server}/login?next=/map")
        page.fill("#username", "t-dispatcher")
        page.fill("#password", TEST_PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        box = page.locator("#map").bounding_box()
        side = page.locator("#side").bounding_box()
        logout = page.locator("#logout").bounding_box()
        assert box["width"] >= 380 and box["height"] >= 220
        assert side["y"] >= box["y"] + box["height"] - 1 and side["width"] >= 370
        assert logout["x"] + logout["width"] <= 390 and logout["y"] >= 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 391
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "callcard-phone.png"))
        page.fill("#desa-search", "Pendang")
        page.press("#desa-search", "Enter")
        page.wait_for_selector("#locate-answer[data-ready='1']")
        page.locator("#create-incident").scroll_into_view_if_needed()
        assert page.locator("#create-incident").is_visible()
        page.screenshot(path=str(ARTIFACTS / "callcard-phone-draft.png"))
    finally:
        ctx.close()


def test_leader_page_at_360_px_keeps_charts_readable(chromium, server: str) -> None:  # noqa: F811
    """At 360 px the leader's tiles go two a row and each chart takes the width; nothing runs off the side."""
    ctx = chromium.new_context(viewport={"width": 360, "height": 780}, locale="id-ID")
    try:
        page = ctx.new_page()
        page.goto(f"{server}/login?next=/leader")
        page.fill("#username", "t-leader")
        page.fill("#password", TEST_PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"{server}/leader")
        page.wait_for_selector(".tiles")
        assert page.evaluate("document.documentElement.scrollWidth") <= 361
        logout = page.locator("#logout").bounding_box()
        assert logout["x"] + logout["width"] <= 360
        widths = page.eval_on_selector_all(".panels > *", "els => els.map(e => e.getBoundingClientRect().width)")
        assert widths and min(widths) >= 300
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "callcard-leader-360.png"), full_page=True)
    finally:
        ctx.close()
