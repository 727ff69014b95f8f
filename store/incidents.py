"""Incidents (calls to 112) and their recorded state transitions, with the queries the API needs.

Every write here runs in the caller's transaction: the route adds its audit record and event and
commits once, so a call, its first transition, its audit entry and its announcement stand or fall
together. Concurrent edits are caught by the ``version`` column (SQLAlchemy ``version_id_col``): an
UPDATE carries ``WHERE version = :seen`` and a stale writer gets :class:`StaleVersionError`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import orjson
from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    column,
    event,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session, make_transient_to_detached, mapped_column, relationship
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.sqltypes import NULLTYPE
from sqlalchemy.sql.visitors import InternalTraversal

from geo.crs import UTM50S, WGS84, transformer
from geo.errors import Conflict, InvalidInput, NotFound
from geo.hexagons import cell_of, cells_around
from geo.phones import normalise
from geo.times import utcnow, wib_day_key
from store.accounts import AuditRecord, clip_client
from store.events import CHANNEL as EVENT_CHANNEL
from store.events import EventHub
from store.lifecycle import (
    OPEN_STATES,
    IncidentState,
    allowed_transitions,
    check_transition,
    initial_state,
    parse_state,
    response_intervals,
)
from store.models import Base
from store.types import JSONType, UTCDateTime

__all__ = [
    "AUDIT_FIELDS",
    "DUPLICATE_MINUTES",
    "DUPLICATE_RADIUS_M",
    "EVENT_FIELDS",
    "Call",
    "Incident",
    "IncidentFilter",
    "IncidentNote",
    "IncidentNotFoundError",
    "IncidentRecord",
    "IncidentTransition",
    "MergeIntoClosedError",
    "NeedsLocationError",
    "NotMergeableError",
    "SelfMergeError",
    "StaleVersionError",
    "StoredIncident",
    "audit_snapshot",
    "like_pattern",
    "number_condition",
    "phone_condition",
    "phone_digits",
    "create_incident",
    "find_duplicates",
    "intervals_of",
    "list_incidents",
    "load_incident",
    "merge_incidents",
    "merged_from",
    "read_incident",
    "record_call",
    "record_calls",
    "set_location",
    "stored_incident",
    "transition",
]

PRIORITIES = ("P1", "P2", "P3")
DEFAULT_PRIORITY = "P2"
DUPLICATE_RADIUS_M = 500.0
DUPLICATE_MINUTES = 30.0
# H3 resolution 8 cells have edges of about 0.5 km here: of the point's cell and the two rings around it, the
# 4 to 7 cells that reach back within 500 m hold every point that near, about 3.6 km² (resolution 7: 2 or 3
# cells, about 13 km²; resolution 9: about 16 keys an hour for 1.7 km²). With the category and the UTC hour
# they make the incident's duplicate key.
DUPLICATE_CELL_RES = 8
_KEY_HOUR = "%Y%m%d%H"
OPEN_CODES = tuple(s.value for s in OPEN_STATES)


class StaleVersionError(Conflict):
    """Someone changed the incident since the caller read it (optimistic locking); ``current`` when known."""

    def __init__(self, incident_id: int, seen: int | None, current: int | None) -> None:
        self.incident_id = incident_id
        self.seen = seen
        self.current = current
        super().__init__(
            f"Kejadian sudah diubah orang lain (versi {seen} sudah usang); muat ulang lalu ulangi",
            f"The incident was changed by someone else (version {seen} is stale); reload and retry",
            field="version",
            current_version=current,
        )


class IncidentNotFoundError(NotFound):
    """No incident with this id."""

    def __init__(self, incident_id: int, *, field: str = "id") -> None:
        self.incident_id = incident_id
        super().__init__(
            f"Kejadian {incident_id} tidak ditemukan", f"Incident {incident_id} not found", field=field
        )


class NeedsLocationError(Conflict):
    """The incident has no location yet: it cannot become baru, be ranked units for, or receive units."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(
            "Kejadian belum punya lokasi; tetapkan lokasinya dulu (PATCH location)",
            "The incident has no location yet; set it first (PATCH location)",
            field="location",
            status=incident.status,
        )


class SelfMergeError(InvalidInput, ValueError):
    """An incident named as its own duplicate."""

    def __init__(self) -> None:
        super().__init__(
            "Kejadian tidak bisa digabung dengan dirinya sendiri",
            "An incident cannot be merged into itself",
            field="duplicate_id",
        )


class MergeIntoClosedError(Conflict, ValueError):
    """The incident to keep is cancelled or itself merged: nothing can be folded into it."""

    def __init__(self, keep: Incident) -> None:
        super().__init__(
            f"Kejadian {keep.number} sudah batal/digabung; gabungkan ke kejadian yang masih berjalan",
            f"Incident {keep.number} is cancelled or merged; merge into an incident still in progress",
            field="id",
        )


