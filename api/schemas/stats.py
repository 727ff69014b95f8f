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


class MeasuredAgainstTarget(Percentiles):
    """Percentiles and how many of the `n` spans were within the target (`targets` of ResponseTimes)."""

    within_target: int


class TodayAnd30Days(BaseModel):
    """A response time today (WIB day) and over the last 30 days."""

    today: MeasuredAgainstTarget
    last_30d: MeasuredAgainstTarget


class DailyResponse(Percentiles):
    """Calls of one WIB day and their call-to-scene times."""

    date: dt.date
    calls: int


class ResponseTargets(BaseModel):
    """The response targets in seconds (SIGAP_TARGET_DISPATCH_MINUTES, SIGAP_TARGET_SCENE_MINUTES)."""

    dispatch_s: float
    scene_s: float


class ResponseTimes(BaseModel):
    """Call to dispatch and call to scene, each measured against its target."""

    call_to_scene: TodayAnd30Days
    call_to_dispatch: TodayAnd30Days
    daily: list[DailyResponse]
    targets: ResponseTargets


class FloodedDesa(BaseModel):
    """A desa with at least `flooded_share` of its area under an active flood zone, and that share."""

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
    flooded_share: float = Field(gt=0, le=1, description="the least share of a desa under water that counts")
    sources: Sources
