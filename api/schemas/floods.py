"""Flood-zone answers: zones as GeoJSON, the desa and roads a zone affects, a file import's report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from store.floods import FloodZone, flood_public

Severity = Literal["rendah", "sedang", "tinggi"]
Status = Literal["active", "ended"]


# ------------------------------------------------------------------------------------ requests


class FloodProperties(BaseModel):
    """Attributes of a new flood zone."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=200)
    severity: Severity = "sedang"
    status: Status = "active"
    observed_at: datetime | None = None
    source: str = Field(default="manual", max_length=200)
    notes: str | None = Field(default=None, max_length=4000)


class FloodFeature(BaseModel):
    """A GeoJSON Feature: Polygon or MultiPolygon in WGS84 [lon, lat] plus the zone attributes."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: FloodProperties


class FloodPatch(BaseModel):
    """Changes to a zone; `version` (optional) guards against overwriting someone else's edit."""

    model_config = ConfigDict(extra="forbid")
    version: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    severity: Severity | None = None
    status: Status | None = None
    observed_at: datetime | None = None
    source: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)
    geometry: dict[str, Any] | None = None


# ----------------------------------------------------------------------------------- answers


class FloodZoneProperties(BaseModel):
    """A zone's attributes (UTC times, and the observation time in WIB)."""

    id: int
    name: str
    severity: Severity
    status: Status
    observed_at: datetime | None
    observed_at_wib: str | None
    source: str
    is_proxy: bool = Field(description="A stand-in (the Barito floodplain buffer), not an observed flood")
    notes: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    attributes: dict[str, Any]


class AreaGeometry(BaseModel):
    """A GeoJSON Polygon or MultiPolygon, WGS84 [lon, lat]."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]


class FloodZoneFeature(BaseModel):
    """One zone as a GeoJSON Feature."""

    type: Literal["Feature"]
    id: int
    geometry: AreaGeometry
    properties: FloodZoneProperties


class CreatedFloodZone(FloodZoneFeature):
    """A new zone, and whether its polygon had to be repaired."""

    repaired: bool
    repair_reason: str | None


class ChangedFloodZone(FloodZoneFeature):
    """An edited zone and the fields that changed."""

    changed: list[str]


class FloodZoneCollection(BaseModel):
    """Zones as a FeatureCollection."""

    type: Literal["FeatureCollection"]
    features: list[FloodZoneFeature]
    count: int


class AffectedDesa(BaseModel):
    """A desa under a zone and the share of its area under water (UTM 50S)."""

    desa_code: str
    desa_name: str
    kecamatan: str | None
    flooded_km2: float
    desa_km2: float
    share: float


class RoadsCut(BaseModel):
    """Network lines crossing the zone (at most 500 ids listed)."""

    available: bool
    count: int
    ids: list[int]


class FloodAffected(BaseModel):
    """What a zone covers: desa with their flooded share, and the network lines it cuts."""

    id: int
    name: str
    status: Status
    is_proxy: bool
    area_km2: float
    desa: list[AffectedDesa]
    desa_count: int
    roads_cut: RoadsCut


class FeatureNote(BaseModel):
    """A feature of an imported file (1-based) and what happened to it."""

    feature: int
    reason: str


class FloodImportReport(BaseModel):
    """Zones created from a file, the features repaired and those rejected, with why."""

    created: list[int]
    repaired: list[FeatureNote]
    rejected: list[FeatureNote]


def flood_feature(zone: FloodZone) -> dict[str, Any]:
    """A zone as a GeoJSON Feature (FloodZoneFeature)."""
    props = flood_public(zone, include_geometry=True)
    geometry = props.pop("geometry")
    return {"type": "Feature", "id": zone.id, "geometry": geometry, "properties": props}
