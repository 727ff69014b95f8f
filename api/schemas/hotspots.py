"""Hotspot answers: the points (GeoJSON), H3 hexagons, burning days, Gi* clusters, per-area tables, uploads.

The Pydantic models declare the answers in OpenAPI (and let tests check them); the answers themselves are
built column-wise by the serialisers here and written by orjson, because a page holds up to 50,000 points.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from geo.times import format_wib_many, iso_many
from store.hotspot_stats import HotspotPoints

Confidence = Literal["low", "nominal", "high"]
Zone = Literal["inside", "border", "kalteng"]


class HotspotFilterEcho(BaseModel):
    """The filter an answer was computed with (UTC times)."""

    since: datetime | None
    until: datetime
    confidence: list[Confidence] | None
    bbox: list[float] | None = Field(description="minlon, minlat, maxlon, maxlat")
    zone: list[Zone] | None
    kecamatan: str | None
    desa: str | None
    include_static: bool | None = Field(description="Termasuk sumber panas tetap / includes static heat sources")
    satellite: list[str] | None = None


class PointGeometry(BaseModel):
    """A GeoJSON Point, WGS84 [lon, lat]."""

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2)


class PolygonGeometry(BaseModel):
    """A GeoJSON Polygon, WGS84 [lon, lat] rings (an H3 cell)."""

    type: Literal["Polygon"]
    coordinates: list[list[list[float]]]


class HotspotProperties(BaseModel):
    """One detection as the map shows it: when (UTC and WIB), how sure, how strong, where."""

    id: int
    acq_time: datetime = Field(description="Waktu akuisisi satelit, UTC / satellite acquisition time, UTC")
    acq_time_wib: str = Field(description="'14-09-2023 12:42 WIB'")
    confidence: Confidence | None
    frp: float | None = Field(description="Fire radiative power, MW")
    brightness: float | None = Field(description="Kelvin")
    satellite: str | None
    instrument: str | None
    daynight: str | None = Field(description="D or N")
    source: str
    zone: Zone = Field(description="inside: Barito Selatan; border: <= 10 km outside; kalteng: elsewhere")
    desa_code: str | None
    desa_name: str | None
    kecamatan_code: str | None
    kabupaten_code: str | None
    border_distance_m: float | None = Field(description="Jarak ke desa terdekat (zona border) / to the nearest desa")
    date_only: bool = Field(description="Hanya tanggal, tanpa jam (acq_time 00:00 UTC) / date only, no time of day")
    static_source_id: int | None = Field(description="Di dalam sumber panas tetap / inside a static heat source")


class HotspotFeature(BaseModel):
    """One detection as a GeoJSON Feature."""

    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: HotspotProperties


class HotspotCollection(BaseModel):
    """Detections in the window, newest first."""

    type: Literal["FeatureCollection"]
    features: list[HotspotFeature]
    count: int
    truncated: bool = Field(description="More detections matched than `limit`")
    filter: HotspotFilterEcho


DATE_ONLY_LABEL = "tanggal saja"


def _wib_labels(points: HotspotPoints) -> list[str | None]:
    """WIB times as shown; a date-only detection shows its date and "(tanggal saja)", never a clock time."""
    labels = list(format_wib_many(points.acq_time))
    flags = points.columns["date_only"]
    if any(flags):
        days = points.acq_time.strftime("%d-%m-%Y")
        labels = [f"{d} ({DATE_ONLY_LABEL})" if f else lab for lab, d, f in zip(labels, days, flags, strict=True)]
    return labels


def hotspot_features(points: HotspotPoints) -> list[dict[str, Any]]:
    """The points as GeoJSON Features (HotspotFeature), each column converted at once."""
    c = points.columns
    lon = np.round(np.asarray(c["lon"], dtype=np.float64), 6).tolist()
    lat = np.round(np.asarray(c["lat"], dtype=np.float64), 6).tolist()
    border = np.asarray(c["border_distance_m"], dtype=np.float64)
    border_m = np.where(np.isnan(border), None, np.round(border, 1)).tolist()  # type: ignore[call-overload]
    return [
        {
            "type": "Feature",
            "id": i,
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {
                "id": i,
                "acq_time": t_iso,
                "acq_time_wib": t_wib,
                "confidence": conf,
                "frp": frp,
                "brightness": bright,
                "satellite": sat,
                "instrument": inst,
                "daynight": dn,
                "source": src,
                "zone": zone,
                "desa_code": desa,
                "desa_name": desa_name,
                "kecamatan_code": kec,
                "kabupaten_code": kab,
                "border_distance_m": b,
                "date_only": bool(d_only),
                "static_source_id": static,
            },
        }
        for (i, x, y, t_iso, t_wib, conf, frp, bright, sat, inst, dn, src, zone, desa, desa_name, kec, kab, b, d_only,
             static) in zip(
            c["id"],
            lon,
            lat,
            iso_many(points.acq_time),
            _wib_labels(points),
            c["confidence"],
            c["frp"],
            c["brightness"],
            c["satellite"],
            c["instrument"],
            c["daynight"],
            c["source"],
            c["zone"],
            c["desa_code"],
            c["desa_name"],
            c["kecamatan_code"],
            c["kabupaten_code"],
            border_m,
            c["date_only"],
            c["static_source_id"],
            strict=True,
        )
    ]


# ----------------------------------------------------------------------------------- H3 cells


class HexagonProperties(BaseModel):
    """Detections in one H3 cell."""

    h3: str
    count: int
    frp_sum: float
    max_confidence: Confidence | None
    first_seen: datetime | None
    last_seen: datetime | None
    desa_name: str | None = Field(default=None, description="Desa dengan deteksi terbanyak / desa with most detections")
    desa_count: int = Field(default=0, description="Jumlah desa di heksagon / desa with detections in the cell")


class HexagonFeature(BaseModel):
    """One H3 cell as a GeoJSON Feature (id = the cell)."""

    type: Literal["Feature"]
    id: str
    geometry: PolygonGeometry
    properties: HexagonProperties


class HexagonCollection(BaseModel):
    """H3 cells with detections in the window."""

    type: Literal["FeatureCollection"]
    features: list[HexagonFeature]
    resolution: int
    cells: int
    detections: int
    filter: HotspotFilterEcho


class BurningDaysProperties(BaseModel):
    """Consecutive WIB days one H3 cell burned."""

    h3: str
    days_burned: int
    longest_run: int
    current_run: int = Field(description="Run ending on `as_of` (0 when the cell did not burn that day)")
    first_day: date
    last_day: date


class BurningDaysFeature(BaseModel):
    """One H3 cell with its burning days."""

    type: Literal["Feature"]
    id: str
    geometry: PolygonGeometry
    properties: BurningDaysProperties


class BurningDaysCollection(BaseModel):
    """Cells with at least `min_days` consecutive burning days, longest runs first."""

    type: Literal["FeatureCollection"]
    features: list[BurningDaysFeature]
    resolution: int
    as_of: date
    cells: int
    filter: HotspotFilterEcho


GiClass = Literal["hot99", "hot95", "cold95", "cold99", "ns"]


class ClusterProperties(BaseModel):
    """Getis-Ord Gi* of one H3 cell."""

    model_config = ConfigDict(populate_by_name=True)
    h3: str
    value: float
    observed: bool = Field(description="The cell has detections (else it pads the study area)")
    z: float | None
    p: float | None
    class_: GiClass = Field(alias="class")


class ClusterFeature(BaseModel):
    """One H3 cell with its Gi* class."""

    type: Literal["Feature"]
    id: str
    geometry: PolygonGeometry
    properties: ClusterProperties


class ClusterClasses(BaseModel):
    """Cells per significant class."""

    hot99: int
    hot95: int
    cold95: int
    cold99: int


class ClusterCollection(BaseModel):
    """Gi* hot and cold spots over H3 cells."""

    type: Literal["FeatureCollection"]
    features: list[ClusterFeature]
    resolution: int
    value: Literal["count", "frp"]
    observed_cells: int
    classes: ClusterClasses
    method: str
    filter: HotspotFilterEcho


# ----------------------------------------------------------------------------------- tables


class AreaStats(BaseModel):
    """Detections in one area over the window."""

    count: int
    frp_sum: float
    high_confidence: int
    first_seen: datetime | None
    last_seen: datetime | None
    last_seen_wib: str | None


class DesaRow(AreaStats):
    """One desa of Barito Selatan."""

    desa_code: str
    desa_name: str
    kecamatan_code: str
    kecamatan: str


class KecamatanRow(AreaStats):
    """One kecamatan of Barito Selatan."""

    kecamatan_code: str
    kecamatan: str


class DesaTable(BaseModel):
    """Every desa (zeros included), most detections first."""

    rows: list[DesaRow]
    total: int
    filter: HotspotFilterEcho


class KecamatanTable(BaseModel):
    """The six kecamatan (zeros included), most detections first."""

    rows: list[KecamatanRow]
    total: int
    filter: HotspotFilterEcho


# ----------------------------------------------------------------------------------- upload


class Reject(BaseModel):
    """A line of the file that was not stored, and why."""

    line: int
    reason: str


class UploadReport(BaseModel):
    """What an uploaded file gave: rows read, kept in the area, new, already stored, rejected."""

    filename: str | None
    read: int
    kept: int
    outside: int
    inserted: int
    duplicate: int
    rejected: int
    zones: dict[str, int]
    format: str | None
    confidence_coding: Literal["modis_percent", "viirs_letters", "viirs_numeric", "class_words", "none"] | None = Field(
        description="Pengkodean confidence yang diasumsikan / the confidence coding assumed")
    confidence_coding_text: list[str] | None = Field(description="[Bahasa Indonesia, English]")
    date_only: int = Field(description="Deteksi tanpa jam (tanggal saja) / detections with a date only")
    static_source: int = Field(description="Deteksi di sumber panas tetap / detections inside static heat sources")
    alerts: int = Field(description="Peringatan wilayah baru / new area alerts raised")
    first_rejects: list[Reject]
    first_time: datetime | None
    last_time: datetime | None
