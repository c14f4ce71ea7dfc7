"""Kipu Quantum Hub namespaces: ``client.backends``, ``.jobs``, ``.sessions``, ``.workloads``,
``.runtime_minutes`` and ``client.service_execution(id)`` with its twins.

Every namespace is composed around one :class:`KipuHTTP`, the one place that turns Hub answers
into data: JSON bodies, 204/empty bodies on optional endpoints (``None``), page wrappers followed
to the last page (:mod:`qjobs.providers.kipu.pages`). The ``service-executions/{id}/`` twins
(:class:`ServiceExecution`) use the same HTTP object with a path prefix; they have no job or
session creation, no plain ``result`` and no memory (spec §4). The job and session endpoints both
contexts share are module functions here, which both namespaces call. Every argument is
validated before a request is sent (:mod:`qjobs.providers.kipu.bodies`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import IO, Any

import anyio

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Backend, Job
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import check_id, segment
from qjobs.providers.kipu import pages
from qjobs.providers.kipu.bodies import iso, job_body, job_ref, session_body, session_ref
from qjobs.providers.kipu.config import CHUNK_BYTES
from qjobs.providers.kipu.models import (
    PROVIDER,
    Allowance,
    BackendState,
    Calibration,
    JobState,
    NormalizedInput,
    NormalizedMemory,
    NormalizedResult,
    Session,
    Workload,
    allowances_from_wire,
    backend_from_wire,
    backends_from_wire,
    calibration_from_wire,
    created_job,
    job_from_wire,
    job_state_from_wire,
    normalized_result_from_wire,
    session_from_wire,
    session_jobs_from_wire,
    session_status_from_wire,
    structure_model,
    workload_from_wire,
)
from qjobs.transport import RequestKind, Transport

__all__ = [
    "BackendsAPI",
    "JobsAPI",
    "KipuHTTP",
    "RuntimeMinutesAPI",
    "ServiceExecution",
    "ServiceExecutionJobsAPI",
    "ServiceExecutionSessionsAPI",
    "ServiceExecutionWorkloadsAPI",
    "SessionsAPI",
    "WorkloadsAPI",
]


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
        self, path: str, template: str, *, params: pages.Query | None = None, optional: bool = False
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

    def stream(
        self, path: str, template: str, *, chunk_size: int
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """GET ``path`` as a stream of chunks of at most ``chunk_size`` bytes."""
        return self.transport.stream(
            "GET", self.prefix + path, route=self._route("GET", template), chunk_size=chunk_size
        )

    async def pages(
        self,
        path: str,
        template: str,
        params: pages.Query,
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
            content = pages.page_content(data, path)
            for item in content:
                yield item
            fetched += 1
            if pages.is_last_page(data, content, page, size):
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
        params: pages.Query = []
        if provider is not None:
            params.append(("provider", pages.choices(provider, "provider")[0]))
        if only_planqk_sdk is not None:
            if not isinstance(only_planqk_sdk, bool):
                raise InputError("only_planqk_sdk", only_planqk_sdk, "must be a bool or None")
            params.append(("onlyPlanqkSdk", only_planqk_sdk))
        return backends_from_wire(await self._http.get("backends", "backends", params=params))

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
        params: pages.Query = []
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
        params: pages.Query = [("from", iso(start, "start")), ("to", iso(end, "end"))]
        if end < start:
            raise InputError("end", end, "must not be before start")
        params += pages.sort_params(sort)
        size = pages.check_page_size(size)
        limit = pages.check_max_pages(max_pages)
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
        params: pages.Query = [("provider", pages.choices(provider, "provider")[0])]
        if min_qubits is not None:
            if not is_int(min_qubits, low=1):
                raise InputError("min_qubits", min_qubits, "must be an int >= 1 or None")
            params.append(("minQubits", min_qubits))
        data = await self._http.get("backends/least-busy", "backends/least-busy", params=params)
        return backend_from_wire(data)


# ----------------------------------------------------------------------------------- jobs
# The job endpoints of both contexts (``client.jobs`` and the service-execution twin).
async def _get_job(http: KipuHTTP, job: Job | str) -> Job:
    jid = job_ref(job)
    return job_from_wire(await http.get(f"jobs/{segment(jid)}", "jobs/{id}"))


async def _job_status(http: KipuHTTP, job: Job | str) -> JobState:
    jid = job_ref(job)
    return job_state_from_wire(await http.get(f"jobs/{segment(jid)}/status", "jobs/{id}/status"))


async def _normalized_result(http: KipuHTTP, job: Job | str) -> NormalizedResult | None:
    jid = job_ref(job)
    data = await http.get(
        f"jobs/{segment(jid)}/result/normalized", "jobs/{id}/result/normalized", optional=True
    )
    return None if data is None else normalized_result_from_wire(data)


async def _stream_result(
    http: KipuHTTP,
    job: Job | str,
    destination: str | os.PathLike[str] | IO[bytes],
    chunk_size: int,
) -> int:
    jid = job_ref(job)
    if not is_int(chunk_size, low=1):
        raise InputError("chunk_size", chunk_size, "must be an int >= 1")
    is_path = isinstance(destination, str | os.PathLike)
    if not is_path and not callable(getattr(destination, "write", None)):
        raise InputError("destination", destination, "must be a path or a binary file")
    written = 0
    stream = http.stream(
        f"jobs/{segment(jid)}/result-stream", "jobs/{id}/result-stream", chunk_size=chunk_size
    )
    if not is_path:
        sink: IO[bytes] = destination  # type: ignore[assignment]
        async with stream as chunks:
            async for chunk in chunks:
                sink.write(chunk)
                written += len(chunk)
        return written
    target = anyio.Path(os.fspath(destination))  # type: ignore[arg-type]
    # Written beside the target and moved into place once complete: a failed download
    # leaves neither a partial file nor a damaged copy of a file already at the path.
    part = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        async with stream as chunks, await anyio.open_file(part, "xb") as out:
            async for chunk in chunks:
                await out.write(chunk)
                written += len(chunk)
        await part.replace(target)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await part.unlink(missing_ok=True)
        raise
    return written


async def _job_input(http: KipuHTTP, job: Job | str) -> dict[str, Any]:
    jid = job_ref(job)
    data = await http.get(f"jobs/{segment(jid)}/input", "jobs/{id}/input")
    if not isinstance(data, dict):
        raise MalformedResponseError("job input is not an object", provider=PROVIDER)
    return data


async def _normalized_input(http: KipuHTTP, job: Job | str) -> NormalizedInput:
    jid = job_ref(job)
    data = await http.get(f"jobs/{segment(jid)}/input/normalized", "jobs/{id}/input/normalized")
    return structure_model(data, NormalizedInput, "normalized input")


async def _job_calibration(http: KipuHTTP, job: Job | str) -> Calibration | None:
    jid = job_ref(job)
    data = await http.get(
        f"jobs/{segment(jid)}/calibration", "jobs/{id}/calibration", optional=True
    )
    return None if data is None else calibration_from_wire(data)


async def _cancel_job(http: KipuHTTP, job: Job | str) -> None:
    jid = job_ref(job)
    await http.send("DELETE", f"jobs/{segment(jid)}", "jobs/{id}")


class JobsAPI:
    """``client.jobs``: search, create, read, results, cancel."""

    def __init__(self, http: KipuHTTP, page_size: int) -> None:
        self._http = http
        self._page_size = page_size

    async def search(
        self,
        *,
        sort: str | Sequence[str] | None = "created_at,desc",
        size: int | None = None,
        page: int = 0,
        service_execution_id: str | None = None,
        max_pages: int | None = None,
    ) -> AsyncGenerator[Job, None]:
        """Every job, newest first by default, from zero-based ``page`` to the last page."""
        params: pages.Query = pages.sort_params(sort)
        if service_execution_id is not None:
            params.append(
                ("serviceExecutionId", check_id(service_execution_id, "service_execution_id"))
            )
        if not is_int(page, low=0):
            raise InputError("page", page, "must be an int >= 0")
        page_size = pages.check_page_size(self._page_size if size is None else size)
        limit = pages.check_max_pages(max_pages)
        async for item in self._http.pages(
            "jobs", "jobs", params, size=page_size, start=page, max_pages=limit
        ):
            yield job_from_wire(item)

    def build_body(
        self,
        backend_id: str,
        *,
        shots: int,
        input: Circuit | Sequence[Circuit] | Mapping[str, Any] | str,
        name: str | None = None,
        input_format: str | None = None,
        input_params: Mapping[str, Any] | None = None,
        qasm: Mapping[str, Any] | Circuit | Sequence[Circuit] | None = None,
        tags: Sequence[str] | None = None,
        session_id: str | None = None,
        sdk_provider: str | None = "CLIENT",
    ) -> tuple[dict[str, Any], tuple[int, ...]]:
        """The ``POST jobs`` body (validated) and the clbit count of each encoded circuit."""
        return job_body(
            backend_id,
            shots=shots,
            input=input,
            name=name,
            input_format=input_format,
            input_params=input_params,
            qasm=qasm,
            tags=tags,
            session_id=session_id,
            sdk_provider=sdk_provider,
        )

    async def create(
        self,
        backend_id: str,
        *,
        shots: int,
        input: Circuit | Sequence[Circuit] | Mapping[str, Any] | str,
        name: str | None = None,
        input_format: str | None = None,
        input_params: Mapping[str, Any] | None = None,
        qasm: Mapping[str, Any] | Circuit | Sequence[Circuit] | None = None,
        tags: Sequence[str] | None = None,
        session_id: str | None = None,
        sdk_provider: str | None = "CLIENT",
    ) -> Job:
        """Create a job (``POST jobs``) with any backend's native input.

        ``input`` is a :class:`~qjobs.Circuit` (or a list, where the backend takes several),
        encoded for the backend by :mod:`qjobs.providers.kipu.circuits` (IonQ JSON, OpenQASM, IBM
        PUBs), or the provider-native dict (or bare QASM string) sent as is. ``qasm`` adds the QASM
        rendering the Hub can use when it cannot decode ``input``. Sent once: a failure after
        the request may have arrived raises :class:`~qjobs.SubmitUncertainError`.
        """
        body, _ = self.build_body(
            backend_id,
            shots=shots,
            input=input,
            name=name,
            input_format=input_format,
            input_params=input_params,
            qasm=qasm,
            tags=tags,
            session_id=session_id,
            sdk_provider=sdk_provider,
        )
        return await self.post(body)

    async def post(self, body: Mapping[str, Any]) -> Job:
        """Send a prepared ``POST jobs`` body and return the job (never resent blindly)."""
        data = await self._http.send("POST", "jobs", "jobs", json=body, kind=RequestKind.CREATE)
        return created_job(body, data)

    async def get(self, job: Job | str) -> Job:
        """A job's current state (``GET jobs/{id}``)."""
        return await _get_job(self._http, job)

    async def status(self, job: Job | str) -> JobState:
        """A job's status alone (``GET jobs/{id}/status``)."""
        return await _job_status(self._http, job)

    async def result(self, job: Job | str) -> Any:
        """The provider-native result JSON (``GET jobs/{id}/result``), None when empty. A
        failed job's result is ``{"error": {"message", "code"?, "details"?}}``."""
        jid = job_ref(job)
        return await self._http.get(
            f"jobs/{segment(jid)}/result", "jobs/{id}/result", optional=True
        )

    async def normalized_result(self, job: Job | str) -> NormalizedResult | None:
        """The provider-independent result (Qiskit bit order); None (204) when the backend's
        results cannot be normalized (photonic, neutral-atom)."""
        return await _normalized_result(self._http, job)

    async def normalized_memory(self, job: Job | str) -> NormalizedMemory | None:
        """Per-shot outcomes as Qiskit hex strings; None (204) without per-shot data."""
        jid = job_ref(job)
        data = await self._http.get(
            f"jobs/{segment(jid)}/result/normalized/memory",
            "jobs/{id}/result/normalized/memory",
            optional=True,
        )
        if data is None:
            return None
        return structure_model(data, NormalizedMemory, "memory")

    async def stream_result(
        self,
        job: Job | str,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        chunk_size: int = CHUNK_BYTES,
    ) -> int:
        """Download the result file (``GET jobs/{id}/result-stream``) chunk by chunk into
        ``destination`` (a path, replaced once the download is complete, or a binary file
        object) and return the number of bytes written. The result is never held in memory
        whole; a failed download leaves no partial file and keeps a file already at the path."""
        return await _stream_result(self._http, job, destination, chunk_size)

    async def input(self, job: Job | str) -> dict[str, Any]:
        """The job's provider-native input (``GET jobs/{id}/input``)."""
        return await _job_input(self._http, job)

    async def normalized_input(self, job: Job | str) -> NormalizedInput:
        """The input as OpenQASM PUBs; :class:`~qjobs.ValidationError` (422) when the Hub
        cannot render it as QASM."""
        return await _normalized_input(self._http, job)

    async def calibration(self, job: Job | str) -> Calibration | None:
        """The calibration the job ran under; None when there is none (simulators)."""
        return await _job_calibration(self._http, job)

    async def cancel(self, job: Job | str) -> None:
        """Cancel a job (``DELETE jobs/{id}``); it passes through CANCELLING to CANCELLED."""
        await _cancel_job(self._http, job)


