"""Events reach listeners only after commit, on SpatiaLite (in-process) and PostGIS (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import orjson
import psycopg
import pytest
from sqlalchemy import create_engine

from geo.times import utcnow
from store.db import make_engine
from store.events import EventHub, _encode
from tests.conftest import PG_ADMIN_URL, events_until_marker
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
        for i in range(4):
            hub.deliver({"id": f"e{i}", "kind": "k", "data": {}})
        # The hand-overs were scheduled on this loop before the marker: once it has run, so have they.
        marker = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon_threadsafe(marker.set_result, None)
        await marker
        drain = lambda q: [q.get_nowait()["id"] for _ in range(q.qsize())]  # noqa: E731
        return drain(a.queue), drain(b.queue) + [b.dropped]

    got_a, got_b = asyncio.run(scenario())
    assert got_a == ["e0", "e1", "e2", "e3"]
    assert got_b == ["e2", "e3", 2]  # a full queue drops its oldest event and counts each one dropped


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


def test_an_event_says_what_when_and_carries_data_that_json_cannot_spell_by_itself(db) -> None:
    """Every event has an id, its kind, the time it was published (UTC) and its data; data holding a Decimal, a
    date or integer keys is sent as text, on both backends, instead of failing the write that published it."""
    hub = EventHub(db.engine)
    hub.start()
    try:
        if hub.postgres:
            assert hub.listening.wait(10), "listener did not connect to PostgreSQL"

        async def scenario() -> list[dict]:
            sub = hub.subscribe()
            with db.sessions() as session:
                sent = hub.publish(session, "test.shape", {"id": 3, "eta": Decimal("61.5"), "by_unit": {4: "tiba"}})
                session.commit()
            got = await events_until_marker(db, hub, sub)
            assert [e["id"] for e in got] == [sent["id"]]
            return got

        before = utcnow()
        [got] = asyncio.run(scenario())
        after = utcnow()
    finally:
        hub.stop()
    assert set(got) == {"id", "kind", "at", "data"}
    assert got["kind"] == "test.shape" and len(got["id"]) == 32 and int(got["id"], 16) >= 0
    at = datetime.fromisoformat(got["at"])
    assert at.utcoffset() == timedelta(0) and before <= at <= after
    # As the stream sends it (SpatiaLite hands the listener the dict itself, PostgreSQL its JSON).
    as_sent = orjson.loads(orjson.dumps(got["data"], default=str, option=orjson.OPT_NON_STR_KEYS))
    assert as_sent == {"id": 3, "eta": "61.5", "by_unit": {"4": "tiba"}}
    ping = orjson.loads(hub.notify_payload("test.ping", {"id": 9, "on": date(2026, 1, 2)}))
    assert (ping["kind"], ping["data"]) == ("test.ping", {"id": 9, "on": "2026-01-02"}) and len(ping["id"]) == 32


@pytest.mark.parametrize("commit", [True, False])
def test_publish_many_delivers_in_order_and_only_after_commit(db, commit: bool) -> None:
    hub = EventHub(db.engine)
    hub.start()
    try:
        if hub.postgres:
            assert hub.listening.wait(10), "listener did not connect to PostgreSQL"

        async def scenario() -> tuple[list[dict], list[dict]]:
            sub = hub.subscribe()
            with db.sessions() as session:
                sent = hub.publish_many(session, [("test.many", {"n": n}) for n in range(4)])
                session.commit() if commit else session.rollback()
            return sent, await events_until_marker(db, hub, sub)

        sent, got = asyncio.run(scenario())
    finally:
        hub.stop()
    assert [(e["kind"], e["data"]) for e in sent] == [("test.many", {"n": n}) for n in range(4)]
    assert len({e["id"] for e in sent}) == 4
    assert [e["id"] for e in got] == ([e["id"] for e in sent] if commit else [])


def test_a_session_reused_after_a_rollback_announces_only_what_it_committed(db) -> None:
    """The rolled-back event is forgotten, the committed one goes out once, and a later commit of the same session
    announces nothing again."""
    hub = EventHub(db.engine)
    hub.start()
    try:
        if hub.postgres:
            assert hub.listening.wait(10), "listener did not connect to PostgreSQL"

        async def scenario() -> tuple[dict, list[dict]]:
            sub = hub.subscribe()
            with db.sessions() as session:
                hub.publish(session, "test.undone", {"id": 1})
                session.rollback()
                kept = hub.publish(session, "test.kept", {"id": 2})
                session.commit()
                session.commit()  # nothing new: nothing announced, nothing fails
            return kept, await events_until_marker(db, hub, sub)

        kept, got = asyncio.run(scenario())
    finally:
        hub.stop()
    assert [e["id"] for e in got] == [kept["id"]]


@pytest.mark.parametrize("database", ["postgis"], indirect=True)
def test_a_payload_too_big_for_notify_is_cut_to_its_ids_and_still_delivered(database) -> None:
    hub = EventHub(database.engine)
    hub.start()
    try:
        assert hub.listening.wait(10), "listener did not connect to PostgreSQL"

        async def scenario() -> list[dict]:
            sub = hub.subscribe()
            with database.sessions() as session:
                hub.publish(session, "test.big", {"id": 5, "status": "baru", "version": 3, "note": "x" * 9000})
                session.commit()
            return await events_until_marker(database, hub, sub)

        [got] = asyncio.run(scenario())
    finally:
        hub.stop()
        database.clean()
    assert got["kind"] == "test.big"
    assert got["data"] == {"id": 5, "status": "baru", "version": 3, "truncated": True}


def test_a_payload_is_sent_whole_up_to_7900_bytes_and_cut_beyond() -> None:
    """PostgreSQL refuses NOTIFY payloads over 8000 bytes: 7900 is the margin. Nothing longer is ever sent, and
    nothing that fits is cut."""
    seen = set()
    base = len(_encode("k", {"id": 1, "note": ""})[1])
    for pad in range(7900 - base - 3, 7900 - base + 4):
        data = {"id": 1, "note": "x" * pad}
        ev, payload = _encode("k", data)
        whole = len(orjson.dumps({**ev, "data": data}))
        assert len(payload) <= 7900
        if whole <= 7900:
            assert orjson.loads(payload)["data"] == data
            seen.add("whole")
        else:
            assert orjson.loads(payload)["data"] == {"id": 1, "truncated": True}
            seen.add("cut")
    assert seen == {"whole", "cut"}


def test_recent_events_are_bounded_and_counted(db) -> None:
    hub = EventHub(db.engine)
    for i in range(501):
        hub.deliver({"id": f"e{i}", "kind": "k", "data": {}})
    assert hub.delivered == 501
    assert hub.since("e0") == []  # forgotten: only the last 500 are kept
    assert [e["id"] for e in hub.since("e1")] == [f"e{i}" for i in range(2, 501)]
    assert hub.since("e500") == []


def test_a_listener_that_accepts_some_events_hears_only_those(db) -> None:
    """A crew phone's stream: only its own unit's events are queued, and a full queue of a listener that refuses
    an event loses nothing to it."""
    hub = EventHub(db.engine)

    async def scenario() -> tuple[list, list, int]:
        mine = hub.subscribe(accept=lambda e: e["data"].get("unit") == 1)
        picky = hub.subscribe(maxsize=1, accept=lambda e: e["data"].get("unit") == 2)
        everything = hub.subscribe()
        for i, unit in enumerate([1, 3, 1, 2, 3]):
            hub.deliver({"id": f"e{i}", "kind": "unit.updated", "data": {"unit": unit}})
        marker = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon_threadsafe(marker.set_result, None)
        await marker
        drain = lambda q: [q.get_nowait()["id"] for _ in range(q.qsize())]  # noqa: E731
        return drain(mine.queue), drain(picky.queue) + [picky.dropped], len(drain(everything.queue))

    mine, picky, everything = asyncio.run(scenario())
    assert mine == ["e0", "e2"]
    assert picky == ["e3", 0]
    assert everything == 5


def _listen_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.name == "sigap-listen"]


def test_the_listener_thread_runs_only_on_postgis_once_as_a_daemon_and_stops(db) -> None:
    before = set(threading.enumerate())
    hub = EventHub(db.engine)
    hub.start()
    hub.start()  # a second start changes nothing
    try:
        started = _listen_threads(before)
        if not hub.postgres:
            assert started == []  # SpatiaLite delivers in-process: nothing to listen to
            return
        [thread] = started
        assert thread.daemon  # never holds the process open at exit
        assert hub.listening.wait(10), "listener did not connect to PostgreSQL"
    finally:
        hub.stop()
    assert not thread.is_alive() and not hub.listening.is_set()


def test_a_postgis_url_with_a_password_keeps_it_for_the_listener() -> None:
    """The listener connects with psycopg itself: the password of the app's URL must reach it, not '***'."""
    engine = create_engine("postgresql+psycopg://sigap:s3cret@db.example:5433/sigap")
    conninfo = psycopg.conninfo.conninfo_to_dict(EventHub(engine)._conninfo())
    assert {k: conninfo[k] for k in ("user", "password", "host", "port", "dbname")} == {
        "user": "sigap", "password": "s3cret", "host": "db.example", "port": "5433", "dbname": "sigap"}


