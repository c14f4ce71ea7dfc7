"""The async qBraid client (Quantum Runtime API, ``/api/v1``).

``QbraidClient`` speaks qBraid's current REST protocol over one
:class:`~qjobs.transport.Transport`: user verification and context, access-token refresh, credit
balance, providers, devices (list with filters, one, status, calibrations), jobs (one program or a
batch of programs in one job, OpenQASM 2 or 3 written from the Circuit IR, name, tags, runtime
options), cost estimates, status options, job listing with page-based pagination, cancel, delete,
results (a 409 "not ready" is waited out), programs and compiled programs, and job groups.
Every answer's ``{"success", "data"}`` envelope is opened in one place
(:meth:`QbraidClient._call`). Wire <-> model mapping lives in
:mod:`qjobs.providers.qbraid.models`, configuration in :mod:`qjobs.providers.qbraid.config`;
the account, device, result and group calls are mixins in :mod:`~qjobs.providers.qbraid._account`,
:mod:`~qjobs.providers.qbraid._devices`, :mod:`~qjobs.providers.qbraid.results` and
:mod:`~qjobs.providers.qbraid._groups` on the shared :mod:`~qjobs.providers.qbraid._base`.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("qbraid") as qb:        # QBRAID_API_KEY / ~/.qbraid/qbraidrc
        job = await qb.submit(circuit, shots=100, backend="qbraid:qbraid:sim:qasm-sim")
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Unpack

import anyio
import orjson

from qjobs._core.durations import seconds
from qjobs._core.errors import (
    ConflictError,
    InputError,
    JobError,
    MalformedResponseError,
    ValidationError,
)
from qjobs._core.models import Backend, Job, JobStatus, Result
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import Capabilities, ClientOptions, Credentials, open_transport, segment
from qjobs.providers.qbraid._account import QbraidAccount
from qjobs.providers.qbraid._base import _MAX_PAGE, _group_id, _job_id, _positive_int, _qrn, _tags
from qjobs.providers.qbraid._devices import DEFAULT_DEVICE, DeviceStatus, QbraidDevices
from qjobs.providers.qbraid._groups import QbraidGroups
from qjobs.providers.qbraid.config import (
    DEFAULT_BASE_URL,
    connect_capped,
    resolve,
    retry_policy,
)
from qjobs.providers.qbraid.models import (
    GROUP_STATUSES,
    HOLD,
    PROVIDER,
    STATUS_MAP,
    AccessToken,
    Calibration,
    CostEstimate,
    CreditBalance,
    Device,
    GroupJob,
    JobStatusOptions,
    Pagination,
    Program,
    ProviderInfo,
    User,
    UserContext,
    backend_from_wire,
    error_parser,
    job_from_wire,
    pagination_from_wire,
    status_options_from_wire,
)
from qjobs.providers.qbraid.results import QbraidResults, _result_from_data
from qjobs.transport import RequestKind, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEVICE",
    "GROUP_STATUSES",
    "STATUS_MAP",
    "AccessToken",
    "Calibration",
    "CostEstimate",
    "CreditBalance",
    "Device",
    "DeviceStatus",
    "GroupJob",
    "JobStatusOptions",
    "Pagination",
    "Program",
    "ProviderInfo",
    "QbraidClient",
    "User",
    "UserContext",
]

logger = logging.getLogger("qjobs.providers.qbraid")

#: The tag carrying the qjobs idempotency key (``GET /jobs?tags=`` finds it).
TAG_KEY: Final = "qjobs_key"
_MAX_KEY_LENGTH: Final = 128
_FIND_PAGES: Final = 5


class QbraidClient(QbraidGroups, QbraidResults, QbraidDevices, QbraidAccount):
    """Async client for qBraid's Quantum Runtime API (``https://api-v2.qbraid.com/api/v1``).

    Credentials and endpoint are resolved when the client is created: explicit arguments, then
    the environment (``QBRAID_API_KEY``, ``QBRAID_ACCESS_TOKEN``, ``QBRAID_API_URL``), then the
    config file (``config_file=``, ``QBRAID_CONFIG_FILE`` or ``~/.qbraid/qbraidrc``, section
    ``[default]``: ``api-key``, ``access-token``, ``url``). Requests carry ``X-API-Key`` (or
    ``X-Access-Token``) and ``X-Domain: qbraid``; the secret never appears in a repr, a log line
    or an exception. TLS verification stays on.

    qBraid's session retry knobs map onto the retry policy: ``retries_total`` (attempts - 1),
    ``retries_connect`` (connection failures retried per request) and ``backoff_factor``
    (urllib3's). Job creation keeps qjobs' safe semantics whatever the knobs say.
    """

    provider: ClassVar[str] = PROVIDER
    #: qBraid documents neither a per-job circuit limit nor rate limits; 100 programs per batch
    #: job and 10 requests/s stay well inside what its platform answers. The job list cannot
    #: filter by id, so states are polled one job per request; tags make submission idempotent.
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=100,
        max_payload_bytes=5_000_000,
        status_batch_size=1,
        poll_initial=1.0,
        poll_max=30.0,
        poll_factor=1.5,
        requests_per_second=10.0,
        max_concurrent_requests=8,
        max_in_flight_jobs=500,
        page_size=_MAX_PAGE,
        submit_key=True,
        cancel_batch=False,
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        api_key: str | None = None,
        access_token: str | None = None,
        base_url: str | None = None,
        config_file: str | os.PathLike[str] | None = None,
        retries_total: int | None = None,
        retries_connect: int | None = None,
        backoff_factor: float | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        if token is not None and api_key is not None:
            raise InputError("api_key", "<set>", "give token= or api_key=, not both")
        settings = resolve(
            token=token if token is not None else api_key,
            access_token=access_token,
            base_url=base_url,
            config_file=config_file,
        )
        options = ClientOptions(**options)
        retry = options.get("retry")
        if retries_total is not None or backoff_factor is not None:
            retry = options["retry"] = retry_policy(
                total=3 if retries_total is None else retries_total,
                backoff_factor=0.5 if backoff_factor is None else backoff_factor,
                base=retry,
            )
        if retries_connect is not None:
            extra = dict(options.get("transport_options") or {})
            extra["retrier"] = connect_capped(retry or RetryPolicy(), retries_connect, extra)
            options["transport_options"] = extra
        credentials = Credentials(
            settings.base_url, {settings.auth_header: settings.secret}, {"X-Domain": "qbraid"}
        )
        transport, caps = open_transport(type(self), credentials, options, error_parser)
        super().__init__(transport, capabilities=caps)
        self._settings = settings
        self.token_source = settings.secret_source
        self.url_source = settings.url_source
        self._devices: dict[str, Device] = {}
        self._devices_lock = anyio.Lock()
        self._results_cache: dict[str, list[Result]] = {}
        self._organization_id: str | None = None

    @property
    def config_file(self) -> Path:
        """The qbraidrc path this client read (and :meth:`save_config` writes by default)."""
        return self._settings.config_file

    async def backends(self) -> list[Backend]:
        """Every non-retired device as a provider-neutral :class:`~qjobs.Backend`."""
        return [backend_from_wire(d) for d in await self.devices()]

    async def submit(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str | None = None,
        name: str | None = None,
        key: str | None = None,
        tags: Mapping[str, str | int | bool] | None = None,
        runtime_options: Mapping[str, Any] | None = None,
        qasm: int | None = None,
        group: GroupJob | str | None = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit, or a list as one batch job (``POST /jobs``), and return the job.

        Circuits travel as OpenQASM 3 (``qasm=2`` for OpenQASM 2; by default the device's
        ``runInputTypes`` decide). Checked before the job is sent: shots against the device's
        range, widths against its qubits, batch support, input types, direct access, bound
        parameters, tags (str/int/bool values; ``qjobs_*`` names are reserved). The device's
        metadata is fetched once and cached. ``runtime_options`` go to ``runtimeOptions``
        (e.g. ``{"noiseModel": ...}``); ``group`` is an open group (:meth:`create_group`) or
        its QRN.

        With ``key``, the job carries the tag ``qjobs_key`` and submission is idempotent: if the
        POST fails ambiguously or with a 5xx, the key is looked up (:meth:`find_by_key`) before
        trying again, so one call never creates two jobs. Without a key such failures are raised
        as they are (:class:`~qjobs.SubmitUncertainError`, :class:`~qjobs.ServerError`).
        """
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for qBraid")
        qrn = _qrn(DEFAULT_DEVICE if backend is None else backend, "backend")
        _positive_int(shots, "shots")
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        if key is not None and (not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH):
            raise InputError("key", key, f"must be a non-empty string of <= {_MAX_KEY_LENGTH}")
        wire_tags = _tags(tags)
        if key is not None:
            wire_tags[TAG_KEY] = key
        if runtime_options is not None and not isinstance(runtime_options, Mapping):
            raise InputError("runtime_options", runtime_options, "must be a mapping")
        group_qrn = None if group is None else _group_id(group)
        device = await self._cached_device(qrn)
        if not device.direct_access:
            raise InputError("backend", qrn, "device has no direct access through the API")
        self._check_shots(shots, device)
        programs = self._programs(circuits, qasm, device)
        noise = (runtime_options or {}).get("noiseModel")
        if noise is not None and device.noise_models and noise not in device.noise_models:
            raise InputError(
                "runtime_options['noiseModel']", noise, f"device offers {list(device.noise_models)}"
            )
        if not device.online:
            logger.warning("qbraid: device %s is %s; the job may wait", qrn, device.status)
        if name is None:
            name = circuits.name if isinstance(circuits, Circuit) else None
        body: dict[str, Any] = {
            "name": name,
            "shots": shots,
            "deviceQrn": qrn,
            "tags": wire_tags,
            "runtimeOptions": dict(runtime_options or {}),
            "groupJobQrn": group_qrn,
            "program": programs[0] if isinstance(circuits, Circuit) else programs,
        }
        try:
            size = len(orjson.dumps(body))
        except TypeError as exc:
            raise InputError("runtime_options", "<body>", f"not JSON-serializable: {exc}") from None
        if size > self.capabilities.max_payload_bytes:
            raise InputError(
                "circuits",
                f"{size} bytes",
                f"payload exceeds max_payload_bytes={self.capabilities.max_payload_bytes}",
            )
        created = await self._create_once(
            lambda: self._call(
                "POST", "jobs", json=body, kind=RequestKind.CREATE, route="POST /jobs"
            ),
            key,
        )
        if isinstance(created, Job):
            return created
        data, _ = created
        job = job_from_wire(data)
        logger.debug(
            "qbraid: submitted job %s (%d program(s), %d shots, device %s)",
            job.id,
            len(programs),
            shots,
            qrn,
        )
        return job

    # -------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """Fetch one job's current state (``GET /jobs/{qrn}``)."""
        jid = _job_id(job_id, "job_id")
        data, _ = await self._call("GET", f"jobs/{segment(jid)}", route="GET /jobs/{qrn}")
        return job_from_wire(data)

    async def job_statuses(self) -> JobStatusOptions:
        """The job status names and status groups qBraid knows (``GET /jobs/statuses``)."""
        data, _ = await self._call("GET", "jobs/statuses", route="GET /jobs/statuses")
        return status_options_from_wire(data)

    def _list_params(self, filters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for field, wire in (
            ("vendor", "vendor"),
            ("provider", "provider"),
            ("status", "status"),
            ("status_group", "statusGroup"),
            ("search", "search"),
        ):
            value = filters.pop(field, None)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise InputError(field, value, "must be a non-empty string")
            if field == "status" and value.upper() not in STATUS_MAP:
                raise InputError(field, value, f"must be one of {sorted(STATUS_MAP)}")
            params[wire] = value.upper() if field == "status" else value
        tags = filters.pop("tags", None)
        if tags is not None:
            if not isinstance(tags, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str | int | bool) for k, v in tags.items()
            ):
                raise InputError("tags", tags, "must be a mapping of str to str, int or bool")
            params["tags"] = orjson.dumps(dict(tags)).decode()
        if filters:
            raise InputError(next(iter(filters)), "...", "unknown job filter for qBraid")
        return params

    async def list_jobs(
        self, *, page: int = 1, limit: int | None = None, **filters: Any
    ) -> tuple[list[Job], Pagination]:
        """One page of jobs (``GET /jobs``), newest first, and its :class:`Pagination`.

        Filters: ``vendor``, ``provider``, ``status`` (a qBraid status), ``status_group``
        (``pending``, ``returned``, ``all``), ``tags`` (a mapping; jobs carrying all of them),
        ``search``. ``limit`` is the page size (1..100, default ``capabilities.page_size``).
        """
        page = _positive_int(page, "page")
        size = _positive_int(self.capabilities.page_size if limit is None else limit, "limit")
        if size > _MAX_PAGE:
            raise InputError("limit", size, f"must be <= {_MAX_PAGE}")
        params = {**self._list_params(dict(filters)), "page": page, "limit": size}
        data, pagination = await self._call("GET", "jobs", params=params, route="GET /jobs")
        if not isinstance(data, list):
            raise MalformedResponseError("job list is not a list", provider=PROVIDER)
        return [job_from_wire(j) for j in data], pagination_from_wire(
            pagination, page=page, limit=size
        )

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over jobs, newest first, following every page (``hasNext``).

        Filters as in :meth:`list_jobs`, plus ``limit`` (page size) and ``max_pages``.
        """
        max_pages = filters.pop("max_pages", None)
        if max_pages is not None:
            _positive_int(max_pages, "max_pages")
        limit = filters.pop("limit", None)
        self._list_params(dict(filters))  # validate before the first request
        page = 1
        while True:
            jobs, info = await self.list_jobs(page=page, limit=limit, **filters)
            for job in jobs:
                yield job
            if not info.has_next or not jobs:
                return
            if max_pages is not None and page >= max_pages:
                return
            page += 1

    async def find_by_key(self, key: str, *, max_pages: int = _FIND_PAGES) -> Job | None:
        """The most recent job tagged ``qjobs_key=key`` (``GET /jobs?tags=...``), or None."""
        if not isinstance(key, str) or not key:
            raise InputError("key", key, "must be a non-empty string")
        async for job in self.iter_jobs(tags={TAG_KEY: key}, max_pages=max_pages):
            if job.tags.get(TAG_KEY) == key:
                return job
        return None

    # ------------------------------------------------------------------------------ results
    async def results(
        self, job: Job | str, *, memory: bool = False, result_timeout: float = 60.0
    ) -> list[Result]:
        """The results of a completed job, one per program, in program order.

        Counts are qBraid's ``measurementCounts`` (bit 0 rightmost); ``probabilities`` come from
        ``measurementProbabilities`` when qBraid sends them, else from the counts. ``memory``
        also reads the per-shot ``measurements`` (each a bit list, element i = classical bit i).
        A failed, cancelled or held (``HOLD``) job raises :class:`~qjobs.JobFailedError` /
        :class:`~qjobs.JobCancelledError`; an unfinished one :class:`~qjobs.JobError`; results
        that lag the COMPLETED status are waited for (see :meth:`raw_result`).
        """
        seconds("result_timeout", result_timeout)
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        if not current.is_final:
            current = await self.get_job(current.id)
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"qbraid job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        cached = self._results_cache.get(current.id)
        if cached is not None and (not memory or all(r.memory is not None for r in cached)):
            return list(cached)
        data = await self.raw_result(current, result_timeout=result_timeout)
        items = data.get("results")
        if isinstance(items, list):
            payloads = []
            for i, item in enumerate(items):
                if not isinstance(item, Mapping):
                    raise MalformedResponseError(
                        f"results[{i}] is not an object", provider=PROVIDER
                    )
                payloads.append(item.get("resultData"))
        else:
            payloads = [data.get("resultData")]
        out = [
            _result_from_data(p, job=current, index=i, memory=memory)
            for i, p in enumerate(payloads)
        ]
        if current.circuit_count and len(out) != current.circuit_count:
            raise MalformedResponseError(
                f"job {current.id} has {current.circuit_count} programs but {len(out)} results",
                provider=PROVIDER,
            )
        self._results_cache[current.id] = out
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)

    # ------------------------------------------------------------------------ cancel, delete
    async def cancel(self, job: Job | str) -> None:
        """Ask qBraid to cancel a job (``POST /jobs/{qrn}/cancel``; it goes ``CANCELLING`` then
        ``CANCELLED``). A job that is already final is left as it is."""
        jid = _job_id(job)
        try:
            await self._call(
                "POST",
                f"jobs/{segment(jid)}/cancel",
                kind=RequestKind.READ,
                route="POST /jobs/{qrn}/cancel",
            )
        except (ValidationError, ConflictError) as exc:
            current = await self.get_job(jid)
            if current.is_final or current.provider_status.upper() in ("CANCELLING", HOLD):
                logger.debug("qbraid: cancel of %s refused (%s); job is final", jid, exc.status)
                return
            raise

    async def delete(self, job: Job | str) -> None:
        """Delete a job (``DELETE /jobs/{qrn}``)."""
        jid = _job_id(job)
        await self._call(
            "DELETE", f"jobs/{segment(jid)}", kind=RequestKind.READ, route="DELETE /jobs/{qrn}"
        )
        self._results_cache.pop(jid, None)

    async def delete_many(self, jobs: Sequence[Job | str]) -> None:
        """Delete many jobs in one request (``DELETE /jobs?qrns=[...]``)."""
        ids = list(dict.fromkeys(_job_id(j, f"jobs[{i}]") for i, j in enumerate(jobs)))
        if not ids:
            return
        await self._call(
            "DELETE",
            "jobs",
            params={"qrns": orjson.dumps(ids).decode()},
            kind=RequestKind.READ,
            route="DELETE /jobs",
        )
        for jid in ids:
            self._results_cache.pop(jid, None)
