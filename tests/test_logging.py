"""What qjobs says through ``logging``: the transport's requests, retries and 429s, the
scheduler's submissions, state changes and failures, the ledger's contents, and never a token.
Against the IonQ emulator, on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pytest

import qjobs
from qjobs.transport import RateLimit, RetryPolicy

pytestmark = pytest.mark.anyio

TOKEN = "log-secret-token-0123456789abcdef"
BELL = qjobs.Circuit.from_qasm(
    'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2];'
    "h q[0]; cx q[0], q[1]; measure q -> c;"
)
FAST = RateLimit(requests_per_second=None)


def _records(caplog: pytest.LogCaptureFixture, name: str, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name and r.levelno == level]


def _assert_no_token(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN[:12] not in record.getMessage()
    assert TOKEN not in caplog.text


def _count(messages: Iterable[str], part: str) -> int:
    return sum(part in m for m in messages)


async def test_transport_logs_requests_retries_and_429s(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="qjobs")
    faults = [{"kind": "rate_limit", "route": "GET /backends", "count": 2, "retry_after": 0.01}]
    async with (
        qjobs.emulators.serve("ionq", faults=faults) as server,
        qjobs.connect("ionq", token=TOKEN, base_url=server.base_url, rate_limit=FAST) as ionq,
    ):
        await ionq.backends()
    # The first 429 of a client is a WARNING, later ones INFO (beside the retry lines).
    warnings = _records(caplog, "qjobs.transport", logging.WARNING)
    assert _count(warnings, "GET /backends -> 429 rate limited (Retry-After: 0.01 s)") == 1
    infos = _records(caplog, "qjobs.transport", logging.INFO)
    assert _count(infos, "GET /backends -> 429 rate limited (Retry-After: 0.01 s)") == 1
    assert _count(infos, "retrying GET /backends") == 2
    assert _count(infos, "attempt 2/") == 1
    assert _count(infos, "attempt 3/") == 1
    debugs = _records(caplog, "qjobs.transport", logging.DEBUG)
    assert _count(debugs, "ionq: GET /backends -> 200") == 1
    _assert_no_token(caplog)


async def test_transport_is_quiet_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="qjobs")
    async with (
        qjobs.emulators.serve("ionq") as server,
        qjobs.connect("ionq", token=TOKEN, base_url=server.base_url, rate_limit=FAST) as ionq,
    ):
        await ionq.backends()
    assert not [r for r in caplog.records if r.name == "qjobs.transport"]


async def test_scheduler_logs_submissions_states_and_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="qjobs")
    async with (
        qjobs.emulators.serve("ionq", fail_rate=1.0, queue_time=0.05, exec_time=0.05) as server,
        qjobs.connect("ionq", token=TOKEN, base_url=server.base_url, rate_limit=FAST) as ionq,
    ):
        sched = qjobs.Scheduler(
            ionq, backend="simulator", shots=10, batch_size=1, poll_initial=0.02, poll_max=0.05
        )
        async with sched:
            for _ in range(3):
                sched.submit(BELL)
            outcomes = await sched.gather(return_exceptions=True)
    assert all(isinstance(o, qjobs.JobFailedError) for o in outcomes)
    infos = _records(caplog, "qjobs.scheduler", logging.INFO)
    assert _count(infos, "scheduler on ionq started: backend simulator") == 1
    assert _count(infos, "scheduler on ionq done: 3 circuit(s): 0 completed") == 1
    assert _count(infos, "3 failed, 0 cancelled; 3 job(s)") == 1
    debugs = _records(caplog, "qjobs.scheduler", logging.DEBUG)
    assert _count(debugs, "submitted: 1 circuit(s)") == 3
    assert _count(debugs, " -> failed") == 3  # each job's last state change
    warnings = _records(caplog, "qjobs.scheduler", logging.WARNING)
    assert _count(warnings, "0 circuit(s) resubmitted, 1 failed") == 3
    _assert_no_token(caplog)


async def test_ledger_says_what_it_holds(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.INFO, logger="qjobs")
    ledger = tmp_path / "run.db"
    async with (
        qjobs.emulators.serve("ionq") as server,
        qjobs.connect("ionq", token=TOKEN, base_url=server.base_url, rate_limit=FAST) as ionq,
    ):
        for _ in range(2):
            async with qjobs.Scheduler(ionq, backend="simulator", shots=10, ledger=ledger) as s:
                for _ in range(4):
                    s.submit(BELL)
                await s.gather()
    opened = _records(caplog, "qjobs.ledger", logging.INFO)
    assert opened == [
        f"ledger {ledger} opened: 0 circuit(s) recorded, 0 with results; 0 job(s)",
        f"ledger {ledger} opened: 4 circuit(s) recorded, 4 with results; 1 job(s)",
    ]
    done = _records(caplog, "qjobs.scheduler", logging.INFO)
    assert _count(done, "4 completed (4 from the ledger)") == 1
    _assert_no_token(caplog)


async def test_retry_giving_up_is_logged_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="qjobs")
    faults = [{"kind": "status", "route": "GET /backends", "status": 503, "count": 5}]
    policy = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)
    async with (
        qjobs.emulators.serve("ionq", faults=faults) as server,
        qjobs.connect(
            "ionq", token=TOKEN, base_url=server.base_url, rate_limit=FAST, retry=policy
        ) as ionq,
    ):
        with pytest.raises(qjobs.ServerError):
            await ionq.backends()
    infos = _records(caplog, "qjobs.transport", logging.INFO)
    assert _count(infos, "retrying GET /backends (GET) after status 503") == 2
    debugs = _records(caplog, "qjobs.transport", logging.DEBUG)
    assert _count(debugs, "GET /backends -> 503") == 3
    _assert_no_token(caplog)
