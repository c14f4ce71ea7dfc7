"""Cancellation: of one future (and its job when nobody else waits for it), and of everything."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from qjobs._core.errors import JobCancelledError
from qjobs._core.models import JobStatus
from qjobs.scheduler._batches import Batch
from qjobs.scheduler._circuits import CircuitRecord
from qjobs.scheduler._events import CancelReport
from qjobs.scheduler._states import BatchState, move

if TYPE_CHECKING:
    from qjobs.scheduler._bookkeeping import Bookkeeper
    from qjobs.scheduler._shared import SchedulerState

log = logging.getLogger("qjobs.scheduler")


class Canceller:
    """Cancelling futures and their provider jobs, bounded by ``cancel_timeout``."""

    __slots__ = ("book", "cfg", "shared")

    def __init__(self, shared: SchedulerState, book: Bookkeeper) -> None:
        self.shared = shared
        self.cfg = shared.settings
        self.book = book

    def _cancelled_error(self, r: CircuitRecord) -> JobCancelledError:
        job_id = r.job_id
        return JobCancelledError(
            f"circuit #{r.index} was cancelled" + (f" (job {job_id})" if job_id else ""),
            job_id=job_id,
            provider=self.cfg.provider,
        )

    async def cancel_job(self, b: Batch) -> None:
        """Cancel one job nobody waits for any more (all its circuits were cancelled)."""
        job_id = b.job_id
        self.book.release(b)
        if job_id is None:
            return
        ok: list[str] = []
        with anyio.move_on_after(self.cfg.cancel_timeout):
            await self._cancel_one(job_id, ok, [])
        if ok and self.shared.ledger is not None:
            self.shared.ledger.status(b.key, JobStatus.CANCELLED.value)

    async def cancel_circuit(self, r: CircuitRecord) -> None:
        """Cancel one circuit: it fails with JobCancelledError; its job once nobody waits for it."""
        if r.done():
            return
        b = r.batch
        self.book.finish(r, None, self._cancelled_error(r))
        if b is None or b.live_members():
            return
        if b.state is BatchState.TRACKED:
            with anyio.CancelScope(shield=True):
                await self.cancel_job(b)

    async def cancel_all(self) -> CancelReport:
        """Cancel every unfinished job and circuit (workers are stopped)."""
        cancelled: list[str] = []
        failed: list[str] = []
        targets: list[Batch] = []
        with anyio.move_on_after(self.cfg.cancel_timeout) as scope:
            uncertain = [
                b
                for b in self.shared.live
                if b.state in (BatchState.SUBMITTING, BatchState.LOOKUP) and b.posted
            ]
            if uncertain:
                async with anyio.create_task_group() as tg:
                    for b in uncertain:
                        tg.start_soon(self._find_for_cancel, b)
            targets = [
                b
                for b in self.shared.live
                if b.state is BatchState.TRACKED and b.job_id is not None
            ]
            ids = [b.job_id for b in targets if b.job_id is not None]
            if ids:
                try:
                    await self.cfg.client.cancel_many(ids)
                    cancelled.extend(ids)
                except Exception as exc:
                    log.info("cancel_many failed (%s); cancelling one by one", exc)
                    async with anyio.create_task_group() as tg:
                        for jid in ids:
                            tg.start_soon(self._cancel_one, jid, cancelled, failed)
        if scope.cancelled_caught:
            done = set(cancelled) | set(failed)
            failed.extend(b.job_id for b in targets if b.job_id and b.job_id not in done)
        if self.shared.ledger is not None:
            ok = set(cancelled)
            for b in targets:
                if b.job_id in ok:
                    self.shared.ledger.status(b.key, JobStatus.CANCELLED.value)
        for b in list(self.shared.live):
            self.book.release(b)
        self.shared.ready.clear()
        n = 0
        for r in self.shared.records:
            if not r.done():
                n += 1
                self.book.finish(r, None, self._cancelled_error(r))
        report = CancelReport(tuple(cancelled), tuple(failed), n)
        if cancelled or failed or n:
            log.warning(
                "scheduler cancelled %d %s job(s) (%d could not be cancelled) and %d circuit(s)",
                len(cancelled),
                self.cfg.provider,
                len(failed),
                n,
            )
        if self.shared.ledger is not None:
            with anyio.move_on_after(self.cfg.cancel_timeout):
                await self.shared.ledger.flush()
        return report

    async def _find_for_cancel(self, b: Batch) -> None:
        try:
            job = await self.cfg.client.find_by_key(b.key)
        except Exception as exc:
            log.warning("could not look up job key %s to cancel it: %s", b.key, exc)
            return
        if job is not None:
            b.job_id = job.id
            b.status = job.status
            if self.shared.ledger is not None:
                self.shared.ledger.job(b.key, job.id, job.status.value)
            if not job.is_final and b.state in (BatchState.SUBMITTING, BatchState.LOOKUP):
                move(b, BatchState.TRACKED)

    async def _cancel_one(self, job_id: str, ok: list[str], bad: list[str]) -> None:
        try:
            await self.cfg.client.cancel(job_id)
            ok.append(job_id)
        except Exception as exc:
            log.warning("could not cancel %s job %s: %s", self.cfg.provider, job_id, exc)
            bad.append(job_id)
