"""Local emulators of the providers' REST APIs, backed by :mod:`qjobs.sim`.

``serve(name, ...)`` runs one emulator in the current event loop::

    async with qjobs.emulators.serve("ionq", latency=0.02) as server:
        server.base_url     # "http://127.0.0.1:PORT/v0.4"
        server.stats        # EmulatorStats
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])

Providers register an app factory in :data:`EMULATORS` (name -> ``"module:function"``); the
factory takes an :class:`EmulatorContext` and returns an ``aiohttp.web.Application`` built with
:func:`qjobs.emulators._common.make_app`.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

from aiohttp import web

from qjobs.emulators._clock import Clock
from qjobs.emulators._common import EmulatorContext, EmulatorOptions, Server
from qjobs.emulators._faults import Fault, FaultSpec, parse_faults
from qjobs.emulators._stats import EmulatorStats

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
    """The app factory registered under ``name``; ValueError for an unknown name."""
    target = EMULATORS.get(name)
    if target is None:
        raise ValueError(f"name={name!r}: unknown emulator; known: {names()}")
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
) -> AsyncIterator[Server]:
    """Serve emulator ``name`` on ``host:port`` (0: a free port) until the block exits.

    ``latency`` delays every answer (s); ``queue_time`` then ``exec_time`` (s) shape each job's
    lifecycle; ``seed`` makes ids, sampling and faults reproducible; ``tokens`` are the accepted
    credentials (None: any non-empty token); ``faults`` are initial fault rules;
    ``fail_rate`` is the share of jobs that end failed; ``clock`` replaces the lifecycle clock
    (tests pass ``Clock(lambda: 0.0)`` and call ``server.advance()``).
    """
    options = EmulatorOptions(
        latency=latency,
        queue_time=queue_time,
        exec_time=exec_time,
        seed=seed,
        tokens=frozenset(tokens) if tokens is not None else None,
        faults=tuple(parse_faults(faults)),
        fail_rate=fail_rate,
    )
    app = app_factory(name)(EmulatorContext(options, clock))
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = _bound_port(runner)
        shown = f"[{host}]" if ":" in host else host
        yield Server(name, f"http://{shown}:{bound}", app)
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
