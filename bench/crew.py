"""Benchmark: crews in the loop on a real server — N paired phones with open event streams posting GPS while a
dispatcher dispatches, then a kill -9 of the server during an outbox replay.

Usage: python bench/crew.py [--phones 300] [--seconds 30] [--interval 10] [--dispatches 20]
       [--taps 200] [--backend spatialite|postgis] [--peer-tree PATH]

1. N units are paired (one phone each, ``POST /api/crew/pair``); each phone opens ``GET /api/crew/events`` and
   posts a position (``POST /api/crew/position``, a few metres from the last) every --interval s, jittered.
   Meanwhile a dispatcher creates calls and dispatches an idle unit to each, then releases it. Measured:
   dispatch -> the crew's stream carrying its unit.updated (p50/p95), position POST round trip (p50/p95),
   errors (any non-2xx or transport error).
2. One phone replays an outbox of --taps status taps (tidak_tersedia / tersedia alternately, each with its own
   idempotency key), in order; after half of them the server is killed (SIGKILL) and restarted on the same
   database, and the phone goes on from the first tap whose answer it did not receive. Counted afterwards in
   the database: taps stored (lost = sent - stored) and status changes audited (applied twice = audited -
   stored).

Peer: with --peer-tree (another checkout of the project, e.g. ``git worktree add /tmp/peer main``) the load phase
runs first against a server of that code, then against this one, each on a fresh database, and the ratios are
printed; the server's (and PostgreSQL's) CPU seconds per position are the figures that hold on a shared machine.
Targets of the issue: dispatch -> crew p95 < 500 ms, position p95 < 50 ms, 0 errors, 0 taps lost, 0 applied
twice. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intake import cpu_used_since, process_cpu_seconds  # noqa: E402
from store.accounts import AuditRecord  # noqa: E402
from store.crew import CrewTap  # noqa: E402
from store.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from store.layers import read_layers  # noqa: E402
from store.migrate import alembic_config  # noqa: E402
from store.units import Unit, seed_demo_units  # noqa: E402
from tests.conftest import TEST_PASSWORD  # noqa: E402
from tests.servers import prepared_database, start_server, stop_server  # noqa: E402

BUNTOK = (114.8445, -1.7065)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile in ms (NaN when empty)."""
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


