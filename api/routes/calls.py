"""The call desk over HTTP: record and list calls, a caller's history, flags, the callback list, the report.

A call is never refused because of its number: an unreadable one is kept as received and flagged. Flags
are set by supervisors (or admins), shown to operators, and never drop or hide a call.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.auth import DispatcherDep, Principal, SupervisorDep, require_roles
from api.calls_report import report_csv, report_public, report_xlsx
from api.deps import ContextDep, IdPath, SessionDep, client_address
from api.errors import InvalidInput
from api.params import split_list
from api.responses import FastJSON
from api.schemas.calls import CallerHistory, CallPage, CallPublic, FlagPublic, call_public, flag_public, history_public
from geo.times import as_utc, utcnow, wib_day_start
from store.calls import CALL_TYPES, CALLBACK_OUTCOMES, CallFilter, callback_list, caller_history, list_calls
from store.callstats import call_report
from store.commands import calls as commands

router = APIRouter(prefix="/api", tags=["calls"])

MAX_PAGE = 500
MAX_INT = 2**31 - 1
ReportDep = Annotated[Principal, Depends(require_roles("supervisor", "leader", "admin"))]
CallType = Literal["darurat", "informasi", "iseng", "ghost", "salah_sambung", "panggilan_ulang", "uji", "tak_terjawab"]
Outcome = Literal["tersambung", "darurat", "tidak_diangkat", "nomor_tidak_aktif", "salah_sambung", "iseng"]
assert set(get_args(CallType)) == set(CALL_TYPES) and set(get_args(Outcome)) == set(CALLBACK_OUTCOMES)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            # A number is side data: its NUL is dropped, not refused (normalise() does that too).
            return value.replace("\x00", "")
        return value


class CallCreate(_Body):
    """A call recorded at the desk: its type, and whatever is known of it."""

    type: CallType
    # Side data: generous limits, cut to what is stored (64 / 32 / 500 characters), never a refused call.
    number: str | None = Field(None, max_length=2000, description="Nomor penelepon apa adanya / caller number as given")
    line: str | None = Field(None, max_length=2000)
    at: datetime | None = Field(None, description="Waktu dering (ISO-8601; tanpa zona = UTC); kosong = sekarang")
    duration_s: int | None = Field(None, ge=0, le=86_400)
    incident_id: int | None = Field(None, ge=1, le=MAX_INT)
    related_call_id: int | None = Field(None, ge=1, le=MAX_INT)
    note: str | None = Field(None, max_length=5000)


class CallPatch(_Body):
    """Type a call, link it, note something: only the fields sent change."""

    type: CallType | None = None
    incident_id: int | None = Field(None, ge=1, le=MAX_INT)
    related_call_id: int | None = Field(None, ge=1, le=MAX_INT)
    note: str | None = Field(None, max_length=500)


class CallbackIn(_Body):
    """The outcome of calling a missed or silent caller back."""

    outcome: Outcome
    note: str | None = Field(None, max_length=500)
    incident_id: int | None = Field(None, ge=1, le=MAX_INT)


class FlagIn(_Body):
    """A flag on a number: why, and until when (none: until revoked)."""

    reason: str = Field(min_length=1, max_length=500)
    expires_at: datetime | None = None


def _clip(value: str | None, n: int) -> str | None:
    return None if value is None else value[:n]


@router.post("/calls", status_code=201, summary="Catat panggilan di meja / record a call", response_model=CallPublic)
async def create_call(body: CallCreate, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """Record a call (any type); a darurat call names the incident it created or joined when it has one."""
    at = as_utc(body.at) if body.at is not None else None
    if at is not None and at > utcnow() + timedelta(minutes=5):
        at = None  # a desk clock ahead of ours is side data: the call is recorded now, never refused
    call = commands.CallIn(
        type=body.type, number=body.number, line=_clip(body.line, 32), at=at, duration_s=body.duration_s,
        incident_id=body.incident_id, related_call_id=body.related_call_id, note=_clip(body.note, 500),
    )
    # Written by the desk's group-commit writer; shielded: a client that hangs up does not withdraw its call.
    assert ctx.desk_writer is not None  # built with the context, started in lifespan
    stored = ctx.desk_writer.submit(commands.DeskCall(call, user.username, client_address(request)))
    row = await asyncio.shield(asyncio.wrap_future(stored))
    return FastJSON(call_public(row), status_code=201)


@router.get("/calls", summary="Daftar panggilan / list calls", response_model=CallPage)
def calls(
    session: SessionDep,
    _: DispatcherDep,
    type: Annotated[list[str] | None, Query(description="jenis, dipisah koma / types, comma-separated")] = None,
    number: Annotated[str | None, Query(max_length=200)] = None,
    operator: Annotated[str | None, Query(max_length=64)] = None,
    line: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[datetime | None, Query(description="ISO-8601; tanpa zona = UTC")] = None,
    until: Annotated[datetime | None, Query(description="ISO-8601; tanpa zona = UTC")] = None,
    incident_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    untyped: bool = False,
    callback: Annotated[Literal["perlu", "selesai"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> FastJSON:
    """Calls newest first, filtered by type, number (any writing), operator, line, time, incident, callback."""
    flt = CallFilter(
        types=split_list(type, field="type", lower=True),
        number=None if number is None else number.replace("\x00", ""),
        operator=None if operator is None else operator.replace("\x00", ""),
        line=None if line is None else line.replace("\x00", ""),
        since=as_utc(since), until=as_utc(until), incident_id=incident_id, untyped=untyped, callback=callback,
    )
    total, rows = list_calls(session, flt, limit=limit, offset=offset)
    return FastJSON({"total": total, "limit": limit, "offset": offset, "returned": len(rows),
                     "items": [call_public(r) for r in rows]})


@router.patch("/calls/{call_id}", summary="Ketik atau tautkan panggilan / type or link a call",
              response_model=CallPublic)
def patch_call(call_id: IdPath, body: CallPatch, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """Set a call's type, its incident, the earlier call it follows up, its note (only the fields sent)."""
    sent = body.model_fields_set
    w = ctx.writer(actor=user.username, client=client_address(request))
    kwargs = {k: getattr(body, k) for k in ("type", "incident_id", "related_call_id", "note") if k in sent}
    return FastJSON(call_public(commands.update_call(w, call_id, **kwargs)))


