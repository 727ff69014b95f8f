"""Units as the API, its events and its recommendations show them: one set of fields, one id key (``id``).

The serializer is ``store.units.unit_fields`` (events need it too); UnitPublic adds what depends on the time
of asking (``store.units.unit_public``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas import Schema
from api.schemas.incidents import PointGeometry

__all__ = [
    "StationFeatureCollection",
    "StationList",
    "StationPublic",
    "UnitFeatureCollection",
    "UnitFields",
    "UnitList",
    "UnitPublic",
]

UnitStatus = Literal["tersedia", "dikirim", "menuju_lokasi", "tiba", "kembali", "tidak_tersedia", "offline"]


class UnitFields(Schema):
    """A response unit: what it is, where it was last reported, its status (the payload of `unit.updated`)."""

    id: int
    callsign: str
    name: str
    type: str
    agency: str
    station_id: int | None
    status: UnitStatus
    available: bool = Field(description="tersedia atau kembali: bisa dikirim / free to send")
    status_at: str | None = Field(description="sejak kapan berstatus ini (UTC) / in this status since")
    incident_id: int | None = Field(description="kejadian yang sedang dilayani / the call it serves")
    incident_number: str | None
    mode: Literal["road", "river"]
    travel_mode: str
    lon: float | None
    lat: float | None
    position_at: str | None
    position_at_wib: str | None
    source: Literal["demo", "real"]
    version: int


class UnitPublic(UnitFields):
    """A unit with the age of its last position (seconds) and whether that is too old to trust."""

    position_age_s: float | None
    stale: bool


class UnitList(Schema):
    """Every unit (optionally of some types or statuses)."""

    units: list[UnitPublic]
    count: int
    stale_after_minutes: int


class UnitFeature(Schema):
    """A unit as a GeoJSON feature (no geometry while it never reported a position)."""

    type: Literal["Feature"]
    id: int
    geometry: PointGeometry | None
    properties: UnitPublic


class UnitFeatureCollection(Schema):
    """Units as GeoJSON."""

    type: Literal["FeatureCollection"]
    features: list[UnitFeature]
    stale_after_minutes: int


class StationPublic(Schema):
    """A place units are based at (Damkar post, RSUD, puskesmas, BPBD office, Polres/Polsek) and its unit count."""

    id: int
    code: str
    name: str
    kind: str
    agency: str
    desa_code: str | None
    source: Literal["demo", "real"]
    units: int
    lon: float
    lat: float


class StationList(Schema):
    """Every station, by code."""

    stations: list[StationPublic]
    count: int


class StationFeature(Schema):
    """A station as a GeoJSON feature."""

    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: StationPublic


class StationFeatureCollection(Schema):
    """Stations as GeoJSON."""

    type: Literal["FeatureCollection"]
    features: list[StationFeature]
