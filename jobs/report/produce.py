"""Making reports: gather the period, render the PDF and the HTML map, store them (or write them to a folder).

Three ways in, one way through (`make_report` / `render_files`):
- `sigap report daily|weekly|range --out DIR` renders in its own process and writes the files into DIR;
- the leader page asks `POST /api/reports`, which stores a pending report and announces it; the report worker
  of an API process claims it and renders it in a separate process (the PDF and the figures are CPU work that
  must not hold up the call desk's requests), then stores the files and marks it ready, in one transaction;
- the scheduled daily report: at SIGAP_REPORT_TIME (07:00 WIB) the worker holding the report lock (one of
  several on PostGIS) adds the pending daily report, once per period (a unique schedule key).

A report that fails midway is marked failed with the reason and lists no file; a folder gets both files or none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time as monotonic
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.batch_pool import child_process_init
from api.config import Settings
from api.context import AppContext, load_settings_catalog
from geo.layers import Layers
from geo.times import utcnow
from store.catalog import Catalog
from store.db import make_engine, make_sessionmaker, session_scope
from store.events import EventHub
from store.layers import read_layers
from store.reports import (
    Period,
    RenderedFile,
    Report,
    claim_report,
    fail_report,
    fail_stale_reports,
    finish_report,
    pending_report_ids,
    report_period,
    request_report,
)
from store.sitrep import Sitrep, gather_sitrep

__all__ = [
    "DEFAULT_RENDERERS",
    "ReportWorker",
    "daily_report_loop",
    "gather",
    "make_report",
    "next_report_time",
    "render_files",
    "reports_job",
    "write_files",
]

log = logging.getLogger("sigap.reports")

Renderer = Callable[[Sitrep, str], bytes]
REPORT_LOCK_KEY = 0x51_6A_70_52  # the scheduled report's advisory lock (FIRMS has its own)
POLL_S = 60.0  # a request announced on another worker is also found by this poll if its event was missed
STALE_AFTER = timedelta(minutes=30)


def _pdf(s: Sitrep, lang: str) -> bytes:
    from jobs.report.pdf import render_pdf

    return render_pdf(s, lang)


def _html(s: Sitrep, lang: str) -> bytes:
    from jobs.report.htmlmap import render_html_map

    return render_html_map(s, lang)


DEFAULT_RENDERERS: dict[str, Renderer] = {"pdf": _pdf, "html": _html}
SUFFIX = {"pdf": ("", ".pdf"), "html": ("-peta", ".html")}
SUFFIX_EN = {"pdf": ("", ".pdf"), "html": ("-map", ".html")}


def gather(session: Session, *, period: Period, now: datetime, layers: Layers, catalog: Catalog,
           settings: Settings) -> Sitrep:  # fmt: skip
    """The Sitrep of a period with the configured flooded share and response targets."""
    return gather_sitrep(
        session,
        period=period,
        now=now,
        layers=layers,
        catalog=catalog,
        flooded_share=settings.flooded_share,
        dispatch_target_s=settings.target_dispatch_minutes * 60,
        scene_target_s=settings.target_scene_minutes * 60,
    )


def render_files(
    s: Sitrep, lang: str, *, renderers: Mapping[str, Renderer] = DEFAULT_RENDERERS
) -> list[RenderedFile]:
    """The report's files (PDF first, then the HTML map); raises whatever a renderer raises."""
    stem = s.period.basename(lang)
    suffixes = SUFFIX if lang == "id" else SUFFIX_EN
    return [
        RenderedFile(kind, f"{stem}{suffixes[kind][0]}{suffixes[kind][1]}", render(s, lang))
        for kind, render in renderers.items()
    ]


