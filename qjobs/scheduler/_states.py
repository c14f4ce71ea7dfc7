"""The scheduler's two state machines: of a batch (one provider job) and of a circuit.

Each is an enum and ONE table of allowed transitions (``None`` stands for creation). A batch's
state changes only through :func:`move`, a circuit's only through ``CircuitRecord._go``; both
look the move up in the table and raise :class:`IllegalTransition` on a move it does not
list. ``docs/scheduler.md`` draws both tables (a test keeps the diagrams equal to them).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qjobs.scheduler._batches import Batch

__all__ = [
    "BATCH_TRANSITIONS",
    "FINAL_FUTURE",
    "FUTURE_TRANSITIONS",
    "BatchState",
    "FutureState",
    "IllegalTransition",
    "move",
]


class _Named(enum.Enum):
    """An enum whose repr is its qualified name (``BatchState.TRACKED``), not its value.

    Members hash by identity (as they compare), in C: the scheduler looks states up in its
    tables and counters for every move, and ``Enum.__hash__`` is Python code.
    """

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class BatchState(_Named):
    """Where a batch (one provider job) is in the scheduler."""

    QUEUED_LOCAL = enum.auto()  #: formed, waiting for a submit worker
    LOOKUP = enum.auto()  #: recovered from the ledger as an intent without job id: look it up
    SUBMITTING = enum.auto()  #: intent committed; the POST may be in progress
    TRACKED = enum.auto()  #: the job exists; polled
    FETCHING = enum.auto()  #: final at the provider; results or confirmation being fetched
    DONE = enum.auto()  #: no longer tracked (its in-flight slot is free)


class FutureState(_Named):
    """Where one circuit is, as counted in :class:`~qjobs.scheduler.Progress`."""

    PENDING = enum.auto()  #: waiting in the scheduler for a job
    SUBMITTED = enum.auto()  #: in a provider job that is not running yet
    RUNNING = enum.auto()  #: in a running provider job
    COMPLETED = enum.auto()  #: has its result
    FAILED = enum.auto()  #: ended with an error
    CANCELLED = enum.auto()  #: ended with JobCancelledError

    @property
    def final(self) -> bool:
        """True for the states a future never leaves."""
        return self in FINAL_FUTURE


#: The states a future never leaves.
FINAL_FUTURE = frozenset({FutureState.COMPLETED, FutureState.FAILED, FutureState.CANCELLED})

_B = BatchState
#: Every allowed move of a batch; the key ``None`` lists the states a batch is created in.
BATCH_TRANSITIONS: Mapping[BatchState | None, frozenset[BatchState]] = {
    None: frozenset({_B.QUEUED_LOCAL, _B.LOOKUP, _B.TRACKED}),
    _B.QUEUED_LOCAL: frozenset({_B.SUBMITTING, _B.DONE}),
    _B.LOOKUP: frozenset({_B.SUBMITTING, _B.TRACKED, _B.DONE}),
    _B.SUBMITTING: frozenset({_B.TRACKED, _B.DONE}),
    _B.TRACKED: frozenset({_B.FETCHING, _B.DONE}),
    _B.FETCHING: frozenset({_B.TRACKED, _B.DONE}),
    _B.DONE: frozenset(),
}

_F = FutureState
#: Every allowed move of a future; the key ``None`` lists the state a future is created in.
FUTURE_TRANSITIONS: Mapping[FutureState | None, frozenset[FutureState]] = {
    None: frozenset({_F.PENDING}),
    _F.PENDING: frozenset({_F.SUBMITTED, _F.RUNNING, *FINAL_FUTURE}),
    _F.SUBMITTED: frozenset({_F.PENDING, _F.RUNNING, *FINAL_FUTURE}),
    _F.RUNNING: frozenset({_F.PENDING, *FINAL_FUTURE}),
    _F.COMPLETED: frozenset(),
    _F.FAILED: frozenset(),
    _F.CANCELLED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move the transition table does not allow: a bug in the scheduler, never user input."""

    def __init__(self, what: object, current: enum.Enum | None, to: enum.Enum) -> None:
        start = "creation" if current is None else current.name
        super().__init__(f"illegal move of {what!r} from {start} to {to.name}")
        self.current = current
        self.to = to


def move(batch: Batch, to: BatchState) -> None:
    """Move ``batch`` to state ``to`` (checked against :data:`BATCH_TRANSITIONS`).

    The only place a batch's state is assigned, its creation included.
    """
    current: BatchState | None = getattr(batch, "state", None)
    if to not in BATCH_TRANSITIONS[current]:
        raise IllegalTransition(batch, current, to)
    batch.state = to
