"""The map pages in a real browser: Debian's Chromium driven by Playwright against a real uvicorn server.

Every request to a host other than the test server is aborted and recorded; each test asserts none was made.
Screenshots of every page land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import h3
import httpx
import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError

from api.config import PROJECT_ROOT
from store.db import make_engine, make_sessionmaker, session_scope
from store.layers import read_layers
from store.units import seed_demo_units
from tests.conftest import TEST_PASSWORD, filled_test_database
from tests.servers import start_server, stop_server

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# A point in Buntok Kota (Dusun Selatan), on the derived network, near the demo units of Buntok.
BUNTOK = (114.8445, -1.7065)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A uvicorn server on a free localhost port over a SpatiaLite file with layers, accounts and demo units."""
    if not (PROJECT_ROOT / "web/map/node_modules/leaflet/dist/leaflet.js").is_file():
        pytest.fail("Leaflet is not installed: run `make web` (npm ci in web/map)")
    url = browser_database(tmp_path_factory.mktemp("map"), demo_units=True)
    proc, base = start_server(url, extra_env={"SIGAP_HOST": "127.0.0.1"})
    try:
        yield base
    finally:
        stop_server(proc)


def browser_database(tmp_dir: Path, *, demo_units: bool) -> str:
    """A SpatiaLite file with the bundled layers and the test accounts (a copy of the suite's filled template),
    and the demo units when asked; its URL. Removed with `tmp_dir`."""
    url, _ = filled_test_database("spatialite", tmp_dir)
    if demo_units:
        engine = make_engine(url)
        try:
            with session_scope(make_sessionmaker(engine)) as session:
                seed_demo_units(session, read_layers(session))
        finally:
            engine.dispose()
    return url


# Any URL but this machine's own (and data:/blob: ones, which never leave the page).
FOREIGN = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)([:/]|$)|data:|blob:)")


class Offline:
    """A browser context whose every request to another host is aborted and remembered."""

    def __init__(self, browser, base: str) -> None:
        self.base = base
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 850}, locale="id-ID")
        # Matched by Playwright's driver: the page's own requests never make the round trip to this process
        # (routing every request through Python was a sixth of a browser test's CPU).
        self.context.route(FOREIGN, self._refuse)

    def _refuse(self, route) -> None:
        self.foreign.append(route.request.url)
        route.abort()

    def login(self, role: str, path: str):
        """A page logged in through the login form, opened at `path` and fully drawn.

        Issue 14 on every page a test opens: a Content-Security-Policy violation reported in the console is an
        error of the test, and the page holds no token (its writes go with the HttpOnly cookie).
        """
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(f"CSP: {m.text}")
                if "Content Security Policy" in m.text else None)
        login = page.goto(f"{self.base}/login?next={path}")
        assert login is not None and "script-src 'self'" in login.headers["content-security-policy"]
        page.fill("#username", f"t-{role}")
        page.fill("#password", TEST_PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"{self.base}{path}")
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        token = next(c["value"] for c in self.context.cookies() if c["name"] == "sigap_token")
        assert token not in page.content()
        assert page.evaluate("() => 'token' in SIGAP.CONFIG") is False
        return page

    def close(self) -> None:
        """Close the context."""
        self.context.close()


@pytest.fixture
def offline(chromium, server: str) -> Iterator:
    """Make offline browser contexts; asserts at the end that none reached another host."""
    made: list[Offline] = []

    def make() -> Offline:
        ctx = Offline(chromium, server)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()
    assert [u for c in made for u in c.foreign] == []
    assert [e for c in made for e in c.errors] == []


def shot(page, name: str) -> None:
    """Write a screenshot to test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _token(base: str, role: str) -> str:
    # A generous bound, not a measurement: a login hashes with argon2, slow on a machine busy with other tests.
    r = httpx.post(f"{base}/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD}, timeout=60)
    r.raise_for_status()
    return r.json()["access_token"]


def _units(base: str) -> list[dict]:
    return httpx.get(base + "/api/units", headers={"Authorization": f"Bearer {_token(base, 'leader')}"}).json()["units"]


def _background(page, selector: str) -> str:
    """The painted background colour of the first element matching `selector` (what the eye sees)."""
    return page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor")


def legend_colour(page, label: str) -> str:
    """The swatch colour the map's legend shows beside `label`."""
    item = page.locator("#layer-panel .legend .lg-item", has_text=label).first
    return item.locator(".sq, .dot, .ring").first.evaluate("el => getComputedStyle(el).backgroundColor")


def open_call_from_list(page, incident_id: int) -> None:
    """Click the call's row in the open-calls list, as an operator does, and wait for its panel."""
    page.locator(f"#incident-list li[data-id='{incident_id}']").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{incident_id}']")


