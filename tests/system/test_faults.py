"""Faults: a server killed mid-burst loses no acknowledged call; a PostgreSQL restart gives fast 503s, then
recovers without restarting the API."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time

import httpx
import pytest
from sqlalchemy import select

from store.db import make_engine, make_sessionmaker, session_scope
from store.incidents import Incident
from tests.conftest import BACKENDS, REQUIRE_POSTGIS
from tests.servers import login, prepared_database, server, start_server

CALL = {"category": "kebakaran", "description": "Kebakaran rumah", "location": {"lon": 114.85, "lat": -1.71}}


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_during_a_burst_loses_no_acknowledged_incident(backend, tmp_path) -> None:
    url, drop = prepared_database(backend, tmp_path)
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
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
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
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
        drop()


def _pg_ctl(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, *(
        ["-m", "fast"] if action == "stop" else [])], check=True, capture_output=True, timeout=60)


def _pg_up(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("PostgreSQL did not come back")


def test_postgres_restart_gives_fast_503_then_recovers(tmp_path) -> None:
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        message = "restarting PostgreSQL needs root and pg_ctlcluster"
        if REQUIRE_POSTGIS:
            pytest.fail(message)
        pytest.skip(message)
    url, drop = prepared_database("postgis", tmp_path)
    try:
        with server(url) as base:
            headers = login(base)
            with httpx.Client(base_url=base, headers=headers, timeout=15) as client:
                assert client.post("/api/incidents", json=CALL).status_code == 201
                _pg_ctl("stop")
                try:
                    t = time.monotonic()
                    r = client.post("/api/incidents", json=CALL)
                    took = time.monotonic() - t
                    assert r.status_code == 503, r.text
                    assert r.json()["message_en"] and r.headers.get("retry-after")
                    assert took < 10
                    r = client.get("/api/incidents")
                    assert r.status_code == 503
                finally:
                    _pg_ctl("start")
                    _pg_up()
                ok = None
                for _ in range(40):
                    ok = client.post("/api/incidents", json=CALL)
                    if ok.status_code == 201:
                        break
                    time.sleep(0.5)
                assert ok is not None and ok.status_code == 201, ok.text
    finally:
        _pg_up()
        drop()


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
            assert next(u for u in unit if u["id"] == unit_id)["status"] == "bertugas"
            statuses = [httpx.get(f"{base}/api/incidents/{i}", headers=headers).json()["status"] for i in incidents]
            assert sorted(statuses) == ["baru"] * 19 + ["dikirim"]
    finally:
        engine.dispose()
        drop()
