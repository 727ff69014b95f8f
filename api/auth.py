"""Login (OAuth2 password flow), bearer tokens, and role checks as injectable dependencies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from api.auth_cache import ALGORITHM, Principal, TokenClaims
from api.config import Settings
from api.context import AppContext
from api.deps import SessionDep, SettingsDep
from api.errors import Forbidden, RateLimited, SigapError, Unauthorized
from geo.times import utcnow
from store.accounts import User, authenticate, find_user, record_audit, revoke_tokens
from store.crew import DeviceAuth, device_for_token, token_digest
from store.trust import clear_login_failures, login_backoff_seconds, note_login_failure

log = logging.getLogger("sigap.auth")
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
    claims = {"sub": user.username, "uid": user.id, "ver": user.token_version, "role": user.role, "iat": now,
              "exp": now + timedelta(seconds=ttl)}
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
    """Exchange username and password for a bearer token (also set as an HttpOnly cookie for the map).

    Failed logins of one account back off exponentially (after 5 free tries, 4, 8, 16 ... s, in every worker);
    a refused, failed or broken attempt is audited with the client address.
    """
    actor = form.username[:64].replace("\x00", "")  # PostgreSQL cannot store NUL in text
    client = _client(request)
    ctx: AppContext = request.app.state.ctx
    try:
        # Read apart from the write session: no transaction is open while the password hash is computed.
        with ctx.read_sessions() as reader:
            wait = login_backoff_seconds(reader, username=actor)
        if wait > 0:
            record_audit(session, actor=actor, action="login_backoff", entity="user", entity_id=None, client=client,
                         after={"retry_after_s": round(wait)})
            session.commit()
            raise RateLimited(
                f"Terlalu banyak percobaan masuk yang gagal untuk akun ini; coba lagi dalam {wait:.0f} detik",
                f"Too many failed logins for this account; try again in {wait:.0f} s",
                field="username", retry_after_s=max(1, round(wait)),
            )
        user = authenticate(ctx.read_sessions, username=form.username, password=form.password)
        if user is not None and user.demo and not settings.demo_accounts_allowed:
            user = None  # demo accounts and their published passwords work only in demo mode on this machine
        if user is None:
            note_login_failure(session, username=actor)
            record_audit(session, actor=actor, action="login_failed", entity="user", entity_id=None, client=client)
            session.commit()
            raise Unauthorized("Nama pengguna atau kata sandi salah", "Wrong username or password", field="password")
        clear_login_failures(session, username=actor)
    except SigapError:
        raise
    except Exception:
        # A login that failed by an error (database down, a bug) is audited too, if the database still takes it.
        session.rollback()
        _audit_login_error(ctx, actor, client)
        raise
    token, ttl = issue_token(user, settings)
    record_audit(session, actor=user.username, action="login", entity="user", entity_id=user.id, client=client)
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
async def logout(request: Request, response: Response, bearer: Annotated[str | None, Depends(oauth2)]) -> dict:
    """End the session: every token of this account is refused from now on, and the map cookie is dropped."""
    response.delete_cookie(COOKIE)
    token = request_token(request, bearer)
    if token:
        try:
            user = await _authenticate_token(request, token)
        except Unauthorized:
            return {"ok": True}
        await run_in_threadpool(_revoke, request.app.state.ctx, user, _client(request))
    return {"ok": True}


def _audit_login_error(ctx: AppContext, actor: str, client: str | None) -> None:
    try:
        with ctx.sessions() as session:
            record_audit(session, actor=actor, action="login_error", entity="user", entity_id=None, client=client)
            session.commit()
    except Exception:  # noqa: BLE001 - the original error is what the client gets
        log.warning("login error could not be audited")


def _revoke(ctx: AppContext, user: Principal, client: str | None) -> None:
    with ctx.sessions() as session:
        found = find_user(session, user.username)
        if found is not None and found.id == user.id:
            revoke_tokens(session, found)
            record_audit(session, actor=user.username, action="logout", entity="user", entity_id=user.id,
                         client=client)
            session.commit()


async def current_user(request: Request, bearer: Annotated[str | None, Depends(oauth2)]) -> Principal:
    """The logged-in user from the bearer token, or from the cookie for safe (read) requests."""
    return await _authenticate(request, bearer)


CSRF_HEADER = "x-sigap-csrf"


def request_token(request: Request, bearer: str | None) -> str | None:
    """The bearer token, or the map cookie: for reads, and for writes sent by the map pages' own script.

    A write with the cookie alone is refused: another site can make a browser send the cookie (SameSite is a
    second line), but it cannot add the X-Sigap-Csrf header without a CORS preflight, which is never granted.
    """
    token = bearer
    if token is None and (request.method in ("GET", "HEAD") or CSRF_HEADER in request.headers):
        token = request.cookies.get(COOKIE)
    return token or None


async def _authenticate(request: Request, bearer: str | None) -> Principal:
    token = request_token(request, bearer)
    if not token:
        raise Unauthorized("Silakan masuk terlebih dahulu", "Please log in first")
    return await _authenticate_token(request, token)


async def _authenticate_token(request: Request, token: str) -> Principal:
    """The account a token stands for, checked against the database (active, same id, same token version)."""
    ctx: AppContext = request.app.state.ctx
    claims = check_token(ctx, token)
    # A remembered account is answered on the event loop; only a miss costs a thread and a database read.
    known, user = ctx.principals.cached(claims.user_id, claims.subject)
    if not known:
        user = await run_in_threadpool(ctx.principals.load, ctx.read_sessions, claims.subject)
    if user is None:
        raise Unauthorized("Akun tidak aktif", "Account is not active")
    if claims.user_id != user.id or claims.version != user.token_version:
        raise Unauthorized("Sesi sudah diakhiri; silakan masuk lagi", "Session was ended; please log in again")
    return user


def check_token(ctx: AppContext, token: str) -> TokenClaims:
    """The token's signed claims (signature and expiry checked), or 401."""
    try:
        return ctx.tokens.claims(token, secret=ctx.settings.secret_key)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Sesi berakhir; silakan masuk lagi", "Session expired; please log in again") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("Token tidak sah", "Invalid token") from exc


def token_still_valid(ctx: AppContext, token: str) -> bool:
    """True while the token is unexpired and its account active at the same token version (live streams)."""
    try:
        claims = ctx.tokens.claims(token, secret=ctx.settings.secret_key)
    except jwt.InvalidTokenError:
        return False
    known, user = ctx.principals.cached(claims.user_id, claims.subject)
    if not known:
        user = ctx.principals.load(ctx.read_sessions, claims.subject)
    return user is not None and claims.user_id == user.id and claims.version == user.token_version


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


async def crew_token(bearer: Annotated[str | None, Depends(oauth2)]) -> str:
    """The digest of a crew token in the Authorization header, not yet looked up: the position writer checks the
    device in its own transaction (one query per batch, not one per fix), so revocation still applies at once."""
    digest = token_digest(bearer or "")
    if digest is None:
        raise Unauthorized("Perangkat belum dipasangkan", "Device is not paired")
    return digest


CrewDep = Annotated[DeviceAuth, Depends(crew_device)]
CrewTokenDep = Annotated[str, Depends(crew_token)]
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
