"""Request body size limits and per-client rate limits, enforced before a worker spends time on a request."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio
import orjson
from sqlalchemy.exc import SQLAlchemyError

from store.accounts import audit_read
from store.trust import take_shared

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


@dataclass(frozen=True)
class RateRule:
    """At most `per_minute` requests of `method` to paths starting with `prefix` (or equal to it, when `exact`),
    per client address."""

    method: str
    prefix: str
    per_minute: int
    exact: bool = False

    def matches(self, method: str, path: str) -> bool:
        """True when a request of this method to this path counts against the rule."""
        return method == self.method and (path == self.prefix if self.exact else path.startswith(self.prefix))


class TokenBuckets:
    """Token buckets per (client, rule); refilled continuously."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str], per_minute: int) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        now = time.monotonic()
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


def _error(status: int, message_id: str, message_en: str, **extra: object) -> tuple[int, bytes]:
    code = {408: "request_timeout", 413: "payload_too_large", 422: "invalid", 429: "too_many_requests"}[status]
    body = {"error": code, "message": f"{message_id} / {message_en}", "message_id": message_id,
            "message_en": message_en, **extra}
    return status, orjson.dumps(body)


class GuardMiddleware:
    """Refuse oversize bodies (413) and request floods (429) before they reach a route."""

    def __init__(self, app: ASGIApp, *, default_limit: int, path_limits: dict[str, int],
                 rate_rules: list[RateRule], body_timeout_s: float = 20.0, body_min_rate: int = 50_000) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s
        self.body_min_rate = body_min_rate
        self.default_limit = default_limit
        self.path_limits = path_limits
        self.rate_rules = rate_rules
        self.buckets = TokenBuckets()

    async def _take(self, scope: dict, client: str, rule: RateRule) -> float:
        """Take a token from the (client, rule) bucket: in the database, shared by every worker, when the app runs.

        The client is the connection's address, which uvicorn replaces by X-Forwarded-For only for requests from
        the configured reverse proxy (forwarded_allow_ips): a direct client cannot rotate it to dodge the limit.
        """
        ctx = _context(scope)
        if ctx is None:
            return self.buckets.take((client, rule.prefix), rule.per_minute)
        key = f"{rule.method} {rule.prefix}{'$' if rule.exact else ''} {client}"
        try:
            return await anyio.to_thread.run_sync(
                lambda: take_shared(ctx.sessions, key=key, per_minute=rule.per_minute))
        except SQLAlchemyError:
            # The limiter never takes the platform down with it: without the database, this process's buckets.
            return self.buckets.take((client, rule.prefix), rule.per_minute)

    async def _refused(self, scope: dict, client: str, rule: RateRule) -> None:
        """Audit a refused login attempt (who is unknown before the form is read: the client address is kept)."""
        ctx = _context(scope)
        if ctx is None or rule.prefix != "/api/auth/token":
            return
        with contextlib.suppress(SQLAlchemyError):
            await anyio.to_thread.run_sync(lambda: audit_read(
                ctx.sessions, actor=None, action="login_rate_limited", entity="user",
                query={"limit_per_minute": rule.per_minute}, rows=0, client=client))

    def limit_for(self, path: str) -> int:
        """The body size allowed for a path (longest matching prefix, else the default)."""
        best = ""
        for prefix in self.path_limits:
            if path.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.path_limits[best] if best else self.default_limit

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        bad = _nul_field(scope.get("query_string") or b"")
        if bad is not None:
            # PostgreSQL cannot hold NUL in text: said here, naming the field, for every route at once.
            await _respond(send, *_error(
                422, f"'{bad}' tidak boleh berisi karakter NUL", f"'{bad}' must not contain the NUL character",
                field=bad))
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        for rule in self.rate_rules:
            if rule.matches(method, path):
                wait = await self._take(scope, client, rule)
                if wait > 0:
                    await self._refused(scope, client, rule)
                    await _respond(send, *_error(
                        429, f"Terlalu banyak permintaan; coba lagi dalam {wait:.0f} detik",
                        f"Too many requests; try again in {wait:.0f} s", limit_per_minute=rule.per_minute),
                        retry_after=max(1, round(wait)))
                    return
        if method not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(path)
        declared = next((v for k, v in scope.get("headers") or [] if k == b"content-length"), None)
        size_hint = int(declared) if declared is not None and declared.isdigit() else 0
        if size_hint > limit:
            await _respond(send, *_too_large(size_hint, limit))
            return
        # The body is read here, against a deadline and the size limit, and replayed to the route: a slow or
        # endless upload costs one buffer and is cut off, never a worker held for minutes.
        deadline = time.monotonic() + self.body_timeout_s + size_hint / self.body_min_rate
        chunks, size, more = [], 0, True
        while more:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                async with asyncio.timeout(left):
                    message = await receive()
            except TimeoutError:
                await _respond(send, *_error(
                    408, "Badan permintaan terlalu lambat dikirim", "Request body arrived too slowly"),
                    close=True)
                return
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await _respond(send, *_too_large(size, limit))
                return
            chunks.append(body)
            more = message.get("more_body", False)
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive() -> dict:
            return replay.pop() if replay else await receive()

        await self.app(scope, replay_receive, send)


def _context(scope: dict):  # noqa: ANN202 - the AppContext, when the lifespan has built it
    state = getattr(scope.get("app"), "state", None)
    return getattr(state, "ctx", None)


def _nul_field(query: bytes) -> str | None:
    """The first query parameter holding a NUL character, or None (the common case costs one search)."""
    if b"%00" not in query and b"\x00" not in query:
        return None
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "")[:40] or "query"
    return None


def _too_large(size: int, limit: int) -> tuple[int, bytes]:
    return _error(413, f"Badan permintaan {size} byte melebihi batas {limit} byte",
                  f"Request body of {size} bytes exceeds the limit of {limit} bytes", limit=limit)


async def _respond(send: Callable[[dict], Awaitable[None]], status: int, body: bytes, *,
                   retry_after: int | None = None, close: bool = False) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
