"""Crews in the loop: pairing a phone to a unit, the device tokens, and what a crew's phone records.

A pairing code (8 characters, shown as text and QR) is valid 10 minutes and used once; pairing gives the phone
a long-lived random token, stored only as its SHA-256. A device reads its own unit's assignment and writes its
unit's steps, status and position through the same assignment and unit commands the dispatcher uses, with an
idempotency key per tap and per position: the key's row is written in the command's own transaction, so a
replayed tap is found and never applied twice.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import Conflict, InvalidInput
from geo.times import iso_utc, utcnow
from store.accounts import record_audit
from store.commands import assignments as assignment_commands
from store.commands import units as unit_commands
from store.commands.writer import Writer
from store.dispatch import ASSIGNMENT_STEPS, DispatchAssignment
from store.incidents import Incident, IncidentNote
from store.models import Base
from store.types import UTCDateTime
from store.units import AVAILABLE_STATUSES, Unit, read_units, unit_fields

__all__ = [
    "ACTIONS",
    "CODE_ALPHABET",
    "CrewDevice",
    "CrewPairing",
    "CrewPosition",
    "CrewTap",
    "DeviceAuth",
    "PositionReport",
    "check_report",
    "crew_assignment",
    "device_for_token",
    "devices_for_digests",
    "list_devices",
    "new_pairing",
    "pair_device",
    "record_crew_audit",
    "record_tap",
    "revoke_device",
    "token_digest",
]

# No 0/O, 1/I/L: read aloud over a radio or typed on a phone without mistakes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
TOKEN_PREFIX = "crew_"
# A crew's taps: the assignment's steps, asking for backup, and the unit's own status off a call.
STEP_OF_ACTION = {"terima": "diterima", "menuju_lokasi": "menuju_lokasi", "tiba": "tiba"}
ACTIONS = ("terima", "menuju_lokasi", "tiba", "selesai", "butuh_bantuan", "tidak_tersedia", "tersedia")
MAX_SPEED_KMH = 200.0
MAX_ACCURACY_M = 5000.0


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """A typed code as stored: upper case, spaces and dashes removed."""
    return "".join(c for c in code.upper() if c.isalnum())


class CrewPairing(Base):
    """A pairing code shown for a unit: valid until `expires_at`, used once (then it names the device)."""

    __tablename__ = "crew_pairing"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(Integer)


class CrewDevice(Base):
    """A crew's phone paired to one unit; its token is kept only as a hash; revoked devices keep their row."""

    __tablename__ = "crew_device"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(120), nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    paired_by: Mapped[str | None] = mapped_column(String(64))
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class CrewTap(Base):
    """One status tap of a device: its idempotency key, what it was, device time and server time."""

    __tablename__ = "crew_tap"
    __table_args__ = (UniqueConstraint("device_id", "key", name="uq_crew_tap_device_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("crew_device.id", ondelete="CASCADE"), nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(24), nullable=False)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    device_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    server_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CrewPosition(Base):
    """One position a device sent and the platform stored (source ``crew-gps``)."""

    __tablename__ = "crew_position"
    __table_args__ = (UniqueConstraint("device_id", "key", name="uq_crew_position_device_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("crew_device.id", ondelete="CASCADE"), nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    device_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    server_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="crew-gps", server_default="crew-gps")


@dataclass(frozen=True)
class DeviceAuth:
    """The device behind a crew token, as the routes see it."""

    device_id: int
    unit_id: int
    callsign: str
    label: str
    tag: str = ""  # a prefix of the token's hash: names this pairing even when a database reuses the id

    @property
    def actor(self) -> str:
        """Who recorded a change, in the audit log and on the assignment."""
        return f"crew:{self.callsign}#{self.device_id}"[:64]


# -- pairing ------------------------------------------------------------------------------------------------
def new_pairing(session: Session, unit_id: int, *, actor: str | None, minutes: int = 10) -> dict[str, Any]:
    """A fresh pairing code for the unit (valid `minutes`, single use); the code is returned once, stored hashed."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise unit_commands.UnitNotFoundError(unit_id)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = utcnow()
    row = CrewPairing(unit_id=unit_id, code_hash=_digest(code), created_at=now, created_by=actor,
                      expires_at=now + timedelta(minutes=minutes))
    session.add(row)
    session.flush()
    return {"code": code, "unit_id": unit_id, "callsign": unit.callsign, "expires_at": iso_utc(row.expires_at),
            "pairing_id": row.id}


def pair_device(session: Session, code: str, *, label: str) -> tuple[str, CrewDevice, Unit] | None:
    """Use a pairing code: (token, device, unit), or None when the code is unknown, expired or used (all alike)."""
    now = utcnow()
    code = normalise_code(code)
    if len(code) != CODE_LENGTH:
        return None
    row = session.scalars(select(CrewPairing).where(CrewPairing.code_hash == _digest(code))
                          .with_for_update()).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    unit = session.get(Unit, row.unit_id)
    if unit is None:
        return None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = CrewDevice(unit_id=unit.id, token_hash=_digest(token), label=label, created_at=now,
                        paired_by=row.created_by)
    session.add(device)
    session.flush()
    row.used_at, row.device_id = now, device.id
    return token, device, unit


def token_digest(token: str) -> str | None:
    """The stored form (SHA-256) of a crew token, or None for what cannot be one."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return _digest(token)


def devices_for_digests(session: Session, digests: set[str]) -> dict[str, DeviceAuth]:
    """The active (unrevoked) devices of some token digests, by digest; revoked and unknown ones are absent."""
    rows = session.execute(
        select(CrewDevice.token_hash, CrewDevice.id, CrewDevice.unit_id, Unit.callsign, CrewDevice.label)
        .join(Unit, Unit.id == CrewDevice.unit_id)
        .where(CrewDevice.token_hash.in_(digests), CrewDevice.revoked_at.is_(None))
    ).all()
    return {str(d): DeviceAuth(int(i), int(u), str(c), str(label), str(d)[:16]) for d, i, u, c, label in rows}


def device_for_token(session: Session, token: str) -> DeviceAuth | None:
    """The active (unrevoked) device of a crew token, or None."""
    digest = token_digest(token)
    return None if digest is None else devices_for_digests(session, {digest}).get(digest)


def active_device_count(session: Session, unit_id: int) -> int:
    """How many unrevoked phones the unit has paired."""
    return len(session.scalars(select(CrewDevice.id).where(CrewDevice.unit_id == unit_id,
                                                          CrewDevice.revoked_at.is_(None))).all())


def device_fields(device: CrewDevice, callsign: str | None = None) -> dict[str, Any]:
    """A device as the admin sees it (never its token)."""
    return {"id": device.id, "unit_id": device.unit_id, "callsign": callsign, "label": device.label,
            "created_at": iso_utc(device.created_at), "paired_by": device.paired_by,
            "last_seen_at": iso_utc(device.last_seen_at), "revoked_at": iso_utc(device.revoked_at),
            "revoked_by": device.revoked_by, "active": device.revoked_at is None}


def list_devices(session: Session, *, unit_id: int | None = None) -> list[dict[str, Any]]:
    """Every paired device (newest first), optionally of one unit."""
    q = select(CrewDevice, Unit.callsign).join(Unit, Unit.id == CrewDevice.unit_id)
    if unit_id is not None:
        q = q.where(CrewDevice.unit_id == unit_id)
    return [device_fields(d, c) for d, c in session.execute(q.order_by(CrewDevice.id.desc())).all()]


def revoke_device(session: Session, device_id: int, *, actor: str | None) -> dict[str, Any] | None:
    """Revoke a device (its token is refused from the next request); None when there is no such device."""
    device = session.get(CrewDevice, device_id)
    if device is None:
        return None
    if device.revoked_at is None:
        device.revoked_at, device.revoked_by = utcnow(), actor
    session.flush()
    unit = session.get(Unit, device.unit_id)
    return device_fields(device, unit.callsign if unit else None)


def record_crew_audit(session: Session, *, actor: str | None, action: str, entity_id: int | None,
                      after: dict[str, Any] | None = None, client: str | None = None) -> None:
    """Audit a pairing, a failed pairing or a revocation (on the unit) in the caller's transaction."""
    record_audit(session, actor=actor, action=action, entity="unit", entity_id=entity_id, after=after, client=client)


# -- the crew's view ------------------------------------------------------------------------------------------
def _open_row(session: Session, unit_id: int) -> DispatchAssignment | None:
    return session.scalars(select(DispatchAssignment).where(DispatchAssignment.unit_id == unit_id,
                                                            DispatchAssignment.released_at.is_(None))).first()


def can_take(status: str, *, assignment: DispatchAssignment | None) -> list[str]:
    """The taps a unit in `status` (with its open assignment, if any) can take now."""
    if assignment is None:
        if status in AVAILABLE_STATUSES:
            return ["tidak_tersedia"] + (["tersedia"] if status != "tersedia" else [])
        return ["tersedia"] + (["tidak_tersedia"] if status != "tidak_tersedia" else [])
    here = ASSIGNMENT_STEPS.index(assignment.status) if assignment.status in ASSIGNMENT_STEPS else 0
    later = [a for a, step in STEP_OF_ACTION.items() if ASSIGNMENT_STEPS.index(step) > here]
    return [*later, "selesai", "butuh_bantuan"]


def crew_assignment(session: Session, unit_id: int) -> dict[str, Any]:
    """The unit as it is and its current assignment (None off a call), with what each tap can do now."""
    [unit] = unit_fields(read_units(session, ids=[unit_id]))
    row = _open_row(session, unit_id)
    out: dict[str, Any] = {"unit": unit, "assignment": None,
                           "can_take": can_take(unit["status"], assignment=row)}
    if row is None:
        return out
    incident = session.get(Incident, row.incident_id)
    assert incident is not None
    notes = session.scalars(select(IncidentNote).where(IncidentNote.incident_id == incident.id)
                            .order_by(IncidentNote.id)).all()
    place = incident.location or {}
    distance_m = None
    if unit["lon"] is not None and incident.lon is not None and incident.lat is not None:
        distance_m = round(_metres(unit["lon"], unit["lat"], incident.lon, incident.lat))
    out["assignment"] = {
        "id": row.id,
        "status": row.status,
        "dispatched_at": iso_utc(row.at),
        "dispatched_by": row.actor,
        "acknowledged_at": iso_utc(row.acknowledged_at),
        "enroute_at": iso_utc(row.enroute_at),
        "arrived_at": iso_utc(row.arrived_at),
        "eta_s": row.eta_s,
        "distance_m": distance_m,
        "incident": {
            "id": incident.id,
            "number": incident.number,
            "category": incident.category,
            "priority": incident.priority,
            "status": incident.status,
            "description": incident.description,
            "callback": incident.caller_phone,
            "lon": incident.lon,
            "lat": incident.lat,
            "desa": _name(place.get("desa")) or _name(place.get("nearest_desa")),
            "kecamatan": _name(place.get("kecamatan")),
            # No landmark field on a call: the place the caller named and the nearest river stand in for one.
            "landmark": ", ".join(n for n in (_name(place.get("place")), _river(place.get("river"))) if n) or None,
            "notes": [{"at": iso_utc(n.at), "by": n.actor, "text": n.text} for n in notes],
        },
        "navigate": (f"geo:{incident.lat},{incident.lon}?q={incident.lat},{incident.lon}"
                     if incident.lat is not None and incident.lon is not None else None),
    }
    return out


def _name(value: Any) -> str | None:
    return str(value["name"]) if isinstance(value, dict) and value.get("name") else None


def _river(value: Any) -> str | None:
    if not isinstance(value, dict) or not value.get("name") or not isinstance(value.get("distance_m"), int | float):
        return None
    return f"{value['distance_m']:.0f} m dari {value['name']}"


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(math.sqrt(min(1.0, a)))


# -- taps -----------------------------------------------------------------------------------------------------
def _with_row(w: Writer, row: Base) -> Writer:
    """A writer whose session also inserts `row`: it commits with the command's change or not at all."""

    def sessions() -> Session:
        session = w.sessions()
        session.add(row)
        return session

    return replace(w, sessions=sessions)  # type: ignore[arg-type]


def _find_tap(session: Session, device_id: int, key: str) -> CrewTap | None:
    return session.scalars(select(CrewTap).where(CrewTap.device_id == device_id, CrewTap.key == key)).first()


def tap_fields(tap: CrewTap) -> dict[str, Any]:
    """A recorded tap."""
    return {"key": tap.key, "action": tap.action, "incident_id": tap.incident_id,
            "device_at": iso_utc(tap.device_at), "server_at": iso_utc(tap.server_at)}


def record_tap(w: Writer, device: DeviceAuth, *, key: str, action: str, device_at: datetime | None,
               incident_id: int | None = None) -> tuple[bool, dict[str, Any]]:
    """Apply a crew tap once: (replayed, the recorded tap). A tap the unit cannot take now is a 409 naming those
    it can take; a tap for a call the unit is no longer on is a 409 saying so.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"Aksi tidak dikenal '{action}'; yang sah: {list(ACTIONS)}",
                           f"Unknown action '{action}'; valid: {list(ACTIONS)}", field="action", valid=list(ACTIONS))
    with w.sessions() as session:
        done = _find_tap(session, device.device_id, key)
        if done is not None:
            return True, tap_fields(done)
        unit = session.get(Unit, device.unit_id)
        assert unit is not None
        row = _open_row(session, device.unit_id)
        status = unit.status
        allowed = can_take(status, assignment=row)
        open_incident = row.incident_id if row is not None else None
    if incident_id is not None and action in (*STEP_OF_ACTION, "selesai", "butuh_bantuan") \
            and incident_id != open_incident:
        raise Conflict("Tugas ini sudah tidak berlaku (kejadian ditutup atau unit dilepas)",
                       "This assignment no longer applies (call closed or unit released)", field="incident_id",
                       can_take=allowed, current_incident_id=open_incident)
    if action not in allowed:
        raise Conflict(f"Unit {device.callsign} tidak bisa '{action}' sekarang; bisa: {allowed}",
                       f"Unit {device.callsign} cannot '{action}' now; it can: {allowed}", field="action",
                       can_take=allowed, status=status, current_incident_id=open_incident)
    tap = CrewTap(device_id=device.device_id, unit_id=device.unit_id, key=key, action=action,
                  incident_id=open_incident if action in (*STEP_OF_ACTION, "selesai", "butuh_bantuan") else None,
                  device_at=device_at, server_at=utcnow())
    tw = _with_row(w, tap)
    try:
        if action in STEP_OF_ACTION:
            assert open_incident is not None
            assignment_commands.report(tw, open_incident, device.unit_id, STEP_OF_ACTION[action])
        elif action == "selesai":
            assert open_incident is not None
            assignment_commands.clear(tw, open_incident, device.unit_id, reason="selesai (kru)")
        elif action == "butuh_bantuan":
            with tw.transaction() as session:
                [fields] = unit_fields(read_units(session, ids=[device.unit_id]))
                body = {"unit": fields, "incident_id": open_incident, "device_at": iso_utc(device_at)}
                tw.audit(session, action="crew.backup", entity="incident", entity_id=open_incident, after=body)
                tw.publish(session, "crew.backup", body)
                session.commit()
        else:
            assignment_commands.set_unit_status(tw, device.unit_id, action, note="kru / crew")
    except IntegrityError:
        # The same key arrived twice at once: the other request applied it.
        with w.sessions() as session:
            done = _find_tap(session, device.device_id, key)
            if done is None:
                raise
            return True, tap_fields(done)
    return False, tap_fields(tap)


# -- positions ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PositionReport:
    """One position from a crew phone."""

    key: str
    lon: float
    lat: float
    accuracy_m: float | None
    at: datetime


def check_report(p: PositionReport, *, bounds: tuple[float, float, float, float]) -> str | None:
    """Why this position cannot be stored (NaN, outside the world or Kalimantan, too inaccurate), or None."""
    if not all(math.isfinite(v) for v in (p.lon, p.lat)):
        return "koordinat bukan angka / coordinates are not numbers"
    if not (-180 <= p.lon <= 180 and -90 <= p.lat <= 90):
        return "koordinat di luar jangkauan / coordinates out of range"
    x0, y0, x1, y1 = bounds
    if not (x0 <= p.lon <= x1 and y0 <= p.lat <= y1):
        return "posisi di luar Kalimantan / position outside Kalimantan"
    if p.accuracy_m is not None and (not math.isfinite(p.accuracy_m) or p.accuracy_m < 0
                                     or p.accuracy_m > MAX_ACCURACY_M):
        return f"akurasi lebih buruk dari {MAX_ACCURACY_M:.0f} m / accuracy worse than {MAX_ACCURACY_M:.0f} m"
    if p.at.tzinfo is None:
        return "waktu tanpa zona / time without a zone"
    if p.at > utcnow() + unit_commands.FUTURE_TOLERANCE:
        return "waktu di masa depan / time in the future"
    return None


def touch_device(session: Session, device_id: int) -> None:
    """Remember when a device was last heard from."""
    device = session.get(CrewDevice, device_id)
    if device is not None:
        device.last_seen_at = utcnow()

