"""Ground checks ("cek lapangan"), their results and statistics, and area alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Result = Literal["api_aktif", "sudah_padam", "bukan_api", "tidak_terjangkau"]
Cause = Literal["pantulan_atap", "industri", "lainnya"]


class GroundCheckCreate(BaseModel):
    """What to check: one detection (hotspot_id) or the detections of an H3 cell (cluster_cell)."""

    model_config = ConfigDict(extra="forbid")
    hotspot_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    cluster_cell: str | None = Field(default=None, min_length=15, max_length=16)
    note: str | None = Field(default=None, max_length=1000)


class GroundCheckResultIn(BaseModel):
    """What the team found; `cause` only for bukan_api, `area_ha` only for api_aktif."""

    model_config = ConfigDict(extra="forbid")
    result: Result
    cause: Cause | None = None
    area_ha: float | None = Field(default=None, ge=0, le=1_000_000)
    note: str | None = Field(default=None, max_length=1000)
    version: int | None = None


class GroundCheckProperties(BaseModel):
    """A ground check with its incident and result."""

    id: int
    incident_id: int
    incident_number: str | None
    incident_status: str | None
    hotspot_id: int | None
    cluster_cell: str | None
    hotspot_ids: list[int]
    satellite: str | None
    confidence: Literal["low", "nominal", "high"] | None
    detected_at: datetime | None
    detected_at_wib: str | None
    desa_code: str | None
    kecamatan_code: str | None
    created_by: str | None
    created_at: datetime
    result: Result | None
    result_label: str | None
    cause: Cause | None
    cause_label: str | None
    area_ha: float | None
    note: str | None
    result_by: str | None
    result_at: datetime | None
    heat_source_id: int | None = Field(description="Sumber panas tetap yang dibuat dari hasil ini")
    version: int


class GroundCheckGeometry(BaseModel):
    """A GeoJSON Point, WGS84 [lon, lat]."""

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2)


class GroundCheckFeature(BaseModel):
    """One ground check as a GeoJSON Feature."""

    type: Literal["Feature"]
    id: int
    geometry: GroundCheckGeometry
    properties: GroundCheckProperties


class GroundCheckCollection(BaseModel):
    """The newest ground checks."""

    type: Literal["FeatureCollection"]
    features: list[GroundCheckFeature]
    count: int


class ShareRow(BaseModel):
    """Checked hotspots of one satellite or confidence and how many were not a fire."""

    key: str
    checked: int
    false_alarms: int
    false_alarm_share: float | None


class GroundCheckStats(BaseModel):
    """False-alarm shares per satellite and per confidence, results counted, checks still open."""

    by_satellite: list[ShareRow]
    by_confidence: list[ShareRow]
    results: dict[str, int]
    pending: int
    note: str


class HotspotAlertPublic(BaseModel):
    """An area alert: a new nominal/high detection in a kecamatan or near a desa centre (once per cluster per day)."""

    id: int
    day: str = Field(description="Tanggal WIB / WIB date")
    cluster_cell: str
    kecamatan_code: str | None
    desa_code: str | None
    hotspot_id: int
    confidence: Literal["nominal", "high"] | None
    satellite: str | None
    reason: Literal["kecamatan", "dekat_desa"]
    detected_at: datetime
    detected_at_wib: str | None
    created_at: datetime
    lon: float
    lat: float
    near_desa: str | None
    near_desa_m: float | None


class HotspotAlertList(BaseModel):
    """Alerts raised in the window, newest first."""

    alerts: list[HotspotAlertPublic]
    count: int
