"""The limiter's arithmetic, with no I/O: congestion control over a request rate and a window.

:class:`Congestion` decides when each request may leave (pacing at ``rate`` requests/s, never
before a ``Retry-After`` deadline) and moves ``rate`` and ``window`` (requests in flight) with
every answer. :class:`~qjobs.transport._ratelimit.RateLimiter` runs it on the event loop; tests
drive it with a fake clock. Every method is O(1) and allocates nothing.

Adaptive (the default, ``RateLimit.adaptive``), in two phases (:class:`LimiterPhase`):

* ``SLOW_START``: each fast 2xx answer to a request the limiter held back adds
  ``SLOW_START_STEP`` requests/s to the rate (and one request to the window, if the window held
  it back), so both grow exponentially. ``BURST`` requests may leave at once after a quiet spell.
* ``STEADY`` (after the first congestion event): below the rate the last cut aimed at, the rate
  climbs back ``CLIMB`` of the distance a second; from there it probes up by ``PROBE_STEP`` per
  answer (1 % a second of sending at it); the window grows by one request per window.

"Fast" means the smoothed latency is at most ``SLOW_FACTOR`` times the lowest seen plus
``SLOW_SLACK`` s: a server that slows down under load stops the growth. Growth only happens while
the limiter is what holds requests back, never while demand is below it.

A congestion event (a 429, or a 503 with ``Retry-After``; the answers to requests sent before the
last cut belong to the same event) cuts once. The rate is at most the *delivery rate* (2xx answers
per second over the last ``DELIVERY_WINDOW`` s, when no ``Retry-After`` wait is in that window),
and at least what was delivered over the whole time since the previous cut (the server's
allowance was used up at both ends of it). The first cut, out of slow start, goes to
``FLOOR_FACTOR`` times the delivery rate; later ones to the larger of that and the long-run
delivery, at most ``DECREASE_FACTOR`` times the delivery rate. The window is multiplied by
``DECREASE_FACTOR``. A ``Retry-After`` hint holds every request until its deadline (capped at
``max_retry_after``); then they leave spaced at the new rate. The caps (the user's
``RateLimit`` or a published limit) are hard: nothing grows past them. Not adaptive
(``LimiterPhase.FIXED``): the caps as given, ``None`` unlimited, ``Retry-After`` still honoured.
"""

from __future__ import annotations

import enum
import math

import attrs

from qjobs.transport._types import RateLimit

__all__ = [
    "BURST",
    "CLIMB",
    "DECREASE_FACTOR",
    "DELIVERY_WINDOW",
    "FLOOR_FACTOR",
    "MIN_RATE",
    "PROBE_STEP",
    "SLOW_FACTOR",
    "SLOW_SLACK",
    "SLOW_START_STEP",
    "START_RATE",
    "START_WINDOW",
    "Congestion",
    "LimiterState",
    "LimiterPhase",
]

#: Requests/s an adaptive limiter without a rate cap starts at.
START_RATE = 20.0
#: Requests in flight an adaptive limiter without a concurrency cap starts at.
START_WINDOW = 8
#: Requests that may leave at once after a quiet spell (adaptive, without a rate cap).
BURST = 8
#: Requests/s added per fast answer in slow start.
SLOW_START_STEP = 2.0
#: Requests/s added per fast answer after slow start, once back at the rate the last cut aimed
#: at (so the rate grows by 1 % a second of sending at it).
PROBE_STEP = 0.01
#: Below that rate, the share of the distance to it recovered per second.
CLIMB = 0.7
#: A congestion event leaves the rate at most this times the delivery rate, and multiplies the
#: window by it.
DECREASE_FACTOR = 0.9
#: The first cut (out of slow start) sets the rate to this times the delivery rate; later ones
#: never go below it.
FLOOR_FACTOR = 0.8
#: Seconds over which the delivery rate (2xx answers per second) is counted.
DELIVERY_WINDOW = 1.0
#: The rate never drops below this (requests/s).
MIN_RATE = 0.5
#: Answers are "slow" once the smoothed latency exceeds this many times the lowest seen...
SLOW_FACTOR = 2.0
#: ...plus this many seconds (so a sub-millisecond baseline does not make jitter "slow").
SLOW_SLACK = 0.005

_SMOOTHING = 0.125  # the weight of a new latency sample (TCP's RTT smoothing)


class LimiterPhase(enum.Enum):
    """Where the limiter's control loop is; moved only by :meth:`Congestion._move`."""

    FIXED = "fixed"
    SLOW_START = "slow start"
    STEADY = "steady"


#: The moves a phase may make.
_MOVES: dict[LimiterPhase, frozenset[LimiterPhase]] = {
    LimiterPhase.FIXED: frozenset(),
    LimiterPhase.SLOW_START: frozenset({LimiterPhase.STEADY}),
    LimiterPhase.STEADY: frozenset({LimiterPhase.STEADY}),
}


