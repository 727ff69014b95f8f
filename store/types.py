"""Column types shared by every table, and bind values that compare the same way on both backends.

SQLite keeps a `DateTime(timezone=True)` as UTC wall-time text and hands it back naive; PostgreSQL keeps a
timestamptz and hands it back aware. :class:`UTCDateTime` makes both look the same to Python (aware UTC in
and out); :func:`db_time` gives the bind value for comparing any time column with a time from outside.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from geo.times import as_utc

__all__ = ["JSONType", "UTCDateTime", "db_time"]

# JSON on SQLite, JSONB (indexable, compact) on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on both backends (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Aware values only, stored in UTC (a naive one is a bug: whose clock was it?)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; SIGAP stores UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | str | None, dialect: Any) -> datetime | None:
        """Aware UTC, whatever the driver returned."""
        return as_utc(value)


def db_time(value: datetime) -> datetime:
    """The bound value for comparing a stored time column (plain or UTCDateTime) with `value`: aware UTC.

    SQLAlchemy writes a bound time as its wall-clock text on SQLite, whatever its offset: a '+07:00' bound
    would be compared 7 hours off against the UTC text stored there. Naive values are read as UTC.
    """
    return as_utc(value)
