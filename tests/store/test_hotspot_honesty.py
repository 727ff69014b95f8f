"""Hotspots read honestly, on both backends: confidence codings, date-only detections, static heat sources."""

from __future__ import annotations

import io

import pytest
import shapely
from sqlalchemy import func, select

from geo.firms import ConfidenceCodingError
from store.accounts import AuditRecord
from store.heat_sources import create_heat_source, delete_heat_source, update_heat_source
from store.hotspots import Hotspot, ingest_detections
from tests.conftest import bearer

WINDOW = {"window": "custom", "since": "2019-01-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}
VIIRS = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
         "bright_ti5,frp,daynight\n")
# Buntok (Dusun Selatan), inside Barito Selatan.
BUNTOK = (114.8450, -1.7150)


def _viirs(rows: list[tuple[float, float, str]], *, day: str = "2023-09-14", time: str = "0542") -> str:
    return VIIRS + "".join(f"{y},{x},330,0.4,0.4,{day},{time},N,VIIRS,{c},2.0NRT,297,4.2,D\n" for x, y, c in rows)


def _count(db) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count(Hotspot.id))))


def _square(x: float, y: float, half: float = 0.002) -> shapely.Polygon:
    return shapely.box(x - half, y - half, x + half, y + half)


@pytest.mark.parametrize(
    ("confs", "coding", "levels"),
    [
        (["0", "1", "2"], "viirs_numeric", ["low", "nominal", "high"]),
        (["l", "n", "h"], "viirs_letters", ["low", "nominal", "high"]),
        (["low", "nominal", "high"], "class_words", ["low", "nominal", "high"]),
    ],
)
def test_codings_stored_on_one_scale_and_reported(db, locator, confs, coding, levels) -> None:
    rows = [(BUNTOK[0] + i * 0.01, BUNTOK[1], c) for i, c in enumerate(confs)]
    report = ingest_detections(db.sessions, io.StringIO(_viirs(rows)), locator=locator)
    assert report.inserted == 3
    assert report.counts()["confidence_coding"] == coding
    assert "0/1/2" in report.counts()["confidence_coding_text"][1] or coding != "viirs_numeric"
    with db.sessions() as s:
        stored = s.execute(select(Hotspot.confidence, Hotspot.confidence_raw).order_by(func.ST_X(Hotspot.geom))).all()
    assert [r[0] for r in stored] == levels
    assert [r[1] for r in stored] == confs


def test_modis_percent_reported(db, locator) -> None:
    header = ("latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
              "bright_t31,frp,daynight\n")
    text = header + f"{BUNTOK[1]},{BUNTOK[0]},320,1,1,2023-09-14,0305,Terra,MODIS,85,6.1NRT,297,8.1,D\n"
    report = ingest_detections(db.sessions, io.StringIO(text), locator=locator)
    assert report.counts()["confidence_coding"] == "modis_percent"
    with db.sessions() as s:
        assert s.scalar(select(Hotspot.confidence)) == "high"


def test_unknown_coding_refused_nothing_stored(db, locator) -> None:
    text = _viirs([(BUNTOK[0], BUNTOK[1], "n"), (BUNTOK[0] + 0.01, BUNTOK[1], "sure")])
    with pytest.raises(ConfidenceCodingError) as err:
        ingest_detections(db.sessions, io.StringIO(text), locator=locator)
    assert "sure" in str(err.value)
    assert _count(db) == 0


