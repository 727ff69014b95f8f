"""Administrative boundaries and rivers.

Revision ID: 0001_layers
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001_layers"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kabupaten",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kode", sa.String(16), nullable=False, unique=True),
        sa.Column("nama", sa.String(120), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
    )
    op.create_table(
        "kecamatan",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kode", sa.String(16), nullable=False, unique=True),
        sa.Column("nama", sa.String(120), nullable=False),
        sa.Column("kabupaten_kode", sa.String(16), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
    )
    op.create_table(
        "desa",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kode", sa.String(20), nullable=False, unique=True),
        sa.Column("nama", sa.String(120), nullable=False),
        sa.Column("jenis", sa.String(16), nullable=False),
        sa.Column("kecamatan_kode", sa.String(16), nullable=False),
        sa.Column("kecamatan", sa.String(120), nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lng", sa.Float),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
    )
    op.create_index("ix_desa_kecamatan_kode", "desa", ["kecamatan_kode"])
    op.create_table(
        "river",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120)),
        sa.Column("waterway", sa.String(32), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("geom", Geometry("LINESTRING", srid=4326, spatial_index=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("river", "desa", "kecamatan", "kabupaten"):
        op.drop_table(table)
