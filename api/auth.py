"""Login (OAuth2 password flow), bearer tokens, and role checks as injectable dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from api.auth_cache import ALGORITHM, Principal
from api.config import Settings
from api.context import AppContext
from api.deps import SessionDep, SettingsDep
from api.errors import Forbidden, Unauthorized
from geo.times import utcnow
from store.accounts import User, authenticate, record_audit
from store.crew import DeviceAuth, device_for_token

router = APIRouter(prefix="/api/auth", tags=["auth"])

COOKIE = "sigap_token"
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)

ROLE_LABELS = {
    "dispatcher": ("Operator 112", "Dispatcher"),
    "supervisor": ("Supervisor (kepala regu)", "Supervisor (shift lead)"),
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
            actor=form.username[:64].replace("\x00", ""),  # PostgreSQL cannot store NUL in text
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


async def current_user(request: Request, bearer: Annotated[str | None, Depends(oauth2)]) -> Principal:
    """The logged-in user from the bearer token, or from the cookie for safe (read) requests."""
    return await _authenticate(request, bearer)


async def _authenticate(request: Request, bearer: str | None) -> Principal:
    ctx: AppContext = request.app.state.ctx
    settings = ctx.settings
    token = bearer
    if token is None and request.method in ("GET", "HEAD"):
        token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("Silakan masuk terlebih dahulu", "Please log in first")
    try:
        username = ctx.tokens.verify(token, secret=settings.secret_key)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Sesi berakhir; silakan masuk lagi", "Session expired; please log in again") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("Token tidak sah", "Invalid token") from exc
    known, user = ctx.principals.fresh(username)
    if not known:
        user = await run_in_threadpool(ctx.principals.load, ctx.read_sessions, username)
    if user is None:
        raise Unauthorized("Akun tidak aktif", "Account is not active")
    return user


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
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


async def crew_device(request: Request, bearer: Annotated[str | None, Depends(oauth2)]) -> DeviceAuth:
    """The paired, unrevoked crew phone of the token in the Authorization header (looked up on every request,
    so a revocation applies to the next one). Never a cookie: the crew page sends its token itself."""
    if not bearer:
        raise Unauthorized("Perangkat belum dipasangkan", "Device is not paired")
    ctx: AppContext = request.app.state.ctx

    def lookup() -> DeviceAuth | None:
        with ctx.read_sessions() as session:
            return device_for_token(session, bearer)

    device = await run_in_threadpool(lookup)
    if device is None:
        raise Unauthorized("Token perangkat tidak sah atau dicabut", "Device token invalid or revoked")
    return device


CrewDep = Annotated[DeviceAuth, Depends(crew_device)]
CurrentUser = Annotated[Principal, Depends(current_user)]
# Supervisors (shift leads) may do whatever an operator does, and more: flag numbers, read call statistics.
ReaderDep = Annotated[Principal, Depends(require_roles("dispatcher", "supervisor", "planner", "leader", "admin"))]
DispatcherDep = Annotated[Principal, Depends(require_roles("dispatcher", "supervisor", "admin"))]
SupervisorDep = Annotated[Principal, Depends(require_roles("supervisor", "admin"))]
PlannerDep = Annotated[Principal, Depends(require_roles("planner", "admin"))]
OperatorDep = Annotated[Principal, Depends(require_roles("dispatcher", "supervisor", "planner", "admin"))]
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
