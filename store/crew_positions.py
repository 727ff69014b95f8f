"""Crew GPS under load: every position that queued while the last batch committed is stored in one transaction.

300 phones posting every 10 s is 30 positions a second, each of which on its own cost a handful of round trips
(find the key, read the unit, lock it, update it, read it back, audit, notify, commit). Here a request checks its
position (pure), hands it to the writer and waits: one batch reads the batch's keys and units once, applies the
same rules in arrival order (a replayed key changes nothing, an older position or a jump faster than 200 km/h is
dropped), inserts the stored positions, their audit rows and the units' new places with one statement each, and
announces each moved unit once (its latest place) in one NOTIFY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from geo.times import format_wib, iso_utc, utcnow
from store.accounts import AuditRecord, clip_client
from store.crew import (
    MAX_SPEED_KMH,
    CrewDevice,
    CrewPosition,
    DeviceAuth,
    PositionReport,
    _metres,
    devices_for_digests,
)
from store.intake import GroupWriter
from store.units import Unit, read_units, unit_audit, unit_fields

__all__ = ["PositionJob", "PositionWriter", "store_positions"]

OLDER = "lebih lama dari posisi tersimpan / older than the stored position"
JUMP = f"lompatan lebih cepat dari {MAX_SPEED_KMH:.0f} km/j / jump faster than {MAX_SPEED_KMH:.0f} km/h"


@dataclass(frozen=True, slots=True)
class PositionJob:
    """One checked position, the digest of the token it came with, and where from (for the audit record)."""

    token_digest: str
    report: PositionReport
    client: str | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    device: DeviceAuth
    report: PositionReport
    client: str | None


def store_positions(session: Session, queued: list[PositionJob], *, hub: Any) -> list[tuple[str, str | None]]:
    """Store a batch of checked positions in the session's transaction, in order, and commit it.

    Per job ('stored'|'replayed'|'dropped'|'unauthorized', reason when dropped). The devices are looked up here,
    in the writing transaction: one query for the batch, and a device revoked before it commits stores nothing.
    Each moved unit is announced once.
    """
    devices = devices_for_digests(session, {q.token_digest for q in queued}) if queued else {}
    jobs = [_Job(devices[q.token_digest], q.report, q.client) for q in queued if q.token_digest in devices]
    if not jobs:
        session.rollback()
        return [("unauthorized", None)] * len(queued)
    unit_ids = sorted({j.device.unit_id for j in jobs})
    # Lock the units first (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the database), in id order, so a
    # status change cannot slip between the read below and the update.
    locked = select(Unit.id, Unit.position_at).where(Unit.id.in_(unit_ids)).order_by(Unit.id).with_for_update()
    stored_at: dict[int, datetime | None] = {int(i): at for i, at in session.execute(locked).all()}
    before = {f["id"]: f for f in unit_fields(read_units(session, ids=unit_ids))}
    pairs = {(j.device.device_id, j.report.key) for j in jobs}
    known = select(CrewPosition.device_id, CrewPosition.key).where(
        CrewPosition.device_id.in_({d for d, _ in pairs}), CrewPosition.key.in_({k for _, k in pairs}))
    seen: set[tuple[int, str]] = {(int(d), str(k)) for d, k in session.execute(known).all()} & pairs
    # Where each unit is as the batch goes: (lon, lat, at) after the positions stored so far.
    place: dict[int, tuple[float | None, float | None, datetime | None]] = {
        uid: (f["lon"], f["lat"], stored_at.get(uid)) for uid, f in before.items()}
    results: list[tuple[str, str | None]] = []
    rows: list[dict[str, Any]] = []
    audits: list[tuple[_Job, tuple[float | None, float | None, datetime | None]]] = []
    now = utcnow()
    for j in jobs:
        d, p = j.device, j.report
        if (d.device_id, p.key) in seen:
            results.append(("replayed", None))
            continue
        lon, lat, at = place.get(d.unit_id, (None, None, None))
        if at is not None and p.at < at:
            results.append(("dropped", OLDER))
            continue
        if at is not None and lon is not None and lat is not None:
            dt = (p.at - at).total_seconds()
            metres = _metres(lon, lat, p.lon, p.lat)
            if metres > 50 and (dt <= 0 or metres / dt * 3.6 > MAX_SPEED_KMH):
                results.append(("dropped", JUMP))
                continue
        seen.add((d.device_id, p.key))
        audits.append((j, (lon, lat, at)))
        place[d.unit_id] = (p.lon, p.lat, p.at)
        rows.append({"device_id": d.device_id, "unit_id": d.unit_id, "key": p.key, "lon": p.lon, "lat": p.lat,
                     "accuracy_m": p.accuracy_m, "device_at": p.at, "server_at": now, "source": "crew-gps"})
        results.append(("stored", None))
    if rows:
        moved = sorted({r["unit_id"] for r in rows})
        versions = {uid: before[uid]["version"] for uid in moved}
        bumps = {uid: sum(r["unit_id"] == uid for r in rows) for uid in moved}
        session.execute(insert(CrewPosition), rows)
        session.execute(update(Unit), [
            {"id": uid, "geom": f"SRID=4326;POINT({place[uid][0]!r} {place[uid][1]!r})", "position_at": place[uid][2],
             "version": versions[uid] + bumps[uid]} for uid in moved])
        session.execute(update(CrewDevice).where(CrewDevice.id.in_({r["device_id"] for r in rows}))
                        .values(last_seen_at=now))
        # The units as they now are, from what was read and written (no second read in the transaction).
        after = {uid: before[uid] | {"lon": place[uid][0], "lat": place[uid][1], "position_at": iso_utc(place[uid][2]),
                                     "position_at_wib": format_wib(place[uid][2]),
                                     "version": versions[uid] + bumps[uid]} for uid in moved}
        # One audit row per stored position, as a single position command writes: before and after the move.
        version = dict(versions)
        audit_rows = []
        for j, (lon, lat, at) in audits:
            uid = j.device.unit_id
            old = unit_audit(before[uid]) | {"lon": lon, "lat": lat, "position_at": iso_utc(at),
                                             "version": version[uid]}
            version[uid] += 1
            new = old | {"lon": j.report.lon, "lat": j.report.lat, "position_at": iso_utc(j.report.at),
                         "version": version[uid]}
            audit_rows.append({"actor": j.device.actor, "action": "unit_position", "entity": "unit",
                               "entity_id": str(uid), "before": old, "after": new, "client": clip_client(j.client),
                               "at": now})
        session.execute(insert(AuditRecord), audit_rows)
        hub.publish_many(session, [("unit.updated", after[uid]) for uid in moved])
    session.commit()
    done = iter(results)
    return [next(done) if q.token_digest in devices else ("unauthorized", None) for q in queued]


class PositionWriter(GroupWriter[PositionJob, tuple[str, str | None]]):
    """The group-commit writer of crew positions; the future gets ('stored'|'replayed'|'dropped', reason)."""

    def _record(self, session: Session, items: list[PositionJob]) -> list[tuple[str, str | None]]:
        return store_positions(session, items, hub=self.hub)

