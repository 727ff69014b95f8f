"""Dispatch: sending units to an incident atomically, and releasing them when the incident ends.

``dispatch_units`` takes units with one conditional UPDATE (``WHERE status = 'tersedia'``): when another
operator took one of them a moment earlier the row count differs and nothing changes. The incident moves to
``dikirim`` through the lifecycle's steps in the same transaction (``baru`` is verified first, recorded).

``release_units`` frees an incident's units. The commands that end an incident (``store.commands``: a state
change to ``selesai``, ``ditutup`` or ``batal``, a merge) call it in their own transaction, so a closed
incident never keeps a unit busy. Both take the event hub explicitly: no hub, no events (a test's session).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import Conflict, InvalidInput
from geo.times import utcnow
from store.accounts import record_audit
from store.events import EventHub
from store.incidents import Incident, NeedsLocationError, incident_event, transition
from store.lifecycle import IncidentState
from store.models import Base
from store.types import UTCDateTime
from store.units import Unit, read_units, unit_fields

__all__ = [
    "DISPATCHABLE_STATES",
    "RELEASING_STATES",
    "DispatchAssignment",
    "DispatchResult",
    "NotDispatchableError",
    "UnitsUnavailableError",
    "UnknownUnitsError",
    "dispatch_units",
    "release_units",
]

RELEASING_STATES = frozenset({IncidentState.SELESAI.value, IncidentState.DITUTUP.value, IncidentState.BATAL.value})
DISPATCHABLE_STATES = frozenset(
    {
        IncidentState.BARU.value,
        IncidentState.DIVERIFIKASI.value,
        IncidentState.DIKIRIM.value,
        IncidentState.MENUJU_LOKASI.value,
        IncidentState.TIBA.value,
    }
)


class DispatchAssignment(Base):
    """One unit sent to one incident: when, by whom, the ETA promised, and when it was released."""

    __tablename__ = "dispatch_assignment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64))
    eta_s: Mapped[float | None] = mapped_column(Float)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))


class UnitsUnavailableError(Conflict):
    """Some of the requested units are not tersedia (busy, offline, or just taken by another operator)."""

    def __init__(self, units: list[dict[str, Any]]) -> None:
        self.units = units
        names = ", ".join(f"{u['callsign']} ({u['status']})" for u in units)
        super().__init__(
            f"Unit tidak tersedia (mungkin baru diambil operator lain): {names}; tidak ada yang diubah",
            f"Units not available (perhaps just taken by another operator): {names}; nothing was changed",
            field="unit_ids",
            unavailable=units,
        )


class UnknownUnitsError(InvalidInput, LookupError):
    """Unit ids that do not exist."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        super().__init__(f"Unit tidak dikenal: {ids}", f"Unknown units: {ids}", field="unit_ids", unknown=ids)


class NotDispatchableError(Conflict):
    """The incident cannot receive units in its current state (it has ended)."""

    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__(
            f"Kejadian berstatus '{status}' tidak bisa diberi unit",
            f"An incident in state '{status}' cannot receive units",
            field="status",
            status=status,
        )


@dataclass(frozen=True)
class DispatchResult:
    """What a dispatch changed: the incident's state and the steps it took, the units as they now are."""

    incident_id: int
    status: str
    units: list[dict[str, Any]]  # UnitFields of each unit sent, now bertugas
    transitions: list[str]
    assignment_ids: list[int]


def _unit_brief(u: Unit) -> dict[str, Any]:
    return {"id": u.id, "callsign": u.callsign, "status": u.status}


