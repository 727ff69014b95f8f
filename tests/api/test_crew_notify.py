"""Dispatch notifications on both backends: each channel against a local server speaking the real API's request and
response shapes (Telegram Bot API, WhatsApp Cloud API, an SMS gateway), every attempt recorded with its status
(a failure retried), the unacknowledged alert, resend, and replies through the signed inbound webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from api.config import get_settings
from api.notify import queue_with_dispatch
from geo.errors import Conflict
from geo.times import utcnow
from jobs.cli import main as cli_main
from store.commands import assignments as commands
from store.db import session_scope
from store.dispatch import DispatchAssignment
from store.layers import read_layers
from store.notify import NotificationAttempt, vapid_key
from store.units import Unit, seed_demo_units
from tests.conftest import BACKENDS, TEST_PASSWORD, Database, bearer, open_test_database, settings_for
from tests.waiting import wait_until

BOT_TOKEN = "123456:bot-token-secret"
WA_TOKEN = "wa-token-secret"
WA_PHONE_ID = "109876543210"
WA_APP_SECRET = "wa-app-secret"
TG_SECRET = "tg-webhook-secret"
SMS_SECRET = "sms-gateway-secret"


@dataclass
class Outside:
    """What the local outside services received, and how the SMS gateway should answer."""

    requests: list[tuple[str, dict, dict]] = field(default_factory=list)
    sms_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: Outside) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if self.path.startswith("/push/"):
                # A push service (RFC 8030): the encrypted body is stored, 201 Created with the message's Location.
                with state.lock:
                    state.requests.append((self.path, headers, {"raw": raw}))
                self.send_response(201)
                self.send_header("Location", f"{self.path}/m/{len(state.requests)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            body = json.loads(raw)
            with state.lock:
                state.requests.append((self.path, headers, body))
                n = len(state.requests)
            if self.path.startswith("/tg/bot"):
                if self.path != f"/tg/bot{BOT_TOKEN}/sendMessage":
                    return self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return self._answer(200, {"ok": True, "result": {"message_id": n, "chat": {"id": body["chat_id"]},
                                                                  "date": 1765000000, "text": body["text"]}})
            if self.path == f"/wa/{WA_PHONE_ID}/messages":
                if headers.get("authorization") != f"Bearer {WA_TOKEN}" or body.get("messaging_product") != "whatsapp":
                    return self._answer(401, {"error": {"message": "Invalid OAuth access token.", "code": 190}})
                return self._answer(200, {"messaging_product": "whatsapp",
                                          "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                          "messages": [{"id": f"wamid.TEST{n}"}]})
            if self.path == "/sms/send":
                if headers.get("x-gateway-secret") != SMS_SECRET:
                    return self._answer(403, {"error": "forbidden"})
                with state.lock:
                    fail = state.sms_failures > 0
                    state.sms_failures -= 1 if fail else 0
                if fail:
                    return self._answer(503, {"error": "modem busy"})
                return self._answer(202, {"id": f"sms-{n}", "status": "queued"})
            return self._answer(404, {"error": "not found"})

    return Handler


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """This module's own database. Every app on a database works its one notification queue, and the app the
    test run keeps (tests/conftest.py) has no channels configured: it would fail these tests' notifications as
    "not configured" between their tries."""
    db, close = open_test_database(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    close()


@pytest.fixture(scope="module")
def outside() -> Iterator[tuple[Outside, str]]:
    state = Outside()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()


@pytest.fixture
def notify_client(database, outside) -> Iterator[tuple[TestClient, Outside, dict[str, int]]]:
    state, base = outside
    settings = settings_for(
        database.url, telegram_api_url=f"{base}/tg", telegram_bot_token=BOT_TOKEN, telegram_webhook_secret=TG_SECRET,
        whatsapp_api_url=f"{base}/wa", whatsapp_token=WA_TOKEN, whatsapp_phone_number_id=WA_PHONE_ID,
        whatsapp_app_secret=WA_APP_SECRET, sms_gateway_url=f"{base}/sms/send", sms_gateway_secret=SMS_SECRET,
        crew_ack_alert_s=60.0, crew_notify_max_tries=2, crew_notify_backoff_s=0.05)
    with session_scope(database.sessions) as s:
        seed_demo_units(s, read_layers(s))
    with database.sessions() as s:
        units = {u.callsign: u.id for u in s.scalars(select(Unit))}
    with TestClient(create_app(settings)) as client:
        tokens = {}
        for role in ("dispatcher", "admin"):
            r = client.post("/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
            tokens[role] = r.json()["access_token"]
        client.headers["Authorization"] = f"Bearer {tokens['dispatcher']}"
        client.admin = bearer(tokens["admin"])  # type: ignore[attr-defined]
        state.requests.clear()
        try:
            yield client, state, units
        finally:
            database.clean()


def _incident(client: TestClient) -> dict:
    r = client.post("/api/incidents", json={"category": "kebakaran",
                                            "location": {"lon": 114.8453, "lat": -1.7115}})
    assert r.status_code == 201, r.text
    return r.json()


FINAL = {"sent", "delivered", "read", "failed"}


def settled(client: TestClient, incident_id: int, n: int) -> list[dict]:
    """The call's n attempts once the notification worker has settled every one (sent or failed)."""

    def done() -> list[dict]:
        got = client.get(f"/api/incidents/{incident_id}/notifications").json()["attempts"]
        return got if len(got) == n and all(a["status"] in FINAL for a in got) else []

    return wait_until(done, message=f"{n} notifications of call {incident_id} not settled")


