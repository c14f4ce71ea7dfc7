"""The Scheduler: many circuits in flight, batched, polled centrally, journaled in a ledger.

Structure: the Scheduler owns its steps (bookkeeper, batcher, tracker, poller, fetcher,
canceller, resumer, submitter), which all share one
:class:`~qjobs.scheduler._shared.SchedulerState`. ``__aenter__`` opens a task group holding one
runner task; the runner owns an inner task group with the batcher, the poller and three small
pools of workers (submit, poll, fetch), each as large as the provider's published
``max_concurrent_requests`` (``UNCAPPED_WORKERS`` where none is published: the transport's
adaptive limiter then decides how many of their requests are in flight). No task exists per
job: jobs are plain records (:class:`~qjobs.scheduler._batches.Batch`) moved between queues.
``__aexit__`` waits for every future, or on an error cancels every unfinished job at the
provider, then stops the runner; nothing outlives the ``async with``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import anyio
from anyio.abc import TaskStatus

from qjobs._core.durations import factor, seconds, seconds_or_none
from qjobs._core.errors import InputError
from qjobs._core.models import Job, Result
from qjobs._core.validation import is_int
from qjobs.circuit._adapt import CircuitLike, as_circuit
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import ProviderClient
from qjobs.scheduler._batches import Batch, Batcher, Group
from qjobs.scheduler._bookkeeping import Bookkeeper
from qjobs.scheduler._cancelling import Canceller
from qjobs.scheduler._circuits import CircuitRecord
from qjobs.scheduler._events import CancelReport, Progress, SchedulerEvent
from qjobs.scheduler._fetching import Fetcher
from qjobs.scheduler._future import JobFuture
from qjobs.scheduler._groups import collapse
from qjobs.scheduler._keys import circuit_key, options_json, target_id
from qjobs.scheduler._polling import Backoff, Poller
from qjobs.scheduler._resuming import Resumer
from qjobs.scheduler._shared import SchedulerState, Settings
from qjobs.scheduler._states import FutureState
from qjobs.scheduler._submitting import Submitter
from qjobs.scheduler._tracking import Tracker

if TYPE_CHECKING:
    from qjobs.scheduler._display import ProgressDisplay
    from qjobs.scheduler._ledger_backend import Ledger

__all__ = ["UNCAPPED_WORKERS", "Scheduler", "keep_jobs", "key_at", "submit_at", "with_ledger"]

#: Workers per pool when the provider publishes no ``max_concurrent_requests``.
UNCAPPED_WORKERS = 32

log = logging.getLogger("qjobs.scheduler")
ledger_log = logging.getLogger("qjobs.ledger")


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


def require_async_client(client: object, who: str, sync_who: str) -> None:
    """TypeError at once unless ``client`` is an async provider client (from qjobs.connect).

    A ``qjobs_sync`` client lives on the sync facade's own event loop: driving it from another
    loop would wait forever, so the message names what to pass instead.
    """
    if isinstance(client, ProviderClient):
        return
    name = type(client).__name__
    if type(client).__module__.partition(".")[0] == "qjobs_sync":
        raise TypeError(
            f"{who} needs an async client from qjobs.connect(...); got a qjobs_sync client "
            f"({name}): use {sync_who} with it, or a client from qjobs.connect(...)"
        )
    raise TypeError(f"{who} needs an async provider client from qjobs.connect(...); got {name}")


def _fewest(batch_size: int | None, most: int | None) -> int | None:
    """Circuits per job in a group: the smaller bound, at least 1; None when neither bounds it."""
    if most is None:
        return batch_size
    most = max(1, most)
    return most if batch_size is None else min(batch_size, most)


def _check_job_options(backend: Any, job_options: dict[str, Any]) -> None:
    if backend is not None and not isinstance(backend, str):
        raise InputError("backend", backend, "expected a string")
    for bad in ("key", "name"):
        if bad in job_options:
            raise InputError(bad, job_options[bad], "is set by the scheduler")


class Scheduler:
    """Run many circuits on one provider client with batching, limits, polling and a ledger.

    Use as ``async with Scheduler(client, backend=..., shots=...) as sched``; ``submit`` returns a
    :class:`JobFuture` at once. Defaults come from ``client.capabilities``: ``max_in_flight``
    bounds provider jobs submitted and not final (a batch job counts once), ``batch_size`` the
    circuits packed into one job (1 turns batching off; by default, and at most, what one job on
    the circuit's backend carries: ``client.max_circuits_for(backend)``, or when that is None as
    many as fit ``capabilities.max_payload_bytes``), ``poll_*`` shape each job's polling backoff.
    ``ledger`` names a SQLite file, or a PostgreSQL database by its ``postgresql://`` URL
    (``pip install 'qjobs[postgres]'``), journaling every circuit so that a rerun of the same
    program resumes without losing or repeating work. ``retry_failed`` resubmits a circuit whose
    job the provider confirms FAILED at most that often; ``job_timeout`` fails a circuit whose job
    is not final that many seconds after creation (never resubmitted, not
    cancelled); ``unknown_state_timeout`` fails a circuit whose job's state cannot be learned that
    long. A job the provider lost (404 on ``capabilities.lost_reads`` reads) fails its circuits with
    :class:`~qjobs.JobLostError`; ``resubmit_lost=True`` resubmits them once in a new job instead.
    ``cancel_timeout`` bounds cancellation at exit. ``on_progress`` is called with a
    :class:`Progress` snapshot after every event and each time a request starts waiting to be
    retried (see ``Progress.retrying``). ``progress`` draws those snapshots: ``True`` a live bar
    (a widget in Jupyter; needs the ``progress`` extra), ``"auto"`` the same only where someone
    watches (a Jupyter kernel or a terminal on stderr, not CI), ``False`` (the default: a
    scheduler is a building block) nothing; see :mod:`qjobs.scheduler._display`. Extra keyword
    arguments are job options passed to ``client.submit`` for every job.
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
        resubmit_lost: bool = False,
        job_timeout: float | None = None,
        unknown_state_timeout: float = 600.0,
        on_event: Callable[[SchedulerEvent], None] | None = None,
        cancel_timeout: float = 30.0,
        on_progress: Callable[[Progress], None] | None = None,
        progress: bool | Literal["auto"] = False,
        **job_options: Any,
    ) -> None:
        require_async_client(client, "qjobs.Scheduler", "qjobs_sync.Scheduler")
        self._display = _display_for(progress, client)
        if self._display is not None:
            on_progress = _both(self._display.update, on_progress)
        caps = client.capabilities
        _positive("shots", shots, integer=True)
        _positive("max_in_flight", max_in_flight, integer=True)
        _positive("batch_size", batch_size, integer=True)
        for name, value in (
            ("poll_initial", poll_initial),
            ("poll_max", poll_max),
            ("job_timeout", job_timeout),
        ):
            seconds_or_none(name, value)
        seconds("unknown_state_timeout", unknown_state_timeout)
        seconds("cancel_timeout", cancel_timeout)
        seconds("batch_linger", batch_linger, zero=True)
        if poll_factor is not None:
            factor("poll_factor", poll_factor)
        if not is_int(retry_failed, low=0):
            raise InputError("retry_failed", retry_failed, "expected an integer >= 0")
        if not isinstance(resubmit_lost, bool):
            raise InputError("resubmit_lost", resubmit_lost, "expected True or False")
        most = client.max_circuits_for(backend)
        if batch_size is not None and most is not None and batch_size > most:
            raise InputError(
                "batch_size", batch_size, f"the provider takes at most {most} circuits per job"
            )
        _check_job_options(backend, job_options)

        provider = getattr(client, "provider", type(client).__name__)
        backoff = Backoff(
            poll_initial or caps.poll_initial,
            poll_max or caps.poll_max,
            poll_factor or caps.poll_factor,
        )
        options = dict(job_options)
        self._cfg = Settings(
            client=client,
            caps=caps,
            provider=provider,
            backend=backend,
            shots=shots,
            max_in_flight=max_in_flight or caps.max_in_flight_jobs,
            batch_size=batch_size or caps.max_circuits_per_job,
            payload_limit=int(caps.max_payload_bytes * 0.8),
            linger=float(batch_linger),
            backoff=backoff,
            coalesce=min(backoff.initial, 1.0) * 0.5,
            status_chunk=max(1, caps.status_batch_size),
            workers=caps.max_concurrent_requests or UNCAPPED_WORKERS,
            retry_failed=retry_failed,
            resubmit_lost=resubmit_lost,
            lost_reads=max(1, caps.lost_reads),
            lost_delay=max(0.0, caps.lost_read_delay),
            target=target_id(provider, client.endpoint),
            job_timeout=job_timeout,
            unknown_timeout=float(unknown_state_timeout),
            cancel_timeout=float(cancel_timeout),
            on_event=on_event,
            on_progress=on_progress,
            options=options,
            options_json=options_json(options),
        )
        # The one shared object, and the steps working on it (each holds a reference to it).
        self._shared = shared = SchedulerState(
            self._cfg, _open_ledger(ledger, (provider, client.endpoint))
        )
        self._book = book = Bookkeeper(shared)
        self._batcher = Batcher(shared)
        self._tracker = tracker = Tracker(shared, book)
        self._poller = Poller(shared, tracker)
        self._fetcher = Fetcher(shared, book, tracker)
        self._canceller = canceller = Canceller(shared, book)
        self._resumer = resumer = Resumer(shared, book, tracker)
        self._submitter = Submitter(shared, book, tracker, resumer, canceller)
        # The lifecycle (the Scheduler's own).
        self._entered = False
        self._runner_done = anyio.Event()
        self._workers_scope: anyio.CancelScope | None = None
        self._tg: Any = None
        self._unlisten: Callable[[], None] | None = None

    def __repr__(self) -> str:
        p = self._book.progress()
        return (
            f"<Scheduler {self._cfg.provider} total={p.total} done={p.done} "
            f"in_flight={p.jobs_in_flight}>"
        )

    # ================================================================== lifecycle
    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a Scheduler can be entered only once")
        self._entered = True
        if self._shared.ledger is not None:
            self._shared.rows, self._shared.lbatches = await self._shared.ledger.open()
            _log_ledger_opened(self._shared.ledger.path, self._shared)
        cfg = self._cfg
        log.info(
            "scheduler on %s started: backend %s, max_in_flight %d, batch_size %s, ledger %s",
            cfg.provider,
            cfg.backend,
            cfg.max_in_flight,
            cfg.batch_size,
            "none" if self._shared.ledger is None else self._shared.ledger.path,
        )
        sh = self._shared
        sh.submit_tx, sh.submit_rx = anyio.create_memory_object_stream[Batch](sys.maxsize)
        sh.poll_tx, sh.poll_rx = anyio.create_memory_object_stream[list[Batch]](sys.maxsize)
        sh.fetch_tx, sh.fetch_rx = anyio.create_memory_object_stream[tuple[Batch, Job]](sys.maxsize)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        try:
            if self._display is not None:
                self._display.start()
            await self._tg.start(self._run)
        except BaseException:
            self._close_display()
            self._tg.cancel_scope.cancel()
            await self._exit_task_group()
            if self._shared.ledger is not None:
                with anyio.CancelScope(shield=True):
                    await self._shared.ledger.close()  # releases the ledger's lock
            raise
        listen = getattr(getattr(self._cfg.client, "transport", None), "add_retry_listener", None)
        if listen is not None:
            self._unlisten = listen(self._book.on_transport_retry)
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
            self._shared.closing = True
            with anyio.CancelScope(shield=True):
                await self._stop_workers()
                self._close_display()
                self._log_summary()
                if self._shared.ledger is not None:
                    await self._shared.ledger.close()
            await self._exit_task_group()

    def _log_summary(self) -> None:
        p = self._book.progress()
        log.info(
            "scheduler on %s done: %d circuit(s): %d completed (%d from the ledger), %d failed, "
            "%d cancelled; %d job(s), %d retries",
            self._cfg.provider,
            p.total,
            p.completed,
            p.from_ledger,
            p.failed,
            p.cancelled,
            p.jobs_submitted,
            p.retries,
        )

    def _close_display(self) -> None:
        """Draw the last state and stop the progress display (if any)."""
        display, self._display = self._display, None
        if display is not None:
            display.update(self._book.progress())
            display.close()

    async def _exit_task_group(self) -> None:
        """Leave the runner's task group; a task's error is raised as itself, not in a group."""
        try:
            await self._tg.__aexit__(None, None, None)
        except BaseExceptionGroup as group:
            raise collapse(group) from None
        finally:
            if self._unlisten is not None:
                self._unlisten()

    async def _run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            with anyio.CancelScope() as scope:
                self._workers_scope = scope
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._batcher.run)
                    tg.start_soon(self._poller.run)
                    for _ in range(self._cfg.workers):
                        tg.start_soon(self._submitter.submit_worker)
                        tg.start_soon(self._poller.worker)
                        tg.start_soon(self._fetcher.fetch_worker)
                    if self._shared.ledger is not None:
                        tg.start_soon(self._resumer.ledger_flusher)
                    if self._display is not None:
                        tg.start_soon(self._display.run)
                    task_status.started()
        finally:
            self._runner_done.set()

    async def _stop_workers(self) -> None:
        if self._workers_scope is not None:
            self._workers_scope.cancel()
            await self._runner_done.wait()

    async def _abort(self) -> None:
        self._shared.closing = True
        with anyio.CancelScope(shield=True):
            await self._stop_workers()
            if not self._shared.keep_jobs:
                await self._canceller.cancel_all()

    async def _wait_all(self) -> None:
        with self._book.watching() as w:
            while self._shared.unfinished > 0:
                await w.wait()
                w.queue.clear()

    # ================================================================== public API
    def submit(
        self, circuit: CircuitLike, *, shots: int | None = None, **job_options: Any
    ) -> JobFuture:
        """Queue one circuit and return its :class:`JobFuture` at once.

        ``circuit`` is a :class:`~qjobs.Circuit`, OpenQASM text or a Qiskit, Cirq, Qibo or Braket
        circuit (converted here, see :func:`qjobs.circuit.as_circuit`). Input is validated here (an
        :class:`~qjobs.InputError` names the bad field). Job options given here are merged over the
        scheduler's; ``backend=`` may also be given per circuit. Circuits with equal shots, backend
        and options may share a provider job.
        """
        return self._submit(circuit, shots, job_options, None)

    def _submit(
        self,
        circuit: CircuitLike,
        shots: int | None,
        job_options: dict[str, Any],
        key_index: int | None,
    ) -> JobFuture:
        """:meth:`submit`; ``key_index`` (a campaign's point index) replaces the submission index
        in the circuit's key, so that workers sharing a campaign compute the same keys."""
        if not self._entered or self._shared.closing:
            raise RuntimeError("the Scheduler is not running (use it as 'async with', not after)")
        circuit, group = self._group_of(circuit, shots, job_options)
        index = len(self._shared.records)
        key = self._key(circuit, group, index if key_index is None else key_index)
        rec = CircuitRecord(index, key, group, circuit)
        fut = rec.future = JobFuture(self._canceller, rec)
        self._shared.records.append(rec)
        self._shared.unfinished += 1
        self._shared.counts[FutureState.PENDING] += 1
        self._shared.draining = False
        if self._shared.rows is not None and self._resumer.resume(rec, circuit):
            return fut
        self._book.enqueue(rec, circuit)
        return fut

    def _group_of(
        self, circuit: CircuitLike, shots: int | None, job_options: dict[str, Any]
    ) -> tuple[Circuit, Group]:
        """The checked circuit and the group of jobs it joins (by shots, backend and options)."""
        circuit = as_circuit(circuit, field="circuit")
        if not circuit.is_bound:
            raise InputError("circuit", circuit.parameters, "has unbound parameters")
        s = self._cfg.shots if shots is None else shots
        _positive("shots", s, integer=True, allow_none=False)
        assert s is not None
        backend = self._cfg.backend
        if job_options:
            backend = job_options.pop("backend", backend)
            _check_job_options(backend, job_options)
        if job_options:
            opts = {**self._cfg.options, **job_options}
            oj = options_json(opts)
        else:
            opts, oj = self._cfg.options, self._cfg.options_json
        gkey = (s, backend, oj)
        group = self._shared.groups.get(gkey)
        if group is None:
            size = _fewest(self._cfg.batch_size, self._cfg.client.max_circuits_for(backend))
            group = self._shared.groups[gkey] = Group(s, backend, opts, oj, size)
        return circuit, group

    def _key(self, circuit: Circuit, group: Group, index: int) -> str:
        return circuit_key(
            circuit,
            shots=group.shots,
            backend=group.backend,
            options=group.options_json,
            index=index,
            target=self._cfg.target,
        )

    def as_completed(self) -> AsyncIterator[JobFuture]:
        """Yield futures as they finish (those already done first), until all are done.

        Covers futures submitted before and during the iteration; it ends when every future
        submitted so far is done.
        """
        return self._as_completed()

    async def _as_completed(self) -> AsyncIterator[JobFuture]:
        with self._book.watching() as w:
            for f in [r.future for r in self._shared.records if r.done()]:
                yield f
            while True:
                while w.queue:
                    yield w.queue.popleft()
                if self._shared.unfinished == 0:
                    break
                await w.wait()

    async def gather(self, *, return_exceptions: bool = False) -> list[Result]:
        """Wait for every submitted circuit and return the results in submission order.

        The first failure is raised as soon as it is seen unless ``return_exceptions`` is true, in
        which case errors take the place of results in the list.
        """
        with self._book.watching() as w:
            if not return_exceptions:
                for r in self._shared.records:
                    if (exc := r.exception) is not None:
                        raise exc
            while self._shared.unfinished > 0:
                await w.wait()
                while w.queue:
                    f = w.queue.popleft()
                    if not return_exceptions and (exc := f.exception()) is not None:
                        raise exc
        return [r.outcome() for r in self._shared.records]  # type: ignore[misc]

    async def cancel(self) -> CancelReport:
        """Cancel every unfinished job at the provider and every pending circuit; stop.

        Bounded by ``cancel_timeout`` and shielded from cancellation. Returns (and logs) what was
        cancelled. The scheduler accepts no submissions afterwards.
        """
        self._shared.closing = True
        with anyio.CancelScope(shield=True):
            await self._stop_workers()
            report = await self._canceller.cancel_all()
        return report

    def progress(self) -> Progress:
        """A snapshot of the counts per state and of the retries in progress."""
        return self._book.progress()

    @property
    def futures(self) -> list[JobFuture]:
        """Every future submitted so far, in submission order (a copy)."""
        return [r.future for r in self._shared.records]


