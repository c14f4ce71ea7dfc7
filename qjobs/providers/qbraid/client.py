"""The async qBraid client (Quantum Runtime API, ``/api/v1``).

``QbraidClient`` speaks qBraid's current REST protocol over one
:class:`~qjobs.transport.Transport`: jobs (one program or a batch of programs in one job,
OpenQASM 2 or 3 written from the Circuit IR, name, tags, runtime options), status options, job
listing with page-based pagination, cancel, delete, results (a 409 "not ready" is waited out),
programs and compiled programs, job groups, devices (list with filters, one, status,
calibrations), cost estimates, user verification and context, access-token refresh, credit
balance and providers. Every answer's ``{"success", "data"}`` envelope is opened in one place
(:meth:`QbraidClient._call`).

The client does the I/O and calls the pure parts: :mod:`~qjobs.providers.qbraid.bodies`
(checked input -> request bodies), :mod:`~qjobs.providers.qbraid.circuits` (OpenQASM programs),
:mod:`~qjobs.providers.qbraid.pages` (list parameters and paging),
:mod:`~qjobs.providers.qbraid.results` (result payloads -> :class:`~qjobs.Result`),
:mod:`~qjobs.providers.qbraid.models` (wire <-> models) and
:mod:`~qjobs.providers.qbraid.config` (constants, settings, qbraidrc, retry knobs).

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("qbraid") as qb:        # QBRAID_API_KEY / ~/.qbraid/qbraidrc
        job = await qb.submit(circuit, shots=100, backend="qbraid:qbraid:sim:qasm-sim")
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, Final, Unpack

import anyio

from qjobs._core.durations import seconds
from qjobs._core.errors import (
    ConflictError,
    CredentialsError,
    InputError,
    JobTimeoutError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from qjobs._core.models import Backend, Job, Result
from qjobs._core.validation import check_int
from qjobs.circuit._adapt import CircuitLike, as_circuits
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    Credentials,
    ProviderClient,
    open_transport,
    require_completed,
    segment,
)
from qjobs.providers._checks import payload_size
from qjobs.providers.qbraid.bodies import (
    check_device,
    check_name,
    check_noise,
    check_qrn,
    check_runtime_options,
    cost_params,
    delete_params,
    group_body,
    group_ref,
    job_body,
    job_ref,
    job_refs,
    submit_tags,
)
from qjobs.providers.qbraid.circuits import programs
from qjobs.providers.qbraid.config import (
    CAPABILITIES,
    DEFAULT_BASE_URL,
    DEFAULT_DEVICE,
    connect_capped,
    resolve,
    retry_policy,
    write_config,
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
    DeviceStatus,
    GroupJob,
    JobStatusOptions,
    Pagination,
    Program,
    ProviderInfo,
    User,
    UserContext,
    access_token_from_wire,
    backend_from_wire,
    calibration_from_wire,
    cost_estimate_from_wire,
    credits_from_wire,
    device_from_wire,
    device_status_of,
    error_parser,
    group_from_wire,
    job_from_wire,
    pagination_from_wire,
    program_from_wire,
    provider_from_wire,
    status_options_from_wire,
    unwrap,
    user_context_from_wire,
    user_from_wire,
)
from qjobs.providers.qbraid.pages import (
    FIND_PAGES,
    device_matches,
    device_query,
    group_filters,
    job_filters,
    key_filters,
    keyed,
    next_page,
    page_params,
)
from qjobs.providers.qbraid.results import results_from_payload
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

#: The first pause while results lag the COMPLETED status (409); it doubles up to ``poll_max``.
_RESULT_WAIT_FIRST: Final = 0.05
#: How many jobs' results a client keeps (the oldest is dropped first).
_RESULTS_CACHE_SIZE: Final = 1024


class QbraidClient(ProviderClient):
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
    #: See :data:`~qjobs.providers.qbraid.config.CAPABILITIES`.
    default_capabilities: ClassVar[Capabilities] = CAPABILITIES

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

    # ---------------------------------------------------------------------------- submission
    async def submit(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
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
        circuits = as_circuits(circuits)
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for qBraid")
        qrn = check_qrn(DEFAULT_DEVICE if backend is None else backend, "backend")
        check_int("shots", shots, low=1)
        check_name(name)
        wire_tags = submit_tags(tags, key)
        runtime = check_runtime_options(runtime_options)
        group_qrn = None if group is None else group_ref(group)
        device = await self._cached_device(qrn)
        check_device(device, shots)
        wire_programs = programs(
            circuits, qasm, device, max_circuits=self.capabilities.max_circuits_per_job
        )
        check_noise(runtime, device)
        if not device.online:
            logger.warning("qbraid: device %s is %s; the job may wait", qrn, device.status)
        if name is None:
            name = circuits.name if isinstance(circuits, Circuit) else None
        body = job_body(
            name=name,
            shots=shots,
            device_qrn=qrn,
            tags=wire_tags,
            runtime_options=runtime,
            group_qrn=group_qrn,
            programs=wire_programs,
            batch=not isinstance(circuits, Circuit),
        )
        payload_size(body, self.capabilities.max_payload_bytes, field="runtime_options")
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
            len(wire_programs),
            shots,
            qrn,
        )
        return job

    async def estimate_cost(
        self, backend: str | None = None, *, shots: int | None = None
    ) -> CostEstimate:
        """What a job would cost, in credits (``GET /jobs/cost-estimate``).

        ``backend`` is a device QRN (default :data:`DEFAULT_DEVICE`); without ``shots`` qBraid
        assumes 1000. Devices priced per minute answer ``pricing_available=False`` and a
        ``reason``.
        """
        data, _ = await self._call(
            "GET",
            "jobs/cost-estimate",
            params=cost_params(backend, shots),
            route="GET /jobs/cost-estimate",
        )
        return cost_estimate_from_wire(data)

    # -------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """Fetch one job's current state (``GET /jobs/{qrn}``)."""
        jid = job_ref(job_id, "job_id")
        data, _ = await self._call("GET", f"jobs/{segment(jid)}", route="GET /jobs/{qrn}")
        return job_from_wire(data)

    async def job_statuses(self) -> JobStatusOptions:
        """The job status names and status groups qBraid knows (``GET /jobs/statuses``)."""
        data, _ = await self._call("GET", "jobs/statuses", route="GET /jobs/statuses")
        return status_options_from_wire(data)

    async def list_jobs(
        self, *, page: int = 1, limit: int | None = None, **filters: Any
    ) -> tuple[list[Job], Pagination]:
        """One page of jobs (``GET /jobs``), newest first, and its :class:`Pagination`.

        Filters: ``vendor``, ``provider``, ``status`` (a qBraid status), ``status_group``
        (``pending``, ``returned``, ``all``), ``tags`` (a mapping; jobs carrying all of them),
        ``search``. ``limit`` is the page size (1..100, default ``capabilities.page_size``).
        """
        paging = page_params(page, limit, default=self.capabilities.page_size)
        params = {**job_filters(filters), **paging}
        data, pagination = await self._call("GET", "jobs", params=params, route="GET /jobs")
        if not isinstance(data, list):
            raise MalformedResponseError("job list is not a list", provider=PROVIDER)
        return [job_from_wire(j) for j in data], pagination_from_wire(pagination, **paging)

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over jobs, newest first, following every page (``hasNext``).

        Filters as in :meth:`list_jobs`, plus ``limit`` (page size) and ``max_pages``.
        """
        max_pages = filters.pop("max_pages", None)
        if max_pages is not None:
            check_int("max_pages", max_pages, low=1)
        limit = filters.pop("limit", None)
        job_filters(filters)  # validate before the first request
        page: int | None = 1
        while page is not None:
            jobs, info = await self.list_jobs(page=page, limit=limit, **filters)
            for job in jobs:
                yield job
            page = next_page(page, info, len(jobs), max_pages)

    async def find_by_key(self, key: str, *, max_pages: int = FIND_PAGES) -> Job | None:
        """The most recent job tagged ``qjobs_key=key`` (``GET /jobs?tags=...``), or None."""
        async for job in self.iter_jobs(**key_filters(key), max_pages=max_pages):
            if keyed(job, key):
                return job
        return None

    async def cancel(self, job: Job | str) -> None:
        """Ask qBraid to cancel a job (``POST /jobs/{qrn}/cancel``; it goes ``CANCELLING`` then
        ``CANCELLED``). A job that is already final is left as it is."""
        jid = job_ref(job)
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
        jid = job_ref(job)
        await self._call(
            "DELETE", f"jobs/{segment(jid)}", kind=RequestKind.READ, route="DELETE /jobs/{qrn}"
        )
        self._results_cache.pop(jid, None)

    async def delete_many(self, jobs: Sequence[Job | str]) -> None:
        """Delete many jobs in one request (``DELETE /jobs?qrns=[...]``)."""
        ids = job_refs(jobs)
        if not ids:
            return
        await self._call(
            "DELETE", "jobs", params=delete_params(ids), kind=RequestKind.READ, route="DELETE /jobs"
        )
        for jid in ids:
            self._results_cache.pop(jid, None)

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
        current = job if isinstance(job, Job) else await self.get_job(job_ref(job))
        if not current.is_final:
            current = await self.get_job(current.id)
        require_completed(current, PROVIDER)
        cached = self._results_cache.get(current.id)
        if cached is not None and (not memory or all(r.memory is not None for r in cached)):
            return list(cached)
        data = await self.raw_result(current, result_timeout=result_timeout)
        out = results_from_payload(data, job=current, memory=memory)
        self._results_cache[current.id] = out
        if len(self._results_cache) > _RESULTS_CACHE_SIZE:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)

    async def raw_result(
        self, job: Job | str, *, result_timeout: float = 60.0
    ) -> Mapping[str, Any]:
        """The ``data`` of ``GET /jobs/{qrn}/result``, waiting while qBraid answers 409.

        A 409 means the results are not available yet (they can lag the COMPLETED status);
        the request is repeated with growing pauses (from 50 ms up to ``capabilities.poll_max``)
        until ``result_timeout`` seconds have passed, then :class:`~qjobs.JobTimeoutError`.
        """
        jid = job_ref(job)
        deadline = anyio.current_time() + seconds("result_timeout", result_timeout)
        delay = _RESULT_WAIT_FIRST
        while True:
            try:
                data, _ = await self._call(
                    "GET", f"jobs/{segment(jid)}/result", route="GET /jobs/{qrn}/result"
                )
            except ConflictError as exc:
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    raise JobTimeoutError(
                        f"qbraid job {jid}: results still not available after {result_timeout} s "
                        f"({exc.message})",
                        job_id=jid,
                        provider=PROVIDER,
                    ) from None
                logger.debug("qbraid: results of %s not ready; waiting %.2f s", jid, delay)
                await anyio.sleep(min(delay, remaining))
                delay = min(delay * 2, self.capabilities.poll_max)
                continue
            if not isinstance(data, Mapping):
                raise MalformedResponseError("result is not an object", provider=PROVIDER)
            return data

    async def program(self, job: Job | str) -> list[Program]:
        """The programs a job ran (``GET /jobs/{qrn}/program``), one per circuit, in order."""
        jid = job_ref(job)
        data, _ = await self._call(
            "GET", f"jobs/{segment(jid)}/program", route="GET /jobs/{qrn}/program"
        )
        items = data if isinstance(data, list) else [data]
        return [program_from_wire(p) for p in items]

    async def compiled_program(self, job: Job | str) -> list[Program] | None:
        """The programs as compiled for the device (``GET /jobs/{qrn}/compiled-program``), one
        per circuit; None when nothing was compiled (404, as the qbraid SDK does). A job that
        does not exist still raises :class:`~qjobs.NotFoundError`."""
        jid = job_ref(job)
        try:
            data, _ = await self._call(
                "GET",
                f"jobs/{segment(jid)}/compiled-program",
                route="GET /jobs/{qrn}/compiled-program",
            )
        except NotFoundError as exc:
            if exc.code == "JOB_NOT_FOUND":
                raise
            return None
        if data is None:
            return None
        items = data if isinstance(data, list) else [data]
        return [program_from_wire(p) for p in items]

    # ------------------------------------------------------------------------------ groups
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
        body = group_body(name=name, tags=tags, metadata=metadata, max_ttl=max_ttl)
        data, _ = await self._call(
            "POST", "jobs/group", json=body, kind=RequestKind.WRITE, route="POST /jobs/group"
        )
        return group_from_wire(data)

    async def get_group(self, group: GroupJob | str) -> GroupJob:
        """A group's current state and counts (``GET /jobs/group/{qrn}``)."""
        gid = group_ref(group)
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
        paging = page_params(page, limit, default=self.capabilities.page_size)
        params = {**paging, **group_filters(status)}
        data, pagination = await self._call(
            "GET", "jobs/group", params=params, route="GET /jobs/group"
        )
        if not isinstance(data, list):
            raise MalformedResponseError("group list is not a list", provider=PROVIDER)
        return [group_from_wire(g) for g in data], pagination_from_wire(pagination, **paging)

    async def iter_groups(
        self, *, status: str | None = None, limit: int | None = None, max_pages: int | None = None
    ) -> AsyncIterator[GroupJob]:
        """Iterate over groups, newest first, following every page (``hasNext``)."""
        if max_pages is not None:
            check_int("max_pages", max_pages, low=1)
        page: int | None = 1
        while page is not None:
            groups, info = await self.list_groups(status=status, page=page, limit=limit)
            for group in groups:
                yield group
            page = next_page(page, info, len(groups), max_pages)

    async def group_jobs(self, group: GroupJob | str) -> list[Job]:
        """The jobs of a group (``GET /jobs/group/{qrn}/jobs``)."""
        gid = group_ref(group)
        data, _ = await self._call(
            "GET", f"jobs/group/{segment(gid)}/jobs", route="GET /jobs/group/{qrn}/jobs"
        )
        if not isinstance(data, list):
            raise MalformedResponseError("group job list is not a list", provider=PROVIDER)
        return [job_from_wire(j) for j in data]

    async def close_group(self, group: GroupJob | str) -> GroupJob:
        """Stop a group taking jobs (``POST /jobs/group/{qrn}/close``); its jobs run on."""
        gid = group_ref(group)
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
        gid = group_ref(group)
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
        gid = group_ref(group)
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

    # ---------------------------------------------------------------------------- catalogue
    async def backends(self) -> list[Backend]:
        """Every non-retired device as a provider-neutral :class:`~qjobs.Backend`."""
        return [backend_from_wire(d) for d in await self.devices()]

    async def devices(
        self,
        *,
        include_retired: bool = False,
        vendor: str | None = None,
        provider: str | None = None,
        device_type: str | None = None,
        status: str | None = None,
        paradigm: str | None = None,
        run_input_type: str | None = None,
    ) -> list[Device]:
        """The devices qBraid offers (``GET /devices``; ``retired=false`` unless
        ``include_retired``). The other filters are applied to the answer (case-insensitive):
        ``vendor``, ``provider``, ``device_type`` (``SIMULATOR``/``QPU``), ``status``,
        ``paradigm`` and ``run_input_type`` (e.g. ``"qasm3"``). Devices are cached."""
        params, wanted = device_query(
            include_retired,
            {
                "vendor": vendor,
                "provider": provider,
                "device_type": device_type,
                "status": status,
                "paradigm": paradigm,
                "run_input_type": run_input_type,
            },
        )
        data, _ = await self._call("GET", "devices", params=params, route="GET /devices")
        if not isinstance(data, list):
            raise MalformedResponseError("device list is not a list", provider=PROVIDER)
        out: list[Device] = []
        for item in data:
            try:
                device = device_from_wire(item)
            except MalformedResponseError as exc:
                logger.warning("qbraid: skipping an invalid device: %s", exc)
                continue
            self._devices[device.qrn] = device
            if device_matches(device, wanted):
                out.append(device)
        return out

    async def device(self, qrn: str) -> Device:
        """One device (``GET /devices/{qrn}``); refreshes the cached entry."""
        qrn = check_qrn(qrn, "qrn")
        data, _ = await self._call("GET", f"devices/{segment(qrn)}", route="GET /devices/{qrn}")
        device = device_from_wire(data)
        self._devices[device.qrn] = device
        return device

    async def device_status(self, qrn: str) -> DeviceStatus:
        """A device's status and queue depth (qBraid has no separate status endpoint)."""
        return device_status_of(await self.device(qrn))

    async def calibration(self, qrn: str) -> Calibration | None:
        """A device's latest calibration (``GET /devices/{qrn}/calibrations``): per-qubit and
        per-edge figures; None when qBraid has none (simulators)."""
        qrn = check_qrn(qrn, "qrn")
        data, _ = await self._call(
            "GET", f"devices/{segment(qrn)}/calibrations", route="GET /devices/{qrn}/calibrations"
        )
        return calibration_from_wire(data)

    async def _cached_device(self, qrn: str) -> Device:
        """The device ``qrn`` from the cache, else fetched once (unknown: InputError)."""
        async with self._devices_lock:
            cached = self._devices.get(qrn)
            if cached is not None:
                return cached
            try:
                return await self.device(qrn)
            except NotFoundError:
                raise InputError("backend", qrn, "no such qBraid device") from None

    # ------------------------------------------------------------------------------ account
    async def verify_user(self) -> User:
        """Check the credentials (``GET /users/verify``) and return the account.

        An answer whose ``success`` is false or whose user is not ``valid`` raises
        :class:`~qjobs.CredentialsError`.
        """
        resp = await self._transport.request("GET", "users/verify", route="GET /users/verify")
        payload = resp.json()
        if not isinstance(payload, Mapping) or payload.get("success") is not True:
            raise CredentialsError("qBraid did not verify the credentials (success is not true)")
        user = user_from_wire(payload.get("data"))
        if not user.valid:
            raise CredentialsError("qBraid reports the credentials as not valid")
        return user

    async def save_config(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        verify: bool = True,
        overwrite: bool = False,
    ) -> Path:
        """Write this client's API key and URL to qbraidrc (``[default]``: ``api-key``, ``url``).

        With ``verify`` the credentials are checked first (``GET /users/verify``). Other keys
        of the file (``email``, ``refresh-token``, ...) are kept; the file is owner-only (0600).
        A different value already stored raises :class:`~qjobs.InputError` unless ``overwrite``.
        Writes to ``path``, else the file the client read its configuration from.
        """
        if self._settings.auth_header != "X-API-Key":
            raise InputError("token", "<access token>", "save_config() stores API keys only")
        if verify:
            await self.verify_user()
        updates = {"api-key": self._settings.secret, "url": self.base_url + "/"}
        default = self._settings.config_file

        def write() -> Path:
            target = Path(path).expanduser() if path is not None else default
            return write_config(target, updates, overwrite=overwrite)

        return await anyio.to_thread.run_sync(write)

    async def user_context(self) -> UserContext:
        """The signed-in user's context (``GET /users/context``), e.g. ``is_admin``."""
        data, _ = await self._call("GET", "users/context", route="GET /users/context")
        return user_context_from_wire(data)

    async def refresh_access_token(self) -> AccessToken:
        """Extend the access token's life (``POST /access-tokens/refresh``; qBraid gives 24 h).

        Only a client configured with an access token (``access_token=``,
        ``QBRAID_ACCESS_TOKEN`` or qbraidrc ``access-token``) has one to refresh; with an API
        key this raises :class:`~qjobs.InputError` before any request.
        """
        if self._settings.auth_header != "X-Access-Token":
            raise InputError(
                "access_token", None, "this client authenticates with an API key, not a token"
            )
        data, _ = await self._call(
            "POST",
            "access-tokens/refresh",
            kind=RequestKind.READ,
            route="POST /access-tokens/refresh",
        )
        return access_token_from_wire(data)

    async def credits(self, organization_id: str | None = None) -> CreditBalance:
        """The organization's credit balance (``GET /billing/credits/balance``).

        ``organization_id`` defaults to the account's own organization, learnt once from
        ``GET /users/verify``. Credits: 1 credit = $0.01.
        """
        if organization_id is None:
            if self._organization_id is None:
                user = await self.verify_user()
                if not user.organization_id:
                    raise MalformedResponseError(
                        "the verified user has no organizationId", provider=PROVIDER
                    )
                self._organization_id = user.organization_id
            organization_id = self._organization_id
        elif not isinstance(organization_id, str) or not organization_id:
            raise InputError("organization_id", organization_id, "must be a non-empty string")
        data, _ = await self._call(
            "GET",
            "billing/credits/balance",
            params={"organizationId": organization_id},
            route="GET /billing/credits/balance",
        )
        return credits_from_wire(data)

    async def providers(self) -> list[ProviderInfo]:
        """The providers qBraid offers devices from (``GET /providers``)."""
        data, _ = await self._call("GET", "providers", route="GET /providers")
        items = data.get("providers") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise MalformedResponseError("providers is not a list", provider=PROVIDER)
        return [provider_from_wire(item) for item in items]
