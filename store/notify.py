"""Dispatch notifications: the channels configured per unit, and every attempt to reach a unit with its status.

A unit may be reached on several channels (the crew page's event stream, Telegram, WhatsApp, SMS); each
attempt is a row whose status moves queued -> sent -> delivered -> read, or to failed (then retried). A reply
from a unit's registered chat or number (``1``/``OK``, ``2``/``JALAN``, ``3``/``TIBA``, ``4``/``SELESAI``) moves
its assignment through the same commands as a tap.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import InvalidInput
from geo.phones import normalise
from geo.times import iso_utc, utcnow
from store.commands import assignments as assignment_commands
from store.commands.units import UnitNotFoundError
from store.commands.writer import Writer
from store.dispatch import DispatchAssignment
from store.incidents import Incident
from store.models import Base
from store.types import UTCDateTime
from store.units import Unit

__all__ = [
    "ATTEMPT_STATUSES",
    "CHANNELS",
    "REPLIES",
    "NotificationAttempt",
    "UnitChannel",
    "apply_reply",
    "attempts_for",
    "claim_due",
    "next_due",
    "settle_attempt",
    "mark_attempt",
    "new_attempt",
    "open_assignment",
    "open_assignment_by_id",
    "mark_external",
    "set_unit_channels",
    "unacknowledged",
    "unit_channels",
    "unit_for_address",
    "PushSubscription",
    "VapidKey",
    "ensure_vapid_key",
    "push_subscription",
    "push_subscription_ids",
    "push_subscriptions",
    "save_subscription",
    "vapid_key",
]

CHANNELS = ("sse", "telegram", "whatsapp", "sms", "webpush")
ATTEMPT_STATUSES = ("queued", "sending", "sent", "delivered", "read", "failed", "retried")
# Sends of one attempt before it is failed; the back-off before each retry doubles from its base (2, 4, 8 ... s).
MAX_TRIES = 6
BACKOFF_CAP_S = 300.0
# What a reply from the field means.
REPLIES = {"1": "diterima", "OK": "diterima", "2": "menuju_lokasi", "JALAN": "menuju_lokasi", "3": "tiba",
           "TIBA": "tiba", "4": "selesai", "SELESAI": "selesai"}


class UnitChannel(Base):
    """A channel a unit is reached on: its Telegram chat id, WhatsApp number or SMS number."""

    __tablename__ = "unit_channel"
    __table_args__ = (UniqueConstraint("unit_id", "channel", name="uq_unit_channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False, index=True)


class NotificationAttempt(Base):
    """One attempt to tell a unit of its dispatch on one channel, with its status as it moves."""

    __tablename__ = "notification_attempt"
    __table_args__ = (Index("ix_notification_attempt_due", "status", "next_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    incident_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[str | None] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(120))
    tries: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # The queue (migration 0030): where to, what, when due, and when a worker took it.
    address: Mapped[str | None] = mapped_column(String(1000))
    body: Mapped[str | None] = mapped_column(Text)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def _digits(address: str) -> str:
    """A phone number as the channels use it: international digits (0812... and +62 812... are one number)."""
    phone = normalise(address)
    return "".join(c for c in (phone.e164 or address) if c.isdigit())


def unit_channels(session: Session, unit_id: int) -> list[dict[str, Any]]:
    """The channels a unit is reached on."""
    rows = session.scalars(select(UnitChannel).where(UnitChannel.unit_id == unit_id).order_by(UnitChannel.id))
    return [{"channel": r.channel, "address": r.address} for r in rows]


def set_unit_channels(session: Session, unit_id: int, channels: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Replace a unit's channels (channel, address); phone numbers kept as digits."""
    if session.get(Unit, unit_id) is None:
        raise UnitNotFoundError(unit_id)
    for channel, address in channels:
        if channel not in CHANNELS[1:4]:
            raise InvalidInput(f"Saluran tidak dikenal '{channel}'", f"Unknown channel '{channel}'", field="channel",
                               valid=list(CHANNELS[1:4]))
        if not address.strip() or (channel in ("whatsapp", "sms") and len(_digits(address)) < 6):
            raise InvalidInput("Alamat saluran kosong atau bukan nomor", "Channel address empty or not a number",
                               field="address")
    for row in session.scalars(select(UnitChannel).where(UnitChannel.unit_id == unit_id)):
        session.delete(row)
    session.flush()
    for channel, address in channels:
        value = _digits(address) if channel in ("whatsapp", "sms") else address.strip()
        session.add(UnitChannel(unit_id=unit_id, channel=channel, address=value))
    session.flush()
    return unit_channels(session, unit_id)