class ServiceExecutionJobsAPI:
    """``client.service_execution(id).jobs``: the service execution's job twins (reads and
    cancel; no creation, no plain result, no memory)."""

    def __init__(self, http: KipuHTTP, page_size: int) -> None:
        self._http = http
        self._page_size = page_size

    async def get(self, job: Job | str) -> Job:
        """A job's current state (``GET jobs/{id}``)."""
        return await _get_job(self._http, job)

    async def status(self, job: Job | str) -> JobState:
        """A job's status alone (``GET jobs/{id}/status``)."""
        return await _job_status(self._http, job)

    async def normalized_result(self, job: Job | str) -> NormalizedResult | None:
        """The provider-independent result (Qiskit bit order); None (204) when the backend's
        results cannot be normalized (photonic, neutral-atom)."""
        return await _normalized_result(self._http, job)

    async def stream_result(
        self,
        job: Job | str,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        chunk_size: int = CHUNK_BYTES,
    ) -> int:
        """Download the result file (``GET jobs/{id}/result-stream``) chunk by chunk into
        ``destination`` (a path, replaced once the download is complete, or a binary file
        object) and return the number of bytes written. The result is never held in memory
        whole; a failed download leaves no partial file and keeps a file already at the path."""
        return await _stream_result(self._http, job, destination, chunk_size)

    async def input(self, job: Job | str) -> dict[str, Any]:
        """The job's provider-native input (``GET jobs/{id}/input``)."""
        return await _job_input(self._http, job)

    async def normalized_input(self, job: Job | str) -> NormalizedInput:
        """The input as OpenQASM PUBs; :class:`~qjobs.ValidationError` (422) when the Hub
        cannot render it as QASM."""
        return await _normalized_input(self._http, job)

    async def calibration(self, job: Job | str) -> Calibration | None:
        """The calibration the job ran under; None when there is none (simulators)."""
        return await _job_calibration(self._http, job)

    async def cancel(self, job: Job | str) -> None:
        """Cancel a job (``DELETE jobs/{id}``); it passes through CANCELLING to CANCELLED."""
        await _cancel_job(self._http, job)


