"""The platform's small job runner: the scheduled FIRMS pull, started with the API when a FIRMS URL is set.

The FIRMS area API is
``https://firms.modaps.eosdis.nasa.gov/api/area/csv/{MAP_KEY}/{SOURCE}/{west,south,east,north}/{DAY_RANGE}``
(DAY_RANGE 1..5). `SIGAP_FIRMS_URL` may be that URL with placeholders ``{map_key}``, ``{source}``,
``{area}`` and ``{days}`` (filled from settings and the defaults below), or the base
``.../api/area/csv`` to which they are appended, or any fixed URL serving a FIRMS CSV.

One pull = download to a temporary file with httpx (connect/read timeouts) streamed in chunks, then
ingest in a worker thread (`asyncio.to_thread`) so request handling never waits. A failing pull is
logged, recorded in `job_run`, and retried with exponential backoff; nothing propagates to the app.
On PostGIS with several API workers only the worker holding a transaction-free advisory lock pulls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.context import AppContext, BackgroundJob
from geo.times import utcnow
from store.db import session_scope
from store.hotspots import JobRun, ingest_detections

log = logging.getLogger("sigap.jobs")

FIRMS_JOB = "firms-pull"
FIRMS_BASE = "https://firms.modaps.eosdis.nasa.gov/api/area/csv"
# Kalimantan Tengah with a margin (west,south,east,north): the ingest keeps the province and the border band.
FIRMS_AREA = "110.7,-3.6,116.0,0.8"
FIRMS_SOURCE = "VIIRS_SNPP_NRT"
FIRMS_DAYS = 1
ADVISORY_LOCK_KEY = 0x51_6A_70_46  # "SIGAP FIRMS": one id for every worker of one database
MAX_BACKOFF_S = 30 * 60.0


def firms_url(
    template: str, *, map_key: str | None, source: str = FIRMS_SOURCE, area: str = FIRMS_AREA, days: int = FIRMS_DAYS
) -> str:
    """The URL to fetch: placeholders filled, or the area-API path appended to a bare base URL."""
    values = {"map_key": map_key or "", "MAP_KEY": map_key or "", "source": source, "area": area, "days": days}
    if "{" in template:
        return template.format(**values)
    if template.rstrip("/").endswith("/api/area/csv"):
        return f"{template.rstrip('/')}/{map_key or ''}/{source}/{area}/{days}"
    return template


def redact(url: str, map_key: str | None) -> str:
    """The URL without the MAP_KEY, for logs and the job table."""
    return url.replace(map_key, "***") if map_key else url


class PullError(RuntimeError):
    """A FIRMS pull failed (HTTP status, timeout, not a CSV)."""


async def download(
    url: str, dest: Path, *, timeout_s: float = 60.0, connect_timeout_s: float = 10.0, max_bytes: int = 2_000_000_000
) -> int:
    """Stream `url` to `dest`; returns bytes written. Raises PullError on HTTP errors and timeouts."""
    timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
    written = 0
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code != 200:
                raise PullError(f"HTTP {resp.status_code}")
            with dest.open("wb") as out:
                async for part in resp.aiter_bytes(1 << 16):
                    written += len(part)
                    if written > max_bytes:
                        raise PullError(f"response larger than {max_bytes} bytes")
                    out.write(part)
    except httpx.TimeoutException as exc:
        raise PullError(f"timeout ({exc.__class__.__name__})") from exc
    except httpx.HTTPError as exc:
        raise PullError(f"{exc.__class__.__name__}: {exc}") from exc
    return written


@dataclass
class FirmsPuller:
    """Everything one FIRMS pull needs; `run_once` is also what a test or an admin calls directly."""

    sessions: sessionmaker[Session]
    engine: Engine
    url: str
    locator: Any
    map_key: str | None = None
    hub: Any = None
    timeout_s: float = 60.0
    source: str | None = None
    last: dict[str, Any] = field(default_factory=dict)

    def _start(self) -> int:
        with session_scope(self.sessions) as session:
            run = JobRun(job=FIRMS_JOB, started_at=utcnow(), message=redact(self.url, self.map_key))
            session.add(run)
            session.flush()
            return run.id

    def _finish(self, run_id: int, *, ok: bool, message: str, counts: dict[str, Any] | None) -> None:
        with session_scope(self.sessions) as session:
            run = session.get(JobRun, run_id)
            run.finished_at = utcnow()
            run.ok = ok
            run.message = message[:2000]
            run.counts = counts

    async def run_once(self) -> dict[str, Any]:
        """One pull: download, ingest in a thread, record the run. Never raises; returns the outcome."""
        run_id = await asyncio.to_thread(self._start)
        started = time.monotonic()
        try:
            with tempfile.TemporaryDirectory(prefix="sigap-firms-") as tmp:
                path = Path(tmp) / "firms.csv"
                size = await download(self.url, path, timeout_s=self.timeout_s)
                report = await asyncio.to_thread(
                    ingest_detections,
                    self.sessions,
                    path,
                    locator=self.locator,
                    source=self.source,
                    actor="scheduler",
                    hub=self.hub,
                )
            counts = {**report.counts(), "bytes": size, "seconds": round(time.monotonic() - started, 3)}
            outcome = {"ok": True, "message": f"{report.inserted} baru / new", "counts": counts}
        except Exception as exc:  # noqa: BLE001 - a pull must never take the API down
            log.warning("FIRMS pull failed: %s", exc)
            outcome = {"ok": False, "message": f"{exc.__class__.__name__}: {exc}", "counts": None}
        try:
            await asyncio.to_thread(self._finish, run_id, **outcome)
        except Exception:
            log.exception("could not record the FIRMS job run")
        self.last = outcome
        return outcome


class Leadership:
    """Which process pulls: always this one on SQLite; on PostGIS the holder of a session advisory lock.

    The lock lives on a dedicated connection for as long as the process runs, so exactly one worker pulls;
    when that worker dies its connection closes, the lock frees and another worker takes over.
    """

    def __init__(self, engine: Engine, *, key: int = ADVISORY_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key  # one advisory lock per job: the FIRMS pull and the daily report may lead apart
        self.conn: Any = None

    def check(self) -> bool:
        """True when this process is (or has just become) the puller."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self.conn is not None:
            try:
                self.conn.execute(text("SELECT 1"))
                self.conn.commit()
                return True
            except Exception:  # noqa: BLE001 - the connection died: the lock went with it
                with contextlib.suppress(Exception):
                    self.conn.invalidate()
                self.conn = None
        conn = self.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            self.conn = conn
        else:
            conn.close()
        return got

    def release(self) -> None:
        """Give up the lock: unlock explicitly, because a pooled connection outlives close() and keeps it."""
        if self.conn is None:
            return
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self.conn.commit()
            self.conn.close()
        except Exception:  # noqa: BLE001 - a broken connection: drop it from the pool, the lock dies with it
            with contextlib.suppress(Exception):
                self.conn.invalidate()
                self.conn.close()
        self.conn = None


