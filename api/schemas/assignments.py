"""Units on a call as the API shows them: each assignment with its steps and times, agency contacts, outcomes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from api.schemas import Schema

__all__ = ["AgencyContactOut", "AssignmentOut", "UnitStatusIn"]

AssignmentStatus = Literal["dikirim", "diterima", "menuju_lokasi", "tiba", "selesai", "dilepas", "dialihkan"]


class ReportedStep(Schema):
    """A step reported out of order (skipping another, or after a later one): kept as reported."""

    step: str
    skipped: list[str]
    late: bool
    at: str
    by: str | None


class AssignmentIntervals(Schema):
    """Per-unit response intervals in seconds (None until reached)."""

    dispatch_to_enroute_s: float | None
    dispatch_to_scene_s: float | None
    on_scene_s: float | None


class AssignmentOut(Schema):
    """One unit sent to the call: its status on it and the time (UTC ISO-8601) and author of each step."""

    id: int
    unit_id: int
    callsign: str
    unit_type: str
    agency: str
    unit_status: str
    status: AssignmentStatus
    status_label_id: str
    status_label_en: str
    open: bool
    dispatched_at: str
    dispatched_at_wib: str
    dispatched_by: str | None
    eta_s: float | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    enroute_at: str | None
    enroute_by: str | None
    arrived_at: str | None
    arrived_by: str | None
    released_at: str | None
    released_by: str | None
    release_reason: str | None
    diverted_to_id: int | None
    reported: list[ReportedStep]
    intervals: AssignmentIntervals


class AgencyContactOut(Schema):
    """An agency without units informed of the call: which, how, who was reached, when, by whom."""

    id: int
    agency: str
    channel: str
    contact: str | None
    note: str | None
    at: str
    at_wib: str
    by: str | None


class UnitStatusIn(Schema):
    """A unit's own status off a call."""

    status: Literal["tersedia", "kembali", "tidak_tersedia", "offline"]
    note: str | None = Field(default=None, max_length=500)

    @field_validator("note", mode="after")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("tidak boleh berisi karakter NUL / must not contain the NUL character")
        return value
