"""The Asterisk AMI bridge against a local server speaking AMI: a queue call answered at 201, transferred to 202
and hung up becomes one call in SIGAP (both backends), signed as the webhook requires."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import select

from jobs.asterisk_bridge import AmiBridge, ami_blocks, translate
from store.calls import PhoneCall
from tests.conftest import bearer

SECRET = "ami-bridge-secret-0123456789abcdef"
T = 1_796_000_000  # Unix seconds of the call (AMI timestampevents=yes)


def _block(**kv: object) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in kv.items()) + "\r\n"


CALL = [
    _block(Event="Newchannel", Channel="PJSIP/telkomsel-0000002a", CallerIDNum="081234567890", Context="from-112",
           Exten="112", Uniqueid="1700.1", Linkedid="1700.1", Timestamp=f"{T}.000"),
    _block(Event="Newchannel", Channel="PJSIP/201-0000002b", CallerIDNum="201", Context="agents",
           Uniqueid="1700.2", Linkedid="1700.1", Timestamp=f"{T + 1}.000"),
    _block(Event="BridgeEnter", Channel="PJSIP/telkomsel-0000002a", Uniqueid="1700.1", Linkedid="1700.1",
           Timestamp=f"{T + 4}.000"),
    _block(Event="BridgeEnter", Channel="PJSIP/201-0000002b", Uniqueid="1700.2", Linkedid="1700.1",
           Timestamp=f"{T + 4}.100"),
    _block(Event="BridgeEnter", Channel="PJSIP/202-0000002c", Uniqueid="1700.3", Linkedid="1700.1",
           Timestamp=f"{T + 30}.000"),
    _block(Event="Hangup", Channel="PJSIP/201-0000002b", Uniqueid="1700.2", Linkedid="1700.1",
           Timestamp=f"{T + 31}.000"),
    _block(Event="Hangup", Channel="PJSIP/telkomsel-0000002a", Uniqueid="1700.1", Linkedid="1700.1",
           Timestamp=f"{T + 94}.000"),
]


def _fake_ami(events: list[str]) -> tuple[int, threading.Thread, list[str]]:
    """A one-connection AMI server: banner, answers the login, sends `events`, closes. Returns what it read."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got: list[str] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"Asterisk Call Manager/7.0.3\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            got.append(data.decode())
            conn.sendall(_block(Response="Success", Message="Authentication accepted").encode())
            conn.sendall("".join(events).encode())
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server.getsockname()[1], thread, got


def test_translation_of_ami_events() -> None:
    blocks = list(ami_blocks(iter("".join(CALL).splitlines(keepends=True))))
    bodies = [translate(b) for b in blocks]
    kinds = [(b["event"], b.get("extension")) for b in bodies if b]
    assert kinds == [("ringing", None), ("answered", "201"), ("answered", "202"), ("hangup", None)]
    assert bodies[0]["number"] == "081234567890" and bodies[0]["line"] == "telkomsel"
    assert translate({"Event": "Newchannel", "Uniqueid": "1", "Linkedid": "1", "Context": "internal"}) is None
    assert translate({"Event": "Hangup"}) is None


def test_bridge_feeds_a_queue_call_with_a_transfer_into_sigap(client, tokens, monkeypatch, database) -> None:
    monkeypatch.setattr(client.app.state.ctx.settings, "telephony_secret", SECRET)
    sup = bearer(tokens["supervisor"])
    client.put("/api/telephony/extensions/201", json={"username": "t-dispatcher"}, headers=sup)
    client.put("/api/telephony/extensions/202", json={"username": "t-supervisor"}, headers=sup)
    statuses: list[int] = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        statuses.append(client.post(url.replace("http://sigap", ""), content=body, headers=headers).status_code)
        return statuses[-1]

    port, thread, got = _fake_ami(CALL)
    bridge = AmiBridge(url="http://sigap", secret=SECRET, post=post)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        bridge.run(sock, user="sigap", password="rahasia")
    thread.join(10)
    assert "Action: Login" in got[0] and "Secret: rahasia" in got[0]
    assert statuses == [200, 200, 200, 200] and bridge.sent == 4
    with database.sessions() as s:
        [call] = s.scalars(select(PhoneCall)).all()
    assert (call.pbx_call_id, call.caller_number, call.line, call.operator, call.extension, call.duration_s) == (
        "1700.1", "+6281234567890", "telkomsel", "t-supervisor", "202", 90)


def test_bridge_stops_on_a_refused_login() -> None:
    port, thread, _ = _fake_ami([_block(Response="Error", Message="Authentication failed")])
    bridge = AmiBridge(url="http://sigap", secret=SECRET, post=lambda *a: 200)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, pytest.raises(PermissionError):
        bridge.run(sock, user="sigap", password="salah")
    thread.join(10)
