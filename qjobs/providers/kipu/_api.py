"""Kipu Quantum Hub request helpers and the small namespaces: backends, workloads, runtime minutes.

:class:`KipuHTTP` is the one place that turns Hub answers into data: JSON bodies, 204/empty
bodies on optional endpoints (``None``), page wrappers ``{content, page, size, total_elements,
total_pages}`` (zero-based pages) followed to the last page. Query keys are camelCase, bodies
snake_case (spec §3). Every argument is validated before a request is sent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Backend
from qjobs._core.validation import is_int
from qjobs.providers._base import check_id as _check_id
from qjobs.providers._base import segment
from qjobs.providers.kipu.models import (
    PROVIDER,
    Allowance,
    BackendState,
    Calibration,
    Workload,
    backend_from_wire,
    calibration_from_wire,
    structure_model,
)
from qjobs.transport import RequestKind, Transport

__all__ = [
    "BackendsAPI",
    "KipuHTTP",
    "Query",
    "RuntimeMinutesAPI",
    "ServiceExecutionWorkloadsAPI",
    "WorkloadsAPI",
    "check_id",
    "check_page_size",
    "iso",
    "sort_params",
]

Query = list[tuple[str, str | int | bool]]

_MAX_PAGE_SIZE: Final = 1000
WORKLOAD_TYPES: Final = frozenset({"JOB", "SESSION"})
WORKLOAD_ORIGINS: Final = frozenset({"STANDALONE", "SERVICE_EXECUTION"})


def check_id(value: Any, field: str) -> str:
    """A path segment (see :func:`qjobs.providers._base.check_id`)."""
    return _check_id(value, field)


def check_page_size(value: Any, field: str = "size") -> int:
    """A page size from 1 to 1000."""
    if not is_int(value, low=1, high=_MAX_PAGE_SIZE):
        raise InputError(field, value, f"must be an int from 1 to {_MAX_PAGE_SIZE}")
    return value


def check_max_pages(value: Any) -> int | None:
    """None or an int >= 1."""
    if value is not None and (not is_int(value, low=1)):
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


def iso(value: Any, field: str) -> str:
    """A query datetime: UTC as ``Z``, other zones as ``+HH:MM``, naive ones in local time."""
    if not isinstance(value, datetime):
        raise InputError(field, value, "must be a datetime")
    moment = value if value.tzinfo is not None else value.astimezone()
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _choices(value: Any, field: str, allowed: frozenset[str] | None = None) -> list[str]:
    """One string or a list of them (repeated query keys)."""
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


class KipuHTTP:
    """The client's requests, shared by every namespace: one transport, one service prefix.

    ``prefix`` is ``""`` for the user's own context or ``"service-executions/{id}/"`` for the
    service-execution twins.
    """

    def __init__(self, transport: Transport, prefix: str = "") -> None:
        self.transport = transport
        self.prefix = prefix

    def scoped(self, prefix: str) -> KipuHTTP:
        """A helper on the same transport with another path prefix."""
        return KipuHTTP(self.transport, prefix)

    def _route(self, method: str, template: str) -> str:
        scope = "/service-executions/{se}" if self.prefix else ""
        return f"{method} {scope}/{template}"

    async def get(
        self, path: str, template: str, *, params: Query | None = None, optional: bool = False
    ) -> Any:
        """GET ``path`` and return its JSON; with ``optional``, 204 or an empty body is None."""
        resp = await self.transport.request(
            "GET", self.prefix + path, params=params, route=self._route("GET", template)
        )
        if optional and (resp.status == 204 or not resp.content.strip()):
            return None
        if not resp.content.strip():
            raise MalformedResponseError(
                f"empty {resp.status} answer", provider=PROVIDER, method="GET", path=path
            )
        return resp.json()

    async def send(
        self,
        method: str,
        path: str,
        template: str,
        *,
        json: Any = None,
        kind: RequestKind = RequestKind.READ,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """A request with an optional JSON body; returns the JSON answer or None when empty."""
        options: dict[str, Any] = {"kind": kind, "route": self._route(method, template)}
        if json is not None:
            options["json"] = json
        if headers:
            options["headers"] = headers
        resp = await self.transport.request(method, self.prefix + path, **options)
        if resp.status == 204 or not resp.content.strip():
            return None
        return resp.json()

    async def pages(
        self,
        path: str,
        template: str,
        params: Query,
        *,
        size: int,
        start: int = 0,
        max_pages: int | None = None,
    ) -> AsyncGenerator[Any, None]:
        """Yield every item of a paged listing, page after page, up to the last page."""
        page = start
        fetched = 0
        while True:
            query = [*params, ("page", page), ("size", size)]
            data = await self.get(path, template, params=query)
            if not isinstance(data, Mapping):
                raise MalformedResponseError(
                    "page is not an object", provider=PROVIDER, method="GET", path=path
                )
            content = data.get("content")
            if content is None:
                content = []
            if not isinstance(content, list):
                raise MalformedResponseError(
                    "page content is not a list", provider=PROVIDER, method="GET", path=path
                )
            for item in content:
                yield item
            fetched += 1
            total = data.get("total_pages")
            if not content or (isinstance(total, int) and page + 1 >= total):
                return
            if not isinstance(total, int) and len(content) < size:
                return
            if max_pages is not None and fetched >= max_pages:
                return
            page += 1


# ----------------------------------------------------------------------------- backends
class BackendsAPI:
    """``client.backends``: the backend catalogue, states, configurations and calibrations."""

    def __init__(self, http: KipuHTTP) -> None:
        self._http = http

    async def __call__(self) -> list[Backend]:
        """``await client.backends()``: every backend, as the provider interface has it."""
        return await self.list()

    async def list(
        self, *, provider: str | None = None, only_planqk_sdk: bool | None = None
    ) -> list[Backend]:
        """Every backend (``GET backends``), optionally of one ``provider`` (e.g. ``"AWS"``)."""
        params: Query = []
        if provider is not None:
            params.append(("provider", _choices(provider, "provider")[0]))
        if only_planqk_sdk is not None:
            if not isinstance(only_planqk_sdk, bool):
                raise InputError("only_planqk_sdk", only_planqk_sdk, "must be a bool or None")
            params.append(("onlyPlanqkSdk", only_planqk_sdk))
        data = await self._http.get("backends", "backends", params=params)
        if not isinstance(data, list):
            raise MalformedResponseError("backend list is not a list", provider=PROVIDER)
        return [backend_from_wire(item) for item in data]

    async def get(self, backend_id: str) -> Backend:
        """One backend (``GET backends/{id}``)."""
        bid = check_id(backend_id, "backend_id")
        return backend_from_wire(await self._http.get(f"backends/{segment(bid)}", "backends/{id}"))

    async def status(self, backend_id: str) -> BackendState:
        """Status and queue of a backend (``GET backends/{id}/status``)."""
        bid = check_id(backend_id, "backend_id")
        data = await self._http.get(f"backends/{segment(bid)}/status", "backends/{id}/status")
        return structure_model(data, BackendState, "backend status")

    async def config(self, backend_id: str) -> dict[str, Any]:
        """A backend's free-form configuration object (``GET backends/{id}/config``)."""
        bid = check_id(backend_id, "backend_id")
        data = await self._http.get(f"backends/{segment(bid)}/config", "backends/{id}/config")
        if not isinstance(data, dict):
            raise MalformedResponseError("backend config is not an object", provider=PROVIDER)
        return data

    async def calibration(
        self, backend_id: str, *, effective_at: datetime | None = None
    ) -> Calibration | None:
        """The calibration in force (at ``effective_at``, default now); None when there is
        none (simulators, or before the first one)."""
        bid = check_id(backend_id, "backend_id")
        params: Query = []
        if effective_at is not None:
            params.append(("effectiveAt", iso(effective_at, "effective_at")))
        data = await self._http.get(
            f"backends/{segment(bid)}/calibration",
            "backends/{id}/calibration",
            params=params,
            optional=True,
        )
        return None if data is None else calibration_from_wire(data)

    async def calibration_history(
        self,
        backend_id: str,
        *,
        start: datetime,
        end: datetime,
        size: int = 100,
        sort: str | Sequence[str] | None = None,
        max_pages: int | None = None,
    ) -> AsyncGenerator[Calibration, None]:
        """Calibrations between ``start`` and ``end`` (``from``/``to``), newest first, every
        page followed (``max_pages`` stops earlier)."""
        bid = check_id(backend_id, "backend_id")
        params: Query = [("from", iso(start, "start")), ("to", iso(end, "end"))]
        if end < start:
            raise InputError("end", end, "must not be before start")
        params += sort_params(sort)
        size = check_page_size(size)
        limit = check_max_pages(max_pages)
        async for item in self._http.pages(
            f"backends/{segment(bid)}/calibration-history",
            "backends/{id}/calibration-history",
            params,
            size=size,
            max_pages=limit,
        ):
            yield calibration_from_wire(item)

    async def least_busy(self, provider: str, *, min_qubits: int | None = None) -> Backend:
        """The least busy backend of ``provider`` (the Hub supports ``"IBM"`` only)."""
        params: Query = [("provider", _choices(provider, "provider")[0])]
        if min_qubits is not None:
            if not is_int(min_qubits, low=1):
                raise InputError("min_qubits", min_qubits, "must be an int >= 1 or None")
            params.append(("minQubits", min_qubits))
        data = await self._http.get("backends/least-busy", "backends/least-busy", params=params)
        return backend_from_wire(data)


