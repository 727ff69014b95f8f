"""Benchmark: a mixed dispatch-centre workload against several API workers on PostGIS, with SSE listeners.

Usage: python bench/load.py [--seconds 60] [--workers 3] [--clients 16] [--listeners 100] [--hostile] [--rate N]
Workload per client, chosen at random: locate 40 %, create incident 20 %, recommend units 15 %, list 25 %; back to
back (a saturation test: latency is then mostly queueing), or with --rate an open loop of N requests/s in all on a
Poisson schedule, each latency counted from the request's planned start.
--hostile adds, alongside: --idle (2,000) connections that open and send half a request header or a request body
one byte at a time (reopened when the server closes them), and four clients posting 100,000-point locate batches
in a loop, from a process of their own (in the measuring process they would stall the loop that times the calls).
The server is started with `sigap serve` (its front-door limits apply).
Prints throughput, p50/p95 per endpoint, errors, and events delivered versus sent (each created incident
must reach every listener). Traffic goes only to a server this script starts on 127.0.0.1. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.process
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from store.accounts import add_user  # noqa: E402
from store.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from store.layers import load_bundled, read_layers  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.units import seed_demo_units  # noqa: E402

PASSWORD = "Beban-Uji-112"
SECRET = "load-bench-secret-0123456789abcdef0123"
CATEGORIES = ["kebakaran", "medis", "kecelakaan_lalu_lintas", "banjir", "kriminalitas"]


def drop_database(url: str, *, create: bool = False) -> None:
    """Drop the bench database (and create it empty again when asked)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def fresh_database(url: str) -> None:
    """Drop and recreate the bench database, migrate, load layers, seed demo units and one account."""
    drop_database(url, create=True)
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as s:
        load_bundled(s, ROOT / "data")
        seed_demo_units(s, read_layers(s))
        add_user(s, username="load-dispatcher", password=PASSWORD, role="dispatcher")
    engine.dispose()


def desa_points(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random call locations near desa representative points (where people live)."""
    import shapely

    from geo.layers import read_bundled_layers

    pts = shapely.point_on_surface(read_bundled_layers(ROOT / "data").desa.geometry)
    xy = shapely.get_coordinates(pts)[rng.integers(0, len(pts), n)]
    return xy + rng.normal(0, 0.01, xy.shape)


async def listener(http: aiohttp.ClientSession, seen: dict[int, int], ready: asyncio.Event, counter: list[int],
                   stop: asyncio.Event) -> None:
    """One SSE client counting incident.created events."""
    async with http.get("/api/events", timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as r:
        counter[0] += 1
        if counter[0] >= counter[1]:
            ready.set()
        async for raw in r.content:
            if stop.is_set():
                return
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                ev = orjson.loads(line[6:])
                if ev["kind"] == "incident.created":
                    seen[ev["data"]["id"]] = seen.get(ev["data"]["id"], 0) + 1


async def slow_client(host: str, port: int, i: int, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """One hostile connection: half a header (even i) or a body trickled a byte at a time (odd i); reopened."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counts["connect_failed"] += 1
            await asyncio.sleep(0.5)
            continue
        counts["opened"] += 1
        try:
            if i % 2 == 0:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            else:
                writer.write(b"POST /api/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100000\r\n\r\n")
            await writer.drain()
            while not stop.is_set():
                writer.write(b"a")
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(1024), 5.0)
                except TimeoutError:
                    continue
                if not data or data.startswith(b"HTTP/1.1 408") or data.startswith(b"HTTP/1.1 400"):
                    counts["cut_by_server"] += 1
                    break
        except (OSError, ConnectionError):
            counts["cut_by_server"] += 1
        finally:
            writer.close()


