"""Per-transport request statistics."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

__all__ = ["RetryWait", "TransportStats"]


@attrs.frozen(slots=True)
class RetryWait:
    """Something waiting to be tried again, as seen at one moment (a snapshot).

    ``what`` names it (a route such as ``"POST /jobs"``), ``error`` the failure being retried (an
    exception class name or ``"status 503"``), ``attempt`` the attempts made so far out of at most
    ``max_attempts``. ``next_attempt_in`` and ``gives_up_in`` are seconds from the snapshot:
    ``gives_up_in`` is the policy's overall time bound (it gives up earlier when the attempts run
    out first), ``None`` when only the number of attempts bounds it. ``str()`` gives one line for
    a progress display.
    """

    what: str
    error: str
    attempt: int
    max_attempts: int
    next_attempt_in: float
    gives_up_in: float | None = None

    def __str__(self) -> str:
        bound = (
            f"gives up after attempt {self.max_attempts}"
            if self.gives_up_in is None
            else f"gives up in {self.gives_up_in:.1f}s at most"
        )
        return (
            f"retrying {self.what}: {self.error}, next attempt "
            f"({self.attempt + 1}/{self.max_attempts}) in {self.next_attempt_in:.1f}s, {bound}"
        )


class TransportStats:
    """Counters of one transport, updated as requests are made.

    ``requests`` counts HTTP attempts by route (a retried request counts once per attempt) and
    ``total`` is their sum; ``retries`` counts attempts after the first; ``bytes_sent`` and
    ``bytes_received`` count bodies; ``statuses`` counts answers by HTTP status; ``rate_limited``
    counts 429 answers; ``in_flight``/``peak_in_flight`` are concurrent attempts on the wire (the
    rate limiter's queue excluded).
    """

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.total = 0
        self.retries = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.statuses: Counter[int] = Counter()
        self.rate_limited = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    def __repr__(self) -> str:
        return (
            f"TransportStats(total={self.total}, retries={self.retries}, "
            f"rate_limited={self.rate_limited}, peak_in_flight={self.peak_in_flight})"
        )

    def started(self, route: str, body_bytes: int) -> None:
        """Record an attempt going on the wire."""
        self.requests[route] += 1
        self.total += 1
        self.bytes_sent += body_bytes
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def finished(self) -> None:
        """Record an attempt leaving the wire (answered or failed)."""
        self.in_flight -= 1

    def answered(self, status: int) -> None:
        """Record an HTTP answer."""
        self.statuses[status] += 1
        if status == 429:
            self.rate_limited += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as a plain dict (JSON-friendly: string keys everywhere)."""
        return {
            "requests": dict(self.requests),
            "total": self.total,
            "retries": self.retries,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "rate_limited": self.rate_limited,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
        }

    def reset(self) -> None:
        """Zero every counter (``in_flight`` keeps counting attempts still on the wire)."""
        in_flight = self.in_flight
        self.__init__()  # type: ignore[misc]
        self.in_flight = in_flight
        self.peak_in_flight = in_flight
