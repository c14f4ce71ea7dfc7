"""qBraid wire pieces of the emulator: credentials and the error bodies.

qBraid's errors are ``{"success": false, "message", "error": {"message", "code"}}``; malformed
request bodies answer FastAPI's ``{"detail": [...]}`` with 422 (:class:`DetailedError`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

from aiohttp import web

from qjobs.emulators._common import header_token, json_response

__all__ = ["CODES", "PREFIX", "DetailedError", "error_response", "token_of", "unprocessable"]

#: The URL prefix of every qBraid route.
PREFIX: Final = "/api/v1"

#: qBraid's error code of each status (other statuses use their HTTP name).
CODES: Final = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}


def error_response(status: int, message: str, error_type: str | None = None) -> web.Response:
    """qBraid's error shape: ``{"success": false, "message", "error": {"message", "code"}}``."""
    # The shared machinery names types in CamelCase ("Unauthorized"); qBraid codes are upper case.
    code = error_type if error_type and error_type.isupper() else CODES.get(status)
    if code is None:
        try:
            code = HTTPStatus(status).name
        except ValueError:
            code = "ERROR"
    body = {"success": False, "message": message, "error": {"message": message, "code": code}}
    return json_response(body, status=status)


class DetailedError(Exception):
    """An error answered with extra fields: FastAPI ``detail`` lists, or ``error`` details."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def unprocessable(loc: list[str | int], msg: str) -> DetailedError:
    """FastAPI's 422 for the body field at ``loc``."""
    detail = [{"loc": ["body", *loc], "msg": msg, "type": "value_error"}]
    return DetailedError(422, {"detail": detail})


#: The credential of a request: its ``X-Access-Token`` header, else its ``X-API-Key``.
token_of = header_token("X-Access-Token", "X-API-Key")