def add_units(url: str, n: int) -> None:
    """The demo units plus bench units up to n, all at Buntok."""
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as s:
        seed_demo_units(s, read_layers(s))
        have = s.scalar(select(func.count()).select_from(Unit)) or 0
        for i in range(max(0, n - have)):
            lon, lat = BUNTOK[0] + (i % 20) * 0.002, BUNTOK[1] + (i // 20) * 0.002
            s.add(Unit(callsign=f"BNC-{i:03d}", name="bench", type="damkar", agency="damkar", status="tersedia",
                       travel_mode="road", geom=f"SRID=4326;POINT({lon} {lat})", position_at=datetime.now(UTC),
                       status_at=datetime.now(UTC)))
    engine.dispose()


def token(base: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/token", data={"username": "t-dispatcher", "password": TEST_PASSWORD}, timeout=60)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Phone:
    """One crew phone: its token, unit, last position, and when its stream saw each incident."""

    def __init__(self, unit: dict, tok: str) -> None:
        self.unit = unit
        self.headers = {"Authorization": f"Bearer {tok}"}
        self.lon, self.lat = unit["lon"], unit["lat"]
        self.seen: dict[int, float] = {}
        self.ready = asyncio.Event()


async def stream(client: httpx.AsyncClient, base: str, phone: Phone, stop: asyncio.Event, errors: list[str]) -> None:
    try:
        async with client.stream("GET", f"{base}/api/crew/events", headers=phone.headers, timeout=None) as r:
            if r.status_code != 200:
                errors.append(f"stream {r.status_code}")
                return
            phone.ready.set()
            kind = None
            async for line in r.aiter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "unit.updated":
                    data = json.loads(line[6:])["data"]
                    if data.get("incident_id"):
                        phone.seen.setdefault(int(data["incident_id"]), time.perf_counter())
    except (httpx.HTTPError, asyncio.CancelledError):
        if not stop.is_set():
            errors.append("stream dropped")


async def gps(client: httpx.AsyncClient, base: str, phone: Phone, stop: asyncio.Event, interval: float,
              lat_ms: list[float], errors: list[str]) -> None:
    await asyncio.sleep(random.uniform(0, interval))
    while not stop.is_set():
        phone.lat += 0.00005
        body = {"key": uuid.uuid4().hex, "lon": phone.lon, "lat": phone.lat, "accuracy_m": 8.0,
                "at": datetime.now(UTC).isoformat()}
        t0 = time.perf_counter()
        try:
            r = await client.post(f"{base}/api/crew/position", json=body, headers=phone.headers, timeout=30)
            lat_ms.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors.append(f"position {r.status_code} {r.text[:80]}")
        except httpx.HTTPError as exc:
            errors.append(f"position {type(exc).__name__}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval * random.uniform(0.9, 1.1))


async def dispatcher(client: httpx.AsyncClient, base: str, auth: dict, phones: list[Phone], n: int, seconds: float,
                     lat_s: list[float], errors: list[str]) -> None:
    gap = seconds / (n + 1)
    for i in range(n):
        await asyncio.sleep(gap)
        phone = phones[i % len(phones)]
        r = await client.post(f"{base}/api/incidents", headers=auth, json={
            "category": "kebakaran", "location": {"lon": phone.lon + 0.01, "lat": phone.lat}})
        if r.status_code != 201:
            errors.append(f"incident {r.status_code}")
            continue
        inc = r.json()["id"]
        t0 = time.perf_counter()
        r = await client.post(f"{base}/api/incidents/{inc}/dispatch", headers=auth,
                              json={"unit_ids": [phone.unit["id"]]})
        if r.status_code != 200:
            errors.append(f"dispatch {r.status_code} {r.text[:80]}")
            continue
        for _ in range(200):
            if inc in phone.seen:
                break
            await asyncio.sleep(0.005)
        if inc in phone.seen:
            lat_s.append(phone.seen[inc] - t0)
        else:
            errors.append("dispatch not heard within 1 s")
        r = await client.post(f"{base}/api/incidents/{inc}/units/{phone.unit['id']}/release", headers=auth,
                              json={"reason": "bench"})
        if r.status_code != 200:
            errors.append(f"release {r.status_code}")


def stamp_for_peer(url: str, tree: Path) -> None:
    """Let a peer checkout serve a database migrated by this one: revisions the peer does not know are replaced
    in alembic_version by the revisions they build on (the columns they added are nullable; the peer ignores
    them)."""
    known = {m.group(1) for f in (tree / "store/migrations/versions").glob("*.py")
             if (m := re.search(r'^revision = "([^"]+)"', f.read_text(), re.M))}
    scripts = ScriptDirectory.from_config(alembic_config())
    engine = make_engine(url)
    with engine.begin() as conn:
        have = [r for (r,) in conn.execute(text("SELECT version_num FROM alembic_version"))]
        keep = {r for r in have if r in known}
        for r in have:
            rev = r
            while rev not in known:
                down = scripts.get_revision(rev).down_revision
                rev = down if isinstance(down, str) else down[0]
            keep.add(rev)
        conn.execute(text("DELETE FROM alembic_version"))
        for r in sorted(keep):
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": r})
    engine.dispose()


def pid_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds used so far by one process."""
    rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


async def load_phase(base: str, args: argparse.Namespace, pid: int | None = None) -> dict[str, float]:
    auth = token(base)
    # Generous set-up timeouts: on a shared machine the set-up is not what is measured.
    units = [u for u in httpx.get(f"{base}/api/units", headers=auth, timeout=60).json()["units"]
             if u["lon"] is not None]
    units = units[: args.phones]
    phones = []
    with httpx.Client(timeout=60) as c:
        for u in units:
            code = c.post(f"{base}/api/units/{u['id']}/pairing", headers=auth).json()["code"]
            r = c.post(f"{base}/api/crew/pair", json={"code": code, "label": "bench"})
            r.raise_for_status()
            phones.append(Phone(u, r.json()["token"]))
    stop = asyncio.Event()
    errors: list[str] = []
    pos_s: list[float] = []
    heard_s: list[float] = []
    limits = httpx.Limits(max_connections=len(phones) * 2 + 20, max_keepalive_connections=len(phones) * 2 + 20)
    cpu0 = pid_cpu_seconds(pid) if pid else 0.0
    pg0 = process_cpu_seconds(command="postgres")
    async with httpx.AsyncClient(limits=limits) as client:
        streams = [asyncio.create_task(stream(client, base, p, stop, errors)) for p in phones]
        await asyncio.wait_for(asyncio.gather(*(p.ready.wait() for p in phones)), timeout=120)
        gpses = [asyncio.create_task(gps(client, base, p, stop, args.interval, pos_s, errors)) for p in phones]
        await dispatcher(client, base, auth, phones, args.dispatches, args.seconds, heard_s, errors)
        stop.set()
        await asyncio.gather(*gpses)
        for t in streams:
            t.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    cpu = pid_cpu_seconds(pid) - cpu0 if pid else float("nan")
    pg_cpu = cpu_used_since(pg0, process_cpu_seconds(command="postgres"))
    print(f"phones with open streams: {len(phones)}; positions every {args.interval:.0f} s for {args.seconds:.0f} s")
    print(f"dispatch -> crew event: n={len(heard_s)} p50={pct(heard_s, 50):.1f} ms p95={pct(heard_s, 95):.1f} ms "
          f"max={pct(heard_s, 100):.1f} ms")
    print(f"position POST:          n={len(pos_s)} p50={pct(pos_s, 50):.1f} ms p95={pct(pos_s, 95):.1f} ms "
          f"max={pct(pos_s, 100):.1f} ms")
    print(f"server CPU per position (streams and dispatches included): {cpu / max(1, len(pos_s)) * 1000:.2f} ms"
          + (f", postgres {pg_cpu / max(1, len(pos_s)) * 1000:.2f} ms" if args.backend == "postgis" else ""))
    print(f"errors: {len(errors)} {sorted(set(errors))[:5]}")
    return {"dispatch p95": pct(heard_s, 95), "position p50": pct(pos_s, 50), "position p95": pct(pos_s, 95),
            "server CPU/position": cpu / max(1, len(pos_s)) * 1000,
            "postgres CPU/position": pg_cpu / max(1, len(pos_s)) * 1000, "errors": float(len(errors))}

def _post_quietly(c: httpx.Client, url: str, body: dict) -> None:
    with contextlib.suppress(httpx.HTTPError):
        c.post(url, json=body, timeout=10)


def crash_phase(url: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    proc, base = start_server(url, extra_env=env)
    auth = token(base)
    unit = next(u for u in httpx.get(f"{base}/api/units", headers=auth).json()["units"]
                if u["status"] == "tersedia" and u["incident_id"] is None)
    code = httpx.post(f"{base}/api/units/{unit['id']}/pairing", headers=auth).json()["code"]
    tok = httpx.post(f"{base}/api/crew/pair", json={"code": code, "label": "replay"}).json()["token"]
    outbox = [{"key": uuid.uuid4().hex, "action": "tidak_tersedia" if i % 2 == 0 else "tersedia",
               "device_at": datetime.now(UTC).isoformat()} for i in range(args.taps)]
    i, killed, resent, answered_twice = 0, False, 0, 0
    with httpx.Client(headers={"Authorization": f"Bearer {tok}"}) as c:
        while i < len(outbox):
            if not killed and i == len(outbox) // 2:
                # A tap on the wire when the server dies: it may or may not have been applied, its answer is lost.
                on_wire = threading.Thread(target=_post_quietly, args=(c, f"{base}/api/crew/taps", outbox[i]))
                on_wire.start()
                time.sleep(0.003)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                on_wire.join()
                killed = True
                proc, base = start_server(url, extra_env=env)
                resent += 1
            try:
                r = c.post(f"{base}/api/crew/taps", json=outbox[i], timeout=10)
            except httpx.HTTPError:
                resent += 1
                time.sleep(0.2)
                continue
            if r.status_code == 429:
                time.sleep(float(r.headers.get("retry-after", "1")))
                continue
            if r.status_code != 200:
                print("tap refused:", r.status_code, r.text[:200])
            elif r.json()["replayed"]:
                answered_twice += 1
            i += 1
    stop_server(proc)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        stored = s.scalar(select(func.count()).select_from(CrewTap)) or 0
        keys = {k for (k,) in s.execute(select(CrewTap.key))}
        audited = s.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "unit_status", AuditRecord.actor.like("crew:%#%"))) or 0
    engine.dispose()
    lost = sum(1 for t in outbox if t["key"] not in keys)
    print(f"outbox replay across kill -9: taps={len(outbox)} stored={stored} lost={lost} "
          f"applied_twice={audited - stored} (audited status changes={audited}) resent={resent} "
          f"answered-as-replay={answered_twice}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--phones", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--dispatches", type=int, default=20)
    ap.add_argument("--taps", type=int, default=200)
    ap.add_argument("--backend", default="spatialite", choices=["spatialite", "postgis"])
    ap.add_argument("--peer-tree", type=Path, default=None, help="another checkout to run the same load against first")
    ap.add_argument("--no-crash", action="store_true", help="skip the kill -9 outbox replay")
    args = ap.parse_args()
    env = {"SIGAP_HOST": "127.0.0.1", "SIGAP_CREW_TAPS_PER_MINUTE": "100000"}
    figures: dict[str, dict[str, float]] = {}
    for label, tree in ([("peer", args.peer_tree)] if args.peer_tree else []) + [("this", None)]:
        print(f"== {args.backend}: {label} ({tree or ROOT})")
        with tempfile.TemporaryDirectory() as tmp:
            url, drop = prepared_database(args.backend, Path(tmp))
            try:
                add_units(url, args.phones)
                if tree is not None:
                    stamp_for_peer(url, tree)
                proc, base = start_server(url, extra_env=env, tree=tree)
                try:
                    figures[label] = asyncio.run(load_phase(base, args, proc.pid))
                finally:
                    stop_server(proc)
                if label == "this" and not args.no_crash:
                    crash_phase(url, args, env)
            finally:
                drop()
    if "peer" in figures:
        print(f"== {args.backend}: this / peer")
        for name, value in figures["this"].items():
            peer = figures["peer"][name]
            ratio = f"{value / peer:.2f}x" if peer else "-"
            print(f"{name:>24}: peer {peer:9.2f}  this {value:9.2f}  ({ratio})")


if __name__ == "__main__":
    main()
