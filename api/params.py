"""Request parsing shared by the routes: a bounding box, comma-separated lists, known values, point batches.

Each parser raises ``InvalidInput`` naming the field and saying how to write it, so a bad parameter is a
422 with a bilingual message, never a 500 or a silently empty answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import orjson

from geo.coords import check_points, looks_swapped
from geo.errors import InvalidInput, PayloadTooLarge
from geo.firms import SATELLITE_NAMES

__all__ = ["Bbox", "known_satellites", "known_values", "parse_bbox", "parse_point_batch", "split_list"]

Bbox = tuple[float, float, float, float]


def _refuse_nul(text: str, field: str) -> None:
    if "\x00" in text:
        raise InvalidInput(
            f"'{field}' tidak boleh berisi karakter NUL",
            f"'{field}' must not contain the NUL character",
            field=field,
        )


def parse_bbox(raw: str | None, *, field: str = "bbox") -> Bbox | None:
    """'minlon,minlat,maxlon,maxlat' (WGS84) as four floats, None when absent, else a 422 saying what is wrong."""
    if raw is None:
        return None
    _refuse_nul(raw, field)
    try:
        values = tuple(float(p) for p in raw.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            f"'{field}' harus empat angka: minlon,minlat,maxlon,maxlat",
            f"'{field}' must be four numbers: minlon,minlat,maxlon,maxlat",
            field=field,
        )
    x0, y0, x1, y1 = values
    if looks_swapped(x0, y0) or looks_swapped(x1, y1):
        raise InvalidInput(
            f"'{field}' tampak tertukar: urutannya minlon,minlat,maxlon,maxlat (Barito Selatan sekitar 115,-2)",
            f"'{field}' looks swapped: the order is minlon,minlat,maxlon,maxlat (Barito Selatan is near 115,-2)",
            field=field,
            hint="swapped",
        )
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise InvalidInput(
            f"'{field}' harus minlon < maxlon dan minlat < maxlat dalam rentang WGS84",
            f"'{field}' needs minlon < maxlon and minlat < maxlat within WGS84",
            field=field,
        )
    return x0, y0, x1, y1


def split_list(raw: str | Iterable[str] | None, *, field: str, lower: bool = False) -> tuple[str, ...]:
    """The non-empty, stripped items of one or more comma-separated values ('a,b' or ['a', 'b,c']).

    NUL characters are refused (PostgreSQL cannot store them; they are never meant).
    """
    if raw is None:
        return ()
    out: list[str] = []
    for value in [raw] if isinstance(raw, str) else raw:
        _refuse_nul(value, field)
        out.extend(p.strip().lower() if lower else p.strip() for p in value.split(",") if p.strip())
    return tuple(out)


def known_values(
    raw: str | Iterable[str] | None, *, allowed: Sequence[str], field: str, what_id: str, what_en: str
) -> tuple[str, ...]:
    """The comma-separated values of a parameter (lower-cased), or a 422 naming the unknown ones and the choices."""
    values = split_list(raw, field=field, lower=True)
    bad = [v for v in values if v not in allowed]
    if bad:
        choices = ", ".join(allowed)
        raise InvalidInput(
            f"{what_id} tidak dikenal: {', '.join(bad)} ({choices})",
            f"Unknown {what_en}: {', '.join(bad)} ({choices})",
            field=field,
        )
    return values


def known_satellites(raw: str | Iterable[str] | None, *, field: str = "satellite") -> tuple[str, ...]:
    """Satellite names (or FIRMS codes: N, N20, 1 ...) as the stored platform names, or a 422 naming the field.

    Case does not matter; 'NOAA-20', 'noaa20' and 'N20' are one platform. Anything else is refused with the
    names there are, never answered with a silently empty list.
    """
    values = split_list(raw, field=field)
    bad = [v for v in values if v.lower() not in SATELLITE_NAMES]
    if bad:
        choices = ", ".join(sorted(set(SATELLITE_NAMES.values())))
        raise InvalidInput(
            f"Satelit tidak dikenal: {', '.join(bad)} ({choices})",
            f"Unknown satellite(s): {', '.join(bad)} ({choices})",
            field=field,
        )
    return tuple(dict.fromkeys(SATELLITE_NAMES[v.lower()] for v in values))


def parse_point_batch(raw: bytes, *, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """A JSON body of points ({"points": [[lon, lat], ...]} or {"lon": [...], "lat": [...]}) as checked arrays."""
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
