"""Benchmark: the unit status board and a multi-unit dispatch, on SpatiaLite and PostGIS, against plain SQL.

Run: ``python bench/dispatch.py`` (a few seconds per backend). Per backend, in one run, figures printed, nothing
asserted:

1. the board's answer (``TravelService.unit_rows`` + ``store.board.status_board`` + JSON, as ``GET /api/board``)
   for 300 units with 100 of them on 200 open calls, while nothing changes and right after a unit changed:
   p50/p95 (target p95 < 20 ms);
2. a dispatch of 4 units to a new call through the command (``store.commands.assignments.dispatch``: lock, read,
   guarded UPDATE ... RETURNING, two transitions, 4 assignments, 5 audit records, 5 events, commit):
   p50/p95 (target p95 < 30 ms);
3. the peer: the same rows written by plain SQL in one transaction (units UPDATE, incident UPDATE, 2 transitions,
   4 assignments, 5 audit records, commit), with the ratio.

PostGIS comes from ``SIGAP_BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/sigap_bench``); a
database ``sigap_bench_dispatch`` is created beside it and dropped at the end.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import bindparam, create_engine, func, select, text

from geo.times import utcnow
from store.board import DEFAULT_THRESHOLDS, status_board
from store.commands import Writer
from store.commands import assignments as commands
from store.db import make_engine, make_sessionmaker, session_scope
from store.dispatch import DispatchAssignment, dispatch_units
from store.events import EventHub
from store.incidents import Call, Incident, record_calls
from store.migrate import upgrade
from store.travel import TravelService
from store.units import Unit

PG_URL = os.environ.get("SIGAP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/sigap_bench")
TYPES = ("damkar", "ambulans", "bpbd", "polisi", "perahu")
AGENCY = {"damkar": "damkar", "ambulans": "rsud", "bpbd": "bpbd", "polisi": "polres", "perahu": "bpbd"}
SEED = 20261206
N_UNITS, N_CALLS, N_BUSY = 300, 200, 100
N_BOARD, N_DISPATCH = 200, 40


def _row(label: str, ms: np.ndarray, target: str = "") -> str:
    p50, p95 = np.percentile(ms, [50, 95])
    return f"  {label:<46} n={len(ms):>4}  p50={p50:7.2f} ms  p95={p95:7.2f} ms  max={ms.max():7.2f} ms  {target}"


def _database(backend: str, tmp: str) -> tuple[str, callable]:
    if backend == "spatialite":
        return f"sqlite:///{tmp}/dispatch.sqlite", lambda: None
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text("drop database if exists sigap_bench_dispatch with (force)"))
        admin.dispose()

    with admin.connect() as conn:
        conn.execute(text("drop database if exists sigap_bench_dispatch with (force)"))
        conn.execute(text("create database sigap_bench_dispatch"))
    return base + "/sigap_bench_dispatch", drop


def _seed(engine, sessions, rng: np.random.Generator) -> tuple[list[int], list[int]]:  # noqa: ANN001
    """300 units around Buntok, 200 open calls, 100 units on 100 of them; the free unit ids, the calls left."""
    now = utcnow()
    with session_scope(sessions) as s:
        for i in range(N_UNITS):
            t = TYPES[i % len(TYPES)]
            lon, lat = 114.85 + rng.uniform(-0.3, 0.3), -1.75 + rng.uniform(-0.4, 0.4)
            s.add(Unit(callsign=f"B-{i:03d}", name=f"bench {i}", type=t, agency=AGENCY[t], status="tersedia",
                       travel_mode="river" if t == "perahu" else "road", demo=True, version=1, position_at=now,
                       status_at=now, geom=f"SRID=4326;POINT({lon!r} {lat!r})"))
    hub = EventHub(engine)
    with sessions() as s:
        calls = [Call(category="kebakaran", actor="bench", lon=114.85 + rng.uniform(-0.3, 0.3),
                      lat=-1.75 + rng.uniform(-0.4, 0.4), location_source="coordinates",
                      location={"inside_regency": True}) for _ in range(N_CALLS + 2 * N_DISPATCH)]
        stored = record_calls(s, calls, hub=hub)
    ids = [c.id for c in stored]
    with sessions() as s:
        units = list(s.scalars(select(Unit.id).order_by(Unit.id)))
        for k in range(N_BUSY):
            dispatch_units(s, s.get(Incident, ids[k]), [units[k]], actor="bench")
        s.commit()
    return units[N_BUSY:], ids[N_CALLS:]


_PEER_SQL = {
    "units": "UPDATE unit SET status = 'dikirim', status_at = :now, version = version + 1 "
             "WHERE id IN (:u0, :u1, :u2, :u3) AND status IN ('tersedia', 'kembali')",
    "incident": "UPDATE incident SET status = 'dikirim', version = version + 2, updated_at = :now WHERE id = :i",
    "step": "INSERT INTO incident_transition (incident_id, from_status, status, at, actor, note) "
            "VALUES (:i, :f, :s, :now, 'bench', NULL)",
    "assign": "INSERT INTO dispatch_assignment (incident_id, unit_id, at, actor, status) "
              "VALUES (:i, :u, :now, 'bench', 'dikirim')",
    "audit": "INSERT INTO audit_log (at, actor, action, entity, entity_id, after) VALUES (:now, 'bench', :a, :e, :id, "
             "NULL)",
}


def _peer(engine, incident_id: int, units: list[int]) -> None:  # noqa: ANN001
    """The rows a 4-unit dispatch writes, in one transaction of plain SQL."""
    now = utcnow()
    with engine.begin() as c:
        c.execute(text(_PEER_SQL["units"]), {"now": now, **{f"u{k}": u for k, u in enumerate(units)}})
        c.execute(text(_PEER_SQL["incident"]), {"now": now, "i": incident_id})
        c.execute(text(_PEER_SQL["step"]), [{"i": incident_id, "f": "baru", "s": "diverifikasi", "now": now},
                                            {"i": incident_id, "f": "diverifikasi", "s": "dikirim", "now": now}])
        c.execute(text(_PEER_SQL["assign"]), [{"i": incident_id, "u": u, "now": now} for u in units])
        c.execute(text(_PEER_SQL["audit"]), [{"now": now, "a": "dispatch", "e": "incident", "id": str(incident_id)}]
                  + [{"now": now, "a": "unit_dispatched", "e": "unit", "id": str(u)} for u in units])


def run(backend: str) -> None:
    """Seed, then time the board, the command and the plain-SQL peer on one backend."""
    tmp = tempfile.TemporaryDirectory()
    try:
        url, drop = _database(backend, tmp.name)
    except Exception as exc:  # noqa: BLE001 — the bench reports, it does not fail
        print(f"  {backend} unavailable: {exc}")
        return
    engine = make_engine(url)
    try:
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        rng = np.random.default_rng(SEED)
        free, calls = _seed(engine, sessions, rng)
        print(f"{backend}: {N_UNITS} units, {N_CALLS} open calls, {N_BUSY} units on calls")
        # The process's unit cache, as the API holds it (no network is needed for the board).
        service = TravelService(sessions=sessions, layers=None)
        board, cold = np.empty(N_BOARD), np.empty(N_BOARD // 4)
        size = 0
        for i in range(N_BOARD):
            t0 = time.perf_counter()
            with sessions() as s:
                rows, fields = service.unit_rows(s)
                answer = status_board(rows, fields, now=utcnow(), thresholds=DEFAULT_THRESHOLDS, stale_after_s=600)
                size = len(orjson.dumps(answer))
            board[i] = (time.perf_counter() - t0) * 1e3
        for i in range(len(cold)):  # a unit changes before every answer: one unit re-read and re-formatted
            with session_scope(sessions) as s:
                s.execute(text("UPDATE unit SET position_at = :now WHERE id = :u"), {"now": utcnow(), "u": free[i]})
            t0 = time.perf_counter()
            with sessions() as s:
                rows, fields = service.unit_rows(s)
                orjson.dumps(status_board(rows, fields, now=utcnow(), thresholds=DEFAULT_THRESHOLDS,
                                          stale_after_s=600))
            cold[i] = (time.perf_counter() - t0) * 1e3
        print(_row("board answer (300 units, JSON), units unchanged", board,
                   f"target p95 < 20 ms · {size / 1024:.0f} KiB"))
        print(_row("board answer after one unit changed", cold, "target p95 < 20 ms"))
        hub = EventHub(engine)
        w = Writer(sessions=sessions, hub=hub, actor="bench", client="127.0.0.1")
        mine = np.empty(N_DISPATCH)
        for i in range(N_DISPATCH):
            units = free[4 * i: 4 * i + 4]
            t0 = time.perf_counter()
            commands.dispatch(w, calls[i], units)
            mine[i] = (time.perf_counter() - t0) * 1e3
        peer = np.empty(N_DISPATCH)
        rest = free[4 * N_DISPATCH:]
        for i in range(N_DISPATCH):
            units = rest[(4 * i) % len(rest): (4 * i) % len(rest) + 4]
            t0 = time.perf_counter()
            _peer(engine, calls[N_DISPATCH + i], units)
            peer[i] = (time.perf_counter() - t0) * 1e3
            with engine.begin() as c:  # untimed: the peer's units free again for the next round
                c.execute(text("UPDATE unit SET status = 'tersedia' WHERE id IN :ids").bindparams(
                    bindparam("ids", expanding=True)), {"ids": list(units)})
                c.execute(text("UPDATE dispatch_assignment SET released_at = :now, status = 'dilepas' "
                               "WHERE released_at IS NULL AND incident_id = :i"), {"now": utcnow(),
                                                                                     "i": calls[N_DISPATCH + i]})
        print(_row("dispatch of 4 units (store command)", mine, "target p95 < 30 ms"))
        print(_row("same rows, plain SQL, one transaction", peer))
        print(f"  ratio command / plain SQL: p50 {np.median(mine) / np.median(peer):.1f}x, "
              f"p95 {np.percentile(mine, 95) / np.percentile(peer, 95):.1f}x")
        with sessions() as s:
            n = s.scalar(select(func.count()).select_from(DispatchAssignment)
                         .where(DispatchAssignment.released_at.is_(None)))
        print(f"  open assignments at the end: {n} (expected {N_BUSY + 4 * N_DISPATCH})")
    finally:
        engine.dispose()
        drop()
        tmp.cleanup()


def main() -> None:
    """Both backends, one after the other."""
    for backend in ("spatialite", "postgis"):
        run(backend)


if __name__ == "__main__":
    main()