class NotMergeableError(Conflict, ValueError):
    """The duplicate can no longer be cancelled (resolved, closed or already cancelled)."""

    def __init__(self, duplicate: Incident) -> None:
        allowed = allowed_transitions(duplicate.status)
        super().__init__(
            f"Kejadian {duplicate.number} berstatus '{duplicate.status}' dan tidak bisa dibatalkan/digabung",
            f"Incident {duplicate.number} is '{duplicate.status}' and cannot be cancelled/merged",
            field="duplicate_id",
            current=duplicate.status,
            allowed=[s.value for s in allowed],
        )


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
    # The caller's number as digits, national form (0812...): a phone search is a prefix range on this index.
    phone_digits: Mapped[str | None] = mapped_column(String(32), index=True)
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
    # Category, H3 cell and UTC hour (see `duplicate_key`): the duplicate search looks up exact values.
    duplicate_key: Mapped[str | None] = mapped_column(String(80), index=True)
    possible_duplicates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    created_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    # The call card (issue 16): P1 (life at risk now) to P3, proposed from the category; why it ended
    # (a catalog disposition, set when cancelled or closed); which operator has taken it.
    priority: Mapped[str] = mapped_column(String(2), nullable=False, server_default=DEFAULT_PRIORITY, index=True)
    disposition: Mapped[str | None] = mapped_column(String(40), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    transitions: Mapped[list[IncidentTransition]] = relationship(
        back_populates="incident", order_by="IncidentTransition.id", cascade="all, delete-orphan"
    )
    notes: Mapped[list[IncidentNote]] = relationship(
        back_populates="incident", order_by="IncidentNote.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_incident_category_created", "category", "created_at"),
        # History search by priority and disposition, newest first (migration 0024).
        Index("ix_incident_priority_disposition_created", "priority", "disposition", "created_at"),
    )


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


class IncidentNote(Base):
    """A line of the call log: what an operator wrote, when (append-only; a correction is a new note)."""

    __tablename__ = "incident_note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(2000), nullable=False)

    incident: Mapped[Incident] = relationship(back_populates="notes")


class IncidentCounter(Base):
    """The last incident number handed out per WIB day (an upsert makes numbers unique under load)."""

    __tablename__ = "incident_counter"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)


_T = Incident.__table__.c

# `excluded.seq` is the count asked for: a new day starts at it, an existing day adds it.
_DRAW_NUMBERS = text(
    "INSERT INTO incident_counter (day, seq) VALUES (:day, :n) "
    "ON CONFLICT (day) DO UPDATE SET seq = incident_counter.seq + excluded.seq RETURNING seq"
)


def draw_numbers(conn: Session | Connection, *, days: Sequence[str]) -> list[str]:
    """The next call numbers '112-YYYYMMDD-NNNN', one per WIB day given (in order), unique across workers.

    One counter update per day in the caller's transaction: PostgreSQL locks the day's row until commit and
    SQLite already serialises writers, so two calls can never draw the same number.
    """
    wanted = Counter(days)
    last = {day: conn.execute(_DRAW_NUMBERS, {"day": day, "n": n}).scalar_one() for day, n in wanted.items()}
    return _numbers_in_order(days, wanted=wanted, last=last)


def _numbers_in_order(days: Sequence[str], *, wanted: Counter, last: dict[str, int]) -> list[str]:
    """Call numbers for `days` in order, from each day's last drawn sequence and how many were drawn."""
    following = {day: last[day] - n + 1 for day, n in wanted.items()}
    numbers = []
    for day in days:
        numbers.append(f"112-{day}-{following[day]:04d}")
        following[day] += 1
    return numbers


# Ids are drawn before the rows are written: a call's possible duplicates may be calls of its own batch.
_DRAW_IDS_POSTGRES = text(
    "SELECT nextval(pg_get_serial_sequence('incident', 'id')), "
    "nextval(pg_get_serial_sequence('incident_transition', 'id')) FROM generate_series(1, :n)"
)


