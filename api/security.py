"""Security headers on every answer: CSP without inline script, no framing, no sniffing, no referrer, no caching
of API answers (they carry callers' names and phones) unless a route says otherwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]

# Inline style attributes stay allowed (Leaflet and the pages' templates set them); inline script does not.
_BASE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data: blob:{img}; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
             "base-uri 'self'; form-action 'self'; "
             "frame-ancestors 'none'")
# The interactive API documentation (demo mode only) is FastAPI's Swagger page: an inline script and a CDN.
_DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             "img-src 'self' data: https://fastapi.tiangolo.com; "
             "frame-ancestors 'none'")


def tile_source(basemap_url: str | None) -> str:
    """The CSP source of an online base map's tiles ('' when none): its scheme and host, {s} as a wildcard."""
    if not basemap_url:
        return ""
    parts = urlsplit(basemap_url.replace("{s}", "sub-domain"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.netloc.replace("sub-domain", "*")
    return f" {parts.scheme}://{host}"


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP answer; `no-store` to API answers that set no caching of their own."""

    def __init__(self, app: ASGIApp, *, basemap_url: str | None = None) -> None:
        self.app = app
        csp = _BASE_CSP.format(img=tile_source(basemap_url))
        self.common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        self.csp = (b"content-security-policy", csp.encode())
        self.docs_csp = (b"content-security-policy", _DOCS_CSP.encode())

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        api = path.startswith(("/api/", "/ogc"))
        csp = self.docs_csp if path in ("/docs", "/redoc") else self.csp

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.extend(self.common)
                headers.append(csp)
                if api and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
