"""The call desk: every call (typed, timed, linked to its incident), flagged numbers, PBX events, extensions.

Each incident stored before this migration gets its call (type darurat, taken when the incident was
recorded, by whoever recorded it, from its caller's number normalised to E.164): nothing stored is lost and
the call statistics include the past.

Revision ID: 0021_call_desk
Revises: 0003_incidents, 0010_supervisor_role
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from geo.phones import normalise

revision = "0021_call_desk"
down_revision = ("0003_incidents", "0010_supervisor_role")
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
TYPES = "'darurat','informasi','iseng','ghost','salah_sambung','panggilan_ulang','uji','tak_terjawab'"


def upgrade() -> None:
    op.create_table(
        "phone_call",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("answered_at", TIME),
        sa.Column("ended_at", TIME),
        sa.Column("caller_raw", sa.String(64)),
        sa.Column("caller_number", sa.String(64)),
        sa.Column("number_ok", sa.Boolean, nullable=False),
        sa.Column("line", sa.String(32)),
        sa.Column("operator", sa.String(64)),
        sa.Column("extension", sa.String(16)),
        sa.Column("duration_s", sa.Integer),
        sa.Column("type", sa.String(16)),
        sa.Column("typed_by", sa.String(64)),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id")),
        sa.Column("related_call_id", sa.Integer, sa.ForeignKey("phone_call.id")),
        sa.Column("note", sa.String(500)),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("pbx_call_id", sa.String(128), unique=True),
        sa.Column("callback_status", sa.String(12)),
        sa.Column("callback_attempts", sa.Integer, nullable=False),
        sa.Column("callback_by", sa.String(64)),
        sa.Column("callback_at", TIME),
        sa.Column("callback_outcome", sa.String(20)),
        sa.Column("callback_note", sa.String(500)),
        sa.Column("lon", sa.Float),
        sa.Column("lat", sa.Float),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("location_source", sa.String(16)),
        sa.Column("location_at", TIME),
        sa.Column("created_by", sa.String(64)),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(f"type IS NULL OR type IN ({TYPES})", name="ck_phone_call_type"),
        sa.CheckConstraint("state IN ('berdering','dijawab','selesai')", name="ck_phone_call_state"),
        sa.CheckConstraint("source IN ('desk','pbx','migrasi')", name="ck_phone_call_source"),
        sa.CheckConstraint("callback_status IS NULL OR callback_status IN ('perlu','selesai')",
                           name="ck_phone_call_callback"),
    )
    op.create_index("ix_phone_call_at", "phone_call", ["at"])
    op.create_index("ix_phone_call_operator", "phone_call", ["operator"])
    op.create_index("ix_phone_call_incident_id", "phone_call", ["incident_id"])
    op.create_index("ix_phone_call_callback_status", "phone_call", ["callback_status"])
    op.create_index("ix_phone_call_caller_at", "phone_call", ["caller_number", "at"])
    op.create_table(
        "caller_flag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("expires_at", TIME),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME),
        sa.Column("revoked_by", sa.String(64)),
    )
    op.create_index("ix_caller_flag_number", "caller_flag", ["number"])
    op.create_table(
        "telephony_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),
        sa.Column("pbx_call_id", sa.String(128)),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("caller_raw", sa.String(64)),
        sa.Column("caller_number", sa.String(64)),
        sa.Column("line", sa.String(32)),
        sa.Column("extension", sa.String(16)),
        sa.Column("orphan", sa.Boolean, nullable=False),
        sa.Column("call_id", sa.Integer, sa.ForeignKey("phone_call.id")),
        sa.Column("payload", JSONType),
        sa.Column("received_at", TIME, nullable=False),
        sa.CheckConstraint("kind IN ('ringing','answered','transfer','hangup','aml')", name="ck_telephony_event_kind"),
    )
    op.create_index("ix_telephony_event_pbx_call_id", "telephony_event", ["pbx_call_id"])
    op.create_index("ix_telephony_event_call_id", "telephony_event", ["call_id"])
    op.create_index("ix_telephony_event_caller_at", "telephony_event", ["caller_number", "at"])
    op.create_table(
        "phone_extension",
        sa.Column("extension", sa.String(16), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    _backfill()


def _backfill() -> None:
    """One darurat call per existing incident, then each distinct caller phone normalised once."""
    op.execute(
        "INSERT INTO phone_call (at, answered_at, caller_raw, number_ok, operator, type, typed_by, incident_id, "
        "state, source, callback_attempts, created_by, updated_at) "
        "SELECT created_at, created_at, substr(caller_phone, 1, 64), false, created_by, 'darurat', created_by, id, "
        "'selesai', 'migrasi', 0, created_by, created_at FROM incident ORDER BY id"
    )
    conn = op.get_bind()
    raws = [r[0] for r in conn.execute(sa.text(
        "SELECT DISTINCT caller_raw FROM phone_call WHERE source = 'migrasi' AND caller_raw IS NOT NULL"))]
    fix = sa.text("UPDATE phone_call SET caller_raw = :clean, caller_number = :number, number_ok = :ok "
                  "WHERE source = 'migrasi' AND caller_raw = :raw")
    for raw in raws:
        phone = normalise(raw)
        conn.execute(fix, {"clean": phone.raw, "number": phone.number, "ok": phone.ok, "raw": raw})


def downgrade() -> None:
    op.drop_table("phone_extension")
    op.drop_table("telephony_event")
    op.drop_table("caller_flag")
    op.drop_table("phone_call")
