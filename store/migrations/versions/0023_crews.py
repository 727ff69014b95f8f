"""Crews in the loop: pairing codes, paired crew devices (one unit each), their taps and GPS positions.

- ``crew_pairing``: a short code (stored hashed) an admin or dispatcher shows for a unit; 10 minutes, single use.
- ``crew_device``: a phone paired to a unit; its long-lived token is stored hashed; revoked devices keep their row.
- ``crew_tap``: each status tap of a device with its idempotency key, device time and server time.
- ``crew_position``: each position a device sent and stored (source ``crew-gps``), keyed for replays.
- ``unit_channel``: where a unit is notified (Telegram chat, WhatsApp number, SMS number), set by an admin.
- ``notification_attempt``: each attempt to tell a unit of a dispatch, with its status.
- ``vapid_key`` (the platform's Web Push key pair, made by ``sigap crew vapid``) and ``push_subscription``.

Revision ID: 0023_crews
Revises: 0019_assignments
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_crews"
down_revision = "0019_assignments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crew_pairing",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("device_id", sa.Integer),
    )
    op.create_index("ix_crew_pairing_unit_id", "crew_pairing", ["unit_id"])
    op.create_table(
        "crew_device",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(120), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paired_by", sa.String(64)),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_by", sa.String(64)),
    )
    op.create_index("ix_crew_device_unit_id", "crew_device", ["unit_id"])
    op.create_table(
        "crew_tap",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("crew_device.id", ondelete="CASCADE"), nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("incident_id", sa.Integer),
        sa.Column("device_at", sa.DateTime(timezone=True)),
        sa.Column("server_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("device_id", "key", name="uq_crew_tap_device_key"),
    )
    op.create_index("ix_crew_tap_unit_id", "crew_tap", ["unit_id"])
    op.create_table(
        "crew_position",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("crew_device.id", ondelete="CASCADE"), nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("device_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("server_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False, server_default="crew-gps"),
        sa.UniqueConstraint("device_id", "key", name="uq_crew_position_device_key"),
    )
    op.create_index("ix_crew_position_unit_id", "crew_position", ["unit_id"])
    op.create_table(
        "unit_channel",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.UniqueConstraint("unit_id", "channel", name="uq_unit_channel"),
    )
    op.create_index("ix_unit_channel_unit_id", "unit_channel", ["unit_id"])
    op.create_index("ix_unit_channel_address", "unit_channel", ["address"])
    op.create_table(
        "notification_attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("assignment_id", sa.Integer, nullable=False),
        sa.Column("incident_id", sa.Integer, nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(300)),
        sa.Column("external_id", sa.String(120)),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_notification_attempt_assignment_id", "notification_attempt", ["assignment_id"])
    op.create_index("ix_notification_attempt_unit_id", "notification_attempt", ["unit_id"])
    op.create_table(
        "vapid_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("private_pem", sa.String(400), nullable=False),
        sa.Column("public_key", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(1000), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_push_subscription_device_id", "push_subscription", ["device_id"])
    op.create_index("ix_push_subscription_unit_id", "push_subscription", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_push_subscription_unit_id", "push_subscription")
    op.drop_index("ix_push_subscription_device_id", "push_subscription")
    op.drop_table("push_subscription")
    op.drop_table("vapid_key")
    for index, table in (("ix_notification_attempt_unit_id", "notification_attempt"),
                         ("ix_notification_attempt_assignment_id", "notification_attempt"),
                         ("ix_unit_channel_address", "unit_channel"), ("ix_unit_channel_unit_id", "unit_channel")):
        op.drop_index(index, table)
    op.drop_table("notification_attempt")
    op.drop_table("unit_channel")
    for table in ("crew_position", "crew_tap", "crew_device", "crew_pairing"):
        op.drop_index(f"ix_{table}_unit_id", table)
        op.drop_table(table)
