"""Value classes the scheduler reports: events, progress snapshots and cancellation reports."""

from __future__ import annotations

from typing import Literal

import attrs

from qjobs.transport import RetryWait

__all__ = ["CancelReport", "EventKind", "Progress", "SchedulerEvent"]

#: The kinds of :class:`SchedulerEvent`.
EventKind = Literal["submitted", "running", "completed", "failed", "retried", "cancelled"]


@attrs.frozen(slots=True)
class SchedulerEvent:
    """Something happened to one submitted circuit.

    ``kind`` is one of ``submitted`` (its job was created at the provider), ``running``,
    ``completed``, ``failed`` (any error: provider failure, timeout, unknown state, rejected
    submission), ``retried`` (its job failed and is resubmitted) and ``cancelled``. ``index`` is the
    circuit's submission index, ``job_id`` the provider job holding it (None before submission),
    ``key`` its deterministic key, ``error`` a short message for ``failed``; ``from_ledger`` tells
    that the outcome was read from the ledger without any request.
    """

    kind: EventKind
    index: int
    job_id: str | None
    key: str = ""
    error: str | None = None
    from_ledger: bool = False


@attrs.frozen(slots=True)
class Progress:
    """A snapshot of the scheduler's counts, per circuit.

    ``pending`` circuits wait for a job (batching or the in-flight limit); ``submitted`` ones are
    in a provider job that is queued; ``running`` in one that runs. ``completed``, ``failed`` and
    ``cancelled`` are final (``completed`` includes ``from_ledger``). ``retried`` counts
    resubmissions after confirmed failures. ``jobs_in_flight`` counts provider jobs submitted and
    not yet final (a batch job counts once), ``jobs_submitted`` every job created by this scheduler.

    Nothing waits without saying so: ``retries`` counts the retries made so far (requests the
    client's transport repeated, and submissions the scheduler tried again), and ``retrying``
    lists what is waiting to be retried right now (the soonest first), with the error, the next
    attempt and the time left before the policy gives up; ``retry_message`` says it in one line.
    """

    total: int
    pending: int
    submitted: int
    running: int
    completed: int
    failed: int
    cancelled: int
    retried: int
    from_ledger: int
    jobs_in_flight: int = 0
    jobs_submitted: int = 0
    retries: int = 0
    retrying: tuple[RetryWait, ...] = ()

    @property
    def retry_message(self) -> str | None:
        """The retry due first, in words (plus how many more wait); None when none waits."""
        if not self.retrying:
            return None
        more = len(self.retrying) - 1
        return str(self.retrying[0]) + (f" (+{more} more retrying)" if more else "")

    @property
    def done(self) -> int:
        """Circuits with a final outcome."""
        return self.completed + self.failed + self.cancelled


@attrs.frozen(slots=True)
class CancelReport:
    """What :meth:`Scheduler.cancel` did.

    ``cancelled`` lists the provider job ids the provider accepted to cancel; ``failed`` those it
    could not cancel in time (they may still run). ``circuits`` counts the futures that ended
    cancelled, including circuits that were never submitted.
    """

    cancelled: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    circuits: int = 0
