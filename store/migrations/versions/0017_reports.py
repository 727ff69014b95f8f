"""Situation reports: the report (period, language, status) and its files (PDF, offline HTML map) as blobs.

Revision ID: 0017_reports
Revises: 0002_accounts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0017_reports"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "report",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text),
        sa.Column("schedule_key", sa.String(64), unique=True),
        sa.Column("figures", JSONType),
        sa.CheckConstraint("kind IN ('daily','weekly','range')", name="ck_report_kind"),
        sa.CheckConstraint("status IN ('pending','running','ready','failed')", name="ck_report_status"),
        sa.CheckConstraint("lang IN ('id','en')", name="ck_report_lang"),
    )
    op.create_index("ix_report_status", "report", ["status"])
    op.create_index("ix_report_created_at", "report", ["created_at"])
    op.create_table(
        "report_file",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("report.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("report_id", "kind", name="uq_report_file_kind"),
        sa.CheckConstraint("kind IN ('pdf','html')", name="ck_report_file_kind"),
    )
    op.create_index("ix_report_file_report_id", "report_file", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_report_file_report_id", table_name="report_file")
    op.drop_table("report_file")
    op.drop_index("ix_report_created_at", table_name="report")
    op.drop_index("ix_report_status", table_name="report")
    op.drop_table("report")
