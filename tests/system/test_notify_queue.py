"""The notification queue survives the platform: a message queued while the channel is down is sent once it is up,
after a restart, exactly once; a kill -9 while a message is on the wire sends that one message again (at-least-once,
the documented choice: the SMS gateway takes no idempotency key) and nothing else twice. Real uvicorn processes on
both backends, a local SMS gateway speaking the gateway's shapes."""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from store.db import make_engine, make_sessionmaker, session_scope
from store.layers import read_layers
from store.notify import NotificationAttempt
from store.units import Unit, seed_demo_units
from tests.conftest import BACKENDS, TEST_PASSWORD
from tests.servers import free_port, prepared_database, start_server, stop_server
from tests.waiting import wait_until

SMS_SECRET = "sms-gateway-secret"


@dataclass
class Gateway:
    """What the local SMS gateway received (text per request), and whether it holds requests on the wire."""

    texts: list[str] = field(default_factory=list)
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _gateway(state: Gateway, port: int) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            with state.lock:
                state.texts.append(body["message"])
            hold = state.hold
            state.arrived.set()
            if hold is not None:
                hold.wait(60)  # on the wire while the platform is killed
            raw = json.dumps({"id": f"sms-{len(state.texts)}", "status": "queued"}).encode()
            self.send_response(202)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(params=BACKENDS)
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int, dict[str, str], dict]]:
    url, drop = prepared_database(request.param, tmp_path)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as s:
        seed_demo_units(s, read_layers(s))
        units = {u.callsign: u.id for u in s.scalars(select(Unit))}
    engine.dispose()
    port = free_port()
    env = {"SIGAP_HOST": "127.0.0.1", "SIGAP_SMS_GATEWAY_URL": f"http://127.0.0.1:{port}/sms/send",
           "SIGAP_SMS_GATEWAY_SECRET": SMS_SECRET, "SIGAP_CREW_NOTIFY_BACKOFF_S": "0.2",
           "SIGAP_CREW_NOTIFY_MAX_TRIES": "50", "SIGAP_CREW_NOTIFY_LEASE_S": "1", "SIGAP_CREW_NOTIFY_TIMEOUT_S": "30"}
    try:
        yield url, port, env, units
    finally:
        drop()


def _login(base: str) -> dict[str, str]:
    out = {}
    for role in ("dispatcher", "admin"):
        r = httpx.post(f"{base}/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
        out[role] = f"Bearer {r.json()['access_token']}"
    return out


def _dispatch(base: str, auth: dict[str, str], unit: int, number: str) -> int:
    r = httpx.put(f"{base}/api/units/{unit}/channels", headers={"Authorization": auth["admin"]},
                  json={"channels": [{"channel": "sms", "address": number}]})
    assert r.status_code == 200, r.text
    d = {"Authorization": auth["dispatcher"]}
    inc = httpx.post(f"{base}/api/incidents", headers=d, json={"category": "kebakaran",
                                                                "location": {"lon": 114.8453, "lat": -1.7115}}).json()
    assert httpx.post(f"{base}/api/incidents/{inc['id']}/dispatch", headers=d,
                      json={"unit_ids": [unit]}).status_code == 200
    return int(inc["id"])


def _attempt(base: str, auth: dict[str, str], incident_id: int) -> dict:
    """The call's one notification attempt (queued in the dispatch's own transaction: there from its answer on)."""
    r = httpx.get(f"{base}/api/incidents/{incident_id}/notifications", headers={"Authorization": auth["dispatcher"]})
    [attempt] = r.json()["attempts"]
    return attempt


def _sent(base: str, auth: dict[str, str], incident_id: int) -> dict | None:
    a = _attempt(base, auth, incident_id)
    return a if a["status"] == "sent" else None


def test_a_message_queued_while_the_channel_is_down_is_sent_once_after_a_restart(platform) -> None:
    url, port, env, units = platform
    gateway = Gateway()
    proc, base = start_server(url, extra_env=env)
    try:
        auth = _login(base)
        inc = _dispatch(base, auth, units["DMK-BTK-1"], "081200000001")
        # The gateway is down: the attempt is retried, with back-off, and waits in the database.
        wait_until(lambda: (a := _attempt(base, auth, inc))["status"] == "retried" and a["tries"] >= 2)
    finally:
        stop_server(proc)  # SIGKILL: nothing is flushed on the way out
    srv = _gateway(gateway, port)
    try:
        proc, base = start_server(url, extra_env=env)
        try:
            auth = _login(base)
            wait_until(lambda: _sent(base, auth, inc), message="queued message not sent after the restart")
            # Settled, and nothing more comes: a later message is sent and counted behind it.
            later = _dispatch(base, auth, units["AMB-BTK-1"], "081200000002")
            wait_until(lambda: _sent(base, auth, later))
        finally:
            stop_server(proc)
    finally:
        srv.shutdown()
    first = [t for t in gateway.texts if "Balas" in t]
    assert len(first) == 2 and first[0] != first[1], gateway.texts  # one message per call, each once


def test_kill_minus_9_mid_send_sends_only_the_message_on_the_wire_again(platform) -> None:
    url, port, env, units = platform
    gateway = Gateway()
    srv = _gateway(gateway, port)
    try:
        proc, base = start_server(url, extra_env=env)
        auth = _login(base)
        before = _dispatch(base, auth, units["DMK-BTK-1"], "081200000001")
        wait_until(lambda: _sent(base, auth, before))
        gateway.hold, gateway.arrived = threading.Event(), threading.Event()
        on_wire = _dispatch(base, auth, units["AMB-BTK-1"], "081200000002")
        assert gateway.arrived.wait(30), "the second message never reached the gateway"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stop_server(proc, killed=True)
        hold = gateway.hold
        gateway.hold = None
        hold.set()
        proc, base = start_server(url, extra_env=env)
        try:
            auth = _login(base)
            # The claim left by the dead process is taken again after its lease, and sent.
            done = wait_until(lambda: _sent(base, auth, on_wire), message="message on the wire not sent again")
            assert done["tries"] == 2
        finally:
            stop_server(proc)
    finally:
        srv.shutdown()
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        rows = {a.incident_id: a for a in s.scalars(select(NotificationAttempt))}
    engine.dispose()
    texts = gateway.texts
    first_text = rows[before].body
    second_text = rows[on_wire].body
    # The message sent before the kill went once; the one on the wire went twice (at-least-once), nothing else.
    assert texts.count(first_text) == 1 and texts.count(second_text) == 2 and len(texts) == 3, texts
