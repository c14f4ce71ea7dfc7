"""Kipu Quantum Hub listings and paging (pure, no I/O).

Listings answer page wrappers ``{content, page, size, total_elements, total_pages}`` with
zero-based pages; query keys are camelCase (spec §3). :func:`page_content` reads one page and
:func:`is_last_page` says when to stop; :func:`sort_params` and :func:`workload_params` build
the query; :func:`key_tag` and the ``FIND_*`` constants make the lookup of a client key;
:func:`status_pages` sizes the listing that reads many jobs' states at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.validation import is_int
from qjobs.providers.kipu.config import KEY_TAG, WORKLOAD_ORIGINS, WORKLOAD_TYPES
from qjobs.providers.kipu.models import PROVIDER

__all__ = [
    "FIND_PAGES",
    "FIND_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SINGLE_FETCH_MAX",
    "Query",
    "check_max_pages",
    "check_page_size",
    "choices",
    "is_last_page",
    "key_tag",
    "page_content",
    "sort_params",
    "status_pages",
    "workload_params",
]

#: A query: repeated keys are allowed (``sort``, filters given as lists).
Query = list[tuple[str, str | int | bool]]

#: The largest page the Hub serves.
MAX_PAGE_SIZE: Final = 1000
#: The lookup of a client key reads one page of this many workloads (newest first).
FIND_PAGE_SIZE: Final = 10
FIND_PAGES: Final = 1
#: Up to this many ids, many jobs' states are read one by one rather than from listing pages.
SINGLE_FETCH_MAX: Final = 2


def check_page_size(value: Any, field: str = "size") -> int:
    """A page size from 1 to 1000."""
    if not is_int(value, low=1, high=MAX_PAGE_SIZE):
        raise InputError(field, value, f"must be an int from 1 to {MAX_PAGE_SIZE}")
    return value


def check_max_pages(value: Any) -> int | None:
    """None or an int >= 1."""
    if value is not None and not is_int(value, low=1):
        raise InputError("max_pages", value, "must be an int >= 1 or None")
    return value


def sort_params(sort: str | Sequence[str] | None) -> Query:
    """Repeated ``sort=prop,asc|desc`` keys (``"prop"`` alone means ascending)."""
    if sort is None:
        return []
    items = [sort] if isinstance(sort, str) else list(sort)
    out: Query = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise InputError(f"sort[{i}]", item, "must be 'property' or 'property,asc|desc'")
        prop, _, direction = item.partition(",")
        if not prop.strip() or direction.strip().lower() not in ("", "asc", "desc"):
            raise InputError(f"sort[{i}]", item, "must be 'property' or 'property,asc|desc'")
        out.append(("sort", item))
    return out


def choices(value: Any, field: str, allowed: frozenset[str] | None = None) -> list[str]:
    """One string or a list of them (repeated query keys); upper-cased when ``allowed`` is
    given, and then each must be one of it."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise InputError(field, value, "must be a string or a non-empty list of strings")
    out = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise InputError(field, value, "must hold non-empty strings")
        if allowed is not None and item.upper() not in allowed:
            raise InputError(field, item, f"must be one of {sorted(allowed)}")
        out.append(item.upper() if allowed is not None else item)
    return out


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def workload_params(filters: Mapping[str, Any]) -> Query:
    """The ``GET workloads`` query of the given filters (camelCase keys; a list means any of
    its values; ``type`` and ``origin`` checked against the Hub's values). ``None`` is no
    filter; the error names the snake_case argument."""
    params: Query = []
    for key, allowed in (
        ("type", WORKLOAD_TYPES),
        ("status", None),
        ("provider", None),
        ("backendId", None),
        ("tag", None),
        ("origin", WORKLOAD_ORIGINS),
        ("serviceExecutionId", None),
    ):
        value = filters.get(_snake(key))
        if value is not None:
            params.extend((key, v) for v in choices(value, _snake(key), allowed))
    return params


def page_content(data: Any, path: str) -> list[Any]:
    """The items of one page wrapper (``content``; missing means none)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError(
            "page is not an object", provider=PROVIDER, method="GET", path=path
        )
    content = data.get("content")
    if content is None:
        return []
    if not isinstance(content, list):
        raise MalformedResponseError(
            "page content is not a list", provider=PROVIDER, method="GET", path=path
        )
    return content


def is_last_page(data: Mapping[str, Any], content: Sequence[Any], page: int, size: int) -> bool:
    """Whether page ``page`` (zero-based, ``content`` read from ``data``) ends the listing: it
    is empty, the last of ``total_pages``, or (without ``total_pages``) shorter than ``size``."""
    total = data.get("total_pages")
    if not content or (isinstance(total, int) and page + 1 >= total):
        return True
    return not isinstance(total, int) and len(content) < size


def key_tag(key: Any) -> str:
    """The tag carrying a client key: ``qjobs_key:<key>`` (the key a non-empty string)."""
    if not isinstance(key, str) or not key:
        raise InputError("key", key, "must be a non-empty string")
    return f"{KEY_TAG}:{key}"


def status_pages(count: int, page_size: int) -> tuple[int, int]:
    """The page size and number of pages of ``GET jobs`` read to find ``count`` jobs' states:
    pages as large as allowed, and one more than the ids would fill (newer jobs come first)."""
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    return size, -(-count // size) + 1
