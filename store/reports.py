"""Stored situation reports: the period a report covers, its life (pending -> running -> ready | failed), its files.

A report's files (the PDF and the offline HTML map) are kept in the database, not on a disk beside one API
process: every worker of a PostGIS deployment serves them, a database backup holds them with the figures they
report, and a report becomes ``ready`` together with its files in one transaction, so a report that failed
midway never lists half a file. They are small (a daily report is a few hundred kB to 2-3 MB).

Periods are computed here from WIB times: a daily report covers the 24 hours before the report time
(07:00 WIB by default), a weekly one the 7 days before it, a range whole WIB days from one date to another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import InvalidInput, NotFound
from geo.times import WIB, format_wib, iso_utc, utcnow
from store.events import EventHub
from store.models import Base
from store.types import JSONType, UTCDateTime

__all__ = [
    "DEFAULT_REPORT_CLOCK",
    "FILE_TYPES",
    "LANGS",
    "MAX_RANGE_DAYS",
    "REPORT_KINDS",
    "Period",
    "RenderedFile",
    "Report",
    "ReportFile",
    "claim_report",
    "fail_report",
    "fail_stale_reports",
    "finish_report",
    "get_report",
    "list_reports",
    "one_report",
    "pending_report_ids",
    "read_report_file",
    "report_period",
    "report_public",
    "request_report",
]

REPORT_KINDS = ("daily", "weekly", "range")
STATUSES = ("pending", "running", "ready", "failed")
LANGS = ("id", "en")
FILE_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
# A range report reads every incident of the range: a year is what a leader asks for (an annual report).
MAX_RANGE_DAYS = 366
DEFAULT_REPORT_CLOCK = time(7, 0)
KIND_WORDS = {
    "daily": ("harian", "daily"),
    "weekly": ("mingguan", "weekly"),
    "range": ("rentang", "range"),
}


class Report(Base):
    """One situation report: what period it covers, in which language, who asked, where it stands."""

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint("kind IN ('daily','weekly','range')", name="ck_report_kind"),
        CheckConstraint("status IN ('pending','running','ready','failed')", name="ck_report_status"),
        CheckConstraint("lang IN ('id','en')", name="ck_report_lang"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    lang: Mapped[str] = mapped_column(String(2), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The scheduled daily report of one period is made once, whichever worker gets there first.
    schedule_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Headline figures of a ready report (incidents, hotspots, flooded desa...), for the list.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ReportFile(Base):
    """A file of a ready report (its PDF or its HTML map), with its size and SHA-256."""

    __tablename__ = "report_file"
    __table_args__ = (
        UniqueConstraint("report_id", "kind", name="uq_report_file_kind"),
        CheckConstraint("kind IN ('pdf','html')", name="ck_report_file_kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    media_type: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)


# ------------------------------------------------------------------------------------------ periods


@dataclass(frozen=True)
class Period:
    """The time a report covers: [start, end) in UTC, and the kind of report it is."""

    kind: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        """The length of the period in days."""
        return (self.end - self.start).total_seconds() / 86_400

    def label(self, lang: str) -> str:
        """'05-12-2026 07:00 WIB – 06-12-2026 07:00 WIB' (the end is not included)."""
        return f"{format_wib(self.start)} – {format_wib(self.end)}"

    def basename(self, lang: str) -> str:
        """The file name stem: 'sitrep-barsel-harian-2026-12-06', 'sitrep-barsel-2026-11-01_2026-11-30'."""
        word = KIND_WORDS[self.kind][0 if lang == "id" else 1]
        last = self.end.astimezone(WIB).date()
        if self.kind == "range":
            first = self.start.astimezone(WIB).date()
            return f"sitrep-barsel-{first.isoformat()}_{(last - timedelta(days=1)).isoformat()}"
        return f"sitrep-barsel-{word}-{last.isoformat()}"


def _latest_report_time(now: datetime, clock: time) -> datetime:
    """The latest report time (WIB clock) at or before `now`, as UTC."""
    local = now.astimezone(WIB)
    at = datetime.combine(local.date(), clock, tzinfo=WIB)
    if at > local:
        at -= timedelta(days=1)
    return at.astimezone(UTC)


def report_period(
    kind: str,
    *,
    now: datetime,
    clock: time | None = None,
    on: date | None = None,
    first: date | None = None,
    last: date | None = None,
) -> Period:
    """The period of a report; InvalidInput naming the field when it cannot be made.

    daily/weekly: the 24 h / 7 days ending at the report time (`clock` WIB, 07:00 by default) of the WIB date
    `on`, or the latest report time before `now`. range: WIB days `first` to `last` inclusive, at most
    MAX_RANGE_DAYS days.
    """
    clock = clock or DEFAULT_REPORT_CLOCK
    if kind not in REPORT_KINDS:
        raise InvalidInput(
            f"Jenis laporan harus salah satu dari {', '.join(REPORT_KINDS)}",
            f"kind must be one of {', '.join(REPORT_KINDS)}",
            field="kind",
        )
    if kind in ("daily", "weekly"):
        if on is not None:
            end = datetime.combine(on, clock, tzinfo=WIB).astimezone(UTC)
            if end > now + timedelta(days=1):
                raise InvalidInput("Tanggal laporan belum tiba", "the report date is in the future", field="date")
        else:
            end = _latest_report_time(now, clock)
        return Period(kind, end - timedelta(days=1 if kind == "daily" else 7), end)
    if first is None or last is None:
        missing = "from" if first is None else "to"
        raise InvalidInput(
            "Laporan rentang memerlukan tanggal 'from' dan 'to' (YYYY-MM-DD, WIB)",
            "a range report needs the dates 'from' and 'to' (YYYY-MM-DD, WIB)",
            field=missing,
        )
    if last < first:
        raise InvalidInput(
            "Tanggal 'to' harus sama dengan atau sesudah 'from'", "'to' must be on or after 'from'", field="to"
        )
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"Rentang laporan paling lama {MAX_RANGE_DAYS} hari (diminta {days} hari); perpendek rentangnya",
            f"A report covers at most {MAX_RANGE_DAYS} days ({days} asked); shorten the range",
            field="to",
            max_days=MAX_RANGE_DAYS,
            days=days,
        )
    start = datetime.combine(first, time(0), tzinfo=WIB).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=WIB).astimezone(UTC)
    if start > now:
        raise InvalidInput("Tanggal 'from' belum tiba", "'from' is in the future", field="from")
    return Period("range", start, end)


# -------------------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class RenderedFile:
    """A finished file of a report, before it is stored."""

    kind: str  # pdf | html
    name: str
    content: bytes

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the content."""
        return hashlib.sha256(self.content).hexdigest()


