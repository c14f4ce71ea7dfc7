"""Qibo cloud job listing (pure, no I/O): the job list has no pages, so filters apply here.

``GET /api/jobs/`` answers every job of the user as one bare array; :func:`jobs_from_list`
reads it, :func:`status_filter` and :func:`matches` implement ``iter_jobs``' filters and
:data:`JOB_FILTERS` names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Job, JobStatus
from qjobs.providers.qibo.models import PROVIDER, job_from_wire

__all__ = ["JOB_FILTERS", "check_filters", "jobs_from_list", "matches", "status_filter"]

#: The filters ``iter_jobs`` takes (applied by the client: the server filters nothing).
JOB_FILTERS: Final = frozenset({"status", "backend"})


def jobs_from_list(data: Any) -> list[Job]:
    """The jobs of a ``GET /api/jobs/`` answer (a bare array)."""
    if not isinstance(data, list):
        raise MalformedResponseError("job list is not a list", provider=PROVIDER)
    return [job_from_wire(item) for item in data]


def check_filters(filters: Mapping[str, Any]) -> None:
    """InputError naming the first filter that is not one of :data:`JOB_FILTERS`."""
    unknown = [name for name in filters if name not in JOB_FILTERS]
    if unknown:
        raise InputError(unknown[0], "...", "unknown filter for Qibo jobs")


def status_filter(status: Any) -> set[str] | None:
    """The statuses asked for, lowercased: a qjobs :class:`~qjobs.JobStatus`, a raw Qibo
    status, or a list of them; None (no filter) for None."""
    if status is None:
        return None
    items: Iterable[Any] = [status] if isinstance(status, str | JobStatus) else list(status)
    return {s.value if isinstance(s, JobStatus) else str(s).lower() for s in items}


def matches(job: Job, wanted: set[str] | None, backend: str | None) -> bool:
    """Whether ``job`` has one of the ``wanted`` statuses (qjobs or raw) and runs on
    ``backend`` (None: any)."""
    if wanted is not None and not (
        job.status.value in wanted or job.provider_status.lower() in wanted
    ):
        return False
    return backend is None or job.backend == backend
