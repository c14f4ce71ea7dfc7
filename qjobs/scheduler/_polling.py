"""The central poll schedule (one heap of next poll time, job) and the poller that serves it.

:class:`Poller` pops due jobs from the heap and hands chunks to its poll workers (``get_jobs``
when the provider lists jobs, else ``get_job``); what a poll learns goes to the
:class:`~qjobs.scheduler._tracking.Tracker`.

Each tracked job has its own base interval: ``poll_initial`` after submission or after any change
of its provider status, multiplied by ``poll_factor`` after each poll that saw no change, capped at
``poll_max``. The actual delay is the base interval with +-10 % jitter (seeded), so jobs submitted
together spread out instead of polling in lockstep.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from typing import TYPE_CHECKING

import anyio

from qjobs._core.errors import NotFoundError
from qjobs.scheduler._loop import loop_time, next_item
from qjobs.scheduler._states import BatchState

if TYPE_CHECKING:
    from qjobs.providers._base import ProviderClient
    from qjobs.scheduler._batches import Batch
    from qjobs.scheduler._shared import SchedulerState
    from qjobs.scheduler._tracking import Tracker

__all__ = ["Backoff", "PollQueue", "Poller"]

log = logging.getLogger("qjobs.scheduler")


class Backoff:
    """Poll interval policy: initial interval, growth factor, cap and jitter."""

    __slots__ = ("factor", "initial", "maximum", "rng")

    def __init__(self, initial: float, maximum: float, factor: float, seed: int = 0) -> None:
        self.initial = initial
        self.maximum = max(maximum, initial)
        self.factor = factor
        self.rng = random.Random(seed)

    def grow(self, interval: float) -> float:
        """The base interval after a poll that saw no change."""
        return min(interval * self.factor, self.maximum)

    def delay(self, interval: float) -> float:
        """The jittered delay for a base interval (never above the cap)."""
        return min(interval * self.rng.uniform(0.9, 1.1), self.maximum)


class PollQueue:
    """A min-heap of jobs by next poll time; stale entries are skipped when popped."""

    __slots__ = ("_counter", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Batch]] = []
        self._counter = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, batch: Batch) -> bool:
        """Schedule ``batch`` at ``due``; True when it became the earliest entry."""
        heapq.heappush(self._heap, (due, next(self._counter), batch))
        return self._heap[0][2] is batch

    def next_due(self) -> float | None:
        """The earliest scheduled time, or None when empty."""
        return self._heap[0][0] if self._heap else None

    def count_due(self, until: float, limit: int) -> int:
        """How many tracked jobs are due at or before ``until``, counting up to ``limit``.

        Walks only the part of the heap at or before ``until`` (a node's children are never
        earlier than it), so the cost is proportional to the answer, not to the heap.
        """
        heap = self._heap
        found = 0
        stack = [0] if heap else []
        while stack and found < limit:
            i = stack.pop()
            due, _, b = heap[i]
            if due > until:
                continue
            if b.state is BatchState.TRACKED:
                found += 1
            for child in (2 * i + 1, 2 * i + 2):
                if child < len(heap):
                    stack.append(child)
        return found

    def pop_due(self, until: float, limit: int) -> list[Batch]:
        """Pop up to ``limit`` tracked jobs due at or before ``until``."""
        out: list[Batch] = []
        heap = self._heap
        while heap and len(out) < limit and heap[0][0] <= until:
            _, _, b = heapq.heappop(heap)
            if b.state is BatchState.TRACKED:
                out.append(b)
        return out


class Poller:
    """The poller task and its workers: every tracked job polled from one place."""

    __slots__ = ("cfg", "shared", "tracker")

    def __init__(self, shared: SchedulerState, tracker: Tracker) -> None:
        self.shared = shared
        self.cfg = shared.settings
        self.tracker = tracker

    async def run(self) -> None:
        """The poller task: hand due jobs to the poll workers, in chunks."""
        heap = self.shared.heap
        chunk = self.cfg.status_chunk
        hold = self.cfg.backoff.maximum
        while True:
            self.shared.poll_wake = wake = anyio.Event()
            now = loop_time()
            # With a list endpoint, at most one partial chunk is on its way at a time (for at
            # most ``poll_max`` seconds): jobs falling due meanwhile join the next list request,
            # sent as soon as that one is answered. A full chunk always goes at once.
            held = (
                chunk > 1
                and self.shared.partial_polls > 0
                and now - self.shared.partial_sent < hold
            )
            while True:
                if held and heap.count_due(now + self.cfg.coalesce, chunk) < chunk:
                    break
                due = heap.pop_due(now, chunk)
                if not due:
                    break
                if chunk > 1 and len(due) < chunk:
                    due += heap.pop_due(now + self.cfg.coalesce, chunk - len(due))
                live: list[Batch] = []
                for b in due:
                    if b.deadline is not None and now >= b.deadline:
                        self.tracker.timed_out(b)
                    else:
                        live.append(b)
                if live:
                    if len(live) < chunk:
                        self.shared.partial_polls += 1
                        self.shared.partial_sent = now
                        held = chunk > 1
                    self.shared.poll_tx.send_nowait(live)
            nxt = heap.next_due()
            if nxt is None:
                await wake.wait()
            else:
                delay = nxt - now
                if held and delay <= 0:  # due jobs wait for the partial poll on its way
                    delay = self.shared.partial_sent + hold - now
                with anyio.move_on_after(max(delay, 0.0)):
                    await wake.wait()

    async def worker(self) -> None:
        """A poll worker: poll each chunk it is handed."""
        client = self.cfg.client
        while (chunk := await next_item(self.shared.poll_rx)) is not None:
            partial = len(chunk) < self.cfg.status_chunk
            try:
                await self._poll(client, chunk)
            finally:
                if partial:
                    self.shared.partial_polls -= 1
                    self.shared.poll_wake.set()  # jobs held back for this poll may go now

    async def _poll(self, client: ProviderClient, chunk: list[Batch]) -> None:
        suspects = self.shared.suspects
        if suspects:  # jobs answered 404 are read one by one until confirmed or seen again
            alone = [b for b in chunk if b in suspects]
            if alone:
                chunk = [b for b in chunk if b not in suspects]
                await self._poll_each(client, alone)
        if len(chunk) <= 1:
            await self._poll_each(client, chunk)
            return
        ids = [b.job_id for b in chunk if b.job_id is not None]
        try:
            jobs = await client.get_jobs(ids)
        except NotFoundError:
            await self._poll_each(client, chunk)  # find which job is gone
            return
        except Exception as exc:
            now = loop_time()
            log.debug("poll of %d job(s) failed: %s", len(ids), exc)
            for b in chunk:
                self.tracker.unlearned(b, now, str(exc))
            return
        now = loop_time()
        by_id = {j.id: j for j in jobs}
        missing: list[Batch] = []
        for b in chunk:
            j = by_id.get(b.job_id) if b.job_id is not None else None
            if j is None:
                missing.append(b)  # absent from a list is not a 404: ask for the job itself
            else:
                self.tracker.observe(b, j, now)
        await self._poll_each(client, missing)

    async def _poll_each(self, client: ProviderClient, chunk: list[Batch]) -> None:
        """Poll each job of ``chunk`` with its own ``get_job``, concurrently."""
        if len(chunk) == 1:
            await self._poll_one(client, chunk[0])
        elif chunk:
            async with anyio.create_task_group() as tg:
                for b in chunk:
                    tg.start_soon(self._poll_one, client, b)

    async def _poll_one(self, client: ProviderClient, b: Batch) -> None:
        assert b.job_id is not None
        try:
            job = await client.get_job(b.job_id)
        except NotFoundError:
            self.tracker.not_found(b, loop_time())
        except Exception as exc:
            log.debug("poll of job %s failed: %s", b.job_id, exc)
            self.tracker.unlearned(b, loop_time(), str(exc))
        else:
            self.tracker.observe(b, job, loop_time())
