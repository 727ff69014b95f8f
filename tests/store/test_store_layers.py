"""The boundary and river layers in the database, on SpatiaLite and on PostGIS."""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import func, select, text

from api.config import PROJECT_ROOT
from geo.locate import Locator
from store.db import session_scope
from store.layers import layer_counts, load_bundled, read_layers
from store.models import Desa

EXPECTED = {"kabupaten": 14, "kecamatan": 6, "desa": 93, "rivers": 3}


def test_counts_after_load(db) -> None:
    with session_scope(db.sessions) as s:
        assert layer_counts(s) == EXPECTED


def test_loading_twice_changes_nothing(db) -> None:
    with session_scope(db.sessions) as s:
        report = load_bundled(s, PROJECT_ROOT / "data")
    assert report.counts == EXPECTED
    assert report.written == {k: 0 for k in EXPECTED}


def test_layers_read_back_equal_the_files(db, bundled_layers) -> None:
    with session_scope(db.sessions) as s:
        stored = read_layers(s)
    assert list(stored.desa.code) == list(bundled_layers.desa.code)
    for a, b in zip(stored.desa.geometry, bundled_layers.desa.geometry, strict=True):
        assert shapely.equals(a, b) or a.symmetric_difference(b).area < 1e-12


def test_database_point_in_polygon_agrees_with_the_locator(db, locator: Locator) -> None:
    rng = np.random.default_rng(5)
    lon = rng.uniform(114.6, 115.45, 40)
    lat = rng.uniform(-2.6, -1.26, 40)
    batch = locator.locate_many(lon=lon, lat=lat)
    with session_scope(db.sessions) as s:
        for i in range(len(lon)):
            wkt = f"POINT({lon[i]} {lat[i]})"
            codes = s.scalars(
                select(Desa.kode).where(func.ST_Contains(Desa.geom, func.ST_GeomFromText(wkt, 4326)))
            ).all()
            if batch.match[i] == "inside":
                assert codes == [batch.desa_code[i]]
            elif batch.match[i] == "outside":
                assert codes == []


def test_spatial_indexes_exist(db) -> None:
    with db.engine.connect() as conn:
        if db.backend == "spatialite":
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
            assert {"idx_desa_geom", "idx_kabupaten_geom", "idx_river_geom"} <= names
        else:
            names = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes"))}
            assert {"idx_desa_geom", "idx_kabupaten_geom", "idx_river_geom"} <= names


def test_locator_from_database_answers_like_the_files(db, locator: Locator) -> None:
    with session_scope(db.sessions) as s:
        from_db = Locator.from_layers(read_layers(s))
    for lon, lat in [(114.845, -1.71), (115.3, -1.9), (114.9, -2.4)]:
        assert from_db.locate(lon=lon, lat=lat) == locator.locate(lon=lon, lat=lat)
