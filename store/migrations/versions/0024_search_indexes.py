"""Indexes for the history search over a million calls: priority + disposition newest first, and a trigram index
on the call number so a part of it (the last digits) is found without reading every call.

PostgreSQL: a pg_trgm GIN index on lower(number) (LIKE '%part%' uses it). SQLite: an FTS5 table with the
trigram tokenizer over incident.number (external content, kept by triggers); the store asks it for candidate
ids and still checks the exact LIKE on the rows it returns. Neither is a model object: ``store.schema``
leaves them out of the model comparison (SEARCH_INDEXES).

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

SQLITE_TRIGGERS = {
    "incident_number_fts_ai": "AFTER INSERT ON incident BEGIN "
    "INSERT INTO incident_number_fts (rowid, number) VALUES (new.id, new.number); END",
    "incident_number_fts_ad": "AFTER DELETE ON incident BEGIN "
    "INSERT INTO incident_number_fts (incident_number_fts, rowid, number) VALUES ('delete', old.id, old.number); END",
    "incident_number_fts_au": "AFTER UPDATE OF number ON incident BEGIN "
    "INSERT INTO incident_number_fts (incident_number_fts, rowid, number) VALUES ('delete', old.id, old.number); "
    "INSERT INTO incident_number_fts (rowid, number) VALUES (new.id, new.number); END",
}


def upgrade() -> None:
    op.create_index("ix_incident_priority_disposition_created", "incident", ["priority", "disposition", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_incident_number_trgm ON incident USING gin (lower(number) gin_trgm_ops)")
        return
    op.execute("CREATE VIRTUAL TABLE incident_number_fts USING fts5(number, content='incident', content_rowid='id', "
               "tokenize='trigram')")
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO incident_number_fts (incident_number_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_incident_number_trgm")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE incident_number_fts")
    op.drop_index("ix_incident_priority_disposition_created", "incident")
