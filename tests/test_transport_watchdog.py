"""A buffered request's timeouts under one timer per attempt (the transport's Watchdog)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

import qjobs
from qjobs.transport import RetryPolicy, Timeouts, Transport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/x", handler)
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


def transport(base: str, *, total: float = 30.0) -> Transport:
    return Transport(
        provider="p",
        base_url=base,
        timeouts=Timeouts(connect=0.1, read=0.2, total=total),
        retry=RetryPolicy.no_retry(),
    )


@pytest.mark.anyio
async def test_no_answer_at_all_times_out_on_the_idle_read() -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    try:
        async with serve(hang) as base, transport(base) as t:
            with pytest.raises(qjobs.RequestTimeoutError):
                await t.request("GET", "/x")
            assert t.stats.total == 1
    finally:
        release.set()


@pytest.mark.anyio
async def test_headers_then_a_stalled_body_times_out() -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "10"})
        await resp.prepare(request)
        await resp.write(b"12345")
        await release.wait()
        return resp

    try:
        async with serve(stall) as base, transport(base) as t:
            with pytest.raises(qjobs.RequestTimeoutError):
                await t.request("GET", "/x")
            assert t.stats.statuses[200] == 1
    finally:
        release.set()


@pytest.mark.anyio
async def test_a_slow_body_that_keeps_coming_is_not_idle() -> None:
    """Twelve chunks 0.05 s apart: 0.6 s in all, three times the idle-read bound, never idle."""

    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "12"})
        await resp.prepare(request)
        for _ in range(12):
            await resp.write(b"x")
            await asyncio.sleep(0.05)
        return resp

    async with serve(trickle) as base, transport(base) as t:
        assert (await t.request("GET", "/x")).content == b"x" * 12


@pytest.mark.anyio
async def test_total_bounds_a_body_that_keeps_coming() -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "1000"})
        await resp.prepare(request)
        for _ in range(1000):
            await resp.write(b"x")
            await asyncio.sleep(0.02)
        return resp

    async with serve(endless) as base, transport(base, total=0.3) as t:
        with pytest.raises(qjobs.RequestTimeoutError):
            await t.request("GET", "/x")


@pytest.mark.anyio
async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return web.Response()

    try:
        async with serve(hang) as base, transport(base) as t:
            task = asyncio.create_task(t.request("GET", "/x"))
            await arrived.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert t.stats.in_flight == 0
            assert t.limiter.state().in_flight == 0
    finally:
        release.set()
