"""Stream leases: open live streams counted in the database, so the per-account and total caps hold across
workers; a lease lapses unless its stream renews it, so a dead worker's streams give their slots back.

Revision ID: 0026_stream_lease
Revises: 0018_trust
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_stream_lease"
down_revision = "0018_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_lease",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_index("ix_stream_lease_username", "stream_lease", ["username"])
    op.create_index("ix_stream_lease_expires", "stream_lease", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_stream_lease_expires", "stream_lease")
    op.drop_index("ix_stream_lease_username", "stream_lease")
    op.drop_table("stream_lease")