def dispatch_units(
    session: Session,
    incident: Incident,
    unit_ids: list[int],
    *,
    actor: str | None,
    hub: EventHub | None = None,
    eta_s: dict[int, float] | None = None,
    note: str | None = None,
    client: str | None = None,
) -> DispatchResult:
    """Send units to an incident in the caller's transaction: units bertugas, incident dikirim, audit, events.

    Raises UnknownUnitsError, UnitsUnavailableError (nothing changed), NeedsLocationError or
    NotDispatchableError; the caller rolls back on any of them.
    """
    ids = sorted({int(i) for i in unit_ids})
    if not ids:
        raise InvalidInput("unit_ids kosong", "unit_ids is empty", field="unit_ids")
    if incident.geom is None or incident.status == IncidentState.PERLU_LOKASI.value:
        raise NeedsLocationError(incident)
    if incident.status not in DISPATCHABLE_STATES:
        raise NotDispatchableError(incident.status)
    found = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UnknownUnitsError(missing)
    busy = [u for u in found.values() if u.status != "tersedia"]
    if busy:
        raise UnitsUnavailableError([_unit_brief(u) for u in busy])
    # The conditional UPDATE is the real guard: a concurrent dispatch that committed after our read
    # leaves fewer rows matching, and PostgreSQL re-checks the WHERE after waiting for its row lock.
    res = session.execute(
        update(Unit)
        .where(Unit.id.in_(ids), Unit.status == "tersedia")
        .values(status="bertugas", version=Unit.version + 1)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != len(ids):
        session.expire_all()
        now_status = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))}
        taken = [_unit_brief(u) for u in now_status.values() if u.status != "tersedia"]
        raise UnitsUnavailableError(taken or [{"id": i, "callsign": found[i].callsign, "status": "?"} for i in ids])
    for u in found.values():  # changed in the database by the UPDATE: reloaded when next read
        session.expire(u)
    steps: list[str] = []
    if incident.status == IncidentState.BARU.value:
        transition(
            session,
            incident,
            IncidentState.DIVERIFIKASI,
            actor=actor,
            note="diverifikasi saat dispatch / verified on dispatch",
        )
        steps.append(IncidentState.DIVERIFIKASI.value)
    if incident.status == IncidentState.DIVERIFIKASI.value:
        transition(session, incident, IncidentState.DIKIRIM, actor=actor, note=note)
        steps.append(IncidentState.DIKIRIM.value)
    now = utcnow()
    rows = [
        DispatchAssignment(
            incident_id=incident.id, unit_id=i, at=now, actor=actor, eta_s=None if not eta_s else eta_s.get(i)
        )
        for i in ids
    ]
    session.add_all(rows)
    session.flush()
    units_out = unit_fields(read_units(session, ids=ids))
    record_audit(
        session,
        actor=actor,
        action="dispatch",
        entity="incident",
        entity_id=incident.id,
        before=None,
        after={"units": [{"id": u["id"], "callsign": u["callsign"]} for u in units_out], "transitions": steps},
        client=client,
    )
    for u in units_out:
        record_audit(
            session,
            actor=actor,
            action="unit_dispatched",
            entity="unit",
            entity_id=u["id"],
            before={"status": "tersedia"},
            after={"status": "bertugas", "incident_id": incident.id},
            client=client,
        )
    if hub is not None:
        for u in units_out:
            hub.publish(session, "unit.updated", u)
        hub.publish(session, "incident.updated", incident_event(incident, ["status", "units"] if steps else ["units"]))
    return DispatchResult(incident.id, incident.status, units_out, steps, [r.id for r in rows])


def release_units(
    session: Session, incident_id: int, *, actor: str | None, hub: EventHub | None = None, client: str | None = None
) -> list[int]:
    """Close the incident's open assignments and put its units back to tersedia; returns the freed unit ids.

    A unit also assigned to another still-open incident stays bertugas. Offline units stay offline.
    """
    open_rows = list(
        session.scalars(
            select(DispatchAssignment).where(
                DispatchAssignment.incident_id == incident_id, DispatchAssignment.released_at.is_(None)
            )
        )
    )
    if not open_rows:
        return []
    now = utcnow()
    for row in open_rows:
        row.released_at, row.released_by = now, actor
    unit_ids = sorted({r.unit_id for r in open_rows})
    still = set(
        session.scalars(
            select(DispatchAssignment.unit_id).where(
                DispatchAssignment.unit_id.in_(unit_ids),
                DispatchAssignment.released_at.is_(None),
                DispatchAssignment.incident_id != incident_id,
            )
        )
    )
    free = [i for i in unit_ids if i not in still]
    freed: list[int] = []
    if free:
        units = list(session.scalars(select(Unit).where(Unit.id.in_(free), Unit.status == "bertugas")))
        for u in units:
            u.status, u.version = "tersedia", u.version + 1
            freed.append(u.id)
    record_audit(
        session,
        actor=actor,
        action="release_units",
        entity="incident",
        entity_id=incident_id,
        after={"released_assignments": [r.id for r in open_rows], "units_tersedia": freed},
        client=client,
    )
    if hub is not None and freed:
        session.flush()
        for u in unit_fields(read_units(session, ids=freed)):
            hub.publish(session, "unit.updated", u)
    return freed
