"""The transport's own limiter: requests per second (token bucket) and concurrent requests.

It sits in front of aiohttp, so time spent queueing here never counts against a request's
timeout. It also adapts to the server (AIMD): each 429 answer halves the rate, and successes
raise it again additively until the configured rate is back.

Constants (documented numbers, not tuning knobs):

* ``DECREASE_FACTOR = 0.5``: a 429 multiplies the current rate by this.
* ``DECREASE_COOLDOWN = 1.0`` s: further 429s within this time of a decrease do not decrease
  again (one burst of concurrent 429s is one signal).
* ``RECOVERY_STEP = 0.05``: each successful answer adds this fraction of the ceiling rate, so
  about 10 successes recover from one halving.
* ``MIN_RATE = 0.5`` requests/s: the rate never drops below this.
* With no configured rate, the first 429 starts limiting at half the rate observed over the last
  ``WINDOW = 1.0`` s; once recovered to that observed rate the limit is lifted again.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType

import anyio

from qjobs.transport._types import RateLimit

__all__ = [
    "DECREASE_COOLDOWN",
    "DECREASE_FACTOR",
    "MIN_RATE",
    "RECOVERY_STEP",
    "WINDOW",
    "RateLimiter",
]

DECREASE_FACTOR = 0.5
DECREASE_COOLDOWN = 1.0
RECOVERY_STEP = 0.05
MIN_RATE = 0.5
WINDOW = 1.0


class RateLimiter:
    """Token bucket (burst of one: requests are spaced ``1/rate`` apart) plus a semaphore.

    Waiters reserve their slot synchronously, so the order of arrival is kept and the rate holds
    in every window even with many waiting tasks.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._semaphore: asyncio.Semaphore | None = None
        self._ceiling: float | None = limit.requests_per_second
        self._rate: float | None = limit.requests_per_second
        self._next_slot = 0.0
        self._last_decrease = -float("inf")
        self._recent: deque[float] = deque()
        self._unlimited_ceiling = 0.0

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self._rate}, max_concurrent={self.limit.max_concurrent})"

    @property
    def rate(self) -> float | None:
        """The current requests-per-second limit (``None``: unlimited)."""
        return self._rate

    def slot(self) -> _Slot:
        """Wait for a concurrency slot and a rate token; hold the slot while the body runs.

        Use as ``async with limiter.slot():``.
        """
        return _Slot(self)

    async def _acquire(self) -> None:
        # An asyncio semaphore (the transport runs on aiohttp, hence asyncio): taking a free
        # slot costs no trip through the event loop, unlike anyio's checkpointing one.
        semaphore = self._semaphore
        if semaphore is None:
            semaphore = self._semaphore = asyncio.Semaphore(self.limit.max_concurrent)
        await semaphore.acquire()
        try:
            await self._take_token()
        except BaseException:
            semaphore.release()
            raise

    def _release(self) -> None:
        assert self._semaphore is not None
        self._semaphore.release()

    async def _take_token(self) -> None:
        now = self._clock()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - WINDOW:
            self._recent.popleft()
        if self._rate is None:
            return
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self._rate
        if slot > now:
            await self._sleep(slot - now)

    def on_rate_limited(self) -> None:
        """The server answered 429: slow down (at most once per cooldown)."""
        now = self._clock()
        if now - self._last_decrease < DECREASE_COOLDOWN:
            return
        self._last_decrease = now
        if self._rate is None:
            observed = sum(1 for t in self._recent if t >= now - WINDOW) / WINDOW
            self._ceiling = None
            base = max(observed, 2 * MIN_RATE)
            self._unlimited_ceiling = base
            self._rate = max(MIN_RATE, base * DECREASE_FACTOR)
        else:
            self._rate = max(MIN_RATE, self._rate * DECREASE_FACTOR)

    def on_success(self) -> None:
        """The server answered without 429: recover towards the ceiling."""
        if self._rate is None:
            return
        ceiling = self._ceiling if self._ceiling is not None else self._unlimited_ceiling
        if self._rate >= ceiling:
            return
        self._rate = min(ceiling, self._rate + RECOVERY_STEP * ceiling)
        if self._rate >= ceiling and self._ceiling is None:
            self._rate = None  # recovered: lift the adaptive limit again


class _Slot:
    """``async with limiter.slot():`` without a generator-based context manager per request."""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        await self._limiter._acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._limiter._release()
