"""Shared machinery of the provider emulators: app factory, middlewares, server handle.

The names below are defined in small modules named for what they hold: ``context`` (options
and per-app context), ``responses``, ``requests``, ``auth``, ``middlewares``, ``app``
(:func:`make_app`), ``server`` (:class:`Server`), plus ``clock``, ``faults``, ``ratelimit``,
``stats`` and ``circuits``.

Each provider emulator module defines ``create_app(ctx: EmulatorContext) -> web.Application``
and builds its app with :func:`make_app`, which installs, outermost first:

1. statistics (requests by route template, statuses, bytes),
2. fault injection (:mod:`qjobs.emulators._common.faults`),
3. injected latency,
4. error shaping (:class:`HTTPProblem` and aiohttp's 404/405 become the provider's error body),
5. authentication (the provider says how to read the token and which routes are public),
6. the rate limit (off unless ``rate_limit`` is set: a token bucket per token, 429 with
   ``Retry-After`` in the provider's error body; :mod:`qjobs.emulators._common.ratelimit`),

plus the reserved routes at the app's root: ``GET /_qjobs/stats``, ``POST /_qjobs/faults`` and
``DELETE /_qjobs/faults``. Reserved routes bypass latency, faults, auth and the rate limit and
are not counted.

An app may be mounted under a path (``/ionq``) of a server shared with other emulators
(:func:`qjobs.emulators.serve_many`, which mounts it as an aiohttp sub-app): its context's
``mount`` says where, and every path the middlewares look at (reserved routes, route templates
for statistics, faults and auth) is taken relative to ``mount`` + the provider prefix, so an
emulator behaves the same mounted or served alone.
"""

from __future__ import annotations

from qjobs.emulators._common.app import make_app
from qjobs.emulators._common.auth import AuthScheme, header_token, owner_key
from qjobs.emulators._common.context import (
    CONTEXT_KEY,
    MAX_BODY,
    PREFIX_KEY,
    EmulatorContext,
    EmulatorOptions,
)
from qjobs.emulators._common.requests import local_path, query_int, read_json, route_of
from qjobs.emulators._common.responses import (
    ErrorFactory,
    HTTPProblem,
    json_response,
    status_phrase,
)
from qjobs.emulators._common.server import Server

__all__ = [
    "CONTEXT_KEY",
    "MAX_BODY",
    "PREFIX_KEY",
    "AuthScheme",
    "EmulatorContext",
    "EmulatorOptions",
    "ErrorFactory",
    "HTTPProblem",
    "Server",
    "header_token",
    "json_response",
    "local_path",
    "make_app",
    "owner_key",
    "query_int",
    "read_json",
    "route_of",
    "status_phrase",
]
