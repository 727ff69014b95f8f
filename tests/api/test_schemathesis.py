"""Property-based requests generated from the platform's own OpenAPI spec, as every role: never a 5xx, and every
answer shaped as the spec declares it (schemathesis' response schema conformance).

Schemathesis generates the cases from the spec; plain Hypothesis drives them (its pytest plugin does not
run under this pytest), one operation at a time, against the app on each backend. Generated requests are
mostly refused (a random category, an unknown id), so a second test walks the incident and unit operations
with requests that succeed and checks each answer against its declared schema as well.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.cookiejar import DefaultCookiePolicy

import numpy as np
import pytest
import schemathesis
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy import select

from api.app import create_app
from store.db import session_scope
from store.floods import create_flood
from store.hotspots import ingest_detections
from store.layers import read_layers
from store.units import Unit, seed_demo_units
from tests.conftest import ROLES, TEST_PASSWORD, settings_for

# Endless or by-design-slow operations are exercised by their own tests.
SKIP_PATHS = ("/api/events",)
EXAMPLES_PER_OPERATION = 8
# Generated requests every operation must receive as every role: EXAMPLES_PER_OPERATION, or all the distinct
# requests its spec allows when there are fewer (an operation without inputs has one; `?format=json|geojson`
# has three: json, geojson, absent).
MIN_PER_OPERATION = EXAMPLES_PER_OPERATION
AML = 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20261129081530;lc=68;pm=G;si=510101000000000;ei=356938035643809'


def _distinct_requests(operation: dict) -> float:
    """How many different requests the spec allows for an operation: finite only when every input is an enum."""
    if "requestBody" in operation:
        return float("inf")
    size = 1.0
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        values = 0
        for choice in schema.get("anyOf", [schema]):
            if "enum" in choice:
                values += len(choice["enum"])
            elif choice.get("type") == "boolean":
                values += 2
            elif choice.get("type") != "null":  # a null query parameter is the same request as an absent one
                return float("inf")
        size *= values + (0 if parameter.get("required") else 1)
    return size


def test_no_server_errors_for_any_role(database) -> None:
    app = create_app(settings_for(database.url))
    counter, failures = [0], []
    per_operation: Counter[tuple[str, str]] = Counter()
    with TestClient(app) as client:
        tokens = {}
        for role in ROLES:
            r = client.post("/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
            tokens[role] = r.json()["access_token"]
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [r.ok() for r in schema.get_all_operations()]
        operations = [op for op in operations if not op.path.startswith(SKIP_PATHS)]
        assert len(operations) >= 5

        spec = app.openapi()
        try:
            with asgi_session(app) as session:
                _run_all(operations, session, tokens, failures, counter, per_operation)
        finally:
            # Schemathesis keeps the app's lifespan running for its own calls; its pytest plugin would end
            # it, but that plugin does not run here. Left running, the app's event listener outlives the
            # test database and keeps retrying to reach it.
            shutdown_lifespans()
    database.clean()
    assert not failures, "\n".join(failures[:20])
    assert counter[0] >= 1000, counter[0]
    # Per operation, not only in total: one operation generating almost nothing would otherwise go unnoticed.
    too_few = []
    for op in operations:
        needed = min(MIN_PER_OPERATION, _distinct_requests(spec["paths"][op.path][op.method.lower()]))
        for role in ROLES:
            got = per_operation[(f"{op.method.upper()} {op.path}", role)]
            if got < needed:
                too_few.append(f"{op.method.upper()} {op.path} as {role}: {got} generated requests, needs {needed:g}")
    assert not too_few, "\n".join(too_few)


# Each operation's cases, drawn once per test process and sent to the app on each backend (and, for the GET
# operations the schema test checks, in that test too). Derandomized and never failing inside Hypothesis, the draw
# would be the same every time: drawing it again is only CPU (a third of the test's).
_DRAWN: dict[tuple[str, str], list] = {}


def generated_cases(op) -> list:
    """The operation's EXAMPLES_PER_OPERATION generated cases (fewer when its spec allows fewer)."""
    key = (op.method.upper(), op.path)
    if key not in _DRAWN:
        drawn: list = []

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), database=None)
        def draw(case) -> None:
            drawn.append(case)

        draw()
        _DRAWN[key] = drawn
    return _DRAWN[key]


