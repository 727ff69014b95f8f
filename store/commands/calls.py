"""Call desk commands: record and type a call, note a call back, flag a number, take the PBX's events.

Each runs in one transaction of its :class:`~store.commands.Writer` (audit where a person decided something,
``call.*`` events, commit). PBX events are kept once each (a duplicate is recognised by its key) and the call
is recomputed from all the events of its PBX call id, so the same events in any order, sent any number of
times, give the same call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from geo.aml import parse_aml
from geo.errors import Conflict, InvalidInput, NotFound
from geo.phones import is_emergency_number, normalise
from geo.times import iso_utc, utcnow
from store.accounts import AuditRecord
from store.calls import (
    CALL_TYPES,
    CALLBACK_OUTCOMES,
    CALLBACK_RETRY,
    CALLBACK_TYPES,
    CallerFlag,
    PhoneCall,
    PhoneExtension,
    TelephonyEvent,
    call_row,
    extension_user,
    load_call,
)
from store.commands.writer import Writer
from store.events import CHANNEL as EVENT_CHANNEL
from store.events import EventHub
from store.incidents import load_incident

__all__ = [
    "AML_WINDOW",
    "CallIn",
    "DeskCall",
    "PbxEvent",
    "aml_sms",
    "call_back",
    "flag_number",
    "record",
    "record_desk_calls",
    "set_extension",
    "telephony_event",
    "unflag",
    "update_call",
]

AML_WINDOW = timedelta(minutes=10)  # an AML SMS this close to a call from the same number belongs to it
PBX = "pbx"


@dataclass(frozen=True)
class CallIn:
    """A call an operator records at the desk (the number may be missing or unreadable: kept, never refused)."""

    type: str
    number: str | None = None
    line: str | None = None
    at: datetime | None = None
    duration_s: int | None = None
    incident_id: int | None = None
    related_call_id: int | None = None
    note: str | None = None


def _check_type(value: str, *, field: str = "type") -> str:
    if value not in CALL_TYPES:
        raise InvalidInput(
            f"Jenis panggilan tidak dikenal: {value} ({', '.join(CALL_TYPES)})",
            f"Unknown call type: {value} ({', '.join(CALL_TYPES)})",
            field=field,
        )
    return value


def _event(call: PhoneCall | SimpleNamespace, changed: list[str]) -> dict[str, Any]:
    """The payload of call.* events: ids and what the desk lists show, never a document."""
    return {
        "id": call.id, "type": call.type, "state": call.state, "operator": call.operator,
        "caller_number": call.caller_number, "callback_status": call.callback_status,
        "incident_id": call.incident_id, "changed": changed,
    }


_AUDITED = ("type", "caller_number", "incident_id", "related_call_id", "note", "callback_status", "callback_outcome",
            "operator", "line")


def _audit(call: PhoneCall | SimpleNamespace) -> dict[str, Any]:
    return {k: getattr(call, k) for k in _AUDITED}


def _callback_for(call: PhoneCall) -> None:
    """A missed or silent call waits for a call back; any other type leaves the list (unless already called)."""
    if call.type in CALLBACK_TYPES:
        if call.callback_status is None:
            call.callback_status = "perlu"
    elif call.callback_status == "perlu" and call.callback_attempts == 0:
        call.callback_status = None


_INSERT_CALL = insert(PhoneCall.__table__).returning(PhoneCall.__table__.c.id, sort_by_parameter_order=True)
_INSERT_AUDIT = insert(AuditRecord.__table__)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


@dataclass(frozen=True)
class DeskCall:
    """A desk call as queued for the group-commit writer: what was taken, by whom, from where."""

    call: CallIn
    actor: str | None
    client: str | None = None


def _desk_row(item: DeskCall, now: datetime) -> dict[str, Any]:
    call_in = item.call
    _check_type(call_in.type)
    phone = normalise(call_in.number)
    at = call_in.at or now
    return {
        "at": at, "answered_at": at, "ended_at": None, "caller_raw": phone.raw, "caller_number": phone.number,
        "number_ok": phone.ok, "line": call_in.line, "operator": item.actor, "extension": None,
        "duration_s": call_in.duration_s, "type": call_in.type, "typed_by": item.actor,
        "incident_id": call_in.incident_id, "related_call_id": call_in.related_call_id, "note": call_in.note,
        "state": "selesai", "source": "desk", "pbx_call_id": None,
        "callback_status": "perlu" if call_in.type in CALLBACK_TYPES else None, "callback_attempts": 0,
        "callback_by": None, "callback_at": None, "callback_outcome": None, "callback_note": None, "lon": None,
        "lat": None, "accuracy_m": None, "location_source": None, "location_at": None, "created_by": item.actor,
        "updated_at": now,
    }


def record_desk_calls(session: Session, items: Sequence[DeskCall], *, hub: EventHub) -> list[dict[str, Any]]:
    """Store desk calls, each with its audit entry and `call.created` event, in one transaction (committed).

    Core multi-row inserts, not an ORM flush: this is the desk's most frequent write (most calls are not
    emergencies), and under a surge the group-commit writer hands over every call that queued meanwhile.
    """
    now = utcnow()
    rows = [_desk_row(item, now) for item in items]
    for item in items:
        if item.call.incident_id is not None:
            load_incident(session, item.call.incident_id, field="incident_id")
        if item.call.related_call_id is not None:
            load_call(session, item.call.related_call_id, field="related_call_id")
    conn = session.connection()
    ids = conn.execute(_INSERT_CALL, rows).scalars().all()
    calls = []
    for row, call_id in zip(rows, ids, strict=True):
        row["id"] = call_id
        calls.append(SimpleNamespace(**row))
    conn.execute(_INSERT_AUDIT, [
        {"at": now, "actor": item.actor, "action": "call.create", "entity": "call", "entity_id": str(call.id),
         "before": None, "after": _audit(call), "client": item.client}
        for item, call in zip(items, calls, strict=True)
    ])
    if hub.postgres:
        # One pipelined round trip for the batch's NOTIFYs, not one per call.
        conn.execute(_NOTIFY, [{"channel": EVENT_CHANNEL, "payload": hub.notify_payload("call.created", _event(
            call, ["created"]))} for call in calls])
    else:
        for call in calls:
            hub.publish(session, "call.created", _event(call, ["created"]))
    session.commit()
    return rows


def record(w: Writer, call_in: CallIn) -> dict[str, Any]:
    """Record one call taken at the desk by the writer's actor, in a transaction of its own."""
    with w.transaction() as session:
        return record_desk_calls(session, [DeskCall(call_in, w.actor, w.client)], hub=w.hub)[0]


