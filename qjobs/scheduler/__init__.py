"""The scheduler: many circuits in flight on one provider, batched, polled centrally, journaled.

See ``docs/scheduler.md``. Public names: :class:`Scheduler`, :class:`JobFuture`,
:class:`SchedulerEvent`, :class:`Progress`, :class:`CancelReport`.
"""

from __future__ import annotations

from qjobs._core.public import publish as _publish
from qjobs.scheduler._events import CancelReport, EventKind, Progress, SchedulerEvent
from qjobs.scheduler._future import JobFuture
from qjobs.scheduler._scheduler import Scheduler

__all__ = ["CancelReport", "EventKind", "JobFuture", "Progress", "Scheduler", "SchedulerEvent"]

_publish(globals())
