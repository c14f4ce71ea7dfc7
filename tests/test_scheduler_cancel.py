"""Cancelling one future: only that future fails; its batch job runs on for the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from qjobs import Capabilities, Circuit, Instruction, JobCancelledError
from qjobs.scheduler import Scheduler, SchedulerEvent
from qjobs.testing import CANCEL, CANCEL_MANY, SUBMIT, FakeProvider

pytestmark = pytest.mark.anyio

FAST: dict[str, Any] = {"poll_initial": 0.001, "poll_max": 0.004}
CAPS = Capabilities(max_circuits_per_job=10, poll_initial=0.001, submit_key=True)


def circ(value: int, width: int = 3) -> Circuit:
    ins = [Instruction("x", (q,)) for q in range(width) if (value >> q) & 1]
    ins += [Instruction("measure", (q,), (), (q,)) for q in range(width)]
    return Circuit(width, width, tuple(ins))


async def _run(fake: FakeProvider, cancel: list[int], ledger: Path | None = None) -> list[Any]:
    submitted = anyio.Event()

    def on_event(ev: SchedulerEvent) -> None:
        if ev.kind == "submitted" and ev.index == 2:
            submitted.set()

    async with Scheduler(
        fake, shots=5, batch_size=3, ledger=ledger, on_event=on_event, **FAST
    ) as s:
        futures = [s.submit(circ(i)) for i in range(3)]
        if cancel:
            await submitted.wait()
        for i in cancel:
            await futures[i].cancel()
        return await s.gather(return_exceptions=True)


async def test_cancelling_one_future_of_a_batch_fails_only_that_future(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    fake = FakeProvider(capabilities=CAPS, queue_polls=3)
    out = await _run(fake, [1], db)
    assert isinstance(out[1], JobCancelledError)
    assert [r.counts for r in (out[0], out[2])] == [{"000": 5}, {"010": 5}]
    assert fake.stats.requests[SUBMIT] == 1
    assert fake.stats.requests[CANCEL] == fake.stats.requests[CANCEL_MANY] == 0
    # the job ran for all three: the cancelled circuit's result was journaled all the same
    again = FakeProvider(capabilities=CAPS)
    out = await _run(again, [], db)
    assert [r.counts for r in out] == [{"000": 5}, {"001": 5}, {"010": 5}]
    assert again.stats.requests == {}


async def test_cancelling_every_future_of_a_batch_cancels_its_job() -> None:
    fake = FakeProvider(capabilities=CAPS, queue_polls=1000)
    out = await _run(fake, [0, 1, 2])
    assert all(isinstance(e, JobCancelledError) for e in out)
    assert fake.stats.requests[SUBMIT] == 1
    assert fake.stats.requests[CANCEL] == 1
