"""Live events through real server processes: an incident created over HTTP reaches SSE clients.

On PostGIS two separate uvicorn processes share the database: an incident created through server A
must reach an SSE client of server B (LISTEN/NOTIFY). On both backends one server's own SSE client
hears what it creates.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.servers import create_incident, login, prepared_database, server, sse, wait_for_created
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def postgis_url(tmp_path_factory) -> Iterator[str]:
    """A PostGIS database of its own with layers and the test accounts (fails under SIGAP_REQUIRE_POSTGIS=1)."""
    url, drop = prepared_database("postgis", tmp_path_factory.mktemp("mw"))
    yield url
    drop()


def test_event_crosses_server_processes_on_postgis(postgis_url: str) -> None:
    with server(postgis_url) as a, server(postgis_url) as b:
        ha, hb = login(a), login(b)
        with sse(b, hb) as events:
            # B hearing its own write proves its LISTEN connection is up (PostGIS delivers only via NOTIFY).
            warm = create_incident(b, hb)
            assert wait_for_created(events, warm["id"]) is not None
            incident = create_incident(a, ha)
            ev = wait_for_created(events, incident["id"])
    assert ev is not None, "event created on server A never reached server B"
    assert ev["data"]["number"] == incident["number"] and ev["data"]["status"] == "baru"
    assert ev["data"]["changed"] == ["created"]


def test_api_event_reaches_sse_client(database) -> None:
    with server(database.url) as base:
        headers = login(base)
        try:
            with sse(base, headers) as events:
                incident = create_incident(base, headers)
                ev = wait_for_created(events, incident["id"])
        finally:
            database.clean()
    assert ev is not None
    assert ev["data"]["lon"] == pytest.approx(114.85) and ev["data"]["version"] == 1


def test_a_logout_in_one_worker_ends_the_session_in_the_other(postgis_url: str) -> None:
    """Each worker remembers accounts; a revocation in one worker (or anywhere) makes the other forget at once:
    PostgreSQL NOTIFYs every listener when app_user changes."""
    with server(postgis_url) as a, server(postgis_url) as b:
        headers = login(a, "supervisor")
        # B answers (and now remembers the account) before the logout in A.
        for _ in range(3):
            assert httpx.get(f"{b}/api/auth/me", headers=headers).status_code == 200
        assert httpx.post(f"{a}/api/auth/logout", headers=headers).status_code == 200
        assert httpx.get(f"{a}/api/auth/me", headers=headers).status_code == 401
        # The NOTIFY reaches B's listener at A's commit, on B's own connection; B never answers 200 again.
        wait_until(lambda: httpx.get(f"{b}/api/auth/me", headers=headers).status_code == 401, timeout=10,
                   message="a logout in worker A left the session alive in worker B")
        fresh = login(b, "supervisor")
        assert httpx.get(f"{a}/api/auth/me", headers=fresh).status_code == 200
