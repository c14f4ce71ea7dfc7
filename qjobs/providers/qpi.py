"""The async QPI client (qpi-ui server, PocketBase-based).

``QPIClient`` speaks the protocol of ``shared/specs/qpi.md`` over one
:class:`~qjobs.transport.Transport`: jobs (OpenQASM 3 circuits with parameter values, shots,
measurement level and return mode, always with an explicit QPU target), paged job listing,
results per circuit and per parameter set, cancellation, QPUs, and the account surface
(password login, notifications, time slots, QPU time requests, users, QPU administration and
API tokens). Wire <-> model mapping lives in :mod:`qjobs.providers._qpi_models`.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("qpi", base_url="http://127.0.0.1:8090") as qpi:  # QPI_API_TOKEN
        job = await qpi.submit(circuit, shots=1000, backend="qiskit_aer")
"""

from __future__ import annotations

import logging
import math
import ssl as ssl_module
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

import anyio
import numpy as np
import numpy.typing as npt
import orjson

from qjobs._circuit import Circuit
from qjobs._config import resolve_setting
from qjobs._errors import (
    CredentialsError,
    InputError,
    JobError,
    MalformedResponseError,
    NotFoundError,
)
from qjobs._models import Backend, Job, JobStatus, Result
from qjobs.providers._base import Capabilities, ProviderClient
from qjobs.providers._base import job_id as _job_id
from qjobs.providers._qpi_models import (
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
    format_time,
    job_from_wire,
    parse_time,
    rfc3339,
    structure_record,
)
from qjobs.providers._qpi_results import (
    KEY_COMMENT,
    entries_of,
    iq_of,
    is_payload_copy,
    outcome_of,
    payload_widths,
)
from qjobs.transport import RateLimit, RequestKind, RetryPolicy, Timeouts, Transport

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

MAX_SHOTS: Final = 1_000_000
_MAX_KEY_LENGTH: Final = 128
_FIND_PAGES: Final = 10
_MEAS_RETURNS: Final = ("single", "avg")

ParameterSet = Mapping[str, float] | Sequence[float]


def _record_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or "/" in value or "?" in value:
        raise InputError(field, value, "must be a non-empty id without '/' or '?'")
    return value


