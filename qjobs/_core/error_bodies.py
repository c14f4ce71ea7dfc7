"""Reading an error body: the default parser, shared by the transport and the providers.

Pure functions over bytes (no I/O): a provider's own parser falls back to
:func:`default_error_parser` for shapes it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["ErrorParser", "default_error_parser", "trim_body"]

#: ``(status, body) -> (message, code)``: how a provider reads its error bodies.
ErrorParser = Callable[[int, bytes], tuple[str, "str | None"]]

_MAX_MESSAGE = 500


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
