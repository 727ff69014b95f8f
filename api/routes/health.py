"""Liveness and readiness: the database backend and what it holds."""

from __future__ import annotations

import time

from fastapi import APIRouter

from api.deps import ContextDep, SessionDep
from api.responses import FastJSON
from store.db import backend_name
from store.layers import layer_counts

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Kesehatan layanan / service health")
def healthz(ctx: ContextDep, session: SessionDep) -> FastJSON:
    """Backend, row counts and uptime; a 503 when the database does not answer (the counts are queries)."""
    return FastJSON(
        {
            "status": "ok",
            "database": {"backend": backend_name(ctx.engine), "counts": layer_counts(session)},
            "mode": ctx.settings.mode,
            "uptime_s": round(time.monotonic() - ctx.started, 1),
        }
    )
