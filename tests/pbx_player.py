"""A PBX player: realistic call sequences sent to a running SIGAP server's webhook, signed as a PBX signs them.

Scenarios are lists of events (ringing, answered, transfer, hangup) for one PBX call id each; the player can
send them as they happen, with duplicates, or shuffled (a webhook queue that retries and reorders). What the
server makes of them must not depend on that. Usable from tests and by hand::

    python -m tests.pbx_player --base http://127.0.0.1:8112 --secret "$SIGAP_TELEPHONY_SECRET" --scenario answered
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import orjson

from api.routes.telephony import SIG_HEADER, TS_HEADER, sign

__all__ = ["SCENARIOS", "PbxPlayer", "Scenario"]


@dataclass
class Scenario:
    """One PBX call: its id, the caller, and its events in the order they happened."""

    name: str
    call_id: str
    number: str | None
    events: list[dict] = field(default_factory=list)
    expect: dict = field(default_factory=dict)  # what the stored call must look like


def _at(start: datetime, s: float) -> str:
    return (start + timedelta(seconds=s)).isoformat()


def answered(number: str, extension: str, *, start: datetime, talk_s: int = 75, line: str = "trunk-1") -> Scenario:
    """Ring, answered at `extension` after 5 s, hung up after `talk_s` s of talk."""
    cid = f"asterisk-{uuid.uuid4().hex[:12]}"
    return Scenario("answered", cid, number, [
        {"event": "ringing", "call_id": cid, "number": number, "line": line, "at": _at(start, 0)},
        {"event": "answered", "call_id": cid, "extension": extension, "at": _at(start, 5)},
        {"event": "hangup", "call_id": cid, "at": _at(start, 5 + talk_s)},
    ], {"state": "selesai", "duration_s": talk_s, "type": None})


def missed(number: str, *, start: datetime, ring_s: int = 30) -> Scenario:
    """Rings, nobody answers, the caller hangs up: a missed call for the callback list."""
    cid = f"asterisk-{uuid.uuid4().hex[:12]}"
    return Scenario("missed", cid, number, [
        {"event": "ringing", "call_id": cid, "number": number, "line": "trunk-2", "at": _at(start, 0)},
        {"event": "hangup", "call_id": cid, "at": _at(start, ring_s)},
    ], {"state": "selesai", "type": "tak_terjawab", "callback_status": "perlu", "operator": None})


def transferred(number: str, first: str, second: str, *, start: datetime) -> Scenario:
    """Answered at `first`, transferred to `second` (the shift lead), hung up."""
    cid = f"asterisk-{uuid.uuid4().hex[:12]}"
    return Scenario("transferred", cid, number, [
        {"event": "ringing", "call_id": cid, "number": number, "line": "trunk-1", "at": _at(start, 0)},
        {"event": "answered", "call_id": cid, "extension": first, "at": _at(start, 3)},
        {"event": "transfer", "call_id": cid, "extension": second, "at": _at(start, 40)},
        {"event": "hangup", "call_id": cid, "at": _at(start, 100)},
    ], {"state": "selesai", "duration_s": 97})


SCENARIOS = {"answered": answered, "missed": missed, "transferred": transferred}


class PbxPlayer:
    """Sends scenario events to a server's webhook, signed with the shared secret."""

    def __init__(self, base: str, secret: str, *, client: httpx.Client | None = None) -> None:
        self.base = base.rstrip("/")
        self.secret = secret
        self.client = client or httpx.Client(timeout=15)

    def send(self, body: dict, *, path: str = "/api/telephony/events") -> httpx.Response:
        """One signed POST."""
        raw = orjson.dumps(body)
        stamp = str(int(time.time()))
        return self.client.post(self.base + path, content=raw, headers={
            "Content-Type": "application/json", TS_HEADER: stamp, SIG_HEADER: sign(self.secret, stamp, raw)})

    def play(self, scenario: Scenario, *, duplicates: bool = False, shuffle: random.Random | None = None) -> list[dict]:
        """Send a scenario's events (each twice when `duplicates`, in a shuffled order when `shuffle`)."""
        events = list(scenario.events)
        if duplicates:
            events = events + events[::2]
        if shuffle is not None:
            shuffle.shuffle(events)
        answers = []
        for body in events:
            r = self.send(body)
            r.raise_for_status()
            answers.append(r.json())
        return answers


def main() -> None:
    """Play one scenario against a server (for trying a deployment by hand)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8112")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="answered")
    parser.add_argument("--number", default="081234567890")
    parser.add_argument("--extension", default="201")
    args = parser.parse_args()
    start = datetime.now(UTC)
    if args.scenario == "answered":
        sc = answered(args.number, args.extension, start=start)
    elif args.scenario == "missed":
        sc = missed(args.number, start=start)
    else:
        sc = transferred(args.number, args.extension, "202", start=start)
    for answer in PbxPlayer(args.base, args.secret).play(sc):
        print(orjson.dumps(answer).decode())


if __name__ == "__main__":
    main()
