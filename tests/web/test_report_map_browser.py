"""The shareable situation map (one HTML file) in Debian's Chromium with every request to another host aborted:
it draws one marker per seeded incident (counted through the clusters), its layers and legend, and loads nothing.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from api.config import PROJECT_ROOT, Settings
from geo.times import WIB
from jobs.report.htmlmap import external_references, render_html_map
from jobs.report.produce import gather
from store.catalog import DEFAULT_CATALOG_PATH, load_catalog
from store.db import session_scope
from store.reports import report_period
from tests.jobs.report_seed import DAY, INCIDENTS, seed_day

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
COUNT_MARKERS = """() => {
  const clusters = [...document.querySelectorAll('.marker-cluster span')].map((s) => parseInt(s.textContent, 10));
  const single = document.querySelectorAll('.leaflet-marker-icon.sitrep-inc').length;
  return {clusters, single, total: clusters.reduce((a, b) => a + b, 0) + single};
}"""


def test_the_html_map_opens_offline_with_every_incident(db, bundled_layers, locator, chromium, tmp_path) -> None:
    seed_day(db.sessions, bundled_layers, locator)
    with session_scope(db.sessions) as session:
        sitrep = gather(
            session, period=report_period("range", now=datetime(2026, 12, 1, tzinfo=WIB), first=DAY, last=DAY),
            now=datetime(2026, 11, 21, 7, tzinfo=WIB), layers=bundled_layers,
            catalog=load_catalog(DEFAULT_CATALOG_PATH), settings=Settings(),
        )  # fmt: skip
    html = render_html_map(sitrep, "id")
    assert len(html) < 5_000_000 and external_references(html.decode()) == []
    path = tmp_path / "peta.html"
    path.write_bytes(html)
    foreign: list[str] = []
    errors: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
        context = chromium.new_context(viewport=viewport, locale="id-ID", offline=True)
        context.route("**/*", route)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-marker-icon", timeout=20_000)
        counted = page.evaluate(COUNT_MARKERS)
        assert counted["total"] == len(INCIDENTS), counted
        assert page.locator("#sitrep-legend").is_visible() and page.locator("#sitrep-title").is_visible()
        assert "Laporan Situasi" in page.inner_text("#sitrep-title")
        assert page.locator(".leaflet-control-scale").is_visible()
        page.hover(".leaflet-control-layers")
        layers = page.inner_text(".leaflet-control-layers-list")
        for name_ in ("Kejadian (12)", "Titik panas (3)", "Zona banjir", "Kecamatan", "Unit"):
            assert name_ in layers, layers
        ARTIFACTS.mkdir(exist_ok=True)
        page.mouse.move(5, 5)
        page.screenshot(path=str(ARTIFACTS / f"sitrep-map-{db.backend}-{name}.png"))
        # A cluster opens into its incidents, each with a popup holding no caller data.
        page.locator(".marker-cluster").first.click()
        # The cluster's zoom (and its markers' spreading) done: Leaflet marks both animations with a class.
        page.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')"
                               " && document.querySelector('.leaflet-marker-icon.sitrep-inc')")
        page.locator(".leaflet-marker-icon.sitrep-inc").first.click()
        popup = page.inner_text(".leaflet-popup-content")
        assert "112-20261120-" in popup and "WIB" in popup and "Zulkarnaen" not in popup
        context.close()
    assert foreign == [] and errors == []
