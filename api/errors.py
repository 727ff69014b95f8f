"""SIGAP's own exceptions and the one place where they become HTTP status codes and bilingual JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("sigap.api")


class SigapError(Exception):
    """Base of the errors the API reports; carries an Indonesian and an English message."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message_id: str, message_en: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(f"{message_id} / {message_en}")
        self.message_id = message_id
        self.message_en = message_en
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        body: dict[str, Any] = {
            "error": self.code,
            "message": f"{self.message_id} / {self.message_en}",
            "message_id": self.message_id,
            "message_en": self.message_en,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class InvalidInput(SigapError):
    """Input that is well-formed JSON but not acceptable (422)."""

    status_code = 422
    code = "invalid_input"


class PayloadTooLarge(SigapError):
    """A request body or batch over its limit (413)."""

    status_code = 413
    code = "payload_too_large"


class NotFound(SigapError):
    """A resource or name that does not exist (404)."""

    status_code = 404
    code = "not_found"


class Conflict(SigapError):
    """A state conflict: illegal transition, stale version, unit already taken (409)."""

    status_code = 409
    code = "conflict"


class Unauthorized(SigapError):
    """No or bad credentials (401)."""

    status_code = 401
    code = "unauthorized"


class Forbidden(SigapError):
    """Credentials fine, role not allowed (403)."""

    status_code = 403
    code = "forbidden"


class ServiceUnavailable(SigapError):
    """A dependency (the database) is down; try again shortly (503)."""

    status_code = 503
    code = "service_unavailable"


def _validation_message(err: dict[str, Any]) -> tuple[str, str, str]:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or "body"
    msg = err.get("msg", "invalid")
    return field, f"Isian '{field}' tidak valid: {msg}", f"Field '{field}' is invalid: {msg}"


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception type to a status code and a bilingual JSON body, in one place."""

    @app.exception_handler(SigapError)
    async def _sigap(_: Request, exc: SigapError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)

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
        err = InvalidInput(mid, men, field=field, details=details)
        return JSONResponse(err.body(), status_code=422)

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
            log.warning("database unavailable: %s", exc.orig)
            err = ServiceUnavailable(
                "Basis data sedang tidak tersedia; coba lagi sebentar lagi",
                "The database is unavailable right now; try again shortly",
            )
            return JSONResponse(err.body(), status_code=503, headers={"Retry-After": "2"})
        log.exception("database error")
        err = SigapError("Kesalahan basis data", "Database error")
        return JSONResponse({**err.body(), "error": "database_error"}, status_code=500)
