"""Fetching the outcome of final jobs: results of completed ones, confirmation of failed ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from qjobs._core.errors import JobError, MalformedResponseError, NotFoundError
from qjobs._core.models import Job, JobStatus, Result
from qjobs.scheduler._batches import Batch
from qjobs.scheduler._ledger_records import pack_result
from qjobs.scheduler._loop import loop_time, next_item
from qjobs.scheduler._states import BatchState, move

if TYPE_CHECKING:
    from qjobs.scheduler._bookkeeping import Bookkeeper
    from qjobs.scheduler._shared import SchedulerState
    from qjobs.scheduler._tracking import Tracker


class Fetcher:
    """The fetch workers: results of completed jobs and confirmation of failures."""

    __slots__ = ("book", "cfg", "shared", "tracker")

    def __init__(self, shared: SchedulerState, book: Bookkeeper, tracker: Tracker) -> None:
        self.shared = shared
        self.cfg = shared.settings
        self.book = book
        self.tracker = tracker

    async def fetch_worker(self) -> None:
        """A fetch worker: results of completed jobs, confirmation of failed ones."""
        while (item := await next_item(self.shared.fetch_rx)) is not None:
            b, job = item
            if b.state is not BatchState.FETCHING:
                continue
            if job.status is JobStatus.COMPLETED:
                await self._fetch(b, job)
            else:
                await self._confirm_failed(b)

    async def _retrying(self, b: Batch, what: str, call: Callable[[], Any]) -> Any:
        """Await ``call()`` until it succeeds; fail ``b`` after ``unknown_state_timeout``.

        404 answers are counted instead: ``lost_reads`` of them (spaced as for polls) make the
        job lost.
        """
        start = loop_time()
        delay = self.cfg.backoff.initial
        not_found = 0
        while True:
            try:
                return await call()
            except NotFoundError:
                if b.state is not BatchState.FETCHING:
                    return None
                not_found += 1
                if not_found >= self.cfg.lost_reads:
                    self.tracker.lost(b, not_found, f"reads ({what})")
                    return None
                await anyio.sleep(self.cfg.lost_delay * 2 ** (not_found - 1))
            except Exception as exc:
                if b.state is not BatchState.FETCHING:
                    return None
                waited = loop_time() - start
                if waited >= self.cfg.unknown_timeout:
                    self.book.fail_batch(
                        b,
                        JobError(
                            f"{what} of {self.cfg.provider} job {b.job_id} failed for "
                            f"{waited:.0f} s: {exc}",
                            job_id=b.job_id,
                            provider=self.cfg.provider,
                        ),
                    )
                    return None
                await anyio.sleep(delay)
                delay = self.cfg.backoff.grow(delay)

    async def _fetch(self, b: Batch, job: Job) -> None:
        job_id = job.id
        results: list[Result] | None = await self._retrying(
            b, "fetching the results", partial(self.cfg.client.results, job)
        )
        if results is None or b.state is not BatchState.FETCHING:
            return
        if len(results) != len(b.members):
            self.book.fail_batch(
                b,
                MalformedResponseError(
                    f"job {job_id} returned {len(results)} results for {len(b.members)} circuits",
                    provider=self.cfg.provider,
                ),
            )
            return
        ledger, rows = self.shared.ledger, self.shared.rows
        members = b.members
        keys = b.member_keys
        self.book.release(b)
        for pos, res in enumerate(results):
            if ledger is not None:
                key = keys[pos]
                if key is not None:
                    blob = pack_result(res)
                    ledger.result(key, blob)
                    row = rows.get(key) if rows is not None else None
                    if row is not None:
                        row.result = blob
            r = members[pos]
            if r is not None and not r.done():
                self.book.finish(r, res, None)
        if ledger is not None:
            ledger.status(b.key, JobStatus.COMPLETED.value)

    async def _confirm_failed(self, b: Batch) -> None:
        job_id = b.job_id
        assert job_id is not None
        job: Job | None = await self._retrying(
            b, "confirming the failure", partial(self.cfg.client.get_job, job_id)
        )
        if job is None or b.state is not BatchState.FETCHING:
            return
        if job.status is JobStatus.FAILED:
            self.tracker.failed(b, job)
        elif job.is_final:
            self.tracker.fetch_final(b, job)
        else:
            move(b, BatchState.TRACKED)
            self.tracker.observe(b, job, loop_time())
