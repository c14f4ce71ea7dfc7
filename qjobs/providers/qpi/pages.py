"""Listing and paging QPI's routes (pure functions and constants, no I/O).

QPI pages its own routes (``/api/jobs``, ``/api/qpus``) with ``skip``/``limit`` and its
PocketBase collections with ``page``/``perPage``; a page shorter than asked (or the last of
``totalPages``) ends a listing. QPI filters jobs nothing server-side: :class:`JobListing`
applies the status and backend filters to each page. A submit key is found by reading the
newest :data:`FIND_PAGES` pages of jobs (:func:`key_of`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Backend, Job
from qjobs._core.validation import is_int
from qjobs.providers.qpi.circuits import key_in, payload_circuits
from qjobs.providers.qpi.config import PROVIDER
from qjobs.providers.qpi.models import backend_from_wire, job_from_wire

__all__ = [
    "FIND_PAGES",
    "MAX_PAGE_SIZE",
    "JobListing",
    "backends_of",
    "collection_page",
    "collection_params",
    "jobs_of",
    "key_of",
    "page_size",
    "skip_params",
    "status_pages",
]

#: How many pages of the newest jobs :meth:`~qjobs.providers.qpi.QPIClient.find_by_key` reads.
FIND_PAGES: Final = 10
#: The largest page QPI serves.
MAX_PAGE_SIZE: Final = 1000
_SORT_FIELDS: Final = ("created", "updated")


def page_size(wanted: int) -> int:
    """``wanted`` (a capability such as ``page_size``) clamped to ``1..MAX_PAGE_SIZE``."""
    return min(max(1, wanted), MAX_PAGE_SIZE)


def skip_params(skip: int, limit: int, sort: str) -> dict[str, Any]:
    """The query of one ``skip``/``limit`` page (``/api/jobs``, ``/api/qpus``)."""
    return {"sort": sort, "skip": skip, "limit": limit}


def jobs_of(data: Any) -> list[Job]:
    """The jobs of one ``GET /api/jobs`` page: a list, or ``{"jobs": [...]}``."""
    if isinstance(data, Mapping) and isinstance(data.get("jobs"), list):
        data = data["jobs"]
    if not isinstance(data, list):
        raise MalformedResponseError("job list is not a list", provider=PROVIDER)
    return [job_from_wire(item) for item in data]


def backends_of(data: Any) -> list[Backend]:
    """The QPUs of one ``GET /api/qpus`` page."""
    if not isinstance(data, list):
        raise MalformedResponseError("QPU list is not a list", provider=PROVIDER)
    return [backend_from_wire(item) for item in data]


def status_pages(wanted: int, size: int) -> int:
    """How many newest-first job pages of ``size`` may be read to see ``wanted`` jobs.

    At most one page per ``size`` ids, plus one for jobs created meanwhile.
    """
    return math.ceil(wanted / size) + 1


def collection_params(
    page: int, size: int, *, filter: str | None = None, sort: str | None = None
) -> dict[str, Any]:
    """The query of one page of a PocketBase collection (pages count from 1)."""
    params: dict[str, Any] = {"page": page, "perPage": size}
    if filter:
        params["filter"] = filter
    if sort:
        params["sort"] = sort
    return params


def collection_page(data: Any, collection: str, page: int) -> tuple[list[Any], bool]:
    """``(items, whether another page follows)`` of PocketBase page ``page`` of ``collection``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise MalformedResponseError(
            f"{collection} listing is not a PocketBase page", provider=PROVIDER
        )
    items: list[Any] = data["items"]
    total = data.get("totalPages")
    return items, bool(items) and isinstance(total, int) and page < total


def key_of(job: Job) -> str | None:
    """The key a job's first circuit carries (``// qjobs-key: <key>``), or None."""
    circuits = payload_circuits(job)
    if not circuits or not isinstance(circuits[0], Mapping):
        return None
    text = circuits[0].get("circuit")
    return key_in(text) if isinstance(text, str) else None


@attrs.frozen(slots=True)
class JobListing:
    """The filters of a job listing, checked: page size, sort, page bound, status and backend.

    Build it with :meth:`from_filters`; :meth:`keeps` applies the filters QPI leaves to the
    client (status and backend) to one job.
    """

    size: int
    sort: str = "-created"
    max_pages: int | None = None
    statuses: frozenset[str] = frozenset()
    backend: str | None = None

    @classmethod
    def from_filters(cls, filters: Mapping[str, Any], default_size: int) -> JobListing:
        """Read ``iter_jobs`` filters: ``status`` (one or a list), ``backend``, ``sort``,
        ``limit`` (page size, default ``default_size``) and ``max_pages``; any other name is
        an InputError."""
        rest = dict(filters)
        max_pages = rest.pop("max_pages", None)
        if max_pages is not None and not is_int(max_pages, low=1):
            raise InputError("max_pages", max_pages, "must be an int >= 1")
        size = rest.pop("limit", None) or default_size
        if not is_int(size, low=1, high=MAX_PAGE_SIZE):
            raise InputError("limit", size, f"must be an int from 1 to {MAX_PAGE_SIZE}")
        sort = rest.pop("sort", "-created")
        if not isinstance(sort, str) or sort.lstrip("+-") not in _SORT_FIELDS:
            raise InputError("sort", sort, "must be created or updated, optionally with +/-")
        status = rest.pop("status", None)
        statuses = frozenset({status} if isinstance(status, str) else (status or ()))
        backend = rest.pop("backend", None)
        if rest:
            raise InputError(next(iter(rest)), "...", "unknown job filter for QPI")
        return cls(size, sort, max_pages, statuses, backend)

    def keeps(self, job: Job) -> bool:
        """Whether ``job`` passes the status and backend filters."""
        if self.statuses and job.provider_status not in self.statuses:
            return False
        return self.backend is None or job.backend == self.backend

    def last(self, page: list[Job], pages_read: int) -> bool:
        """Whether ``page`` (the ``pages_read``-th) ends the listing: short, or the page bound."""
        return len(page) < self.size or (
            self.max_pages is not None and pages_read >= self.max_pages
        )
