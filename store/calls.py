"""The call desk: every ring is a call (typed, timed, linked to its incident), flagged numbers, PBX events.

A call is separate from an incident: most calls to 112 are not emergencies (pranks, silent calls, wrong
numbers, requests for information). An emergency call (``darurat``) creates or joins an incident. Missed and
silent calls wait in a callback list until someone calls back and notes the outcome. Numbers are grouped
by their E.164 form (``geo.phones``); one that cannot be read is kept as received and flagged.

Writes (record, type, call back, flag, PBX events) are commands in ``store.commands.calls``; this module holds
the tables and the reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import InvalidInput, NotFound
from geo.phones import normalise
from store.incidents import Incident
from store.models import Base
from store.types import JSONType, UTCDateTime, db_time

__all__ = [
    "CALLBACK_OUTCOMES",
    "CALLBACK_STATUSES",
    "CALL_TYPES",
    "CallFilter",
    "CallNotFoundError",
    "CallerFlag",
    "CallerSummary",
    "PhoneCall",
    "PhoneExtension",
    "TelephonyEvent",
    "active_flag",
    "call_row",
    "caller_history",
    "callback_list",
    "list_calls",
    "load_call",
]

# darurat: creates or joins an incident; informasi: a request for information (non-emergency); iseng: prank;
# ghost: silent; salah_sambung: wrong number; panggilan_ulang: a follow-up about an earlier call; uji: a test;
# tak_terjawab: missed (rang, nobody answered): it goes to the callback list.
CALL_TYPES = ("darurat", "informasi", "iseng", "ghost", "salah_sambung", "panggilan_ulang", "uji", "tak_terjawab")
CALLBACK_TYPES = ("tak_terjawab", "ghost")
# perlu: still to call back; selesai: called back (the outcome says how it went).
CALLBACK_STATUSES = ("perlu", "selesai")
# What a call back found. tidak_diangkat and nomor_tidak_aktif leave the call in the list (tried, try again).
CALLBACK_OUTCOMES = ("tersambung", "darurat", "tidak_diangkat", "nomor_tidak_aktif", "salah_sambung", "iseng")
CALLBACK_RETRY = ("tidak_diangkat", "nomor_tidak_aktif")
CALL_STATES = ("berdering", "dijawab", "selesai")
CALL_SOURCES = ("desk", "pbx", "migrasi")
EVENT_KINDS = ("ringing", "answered", "transfer", "hangup", "aml")


def _in(column: str, values: tuple[str, ...], *, nullable: bool = False) -> str:
    listed = ",".join(f"'{v}'" for v in values)
    return f"{column} IS NULL OR {column} IN ({listed})" if nullable else f"{column} IN ({listed})"


class PhoneCall(Base):
    """One ring at the centre: when, from which number on which line, who answered, how long, what it was."""

    __tablename__ = "phone_call"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)  # when it rang
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    caller_raw: Mapped[str | None] = mapped_column(String(64))  # as received
    caller_number: Mapped[str | None] = mapped_column(String(64))  # E.164 when number_ok, else cleaned raw
    number_ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    line: Mapped[str | None] = mapped_column(String(32))  # trunk / line the call came in on
    operator: Mapped[str | None] = mapped_column(String(64), index=True)  # username who answered
    extension: Mapped[str | None] = mapped_column(String(16))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    type: Mapped[str | None] = mapped_column(String(16))  # None: answered, not typed yet
    typed_by: Mapped[str | None] = mapped_column(String(64))  # who set the type ('pbx' for a missed call)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    related_call_id: Mapped[int | None] = mapped_column(ForeignKey("phone_call.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(12), nullable=False)
    source: Mapped[str] = mapped_column(String(12), nullable=False)
    pbx_call_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    callback_status: Mapped[str | None] = mapped_column(String(12), index=True)
    callback_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    callback_by: Mapped[str | None] = mapped_column(String(64))
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    callback_outcome: Mapped[str | None] = mapped_column(String(20))
    callback_note: Mapped[str | None] = mapped_column(String(500))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str | None] = mapped_column(String(16))
    location_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        Index("ix_phone_call_caller_at", "caller_number", "at", "id"),
        # The incidents a number's calls created or joined: a bounded range scan, not all its calls.
        Index("ix_phone_call_caller_incident", "caller_number", "incident_id",
              postgresql_where=text("incident_id IS NOT NULL"), sqlite_where=text("incident_id IS NOT NULL")),
        CheckConstraint(_in("type", CALL_TYPES, nullable=True), name="ck_phone_call_type"),
        CheckConstraint(_in("state", CALL_STATES), name="ck_phone_call_state"),
        CheckConstraint(_in("source", CALL_SOURCES), name="ck_phone_call_source"),
        CheckConstraint(_in("callback_status", CALLBACK_STATUSES, nullable=True), name="ck_phone_call_callback"),
    )


class CallerSummary(Base):
    """A number's calls summed up (by type, first and last, last AML fix): kept by triggers on phone_call.

    Written by the database in the transaction that writes the call (migration 0035), never by Python: no
    path that stores a call can skip it. ``n_belum`` counts answered calls nobody typed yet.
    """

    __tablename__ = "caller_summary"
    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_belum: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_darurat: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_informasi: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_iseng: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_ghost: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_salah_sambung: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_panggilan_ulang: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_uji: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    n_tak_terjawab: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str | None] = mapped_column(String(16))
    location_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallerFlag(Base):
    """A supervisor's flag on a number (frequent prank caller...): shown to operators, never blocks a call."""

    __tablename__ = "caller_flag"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class TelephonyEvent(Base):
    """An event the PBX sent (ringing, answered, transfer, hangup) or an AML SMS, kept once (deduplicated)."""

    __tablename__ = "telephony_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    pbx_call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    caller_raw: Mapped[str | None] = mapped_column(String(64))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    line: Mapped[str | None] = mapped_column(String(32))
    extension: Mapped[str | None] = mapped_column(String(16))
    orphan: Mapped[bool] = mapped_column(Boolean, nullable=False)  # no call (yet) for its call id or number
    call_id: Mapped[int | None] = mapped_column(ForeignKey("phone_call.id"), index=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        Index("ix_telephony_event_caller_at", "caller_number", "at"),
        CheckConstraint(_in("kind", EVENT_KINDS), name="ck_telephony_event_kind"),
    )


