"""Flood zones on both backends: create/edit over HTTP, repair or refuse polygons, affected desa, import, proxy."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select, text

from geo.floods import PROXY_SOURCE, FloodGeometryError, affected_desa, barito_floodplain_proxy, clean_polygon
from store.accounts import AuditRecord
from store.floods import FloodZone, active_flood_geometries, import_flood_file, seed_proxy_floodplain
from store.network import ensure_default_network
from tests.conftest import bearer
from tests.servers import run_cli

BUNTOK = shapely.box(114.83, -1.73, 114.86, -1.70)
BOWTIE = shapely.Polygon([(114.8, -1.8), (114.9, -1.7), (114.9, -1.8), (114.8, -1.7)])


def _feature(geom: shapely.Geometry, **props) -> dict:
    return {
        "type": "Feature",
        "geometry": json.loads(shapely.to_geojson(geom)),
        "properties": {"name": "Banjir Buntok", **props},
    }


# ------------------------------------------------------------------------------------------- pure


def test_clean_polygon_repairs_bowtie_and_refuses_junk() -> None:
    c = clean_polygon(BOWTIE)
    assert c.repaired and "Self-intersection" in c.reason
    assert c.geometry.is_valid and c.geometry.geom_type == "MultiPolygon" and c.area_m2 > 1e6
    with pytest.raises(FloodGeometryError, match="polygon"):
        clean_polygon(shapely.LineString([(114.8, -1.8), (114.9, -1.7)]))
    with pytest.raises(FloodGeometryError, match="lon, lat"):
        clean_polygon(shapely.box(-1.8, 114.8, -1.7, 114.9))
    with pytest.raises(FloodGeometryError, match="no area|cannot be repaired"):
        clean_polygon(shapely.Polygon([(114.8, -1.8), (114.9, -1.8), (114.85, -1.8), (114.8, -1.8)]))


def test_affected_desa_share_matches_areas(bundled_layers) -> None:
    desa = bundled_layers.desa
    i = int(np.flatnonzero(desa.name == "Buntok Kota")[0])
    whole = desa.geometry[i]
    table = affected_desa(whole, desa_geometry=desa.geometry, desa_code=desa.code, desa_name=desa.name)
    top = table.iloc[0]
    assert top["desa_name"] == "Buntok Kota" and top["share"] == pytest.approx(1.0, abs=1e-6)
    half = shapely.intersection(whole, shapely.box(*whole.bounds[:2], whole.centroid.x, whole.bounds[3]))
    table = affected_desa(half, desa_geometry=desa.geometry, desa_code=desa.code, desa_name=desa.name)
    row = table[table["desa_name"] == "Buntok Kota"].iloc[0]
    assert 0.05 < row["share"] < 0.95


def test_proxy_is_clipped_to_regency(bundled_layers) -> None:
    regency = shapely.union_all(shapely.make_valid(bundled_layers.desa.geometry))
    proxy = barito_floodplain_proxy(rivers=bundled_layers.rivers.geometry, regency=regency, width_m=2000)
    assert proxy.is_valid
    assert shapely.area(shapely.difference(proxy, regency.buffer(0.01))) < 1e-6


# -------------------------------------------------------------------------------------------- API


def test_create_edit_affected_and_events(app_client, tokens, db, bundled_layers) -> None:
    with db.sessions() as s:  # the derived road network, whatever earlier tests left in the table
        ensure_default_network(s, bundled_layers)
        s.commit()
        # The audit log is append-only and outlives each test (zone ids repeat on SQLite): count from here.
        mark = s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))
    r = app_client.post("/api/floods", json=_feature(BUNTOK, severity="tinggi"), headers=bearer(tokens["dispatcher"]))
    assert r.status_code == 201, r.text
    zone = r.json()
    assert zone["properties"]["severity"] == "tinggi" and zone["properties"]["status"] == "active"
    assert zone["repaired"] is False
    zid = zone["id"]
    with db.sessions() as s:
        geoms = active_flood_geometries(s)
        assert len(geoms) == 1 and geoms[0].intersects(BUNTOK.centroid)
        assert (
            s.scalar(
                select(func.count(AuditRecord.id)).where(
                    AuditRecord.action == "flood.create", AuditRecord.entity_id == str(zid), AuditRecord.id > mark
                )
            )
            == 1
        )
    aff = app_client.get(f"/api/floods/{zid}/affected", headers=bearer(tokens["leader"])).json()
    assert aff["desa_count"] >= 1 and "Buntok Kota" in [d["desa_name"] for d in aff["desa"]]
    assert all(0 < d["share"] <= 1 for d in aff["desa"])
    # The network lines under the zone, worked out here in shapely from the stored lines.
    with db.sessions() as s:
        stored = s.execute(text("SELECT id, ST_AsText(geom) FROM network_line ORDER BY id")).all()
    area = shapely.geometry.shape(zone["geometry"])
    under = [i for i, wkt in stored if shapely.from_wkt(wkt).intersects(area)]
    assert aff["roads_cut"]["available"] is True and len(under) > 0
    assert aff["roads_cut"]["count"] == len(under) and aff["roads_cut"]["ids"] == under

    r = app_client.patch(
        f"/api/floods/{zid}", json={"status": "ended", "version": 1}, headers=bearer(tokens["planner"])
    )
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == ["status"] and r.json()["properties"]["version"] == 2
    r = app_client.patch(
        f"/api/floods/{zid}", json={"status": "active", "version": 1}, headers=bearer(tokens["planner"])
    )
    assert r.status_code == 409
    with db.sessions() as s:
        assert active_flood_geometries(s) == []
    listed = app_client.get("/api/floods", params={"status": "ended"}, headers=bearer(tokens["leader"])).json()
    assert [f["id"] for f in listed["features"]] == [zid]
    assert (
        app_client.patch(f"/api/floods/{zid}", json={"status": "active"}, headers=bearer(tokens["leader"])).status_code
        == 403
    )
    db.clean()


def test_invalid_polygons_repaired_or_refused(app_client, tokens, db) -> None:
    h = bearer(tokens["planner"])
    r = app_client.post("/api/floods", json=_feature(BOWTIE), headers=h)
    assert r.status_code == 201 and r.json()["repaired"] is True
    assert "Self-intersection" in r.json()["repair_reason"]
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[114.8, -1.8], [114.9, -1.7]]},
        "properties": {"name": "x"},
    }
    r = app_client.post("/api/floods", json=line, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "geometry"
    r = app_client.post("/api/floods", json=_feature(BUNTOK, severity="parah"), headers=h)
    assert r.status_code == 422 and "severity" in r.json()["field"]
    r = app_client.post(
        "/api/floods", json={"type": "Feature", "geometry": {"type": "Polygon"}, "properties": {"name": "x"}}, headers=h
    )
    assert r.status_code == 422
    assert app_client.patch("/api/floods/999999", json={"status": "ended"}, headers=h).status_code == 404
    db.clean()


def test_import_geopackage_and_shapefile(db, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {
            "nama": ["Banjir A", "Rusak", "Banjir C"],
            "tingkat": ["tinggi", "rendah", "bogus"],
            "catatan": ["<script>alert(1)</script>", "x", "y"],
        },
        geometry=[BUNTOK, shapely.LineString([(114.8, -1.8), (114.9, -1.7)]).buffer(0), BOWTIE],
        crs="EPSG:4326",
    )
    gpkg = tmp_path / "banjir.gpkg"
    frame.to_file(gpkg, driver="GPKG")
    with db.sessions() as s, s.begin():
        rep = import_flood_file(s, gpkg, name_column="nama", severity_column="tingkat", actor="t")
    assert len(rep.created) == 1
    assert {i for i, _ in rep.rejected} == {2, 3}
    with db.sessions() as s:
        z = s.get(FloodZone, rep.created[0])
        assert z.name == "Banjir A" and z.severity == "tinggi" and z.attributes["catatan"].startswith("<script>")
    shp = tmp_path / "banjir_utm.shp"
    frame.iloc[[0]].to_crs(32750).to_file(shp)
    with db.sessions() as s, s.begin():
        rep = import_flood_file(s, shp, name_column="nama", severity_column="tingkat", actor="t")
    with db.sessions() as s:
        z = s.get(FloodZone, rep.created[0])
        assert z.shape.buffer(1e-5).contains(BUNTOK.buffer(-1e-5))  # reprojected back to WGS84


def test_proxy_seed_is_labelled_and_ended_by_default(db, bundled_layers) -> None:
    with db.sessions() as s, s.begin():
        z = seed_proxy_floodplain(s, layers=bundled_layers, actor="t")
        zid = z.id
    with db.sessions() as s:
        z = s.get(FloodZone, zid)
        assert z.is_proxy and z.source == PROXY_SOURCE and z.status == "ended"
        assert active_flood_geometries(s) == []
    with db.sessions() as s, s.begin():
        again = seed_proxy_floodplain(s, layers=bundled_layers, active=True, actor="t")
        assert again.id == zid
    with db.sessions() as s:
        assert len(active_flood_geometries(s)) == 1


def test_cli_import_flood(database, tmp_path: Path) -> None:
    path = tmp_path / "zona.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [_feature(BUNTOK, severity="sedang", status="ended", observed_at="2024-01-05T03:00:00Z")],
            }
        )
    )
    env = {"SIGAP_DATABASE_URL": database.url, "PATH": "/usr/bin:/bin"}
    p = run_cli(["import-flood", str(path)], env=env)
    assert p.returncode == 0, p.stderr + p.stdout
    with database.sessions() as s:
        z = s.scalars(select(FloodZone)).one()
        assert z.status == "ended" and z.observed_at is not None
    database.clean()


# ------------------------------------------------------------------------------------------- hostile polygons

def _circle(n: int, *, zigzag: bool = False) -> shapely.Polygon:
    """A polygon of `n` vertices around Buntok; with `zigzag`, every tenth pair swapped (self-intersecting)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.column_stack([114.85 + 0.05 * np.cos(t), -1.72 + 0.05 * np.sin(t)])
    if zigzag:
        pts[1::10], pts[2::10] = pts[2::10].copy(), pts[1::10].copy()
    # Five decimals (~1 m): 40,000 vertices fit under the 1 MB body limit, as a hostile drawing would.
    return shapely.Polygon(np.round(pts, 5))


