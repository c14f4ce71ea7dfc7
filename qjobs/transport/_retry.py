"""The retry loop: which failures are retried per request kind, and how long to wait.

Built on the ``backoff`` package's primitives (``backoff.expo`` for the exponential sequence and
``backoff.full_jitter``; the API of backoff 2.2.1, which later releases keep), with one rule
backoff's decorators cannot express: a server's ``Retry-After`` hint is used exactly (no jitter,
capped at ``RetryPolicy.max_retry_after``), and when it does not fit in the time left the error is
raised instead of waiting. The transport's limiter holds every other request until the same
deadline; the retried request, having waited here, is not held a second time.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import Token
from typing import TypeVar

import anyio
import backoff

from qjobs._core.errors import (
    APIError,
    ConnectError,
    InputError,
    QJobsError,
    RateLimitedError,
    TransportError,
)
from qjobs._core.validation import is_int
from qjobs.transport._ratelimit import retry_waited_until
from qjobs.transport._types import RequestKind, RetryPolicy

__all__ = ["OnRetry", "Retrier", "is_retryable"]

T = TypeVar("T")

# 5xx statuses that say "this will never work", not "try again".
_PERMANENT_5XX = frozenset({501, 505})


#: Called before each retry wait with the failure, the attempt that failed (1-based), the wait.
OnRetry = Callable[[QJobsError, int, float], None]


def is_retryable(exc: QJobsError, kind: RequestKind) -> bool:
    """Whether a failed attempt of a request of ``kind`` may be repeated.

    Every kind retries what provably did nothing on the server: connect failures, 429, and 503
    with ``Retry-After``. ``READ`` also retries 408, other 5xx, and ambiguous transport faults
    (reset, timeout, dropped connection).
    """
    if isinstance(exc, ConnectError | RateLimitedError):
        return not exc.permanent
    if isinstance(exc, APIError):
        if exc.status == 503 and exc.retry_after is not None:
            return True
        if kind is RequestKind.READ:
            return exc.status == 408 or (exc.status >= 500 and exc.status not in _PERMANENT_5XX)
        return False
    if isinstance(exc, TransportError):
        return kind is RequestKind.READ
    return False


def delays(policy: RetryPolicy) -> Iterator[float]:
    """The un-jittered waits of ``policy``: ``base_delay * factor**n``, capped at ``max_delay``.

    backoff 2.2.1's ``expo`` computes ``factor * base**n``, which overflows a float after about
    a thousand steps when the sequence has not reached its cap (``base_delay=0``, or a cap too
    far away): from there on the cap is used.
    """
    if policy.base_delay == 0:
        yield from itertools.repeat(0.0)
    waits = backoff.expo(base=policy.factor, factor=policy.base_delay, max_value=policy.max_delay)
    next(waits)  # prime the generator, as backoff itself does (2.2.1 yields None first)
    with contextlib.suppress(OverflowError):
        yield from waits
    yield from itertools.repeat(policy.max_delay)


def _retry_after(exc: QJobsError) -> float | None:
    if isinstance(exc, APIError) and exc.status in (429, 503):
        return exc.retry_after
    return None


class Retrier:
    """Runs an attempt function under a :class:`RetryPolicy`.

    ``max_connect_retries`` also bounds the retries after connection failures within one run
    (urllib3's ``connect``): the next connection failure is raised. ``sleep``, ``clock``
    (monotonic seconds) and ``jitter`` are injectable so tests can observe the waits without
    waiting.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        max_connect_retries: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float], float] = backoff.full_jitter,
    ) -> None:
        if max_connect_retries is not None and not is_int(max_connect_retries, low=0):
            raise InputError(
                "max_connect_retries", max_connect_retries, "must be an int >= 0 or None"
            )
        self.policy = policy
        self.max_connect_retries = max_connect_retries
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter

    def __repr__(self) -> str:
        return f"Retrier({self.policy!r})"

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        kind: RequestKind,
        on_retry: OnRetry | None = None,
    ) -> T:
        """Call ``attempt`` until it succeeds, fails for good, or the policy's bounds are hit."""
        policy = self.policy
        start = self.clock()
        waits: Iterator[float] | None = None  # built on the first failure only
        number = 0
        connect_failures = 0
        first_wait: Token[float] | None = None  # the exemption covers this request's retries
        try:
            while True:
                number += 1
                try:
                    return await attempt()
                except QJobsError as exc:
                    if number >= policy.max_attempts or not is_retryable(exc, kind):
                        raise
                    if isinstance(exc, ConnectError) and self.max_connect_retries is not None:
                        connect_failures += 1
                        if connect_failures > self.max_connect_retries:
                            raise
                    remaining = policy.max_time - (self.clock() - start)
                    hint = _retry_after(exc)
                    if waits is None:
                        waits = delays(policy)
                    backoff_wait = next(waits)
                    if hint is not None:
                        wait = min(hint, policy.max_retry_after)
                        if wait > remaining:
                            raise
                    else:
                        if remaining <= 0:
                            raise
                        wait = min(self.jitter(backoff_wait), remaining)
                    if on_retry is not None:
                        on_retry(exc, number, wait)
                    if hint is not None:
                        # The limiter holds every request until the same deadline; this one waits
                        # here, once (its next attempt is not held again).
                        waited = retry_waited_until.set(self.clock() + wait)
                        if first_wait is None:
                            first_wait = waited
                    await self.sleep(wait)
        finally:
            if first_wait is not None:
                retry_waited_until.reset(first_wait)
