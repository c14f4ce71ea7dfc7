"""Tracking provider jobs: what each observation of a job means.

A job is tracked from its creation (or re-attachment) until it is final; the
:class:`~qjobs.scheduler._polling.Poller` reports what each poll learned. Observations move
circuits (submitted, running), reschedule the job with backoff, or hand a final job to the fetch
workers; failures are retried or reported.

A job qjobs created that the provider answers 404 for is suspect: it is read again on its own
(``get_job``), ``capabilities.lost_reads`` times in all, spaced by ``lost_read_delay`` seconds
doubling; when every read answers 404 the job is lost (:class:`~qjobs.JobLostError`, or one
resubmission with ``resubmit_lost``). A job missing from a list answer is not a 404: it is read
on its own first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from qjobs._core.errors import (
    ConnectError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobLostError,
    JobTimeoutError,
)
from qjobs._core.models import Job, JobStatus
from qjobs.scheduler._batches import Batch
from qjobs.scheduler._circuits import CircuitRecord
from qjobs.scheduler._ledger_records import LOST
from qjobs.scheduler._loop import loop_time
from qjobs.scheduler._states import BatchState, FutureState, move

if TYPE_CHECKING:
    from qjobs.scheduler._bookkeeping import Bookkeeper
    from qjobs.scheduler._shared import SchedulerState

log = logging.getLogger("qjobs.scheduler")


class Tracker:
    """What the scheduler does with what polls learn: moves, reschedules, finals, losses."""

    __slots__ = ("book", "cfg", "shared")

    def __init__(self, shared: SchedulerState, book: Bookkeeper) -> None:
        self.shared = shared
        self.cfg = shared.settings
        self.book = book

    def timed_out(self, b: Batch) -> None:
        """``b``'s job is not final at its ``job_timeout``: fail its circuits (not cancelled)."""
        log.warning(
            "%s job %s not final after job_timeout=%s s; its circuits fail (not cancelled)",
            self.cfg.provider,
            b.job_id,
            self.cfg.job_timeout,
        )
        self.book.fail_batch(
            b,
            JobTimeoutError(
                f"{self.cfg.provider} job {b.job_id} not final after {self.cfg.job_timeout} s "
                f"(still {b.provider_status or b.status}); not cancelled, not resubmitted",
                job_id=b.job_id,
                provider=self.cfg.provider,
            ),
        )

    def not_found(self, b: Batch, now: float) -> None:
        """A poll of ``b``'s job answered 404: read it again later, or give it up as lost."""
        if b.state is not BatchState.TRACKED:
            return
        reads = self.shared.suspects.get(b, 0) + 1
        if reads >= self.cfg.lost_reads:
            self.lost(b, reads, "reads")
            return
        self.shared.suspects[b] = reads
        self.schedule(b, now, self.cfg.lost_delay * 2 ** (reads - 1))

    def lost(self, b: Batch, reads: int, what: str) -> None:
        """``b``'s job is gone at the provider: record it, resubmit or fail its circuits."""
        self.shared.suspects.pop(b, None)
        log.warning(
            "%s job %s is lost: %d %s answered 404", self.cfg.provider, b.job_id, reads, what
        )
        lb = self.shared.lbatches.get(b.key)
        if lb is not None:
            lb.status = LOST
        members = [k for k in b.member_keys if k is not None]
        for k in members:
            self.shared.losses[k] = self.shared.losses.get(k, 0) + 1
        if self.shared.ledger is not None:
            self.shared.ledger.lost(b.key, members, f"404 on {reads} {what}")
        why = (
            f"the provider answered 404 on {reads} {what} of the job it had created "
            "(deleted, or lost in a provider restart)"
        )
        for r, circ in self.book.take_live(b):
            if circ is not None and self.resubmit_after_loss(r, why):
                self.book.enqueue(r, circ, front=True)
            else:
                self.book.finish(r, None, self.lost_error(r, b.job_id, why))

    def resubmit_after_loss(self, r: CircuitRecord, why: str) -> bool:
        """With ``resubmit_lost``, True (and ``f`` back to pending) after its first loss only."""
        if not self.cfg.resubmit_lost or self.shared.losses.get(r.key, 0) > 1:
            return False
        self.shared.retried += 1
        self.book.move_circuit(r, FutureState.PENDING)
        self.book.emit("retried", r, f"job lost: {why}")
        return True

    def lost_error(self, r: CircuitRecord, job_id: str | None, why: str) -> JobLostError:
        """The :class:`~qjobs.JobLostError` of a circuit of a lost job, saying what happens next."""
        if self.shared.losses.get(r.key, 0) > 1:
            hint = "its circuits were resubmitted once already and are not resubmitted again"
        elif self.cfg.resubmit_lost:
            hint = "it was not resubmitted"
        else:
            hint = "pass resubmit_lost=True to resubmit its circuits once"
        return JobLostError(
            f"{self.cfg.provider} job {job_id} is lost: {why}; {hint}",
            job_id=job_id,
            provider=self.cfg.provider,
        )

    def schedule(self, b: Batch, now: float, delay: float | None = None) -> None:
        """Put ``b`` on the poll heap after its jittered interval (or ``delay``), by deadline."""
        due = now + (self.cfg.backoff.delay(b.interval) if delay is None else delay)
        if b.deadline is not None and due > b.deadline:
            due = b.deadline
        if self.shared.heap.push(due, b):
            self.shared.poll_wake.set()

    def track(self, b: Batch, job_id: str, status: JobStatus, now: float) -> None:
        """Start tracking ``b`` as provider job ``job_id`` (its clocks start ``now``)."""
        b.job_id = job_id
        b.status = status
        b.last_seen = now
        b.interval = self.cfg.backoff.initial
        if self.cfg.job_timeout is not None:
            b.deadline = now + self.cfg.job_timeout

    def attach(self, b: Batch, job: Job) -> None:
        """The job of ``b`` exists at the provider: record it and start polling it."""
        now = loop_time()
        move(b, BatchState.TRACKED)
        self.track(b, job.id, job.status, now)
        b.provider_status = job.provider_status
        self.shared.jobs_submitted += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s job %s submitted: %d circuit(s), %s",
                self.cfg.provider,
                job.id,
                len(b.members),
                job.provider_status or job.status.value,
            )
        if self.shared.ledger is not None:
            self.shared.ledger.job(b.key, job.id, job.status.value)
        state = FutureState.RUNNING if job.status is JobStatus.RUNNING else FutureState.SUBMITTED
        for r in b.members:
            if r is not None and not r.done():
                self.book.move_circuit(r, state)
                self.book.emit("submitted", r)
        if job.is_final:
            self._on_final(b, job)
        else:
            self.schedule(b, now)

    def observe(self, b: Batch, job: Job, now: float) -> None:
        """A poll learned the state of ``b``'s job."""
        if b.state is not BatchState.TRACKED:
            return
        if self.shared.suspects:
            self.shared.suspects.pop(b, None)
        if job.status is JobStatus.UNKNOWN:
            self.unlearned(b, now, f"status {job.provider_status!r} not understood")
            return
        b.last_seen = now
        if job.status is not b.status or job.provider_status != b.provider_status:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s job %s: %s -> %s",
                    self.cfg.provider,
                    b.job_id,
                    b.provider_status or b.status,
                    job.provider_status or job.status.value,
                )
            b.status = job.status
            b.provider_status = job.provider_status
            b.interval = self.cfg.backoff.initial
            if self.shared.ledger is not None:
                self.shared.ledger.status(b.key, job.status.value)
            if job.status is JobStatus.RUNNING:
                for r in b.members:
                    if r is not None and r.state is FutureState.SUBMITTED:
                        self.book.move_circuit(r, FutureState.RUNNING)
                        self.book.emit("running", r)
        else:
            b.interval = self.cfg.backoff.grow(b.interval)
        if job.is_final:
            self._on_final(b, job)
        else:
            self.schedule(b, now)

    def unlearned(self, b: Batch, now: float, reason: str) -> None:
        """A poll could not learn the state of ``b``'s job."""
        if b.state is not BatchState.TRACKED:
            return
        if now - b.last_seen >= self.cfg.unknown_timeout:
            log.warning(
                "%s job %s: state not learned for %.0f s (%s); its circuits fail",
                self.cfg.provider,
                b.job_id,
                now - b.last_seen,
                reason,
            )
            self.book.fail_batch(
                b,
                JobError(
                    f"the state of {self.cfg.provider} job {b.job_id} could not be learned for "
                    f"{now - b.last_seen:.0f} s ({reason}); it was not resubmitted",
                    job_id=b.job_id,
                    provider=self.cfg.provider,
                ),
            )
            return
        b.interval = self.cfg.backoff.grow(b.interval)
        self.schedule(b, now)

    async def lookup(self, b: Batch) -> Job | None:
        """``find_by_key`` for ``b``, retried; :class:`JobError` after ``unknown_state_timeout``.

        A :class:`ConnectError` (the transport already retried it per its policy) is raised as
        is: the endpoint cannot be reached, and waiting longer would hang.
        """
        start = loop_time()
        delay = 0.05
        while True:
            try:
                return await self.cfg.client.find_by_key(b.key)
            except ConnectError:
                raise
            except Exception as exc:
                waited = loop_time() - start
                if waited >= self.cfg.unknown_timeout:
                    raise JobError(
                        f"could not learn whether {self.cfg.provider} job with key {b.key} was "
                        f"created ({exc}) for {waited:.0f} s; it was not resubmitted",
                        job_id=None,
                        provider=self.cfg.provider,
                    ) from exc
                await anyio.sleep(delay)
                delay = min(delay * 2, self.cfg.backoff.maximum)

    def _on_final(self, b: Batch, job: Job) -> None:
        """A poll saw ``b``'s job final: fetch its results, confirm or report its end."""
        move(b, BatchState.FETCHING)
        self.fetch_final(b, job)

    def fetch_final(self, b: Batch, job: Job) -> None:
        """``b`` is FETCHING and its job is final: hand it to the fetch workers or finish it."""
        if job.status is JobStatus.COMPLETED:
            self.shared.fetch_tx.send_nowait((b, job))
        elif job.status is JobStatus.FAILED:
            if self.cfg.retry_failed and any(
                r.retries < self.cfg.retry_failed for r in b.live_members()
            ):
                self.shared.fetch_tx.send_nowait((b, job))  # confirm the failure, then resubmit
            else:
                self.failed(b, job)
        else:
            log.warning("%s job %s was cancelled at the provider", self.cfg.provider, job.id)
            if self.shared.ledger is not None:
                self.shared.ledger.status(b.key, job.status.value)
            self.book.fail_batch(
                b,
                JobCancelledError(
                    f"{self.cfg.provider} job {job.id} was cancelled at the provider",
                    job_id=job.id,
                    provider=self.cfg.provider,
                ),
            )

    def failed(self, b: Batch, job: Job) -> None:
        """``b``'s job is confirmed FAILED: retry the circuits allowed to, fail the others."""
        err = JobFailedError.from_job(job, self.cfg.provider)
        if self.shared.ledger is not None:
            self.shared.ledger.status(b.key, JobStatus.FAILED.value, err.message)
        retried = failed = 0
        for r, circ in self.book.take_live(b):
            if circ is not None and r.retries < self.cfg.retry_failed:
                r.retries += 1
                self.shared.retried += 1
                retried += 1
                self.book.move_circuit(r, FutureState.PENDING)
                self.book.emit("retried", r, err.message)
                self.book.enqueue(r, circ, front=True)
            else:
                failed += 1
                self.book.finish(r, None, err)
        log.warning(
            "%s job %s failed (%s): %d circuit(s) resubmitted, %d failed",
            self.cfg.provider,
            job.id,
            err.message,
            retried,
            failed,
        )
