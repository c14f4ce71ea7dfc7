"""Answers every emulator shares: JSON bodies, HTTP reason phrases, provider-shaped errors."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Protocol

import orjson
from aiohttp import web

__all__ = ["ErrorFactory", "HTTPProblem", "json_response", "status_phrase"]


class ErrorFactory(Protocol):
    """Builds a provider-shaped error response: ``(status, message, error_type)``."""

    def __call__(self, status: int, message: str, error_type: str | None = None) -> web.Response:
        """Return the error response."""
        ...


class HTTPProblem(Exception):
    """Raised by handlers to answer with the provider's error shape."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response serialised with orjson."""
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def status_phrase(status: int) -> str:
    """The HTTP reason phrase of ``status`` (``"Error"`` for a code HTTP does not define)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
