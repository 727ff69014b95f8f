"""The job runner's log: recent scheduled runs (FIRMS pull) for admins and planners."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import PlannerDep
from api.deps import ContextDep, SessionDep
from api.responses import FastJSON
from store.hotspots import recent_runs

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("", summary="Riwayat pekerjaan terjadwal / scheduled job runs")
def jobs(
    ctx: ContextDep,
    session: SessionDep,
    _: PlannerDep,
    job: Annotated[str | None, Query(max_length=48)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FastJSON:
    """Latest runs, newest first, and whether the FIRMS pull is configured in this process."""
    settings = ctx.settings
    return FastJSON(
        {
            "runs": recent_runs(session, job=job, limit=limit),
            "firms": {
                "configured": bool(settings.firms_url),
                "interval_minutes": settings.firms_interval_minutes,
                "running": ctx.task_running("firms"),
            },
        }
    )
