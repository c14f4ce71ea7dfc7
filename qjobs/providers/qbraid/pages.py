"""qBraid listing and paging (pure, no I/O): page parameters, list filters, the next page, and
the lookup of a job by its idempotency key.

qBraid's lists (``GET /jobs``, ``GET /jobs/group``) are page-numbered (``page``, ``limit`` up to
:data:`~qjobs.providers.qbraid.config.MAX_PAGE`) and answer a ``pagination`` object whose
``hasNext`` says whether another page follows. ``GET /devices`` is one list, filtered here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from qjobs._core.errors import InputError
from qjobs._core.models import Job
from qjobs._core.validation import check_int
from qjobs.providers.qbraid.config import MAX_PAGE, TAG_KEY
from qjobs.providers.qbraid.models import GROUP_STATUSES, STATUS_MAP, Device, Pagination

__all__ = [
    "DEVICE_FILTERS",
    "FIND_PAGES",
    "device_matches",
    "device_query",
    "group_filters",
    "job_filters",
    "key_filters",
    "keyed",
    "next_page",
    "page_params",
]

#: How many pages of jobs :meth:`~qjobs.providers.qbraid.QbraidClient.find_by_key` reads.
FIND_PAGES: Final = 5
#: The device filters :meth:`~qjobs.providers.qbraid.QbraidClient.devices` applies to the answer.
DEVICE_FILTERS: Final = (
    "vendor",
    "provider",
    "device_type",
    "status",
    "paradigm",
    "run_input_type",
)
#: Job list filter -> query parameter of ``GET /jobs``.
_JOB_FILTERS: Final = (
    ("vendor", "vendor"),
    ("provider", "provider"),
    ("status", "status"),
    ("status_group", "statusGroup"),
    ("search", "search"),
)


def page_params(page: Any, limit: Any, *, default: int) -> dict[str, int]:
    """``{"page", "limit"}`` for one page; ``limit`` (default ``default``) is 1..MAX_PAGE."""
    params = {"page": check_int("page", page, low=1)}
    size = check_int("limit", default if limit is None else limit, low=1)
    if size > MAX_PAGE:
        raise InputError("limit", size, f"must be <= {MAX_PAGE}")
    params["limit"] = size
    return params


def job_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The ``GET /jobs`` parameters for ``filters`` (see ``list_jobs``); unknown ones refused."""
    left = dict(filters)
    params: dict[str, Any] = {}
    for field, wire in _JOB_FILTERS:
        value = left.pop(field, None)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise InputError(field, value, "must be a non-empty string")
        if field == "status" and value.upper() not in STATUS_MAP:
            raise InputError(field, value, f"must be one of {sorted(STATUS_MAP)}")
        params[wire] = value.upper() if field == "status" else value
    tags = left.pop("tags", None)
    if tags is not None:
        if not isinstance(tags, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str | int | bool) for k, v in tags.items()
        ):
            raise InputError("tags", tags, "must be a mapping of str to str, int or bool")
        params["tags"] = orjson.dumps(dict(tags)).decode()
    if left:
        raise InputError(next(iter(left)), "...", "unknown job filter for qBraid")
    return params


def group_filters(status: Any) -> dict[str, str]:
    """The ``GET /jobs/group`` filter: ``status``, one of :data:`GROUP_STATUSES`, or none."""
    if status is None:
        return {}
    if not isinstance(status, str) or status.upper() not in GROUP_STATUSES:
        raise InputError("status", status, f"must be one of {list(GROUP_STATUSES)}")
    return {"status": status.upper()}


def next_page(page: int, info: Pagination, count: int, max_pages: int | None) -> int | None:
    """The page to read after ``page`` (which held ``count`` items), or None when done."""
    if not info.has_next or not count or (max_pages is not None and page >= max_pages):
        return None
    return page + 1


def device_query(
    include_retired: Any, filters: Mapping[str, Any]
) -> tuple[dict[str, bool] | None, dict[str, str]]:
    """The ``GET /devices`` parameters and the lowercased filters to apply to its answer."""
    if not isinstance(include_retired, bool):
        raise InputError("include_retired", include_retired, "must be a bool")
    wanted: dict[str, str] = {}
    for field in DEVICE_FILTERS:
        value = filters.get(field)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise InputError(field, value, "must be a non-empty string")
            wanted[field] = value.lower()
    return (None if include_retired else {"retired": False}), wanted


def device_matches(device: Device, wanted: Mapping[str, str]) -> bool:
    """True when ``device`` passes every filter of ``wanted`` (case-insensitive)."""
    values = {
        "vendor": device.vendor,
        "provider": device.provider,
        "device_type": device.device_type,
        "status": device.status,
        "paradigm": device.paradigm,
    }
    for field, want in wanted.items():
        if field == "run_input_type":
            if want not in {t.lower() for t in device.run_input_types}:
                return False
        elif (values[field] or "").lower() != want:
            return False
    return True


def key_filters(key: Any) -> dict[str, Any]:
    """The job filters that find the jobs tagged :data:`TAG_KEY` = ``key``."""
    if not isinstance(key, str) or not key:
        raise InputError("key", key, "must be a non-empty string")
    return {"tags": {TAG_KEY: key}}


def keyed(job: Job, key: str) -> bool:
    """True when ``job`` carries the idempotency key ``key``."""
    return job.tags.get(TAG_KEY) == key