async def batch_client(http: aiohttp.ClientSession, pts: np.ndarray, stop: asyncio.Event,
                       lat: list[float], errors: list) -> None:
    """Post 100,000-point locate batches one after another."""
    body = orjson.dumps({"points": pts[:100_000].tolist()})
    while not stop.is_set():
        t = time.perf_counter()
        try:
            async with http.post("/api/locate", data=body, headers={"Content-Type": "application/json"},
                                 timeout=aiohttp.ClientTimeout(total=120)) as r:
                await r.read()
                if r.status != 200:
                    errors[0] += 1
                    errors.append(r.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            if stop.is_set():
                return  # cut off by the end of the run, not by the server
            errors[0] += 1
            errors.append(type(exc).__name__)
        lat.append(time.perf_counter() - t)


def hostile_process(base: str, headers: dict[str, str], idle: int, pts: np.ndarray, ready: Any, stop: Any,
                    results: Any) -> None:
    """The hostile mix (slow/idle connections, four batch clients) until `stop`; puts its figures on `results`."""
    asyncio.run(_hostile(base, headers, idle, pts, ready, stop, results))


async def _hostile(base: str, headers: dict[str, str], idle: int, pts: np.ndarray, ready: Any, stop: Any,
                   results: Any) -> None:
    halt = asyncio.Event()
    counts: dict[str, int] = defaultdict(int)
    lat: list[float] = []
    errors: list = [0]
    host, port = base.removeprefix("http://").split(":")
    async with aiohttp.ClientSession(base, headers=headers, auto_decompress=False) as http:
        tasks = [asyncio.create_task(slow_client(host, int(port), i, halt, counts)) for i in range(idle)]
        tasks += [asyncio.create_task(batch_client(http, pts, halt, lat, errors)) for _ in range(4)]
        ready.set()
        await asyncio.to_thread(stop.wait)
        halt.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    results.put((dict(counts), lat, errors))


async def run(args: argparse.Namespace, base: str) -> None:
    """Drive the workload and print the figures."""
    rng = np.random.default_rng(112)
    pts = desa_points(50_000, rng)
    # aiohttp, not httpx: the load generator shares the 2 cores with the workers and PostgreSQL, and httpx
    # spends several times more CPU per request.
    login = {"username": "load-dispatcher", "password": PASSWORD}
    async with aiohttp.ClientSession(base) as anon, anon.post("/api/auth/token", data=login) as r:
        tok = await r.json()
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    seen: dict[int, int] = {}
    ready, stop = asyncio.Event(), asyncio.Event()
    counter = [0, args.listeners]
    connector = aiohttp.TCPConnector(limit=args.clients + args.listeners + 10)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        listeners = [asyncio.create_task(listener(http, seen, ready, counter, stop)) for _ in range(args.listeners)]
        await asyncio.wait_for(ready.wait(), 60)
        hostile: multiprocessing.process.BaseProcess | None = None
        if args.hostile:
            # The hostile mix runs in a process of its own: in this one, its 2,000 sockets and the batch answers
            # it reads would stall the event loop that times the measured requests.
            ctx = multiprocessing.get_context("spawn")
            hostile_ready, hostile_stop, hostile_results = ctx.Event(), ctx.Event(), ctx.Queue()
            hostile = ctx.Process(target=hostile_process, args=(base, headers, args.idle, pts, hostile_ready,
                                                                hostile_stop, hostile_results))
            hostile.start()
            if not await asyncio.to_thread(hostile_ready.wait, 60):
                raise RuntimeError("the hostile mix did not start")
            await asyncio.sleep(2)  # the idle connections are open before the measured load starts
        lat: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        created: list[int] = []
        deadline = time.monotonic() + args.seconds

        async def call(method: str, url: str, **kw: Any) -> tuple[int, dict | None]:
            async with http.request(method, url, **kw) as r:
                body = await r.read()
                return r.status, (orjson.loads(body) if r.status == 201 else None)

        async def client_loop(i: int) -> None:
            r_ = random.Random(i)
            k = i * 1000
            # Open loop (--rate): requests leave on a Poisson schedule whatever the answers do, and each latency
            # counts from its planned start, so time spent queued behind a slow answer is not hidden.
            planned = time.perf_counter() + (r_.expovariate(args.rate / args.clients) if args.rate else 0.0)
            while time.monotonic() < deadline:
                k += 1
                if args.rate:
                    await asyncio.sleep(max(0.0, planned - time.perf_counter()))
                lon, lat_ = pts[k % len(pts)]
                op = r_.choices(["locate", "create", "recommend", "list"], [40, 20, 15, 25])[0]
                if op == "recommend" and not created:
                    op = "create"
                t = planned if args.rate else time.perf_counter()
                if args.rate:
                    planned += r_.expovariate(args.rate / args.clients)
                try:
                    if op == "locate":
                        status, _ = await call("GET", "/api/locate", params={"lon": str(lon), "lat": str(lat_)})
                    elif op == "create":
                        status, body = await call("POST", "/api/incidents", json={
                            "category": r_.choice(CATEGORIES), "description": "uji beban",
                            "location": {"lon": float(lon), "lat": float(lat_)}})
                        if status == 201:
                            created.append(body["id"])
                    elif op == "recommend":
                        status, _ = await call("GET", f"/api/incidents/{r_.choice(created)}/recommendations",
                                               params={"k": "3"})
                    else:
                        status, _ = await call("GET", "/api/incidents", params={"status": "baru", "limit": "50"})
                    ok = status < 400
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                lat[op].append(time.perf_counter() - t)
                if not ok:
                    errors[op] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client_loop(i) for i in range(args.clients)))
        elapsed = time.perf_counter() - t0
        if hostile is not None:
            hostile_stop.set()
            slow_counts, batch_lat, batch_errors = await asyncio.to_thread(hostile_results.get, True, 60)
            hostile.join(30)
        await asyncio.sleep(3)  # let the last events arrive
        stop.set()
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)

    total = sum(len(v) for v in lat.values())
    pace = f"open loop at {args.rate:g} requests/s" if args.rate else "back to back"
    print(f"\n{args.workers} workers on PostGIS, {args.clients} clients ({pace}), {args.listeners} SSE listeners, "
          f"{elapsed:.0f} s: {total / elapsed:.0f} requests/s, {sum(errors.values())} errors")
    print(f"{'endpoint':12s} {'requests':>9s} {'p50 ms':>8s} {'p95 ms':>8s} {'errors':>7s}")
    for op in ("locate", "create", "recommend", "list"):
        ms = np.asarray(lat[op]) * 1e3
        if len(ms):
            print(f"{op:12s} {len(ms):9d} {np.percentile(ms, 50):8.1f} {np.percentile(ms, 95):8.1f} {errors[op]:7d}")
    if args.hostile:
        print(f"hostile: {args.idle} slow/idle connections ({slow_counts.get('opened', 0)} opened, "
              f"{slow_counts.get('cut_by_server', 0)} cut by the server, "
              f"{slow_counts.get('connect_failed', 0)} connects refused); "
              f"4 x 100k-point locate batches: {len(batch_lat)} done, "
              f"p50 {np.percentile(np.asarray(batch_lat) * 1e3, 50) if batch_lat else float('nan'):.0f} ms, "
              f"{batch_errors[0]} errors {sorted(set(map(str, batch_errors[1:])))}")
        refused = errors["create"]
        print(f"calls refused under the hostile mix: {refused}")
    expected = len(created) * args.listeners
    delivered = sum(seen.get(i, 0) for i in created)
    print(f"events: {len(created)} incidents created, {delivered} of {expected} deliveries "
          f"({'no loss' if delivered == expected else f'{expected - delivered} LOST'})")


