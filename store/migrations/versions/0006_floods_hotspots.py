"""Flood zones, FIRMS fire hotspots and the job-run log.

Revision ID: 0006_floods_hotspots
Revises: 0002_accounts
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_floods_hotspots"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "flood_zone",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True)),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("is_proxy", sa.Boolean, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("attributes", JSONType),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
        sa.CheckConstraint("severity IN ('rendah','sedang','tinggi')", name="ck_flood_zone_severity"),
        sa.CheckConstraint("status IN ('active','ended')", name="ck_flood_zone_status"),
    )
    op.create_index("ix_flood_zone_status", "flood_zone", ["status"])
    op.create_table(
        "hotspot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("detection_key", sa.String(40), nullable=False, unique=True),
        sa.Column("acq_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confidence", sa.String(8), nullable=True),
        sa.Column("confidence_raw", sa.String(16)),
        sa.Column("frp", sa.Float),
        sa.Column("brightness", sa.Float),
        sa.Column("satellite", sa.String(32)),
        sa.Column("instrument", sa.String(16)),
        sa.Column("daynight", sa.String(1)),
        sa.Column("version", sa.String(16)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("desa_code", sa.String(20)),
        sa.Column("kecamatan_code", sa.String(16)),
        sa.Column("kabupaten_code", sa.String(16)),
        sa.Column("zone", sa.String(8), nullable=False),
        sa.Column("border_distance_m", sa.Float),
        sa.Column("h3_5", sa.String(16), nullable=False),
        sa.Column("h3_6", sa.String(16), nullable=False),
        sa.Column("h3_7", sa.String(16), nullable=False),
        sa.Column("h3_8", sa.String(16), nullable=False),
        sa.Column("h3_9", sa.String(16), nullable=False),
        sa.Column("attributes", JSONType),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
        sa.CheckConstraint("zone IN ('inside','border','kalteng')", name="ck_hotspot_zone"),
    )
    op.create_index("ix_hotspot_acq_time", "hotspot", ["acq_time"])
    op.create_index("ix_hotspot_desa_code", "hotspot", ["desa_code"])
    op.create_index("ix_hotspot_kecamatan_code", "hotspot", ["kecamatan_code"])
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job", sa.String(48), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("ok", sa.Boolean),
        sa.Column("message", sa.Text),
        sa.Column("counts", JSONType),
    )
    op.create_index("ix_job_run_job_started", "job_run", ["job", "started_at"])


def downgrade() -> None:
    op.drop_table("job_run")
    op.drop_table("hotspot")
    op.drop_table("flood_zone")
