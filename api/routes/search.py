"""The top search box: one query, answered with places, calls (by number or phone) and units, typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import ReaderDep
from api.deps import SessionDep, SpatialDep
from api.responses import FastJSON
from api.schemas.search import SearchAnswer
from geo.resolve import candidates_json, place_json
from geo.times import iso_utc
from store.search import search_calls, search_units

router = APIRouter(prefix="/api", tags=["search"])


@router.get(
    "/search", summary="Cari tempat, panggilan, unit / search places, calls, units", response_model=SearchAnswer
)
def search(
    spatial: SpatialDep,
    session: SessionDep,
    _: ReaderDep,
    q: Annotated[str, Query(min_length=1, max_length=120, description="nama tempat, nomor panggilan, telepon, unit")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> FastJSON:
    """Places (by name, tolerant of typos), calls (by number or caller phone) and units (callsign or name)."""
    query = q.replace("\x00", "").strip()
    places: list[dict] = []
    # A place name has letters; a call number or a phone number has none, and gets no fuzzy village matches.
    if any(ch.isalpha() for ch in query):
        try:
            result = spatial.places.search(query)
        except ValueError:  # no name in the query (digits, punctuation): not a place
            result = None
        if result is not None:
            if result.place is not None:
                places.append(place_json(result.place) | {"score": 100.0, "status": result.status.value})
            places += [c | {"status": result.status.value} for c in candidates_json(result)
                       if result.place is None or c["code"] != result.place.code]
    calls = search_calls(session, query, limit=limit) if query else []
    units = search_units(session, query, limit=limit) if query else []
    items = (
        [{"type": "place", **p} for p in places[:limit]]
        + [{"type": "call", **c, "created_at": iso_utc(c["created_at"])} for c in calls]
        + [{"type": "unit", **u} for u in units]
    )
    return FastJSON({"query": q, "places": places[:limit], "calls": [i for i in items if i["type"] == "call"],
                     "units": [i for i in items if i["type"] == "unit"], "count": len(items)})