def answer_banner(page) -> None:
    """Open calls nearby (issue 16) are answered with "tetap buat baru" when the banner shows: earlier tests of
    this module leave open calls around, and this module's tests are about creating a new one."""
    page.wait_for_function(
        "() => !SIGAP.dispatcher.state.draftAt || document.getElementById('dup-banner').dataset.checked === '1'"
    )
    if page.locator("#dup-new").is_visible():
        page.click("#dup-new")


PAGES = [("dispatcher", "/map"), ("planner", "/planner"), ("leader", "/leader"), ("dispatcher", "/board"),
         ("supervisor", "/calls")]


def test_every_page_is_served_under_the_enforced_csp(server: str) -> None:
    """Issue 14: each page comes with the policy that forbids inline script (`Offline.login` then checks, on every
    page a test opens, that Chromium reports no violation and that the page holds no token)."""
    for role, path in PAGES:
        with httpx.Client(base_url=server) as client:
            r = client.post("/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
            assert r.status_code == 200 and "sigap_token" in client.cookies
            page = client.get(path)
            assert page.status_code == 200, path
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_an_inline_script_would_be_blocked(offline, server: str) -> None:
    """The policy is really enforced: a script injected into the page's markup does not run and is reported."""
    page = offline().context.new_page()
    page.goto(f"{server}/login")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text, timeout=10_000) as msg:
        page.evaluate("""() => { const d = document.createElement('div');
            d.innerHTML = '<img src=x onerror="window.__pwned = 1">'; document.body.appendChild(d); }""")
    assert "script-src" in msg.value.text
    assert page.evaluate("() => window.__pwned === undefined")