def _seconds(value: Any, field: str, *, allow_zero: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise InputError(
            field, value, "must be a finite number " + (">= 0" if allow_zero else "> 0")
        )
    return float(value)


def _with_key(qasm: str, key: str) -> str:
    head, _, rest = qasm.partition("\n")
    return f"{head}\n{KEY_COMMENT}{key}\n{rest}"


def _key_of(job: Job) -> str | None:
    payload = job.details.get("payload")
    circuits = payload.get("circuits") if isinstance(payload, Mapping) else None
    if not isinstance(circuits, list) or not circuits or not isinstance(circuits[0], Mapping):
        return None
    text = circuits[0].get("circuit")
    if not isinstance(text, str):
        return None
    for line in text.splitlines()[:4]:
        if line.startswith(KEY_COMMENT):
            return line[len(KEY_COMMENT) :].strip()
    return None


def _parameter_sets(circuit: Circuit, sets: Any, field: str) -> list[list[float]] | None:
    names = circuit.parameters
    if sets is None:
        if names:
            raise InputError(field, None, f"the circuit has free parameters {list(names)}")
        return None
    if isinstance(sets, str | Mapping) or not isinstance(sets, Sequence) or not sets:
        raise InputError(field, sets, "must be a non-empty list of parameter sets")
    if not names:
        raise InputError(field, "...", "the circuit has no free parameters")
    out: list[list[float]] = []
    for k, values in enumerate(sets):
        where = f"{field}[{k}]"
        if isinstance(values, Mapping):
            if set(values) != set(names):
                raise InputError(where, sorted(values), f"must name exactly {list(names)}")
            row = [values[n] for n in names]
        elif isinstance(values, Sequence) and not isinstance(values, str):
            if len(values) != len(names):
                raise InputError(where, values, f"needs {len(names)} values for {list(names)}")
            row = list(values)
        else:
            raise InputError(where, values, "must be a mapping or a list of numbers")
        floats = []
        for v in row:
            if isinstance(v, bool) or not isinstance(v, int | float | np.number):
                raise InputError(where, values, "values must be numbers")
            if not math.isfinite(float(v)):
                raise InputError(where, values, "values must be finite")
            floats.append(float(v))
        out.append(floats)
    return out


class QPIClient(ProviderClient):
    """Async client for a QPI server (qpi-ui).

    The base URL comes from ``base_url=``, else ``QPI_BASE_URL``, ``QPI_URL`` (each looked up in
    ``./.env`` first, then the environment); there is no default, QPI being self-hosted. The API
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
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        headers: Mapping[str, str] | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        capabilities: Capabilities | None = None,
        user_agent: str | None = None,
        transport_options: Mapping[str, Any] | None = None,
    ) -> None:
        caps = capabilities or self.default_capabilities
        secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True)
        url = resolve_setting("base_url", base_url, URL_VARIABLES, dotenv=True, required=True)
        assert url.value is not None
        self._api_token = secret.value
        self._options: dict[str, Any] = {
            "capabilities": caps,
            "base_url": url.value,
            "headers": self._user_headers(headers),
            "user_agent": user_agent,
            "timeouts": timeouts,
            "retry": retry,
            "rate_limit": rate_limit,
            "ssl": ssl,
            "error_parser": error_parser,
            "transport_options": dict(transport_options or {}),
        }
        super().__init__(self._make_transport(None), capabilities=caps)
        self.token_source = secret.source
        #: The logged-in user (or superuser) record, after :meth:`login`.
        self.user: User | None = None
        self._jwt: str | None = None
        self._superuser = False
        self._catalogue: dict[str, Backend] | None = None
        self._catalogue_lock = anyio.Lock()

    def _make_transport(self, jwt: str | None) -> Transport:
        auth: dict[str, str] = {}
        if self._api_token:
            auth["X-API-Token"] = self._api_token
        if jwt:
            auth["Authorization"] = f"Bearer {jwt}"
        return self._build_transport(auth_headers=auth, **self._options)

    @property
    def is_superuser(self) -> bool:
        """True after a superuser :meth:`login`."""
        return self._superuser

    # --------------------------------------------------------------------------- requests
    async def _json(
        self,
        method: str,
        path: str,
        *,
        route: str,
        json: Any = None,
        params: Any = None,
        kind: RequestKind | None = None,
    ) -> Any:
        options: dict[str, Any] = {"params": params, "route": route, "kind": kind}
        if json is not None:
            options["json"] = json
        resp = await self._transport.request(method, path, **options)
        if not resp.content:
            return None
        return resp.json()

    def _need_login(self, what: str) -> None:
        if self._jwt is None:
            raise CredentialsError(
                f"{what} uses QPI's collection routes, which accept only a login token: "
                "call login(identity, password) first"
            )

    def _need_superuser(self, what: str) -> None:
        self._need_login(what)
        if not self._superuser:
            raise CredentialsError(f"{what} needs a superuser: login(..., superuser=True)")

    async def _collection(
        self, collection: str, *, filter: str | None = None, sort: str | None = None
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every record of a PocketBase collection, page after page."""
        page = 1
        size = min(max(1, self.capabilities.page_size), 1000)
        route = f"GET /api/collections/{collection}/records"
        while True:
            params: dict[str, Any] = {"page": page, "perPage": size}
            if filter:
                params["filter"] = filter
            if sort:
                params["sort"] = sort
            data = await self._json(
                "GET", f"api/collections/{collection}/records", params=params, route=route
            )
            if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
                raise MalformedResponseError(
                    f"{collection} listing is not a PocketBase page", provider=PROVIDER
                )
            for item in data["items"]:
                yield item
            total = data.get("totalPages")
            if not data["items"] or not isinstance(total, int) or page >= total:
                return
            page += 1

    # ------------------------------------------------------------------------------ login
    async def login(self, identity: str, password: str, *, superuser: bool = False) -> User:
        """Password login (``auth-with-password``); later requests also send the JWT as Bearer.

        ``superuser=True`` logs into PocketBase's ``_superusers`` (needed for QPU
        administration, approving time requests and allocating QPU time). Returns the record.
        Do this before starting concurrent requests: the client's connection is replaced.
        """
        if not isinstance(identity, str) or not identity:
            raise InputError("identity", identity, "must be a non-empty string")
        if not isinstance(password, str) or not password:
            raise InputError("password", "***", "must be a non-empty string")
        collection = "_superusers" if superuser else "users"
        data = await self._json(
            "POST",
            f"api/collections/{collection}/auth-with-password",
            json={"identity": identity, "password": password},
            route=f"POST /api/collections/{collection}/auth-with-password",
            kind=RequestKind.WRITE,
        )
        if not isinstance(data, Mapping) or not isinstance(data.get("token"), str):
            raise MalformedResponseError("login answer without a token", provider=PROVIDER)
        user: User = structure_record(data.get("record"), User, "user record")
        old = self._transport
        fresh = self._make_transport(data["token"])
        fresh.stats = old.stats
        await old.aclose()
        self._transport = fresh
        self._jwt = data["token"]
        self._superuser = superuser
        self.user = user
        logger.debug("qpi: logged in as %s (superuser=%s)", user.id, superuser)
        return user

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
        data = await self._json("GET", f"api/qpus/{name}", route="GET /api/qpus/{name}")
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
    def _build_body(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        key: str | None,
        meas_level: int,
        meas_return: str,
        parameter_values: Any,
    ) -> tuple[dict[str, Any], list[Circuit]]:
        """Validate everything that needs no request and build the ``POST /api/jobs`` body."""
        if isinstance(shots, bool) or not isinstance(shots, int) or not 1 <= shots <= MAX_SHOTS:
            raise InputError("shots", shots, f"must be an int from 1 to {MAX_SHOTS}")
        if meas_level not in (1, 2) or isinstance(meas_level, bool):
            raise InputError("meas_level", meas_level, "must be 1 (IQ memory) or 2 (counts)")
        if meas_return not in _MEAS_RETURNS:
            raise InputError("meas_return", meas_return, f"must be one of {list(_MEAS_RETURNS)}")
        if key is not None and (
            not isinstance(key, str)
            or not key
            or len(key) > _MAX_KEY_LENGTH
            or not key.isprintable()
        ):
            raise InputError("key", key, f"must be a printable string of 1..{_MAX_KEY_LENGTH}")
        single = isinstance(circuits, Circuit)
        obj: object = circuits
        if not single and (isinstance(obj, str) or not isinstance(obj, Sequence)):
            raise InputError("circuits", type(obj).__name__, "must be a Circuit or a list of them")
        items: list[Circuit] = [circuits] if isinstance(circuits, Circuit) else list(circuits)
        if not items:
            raise InputError("circuits", [], "must hold at least one circuit")
        limit = self.capabilities.max_circuits_per_job
        if len(items) > limit:
            raise InputError("circuits", f"{len(items)} circuits", f"at most {limit} per job")
        if parameter_values is None:
            per_circuit: list[Any] = [None] * len(items)
        elif single:
            per_circuit = [parameter_values]
        else:
            if (
                isinstance(parameter_values, str | Mapping)
                or not isinstance(parameter_values, Sequence)
                or len(parameter_values) != len(items)
            ):
                raise InputError(
                    "parameter_values", "...", "must hold one entry (or None) per circuit"
                )
            per_circuit = list(parameter_values)
        wire: list[dict[str, Any]] = []
        for i, (circuit, sets) in enumerate(zip(items, per_circuit, strict=True)):
            if not isinstance(circuit, Circuit):
                raise InputError(f"circuits[{i}]", type(circuit).__name__, "must be a Circuit")
            field = "parameter_values" if single else f"parameter_values[{i}]"
            bound_sets = _parameter_sets(circuit, sets, field)
            qasm = circuit.to_qasm3()
            if key is not None and i == 0:
                qasm = _with_key(qasm, key)
            entry: dict[str, Any] = {"circuit": qasm}
            if bound_sets is not None:
                entry["parameter_values"] = bound_sets
            wire.append(entry)
        body: dict[str, Any] = {
            "circuits": wire,
            "shots": shots,
            "meas_level": meas_level,
            "meas_return": meas_return,
        }
        size = len(orjson.dumps(body))
        if size > self.capabilities.max_payload_bytes:
            raise InputError(
                "circuits",
                f"{size} bytes",
                f"payload exceeds max_payload_bytes={self.capabilities.max_payload_bytes}",
            )
        return body, items

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
        body, items = self._build_body(
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
        return job_from_wire(await self._json("GET", f"api/jobs/{jid}", route="GET /api/jobs/{id}"))

    async def job_record(self, job: Job | str) -> Job:
        """A job read from the ``quantum_jobs`` collection (needs :meth:`login`).

        qpi-ui v0.1.x's ``/api/jobs*`` routes return the submitted payload as ``results``; the
        collection record holds the real ones. :meth:`results` falls back to this on its own.
        """
        self._need_login("job_record()")
        jid = _job_id(job, "job")
        data = await self._json(
            "GET",
            f"api/collections/quantum_jobs/records/{jid}",
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
        if max_pages is not None and (
            isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1
        ):
            raise InputError("max_pages", max_pages, "must be an int >= 1")
        size = filters.pop("limit", None) or self.capabilities.page_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 1000:
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
            if _key_of(job) == key:
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
                f"api/jobs/{jid}/cancel",
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
            counts, n_bits, memory = outcome_of(entry, width, where)
            out.append(
                Result.from_counts(
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

    # ---------------------------------------------------------------------- notifications
    async def notifications(self) -> list[Notification]:
        """Notifications for the logged-in user, every page (needs :meth:`login`)."""
        self._need_login("notifications()")
        return [
            structure_record(item, Notification, "notification")
            async for item in self._collection("notifications", sort="-created")
        ]

    async def dismiss_notification(self, notification: Notification | str) -> None:
        """Dismiss a notification (``POST /api/notifications/{id}/dismiss``)."""
        nid = notification.id if isinstance(notification, Notification) else notification
        nid = _record_id(nid, "notification")
        await self._json(
            "POST",
            f"api/notifications/{nid}/dismiss",
            route="POST /api/notifications/{id}/dismiss",
            kind=RequestKind.READ,
        )

    # ------------------------------------------------------------------------- time slots
    async def time_slots(self) -> list[TimeSlot]:
        """Every booked time slot, every page (needs :meth:`login`)."""
        self._need_login("time_slots()")
        return [
            structure_record(item, TimeSlot, "time slot")
            async for item in self._collection("time_slots", sort="start_time")
        ]

    async def create_time_slot(
        self, start: datetime | str, end: datetime | str, *, booked_by: str | None = None
    ) -> TimeSlot:
        """Book ``[start, end)`` (RFC 3339 with a zone, checked before sending).

        ``booked_by`` defaults to the logged-in user. The server refuses slots in the past,
        overlapping another booking, or ending before they start.
        """
        self._need_login("create_time_slot()")
        begin, finish = rfc3339(start, "start"), rfc3339(end, "end")
        if finish <= begin:
            raise InputError("end", end, "must be after start")
        owner = booked_by
        if owner is None and self.user is not None and not self._superuser:
            owner = self.user.id
        body: dict[str, Any] = {"start_time": format_time(begin), "end_time": format_time(finish)}
        if owner is not None:
            body["booked_by"] = _record_id(owner, "booked_by")
        data = await self._json(
            "POST",
            "api/collections/time_slots/records",
            json=body,
            route="POST /api/collections/time_slots/records",
            kind=RequestKind.WRITE,
        )
        return structure_record(data, TimeSlot, "time slot")  # type: ignore[no-any-return]

    async def update_time_slot(
        self,
        slot: TimeSlot | str,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> TimeSlot:
        """Move a slot that has not started (``PATCH``); give ``start``, ``end`` or both."""
        self._need_login("update_time_slot()")
        sid = _record_id(slot.id if isinstance(slot, TimeSlot) else slot, "slot")
        body: dict[str, Any] = {}
        if start is not None:
            body["start_time"] = format_time(rfc3339(start, "start"))
        if end is not None:
            body["end_time"] = format_time(rfc3339(end, "end"))
        if not body:
            raise InputError("start", None, "give start, end or both")
        if start is not None and end is not None and rfc3339(end, "end") <= rfc3339(start, "start"):
            raise InputError("end", end, "must be after start")
        data = await self._json(
            "PATCH",
            f"api/collections/time_slots/records/{sid}",
            json=body,
            route="PATCH /api/collections/time_slots/records/{id}",
            kind=RequestKind.READ,
        )
        return structure_record(data, TimeSlot, "time slot")  # type: ignore[no-any-return]

    async def delete_time_slot(self, slot: TimeSlot | str) -> None:
        """Delete a slot that has not started (``DELETE``, 204)."""
        self._need_login("delete_time_slot()")
        sid = _record_id(slot.id if isinstance(slot, TimeSlot) else slot, "slot")
        await self._transport.request(
            "DELETE",
            f"api/collections/time_slots/records/{sid}",
            kind=RequestKind.READ,
            route="DELETE /api/collections/time_slots/records/{id}",
        )

    # ---------------------------------------------------------------------- time requests
    async def time_requests(self, *, status: str | None = None) -> list[TimeRequest]:
        """QPU time requests (one's own; a superuser sees all), every page."""
        self._need_login("time_requests()")
        if status is not None and status not in ("pending", "approved", "rejected"):
            raise InputError("status", status, "must be pending, approved or rejected")
        return [
            structure_record(item, TimeRequest, "time request")
            async for item in self._collection(
                "qpu_time_requests",
                filter=f"status = '{status}'" if status else None,
                sort="-created",
            )
        ]

    async def request_qpu_time(self, seconds: float, reason: str | None = None) -> TimeRequest:
        """Ask for more QPU seconds; an administrator approves or rejects the request."""
        self._need_login("request_qpu_time()")
        amount = _seconds(seconds, "seconds", allow_zero=False)
        if reason is not None and not isinstance(reason, str):
            raise InputError("reason", reason, "must be a string")
        assert self.user is not None
        body: dict[str, Any] = {"user": self.user.id, "status": "pending", "seconds": amount}
        if reason:
            body["requested_reason"] = reason
        data = await self._json(
            "POST",
            "api/collections/qpu_time_requests/records",
            json=body,
            route="POST /api/collections/qpu_time_requests/records",
            kind=RequestKind.WRITE,
        )
        return structure_record(data, TimeRequest, "time request")  # type: ignore[no-any-return]

    async def _review(self, request: TimeRequest | str, body: dict[str, Any]) -> TimeRequest:
        self._need_superuser("reviewing time requests")
        rid = _record_id(request.id if isinstance(request, TimeRequest) else request, "request")
        data = await self._json(
            "PATCH",
            f"api/collections/qpu_time_requests/records/{rid}",
            json=body,
            route="PATCH /api/collections/qpu_time_requests/records/{id}",
            kind=RequestKind.WRITE,
        )
        return structure_record(data, TimeRequest, "time request")  # type: ignore[no-any-return]

    async def approve_time_request(self, request: TimeRequest | str) -> TimeRequest:
        """Approve a request (superuser): its seconds are added to the user's balance."""
        return await self._review(request, {"status": "approved"})

    async def reject_time_request(
        self, request: TimeRequest | str, reason: str | None = None
    ) -> TimeRequest:
        """Reject a request (superuser), optionally saying why."""
        body: dict[str, Any] = {"status": "rejected"}
        if reason is not None:
            if not isinstance(reason, str):
                raise InputError("reason", reason, "must be a string")
            body["rejection_reason"] = reason
        return await self._review(request, body)

    # ------------------------------------------------------------------------------ users
    async def users(self) -> list[User]:
        """Users (a superuser sees all, a user only themself), every page."""
        self._need_login("users()")
        return [
            structure_record(item, User, "user")
            async for item in self._collection("users", sort="created")
        ]

    async def allocate_qpu_time(self, user: User | str, seconds: float) -> User:
        """Set a user's QPU-seconds balance (an absolute value, not an increment; superuser)."""
        self._need_superuser("allocate_qpu_time()")
        uid = _record_id(user.id if isinstance(user, User) else user, "user")
        amount = _seconds(seconds, "seconds", allow_zero=True)
        data = await self._json(
            "PATCH",
            f"api/collections/users/records/{uid}",
            json={"qpu_seconds": amount},
            route="PATCH /api/collections/users/records/{id}",
            kind=RequestKind.READ,
        )
        return structure_record(data, User, "user")  # type: ignore[no-any-return]

    # ---------------------------------------------------------------------- administration
    async def create_qpu(
        self,
        name: str,
        *,
        executor_type: str | None = None,
        num_qubits: int | None = None,
        enabled: bool | None = None,
    ) -> QPUCreated:
        """Create a QPU (superuser). The returned ``access_token`` is shown once, never logged."""
        self._need_superuser("create_qpu()")
        body: dict[str, Any] = {"name": _record_id(name, "name")}
        if executor_type is not None:
            if not isinstance(executor_type, str) or not executor_type:
                raise InputError("executor_type", executor_type, "must be a non-empty string")
            body["executor_type"] = executor_type
        if num_qubits is not None:
            if isinstance(num_qubits, bool) or not isinstance(num_qubits, int) or num_qubits < 1:
                raise InputError("num_qubits", num_qubits, "must be an int >= 1")
            body["num_qubits"] = num_qubits
        if enabled is not None:
            if not isinstance(enabled, bool):
                raise InputError("enabled", enabled, "must be a bool")
            body["enabled"] = enabled
        data = await self._json(
            "POST",
            "api/op/qpus/create",
            json=body,
            route="POST /api/op/qpus/create",
            kind=RequestKind.WRITE,
        )
        if not isinstance(data, Mapping):
            raise MalformedResponseError("QPU creation answer is not an object", provider=PROVIDER)
        token = data.get("access_token")
        rest = {k: v for k, v in data.items() if k != "access_token"}
        return QPUCreated(
            id=str(data.get("id") or data.get("name") or name),
            name=str(data.get("name") or name),
            status=None if data.get("status") is None else str(data["status"]),
            enabled=data.get("enabled") if isinstance(data.get("enabled"), bool) else None,
            access_token=token if isinstance(token, str) else None,
            details=rest,
        )

    async def connect_qpu(
        self,
        name: str,
        access_token: str,
        *,
        executor_type: str | None = None,
        device_config: Mapping[str, Any] | None = None,
    ) -> QPUConnection:
        """Connect a QPU driver with its access token (``POST /api/op/qpus/connect``)."""
        body: dict[str, Any] = {"name": _record_id(name, "name")}
        if not isinstance(access_token, str) or not access_token:
            raise InputError("access_token", "***", "must be a non-empty string")
        body["access_token"] = access_token
        if executor_type is not None:
            body["executor_type"] = executor_type
        if device_config is not None:
            if not isinstance(device_config, Mapping):
                raise InputError("device_config", device_config, "must be a mapping")
            body["device_config"] = dict(device_config)
        data = await self._json(
            "POST",
            "api/op/qpus/connect",
            json=body,
            route="POST /api/op/qpus/connect",
            kind=RequestKind.WRITE,
        )
        if not isinstance(data, Mapping):
            raise MalformedResponseError("connect answer is not an object", provider=PROVIDER)
        ports = {k: data.get(k) for k in ("nng_command_port", "nng_result_port")}
        return QPUConnection(
            status=None if data.get("status") is None else str(data["status"]),
            nng_host=None if data.get("nng_host") is None else str(data["nng_host"]),
            nng_command_port=ports["nng_command_port"]
            if isinstance(ports["nng_command_port"], int)
            else None,
            nng_result_port=ports["nng_result_port"]
            if isinstance(ports["nng_result_port"], int)
            else None,
            tls_hash=None if data.get("tls_hash") is None else str(data["tls_hash"]),
            auth_token=data.get("auth_token") if isinstance(data.get("auth_token"), str) else None,
            details={k: v for k, v in data.items() if k != "auth_token"},
        )

    async def set_qpu_enabled(self, qpu: str, enabled: bool) -> Backend:
        """Enable or disable a QPU (``POST /api/op/qpu/toggle``, superuser)."""
        self._need_superuser("set_qpu_enabled()")
        qid = _record_id(qpu, "qpu")
        if not isinstance(enabled, bool):
            raise InputError("enabled", enabled, "must be a bool")
        data = await self._json(
            "POST",
            "api/op/qpu/toggle",
            json={"id": qid, "enabled": enabled},
            route="POST /api/op/qpu/toggle",
            kind=RequestKind.READ,
        )
        self._catalogue = None
        return backend_from_wire(data)

    async def server_version(self) -> str:
        """The server's version (``GET /api/op/version``, superuser)."""
        self._need_superuser("server_version()")
        data = await self._json("GET", "api/op/version", route="GET /api/op/version")
        if not isinstance(data, Mapping) or not isinstance(data.get("version"), str):
            raise MalformedResponseError("version answer without a version", provider=PROVIDER)
        return str(data["version"])

    # ---------------------------------------------------------------------------- tokens
    async def create_api_token(
        self, name: str | None = None, *, expires_at: datetime | str | None = None
    ) -> ApiToken:
        """Create an API token (``POST /api/tokens``); its value is in ``.token``, shown once."""
        body: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str):
                raise InputError("name", name, "must be a string")
            body["name"] = name
        if expires_at is not None:
            body["expires_at"] = format_time(rfc3339(expires_at, "expires_at"))
        data = await self._json(
            "POST", "api/tokens", json=body, route="POST /api/tokens", kind=RequestKind.WRITE
        )
        return self._token(data)

    @staticmethod
    def _token(data: Any) -> ApiToken:
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise MalformedResponseError("token record without an id", provider=PROVIDER)
        token = data.get("token")
        return ApiToken(
            id=data["id"],
            name=None if data.get("name") is None else str(data["name"]),
            expires_at=parse_time(data.get("expires_at")),
            created_at=parse_time(data.get("created")),
            token=token if isinstance(token, str) else None,
        )

    async def api_tokens(self) -> list[ApiToken]:
        """The caller's API tokens (``GET /api/tokens``; values are never listed)."""
        data = await self._json("GET", "api/tokens", route="GET /api/tokens")
        if not isinstance(data, list):
            raise MalformedResponseError("token list is not a list", provider=PROVIDER)
        return [self._token(item) for item in data]

    async def delete_api_token(self, token: ApiToken | str) -> None:
        """Revoke an API token (``DELETE /api/tokens/{id}``)."""
        tid = _record_id(token.id if isinstance(token, ApiToken) else token, "token")
        await self._transport.request(
            "DELETE", f"api/tokens/{tid}", kind=RequestKind.READ, route="DELETE /api/tokens/{id}"
        )