def write_files(files: Sequence[RenderedFile], out_dir: Path) -> list[Path]:
    """Write every file into `out_dir`, all or none: each goes to a hidden temporary name, then all are renamed.

    When a rename fails, the files already renamed are removed again: the folder never holds half a report.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for f in files:
            tmp = out_dir / f".{f.name}.{os.getpid()}.part"
            staged.append((tmp, out_dir / f.name))
            tmp.write_bytes(f.content)
        for tmp, final in staged:
            os.replace(tmp, final)
            placed.append(final)
    except BaseException:
        for path in [tmp for tmp, _ in staged] + placed:
            path.unlink(missing_ok=True)
        raise
    return placed


def make_report(
    sessions: sessionmaker[Session],
    report_id: int,
    *,
    settings: Settings,
    layers: Layers,
    catalog: Catalog,
    renderers: Mapping[str, Renderer] = DEFAULT_RENDERERS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Render a claimed report and store its files (ready), or mark it failed; returns the outcome."""
    started = monotonic.monotonic()
    try:
        with session_scope(sessions) as session:
            report = session.get(Report, report_id)
            period = Period(report.kind, report.period_start, report.period_end)
            lang = report.lang
            sitrep = gather(session, period=period, now=now or utcnow(), layers=layers, catalog=catalog,
                            settings=settings)  # fmt: skip
        files = render_files(sitrep, lang, renderers=renderers)
        with session_scope(sessions) as session:
            finish_report(session, report_id, files=files, figures=sitrep.figures())
        seconds = round(monotonic.monotonic() - started, 2)
        log.info("report %s ready in %.1f s (%s)", report_id, seconds, ", ".join(f.name for f in files))
        return {"ok": True, "id": report_id, "seconds": seconds, "files": [f.name for f in files]}
    except Exception as exc:
        log.exception("report %s failed", report_id)
        message = f"{exc.__class__.__name__}: {exc}"
        with contextlib.suppress(Exception), session_scope(sessions) as session:
            fail_report(session, report_id, error=message)
        return {"ok": False, "id": report_id, "error": message}


def make_report_in_process(settings: Settings, report_id: int) -> dict[str, Any]:
    """`make_report` in a worker process of its own: its own engine, layers and catalog (picklable arguments)."""
    engine = make_engine(settings.database_url, spatialite_library_path=settings.spatialite_library_path)
    try:
        sessions = make_sessionmaker(engine)
        with session_scope(sessions) as session:
            layers = read_layers(session)
        return make_report(
            sessions, report_id, settings=settings, layers=layers, catalog=load_settings_catalog(settings)
        )
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------ the schedule


def next_report_time(now: datetime, clock: time) -> datetime:
    """The first report time (WIB `clock`) strictly after `now`, as UTC."""
    latest = report_period("daily", now=now, clock=clock).end
    return latest + timedelta(days=1)