# ------------------------------------------------------------------------------- sessions
# The session endpoints of both contexts (``client.sessions`` and the service-execution twin).
async def _get_session(http: KipuHTTP, session: Session | str) -> Session:
    sid = session_ref(session)
    return session_from_wire(await http.get(f"sessions/{segment(sid)}", "sessions/{id}"))


async def _session_status(http: KipuHTTP, session: Session | str) -> str:
    sid = session_ref(session)
    data = await http.get(f"sessions/{segment(sid)}/status", "sessions/{id}/status")
    return session_status_from_wire(data)


async def _session_jobs(http: KipuHTTP, session: Session | str) -> list[Job]:
    sid = session_ref(session)
    data = await http.get(f"sessions/{segment(sid)}/jobs", "sessions/{id}/jobs")
    return session_jobs_from_wire(data)


async def _accept(http: KipuHTTP, session: Session | str, accept: bool) -> Session:
    sid = session_ref(session)
    data = await http.send(
        "PATCH", f"sessions/{segment(sid)}", "sessions/{id}", json={"accept_jobs": accept}
    )
    return session_from_wire(data) if data is not None else await _get_session(http, sid)


async def _close_session(http: KipuHTTP, session: Session | str) -> None:
    sid = session_ref(session)
    await http.send("DELETE", f"sessions/{segment(sid)}", "sessions/{id}")


