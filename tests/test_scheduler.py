"""Scheduler unit tests against the in-process FakeProvider: requests are counted, not timed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from qjobs import (
    Capabilities,
    Circuit,
    InputError,
    Instruction,
    Job,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobStatus,
    JobTimeoutError,
    ServerError,
    SubmitUncertainError,
    ValidationError,
)
from qjobs.scheduler import JobFuture, Scheduler, SchedulerEvent
from qjobs.testing import CANCEL_MANY, FIND, GET, LIST, RESULTS, SUBMIT, FakeProvider

pytestmark = pytest.mark.anyio

FAST: dict[str, Any] = {"poll_initial": 0.001, "poll_max": 0.004}


def circ(value: int, width: int = 5) -> Circuit:
    """A classical circuit whose only outcome is ``value`` (bit i = clbit i)."""
    ins = [Instruction("x", (q,)) for q in range(width) if (value >> q) & 1]
    ins += [Instruction("measure", (q,), (), (q,)) for q in range(width)]
    return Circuit(width, width, tuple(ins))


def outcome(res: Any) -> int:
    (key,) = res.counts
    return int(key, 2)


def caps(**kw: Any) -> Capabilities:
    base: dict[str, Any] = {
        "max_circuits_per_job": 100,
        "status_batch_size": 100,
        "poll_initial": 0.001,
        "poll_max": 0.004,
        "submit_key": True,
        "cancel_batch": True,
    }
    base.update(kw)
    return Capabilities(**base)


# --------------------------------------------------------------------------- batching
async def test_batching_packs_and_splits_by_position() -> None:
    fake = FakeProvider(capabilities=caps())
    async with Scheduler(fake, shots=7, batch_size=4, **FAST) as s:
        futs = [s.submit(circ(i)) for i in range(10)]
        results = await s.gather()
    assert fake.stats.jobs_created == 3
    assert sorted(len(j.circuits) for j in fake.jobs.values()) == [2, 4, 4]
    assert fake.stats.requests[SUBMIT] == 3
    assert fake.stats.requests[RESULTS] == 3
    assert [outcome(r) for r in results] == list(range(10))
    assert all(r.shots == 7 for r in results)
    # futures in one batch share its job; positions follow submission order
    assert len({f.job_id for f in futs[:4]}) == 1
    assert futs[0].job_id != futs[4].job_id
    assert [r.index for r in results[:4]] == [0, 1, 2, 3]
    assert all(f.status is JobStatus.COMPLETED for f in futs)


async def test_batch_size_one_submits_one_job_per_circuit() -> None:
    fake = FakeProvider(capabilities=caps())
    async with Scheduler(fake, shots=3, batch_size=1, **FAST) as s:
        for i in range(12):
            s.submit(circ(i))
        results = await s.gather()
    assert fake.stats.jobs_created == 12
    assert all(len(j.circuits) == 1 for j in fake.jobs.values())
    assert [outcome(r) for r in results] == list(range(12))


async def test_incompatible_options_never_share_a_job() -> None:
    fake = FakeProvider(capabilities=caps())
    async with Scheduler(fake, shots=5, **FAST) as s:
        a = [s.submit(circ(1)) for _ in range(3)]
        b = [s.submit(circ(2), shots=9) for _ in range(3)]
        c = [s.submit(circ(3), backend="other") for _ in range(2)]
        await s.gather()
    assert fake.stats.jobs_created == 3
    by_job: dict[str | None, Any] = {j.id: j for j in fake.jobs.values()}
    assert by_job[a[0].job_id].shots == 5
    assert len(by_job[a[0].job_id].circuits) == 3
    assert by_job[b[0].job_id].shots == 9
    assert by_job[c[0].job_id].backend == "other"


async def test_payload_limit_splits_batches() -> None:
    # each circuit estimates to 96 + 48 * 10 = 576 bytes; 0.8 * 2000 = 1600 -> 2 per job
    fake = FakeProvider(capabilities=caps(max_payload_bytes=2000))
    async with Scheduler(fake, shots=1, **FAST) as s:
        for i in range(7):
            c = circ(i)
            pad = tuple(Instruction("id", (0,)) for _ in range(10 - len(c.instructions)))
            s.submit(Circuit(5, 5, pad + c.instructions))
        results = await s.gather()
    assert sorted(len(j.circuits) for j in fake.jobs.values()) == [1, 2, 2, 2]
    assert [outcome(r) for r in results] == list(range(7))


async def test_linger_collects_trickling_submissions_into_one_job() -> None:
    fake = FakeProvider(capabilities=caps())
    async with Scheduler(fake, shots=1, batch_size=50, batch_linger=30.0, **FAST) as s:
        for i in range(5):
            s.submit(circ(i))
            await anyio.lowlevel.checkpoint()  # the batcher runs between submissions
        assert fake.stats.jobs_created == 0  # still lingering
        await s.gather()  # waiting for results ends the linger
    assert fake.stats.jobs_created == 1


# --------------------------------------------------------------------------- polling
async def test_polling_uses_the_list_endpoint_when_cheaper() -> None:
    listed = FakeProvider(capabilities=caps(status_batch_size=100), queue_polls=2)
    async with Scheduler(listed, shots=1, batch_size=1, **FAST) as s:
        for i in range(60):
            s.submit(circ(i % 32))
        await s.gather()
    single = FakeProvider(capabilities=caps(status_batch_size=1), queue_polls=2)
    async with Scheduler(single, shots=1, batch_size=1, **FAST) as s:
        for i in range(60):
            s.submit(circ(i % 32))
        await s.gather()
    # one-by-one: every job is observed 3 times (queued, queued, completed) with GET /jobs/{id}
    assert single.stats.requests[GET] == 180
    assert single.stats.requests[LIST] == 0
    # listed: the same 180 observations travel in far fewer list requests
    assert len(listed.observations) == 180
    assert listed.stats.requests[LIST] + listed.stats.requests[GET] <= 180 / 10
    assert listed.stats.requests[LIST] >= 3


class _GatedPolls(FakeProvider):
    """A fake whose first status poll waits for ``gate`` (a list request queued or slow)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.gate = anyio.Event()
        self.first_poll = anyio.Event()
        self.polls: list[list[str]] = []

    async def _held(self, ids: list[str]) -> None:
        self.polls.append(ids)
        if len(self.polls) == 1:
            self.first_poll.set()
            await self.gate.wait()

    async def get_job(self, job_id: str) -> Job:
        await self._held([job_id])
        return await super().get_job(job_id)

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        await self._held(list(job_ids))
        return await super().get_jobs(job_ids)


