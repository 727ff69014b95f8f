"""Issue 14: the pages work under the enforced Content-Security-Policy, with no violation in Chromium's console,
and the pages write with the HttpOnly cookie (no token in the HTML)."""

from __future__ import annotations

import pytest

from tests.web.test_map_browser import Offline, chromium, server, shot  # noqa: F401 - fixtures used by name

pytestmark = pytest.mark.browser

PAGES = [("dispatcher", "/map"), ("planner", "/planner"), ("leader", "/leader"), ("dispatcher", "/board"),
         ("supervisor", "/calls")]


def _watch(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_pages_work_under_the_csp_without_violations(chromium, server: str) -> None:  # noqa: F811
    browser = Offline(chromium, server)
    violations: list[str] = []
    try:
        for role, path in PAGES:
            page = browser.context.new_page()
            violations += _watch(page)
            page.on("pageerror", lambda e: browser.errors.append(str(e)))
            response = page.goto(f"{server}/login?next={path}")
            assert "script-src 'self'" in response.headers["content-security-policy"]
            page.fill("#username", f"t-{role}")
            page.fill("#password", "Sandi-Uji-112")
            page.click("#login-submit")
            page.wait_for_url(f"{server}{path}")
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            html = page.content()
            token = next(c["value"] for c in browser.context.cookies() if c["name"] == "sigap_token")
            assert token not in html
            assert page.evaluate("() => 'token' in SIGAP.CONFIG") is False
            if path == "/map":
                # A write from the page: the HttpOnly cookie with the page's X-Sigap-Csrf header.
                page.click("#no-location")
                page.wait_for_selector("#incident-form:not([hidden]) #locate-answer[data-ready='1']")
                page.select_option("#f-category", "medis")
                with page.expect_response(
                        lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as resp:
                    page.click("#create-incident")
                assert resp.value.status == 201
            shot(page, f"csp-{role}")
            page.close()
            browser.context.clear_cookies()
    finally:
        browser.close()
    assert violations == []
    assert browser.errors == []
    assert browser.foreign == []


def test_an_inline_script_would_be_blocked(chromium, server: str) -> None:  # noqa: F811
    """The policy is really enforced: a script injected into the page's markup does not run and is reported."""
    browser = Offline(chromium, server)
    try:
        page = browser.context.new_page()
        page.goto(f"{server}/login")
        with page.expect_console_message(lambda m: "Content Security Policy" in m.text, timeout=10_000) as msg:
            page.evaluate("""() => { const d = document.createElement('div');
                d.innerHTML = '<img src=x onerror="window.__pwned = 1">'; document.body.appendChild(d); }""")
        assert "script-src" in msg.value.text
        assert page.evaluate("() => window.__pwned === undefined")
    finally:
        browser.close()
