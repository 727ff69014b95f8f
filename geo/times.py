"""Times: stored and compared in UTC, shown in WIB (Asia/Jakarta, UTC+7, no daylight saving).

One home for the conversions every layer needs: aware-UTC coercion of what the drivers hand back (SQLite
gives naive UTC wall times, or text from aggregates; psycopg gives aware times), ISO-8601 output, the WIB
format operators read ('29-11-2026 15:04 WIB'), WIB day boundaries, and the same conversions over whole
columns at once for answers with tens of thousands of rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, overload
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "WIB",
    "WIB_FORMAT",
    "WIB_FORMAT_SECONDS",
    "WIB_NAME",
    "as_utc",
    "format_wib",
    "format_wib_many",
    "iso_many",
    "iso_utc",
    "utc_index",
    "utcnow",
    "wib_date",
    "wib_day_key",
    "wib_day_start",
    "wib_days",
]

WIB_NAME = "Asia/Jakarta"
WIB = ZoneInfo(WIB_NAME)
WIB_FORMAT = "%d-%m-%Y %H:%M WIB"
WIB_FORMAT_SECONDS = "%d-%m-%Y %H:%M:%S WIB"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime | str) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime: naive values are read as UTC (how SQLite keeps them), offsets are honoured.

    Text (what SQLite hands back for an aggregate over a time column) is parsed as ISO-8601 first.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(value: datetime | str | None) -> str | None:
    """ISO-8601 in UTC with its offset ('2023-09-14T05:42:00+00:00'), or None."""
    t = as_utc(value)
    return None if t is None else t.isoformat()


def format_wib(value: datetime | str | None, *, seconds: bool = False) -> str | None:
    """A time as the operators read it: '29-11-2026 15:04 WIB' (naive values are UTC), or None."""
    t = as_utc(value)
    return None if t is None else t.astimezone(WIB).strftime(WIB_FORMAT_SECONDS if seconds else WIB_FORMAT)


def wib_date(value: datetime) -> date:
    """The calendar day in WIB of a time (naive values are UTC)."""
    return as_utc(value).astimezone(WIB).date()


def wib_day_start(value: datetime) -> datetime:
    """Midnight WIB of the day `value` falls on, as an aware UTC datetime."""
    return datetime.combine(wib_date(value), time(0), tzinfo=WIB).astimezone(UTC)


def wib_day_key(value: datetime) -> str:
    """The WIB day of a time as 'YYYYMMDD' (the day part of a call number)."""
    return wib_date(value).strftime("%Y%m%d")


# ------------------------------------------------------------------------------------ columns


def utc_index(values: Any) -> pd.DatetimeIndex:
    """A column of times (aware or naive-UTC datetimes, ISO text, datetime64) as one aware UTC index."""
    if isinstance(values, pd.DatetimeIndex) and values.tz is not None:
        return values.tz_convert(UTC)
    if not len(values):
        return pd.DatetimeIndex([], tz=UTC)
    if isinstance(values, tuple):
        values = list(values)
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True, format="ISO8601"))


def iso_many(times: Any) -> list[str | None]:
    """`iso_utc` over a whole column, formatted by numpy in C (microseconds written where a value has them)."""
    t = utc_index(times)
    naive = t.tz_localize(None).as_unit("us").to_numpy()
    missing = np.isnat(naive)
    fraction = (naive.astype(np.int64) % 1_000_000 != 0) & ~missing
    out = _rearrange(np.datetime_as_string(naive, unit="s"), [*range(19), *"+00:00"], missing)
    if not fraction.any():
        return out
    # Rows with a fraction (rare: sensor times are whole minutes) are written again with their microseconds.
    rows = np.flatnonzero(fraction)
    both = np.array(out, dtype=object)
    both[rows] = _rearrange(np.datetime_as_string(naive[rows], unit="us"), [*range(26), *"+00:00"], missing[rows])
    return both.tolist()


def wib_days(times: Any) -> np.ndarray:
    """`wib_date` over a whole column: the WIB calendar day (datetime64[D]) of each time, NaT where missing."""
    return utc_index(times).tz_convert(WIB_NAME).tz_localize(None).to_numpy().astype("datetime64[D]")


# Positions in numpy's 'YYYY-MM-DDTHH:MM:SS' text of the parts of 'DD-MM-YYYY HH:MM[:SS] WIB'.
_WIB_PARTS: list[int | str] = [8, 9, "-", 5, 6, "-", 0, 1, 2, 3, " ", 11, 12, ":", 14, 15]


def format_wib_many(times: Any, *, seconds: bool = False) -> list[str | None]:
    """`format_wib` over a whole column at once: shifted to WIB, written by numpy, rearranged as characters."""
    t = utc_index(times)
    local = t.tz_convert(WIB_NAME).tz_localize(None).as_unit("s").to_numpy()
    missing = np.isnat(local)
    text = np.datetime_as_string(local, unit="s")
    seconds_parts: list[int | str] = [":", 17, 18] if seconds else []
    parts = _WIB_PARTS + seconds_parts + list(" WIB")
    return _rearrange(text, parts, missing)


def _rearrange(text: np.ndarray, parts: list[int | str], missing: np.ndarray) -> list[str | None]:
    """Strings built from fixed-width `text`: each part is a character position in it or a literal character."""
    n = len(text)
    if missing.all():
        return [None] * n
    # Fixed-width text viewed as one character per column; 'NaT' rows are padded and dropped at the end.
    width = max(p for p in parts if isinstance(p, int)) + 1
    chars = np.asarray(text, dtype=f"U{width}").view("U1").reshape(n, width)
    out = np.empty((n, len(parts)), dtype="U1")
    for j, part in enumerate(parts):
        out[:, j] = part if isinstance(part, str) else chars[:, part]
    strings = out.view(f"U{len(parts)}").ravel().astype(object)
    strings[missing] = None
    return strings.tolist()
