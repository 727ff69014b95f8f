"""Flood zones: list, create (GeoJSON Feature), edit, import a file, affected desa and roads cut."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile

from api.auth import OperatorDep, ReaderDep
from api.deps import ContextDep, SessionDep
from api.errors import InvalidInput
from api.responses import FastJSON
from api.schemas.floods import (
    ChangedFloodZone,
    CreatedFloodZone,
    FloodAffected,
    FloodFeature,
    FloodImportReport,
    FloodPatch,
    FloodZoneCollection,
    FloodZoneFeature,
    Severity,
    Status,
    flood_feature,
)
from geo.floods import geometry_from_geojson
from store.db import session_scope
from store.floods import (
    create_flood,
    flood_affected,
    get_flood_zone,
    import_flood_file,
    list_flood_zones,
    update_flood,
)

router = APIRouter(prefix="/api/floods", tags=["floods"])

ZoneId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Id zona / zone id")]


@router.get("", summary="Zona banjir GeoJSON / flood zones as GeoJSON", response_model=FloodZoneCollection)
def list_floods(
    session: SessionDep,
    _: ReaderDep,
    status: Annotated[Status | None, Query(description="active|ended; bawaan semua / default all")] = None,
) -> FastJSON:
    """Every flood zone (optionally only active or ended ones) as a FeatureCollection."""
    features = [flood_feature(z) for z in list_flood_zones(session, status=status)]
    return FastJSON({"type": "FeatureCollection", "features": features, "count": len(features)})


@router.get("/{zone_id}", summary="Satu zona banjir / one flood zone", response_model=FloodZoneFeature)
def get_flood(zone_id: ZoneId, session: SessionDep, _: ReaderDep) -> FastJSON:
    """One flood zone as a GeoJSON Feature."""
    return FastJSON(flood_feature(get_flood_zone(session, zone_id)))


@router.post("", status_code=201, summary="Buat zona banjir / create a flood zone", response_model=CreatedFloodZone)
def create(body: FloodFeature, ctx: ContextDep, session: SessionDep, user: OperatorDep) -> FastJSON:
    """Create a zone from a GeoJSON Feature; an invalid polygon is repaired (make_valid) or refused with why."""
    p = body.properties
    zone, clean = create_flood(
        session,
        geometry=geometry_from_geojson(body.geometry),
        name=p.name,
        severity=p.severity,
        status=p.status,
        observed_at=p.observed_at,
        source=p.source,
        notes=p.notes,
        actor=user.username,
        hub=ctx.events,
        rules=ctx.polygon_rules,
    )
    out = flood_feature(zone)
    session.commit()
    out["repaired"] = clean.repaired
    out["repair_reason"] = clean.reason
    return FastJSON(out, status_code=201)


@router.patch("/{zone_id}", summary="Ubah zona banjir / edit a flood zone", response_model=ChangedFloodZone)
def patch(zone_id: ZoneId, body: FloodPatch, ctx: ContextDep, session: SessionDep, user: OperatorDep) -> FastJSON:
    """Change attributes or geometry; 409 when `version` is given and stale."""
    zone = get_flood_zone(session, zone_id)
    changed = update_flood(
        session,
        zone,
        body.model_dump(exclude_unset=True, exclude={"version", "geometry"}),
        actor=user.username,
        hub=ctx.events,
        geometry=None if body.geometry is None else geometry_from_geojson(body.geometry),
        expected_version=body.version,
        rules=ctx.polygon_rules,
    )
    out = flood_feature(zone)
    session.commit()
    out["changed"] = changed
    return FastJSON(out)


@router.get(
    "/{zone_id}/affected",
    summary="Desa terdampak dan jalan terputus / affected desa and roads cut",
    response_model=FloodAffected,
)
def affected(zone_id: ZoneId, ctx: ContextDep, session: SessionDep, _: ReaderDep) -> FastJSON:
    """Desa overlapped with the share of their area under water (UTM 50S) and network lines crossing the zone."""
    return FastJSON(flood_affected(session, get_flood_zone(session, zone_id), layers=ctx.spatial.layers))


@router.post(
    "/import",
    status_code=201,
    summary="Impor berkas zona banjir / import a flood-zone file",
    response_model=FloodImportReport,
)
async def import_file(
    ctx: ContextDep,
    user: OperatorDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, or a zipped Shapefile")],
    name_column: Annotated[str | None, Form()] = "name",
    severity_column: Annotated[str | None, Form()] = "severity",
    status_column: Annotated[str | None, Form()] = "status",
    observed_column: Annotated[str | None, Form()] = "observed_at",
    severity: Annotated[Severity, Form()] = "sedang",
    status: Annotated[Status, Form()] = "active",
) -> FastJSON:
    """Import polygons from an uploaded file; per-feature repairs and rejections are reported."""
    name = FilePath(file.filename or "upload.geojson").name
    suffix = FilePath(name).suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg", ".zip"):
        raise InvalidInput(
            "Jenis berkas harus .geojson, .gpkg atau .zip (Shapefile)",
            "The file must be .geojson, .gpkg or .zip (Shapefile)",
            field="file",
        )
    with tempfile.TemporaryDirectory(prefix="sigap-flood-") as tmp:
        path = FilePath(tmp) / name
        with path.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, file.file, out, 1 << 20)
        target = f"/vsizip/{path}" if suffix == ".zip" else str(path)

        def run() -> Any:
            with session_scope(ctx.sessions) as session:
                return import_flood_file(
                    session,
                    target,
                    name_column=name_column,
                    severity_column=severity_column,
                    status_column=status_column,
                    observed_column=observed_column,
                    default_severity=severity,
                    default_status=status,
                    source=f"upload: {name}",
                    actor=user.username,
                    hub=ctx.events,
                    rules=ctx.polygon_rules,
                )

        # An unreadable file is a FloodInputError naming `file` (a 422 with GDAL's reason).
        report = await asyncio.to_thread(run)
    return FastJSON(
        {
            "created": report.created,
            "repaired": [{"feature": i, "reason": r} for i, r in report.repaired],
            "rejected": [{"feature": i, "reason": r} for i, r in report.rejected],
        },
        status_code=201,
    )
