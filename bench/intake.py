"""Benchmark: call intake under load — 50 concurrent clients creating incidents against a real server.

Usage: python bench/intake.py [--seconds 30] [--clients 50] [--rate 0] [--backends spatialite,postgis] [--workers 1]
For each backend a fresh database is built (migrated, bundled layers, one dispatcher account), a uvicorn
server is started as a subprocess, one login token is shared by all clients, and each client posts
incidents back to back (coordinates near a random desa, a random category) until time is up. Prints
requests/s, p50/p95/p99 latency, errors by status, and counts the returned ids in the database to
prove that every 201 was stored. Then the peer runs on the same database: the same calls written by the
database alone, each its own transaction on one of 50 connections (no HTTP, no framework), and the ratios
are printed. Not a test: nothing here asserts a time. Target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import orjson
from sqlalchemy import bindparam, create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.layers import read_bundled_layers  # noqa: E402
from store.accounts import AuditRecord, add_user  # noqa: E402
from store.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from store.events import CHANNEL  # noqa: E402
from store.incidents import OPEN_CODES, Incident, IncidentTransition, duplicate_key  # noqa: E402
from store.layers import load_bundled  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.types import UTCDateTime  # noqa: E402

PASSWORD = "Bench-Sandi-112"
CATEGORIES = ["kebakaran", "kecelakaan_lalu_lintas", "medis", "banjir", "kriminalitas"]
# What the desk has behind it when the surge comes: three months of calls at about 100 a day.
HISTORY_DAYS = 90
HISTORY_PER_DAY = 100


@functools.cache
def desa_centres() -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of the bundled desa centres, around which calls are spread."""
    layers = read_bundled_layers(ROOT / "data")
    return np.asarray(layers.desa.attrs["lng"], dtype=float), np.asarray(layers.desa.attrs["lat"], dtype=float)


def fresh_database(backend: str, pg_admin: str, tmp: Path) -> tuple[str, callable]:
    """A new migrated database with the layers and a dispatcher; returns its URL and a drop function."""
    if backend == "spatialite":
        url, drop = f"sqlite:///{tmp / f'intake-{uuid.uuid4().hex[:6]}.sqlite'}", lambda: None
    else:
        name = f"sigap_bench_intake_{os.getpid()}"
        admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = pg_admin.rsplit("/", 1)[0] + f"/{name}"

        admin.dispose()

        def drop() -> None:
            again = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
            with again.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            again.dispose()

    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as s:
        load_bundled(s, ROOT / "data")
        add_user(s, username="bench", password=PASSWORD, role="dispatcher")
    seed_history(engine, days=HISTORY_DAYS, per_day=HISTORY_PER_DAY)
    engine.dispose()
    return url, drop


