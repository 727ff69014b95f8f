"""The call card: priority (P1-P3), disposition, who has taken the call and the caller's phone as digits (for
a prefix search on an index) on every incident; the call log.

Existing incidents get P2 (the middle priority) and no disposition: their category's proposal is a catalog
matter the operator may apply, not something a migration should guess from a file it may not see.

Revision ID: 0020_call_card
Revises: 0008_incident_duplicate_key
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_call_card"
down_revision = "0008_incident_duplicate_key"
branch_labels = None
depends_on = None


def _digits(value: str) -> str:
    """The phone's digits in national form (store.incidents.phone_digits, kept here as it was when written)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("62") and (value.strip().startswith("+") or len(digits) > 11):
        digits = "0" + digits[2:]
    return digits


def upgrade() -> None:
    # Plain ADD COLUMN (a batch copy would rebuild the SpatiaLite table and its spatial index).
    op.add_column("incident", sa.Column("priority", sa.String(2), nullable=False, server_default="P2"))
    op.add_column("incident", sa.Column("disposition", sa.String(40)))
    op.add_column("incident", sa.Column("claimed_by", sa.String(64)))
    op.add_column("incident", sa.Column("claimed_at", sa.DateTime(timezone=True)))
    op.add_column("incident", sa.Column("phone_digits", sa.String(32)))
    op.create_index("ix_incident_phone_digits", "incident", ["phone_digits"])
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, caller_phone FROM incident WHERE caller_phone IS NOT NULL")).all()
    if rows:
        bind.execute(sa.text("UPDATE incident SET phone_digits = :d WHERE id = :id"),
                     [{"d": _digits(phone), "id": i} for i, phone in rows])
    op.create_index("ix_incident_priority", "incident", ["priority"])
    op.create_index("ix_incident_disposition", "incident", ["disposition"])
    op.create_table(
        "incident_note",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("text", sa.String(2000), nullable=False),
    )
    op.create_index("ix_incident_note_incident_id", "incident_note", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_note_incident_id", "incident_note")
    op.drop_table("incident_note")
    op.drop_index("ix_incident_phone_digits", "incident")
    op.drop_column("incident", "phone_digits")
    op.drop_index("ix_incident_disposition", "incident")
    op.drop_index("ix_incident_priority", "incident")
    for name in ("claimed_at", "claimed_by", "disposition", "priority"):
        op.drop_column("incident", name)
