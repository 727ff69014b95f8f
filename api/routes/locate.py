"""Locating coordinates: one point by query string, or a batch of up to 100,000 points."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.auth import ReaderDep
from api.compression import LARGE_LEVEL, accepts_gzip
from api.deps import ContextDep, LocatorDep, PointDep
from api.responses import FastJSON

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
    gzip = accepts_gzip(request.scope["headers"])
    # Batches of one process run one at a time, in a child process at lower priority that also parses the body
    # and compresses the answer: four 100,000-point batches took the CPU from call intake (issue 14); now the
    # kernel serves the workers first.
    async with ctx.batches:
        encoded = await ctx.batch_pool.run(ctx.spatial.locator, raw, limit=ctx.settings.max_batch_points,
                                           gzip_level=LARGE_LEVEL if gzip else None)
    headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"} if gzip else None
    return Response(encoded, media_type="application/json", headers=headers)
