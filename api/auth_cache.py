"""Per-process memory of checked token signatures, and the per-request account check against the database.

The account (active, role, token version) is read from the database on every request: a logout, password
change, role change or disabling in any worker or from the command line refuses old tokens at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from sqlalchemy.orm import Session, sessionmaker

from store.accounts import account_row

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


class PrincipalCache:
    """Reads the account behind a token; no memory between requests, so revocation applies at once."""

    def __init__(self, *, allow_demo: bool = True) -> None:
        self.allow_demo = allow_demo

    def load(self, sessions: sessionmaker[Session], username: str) -> Principal | None:
        """The active account with this username (None when missing, disabled, or a demo account outside demo)."""
        with sessions() as session:
            user = account_row(session, username)
        if user is None or not user.active or (user.demo and not self.allow_demo):
            return None
        return Principal(user.id, user.username, user.role, user.full_name, user.agency, user.token_version)

    def forget(self, username: str) -> None:
        """Nothing is remembered; kept so callers that change an account can say so."""


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