class PhoneExtension(Base):
    """Which operator sits at a PBX extension: the one whose screen a call answered there pops on."""

    __tablename__ = "phone_extension"
    extension: Mapped[str] = mapped_column(String(16), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)



class CallNotFoundError(NotFound):
    """No call with this id."""

    def __init__(self, call_id: int, *, field: str = "id") -> None:
        super().__init__(f"Panggilan {call_id} tidak ditemukan", f"Call {call_id} not found", field=field)


def load_call(session: Session, call_id: int, *, lock: bool = False, field: str = "id") -> PhoneCall:
    """The call with this id (locked until commit on PostgreSQL when `lock`), or CallNotFoundError."""
    call = session.get(PhoneCall, call_id, with_for_update=lock or None)
    if call is None:
        raise CallNotFoundError(call_id, field=field)
    return call


_COLUMNS = tuple(PhoneCall.__table__.c)


def call_row(call: PhoneCall | Any) -> dict[str, Any]:
    """A call's columns as a plain dict (an ORM object or a row)."""
    if isinstance(call, PhoneCall):
        return {c.name: getattr(call, c.name) for c in _COLUMNS}
    return dict(call._mapping)


@dataclass(frozen=True)
class CallFilter:
    """List filters; every field is optional and they combine with AND."""

    types: tuple[str, ...] = ()
    number: str | None = None  # any writing of the number; compared by its normalised key
    operator: str | None = None
    line: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    incident_id: int | None = None
    untyped: bool = False  # only answered calls nobody typed yet
    callback: str | None = None  # 'perlu' or 'selesai'


def check_types(types: tuple[str, ...], *, field: str = "type") -> None:
    """Refuse unknown call types, naming the valid ones."""
    bad = [t for t in types if t not in CALL_TYPES]
    if bad:
        raise InvalidInput(
            f"Jenis panggilan tidak dikenal: {', '.join(bad)} ({', '.join(CALL_TYPES)})",
            f"Unknown call type: {', '.join(bad)} ({', '.join(CALL_TYPES)})",
            field=field,
        )