def seed_history(engine, *, days: int, per_day: int, seed: int = 7) -> int:  # noqa: ANN001 - an Engine
    """Closed incidents over the `days` before today, as a database in service holds, then fresh statistics.

    A new, empty database is not what the desk runs on: its query planner has no statistics and its indexes
    are empty. Calls are spread around the desa centres like the load itself.
    """
    lon0, lat0 = desa_centres()
    rng = np.random.default_rng(seed)
    n = days * per_day
    pick = rng.integers(len(lon0), size=n)
    lon = lon0[pick] + rng.normal(0, 0.01, n)
    lat = lat0[pick] + rng.normal(0, 0.01, n)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = np.repeat(np.arange(1, days + 1), per_day)
    second = rng.uniform(0, 86_400, n)
    at = [today - timedelta(days=int(d), seconds=-float(s)) for d, s in zip(day, second, strict=True)]
    seq = np.tile(np.arange(1, per_day + 1), days)
    rows = []
    for i, (x, y, t, q) in enumerate(zip(lon.tolist(), lat.tolist(), at, seq.tolist(), strict=True)):
        category = CATEGORIES[i % len(CATEGORIES)]
        rows.append({
            "number": f"112-{t:%Y%m%d}-{q:04d}", "category": category, "status": "ditutup",
            "description": "Riwayat / history", "geom": f"SRID=4326;POINT({x!r} {y!r})", "lon": x, "lat": y,
            "duplicate_key": duplicate_key(category=category, lon=x, lat=y, at=t), "location_source": "coordinates",
            "version": 1, "created_at": t, "updated_at": t, "created_by": "bench",
        })
    with engine.begin() as conn:
        conn.execute(insert(Incident.__table__), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return n


def start_server(url: str, *, workers: int) -> tuple[subprocess.Popen, str]:
    """A uvicorn subprocess on a free port, once /healthz answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"SIGAP_DATABASE_URL": url, "SIGAP_SECRET_KEY": "bench-secret-" + "x" * 32}
    cmd = [sys.executable, "-m", "uvicorn", "jobs.server:app", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    # Own process group: with --workers, uvicorn's worker processes must die with it.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("server not ready after 120 s")


def process_cpu_seconds(pgid: int | None = None, *, command: str | None = None) -> dict[int, float]:
    """User+system CPU seconds used so far by each live process of a process group, or of a command name."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, ... utime (14th), stime (15th).
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        if (pgid is not None and int(rest[2]) == pgid) or (command is not None and name == command):
            seconds[int(stat.parent.name)] = (int(rest[11]) + int(rest[12])) / tick
    return seconds


def cpu_used_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU seconds the processes alive now used since `before` (one that ended meanwhile is not subtracted)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


def client_cpu_seconds() -> float:
    """User+system CPU seconds used so far by this (client) process."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def stop_server(proc: subprocess.Popen) -> None:
    """Kill the server and its worker processes (the whole process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


async def run_clients(
    base: str, token: str, *, clients: int, seconds: float, rate: float = 0.0, seed: int = 112
) -> dict:
    """`clients` concurrent loops posting incidents for `seconds` (back to back, or paced to `rate` per s in all)."""
    lon0, lat0 = desa_centres()
    rng = np.random.default_rng(seed)
    latencies: list[float] = []
    statuses: Counter = Counter()
    ids: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}
    # aiohttp, not httpx: the load generator shares the 2 cores with the server, and httpx spent more CPU
    # per call (~10 ms) than the server did, so it was measuring itself.
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector, timeout=timeout) as http:
        # Warm the connection pool and the server's first-request paths outside the measurement.
        async def warm() -> None:
            async with http.get("/api/categories") as r:
                await r.read()

        await asyncio.gather(*(warm() for _ in range(clients)))
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            # Paced clients start spread out and then send one call every clients/rate seconds.
            interval = clients / rate if rate > 0 else 0.0
            next_at = time.perf_counter() + rng.uniform(0, interval)
            while time.perf_counter() < deadline:
                if interval:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += interval
                i = int(rng.integers(len(lon0)))
                body = {
                    "category": CATEGORIES[int(rng.integers(len(CATEGORIES)))],
                    "description": "Beban uji / load test",
                    "caller_phone": "0812" + str(int(rng.integers(10**7, 10**8))),
                    "location": {
                        "lon": float(lon0[i] + rng.normal(0, 0.01)),
                        "lat": float(lat0[i] + rng.normal(0, 0.01)),
                        "accuracy_m": 20,
                    },
                }
                t = time.perf_counter()
                payload = None
                try:
                    async with http.post("/api/incidents", json=body) as r:
                        code = r.status
                        raw = await r.read()
                    if code == 201:
                        payload = raw
                except (aiohttp.ClientError, TimeoutError) as exc:
                    code = type(exc).__name__
                latencies.append(time.perf_counter() - t)
                statuses[code] += 1
                if payload is not None:
                    ids.append(orjson.loads(payload)["id"])

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    return {"latencies": latencies, "statuses": statuses, "ids": ids, "elapsed": elapsed}


# -- the peer: the database alone ----------------------------------------------------------------------
# What a plain implementation asks of the database for one call, each call its own transaction on its own
# connection: the day's number, a duplicate search through the spatial index (500 m, 30 min, same category,
# open), the incident, its first transition, its audit record and (PostgreSQL) the NOTIFY. No HTTP, no
# framework, no locate: the API's figures next to these say what everything above the database costs.
_PEER_DUPLICATES = {
    "postgis": text(
        "SELECT id, number, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d "
        "FROM incident WHERE category = :category AND status = ANY(:open) AND merged_into_id IS NULL "
        "AND created_at >= :since AND geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 0.006) "
        "AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 500) ORDER BY d"
    ),
    "spatialite": text(
        "SELECT id, number, ST_Distance(geom, MakePoint(:lon, :lat, 4326), 1) AS d "
        "FROM incident WHERE category = :category AND status IN (SELECT value FROM json_each(:open)) "
        "AND merged_into_id IS NULL AND created_at >= :since AND ROWID IN (SELECT ROWID FROM SpatialIndex "
        "WHERE f_table_name = 'incident' AND f_geometry_column = 'geom' "
        "AND search_frame = BuildCircleMbr(:lon, :lat, 0.006)) "
        "AND ST_Distance(geom, MakePoint(:lon, :lat, 4326), 1) <= 500 ORDER BY d"
    ),
}
_PEER_NUMBER = text(
    "INSERT INTO incident_counter (day, seq) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET seq = incident_counter.seq + 1 RETURNING seq"
)


