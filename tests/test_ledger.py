"""Ledger tests: resume from the ledger with the FakeProvider, counting requests; each test runs
on both backends (a SQLite file and a PostgreSQL database: the ``ledger_db`` fixture)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ledgers import is_postgres, scalar

from qjobs import Capabilities, Circuit, Instruction, JobStatus, Result
from qjobs.scheduler import Scheduler
from qjobs.scheduler._keys import batch_key, circuit_key, options_json, target_id
from qjobs.scheduler._ledger import pack_result, unpack_result
from qjobs.scheduler._ledger_backend import open_ledger
from qjobs.testing import FIND, GET, LIST, SUBMIT, FakeProvider

pytestmark = pytest.mark.anyio

FAST: dict[str, Any] = {"poll_initial": 0.001, "poll_max": 0.004}
CAPS = Capabilities(
    max_circuits_per_job=10, status_batch_size=10, poll_initial=0.001, submit_key=True
)


def circ(value: int, width: int = 4) -> Circuit:
    ins = [Instruction("x", (q,)) for q in range(width) if (value >> q) & 1]
    ins += [Instruction("measure", (q,), (), (q,)) for q in range(width)]
    return Circuit(width, width, tuple(ins))


def outcome(res: Any) -> int:
    (key,) = res.counts
    return int(key, 2)


def key_of(i: int, shots: int = 5) -> str:
    return circuit_key(
        circ(i),
        shots=shots,
        backend=None,
        options=options_json({}),
        index=i,
        target=target_id("fake", FakeProvider().endpoint),
    )


def test_result_blob_round_trip() -> None:
    res = Result.from_counts({"01": 3, "11": 1}, 2, job_id="j1", index=4)
    res.memory = np.array([1, 1, 3, 1], dtype=np.int64)
    back = unpack_result(pack_result(res))
    assert back.counts == res.counts
    np.testing.assert_array_equal(back.probabilities, res.probabilities)
    np.testing.assert_array_equal(back.memory, res.memory)
    assert (back.shots, back.num_clbits, back.job_id, back.index) == (4, 2, "j1", 4)


async def test_completed_results_come_from_the_ledger_without_requests(
    ledger_db: Path | str,
) -> None:
    db = ledger_db
    first = FakeProvider(capabilities=CAPS, queue_polls=1)
    async with Scheduler(first, shots=5, batch_size=3, ledger=db, **FAST) as s:
        for i in range(8):
            s.submit(circ(i))
        before = await s.gather()
    assert first.stats.jobs_created == 3
    if not is_postgres(db):
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        con.close()
    assert scalar(db, "SELECT count(*) FROM circuits WHERE result IS NOT NULL") == 8
    assert scalar(db, "SELECT count(*) FROM batches WHERE status='completed'") == 3

    second = FakeProvider(capabilities=CAPS)
    async with Scheduler(second, shots=5, batch_size=3, ledger=db, **FAST) as s:
        futs = [s.submit(circ(i)) for i in range(8)]
        assert all(f.done() for f in futs)  # resolved inside submit()
        after = await s.gather()
        p = s.progress()
    assert second.stats.total == 0
    assert p.from_ledger == 8
    assert p.completed == 8
    assert [outcome(r) for r in after] == [outcome(r) for r in before] == list(range(8))
    assert [r.job_id for r in after] == [r.job_id for r in before]


async def test_extra_circuits_on_rerun_are_submitted(ledger_db: Path | str) -> None:
    db = ledger_db
    async with Scheduler(FakeProvider(capabilities=CAPS), shots=5, ledger=db, **FAST) as s:
        for i in range(4):
            s.submit(circ(i))
    fake = FakeProvider(capabilities=CAPS)
    async with Scheduler(fake, shots=5, ledger=db, **FAST) as s:
        for i in range(6):
            s.submit(circ(i))
        results = await s.gather()
    assert fake.stats.circuits_created == 2
    assert [outcome(r) for r in results] == list(range(6))


async def _ledger_with(db: Path | str, members: list[int], job_id: str | None) -> str:
    """Write what a crashed run leaves: an intent for ``members`` (and maybe the job id)."""
    keys = [key_of(i) for i in members]
    bkey = batch_key(keys, 0)
    ledger = open_ledger(db)
    assert ledger is not None
    await ledger.open()
    ledger.intent(bkey, [(k, i, 1) for k, i in zip(keys, members, strict=True)])
    if job_id is not None:
        ledger.job(bkey, job_id, JobStatus.QUEUED.value)
    await ledger.close()
    return bkey


async def test_in_flight_job_is_reattached_and_polled(ledger_db: Path | str) -> None:
    db = ledger_db
    fake = FakeProvider(capabilities=CAPS, queue_polls=2)
    # the crashed run had created this job at the provider
    job = await fake.submit([circ(0), circ(1), circ(2)], shots=5, key="pending")
    await _ledger_with(db, [0, 1, 2], job.id)
    async with Scheduler(fake, shots=5, batch_size=3, ledger=db, **FAST) as s:
        futs = [s.submit(circ(i)) for i in range(3)]
        assert futs[0].job_id == job.id
        assert futs[0].status is JobStatus.QUEUED
        results = await s.gather()
    assert fake.stats.jobs_created == 1
    assert fake.stats.requests[SUBMIT] == 1  # only the crashed run's
    assert fake.stats.requests[FIND] == 0
    assert fake.stats.requests[GET] + fake.stats.requests[LIST] == 3
    assert [outcome(r) for r in results] == [0, 1, 2]
    assert all(r.job_id == job.id for r in results)


async def test_intent_without_job_id_is_looked_up_first(ledger_db: Path | str) -> None:
    db = ledger_db
    fake = FakeProvider(capabilities=CAPS)
    bkey = await _ledger_with(db, [0, 1], None)
    # the POST reached the provider before the crash; its answer never reached the ledger
    job = await fake.submit([circ(0), circ(1)], shots=5, key=bkey)
    async with Scheduler(fake, shots=5, ledger=db, **FAST) as s:
        s.submit(circ(0))
        s.submit(circ(1))
        results = await s.gather()
    assert fake.stats.requests[FIND] == 1
    assert fake.stats.jobs_created == 1
    assert [r.job_id for r in results] == [job.id, job.id]
    assert [outcome(r) for r in results] == [0, 1]
    assert scalar(db, "SELECT job_id FROM batches WHERE key=?", bkey) == job.id


async def test_intent_not_found_is_submitted_once(ledger_db: Path | str) -> None:
    db = ledger_db
    fake = FakeProvider(capabilities=CAPS)
    bkey = await _ledger_with(db, [0, 1], None)
    async with Scheduler(fake, shots=5, ledger=db, **FAST) as s:
        s.submit(circ(0))
        s.submit(circ(1))
        results = await s.gather()
    assert fake.stats.requests[FIND] == 1
    assert fake.stats.jobs_created == 1
    new_key = next(iter(fake.jobs.values())).key
    assert new_key is not None
    assert new_key != bkey
    assert [outcome(r) for r in results] == [0, 1]
    # a third run reads everything from the ledger
    third = FakeProvider(capabilities=CAPS)
    async with Scheduler(third, shots=5, ledger=db, **FAST) as s:
        s.submit(circ(0))
        s.submit(circ(1))
        await s.gather()
    assert third.stats.total == 0


async def test_failed_and_cancelled_jobs_are_rerun(ledger_db: Path | str) -> None:
    db = ledger_db
    bad = FakeProvider(capabilities=CAPS, fail=lambda cs: "nope")
    async with Scheduler(bad, shots=5, ledger=db, **FAST) as s:
        s.submit(circ(1))
        await s.gather(return_exceptions=True)
    good = FakeProvider(capabilities=CAPS)
    async with Scheduler(good, shots=5, ledger=db, **FAST) as s:
        f = s.submit(circ(1))
        assert outcome(await f) == 1
    assert good.stats.jobs_created == 1
    assert good.stats.requests[FIND] == 0


async def test_intent_is_committed_before_the_post(ledger_db: Path | str) -> None:
    db = ledger_db
    fake = FakeProvider(capabilities=CAPS)
    seen: list[int] = []
    real_submit = fake.submit

    async def spying_submit(circuits: Any, **kw: Any) -> Any:
        # another connection sees only committed rows
        seen.append(scalar(db, "SELECT count(*) FROM batches WHERE key=?", kw["key"]))
        return await real_submit(circuits, **kw)

    fake.submit = spying_submit  # type: ignore[method-assign]
    async with Scheduler(fake, shots=5, batch_size=2, ledger=db, **FAST) as s:
        for i in range(5):
            s.submit(circ(i))
        await s.gather()
    assert seen == [1, 1, 1]