def _run_all(operations: list, session, tokens: dict[str, str], failures: list[str], counter: list[int],
             per_operation: Counter[tuple[str, str]]) -> None:
    """Every operation's generated cases as every role, collecting 5xx, unhelpful 4xx and off-schema answers."""
    for op in operations:
        for case in generated_cases(op):
            for role in ROLES:
                response = case.call(session=session, headers={"Authorization": f"Bearer {tokens[role]}"})
                counter[0] += 1
                per_operation[(f"{case.operation.method.upper()} {case.operation.path}", role)] += 1
                where = f"{case.method} {case.formatted_path} as {role} -> {response.status_code}"
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.text[:300]}")
                    continue
                if 400 <= response.status_code < 500 and "json" in response.headers.get("content-type", ""):
                    body = response.json()
                    if not (isinstance(body, dict) and body.get("message_id") and body.get("message_en")):
                        failures.append(f"{where}: 4xx without a bilingual message: {str(body)[:200]}")
                try:
                    case.validate_response(response, checks=[response_schema_conformance])
                except FailureGroup as exc:
                    failures.append(f"{where}: not as declared: {str(exc)[:400]}")


def asgi_session(app):
    """One in-process client of the app for every case (schemathesis makes a requests session per call otherwise),
    without requests' proxy look-up in the environment on each request, and keeping no cookie: each case is sent
    as its own request, with only the role's token, as with a session of its own."""
    session = asgi.get_client(app)
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


# Operations whose answers are checked against their declared response schemas (GET: they only read).
SCHEMA_CHECKED = ("/api/hotspots", "/api/stats", "/api/floods")


