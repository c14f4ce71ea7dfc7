"""The async QPI client (qpi-ui server, PocketBase-based).

``QPIClient`` speaks the protocol of ``shared/specs/qpi.md`` over one
:class:`~qjobs.transport.Transport`: jobs (OpenQASM 3 circuits with parameter values, shots,
measurement level and return mode, always with an explicit QPU target), paged job listing,
results per circuit and per parameter set, cancellation, QPUs, and the account surface
(password login, notifications, time slots, QPU time requests, users, QPU administration and
API tokens). Wire <-> model mapping lives in :mod:`qjobs.providers.qpi.models`; the job body
in ``_qpi_body``, results decoding in ``_qpi_results``, request plumbing and paging in
``_qpi_requests``, and the account, time and administration parts in ``_qpi_account``,
``_qpi_time`` and ``_qpi_admin``.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("qpi", base_url="http://127.0.0.1:8090") as qpi:  # QPI_API_TOKEN
        job = await qpi.submit(circuit, shots=1000, backend="qiskit_aer")
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar, Final, Unpack

import anyio
import numpy as np
import numpy.typing as npt

from qjobs._core.config import resolve_setting
from qjobs._core.errors import InputError, JobError, MalformedResponseError, NotFoundError
from qjobs._core.models import Backend, Job, JobStatus, Result
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import Capabilities, ClientOptions, open_transport, segment
from qjobs.providers._base import job_id as _job_id
from qjobs.providers.qpi._account import QPIAccount
from qjobs.providers.qpi._admin import QPIAdmin
from qjobs.providers.qpi._requests import record_id as _record_id
from qjobs.providers.qpi._time import QPITime
from qjobs.providers.qpi.bodies import build_body, key_of
from qjobs.providers.qpi.models import (
    PROVIDER,
    ApiToken,
    Notification,
    QPUConnection,
    QPUCreated,
    TimeRequest,
    TimeSlot,
    User,
    backend_from_wire,
    error_parser,
    job_from_wire,
)
from qjobs.providers.qpi.results import (
    entries_of,
    iq_of,
    is_payload_copy,
    outcome_of,
    payload_widths,
)
from qjobs.transport import RequestKind

__all__ = [
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "ApiToken",
    "Notification",
    "QPIClient",
    "QPUConnection",
    "QPUCreated",
    "TimeRequest",
    "TimeSlot",
    "User",
]

logger = logging.getLogger("qjobs.providers.qpi")

#: Environment variables holding the API token, in lookup order (each: ``.env``, then env).
TOKEN_VARIABLES: Final = ("QPI_API_TOKEN",)
#: Environment variables holding the server URL (QPI is self-hosted: there is no default).
URL_VARIABLES: Final = ("QPI_BASE_URL", "QPI_URL")

_FIND_PAGES: Final = 10

ParameterSet = Mapping[str, float] | Sequence[float]


class QPIClient(QPIAccount, QPITime, QPIAdmin):
    """Async client for a QPI server (qpi-ui).

    The base URL comes from ``base_url=``, else ``QPI_BASE_URL``, ``QPI_URL`` (all looked up in
    the environment first, then in ``./.env``); there is no default, QPI being self-hosted. The API
    token comes from ``token=``, else ``QPI_API_TOKEN``; it is optional, since :meth:`login`
    (password) authenticates too. Requests carry ``X-API-Token: <token>`` and, after
    :meth:`login`, ``Authorization: Bearer <jwt>``; neither ever appears in a repr, a log line or
    an exception. The collection routes (notifications, time slots, time requests, users) accept
    only the login's JWT. ``transport_options`` passes extra keyword arguments to the
    :class:`~qjobs.transport.Transport` (e.g. ``sleep=`` in tests).
    """

    provider: ClassVar[str] = PROVIDER
    #: QPI documents no per-job circuit limit; 100 keeps one job's payload and results modest.
    #: ``GET /api/jobs?sort=-created&limit=N`` refreshes many jobs in one request. Dispatchers
    #: poll the database every second, so polling starts at 1 s.
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=100,
        max_payload_bytes=5_000_000,
        status_batch_size=100,
        poll_initial=1.0,
        poll_max=15.0,
        poll_factor=1.5,
        requests_per_second=20.0,
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
        base_url: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True)
        url = resolve_setting("base_url", base_url, URL_VARIABLES, dotenv=True, required=True)
        assert url.value is not None
        self._api_token = secret.value
        self._base = url.value
        self._options = options
        transport, caps = open_transport(type(self), self._credentials(None), options, error_parser)
        super().__init__(transport, capabilities=caps)
        self.token_source = secret.source
        #: The logged-in user (or superuser) record, after :meth:`login`.
        self.user: User | None = None
        self._jwt: str | None = None
        self._superuser = False
        self._catalogue: dict[str, Backend] | None = None
        self._catalogue_lock = anyio.Lock()

    @property
    def is_superuser(self) -> bool:
        """True after a superuser :meth:`login`."""
        return self._superuser

    # ------------------------------------------------------------------------------- QPUs
    async def backends(self) -> list[Backend]:
        """Every online QPU (``GET /api/qpus``, all pages); cached for submit-time checks."""
        out: list[Backend] = []
        size = min(max(1, self.capabilities.page_size), 1000)
        skip = 0
        while True:
            data = await self._json(
                "GET",
                "api/qpus",
                params={"sort": "+created", "skip": skip, "limit": size},
                route="GET /api/qpus",
            )
            if not isinstance(data, list):
                raise MalformedResponseError("QPU list is not a list", provider=PROVIDER)
            out.extend(backend_from_wire(item) for item in data)
            if len(data) < size:
                break
            skip += size
        self._catalogue = {b.name: b for b in out}
        return out

    async def backend(self, name: str) -> Backend:
        """One QPU (``GET /api/qpus/{name}``)."""
        name = _record_id(name, "backend")
        data = await self._json("GET", f"api/qpus/{segment(name)}", route="GET /api/qpus/{name}")
        return backend_from_wire(data)

    async def _target(self, backend: str | None) -> Backend:
        """The QPU a job goes to: the named one, or the first online QPU."""
        async with self._catalogue_lock:
            if self._catalogue is None or (backend is not None and backend not in self._catalogue):
                await self.backends()
        catalogue = self._catalogue or {}
        if backend is None:
            if not catalogue:
                raise InputError("backend", None, "no QPU is online; name one explicitly")
            return next(iter(catalogue.values()))
        entry = catalogue.get(backend)
        if entry is None:
            raise InputError("backend", backend, f"not an online QPU; online: {sorted(catalogue)}")
        return entry

    # ----------------------------------------------------------------------------- submit
    async def submit(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str | None = None,
        name: str | None = None,
        key: str | None = None,
        meas_level: int = 2,
        meas_return: str = "single",
        parameter_values: Any = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit, or several as one job, as OpenQASM 3 (``POST /api/jobs``).

        ``backend`` is the QPU target, always sent (default: the first online QPU); it is
        checked against the online QPUs, whose list is fetched once and cached, as is the
        circuits' width. ``parameter_values`` gives parameter sets for circuits with free
        parameters: for one circuit a list of sets, for a list of circuits one list (or None)
        per circuit; a set is a ``{name: value}`` mapping or values in ``circuit.parameters``
        order. Each set yields one result. ``meas_level=1`` asks for IQ memory (read it with
        :meth:`iq_memory`), with ``meas_return`` ``"single"`` or ``"avg"``. QPI jobs have no
        name: ``name`` is accepted for the common interface and not sent.

        With ``key``, the first circuit carries the comment ``// qjobs-key: <key>`` and a
        submission that fails ambiguously looks the key up (:meth:`find_by_key`) before trying
        again, so one call never creates two jobs; without a key such failures are raised.
        """
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for QPI")
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        if backend is not None:
            _record_id(backend, "backend")
        body, items = build_body(
            self.capabilities,
            circuits,
            shots=shots,
            key=key,
            meas_level=meas_level,
            meas_return=meas_return,
            parameter_values=parameter_values,
        )
        target = await self._target(backend)
        widest = max(c.num_qubits for c in items)
        if target.qubits is not None and widest > target.qubits:
            raise InputError(
                "circuits", f"{widest} qubits", f"QPU {target.name!r} has {target.qubits} qubits"
            )
        body["qpu_target"] = target.name
        created = await self._create_once(
            lambda: self._transport.request(
                "POST", "api/jobs", json=body, kind=RequestKind.CREATE, route="POST /api/jobs"
            ),
            key,
        )
        if isinstance(created, Job):
            return created
        resp = created
        data = resp.json()
        if not isinstance(data, Mapping) or not (data.get("id") or data.get("job_id")):
            raise MalformedResponseError(
                "job creation answer has no id", provider=PROVIDER, method="POST", path="/api/jobs"
            )
        merged = {"status": "pending", "qpu_target": target.name, "payload": body, **data}
        job = job_from_wire(merged)
        logger.debug(
            "qpi: submitted job %s (%d circuit(s), %d shots, QPU %s)",
            job.id,
            len(items),
            shots,
            target.name,
        )
        return job

    # ------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """One job's current state (``GET /api/jobs/{id}``)."""
        jid = _job_id(job_id, "job_id")
        return job_from_wire(
            await self._json("GET", f"api/jobs/{segment(jid)}", route="GET /api/jobs/{id}")
        )

    async def job_record(self, job: Job | str) -> Job:
        """A job read from the ``quantum_jobs`` collection (needs :meth:`login`).

        qpi-ui v0.1.x's ``/api/jobs*`` routes return the submitted payload as ``results``; the
        collection record holds the real ones. :meth:`results` falls back to this on its own.
        """
        jid = _job_id(job, "job")
        self._need_login("job_record()")
        data = await self._json(
            "GET",
            f"api/collections/quantum_jobs/records/{segment(jid)}",
            route="GET /api/collections/quantum_jobs/records/{id}",
        )
        return job_from_wire(data)

    async def _page(self, skip: int, limit: int, sort: str = "-created") -> list[Job]:
        data = await self._json(
            "GET",
            "api/jobs",
            params={"sort": sort, "skip": skip, "limit": limit},
            route="GET /api/jobs",
        )
        if isinstance(data, Mapping) and isinstance(data.get("jobs"), list):
            data = data["jobs"]
        if not isinstance(data, list):
            raise MalformedResponseError("job list is not a list", provider=PROVIDER)
        return [job_from_wire(item) for item in data]

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Many jobs in the order given, from the newest-first job list.

        Pages of ``status_batch_size`` jobs are read until every id was seen (at most one page
        per id, plus one); ids not found that way are fetched one by one, so an unknown id
        raises :class:`~qjobs.NotFoundError`.
        """
        ids = [_job_id(j, f"job_ids[{i}]") for i, j in enumerate(job_ids)]
        if not ids:
            return []
        wanted = set(ids)
        size = max(1, min(self.capabilities.status_batch_size, 1000))
        found: dict[str, Job] = {}
        pages = math.ceil(len(wanted) / size) + 1
        for page in range(pages):
            jobs = await self._page(page * size, size)
            for job in jobs:
                if job.id in wanted:
                    found[job.id] = job
            if len(jobs) < size or wanted <= found.keys():
                break
        missing = [jid for jid in dict.fromkeys(ids) if jid not in found]
        for jid in missing:
            found[jid] = await self.get_job(jid)
        return [found[jid] for jid in ids]

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """The caller's jobs, newest first, following every page (``skip``/``limit``).

        Filters: ``status`` (a QPI status or a list of them), ``backend`` (QPU target),
        ``sort`` (default ``-created``), ``limit`` (page size, default
        ``capabilities.page_size``) and ``max_pages``. QPI filters nothing server-side: status
        and backend are applied to each page.
        """
        max_pages = filters.pop("max_pages", None)
        if max_pages is not None and (not is_int(max_pages, low=1)):
            raise InputError("max_pages", max_pages, "must be an int >= 1")
        size = filters.pop("limit", None) or self.capabilities.page_size
        if not is_int(size, low=1, high=1000):
            raise InputError("limit", size, "must be an int from 1 to 1000")
        sort = filters.pop("sort", "-created")
        if not isinstance(sort, str) or sort.lstrip("+-") not in ("created", "updated"):
            raise InputError("sort", sort, "must be created or updated, optionally with +/-")
        status = filters.pop("status", None)
        statuses = {status} if isinstance(status, str) else set(status or ())
        backend = filters.pop("backend", None)
        if filters:
            raise InputError(next(iter(filters)), "...", "unknown job filter for QPI")
        skip = 0
        pages = 0
        while True:
            jobs = await self._page(skip, size, sort)
            pages += 1
            for job in jobs:
                if statuses and job.provider_status not in statuses:
                    continue
                if backend is not None and job.backend != backend:
                    continue
                yield job
            if len(jobs) < size or (max_pages is not None and pages >= max_pages):
                return
            skip += size

    async def find_by_key(self, key: str, *, max_pages: int = _FIND_PAGES) -> Job | None:
        """The newest job whose first circuit carries ``// qjobs-key: <key>``, or None."""
        if not isinstance(key, str) or not key:
            raise InputError("key", key, "must be a non-empty string")
        async for job in self.iter_jobs(max_pages=max_pages):
            if key_of(job) == key:
                return job
        return None

    async def cancel(self, job: Job | str) -> None:
        """Cancel a pending or running job (``POST /api/jobs/{id}/cancel``).

        QPI answers 404 for a job that is already final; the job is then read to tell that
        apart from a job that does not exist (which raises :class:`~qjobs.NotFoundError`).
        """
        jid = _job_id(job)
        try:
            await self._transport.request(
                "POST",
                f"api/jobs/{segment(jid)}/cancel",
                kind=RequestKind.READ,
                route="POST /api/jobs/{id}/cancel",
            )
        except NotFoundError:
            current = await self.get_job(jid)
            if not current.is_final:
                raise
            logger.debug("qpi: job %s is already %s", jid, current.provider_status)

    # ---------------------------------------------------------------------------- results
    async def _completed(self, job: Job | str) -> Job:
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        if not current.is_final or current.details.get("results") is None:
            current = await self.get_job(current.id)
        if self._jwt is not None and is_payload_copy(current.details.get("results")):
            # qpi-ui v0.1.x answers the payload as "results" on /api/jobs*; the stored
            # results are only on the collection route, which needs the login token.
            current = await self.job_record(current.id)
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"qpi job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        return current

    async def results(self, job: Job | str) -> list[Result]:
        """The results of a completed job: one per circuit and per parameter set, in order.

        Counts are keyed by fixed-width bitstrings (bit 0 rightmost; the width is the circuit's
        classical bits, or its qubits when it measures nothing); per-shot ``memory`` is kept
        when the driver sent it. A failed job raises :class:`~qjobs.JobFailedError` with the
        server's message; a measurement-level-1 job raises :class:`~qjobs.JobError` (use
        :meth:`iq_memory`).
        """
        current = await self._completed(job)
        entries = entries_of(current.details.get("results"))
        widths = payload_widths(current)
        if len(widths) != len(entries):
            widths = [None] * len(entries)
        out: list[Result] = []
        for i, (entry, width) in enumerate(zip(entries, widths, strict=True)):
            where = f"job {current.id} result {i}"
            if "counts" not in entry and "hex_counts" not in entry and "memory" in entry:
                raise JobError(
                    f"qpi job {current.id} holds IQ memory (meas_level=1): use iq_memory()",
                    job_id=current.id,
                    provider=PROVIDER,
                )
            counts, n_bits, memory = outcome_of(entry, width, where, current.shots)
            out.append(
                Result.from_outcomes(
                    counts, n_bits, memory=memory, job_id=current.id, index=i, job=current
                )
            )
        return out

    async def iq_memory(self, job: Job | str) -> list[npt.NDArray[np.float64]]:
        """Measurement-level-1 memory per circuit and parameter set.

        Each array is ``(shots, clbits, 2)`` (I, Q) for ``meas_return="single"``, or
        ``(clbits, 2)`` for ``"avg"``.
        """
        current = await self._completed(job)
        entries = entries_of(current.details.get("results"))
        return [iq_of(e, f"job {current.id} result {i}") for i, e in enumerate(entries)]
