"""Kipu Quantum Hub jobs and sessions namespaces (and their service-execution twins).

``client.jobs`` and ``client.sessions`` hold the user's own endpoints;
``client.service_execution(id).jobs`` / ``.sessions`` the ``service-executions/{id}/`` twins,
which have no job or session creation, no plain ``result`` and no memory (spec §4).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import IO, Any, Final

import anyio
import orjson

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Job
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import segment
from qjobs.providers.kipu import circuits as codec
from qjobs.providers.kipu._api import (
    KipuHTTP,
    Query,
    check_id,
    check_max_pages,
    check_page_size,
    sort_params,
)
from qjobs.providers.kipu.models import (
    PROVIDER,
    STATUS_MAP,
    Calibration,
    JobState,
    NormalizedInput,
    NormalizedMemory,
    NormalizedResult,
    Session,
    calibration_from_wire,
    job_from_wire,
    normalized_result_from_wire,
    structure_model,
)
from qjobs.transport import RequestKind

__all__ = [
    "INPUT_FORMATS",
    "SDK_PROVIDERS",
    "JobsAPI",
    "ServiceExecutionJobsAPI",
    "ServiceExecutionSessionsAPI",
    "SessionsAPI",
    "job_ref",
]

#: ``input_format`` values the Hub knows (spec §6).
INPUT_FORMATS: Final = frozenset(
    {
        "OPEN_QASM_V1",
        "OPEN_QASM_V2",
        "OPEN_QASM_V3",
        "QIR_V1",
        "BRAKET_OPEN_QASM_V3",
        "BRAKET_AHS_PROGRAM",
        "IONQ_CIRCUIT_V1",
        "QISKIT_QPY",
        "QOQO",
        "PERCEVAL",
        "IQM_JOB_INPUT_V1",
        "AQT_JOB_INPUT_V1",
    }
)
SDK_PROVIDERS: Final = frozenset({"QISKIT", "BRAKET", "PERCEVAL", "CLIENT"})
SESSION_MODES: Final = frozenset({"batch", "dedicated"})
QASM_FORMATS: Final = frozenset({"openqasm.v2", "openqasm.v3"})
_CHUNK: Final = 64 * 1024


def job_ref(job: Job | str, field: str = "job") -> str:
    """The id of a Job or an id string, checked as a path segment."""
    return check_id(job.id if isinstance(job, Job) else job, field)


def session_ref(session: Session | str, field: str = "session") -> str:
    """The id of a Session or an id string, checked as a path segment."""
    return check_id(session.id if isinstance(session, Session) else session, field)


def _json_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(field, value, "must be a mapping")
    try:
        orjson.dumps(value)
    except TypeError as exc:
        raise InputError(field, "<mapping>", f"not JSON-serializable: {exc}") from None
    return dict(value)


def _tags(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InputError("tags", value, "must be a list of strings")
    for tag in value:
        if not isinstance(tag, str) or not tag:
            raise InputError("tags", value, "must hold non-empty strings")
    return list(value)


def _qasm_rendering(value: Any) -> dict[str, Any]:
    """The body's ``qasm`` key from a mapping, a Circuit or a list of Circuits."""
    if isinstance(value, Mapping):
        data = _json_object(value, "qasm")
        if data.get("format") not in QASM_FORMATS or not isinstance(data.get("programs"), list):
            raise InputError("qasm", value, "needs format openqasm.v2|v3 and a programs list")
        return data
    circuits = [value] if isinstance(value, Circuit) else value
    if not isinstance(circuits, Sequence) or not circuits:
        raise InputError("qasm", value, "must be a mapping, a Circuit or a list of Circuits")
    programs = []
    for i, c in enumerate(circuits):
        if not isinstance(c, Circuit):
            raise InputError(f"qasm[{i}]", type(c).__name__, "not a qjobs.Circuit")
        if c.parameters:
            raise InputError(f"qasm[{i}].parameters", list(c.parameters), "unbound parameters")
        programs.append({"qasm": c.to_qasm3(), "name": c.name or f"circuit-{i}"})
    return {"format": "openqasm.v3", "programs": programs}


