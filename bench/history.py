"""Benchmark: history search (the Riwayat view) over many stored calls, with a plain SQL peer in the same run.

Usage: python bench/history.py [--calls 1000000] [--queries 30] [--backends spatialite,postgis]
For each backend a fresh migrated database gets `--calls` incidents (a year of calls: numbers, phones,
categories, priorities, dispositions, operators, descriptions from a small vocabulary of real call words) and
one note for every tenth call, written by bulk inserts. Then each kind of history query runs `--queries` times
with varied values through ``store.incidents.list_incidents`` (the function GET /api/incidents calls: total
count, one page of 20 newest first, their transitions and notes) and prints p50/p95 per kind. The peer is the
plain SQL an engineer would write against the same table: ``ILIKE``/``LIKE '%word%'`` (and on PostgreSQL a
``to_tsvector('simple', description) @@ plainto_tsquery`` full-text query over a GIN expression index built
for it) with ``ORDER BY created_at DESC LIMIT 20``, no count. Not a test: nothing asserts a time.
Target (issue 16): p95 < 50 ms on both backends at 1,000,000 calls.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store.db import make_engine, make_sessionmaker  # noqa: E402
from store.incidents import Incident, IncidentFilter, IncidentNote, list_incidents  # noqa: E402
from store.migrate import upgrade  # noqa: E402

WORDS = [
    "rumah", "terbakar", "asap", "api", "gudang", "pasar", "warga", "pingsan", "sesak", "napas", "jatuh", "motor",
    "mobil", "tabrakan", "jalan", "banjir", "air", "naik", "sungai", "perahu", "longsor", "tebing", "pohon",
    "tumbang", "listrik", "padam", "kabel", "korsleting", "maling", "pencurian", "perkelahian", "anak", "hilang",
    "lansia", "sakit", "demam", "kejang", "luka", "berdarah", "dermaga", "klotok", "speedboat", "kebun", "sawit",
    "lahan", "terbakar", "hutan", "karhutla", "jembatan", "rusak", "retak",
]
CATEGORIES = ("kebakaran", "penyelamatan", "kecelakaan_lalu_lintas", "medis", "banjir", "karhutla", "kriminalitas")
STATES = ("ditutup", "ditutup", "ditutup", "batal", "selesai", "baru", "dikirim")
DISPOSITIONS = ("selesai_ditangani", "ditangani_instansi_lain", "duplikat", "iseng", "informasi", "salah_sambung")
OPERATORS = tuple(f"operator{i}" for i in range(1, 13))
PAGE = 20


def fresh_database(backend: str, pg_admin: str, tmp: Path) -> tuple[str, callable]:
    """A new migrated database; returns its URL and a drop function."""
    if backend == "spatialite":
        return f"sqlite:///{tmp / f'history-{uuid.uuid4().hex[:6]}.sqlite'}", lambda: None
    name = f"sigap_bench_history_{os.getpid()}"
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop() -> None:
        again = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
        with again.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        again.dispose()

    return pg_admin.rsplit("/", 1)[0] + f"/{name}", drop


def seed(engine, n: int, *, rng: np.random.Generator) -> float:  # noqa: ANN001 - an Engine
    """Write `n` calls over the last year and a note for every tenth; returns the seconds it took."""
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    batch = 20_000
    with engine.begin() as conn:
        for lo in range(0, n, batch):
            hi = min(n, lo + batch)
            k = hi - lo
            secs = rng.uniform(0, 365 * 86400, k)
            words = rng.integers(0, len(WORDS), (k, 5))
            cats = rng.integers(0, len(CATEGORIES), k)
            states = rng.integers(0, len(STATES), k)
            disp = rng.integers(0, len(DISPOSITIONS), k)
            ops = rng.integers(0, len(OPERATORS), k)
            pri = rng.integers(1, 4, k)
            phones = rng.integers(10**8, 10**9, k)
            lon = rng.uniform(114.6, 115.4, k)
            lat = rng.uniform(-2.5, -1.3, k)
            rows = []
            for j in range(k):
                i = lo + j
                at = start + timedelta(seconds=float(secs[j]))
                state = STATES[states[j]]
                rows.append({
                    "id": i + 1, "number": f"112-{at:%Y%m%d}-{i + 1:07d}", "category": CATEGORIES[cats[j]],
                    "status": state, "description": " ".join(WORDS[w] for w in words[j]),
                    "caller_phone": f"0812{phones[j]:09d}"[:13], "lon": float(lon[j]), "lat": float(lat[j]),
                    "version": 1, "created_at": at, "updated_at": at, "created_by": OPERATORS[ops[j]],
                    "priority": f"P{pri[j]}",
                    "disposition": DISPOSITIONS[disp[j]] if state in ("ditutup", "batal") else None,
                })
                rows[-1]["phone_digits"] = rows[-1]["caller_phone"]
            conn.execute(insert(Incident.__table__), rows)
            notes = [{"incident_id": r["id"], "at": r["created_at"] + timedelta(minutes=3), "actor": r["created_by"],
                      "text": f"catatan {WORDS[(r['id'] * 7) % len(WORDS)]} {WORDS[(r['id'] * 13) % len(WORDS)]}"}
                     for r in rows if r["id"] % 10 == 0]
            if notes:
                conn.execute(insert(IncidentNote.__table__), notes)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('incident', 'id'), :n)"), {"n": n})
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def queries(engine, rng: np.random.Generator, n: int, count: int) -> dict[str, list[IncidentFilter]]:  # noqa: ANN001
    """`count` history filters of each kind, with values that exist in the data."""
    now = datetime.now(UTC)
    ids = [int(i) for i in rng.integers(1, n + 1, count)]
    with engine.connect() as conn:
        known = conn.execute(select(Incident.number, Incident.caller_phone).where(Incident.id.in_(ids))).all()

    def pick(seq: tuple) -> str:
        return seq[int(rng.integers(0, len(seq)))]

    kinds = ("number", "number part", "phone", "word", "word+category", "operator+week", "priority+disposition",
             "no filter")
    out: dict[str, list[IncidentFilter]] = {k: [] for k in kinds}
    for k in range(count):
        number, phone = known[k % len(known)]
        out["number"].append(IncidentFilter(number=number))  # pasted whole, as from a callback list
        out["number part"].append(IncidentFilter(number=number[-5:]))  # the last digits only: a scan
        # Its start, written as callers say it.
        out["phone"].append(IncidentFilter(phone="+62 " + phone[1:4] + "-" + phone[4:8]))
        out["word"].append(IncidentFilter(text=pick(WORDS)))
        out["word+category"].append(IncidentFilter(text=pick(WORDS), categories=(pick(CATEGORIES),)))
        since = now - timedelta(days=int(rng.integers(7, 360)))
        out["operator+week"].append(IncidentFilter(operator=pick(OPERATORS), since=since,
                                                   until=since + timedelta(days=7)))
        out["priority+disposition"].append(IncidentFilter(priorities=(f"P{int(rng.integers(1, 4))}",),
                                                          dispositions=(pick(DISPOSITIONS),)))
        out["no filter"].append(IncidentFilter())
    return out


def timed(fn) -> float:  # noqa: ANN001
    """Milliseconds one call of `fn` takes."""
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def summary(ms: list[float]) -> str:
    """p50 and p95 of a list of milliseconds."""
    a = np.asarray(ms)
    return f"p50 {np.percentile(a, 50):8.1f} ms  p95 {np.percentile(a, 95):8.1f} ms"


def run(backend: str, n: int, count: int, pg_admin: str, tmp: Path) -> None:
    """Seed one backend, run the history queries and the SQL peer, print the figures."""
    url, drop = fresh_database(backend, pg_admin, tmp)
    try:
        engine = make_engine(url)
        upgrade(engine)
        rng = np.random.default_rng(16)
        took = seed(engine, n, rng=rng)
        print(f"\n== {backend}: {n:,} calls ({n // 10:,} notes) written in {took:.1f} s")
        sessions = make_sessionmaker(engine)
        kinds = queries(engine, rng, n, count)
        for kind, filters in kinds.items():
            ms = []
            for flt in filters:
                with sessions() as s:
                    ms.append(timed(lambda s=s, flt=flt: list_incidents(s, flt, limit=PAGE)))
            print(f"  sigap  {kind:<22} {summary(ms)}")
        # The peer: plain SQL on the same table (one page, no count, no transitions or notes).
        like = "ILIKE" if backend == "postgis" else "LIKE"
        peer = {
            "number": (f"SELECT id FROM incident WHERE number {like} :p ORDER BY created_at DESC LIMIT {PAGE}",
                       [{"p": f"%{f.number}%"} for f in kinds["number"]]),
            "phone": (f"SELECT id FROM incident WHERE replace(caller_phone, ' ', '') {like} :p "
                      f"ORDER BY created_at DESC LIMIT {PAGE}",
                      [{"p": "%" + f.phone.replace("+62 ", "0").replace("-", "") + "%"} for f in kinds["phone"]]),
            "word": (f"SELECT id FROM incident WHERE description {like} :p ORDER BY created_at DESC LIMIT {PAGE}",
                     [{"p": f"%{f.text}%"} for f in kinds["word"]]),
        }
        with engine.connect() as conn:
            if backend == "postgis":
                t0 = time.perf_counter()
                conn.execute(text("CREATE INDEX bench_fts ON incident USING gin (to_tsvector('simple', description))"))
                conn.commit()
                print(f"  (peer GIN index on to_tsvector(description) built in {time.perf_counter() - t0:.1f} s)")
                peer["word tsvector"] = (
                    "SELECT id FROM incident WHERE to_tsvector('simple', description) @@ plainto_tsquery('simple', :w) "
                    f"ORDER BY created_at DESC LIMIT {PAGE}", [{"w": f.text} for f in kinds["word"]])
            for kind, (sql, params) in peer.items():
                ms = [timed(lambda p=p, sql=sql: conn.execute(text(sql), p).all()) for p in params]
                print(f"  peer   {kind:<22} {summary(ms)}")
        engine.dispose()
    finally:
        drop()


def main() -> None:
    """Parse the arguments and run each backend in turn."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--backends", default="spatialite,postgis")
    ap.add_argument("--pg-admin", default=os.environ.get("SIGAP_TEST_PG_ADMIN_URL",
                                                         "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            run(backend.strip(), args.calls, args.queries, args.pg_admin, Path(tmp))


if __name__ == "__main__":
    main()
