"""The job runner's log: recent scheduled runs (FIRMS pull) for admins and planners."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import PlannerDep
from api.deps import SessionDep
from api.responses import FastJSON
from jobs.scheduler import recent_runs

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("", summary="Riwayat pekerjaan terjadwal / scheduled job runs")
def jobs(
    request: Request,
    session: SessionDep,
    _: PlannerDep,
    job: Annotated[str | None, Query(max_length=48)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FastJSON:
    """Latest runs, newest first, and whether the FIRMS pull is configured in this process."""
    settings = request.app.state.settings
    task = getattr(request.app.state, "firms_task", None)
    return FastJSON(
        {
            "runs": recent_runs(session, job=job, limit=limit),
            "firms": {
                "configured": bool(settings.firms_url),
                "interval_minutes": settings.firms_interval_minutes,
                "running": bool(task is not None and not task.done()),
            },
        }
    )
