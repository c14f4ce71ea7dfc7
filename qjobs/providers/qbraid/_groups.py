"""The qBraid client's job groups: create, get, list, iterate, jobs, close, cancel, delete,
and the ``group()`` context manager."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio
import orjson

from qjobs._core.errors import (
    ConflictError,
    InputError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from qjobs._core.models import Job
from qjobs.providers._base import segment
from qjobs.providers.qbraid._base import _MAX_PAGE, QbraidBase, _group_id, _positive_int, _tags
from qjobs.providers.qbraid.models import (
    GROUP_STATUSES,
    PROVIDER,
    GroupJob,
    Pagination,
    group_from_wire,
    job_from_wire,
    pagination_from_wire,
)
from qjobs.transport import RequestKind

logger = logging.getLogger("qjobs.providers.qbraid")

_MAX_GROUP_TTL: Final = 86_400


class QbraidGroups(QbraidBase):
    """Job-group calls of :class:`~qjobs.providers.qbraid.QbraidClient`."""

    async def create_group(
        self,
        *,
        name: str | None = None,
        tags: Mapping[str, str | int | bool] | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_ttl: int | None = None,
    ) -> GroupJob:
        """Open a job group (``POST /jobs/group``); pass it as ``submit(..., group=g)``.

        ``max_ttl`` (seconds, 1..86400; qBraid's default 3600) bounds how long the group stays
        open. Tags follow the job rules (str/int/bool values, ``qjobs_*`` names reserved);
        ``metadata`` must be JSON-serializable.
        """
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        wire_tags = _tags(tags)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InputError("metadata", metadata, "must be a mapping")
        if max_ttl is not None and (
            isinstance(max_ttl, bool)
            or not isinstance(max_ttl, int)
            or not 1 <= max_ttl <= _MAX_GROUP_TTL
        ):
            raise InputError("max_ttl", max_ttl, f"must be an int from 1 to {_MAX_GROUP_TTL}")
        body: dict[str, Any] = {"name": name, "tags": wire_tags, "metadata": dict(metadata or {})}
        if max_ttl is not None:
            body["maxTTL"] = max_ttl
        try:
            orjson.dumps(body)
        except TypeError as exc:
            raise InputError("metadata", "<metadata>", f"not JSON-serializable: {exc}") from None
        data, _ = await self._call(
            "POST", "jobs/group", json=body, kind=RequestKind.WRITE, route="POST /jobs/group"
        )
        return group_from_wire(data)

    async def get_group(self, group: GroupJob | str) -> GroupJob:
        """A group's current state and counts (``GET /jobs/group/{qrn}``)."""
        gid = _group_id(group)
        data, _ = await self._call(
            "GET", f"jobs/group/{segment(gid)}", route="GET /jobs/group/{qrn}"
        )
        return group_from_wire(data)

    async def list_groups(
        self, *, status: str | None = None, page: int = 1, limit: int | None = None
    ) -> tuple[list[GroupJob], Pagination]:
        """One page of groups (``GET /jobs/group``), newest first, and its :class:`Pagination`.

        ``status`` is one of :data:`GROUP_STATUSES`; ``limit`` the page size (1..100).
        """
        params: dict[str, Any] = {"page": _positive_int(page, "page")}
        size = _positive_int(self.capabilities.page_size if limit is None else limit, "limit")
        if size > _MAX_PAGE:
            raise InputError("limit", size, f"must be <= {_MAX_PAGE}")
        params["limit"] = size
        if status is not None:
            if not isinstance(status, str) or status.upper() not in GROUP_STATUSES:
                raise InputError("status", status, f"must be one of {list(GROUP_STATUSES)}")
            params["status"] = status.upper()
        data, pagination = await self._call(
            "GET", "jobs/group", params=params, route="GET /jobs/group"
        )
        if not isinstance(data, list):
            raise MalformedResponseError("group list is not a list", provider=PROVIDER)
        return [group_from_wire(g) for g in data], pagination_from_wire(
            pagination, page=page, limit=size
        )

    async def iter_groups(
        self, *, status: str | None = None, limit: int | None = None, max_pages: int | None = None
    ) -> AsyncIterator[GroupJob]:
        """Iterate over groups, newest first, following every page (``hasNext``)."""
        if max_pages is not None:
            _positive_int(max_pages, "max_pages")
        page = 1
        while True:
            groups, info = await self.list_groups(status=status, page=page, limit=limit)
            for group in groups:
                yield group
            if not info.has_next or not groups or (max_pages is not None and page >= max_pages):
                return
            page += 1

    async def group_jobs(self, group: GroupJob | str) -> list[Job]:
        """The jobs of a group (``GET /jobs/group/{qrn}/jobs``)."""
        gid = _group_id(group)
        data, _ = await self._call(
            "GET", f"jobs/group/{segment(gid)}/jobs", route="GET /jobs/group/{qrn}/jobs"
        )
        if not isinstance(data, list):
            raise MalformedResponseError("group job list is not a list", provider=PROVIDER)
        return [job_from_wire(j) for j in data]

    async def close_group(self, group: GroupJob | str) -> GroupJob:
        """Stop a group taking jobs (``POST /jobs/group/{qrn}/close``); its jobs run on."""
        gid = _group_id(group)
        data, _ = await self._call(
            "POST",
            f"jobs/group/{segment(gid)}/close",
            kind=RequestKind.READ,
            route="POST /jobs/group/{qrn}/close",
        )
        return group_from_wire(data) if data is not None else await self.get_group(gid)

    async def cancel_group(self, group: GroupJob | str) -> GroupJob:
        """Cancel a group and its unfinished jobs (``POST /jobs/group/{qrn}/cancel``).

        A group that is already final is left as it is and returned.
        """
        gid = _group_id(group)
        try:
            data, _ = await self._call(
                "POST",
                f"jobs/group/{segment(gid)}/cancel",
                kind=RequestKind.READ,
                route="POST /jobs/group/{qrn}/cancel",
            )
        except (ValidationError, ConflictError) as exc:
            current = await self.get_group(gid)
            if current.is_final:
                logger.debug("qbraid: cancel of group %s refused (%s); final", gid, exc.status)
                return current
            raise
        return group_from_wire(data) if data is not None else await self.get_group(gid)

    async def delete_group(self, group: GroupJob | str) -> None:
        """Delete a group (``DELETE /jobs/group/{qrn}``); one already gone (404) is ignored."""
        gid = _group_id(group)
        try:
            await self._call(
                "DELETE",
                f"jobs/group/{segment(gid)}",
                kind=RequestKind.READ,
                route="DELETE /jobs/group/{qrn}",
            )
        except NotFoundError:
            logger.debug("qbraid: group %s was already deleted", gid)

    @asynccontextmanager
    async def group(
        self,
        *,
        name: str | None = None,
        tags: Mapping[str, str | int | bool] | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_ttl: int | None = None,
    ) -> AsyncIterator[GroupJob]:
        """``async with qb.group(name="scan") as g: await qb.submit(..., group=g)``.

        The group is closed on exit (its jobs run on). If the block raised, the group and its
        unfinished jobs are cancelled instead, then the error propagates.
        """
        opened = await self.create_group(name=name, tags=tags, metadata=metadata, max_ttl=max_ttl)
        try:
            yield opened
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.cancel_group(opened)
            raise
        else:
            await self.close_group(opened)
