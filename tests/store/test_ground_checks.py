"""Ground checks and area alerts on both backends: tasks as incidents, results, static sources, statistics."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import h3
import pytest
from sqlalchemy import func, select

from geo.times import utcnow
from store import ground_checks
from store.ground_checks import GroundCheck, HotspotAlert, create_ground_check, target_point
from store.heat_sources import HeatSource
from store.hotspots import Hotspot, ingest_detections
from store.incidents import Incident
from tests.conftest import bearer, events_while

WINDOW = {"window": "custom", "since": "2019-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"}
VIIRS = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
         "bright_ti5,frp,daynight\n")
BUNTOK = (114.8450, -1.7150)


def _viirs(rows: list[tuple[float, float, str]], *, day: str = "2023-09-14", time: str = "0542",
           sat: str = "N") -> str:
    return VIIRS + "".join(f"{y},{x},330,0.4,0.4,{day},{time},{sat},VIIRS,{c},2.0NRT,297,4.2,D\n" for x, y, c in rows)


def _ids(db) -> list[int]:
    with db.sessions() as s:
        return s.execute(select(Hotspot.id).order_by(func.ST_X(Hotspot.geom))).scalars().all()


def test_ground_check_from_hotspot_is_a_cek_lapangan_incident(client, tokens, db, locator) -> None:
    ingest_detections(db.sessions, io.StringIO(_viirs([(*BUNTOK, "h")])), locator=locator)
    [hid] = _ids(db)
    r = client.post("/api/ground-checks", json={"hotspot_id": hid}, headers=bearer(tokens["dispatcher"]))
    assert r.status_code == 403
    r = client.post("/api/ground-checks", json={"hotspot_id": hid, "note": "akses via sungai"},
                    headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    check = r.json()["properties"]
    assert check["hotspot_id"] == hid and check["satellite"] == "Suomi NPP" and check["confidence"] == "high"
    assert check["result"] is None and check["incident_number"]
    inc = client.get(f"/api/incidents/{check['incident_id']}").json()
    assert inc["category"] == "cek_lapangan" and inc["status"] == "baru"
    assert "kepercayaan tinggi" in inc["description"] and "akses via sungai" in inc["description"]
    assert inc["desa_code"] is not None
    # The existing recommendation proposes BPBD, Damkar and Manggala Agni unit types.
    rec = client.get(f"/api/incidents/{check['incident_id']}/recommendations")
    assert rec.status_code == 200, rec.text
    assert {"bpbd", "damkar", "manggala_agni"} <= set(rec.json()["types"])


def test_ground_check_creation_is_one_transaction(db, locator, monkeypatch) -> None:
    """A failure after the incident is written (while the check row is recorded) leaves neither stored."""
    ingest_detections(db.sessions, io.StringIO(_viirs([(*BUNTOK, "h")])), locator=locator)
    [hid] = _ids(db)

    def fail_after_the_incident(*args, **kwargs):
        raise RuntimeError("disk full while recording the check")

    monkeypatch.setattr(ground_checks, "ground_check_public", fail_after_the_incident)

    def write(hub):
        with db.sessions() as session:
            target = target_point(session, hotspot_id=hid, cluster_cell=None)
            with pytest.raises(RuntimeError, match="disk full"):
                create_ground_check(session, target=target, cluster_cell=None, actor="t-planner", location=None,
                                    hub=hub)

    _, events = asyncio.run(events_while(db, write))
    with db.sessions() as s:
        assert s.scalar(select(func.count(Incident.id))) == 0
        assert s.scalar(select(func.count(GroundCheck.id))) == 0
    assert not [e for e in events if e["kind"] in ("incident.created", "ground_check.updated")]


def test_ground_check_from_cluster_and_bad_targets(client, tokens, db, locator) -> None:
    x, y = BUNTOK
    ingest_detections(db.sessions, io.StringIO(_viirs([(x, y, "n"), (x + 0.001, y, "h"), (x + 0.3, y, "h")])),
                      locator=locator)
    cell = h3.latlng_to_cell(y, x, 7)
    planner = bearer(tokens["planner"])
    r = client.post("/api/ground-checks", json={"cluster_cell": cell}, headers=planner)
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert props["cluster_cell"] == cell and len(props["hotspot_ids"]) == 2 and props["confidence"] == "high"
    lon, lat = r.json()["geometry"]["coordinates"]
    assert (lat, lon) == pytest.approx(h3.cell_to_latlng(cell), abs=1e-6)
    bad = [({}, 422), ({"hotspot_id": 1, "cluster_cell": cell}, 422), ({"cluster_cell": "zzzzzzzzzzzzzzz"}, 422),
           ({"cluster_cell": h3.latlng_to_cell(y, x, 3)}, 422), ({"hotspot_id": 2_000_000_000}, 404),
           ({"cluster_cell": h3.latlng_to_cell(5.0, 100.0, 7)}, 404)]
    with db.sessions() as s:
        before = s.scalar(select(func.count(Incident.id)))
    for body, code in bad:
        r = client.post("/api/ground-checks", json=body, headers=planner)
        assert r.status_code == code, (body, r.text)
    with db.sessions() as s:  # nothing half stored: no incident without its check
        assert s.scalar(select(func.count(Incident.id))) == before
        assert s.scalar(select(func.count(GroundCheck.id))) == 1


def test_results_feed_static_sources_and_statistics(client, tokens, db, locator) -> None:
    x, y = BUNTOK
    ingest_detections(db.sessions, io.StringIO(_viirs([(x, y, "h"), (x + 0.1, y, "n")])), locator=locator)
    ingest_detections(db.sessions, io.StringIO(_viirs([(x + 0.2, y, "h")], sat="N20")), locator=locator)
    roof, fire, far = _ids(db)
    planner = bearer(tokens["planner"])
    checks = [client.post("/api/ground-checks", json={"hotspot_id": h}, headers=planner).json() for h in
              (roof, fire, far)]
    ids = [c["id"] for c in checks]
    # Hostile or inconsistent results are refused with the field named, nothing changes.
    for body, field in (({"result": "bukan_api"}, "cause"), ({"result": "api_aktif", "cause": "industri"}, "cause"),
                        ({"result": "sudah_padam", "area_ha": 3}, "area_ha"), ({"result": "meledak"}, "result"),
                        ({"result": "api_aktif", "area_ha": -1}, "area_ha")):
        r = client.post(f"/api/ground-checks/{ids[0]}/result", json=body, headers=planner)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    r = client.post(f"/api/ground-checks/{ids[0]}/result", json={"result": "bukan_api", "cause": "pantulan_atap",
                                                                 "version": 1}, headers=planner)
    assert r.status_code == 200, r.text
    done = r.json()["properties"]
    assert done["result"] == "bukan_api" and done["heat_source_id"] and done["version"] == 2
    # Stale version: someone recorded first.
    r = client.post(f"/api/ground-checks/{ids[0]}/result", json={"result": "sudah_padam", "version": 1},
                    headers=planner)
    assert r.status_code == 409
    # A dispatcher relays the crew's answer.
    r = client.post(f"/api/ground-checks/{ids[1]}/result", json={"result": "api_aktif", "area_ha": 2.5},
                    headers=bearer(tokens["dispatcher"]))
    assert r.status_code == 200 and r.json()["properties"]["area_ha"] == 2.5
    r = client.post(f"/api/ground-checks/{ids[2]}/result", json={"result": "bukan_api", "cause": "lainnya"},
                    headers=bearer(tokens["leader"]))
    assert r.status_code == 403
    client.post(f"/api/ground-checks/{ids[2]}/result", json={"result": "tidak_terjangkau"}, headers=planner)
    with db.sessions() as s:
        src = s.get(HeatSource, done["heat_source_id"])
        assert src.kind == "atap_seng" and src.origin == "cek_lapangan"
        marks = dict(s.execute(select(Hotspot.id, Hotspot.static_source_id)).all())
    assert marks[roof] == src.id and marks[fire] is None and marks[far] is None
    stats = client.get("/api/ground-checks/stats").json()
    assert stats["results"] == {"api_aktif": 1, "sudah_padam": 0, "bukan_api": 1, "tidak_terjangkau": 1}
    by_sat = {row["key"]: row for row in stats["by_satellite"]}
    assert by_sat["Suomi NPP"] == {"key": "Suomi NPP", "checked": 2, "false_alarms": 1, "false_alarm_share": 0.5}
    assert "NOAA-20" not in by_sat  # unreachable: neither fire nor false alarm
    by_conf = {row["key"]: row["false_alarm_share"] for row in stats["by_confidence"]}
    assert by_conf == {"high": 1.0, "nominal": 0.0}
    feats = client.get("/api/ground-checks").json()["features"]
    assert {f["properties"]["result"] for f in feats} == {"bukan_api", "api_aktif", "tidak_terjangkau"}


def test_alerts_once_per_cluster_per_day_nominal_high_not_static(db, locator) -> None:
    x, y = BUNTOK
    today = utcnow().strftime("%Y-%m-%d")

    def write(hub):
        first = ingest_detections(db.sessions, io.StringIO(_viirs(
            [(x, y, "n"), (x + 0.001, y, "h"), (x + 0.3, y + 0.3, "l")], day=today, time="0100")), locator=locator,
            hub=hub)
        # Same cluster, same day, later pass: no second alert. Far outside the regency: none.
        again = ingest_detections(db.sessions, io.StringIO(_viirs(
            [(x + 0.0015, y, "h"), (110.0, -7.0, "h")], day=today, time="0300")), locator=locator, hub=hub)
        return first, again

    (first, again), events = asyncio.run(events_while(db, write))
    assert first.alerts == 1 and again.alerts == 0
    alerts = [e for e in events if e["kind"] == "hotspot.alert"]
    assert len(alerts) == 1
    a = alerts[0]["data"]
    assert a["confidence"] == "high" and a["reason"] == "kecamatan" and a["kecamatan_code"]
    assert a["cluster_cell"] == h3.latlng_to_cell(y, x, 7)
    with db.sessions() as s:
        assert s.scalar(select(func.count(HotspotAlert.id))) == 1


def test_alert_near_a_desa_centre_outside_and_static_sources_quiet(client, db, locator) -> None:
    from store.heat_sources import create_heat_source
    from tests.store.test_hotspot_honesty import _square

    x, y = BUNTOK
    today = utcnow().strftime("%Y-%m-%d")
    with db.sessions() as s, s.begin():
        create_heat_source(s, geometry=_square(x, y), name="Pabrik", kind="industri", actor="t")
    quiet = ingest_detections(db.sessions, io.StringIO(_viirs([(x, y, "h")], day=today)), locator=locator)
    assert quiet.static_source == 1 and quiet.alerts == 0
    # Low confidence never alerts.
    low = ingest_detections(db.sessions, io.StringIO(_viirs([(x + 0.05, y, "l")], day=today)), locator=locator)
    assert low.alerts == 0
    # A detection just across the border, within 5 km of a desa centre, alerts as "dekat_desa" ...
    with db.sessions() as s:
        from store.models import Desa

        desa = s.execute(select(Desa.kode, Desa.lng, Desa.lat)).all()
    outside = None
    for _, lng, lat in desa:
        for dx, dy in ((0.03, 0), (-0.03, 0), (0, 0.03), (0, -0.03)):
            a = locator.locate(lon=lng + dx, lat=lat + dy)
            if not a["inside_regency"]:
                outside = (lng + dx, lat + dy)
                break
        if outside:
            break
    assert outside is not None
    near = ingest_detections(db.sessions, io.StringIO(_viirs([(*outside, "n")], day=today, time="0400")),
                             locator=locator)
    assert near.alerts == 1
    got = client.get("/api/hotspots/alerts").json()
    assert got["count"] == 1 and got["alerts"][0]["reason"] == "dekat_desa"
    assert got["alerts"][0]["near_desa"] and got["alerts"][0]["near_desa_m"] <= 5000
    # ... but not with a 1 km radius (a fresh day key would allow it, the radius does not).
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    far = ingest_detections(db.sessions, io.StringIO(_viirs([(*outside, "n")], day=tomorrow, time="0400")),
                            locator=locator, alert_near_km=1.0)
    assert far.alerts == 0


def test_an_archive_raises_no_alert(db, locator) -> None:
    """Detections acquired more than a day ago are history: ingesting them now alerts nobody."""
    old = (utcnow() - timedelta(days=3)).strftime("%Y-%m-%d")
    report = ingest_detections(db.sessions, io.StringIO(_viirs([(*BUNTOK, "h")], day=old)), locator=locator)
    assert report.inserted == 1 and report.alerts == 0