# ---------------------------------------------------------------------------- workloads
def _workload(item: Any) -> Workload:
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        raise MalformedResponseError("workload without an id", provider=PROVIDER)
    return structure_model(item, Workload, "workload")


class WorkloadsAPI:
    """``client.workloads``: jobs and sessions as workloads, with every filter of the Hub."""

    def __init__(self, http: KipuHTTP, page_size: int) -> None:
        self._http = http
        self._page_size = page_size

    async def search(
        self,
        *,
        type: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        provider: str | Sequence[str] | None = None,
        backend_id: str | Sequence[str] | None = None,
        tag: str | Sequence[str] | None = None,
        origin: str | Sequence[str] | None = None,
        service_execution_id: str | Sequence[str] | None = None,
        sort: str | Sequence[str] | None = None,
        size: int | None = None,
        max_pages: int | None = None,
    ) -> AsyncGenerator[Workload, None]:
        """Workloads matching every given filter (a list means any of its values), newest
        first unless ``sort`` says otherwise; all pages followed."""
        params: Query = []
        for key, value, allowed in (
            ("type", type, WORKLOAD_TYPES),
            ("status", status, None),
            ("provider", provider, None),
            ("backendId", backend_id, None),
            ("tag", tag, None),
            ("origin", origin, WORKLOAD_ORIGINS),
            ("serviceExecutionId", service_execution_id, None),
        ):
            if value is not None:
                params.extend((key, v) for v in _choices(value, _snake(key), allowed))
        params += sort_params(sort)
        page_size = check_page_size(self._page_size if size is None else size)
        limit = check_max_pages(max_pages)
        async for item in self._http.pages(
            "workloads", "workloads", params, size=page_size, max_pages=limit
        ):
            yield _workload(item)


