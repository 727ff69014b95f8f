"""The call card in Chromium (issue 16): cancelling needs a reason and a confirmation, a new call nobody has
taken flashes and is taken live, priority and the call log from the card. Screenshots in test-artifacts/."""

from __future__ import annotations

import httpx
import pytest

from tests.web.test_map_browser import (  # noqa: F401 - fixtures used by name
    BUNTOK,
    _token,
    chromium,
    offline,
    server,
    shot,
)

pytestmark = pytest.mark.browser


def _call(server: str, role: str = "dispatcher", **body) -> dict:  # noqa: ANN003, F811
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


def test_cancel_needs_a_reason_and_sits_apart(offline, server: str) -> None:  # noqa: ANN001, F811
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


def test_a_new_unclaimed_call_flashes_and_is_taken_live(offline, server: str) -> None:  # noqa: ANN001, F811
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


def test_priority_timer_and_call_log_from_the_card(offline, server: str) -> None:  # noqa: ANN001, F811
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


def test_history_finds_a_closed_call_by_a_word_of_its_log_and_opens_it_read_only(offline, server: str) -> None:  # noqa: ANN001, F811
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
