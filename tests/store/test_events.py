"""Events reach listeners only after commit, on SpatiaLite (in-process) and PostGIS (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio

import pytest

from store.events import EventHub


async def _collect(hub: EventHub, db, *, commit: bool) -> list[dict]:
    sub = hub.subscribe()
    try:
        with db.sessions() as session:
            hub.publish(session, "test.ping", {"id": 7, "commit": commit})
            if commit:
                session.commit()
            else:
                session.rollback()
        got = []
        try:
            while True:
                got.append(await asyncio.wait_for(sub.queue.get(), timeout=1.5))
        except TimeoutError:
            return got
    finally:
        hub.unsubscribe(sub)


@pytest.mark.parametrize("commit", [True, False])
def test_event_delivered_only_after_commit(db, commit: bool) -> None:
    hub = EventHub(db.engine)
    hub.start()
    try:
        if hub.postgres:
            assert hub.listening.wait(10), "listener did not connect to PostgreSQL"
        got = asyncio.run(_collect(hub, db, commit=commit))
    finally:
        hub.stop()
    kinds = [(e["kind"], e["data"]["id"]) for e in got]
    assert kinds == ([("test.ping", 7)] if commit else [])


def test_replay_since_last_event_id(db) -> None:
    hub = EventHub(db.engine)
    for i in range(3):
        hub.deliver({"id": f"e{i}", "kind": "k", "data": {}})
    assert [e["id"] for e in hub.since("e0")] == ["e1", "e2"]
    assert hub.since("unknown") == [] and hub.since(None) == []


def test_sse_stream_requires_login(anon_client) -> None:
    assert anon_client.get("/api/events").status_code == 401


def test_a_subscriber_whose_loop_closed_does_not_stop_delivery(db) -> None:
    hub = EventHub(db.engine)

    async def subscribe_and_leave():
        return hub.subscribe()

    orphan = asyncio.run(subscribe_and_leave())  # its loop is closed now, still subscribed

    async def listen() -> dict:
        sub = hub.subscribe()
        hub.deliver({"id": "x1", "kind": "k", "data": {}})
        return await asyncio.wait_for(sub.queue.get(), 2)

    assert asyncio.run(listen())["id"] == "x1"
    assert orphan not in hub.subscribers


def test_one_event_reaches_every_listener_of_a_loop_in_order(db) -> None:
    hub = EventHub(db.engine)

    async def scenario() -> tuple[list, list]:
        a, b = hub.subscribe(), hub.subscribe(maxsize=2)
        for i in range(3):
            hub.deliver({"id": f"e{i}", "kind": "k", "data": {}})
        await asyncio.sleep(0.05)  # the loop runs the one scheduled hand-over per event
        drain = lambda q: [q.get_nowait()["id"] for _ in range(q.qsize())]  # noqa: E731
        return drain(a.queue), drain(b.queue) + [b.dropped]

    got_a, got_b = asyncio.run(scenario())
    assert got_a == ["e0", "e1", "e2"]
    assert got_b == ["e1", "e2", 1]  # a full queue drops its oldest event and counts it
