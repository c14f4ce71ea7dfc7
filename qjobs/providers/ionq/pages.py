"""IonQ job listing: the query of ``GET /jobs``, its pages and cursors, the submit-key lookup.

Everything here is pure (no I/O); :class:`~qjobs.providers.ionq.IonQClient` walks the pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Job
from qjobs._core.validation import is_int, is_mapping
from qjobs.providers._base import job_id as _job_id
from qjobs.providers.ionq.config import META_KEY, PROVIDER
from qjobs.providers.ionq.models import job_from_wire

__all__ = [
    "FIND_PAGES",
    "Params",
    "check_key",
    "chunks",
    "has_key",
    "ids_params",
    "list_params",
    "parse_page",
    "with_cursor",
]

#: How many pages of the newest jobs :meth:`~qjobs.providers.ionq.IonQClient.find_by_key` scans.
FIND_PAGES: Final = 10

#: The query of one ``GET /jobs`` request, repeated keys allowed (``ids``).
Params: TypeAlias = list[tuple[str, str | int | float | bool]]


def list_params(filters: Mapping[str, Any], page_size: int) -> tuple[Params, int | None]:
    """The ``GET /jobs`` query for ``iter_jobs`` filters, and its ``max_pages`` (None: all).

    ``backend`` is sent as ``target``; a list is comma-joined except ``ids`` (one ``ids`` per
    job id); ``limit`` defaults to ``page_size``; a ``None`` filter is left out.
    """
    rest = dict(filters)
    max_pages = rest.pop("max_pages", None)
    if max_pages is not None and not is_int(max_pages, low=1):
        raise InputError("max_pages", max_pages, "must be an int >= 1")
    if "backend" in rest:
        rest["target"] = rest.pop("backend")
    rest.setdefault("limit", page_size)
    params: Params = []
    for key, value in rest.items():
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
    return params, max_pages


def ids_params(ids: Sequence[str]) -> Params:
    """The query that lists exactly the jobs ``ids`` (one page holds them all)."""
    params: Params = [("ids", jid) for jid in ids]
    params.append(("limit", len(ids)))
    return params


def with_cursor(params: Params, cursor: str | None) -> Params:
    """``params`` for the page after ``cursor`` (the first page when it is None)."""
    return params + ([("next", cursor)] if cursor else [])


def parse_page(data: Any) -> tuple[list[Job], str | None]:
    """The jobs of one page and the cursor of the next (None on the last page)."""
    if isinstance(data, list):
        return [job_from_wire(j) for j in data], None
    if not is_mapping(data) or not isinstance(data.get("jobs"), list):
        raise MalformedResponseError("job list without 'jobs'", provider=PROVIDER)
    cursor = data.get("next")
    return [job_from_wire(j) for j in data["jobs"]], cursor if isinstance(cursor, str) else None


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    """``items`` cut into lists of at most ``size`` (at least 1), in order."""
    size = max(1, size)
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def check_key(key: Any) -> str:
    """``key`` as a submit key to look up, else :class:`~qjobs.InputError`."""
    if not isinstance(key, str) or not key:
        raise InputError("key", key, "must be a non-empty string")
    return key


def has_key(job: Job, key: str) -> bool:
    """True when ``job`` is the top-level job submitted with ``key`` (``metadata.qjobs_key``)."""
    return job.tags.get(META_KEY) == key and job.parent_id is None
