"""The hotspot exports take the planner page's filters, on both backends: the file holds what the map shows."""

from __future__ import annotations

import csv
import io

import orjson
import pyogrio
import pytest
import shapely

from store.hotspots import ingest_detections
from tests.conftest import bearer

HEADER = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
          "bright_ti5,frp,daynight\n")
BUNTOK = (114.8450, -1.7150)
SINCE, UNTIL = "2023-09-01T00:00:00+00:00", "2023-10-01T00:00:00+00:00"
# Twelve detections near Buntok: every satellite code with every confidence, and a day outside the window.
ROWS = [(BUNTOK[0] + 0.004 * i, BUNTOK[1] + 0.002 * (i % 3), sat, conf, day)
        for i, (sat, conf, day) in enumerate(
            [(s, c, "2023-09-14") for s in ("N", "N20", "N21") for c in ("l", "n", "h")]
            + [("N20", "h", "2023-08-01"), ("N", "n", "2023-08-02"), ("N21", "h", "2023-09-15")])]


def _csv_rows() -> str:
    return HEADER + "".join(f"{y},{x},330,0.4,0.4,{d},0542,{s},VIIRS,{c},2.0NRT,297,4.2,D\n" for x, y, s, c, d in ROWS)


def _exported_ids(client, fmt: str, params: dict, tmp_path) -> set[int]:
    r = client.get(f"/api/export/hotspots.{fmt}", params=params)
    assert r.status_code == 200, r.text
    if fmt == "csv":
        return {int(row["id"]) for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
    if fmt == "geojson":
        return {f["id"] for f in orjson.loads(r.content)["features"]}
    path = tmp_path / "h.gpkg"
    path.write_bytes(r.content)
    return {int(v) for v in pyogrio.read_dataframe(path)["fid_sigap"]}


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg"])
def test_export_holds_what_the_page_shows(client, tokens, db, locator, fmt, tmp_path) -> None:
    ingest_detections(db.sessions, io.StringIO(_csv_rows()), locator=locator)
    x, y = ROWS[4][0], ROWS[4][1]
    roof = {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(x - 0.001, y - 0.001, x + 0.001,
                                                                                y + 0.001)),
            "properties": {"name": "Atap seng", "kind": "atap_seng"}}
    assert client.post("/api/heat-sources", json=roof, headers=bearer(tokens["planner"])).status_code == 201
    window = {"window": "custom", "since": SINCE, "until": UNTIL}
    filters = [
        {},
        {"confidence": "high"},
        {"confidence": "nominal,high", "satellite": "NOAA-20"},
        {"satellite": "Suomi NPP,NOAA-21"},
        {"satellite": "n20"},  # a FIRMS code, any case: the platform it names
        {"confidence": "nominal", "include_static": "false"},
    ]
    seen = []
    for flt in filters:
        page = client.get("/api/hotspots", params={**window, **flt})
        assert page.status_code == 200, page.text
        shown = {f["id"] for f in page.json()["features"]}
        # The page builds its export link from the filter the server echoed (since/until, lists).
        echo = page.json()["filter"]
        params = {"datetime": f"{echo['since']}/{echo['until']}", "bbox": "114.5,-2.0,115.2,-1.5"}
        if echo["confidence"]:
            params["confidence"] = ",".join(echo["confidence"])
        if echo["satellite"]:
            params["satellite"] = ",".join(echo["satellite"])
        if echo["include_static"] is False:
            params["include_static"] = "false"
        assert _exported_ids(client, fmt, params, tmp_path) == shown, flt
        seen.append(len(shown))
    # The filters did select different sets (the comparison above is not between two whole layers).
    assert seen == [10, 4, 2, 7, 3, 2]


@pytest.mark.parametrize(
    "path,params,field",
    [
        ("/api/export/hotspots.csv", {"confidence": "sure"}, "confidence"),
        ("/api/export/hotspots.geojson", {"confidence": "high,tinggi-sekali"}, "confidence"),
        ("/api/export/hotspots.gpkg", {"satellite": "Landsat-9"}, "satellite"),
        ("/api/export/hotspots.csv", {"satellite": "NOAA-20,<script>"}, "satellite"),
        ("/api/export/hotspots.csv", {"satellite": "Terra\x00"}, "satellite"),
        ("/api/export/hotspots.csv", {"include_static": "maybe"}, "include_static"),
        ("/api/export/flood_zones.csv", {"confidence": "high"}, "confidence"),
        ("/api/export/desa.geojson", {"satellite": "Terra"}, "satellite"),
        ("/api/hotspots", {"satellite": "Sentinel"}, "satellite"),
        ("/api/hotspots/h3", {"satellite": "Aqua,Aquaman"}, "satellite"),
    ],
)
def test_hostile_export_filters_are_422_naming_the_field(client, path, params, field) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body.get("field") == field or field in r.text, r.text
