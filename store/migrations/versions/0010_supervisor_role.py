"""Accounts may have the supervisor role (shift lead: watches the queue, flags numbers, reads call statistics).

Revision ID: 0010_supervisor_role
Revises: 0002_accounts
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010_supervisor_role"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None

BEFORE = "role IN ('dispatcher','planner','leader','admin')"
AFTER = "role IN ('dispatcher','supervisor','planner','leader','admin')"


def _check(sql: str) -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_constraint("ck_app_user_role", type_="check")
        batch.create_check_constraint("ck_app_user_role", sql)


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    op.execute("UPDATE app_user SET role = 'dispatcher' WHERE role = 'supervisor'")
    _check(BEFORE)