class _SilentPort:
    """A local TCP port that takes every connection and never says a word, nor closes it (a real socket)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.taken: list[socket.socket] = []
        self.thread = threading.Thread(target=self._take, name="silent-port", daemon=True)
        self.thread.start()

    def _take(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # the port was closed
                return
            self.taken.append(conn)

    def close(self) -> None:
        """Stop taking connections and drop those taken (a connect still waiting on one fails at once)."""
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        self.sock.close()
        self.thread.join(timeout=10)
        for conn in self.taken:
            conn.close()


def test_a_database_that_takes_the_connection_and_never_answers_costs_the_listener_a_timeout_then_a_retry(
        caplog) -> None:
    """The listener's connect is bounded: a port that accepts and stays silent is reported lost (callbacks, log
    saying why) and tried again, instead of holding the live feed in `connect` (psycopg's own default is 130 s)."""
    silent = _SilentPort()
    # 2 s, libpq's minimum, keeps the test short; the product's default (5 s) is the same code path.
    hub = EventHub(create_engine(f"postgresql+psycopg://sigap@127.0.0.1:{silent.port}/sigap"), connect_timeout=2)
    told: list[int] = []
    hub.on_accounts_changed.append(lambda: told.append(1))
    with caplog.at_level(logging.WARNING, logger="sigap.events"):
        hub.start()
        try:
            # The first attempt times out (told), the second connects again: well inside the deadline with any
            # connect timeout up to a few tens of seconds, never with none.
            wait_until(lambda: told and len(silent.taken) >= 2, timeout=60,
                       message=lambda: f"told {len(told)} times, {len(silent.taken)} connection(s) taken")
        finally:
            silent.close()
            hub.stop()
    assert not hub.listening.is_set()
    lost = [r.getMessage() for r in caplog.records if r.getMessage().startswith("event listener lost PostgreSQL")]
    assert lost and "timeout" in lost[0], lost


def _listen_count(admin: psycopg.Connection, app_name: str) -> int:
    return admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query ILIKE 'LISTEN %%'", (app_name,),
    ).fetchone()[0]


