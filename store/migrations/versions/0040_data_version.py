"""A data version per cached dataset: `data_version.token` changes with every write to the table it watches.

The planner page's hotspot views are answered from a per-process cache keyed by this token (store.data_version).
Triggers on `hotspot` set a new random token on every insert, update and delete, whoever writes (the ingest,
the static-source marks, a backup restore, a hand-made SQL fix), so the cache is never stale. PostgreSQL: one
statement-level trigger (also on TRUNCATE); SQLite has only row triggers, a single-row replace per row.

Revision ID: 0040_data_version
Revises: 0022_ground_checks
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040_data_version"
down_revision = "0022_ground_checks"
branch_labels = None
depends_on = None

PG_FUNCTION = (
    "CREATE FUNCTION sigap_hotspot_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO data_version (name, token) VALUES ('hotspot', floor(random() * 9.0e18)::bigint) "
    "ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token; RETURN NULL; END $$"
)
SQLITE_BUMP = "INSERT OR REPLACE INTO data_version (name, token) VALUES ('hotspot', random())"
SQLITE_TRIGGERS = ("insert", "update", "delete")


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("token", sa.BigInteger, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER hotspot_version AFTER INSERT OR UPDATE OR DELETE ON hotspot "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sigap_hotspot_version()")
        op.execute("CREATE TRIGGER hotspot_version_truncate AFTER TRUNCATE ON hotspot "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sigap_hotspot_version()")
        op.execute("INSERT INTO data_version (name, token) VALUES ('hotspot', floor(random() * 9.0e18)::bigint)")
        return
    for kind in SQLITE_TRIGGERS:
        op.execute(f"CREATE TRIGGER hotspot_version_{kind} AFTER {kind.upper()} ON hotspot BEGIN {SQLITE_BUMP}; END")
    op.execute(SQLITE_BUMP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER hotspot_version ON hotspot")
        op.execute("DROP TRIGGER hotspot_version_truncate ON hotspot")
        op.execute("DROP FUNCTION sigap_hotspot_version()")
    else:
        for kind in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER hotspot_version_{kind}")
    op.drop_table("data_version")
