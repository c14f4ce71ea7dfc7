"""How a provider authenticates (:class:`AuthScheme`) and who owns what a token creates."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import attrs
from aiohttp import web

__all__ = ["AuthScheme", "header_token", "owner_key"]


@attrs.frozen
class AuthScheme:
    """How a provider authenticates: read the token, and which requests need none.

    ``token_of(request)`` returns the presented token, or None when the header is missing or not
    in the provider's form. ``is_public(method, template)`` gets the route template relative to
    the prefix.
    """

    token_of: Callable[[web.Request], str | None]
    is_public: Callable[[str, str], bool] = lambda _method, _template: False


def header_token(*names: str) -> Callable[[web.Request], str | None]:
    """An :attr:`AuthScheme.token_of` reading the first of the headers ``names`` that is set."""

    def token_of(request: web.Request) -> str | None:
        for name in names:
            raw = request.headers.get(name)
            if raw:
                return raw.strip() or None
        return None

    return token_of


def owner_key(token: str | None) -> str:
    """Who owns what a request creates: a digest of its token (the token itself is never kept).

    Jobs, sessions and groups belong to the token that created them; another token is told they
    do not exist (the provider's 404), and its listings omit them.
    """
    return hashlib.sha256((token or "").encode()).hexdigest()
