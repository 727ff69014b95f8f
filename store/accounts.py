"""Accounts with roles, and the append-only audit log."""

from __future__ import annotations

import secrets
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import BigInteger, Boolean, Engine, Integer, Row, Select, String, bindparam, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from geo.times import utcnow
from store.db import raw_sqlite_connection
from store.models import Base
from store.types import JSONType, UTCDateTime, db_time

__all__ = [
    "ACCOUNTS_CHANNEL",
    "AccountEpoch",
    "account_epoch_reader",
    "account_row",
    "watch_account_changes",
    "DEMO_ACCOUNTS",
    "ROLES",
    "AuditFilter",
    "AuditRecord",
    "User",
    "WeakPasswordError",
    "add_user",
    "audit_entries",
    "audit_read",
    "audit_page",
    "authenticate",
    "check_password_strength",
    "clip_client",
    "delete_user",
    "disable_demo_accounts",
    "ensure_demo_accounts",
    "find_user",
    "hash_password",
    "list_users",
    "record_audit",
    "revoke_tokens",
    "set_active",
    "set_password",
    "verify_password",
]

ROLES = ("dispatcher", "supervisor", "planner", "leader", "admin")
# RFC 9106's second recommended setting (64 MiB, 3 passes, 4 lanes), written out: a library default may change.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)


class User(Base):
    """A person who logs in: dispatcher (operator 112), planner (BPBD), leader (read-only) or admin."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    agency: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Raised by logout, password change, role change and disabling: tokens carry the version they were
    # issued under and are refused once it moved on.
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class AccountEpoch(Base):
    """One value a database trigger renews (at random) on every change to an account (any writer, any process)."""

    __tablename__ = "account_epoch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)


# PostgreSQL: the app_user trigger NOTIFYs this channel at commit (migration 0025).
ACCOUNTS_CHANNEL = "sigap_accounts"


class AccountWatcher:
    """What an account cache offers to be told: something about some account changed."""

    def accounts_changed(self) -> None:
        """Forget what is known of accounts."""
        raise NotImplementedError


# This process's account caches: told at once when a session of this process commits an account change (the
# database's own announcement reaches the other processes).
_watchers: weakref.WeakSet[AccountWatcher] = weakref.WeakSet()
_CHANGED = "sigap_accounts_changed"


def watch_account_changes(watcher: AccountWatcher) -> None:
    """Tell `watcher` whenever a session of this process commits a change to an account."""
    _watchers.add(watcher)


@event.listens_for(Session, "after_flush")
def _note_account_change(session: Session, _ctx: object) -> None:
    if any(isinstance(obj, User) for objs in (session.new, session.dirty, session.deleted) for obj in objs):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _tell_account_watchers(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for watcher in list(_watchers):
            watcher.accounts_changed()


@event.listens_for(Session, "after_rollback")
def _forget_account_change(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def account_epoch_reader(engine: Engine) -> Callable[[], int] | None:
    """SQLite file: a function reading the account epoch on a per-thread raw connection (microseconds, no
    pool, no SpatiaLite); None for other databases."""
    url = make_url(engine.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = url.database
    local = threading.local()

    def read() -> int:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = raw_sqlite_connection(path)
        # fetchall, not fetchone: a statement left unfinished keeps its read transaction (and old snapshot) open.
        rows = conn.execute("SELECT n FROM account_epoch WHERE id = 1").fetchall()
        return int(rows[0][0]) if rows else 0

    return read


class AuditRecord(Base):
    """One append-only audit entry: who did what to which record, with before and after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48), nullable=False)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    client: Mapped[str | None] = mapped_column(String(64))


class WeakPasswordError(ValueError):
    """A password too short or too plain to protect an emergency system."""


