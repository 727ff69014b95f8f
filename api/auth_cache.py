"""Per-process memory of checked token signatures and of accounts, forgotten whenever an account changes.

Every request checks its account (active, role, token version): a logout, password change, role change or
disabling in any worker or from the command line refuses old tokens at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from sqlalchemy.orm import Session, sessionmaker

from store.accounts import AccountWatcher, account_row, watch_account_changes

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The logged-in account as the routes see it: no password hash, safe to share between threads."""

    id: int
    username: str
    role: str
    full_name: str
    agency: str | None
    token_version: int = 0


@dataclass(frozen=True)
class TokenClaims:
    """What a checked token says: the account name, its id and token version, and the expiry (epoch s)."""

    subject: str
    user_id: int | None
    version: int | None
    expires: float


class PrincipalCache(AccountWatcher):
    """Per-process memory of accounts by id (active, role, token version), forgotten whenever any account changes.

    Reading the account on every request halved call intake on SpatiaLite. Revocation still applies at once:
    a change committed in this process clears the memory at commit; other processes are heard through the
    database. SQLite: a trigger-kept epoch, read per request on a raw connection. PostgreSQL: the app_user
    trigger's NOTIFY, heard by the event hub's listener; while that listener is not connected (start-up, a lost
    connection) nothing is remembered, and every (re)connection forgets all, so no grant outlives a gap.
    """

    MAX_ITEMS = 10_000

    def __init__(self, *, allow_demo: bool = True, epoch: Callable[[], int] | None = None,
                 listening: threading.Event | None = None) -> None:
        self.allow_demo = allow_demo
        self._epoch_reader = epoch
        self._listening = listening
        self._epoch = -1
        # (account,) or (None,) for a disabled one: a 1-tuple, so a miss and a known-disabled account differ.
        self._items: dict[int, tuple[Principal | None]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        watch_account_changes(self)

    def accounts_changed(self) -> None:
        """Forget every account (an account changed somewhere, or the channel that says so was interrupted)."""
        with self._lock:
            self._items.clear()
            self._generation += 1

    def _usable(self) -> bool:
        """True when remembered accounts may be used now (checks the SQLite epoch first)."""
        if self._epoch_reader is not None:
            epoch = self._epoch_reader()
            with self._lock:
                if epoch != self._epoch:
                    self._items.clear()
                    self._generation += 1
                    self._epoch = epoch
            return True
        return self._listening is not None and self._listening.is_set()

    def cached(self, user_id: int | None, username: str) -> tuple[bool, Principal | None]:
        """(True, the account) when this process knows the account behind a token, else (False, None)."""
        if user_id is None or not self._usable():
            return False, None
        entry = self._items.get(user_id)  # one read: another thread may clear the memory meanwhile
        if entry is None or (entry[0] is not None and entry[0].username != username):
            return False, None
        return True, entry[0]

    def load(self, sessions: sessionmaker[Session], username: str) -> Principal | None:
        """The active account with this username (None when missing, disabled, or a demo account outside demo)."""
        usable = self._usable()
        generation = self._generation
        with sessions() as session:
            user = account_row(session, username)
        principal = None
        if user is not None and user.active and not (user.demo and not self.allow_demo):
            principal = Principal(user.id, user.username, user.role, user.full_name, user.agency, user.token_version)
        if usable and user is not None:
            with self._lock:
                # Not remembered when an account changed while it was read: the row may be the older one.
                if generation == self._generation:
                    if len(self._items) >= self.MAX_ITEMS:
                        self._items.clear()
                    self._items[user.id] = (principal,)
        return principal

    def forget(self, username: str) -> None:
        """Forget every account (kept so callers that change an account can say so)."""
        self.accounts_changed()


class TokenCache:
    """Tokens whose signature this process has already checked, with their subject and expiry.

    A console sends the same token with every request; checking its HMAC once instead of each time
    takes the signature work off the hot path. Expiry is still checked on every use.
    """

    MAX_ITEMS = 4096

    def __init__(self) -> None:
        self._items: dict[str, TokenClaims] = {}

    def verify(self, token: str, *, secret: str) -> str:
        """The token's subject; raises jwt.ExpiredSignatureError or jwt.InvalidTokenError."""
        return self.claims(token, secret=secret).subject

    def claims(self, token: str, *, secret: str) -> TokenClaims:
        """The token's checked claims; raises jwt.ExpiredSignatureError or jwt.InvalidTokenError."""
        hit = self._items.get(token)
        if hit is None:
            raw = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
            uid, ver = raw.get("uid"), raw.get("ver")
            hit = TokenClaims(
                subject=str(raw["sub"]),
                user_id=uid if isinstance(uid, int) else None,
                version=ver if isinstance(ver, int) else None,
                expires=float(raw["exp"]),
            )
            if len(self._items) >= self.MAX_ITEMS:
                self._items.clear()
            self._items[token] = hit
        if hit.expires <= time.time():
            raise jwt.ExpiredSignatureError("Signature has expired")
        return hit


