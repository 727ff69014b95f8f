"""The PBX player against a real server process on both backends: answered, missed and transferred calls, sent
in order, with duplicates and shuffled, end up as the same calls; the answering operator hears call.popped."""

from __future__ import annotations

import queue
import random
import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.pbx_player import PbxPlayer, answered, missed, transferred
from tests.servers import login, server, sse

SECRET = "pbx-player-secret-0123456789abcdef"


def _popped(events: queue.Queue, call_id: int, *, timeout: float = 15.0) -> dict | None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            ev = events.get(timeout=left)
        except queue.Empty:
            return None
        if ev["kind"] == "call.popped" and ev["data"]["call_id"] == call_id:
            return ev
    return None


def test_pbx_sequences_against_a_running_server(database) -> None:
    try:
        with server(database.url, extra_env={"SIGAP_TELEPHONY_SECRET": SECRET}) as base:
            sup = login(base, "supervisor")
            for ext, user in (("201", "t-dispatcher"), ("202", "t-supervisor")):
                assert httpx.put(f"{base}/api/telephony/extensions/{ext}", json={"username": user},
                                 headers=sup).status_code == 200
            player = PbxPlayer(base, SECRET)
            start = datetime.now(UTC) - timedelta(minutes=4)
            rng = random.Random(112)
            scenarios = []
            with sse(base, login(base, "dispatcher")) as events:
                first = answered("0812 3456 7890", "201", start=start)
                answers = player.play(first)
                call_id = answers[0]["call"]["id"]
                ev = _popped(events, call_id)
                assert ev is not None and ev["data"]["operator"] == "t-dispatcher"
                scenarios.append(first)
            for i in range(12):
                at = start + timedelta(seconds=10 * i)
                sc = [answered("+62 811 520 1234", "201", start=at), missed(f"0525 2{i:04d}", start=at),
                      transferred("6281234500000", "201", "202", start=at)][i % 3]
                player.play(sc, duplicates=i % 2 == 0, shuffle=rng if i % 4 < 2 else None)
                scenarios.append(sc)
            # An orphan hang-up nobody rang for: stored, not an error.
            r = player.send({"event": "hangup", "call_id": "asterisk-never-rang", "at": start.isoformat()})
            assert r.status_code == 200 and r.json()["orphan"] is True
            headers = login(base, "supervisor")
            for sc in scenarios:
                got = httpx.get(f"{base}/api/calls", params={"limit": 500}, headers=headers).json()["items"]
                [call] = [c for c in got if c["pbx_call_id"] == sc.call_id]
                for key, value in sc.expect.items():
                    assert call[key] == value, (sc.name, key, call)
                if sc.name == "transferred":
                    assert call["operator"] == "t-supervisor" and call["extension"] == "202"
            total = httpx.get(f"{base}/api/calls", headers=headers).json()["total"]
            assert total == len(scenarios)
            waiting = httpx.get(f"{base}/api/callbacks", headers=headers).json()["items"]
            assert {c["pbx_call_id"] for c in waiting} == {sc.call_id for sc in scenarios if sc.name == "missed"}
    finally:
        database.clean()
