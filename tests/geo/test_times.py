"""geo.times: the one time module (UTC stored, WIB shown), row by row and over whole columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from geo.times import (
    as_utc,
    format_wib,
    format_wib_many,
    iso_many,
    iso_utc,
    utcnow,
    wib_date,
    wib_day_key,
    wib_day_start,
    wib_days,
)

PLUS7 = timezone(timedelta(hours=7))


def test_as_utc_reads_naive_as_utc_and_honours_offsets() -> None:
    naive = datetime(2026, 11, 29, 8, 0)
    assert as_utc(naive) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert as_utc(datetime(2026, 11, 29, 15, 0, tzinfo=PLUS7)) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert as_utc("2026-11-29T08:00:00Z") == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert as_utc("2026-11-29 08:00:00") == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # SQLite's aggregate text
    assert as_utc(None) is None
    assert utcnow().utcoffset() == timedelta(0)


def test_iso_and_wib_text() -> None:
    at = datetime(2026, 11, 29, 8, 4, 5, tzinfo=UTC)
    assert iso_utc(at) == "2026-11-29T08:04:05+00:00"
    assert iso_utc(at.astimezone(PLUS7)) == "2026-11-29T08:04:05+00:00"
    assert format_wib(at) == "29-11-2026 15:04 WIB"
    assert format_wib(at, seconds=True) == "29-11-2026 15:04:05 WIB"
    assert format_wib(None) is None and iso_utc(None) is None


def test_wib_days_start_at_midnight_jakarta() -> None:
    before, after = datetime(2026, 11, 29, 16, 59, tzinfo=UTC), datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    assert (wib_date(before).day, wib_date(after).day) == (29, 30)
    assert (wib_day_key(before), wib_day_key(after)) == ("20261129", "20261130")
    assert wib_day_start(after) == after and wib_day_start(before) == datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


def test_local_days_use_wib() -> None:
    t = pd.DatetimeIndex(["2023-09-14 16:59", "2023-09-14 17:00"], tz="UTC")
    assert wib_days(t).astype(str).tolist() == ["2023-09-14", "2023-09-15"]
    # Naive datetime64 (UTC wall times, as store/ reads them) and a missing time.
    naive = np.array(["2023-09-14T16:59", "2023-09-14T17:00", "NaT"], dtype="datetime64[s]")
    assert wib_days(naive).astype(str).tolist() == ["2023-09-14", "2023-09-15", "NaT"]


def test_column_formatting_agrees_with_one_at_a_time() -> None:
    rng = np.random.default_rng(13)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    times = [start + timedelta(seconds=int(s)) for s in rng.integers(0, 3 * 365 * 86400, 500)]
    times[7] = times[7] + timedelta(microseconds=250)
    assert format_wib_many(times) == [format_wib(t) for t in times]
    assert format_wib_many(times, seconds=True) == [format_wib(t, seconds=True) for t in times]
    assert iso_many(times) == [iso_utc(t) for t in times]
    assert iso_many(times[:5]) == [iso_utc(t) for t in times[:5]]  # whole seconds: no fraction written
    assert format_wib_many([times[0], None]) == [format_wib(times[0]), None]
