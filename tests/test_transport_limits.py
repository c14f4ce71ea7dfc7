"""The transport's rate limiter and concurrency bound, and its adaptation to 429."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
from aiohttp import web

import qjobs
from qjobs.transport import LimiterPhase, RateLimit, RateLimiter, RetryPolicy, Transport
from qjobs.transport._congestion import DECREASE_FACTOR, MIN_RATE, START_RATE

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


def _rate_limited(retry_after: float | None = None) -> qjobs.RateLimitedError:
    return qjobs.RateLimitedError(
        "slow down", status=429, provider="p", method="GET", path="/x", retry_after=retry_after
    )


async def _refused(limiter: RateLimiter) -> None:
    async with limiter.slot():
        raise _rate_limited()


@pytest.mark.anyio
async def test_429_cuts_once_per_congestion_event_and_cap_holds() -> None:
    """Answers to requests sent before a cut are the same event; growth never passes the cap."""
    clock = AdvancingClock()
    limiter = RateLimiter(RateLimit(requests_per_second=20), clock=clock, sleep=clock.sleep)
    slots = [limiter.slot() for _ in range(3)]
    for slot in slots:
        await slot.__aenter__()
    await slots[0].__aexit__(qjobs.RateLimitedError, _rate_limited(), None)
    cut = limiter.rate
    assert cut is not None
    assert cut <= DECREASE_FACTOR * 20
    for slot in slots[1:]:  # sent before the cut: the same event
        await slot.__aexit__(qjobs.RateLimitedError, _rate_limited(), None)
    assert limiter.rate == cut
    state = limiter.state()
    assert (state.rate_limited, state.congestion_events, state.in_flight) == (3, 1, 0)
    with pytest.raises(qjobs.RateLimitedError):
        await _refused(limiter)  # sent after the cut: a new event
    assert limiter.rate is not None
    assert limiter.rate < cut
    for _ in range(2000):
        async with limiter.slot():
            clock.now += 0.01
    assert limiter.rate == 20  # grew back, never above the cap
    for _ in range(40):  # every cut is a new event: the rate bottoms out at MIN_RATE
        with pytest.raises(qjobs.RateLimitedError):
            await _refused(limiter)
    assert limiter.rate == MIN_RATE


@pytest.mark.anyio
async def test_adaptive_limiter_grows_from_its_start_while_pressed() -> None:
    clock = AdvancingClock()
    limiter = RateLimiter(RateLimit(), clock=clock, sleep=clock.sleep)
    start = limiter.state()
    assert (start.phase, start.rate, start.window) == (LimiterPhase.SLOW_START, START_RATE, 8)
    for _ in range(50):  # back to back: the rate holds them back, answers come fast
        async with limiter.slot():
            clock.now += 0.001
    grown = limiter.state()
    assert grown.rate is not None
    assert grown.rate > START_RATE
    assert grown.phase is LimiterPhase.SLOW_START
    assert (grown.rate_limited, grown.congestion_events, grown.in_flight) == (0, 0, 0)


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
        assert t.stats.rate_limited == 2
        assert t.stats.retries == 2
        # The retried request was sent after the first cut: two congestion events.
        state = t.limiter.state()
        assert (state.rate_limited, state.congestion_events) == (2, 2)
        assert state.rate is not None
        assert state.rate < DECREASE_FACTOR**2 * 200
        for _ in range(30):
            await t.request("GET", "/x")
        assert t.limiter.rate is not None
        assert state.rate < t.limiter.rate <= 200


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


class SteppedClock:
    """A fake clock moved only by :meth:`advance`; ``sleep`` waits until it reaches its end."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, to: float) -> None:
        self.now = to
        for end, future in list(self._sleepers):
            if end <= to + 1e-9:
                self._sleepers.remove((end, future))
                future.set_result(None)
        await anyio.wait_all_tasks_blocked()


@pytest.mark.anyio
async def test_requests_held_by_the_window_leave_at_the_rate() -> None:
    """The window full for a second (a server that stalls): the requests queued meanwhile leave
    spaced at the rate once room opens, not all at once (a burst a server's bucket refuses)."""
    clock = SteppedClock()
    limiter = RateLimiter(
        RateLimit(requests_per_second=10, max_concurrent=2), clock=clock, sleep=clock.sleep
    )
    stall = anyio.Event()
    sent: list[float] = []

    async def request(i: int) -> None:
        async with limiter.slot():
            sent.append(clock.now)
            if i < 2:
                await stall.wait()  # the first two hold the window until the stall ends

    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(request, i)
        await anyio.wait_all_tasks_blocked()
        for step in range(1, 11):  # one second of stall, in steps of the rate's interval
            await clock.advance(step / 10)
        assert sent == [0.0, 0.1]
        stall.set()
        await anyio.wait_all_tasks_blocked()
        for step in range(11, 30):
            await clock.advance(step / 10)
    assert len(sent) == 10
    after = sent[2:]
    assert after[0] == 1.0
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(after))
