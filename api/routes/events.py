"""Server-Sent Events: every open map hears incidents, units and hotspots change without reloading."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.auth import current_user, request_token, token_still_valid
from api.deps import ContextDep, EventsDep
from api.errors import Forbidden, RateLimited
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
    ctx: ContextDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """A text/event-stream of platform events (incident.created, incident.updated, unit.updated, ...).

    Each SSE message: `id` and `event` (the kind) lines, and a `data` line holding the Event as JSON.
    """
    # Authenticated here, not through a session dependency: the stream may stay open for hours.
    token = request_token(request, _bearer(request))
    user = await current_user(request, _bearer(request))
    if user.role not in ("dispatcher", "supervisor", "planner", "leader", "admin"):
        raise Forbidden("Peran tidak diizinkan", "Role not allowed")
    assert token is not None  # current_user refused a request without one
    expires = ctx.tokens.claims(token, secret=ctx.settings.secret_key).expires
    lease = uuid.uuid4().hex
    full = await run_in_threadpool(ctx.streams.take, lease, user.username)
    if full is not None:
        cap = ctx.streams.per_user if full == "user" else ctx.streams.total
        raise RateLimited(
            f"Terlalu banyak aliran langsung terbuka ({'akun ini' if full == 'user' else 'server'}: {cap}); "
            "tutup tab peta yang lain",
            f"Too many live streams open ({'this account' if full == 'user' else 'server'}: {cap}); "
            "close other map tabs",
            limit=cap, scope=full, retry_after_s=30,
        )
    sub = hub.subscribe()
    recheck_s = ctx.settings.stream_recheck_s

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n: SIGAP 112 live\n\n"
            for ev in hub.since(last_event_id):
                yield _frame(ev)
            next_check = time.monotonic() + recheck_s
            # The loop wakes at least every HEARTBEAT_S; the lease (at least 3 of those) is renewed each third.
            renew_every = ctx.streams.lease_s / 3
            renew_at = time.monotonic() + renew_every
            while True:
                if time.monotonic() >= renew_at:
                    await run_in_threadpool(ctx.streams.renew, lease, user.username)
                    renew_at = time.monotonic() + renew_every
                now_wall = time.time()
                if now_wall >= expires:
                    yield "event: session.ended\ndata: {\"reason\":\"expired\"}\n\n"
                    return
                if time.monotonic() >= next_check:
                    # Logout, password or role change, disabling: the stream ends like any other request would.
                    if not await run_in_threadpool(token_still_valid, ctx, token):
                        yield "event: session.ended\ndata: {\"reason\":\"revoked\"}\n\n"
                        return
                    next_check = time.monotonic() + recheck_s
                wait = min(HEARTBEAT_S, expires - now_wall, max(0.0, next_check - time.monotonic()))
                try:
                    # asyncio.timeout, not wait_for: no extra task per event.
                    async with asyncio.timeout(max(0.01, wait)):
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
            # Shielded: a disconnect cancels this generator, and the slot must still be given back (or it
            # stays taken until its lease lapses).
            await asyncio.shield(run_in_threadpool(ctx.streams.give_back, lease))

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None
