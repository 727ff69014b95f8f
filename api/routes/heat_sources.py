"""Static heat sources: list, draw (create), edit and delete; detections inside are marked "sumber tetap"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.auth import PlannerDep, ReaderDep
from api.deps import ContextDep, SessionDep
from api.responses import FastJSON
from api.schemas.heat_sources import HeatSourceCollection, HeatSourceFeature, HeatSourceIn, HeatSourcePatch
from geo.floods import geometry_from_geojson
from store.heat_sources import (
    create_heat_source,
    delete_heat_source,
    get_heat_source,
    heat_source_public,
    list_heat_sources,
    update_heat_source,
)

router = APIRouter(prefix="/api/heat-sources", tags=["hotspots"])

SourceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Id sumber / source id")]


@router.get("", summary="Sumber panas tetap / static heat sources", response_model=HeatSourceCollection)
def list_sources(session: SessionDep, _: ReaderDep) -> FastJSON:
    """Every static heat source as a FeatureCollection."""
    features = [heat_source_public(s) for s in list_heat_sources(session)]
    return FastJSON({"type": "FeatureCollection", "features": features, "count": len(features)})


@router.get("/{source_id}", summary="Satu sumber panas / one heat source", response_model=HeatSourceFeature)
def get_source(source_id: SourceId, session: SessionDep, _: ReaderDep) -> FastJSON:
    """One source as a GeoJSON Feature."""
    return FastJSON(heat_source_public(get_heat_source(session, source_id)))


@router.post("", status_code=201, summary="Tambah sumber panas / add a heat source", response_model=HeatSourceFeature)
def create(body: HeatSourceIn, ctx: ContextDep, session: SessionDep, user: PlannerDep) -> FastJSON:
    """Create a source from a GeoJSON Feature (polygon repaired or refused with why); marks detections inside."""
    p = body.properties
    src, marked = create_heat_source(session, geometry=geometry_from_geojson(body.geometry), name=p.name,
                                     kind=p.kind, notes=p.notes, actor=user.username, hub=ctx.events)
    out = heat_source_public(src) | {"marked": marked}
    session.commit()
    return FastJSON(out, status_code=201)


@router.patch("/{source_id}", summary="Ubah sumber panas / edit a heat source", response_model=HeatSourceFeature)
def patch(source_id: SourceId, body: HeatSourcePatch, ctx: ContextDep, session: SessionDep,
          user: PlannerDep) -> FastJSON:
    """Edit name, kind, notes or the polygon; detections around the old and new shape are re-marked."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if changes.get("geometry") is not None:
        changes["geometry"] = geometry_from_geojson(changes["geometry"])
    src, marked = update_heat_source(session, source_id, changes=changes, version=body.version,
                                     actor=user.username, hub=ctx.events)
    out = heat_source_public(src) | {"marked": marked}
    session.commit()
    return FastJSON(out)


@router.delete("/{source_id}", status_code=204, summary="Hapus sumber panas / delete a heat source")
def delete(source_id: SourceId, ctx: ContextDep, session: SessionDep, user: PlannerDep) -> Response:
    """Remove a source; its detections are no longer "sumber tetap"."""
    delete_heat_source(session, source_id, actor=user.username, hub=ctx.events)
    session.commit()
    return Response(status_code=204)
