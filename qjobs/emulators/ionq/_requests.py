"""A bounded record of the requests the IonQ emulator answered, for tests and debugging.

Each entry keeps the method, the path, the query string, the response status and the request
headers, with credentials redacted: ``Authorization`` keeps only its scheme (``apiKey ***``),
and any other header whose name mentions a key, token, secret, cookie or auth is ``***``. The
token itself is never stored, so the record can be served as is from
``GET /_qjobs/ionq/requests``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = ["MAX_RECORDED", "RecordedRequest", "RequestLog", "redact_headers"]

#: How many recent requests the log keeps.
MAX_RECORDED: Final = 64
_REDACTED: Final = "***"
_SECRET_WORDS: Final = ("auth", "token", "key", "secret", "cookie", "password")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with every credential replaced by ``***``.

    ``Authorization: apiKey abc`` becomes ``apiKey ***`` (the scheme is kept so tests can check
    the form); every other header whose lower-cased name contains a secret-looking word is
    replaced entirely.
    """
    out: dict[str, str] = {}
    for key, value in headers.items():
        name = str(key)  # aiohttp's istr is not a plain str (orjson refuses it)
        low = name.lower()
        if low == "authorization":
            scheme, sep, _rest = value.strip().partition(" ")
            out[name] = f"{scheme} {_REDACTED}" if sep else _REDACTED
        elif any(word in low for word in _SECRET_WORDS):
            out[name] = _REDACTED
        else:
            out[name] = value
    return out


@attrs.frozen
class RecordedRequest:
    """One answered request: what the client sent (headers redacted) and the status returned."""

    method: str
    path: str
    query: str
    status: int
    headers: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        """The JSON form served by ``GET /_qjobs/ionq/requests``."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "headers": dict(self.headers),
        }


class RequestLog:
    """The last :data:`MAX_RECORDED` requests, oldest first."""

    def __init__(self, size: int = MAX_RECORDED) -> None:
        self._entries: deque[RecordedRequest] = deque(maxlen=size)

    def record(
        self, method: str, path: str, query: str, status: int, headers: Mapping[str, str]
    ) -> None:
        """Add one request (its headers are redacted here, before anything is stored)."""
        self._entries.append(RecordedRequest(method, path, query, status, redact_headers(headers)))

    @property
    def entries(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first."""
        return list(self._entries)

    @property
    def last(self) -> RecordedRequest | None:
        """The most recent request, or None."""
        return self._entries[-1] if self._entries else None

    def clear(self) -> None:
        """Forget every recorded request."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
