"""Every public duration (and growth factor, and rate) refuses nan, inf, negatives and non-numbers.

A ``nan`` deadline never arrives and ``inf`` never ends: both used to make waits unbounded. Each
bad value raises InputError naming the field, before any request (counted at the emulator).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import numpy as np
import pytest

import qjobs
from qjobs.transport import RateLimit, RetryPolicy, Timeouts, Transport

NAN, INF = math.nan, math.inf
#: Bad for every duration; fields that must be > 0 also refuse 0.
BAD = [NAN, INF, -INF, -1.0, -1e-9, 10**400, "1", True]
BAD_POSITIVE = [*BAD, 0, 0.0]
QASM = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; h q[0]; measure q[0] -> c[0];'

# (field, may it be 0?) for the value classes.
VALUE_FIELDS: list[tuple[type[Any], str, bool]] = [
    (Timeouts, "connect", False),
    (Timeouts, "read", False),
    (Timeouts, "total", False),
    (RetryPolicy, "max_time", True),
    (RetryPolicy, "base_delay", True),
    (RetryPolicy, "max_delay", True),
    (RetryPolicy, "max_retry_after", True),
    (RetryPolicy, "factor", False),
    (RateLimit, "requests_per_second", False),
    (qjobs.Capabilities, "poll_initial", False),
    (qjobs.Capabilities, "poll_max", False),
    (qjobs.Capabilities, "poll_factor", False),
    (qjobs.Capabilities, "requests_per_second", False),
]
#: Scheduler (and so Sweep.run) options: (field, may it be 0?).
SCHEDULER_FIELDS = [
    ("batch_linger", True),
    ("poll_initial", False),
    ("poll_max", False),
    ("poll_factor", False),
    ("job_timeout", False),
    ("unknown_state_timeout", False),
    ("cancel_timeout", False),
]
#: Client calls that wait: (name, call(client, value)).
ClientCall = Callable[[Any, Any], Awaitable[object]]
CLIENT_CALLS: list[tuple[str, str, str, ClientCall]] = [
    ("ionq", "wait", "timeout", lambda c, v: c.wait("job-1", timeout=v)),
    ("ionq", "wait", "poll_initial", lambda c, v: c.wait("job-1", poll_initial=v)),
    ("ionq", "wait", "poll_max", lambda c, v: c.wait("job-1", poll_max=v)),
    ("ionq", "run", "timeout", lambda c, v: c.run(_circuit(), shots=10, timeout=v)),
    ("qibo", "wait", "timeout", lambda c, v: c.wait("job-1", timeout=v)),
    ("qibo", "wait", "poll_initial", lambda c, v: c.wait("job-1", poll_initial=v)),
    ("qbraid", "results", "result_timeout", lambda c, v: c.results("j", result_timeout=v)),
    ("qbraid", "raw_result", "result_timeout", lambda c, v: c.raw_result("j", result_timeout=v)),
]


def _circuit() -> qjobs.Circuit:
    return qjobs.Circuit.from_qasm(QASM)


def _bad_for(zero_ok: bool) -> list[Any]:
    return BAD if zero_ok else BAD_POSITIVE


VALUE_CASES = [(cls, name, bad) for cls, name, zero in VALUE_FIELDS for bad in _bad_for(zero)]
SCHEDULER_CASES = [(name, bad) for name, zero in SCHEDULER_FIELDS for bad in _bad_for(zero)]
CLIENT_CASES = [(*call, bad) for call in CLIENT_CALLS for bad in BAD_POSITIVE]
TRANSPORT_CASES = [(method, bad) for method in ("request", "stream") for bad in BAD_POSITIVE]


def _check(info: pytest.ExceptionInfo[qjobs.InputError], field: str) -> None:
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize(("cls", "field", "bad"), VALUE_CASES)
def test_value_classes_refuse_bad_durations(cls: type[Any], field: str, bad: Any) -> None:
    with pytest.raises(qjobs.InputError) as info:
        cls(**{field: bad})
    _check(info, field)


def test_good_values_still_work() -> None:
    assert Timeouts(connect=0.5).connect == 0.5
    assert RetryPolicy(max_time=0, base_delay=0).max_time == 0
    assert RateLimit(requests_per_second=None).requests_per_second is None
    assert attrs.evolve(qjobs.Capabilities(), poll_initial=np.float64(0.25)).poll_initial == 0.25


def test_messages_say_what_is_wrong() -> None:
    with pytest.raises(qjobs.InputError, match="not nan"):
        Timeouts(total=NAN)
    with pytest.raises(qjobs.InputError, match="must be finite"):
        RetryPolicy(max_time=INF)
    with pytest.raises(qjobs.InputError, match="must not be negative"):
        RetryPolicy(base_delay=-1)
    with pytest.raises(qjobs.InputError, match=r"must be > 0"):
        Timeouts(connect=0)


@pytest.mark.anyio
@pytest.mark.parametrize(("field", "bad"), SCHEDULER_CASES)
async def test_scheduler_and_sweep_refuse_bad_durations(field: str, bad: Any) -> None:
    swept = qjobs.Circuit.from_qasm(
        'OPENQASM 3.0; include "stdgates.inc"; input float t; qubit[1] q; rx(t) q[0];'
    )
    sweep = qjobs.Sweep(swept, {"t": [0.0, 1.0]})
    async with qjobs.emulators.serve("ionq") as server:
        async with qjobs.connect("ionq", token="t", base_url=server.base_url) as client:
            with pytest.raises(qjobs.InputError) as info:
                qjobs.Scheduler(client, backend="simulator", **{field: bad})
            _check(info, field)
            with pytest.raises(qjobs.InputError) as info:
                await sweep.run(client, backend="simulator", shots=10, **{field: bad})
            _check(info, field)
        assert server.stats.total_requests == 0


@pytest.mark.anyio
@pytest.mark.parametrize(("provider", "method", "field", "call", "bad"), CLIENT_CASES)
async def test_waiting_calls_refuse_bad_durations(
    provider: str, method: str, field: str, call: ClientCall, bad: Any
) -> None:
    async with qjobs.emulators.serve(provider) as server:
        async with qjobs.connect(provider, token="t", base_url=server.base_url) as client:
            with pytest.raises(qjobs.InputError) as info:
                await call(client, bad)
            _check(info, field)
        assert server.stats.total_requests == 0


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "bad"), TRANSPORT_CASES)
async def test_transport_request_timeouts(method: str, bad: Any) -> None:
    async with qjobs.emulators.serve("ionq") as server:
        async with Transport(provider="p", base_url=server.base_url) as transport:
            if method == "request":
                with pytest.raises(qjobs.InputError) as info:
                    await transport.request("GET", "backends", timeout=bad)
            else:
                with pytest.raises(qjobs.InputError) as info:
                    transport.stream("GET", "backends", timeout=bad)
            _check(info, "timeout")
        assert server.stats.total_requests == 0
