"""Login (OAuth2 password flow), bearer tokens, and role checks as injectable dependencies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlalchemy import select

from api.config import Settings
from api.deps import SessionDep, SettingsDep
from api.errors import Forbidden, Unauthorized
from store.accounts import User, authenticate, record_audit, utcnow

router = APIRouter(prefix="/api/auth", tags=["auth"])

COOKIE = "sigap_token"
ALGORITHM = "HS256"
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)

ROLE_LABELS = {
    "dispatcher": ("Operator 112", "Dispatcher"),
    "planner": ("Perencana BPBD", "BPBD planner"),
    "leader": ("Pimpinan (hanya baca)", "Leader (read-only)"),
    "admin": ("Administrator", "Administrator"),
}


def issue_token(user: User | Principal, settings: Settings) -> tuple[str, int]:
    """A signed bearer token for the user and its lifetime in seconds."""
    ttl = settings.token_minutes * 60
    now = utcnow()
    claims = {"sub": user.username, "role": user.role, "iat": now, "exp": now + timedelta(seconds=ttl)}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), ttl


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/token", summary="Masuk / log in (OAuth2 password)")
def login(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> dict:
    """Exchange username and password for a bearer token (also set as an HttpOnly cookie for the map)."""
    user = authenticate(session, username=form.username, password=form.password)
    if user is None:
        record_audit(
            session,
            actor=form.username[:64],
            action="login_failed",
            entity="user",
            entity_id=None,
            client=_client(request),
        )
        session.commit()
        raise Unauthorized("Nama pengguna atau kata sandi salah", "Wrong username or password", field="password")
    token, ttl = issue_token(user, settings)
    record_audit(
        session,
        actor=user.username,
        action="login",
        entity="user",
        entity_id=user.id,
        client=_client(request),
    )
    session.commit()
    response.set_cookie(
        COOKIE, token, max_age=ttl, httponly=True, samesite="strict", secure=settings.mode == "production"
    )
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl,
        "user": {"username": user.username, "role": user.role, "full_name": user.full_name},
    }


@router.post("/logout", summary="Keluar / log out")
def logout(response: Response) -> dict:
    """Forget the map cookie."""
    response.delete_cookie(COOKIE)
    return {"ok": True}


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

    def load(self, request: Request, username: str) -> Principal | None:
        """Read the account from the database and remember the answer."""
        now = time.monotonic()
        with request.app.state.read_sessions() as session:
            user = session.scalar(select(User).where(User.username == username))
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


async def current_user(request: Request, bearer: Annotated[str | None, Depends(oauth2)]) -> Principal:
    """The logged-in user from the bearer token, or from the cookie for safe (read) requests."""
    return await _authenticate(request, bearer)


async def _authenticate(request: Request, bearer: str | None) -> Principal:
    settings: Settings = request.app.state.settings
    token = bearer
    if token is None and request.method in ("GET", "HEAD"):
        token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("Silakan masuk terlebih dahulu", "Please log in first")
    try:
        username = request.app.state.tokens.verify(token, secret=settings.secret_key)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Sesi berakhir; silakan masuk lagi", "Session expired; please log in again") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("Token tidak sah", "Invalid token") from exc
    cache: PrincipalCache = request.app.state.principals
    known, user = cache.fresh(username)
    if not known:
        user = await run_in_threadpool(cache.load, request, username)
    if user is None:
        raise Unauthorized("Akun tidak aktif", "Account is not active")
    return user


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency that lets only the given roles through (403 for others)."""

    # One dependency level, not two (check -> current_user): FastAPI resolves every level on every request.
    async def check(request: Request, bearer: Annotated[str | None, Depends(oauth2)]) -> Principal:
        user = await _authenticate(request, bearer)
        if user.role not in roles:
            raise Forbidden(
                f"Peran '{user.role}' tidak boleh melakukan ini; perlu: {', '.join(roles)}",
                f"Role '{user.role}' may not do this; needs: {', '.join(roles)}",
                allowed_roles=list(roles),
            )
        return user

    return check


CurrentUser = Annotated[Principal, Depends(current_user)]
ReaderDep = Annotated[Principal, Depends(require_roles("dispatcher", "planner", "leader", "admin"))]
DispatcherDep = Annotated[Principal, Depends(require_roles("dispatcher", "admin"))]
PlannerDep = Annotated[Principal, Depends(require_roles("planner", "admin"))]
OperatorDep = Annotated[Principal, Depends(require_roles("dispatcher", "planner", "admin"))]
AdminDep = Annotated[Principal, Depends(require_roles("admin"))]


@router.get("/me", summary="Akun saya / who am I")
def me(user: CurrentUser) -> dict:
    """The logged-in account, without secrets."""
    label_id, label_en = ROLE_LABELS[user.role]
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "agency": user.agency,
        "role_label_id": label_id,
        "role_label_en": label_en,
    }
