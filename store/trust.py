"""Shared guard state kept in the database so every worker sees it: rate buckets, login back-off, idempotency."""

from __future__ import annotations

import hashlib
import math
import time
from datetime import datetime

from sqlalchemy import Float, Integer, String, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from geo.errors import NotFound
from geo.times import utcnow
from store.incidents import StoredIncident, read_incident
from store.models import Base
from store.types import UTCDateTime

__all__ = [
    "StreamLease",
    "release_stream_lease",
    "renew_stream_lease",
    "take_stream_lease",
    "IdempotencyKey",
    "LoginFailure",
    "RateBucket",
    "clear_login_failures",
    "find_idempotent",
    "find_idempotent_incident",
    "idempotency_digest",
    "login_backoff_seconds",
    "note_login_failure",
    "remember_idempotent",
    "remember_idempotent_incident",
    "take_shared",
    "take_token",
]

# Failed logins of one account that are free; each further one starts a back-off of 4, 8, 16 ... s (at most 15 min).
FREE_FAILURES = 5
MAX_BACKOFF_S = 900.0


class RateBucket(Base):
    """A token bucket of one (client, rule), shared by every worker through the database."""

    __tablename__ = "rate_bucket"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, nullable=False)
    stamp: Mapped[float] = mapped_column(Float, nullable=False)


class LoginFailure(Base):
    """Consecutive failed logins of one username and until when the next attempt is refused."""

    __tablename__ = "login_failure"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    blocked_until: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)


class StreamLease(Base):
    """One open live stream, held by some worker until `expires` (epoch s) unless renewed: the stream caps count
    these, so they hold across workers, and a worker that died gives its streams' slots back when they expire."""

    __tablename__ = "stream_lease"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    expires: Mapped[float] = mapped_column(Float, nullable=False, index=True)


# Any constant: the key of the PostgreSQL advisory lock that makes count-then-insert of stream leases atomic.
_STREAM_LOCK = 112_0001


def take_stream_lease(
    session: Session, *, lease_id: str, username: str, per_user: int, total: int, ttl_s: float,
    now: float | None = None,
) -> str | None:
    """Take a stream slot for `username` (None), or say which cap is full ('user' or 'total'). The caller commits.

    Expired leases are dropped first. PostgreSQL: a transaction advisory lock serialises the count and the
    insert across workers; SQLite writes are serialised already.
    """
    now = time.time() if now is None else now
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _STREAM_LOCK})
    session.execute(delete(StreamLease).where(StreamLease.expires < now))
    if (session.scalar(select(func.count()).select_from(StreamLease)) or 0) >= total:
        return "total"
    mine = select(func.count()).select_from(StreamLease).where(StreamLease.username == username)
    if (session.scalar(mine) or 0) >= per_user:
        return "user"
    session.add(StreamLease(id=lease_id, username=username, expires=now + ttl_s))
    return None


def renew_stream_lease(session: Session, *, lease_id: str, username: str, ttl_s: float,
                       now: float | None = None) -> None:
    """Extend an open stream's lease (re-taken without a cap check if it lapsed meanwhile). The caller commits."""
    now = time.time() if now is None else now
    done = session.execute(update(StreamLease).where(StreamLease.id == lease_id).values(expires=now + ttl_s))
    if not done.rowcount:  # type: ignore[attr-defined]
        session.add(StreamLease(id=lease_id, username=username, expires=now + ttl_s))


def release_stream_lease(session: Session, *, lease_id: str) -> None:
    """Give an ended stream's slot back. The caller commits."""
    session.execute(delete(StreamLease).where(StreamLease.id == lease_id))


