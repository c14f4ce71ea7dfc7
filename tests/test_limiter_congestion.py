"""The limiter's congestion control on a fake clock: counts of requests, never wall time.

A small discrete-event model of a server with a token bucket (as the emulators' ``--rate-limit``)
drives :class:`qjobs.transport._congestion.Congestion` exactly as the limiter does: ``reserve``
when a request may leave, ``on_success`` / ``on_congestion`` when its answer comes back, the
retried request waiting for ``Retry-After`` (whole seconds, as the emulators answer).
"""

from __future__ import annotations

import heapq
import itertools
import math

import attrs
import pytest

from qjobs._core.errors import InputError
from qjobs.transport import LimiterPhase, RateLimit
from qjobs.transport._congestion import SPAN_MIN, START_RATE, Congestion


@attrs.define
class Outcome:
    """What one simulated run counted."""

    accepted: int
    refused: int
    sent: int
    duration: float
    sends: list[float]
    control: Congestion


def simulate(
    limit: RateLimit,
    *,
    requests: int = 1200,
    workers: int = 16,
    server_rate: float = math.inf,
    burst: float = 20.0,
    latency: float = 0.02,
    control_class: type[Congestion] = Congestion,
) -> Outcome:
    """``requests`` answered 2xx through ``workers`` concurrent callers; a 429 is retried.

    ``control_class`` is the :class:`Congestion` class run (a subclass may record its events)."""
    control = control_class(limit)
    tokens, refilled = burst, 0.0
    events: list[tuple[float, int, str, tuple[float, ...]]] = []
    order = 0
    in_flight = 0
    waiting: list[int] = []
    todo = requests
    accepted = refused = 0
    sends: list[float] = []

    def push(at: float, kind: str, data: tuple[float, ...]) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, kind, data))

    def start(now: float, worker: int) -> None:
        nonlocal in_flight
        if in_flight >= control.window:
            waiting.append(worker)
            return
        in_flight += 1
        full = in_flight >= control.window
        seq = float(control.sent)
        at, pressed = control.reserve(now)
        push(at, "send", (worker, seq, pressed, full))

    for worker in range(workers):
        push(0.0, "new", (worker,))
    now = 0.0
    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "new":
            if todo > 0:
                todo -= 1
                start(now, int(data[0]))
        elif kind == "retry":
            start(now, int(data[0]))
        elif kind == "send":
            if now < control.not_before:  # a Retry-After came meanwhile: the limiter re-paces
                seq = float(control.sent)
                push(control.reserve(now)[0], "send", (data[0], seq, data[2], data[3]))
                continue
            sends.append(now)
            arrival = now + latency / 2
            tokens = min(burst, tokens + (arrival - refilled) * server_rate)
            refilled = arrival
            ok = tokens >= 1.0
            wait = 0.0 if ok else (1.0 - tokens) / server_rate
            if ok:
                tokens -= 1.0
            push(now + latency, "answer", (*data, now, float(ok), wait))
        else:
            in_flight -= 1
            if data[5]:  # (worker, seq, pressed, full, sent at, accepted, wait)
                accepted += 1
                control.on_success(now, data[4], bool(data[2]), bool(data[3]))
                push(now, "new", (data[0],))
            else:
                refused += 1
                retry_after = float(max(1, math.ceil(data[6])))
                control.on_congestion(now, int(data[1]), retry_after)
                push(now + retry_after, "retry", (data[0],))
            while waiting and in_flight < control.window:
                start(now, waiting.pop(0))
    return Outcome(accepted, refused, len(sends), now, sends, control)


@pytest.mark.parametrize(("server_rate", "burst"), [(50.0, 20.0), (50.0, 50.0), (20.0, 5.0)])
def test_settles_near_a_token_bucket_limit(server_rate: float, burst: float) -> None:
    """>= 90 % of what the limit allows, 429s <= 2 % of the requests."""
    run = simulate(RateLimit(), server_rate=server_rate, burst=burst)
    assert run.accepted == 1200
    assert run.accepted / run.duration >= 0.9 * server_rate
    assert run.refused <= 0.02 * run.sent
    assert run.control.congestion_events >= 1
    assert run.control.rate_limited == run.refused


@pytest.mark.parametrize(
    ("server_rate", "burst", "seconds"),
    [(50.0, 20.0, 22), (50.0, 20.0, 30), (50.0, 50.0, 22), (50.0, 50.0, 30), (20.0, 5.0, 22)],
)
def test_settles_near_a_limit_within_a_short_run(
    server_rate: float, burst: float, seconds: int
) -> None:
    """A 20-30 s run (the benchmark's 1,000 Qibo jobs take ~22 s at 50 requests/s), 429s with a
    whole-second Retry-After: >= 90 % of the limit, 429s <= 2 % of the requests."""
    run = simulate(
        RateLimit(), server_rate=server_rate, burst=burst, requests=int(seconds * server_rate)
    )
    assert run.accepted / run.duration >= 0.9 * server_rate
    assert run.refused <= 0.02 * run.sent


