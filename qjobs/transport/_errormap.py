"""HTTP error statuses to exceptions, and the default error-body parser."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable
from typing import Any

import orjson

from qjobs._core.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)

__all__ = [
    "ErrorParser",
    "default_error_parser",
    "error_class",
    "parse_retry_after",
    "trim_body",
]

#: ``(status, body) -> (message, code)``: how a provider reads its error bodies.
ErrorParser = Callable[[int, bytes], tuple[str, "str | None"]]

_MAX_MESSAGE = 500

_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
}


def error_class(status: int) -> type[APIError]:
    """The :class:`qjobs.APIError` subclass for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)


def trim_body(body: bytes, limit: int = _MAX_MESSAGE) -> str:
    """A body as one short line of text."""
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def default_error_parser(status: int, body: bytes) -> tuple[str, str | None]:
    """Read ``message``/``detail``/``error`` (and ``code``/``type``) from a JSON error body.

    ``error`` may itself be an object with ``message`` and ``type``/``code``. Falls back to the
    trimmed body, or to ``"HTTP <status>"`` for an empty one.
    """
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    message: str | None = None
    code: str | None = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            message = _as_text(error.get("message")) or _as_text(error.get("detail"))
            code = _as_text(error.get("type")) or _as_text(error.get("code"))
        for key in ("message", "detail", "error"):
            message = message or _as_text(data.get(key))
        detail = data.get("detail")
        if message is None and isinstance(detail, list) and detail:
            message = trim_body(orjson.dumps(detail))
        code = code or _as_text(data.get("code")) or _as_text(data.get("type"))
    if message is None:
        message = trim_body(body) or f"HTTP {status}"
    elif len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return message, code


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``.

    ``now`` is a Unix time (default: the current time), used for the HTTP-date form; a date in
    the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