def list_calls(session: Session, flt: CallFilter, *, limit: int = 100, offset: int = 0) -> tuple[int, list[dict]]:
    """How many calls match, and one page of them, newest first."""
    check_types(flt.types)
    c = PhoneCall.__table__.c
    conds: list[ColumnElement[bool]] = []
    if flt.types:
        conds.append(c.type.in_(flt.types))
    if flt.untyped:
        conds.append(c.type.is_(None))
    if flt.number is not None:
        conds.append(c.caller_number == normalise(flt.number).number)
    if flt.operator is not None:
        conds.append(c.operator == flt.operator)
    if flt.line is not None:
        conds.append(c.line == flt.line)
    if flt.since is not None:
        conds.append(c.at >= db_time(flt.since))
    if flt.until is not None:
        conds.append(c.at < db_time(flt.until))
    if flt.incident_id is not None:
        conds.append(c.incident_id == flt.incident_id)
    if flt.callback is not None:
        conds.append(c.callback_status == flt.callback)
    conn = session.connection()
    total = conn.execute(select(func.count()).select_from(PhoneCall.__table__).where(*conds)).scalar() or 0
    rows = conn.execute(
        select(*_COLUMNS).where(*conds).order_by(c.at.desc(), c.id.desc()).limit(limit).offset(offset)
    ).all()
    return int(total), [call_row(r) for r in rows]


def _active_flag_ids(number: Any, at: datetime) -> Any:
    """SELECT of the newest active flag's id on `number` (a value or a bound column)."""
    c = CallerFlag.__table__.c
    return (
        select(c.id)
        .where(c.number == number, c.revoked_at.is_(None), or_(c.expires_at.is_(None), c.expires_at > db_time(at)))
        .order_by(c.id.desc())
        .limit(1)
    )


def active_flag(session: Session, number: str | None, *, at: datetime, flag_id: int | None = None) -> dict | None:
    """The newest flag on `number` (normalised key) not revoked and not expired at `at` (or flag `flag_id`)."""
    if not number:
        return None
    c = CallerFlag.__table__.c
    which = c.id == flag_id if flag_id is not None else c.id.in_(_active_flag_ids(number, at))
    row = session.connection().execute(select(*CallerFlag.__table__.c).where(which)).first()
    return None if row is None else dict(row._mapping)


HISTORY_CALLS = 10
_INCIDENT_COLUMNS = ("id", "number", "category", "status", "created_at", "lon", "lat", "desa_code")
_SUMMARY_COLUMNS = tuple(CallerSummary.__table__.c)
_FLAG_COLUMNS = tuple(CallerFlag.__table__.c)
_TYPE_COUNTS = tuple((t, f"n_{t}") for t in ("belum", *CALL_TYPES))


@cache
def _history_statements(recent: int) -> tuple[Any, Any, Any]:
    """The three reads of a number's history, each a bounded index read whatever the number's past.

    - the head: its summary row (primary key; kept by triggers) and its active flag, as one row (a number
      never heard before may be flagged too, by a supervisor ahead of its first call);
    - its newest `recent` calls: a backward range scan of (caller_number, at, id), in the order shown;
    - the incidents its calls created or joined: the newest `recent` entries of the partial index
      (caller_number, incident_id), then the incidents by key.

    Three small statements rather than one UNION ALL padded to the widest part: PostgreSQL planned that one
    in milliseconds whenever it was not a prepared statement yet (each pooled connection's first uses), which
    was the history's p99. Built once per `recent`; the number and the time are bound (``key``, ``now``).
    """
    key: Any = bindparam("key")
    at: Any = bindparam("now")
    # The limits are written into the SQL: a prepared statement's generic plan then knows how few rows are
    # wanted (a bound LIMIT is planned as "a tenth of the rows").
    one_row: Any = literal_column("1")
    n: Any = literal_column(str(int(recent)))
    c = PhoneCall.__table__.c
    i = Incident.__table__.c
    f = CallerFlag.__table__.c
    sm = CallerSummary.__table__.c
    flag_id = (select(f.id)
               .where(f.number == key, f.revoked_at.is_(None), or_(f.expires_at.is_(None), f.expires_at > at))
               .order_by(f.id.desc()).limit(one_row).scalar_subquery())  # as _active_flag_ids, the time bound later
    one = select(literal_column("1").label("one")).subquery("one")
    head = (select(*(col.label(f"s_{col.name}") for col in _SUMMARY_COLUMNS),
                   *(col.label(f"f_{col.name}") for col in _FLAG_COLUMNS))
            .select_from(one.outerjoin(CallerSummary.__table__, sm.number == key)
                         .outerjoin(CallerFlag.__table__, f.id == flag_id)))
    newest = select(*_COLUMNS).where(c.caller_number == key).order_by(c.at.desc(), c.id.desc()).limit(n)
    # Joined from the `recent` ids (a nested loop on the key), not `id IN (...)`: a semi join may hash the
    # whole incident table.
    linked = (select(c.incident_id.label("id")).where(c.caller_number == key, c.incident_id.is_not(None))
              .order_by(c.incident_id.desc()).limit(n).subquery("linked"))
    incidents = (select(*(i[name] for name in _INCIDENT_COLUMNS)).select_from(linked)
                 .join(Incident.__table__, i.id == linked.c.id).distinct())
    return head, newest, incidents


