"""Durable notification queue: an attempt row holds what to send and when, so a worker sends it (with retries
and back-off) whether or not the process that queued it is still alive.

- ``address``: the chat id, number or push subscription id the attempt goes to.
- ``body``: the message.
- ``next_at``: when it is due (queued, or retried after a back-off); ``claimed_at``: when a worker took it
  (status ``sending``); a claim older than the lease is taken again (at-least-once).

Revision ID: 0030_notification_queue
Revises: 0023_crews
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_notification_queue"
down_revision = "0023_crews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the queue's columns and the index the worker polls."""
    with op.batch_alter_table("notification_attempt") as batch:
        batch.add_column(sa.Column("address", sa.String(1000)))
        batch.add_column(sa.Column("body", sa.Text))
        batch.add_column(sa.Column("next_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True)))
    op.create_index("ix_notification_attempt_due", "notification_attempt", ["status", "next_at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_notification_attempt_due", table_name="notification_attempt")
    with op.batch_alter_table("notification_attempt") as batch:
        for name in ("claimed_at", "next_at", "body", "address"):
            batch.drop_column(name)
