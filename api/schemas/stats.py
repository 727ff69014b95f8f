"""The leader's situation summary (/api/stats/summary)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class StatusCount(BaseModel):
    """Open incidents in one state."""

    status: str
    label_id: str
    label_en: str
    count: int


class KecamatanCount(BaseModel):
    """Open incidents in one kecamatan (code None: not located yet)."""

    code: str | None
    name: str
    count: int


class Percentiles(BaseModel):
    """How many spans were measured, their median and 90th percentile in seconds (None when none)."""

    n: int
    median_s: float | None
    p90_s: float | None


class TodayAnd30Days(BaseModel):
    """A response time today (WIB day) and over the last 30 days."""

    today: Percentiles
    last_30d: Percentiles


class DailyResponse(Percentiles):
    """Calls of one WIB day and their call-to-scene times."""

    date: dt.date
    calls: int


class ResponseTimes(BaseModel):
    """Call to dispatch and call to scene."""

    call_to_scene: TodayAnd30Days
    call_to_dispatch: TodayAnd30Days
    daily: list[DailyResponse]


class FloodedDesa(BaseModel):
    """A desa touching an active flood zone and the share of its area under water."""

    code: str
    name: str
    kecamatan: str | None
    share: float = Field(ge=0, le=1)


class Sources(BaseModel):
    """Which sources the figures were read from."""

    incidents: bool
    hotspots: bool
    floods: bool


class SituationSummary(BaseModel):
    """The figures of the leader's page."""

    generated_at: dt.datetime
    generated_at_wib: str
    open_total: int
    open_by_status: list[StatusCount]
    open_by_kecamatan: list[KecamatanCount]
    calls_today: int
    response: ResponseTimes
    hotspots_24h: int
    flooded_desa: list[FloodedDesa]
    flooded_desa_count: int
    sources: Sources
