"""The FastAPI application factory: shared resources are built once in the lifespan and kept on app.state."""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import auth
from api.auth import PrincipalCache, TokenCache
from api.compression import GzipMiddleware
from api.config import Settings, get_settings
from api.errors import install_error_handlers
from api.limits import GuardMiddleware, RateRule
from api.routes import (
    audit,
    events,
    exports,
    floods,
    health,
    hotspots,
    incidents,
    jobs,
    layers,
    locate,
    ogc,
    pages,
    stats,
    units,
)
from api.routes.locate import BYTES_PER_POINT
from api.spatial import build_spatial_state
from api.travel import start_travel, stop_travel
from jobs.scheduler import start_firms_job, stop_firms_job
from store.db import make_engine, make_read_sessionmaker, make_sessionmaker
from store.events import EventHub
from store.migrate import upgrade

log = logging.getLogger("sigap")

DESCRIPTION = """SIGAP 112 — peta situasi dan dispatch Call Center 112 Kabupaten Barito Selatan.
GIS situational awareness and dispatch for Call Center 112, Barito Selatan regency (Kalimantan Tengah).
Koordinat WGS84 (EPSG:4326) [lon, lat]; waktu disimpan UTC, ditampilkan WIB."""


# Per client address and minute: batch and upload endpoints are the expensive ones.
RATE_LIMITS = [("POST", "/api/locate", 120), ("POST", "/api/auth/token", 30), ("POST", "/api/hotspots/upload", 20),
               ("POST", "/api/floods/import", 20)]

# Each concern adds its router and its start-up/shut-down work here, in one place. Routes are matched in
# this order: call intake, the busiest path under load, comes first; the page catch-all stays last.
ROUTERS = [
    incidents.router, health.router, auth.router, audit.router, locate.router, layers.router, events.router,
    units.router, hotspots.router, floods.router, jobs.router, stats.router, ogc.router, exports.router,
    pages.router,
]
STARTUP_HOOKS: list[Callable[[FastAPI], None]] = [incidents.startup, start_travel, start_firms_job]
SHUTDOWN_HOOKS: list[Callable[[FastAPI], None]] = [incidents.shutdown, stop_travel, stop_firms_job]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database, migrate it, build the spatial index once; dispose on shutdown."""
    settings: Settings = app.state.settings
    sys.setswitchinterval(settings.gil_switch_ms / 1000)
    engine = make_engine(settings.database_url, spatialite_library_path=settings.spatialite_library_path)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.read_sessions = make_read_sessionmaker(engine)
    upgrade(engine)
    build_spatial_state(app)
    app.state.principals = PrincipalCache()
    app.state.tokens = TokenCache()
    app.state.events = EventHub(engine)
    app.state.events.start()
    for hook in STARTUP_HOOKS:
        hook(app)
    # Everything built so far (layers, spatial indexes, road graph: ~250,000 objects) lives as long as the
    # process. Left to the collector, each full collection walks all of it and stalls every request for
    # ~120 ms; frozen, collections only walk what requests create.
    gc.collect()
    gc.freeze()
    app.state.started = time.monotonic()
    log.info("SIGAP 112 ready on %s", engine.dialect.name)
    try:
        yield
    finally:
        for hook in SHUTDOWN_HOOKS:
            hook(app)
        app.state.events.stop()
        engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the SIGAP 112 API for the given settings (the environment's when omitted)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="SIGAP 112 Barito Selatan",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        # SIGAP exports no OpenTelemetry; left on, FastAPI looks up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(GzipMiddleware, minimum_size=2048)
    app.add_middleware(
        GuardMiddleware,
        default_limit=settings.max_upload_bytes,
        path_limits={"/api/locate": settings.max_batch_points * BYTES_PER_POINT + 1024},
        rate_rules=[RateRule(m, p, n) for m, p, n in RATE_LIMITS],
    )
    for router in ROUTERS:
        app.include_router(router)
    return app
