"""The async Kipu Quantum Hub client (the Hub's quantum API, formerly PlanQK).

``KipuClient`` has the Hub's namespaces as small attribute objects — ``client.backends``,
``client.jobs``, ``client.sessions``, ``client.workloads``, ``client.runtime_minutes`` and
``client.service_execution(id)`` for the service-execution twins — and also implements the flat
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
from typing import Any, ClassVar, Final, Unpack

import anyio
import attrs
import numpy as np
import numpy.typing as npt
import orjson

from qjobs._core.errors import (
    InputError,
    JobError,
    JobFailedError,
    MalformedResponseError,
    NotFoundError,
)
from qjobs._core.models import Backend, Job, JobFailure, JobStatus, OutcomeCheck, Result
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    Credentials,
    ProviderClient,
    gather,
    open_transport,
    segment,
)
from qjobs.providers.ionq import circuits as ionq_codec
from qjobs.providers.kipu import config
from qjobs.providers.kipu._api import (
    BackendsAPI,
    KipuHTTP,
    RuntimeMinutesAPI,
    ServiceExecutionWorkloadsAPI,
    WorkloadsAPI,
    check_id,
)
from qjobs.providers.kipu.models import (
    PROVIDER,
    Allowance,
    BackendState,
    Calibration,
    JobState,
    NormalizedInput,
    NormalizedMemory,
    NormalizedResult,
    Pub,
    Session,
    Workload,
    error_parser,
)
from qjobs.providers.kipu.resources import (
    JobsAPI,
    ServiceExecutionJobsAPI,
    ServiceExecutionSessionsAPI,
    SessionsAPI,
    job_ref,
)

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_BASE_URL",
    "KEY_TAG",
    "Allowance",
    "BackendState",
    "BackendsAPI",
    "Calibration",
    "JobState",
    "JobsAPI",
    "KipuClient",
    "NormalizedInput",
    "NormalizedMemory",
    "NormalizedResult",
    "Pub",
    "RuntimeMinutesAPI",
    "ServiceExecution",
    "Session",
    "SessionsAPI",
    "Workload",
    "WorkloadsAPI",
]

logger = logging.getLogger("qjobs.providers.kipu")

DEFAULT_BASE_URL: Final = config.DEFAULT_BASE_URL
#: The backend :meth:`KipuClient.submit` uses when none is given: Kipu's own simulator.
DEFAULT_BACKEND: Final = "kipu.sim.qsim"
#: The tag prefix carrying a client key (``qjobs_key:<key>``), found with ``GET workloads?tag=``.
KEY_TAG: Final = "qjobs_key"
_MAX_KEY_LENGTH: Final = 128
_SINGLE_FETCH_MAX: Final = 2


class ServiceExecution:
    """The ``service-executions/{id}/`` twins: ``.jobs``, ``.sessions`` and ``.workloads``."""

    def __init__(self, http: KipuHTTP, service_execution_id: str, page_size: int) -> None:
        self.id = service_execution_id
        scoped = http.scoped(f"service-executions/{segment(service_execution_id)}/")
        self.jobs = ServiceExecutionJobsAPI(scoped, page_size)
        self.sessions = ServiceExecutionSessionsAPI(scoped)
        self.workloads = ServiceExecutionWorkloadsAPI(scoped, page_size)

    def __repr__(self) -> str:
        return f"<ServiceExecution {self.id}>"


def _key_check(keys: Any, width: Any, job: Job, what: str) -> OutcomeCheck:
    """The check for bitstring keys: ``width`` (the PUB's) or the first key's, capped."""
    if width is None:
        first = next(iter(keys), "")
        width = len(first.replace(" ", "")) if isinstance(first, str) else -1
    return OutcomeCheck.for_result(width, PROVIDER, f"job {job.id} {what}")


def _native_counts(data: Any, job: Job) -> list[Result] | None:
    """Results from a native result when the Hub has no normalized one (204)."""
    if not isinstance(data, Mapping):
        return None
    shots = job.shots
    raw = data.get("counts")
    flip = False
    if not isinstance(raw, Mapping):
        raw = data.get("measurement_counts")  # Braket: qubit 0 leftmost
        flip = True
    if isinstance(raw, Mapping):
        check = _key_check(raw, None, job, "counts")
        counts = check.counts(raw, shots=shots)
        n = check.width
        if flip:
            counts = {int(format(k, f"0{n}b")[::-1] or "0", 2): v for k, v in counts.items()}
        return [Result.from_outcomes(counts, n, job_id=job.id, job=job)]
    if isinstance(data.get("histogram"), Mapping) and shots:  # IonQ: decimal keys, qubit i = bit i
        return [_ionq_histogram(data["histogram"], job, shots)]
    return None


def _ionq_histogram(histogram: Mapping[Any, Any], job: Job, shots: int) -> Result:
    """An IonQ-native histogram (decimal keys over qubits) mapped to the submitted clbits."""
    raw_map = job.details.get("input_params")
    sources: Any = None
    if isinstance(raw_map, Mapping) and isinstance(raw_map.get("meas_map"), str):
        try:
            sources = orjson.loads(raw_map["meas_map"])
        except orjson.JSONDecodeError:
            sources = None
    # Keys are over every qubit (unmeasured ones too): only an int64's width is known.
    keys = OutcomeCheck(62, PROVIDER, f"job {job.id} histogram")
    if not isinstance(sources, list):  # a job qjobs did not submit: one clbit per key bit
        top = max((keys.number(k) for k in histogram), default=0)
        sources = list(range(max(top.bit_length(), 1)))
    if not all(s is None or (type(s) is int and 0 <= s < keys.width) for s in sources):
        raise MalformedResponseError("the job's meas_map is not a qubit list", provider=PROVIDER)
    mm = ionq_codec.MeasurementMap(tuple(sources))
    OutcomeCheck.for_result(mm.num_clbits, PROVIDER, f"job {job.id} histogram")  # width cap
    dense = mm.apply_probabilities(keys.probabilities(histogram))
    return Result.from_probabilities(dense, shots, job_id=job.id, job=job)


def _result_of_pub(pub: Pub, job: Job, index: int) -> Result:
    if pub.type == "error":
        error = pub.error or {}
        raise JobFailedError(
            str(error.get("message") or "the circuit failed"),
            job_id=job.id,
            provider=PROVIDER,
            code=None if error.get("code") is None else str(error.get("code")),
        )
    kwargs: dict[str, Any] = {"job_id": job.id, "index": index, "job": job}
    if pub.type == "counts" and pub.counts is not None:
        check = _key_check(pub.counts, pub.qubits, job, f"pub {index}")
        shots = pub.shots if pub.shots is not None else job.shots
        counts = check.counts(pub.counts, shots=shots)
        if pub.shots is not None:
            kwargs["shots"] = pub.shots
        return Result.from_outcomes(counts, check.width, **kwargs)
    if pub.type == "probabilities" and pub.probabilities is not None:
        check = _key_check(pub.probabilities, pub.qubits, job, f"pub {index}")
        width = check.width
        dense = np.zeros(1 << width, dtype=np.float64)
        for k, p in check.probabilities(pub.probabilities, keys="bits").items():
            dense[k] = p
        shots = pub.shots if pub.shots is not None else (job.shots or 0)
        return Result.from_probabilities(dense, shots, **kwargs)
    raise MalformedResponseError(
        f"pub {index} of job {job.id} is {pub.type!r} ({pub.reason or 'no counts'})",
        provider=PROVIDER,
    )


def _memory_of(memory: Sequence[str], result: Result) -> npt.NDArray[np.int64]:
    """Per-shot outcomes (Qiskit hex strings), each within the result's classical bits."""
    check = OutcomeCheck(result.num_clbits, PROVIDER, f"job {result.job_id} memory")
    return check.samples(
        [check.number(h if h.lower().startswith("0x") else "0x" + h) for h in memory]
    )


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
    #: One circuit per job by default: most Hub backends take one program per job (Braket
    #: program sets, Qudora and IBM take lists; raise ``max_circuits_per_job`` for those).
    #: Status polling pages through ``GET jobs`` (newest first, ``page_size`` per request);
    #: jobs carry a ``qjobs_key:<key>`` tag found with ``GET workloads?tag=``.
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=1,
        max_payload_bytes=10_000_000,
        status_batch_size=100,
        poll_initial=1.0,
        poll_max=30.0,
        poll_factor=1.5,
        requests_per_second=10.0,
        max_concurrent_requests=8,
        max_in_flight_jobs=500,
        page_size=100,
        submit_key=True,
        cancel_batch=False,
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        organization_id: str | None = None,
        base_url: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        secret, org, url = config.resolve(token, organization_id, base_url)
        assert secret.value is not None
        assert url.value is not None
        credentials = Credentials(
            url.value,
            {"X-Auth-Token": secret.value},
            {} if org.value is None else {"X-OrganizationId": org.value},
        )
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

    # -------------------------------------------------------------------------- namespaces
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

    # ---------------------------------------------------------------------------- catalogue
    async def _catalogue_entry(self, name: str) -> Backend | None:
        async with self._catalogue_lock:
            if self._catalogue is None:
                try:
                    found = await self._backends.list()
                except NotFoundError:
                    found = []
                self._catalogue = {b.name: b for b in found}
        if not self._catalogue:
            return None
        entry = self._catalogue.get(name)
        if entry is None:
            raise InputError(
                "backend", name, f"unknown Hub backend; known: {sorted(self._catalogue)}"
            )
        return entry

    # ------------------------------------------------------------------------------- submit
    async def submit(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str | None = DEFAULT_BACKEND,
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
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for Kipu")
        backend = DEFAULT_BACKEND if backend is None else check_id(backend, "backend")
        if tags is not None and (isinstance(tags, str) or not isinstance(tags, Sequence)):
            raise InputError("tags", tags, "must be a list of strings")
        all_tags = list(tags) if tags is not None else []
        if key is not None:
            if not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH:
                raise InputError("key", key, f"must be a non-empty string of <= {_MAX_KEY_LENGTH}")
            all_tags.append(f"{KEY_TAG}:{key}")
        if isinstance(circuits, Sequence) and not isinstance(circuits, Circuit | str):
            count = len(circuits)
            if count > self.capabilities.max_circuits_per_job:
                raise InputError(
                    "circuits",
                    f"{count} circuits",
                    f"more than max_circuits_per_job={self.capabilities.max_circuits_per_job}",
                )
        elif not isinstance(circuits, Circuit):
            raise InputError("circuits", type(circuits).__name__, "must be a Circuit or a list")
        body, _widths = self._jobs.build_body(
            backend,
            shots=shots,
            input=circuits,
            name=name,
            input_params=input_params,
            tags=all_tags or None,
            session_id=session_id,
        )
        size = len(orjson.dumps(body))
        if size > self.capabilities.max_payload_bytes:
            raise InputError(
                "circuits",
                f"{size} bytes",
                f"payload exceeds max_payload_bytes={self.capabilities.max_payload_bytes}",
            )
        await self._check_backend(backend, circuits, shots)
        job = await self._create_once(lambda: self._jobs.post(body), key)
        logger.debug("kipu: submitted job %s (%d shots, backend %s)", job.id, shots, backend)
        return job

    async def _check_backend(
        self, backend: str, circuits: Circuit | Sequence[Circuit], shots: int
    ) -> None:
        entry = await self._catalogue_entry(backend)
        if entry is None:
            return
        seq = [circuits] if isinstance(circuits, Circuit) else list(circuits)
        width = max(c.num_qubits for c in seq)
        if entry.qubits is not None and width > entry.qubits:
            raise InputError(
                "circuits", f"{width} qubits", f"backend {backend!r} has {entry.qubits} qubits"
            )
        if entry.max_shots is not None and shots > entry.max_shots:
            raise InputError("shots", shots, f"backend {backend!r} allows <= {entry.max_shots}")
        if shots < entry.min_shots:
            raise InputError("shots", shots, f"backend {backend!r} needs >= {entry.min_shots}")

    # --------------------------------------------------------------------------------- jobs
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
            error = data.get("error") if isinstance(data, Mapping) else None
            if isinstance(error, Mapping):
                failure = JobFailure(
                    message=str(error.get("message") or "no reason given"),
                    code=None if error.get("code") is None else str(error["code"]),
                )
            else:
                failure = JobFailure(message="no reason given")
            self._failures[job.id] = failure
        return attrs.evolve(job, failure=failure)

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
        if len(unique) > _SINGLE_FETCH_MAX:
            wanted = set(unique)
            size = max(1, min(self.capabilities.page_size, 1000))
            pages = -(-len(unique) // size) + 1
            async with aclosing(self._jobs.search(size=size, max_pages=pages)) as listing:
                async for job in listing:
                    if job.id in wanted:
                        found[job.id] = job
                        if len(found) == len(wanted):
                            break
        missing = [jid for jid in unique if jid not in found]

        async def single(jid: str) -> None:
            found[jid] = await self._jobs.get(jid)

        if missing:
            await gather([partial(single, jid) for jid in missing])
        out = []
        for jid in ids:
            out.append(await self._with_failure(found[jid]))
        return out

    async def iter_jobs(self, **filters: Any) -> AsyncGenerator[Job, None]:
        """Every job, newest first, following every page (``jobs.search`` filters: ``sort``,
        ``size``, ``page``, ``service_execution_id``, ``max_pages``)."""
        async with aclosing(self._jobs.search(**filters)) as listing:
            async for job in listing:
                yield job

    async def find_by_key(self, key: str) -> Job | None:
        """The most recent job tagged ``qjobs_key:<key>`` (``GET workloads?type=JOB&tag=``)."""
        if not isinstance(key, str) or not key:
            raise InputError("key", key, "must be a non-empty string")
        async with aclosing(
            self._workloads.search(type="JOB", tag=f"{KEY_TAG}:{key}", size=10, max_pages=1)
        ) as listing:
            async for workload in listing:
                return await self.get_job(workload.id)
        return None

    async def cancel(self, job: Job | str) -> None:
        """Cancel a job (``DELETE jobs/{id}``); cancelling a final job is not an error."""
        await self._jobs.cancel(job)

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
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"kipu job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        cached = self._results_cache.get((current.id, memory))
        if cached is not None:
            return list(cached)
        normalized = await self._jobs.normalized_result(current.id)
        if normalized is None:
            native = _native_counts(await self._jobs.result(current.id), current)
            if native is None:
                raise MalformedResponseError(
                    f"job {current.id} has no normalized result and an unknown native one",
                    provider=PROVIDER,
                )
            out = native
        else:
            out = [_result_of_pub(p, current, i) for i, p in enumerate(normalized.pubs)]
        if memory and len(out) == 1:
            mem = await self._jobs.normalized_memory(current.id)
            if mem is not None:
                out[0].memory = _memory_of(mem.memory, out[0])
        self._results_cache[(current.id, memory)] = out
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)
