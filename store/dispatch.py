"""Units on calls: one assignment per unit per incident, its steps, and the incident's state following its units.

An assignment (``dispatch_assignment``) records when a unit was sent and by whom, then each step it reports
(diterima/acknowledged, menuju_lokasi, tiba) and how it ended (selesai, dilepas/released with a reason,
dialihkan/diverted to another call), each with the server's time and who recorded it. A unit has at most one
open assignment (a partial unique index); its status follows it (dikirim, menuju_lokasi, tiba; kembali or
tersedia when it ends).

Every function here runs in the caller's transaction (``store.commands.assignments`` loads, locks, commits):

- ``dispatch_units``: one or many units, all or none. One conditional UPDATE per group (free units, units
  diverted from another call) guards against a unit taken between read and write: a short row count raises
  :class:`UnitsUnavailableError` naming it, and the caller rolls back everything.
- ``report_step``: a unit's step. A step that skips another (tiba before menuju lokasi) is accepted and
  recorded as reported; the field is messy and a radio call is never refused.
- ``end_assignment``: a unit cleared (selesai) or released (reason required).
- ``release_units``: the step every command that ends an incident takes.

The incident follows its units: the first unit en route moves a dikirim call to menuju_lokasi, the first on
scene to tiba. Nothing here closes a call: the operator does (and that releases what is still assigned).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import Conflict, InvalidInput, NotFound
from geo.times import format_wib, iso_utc, utcnow
from store.accounts import record_audit
from store.events import EventHub
from store.incidents import Incident, NeedsLocationError, incident_event, transition
from store.lifecycle import IncidentState
from store.models import Base
from store.types import JSONType, UTCDateTime
from store.units import AVAILABLE_STATUSES, ON_CALL_STATUSES, Unit, read_units, unit_fields

__all__ = [
    "ASSIGNMENT_ENDS",
    "ASSIGNMENT_STEPS",
    "DISPATCHABLE_STATES",
    "RELEASING_STATES",
    "AgencyContact",
    "AssignmentResult",
    "DispatchAssignment",
    "DispatchResult",
    "NotDispatchableError",
    "UnitNotOnCallError",
    "UnitsUnavailableError",
    "UnknownUnitsError",
    "assignments_of",
    "contact_fields",
    "contacts_of",
    "dispatch_units",
    "end_assignment",
    "release_units",
    "report_step",
    "units_on_calls",
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
# An assignment's steps in order, and the ways it ends.
ASSIGNMENT_STEPS = ("dikirim", "diterima", "menuju_lokasi", "tiba")
ASSIGNMENT_ENDS = ("selesai", "dilepas", "dialihkan")
# The unit's status while its assignment is at a step.
_UNIT_STATUS_OF_STEP = {"dikirim": "dikirim", "diterima": "dikirim", "menuju_lokasi": "menuju_lokasi", "tiba": "tiba"}
_STEP_COLUMNS = {"diterima": ("acknowledged_at", "acknowledged_by"), "menuju_lokasi": ("enroute_at", "enroute_by"),
                 "tiba": ("arrived_at", "arrived_by")}
STEP_LABELS = {"dikirim": ("dikirim", "dispatched"), "diterima": ("diterima", "acknowledged"),
               "menuju_lokasi": ("menuju lokasi", "en route"), "tiba": ("tiba di lokasi", "on scene"),
               "selesai": ("selesai", "cleared"), "dilepas": ("dilepas", "released"),
               "dialihkan": ("dialihkan", "diverted")}


class DispatchAssignment(Base):
    """One unit sent to one incident: sent (when, by whom, ETA promised), its steps, and how it ended."""

    __tablename__ = "dispatch_assignment"
    __table_args__ = (
        Index("uq_dispatch_assignment_open_unit", "unit_id", unique=True,
              sqlite_where=text("released_at IS NULL"), postgresql_where=text("released_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64))
    eta_s: Mapped[float | None] = mapped_column(Float)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="dikirim")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    enroute_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enroute_by: Mapped[str | None] = mapped_column(String(64))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_by: Mapped[str | None] = mapped_column(String(64))
    release_reason: Mapped[str | None] = mapped_column(String(500))
    diverted_to_id: Mapped[int | None] = mapped_column(Integer)
    # Steps reported out of order: [{"step": "tiba", "skipped": ["menuju_lokasi"], "at": ..., "by": ...}]
    reported: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)


class AgencyContact(Base):
    """An agency without units (PLN, DPUPR, Dinsos...) informed of a call: which, how, to whom, when, by whom."""

    __tablename__ = "agency_contact"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, index=True)
    agency: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    contact: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(64))


_WHY = {
    "offline": ("unit offline", "unit is offline"),
    "tidak_tersedia": ("unit tidak tersedia (di luar dinas)", "unit is out of service"),
    "busy": ("sedang bertugas di {n}; kirim dengan 'alihkan'", "busy on {n}; send with 'divert'"),
    "taken": ("baru saja diambil operator lain", "just taken by another operator"),
}


def _why(u: dict[str, Any], kind: str) -> dict[str, Any]:
    mid, men = _WHY[kind]
    n = u.get("incident_number") or "?"
    return u | {"reason": kind, "message_id": mid.format(n=n), "message_en": men.format(n=n)}


class UnitsUnavailableError(Conflict):
    """Some requested units cannot be sent (offline, out of service, busy without divert, just taken)."""

    def __init__(self, units: list[dict[str, Any]]) -> None:
        self.units = units
        names = ", ".join(f"{u['callsign']} ({u['message_id']})" for u in units)
        names_en = ", ".join(f"{u['callsign']} ({u['message_en']})" for u in units)
        super().__init__(
            f"Unit tidak bisa dikirim: {names}; tidak ada yang diubah",
            f"Units cannot be sent: {names_en}; nothing was changed",
            field="unit_ids",
            unavailable=units,
        )


class UnknownUnitsError(NotFound, LookupError):
    """Unit ids that do not exist."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        super().__init__(f"Unit tidak dikenal: {ids}", f"Unknown units: {ids}", field="unit_ids", unknown=ids)


