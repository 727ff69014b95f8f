"""Flood zones: polygons BPBD marks as flooded (imported, drawn, or the Barito floodplain proxy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.shape import to_shape
from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.accounts import JSONType, utcnow
from store.models import Base

SEVERITIES = ("rendah", "sedang", "tinggi")
STATUSES = ("active", "ended")


class FloodZone(Base):
    """One flooded area: name, severity (rendah|sedang|tinggi), status (active|ended), when observed, source."""

    __tablename__ = "flood_zone"
    __table_args__ = (
        CheckConstraint("severity IN ('rendah','sedang','tinggi')", name="ck_flood_zone_severity"),
        CheckConstraint("status IN ('active','ended')", name="ck_flood_zone_status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False, default="sedang")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    observed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(200), nullable=False, default="manual")
    is_proxy: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)

    @property
    def shape(self) -> shapely.Geometry:
        """The zone as a shapely MultiPolygon (WGS84)."""
        return to_shape(self.geom)


def active_flood_geometries(session: Session) -> list[shapely.Geometry]:
    """Shapely (multi)polygons (WGS84 lon/lat) of every flood zone whose status is 'active'."""
    rows = session.scalars(select(FloodZone.geom).where(FloodZone.status == "active").order_by(FloodZone.id))
    return [to_shape(g) for g in rows]


def active_flood_zones(session: Session) -> list[FloodZone]:
    """Every active flood zone, oldest first."""
    return list(session.scalars(select(FloodZone).where(FloodZone.status == "active").order_by(FloodZone.id)))
