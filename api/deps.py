"""Dependencies injected into the routes: the application context and its parts, sessions, checked input.

Every shared resource reaches a route through one of these ``Annotated`` aliases; routes never read or write
``app.state`` themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.config import Settings
from api.context import AppContext
from api.spatial import Spatial
from geo.coords import check_point
from geo.locate import Locator
from geo.placenames import PlaceIndex
from store.accounts import clip_client
from store.catalog import Catalog
from store.events import EventHub
from store.intake import CallWriter
from store.travel import TravelService


async def get_context(request: Request) -> AppContext:
    """The context built in the lifespan."""
    return request.app.state.ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_settings_dep(ctx: ContextDep) -> Settings:
    """The settings the app was built with."""
    return ctx.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request, committed by the route and always closed.

    GET and HEAD requests get a read session (on SpatiaLite it does not take the write lock). Opening
    a session does no I/O and neither does closing one whose transaction the route already ended, so
    those run on the event loop; a session still in a transaction (every read, or a failed write) is
    rolled back in a worker thread, because on PostgreSQL that is a round trip to the server.
    """
    ctx: AppContext = request.app.state.ctx  # read directly: one dependency level less on every request
    session = ctx.read_sessions() if request.method in ("GET", "HEAD") else ctx.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def get_spatial(ctx: ContextDep) -> Spatial:
    """The spatial snapshot current when the request arrived."""
    return ctx.spatial


async def get_locator(ctx: ContextDep) -> Locator:
    """The locator of the current spatial snapshot."""
    return ctx.spatial.locator


async def get_places(ctx: ContextDep) -> PlaceIndex:
    """The place-name index."""
    return ctx.spatial.places


async def get_catalog(ctx: ContextDep) -> Catalog:
    """The category/agency/unit-type catalog."""
    return ctx.catalog


async def get_events(ctx: ContextDep) -> EventHub:
    """The live event hub."""
    return ctx.events


async def get_travel(ctx: ContextDep) -> TravelService:
    """The travel network service."""
    return ctx.travel


async def get_call_writer(ctx: ContextDep) -> CallWriter:
    """The group-commit call writer."""
    return ctx.call_writer


def client_address(request: Request) -> str | None:
    """The address a request came from, for the audit record (a plain function: no dependency level).

    Behind a proxy the address comes from X-Forwarded-For, text anyone can write: it is clipped to the audit
    column and stripped of control characters so it can never refuse a call.
    """
    return clip_client(request.client.host if request.client else None)


async def point_query(
    lon: Annotated[float, Query(description="Bujur / longitude, WGS84 derajat (mis. 114.85)")],
    lat: Annotated[float, Query(description="Lintang / latitude, WGS84 derajat (mis. -1.71)")],
) -> tuple[float, float]:
    """A checked (lon, lat) from the query string."""
    return check_point(lon, lat)


async def get_public_base(ctx: ContextDep) -> str:
    """The platform's public address for links in answers: SIGAP_PUBLIC_URL, never the request's Host header."""
    return ctx.settings.public_base


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PublicBaseDep = Annotated[str, Depends(get_public_base)]
SessionDep = Annotated[Session, Depends(get_session)]
SpatialDep = Annotated[Spatial, Depends(get_spatial)]
LocatorDep = Annotated[Locator, Depends(get_locator)]
PlacesDep = Annotated[PlaceIndex, Depends(get_places)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
EventsDep = Annotated[EventHub, Depends(get_events)]
TravelDep = Annotated[TravelService, Depends(get_travel)]
CallWriterDep = Annotated[CallWriter, Depends(get_call_writer)]
PointDep = Annotated[tuple[float, float], Depends(point_query)]

# Database ids are 32-bit on both backends: anything else is a 422 before a query is built.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647, description="id")]
