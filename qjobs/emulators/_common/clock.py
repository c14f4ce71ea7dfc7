"""The emulators' clock and job lifecycle: status computed from time since submission.

No background task moves a job along. A job records when it was submitted and how long it queues
and executes; its phase at any moment is read from the clock. Tests drive the clock by hand with
:meth:`Clock.advance` (or a frozen ``time_fn``), so lifecycles are deterministic without sleeps.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

__all__ = ["Clock", "Lifecycle", "Phase"]


class Phase(enum.Enum):
    """Where a job is in its life, independent of any provider's status names."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """True for DONE, FAILED and CANCELED."""
        return self in (Phase.DONE, Phase.FAILED, Phase.CANCELED)


class Clock:
    """A monotonic clock (seconds) that tests can move forward with :meth:`advance`.

    ``time_fn`` defaults to :func:`time.monotonic`; pass ``lambda: 0.0`` for a clock that moves
    only when advanced. :meth:`iso` turns a clock reading into an ISO-8601 UTC timestamp.
    """

    def __init__(self, time_fn: Callable[[], float] = time.monotonic) -> None:
        self._time_fn = time_fn
        self._offset = 0.0
        self._origin = time_fn()
        self._wall_origin = datetime.now(UTC)

    def now(self) -> float:
        """The current reading, in seconds."""
        return self._time_fn() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r}: cannot move the clock backwards")
        self._offset += seconds

    def iso(self, reading: float) -> str:
        """The wall-clock ISO-8601 timestamp (millisecond precision, ``Z``) of a reading."""
        moment = self._wall_origin + timedelta(seconds=reading - self._origin)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@attrs.define(slots=True)
class Lifecycle:
    """The timeline of one job: queued for ``queue_time``, then executing for ``exec_time``.

    ``fails`` makes the job end FAILED instead of DONE. Cancelling freezes the job in CANCELED;
    removing it (delete) ends its lifetime for statistics.
    """

    submitted: float
    queue_time: float
    exec_time: float
    fails: bool = False
    canceled_at: float | None = None
    removed_at: float | None = None

    @property
    def started(self) -> float:
        """Clock reading when execution starts."""
        return self.submitted + self.queue_time

    @property
    def finished(self) -> float:
        """Clock reading when execution ends (had the job not been cancelled)."""
        return self.started + self.exec_time

    @property
    def end(self) -> float:
        """When the job stopped being active: finished, cancelled or removed, whichever first."""
        end = self.finished
        for other in (self.canceled_at, self.removed_at):
            if other is not None:
                end = min(end, other)
        return end

    def phase(self, now: float) -> Phase:
        """The phase at clock reading ``now``."""
        if self.canceled_at is not None:
            return Phase.CANCELED
        if now < self.started:
            return Phase.QUEUED
        if now < self.finished:
            return Phase.RUNNING
        return Phase.FAILED if self.fails else Phase.DONE

    def cancel(self, now: float) -> bool:
        """Cancel at ``now`` unless already final; return whether the job was cancelled."""
        if self.phase(now).is_final:
            return False
        self.canceled_at = now
        return True

    def remove(self, now: float) -> None:
        """Mark the job removed (deleted) at ``now``."""
        if self.removed_at is None:
            self.removed_at = now