def caller_history(session: Session, raw: str, *, at: datetime, recent: int = HISTORY_CALLS) -> dict[str, Any]:
    """Everything the desk knows of a number: calls by type, prank count, incidents, last location, its flag.

    Three bounded index reads (``_history_statements``): the counts come from the number's summary row
    (``CallerSummary``), never from counting its calls.
    """
    phone = normalise(raw)
    key = phone.number
    counts: dict[str, int] = {}
    first = last = None
    fix: dict[str, Any] | None = None
    recent_rows: list[dict] = []
    incidents: list[dict] = []
    flag: dict[str, Any] | None = None
    if key:
        head_sql, newest_sql, incidents_sql = _history_statements(recent)
        params = {"key": key, "now": db_time(at)}
        conn = session.connection()
        head = conn.execute(head_sql, params).mappings().one()
        if head["s_number"] is not None:
            counts = {name: int(head[f"s_{column}"]) for name, column in _TYPE_COUNTS if head[f"s_{column}"]}
            first, last = head["s_first_at"], head["s_last_at"]
            if head["s_lon"] is not None and head["s_lat"] is not None:
                fix = {"lon": head["s_lon"], "lat": head["s_lat"], "at": head["s_location_at"],
                       "source": head["s_location_source"], "accuracy_m": head["s_accuracy_m"]}
        if head["f_id"] is not None:
            flag = {col.name: head[f"f_{col.name}"] for col in _FLAG_COLUMNS}
        if counts:
            recent_rows = [call_row(r) for r in conn.execute(newest_sql, {"key": key})]
            incidents = [dict(r._mapping) for r in conn.execute(incidents_sql, {"key": key})]
    incidents.sort(key=lambda r: r["id"], reverse=True)
    return {
        "number": key,
        "raw": phone.raw,
        "number_ok": phone.ok,
        "total": sum(counts.values()),
        "by_type": counts,
        "prank_count": counts.get("iseng", 0),
        "first_at": db_time(first) if first else None,
        "last_at": db_time(last) if last else None,
        "calls": recent_rows,
        "incidents": incidents,
        "last_location": _last_location(fix, incidents),
        "flag": flag,
    }


def _last_location(fix: dict[str, Any] | None, incidents: list[dict]) -> dict[str, Any] | None:
    """The newest place this number was located at: its last call's AML fix or a linked incident's point."""
    best = fix
    for inc in incidents:
        if inc["lon"] is not None and inc["lat"] is not None:
            at = db_time(inc["created_at"])
            if best is None or at > db_time(best["at"]):
                best = {"lon": inc["lon"], "lat": inc["lat"], "at": at, "source": "incident", "accuracy_m": None,
                        "incident_id": inc["id"]}
            break
    return best


def callback_list(session: Session, *, status: str = "perlu", limit: int = 100) -> list[dict]:
    """Missed and silent calls by callback status (oldest waiting first for 'perlu', newest first otherwise)."""
    c = PhoneCall.__table__.c
    order = (c.at.asc(), c.id.asc()) if status == "perlu" else (c.callback_at.desc(), c.id.desc())
    rows = session.connection().execute(
        select(*_COLUMNS).where(c.callback_status == status).order_by(*order).limit(limit)
    )
    return [call_row(r) for r in rows]


def extension_user(session: Session, extension: str | None) -> str | None:
    """The username seated at a PBX extension, or None."""
    if not extension:
        return None
    return session.scalar(select(PhoneExtension.username).where(PhoneExtension.extension == extension))


def list_extensions(session: Session) -> list[dict[str, Any]]:
    """Every extension and its operator."""
    rows = session.execute(select(PhoneExtension).order_by(PhoneExtension.extension)).scalars()
    return [{"extension": e.extension, "username": e.username, "updated_at": e.updated_at} for e in rows]


def count_by(session: Session, *, since: datetime, until: datetime) -> dict[str, int]:
    """Calls per type in [since, until) ('belum' for untyped)."""
    c = PhoneCall.__table__.c
    rows = session.execute(
        select(c.type, func.count()).where(c.at >= db_time(since), c.at < db_time(until)).group_by(c.type)
    )
    return {(t or "belum"): int(n) for t, n in rows}