async def test_due_jobs_wait_for_the_partial_poll_on_its_way() -> None:
    """While a list request for a partial chunk is unanswered, due jobs join the next one."""
    fake = _GatedPolls(capabilities=caps(status_batch_size=100))
    submitted: list[SchedulerEvent] = []
    all_submitted = anyio.Event()

    def on_event(ev: SchedulerEvent) -> None:
        if ev.kind == "submitted":
            submitted.append(ev)
            if len(submitted) == 6:
                all_submitted.set()

    async with Scheduler(
        fake, shots=1, batch_size=1, poll_initial=0.001, poll_max=30.0, on_event=on_event
    ) as s:
        first = s.submit(circ(1))
        await fake.first_poll.wait()
        later = [s.submit(circ(i)) for i in range(2, 7)]
        await all_submitted.wait()
        await anyio.sleep(0.1)  # 100 poll intervals: every later job is long due
        assert len(fake.polls) == 1  # ...yet none was polled on its own
        fake.gate.set()
        await s.gather()
    assert [outcome(await f) for f in [first, *later]] == list(range(1, 7))
    assert len(fake.polls) == 2  # the five later jobs went in one list request
    assert sorted(fake.polls[1]) == sorted(f.job_id for f in later if f.job_id)


async def test_a_stuck_partial_poll_holds_others_back_at_most_poll_max() -> None:
    fake = _GatedPolls(capabilities=caps(status_batch_size=100))
    async with Scheduler(fake, shots=1, batch_size=1, poll_initial=0.001, poll_max=0.02) as s:
        s.submit(circ(1))
        await fake.first_poll.wait()
        later = [s.submit(circ(i)) for i in range(2, 7)]
        with anyio.fail_after(10):
            for f in later:
                await f  # polled and fetched although the first poll never returned
        assert len(fake.polls) >= 2
        assert not fake.gate.is_set()
        fake.gate.set()
        await s.gather()