class UnitNotOnCallError(Conflict):
    """The unit has no open assignment on this incident."""

    def __init__(self, callsign: str, number: str) -> None:
        super().__init__(
            f"Unit {callsign} tidak sedang bertugas di kejadian {number}",
            f"Unit {callsign} is not assigned to incident {number}",
            field="unit_id",
        )


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
    units: list[dict[str, Any]]  # UnitFields of each unit sent
    transitions: list[str]
    assignment_ids: list[int]
    diverted_from: list[int]  # incidents a unit was diverted from


@dataclass(frozen=True)
class AssignmentResult:
    """What a step or an end changed: the unit as it now is, the incident's new transitions, the row."""

    incident_id: int
    status: str
    unit: dict[str, Any]
    transitions: list[str]
    assignment_id: int
    skipped: list[str]


def _brief(u: dict[str, Any]) -> dict[str, Any]:
    return {k: u[k] for k in ("id", "callsign", "status", "incident_id", "incident_number")}


def dispatch_units(
    session: Session,
    incident: Incident,
    unit_ids: Iterable[int],
    *,
    actor: str | None,
    hub: EventHub | None = None,
    divert: bool = False,
    eta_s: dict[int, float] | None = None,
    note: str | None = None,
    client: str | None = None,
) -> DispatchResult:
    """Send units to an incident in the caller's transaction: all of them or none (the caller rolls back).

    A busy unit is sent only with ``divert`` (its assignment ends 'dialihkan'); offline and out-of-service units
    never. Raises UnknownUnitsError (404), UnitsUnavailableError, NeedsLocationError or NotDispatchableError.
    """
    ids = sorted({int(i) for i in unit_ids})
    if not ids:
        raise InvalidInput("unit_ids kosong", "unit_ids is empty", field="unit_ids")
    if incident.geom is None or incident.status == IncidentState.PERLU_LOKASI.value:
        raise NeedsLocationError(incident)
    if incident.status not in DISPATCHABLE_STATES:
        raise NotDispatchableError(incident.status)
    seen = {u["id"]: u for u in unit_fields(read_units(session, ids=ids))}
    missing = [i for i in ids if i not in seen]
    if missing:
        raise UnknownUnitsError(missing)
    refused = []
    free, diverted = [], []
    for i in ids:
        u = seen[i]
        if u["status"] in AVAILABLE_STATUSES:
            free.append(i)
        elif u["status"] in ON_CALL_STATUSES and u["incident_id"] == incident.id:
            refused.append(_why(_brief(u), "busy"))  # already on this call
        elif u["status"] in ON_CALL_STATUSES and divert:
            diverted.append(i)
        elif u["status"] in ON_CALL_STATUSES:
            refused.append(_why(_brief(u), "busy"))
        else:
            refused.append(_why(_brief(u), "offline" if u["status"] == "offline" else "tidak_tersedia"))
    if refused:
        raise UnitsUnavailableError(refused)
    now = utcnow()
    # The conditional UPDATEs are the real guard: a dispatch that committed after our read leaves fewer rows
    # matching (PostgreSQL re-checks the WHERE after waiting for the row lock).
    changed: set[int] = set()
    for group, statuses in ((free, AVAILABLE_STATUSES), (diverted, ON_CALL_STATUSES)):
        if group:
            changed.update(session.scalars(
                update(Unit)
                .where(Unit.id.in_(group), Unit.status.in_(statuses))
                .values(status="dikirim", status_at=now, version=Unit.version + 1)
                .returning(Unit.id)
                .execution_options(synchronize_session=False)
            ))
    if len(changed) != len(ids):
        now_status = {u["id"]: u for u in unit_fields(read_units(session, ids=ids))}
        raise UnitsUnavailableError([_why(_brief(now_status[i]), "taken") for i in ids if i not in changed])
    diverted_from: list[int] = []
    if diverted:
        old_rows = list(session.scalars(
            select(DispatchAssignment).where(DispatchAssignment.unit_id.in_(diverted),
                                             DispatchAssignment.released_at.is_(None)).with_for_update()
        ))
        for row in old_rows:
            row.released_at, row.released_by, row.status = now, actor, "dialihkan"
            row.release_reason = f"dialihkan ke {incident.number} / diverted to {incident.number}"
            row.diverted_to_id = incident.id
            diverted_from.append(row.incident_id)
        session.flush()  # the old rows close before the new ones open (the open-unit index)
    callsigns = ", ".join(seen[i]["callsign"] for i in ids)
    steps: list[str] = []
    if incident.status == IncidentState.BARU.value:
        transition(session, incident, IncidentState.DIVERIFIKASI, actor=actor,
                   note="diverifikasi saat dispatch / verified on dispatch")
        steps.append(IncidentState.DIVERIFIKASI.value)
    if incident.status == IncidentState.DIVERIFIKASI.value:
        transition(session, incident, IncidentState.DIKIRIM, actor=actor,
                   note=f"{callsigns}" + (f" · {note}" if note else ""))
        steps.append(IncidentState.DIKIRIM.value)
    rows = [
        DispatchAssignment(incident_id=incident.id, unit_id=i, at=now, actor=actor, status="dikirim",
                           eta_s=None if not eta_s else eta_s.get(i))
        for i in ids
    ]
    session.add_all(rows)
    session.flush()
    # The units as they now are, from the read above and what the guarded UPDATE set (no second read).
    stamp = iso_utc(now)
    units_out = [seen[i] | {"status": "dikirim", "available": False, "status_at": stamp, "incident_id": incident.id,
                            "incident_number": incident.number, "version": seen[i]["version"] + 1} for i in ids]
    record_audit(
        session, actor=actor, action="dispatch", entity="incident", entity_id=incident.id, before=None,
        after={"units": [{"id": u["id"], "callsign": u["callsign"]} for u in units_out], "transitions": steps,
               "diverted": [seen[i]["callsign"] for i in diverted], "note": note},
        client=client,
    )
    for u in units_out:
        was = seen[u["id"]]
        record_audit(
            session, actor=actor, action="unit_diverted" if u["id"] in diverted else "unit_dispatched",
            entity="unit", entity_id=u["id"],
            before={"status": was["status"], "incident_id": was["incident_id"]},
            after={"status": u["status"], "incident_id": incident.id}, client=client,
        )
    if hub is not None:
        events = [("unit.updated", u) for u in units_out]
        events.append(("incident.updated", incident_event(incident, ["status", "units"] if steps else ["units"])))
        for other in sorted(set(diverted_from)):
            other_inc = session.get(Incident, other)
            if other_inc is not None:
                events.append(("incident.updated", incident_event(other_inc, ["units"])))
        hub.publish_many(session, events)
    return DispatchResult(incident.id, incident.status, units_out, steps, [r.id for r in rows], diverted_from)


