"""Shared machinery of the provider emulators: app factory, middlewares, server handle.

Each provider emulator module defines ``create_app(ctx: EmulatorContext) -> web.Application``
and builds its app with :func:`make_app`, which installs, outermost first:

1. statistics (requests by route template, statuses, bytes),
2. fault injection (:mod:`qjobs.emulators._common.faults`),
3. injected latency,
4. error shaping (:class:`HTTPProblem` and aiohttp's 404/405 become the provider's error body),
5. authentication (the provider says how to read the token and which routes are public),

plus the reserved routes at the app's root: ``GET /_qjobs/stats``, ``POST /_qjobs/faults`` and
``DELETE /_qjobs/faults``. Reserved routes bypass latency, faults and auth and are not counted.

An app may be mounted under a path (``/ionq``) of a server shared with other emulators
(:func:`qjobs.emulators.serve_many`, which mounts it as an aiohttp sub-app): its context's
``mount`` says where, and every path the middlewares look at (reserved routes, route templates
for statistics, faults and auth) is taken relative to ``mount`` + the provider prefix, so an
emulator behaves the same mounted or served alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Protocol

import attrs
import numpy as np
import orjson
from aiohttp import web

from qjobs.emulators._common.clock import Clock, Lifecycle
from qjobs.emulators._common.faults import Fault, FaultInjector, FaultSpec, parse_faults
from qjobs.emulators._common.stats import EmulatorStats

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

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ErrorFactory(Protocol):
    """Builds a provider-shaped error response: ``(status, message, error_type)``."""

    def __call__(self, status: int, message: str, error_type: str | None = None) -> web.Response:
        """Return the error response."""
        ...


@attrs.frozen
class AuthScheme:
    """How a provider authenticates: read the token, and which requests need none.

    ``token_of(request)`` returns the presented token, or None when the header is missing or not
    in the provider's form. ``is_public(method, template)`` gets the route template relative to
    the prefix.
    """

    token_of: Callable[[web.Request], str | None]
    is_public: Callable[[str, str], bool] = lambda _method, _template: False


@attrs.frozen
class EmulatorOptions:
    """The knobs every emulator accepts (see :func:`qjobs.emulators.serve`).

    ``latency`` is added to every request (seconds); ``queue_time`` and ``exec_time`` shape each
    job's lifecycle; ``seed`` seeds every random draw; ``tokens`` are the accepted credentials
    (None: any non-empty token); ``fail_rate`` is the chance that a job ends failed.
    """

    latency: float = 0.0
    queue_time: float = 0.0
    exec_time: float = 0.0
    seed: int = 0
    tokens: frozenset[str] | None = attrs.field(default=None, repr=False)
    faults: tuple[Fault, ...] = ()
    fail_rate: float = 0.0

    def __attrs_post_init__(self) -> None:
        for name in ("latency", "queue_time", "exec_time"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}={value!r}: must be a number >= 0")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate={self.fail_rate!r}: must be between 0 and 1")


class EmulatorContext:
    """Per-server state shared by the middlewares and the provider's handlers.

    ``rng`` draws ids and job failures (seeded, separate from the fault generator);
    :meth:`job_rng` gives a per-job generator for sampling, so results do not depend on the
    order in which clients fetch them. ``mount`` is the path the app is served under on a shared
    server (``"/ionq"``), ``""`` when it is served alone at the server root; handlers that put
    server paths in their answers prepend it.
    """

    def __init__(
        self, options: EmulatorOptions, clock: Clock | None = None, *, mount: str = ""
    ) -> None:
        if mount and (not mount.startswith("/") or mount.endswith("/") or "//" in mount):
            raise ValueError(f"mount={mount!r}: must be '' or a path like '/ionq'")
        self.options = options
        self.mount = mount
        self.clock = clock if clock is not None else Clock()
        self.stats = EmulatorStats(self.clock)
        self.faults = FaultInjector(options.seed, options.faults)
        self.rng = random.Random(options.seed)
        self.fail_rate = options.fail_rate

    def job_rng(self, index: int) -> np.random.Generator:
        """A numpy generator for the ``index``-th job, determined by the server seed."""
        return np.random.default_rng([self.options.seed, index])

    def new_uuid(self) -> str:
        """A random (seeded) UUID4 string."""
        bits = self.rng.getrandbits(128)
        bits &= ~(0xF000 << 64)
        bits |= 0x4000 << 64  # version 4
        bits &= ~(0xC000 << 48)
        bits |= 0x8000 << 48  # RFC 4122 variant
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def draw_failure(self) -> bool:
        """Whether a new job should fail, by ``fail_rate``."""
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate

    def new_lifecycle(self, fails: bool = False) -> Lifecycle:
        """The lifecycle of a job submitted now: the server's queue time, then its exec time."""
        opts = self.options
        return Lifecycle(self.clock.now(), opts.queue_time, opts.exec_time, fails=fails)


