"""Hotspot answers: the points (GeoJSON), H3 hexagons, burning days, Gi* clusters, per-area tables, uploads.

The Pydantic models declare the answers in OpenAPI (and let tests check them); the answers themselves are
built column-wise by the serialisers here and written by orjson, because a page holds up to 50,000 points.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
    """One detection as the map shows it: when (UTC and WIB), how sure, how strong, where.

    Every property but `id` is left out when the request's `properties` list does not name it.
    """

    id: int
    # Not nullable when present; absent when not asked for (hence the None default the schema does not list).
    acq_time: datetime = Field(None, description="Waktu akuisisi satelit, UTC / satellite acquisition time, UTC")  # type: ignore[assignment]
    acq_time_wib: str = Field(None, description="'14-09-2023 12:42 WIB'")  # type: ignore[assignment]
    confidence: Confidence | None = None
    frp: float | None = Field(None, description="Fire radiative power, MW")
    brightness: float | None = Field(None, description="Kelvin")
    satellite: str | None = None
    instrument: str | None = None
    daynight: str | None = Field(None, description="D or N")
    source: str = None  # type: ignore[assignment]
    zone: Zone = Field(None, description="inside: Barito Selatan; border: <= 10 km outside; kalteng: elsewhere")  # type: ignore[arg-type]
    desa_code: str | None = None
    desa_name: str | None = None
    kecamatan_code: str | None = None
    kabupaten_code: str | None = None
    border_distance_m: float | None = Field(
        None, description="Jarak ke desa terdekat (zona border) / to the nearest desa"
    )
    date_only: bool = Field(  # type: ignore[assignment]
        None, description="Hanya tanggal, tanpa jam (acq_time 00:00 UTC) / date only, no time of day"
    )
    static_source_id: int | None = Field(None, description="Di dalam sumber panas tetap / inside a static heat source")


# Every property of a point, in the order the answer writes them (`properties=` picks among them).
POINT_PROPERTIES = tuple(name for name in HotspotProperties.model_fields if name != "id")


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


def _json_numbers(values: Any, *, decimals: int | None = None) -> pa.Array:
    """JSON number text per value (shortest round-trip form, written by Arrow in C); null where NaN or None."""
    v = np.asarray(values, dtype=np.float64)
    if decimals is not None:
        v = np.round(v, decimals)
    return pc.fill_null(pc.cast(pa.array(v, mask=np.isnan(v)), pa.string()), "null")


def _json_ints(values: Any) -> pa.Array:
    """JSON integer text per value; null where None."""
    arr = pa.array(np.asarray(values, dtype=object).tolist(), type=pa.int64())
    return pc.fill_null(pc.cast(arr, pa.string()), "null")


def _json_texts(values: Any) -> pa.Array:
    """JSON string text per value (each distinct value escaped once by orjson); null where None."""
    codes, uniq = pd.factorize(pd.Series(np.asarray(values, dtype=object), dtype=object), use_na_sentinel=True)
    encoded = np.array([orjson.dumps(str(u)).decode() for u in uniq] + ["null"], dtype=object)
    return pa.array(encoded[codes].tolist() if len(codes) else [], type=pa.string())


def _json_bools(values: Any) -> pa.Array:
    return pa.array(np.where(np.asarray(values, dtype=bool), "true", "false").tolist(), type=pa.string())


def hotspot_features_json(points: HotspotPoints, *, properties: Sequence[str] = POINT_PROPERTIES) -> orjson.Fragment:
    """The points as a JSON array of GeoJSON Features (HotspotFeature), written column by column.

    Each column becomes JSON text at once (Arrow formats the numbers, orjson escapes each distinct text once)
    and the features are joined element-wise in C: no dict per point, no per-point serialisation.
    `properties` (in POINT_PROPERTIES) picks what each feature carries besides its id.
    """
    c = points.columns
    n = len(points)
    if n == 0:
        return orjson.Fragment(b"[]")
    ids = _json_ints(c["id"])
    value = {
        "acq_time": lambda: _json_texts(iso_many(points.acq_time)),
        "acq_time_wib": lambda: _json_texts(_wib_labels(points)),
        "frp": lambda: _json_numbers(c["frp"]),
        "brightness": lambda: _json_numbers(c["brightness"]),
        "border_distance_m": lambda: _json_numbers(c["border_distance_m"], decimals=1),
        "date_only": lambda: _json_bools(c["date_only"]),
        "static_source_id": lambda: _json_ints(c["static_source_id"]),
    }
    pieces: list[Any] = [
        pa.scalar('{"type":"Feature","id":'), ids, pa.scalar(',"geometry":{"type":"Point","coordinates":['),
        _json_numbers(c["lon"], decimals=6), pa.scalar(","), _json_numbers(c["lat"], decimals=6),
        pa.scalar(']},"properties":{"id":'), ids,
    ]
    for name in properties:
        pieces.append(pa.scalar(f',"{name}":'))
        pieces.append(value[name]() if name in value else _json_texts(c[name]))
    pieces.append(pa.scalar("}}"))
    features = pc.binary_join_element_wise(*pieces, "")
    return orjson.Fragment(("[" + ",".join(features.to_pylist()) + "]").encode())


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
