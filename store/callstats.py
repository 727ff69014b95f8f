"""The periodic 112 report: calls by type, hour and day; emergency calls by category and kecamatan; response
intervals as percentiles; each operator's calls. Read from the call desk's tables for a chosen period.

Hours and days are WIB (Asia/Jakarta), as the centre reports them. Three queries, whatever the period's size:
the period's calls (time, type, operator), its emergency calls with their incidents, and the first dispatch
and arrival times of those incidents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.times import utc_index
from store.calls import CALL_TYPES, PhoneCall
from store.incidents import Incident, IncidentTransition
from store.types import db_time

__all__ = ["PERCENTILES", "call_report"]

PERCENTILES = (50, 90, 95)
WIB = "Asia/Jakarta"


def _percentiles(seconds: np.ndarray) -> dict[str, Any]:
    """Count and p50/p90/p95 (seconds) of the non-negative intervals."""
    values = seconds[np.isfinite(seconds) & (seconds >= 0)]
    out: dict[str, Any] = {"count": int(values.size)}
    for p in PERCENTILES:
        out[f"p{p}_s"] = round(float(np.percentile(values, p)), 1) if values.size else None
    return out


def call_report(session: Session, *, since: datetime, until: datetime) -> dict[str, Any]:
    """The report's figures for calls that rang in [since, until)."""
    c = PhoneCall.__table__.c
    conn = session.connection()
    lo, hi = db_time(since), db_time(until)
    rows = conn.execute(select(c.at, c.type, c.operator).where(c.at >= lo, c.at < hi)).all()
    frame = pd.DataFrame(rows, columns=["at", "type", "operator"])
    frame["type"] = frame["type"].fillna("belum")
    frame["operator"] = frame["operator"].fillna("-")
    local = utc_index(frame["at"]).tz_convert(WIB) if len(frame) else pd.DatetimeIndex([], tz=WIB)
    by_type = {t: 0 for t in CALL_TYPES} | {str(k): int(v) for k, v in frame["type"].value_counts().items()}
    hours = np.bincount(np.asarray(local.hour, dtype=int), minlength=24) if len(frame) else np.zeros(24, dtype=int)
    days: dict[str, dict[str, int]] = {}
    if len(frame):
        table = pd.crosstab(pd.Index(local.strftime("%Y-%m-%d"), name="day"), frame["type"].to_numpy())
        days = {str(d): {str(t): int(n) for t, n in row.items() if n} for d, row in table.iterrows()}
    operators: dict[str, dict[str, int]] = {}
    if len(frame):
        table = pd.crosstab(frame["operator"].to_numpy(), frame["type"].to_numpy())
        operators = {str(o): {str(t): int(n) for t, n in row.items() if n} for o, row in table.iterrows()}

    i = Incident.__table__.c
    emergency = conn.execute(
        select(c.id, c.at, c.answered_at, c.incident_id, i.category, i.kecamatan_code)
        .join(Incident.__table__, i.id == c.incident_id)
        .where(c.at >= lo, c.at < hi, c.type == "darurat")
    ).all()
    by_category: dict[str, int] = {}
    by_kecamatan: dict[str, int] = {}
    for r in emergency:
        by_category[r.category] = by_category.get(r.category, 0) + 1
        key = r.kecamatan_code or "-"
        by_kecamatan[key] = by_kecamatan.get(key, 0) + 1
    answer_dispatch = np.array([], dtype=float)
    dispatch_arrival = np.array([], dtype=float)
    ids = sorted({r.incident_id for r in emergency})
    if ids:
        t = IncidentTransition.__table__.c
        first: dict[tuple[int, str], datetime] = {}
        for chunk in range(0, len(ids), 5000):
            part = ids[chunk:chunk + 5000]
            for inc, status, at in conn.execute(
                select(t.incident_id, t.status, func.min(t.at))
                .where(t.incident_id.in_(part), t.status.in_(("dikirim", "tiba")))
                .group_by(t.incident_id, t.status)
            ):
                first[(inc, status)] = db_time(at)
        # One answer per incident: the earliest call that joined it.
        answered: dict[int, datetime] = {}
        for r in emergency:
            at = db_time(r.answered_at or r.at)
            if r.incident_id not in answered or at < answered[r.incident_id]:
                answered[r.incident_id] = at
        ad, da = [], []
        for inc, at in answered.items():
            sent, came = first.get((inc, "dikirim")), first.get((inc, "tiba"))
            if sent is not None:
                ad.append((sent - at).total_seconds())
                if came is not None:
                    da.append((came - sent).total_seconds())
        answer_dispatch, dispatch_arrival = np.array(ad, dtype=float), np.array(da, dtype=float)
    return {
        "since": since,
        "until": until,
        "total": int(len(frame)),
        "by_type": by_type,
        "by_hour": [int(h) for h in hours],
        "by_day": days,
        "emergency": {
            "total": len(emergency),
            "by_category": dict(sorted(by_category.items(), key=lambda kv: -kv[1])),
            "by_kecamatan": dict(sorted(by_kecamatan.items(), key=lambda kv: -kv[1])),
        },
        "intervals": {
            "answer_to_dispatch": _percentiles(answer_dispatch),
            "dispatch_to_arrival": _percentiles(dispatch_arrival),
        },
        "operators": operators,
    }