def test_wkb_vertex_count_reads_headers_of_every_kind() -> None:
    from geo.floods import wkb_vertex_count

    geoms = [_circle(500), shapely.MultiPolygon([_circle(40), BUNTOK]), shapely.Point(1, 2),
             shapely.LineString([(0, 0), (1, 1), (2, 0)]), shapely.GeometryCollection([BOWTIE, shapely.Point(0, 0)]),
             shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 0, 1)])]
    for g in geoms:
        for flavor in ("iso", "extended"):
            for order in (0, 1):
                wkb = shapely.to_wkb(g, flavor=flavor, byte_order=order, include_srid=flavor == "extended")
                assert wkb_vertex_count(wkb) == shapely.get_num_coordinates(g), (g.geom_type, flavor, order)
    with pytest.raises(ValueError):
        wkb_vertex_count(shapely.to_wkb(_circle(50))[:40])


def test_a_polygon_over_the_vertex_cap_is_refused_before_any_repair() -> None:
    from geo.floods import FloodTooComplex, PolygonRules

    def no_repair(_geom):
        raise AssertionError("a polygon over the cap reached the repair")

    with pytest.raises(FloodTooComplex) as err:
        clean_polygon(_circle(40_000, zigzag=True), rules=PolygonRules(max_vertices=20_000, repair=no_repair))
    assert err.value.field == "geometry" and "40001 vertices" in str(err.value) and err.value.kind == "too_large"