def _open_assignment(session: Session, incident: Incident, unit_id: int) -> tuple[DispatchAssignment, Unit]:
    """The unit's open assignment on this incident (locked), or UnknownUnitsError / UnitNotOnCallError."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise UnknownUnitsError([unit_id])
    row = session.scalars(
        select(DispatchAssignment).where(DispatchAssignment.incident_id == incident.id,
                                         DispatchAssignment.unit_id == unit_id,
                                         DispatchAssignment.released_at.is_(None)).with_for_update()
    ).first()
    if row is None:
        raise UnitNotOnCallError(unit.callsign, incident.number)
    return row, unit


def _follow(session: Session, incident: Incident, step: str, *, callsign: str, actor: str | None) -> list[str]:
    """Move the incident after its unit's step: first unit en route -> menuju_lokasi, first on scene -> tiba."""
    taken: list[str] = []
    if step == "menuju_lokasi" and incident.status == IncidentState.DIKIRIM.value:
        transition(session, incident, IncidentState.MENUJU_LOKASI, actor=actor, note=f"{callsign} menuju lokasi")
        taken.append(IncidentState.MENUJU_LOKASI.value)
    if step == "tiba":
        if incident.status == IncidentState.DIKIRIM.value:
            transition(session, incident, IncidentState.MENUJU_LOKASI, actor=actor,
                       note=f"{callsign} tiba tanpa laporan menuju lokasi / on scene without en-route report")
            taken.append(IncidentState.MENUJU_LOKASI.value)
        if incident.status == IncidentState.MENUJU_LOKASI.value:
            transition(session, incident, IncidentState.TIBA, actor=actor, note=f"{callsign} tiba di lokasi")
            taken.append(IncidentState.TIBA.value)
    return taken


