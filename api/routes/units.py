"""Stations, units, their positions, the travel network, unit recommendations and dispatch, over HTTP.

Ranking units is ``store.recommend``; what a position report or a dispatch changes is ``store.commands.units``.
These routes parse, call and serialise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api.auth import DispatcherDep, ReaderDep
from api.deps import ContextDep, SessionDep, client_address
from api.params import parse_bbox, split_list
from api.responses import FastJSON
from api.schemas import also_as
from api.schemas.recommendations import Recommendations
from api.schemas.units import (
    StationFeatureCollection,
    StationList,
    UnitFeatureCollection,
    UnitList,
    UnitPublic,
)
from geo.times import utcnow
from store.commands import units as commands
from store.incidents import load_incident
from store.network import read_lines
from store.recommend import recommend_for_incident
from store.units import read_units, station_list, unit_public

router = APIRouter(prefix="/api", tags=["units"])

MAX_K = 20
# Ids are 32-bit integers in both databases: larger ones are a 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id")]


# -- stations -----------------------------------------------------------------------------------------
def _feature_collection(features: list[dict[str, Any]], **extra: Any) -> Response:
    body = {"type": "FeatureCollection", "features": features, **extra}
    return Response(orjson.dumps(body), media_type="application/geo+json")


@router.get(
    "/stations",
    summary="Markas unit / stations",
    response_model=StationList,
    responses=also_as("application/geo+json", StationFeatureCollection),
)
def list_stations(
    session: SessionDep,
    _: ReaderDep,
    format: Annotated[Literal["json", "geojson"], Query(description="json atau/or geojson")] = "json",
) -> Response:
    """Every station (Damkar post, RSUD, puskesmas, BPBD, Polres/Polsek) with its unit count."""
    items = station_list(session)
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
@router.get(
    "/units",
    summary="Unit dan posisinya / units and their positions",
    response_model=UnitList,
    responses=also_as("application/geo+json", UnitFeatureCollection),
)
def list_units(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    format: Annotated[Literal["json", "geojson"], Query(description="json atau/or geojson")] = "json",
    type: Annotated[str | None, Query(description="jenis unit, dipisah koma / unit types, comma-separated")] = None,
    status: Annotated[
        str | None,
        Query(description="tersedia,dikirim,menuju_lokasi,tiba,kembali,tidak_tersedia,offline"),
    ] = None,
) -> Response:
    """Every unit with status, travel mode, last position, its age and the stale flag."""
    rows = read_units(session, types=split_list(type, field="type") or None)
    wanted = split_list(status, field="status")
    if wanted:
        rows = rows.take(np.flatnonzero(np.isin(rows.status, wanted)))
    stale_minutes = ctx.settings.stale_position_minutes
    items = unit_public(rows, now=utcnow(), stale_after_s=stale_minutes * 60)
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


@router.put(
    "/units/{unit_id}/position",
    summary="Perbarui posisi unit (AVL) / update a unit position",
    response_model=UnitPublic,
)
def put_position(
    unit_id: RowId, body: PositionIn, request: Request, ctx: ContextDep, user: DispatcherDep
) -> FastJSON:
    """Store a unit's position; outside Kalimantan is refused (422); announces `unit.updated`."""
    rows = commands.set_position(
        ctx.writer(actor=user.username, client=client_address(request)),
        unit_id,
        lon=body.lon,
        lat=body.lat,
        at=body.at,
        bounds=ctx.spatial.kalimantan_box,
    )
    [unit] = unit_public(rows, now=utcnow(), stale_after_s=ctx.settings.stale_position_minutes * 60)
    return FastJSON(unit)


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
    view = ctx.travel.view(session)
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


# -- recommendation (dispatch and the steps of units on calls: api/routes/assignments.py) --------------
@router.get(
    "/incidents/{incident_id}/recommendations",
    summary="Unit tercepat menurut waktu tempuh / fastest units by travel time",
    response_model=Recommendations,
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
    answer = recommend_for_incident(
        session,
        ctx.travel,
        load_incident(session, incident_id),
        catalog=ctx.catalog,
        locator=ctx.spatial.locator,
        types=split_list(types, field="types") or None,
        k=k,
        now=utcnow(),
        stale_minutes=ctx.settings.stale_position_minutes,
        include_stale=stale == "include",
        boat_walk_max_m=ctx.settings.boat_walk_max_m,
    )
    return FastJSON(answer)
