"""Figures for the leader view: open incidents, response times, hotspots and flooded desa, at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import ReaderDep
from api.deps import ContextDep, SessionDep
from api.responses import FastJSON
from api.schemas.stats import SituationSummary
from geo.times import utcnow
from store.figures import situation_summary

router = APIRouter(prefix="/api/stats", tags=["stats"])


@router.get("/summary", summary="Ringkasan situasi / situation summary", response_model=SituationSummary)
def summary(ctx: ContextDep, session: SessionDep, _: ReaderDep) -> FastJSON:
    """Open incidents by status and kecamatan, response times against the targets, hotspots 24 h, flooded desa.

    A desa counts as flooded when at least `flooded_share` of its area is under an active zone (SIGAP_FLOODED_SHARE).
    """
    settings = ctx.settings
    return FastJSON(
        situation_summary(
            session,
            now=utcnow(),
            layers=ctx.spatial.layers,
            flooded_share=settings.flooded_share,
            dispatch_target_s=settings.target_dispatch_minutes * 60,
            scene_target_s=settings.target_scene_minutes * 60,
        )
    )
