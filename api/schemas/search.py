"""The answer of GET /api/search: places, calls and units, each typed."""

from __future__ import annotations

from typing import Literal

from api.schemas import Schema

__all__ = ["SearchAnswer"]


class PlaceHit(Schema):
    """A place the query may name, with its similarity (0-100) and how it matched."""

    name: str
    kind: str
    code: str
    parent: str
    lon: float
    lat: float
    score: float
    status: str


class CallHit(Schema):
    """A call whose number or caller phone contains the query."""

    type: Literal["call"]
    id: int
    number: str
    status: str
    category: str
    priority: str
    caller_phone: str | None
    created_at: str | None
    lon: float | None
    lat: float | None


class UnitHit(Schema):
    """A unit whose callsign or name contains the query."""

    type: Literal["unit"]
    id: int
    callsign: str
    name: str
    unit_type: str
    status: str


class SearchAnswer(Schema):
    """Places, calls and units for one query; `count` is all of them."""

    query: str
    places: list[PlaceHit]
    calls: list[CallHit]
    units: list[UnitHit]
    count: int
