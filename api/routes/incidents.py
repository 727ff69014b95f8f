"""Call intake and the incident lifecycle: create, locate, list, edit, move through states, merge.

Location comes in one of four ways (coordinates, a place name, the raw text of an AML SMS, or none
yet); a call without a usable location is stored as ``perlu_lokasi``, never refused. A place name
that matches several places is refused with 422 and the candidates (the operator must choose; 409
is kept for state conflicts), one that matches nothing with 404 and the closest suggestions.
Every write is one transaction: the change, its audit record and its live event.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.auth import DispatcherDep, ReaderDep
from api.catalog import Catalog, UnknownCategoryError
from api.context import AppContext
from api.deps import CatalogDep, ContextDep, SessionDep, SpatialDep
from api.errors import Conflict, InvalidInput, NotFound
from api.geoinput import check_point
from api.responses import FastJSON
from api.spatial import Spatial
from geo.aml import AmlError, parse_aml
from geo.placenames import MatchStatus, Place, PlaceSearchResult
from store.accounts import record_audit, utcnow
from store.incidents import (
    Call,
    Incident,
    IncidentFilter,
    IncidentRecord,
    StaleVersionError,
    audit_snapshot,
    flush_checked,
    format_wib,
    incident_event,
    intervals_of,
    list_incidents,
    merge_incidents,
    merged_from,
    set_location,
    transition,
)
from store.lifecycle import LABELS, IllegalTransitionError, IncidentState, UnknownStateError, parse_state

router = APIRouter(prefix="/api", tags=["incidents"])

MAX_PAGE = 500
# Ids and versions are 32-bit integers in both databases; larger numbers are refused as 422, not a 500.
MAX_INT = 2**31 - 1
IncidentId = Annotated[int, Path(ge=1, le=MAX_INT, description="id kejadian / incident id")]
# Within this distance of the river centre line a call counts as on the water: boats are proposed.
ON_WATER_M = 500.0


# -- request bodies -----------------------------------------------------------------------------------
def _no_nul(value: Any) -> Any:
    """Refuse the NUL character, which PostgreSQL cannot store in text."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("tidak boleh berisi karakter NUL (\\x00) / must not contain the NUL character (\\x00)")
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text_without_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class LocationIn(_Body):
    """Exactly one of: lon+lat (with optional accuracy_m), place, aml."""

    lon: float | None = Field(None, description="Bujur / longitude WGS84")
    lat: float | None = Field(None, description="Lintang / latitude WGS84")
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="Ketelitian / accuracy (m)")
    place: str | None = Field(None, min_length=1, max_length=120, description="Nama desa/kelurahan/kecamatan")
    aml: str | None = Field(None, min_length=1, max_length=1000, description="Teks SMS AML mentah / raw AML SMS")


class IncidentCreate(_Body):
    """A new call."""

    category: str = Field(max_length=40)
    description: str | None = Field(None, max_length=2000)
    caller_name: str | None = Field(None, max_length=120)
    caller_phone: str | None = Field(None, max_length=32)
    location: LocationIn | None = None


class IncidentPatch(_Body):
    """Changes to an incident; `version` is the one the operator last saw."""

    version: int = Field(ge=1, le=MAX_INT)
    category: str | None = Field(None, max_length=40)
    description: str | None = Field(None, max_length=2000)
    caller_name: str | None = Field(None, max_length=120)
    caller_phone: str | None = Field(None, max_length=32)
    location: LocationIn | None = None


class TransitionIn(_Body):
    """A requested state change."""

    to: str = Field(max_length=20)
    version: int = Field(ge=1, le=MAX_INT)
    note: str | None = Field(None, max_length=1000)


class MergeIn(_Body):
    """Fold `duplicate_id` into the incident in the path."""

    duplicate_id: int = Field(ge=1, le=MAX_INT)
    duplicate_version: int | None = Field(None, ge=1, le=MAX_INT)


# -- resolving a location -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """A location as it will be stored."""

    lon: float | None
    lat: float | None
    accuracy_m: float | None
    source: str | None
    answer: dict[str, Any] | None


def _place_json(place: Place) -> dict[str, Any]:
    return {
        "name": place.name,
        "kind": place.kind,
        "code": place.code,
        "parent": place.parent,
        "lon": round(place.lon, 6),
        "lat": round(place.lat, 6),
    }


def _candidates(result: PlaceSearchResult) -> list[dict[str, Any]]:
    return [_place_json(c.place) | {"score": c.score} for c in result.candidates]


