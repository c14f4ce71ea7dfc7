"""Resuming from the ledger: results read back, jobs re-attached, intents looked up by key.

A job recorded as lost is never polled again: its circuits fail at once with
:class:`~qjobs.JobLostError`, or with ``resubmit_lost`` are submitted again after their first
loss only (losses are counted per circuit in the ledger, across runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from qjobs._core.errors import JobError
from qjobs._core.models import JobStatus
from qjobs.circuit._ir import Circuit
from qjobs.scheduler._batches import Batch
from qjobs.scheduler._circuits import CircuitRecord
from qjobs.scheduler._ledger_records import (
    ABSENT,
    LOST,
    REJECTED,
    LedgerBatch,
    unpack_result,
)
from qjobs.scheduler._loop import loop_time
from qjobs.scheduler._states import BatchState, FutureState, move

if TYPE_CHECKING:
    from qjobs.scheduler._bookkeeping import Bookkeeper
    from qjobs.scheduler._shared import SchedulerState
    from qjobs.scheduler._tracking import Tracker

_LEDGER_FLUSH_INTERVAL = 0.2
#: Recorded job statuses after which the job's circuits are submitted again.
_FINAL_LEDGER = frozenset({JobStatus.FAILED.value, JobStatus.CANCELLED.value, ABSENT, REJECTED})


class Resumer:
    """Attaching newly submitted circuits to what the ledger recorded for them."""

    __slots__ = ("book", "cfg", "shared", "tracker")

    def __init__(self, shared: SchedulerState, book: Bookkeeper, tracker: Tracker) -> None:
        self.shared = shared
        self.cfg = shared.settings
        self.book = book
        self.tracker = tracker

    def resume(self, r: CircuitRecord, circuit: Circuit) -> bool:
        """Attach a circuit to what the ledger knows about it; False when it must be submitted."""
        assert self.shared.rows is not None
        row = self.shared.rows.get(r.key)
        if row is None:
            return False
        if row.result is not None:
            self.shared.from_ledger += 1
            self.book.finish(r, unpack_result(row.result), None, from_ledger=True)
            return True
        r.gen = row.gen
        if row.losses > self.shared.losses.get(r.key, 0):  # this run may have counted more already
            self.shared.losses[r.key] = row.losses
        lb = self.shared.lbatches.get(row.batch) if row.batch is not None else None
        if lb is not None and lb.status == LOST:
            return self._resume_lost(r, lb)
        if lb is None or row.pos is None or lb.status in _FINAL_LEDGER or row.pos >= lb.size:
            return False
        b = self.shared.attached.get(lb.key)
        if b is None:
            b = Batch(
                lb.key,
                max(row.gen - 1, 0),
                r.group,
                [None] * lb.size,
                list(lb.members),
                [None] * lb.size,
                state=BatchState.LOOKUP if lb.job_id is None else BatchState.TRACKED,
            )
            self.shared.attached[lb.key] = b
            self.shared.in_flight += 1
            self.shared.live.add(b)
            if lb.job_id is None:
                b.posted = True
                self.shared.submit_tx.send_nowait(b)
            else:
                try:
                    status = JobStatus(lb.status)
                except ValueError:
                    status = JobStatus.UNKNOWN
                now = loop_time()
                self.tracker.track(b, lb.job_id, status, now)
                self.tracker.schedule(b, now, 0.0)
        elif b.state is BatchState.DONE:
            return False
        b.members[row.pos] = r
        b.circuits[row.pos] = circuit
        r.batch = b
        r.circuit = None
        if b.job_id is not None:
            self.book.move_circuit(
                r, FutureState.RUNNING if b.status is JobStatus.RUNNING else FutureState.SUBMITTED
            )
            self.book.emit("submitted", r)
        return True

    def _resume_lost(self, r: CircuitRecord, lb: LedgerBatch) -> bool:
        """The ledger records ``f``'s job as lost: resubmit once (False) or fail it (True)."""
        why = "the ledger records that the provider lost it (404 on every read)"
        if self.tracker.resubmit_after_loss(r, why):
            return False
        self.book.finish(r, None, self.tracker.lost_error(r, lb.job_id, why))
        return True

    async def resume_lookup(self, b: Batch) -> None:
        """A ledger intent without job id: find the job by key before anything is resubmitted."""
        move(b, BatchState.SUBMITTING)
        try:
            job = await self.tracker.lookup(b)
        except JobError as exc:
            self.book.fail_batch(b, exc)
            return
        if b.state is not BatchState.SUBMITTING:
            return
        if job is not None:
            self.tracker.attach(b, job)
            return
        lb = self.shared.lbatches.get(b.key)
        if lb is not None:
            lb.status = ABSENT
        if self.shared.ledger is not None:
            self.shared.ledger.status(b.key, ABSENT)
        for r, circ in self.book.take_live(b):
            assert circ is not None
            self.book.enqueue(r, circ, front=True)

    async def ledger_flusher(self) -> None:
        """Commit the ledger's buffered writes every ``_LEDGER_FLUSH_INTERVAL`` seconds."""
        ledger = self.shared.ledger
        assert ledger is not None
        while True:
            await anyio.sleep(_LEDGER_FLUSH_INTERVAL)
            if ledger.dirty:
                await ledger.flush()