_UNSET: Any = object()


def update_call(
    w: Writer,
    call_id: int,
    *,
    type: str | None = _UNSET,  # noqa: A002 - the field's name
    incident_id: int | None = _UNSET,
    related_call_id: int | None = _UNSET,
    note: str | None = _UNSET,
) -> dict[str, Any]:
    """Type a call, link it to an incident or an earlier call, note something (only the fields given)."""
    with w.transaction() as session:
        call = load_call(session, call_id, lock=True)
        before = _audit(call)
        changed: list[str] = []
        if type is not _UNSET and type is not None and type != call.type:
            call.type = _check_type(type)
            call.typed_by = w.actor
            _callback_for(call)
            changed.append("type")
        if incident_id is not _UNSET and incident_id != call.incident_id:
            if incident_id is not None:
                load_incident(session, incident_id, field="incident_id")
            call.incident_id = incident_id
            changed.append("incident_id")
        if related_call_id is not _UNSET and related_call_id != call.related_call_id:
            if related_call_id is not None:
                if related_call_id == call.id:
                    raise InvalidInput("Panggilan tidak bisa merujuk dirinya sendiri",
                                       "A call cannot follow up itself", field="related_call_id")
                load_call(session, related_call_id, field="related_call_id")
            call.related_call_id = related_call_id
            changed.append("related_call_id")
        if note is not _UNSET and note != call.note:
            call.note = note
            changed.append("note")
        if changed:
            call.updated_at = utcnow()
            if call.operator is None:
                call.operator = w.actor
            session.flush()
            w.audit(session, action="call.update", entity="call", entity_id=call.id, before=before, after=_audit(call))
            w.publish(session, "call.updated", _event(call, changed))
        out = call_row(call)
        session.commit()
        return out


