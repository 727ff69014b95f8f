"""The stored network (derived default, imports from OSM and OGR files) and the demo seed, on both backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from geo.netimport import parse_mapping, parse_oneway, read_ogr, read_osm
from geo.network import snap
from jobs.commands_network import ImportRefused, import_network
from store.accounts import AuditRecord
from store.db import session_scope
from store.layers import read_layers
from store.network import (
    NetworkLine,
    derived_lines,
    ensure_default_network,
    read_lines,
    read_state,
    replace_network,
)
from store.units import Station, Unit, seed_demo_units

# A little road crossing near Buntok (lon, lat).
A, B, C, D = (114.84, -1.70), (114.85, -1.70), (114.86, -1.70), (114.85, -1.71)


def write_osm(path: Path, *, with_roads: bool = True) -> Path:
    """A tiny .osm.pbf: a two-way primary road A-B-C, a one-way=-1 residential B->D (so D->B only),
    a footway (dropped) and a river, written with osmium itself."""
    import osmium

    nodes = {1: A, 2: B, 3: C, 4: D, 5: (114.80, -1.69), 6: (114.80, -1.72)}
    with osmium.SimpleWriter(str(path)) as w:
        for nid, (lon, lat) in nodes.items():
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), version=1))
        ways = [(20, [1, 4], {"highway": "footway"})]
        if with_roads:
            ways += [
                (10, [1, 2, 3], {"highway": "primary", "name": "Jalan Pahlawan"}),
                (11, [2, 4], {"highway": "residential", "oneway": "-1"}),
                (12, [5, 6], {"waterway": "river", "name": "Sungai Barito"}),
            ]
        for wid, refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1))
    return path


def test_osm_reader_keeps_roads_and_rivers_and_reverses_backward_oneways(tmp_path: Path) -> None:
    got = read_osm(write_osm(tmp_path / "tiny.osm.pbf"))
    assert sorted(got.kind.tolist()) == ["primary", "residential", "river"]
    assert got.skipped == {"highway=footway": 1}
    res = np.flatnonzero(got.kind == "residential")[0]
    assert got.oneway[res]
    # oneway=-1 on B->D means traffic runs D->B: the stored line starts at D.
    assert shapely.get_coordinates(got.lines[res])[0] == pytest.approx(D)
    assert not got.oneway[np.flatnonzero(got.kind == "primary")[0]]


def test_ogr_reader_maps_classes_speed_and_oneway(tmp_path: Path) -> None:
    import geopandas as gpd

    path = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame(
        {
            "KELAS": ["Jalan Kolektor", "Jalan Lokal", "Jalan Setapak"],
            "KEC": [55, None, 5],
            "ARAH": ["ya", "", "-1"],
            "geometry": [shapely.LineString([A, B]), shapely.LineString([B, C]), shapely.LineString([B, D])],
        },
        crs="EPSG:4326",
    ).to_crs("EPSG:32750").to_file(path, layer="jalan", driver="GPKG")
    got = read_ogr(
        path,
        layer="jalan",
        class_column="kelas",
        speed_column="KEC",
        oneway_column="ARAH",
        mapping=parse_mapping("jalan kolektor=secondary,jalan lokal=residential"),
    )
    # 'jalan setapak' is not mapped to a known class: dropped, counted.
    assert got.kind.tolist() == ["secondary", "residential"]
    assert got.skipped == {"jalan setapak": 1}
    assert got.speed_kmh[0] == 55 and np.isnan(got.speed_kmh[1])
    assert got.oneway.tolist() == [True, False]
    # Reprojected back from UTM to lon/lat.
    assert shapely.get_coordinates(got.lines[0])[0] == pytest.approx(A, abs=1e-6)


def test_parse_helpers() -> None:
    ow, rev = parse_oneway(np.array(["yes", "-1", "no", None, "TRUE"], dtype=object))
    assert ow.tolist() == [True, True, False, False, True]
    assert rev.tolist() == [False, True, False, False, False]
    assert parse_mapping('{"Arteri": "Primary"}') == {"arteri": "primary"}
    with pytest.raises(ValueError):
        parse_mapping("arteri")


def test_default_network_is_derived_stored_once_and_rebuilds_the_same_graph(db, bundled_layers) -> None:
    with session_scope(db.sessions) as s:
        first = ensure_default_network(s, bundled_layers)
    with session_scope(db.sessions) as s:
        again = ensure_default_network(s, bundled_layers)
        stored = read_lines(s)
    assert first.source == "derived" and again.token == first.token and again.version == first.version
    assert set(stored.source.tolist()) == {"derived"}
    direct = derived_lines(bundled_layers).build()
    rebuilt = stored.build()
    assert (rebuilt.n_nodes, rebuilt.n_edges) == (direct.n_nodes, direct.n_edges)
    assert rebuilt.edge_time_s.sum() == pytest.approx(direct.edge_time_s.sum(), rel=1e-6)


def test_replace_with_nothing_usable_leaves_the_network_untouched(db, bundled_layers) -> None:
    with session_scope(db.sessions) as s:
        before = ensure_default_network(s, bundled_layers)
    lines = derived_lines(bundled_layers).take(np.zeros(300, dtype=bool))
    with pytest.raises(ValueError), session_scope(db.sessions) as s:
        replace_network(s, lines, actor="t")
    # A single point-like line is unusable too: build_network refuses it before the delete.
    tiny = derived_lines(bundled_layers).take(np.arange(300) == 0)
    tiny = type(tiny)(**{**vars(tiny), "lines": np.array([shapely.LineString([A, A])], dtype=object)})
    with pytest.raises(ValueError), session_scope(db.sessions) as s:
        replace_network(s, tiny, actor="t")
    with db.sessions() as s:
        assert read_state(s).token == before.token
        assert s.scalar(select(func.count()).select_from(NetworkLine)) == before.lines


def test_import_osm_replaces_the_derived_network_in_one_step(db, bundled_layers, tmp_path: Path) -> None:
    with session_scope(db.sessions) as s:
        before = ensure_default_network(s, bundled_layers)
    state, report = import_network(db.sessions, db.engine, write_osm(tmp_path / "t.osm.pbf"), actor="t-admin")
    assert state.version == before.version + 1 and state.source == "osm"
    assert report["used"] == 3 and report["kept_derived_water"] == 0
    with db.sessions() as s:
        lines = read_lines(s)
        audit = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "network_replace").order_by(AuditRecord.id)
        ).all()
    assert sorted(lines.kind.tolist()) == ["primary", "residential", "river"]
    assert set(lines.source.tolist()) == {"osm"}
    assert audit[-1].after["version"] == state.version and audit[-1].actor == "t-admin"
    net = lines.build()
    # The one-way street only runs D -> B: from B there is no road edge to D.
    (b,), _ = snap(net, lon=np.array([B[0]]), lat=np.array([B[1]]), mode="road")
    (d,), _ = snap(net, lon=np.array([D[0]]), lat=np.array([D[1]]), mode="road")
    road = net.profiles["road"].forward
    assert road[d, b] > 0 and road[b, d] == 0


def test_import_without_waterways_keeps_the_derived_river_for_boats(db, bundled_layers, tmp_path: Path) -> None:
    path = tmp_path / "roads.geojson"
    import geopandas as gpd

    gpd.GeoDataFrame({"cls": ["primary"], "geometry": [shapely.LineString([A, B, C])]}, crs="EPSG:4326").to_file(
        path, driver="GeoJSON"
    )
    state, report = import_network(db.sessions, db.engine, path, class_column="cls")
    assert state.source == "file" and report["kept_derived_water"] > 0
    with db.sessions() as s:
        lines = read_lines(s)
    assert set(zip(lines.source.tolist(), lines.kind.tolist(), strict=True)) >= {
        ("file", "primary"),
        ("derived", "river"),
        ("derived", "landing"),
    }


def test_import_of_a_file_with_no_usable_lines_is_refused_and_changes_nothing(
    db, bundled_layers, tmp_path: Path
) -> None:
    with session_scope(db.sessions) as s:
        before = ensure_default_network(s, bundled_layers)
    with pytest.raises(ImportRefused, match="no usable"):
        import_network(db.sessions, db.engine, write_osm(tmp_path / "foot.osm.pbf", with_roads=False))
    import geopandas as gpd

    path = tmp_path / "roads.geojson"
    gpd.GeoDataFrame({"cls": ["primary"], "geometry": [shapely.LineString([A, B])]}, crs="EPSG:4326").to_file(path)
    with pytest.raises(ImportRefused, match="not in the file"):
        import_network(db.sessions, db.engine, path, class_column="nope")
    # Every class unknown: nothing usable.
    with pytest.raises(ImportRefused, match="no usable"):
        import_network(db.sessions, db.engine, path, class_column="cls", mapping="primary=jalan_tikus")
    with pytest.raises(ImportRefused, match="not found"):
        import_network(db.sessions, db.engine, tmp_path / "missing.gpkg")
    with db.sessions() as s:
        assert read_state(s).token == before.token
        assert set(read_lines(s).source.tolist()) == {"derived"}


def test_demo_seed_is_idempotent_and_places_boats_on_the_river(db) -> None:
    with session_scope(db.sessions) as s:
        layers = read_layers(s)
        first = seed_demo_units(s, layers)
    with session_scope(db.sessions) as s:
        second = seed_demo_units(s, layers)
    assert first.units_created == first.units > 20 and first.stations_created == first.stations
    assert second.units_created == 0 and second.stations_created == 0
    with db.sessions() as s:
        stations = {st.code: st for st in s.scalars(select(Station))}
        units = list(s.scalars(select(Unit)))
        boats = s.execute(select(func.ST_X(Unit.geom), func.ST_Y(Unit.geom)).where(Unit.type == "perahu")).all()
    assert {"RSUD", "BPBD", "POLRES", "DMK-BTK", "PLS-RKJ", "PKM-PDG"} <= set(stations)
    assert stations["RSUD"].name == "RSUD Jaraga Sasameh"
    assert all(u.demo and u.status == "tersedia" and u.position_at is not None for u in units)
    assert {u.type for u in units} == {"damkar", "ambulans", "bpbd", "perahu", "polisi"}
    # Boats wait on the bank: within metres of the Barito centre line.
    river = shapely.union_all(layers.rivers.geometry)
    from geo.crs import UTM50S, project_geometries

    river_utm = project_geometries(np.array([river]), dst=UTM50S)[0]
    pts = project_geometries(shapely.points(np.array(boats, dtype=float)), dst=UTM50S)
    assert shapely.distance(pts, river_utm).max() < 1.0


def test_locate_reports_the_nearest_real_road_after_an_import(db, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.conftest import TEST_PASSWORD, settings_for

    with TestClient(create_app(settings_for(db.url))) as client:
        token = client.post("/api/auth/token", data={"username": "t-leader", "password": TEST_PASSWORD})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        near_road = {"lon": 114.845, "lat": -1.7003}  # about 35 m north of Jalan Pahlawan (A-B-C at lat -1.70)
        assert client.get("/api/locate", params=near_road).json()["road"] is None  # derived links are not roads
        import_network(db.sessions, db.engine, write_osm(tmp_path / "t.osm.pbf"), actor="t-admin")
        client.get("/api/network")  # any request that looks at the network notices the new version
        road = client.get("/api/locate", params=near_road).json()["road"]
    assert road["source"] == "osm"
    assert 20 < road["distance_m"] < 50