class ServiceExecutionWorkloadsAPI:
    """``client.service_execution(id).workloads``: the service execution's workloads."""

    def __init__(self, http: KipuHTTP, page_size: int) -> None:
        self._http = http
        self._page_size = page_size

    async def search(
        self,
        *,
        sort: str | Sequence[str] | None = None,
        size: int | None = None,
        max_pages: int | None = None,
    ) -> AsyncGenerator[Workload, None]:
        """The service execution's workloads (page, size and sort only), all pages followed."""
        params = sort_params(sort)
        page_size = check_page_size(self._page_size if size is None else size)
        limit = check_max_pages(max_pages)
        async for item in self._http.pages(
            "workloads", "workloads", params, size=page_size, max_pages=limit
        ):
            yield _workload(item)


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


# ------------------------------------------------------------------------ runtime minutes
class RuntimeMinutesAPI:
    """``client.runtime_minutes``: QPU time allowances."""

    def __init__(self, http: KipuHTTP) -> None:
        self._http = http

    async def get(self) -> list[Allowance]:
        """Every allowance (``GET runtime-minutes``)."""
        data = await self._http.get("runtime-minutes", "runtime-minutes")
        items = data.get("allowances") if isinstance(data, Mapping) else None
        if items is None:
            return []
        if not isinstance(items, list):
            raise MalformedResponseError("allowances is not a list", provider=PROVIDER)
        return [structure_model(a, Allowance, "allowance") for a in items]
