"""Caller history in constant time: one summary row per number, kept by triggers in the call's transaction.

A number's history was counted from its calls on every look-up: a prank caller with thousands of calls cost
milliseconds each time the intake panel showed it. ``caller_summary`` holds, per normalised number, the count
of its calls by type (``n_belum``: answered, not typed yet), its first and last call, and its last located
call (an AML fix). Triggers on ``phone_call`` keep it in the writing transaction, whatever path writes the
call (the desk, the PBX, the incident form, a migration, a bulk load): an upsert that adds, so concurrent
writers of the same number never lose a count (PostgreSQL: ON CONFLICT on its primary key; SQLite has one
writer at a time). PostgreSQL aggregates each INSERT statement's rows once (a transition table: a batch of
the group-commit writer is one upsert per number); SQLite, which has row triggers only, upserts per row.

A partial index on (caller_number, incident_id) for the linked calls makes "the incidents of this number" a
bounded range scan, and (caller_number, at, id) replaces (caller_number, at) so that its newest calls, in the
order shown, are read off the index without sorting. Existing calls are summarised here.

Revision ID: 0035_caller_summary
Revises: 0021_call_desk
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035_caller_summary"
down_revision = "0021_call_desk"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
# The call types of 0021 (frozen here: a migration does not follow later code).
TYPES = ("darurat", "informasi", "iseng", "ghost", "salah_sambung", "panggilan_ulang", "uji", "tak_terjawab")
COUNTS = ("total", "n_belum", *(f"n_{t}" for t in TYPES))
LOCATION = ("lon", "lat", "accuracy_m", "location_source", "location_at")
TRIGGERS_SQLITE = ("caller_summary_ai", "caller_summary_au", "caller_summary_al", "caller_summary_ad")
TRIGGERS_PG = ("caller_summary_ai", "caller_summary_au", "caller_summary_al", "caller_summary_ad")
FUNCTIONS_PG = ("caller_summary_insert", "caller_summary_update", "caller_summary_locate", "caller_summary_delete")
# Which calls change a count or the first/last time when updated; which change the last location.
COUNTED = "caller_number, type, at"
LOCATED = "caller_number, lon, lat, location_at"


def _is(pg: bool, row: str, type_: str | None) -> str:
    """1 when the row's type is `type_` (None: untyped), else 0, on either backend."""
    if pg:
        return f"({row}.type IS NULL)::int" if type_ is None else f"({row}.type IS NOT DISTINCT FROM '{type_}')::int"
    return f"({row}.type IS NULL)" if type_ is None else f"({row}.type IS '{type_}')"


def _row_counts(pg: bool, row: str) -> list[str]:
    return ["1", _is(pg, row, None), *(_is(pg, row, t) for t in TYPES)]


def _on_conflict(pg: bool) -> str:
    """Add the counts, widen first/last, take the location when it is newer."""
    s = "s." if pg else ""
    adds = [f"{c} = {s}{c} + excluded.{c}" for c in COUNTS]
    if pg:
        times = ["first_at = LEAST(s.first_at, excluded.first_at)", "last_at = GREATEST(s.last_at, excluded.last_at)"]
    else:
        times = ["first_at = CASE WHEN excluded.first_at IS NOT NULL AND (first_at IS NULL OR excluded.first_at "
                 "< first_at) THEN excluded.first_at ELSE first_at END",
                 "last_at = CASE WHEN excluded.last_at IS NOT NULL AND (last_at IS NULL OR excluded.last_at "
                 "> last_at) THEN excluded.last_at ELSE last_at END"]
    newer = f"excluded.location_at IS NOT NULL AND ({s}location_at IS NULL OR excluded.location_at >= {s}location_at)"
    locs = [f"{c} = CASE WHEN {newer} THEN excluded.{c} ELSE {s}{c} END" for c in LOCATION]
    return "ON CONFLICT (number) DO UPDATE SET " + ", ".join(adds + times + locs)


_TARGET = f"caller_summary{{alias}} (number, {', '.join(COUNTS)}, first_at, last_at, {', '.join(LOCATION)})"


def _upsert_row(pg: bool, row: str, *, counted: bool, located: bool) -> str:
    """Upsert one call's contribution (its counts and/or its location) to its number's summary."""
    counts = _row_counts(pg, row) if counted else ["0"] * len(COUNTS)
    times = [f"{row}.at", f"{row}.at"] if counted else ["NULL", "NULL"]
    if located:
        loc = [f"{row}.lon", f"{row}.lat", f"{row}.accuracy_m", f"{row}.location_source",
               f"coalesce({row}.location_at, {row}.at)"]
    else:
        loc = ["NULL"] * len(LOCATION)
    # A located call gives its location only when it has a point.
    where = f"{row}.caller_number IS NOT NULL"
    if located and not counted:
        where += f" AND {row}.lon IS NOT NULL AND {row}.lat IS NOT NULL"
    elif located:
        loc = [f"CASE WHEN {row}.lon IS NOT NULL AND {row}.lat IS NOT NULL THEN {v} END" for v in loc]
    return (f"INSERT INTO {_TARGET.format(alias=' AS s' if pg else '')} "
            f"SELECT {row}.caller_number, {', '.join(counts + times + loc)} WHERE {where} {_on_conflict(pg)}")


