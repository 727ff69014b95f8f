"""Where a call is: one of coordinates, a place name, the raw text of an AML SMS, or not known yet.

Pure: the locator and the place index (with each place's radius) come in as arguments, a :class:`Resolved`
location (the point to store, its accuracy, where it came from and the full locate answer) goes out. Input
that cannot be a location is refused with a domain error naming the field (``location.lat``,
``location.place``, ``location.aml.lt``); input that is simply not a location yet (nothing given, an AML
message without a fix) resolves to no point, so the call is still recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geo.aml import AmlLocation, parse_aml
from geo.coords import check_point
from geo.errors import InvalidInput, NotFound
from geo.locate import Locator
from geo.placenames import MatchStatus, Place, PlaceIndex, PlaceSearchResult
from geo.times import format_wib, iso_utc

__all__ = [
    "NOWHERE",
    "PlaceNotFoundError",
    "AmbiguousPlaceError",
    "Resolved",
    "candidates_json",
    "place_json",
    "resolve_location",
    "search_place",
]

@dataclass(frozen=True, slots=True)
class Resolved:
    """A location as it will be stored: the point (None when not known yet), its accuracy, source and answer."""

    lon: float | None
    lat: float | None
    accuracy_m: float | None
    source: str | None  # coordinates | place | aml | None
    answer: dict[str, Any] | None  # the locate answer, with the place or AML details that produced it


NOWHERE = Resolved(None, None, None, None, None)


def place_json(place: Place) -> dict[str, Any]:
    """A place as the API shows it (search answers, candidates, suggestions)."""
    return {
        "name": place.name,
        "kind": place.kind,
        "code": place.code,
        "parent": place.parent,
        "lon": round(place.lon, 6),
        "lat": round(place.lat, 6),
    }


def candidates_json(result: PlaceSearchResult) -> list[dict[str, Any]]:
    """The ranked candidates of a place search, each with its score."""
    return [place_json(c.place) | {"score": c.score} for c in result.candidates]


def search_place(places: PlaceIndex, query: str, *, field: str) -> PlaceSearchResult:
    """The place search; a query with no name left in it (punctuation, a kind word alone) is refused naming `field`."""
    try:
        return places.search(query)
    except ValueError:  # PlaceIndex.search refuses only a query whose name part is empty
        raise InvalidInput(
            f"'{query}' tidak berisi nama tempat; ketik nama desa/kelurahan atau kecamatan",
            f"'{query}' holds no place name; type the name of a desa/kelurahan or kecamatan",
            field=field,
        ) from None


class PlaceNotFoundError(NotFound):
    """A place name that matches nothing; ``suggestions`` holds the closest places."""

    def __init__(self, query: str, result: PlaceSearchResult, *, field: str) -> None:
        super().__init__(
            f"Tempat '{query}' tidak ditemukan; mungkin maksudnya salah satu saran",
            f"Place '{query}' not found; perhaps one of the suggestions",
            field=field,
            suggestions=candidates_json(result),
        )


class AmbiguousPlaceError(InvalidInput):
    """A place name that matches several places equally well; the operator chooses among ``candidates``."""

    def __init__(self, query: str, result: PlaceSearchResult, *, field: str) -> None:
        super().__init__(
            f"'{query}' cocok dengan beberapa tempat; pilih salah satu kandidat",
            f"'{query}' matches several places; choose one of the candidates",
            field=field,
            match="ambiguous",
            candidates=candidates_json(result),
        )


def resolve_location(
    *,
    locator: Locator,
    places: PlaceIndex,
    place_radius_m: Mapping[str, float],
    lon: float | None = None,
    lat: float | None = None,
    accuracy_m: float | None = None,
    place: str | None = None,
    aml: str | None = None,
    field: str = "location",
) -> Resolved:
    """Turn one of the four location forms into a point and its full locate answer (or no point).

    ``field`` is the input's name in errors (``location`` -> ``location.lat``, ``location.place`` ...).
    """
    given = [
        name
        for name, present in (
            ("lon/lat", lon is not None or lat is not None),
            ("place", place is not None),
            ("aml", aml is not None),
        )
        if present
    ]
    if len(given) > 1:
        raise InvalidInput(
            f"Isi salah satu saja dari lon/lat, place atau aml (terisi: {', '.join(given)})",
            f"Give only one of lon/lat, place or aml (given: {', '.join(given)})",
            field=field,
        )
    if lon is not None or lat is not None:
        return _coordinates(locator, lon, lat, accuracy_m, field=field)
    if place is not None:
        return _place(locator, places, place_radius_m, place, field=f"{field}.place")
    if aml is not None:
        return _aml(locator, parse_aml(aml, field=f"{field}.aml"), field=f"{field}.aml")
    return NOWHERE


def _coordinates(
    locator: Locator, lon: float | None, lat: float | None, accuracy_m: float | None, *, field: str
) -> Resolved:
    if lon is None or lat is None:
        missing = "lat" if lat is None else "lon"
        raise InvalidInput(
            f"'{missing}' wajib diisi bersama pasangannya",
            f"'{missing}' is required together with its pair",
            field=f"{field}.{missing}",
        )
    lon, lat = check_point(lon, lat, lon_field=f"{field}.lon", lat_field=f"{field}.lat")
    return Resolved(lon, lat, accuracy_m, "coordinates", locator.locate(lon=lon, lat=lat))


def _place(
    locator: Locator, places: PlaceIndex, place_radius_m: Mapping[str, float], query: str, *, field: str
) -> Resolved:
    try:
        result = search_place(places, query, field=field)
    except InvalidInput:
        # Only punctuation or an emoji ("'", "-", "😀"): no name to look up, but the call is not refused. It is
        # stored without a point (perlu lokasi) and the text the operator typed is kept with it.
        return Resolved(None, None, None, "place", {"place": {"query": query, "match": "no_name"}})
    if result.status is MatchStatus.NOT_FOUND:
        raise PlaceNotFoundError(query, result, field=field)
    if result.status is MatchStatus.AMBIGUOUS or result.place is None:
        raise AmbiguousPlaceError(query, result, field=field)
    found = result.place
    answer = locator.locate(lon=found.lon, lat=found.lat)
    answer["place"] = {
        "query": query,
        "match": result.status.value,
        "kind": found.kind,
        "code": found.code,
        "name": found.name,
        "parent": found.parent,
        "score": result.candidates[0].score,
    }
    # A place name is known only to the place's size: the radius of a circle of the place's area.
    return Resolved(found.lon, found.lat, place_radius_m.get(found.code), "place", answer)


def _aml(locator: Locator, aml: AmlLocation, *, field: str) -> Resolved:
    meta = {
        "method": aml.method,
        "radius_m": aml.radius_m,
        "fixed_at": iso_utc(aml.fixed_at),
        "fixed_at_wib": format_wib(aml.fixed_at),
        "confidence_pct": aml.confidence_pct,
        "imsi": aml.imsi,
        "imei": aml.imei,
        "mcc": aml.mcc,
        "mnc": aml.mnc,
        "version": aml.version,
        "raw": aml.raw,
    }
    if aml.lon is None or aml.lat is None:  # not aml.has_location, spelled out for the type checker
        # The handset had no fix: keep the identity and time, the call waits for a location.
        return Resolved(None, None, None, "aml", {"aml": meta})
    lon, lat = check_point(aml.lon, aml.lat, lon_field=f"{field}.lg", lat_field=f"{field}.lt")
    answer = locator.locate(lon=lon, lat=lat)
    answer["aml"] = meta
    return Resolved(lon, lat, aml.radius_m, "aml", answer)