@attrs.frozen(slots=True)
class LimiterState:
    """A snapshot of a limiter, for progress displays and statistics.

    ``rate`` is the current pacing in requests/s and ``window`` the current bound on requests
    in flight (``None``: not limited); ``rate_cap`` and ``window_cap`` are the hard caps
    (``None``: none). ``in_flight`` counts requests holding a slot now. ``rate_limited`` counts
    the 429 answers (and 503 with ``Retry-After``) seen, ``congestion_events`` the cuts they
    caused, ``retry_after_waits`` the requests held back by a ``Retry-After`` deadline, and
    ``delivery_rate`` the 2xx answers per second over the last second.
    """

    phase: LimiterPhase
    rate: float | None
    window: int | None
    rate_cap: float | None
    window_cap: int | None
    in_flight: int
    rate_limited: int
    congestion_events: int
    retry_after_waits: int
    delivery_rate: float


class Congestion:
    """The limiter's state and its rules (see the module docstring); no I/O, no allocation.

    The caller asks :meth:`reserve` when a request may leave, then reports the answer with
    :meth:`on_success` or :meth:`on_congestion`, passing back the sequence number and the send
    time :meth:`reserve` gave. ``max_retry_after`` bounds how long one hint may hold requests.
    """

    __slots__ = (
        "_bin",
        "_bin_start",
        "_burst",
        "_cut_seq",
        "_cut_time",
        "_cycle_count",
        "_interval",
        "_latency",
        "_min_latency",
        "_next_slot",
        "_phase",
        "_prev_bin",
        "_start",
        "_target",
        "_tolerance",
        "congestion_events",
        "max_retry_after",
        "not_before",
        "rate",
        "rate_cap",
        "rate_limited",
        "retry_after_waits",
        "sent",
        "window",
        "window_cap",
    )

    def __init__(self, limit: RateLimit, *, max_retry_after: float = math.inf) -> None:
        self.rate_cap = limit.requests_per_second
        self.window_cap = limit.max_concurrent
        self.max_retry_after = max_retry_after
        if limit.adaptive:
            self._phase = LimiterPhase.SLOW_START
            self.rate = self.rate_cap or START_RATE
            self.window = float(self.window_cap or START_WINDOW)
        else:
            self._phase = LimiterPhase.FIXED
            self.rate = self.rate_cap or math.inf
            self.window = float(self.window_cap or math.inf)
        # Without a rate cap, a few requests may leave at once after a quiet spell.
        self._burst = BURST - 1 if self.rate_cap is None and limit.adaptive else 0
        self._set_rate(self.rate)
        self._start = math.inf  # the first request's time
        self._cut_time = math.inf  # the last cut (its first request, before any)
        self._cycle_count = 0  # 2xx answers since then
        self._target = 0.0  # the rate the last cut aimed at
        self._next_slot = -math.inf
        self.not_before = -math.inf
        self.sent = 0
        self._cut_seq = 0
        self._min_latency = math.inf
        self._latency = 0.0
        self._bin = 0
        self._prev_bin = 0
        self._bin_start = -math.inf
        self.rate_limited = 0
        self.congestion_events = 0
        self.retry_after_waits = 0

    @property
    def phase(self) -> LimiterPhase:
        """The current :class:`LimiterPhase`."""
        return self._phase

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = self._burst * self._interval

    def _move(self, to: LimiterPhase) -> None:
        if to not in _MOVES[self._phase]:
            raise AssertionError(f"limiter phase {self._phase.name} cannot move to {to.name}")
        self._phase = to

    # -- sending ------------------------------------------------------------------------------

    def reserve(self, now: float, waited: float = -math.inf) -> tuple[float, bool]:
        """The time the next request may leave, and whether the rate held it back at all.

        Reserves that time: requests leave ``1/rate`` apart and never before a ``Retry-After``
        deadline, unless the request already ``waited`` (a retry) until that deadline. The
        request's sequence number is :attr:`sent` before the call.
        """
        due = self._next_slot  # when the request would leave at exactly the rate
        pressed = due >= now
        if not pressed:
            due = now
        slot = due - self._tolerance
        if slot < now:
            slot = now
        if slot < self.not_before and waited < self.not_before:
            # Leave at the deadline, the next ones spaced at the rate (no burst).
            slot = self.not_before
            self.retry_after_waits += 1
            due = slot + self._tolerance
        self._next_slot = (due if due > slot else slot) + self._interval
        if self.sent == 0:
            self._start = self._cut_time = slot
        self.sent += 1
        return slot, pressed

    # -- answers --------------------------------------------------------------------------

    def delivery_rate(self, now: float) -> float:
        """2xx answers per second over about the last :data:`DELIVERY_WINDOW` seconds."""
        span = now - self._start
        if span < DELIVERY_WINDOW:  # younger than one window: over the time since the first
            return self._bin / span if span > 0.0 else 0.0
        elapsed = now - self._bin_start
        if elapsed >= 2 * DELIVERY_WINDOW:
            return 0.0
        if elapsed >= DELIVERY_WINDOW:
            return self._bin / DELIVERY_WINDOW
        return (self._bin + self._prev_bin * (1.0 - elapsed / DELIVERY_WINDOW)) / DELIVERY_WINDOW

    def on_success(self, now: float, sent_at: float, rate_pressed: bool, full: bool) -> None:
        """A 2xx answer to a request sent at ``sent_at``; ``rate_pressed``/``full``: the rate or
        the window held it back (only then does the limit grow)."""
        elapsed = now - self._bin_start
        if elapsed >= DELIVERY_WINDOW:
            self._prev_bin = self._bin if elapsed < 2 * DELIVERY_WINDOW else 0
            self._bin = 0
            self._bin_start = now
        self._bin += 1
        self._cycle_count += 1
        latency = now - sent_at
        if latency < self._min_latency:
            self._min_latency = latency
            if self._latency == 0.0:
                self._latency = latency
        self._latency += (latency - self._latency) * _SMOOTHING
        phase = self._phase
        if phase is LimiterPhase.FIXED or not (rate_pressed or full):
            return
        if self._latency > SLOW_FACTOR * self._min_latency + SLOW_SLACK:
            return  # the server slows down: no growth while it does
        if rate_pressed:
            self._grow_rate(phase)
        if full:
            window = self.window
            window += 1.0 if phase is LimiterPhase.SLOW_START else 1.0 / window
            cap = self.window_cap
            self.window = window if cap is None or window < cap else float(cap)

    def _grow_rate(self, phase: LimiterPhase) -> None:
        rate = self.rate
        if phase is LimiterPhase.SLOW_START:
            rate += SLOW_START_STEP
        elif rate < self._target:
            # Back towards the rate the last cut aimed at: CLIMB of the distance a second.
            rate += max(PROBE_STEP, CLIMB * (self._target - rate) * self._interval)
            if rate > self._target:
                rate = self._target
        else:
            rate += PROBE_STEP
        cap = self.rate_cap
        if cap is not None and rate > cap:
            rate = cap
        self._set_rate(rate)

    def on_congestion(self, now: float, seq: int, retry_after: float | None) -> None:
        """A 429 (or 503 with ``Retry-After``) to the request of sequence number ``seq``."""
        self.rate_limited += 1
        # The delivery rate measures the server only if no Retry-After wait is in its window.
        measured = now - self.not_before >= DELIVERY_WINDOW
        if retry_after is not None:
            deadline = now + min(retry_after, self.max_retry_after)
            if deadline > self.not_before:
                self.not_before = deadline
        if self._phase is LimiterPhase.FIXED or seq < self._cut_seq:
            return  # not adaptive, or an answer to a request sent before the last cut
        self._cut_seq = self.sent
        self.congestion_events += 1
        first = self._phase is LimiterPhase.SLOW_START
        self._move(LimiterPhase.STEADY)
        # Above the server's limit: at most the rate, and at most what was delivered lately.
        high = self.rate
        if measured:
            delivered = self.delivery_rate(now)
            if 0.0 < delivered < high:
                high = delivered
        if first:
            # Out of slow start, whose delivery rate still counts the server's burst allowance:
            # the deeper cut, then probing.
            rate = self._target = FLOOR_FACTOR * high
        else:
            # At or below the limit: what was delivered over the whole time since the last cut
            # (the server's allowance was used up at both ends, so it cannot have delivered
            # more); then a fast climb to halfway up to just under the delivery rate.
            cycle = now - self._cut_time
            low = self._cycle_count / cycle if cycle > 0.0 else 0.0
            rate = max(low, FLOOR_FACTOR * high)
            if rate > DECREASE_FACTOR * high:
                rate = DECREASE_FACTOR * high
            self._target = (rate + DECREASE_FACTOR * high) / 2
        self._cut_time = now
        self._cycle_count = 0
        self._set_rate(max(MIN_RATE, rate))
        self.window = max(1.0, self.window * DECREASE_FACTOR)

    def state(self, in_flight: int, now: float) -> LimiterState:
        """A :class:`LimiterState` snapshot (``in_flight`` from the caller)."""
        return LimiterState(
            phase=self._phase,
            rate=None if math.isinf(self.rate) else self.rate,
            window=None if math.isinf(self.window) else int(self.window),
            rate_cap=self.rate_cap,
            window_cap=self.window_cap,
            in_flight=in_flight,
            rate_limited=self.rate_limited,
            congestion_events=self.congestion_events,
            retry_after_waits=self.retry_after_waits,
            delivery_rate=self.delivery_rate(now),
        )
