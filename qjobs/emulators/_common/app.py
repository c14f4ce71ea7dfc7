"""The app every emulator starts from: shared middlewares and the reserved ``/_qjobs/`` routes."""

from __future__ import annotations

from aiohttp import web

from qjobs.emulators._common.auth import AuthScheme
from qjobs.emulators._common.context import CONTEXT_KEY, MAX_BODY, PREFIX_KEY, EmulatorContext
from qjobs.emulators._common.faults import parse_faults
from qjobs.emulators._common.middlewares import (
    ERRORS_KEY,
    auth_middleware,
    drop_middleware,
    fault_middleware,
    latency_middleware,
    problem_middleware,
    rate_limit_middleware,
    stats_middleware,
)
from qjobs.emulators._common.requests import read_json
from qjobs.emulators._common.responses import ErrorFactory, HTTPProblem, json_response

__all__ = ["make_app"]


async def _get_stats(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT_KEY].stats.snapshot())


async def _post_faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    data = await read_json(request)
    try:
        if isinstance(data, dict) and data.get("append"):
            extra = parse_faults({k: v for k, v in data.items() if k != "append"})
            ctx.faults.faults.extend(extra)
        else:
            ctx.faults.set(data)
    except (ValueError, TypeError) as exc:
        raise HTTPProblem(400, f"bad faults: {exc}", "BadRequest") from exc
    return json_response({"faults": [f.to_dict() for f in ctx.faults.faults]})


async def _get_faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    return json_response({"faults": [f.to_dict() for f in ctx.faults.faults]})


async def _delete_faults(request: web.Request) -> web.Response:
    request.app[CONTEXT_KEY].faults.clear()
    return json_response({"faults": []})


async def _reset_stats(request: web.Request) -> web.Response:
    request.app[CONTEXT_KEY].stats.reset()
    return json_response(request.app[CONTEXT_KEY].stats.snapshot())


def make_app(
    ctx: EmulatorContext, *, prefix: str, auth: AuthScheme, errors: ErrorFactory
) -> web.Application:
    """A new emulator app with the shared middlewares and reserved routes installed.

    The provider then adds its routes under ``prefix`` (e.g. ``"/v0.4"``), written from the app's
    own root: mounting it under ``ctx.mount`` is the server's business. The reserved routes
    answer at the app's root and under ``prefix`` (so at ``<base_url>/_qjobs/stats`` too).
    """
    app = web.Application(
        middlewares=[
            drop_middleware,
            stats_middleware,
            fault_middleware,
            latency_middleware,
            problem_middleware,
            auth_middleware(auth),
            rate_limit_middleware(auth),
        ],
        client_max_size=MAX_BODY,
    )
    app[CONTEXT_KEY] = ctx
    app[PREFIX_KEY] = prefix.rstrip("/")
    app[ERRORS_KEY] = errors
    # At the app's root, and again under the prefix (the base URL a user knows: ``curl
    # <base_url>/_qjobs/stats`` must not reach the provider's routes and answer 401).
    for root in dict.fromkeys(("", app[PREFIX_KEY])):
        app.router.add_get(f"{root}/_qjobs/stats", _get_stats)
        app.router.add_delete(f"{root}/_qjobs/stats", _reset_stats)
        app.router.add_get(f"{root}/_qjobs/faults", _get_faults)
        app.router.add_post(f"{root}/_qjobs/faults", _post_faults)
        app.router.add_delete(f"{root}/_qjobs/faults", _delete_faults)
    return app