def resolve_location(spatial: Spatial, loc: LocationIn | None) -> Resolved:
    """Turn one of the four location forms into a point and the full locate answer (or none)."""
    if loc is None:
        return Resolved(None, None, None, None, None)
    given = [
        name
        for name, present in (
            ("lon/lat", loc.lon is not None or loc.lat is not None),
            ("place", loc.place is not None),
            ("aml", loc.aml is not None),
        )
        if present
    ]
    if len(given) > 1:
        raise InvalidInput(
            f"Isi salah satu saja dari lon/lat, place atau aml (terisi: {', '.join(given)})",
            f"Give only one of lon/lat, place or aml (given: {', '.join(given)})",
            field="location",
        )
    if not given:
        return Resolved(None, None, None, None, None)
    locator = spatial.locator
    if given[0] == "lon/lat":
        if loc.lon is None or loc.lat is None:
            missing = "lat" if loc.lat is None else "lon"
            raise InvalidInput(
                f"'{missing}' wajib diisi bersama pasangannya",
                f"'{missing}' is required together with its pair",
                field=f"location.{missing}",
            )
        lon, lat = check_point(loc.lon, loc.lat, lon_field="location.lon", lat_field="location.lat")
        return Resolved(lon, lat, loc.accuracy_m, "coordinates", locator.locate(lon=lon, lat=lat))
    if given[0] == "place":
        result = spatial.places.search(loc.place)
        if result.status is MatchStatus.NOT_FOUND:
            raise NotFound(
                f"Tempat '{loc.place}' tidak ditemukan; mungkin maksudnya salah satu saran",
                f"Place '{loc.place}' not found; perhaps one of the suggestions",
                field="location.place",
                suggestions=_candidates(result),
            )
        if result.status is MatchStatus.AMBIGUOUS:
            raise InvalidInput(
                f"'{loc.place}' cocok dengan beberapa tempat; pilih salah satu kandidat",
                f"'{loc.place}' matches several places; choose one of the candidates",
                field="location.place",
                match="ambiguous",
                candidates=_candidates(result),
            )
        place = result.place
        answer = locator.locate(lon=place.lon, lat=place.lat)
        answer["place"] = {
            "query": loc.place,
            "match": result.status.value,
            "kind": place.kind,
            "code": place.code,
            "name": place.name,
            "parent": place.parent,
            "score": result.candidates[0].score,
        }
        radius = spatial.place_radius_m.get(place.code)
        return Resolved(place.lon, place.lat, radius, "place", answer)
    try:
        aml = parse_aml(loc.aml)
    except AmlError as exc:
        text_id, _, text_en = exc.message.partition(" / ")
        raise InvalidInput(
            f"Pesan AML rusak pada atribut '{exc.field}': {text_id}",
            f"Malformed AML message at attribute '{exc.field}': {text_en or text_id}",
            field=f"location.aml.{exc.field}",
            aml_field=exc.field,
        ) from exc
    meta = {
        "method": aml.method,
        "radius_m": aml.radius_m,
        "fixed_at": aml.fixed_at.isoformat() if aml.fixed_at else None,
        "fixed_at_wib": format_wib(aml.fixed_at),
        "confidence_pct": aml.confidence_pct,
        "imsi": aml.imsi,
        "imei": aml.imei,
        "mcc": aml.mcc,
        "mnc": aml.mnc,
        "version": aml.version,
        "raw": aml.raw,
    }
    if not aml.has_location:
        # The handset had no fix: keep the identity and time, the call waits for a location.
        return Resolved(None, None, None, "aml", {"aml": meta})
    lon, lat = check_point(aml.lon, aml.lat, lon_field="location.aml.lg", lat_field="location.aml.lt")
    answer = locator.locate(lon=lon, lat=lat)
    answer["aml"] = meta
    return Resolved(lon, lat, aml.radius_m, "aml", answer)


