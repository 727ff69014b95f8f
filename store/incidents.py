"""Incidents (calls to 112) and their recorded state transitions, with the queries the API needs.

Every write here runs in the caller's transaction: the route adds its audit record and event and
commits once, so a call, its first transition, its audit entry and its announcement stand or fall
together. Concurrent edits are caught by the ``version`` column (SQLAlchemy ``version_id_col``): an
UPDATE carries ``WHERE version = :seen`` and a stale writer gets :class:`StaleVersionError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, make_transient_to_detached, mapped_column, relationship
from sqlalchemy.orm.exc import StaleDataError

from geo.crs import UTM50S, WGS84, transformer
from store.accounts import AuditRecord, JSONType, utcnow
from store.events import EventHub
from store.lifecycle import (
    OPEN_STATES,
    IncidentState,
    check_transition,
    initial_state,
    parse_state,
    response_intervals,
)
from store.models import Base

__all__ = [
    "DUPLICATE_MINUTES",
    "DUPLICATE_RADIUS_M",
    "WIB",
    "Call",
    "Incident",
    "IncidentFilter",
    "IncidentRecord",
    "IncidentTransition",
    "StaleVersionError",
    "audit_snapshot",
    "create_incident",
    "find_duplicates",
    "format_wib",
    "intervals_of",
    "list_incidents",
    "merge_incidents",
    "record_call",
    "set_location",
    "transition",
]

WIB = ZoneInfo("Asia/Jakarta")
DUPLICATE_RADIUS_M = 500.0
DUPLICATE_MINUTES = 30.0
# Half a kilometre is under 0.0046 degrees of latitude; the longitude margin is widened by 1/cos(lat)
# in `find_duplicates`. The exact test is metric (UTM 50S), this only bounds the rows fetched.
_DEG_PER_M = 1.0 / 110_574.0
OPEN_CODES = tuple(s.value for s in OPEN_STATES)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on both backends (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; SIGAP stores UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StaleVersionError(Exception):
    """Someone changed the incident since the caller read it (optimistic locking)."""

    def __init__(self, incident_id: int, seen: int | None, current: int | None) -> None:
        self.incident_id = incident_id
        self.seen = seen
        self.current = current
        super().__init__(f"incident {incident_id}: version {seen} is stale (now {current})")


class Incident(Base):
    """One call to 112: what, where (possibly not yet known), its state and routing."""

    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    caller_name: Mapped[str | None] = mapped_column(String(120))
    caller_phone: Mapped[str | None] = mapped_column(String(32))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    # Plain copies of the point: backend-neutral bbox and duplicate prefilters need no spatial SQL.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str | None] = mapped_column(String(16))
    location: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    desa_code: Mapped[str | None] = mapped_column(String(20), index=True)
    kecamatan_code: Mapped[str | None] = mapped_column(String(16), index=True)
    inside_regency: Mapped[bool | None] = mapped_column(Boolean)
    possible_duplicates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    created_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)

    transitions: Mapped[list[IncidentTransition]] = relationship(
        back_populates="incident", order_by="IncidentTransition.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_incident_category_created", "category", "created_at"),)


class IncidentTransition(Base):
    """A timestamped state an incident entered, who moved it and why (append-only history)."""

    __tablename__ = "incident_transition"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(1000))

    incident: Mapped[Incident] = relationship(back_populates="transitions")


class IncidentCounter(Base):
    """The last incident number handed out per WIB day (an upsert makes numbers unique under load)."""

    __tablename__ = "incident_counter"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)


def format_wib(at: datetime | None) -> str | None:
    """A UTC time as the operators read it: '29-11-2026 15:04 WIB'."""
    return None if at is None else at.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


_DRAW_NUMBER = text(
    "INSERT INTO incident_counter (day, seq) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET seq = incident_counter.seq + 1 RETURNING seq"
)


def _wib_day(at: datetime) -> str:
    return at.astimezone(WIB).strftime("%Y%m%d")


def _call_number(at: datetime, seq: int) -> str:
    return f"112-{_wib_day(at)}-{seq:04d}"


def next_number(conn: Session | Connection, *, at: datetime) -> str:
    """The next call number '112-YYYYMMDD-NNNN' of the WIB day of `at`, unique across workers.

    Drawn in the caller's transaction: PostgreSQL locks the counter row until commit and SQLite already
    serialises writers, so two calls can never draw the same number.
    """
    return _call_number(at, conn.execute(_DRAW_NUMBER, {"day": _wib_day(at)}).scalar_one())


def _point_wkt(lon: float, lat: float) -> str:
    return f"SRID=4326;POINT({lon!r} {lat!r})"


def set_location(
    incident: Incident,
    *,
    lon: float | None,
    lat: float | None,
    accuracy_m: float | None,
    source: str | None,
    location: dict[str, Any] | None,
) -> None:
    """Put the point and the locate answer on the incident (None for lon/lat clears the point)."""
    located = lon is not None and lat is not None
    incident.geom = _point_wkt(lon, lat) if located else None
    incident.accuracy_m = accuracy_m
    incident.location_source = source
    incident.location = location
    for name, value in _located_columns(lon=lon, lat=lat, location=location).items():
        setattr(incident, name, value)


def _located_columns(*, lon: float | None, lat: float | None, location: dict[str, Any] | None) -> dict[str, Any]:
    """The columns derived from a point and its locate answer (all None without a point)."""
    located = lon is not None and lat is not None
    answer = location or {}
    return {
        "lon": lon if located else None,
        "lat": lat if located else None,
        "desa_code": (answer.get("desa") or {}).get("code") if located else None,
        "kecamatan_code": (answer.get("kecamatan") or {}).get("code") if located else None,
        "inside_regency": bool(answer.get("inside_regency")) if located else None,
    }


# Built once: every call runs this on the hot path, and a prebuilt statement is compiled once and cached.
# Table columns (not ORM attributes) so the session runs it as plain Core, without ORM result handling.
_T = Incident.__table__.c
_DUPLICATE_QUERY = select(_T.id, _T.number, _T.lon, _T.lat, _T.created_at).where(
    _T.category == bindparam("category"),
    _T.status.in_(OPEN_CODES),
    _T.merged_into_id.is_(None),
    _T.created_at >= bindparam("t0", type_=UTCDateTime),
    _T.created_at <= bindparam("t1", type_=UTCDateTime),
    _T.lon.between(bindparam("x0"), bindparam("x1")),
    _T.lat.between(bindparam("y0"), bindparam("y1")),
    _T.id != bindparam("exclude"),
)


def find_duplicates(
    session: Session | Connection,
    *,
    category: str,
    lon: float,
    lat: float,
    at: datetime,
    exclude_id: int | None = None,
    radius_m: float = DUPLICATE_RADIUS_M,
    minutes: float = DUPLICATE_MINUTES,
) -> list[dict[str, Any]]:
    """Open incidents of the same category within `radius_m` and `minutes` of a point and time, nearest first."""
    dlat = radius_m * _DEG_PER_M * 1.01
    dlon = dlat / max(np.cos(np.radians(lat)), 1e-6)
    window = timedelta(minutes=minutes)
    params = {
        "category": category,
        "t0": at - window,
        "t1": at + window,
        "x0": lon - dlon,
        "x1": lon + dlon,
        "y0": lat - dlat,
        "y1": lat + dlat,
        "exclude": -1 if exclude_id is None else exclude_id,
    }
    rows = session.execute(_DUPLICATE_QUERY, params).all()
    if not rows:
        return []
    ids, numbers, lons, lats, times = zip(*rows, strict=True)
    to_utm = transformer(src=WGS84, dst=UTM50S)
    x, y = to_utm.transform(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
    x0, y0 = to_utm.transform(lon, lat)
    dist = np.hypot(np.asarray(x) - x0, np.asarray(y) - y0)
    apart = np.abs(np.array([(t - at).total_seconds() for t in times])) / 60.0
    keep = np.flatnonzero((dist <= radius_m) & (apart <= minutes))
    keep = keep[np.argsort(dist[keep], kind="stable")]
    return [
        {
            "id": int(ids[i]),
            "number": numbers[i],
            "distance_m": round(float(dist[i]), 1),
            "minutes_apart": round(float(apart[i]), 1),
        }
        for i in keep
    ]


# Prebuilt Core inserts for the intake hot path: one compiled statement each, no unit-of-work flush.
_INSERT_INCIDENT = insert(Incident.__table__).returning(Incident.__table__.c.id)
_INSERT_TRANSITION = insert(IncidentTransition.__table__).returning(IncidentTransition.__table__.c.id)
_INSERT_AUDIT = insert(AuditRecord.__table__)


@dataclass(frozen=True)
class Call:
    """What an operator records about a call: category, caller, and the point with its locate answer."""

    category: str
    actor: str | None
    description: str | None = None
    caller_name: str | None = None
    caller_phone: str | None = None
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    location_source: str | None = None
    location: dict[str, Any] | None = None

    @property
    def located(self) -> bool:
        """True when the call has a point."""
        return self.lon is not None and self.lat is not None


def _call_rows(call: Call, *, number: str, duplicates: list[dict[str, Any]], at: datetime) -> tuple[dict, dict]:
    """The incident row (with its geometry under 'geom') and its first transition row, without ids."""
    state = initial_state(has_location=call.located).value
    row = {
        "number": number,
        "category": call.category,
        "status": state,
        "description": call.description,
        "caller_name": call.caller_name,
        "caller_phone": call.caller_phone,
        "accuracy_m": call.accuracy_m,
        "location_source": call.location_source,
        "location": call.location,
        "possible_duplicates": duplicates,
        "created_by": call.actor,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "merged_into_id": None,
        **_located_columns(lon=call.lon, lat=call.lat, location=call.location),
        "geom": _point_wkt(call.lon, call.lat) if call.located else None,
    }
    step = {"incident_id": None, "from_status": None, "status": state, "at": at, "actor": call.actor, "note": None}
    return row, step


def _detached(row: dict[str, Any], step: dict[str, Any]) -> Incident:
    """The rows just written as a detached incident with its history, without reading them back.

    The geometry is left unloaded and is read from the database only if someone asks for it.
    """
    transition = IncidentTransition(**step)
    incident = Incident(**{k: v for k, v in row.items() if k != "geom"})
    incident.transitions = [transition]
    make_transient_to_detached(transition)
    make_transient_to_detached(incident)
    return incident


def _duplicates_of(conn: Session | Connection, call: Call, at: datetime) -> list[dict[str, Any]]:
    if not call.located:
        return []
    return find_duplicates(conn, category=call.category, lon=call.lon, lat=call.lat, at=at)


def _insert_call(conn: Session | Connection, call: Call, *, at: datetime) -> tuple[dict, dict]:
    """Number, duplicates, incident and first transition written in the caller's transaction; the rows with ids."""
    # Duplicates before the draw: on PostgreSQL the counter row stays locked from the draw to commit.
    duplicates = _duplicates_of(conn, call, at)
    row, step = _call_rows(call, number=next_number(conn, at=at), duplicates=duplicates, at=at)
    # Core INSERT ... RETURNING instead of an ORM flush: the unit of work costs more than the SQL here.
    row["id"] = step["incident_id"] = conn.execute(_INSERT_INCIDENT, row).scalar_one()
    step["id"] = conn.execute(_INSERT_TRANSITION, step).scalar_one()
    return row, step


