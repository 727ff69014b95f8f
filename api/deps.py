"""Dependencies injected into the routes: settings, database sessions and the shared spatial resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.config import Settings
from api.geoinput import check_point
from geo.locate import Locator


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request, committed by the route and always closed.

    GET and HEAD requests get a read session (on SpatiaLite it does not take the write lock). Opening
    a session does no I/O and neither does closing one whose transaction the route already ended, so
    those run on the event loop; a session still in a transaction (every read, or a failed write) is
    rolled back in a worker thread, because on PostgreSQL that is a round trip to the server.
    """
    state = request.app.state
    session = state.read_sessions() if request.method in ("GET", "HEAD") else state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def get_locator(request: Request) -> Locator:
    """The locator built once at start-up."""
    return request.app.state.locator


async def point_query(
    lon: Annotated[float, Query(description="Bujur / longitude, WGS84 derajat (mis. 114.85)")],
    lat: Annotated[float, Query(description="Lintang / latitude, WGS84 derajat (mis. -1.71)")],
) -> tuple[float, float]:
    """A checked (lon, lat) from the query string."""
    return check_point(lon, lat)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
LocatorDep = Annotated[Locator, Depends(get_locator)]
PointDep = Annotated[tuple[float, float], Depends(point_query)]

# Database ids are 32-bit on both backends: anything else is a 422 before a query is built.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647, description="id")]
