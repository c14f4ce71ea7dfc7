"""The whole request limiter (queue, window, pacing, congestion control) on a virtual clock.

Callers run ``async with limiter.slot():`` against a simulated token-bucket server (as the
emulators' ``--rate-limit``: whole-second ``Retry-After``) that stalls now and then: a request
arriving during a stall waits for its end, as on a server whose event loop is busy. Time moves
only when every task waits on the clock, so the counts are exact and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import math

import anyio
import attrs
import pytest

import qjobs
from qjobs.transport import RateLimit, RateLimiter
from qjobs.transport._ratelimit import retry_waited_until

pytestmark = pytest.mark.anyio


class VirtualClock:
    """Monotonic seconds that jump to the next sleeper's end once every task waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0.0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def run_until_idle(self) -> None:
        """Move time from sleeper to sleeper until no task waits on the clock."""
        while True:
            await _all_blocked()
            if not self._sleepers:
                return
            self.now = min(end for end, _ in self._sleepers)
            due = [s for s in self._sleepers if s[0] <= self.now]
            self._sleepers = [s for s in self._sleepers if s[0] > self.now]
            for _, future in due:
                future.set_result(None)


async def _all_blocked() -> None:
    """Return once every other task waits on a future (anyio's ``wait_all_tasks_blocked``, which
    polls every 0.1 s of wall time, yielding to the event loop instead)."""
    this = asyncio.current_task()
    while True:
        await asyncio.sleep(0)
        if all(
            task is this or (task._fut_waiter is not None and not task._fut_waiter.done())  # type: ignore[attr-defined]
            for task in asyncio.all_tasks()
        ):
            return


@attrs.define
class Server:
    """A token bucket of ``rate`` requests/s holding ``burst``, ``latency`` s away, stalled for
    ``stall`` s at the start of every second from 2 s on."""

    clock: VirtualClock
    rate: float = 50.0
    burst: float = 20.0
    latency: float = 0.02
    stall: float = 0.0
    tokens: float = 20.0
    refilled: float = 0.0
    accepted: int = 0
    refused: int = 0

    def _processed_at(self, arrival: float) -> float:
        start = math.floor(arrival)
        if arrival >= 2.0 and arrival < start + self.stall:
            return start + self.stall
        return arrival

    async def request(self) -> None:
        """One request: returns on 2xx, raises RateLimitedError (Retry-After 1 s) on 429."""
        at = self._processed_at(self.clock.now + self.latency / 2)
        if at > self.refilled:
            self.tokens = min(self.burst, self.tokens + (at - self.refilled) * self.rate)
            self.refilled = at
        ok = self.tokens >= 1.0
        if ok:
            self.tokens -= 1.0
        await self.clock.sleep(at + self.latency / 2 - self.clock.now)
        if not ok:
            self.refused += 1
            raise qjobs.RateLimitedError(
                "slow down", status=429, provider="p", method="POST", path="/x", retry_after=1.0
            )
        self.accepted += 1


async def _run(server: Server, limiter: RateLimiter, requests: int, callers: int) -> None:
    clock = server.clock
    todo = requests

    async def one() -> None:
        while True:
            try:
                async with limiter.slot():
                    await server.request()
                return
            except qjobs.RateLimitedError:  # the retry layer: wait out Retry-After, once
                retry_waited_until.set(clock.now + 1.0)
                await clock.sleep(1.0)

    async def caller() -> None:
        nonlocal todo
        while todo > 0:
            todo -= 1
            await one()

    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(caller)
        await clock.run_until_idle()


@pytest.mark.parametrize("stall", [0.0, 0.3, 0.5])
async def test_a_stalling_server_costs_no_extra_congestion_event(stall: float) -> None:
    """600 requests, 32 callers, 50 requests/s with a burst of 20. A server that stalls up to half
    of every second fills the window; the requests queued meanwhile leave at the rate when it
    answers again, so the slow start's event stays the only one (a burst of the slots taken
    during the stall drew a 429 from the bucket after each long stall, and each cut the rate)."""
    clock = VirtualClock()
    server = Server(clock, stall=stall)
    limiter = RateLimiter(RateLimit(), clock=clock, sleep=clock.sleep)
    await _run(server, limiter, requests=600, callers=32)
    state = limiter.state()
    assert server.accepted == 600
    assert state.congestion_events == 1
    assert server.refused <= 0.02 * (server.accepted + server.refused)
    assert state.rate_limited == server.refused
    if stall == 0.0:
        assert server.accepted / clock.now >= 0.9 * server.rate