def peer_calls(url: str, backend: str, *, clients: int, seconds: float, location: dict, seed: int = 113) -> dict:
    """`clients` threads, each on its own connection, writing calls straight to the database for `seconds`."""
    lon0, lat0 = desa_centres()
    duplicates = _PEER_DUPLICATES[backend].bindparams(bindparam("since", type_=UTCDateTime))
    open_codes = list(OPEN_CODES) if backend == "postgis" else orjson.dumps(list(OPEN_CODES)).decode()
    latencies: list[float] = []
    errors: Counter = Counter()
    ready, go = threading.Barrier(clients + 1), threading.Event()
    deadline = [0.0]

    def one_call(conn, rng: np.random.Generator) -> None:  # noqa: ANN001 - a Connection
        i = int(rng.integers(len(lon0)))
        lon, lat = float(lon0[i] + rng.normal(0, 0.01)), float(lat0[i] + rng.normal(0, 0.01))
        category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        now = datetime.now(UTC)
        with conn.begin():
            seq = conn.execute(_PEER_NUMBER, {"day": f"{now + timedelta(hours=7):%Y%m%d}"}).scalar_one()
            since = now - timedelta(minutes=30)
            found = conn.execute(
                duplicates, {"lon": lon, "lat": lat, "category": category, "open": open_codes, "since": since}
            ).all()
            row = {
                "number": f"P{os.getpid() % 1000:03d}-{now + timedelta(hours=7):%Y%m%d}-{seq:05d}",
                "category": category, "status": "baru", "description": "Beban uji / load test",
                "caller_phone": "0812" + str(int(rng.integers(10**7, 10**8))), "lon": lon, "lat": lat,
                "accuracy_m": 20.0, "location_source": "coordinates", "location": location,
                "possible_duplicates": [{"id": r.id, "number": r.number, "distance_m": round(r.d, 1)} for r in found],
                "geom": f"SRID=4326;POINT({lon!r} {lat!r})", "created_by": "bench", "version": 1,
                "created_at": now, "updated_at": now,
                "duplicate_key": duplicate_key(category=category, lon=lon, lat=lat, at=now),
            }
            incident_id = conn.execute(insert(Incident.__table__).returning(Incident.id), row).scalar_one()
            conn.execute(insert(IncidentTransition.__table__), {
                "incident_id": incident_id, "status": "baru", "at": now, "actor": "bench"})
            conn.execute(insert(AuditRecord.__table__), {
                "at": now, "actor": "bench", "action": "incident.create", "entity": "incident",
                "entity_id": str(incident_id), "after": {"number": row["number"], "category": category},
                "client": "127.0.0.1"})
            if backend == "postgis":
                conn.execute(select(func.pg_notify(CHANNEL, orjson.dumps({"id": incident_id}).decode())))

    def client(k: int) -> None:
        engine = make_engine(url)
        rng = np.random.default_rng(seed + k)
        try:
            with engine.connect() as conn:
                ready.wait()
                go.wait()
                while time.perf_counter() < deadline[0]:
                    t = time.perf_counter()
                    try:
                        one_call(conn, rng)
                    except Exception as exc:  # noqa: BLE001 - counted and reported
                        errors[type(exc).__name__] += 1
                    latencies.append(time.perf_counter() - t)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for th in threads:
        th.start()
    ready.wait()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    go.set()
    for th in threads:
        th.join()
    return {"latencies": latencies, "errors": errors, "elapsed": time.perf_counter() - t0}


