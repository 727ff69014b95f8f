"""The live event stream (Server-Sent Events): one envelope, the payload depends on the kind.

Events carry ids and what changed, never whole documents (PostgreSQL's NOTIFY takes at most 8000 bytes; a
payload that would not fit is cut down to ``id``, ``status``, ``version`` and ``truncated``). A map that
needs the whole incident fetches it (GET /api/incidents/{id}).
"""

from __future__ import annotations

from typing import Any

from api.schemas import Schema
from api.schemas.incidents import IncidentState
from api.schemas.units import UnitFields

__all__ = ["Event", "IncidentEvent"]


class IncidentEvent(Schema):
    """The payload of `incident.created` and `incident.updated`."""

    id: int
    number: str
    status: IncidentState
    category: str
    lon: float | None
    lat: float | None
    version: int
    priority: str | None = None
    claimed_by: str | None = None
    changed: list[str]


class Event(Schema):
    """One event: `id` (the SSE id, for Last-Event-ID), `kind` (the SSE event name), when, and its payload.

    `data` is an IncidentEvent for incident.*, the UnitFields of the unit for unit.updated, and for other
    kinds (network.updated, flood.updated, hotspots.ingested) what the publisher describes.
    """

    id: str
    kind: str
    at: str
    data: IncidentEvent | UnitFields | dict[str, Any]
