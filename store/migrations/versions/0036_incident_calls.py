"""Every incident has its call: those created since the call desk by a path that wrote none get it now.

Until this revision only the map's form recorded an incident's call (a second request after the incident);
another client's POST /api/incidents, a ground check or a failed second request left the incident without
one. From now on the store writes the call in the incident's own transaction; this fills the gap for the
incidents stored meanwhile, as 0021 did for those before the desk (type darurat, at the incident's time, by
whoever recorded it, the caller's number normalised to E.164). The summary triggers of 0035 count them.

Revision ID: 0036_incident_calls
Revises: 0035_caller_summary
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.phones import normalise

revision = "0036_incident_calls"
down_revision = "0035_caller_summary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    missing = conn.execute(sa.text(
        "SELECT id, created_at, created_by, caller_phone FROM incident i "
        "WHERE NOT EXISTS (SELECT 1 FROM phone_call c WHERE c.incident_id = i.id) ORDER BY id")).all()
    if not missing:
        return
    insert = sa.text(
        "INSERT INTO phone_call (at, answered_at, caller_raw, caller_number, number_ok, operator, type, typed_by, "
        "incident_id, state, source, callback_attempts, created_by, updated_at) VALUES (:at, :at, :raw, :number, "
        ":ok, :by, 'darurat', :by, :id, 'selesai', 'migrasi', 0, :by, :at)")
    rows = []
    for incident_id, at, by, phone in missing:
        number = normalise(phone[:64] if phone else None)
        rows.append({"id": incident_id, "at": at, "by": by, "raw": number.raw, "number": number.number,
                     "ok": number.ok})
    conn.execute(insert, rows)


def downgrade() -> None:
    # The calls written here cannot be told from the migrated ones of 0021 (both 'migrasi'); kept.
    pass