@router.post("/calls/{call_id}/callback", summary="Catat panggilan balik / note a call back",
             response_model=CallPublic)
def call_back(call_id: IdPath, body: CallbackIn, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """Who called back, when and what came of it; no answer or a dead number keeps the call on the list."""
    w = ctx.writer(actor=user.username, client=client_address(request))
    row = commands.call_back(w, call_id, outcome=body.outcome, note=body.note, incident_id=body.incident_id)
    return FastJSON(call_public(row))


@router.get("/callbacks", summary="Daftar panggilan balik / callback list", response_model=CallPage)
def callbacks(
    session: SessionDep,
    _: DispatcherDep,
    status: Annotated[Literal["perlu", "selesai"], Query()] = "perlu",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> FastJSON:
    """Missed and silent calls still to call back (oldest first), or those called back (newest first)."""
    rows = callback_list(session, status=status, limit=limit)
    return FastJSON({"total": len(rows), "limit": limit, "offset": 0, "returned": len(rows),
                     "items": [call_public(r) for r in rows]})


NumberPath = Annotated[str, Path(min_length=1, max_length=200, description="nomor apa adanya / number as given")]


@router.get("/callers/{number}", summary="Riwayat penelepon / caller history", response_model=CallerHistory)
def caller(number: NumberPath, session: SessionDep, _: DispatcherDep) -> FastJSON:
    """A number's calls by type, prank count, incidents, last location and flag (any writing of the number)."""
    history = caller_history(session, number.replace("\x00", ""), at=utcnow())
    session.close()  # the read ends here, on this worker thread, not on another one after the response
    return FastJSON(history_public(history))


@router.post("/callers/{number}/flags", status_code=201, summary="Tandai nomor / flag a number",
             response_model=FlagPublic)
def flag(number: NumberPath, body: FlagIn, request: Request, ctx: ContextDep, user: SupervisorDep) -> FastJSON:
    """Flag a number (supervisor or admin): reason and expiry, audited. The emergency numbers are refused."""
    w = ctx.writer(actor=user.username, client=client_address(request))
    expires = as_utc(body.expires_at) if body.expires_at is not None else None
    row = commands.flag_number(w, number=number.replace("\x00", ""), reason=body.reason, expires_at=expires)
    return FastJSON(flag_public(row), status_code=201)


@router.delete("/flags/{flag_id}", summary="Cabut tanda / revoke a flag", response_model=FlagPublic)
def unflag(flag_id: IdPath, request: Request, ctx: ContextDep, user: SupervisorDep) -> FastJSON:
    """Revoke a flag (audited); revoking twice changes nothing."""
    w = ctx.writer(actor=user.username, client=client_address(request))
    return FastJSON(flag_public(commands.unflag(w, flag_id)))


# -- the report -------------------------------------------------------------------------------------------
def _period(month: str | None, since: date | None, until: date | None) -> tuple[datetime, datetime, str]:
    """The report's [since, until) in UTC from a WIB month 'YYYY-MM' or WIB days since..until (inclusive)."""
    if month is not None:
        try:
            year, mon = (int(p) for p in month.split("-"))
            first = date(year, mon, 1)
        except ValueError:
            raise InvalidInput("'month' harus YYYY-MM", "'month' must be YYYY-MM", field="month") from None
        nxt = date(year + (mon == 12), mon % 12 + 1, 1)
        label = month
        since, until = first, nxt - timedelta(days=1)
    elif since is None or until is None:
        today = (utcnow() + timedelta(hours=7)).date()
        since, until = today.replace(day=1), today
        label = f"{since:%Y-%m}"
    else:
        label = f"{since:%Y-%m-%d}_{until:%Y-%m-%d}"
    if until < since:
        raise InvalidInput("'until' sebelum 'since'", "'until' is before 'since'", field="until")
    if (until - since).days > 366:
        raise InvalidInput("Rentang laporan paling lama 366 hari", "A report covers at most 366 days", field="until")
    start = wib_day_start(datetime(since.year, since.month, since.day, 12, tzinfo=_WIB))
    end = wib_day_start(datetime(until.year, until.month, until.day, 12, tzinfo=_WIB)) + timedelta(days=1)
    return start, end, label


_WIB = ZoneInfo("Asia/Jakarta")
MonthQ = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="bulan WIB / WIB month YYYY-MM")]
DayQ = Annotated[date | None, Query(description="hari WIB / WIB day YYYY-MM-DD")]


