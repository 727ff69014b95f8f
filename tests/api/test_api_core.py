"""HTTP: locate, layers and health on both backends, with the bad input a dispatcher might send."""

from __future__ import annotations

import json

import pytest


def test_healthz_reports_backend_and_counts(anon_client, database) -> None:
    r = anon_client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"]["backend"] == database.backend
    assert body["database"]["counts"]["desa"] == 93


def test_locate_one(client) -> None:
    r = client.get("/api/locate", params={"lon": 114.845, "lat": -1.71})
    assert r.status_code == 200
    body = r.json()
    assert body["desa"]["name"] == "Buntok Kota"
    assert body["kecamatan"]["name"] == "Dusun Selatan"


@pytest.mark.parametrize(
    "params,field,word",
    [
        ({"lon": "abc", "lat": -1.7}, "lon", "lon"),
        ({"lon": 114.8}, "lat", "lat"),
        ({"lon": "nan", "lat": -1.7}, "lon", "finite"),
        ({"lon": 114.8, "lat": "inf"}, "lat", "finite"),
        ({"lon": 181, "lat": -1.7}, "lon", "-180"),
        ({"lon": 114.8, "lat": -91}, "lat", "-90"),
        ({"lon": -1.71, "lat": 114.85}, "lat", "swapped"),
    ],
)
def test_locate_bad_input(client, params, field, word) -> None:
    r = client.get("/api/locate", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == field
    assert word in body["message_en"]
    assert body["message_id"]  # Indonesian text first


def test_locate_batch_points_and_columns(client) -> None:
    pts = [[114.845, -1.71], [115.3, -1.9], [106.8, -6.2]]
    r = client.post("/api/locate", json={"points": pts})
    assert r.status_code == 200
    cols = r.json()["columns"]
    assert r.json()["count"] == 3
    assert cols["desa_name"][0] == "Buntok Kota"
    assert cols["kabupaten_code"][1] == "62.13"
    assert cols["inside_regency"] == [True, False, False]
    assert cols["nearest_desa_m"][0] == 0.0 and cols["nearest_desa_m"][1] > 1000
    r2 = client.post("/api/locate", json={"lon": [p[0] for p in pts], "lat": [p[1] for p in pts]})
    assert r2.json()["columns"] == cols


@pytest.mark.parametrize(
    "body,status,word",
    [
        ({"points": []}, 422, "empty"),
        ({"points": [[114.8, "x"]]}, 422, "pairs"),
        ({"points": [[114.8, -1.7, 3]]}, 422, "pairs"),
        ({"points": [[114.8, None]]}, 422, "finite"),
        ({"lon": [1, 2], "lat": [1]}, 422, "equal length"),
        ({"foo": 1}, 422, "points"),
        ({"points": [[114.8, -1.7], [-1.7, 114.8]]}, 422, "swapped"),
    ],
)
def test_locate_batch_bad_input(client, body, status, word) -> None:
    r = client.post("/api/locate", json=body)
    assert r.status_code == status, r.text
    assert word in r.json()["message_en"]


def test_locate_batch_not_json(client) -> None:
    r = client.post("/api/locate", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["field"] == "body"


def test_locate_batch_too_many_points_is_413(client) -> None:
    pts = [[114.8, -1.7]] * 100_001
    r = client.post(
        "/api/locate", content=json.dumps({"points": pts}), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert "100000" in r.json()["message_en"]


def test_locate_batch_huge_body_is_413_before_parsing(client) -> None:
    r = client.post(
        "/api/locate", content=b"[" + b" " * 7_000_000 + b"]", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_locate_batch_of_100k_points(client) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(114.6, 115.45, 100_000), rng.uniform(-2.6, -1.26, 100_000)]).tolist()
    r = client.post("/api/locate", json={"points": pts})
    assert r.status_code == 200
    assert r.json()["count"] == 100_000


@pytest.mark.parametrize("name,count", [("kabupaten", 14), ("kecamatan", 6), ("desa", 93), ("rivers", 3)])
def test_layers_geojson(client, name, count) -> None:
    r = client.get(f"/api/layers/{name}")
    assert r.status_code == 200
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == count
    assert fc["features"][0]["geometry"]["type"] in {"Polygon", "MultiPolygon", "LineString"}


def test_layers_bbox_and_simplify(client) -> None:
    full = client.get("/api/layers/desa").content
    simple = client.get("/api/layers/desa", params={"simplify": 200}).content
    assert len(simple) < len(full) * 0.8
    near_buntok = client.get("/api/layers/desa", params={"bbox": "114.80,-1.75,114.88,-1.68"}).json()
    names = {f["properties"]["nama"] for f in near_buntok["features"]}
    assert "Buntok Kota" in names and len(names) < 30


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "115,-1,114,-2", "0,0,0,0"])
def test_layers_bad_bbox(client, bbox) -> None:
    r = client.get("/api/layers/desa", params={"bbox": bbox})
    assert r.status_code == 422
    assert r.json()["field"] == "bbox"


def test_unknown_layer_is_422_listing_the_names(client) -> None:
    r = client.get("/api/layers/roads_of_mars")
    assert r.status_code == 422
    assert "desa" in r.text


def test_openapi_docs_are_served(client) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/locate" in spec["paths"]


def test_startup_state_is_kept_out_of_garbage_collection(app_client) -> None:
    import gc
    import sys

    # The layers, indexes and road graph built at start-up are frozen; request threads switch every 1 ms.
    assert gc.get_freeze_count() > 10_000
    assert sys.getswitchinterval() == pytest.approx(app_client.app.state.ctx.settings.gil_switch_ms / 1000)
