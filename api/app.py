"""The FastAPI application factory: shared resources are built once in the lifespan into one AppContext."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from api import auth
from api.compression import GzipMiddleware
from api.config import Settings, get_settings
from api.context import AppContext, BackgroundJob
from api.errors import install_error_handlers
from api.limits import GuardMiddleware, RateRule
from api.notify import notification_worker
from api.routes import (
    assignments,
    audit,
    calls,
    crew,
    events,
    exports,
    floods,
    ground_checks,
    health,
    heat_sources,
    hotspots,
    incidents,
    jobs,
    layers,
    locate,
    ogc,
    pages,
    reports,
    search,
    stats,
    telephony,
    units,
)
from api.routes.locate import BYTES_PER_POINT
from api.schemas import add_schemas
from api.security import SecurityHeadersMiddleware
from geo.times import utcnow
from store.db import session_scope
from store.travel import follow_network_changes

log = logging.getLogger("sigap")

DESCRIPTION = """SIGAP 112 — peta situasi dan dispatch Call Center 112 Kabupaten Barito Selatan.
GIS situational awareness and dispatch for Call Center 112, Barito Selatan regency (Kalimantan Tengah).
Koordinat WGS84 (EPSG:4326) [lon, lat]; waktu disimpan UTC, ditampilkan WIB."""


# Per client address and minute: batch and upload endpoints are the expensive ones (logins: `login_rules`).
RATE_LIMITS = [("POST", "/api/locate", 120), ("POST", "/api/hotspots/upload", 20),
               ("POST", "/api/floods/import", 20), ("POST", "/api/reports", 10)]


def login_rules(settings: Settings) -> list[RateRule]:
    """Each login attempt costs an argon2 hash (tenths of a second of CPU): a client's guesses are limited."""
    return [RateRule("POST", "/api/auth/token", settings.login_attempts_per_minute)]



def flood_rules(settings: Settings) -> list[RateRule]:
    """Drawing or editing a flood zone repairs and intersects its polygon: the costliest write a client can repeat."""
    n = settings.flood_writes_per_minute
    return [RateRule("POST", "/api/floods", n, exact=True), RateRule("PATCH", "/api/floods/", n)]


# Each concern adds its router here, in one place. Routes are matched in
# this order: call intake, the busiest path under load, comes first; the page catch-all stays last.
ROUTERS = [
    incidents.router, health.router, auth.router, audit.router, locate.router, layers.router, events.router,
    units.router, assignments.router, hotspots.router, floods.router, jobs.router, stats.router, reports.router,
    ogc.router, exports.router, calls.router, telephony.router, search.router,
    heat_sources.router, ground_checks.router, crew.router,
    pages.router,
]


async def _follow_network(ctx: AppContext) -> None:
    """The travel network follower of this process (rebuilds on another worker's new network)."""
    await follow_network_changes(ctx.travel, ctx.events)


async def _refresh_hotspots(ctx: AppContext) -> None:
    """Read the planners' recent hotspot windows anew soon after the hotspot data changes (see HotspotCache)."""
    interval = ctx.settings.hotspot_refresh_s
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(_refresh_once, ctx)
        except SQLAlchemyError:  # the database away for a moment: the next round tries again
            log.warning("hotspot windows not refreshed; retrying", exc_info=True)


def _refresh_once(ctx: AppContext) -> None:
    with session_scope(ctx.read_sessions) as session:
        ctx.hotspot_cache.refresh(session, now=utcnow())


def lifespan_for(jobs: dict[str, BackgroundJob]) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The lifespan that builds the context, starts the background jobs and closes everything at shut-down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings: Settings = app.state.settings
        sys.setswitchinterval(settings.gil_switch_ms / 1000)
        ctx = AppContext.open(settings)
        app.state.ctx = ctx
        ctx.start({"travel": _follow_network, "notify": notification_worker, "hotspots": _refresh_hotspots, **jobs})
        # Everything built so far (layers, spatial indexes, road graph: ~250,000 objects) lives as long as the
        # process. Left to the collector, each full collection walks all of it and stalls every request for
        # ~120 ms; frozen, collections only walk what requests create.
        gc.collect()
        gc.freeze()
        log.info("SIGAP 112 ready on %s", ctx.engine.dialect.name)
        try:
            yield
        finally:
            ctx.close()

    return lifespan


def create_app(settings: Settings | None = None, *, jobs: dict[str, BackgroundJob] | None = None) -> FastAPI:
    """Build the SIGAP 112 API for the given settings (the environment's when omitted).

    ``jobs``: background jobs the process runs beside the API (``jobs/server.py`` passes the scheduled ones).
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="SIGAP 112 Barito Selatan",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan_for(jobs or {}),
        # SIGAP exports no OpenTelemetry; left on, FastAPI looks up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # The interactive docs load from a CDN: off in production (the OpenAPI document itself stays).
        docs_url=None if settings.mode == "production" else "/docs",
        redoc_url=None if settings.mode == "production" else "/redoc",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(GzipMiddleware, minimum_size=2048)
    app.add_middleware(SecurityHeadersMiddleware, basemap_url=settings.basemap_url)
    app.add_middleware(
        GuardMiddleware,
        default_limit=settings.max_upload_bytes,
        path_limits={"/api/locate": settings.max_batch_points * BYTES_PER_POINT + 1024},
        rate_rules=[RateRule(m, p, n) for m, p, n in RATE_LIMITS] + login_rules(settings) + flood_rules(settings),
        body_timeout_s=settings.body_timeout_s,
        body_min_rate=settings.body_min_rate,
    )
    for router in ROUTERS:
        app.include_router(router)
    _document_extra_schemas(app)
    return app


def _document_extra_schemas(app: FastAPI) -> None:
    """Add the answers' second media types (GeoJSON beside JSON) and their models to the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = add_schemas(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
