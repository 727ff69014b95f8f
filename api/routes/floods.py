"""Flood zones: list, create (GeoJSON Feature), edit, import a file, affected desa and roads cut."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import shapely
from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.auth import OperatorDep, ReaderDep
from api.deps import ContextDep, SessionDep
from api.errors import Conflict, InvalidInput, NotFound
from api.responses import FastJSON
from geo.floods import FloodGeometryError
from store.db import session_scope
from store.floods import (
    FloodInputError,
    FloodZone,
    create_flood,
    flood_affected,
    flood_public,
    import_flood_file,
    update_flood,
)

router = APIRouter(prefix="/api/floods", tags=["floods"])

ZoneId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Id zona / zone id")]

Severity = Literal["rendah", "sedang", "tinggi"]
Status = Literal["active", "ended"]


class FloodProperties(BaseModel):
    """Attributes of a new flood zone."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=200)
    severity: Severity = "sedang"
    status: Status = "active"
    observed_at: datetime | None = None
    source: str = Field(default="manual", max_length=200)
    notes: str | None = Field(default=None, max_length=4000)


class FloodFeature(BaseModel):
    """A GeoJSON Feature: Polygon or MultiPolygon in WGS84 [lon, lat] plus the zone attributes."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: FloodProperties


class FloodPatch(BaseModel):
    """Changes to a zone; `version` (optional) guards against overwriting someone else's edit."""

    model_config = ConfigDict(extra="forbid")
    version: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    severity: Severity | None = None
    status: Status | None = None
    observed_at: datetime | None = None
    source: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)
    geometry: dict[str, Any] | None = None


def _shape(geometry: dict[str, Any]) -> shapely.Geometry:
    try:
        import json  # noqa: PLC0415

        return shapely.from_geojson(json.dumps(geometry))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"Geometri GeoJSON tidak terbaca: {exc}", f"GeoJSON geometry cannot be read: {exc}", field="geometry"
        ) from exc


def _geometry_error(exc: FloodGeometryError) -> InvalidInput:
    mid, _, men = str(exc).partition(" / ")
    return InvalidInput(mid, men or mid, field="geometry")


def _input_error(exc: FloodInputError) -> InvalidInput:
    mid, _, men = str(exc).partition(" / ")
    return InvalidInput(mid, men or mid, field=exc.field)


def _feature(zone: FloodZone) -> dict[str, Any]:
    props = flood_public(zone, include_geometry=True)
    geometry = props.pop("geometry")
    return {"type": "Feature", "id": zone.id, "geometry": geometry, "properties": props}


def _load(session: Any, zone_id: int) -> FloodZone:
    zone = session.get(FloodZone, zone_id)
    if zone is None:
        raise NotFound(f"Zona banjir {zone_id} tidak ada", f"Flood zone {zone_id} does not exist", field="id")
    return zone


@router.get("", summary="Zona banjir GeoJSON / flood zones as GeoJSON")
def list_floods(
    session: SessionDep,
    _: ReaderDep,
    status: Annotated[Status | None, Query(description="active|ended; bawaan semua / default all")] = None,
) -> FastJSON:
    """Every flood zone (optionally only active or ended ones) as a FeatureCollection."""
    stmt = select(FloodZone).order_by(FloodZone.id)
    if status:
        stmt = stmt.where(FloodZone.status == status)
    features = [_feature(z) for z in session.scalars(stmt)]
    return FastJSON({"type": "FeatureCollection", "features": features, "count": len(features)})


@router.get("/{zone_id}", summary="Satu zona banjir / one flood zone")
def get_flood(zone_id: ZoneId, session: SessionDep, _: ReaderDep) -> FastJSON:
    """One flood zone as a GeoJSON Feature."""
    return FastJSON(_feature(_load(session, zone_id)))


@router.post("", status_code=201, summary="Buat zona banjir / create a flood zone")
def create(body: FloodFeature, ctx: ContextDep, session: SessionDep, user: OperatorDep) -> FastJSON:
    """Create a zone from a GeoJSON Feature; an invalid polygon is repaired (make_valid) or refused with why."""
    geom = _shape(body.geometry)
    p = body.properties
    try:
        zone, clean = create_flood(
            session,
            geometry=geom,
            name=p.name,
            severity=p.severity,
            status=p.status,
            observed_at=p.observed_at,
            source=p.source,
            notes=p.notes,
            actor=user.username,
            hub=ctx.events,
        )
    except FloodGeometryError as exc:
        raise _geometry_error(exc) from exc
    except FloodInputError as exc:
        raise _input_error(exc) from exc
    out = _feature(zone)
    session.commit()
    out["repaired"] = clean.repaired
    out["repair_reason"] = clean.reason
    return FastJSON(out, status_code=201)


@router.patch("/{zone_id}", summary="Ubah zona banjir / edit a flood zone")
def patch(zone_id: ZoneId, body: FloodPatch, ctx: ContextDep, session: SessionDep, user: OperatorDep) -> FastJSON:
    """Change attributes or geometry; 409 when `version` is given and stale."""
    zone = _load(session, zone_id)
    if body.version is not None and body.version != zone.version:
        raise Conflict(
            f"Zona sudah diubah orang lain (versi {zone.version}); muat ulang",
            f"The zone was changed by someone else (version {zone.version}); reload",
            field="version",
            current_version=zone.version,
        )
    changes = body.model_dump(exclude_unset=True, exclude={"version", "geometry"})
    geom = _shape(body.geometry) if body.geometry is not None else None
    try:
        changed = update_flood(session, zone, changes, actor=user.username, hub=ctx.events, geometry=geom)
    except FloodGeometryError as exc:
        raise _geometry_error(exc) from exc
    except FloodInputError as exc:
        raise _input_error(exc) from exc
    out = _feature(zone)
    session.commit()
    out["changed"] = changed
    return FastJSON(out)


@router.get("/{zone_id}/affected", summary="Desa terdampak dan jalan terputus / affected desa and roads cut")
def affected(zone_id: ZoneId, ctx: ContextDep, session: SessionDep, _: ReaderDep) -> FastJSON:
    """Desa overlapped with the share of their area under water (UTM 50S) and network lines crossing the zone."""
    zone = _load(session, zone_id)
    return FastJSON(flood_affected(session, zone, layers=ctx.spatial.layers))


@router.post("/import", status_code=201, summary="Impor berkas zona banjir / import a flood-zone file")
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
    state = ctx
    with tempfile.TemporaryDirectory(prefix="sigap-flood-") as tmp:
        path = FilePath(tmp) / name
        with path.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, file.file, out, 1 << 20)
        target = f"/vsizip/{path}" if suffix == ".zip" else str(path)

        def run() -> Any:
            with session_scope(state.sessions) as session:
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
                    hub=state.events,
                )

        try:
            report = await asyncio.to_thread(run)
        except Exception as exc:
            if exc.__class__.__module__.startswith("pyogrio") or isinstance(exc, (OSError, ValueError)):
                raise InvalidInput(
                    f"Berkas tidak terbaca: {exc}", f"The file cannot be read: {exc}", field="file"
                ) from exc
            raise
    return FastJSON(
        {
            "created": report.created,
            "repaired": [{"feature": i, "reason": r} for i, r in report.repaired],
            "rejected": [{"feature": i, "reason": r} for i, r in report.rejected],
        },
        status_code=201,
    )
