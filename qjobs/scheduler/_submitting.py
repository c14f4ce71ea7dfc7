"""Submission: forming batches from pending circuits and creating their provider jobs.

The batcher takes ready groups into batches while in-flight slots are free; submit workers
commit each batch's intent to the ledger, POST it with its key, and resolve an uncertain
submission by looking the key up (never a blind resubmission).
"""

from __future__ import annotations

import logging

import anyio

from qjobs._circuit import Circuit
from qjobs._errors import APIError, InputError, JobError
from qjobs.scheduler._batcher import LOOKUP, QUEUED_LOCAL, SUBMITTING, TRACKED, Batch, take_batch
from qjobs.scheduler._cancelling import Cancelling
from qjobs.scheduler._ledger import REJECTED
from qjobs.scheduler._resuming import Resuming

log = logging.getLogger("qjobs.scheduler")


#: Submissions whose outcome stays unknown after a lookup are retried at most this often.
_MAX_SUBMIT_ATTEMPTS = 6


class Submitting(Resuming, Cancelling):
    """The batcher and the submit workers."""

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
                        self._ledger.status(b.key, REJECTED, str(exc))
                    self._fail_batch(b, exc)
                    return
                attempts += 1
                if not self._caps.submit_key or attempts >= _MAX_SUBMIT_ATTEMPTS:
                    self._fail_batch(b, exc)
                    return
                log.info("submission of %s uncertain (%s); looking it up by key", b.key, exc)
                try:
                    found = await self._lookup(b)
                except JobError as unresolved:
                    self._fail_batch(b, unresolved)
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