class SessionsAPI:
    """``client.sessions``: create, read, drain, close; :meth:`open` closes on exit."""

    def __init__(self, http: KipuHTTP) -> None:
        self._http = http

    async def create(
        self,
        backend_id: str,
        *,
        mode: str = "batch",
        provider: str | None = None,
        ttl: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        sdk_provider: str | None = "CLIENT",
    ) -> Session:
        """Open a session (``POST sessions``). ``mode`` is ``batch`` or ``dedicated``;
        ``provider`` defaults to the backend id's first segment upper-cased (``ibm`` -> IBM);
        ``ttl`` is in seconds."""
        body = session_body(
            backend_id,
            mode=mode,
            provider=provider,
            ttl=ttl,
            metadata=metadata,
            sdk_provider=sdk_provider,
        )
        data = await self._http.send(
            "POST", "sessions", "sessions", json=body, kind=RequestKind.WRITE
        )
        return session_from_wire(data)

    @asynccontextmanager
    async def open(
        self,
        backend_id: str,
        *,
        mode: str = "batch",
        provider: str | None = None,
        ttl: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Session]:
        """``async with client.sessions.open("ibm.qpu.fez") as s:`` — closed on exit, even when
        the block raises (in-flight jobs still complete)."""
        session = await self.create(
            backend_id, mode=mode, provider=provider, ttl=ttl, metadata=metadata
        )
        try:
            yield session
        finally:
            with anyio.CancelScope(shield=True):
                await self.close(session.id)

    async def get(self, session: Session | str) -> Session:
        """A session (``GET sessions/{id}``)."""
        return await _get_session(self._http, session)

    async def status(self, session: Session | str) -> str:
        """The raw session status (OPEN, ACTIVE, INACTIVE, DRAINING, CLOSED, ABORTED,
        DETACHED; UNKNOWN when absent)."""
        return await _session_status(self._http, session)

    async def jobs(self, session: Session | str) -> list[Job]:
        """The session's jobs. The Hub documents a list but types one Job: a list, a page
        ``{content: [...]}`` and a single job object are all read."""
        return await _session_jobs(self._http, session)

    async def accept_jobs(self, session: Session | str) -> Session:
        """Let the session take new jobs again (``PATCH {"accept_jobs": true}`` -> ACTIVE)."""
        return await _accept(self._http, session, True)

    async def stop_accepting(self, session: Session | str) -> Session:
        """Refuse new jobs, finish in-flight ones (``PATCH {"accept_jobs": false}`` ->
        DRAINING)."""
        return await _accept(self._http, session, False)

    async def close(self, session: Session | str) -> None:
        """Close the session (``DELETE sessions/{id}``; idempotent; in-flight jobs complete)."""
        await _close_session(self._http, session)