def test_dispatch_notifies_every_channel_and_records_each_attempt(notify_client) -> None:
    client, state, units = notify_client
    unit = units["DMK-BTK-1"]
    r = client.put(f"/api/units/{unit}/channels", headers=client.admin, json={"channels": [
        {"channel": "telegram", "address": "-100555"}, {"channel": "whatsapp", "address": "+62 812-3456-7890"},
        {"channel": "sms", "address": "0812 3456 7890"}]})
    assert r.status_code == 200, r.text
    assert [c["address"] for c in r.json()["channels"]] == ["-100555", "6281234567890", "6281234567890"]
    # Only an admin sets channels.
    assert client.put(f"/api/units/{unit}/channels", json={"channels": []}).status_code == 403
    state.sms_failures = 1
    inc = _incident(client)
    assert client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [unit]}).status_code == 200
    attempts = settled(client, inc["id"], 3)
    got = {a["channel"]: (a["status"], a["tries"]) for a in attempts}
    assert got == {"telegram": ("sent", 1), "whatsapp": ("sent", 1), "sms": ("sent", 2)}
    paths = [p for p, _, _ in state.requests]
    assert paths.count("/sms/send") == 2 and f"/tg/bot{BOT_TOKEN}/sendMessage" in paths
    tg = next(b for p, _, b in state.requests if p.startswith("/tg/"))
    assert tg["chat_id"] == "-100555" and inc["number"] in tg["text"] and "1/OK" in tg["text"]
    wa = next(b for p, _, b in state.requests if p.startswith("/wa/"))
    assert wa["to"] == "6281234567890" and wa["type"] == "text" and inc["number"] in wa["text"]["body"]
    # No credential in what the dispatcher sees.
    shown = json.dumps(attempts)
    assert BOT_TOKEN not in shown and WA_TOKEN not in shown and SMS_SECRET not in shown
    # A delivery receipt from WhatsApp moves its attempt.
    wamid = next(a for a in attempts if a["channel"] == "whatsapp")
    raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                      "value": {"statuses": [{"id": "wamid.TEST2", "status": "delivered",
                                              "recipient_id": "6281234567890"}]}}]}]}).encode()
    sig = "sha256=" + hmac.new(WA_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    r = client.post("/api/crew/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": sig,
                                                                         "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    after = {a["id"]: a["status"] for a in client.get(f"/api/incidents/{inc['id']}/notifications").json()["attempts"]}
    assert after[wamid["id"]] == "delivered"


def test_a_failing_channel_is_recorded_failed_after_a_retry(notify_client) -> None:
    client, state, units = notify_client
    unit = units["AMB-BTK-1"]
    client.put(f"/api/units/{unit}/channels", headers=client.admin,
               json={"channels": [{"channel": "sms", "address": "081200000001"}]})
    state.sms_failures = 5
    inc = _incident(client)
    client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [unit]})
    [attempt] = settled(client, inc["id"], 1)
    assert (attempt["status"], attempt["tries"]) == ("failed", 2) and "503" in attempt["detail"]
    state.sms_failures = 0


