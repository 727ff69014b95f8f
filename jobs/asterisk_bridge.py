"""Asterisk AMI -> SIGAP webhook bridge: the centre's calls as ringing / answered / hangup events, signed.

It logs in to the Asterisk Manager Interface (TCP 5038), reads call events and posts one signed event per
step to ``POST /api/telephony/events``. The PBX call id is Asterisk's ``Linkedid`` (the same for every
channel of one call, transfers included), so the platform folds them into one call.

- ``Newchannel`` of the caller's channel (``Uniqueid == Linkedid``) into the 112 context: **ringing**
  (caller id, and the trunk as the line: ``PJSIP/telkomsel-0000002a`` -> ``telkomsel``);
- ``BridgeEnter`` of another channel of that call (an operator's phone ``PJSIP/201-...``): **answered** at
  extension 201; a later one at another extension is a transfer, and the platform follows the newest;
- ``Hangup`` of the caller's channel: **hangup**.

Run it beside Asterisk: ``sigap pbx-bridge --ami-host 127.0.0.1 --ami-user sigap --ami-secret ... --url
https://sigap.example/ --secret $SIGAP_TELEPHONY_SECRET`` (README: "Phone system"). A webhook that fails is
retried with backoff; events carry their own time, so a late one still lands in the right place.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import orjson

log = logging.getLogger("sigap.asterisk")

__all__ = ["AmiBridge", "ami_blocks", "translate"]

_CHANNEL = re.compile(r"^(?:PJSIP|SIP|IAX2|DAHDI|Local)/([^-@/]+)")


def _channel_name(channel: str) -> str | None:
    """The endpoint of a channel name: 'PJSIP/201-00000012' -> '201', 'PJSIP/telkomsel-0000002a' -> 'telkomsel'."""
    m = _CHANNEL.match(channel or "")
    return m.group(1) if m else None


def _when(event: dict[str, str]) -> str:
    """The event's time (AMI 'Timestamp' when timestampevents=yes), else now, as ISO-8601 UTC."""
    stamp = event.get("Timestamp")
    try:
        return datetime.fromtimestamp(float(stamp), tz=UTC).isoformat() if stamp else datetime.now(UTC).isoformat()
    except ValueError:
        return datetime.now(UTC).isoformat()


def translate(event: dict[str, str], *, context: str = "from-112") -> dict | None:
    """The SIGAP webhook body for one AMI event, or None when it is not a step of a 112 call."""
    kind = event.get("Event")
    uid, linked = event.get("Uniqueid"), event.get("Linkedid") or event.get("Uniqueid")
    if not linked:
        return None
    caller_leg = uid == linked
    if kind == "Newchannel" and caller_leg and event.get("Context") == context:
        return {"event": "ringing", "call_id": linked, "number": event.get("CallerIDNum"),
                "line": _channel_name(event.get("Channel", "")), "at": _when(event)}
    if kind == "BridgeEnter" and not caller_leg:
        extension = _channel_name(event.get("Channel", ""))
        if extension:
            return {"event": "answered", "call_id": linked, "extension": extension, "at": _when(event)}
    if kind == "Hangup" and caller_leg:
        return {"event": "hangup", "call_id": linked, "at": _when(event)}
    return None


def ami_blocks(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """AMI messages ('Key: Value' lines up to a blank line) as dicts."""
    block: dict[str, str] = {}
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if block:
                yield block
                block = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            block[key.strip()] = value.strip()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Sigap-Signature value (same as api.routes.telephony.sign; jobs/ may not need the API imported)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class AmiBridge:
    """Reads one AMI connection and posts every 112 call step to the SIGAP webhook."""

    def __init__(self, *, url: str, secret: str, context: str = "from-112",
                 post: Callable[[str, bytes, dict[str, str]], int] | None = None) -> None:
        self.url = url.rstrip("/") + "/api/telephony/events"
        self.secret = secret
        self.context = context
        self._post = post or self._http_post
        self.sent = 0

    @staticmethod
    def _http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
        return httpx.post(url, content=body, headers=headers, timeout=10).status_code

    def deliver(self, body: dict, *, attempts: int = 5) -> bool:
        """Post one event, signed afresh on each try; True when the platform took it."""
        raw = orjson.dumps(body)
        for attempt in range(attempts):
            stamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Sigap-Timestamp": stamp,
                       "X-Sigap-Signature": sign(self.secret, stamp, raw)}
            try:
                status = self._post(self.url, raw, headers)
            except httpx.HTTPError as exc:
                status = 0
                log.warning("webhook unreachable (%s)", type(exc).__name__)
            if status == 200:
                self.sent += 1
                return True
            if status in (401, 422):
                log.error("webhook refused an event (%s): check SIGAP_TELEPHONY_SECRET and the clock", status)
                return False
            time.sleep(min(2**attempt * 0.5, 10))
        return False

    def run(self, sock: socket.socket, *, user: str, password: str) -> None:
        """Log in on a connected AMI socket and bridge its events until it closes."""
        reader = sock.makefile("r", encoding="utf-8", errors="replace", newline="\r\n")
        reader.readline()  # "Asterisk Call Manager/x.y"
        sock.sendall(f"Action: Login\r\nUsername: {user}\r\nSecret: {password}\r\nEvents: call\r\n\r\n".encode())
        for block in ami_blocks(iter(reader.readline, "")):
            if block.get("Response") == "Error":
                raise PermissionError(block.get("Message", "AMI login refused"))
            body = translate(block, context=self.context)
            if body is not None:
                self.deliver(body)


def serve_forever(*, host: str, port: int, user: str, password: str, bridge: AmiBridge) -> None:
    """Keep an AMI connection up, reconnecting with backoff, and bridge it."""
    backoff = 1.0
    while True:
        try:
            with socket.create_connection((host, port), timeout=30) as sock:
                sock.settimeout(None)
                backoff = 1.0
                bridge.run(sock, user=user, password=password)
        except OSError as exc:
            log.warning("AMI connection lost (%s); retrying in %.0fs", exc, backoff)
        time.sleep(backoff)
        backoff = min(backoff * 2, 30)