#: The largest request body an emulator reads (bytes).
MAX_BODY = 256 * 2**20

CONTEXT_KEY = web.AppKey("qjobs_emulator_context", EmulatorContext)
PREFIX_KEY = web.AppKey("qjobs_emulator_prefix", str)
_ERRORS_KEY = web.AppKey("qjobs_emulator_errors", ErrorFactory)
_RESERVED = "/_qjobs/"


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


def _is_reserved(request: web.Request) -> bool:
    return local_path(request).startswith(_RESERVED)


def _close(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


@web.middleware
async def _stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
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
async def _fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
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
        errors = request.app[_ERRORS_KEY]
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
async def _drop_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Outermost: a dropped connection must not be answered (nor logged as a server error).
    try:
        return await handler(request)
    except _Dropped:
        _close(request)
        raise asyncio.CancelledError from None


@web.middleware
async def _latency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = request.app[CONTEXT_KEY]
    if ctx.options.latency > 0 and not _is_reserved(request):
        await asyncio.sleep(ctx.options.latency)
    return await handler(request)


def _auth_middleware(scheme: AuthScheme) -> Any:
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


@web.middleware
async def _problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Turns HTTPProblem and aiohttp's own 404/405 into the provider's error shape.
    errors = request.app[_ERRORS_KEY]
    try:
        return await handler(request)
    except HTTPProblem as exc:
        return errors(exc.status, exc.message, exc.error_type)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return errors(exc.status, exc.reason, None)
        raise


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
    own root: mounting it under ``ctx.mount`` is the server's business.
    """
    app = web.Application(
        middlewares=[
            _drop_middleware,
            _stats_middleware,
            _fault_middleware,
            _latency_middleware,
            _problem_middleware,
            _auth_middleware(auth),
        ],
        client_max_size=MAX_BODY,
    )
    app[CONTEXT_KEY] = ctx
    app[PREFIX_KEY] = prefix.rstrip("/")
    app[_ERRORS_KEY] = errors
    app.router.add_get("/_qjobs/stats", _get_stats)
    app.router.add_delete("/_qjobs/stats", _reset_stats)
    app.router.add_get("/_qjobs/faults", _get_faults)
    app.router.add_post("/_qjobs/faults", _post_faults)
    app.router.add_delete("/_qjobs/faults", _delete_faults)
    return app


class Server:
    """A running emulator: where it listens and its live statistics and fault controls.

    ``base_url`` includes the provider's prefix (``http://127.0.0.1:PORT/v0.4``); ``root_url`` is
    the app's root where the reserved ``/_qjobs/...`` routes live: the server root when served
    alone, ``http://127.0.0.1:PORT/ionq`` when mounted on a shared server.
    """

    def __init__(self, name: str, root_url: str, app: web.Application) -> None:
        self.name = name
        self.root_url = root_url
        self.app = app
        self.context = app[CONTEXT_KEY]
        self.base_url = root_url + app[PREFIX_KEY]

    @property
    def stats(self) -> EmulatorStats:
        """The server's :class:`EmulatorStats` (live)."""
        return self.context.stats

    @property
    def clock(self) -> Clock:
        """The lifecycle clock."""
        return self.context.clock

    def set_faults(self, faults: Iterable[FaultSpec] | Mapping[str, Any] | None) -> None:
        """Replace the fault rules (same forms as ``POST /_qjobs/faults``)."""
        self.context.faults.set(faults)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.context.faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """The active fault rules, with their ``seen``/``fired`` counters."""
        return self.context.faults.faults

    def advance(self, seconds: float) -> None:
        """Move the lifecycle clock forward (tests: drive queue and execution time)."""
        self.context.clock.advance(seconds)

    def __repr__(self) -> str:
        return f"<Server {self.name} {self.base_url}>"