def report_step(
    session: Session,
    incident: Incident,
    unit_id: int,
    step: str,
    *,
    actor: str | None,
    hub: EventHub | None = None,
    client: str | None = None,
) -> AssignmentResult:
    """Record a unit's step on the incident (diterima, menuju_lokasi, tiba); skipped steps are kept as reported.

    A step the unit already passed is recorded as reported too (a late radio call) and changes nothing else.
    """
    if step not in _STEP_COLUMNS:
        raise InvalidInput(f"Langkah tidak dikenal '{step}'; yang sah: {list(_STEP_COLUMNS)}",
                           f"Unknown step '{step}'; valid: {list(_STEP_COLUMNS)}", field="status",
                           valid=list(_STEP_COLUMNS))
    row, unit = _open_assignment(session, incident, unit_id)
    now = utcnow()
    order = ASSIGNMENT_STEPS
    here, there = order.index(row.status), order.index(step)
    at_col, by_col = _STEP_COLUMNS[step]
    skipped = [s for s in order[here + 1:there] if s != "diterima"]
    before = {"status": row.status, "unit_status": unit.status}
    if getattr(row, at_col) is None:
        setattr(row, at_col, now)
        setattr(row, by_col, actor)
    late = there <= here
    if skipped or late:
        row.reported = [*(row.reported or []), {"step": step, "skipped": skipped, "late": late, "at": iso_utc(now),
                                                "by": actor}]
    taken: list[str] = []
    if not late:
        row.status = step
        new_status = _UNIT_STATUS_OF_STEP[step]
        if unit.status != new_status:
            unit.status, unit.status_at, unit.version = new_status, now, unit.version + 1
        taken = _follow(session, incident, step, callsign=unit.callsign, actor=actor)
    session.flush()
    [fields] = unit_fields(read_units(session, ids=[unit_id]))
    after = {"status": row.status, "unit_status": fields["status"], "skipped": skipped, "late": late}
    record_audit(session, actor=actor, action=f"assignment.{step}", entity="incident", entity_id=incident.id,
                 before=before | {"unit_id": unit_id}, after=after | {"unit_id": unit_id, "callsign": unit.callsign,
                                                                       "assignment_id": row.id}, client=client)
    record_audit(session, actor=actor, action="unit_status", entity="unit", entity_id=unit_id,
                 before={"status": before["unit_status"]}, after={"status": fields["status"],
                                                                   "incident_id": incident.id}, client=client)
    if hub is not None:
        hub.publish(session, "unit.updated", fields)
        hub.publish(session, "incident.updated", incident_event(incident, ["status", "units"] if taken else ["units"]))
    return AssignmentResult(incident.id, incident.status, fields, taken, row.id, skipped)