def test_upload_unknown_coding_is_422_naming_confidence(app_client, tokens, db) -> None:
    text = _viirs([(BUNTOK[0], BUNTOK[1], "45"), (BUNTOK[0] + 0.01, BUNTOK[1], "90")])
    files = {"file": ("viirs.csv", text.encode(), "text/csv")}
    r = app_client.post("/api/hotspots/upload", files=files, headers=bearer(tokens["planner"]))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "confidence" and "VIIRS" in body["message_en"] and "l/n/h" in body["message_id"]
    assert _count(db) == 0
    ok = {"file": ("v.csv", _viirs([(BUNTOK[0], BUNTOK[1], "2")]).encode(), "text/csv")}
    r = app_client.post("/api/hotspots/upload", files=ok, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    assert r.json()["confidence_coding"] == "viirs_numeric"
    assert r.json()["confidence_coding_text"][0].startswith("VIIRS angka 0/1/2")
    db.clean()


def test_date_only_file_stored_flagged_and_shown_as_date(client, db, locator) -> None:
    header = VIIRS.replace("acq_time,", "")
    text = header + f"{BUNTOK[1]},{BUNTOK[0]},330,0.4,0.4,2023-09-14,N,VIIRS,h,2.0NRT,297,4.2,D\n"
    report = ingest_detections(db.sessions, io.StringIO(text), locator=locator)
    assert report.inserted == 1 and report.date_only == 1 and report.counts()["date_only"] == 1
    timed = ingest_detections(db.sessions, io.StringIO(_viirs([(BUNTOK[0] + 0.02, BUNTOK[1], "h")])),
                              locator=locator)
    assert timed.date_only == 0
    with db.sessions() as s:
        flags = s.execute(select(Hotspot.date_only).order_by(func.ST_X(Hotspot.geom))).scalars().all()
    assert flags == [True, False]
    feats = client.get("/api/hotspots", params=WINDOW).json()["features"]
    by_flag = {f["properties"]["date_only"]: f["properties"] for f in feats}
    assert by_flag[True]["acq_time_wib"] == "14-09-2023 (tanggal saja)"
    assert by_flag[False]["acq_time_wib"] == "14-09-2023 12:42 WIB"


def test_static_source_marks_inside_and_follows_edits(db, locator) -> None:
    x, y = BUNTOK
    rows = [(x, y, "h"), (x + 0.0005, y, "n"), (x + 0.05, y, "h")]
    ingest_detections(db.sessions, io.StringIO(_viirs(rows)), locator=locator)

    def marks() -> list[int | None]:
        with db.sessions() as s:
            return s.execute(select(Hotspot.static_source_id)
                             .order_by(func.ST_X(Hotspot.geom))).scalars().all()

    assert marks() == [None, None, None]
    with db.sessions() as s, s.begin():
        src, marked = create_heat_source(s, geometry=_square(x, y), name="Pabrik karet", kind="industri", actor="t")
        sid = src.id
    assert marked == 2 and marks() == [sid, sid, None]
    # Moving the polygon to the third detection moves the mark.
    with db.sessions() as s, s.begin():
        _, changed = update_heat_source(s, sid, changes={"geometry": _square(x + 0.05, y)}, version=1, actor="t")
    assert changed == 3 and marks() == [None, None, sid]
    # A later ingest marks new detections inside at once, and the report counts them.
    report = ingest_detections(db.sessions, io.StringIO(_viirs([(x + 0.0501, y, "h")], time="0600")),
                               locator=locator)
    assert report.static_source == 1 and marks()[-1] == sid
    with db.sessions() as s, s.begin():
        assert delete_heat_source(s, sid, actor="t") == 2
    assert marks() == [None, None, None, None]
    with db.sessions() as s:
        actions = s.scalars(select(AuditRecord.action).where(AuditRecord.entity == "heat_source")).all()
    assert {"heat_source.create", "heat_source.update", "heat_source.delete"} <= set(actions)


def test_api_heat_sources_and_clusters_leave_static_out(client, tokens, db, locator) -> None:
    x, y = BUNTOK
    ingest_detections(db.sessions, io.StringIO(_viirs([(x, y, "h"), (x + 0.05, y, "h")])), locator=locator)
    feature = {"type": "Feature", "geometry": shapely.geometry.mapping(_square(x, y)),
               "properties": {"name": "Atap seng pasar", "kind": "atap_seng"}}
    r = client.post("/api/heat-sources", json=feature, headers=bearer(tokens["leader"]))
    assert r.status_code == 403
    r = client.post("/api/heat-sources", json=feature, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    assert r.json()["marked"] == 1 and r.json()["properties"]["kind_label"].startswith("Atap seng")
    sid = r.json()["id"]
    pts = client.get("/api/hotspots", params=WINDOW).json()
    assert sorted(str(f["properties"]["static_source_id"]) for f in pts["features"]) == [str(sid), "None"]
    # Points show "sumber tetap" by default; clusters leave them out unless asked.
    gi = client.get("/api/hotspots/clusters", params={**WINDOW, "res": 7, "significant_only": "false"}).json()
    assert gi["filter"]["include_static"] is False
    assert sum(f["properties"]["value"] for f in gi["features"] if f["properties"]["observed"]) == 1
    gi_all = client.get("/api/hotspots/clusters",
                        params={**WINDOW, "res": 7, "significant_only": "false", "include_static": "true"}).json()
    assert sum(f["properties"]["value"] for f in gi_all["features"] if f["properties"]["observed"]) == 2
    assert client.get("/api/heat-sources").json()["count"] == 1
    # Bad polygons: self-intersecting is repaired, empty / a line refused with the reason, nothing stored.
    bow = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y + 0.01], [x + 0.01, y], [x, y + 0.01], [x, y]]]}
    r = client.post("/api/heat-sources", json={**feature, "geometry": bow}, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    for geom in ({"type": "Polygon", "coordinates": []},
                 {"type": "LineString", "coordinates": [[x, y], [x + 1, y]]},
                 {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x, y]]]}):
        r = client.post("/api/heat-sources", json={**feature, "geometry": geom}, headers=bearer(tokens["planner"]))
        assert r.status_code == 422, (geom, r.text)
        assert r.json()["field"] == "geometry"
    assert client.get("/api/heat-sources").json()["count"] == 2
    r = client.patch(f"/api/heat-sources/{sid}", json={"version": 7, "name": "x"}, headers=bearer(tokens["planner"]))
    assert r.status_code == 409
    r = client.delete(f"/api/heat-sources/{sid}", headers=bearer(tokens["planner"]))
    assert r.status_code == 204
    assert client.get(f"/api/heat-sources/{sid}").status_code == 404


