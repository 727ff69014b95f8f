"""The unit status board: every unit with its status, its call, how long in that status, how old its position,
and whether that status has lasted too long (amber past its threshold, red past `red_factor` times it).

The units and their fields come from the process's unit cache (``TravelService.unit_rows``: one probe while
nothing changed); only what depends on the time of asking is computed per request, as arrays.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from store.units import UnitRows

__all__ = ["DEFAULT_THRESHOLDS", "status_board"]

# Minutes a unit may stay in a status before the board turns it amber (red at `red_factor` times as long).
DEFAULT_THRESHOLDS: dict[str, float] = {"dikirim": 3.0, "tiba": 60.0}


def status_board(
    rows: UnitRows,
    fields: list[dict[str, Any]],
    *,
    now: datetime,
    thresholds: dict[str, float],
    red_factor: float = 2.0,
    stale_after_s: float,
    types: list[str] | None = None,
    agencies: list[str] | None = None,
) -> dict[str, Any]:
    """The board (UnitBoard) from every unit's rows and fields: those of the types/agencies asked, by callsign."""
    keep = np.ones(len(rows), dtype=bool)
    if types:
        keep &= np.isin(rows.type, types)
    if agencies:
        keep &= np.isin(rows.agency, agencies)
    t = now.timestamp()
    in_status = t - rows.status_ts
    age = t - rows.position_ts
    limit = np.array([thresholds.get(str(s), np.inf) for s in rows.status.tolist()], dtype=float) * 60.0
    with np.errstate(invalid="ignore"):
        level = np.where(in_status > limit * red_factor, "red", np.where(in_status > limit, "amber", "ok"))
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(rows.callsign[idx].astype(str), kind="stable")]
    in_list, age_list, level_list = in_status.tolist(), age.tolist(), level.tolist()
    out = []
    counts: dict[str, int] = {}
    for i in idx.tolist():
        f = fields[i]
        a, s = age_list[i], in_list[i]
        counts[f["status"]] = counts.get(f["status"], 0) + 1
        out.append(f | {
            "in_status_s": round(s, 1) if s == s else None,
            "position_age_s": round(a, 1) if a == a else None,
            "stale": a == a and a > stale_after_s,
            "level": level_list[i],
        })
    return {"units": out, "count": len(out), "by_status": counts, "thresholds_minutes": thresholds,
            "red_factor": red_factor}