async def run_periodically(
    puller: FirmsPuller,
    *,
    interval_s: float,
    initial_delay_s: float = 5.0,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> None:
    """Pull every `interval_s`; after a failure retry sooner with doubling backoff (capped at the interval)."""
    leadership = Leadership(puller.engine)
    await sleep(initial_delay_s)
    backoff = min(60.0, interval_s)
    try:
        while True:
            try:
                leader = await asyncio.to_thread(leadership.check)
                outcome = await puller.run_once() if leader else {"ok": True, "message": "another worker pulls"}
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. the database is down: keep the loop alive
                log.warning("FIRMS scheduler step failed: %s", exc)
                outcome = {"ok": False}
            if outcome.get("ok"):
                backoff = min(60.0, interval_s)
                await sleep(interval_s)
            else:
                await sleep(backoff)
                backoff = min(backoff * 2, interval_s, MAX_BACKOFF_S)
    finally:
        leadership.release()


def scheduled_jobs(settings: Settings) -> dict[str, BackgroundJob]:
    """The background jobs an API process runs beside the routes.

    The report worker always (it makes the reports asked for on the leader page, and the daily report at
    SIGAP_REPORT_TIME unless that is 'off'); the FIRMS pull when a FIRMS URL is set.
    """
    from jobs.report.produce import reports_job

    jobs: dict[str, BackgroundJob] = {"reports": reports_job}
    if settings.firms_url:
        jobs["firms"] = firms_job
    return jobs


def firms_puller(ctx: AppContext) -> FirmsPuller:
    """The FIRMS puller of a running API process, from its settings and shared resources."""
    settings = ctx.settings
    return FirmsPuller(
        sessions=ctx.sessions,
        engine=ctx.engine,
        url=firms_url(settings.firms_url or "", map_key=settings.firms_map_key),
        locator=ctx.spatial.locator,
        map_key=settings.firms_map_key,
        hub=ctx.events,
    )


async def firms_job(ctx: AppContext) -> None:
    """Background job: pull FIRMS every `firms_interval_minutes` (one worker per database pulls)."""
    settings = ctx.settings
    puller = firms_puller(ctx)
    log.info("FIRMS pull every %d min from %s", settings.firms_interval_minutes, redact(puller.url, puller.map_key))
    await run_periodically(puller, interval_s=settings.firms_interval_minutes * 60.0)
