"""Query-string parsing shared by the routes: a bounding box, comma-separated lists, known values.

Each parser raises ``InvalidInput`` naming the field and saying how to write it, so a bad parameter is a
422 with a bilingual message, never a 500 or a silently empty answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from api.geoinput import looks_swapped
from geo.errors import InvalidInput

__all__ = ["Bbox", "known_values", "parse_bbox", "split_list"]

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
