"""Per-circuit and per-job bookkeeping: the elementary moves every part of the scheduler uses.

:class:`Bookkeeper` works on the shared :class:`~qjobs.scheduler._shared.SchedulerState`: a
circuit moves state, finishes, is queued for batching; a job is released (its in-flight slot
freed) or fails as a whole; progress snapshots are taken and reported.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

import anyio

from qjobs._core.models import Result
from qjobs.circuit._ir import Circuit
from qjobs.scheduler._batches import Batch
from qjobs.scheduler._circuits import CircuitRecord
from qjobs.scheduler._events import EventKind, Progress, SchedulerEvent
from qjobs.scheduler._future import JobFuture
from qjobs.scheduler._loop import loop_time
from qjobs.scheduler._states import FINAL_FUTURE, BatchState, FutureState, move
from qjobs.transport import RetryWait

if TYPE_CHECKING:
    from qjobs.scheduler._shared import SchedulerState

    pass

log = logging.getLogger("qjobs.scheduler")

_FINAL_KINDS: dict[FutureState, EventKind] = {
    FutureState.COMPLETED: "completed",
    FutureState.FAILED: "failed",
    FutureState.CANCELLED: "cancelled",
}


class Watcher:
    """Receives every future as it finishes (for gather, as_completed and exit)."""

    __slots__ = ("event", "queue")

    def __init__(self) -> None:
        self.queue: deque[JobFuture] = deque()
        self.event = anyio.Event()

    def push(self, fut: JobFuture) -> None:
        """Hand over a finished future."""
        self.queue.append(fut)
        self.event.set()

    async def wait(self) -> None:
        """Wait until a future was pushed since the last wait."""
        await self.event.wait()
        self.event = anyio.Event()


class Bookkeeper:
    """The elementary moves every other step goes through, on the shared scheduler state.

    A circuit moves state, finishes (waking watchers, emitting its event) or is queued for
    batching; a job is released (its in-flight slot freed) or fails as a whole; progress is
    reported.
    """

    __slots__ = ("cfg", "shared")

    def __init__(self, shared: SchedulerState) -> None:
        self.shared = shared
        self.cfg = shared.settings

    @contextlib.contextmanager
    def watching(self) -> Iterator[Watcher]:
        """Someone waits for results: send partial batches now, report every finished future."""
        self.shared.draining = True
        self.shared.batch_wake.set()
        w = Watcher()
        self.shared.watchers.append(w)
        try:
            yield w
        finally:
            self.shared.watchers.remove(w)

    def emit(
        self, kind: EventKind, r: CircuitRecord, error: str | None = None, ledger: bool = False
    ) -> None:
        """Report one circuit's event to ``on_event``, then its progress to ``on_progress``."""
        on_event, on_progress = self.cfg.on_event, self.cfg.on_progress
        if on_event is None and on_progress is None:
            return
        try:
            try:
                if on_event is not None:
                    on_event(SchedulerEvent(kind, r.index, r.job_id, r.key, error, ledger))
            finally:
                if on_progress is not None:
                    self.progress_changed()
        except Exception:
            log.exception("on_event callback failed")

    def move_circuit(self, r: CircuitRecord, state: FutureState) -> None:
        """Move an unfinished circuit to another unfinished state (counted); no-op otherwise."""
        current = r.state
        if current is not state and current not in FINAL_FUTURE:
            self.shared.counts[r.set_state(state)] -= 1
            self.shared.counts[state] += 1

    def finish(
        self,
        r: CircuitRecord,
        result: Result | None,
        exc: BaseException | None,
        *,
        from_ledger: bool = False,
    ) -> None:
        """Finish a circuit with its result or error: count it, wake watchers, emit its event."""
        if r.done():
            return
        if exc is None:
            assert result is not None
            before = r.set_result(result)
        else:
            before = r.set_exception(exc)
        state = r.state
        self.shared.counts[before] -= 1
        self.shared.counts[state] += 1
        self.shared.unfinished -= 1
        for w in self.shared.watchers:
            w.push(r.future)
        if self.cfg.on_event is not None or self.cfg.on_progress is not None:
            self.emit(_FINAL_KINDS[state], r, None if exc is None else str(exc), from_ledger)

    def enqueue(self, r: CircuitRecord, circuit: Circuit, *, front: bool = False) -> None:
        """Queue a circuit for batching (at the front when it is tried again)."""
        r.circuit = circuit
        r.batch = None
        g = r.group
        if not g.pending:
            g.since = loop_time()
            self.shared.ready[g] = None
        if front:
            g.pending.appendleft(r)
        else:
            g.pending.append(r)
        g.bytes += self.cfg.client.circuit_bytes(circuit)
        self.shared.batch_wake.set()

    def release(self, b: Batch) -> None:
        """The batch is done: free its in-flight slot and forget it."""
        if b.state is not BatchState.DONE:
            move(b, BatchState.DONE)
            self.shared.in_flight -= 1
            self.shared.live.discard(b)
            if self.shared.suspects:
                self.shared.suspects.pop(b, None)
            b.circuits = []
            self.shared.batch_wake.set()

    def take_live(self, b: Batch) -> list[tuple[CircuitRecord, Circuit | None]]:
        """Release ``b`` and return its unfinished members with their circuits (None if gone)."""
        circuits = b.circuits
        live = [
            (r, circuits[pos] if pos < len(circuits) else None)
            for pos, r in enumerate(b.members)
            if r is not None and not r.done()
        ]
        self.release(b)
        return live

    def fail_batch(self, b: Batch, exc: BaseException) -> None:
        """Release ``b`` and fail each of its unfinished circuits with ``exc``."""
        for r, _ in self.take_live(b):
            self.finish(r, None, exc)

    def progress(self) -> Progress:
        """A snapshot of the counts per state and of the retries in progress."""
        c = self.shared.counts
        retrying = getattr(getattr(self.cfg.client, "transport", None), "retrying", None)
        waits = [*(retrying() if retrying is not None else ()), *self._own_retrying()]
        return Progress(
            total=len(self.shared.records),
            pending=c[FutureState.PENDING],
            submitted=c[FutureState.SUBMITTED],
            running=c[FutureState.RUNNING],
            completed=c[FutureState.COMPLETED],
            failed=c[FutureState.FAILED],
            cancelled=c[FutureState.CANCELLED],
            retried=self.shared.retried,
            from_ledger=self.shared.from_ledger,
            jobs_in_flight=self.shared.in_flight,
            jobs_submitted=self.shared.jobs_submitted,
            retries=self.shared.retries,
            retrying=tuple(sorted(waits, key=lambda w: w.next_attempt_in)),
        )

    def progress_changed(self) -> None:
        """Send a progress snapshot to ``on_progress`` (its errors are logged)."""
        cb = self.cfg.on_progress
        if cb is None:
            return
        try:
            cb(self.progress())
        except Exception:
            log.exception("on_progress callback failed")

    def on_transport_retry(self, wait: RetryWait) -> None:
        """The client's transport started waiting to retry a request: count it, report progress."""
        self.shared.retries += 1
        self.progress_changed()

    def _own_retrying(self) -> list[RetryWait]:
        if not self.shared.own_waits:
            return []  # (no clock read: repr() of a sync twin runs outside the event loop)
        now = loop_time()
        return [
            RetryWait(what, error, attempt, most, max(0.0, at - now))
            for what, error, attempt, most, at in list(self.shared.own_waits.values())
        ]