def check_password_strength(password: str, *, username: str) -> None:
    """Refuse passwords under 10 characters, equal to the username, or of one character class."""
    classes = sum(any(f(c) for c in password) for f in (str.islower, str.isupper, str.isdigit))
    classes += any(not c.isalnum() for c in password)
    if len(password) < 10 or password.lower() == username.lower() or classes < 2:
        raise WeakPasswordError(
            "Kata sandi minimal 10 karakter, berbeda dari nama pengguna, dan memakai dua jenis karakter / "
            "password needs at least 10 characters, must differ from the username and mix two kinds of characters"
        )


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the argon2 hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    full_name: str = "",
    agency: str | None = None,
    demo: bool = False,
    check_strength: bool = True,
) -> User:
    """Create an account (or reset its password and role when it exists)."""
    if role not in ROLES:
        raise ValueError(f"Peran tidak dikenal / unknown role '{role}'; pilih / choose: {', '.join(ROLES)}")
    if check_strength:
        check_password_strength(password, username=username)
    user = find_user(session, username)
    if user is None:
        # A random first version: a deleted and re-created account never accepts the old account's tokens.
        user = User(username=username, token_version=secrets.randbelow(1 << 30))
        session.add(user)
    else:
        # A reset (password, role) ends every session of the old one.
        user.token_version = (user.token_version or 0) + 1
    user.role, user.full_name, user.agency, user.demo, user.active = role, full_name, agency, demo, True
    user.password_hash = hash_password(password)
    session.flush()
    return user


def revoke_tokens(session: Session, user: User) -> int:
    """Refuse every token issued to this account so far (logout, password or role change); the new version."""
    user.token_version = (user.token_version or 0) + 1
    session.flush()
    return user.token_version


def set_password(session: Session, user: User, password: str) -> None:
    """Change an account's password (strength checked) and end its sessions."""
    check_password_strength(password, username=user.username)
    user.password_hash = hash_password(password)
    revoke_tokens(session, user)


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    user.active = active
    revoke_tokens(session, user)


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def delete_user(session: Session, user: User) -> None:
    """Remove an account (its audit entries stay; a re-created account gets a new id and version)."""
    session.delete(user)
    session.flush()


def disable_demo_accounts(session: Session) -> int:
    """Disable every demo account (and the simulator's) and end their sessions; how many were active."""
    users = list(session.scalars(select(User).where(User.demo.is_(True), User.active.is_(True))))
    for user in users:
        set_active(session, user, False)
        record_audit(session, actor="system", action="user.demo_disabled", entity="user", entity_id=user.id,
                     after={"username": user.username, "active": False})
    return len(users)


def find_user(session: Session, username: str) -> User | None:
    """The account with this username (active or not), or None."""
    # No stored name holds a NUL, and PostgreSQL refuses one in a query parameter: no such user.
    if "\x00" in username:
        return None
    return session.scalar(select(User).where(User.username == username))


_ACCOUNT_ROW = select(User.id, User.username, User.role, User.full_name, User.agency, User.token_version,
                      User.active, User.demo).where(User.username == bindparam("username"))


def account_row(session: Session, username: str) -> Row[Any] | None:
    """What every request checks of its account (columns, no ORM object: this runs once per request)."""
    if "\x00" in username:
        return None
    row: Row[Any] | None = session.execute(_ACCOUNT_ROW, {"username": username}).first()  # type: ignore[assignment]
    return row


def authenticate(sessions: sessionmaker[Session], *, username: str, password: str) -> User | None:
    """The active user with this username and password, or None, read in short sessions of its own.

    The password hash (tens to hundreds of milliseconds of CPU) is checked between them, outside any transaction:
    a login storm must not hold the database, and on SQLite a write session holds the one write lock that every
    emergency call needs. Pass read sessions (`make_read_sessionmaker`).
    """
    with sessions() as session:
        user = find_user(session, username)
        stored = user.password_hash if user is not None and user.active else None
    # Hash even for a missing or disabled account, so it takes as long as a wrong password.
    if not verify_password(stored or _dummy_hash(), password) or stored is None:
        return None
    with sessions() as session:
        user = find_user(session, username)
    # The password checked must still be the account's (not changed, account not disabled meanwhile).
    return user if user is not None and user.active and user.password_hash == stored else None


