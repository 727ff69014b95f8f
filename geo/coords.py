"""Checking WGS84 coordinates where they enter: finite, in range, and not the swapped lat/lon mistake.

Every place that takes a point from outside (a request, an AML SMS, a file) checks it here; a bad one is a
:class:`CoordinateError` naming the field to fix (``InvalidInput``: a 422 over HTTP).
"""

from __future__ import annotations

import math

import numpy as np

from geo.errors import InvalidInput

__all__ = ["CoordinateError", "check_point", "check_points", "looks_swapped"]


class CoordinateError(InvalidInput, ValueError):
    """Coordinates that are not finite numbers in the WGS84 range (or look swapped)."""


def looks_swapped(lon: float, lat: float) -> bool:
    """A latitude of 100-120 with a longitude of -5..5 is Kalimantan typed the wrong way round."""
    return 100 <= abs(lat) <= 120 and -5 <= lon <= 5


def check_point(lon: float, lat: float, *, lon_field: str = "lon", lat_field: str = "lat") -> tuple[float, float]:
    """Return (lon, lat) when both are finite WGS84 values, else raise CoordinateError naming the field."""
    for value, field in ((lon, lon_field), (lat, lat_field)):
        if not math.isfinite(value):
            raise CoordinateError(
                f"'{field}' harus berupa angka terhingga, bukan {value}",
                f"'{field}' must be a finite number, not {value}",
                field=field,
            )
    if looks_swapped(lon, lat):
        raise CoordinateError(
            f"Koordinat tampak tertukar: lon={lon}, lat={lat}. Barito Selatan ada di sekitar lon 115, lat -2; "
            f"tukar nilai lon dan lat",
            f"Coordinates look swapped: lon={lon}, lat={lat}. Barito Selatan is near lon 115, lat -2; "
            f"swap lon and lat",
            field=lat_field,
            hint="swapped",
        )
    if not -180 <= lon <= 180:
        raise CoordinateError(
            f"'{lon_field}' harus antara -180 dan 180 (derajat WGS84), bukan {lon}",
            f"'{lon_field}' must be between -180 and 180 (WGS84 degrees), not {lon}",
            field=lon_field,
        )
    if not -90 <= lat <= 90:
        raise CoordinateError(
            f"'{lat_field}' harus antara -90 dan 90 (derajat WGS84), bukan {lat}",
            f"'{lat_field}' must be between -90 and 90 (WGS84 degrees), not {lat}",
            field=lat_field,
        )
    return lon, lat


def check_points(lon: np.ndarray, lat: np.ndarray, *, field: str = "points") -> None:
    """Vectorised :func:`check_point` over arrays; the error names the first bad index."""
    problems = (
        (~(np.isfinite(lon) & np.isfinite(lat)), "bukan angka terhingga", "is not a finite number"),
        (
            (np.abs(lat) >= 100) & (np.abs(lat) <= 120) & (lon >= -5) & (lon <= 5),
            "tampak tertukar (lat/lon); tukar nilainya",
            "looks swapped (lat/lon); swap the values",
        ),
        (
            (np.abs(lon) > 180) | (np.abs(lat) > 90),
            "di luar rentang WGS84 (lon -180..180, lat -90..90)",
            "is outside WGS84 (lon -180..180, lat -90..90)",
        ),
    )
    for mask, text_id, text_en in problems:
        bad = np.flatnonzero(mask)
        if len(bad):
            i = int(bad[0])
            raise CoordinateError(
                f"Titik {field}[{i}] ({lon[i]}, {lat[i]}) {text_id}; {len(bad)} titik bermasalah",
                f"Point {field}[{i}] ({lon[i]}, {lat[i]}) {text_en}; {len(bad)} bad point(s)",
                field=f"{field}[{i}]",
                bad_count=int(len(bad)),
            )
