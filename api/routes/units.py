"""Stations, units, their positions, the travel network, unit recommendations and dispatch."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import DispatcherDep, ReaderDep
from api.context import AppContext
from api.deps import ContextDep, SessionDep
from api.errors import Conflict, InvalidInput, NotFound
from api.geoinput import check_point
from api.responses import FastJSON
from api.routes.layers import parse_bbox
from api.travel import NetworkView, recommend
from store.accounts import utcnow
from store.dispatch import (
    NotDispatchableError,
    UnitsUnavailableError,
    UnknownUnitsError,
    dispatch_units,
)
from store.incidents import Incident, StaleVersionError, format_wib
from store.lifecycle import IllegalTransitionError
from store.network import read_lines
from store.units import Station, Unit, _aware, read_units, set_position

router = APIRouter(prefix="/api", tags=["units"])

ON_WATER_M = 100.0
MAX_K = 20
# Ids are 32-bit integers in both databases: larger ones are a 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id")]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else _aware(t).isoformat()


def _view(ctx: AppContext, session: Session) -> NetworkView:
    return ctx.travel.view(session)


# -- stations -----------------------------------------------------------------------------------------
def _feature_collection(features: list[dict[str, Any]], **extra: Any) -> Response:
    body = {"type": "FeatureCollection", "features": features, **extra}
    return Response(orjson.dumps(body), media_type="application/geo+json")


@router.get("/stations", summary="Markas unit / stations")
def list_stations(
    session: SessionDep,
    _: ReaderDep,
    format: Annotated[Literal["json", "geojson"], Query(description="json atau/or geojson")] = "json",
) -> Response:
    """Every station (Damkar post, RSUD, puskesmas, BPBD, Polres/Polsek) with its unit count."""
    counts = dict(session.execute(select(Unit.station_id, func.count()).group_by(Unit.station_id)).all())
    rows = session.execute(
        select(Station, func.ST_X(Station.geom), func.ST_Y(Station.geom)).order_by(Station.code)
    ).all()
    items = [
        {
            "id": s.id,
            "code": s.code,
            "name": s.name,
            "kind": s.kind,
            "agency": s.agency,
            "desa_code": s.desa_code,
            "source": "demo" if s.demo else "real",
            "units": int(counts.get(s.id, 0)),
            "lon": x,
            "lat": y,
        }
        for s, x, y in rows
    ]
    if format == "geojson":
        return _feature_collection(
            [
                {
                    "type": "Feature",
                    "id": it["id"],
                    "geometry": {"type": "Point", "coordinates": [it["lon"], it["lat"]]},
                    "properties": it,
                }
                for it in items
            ]
        )
    return FastJSON({"stations": items, "count": len(items)})


# -- units --------------------------------------------------------------------------------------------
def _unit_items(
    ctx: AppContext, session: Session, *, types: list[str] | None, status: list[str] | None
) -> list[dict[str, Any]]:
    units = read_units(session, types=types)
    now = utcnow()
    age = units.age_s(now)
    limit = ctx.settings.stale_position_minutes * 60
    out = []
    for i in range(len(units)):
        if status and units.status[i] not in status:
            continue
        lon, lat = float(units.lon[i]), float(units.lat[i])
        mode = str(units.travel_mode[i])
        t = units.position_at(i)
        out.append(
            {
                "id": int(units.id[i]),
                "callsign": units.callsign[i],
                "name": units.name[i],
                "type": units.type[i],
                "agency": units.agency[i],
                "station_id": units.station_id[i],
                "status": units.status[i],
                "mode": "river" if mode.startswith("river") else "road",
                "travel_mode": mode,
                "lon": lon if np.isfinite(lon) else None,
                "lat": lat if np.isfinite(lat) else None,
                "position_at": _iso(t),
                "position_at_wib": None if t is None else format_wib(_aware(t)),
                "position_age_s": None if not np.isfinite(age[i]) else round(float(age[i]), 1),
                "stale": bool(np.isfinite(age[i]) and age[i] > limit),
                "source": "demo" if units.demo[i] else "real",
                "version": int(units.version[i]),
            }
        )
    return out


def _split(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    return [p.strip() for p in raw.split(",") if p.strip()] or None


@router.get("/units", summary="Unit dan posisinya / units and their positions")
def list_units(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    format: Annotated[Literal["json", "geojson"], Query(description="json atau/or geojson")] = "json",
    type: Annotated[str | None, Query(description="jenis unit, dipisah koma / unit types, comma-separated")] = None,
    status: Annotated[str | None, Query(description="tersedia,bertugas,offline")] = None,
) -> Response:
    """Every unit with status, travel mode, last position, its age and the stale flag."""
    items = _unit_items(ctx, session, types=_split(type), status=_split(status))
    stale_minutes = ctx.settings.stale_position_minutes
    if format == "geojson":
        return _feature_collection(
            [
                {
                    "type": "Feature",
                    "id": it["id"],
                    "geometry": None if it["lon"] is None else {"type": "Point", "coordinates": [it["lon"], it["lat"]]},
                    "properties": it,
                }
                for it in items
            ],
            stale_after_minutes=stale_minutes,
        )
    return FastJSON({"units": items, "count": len(items), "stale_after_minutes": stale_minutes})


class PositionIn(BaseModel):
    """An AVL position report."""

    lon: float = Field(description="Bujur / longitude WGS84")
    lat: float = Field(description="Lintang / latitude WGS84")
    at: datetime | None = Field(default=None, description="Waktu posisi (ISO-8601); bawaan sekarang / default now")


@router.put("/units/{unit_id}/position", summary="Perbarui posisi unit (AVL) / update a unit position")
def put_position(
    unit_id: RowId, body: PositionIn, ctx: ContextDep, session: SessionDep, user: DispatcherDep
) -> FastJSON:
    """Store a unit's position; outside Kalimantan is refused (422); announces `unit.updated`."""
    lon, lat = check_point(body.lon, body.lat)
    x0, y0, x1, y1 = ctx.spatial.kalimantan_box
    if not (x0 <= lon <= x1 and y0 <= lat <= y1):
        raise InvalidInput(
            f"Posisi ({lon}, {lat}) di luar Kalimantan; periksa koordinat unit",
            f"Position ({lon}, {lat}) is outside Kalimantan; check the unit's coordinates",
            field="lon",
            allowed_bbox=[round(v, 4) for v in (x0, y0, x1, y1)],
        )
    now = utcnow()
    at = body.at
    if at is not None:
        if at.tzinfo is None:
            raise InvalidInput(
                "'at' harus menyertakan zona waktu (mis. ...Z atau +07:00)",
                "'at' must carry a time zone (e.g. ...Z or +07:00)",
                field="at",
            )
        if at > now + timedelta(minutes=2):
            raise InvalidInput("'at' ada di masa depan", "'at' is in the future", field="at")
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"Unit {unit_id} tidak ditemukan", f"Unit {unit_id} not found", field="unit_id")
    if at is not None and unit.position_at is not None and at < _aware(unit.position_at):
        raise Conflict(
            "Posisi ini lebih lama dari posisi yang tersimpan",
            "This position is older than the stored one",
            field="at",
            stored_position_at=_iso(unit.position_at),
        )
    after = set_position(session, unit, lon=lon, lat=lat, at=at, actor=user.username)
    ctx.events.publish(
        session,
        "unit.updated",
        {k: after[k] for k in ("id", "callsign", "status", "lon", "lat", "position_at", "version")},
    )
    session.commit()
    items = [it for it in _unit_items(ctx, session, types=None, status=None) if it["id"] == unit_id]
    return FastJSON(items[0])