def test_unauthenticated_pages_go_to_login(server: str) -> None:
    """Without the cookie every page redirects to /login; the login page itself loads."""
    for path in ("/", "/map", "/planner", "/leader"):
        r = httpx.get(server + path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    assert httpx.get(server + "/login").status_code == 200


def test_the_offline_browser_refuses_and_records_every_other_host(offline, server: str) -> None:
    """The guard every browser test relies on: a request to another host is refused and remembered (the
    fixture then fails the test), one to this machine goes through."""
    ctx = offline()
    page = ctx.context.new_page()
    assert page.goto(f"{server}/login").status == 200
    for url in ("https://tile.openstreetmap.org/0/0/0.png", "http://127.0.0.1.example.org/x"):
        with pytest.raises(PlaywrightError):
            page.goto(url)
    assert ctx.foreign == ["https://tile.openstreetmap.org/0/0/0.png", "http://127.0.0.1.example.org/x"]
    ctx.foreign.clear()


def test_map_renders_layers_and_legend(offline, server: str) -> None:
    """The dispatcher map draws boundaries, rivers, network, units, a layer switcher and a legend."""
    page = offline().login("dispatcher", "/map")
    rows = page.eval_on_selector_all("#layer-panel .lp-row", "els => els.map(e => e.dataset.layer)")
    for layer in ("kabupaten", "kecamatan", "desa", "rivers", "units", "incidents", "route"):
        assert layer in rows
    assert page.locator(".lbl-kec").count() == 6
    page.click("#layer-panel .legend summary")
    legend = page.inner_text("#layer-panel .legend")
    assert "Kebakaran" in legend and "Ambulans" in legend
    # The units of the demo seed are drawn, each as a marker.
    units = httpx.get(server + "/api/units", headers={"Authorization": f"Bearer {_token(server, 'leader')}"}).json()
    assert page.locator(".unit-icon").count() == sum(u["lon"] is not None for u in units["units"]) > 0
    # Unticking a layer removes it from the map.
    page.locator("#layer-panel .lp-row[data-layer='units'] input").uncheck()
    assert page.locator(".unit-icon").count() == 0
    page.locator("#layer-panel .lp-row[data-layer='units'] input").check()
    # The derived network is labelled approximate.
    page.wait_for_selector("#layer-panel .lp-row[data-layer='network']")
    assert "perkiraan" in page.inner_text("#layer-panel .lp-row[data-layer='network']")
    shot(page, "map")


def test_dispatcher_creates_incident_by_click_and_dispatches(offline, server: str) -> None:
    """Click the map -> locate answer -> create; a second page hears it over SSE; dispatch the top unit."""
    ctx = offline()
    page = ctx.login("dispatcher", "/map")
    watcher = offline().login("leader", "/map")
    assert watcher.locator("#incident-form").count() == 0  # leaders get no write controls
    watcher_lists: list[str] = []  # every incident list the watcher fetches: it must not poll for the new call
    watcher.on("request", lambda r: watcher_lists.append(r.url) if "/api/incidents?" in r.url else None)
    # Close in, so the click lands on the map and not on a unit marker nearby.
    point = page.evaluate(
        "([lon, lat]) => { SIGAP.map.setView([lat, lon], 16, {animate: false});"
        " const p = SIGAP.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        list(BUNTOK),
    )
    page.locator("#map").click(position={"x": point[0], "y": point[1]})
    page.wait_for_selector("#locate-answer[data-ready='1']")
    answer = page.inner_text("#locate-answer")
    assert "Buntok" in answer and "Dusun Selatan" in answer and "Di dalam Barito Selatan" in answer
    page.select_option("#f-category", "medis")
    page.fill("#f-description", "Warga pingsan di pasar, uji peramban")
    answer_banner(page)
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        page.click("#create-incident")
    incident = resp.value.json()
    assert resp.value.status == 201 and incident["desa_name"] == "Buntok Kota"
    # The other page was open before the call: it learns of it through the live stream, with no reload or list
    # fetch: the call's marker appears on its map and its row in its list of open calls.
    watcher.locator(f".leaflet-marker-pane .inc-icon[title='{incident['number']}']").wait_for()
    watcher.locator(f"#incident-list li[data-id='{incident['id']}']", has_text=incident["number"]).wait_for()
    assert watcher_lists == []
    page.wait_for_selector(f"#incident-panel[data-incident='{incident['id']}']")
    top = page.locator("#recs li.rec.top")
    top.wait_for()
    assert page.locator(".leaflet-route-pane path").count() > 0  # the route to the top unit is drawn
    unit_id = int(top.get_attribute("data-unit"))
    top.locator("button.dispatch").click()
    page.wait_for_selector("#incident-panel[data-status='dikirim']")
    assert "Panggilan → kirim" in page.inner_text("#incident-panel .intervals")  # the response interval so far
    r = httpx.get(
        f"{server}/api/incidents/{incident['id']}", headers={"Authorization": f"Bearer {_token(server, 'leader')}"}
    )
    assert r.json()["status"] == "dikirim"
    # The unit turns busy on the watcher's map too, without a reload: its marker takes the legend's "bertugas" colour.
    callsign = next(u["callsign"] for u in _units(server) if u["id"] == unit_id)
    marker = f".leaflet-marker-pane .unit-icon[title='{callsign}'] span"
    busy = legend_colour(watcher, "bertugas")
    assert busy != legend_colour(watcher, "tersedia")
    watcher.wait_for_function(
        "([sel, colour]) => getComputedStyle(document.querySelector(sel)).backgroundColor === colour",
        arg=[marker, busy],
    )
    shot(page, "dispatch")
    shot(watcher, "map-watcher")


def test_dispatcher_records_a_call_without_location_and_locates_it_later(offline, server: str) -> None:
    """A caller who cannot say where: the call is recorded as perlu_lokasi, then placed with one map click."""
    page = offline().login("dispatcher", "/map")
    page.click("#no-location")
    page.wait_for_selector("#incident-form:not([hidden]) #locate-answer[data-ready='1']")
    assert "Perlu lokasi" in page.inner_text("#locate-answer")
    page.select_option("#f-category", "medis")
    page.fill("#f-caller", "Siti")
    page.fill("#f-phone", "0812-3456-7890")
    answer_banner(page)
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        page.click("#create-incident")
    call = resp.value.json()
    assert resp.value.status == 201 and call["status"] == "perlu_lokasi" and call["lon"] is None
    page.wait_for_selector(f"#incident-panel[data-incident='{call['id']}'][data-status='perlu_lokasi']")
    page.wait_for_selector(f"#incident-list li.needs-location[data-id='{call['id']}']")  # not on the map: flagged
    assert page.get_attribute("#incident-panel a[href^='tel:']", "href") == "tel:081234567890"

    page.click("#pick-location")
    where = (114.86, -1.73)  # Hilir Seper, Dusun Selatan: away from the other tests' calls and the units
    point = page.evaluate(
        "([lon, lat]) => { SIGAP.map.setView([lat, lon], 16, {animate: false});"
        " const p = SIGAP.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        list(where),
    )
    page.locator("#map").click(position={"x": point[0], "y": point[1]})
    page.wait_for_selector(f"#incident-panel[data-incident='{call['id']}'][data-status='baru']")
    headers = {"Authorization": f"Bearer {_token(server, 'leader')}"}
    located = httpx.get(f"{server}/api/incidents/{call['id']}", headers=headers).json()
    assert located["status"] == "baru" and located["location_source"] == "coordinates"
    assert abs(located["lon"] - where[0]) < 1e-3 and abs(located["lat"] - where[1]) < 1e-3
    assert located["desa_name"] == "Hilir Seper"
    assert [t["status"] for t in located["transitions"]] == ["perlu_lokasi", "baru"]
    assert "koordinat" in page.inner_text("#incident-panel")
    # No new call was started by that click: the form stays closed.
    assert page.locator("#incident-form").is_hidden()
    shot(page, "located-later")


def test_dispatcher_places_a_call_by_name(offline, server: str) -> None:
    """A typed name goes through the tolerant place search; an ambiguous one offers its candidates."""
    page = offline().login("dispatcher", "/map")
    page.fill("#desa-search", "patas")
    page.press("#desa-search", "Enter")
    page.wait_for_selector("#place-candidates button.cand")
    assert {b.inner_text().split(" (")[0] for b in page.locator("#place-candidates button.cand").all()} >= {
        "Patas I", "Patas II"}
    page.locator("#place-candidates button.cand", has_text="Patas II").click()
    page.wait_for_selector("#incident-form:not([hidden]) #locate-answer[data-ready='1']")
    assert "pusat Patas II" in page.inner_text("#locate-answer")
    page.select_option("#f-category", "kebakaran")
    answer_banner(page)
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        page.click("#create-incident")
    call = resp.value.json()
    assert resp.value.status == 201 and call["location_source"] == "place"
    assert call["location"]["place"]["name"] == "Patas II" and call["accuracy_m"] > 100
    page.wait_for_selector(f"#incident-panel[data-incident='{call['id']}']")
    assert "nama tempat: Patas II" in page.inner_text("#incident-panel")
    # A small typo in a kecamatan name still finds it.
    page.fill("#desa-search", "Gn Bintang Awai")
    page.press("#desa-search", "Enter")
    page.wait_for_selector("#locate-answer[data-ready='1']")
    page.wait_for_function("() => document.getElementById('locate-answer').innerText.includes('Bintang Awai')")
    shot(page, "place-search")


def test_a_place_the_server_cannot_find_offers_its_suggestions(offline, server: str) -> None:
    """A call whose place name the server does not know (404) shows the places it suggests, not a generic error;
    one click drafts the call at a suggestion, with the details already typed, and it is recorded there."""
    page = offline().login("dispatcher", "/map")

    def misspelt(route) -> None:
        body = json.loads(route.request.post_data)
        body["location"] = {"place": "Buntoq"}
        route.continue_(post_data=json.dumps(body))

    page.route("**/api/incidents", misspelt, times=1)
    page.fill("#desa-search", "buntok kota")
    page.press("#desa-search", "Enter")
    page.wait_for_selector("#incident-form:not([hidden]) #locate-answer[data-ready='1']")
    page.select_option("#f-category", "kebakaran")
    page.fill("#f-description", "Asap dari gudang, uji saran tempat")
    answer_banner(page)
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        page.click("#create-incident")
    assert resp.value.status == 404
    page.wait_for_selector("#form-candidates button.cand")
    error = page.inner_text("#form-error")
    assert "Buntoq" in error and "tidak ditemukan" in error and "Layanan belum tersedia" not in error
    offered = [b.inner_text() for b in page.locator("#form-candidates button.cand").all()]
    assert offered[0].startswith("Buntok Kota") and len(offered) == len(resp.value.json()["suggestions"])
    shot(page, "place-suggestions")
    page.locator("#form-candidates button.cand", has_text="Buntok Kota").click()
    page.wait_for_function("() => document.getElementById('locate-answer').innerText.includes('pusat Buntok Kota')")
    assert page.input_value("#f-description") == "Asap dari gudang, uji saran tempat"
    assert page.locator("#form-candidates button.cand").count() == 0 and page.locator("#form-error").is_hidden()
    answer_banner(page)
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        page.click("#create-incident")
    call = resp.value.json()
    assert resp.value.status == 201, call
    assert call["location"]["place"]["name"] == "Buntok Kota" and call["description"].startswith("Asap dari gudang")
    page.wait_for_selector(f"#incident-panel[data-incident='{call['id']}']")


def test_dispatcher_places_a_call_from_a_pasted_aml_sms(offline, server: str) -> None:
    """The raw AML SMS pasted in: its fix previews on the map, the server keeps the message and its accuracy."""
    page = offline().login("dispatcher", "/map")
    page.click("#aml-open")
    broken = 'A"ML=1;lt=-1.7x;lg=+114.86000;rd=25;top=20261129081530;lc=68;pm=G'
    page.fill("#aml-text", broken)
    page.click("#aml-use")
    # The server's preview refuses it as the call would be, naming the attribute; nothing is drafted (issue 16).
    page.wait_for_selector("#aml-error:not([hidden])")
    assert "lt" in page.inner_text("#aml-error") and page.locator("#incident-form").is_hidden()
    page.fill("#aml-text", broken.replace("lt=-1.7x", "lt=-1.73000"))
    page.click("#aml-use")
    page.wait_for_function("() => document.getElementById('locate-answer').innerText.includes('Hilir Seper')")
    assert "AML" in page.inner_text("#locate-answer") and "±25 m" in page.inner_text("#locate-answer")
    page.select_option("#f-category", "medis")
    answer_banner(page)
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
        page.click("#create-incident")
    call = resp.value.json()
    assert resp.value.status == 201, call
    assert call["location_source"] == "aml" and call["accuracy_m"] == 25 and call["desa_name"] == "Hilir Seper"
    assert call["location"]["aml"]["raw"].startswith('A"ML=1;lt=-1.73000')
    page.wait_for_selector(f"#incident-panel[data-incident='{call['id']}']")
    assert "AML" in page.inner_text("#incident-panel")
    shot(page, "aml")


def test_dispatcher_corrects_a_call_and_a_stale_edit_is_refused(offline, server: str) -> None:
    """A wrong category is corrected in the panel (agencies follow); an edit over someone else's change gets 409."""
    headers = {"Authorization": f"Bearer {_token(server, 'dispatcher')}"}
    r = httpx.post(server + "/api/incidents", headers=headers, json={
        "category": "kriminalitas", "description": "Keributan", "location": {"lon": 114.87, "lat": -1.74}})
    assert r.status_code == 201, r.text
    call = r.json()
    page = offline().login("dispatcher", "/map")
    open_call_from_list(page, call["id"])
    page.click("#edit-call")
    page.select_option("#e-category", "kebakaran")
    page.fill("#e-caller", "Pak RT")
    with page.expect_response(lambda r: r.request.method == "PATCH") as resp:
        page.click("#edit-save")
    fixed = resp.value.json()
    assert fixed["category"] == "kebakaran" and fixed["caller_name"] == "Pak RT"
    assert fixed["description"] == "Keributan" and fixed["version"] == call["version"] + 1
    assert "damkar" in [a["code"] for a in fixed["agencies"]["primary"]]
    page.wait_for_function("() => document.getElementById('incident-panel').innerText.includes('Pak RT')")

    # Someone else changes the call while this operator is editing it.
    page.click("#edit-call")
    page.fill("#e-description", "Rumah terbakar, dua lantai")
    other = httpx.patch(f"{server}/api/incidents/{call['id']}", headers=headers,
                        json={"version": fixed["version"], "caller_phone": "081200000000"})
    assert other.status_code == 200
    verified = httpx.post(f"{server}/api/incidents/{call['id']}/transition", headers=headers,
                          json={"to": "diverifikasi", "version": other.json()["version"]})
    assert verified.status_code == 200, verified.text
    # Both changes reached this page over the live stream (in order): the list shows the call verified.
    page.locator(f"#incident-list li[data-id='{call['id']}'] .status-chip", has_text="Diverifikasi").wait_for()
    assert page.input_value("#e-description") == "Rumah terbakar, dua lantai"  # the typing is not wiped
    with page.expect_response(lambda r: r.request.method == "PATCH") as resp:
        page.click("#edit-save")
    assert resp.value.status == 409
    page.wait_for_selector(".toast.error")
    now = httpx.get(f"{server}/api/incidents/{call['id']}", headers=headers).json()
    assert now["description"] == "Keributan" and now["caller_phone"] == "081200000000"
    assert now["status"] == "diverifikasi"
    shot(page, "edit-conflict")
    # The form now shows the other change, keeps this operator's text, and a second save applies just that.
    assert page.input_value("#e-phone") == "081200000000"
    assert page.input_value("#e-description") == "Rumah terbakar, dua lantai"
    with page.expect_response(lambda r: r.request.method == "PATCH") as resp:
        page.click("#edit-save")
    assert resp.value.status == 200
    final = resp.value.json()
    assert final["description"] == "Rumah terbakar, dua lantai" and final["caller_phone"] == "081200000000"


def test_dispatcher_merges_a_duplicate_call(offline, server: str) -> None:
    """A second call at the same place lists the first as a possible duplicate; a confirmed click merges it."""
    headers = {"Authorization": f"Bearer {_token(server, 'dispatcher')}"}
    calls = [
        httpx.post(
            server + "/api/incidents",
            json={"category": "banjir", "description": "Air naik di jalan", "location": {"lon": 114.83, "lat": -1.88}},
            headers=headers,
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in calls] == [201, 201], calls[-1].text
    first, second = (r.json()["id"] for r in calls)
    assert [d["id"] for d in calls[1].json()["possible_duplicates"]] == [first]

    # A leader sees the duplicate but gets no merge button.
    leader = offline().login("leader", "/map")
    open_call_from_list(leader, second)
    leader.wait_for_selector(f".dups li[data-dup='{first}']")
    assert leader.locator("button.merge").count() == 0

    page = offline().login("dispatcher", "/map")
    open_call_from_list(page, second)
    asked: list[str] = []

    def confirm(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    shot(page, "duplicate")
    page.once("dialog", confirm)
    page.click(f".dups li[data-dup='{first}'] button.merge")
    # The panel moves to the call that was kept, which names the one folded into it.
    page.wait_for_selector(f"#incident-panel[data-incident='{first}'] a.inc-link[data-id='{second}']")
    assert "dibatalkan sebagai duplikat" in asked[0]
    merged = httpx.get(f"{server}/api/incidents/{second}", headers=headers).json()
    assert merged["status"] == "batal" and merged["merged_into"] == first
    # The merged call leaves the open list and the map.
    page.wait_for_function(f"() => !document.querySelector('#incident-list li[data-id=\\'{second}\\']')")
    shot(page, "merge")


def test_a_layer_that_fails_to_load_is_announced(offline) -> None:
    """A layer whose service fails leaves the map working and says so, instead of drawing nothing."""
    ctx = offline()
    body = '{"message_id": "Basis data tidak tersedia", "message_en": "Database unavailable"}'
    ctx.context.route(
        "**/api/hotspots?*", lambda route: route.fulfill(status=503, content_type="application/json", body=body)
    )
    page = ctx.login("dispatcher", "/map")
    page.wait_for_selector(".toast.error")
    assert "Lapisan peta gagal dimuat: Basis data tidak tersedia" in page.inner_text("#toasts")
    assert page.locator("#incident-list").count() == 1  # the rest of the page is there


def test_leader_view_shows_counts(offline, server: str) -> None:
    """The leader tiles match the summary API and follow a new call without a reload."""
    page = offline().login("leader", "/leader")
    before = int(page.inner_text("#t-open"))
    token = _token(server, "dispatcher")
    r = httpx.post(
        server + "/api/incidents",
        json={"category": "kebakaran", "location": {"lon": 114.70, "lat": -2.25}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    page.wait_for_function(f"() => document.getElementById('t-open').textContent === '{before + 1}'")
    summary = httpx.get(server + "/api/stats/summary", headers={"Authorization": f"Bearer {token}"}).json()
    assert int(page.inner_text("#t-open")) == summary["open_total"] == before + 1
    kec = r.json()["kecamatan_name"]
    assert kec and kec in page.inner_text("#c-kecamatan")
    assert page.locator("#c-status svg rect").count() == 6
    # Read-only: no write controls on the leader's page.
    assert page.locator("button.dispatch, button.tr, #incident-form").count() == 0
    shot(page, "leader")


def test_leader_page_in_plain_words_clustered_reports_and_print(offline, server: str) -> None:
    """No "P90"; incidents clustered on the large map; a report asked for becomes ready with its two files; the
    printed page (A4 landscape) keeps the map's legend and scale bar and leaves the buttons out."""
    token = _token(server, "dispatcher")
    for _ in range(3):  # three calls at one place: one cluster on the leader's map
        r = httpx.post(server + "/api/incidents", json={"category": "medis", "location": {"lon": 114.60, "lat": -2.45}},
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert r.status_code == 201, r.text
    page = offline().login("leader", "/leader")
    page.wait_for_selector("body[data-map-ready='1']", timeout=20_000)
    text = page.inner_text("main")
    assert "P90" not in text and "dalam" in page.inner_text("#t-dispatch-k")
    assert "Target kirim" in page.inner_text("#response-words") or "Belum ada" in page.inner_text("#response-words")
    assert "paling sedikit 5 %" in page.inner_text("#t-flooded-s")
    page.wait_for_selector(".marker-cluster", timeout=10_000)
    counts = page.eval_on_selector_all(".marker-cluster span", "els => els.map(e => parseInt(e.textContent, 10))")
    assert max(counts) >= 3
    # A report asked for on the page is made by the server's report worker and listed with its files.
    page.click("#report-make button[data-kind='daily']")
    page.wait_for_selector("#report-list li[data-status='ready']", timeout=180_000)
    ready = "#report-list li[data-status='ready']"
    links = page.eval_on_selector_all(f"{ready} a.dl", "els => els.map(e => e.dataset.kind)")
    assert sorted(links) == ["html", "pdf"]
    href = page.get_attribute("#report-list li[data-status='ready'] a.dl[data-kind='pdf']", "href")
    assert page.request.get(server + href).body().startswith(b"%PDF")
    shot(page, "leader")
    page.emulate_media(media="print")
    assert page.locator(".leaflet-control-scale").is_visible() and page.locator("#layer-panel .legend").is_visible()
    assert page.locator("#layer-panel .legend .lg-grid").first.is_visible()  # the legend is printed open
    assert not page.locator(".topbar nav").is_visible() and not page.locator("#report-make").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "leader-print.pdf"), prefer_css_page_size=True, print_background=True)
    shot(page, "leader-print")


def _recent_detections(server: str) -> list[tuple[float, float]]:
    """Upload FIRMS detections of two hours ago in Batampang and Batilap (Dusun Hilir), away from the other tests'
    calls: five on one spot (the densest hexagon) and nineteen spread over a few kilometres. Their points."""
    rng = np.random.default_rng(6)
    spot = [(114.800 + 0.0004 * i, -2.050) for i in range(5)]  # distinct detections 45 m apart
    spread = list(zip(rng.uniform(114.76, 114.84, 19).round(5), rng.uniform(-2.09, -2.01, 19).round(5), strict=True))
    points = spot + spread
    when = datetime.now(UTC) - timedelta(hours=2)
    header = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
              "bright_ti5,frp,daynight")
    lines = [header] + [f"{lat},{lon},330.1,0.4,0.4,{when:%Y-%m-%d},{when:%H%M},N,VIIRS,n,2.0NRT,290.0,{i + 1}.5,D"
                        for i, (lon, lat) in enumerate(points)]
    files = {"file": ("viirs.csv", ("\n".join(lines) + "\n").encode(), "text/csv")}
    r = httpx.post(server + "/api/hotspots/upload", files=files,
                   headers={"Authorization": f"Bearer {_token(server, 'planner')}"}, timeout=60)
    assert r.status_code == 201 and r.json()["inserted"] == len(points), r.text
    return points


def test_planner_page_and_language_toggle(offline, server: str) -> None:
    """The planner sees the last day's detections as points and as H3 hexagons shaded by count, switches window
    and H3 resolution; English is one click away and remembered."""
    from playwright.sync_api import expect

    points = _recent_detections(server)
    page = offline().login("planner", "/planner")
    hexagons = page.locator(".leaflet-h3-pane path")
    for res in (7, 8):
        cells = Counter(h3.latlng_to_cell(lat, lon, res) for lon, lat in points)
        if res == 8:
            with page.expect_response(lambda r: "/api/hotspots/h3?" in r.url and "res=8" in r.url) as h3_answer:
                page.click("#res-seg button[data-res='8']")
            assert h3_answer.value.status == 200
        # One drawn hexagon per cell holding a detection, the densest alone in the darkest shade of the ramp.
        expect(hexagons).to_have_count(len(cells))
        assert all(hexagons.nth(i).is_visible() for i in range(len(cells)))
        second, top = sorted(cells.values())[-2:]
        assert second < 0.8 * top  # the sample has one clearly densest cell at both resolutions
        assert page.locator(".leaflet-h3-pane path[fill='#7f2704']").count() == 1
    # Every detection is a dot on the map too, and the side panel counts them.
    expect(page.locator(".leaflet-hotspots-pane path")).to_have_count(len(points))
    assert page.inner_text("#hotspot-summary").startswith(f"{len(points)} ")
    page.evaluate("() => { SIGAP.map.setView([-2.05, 114.80], 12, {animate: false}); }")  # closer, as a person zooms
    shot(page, "planner-hexagons")
    with page.expect_response(lambda r: "/api/hotspots/h3?" in r.url and "window=7d" in r.url) as h3_answer:
        page.click("#window-seg button[data-window='7d']")
    assert h3_answer.value.status == 200 and "res=8" in h3_answer.value.url
    assert page.locator("#res-seg button.on").get_attribute("data-res") == "8"
    assert page.locator("#window-seg button.on").get_attribute("data-window") == "7d"
    page.click("#window-seg button[data-window='custom']")
    assert page.locator("#custom-window").is_visible()
    shot(page, "planner")
    assert page.inner_text("[data-i18n='flood.title']") == "Zona banjir"
    page.click("#lang")
    assert page.inner_text("[data-i18n='flood.title']") == "Flood zones"
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.inner_text("[data-i18n='flood.title']") == "Flood zones"
    shot(page, "planner-en")
    page.click("#lang")


def test_login_page(offline, server: str) -> None:
    """A wrong password says so in Indonesian; the page is drawn from local assets only."""
    ctx = offline()
    page = ctx.context.new_page()
    page.goto(server + "/login")
    page.fill("#username", "t-dispatcher")
    page.fill("#password", "salah-sekali-1")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "salah" in page.inner_text("#login-error")
    shot(page, "login")


def test_hostile_text_is_shown_inert(offline, server: str) -> None:
    """Script and HTML typed into a call are shown as text in the list, panel and popup; nothing runs."""
    token = _token(server, "dispatcher")
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    r = httpx.post(
        server + "/api/incidents",
        json={"category": "kriminalitas", "description": payload, "caller_name": "<b onmouseover=alert(1)>Budi</b>",
              "location": {"lon": 114.85, "lat": -1.72}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["description"] == payload  # stored as typed
    incident_id, number = r.json()["id"], r.json()["number"]
    page = offline().login("dispatcher", "/map")
    # Zoom in on the call, as an operator would, and click its marker: its panel and its popup open, and the
    # popup stays open after the panel's refresh has updated the marker.
    page.evaluate("([lon, lat]) => { SIGAP.map.setView([lat, lon], 18, {animate: false}); }", [114.85, -1.72])
    page.locator(f".leaflet-marker-pane .inc-icon[title='{number}']").click()
    page.wait_for_selector(f"#incident-panel[data-incident='{incident_id}']")
    # The panel is drawn after the marker's refresh: a popup closed by it would be gone or fading (opacity 0).
    assert page.evaluate(
        "() => { const p = document.querySelector('.leaflet-popup'); return !!p && p.style.opacity !== '0'; }"
    ), "the incident popup closed when the panel refreshed the call"
    assert number in page.locator(".leaflet-popup-content").inner_text()
    assert payload in page.inner_text("#incident-panel")
    assert "<b onmouseover=alert(1)>Budi</b>" in page.inner_text("#incident-panel")
    assert page.locator("#incident-panel img, #incident-panel script, #incident-panel b[onmouseover]").count() == 0
    assert page.locator(".leaflet-popup img, #incident-list img").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    shot(page, "hostile-text")


def test_a_recent_hotspot_shows_its_age_time_and_desa(offline, server: str) -> None:
    """A detection from under an hour ago is drawn fresh (dark ring, solid fill); its popup says when and where."""
    at = (datetime.now(UTC) - timedelta(minutes=50)).replace(second=0, microsecond=0)
    lon, lat = BUNTOK
    csv_text = (
        "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
        f"bright_ti5,frp,daynight\n{lat},{lon},335.2,0.4,0.4,{at:%Y-%m-%d},{at:%H%M},N,VIIRS,h,2.0NRT,291.0,7.5,D\n"
    )
    r = httpx.post(
        f"{server}/api/hotspots/upload",
        files={"file": ("baru.csv", csv_text.encode(), "text/csv")},
        headers={"Authorization": f"Bearer {_token(server, 'planner')}"},
    )
    assert r.status_code == 201 and r.json()["inserted"] == 1, r.text
    page = offline().login("planner", "/planner")  # the planner's default window is the last 24 h
    markers = page.locator("#map .leaflet-hotspots-pane path")
    markers.first.wait_for()
    # Other tests of this module upload detections of their own: the one meant here is the marker a person
    # sees at Buntok when the map is centred there.
    page.evaluate("([lon, lat]) => { SIGAP.map.setView([lat, lon], 16, {animate: false}); }", [lon, lat])
    at_centre = page.evaluate(
        """() => {
            const box = document.querySelector('#map').getBoundingClientRect();
            const x = box.left + box.width / 2, y = box.top + box.height / 2;
            return [...document.querySelectorAll('#map .leaflet-hotspots-pane path')].findIndex((p) => {
                const r = p.getBoundingClientRect();
                return r.left <= x && x <= r.right && r.top <= y && y <= r.bottom;
            });
        }"""
    )
    assert at_centre >= 0, "no hotspot marker drawn at Buntok"
    marker = markers.nth(at_centre)
    # What a person sees: the bold dark ring and solid red fill of a detection under 6 hours old.
    assert marker.get_attribute("fill") == "#b71c1c" and float(marker.get_attribute("fill-opacity")) == 0.95
    assert marker.get_attribute("stroke") == "#212121" and float(marker.get_attribute("stroke-width")) == 1.5
    assert "hot-fresh" in marker.get_attribute("class").split()
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    text = popup.inner_text()
    wib = at.astimezone(ZoneInfo("Asia/Jakarta"))
    assert f"{wib:%H:%M} WIB" in text and wib.strftime("%d") in text, text
    assert "Buntok Kota" in text and "tinggi" in text, text
    shot(page, "hotspot-fresh")


def test_planner_lists_the_desa_a_flood_zone_covers(offline, server: str) -> None:
    """Clicking a flood zone in the planner's list shows the desa under water with their flooded share."""
    token = _token(server, "planner")
    zone = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[114.83, -1.73], [114.86, -1.73], [114.86, -1.70],
                                                          [114.83, -1.70], [114.83, -1.73]]]},
        "properties": {"name": "Genangan uji Buntok", "severity": "tinggi"},
    }
    r = httpx.post(f"{server}/api/floods", json=zone, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    zone_id = r.json()["id"]
    affected = httpx.get(f"{server}/api/floods/{zone_id}/affected", headers={"Authorization": f"Bearer {token}"})
    desa = affected.json()["desa"]
    assert desa, affected.text
    page = offline().login("planner", "/planner")
    page.click(f"#flood-list li[data-id='{zone_id}']")
    box = page.locator("#flood-affected")
    page.wait_for_function("() => document.querySelectorAll('#flood-affected tbody tr').length > 0")
    text = box.inner_text()
    assert f"({len(desa)})" in text, text
    first = desa[0]
    percent = math.floor(first["share"] * 100 + 0.5)  # Math.round, as the page rounds
    assert first["desa_name"] in text and f"{percent}%" in text, text
    shot(page, "planner-flood-affected")
