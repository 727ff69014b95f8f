"""Travel network lines and its version row, stations and units.

Revision ID: 0004_network_units
Revises: 0002_accounts
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0004_network_units"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_line",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("oneway", sa.Boolean, nullable=False),
        sa.Column("speed_kmh", sa.Float),
        sa.Column("length_factor", sa.Float, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("geom", Geometry("LINESTRING", srid=4326, spatial_index=True), nullable=False),
        sa.CheckConstraint("source IN ('derived','osm','file')", name="ck_network_line_source"),
    )
    op.create_table(
        "network_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("description", sa.String(300)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64)),
    )
    op.create_table(
        "station",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("desa_code", sa.String(20)),
        sa.Column("demo", sa.Boolean, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
    )
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("callsign", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("station_id", sa.Integer, sa.ForeignKey("station.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("travel_mode", sa.String(24), nullable=False),
        sa.Column("position_at", sa.DateTime(timezone=True)),
        sa.Column("demo", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=True),
        sa.CheckConstraint("type IN ('damkar','ambulans','bpbd','perahu','polisi')", name="ck_unit_type"),
        sa.CheckConstraint("status IN ('tersedia','bertugas','offline')", name="ck_unit_status"),
        sa.CheckConstraint(
            "travel_mode IN ('road','river','river:speedboat','river:klotok')", name="ck_unit_travel_mode"
        ),
    )
    op.create_index("ix_unit_status", "unit", ["status"])
    op.create_index("ix_unit_type", "unit", ["type"])


def downgrade() -> None:
    op.drop_index("ix_unit_type", "unit")
    op.drop_index("ix_unit_status", "unit")
    for table in ("unit", "station", "network_state", "network_line"):
        op.drop_table(table)
