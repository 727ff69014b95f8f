"""Units on calls over HTTP: dispatch (one or many, divert), a unit's steps, clear and release, a unit's own
status, agencies informed, and the unit status board.

What each change does is ``store.commands.assignments``; these routes parse, call and serialise.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from api.auth import DispatcherDep, ReaderDep
from api.channels import configured_channels
from api.deps import ContextDep, SessionDep, client_address
from api.notify import queue_with_dispatch
from api.params import split_list
from api.responses import FastJSON
from api.schemas import Body as _Body
from api.schemas import Schema
from api.schemas.assignments import AgencyContactOut, UnitStatusIn
from api.schemas.dispatch import DispatchOut, StepOut
from api.schemas.units import UnitFields, UnitPublic
from geo.times import utcnow
from store.board import status_board
from store.commands import assignments as commands
from store.dispatch import AssignmentResult
from store.incidents import Incident

router = APIRouter(prefix="/api", tags=["units on calls"])

RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id")]


class DispatchIn(_Body):
    """Units to send (all or none); busy units only with `divert`."""

    unit_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=50)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="versi kejadian yang dilihat / incident version seen")
    note: str | None = Field(default=None, max_length=1000)
    divert: bool = Field(default=False, description="alihkan: unit yang sedang bertugas dipindah ke kejadian ini")
    eta_s: dict[str, Annotated[float, Field(ge=0, le=10 * 24 * 3600)]] | None = Field(
        default=None, description="ETA yang dijanjikan per unit id / ETA promised per unit id (s)")


@router.post("/incidents/{incident_id}/dispatch", summary="Kirim unit / dispatch units", response_model=DispatchOut)
def dispatch(
    incident_id: RowId, body: DispatchIn, request: Request, ctx: ContextDep, user: DispatcherDep,
) -> FastJSON:
    """Atomically: assignments, units dikirim, the incident dikirim (verified first when baru), audit, events.

    409 names each unit that cannot go (offline, out of service, busy without `divert`, just taken); unknown
    unit ids are 404. Nothing is changed unless every unit goes.
    """
    eta = None
    if body.eta_s:
        eta = {int(k): v for k, v in body.eta_s.items() if k.isdigit()}
    incident, result = commands.dispatch(
        ctx.writer(actor=user.username, client=client_address(request)),
        incident_id,
        body.unit_ids,
        version=body.version,
        note=body.note,
        divert=body.divert,
        eta_s=eta,
        then=queue_with_dispatch(configured_channels(ctx.settings)),
    )
    # The notifications were queued with the dispatch; the notification worker sends them now.
    ctx.notify_wake.set()
    return FastJSON(
        {
            "incident_id": incident.id,
            "incident_number": incident.number,
            "status": result.status,
            "version": incident.version,
            "transitions": result.transitions,
            "units": result.units,
            "assignment_ids": result.assignment_ids,
            "diverted_from": result.diverted_from,
        }
    )


class StepIn(_Body):
    """A unit's step on the call (as reported by radio or by its crew)."""

    status: Literal["diterima", "menuju_lokasi", "tiba", "selesai"]
    reason: str | None = Field(default=None, max_length=500, description="untuk selesai / for selesai")


class ReleaseIn(_Body):
    """Why the unit is released from the call."""

    reason: str = Field(min_length=1, max_length=500, description="alasan (wajib) / reason (required)")


def _step_answer(incident: Incident, result: AssignmentResult) -> FastJSON:
    return FastJSON({
        "incident_id": incident.id,
        "incident_number": incident.number,
        "status": incident.status,
        "version": incident.version,
        "transitions": result.transitions,
        "skipped": result.skipped,
        "assignment_id": result.assignment_id,
        "unit": result.unit,
    })