def _draw_ids(conn: Connection, n: int) -> tuple[list[int], list[int]]:
    """Ids for `n` new incidents and their first transitions."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_DRAW_IDS_POSTGRES, {"n": n}).all()
        return [r[0] for r in rows], [r[1] for r in rows]
    # SQLite: the writer holds the database's write lock since BEGIN IMMEDIATE, so no one else inserts.
    first_incident = conn.execute(select(func.coalesce(func.max(_T.id), 0))).scalar_one() + 1
    first_step = conn.execute(select(func.coalesce(func.max(IncidentTransition.__table__.c.id), 0))).scalar_one() + 1
    return list(range(first_incident, first_incident + n)), list(range(first_step, first_step + n))


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
    incident.geom = _point_wkt(lon, lat) if lon is not None and lat is not None else None
    incident.accuracy_m = accuracy_m
    incident.location_source = source
    incident.location = location
    for name, value in _located_columns(lon=lon, lat=lat, location=location).items():
        setattr(incident, name, value)


_COARSE_PLACES = {"kecamatan": 1, "kabupaten": 2}


def _located_columns(*, lon: float | None, lat: float | None, location: dict[str, Any] | None) -> dict[str, Any]:
    """The columns derived from a point and its locate answer (all None without a point)."""
    located = lon is not None and lat is not None
    answer = location or {}
    # A call placed by a kecamatan (or kabupaten) name is known to that area only: the representative point
    # lies in some desa (and kecamatan), which must not be credited with the call.
    coarse = _COARSE_PLACES.get((answer.get("place") or {}).get("kind") or "", 0)
    return {
        "lon": lon if located else None,
        "lat": lat if located else None,
        "desa_code": (answer.get("desa") or {}).get("code") if located and coarse < 1 else None,
        "kecamatan_code": (answer.get("kecamatan") or {}).get("code") if located and coarse < 2 else None,
        "inside_regency": bool(answer.get("inside_regency")) if located else None,
    }


def duplicate_key(*, category: str, lon: float | None, lat: float | None, at: datetime) -> str | None:
    """The duplicate-search key of an incident: 'category/H3 cell/UTC hour' (None without a point)."""
    if lon is None or lat is None:
        return None
    return f"{category}/{cell_of(lon=lon, lat=lat, res=DUPLICATE_CELL_RES)}/{at.astimezone(UTC):{_KEY_HOUR}}"


def _duplicate_keys(
    *, category: str, lon: float, lat: float, at: datetime, radius_m: float, minutes: float
) -> list[str]:
    """Every key an incident within `radius_m` and `minutes` of a point and time can have."""
    cells = cells_around(lon=lon, lat=lat, radius_m=radius_m, res=DUPLICATE_CELL_RES)
    window = timedelta(minutes=minutes)
    hour = (at - window).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour <= at + window:
        hours.append(f"{hour:{_KEY_HOUR}}")
        hour += timedelta(hours=1)
    return [f"{category}/{cell}/{h}" for cell in cells for h in hours]


@event.listens_for(Incident, "before_update")
def _keep_duplicate_key(_mapper: Any, _connection: Any, incident: Incident) -> None:
    """A new category or point gives an edited incident a new duplicate key; a new phone its digits."""
    incident.duplicate_key = duplicate_key(
        category=incident.category, lon=incident.lon, lat=incident.lat, at=incident.created_at
    )
    incident.phone_digits = phone_digits(incident.caller_phone) if incident.caller_phone else None


# Built once and compiled once; table columns (not ORM attributes), so a session runs it as plain Core.
# Only equality on one indexed column: whatever the planner's statistics say, the plan is that index. The
# state, merge and exact distance and time tests are made on the few rows it returns. The keys travel as
# one parameter (a PostgreSQL array, a JSON list on SQLite), so the SQL text never changes: no rendering
# of hundreds of placeholders per batch, and PostgreSQL keeps it prepared.
_CANDIDATE_COLUMNS = (_T.id, _T.number, _T.category, _T.lon, _T.lat, _T.created_at, _T.status, _T.merged_into_id)
_CANDIDATES_POSTGRES = select(*_CANDIDATE_COLUMNS).where(
    _T.duplicate_key == any_(bindparam("keys", type_=postgresql.ARRAY(String)))
)
_CANDIDATES_SQLITE = select(*_CANDIDATE_COLUMNS).where(
    _T.duplicate_key.in_(select(column("value")).select_from(func.json_each(bindparam("keys_json"))))
)
_OPEN = frozenset(OPEN_CODES)


@dataclass(frozen=True)
class _Probes:
    """Points looking for their duplicates: one per call of a batch (or one for `find_duplicates`)."""

    categories: list[str]
    lon: np.ndarray  # NaN where the call has no point yet
    lat: np.ndarray
    at: list[datetime]
    ids: list[int]  # the probe's own incident id (never its own duplicate), -1 for none
    batch: bool  # True: probes are new calls, and each may duplicate an earlier one of the same batch


def _duplicates(
    conn: Connection, probes: _Probes, *, radius_m: float, minutes: float
) -> list[list[dict[str, Any]]]:
    """For each probe, the open incidents of its category within `radius_m` and `minutes`, nearest first.

    One query for all probes fetches the stored candidates by key; the distances and time gaps of every
    probe and candidate pair are then one numpy array.
    """
    found: list[list[dict[str, Any]]] = [[] for _ in probes.categories]
    here = np.flatnonzero(~np.isnan(probes.lon))
    if len(here) == 0:
        return found
    keys: set[str] = set()
    for i in here:
        keys.update(_duplicate_keys(category=probes.categories[i], lon=float(probes.lon[i]),
                                    lat=float(probes.lat[i]), at=probes.at[i], radius_m=radius_m, minutes=minutes))
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_CANDIDATES_POSTGRES, {"keys": sorted(keys)}).all()
    else:
        rows = conn.execute(_CANDIDATES_SQLITE, {"keys_json": orjson.dumps(sorted(keys)).decode()}).all()
    stored = [r[:6] for r in rows if r.status in _OPEN and r.merged_into_id is None]
    # Candidates: the stored incidents (batch position -1), then the batch's own located calls (their
    # numbers are drawn later and filled in by the caller).
    own = here if probes.batch else here[:0]
    candidates = stored + [
        (probes.ids[i], None, probes.categories[i], probes.lon[i], probes.lat[i], probes.at[i]) for i in own
    ]
    if not candidates:
        return found
    c_id, c_number, c_category, c_lon, c_lat, c_at = zip(*candidates, strict=True)
    c_position = np.concatenate([np.full(len(stored), -1), own])
    to_utm = transformer(src=WGS84, dst=UTM50S)
    x, y = to_utm.transform(np.concatenate([probes.lon[here], c_lon]), np.concatenate([probes.lat[here], c_lat]))
    x, y, n = np.asarray(x), np.asarray(y), len(here)
    dist = np.hypot(x[:n, None] - x[None, n:], y[:n, None] - y[None, n:])
    p_time = np.array([probes.at[i].timestamp() for i in here])
    apart = np.abs(p_time[:, None] - np.array([t.timestamp() for t in c_at])[None, :]) / 60.0
    match = (
        (np.array([probes.categories[i] for i in here], dtype=object)[:, None] == np.array(c_category, dtype=object))
        & (dist <= radius_m)
        & (apart <= minutes)
        & (np.array([probes.ids[i] for i in here])[:, None] != np.array(c_id)[None, :])
        & (c_position[None, :] < here[:, None])
    )
    for row, i in enumerate(here):
        keep = np.flatnonzero(match[row])
        keep = keep[np.argsort(dist[row, keep], kind="stable")]
        found[i] = [
            {
                "id": int(c_id[j]),
                "number": c_number[j],
                "distance_m": round(float(dist[row, j]), 1),
                "minutes_apart": round(float(apart[row, j]), 1),
            }
            for j in keep
        ]
    return found


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
    probe = _Probes(
        categories=[category],
        lon=np.array([lon], dtype=float),
        lat=np.array([lat], dtype=float),
        at=[at],
        ids=[-1 if exclude_id is None else exclude_id],
        batch=False,
    )
    conn = session.connection() if isinstance(session, Session) else session
    return _duplicates(conn, probe, radius_m=radius_m, minutes=minutes)[0]


# Prebuilt Core inserts for the intake hot path: compiled once, run once per batch with every row.
_INSERT_INCIDENTS = insert(Incident.__table__)
_INSERT_TRANSITIONS = insert(IncidentTransition.__table__)
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
    client: str | None = None  # the address the call was entered from, for the audit record
    at: datetime | None = None  # when the call was taken (now, when not given)
    priority: str | None = None  # P1-P3; the API proposes it from the category (P2 when not given)
    # The desk call (a PBX pop) this incident comes from: it becomes the incident's call instead of a new one,
    # if it exists and no other incident has it (else a new call is written: side data never refuses a call).
    call_id: int | None = None

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
        "phone_digits": phone_digits(call.caller_phone) if call.caller_phone else None,
        "accuracy_m": call.accuracy_m,
        "location_source": call.location_source,
        "location": call.location,
        "possible_duplicates": duplicates,
        "created_by": call.actor,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "merged_into_id": None,
        "priority": call.priority if call.priority in PRIORITIES else DEFAULT_PRIORITY,
        "disposition": None,
        "claimed_by": None,
        "claimed_at": None,
        **_located_columns(lon=call.lon, lat=call.lat, location=call.location),
        "duplicate_key": duplicate_key(category=call.category, lon=call.lon, lat=call.lat, at=at),
        "geom": _point_wkt(call.lon, call.lat) if call.lon is not None and call.lat is not None else None,
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
    incident.notes = []
    make_transient_to_detached(transition)
    make_transient_to_detached(incident)
    return incident


def _prepare_calls(
    conn: Connection,
    calls: Sequence[Call],
    *,
    at: list[datetime],
    numbers: list[str],
    incident_ids: list[int],
    step_ids: list[int],
) -> list[tuple[dict, dict]]:
    """Each call's incident and first-transition rows, with ids, numbers and duplicates (one query for all)."""
    probes = _Probes(
        categories=[call.category for call in calls],
        lon=np.array([np.nan if call.lon is None else call.lon for call in calls], dtype=float),
        lat=np.array([np.nan if call.lat is None else call.lat for call in calls], dtype=float),
        at=at,
        ids=incident_ids,
        batch=True,
    )
    duplicates = _duplicates(conn, probes, radius_m=DUPLICATE_RADIUS_M, minutes=DUPLICATE_MINUTES)
    number_of = dict(zip(incident_ids, numbers, strict=True))
    written = []
    for call, t, number, dups, incident_id, step_id in zip(
        calls, at, numbers, duplicates, incident_ids, step_ids, strict=True
    ):
        for dup in dups:
            dup["number"] = dup["number"] or number_of[dup["id"]]
        row, step = _call_rows(call, number=number, duplicates=dups, at=t)
        row["id"] = step["incident_id"] = incident_id
        step["id"] = step_id
        written.append((row, step))
    return written


