"""The top search box's store half: calls by number or phone, units by callsign or name.

Places are searched in memory by ``geo.placenames``; the route puts the three kinds together, typed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from store.incidents import Incident, like_pattern, phone_digits
from store.units import Unit

__all__ = ["looks_like_phone", "search_calls", "search_units"]


def looks_like_phone(query: str) -> bool:
    """True when the query is a phone number (digits with +, spaces, dashes or dots), at least 4 digits."""
    digits = sum(ch.isdigit() for ch in query)
    return digits >= 4 and all(ch.isdigit() or ch in "+-. ()" for ch in query.strip())


def search_calls(session: Session, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Calls whose number contains the query, or whose caller's phone does (digits compared), newest first."""
    q = query.strip().lower()
    conds = [func.lower(Incident.number).like(like_pattern(q), escape="\\")]
    if looks_like_phone(q):
        digits = phone_digits(q)
        stored = func.replace(func.replace(func.replace(func.coalesce(Incident.caller_phone, ""), " ", ""), "-", ""),
                              "+62", "0")
        conds.append(stored.like(like_pattern(digits), escape="\\"))
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