@pytest.mark.parametrize("database", ["postgis"], indirect=True)
def test_the_listener_hears_account_changes_survives_bad_payloads_and_says_when_it_is_cut_off(database,
                                                                                                 caplog) -> None:
    """Account changes (and every loss or regain of the connection, when one may have been missed) reach the
    callbacks; a malformed payload is skipped; a failing callback or a database refusing connections for a while
    costs the feed nothing once it is back; `listening` says whether it is connected."""
    app_name = f"sigap-listen-test-{uuid.uuid4().hex[:8]}"
    engine = make_engine(f"{database.url}?application_name={app_name}")
    hub = EventHub(engine)
    calls: list[int] = []

    def accounts_changed() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a callback failed once")

    hub.on_accounts_changed.append(accounts_changed)
    admin = psycopg.connect(database.url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    dbname = admin.info.dbname
    # Connections to the test database are refused for a while: said from another database.
    other = psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True)

    async def delivered(sub, kind: str) -> dict:
        with database.sessions() as session:
            sent = hub.publish(session, kind, {})
            session.commit()
        while (got := await asyncio.wait_for(sub.queue.get(), timeout=15))["id"] != sent["id"]:
            pass
        return got

    async def scenario() -> None:
        sub = hub.subscribe()
        # The first callback fails: logged, the listener restarts, calls them again on the way out and back in.
        wait_until(lambda: hub.listening.is_set() and len(calls) >= 3, timeout=30, message="listener not back")
        wait_until(lambda: _listen_count(admin, app_name) == 1, timeout=30, message="not exactly one listener")
        await delivered(sub, "test.first")
        seen = len(calls)
        admin.execute("SELECT pg_notify('sigap_accounts', '')")
        wait_until(lambda: len(calls) > seen, timeout=30, message="account change not heard")
        admin.execute("SELECT pg_notify('sigap_events', 'not json')")
        await delivered(sub, "test.after-bad")
        [pid] = [p for (p,) in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND query ILIKE 'LISTEN %%'", (app_name,))]
        seen = len(calls)
        other.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            # The loss and one failed attempt to reconnect (each tells the callbacks) before the database is back.
            wait_until(lambda: not hub.listening.is_set() and len(calls) >= seen + 2, timeout=30,
                       message="a lost listener still says it is listening, told no callback, or did not retry")
        finally:
            other.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        seen = len(calls)
        wait_until(lambda: hub.listening.is_set() and len(calls) > seen, timeout=30, message="listener not back")
        await delivered(sub, "test.after-outage")

    hub.start()
    try:
        with caplog.at_level(logging.WARNING, logger="sigap.events"):
            asyncio.run(scenario())
    finally:
        hub.stop()
        admin.close()
        other.close()
        engine.dispose()
        database.clean()
    messages = [r.getMessage() for r in caplog.records if r.name == "sigap.events"]
    assert any(m.startswith("event listener failed; restarting") for m in messages)
    assert "ignored malformed event payload" in messages
    lost = [re.fullmatch(r"event listener lost PostgreSQL \((.*)\); retrying in (\d+\.\d)s", m, re.DOTALL)
            for m in messages if m.startswith("event listener lost")]
    assert len(lost) >= 2 and all(m and m[1].strip() not in ("", "None") for m in lost)  # each says why
    assert [m[2] for m in lost][:2] == ["0.5", "1.0"]  # and waits longer after each failure in a row