def _write_calls(conn: Connection, calls: Sequence[Call]) -> list[tuple[dict, dict]]:
    """Numbers, duplicates, incidents and first transitions of calls, written in the caller's transaction.

    A handful of statements for the whole batch, whatever its size: the ids, the number draw (one per WIB
    day), one duplicate search, one multi-row insert per table. Returns each call's rows, with ids.
    """
    at = [call.at or utcnow() for call in calls]
    incident_ids, step_ids = _draw_ids(conn, len(calls))
    numbers = draw_numbers(conn, days=[wib_day_key(t) for t in at])
    written = _prepare_calls(conn, calls, at=at, numbers=numbers, incident_ids=incident_ids, step_ids=step_ids)
    # Core multi-row inserts instead of an ORM flush: the unit of work costs more than the SQL here.
    conn.execute(_INSERT_INCIDENTS, [row for row, _ in written])
    conn.execute(_INSERT_TRANSITIONS, [step for _, step in written])
    _write_incident_calls(conn, calls, written)
    return written


def _incident_call_row(call: Call, row: dict[str, Any]) -> dict[str, Any]:
    """The darurat call an incident was recorded from: its caller's number, by its operator, at its time.

    An AML fix is where the caller's handset was, so it is the call's location too (a typed address or a
    pin is where the incident is, kept on the incident).
    """
    phone = normalise(call.caller_phone)
    at = row["created_at"]
    aml = call.location_source == "aml" and call.lon is not None and call.lat is not None
    return {
        "at": at, "answered_at": at, "ended_at": None, "caller_raw": phone.raw, "caller_number": phone.number,
        "number_ok": phone.ok, "line": None, "operator": call.actor, "extension": None, "duration_s": None,
        "type": "darurat", "typed_by": call.actor, "incident_id": row["id"], "related_call_id": None, "note": None,
        "state": "selesai", "source": "desk", "pbx_call_id": None, "callback_status": None, "callback_attempts": 0,
        "callback_by": None, "callback_at": None, "callback_outcome": None, "callback_note": None,
        "lon": call.lon if aml else None, "lat": call.lat if aml else None,
        "accuracy_m": call.accuracy_m if aml else None, "location_source": "aml" if aml else None,
        "location_at": at if aml else None, "created_by": call.actor, "updated_at": at,
    }


