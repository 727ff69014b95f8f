"""Hotspots in the database and over HTTP, on both backends: ingest, idempotence, area, tags, tables, H3, Gi*."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import func, select

from api.config import PROJECT_ROOT
from api.schemas.hotspots import HotspotCollection, HotspotProperties
from geo.crs import project_geometries
from geo.firms import FirmsFormatError
from store.accounts import AuditRecord
from store.hotspots import Hotspot, ingest_detections
from tests.conftest import bearer
from tests.servers import run_cli

FIX = PROJECT_ROOT / "tests" / "fixtures" / "firms"
WINDOW = {"window": "custom", "since": "2019-01-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}


def _count(db) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count(Hotspot.id)))


def _viirs(rows: list[tuple[float, float, str, str, str, float]]) -> str:
    header = (
        "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,"
        "version,bright_ti5,frp,daynight"
    )
    lines = [header] + [
        f"{lat},{lon},330.1,0.4,0.4,{d},{t},N,VIIRS,{c},2.0NRT,290.0,{frp},D" for lon, lat, d, t, c, frp in rows
    ]
    return "\n".join(lines) + "\n"


def test_ingest_every_fixture_twice_changes_nothing(db, locator) -> None:
    files = sorted(p for p in FIX.glob("*.csv") if "missing" not in p.name)
    first = [ingest_detections(db.sessions, p, locator=locator) for p in files]
    n = _count(db)
    assert n == sum(r.inserted for r in first) and n > 0
    again = [ingest_detections(db.sessions, p, locator=locator) for p in files]
    assert all(r.inserted == 0 for r in again)
    assert all(r.duplicate == r.kept for r in again)
    assert _count(db) == n


def test_malformed_rows_reported_by_line_rest_ingested(db, locator) -> None:
    report = ingest_detections(db.sessions, FIX / "viirs_malformed.csv", locator=locator)
    assert report.rejected == 5
    assert [line for line, _ in report.rejects] == [3, 6, 7, 8, 9]
    assert report.inserted == report.kept == 3
    assert _count(db) == 3


def test_missing_columns_ingest_nothing(db, locator) -> None:
    with pytest.raises(FirmsFormatError, match="latitude"):
        ingest_detections(db.sessions, FIX / "viirs_missing_columns.csv", locator=locator)
    assert _count(db) == 0


def test_area_and_tags(db, locator) -> None:
    csv = _viirs(
        [
            (114.845, -1.71, "2023-09-14", "0542", "h", 10.0),  # Buntok Kota, inside
            (113.9, -2.2, "2023-09-14", "0542", "n", 5.0),  # Kalteng far from Barito Selatan
            (106.8, -6.2, "2023-09-14", "0542", "n", 5.0),  # Jakarta: dropped
        ]
    )
    report = ingest_detections(db.sessions, io.StringIO(csv), locator=locator)
    assert (report.read, report.kept, report.outside, report.inserted) == (3, 2, 1, 2)
    with db.sessions() as s:
        rows = {h.zone: h for h in s.scalars(select(Hotspot))}
    inside = rows["inside"]
    assert inside.desa_code.startswith("62.04.") and inside.kecamatan_code == inside.desa_code[:8]
    assert inside.border_distance_m == 0 and inside.kabupaten_code == "62.04"
    assert inside.confidence == "high" and inside.source == "firms-nrt"
    assert inside.h3_7 and len(inside.h3_9) == 15
    far = rows["kalteng"]
    assert far.desa_code is None and far.border_distance_m is None
    assert far.kabupaten_code.startswith("62.") and far.kabupaten_code != "62.04"


def test_border_detection_gets_neighbour_and_distance(db, locator) -> None:
    # A point a few km west of the regency's western edge.
    desa = locator.layers.desa
    x0 = float(np.min([g.bounds[0] for g in desa.geometry]))
    row = np.argmin([g.bounds[0] for g in desa.geometry])
    y = float(desa.geometry[row].representative_point().y)
    csv = _viirs([(x0 - 0.03, y, "2023-09-15", "1806", "l", 1.0)])
    ingest_detections(db.sessions, io.StringIO(csv), locator=locator)
    with db.sessions() as s:
        h = s.scalars(select(Hotspot)).one()
    assert h.zone == "border"
    assert 0 < h.border_distance_m <= 10_000
    assert h.kabupaten_code != "62.04" and h.desa_code is None


BAND_TEST_M = (7_000.0, 9_900.0, 10_100.0, 12_000.0)


def _straight_out(layers, *, side: str) -> tuple[np.ndarray, np.ndarray, float]:
    """WGS84 points BAND_TEST_M metres (exactly, in UTM 50S) out from the regency's desa, on one ray.

    The ray leaves the outline where a point of its 12 km buffer is farthest `side` (east or north): every
    point of the segment from a point to its nearest point on a set has that same nearest point, so the
    distances are exact, and the last one says whether the ray left Kalimantan Tengah.
    """
    union = shapely.union_all(project_geometries(layers.desa.geometry))
    ring = shapely.get_coordinates(union.buffer(12_000.0, quad_segs=64).exterior)
    far = ring[ring[:, 0].argmax()] if side == "east" else ring[ring[:, 1].argmax()]
    near = shapely.get_coordinates(shapely.shortest_line(union, shapely.Point(far)))[0]
    unit = (far - near) / np.hypot(*(far - near))
    utm = near + np.asarray(BAND_TEST_M)[:, None] * unit
    assert shapely.distance(union, shapely.points(utm)) == pytest.approx(BAND_TEST_M, abs=1.0)
    kalteng = shapely.union_all(project_geometries(layers.kabupaten.geometry))
    beyond_in_kalteng = bool(shapely.contains_xy(kalteng, *utm[-1]))
    wgs = project_geometries(shapely.points(utm), src="EPSG:32750", dst="EPSG:4326")
    return shapely.get_x(wgs), shapely.get_y(wgs), beyond_in_kalteng


def test_border_band_is_ten_km_wide(db, locator) -> None:
    """Detections 7 and 9.9 km outside the desa are kept as 'border' with their distance; at 10.1 and 12 km
    they are dropped outside Kalimantan Tengah (east, into Kalimantan Selatan) and kept as 'kalteng' inside
    it (north, Barito Utara), without a distance."""
    east_lon, east_lat, east_in_kalteng = _straight_out(locator.layers, side="east")
    north_lon, north_lat, north_in_kalteng = _straight_out(locator.layers, side="north")
    assert not east_in_kalteng and north_in_kalteng  # what the bundled layers say; the test rests on it
    # The FRP column labels each row: distance in km east, 100 + distance in km north.
    rows = [(x, y, "2023-09-16", "0600", "n", label + d / 1000)
            for lon, lat, label in ((east_lon, east_lat, 0), (north_lon, north_lat, 100))
            for x, y, d in zip(lon, lat, BAND_TEST_M, strict=True)]
    csv = _viirs([(round(x, 7), round(y, 7), *rest) for x, y, *rest in rows])
    report = ingest_detections(db.sessions, io.StringIO(csv), locator=locator)
    with db.sessions() as s:
        stored = {round(h.frp, 1): h for h in s.scalars(select(Hotspot))}
    assert sorted(stored) == [7.0, 9.9, 107.0, 109.9, 110.1, 112.0]
    assert report.outside == 2 and {z: n for z, n in report.zones.items() if n} == {"border": 4, "kalteng": 2}
    for label, metres in ((7.0, 7_000.0), (9.9, 9_900.0), (107.0, 7_000.0), (109.9, 9_900.0)):
        h = stored[label]
        assert (h.zone, h.desa_code) == ("border", None), label
        # The distance search may settle up to 2 % long beyond 5 km (geo.locate.NearestEdge.EPSILON).
        assert metres - 1.0 <= h.border_distance_m <= metres * 1.02, label
    assert stored[7.0].kabupaten_code is None  # Kalimantan Selatan: no kabupaten of the province
    assert {stored[x].kabupaten_code for x in (107.0, 109.9, 110.1, 112.0)} == {"62.05"}  # Barito Utara
    for label in (110.1, 112.0):
        assert (stored[label].zone, stored[label].border_distance_m) == ("kalteng", None)


def test_ingest_writes_audit_record(db, locator) -> None:
    with db.sessions() as s:
        before = s.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.action == "hotspots.ingest"))
    ingest_detections(db.sessions, FIX / "modis_nrt.csv", locator=locator, actor="tester")
    with db.sessions() as s:
        rec = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "hotspots.ingest").order_by(AuditRecord.id.desc())
        ).first()
        after = s.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.action == "hotspots.ingest"))
    assert after == before + 1
    assert rec.actor == "tester" and rec.after["inserted"] == 6


# ------------------------------------------------------------------------------------------- API


def _seed_cluster(db, locator) -> list[tuple[float, float]]:
    """300 detections, half in a cluster at Buntok; returns their points as stored."""
    rng = np.random.default_rng(7)
    n = 300
    lon = np.r_[rng.normal(114.85, 0.01, n // 2), rng.uniform(114.6, 115.2, n // 2)]
    lat = np.r_[rng.normal(-1.73, 0.01, n // 2), rng.uniform(-2.4, -1.4, n // 2)]
    days = np.array(["2023-09-10", "2023-09-11", "2023-09-12"])[np.arange(n) % 3]
    rows = [(round(x, 5), round(y, 5), d, "0542", "n", 3.0) for x, y, d in zip(lon, lat, days, strict=True)]
    ingest_detections(db.sessions, io.StringIO(_viirs(rows)), locator=locator)
    return [(x, y) for x, y, *_ in rows]


def test_api_geojson_filters(client, db, locator) -> None:
    ingest_detections(db.sessions, FIX / "viirs_snpp_nrt.csv", locator=locator)
    r = client.get("/api/hotspots", params=WINDOW)
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["count"] == 4
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert 114 < lon < 116 and -3 < lat < -1
    for f in fc["features"]:  # the whole-column WIB times agree with a plain conversion of each one
        at = datetime.fromisoformat(f["properties"]["acq_time"])
        assert at.utcoffset() == timedelta(0)
        assert f["properties"]["acq_time_wib"] == at.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%d-%m-%Y %H:%M WIB")
    assert client.get("/api/hotspots", params={**WINDOW, "confidence": "high"}).json()["count"] == 1
    assert client.get("/api/hotspots", params={**WINDOW, "bbox": "114.8,-1.8,114.9,-1.7"}).json()["count"] == 2
    # Relative windows are anchored at `until`.
    r = client.get("/api/hotspots", params={"window": "24h", "until": "2023-09-14T23:59:00Z"})
    assert r.json()["count"] == 3
    assert client.get("/api/hotspots", params={"window": "7d"}).json()["count"] == 0  # years ago


@pytest.mark.parametrize(
    "params,field",
    [
        ({"confidence": "sure"}, "confidence"),
        ({"window": "custom"}, "since"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"zone": "moon"}, "zone"),
        ({"window": "custom", "since": "2023-09-15T00:00:00Z", "until": "2023-09-14T00:00:00Z"}, "since"),
    ],
)
def test_api_bad_filters(client, params, field) -> None:
    r = client.get("/api/hotspots", params=params)
    assert r.status_code == 422
    assert r.json()["field"] == field


def test_api_h3_tables_persistence_clusters(client, db, locator) -> None:
    points = _seed_cluster(db, locator)
    r = client.get("/api/hotspots/h3", params={**WINDOW, "res": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sum(f["properties"]["count"] for f in body["features"]) == body["detections"] == 300
    assert body["features"][0]["geometry"]["type"] == "Polygon"
    frp = sum(f["properties"]["frp_sum"] for f in body["features"])
    assert frp == pytest.approx(900.0)
    assert client.get("/api/hotspots/h3", params={**WINDOW, "res": 4}).status_code == 422

    desa = client.get("/api/hotspots/by-desa", params=WINDOW).json()
    assert len(desa["rows"]) == 93
    assert desa["rows"][0]["count"] >= desa["rows"][-1]["count"]
    # The per-desa counts, worked out here point by point with the single-point locator.
    expected = Counter(
        a["desa"]["code"] for a in (locator.locate(lon=x, lat=y) for x, y in points) if a["desa"] is not None
    )
    assert {r["desa_code"]: r["count"] for r in desa["rows"] if r["count"]} == dict(expected)
    assert desa["rows"][0]["desa_code"] == expected.most_common(1)[0][0] and desa["rows"][0]["count"] > 50
    kec = client.get("/api/hotspots/by-kecamatan", params=WINDOW).json()
    assert len(kec["rows"]) == 6 and kec["total"] == desa["total"]

    per = client.get("/api/hotspots/persistence", params={**WINDOW, "until": "2023-09-12T12:00:00Z", "res": 6}).json()
    assert max(f["properties"]["longest_run"] for f in per["features"]) == 3
    assert any(f["properties"]["current_run"] == 3 for f in per["features"])

    gi = client.get("/api/hotspots/clusters", params={**WINDOW, "res": 7}).json()
    assert gi["classes"]["hot99"] >= 1
    hot = [f for f in gi["features"] if f["properties"]["class"] == "hot99"]
    assert all(f["properties"]["z"] >= 2.576 for f in hot)


def test_upload_roles_counts_and_limits(app_client, tokens, db) -> None:
    data = (FIX / "viirs_malformed.csv").read_bytes()
    files = {"file": ("viirs.csv", data, "text/csv")}
    r = app_client.post("/api/hotspots/upload", files=files, headers=bearer(tokens["leader"]))
    assert r.status_code == 403
    r = app_client.post("/api/hotspots/upload", files=files, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    assert r.json()["inserted"] == 3 and r.json()["rejected"] == 5
    assert [x["line"] for x in r.json()["first_rejects"]] == [3, 6, 7, 8, 9]
    bad = {"file": ("x.csv", (FIX / "viirs_missing_columns.csv").read_bytes(), "text/csv")}
    r = app_client.post("/api/hotspots/upload", files=bad, headers=bearer(tokens["admin"]))
    assert r.status_code == 422 and "latitude" in r.json()["message_en"]
    big = {"file": ("big.csv", b"latitude,longitude\n" + b"1,2\n" * 400_000, "text/csv")}
    r = app_client.post("/api/hotspots/upload", files=big, headers=bearer(tokens["planner"]))
    assert r.status_code == 413
    db.clean()


def test_cli_ingest_missing_columns_exit_2(database, tmp_path: Path) -> None:
    env = {"SIGAP_DATABASE_URL": database.url, "PATH": "/usr/bin:/bin"}
    p = run_cli(["ingest-firms", str(FIX / "viirs_missing_columns.csv"), "-q"], env=env)
    assert p.returncode == 2, p.stderr
    assert "latitude" in p.stdout  # acq_time may be absent: such a file is read date-only
    p = run_cli(["ingest-firms", str(FIX / "viirs_malformed.csv"), "-q"], env=env)
    assert p.returncode == 0, p.stderr
    assert "line 3" in p.stdout and "inserted" in p.stdout
    with database.sessions() as s:
        assert s.scalar(select(func.count(Hotspot.id))) == 3
    database.clean()


def test_generic_csv_with_mapped_columns(db, locator) -> None:
    frame = pd.DataFrame(
        {
            "y": [-1.71, -1.72],
            "x": [114.845, 114.85],
            "when": ["2023-09-14 05:00", "2023-09-14"],
            "petugas": ["=cmd|' /C calc'!A0", "Rahmat"],
        }
    )
    buf = io.StringIO(frame.to_csv(index=False))
    report = ingest_detections(
        db.sessions, buf, locator=locator, fmt="generic", columns={"latitude": "y", "longitude": "x", "date": "when"}
    )
    assert report.inserted == 2
    with db.sessions() as s:
        attrs = sorted(h.attributes["petugas"] for h in s.scalars(select(Hotspot)))
    assert attrs == ["=cmd|' /C calc'!A0", "Rahmat"]


def test_select_area_carries_h3_cells_into_the_stored_rows(locator) -> None:
    import h3

    from geo.firms import DetectionChunk, read_detections
    from geo.times import utcnow
    from store.hotspots import H3_RESOLUTIONS, hotspot_frame, select_area

    csv = _viirs(
        [
            (114.845, -1.71, "2023-09-14", "0542", "h", 10.0),  # inside
            (113.9, -2.2, "2023-09-14", "0542", "n", 5.0),  # Kalteng
            (106.8, -6.2, "2023-09-14", "0542", "n", 5.0),  # dropped
            (114.9, -1.8, "2023-09-15", "1806", "l", 1.0),  # inside
        ]
    )
    chunk = next(iter(read_detections(io.StringIO(csv))))
    kept = select_area(chunk, locator=locator, h3_resolutions=H3_RESOLUTIONS)
    assert len(kept) == 3 and sorted(kept.cells) == list(H3_RESOLUTIONS)
    now = utcnow()
    frame = hotspot_frame(kept, source=None, ingested_at=now)
    # The same chunk without cells: hotspot_frame computes them itself, with the same result.
    bare = DetectionChunk(frame=kept.frame, extras=kept.extras, rejects=kept.rejects, fmt=kept.fmt)
    pd.testing.assert_frame_equal(frame, hotspot_frame(bare, source=None, ingested_at=now))
    for res in H3_RESOLUTIONS:
        assert frame[f"h3_{res}"].tolist() == [
            h3.latlng_to_cell(y, x, res) for x, y in zip(kept.lon, kept.lat, strict=True)
        ]


def test_api_point_properties_are_the_schema_fields(client, db, locator) -> None:
    """A detection's GeoJSON properties are exactly HotspotProperties: its time (UTC and WIB) and its desa by name."""
    at = (datetime.now(UTC) - timedelta(minutes=50)).replace(second=0, microsecond=0)
    row = (114.8445, -1.7065, f"{at:%Y-%m-%d}", f"{at:%H%M}", "h", 7.5)  # Buntok Kota
    ingest_detections(db.sessions, io.StringIO(_viirs([row])), locator=locator)
    body = client.get("/api/hotspots", params={"window": "24h"}).json()
    HotspotCollection.model_validate(body)
    (feature,) = body["features"]
    props = feature["properties"]
    assert set(props) == set(HotspotProperties.model_fields)
    assert datetime.fromisoformat(props["acq_time"]) == at
    assert props["acq_time_wib"] == at.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%d-%m-%Y %H:%M WIB")
    assert props["desa_name"] == "Buntok Kota" and props["confidence"] == "high"