def unit_for_address(session: Session, channel: str, address: str) -> int | None:
    """The unit registered with this chat id / number on the channel, or None (an unknown sender)."""
    value = _digits(address) if channel in ("whatsapp", "sms") else address.strip()
    if not value:
        return None
    return session.scalar(select(UnitChannel.unit_id).where(UnitChannel.channel == channel,
                                                            UnitChannel.address == value))


def open_assignment(session: Session, unit_id: int) -> DispatchAssignment | None:
    """The unit's open assignment, or None."""
    return session.scalars(select(DispatchAssignment).where(DispatchAssignment.unit_id == unit_id,
                                                            DispatchAssignment.released_at.is_(None))).first()


def open_assignment_by_id(session: Session, assignment_id: int) -> DispatchAssignment | None:
    """The assignment with this id while it is open, or None."""
    row = session.get(DispatchAssignment, assignment_id)
    return row if row is not None and row.released_at is None else None


def new_attempt(session: Session, row: DispatchAssignment, channel: str, *, status: str = "queued",
                address: str | None = None, body: str | None = None) -> int:
    """Record an attempt to reach the unit of an assignment on a channel; its id. Queued with an address and a
    body, it is due now: the notification worker sends it once the caller's transaction commits."""
    now = utcnow()
    queued = status == "queued" and address is not None
    attempt = NotificationAttempt(assignment_id=row.id, incident_id=row.incident_id, unit_id=row.unit_id,
                                  channel=channel, status=status, created_at=now, updated_at=now,
                                  tries=0 if queued else 1, address=address, body=body,
                                  next_at=now if queued else None)
    session.add(attempt)
    session.flush()
    return attempt.id


def claim_due(session: Session, *, now: datetime, lease_s: float, limit: int = 20) -> list[dict[str, Any]]:
    """Take the attempts due now for sending (status ``sending``, one more try), in the caller's transaction.

    Due: queued or retried with ``next_at`` passed, and ``sending`` claims older than the lease, left by a worker
    that died mid-send. Those are sent again: delivery is at-least-once (a dispatch not heard is worse than one
    heard twice; only a message on the wire when the process died can come twice). PostgreSQL: rows another
    worker holds are skipped (SKIP LOCKED); SQLite: the write lock serialises claims.
    """
    q = (select(NotificationAttempt)
         .where(or_(NotificationAttempt.status.in_(("queued", "retried")) & (NotificationAttempt.next_at <= now),
                    (NotificationAttempt.status == "sending")
                    & (NotificationAttempt.claimed_at <= now - timedelta(seconds=lease_s))))
         .order_by(NotificationAttempt.next_at, NotificationAttempt.id).limit(limit)
         .with_for_update(skip_locked=True))
    out = []
    for a in session.scalars(q):
        a.status, a.claimed_at, a.updated_at, a.tries = "sending", now, now, a.tries + 1
        out.append({"id": a.id, "channel": a.channel, "address": a.address, "body": a.body, "tries": a.tries,
                    "unit_id": a.unit_id})
    session.flush()
    return out


def settle_attempt(session: Session, attempt_id: int, *, ok: bool, detail: str | None, external_id: str | None,
                   now: datetime, final: bool = False, max_tries: int = MAX_TRIES, backoff_s: float = 2.0) -> str:
    """Record how a send went: sent, or retried after a back-off, or failed (after MAX_TRIES, or at once when
    `final`: no retry can help); the new status."""
    a = session.get(NotificationAttempt, attempt_id)
    if a is None:
        return "gone"
    if ok:
        a.status, a.next_at = "sent", None
    elif a.tries < max_tries and not final:
        a.status, a.next_at = "retried", now + timedelta(seconds=min(BACKOFF_CAP_S, backoff_s * 2.0 ** (a.tries - 1)))
    else:
        a.status, a.next_at = "failed", None
    a.updated_at, a.claimed_at = now, None
    if detail is not None:
        a.detail = detail[:300]
    if external_id is not None:
        a.external_id = external_id[:120]
    return a.status


def next_due(session: Session) -> datetime | None:
    """When the next queued or retried attempt is due (None: nothing waits)."""
    return session.scalars(select(NotificationAttempt.next_at).where(
        NotificationAttempt.status.in_(("queued", "retried", "sending")), NotificationAttempt.next_at.is_not(None))
        .order_by(NotificationAttempt.next_at).limit(1)).first()


