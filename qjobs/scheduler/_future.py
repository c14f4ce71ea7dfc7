"""``JobFuture``: the handle :meth:`Scheduler.submit` returns for one circuit.

The future depends on the scheduler only through :class:`~qjobs.scheduler._circuits.FutureOwner`
(the one call it makes, to cancel its circuit) and reads the circuit's
:class:`~qjobs.scheduler._circuits.CircuitRecord`, which the scheduler owns and moves: the
scheduler works on records and touches no field of the future.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from qjobs._core.errors import JobCancelledError
from qjobs._core.models import JobStatus, Result

if TYPE_CHECKING:
    from qjobs.scheduler._circuits import CircuitRecord, FutureOwner

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

    __slots__ = ("_owner", "_record", "index", "key")

    def __init__(self, owner: FutureOwner, record: CircuitRecord) -> None:
        self._owner = owner
        self._record = record  # the scheduler's record of the circuit; only the scheduler moves it
        self.index: int = record.index
        self.key: str = record.key

    @property
    def job_id(self) -> str | None:
        """The provider job holding this circuit, once created."""
        return self._record.job_id

    @property
    def status(self) -> JobStatus | None:
        """The status of the circuit's job (``None`` before it is submitted)."""
        r = self._record
        if r.result is not None:
            return JobStatus.COMPLETED
        b = r.batch
        if b is not None and b.job_id is not None:
            return b.status
        if isinstance(r.exception, JobCancelledError):
            return JobStatus.CANCELLED
        return None

    def done(self) -> bool:
        """True once a result or an error is set."""
        return self._record.done()

    def exception(self) -> BaseException | None:
        """The error the future ended with; ``None`` when it succeeded or is not done yet."""
        return self._record.exception

    async def result(self) -> Result:
        """Wait for and return the circuit's result, or raise the error it ended with."""
        await self._record.wait()
        outcome = self._record.outcome()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def cancel(self) -> None:
        """Cancel this circuit: only this future fails, with :class:`~qjobs.JobCancelledError`.

        A circuit not yet submitted is dropped before any request. A submitted one stays in its
        provider job: when that job is a batch still serving other circuits, it keeps running and
        those circuits get their results as usual. The job itself is cancelled at the provider
        only when its last unfinished circuit is cancelled.
        """
        await self._owner.cancel_circuit(self._record)

    def __await__(self) -> Generator[Any, None, Result]:
        return self.result().__await__()

    def __repr__(self) -> str:
        state = self._record.state.name.lower()
        return f"<JobFuture #{self.index} {state} job={self.job_id}>"