async def test_backoff_grows_per_job_and_resets_on_change() -> None:
    fake = FakeProvider(capabilities=caps(status_batch_size=1), queue_polls=4, run_polls=3)
    seen: list[float] = []
    holder: list[JobFuture] = []

    def record(job_id: str) -> None:
        b = holder[0]._record.batch
        assert b is not None
        seen.append(b.interval)

    fake.on_observe = record
    async with Scheduler(
        fake, shots=1, batch_size=1, poll_initial=0.001, poll_max=0.004, poll_factor=2.0
    ) as s:
        holder.append(s.submit(circ(1)))
        await s.gather()
    # polls 1-4 see QUEUED (growing), 5 sees RUNNING (a change), 6-7 RUNNING, 8 COMPLETED
    assert seen == [0.001, 0.002, 0.004, 0.004, 0.004, 0.001, 0.002, 0.004]


# --------------------------------------------------------------------------- limits
@pytest.mark.parametrize(("batch_size", "limit"), [(1, 5), (10, 2)])
async def test_in_flight_limit_is_never_exceeded(batch_size: int, limit: int) -> None:
    fake = FakeProvider(capabilities=caps(), queue_polls=2, run_polls=1)
    peak = 0
    sched: list[Scheduler] = []

    def on_event(ev: SchedulerEvent) -> None:
        nonlocal peak
        peak = max(peak, sched[0].progress().jobs_in_flight)

    async with Scheduler(
        fake, shots=1, batch_size=batch_size, max_in_flight=limit, on_event=on_event, **FAST
    ) as s:
        sched.append(s)
        for i in range(120):
            s.submit(circ(i % 32))
        results = await s.gather()
    assert fake.stats.peak_active_jobs == limit
    assert peak <= limit
    assert fake.stats.jobs_created == 120 // batch_size
    assert [outcome(r) for r in results] == [i % 32 for i in range(120)]


# --------------------------------------------------------------------------- results API
async def test_gather_order_and_as_completed() -> None:
    fake = FakeProvider(capabilities=caps(), queue_polls=1)
    async with Scheduler(fake, shots=2, batch_size=3, **FAST) as s:
        futs = [s.submit(circ(i)) for i in range(20)]
        seen = []
        async for f in s.as_completed():
            assert f.done()
            seen.append(f.index)
        assert sorted(seen) == list(range(20))
        results = await s.gather()
        assert [outcome(r) for r in results] == list(range(20))
        assert [outcome(await f) for f in futs] == list(range(20))
        p = s.progress()
    assert (p.total, p.completed, p.pending, p.failed) == (20, 20, 0, 0)
    assert p.jobs_submitted == 7


async def test_events_and_progress() -> None:
    events: list[SchedulerEvent] = []
    fake = FakeProvider(capabilities=caps(), queue_polls=1, run_polls=1)
    async with Scheduler(fake, shots=2, batch_size=2, on_event=events.append, **FAST) as s:
        for i in range(4):
            s.submit(circ(i))
        assert s.progress().pending == 4
        await s.gather()
    kinds = [e.kind for e in events]
    assert kinds.count("submitted") == 4
    assert kinds.count("running") == 4
    assert kinds.count("completed") == 4
    assert all(e.job_id for e in events)
    first = {e.index: e.kind for e in reversed(events)}
    assert set(first.values()) == {"submitted"}


