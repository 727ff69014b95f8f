"""Gzip for large responses (map layers, GeoJSON lists, exports) over bad networks; small answers pass untouched.

Starlette's GZipMiddleware parses the headers into objects and builds a compressor for every request that
accepts gzip, most of which answer a few hundred bytes: on the call-intake path that was about 6 % of the
server's CPU. Here a response whose declared length is under the minimum, or that is already encoded or
must stream unbuffered (Server-Sent Events), is passed on as it comes; only the rest is compressed.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

import anyio.to_thread

Message = dict
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[dict, Callable[[], Awaitable[Message]], Send], Awaitable[None]]

# Already compressed, or a live stream that must not wait in a compressor's buffer.
UNCOMPRESSED_TYPES = (b"text/event-stream", b"image/", b"font/", b"audio/", b"video/", b"application/gzip",
                      b"application/zip", b"application/x-gzip")
# Larger bodies are compressed in a worker thread (zlib releases the GIL), not on the event loop.
THREAD_MINIMUM = 256 * 1024
# From this size on, the fastest level: on a 6 MB GeoJSON of 20,000 detections level 1 takes about a quarter
# of level 6's time for a body about a fifth larger (the planner's first data waited on it).
LARGE_BODY = 1024 * 1024
LARGE_LEVEL = 1


def accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a request's raw ASGI headers accept a gzip answer."""
    for name, value in headers:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


class GzipMiddleware:
    """Compress responses of at least `minimum_size` bytes for clients that accept gzip."""

    def __init__(self, app: ASGIApp, *, minimum_size: int = 2048, level: int = 6) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[Message]], send: Send) -> None:
        if scope["type"] != "http" or not accepts_gzip(scope["headers"]):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Responder(send, minimum_size=self.minimum_size, level=self.level).send)


class _Responder:
    """One response: passed through, compressed whole, or compressed as a stream."""

    def __init__(self, send: Send, *, minimum_size: int, level: int) -> None:
        self._send = send
        self._minimum_size = minimum_size
        self._level = level
        self._start: Message | None = None
        self._passthrough = False
        self._stream: zlib._Compress | None = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self._leave_alone(message):
                self._passthrough = True
                await self._send(message)
            else:
                self._start = message
            return
        if self._passthrough or kind != "http.response.body":
            await self._send(message)
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        if self._stream is not None:
            data = self._stream.compress(body)
            data += self._stream.flush(zlib.Z_SYNC_FLUSH) if more else self._stream.flush()
            await self._send({"type": "http.response.body", "body": data, "more_body": more})
            return
        start, self._start = self._start, None
        assert start is not None, "a body before its http.response.start"
        if not more and len(body) < self._minimum_size:
            self._passthrough = True
            await self._send(start)
            await self._send(message)
            return
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        if not more:
            data = await self._compress_whole(body)
            headers.append((b"content-length", str(len(data)).encode()))
            await self._send(start | {"headers": headers})
            await self._send({"type": "http.response.body", "body": data, "more_body": False})
            return
        self._stream = zlib.compressobj(self._level, zlib.DEFLATED, 31)
        await self._send(start | {"headers": headers})
        data = self._stream.compress(body) + self._stream.flush(zlib.Z_SYNC_FLUSH)
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    def _leave_alone(self, start: Message) -> bool:
        if start["status"] in (204, 206, 304):
            return True
        for name, value in start.get("headers", []):
            if name == b"content-encoding":
                return True
            if name == b"content-type" and value.lower().startswith(UNCOMPRESSED_TYPES):
                return True
            if name == b"content-length" and value.isdigit() and int(value) < self._minimum_size:
                return True
        return False

    async def _compress_whole(self, body: bytes) -> bytes:
        if len(body) < THREAD_MINIMUM:
            return gzip_bytes(body, self._level)
        return await anyio.to_thread.run_sync(gzip_bytes, body, gzip_level(len(body), self._level))


def gzip_level(size: int, level: int = 6) -> int:
    """The level a body of `size` bytes is compressed at (the fastest from LARGE_BODY on)."""
    return min(level, LARGE_LEVEL) if size >= LARGE_BODY else level


def gzip_bytes(body: bytes, level: int) -> bytes:
    """`body` as one gzip member."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()
