"""Static heat sources (industry, flares, zinc roofs): the layer as GeoJSON, create and edit bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["industri", "flare", "atap_seng", "lainnya"]
Origin = Literal["manual", "cek_lapangan", "impor"]


class HeatSourceInProperties(BaseModel):
    """Attributes of a new static heat source."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    notes: str | None = Field(default=None, max_length=4000)


class HeatSourceIn(BaseModel):
    """A GeoJSON Feature: Polygon or MultiPolygon in WGS84 [lon, lat] plus the source's attributes."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: HeatSourceInProperties


class HeatSourcePatch(BaseModel):
    """Changes to a source; `version` (optional) guards against overwriting someone else's edit."""

    model_config = ConfigDict(extra="forbid")
    version: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    notes: str | None = Field(default=None, max_length=4000)
    geometry: dict[str, Any] | None = None


class HeatSourceProperties(BaseModel):
    """A stored source."""

    id: int
    name: str
    kind: Kind
    kind_label: str
    origin: Origin
    notes: str | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class HeatSourceFeature(BaseModel):
    """One source as a GeoJSON Feature; `marked` counts the detections whose mark changed."""

    type: Literal["Feature"]
    id: int
    geometry: dict[str, Any]
    properties: HeatSourceProperties
    marked: int | None = None


class HeatSourceCollection(BaseModel):
    """Every static heat source."""

    type: Literal["FeatureCollection"]
    features: list[HeatSourceFeature]
    count: int
