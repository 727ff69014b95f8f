"""Locating coordinates: one point by query string, or a batch of up to 100,000 points."""

from __future__ import annotations

from typing import Any

import anyio
import numpy as np
import orjson
from fastapi import APIRouter, Request, Response

from api.auth import ReaderDep
from api.deps import ContextDep, LocatorDep, PointDep
from api.params import parse_point_batch
from api.responses import FastJSON
from geo.locate import Locator

router = APIRouter(prefix="/api", tags=["locate"])

BATCH_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["points"],
                            "properties": {
                                "points": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 100_000,
                                    "items": {
                                        "type": "array",
                                        "items": {"type": "number"},
                                        "minItems": 2,
                                        "maxItems": 2,
                                    },
                                    "description": "[[lon, lat], ...] WGS84",
                                },
                            },
                        },
                        {
                            "type": "object",
                            "required": ["lon", "lat"],
                            "properties": {
                                "lon": {"type": "array", "items": {"type": "number"}, "minItems": 1},
                                "lat": {"type": "array", "items": {"type": "number"}, "minItems": 1},
                            },
                        },
                    ]
                },
                "example": {"points": [[114.845, -1.71], [115.3, -1.9]]},
            }
        },
    }
}

# Bytes a point may take in the body ("[-114.123456789,-1.123456789]," and white space) before 413.
BYTES_PER_POINT = 64


@router.get("/locate", summary="Lokasi satu titik / locate one point")
async def locate_one(point: PointDep, locator: LocatorDep, _: ReaderDep) -> FastJSON:
    """Desa, kecamatan, kabupaten, distances to river and road, H3 cell and UTM for one coordinate."""
    lon, lat = point
    return FastJSON(locator.locate(lon=lon, lat=lat))


@router.post("/locate", summary="Lokasi banyak titik / locate a batch", openapi_extra=BATCH_SCHEMA)
async def locate_batch(request: Request, ctx: ContextDep, _: ReaderDep) -> Response:
    """Locate up to `max_batch_points` points at once; the answer is columnar (one list per field)."""
    # The body size was already capped by GuardMiddleware (BYTES_PER_POINT per allowed point).
    raw = await request.body()
    # Batches of one process run one at a time, each in a worker thread: a 100,000-point batch takes the CPU for
    # a while, and four of them at once on the event loop held every call behind them (issue 14).
    async with ctx.batches:
        encoded = await anyio.to_thread.run_sync(_locate_encoded, raw, ctx.spatial.locator,
                                                 ctx.settings.max_batch_points)
    return Response(encoded, media_type="application/json")


def _locate_encoded(raw: bytes, locator: Locator, limit: int) -> bytes:
    """Parse, locate and encode a batch (off the event loop)."""
    lon, lat = parse_point_batch(raw, limit=limit)
    batch = locator.locate_many(lon=lon, lat=lat)
    columns: dict[str, Any] = {}
    for name in (
        "lon",
        "lat",
        "inside_regency",
        "match",
        "desa_code",
        "desa_name",
        "kecamatan_code",
        "kecamatan_name",
        "kabupaten_code",
        "kabupaten_name",
        "boundary_disagreement",
        "nearest_desa_code",
        "nearest_desa_name",
        "nearest_desa_m",
        "river_m",
        "road_m",
        "h3",
        "utm_x",
        "utm_y",
    ):
        values = getattr(batch, name)
        if values.dtype.kind == "f":
            # orjson writes numpy floats natively, NaN as null.
            columns[name] = np.round(values, 1 if name.endswith("_m") or name.startswith("utm") else 7)
        elif values.dtype.kind == "b":
            columns[name] = values
        else:
            columns[name] = values.tolist()
    doc = {"count": len(batch), "crs": "EPSG:4326", "h3_resolution": 9, "columns": columns}
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
