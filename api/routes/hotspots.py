"""Fire hotspots (FIRMS): GeoJSON points, H3 hexagons, per-desa/kecamatan tables, persistence, Gi* clusters.

The queries and statistics are in `store/hotspot_stats.py`; the answers' shapes in `api/schemas/hotspots.py`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from api.auth import PlannerDep, ReaderDep
from api.deps import ContextDep, SessionDep
from api.params import known_satellites, known_values, parse_bbox
from api.responses import FastJSON
from api.schemas.hotspots import (
    POINT_PROPERTIES,
    BurningDaysCollection,
    ClusterCollection,
    DesaTable,
    HexagonCollection,
    HotspotCollection,
    KecamatanTable,
    UploadReport,
    hotspot_features_json,
)
from geo.firms import CONFIDENCE_LEVELS
from geo.hexagons import MAX_RESOLUTION, MIN_RESOLUTION, cells_geojson
from geo.times import utcnow
from store.hotspot_stats import (
    HotspotFilter,
    Window,
    burning_days,
    clusters,
    desa_table,
    hexagons_of,
    hotspot_points,
    kecamatan_table,
    window_frame,
)
from store.hotspots import ZONES, ingest_detections

router = APIRouter(prefix="/api/hotspots", tags=["hotspots"])

MAX_FEATURES = 50_000
EMPTY: dict[str, Any] = {"type": "FeatureCollection", "features": []}


def hotspot_filter(
    window: Annotated[Window, Query(description="Jendela waktu / time window; custom memakai since/until")] = "7d",
    since: Annotated[datetime | None, Query(description="Mulai (ISO-8601, UTC bila tanpa zona) / start")] = None,
    until: Annotated[datetime | None, Query(description="Akhir (bawaan sekarang) / end (default now)")] = None,
    confidence: Annotated[str | None, Query(description="low,nominal,high (koma / comma separated)")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    zone: Annotated[str | None, Query(description="inside,border,kalteng")] = None,
    kecamatan: Annotated[str | None, Query(description="Kode kecamatan / kecamatan code")] = None,
    desa: Annotated[str | None, Query(description="Kode desa / desa code")] = None,
    include_static: Annotated[bool | None, Query(
        description="Sertakan sumber panas tetap; bawaan: ya kecuali klaster / include static heat sources; "
                    "default yes except clusters")] = None,
    satellite: Annotated[str | None, Query(
        max_length=200, description="Satelit, dipisah koma (Terra, Aqua, Suomi NPP, NOAA-20, NOAA-21)")] = None,
) -> HotspotFilter:
    """The hotspot filter from the query string, checked, with bilingual errors naming the field."""
    return HotspotFilter.for_window(
        window,
        since=since,
        until=until,
        now=utcnow(),
        confidence=known_values(confidence, allowed=CONFIDENCE_LEVELS, field="confidence",
                                what_id="Tingkat kepercayaan", what_en="confidence level(s)"),
        bbox=parse_bbox(bbox),
        zones=known_values(zone, allowed=ZONES, field="zone", what_id="Zona", what_en="zone(s)"),
        kecamatan=kecamatan,
        desa=desa,
        include_static=include_static,
        satellites=known_satellites(satellite),
    )


FilterDep = Annotated[HotspotFilter, Depends(hotspot_filter)]
Resolution = Annotated[
    int, Query(ge=MIN_RESOLUTION, le=MAX_RESOLUTION, description="Resolusi H3 / H3 resolution 5..9")
]


@router.get("", summary="Titik panas GeoJSON / hotspots as GeoJSON", response_model=HotspotCollection)
def hotspots(
    session: SessionDep,
    _: ReaderDep,
    flt: FilterDep,
    ctx: ContextDep,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES)] = 10_000,
    properties: Annotated[str | None, Query(
        max_length=400, description="Properti yang dikirim, dipisah koma (bawaan semua; id selalu) / the properties "
                                    "each point carries, comma separated (default all; id always)")] = None,
) -> FastJSON:
    """Detections in the window as a GeoJSON FeatureCollection (newest first, at most `limit`).

    The planner page asks only for the properties it shows (`properties=`): a smaller answer for 20,000 points.
    """
    picked = known_values(properties, allowed=POINT_PROPERTIES, field="properties", what_id="Properti",
                          what_en="property") if properties is not None else POINT_PROPERTIES
    points = hotspot_points(session, flt, limit=limit, cache=ctx.hotspot_cache)
    order = [p for p in POINT_PROPERTIES if p in picked]
    return FastJSON(
        {
            "type": "FeatureCollection",
            "features": points.answer(("json", *order), lambda: hotspot_features_json(points, properties=order)),
            "count": len(points),
            "truncated": points.truncated,
            "filter": flt.describe(),
        }
    )


@router.get("/h3", summary="Agregat heksagon H3 / H3 hexagon aggregates", response_model=HexagonCollection)
def hexagon_cells(
    ctx: ContextDep, session: SessionDep, _: ReaderDep, flt: FilterDep, res: Resolution = 7
) -> FastJSON:
    """Per H3 cell: detection count, summed FRP, highest confidence, first/last seen; GeoJSON hexagons."""
    frame = window_frame(session, flt, ctx.hotspot_cache)
    rows = frame.rows(flt)

    def collection() -> tuple[dict[str, Any], int]:
        agg, _n = hexagons_of(frame, rows, res=res)
        return cells_geojson(agg), len(agg)

    # The same detections asked again (another page, a reload): the hexagons already drawn, from memory.
    cells, count = frame.answer(("h3", res), rows, collection)
    out = dict(cells)
    out.update({"resolution": res, "cells": count, "detections": len(rows), "filter": flt.describe()})
    return FastJSON(out)


@router.get("/by-desa", summary="Tabel per desa / per-desa table", response_model=DesaTable)
def by_desa(ctx: ContextDep, session: SessionDep, _: ReaderDep, flt: FilterDep) -> FastJSON:
    """Every desa of Barito Selatan with its detections in the window (zeros included), most first."""
    rows = desa_table(session, flt, layers=ctx.spatial.layers, cache=ctx.hotspot_cache)
    return FastJSON({"rows": rows, "total": sum(r["count"] for r in rows), "filter": flt.describe()})


@router.get("/by-kecamatan", summary="Tabel per kecamatan / per-kecamatan table", response_model=KecamatanTable)
def by_kecamatan(ctx: ContextDep, session: SessionDep, _: ReaderDep, flt: FilterDep) -> FastJSON:
    """The six kecamatan with their detections in the window (zeros included), most first."""
    rows = kecamatan_table(session, flt, layers=ctx.spatial.layers, cache=ctx.hotspot_cache)
    return FastJSON({"rows": rows, "total": sum(r["count"] for r in rows), "filter": flt.describe()})


@router.get(
    "/persistence",
    summary="Persistensi per sel H3 / consecutive burning days per H3 cell",
    response_model=BurningDaysCollection,
)
def persistence(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    flt: FilterDep,
    res: Resolution = 7,
    min_days: Annotated[int, Query(ge=1, le=366)] = 1,
) -> FastJSON:
    """Per H3 cell: days burned, longest and current run of consecutive WIB days (current = ending on `until`)."""
    per, as_of = burning_days(session, flt, res=res, min_days=min_days, cache=ctx.hotspot_cache)
    out = cells_geojson(per) if len(per) else dict(EMPTY)
    out.update({"resolution": res, "as_of": str(as_of), "cells": len(per), "filter": flt.describe()})
    return FastJSON(out)


@router.get("/clusters", summary="Klaster Getis-Ord Gi* / Gi* hot-spot clusters", response_model=ClusterCollection)
def gi_clusters(
    ctx: ContextDep,
    session: SessionDep,
    _: ReaderDep,
    flt: FilterDep,
    res: Resolution = 7,
    value: Annotated[Literal["count", "frp"], Query(description="Nilai yang diuji / tested value")] = "count",
    significant_only: bool = True,
) -> FastJSON:
    """Getis-Ord Gi* over H3 cells (k=1 ring, zero-padded study area): hot99/hot95/cold95/cold99/ns.

    Detections inside a static heat source are left out unless include_static=true.
    """
    if flt.include_static is None:
        flt = replace(flt, include_static=False)
    found = clusters(session, flt, res=res, value=value, significant_only=significant_only,
                     cache=ctx.hotspot_cache)
    out = cells_geojson(found.cells) if len(found.cells) else dict(EMPTY)
    out.update(
        {
            "resolution": res,
            "value": value,
            "observed_cells": found.observed_cells,
            "classes": found.classes,
            "method": "Getis-Ord Gi* (esda), z two-sided: 95 % |z|>=1.96, 99 % |z|>=2.576",
            "filter": flt.describe(),
        }
    )
    return FastJSON(out)


@router.post(
    "/upload",
    status_code=201,
    summary="Unggah CSV FIRMS / upload a FIRMS or generic CSV",
    response_model=UploadReport,
)
async def upload(
    ctx: ContextDep,
    user: PlannerDep,
    file: Annotated[UploadFile, File(description="CSV FIRMS MODIS/VIIRS atau generik / FIRMS or generic CSV")],
    format: Annotated[Literal["auto", "modis", "viirs", "generic"], Form()] = "auto",
    lat_column: Annotated[str | None, Form()] = None,
    lon_column: Annotated[str | None, Form()] = None,
    date_column: Annotated[str | None, Form()] = None,
    time_column: Annotated[str | None, Form()] = None,
    source: Annotated[str | None, Form(max_length=32)] = None,
) -> FastJSON:
    """Ingest an uploaded CSV in a worker thread; counts and the first rejected lines come back."""
    columns = {
        k: v
        for k, v in {"latitude": lat_column, "longitude": lon_column, "date": date_column, "time": time_column}.items()
        if v
    } or None
    with tempfile.TemporaryDirectory(prefix="sigap-upload-") as tmp:
        path = Path(tmp) / "upload.csv"
        with path.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, file.file, out, 1 << 20)
        # A file that is not a detection CSV raises FirmsFormatError (an InvalidInput naming `file`): a 422.
        report = await asyncio.to_thread(
            ingest_detections,
            ctx.sessions,
            path,
            locator=ctx.spatial.locator,
            fmt=format,
            columns=columns,
            source=source,
            actor=user.username,
            hub=ctx.events,
        )
    return FastJSON({"filename": file.filename, **report.counts()}, status_code=201)
