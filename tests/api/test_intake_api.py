"""Call intake over HTTP on both backends: locations, bad input, lifecycle, locking, lists, roles, audit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from store.accounts import AuditRecord
from tests.conftest import bearer

BUNTOK = {"lon": 114.85, "lat": -1.71}  # Buntok Kota, Dusun Selatan
AML_OK = 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20261129081530;lc=68;pm=G;si=510101000000000;ei=356938035643809'
AML_NOFIX = 'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20261129081530;lc=0;pm=N'
FORWARD = ["diverifikasi", "dikirim", "menuju_lokasi", "tiba", "selesai", "ditutup"]


def post(client, location=None, category: str = "kebakaran", **extra):
    body = {"category": category, "description": "Rumah terbakar", **extra}
    if location is not None:
        body["location"] = location
    return client.post("/api/incidents", json=body)


def created(client, location=BUNTOK, category: str = "kebakaran", **extra) -> dict:
    r = post(client, location, category, **extra)
    assert r.status_code == 201, r.text
    return r.json()


def audit_after(database, mark: int) -> list[tuple[str, str]]:
    with database.sessions() as s:
        rows = s.execute(
            select(AuditRecord.action, AuditRecord.entity_id)
            .where(AuditRecord.id > mark, AuditRecord.entity == "incident")
            .order_by(AuditRecord.id)
        ).all()
    return [tuple(r) for r in rows]


def audit_mark(database) -> int:
    with database.sessions() as s:
        return s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))


# -- locations ----------------------------------------------------------------------------------------
def test_coordinates_locate_and_route(client) -> None:
    inc = created(client, {**BUNTOK, "accuracy_m": 15})
    assert inc["status"] == "baru" and inc["location_source"] == "coordinates"
    assert inc["number"].startswith("112-") and len(inc["number"]) == 17
    assert (inc["desa_name"], inc["kecamatan_name"], inc["inside_regency"]) == ("Buntok Kota", "Dusun Selatan", True)
    assert inc["accuracy_m"] == 15
    loc = inc["location"]
    assert loc["desa"]["code"] == inc["desa_code"] and loc["river"]["distance_m"] > 0 and loc["h3"]["cell"]
    assert [a["code"] for a in inc["agencies"]["primary"]] == ["damkar"]
    assert inc["unit_types"] == ["damkar"]
    assert inc["created_at_wib"].endswith(" WIB") and inc["created_at"].endswith("+00:00")
    assert inc["transitions"][0]["status"] == "baru" and inc["transitions"][0]["by"] == "t-dispatcher"


def test_coordinates_outside_regency_and_swapped(client) -> None:
    outside = created(client, {"lon": 113.92, "lat": -2.21})  # Palangka Raya
    assert outside["inside_regency"] is False and outside["desa_code"] is None
    assert outside["location"]["kabupaten"]["code"] != "62.04"
    assert outside["location"]["nearest_desa"]["distance_m"] > 0
    r = post(client, {"lon": -1.71, "lat": 114.85})
    assert r.status_code == 422 and r.json()["hint"] == "swapped" and r.json()["field"] == "location.lat"
    r = post(client, {"lon": 114.85})
    assert r.status_code == 422 and r.json()["field"] == "location.lat"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("buntok kota", "62.04.06.1008"),
        ("Pendang", "62.04.04.1005"),
        ("Gn Bintang Awai", "62.04.05"),
        ("Buntokk", "62.04.06.1008"),
    ],
)
def test_place_names(client, query: str, code: str) -> None:
    inc = created(client, {"place": query})
    assert inc["location_source"] == "place" and inc["status"] == "baru"
    assert inc["location"]["place"]["code"] == code and inc["location"]["place"]["query"] == query
    assert inc["accuracy_m"] > 100  # the size of the place, not a GPS fix
    assert inc["inside_regency"] is True and inc["location"]["desa"] is not None


def test_a_call_placed_by_kecamatan_is_not_counted_in_a_desa(client) -> None:
    inc = created(client, {"place": "Gn Bintang Awai"})
    assert inc["location"]["place"]["kind"] == "kecamatan"
    assert inc["kecamatan_code"] == "62.04.05" and inc["desa_code"] is None and inc["desa_name"] is None
    assert inc["location"]["desa"] is not None  # the locate answer of the representative point is kept whole
    listed = client.get("/api/incidents", params={"desa": inc["location"]["desa"]["code"]}).json()
    assert inc["id"] not in [i["id"] for i in listed["items"]]
    assert client.get("/api/incidents", params={"kecamatan": "62.04.05"}).json()["total"] == 1


def test_place_ambiguous_and_not_found(client) -> None:
    r = post(client, {"place": "Patas"})
    assert r.status_code == 422
    body = r.json()
    assert body["match"] == "ambiguous" and body["field"] == "location.place"
    assert {c["name"] for c in body["candidates"]} == {"Patas I", "Patas II"}
    r = post(client, {"place": "Qwxyz Zzkq"})
    assert r.status_code == 404 and r.json()["suggestions"] and "tidak ditemukan" in r.json()["message_id"]
    assert client.get("/api/incidents").json()["total"] == 0


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("buntok kota", "exact", "62.04.06.1008"),
        ("Buntokk", "close", "62.04.06.1008"),
        ("62.04.05", "exact", "62.04.05"),
    ],
)
def test_place_search_names_one_place(client, query: str, status: str, code: str) -> None:
    body = client.get("/api/places", params={"q": query}).json()
    assert body["status"] == status and body["place"]["code"] == code
    assert body["place"]["radius_m"] > 100 and body["candidates"][0]["code"] == code
    # A call by the code the search gave lands on the same place.
    inc = created(client, {"place": body["place"]["code"]})
    assert inc["location"]["place"]["code"] == code and inc["accuracy_m"] == body["place"]["radius_m"]


def test_place_search_ambiguous_not_found_and_bad_input(client) -> None:
    body = client.get("/api/places", params={"q": "Patas"}).json()
    assert body["status"] == "ambiguous" and body["place"] is None
    assert {c["name"] for c in body["candidates"]} == {"Patas I", "Patas II"}
    body = client.get("/api/places", params={"q": "Qwxyz Zzkq"}).json()
    assert body["status"] == "not_found" and body["place"] is None and body["candidates"]
    assert client.get("/api/places", params={"q": ""}).status_code == 422
    r = client.get("/api/places", params={"q": "x" * 121})
    assert r.status_code == 422 and "120" in r.text


def test_a_place_query_without_a_name_is_422_but_a_call_with_one_is_kept(client) -> None:
    r = client.get("/api/places", params={"q": ":"})
    assert r.status_code == 422 and r.json()["field"] == "q"
    # A call is never refused for its place text (issue 14): stored as perlu lokasi, the text kept.
    r = post(client, {"place": ";;"})
    assert r.status_code == 201 and r.json()["status"] == "perlu_lokasi"
    assert r.json()["location"]["place"]["query"] == ";;"
    assert client.get("/api/incidents").json()["total"] == 1


def test_place_search_needs_login(anon_client) -> None:
    assert anon_client.get("/api/places", params={"q": "buntok"}).status_code == 401


def test_aml_good_nofix_and_malformed(client) -> None:
    inc = created(client, {"aml": AML_OK})
    assert inc["location_source"] == "aml" and inc["accuracy_m"] == 25 and inc["status"] == "baru"
    aml = inc["location"]["aml"]
    assert aml["method"] == "gnss" and aml["fixed_at"] == "2026-11-29T08:15:30+00:00"
    assert aml["fixed_at_wib"] == "29-11-2026 15:15 WIB" and aml["imei"] == "356938035643809"
    assert inc["lon"] == pytest.approx(114.84567) and inc["desa_name"] is not None
    nofix = created(client, {"aml": AML_NOFIX})
    assert nofix["status"] == "perlu_lokasi" and nofix["lon"] is None
    assert nofix["location_source"] == "aml" and nofix["location"]["aml"]["method"] == "none"
    for bad, field in [
        (AML_OK.replace("lt=-1.71234", "lt=-1.7x"), "lt"),
        (AML_OK.replace("top=20261129081530", "top=2026113"), "top"),
        ("AML hello", 'A"ML'),
        (AML_OK + ";ml=9", "ml"),
    ]:
        r = post(client, {"aml": bad})
        assert r.status_code == 422, bad
        assert r.json()["aml_field"] == field and r.json()["field"] == f"location.aml.{field}"


def test_no_location_is_stored_and_located_later(client, database) -> None:
    mark = audit_mark(database)
    inc = created(client, None)
    assert inc["status"] == "perlu_lokasi" and inc["lon"] is None and inc["location"] is None
    r = client.post(f"/api/incidents/{inc['id']}/transition", json={"to": "baru", "version": 1})
    assert r.status_code == 409
    r = client.patch(f"/api/incidents/{inc['id']}", json={"version": 1, "location": {"place": "Pendang"}})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "baru" and got["desa_code"] == "62.04.04.1005" and got["version"] == 2
    assert [t["status"] for t in got["transitions"]] == ["perlu_lokasi", "baru"]
    assert audit_after(database, mark) == [("incident.create", str(inc["id"])), ("incident.update", str(inc["id"]))]


def test_two_location_forms_refused(client) -> None:
    r = post(client, {"place": "Pendang", **BUNTOK})
    assert r.status_code == 422 and r.json()["field"] == "location"


# -- bad input ----------------------------------------------------------------------------------------
def test_unknown_category_lists_valid(client) -> None:
    r = post(client, BUNTOK, category="alien")
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "category" and "kebakaran" in body["valid"] and "banjir" in body["valid"]


@pytest.mark.parametrize(("field", "limit"), [("description", 2000), ("caller_name", 120), ("caller_phone", 32)])
def test_overlong_text_names_limit(client, field: str, limit: int) -> None:
    r = post(client, BUNTOK, **{field: "x" * (limit + 1)})
    assert r.status_code == 422
    assert r.json()["field"] == field and str(limit) in r.json()["message"]
    assert client.get("/api/incidents").json()["total"] == 0


# -- catalog ------------------------------------------------------------------------------------------
def test_categories_and_agencies(client) -> None:
    cats = client.get("/api/categories").json()["categories"]
    by = {c["code"]: c for c in cats}
    assert by["kebakaran"]["primary_agencies"][0]["code"] == "damkar"
    assert "perahu" in by["banjir"]["water_unit_types"]
    ag = client.get("/api/agencies").json()
    assert {a["code"] for a in ag["agencies"]} >= {"damkar", "bpbd", "polres", "hukum"}
    assert {u["code"] for u in ag["unit_types"]} >= {"ambulans", "perahu"}


# -- lifecycle ----------------------------------------------------------------------------------------
def test_lifecycle_over_http(client, database) -> None:
    inc = created(client)
    mark = audit_mark(database)
    version = inc["version"]
    for state in FORWARD:
        body = {"to": state, "version": version, "note": state}
        if state == "ditutup":
            body["disposition"] = "selesai_ditangani"
        r = client.post(f"/api/incidents/{inc['id']}/transition", json=body)
        assert r.status_code == 200, r.text
        version = r.json()["version"]
    got = client.get(f"/api/incidents/{inc['id']}").json()
    assert [t["status"] for t in got["transitions"]] == ["baru", *FORWARD]
    assert all(t["at_wib"].endswith("WIB") for t in got["transitions"])
    # The intervals served are the gaps between the served transition times, to the microsecond.
    at = {t["status"]: datetime.fromisoformat(t["at"]) for t in got["transitions"]}
    iv = got["intervals"]
    assert iv["call_to_dispatch_s"] == pytest.approx((at["dikirim"] - at["baru"]).total_seconds(), abs=1e-6)
    assert iv["dispatch_to_scene_s"] == pytest.approx((at["tiba"] - at["dikirim"]).total_seconds(), abs=1e-6)
    assert iv["call_to_resolved_s"] == pytest.approx((at["selesai"] - at["baru"]).total_seconds(), abs=1e-6)
    assert 0 < iv["call_to_dispatch_s"] < iv["call_to_resolved_s"]
    assert len(audit_after(database, mark)) == len(FORWARD)
    r = client.post(f"/api/incidents/{inc['id']}/transition",
                    json={"to": "batal", "version": version, "disposition": "iseng"})
    assert r.status_code == 409 and r.json()["allowed"] == []


def test_illegal_and_unknown_transition(client) -> None:
    inc = created(client)
    r = client.post(f"/api/incidents/{inc['id']}/transition", json={"to": "tiba", "version": 1})
    assert r.status_code == 409
    assert r.json()["allowed"] == ["diverifikasi", "batal"] and "diverifikasi" in r.json()["message_en"]
    r = client.post(f"/api/incidents/{inc['id']}/transition", json={"to": "meledak", "version": 1})
    assert r.status_code == 422 and "ditutup" in r.json()["valid"]
    assert client.get(f"/api/incidents/{inc['id']}").json()["version"] == 1
    assert client.post("/api/incidents/999999/transition", json={"to": "batal", "version": 1}).status_code == 404


def test_stale_version_gets_409_and_nothing_written(client, database) -> None:
    inc = created(client)
    r = client.patch(f"/api/incidents/{inc['id']}", json={"version": 1, "description": "Dua rumah"})
    assert r.status_code == 200 and r.json()["version"] == 2
    mark = audit_mark(database)
    r = client.patch(f"/api/incidents/{inc['id']}", json={"version": 1, "description": "Tiga rumah"})
    assert r.status_code == 409 and r.json()["current_version"] == 2
    r = client.post(f"/api/incidents/{inc['id']}/transition", json={"to": "diverifikasi", "version": 1})
    assert r.status_code == 409
    got = client.get(f"/api/incidents/{inc['id']}").json()
    assert got["description"] == "Dua rumah" and got["status"] == "baru" and got["version"] == 2
    assert audit_after(database, mark) == []


def test_concurrent_operators_one_wins(client) -> None:
    inc = created(client)
    codes: list[int] = []

    def change(text: str) -> None:
        r = client.patch(f"/api/incidents/{inc['id']}", json={"version": 1, "description": text})
        codes.append(r.status_code)

    threads = [threading.Thread(target=change, args=(f"operator {i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    assert client.get(f"/api/incidents/{inc['id']}").json()["version"] == 2


# -- duplicates and merge -----------------------------------------------------------------------------
def test_duplicate_flag_and_merge(client, database) -> None:
    first = created(client)
    second = created(client, {"lon": 114.853, "lat": -1.7115})
    other = created(client, {"lon": 114.853, "lat": -1.7115}, category="banjir")
    far = created(client, {"lon": 114.87, "lat": -1.71})
    assert [d["id"] for d in second["possible_duplicates"]] == [first["id"]]
    assert 300 < second["possible_duplicates"][0]["distance_m"] < 500
    assert other["possible_duplicates"] == [] and far["possible_duplicates"] == []
    mark = audit_mark(database)
    r = client.post(f"/api/incidents/{first['id']}/merge", json={"duplicate_id": second["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["merged_from"] == [second["id"]]
    dup = client.get(f"/api/incidents/{second['id']}").json()
    assert dup["status"] == "batal" and dup["merged_into"] == first["id"]
    assert [t["status"] for t in dup["transitions"]] == ["baru", "batal"]
    assert audit_after(database, mark) == [
        ("incident.merge", str(first["id"])),
        ("incident.merged", str(second["id"])),
    ]
    again = client.post(f"/api/incidents/{first['id']}/merge", json={"duplicate_id": second["id"]})
    assert again.status_code == 409
    into_merged = client.post(f"/api/incidents/{second['id']}/merge", json={"duplicate_id": far["id"]})
    assert into_merged.status_code == 409
    assert client.post(f"/api/incidents/{first['id']}/merge", json={"duplicate_id": first["id"]}).status_code == 422


# -- lists --------------------------------------------------------------------------------------------
def test_list_filters_geojson_pages(client) -> None:
    a = created(client)  # Buntok Kota, Dusun Selatan
    b = created(client, {"place": "Pendang"}, category="banjir")  # Dusun Utara
    c = created(client, None, category="banjir")
    client.post(f"/api/incidents/{a['id']}/transition", json={"to": "diverifikasi", "version": 1})

    def ids(**params) -> list[int]:
        r = client.get("/api/incidents", params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(status="diverifikasi") == [a["id"]]
    assert ids(status="baru,perlu_lokasi") == [c["id"], b["id"]]
    assert ids(category="banjir") == [c["id"], b["id"]]
    assert ids(kecamatan="62.04.04") == [b["id"]] and ids(kecamatan="dusun selatan") == [a["id"]]
    assert ids(desa="62.04.06.1008") == [a["id"]] and ids(desa="Pendang") == [b["id"]]
    assert ids(bbox="114.80,-1.75,114.90,-1.69") == [a["id"]]
    now = datetime.now(UTC)
    assert ids(since=(now - timedelta(minutes=5)).isoformat()) == [c["id"], b["id"], a["id"]]
    assert ids(until=(now - timedelta(minutes=5)).isoformat()) == []
    page = client.get("/api/incidents", params={"limit": 2, "offset": 2}).json()
    assert (page["total"], page["limit"], page["offset"], [i["id"] for i in page["items"]]) == (3, 2, 2, [a["id"]])
    gj = client.get("/api/incidents", params={"format": "geojson", "category": "banjir"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    fc = gj.json()
    assert fc["type"] == "FeatureCollection" and fc["numberMatched"] == 2
    geoms = {f["id"]: f["geometry"] for f in fc["features"]}
    assert geoms[c["id"]] is None and geoms[b["id"]]["type"] == "Point"
    for bad in ({"status": "terbang"}, {"bbox": "1,2,3"}, {"limit": 501}, {"format": "kml"}):
        assert client.get("/api/incidents", params=bad).status_code == 422, bad



def test_list_bbox_reads_like_every_bbox(client) -> None:
    """/api/incidents parses bbox with api.params.parse_bbox: a box of no area or with lat/lon swapped is a 422."""
    flat = client.get("/api/incidents", params={"bbox": "114.8,-1.7,114.8,-1.7"})
    assert flat.status_code == 422 and flat.json()["field"] == "bbox"
    swapped = client.get("/api/incidents", params={"bbox": "-1.75,114.80,-1.69,114.90"})
    assert swapped.status_code == 422 and swapped.json()["field"] == "bbox" and swapped.json()["hint"] == "swapped"

# -- roles --------------------------------------------------------------------------------------------
def test_roles(app_client, tokens, anon_client) -> None:
    body = {"category": "kebakaran", "location": BUNTOK}
    assert anon_client.post("/api/incidents", json=body).status_code == 401
    assert anon_client.get("/api/incidents").status_code == 401
    assert anon_client.get("/api/categories").status_code == 401
    for role in ("leader", "planner"):
        r = app_client.post("/api/incidents", json=body, headers=bearer(tokens[role]))
        assert r.status_code == 403, role
    r = app_client.post("/api/incidents", json=body, headers=bearer(tokens["admin"]))
    assert r.status_code == 201
    iid = r.json()["id"]
    leader = bearer(tokens["leader"])
    assert app_client.get(f"/api/incidents/{iid}", headers=leader).status_code == 200
    assert app_client.get("/api/incidents", headers=leader).json()["total"] == 1
    r = app_client.post(f"/api/incidents/{iid}/transition", json={"to": "batal", "version": 1}, headers=leader)
    assert r.status_code == 403
    assert app_client.patch(f"/api/incidents/{iid}", json={"version": 1}, headers=leader).status_code == 403


def test_nul_and_huge_numbers_are_422(client) -> None:
    assert post(client, BUNTOK, description="api\x00").status_code == 422
    assert client.get("/api/incidents", params={"category": "a\x00"}).status_code == 422
    assert client.get(f"/api/incidents/{2**63}").status_code == 422
    r = client.post("/api/incidents/1/merge", json={"duplicate_id": 2**63})
    assert r.status_code == 422 and r.json()["field"] == "duplicate_id"