def test_unacknowledged_unit_raises_an_alert_and_can_be_resent(notify_client, database) -> None:
    client, state, units = notify_client
    unit = units["DMK-BTK-1"]
    client.put(f"/api/units/{unit}/channels", headers=client.admin,
               json={"channels": [{"channel": "telegram", "address": "777"}]})
    inc = _incident(client)
    sent = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [unit]}).json()
    settled(client, inc["id"], 1)
    assert client.get("/api/crew/alerts").json()["alerts"] == []
    with session_scope(database.sessions) as s:
        s.execute(update(DispatchAssignment).values(at=utcnow() - timedelta(seconds=61)))
    [alert] = client.get("/api/crew/alerts").json()["alerts"]
    assert alert["callsign"] == "DMK-BTK-1" and alert["waiting_s"] >= 60 and alert["attempts"][0]["status"] == "sent"
    again = client.post(f"/api/assignments/{sent['assignment_ids'][0]}/notify")
    assert again.status_code == 200 and [a["channel"] for a in again.json()["attempts"]] == ["telegram"]
    # A reply "1" from the unit's chat acknowledges: the alert goes.
    update_ = {"update_id": 1, "message": {"message_id": 5, "date": 1765000000, "text": "1",
                                           "chat": {"id": 777, "type": "private"}, "from": {"id": 777}}}
    r = client.post("/api/crew/webhooks/telegram", json=update_, headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert r.status_code == 200 and r.json()["applied"] is True and r.json()["step"] == "diterima"
    assert client.get("/api/crew/alerts").json()["alerts"] == []
    assert client.post("/api/assignments/987654/notify").status_code == 404


def test_replies_move_the_assignment_and_strangers_are_ignored(notify_client) -> None:
    client, state, units = notify_client
    unit = units["DMK-BTK-1"]
    client.put(f"/api/units/{unit}/channels", headers=client.admin, json={"channels": [
        {"channel": "whatsapp", "address": "6281234567890"}, {"channel": "sms", "address": "081299990000"}]})
    inc = _incident(client)
    client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [unit]})

    def wa(sender: str, text: str, secret: str = WA_APP_SECRET):
        raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp", "messages": [{
                "from": sender, "id": "wamid.IN", "timestamp": "1765000000", "type": "text",
                "text": {"body": text}}]}}]}]}).encode()
        sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return client.post("/api/crew/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": sig})

    assert wa("6281234567890", "JALAN", secret="wrong").status_code == 401
    stranger = wa("6280000000000", "SELESAI")
    assert stranger.status_code == 200 and stranger.json()["results"][0]["ignored"]
    assert wa("6281234567890", "jalan").json()["results"][0]["step"] == "menuju_lokasi"
    sms = client.post("/api/crew/webhooks/sms", json={"from": "+6281299990000", "message": "3"},
                      headers={"X-Gateway-Secret": SMS_SECRET})
    assert sms.status_code == 200 and sms.json()["step"] == "tiba", sms.text
    assert client.post("/api/crew/webhooks/sms", json={"from": "081299990000", "message": "4"},
                       headers={"X-Gateway-Secret": "nope"}).status_code == 401
    assert client.post("/api/crew/webhooks/telegram", json={}, headers={}).status_code == 401
    nonsense = client.post("/api/crew/webhooks/sms", json={"from": "081299990000", "message": "halo"},
                           headers={"X-Gateway-Secret": SMS_SECRET})
    assert nonsense.status_code == 200 and nonsense.json()["applied"] is False
    for bad in (b"not json", b"[1,2]", b'{"from": 5}'):
        r = client.post("/api/crew/webhooks/sms", content=bad, headers={"X-Gateway-Secret": SMS_SECRET})
        assert r.status_code == 422
    done = client.post("/api/crew/webhooks/sms", json={"from": "081299990000", "message": "SELESAI"},
                       headers={"X-Gateway-Secret": SMS_SECRET})
    assert done.json()["step"] == "selesai"
    [row] = client.get(f"/api/incidents/{inc['id']}").json()["assignments"]
    assert row["status"] == "selesai" and row["enroute_at"] and row["arrived_at"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_web_push_is_encrypted_for_the_subscription(notify_client, outside, database, monkeypatch) -> None:
    client, state, units = notify_client
    _, base = outside
    unit = units["AMB-BTK-1"]
    # The VAPID keys are made by the `sigap crew vapid` command and kept in the database.
    monkeypatch.setenv("SIGAP_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        assert cli_main(["crew", "vapid"]) == 0
    finally:
        get_settings.cache_clear()
    with database.sessions() as s:
        private_pem, public = vapid_key(s)
    code = client.post(f"/api/units/{unit}/pairing").json()["code"]
    token = client.post("/api/crew/pair", json={"code": code}, headers={"Authorization": ""}).json()["token"]
    crew = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/crew/push-key", headers=crew).json()["public_key"] == public
    # The phone's own keys (what PushManager.subscribe makes in a browser).
    phone_key = ec.generate_private_key(ec.SECP256R1())
    p256dh = phone_key.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    sub = {"endpoint": f"{base}/push/phone-1", "keys": {"p256dh": _b64(p256dh), "auth": _b64(auth)},
           "expirationTime": None}
    assert client.post("/api/crew/push-subscription", json=sub, headers=crew).status_code == 200
    for bad in ({"endpoint": "javascript:alert(1)", "keys": sub["keys"]}, {"endpoint": sub["endpoint"]},
                {"endpoint": sub["endpoint"], "keys": {"p256dh": "x", "auth": "y"}}):
        assert client.post("/api/crew/push-subscription", json=bad, headers=crew).status_code == 422
    inc = _incident(client)
    client.post(f"/api/incidents/{inc['id']}/dispatch", json={"unit_ids": [unit]})
    settled(client, inc["id"], 2)  # the crew page's stream and the push
    [(path, headers, body)] = [r for r in state.requests if r[0].startswith("/push/")]
    assert headers["content-encoding"] == "aes128gcm" and headers["authorization"].startswith("vapid ")
    assert f"k={public}" in headers["authorization"]
    assert inc["number"].encode() not in body["raw"]
    clear = http_ece.decrypt(body["raw"], private_key=phone_key, auth_secret=auth, version="aes128gcm")
    doc = json.loads(clear)
    assert doc["number"] == inc["number"] and doc["kind"] == "dispatch"
    # Another phone's keys cannot read it.
    with pytest.raises(Exception):  # noqa: B017 (http_ece raises its own or cryptography's error)
        http_ece.decrypt(body["raw"], private_key=ec.generate_private_key(ec.SECP256R1()), auth_secret=auth,
                         version="aes128gcm")
    attempts = client.get(f"/api/incidents/{inc['id']}/notifications").json()["attempts"]
    assert [(a["channel"], a["status"]) for a in attempts if a["channel"] == "webpush"] == [("webpush", "sent")]
    assert private_pem not in json.dumps(attempts)


def test_the_notifications_are_committed_with_the_dispatch_itself(notify_client, database, monkeypatch) -> None:
    """A crash just after the dispatch's commit cannot lose them: they are rows of the same transaction."""
    client, _state, units = notify_client
    writer = client.app.state.ctx.writer(actor="t-dispatcher", client=None)
    unit, other = units["DMK-BTK-1"], units["DMK-BTK-2"]
    r = client.put(f"/api/units/{unit}/channels", headers=client.admin, json={"channels": [
        {"channel": "telegram", "address": "-100777"}, {"channel": "sms", "address": "0812 3456 7890"}]})
    assert r.status_code == 200, r.text
    inc = _incident(client)
    # The platform has Telegram only: the unit's SMS number is recorded failed, in the same transaction.
    _, result = commands.dispatch(writer, inc["id"], [unit], then=queue_with_dispatch({"telegram"}))
    with database.sessions() as s:
        queued = sorted(s.execute(select(NotificationAttempt.channel, NotificationAttempt.assignment_id)).all())
    assert queued == [("sms", result.assignment_ids[0]), ("telegram", result.assignment_ids[0])]

    # A dispatch refused (the unit is already on a call) queues nothing.
    with pytest.raises(Conflict):
        commands.dispatch(writer, _incident(client)["id"], [unit], then=queue_with_dispatch({"telegram"}))

    # A failure while queueing (a bug in the message text, say) never refuses the dispatch: the unit goes, its
    # attempts are rolled back to the savepoint, and the alert for an unacknowledged dispatch still fires.
    def broken(incident) -> str:
        raise RuntimeError("a bug in the message text")

    monkeypatch.setattr("api.notify.dispatch_text", broken)
    r = client.put(f"/api/units/{other}/channels", headers=client.admin, json={"channels": [
        {"channel": "telegram", "address": "-100888"}]})
    assert r.status_code == 200, r.text
    inc2 = _incident(client)
    assert client.post(f"/api/incidents/{inc2['id']}/dispatch", json={"unit_ids": [other]}).status_code == 200
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(NotificationAttempt)) == 2
        assert s.scalar(select(func.count()).select_from(DispatchAssignment)
                        .where(DispatchAssignment.unit_id == other, DispatchAssignment.released_at.is_(None))) == 1