async def test_input_is_validated_before_any_request() -> None:
    fake = FakeProvider(capabilities=caps())
    with pytest.raises(InputError, match="batch_size"):
        Scheduler(fake, batch_size=500)
    with pytest.raises(InputError, match="max_in_flight"):
        Scheduler(fake, max_in_flight=0)
    with pytest.raises(InputError, match="poll_factor"):
        Scheduler(fake, poll_factor=0.5)
    async with Scheduler(fake, **FAST) as s:
        with pytest.raises(InputError, match="shots"):
            s.submit(circ(1))
        with pytest.raises(InputError, match="circuit"):
            s.submit("OPENQASM 2.0;", shots=1)
        with pytest.raises(InputError, match="shots"):
            s.submit(circ(1), shots=0)
        with pytest.raises(InputError, match="job_options"):
            s.submit(circ(1), shots=1, weird=object())
    assert fake.stats.total == 0


# --------------------------------------------------------------------------- failures
async def test_failed_job_fails_its_futures_with_the_provider_message() -> None:
    fake = FakeProvider(capabilities=caps(), fail=lambda cs: "bad gate" if len(cs) == 2 else None)
    async with Scheduler(fake, shots=1, batch_size=2, **FAST) as s:
        futs = [s.submit(circ(i)) for i in range(3)]
        out: list[Any] = await s.gather(return_exceptions=True)
    assert isinstance(out[0], JobFailedError)
    assert "bad gate" in str(out[0])
    assert out[0].job_id == futs[0].job_id
    assert isinstance(futs[1].exception(), JobFailedError)
    assert outcome(out[2]) == 2
    assert fake.stats.jobs_created == 2  # no resubmission without retry_failed


async def test_retry_failed_resubmits_after_confirmation() -> None:
    attempts: dict[int, int] = {}

    def fail(cs: Any) -> str | None:
        n = outcome_of(cs[0])
        attempts[n] = attempts.get(n, 0) + 1
        return "transient" if attempts[n] == 1 else None

    fake = FakeProvider(capabilities=caps(status_batch_size=1), fail=fail)
    events: list[SchedulerEvent] = []
    async with Scheduler(
        fake, shots=1, batch_size=1, retry_failed=1, on_event=events.append, **FAST
    ) as s:
        for i in range(3):
            s.submit(circ(i))
        results = await s.gather()
        assert s.progress().retried == 3
    assert [outcome(r) for r in results] == [0, 1, 2]
    assert fake.stats.jobs_created == 6
    assert [e.kind for e in events].count("retried") == 3
    # each failed job was observed once by the poller and once more to confirm the failure
    failed = [j for j in fake.jobs.values() if j.status is JobStatus.FAILED]
    assert len(failed) == 3
    assert all(fake.observations.count(j.id) == 2 for j in failed)


def outcome_of(c: Circuit) -> int:
    return sum(1 << ins.qubits[0] for ins in c.instructions if ins.name == "x")


async def test_retry_budget_is_bounded() -> None:
    fake = FakeProvider(capabilities=caps(), fail=lambda cs: "always")
    async with Scheduler(fake, shots=1, retry_failed=2, **FAST) as s:
        f = s.submit(circ(1))
        with pytest.raises(JobFailedError, match="always"):
            await f
    assert fake.stats.jobs_created == 3


async def test_job_timeout_never_resubmits_nor_cancels() -> None:
    fake = FakeProvider(capabilities=caps(), queue_polls=10**9)
    async with Scheduler(fake, shots=1, job_timeout=0.05, **FAST) as s:
        futs = [s.submit(circ(i)) for i in range(3)]
        out: list[Any] = await s.gather(return_exceptions=True)
    assert all(isinstance(e, JobTimeoutError) for e in out)
    assert futs[0].job_id is not None
    assert futs[0].job_id in str(out[0])
    assert fake.stats.jobs_created == 1
    assert fake.stats.cancelled == 0
    assert fake.stats.requests[CANCEL_MANY] == 0