@cache
def _call_statements() -> tuple[Insert, Any]:
    """The insert of incidents' calls and the link of an existing desk call (built on first use: store.calls
    imports this module)."""
    from store.calls import PhoneCall

    table = PhoneCall.__table__
    c = table.c
    link = (
        sql_update(table)
        .where(c.id == bindparam("call_id"), c.incident_id.is_(None))
        .values(type="darurat", typed_by=bindparam("actor"), incident_id=bindparam("incident_id"),
                operator=func.coalesce(c.operator, bindparam("actor")), updated_at=bindparam("now"),
                # Emergency now: off the callback list unless someone already called back.
                callback_status=case((c.callback_attempts == 0, None), else_=c.callback_status))
        .returning(c.id)
    )
    return insert(table), link


def _write_incident_calls(conn: Connection, calls: Sequence[Call], written: list[tuple[dict, dict]]) -> None:
    """Each incident's call, in the incident's transaction: the desk call it names, linked, or a new one.

    Every path that creates an incident comes through here (the form, another client's POST, an AML SMS,
    a ground check, the store's create_incident): no incident is without its call.
    """
    insert_call, link = _call_statements()
    fresh = []
    for call, (row, _) in zip(calls, written, strict=True):
        if call.call_id is not None and conn.execute(link, {
            "call_id": call.call_id, "actor": call.actor, "incident_id": row["id"], "now": row["created_at"],
        }).first() is not None:
            continue
        fresh.append(_incident_call_row(call, row))
    if fresh:
        conn.execute(insert_call, fresh)


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
    [(row, step)] = _write_calls(session.connection(), [replace(call, at=at or utcnow())])
    # Later edits in this session (transition, merge) see a normal persistent incident.
    incident = _detached(row, step)
    session.add(incident)
    return incident


# What the audit log keeps of an incident (not the whole locate answer), and what its events carry: ids and
# what changed, never the document (a NOTIFY payload is at most 8000 bytes). Both are projections of the
# stored columns; the public document is api.schemas.incidents.IncidentPublic.
AUDIT_FIELDS = (
    "number", "category", "status", "description", "caller_name", "caller_phone", "lon", "lat", "accuracy_m",
    "location_source", "desa_code", "merged_into_id", "version", "priority", "disposition", "claimed_by",
)
EVENT_FIELDS = ("id", "number", "status", "category", "lon", "lat", "version", "priority", "claimed_by")


def audit_snapshot(incident: Incident | IncidentRecord) -> dict[str, Any]:
    """What the audit log keeps of an incident (AUDIT_FIELDS)."""
    return {name: getattr(incident, name) for name in AUDIT_FIELDS}


def _audit_row(incident: Incident | IncidentRecord, *, client: str | None) -> dict[str, Any]:
    return {
        "at": utcnow(),
        "actor": incident.created_by,
        "action": "incident.create",
        "entity": "incident",
        "entity_id": str(incident.id),
        "before": None,
        "after": audit_snapshot(incident),
        "client": clip_client(client),
    }


