"""Recommended units for an incident (fastest by travel time per type) and the units left out, with why."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.schemas import Schema
from api.schemas.incidents import IncidentState
from api.schemas.units import UnitPublic

__all__ = ["Recommendations"]


class LegOut(Schema):
    """A stretch of the route in one mode."""

    mode: str
    distance_m: float
    time_s: float


class RouteProperties(Schema):
    """Which unit the route is for, its ETA and the data sources of the edges it uses."""

    unit_id: int
    sources: list[str]
    eta_s: float


class RouteFeature(Schema):
    """The route from the unit to the incident, GeoJSON WGS84."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: RouteProperties


class RecommendedUnit(UnitPublic):
    """A unit ranked for an incident: ETA, distances (network and straight line), legs and route."""

    rank: int
    eta_s: float
    eta_min: float
    distance_m: float
    straight_line_m: float
    unit_snap_m: float
    incident_snap_m: float
    legs: list[LegOut]
    route: RouteFeature
    sources: list[str]
    eta_range_s: list[float] | None = Field(
        default=None, description="[tercepat, terlama] ke lingkaran ketidakpastian / fastest, slowest over the circle")


class LeftOutUnit(UnitPublic):
    """A unit of a requested type that is not ranked, and why (with a bilingual message)."""

    reason: Literal["bertugas", "offline", "tidak_tersedia", "stale", "unreachable"]
    message_id: str
    message_en: str
    # unreachable only: unit_off_network, incident_off_network, disconnected, no_position, boat_walk
    detail: str | None = None
    walk_m: float | None = None  # boat_walk only: the crew's walk from the landing
    snap_m: float | None = None  # unreachable only


class NetworkInfo(Schema):
    """The network the ranking ran on."""

    source: str
    approximate: bool
    version: int
    flood_version: int
    nodes: int
    edges: int
    flood_zones: int
    closed_road_edges: int


class PlanUnits(Schema):
    """How many units of a type the response plan proposes."""

    type: str
    count: int


class PlanShort(PlanUnits):
    """A type of the plan with fewer units that can go than it asks for."""

    found: int


class AgencyToInform(Schema):
    """An agency the plan says to inform (it has no units to send)."""

    code: str
    name_id: str
    name_en: str


class PlanOut(Schema):
    """The response plan (run card) for the call: units proposed, agencies to inform, the units pre-selected."""

    units: list[PlanUnits]
    notify: list[AgencyToInform]
    priority: str | None
    selected: list[int]
    short: list[PlanShort]


class Recommendations(Schema):
    """Per unit type the k best available units for an incident by ETA, and who is left out."""

    incident_id: int
    incident_number: str
    category: str
    status: IncidentState
    lon: float
    lat: float
    on_water: bool
    stale_after_minutes: int
    plan: PlanOut
    types: list[str]
    k: int
    network_source: str
    network: NetworkInfo
    recommendations: dict[str, list[RecommendedUnit]]
    left_out: list[LeftOutUnit]
    incident_snap_m: dict[str, float | None]
    searches: int
    computed_ms: float
    boat_walk_max_m: float | None
    eta_range_radius_m: float | None
