"""The leader summary (/api/stats/summary) and the page routes, on both backends."""

from __future__ import annotations

import re
from datetime import timedelta

import shapely
from geoalchemy2.shape import from_shape

from geo.times import utcnow
from geo.times import wib_day_start as start_of_wib_day
from store.db import session_scope
from store.figures import percentiles
from store.floods import FloodZone
from store.hotspots import Hotspot
from store.incidents import Incident, transition
from tests.conftest import TEST_PASSWORD

# Buntok Kota (Dusun Selatan) and a point in Dusun Hilir.
BUNTOK = {"lon": 114.8445, "lat": -1.7065}
DUSUN_HILIR = {"lon": 114.70, "lat": -2.25}


def _create(client, category: str, location: dict | None) -> dict:
    r = client.post("/api/incidents", json={"category": category, "location": location})
    assert r.status_code == 201, r.text
    return r.json()


def _respond(db, incident_id: int, *, call_min_ago: float, scene_min_ago: float) -> None:
    """Walk an incident to tiba with the call and arrival at known times."""
    now = utcnow()
    call = now - timedelta(minutes=call_min_ago)
    scene = now - timedelta(minutes=scene_min_ago)
    with session_scope(db.sessions) as session:
        inc = session.get(Incident, incident_id)
        inc.created_at = call
        for step in inc.transitions:
            step.at = call
        gap = (scene - call) / 4
        for i, to in enumerate(("diverifikasi", "dikirim", "menuju_lokasi", "tiba"), start=1):
            transition(session, inc, to, actor="t-dispatcher", at=call + gap * i)


def test_percentiles_ignore_missing_and_negative() -> None:
    """NaN (never reached) and negative spans do not count; empty gives None."""
    import numpy as np

    assert percentiles(np.array([np.nan, -5.0])) == {"n": 0, "median_s": None, "p90_s": None}
    got = percentiles(np.array([900.0, 1500.0, np.nan]))
    assert got == {"n": 2, "median_s": 1200.0, "p90_s": 1440.0}


def test_summary_empty(client) -> None:
    """No incidents, hotspots or floods: zeros, every open status listed, sources read."""
    s = client.get("/api/stats/summary").json()
    assert s["open_total"] == 0 and s["calls_today"] == 0 and s["hotspots_24h"] == 0
    assert [r["status"] for r in s["open_by_status"]] == [
        "perlu_lokasi",
        "baru",
        "diverifikasi",
        "dikirim",
        "menuju_lokasi",
        "tiba",
    ]
    assert s["response"]["call_to_scene"]["last_30d"]["median_s"] is None
    assert s["flooded_desa"] == [] and s["sources"] == {"incidents": True, "hotspots": True, "floods": True}
    assert s["generated_at_wib"].endswith("WIB")


def test_summary_counts_and_response_times(client, db) -> None:
    """Open incidents by status and kecamatan; response median/p90 from the recorded transitions."""
    a = _create(client, "medis", BUNTOK)
    b = _create(client, "kebakaran", BUNTOK)
    c = _create(client, "kriminalitas", DUSUN_HILIR)
    _create(client, "medis", None)  # waits for a location: open, no kecamatan
    _respond(db, a["id"], call_min_ago=25, scene_min_ago=10)  # 900 s
    _respond(db, b["id"], call_min_ago=30, scene_min_ago=5)  # 1500 s
    r = client.post(f"/api/incidents/{c['id']}/transition", json={"to": "batal", "version": c["version"],
                                                                     "disposition": "iseng"})
    assert r.status_code == 200, r.text
    s = client.get("/api/stats/summary").json()
    status = {row["status"]: row["count"] for row in s["open_by_status"]}
    assert status == {"perlu_lokasi": 1, "baru": 0, "diverifikasi": 0, "dikirim": 0, "menuju_lokasi": 0, "tiba": 2}
    assert s["open_total"] == 3
    kec = {row["name"]: row["count"] for row in s["open_by_kecamatan"]}
    assert kec["Dusun Selatan"] == 2 and "Dusun Hilir" not in kec  # cancelled is not open
    assert sum(kec.values()) == 3
    scene = s["response"]["call_to_scene"]["last_30d"]
    assert scene["n"] == 2 and abs(scene["median_s"] - 1200) < 2 and abs(scene["p90_s"] - 1440) < 2
    assert s["response"]["call_to_dispatch"]["last_30d"]["n"] == 2
    # "Today" is the WIB date: in the first half hour after midnight WIB, a and b were called yesterday.
    now = utcnow()
    today = sum(now - timedelta(minutes=m) >= start_of_wib_day(now) for m in (25, 30))
    assert s["response"]["call_to_scene"]["today"]["n"] == today
    assert s["calls_today"] == 2 + today