class ReportNotFoundError(NotFound):
    """No report with this id (or it has no such file yet)."""


def _announce(session: Session, hub: EventHub | None, report: Report) -> None:
    if hub is not None:
        hub.publish(session, "report.updated", {"id": report.id, "status": report.status, "kind": report.kind})


def request_report(
    session: Session,
    *,
    period: Period,
    lang: str,
    actor: str | None,
    hub: EventHub | None = None,
    schedule_key: str | None = None,
    now: datetime | None = None,
) -> Report | None:
    """A pending report in the caller's transaction (announced as report.updated), for a worker to make.

    With a `schedule_key` already used (another worker scheduled it first) nothing is added and None returned.
    """
    if lang not in LANGS:
        raise InvalidInput("Bahasa laporan: id atau en", "report language: id or en", field="lang")
    report = Report(
        kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        lang=lang,
        status="pending",
        created_at=now or utcnow(),
        created_by=actor,
        schedule_key=schedule_key,
    )
    if schedule_key is None:
        session.add(report)
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(report)
        except IntegrityError:
            return None
    _announce(session, hub, report)
    return report


def pending_report_ids(session: Session) -> list[int]:
    """Reports waiting for a worker, oldest first."""
    return list(session.scalars(select(Report.id).where(Report.status == "pending").order_by(Report.id)))


def claim_report(session: Session, report_id: int, *, now: datetime | None = None) -> bool:
    """Take a pending report for this worker (pending -> running); False when another worker took it first."""
    res = session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == "pending")
        .values(status="running", started_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], res).rowcount == 1


def finish_report(
    session: Session,
    report_id: int,
    *,
    files: Sequence[RenderedFile],
    figures: dict[str, Any],
    hub: EventHub | None = None,
) -> Report:
    """Store the files and mark the report ready, in the caller's transaction (all of it or nothing)."""
    report = session.get(Report, report_id)
    if report is None:
        raise ReportNotFoundError(f"Laporan {report_id} tidak ada", f"Report {report_id} does not exist", field="id")
    session.execute(delete(ReportFile).where(ReportFile.report_id == report_id))
    for f in files:
        session.add(
            ReportFile(
                report_id=report_id,
                kind=f.kind,
                name=f.name,
                media_type=FILE_TYPES[f.kind],
                size=len(f.content),
                sha256=f.sha256,
                content=f.content,
            )
        )
    report.status, report.finished_at, report.figures, report.error = "ready", utcnow(), figures, None
    session.flush()
    _announce(session, hub, report)
    return report


