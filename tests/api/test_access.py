"""Every route of the app: anonymous requests get 401 (or the login page), leaders never write (403)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute

from api.app import ROUTERS
from store.crew import new_pairing, pair_device
from store.db import session_scope
from store.units import Unit
from tests.conftest import bearer

# Open on purpose: health for load balancers, the login itself, and the API documentation.
PUBLIC = {"/healthz", "/api/auth/token", "/api/auth/logout", "/docs", "/docs/oauth2-redirect", "/redoc",
          "/openapi.json", "/login", "/api/crew/pair", "/crew", "/crew.webmanifest", "/crew-sw.js"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# POSTs that only read (a batch too large for a query string); every role may use them.
READ_POSTS = {("POST", "/api/locate")}
# What leaders may ask for: a situation report of a period (it changes nothing they see on the map).
LEADER_POSTS = {("POST", "/api/reports")}
# Machine webhooks: signed with the PBX's shared secret (HMAC), never a person's token; any token is a 401.
SIGNED_POSTS = {("POST", "/api/telephony/events"), ("POST", "/api/telephony/aml")}
# Inbound webhooks of the notification channels: checked by the channel's secret header or signature, never a token.
CHANNEL_WEBHOOKS = {("POST", "/api/crew/webhooks/telegram"), ("POST", "/api/crew/webhooks/whatsapp"),
                    ("POST", "/api/crew/webhooks/sms")}
# What a crew phone's token may do: read its unit's assignment and events, write its taps and positions.
CREW_ROUTES = {("GET", "/api/crew/assignment"), ("GET", "/api/crew/events"), ("POST", "/api/crew/taps"),
               ("POST", "/api/crew/position"), ("POST", "/api/crew/positions"), ("GET", "/api/crew/push-key"),
               ("POST", "/api/crew/push-subscription"), ("GET", "/api/crew/route")}
SAMPLE_PARAMS = {"name": "desa", "layer": "desa", "collection_id": "desa", "fmt": "geojson"}


def _routes() -> list[tuple[str, str]]:
    out = []
    for route in [r for router in ROUTERS for r in router.routes]:
        if not isinstance(route, APIRoute) or route.path in PUBLIC:
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            out.append((method, route.path))
    return out


ROUTES = _routes()


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS.get(m.group(1), "1"), path)


def test_routes_were_found() -> None:
    assert len(ROUTES) >= 6
    assert ("GET", "/api/locate") in ROUTES


@pytest.mark.parametrize("method,path", ROUTES)
def test_anonymous_is_refused(anon_client, method: str, path: str) -> None:
    r = anon_client.request(method, _concrete(path), json={} if method in WRITE_METHODS else None,
                            follow_redirects=False)
    if r.status_code in (302, 303, 307):
        assert r.headers["location"].startswith("/login")
    else:
        assert r.status_code == 401, f"{method} {path} -> {r.status_code}"
        assert r.json()["message_en"]


NOT_PERSONS = READ_POSTS | LEADER_POSTS | SIGNED_POSTS | CREW_ROUTES | CHANNEL_WEBHOOKS
WRITES = [r for r in ROUTES if r[0] in WRITE_METHODS and r not in NOT_PERSONS]


@pytest.mark.parametrize("method,path", sorted(SIGNED_POSTS))
def test_signed_webhooks_refuse_every_token(app_client, tokens, method: str, path: str) -> None:
    for role in ("admin", "leader"):
        r = app_client.request(method, path, json={}, headers=bearer(tokens[role]))
        assert r.status_code == 401 and r.json()["field"] == "X-Sigap-Signature"
    assert set(SIGNED_POSTS) <= set(ROUTES)


@pytest.mark.parametrize("method,path", WRITES)
def test_leaders_cannot_write(app_client, tokens, method: str, path: str) -> None:
    r = app_client.request(method, _concrete(path), json={}, headers=bearer(tokens["leader"]))
    assert r.status_code == 403, f"{method} {path} -> {r.status_code}: {r.text[:200]}"
    assert "leader" in r.json()["message_en"]


def test_leaders_may_ask_for_a_report(app_client, tokens) -> None:
    """The one POST a leader makes: its body is checked (422), never refused for the role."""
    r = app_client.post("/api/reports", json={}, headers=bearer(tokens["leader"]))
    assert r.status_code == 422 and r.json()["field"] == "kind"


@pytest.fixture
def crew_token(app_client, database) -> Iterator[str]:
    """A paired crew phone's token for a unit made for the test; everything removed afterwards."""
    app_client.headers.pop("Authorization", None)
    app_client.cookies.clear()
    with session_scope(database.sessions) as s:
        unit = Unit(callsign="UJI-KRU-1", name="uji", type="damkar", agency="damkar", status="tersedia",
                    travel_mode="road")
        s.add(unit)
        s.flush()
        code = new_pairing(s, unit.id, actor="t-admin")["code"]
        got = pair_device(s, code, label="uji")
        assert got is not None
        token = got[0]
    yield token
    database.clean()


CREW_SWEEP = [r for r in ROUTES if r not in CREW_ROUTES]


@pytest.mark.parametrize("method,path", CREW_SWEEP)
def test_crew_token_is_refused_everywhere_else(app_client, crew_token: str, method: str, path: str) -> None:
    """A crew phone's token opens only its own routes: every other route answers 401 or 403 (pages: login)."""
    r = app_client.request(method, _concrete(path), json={} if method in WRITE_METHODS else None,
                           headers=bearer(crew_token), follow_redirects=False)
    if r.status_code in (302, 303, 307):
        assert r.headers["location"].startswith("/login")
    else:
        assert r.status_code in (401, 403), f"{method} {path} -> {r.status_code}: {r.text[:200]}"


def test_crew_token_opens_its_own_routes(app_client, crew_token: str) -> None:
    """The same token is good where a crew belongs (so the sweep above is not refusing a broken token)."""
    assert set(CREW_ROUTES) <= set(ROUTES)
    r = app_client.get("/api/crew/assignment", headers=bearer(crew_token))
    assert r.status_code == 200 and r.json()["unit"]["callsign"] == "UJI-KRU-1"


@pytest.mark.parametrize("method,path", sorted(CREW_ROUTES))
def test_staff_tokens_are_not_crew_tokens(app_client, tokens, method: str, path: str) -> None:
    """A person's token (even an admin's) is no crew phone: the crew's routes answer 401."""
    app_client.cookies.clear()
    r = app_client.request(method, path, json={} if method in WRITE_METHODS else None,
                           headers=bearer(tokens["admin"]))
    assert r.status_code == 401


@pytest.mark.parametrize("method,path", sorted(CHANNEL_WEBHOOKS))
def test_channel_webhooks_refuse_every_token(app_client, tokens, method: str, path: str) -> None:
    """A person's token is no channel secret: 401 naming the header to send."""
    r = app_client.request(method, path, json={}, headers=bearer(tokens["admin"]))
    assert r.status_code == 401 and r.json()["field"].startswith("X-")
