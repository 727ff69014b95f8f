"""Per-process memory of checked tokens and loaded accounts, so a read request costs no query or HMAC."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import jwt
from sqlalchemy.orm import Session, sessionmaker

from store.accounts import find_user

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The logged-in account as the routes see it: no password hash, safe to share between threads."""

    id: int
    username: str
    role: str
    full_name: str
    agency: str | None


class PrincipalCache:
    """Accounts by username for a few seconds, so a read request costs a token check, not a query."""

    TTL_S = 30.0

    def __init__(self) -> None:
        self._items: dict[str, tuple[Principal | None, float]] = {}
        self._lock = threading.Lock()

    def fresh(self, username: str) -> tuple[bool, Principal | None]:
        """(True, account) when the memory still holds a fresh answer for this username."""
        with self._lock:
            hit = self._items.get(username)
        if hit and hit[1] > time.monotonic():
            return True, hit[0]
        return False, None

    def load(self, sessions: sessionmaker[Session], username: str) -> Principal | None:
        """Read the account from the database and remember the answer."""
        now = time.monotonic()
        with sessions() as session:
            user = find_user(session, username)
            found = None
            if user is not None and user.active:
                found = Principal(user.id, user.username, user.role, user.full_name, user.agency)
        with self._lock:
            self._items[username] = (found, now + self.TTL_S)
        return found

    def forget(self, username: str) -> None:
        """Drop an account so a role change or deactivation applies at once in this process."""
        with self._lock:
            self._items.pop(username, None)


class TokenCache:
    """Tokens whose signature this process has already checked, with their subject and expiry.

    A console sends the same token with every request; checking its HMAC once instead of each time
    takes the signature work off the hot path. Expiry is still checked on every use.
    """

    MAX_ITEMS = 4096

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}

    def verify(self, token: str, *, secret: str) -> str:
        """The token's subject; raises jwt.ExpiredSignatureError or jwt.InvalidTokenError."""
        hit = self._items.get(token)
        if hit is None:
            claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
            hit = (str(claims["sub"]), float(claims["exp"]))
            if len(self._items) >= self.MAX_ITEMS:
                self._items.clear()
            self._items[token] = hit
        if hit[1] <= time.time():
            raise jwt.ExpiredSignatureError("Signature has expired")
        return hit[0]


