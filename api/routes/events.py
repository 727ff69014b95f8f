"""Server-Sent Events: every open map hears incidents, units and hotspots change without reloading."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from api.auth import current_user
from api.deps import EventsDep
from api.errors import Forbidden
from api.schemas import also_as
from api.schemas.events import Event

router = APIRouter(prefix="/api", tags=["events"])
HEARTBEAT_S = 15.0


# Every listener of a worker sends the same frame for an event: encode it once (the event loop's thread
# is the only caller, so a plain dict is enough).
_FRAMES: dict[str, str] = {}
_MAX_FRAMES = 2048


def _frame(ev: dict) -> str:
    frame = _FRAMES.get(ev["id"])
    if frame is None:
        if len(_FRAMES) >= _MAX_FRAMES:
            _FRAMES.clear()
        data = json.dumps(ev, default=str, separators=(",", ":"))
        frame = _FRAMES[ev["id"]] = f"id: {ev['id']}\nevent: {ev['kind']}\ndata: {data}\n\n"
    return frame


@router.get(
    "/events",
    summary="Aliran kejadian langsung / live event stream (SSE)",
    response_class=StreamingResponse,
    responses=also_as("text/event-stream", Event),
)
async def events(
    request: Request,
    hub: EventsDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """A text/event-stream of platform events (incident.created, incident.updated, unit.updated, ...).

    Each SSE message: `id` and `event` (the kind) lines, and a `data` line holding the Event as JSON.
    """
    # Authenticated here, not through a session dependency: the stream may stay open for hours.
    user = await current_user(request, _bearer(request))
    if user.role not in ("dispatcher", "supervisor", "planner", "leader", "admin"):
        raise Forbidden("Peran tidak diizinkan", "Role not allowed")
    sub = hub.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n: SIGAP 112 live\n\n"
            for ev in hub.since(last_event_id):
                yield _frame(ev)
            while True:
                try:
                    # asyncio.timeout, not wait_for: no extra task per event.
                    async with asyncio.timeout(HEARTBEAT_S):
                        first = await sub.queue.get()
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": ping\n\n"
                    continue
                # Whatever queued up meanwhile goes out in one write.
                frames = [_frame(first)]
                while not sub.queue.empty():
                    frames.append(_frame(sub.queue.get_nowait()))
                yield "".join(frames)
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None