# -- serialising --------------------------------------------------------------------------------------
def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def incident_public(
    incident: Incident | IncidentRecord, catalog: Catalog, *, merged: list[int] | None = None
) -> dict[str, Any]:
    """The public JSON of an incident (IncidentPublic in the contract)."""
    state = parse_state(incident.status)
    river = ((incident.location or {}).get("river") or {}).get("distance_m")
    try:
        view = catalog.incident_view(incident.category, on_water=river is not None and river <= ON_WATER_M)
    except UnknownCategoryError:
        # A category removed from the catalog after the call was recorded: keep serving the call.
        view = {"category_label_id": incident.category, "category_label_en": incident.category,
                "agencies": {"primary": [], "supporting": []}, "unit_types": []}
    loc = incident.location or {}
    return {
        "id": incident.id,
        "number": incident.number,
        "category": incident.category,
        "category_label_id": view["category_label_id"],
        "category_label_en": view["category_label_en"],
        "status": state.value,
        "status_label_id": LABELS[state].id,
        "status_label_en": LABELS[state].en,
        "description": incident.description,
        "caller_name": incident.caller_name,
        "caller_phone": incident.caller_phone,
        "lon": incident.lon,
        "lat": incident.lat,
        "accuracy_m": incident.accuracy_m,
        "location_source": incident.location_source,
        "location": incident.location,
        "desa_code": incident.desa_code,
        "desa_name": (loc.get("desa") or {}).get("name") if incident.desa_code else None,
        "kecamatan_code": incident.kecamatan_code,
        "kecamatan_name": (loc.get("kecamatan") or {}).get("name") if incident.kecamatan_code else None,
        "inside_regency": incident.inside_regency,
        "possible_duplicates": incident.possible_duplicates or [],
        "agencies": view["agencies"],
        "unit_types": view["unit_types"],
        "version": incident.version,
        "created_by": incident.created_by,
        "created_at": _iso(incident.created_at),
        "created_at_wib": format_wib(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "updated_at_wib": format_wib(incident.updated_at),
        "transitions": [
            {
                "status": t.status,
                "from": t.from_status,
                "at": _iso(t.at),
                "at_wib": format_wib(t.at),
                "by": t.actor,
                "note": t.note,
            }
            for t in incident.transitions
        ],
        "intervals": intervals_of(incident),
        "merged_into": incident.merged_into_id,
        "merged_from": merged or [],
    }


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _check_category(catalog: Catalog, code: str) -> None:
    try:
        catalog.category(code)
    except UnknownCategoryError as exc:
        valid = list(exc.valid)
        raise InvalidInput(
            f"Kategori tidak dikenal '{code}'; yang sah: {', '.join(valid)}",
            f"Unknown category '{code}'; valid: {', '.join(valid)}",
            field="category",
            valid=valid,
        ) from None


def _stale(exc: StaleVersionError) -> Conflict:
    return Conflict(
        f"Kejadian sudah diubah orang lain (versi {exc.seen} sudah usang); muat ulang lalu ulangi",
        f"The incident was changed by someone else (version {exc.seen} is stale); reload and retry",
        field="version",
        current_version=exc.current,
    )


def _writing(ctx: AppContext) -> AbstractContextManager:
    """The in-process writer queue on SQLite, nothing on PostgreSQL."""
    lock = ctx.write_lock
    return lock if lock is not None else nullcontext()


def _load(session: Any, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"Kejadian {incident_id} tidak ditemukan", f"Incident {incident_id} not found", field="id")
    return incident


# -- catalog ------------------------------------------------------------------------------------------
@router.get("/categories", summary="Kategori kejadian / incident categories")
def categories(catalog: CatalogDep, _: ReaderDep) -> FastJSON:
    """Every category with its primary and supporting agencies and default unit types."""
    out = []
    for cat in catalog.categories:
        primary, supporting = catalog.agencies_for(cat.code)
        out.append(
            cat.model_dump()
            | {
                "primary_agencies": [a.public() for a in primary],
                "supporting_agencies": [a.public() for a in supporting],
            }
        )
    return FastJSON({"count": len(out), "categories": out})


@router.get("/agencies", summary="Instansi dan jenis unit / agencies and unit types")
def agencies(catalog: CatalogDep, _: ReaderDep) -> FastJSON:
    """Agencies (dispatchable or read-only) and the unit types each runs."""
    return FastJSON(
        {
            "agencies": [a.model_dump() for a in catalog.agencies],
            "unit_types": [u.model_dump() for u in catalog.unit_types],
        }
    )


@router.get("/places", summary="Cari nama tempat / search a place name")
def places(
    spatial: SpatialDep,
    _: ReaderDep,
    q: Annotated[str, Query(min_length=1, max_length=120, description="desa/kelurahan, kecamatan atau kode")],
) -> FastJSON:
    """The place a name means, tolerant of case, spacing and small typos, with ranked candidates.

    The same search `location.place` of a call uses: `exact` or `close` name one place (with the radius a
    call located there gets as its accuracy), `ambiguous` and `not_found` only candidates.
    """
    result = spatial.places.search(q)
    place = result.place
    return FastJSON(
        {
            "query": q,
            "status": result.status.value,
            "place": None
            if place is None
            else _place_json(place) | {"radius_m": spatial.place_radius_m.get(place.code)},
            "candidates": _candidates(result),
        }
    )


# -- incidents ----------------------------------------------------------------------------------------
@router.post("/incidents", status_code=201, summary="Catat panggilan / record a call")
async def create(body: IncidentCreate, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """Record a call with its location (coordinates, place name, AML SMS or none yet)."""
    catalog: Catalog = ctx.catalog
    _check_category(catalog, body.category)
    # Locating is tens of microseconds of compiled code: it runs on the event loop, the write on the
    # call writer's thread, and no worker thread is taken while the request waits.
    where = resolve_location(ctx.spatial, body.location)
    call = Call(
        category=body.category,
        actor=user.username,
        description=body.description,
        caller_name=body.caller_name,
        caller_phone=body.caller_phone,
        lon=where.lon,
        lat=where.lat,
        accuracy_m=where.accuracy_m,
        location_source=where.source,
        location=where.answer,
        client=_client(request),
        at=utcnow(),
    )
    # Shielded: a client that hangs up does not withdraw its call, which is stored all the same.
    stored = ctx.call_writer.submit(call)
    incident = await asyncio.shield(asyncio.wrap_future(stored))
    return FastJSON(incident_public(incident, catalog), status_code=201)


def _split(values: list[str] | None, *, field: str) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        if "\x00" in v:
            raise InvalidInput(
                f"'{field}' tidak boleh berisi karakter NUL",
                f"'{field}' must not contain the NUL character",
                field=field,
            )
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return tuple(out)


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(p) for p in raw.split(","))
    except ValueError:
        raise InvalidInput(
            "bbox harus 'minlon,minlat,maxlon,maxlat' (4 angka)",
            "bbox must be 'minlon,minlat,maxlon,maxlat' (4 numbers)",
            field="bbox",
        ) from None
    check_point(minx, miny, lon_field="bbox", lat_field="bbox")
    check_point(maxx, maxy, lon_field="bbox", lat_field="bbox")
    if minx > maxx or miny > maxy:
        raise InvalidInput("bbox: min harus lebih kecil dari max", "bbox: min must not exceed max", field="bbox")
    return minx, miny, maxx, maxy


def _utc(at: datetime | None) -> datetime | None:
    """Query times: naive values are read as UTC, offsets are honoured."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _codes(values: tuple[str, ...], names: dict[str, Any]) -> tuple[str, ...]:
    """Codes as given, names (any case) turned into their codes."""
    out: list[str] = []
    for v in values:
        hit = names.get(v.lower())
        if hit is None:
            out.append(v)
        else:
            out.extend([hit] if isinstance(hit, str) else hit)
    return tuple(out)


@router.get("/incidents", summary="Daftar kejadian / list incidents")
def list_(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    status: Annotated[list[str] | None, Query(description="status, dipisah koma / comma-separated")] = None,
    category: Annotated[list[str] | None, Query()] = None,
    kecamatan: Annotated[list[str] | None, Query(description="kode atau nama / code or name")] = None,
    desa: Annotated[list[str] | None, Query(description="kode atau nama / code or name")] = None,
    since: Annotated[datetime | None, Query(description="ISO-8601; tanpa zona = UTC")] = None,
    until: Annotated[datetime | None, Query(description="ISO-8601; tanpa zona = UTC")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    format: Annotated[Literal["json", "geojson"], Query()] = "json",
) -> FastJSON:
    """Incidents newest first, filtered, one page at a time, as JSON or a GeoJSON FeatureCollection."""
    statuses = _split(status, field="status")
    try:
        for s in statuses:
            parse_state(s)
    except UnknownStateError as exc:
        valid = [s.value for s in IncidentState]
        raise InvalidInput(
            f"Status tidak dikenal '{exc.value}'; yang sah: {', '.join(valid)}",
            f"Unknown status '{exc.value}'; valid: {', '.join(valid)}",
            field="status",
            valid=valid,
        ) from None
    flt = IncidentFilter(
        statuses=statuses,
        categories=_split(category, field="category"),
        kecamatan=_codes(_split(kecamatan, field="kecamatan"), ctx.spatial.kecamatan_by_name),
        desa=_codes(_split(desa, field="desa"), ctx.spatial.desa_by_name),
        since=_utc(since),
        until=_utc(until),
        bbox=_bbox(bbox),
    )
    total, rows = list_incidents(session, flt, limit=limit, offset=offset)
    catalog = ctx.catalog
    items = [incident_public(r, catalog) for r in rows]
    page = {"total": total, "limit": limit, "offset": offset, "returned": len(items)}
    if format == "geojson":
        features = [
            {
                "type": "Feature",
                "id": item["id"],
                "geometry": None
                if item["lon"] is None
                else {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
                "properties": item,
            }
            for item in items
        ]
        return FastJSON(
            {
                "type": "FeatureCollection",
                "features": features,
                "numberMatched": total,
                "numberReturned": len(items),
                **page,
            },
            media_type="application/geo+json",
        )
    return FastJSON({**page, "items": items})


@router.get("/incidents/{incident_id}", summary="Satu kejadian / one incident")
def get_one(incident_id: IncidentId, catalog: CatalogDep, session: SessionDep, _: ReaderDep) -> FastJSON:
    """One incident with its history, intervals and merges."""
    incident = _load(session, incident_id)
    return FastJSON(incident_public(incident, catalog, merged=merged_from(session, incident.id)))


@router.patch("/incidents/{incident_id}", summary="Ubah kejadian / edit an incident")
def patch(
    incident_id: IncidentId,
    body: IncidentPatch,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    user: DispatcherDep,
) -> FastJSON:
    """Edit details or set the location; a perlu_lokasi incident given a location becomes baru."""
    with _writing(ctx):
        return _patch(incident_id, body, request, ctx, session, user.username)


def _patch(
    incident_id: int, body: IncidentPatch, request: Request, ctx: AppContext, session: Any, actor: str
) -> FastJSON:
    catalog: Catalog = ctx.catalog
    incident = _load(session, incident_id)
    if body.version != incident.version:
        raise _stale(StaleVersionError(incident.id, body.version, incident.version))
    before = audit_snapshot(incident)
    seen = incident.version
    changed: list[str] = []
    fields = body.model_fields_set - {"version", "location"}
    if "category" in fields and body.category is not None:
        _check_category(catalog, body.category)
    for name in sorted(fields):
        value = getattr(body, name)
        if name == "category" and value is None:
            continue
        if getattr(incident, name) != value:
            setattr(incident, name, value)
            changed.append(name)
    if "location" in body.model_fields_set and body.location is not None:
        where = resolve_location(ctx.spatial, body.location)
        if where.source is not None:
            set_location(
                incident,
                lon=where.lon,
                lat=where.lat,
                accuracy_m=where.accuracy_m,
                source=where.source,
                location=where.answer,
            )
            changed.append("location")
    if not changed:
        merged = merged_from(session, incident.id)
        session.commit()  # nothing changed; ends the read so the SQLite lock is not held
        return FastJSON(incident_public(incident, catalog, merged=merged))
    now = utcnow()
    incident.updated_at = now
    try:
        if incident.status == IncidentState.PERLU_LOKASI and incident.lon is not None:
            transition(session, incident, IncidentState.BARU, actor=actor, note="Lokasi diisi / located")
            changed.append("status")
        else:
            flush_checked(session, incident, seen=seen)
    except StaleVersionError as exc:
        session.rollback()
        raise _stale(exc) from None
    return _commit_update(request, ctx, session, incident, actor=actor, action="incident.update", before=before,
                          changed=changed)


def _commit_update(request: Request, ctx: AppContext, session: Any, incident: Incident, *, actor: str, action: str,
                   before: dict[str, Any], changed: list[str], after_extra: dict[str, Any] | None = None) -> FastJSON:
    """Audit the change, announce it, commit, and answer with the incident as it now stands."""
    after = audit_snapshot(incident) | (after_extra or {})
    record_audit(session, actor=actor, action=action, entity="incident", entity_id=incident.id, before=before,
                 after=after, client=_client(request))
    ctx.events.publish(session, "incident.updated", incident_event(incident, changed))
    merged = merged_from(session, incident.id)
    session.commit()
    return FastJSON(incident_public(incident, ctx.catalog, merged=merged))


@router.post("/incidents/{incident_id}/transition", summary="Ubah status / change state")
def change_state(
    incident_id: IncidentId,
    body: TransitionIn,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    user: DispatcherDep,
) -> FastJSON:
    """Move the incident one step along its lifecycle (or cancel it); 409 names the allowed moves."""
    with _writing(ctx):
        return _change_state(incident_id, body, request, ctx, session, user.username)


def _change_state(
    incident_id: int, body: TransitionIn, request: Request, ctx: AppContext, session: Any, actor: str
) -> FastJSON:
    incident = _load(session, incident_id)
    try:
        target = parse_state(body.to)
    except UnknownStateError:
        valid = [s.value for s in IncidentState]
        raise InvalidInput(
            f"Status tidak dikenal '{body.to}'; yang sah: {', '.join(valid)}",
            f"Unknown state '{body.to}'; valid: {', '.join(valid)}",
            field="to",
            valid=valid,
        ) from None
    if body.version != incident.version:
        raise _stale(StaleVersionError(incident.id, body.version, incident.version))
    if target is IncidentState.BARU and incident.lon is None:
        raise Conflict(
            "Kejadian belum punya lokasi; isi lokasi (PATCH location) agar menjadi baru",
            "The incident has no location yet; set it (PATCH location) to make it new",
            field="to",
            allowed=["batal"],
        )
    before = audit_snapshot(incident)
    try:
        transition(session, incident, target, actor=actor, version=body.version, note=body.note)
    except IllegalTransitionError as exc:
        ids, ens = str(exc).split(" / ", 1)
        raise Conflict(
            ids, ens, field="to", current=exc.current.value, allowed=[s.value for s in exc.allowed]
        ) from None
    except StaleVersionError as exc:
        session.rollback()
        raise _stale(exc) from None
    return _commit_update(request, ctx, session, incident, actor=actor, action="incident.transition", before=before,
                          changed=["status"], after_extra={"note": body.note})


@router.post("/incidents/{incident_id}/merge", summary="Gabungkan duplikat / merge a duplicate")
def merge(
    incident_id: IncidentId, body: MergeIn, request: Request, ctx: ContextDep, session: SessionDep, user: DispatcherDep
) -> FastJSON:
    """Cancel `duplicate_id` as merged into this incident; both keep their full history."""
    with _writing(ctx):
        return _merge(incident_id, body, request, ctx, session, user.username)


def _merge(incident_id: int, body: MergeIn, request: Request, ctx: AppContext, session: Any, actor: str) -> FastJSON:
    keep = _load(session, incident_id)
    duplicate = _load(session, body.duplicate_id)
    if keep.status == IncidentState.BATAL or keep.merged_into_id is not None:
        raise Conflict(
            f"Kejadian {keep.number} sudah batal/digabung; gabungkan ke kejadian yang masih berjalan",
            f"Incident {keep.number} is cancelled or merged; merge into an incident still in progress",
            field="id",
        )
    if keep.id == duplicate.id:
        raise InvalidInput(
            "Kejadian tidak bisa digabung dengan dirinya sendiri",
            "An incident cannot be merged into itself",
            field="duplicate_id",
        )
    before_keep, before_dup = audit_snapshot(keep), audit_snapshot(duplicate)
    try:
        merge_incidents(session, keep=keep, duplicate=duplicate, actor=actor, version=body.duplicate_version)
    except IllegalTransitionError as exc:
        raise Conflict(
            f"Kejadian {duplicate.number} berstatus '{exc.current.value}' dan tidak bisa dibatalkan/digabung",
            f"Incident {duplicate.number} is '{exc.current.value}' and cannot be cancelled/merged",
            field="duplicate_id",
            current=exc.current.value,
            allowed=[s.value for s in exc.allowed],
        ) from None
    except StaleVersionError as exc:
        session.rollback()
        raise _stale(exc) from None
    for inc, before, action in ((keep, before_keep, "incident.merge"), (duplicate, before_dup, "incident.merged")):
        record_audit(
            session,
            actor=actor,
            action=action,
            entity="incident",
            entity_id=inc.id,
            before=before,
            after=audit_snapshot(inc) | {"kept_id": keep.id, "duplicate_id": duplicate.id},
            client=_client(request),
        )
    hub = ctx.events
    hub.publish(session, "incident.updated", incident_event(keep, ["merged_from"]))
    hub.publish(session, "incident.updated", incident_event(duplicate, ["status", "merged_into"]))
    merged = merged_from(session, keep.id)
    session.commit()
    return FastJSON(incident_public(keep, ctx.catalog, merged=merged))
