"""The application context: every shared resource of a running API process, built once in the lifespan.

Routes receive it (or one of its parts) through the ``Annotated`` dependencies of ``api/deps.py``; no route
writes it. Two parts change while the process runs, each replaced whole by its owner and never edited in
place: the spatial snapshot (when an imported road network gives the locator new roads, swapped by the
travel service) and the background tasks list (start-up and shut-down only).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth_cache import PrincipalCache, TokenCache
from api.batch_pool import BatchPool
from api.config import Settings
from api.limits import TokenBuckets
from api.spatial import Spatial, build_spatial, real_roads, with_roads
from api.streams import KeyLocks, StreamSlots
from geo.floods import PolygonRules
from store.accounts import account_epoch_reader, disable_demo_accounts
from store.catalog import DEFAULT_CATALOG_PATH, Catalog, load_catalog
from store.commands import Writer
from store.crew_positions import PositionWriter
from store.db import make_engine, make_read_sessionmaker, make_sessionmaker, session_scope
from store.desk_intake import DeskCallWriter
from store.events import EventHub
from store.hotspot_stats import HotspotCache
from store.intake import CallWriter
from store.layers import read_layers
from store.migrate import upgrade
from store.network import LineSet, read_lines
from store.travel import TravelService

log = logging.getLogger("sigap")

# A background job of the process (the FIRMS pull, the travel network follower): started with the context,
# cancelled when it closes. It receives the context and runs until cancelled.
BackgroundJob = Callable[["AppContext"], Awaitable[None]]


@dataclass(eq=False)
class AppContext:
    """Settings, database, spatial snapshot, catalog, travel model, event hub and call writer of one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    events: EventHub
    catalog: Catalog
    travel: TravelService
    call_writer: CallWriter
    principals: PrincipalCache
    tokens: TokenCache
    streams: StreamSlots
    idempotency: KeyLocks
    batches: asyncio.Semaphore
    batch_pool: BatchPool
    # Flood polygon repairs: their own lower-priority child, so a repair never waits behind a locate batch.
    repair_pool: BatchPool
    # SQLite has one writer at a time and its busy handler waits by sleeping (1, 2, 5 ... 100 ms): under load,
    # threads polling the write lock wait far longer than the write takes. Queueing this process's incident
    # writes on a Python lock hands the database lock over without sleeps. PostgreSQL needs none.
    write_lock: threading.Lock | None
    # The call desk's group-commit writer (desk calls typed by operators, most of them not emergencies).
    desk_writer: DeskCallWriter | None = None
    # Crew phones' GPS positions, group-committed (300 phones every 10 s: one transaction per batch, not per fix).
    position_writer: PositionWriter | None = None
    # Per crew device: how many positions and taps it may still send (a flood from one phone is a 429).
    crew_buckets: TokenBuckets = field(default_factory=TokenBuckets)
    # The planner page's hotspot windows, keyed by the hotspot data version (store.hotspot_stats.HotspotCache).
    hotspot_cache: HotspotCache = field(default_factory=HotspotCache)
    # Set when notifications were queued: the notification worker sends them without waiting for its poll.
    notify_wake: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _spatial: Spatial | None = None

    @property
    def spatial(self) -> Spatial:
        """The current spatial snapshot (layers, locator, place index, encoded layers)."""
        assert self._spatial is not None
        return self._spatial

    def replace_roads(self, lines: LineSet) -> None:
        """Give the locator the roads of a newly stored network: a new snapshot, swapped in one assignment."""
        self._spatial = with_roads(self.spatial, lines)

    def writer(self, *, actor: str | None, client: str | None) -> Writer:
        """The writer the store's commands work through for one actor (sessions, event hub, write queue)."""
        return Writer(sessions=self.sessions, hub=self.events, lock=self.write_lock, actor=actor, client=client)

    @property
    def polygon_rules(self) -> PolygonRules:
        """Flood polygon limits: the vertex cap, and repairs in the repair process under a deadline."""
        timeout = self.settings.flood_repair_timeout_s
        return PolygonRules(max_vertices=self.settings.flood_max_vertices,
                            repair=lambda geom: self.repair_pool.repair(geom, timeout_s=timeout))

    def task_running(self, name: str) -> bool:
        """True while the named background job is running."""
        task = self.tasks.get(name)
        return task is not None and not task.done()

    # -- life cycle ----------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings) -> AppContext:
        """Connect, migrate, read the layers and build every shared resource (the blocking part of start-up)."""
        engine = make_engine(settings.database_url, spatialite_library_path=settings.spatialite_library_path)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with session_scope(sessions) as session:
            if not settings.demo_accounts_allowed:
                # Demo accounts have published passwords: outside demo mode on this machine they are off.
                disabled = disable_demo_accounts(session)
                if disabled:
                    log.warning("%d akun demo dinonaktifkan / demo accounts disabled", disabled)
            layers = read_layers(session)
            roads = read_lines(session)
        # The locator snaps to stored roads: built once with them, not once without and again with.
        spatial = build_spatial(replace(layers, roads=real_roads(roads)))
        events = EventHub(engine)
        write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        ctx = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            read_sessions=make_read_sessionmaker(engine),
            events=events,
            catalog=load_settings_catalog(settings),
            travel=TravelService(sessions=sessions, layers=layers),
            call_writer=CallWriter(sessions=sessions, hub=events, lock=write_lock),
            principals=PrincipalCache(allow_demo=settings.demo_accounts_allowed, epoch=account_epoch_reader(engine),
                                      listening=events.listening),
            tokens=TokenCache(),
            streams=StreamSlots(sessions=sessions, per_user=settings.streams_per_user, total=settings.streams_total,
                                lease_s=settings.stream_lease_s),
            idempotency=KeyLocks(),
            batches=asyncio.Semaphore(max(1, settings.batch_processes)),
            batch_pool=BatchPool(processes=settings.batch_processes, nice=settings.batch_nice),
            repair_pool=BatchPool(processes=min(1, settings.batch_processes), nice=settings.batch_nice),
            write_lock=write_lock,
            desk_writer=DeskCallWriter(sessions=sessions, hub=events, lock=write_lock),
            position_writer=PositionWriter(sessions=sessions, hub=events, lock=write_lock,
                                           name="sigap-position-writer"),
            _spatial=spatial,
        )
        ctx.travel.on_rebuild = ctx.replace_roads
        events.on_accounts_changed.append(ctx.principals.accounts_changed)
        ctx.travel.load()
        return ctx

    def start(self, jobs: dict[str, BackgroundJob]) -> None:
        """Start the event listener, the call writer and the background jobs on the running event loop."""
        self.events.start()
        self.call_writer.start()
        if self.desk_writer is not None:
            self.desk_writer.start()
        if self.position_writer is not None:
            self.position_writer.start()
        loop = asyncio.get_running_loop()
        for name, job in jobs.items():
            self.tasks[name] = loop.create_task(_logged(name, job(self)), name=f"sigap-{name}")

    def close(self) -> None:
        """Cancel the background jobs, write the queued calls, stop listening and close the database."""
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        # The notification job waits for work in a thread, which cancelling the job does not end: shutting the
        # event loop down would wait for it (up to its poll interval, notify.POLL_S).
        self.notify_wake.set()
        self.call_writer.stop()
        if self.desk_writer is not None:
            self.desk_writer.stop()
        if self.position_writer is not None:
            self.position_writer.stop()
        self.events.stop()
        self.batch_pool.close()
        self.repair_pool.close()
        self.engine.dispose()


def load_settings_catalog(settings: Settings) -> Catalog:
    """The catalog of the configured data directory, or the bundled one when that directory has none."""
    path = settings.data_dir / "catalog.yaml"
    return load_catalog(path if path.exists() else DEFAULT_CATALOG_PATH)


async def _logged(name: str, job: Awaitable[Any]) -> None:
    try:
        await job
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background job %s stopped", name)
