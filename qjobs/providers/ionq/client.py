"""The async IonQ client (Quantum Cloud API v0.4).

``IonQClient`` speaks IonQ's REST protocol over one :class:`~qjobs.transport.Transport`:
jobs (one circuit, multi-circuit batches, OpenQASM 3), batched status polls (``GET /jobs?ids=``),
paged listing, results with measurement maps applied, batched cancellation, backends,
characterizations, estimates and sessions.

The client makes the requests; the pure parts beside it build and read them: settings in
:mod:`~qjobs.providers.ionq.config`, circuit encoding in :mod:`~qjobs.providers.ionq.circuits`,
request bodies in :mod:`~qjobs.providers.ionq.bodies`, listing in
:mod:`~qjobs.providers.ionq.pages`, result assembly in :mod:`~qjobs.providers.ionq.results` and
wire <-> model mapping in :mod:`~qjobs.providers.ionq.models`.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("ionq") as ionq:         # IONQ_API_KEY etc. from .env / environment
        job = await ionq.submit(circuit, shots=100, backend="simulator")
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, ClassVar, Final, Unpack

import anyio
import numpy as np
import numpy.typing as npt

from qjobs._core.errors import (
    ConflictError,
    InputError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from qjobs._core.models import Backend, Job, Result
from qjobs.circuit._adapt import CircuitLike, as_circuits
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    ProviderClient,
    open_transport,
    require_completed,
    segment,
)
from qjobs.providers._base import gather as _gather
from qjobs.providers._base import job_id as _job_id
from qjobs.providers._checks import catalogue_entry, check_fits
from qjobs.providers.ionq import bodies, pages, results
from qjobs.providers.ionq.bodies import check_name
from qjobs.providers.ionq.config import (
    DEFAULT_BASE_URL,
    DEFAULT_CAPABILITIES,
    DEFAULT_MAX_SHOTS,
    PROVIDER,
    TOKEN_VARIABLES,
    URL_VARIABLES,
    credentials,
)
from qjobs.providers.ionq.models import (
    BatchStatus,
    Characterization,
    Estimate,
    Session,
    backend_from_wire,
    error_parser,
    job_from_wire,
    structure_model,
    submitted_job,
)
from qjobs.providers.ionq.pages import FIND_PAGES
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

#: One logger for the whole client, named after its public module.
logger = logging.getLogger("qjobs.providers.ionq")

#: Raw statuses of a session's jobs that are cancelled when its ``session()`` block raises.
_QUEUED_RAW: Final = frozenset({"submitted", "ready", "queued"})
#: How many ``results()`` answers the client keeps.
_RESULTS_CACHED: Final = 1024


class IonQClient(ProviderClient):
    """Async client for IonQ's Quantum Cloud API v0.4.

    The token comes from ``token=``, else ``QISKIT_IONQ_API_TOKEN``, ``IONQ_API_KEY``,
    ``IONQ_API_TOKEN`` (all looked up in the environment first, then in ``./.env``); the base URL
    from ``base_url=``, else ``QISKIT_IONQ_API_URL``, ``IONQ_API_URL``, else
    ``https://api.ionq.co/v0.4``. Requests carry ``Authorization: apiKey <token>``; the token
    never appears in a repr, a log line or an exception. ``transport_options`` passes extra
    keyword arguments to the :class:`~qjobs.transport.Transport` (e.g. ``sleep=`` in tests).
    """

    provider: ClassVar[str] = PROVIDER
    default_capabilities: ClassVar[Capabilities] = DEFAULT_CAPABILITIES

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        creds, token_source = credentials(token, base_url)
        transport, caps = open_transport(type(self), creds, options, error_parser)
        super().__init__(transport, capabilities=caps)
        self.token_source = token_source
        self._catalogue: dict[str, Backend] | None = None
        self._catalogue_lock = anyio.Lock()
        self._results_cache: dict[tuple[Any, ...], list[Result]] = {}

    # ------------------------------------------------------------------------- submission
    async def submit(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
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
        circuits = as_circuits(circuits)
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for IonQ")
        backend = "simulator" if backend is None else backend
        body, encoded = bodies.build_body(
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
        catalogue = self._catalogue
        entry = (
            await self._catalogue_entry(backend)
            if catalogue is None
            else catalogue_entry(catalogue, backend, "IonQ")
        )
        if entry is not None:
            check_fits(entry, encoded.qubits, shots)
        created = await self._create_once(
            partial(
                self._transport.request,
                "POST",
                "jobs",
                json=body,
                kind=RequestKind.CREATE,
                route="POST /jobs",
            ),
            key,
        )
        if isinstance(created, Job):
            return created
        job = submitted_job(created.json(), body, len(encoded.maps))
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
        found: dict[str, Job] = {}

        async def chunk(part: list[str]) -> None:
            params = pages.ids_params(part)
            cursor: str | None = None
            for _ in range(len(part) + 1):  # bounded: at least one job per page
                data = await self._get_json(
                    "jobs", params=pages.with_cursor(params, cursor), route="GET /jobs"
                )
                jobs, cursor = pages.parse_page(data)
                for job in jobs:
                    found[job.id] = job
                if not cursor or all(jid in found for jid in part):
                    break

        unique = list(dict.fromkeys(ids))
        size = self.capabilities.status_batch_size
        await _gather([partial(chunk, part) for part in pages.chunks(unique, size)])
        missing = [jid for jid in unique if jid not in found]
        if missing:

            async def single(jid: str) -> None:
                found[jid] = await self.get_job(jid)

            await _gather([partial(single, jid) for jid in missing])
        return [found[jid] for jid in ids]

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over jobs following every page (cursor ``next``).

        Filters: ``status``, ``backend`` (sent as ``target``; a list is comma-joined),
        ``parent_job_id``, ``session_id``, ``ids`` (a list), ``limit`` (page size, default
        ``capabilities.page_size``) and ``max_pages`` (stop after that many pages).
        """
        params, max_pages = pages.list_params(filters, self.capabilities.page_size)
        cursor: str | None = None
        count = 0
        while True:
            data = await self._get_json(
                "jobs", params=pages.with_cursor(params, cursor), route="GET /jobs"
            )
            jobs, next_cursor = pages.parse_page(data)
            count += 1
            for job in jobs:
                yield job
            if not next_cursor or next_cursor == cursor:
                return
            if max_pages is not None and count >= max_pages:
                return
            cursor = next_cursor

    async def find_by_key(
        self, key: str, *, backend: str | None = None, max_pages: int = FIND_PAGES
    ) -> Job | None:
        """The most recent job whose ``metadata.qjobs_key`` is ``key``, or None.

        Scans at most ``max_pages`` pages of the newest jobs (``backend`` narrows the listing),
        which covers the jobs an interrupted submission could have created.
        """
        key = pages.check_key(key)
        async for job in self.iter_jobs(backend=backend, max_pages=max_pages):
            if pages.has_key(job, key):
                return job
        return None

    async def batch_status(self, job: Job | str) -> BatchStatus:
        """The parent and every child of a multi-circuit job, fetched now.

        One ``GET /jobs/{id}`` for the parent, then the children through the batched
        ``GET /jobs?ids=`` (``status_batch_size`` ids per request), in circuit order. A job without
        children is its own single child. See :class:`BatchStatus` for the summary numbers.
        """
        parent = await self.get_job(_job_id(job))
        children = await self.get_jobs(list(parent.child_ids)) if parent.child_ids else [parent]
        return BatchStatus(job=parent, children=tuple(children))

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

        async def send(body: dict[str, list[str]]) -> None:
            await self._transport.request(
                "PUT",
                "jobs/status/cancel",
                json=body,
                kind=RequestKind.READ,
                route="PUT /jobs/status/cancel",
            )

        await _gather([partial(send, body) for body in bodies.cancel_bodies(ids)])

    async def delete(self, job: Job | str) -> None:
        """Delete a job and its results (``DELETE /jobs/{id}``)."""
        jid = _job_id(job)
        await self._transport.request(
            "DELETE", f"jobs/{segment(jid)}", kind=RequestKind.READ, route="DELETE /jobs/{id}"
        )
        for k in [k for k in self._results_cache if k[0] == jid]:
            del self._results_cache[k]

    # ---------------------------------------------------------------------------- results
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
        require_completed(current, PROVIDER)
        results.check_has_results(current)
        key = results.cache_key(current.id, sharpen, memory, params)
        cached = self._results_cache.get(key)
        if cached is not None:
            return list(cached)
        data = await self._fetch_probabilities(current, sharpen, params)
        shots = results.shots_of(current)
        probs, children = results.split_probabilities(current, data)
        maps = results.maps_for(current, len(probs), probs)
        memories: list[npt.NDArray[np.int64] | None] = [None] * len(probs)
        if memory:
            await self._fetch_memories(current, children, memories)
        out = results.build_results(current, probs, maps, memories, shots)
        self._results_cache[key] = out
        if len(self._results_cache) > _RESULTS_CACHED:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)

    async def probabilities(
        self, job: Job | str, sharpen: bool | None = None, **params: Any
    ) -> dict[str, Any]:
        """The raw probabilities IonQ returns for a job (decimal-string keys over qubits).

        A multi-circuit job returns ``{child_id: {key: p}}``. ``sharpen`` and any extra query
        parameters are passed through.
        """
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        data = await self._fetch_probabilities(current, sharpen, params)
        if not isinstance(data, dict):
            raise MalformedResponseError("probabilities are not an object", provider=PROVIDER)
        return data

    async def compiled_circuits(self, job: Job | str) -> dict[str, Any]:
        """What a completed job (typically a ``dry_run``) was compiled to, by format.

        Reads ``output.compilation.compiled_circuits`` of the job (fetched again unless it is
        final) and downloads each artifact concurrently: ``{"ionq.circuit.v1": {...}}``. A job
        that is not completed raises :class:`~qjobs.JobError`; a completed one without compiled
        circuits gives ``{}``.
        """
        current = job if isinstance(job, Job) and job.is_final else await self.get_job(_job_id(job))
        require_completed(current, PROVIDER)
        wanted = results.compiled_artifact_ids(current)
        out: dict[str, Any] = {}

        async def fetch(fmt: str, artifact_id: str) -> None:
            out[fmt] = await self.artifact(current.id, artifact_id)

        await _gather([partial(fetch, fmt, aid) for fmt, aid in wanted.items()])
        return {fmt: out[fmt] for fmt in wanted}

    async def artifact(self, job: Job | str, artifact_id: str, **params: Any) -> Any:
        """One job artifact (``GET /jobs/{id}/artifacts/{artifact_id}``), extra query passed on.

        JSON bodies are decoded; ``text/*`` bodies are returned as ``str`` and anything else
        (``application/octet-stream``) as ``bytes``.
        """
        jid = _job_id(job)
        aid = check_name(artifact_id, "artifact_id")
        resp = await self._transport.request(
            "GET",
            f"jobs/{segment(jid)}/artifacts/{segment(aid)}",
            params=params or None,
            route="GET /jobs/{id}/artifacts/{artifact_id}",
        )
        media = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return resp.json()
        if media.startswith("text/"):
            return resp.text
        if not media:
            try:
                return resp.json()
            except MalformedResponseError:
                return resp.content
        return resp.content

    # -------------------------------------------------------------------------- catalogue
    async def backends(self) -> list[Backend]:
        """Every backend IonQ offers (``GET /backends``); cached for submit-time checks."""
        data = await self._get_json("backends", route="GET /backends")
        items = data.get("backends") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise MalformedResponseError("backend list is not a list", provider=PROVIDER)
        out = [backend_from_wire(item, max_shots=DEFAULT_MAX_SHOTS) for item in items]
        self._catalogue = {b.name: b for b in out}
        return out

    async def backend(self, name: str) -> Backend:
        """One backend (``GET /backends/{name}``)."""
        name = check_name(name, "backend")
        data = await self._get_json(f"backends/{segment(name)}", route="GET /backends/{backend}")
        if isinstance(data, Mapping) and "backend" not in data:
            data = {**data, "backend": name}
        return backend_from_wire(data, max_shots=DEFAULT_MAX_SHOTS)

    async def characterizations(
        self, backend: str, limit: int | None = None
    ) -> list[Characterization]:
        """Calibration records of a backend, newest first (``limit`` bounds how many)."""
        backend = check_name(backend, "backend")
        data = await self._get_json(
            f"backends/{segment(backend)}/characterizations",
            params={"limit": bodies.check_limit(limit)},
            route="GET /backends/{backend}/characterizations",
        )
        items = data.get("characterizations") if isinstance(data, Mapping) else data
        if items is None:
            return []
        if not isinstance(items, list):
            raise MalformedResponseError("characterizations is not a list", provider=PROVIDER)
        return [structure_model(c, Characterization, "characterization") for c in items]

    async def characterization(self, backend: str) -> Characterization | None:
        """The latest calibration record of a backend, or None when there is none."""
        found = await self.characterizations(backend, limit=1)
        return found[0] if found else None

    async def estimate(
        self,
        circuits: CircuitLike | Sequence[CircuitLike] | None = None,
        *,
        backend: str,
        shots: int,
        one_qubit_gates: int | None = None,
        two_qubit_gates: int | None = None,
        qubits: int | None = None,
        error_mitigation: bool = False,
        session: bool = False,
    ) -> Estimate:
        """Cost and time estimate (``GET /jobs/estimate``).

        Gate and qubit counts are taken from ``circuits`` (as they would be sent, foreign
        circuits and OpenQASM text converted as :meth:`submit` does) unless given.
        """
        params = bodies.estimate_params(
            None if circuits is None else as_circuits(circuits),
            backend=backend,
            shots=shots,
            one_qubit_gates=one_qubit_gates,
            two_qubit_gates=two_qubit_gates,
            qubits=qubits,
            error_mitigation=error_mitigation,
            session=session,
        )
        data = await self._get_json("jobs/estimate", params=params, route="GET /jobs/estimate")
        return structure_model(data, Estimate, "estimate")

    # --------------------------------------------------------------------------- sessions
    async def create_session(
        self,
        backend: str,
        *,
        job_count_limit: int | None = None,
        duration_limit_min: int | None = None,
        cost_limit: float | None = None,
    ) -> Session:
        """Open a session on a QPU backend (``POST /sessions``); pass its ``id`` to submit."""
        body = bodies.session_body(
            backend,
            job_count_limit=job_count_limit,
            duration_limit_min=duration_limit_min,
            cost_limit=cost_limit,
        )
        resp = await self._transport.request(
            "POST", "sessions", json=body, kind=RequestKind.WRITE, route="POST /sessions"
        )
        data = resp.json()
        if isinstance(data, Mapping):
            data = {"backend": body["backend"], "settings": body.get("settings", {}), **data}
        return structure_model(data, Session, "session")

    async def get_session(self, session_id: str) -> Session:
        """A session's current state (``GET /sessions/{id}``)."""
        sid = check_name(session_id, "session_id")
        data = await self._get_json(f"sessions/{segment(sid)}", route="GET /sessions/{id}")
        return structure_model(data, Session, "session")

    async def end_session(self, session_id: Session | str) -> Session | None:
        """End a session (``POST /sessions/{id}/end``); queued jobs of it still run."""
        sid = (
            session_id.id
            if isinstance(session_id, Session)
            else check_name(session_id, "session_id")
        )
        resp = await self._transport.request(
            "POST",
            f"sessions/{segment(sid)}/end",
            kind=RequestKind.READ,
            route="POST /sessions/{id}/end",
        )
        try:
            data = resp.json() if resp.content else None
        except MalformedResponseError:
            return None
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            return structure_model(data, Session, "session")
        return None

    @asynccontextmanager
    async def session(
        self,
        backend: str,
        *,
        job_count_limit: int | None = None,
        duration_limit_min: int | None = None,
        cost_limit: float | None = None,
    ) -> AsyncIterator[Session]:
        """``async with ionq.session("qpu.forte-1") as s: await ionq.submit(..., session_id=s.id)``.

        The session is ended on exit. If the block raised, its queued jobs are cancelled first
        (as qiskit-ionq does), then the session is ended and the error propagates.
        """
        opened = await self.create_session(
            backend,
            job_count_limit=job_count_limit,
            duration_limit_min=duration_limit_min,
            cost_limit=cost_limit,
        )
        try:
            yield opened
        except BaseException:
            with anyio.CancelScope(shield=True):
                try:
                    queued = [
                        job
                        async for job in self.iter_jobs(session_id=opened.id)
                        if job.session_id == opened.id
                        and job.provider_status.lower() in _QUEUED_RAW
                    ]
                    if queued:
                        await self.cancel_many(queued)
                finally:
                    await self.end_session(opened.id)
            raise
        else:
            await self.end_session(opened.id)

    # ------------------------------------------------------------------------ the requests
    async def _get_json(self, path: str, *, params: Any = None, route: str) -> Any:
        resp = await self._transport.request("GET", path, params=params, route=route)
        return resp.json()

    async def _catalogue_entry(self, name: str) -> Backend | None:
        """The cached catalogue entry for ``name``; None when the server has no catalogue."""
        if self._catalogue is None:  # fetched once; later calls skip the lock
            async with self._catalogue_lock:
                if self._catalogue is None:
                    try:
                        await self.backends()
                    except NotFoundError:
                        logger.debug(
                            "ionq: no backend catalogue at %s; skipping checks", self.base_url
                        )
                        self._catalogue = {}
        return catalogue_entry(self._catalogue or {}, name, "IonQ")

    async def _fetch_probabilities(
        self, job: Job, sharpen: bool | None, params: Mapping[str, Any]
    ) -> Any:
        target, query, route = results.probabilities_request(self.base_url, job, sharpen, params)
        resp = await self._transport.request("GET", target, params=query, route=route)
        return resp.json()

    async def _fetch_memories(
        self, job: Job, children: list[str | None], memories: list[npt.NDArray[np.int64] | None]
    ) -> None:
        """Fill ``memories`` with the per-shot outcomes of ``job`` (or of each child job)."""
        if children == [None]:
            memories[0] = await self._fetch_memory(job.id, results.result_url(job, "shots"))
            return

        async def fetch(i: int, cid: str) -> None:
            memories[i] = await self._fetch_memory(cid, None)

        await _gather([partial(fetch, i, str(child)) for i, child in enumerate(children)])

    async def _fetch_memory(self, job_id: str, url: str | None) -> npt.NDArray[np.int64] | None:
        target = results.shots_target(self.base_url, job_id, url)
        try:
            resp = await self._transport.request(
                "GET", target, route="GET /jobs/{id}/results/shots"
            )
        except (NotFoundError, ConflictError, ValidationError) as exc:
            logger.warning("ionq: per-shot outcomes of job %s unavailable: %s", job_id, exc)
            return None
        return results.memory_from(job_id, resp.json())
