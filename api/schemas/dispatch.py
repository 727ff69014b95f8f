"""What a dispatch did: the incident's new state and the steps it took, the units sent as they now are."""

from __future__ import annotations

from api.schemas import Schema
from api.schemas.incidents import IncidentState
from api.schemas.units import UnitFields

__all__ = ["DispatchOut"]


class DispatchOut(Schema):
    """The outcome of sending units to an incident."""

    incident_id: int
    incident_number: str
    status: IncidentState
    version: int
    transitions: list[IncidentState]
    units: list[UnitFields]
    assignment_ids: list[int]
