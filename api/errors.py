"""The one place where SIGAP's errors become HTTP: a status per error kind, and bilingual JSON bodies.

Domain errors (``geo.errors.SigapError`` and everything derived from it in ``geo/``, ``store/`` and ``api/``)
carry a kind; this module maps kinds to status codes once. Routes raise or let errors through; they never
rewrap them.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import (
    Conflict,
    ErrorKind,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    SigapError,
    Unauthorized,
)

__all__ = [
    "STATUS",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "SigapError",
    "Unauthorized",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger("sigap.api")

STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.RATE_LIMITED: 429,
}


def error_response(exc: SigapError) -> JSONResponse:
    """The HTTP answer for a domain error: its kind's status, its JSON body, and the headers the kind needs."""
    headers: dict[str, str] = {}
    if exc.kind is ErrorKind.UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.kind in (ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE):
        headers["Retry-After"] = str(max(1, int(exc.extra.get("retry_after_s", 2))))
    return JSONResponse(exc.body(), status_code=STATUS[exc.kind], headers=headers or None)


def _validation_message(err: dict[str, Any]) -> tuple[str, str, str]:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or "body"
    msg = err.get("msg", "invalid")
    return field, f"Isian '{field}' tidak valid: {msg}", f"Field '{field}' is invalid: {msg}"


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception type to a status code and a bilingual JSON body, in one place."""

    @app.exception_handler(SigapError)
    async def _sigap(_: Request, exc: SigapError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        field, mid, men = (
            _validation_message(errors[0]) if errors else ("body", "Isian tidak valid", "Invalid input")
        )
        details = [
            {"field": f, "message_id": i, "message_en": e}
            for f, i, e in (_validation_message(err) for err in errors[:20])
        ]
        return error_response(InvalidInput(mid, men, field=field, details=details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        texts = {
            404: ("Alamat tidak ditemukan", "Not found"),
            405: ("Metode tidak diizinkan", "Method not allowed"),
        }
        mid, men = texts.get(exc.status_code, (str(exc.detail), str(exc.detail)))
        body = {"error": "http_error", "message": f"{mid} / {men}", "message_id": mid, "message_en": men}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            # The driver's message only: the statement and its parameters (callers' phones) stay out of logs.
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return error_response(
                ServiceUnavailable(
                    "Basis data sedang tidak tersedia; coba lagi sebentar lagi",
                    "The database is unavailable right now; try again shortly",
                )
            )
        log.error("database error: %s", type(exc.orig).__name__)
        body = SigapError("Kesalahan basis data", "Database error").body() | {"error": "database_error"}
        return JSONResponse(body, status_code=500)