@router.post(
    "/incidents/{incident_id}/units/{unit_id}/status",
    summary="Langkah unit di kejadian / a unit's step on the call",
    response_model=StepOut,
)
def unit_step(
    incident_id: RowId, unit_id: RowId, body: StepIn, request: Request, ctx: ContextDep, user: DispatcherDep
) -> FastJSON:
    """diterima, menuju_lokasi, tiba (a skipped step is recorded as reported, never refused) or selesai.

    The call follows its units: the first en route moves it to menuju_lokasi, the first on scene to tiba.
    409 when the unit is not on this call, 404 for an unknown unit.
    """
    w = ctx.writer(actor=user.username, client=client_address(request))
    if body.status == "selesai":
        incident, result = commands.clear(w, incident_id, unit_id, body.reason or "tugas selesai / work done")
    else:
        incident, result = commands.report(w, incident_id, unit_id, body.status)
    return _step_answer(incident, result)


@router.post(
    "/incidents/{incident_id}/units/{unit_id}/release",
    summary="Lepaskan unit dari kejadian / release a unit from the call",
    response_model=StepOut,
)
def release_unit(
    incident_id: RowId, unit_id: RowId, body: ReleaseIn, request: Request, ctx: ContextDep, user: DispatcherDep
) -> FastJSON:
    """The unit leaves the call (reason required); 409 when it is not on this call."""
    incident, result = commands.release(
        ctx.writer(actor=user.username, client=client_address(request)), incident_id, unit_id, body.reason
    )
    return _step_answer(incident, result)


@router.post("/units/{unit_id}/status", summary="Status unit / a unit's own status", response_model=UnitFields)
def set_status(unit_id: RowId, body: UnitStatusIn, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """tersedia, kembali, tidak_tersedia or offline, for a unit not on a call (409 naming its call otherwise)."""
    unit = commands.set_unit_status(
        ctx.writer(actor=user.username, client=client_address(request)), unit_id, body.status, note=body.note
    )
    return FastJSON(unit)


class ContactIn(_Body):
    """An agency informed of the call."""

    agency: str = Field(min_length=1, max_length=32)
    channel: Literal["telepon", "radio", "whatsapp", "langsung", "lainnya"]
    contact: str | None = Field(default=None, max_length=200, description="siapa yang dihubungi / who was reached")
    note: str | None = Field(default=None, max_length=1000)


@router.post(
    "/incidents/{incident_id}/contacts",
    status_code=201,
    summary="Catat instansi yang dihubungi / record an agency informed",
    response_model=AgencyContactOut,
)
def record_contact(
    incident_id: RowId, body: ContactIn, request: Request, ctx: ContextDep, user: DispatcherDep
) -> FastJSON:
    """Record that an agency (PLN, DPUPR, Dinsos...) was informed of the call: how, whom, a note."""
    out = commands.record_contact(
        ctx.writer(actor=user.username, client=client_address(request)),
        incident_id,
        agency=body.agency,
        channel=body.channel,
        contact=body.contact,
        note=body.note,
        known_agencies=[a.code for a in ctx.catalog.agencies],
    )
    return FastJSON(out, status_code=201)


class BoardUnit(UnitPublic):
    """A unit on the board: how long in its status and whether that is too long."""

    in_status_s: float | None
    level: Literal["ok", "amber", "red"]


class UnitBoard(Schema):
    """Every unit (filtered) by callsign, counts by status, and the thresholds (minutes) the levels use."""

    units: list[BoardUnit]
    count: int
    by_status: dict[str, int]
    thresholds_minutes: dict[str, float]
    red_factor: float
    stale_after_minutes: int


@router.get("/board", summary="Papan status unit / unit status board", response_model=UnitBoard)
def board(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    type: Annotated[str | None, Query(description="jenis unit, dipisah koma / unit types")] = None,
    agency: Annotated[str | None, Query(description="instansi, dipisah koma / agencies")] = None,
) -> FastJSON:
    """Every unit with status, call, time in status and position age; amber/red past the thresholds."""
    settings = ctx.settings
    rows, fields = ctx.travel.unit_rows(session)
    answer = status_board(
        rows,
        fields,
        now=utcnow(),
        thresholds=settings.board_threshold_minutes,
        red_factor=settings.board_red_factor,
        stale_after_s=settings.stale_position_minutes * 60,
        types=list(split_list(type, field="type")) or None,
        agencies=list(split_list(agency, field="agency")) or None,
    )
    return FastJSON(answer | {"stale_after_minutes": settings.stale_position_minutes})