class IdempotencyKey(Base):
    """A client's Idempotency-Key for a call it created: a retry answers with the same incident."""

    __tablename__ = "idempotency_key"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def take_token(session: Session, *, key: str, per_minute: int, now: float | None = None) -> float:
    """0 when one request under `key` may go ahead (a token is taken), else the seconds to wait.

    The row is locked for the read-modify-write (FOR UPDATE on PostgreSQL; SQLite writes are serialised),
    so two workers never both spend the last token. The caller commits.
    """
    now = time.time() if now is None else now
    rate = per_minute / 60.0
    q = select(RateBucket).where(RateBucket.key == key)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    bucket = session.scalar(q)
    if bucket is None:
        bucket = RateBucket(key=key, tokens=float(per_minute), stamp=now)
        session.add(bucket)
        try:
            session.flush()
        except IntegrityError:  # another worker inserted it first: read theirs
            session.rollback()
            bucket = session.scalar(q)
            assert bucket is not None
    tokens = min(float(per_minute), bucket.tokens + max(0.0, now - bucket.stamp) * rate)
    if tokens >= 1.0:
        bucket.tokens, bucket.stamp = tokens - 1.0, now
        return 0.0
    bucket.tokens, bucket.stamp = tokens, now
    return (1.0 - tokens) / rate


def login_backoff_seconds(session: Session, *, username: str, now: float | None = None) -> float:
    """Seconds until this account may try again (0: now)."""
    now = time.time() if now is None else now
    row = session.get(LoginFailure, username[:64])
    return 0.0 if row is None else max(0.0, row.blocked_until - now)


def note_login_failure(session: Session, *, username: str, now: float | None = None) -> float:
    """Count one failed login and return the back-off it starts (exponential after FREE_FAILURES)."""
    now = time.time() if now is None else now
    name = username[:64]
    q = select(LoginFailure).where(LoginFailure.username == name)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    row = session.scalar(q)
    if row is None:
        row = LoginFailure(username=name, failures=0, blocked_until=0.0)
        session.add(row)
    row.failures += 1
    over = row.failures - FREE_FAILURES
    wait = 0.0 if over <= 0 else min(MAX_BACKOFF_S, math.pow(2.0, over + 1))
    row.blocked_until = now + wait
    return wait


def clear_login_failures(session: Session, *, username: str) -> None:
    """Forget the failures of an account after a good login."""
    session.execute(delete(LoginFailure).where(LoginFailure.username == username[:64]))


def find_idempotent(session: Session, key: str) -> int | None:
    """The incident id created under this key, or None."""
    return session.scalar(select(IdempotencyKey.incident_id).where(IdempotencyKey.key == key))


def remember_idempotent(session: Session, key: str, incident_id: int) -> None:
    """Store the key of a newly created call (the caller commits)."""
    session.add(IdempotencyKey(key=key, incident_id=incident_id, created_at=utcnow()))


def idempotency_digest(username: str, key: str) -> str:
    """The stored form of a client's Idempotency-Key: scoped to the account, any length or bytes, fixed size."""
    return hashlib.sha256(f"{username}\x1f{key}".encode("utf-8", "surrogatepass")).hexdigest()


def find_idempotent_incident(sessions: sessionmaker[Session], key: str) -> StoredIncident | None:
    """The incident a previous attempt with this key created, or None."""
    with sessions() as session:
        incident_id = find_idempotent(session, key)
        if incident_id is None:
            return None
        try:
            return read_incident(session, incident_id)
        except NotFound:
            return None


def remember_idempotent_incident(sessions: sessionmaker[Session], key: str, incident_id: int) -> None:
    """Store the key of a created call; a key stored meanwhile by another worker is kept as it is."""
    with sessions() as session:
        try:
            remember_idempotent(session, key, incident_id)
            session.commit()
        except IntegrityError:
            session.rollback()


def take_shared(sessions: sessionmaker[Session], *, key: str, per_minute: int) -> float:
    """`take_token` in a transaction of its own: 0 when the request may go ahead, else the seconds to wait."""
    with sessions() as session:
        wait = take_token(session, key=key[:200], per_minute=per_minute)
        session.commit()
        return wait