def call_back(w: Writer, call_id: int, *, outcome: str, note: str | None = None,
              incident_id: int | None = None) -> dict[str, Any]:
    """Note a call back to a missed or silent call: who, when, what came of it (no answer: it stays listed)."""
    if outcome not in CALLBACK_OUTCOMES:
        raise InvalidInput(
            f"Hasil panggilan balik tidak dikenal: {outcome} ({', '.join(CALLBACK_OUTCOMES)})",
            f"Unknown callback outcome: {outcome} ({', '.join(CALLBACK_OUTCOMES)})",
            field="outcome",
        )
    with w.transaction() as session:
        call = load_call(session, call_id, lock=True)
        if call.callback_status is None:
            raise Conflict(
                "Panggilan ini tidak ada di daftar panggilan balik",
                "This call is not on the callback list",
                field="id",
                type=call.type,
            )
        if incident_id is not None:
            load_incident(session, incident_id, field="incident_id")
            call.incident_id = incident_id
        before = _audit(call)
        now = utcnow()
        call.callback_attempts = (call.callback_attempts or 0) + 1
        call.callback_by, call.callback_at = w.actor, now
        call.callback_outcome, call.callback_note = outcome, note
        call.callback_status = "perlu" if outcome in CALLBACK_RETRY else "selesai"
        call.updated_at = now
        session.flush()
        w.audit(session, action="call.callback", entity="call", entity_id=call.id, before=before, after=_audit(call))
        w.publish(session, "call.updated", _event(call, ["callback"]))
        out = call_row(call)
        session.commit()
        return out


class EmergencyNumberFlagError(InvalidInput):
    """The emergency short numbers (112, 110, 113, 118, 119) are never flagged."""

    def __init__(self, number: str) -> None:
        super().__init__(
            f"Nomor darurat {number} tidak boleh ditandai",
            f"The emergency number {number} cannot be flagged",
            field="number",
        )


def flag_number(w: Writer, *, number: str, reason: str, expires_at: datetime | None) -> dict[str, Any]:
    """Flag a number (frequent prank caller...) with a reason and an optional expiry; audited. Never blocks."""
    if is_emergency_number(number):
        raise EmergencyNumberFlagError(number)
    key = normalise(number).number
    if not key:
        raise InvalidInput("Nomor kosong; tulis nomor yang ditandai", "Empty number; give the number to flag",
                           field="number")
    if not reason.strip():
        raise InvalidInput("Alasan wajib diisi", "A reason is required", field="reason")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("Masa berlaku harus di masa depan", "The expiry must be in the future", field="expires_at")
    with w.transaction() as session:
        flag = CallerFlag(number=key, reason=reason.strip(), expires_at=expires_at, created_by=w.actor,
                          created_at=now)
        session.add(flag)
        session.flush()
        after = {"number": key, "reason": flag.reason, "expires_at": iso_utc(expires_at)}
        w.audit(session, action="caller.flag", entity="caller", entity_id=key, after=after)
        w.publish(session, "caller.flagged", {"number": key, "flag_id": flag.id})
        out = flag_row(flag)
        session.commit()
        return out


def unflag(w: Writer, flag_id: int) -> dict[str, Any]:
    """Revoke a flag (audited)."""
    with w.transaction() as session:
        flag = session.get(CallerFlag, flag_id)
        if flag is None:
            raise NotFound(f"Tanda {flag_id} tidak ditemukan", f"Flag {flag_id} not found", field="flag_id")
        if flag.revoked_at is None:
            flag.revoked_at, flag.revoked_by = utcnow(), w.actor
            session.flush()
            w.audit(session, action="caller.unflag", entity="caller", entity_id=flag.number,
                    before={"flag_id": flag.id, "reason": flag.reason}, after={"revoked": True})
            w.publish(session, "caller.flagged", {"number": flag.number, "flag_id": flag.id, "revoked": True})
        out = flag_row(flag)
        session.commit()
        return out


def flag_row(flag: CallerFlag) -> dict[str, Any]:
    """A flag as a plain dict."""
    return {
        "id": flag.id, "number": flag.number, "reason": flag.reason, "expires_at": flag.expires_at,
        "created_by": flag.created_by, "created_at": flag.created_at, "revoked_at": flag.revoked_at,
        "revoked_by": flag.revoked_by,
    }


