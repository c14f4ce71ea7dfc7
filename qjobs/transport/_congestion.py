"""The limiter's arithmetic, with no I/O: congestion control over a request rate and a window.

:class:`Congestion` decides when each request may leave (pacing at ``rate`` requests/s, never
before a ``Retry-After`` deadline) and moves ``rate`` and ``window`` (requests in flight) with
every answer. :class:`~qjobs.transport._ratelimit.RateLimiter` runs it on the event loop, asking
:meth:`Congestion.reserve` for a request's time only once that request has room in the window (one
request at a time, in order), so requests the window held back leave at the rate, never in a burst
of slots taken while they waited; tests drive it with a fake clock. Every method is O(1) and
allocates nothing.

Adaptive (the default, ``RateLimit.adaptive``), in two phases (:class:`LimiterPhase`):

* ``SLOW_START``: each fast 2xx answer to a request the limiter held back adds
  ``SLOW_START_STEP`` requests/s to the rate (and one request to the window, if the window held
  it back), so both grow exponentially. ``BURST`` requests may leave at once after a quiet spell.
* ``STEADY`` (after the first congestion event): the rate sits on a *plateau* just under the
  server limit the last event estimated. Below it, the rate climbs back ``CLIMB`` of the distance
  a second; above it, it probes along a cube of the time spent sending at the limiter's pace,
  ``PROBE_GAIN * (s / span) ** 3`` of the plateau (CUBIC-like: flat near the last limit, faster
  far from it). ``span`` starts at ``SPAN_MIN`` and doubles, up to ``SPAN_MAX``, after each event
  that finds the limit where the last one did, so that a steady limit is rarely crossed again:
  each crossing costs a whole-second ``Retry-After`` hold. The window grows by one request per
  window.

"Fast" means the smoothed latency is at most ``SLOW_FACTOR`` times the lowest seen plus
``SLOW_SLACK`` s: a server that slows down under load stops the growth. Growth only happens while
the limiter is what holds requests back, never while demand is below it.

A congestion event (a 429, or a 503 with ``Retry-After``; the answers to requests sent before the
last cut belong to the same event) cuts once. ``high``, the rate at the event, at most the
*delivery rate* (2xx answers per second over the last ``DELIVERY_WINDOW`` s, when no
``Retry-After`` wait is in that window), bounds the limit from above; what was delivered over the
whole time since the previous cut bounds it from below (the server's allowance was used up at
both ends of it). The first cut, out of slow start, sets the rate and the plateau to
``FLOOR_FACTOR * high``. Later ones estimate the limit as what was delivered since the previous
cut over that time less half the last ``Retry-After`` hold (the server refilled at most its burst
meanwhile), between ``DECREASE_FACTOR * high`` and ``high``; they put the plateau ``MARGIN`` under
it and cut the rate to the lower bound (within ``FLOOR_FACTOR`` and ``DECREASE_FACTOR`` times
``high``). The window is multiplied by ``DECREASE_FACTOR``. A ``Retry-After`` hint holds every
request until its deadline (capped at ``max_retry_after``); then they leave spaced at the new rate.
The caps (the user's ``RateLimit`` or a published limit) are hard: nothing grows past them. Not
adaptive (``LimiterPhase.FIXED``): the caps as given, ``None`` unlimited, ``Retry-After`` still
honoured.
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
    "MARGIN",
    "MIN_RATE",
    "PROBE_GAIN",
    "SAME",
    "SLOW_FACTOR",
    "SLOW_SLACK",
    "SLOW_START_STEP",
    "SPAN_MAX",
    "SPAN_MIN",
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
#: Below the plateau, the share of the distance to it recovered per second (at least 0.1 % of
#: the plateau per answer).
CLIMB = 0.7
#: The plateau sits this share below the estimated server limit.
MARGIN = 0.02
#: Above the plateau the rate probes up along a cube: ``PROBE_GAIN * (s / span) ** 3`` of the
#: plateau after ``s`` seconds of sending at the limiter's pace (flat at first, faster later).
PROBE_GAIN = 0.01
#: The probe's ``span`` in seconds after the first congestion event, or one that finds a new
#: limit (+1 % after 4 s, +8 % after 8 s, +27 % after 12 s: a rough estimate is corrected soon)...
SPAN_MIN = 8.0
#: ...doubled after each event that finds the limit where the last one did (within ``SAME``), up
#: to this (+1 % after 16 s, +8 % after 32 s): a steady limit is rarely crossed again.
SPAN_MAX = 32.0
#: Two estimates of the server limit this close (relative) are "the same limit".
SAME = 0.1
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
        "_base",
        "_bin",
        "_bin_start",
        "_burst",
        "_ceiling",
        "_cut_seq",
        "_cut_time",
        "_cycle_count",
        "_held",
        "_interval",
        "_latency",
        "_min_latency",
        "_next_slot",
        "_phase",
        "_prev_bin",
        "_probe",
        "_span",
        "_start",
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
        self._held = 0.0  # how long its Retry-After held the requests
        self._ceiling = 0.0  # the server limit the last cut estimated
        self._base = 0.0  # the plateau: MARGIN under it
        self._probe = 0.0  # seconds of pressed sending spent probing above the plateau
        self._span = SPAN_MIN  # the probe's time scale
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
        base = self._base
        if phase is LimiterPhase.SLOW_START:
            rate += SLOW_START_STEP
        elif rate < base:
            # Back to the plateau: CLIMB of the distance a second (at least 0.1 % of it).
            rate += max(0.001 * base, CLIMB * (base - rate) * self._interval)
            if rate > base:
                rate = base
        else:
            # Above it, probe along a cube of the time spent sending at the limiter's pace.
            self._probe += self._interval
            x = self._probe / self._span
            rate = base * (1.0 + PROBE_GAIN * x * x * x)
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
            # the deeper cut, the plateau there (a rough estimate: the shortest probe span).
            rate = self._base = self._ceiling = FLOOR_FACTOR * high
            self._span = SPAN_MIN
        else:
            rate = self._estimate(now, high)
        self._probe = 0.0
        self._cut_time = now
        self._cycle_count = 0
        self._held = self.not_before - now if self.not_before > now else 0.0
        self._set_rate(max(MIN_RATE, rate))
        self.window = max(1.0, self.window * DECREASE_FACTOR)

    def _estimate(self, now: float, high: float) -> float:
        """A later cut: the new limit estimate, plateau and probe span; returns the new rate.

        The server's limit is at least what it delivered over the whole time since the last cut
        (its allowance was used up at both ends): the rate is cut to that (not under
        FLOOR_FACTOR, not over DECREASE_FACTOR times ``high``) and climbs back to the plateau.
        """
        cycle = now - self._cut_time
        count = self._cycle_count
        low = count / cycle if cycle > 0.0 else 0.0
        # The server refilled its allowance during the last Retry-After hold, by at most its
        # burst: counting half of the hold is within half that burst of the limit.
        counted = cycle - self._held / 2
        ceiling = count / counted if counted > 0.0 else low
        if ceiling > high:
            ceiling = high
        if ceiling < DECREASE_FACTOR * high:
            ceiling = DECREASE_FACTOR * high
        base = self._base = (1.0 - MARGIN) * ceiling
        # The same limit found again: probe above it more slowly each time.
        last = self._ceiling
        self._span = (
            min(2.0 * self._span, SPAN_MAX) if abs(ceiling - last) <= SAME * last else SPAN_MIN
        )
        self._ceiling = ceiling
        return min(max(low, FLOOR_FACTOR * high), DECREASE_FACTOR * high, base)

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
