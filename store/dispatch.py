"""Dispatch: sending units to an incident atomically, and releasing them when the incident ends.

``dispatch_units`` takes units with one conditional UPDATE (``WHERE status = 'tersedia'``): when another
operator took one of them a moment earlier the row count differs and nothing changes. The incident moves to
``dikirim`` through the lifecycle's steps in the same transaction (``baru`` is verified first, recorded).

Units are released whenever an incident reaches ``selesai``, ``ditutup`` or ``batal``, whatever code path
moved it: a ``before_flush`` listener notices the status change and frees the incident's units in the same
flush, so a closed incident can never keep a unit busy.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Engine, Float, ForeignKey, Integer, String, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.accounts import record_audit, utcnow
from store.incidents import Incident, incident_event, transition
from store.lifecycle import IncidentState
from store.models import Base
from store.units import Unit, _aware

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
# Event hubs per engine, registered at start-up, so the release listener can announce freed units.
_HUBS: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()


class DispatchAssignment(Base):
    """One unit sent to one incident: when, by whom, the ETA promised, and when it was released."""

    __tablename__ = "dispatch_assignment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64))
    eta_s: Mapped[float | None] = mapped_column(Float)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str | None] = mapped_column(String(64))


class UnitsUnavailableError(Exception):
    """Some of the requested units are not tersedia (busy, offline, or just taken by another operator)."""

    def __init__(self, units: list[dict[str, Any]]) -> None:
        self.units = units
        super().__init__(f"units not available: {[u['callsign'] for u in units]}")


class UnknownUnitsError(LookupError):
    """Unit ids that do not exist."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        super().__init__(f"unknown units: {ids}")


class NotDispatchableError(Exception):
    """The incident cannot receive units in its current state (no location yet, or already ended)."""

    def __init__(self, status: str, *, needs_location: bool) -> None:
        self.status = status
        self.needs_location = needs_location
        super().__init__(f"incident in state {status} cannot be dispatched")


@dataclass(frozen=True)
class DispatchResult:
    """What a dispatch changed."""

    incident_id: int
    status: str
    units: list[dict[str, Any]]
    transitions: list[str]
    assignment_ids: list[int]


def register_hub(engine: Engine, hub: Any) -> None:
    """Let the release listener publish unit events for sessions on this engine."""
    _HUBS[engine] = hub


def _hub_for(session: Session) -> Any:
    bind = session.get_bind()
    return _HUBS.get(bind if isinstance(bind, Engine) else bind.engine)


def _unit_event(u: Unit, lon: float | None, lat: float | None) -> dict[str, Any]:
    return {
        "id": u.id,
        "callsign": u.callsign,
        "status": u.status,
        "lon": lon,
        "lat": lat,
        "position_at": None if u.position_at is None else _aware(u.position_at).isoformat(),
        "version": u.version,
    }


def _positions(session: Session, ids: list[int]) -> dict[int, tuple[float | None, float | None]]:
    from sqlalchemy import func

    rows = session.execute(select(Unit.id, func.ST_X(Unit.geom), func.ST_Y(Unit.geom)).where(Unit.id.in_(ids)))
    return {int(i): (x, y) for i, x, y in rows}


def dispatch_units(
    session: Session,
    incident: Incident,
    unit_ids: list[int],
    *,
    actor: str | None,
    hub: Any = None,
    eta_s: dict[int, float] | None = None,
    note: str | None = None,
) -> DispatchResult:
    """Send units to an incident in the caller's transaction: units bertugas, incident dikirim, audit, events.

    Raises UnknownUnitsError, UnitsUnavailableError (nothing changed) or NotDispatchableError; the caller
    rolls back on any of them.
    """
    ids = sorted({int(i) for i in unit_ids})
    if not ids:
        raise ValueError("unit_ids kosong / unit_ids is empty")
    if incident.geom is None or incident.status == IncidentState.PERLU_LOKASI.value:
        raise NotDispatchableError(incident.status, needs_location=True)
    if incident.status not in DISPATCHABLE_STATES:
        raise NotDispatchableError(incident.status, needs_location=False)
    found = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UnknownUnitsError(missing)
    busy = [u for u in found.values() if u.status != "tersedia"]
    if busy:
        raise UnitsUnavailableError([{"id": u.id, "callsign": u.callsign, "status": u.status} for u in busy])
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
        taken = [
            {"id": u.id, "callsign": u.callsign, "status": u.status}
            for u in now_status.values()
            if u.status != "tersedia"
        ]
        raise UnitsUnavailableError(taken or [{"id": i, "callsign": found[i].callsign, "status": "?"} for i in ids])
    for u in found.values():
        session.refresh(u)
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
    pos = _positions(session, ids)
    units_out = [_unit_event(found[i], *pos[i]) for i in ids]
    record_audit(
        session,
        actor=actor,
        action="dispatch",
        entity="incident",
        entity_id=incident.id,
        before=None,
        after={"units": [{"id": u["id"], "callsign": u["callsign"]} for u in units_out], "transitions": steps},
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
        )
    if hub is not None:
        for u in units_out:
            hub.publish(session, "unit.updated", u)
        hub.publish(session, "incident.updated", incident_event(incident, ["status", "units"] if steps else ["units"]))
    return DispatchResult(incident.id, incident.status, units_out, steps, [r.id for r in rows])


def release_units(session: Session, incident_id: int, *, actor: str | None, hub: Any = None) -> list[int]:
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
    )
    if hub is not None and freed:
        pos = _positions(session, freed)
        for u in session.scalars(select(Unit).where(Unit.id.in_(freed))):
            hub.publish(session, "unit.updated", _unit_event(u, *pos[u.id]))
    return freed


@event.listens_for(Session, "before_flush")
def _release_on_end(session: Session, _ctx: Any, _instances: Any) -> None:
    """Free the units of incidents whose status just became selesai/ditutup/batal (any code path)."""
    from sqlalchemy import inspect as sa_inspect

    ended = []
    for obj in list(session.dirty):
        if not isinstance(obj, Incident) or obj.status not in RELEASING_STATES:
            continue
        hist = sa_inspect(obj).attrs.status.history
        if hist.has_changes() and not (set(hist.deleted or ()) & RELEASING_STATES):
            ended.append(obj)
    if not ended:
        return
    hub = _hub_for(session)
    for inc in ended:
        actor = inc.transitions[-1].actor if inc.transitions else None
        release_units(session, inc.id, actor=actor, hub=hub)
