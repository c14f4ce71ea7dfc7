"""IonQ job listing: pages of ``GET /jobs`` and the submit-key lookup (part of ``IonQClient``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Job
from qjobs.providers._base import job_id as _job_id
from qjobs.providers.ionq._base import META_KEY, IonQBase
from qjobs.providers.ionq.models import PROVIDER, job_from_wire

__all__: list[str] = []

_FIND_PAGES: Final = 10


class JobListingMixin(IonQBase):
    """``iter_jobs`` (every page, filters) and ``find_by_key``."""

    @staticmethod
    def _page(data: Any) -> tuple[list[Job], str | None]:
        if isinstance(data, list):
            return [job_from_wire(j) for j in data], None
        if not isinstance(data, Mapping) or not isinstance(data.get("jobs"), list):
            raise MalformedResponseError("job list without 'jobs'", provider=PROVIDER)
        cursor = data.get("next")
        return [job_from_wire(j) for j in data["jobs"]], cursor if isinstance(cursor, str) else None

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over jobs following every page (cursor ``next``).

        Filters: ``status``, ``backend`` (sent as ``target``; a list is comma-joined),
        ``parent_job_id``, ``session_id``, ``ids`` (a list), ``limit`` (page size, default
        ``capabilities.page_size``) and ``max_pages`` (stop after that many pages).
        """
        max_pages = filters.pop("max_pages", None)
        if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
            raise InputError("max_pages", max_pages, "must be an int >= 1")
        params: list[tuple[str, str | int | float | bool]] = []
        if "backend" in filters:
            filters["target"] = filters.pop("backend")
        filters.setdefault("limit", self.capabilities.page_size)
        for key, value in filters.items():
            if value is None:
                continue
            if key == "ids":
                if isinstance(value, str) or not isinstance(value, Sequence):
                    raise InputError("ids", value, "must be a list of job ids")
                params.extend(("ids", _job_id(v, "ids")) for v in value)
            elif isinstance(value, list | tuple):
                params.append((key, ",".join(str(v) for v in value)))
            elif isinstance(value, str | int | float | bool):
                params.append((key, value))
            else:
                raise InputError(key, value, "filter values must be strings, numbers or lists")
        cursor: str | None = None
        pages = 0
        while True:
            page = params + ([("next", cursor)] if cursor else [])
            data = await self._get_json("jobs", params=page, route="GET /jobs")
            jobs, next_cursor = self._page(data)
            pages += 1
            for job in jobs:
                yield job
            if not next_cursor or next_cursor == cursor:
                return
            if max_pages is not None and pages >= max_pages:
                return
            cursor = next_cursor

    async def find_by_key(
        self, key: str, *, backend: str | None = None, max_pages: int = _FIND_PAGES
    ) -> Job | None:
        """The most recent job whose ``metadata.qjobs_key`` is ``key``, or None.

        Scans at most ``max_pages`` pages of the newest jobs (``backend`` narrows the listing),
        which covers the jobs an interrupted submission could have created.
        """
        if not isinstance(key, str) or not key:
            raise InputError("key", key, "must be a non-empty string")
        async for job in self.iter_jobs(backend=backend, max_pages=max_pages):
            if job.tags.get(META_KEY) == key and job.parent_id is None:
                return job
        return None
