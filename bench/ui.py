"""Benchmark: what one call costs the operator, from the first touch to a dispatched unit, per intake mode.

Usage: python bench/ui.py [--rounds 3]
A fresh SpatiaLite database (bundled layers, demo units, a dispatcher) behind a real uvicorn server; Debian's
Chromium driven by Playwright does what an operator does for each mode, every click and keystroke counted:
  village name   click the search box, type the village, Enter, the category's digit, click "Buat kejadian",
                 click "Kirim" on the proposed unit
  keyboard only  "/", the village, Enter, the category's digit, Enter, "d"
  map click      click the map, the category's digit, click "Buat kejadian", click "Kirim"
  AML paste      click "Tempel SMS AML", paste (one keystroke), click "Pakai lokasi AML", the category's digit,
                 click "Buat kejadian", click "Kirim"
A duplicate banner (an open call within 1 km and 60 min) costs one more click ("tetap buat baru") and is
counted when it shows. Wall time runs from the first action until the card says "Dikirim", so it includes
the server's locate, create, recommendation and dispatch round trips. Not a test: nothing asserts.
Targets (issue 16): by village name at most 4 clicks and 20 keystrokes; keyboard only at most 25 keystrokes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store.accounts import add_user  # noqa: E402
from store.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from store.layers import load_bundled, read_layers  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.units import seed_demo_units  # noqa: E402
from tests.servers import start_server, stop_server  # noqa: E402

PASSWORD = "Bench-Sandi-112"
CHROMIUM = "/usr/bin/chromium"
# Places far enough apart that one round's calls are not each other's duplicates (the banner is counted when
# a later round lands near an earlier one).
VILLAGES = ["Tabak Kanilan", "Pendang", "Sababilah", "Mabuan", "Lembeng", "Bangkuang"]
# Representative points of desa Babai, Reong, Janggi, Tarusan, Talio, Hingan (inside the regency).
POINTS = [(114.8314, -1.9188), (114.7959, -1.4125), (114.911, -1.9505), (114.776, -1.3727), (114.8563, -1.8654),
          (114.9835, -1.4313)]
AML = 'A"ML=1;lt={lat:.5f};lg=+{lon:.5f};rd=20;top={top};lc=68;pm=G'


@dataclass
class Count:
    """Clicks and keystrokes of one run, and its wall time."""

    clicks: int = 0
    keys: int = 0
    seconds: float = 0.0
    banner: int = 0
    marks: list[str] = field(default_factory=list)


class Operator:
    """A page driven as an operator would, counting every click and keystroke."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.page = page
        self.n = Count()

    def click(self, selector: str, **kw) -> None:  # noqa: ANN003
        """One click."""
        self.page.click(selector, **kw)
        self.n.clicks += 1

    def press(self, key: str) -> None:
        """One keystroke."""
        self.page.keyboard.press(key)
        self.n.keys += 1

    def type(self, text: str) -> None:
        """One keystroke per character."""
        for ch in text:
            self.press("Space" if ch == " " else ch)

    def paste(self, selector: str, text: str) -> None:
        """Ctrl+V of text already on the clipboard: one keystroke."""
        self.page.fill(selector, text)
        self.n.keys += 1

    def answer_banner(self) -> None:
        """When open calls nearby are shown, the operator chooses "tetap buat baru" (one click)."""
        if self.page.locator("#dup-new").is_visible():
            self.click("#dup-new")
            self.n.banner += 1

    def wait_dispatched(self) -> None:
        """Until the card shows the call dispatched."""
        self.page.wait_for_selector("#incident-panel[data-status='dikirim']", timeout=60_000)


def category_digit(page) -> str:  # noqa: ANN001
    """The digit of the medical category in the numbered list."""
    codes = page.evaluate("SIGAP.CONFIG.categories.map(c => c.code)")
    return str((codes.index("medis") + 1) % 10)


def wait_ready_for_category(page) -> None:  # noqa: ANN001
    """The draft is located and the nearby check has answered."""
    page.wait_for_selector("#locate-answer[data-ready='1']")
    page.wait_for_selector("#dup-banner[data-checked='1']", state="attached")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'f-category'")


def by_village(op: Operator, name: str, digit: str) -> None:
    """Mouse and keyboard: the village by name."""
    op.click("#desa-search")
    op.type(name)
    op.press("Enter")
    wait_ready_for_category(op.page)
    op.press(digit)
    op.answer_banner()
    op.click("#create-incident")
    op.click("#recs li.rec.top button.dispatch")


def keyboard_only(op: Operator, name: str, digit: str) -> None:
    """No mouse at all."""
    op.page.locator("body").focus()
    op.press("/")
    op.type(name)
    op.press("Enter")
    wait_ready_for_category(op.page)
    op.press(digit)
    op.press("Enter")
    if op.page.locator("#dup-new").is_visible():  # focus is on the banner: Tab to "tetap buat baru", Enter
        op.page.focus("#dup-new")
        op.n.keys += 1
        op.press("Enter")
        op.n.banner += 1
        op.page.focus("#f-category")
        op.n.keys += 1
        op.press("Enter")
    op.page.wait_for_selector("#recs li.rec.top button.dispatch")
    op.press("d")