def _take_back(pg: bool, row: str) -> str:
    """Remove a call's counts from its (old) number's summary."""
    sets = ", ".join(f"{c} = {c} - {v}" for c, v in zip(COUNTS, _row_counts(pg, row), strict=True))
    return f"UPDATE caller_summary SET {sets} WHERE number = {row}.caller_number"


def _retime(old: str, new: str | None) -> str:
    """First and last call of the numbers touched, from the (caller_number, at) index: two seeks each."""
    numbers = f"{old}.caller_number" + (f", {new}.caller_number" if new else "")
    return ("UPDATE caller_summary SET "
            "first_at = (SELECT min(at) FROM phone_call WHERE caller_number = caller_summary.number), "
            "last_at = (SELECT max(at) FROM phone_call WHERE caller_number = caller_summary.number) "
            f"WHERE number IN ({numbers})")


_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COUNTED.split(", "))
_MOVED = ("NEW.lon IS NOT NULL AND NEW.lat IS NOT NULL AND NEW.caller_number IS NOT NULL AND ("
          + " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in LOCATED.split(", ")) + ")")


def _pg_insert_statement() -> str:
    """Statement-level: each INSERT's new rows summed per number, one upsert per number.

    In number order: two batches of calls from the same numbers lock their summary rows in the same order,
    so they queue, never deadlock.
    """
    counts = ["count(*)", "count(*) FILTER (WHERE type IS NULL)",
              *(f"count(*) FILTER (WHERE type = '{t}')" for t in TYPES)]
    named = ", ".join(f"{v} AS {c}" for c, v in zip(COUNTS, counts, strict=True))
    per_number = (f"SELECT caller_number AS number, {named}, min(at) AS first_at, max(at) AS last_at "
                  "FROM new_rows WHERE caller_number IS NOT NULL GROUP BY caller_number")
    newest_fix = ("SELECT DISTINCT ON (caller_number) caller_number, lon, lat, accuracy_m, location_source, "
                  "coalesce(location_at, at) AS location_at FROM new_rows WHERE caller_number IS NOT NULL "
                  "AND lon IS NOT NULL AND lat IS NOT NULL ORDER BY caller_number, coalesce(location_at, at) DESC")
    return (f"INSERT INTO {_TARGET.format(alias=' AS s')} SELECT a.*, {', '.join(f'l.{c}' for c in LOCATION)} "
            f"FROM ({per_number}) a LEFT JOIN ({newest_fix}) l ON l.caller_number = a.number ORDER BY a.number "
            f"{_on_conflict(True)}")


def _pg_function(name: str, body: list[str]) -> str:
    statements = "".join(f"    {s};\n" for s in body)
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{statements}"
            "    RETURN NULL;\nEND $$")


def _create_pg() -> None:
    op.execute(_pg_function("caller_summary_insert", [_pg_insert_statement()]))
    op.execute(_pg_function("caller_summary_update", [
        _take_back(True, "OLD"), _upsert_row(True, "NEW", counted=True, located=False), _retime("OLD", "NEW")]))
    op.execute(_pg_function("caller_summary_locate", [_upsert_row(True, "NEW", counted=False, located=True)]))
    op.execute(_pg_function("caller_summary_delete", [_take_back(True, "OLD"), _retime("OLD", None)]))
    op.execute("CREATE TRIGGER caller_summary_ai AFTER INSERT ON phone_call REFERENCING NEW TABLE AS new_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION caller_summary_insert()")
    op.execute(f"CREATE TRIGGER caller_summary_au AFTER UPDATE OF {COUNTED} ON phone_call FOR EACH ROW "
               f"WHEN ({_CHANGED}) EXECUTE FUNCTION caller_summary_update()")
    op.execute(f"CREATE TRIGGER caller_summary_al AFTER UPDATE OF {LOCATED} ON phone_call FOR EACH ROW "
               f"WHEN ({_MOVED}) EXECUTE FUNCTION caller_summary_locate()")
    op.execute("CREATE TRIGGER caller_summary_ad AFTER DELETE ON phone_call FOR EACH ROW "
               "EXECUTE FUNCTION caller_summary_delete()")


