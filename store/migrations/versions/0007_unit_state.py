"""Unit change counter: one row bumped by database triggers on every insert, update or delete of a unit.

API workers cache the unit rows (and their snapped network nodes) and probe this row on every recommendation;
triggers catch every writer (ORM, bulk SQL, CLI, another worker) in the writer's own transaction, so the new
counter becomes visible exactly when the changed units do. On PostgreSQL the trigger is a deferred constraint
trigger: the counter row is locked only at commit, after every unit row lock of the transaction, so two writers
can never deadlock on it.

Revision ID: 0007_unit_state
Revises: 0004_network_units
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_unit_state"
down_revision = "0004_network_units"
branch_labels = None
depends_on = None

# SQLite bumps inside the writing transaction, so a rolled-back bump can be repeated by the next writer: the
# random suffix keeps every (version, changed_at) pair unique anyway.
_SQLITE_STAMP = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '-' || hex(randomblob(6))"
_SQLITE_BUMP = (
    f"INSERT INTO unit_state (id, version, changed_at) VALUES (1, 1, {_SQLITE_STAMP}) "
    "ON CONFLICT (id) DO UPDATE SET version = unit_state.version + 1, changed_at = excluded.changed_at;"
)
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION unit_state_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unit_state (id, version, changed_at) VALUES (1, 1, clock_timestamp()::text)
    ON CONFLICT (id) DO UPDATE SET version = unit_state.version + 1, changed_at = excluded.changed_at;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "unit_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.String(40), nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("INSERT INTO unit_state (id, version, changed_at) VALUES (1, 1, clock_timestamp()::text)")
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE CONSTRAINT TRIGGER unit_state_bump AFTER INSERT OR UPDATE OR DELETE ON unit "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION unit_state_bump()"
        )
        op.execute(
            "CREATE TRIGGER unit_state_bump_truncate AFTER TRUNCATE ON unit "
            "FOR EACH STATEMENT EXECUTE FUNCTION unit_state_bump()"
        )
    else:
        op.execute(f"INSERT INTO unit_state (id, version, changed_at) VALUES (1, 1, {_SQLITE_STAMP})")
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER unit_state_bump_{event.lower()} AFTER {event} ON unit BEGIN {_SQLITE_BUMP} END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS unit_state_bump_truncate ON unit")
        op.execute("DROP TRIGGER IF EXISTS unit_state_bump ON unit")
        op.execute("DROP FUNCTION IF EXISTS unit_state_bump()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS unit_state_bump_{event}")
    op.drop_table("unit_state")