# -- network ------------------------------------------------------------------------------------------
@router.get("/network", summary="Jaringan jalan dan sungai / road and river network (GeoJSON)")
def network_lines(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
) -> Response:
    """The stored network lines with kind and source (derived|osm|file), optionally inside a bbox."""
    box = parse_bbox(bbox)
    view = _view(ctx, session)
    lines = read_lines(session, bbox=box)
    # Every vertex in one call, then sliced per line: an imported OSM network has tens of thousands of lines.
    flat = shapely.get_coordinates(lines.lines).round(7).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(lines.lines)).tolist()
    coords = [flat[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": c},
            "properties": {
                "kind": k,
                "source": s,
                "name": n,
                "oneway": bool(o),
                "speed_kmh": None if not np.isfinite(v) else float(v),
            },
        }
        for c, k, s, n, o, v in zip(
            coords,
            lines.kind.tolist(),
            lines.source.tolist(),
            lines.name.tolist(),
            lines.oneway.tolist(),
            lines.speed_kmh.tolist(),
            strict=True,
        )
    ]
    return _feature_collection(feats, network=view.describe())


# -- recommendation and dispatch ----------------------------------------------------------------------
def _incident(session: Session, incident_id: int, *, lock: bool = False) -> Incident:
    inc = session.get(Incident, incident_id, with_for_update=lock or None)
    if inc is None:
        raise NotFound(f"Kejadian {incident_id} tidak ditemukan", f"Incident {incident_id} not found", field="id")
    return inc


def _needs_location(inc: Incident) -> Conflict:
    return Conflict(
        "Kejadian belum punya lokasi; tetapkan lokasi dulu sebelum memilih unit",
        "The incident has no location yet; set one before choosing units",
        field="location",
        status=inc.status,
    )


def _on_water(ctx: AppContext, inc: Incident) -> bool:
    river = ((inc.location or {}).get("river") or {}).get("distance_m")
    if river is None:
        river = ((ctx.spatial.locator.locate(lon=inc.lon, lat=inc.lat) or {}).get("river") or {}).get(
            "distance_m"
        )
    return river is not None and river <= ON_WATER_M


