"""The base of every SIGAP domain error: a kind, a message in Indonesian and English, the field to fix.

It lives in ``geo/`` because ``geo/`` is the bottom of the import graph: ``store/`` and ``api/`` derive their
errors from it, and ``api/errors.py`` turns each kind into an HTTP status in one table. Nothing here knows
HTTP: a kind says what went wrong (the input, a missing thing, a state conflict), not how it is reported.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "Conflict",
    "ErrorKind",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "SigapError",
    "Unauthorized",
]


class ErrorKind(StrEnum):
    """What went wrong, independent of the protocol that reports it."""

    INVALID = "invalid"  # the input cannot be accepted as given; `field` names what to fix
    NOT_FOUND = "not_found"  # the thing named does not exist
    CONFLICT = "conflict"  # the thing exists but its state does not allow this (stale version, taken unit)
    UNAVAILABLE = "unavailable"  # a dependency is down; try again shortly
    TOO_LARGE = "too_large"  # a body or batch over its limit
    UNAUTHORIZED = "unauthorized"  # no or bad credentials
    FORBIDDEN = "forbidden"  # credentials fine, not allowed
    RATE_LIMITED = "rate_limited"  # too many requests; try again later


class SigapError(Exception):
    """A domain error with a kind, bilingual messages, the field concerned and extra JSON-able details."""

    kind: ErrorKind = ErrorKind.INVALID

    def __init__(self, message_id: str, message_en: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(f"{message_id} / {message_en}")
        self.message_id = message_id
        self.message_en = message_en
        self.field = field
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries intact (a locate batch is checked in a child process).
        return (_rebuild, (type(self), self.message_id, self.message_en, self.field, self.extra))

    @property
    def code(self) -> str:
        """The machine-readable error code clients switch on (the kind, or a subclass's own code)."""
        return self.kind.value

    def body(self) -> dict[str, Any]:
        """The error as JSON: code, both messages, the field and the details."""
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


def _rebuild(cls: type[SigapError], message_id: str, message_en: str, field: str | None,
             extra: dict[str, Any]) -> SigapError:
    return cls(message_id, message_en, field=field, **extra)


class InvalidInput(SigapError):
    """Well-formed input that cannot be accepted; the message says how to fix it."""

    kind = ErrorKind.INVALID


class NotFound(SigapError):
    """A resource or name that does not exist."""

    kind = ErrorKind.NOT_FOUND


class Conflict(SigapError):
    """A state conflict: illegal transition, stale version, unit already taken."""

    kind = ErrorKind.CONFLICT


class ServiceUnavailable(SigapError):
    """A dependency (the database, an outside service) is down; try again shortly."""

    kind = ErrorKind.UNAVAILABLE


class PayloadTooLarge(SigapError):
    """A request body or batch over its limit."""

    kind = ErrorKind.TOO_LARGE


class Unauthorized(SigapError):
    """No or bad credentials."""

    kind = ErrorKind.UNAUTHORIZED


class Forbidden(SigapError):
    """Credentials fine, role not allowed."""

    kind = ErrorKind.FORBIDDEN


class RateLimited(SigapError):
    """Too many requests from this client or account; `retry_after_s` says when to try again."""

    kind = ErrorKind.RATE_LIMITED