# ----------------------------------------------------------------------------------- jobs
class _JobReads:
    """Job endpoints shared by ``client.jobs`` and the service-execution twin."""

    def __init__(self, http: KipuHTTP, page_size: int) -> None:
        self._http = http
        self._page_size = page_size

    async def get(self, job: Job | str) -> Job:
        """A job's current state (``GET jobs/{id}``)."""
        jid = job_ref(job)
        return job_from_wire(await self._http.get(f"jobs/{segment(jid)}", "jobs/{id}"))

    async def status(self, job: Job | str) -> JobState:
        """A job's status alone (``GET jobs/{id}/status``)."""
        jid = job_ref(job)
        data = await self._http.get(f"jobs/{segment(jid)}/status", "jobs/{id}/status")
        if not isinstance(data, Mapping):
            raise MalformedResponseError("job status is not an object", provider=PROVIDER)
        raw = data.get("status")
        text = raw if isinstance(raw, str) else ""
        from qjobs._core.models import JobStatus

        return JobState(STATUS_MAP.get(text.upper(), JobStatus.UNKNOWN), text)

    async def normalized_result(self, job: Job | str) -> NormalizedResult | None:
        """The provider-independent result (Qiskit bit order); None (204) when the backend's
        results cannot be normalized (photonic, neutral-atom)."""
        jid = job_ref(job)
        data = await self._http.get(
            f"jobs/{segment(jid)}/result/normalized", "jobs/{id}/result/normalized", optional=True
        )
        return None if data is None else normalized_result_from_wire(data)

    async def stream_result(
        self,
        job: Job | str,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        chunk_size: int = _CHUNK,
    ) -> int:
        """Download the result file (``GET jobs/{id}/result-stream``) chunk by chunk into
        ``destination`` (a path, replaced once the download is complete, or a binary file
        object) and return the number of bytes written. The result is never held in memory
        whole; a failed download leaves no partial file and keeps a file already at the path."""
        jid = job_ref(job)
        if not is_int(chunk_size, low=1):
            raise InputError("chunk_size", chunk_size, "must be an int >= 1")
        is_path = isinstance(destination, str | os.PathLike)
        if not is_path and not callable(getattr(destination, "write", None)):
            raise InputError("destination", destination, "must be a path or a binary file")
        route = self._http._route("GET", "jobs/{id}/result-stream")
        written = 0
        stream = self._http.transport.stream(
            "GET",
            f"{self._http.prefix}jobs/{segment(jid)}/result-stream",
            route=route,
            chunk_size=chunk_size,
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

    async def input(self, job: Job | str) -> dict[str, Any]:
        """The job's provider-native input (``GET jobs/{id}/input``)."""
        jid = job_ref(job)
        data = await self._http.get(f"jobs/{segment(jid)}/input", "jobs/{id}/input")
        if not isinstance(data, dict):
            raise MalformedResponseError("job input is not an object", provider=PROVIDER)
        return data

    async def normalized_input(self, job: Job | str) -> NormalizedInput:
        """The input as OpenQASM PUBs; :class:`~qjobs.ValidationError` (422) when the Hub
        cannot render it as QASM."""
        jid = job_ref(job)
        data = await self._http.get(
            f"jobs/{segment(jid)}/input/normalized", "jobs/{id}/input/normalized"
        )
        return structure_model(data, NormalizedInput, "normalized input")

    async def calibration(self, job: Job | str) -> Calibration | None:
        """The calibration the job ran under; None when there is none (simulators)."""
        jid = job_ref(job)
        data = await self._http.get(
            f"jobs/{segment(jid)}/calibration", "jobs/{id}/calibration", optional=True
        )
        return None if data is None else calibration_from_wire(data)

    async def cancel(self, job: Job | str) -> None:
        """Cancel a job (``DELETE jobs/{id}``); it passes through CANCELLING to CANCELLED."""
        jid = job_ref(job)
        await self._http.send("DELETE", f"jobs/{segment(jid)}", "jobs/{id}")


class JobsAPI(_JobReads):
    """``client.jobs``: search, create, read, results, cancel."""

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
        params: Query = sort_params(sort)
        if service_execution_id is not None:
            params.append(
                ("serviceExecutionId", check_id(service_execution_id, "service_execution_id"))
            )
        if not is_int(page, low=0):
            raise InputError("page", page, "must be an int >= 0")
        page_size = check_page_size(self._page_size if size is None else size)
        limit = check_max_pages(max_pages)
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
        backend_id = check_id(backend_id, "backend_id")
        if not is_int(shots, low=1):
            raise InputError("shots", shots, "must be an int >= 1")
        widths: tuple[int, ...] = ()
        params: dict[str, Any] = {}
        rendering: dict[str, Any] | None = None
        fmt = input_format
        if isinstance(input, Circuit) or (
            isinstance(input, Sequence)
            and not isinstance(input, str)
            and input
            and all(isinstance(c, Circuit) for c in input)
        ):
            encoded = codec.encode(input, backend_id)
            wire_input: Any = encoded.input
            params.update(encoded.input_params)
            fmt = fmt or encoded.input_format
            rendering = encoded.qasm
            widths = encoded.num_clbits
        elif isinstance(input, Mapping):
            wire_input = _json_object(input, "input")
        elif isinstance(input, str) and input.strip():
            wire_input = input  # a bare OpenQASM 3 string (Braket)
        else:
            raise InputError(
                "input", input, "must be a Circuit, a list of Circuits, a dict or a QASM string"
            )
        if fmt is not None and fmt not in INPUT_FORMATS:
            raise InputError("input_format", fmt, f"must be one of {sorted(INPUT_FORMATS)}")
        if input_params is not None:
            params.update(_json_object(input_params, "input_params"))
        if qasm is not None:
            rendering = _qasm_rendering(qasm)
        body: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name:
                raise InputError("name", name, "must be a non-empty string")
            body["name"] = name
        body.update({"backend_id": backend_id, "shots": shots, "input": wire_input})
        if fmt is not None:
            body["input_format"] = fmt
        if params:
            body["input_params"] = params
        if rendering is not None:
            body["qasm"] = rendering
        if tags is not None:
            body["tags"] = _tags(tags)
        if session_id is not None:
            body["session_id"] = check_id(session_id, "session_id")
        if sdk_provider is not None:
            if sdk_provider not in SDK_PROVIDERS:
                raise InputError(
                    "sdk_provider", sdk_provider, f"must be one of {sorted(SDK_PROVIDERS)}"
                )
            body["sdk_provider"] = sdk_provider
        return body, widths

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
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise MalformedResponseError(
                "job creation answer has no id", provider=PROVIDER, method="POST", path="/jobs"
            )
        sent = {
            k: body[k] for k in ("name", "backend_id", "shots", "tags", "session_id") if k in body
        }
        return job_from_wire(
            {"status": "PENDING", **sent, **{k: v for k, v in data.items() if v is not None}}
        )

    async def result(self, job: Job | str) -> Any:
        """The provider-native result JSON (``GET jobs/{id}/result``), None when empty. A
        failed job's result is ``{"error": {"message", "code"?, "details"?}}``."""
        jid = job_ref(job)
        return await self._http.get(
            f"jobs/{segment(jid)}/result", "jobs/{id}/result", optional=True
        )

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


class ServiceExecutionJobsAPI(_JobReads):
    """``client.service_execution(id).jobs``: the service execution's job twins."""


# ------------------------------------------------------------------------------- sessions
def _session(data: Any) -> Session:
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise MalformedResponseError("session object without an id", provider=PROVIDER)
    return structure_model(data, Session, "session")


class _SessionOps:
    """Session endpoints shared by ``client.sessions`` and the service-execution twin."""

    def __init__(self, http: KipuHTTP) -> None:
        self._http = http

    async def get(self, session: Session | str) -> Session:
        """A session (``GET sessions/{id}``)."""
        sid = session_ref(session)
        return _session(await self._http.get(f"sessions/{segment(sid)}", "sessions/{id}"))

    async def status(self, session: Session | str) -> str:
        """The raw session status (OPEN, ACTIVE, INACTIVE, DRAINING, CLOSED, ABORTED,
        DETACHED; UNKNOWN when absent)."""
        sid = session_ref(session)
        data = await self._http.get(f"sessions/{segment(sid)}/status", "sessions/{id}/status")
        if not isinstance(data, Mapping):
            raise MalformedResponseError("session status is not an object", provider=PROVIDER)
        raw = data.get("status")
        return raw if isinstance(raw, str) and raw else "UNKNOWN"

    async def jobs(self, session: Session | str) -> list[Job]:
        """The session's jobs. The Hub documents a list but types one Job: a list, a page
        ``{content: [...]}`` and a single job object are all read."""
        sid = session_ref(session)
        data = await self._http.get(f"sessions/{segment(sid)}/jobs", "sessions/{id}/jobs")
        if isinstance(data, list):
            items = data
        elif isinstance(data, Mapping) and isinstance(data.get("content"), list):
            items = data["content"]
        elif isinstance(data, Mapping) and isinstance(data.get("id"), str):
            items = [data]
        elif isinstance(data, Mapping):
            items = []
        else:
            raise MalformedResponseError("session jobs are not a list", provider=PROVIDER)
        return [job_from_wire(item) for item in items]

    async def _accept(self, session: Session | str, accept: bool) -> Session:
        sid = session_ref(session)
        data = await self._http.send(
            "PATCH", f"sessions/{segment(sid)}", "sessions/{id}", json={"accept_jobs": accept}
        )
        return _session(data) if data is not None else await self.get(sid)

    async def accept_jobs(self, session: Session | str) -> Session:
        """Let the session take new jobs again (``PATCH {"accept_jobs": true}`` -> ACTIVE)."""
        return await self._accept(session, True)

    async def stop_accepting(self, session: Session | str) -> Session:
        """Refuse new jobs, finish in-flight ones (``PATCH {"accept_jobs": false}`` ->
        DRAINING)."""
        return await self._accept(session, False)

    async def close(self, session: Session | str) -> None:
        """Close the session (``DELETE sessions/{id}``; idempotent; in-flight jobs complete)."""
        sid = session_ref(session)
        await self._http.send("DELETE", f"sessions/{segment(sid)}", "sessions/{id}")


class SessionsAPI(_SessionOps):
    """``client.sessions``: create, read, drain, close; :meth:`open` closes on exit."""

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
        backend_id = check_id(backend_id, "backend_id")
        if mode not in SESSION_MODES:
            raise InputError("mode", mode, f"must be one of {sorted(SESSION_MODES)}")
        if provider is None:
            provider = backend_id.split(".", 1)[0].upper()
        elif not isinstance(provider, str) or not provider:
            raise InputError("provider", provider, "must be a non-empty string")
        body: dict[str, Any] = {"backend_id": backend_id, "mode": mode, "provider": provider}
        if ttl is not None:
            if not is_int(ttl, low=1):
                raise InputError("ttl", ttl, "must be an int >= 1 (seconds)")
            body["ttl"] = ttl
        if metadata is not None:
            body["metadata"] = _json_object(metadata, "metadata")
        if sdk_provider is not None:
            if sdk_provider not in SDK_PROVIDERS:
                raise InputError(
                    "sdk_provider", sdk_provider, f"must be one of {sorted(SDK_PROVIDERS)}"
                )
            body["sdk_provider"] = sdk_provider
        data = await self._http.send(
            "POST", "sessions", "sessions", json=body, kind=RequestKind.WRITE
        )
        return _session(data)

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


class ServiceExecutionSessionsAPI(_SessionOps):
    """``client.service_execution(id).sessions``: the service execution's session twins."""