def _close(row: DispatchAssignment, unit: Unit | None, *, outcome: str, reason: str, actor: str | None,
           now: datetime) -> bool:
    """End an open assignment; the unit returns (kembali once it had moved, else tersedia). True if it changed."""
    row.released_at, row.released_by, row.status, row.release_reason = now, actor, outcome, reason
    moved = row.enroute_at is not None or row.arrived_at is not None
    if unit is not None and unit.status in ON_CALL_STATUSES:
        unit.status, unit.status_at, unit.version = ("kembali" if moved else "tersedia"), now, unit.version + 1
        return True
    return False


def end_assignment(
    session: Session,
    incident: Incident,
    unit_id: int,
    *,
    outcome: str,
    reason: str | None,
    actor: str | None,
    hub: EventHub | None = None,
    client: str | None = None,
) -> AssignmentResult:
    """A unit cleared from the call (outcome 'selesai') or released from it ('dilepas'); a reason is required."""
    if outcome not in ("selesai", "dilepas"):
        raise InvalidInput("outcome harus 'selesai' atau 'dilepas'", "outcome must be 'selesai' or 'dilepas'",
                           field="outcome")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Alasan wajib diisi", "A reason is required", field="reason")
    row, unit = _open_assignment(session, incident, unit_id)
    before = {"status": row.status, "unit_status": unit.status}
    _close(row, unit, outcome=outcome, reason=reason, actor=actor, now=utcnow())
    session.flush()
    [fields] = unit_fields(read_units(session, ids=[unit_id]))
    record_audit(session, actor=actor, action=f"assignment.{outcome}", entity="incident", entity_id=incident.id,
                 before=before | {"unit_id": unit_id},
                 after={"status": outcome, "unit_status": fields["status"], "reason": reason, "unit_id": unit_id,
                        "callsign": unit.callsign, "assignment_id": row.id}, client=client)
    record_audit(session, actor=actor, action="unit_status", entity="unit", entity_id=unit_id,
                 before={"status": before["unit_status"], "incident_id": incident.id},
                 after={"status": fields["status"], "incident_id": None}, client=client)
    if hub is not None:
        hub.publish(session, "unit.updated", fields)
        hub.publish(session, "incident.updated", incident_event(incident, ["units"]))
    return AssignmentResult(incident.id, incident.status, fields, [], row.id, [])


