"""The async Kipu Quantum Hub client (the Hub's quantum API, formerly PlanQK): :class:`KipuClient`.

``KipuClient`` has the Hub's namespaces as small attribute objects — ``client.backends``,
``client.jobs``, ``client.sessions``, ``client.workloads``, ``client.runtime_minutes`` and
``client.service_execution(id)`` for the service-execution twins
(:mod:`qjobs.providers.kipu.resources`) — and also implements the flat
:class:`~qjobs.ProviderClient` interface the scheduler uses (``submit``, ``get_job``,
``get_jobs``, ``results``, ``cancel``, ``find_by_key``...). Circuit encoding per backend lives in
:mod:`qjobs.providers.kipu.circuits`; wire <-> model mapping in :mod:`qjobs.providers.kipu.models`.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("kipu") as hub:   # KQH_PERSONAL_ACCESS_TOKEN, qhubctl config, ...
        job = await hub.submit(circuit, shots=100, backend="kipu.sim.qsim")
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from functools import partial
from typing import Any, ClassVar, Unpack

import anyio
import attrs

from qjobs._core.errors import InputError, MalformedResponseError, NotFoundError
from qjobs._core.models import Backend, Job, JobFailure, JobStatus, Result
from qjobs.circuit._adapt import CircuitLike, as_circuits
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    ProviderClient,
    check_id,
    gather,
    open_transport,
    require_completed,
)
from qjobs.providers._checks import catalogue_entry, payload_size
from qjobs.providers.kipu import bodies, config, pages
from qjobs.providers.kipu import circuits as codec
from qjobs.providers.kipu import results as parts
from qjobs.providers.kipu.bodies import job_ref
from qjobs.providers.kipu.models import PROVIDER, error_parser
from qjobs.providers.kipu.resources import (
    BackendsAPI,
    JobsAPI,
    KipuHTTP,
    RuntimeMinutesAPI,
    ServiceExecution,
    SessionsAPI,
    WorkloadsAPI,
)

__all__ = ["KipuClient"]

logger = logging.getLogger("qjobs.providers.kipu")


class KipuClient(ProviderClient):
    """Async client for the Kipu Quantum Hub quantum API.

    Credentials and context as Kipu users know them (see :mod:`qjobs.providers.kipu.config`):
    the token from ``token=``, else ``KQH_SERVICE_EXECUTION_TOKEN``,
    ``KQH_PERSONAL_ACCESS_TOKEN``, the legacy ``PLANQK_*`` names, else the ``qhubctl`` config
    file's ``auth.value``; the organization from ``organization_id=``, else
    ``KQH_ORGANIZATION_ID`` (legacy ``PLANQK_ORGANIZATION_ID``), else the config file's context
    when it is an organization. Requests carry ``X-Auth-Token`` (never logged or shown) and, with
    an organization, ``X-OrganizationId``. ``transport_options`` passes extra keyword arguments to
    the :class:`~qjobs.transport.Transport` (e.g. ``sleep=`` in tests).
    """

    provider: ClassVar[str] = PROVIDER
    #: See :data:`qjobs.providers.kipu.config.CAPABILITIES`.
    default_capabilities: ClassVar[Capabilities] = config.CAPABILITIES

    def __init__(
        self,
        *,
        token: str | None = None,
        organization_id: str | None = None,
        base_url: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        secret, org, url = config.resolve(token, organization_id, base_url)
        credentials = config.credentials(secret, org, url)
        transport, caps = open_transport(type(self), credentials, options, error_parser)
        super().__init__(transport, capabilities=caps)
        self.token_source = secret.source
        self.organization_id = org.value
        self.organization_source = org.source
        self._http = KipuHTTP(transport)
        self._backends = BackendsAPI(self._http)
        self._jobs = JobsAPI(self._http, caps.page_size)
        self._sessions = SessionsAPI(self._http)
        self._workloads = WorkloadsAPI(self._http, caps.page_size)
        self._runtime_minutes = RuntimeMinutesAPI(self._http)
        self._catalogue: dict[str, Backend] | None = None
        self._catalogue_lock = anyio.Lock()
        self._failures: dict[str, JobFailure] = {}
        self._results_cache: dict[tuple[str, bool], list[Result]] = {}

    def __repr__(self) -> str:
        org = f" organization={self.organization_id}" if self.organization_id else ""
        return f"<KipuClient {self.base_url}{org}>"

    # ------------------------------------------------------------------------------- submit
    async def submit(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
        *,
        shots: int,
        backend: str | None = config.DEFAULT_BACKEND,
        name: str | None = None,
        key: str | None = None,
        tags: Sequence[str] | None = None,
        session_id: str | None = None,
        input_params: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit (or several where the backend takes a list) and return the job.

        The circuit is encoded for the backend (:mod:`qjobs.providers.kipu.circuits`); shots and
        width are checked against the backend catalogue (fetched once) before anything is sent. With
        ``key`` the job carries the tag ``qjobs_key:<key>`` and submission is idempotent: after
        an ambiguous failure or a 5xx the key is looked up before trying again.
        """
        circuits = as_circuits(circuits)
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for Kipu")
        backend = config.DEFAULT_BACKEND if backend is None else check_id(backend, "backend")
        all_tags = bodies.submission_tags(tags, key)
        bodies.check_circuits(circuits, self.capabilities.max_circuits_per_job)
        body, _widths = self._jobs.build_body(
            backend,
            shots=shots,
            input=circuits,
            name=name,
            input_params=input_params,
            tags=all_tags or None,
            session_id=session_id,
        )
        payload_size(body, self.capabilities.max_payload_bytes)
        entry = await self._catalogue_entry(backend)
        if entry is not None:
            bodies.check_backend(entry, circuits, shots)
        job = await self._create_once(lambda: self._jobs.post(body), key)
        logger.debug("kipu: submitted job %s (%d shots, backend %s)", job.id, shots, backend)
        return job

    def max_circuits_for(self, backend: str | None) -> int:
        """Circuits per job on ``backend``: up to ``capabilities.max_circuits_per_job`` where the
        backend takes a list (IBM Sampler PUBs, Braket program sets, Qudora), else 1."""
        name = config.DEFAULT_BACKEND if backend is None else backend
        most = codec.max_circuits(name)
        limit = self.capabilities.max_circuits_per_job
        return max(1, most if limit is None else min(limit, most))

    async def _catalogue_entry(self, name: str) -> Backend | None:
        async with self._catalogue_lock:
            if self._catalogue is None:
                try:
                    found = await self._backends.list()
                except NotFoundError:
                    found = []
                self._catalogue = {b.name: b for b in found}
        return catalogue_entry(self._catalogue, name, "Hub")

    # --------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """A job's current state (``GET jobs/{id}``); a failed job carries the Hub's error."""
        return await self._with_failure(await self._jobs.get(job_ref(job_id, "job_id")))

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Many jobs' states in the order given, read from pages of ``GET jobs`` (newest
        first, ``page_size`` per request) for more than two ids; ids not on those pages are
        fetched one by one (an unknown one raises :class:`~qjobs.NotFoundError`)."""
        ids = [job_ref(j, f"job_ids[{i}]") for i, j in enumerate(job_ids)]
        unique = list(dict.fromkeys(ids))
        found: dict[str, Job] = {}
        if len(unique) > pages.SINGLE_FETCH_MAX:
            wanted = set(unique)
            size, count = pages.status_pages(len(unique), self.capabilities.page_size)
            async with aclosing(self._jobs.search(size=size, max_pages=count)) as listing:
                async for job in listing:
                    if job.id in wanted:
                        found[job.id] = job
                        if len(found) == len(wanted):
                            break

        async def single(jid: str) -> None:
            found[jid] = await self._jobs.get(jid)

        missing = [jid for jid in unique if jid not in found]
        if missing:
            await gather([partial(single, jid) for jid in missing])
        return [await self._with_failure(found[jid]) for jid in ids]

    async def iter_jobs(self, **filters: Any) -> AsyncGenerator[Job, None]:
        """Every job, newest first, following every page (``jobs.search`` filters: ``sort``,
        ``size``, ``page``, ``service_execution_id``, ``max_pages``)."""
        async with aclosing(self._jobs.search(**filters)) as listing:
            async for job in listing:
                yield job

    async def find_by_key(self, key: str) -> Job | None:
        """The most recent job tagged ``qjobs_key:<key>`` (``GET workloads?type=JOB&tag=``)."""
        tag = pages.key_tag(key)
        async with aclosing(
            self._workloads.search(
                type="JOB", tag=tag, size=pages.FIND_PAGE_SIZE, max_pages=pages.FIND_PAGES
            )
        ) as listing:
            async for workload in listing:
                return await self.get_job(workload.id)
        return None

    async def cancel(self, job: Job | str) -> None:
        """Cancel a job (``DELETE jobs/{id}``); cancelling a final job is not an error."""
        await self._jobs.cancel(job)

    async def _with_failure(self, job: Job) -> Job:
        """A FAILED job with the Hub's error message (read once from its result)."""
        if job.provider_status.upper() != "FAILED":
            return job
        failure = self._failures.get(job.id)
        if failure is None:
            try:
                data = await self._jobs.result(job.id)
            except NotFoundError:
                data = None
            failure = parts.failure_from_result(data)
            self._failures[job.id] = failure
        return attrs.evolve(job, failure=failure)

    # ------------------------------------------------------------------------------ results
    async def results(self, job: Job | str, *, memory: bool = False) -> list[Result]:
        """The results of a completed job, one per circuit (PUB), in order.

        Read from ``result/normalized`` (Qiskit bit order: classical bit 0 rightmost, as
        :class:`~qjobs.Result` has it); when the Hub has no normalized form (204) the native
        result is read (counts, Braket ``measurement_counts``, IonQ ``histogram``).
        ``memory=True`` adds the per-shot outcomes (``result/normalized/memory``) to a
        single-circuit result. Results are cached per job.
        """
        if not isinstance(memory, bool):
            raise InputError("memory", memory, "must be a bool")
        current = job if isinstance(job, Job) else await self.get_job(job_ref(job))
        if not current.is_final:
            current = await self.get_job(current.id)
        if current.status is JobStatus.FAILED and current.failure is None:
            current = await self._with_failure(current)
        require_completed(current, PROVIDER)
        cached = self._results_cache.get((current.id, memory))
        if cached is not None:
            return list(cached)
        normalized = await self._jobs.normalized_result(current.id)
        if normalized is not None:
            out = parts.normalized_results(normalized, current)
        else:
            native = parts.native_results(await self._jobs.result(current.id), current)
            if native is None:
                raise MalformedResponseError(
                    f"job {current.id} has no normalized result and an unknown native one",
                    provider=PROVIDER,
                )
            out = native
        if memory and len(out) == 1:
            mem = await self._jobs.normalized_memory(current.id)
            if mem is not None:
                out[0].memory = parts.memory_of(mem.memory, out[0])
        self._results_cache[(current.id, memory)] = out
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)

    # ---------------------------------------------------------------------------- namespaces
    @property
    def backends(self) -> BackendsAPI:
        """``client.backends``: ``list``, ``get``, ``status``, ``config``, ``calibration``,
        ``calibration_history``, ``least_busy``; calling it (``await client.backends()``)
        lists every backend, as the provider interface has it."""
        return self._backends

    @property
    def jobs(self) -> JobsAPI:
        """``client.jobs``: ``search``, ``create``, ``get``, ``status``, ``result``,
        ``normalized_result``, ``normalized_memory``, ``stream_result``, ``input``,
        ``normalized_input``, ``calibration``, ``cancel``."""
        return self._jobs

    @property
    def sessions(self) -> SessionsAPI:
        """``client.sessions``: ``create``, ``open`` (closes on exit), ``get``, ``status``,
        ``jobs``, ``accept_jobs``, ``stop_accepting``, ``close``."""
        return self._sessions

    @property
    def workloads(self) -> WorkloadsAPI:
        """``client.workloads``: ``search`` with every filter."""
        return self._workloads

    @property
    def runtime_minutes(self) -> RuntimeMinutesAPI:
        """``client.runtime_minutes``: ``get`` the allowances."""
        return self._runtime_minutes

    def service_execution(self, service_execution_id: str) -> ServiceExecution:
        """The service-execution twins under ``service-executions/{id}/``."""
        sid = check_id(service_execution_id, "service_execution_id")
        return ServiceExecution(self._http, sid, self.capabilities.page_size)
