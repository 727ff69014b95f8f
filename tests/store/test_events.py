"""Events reach listeners only after commit, on SpatiaLite (in-process) and PostGIS (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from store.db import make_engine
from store.events import EventHub
from tests.conftest import events_until_marker
from tests.waiting import wait_until


async def _collect(hub: EventHub, db, *, commit: bool) -> list[dict]:
    sub = hub.subscribe()
    try:
        with db.sessions() as session:
            hub.publish(session, "test.ping", {"id": 7, "commit": commit})
            if commit:
                session.commit()
            else:
                session.rollback()
        return await events_until_marker(db, hub, sub)
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
        # The hand-overs were scheduled on this loop before the marker: once it has run, so have they.
        marker = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon_threadsafe(marker.set_result, None)
        await marker
        drain = lambda q: [q.get_nowait()["id"] for _ in range(q.qsize())]  # noqa: E731
        return drain(a.queue), drain(b.queue) + [b.dropped]

    got_a, got_b = asyncio.run(scenario())
    assert got_a == ["e0", "e1", "e2"]
    assert got_b == ["e1", "e2", 1]  # a full queue drops its oldest event and counts it


def _listener_pid(admin: psycopg.Connection, app_name: str, *, not_in: list[int]) -> int | None:
    """The backend of the hub's LISTEN connection once it is listening (and is none of `not_in`)."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND state = 'idle' AND query ILIKE 'LISTEN %%'",
        (app_name,),
    ).fetchall()
    fresh = [pid for (pid,) in rows if pid not in not_in]
    return fresh[0] if fresh else None


@pytest.mark.parametrize("database", ["postgis"], indirect=True)
def test_listener_keeps_reconnecting_after_each_lost_connection(database) -> None:
    """Every live map's feed survives its database connection being cut, again and again: after each loss the
    listener connects anew and the next committed event is delivered."""
    app_name = f"sigap-listen-test-{uuid.uuid4().hex[:8]}"
    # Only the hub's own LISTEN connection carries this name, so the test cuts that one and nothing else.
    engine = make_engine(f"{database.url}?application_name={app_name}")
    hub = EventHub(engine)
    admin = psycopg.connect(database.url.replace("postgresql+psycopg", "postgresql"), autocommit=True)

    async def scenario() -> list[int]:
        sub = hub.subscribe()
        backends: list[int] = []
        for round_ in range(3):  # before any loss, after the first, after the second
            pid = wait_until(lambda: _listener_pid(admin, app_name, not_in=backends), timeout=30,
                             message=f"no new LISTEN connection after {round_} lost connection(s)")
            backends.append(pid)
            with database.sessions() as session:
                sent = hub.publish(session, "test.reconnect", {"round": round_})
                session.commit()
            while (got := await asyncio.wait_for(sub.queue.get(), timeout=15))["id"] != sent["id"]:
                pass
            assert got["data"] == {"round": round_}
            if round_ < 2:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return backends

    hub.start()
    try:
        backends = asyncio.run(scenario())
    finally:
        hub.stop()
        admin.close()
        engine.dispose()
    assert len(set(backends)) == 3  # three connections: the first, and one after each loss
