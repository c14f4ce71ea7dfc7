"""Submission: forming batches from pending circuits and creating their provider jobs.

The batcher takes ready groups into batches while in-flight slots are free; submit workers
commit each batch's intent to the ledger, POST it with its key, and resolve an uncertain
submission by looking the key up (never a blind resubmission). A submission that cannot connect
(after the transport's retry policy) certainly created nothing: it fails with ConnectError at once.
Every wait before trying again is shown in the scheduler's progress.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from qjobs._core.errors import APIError, ConnectError, InputError, JobError
from qjobs._core.models import Job
from qjobs.circuit._ir import Circuit
from qjobs.scheduler._batches import Batch, take_batch
from qjobs.scheduler._cancelling import Cancelling
from qjobs.scheduler._events import Progress
from qjobs.scheduler._ledger import ABSENT, REJECTED
from qjobs.scheduler._resuming import Resuming
from qjobs.scheduler._states import BatchState, move
from qjobs.transport import RetryWait

log = logging.getLogger("qjobs.scheduler")


#: Submissions whose outcome stays unknown after a lookup are retried at most this often.
_MAX_SUBMIT_ATTEMPTS = 6


class Submitting(Resuming, Cancelling):
    """The batcher and the submit workers."""

    _on_progress: Callable[[Progress], None] | None
    #: Retries made so far (the transport's, seen by the retry listener, and the scheduler's own).
    _retries: int
    #: The scheduler's own waits before trying a submission again: token -> (what, error,
    #: attempt, max attempts, next attempt at).
    _own_waits: dict[int, tuple[str, str, int, int, float]]
    _wait_tokens: itertools.count[int]

    if TYPE_CHECKING:

        def progress(self) -> Progress:
            """A snapshot of the counts (defined by the Scheduler)."""

    def _progress_changed(self) -> None:
        cb = self._on_progress
        if cb is None:
            return
        try:
            cb(self.progress())
        except Exception:
            log.exception("on_progress callback failed")

    def _on_transport_retry(self, wait: RetryWait) -> None:
        self._retries += 1
        self._progress_changed()

    def _own_retrying(self) -> list[RetryWait]:
        now = anyio.current_time()
        return [
            RetryWait(what, error, attempt, most, max(0.0, at - now))
            for what, error, attempt, most, at in list(self._own_waits.values())
        ]

    async def _wait_to_retry(self, b: Batch, exc: Exception, attempt: int, delay: float) -> None:
        """Sleep ``delay`` before trying ``b`` again, shown in the progress meanwhile."""
        token = next(self._wait_tokens)
        entry = (
            f"submit {b.key}",
            type(exc).__name__,
            attempt,
            _MAX_SUBMIT_ATTEMPTS,
            anyio.current_time() + delay,
        )
        self._own_waits[token] = entry
        self._retries += 1
        self._progress_changed()
        try:
            await anyio.sleep(delay)
        finally:
            del self._own_waits[token]

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

    async def _submit_worker(self) -> None:
        async for b in self._submit_rx:
            if b.state is BatchState.LOOKUP:
                try:
                    await self._resume_lookup(b)
                except ConnectError as exc:
                    self._fail_batch(b, exc)  # the ledger keeps the intent: a rerun looks again
            elif b.state is BatchState.QUEUED_LOCAL:
                await self._submit(b)

    async def _submit(self, b: Batch) -> None:
        live = b.live_members()
        if not live or self._closing:
            self._release(b)
            return
        move(b, BatchState.SUBMITTING)
        # Every job a circuit joins bumps its generation, so a later job holding the same
        # circuits (a retry, a resubmission after a crash) gets a different key.
        gen = b.gen + 1
        members = []
        for f in b.members:
            assert f is not None
            f.gen = gen
            members.append((f.key, f.index, gen))
        if self._ledger is not None:
            self._ledger.intent(b.key, members)
            await self._ledger.flush()
        circuits = [c for c in b.circuits if c is not None]
        job = await self._post(b, circuits[0] if len(circuits) == 1 else circuits)
        if job is None or b.state is not BatchState.SUBMITTING:
            return
        self._attach(b, job)
        if not b.live_members() and b.tracked:  # cancelled meanwhile
            await self._cancel_job(b)

    async def _post(self, b: Batch, payload: Circuit | list[Circuit]) -> Job | None:
        """Create ``b``'s job; None when the batch failed (or left SUBMITTING) meanwhile."""
        g = b.group
        attempts = 0
        while b.state is BatchState.SUBMITTING:
            b.posted = True
            try:
                return await self._client.submit(
                    payload, shots=g.shots, backend=g.backend, key=b.key, **g.options
                )
            except Exception as exc:
                failure = exc
            fatal = self._fatal(b, failure, attempts)
            attempts += 1
            if fatal is not None:
                self._fail_batch(b, fatal)
                return None
            log.info("submission of %s uncertain (%s); looking it up by key", b.key, failure)
            try:
                found = await self._lookup(b)
            except (JobError, ConnectError) as unresolved:
                self._fail_batch(b, unresolved)
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
            if self._ledger is not None and attempts == 0:
                self._ledger.status(b.key, ABSENT)
            return exc
        if isinstance(exc, InputError) or (
            isinstance(exc, APIError) and 400 <= exc.status < 500 and exc.status not in (408, 429)
        ):
            if self._ledger is not None:
                self._ledger.status(b.key, REJECTED, str(exc))
            return exc
        if isinstance(exc.__cause__, ConnectError):
            # The client's own lookup of the key could not connect (after its retries): another
            # lookup now would only wait again. The ledger keeps the intent for a rerun.
            return exc.__cause__
        if not self._caps.submit_key or attempts + 1 >= _MAX_SUBMIT_ATTEMPTS:
            return exc
        return None
