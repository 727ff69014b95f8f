"""The unit status board: every unit with its status, its call, how long in that status, how old its position,
and whether that status has lasted too long (amber past its threshold, red past twice it)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from store.units import read_units, unit_fields

__all__ = ["DEFAULT_THRESHOLDS", "status_board"]

# Minutes a unit may stay in a status before the board turns it amber (red at `red_factor` times as long).
DEFAULT_THRESHOLDS: dict[str, float] = {"dikirim": 3.0, "tiba": 60.0}


def status_board(
    session: Session,
    *,
    now: datetime,
    thresholds: dict[str, float],
    red_factor: float = 2.0,
    stale_after_s: float,
    types: list[str] | None = None,
    agencies: list[str] | None = None,
) -> dict[str, Any]:
    """The board (UnitBoard): every unit (optionally of some types/agencies) by callsign, with its level."""
    rows = read_units(session, types=types or None)
    out = []
    counts: dict[str, int] = {}
    t = now.timestamp()
    for f, status_ts, pos_ts in zip(unit_fields(rows), rows.status_ts.tolist(), rows.position_ts.tolist(),
                                    strict=True):
        if agencies and f["agency"] not in agencies:
            continue
        in_status = t - status_ts if math.isfinite(status_ts) else None
        age = t - pos_ts if math.isfinite(pos_ts) else None
        limit = thresholds.get(f["status"])
        level = "ok"
        if limit is not None and in_status is not None:
            if in_status > limit * 60 * red_factor:
                level = "red"
            elif in_status > limit * 60:
                level = "amber"
        counts[f["status"]] = counts.get(f["status"], 0) + 1
        out.append(f | {
            "in_status_s": None if in_status is None else round(in_status, 1),
            "position_age_s": None if age is None else round(age, 1),
            "stale": age is not None and age > stale_after_s,
            "level": level,
        })
    out.sort(key=lambda u: u["callsign"])
    return {"units": out, "count": len(out), "by_status": counts, "thresholds_minutes": thresholds,
            "red_factor": red_factor}
