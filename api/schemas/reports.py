"""Situation reports (/api/reports): the request for one, and a stored report with its files."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Schema

Kind = Literal["daily", "weekly", "range"]
Lang = Literal["id", "en"]


class ReportRequest(BaseModel):
    """A report to make: daily/weekly (ending at the report time of `date`, default the latest), or a range."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: Kind = Field(description="daily: 24 jam sampai 07:00 WIB; weekly: 7 hari; range: --from .. --to")
    date: dt.date | None = Field(None, description="daily/weekly: hari laporan (WIB) / the report's day")
    from_: dt.date | None = Field(None, alias="from", description="range: hari pertama (WIB) / first day")
    to: dt.date | None = Field(None, description="range: hari terakhir (WIB, termasuk) / last day, inclusive")
    lang: Lang = Field("id", description="id (Bahasa Indonesia) atau en")


class ReportFileOut(Schema):
    """A file of a ready report."""

    kind: Literal["pdf", "html"]
    name: str
    media_type: str
    size: int
    sha256: str
    url: str


class ReportFigures(Schema):
    """The headline numbers of a ready report."""

    incidents: int
    open: int
    hotspots: int
    flood_zones: int
    flooded_desa: int
    units_available: int
    units_out_of_service: int


class ReportOut(Schema):
    """A stored report: pending or running (being made), ready (with its files) or failed (with the reason)."""

    id: int
    kind: Kind
    lang: Lang
    status: Literal["pending", "running", "ready", "failed"]
    period_start: dt.datetime
    period_end: dt.datetime
    period_wib: str
    created_at: dt.datetime
    created_at_wib: str
    created_by: str | None
    scheduled: bool
    finished_at: dt.datetime | None
    error: str | None
    figures: ReportFigures | None
    files: list[ReportFileOut]


class ReportList(Schema):
    """The newest reports first, and when the daily report is made."""

    reports: list[ReportOut]
    report_time: str = Field(description="HH:MM WIB of the daily report, or 'off'")
