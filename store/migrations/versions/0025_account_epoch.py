"""Account change epoch: any change to an account renews one value (SQLite) or announces it (PostgreSQL).

The API keeps a per-process memory of accounts (token version, role, active) instead of reading one on every
request. It must forget it the moment any writer changes an account: a logout in another worker, ``sigap user
disable`` from a shell, a hand-written UPDATE. Triggers see every writer. SQLite: a row value the API reads
per request (a few microseconds on a raw connection). PostgreSQL: the same value plus a NOTIFY on
``sigap_accounts``, which every worker's event listener hears at commit.

Revision ID: 0025_account_epoch
Revises: 0018_trust, 0010_supervisor_role
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_account_epoch"
# After every migration that rebuilds app_user (SQLite batch mode drops its triggers).
down_revision = ("0018_trust", "0010_supervisor_role")
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    # A new random value, not n + 1: a counter row deleted and re-created (a test emptying tables, a restore)
    # would count up through values a process already saw.
    f"app_user_epoch_{verb.lower()}": f"AFTER {verb} ON app_user BEGIN "
    "INSERT OR REPLACE INTO account_epoch (id, n) VALUES (1, abs(random())); END"
    for verb in ("INSERT", "UPDATE", "DELETE")
}


def upgrade() -> None:
    op.create_table(
        "account_epoch",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO account_epoch (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION app_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO account_epoch (id, n) VALUES (1, (random() * 9e18)::bigint)
                    ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n;
                PERFORM pg_notify('sigap_accounts', '');
                RETURN NULL;
            END $$;
        """)
        op.execute("""
            CREATE TRIGGER app_user_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON app_user
            FOR EACH STATEMENT EXECUTE FUNCTION app_user_changed();
        """)
        return
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS app_user_changed ON app_user")
        op.execute("DROP FUNCTION IF EXISTS app_user_changed()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("account_epoch")