CLIENT_MAX = 64


def clip_client(client: str | None) -> str | None:
    """A client address fit for the audit column: printable characters only, at most 64 of them."""
    if client is None:
        return None
    if len(client) <= CLIENT_MAX and client.isprintable():
        return client
    return "".join(c for c in client[:4 * CLIENT_MAX] if c.isprintable())[:CLIENT_MAX] or None


def record_audit(
    session: Session,
    *,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client: str | None = None,
) -> AuditRecord:
    """Append an audit entry in the caller's transaction (it commits or rolls back with the change)."""
    rec = AuditRecord(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        client=clip_client(client),
        at=utcnow(),
    )
    session.add(rec)
    return rec


def audit_read(
    sessions: sessionmaker[Session],
    *,
    actor: str | None,
    action: str,
    entity: str,
    query: dict[str, Any],
    rows: int,
    client: str | None = None,
) -> None:
    """Record a bulk read or export of personal data (who, which filter, how many rows) in its own transaction."""
    clean = {k: (v if isinstance(v, int | float | bool) or v is None else str(v)[:200].replace("\x00", ""))
             for k, v in query.items()}
    with sessions() as session:
        record_audit(session, actor=actor, action=action, entity=entity, entity_id=None,
                     after={"filter": clean, "rows": rows}, client=client)
        session.commit()


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries to read: each field given narrows the selection."""

    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> Select[Any]:
        """The matching entries, unordered."""
        q = select(AuditRecord)
        for column, value in ((AuditRecord.entity, self.entity), (AuditRecord.entity_id, self.entity_id),
                              (AuditRecord.actor, self.actor), (AuditRecord.action, self.action)):
            if value is not None:
                q = q.where(column == value)
        if self.since is not None:
            q = q.where(AuditRecord.at >= db_time(self.since))
        if self.until is not None:
            q = q.where(AuditRecord.at < db_time(self.until))
        return q


def audit_page(session: Session, flt: AuditFilter, *, limit: int, offset: int) -> tuple[int, list[AuditRecord]]:
    """How many entries match, and one page of them, newest first."""
    q = flt.query()
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(AuditRecord.id.desc()).limit(limit).offset(offset)).all()
    return total, list(rows)


def audit_entries(session: Session, flt: AuditFilter) -> Iterator[AuditRecord]:
    """Every matching entry, oldest first, fetched in batches."""
    yield from session.scalars(flt.query().order_by(AuditRecord.id).execution_options(yield_per=1000))


@cache
def _dummy_hash() -> str:
    # Made at the first login of an unknown account, not at import: every process start would pay for it.
    return _hasher.hash("sigap-timing-equaliser")


DEMO_ACCOUNTS = (
    ("operator", "dispatcher", "Operator 112 (demo)", "Demo-Operator-112"),
    ("perencana", "planner", "Perencana BPBD (demo)", "Demo-Perencana-112"),
    ("pimpinan", "leader", "Pimpinan (demo)", "Demo-Pimpinan-112"),
    ("admin", "admin", "Administrator (demo)", "Demo-Admin-112"),
)


def ensure_demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """Create or reset the demo accounts; returns (username, role, password). Call only in demo mode on localhost."""
    out: list[tuple[str, str, str]] = []
    for username, role, full_name, password in DEMO_ACCOUNTS:
        existing = find_user(session, username)
        if existing is not None and not existing.demo:
            # A real account that happens to share the name is never overwritten.
            continue
        if (existing is None or not existing.active or existing.role != role
                or not verify_password(existing.password_hash, password)):
            user = add_user(session, username=username, password=password, role=role, full_name=full_name, demo=True)
            record_audit(
                session,
                actor="system",
                action="user.demo",
                entity="user",
                entity_id=user.id,
                after={"username": username, "role": role, "demo": True},
            )
        out.append((username, role, password))
    return out
