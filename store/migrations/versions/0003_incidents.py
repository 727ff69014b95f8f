"""Incidents, their state transitions and the per-day call number counter.

Revision ID: 0003_incidents
Revises: 0002_accounts
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_incidents"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
STATES = "'perlu_lokasi','baru','diverifikasi','dikirim','menuju_lokasi','tiba','selesai','ditutup','batal'"


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.String(2000)),
        sa.Column("caller_name", sa.String(120)),
        sa.Column("caller_phone", sa.String(32)),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=True),
        sa.Column("lon", sa.Float),
        sa.Column("lat", sa.Float),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("location_source", sa.String(16)),
        sa.Column("location", JSONType),
        sa.Column("desa_code", sa.String(20)),
        sa.Column("kecamatan_code", sa.String(16)),
        sa.Column("inside_regency", sa.Boolean),
        sa.Column("possible_duplicates", JSONType),
        sa.Column("created_by", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_into_id", sa.Integer, sa.ForeignKey("incident.id")),
        sa.CheckConstraint(f"status IN ({STATES})", name="ck_incident_status"),
        sa.CheckConstraint(
            "location_source IS NULL OR location_source IN ('coordinates','place','aml')",
            name="ck_incident_location_source",
        ),
    )
    op.create_index("ix_incident_status", "incident", ["status"])
    op.create_index("ix_incident_created_at", "incident", ["created_at"])
    op.create_index("ix_incident_category_created", "incident", ["category", "created_at"])
    op.create_index("ix_incident_desa_code", "incident", ["desa_code"])
    op.create_index("ix_incident_kecamatan_code", "incident", ["kecamatan_code"])
    op.create_index("ix_incident_merged_into_id", "incident", ["merged_into_id"])
    op.create_table(
        "incident_transition",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("note", sa.String(1000)),
    )
    op.create_index("ix_incident_transition_incident_id", "incident_transition", ["incident_id"])
    op.create_table(
        "incident_counter",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incident_counter")
    op.drop_table("incident_transition")
    op.drop_table("incident")
