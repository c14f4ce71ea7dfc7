"""The async IonQ client (Quantum Cloud API v0.4).

``IonQClient`` speaks IonQ's REST protocol over one :class:`~qjobs.transport.Transport`:
jobs (one circuit, multi-circuit batches, OpenQASM 3), batched status polls (``GET /jobs?ids=``),
paged listing, results with measurement maps applied, batched cancellation, backends,
characterizations, estimates and sessions. Circuit encoding lives in
:mod:`qjobs.providers.ionq.circuits`; wire <-> model mapping in :mod:`qjobs.providers.ionq.models`.

The client's parts live beside it: backends, characterizations and estimates in
``_ionq_catalogue``, listing in ``_ionq_jobs``, result assembly in ``_ionq_results``, batch
status and artifacts in ``_ionq_artifacts``, sessions in ``_ionq_sessions``, the submit body in
``_ionq_submit``.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("ionq") as ionq:         # IONQ_API_KEY etc. from .env / environment
        job = await ionq.submit(circuit, shots=100, backend="simulator")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, Final, Unpack

import anyio

from qjobs._core.config import resolve_setting
from qjobs._core.errors import (
    ConflictError,
    InputError,
    JobError,
    MalformedResponseError,
    ValidationError,
)
from qjobs._core.models import Backend, Job, JobStatus, Result
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    Credentials,
    open_transport,
    segment,
)
from qjobs.providers._base import gather as _gather
from qjobs.providers._base import job_id as _job_id
from qjobs.providers.ionq._artifacts import ArtifactsMixin
from qjobs.providers.ionq._base import logger
from qjobs.providers.ionq._catalogue import CatalogueMixin
from qjobs.providers.ionq._sessions import SessionsMixin
from qjobs.providers.ionq.bodies import build_body
from qjobs.providers.ionq.models import (
    PROVIDER,
    BatchStatus,
    Characterization,
    Estimate,
    Session,
    error_parser,
    job_from_wire,
)
from qjobs.providers.ionq.pages import JobListingMixin
from qjobs.providers.ionq.results import ResultsMixin
from qjobs.transport import RequestKind

__all__ = [
    "DEFAULT_BASE_URL",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "BatchStatus",
    "Characterization",
    "Estimate",
    "IonQClient",
    "Session",
]

#: IonQ's production API (the version segment is part of the base).
DEFAULT_BASE_URL: Final = "https://api.ionq.co/v0.4"
#: Environment variables holding the API key, in lookup order (all of them in the environment,
#: then all of them in ``./.env``).
TOKEN_VARIABLES: Final = ("QISKIT_IONQ_API_TOKEN", "IONQ_API_KEY", "IONQ_API_TOKEN")
#: Environment variables holding the API URL, in lookup order.
URL_VARIABLES: Final = ("QISKIT_IONQ_API_URL", "IONQ_API_URL")
_CANCEL_CHUNK: Final = 100


class IonQClient(SessionsMixin, ArtifactsMixin, ResultsMixin, JobListingMixin, CatalogueMixin):
    """Async client for IonQ's Quantum Cloud API v0.4.

    The token comes from ``token=``, else ``QISKIT_IONQ_API_TOKEN``, ``IONQ_API_KEY``,
    ``IONQ_API_TOKEN`` (all looked up in the environment first, then in ``./.env``); the base URL
    from ``base_url=``, else ``QISKIT_IONQ_API_URL``, ``IONQ_API_URL``, else
    ``https://api.ionq.co/v0.4``. Requests carry ``Authorization: apiKey <token>``; the token
    never appears in a repr, a log line or an exception. ``transport_options`` passes extra
    keyword arguments to the :class:`~qjobs.transport.Transport` (e.g. ``sleep=`` in tests).
    """

    provider: ClassVar[str] = PROVIDER
    #: IonQ documents no per-job circuit limit; 100 circuits keep one job's payload, its result
    #: download and the cost of one failure modest. ``status_batch_size`` is the number of ids
    #: per ``GET /jobs?ids=`` (about 4 KB of query).
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=100,
        max_payload_bytes=5_000_000,
        status_batch_size=100,
        poll_initial=0.5,
        poll_max=15.0,
        poll_factor=1.5,
        # IonQ publishes no rate limit. 100 requests/s lets one client outpace a 10-thread
        # pool of blocking SDK calls (docs/benchmarks.md) and the limiter halves it on a 429.
        requests_per_second=100.0,
        max_concurrent_requests=16,
        max_in_flight_jobs=1000,
        page_size=100,
        submit_key=True,
        cancel_batch=True,
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True, required=True)
        url = resolve_setting(
            "base_url", base_url, URL_VARIABLES, dotenv=True, default=DEFAULT_BASE_URL
        )
        assert secret.value is not None
        assert url.value is not None
        credentials = Credentials(url.value, {"Authorization": f"apiKey {secret.value}"})
        transport, caps = open_transport(type(self), credentials, options, error_parser)
        super().__init__(transport, capabilities=caps)
        self.token_source = secret.source
        self._catalogue: dict[str, Backend] | None = None
        self._catalogue_lock = anyio.Lock()
        self._results_cache: dict[tuple[Any, ...], list[Result]] = {}

    async def submit(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str | None = "simulator",
        name: str | None = None,
        key: str | None = None,
        noise: str | Mapping[str, Any] | None = None,
        error_mitigation: bool | Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        metadata: Mapping[str, str] | None = None,
        session_id: str | None = None,
        gateset: str | None = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit (``ionq.circuit.v1``/``ionq.qasm3.v1``) or a list (multi-circuit).

        Everything is validated before the job is sent: shots (1..100000, or the backend's
        range), circuit width against the backend's qubits (the backend catalogue is fetched
        once and cached), unbound parameters, gatesets, string metadata. ``noise`` (simulator
        only) is a model name or ``{"model", "seed"}``; ``error_mitigation=True`` asks for
        debiasing; ``settings`` is merged into IonQ's ``settings``.

        With ``key``, the job carries ``metadata.qjobs_key`` and submission is idempotent: if
        the POST fails ambiguously or with a 5xx, the key is looked up (:meth:`find_by_key`)
        before trying again, so one call never creates two jobs. Without a key such failures are
        raised as they are (:class:`~qjobs.SubmitUncertainError`, :class:`~qjobs.ServerError`).
        """
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for IonQ")
        backend = "simulator" if backend is None else backend
        body, encoded = build_body(
            self.capabilities,
            circuits,
            shots=shots,
            backend=backend,
            name=name,
            key=key,
            noise=noise,
            error_mitigation=error_mitigation,
            settings=settings,
            dry_run=dry_run,
            metadata=metadata,
            session_id=session_id,
            gateset=gateset,
        )
        entry = await self._catalogue_entry(backend)
        if entry is not None:
            if entry.qubits is not None and encoded.qubits > entry.qubits:
                raise InputError(
                    "circuits",
                    f"{encoded.qubits} qubits",
                    f"backend {backend!r} has {entry.qubits} qubits",
                )
            if entry.max_shots is not None and shots > entry.max_shots:
                raise InputError("shots", shots, f"backend {backend!r} allows <= {entry.max_shots}")
            if shots < entry.min_shots:
                raise InputError("shots", shots, f"backend {backend!r} needs >= {entry.min_shots}")
        created = await self._create_once(
            lambda: self._transport.request(
                "POST", "jobs", json=body, kind=RequestKind.CREATE, route="POST /jobs"
            ),
            key,
        )
        if isinstance(created, Job):
            return created
        resp = created
        data = resp.json()
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise MalformedResponseError(
                "job creation answer has no id", provider=PROVIDER, method="POST", path="/jobs"
            )
        merged = {
            "status": "submitted",
            "backend": backend,
            "shots": shots,
            "name": body.get("name"),
            "metadata": body["metadata"],
            "type": body["type"],
            "stats": {"circuits": len(encoded.maps)},
            **{k: v for k, v in data.items() if v is not None},
        }
        job = job_from_wire(merged)
        logger.debug(
            "ionq: submitted job %s (%s, %d circuit(s), %d shots, backend %s)",
            job.id,
            body["type"],
            len(encoded.maps),
            shots,
            backend,
        )
        return job

    # ------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """Fetch one job's current state (``GET /jobs/{id}``)."""
        jid = _job_id(job_id, "job_id")
        data = await self._get_json(f"jobs/{segment(jid)}", route="GET /jobs/{id}")
        return job_from_wire(data)

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Fetch many jobs in the order given, ``status_batch_size`` ids per ``GET /jobs``.

        Chunks are fetched concurrently; an id the list does not return is fetched on its own
        (so a job that does not exist raises :class:`~qjobs.NotFoundError`).
        """
        ids = [_job_id(j, f"job_ids[{i}]") for i, j in enumerate(job_ids)]
        if not ids:
            return []
        size = max(1, self.capabilities.status_batch_size)
        found: dict[str, Job] = {}

        async def chunk(part: list[str]) -> None:
            params: list[tuple[str, str | int]] = [("ids", jid) for jid in part]
            params.append(("limit", len(part)))
            cursor: str | None = None
            for _ in range(len(part) + 1):  # bounded: at least one job per page
                page = params + ([("next", cursor)] if cursor else [])
                data = await self._get_json("jobs", params=page, route="GET /jobs")
                jobs, cursor = self._page(data)
                for job in jobs:
                    found[job.id] = job
                if not cursor or all(jid in found for jid in part):
                    break

        unique = list(dict.fromkeys(ids))
        await _gather(
            [partial(chunk, unique[start : start + size]) for start in range(0, len(unique), size)]
        )
        missing = [jid for jid in unique if jid not in found]
        if missing:

            async def single(jid: str) -> None:
                found[jid] = await self.get_job(jid)

            await _gather([partial(single, jid) for jid in missing])
        return [found[jid] for jid in ids]

    async def results(
        self,
        job: Job | str,
        *,
        sharpen: bool | None = None,
        memory: bool = False,
        **params: Any,
    ) -> list[Result]:
        """The results of a completed job, one per circuit, in circuit order.

        ``Result.probabilities`` is over the circuit's classical bits (the measurement map the
        job carries is applied); counts are ``probabilities x shots`` rounded so they sum to
        exactly ``shots`` (largest remainder). ``memory=True`` also fetches the per-shot
        outcomes (``results/shots``) where IonQ has them; counts then come from those outcomes.
        ``sharpen`` and extra query parameters go to the probabilities request. Results of a
        job are cached. A failed or cancelled job raises :class:`~qjobs.JobFailedError` /
        :class:`~qjobs.JobCancelledError`; an unfinished one :class:`~qjobs.JobError`.
        """
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        if not current.is_final:
            current = await self.get_job(current.id)
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"ionq job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        if current.details.get("dry_run") is True or current.details.get("results", 0) is None:
            raise JobError(
                f"ionq job {current.id} has no results (dry run); "
                "compiled_circuits() fetches what it compiled to",
                job_id=current.id,
                provider=PROVIDER,
            )
        cache_key = (
            current.id,
            sharpen,
            memory,
            tuple(sorted((k, str(v)) for k, v in params.items())),
        )
        cached = self._results_cache.get(cache_key)
        if cached is not None:
            return list(cached)
        data = await self._fetch_probabilities(current, sharpen, params)
        out = await self._results_from(current, data, memory)
        self._results_cache[cache_key] = out
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)

    # ---------------------------------------------------------------------- cancel, delete
    async def cancel(self, job: Job | str) -> None:
        """Cancel a job (``PUT /jobs/{id}/status/cancel``); a final job is left as it is."""
        jid = _job_id(job)
        try:
            await self._transport.request(
                "PUT",
                f"jobs/{segment(jid)}/status/cancel",
                kind=RequestKind.READ,
                route="PUT /jobs/{id}/status/cancel",
            )
        except (ConflictError, ValidationError) as exc:
            logger.debug("ionq: cancel of job %s refused (%s); job is final", jid, exc.status)

    async def cancel_many(self, jobs: Sequence[Job | str]) -> None:
        """Cancel many jobs with ``PUT /jobs/status/cancel {"ids"}``, 100 ids per request,
        the requests concurrent."""
        ids = list(dict.fromkeys(_job_id(j, f"jobs[{i}]") for i, j in enumerate(jobs)))

        async def chunk(part: list[str]) -> None:
            await self._transport.request(
                "PUT",
                "jobs/status/cancel",
                json={"ids": part},
                kind=RequestKind.READ,
                route="PUT /jobs/status/cancel",
            )

        await _gather(
            [
                partial(chunk, ids[start : start + _CANCEL_CHUNK])
                for start in range(0, len(ids), _CANCEL_CHUNK)
            ]
        )

    async def delete(self, job: Job | str) -> None:
        """Delete a job and its results (``DELETE /jobs/{id}``)."""
        jid = _job_id(job)
        await self._transport.request(
            "DELETE", f"jobs/{segment(jid)}", kind=RequestKind.READ, route="DELETE /jobs/{id}"
        )
        for k in [k for k in self._results_cache if k[0] == jid]:
            del self._results_cache[k]
