"""Benchmark: the call desk with a year of calls — caller history, recording under 50 operators, the monthly report.

Usage: python bench/calls.py [--calls 1000000] [--numbers 100000] [--backends spatialite,postgis]
       [--operators 50] [--per-operator 40] [--lookups 2000] [--no-http] [--profile DIR]

For each backend a fresh migrated database is filled with `--calls` calls from `--numbers` numbers over
the past year (a few numbers call very often: Zipf-like), 5 % of them darurat calls joined to incidents with
their dispatch and arrival times; loaded with executemany (SQLite) or COPY (PostgreSQL). Then, with a plain
SQL peer on the same tables in the same run:

- caller history (``store.calls.caller_history``: counts by type, newest 10 calls, incidents, flag) for random
  numbers, one after another; peers through the raw DB-API connection: the same reads written by hand (the
  number's summary row, its newest 10 calls, its newest 10 incidents) and, for scale, counting its calls
  (GROUP BY type) as the history did before the summary. Target p99 < 5 ms.
- recording a non-emergency call from 50 operators (threads) at once, through the desk's group-commit writer
  the route uses (``store.desk_intake.DeskCallWriter``: insert, audit, event, one commit per batch), back to
  back and paced (one call per operator every --pace s); peer: one INSERT + COMMIT per call on 50 raw
  connections. Target p95 < 20 ms.
- the monthly report (``store.callstats.call_report`` for the busiest month); peer: GROUP BY queries for
  the same figures. Target < 3 s.

First in-process (the store layer the routes call), then (unless --no-http) through HTTP against a uvicorn
server on the same database: ``GET /api/callers/{number}`` one after another, and ``POST /api/calls`` from 50
concurrent clients, back to back and paced. --profile DIR records the server with py-spy (raw folded stacks,
DIR/<backend>-record.txt) during the back-to-back HTTP recording (py-spy at /tmp/pyspy/bin/py-spy or on PATH).
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx
import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.pool import QueuePool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intake import start_server, stop_server  # noqa: E402
from store.accounts import add_user  # noqa: E402
from store.calls import caller_history  # noqa: E402
from store.callstats import call_report  # noqa: E402
from store.commands.calls import CallIn, DeskCall  # noqa: E402
from store.db import make_engine, make_read_sessionmaker, make_sessionmaker, session_scope  # noqa: E402
from store.desk_intake import DeskCallWriter  # noqa: E402
from store.events import EventHub  # noqa: E402
from store.layers import load_bundled  # noqa: E402
from store.migrate import upgrade  # noqa: E402

TYPES = np.array(["iseng", "ghost", "informasi", "salah_sambung", "darurat", "tak_terjawab", "panggilan_ulang", "uji"])
SHARES = np.array([0.42, 0.18, 0.14, 0.08, 0.05, 0.08, 0.04, 0.01])
CATEGORIES = ["kebakaran", "kecelakaan_lalu_lintas", "medis", "banjir", "kriminalitas"]
KECAMATAN = ["62.04.01", "62.04.02", "62.04.03", "62.04.04", "62.04.05", "62.04.06"]


def fresh_database(backend: str, pg_admin: str, tmp: Path) -> tuple[str, callable]:
    """A new migrated database; its URL and a drop function."""
    if backend == "spatialite":
        url, drop = f"sqlite:///{tmp / f'calls-{uuid.uuid4().hex[:6]}.sqlite'}", lambda: None
    else:
        name = f"sigap_bench_calls_{os.getpid()}"
        admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = pg_admin.rsplit("/", 1)[0] + f"/{name}"

        def drop() -> None:
            again = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
            with again.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            again.dispose()

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url, drop


def numbers(n: int) -> list[str]:
    """`n` distinct E.164 mobile numbers."""
    return [f"+62812{7_000_000 + i:07d}" for i in range(n)]


def generate(calls: int, n_numbers: int, *, now: datetime, seed: int = 18) -> dict[str, np.ndarray]:
    """A year of calls as columns: times, numbers (Zipf-like), types, operators."""
    rng = np.random.default_rng(seed)
    span = 365 * 86400
    at = np.sort(now.timestamp() - rng.random(calls) * span)
    # A few numbers call very often (prank callers), most only once or twice.
    weights = 1.0 / np.arange(1, n_numbers + 1) ** 0.8
    who = rng.choice(n_numbers, size=calls, p=weights / weights.sum())
    kind = TYPES[rng.choice(len(TYPES), size=calls, p=SHARES)]
    operator = rng.integers(0, 24, size=calls)
    return {"at": at, "who": who, "type": kind, "operator": operator}


def load(url: str, cols: dict[str, np.ndarray], nums: list[str]) -> tuple[float, int]:
    """Write the calls (and one incident per 3 darurat calls, with dispatch and arrival) fast; seconds taken."""
    t0 = time.perf_counter()
    calls = len(cols["at"])
    rng = np.random.default_rng(7)
    darurat = np.flatnonzero(cols["type"] == "darurat")
    inc_of = {int(i): 1 + k // 3 for k, i in enumerate(darurat)}
    n_inc = (len(darurat) + 2) // 3
    stamp = [datetime.fromtimestamp(t, tz=UTC) for t in cols["at"]]
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        first_call = {}
        for i in darurat:
            first_call.setdefault(inc_of[int(i)], stamp[i])
        incidents = [(k, f"112-B-{k:07d}", CATEGORIES[k % 5], "tiba", 1, first_call[k], first_call[k],
                      KECAMATAN[k % 6]) for k in range(1, n_inc + 1)]
        steps = []
        for k in range(1, n_inc + 1):
            t = first_call[k]
            sent = t + timedelta(seconds=float(rng.gamma(2.0, 60.0)))
            came = sent + timedelta(seconds=float(rng.gamma(3.0, 400.0)))
            steps += [(k, None, "baru", t), (k, "diverifikasi", "dikirim", sent), (k, "menuju_lokasi", "tiba", came)]
        rows = [
            (stamp[i], stamp[i], nums[cols["who"][i]], nums[cols["who"][i]], True, f"op{cols['operator'][i]:02d}",
             str(cols["type"][i]), inc_of.get(i), "selesai", "desk", 0,
             "perlu" if cols["type"][i] in ("ghost", "tak_terjawab") and i > calls - 300 else None, stamp[i])
            for i in range(calls)
        ]
        pg = engine.dialect.name == "postgresql"
        call_cols = ("at, answered_at, caller_raw, caller_number, number_ok, operator, type, incident_id, state, "
                     "source, callback_attempts, callback_status, updated_at")
        if pg:
            with cur.copy("COPY incident (id, number, category, status, version, created_at, updated_at, "
                          "kecamatan_code) FROM STDIN") as cp:
                for r in incidents:
                    cp.write_row(r)
            with cur.copy("COPY incident_transition (incident_id, from_status, status, at) FROM STDIN") as cp:
                for r in steps:
                    cp.write_row(r)
            with cur.copy(f"COPY phone_call ({call_cols}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
            cur.execute("SELECT setval(pg_get_serial_sequence('incident', 'id'), (SELECT max(id) FROM incident))")
            cur.execute("ANALYZE")  # every table, as autovacuum would after such a load
        else:
            iso = [(r[0].isoformat(sep=" "),) for r in rows]
            cur.execute("BEGIN")  # the engine's connections autocommit each statement otherwise
            cur.executemany("INSERT INTO incident (id, number, category, status, version, created_at, updated_at, "
                            "kecamatan_code) VALUES (?,?,?,?,?,?,?,?)",
                            [(*r[:5], r[5].isoformat(sep=" "), r[6].isoformat(sep=" "), r[7]) for r in incidents])
            cur.executemany("INSERT INTO incident_transition (incident_id, from_status, status, at) VALUES (?,?,?,?)",
                            [(*s[:3], s[3].isoformat(sep=" ")) for s in steps])
            cur.executemany(f"INSERT INTO phone_call ({call_cols}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            [(t[0], t[0], *r[2:12], t[0]) for r, t in zip(rows, iso, strict=True)])
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - t0, n_inc


def pct(values: list[float], p: float) -> float:
    """The p-th percentile in milliseconds."""
    return float(np.percentile(np.array(values) * 1000, p))


def bench_history(url: str, nums: list[str], lookups: int) -> tuple[list[float], list[float], list[float], list[str]]:
    """Latencies of caller_history, of the plain SQL peer doing the same reads, and of counting the calls.

    Each number is looked up by all three, one right after the other and in turns (whoever reads a number
    first finds its pages cold), so a busy moment of the machine hits them alike. Returns the numbers looked
    up too (the HTTP phase asks for the same ones).
    """
    engine = make_engine(url)
    sessions = make_read_sessionmaker(engine)  # what GET /api/callers/{number} reads through
    rng = np.random.default_rng(5)
    picks = [nums[i] for i in rng.integers(0, len(nums), lookups)]
    ours, peer, counting = [], [], []
    now = datetime.now(UTC)
    raw = engine.raw_connection()
    ph = "%s" if engine.dialect.name == "postgresql" else "?"
    summary_sql = f"SELECT * FROM caller_summary WHERE number = {ph}"
    recent_sql = f"SELECT * FROM phone_call WHERE caller_number = {ph} ORDER BY at DESC, id DESC LIMIT 10"
    incidents_sql = (f"SELECT id, number, category, status, created_at, lon, lat, desa_code FROM incident WHERE id IN "
                     f"(SELECT incident_id FROM phone_call WHERE caller_number = {ph} AND incident_id IS NOT NULL "
                     "ORDER BY incident_id DESC LIMIT 10)")
    counts_sql = (f"SELECT type, count(*), min(at), max(at) FROM phone_call WHERE caller_number = {ph} "
                  "GROUP BY type")
    def run_ours(number: str) -> float:
        t0 = time.perf_counter()
        with sessions() as s:
            caller_history(s, number, at=now)
        return time.perf_counter() - t0

    def run_sql(number: str, queries: tuple[str, ...]) -> float:
        t0 = time.perf_counter()
        for q in queries:
            cur.execute(q, (number,))
            cur.fetchall()
        raw.commit()
        return time.perf_counter() - t0

    try:
        cur = raw.cursor()
        for k, number in enumerate(picks[:50] + picks):  # the first 50: warming caches, not counted
            # Whoever reads a number first finds its pages cold: the order alternates, so neither is favoured.
            runs = [lambda n=number: run_ours(n), lambda n=number: run_sql(n, (summary_sql, recent_sql,
                                                                                 incidents_sql)),
                    lambda n=number: run_sql(n, (counts_sql,))]
            order = (0, 1, 2) if k % 3 == 0 else (1, 2, 0) if k % 3 == 1 else (2, 0, 1)
            took = {i: runs[i]() for i in order}
            if k >= 50:
                ours.append(took[0])
                peer.append(took[1])
                counting.append(took[2])
    finally:
        raw.close()
        engine.dispose()
    return ours, peer, counting, picks


def _threads(n: int, work: callable) -> float:
    """Run work(k) on n threads started together; wall seconds."""
    start = threading.Barrier(n + 1)
    threads = [threading.Thread(target=lambda k=k: (start.wait(), work(k))) for k in range(n)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def bench_record(url: str, operators: int, per: int, *, pace: float = 0.0) -> tuple[list[float], list[float], float,
                                                                                  float]:
    """Latencies of recording non-emergency calls from `operators` threads, ours and the plain SQL peer.

    `pace`: seconds between one operator's calls (0: back to back, the worst case), each operator starting at
    a random offset within it.
    """
    offsets = np.random.default_rng(3).random(operators) * pace
    engine = make_engine(url)
    # One connection per operator (ours and the peer alike), so no thread waits for the pool itself.
    old = engine.pool
    engine.pool = QueuePool(old._creator, pool_size=operators + 5, max_overflow=5, timeout=30,
                            recycle=old._recycle, _dispatch=old.dispatch, dialect=old._dialect)
    old.dispose()
    sessions = make_sessionmaker(engine)
    hub = EventHub(engine)
    lock = threading.Lock() if engine.dialect.name == "sqlite" else None
    ours: list[float] = []
    guard = threading.Lock()

    writer = DeskCallWriter(sessions=sessions, hub=hub, lock=lock)
    writer.start()

    def work(k: int) -> None:
        mine = []
        begin = time.perf_counter() + offsets[k]
        for i in range(per):
            _wait_until(begin + i * pace)
            t0 = time.perf_counter()
            call = CallIn(type="iseng" if i % 3 else "salah_sambung", number=f"0812 9{k:03d} {i:04d}")
            writer.submit(DeskCall(call, f"op{k:02d}")).result(timeout=60)
            mine.append(time.perf_counter() - t0)
        with guard:
            ours.extend(mine)

    try:
        wall_ours = _threads(operators, work)
    finally:
        writer.stop()
    peer: list[float] = []
    pg = engine.dialect.name == "postgresql"
    p = "%s" if pg else "?"
    insert_sql = ("INSERT INTO phone_call (at, caller_raw, caller_number, number_ok, operator, type, state, source, "
                  f"callback_attempts, updated_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 'selesai', 'desk', 0, {p})")

    def peer_work(k: int) -> None:
        raw = engine.raw_connection()
        mine = []
        begin = time.perf_counter() + offsets[k]
        try:
            cur = raw.cursor()
            for i in range(per):
                _wait_until(begin + i * pace)
                t0 = time.perf_counter()
                now = datetime.now(UTC)
                when = now if pg else now.isoformat(sep=" ")
                with lock or _NoLock():
                    if not pg:
                        cur.execute("BEGIN IMMEDIATE")
                    cur.execute(insert_sql, (when, f"0812 8{k:03d} {i:04d}", f"+628128{k:03d}{i:04d}", True,
                                             f"op{k:02d}", "iseng", when))
                    raw.commit()
                mine.append(time.perf_counter() - t0)
        finally:
            raw.close()
        with guard:
            peer.extend(mine)

    wall_peer = _threads(operators, peer_work)
    engine.dispose()
    return ours, peer, wall_ours, wall_peer


def _wait_until(when: float) -> None:
    """Pause until perf_counter() reaches `when` (an operator's next call), at once when it has."""
    left = when - time.perf_counter()
    if left > 0:
        threading.Event().wait(left)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def busiest_month(url: str) -> tuple[datetime, datetime]:
    """The last complete month of the generated year (UTC month bounds, roughly a WIB month)."""
    now = datetime.now(UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    prev = (first - timedelta(days=1)).replace(day=1)
    return prev - timedelta(hours=7), first - timedelta(hours=7)


def bench_report(url: str) -> tuple[float, float, int]:
    """Seconds for the monthly report (ours, best of 3) and for the plain SQL peer (best of 3)."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    since, until = busiest_month(url)
    ours, total = [], 0
    for _ in range(3):
        t0 = time.perf_counter()
        with sessions() as s:
            total = call_report(s, since=since, until=until)["total"]
        ours.append(time.perf_counter() - t0)
    pg = engine.dialect.name == "postgresql"
    hour = "extract(hour from at AT TIME ZONE 'Asia/Jakarta')" if pg else "strftime('%H', at, '+7 hours')"
    day = "date(at AT TIME ZONE 'Asia/Jakarta')" if pg else "date(at, '+7 hours')"
    lo, hi = (since, until) if pg else (since.isoformat(sep=" ")[:26], until.isoformat(sep=" ")[:26])
    ph = "%s" if pg else "?"
    queries = [
        f"SELECT type, count(*) FROM phone_call WHERE at >= {ph} AND at < {ph} GROUP BY type",
        f"SELECT {hour}, count(*) FROM phone_call WHERE at >= {ph} AND at < {ph} GROUP BY 1",
        f"SELECT {day}, type, count(*) FROM phone_call WHERE at >= {ph} AND at < {ph} GROUP BY 1, 2",
        f"SELECT operator, type, count(*) FROM phone_call WHERE at >= {ph} AND at < {ph} GROUP BY 1, 2",
        "SELECT i.category, i.kecamatan_code, count(*) FROM phone_call c JOIN incident i ON i.id = c.incident_id "
        f"WHERE c.at >= {ph} AND c.at < {ph} AND c.type = 'darurat' GROUP BY 1, 2",
        "SELECT t.incident_id, t.status, min(t.at) FROM incident_transition t WHERE t.status IN ('dikirim','tiba') "
        f"AND t.incident_id IN (SELECT incident_id FROM phone_call WHERE at >= {ph} AND at < {ph} "
        "AND type = 'darurat') GROUP BY 1, 2",
    ]
    peer = []
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for _ in range(3):
            t0 = time.perf_counter()
            for q in queries:
                cur.execute(q, (lo, hi))
                cur.fetchall()
            raw.commit()
            peer.append(time.perf_counter() - t0)
    finally:
        raw.close()
        engine.dispose()
    return min(ours), min(peer), total


PASSWORD = "Bench-Sandi-112"


def prepare_server(url: str) -> None:
    """What the server needs to start and let the bench in: the bundled boundaries and a dispatcher account."""
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as s:
        load_bundled(s, ROOT / "data")
        add_user(s, username="bench", password=PASSWORD, role="dispatcher")
    engine.dispose()


def http_token(base: str) -> str:
    """The bench dispatcher's bearer token."""
    r = httpx.post(f"{base}/api/auth/token", data={"username": "bench", "password": PASSWORD})
    r.raise_for_status()
    return r.json()["access_token"]


async def http_history(base: str, token: str, picks: list[str]) -> list[float]:
    """Latencies of GET /api/callers/{number}, one after another, on one keep-alive connection."""
    out = []
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {token}"}) as http:
        for k, number in enumerate(picks[:50] + picks):
            t0 = time.perf_counter()
            async with http.get(f"/api/callers/{number}") as r:
                await r.read()
                assert r.status == 200, r.status
            if k >= 50:
                out.append(time.perf_counter() - t0)
    return out


async def http_record(base: str, token: str, operators: int, per: int, *, pace: float) -> tuple[list[float], float]:
    """Latencies of POST /api/calls from `operators` concurrent clients (back to back or paced); wall seconds."""
    offsets = np.random.default_rng(3).random(operators) * pace
    out: list[float] = []
    connector = aiohttp.TCPConnector(limit=operators)
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {token}"}, connector=connector) as http:
        async def warm() -> None:
            async with http.get("/api/categories") as r:
                await r.read()

        await asyncio.gather(*(warm() for _ in range(operators)))

        async def operator(k: int) -> None:
            begin = time.perf_counter() + offsets[k]
            for i in range(per):
                await asyncio.sleep(max(0.0, begin + i * pace - time.perf_counter()))
                body = {"type": "iseng" if i % 3 else "salah_sambung", "number": f"0812 7{k:03d} {i:04d}"}
                t0 = time.perf_counter()
                async with http.post("/api/calls", json=body) as r:
                    await r.read()
                    assert r.status == 201, r.status
                out.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(operator(k) for k in range(operators)))
        return out, time.perf_counter() - t0


def _profiler(pid: int, seconds: float, path: Path) -> subprocess.Popen | None:
    """py-spy recording the server for `seconds` into `path` (raw folded stacks), or None without py-spy."""
    spy = shutil.which("py-spy") or ("/tmp/pyspy/bin/py-spy" if Path("/tmp/pyspy/bin/py-spy").exists() else None)
    if spy is None:
        print("(py-spy not found: no profile)")
        return None
    return subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-f", "raw", "-o", str(path),
                             "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_http(url: str, backend: str, picks: list[str], args: argparse.Namespace, store_history: list[float],
               peer_history: list[float]) -> None:
    """The history and the recording through HTTP, printed next to the in-process figures of the same run."""
    prepare_server(url)
    proc, base = start_server(url, workers=1)
    try:
        token = http_token(base)
        web = asyncio.run(http_history(base, token, picks))
        print(f"caller history over HTTP ({len(picks)} numbers): p50 {pct(web, 50):.2f} ms  p95 {pct(web, 95):.2f} ms"
              f"  p99 {pct(web, 99):.2f} ms  | store function p50 {pct(store_history, 50):.2f}  p95 "
              f"{pct(store_history, 95):.2f}  p99 {pct(store_history, 99):.2f} ms  | plain SQL peer p50 "
              f"{pct(peer_history, 50):.2f}  p95 {pct(peer_history, 95):.2f}  p99 {pct(peer_history, 99):.2f} ms"
              f"  | ratio HTTP/peer p99 {pct(web, 99) / pct(peer_history, 99):.1f}x  (target p99 < 5 ms)")
        for pace in (0.0, args.pace):
            spy = None
            if args.profile and pace == 0.0:
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                spy = _profiler(proc.pid, 8, Path(args.profile) / f"{backend}-record.txt")
            lat, wall = asyncio.run(http_record(base, token, args.operators, args.per_operator, pace=pace))
            if spy is not None:
                spy.wait()
            how = "back to back" if pace == 0 else f"each every {pace:g} s"
            print(f"record a call over HTTP ({args.operators} clients x {args.per_operator}, {how}): p50 "
                  f"{pct(lat, 50):.1f} ms  p95 {pct(lat, 95):.1f} ms  p99 {pct(lat, 99):.1f} ms"
                  f"  ({len(lat) / wall:,.0f} calls/s)  (target p95 < 20 ms)")
    finally:
        stop_server(proc)


