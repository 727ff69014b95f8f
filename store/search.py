"""The top search box's store half: calls by number or phone, units by callsign or name.

Places are searched in memory by ``geo.placenames``; the route puts the three kinds together, typed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from geo.crs import UTM50S, WGS84, transformer
from store.incidents import OPEN_CODES, Incident, like_pattern, number_condition, phone_condition
from store.units import Unit

__all__ = ["looks_like_phone", "open_calls_near", "search_calls", "search_units"]


def looks_like_phone(query: str) -> bool:
    """True when the query is a phone number (digits with +, spaces, dashes or dots), at least 4 digits."""
    digits = sum(ch.isdigit() for ch in query)
    return digits >= 4 and all(ch.isdigit() or ch in "+-. ()" for ch in query.strip())


def search_calls(session: Session, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Calls whose number is or contains the query, or whose caller's phone starts with it, newest first."""
    conds = [number_condition(query)]
    if looks_like_phone(query):
        conds.append(phone_condition(query))
    rows = session.execute(
        select(Incident.id, Incident.number, Incident.status, Incident.category, Incident.priority,
               Incident.caller_phone, Incident.created_at, Incident.lon, Incident.lat)
        .where(or_(*conds))
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(limit)
    ).mappings().all()
    return [dict(r) for r in rows]


def search_units(session: Session, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Units whose callsign or name contains the query (case-insensitive), by callsign."""
    pattern = like_pattern(query.strip().lower())
    rows = session.execute(
        select(Unit.id, Unit.callsign, Unit.name, Unit.type.label("unit_type"), Unit.status)
        .where(or_(func.lower(Unit.callsign).like(pattern, escape="\\"),
                   func.lower(Unit.name).like(pattern, escape="\\")))
        .order_by(Unit.callsign)
        .limit(limit)
    ).mappings().all()
    return [dict(r) for r in rows]


def open_calls_near(
    session: Session, *, lon: float, lat: float, at: datetime, radius_m: float, minutes: float, limit: int = 10
) -> list[dict[str, Any]]:
    """Open calls of any category within `radius_m` of a point, recorded within `minutes` before `at`, nearest first.

    What the operator is shown before creating a call there (the bold duplicate banner): a lon/lat box and the
    time window in SQL, the exact metric distance in UTM zone 50S on the few rows left.
    """
    dlat = radius_m / 110_574.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    rows = session.execute(
        select(Incident.id, Incident.number, Incident.category, Incident.status, Incident.priority, Incident.lon,
               Incident.lat, Incident.created_at, Incident.description, Incident.claimed_by)
        .where(
            Incident.status.in_(OPEN_CODES),
            Incident.merged_into_id.is_(None),
            Incident.lon.between(lon - dlon, lon + dlon),
            Incident.lat.between(lat - dlat, lat + dlat),
            Incident.created_at >= at - timedelta(minutes=minutes),
            Incident.created_at <= at,
        )
    ).mappings().all()
    if not rows:
        return []
    to_utm = transformer(src=WGS84, dst=UTM50S)
    xs, ys = to_utm.transform(np.array([lon] + [r["lon"] for r in rows]), np.array([lat] + [r["lat"] for r in rows]))
    dist = np.hypot(np.asarray(xs)[1:] - xs[0], np.asarray(ys)[1:] - ys[0])
    out = [
        dict(r) | {"distance_m": round(float(d), 1),
                   "minutes_ago": round((at - r["created_at"]).total_seconds() / 60, 1)}
        for r, d in zip(rows, dist, strict=True)
        if d <= radius_m
    ]
    out.sort(key=lambda x: (x["distance_m"], x["id"]))
    return out[:limit]
