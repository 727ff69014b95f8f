"""Incidents carry a duplicate-search key: category, H3 cell (resolution 8) of the point, UTC hour.

The duplicate search used to read every incident of the category from the last half hour and filter by a
lon/lat box: fine on a quiet day, a scan of thousands of rows during a flood surge. With the key it looks
up a few exact values (the point's cell and two rings around it, in the hours the window touches) on one
index. Only equality on one indexed column: no query plan to get wrong when a surge makes the planner's
statistics stale (every new row recent and open, the statistics saying none is). Existing incidents get
their key here.

Revision ID: 0008_incident_duplicate_key
Revises: 0003_incidents
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from alembic import op

from geo.hexagons import cells_from_lonlat, cells_to_str

revision = "0008_incident_duplicate_key"
down_revision = "0003_incidents"
branch_labels = None
depends_on = None

RES = 8


def _utc_hour(at: datetime | str) -> str:
    # SQLite hands back naive UTC text, PostgreSQL aware datetimes in the session's time zone.
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return (at.astimezone(UTC) if at.tzinfo is not None else at).strftime("%Y%m%d%H")


def upgrade() -> None:
    op.add_column("incident", sa.Column("duplicate_key", sa.String(80)))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, category, lon, lat, created_at FROM incident WHERE lon IS NOT NULL AND lat IS NOT NULL")
    ).all()
    if rows:
        ids, categories, lons, lats, times = zip(*rows, strict=True)
        cells = cells_to_str(cells_from_lonlat(lon=np.asarray(lons, float), lat=np.asarray(lats, float), res=RES))
        hours = [_utc_hour(t) for t in times]
        bind.execute(
            sa.text("UPDATE incident SET duplicate_key = :key WHERE id = :id"),
            [{"key": f"{c}/{cell}/{h}", "id": i} for i, c, cell, h in zip(ids, categories, cells, hours, strict=True)],
        )
    op.create_index("ix_incident_duplicate_key", "incident", ["duplicate_key"])


def downgrade() -> None:
    op.drop_index("ix_incident_duplicate_key", "incident")
    op.drop_column("incident", "duplicate_key")
