"""Retry semantics by request kind, Retry-After, bounds, ambiguous faults."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

import qjobs
from qjobs.transport import RateLimiter, RequestKind, RetryPolicy, Transport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class FakeTime:
    """An injectable sleep + clock: records the waits, advances time without waiting.

    The retry layer's waits go to ``waits``, the rate limiter's to ``limiter_waits``.
    """

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.limiter_waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    async def limiter_sleep(self, seconds: float) -> None:
        self.limiter_waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make(base: str, fake: FakeTime, **retry: Any) -> Transport:
    transport = Transport(
        provider="p",
        base_url=base,
        auth_headers={"Authorization": "Bearer tok-abcdef"},
        retry=RetryPolicy(**retry),
        sleep=fake.sleep,
        clock=fake.clock,
        jitter=lambda value: value,  # deterministic: the un-jittered exponential sequence
    )
    # The limiter slows down after a 429 (tested in test_transport_limits); on fake time here.
    transport.limiter = RateLimiter(
        transport.rate_limit,
        clock=fake.clock,
        sleep=fake.limiter_sleep,
        max_retry_after=transport.retry.max_retry_after,
    )
    return transport


def failing(
    statuses: list[int], headers: dict[str, str] | None = None
) -> tuple[Handler, Counter[str]]:
    """A handler answering the given statuses in turn, then 200; counts requests by method."""
    seen: Counter[str] = Counter()
    queue = list(statuses)

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        seen[request.method] += 1
        if queue:
            status = queue.pop(0)
            return web.json_response({"message": f"fail {status}"}, status=status, headers=headers)
        return web.json_response({"ok": True})

    return handler, seen


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
@pytest.mark.anyio
async def test_read_retried_on_transient_statuses(status: int) -> None:
    handler, seen = failing([status, status])
    fake = FakeTime()
    async with serve({"/x": handler}) as base, make(base, fake) as t:
        resp = await t.request("GET", "/x")
        assert resp.json() == {"ok": True}
        assert seen["GET"] == 3
        assert t.stats.retries == 2
        assert t.stats.requests["GET /x"] == 3
        assert fake.waits == [0.2, 0.4]


@pytest.mark.anyio
async def test_read_gives_up_after_max_attempts() -> None:
    handler, seen = failing([500] * 10)
    fake = FakeTime()
    async with serve({"/x": handler}) as base, make(base, fake, max_attempts=4) as t:
        with pytest.raises(qjobs.ServerError):
            await t.request("GET", "/x")
        assert seen["GET"] == 4
        assert fake.waits == [0.2, 0.4, 0.8]


@pytest.mark.anyio
async def test_total_time_bound() -> None:
    handler, seen = failing([500] * 100)
    fake = FakeTime()
    async with (
        serve({"/x": handler}) as base,
        make(base, fake, max_attempts=100, max_time=3.0, base_delay=1.0) as t,
    ):
        with pytest.raises(qjobs.ServerError):
            await t.request("GET", "/x")
    assert fake.waits == [1.0, 2.0]  # the third wait would start past max_time
    assert seen["GET"] == 3


@pytest.mark.anyio
async def test_max_delay_caps_backoff() -> None:
    handler, _ = failing([503] * 5)
    fake = FakeTime()
    async with (
        serve({"/x": handler}) as base,
        make(base, fake, base_delay=1.0, factor=3.0, max_delay=5.0) as t,
    ):
        await t.request("GET", "/x")
    assert fake.waits == [1.0, 3.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("kind", [RequestKind.CREATE, RequestKind.WRITE])
@pytest.mark.anyio
async def test_create_and_write_not_retried_on_5xx(status: int, kind: RequestKind) -> None:
    handler, seen = failing([status])
    fake = FakeTime()
    async with serve({"/jobs": handler}) as base, make(base, fake) as t:
        with pytest.raises(qjobs.ServerError):
            await t.request("POST", "/jobs", json={"shots": 1}, kind=kind)
        assert seen["POST"] == 1
        assert fake.waits == []


@pytest.mark.parametrize(
    ("status", "headers", "waits"),
    [(429, {"Retry-After": "2"}, [2.0]), (429, None, [0.2]), (503, {"Retry-After": "0.5"}, [0.5])],
)
@pytest.mark.anyio
async def test_create_retried_when_server_did_nothing(
    status: int, headers: dict[str, str] | None, waits: list[float]
) -> None:
    handler, seen = failing([status], headers)
    fake = FakeTime()
    async with serve({"/jobs": handler}) as base, make(base, fake) as t:
        resp = await t.request("POST", "/jobs", json={"shots": 1}, kind=RequestKind.CREATE)
        assert resp.status == 200
        assert seen["POST"] == 2
        assert fake.waits == waits
        assert t.stats.retries == 1


@pytest.mark.anyio
async def test_retry_after_honoured_exactly() -> None:
    handler, _ = failing([429, 503, 429], {"Retry-After": "7"})
    fake = FakeTime()
    async with serve({"/x": handler}) as base, make(base, fake) as t:
        await t.request("GET", "/x")
    assert fake.waits == [7.0, 7.0, 7.0]  # no jitter, no exponential growth


@pytest.mark.anyio
async def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    handler, _ = failing([429], {"Retry-After": when})
    fake = FakeTime()
    async with serve({"/x": handler}) as base, make(base, fake) as t:
        await t.request("GET", "/x")
    assert len(fake.waits) == 1
    assert 28.0 <= fake.waits[0] <= 30.0  # the date has a resolution of one second


@pytest.mark.anyio
async def test_retry_after_capped_and_beyond_max_time() -> None:
    handler, seen = failing([429, 429], {"Retry-After": "1000"})
    fake = FakeTime()
    async with (
        serve({"/x": handler}) as base,
        make(base, fake, max_retry_after=5.0, max_time=600.0) as t,
    ):
        await t.request("GET", "/x")
    assert fake.waits == [5.0, 5.0]
    # A hint longer than the time left: raise at once, without waiting.
    handler, seen = failing([429, 429], {"Retry-After": "50"})
    fake = FakeTime()
    async with serve({"/x": handler}) as base, make(base, fake, max_time=10.0) as t:
        with pytest.raises(qjobs.RateLimitedError) as info:
            await t.request("GET", "/x")
    assert info.value.retry_after == 50.0
    assert fake.waits == []
    assert seen["GET"] == 1


def drop_after_body() -> tuple[Handler, Counter[str]]:
    """Reads the whole request, then closes the connection without answering."""
    seen: Counter[str] = Counter()

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        seen[request.method] += 1
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0)
        return web.Response(status=200)

    return handler, seen


@pytest.mark.anyio
async def test_create_dropped_connection_is_uncertain() -> None:
    handler, seen = drop_after_body()
    fake = FakeTime()
    async with serve({"/jobs": handler}) as base, make(base, fake) as t:
        with pytest.raises(qjobs.SubmitUncertainError) as info:
            await t.request("POST", "/jobs", json={"shots": 1}, kind=RequestKind.CREATE)
        assert seen["POST"] == 1  # received once, never resubmitted
        assert fake.waits == []
        assert info.value.method == "POST"
        assert info.value.path == "/jobs"
        assert "tok-abcdef" not in str(info.value)
        with pytest.raises(qjobs.TransportError) as winfo:
            await t.request("POST", "/jobs", json={}, kind=RequestKind.WRITE)
        assert not isinstance(winfo.value, qjobs.SubmitUncertainError)
        assert seen["POST"] == 2
        # aiohttp's own silent resend of idempotent methods is off: a PUT creating a job is
        # sent once.
        with pytest.raises(qjobs.SubmitUncertainError):
            await t.request("PUT", "/jobs", json={}, kind=RequestKind.CREATE)
        assert seen["PUT"] == 1
        with pytest.raises(qjobs.TransportError):
            await t.request("GET", "/jobs")  # READ: retried up to max_attempts
        assert seen["GET"] == 6
        assert t.stats.retries == 5


@pytest.mark.anyio
async def test_default_kind_for_post_is_write() -> None:
    handler, seen = drop_after_body()
    async with serve({"/jobs": handler}) as base, make(base, FakeTime()) as t:
        with pytest.raises(qjobs.TransportError) as info:
            await t.request("POST", "/jobs", json={})
        assert not isinstance(info.value, qjobs.SubmitUncertainError)
        assert seen["POST"] == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("kind", [RequestKind.READ, RequestKind.CREATE, RequestKind.WRITE])
@pytest.mark.anyio
async def test_connect_failure_retried_then_connect_error(kind: RequestKind) -> None:
    fake = FakeTime()
    base = f"http://127.0.0.1:{_closed_port()}"
    async with make(base, fake, max_attempts=3) as t:
        with pytest.raises(qjobs.ConnectError) as info:
            await t.request("POST", "/jobs", json={}, kind=kind)
        assert not isinstance(info.value, qjobs.SubmitUncertainError)
        assert t.stats.retries == 2
        assert t.stats.total == 3
        assert fake.waits == [0.2, 0.4]


@pytest.mark.anyio
async def test_timeouts_by_kind() -> None:
    release = asyncio.Event()
    seen: Counter[str] = Counter()

    async def stall(request: web.Request) -> web.Response:
        await request.read()
        seen[request.method] += 1
        await release.wait()
        return web.Response()

    fake = FakeTime()
    try:
        async with serve({"/slow": stall}) as base, make(base, fake, max_attempts=2) as t:
            with pytest.raises(qjobs.RequestTimeoutError):
                await t.request("GET", "/slow", timeout=0.2)
            assert seen["GET"] == 2
            with pytest.raises(qjobs.SubmitUncertainError):
                await t.request("POST", "/slow", json={}, kind=RequestKind.CREATE, timeout=0.2)
            assert seen["POST"] == 1
            with pytest.raises(qjobs.RequestTimeoutError):
                await t.request("POST", "/slow", json={}, kind=RequestKind.WRITE, timeout=0.2)
            assert seen["POST"] == 2
            release.set()
    finally:
        release.set()


@pytest.mark.anyio
async def test_truncated_body_retried_for_read() -> None:
    calls: list[int] = []

    async def truncated(request: web.Request) -> web.StreamResponse:
        calls.append(1)
        if len(calls) == 1:
            resp = web.StreamResponse(headers={"Content-Length": "100"})
            await resp.prepare(request)
            await resp.write(b'{"partial')
            assert request.transport is not None
            request.transport.close()
            return resp
        return web.json_response({"ok": 1})

    fake = FakeTime()
    async with serve({"/x": truncated}) as base, make(base, fake) as t:
        assert (await t.request("GET", "/x")).json() == {"ok": 1}
    assert len(calls) == 2