def test_uploads_and_bodies_over_the_limit_are_413(app_client, tokens, db) -> None:
    planner = bearer(tokens["planner"])
    big = b'{"type":"FeatureCollection","features":[' + b" " * 1_100_000 + b"]}"
    r = app_client.post("/api/floods/import", files={"file": ("besar.geojson", big, "application/geo+json")},
                        headers=planner)
    assert r.status_code == 413
    coords = [[BUNTOK[0] + i * 1e-6, BUNTOK[1]] for i in range(60_000)]
    body = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [coords]},
            "properties": {"name": "x", "kind": "industri"}}
    r = app_client.post("/api/heat-sources", json=body, headers=planner)
    assert r.status_code == 413
    r = app_client.post("/api/ground-checks", json={"hotspot_id": 1, "note": "x" * 1_100_000}, headers=planner)
    assert r.status_code == 413
    with db.sessions() as s:
        from store.heat_sources import HeatSource
        from store.incidents import Incident

        assert s.scalar(select(func.count(HeatSource.id))) == 0
        assert s.scalar(select(func.count(Incident.id))) == 0
    db.clean()


def test_hexagons_name_their_desa_not_only_the_cell(client, db, locator) -> None:
    import h3

    x, y = BUNTOK
    # Three detections in one desa and one a little away: the cell is named after the desa holding most.
    rows = [(x, y, "h"), (x + 0.0004, y, "n"), (x, y + 0.0004, "n"), (x + 0.3, y - 0.3, "h")]
    ingest_detections(db.sessions, io.StringIO(_viirs(rows)), locator=locator)
    body = client.get("/api/hotspots/h3", params={**WINDOW, "res": 7}).json()
    by_cell = {f["properties"]["h3"]: f["properties"] for f in body["features"]}
    here = by_cell[h3.latlng_to_cell(y, x, 7)]
    assert here["count"] == 3 and here["desa_count"] == 1
    assert here["desa_name"] == locator.locate(lon=x, lat=y)["desa"]["name"]
    far = by_cell[h3.latlng_to_cell(y - 0.3, x + 0.3, 7)]
    expected = locator.locate(lon=x + 0.3, lat=y - 0.3)["desa"]
    assert far["desa_name"] == (expected["name"] if expected else None)