def _create_sqlite() -> None:
    changed = _CHANGED.replace("IS DISTINCT FROM", "IS NOT")
    moved = _MOVED.replace("IS DISTINCT FROM", "IS NOT")
    body = {
        "caller_summary_ai": ("AFTER INSERT ON phone_call WHEN NEW.caller_number IS NOT NULL",
                              [_upsert_row(False, "NEW", counted=True, located=True)]),
        "caller_summary_au": (f"AFTER UPDATE OF {COUNTED} ON phone_call WHEN {changed}",
                              [_take_back(False, "OLD"), _upsert_row(False, "NEW", counted=True, located=False),
                               _retime("OLD", "NEW")]),
        "caller_summary_al": (f"AFTER UPDATE OF {LOCATED} ON phone_call WHEN {moved}",
                              [_upsert_row(False, "NEW", counted=False, located=True)]),
        "caller_summary_ad": ("AFTER DELETE ON phone_call WHEN OLD.caller_number IS NOT NULL",
                              [_take_back(False, "OLD"), _retime("OLD", None)]),
    }
    for name, (when, statements) in body.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {'; '.join(statements)}; END")


def _backfill(pg: bool) -> None:
    """The summary of every number from the calls stored so far."""
    counts = ["count(*)", "sum(CASE WHEN type IS NULL THEN 1 ELSE 0 END)",
              *(f"sum(CASE WHEN type = '{t}' THEN 1 ELSE 0 END)" for t in TYPES)]
    op.execute(f"INSERT INTO caller_summary (number, {', '.join(COUNTS)}, first_at, last_at) "
               f"SELECT caller_number, {', '.join(counts)}, min(at), max(at) FROM phone_call "
               "WHERE caller_number IS NOT NULL GROUP BY caller_number")
    located = "caller_number IS NOT NULL AND lon IS NOT NULL AND lat IS NOT NULL"
    if pg:
        op.execute("UPDATE caller_summary s SET lon = f.lon, lat = f.lat, accuracy_m = f.accuracy_m, "
                   "location_source = f.location_source, location_at = f.location_at FROM ("
                   "SELECT DISTINCT ON (caller_number) caller_number, lon, lat, accuracy_m, location_source, "
                   f"coalesce(location_at, at) AS location_at FROM phone_call WHERE {located} "
                   "ORDER BY caller_number, coalesce(location_at, at) DESC) f WHERE f.caller_number = s.number")
    else:
        newest = ("(SELECT {col} FROM phone_call p WHERE p.caller_number = caller_summary.number AND "
                  "p.lon IS NOT NULL AND p.lat IS NOT NULL ORDER BY coalesce(p.location_at, p.at) DESC LIMIT 1)")
        sets = ", ".join(f"{c} = {newest.format(col='coalesce(p.location_at, p.at)' if c == 'location_at' else c)}"
                         for c in LOCATION)
        op.execute(f"UPDATE caller_summary SET {sets} WHERE number IN (SELECT caller_number FROM phone_call "
                   f"WHERE {located})")


def upgrade() -> None:
    count = sa.Column  # every count is a non-null integer starting at 0
    op.create_table(
        "caller_summary",
        sa.Column("number", sa.String(64), primary_key=True),
        *(count(c, sa.Integer, nullable=False, server_default="0") for c in COUNTS),
        sa.Column("first_at", TIME),
        sa.Column("last_at", TIME),
        sa.Column("lon", sa.Float),
        sa.Column("lat", sa.Float),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("location_source", sa.String(16)),
        sa.Column("location_at", TIME),
    )
    # (caller_number, at, id): a number's newest calls in the order shown (at, then id) straight off the index,
    # never a sort of all its calls (a prepared statement's generic plan did that for a prolific number).
    op.drop_index("ix_phone_call_caller_at", "phone_call")
    op.create_index("ix_phone_call_caller_at", "phone_call", ["caller_number", "at", "id"])
    op.create_index("ix_phone_call_caller_incident", "phone_call", ["caller_number", "incident_id"],
                    postgresql_where=sa.text("incident_id IS NOT NULL"),
                    sqlite_where=sa.text("incident_id IS NOT NULL"))
    pg = op.get_bind().dialect.name == "postgresql"
    _backfill(pg)
    if pg:
        _create_pg()
    else:
        _create_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGGERS_PG:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON phone_call")
        for name in FUNCTIONS_PG:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in TRIGGERS_SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_phone_call_caller_incident", "phone_call")
    op.drop_index("ix_phone_call_caller_at", "phone_call")
    op.create_index("ix_phone_call_caller_at", "phone_call", ["caller_number", "at"])
    op.drop_table("caller_summary")
