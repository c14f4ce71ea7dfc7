"""Per-circuit and per-job bookkeeping shared by every part of the scheduler.

:class:`Bookkeeping` holds the scheduler's state (futures, counts, live jobs, watchers, queues)
and the few transitions everything else goes through: a future moves state, finishes, is
queued for batching; a job is released (its in-flight slot freed) or fails as a whole.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from qjobs._core.models import Job, Result
from qjobs.circuit._ir import Circuit
from qjobs.scheduler._batches import Batch, Group
from qjobs.scheduler._circuits import CircuitRecord
from qjobs.scheduler._events import EventKind, SchedulerEvent
from qjobs.scheduler._future import JobFuture
from qjobs.scheduler._keys import payload_estimate
from qjobs.scheduler._ledger import Ledger, LedgerBatch, LedgerRow
from qjobs.scheduler._polling import Backoff, PollQueue
from qjobs.scheduler._states import BatchState, FutureState, move

if TYPE_CHECKING:
    from qjobs.providers._base import Capabilities, ProviderClient

log = logging.getLogger("qjobs.scheduler")

_FINAL_KINDS: dict[FutureState, EventKind] = {
    FutureState.COMPLETED: "completed",
    FutureState.FAILED: "failed",
    FutureState.CANCELLED: "cancelled",
}


class _Watcher:
    """Receives every future as it finishes (for gather, as_completed and exit)."""

    __slots__ = ("event", "queue")

    def __init__(self) -> None:
        self.queue: deque[JobFuture] = deque()
        self.event = anyio.Event()

    def push(self, fut: JobFuture) -> None:
        self.queue.append(fut)
        self.event.set()

    async def wait(self) -> None:
        """Wait until a future was pushed since the last wait."""
        await self.event.wait()
        self.event = anyio.Event()


class Bookkeeping:
    """The scheduler's state and its elementary transitions (base of every scheduler part)."""

    # Configuration, set by Scheduler.__init__.
    _client: ProviderClient
    _caps: Capabilities
    _provider: str
    _backend: str | None
    _shots: int | None
    _max_in_flight: int
    _batch_size: int
    _payload_limit: int
    _linger: float
    _backoff: Backoff
    _coalesce: float
    _status_chunk: int
    _workers: int
    _retry_failed: int
    _resubmit_lost: bool
    _lost_reads: int
    _lost_delay: float
    _target: bytes
    _job_timeout: float | None
    _unknown_timeout: float
    _cancel_timeout: float
    _on_event: Callable[[SchedulerEvent], None] | None
    _options: dict[str, Any]
    _options_json: bytes
    _ledger: Ledger | None

    def __init__(self) -> None:
        self._records: list[CircuitRecord] = []  # every circuit, in submission order
        self._groups: dict[tuple[int, str | None, bytes], Group] = {}
        self._ready: dict[Group, None] = {}
        self._counts = dict.fromkeys(FutureState, 0)
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
        self._suspects: dict[Batch, int] = {}  # jobs answered 404: reads so far
        self._losses: dict[str, int] = {}  # circuit key -> jobs of it the provider lost
        self._batch_wake = anyio.Event()
        self._poll_wake = anyio.Event()
        self._partial_polls = 0  # list requests for fewer than status_batch_size ids on their way
        self._partial_sent = 0.0  # when the last of them was sent
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

    @contextlib.contextmanager
    def _watching(self) -> Iterator[_Watcher]:
        """Someone waits for results: send partial batches now, report every finished future."""
        self._draining = True
        self._batch_wake.set()
        w = _Watcher()
        self._watchers.append(w)
        try:
            yield w
        finally:
            self._watchers.remove(w)

    def _emit(
        self, kind: EventKind, f: CircuitRecord, error: str | None = None, ledger: bool = False
    ) -> None:
        cb = self._on_event
        if cb is None:
            return
        try:
            cb(SchedulerEvent(kind, f.index, f.job_id, f.key, error, ledger))
        except Exception:
            log.exception("on_event callback failed")

    def _move(self, f: CircuitRecord, state: FutureState) -> None:
        r = f
        if not r.state.final and r.state is not state:
            self._counts[r.set_state(state)] -= 1
            self._counts[state] += 1

    def _finish(
        self,
        f: CircuitRecord,
        result: Result | None,
        exc: BaseException | None,
        *,
        from_ledger: bool = False,
    ) -> None:
        r = f
        if r.state.final:
            return
        if exc is None:
            assert result is not None
            before = r.set_result(result)
        else:
            before = r.set_exception(exc)
        state = r.state
        self._counts[before] -= 1
        self._counts[state] += 1
        self._unfinished -= 1
        for w in self._watchers:
            w.push(f.future)
        if self._on_event is not None:
            self._emit(_FINAL_KINDS[state], f, None if exc is None else str(exc), from_ledger)

    def _enqueue(self, f: CircuitRecord, circuit: Circuit, *, front: bool = False) -> None:
        f.circuit = circuit
        f.batch = None
        g = f.group
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
        if b.state is not BatchState.DONE:
            move(b, BatchState.DONE)
            self._in_flight -= 1
            self._live.discard(b)
            if self._suspects:
                self._suspects.pop(b, None)
            b.circuits = []
            self._batch_wake.set()

    def _take_live(self, b: Batch) -> list[tuple[CircuitRecord, Circuit | None]]:
        """Release ``b`` and return its unfinished members with their circuits (None if gone)."""
        circuits = b.circuits
        live = [
            (f, circuits[pos] if pos < len(circuits) else None)
            for pos, f in enumerate(b.members)
            if f is not None and not f.done()
        ]
        self._release(b)
        return live

    def _fail_batch(self, b: Batch, exc: BaseException) -> None:
        for f, _ in self._take_live(b):
            self._finish(f, None, exc)