def test_a_steady_limit_is_crossed_ever_more_rarely() -> None:
    """At 50 requests/s with a burst of 20, one minute: the slow start's event, one to correct its
    rough estimate, then the probe slows down at each event at the same limit (the gaps grow)."""
    times: list[float] = []

    class Recording(Congestion):
        __slots__ = ()

        def on_congestion(self, now: float, seq: int, retry_after: float | None) -> None:
            events = self.congestion_events
            super().on_congestion(now, seq, retry_after)
            if self.congestion_events > events:
                times.append(now)

    run = simulate(
        RateLimit(), server_rate=50.0, burst=20.0, requests=3000, control_class=Recording
    )
    assert run.accepted / run.duration >= 0.92 * 50.0
    assert 2 <= len(times) <= 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(b > 1.5 * a for a, b in itertools.pairwise(gaps))


def _drive(control: Congestion, now: float, seconds: float) -> float:
    """Fast 2xx answers to requests the rate held back, for ``seconds`` at the limiter's pace."""
    end = now + seconds
    while now < end:
        at, _ = control.reserve(now)
        control.on_success(at + 0.02, at, True, False)
        now = at
    return now


def test_probe_is_flat_near_the_plateau_then_faster() -> None:
    control = Congestion(RateLimit())
    now = _drive(control, 0.0, 1.0)
    control.on_congestion(now, control.sent, 1.0)
    plateau = control.rate
    now = _drive(control, now + 1.0, SPAN_MIN)
    assert plateau < control.rate <= 1.012 * plateau  # +1 % over the first span
    now = _drive(control, now, SPAN_MIN)
    assert control.rate >= 1.07 * plateau  # +8 % after two
    # The same limit again: a plateau just under it, and twice the span.
    control.on_congestion(now, control.sent, 1.0)
    now = _drive(control, now + 1.0, 2.0)  # back on the plateau
    second = control.rate
    assert second < plateau
    _drive(control, now, 2 * SPAN_MIN)
    assert control.rate <= 1.03 * second  # the first probe grew 8 % in that time


def test_grows_without_a_server_limit() -> None:
    run = simulate(RateLimit(), workers=32)
    assert run.refused == 0
    assert run.control.phase is LimiterPhase.SLOW_START
    assert run.control.rate > 10 * START_RATE
    assert run.control.window > 2 * 8


def test_latency_rising_stops_the_growth() -> None:
    control = Congestion(RateLimit())
    now = 0.0
    for _ in range(20):  # fast answers to pressed requests: growth
        at, _ = control.reserve(now)
        control.on_success(at + 0.01, at, True, True)
        now = at
    assert control.rate > START_RATE
    rates = []
    for _ in range(200):  # the same load, answered ten times slower: the growth stops
        at, _ = control.reserve(now)
        control.on_success(at + 0.1, at, True, True)
        now = at
        rates.append((control.rate, control.window))
    assert len(set(rates[10:])) == 1


def test_user_cap_is_never_exceeded() -> None:
    """Requests per second in every 1 s window, and the rate itself, never pass the cap."""
    cap = RateLimit(requests_per_second=10.0)
    run = simulate(cap, requests=300, workers=8)
    assert run.refused == 0
    assert run.control.rate == 10.0
    sends = run.sends
    most = max(sum(1 for t in sends[i:] if t < start + 1.0 - 1e-9) for i, start in enumerate(sends))
    assert most == 10
    capped = simulate(RateLimit(requests_per_second=40.0), requests=600, server_rate=50.0)
    assert capped.refused == 0  # 40 requests/s never exhaust a 50 requests/s bucket
    assert capped.control.rate <= 40.0


def test_window_cap_is_never_exceeded() -> None:
    control = Congestion(RateLimit(max_concurrent=4))
    for _ in range(100):
        at, _ = control.reserve(0.0)
        control.on_success(at + 0.001, at, True, True)
    assert control.window == 4


def test_retry_after_holds_every_request_until_its_deadline() -> None:
    control = Congestion(RateLimit(), max_retry_after=30.0)
    _at, _ = control.reserve(100.0)
    control.on_congestion(100.0, 0, 2.5)
    sends = [control.reserve(100.0 + i * 0.1)[0] for i in range(10)]
    assert sum(1 for t in sends if t < 102.5) == 0
    assert sends[0] == 102.5
    assert control.retry_after_waits == 1  # the traffic held once, then spaced at the rate
    assert all(b - a >= 1.0 / control.rate - 1e-9 for a, b in itertools.pairwise(sends))
    control.on_congestion(103.0, control.sent, 1000.0)  # capped at max_retry_after
    assert control.not_before == 133.0


def test_fixed_limiter_does_not_adapt() -> None:
    control = Congestion(RateLimit(requests_per_second=5.0, adaptive=False))
    assert control.phase is LimiterPhase.FIXED
    control.on_success(1.0, 0.9, True, True)
    control.on_congestion(1.0, 0, None)
    assert (control.rate, control.congestion_events, control.rate_limited) == (5.0, 0, 1)
    unlimited = Congestion(RateLimit(adaptive=False))
    assert [unlimited.reserve(0.0)[0] for _ in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("field", "value"), [("max_concurrent", 0), ("max_concurrent", 1.5), ("adaptive", 1)]
)
def test_rate_limit_checks_its_fields(field: str, value: object) -> None:
    with pytest.raises(InputError, match=field):
        RateLimit(**{field: value})  # type: ignore[arg-type]