# PostgreSQL: a day's numbers and the batch's ids in one autocommitted statement on a connection of its own,
# so the counter row is locked for one statement, not for the whole batch while other workers wait. Its
# commit need not wait for the disk: the WAL is flushed in order, so the draw is on disk before any incident
# carrying its numbers can be (set_config(..., true) lasts for this statement's transaction only).
_DRAW_POSTGRES = text(
    f"WITH drawn AS ({_DRAW_NUMBERS.text}) "
    "SELECT (SELECT seq FROM drawn), "
    "array(SELECT nextval(pg_get_serial_sequence('incident', 'id')) FROM generate_series(1, :n)), "
    "array(SELECT nextval(pg_get_serial_sequence('incident_transition', 'id')) FROM generate_series(1, :n)), "
    "set_config('synchronous_commit', 'off', true)"
)


def _draw_postgres(engine: Engine, days: list[str]) -> tuple[list[str], list[int], list[int]]:
    """Numbers and ids for calls taken on these WIB days (in order), drawn outside the batch's transaction."""
    wanted = Counter(days)
    last: dict[str, int] = {}
    incident_ids: list[int] = []
    step_ids: list[int] = []
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for day, n in wanted.items():
            last[day], incidents, steps, _ = conn.execute(_DRAW_POSTGRES, {"day": day, "n": n}).one()
            # Ids only need to be unique: the days' draws are handed out in call order.
            incident_ids += incidents
            step_ids += steps
    return _numbers_in_order(days, wanted=wanted, last=last), incident_ids, step_ids


def _bound_insert(table: Table, prefix: str, *, skip: tuple[str, ...] = ()) -> Insert:
    """INSERT of every column of `table` from bind parameters named prefix + column name."""
    values = {c.name: bindparam(prefix + c.name, type_=c.type) for c in table.c if c.name not in skip}
    return insert(table).values(values)


# One call's incident, first transition, audit record and NOTIFY in one statement, built once. A batch runs
# it as an executemany, which psycopg pipelines: one round trip for the whole batch.
_WRITE_CALL_POSTGRES = select(func.pg_notify(EVENT_CHANNEL, bindparam("event_payload", type_=String))).add_cte(
    _bound_insert(Incident.__table__, "incident_").cte("new_incident"),
    _bound_insert(IncidentTransition.__table__, "step_").cte("new_step"),
    _bound_insert(AuditRecord.__table__, "audit_", skip=("id",)).cte("new_audit"),
)


def record_calls(
    session: Session, calls: Sequence[Call], *, hub: EventHub, commit: bool = True
) -> list[IncidentRecord]:
    """Store calls, each with its first transition, audit record and `incident.created` event, and commit once.

    One transaction for the whole batch (group commit): all of it is stored or none. With `commit=False` the
    writes stay in the caller's open transaction, for a caller that stores more with them (a ground check's
    task row) and commits or rolls back the whole. Calls are written in
    order, so their numbers follow that order and a call sees an earlier one of the same batch as a
    possible duplicate. On PostgreSQL the numbers are drawn just before, outside the transaction: a batch
    that fails leaves a gap in the day's numbers. Returns what was written, read back from nothing.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        stored = [_record(row, step) for row, step in _write_calls(conn, calls)]
        audit = [_audit_row(incident, client=call.client) for incident, call in zip(stored, calls, strict=True)]
        conn.execute(_INSERT_AUDIT, audit)
        for incident in stored:
            hub.publish(session, "incident.created", incident_event(incident, ["created"]))
        if commit:
            session.commit()
        return stored
    at = [call.at or utcnow() for call in calls]
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    numbers, incident_ids, step_ids = _draw_postgres(engine, [wib_day_key(t) for t in at])
    written = _prepare_calls(conn, calls, at=at, numbers=numbers, incident_ids=incident_ids, step_ids=step_ids)
    stored = [_record(row, step) for row, step in written]
    # A desk call to link is checked row by row after the incidents exist; otherwise the incident's new call
    # goes in the same pipelined statement.
    linking = any(call.call_id is not None for call in calls)
    conn.execute(
        _WRITE_CALL_POSTGRES if linking else _write_call_with_phone_call_postgres(),
        [
            {f"incident_{k}": v for k, v in row.items()}
            | {f"step_{k}": v for k, v in step.items()}
            | {f"audit_{k}": v for k, v in _audit_row(incident, client=call.client).items()}
            | ({} if linking else {f"pcall_{k}": v for k, v in _incident_call_row(call, row).items()})
            | {"event_payload": hub.notify_payload("incident.created", incident_event(incident, ["created"]))}
            for (row, step), incident, call in zip(written, stored, calls, strict=True)
        ],
    )
    if linking:
        _write_incident_calls(conn, calls, written)
    if commit:
        session.commit()
    return stored


@cache
def _write_call_with_phone_call_postgres() -> Any:
    """_WRITE_CALL_POSTGRES writing the incident's call too (built on first use: store.calls imports this)."""
    from store.calls import PhoneCall

    return _WRITE_CALL_POSTGRES.add_cte(_bound_insert(PhoneCall.__table__, "pcall_", skip=("id",)).cte("new_call"))


