"""The audit log for administrators: browse and export, never change."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.auth import AdminDep
from api.deps import ContextDep, SessionDep
from api.routes.exports import csv_safe
from geo.times import format_wib, iso_utc
from store.accounts import AuditFilter, AuditRecord, audit_entries, audit_page, audit_read

router = APIRouter(prefix="/api/audit", tags=["audit"])


def _row(rec: AuditRecord) -> dict:
    return {"id": rec.id, "at": iso_utc(rec.at), "at_wib": format_wib(rec.at, seconds=True),
            "actor": rec.actor, "action": rec.action, "entity": rec.entity, "entity_id": rec.entity_id,
            "before": rec.before, "after": rec.after, "client": rec.client}


@router.get("", summary="Log audit / audit log")
def audit_log(
    session: SessionDep,
    _: AdminDep,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,  # beyond: 422, not a database overflow
) -> dict:
    """Audit records, newest first, filtered and paginated."""
    flt = AuditFilter(entity=entity, entity_id=entity_id, actor=actor, action=action, since=since, until=until)
    total, rows = audit_page(session, flt, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": [_row(r) for r in rows]}


def _safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    return csv_safe("" if value is None else str(value))


@router.get("/export.csv", summary="Ekspor log audit / export the audit log (CSV)")
def export_audit(
    session: SessionDep,
    ctx: ContextDep,
    user: AdminDep,
    entity: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """The filtered audit log as CSV, oldest first, streamed in pages."""
    flt = AuditFilter(entity=entity, actor=actor, since=since, until=until)
    rows = [_row(r) for r in audit_entries(session, flt)]
    audit_read(ctx.sessions, actor=user.username, action="export", entity="audit_log",
               query={"entity": entity, "actor": actor, "since": since, "until": until}, rows=len(rows))
    columns = ["id", "at", "at_wib", "actor", "action", "entity", "entity_id", "before", "after", "client"]

    def generate() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_safe_cell(row[c]) for c in columns])
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(generate(), media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="sigap-audit.csv"'})
