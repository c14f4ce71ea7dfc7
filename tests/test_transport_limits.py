"""The transport's rate limiter and concurrency bound, and its adaptation to 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
from aiohttp import web

import qjobs
from qjobs.transport import RateLimit, RateLimiter, RetryPolicy, Transport
from qjobs.transport._ratelimit import DECREASE_COOLDOWN, MIN_RATE, RECOVERY_STEP

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
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


class Clock:
    def __init__(self) -> None:
        self.now = 50.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        await asyncio.sleep(0)


class AdvancingClock(Clock):
    """A fake clock whose sleep moves time forward, for the retry layer and limiter together."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        self.now += seconds
        await asyncio.sleep(0)


@pytest.mark.anyio
async def test_concurrency_never_exceeds_limit() -> None:
    active = 0
    peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.005)  # server latency, so requests overlap
        active -= 1
        return web.json_response({"ok": True})

    async with (
        serve({"/x": slow}) as base,
        Transport(provider="p", base_url=base, rate_limit=RateLimit(max_concurrent=4)) as t,
    ):
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(t.request, "GET", "/x")
        assert t.stats.total == 40
        assert t.stats.in_flight == 0
    assert 1 < peak <= 4
    assert 1 < t.stats.peak_in_flight <= 4


@pytest.mark.anyio
async def test_queueing_is_not_counted_against_timeout() -> None:
    """Ten requests through one slot take longer than one request's timeout, yet none fails."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.json_response({"ok": True})

    limit = RateLimit(max_concurrent=1)
    async with (
        serve({"/x": slow}) as base,
        Transport(provider="p", base_url=base, rate_limit=limit, retry=RetryPolicy.no_retry()) as t,
    ):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(lambda: t.request("GET", "/x", timeout=0.3))
        assert t.stats.statuses[200] == 10
        assert t.stats.peak_in_flight == 1


@pytest.mark.anyio
async def test_token_bucket_spacing() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(requests_per_second=50), clock=clock, sleep=clock.sleep)
    for _ in range(5):
        async with limiter.slot():
            pass
    # Reservations are 1/50 s apart; the first goes at once.
    assert clock.sleeps == [0.02, 0.04, 0.06, 0.08]
    clock.now += 10
    async with limiter.slot():
        pass
    assert len(clock.sleeps) == 4  # idle time refills the bucket


def test_aimd_halves_then_recovers() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(requests_per_second=20), clock=clock, sleep=clock.sleep)
    limiter.on_rate_limited()
    assert limiter.rate == 10
    limiter.on_rate_limited()  # same burst: within the cooldown, no second halving
    assert limiter.rate == 10
    clock.now += DECREASE_COOLDOWN
    limiter.on_rate_limited()
    assert limiter.rate == 5
    steps = 0
    while limiter.rate is not None and limiter.rate < 20:
        limiter.on_success()
        steps += 1
    assert limiter.rate == 20  # never above the configured rate
    assert steps == round(15 / (RECOVERY_STEP * 20))
    for _ in range(20):
        clock.now += DECREASE_COOLDOWN
        limiter.on_rate_limited()
    assert limiter.rate == MIN_RATE


def _rate(limiter: RateLimiter) -> float | None:
    return limiter.rate


@pytest.mark.anyio
async def test_unlimited_limiter_adapts_and_lifts() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(), clock=clock, sleep=clock.sleep)
    for _ in range(40):  # 40 requests within the last second
        clock.now += 0.02
        async with limiter.slot():
            pass
    assert _rate(limiter) is None
    assert clock.sleeps == []
    limiter.on_rate_limited()
    assert _rate(limiter) == 20.0
    while _rate(limiter) is not None:
        limiter.on_success()
    assert _rate(limiter) is None


@pytest.mark.anyio
async def test_429_slows_transport_limiter() -> None:
    answers = [429, 429]
    seen: list[int] = []

    async def limited(request: web.Request) -> web.Response:
        seen.append(1)
        if answers:
            return web.json_response(
                {"message": "slow down"}, status=answers.pop(0), headers={"Retry-After": "0"}
            )
        return web.json_response({"ok": True})

    clock = AdvancingClock()
    async with (
        serve({"/x": limited}) as base,
        Transport(
            provider="p",
            base_url=base,
            rate_limit=RateLimit(requests_per_second=200),
            sleep=clock.sleep,
            clock=clock,
        ) as t,
    ):
        await t.request("GET", "/x")
        assert len(seen) == 3
        # The two Retry-After waits are exact (0 s); the limiter's own waits (it shares the
        # injected clock) space requests one slot apart at the current rate.
        retry_waits = [w for w in clock.sleeps if w == 0.0]
        assert retry_waits == [0.0, 0.0]
        assert all(w <= 1 / 100 + 1e-9 for w in clock.sleeps)
        assert t.stats.rate_limited == 2
        assert t.stats.retries == 2
        # Two 429s inside one cooldown: one halving; then one success recovered a step.
        assert t.limiter.rate == pytest.approx(100 + RECOVERY_STEP * 200)
        for _ in range(30):
            await t.request("GET", "/x")
        assert t.limiter.rate == 200


@pytest.mark.anyio
async def test_rate_limited_error_after_retries() -> None:
    async def always(request: web.Request) -> web.Response:
        return web.json_response({"message": "no"}, status=429, headers={"Retry-After": "1"})

    clock = AdvancingClock()
    async with (
        serve({"/x": always}) as base,
        Transport(
            provider="p",
            base_url=base,
            retry=RetryPolicy(max_attempts=3),
            rate_limit=RateLimit(requests_per_second=1000),
            sleep=clock.sleep,
            clock=clock,
        ) as t,
    ):
        with pytest.raises(qjobs.RateLimitedError) as info:
            await t.request("GET", "/x")
        assert info.value.retry_after == 1.0
        # Retry-After waits are exact; after waiting 1 s the limiter has a token at once.
        assert [w for w in clock.sleeps if w > 0.01] == [1.0, 1.0]
        assert t.stats.statuses[429] == 3


@pytest.mark.anyio
async def test_cancelled_waiters_give_their_slot_back() -> None:
    """A request cancelled while waiting for a slot or a token leaves no slot taken."""
    gate = anyio.Event()

    async def blocked_sleep(_: float) -> None:
        await gate.wait()

    limiter = RateLimiter(RateLimit(requests_per_second=1, max_concurrent=1), sleep=blocked_sleep)
    entered: list[int] = []

    async def use(i: int) -> None:
        async with limiter.slot():
            entered.append(i)

    await use(0)  # the first token is free; the second must wait (blocked_sleep)
    async with anyio.create_task_group() as tg:
        tg.start_soon(use, 1)  # holds the only slot, waiting for its token
        tg.start_soon(use, 2)  # waits for the slot itself
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert entered == [0]
    gate.set()
    with anyio.fail_after(5):
        await use(3)  # both cancelled waiters released what they held
    assert entered == [0, 3]