def record_call(
    session: Session, *, call: Call, hub: EventHub, client: str | None, at: datetime | None = None
) -> IncidentRecord:
    """Store one call with its first transition, audit record and `incident.created` event, committed."""
    return record_calls(session, [replace(call, client=client, at=at or call.at or utcnow())], hub=hub)[0]


def _record(row: dict[str, Any], step: dict[str, Any]) -> IncidentRecord:
    return IncidentRecord(
        **{k: v for k, v in row.items() if k != "geom"}, transitions=[SimpleNamespace(**step)], notes=[]
    )


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
    """Fold `duplicate` into `keep`: the duplicate is cancelled with merged_into set, both histories stay.

    Refused: a cancelled or merged `keep` (MergeIntoClosedError), an incident merged into itself (SelfMergeError),
    a duplicate that can no longer be cancelled (NotMergeableError), a stale `version` of the duplicate.
    """
    if keep.status == IncidentState.BATAL or keep.merged_into_id is not None:
        raise MergeIntoClosedError(keep)
    if keep.id == duplicate.id:
        raise SelfMergeError()
    if IncidentState.BATAL not in allowed_transitions(duplicate.status):
        raise NotMergeableError(duplicate)
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
    # History search (the Riwayat view): call number or phone (parts of either), priority, disposition, the
    # operator who took or moved the call, and words in the description or the call log.
    number: str | None = None
    phone: str | None = None
    priorities: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    operator: str | None = None
    text: str | None = None


class IncidentRecord(SimpleNamespace):
    """An incident read for display only: its columns (not the geometry) and transitions, oldest first.

    Lists build these from plain rows instead of tracked ORM objects, which cost several times more to
    load for a page that is only serialised.
    """


_RECORD_COLUMNS = tuple(c for c in Incident.__table__.c if c.name != "geom")
_TRANSITION_COLUMNS = tuple(c for c in IncidentTransition.__table__.c)


COUNT_CAP = 200


