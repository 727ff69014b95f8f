"""Liveness and readiness: the database backend and what it holds."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from sqlalchemy import text

from api.deps import SessionDep
from api.responses import FastJSON
from store.db import backend_name
from store.layers import layer_counts

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Kesehatan layanan / service health")
def healthz(request: Request, session: SessionDep) -> FastJSON:
    """Backend, row counts and uptime; a 503 when the database does not answer."""
    session.execute(text("SELECT 1"))
    state = request.app.state
    return FastJSON(
        {
            "status": "ok",
            "database": {"backend": backend_name(state.engine), "counts": layer_counts(session)},
            "mode": state.settings.mode,
            "uptime_s": round(time.monotonic() - state.started, 1),
        }
    )