def test_summary_hotspots_and_flooded_desa(client, db) -> None:
    """Hotspots of the last 24 h count; desa touching an active flood zone are listed with their share."""
    now = utcnow()
    with session_scope(db.sessions) as session:
        for i, hours in enumerate((1, 5, 30)):
            session.add(
                Hotspot(
                    detection_key=f"t-{i}",
                    acq_time=now - timedelta(hours=hours),
                    source="test",
                    zone="inside",
                    h3_5="x",
                    h3_6="x",
                    h3_7="x",
                    h3_8="x",
                    h3_9="x",
                    geom="SRID=4326;POINT(114.85 -1.71)",
                )
            )
        box = shapely.MultiPolygon([shapely.box(114.84, -1.72, 114.86, -1.70)])
        session.add(
            FloodZone(
                name="Uji banjir", severity="tinggi", status="active", source="test", geom=from_shape(box, srid=4326)
            )
        )
        session.add(
            FloodZone(
                name="Sudah surut",
                severity="rendah",
                status="ended",
                source="test",
                geom=from_shape(shapely.MultiPolygon([shapely.box(114.60, -2.5, 114.62, -2.48)]), srid=4326),
            )
        )
    s = client.get("/api/stats/summary").json()
    assert s["hotspots_24h"] == 2
    names = [d["name"] for d in s["flooded_desa"]]
    assert "Buntok Kota" in names and s["flooded_desa_count"] == len(names)
    assert all(0 < d["share"] <= 1 for d in s["flooded_desa"])
    assert all(d["kecamatan"] == "Dusun Selatan" for d in s["flooded_desa"])


def test_summary_needs_login(anon_client) -> None:
    """Anonymous callers get 401."""
    assert anon_client.get("/api/stats/summary").status_code == 401


def _login(client, role: str) -> None:
    r = client.post("/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
    assert r.status_code == 200


def test_pages_by_role_and_offline_assets(anon_client) -> None:
    """/ sends each role home; pages reference only local assets; no page holds the token."""
    c = anon_client
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"
    assert c.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert c.get("/static/vendor/fontawesome/webfonts/fa-solid-900.woff2").status_code == 200
    assert c.get("/static/js/sigap.js").status_code == 200
    assert c.get("/static/vendor/markercluster/leaflet.markercluster.js").status_code == 200
    assert c.get("/static/../api/app.py").status_code == 404
    for role, home in (("dispatcher", "/map"), ("planner", "/planner"), ("leader", "/leader")):
        c.cookies.clear()
        _login(c, role)
        assert c.get("/", follow_redirects=False).headers["location"] == home
        for page in ("/map", "/planner", "/leader"):
            html = c.get(page).text
            assert not re.findall(r"(?:src|href)=\"(?:https?:)?//", html), page
            config = re.search(r'<script id="sigap-config" type="application/json">(.*?)</script>', html, re.S)
            assert config, page
            writes = (role, page) in {("dispatcher", "/map"), ("planner", "/planner")}
            assert ('"can_write": true' in config.group(1)) == writes
            # The leader page gives leaders and planners a token to ask for a report, and nothing else to write.
            reports = page == "/leader" and role in ("leader", "planner")
            assert ('"can_report": true' in config.group(1)) == reports
            # No token in any page (issue 14): the HttpOnly cookie and the X-Sigap-Csrf header carry writes.
            assert '"token"' not in config.group(1) and c.cookies["sigap_token"] not in html
        if role == "leader":
            assert 'id="incident-form"' not in c.get("/map").text
    c.cookies.clear()


def test_a_desa_only_touched_by_a_flood_is_not_flooded(client, db, bundled_layers) -> None:
    """A zone that is exactly one desa leaves its neighbours (0 % under water) and a 2 % sliver out of the count.

    Before issue 20 every desa the zone touched counted as "tergenang", its neighbours too at 0 %.
    """
    from shapely.geometry import MultiPolygon

    desa = bundled_layers.desa
    names = list(desa.name)
    buntok = desa.geometry[names.index("Buntok Kota")]
    # The zone is Buntok Kota itself, and a sliver (about 2 % of the area) of a desa that does not touch it.
    far = next(i for i, g in enumerate(desa.geometry) if not g.intersects(buntok.buffer(0.05)))
    far_geom = desa.geometry[far]
    x0, y0, x1, y1 = far_geom.bounds
    lo, hi = x0, x1
    for _ in range(40):  # a strip at the west edge holding about 2 % of the desa
        mid = (lo + hi) / 2
        share = far_geom.intersection(shapely.box(x0, y0, mid, y1)).area / far_geom.area
        lo, hi = (mid, hi) if share < 0.02 else (lo, mid)
    sliver = far_geom.intersection(shapely.box(x0, y0, lo, y1))
    parts = [p for g in (buntok, sliver) for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"]
    with session_scope(db.sessions) as session:
        session.add(
            FloodZone(name="Uji", severity="sedang", status="active", source="test",
                      geom=from_shape(MultiPolygon(parts), srid=4326))
        )
    s = client.get("/api/stats/summary").json()
    assert [d["name"] for d in s["flooded_desa"]] == ["Buntok Kota"]
    assert s["flooded_desa_count"] == 1 and s["flooded_share"] == 0.05
    assert s["flooded_desa"][0]["share"] > 0.95