class ServiceExecutionSessionsAPI:
    """``client.service_execution(id).sessions``: the service execution's session twins (no
    creation)."""

    def __init__(self, http: KipuHTTP) -> None:
        self._http = http

    async def get(self, session: Session | str) -> Session:
        """A session (``GET sessions/{id}``)."""
        return await _get_session(self._http, session)

    async def status(self, session: Session | str) -> str:
        """The raw session status (OPEN, ACTIVE, INACTIVE, DRAINING, CLOSED, ABORTED,
        DETACHED; UNKNOWN when absent)."""
        return await _session_status(self._http, session)

    async def jobs(self, session: Session | str) -> list[Job]:
        """The session's jobs. The Hub documents a list but types one Job: a list, a page
        ``{content: [...]}`` and a single job object are all read."""
        return await _session_jobs(self._http, session)

    async def accept_jobs(self, session: Session | str) -> Session:
        """Let the session take new jobs again (``PATCH {"accept_jobs": true}`` -> ACTIVE)."""
        return await _accept(self._http, session, True)

    async def stop_accepting(self, session: Session | str) -> Session:
        """Refuse new jobs, finish in-flight ones (``PATCH {"accept_jobs": false}`` ->
        DRAINING)."""
        return await _accept(self._http, session, False)

    async def close(self, session: Session | str) -> None:
        """Close the session (``DELETE sessions/{id}``; idempotent; in-flight jobs complete)."""
        await _close_session(self._http, session)


# ---------------------------------------------------------------------------- workloads
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
        params = pages.workload_params(
            {
                "type": type,
                "status": status,
                "provider": provider,
                "backend_id": backend_id,
                "tag": tag,
                "origin": origin,
                "service_execution_id": service_execution_id,
            }
        )
        params += pages.sort_params(sort)
        page_size = pages.check_page_size(self._page_size if size is None else size)
        limit = pages.check_max_pages(max_pages)
        async for item in self._http.pages(
            "workloads", "workloads", params, size=page_size, max_pages=limit
        ):
            yield workload_from_wire(item)


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
        params = pages.sort_params(sort)
        page_size = pages.check_page_size(self._page_size if size is None else size)
        limit = pages.check_max_pages(max_pages)
        async for item in self._http.pages(
            "workloads", "workloads", params, size=page_size, max_pages=limit
        ):
            yield workload_from_wire(item)


# ------------------------------------------------------------------------ runtime minutes
class RuntimeMinutesAPI:
    """``client.runtime_minutes``: QPU time allowances."""

    def __init__(self, http: KipuHTTP) -> None:
        self._http = http

    async def get(self) -> list[Allowance]:
        """Every allowance (``GET runtime-minutes``)."""
        return allowances_from_wire(await self._http.get("runtime-minutes", "runtime-minutes"))


# ---------------------------------------------------------------------- service executions
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
