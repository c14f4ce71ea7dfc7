"""Job groups of the qBraid emulator (``/jobs/group``): lifetime, status, counts, JSON.

A group is ``OPEN`` from creation until it is closed or its ``maxTTL`` runs out, then
``CLOSED`` while any of its jobs is unfinished, then ``COMPLETED`` (``FAILED`` when a job
failed). Cancelling makes it ``CANCELLED`` at once. Nothing here knows HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs

from qjobs.emulators._common.clock import Clock
from qjobs.emulators.qbraid.state import FINAL_STATUSES, ORG_USER_ID, QbraidJob

__all__ = ["DEFAULT_TTL", "GROUP_FINAL", "GROUP_STATUSES", "MAX_TTL", "QbraidGroup"]

#: Every group status (``GroupStatus``).
GROUP_STATUSES: Final = ("OPEN", "CLOSED", "COMPLETED", "FAILED", "CANCELLED")
#: Group statuses after which nothing changes.
GROUP_FINAL: Final = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
#: ``maxTTL`` when the request gives none, and its upper bound (seconds).
DEFAULT_TTL: Final = 3600
MAX_TTL: Final = 86_400


@attrs.define
class QbraidGroup:
    """One job group held by the emulator."""

    qrn: str
    seq: int
    name: str | None
    tags: dict[str, Any]
    metadata: dict[str, Any]
    max_ttl: int
    created: float
    owner: str = ""
    closed_at: float | None = None
    cancelled_at: float | None = None

    def closes_at(self) -> float:
        """Clock reading at which the group stopped (or will stop) accepting jobs."""
        expiry = self.created + self.max_ttl
        return expiry if self.closed_at is None else min(self.closed_at, expiry)

    def is_open(self, now: float) -> bool:
        """True while jobs may join the group."""
        return self.cancelled_at is None and now < self.closes_at()

    def status(self, now: float, jobs: Sequence[QbraidJob]) -> str:
        """The group's status given its jobs' states at ``now``."""
        if self.cancelled_at is not None:
            return "CANCELLED"
        if self.is_open(now):
            return "OPEN"
        states = [j.status(now) for j in jobs]
        if any(s not in FINAL_STATUSES for s in states):
            return "CLOSED"
        return "FAILED" if "FAILED" in states else "COMPLETED"

    def _ended(self, now: float, status: str, jobs: Sequence[QbraidJob]) -> float | None:
        if status == "CANCELLED":
            return self.cancelled_at
        if status not in GROUP_FINAL:
            return None
        ends = [e for j in jobs if (e := j.ended_at(j.status(now))) is not None]
        return max([self.closes_at(), *ends])

    def to_json(self, clock: Clock, jobs: Sequence[QbraidJob]) -> dict[str, Any]:
        """The ``GroupJob`` object."""
        now = clock.now()
        status = self.status(now, jobs)
        states = [j.status(now) for j in jobs]
        costs = [j.cost(s) for j, s in zip(jobs, states, strict=True)]
        stamps: dict[str, Any] = {"createdAt": clock.iso(self.created)}
        ended = self._ended(now, status, jobs)
        if ended is not None:
            stamps["endedAt"] = clock.iso(ended)
        return {
            "groupJobQrn": self.qrn,
            "name": self.name,
            "status": status,
            "organizationUserId": ORG_USER_ID,
            "jobCount": len(jobs),
            "completedCount": states.count("COMPLETED"),
            "failedCount": states.count("FAILED"),
            "cancelledCount": states.count("CANCELLED"),
            "totalEstimatedCost": round(
                sum(j.device.per_job_cost(j.shots, len(j.circuits)) for j in jobs), 6
            ),
            "totalCost": round(sum(c for c in costs if c is not None), 6),
            "timeStamps": stamps,
            "maxTTL": self.max_ttl,
            "tags": self.tags,
            "metadata": self.metadata,
        }