def run(backend: str, args: argparse.Namespace, tmp: Path) -> None:
    """The three measurements on one backend."""
    url, drop = fresh_database(backend, args.pg_admin, tmp)
    try:
        nums = numbers(args.numbers)
        t0 = time.perf_counter()
        cols = generate(args.calls, args.numbers, now=datetime.now(UTC))
        gen_s = time.perf_counter() - t0
        load_s, n_inc = load(url, cols, nums)
        print(f"\n== {backend}: {args.calls:,} calls from {args.numbers:,} numbers over a year, {n_inc:,} incidents "
              f"(generated {gen_s:.1f} s, loaded {load_s:.1f} s = {args.calls / load_s:,.0f} calls/s)")
        history, peer_history, counting, picks = bench_history(url, nums, args.lookups)
        ours, peer = history, peer_history
        print(f"caller history  ({args.lookups} numbers): p50 {pct(ours, 50):.2f} ms  p95 {pct(ours, 95):.2f} ms"
              f"  p99 {pct(ours, 99):.2f} ms  | plain SQL peer (same reads) p50 {pct(peer, 50):.2f} ms  p95 "
              f"{pct(peer, 95):.2f} ms  p99 {pct(peer, 99):.2f} ms  | ratio p99 {pct(ours, 99) / pct(peer, 99):.1f}x"
              f"  | counting the calls (GROUP BY) p50 {pct(counting, 50):.2f} ms  p99 {pct(counting, 99):.2f} ms"
              "  (target p99 < 5 ms)")
        for pace in (0.0, args.pace):
            ours, peer, wall_o, wall_p = bench_record(url, args.operators, args.per_operator, pace=pace)
            n = len(ours)
            how = "back to back" if pace == 0 else f"each every {pace:g} s"
            print(f"record a call   ({args.operators} operators x {args.per_operator}, {how}): "
                  f"p50 {pct(ours, 50):.1f} ms  p95 {pct(ours, 95):.1f} ms  p99 {pct(ours, 99):.1f} ms"
                  f"  ({n / wall_o:,.0f} calls/s)"
                  f"  | plain SQL peer p50 {pct(peer, 50):.1f} ms  p95 {pct(peer, 95):.1f} ms"
                  f" ({n / wall_p:,.0f} calls/s)  | ratio p95 {pct(ours, 95) / max(pct(peer, 95), 1e-3):.1f}x"
                  "  (target p95 < 20 ms)")
        if args.http:
            bench_http(url, backend, picks, args, history, peer_history)
        ours_s, peer_s, total = bench_report(url)
        print(f"monthly report  ({total:,} calls): {ours_s:.2f} s  | plain SQL peer {peer_s:.2f} s"
              f"  | ratio {ours_s / peer_s:.1f}x  (target < 3 s)")
    finally:
        drop()


def main() -> None:
    """Run the benchmark on the chosen backends."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--numbers", type=int, default=100_000)
    ap.add_argument("--backends", default="spatialite,postgis")
    ap.add_argument("--operators", type=int, default=50)
    ap.add_argument("--per-operator", type=int, default=40)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--pace", type=float, default=1.0, help="seconds between one operator's calls (second run)")
    ap.add_argument("--http", action=argparse.BooleanOptionalAction, default=True,
                    help="also measure through HTTP against a uvicorn server")
    ap.add_argument("--profile", default=None, help="directory for a py-spy profile of the HTTP recording")
    ap.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            run(backend.strip(), args, Path(tmp))


if __name__ == "__main__":
    main()
