"""Units on calls, as commands: dispatch (one or many, all or none; divert), acknowledge, en route, on scene,
clear, release; a unit's own status off a call; an agency without units informed of a call.

Each runs in one transaction of its :class:`~store.commands.Writer`: the incident's row is locked, the change
made (``store.dispatch``), audited, announced, committed. The dispatcher's routes and a crew's phone (a later
route) call the same functions; ``w.actor`` says who recorded the step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from geo.errors import Conflict, InvalidInput
from geo.times import utcnow
from store.commands.writer import Writer
from store.dispatch import (
    AgencyContact,
    AssignmentResult,
    DispatchResult,
    UnknownUnitsError,
    contact_fields,
    dispatch_units,
    end_assignment,
    report_step,
)
from store.incidents import Incident, check_version, incident_event, load_incident
from store.units import AVAILABLE_STATUSES, ON_CALL_STATUSES, OUT_OF_SERVICE_STATUSES, Unit, read_units, unit_fields

__all__ = [
    "CHANNELS",
    "SETTABLE_STATUSES",
    "acknowledge",
    "arrive",
    "clear",
    "dispatch",
    "divert",
    "en_route",
    "record_contact",
    "release",
    "report",
    "set_unit_status",
]

# How an agency was reached.
CHANNELS = ("telepon", "radio", "whatsapp", "langsung", "lainnya")
# A unit off a call may be set to these; on a call its steps are the assignment's.
SETTABLE_STATUSES = AVAILABLE_STATUSES + OUT_OF_SERVICE_STATUSES


def dispatch(
    w: Writer,
    incident_id: int,
    unit_ids: Sequence[int],
    *,
    version: int | None = None,
    note: str | None = None,
    divert: bool = False,
    eta_s: dict[int, float] | None = None,
    then: Callable[[Session, Sequence[int]], object] | None = None,
) -> tuple[Incident, DispatchResult]:
    """Send units (all or none): assignments, units dikirim, the incident dikirim (verified first when baru).

    The incident's row is locked for the transaction; `version`, when given, must be the one stored. Busy
    units only with `divert` (their old assignment ends 'dialihkan'). `then(session, assignment_ids)` runs in
    the same transaction before it commits (the units' notifications are queued there).
    """
    with w.transaction() as session:
        incident = load_incident(session, incident_id, lock=True)
        check_version(incident, version)
        result = dispatch_units(session, incident, list(unit_ids), actor=w.actor, hub=w.hub, note=note,
                                client=w.client, divert=divert, eta_s=eta_s)
        if then is not None:
            then(session, result.assignment_ids)
        session.commit()
        return incident, result


def divert(w: Writer, incident_id: int, unit_ids: Sequence[int], *, note: str | None = None) -> tuple[Incident,
                                                                                                        DispatchResult]:
    """Send units to this incident even when busy on another (that assignment ends 'dialihkan')."""
    return dispatch(w, incident_id, unit_ids, note=note, divert=True)


def report(w: Writer, incident_id: int, unit_id: int, step: str) -> tuple[Incident, AssignmentResult]:
    """Record a unit's step on the incident: diterima, menuju_lokasi or tiba (skips recorded, never refused)."""
    with w.transaction() as session:
        incident = load_incident(session, incident_id, lock=True)
        result = report_step(session, incident, unit_id, step, actor=w.actor, hub=w.hub, client=w.client)
        session.commit()
        return incident, result


def acknowledge(w: Writer, incident_id: int, unit_id: int) -> tuple[Incident, AssignmentResult]:
    """The unit acknowledged the dispatch."""
    return report(w, incident_id, unit_id, "diterima")


def en_route(w: Writer, incident_id: int, unit_id: int) -> tuple[Incident, AssignmentResult]:
    """The unit is on its way (menuju lokasi)."""
    return report(w, incident_id, unit_id, "menuju_lokasi")


def arrive(w: Writer, incident_id: int, unit_id: int) -> tuple[Incident, AssignmentResult]:
    """The unit is on scene (tiba)."""
    return report(w, incident_id, unit_id, "tiba")


def _end(w: Writer, incident_id: int, unit_id: int, outcome: str, reason: str | None) -> tuple[Incident,
                                                                                             AssignmentResult]:
    with w.transaction() as session:
        incident = load_incident(session, incident_id, lock=True)
        result = end_assignment(session, incident, unit_id, outcome=outcome, reason=reason, actor=w.actor,
                                hub=w.hub, client=w.client)
        session.commit()
        return incident, result


def clear(w: Writer, incident_id: int, unit_id: int, reason: str = "tugas selesai") -> tuple[Incident,
                                                                                             AssignmentResult]:
    """The unit's work on the call is done (selesai); it returns (kembali)."""
    return _end(w, incident_id, unit_id, "selesai", reason)


def release(w: Writer, incident_id: int, unit_id: int, reason: str | None) -> tuple[Incident, AssignmentResult]:
    """Release the unit from the call (reason required); 409 when it is not on the call."""
    return _end(w, incident_id, unit_id, "dilepas", reason)


def set_unit_status(w: Writer, unit_id: int, status: str, *, note: str | None = None) -> dict[str, Any]:
    """A unit's own status off a call (tersedia, kembali, tidak_tersedia, offline); the unit as it now is.

    A unit on a call reports its steps on the call instead: 409 naming the call.
    """
    if status not in SETTABLE_STATUSES:
        raise InvalidInput(
            f"Status unit '{status}' tidak bisa diatur di sini; yang sah: {list(SETTABLE_STATUSES)} "
            "(langkah di kejadian: lewat kejadiannya)",
            f"Unit status '{status}' cannot be set here; valid: {list(SETTABLE_STATUSES)} (steps on a call: "
            "through the call)",
            field="status", valid=list(SETTABLE_STATUSES),
        )
    with w.transaction() as session:
        unit = session.get(Unit, unit_id, with_for_update=True)
        if unit is None:
            raise UnknownUnitsError([unit_id])
        [before] = unit_fields(read_units(session, ids=[unit_id]))
        if before["status"] in ON_CALL_STATUSES:
            raise Conflict(
                f"Unit {unit.callsign} sedang bertugas di {before['incident_number']}; lepaskan dulu dari kejadian itu",
                f"Unit {unit.callsign} is on {before['incident_number']}; release it from that call first",
                field="status", incident_id=before["incident_id"], incident_number=before["incident_number"],
            )
        if unit.status != status:
            unit.status, unit.status_at, unit.version = status, utcnow(), unit.version + 1
        session.flush()
        [after] = unit_fields(read_units(session, ids=[unit_id]))
        w.audit(session, action="unit_status", entity="unit", entity_id=unit_id, before={"status": before["status"]},
                after={"status": after["status"], "note": note})
        w.publish(session, "unit.updated", after)
        session.commit()
        return after


def record_contact(
    w: Writer,
    incident_id: int,
    *,
    agency: str,
    channel: str,
    contact: str | None = None,
    note: str | None = None,
    known_agencies: Sequence[str] = (),
) -> dict[str, Any]:
    """Record that an agency was informed of the call (who was reached, how, a note); audited and announced."""
    if known_agencies and agency not in known_agencies:
        raise InvalidInput(f"Instansi tidak dikenal '{agency}'; yang sah: {sorted(known_agencies)}",
                           f"Unknown agency '{agency}'; valid: {sorted(known_agencies)}", field="agency",
                           valid=sorted(known_agencies))
    if channel not in CHANNELS:
        raise InvalidInput(f"Saluran tidak dikenal '{channel}'; yang sah: {list(CHANNELS)}",
                           f"Unknown channel '{channel}'; valid: {list(CHANNELS)}", field="channel",
                           valid=list(CHANNELS))
    with w.transaction() as session:
        incident = load_incident(session, incident_id, lock=True)
        row = AgencyContact(incident_id=incident.id, agency=agency, channel=channel, contact=contact, note=note,
                            at=utcnow(), actor=w.actor)
        session.add(row)
        session.flush()
        out = contact_fields(row)
        w.audit(session, action="agency_contact", entity="incident", entity_id=incident.id, after=out)
        w.publish(session, "incident.updated", incident_event(incident, ["contacts"]))
        session.commit()
        return out
