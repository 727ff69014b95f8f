"""The front door of `sigap serve`: uvicorn's HTTP protocol with a header read timeout, a header size cap and a
connection cap that sheds the slowest clients first, so idle or slow connections cannot take the server off air.

uvicorn closes idle keep-alive connections, but a client that sends half a request header and then nothing is
kept forever, and every such connection holds a file descriptor. Here each connection must finish its request
header within `header_timeout_s` (and within `max_header_bytes`); when `max_connections` are open, the one that
has waited longest for its header is closed to make room, so a new request (a call, /healthz) still gets in.
Slow request bodies are cut by the API's guard middleware (`api/limits.py`, `body_timeout_s`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.config import get_settings

# Connections still waiting for their request header, oldest first (per process; the event loop's thread only).
_PENDING: dict[GuardedHttpToolsProtocol, None] = {}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a header deadline, a header size cap and eviction of the slowest header senders."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.header_timeout_s = settings.header_timeout_s
        self.max_header_bytes = settings.max_header_bytes
        self.max_connections = settings.max_connections
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    # -- waiting for a header --------------------------------------------------------------------------
    def _await_header(self) -> None:
        self._header_bytes = 0
        _PENDING[self] = None
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_too_slow)

    def _header_done(self) -> None:
        _PENDING.pop(self, None)
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_too_slow(self) -> None:
        self._header_timer = None
        _PENDING.pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()

    # -- uvicorn's protocol hooks ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection; when the cap is reached, first close the one waiting longest for its header."""
        while len(self.connections) >= self.max_connections and _PENDING:
            oldest = next(iter(_PENDING))
            _PENDING.pop(oldest, None)
            oldest._header_done()
            if not oldest.transport.is_closing():
                oldest.transport.close()
            self.connections.discard(oldest)
        super().connection_made(transport)
        self._await_header()

    def data_received(self, data: bytes) -> None:
        """Parse as uvicorn does; a header still incomplete after this data must stay under the size cap."""
        if self not in _PENDING and (self.cycle is None or self.cycle.response_complete):
            # The first bytes of the next request on a kept-alive connection: its header has a deadline too.
            self._await_header()
        super().data_received(data)
        if self in _PENDING:  # only bytes of a header not yet complete count (a body may share the chunk)
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
                self._header_done()
                self.send_400_response("Request header too large")

    def on_headers_complete(self) -> None:
        """The header arrived in time: no deadline for it any more."""
        self._header_done()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        self._header_done()
        super().connection_lost(exc)
