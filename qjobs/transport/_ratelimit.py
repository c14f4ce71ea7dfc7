"""The transport's request limiter: requests in flight (a window) and requests per second.

It sits in front of aiohttp, so time spent queueing here never counts against a request's
timeout. By default it is adaptive: congestion control (:mod:`qjobs.transport._congestion`)
grows the rate and the window while answers come back 2xx and fast, and cuts both once per
congestion event on a 429 (or a 503 with ``Retry-After``), settling near the server's own limit.
A ``Retry-After`` hint holds every request of this limiter (the same host and token) until its
deadline; the retry layer waits for the same deadline, so a retried request does not wait twice.
The ``RateLimit`` caps (the user's, or a limit the provider publishes) are hard caps.

Each request costs O(1): one small slot object, no scans; the answer is read from the exception
the request left the slot with (none: a 2xx), so the transport has nothing else to report.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import TracebackType

import anyio

from qjobs.transport._congestion import Congestion, LimiterState
from qjobs.transport._types import RateLimit

__all__ = ["RateLimiter", "retry_waited_until"]

#: Set by the retry layer before it waits out a ``Retry-After``: the task has waited until then
#: (on the transport's clock), so its retried request does not wait for that deadline again.
retry_waited_until: ContextVar[float] = ContextVar("retry_waited_until", default=-math.inf)


class RateLimiter:
    """Paces requests and bounds those in flight; see the module docstring.

    Use as ``async with limiter.slot(): <send and read>``. ``clock`` (monotonic seconds) and
    ``sleep`` are injectable for tests; ``max_retry_after`` bounds how long one ``Retry-After``
    hint holds requests (the transport passes its :class:`RetryPolicy`'s).
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        max_retry_after: float = math.inf,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._control = Congestion(limit, max_retry_after=max_retry_after)
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()  # for room in the window
        self._pacing = False  # a request is taking its slot of the rate
        self._pace_queue: deque[asyncio.Future[None]] = deque()  # requests queued behind it

    def __repr__(self) -> str:
        state = self.state()
        return f"RateLimiter(rate={state.rate}, window={state.window}, {self.limit!r})"

    @property
    def rate(self) -> float | None:
        """The current requests-per-second pacing (``None``: not paced)."""
        rate = self._control.rate
        return None if math.isinf(rate) else rate

    def state(self) -> LimiterState:
        """A read-only snapshot: rate, window, caps, in flight, 429s and waits seen."""
        return self._control.state(self._in_flight, self._clock())

    def slot(self, *, timed: bool = True) -> _Slot:
        """Wait for room in the window and for the request's time; hold it while the body runs.

        ``timed=False`` (a streamed body) keeps the answer's latency and success out of the
        adaptation; a 429 still counts.
        """
        return _Slot(self, timed)

    # -- the window ----------------------------------------------------------------------------

    async def _enter(self, slot: _Slot) -> None:
        slot.sent_at = await self._pace(slot, self._clock())

    async def _pace(self, slot: _Slot, now: float) -> float:
        """Wait for room in the window, then for the request's time (returned): the rate's next
        slot, never before a Retry-After deadline.

        One request at a time (the head of the line) takes room and then its slot (the others
        queue in order), so a slot is always taken at the rate of the moment, and requests the
        window held back leave at the rate once room opens, not all at once.
        """
        control = self._control
        if self._pacing:
            await self._wait_in(self._pace_queue, self._next_pacer)
            now = self._clock()
        self._pacing = True
        try:
            if self._in_flight < control.window:
                self._in_flight += 1
                slot.full = self._in_flight >= control.window
            else:
                await self._wait_for_room()
                slot.full = True
                now = self._clock()
            try:
                slot.seq = control.sent
                at, slot.pressed = control.reserve(now, self._waited(now))
                while at > now:
                    await self._sleep(at - now)
                    now = self._clock()
                    if control.not_before <= at:
                        break
                    # A Retry-After deadline came while this request waited: wait for it too.
                    slot.seq = control.sent
                    at, _ = control.reserve(now, self._waited(now))
            except BaseException:
                self._leave()
                raise
        finally:
            self._next_pacer()
        return now

    def _waited(self, now: float) -> float:
        """Until when this task already waited for a ``Retry-After`` (only read when one holds)."""
        return retry_waited_until.get() if now < self._control.not_before else -math.inf

    def _next_pacer(self) -> None:
        queue = self._pace_queue
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(None)  # handed over: that request is the one pacing now
                return
        self._pacing = False

    async def _wait_for_room(self) -> None:
        await self._wait_in(self._waiters, self._leave)

    @staticmethod
    async def _wait_in(queue: deque[asyncio.Future[None]], give_back: Callable[[], None]) -> None:
        """Wait in ``queue`` until handed over; a wait cancelled once handed over gives back."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(future)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                give_back()  # handed over just as the wait was cancelled
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(future)
            raise

    def _leave(self) -> None:
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        window = self._control.window
        while waiters and self._in_flight < window:
            future = waiters.popleft()
            if not future.done():
                self._in_flight += 1  # handed over: the waiter holds it when it resumes
                future.set_result(None)

    def _exit(self, slot: _Slot, exc: BaseException | None) -> None:
        self._in_flight -= 1
        if exc is None:
            if slot.timed:
                self._control.on_success(self._clock(), slot.sent_at, slot.pressed, slot.full)
        else:
            status = getattr(exc, "status", None)
            if status == 429 or status == 503:
                retry_after: float | None = getattr(exc, "retry_after", None)
                if status == 429 or retry_after is not None:
                    self._control.on_congestion(self._clock(), slot.seq, retry_after)
        self._wake()


class _Slot:
    """One request's place in the limiter (``async with limiter.slot():``)."""

    __slots__ = ("_limiter", "full", "pressed", "sent_at", "seq", "timed")

    def __init__(self, limiter: RateLimiter, timed: bool) -> None:
        self._limiter = limiter
        self.timed = timed
        self.seq = 0
        self.sent_at = 0.0
        self.pressed = False
        self.full = False

    async def __aenter__(self) -> None:
        await self._limiter._enter(self)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._limiter._exit(self, exc)
