"""Indexes for the history search over a million calls: priority + disposition newest first.

Revision ID: 0024_search_indexes
Revises: 0020_call_card
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0024_search_indexes"
down_revision = "0020_call_card"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_incident_priority_disposition_created", "incident", ["priority", "disposition", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_priority_disposition_created", "incident")
