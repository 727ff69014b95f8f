"""The planner's tools in Chromium: draw a flood zone and read the affected desa, import a zone file, export what
is shown as CSV, turn a hotspot into a ground check and record "bukan api", see an area alert arrive live."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.web.test_map_browser import _token, offline, server, shot  # noqa: F401

pytestmark = pytest.mark.browser

BUNTOK = (114.8445, -1.7065)
HEADER = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
          "bright_ti5,frp,daynight\n")


def _upload(base: str, rows: list[tuple[float, float, str]], *, minutes_ago: int = 30, sat: str = "N") -> dict:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    text = HEADER + "".join(f"{lat},{lon},335,0.4,0.4,{at:%Y-%m-%d},{at:%H%M},{sat},VIIRS,{c},2.0NRT,291,7.5,D\n"
                            for lon, lat, c in rows)
    r = httpx.post(f"{base}/api/hotspots/upload", files={"file": ("t.csv", text.encode(), "text/csv")},
                   headers={"Authorization": f"Bearer {_token(base, 'planner')}"}, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


def _screen(page, lon: float, lat: float) -> tuple[float, float]:
    """Page coordinates of a map point."""
    return tuple(page.evaluate(
        """([lon, lat]) => { const p = SIGAP.map.latLngToContainerPoint([lat, lon]);
            const b = document.querySelector('#map').getBoundingClientRect(); return [b.left + p.x, b.top + p.y]; }""",
        [lon, lat]))


def _marker_at(page, lon: float, lat: float) -> int:
    x, y = _screen(page, lon, lat)
    return page.evaluate(
        """([x, y]) => [...document.querySelectorAll('#map .leaflet-hotspots-pane path')].findIndex((p) => {
            const r = p.getBoundingClientRect();
            return r.left <= x && x <= r.right && r.top <= y && y <= r.bottom; })""",
        [x, y])


def test_draw_a_flood_zone_and_see_the_affected_desa(offline, server: str) -> None:  # noqa: F811
    page = offline().login("planner", "/planner")
    lon, lat = BUNTOK
    page.evaluate("([lon, lat]) => { SIGAP.map.setView([lat, lon], 13, {animate: false}); }", [lon, lat])
    page.click("#flood-draw")
    corners = [(lon - 0.02, lat - 0.015), (lon + 0.02, lat - 0.015), (lon + 0.02, lat + 0.015),
               (lon - 0.02, lat + 0.015)]
    for c in [*corners, corners[0]]:  # clicking the first vertex again closes the polygon
        page.mouse.click(*_screen(page, *c))
    page.wait_for_selector("#zone-form:not([hidden])")
    page.fill("#z-name", "Genangan digambar")
    page.select_option("#z-severity", "tinggi")
    page.fill("#z-observed", "2026-12-05T08:30")
    page.click("#z-save")
    page.wait_for_function("() => document.querySelectorAll('#affected-rows tbody tr').length > 0")
    assert "Genangan digambar" in page.inner_text("#flood-list")
    token = _token(server, "planner")
    zones = httpx.get(f"{server}/api/floods", headers={"Authorization": f"Bearer {token}"}).json()["features"]
    zone = next(z for z in zones if z["properties"]["name"] == "Genangan digambar")
    assert zone["properties"]["severity"] == "tinggi"
    assert zone["properties"]["observed_at"].startswith("2026-12-05T01:30")  # 08:30 WIB
    affected = httpx.get(f"{server}/api/floods/{zone['id']}/affected",
                         headers={"Authorization": f"Bearer {token}"}).json()
    rows = page.locator("#affected-rows tbody tr")
    assert rows.count() == len(affected["desa"]) > 0
    shares = [int(rows.nth(i).locator("td").nth(2).inner_text().rstrip("%")) for i in range(rows.count())]
    assert shares == sorted(shares, reverse=True)
    top = max(affected["desa"], key=lambda d: d["share"])
    assert top["desa_name"] in rows.nth(0).inner_text()
    assert page.locator("#roads-cut").inner_text() == str(affected["roads_cut"]["count"])
    shot(page, "planner-flood-drawn")


def test_import_a_flood_file_with_the_api_reasons(offline, server: str, tmp_path: Path) -> None:  # noqa: F811
    lon, lat = BUNTOK
    good = {"type": "Feature", "properties": {"name": "Banjir impor", "severity": "rendah"},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01],
                                                             [lon, lat + 0.01], [lon, lat]]]}}
    line = {"type": "Feature", "properties": {"name": "Bukan poligon"},
            "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.1, lat]]}}
    path = tmp_path / "zona.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, line]}))
    page = offline().login("planner", "/planner")
    page.set_input_files("#flood-file", str(path))
    page.click("#flood-import button[type='submit']")
    page.wait_for_selector("#flood-message b")
    text = page.inner_text("#flood-message")
    assert text.startswith("1 zona dibuat") and "#2 ditolak" in text, text
    page.wait_for_function("() => document.querySelector('#flood-list').innerText.includes('Banjir impor')")
    shot(page, "planner-flood-import")


def test_export_what_is_on_screen_as_csv_and_hexagon_tooltips(offline, server: str) -> None:  # noqa: F811
    lon, lat = BUNTOK
    _upload(server, [(lon, lat, "h"), (lon + 0.003, lat, "n"), (lon + 0.6, lat - 0.6, "h")])
    _upload(server, [(lon + 0.0015, lat + 0.001, "h")], sat="N20")
    page = offline().login("planner", "/planner")
    page.evaluate("([lon, lat]) => { SIGAP.map.setView([lat, lon], 14, {animate: false}); }", [lon, lat])

    def exported() -> list[dict[str, str]]:
        with page.expect_download() as dl:
            page.click("#exp-csv")
        return list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))

    rows = exported()
    # The three detections in view, not the one far outside it.
    assert len(rows) == 3 and sorted(r["confidence"] for r in rows) == ["high", "high", "nominal"]
    # The page's filters reach the file: without "nominal", then NOAA-20 only, exactly what the map then shows.
    page.uncheck(".f-conf[value='nominal']")
    page.wait_for_function("() => document.querySelector('#exp-csv').href.includes('confidence=high')")
    rows = exported()
    assert len(rows) == 2 and {r["confidence"] for r in rows} == {"high"}
    assert page.locator("#map .leaflet-hotspots-pane path").count() == 2  # the markers drawn in view
    page.select_option("#f-sat", "NOAA-20")
    page.wait_for_function("() => document.querySelector('#exp-csv').href.includes('satellite=NOAA-20')")
    rows = exported()
    assert [(r["satellite"], r["confidence"]) for r in rows] == [("NOAA-20", "high")]
    assert page.locator("#map .leaflet-hotspots-pane path").count() == 1
    shot(page, "planner-export-filtered")
    page.check(".f-conf[value='nominal']")
    page.select_option("#f-sat", "")
    page.wait_for_function("() => !document.querySelector('#exp-csv').href.includes('satellite=')")
    # The hexagons of that filter drawn (the ones of the filter before are being replaced until then).
    page.wait_for_function("() => document.body.dataset.hotspots === 'ready'")
    # Hexagons are named in words and km², their tooltip tells the desa and the count, never the cell id.
    assert page.inner_text("#res-seg button.on") == "Sedang ~5 km²"
    hexes = page.locator(".leaflet-h3-pane path")
    hexes.first.hover(force=True)
    tip = page.locator(".leaflet-tooltip:not(.lbl)").first
    tip.wait_for()
    text = tip.inner_text()
    assert "titik panas" in text and "~5 km²" in text and "Buntok" in text, text
    assert "87" not in text.split("titik")[0][:3]  # no H3 id (they start with 8) before the count
    # The custom window's button is inside the panel, fully visible.
    page.click("#window-seg button[data-window='custom']")
    box = page.locator("#w-apply").bounding_box()
    side = page.locator(".side").bounding_box()
    assert box["x"] + box["width"] <= side["x"] + side["width"] and page.locator("#w-apply").is_visible()
    shot(page, "planner-export-tooltip")


def test_ground_check_from_a_hotspot_recorded_bukan_api(offline, server: str) -> None:  # noqa: F811
    lon, lat = BUNTOK[0] + 0.05, BUNTOK[1] - 0.05
    _upload(server, [(lon, lat, "h")])
    page = offline().login("planner", "/planner")
    page.evaluate("([lon, lat]) => { SIGAP.map.setView([lat, lon], 16, {animate: false}); }", [lon, lat])
    idx = _marker_at(page, lon, lat)
    assert idx >= 0
    page.locator("#map .leaflet-hotspots-pane path").nth(idx).click()
    page.locator(".leaflet-popup button.gc-create").click()
    item = page.locator("#check-list li[data-check]").first
    item.wait_for()
    assert "menunggu hasil" in item.inner_text()
    check_id = item.get_attribute("data-check")
    token = _token(server, "planner")
    check = next(f for f in httpx.get(f"{server}/api/ground-checks", headers={"Authorization": f"Bearer {token}"})
                 .json()["features"] if str(f["id"]) == check_id)
    incident = httpx.get(f"{server}/api/incidents/{check['properties']['incident_id']}",
                         headers={"Authorization": f"Bearer {token}"}).json()
    assert incident["category"] == "cek_lapangan"
    form = item.locator("form.gc-result")
    form.locator("select[name='result']").select_option("bukan_api")
    form.locator("select[name='cause']").select_option("pantulan_atap")
    shot(page, "planner-ground-check")
    form.locator("button[type='submit']").click()
    page.wait_for_function(
        f"() => document.querySelector(\"#check-list li[data-check='{check_id}'] .gc-res\")"
        ".innerText.includes('Bukan api')")
    assert "pantulan atap" in page.inner_text(f"#check-list li[data-check='{check_id}']")
    # The roof became a static heat source: the detection is now "sumber tetap".
    pts = httpx.get(f"{server}/api/hotspots", params={"window": "24h"},
                    headers={"Authorization": f"Bearer {token}"}).json()["features"]
    mine = [f for f in pts if f["id"] == check["properties"]["hotspot_id"]]
    assert mine and mine[0]["properties"]["static_source_id"]
    page.wait_for_function("() => document.querySelector('#hotspot-summary').innerText.includes('sumber tetap')")
    shot(page, "planner-ground-check-done")


def test_area_alert_arrives_live_on_planner_and_dispatcher(offline, server: str) -> None:  # noqa: F811
    ctx = offline()
    planner = ctx.login("planner", "/planner")
    dispatcher = ctx.login("dispatcher", "/map")
    before = planner.locator("#alert-list li[data-alert]").count()
    lon, lat = BUNTOK[0] - 0.08, BUNTOK[1] + 0.04
    report = _upload(server, [(lon, lat, "h")])
    assert report["alerts"] == 1
    planner.wait_for_function(f"() => document.querySelectorAll('#alert-list li[data-alert]').length === {before + 1}")
    dispatcher.wait_for_selector(".toast.alert")
    assert "Peringatan titik panas" in dispatcher.inner_text(".toast.alert")
    shot(planner, "planner-alert")


def test_draw_a_static_heat_source_then_delete_it(offline, server: str) -> None:  # noqa: F811
    lon, lat = BUNTOK[0] - 0.05, BUNTOK[1] - 0.08
    _upload(server, [(lon, lat, "h")])
    page = offline().login("planner", "/planner")
    page.evaluate("([lon, lat]) => { SIGAP.map.setView([lat, lon], 15, {animate: false}); }", [lon, lat])
    page.wait_for_function("() => document.querySelector('#hotspot-summary').innerText.length > 0")
    before = page.inner_text("#hotspot-summary")  # other tests of the module may have static sources of their own
    page.click("#source-draw")
    d = 0.002
    corners = [(lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d)]
    for c in [*corners, corners[0]]:
        page.mouse.click(*_screen(page, *c))
    page.wait_for_selector("#z-kind-row:not([hidden])")
    page.fill("#z-name", "Pabrik sawit uji")
    page.select_option("#z-kind", "industri")
    page.click("#z-save")
    page.wait_for_function("(b) => { const t = document.querySelector('#hotspot-summary').innerText;"
                           " return t !== b && t.includes('sumber tetap'); }", arg=before)
    token = _token(server, "planner")
    sources = httpx.get(f"{server}/api/heat-sources", headers={"Authorization": f"Bearer {token}"}).json()
    mine = [f for f in sources["features"] if f["properties"]["name"] == "Pabrik sawit uji"]
    assert len(mine) == 1 and mine[0]["properties"]["kind"] == "industri"
    shot(page, "planner-heat-source")
    # Its popup offers to delete it; afterwards the detection is an ordinary hotspot again.
    page.mouse.click(*_screen(page, lon + d * 0.8, lat + d * 0.8))
    page.locator(".leaflet-popup button.src-delete").click()
    page.wait_for_function("(b) => document.querySelector('#hotspot-summary').innerText === b", arg=before)
    sources = httpx.get(f"{server}/api/heat-sources", headers={"Authorization": f"Bearer {token}"}).json()
    assert not [f for f in sources["features"] if f["properties"]["name"] == "Pabrik sawit uji"]


def test_a_self_intersecting_drawing_is_repaired_and_a_zone_edited(offline, server: str) -> None:  # noqa: F811
    page = offline().login("planner", "/planner")
    lon, lat = BUNTOK[0] + 0.1, BUNTOK[1] + 0.1
    page.evaluate("([lon, lat]) => { SIGAP.map.setView([lat, lon], 13, {animate: false}); }", [lon, lat])
    page.click("#flood-draw")
    d = 0.01
    bowtie = [(lon - d, lat - d), (lon + d, lat + d), (lon + d, lat - d), (lon - d, lat + d)]
    for c in [*bowtie, bowtie[0]]:
        page.mouse.click(*_screen(page, *c))
    page.wait_for_selector("#zone-form:not([hidden])")
    page.fill("#z-name", "Kupu-kupu")
    page.click("#z-save")
    page.wait_for_function("() => document.querySelector('#flood-message').innerText.startsWith('Zona disimpan')")
    message = page.inner_text("#flood-message")
    assert "diperbaiki" in message and "Self-intersection" in message, message
    token = _token(server, "planner")
    zones = httpx.get(f"{server}/api/floods", headers={"Authorization": f"Bearer {token}"}).json()["features"]
    zone = next(z for z in zones if z["properties"]["name"] == "Kupu-kupu")
    assert zone["geometry"]["type"] == "MultiPolygon" and len(zone["geometry"]["coordinates"]) == 2
    # Selecting it opens the edit form: ending the flood is one change and a save; the list says so at once.
    page.click(f"#flood-list li[data-id='{zone['id']}']")
    page.wait_for_selector("#zone-form:not([hidden])")
    assert page.text_content("#zone-form-title") == "Ubah zona" and page.input_value("#z-name") == "Kupu-kupu"
    page.select_option("#z-status", "ended")
    page.click("#z-save")
    page.wait_for_function(
        f"() => document.querySelector(\"#flood-list li[data-id='{zone['id']}']\").innerText.includes('selesai')")
    again = httpx.get(f"{server}/api/floods/{zone['id']}", headers={"Authorization": f"Bearer {token}"}).json()
    assert again["properties"]["status"] == "ended" and again["properties"]["version"] == 2
    shot(page, "planner-flood-edited")
