"""What a dispatch did: the incident's new state and the steps it took, the units sent as they now are."""

from __future__ import annotations

from api.schemas import Schema
from api.schemas.incidents import IncidentState
from api.schemas.units import UnitFields

__all__ = ["DispatchOut", "StepOut"]


class DispatchOut(Schema):
    """The outcome of sending units to an incident."""

    incident_id: int
    incident_number: str
    status: IncidentState
    version: int
    transitions: list[IncidentState]
    units: list[UnitFields]
    assignment_ids: list[int]
    diverted_from: list[int]


class StepOut(Schema):
    """What a unit's step or release changed: the unit as it now is, the call's state and new transitions."""

    incident_id: int
    incident_number: str
    status: str
    version: int
    transitions: list[str]
    skipped: list[str]
    assignment_id: int
    unit: UnitFields

