"""The emulators' rate limit: a token bucket per API token, driven by the emulator clock.

Off unless ``rate_limit`` (requests per second) is given. Each token gets a bucket holding up to
``burst`` requests (default: one second's worth, ``max(1, ceil(rate_limit))``), refilled at
``rate_limit`` per second of the emulator's :class:`~qjobs.emulators._common.clock.Clock`, so a
test with a frozen clock moves it with ``advance()``. A request finding its bucket empty is
refused; :meth:`RateLimiter.take` says how long until a request would pass.
"""

from __future__ import annotations

import math

from qjobs._core.validation import is_int, is_number
from qjobs.emulators._common.auth import owner_key
from qjobs.emulators._common.clock import Clock

__all__ = ["RateLimiter", "check_rate_limit", "retry_after_header"]

# A refill that lands within this much of a whole token counts as the whole token (float noise).
_EPSILON = 1e-9


def check_rate_limit(rate_limit: object, burst: object) -> None:
    """Raise ValueError unless ``rate_limit`` is None or a positive finite number and ``burst``
    is None or a positive integer given with a ``rate_limit``."""
    if rate_limit is not None and not (
        is_number(rate_limit) and math.isfinite(rate_limit) and rate_limit > 0
    ):
        raise ValueError(f"rate_limit={rate_limit!r}: must be a finite number > 0 (requests/s)")
    if burst is None:
        return
    if not is_int(burst) or burst < 1:
        raise ValueError(f"burst={burst!r}: must be an integer >= 1 (requests)")
    if rate_limit is None:
        raise ValueError(f"burst={burst!r}: needs a rate_limit")


def default_burst(rate_limit: float) -> int:
    """The burst of a limit given without one: one second's worth of requests, at least 1."""
    return max(1, math.ceil(rate_limit))


def retry_after_header(wait: float) -> str:
    """The ``Retry-After`` value for a wait of ``wait`` seconds: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait - _EPSILON)))


class RateLimiter:
    """Token buckets keyed by API token (a digest of it; the token itself is not kept)."""

    def __init__(self, rate_limit: float, burst: int | None, clock: Clock) -> None:
        check_rate_limit(rate_limit, burst)
        self.rate = float(rate_limit)
        self.burst = burst if burst is not None else default_burst(rate_limit)
        self._clock = clock
        # owner key -> (tokens left, clock reading of that count)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, token: str) -> float:
        """Spend one request of ``token``'s bucket: 0.0 when it passes, else the seconds until
        one would (the refused request spends nothing)."""
        key = owner_key(token)
        now = self._clock.now()
        left, then = self._buckets.get(key, (float(self.burst), now))
        left = min(float(self.burst), left + max(0.0, now - then) * self.rate)
        if left + _EPSILON >= 1.0:
            self._buckets[key] = (max(0.0, left - 1.0), now)
            return 0.0
        self._buckets[key] = (left, now)
        return (1.0 - left) / self.rate