@router.get("/calls/report", summary="Laporan panggilan / calls report")
def report(ctx: ContextDep, session: SessionDep, _: ReportDep, month: MonthQ = None, since: DayQ = None,
           until: DayQ = None) -> FastJSON:
    """Calls by type, hour and day; emergency calls by category, agency, kecamatan; intervals; operators."""
    start, end, label = _period(month, since, until)
    figures = call_report(session, since=start, until=end)
    return FastJSON(report_public(figures, catalog=ctx.catalog, spatial=ctx.spatial, label=label))


@router.get("/calls/report.{fmt}", summary="Ekspor laporan panggilan / export the calls report (csv|xlsx)")
def report_file(fmt: Literal["csv", "xlsx"], ctx: ContextDep, session: SessionDep, _: ReportDep,
                month: MonthQ = None, since: DayQ = None, until: DayQ = None) -> Response:
    """The report as CSV or XLSX, laid out as a 112 centre reports upward; cells guarded against formulas."""
    start, end, label = _period(month, since, until)
    figures = report_public(call_report(session, since=start, until=end), catalog=ctx.catalog,
                            spatial=ctx.spatial, label=label)
    name = f"laporan-panggilan-112-{label}.{fmt}"
    if fmt == "csv":
        return Response(report_csv(figures), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return Response(report_xlsx(figures),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
