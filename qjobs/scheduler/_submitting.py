"""Submission: creating the provider jobs of the batches the batcher formed.

Submit workers commit each batch's intent to the ledger, POST it with its key, and resolve an
uncertain submission by looking the key up (never a blind resubmission). A submission that
cannot connect (after the transport's retry policy) certainly created nothing: it fails with
ConnectError at once. Every wait before trying again is shown in the scheduler's progress.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from qjobs._core.errors import APIError, ConnectError, InputError, JobError
from qjobs._core.models import Job
from qjobs.circuit._ir import Circuit
from qjobs.scheduler._batches import Batch
from qjobs.scheduler._ledger_records import ABSENT, REJECTED
from qjobs.scheduler._loop import loop_time, next_item
from qjobs.scheduler._states import BatchState, move

if TYPE_CHECKING:
    from qjobs.scheduler._bookkeeping import Bookkeeper
    from qjobs.scheduler._cancelling import Canceller
    from qjobs.scheduler._resuming import Resumer
    from qjobs.scheduler._shared import SchedulerState
    from qjobs.scheduler._tracking import Tracker

log = logging.getLogger("qjobs.scheduler")


#: Submissions whose outcome stays unknown after a lookup are retried at most this often.
_MAX_SUBMIT_ATTEMPTS = 6


class Submitter:
    """The submit workers: intent, keyed POST, lookup of uncertain submissions."""

    __slots__ = ("book", "canceller", "cfg", "resumer", "shared", "tracker")

    def __init__(
        self,
        shared: SchedulerState,
        book: Bookkeeper,
        tracker: Tracker,
        resumer: Resumer,
        canceller: Canceller,
    ) -> None:
        self.shared = shared
        self.cfg = shared.settings
        self.book = book
        self.tracker = tracker
        self.resumer = resumer
        self.canceller = canceller

    async def _wait_to_retry(self, b: Batch, exc: Exception, attempt: int, delay: float) -> None:
        """Sleep ``delay`` before trying ``b`` again, shown in the progress meanwhile."""
        token = next(self.shared.wait_tokens)
        entry = (
            f"submit {b.key}",
            type(exc).__name__,
            attempt,
            _MAX_SUBMIT_ATTEMPTS,
            loop_time() + delay,
        )
        self.shared.own_waits[token] = entry
        self.shared.retries += 1
        self.book.progress_changed()
        try:
            await anyio.sleep(delay)
        finally:
            del self.shared.own_waits[token]

    async def submit_worker(self) -> None:
        """A submit worker: look up recovered intents, submit formed batches."""
        while (b := await next_item(self.shared.submit_rx)) is not None:
            if b.state is BatchState.LOOKUP:
                try:
                    await self.resumer.resume_lookup(b)
                except ConnectError as exc:
                    self.book.fail_batch(b, exc)  # the ledger keeps the intent: a rerun looks again
            elif b.state is BatchState.QUEUED_LOCAL:
                await self._submit(b)

    async def _submit(self, b: Batch) -> None:
        live = b.live_members()
        if not live or self.shared.closing:
            self.book.release(b)
            return
        move(b, BatchState.SUBMITTING)
        # Every job a circuit joins bumps its generation, so a later job holding the same
        # circuits (a retry, a resubmission after a crash) gets a different key.
        gen = b.gen + 1
        for r in b.members:
            assert r is not None
            r.gen = gen
        if self.shared.ledger is not None:
            members = [(r.key, r.index, gen) for r in b.members if r is not None]
            self.shared.ledger.intent(b.key, members)
            await self.shared.ledger.flush()
        circuits = [c for c in b.circuits if c is not None]
        job = await self._post(b, circuits[0] if len(circuits) == 1 else circuits)
        if job is None or b.state is not BatchState.SUBMITTING:
            return
        self.tracker.attach(b, job)
        if not b.live_members() and b.tracked:  # cancelled meanwhile
            await self.canceller.cancel_job(b)

    async def _post(self, b: Batch, payload: Circuit | list[Circuit]) -> Job | None:
        """Create ``b``'s job; None when the batch failed (or left SUBMITTING) meanwhile."""
        g = b.group
        attempts = 0
        while b.state is BatchState.SUBMITTING:
            b.posted = True
            try:
                return await self.cfg.client.submit(
                    payload, shots=g.shots, backend=g.backend, key=b.key, **g.options
                )
            except Exception as exc:
                failure = exc
            fatal = self._fatal(b, failure, attempts)
            attempts += 1
            if fatal is not None:
                self.book.fail_batch(b, fatal)
                return None
            log.info("submission of %s uncertain (%s); looking it up by key", b.key, failure)
            try:
                found = await self.tracker.lookup(b)
            except (JobError, ConnectError) as unresolved:
                self.book.fail_batch(b, unresolved)
                return None
            if found is not None:
                return found
            await self._wait_to_retry(b, failure, attempts, min(0.05 * 2**attempts, 2.0))
        return None

    def _fatal(self, b: Batch, exc: Exception, attempts: int) -> BaseException | None:
        """The error to fail ``b`` with after a submission failed, or None to look the key up.

        ``attempts`` counts the earlier failed submissions of ``b``.
        """
        if isinstance(exc, ConnectError):
            # The transport retried the connection per its policy: nothing was created.
            if self.shared.ledger is not None and attempts == 0:
                self.shared.ledger.status(b.key, ABSENT)
            return exc
        if isinstance(exc, InputError) or (
            isinstance(exc, APIError) and 400 <= exc.status < 500 and exc.status not in (408, 429)
        ):
            if self.shared.ledger is not None:
                self.shared.ledger.status(b.key, REJECTED, str(exc))
            return exc
        if isinstance(exc.__cause__, ConnectError):
            # The client's own lookup of the key could not connect (after its retries): another
            # lookup now would only wait again. The ledger keeps the intent for a rerun.
            return exc.__cause__
        if not self.cfg.caps.submit_key or attempts + 1 >= _MAX_SUBMIT_ATTEMPTS:
            return exc
        return None