async def test_unknown_state_fails_with_the_job_id_and_no_resubmission() -> None:
    fake = FakeProvider(capabilities=caps(status_batch_size=1), queue_polls=10**9)
    fake.inject(
        "get_job",
        ServerError("down", status=500, provider="fake", method="GET", path="/jobs/x"),
        count=10**6,
    )
    async with Scheduler(fake, shots=1, unknown_state_timeout=0.05, **FAST) as s:
        f = s.submit(circ(1))
        with pytest.raises(JobError) as info:
            await f
    assert f.job_id is not None
    assert f.job_id in str(info.value)
    assert "not resubmitted" in str(info.value)
    assert fake.stats.jobs_created == 1


# --------------------------------------------------------------------------- submission errors
async def test_rejected_submission_fails_that_batch_only() -> None:
    fake = FakeProvider(capabilities=caps())
    fake.inject(
        "submit",
        ValidationError("bad circuit", status=400, provider="fake", method="POST", path="/jobs"),
    )
    async with Scheduler(fake, shots=1, batch_size=2, **FAST) as s:
        futs = [s.submit(circ(i)) for i in range(4)]
        out: list[Any] = await s.gather(return_exceptions=True)
    assert isinstance(out[0], ValidationError)
    assert isinstance(out[1], ValidationError)
    assert [outcome(r) for r in out[2:]] == [2, 3]
    assert fake.stats.requests[SUBMIT] == 2
    assert fake.stats.requests[FIND] == 0
    assert futs[0].status is None


@pytest.mark.parametrize("created", [True, False])
async def test_uncertain_submission_is_resolved_by_key(created: bool) -> None:
    fake = FakeProvider(capabilities=caps())
    fake.inject(
        "submit",
        SubmitUncertainError("dropped", provider="fake", method="POST", path="/jobs"),
        after=created,
    )
    async with Scheduler(fake, shots=1, **FAST) as s:
        f = s.submit(circ(3))
        assert outcome(await f) == 3
    assert fake.stats.jobs_created == 1
    assert fake.stats.requests[FIND] == 1
    assert fake.stats.requests[SUBMIT] == (1 if created else 2)
    job = fake.job_for_key(fake.jobs[f.job_id or ""].key or "")
    assert job is not None
    assert job.id == f.job_id


async def test_uncertain_submission_without_keys_is_not_resubmitted() -> None:
    fake = FakeProvider(capabilities=caps(submit_key=False))
    fake.inject(
        "submit", SubmitUncertainError("dropped", provider="fake", method="POST", path="/jobs")
    )
    async with Scheduler(fake, shots=1, **FAST) as s:
        f = s.submit(circ(3))
        with pytest.raises(SubmitUncertainError):
            await f
    assert fake.stats.requests[SUBMIT] == 1


# --------------------------------------------------------------------------- cancellation
async def test_cancel_cancels_every_job_and_reports() -> None:
    fake = FakeProvider(capabilities=caps(), queue_polls=10**9)
    submitted, on_event = submitted_event(6)
    async with Scheduler(
        fake, shots=1, batch_size=2, max_in_flight=3, on_event=on_event, **FAST
    ) as s:
        futs = [s.submit(circ(i)) for i in range(10)]
        await submitted.wait()
        report = await s.cancel()
        with pytest.raises(RuntimeError):
            s.submit(circ(1))
    assert len(report.cancelled) == 3
    assert report.failed == ()
    assert report.circuits == 10
    assert fake.stats.active_jobs == 0
    assert fake.stats.jobs_created == 3  # the 4 pending circuits were never submitted
    assert fake.stats.requests[CANCEL_MANY] == 1
    assert all(isinstance(f.exception(), JobCancelledError) for f in futs)
    assert s.progress().cancelled == 10