def mark_attempt(session: Session, attempt_id: int, status: str, *, detail: str | None = None,
                 external_id: str | None = None) -> None:
    """Move an attempt to a status (a retry counts one more try)."""
    attempt = session.get(NotificationAttempt, attempt_id)
    if attempt is None:
        return
    if status == "retried":
        attempt.tries += 1
    attempt.status, attempt.updated_at = status, utcnow()
    if detail is not None:
        attempt.detail = detail[:300]
    if external_id is not None:
        attempt.external_id = external_id[:120]


def mark_external(session: Session, channel: str, external_id: str, status: str) -> bool:
    """A delivery receipt (delivered, read, failed) for a message the channel named; False when unknown."""
    attempt = session.scalars(select(NotificationAttempt).where(NotificationAttempt.channel == channel,
                                                                NotificationAttempt.external_id == external_id)).first()
    if attempt is None or status not in ATTEMPT_STATUSES:
        return False
    attempt.status, attempt.updated_at = status, utcnow()
    return True


def attempt_fields(a: NotificationAttempt) -> dict[str, Any]:
    """An attempt as the dispatcher sees it."""
    return {"id": a.id, "assignment_id": a.assignment_id, "incident_id": a.incident_id, "unit_id": a.unit_id,
            "channel": a.channel, "status": a.status, "detail": a.detail, "tries": a.tries,
            "created_at": iso_utc(a.created_at), "updated_at": iso_utc(a.updated_at)}


def attempts_for(session: Session, *, incident_id: int | None = None,
                 assignment_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Notification attempts of an incident or of assignments, oldest first."""
    q = select(NotificationAttempt)
    if incident_id is not None:
        q = q.where(NotificationAttempt.incident_id == incident_id)
    if assignment_ids is not None:
        q = q.where(NotificationAttempt.assignment_id.in_(assignment_ids or [-1]))
    return [attempt_fields(a) for a in session.scalars(q.order_by(NotificationAttempt.id))]


def unacknowledged(session: Session, *, after_s: float, now: datetime | None = None) -> list[dict[str, Any]]:
    """Open assignments still 'dikirim' (not acknowledged) longer than `after_s`: the dispatcher's alerts."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=after_s)
    rows = session.execute(
        select(DispatchAssignment, Unit.callsign, Incident.number)
        .join(Unit, Unit.id == DispatchAssignment.unit_id).join(Incident, Incident.id == DispatchAssignment.incident_id)
        .where(DispatchAssignment.released_at.is_(None), DispatchAssignment.status == "dikirim",
               DispatchAssignment.at <= cutoff)
        .order_by(DispatchAssignment.at)
    ).all()
    attempts = attempts_for(session, assignment_ids=[r[0].id for r in rows])
    return [{"assignment_id": a.id, "unit_id": a.unit_id, "callsign": callsign, "incident_id": a.incident_id,
             "incident_number": number, "dispatched_at": iso_utc(a.at),
             "waiting_s": round((now - a.at).total_seconds()),
             "attempts": [x for x in attempts if x["assignment_id"] == a.id]} for a, callsign, number in rows]


def open_attempts(session: Session) -> dict[int, list[dict[str, Any]]]:
    """Per unit on a call, the latest attempt on each channel for its open assignment (what the board shows)."""
    open_ids = select(DispatchAssignment.id).where(DispatchAssignment.released_at.is_(None))
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for a in session.scalars(select(NotificationAttempt).where(NotificationAttempt.assignment_id.in_(open_ids))
                             .order_by(NotificationAttempt.id)):
        latest[(a.unit_id, a.channel)] = attempt_fields(a)
    out: dict[int, list[dict[str, Any]]] = {}
    for (unit_id, _), fields in latest.items():
        out.setdefault(unit_id, []).append(fields)
    return out


def apply_reply(w: Writer, unit_id: int, text: str) -> dict[str, Any]:
    """Move the unit's open assignment by a reply ('1'/'OK', '2'/'JALAN', '3'/'TIBA', '4'/'SELESAI')."""
    word = (text or "").strip().upper().split()[:1]
    step = REPLIES.get(word[0]) if word else None
    if step is None:
        return {"applied": False, "reason": "balasan tidak dikenal / unknown reply"}
    with w.sessions() as session:
        row = open_assignment(session, unit_id)
        incident_id = row.incident_id if row is not None else None
        if row is not None:
            answered = select(NotificationAttempt).where(NotificationAttempt.assignment_id == row.id,
                                                         NotificationAttempt.status.in_(("sent", "delivered")))
            for attempt in session.scalars(answered):
                attempt.status, attempt.updated_at = "read", utcnow()
            session.commit()
    if incident_id is None:
        return {"applied": False, "reason": "unit tidak sedang bertugas / unit is not on a call"}
    if step == "selesai":
        assignment_commands.clear(w, incident_id, unit_id, "selesai (balasan kru)")
    else:
        assignment_commands.report(w, incident_id, unit_id, step)
    return {"applied": True, "step": step, "incident_id": incident_id}


# -- Web Push: the platform's VAPID key pair and the crew phones' push subscriptions --------------------------------
class VapidKey(Base):
    """The platform's VAPID key pair for Web Push (one row; the private key as PEM, the public as base64url)."""

    __tablename__ = "vapid_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    private_pem: Mapped[str] = mapped_column(String(400), nullable=False)
    public_key: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class PushSubscription(Base):
    """A crew phone's Web Push subscription (endpoint and its keys), for its unit's dispatches."""

    __tablename__ = "push_subscription"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), nullable=False, unique=True)
    p256dh: Mapped[str] = mapped_column(String(200), nullable=False)
    auth: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


