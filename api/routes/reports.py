"""Situation reports: list them, ask for one (made in the background), download its PDF or offline HTML map."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from api.auth import Principal, ReaderDep, require_roles
from api.deps import ContextDep, IdPath, SessionDep
from api.responses import FastJSON
from api.schemas.reports import ReportList, ReportOut, ReportRequest
from geo.times import utcnow
from store.reports import list_reports, one_report, read_report_file, report_period, request_report

router = APIRouter(prefix="/api/reports", tags=["reports"])

# Leaders ask for reports from their page; supervisors, planners and admins may too. Every reader may download:
# a report holds no caller data.
ReportMakerDep = Annotated[Principal, Depends(require_roles("leader", "supervisor", "planner", "admin"))]


@router.get("", summary="Laporan situasi / situation reports", response_model=ReportList)
def reports(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
) -> FastJSON:
    """The newest reports, with their status and (when ready) their files."""
    return FastJSON({"reports": list_reports(session, limit=limit), "report_time": ctx.settings.report_time})


@router.post("", status_code=202, summary="Buat laporan / make a report", response_model=ReportOut)
def make(body: ReportRequest, ctx: ContextDep, session: SessionDep, user: ReportMakerDep) -> FastJSON:
    """Queue a report (202, status pending); a worker makes it and it becomes ready (or failed).

    A range covers whole WIB days and at most a year (a longer one is a 422 naming `to`).
    """
    period = report_period(
        body.kind, now=utcnow(), clock=ctx.settings.report_clock, on=body.date, first=body.from_, last=body.to
    )
    report = request_report(session, period=period, lang=body.lang, actor=user.username, hub=ctx.events)
    assert report is not None  # None only for a schedule key already used; this request has none
    session.commit()
    return FastJSON(one_report(session, report.id), status_code=202)


@router.get("/{report_id}", summary="Satu laporan / one report", response_model=ReportOut)
def report(report_id: IdPath, session: SessionDep, _: ReaderDep) -> FastJSON:
    """One report and its status."""
    return FastJSON(one_report(session, report_id))


@router.get(
    "/{report_id}/{kind}",
    summary="Unduh berkas laporan / download a report file (pdf | html)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def download(
    report_id: IdPath,
    kind: Annotated[Literal["pdf", "html"], Path(description="pdf (laporan) atau html (peta luring / offline map)")],
    session: SessionDep,
    _: ReaderDep,
) -> Response:
    """The PDF or the self-contained HTML map of a ready report, as an attachment (404 while not ready)."""
    name, media_type, content = read_report_file(session, report_id, kind)
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            # Opened from here by mistake, the map page may run its own inline scripts and nothing else.
            "Content-Security-Policy": "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; img-src data:",
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )
