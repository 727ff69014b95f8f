"""Call intake and the incident lifecycle over HTTP: create, locate, list, edit, move through states, merge.

Location comes in one of four ways (coordinates, a place name, the raw text of an AML SMS, or none
yet; ``geo.resolve``); a call without a usable location is stored as ``perlu_lokasi``, never refused. A place
name that matches several places is refused with 422 and the candidates (the operator must choose; 409
is kept for state conflicts), one that matches nothing with 404 and the closest suggestions.
What a change does (load, version check, transition, audit, event, commit) is in ``store.commands``; these
routes parse, call and serialise.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, field_validator

from api.auth import DispatcherDep, ReaderDep
from api.context import AppContext
from api.deps import CatalogDep, ContextDep, SessionDep, SpatialDep, client_address
from api.params import known_values, parse_bbox, split_list
from api.responses import FastJSON
from api.schemas import Body as _Body
from api.schemas import also_as, refuse_nul
from api.schemas.incidents import (
    IncidentFeatureCollection,
    IncidentPage,
    IncidentPublic,
    PlaceSearch,
    incident_feature,
    incident_public,
)
from api.spatial import Spatial
from geo.errors import InvalidInput
from geo.resolve import NOWHERE, Resolved, candidates_json, place_json, resolve_location, search_place
from geo.times import as_utc, iso_utc, utcnow
from store.accounts import audit_read
from store.commands import incidents as commands
from store.dispatch import units_on_calls
from store.incidents import COUNT_CAP, PRIORITIES, Call, IncidentFilter, StoredIncident, list_incidents, read_incident
from store.lifecycle import parse_state
from store.search import open_calls_near
from store.trust import find_idempotent_incident, idempotency_digest, remember_idempotent_incident

router = APIRouter(prefix="/api", tags=["incidents"])

MAX_PAGE = 500
# Ids and versions are 32-bit integers in both databases; larger numbers are refused as 422, not a 500.
MAX_INT = 2**31 - 1
IncidentId = Annotated[int, Path(ge=1, le=MAX_INT, description="id kejadian / incident id")]


# -- request bodies -----------------------------------------------------------------------------------
class LocationIn(_Body):
    """Exactly one of: lon+lat (with optional accuracy_m), place, aml."""

    lon: float | None = Field(None, description="Bujur / longitude WGS84")
    lat: float | None = Field(None, description="Lintang / latitude WGS84")
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="Ketelitian / accuracy (m)")
    place: str | None = Field(None, min_length=1, max_length=120, description="Nama desa/kelurahan/kecamatan")
    aml: str | None = Field(None, min_length=1, max_length=1000, description="Teks SMS AML mentah / raw AML SMS")

    @field_validator("place", mode="before")
    @classmethod
    def _place_is_side_data(cls, value: Any) -> Any:
        # Typed place text never refuses a call: NULs dropped, clipped to the column; nothing left = no place.
        if isinstance(value, str):
            value = value.replace("\x00", "")[:120]
            return value if value.strip() else None
        return value


Priority = Literal["P1", "P2", "P3"]


class IncidentCreate(_Body):
    """A new call."""

    category: str = Field(max_length=40)
    priority: Priority | None = Field(
        None, description="P1-P3; tanpa ini diusulkan dari kategori / proposed from the category"
    )
    description: str | None = Field(None, max_length=2000)
    caller_name: str | None = Field(None, max_length=120)
    caller_phone: str | None = Field(None, max_length=32)
    location: LocationIn | None = None
    # Side data: an id that names no call (or is out of range) is ignored and the call is recorded new.
    call_id: int | None = Field(
        None,
        description="Panggilan meja (pop PBX) asal kejadian ini; tanpa ini panggilannya dicatat baru / the desk call "
        "this incident comes from; without it a new darurat call is recorded",
    )


class IncidentPatch(_Body):
    """Changes to an incident; `version` is the one the operator last saw."""

    version: int = Field(ge=1, le=MAX_INT)
    category: str | None = Field(None, max_length=40)
    description: str | None = Field(None, max_length=2000)
    caller_name: str | None = Field(None, max_length=120)
    caller_phone: str | None = Field(None, max_length=32)
    priority: Priority | None = None
    location: LocationIn | None = None


class TransitionIn(_Body):
    """A requested state change; cancelling (batal) or closing (ditutup) needs a disposition from the catalog."""

    to: str = Field(max_length=20)
    version: int = Field(ge=1, le=MAX_INT)
    note: str | None = Field(None, max_length=1000)
    disposition: str | None = Field(None, max_length=40, description="GET /api/dispositions")


class NoteIn(_Body):
    """A line for the call log (appended; a correction is a new note)."""

    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("catatan kosong / the note is empty")
        return value


class ClaimIn(_Body):
    """Take the call (`release`: false) or let it go (true)."""

    release: bool = False


class MergeIn(_Body):
    """Fold `duplicate_id` into the incident in the path."""

    duplicate_id: int = Field(ge=1, le=MAX_INT)
    duplicate_version: int | None = Field(None, ge=1, le=MAX_INT)


def _resolve(spatial: Spatial, loc: LocationIn | None) -> Resolved:
    """The location given in a request body, resolved against the current spatial snapshot."""
    if loc is None:
        return NOWHERE
    return resolve_location(
        locator=spatial.locator,
        places=spatial.places,
        place_radius_m=spatial.place_radius_m,
        lon=loc.lon,
        lat=loc.lat,
        accuracy_m=loc.accuracy_m,
        place=loc.place,
        aml=loc.aml,
    )


def aml_age(where: Resolved, *, now: datetime, stale_after_s: float) -> None:
    """Put the AML fix's age (seconds before `now`) and whether it is stale into the answer's AML details."""
    meta = (where.answer or {}).get("aml") if where.source == "aml" else None
    if not meta or not meta.get("fixed_at"):
        return
    age = (now - as_utc(meta["fixed_at"])).total_seconds()
    meta["age_s"] = round(age, 1)
    meta["stale"] = age > stale_after_s
    meta["stale_after_s"] = stale_after_s


def _answer(stored: StoredIncident, ctx: AppContext) -> FastJSON:
    return FastJSON(incident_public(stored.incident, ctx.catalog, stored.merged_from, units=stored.units))


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


@router.get("/dispositions", summary="Disposisi (alasan berakhir) / dispositions")
def dispositions(catalog: CatalogDep, _: ReaderDep) -> FastJSON:
    """Why a call may end; cancelling or closing a call names one of these codes."""
    return FastJSON({"dispositions": [d.model_dump() for d in catalog.dispositions]})


@router.get("/agencies", summary="Instansi dan jenis unit / agencies and unit types")
def agencies(catalog: CatalogDep, _: ReaderDep) -> FastJSON:
    """Agencies (dispatchable or read-only) and the unit types each runs."""
    return FastJSON(
        {
            "agencies": [a.model_dump() for a in catalog.agencies],
            "unit_types": [u.model_dump() for u in catalog.unit_types],
        }
    )


@router.get("/places", summary="Cari nama tempat / search a place name", response_model=PlaceSearch)
def places(
    spatial: SpatialDep,
    _: ReaderDep,
    q: Annotated[str, Query(min_length=1, max_length=120, description="desa/kelurahan, kecamatan atau kode")],
) -> FastJSON:
    """The place a name means, tolerant of case, spacing and small typos, with ranked candidates.

    The same search `location.place` of a call uses: `exact` or `close` name one place (with the radius a
    call located there gets as its accuracy), `ambiguous` and `not_found` only candidates.
    """
    result = search_place(spatial.places, q, field="q")
    place = result.place
    return FastJSON(
        {
            "query": q,
            "status": result.status.value,
            "place": None
            if place is None
            else place_json(place) | {"radius_m": spatial.place_radius_m.get(place.code)},
            "candidates": candidates_json(result),
        }
    )


class AmlIn(_Body):
    """The raw text of an AML SMS, to preview before a call is recorded."""

    aml: str = Field(min_length=1, max_length=1000)


@router.post("/aml/preview", summary="Pratinjau SMS AML / preview an AML SMS")
def aml_preview(body: AmlIn, ctx: ContextDep, _: DispatcherDep) -> FastJSON:
    """What a call recorded with this AML text would get: the same parse and locate as POST /api/incidents.

    A malformed message is the same 422 naming the attribute (`location.aml.lt`...); a message without a fix
    says the call would wait as perlu_lokasi; the fix's age is given and flagged past SIGAP_AML_STALE_MINUTES.
    """
    where = _resolve(ctx.spatial, LocationIn(aml=body.aml))
    aml_age(where, now=utcnow(), stale_after_s=ctx.settings.aml_stale_minutes * 60)
    return FastJSON({
        "status": "located" if where.lon is not None else "needs_location",
        "lon": where.lon,
        "lat": where.lat,
        "accuracy_m": where.accuracy_m,
        "location": where.answer,
    })


@router.get("/incidents/nearby", summary="Panggilan terbuka di dekat titik / open calls near a point")
def nearby(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    radius_m: Annotated[float | None, Query(gt=0, le=50_000)] = None,
    minutes: Annotated[float | None, Query(gt=0, le=24 * 60)] = None,
) -> FastJSON:
    """Open calls of any category near a point and recent (defaults: SIGAP_DUPLICATE_BANNER_*): shown before a
    new call is created there, to join it to one of them instead."""
    settings = ctx.settings
    radius = radius_m or settings.duplicate_banner_radius_m
    window = minutes or settings.duplicate_banner_minutes
    found = open_calls_near(session, lon=lon, lat=lat, at=utcnow(), radius_m=radius, minutes=window)
    return FastJSON({
        "radius_m": radius,
        "minutes": window,
        "items": [f | {"created_at": iso_utc(f["created_at"])} for f in found],
    })


# -- incidents ----------------------------------------------------------------------------------------
@router.post("/incidents", status_code=201, summary="Catat panggilan / record a call", response_model=IncidentPublic)
async def create(
    body: IncidentCreate,
    request: Request,
    ctx: ContextDep,
    user: DispatcherDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="kunci ulang-kirim / retry key: the same key gives the same call"),
    ] = None,
) -> FastJSON:
    """Record a call with its location (coordinates, place name, AML SMS or none yet).

    With an `Idempotency-Key` header, a retry of the same call (after a timeout) answers with the incident the
    first attempt created instead of recording a duplicate; the answer then carries `Idempotent-Replayed: true`.
    """
    if idempotency_key:
        key = idempotency_digest(user.username, idempotency_key)
        async with ctx.idempotency.hold(key):
            replay = await run_in_threadpool(find_idempotent_incident, ctx.read_sessions, key)
            if replay is not None:
                return FastJSON(incident_public(replay.incident, ctx.catalog, replay.merged_from), status_code=201,
                                headers={"Idempotent-Replayed": "true"})
            answer = await _create(body, request, ctx, user)
            await run_in_threadpool(remember_idempotent_incident, ctx.sessions, key, answer[1])
            return answer[0]
    return (await _create(body, request, ctx, user))[0]


async def _create(body: IncidentCreate, request: Request, ctx: ContextDep, user: Any) -> tuple[FastJSON, int]:
    catalog = ctx.catalog
    catalog.category(body.category)  # an unknown category is a 422 listing the valid ones
    # Locating is tens of microseconds of compiled code: it runs on the event loop, the write on the
    # call writer's thread, and no worker thread is taken while the request waits.
    where = _resolve(ctx.spatial, body.location)
    aml_age(where, now=utcnow(), stale_after_s=ctx.settings.aml_stale_minutes * 60)
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
        client=client_address(request),
        at=utcnow(),
        priority=body.priority or catalog.priority_of(body.category),
        call_id=body.call_id if body.call_id is not None and 1 <= body.call_id <= MAX_INT else None,
    )
    # Shielded: a client that hangs up does not withdraw its call, which is stored all the same.
    stored = ctx.call_writer.submit(call)
    incident = await asyncio.shield(asyncio.wrap_future(stored))
    return FastJSON(incident_public(incident, catalog), status_code=201), incident.id


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


@router.get(
    "/incidents",
    summary="Daftar kejadian / list incidents",
    response_model=IncidentPage,
    responses=also_as("application/geo+json", IncidentFeatureCollection),
)
def list_(
    ctx: ContextDep,
    session: SessionDep,
    user: ReaderDep,
    request: Request,
    status: Annotated[list[str] | None, Query(description="status, dipisah koma / comma-separated")] = None,
    category: Annotated[list[str] | None, Query()] = None,
    kecamatan: Annotated[list[str] | None, Query(description="kode atau nama / code or name")] = None,
    desa: Annotated[list[str] | None, Query(description="kode atau nama / code or name")] = None,
    since: Annotated[datetime | None, Query(description="ISO-8601; tanpa zona = UTC")] = None,
    until: Annotated[datetime | None, Query(description="ISO-8601; tanpa zona = UTC")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    number: Annotated[str | None, Query(max_length=40, description="bagian nomor panggilan / part of a number")] = None,
    phone: Annotated[str | None, Query(max_length=40, description="bagian nomor telepon / part of the phone")] = None,
    priority: Annotated[list[str] | None, Query(description="P1,P2,P3")] = None,
    disposition: Annotated[list[str] | None, Query()] = None,
    operator: Annotated[str | None, Query(max_length=64, description="operator (nama pengguna)")] = None,
    q: Annotated[str | None, Query(max_length=200, description="kata di keterangan, catatan / words")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    format: Annotated[Literal["json", "geojson"], Query()] = "json",
) -> FastJSON:
    """Incidents newest first, filtered, one page at a time, as JSON or a GeoJSON FeatureCollection."""
    statuses = split_list(status, field="status")
    for s in statuses:
        parse_state(s)  # an unknown status is a 422 listing the valid ones
    flt = IncidentFilter(
        statuses=statuses,
        categories=split_list(category, field="category"),
        kecamatan=_codes(split_list(kecamatan, field="kecamatan"), ctx.spatial.kecamatan_by_name),
        desa=_codes(split_list(desa, field="desa"), ctx.spatial.desa_by_name),
        since=as_utc(since),
        until=as_utc(until),
        bbox=parse_bbox(bbox),
        number=_text_param(number, "number"),
        phone=_text_param(phone, "phone"),
        priorities=tuple(
            v.upper()
            for v in known_values(priority, allowed=[p.lower() for p in PRIORITIES], field="priority",
                                  what_id="Prioritas", what_en="priority")
        ),
        dispositions=known_values(disposition, allowed=ctx.catalog.disposition_codes, field="disposition",
                                  what_id="Disposisi", what_en="disposition"),
        operator=_text_param(operator, "operator"),
        text=_text_param(q, "q"),
    )
    total, rows = list_incidents(session, flt, limit=limit, offset=offset)
    catalog = ctx.catalog
    units = units_on_calls(session, [r.id for r in rows])
    items = [incident_public(r, catalog, units=units[r.id]) for r in rows]
    if user.role not in PRIVATE_ROLES:
        items = [_without_caller(i) for i in items]
    elif any(i["caller_name"] or i["caller_phone"] for i in items):
        # Callers' names and phones read in bulk: who, which filter and how many rows go to the audit log.
        audit_read(ctx.sessions, actor=user.username, action="incident.bulk_read", entity="incident",
                   query=dict(request.query_params) | {"limit": limit, "offset": offset}, rows=len(items),
                   client=client_address(request))
    page = {"total": total, "total_capped": total >= COUNT_CAP, "limit": limit, "offset": offset,
            "returned": len(items)}
    if format == "geojson":
        return FastJSON(
            {
                "type": "FeatureCollection",
                "features": [incident_feature(item) for item in items],
                "numberMatched": total,
                "numberReturned": len(items),
                **page,
            },
            media_type="application/geo+json",
        )
    return FastJSON({**page, "items": items})


def _text_param(value: str | None, field: str) -> str | None:
    """A free-text filter: None when blank, 422 naming the field for a NUL character."""
    if value is None or not value.strip():
        return None
    try:
        return refuse_nul(value)
    except ValueError as exc:
        raise InvalidInput(str(exc), str(exc), field=field) from None


@router.get("/incidents/{incident_id}", summary="Satu kejadian / one incident", response_model=IncidentPublic)
def get_one(incident_id: IncidentId, catalog: CatalogDep, session: SessionDep, user: ReaderDep) -> FastJSON:
    """One incident with its history, intervals and merges (caller name and phone for the call desk only)."""
    stored = read_incident(session, incident_id)
    units = units_on_calls(session, [incident_id])[incident_id]
    doc = incident_public(stored.incident, catalog, stored.merged_from, units=units)
    return FastJSON(doc if user.role in PRIVATE_ROLES else _without_caller(doc))


# Who sees a caller's name and phone: the call desk (operators, shift leads) and administrators.
PRIVATE_ROLES = ("dispatcher", "supervisor", "admin")


def _without_caller(doc: dict[str, Any]) -> dict[str, Any]:
    return doc | {"caller_name": None, "caller_phone": None}


@router.patch("/incidents/{incident_id}", summary="Ubah kejadian / edit an incident", response_model=IncidentPublic)
def patch(
    incident_id: IncidentId, body: IncidentPatch, request: Request, ctx: ContextDep, user: DispatcherDep
) -> FastJSON:
    """Edit details or set the location; a perlu_lokasi incident given a location becomes baru."""
    where = _resolve(ctx.spatial, body.location)
    stored = commands.update(
        ctx.writer(actor=user.username, client=client_address(request)),
        incident_id,
        version=body.version,
        changes={name: getattr(body, name) for name in body.model_fields_set & set(commands.EDITABLE)},
        location=where,
        catalog=ctx.catalog,
    )
    return _answer(stored, ctx)


@router.post(
    "/incidents/{incident_id}/transition", summary="Ubah status / change state", response_model=IncidentPublic
)
def change_state(
    incident_id: IncidentId, body: TransitionIn, request: Request, ctx: ContextDep, user: DispatcherDep
) -> FastJSON:
    """Move the incident one step along its lifecycle (or cancel it); 409 names the allowed moves."""
    stored = commands.change_state(
        ctx.writer(actor=user.username, client=client_address(request)),
        incident_id,
        to=body.to,
        version=body.version,
        note=body.note,
        disposition=body.disposition,
        catalog=ctx.catalog,
    )
    return _answer(stored, ctx)


@router.post(
    "/incidents/{incident_id}/notes", status_code=201, summary="Tambah catatan / add a note",
    response_model=IncidentPublic,
)
def add_note(incident_id: IncidentId, body: NoteIn, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """Append a timestamped note by this operator to the call log (never edited; in any state)."""
    stored = commands.add_note(ctx.writer(actor=user.username, client=client_address(request)), incident_id,
                               text=body.text)
    return FastJSON(incident_public(stored.incident, ctx.catalog, stored.merged_from), status_code=201)


@router.post("/incidents/{incident_id}/claim", summary="Ambil / lepas panggilan / take or release a call",
             response_model=IncidentPublic)
def claim(incident_id: IncidentId, body: ClaimIn, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """This operator takes the call ("ditangani: <operator>"), visible live to the others; or lets it go."""
    stored = commands.claim(ctx.writer(actor=user.username, client=client_address(request)), incident_id,
                            let_go=body.release)
    return _answer(stored, ctx)


@router.post(
    "/incidents/{incident_id}/merge", summary="Gabungkan duplikat / merge a duplicate", response_model=IncidentPublic
)
def merge(incident_id: IncidentId, body: MergeIn, request: Request, ctx: ContextDep, user: DispatcherDep) -> FastJSON:
    """Cancel `duplicate_id` as merged into this incident; both keep their full history."""
    stored = commands.merge(
        ctx.writer(actor=user.username, client=client_address(request)),
        incident_id,
        duplicate_id=body.duplicate_id,
        duplicate_version=body.duplicate_version,
    )
    return _answer(stored, ctx)