def submitted_event(n: int) -> tuple[anyio.Event, Any]:
    """An event set once ``n`` circuits were submitted, and the on_event callback setting it."""
    event = anyio.Event()
    count = 0

    def on_event(ev: SchedulerEvent) -> None:
        nonlocal count
        if ev.kind == "submitted":
            count += 1
            if count == n:
                event.set()

    return event, on_event


async def _raise_inside(fake: FakeProvider, futs: list[JobFuture]) -> None:
    event, on_event = submitted_event(4)
    async with Scheduler(fake, shots=1, batch_size=1, on_event=on_event, **FAST) as s:
        futs.extend(s.submit(circ(i)) for i in range(4))
        await event.wait()
        raise KeyError("boom")


async def test_exception_in_body_cancels_jobs_and_propagates() -> None:
    fake = FakeProvider(capabilities=caps(), queue_polls=10**9)
    futs: list[JobFuture] = []
    with pytest.raises(KeyError):
        await _raise_inside(fake, futs)
    assert fake.stats.active_jobs == 0
    assert fake.stats.cancelled == 4
    assert all(f.done() for f in futs)


async def test_task_cancellation_cancels_jobs_and_leaves_no_task() -> None:
    fake = FakeProvider(capabilities=caps(), queue_polls=10**9)
    event, on_event = submitted_event(4)
    with anyio.move_on_after(10) as outer:
        async with Scheduler(fake, shots=1, batch_size=1, on_event=on_event, **FAST) as s:
            for i in range(4):
                s.submit(circ(i))
            await event.wait()
            outer.cancel()
            await s.gather()
    assert outer.cancelled_caught
    assert fake.stats.active_jobs == 0
    assert fake.stats.cancelled == 4
    assert s._runner_done.is_set()


async def test_cancelling_one_future() -> None:
    fake = FakeProvider(capabilities=caps(), queue_polls=10**9)
    event, on_event = submitted_event(1)
    async with Scheduler(fake, shots=1, batch_size=1, on_event=on_event, **FAST) as s:
        a = s.submit(circ(1))
        await event.wait()
        b = s.submit(circ(2))
        await a.cancel()
        await b.cancel()
        with pytest.raises(JobCancelledError):
            await a
    assert isinstance(b.exception(), JobCancelledError)
    assert fake.stats.jobs_created == 1
    assert fake.stats.cancelled == 1


# --------------------------------------------------------------------------- scale
async def test_many_unbatched_jobs_complete() -> None:
    fake = FakeProvider(capabilities=caps(max_in_flight_jobs=500), queue_polls=1)
    async with Scheduler(fake, shots=1, batch_size=1, **FAST) as s:
        for i in range(3000):
            s.submit(circ(i % 32))
        results = await s.gather()
    assert fake.stats.jobs_created == 3000
    assert [outcome(r) for r in results] == [i % 32 for i in range(3000)]
    assert fake.stats.peak_active_jobs <= 500
    assert fake.stats.requests[GET] + fake.stats.requests[LIST] < 3000


async def test_a_retry_uses_a_new_key_so_lookups_never_find_the_failed_job() -> None:
    attempts = 0

    def fail(cs: Any) -> str | None:
        nonlocal attempts
        attempts += 1
        return "transient" if attempts == 1 else None

    fake = FakeProvider(capabilities=caps(), fail=fail)
    # the resubmission fails ambiguously without creating a job: the lookup by key must not
    # find the failed job (same circuits) but nothing, and the job is then submitted once more
    fake.inject(
        "submit",
        SubmitUncertainError("dropped", provider="fake", method="POST", path="/jobs"),
        skip=1,
    )
    async with Scheduler(fake, shots=1, retry_failed=1, **FAST) as s:
        f = s.submit(circ(6))
        assert outcome(await f) == 6
    assert fake.stats.jobs_created == 2
    assert fake.stats.requests[FIND] == 1
    assert fake.stats.requests[SUBMIT] == 3
    keys = [j.key for j in fake.jobs.values()]
    assert len(keys) == len(set(keys)) == fake.stats.jobs_created
