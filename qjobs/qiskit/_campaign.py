"""One ``backend.run``: its circuits on a qjobs Scheduler, on the qjobs_sync background loop."""

from __future__ import annotations

import concurrent.futures
import enum
import functools
import inspect
from collections.abc import Sequence
from typing import Any

from qjobs._core.errors import JobCancelledError
from qjobs._core.models import JobStatus, Result
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import ProviderClient, gather
from qjobs.scheduler import JobFuture, Scheduler
from qjobs_sync import _portal

__all__ = ["Campaign", "Phase"]


class Phase(enum.Enum):
    """Where a campaign is, as a Qiskit job reports it."""

    INITIALIZING = "initializing"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    CANCELLED = "cancelled"


class Campaign:
    """The circuits of one run, submitted to one Scheduler in one task of the background loop.

    ``scheduler_options`` are :class:`~qjobs.Scheduler` keyword arguments (``ledger=``,
    ``batch_size=``, job options...). With ``memory``, each provider job's results are read once
    more with per-shot memory where the client can (IonQ, qBraid, Kipu, Qibo). The task starts at
    once; :meth:`outcome` blocks for it.
    """

    def __init__(
        self,
        client: ProviderClient,
        circuits: Sequence[Circuit],
        *,
        shots: int,
        memory: bool,
        scheduler_options: dict[str, Any],
    ) -> None:
        self._client = client
        self._memory = memory
        self._circuits = circuits
        self._shots = shots
        self._options = scheduler_options
        self._scheduler: Scheduler | None = None
        self._futures: list[JobFuture] = []
        self._cancelled = False
        self._task: concurrent.futures.Future[list[Result]] = _portal.portal().start_task_soon(
            self._drive
        )

    async def _drive(self) -> list[Result]:
        async with Scheduler(self._client, shots=self._shots, **self._options) as sched:
            self._scheduler = sched
            self._futures = [sched.submit(c) for c in self._circuits]
            results = await sched.gather()
        return await self._with_memory(results) if self._memory else results

    async def _with_memory(self, results: list[Result]) -> list[Result]:
        """``results`` read again from their provider jobs with per-shot memory."""
        if "memory" not in inspect.signature(self._client.results).parameters:
            return results  # the provider keeps memory in its results when it has any
        by_job: dict[str, list[Result]] = {}

        async def read(job_id: str) -> None:
            by_job[job_id] = await self._client.results(job_id, memory=True)  # type: ignore[call-arg]

        ids = dict.fromkeys(r.job_id for r in results if r.job_id is not None)
        await gather([functools.partial(read, jid) for jid in ids])
        return [r if r.job_id is None else by_job[r.job_id][r.index] for r in results]

    def outcome(self, timeout: float | None = None) -> list[Result]:
        """The results in circuit order; raises the first failure (or the cancellation)."""
        try:
            return self._task.result(timeout)
        except concurrent.futures.CancelledError:  # cancelled before anything was submitted
            raise JobCancelledError(
                "the run was cancelled", job_id=None, provider=self._client.provider
            ) from None

    def phase(self) -> Phase:
        """Where the campaign is now."""
        if self._task.done():
            if self._task.cancelled():
                return Phase.CANCELLED
            if self._task.exception() is None:
                return Phase.DONE  # finished before a cancel() could stop it
            return Phase.CANCELLED if self._cancelled else Phase.ERROR
        statuses = _portal.run_sync(lambda: [f.status for f in self._futures])
        if JobStatus.RUNNING in statuses:
            return Phase.RUNNING
        if any(s is not None for s in statuses):
            return Phase.QUEUED
        return Phase.INITIALIZING

    def provider_job_ids(self) -> list[str | None]:
        """The provider job holding each circuit (None until it is submitted)."""
        return _portal.run_sync(lambda: [f.job_id for f in self._futures])

    def cancel(self) -> None:
        """Cancel every unfinished provider job and pending circuit; wait until it is done."""
        if self._task.done():
            return
        self._cancelled = True

        async def stop() -> None:
            if self._scheduler is not None:
                await self._scheduler.cancel()
            else:  # still entering the scheduler: nothing was submitted
                self._task.cancel()

        _portal.run_async(stop)
        concurrent.futures.wait([self._task])
