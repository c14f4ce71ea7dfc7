"""Reading a request: its JSON body, an integer query parameter, its path below the mount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from qjobs.emulators._common.context import CONTEXT_KEY, PREFIX_KEY
from qjobs.emulators._common.responses import HTTPProblem

__all__ = ["local_path", "query_int", "read_json", "route_of"]


def query_int(
    request: web.Request, name: str, default: int, error: Callable[[str], Exception]
) -> int:
    """Query parameter ``name`` as an integer, ``default`` when absent; ``error(message)`` raised
    when it is not an integer (the caller checks the range, in its provider's words)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise error(f"{name}: must be an integer, got {raw!r}") from None


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; :class:`HTTPProblem` 400 when it is not valid JSON."""
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPProblem(400, f"request body is not valid JSON: {exc}", "BadRequest") from exc


def _strip(path: str, prefix: str) -> str:
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        return path[len(prefix) :] or "/"
    return path


def local_path(request: web.Request) -> str:
    """The request's path relative to where the app is mounted (its own root)."""
    return _strip(request.path, request.app[CONTEXT_KEY].mount)


def route_of(request: web.Request) -> tuple[str, str]:
    """``(template, path)`` of a request relative to the app's mount and prefix.

    The template is the matched route's (``/jobs/{id}``; aiohttp's canonical form, which for a
    mounted sub-app includes the mount path) or the path when no route matched.
    """
    base = request.app[CONTEXT_KEY].mount + request.app[PREFIX_KEY]
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    return _strip(template, base), _strip(request.path, base)
