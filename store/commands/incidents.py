"""Incident commands: edit and locate, change state, merge a duplicate.

Each runs in one transaction of its :class:`~store.commands.Writer`: load, check the version, change, audit,
announce ``incident.updated``, commit. An incident that reaches ``selesai``, ``ditutup`` or ``batal`` (by a
state change or as a merged duplicate) frees its units in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.resolve import Resolved
from geo.times import utcnow
from store.catalog import Catalog
from store.commands.units import release
from store.commands.writer import Writer
from store.dispatch import RELEASING_STATES, units_on_calls
from store.incidents import (
    PRIORITIES,
    Incident,
    IncidentNote,
    NeedsLocationError,
    StoredIncident,
    audit_snapshot,
    check_version,
    flush_checked,
    incident_event,
    load_incident,
    merge_incidents,
    set_location,
    transition,
)
from store.incidents import stored_incident as _stored_incident
from store.lifecycle import IncidentState, parse_state

__all__ = ["EDITABLE", "add_note", "change_state", "claim", "merge", "update"]

# The details an operator may correct; a category and a priority can be changed but not cleared.
EDITABLE = ("category", "description", "caller_name", "caller_phone", "priority")
# Ending a call this way needs a disposition from the catalog (why it ended).
NEEDS_DISPOSITION = frozenset({IncidentState.BATAL, IncidentState.DITUTUP})


def update(
    w: Writer,
    incident_id: int,
    *,
    version: int,
    changes: Mapping[str, Any],
    location: Resolved | None,
    catalog: Catalog,
) -> StoredIncident:
    """Edit details (`changes`: only the fields the operator set) and/or set the location.

    A perlu_lokasi incident given a point becomes baru. Nothing changed: nothing written, the incident as is.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with w.transaction() as session:
        incident = load_incident(session, incident_id)
        check_version(incident, version)
        before = audit_snapshot(incident)
        seen = incident.version
        if changes.get("priority") is not None and changes["priority"] not in PRIORITIES:
            raise InvalidInput(
                f"Prioritas tidak dikenal '{changes['priority']}'; yang sah: {', '.join(PRIORITIES)}",
                f"Unknown priority '{changes['priority']}'; valid: {', '.join(PRIORITIES)}",
                field="priority",
            )
        if changes.get("category") is not None:
            catalog.category(changes["category"])  # UnknownCategoryError lists the valid ones
            # A priority still at the old category's proposal follows the new category's, unless given.
            if "priority" not in changes and incident.priority == catalog.priority_of(incident.category):
                changes = {**changes, "priority": catalog.priority_of(changes["category"])}
        changed: list[str] = []
        for name in sorted(changes):
            value = changes[name]
            if name in ("category", "priority") and value is None:
                continue
            if getattr(incident, name) != value:
                setattr(incident, name, value)
                changed.append(name)
        if location is not None and location.source is not None:
            set_location(
                incident,
                lon=location.lon,
                lat=location.lat,
                accuracy_m=location.accuracy_m,
                source=location.source,
                location=location.answer,
            )
            changed.append("location")
        if not changed:
            result = stored_incident(session, incident)
            session.commit()  # ends the read, so SQLite's lock is not held
            return result
        incident.updated_at = utcnow()
        if incident.status == IncidentState.PERLU_LOKASI and incident.lon is not None:
            transition(session, incident, IncidentState.BARU, actor=w.actor, note="Lokasi diisi / located")
            changed.append("status")
        else:
            flush_checked(session, incident, seen=seen)
        return _announce(w, session, incident, action="incident.update", before=before, changed=changed)


def change_state(
    w: Writer,
    incident_id: int,
    *,
    to: str,
    version: int,
    note: str | None = None,
    disposition: str | None = None,
    catalog: Catalog | None = None,
) -> StoredIncident:
    """Move the incident one step along its lifecycle (or cancel it); an ending state frees its units.

    Cancelling or closing needs a `disposition` from the catalog (UnknownDispositionError names the valid
    ones); other moves ignore it.
    """
    with w.transaction() as session:
        incident = load_incident(session, incident_id)
        target = parse_state(to, field="to")
        check_version(incident, version)
        if target is IncidentState.BARU and incident.lon is None:
            raise NeedsLocationError(incident)
        if target in NEEDS_DISPOSITION:
            if catalog is None:
                raise ValueError("a catalog is needed to end a call")
            incident.disposition = catalog.disposition(disposition).code
        before = audit_snapshot(incident)
        was = incident.status
        transition(session, incident, target, actor=w.actor, version=version, note=note)
        _release_if_ended(w, session, incident, was=was)
        return _announce(
            w, session, incident, action="incident.transition", before=before,
            changed=["status", "disposition"] if target in NEEDS_DISPOSITION else ["status"],
            after_extra={"note": note},
        )


