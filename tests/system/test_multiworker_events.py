"""Live events through real server processes: an incident created over HTTP reaches SSE clients.

On PostGIS two separate uvicorn processes share the database: an incident created through server A
must reach an SSE client of server B (LISTEN/NOTIFY). On both backends one server's own SSE client
hears what it creates.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from api.config import PROJECT_ROOT
from store.accounts import add_user
from store.db import make_engine, make_sessionmaker, session_scope
from store.layers import load_bundled
from store.migrate import upgrade
from tests.conftest import TEST_PASSWORD, make_test_database

SECRET = "multiworker-test-secret-0123456789abcdef"
READY_S = 90.0
EVENT_WAIT_S = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str) -> Iterator[str]:
    """A real uvicorn process serving the app on `url`'s database; always killed afterwards."""
    port = _free_port()
    env = os.environ | {"SIGAP_DATABASE_URL": url, "SIGAP_SECRET_KEY": SECRET, "SIGAP_MODE": "demo"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "jobs.server:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        proc.kill()
        proc.wait(timeout=10)


def login(base: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/token", data={"username": "t-dispatcher", "password": TEST_PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@contextmanager
def sse(base: str, headers: dict[str, str]) -> Iterator[queue.Queue]:
    """Events of the server's stream, parsed, on a queue filled by a background reader."""
    events: queue.Queue = queue.Queue()
    connected = threading.Event()
    client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))

    def read() -> None:
        try:
            with client.stream("GET", f"{base}/api/events", headers=headers) as r:
                connected.set()
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.put(json.loads(line[6:]))
        except (httpx.HTTPError, RuntimeError):
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert connected.wait(10), "SSE stream did not open"
    try:
        yield events
    finally:
        client.close()


def create(base: str, headers: dict[str, str]) -> dict:
    body = {"category": "kebakaran", "location": {"lon": 114.85, "lat": -1.71}}
    r = httpx.post(f"{base}/api/incidents", json=body, headers=headers, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def wait_for(events: queue.Queue, incident_id: int) -> dict | None:
    deadline = time.monotonic() + EVENT_WAIT_S
    while (left := deadline - time.monotonic()) > 0:
        try:
            ev = events.get(timeout=left)
        except queue.Empty:
            return None
        if ev["kind"] == "incident.created" and ev["data"]["id"] == incident_id:
            return ev
    return None


@pytest.fixture(scope="module")
def postgis_url(tmp_path_factory) -> Iterator[str]:
    """A PostGIS database of its own with layers and the test accounts (fails under SIGAP_REQUIRE_POSTGIS=1)."""
    url, drop = make_test_database("postgis", tmp_path_factory.mktemp("mw"))
    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_scope(make_sessionmaker(engine)) as session:
            load_bundled(session, PROJECT_ROOT / "data")
            add_user(session, username="t-dispatcher", password=TEST_PASSWORD, role="dispatcher")
    finally:
        engine.dispose()
    yield url
    drop()


def test_event_crosses_server_processes_on_postgis(postgis_url: str) -> None:
    with server(postgis_url) as a, server(postgis_url) as b:
        ha, hb = login(a), login(b)
        with sse(b, hb) as events:
            # B hearing its own write proves its LISTEN connection is up (PostGIS delivers only via NOTIFY).
            warm = create(b, hb)
            assert wait_for(events, warm["id"]) is not None
            incident = create(a, ha)
            ev = wait_for(events, incident["id"])
    assert ev is not None, "event created on server A never reached server B"
    assert ev["data"]["number"] == incident["number"] and ev["data"]["status"] == "baru"
    assert ev["data"]["changed"] == ["created"]


def test_api_event_reaches_sse_client(database) -> None:
    with server(database.url) as base:
        headers = login(base)
        try:
            with sse(base, headers) as events:
                incident = create(base, headers)
                ev = wait_for(events, incident["id"])
        finally:
            database.clean()
    assert ev is not None
    assert ev["data"]["lon"] == pytest.approx(114.85) and ev["data"]["version"] == 1
