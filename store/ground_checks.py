"""Ground checks ("cek lapangan") of hotspots, their results, the statistics they feed, and area alerts.

A ground check is an incident of its own category (`cek_lapangan` in data/catalog.yaml), so it is dispatched
with the existing recommendation; the `ground_check` row ties that incident to the detection (or the H3
cluster) it checks and keeps the result. A "bukan api" result caused by a roof or industry becomes a static
heat source, so the same spot is marked "sumber tetap" from then on.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from geo.times import utcnow
from store.models import Base
from store.types import JSONType, UTCDateTime

RESULTS = ("api_aktif", "sudah_padam", "bukan_api", "tidak_terjangkau")
CAUSES = ("pantulan_atap", "industri", "lainnya")
CATEGORY = "cek_lapangan"


class GroundCheck(Base):
    """One ground check: the incident that dispatches it, what it checks, and the result the team found."""

    __tablename__ = "ground_check"
    __table_args__ = (
        CheckConstraint("result IS NULL OR result IN ('api_aktif','sudah_padam','bukan_api','tidak_terjangkau')",
                        name="ck_ground_check_result"),
        CheckConstraint("cause IS NULL OR cause IN ('pantulan_atap','industri','lainnya')",
                        name="ck_ground_check_cause"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, unique=True)
    hotspot_id: Mapped[int | None] = mapped_column(Integer, index=True)
    cluster_cell: Mapped[str | None] = mapped_column(String(16))
    hotspot_ids: Mapped[list[int] | None] = mapped_column(JSONType)
    satellite: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[str | None] = mapped_column(String(8))
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    desa_code: Mapped[str | None] = mapped_column(String(20))
    kecamatan_code: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    result: Mapped[str | None] = mapped_column(String(20))
    cause: Mapped[str | None] = mapped_column(String(20))
    area_ha: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    result_by: Mapped[str | None] = mapped_column(String(64))
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heat_source_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)


class HotspotAlert(Base):
    """One area alert: a new nominal/high detection in the regency (or near a desa), once per cluster per day."""

    __tablename__ = "hotspot_alert"
    __table_args__ = (UniqueConstraint("day", "cluster_cell", name="uq_hotspot_alert_day_cell"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), nullable=False)
    cluster_cell: Mapped[str] = mapped_column(String(16), nullable=False)
    kecamatan_code: Mapped[str | None] = mapped_column(String(16))
    desa_code: Mapped[str | None] = mapped_column(String(20))
    hotspot_id: Mapped[int] = mapped_column(Integer, nullable=False)
    confidence: Mapped[str | None] = mapped_column(String(8))
    satellite: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)