def by_map_click(op: Operator, point: tuple[float, float], digit: str) -> None:
    """A click where the caller says they are."""
    xy = op.page.evaluate(
        "([lon, lat]) => { SIGAP.map.setView([lat, lon], 15, {animate: false});"
        " const p = SIGAP.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", list(point))
    op.n.marks.append("map view set by script (the operator's pan/zoom is not counted)")
    op.page.locator("#map").click(position={"x": xy[0], "y": xy[1]})
    op.n.clicks += 1
    wait_ready_for_category(op.page)
    op.press(digit)
    op.answer_banner()
    op.click("#create-incident")
    op.click("#recs li.rec.top button.dispatch")


def by_aml(op: Operator, point: tuple[float, float], digit: str) -> None:
    """The handset's AML SMS pasted in."""
    top = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    op.click("#aml-open")
    op.paste("#aml-text", AML.format(lat=point[1], lon=point[0], top=top))
    op.click("#aml-use")
    wait_ready_for_category(op.page)
    op.press(digit)
    op.answer_banner()
    op.click("#create-incident")
    op.click("#recs li.rec.top button.dispatch")


def main() -> None:
    """Run every mode `--rounds` times and print clicks, keystrokes and wall time."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ui.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        with session_scope(make_sessionmaker(engine)) as s:
            load_bundled(s, ROOT / "data")
            add_user(s, username="bench", password=PASSWORD, role="dispatcher")
        with session_scope(make_sessionmaker(engine)) as s:
            seed_demo_units(s, read_layers(s))
        engine.dispose()
        proc, base = start_server(url, extra_env={"SIGAP_HOST": "127.0.0.1"})
        results: dict[str, list[Count]] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--headless", "--no-sandbox", "--disable-gpu"])
                ctx = browser.new_context(viewport={"width": 1400, "height": 850}, locale="id-ID")
                page = ctx.new_page()
                page.goto(f"{base}/login?next=/map")
                page.fill("#username", "bench")
                page.fill("#password", PASSWORD)
                page.click("#login-submit")
                page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                digit = category_digit(page)
                modes = {
                    "village name": lambda op, r: by_village(op, VILLAGES[(2 * r) % len(VILLAGES)], digit),
                    "keyboard only": lambda op, r: keyboard_only(op, VILLAGES[(2 * r + 1) % len(VILLAGES)], digit),
                    "map click": lambda op, r: by_map_click(op, POINTS[(2 * r) % len(POINTS)], digit),
                    "AML paste": lambda op, r: by_aml(op, POINTS[(2 * r + 1) % len(POINTS)], digit),
                }
                for r in range(args.rounds):
                    for name, run in modes.items():
                        page.goto(f"{base}/map")
                        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                        op = Operator(page)
                        t0 = time.perf_counter()
                        try:
                            run(op, r)
                        except Exception:
                            shot = ROOT / "test-artifacts" / f"bench-ui-{name.replace(' ', '-')}.png"
                            page.screenshot(path=str(shot))
                            print(f"{name} (round {r + 1}) failed", file=sys.stderr)
                            raise
                        op.wait_dispatched()
                        op.n.seconds = time.perf_counter() - t0
                        results.setdefault(name, []).append(op.n)
                        # The call ends (not timed): its unit is free again for the next round.
                        page.evaluate(
                            "async () => { const id = SIGAP.dispatcher.state.selectedId;"
                            " const inc = SIGAP.live.incidents.get(id).data;"
                            " await SIGAP.api(`/api/incidents/${id}/transition`, {method: 'POST', json:"
                            " {to: 'batal', version: inc.version, disposition: 'informasi'}}); }")
                browser.close()
        finally:
            stop_server(proc)
    print(f"{'mode':<15}{'clicks':>8}{'keys':>8}{'banner':>8}{'wall s (median)':>18}{'wall s (max)':>14}")
    span = lambda xs: f"{min(xs)}" if min(xs) == max(xs) else f"{min(xs)}-{max(xs)}"  # noqa: E731
    for name, runs in results.items():
        walls = [x.seconds for x in runs]
        print(f"{name:<15}{span([x.clicks for x in runs]):>8}{span([x.keys for x in runs]):>8}"
              f"{sum(x.banner for x in runs):>8}{statistics.median(walls):>18.2f}{max(walls):>14.2f}")
    print("keys by village name / keyboard only include typing the village's name (" +
          ", ".join(VILLAGES) + ")")
    print("targets: village name <= 4 clicks and <= 20 keys; keyboard only <= 25 keys (0 clicks)")


if __name__ == "__main__":
    main()