def _recent_detections(now: datetime) -> str:
    """A VIIRS CSV of 240 detections over the last three days, half of them in a cluster at Buntok."""
    rng = np.random.default_rng(11)
    n = 240
    lon = np.r_[rng.normal(114.85, 0.01, n // 2), rng.uniform(114.6, 115.2, n // 2)]
    lat = np.r_[rng.normal(-1.73, 0.01, n // 2), rng.uniform(-2.4, -1.4, n // 2)]
    times = [now - timedelta(hours=1 + 24 * (i % 3)) for i in range(n)]
    lines = [
        "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
        "bright_ti5,frp,daynight"
    ] + [
        f"{y:.5f},{x:.5f},330.1,0.4,0.4,{t:%Y-%m-%d},{t:%H%M},N,VIIRS,{'hnl'[i % 3]},2.0NRT,290.0,{i % 7 + 1}.5,D"
        for i, (x, y, t) in enumerate(zip(lon, lat, times, strict=True))
    ]
    return "\n".join(lines) + "\n"


def test_answers_follow_their_response_schemas(database, locator) -> None:
    """Hotspot, flood and summary answers match the schemas OpenAPI declares for them, filled and empty."""
    ingest_detections(database.sessions, io.StringIO(_recent_detections(datetime.now(UTC))), locator=locator)
    with database.sessions() as s, s.begin():
        zone, _ = create_flood(s, geometry=shapely.box(114.83, -1.73, 114.86, -1.70), name="Uji", actor="t")
        zone_id = zone.id
    app = create_app(settings_for(database.url))
    checked: Counter[str] = Counter()
    filled: set[str] = set()
    failures: list[str] = []
    with TestClient(app) as client:
        r = client.post("/api/auth/token", data={"username": "t-planner", "password": TEST_PASSWORD})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [r.ok() for r in schema.get_all_operations()]
        operations = [op for op in operations if op.method == "get" and op.path.startswith(SCHEMA_CHECKED)]
        assert len(operations) >= 9, [op.path for op in operations]

        def check(case) -> None:
            response = case.call(session=session, headers=headers)
            if response.status_code != 200:
                return
            try:
                case.validate_response(response, checks=[response_schema_conformance])
            except AssertionError as exc:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {str(exc)[:400]}")
            checked[case.operation.path] += 1
            body = response.json()
            if any(body.get(k) for k in ("features", "rows", "desa", "flooded_desa", "properties", "alerts")):
                filled.add(case.operation.path)

        session = asgi_session(app)
        try:
            for op in operations:
                params = {"zone_id": zone_id} if "{zone_id}" in op.path else None
                check(op.Case(path_parameters=params))
                if op.path.startswith("/api/hotspots"):
                    for query in ({"window": "7d", "res": 6}, {"window": "24h", "confidence": "high"}):
                        check(op.Case(query={k: v for k, v in query.items() if k != "res" or "/h3" in op.path
                                             or "/persistence" in op.path or "/clusters" in op.path}))
                for case in generated_cases(op):
                    check(case)
        finally:
            session.close()
            shutdown_lifespans()
    database.clean()
    assert not failures, "\n".join(failures[:10])
    # Every operation had an answer checked that carried data, not only empty collections.
    assert {op.path for op in operations} <= filled, {op.path for op in operations} - filled
    assert sum(checked.values()) >= 3 * len(operations), checked


@pytest.fixture
def declared(database):
    """A dispatcher's client of the app with the demo units, and a check of an answer against the spec."""
    app = create_app(settings_for(database.url))
    with TestClient(app) as client:
        r = client.post("/api/auth/token", data={"username": "t-dispatcher", "password": TEST_PASSWORD})
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        with session_scope(database.sessions) as s:
            seed_demo_units(s, read_layers(s))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)

        def check(response, path: str, method: str, status: int = 200) -> dict:
            assert response.status_code == status, response.text
            operation = schema[path][method]
            operation.validate_response(response)
            case = operation.Case()
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            return response.json()

        try:
            yield client, check, database
        finally:
            shutdown_lifespans()
    database.clean()


def test_incident_and_unit_answers_are_as_declared(declared) -> None:
    client, check, database = declared
    one = "/api/incidents/{incident_id}"
    made = [
        check(client.post("/api/incidents", json=body), "/api/incidents", "POST", 201)
        for body in (
            {"category": "kebakaran", "location": {"lon": 114.95, "lat": -1.80, "accuracy_m": 12}},
            {"category": "banjir", "location": {"place": "Pendang"}, "caller_name": "Siti"},
            {"category": "medis", "location": {"aml": AML}},
            {"category": "medis", "description": "lokasi belum diketahui"},
            {"category": "kebakaran", "location": {"lon": 114.951, "lat": -1.801}},
        )
    ]
    fire, flood, aml, nowhere, second = made
    assert [d["id"] for d in second["possible_duplicates"]] == [fire["id"]]
    check(client.get("/api/incidents"), "/api/incidents", "GET")
    gj = client.get("/api/incidents", params={"format": "geojson"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    check(gj, "/api/incidents", "GET")
    check(client.get(f"/api/incidents/{aml['id']}"), one, "GET")
    check(client.get("/api/places", params={"q": "Patas"}), "/api/places", "GET")
    check(client.get("/api/places", params={"q": "buntok kota"}), "/api/places", "GET")
    located = check(
        client.patch(f"/api/incidents/{nowhere['id']}", json={"version": 1, "location": {"place": "Buntok Kota"}}),
        one, "PATCH",
    )
    assert located["status"] == "baru"
    check(client.post(f"/api/incidents/{flood['id']}/transition", json={"to": "diverifikasi", "version": 1}),
          one + "/transition", "POST")
    merged = check(client.post(f"/api/incidents/{fire['id']}/merge", json={"duplicate_id": second["id"]}),
                   one + "/merge", "POST")
    assert merged["merged_from"] == [second["id"]]
    recs = check(client.get(f"/api/incidents/{fire['id']}/recommendations", params={"types": "damkar,perahu"}),
                 one + "/recommendations", "GET")
    with database.sessions() as s:  # a unit off the network, so a left-out unit is answered too
        far = s.scalar(select(Unit.id).where(Unit.callsign == "DMK-PTS-1"))
    check(client.put(f"/api/units/{far}/position", json={"lon": 113.92, "lat": -2.21}),
          "/api/units/{unit_id}/position", "PUT")
    recs = check(client.get(f"/api/incidents/{fire['id']}/recommendations"), one + "/recommendations", "GET")
    assert {u["reason"] for u in recs["left_out"]} == {"unreachable"}
    best = recs["recommendations"]["damkar"][0]["id"]
    sent = check(client.post(f"/api/incidents/{fire['id']}/dispatch", json={"unit_ids": [best]}),
                 one + "/dispatch", "POST")
    assert [u["id"] for u in sent["units"]] == [best]
    units = check(client.get("/api/units"), "/api/units", "GET")
    assert {u["id"]: u["status"] for u in units["units"]}[best] == "dikirim"
    gj = client.get("/api/units", params={"format": "geojson"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    check(gj, "/api/units", "GET")
    stations = check(client.get("/api/stations"), "/api/stations", "GET")
    assert stations["count"] == len(stations["stations"]) > 0
    gj = client.get("/api/stations", params={"format": "geojson"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    check(gj, "/api/stations", "GET")
    refused = client.post(f"/api/incidents/{fire['id']}/transition", json={"to": "meledak", "version": 1})
    check(refused, one + "/transition", "POST", 422)


def test_the_per_operation_minimum_counts_what_the_spec_allows() -> None:
    """The minimum a finite operation must reach is its number of distinct requests; free input needs the full N."""
    spec = create_app(settings_for("sqlite:///unused.db")).openapi()["paths"]
    assert _distinct_requests(spec["/healthz"]["get"]) == 1
    assert _distinct_requests(spec["/api/stations"]["get"]) == 3  # json, geojson, absent
    assert _distinct_requests(spec["/api/floods"]["get"]) == 3  # active, ended, absent (null is absent)
    assert _distinct_requests(spec["/api/incidents"]["post"]) == float("inf")
    assert _distinct_requests(spec["/api/incidents/{incident_id}"]["get"]) == float("inf")
