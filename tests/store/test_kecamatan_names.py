"""One name per kecamatan everywhere: locate answers, the place search, stored layers and incidents.

Regression (issue 13): the bundled layers spelled kecamatan 62.04.05 "Gn. Bintang Awai" and the place search
spelled the abbreviation out for display, so a locate answer said "Gn. Bintang Awai" where the place search
said "Gunung Bintang Awai". The official name is the one everywhere; the abbreviation is an alias the place
search still finds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import shapely
from sqlalchemy import select

from geo.layers import Layers
from geo.locate import Locator
from geo.placenames import MatchStatus, PlaceIndex, places_from_layers
from store.db import make_engine, make_sessionmaker, session_scope
from store.layers import load_layers
from store.migrate import upgrade
from store.models import Desa, Kecamatan
from tests.conftest import BACKENDS, Database, make_test_database

CODE = "62.04.05"
OFFICIAL = "Gunung Bintang Awai"
ALIASES = ("Gn. Bintang Awai", "Gn Bintang Awai", "gng bintang awai", "Kec. Gn. Bintang Awai")


@pytest.fixture(scope="module")
def places(bundled_layers: Layers) -> PlaceIndex:
    return PlaceIndex(places_from_layers(desa=bundled_layers.desa, kecamatan=bundled_layers.kecamatan))


def _desa_points(layers: Layers, kecamatan_code: str) -> tuple[np.ndarray, np.ndarray]:
    inside = layers.desa.attrs["kecamatan_kode"] == kecamatan_code
    pts = shapely.point_on_surface(layers.desa.geometry[inside])
    return shapely.get_x(pts), shapely.get_y(pts)


def test_the_bundled_layers_use_the_official_name(bundled_layers: Layers) -> None:
    kec = dict(zip(bundled_layers.kecamatan.code.tolist(), bundled_layers.kecamatan.name.tolist(), strict=True))
    assert kec[CODE] == OFFICIAL
    # Each desa carries its kecamatan's name as well: the same one.
    for code, name in zip(bundled_layers.desa.attrs["kecamatan_kode"], bundled_layers.desa.attrs["kecamatan"],
                          strict=True):
        assert name == kec[code], (code, name)


def test_locate_answers_and_the_place_search_name_every_kecamatan_alike(
    bundled_layers: Layers, locator: Locator, places: PlaceIndex
) -> None:
    """For each kecamatan: the name in locate answers = the place's name = the parent of its desa."""
    for code in bundled_layers.kecamatan.code.tolist():
        lon, lat = _desa_points(bundled_layers, code)
        answered = {locator.locate(lon=x, lat=y)["kecamatan"]["name"] for x, y in zip(lon, lat, strict=True)}
        place = places.search(code).place
        parents = {p.parent for p in places.places if p.code.startswith(code + ".")}
        assert answered == parents == {place.name}, code
        batch = locator.locate_many(lon=lon, lat=lat)
        assert set(np.asarray(batch.kecamatan_name).tolist()) == {place.name}


def test_the_place_search_finds_the_official_name_and_the_alias(places: PlaceIndex) -> None:
    for query in (OFFICIAL, *ALIASES):
        result = places.search(query)
        assert result.status is MatchStatus.EXACT, query
        assert (result.place.code, result.place.name) == (CODE, OFFICIAL)
        assert result.message == f"'{query}' = {OFFICIAL} (kecamatan, Kabupaten Barito Selatan)"
    patas = places.search("Patas I").place
    assert patas.parent == OFFICIAL


def test_stored_layers_api_answers_and_incidents_use_one_name(client, db: Database) -> None:
    """Both backends: the stored kecamatan, GET /api/places, GET /api/locate and a call placed there."""
    with db.sessions() as s:
        assert s.scalar(select(Kecamatan.nama).where(Kecamatan.kode == CODE)) == OFFICIAL
        assert set(s.scalars(select(Desa.kecamatan).where(Desa.kecamatan_kode == CODE))) == {OFFICIAL}
    for q in (OFFICIAL, "Gn. Bintang Awai"):
        found = client.get("/api/places", params={"q": q}).json()
        assert found["status"] == "exact" and found["place"]["name"] == OFFICIAL, found
    assert client.get("/api/places", params={"q": "Patas I"}).json()["place"]["parent"] == OFFICIAL
    patas = client.get("/api/places", params={"q": "Patas I"}).json()["place"]
    located = client.get("/api/locate", params={"lon": patas["lon"], "lat": patas["lat"]}).json()
    assert located["kecamatan"] == {"code": CODE, "name": OFFICIAL}

    by_alias = client.post("/api/incidents", json={"category": "banjir", "location": {"place": "Gn. Bintang Awai"}})
    assert by_alias.status_code == 201, by_alias.text
    inc = by_alias.json()
    assert inc["kecamatan_name"] == OFFICIAL
    assert inc["location"]["place"]["name"] == OFFICIAL
    assert inc["location"]["kecamatan"]["name"] == OFFICIAL
    by_point = client.post(
        "/api/incidents", json={"category": "banjir", "location": {"lon": patas["lon"], "lat": patas["lat"]}}
    )
    assert by_point.status_code == 201, by_point.text
    stored = client.get(f"/api/incidents/{by_point.json()['id']}").json()
    assert (stored["kecamatan_code"], stored["kecamatan_name"]) == (CODE, OFFICIAL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_loaded_with_the_abbreviation_is_renamed_by_migration(
    backend: str, bundled_layers: Layers, tmp_path: Path
) -> None:
    """0009 renames the bundled abbreviation in kecamatan and desa; other kecamatan names stay as loaded."""
    url, drop = make_test_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        upgrade(engine, revision="0001_layers")
        kec, desa = bundled_layers.kecamatan, bundled_layers.desa
        old = {OFFICIAL: "Gn. Bintang Awai", "Dusun Selatan": "Kec. Dusun Selatan (lama)"}

        def older(names: np.ndarray) -> np.ndarray:
            return np.array([old.get(n, n) for n in names], dtype=object)

        renamed = dataclasses.replace(
            bundled_layers,
            kecamatan=dataclasses.replace(kec, name=older(kec.name)),
            desa=dataclasses.replace(desa, attrs=desa.attrs | {"kecamatan": older(desa.attrs["kecamatan"])}),
        )
        with session_scope(make_sessionmaker(engine)) as session:
            load_layers(session, renamed)
        upgrade(engine)
        with engine.connect() as conn:
            kecamatan = dict(conn.execute(select(Kecamatan.kode, Kecamatan.nama)).all())
            desa_names = set(conn.execute(select(Desa.kecamatan_kode, Desa.kecamatan)).all())
        assert kecamatan[CODE] == OFFICIAL
        assert kecamatan["62.04.06"] == "Kec. Dusun Selatan (lama)"  # not the bundled abbreviation: kept
        assert (CODE, OFFICIAL) in desa_names and (CODE, "Gn. Bintang Awai") not in desa_names
        assert ("62.04.06", "Kec. Dusun Selatan (lama)") in desa_names
    finally:
        engine.dispose()
        drop()
