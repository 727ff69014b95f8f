"""The browser of the page tests: Debian's Chromium through Playwright, never a downloaded one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SIGAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class _Launcher:
    """One Chromium per test module (Playwright gives it a fresh user-data dir), launched again if it went away.

    Not one per test process: Playwright's synchronous API keeps an asyncio loop running in the test thread while
    it is started, and the store and job tests that run after a browser module in the same process call
    asyncio.run(), which refuses to start inside a running loop.
    """

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = None

    def browser(self):
        """The running browser; a new one when there is none or it crashed."""
        if self._browser is None or not self._browser.is_connected():
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                             headless=True)
        return self._browser

    def close(self) -> None:
        """Close the browser and stop Playwright."""
        if self._browser is not None and self._browser.is_connected():
            self._browser.close()
        self._playwright.stop()


@pytest.fixture(scope="module")
def _chromium_launcher() -> Iterator[_Launcher]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    launcher = _Launcher()
    yield launcher
    launcher.close()


@pytest.fixture
def chromium(_chromium_launcher: _Launcher):
    """Debian's Chromium (one launch per test module; each test makes its own contexts and closes them)."""
    return _chromium_launcher.browser()