def set_extension(w: Writer, *, extension: str, username: str | None) -> dict[str, Any] | None:
    """Seat an operator at a PBX extension (None frees it); audited."""
    with w.transaction() as session:
        row = session.get(PhoneExtension, extension)
        before = {"username": row.username} if row else None
        if username is None:
            if row is not None:
                session.delete(row)
            out = None
        else:
            if row is None:
                row = PhoneExtension(extension=extension, username=username, updated_at=utcnow())
                session.add(row)
            row.username, row.updated_at = username, utcnow()
            out = {"extension": extension, "username": username, "updated_at": row.updated_at}
        session.flush()
        w.audit(session, action="extension.set", entity="extension", entity_id=extension, before=before,
                after={"username": username})
        session.commit()
        return out


# -- the PBX ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PbxEvent:
    """One event from the phone system about one of its calls."""

    kind: str  # ringing, answered, transfer, hangup
    call_id: str
    at: datetime
    number: str | None = None
    line: str | None = None
    extension: str | None = None
    operator: str | None = None  # when the PBX knows the username itself


def _key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _insert_once(session: Session, row: dict[str, Any]) -> int | None:
    """Insert a telephony event unless one with its key is stored; its id, or None for a duplicate."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(TelephonyEvent.__table__).values(**row).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    ).returning(TelephonyEvent.__table__.c.id)
    return session.execute(stmt).scalar()


def _serialise(session: Session, key: str) -> None:
    """One writer at a time per PBX call (PostgreSQL: an advisory lock; SQLite serialises writers anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "sigap-call:" + key})


def telephony_event(w: Writer, ev: PbxEvent) -> dict[str, Any]:
    """Store one PBX event (once) and recompute its call; 'duplicate', 'orphan', the call and a pop if any."""
    phone = normalise(ev.number)
    now = utcnow()
    with w.transaction() as session:
        _serialise(session, ev.call_id)
        event_id = _insert_once(session, {
            "dedupe_key": _key(ev.call_id, ev.kind, iso_utc(ev.at), ev.extension or ""),
            "pbx_call_id": ev.call_id, "kind": ev.kind, "at": ev.at, "caller_raw": phone.raw,
            "caller_number": phone.number, "line": ev.line, "extension": ev.extension, "orphan": True,
            "call_id": None, "payload": {"operator": ev.operator} if ev.operator else None, "received_at": now,
        })
        call = session.scalar(select(PhoneCall).where(PhoneCall.pbx_call_id == ev.call_id).with_for_update())
        if call is None and ev.kind == "hangup":
            session.commit()  # a hang-up for a call we never heard ring: kept as an orphan event
            return {"duplicate": event_id is None, "orphan": True, "call": None, "popped": None}
        created = call is None
        if call is None:
            call = PhoneCall(pbx_call_id=ev.call_id, at=ev.at, source="pbx", state="berdering", number_ok=False,
                             callback_attempts=0, updated_at=now, created_by=PBX)
            session.add(call)
            session.flush()
        before = call_row(call)
        _fold(session, call)
        changed = [k for k, v in call_row(call).items() if before.get(k) != v and k != "updated_at"]
        popped = None
        if created or changed:
            call.updated_at = now
            session.flush()
            w.publish(session, "call.created" if created else "call.updated", _event(call, changed or ["created"]))
            if call.operator and call.operator != before.get("operator"):
                popped = {"call_id": call.id, "operator": call.operator, "extension": call.extension,
                          "caller_number": call.caller_number, "number_ok": call.number_ok, "line": call.line}
                w.publish(session, "call.popped", popped)
        out = call_row(call)
        session.commit()
        return {"duplicate": event_id is None, "orphan": False, "call": out, "popped": popped}