def release_units(
    session: Session,
    incident_id: int,
    *,
    actor: str | None,
    hub: EventHub | None = None,
    client: str | None = None,
    status: str | None = None,
) -> list[int]:
    """Close the incident's open assignments as it ends; its units return. Returns the ids of the units changed.

    ``status``: the state the incident ended in (selesai/ditutup: the units' work is selesai; batal: dilepas).
    """
    open_rows = list(session.scalars(
        select(DispatchAssignment).where(DispatchAssignment.incident_id == incident_id,
                                         DispatchAssignment.released_at.is_(None)).with_for_update()
    ))
    if not open_rows:
        return []
    now = utcnow()
    outcome = "dilepas" if status == IncidentState.BATAL.value else "selesai"
    reason = {"selesai": "kejadian selesai / incident resolved", "ditutup": "kejadian ditutup / incident closed",
              "batal": "kejadian batal / incident cancelled"}.get(status or "", "kejadian berakhir / incident ended")
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_([r.unit_id for r in open_rows])))}
    freed = sorted(r.unit_id for r in open_rows
                   if _close(r, units.get(r.unit_id), outcome=outcome, reason=reason, actor=actor, now=now))
    record_audit(
        session, actor=actor, action="release_units", entity="incident", entity_id=incident_id,
        after={"released_assignments": [r.id for r in open_rows], "units": freed, "outcome": outcome},
        client=client,
    )
    if hub is not None and freed:
        session.flush()
        for u in unit_fields(read_units(session, ids=freed)):
            hub.publish(session, "unit.updated", u)
    return freed


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds(), 1)


def assignments_of(session: Session, incident_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each incident's assignments (AssignmentOut), oldest first, with the unit's callsign, type and agency."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return out
    rows = session.execute(
        select(DispatchAssignment, Unit.callsign, Unit.type, Unit.agency, Unit.status)
        .join(Unit, Unit.id == DispatchAssignment.unit_id)
        .where(DispatchAssignment.incident_id.in_(incident_ids))
        .order_by(DispatchAssignment.at, DispatchAssignment.id)
    ).all()
    for a, callsign, utype, agency, unit_status in rows:
        label = STEP_LABELS.get(a.status, (a.status, a.status))
        out[a.incident_id].append({
            "id": a.id,
            "unit_id": a.unit_id,
            "callsign": callsign,
            "unit_type": utype,
            "agency": agency,
            "unit_status": unit_status,
            "status": a.status,
            "status_label_id": label[0],
            "status_label_en": label[1],
            "open": a.released_at is None,
            "dispatched_at": iso_utc(a.at),
            "dispatched_at_wib": format_wib(a.at),
            "dispatched_by": a.actor,
            "eta_s": a.eta_s,
            "acknowledged_at": iso_utc(a.acknowledged_at),
            "acknowledged_by": a.acknowledged_by,
            "enroute_at": iso_utc(a.enroute_at),
            "enroute_by": a.enroute_by,
            "arrived_at": iso_utc(a.arrived_at),
            "arrived_by": a.arrived_by,
            "released_at": iso_utc(a.released_at),
            "released_by": a.released_by,
            "release_reason": a.release_reason,
            "diverted_to_id": a.diverted_to_id,
            "reported": a.reported or [],
            "intervals": {
                "dispatch_to_enroute_s": _seconds(a.at, a.enroute_at),
                "dispatch_to_scene_s": _seconds(a.at, a.arrived_at),
                "on_scene_s": _seconds(a.arrived_at, a.released_at) if a.arrived_at else None,
            },
        })
    return out


def contact_fields(c: AgencyContact) -> dict[str, Any]:
    """An agency contact as the API shows it (AgencyContactOut)."""
    return {"id": c.id, "agency": c.agency, "channel": c.channel, "contact": c.contact, "note": c.note,
            "at": iso_utc(c.at), "at_wib": format_wib(c.at), "by": c.actor}


def contacts_of(session: Session, incident_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each incident's agency contacts, oldest first."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in incident_ids}
    if incident_ids:
        rows = session.scalars(select(AgencyContact).where(AgencyContact.incident_id.in_(incident_ids))
                               .order_by(AgencyContact.at, AgencyContact.id))
        for c in rows:
            out[c.incident_id].append(contact_fields(c))
    return out


def units_on_calls(session: Session, incident_ids: list[int]) -> dict[int, tuple[list[dict[str, Any]],
                                                                              list[dict[str, Any]]]]:
    """Per incident: its assignments and its agency contacts (two queries for any number of incidents)."""
    assigned, contacts = assignments_of(session, incident_ids), contacts_of(session, incident_ids)
    return {i: (assigned[i], contacts[i]) for i in incident_ids}
