"""The middlewares of every emulator app, outermost first in :func:`make_app`.

Dropped connections, statistics, fault injection, latency, error shaping (:class:`HTTPProblem`
and aiohttp's 404/405 become the provider's error body), authentication and the rate limit.
Reserved ``/_qjobs/`` routes bypass latency, faults, auth and the rate limit and are not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from qjobs.emulators._common.auth import AuthScheme
from qjobs.emulators._common.context import CONTEXT_KEY, PREFIX_KEY
from qjobs.emulators._common.ratelimit import retry_after_header
from qjobs.emulators._common.requests import local_path, route_of
from qjobs.emulators._common.responses import ErrorFactory, HTTPProblem

__all__ = [
    "ERRORS_KEY",
    "auth_middleware",
    "drop_middleware",
    "fault_middleware",
    "latency_middleware",
    "problem_middleware",
    "rate_limit_middleware",
    "stats_middleware",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The app key of the provider's :class:`ErrorFactory` (set by :func:`make_app`).
ERRORS_KEY = web.AppKey("qjobs_emulator_errors", ErrorFactory)
_RESERVED = "/_qjobs/"


def _is_reserved(request: web.Request) -> bool:
    """A reserved route, at the app's root or under the provider's prefix."""
    path = local_path(request)
    if path.startswith(_RESERVED):
        return True
    prefix = request.app[PREFIX_KEY]
    return bool(prefix) and path.startswith(prefix + _RESERVED)


def _close(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


@web.middleware
async def stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request by route template, its status and the bytes both ways."""
    if _is_reserved(request):
        return await handler(request)
    ctx = request.app[CONTEXT_KEY]
    template, _ = route_of(request)
    ctx.stats.requests[f"{request.method} {template}"] += 1
    ctx.stats.total_requests += 1
    ctx.stats.bytes_received += request.content_length or 0
    response = await handler(request)
    ctx.stats.statuses[response.status] += 1
    if isinstance(response, web.Response) and response.body is not None:
        body = response.body
        if isinstance(body, bytes | bytearray):
            ctx.stats.bytes_sent += len(body)
    return response


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the fault rules: delay, error status, dropped connection or a cut body."""
    if _is_reserved(request):
        return await handler(request)
    ctx = request.app[CONTEXT_KEY]
    template, path = route_of(request)
    decision = ctx.faults.decide(request.method, template, path)
    if decision.delay > 0:
        ctx.stats.faults_injected["slow"] += 1
        # A slow server has the whole request and then takes its time: read the body first, so
        # a client that gives up meanwhile leaves the request to be carried out all the same.
        await request.read()
        await asyncio.sleep(decision.delay)
    fault = decision.fault
    if fault is None:
        return await handler(request)
    ctx.stats.faults_injected[fault.kind] += 1
    if fault.kind in ("status", "rate_limit"):
        errors = request.app[ERRORS_KEY]
        response = errors(fault.status, f"injected fault: HTTP {fault.status}", None)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = f"{fault.retry_after:g}"
        return response
    if fault.kind == "drop":
        _close(request)
        raise _Dropped
    handled = await handler(request)
    if fault.kind == "drop_after":
        _close(request)
        raise _Dropped
    # malformed: a 2xx whose JSON body is cut in half.
    body = handled.body if isinstance(handled, web.Response) else None
    raw = bytes(body) if isinstance(body, bytes | bytearray) else b'{"id": '
    cut = raw[: max(1, len(raw) // 2)]
    status = handled.status if 200 <= handled.status < 300 else 200
    return web.Response(body=cut, status=status, content_type="application/json")


class _Dropped(Exception):
    """The connection was closed on purpose; there is nothing to answer."""


@web.middleware
async def drop_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: a dropped connection must not be answered (nor logged as a server error)."""
    try:
        return await handler(request)
    except _Dropped:
        _close(request)
        raise asyncio.CancelledError from None


@web.middleware
async def latency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Delay every non-reserved request by the configured latency."""
    ctx = request.app[CONTEXT_KEY]
    if ctx.options.latency > 0 and not _is_reserved(request):
        await asyncio.sleep(ctx.options.latency)
    return await handler(request)


def auth_middleware(scheme: AuthScheme) -> Any:
    """A middleware answering 401 unless the request carries an accepted token (or is public)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _is_reserved(request):
            return await handler(request)
        template, _ = route_of(request)
        if not scheme.is_public(request.method, template):
            tokens = request.app[CONTEXT_KEY].options.tokens
            token = scheme.token_of(request)
            if not token:
                raise HTTPProblem(401, "missing or malformed credentials", "Unauthorized")
            if tokens is not None and token not in tokens:
                raise HTTPProblem(401, "invalid credentials", "Unauthorized")
        return await handler(request)

    return middleware


def rate_limit_middleware(scheme: AuthScheme) -> Any:
    """A middleware answering 429 when the request's token has spent its bucket.

    It runs after authentication, so a request without an accepted token is answered as without
    a limit; a request carrying no token (a public route) is not limited. The answer is the
    provider's error body with ``Retry-After`` in whole seconds (at least 1).
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        ctx = request.app[CONTEXT_KEY]
        limiter = ctx.rate_limiter
        if limiter is None or _is_reserved(request):
            return await handler(request)
        token = scheme.token_of(request)
        wait = limiter.take(token) if token else 0.0
        if wait <= 0.0:
            return await handler(request)
        template, _ = route_of(request)
        ctx.stats.rate_limited[f"{request.method} {template}"] += 1
        retry_after = retry_after_header(wait)
        message = f"rate limit exceeded: try again in {retry_after} s"
        response = request.app[ERRORS_KEY](429, message, None)
        response.headers["Retry-After"] = retry_after
        return response

    return middleware


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn :class:`HTTPProblem` and aiohttp's own 404/405 into the provider's error shape."""
    errors = request.app[ERRORS_KEY]
    try:
        return await handler(request)
    except HTTPProblem as exc:
        return errors(exc.status, exc.message, exc.error_type)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return errors(exc.status, exc.reason, None)
        raise
