"""``JobFuture``: the handle :meth:`Scheduler.submit` returns for one circuit."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import anyio

from qjobs._core.errors import JobCancelledError
from qjobs._core.models import JobStatus, Result
from qjobs.scheduler._states import FUTURE_TRANSITIONS, FutureState, check

if TYPE_CHECKING:
    from qjobs.circuit._ir import Circuit
    from qjobs.scheduler._batches import Batch, Group
    from qjobs.scheduler._scheduler import Scheduler

__all__ = ["JobFuture"]


class JobFuture:
    """The eventual result of one submitted circuit; ``await fut`` gives its :class:`Result`.

    ``index`` is the submission index (results of :meth:`Scheduler.gather` follow it), ``key`` the
    circuit's deterministic ledger key. ``job_id`` is the provider job holding the circuit (several
    circuits share one job when batched) and ``status`` that job's status; both are ``None`` until
    the job exists. A future fails with :class:`~qjobs.JobFailedError`,
    :class:`~qjobs.JobTimeoutError`, :class:`~qjobs.JobCancelledError` or another
    :class:`~qjobs.QJobsError` explaining why no result came.
    """

    __slots__ = (
        "_batch",
        "_circuit",
        "_event",
        "_exc",
        "_gen",
        "_group",
        "_result",
        "_retries",
        "_sched",
        "_state",
        "index",
        "key",
    )

    def __init__(
        self, sched: Scheduler, index: int, key: str, circuit: Circuit | None, group: Group
    ) -> None:
        self._sched = sched
        self.index = index
        self.key = key
        self._circuit = circuit
        self._group = group
        self._gen = 0
        self._retries = 0
        self._batch: Batch | None = None
        self._state: FutureState
        self._go(FutureState.PENDING)
        self._result: Result | None = None
        self._exc: BaseException | None = None
        self._event: anyio.Event | None = None

    @property
    def job_id(self) -> str | None:
        """The provider job holding this circuit, once created."""
        b = self._batch
        return b.job_id if b is not None else None

    @property
    def status(self) -> JobStatus | None:
        """The status of the circuit's job (``None`` before it is submitted)."""
        if self._result is not None:
            return JobStatus.COMPLETED
        b = self._batch
        if b is not None and b.job_id is not None:
            return b.status
        if isinstance(self._exc, JobCancelledError):
            return JobStatus.CANCELLED
        return None

    def done(self) -> bool:
        """True once a result or an error is set."""
        return self._state.final

    def exception(self) -> BaseException | None:
        """The error the future ended with; ``None`` when it succeeded or is not done yet."""
        return self._exc

    async def result(self) -> Result:
        """Wait for and return the circuit's result, or raise the error it ended with."""
        if not self._state.final:
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()
        if self._exc is not None:
            raise self._exc
        assert self._result is not None
        return self._result

    async def cancel(self) -> None:
        """Cancel this circuit: only this future fails, with :class:`~qjobs.JobCancelledError`.

        A circuit not yet submitted is dropped before any request. A submitted one stays in its
        provider job: when that job is a batch still serving other circuits, it keeps running and
        those circuits get their results as usual. The job itself is cancelled at the provider
        only when its last unfinished circuit is cancelled.
        """
        await self._sched._cancel_future(self)

    def __await__(self) -> Generator[Any, None, Result]:
        return self.result().__await__()

    def __repr__(self) -> str:
        state = getattr(self, "_state", None)  # unset while a creation move is refused
        where = "new" if state is None else state.name.lower()
        return f"<JobFuture #{self.index} {where} job={self.job_id}>"

    def _go(self, to: FutureState) -> None:
        """Move to state ``to`` (checked against the table): the one place ``_state`` is set."""
        self._state = check(FUTURE_TRANSITIONS, self, getattr(self, "_state", None), to)
