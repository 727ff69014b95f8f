"""The phone system's webhook: ringing, answered, transfer and hang-up events, and AML SMS from the SMS gateway.

Every request is signed: ``X-Sigap-Timestamp`` (Unix seconds) and ``X-Sigap-Signature: sha256=<hex>``, the
HMAC-SHA256 of ``<timestamp>.<raw body>`` with ``SIGAP_TELEPHONY_SECRET``. A bad or missing signature, or a
timestamp outside the replay window (``SIGAP_TELEPHONY_WINDOW_S``, 5 minutes), is a 401, audited, and
nothing of the request is stored. Events may come twice or out of order: the call comes out the same.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import DispatcherDep, SupervisorDep
from api.context import AppContext
from api.deps import ContextDep, SessionDep, client_address
from api.errors import InvalidInput, Unauthorized
from api.responses import FastJSON
from api.schemas.calls import TelephonyAnswer, call_public
from geo.times import as_utc, iso_utc, utcnow
from store.calls import list_extensions
from store.commands import calls as commands

router = APIRouter(prefix="/api/telephony", tags=["telephony"])

TS_HEADER = "X-Sigap-Timestamp"
SIG_HEADER = "X-Sigap-Signature"
FUTURE_SKEW = timedelta(minutes=5)


class PbxEventIn(BaseModel):
    """One PBX event about one call."""

    model_config = ConfigDict(extra="ignore")  # a PBX adds fields of its own; they are not ours to refuse

    event: Literal["ringing", "answered", "transfer", "hangup"]
    call_id: str = Field(min_length=1, max_length=128, description="the PBX's id of the call (Asterisk linkedid)")
    at: datetime | None = Field(None, description="when it happened (ISO-8601 or Unix seconds); none = received")
    number: str | None = Field(None, max_length=200, description="caller id as the PBX has it")
    line: str | None = Field(None, max_length=200, description="trunk / line")
    extension: str | None = Field(None, max_length=200, description="the extension that answered")
    operator: str | None = Field(None, max_length=200, description="the username, when the PBX knows it")


class AmlSmsIn(BaseModel):
    """An AML SMS as the SMS gateway received it."""

    model_config = ConfigDict(extra="ignore")

    number: str | None = Field(None, max_length=200, description="the sender's number")
    text: str = Field(min_length=1, max_length=1000, description="the raw AML SMS")
    at: datetime | None = None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (what the PBX side computes)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _reject(ctx: AppContext, request: Request, reason: str) -> Unauthorized:
    """Audit a refused webhook request (never its body) and the 401 to raise."""
    w = ctx.writer(actor="pbx", client=client_address(request))
    with w.transaction() as session:
        w.audit(session, action="telephony.rejected", entity="telephony", entity_id=None,
                after={"reason": reason, "path": request.url.path})
        session.commit()
    return Unauthorized(
        f"Tanda tangan webhook ditolak ({reason})", f"Webhook signature refused ({reason})", field=SIG_HEADER
    )


async def _verified(request: Request, ctx: AppContext) -> bytes:
    """The raw body once its signature and timestamp check out (401, audited, otherwise)."""
    body = await request.body()
    secret = ctx.settings.telephony_secret
    stamp = request.headers.get(TS_HEADER, "")
    given = request.headers.get(SIG_HEADER, "")
    reason = None
    if not secret:
        reason = "not_configured"
    elif not stamp or not given:
        reason = "missing"
    else:
        try:
            ts = float(stamp)
        except ValueError:
            ts = float("nan")
        if not (abs(time.time() - ts) <= ctx.settings.telephony_window_s):
            reason = "stale"
        elif not hmac.compare_digest(sign(secret, stamp, body).encode(), given.strip().encode()):
            reason = "bad_signature"
    if reason is not None:
        raise await run_in_threadpool(_reject, ctx, request, reason)
    return body


def _parse(model: type[BaseModel], body: bytes) -> Any:
    try:
        data = orjson.loads(body)
        if isinstance(data, dict) and isinstance(data.get("at"), int | float) and not isinstance(data["at"], bool):
            data["at"] = datetime.fromtimestamp(data["at"], tz=UTC)
        return model.model_validate(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("Badan bukan JSON", "Body is not JSON", field="body") from exc
    except (ValidationError, ValueError, OverflowError, OSError) as exc:
        raise InvalidInput(f"Isian tidak valid: {exc}"[:500], f"Invalid fields: {exc}"[:500], field="body") from exc


def _clean(value: str | None, n: int) -> str | None:
    if value is None:
        return None
    value = "".join(ch for ch in value if ch.isprintable()).strip()
    return value[:n] or None


def _when(at: datetime | None) -> datetime:
    """The event's time in UTC: none or one from the future (a PBX clock ahead) is 'received now'."""
    now = utcnow()
    if at is None:
        return now
    at = as_utc(at)
    return now if at > now + FUTURE_SKEW else at


