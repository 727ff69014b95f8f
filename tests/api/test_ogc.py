"""OGC API Features and exports on both backends; GDAL's OAPIF driver reads a collection from a live server."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pyogrio
import pytest
import shapely

from api.config import PROJECT_ROOT
from api.routes.exports import csv_safe, features_csv, features_gpkg
from store.floods import create_flood
from store.hotspots import ingest_detections
from tests.conftest import TEST_PASSWORD, bearer
from tests.servers import server

FIX = PROJECT_ROOT / "tests" / "fixtures" / "firms"
PAYLOAD = '=HYPERLINK("http://x")<script>alert(1)</script>\'; DROP TABLE hotspot;--'


def _seed(db, locator) -> int:
    for name in ("viirs_snpp_nrt.csv", "modis_nrt.csv"):
        ingest_detections(db.sessions, FIX / name, locator=locator)
    with db.sessions() as s, s.begin():
        zone, _ = create_flood(s, geometry=shapely.box(114.83, -1.73, 114.86, -1.70), name=PAYLOAD, actor="t")
        return zone.id


def test_landing_conformance_collections(client) -> None:
    land = client.get("/ogc").json()
    rels = {link["rel"] for link in land["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/core") for c in conf) and any(c.endswith("/conf/geojson") for c in conf)
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert {"hotspots", "flood_zones", "desa", "kecamatan", "kabupaten"} <= set(ids)
    desa = client.get("/ogc/collections/desa").json()
    x0, y0, x1, y1 = desa["extent"]["spatial"]["bbox"][0]
    assert 114 < x0 < x1 < 116 and -3 < y0 < y1 < -1
    assert client.get("/ogc/collections/nope").status_code == 404


def test_items_paging_bbox_datetime(client, db, locator) -> None:
    _seed(db, locator)
    r = client.get("/ogc/collections/hotspots/items", params={"limit": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    page = r.json()
    assert page["numberMatched"] == 10 and page["numberReturned"] == 3
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    page2 = client.get(nxt).json()
    assert {f["id"] for f in page2["features"]}.isdisjoint({f["id"] for f in page["features"]})
    assert any(link["rel"] == "prev" for link in page2["links"])
    r = client.get("/ogc/collections/hotspots/items", params={"datetime": "2023-09-15T00:00:00Z/.."})
    assert 0 < r.json()["numberMatched"] < 10
    assert all(f["properties"]["acq_time"] >= "2023-09-15" for f in r.json()["features"])
    r = client.get("/ogc/collections/hotspots/items", params={"bbox": "114.8,-1.8,114.9,-1.7"})
    assert 0 < r.json()["numberMatched"] < 10
    assert client.get("/ogc/collections/hotspots/items", params={"datetime": "yesterday"}).status_code == 422
    fid = page["features"][0]["id"]
    one = client.get(f"/ogc/collections/hotspots/items/{fid}").json()
    assert one["id"] == fid and one["geometry"]["type"] == "Point"
    assert client.get("/ogc/collections/hotspots/items/99999999").status_code == 404
    desa = client.get("/ogc/collections/desa/items", params={"limit": 1000}).json()
    assert desa["numberMatched"] == 93


def test_ogc_requires_login(anon_client) -> None:
    for path in ("/ogc", "/ogc/collections", "/ogc/collections/desa/items", "/api/export/desa.geojson"):
        assert anon_client.get(path).status_code == 401


def test_exports_keep_payloads_inert(client, db, locator) -> None:
    _seed(db, locator)
    gj = client.get("/api/export/flood_zones.geojson")
    assert gj.status_code == 200
    assert json.loads(gj.content)["features"][0]["properties"]["name"] == PAYLOAD
    assert "attachment" in gj.headers["content-disposition"]
    c = client.get("/api/export/flood_zones.csv")
    rows = list(csv.DictReader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert rows[0]["name"] == "'" + PAYLOAD and rows[0]["wkt"].startswith("MULTIPOLYGON")
    g = client.get("/api/export/hotspots.gpkg")
    assert g.status_code == 200 and g.content[:16] == b"SQLite format 3\x00"
    assert client.get("/api/export/secrets.csv").status_code == 422
    assert client.get("/api/export/desa.shp").status_code == 422


def test_csv_and_gpkg_of_points_polygons_and_missing_geometries(tmp_path) -> None:
    features = [
        {"id": 1, "geometry": {"type": "Point", "coordinates": [114.85, -1.71]}, "properties": {"name": "=1+1"}},
        {"id": 2, "geometry": None, "properties": {"name": "belum ada lokasi"}},  # a call still perlu_lokasi
        {
            "id": 3,
            "geometry": {"type": "Polygon", "coordinates": [[[114, -2], [115, -2], [115, -1], [114, -1], [114, -2]]]},
            "properties": {"name": None},
        },
    ]
    rows = list(csv.DictReader(io.StringIO(features_csv(features, ["name"]).decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0] == {"id": "1", "name": "'=1+1", "lon": "114.85", "lat": "-1.71", "wkt": "POINT (114.85 -1.71)"}
    assert rows[1] == {"id": "2", "name": "belum ada lokasi", "lon": "", "lat": "", "wkt": ""}
    assert (rows[2]["lon"], rows[2]["lat"]) == ("114.5", "-1.5") and rows[2]["wkt"].startswith("POLYGON ((114 -2")
    assert features_csv([], ["name"]).decode("utf-8-sig") == "id,name,lon,lat,wkt\n"
    path = tmp_path / "x.gpkg"
    path.write_bytes(features_gpkg(features, ["name"], "x"))
    import pyogrio

    back = pyogrio.read_dataframe(path)
    assert back["fid_sigap"].tolist() == [1, 2, 3] and back.geometry.isna().tolist() == [False, True, False]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("=1+1", "'=1+1"),
        ("+62 812", "'+62 812"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Buntok", "Buntok"),
        (-3.5, -3.5),
        (None, None),
    ],
)
def test_csv_formula_guard(value, expected) -> None:
    assert csv_safe(value) == expected


def test_gdal_oapif_reads_a_collection(database, locator, tmp_path) -> None:
    _seed(database, locator)
    try:
        with server(database.url) as base:
            token = httpx.post(
                f"{base}/api/auth/token", data={"username": "t-leader", "password": TEST_PASSWORD}
            ).json()["access_token"]
            assert httpx.get(f"{base}/ogc", headers=bearer(token)).status_code == 200
            # GDAL's OAPIF driver sends the headers of GDAL_HTTP_HEADER_FILE (GDAL 3.12 ignores GDAL_HTTP_HEADERS
            # there), the same mechanism QGIS users get with an "HTTP header" authentication configuration.
            header_file = tmp_path / "headers.txt"
            header_file.write_text(f"Authorization: Bearer {token}\n")
            pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": str(header_file)})
            try:
                layers = [name for name, _ in pyogrio.list_layers(f"OAPIF:{base}/ogc")]
                assert "hotspots" in layers and "flood_zones" in layers
                hot = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="hotspots")
                floods = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="flood_zones")
            finally:
                pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": None})
    finally:
        database.clean()
    assert len(hot) == 10 and set(hot.geom_type) == {"Point"}
    assert hot.crs is not None
    x0, y0, x1, y1 = hot.total_bounds
    assert 114 < x0 <= x1 < 116 and -3 < y0 <= y1 < -1  # lon/lat order survived the round trip
    assert floods["name"].tolist() == [PAYLOAD]
