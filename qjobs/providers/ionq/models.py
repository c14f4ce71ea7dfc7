"""IonQ wire <-> model mapping: status table, typed models, the cattrs converter.

Everything here is pure (no I/O). Responses are read leniently: unknown keys are ignored, an
unknown job status becomes :attr:`JobStatus.UNKNOWN` with the raw string kept in
``Job.provider_status``, and a missing required field raises
:class:`~qjobs.MalformedResponseError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs

from qjobs._core.error_bodies import default_error_parser
from qjobs._core.errors import MalformedResponseError
from qjobs._core.models import Backend, Job, JobFailure, JobStatus
from qjobs._core.validation import is_int, is_mapping
from qjobs.providers._wire import (
    json_body,
    lenient_converter,
    lookup_status,
    opt_int,
    parse_time,
    structure,
)
from qjobs.providers.ionq.config import PROVIDER

__all__ = [
    "PROVIDER",
    "STATUS_MAP",
    "BatchStatus",
    "Characterization",
    "Estimate",
    "Session",
    "backend_from_wire",
    "converter",
    "job_from_wire",
    "parse_time",
    "submitted_job",
]

T = TypeVar("T")

#: IonQ job status -> unified status. IonQ spells ``canceled`` with one l and says ``started``.
STATUS_MAP: Final[dict[str, JobStatus]] = {
    "submitted": JobStatus.QUEUED,
    "ready": JobStatus.QUEUED,
    "queued": JobStatus.QUEUED,
    "started": JobStatus.RUNNING,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "canceled": JobStatus.CANCELLED,
    "cancelled": JobStatus.CANCELLED,
}


# ------------------------------------------------------------------------------ models
@attrs.frozen(slots=True)
class Session:
    """An IonQ session: jobs submitted with its ``id`` run back to back on one backend.

    ``state`` is IonQ's raw state string (e.g. ``"active"``, ``"ended"``); ``settings`` holds
    the limits it was created with; ``details`` keeps every other field IonQ returned.
    """

    id: str
    backend: str | None = None
    state: str | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    usage_time: float | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def is_active(self) -> bool:
        """True unless IonQ reports the session ended (or ending)."""
        return (self.state or "").lower() not in {"ended", "ending", "closed", "expired"}


@attrs.frozen(slots=True)
class Characterization:
    """One calibration record of a backend (``GET /backends/{name}/characterizations``).

    ``fidelity`` and ``timing`` are IonQ's nested objects as sent (e.g.
    ``fidelity["spam"]["median"]``); ``connectivity`` lists coupled qubit pairs. ``status``
    defaults to ``"available"`` as IonQ's SDK assumes when it is missing.
    """

    id: str | None = None
    backend: str | None = None
    date: datetime | None = None
    qubits: int | None = None
    connectivity: tuple[tuple[int, ...], ...] = ()
    fidelity: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    timing: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    status: str = "available"
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class Estimate:
    """A cost and time estimate from ``GET /jobs/estimate``.

    ``estimated_execution_time`` and ``current_predicted_queue_time`` are in seconds;
    ``estimated_cost`` is in ``cost_unit`` (e.g. ``"usd"``).
    """

    estimated_cost: float | None = None
    cost_unit: str | None = None
    estimated_execution_time: float | None = None
    current_predicted_queue_time: float | None = None
    estimated_at: datetime | None = None
    input_values: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    rate_information: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class BatchStatus:
    """Progress of a multi-circuit job, child by child (qiskit-ionq's ``status(detailed=True)``).

    ``job`` is the parent as just fetched and ``children`` its child jobs in circuit order (a job
    without children counts as its own single child). ``counts`` maps each unified status to
    the number of children in it.
    """

    job: Job
    children: tuple[Job, ...]

    @property
    def total(self) -> int:
        """The number of children (circuits)."""
        return len(self.children)

    @property
    def counts(self) -> dict[JobStatus, int]:
        """Children per unified status (statuses with no child are omitted)."""
        out: dict[JobStatus, int] = {}
        for child in self.children:
            out[child.status] = out.get(child.status, 0) + 1
        return out

    @property
    def completed(self) -> int:
        """Children that completed."""
        return self.counts.get(JobStatus.COMPLETED, 0)

    @property
    def failed(self) -> int:
        """Children that failed."""
        return self.counts.get(JobStatus.FAILED, 0)

    @property
    def cancelled(self) -> int:
        """Children that were cancelled."""
        return self.counts.get(JobStatus.CANCELLED, 0)

    @property
    def finished(self) -> int:
        """Children in a final status (completed, failed or cancelled)."""
        return sum(1 for child in self.children if child.is_final)

    @property
    def percentage_complete(self) -> float:
        """``100 * completed / total`` (0.0 for an empty batch)."""
        return 100.0 * self.completed / self.total if self.total else 0.0

    @property
    def statuses(self) -> dict[str, str]:
        """Each child's raw IonQ status, by child id."""
        return {child.id: child.provider_status for child in self.children}


@attrs.define(slots=True)
class _WireJob:
    """The fields of an IonQ job object that qjobs reads (all optional but ``id``)."""

    id: str
    status: str = ""
    type: str | None = None
    backend: str | None = None
    target: str | None = None  # v0.3 name of ``backend``
    name: str | None = None
    shots: int | None = None
    session_id: str | None = None
    parent_job_id: str | None = None
    child_job_ids: list[str] | None = None
    children: list[str] | None = None  # v0.3 name of ``child_job_ids``
    metadata: dict[str, Any] | None = None
    submitted_at: datetime | None = None
    request: datetime | None = None  # v0.3 epoch seconds
    started_at: datetime | None = None
    completed_at: datetime | None = None
    response: datetime | None = None  # v0.3 epoch seconds
    failure: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None


def _make_converter() -> cattrs.Converter:
    conv = lenient_converter(parse_time)

    def _pairs(value: Any, _t: Any) -> tuple[tuple[int, ...], ...]:
        if not isinstance(value, list):
            return ()
        return tuple(
            tuple(int(q) for q in pair) for pair in value if isinstance(pair, list | tuple)
        )

    conv.register_structure_hook_func(lambda t: t == tuple[tuple[int, ...], ...], _pairs)
    return conv


#: The IonQ converter: wire dicts -> models. Lenient: unknown keys are ignored.
converter: Final[cattrs.Converter] = _make_converter()


def structure_model(data: Any, cls: type[T], what: str) -> T:
    """Build a typed model (Session, Characterization, Estimate) keeping the raw dict."""
    return structure(converter, data, cls, what, provider=PROVIDER)


def job_from_wire(data: Any) -> Job:
    """Map an IonQ job object (or the ``POST /jobs`` answer) to a :class:`~qjobs.Job`.

    ``details`` keeps the whole raw object (results URLs, stats, warnings, ...).
    """
    if not is_mapping(data) or not isinstance(data.get("id"), str) or not data["id"]:
        raise MalformedResponseError("job object without an id", provider=PROVIDER)
    wire: _WireJob = structure_model(data, _WireJob, "job")
    status, raw_status = lookup_status(wire.status, STATUS_MAP)
    metadata = {str(k): str(v) for k, v in (wire.metadata or {}).items() if v is not None}
    shots = wire.shots
    if shots is None and metadata.get("shots", "").isdigit():
        shots = int(metadata["shots"])
    children = tuple(wire.child_job_ids or wire.children or ())
    circuits = 1
    if wire.stats is not None and isinstance(wire.stats.get("circuits"), int):
        circuits = int(wire.stats["circuits"])
    if children:
        circuits = len(children)
    failure = None
    if wire.failure:
        failure = JobFailure(
            message=str(wire.failure.get("error") or wire.failure.get("message") or "failed"),
            code=None if wire.failure.get("code") is None else str(wire.failure["code"]),
        )
    elif status is JobStatus.FAILED:
        failure = JobFailure(message="no reason given")
    return Job(
        id=wire.id,
        provider=PROVIDER,
        status=status,
        provider_status=raw_status,
        backend=wire.backend or wire.target,
        shots=shots,
        name=wire.name,
        created_at=wire.submitted_at or wire.request,
        started_at=wire.started_at,
        completed_at=wire.completed_at or wire.response,
        child_ids=children,
        parent_id=wire.parent_job_id,
        session_id=wire.session_id,
        circuit_count=circuits,
        tags=metadata,
        failure=failure,
        details=dict(data),
    )


def submitted_job(data: Any, body: Mapping[str, Any], circuits: int) -> Job:
    """The job just created from the ``POST /jobs`` answer ``data`` and the ``body`` sent.

    IonQ answers little (``{"id", "status"}``); what the body said fills the rest. An answer
    without an id raises :class:`~qjobs.MalformedResponseError`.
    """
    if not is_mapping(data) or not isinstance(data.get("id"), str):
        raise MalformedResponseError(
            "job creation answer has no id", provider=PROVIDER, method="POST", path="/jobs"
        )
    fast = _submitted_fast(data, body, circuits)
    return fast if fast is not None else _submitted_generic(data, body, circuits)


def _submitted_generic(data: Mapping[str, Any], body: Mapping[str, Any], circuits: int) -> Job:
    """The create answer merged over the body, read by the shared converter (the definition
    :func:`_submitted_fast` keeps for the usual answer)."""
    merged = {
        "status": "submitted",
        "backend": body["backend"],
        "shots": body["shots"],
        "name": body.get("name"),
        "metadata": body["metadata"],
        "type": body["type"],
        "stats": {"circuits": circuits},
        **{k: v for k, v in data.items() if v is not None},
    }
    return job_from_wire(merged)


#: The keys of the usual ``POST /jobs`` answer, which :func:`_submitted_fast` maps directly.
_CREATE_KEYS: Final = frozenset({"id", "status", "session_id"})


def _submitted_fast(data: Any, body: Mapping[str, Any], circuits: int) -> Job | None:
    """The job :func:`submitted_job` makes of the usual answer, built without the converter.

    Taken only for a plain dict with a non-empty string ``id``, a string (or null) ``status``
    and ``session_id``, and no other key; None otherwise (the generic mapping then decides,
    errors included). The result equals what :func:`job_from_wire` makes of the merged object.
    """
    if type(data) is not dict or not data.keys() <= _CREATE_KEYS:
        return None
    job_id = data.get("id")
    raw = data.get("status")
    session = data.get("session_id")
    if (
        type(job_id) is not str
        or not job_id
        or (raw is not None and type(raw) is not str)
        or (session is not None and type(session) is not str)
    ):
        return None
    if raw is None:
        raw = "submitted"
    backend = body["backend"]
    shots = body["shots"]
    name = body.get("name")
    metadata = body["metadata"]
    merged = {
        "status": "submitted",
        "backend": backend,
        "shots": shots,
        "name": name,
        "metadata": metadata,
        "type": body["type"],
        "stats": {"circuits": circuits},
        **{k: v for k, v in data.items() if v is not None},
    }
    if type(metadata) is not dict:
        return None  # (after the lookups above, which raise as the generic path's do)
    tags = {str(k): str(v) for k, v in metadata.items() if v is not None}
    count = opt_int(shots)
    if count is None and tags.get("shots", "").isdigit():
        count = int(tags["shots"])
    status = STATUS_MAP.get(raw.lower(), JobStatus.UNKNOWN)
    return Job(
        id=job_id,
        provider=PROVIDER,
        status=status,
        provider_status=raw,
        backend=None if backend is None else str(backend) or None,
        shots=count,
        name=None if name is None else str(name),
        child_ids=(),
        session_id=session,
        circuit_count=int(circuits) if isinstance(circuits, int) else 1,
        tags=tags,
        failure=JobFailure(message="no reason given") if status is JobStatus.FAILED else None,
        details=merged,
    )


def backend_from_wire(data: Any, *, max_shots: int) -> Backend:
    """Map an IonQ backend object (``{"backend", "qubits", "status", ...}``) to a Backend."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("backend object is not an object", provider=PROVIDER)
    name = data.get("backend") or data.get("name") or data.get("id")
    if not isinstance(name, str) or not name:
        raise MalformedResponseError("backend object without a name", provider=PROVIDER)
    qubits = data.get("qubits")
    status = data.get("status")
    status_text = None if status is None else str(status)
    limit = data.get("max_shots")
    return Backend(
        name=name,
        provider=PROVIDER,
        qubits=qubits if is_int(qubits) else None,
        simulator=name == "simulator" or name.startswith("simulator"),
        status=status_text,
        available=status_text is None or status_text.lower() in {"available", "online", "ok"},
        min_shots=1,
        max_shots=limit if isinstance(limit, int) and limit > 0 else max_shots,
        details=dict(data),
    )


def error_parser(status: int, body: bytes) -> tuple[str, str | None]:
    """Read IonQ's error bodies (spec §10), tolerating every shape (and non-JSON).

    ``{"statusCode", "error", "message"}`` -> (message, error);
    ``{"error": {"type", "message"}}`` -> (message, type); ``{"code", "message"}`` ->
    (message, None); ``{"error": "<text>"}`` -> (text, None); anything else -> the default
    reading (:func:`qjobs._core.error_bodies.default_error_parser`).
    """
    data = json_body(body)
    if isinstance(data, Mapping):
        message = data.get("message")
        error = data.get("error")
        if isinstance(error, Mapping):
            text = error.get("message") or message
            kind = error.get("type") or error.get("code")
            if isinstance(text, str) and text:
                return text, None if kind is None else str(kind)
        if "statusCode" in data and isinstance(message, str) and message:
            return message, None if error is None else str(error)
        if isinstance(message, str) and message:
            return message, None
        if isinstance(error, str) and error:
            return error, None
    if not body or data is not None:
        return default_error_parser(status, body) if body else ("No error details provided.", None)
    return default_error_parser(status, body)