async def daily_report_loop(
    request_daily: Callable[[Period], Awaitable[Any]],
    *,
    clock: time,
    is_leader: Callable[[], Awaitable[bool]],
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> None:
    """Sleep until each report time, then (on the leading worker only) ask for the daily report of that day."""
    while True:
        due = next_report_time(now(), clock)
        while (left := (due - now()).total_seconds()) > 0:
            await sleep(left)
        try:
            if await is_leader():
                await request_daily(report_period("daily", now=due, clock=clock))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the daily report of %s could not be scheduled", due.isoformat())


# ------------------------------------------------------------------------------ the worker in the API


class ReportWorker:
    """Claims pending reports and makes them in a separate process; schedules the daily report."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        hub: EventHub | None,
        run: Callable[[int], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.hub = hub
        self.wake = asyncio.Event()
        self._executor: Executor | None = None
        self.run = run or self._run_in_process

    async def _run_in_process(self, report_id: int) -> dict[str, Any]:
        if self._executor is None:
            # spawn, not fork: the API process has threads (event listener, call writer) a fork would copy. At the
            # batches' lower priority (a PDF never slows call intake), and gone with the API process if it is killed.
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=child_process_init,
                                                 initargs=(self.settings.batch_nice,))
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, make_report_in_process, self.settings, report_id)
        except Exception as exc:  # noqa: BLE001 - the child died (killed, out of memory): the report failed
            self._executor = None
            message = f"{exc.__class__.__name__}: {exc}"
            await asyncio.to_thread(self._record_failure, report_id, message)
            return {"ok": False, "id": report_id, "error": message}

    def _record_failure(self, report_id: int, message: str) -> None:
        with session_scope(self.sessions) as session:
            fail_report(session, report_id, error=message)

    def _announce(self, report_id: int) -> None:
        """Tell every page the report's new state (the child process has no listeners of its own)."""
        if self.hub is None:
            return
        with session_scope(self.sessions) as session:
            report = session.get(Report, report_id)
            if report is not None:
                self.hub.publish(session, "report.updated", {"id": report.id, "status": report.status,
                                                              "kind": report.kind})  # fmt: skip

    def _claim(self, report_id: int) -> bool:
        with session_scope(self.sessions) as session:
            return claim_report(session, report_id)

    def _pending(self) -> list[int]:
        with session_scope(self.sessions) as session:
            return pending_report_ids(session)

    async def run_pending(self) -> list[dict[str, Any]]:
        """Make every pending report this worker manages to claim, oldest first."""
        done = []
        for report_id in await asyncio.to_thread(self._pending):
            if not await asyncio.to_thread(self._claim, report_id):
                continue  # another worker took it
            await asyncio.to_thread(self._announce, report_id)
            done.append(await self.run(report_id))
            await asyncio.to_thread(self._announce, report_id)
        return done

    def request_daily(self, period: Period) -> bool:
        """Add the pending scheduled daily report of `period`; False when another worker already added it."""
        with session_scope(self.sessions) as session:
            report = request_report(
                session,
                period=period,
                lang="id",
                actor="scheduler",
                hub=self.hub,
                schedule_key=f"daily:{period.end.isoformat()}",
            )
            return report is not None

    async def queue_loop(self, *, poll_s: float = POLL_S) -> None:
        """Make reports as they are asked for: woken by report.updated events, and by a slow poll."""
        with session_scope(self.sessions) as session:
            stale = fail_stale_reports(session, started_before=utcnow() - STALE_AFTER)
        if stale:
            log.warning("%d report(s) left running by a stopped process marked failed", stale)
        listener = asyncio.create_task(self._listen()) if self.hub is not None else None
        try:
            while True:
                try:
                    await self.run_pending()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("report worker step failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_s):
                        await self.wake.wait()
                self.wake.clear()
        finally:
            if listener is not None:
                listener.cancel()
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)

    async def _listen(self) -> None:
        assert self.hub is not None
        sub = self.hub.subscribe(maxsize=100)
        try:
            while True:
                ev = await sub.queue.get()
                if ev.get("kind") == "report.updated" and (ev.get("data") or {}).get("status") == "pending":
                    self.wake.set()
        finally:
            self.hub.unsubscribe(sub)


async def reports_job(ctx: AppContext) -> None:
    """Background job of an API process: the report queue, and the daily report at SIGAP_REPORT_TIME."""
    from jobs.scheduler import Leadership

    worker = ReportWorker(settings=ctx.settings, sessions=ctx.sessions, hub=ctx.events)
    tasks = [asyncio.create_task(worker.queue_loop(), name="sigap-report-queue")]
    clock = ctx.settings.report_clock
    leadership = Leadership(ctx.engine, key=REPORT_LOCK_KEY)
    if clock is not None:

        async def is_leader() -> bool:
            return await asyncio.to_thread(leadership.check)

        async def request(period: Period) -> None:
            if await asyncio.to_thread(worker.request_daily, period):
                log.info("daily report of %s scheduled", period.label("id"))
                worker.wake.set()

        tasks.append(asyncio.create_task(daily_report_loop(request, clock=clock, is_leader=is_leader)))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.to_thread(leadership.release)