def stored_location(url: str, incident_id: int) -> dict:
    """The stored locate answer of one incident: the peer writes answers of the same size."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Incident.location).where(Incident.id == incident_id)).scalar_one()
    finally:
        engine.dispose()


def stored(url: str, ids: list[int]) -> int:
    """How many of `ids` are incidents in the database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            n = 0
            for start in range(0, len(ids), 5000):
                chunk = ids[start : start + 5000]
                n += conn.execute(select(func.count()).select_from(Incident).where(Incident.id.in_(chunk))).scalar()
            return n
    finally:
        engine.dispose()


def bench(backend: str, args: argparse.Namespace, tmp: Path) -> None:
    """One backend: fresh database, server, load, proof of storage."""
    url, drop = fresh_database(backend, args.pg_admin, tmp)
    proc = None
    try:
        proc, base = start_server(url, workers=args.workers)
        r = httpx.post(f"{base}/api/auth/token", data={"username": "bench", "password": PASSWORD})
        r.raise_for_status()
        # CPU is measured around the whole load phase (warm-up included): on a shared 2-core machine the
        # server's CPU per call is the figure that does not depend on what else is running.
        server0, client0 = process_cpu_seconds(proc.pid), client_cpu_seconds()
        pg0 = process_cpu_seconds(command="postgres")
        out = asyncio.run(
            run_clients(base, r.json()["access_token"], clients=args.clients, seconds=args.seconds, rate=args.rate)
        )
        server_cpu = cpu_used_since(server0, process_cpu_seconds(proc.pid))
        client_cpu = client_cpu_seconds() - client0
        # Connections opened during the load count from zero; one closed meanwhile (a setup connection
        # of the server's, say) would otherwise take its whole past off the total.
        pg_cpu = cpu_used_since(pg0, process_cpu_seconds(command="postgres"))
    finally:
        if proc is not None:
            stop_server(proc)
    lat_ms = np.asarray(out["latencies"]) * 1000
    ok = out["statuses"].get(201, 0)
    errors = sum(v for k, v in out["statuses"].items() if k != 201)
    in_db = stored(url, out["ids"])
    peer = None
    try:
        if args.peer and out["ids"]:
            # Same database, same kind of calls, right after the API's run (so over its rows too).
            peer = peer_calls(url, backend, clients=args.clients, seconds=args.seconds,
                              location=stored_location(url, out["ids"][-1]))
    finally:
        drop()
    p50, p95, p99 = np.percentile(lat_ms, [50, 95, 99])
    n = max(len(lat_ms), 1)
    rate = len(lat_ms) / out["elapsed"]
    print(
        f"{backend:10s} workers={args.workers} clients={args.clients} "
        f"rate={'max' if not args.rate else args.rate} {args.seconds:.0f}s: "
        f"{rate:7.1f} req/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  "
        f"201s {ok}  errors {errors} {dict(out['statuses'])}  stored {in_db}/{ok} "
        f"{'OK' if in_db == ok else 'MISSING'}  p95<100ms: {'yes' if p95 < 100 else 'NO'}  "
        f"CPU per call: server {server_cpu / n * 1000:.2f} ms, client {client_cpu / n * 1000:.2f} ms"
        + (f", postgres {pg_cpu / n * 1000:.2f} ms" if backend == "postgis" else "")
    )
    if peer is not None:
        peer_ms = np.asarray(peer["latencies"]) * 1000
        q50, q95 = np.percentile(peer_ms, [50, 95])
        peer_rate = len(peer_ms) / peer["elapsed"]
        print(
            f"{'':10s} peer: the database alone, one transaction per call on each of {args.clients} connections: "
            f"{peer_rate:7.1f} calls/s  p50 {q50:6.1f} ms  p95 {q95:6.1f} ms  errors {dict(peer['errors'])}\n"
            f"{'':10s} API / peer: throughput x{rate / peer_rate:.2f}, p95 x{p95 / q95:.2f}"
        )


def main() -> None:
    """Run the intake benchmark on each requested backend in turn."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rate", type=float, default=0.0, help="total calls/s offered (0: back to back)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers (PostGIS may use several)")
    ap.add_argument("--backends", default="spatialite,postgis")
    ap.add_argument("--no-peer", dest="peer", action="store_false", help="skip the database-alone peer run")
    ap.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            bench(backend.strip(), args, Path(tmp))


if __name__ == "__main__":
    main()