_SIGNED = {
    "parameters": [
        {"name": TS_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
         "description": "Unix seconds; at most SIGAP_TELEPHONY_WINDOW_S (300) from the server's clock"},
        {"name": SIG_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
         "description": "sha256=<hex HMAC-SHA256 of '<timestamp>.<body>' with SIGAP_TELEPHONY_SECRET>"},
    ],
}


@router.post(
    "/events", summary="Peristiwa PBX / PBX call event (signed)", response_model=TelephonyAnswer,
    openapi_extra=_SIGNED | {"requestBody": {"required": True, "content": {"application/json": {
        "schema": PbxEventIn.model_json_schema()}}}},
)
async def pbx_event(request: Request, ctx: ContextDep) -> FastJSON:
    """A ringing / answered / transfer / hangup event; the answering operator's screen pops (SSE call.popped)."""
    body = await _verified(request, ctx)
    ev = _parse(PbxEventIn, body)
    call_id = _clean(ev.call_id, 128)
    if call_id is None:
        raise InvalidInput("'call_id' kosong", "'call_id' is empty", field="call_id")
    pbx = commands.PbxEvent(
        kind=ev.event, call_id=call_id, at=_when(ev.at), number=ev.number, line=_clean(ev.line, 32),
        extension=_clean(ev.extension, 16), operator=_clean(ev.operator, 64),
    )
    w = ctx.writer(actor="pbx", client=client_address(request))
    out = await run_in_threadpool(commands.telephony_event, w, pbx)
    return FastJSON(_answer(out))


@router.post(
    "/aml", summary="SMS AML dari gateway / AML SMS from the gateway (signed)", response_model=TelephonyAnswer,
    openapi_extra=_SIGNED | {"requestBody": {"required": True, "content": {"application/json": {
        "schema": AmlSmsIn.model_json_schema()}}}},
)
async def aml(request: Request, ctx: ContextDep) -> FastJSON:
    """An AML SMS: its location goes to the call from the same number within 10 minutes (or waits for it)."""
    body = await _verified(request, ctx)
    sms = _parse(AmlSmsIn, body)
    w = ctx.writer(actor="pbx", client=client_address(request))
    out = await run_in_threadpool(lambda: commands.aml_sms(w, number=sms.number, text_=sms.text, at=_when(sms.at)))
    return FastJSON(_answer(out))


def _answer(out: dict[str, Any]) -> dict[str, Any]:
    return out | {"call": None if out.get("call") is None else call_public(out["call"])}


class ExtensionIn(BaseModel):
    """Who sits at an extension (null frees it)."""

    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(None, min_length=1, max_length=64)


ExtPath = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[0-9A-Za-z_*#+-]+$")]


@router.get("/extensions", summary="Ekstensi PBX / PBX extensions")
def extensions(session: SessionDep, _: DispatcherDep) -> FastJSON:
    """Every extension and the operator seated at it."""
    rows = list_extensions(session)
    return FastJSON({"items": [r | {"updated_at": iso_utc(r["updated_at"])} for r in rows]})


@router.put("/extensions/{extension}", summary="Tetapkan operator ekstensi / seat an operator at an extension")
def set_extension(
    extension: ExtPath, body: ExtensionIn, request: Request, ctx: ContextDep,
    user: SupervisorDep,
) -> FastJSON:
    """Seat an operator at an extension (supervisor or admin); their screen pops for calls answered there."""
    w = ctx.writer(actor=user.username, client=client_address(request))
    out = commands.set_extension(w, extension=extension, username=body.username)
    return FastJSON({"extension": extension, "username": None if out is None else out["username"]})
