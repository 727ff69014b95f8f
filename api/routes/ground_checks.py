"""Ground checks of hotspots ("cek lapangan"): create from a detection or cluster, record results, statistics;
and the area alerts new detections raise."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.auth import OperatorDep, PlannerDep, ReaderDep
from api.deps import ContextDep, SessionDep, client_address
from api.responses import FastJSON
from api.schemas.ground_checks import (
    GroundCheckCollection,
    GroundCheckCreate,
    GroundCheckFeature,
    GroundCheckResultIn,
    GroundCheckStats,
    HotspotAlertList,
)
from geo.resolve import resolve_location
from geo.times import utcnow
from store.ground_checks import (
    create_ground_check,
    ground_check_stats,
    list_ground_checks,
    recent_alerts,
    record_result,
    target_point,
)

router = APIRouter(tags=["hotspots"])

CheckId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Id cek lapangan / ground check id")]


@router.get("/api/ground-checks", summary="Cek lapangan / ground checks", response_model=GroundCheckCollection)
def list_checks(session: SessionDep, _: ReaderDep,
                limit: Annotated[int, Query(ge=1, le=2000)] = 500) -> FastJSON:
    """The newest ground checks with their incident and result, as GeoJSON."""
    feats = list_ground_checks(session, limit=limit)
    return FastJSON({"type": "FeatureCollection", "features": feats, "count": len(feats)})


@router.post("/api/ground-checks", status_code=201, summary="Buat cek lapangan / create a ground check",
             response_model=GroundCheckFeature)
def create(body: GroundCheckCreate, request: Request, ctx: ContextDep, session: SessionDep,
           user: PlannerDep) -> FastJSON:
    """A `cek_lapangan` incident at the detection (or cluster centre), dispatched like any incident."""
    target = target_point(session, hotspot_id=body.hotspot_id, cluster_cell=body.cluster_cell)
    spatial = ctx.spatial
    where = resolve_location(locator=spatial.locator, places=spatial.places, place_radius_m=spatial.place_radius_m,
                             lon=target["lon"], lat=target["lat"])
    out = create_ground_check(session, target=target, cluster_cell=body.cluster_cell, actor=user.username,
                              location=where.answer, note=body.note, client=client_address(request),
                              hub=ctx.events)
    return FastJSON(out, status_code=201)


@router.post("/api/ground-checks/{check_id}/result", summary="Catat hasil cek lapangan / record the result",
             response_model=GroundCheckFeature)
def result(check_id: CheckId, body: GroundCheckResultIn, ctx: ContextDep, session: SessionDep,
           user: OperatorDep) -> FastJSON:
    """api aktif (area), sudah padam, bukan api (cause), tidak terjangkau; roofs and industry become static sources."""
    out = record_result(session, check_id, result=body.result, cause=body.cause, area_ha=body.area_ha,
                        note=body.note, version=body.version, actor=user.username, hub=ctx.events)
    session.commit()
    return FastJSON(out)


@router.get("/api/ground-checks/stats", summary="Statistik alarm palsu / false-alarm statistics",
            response_model=GroundCheckStats)
def stats(session: SessionDep, _: ReaderDep) -> FastJSON:
    """Share of "bukan api" per satellite and per confidence among checked hotspots."""
    return FastJSON(ground_check_stats(session))


@router.get("/api/hotspots/alerts", summary="Peringatan wilayah / area alerts", response_model=HotspotAlertList)
def alerts(session: SessionDep, _: ReaderDep,
           hours: Annotated[int, Query(ge=1, le=24 * 31, description="Jam terakhir / last hours")] = 24) -> FastJSON:
    """Area alerts raised in the last `hours`, newest first."""
    rows = recent_alerts(session, since=utcnow() - timedelta(hours=hours))
    return FastJSON({"alerts": rows, "count": len(rows)})
