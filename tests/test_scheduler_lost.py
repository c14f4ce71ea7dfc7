"""Jobs the provider lost: a 404 on a job qjobs created, confirmed, raises JobLostError (or, with
``resubmit_lost``, resubmits once) instead of polling for ``unknown_state_timeout``.

Jobs are deleted from the outside, as a user would in a web console, through a second client
(``DELETE /jobs/{id}``) of the in-process IonQ emulator; its lifecycle clock is frozen so the
jobs stay queued until the test advances it.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
import numpy as np
import pytest

import qjobs
from qjobs.emulators import Clock, Server
from qjobs.providers.ionq import IonQClient
from qjobs.scheduler import Scheduler, SchedulerEvent
from qjobs.sweep import Sweep, SweepResult
from qjobs.testing import GET, FakeProvider
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

#: Short confirmation for tests: 3 reads of a 404, 10 ms then 20 ms apart.
FAST_LOST: dict[str, Any] = {"lost_reads": 3, "lost_read_delay": 0.01}
POLL: dict[str, Any] = {"poll_initial": 0.01, "poll_max": 0.02}
# A guard against a hang (the bug makes the scheduler poll for 600 s); never reached when right.
HANG_GUARD = 30


def circ(value: int) -> qjobs.Circuit:
    """Classical 3-bit circuits: result ``value`` with certainty."""
    ins = [qjobs.Instruction("x", (q,)) for q in range(3) if (value >> q) & 1]
    ins += [qjobs.Instruction("measure", (q,), (), (q,)) for q in range(3)]
    return qjobs.Circuit(3, 3, tuple(ins))


def outcome(res: qjobs.Result) -> int:
    (bits,) = res.counts
    return int(bits, 2)


@asynccontextmanager
async def ionq(
    status_batch_size: int = 100,
) -> AsyncIterator[tuple[Server, IonQClient, IonQClient]]:
    """The emulator (frozen clock, jobs queue 10 s), the scheduler's client, a console client."""
    async with qjobs.emulators.serve("ionq", clock=Clock(lambda: 0.0), queue_time=10.0) as server:
        caps = attrs.evolve(
            IonQClient.default_capabilities, status_batch_size=status_batch_size, **FAST_LOST
        )
        options: dict[str, Any] = {"token": "t", "base_url": server.base_url}
        async with (
            qjobs.connect(
                "ionq", capabilities=caps, rate_limit=RateLimit(requests_per_second=None), **options
            ) as client,
            qjobs.connect("ionq", **options) as console,
        ):
            assert isinstance(client, IonQClient)
            assert isinstance(console, IonQClient)
            yield server, client, console


def counting(kind: str) -> tuple[Callable[[int], anyio.Event], Callable[[SchedulerEvent], None]]:
    """``on_event`` counting events of ``kind``; ``reached(n)`` is set once n were seen."""
    seen = 0
    waits: dict[int, anyio.Event] = {}

    def reached(n: int) -> anyio.Event:
        ev = waits.setdefault(n, anyio.Event())
        if seen >= n:
            ev.set()
        return ev

    def on_event(event: SchedulerEvent) -> None:
        nonlocal seen
        if event.kind == kind:
            seen += 1
            for n, ev in waits.items():
                if seen >= n:
                    ev.set()

    return reached, on_event