def ensure_vapid_key(session: Session, *, rotate: bool = False) -> str:
    """The stored VAPID public key (base64url), made now when there is none (or when `rotate`)."""
    row = session.scalars(select(VapidKey).order_by(VapidKey.id.desc())).first()
    if row is not None and not rotate:
        return row.public_key
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    raw = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    public = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    session.add(VapidKey(private_pem=pem, public_key=public, created_at=utcnow()))
    session.flush()
    return public


def vapid_key(session: Session) -> tuple[str, str] | None:
    """(private PEM, public base64url) of the newest VAPID key, or None before `sigap crew vapid`."""
    row = session.scalars(select(VapidKey).order_by(VapidKey.id.desc())).first()
    return None if row is None else (row.private_pem, row.public_key)


def save_subscription(session: Session, *, device_id: int, unit_id: int, endpoint: str, p256dh: str,
                      auth: str) -> dict[str, Any]:
    """Store (or move to this device) a push subscription."""
    row = session.scalars(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).first()
    if row is None:
        row = PushSubscription(endpoint=endpoint, created_at=utcnow(), device_id=device_id, unit_id=unit_id,
                               p256dh=p256dh, auth=auth)
        session.add(row)
    row.device_id, row.unit_id, row.p256dh, row.auth = device_id, unit_id, p256dh, auth
    session.flush()
    return {"id": row.id, "unit_id": unit_id, "endpoint": endpoint}


def push_subscription(session: Session, subscription_id: int) -> dict[str, Any] | None:
    """One push subscription of an unrevoked device, as pywebpush takes it; None when gone or revoked."""
    from store.crew import CrewDevice

    r = session.scalars(select(PushSubscription).join(CrewDevice, CrewDevice.id == PushSubscription.device_id)
                        .where(PushSubscription.id == subscription_id, CrewDevice.revoked_at.is_(None))).first()
    return None if r is None else {"endpoint": r.endpoint, "keys": {"p256dh": r.p256dh, "auth": r.auth}}


def push_subscription_ids(session: Session, unit_id: int) -> list[int]:
    """The ids of the unit's push subscriptions of unrevoked devices."""
    from store.crew import CrewDevice

    return [int(i) for i in session.scalars(
        select(PushSubscription.id).join(CrewDevice, CrewDevice.id == PushSubscription.device_id)
        .where(PushSubscription.unit_id == unit_id, CrewDevice.revoked_at.is_(None)).order_by(PushSubscription.id))]


def push_subscriptions(session: Session, unit_id: int) -> list[dict[str, Any]]:
    """The unit's push subscriptions of unrevoked devices, as pywebpush takes them."""
    from store.crew import CrewDevice

    rows = session.scalars(select(PushSubscription).join(CrewDevice, CrewDevice.id == PushSubscription.device_id)
                           .where(PushSubscription.unit_id == unit_id, CrewDevice.revoked_at.is_(None)))
    return [{"endpoint": r.endpoint, "keys": {"p256dh": r.p256dh, "auth": r.auth}} for r in rows]