def list_incidents(
    session: Session, flt: IncidentFilter, *, limit: int = 100, offset: int = 0
) -> tuple[int, list[IncidentRecord]]:
    """The total matching (counted up to COUNT_CAP: more is reported as COUNT_CAP) and one page of incidents,
    newest first, with their transitions and notes."""
    for s in flt.statuses:
        parse_state(s)
    conds: list[ColumnElement[bool]] = []
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
    conds += _history_conditions(flt)
    conn = session.connection()
    # Counting stops at the cap: a history search over a million calls must not read them all to say "200+".
    capped = select(Incident.id).where(*conds).limit(COUNT_CAP).subquery()
    total = conn.execute(select(func.count()).select_from(capped)).scalar() or 0
    rows = conn.execute(
        select(*_RECORD_COLUMNS)
        .where(*conds)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings().all()
    records = {row["id"]: IncidentRecord(**row, transitions=[], notes=[]) for row in rows}
    if records:
        steps = conn.execute(
            select(*_TRANSITION_COLUMNS)
            .where(IncidentTransition.incident_id.in_(list(records)))
            .order_by(IncidentTransition.id)
        ).all()
        for step in steps:
            records[step.incident_id].transitions.append(step)
        for note in conn.execute(
            select(*_NOTE_COLUMNS).where(IncidentNote.incident_id.in_(list(records))).order_by(IncidentNote.id)
        ).all():
            records[note.incident_id].notes.append(note)
    return int(total), list(records.values())


_NOTE_COLUMNS = tuple(c for c in IncidentNote.__table__.c)


def like_pattern(value: str) -> str:
    """A LIKE pattern matching `value` anywhere, its wildcards taken literally (escape character '\\')."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def phone_digits(value: str) -> str:
    """The digits of a phone number, a leading +62 or 62 read as the 0 of a national number."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("62") and (value.strip().startswith("+") or len(digits) > 11):
        digits = "0" + digits[2:]
    return digits


_CALL_NUMBER = re.compile(r"^112-\d{8}-\d{4,7}$")


def number_condition(query: str) -> Any:
    """A call number searched: a whole number is one index lookup, a '112-...' start a range on the same
    index, anything else (a day, the last digits) a part of the number anywhere (a scan)."""
    q = query.strip().upper()
    if _CALL_NUMBER.match(q):
        return Incident.number == q
    if q.startswith("112-"):
        return Incident.number.like(like_pattern(q)[1:], escape="\\")  # 'q%': the start, in any collation
    pattern = like_pattern(q.lower())
    exact = func.lower(Incident.number).like(pattern, escape="\\")
    if len(q) < 3 or any(ch in q for ch in "%_\\"):
        return exact
    # On SQLite the trigram FTS5 table (migration 0024) gives the candidate ids; PostgreSQL's trigram index
    # serves the LIKE itself. The exact LIKE is checked on the candidates either way.
    return and_(NumberTrigrams(pattern), exact)


def phone_condition(query: str) -> Any:
    """A phone number searched by its start, written any way (+62 812-..., 0812 ...): a range on the digits index."""
    digits = phone_digits(query)
    if not digits:
        return Incident.id.is_(None)  # no digit: no phone matches
    # [digits, next) where next is the prefix plus one ("0812" -> "0813", "0819" -> "082"): digits compare
    # the same way in every collation, so the index range is right on both backends.
    stripped = digits.rstrip("9")
    if not stripped:
        return Incident.phone_digits >= digits
    upper = stripped[:-1] + str(int(stripped[-1]) + 1)
    return (Incident.phone_digits >= digits) & (Incident.phone_digits < upper)


class NumberTrigrams(ColumnElement[bool]):
    """`incident.id IN (ids whose number has the pattern's trigrams)` on SQLite, true elsewhere."""

    inherit_cache = True
    type = NULLTYPE  # type: ignore[assignment]  # not Boolean: SQLite would compare the IN with "= 1" and lose its index

    def __init__(self, pattern: str) -> None:
        self.pattern = bindparam("number_trigrams", pattern, type_=String(), unique=True)

    _traverse_internals = [("pattern", InternalTraversal.dp_clauseelement)]


@compiles(NumberTrigrams)
def _number_trigrams_default(element: NumberTrigrams, compiler: Any, **kw: Any) -> str:
    return "1 = 1"


@compiles(NumberTrigrams, "sqlite")
def _number_trigrams_sqlite(element: NumberTrigrams, compiler: Any, **kw: Any) -> str:
    return (f"incident.id IN (SELECT rowid FROM incident_number_fts WHERE number LIKE "
            f"{compiler.process(element.pattern, **kw)})")


def _history_conditions(flt: IncidentFilter) -> list[Any]:
    """The history-search filters as SQL conditions (case-insensitive parts of text; wildcards literal)."""
    conds: list[Any] = []
    if flt.number:
        conds.append(number_condition(flt.number))
    if flt.phone:
        conds.append(phone_condition(flt.phone))
    if flt.priorities:
        conds.append(Incident.priority.in_(flt.priorities))
    if flt.dispositions:
        conds.append(Incident.disposition.in_(flt.dispositions))
    if flt.operator:
        who = flt.operator.strip().lower()
        moved = select(IncidentTransition.incident_id).where(func.lower(IncidentTransition.actor) == who)
        conds.append(or_(func.lower(Incident.created_by) == who, func.lower(Incident.claimed_by) == who,
                         Incident.id.in_(moved)))
    if flt.text:
        for word in flt.text.split()[:8]:
            pattern = like_pattern(word.lower())
            # A correlated EXISTS (one lookup on the note index per candidate call), not IN (SELECT ...): the
            # page is read newest first and stops early, an IN list would read every note first. OFFSET 0 keeps
            # PostgreSQL from turning it back into a hashed IN over all notes.
            in_notes = (select(IncidentNote.id)
                        .where(IncidentNote.incident_id == Incident.id,
                               func.lower(IncidentNote.text).like(pattern, escape="\\"))
                        .offset(0)
                        .exists())
            conds.append(or_(func.lower(func.coalesce(Incident.description, "")).like(pattern, escape="\\"),
                             in_notes))
    return conds


def merged_from(session: Session, incident_id: int) -> list[int]:
    """Ids of the incidents merged into this one."""
    return list(session.scalars(select(Incident.id).where(Incident.merged_into_id == incident_id)))


def load_incident(session: Session, incident_id: int, *, lock: bool = False, field: str = "id") -> Incident:
    """The incident with this id (its row locked until commit when `lock`, on PostgreSQL), or IncidentNotFoundError."""
    incident = session.get(Incident, incident_id, with_for_update=lock or None)
    if incident is None:
        raise IncidentNotFoundError(incident_id, field=field)
    return incident


@dataclass(frozen=True)
class StoredIncident:
    """An incident as it stands (transitions loaded) and the ids of the incidents merged into it."""

    incident: Incident
    merged_from: list[int]
    # Its assignments and agency contacts (store.dispatch.units_on_calls), when the reader asked for them.
    units: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])


def stored_incident(session: Session, incident: Incident) -> StoredIncident:
    """The incident with its history loaded and its merges read, usable after the session closes."""
    _ = incident.transitions, incident.notes  # loaded now, while the session is open
    return StoredIncident(incident, merged_from(session, incident.id))


def read_incident(session: Session, incident_id: int) -> StoredIncident:
    """One incident with its history and merges (IncidentNotFoundError when there is none)."""
    return stored_incident(session, load_incident(session, incident_id))


def incident_event(incident: Incident | IncidentRecord, changed: list[str]) -> dict[str, Any]:
    """The payload of `incident.created` / `incident.updated` events (EVENT_FIELDS and what changed)."""
    return {name: getattr(incident, name) for name in EVENT_FIELDS} | {"changed": changed}
