"""The answer to a transport request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from qjobs._core.errors import MalformedResponseError

__all__ = ["Response"]


@attrs.frozen(slots=True, repr=False)
class Response:
    """A complete HTTP answer with a status below 400.

    ``headers`` is case-insensitive; ``path`` never holds a query string.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    path: str
    provider: str = ""

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.method} {self.path} ({len(self.content)} bytes)>"

    def json(self) -> Any:
        """The body decoded as JSON; :class:`qjobs.MalformedResponseError` when it is not JSON."""
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError as exc:
            raise MalformedResponseError(
                f"body is not JSON ({exc.msg} at {exc.pos})",
                provider=self.provider,
                method=self.method,
                path=self.path,
            ) from None

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")
