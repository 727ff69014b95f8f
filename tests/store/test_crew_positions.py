"""Crew positions group-committed, on both backends: one batch keeps the per-position rules (replays, older,
jumps), stores each good position with its audit row, announces each moved unit once, and refuses a revoked
device in the writing transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from geo.times import utcnow
from store.accounts import AuditRecord
from store.crew import CrewDevice, CrewPosition, PositionReport, new_pairing, pair_device, revoke_device, token_digest
from store.crew_positions import JUMP, OLDER, PositionJob, store_positions
from store.db import session_scope
from store.layers import read_layers
from store.units import Unit, seed_demo_units
from tests.conftest import events_while

LON, LAT = 114.845, -1.711


def _paired(db, callsign: str) -> tuple[str, int]:
    """A device token (its digest) paired to a demo unit, and the unit's id."""
    with session_scope(db.sessions) as s:
        if s.scalar(select(func.count()).select_from(Unit)) == 0:
            seed_demo_units(s, read_layers(s))
        unit = s.scalars(select(Unit).where(Unit.callsign == callsign)).one()
        unit.position_at = utcnow() - timedelta(hours=1)
        code = new_pairing(s, unit.id, actor="t-dispatcher")["code"]
        token, _, _ = pair_device(s, code, label="uji")
        return str(token_digest(token)), unit.id


def _report(*, lon: float = LON, lat: float = LAT, ago_s: float, key: str | None = None) -> PositionReport:
    return PositionReport(key or uuid.uuid4().hex, lon, lat, 10.0, utcnow() - timedelta(seconds=ago_s))


def test_a_batch_keeps_every_rule_and_announces_each_unit_once(db) -> None:
    a, unit_a = _paired(db, "DMK-BTK-1")
    b, unit_b = _paired(db, "AMB-BTK-1")
    replay = uuid.uuid4().hex
    batch = [
        PositionJob(a, _report(ago_s=60, key=replay)),
        PositionJob(a, _report(ago_s=50, key=replay)),              # the same key again in the batch: replayed
        PositionJob(a, _report(lon=LON + 1.0, ago_s=40)),           # 110 km in 10 s: a jump
        PositionJob(b, _report(ago_s=30)),
        PositionJob(a, _report(lon=LON + 0.001, ago_s=20)),         # 110 m in 40 s: stored
        PositionJob(a, _report(ago_s=55)),                          # older than the one just stored
        PositionJob("0" * 64, _report(ago_s=10)),                   # no such device
    ]
    with db.sessions() as s:
        mark = s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))

    def write(hub):
        with db.sessions() as session:
            return store_positions(session, batch, hub=hub)

    results, events = asyncio.run(events_while(db, write))
    assert results == [("stored", None), ("replayed", None), ("dropped", JUMP), ("stored", None), ("stored", None),
                       ("dropped", OLDER), ("unauthorized", None)]
    moved = [e["data"] for e in events if e["kind"] == "unit.updated"]
    # One event per unit, carrying where the batch left it.
    assert sorted(d["id"] for d in moved) == sorted([unit_a, unit_b])
    assert next(d for d in moved if d["id"] == unit_a)["lon"] == LON + 0.001
    with db.sessions() as s:
        stored = s.scalars(select(CrewPosition.unit_id).order_by(CrewPosition.id)).all()
        audits = s.scalars(select(AuditRecord).where(AuditRecord.id > mark, AuditRecord.action == "unit_position")
                           .order_by(AuditRecord.id)).all()
        unit = s.get(Unit, unit_a)
    assert stored == [unit_a, unit_b, unit_a]
    assert [x.after["lon"] for x in audits if x.entity_id == str(unit_a)] == [LON, LON + 0.001]
    assert [x.before["version"] + 1 for x in audits] == [x.after["version"] for x in audits]
    assert unit is not None and unit.version == audits[-1].after["version"]
    # Sent again (the phone never heard the answer): replayed, nothing changes.
    again = [PositionJob(a, batch[0].report)]
    with db.sessions() as session:
        assert store_positions(session, again, hub=_Quiet()) == [("replayed", None)]


def test_a_revoked_device_stores_nothing(db) -> None:
    a, unit_a = _paired(db, "DMK-BTK-1")
    with session_scope(db.sessions) as s:
        device = s.scalars(select(CrewDevice.id).where(CrewDevice.unit_id == unit_a)).one()
        revoke_device(s, device, actor="t-admin")
    with db.sessions() as session:
        assert store_positions(session, [PositionJob(a, _report(ago_s=5))], hub=_Quiet()) == [("unauthorized", None)]
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CrewPosition)) == 0


class _Quiet:
    """A hub for a write whose events this test does not read."""

    def publish_many(self, session, events):
        return []
