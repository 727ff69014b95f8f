"""Faults: a server killed mid-burst loses no acknowledged call; a PostgreSQL restart gives fast 503s, then
recovers without restarting the API."""

from __future__ import annotations

import os
import signal
import threading

import httpx
import pytest
from sqlalchemy import select

from store.db import make_engine, make_sessionmaker, session_scope
from store.incidents import Incident
from tests.conftest import BACKENDS, fill_database
from tests.pg_instance import PostgresInstance, postgres_instance
from tests.servers import (
    create_incident,
    login,
    prepared_database,
    server,
    sse,
    start_server,
    stop_server,
    wait_for_created,
)
from tests.waiting import wait_until

CALL = {"category": "kebakaran", "description": "Kebakaran rumah", "location": {"lon": 114.85, "lat": -1.71}}
# How long a request may take to be answered while PostgreSQL is down: the server's own connect timeout
# (5 s) and pool timeout (5 s) are below it, so a hanging server fails the test instead of a slow one passing.
OUTAGE_ANSWER_S = 12.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_during_a_burst_loses_no_acknowledged_incident(backend, tmp_path) -> None:
    url, drop = prepared_database(backend, tmp_path)
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    proc = None
    try:
        proc, base = start_server(url)
        headers = login(base)

        def caller() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
                while not stop.is_set():
                    try:
                        r = client.post("/api/incidents", json=CALL)
                    except httpx.HTTPError:
                        return
                    if r.status_code == 201:
                        with lock:
                            acknowledged.append(r.json()["id"])

        threads = [threading.Thread(target=caller) for _ in range(8)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acknowledged) >= 40, timeout=60, interval=0.01,
                   message=lambda: f"only {len(acknowledged)} calls acknowledged before the kill")
        os.kill(proc.pid, signal.SIGKILL)
        stop_server(proc, killed=True)
        proc = None
        stop.set()
        for t in threads:
            t.join(15)
        assert len(acknowledged) >= 40

        with server(url) as base2:  # restart on the same database
            r = httpx.get(f"{base2}/api/incidents", params={"limit": 1}, headers=login(base2))
            assert r.status_code == 200
        engine = make_engine(url)
        try:
            with session_scope(make_sessionmaker(engine)) as s:
                stored = set(s.scalars(select(Incident.id)))
        finally:
            engine.dispose()
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} acknowledged incidents lost"
    finally:
        stop.set()
        if proc is not None:
            stop_server(proc)
        drop()


def _listeners(pg: PostgresInstance, dbname: str) -> int:
    """How many API workers are LISTENing for live events on the database right now."""
    rows = pg.query("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'LISTEN %%'", (dbname,))
    return int(rows[0][0])


def _created(base: str, headers: dict[str, str]) -> httpx.Response | None:
    """The answer to a new call, or None when the server could not be reached at all."""
    try:
        return httpx.post(f"{base}/api/incidents", json=CALL, headers=headers, timeout=OUTAGE_ANSWER_S)
    except httpx.HTTPError:
        return None


def test_postgres_restart_gives_fast_503_then_recovers() -> None:
    """A restart of the database (a private instance: the machine's shared one is left alone) gives quick 503s;
    afterwards both API workers write again and live events cross between them without restarting either."""
    dbname = "sigap_restart"
    with postgres_instance() as pg:
        url = pg.create_postgis_database(dbname)
        fill_database(url)
        with server(url) as a, server(url) as b:
            ha, hb = login(a), login(b)
            with sse(b, hb) as events:
                # Before the outage: a call made on A reaches B's stream (both workers LISTEN).
                before = create_incident(a, ha)
                assert wait_for_created(events, before["id"]) is not None
                wait_until(lambda: _listeners(pg, dbname) == 2, message="both workers LISTEN before the outage")

                pg.stop()
                try:
                    # The answer must come within the client's deadline (a bound, not a measurement): an
                    # operator gets "database unavailable, retry" rather than a spinner.
                    with httpx.Client(base_url=a, headers=ha, timeout=OUTAGE_ANSWER_S) as client:
                        r = client.post("/api/incidents", json=CALL)
                        assert r.status_code == 503, r.text
                        assert r.json()["message_en"] and r.json()["message_id"] and r.headers.get("retry-after")
                        assert client.get("/api/incidents").status_code == 503
                    with httpx.Client(base_url=b, headers=hb, timeout=OUTAGE_ANSWER_S) as client:
                        assert client.get("/api/incidents").status_code == 503
                finally:
                    pg.start()

                # Both workers write again once PostgreSQL is back, without a restart of either.
                for base, headers in ((a, ha), (b, hb)):
                    ok = wait_until(lambda base=base, headers=headers: (
                        r := _created(base, headers)) is not None and r.status_code == 201 and r,
                        timeout=60, message=f"{base} did not recover after the restart")
                    assert ok.json()["status"] == "baru"
                # Both listeners reconnected (the restart cut their connections) ...
                wait_until(lambda: _listeners(pg, dbname) == 2, timeout=60,
                           message="the workers' event listeners did not reconnect after the restart")
                # ... and a call made on A after the restart reaches the stream B opened before it.
                after = create_incident(a, ha, description="setelah restart basis data")
                ev = wait_for_created(events, after["id"])
                assert ev is not None, "a call made on worker A after the restart never reached worker B's stream"
                assert ev["data"]["number"] == after["number"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_operators_dispatching_one_unit_at_once_exactly_one_wins(backend, tmp_path) -> None:
    from store.layers import read_layers
    from store.units import Unit, seed_demo_units

    url, drop = prepared_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            seed_demo_units(s, read_layers(s))
        with session_scope(make_sessionmaker(engine)) as s:
            unit_id = s.scalar(select(Unit.id).where(Unit.callsign == "DMK-BTK-1"))
        with server(url) as base:
            headers = login(base)
            incidents = [httpx.post(f"{base}/api/incidents", json=CALL, headers=headers, timeout=15).json()["id"]
                         for _ in range(20)]
            barrier = threading.Barrier(20)
            codes: list[int] = []
            lock = threading.Lock()

            def operator(incident_id: int) -> None:
                with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                    barrier.wait()
                    r = client.post(f"/api/incidents/{incident_id}/dispatch", json={"unit_ids": [unit_id]})
                with lock:
                    codes.append(r.status_code)

            threads = [threading.Thread(target=operator, args=(i,)) for i in incidents]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            assert sorted(codes) == [200] + [409] * 19, codes
            unit = httpx.get(f"{base}/api/units", headers=headers).json()["units"]
            assert next(u for u in unit if u["id"] == unit_id)["status"] == "dikirim"
            statuses = [httpx.get(f"{base}/api/incidents/{i}", headers=headers).json()["status"] for i in incidents]
            assert sorted(statuses) == ["baru"] * 19 + ["dikirim"]
    finally:
        engine.dispose()
        drop()