def _fold(session: Session, call: PhoneCall) -> None:
    """Recompute a PBX call from every event of its call id (the order they arrived in does not matter)."""
    t = TelephonyEvent.__table__.c
    events = session.execute(
        select(t.id, t.kind, t.at, t.caller_raw, t.caller_number, t.line, t.extension, t.payload)
        .where(t.pbx_call_id == call.pbx_call_id)
    ).all()
    session.execute(update(TelephonyEvent.__table__).where(t.pbx_call_id == call.pbx_call_id, t.orphan.is_(True))
                    .values(orphan=False, call_id=call.id))
    order = sorted(events, key=lambda e: (e.at, e.kind, e.extension or ""))
    rings = [e for e in order if e.kind == "ringing"]
    answers = [e for e in order if e.kind in ("answered", "transfer")]
    hangups = [e for e in order if e.kind == "hangup"]
    call.at = (rings or order)[0].at
    with_number = [e for e in order if e.caller_raw]
    if with_number:
        phone = normalise(with_number[0].caller_raw)
        call.caller_raw, call.caller_number, call.number_ok = phone.raw, phone.number, phone.ok
    with_line = [e for e in order if e.line]
    call.line = with_line[0].line if with_line else None
    if answers:
        last = answers[-1]
        call.answered_at = answers[0].at
        call.extension = last.extension
        call.operator = extension_user(session, last.extension) or (last.payload or {}).get("operator")
    else:
        call.answered_at = call.extension = call.operator = None
    call.ended_at = hangups[-1].at if hangups else None
    call.state = "selesai" if hangups else "dijawab" if answers else "berdering"
    call.duration_s = (
        max(0, round((call.ended_at - call.answered_at).total_seconds()))
        if call.ended_at and call.answered_at else None
    )
    auto = call.type is None or call.typed_by == PBX
    if auto:
        if hangups and not answers:
            call.type, call.typed_by = "tak_terjawab", PBX
        else:
            call.type = call.typed_by = None
        _callback_for(call)
    _attach_waiting_aml(session, call)


def _attach_waiting_aml(session: Session, call: PhoneCall) -> None:
    """An AML SMS that arrived before its call (within AML_WINDOW) gives the call its location."""
    if call.lon is not None or not call.caller_number:
        return
    t = TelephonyEvent.__table__.c
    found = session.execute(
        select(t.id, t.at, t.payload).where(
            t.kind == "aml", t.caller_number == call.caller_number, t.orphan.is_(True),
            t.at >= call.at - AML_WINDOW, t.at <= call.at + AML_WINDOW,
        ).order_by(t.at.desc()).limit(1)
    ).first()
    if found and (found.payload or {}).get("lon") is not None:
        _locate(call, found.payload, found.at)
        session.execute(update(TelephonyEvent.__table__).where(t.id == found.id).values(orphan=False, call_id=call.id))


def _locate(call: PhoneCall, fix: dict[str, Any], at: datetime) -> None:
    call.lon, call.lat, call.accuracy_m = fix["lon"], fix["lat"], fix.get("radius_m")
    call.location_source, call.location_at = "aml", at


def aml_sms(w: Writer, *, number: str | None, text_: str, at: datetime) -> dict[str, Any]:
    """An AML SMS from `number`: its fix goes to that number's call within AML_WINDOW (else kept waiting)."""
    aml = parse_aml(text_, field="text")
    phone = normalise(number)
    fix = {"lon": aml.lon, "lat": aml.lat, "radius_m": aml.radius_m, "method": aml.method}
    now = utcnow()
    with w.transaction() as session:
        event_id = _insert_once(session, {
            "dedupe_key": _key("aml", phone.number, aml.raw), "pbx_call_id": None, "kind": "aml", "at": at,
            "caller_raw": phone.raw, "caller_number": phone.number, "line": None, "extension": None, "orphan": True,
            "call_id": None, "payload": fix, "received_at": now,
        })
        call = None
        if event_id is not None and aml.has_location and phone.number:
            call = session.scalar(
                select(PhoneCall).where(
                    PhoneCall.caller_number == phone.number,
                    PhoneCall.at >= at - AML_WINDOW, PhoneCall.at <= at + AML_WINDOW,
                ).order_by(PhoneCall.at.desc()).limit(1).with_for_update()
            )
            if call is not None:
                _locate(call, fix, at)
                call.updated_at = now
                session.execute(update(TelephonyEvent.__table__).where(TelephonyEvent.id == event_id)
                                .values(orphan=False, call_id=call.id))
                session.flush()
                w.publish(session, "call.updated", _event(call, ["location"]))
        out = call_row(call) if call is not None else None
        session.commit()
        return {"duplicate": event_id is None, "orphan": call is None, "call": out,
                "has_location": aml.has_location}
