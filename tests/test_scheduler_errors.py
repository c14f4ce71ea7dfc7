"""Errors out of the Scheduler and Sweep.run are the errors themselves, never ExceptionGroups."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

import qjobs
from qjobs._core.errors import AuthenticationError, InputError, JobFailedError
from qjobs.scheduler import Scheduler
from qjobs.scheduler._groups import collapse
from qjobs.scheduler._ledger import SqliteStore

pytestmark = pytest.mark.anyio

SOURCE = "OPENQASM 3.0;\ninput float t;\nqubit[1] q;\nrx(t) q[0];\n"


async def test_a_worker_failure_is_raised_as_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger's commit before a POST fails once (disk error): that error, not a group."""
    real = SqliteStore._commit_sync
    calls = {"n": 0}

    def failing_once(self: SqliteStore, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.OperationalError("disk I/O error")
        real(self, *args)

    monkeypatch.setattr(SqliteStore, "_commit_sync", failing_once)
    sweep = qjobs.Sweep(SOURCE, {"t": np.linspace(0, 1, 4)})
    async with qjobs.emulators.serve("ionq") as server:
        async with qjobs.connect("ionq", token="t", base_url=server.base_url) as client:
            with pytest.raises(sqlite3.OperationalError, match="disk I/O error") as info:
                await sweep.run(client, backend="simulator", shots=10, ledger=tmp_path / "r.db")
        assert server.stats.jobs_created == 0  # the intent was never durable: nothing posted
    assert not isinstance(info.value, BaseExceptionGroup)


@pytest.mark.parametrize(
    ("case", "error", "match"),
    [
        ("backend", InputError, "unknown IonQ backend"),
        ("option", InputError, "unknown submit option"),
        ("shots", InputError, "shots=10000000000"),
        ("token", AuthenticationError, "401"),
        ("fail", JobFailedError, "failed"),
    ],
)
async def test_sweep_run_raises_the_single_cause(case: str, error: type, match: str) -> None:
    kwargs: dict[str, Any] = {"backend": "simulator", "shots": 10}
    if case == "backend":
        kwargs["backend"] = "nosuch"
    elif case == "option":
        kwargs["bogus"] = 1
    elif case == "shots":
        kwargs["shots"] = 10**10
    sweep = qjobs.Sweep(SOURCE, {"t": np.linspace(0, 1, 3)})
    fail_rate = 1.0 if case == "fail" else 0.0
    async with qjobs.emulators.serve("ionq", tokens=["good"], fail_rate=fail_rate) as server:
        token = "bad" if case == "token" else "good"
        async with qjobs.connect("ionq", token=token, base_url=server.base_url) as client:
            with pytest.raises(error, match=match) as info:
                await sweep.run(client, **kwargs)
    assert not isinstance(info.value, BaseExceptionGroup)


async def test_collapse_picks_the_first_meaningful_error_and_notes_the_others() -> None:
    first = InputError("shots", 0, "must be positive")
    other = ValueError("a bug")
    cancelled = anyio.get_cancelled_exc_class()()
    group = BaseExceptionGroup(
        "g", [other, ExceptionGroup("inner", [first, ValueError("a bug")]), cancelled]
    )
    chosen = collapse(group)
    assert chosen is first  # qjobs errors rank before others
    assert first.__notes__ == ["also raised: ValueError: a bug"]  # duplicates once, no cancel

    interrupt = KeyboardInterrupt()
    assert collapse(BaseExceptionGroup("g", [InputError("a", 1, "b"), interrupt])) is interrupt
    only_cancel = BaseExceptionGroup("g", [cancelled])
    assert collapse(only_cancel) is cancelled  # a cancellation is never swallowed
    single = RuntimeError("x")
    assert collapse(BaseExceptionGroup("g", [single])) is single
    assert not hasattr(single, "__notes__")


async def test_cancellation_from_outside_still_cancels() -> None:
    """An outer cancel scope still ends the run quietly, and the jobs are cancelled."""
    sweep = qjobs.Sweep(SOURCE, {"t": np.linspace(0, 1, 4)})
    scope = anyio.CancelScope()
    submitted = []

    def on_event(event: Any) -> None:
        if event.kind == "submitted":
            submitted.append(event.index)
            if len(submitted) == 4:
                scope.cancel()

    async with qjobs.emulators.serve("ionq", queue_time=60.0) as server:
        async with qjobs.connect("ionq", token="t", base_url=server.base_url) as client:
            with scope:
                await sweep.run(
                    client, backend="simulator", shots=10, batch_size=1, on_event=on_event
                )
        assert scope.cancelled_caught
        assert server.stats.jobs_created == 4
        assert server.stats.active_jobs == 0


async def test_scheduler_body_error_is_not_wrapped() -> None:
    circuit = qjobs.Circuit.from_qasm(SOURCE).bind({"t": 0.5})

    async def body(client: Any) -> None:
        async with Scheduler(client, backend="simulator", shots=5) as sched:
            sched.submit(circuit)
            raise KeyError("user code")

    async with (
        qjobs.emulators.serve("ionq") as server,
        qjobs.connect("ionq", token="t", base_url=server.base_url) as client,
    ):
        with pytest.raises(KeyError, match="user code"):
            await body(client)
    assert server.stats.active_jobs == 0
