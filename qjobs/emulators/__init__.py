"""Local emulators of the providers' REST APIs, backed by :mod:`qjobs.sim`.

``serve(name, ...)`` runs one emulator in the current event loop::

    async with qjobs.emulators.serve("ionq", latency=0.02) as server:
        server.base_url     # "http://127.0.0.1:PORT/v0.4"
        server.stats        # EmulatorStats
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])

``serve_many(names, ...)`` serves several (default: all) on one port, each under ``/<name>``::

    async with qjobs.emulators.serve_many() as servers:
        servers["ionq"].base_url   # "http://127.0.0.1:PORT/ionq/v0.4"
        servers["qpi"].base_url    # "http://127.0.0.1:PORT/qpi"

Providers register an app factory in :data:`EMULATORS` (name -> ``"module:function"``); the
factory takes an :class:`EmulatorContext` and returns an ``aiohttp.web.Application`` built with
:func:`qjobs.emulators._common.make_app`.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import attrs
from aiohttp import web

from qjobs._core.errors import InputError
from qjobs._core.public import publish as _publish
from qjobs.emulators._common import MAX_BODY, EmulatorContext, EmulatorOptions, Server
from qjobs.emulators._common.clock import Clock
from qjobs.emulators._common.faults import Fault, FaultSpec, parse_faults
from qjobs.emulators._common.stats import EmulatorStats

__all__ = [
    "EMULATORS",
    "Clock",
    "EmulatorContext",
    "EmulatorStats",
    "Fault",
    "Server",
    "app_factory",
    "names",
    "serve",
    "serve_many",
]

AppFactory = Callable[[EmulatorContext], web.Application]

#: Registered emulators: provider name -> ``"module:factory"`` (imported on first use) or the
#: factory itself.
EMULATORS: Final[dict[str, str | AppFactory]] = {
    "ionq": "qjobs.emulators.ionq:create_app",
    "kipu": "qjobs.emulators.kipu:create_app",
    "qbraid": "qjobs.emulators.qbraid:create_app",
    "qpi": "qjobs.emulators.qpi:create_app",
    "qibo": "qjobs.emulators.qibo:create_app",
}


def names() -> list[str]:
    """The registered emulator names, in registration order."""
    return list(EMULATORS)


def app_factory(name: str) -> AppFactory:
    """The app factory registered under ``name``.

    An unknown name is an :class:`~qjobs.InputError` (field ``name``) listing the known ones,
    as :func:`qjobs.connect` does.
    """
    target = EMULATORS.get(name) if isinstance(name, str) else None
    if target is None:
        raise InputError("name", name, f"unknown emulator; known: {names()}")
    if not isinstance(target, str):
        return target
    module, _, func = target.partition(":")
    factory: AppFactory = getattr(importlib.import_module(module), func)
    return factory


@asynccontextmanager
async def serve(
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: float = 0.0,
    queue_time: float = 0.0,
    exec_time: float = 0.0,
    seed: int = 0,
    tokens: Iterable[str] | None = None,
    faults: Iterable[FaultSpec] | Mapping[str, Any] | None = None,
    fail_rate: float = 0.0,
    clock: Clock | None = None,
    rate_limit: float | None = None,
    burst: int | None = None,
) -> AsyncIterator[Server]:
    """Serve emulator ``name`` on ``host:port`` (0: a free port) until the block exits.

    ``latency`` delays every answer (s); ``queue_time`` then ``exec_time`` (s) shape each job's
    lifecycle; ``seed`` makes ids, sampling and faults reproducible; ``tokens`` are the accepted
    credentials (None: any non-empty token); ``faults`` are initial fault rules;
    ``fail_rate`` is the share of jobs that end failed; ``clock`` replaces the lifecycle clock
    (tests pass ``Clock(lambda: 0.0)`` and call ``server.advance()``). ``rate_limit`` (requests
    per second, None: no limit) gives each token a bucket of ``burst`` requests (default
    ``max(1, ceil(rate_limit))``) refilled at that rate on the clock; a request finding it empty
    gets 429 with ``Retry-After`` and the provider's error body, counted in
    ``stats.rate_limited``.
    """
    options = _options(
        latency, queue_time, exec_time, seed, tokens, faults, fail_rate, rate_limit, burst
    )
    app = app_factory(name)(EmulatorContext(options, clock))
    async with _listen(app, host, port) as root_url:
        yield Server(name, root_url, app)


@asynccontextmanager
async def serve_many(
    names: Sequence[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: float = 0.0,
    queue_time: float = 0.0,
    exec_time: float = 0.0,
    seed: int = 0,
    tokens: Iterable[str] | None = None,
    faults: Iterable[FaultSpec] | Mapping[str, Any] | None = None,
    fail_rate: float = 0.0,
    clock: Clock | None = None,
    rate_limit: float | None = None,
    burst: int | None = None,
) -> AsyncIterator[dict[str, Server]]:
    """Serve several emulators (``None``: every registered one) on one ``host:port``.

    Each is mounted under ``/<name>``, with its own state, statistics and fault rules; the
    mapping yielded gives each name's :class:`Server`, whose ``base_url`` includes the mount
    (``http://127.0.0.1:PORT/ionq/v0.4``) and whose reserved routes live under ``root_url``
    (``http://127.0.0.1:PORT/ionq/_qjobs/stats``). The options are those of :func:`serve`,
    applied to every emulator (``faults`` seeds each one's rules, ``clock`` is shared; each
    emulator keeps its own rate-limit buckets).
    """
    chosen = list(names) if names is not None else list(EMULATORS)
    if not chosen:
        raise InputError("names", chosen, "give at least one emulator name")
    if len(set(chosen)) != len(chosen):
        raise InputError("names", chosen, "each emulator may be given once")
    factories = {name: app_factory(name) for name in chosen}
    options = _options(
        latency, queue_time, exec_time, seed, tokens, faults, fail_rate, rate_limit, burst
    )
    root = web.Application(client_max_size=MAX_BODY)
    apps: dict[str, web.Application] = {}
    for name, factory in factories.items():
        # Each emulator gets its own copy of the rules (a rule counts what it saw and fired).
        own = attrs.evolve(options, faults=tuple(attrs.evolve(f) for f in options.faults))
        apps[name] = factory(EmulatorContext(own, clock, mount=f"/{name}"))
        root.add_subapp(f"/{name}", apps[name])
    async with _listen(root, host, port) as root_url:
        yield {name: Server(name, f"{root_url}/{name}", app) for name, app in apps.items()}


def _options(
    latency: float,
    queue_time: float,
    exec_time: float,
    seed: int,
    tokens: Iterable[str] | None,
    faults: Iterable[FaultSpec] | Mapping[str, Any] | None,
    fail_rate: float,
    rate_limit: float | None,
    burst: int | None,
) -> EmulatorOptions:
    return EmulatorOptions(
        latency=latency,
        queue_time=queue_time,
        exec_time=exec_time,
        seed=seed,
        tokens=frozenset(tokens) if tokens is not None else None,
        faults=tuple(parse_faults(faults)),
        fail_rate=fail_rate,
        rate_limit=rate_limit,
        burst=burst,
    )


@asynccontextmanager
async def _listen(app: web.Application, host: str, port: int) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` until the block exits; yields the root URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = _bound_port(runner)
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{bound}"
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    for server in runner.sites:
        srv = getattr(server, "_server", None)
        for sock in getattr(srv, "sockets", None) or ():
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                port: int = sock.getsockname()[1]
                return port
    addresses = runner.addresses
    if addresses:
        return int(addresses[0][1])
    raise RuntimeError("the emulator is not listening")


_publish(globals())
