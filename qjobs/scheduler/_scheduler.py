"""The Scheduler: many circuits in flight, batched, polled centrally, journaled in a ledger.

Structure: ``__aenter__`` opens a task group holding one runner task; the runner owns an inner
task group with the batcher, the poller and three small pools of workers (submit, poll, fetch),
each as large as the provider's ``max_concurrent_requests``. No task exists per job: jobs are
plain records (:class:`~qjobs.scheduler._batcher.Batch`) moved between queues. ``__aexit__``
waits for every future, or on an error cancels every unfinished job at the provider, then stops
the runner; nothing outlives the ``async with``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from qjobs._circuit import Circuit
from qjobs._errors import (
    APIError,
    InputError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    MalformedResponseError,
)
from qjobs._models import Job, JobStatus, Result
from qjobs.scheduler._batcher import (
    DONE,
    FETCHING,
    LOOKUP,
    QUEUED_LOCAL,
    SUBMITTING,
    TRACKED,
    Batch,
    Group,
    take_batch,
)
from qjobs.scheduler._events import CancelReport, EventKind, Progress, SchedulerEvent
from qjobs.scheduler._future import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    SUBMITTED,
    JobFuture,
)
from qjobs.scheduler._keys import circuit_key, options_json, payload_estimate
from qjobs.scheduler._ledger import (
    ABSENT,
    Ledger,
    LedgerBatch,
    LedgerRow,
    pack_result,
    unpack_result,
)
from qjobs.scheduler._poller import Backoff, PollQueue

if TYPE_CHECKING:
    from qjobs.providers._base import ProviderClient

__all__ = ["Scheduler"]

log = logging.getLogger("qjobs.scheduler")

#: Submissions whose outcome stays unknown after a lookup are retried at most this often.
_MAX_SUBMIT_ATTEMPTS = 6
_LEDGER_FLUSH_INTERVAL = 0.2
_REJECTED = "rejected"
_FINAL_LEDGER = frozenset({JobStatus.FAILED.value, JobStatus.CANCELLED.value, ABSENT, _REJECTED})


class _Unresolved(Exception):
    """A lookup by key kept failing for ``unknown_state_timeout`` seconds."""


class _Watcher:
    """Receives every future as it finishes (for gather, as_completed and exit)."""

    __slots__ = ("event", "queue")

    def __init__(self) -> None:
        self.queue: deque[JobFuture] = deque()
        self.event = anyio.Event()

    def push(self, fut: JobFuture) -> None:
        self.queue.append(fut)
        self.event.set()


def _positive(name: str, value: Any, *, integer: bool = False, allow_none: bool = True) -> None:
    if value is None:
        if allow_none:
            return
        raise InputError(name, value, "is required")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        raise InputError(name, value, "expected a positive " + ("integer" if integer else "number"))
    if not value > 0:
        raise InputError(name, value, "must be positive")


class Scheduler:
    """Run many circuits on one provider client with batching, limits, polling and a ledger.

    Use as ``async with Scheduler(client, backend=..., shots=...) as sched``; ``submit`` returns a
    :class:`JobFuture` at once. Defaults come from ``client.capabilities``: ``max_in_flight``
    bounds provider jobs submitted and not final (a batch job counts once), ``batch_size`` the
    circuits packed into one job (1 turns batching off), ``poll_*`` shape each job's polling
    backoff. ``ledger`` names a SQLite file journaling every circuit so that a rerun of the same
    program resumes without losing or repeating work. ``retry_failed`` resubmits a circuit whose
    job the provider confirms FAILED at most that often; ``job_timeout`` fails a circuit whose job
    is not final that many seconds after creation (never resubmitted, not cancelled);
    ``unknown_state_timeout`` fails a circuit whose job's state cannot be learned that long.
    ``cancel_timeout`` bounds cancellation at exit. Extra keyword arguments are job options passed
    to ``client.submit`` for every job.
    """

    def __init__(
        self,
        client: ProviderClient,
        *,
        backend: str | None = None,
        shots: int | None = None,
        max_in_flight: int | None = None,
        batch_size: int | None = None,
        batch_linger: float = 0.02,
        poll_initial: float | None = None,
        poll_max: float | None = None,
        poll_factor: float | None = None,
        ledger: str | os.PathLike[str] | None = None,
        retry_failed: int = 0,
        job_timeout: float | None = None,
        unknown_state_timeout: float = 600.0,
        on_event: Callable[[SchedulerEvent], None] | None = None,
        cancel_timeout: float = 30.0,
        **job_options: Any,
    ) -> None:
        caps = client.capabilities
        _positive("shots", shots, integer=True)
        _positive("max_in_flight", max_in_flight, integer=True)
        _positive("batch_size", batch_size, integer=True)
        for name, value in (
            ("poll_initial", poll_initial),
            ("poll_max", poll_max),
            ("job_timeout", job_timeout),
            ("unknown_state_timeout", unknown_state_timeout),
            ("cancel_timeout", cancel_timeout),
        ):
            _positive(name, value)
        if poll_factor is not None:
            _positive("poll_factor", poll_factor)
            if poll_factor < 1:
                raise InputError("poll_factor", poll_factor, "must be at least 1")
        if isinstance(batch_linger, bool) or not isinstance(batch_linger, int | float):
            raise InputError("batch_linger", batch_linger, "expected a number of seconds")
        if batch_linger < 0:
            raise InputError("batch_linger", batch_linger, "must not be negative")
        if isinstance(retry_failed, bool) or not isinstance(retry_failed, int) or retry_failed < 0:
            raise InputError("retry_failed", retry_failed, "expected an integer >= 0")
        if batch_size is not None and batch_size > caps.max_circuits_per_job:
            raise InputError(
                "batch_size",
                batch_size,
                f"the provider takes at most {caps.max_circuits_per_job} circuits per job",
            )
        if backend is not None and not isinstance(backend, str):
            raise InputError("backend", backend, "expected a string")
        if "key" in job_options or "name" in job_options:
            bad = "key" if "key" in job_options else "name"
            raise InputError(bad, job_options[bad], "is set by the scheduler")

        self._client = client
        self._caps = caps
        self._provider: str = getattr(client, "provider", type(client).__name__)
        self._backend = backend
        self._shots = shots
        self._max_in_flight = max_in_flight or caps.max_in_flight_jobs
        self._batch_size = batch_size or caps.max_circuits_per_job
        self._payload_limit = int(caps.max_payload_bytes * 0.8)
        self._linger = float(batch_linger)
        self._backoff = Backoff(
            poll_initial or caps.poll_initial,
            poll_max or caps.poll_max,
            poll_factor or caps.poll_factor,
        )
        self._coalesce = min(self._backoff.initial, 1.0) * 0.5
        self._status_chunk = max(1, caps.status_batch_size)
        self._workers = max(1, caps.max_concurrent_requests)
        self._retry_failed = retry_failed
        self._job_timeout = job_timeout
        self._unknown_timeout = float(unknown_state_timeout)
        self._cancel_timeout = float(cancel_timeout)
        self._on_event = on_event
        self._options = dict(job_options)
        self._options_json = options_json(self._options)
        self._ledger = Ledger(ledger) if ledger is not None else None

        self._futures: list[JobFuture] = []
        self._groups: dict[tuple[int, str | None, bytes], Group] = {}
        self._ready: dict[Group, None] = {}
        self._counts = [0] * 6
        self._retried = 0
        self._from_ledger = 0
        self._jobs_submitted = 0
        self._unfinished = 0
        self._in_flight = 0
        self._live: set[Batch] = set()
        self._watchers: list[_Watcher] = []
        self._heap = PollQueue()
        self._rows: dict[str, LedgerRow] | None = None
        self._lbatches: dict[str, LedgerBatch] = {}
        self._attached: dict[str, Batch] = {}
        self._batch_wake = anyio.Event()
        self._poll_wake = anyio.Event()
        self._entered = False
        self._closing = False
        self._draining = False
        self._runner_done = anyio.Event()
        self._workers_scope: anyio.CancelScope | None = None
        self._tg: Any = None
        self._submit_tx: MemoryObjectSendStream[Batch]
        self._submit_rx: MemoryObjectReceiveStream[Batch]
        self._poll_tx: MemoryObjectSendStream[list[Batch]]
        self._poll_rx: MemoryObjectReceiveStream[list[Batch]]
        self._fetch_tx: MemoryObjectSendStream[tuple[Batch, Job]]
        self._fetch_rx: MemoryObjectReceiveStream[tuple[Batch, Job]]

    def __repr__(self) -> str:
        p = self.progress()
        return (
            f"<Scheduler {self._provider} total={p.total} done={p.done} "
            f"in_flight={p.jobs_in_flight}>"
        )

    # ================================================================== lifecycle
    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a Scheduler can be entered only once")
        self._entered = True
        if self._ledger is not None:
            self._rows, self._lbatches = await self._ledger.open()
        self._submit_tx, self._submit_rx = anyio.create_memory_object_stream[Batch](sys.maxsize)
        self._poll_tx, self._poll_rx = anyio.create_memory_object_stream[list[Batch]](sys.maxsize)
        self._fetch_tx, self._fetch_rx = anyio.create_memory_object_stream[tuple[Batch, Job]](
            sys.maxsize
        )
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        try:
            await self._tg.start(self._run)
        except BaseException:
            self._tg.cancel_scope.cancel()
            await self._tg.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                try:
                    await self._wait_all()
                except BaseException:
                    await self._abort()
                    raise
            else:
                await self._abort()
        finally:
            self._closing = True
            with anyio.CancelScope(shield=True):
                await self._stop_workers()
                if self._ledger is not None:
                    await self._ledger.close()
            await self._tg.__aexit__(None, None, None)

    async def _run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            with anyio.CancelScope() as scope:
                self._workers_scope = scope
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._batcher)
                    tg.start_soon(self._poller)
                    for _ in range(self._workers):
                        tg.start_soon(self._submit_worker)
                        tg.start_soon(self._poll_worker)
                        tg.start_soon(self._fetch_worker)
                    if self._ledger is not None:
                        tg.start_soon(self._ledger_flusher)
                    task_status.started()
        finally:
            self._runner_done.set()

    async def _stop_workers(self) -> None:
        if self._workers_scope is not None:
            self._workers_scope.cancel()
            await self._runner_done.wait()

    async def _abort(self) -> None:
        self._closing = True
        with anyio.CancelScope(shield=True):
            await self._stop_workers()
            await self._cancel_all()

    async def _wait_all(self) -> None:
        self._draining = True
        self._batch_wake.set()
        w = self._watch()
        try:
            while self._unfinished > 0:
                await w.event.wait()
                w.event = anyio.Event()
                w.queue.clear()
        finally:
            self._watchers.remove(w)

    def _watch(self) -> _Watcher:
        w = _Watcher()
        self._watchers.append(w)
        return w

    # ================================================================== public API
    def submit(
        self, circuit: Circuit, *, shots: int | None = None, **job_options: Any
    ) -> JobFuture:
        """Queue one circuit and return its :class:`JobFuture` at once.

        Input is validated here (an :class:`~qjobs.InputError` names the bad field). Job options
        given here are merged over the scheduler's; ``backend=`` may also be given per circuit.
        Circuits with equal shots, backend and options may share a provider job.
        """
        if not self._entered or self._closing:
            raise RuntimeError("the Scheduler is not running (use it as 'async with', not after)")
        if not isinstance(circuit, Circuit):
            raise InputError("circuit", circuit, "expected a qjobs.Circuit")
        if not circuit.is_bound:
            raise InputError("circuit", circuit.parameters, "has unbound parameters")
        s = self._shots if shots is None else shots
        _positive("shots", s, integer=True, allow_none=False)
        assert s is not None
        backend = self._backend
        if job_options:
            if "backend" in job_options:
                backend = job_options.pop("backend")
                if backend is not None and not isinstance(backend, str):
                    raise InputError("backend", backend, "expected a string")
            for bad in ("key", "name"):
                if bad in job_options:
                    raise InputError(bad, job_options[bad], "is set by the scheduler")
        if job_options:
            opts = {**self._options, **job_options}
            oj = options_json(opts)
        else:
            opts, oj = self._options, self._options_json
        gkey = (s, backend, oj)
        group = self._groups.get(gkey)
        if group is None:
            group = self._groups[gkey] = Group(s, backend, opts, oj)
        index = len(self._futures)
        key = circuit_key(circuit, shots=s, backend=backend, options=oj, index=index)
        fut = JobFuture(self, index, key, circuit, group)
        self._futures.append(fut)
        self._unfinished += 1
        self._counts[PENDING] += 1
        self._draining = False
        if self._rows is not None and self._resume(fut, circuit):
            return fut
        self._enqueue(fut, circuit)
        return fut

    def as_completed(self) -> AsyncIterator[JobFuture]:
        """Yield futures as they finish (those already done first), until all are done.

        Covers futures submitted before and during the iteration; it ends when every future
        submitted so far is done.
        """
        return self._as_completed()

    async def _as_completed(self) -> AsyncIterator[JobFuture]:
        self._draining = True
        self._batch_wake.set()
        w = self._watch()
        try:
            for f in [f for f in self._futures if f.done()]:
                yield f
            while True:
                while w.queue:
                    yield w.queue.popleft()
                if self._unfinished == 0:
                    break
                await w.event.wait()
                w.event = anyio.Event()
        finally:
            self._watchers.remove(w)

    async def gather(self, *, return_exceptions: bool = False) -> list[Result]:
        """Wait for every submitted circuit and return the results in submission order.

        The first failure is raised as soon as it is seen unless ``return_exceptions`` is true, in
        which case errors take the place of results in the list.
        """
        self._draining = True
        self._batch_wake.set()
        w = self._watch()
        try:
            if not return_exceptions:
                for f in self._futures:
                    if f._exc is not None:
                        raise f._exc
            while self._unfinished > 0:
                await w.event.wait()
                w.event = anyio.Event()
                while w.queue:
                    f = w.queue.popleft()
                    if f._exc is not None and not return_exceptions:
                        raise f._exc
        finally:
            self._watchers.remove(w)
        return [f._result if f._exc is None else f._exc for f in self._futures]  # type: ignore[misc]

    async def cancel(self) -> CancelReport:
        """Cancel every unfinished job at the provider and every pending circuit; stop.

        Bounded by ``cancel_timeout`` and shielded from cancellation. Returns (and logs) what was
        cancelled. The scheduler accepts no submissions afterwards.
        """
        self._closing = True
        with anyio.CancelScope(shield=True):
            await self._stop_workers()
            report = await self._cancel_all()
        return report

    def progress(self) -> Progress:
        """A snapshot of the counts per state."""
        c = self._counts
        return Progress(
            total=len(self._futures),
            pending=c[PENDING],
            submitted=c[SUBMITTED],
            running=c[RUNNING],
            completed=c[COMPLETED],
            failed=c[FAILED],
            cancelled=c[CANCELLED],
            retried=self._retried,
            from_ledger=self._from_ledger,
            jobs_in_flight=self._in_flight,
            jobs_submitted=self._jobs_submitted,
        )

    @property
    def futures(self) -> list[JobFuture]:
        """Every future submitted so far, in submission order (a copy)."""
        return list(self._futures)

    # ================================================================== state changes
    def _emit(
        self, kind: EventKind, f: JobFuture, error: str | None = None, ledger: bool = False
    ) -> None:
        cb = self._on_event
        if cb is None:
            return
        try:
            cb(SchedulerEvent(kind, f.index, f.job_id, f.key, error, ledger))
        except Exception:
            log.exception("on_event callback failed")

    def _move(self, f: JobFuture, state: int) -> None:
        if f._state < COMPLETED and f._state != state:
            self._counts[f._state] -= 1
            self._counts[state] += 1
            f._state = state

    def _finish(
        self,
        f: JobFuture,
        result: Result | None,
        exc: BaseException | None,
        *,
        from_ledger: bool = False,
    ) -> None:
        if f._state >= COMPLETED:
            return
        if exc is None:
            state = COMPLETED
        elif isinstance(exc, JobCancelledError):
            state = CANCELLED
        else:
            state = FAILED
        self._counts[f._state] -= 1
        self._counts[state] += 1
        f._state = state
        f._result = result
        f._exc = exc
        f._circuit = None
        if f._event is not None:
            f._event.set()
        self._unfinished -= 1
        for w in self._watchers:
            w.push(f)
        if self._on_event is not None:
            kind: EventKind = (
                "completed"
                if state == COMPLETED
                else "cancelled"
                if state == CANCELLED
                else "failed"
            )
            self._emit(kind, f, None if exc is None else str(exc), from_ledger)

    def _enqueue(self, f: JobFuture, circuit: Circuit, *, front: bool = False) -> None:
        f._circuit = circuit
        f._batch = None
        g = f._group
        if not g.pending:
            g.since = anyio.current_time()
            self._ready[g] = None
        if front:
            g.pending.appendleft(f)
        else:
            g.pending.append(f)
        g.bytes += payload_estimate(circuit)
        self._batch_wake.set()

    def _release(self, b: Batch) -> None:
        if b.state != DONE:
            b.state = DONE
            self._in_flight -= 1
            self._live.discard(b)
            b.circuits = []
            self._batch_wake.set()

    def _fail_batch(self, b: Batch, exc: BaseException) -> None:
        live = b.live_futures()
        self._release(b)
        for f in live:
            self._finish(f, None, exc)

    def _schedule(self, b: Batch, now: float, delay: float | None = None) -> None:
        due = now + (self._backoff.delay(b.interval) if delay is None else delay)
        if b.deadline is not None and due > b.deadline:
            due = b.deadline
        if self._heap.push(due, b):
            self._poll_wake.set()

    def _attach(self, b: Batch, job: Job) -> None:
        """The job of ``b`` exists at the provider: record it and start polling it."""
        now = anyio.current_time()
        b.job_id = job.id
        b.status = job.status
        b.provider_status = job.provider_status
        b.created = b.last_seen = now
        b.interval = self._backoff.initial
        if self._job_timeout is not None:
            b.deadline = now + self._job_timeout
        b.state = TRACKED
        self._jobs_submitted += 1
        if self._ledger is not None:
            self._ledger.job(b.key, job.id, job.status.value)
        state = RUNNING if job.status is JobStatus.RUNNING else SUBMITTED
        for f in b.futures:
            if f is not None and not f.done():
                self._move(f, state)
                self._emit("submitted", f)
        if job.is_final:
            self._on_final(b, job)
        else:
            self._schedule(b, now)

    def _observe(self, b: Batch, job: Job, now: float) -> None:
        """A poll learned the state of ``b``'s job."""
        if b.state != TRACKED:
            return
        if job.status is JobStatus.UNKNOWN:
            self._unlearned(b, now, f"status {job.provider_status!r} not understood")
            return
        b.last_seen = now
        if job.status is not b.status or job.provider_status != b.provider_status:
            b.status = job.status
            b.provider_status = job.provider_status
            b.interval = self._backoff.initial
            if self._ledger is not None:
                self._ledger.status(b.key, job.status.value)
            if job.status is JobStatus.RUNNING:
                for f in b.futures:
                    if f is not None and f._state == SUBMITTED:
                        self._move(f, RUNNING)
                        self._emit("running", f)
        else:
            b.interval = self._backoff.grow(b.interval)
        if job.is_final:
            self._on_final(b, job)
        else:
            self._schedule(b, now)

    def _unlearned(self, b: Batch, now: float, reason: str) -> None:
        """A poll could not learn the state of ``b``'s job."""
        if b.state != TRACKED:
            return
        if now - b.last_seen >= self._unknown_timeout:
            self._fail_batch(
                b,
                JobError(
                    f"the state of {self._provider} job {b.job_id} could not be learned for "
                    f"{now - b.last_seen:.0f} s ({reason}); it was not resubmitted",
                    job_id=b.job_id,
                    provider=self._provider,
                ),
            )
            return
        b.interval = self._backoff.grow(b.interval)
        self._schedule(b, now)

    def _on_final(self, b: Batch, job: Job) -> None:
        b.state = FETCHING
        if job.status is JobStatus.COMPLETED:
            self._fetch_tx.send_nowait((b, job))
        elif job.status is JobStatus.FAILED:
            if self._retry_failed and any(
                f._retries < self._retry_failed for f in b.live_futures()
            ):
                self._fetch_tx.send_nowait((b, job))  # confirm the failure, then resubmit
            else:
                self._failed(b, job)
        else:
            if self._ledger is not None:
                self._ledger.status(b.key, job.status.value)
            self._fail_batch(
                b,
                JobCancelledError(
                    f"{self._provider} job {job.id} was cancelled at the provider",
                    job_id=job.id,
                    provider=self._provider,
                ),
            )

    def _failure_error(self, job: Job) -> JobFailedError:
        failure = job.failure
        return JobFailedError(
            failure.message if failure else "no reason given",
            job_id=job.id,
            provider=self._provider,
            code=failure.code if failure else None,
        )

    def _failed(self, b: Batch, job: Job) -> None:
        """``b``'s job is confirmed FAILED: retry the circuits allowed to, fail the others."""
        err = self._failure_error(job)
        if self._ledger is not None:
            self._ledger.status(b.key, JobStatus.FAILED.value, err.message)
        members = [(pos, f) for pos, f in enumerate(b.futures) if f is not None and not f.done()]
        circuits = b.circuits
        self._release(b)
        for pos, f in members:
            circ = circuits[pos] if pos < len(circuits) else None
            if circ is not None and f._retries < self._retry_failed:
                f._retries += 1
                self._retried += 1
                self._move(f, PENDING)
                self._emit("retried", f, err.message)
                self._enqueue(f, circ, front=True)
            else:
                self._finish(f, None, err)

    # ================================================================== ledger resume
    def _resume(self, f: JobFuture, circuit: Circuit) -> bool:
        """Attach a circuit to what the ledger knows about it; False when it must be submitted."""
        assert self._rows is not None
        row = self._rows.get(f.key)
        if row is None:
            return False
        if row.result is not None:
            self._from_ledger += 1
            self._finish(f, unpack_result(row.result), None, from_ledger=True)
            return True
        f._gen = row.gen
        lb = self._lbatches.get(row.batch) if row.batch is not None else None
        if lb is None or row.pos is None or lb.status in _FINAL_LEDGER or row.pos >= lb.size:
            return False
        b = self._attached.get(lb.key)
        if b is None:
            b = Batch(
                lb.key,
                max(row.gen - 1, 0),
                f._group,
                [None] * lb.size,
                list(lb.members),
                [None] * lb.size,
                state=LOOKUP if lb.job_id is None else TRACKED,
            )
            self._attached[lb.key] = b
            self._in_flight += 1
            self._live.add(b)
            if lb.job_id is None:
                b.posted = True
                self._submit_tx.send_nowait(b)
            else:
                now = anyio.current_time()
                b.job_id = lb.job_id
                try:
                    b.status = JobStatus(lb.status)
                except ValueError:
                    b.status = JobStatus.UNKNOWN
                b.created = b.last_seen = now
                b.interval = self._backoff.initial
                if self._job_timeout is not None:
                    b.deadline = now + self._job_timeout
                self._schedule(b, now, 0.0)
        elif b.state == DONE:
            return False
        b.futures[row.pos] = f
        b.circuits[row.pos] = circuit
        f._batch = b
        f._circuit = None
        if b.job_id is not None:
            self._move(f, RUNNING if b.status is JobStatus.RUNNING else SUBMITTED)
            self._emit("submitted", f)
        return True

    async def _resume_lookup(self, b: Batch) -> None:
        """A ledger intent without job id: find the job by key before anything is resubmitted."""
        b.state = SUBMITTING
        try:
            job = await self._lookup(b)
        except _Unresolved as exc:
            self._fail_batch(b, JobError(str(exc), job_id=None, provider=self._provider))
            return
        if b.state != SUBMITTING:
            return
        if job is not None:
            self._attach(b, job)
            return
        lb = self._lbatches.get(b.key)
        if lb is not None:
            lb.status = ABSENT
        if self._ledger is not None:
            self._ledger.status(b.key, ABSENT)
        members = [(pos, f) for pos, f in enumerate(b.futures) if f is not None and not f.done()]
        circuits = b.circuits
        self._release(b)
        for pos, f in members:
            circ = circuits[pos]
            assert circ is not None
            self._enqueue(f, circ, front=True)

    # ================================================================== background tasks
    async def _batcher(self) -> None:
        while True:
            self._batch_wake = wake = anyio.Event()
            delay = self._form_batches(anyio.current_time())
            if delay is None:
                await wake.wait()
            else:
                with anyio.move_on_after(delay):
                    await wake.wait()

    def _form_batches(self, now: float) -> float | None:
        """Form every batch that is ready; the seconds until the next linger expires, or None."""
        next_delay: float | None = None
        size, limit = self._batch_size, self._payload_limit
        for g in list(self._ready):
            while g.pending and self._in_flight < self._max_in_flight:
                if (
                    len(g.pending) >= size
                    or g.bytes >= limit
                    or self._draining
                    or now - g.since >= self._linger
                ):
                    b = take_batch(g, size, limit)
                    if b is None:
                        break
                    self._in_flight += 1
                    self._live.add(b)
                    self._submit_tx.send_nowait(b)
                else:
                    d = g.since + self._linger - now
                    next_delay = d if next_delay is None else min(next_delay, d)
                    break
            if not g.pending:
                del self._ready[g]
            if self._in_flight >= self._max_in_flight:
                return None
        return next_delay

    async def _poller(self) -> None:
        heap = self._heap
        chunk = self._status_chunk
        while True:
            self._poll_wake = wake = anyio.Event()
            now = anyio.current_time()
            while True:
                due = heap.pop_due(now, chunk)
                if not due:
                    break
                if chunk > 1 and len(due) < chunk:
                    due += heap.pop_due(now + self._coalesce, chunk - len(due))
                live: list[Batch] = []
                for b in due:
                    if b.deadline is not None and now >= b.deadline:
                        self._timed_out(b)
                    else:
                        live.append(b)
                if live:
                    self._poll_tx.send_nowait(live)
            nxt = heap.next_due()
            if nxt is None:
                await wake.wait()
            else:
                with anyio.move_on_after(max(nxt - now, 0.0)):
                    await wake.wait()

    def _timed_out(self, b: Batch) -> None:
        self._fail_batch(
            b,
            JobTimeoutError(
                f"{self._provider} job {b.job_id} not final after {self._job_timeout} s "
                f"(still {b.provider_status or b.status}); not cancelled, not resubmitted",
                job_id=b.job_id,
                provider=self._provider,
            ),
        )

    async def _poll_worker(self) -> None:
        client = self._client
        async for chunk in self._poll_rx:
            ids = [b.job_id for b in chunk if b.job_id is not None]
            try:
                if len(ids) == 1:
                    jobs = [await client.get_job(ids[0])]
                else:
                    jobs = await client.get_jobs(ids)
            except Exception as exc:
                now = anyio.current_time()
                log.debug("poll of %d job(s) failed: %s", len(ids), exc)
                for b in chunk:
                    self._unlearned(b, now, str(exc))
                continue
            now = anyio.current_time()
            by_id = {j.id: j for j in jobs}
            for b in chunk:
                j = by_id.get(b.job_id) if b.job_id is not None else None
                if j is None:
                    self._unlearned(b, now, "missing from the provider's answer")
                else:
                    self._observe(b, j, now)

    async def _submit_worker(self) -> None:
        async for b in self._submit_rx:
            if b.state == LOOKUP:
                await self._resume_lookup(b)
            elif b.state == QUEUED_LOCAL:
                await self._submit(b)

    async def _submit(self, b: Batch) -> None:
        live = b.live_futures()
        if not live or self._closing:
            self._release(b)
            return
        b.state = SUBMITTING
        # Every job a circuit joins bumps its generation, so a later job holding the same
        # circuits (a retry, a resubmission after a crash) gets a different key.
        gen = b.gen + 1
        members = []
        for f in b.futures:
            assert f is not None
            f._gen = gen
            members.append((f.key, f.index, gen))
        if self._ledger is not None:
            self._ledger.intent(b.key, members)
            await self._ledger.flush()
        circuits = [c for c in b.circuits if c is not None]
        payload: Circuit | list[Circuit] = circuits[0] if len(circuits) == 1 else circuits
        g = b.group
        attempts = 0
        while True:
            if b.state != SUBMITTING:
                return
            b.posted = True
            try:
                job = await self._client.submit(
                    payload, shots=g.shots, backend=g.backend, key=b.key, **g.options
                )
                break
            except Exception as exc:
                if isinstance(exc, InputError) or (
                    isinstance(exc, APIError)
                    and 400 <= exc.status < 500
                    and exc.status not in (408, 429)
                ):
                    if self._ledger is not None:
                        self._ledger.status(b.key, _REJECTED, str(exc))
                    self._fail_batch(b, exc)
                    return
                attempts += 1
                if not self._caps.submit_key or attempts >= _MAX_SUBMIT_ATTEMPTS:
                    self._fail_batch(b, exc)
                    return
                log.info("submission of %s uncertain (%s); looking it up by key", b.key, exc)
                try:
                    found = await self._lookup(b)
                except _Unresolved as unresolved:
                    self._fail_batch(
                        b, JobError(str(unresolved), job_id=None, provider=self._provider)
                    )
                    return
                if found is not None:
                    job = found
                    break
                await anyio.sleep(min(0.05 * 2**attempts, 2.0))
        if b.state != SUBMITTING:
            return
        self._attach(b, job)
        if not b.live_futures() and b.state == TRACKED:
            await self._cancel_job(b)

    async def _lookup(self, b: Batch) -> Job | None:
        """``find_by_key`` for ``b``, retried until ``unknown_state_timeout``."""
        start = anyio.current_time()
        delay = 0.05
        while True:
            try:
                return await self._client.find_by_key(b.key)
            except Exception as exc:
                waited = anyio.current_time() - start
                if waited >= self._unknown_timeout:
                    raise _Unresolved(
                        f"could not learn whether {self._provider} job with key {b.key} was "
                        f"created ({exc}) for {waited:.0f} s; it was not resubmitted"
                    ) from exc
                await anyio.sleep(delay)
                delay = min(delay * 2, self._backoff.maximum)

    async def _fetch_worker(self) -> None:
        async for b, job in self._fetch_rx:
            if b.state != FETCHING:
                continue
            if job.status is JobStatus.COMPLETED:
                await self._fetch(b, job)
            else:
                await self._confirm_failed(b)

    async def _retrying(self, b: Batch, what: str, call: Callable[[], Any]) -> Any:
        """Await ``call()`` until it succeeds; fail ``b`` after ``unknown_state_timeout``."""
        start = anyio.current_time()
        delay = self._backoff.initial
        while True:
            try:
                return await call()
            except Exception as exc:
                if b.state != FETCHING:
                    return None
                waited = anyio.current_time() - start
                if waited >= self._unknown_timeout:
                    self._fail_batch(
                        b,
                        JobError(
                            f"{what} of {self._provider} job {b.job_id} failed for "
                            f"{waited:.0f} s: {exc}",
                            job_id=b.job_id,
                            provider=self._provider,
                        ),
                    )
                    return None
                await anyio.sleep(delay)
                delay = self._backoff.grow(delay)

    async def _fetch(self, b: Batch, job: Job) -> None:
        job_id = job.id
        results: list[Result] | None = await self._retrying(
            b, "fetching the results", lambda: self._client.results(job)
        )
        if results is None or b.state != FETCHING:
            return
        if len(results) != len(b.futures):
            self._fail_batch(
                b,
                MalformedResponseError(
                    f"job {job_id} returned {len(results)} results for {len(b.futures)} circuits",
                    provider=self._provider,
                ),
            )
            return
        ledger, rows = self._ledger, self._rows
        members = b.futures
        keys = b.member_keys
        self._release(b)
        for pos, res in enumerate(results):
            if ledger is not None:
                key = keys[pos]
                if key is not None:
                    blob = pack_result(res)
                    ledger.result(key, blob)
                    row = rows.get(key) if rows is not None else None
                    if row is not None:
                        row.result = blob
            f = members[pos]
            if f is not None and f._state < COMPLETED:
                self._finish(f, res, None)
        if ledger is not None:
            ledger.status(b.key, JobStatus.COMPLETED.value)

    async def _confirm_failed(self, b: Batch) -> None:
        job_id = b.job_id
        assert job_id is not None
        job: Job | None = await self._retrying(
            b, "confirming the failure", lambda: self._client.get_job(job_id)
        )
        if job is None or b.state != FETCHING:
            return
        if job.status is JobStatus.FAILED:
            self._failed(b, job)
        elif job.is_final:
            self._on_final(b, job)
        else:
            b.state = TRACKED
            self._observe(b, job, anyio.current_time())

    async def _ledger_flusher(self) -> None:
        ledger = self._ledger
        assert ledger is not None
        while True:
            await anyio.sleep(_LEDGER_FLUSH_INTERVAL)
            if ledger.dirty:
                await ledger.flush()

    # ================================================================== cancellation
    async def _cancel_job(self, b: Batch) -> None:
        """Cancel one job nobody waits for any more (all its circuits were cancelled)."""
        job_id = b.job_id
        self._release(b)
        if job_id is None:
            return
        with anyio.move_on_after(self._cancel_timeout):
            try:
                await self._client.cancel(job_id)
            except Exception as exc:
                log.warning("could not cancel %s job %s: %s", self._provider, job_id, exc)
                return
            if self._ledger is not None:
                self._ledger.status(b.key, JobStatus.CANCELLED.value)

    async def _cancel_future(self, f: JobFuture) -> None:
        if f.done():
            return
        b = f._batch
        self._finish(
            f,
            None,
            JobCancelledError(
                f"circuit #{f.index} was cancelled", job_id=f.job_id, provider=self._provider
            ),
        )
        if b is None or b.live_futures():
            return
        if b.state == TRACKED:
            with anyio.CancelScope(shield=True):
                await self._cancel_job(b)

    async def _cancel_all(self) -> CancelReport:
        """Cancel every unfinished job and circuit (workers are stopped)."""
        cancelled: list[str] = []
        failed: list[str] = []
        targets: list[Batch] = []
        with anyio.move_on_after(self._cancel_timeout) as scope:
            uncertain = [b for b in self._live if b.state in (SUBMITTING, LOOKUP) and b.posted]
            if uncertain:
                async with anyio.create_task_group() as tg:
                    for b in uncertain:
                        tg.start_soon(self._find_for_cancel, b)
            targets = [b for b in self._live if b.state == TRACKED and b.job_id is not None]
            ids = [b.job_id for b in targets if b.job_id is not None]
            if ids:
                try:
                    await self._client.cancel_many(ids)
                    cancelled.extend(ids)
                except Exception as exc:
                    log.info("cancel_many failed (%s); cancelling one by one", exc)
                    async with anyio.create_task_group() as tg:
                        for jid in ids:
                            tg.start_soon(self._cancel_one, jid, cancelled, failed)
        if scope.cancelled_caught:
            done = set(cancelled) | set(failed)
            failed.extend(b.job_id for b in targets if b.job_id and b.job_id not in done)
        if self._ledger is not None:
            ok = set(cancelled)
            for b in targets:
                if b.job_id in ok:
                    self._ledger.status(b.key, JobStatus.CANCELLED.value)
        for b in list(self._live):
            self._release(b)
        self._ready.clear()
        n = 0
        for f in self._futures:
            if not f.done():
                n += 1
                self._finish(
                    f,
                    None,
                    JobCancelledError(
                        f"circuit #{f.index} was cancelled"
                        + (f" (job {f.job_id})" if f.job_id else ""),
                        job_id=f.job_id,
                        provider=self._provider,
                    ),
                )
        report = CancelReport(tuple(cancelled), tuple(failed), n)
        if cancelled or failed or n:
            log.warning(
                "scheduler cancelled %d %s job(s) (%d could not be cancelled) and %d circuit(s)",
                len(cancelled),
                self._provider,
                len(failed),
                n,
            )
        if self._ledger is not None:
            with anyio.move_on_after(self._cancel_timeout):
                await self._ledger.flush()
        return report

    async def _find_for_cancel(self, b: Batch) -> None:
        try:
            job = await self._client.find_by_key(b.key)
        except Exception as exc:
            log.warning("could not look up job key %s to cancel it: %s", b.key, exc)
            return
        if job is not None:
            b.job_id = job.id
            b.status = job.status
            if self._ledger is not None:
                self._ledger.job(b.key, job.id, job.status.value)
            if not job.is_final:
                b.state = TRACKED

    async def _cancel_one(self, job_id: str, ok: list[str], bad: list[str]) -> None:
        try:
            await self._client.cancel(job_id)
            ok.append(job_id)
        except Exception as exc:
            log.warning("could not cancel %s job %s: %s", self._provider, job_id, exc)
            bad.append(job_id)
