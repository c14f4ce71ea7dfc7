"""The adaptive limiter with the clients' defaults, against servers that limit: counts, not times.

(a) with no server limit the limiter grows above its start; (b) against an emulator's token
bucket (``serve(rate_limit=, burst=)``) 429s stay at most 2 % of the requests and no job is
created twice; (c) after a 429 with ``Retry-After: 1`` no request at all reaches the server
before the deadline (arrival times recorded on the server, a count of those inside the window).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from aiohttp import web

import qjobs
from qjobs.scheduler import Scheduler
from qjobs.transport import LimiterPhase, Transport
from qjobs.transport._congestion import START_RATE

pytestmark = pytest.mark.anyio


def _circuits(n: int) -> list[qjobs.Circuit]:
    return [
        qjobs.Circuit.from_qasm(f"qubit[2] q; bit[2] c; rx({0.01 * (i + 1)}) q[0]; c = measure q;")
        for i in range(n)
    ]


async def test_grows_above_its_start_without_a_server_limit() -> None:
    async with (
        qjobs.emulators.serve("ionq", latency=0.01, seed=1) as server,
        qjobs.connect("ionq", token="t", base_url=server.base_url) as client,
    ):
        start = client.transport.limiter.state()
        async with Scheduler(client, backend="simulator", shots=10, batch_size=1) as sched:
            for c in _circuits(200):
                sched.submit(c)
            results = await sched.gather()
        state = client.transport.limiter.state()
    assert len(results) == 200
    assert (start.rate, start.rate_cap, start.window_cap) == (START_RATE, None, None)
    assert state.rate is not None
    assert state.rate > 2 * START_RATE
    assert (state.rate_limited, state.congestion_events) == (0, 0)
    assert state.phase is LimiterPhase.SLOW_START
    assert server.stats.jobs_created == 200


@pytest.mark.parametrize("provider", ["ionq", "kipu"])
async def test_few_429s_and_no_duplicates_under_a_server_limit(provider: str) -> None:
    jobs = 200
    async with (
        qjobs.emulators.serve(provider, rate_limit=100, burst=20, seed=2) as server,
        qjobs.connect(provider, token="t", base_url=server.base_url) as client,
    ):
        backend = "simulator" if provider == "ionq" else (await client.backends())[0].name
        async with Scheduler(client, backend=backend, shots=10, batch_size=1) as sched:
            for c in _circuits(jobs):
                sched.submit(c)
            results = await sched.gather()
        state = client.transport.limiter.state()
        sent = client.transport.stats.total
    assert len(results) == jobs
    assert server.stats.jobs_created == jobs  # no job created twice for one circuit
    refused = server.stats.total_rate_limited
    assert refused >= 1  # the limit was reached...
    assert refused <= 0.02 * sent  # ...and found with few 429s
    assert state.rate_limited == refused
    assert state.congestion_events >= 1
    assert state.retry_after_waits >= 1
    assert state.rate is not None
    assert state.rate <= 100 * 1.25


@asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_retry_after_holds_every_request_of_the_limiter() -> None:
    arrivals: list[float] = []
    refused_at: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        if not refused_at:
            refused_at.append(time.monotonic())
            return web.json_response(
                {"message": "slow down"}, status=429, headers={"Retry-After": "1"}
            )
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("GET", "/x", handler)
    async with _serve(app) as base, Transport(provider="p", base_url=base) as transport:
        retrying = anyio.Event()
        transport.add_retry_listener(lambda wait: retrying.set())
        async with anyio.create_task_group() as tg:
            tg.start_soon(transport.request, "GET", "/x")  # answered 429, retried
            await retrying.wait()  # the client has read the 429
            for _ in range(5):  # others, sent while the first waits for its Retry-After
                tg.start_soon(transport.request, "GET", "/x")
        state = transport.limiter.state()
    assert len(arrivals) == 7  # 1 refused, its retry, 5 others: every one answered 2xx
    deadline = refused_at[0] + 1.0
    assert sum(1 for t in arrivals if refused_at[0] < t < deadline) == 0
    assert state.rate_limited == 1
    assert state.retry_after_waits >= 1
    assert transport.stats.retries == 1


async def test_the_retried_request_waits_once_the_others_are_held() -> None:
    """With a recording sleep (no time passes): the retry waits Retry-After once, exactly; a
    request of another task meanwhile is held by the limiter until the same deadline."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    answers = [429]

    async def handler(request: web.Request) -> web.Response:
        if answers:
            answers.pop()
            return web.json_response({"message": "later"}, status=429, headers={"Retry-After": "2"})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("GET", "/x", handler)
    async with _serve(app) as base, Transport(provider="p", base_url=base, sleep=record) as t:
        await t.request("GET", "/x")
        assert waits == [2.0]  # the retry layer's wait; the limiter did not add a second one
        await t.request("GET", "/x")  # another request within the 2 s: held by the limiter
    assert len(waits) == 2
    assert 1.0 < waits[1] <= 2.0
    assert t.limiter.state().retry_after_waits == 1