@router.get(
    "/incidents/{incident_id}/recommendations",
    summary="Unit tercepat menurut waktu tempuh / fastest units by travel time",
)
def recommendations(
    incident_id: RowId,
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    types: Annotated[str | None, Query(description="jenis unit, dipisah koma; bawaan dari kategori")] = None,
    k: Annotated[int, Query(ge=1, le=MAX_K, description="unit terbaik per jenis / best units per type")] = 3,
    stale: Annotated[
        Literal["include", "exclude"],
        Query(description="include: unit berposisi lama tetap diurutkan (ditandai); exclude: disisihkan"),
    ] = "include",
) -> FastJSON:
    """Per type the k best available units by ETA, with route, legs and straight-line distance; and who is left out."""
    inc = _incident(session, incident_id)
    if inc.geom is None or inc.lon is None or inc.lat is None:
        raise _needs_location(inc)
    catalog = ctx.catalog
    on_water = _on_water(ctx, inc)
    wanted = _split(types)
    known = {u.code for u in catalog.unit_types}
    if wanted is None:
        try:
            wanted = list(catalog.default_unit_types(inc.category, on_water=on_water))
        except LookupError:
            wanted = []
        if not wanted:
            wanted = sorted(known)
    bad = [t for t in wanted if t not in known]
    if bad:
        raise InvalidInput(
            f"Jenis unit tidak dikenal: {bad}; pilih dari {sorted(known)}",
            f"Unknown unit types: {bad}; choose from {sorted(known)}",
            field="types",
        )
    settings = ctx.settings
    view = _view(ctx, session)
    answer = recommend(
        session,
        ctx.travel,
        lon=float(inc.lon),
        lat=float(inc.lat),
        types=wanted,
        k=k,
        now=utcnow(),
        stale_minutes=settings.stale_position_minutes,
        include_stale=stale == "include",
        view=view,
    )
    return FastJSON(
        {
            "incident_id": inc.id,
            "incident_number": inc.number,
            "category": inc.category,
            "status": inc.status,
            "lon": inc.lon,
            "lat": inc.lat,
            "on_water": on_water,
            "stale_after_minutes": settings.stale_position_minutes,
            **answer,
        }
    )


class DispatchIn(BaseModel):
    """Units to send."""

    unit_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=50)
    version: int | None = Field(default=None, description="versi kejadian yang dilihat / incident version seen")
    note: str | None = Field(default=None, max_length=1000)


@router.post("/incidents/{incident_id}/dispatch", summary="Kirim unit / dispatch units")
def dispatch(
    incident_id: RowId, body: DispatchIn, ctx: ContextDep, session: SessionDep, user: DispatcherDep
) -> FastJSON:
    """Atomically: units bertugas, the incident dikirim (verified first when baru), assignments, audit, events."""
    inc = _incident(session, incident_id, lock=True)
    if body.version is not None and body.version != inc.version:
        raise Conflict(
            "Kejadian sudah diubah orang lain; muat ulang",
            "The incident was changed by someone else; reload it",
            field="version",
            current_version=inc.version,
        )
    try:
        result = dispatch_units(
            session, inc, body.unit_ids, actor=user.username, hub=ctx.events, note=body.note
        )
    except NotDispatchableError as exc:
        session.rollback()
        if exc.needs_location:
            raise _needs_location(inc) from None
        raise Conflict(
            f"Kejadian berstatus '{exc.status}' tidak bisa diberi unit",
            f"An incident in state '{exc.status}' cannot receive units",
            field="status",
            status=exc.status,
        ) from None
    except UnknownUnitsError as exc:
        session.rollback()
        raise InvalidInput(
            f"Unit tidak dikenal: {exc.ids}", f"Unknown units: {exc.ids}", field="unit_ids", unknown=exc.ids
        ) from None
    except UnitsUnavailableError as exc:
        session.rollback()
        names = ", ".join(f"{u['callsign']} ({u['status']})" for u in exc.units)
        raise Conflict(
            f"Unit tidak tersedia (mungkin baru diambil operator lain): {names}; tidak ada yang diubah",
            f"Units not available (perhaps just taken by another operator): {names}; nothing was changed",
            field="unit_ids",
            unavailable=exc.units,
        ) from None
    except (StaleVersionError, IllegalTransitionError) as exc:
        session.rollback()
        raise Conflict(
            "Kejadian sedang diubah orang lain; muat ulang dan coba lagi",
            "The incident is being changed by someone else; reload and try again",
            field="version",
            detail=str(exc),
        ) from None
    session.commit()
    return FastJSON(
        {
            "incident_id": inc.id,
            "incident_number": inc.number,
            "status": result.status,
            "version": inc.version,
            "transitions": result.transitions,
            "units": result.units,
            "assignment_ids": result.assignment_ids,
        }
    )