def add_note(w: Writer, incident_id: int, *, text: str) -> StoredIncident:
    """Append a line to the call log (any state, no version check: a note never conflicts), audited and announced."""
    with w.transaction() as session:
        incident = load_incident(session, incident_id)
        note = IncidentNote(incident_id=incident.id, at=utcnow(), actor=w.actor, text=text)
        session.add(note)
        session.flush()
        w.audit(session, action="incident.note", entity="incident", entity_id=incident.id, before=None,
                after={"note_id": note.id, "text": text, "at": note.at.isoformat()})
        w.publish(session, "incident.updated", incident_event(incident, ["notes"]))
        session.expire(incident, ["notes"])
        result = stored_incident(session, incident)
        session.commit()
        return result


def claim(w: Writer, incident_id: int, *, let_go: bool = False) -> StoredIncident:
    """This operator takes the call ("ditangani: <operator>"), or lets it go (`let_go`); audited and announced.

    Taking a call someone else holds moves it to this operator (a shift lead may hand calls over): the
    audit keeps who had it. Written without a version bump, so taking a call never makes another
    operator's edit in progress stale.
    """
    with w.transaction() as session:
        incident = load_incident(session, incident_id)
        before = audit_snapshot(incident)
        session.execute(
            sql_update(Incident.__table__)
            .where(Incident.__table__.c.id == incident.id)
            .values(claimed_by=None if let_go else w.actor, claimed_at=None if let_go else utcnow())
        )
        session.expire(incident, ["claimed_by", "claimed_at"])
        return _announce(w, session, incident, action="incident.release" if let_go else "incident.claim",
                         before=before, changed=["claimed"])


def merge(w: Writer, keep_id: int, *, duplicate_id: int, duplicate_version: int | None = None) -> StoredIncident:
    """Cancel `duplicate_id` as merged into `keep_id` (both keep their history); the duplicate's units are freed."""
    with w.transaction() as session:
        keep = load_incident(session, keep_id)
        duplicate = load_incident(session, duplicate_id, field="duplicate_id")
        before_keep, before_dup = audit_snapshot(keep), audit_snapshot(duplicate)
        was = duplicate.status
        duplicate.disposition = "duplikat"  # written with the merge's own change of state
        merge_incidents(session, keep=keep, duplicate=duplicate, actor=w.actor, version=duplicate_version)
        _release_if_ended(w, session, duplicate, was=was)
        link = {"kept_id": keep.id, "duplicate_id": duplicate.id}
        for inc, before, action in ((keep, before_keep, "incident.merge"), (duplicate, before_dup, "incident.merged")):
            w.audit(session, action=action, entity="incident", entity_id=inc.id, before=before,
                    after=audit_snapshot(inc) | link)
        w.publish(session, "incident.updated", incident_event(keep, ["merged_from"]))
        w.publish(session, "incident.updated", incident_event(duplicate, ["status", "merged_into"]))
        result = stored_incident(session, keep)
        session.commit()
        return result


def stored_incident(session: Session, incident: Incident) -> StoredIncident:
    """The incident as it now stands, with its history, merges, assignments and agency contacts."""
    stored = _stored_incident(session, incident)
    return replace(stored, units=units_on_calls(session, [incident.id])[incident.id])


def _release_if_ended(w: Writer, session: Session, incident: Incident, *, was: str) -> None:
    """Free the incident's units when it has just ended (entered selesai, ditutup or batal)."""
    if incident.status in RELEASING_STATES and was not in RELEASING_STATES:
        release(w, session, incident)


def _announce(
    w: Writer,
    session: Session,
    incident: Incident,
    *,
    action: str,
    before: dict[str, Any],
    changed: list[str],
    after_extra: dict[str, Any] | None = None,
) -> StoredIncident:
    """Audit the change, announce it, commit; the incident as it now stands."""
    w.audit(session, action=action, entity="incident", entity_id=incident.id, before=before,
            after=audit_snapshot(incident) | (after_extra or {}))
    w.publish(session, "incident.updated", incident_event(incident, changed))
    result = stored_incident(session, incident)
    session.commit()
    return result