def create_incident(
    session: Session,
    *,
    category: str,
    actor: str | None,
    description: str | None = None,
    caller_name: str | None = None,
    caller_phone: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    accuracy_m: float | None = None,
    location_source: str | None = None,
    location: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Incident:
    """Record a call in the session's transaction: baru when located, perlu_lokasi otherwise; flags duplicates."""
    call = Call(category, actor, description, caller_name, caller_phone, lon, lat, accuracy_m, location_source,
                location)
    row, step = _insert_call(session.connection(), call, at=at or utcnow())
    # Later edits in this session (transition, merge) see a normal persistent incident.
    incident = _detached(row, step)
    session.add(incident)
    return incident


def audit_snapshot(incident: Incident | IncidentRecord) -> dict[str, Any]:
    """What the audit log keeps of an incident (not the whole locate answer)."""
    return {
        "number": incident.number,
        "category": incident.category,
        "status": incident.status,
        "description": incident.description,
        "caller_name": incident.caller_name,
        "caller_phone": incident.caller_phone,
        "lon": incident.lon,
        "lat": incident.lat,
        "accuracy_m": incident.accuracy_m,
        "location_source": incident.location_source,
        "desa_code": incident.desa_code,
        "merged_into_id": incident.merged_into_id,
        "version": incident.version,
    }


def _audit_row(incident: Incident | IncidentRecord, *, client: str | None) -> dict[str, Any]:
    return {
        "at": utcnow(),
        "actor": incident.created_by,
        "action": "incident.create",
        "entity": "incident",
        "entity_id": str(incident.id),
        "before": None,
        "after": audit_snapshot(incident),
        "client": client,
    }


# The day's call number and the incident and transition ids in one autocommitted statement. Its commit
# need not wait for the disk: the WAL is flushed in order, so the draw is on disk before any incident
# carrying its number can be (set_config(..., true) lasts for this statement's transaction only).
_DRAW_CALL = text(
    f"WITH drawn AS ({_DRAW_NUMBER.text}) "
    "SELECT seq, nextval(pg_get_serial_sequence('incident', 'id')), "
    "nextval(pg_get_serial_sequence('incident_transition', 'id')), "
    "set_config('synchronous_commit', 'off', true) FROM drawn"
)


def record_call(
    session: Session, *, call: Call, hub: EventHub, client: str | None, at: datetime | None = None
) -> IncidentRecord:
    """Store a call with its first transition, its audit record and its `incident.created` event, committed.

    All four are one transaction. On PostgreSQL, when the session has no transaction open, that is three
    autocommitted statements on one connection: draw the number and ids, look for duplicates, then one
    statement writing incident, transition, audit record and NOTIFY; the counter row is then locked for
    one statement instead of the whole call, and a call that fails after its draw leaves a gap in the
    day's numbers. Elsewhere it is the same writes on the session's connection and a commit. Returns what
    was written, read back from nothing.
    """
    at = at or utcnow()
    if session.get_bind().dialect.name != "postgresql" or session.in_transaction():
        conn = session.connection()
        incident = _record(*_insert_call(conn, call, at=at))
        conn.execute(_INSERT_AUDIT, _audit_row(incident, client=client))
        hub.publish(session, "incident.created", incident_event(incident, ["created"]))
        session.commit()
        return incident
    # Eight round trips, each waiting for the GIL on a busy worker, become three.
    with session.get_bind().connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        seq, incident_id, step_id, _ = conn.execute(_DRAW_CALL, {"day": _wib_day(at)}).one()
        row, step = _call_rows(call, number=_call_number(at, seq), duplicates=_duplicates_of(conn, call, at), at=at)
        row["id"] = step["incident_id"] = incident_id
        step["id"] = step_id
        incident = _record(row, step)
        conn.execute(
            select(hub.notify_clause("incident.created", incident_event(incident, ["created"]))).add_cte(
                insert(Incident.__table__).values(row).cte("new_incident"),
                insert(IncidentTransition.__table__).values(step).cte("new_step"),
                insert(AuditRecord.__table__).values(_audit_row(incident, client=client)).cte("new_audit"),
            )
        )
    return incident


def _record(row: dict[str, Any], step: dict[str, Any]) -> IncidentRecord:
    return IncidentRecord(**{k: v for k, v in row.items() if k != "geom"}, transitions=[SimpleNamespace(**step)])


def check_version(incident: Incident, version: int | None) -> None:
    """Raise StaleVersionError when the caller's version is not the stored one (None skips the check)."""
    if version is not None and version != incident.version:
        raise StaleVersionError(incident.id, version, incident.version)


def flush_checked(session: Session, incident: Incident, *, seen: int | None) -> None:
    """Flush, turning SQLAlchemy's lost-update detection into StaleVersionError."""
    # Read the id first: after a failed flush the session refuses to load anything.
    incident_id = incident.id
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersionError(incident_id, seen, None) from None


def transition(
    session: Session,
    incident: Incident,
    to: str | IncidentState,
    *,
    actor: str | None,
    version: int | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> IncidentTransition:
    """Move an incident to `to` (IllegalTransitionError / StaleVersionError otherwise) and flush."""
    check_version(incident, version)
    seen = incident.version
    target = check_transition(incident.status, to)
    at = at or utcnow()
    step = IncidentTransition(from_status=incident.status, status=target.value, at=at, actor=actor, note=note)
    # Loading the history must not flush pending edits early: one change, one UPDATE, one version.
    with session.no_autoflush:
        incident.transitions.append(step)
    incident.status = target.value
    incident.updated_at = at
    flush_checked(session, incident, seen=seen)
    return step


def merge_incidents(
    session: Session,
    *,
    keep: Incident,
    duplicate: Incident,
    actor: str | None,
    version: int | None = None,
    at: datetime | None = None,
) -> None:
    """Fold `duplicate` into `keep`: the duplicate is cancelled with merged_into set, both histories stay."""
    if keep.id == duplicate.id:
        raise ValueError("Kejadian tidak bisa digabung dengan dirinya sendiri / cannot merge an incident into itself")
    if keep.merged_into_id is not None:
        raise ValueError(f"Kejadian {keep.number} sudah digabung ke kejadian lain / {keep.number} is itself merged")
    at = at or utcnow()
    transition(
        session,
        duplicate,
        IncidentState.BATAL,
        actor=actor,
        version=version,
        note=f"Digabung ke / merged into {keep.number}",
        at=at,
    )
    duplicate.merged_into_id = keep.id
    keep.updated_at = at
    flush_checked(session, duplicate, seen=duplicate.version)


def intervals_of(incident: Incident | IncidentRecord) -> dict[str, float | None]:
    """Response intervals (seconds) derived from the incident's recorded transitions."""
    iv = response_intervals((t.status, t.at) for t in incident.transitions)
    return {
        "call_to_dispatch_s": iv.call_to_dispatch_s,
        "dispatch_to_scene_s": iv.dispatch_to_scene_s,
        "call_to_resolved_s": iv.call_to_resolved_s,
    }


@dataclass(frozen=True)
class IncidentFilter:
    """List filters; every field is optional and they combine with AND."""

    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    kecamatan: tuple[str, ...] = ()
    desa: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None


class IncidentRecord(SimpleNamespace):
    """An incident read for display only: its columns (not the geometry) and transitions, oldest first.

    Lists build these from plain rows instead of tracked ORM objects, which cost several times more to
    load for a page that is only serialised.
    """


_RECORD_COLUMNS = tuple(c for c in Incident.__table__.c if c.name != "geom")
_TRANSITION_COLUMNS = tuple(c for c in IncidentTransition.__table__.c)


def list_incidents(
    session: Session, flt: IncidentFilter, *, limit: int = 100, offset: int = 0
) -> tuple[int, list[IncidentRecord]]:
    """The total matching and one page of incidents, newest first, with their transitions."""
    for s in flt.statuses:
        parse_state(s)
    conds = []
    if flt.statuses:
        conds.append(Incident.status.in_(flt.statuses))
    if flt.categories:
        conds.append(Incident.category.in_(flt.categories))
    if flt.kecamatan:
        conds.append(Incident.kecamatan_code.in_(flt.kecamatan))
    if flt.desa:
        conds.append(Incident.desa_code.in_(flt.desa))
    if flt.since is not None:
        conds.append(Incident.created_at >= flt.since)
    if flt.until is not None:
        conds.append(Incident.created_at < flt.until)
    if flt.bbox is not None:
        minx, miny, maxx, maxy = flt.bbox
        conds.append(Incident.lon.between(minx, maxx))
        conds.append(Incident.lat.between(miny, maxy))
    conn = session.connection()
    total = conn.execute(select(func.count()).select_from(Incident).where(*conds)).scalar() or 0
    rows = conn.execute(
        select(*_RECORD_COLUMNS)
        .where(*conds)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings().all()
    records = {row["id"]: IncidentRecord(**row, transitions=[]) for row in rows}
    if records:
        steps = conn.execute(
            select(*_TRANSITION_COLUMNS)
            .where(IncidentTransition.incident_id.in_(list(records)))
            .order_by(IncidentTransition.id)
        ).all()
        for step in steps:
            records[step.incident_id].transitions.append(step)
    return int(total), list(records.values())


def merged_from(session: Session, incident_id: int) -> list[int]:
    """Ids of the incidents merged into this one."""
    return list(session.scalars(select(Incident.id).where(Incident.merged_into_id == incident_id)))


def incident_event(incident: Incident | IncidentRecord, changed: list[str]) -> dict[str, Any]:
    """The payload of `incident.created` / `incident.updated` events: ids and what changed, not the document."""
    return {
        "id": incident.id,
        "number": incident.number,
        "status": incident.status,
        "category": incident.category,
        "lon": incident.lon,
        "lat": incident.lat,
        "version": incident.version,
        "changed": changed,
    }