def test_a_self_intersecting_polygon_is_repaired_to_everything_it_encloses() -> None:
    clean = clean_polygon(_circle(2_000, zigzag=True))
    assert clean.repaired and clean.geometry.is_valid
    # The structure repair keeps the area the rings enclose (the bowtie's two lobes, the circle's whole disc).
    assert clean.geometry.area == pytest.approx(shapely.make_valid(_circle(2_000, zigzag=True)).area, rel=1e-6)
    assert clean_polygon(BOWTIE).geometry.area == pytest.approx(0.005)


def test_api_refuses_a_40k_vertex_polygon_with_a_413_naming_the_field(app_client, tokens, db) -> None:
    body = json.dumps(_feature(_circle(40_000, zigzag=True)), separators=(",", ":"))
    assert len(body) < 1_000_000  # under the body limit: the polygon itself is what is refused
    r = app_client.post("/api/floods", content=body, headers=bearer(tokens["planner"]) | {
        "content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["field"] == "geometry" and r.json()["max_vertices"] == 20_000


def test_a_repair_over_its_deadline_is_a_422_and_the_next_zone_is_taken(db) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.conftest import settings_for

    with TestClient(create_app(settings_for(db.url, flood_repair_timeout_s=0.001))) as c:
        token = c.post("/api/auth/token", data={"username": "t-planner", "password": "Sandi-Uji-112"}).json()[
            "access_token"]
        r = c.post("/api/floods", json=_feature(_circle(5_000, zigzag=True)), headers=bearer(token))
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "geometry" and "too complex" in r.json()["message_en"]
        assert c.post("/api/floods", json=_feature(BUNTOK), headers=bearer(token)).status_code == 201
        # A small drawing that crosses itself is repaired where it arrives: the deadline (and a child process that
        # may still be starting on a busy machine) is only for the large ones.
        x, y = 114.9, -1.6
        bowtie = shapely.Polygon([(x, y), (x + 0.02, y + 0.02), (x + 0.02, y), (x, y + 0.02)])
        r = c.post("/api/floods", json=_feature(bowtie), headers=bearer(token))
        assert r.status_code == 201, r.text


def _zipped_shapefile(tmp_path: Path, geoms: list[shapely.Geometry]) -> Path:
    import zipfile

    frame = gpd.GeoDataFrame({"name": [f"Banjir {i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4326")
    frame.to_file(tmp_path / "zona.shp")
    out = tmp_path / "zona.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for part in tmp_path.glob("zona.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    return out


def test_an_import_rejects_an_oversized_polygon_from_its_header_and_keeps_the_rest(db, tmp_path: Path) -> None:
    from geo.floods import PolygonRules

    path = _zipped_shapefile(tmp_path, [BUNTOK, _circle(30_000)])
    with db.sessions() as s, s.begin():
        rep = import_flood_file(s, f"/vsizip/{path}", actor="t", rules=PolygonRules(max_vertices=20_000))
    assert len(rep.created) == 1
    assert [i for i, _ in rep.rejected] == [2] and "30001 vertices" in rep.rejected[0][1]


def test_an_import_of_a_500k_vertex_zip_is_refused_whole(db, tmp_path: Path) -> None:
    from store.floods import FloodFileTooLarge

    path = _zipped_shapefile(tmp_path, [BUNTOK, _circle(500_000)])
    with db.sessions() as s, s.begin(), pytest.raises(FloodFileTooLarge) as err:
        import_flood_file(s, f"/vsizip/{path}", actor="t")
    assert err.value.field == "file" and err.value.kind == "too_large"
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(FloodZone).where(FloodZone.name == "Banjir 0")) == 0
