"""The scheduler's record of one circuit, and the one call a future makes back to the scheduler.

A :class:`~qjobs.scheduler.JobFuture` is the user's handle; everything the scheduler knows and
changes about a circuit lives in its :class:`CircuitRecord`: its state (moved only by ``_go``,
checked against :data:`~qjobs.scheduler._states.FUTURE_TRANSITIONS`), its outcome, its group and
job, and how often it was sent. The scheduler works on records only (batches and groups hold
records); the future reads its record and asks its :class:`FutureOwner` to cancel it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import anyio

from qjobs._core.errors import JobCancelledError
from qjobs._core.models import Result
from qjobs.scheduler._states import FINAL_FUTURE, FUTURE_TRANSITIONS, FutureState, IllegalTransition

if TYPE_CHECKING:
    from qjobs.circuit._ir import Circuit
    from qjobs.scheduler._batches import Batch, Group
    from qjobs.scheduler._future import JobFuture

__all__ = ["CircuitRecord", "FutureOwner"]


class FutureOwner(Protocol):
    """What a :class:`~qjobs.scheduler.JobFuture` needs from the scheduler that made it."""

    async def cancel_circuit(self, record: CircuitRecord) -> None:
        """Cancel the circuit of ``record`` (and its job once no other circuit waits for it)."""
        ...


class CircuitRecord:
    """One circuit as the scheduler sees it: state, outcome, group, job, generation, retries.

    ``circuit`` is kept only while the circuit waits for a job; ``batch`` is the job holding it.
    """

    __slots__ = (
        "_event",
        "_exc",
        "_result",
        "_state",
        "batch",
        "circuit",
        "future",
        "gen",
        "group",
        "index",
        "key",
        "retries",
    )

    def __init__(self, index: int, key: str, group: Group, circuit: Circuit | None) -> None:
        #: Submission index and ledger key (as on the future).
        self.index = index
        self.key = key
        #: The user's handle for this circuit (set right after both are made).
        self.future: JobFuture
        self.group = group
        self.circuit = circuit
        #: Bumped each time the circuit joins a job, so a later job of it gets a new key.
        self.gen = 0
        #: Resubmissions after a confirmed job failure (bounded by ``retry_failed``).
        self.retries = 0
        self.batch: Batch | None = None
        self._result: Result | None = None
        self._exc: BaseException | None = None
        self._event: anyio.Event | None = None
        self._state: FutureState
        self._go(FutureState.PENDING)

    def __repr__(self) -> str:
        state = getattr(self, "_state", None)  # unset while a creation move is refused
        where = "new" if state is None else state.name
        job = self.batch.job_id if self.batch is not None else None
        return f"<CircuitRecord #{self.index} {where} job={job}>"

    @property
    def job_id(self) -> str | None:
        """The provider job holding this circuit, once created."""
        b = self.batch
        return b.job_id if b is not None else None

    def done(self) -> bool:
        """True once finished (a result or an error is set)."""
        return self._state in FINAL_FUTURE

    @property
    def state(self) -> FutureState:
        """The circuit's state (as counted in :class:`~qjobs.scheduler.Progress`)."""
        return self._state

    @property
    def result(self) -> Result | None:
        """The result once completed, else None."""
        return self._result

    @property
    def exception(self) -> BaseException | None:
        """The error the circuit ended with, else None."""
        return self._exc

    def outcome(self) -> Result | BaseException:
        """The result of a finished circuit, or the error it ended with."""
        if self._exc is not None:
            return self._exc
        if self._result is None:
            raise RuntimeError(f"{self!r} is not finished")
        return self._result

    async def wait(self) -> None:
        """Return once the circuit is finished."""
        if self._state not in FINAL_FUTURE:
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()

    def set_state(self, to: FutureState) -> FutureState:
        """Move to the unfinished state ``to``; returns the previous state."""
        if to in FINAL_FUTURE:
            raise ValueError(f"{to!r} is final: use set_result or set_exception")
        before = self._state
        self._go(to)
        return before

    def set_result(self, result: Result) -> FutureState:
        """Finish with ``result`` and wake every waiter; returns the previous state."""
        return self._end(FutureState.COMPLETED, result, None)

    def set_exception(self, exc: BaseException) -> FutureState:
        """Finish with ``exc`` and wake every waiter; returns the previous state.

        A :class:`~qjobs.JobCancelledError` makes the circuit CANCELLED, any other error FAILED.
        """
        to = FutureState.CANCELLED if isinstance(exc, JobCancelledError) else FutureState.FAILED
        return self._end(to, None, exc)

    def _end(
        self, to: FutureState, result: Result | None, exc: BaseException | None
    ) -> FutureState:
        before = self._state
        self._go(to)
        self._result = result
        self._exc = exc
        self.circuit = None
        if self._event is not None:
            self._event.set()
        return before

    def _go(self, to: FutureState) -> None:
        """Move to state ``to`` (checked against the table): the one place ``_state`` is set."""
        current = getattr(self, "_state", None)
        if to not in FUTURE_TRANSITIONS[current]:
            raise IllegalTransition(self, current, to)
        self._state = to
