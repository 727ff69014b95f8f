"""Locating coordinates: one point by query string, or a batch of up to 100,000 points."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request

from api.auth import ReaderDep
from api.deps import LocatorDep, PointDep, SettingsDep
from api.errors import InvalidInput, PayloadTooLarge
from api.responses import FastJSON
from geo.coords import check_points

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


def _parse_batch(raw: bytes, *, limit: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"Badan permintaan bukan JSON yang sah: {exc}",
            f"Request body is not valid JSON: {exc}",
            field="body",
        ) from exc
    if not isinstance(body, dict):
        raise InvalidInput(
            "Badan permintaan harus objek JSON dengan 'points' atau 'lon'/'lat'",
            "Request body must be a JSON object with 'points' or 'lon'/'lat'",
            field="body",
        )
    try:
        if "points" in body:
            field = "points"
            pts = np.asarray(body["points"], dtype=np.float64)
            if pts.size == 0:
                pts = pts.reshape(0, 2)
            if pts.ndim != 2 or pts.shape[1] != 2:
                raise ValueError("shape")
            lon, lat = pts[:, 0].copy(), pts[:, 1].copy()
        elif "lon" in body and "lat" in body:
            field = "lon"
            lon = np.asarray(body["lon"], dtype=np.float64)
            lat = np.asarray(body["lat"], dtype=np.float64)
            if lon.ndim != 1 or lon.shape != lat.shape:
                raise ValueError("shape")
        else:
            raise InvalidInput(
                "Sertakan 'points' ([[lon, lat], ...]) atau 'lon' dan 'lat' (daftar angka)",
                "Provide 'points' ([[lon, lat], ...]) or 'lon' and 'lat' (lists of numbers)",
                field="points",
            )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"'{field}' harus daftar pasangan angka [lon, lat] (atau dua daftar angka sama panjang)",
            f"'{field}' must be a list of number pairs [lon, lat] (or two number lists of equal length)",
            field=field,
        ) from exc
    if len(lon) == 0:
        raise InvalidInput(
            "Daftar titik kosong; kirim minimal 1 titik",
            "The point list is empty; send at least 1",
            field=field,
        )
    if len(lon) > limit:
        raise PayloadTooLarge(
            f"Terlalu banyak titik: {len(lon)}; maksimal {limit} per permintaan",
            f"Too many points: {len(lon)}; at most {limit} per request",
            field=field,
            limit=limit,
        )
    check_points(lon, lat, field=field)
    return lon, lat


@router.post("/locate", summary="Lokasi banyak titik / locate a batch", openapi_extra=BATCH_SCHEMA)
async def locate_batch(request: Request, locator: LocatorDep, settings: SettingsDep, _: ReaderDep) -> FastJSON:
    """Locate up to `max_batch_points` points at once; the answer is columnar (one list per field)."""
    # The body size was already capped by GuardMiddleware (BYTES_PER_POINT per allowed point).
    limit = settings.max_batch_points
    lon, lat = _parse_batch(await request.body(), limit=limit)
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
    return FastJSON({"count": len(batch), "crs": "EPSG:4326", "h3_resolution": 9, "columns": columns})
