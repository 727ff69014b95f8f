"""Hotspots read honestly and turned into ground checks: date-only flag and static-source mark on `hotspot`,
the static heat sources layer, ground checks (one per `cek_lapangan` incident) and area alerts.

Revision ID: 0022_ground_checks
Revises: 0006_floods_hotspots, 0003_incidents
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0022_ground_checks"
down_revision = ("0006_floods_hotspots", "0003_incidents")
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "heat_source",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
        sa.CheckConstraint("kind IN ('industri','flare','atap_seng','lainnya')", name="ck_heat_source_kind"),
        sa.CheckConstraint("origin IN ('manual','cek_lapangan','impor')", name="ck_heat_source_origin"),
    )
    # Plain ADD COLUMN on both backends (a batch copy would lose SpatiaLite's geometry registration).
    op.add_column("hotspot", sa.Column("date_only", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("hotspot", sa.Column("static_source_id", sa.Integer, nullable=True))
    op.create_index("ix_hotspot_static_source_id", "hotspot", ["static_source_id"])
    op.create_table(
        "ground_check",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False, unique=True),
        sa.Column("hotspot_id", sa.Integer),
        sa.Column("cluster_cell", sa.String(16)),
        sa.Column("hotspot_ids", JSONType),
        sa.Column("satellite", sa.String(32)),
        sa.Column("confidence", sa.String(8)),
        sa.Column("detected_at", sa.DateTime(timezone=True)),
        sa.Column("desa_code", sa.String(20)),
        sa.Column("kecamatan_code", sa.String(16)),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(20)),
        sa.Column("cause", sa.String(20)),
        sa.Column("area_ha", sa.Float),
        sa.Column("note", sa.Text),
        sa.Column("result_by", sa.String(64)),
        sa.Column("result_at", sa.DateTime(timezone=True)),
        sa.Column("heat_source_id", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
        sa.CheckConstraint("result IS NULL OR result IN ('api_aktif','sudah_padam','bukan_api','tidak_terjangkau')",
                           name="ck_ground_check_result"),
        sa.CheckConstraint("cause IS NULL OR cause IN ('pantulan_atap','industri','lainnya')",
                           name="ck_ground_check_cause"),
    )
    op.create_index("ix_ground_check_hotspot_id", "ground_check", ["hotspot_id"])
    op.create_table(
        "hotspot_alert",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("cluster_cell", sa.String(16), nullable=False),
        sa.Column("kecamatan_code", sa.String(16)),
        sa.Column("desa_code", sa.String(20)),
        sa.Column("hotspot_id", sa.Integer, nullable=False),
        sa.Column("confidence", sa.String(8)),
        sa.Column("satellite", sa.String(32)),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("near_desa_m", sa.Float),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.UniqueConstraint("day", "cluster_cell", name="uq_hotspot_alert_day_cell"),
    )


def downgrade() -> None:
    op.drop_table("hotspot_alert")
    op.drop_table("ground_check")
    op.drop_index("ix_hotspot_static_source_id", table_name="hotspot")
    op.drop_column("hotspot", "static_source_id")
    op.drop_column("hotspot", "date_only")
    op.drop_table("heat_source")