def fail_report(session: Session, report_id: int, *, error: str, hub: EventHub | None = None) -> None:
    """Mark a report failed with the reason; any file it has is removed (a failed report lists none)."""
    report = session.get(Report, report_id)
    if report is None:
        return
    session.execute(delete(ReportFile).where(ReportFile.report_id == report_id))
    report.status, report.finished_at, report.error = "failed", utcnow(), error[:2000]
    session.flush()
    _announce(session, hub, report)


def fail_stale_reports(session: Session, *, started_before: datetime) -> int:
    """Reports left running by a process that died (started before the cut-off) become failed."""
    res = session.execute(
        update(Report)
        .where(Report.status == "running", Report.started_at < started_before)
        .values(
            status="failed", finished_at=utcnow(), error="terputus / interrupted (proses berhenti / process stopped)"
        )
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], res).rowcount or 0)


# ------------------------------------------------------------------------------------------ reading


def get_report(session: Session, report_id: int) -> Report:
    """The report with that id, or NotFound."""
    report = session.get(Report, report_id)
    if report is None:
        raise ReportNotFoundError(f"Laporan {report_id} tidak ada", f"Report {report_id} does not exist", field="id")
    return report


def _files_of(session: Session, ids: list[int]) -> dict[int, list[ReportFile]]:
    out: dict[int, list[ReportFile]] = {i: [] for i in ids}
    if ids:
        for f in session.scalars(select(ReportFile).where(ReportFile.report_id.in_(ids)).order_by(ReportFile.kind)):
            out[f.report_id].append(f)
    return out


def report_public(report: Report, files: list[ReportFile]) -> dict[str, Any]:
    """A report as JSON: period (UTC and WIB), status, and its files with size, checksum and download path."""
    shown = files if report.status == "ready" else []
    return {
        "id": report.id,
        "kind": report.kind,
        "lang": report.lang,
        "status": report.status,
        "period_start": iso_utc(report.period_start),
        "period_end": iso_utc(report.period_end),
        "period_wib": f"{format_wib(report.period_start)} – {format_wib(report.period_end)}",
        "created_at": iso_utc(report.created_at),
        "created_at_wib": format_wib(report.created_at),
        "created_by": report.created_by,
        "scheduled": report.schedule_key is not None,
        "finished_at": iso_utc(report.finished_at),
        "error": report.error,
        "figures": report.figures,
        "files": [
            {
                "kind": f.kind,
                "name": f.name,
                "media_type": f.media_type,
                "size": f.size,
                "sha256": f.sha256,
                "url": f"/api/reports/{report.id}/{f.kind}",
            }
            for f in shown
        ],
    }


def list_reports(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest reports with their files (content not loaded), newest first."""
    reports = list(session.scalars(select(Report).order_by(Report.id.desc()).limit(limit)))
    files = _files_of(session, [r.id for r in reports])
    return [report_public(r, files[r.id]) for r in reports]


def one_report(session: Session, report_id: int) -> dict[str, Any]:
    """One report as JSON."""
    report = get_report(session, report_id)
    return report_public(report, _files_of(session, [report.id])[report.id])


def read_report_file(session: Session, report_id: int, kind: str) -> tuple[str, str, bytes]:
    """(name, media type, bytes) of a ready report's file; NotFound while it is not ready or for another kind."""
    if kind not in FILE_TYPES:
        raise InvalidInput("Berkas laporan: pdf atau html", "report file: pdf or html", field="kind")
    report = get_report(session, report_id)
    row = session.execute(
        select(ReportFile.name, ReportFile.media_type, ReportFile.content).where(
            ReportFile.report_id == report_id, ReportFile.kind == kind
        )
    ).first()
    if report.status != "ready" or row is None:
        raise ReportNotFoundError(
            f"Laporan {report_id} belum siap ({report.status})",
            f"Report {report_id} is not ready ({report.status})",
            field="id",
            status=report.status,
        )
    return row[0], row[1], bytes(row[2])
