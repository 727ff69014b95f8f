"""Calls as the API shows them: CallPublic, a page of calls, a caller's history, a flag, a PBX answer."""

from __future__ import annotations

from typing import Any

from api.schemas import Schema
from geo.times import format_wib, iso_utc

__all__ = ["CallPage", "CallPublic", "CallerHistory", "FlagPublic", "TelephonyAnswer", "call_public", "flag_public",
           "history_public"]


class CallPublic(Schema):
    """One call: when, from which number (raw and E.164), line, operator, duration, type, incident, call back."""

    id: int
    at: str
    at_wib: str
    answered_at: str | None
    ended_at: str | None
    caller_raw: str | None
    caller_number: str | None
    number_ok: bool
    line: str | None
    operator: str | None
    extension: str | None
    duration_s: int | None
    type: str | None
    typed_by: str | None
    incident_id: int | None
    related_call_id: int | None
    note: str | None
    state: str
    source: str
    pbx_call_id: str | None
    callback_status: str | None
    callback_attempts: int
    callback_by: str | None
    callback_at: str | None
    callback_outcome: str | None
    callback_note: str | None
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    location_source: str | None
    location_at: str | None


_TIMES = ("answered_at", "ended_at", "callback_at", "location_at")
_DROP = ("created_by", "updated_at")


def call_public(row: dict[str, Any]) -> dict[str, Any]:
    """A stored call (a dict of its columns) as CallPublic."""
    out = {k: v for k, v in row.items() if k not in _DROP}
    out["at"] = iso_utc(row["at"])
    out["at_wib"] = format_wib(row["at"], seconds=True)
    for name in _TIMES:
        out[name] = iso_utc(row[name])
    out["callback_attempts"] = row["callback_attempts"] or 0
    return out


class CallPage(Schema):
    """One page of calls, newest first."""

    total: int
    limit: int
    offset: int
    returned: int
    items: list[CallPublic]


class FlagPublic(Schema):
    """A supervisor's flag on a number."""

    id: int
    number: str
    reason: str
    expires_at: str | None
    created_by: str | None
    created_at: str
    revoked_at: str | None
    revoked_by: str | None


def flag_public(flag: Any) -> dict[str, Any] | None:
    """A flag (ORM object or dict) as FlagPublic, None for none."""
    if flag is None:
        return None
    get = flag.get if isinstance(flag, dict) else lambda k: getattr(flag, k)
    return {
        "id": get("id"), "number": get("number"), "reason": get("reason"), "expires_at": iso_utc(get("expires_at")),
        "created_by": get("created_by"), "created_at": iso_utc(get("created_at")),
        "revoked_at": iso_utc(get("revoked_at")), "revoked_by": get("revoked_by"),
    }


class IncidentBrief(Schema):
    """An incident a number's calls created or joined."""

    id: int
    number: str
    category: str
    status: str
    created_at: str
    lon: float | None
    lat: float | None
    desa_code: str | None


class LastLocation(Schema):
    """The newest place a number was located at."""

    lon: float
    lat: float
    at: str
    source: str | None
    accuracy_m: float | None
    incident_id: int | None = None


class CallerHistory(Schema):
    """Everything the desk knows of a number."""

    number: str | None
    raw: str | None
    number_ok: bool
    total: int
    by_type: dict[str, int]
    prank_count: int
    first_at: str | None
    last_at: str | None
    calls: list[CallPublic]
    incidents: list[IncidentBrief]
    last_location: LastLocation | None
    flag: FlagPublic | None


def history_public(h: dict[str, Any]) -> dict[str, Any]:
    """caller_history() as CallerHistory."""
    last = h["last_location"]
    return h | {
        "first_at": iso_utc(h["first_at"]),
        "last_at": iso_utc(h["last_at"]),
        "calls": [call_public(r) for r in h["calls"]],
        "incidents": [i | {"created_at": iso_utc(i["created_at"])} for i in h["incidents"]],
        "last_location": None if last is None else last | {"at": iso_utc(last["at"])},
        "flag": flag_public(h["flag"]),
    }


class TelephonyAnswer(Schema):
    """What the platform made of a PBX event or AML SMS."""

    duplicate: bool
    orphan: bool
    call: CallPublic | None
    popped: dict[str, Any] | None = None
    has_location: bool | None = None
