"""Dispatch assignments: which unit was sent to which incident, by whom, and when it was released.

Revision ID: 0005_dispatch
Revises: 0004_network_units
Depends on: 0003_incidents
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_dispatch"
down_revision = "0004_network_units"
branch_labels = None
depends_on = "0003_incidents"


def upgrade() -> None:
    op.create_table(
        "dispatch_assignment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("unit.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("eta_s", sa.Float),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("released_by", sa.String(64)),
    )
    op.create_index("ix_dispatch_assignment_incident_id", "dispatch_assignment", ["incident_id"])
    op.create_index("ix_dispatch_assignment_unit_id", "dispatch_assignment", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_dispatch_assignment_unit_id", "dispatch_assignment")
    op.drop_index("ix_dispatch_assignment_incident_id", "dispatch_assignment")
    op.drop_table("dispatch_assignment")
