"""Units on calls: per-unit assignment steps, the unit status set, agency contacts; existing data back-filled.

- ``dispatch_assignment`` gains its steps (acknowledged, en route, on scene, each with time and by whom), its
  own status, the release reason and the incident it was diverted to, and a partial unique index: a unit has
  at most one open assignment.
- ``unit.status`` takes the whole status set (tersedia, dikirim, menuju_lokasi, tiba, kembali, tidak_tersedia,
  offline) instead of tersedia/bertugas/offline, and ``unit.status_at`` says since when.
- ``agency_contact``: an agency without units informed of a call (who, when, how, note).

Back-fill: a ``dispatch`` audit record naming a unit without an assignment row gets one; every assignment takes
its steps from the incident's transitions after it was made (menuju_lokasi, tiba) and its end from the
incident's end; a bertugas unit takes the status of its open assignment (tidak_tersedia when it has none).

Revision ID: 0019_assignments
Revises: 0005_dispatch, 0007_unit_state, 0008_incident_duplicate_key
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0019_assignments"
down_revision = ("0005_dispatch", "0007_unit_state", "0008_incident_duplicate_key")
branch_labels = None
depends_on = None

NEW_STATUSES = ("tersedia", "dikirim", "menuju_lokasi", "tiba", "kembali", "tidak_tersedia", "offline")
OLD_STATUSES = ("tersedia", "bertugas", "offline")
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
ENDED = {"selesai": ("selesai", "kejadian selesai / incident resolved"),
         "ditutup": ("selesai", "kejadian ditutup / incident closed"),
         "batal": ("dilepas", "kejadian batal / incident cancelled")}


def _check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ",".join(f"'{s}'" for s in statuses) + ")"


def _set_unit_check(bind: sa.Connection, old: tuple[str, ...], new: tuple[str, ...], remap: Any) -> None:
    """Replace the CHECK of unit.status, calling `remap(bind)` to move the stored values in between.

    PostgreSQL: drop, remap, add (the new CHECK is verified against every row). SQLite: the table's stored SQL
    (see below), then remap (its UPDATEs are checked by the new CHECK).
    """
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE unit DROP CONSTRAINT ck_unit_status")
        remap(bind)
        # The unit_state counter's trigger is deferred (0007): its pending events must run before an ALTER.
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
        op.execute(f"ALTER TABLE unit ADD CONSTRAINT ck_unit_status CHECK ({_check(new)})")
        return
    # SQLite cannot alter a CHECK; rebuilding the table would drop its SpatiaLite geometry registration and
    # triggers. A CHECK does not change how rows are stored, so the documented way is to edit the schema text
    # (https://sqlite.org/lang_altertable.html, "writable_schema") and bump the schema version.
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'unit'").scalar_one()
    target = _check(old)
    if target not in sql:
        raise RuntimeError(f"unit.status CHECK not found in {sql!r}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'unit'",
        (sql.replace(target, _check(new)),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    remap(bind)


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("dispatch_assignment") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="dikirim"))
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("acknowledged_by", sa.String(64)))
        batch.add_column(sa.Column("enroute_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("enroute_by", sa.String(64)))
        batch.add_column(sa.Column("arrived_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("arrived_by", sa.String(64)))
        batch.add_column(sa.Column("release_reason", sa.String(500)))
        batch.add_column(sa.Column("diverted_to_id", sa.Integer))
        batch.add_column(sa.Column("reported", JSONType))
    op.add_column("unit", sa.Column("status_at", sa.DateTime(timezone=True)))
    op.create_table(
        "agency_contact",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("contact", sa.String(200)),
        sa.Column("note", sa.String(1000)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64)),
    )
    op.create_index("ix_agency_contact_incident_id", "agency_contact", ["incident_id"])
    _backfill(bind)
    _set_unit_check(bind, OLD_STATUSES, NEW_STATUSES, _units)
    op.create_index(
        "uq_dispatch_assignment_open_unit", "dispatch_assignment", ["unit_id"], unique=True,
        sqlite_where=sa.text("released_at IS NULL"), postgresql_where=sa.text("released_at IS NULL"),
    )


def _backfill(bind: sa.Connection) -> None:
    """Assignment rows from dispatch audit records, then every row's steps from its incident's transitions."""
    have = {(i, u) for i, u in bind.execute(sa.text("SELECT incident_id, unit_id FROM dispatch_assignment"))}
    units = {u for (u,) in bind.execute(sa.text("SELECT id FROM unit"))}
    incidents = {i for (i,) in bind.execute(sa.text("SELECT id FROM incident"))}
    audits = bind.execute(sa.text(
        "SELECT entity_id, at, actor, after FROM audit_log WHERE action = 'dispatch' AND entity = 'incident' "
        "ORDER BY id"
    )).all()
    for entity_id, at, actor, after in audits:
        doc = after if isinstance(after, dict) else json.loads(after or "null") or {}
        try:
            incident_id = int(entity_id)
        except (TypeError, ValueError):
            continue
        for unit in doc.get("units") or []:
            unit_id = unit.get("id") if isinstance(unit, dict) else None
            if incident_id in incidents and unit_id in units and (incident_id, unit_id) not in have:
                bind.execute(
                    sa.text("INSERT INTO dispatch_assignment (incident_id, unit_id, at, actor) "
                            "VALUES (:i, :u, :at, :a)"),
                    {"i": incident_id, "u": unit_id, "at": at, "a": actor},
                )
                have.add((incident_id, unit_id))
    steps: dict[int, list[tuple[str, datetime | None, str | None]]] = {}
    for incident_id, status, at, actor in bind.execute(sa.text(
        "SELECT incident_id, status, at, actor FROM incident_transition ORDER BY id"
    )):
        steps.setdefault(incident_id, []).append((status, _ts(at), actor))
    rows = bind.execute(sa.text(
        "SELECT a.id, a.incident_id, a.at, a.released_at, i.status FROM dispatch_assignment a "
        "JOIN incident i ON i.id = a.incident_id ORDER BY a.id"
    )).all()
    for row_id, incident_id, at, released_at, incident_status in rows:
        made = _ts(at)
        first: dict[str, tuple[datetime, str | None]] = {}
        for status, when, actor in steps.get(incident_id, []):
            if status not in first and when is not None and made is not None and when >= made:
                first[status] = (when, actor)
        enroute, arrived = first.get("menuju_lokasi"), first.get("tiba")
        status = "tiba" if arrived else "menuju_lokasi" if enroute else "dikirim"
        reason = None
        if released_at is not None:
            status, reason = ENDED.get(incident_status, ("dilepas", "dilepas / released"))
        bind.execute(
            sa.text(
                "UPDATE dispatch_assignment SET status = :s, enroute_at = :ea, enroute_by = :eb, arrived_at = :aa, "
                "arrived_by = :ab, release_reason = :r WHERE id = :id"
            ),
            {"s": status, "ea": enroute and enroute[0], "eb": enroute and enroute[1], "aa": arrived and arrived[0],
             "ab": arrived and arrived[1], "r": reason, "id": row_id},
        )
    # Two open rows for one unit cannot stand under the new index: all but the latest are closed.
    open_rows = bind.execute(sa.text(
        "SELECT id, unit_id, at FROM dispatch_assignment WHERE released_at IS NULL ORDER BY unit_id, at DESC, id DESC"
    )).all()
    seen: set[int] = set()
    for row_id, unit_id, at in open_rows:
        if unit_id in seen:
            bind.execute(
                sa.text("UPDATE dispatch_assignment SET released_at = :at, status = 'dilepas', "
                        "release_reason = 'migrasi: tugas lebih baru / migration: newer assignment' WHERE id = :id"),
                {"at": at, "id": row_id},
            )
        seen.add(unit_id)


def _units(bind: sa.Connection) -> None:
    """Each bertugas unit takes its open assignment's status; every unit gets a status time."""
    open_status: dict[int, str] = dict(bind.execute(sa.text(
        "SELECT unit_id, status FROM dispatch_assignment WHERE released_at IS NULL"
    )).all())
    for unit_id, status in bind.execute(sa.text("SELECT id, status FROM unit")).all():
        if status == "bertugas":
            new = open_status.get(unit_id, "tidak_tersedia")
            new = "dikirim" if new == "diterima" else new
            bind.execute(sa.text("UPDATE unit SET status = :s WHERE id = :id"), {"s": new, "id": unit_id})
        elif unit_id in open_status and status != "offline":
            # A tersedia unit still holding an open assignment: the row is closed, the unit stays free.
            bind.execute(
                sa.text("UPDATE dispatch_assignment SET released_at = at, status = 'dilepas', "
                        "release_reason = 'migrasi: unit sudah tersedia / migration: unit was free' "
                        "WHERE unit_id = :u AND released_at IS NULL"),
                {"u": unit_id},
            )
    bind.execute(sa.text("UPDATE unit SET status_at = position_at WHERE status_at IS NULL"))


def _old_units(bind: sa.Connection) -> None:
    bind.execute(sa.text(
        "UPDATE unit SET status = CASE WHEN status IN ('dikirim','menuju_lokasi','tiba') THEN 'bertugas' "
        "WHEN status = 'kembali' THEN 'tersedia' WHEN status = 'tidak_tersedia' THEN 'offline' ELSE status END"
    ))


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("uq_dispatch_assignment_open_unit", "dispatch_assignment")
    _set_unit_check(bind, NEW_STATUSES, OLD_STATUSES, _old_units)
    op.drop_index("ix_agency_contact_incident_id", "agency_contact")
    op.drop_table("agency_contact")
    op.drop_column("unit", "status_at")
    with op.batch_alter_table("dispatch_assignment") as batch:
        for name in ("reported", "diverted_to_id", "release_reason", "arrived_by", "arrived_at", "enroute_by",
                     "enroute_at", "acknowledged_by", "acknowledged_at", "status"):
            batch.drop_column(name)