def main() -> None:
    """Set up the database, start the workers, run the load, stop everything."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="requests/s from all clients together on a Poisson schedule (open loop); 0: back to back")
    ap.add_argument("--listeners", type=int, default=100)
    ap.add_argument("--pg", default=os.environ.get("SIGAP_BENCH_PG_URL",
                                                  "postgresql+psycopg://postgres@127.0.0.1:5432/sigap_load"))
    ap.add_argument("--port", type=int, default=18112)
    ap.add_argument("--hostile", action="store_true", help="add slow/idle connections and 100k-point batches")
    ap.add_argument("--idle", type=int, default=2000, help="slow/idle connections of the hostile mix")
    args = ap.parse_args()
    fresh_database(args.pg)
    env = os.environ | {"SIGAP_DATABASE_URL": args.pg, "SIGAP_SECRET_KEY": SECRET, "SIGAP_MODE": "demo",
                        "PYTHONPATH": str(ROOT), "SIGAP_STREAMS_PER_USER": str(args.listeners + 10),
                        "SIGAP_STREAMS_TOTAL": str(args.listeners + 10)}
    # `sigap serve`, so the front door's limits (header/body deadlines, connection cap) are what is measured.
    server = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "serve", "--host", "127.0.0.1", "--port", str(args.port),
         "--workers", str(args.workers)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        time.sleep(3)  # every worker finishes its start-up
        asyncio.run(run(args, base))
    finally:
        server.terminate()
        server.wait(20)
        drop_database(args.pg)


if __name__ == "__main__":
    main()