def ledger_statuses(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT status, count(*) FROM batches GROUP BY status").fetchall()
    finally:
        con.close()
    return dict(rows)


async def test_deleted_job_fails_its_circuits_and_a_rerun_never_polls_it(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    submitted, on_event = counting("submitted")
    with anyio.fail_after(HANG_GUARD):
        async with ionq() as (server, client, console):
            async with Scheduler(
                client, shots=10, batch_size=2, ledger=db, on_event=on_event, **POLL
            ) as sched:
                futs = [sched.submit(circ(i)) for i in range(6)]
                await submitted(6).wait()
                lost_id = futs[2].job_id
                assert lost_id is not None
                await console.delete(lost_id)
                for f in (futs[2], futs[3]):  # the lost job's circuits fail, found by polling
                    with pytest.raises(qjobs.JobLostError) as info:
                        await f
                    assert info.value.job_id == lost_id
                    assert "resubmit_lost=True" in str(info.value)
                server.advance(10.0)  # the others complete
                results = await sched.gather(return_exceptions=True)
            assert server.stats.jobs_created == 3
            assert [outcome(r) for r in results if isinstance(r, qjobs.Result)] == [0, 1, 4, 5]
            assert ledger_statuses(db) == {"completed": 2, "lost": 1}

            # a rerun with the same ledger reports the loss at once, with no request at all
            client.transport.stats.reset()
            async with Scheduler(client, shots=10, batch_size=2, ledger=db, **POLL) as sched:
                futs = [sched.submit(circ(i)) for i in range(6)]
                assert [f.done() for f in futs] == [True] * 6
                assert isinstance(futs[2].exception(), qjobs.JobLostError)
                assert isinstance(futs[3].exception(), qjobs.JobLostError)
                again = await sched.gather(return_exceptions=True)
            assert client.transport.stats.total == 0
            assert [outcome(r) for r in again if isinstance(r, qjobs.Result)] == [0, 1, 4, 5]

            # with resubmit_lost the lost circuits run again (once), the rest still come from
            # the ledger; a last rerun needs nothing
            resubmitted, on_event = counting("submitted")
            async with Scheduler(
                client,
                shots=10,
                batch_size=2,
                ledger=db,
                resubmit_lost=True,
                on_event=on_event,
                **POLL,
            ) as sched:
                futs = [sched.submit(circ(i)) for i in range(6)]
                await resubmitted(2).wait()
                server.advance(10.0)
                final = await sched.gather()
            assert server.stats.jobs_created == 4
            assert [outcome(r) for r in final] == list(range(6))
            assert futs[2].job_id not in (None, lost_id)
            client.transport.stats.reset()
            async with Scheduler(client, shots=10, batch_size=2, ledger=db, **POLL) as sched:
                for i in range(6):
                    sched.submit(circ(i))
                assert [outcome(r) for r in await sched.gather()] == list(range(6))
            assert client.transport.stats.total == 0


@pytest.mark.parametrize("status_batch_size", [1, 100], ids=["get", "list"])
async def test_resubmit_lost_resubmits_once_then_raises(status_batch_size: int) -> None:
    submitted, on_submitted = counting("submitted")
    retried, on_retried = counting("retried")

    def on_event(event: SchedulerEvent) -> None:
        on_submitted(event)
        on_retried(event)

    with anyio.fail_after(HANG_GUARD):
        async with ionq(status_batch_size) as (server, client, console):
            async with Scheduler(
                client, shots=10, batch_size=2, resubmit_lost=True, on_event=on_event, **POLL
            ) as sched:
                lost = [sched.submit(circ(i)) for i in (1, 2)]
                kept = [sched.submit(circ(i)) for i in (3, 4)]  # polled with them, never lost
                await submitted(4).wait()
                first = lost[0].job_id
                assert first is not None
                await console.delete(first)
                await retried(2).wait()  # confirmed lost: both circuits go again, in a new job
                await submitted(6).wait()
                second = lost[0].job_id
                assert second not in (None, first)
                assert lost[1].job_id == second
                await console.delete(second)  # lost again: no second resubmission
                for f in lost:
                    with pytest.raises(qjobs.JobLostError) as info:
                        await f
                    assert info.value.job_id == second
                    assert "resubmitted once" in str(info.value)
                server.advance(10.0)
                assert [outcome(await f) for f in kept] == [3, 4]
            assert server.stats.jobs_created == 3
            assert sched.progress().retried == 2
            assert sched.progress().failed == 2


async def test_losses_are_counted_in_the_ledger_across_runs(tmp_path: Path) -> None:
    """Lost in run 1, resubmitted and lost again in run 2: run 3 gives up without a request."""
    db = tmp_path / "run.db"
    with anyio.fail_after(HANG_GUARD):
        async with ionq() as (server, client, console):
            for run, resubmit in enumerate((False, True)):
                submitted, on_event = counting("submitted")
                opts = {"resubmit_lost": resubmit, "on_event": on_event, **POLL}
                async with Scheduler(client, shots=10, batch_size=2, ledger=db, **opts) as sched:
                    futs = [sched.submit(circ(i)) for i in (5, 6)]
                    await submitted(2).wait()
                    assert futs[0].job_id is not None
                    await console.delete(futs[0].job_id)
                    for f in futs:
                        with pytest.raises(qjobs.JobLostError) as info:
                            await f
                    assert ("resubmitted once already" in str(info.value)) == (run == 1)
                assert server.stats.jobs_created == run + 1
            client.transport.stats.reset()
            async with Scheduler(
                client, shots=10, batch_size=2, ledger=db, resubmit_lost=True, **POLL
            ) as sched:
                futs = [sched.submit(circ(i)) for i in (5, 6)]
                assert all(isinstance(f.exception(), qjobs.JobLostError) for f in futs)
                await sched.gather(return_exceptions=True)
            assert client.transport.stats.total == 0
            assert server.stats.jobs_created == 2
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT losses FROM circuits").fetchall() == [(2,), (2,)]
    finally:
        con.close()


async def test_a_job_seen_again_after_a_404_is_not_lost() -> None:
    """A 404 that the next read contradicts (eventual consistency) resets the count."""
    caps = attrs.evolve(FakeProvider.default_capabilities, status_batch_size=1, **FAST_LOST)
    fake = FakeProvider(queue_polls=6, capabilities=caps)
    not_found = qjobs.NotFoundError("gone?", status=404, provider="fake", method="GET", path="/j")
    # 2 reads of 404 (one short of lost), then seen, then 2 more: never 3 in a row
    fake.inject("get_job", not_found, count=2, skip=1)
    fake.inject("get_job", not_found, count=2, skip=1)
    with anyio.fail_after(HANG_GUARD):
        async with Scheduler(fake, shots=5, **POLL) as sched:
            fut = sched.submit(circ(6))
            assert outcome(await fut) == 6
    assert fake.stats.jobs_created == 1
    assert fake.stats.requests[GET] >= 8


class CountingFake(FakeProvider):
    """Counts ``get_job`` calls per job id."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.gets: Counter[str] = Counter()

    async def get_job(self, job_id: str) -> qjobs.Job:
        self.gets[job_id] += 1
        return await super().get_job(job_id)


async def test_a_job_missing_from_a_list_is_read_on_its_own() -> None:
    """A list answer without the job is not a 404: ``get_job`` decides, 404s confirm."""
    caps = attrs.evolve(FakeProvider.default_capabilities, status_batch_size=10, **FAST_LOST)
    fake = CountingFake(queue_polls=1000, capabilities=caps)
    submitted, on_event = counting("submitted")
    with anyio.fail_after(HANG_GUARD):
        async with Scheduler(fake, shots=5, batch_size=1, on_event=on_event, **POLL) as sched:
            futs = [sched.submit(circ(i)) for i in range(3)]
            await submitted(3).wait()
            gone = futs[1].job_id
            assert gone is not None
            del fake.jobs[gone]  # the provider forgot it: the list omits it, get_job 404s
            with pytest.raises(qjobs.JobLostError):
                await futs[1]
            for jid in (futs[0].job_id, futs[2].job_id):
                assert jid is not None
                fake.set_status(jid, qjobs.JobStatus.COMPLETED)
            results = await sched.gather(return_exceptions=True)
    assert [outcome(r) for r in results if isinstance(r, qjobs.Result)] == [0, 2]
    assert fake.gets[gone] == 3  # the confirming reads; never polled once lost


async def test_sweep_resubmits_a_lost_job_once() -> None:
    sweep = Sweep(
        'OPENQASM 3.0; include "stdgates.inc"; input float t; qubit[2] q; bit[2] c;'
        " ry(t) q[0]; cx q[0], q[1]; c = measure q;",
        {"t": [0.3, 1.1, 2.0]},
    )
    submitted, on_event = counting("submitted")
    out: list[SweepResult] = []
    with anyio.fail_after(HANG_GUARD):
        async with ionq() as (server, client, console):

            async def run() -> None:
                out.append(
                    await sweep.run(
                        client,
                        shots=50,
                        batch_size=3,
                        resubmit_lost=True,
                        on_event=on_event,
                        **POLL,
                    )
                )

            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await submitted(3).wait()
                (job,) = [j async for j in client.iter_jobs() if j.parent_id is None]
                await console.delete(job)
                await submitted(6).wait()  # the same points, in a new job
                server.advance(10.0)
            (res,) = out
            assert server.stats.jobs_created == 2
    assert res.metadata["jobs"] == 2
    assert len(set(res.job_ids)) == 1
    assert res.job_ids[0] != job.id
    expected = np.stack([qjobs.sim.probabilities(c) for c in sweep.circuits()])
    np.testing.assert_allclose(res.probabilities, expected, atol=1e-9)


async def test_resubmit_lost_must_be_a_bool() -> None:
    fake = FakeProvider()
    with pytest.raises(qjobs.InputError) as info:
        Scheduler(fake, resubmit_lost="yes")  # type: ignore[arg-type]
    assert info.value.field == "resubmit_lost"
    assert fake.stats.total == 0