def _log_ledger_opened(path: str, shared: SchedulerState) -> None:
    """Say what the ledger held when it opened (what a rerun resumes)."""
    rows = shared.rows or {}
    results = sum(1 for row in rows.values() if row.result is not None)
    jobs = sum(1 for b in shared.lbatches.values() if b.job_id is not None)
    ledger_log.info(
        "ledger %s opened: %d circuit(s) recorded, %d with results; %d job(s)",
        path,
        len(rows),
        results,
        jobs,
    )


def _display_for(progress: Any, client: ProviderClient) -> ProgressDisplay | None:
    """The display ``progress`` asks for (its module is loaded only when one may be drawn)."""
    if progress is False:
        return None
    from qjobs.scheduler._display import choose_display

    transport = getattr(client, "transport", None)
    return choose_display(progress, total=None, stats=getattr(transport, "stats", None))


def _both(
    first: Callable[[Progress], None], second: Callable[[Progress], None] | None
) -> Callable[[Progress], None]:
    """``first``, then ``second`` (when given), with each snapshot."""
    if second is None:
        return first

    def both(snapshot: Progress) -> None:
        first(snapshot)
        second(snapshot)

    return both


def _open_ledger(
    ledger: str | os.PathLike[str] | Ledger | None, target: tuple[str, str]
) -> Ledger | None:
    """The ledger named by ``ledger``, recording ``target`` (provider, endpoint) for its jobs.

    The backends are imported on use: a run without a ledger never loads one.
    """
    if ledger is None:
        return None
    from qjobs.scheduler._ledger_backend import open_ledger

    return open_ledger(ledger, target)


# ---------------------------------------------------------------------- for campaign workers
def with_ledger(sched: Scheduler, ledger: Ledger) -> Scheduler:
    """``sched`` (not entered yet) journaling in ``ledger``, a ledger object built by the caller
    (a campaign worker's shard ledger, fenced by its lease)."""
    if sched._entered:
        raise RuntimeError("the ledger of a running Scheduler cannot change")
    sched._shared.ledger = ledger
    return sched


def keep_jobs(sched: Scheduler) -> None:
    """From now on, an error stops ``sched`` without cancelling its jobs at the provider."""
    sched._shared.keep_jobs = True


def submit_at(sched: Scheduler, circuit: CircuitLike, *, index: int) -> JobFuture:
    """:meth:`Scheduler.submit` keyed by ``index``, the circuit's place in a whole campaign."""
    return sched._submit(circuit, None, {}, index)


def key_at(sched: Scheduler, circuit: CircuitLike, *, index: int) -> str:
    """The key :func:`submit_at` gives ``circuit`` at ``index`` (nothing is submitted)."""
    checked, group = sched._group_of(circuit, None, {})
    return sched._key(checked, group, index)
