"""What every part of the qBraid client shares: input checks and the response envelope.

:class:`QbraidBase` holds the client's state and :meth:`QbraidBase._call`, the one place qBraid's
``{"success", "data"}`` envelope is opened; the mixins in ``_qbraid_*`` build on it and
:class:`~qjobs.providers.qbraid.QbraidClient` inherits them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import anyio

from qjobs._core.errors import InputError
from qjobs._core.models import Job, Result
from qjobs._core.validation import is_int
from qjobs.providers._base import ProviderClient, check_id, job_id
from qjobs.providers.qbraid.config import QbraidSettings
from qjobs.providers.qbraid.models import Device, GroupJob, unwrap
from qjobs.transport import RequestKind

_MAX_PAGE: Final = 100


def _job_id(job: Job | str, field: str = "job") -> str:
    return job_id(job, field, what="a qBraid job QRN")


def _qrn(value: Any, field: str) -> str:
    return check_id(value, field, what="a qBraid QRN such as 'qbraid:qbraid:sim:qasm-sim'")


def _group_id(group: GroupJob | str, field: str = "group") -> str:
    return _qrn(group.qrn if isinstance(group, GroupJob) else group, field)


def _positive_int(value: Any, field: str) -> int:
    if not is_int(value, low=1):
        raise InputError(field, value, "must be an int >= 1")
    return value


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str | int | bool]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InputError("tags", tags, "must be a mapping of str to str, int or bool")
    out: dict[str, str | int | bool] = {}
    for k, v in tags.items():
        if not isinstance(k, str) or not k:
            raise InputError("tags", k, "tag names must be non-empty strings")
        if k.startswith("qjobs_"):
            raise InputError(f"tags[{k!r}]", v, "tag names starting with 'qjobs_' are reserved")
        if not isinstance(v, str | int | bool):
            raise InputError(f"tags[{k!r}]", v, "tag values must be str, int or bool")
        out[k] = v
    return out


class QbraidBase(ProviderClient):
    """The qBraid client's state and request helper (the mixins' common base)."""

    _settings: QbraidSettings
    _devices: dict[str, Device]
    _devices_lock: anyio.Lock
    _results_cache: dict[str, list[Result]]
    _organization_id: str | None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        route: str,
        params: Any = None,
        json: Any = None,
        kind: RequestKind | None = None,
    ) -> tuple[Any, Mapping[str, Any] | None]:
        """Make one request and open qBraid's ``{success, data}`` envelope (the only place)."""
        options: dict[str, Any] = {"params": params, "route": route, "kind": kind}
        if json is not None:
            options["json"] = json
        resp = await self._transport.request(method, path, **options)
        if not resp.content and method in ("DELETE", "POST"):
            return None, None
        return unwrap(resp.json(), method=method, path=route.partition(" ")[2])
