"""Kipu Quantum Hub wire <-> model mapping: status table, typed models, converter, error bodies.

Everything here is pure (no I/O). Responses are read leniently (spec §3, §7): unknown keys are
ignored, an unknown job status becomes :attr:`JobStatus.UNKNOWN` with the raw string kept in
``Job.provider_status``, and only a missing ``id`` (or a body that is not an object where one is
required) raises :class:`~qjobs.MalformedResponseError`. Bodies are snake_case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs
import numpy as np
import numpy.typing as npt

from qjobs._core.error_bodies import default_error_parser
from qjobs._core.errors import MalformedResponseError
from qjobs._core.models import Backend, Job, JobFailure, JobStatus
from qjobs._core.validation import is_int
from qjobs.providers._wire import (
    json_body,
    lenient_converter,
    lookup_status,
    opt_dict,
    parse_time,
    structure,
)

__all__ = [
    "FINAL_JOB_STATUSES",
    "FINAL_SESSION_STATUSES",
    "PROVIDER",
    "STATUS_MAP",
    "Allowance",
    "BackendState",
    "Calibration",
    "JobState",
    "NormalizedInput",
    "NormalizedMemory",
    "NormalizedResult",
    "Pub",
    "Session",
    "Workload",
    "allowances_from_wire",
    "backend_from_wire",
    "backends_from_wire",
    "converter",
    "created_job",
    "error_parser",
    "job_from_wire",
    "job_state_from_wire",
    "session_from_wire",
    "session_status_from_wire",
    "session_jobs_from_wire",
    "workload_from_wire",
    "parse_time",
    "structure_model",
]

T = TypeVar("T")

PROVIDER: Final = "kipu"

#: Hub job status -> unified status. ABORTED and DETACHED are final without results (FAILED).
STATUS_MAP: Final[dict[str, JobStatus]] = {
    "PENDING": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "CANCELLING": JobStatus.CANCELLING,
    "COMPLETED": JobStatus.COMPLETED,
    "FAILED": JobStatus.FAILED,
    "CANCELLED": JobStatus.CANCELLED,
    "ABORTED": JobStatus.FAILED,
    "DETACHED": JobStatus.FAILED,
    "UNKNOWN": JobStatus.UNKNOWN,
}
#: Raw job statuses after which a job never changes.
FINAL_JOB_STATUSES: Final = frozenset({"COMPLETED", "FAILED", "CANCELLED", "ABORTED", "DETACHED"})
#: Raw session statuses after which a session never changes.
FINAL_SESSION_STATUSES: Final = frozenset({"CLOSED", "ABORTED", "DETACHED"})
_NO_RESULT_REASON: Final = {
    "ABORTED": "the job was aborted by the provider",
    "DETACHED": "the job outlived the credential that reached it; it has no results",
}


# ------------------------------------------------------------------------------- models
@attrs.frozen(slots=True)
class JobState:
    """A job's status from ``GET jobs/{id}/status``: unified and raw."""

    status: JobStatus
    provider_status: str

    @property
    def is_final(self) -> bool:
        """True when the Hub will not change the job any more (ABORTED/DETACHED included)."""
        return self.provider_status in FINAL_JOB_STATUSES


@attrs.frozen(slots=True)
class BackendState:
    """``GET backends/{id}/status``: ``status`` (ONLINE, PAUSED, OFFLINE, RETIRED, UNKNOWN),
    the average queue time and the queue size."""

    status: str | None = None
    queue_avg_time: float | None = None
    queue_size: int | None = None


@attrs.frozen(slots=True)
class Calibration:
    """A calibration snapshot of a backend. ``type`` is ``"gate_based"`` or ``"quera_aquila"``;
    ``data`` is the ``calibration`` object as sent (``medians``, ``qubits``, ``qubit_pairs``...)."""

    backend_id: str
    calibrated_at: datetime | None
    type: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, eq=False)

    @property
    def qubits(self) -> list[Any]:
        """The per-qubit entries of a gate-based calibration (empty otherwise)."""
        value = self.data.get("qubits")
        return list(value) if isinstance(value, list) else []


@attrs.frozen(slots=True)
class Session:
    """A Hub session. ``status`` is raw (OPEN, ACTIVE, INACTIVE, DRAINING, CLOSED, ABORTED,
    DETACHED); ``mode`` is ``batch`` or ``dedicated``; ``details`` keeps every field sent."""

    id: str
    backend_id: str | None = None
    provider: str | None = None
    status: str | None = None
    mode: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    expires_at: datetime | None = None
    usage_time_millis: int | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    final: bool | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def is_final(self) -> bool:
        """True once the session is CLOSED, ABORTED or DETACHED."""
        return bool(self.final) or (self.status or "") in FINAL_SESSION_STATUSES

    @property
    def accepts_jobs(self) -> bool:
        """True while new jobs may join the session (OPEN, ACTIVE or INACTIVE)."""
        return (self.status or "") in ("OPEN", "ACTIVE", "INACTIVE")


@attrs.frozen(slots=True)
class Workload:
    """One row of ``GET workloads``: a job or a session (``type`` JOB or SESSION)."""

    id: str
    type: str | None = None
    backend_id: str | None = None
    provider: str | None = None
    status: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    job_count: int | None = None
    usage_time_millis: int | None = None
    usage_time_state: str | None = None
    sdk_provider: str | None = None
    service_execution_id: str | None = None
    mode: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class Allowance:
    """One runtime-minutes allowance (seconds of QPU time per provider and backends)."""

    id: str | None = None
    provider: str | None = None
    backend_ids: tuple[str, ...] = ()
    allocated_seconds: float | None = None
    consumed_seconds: float | None = None
    remaining_seconds: float | None = None
    limit_reached: bool = False


@attrs.frozen(slots=True)
class Pub:
    """One PUB of a normalized result: ``type`` counts, probabilities, expectation_values,
    error or unmapped. Counts and probability keys are bitstrings, classical bit 0 rightmost."""

    type: str
    index: int | None = None
    name: str | None = None
    counts: Mapping[str, int] | None = None
    probabilities: Mapping[str, float] | None = None
    shots: int | None = None
    qubits: int | None = None
    truncated: bool | None = None
    error: Mapping[str, Any] | None = None
    reason: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class NormalizedResult:
    """``GET jobs/{id}/result/normalized``: the job's PUBs in order."""

    pubs: tuple[Pub, ...] = ()


@attrs.frozen(slots=True)
class NormalizedMemory:
    """``GET jobs/{id}/result/normalized/memory``: one Qiskit hex string per shot."""

    memory: tuple[str, ...] = ()
    qubits: int | None = None
    shots: int | None = None

    def outcomes(self) -> npt.NDArray[np.int64]:
        """The shots as integers (bit ``i`` = classical bit ``i``)."""
        try:
            return np.array([int(h, 16) for h in self.memory], dtype=np.int64)
        except (TypeError, ValueError):
            raise MalformedResponseError(
                "memory holds a non-hex value", provider=PROVIDER
            ) from None


@attrs.frozen(slots=True)
class NormalizedInput:
    """``GET jobs/{id}/input/normalized``: ``format`` (openqasm.v2/v3) and PUBs
    (``{name, qasm, observables, parameter_values, shots}`` each)."""

    format: str | None = None
    pubs: tuple[Mapping[str, Any], ...] = ()

    @property
    def programs(self) -> list[str]:
        """The QASM source of every PUB."""
        return [str(p["qasm"]) for p in self.pubs if isinstance(p.get("qasm"), str)]


# ----------------------------------------------------------------------------- converter
def _make_converter() -> cattrs.Converter:
    conv = lenient_converter(parse_time)
    conv.register_structure_hook_func(
        lambda t: t in (Mapping[str, Any] | None, Mapping[str, int] | None), opt_dict
    )

    def _opt_float_map(value: Any, _t: Any) -> Mapping[str, float] | None:
        if not isinstance(value, Mapping):
            return None
        return {str(k): float(v) for k, v in value.items()}

    conv.register_structure_hook_func(lambda t: t == Mapping[str, float] | None, _opt_float_map)
    conv.register_structure_hook(bool, lambda v, _t: v is True)

    def _str_tuple(value: Any, _t: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            return ()
        return tuple(str(v) for v in value)

    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _str_tuple)

    def _map_tuple(value: Any, _t: Any) -> tuple[Mapping[str, Any], ...]:
        if not isinstance(value, list | tuple):
            return ()
        return tuple(dict(v) for v in value if isinstance(v, Mapping))

    conv.register_structure_hook_func(lambda t: t == tuple[Mapping[str, Any], ...], _map_tuple)
    return conv


#: The Kipu converter: wire dicts -> models. Lenient: unknown keys are ignored.
converter: Final[cattrs.Converter] = _make_converter()


def structure_model(data: Any, cls: type[T], what: str) -> T:
    """Build a typed model from a wire object; ``details`` (when the model has it) keeps it all."""
    return structure(converter, data, cls, what, provider=PROVIDER)


def calibration_from_wire(data: Any) -> Calibration:
    """Map a Calibration object (``backend_id``, ``calibrated_at``, ``calibration{type...}``)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("calibration is not an object", provider=PROVIDER)
    body = data.get("calibration")
    body = dict(body) if isinstance(body, Mapping) else {}
    kind = body.get("type")
    return Calibration(
        backend_id=str(data.get("backend_id") or ""),
        calibrated_at=parse_time(data.get("calibrated_at")),
        type=None if kind is None else str(kind),
        data=body,
    )


def normalized_result_from_wire(data: Any) -> NormalizedResult:
    """Map ``{"pubs": [...]}``; each PUB keeps its raw dict in ``details``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("pubs"), list):
        raise MalformedResponseError("normalized result without 'pubs'", provider=PROVIDER)
    pubs = []
    for i, raw in enumerate(data["pubs"]):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
            raise MalformedResponseError(f"pubs[{i}] has no type", provider=PROVIDER)
        pubs.append(structure_model(raw, Pub, f"pubs[{i}]"))
    return NormalizedResult(tuple(pubs))


def job_from_wire(data: Any, *, failure: JobFailure | None = None) -> Job:
    """Map a Hub Job object to a :class:`~qjobs.Job`.

    ``tags`` becomes a mapping: ``"k:v"`` tags split at the first colon, others map to ``""``.
    ``details`` keeps the whole raw object (input_params, provider_job_id, usage...).
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str) or not data["id"]:
        raise MalformedResponseError("job object without an id", provider=PROVIDER)
    status, raw = lookup_status(data.get("status"), STATUS_MAP, fold=str.upper)
    tags: dict[str, str] = {}
    raw_tags = data.get("tags")
    if isinstance(raw_tags, list):
        for tag in raw_tags:
            if isinstance(tag, str):
                key, _, value = tag.partition(":")
                tags[key] = value
    shots = data.get("shots")
    if status is JobStatus.FAILED and failure is None:
        failure = JobFailure(message=_NO_RESULT_REASON.get(raw.upper(), "no reason given"))

    def _text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    return Job(
        id=data["id"],
        provider=PROVIDER,
        status=status,
        provider_status=raw,
        backend=_text("backend_id"),
        shots=shots if is_int(shots) else None,
        name=_text("name"),
        created_at=parse_time(data.get("created_at")),
        started_at=parse_time(data.get("started_at")),
        completed_at=parse_time(data.get("ended_at")),
        session_id=_text("session_id"),
        tags=tags,
        failure=failure if status is JobStatus.FAILED else None,
        details=dict(data),
    )


def backend_from_wire(data: Any) -> Backend:
    """Map a Hub Backend object to a :class:`~qjobs.Backend` (``details`` keeps it whole)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("backend is not an object", provider=PROVIDER)
    name = data.get("id")
    if not isinstance(name, str) or not name:
        raise MalformedResponseError("backend object without an id", provider=PROVIDER)
    config = data.get("configuration")
    config = config if isinstance(config, Mapping) else {}
    qubits = config.get("qubit_count")
    shots = config.get("shots_range")
    shots = shots if isinstance(shots, Mapping) else {}
    low, high = shots.get("min"), shots.get("max")
    status = data.get("status")
    return Backend(
        name=name,
        provider=PROVIDER,
        qubits=qubits if is_int(qubits) else None,
        simulator=str(data.get("type") or "").upper() == "SIMULATOR",
        status=None if status is None else str(status),
        available=status is None or str(status).upper() == "ONLINE",
        min_shots=low if isinstance(low, int) and low >= 1 else 1,
        max_shots=high if isinstance(high, int) and high >= 1 else None,
        details=dict(data),
    )


def backends_from_wire(data: Any) -> list[Backend]:
    """The ``GET backends`` answer: a list of backends."""
    if not isinstance(data, list):
        raise MalformedResponseError("backend list is not a list", provider=PROVIDER)
    return [backend_from_wire(item) for item in data]


def job_state_from_wire(data: Any) -> JobState:
    """The ``GET jobs/{id}/status`` answer (an unknown or missing status is UNKNOWN)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("job status is not an object", provider=PROVIDER)
    raw = data.get("status")
    text = raw if isinstance(raw, str) else ""
    return JobState(STATUS_MAP.get(text.upper(), JobStatus.UNKNOWN), text)


def created_job(body: Mapping[str, Any], data: Any) -> Job:
    """The job a ``POST jobs`` of ``body`` created: the answer (``id`` required) over what was
    sent (name, backend, shots, tags, session), PENDING until the answer says otherwise."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise MalformedResponseError(
            "job creation answer has no id", provider=PROVIDER, method="POST", path="/jobs"
        )
    sent = {k: body[k] for k in ("name", "backend_id", "shots", "tags", "session_id") if k in body}
    return job_from_wire(
        {"status": "PENDING", **sent, **{k: v for k, v in data.items() if v is not None}}
    )


def session_from_wire(data: Any) -> Session:
    """A Session object (``id`` required)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise MalformedResponseError("session object without an id", provider=PROVIDER)
    return structure_model(data, Session, "session")


def session_status_from_wire(data: Any) -> str:
    """The raw status of a ``GET sessions/{id}/status`` answer (UNKNOWN when absent)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("session status is not an object", provider=PROVIDER)
    raw = data.get("status")
    return raw if isinstance(raw, str) and raw else "UNKNOWN"


def session_jobs_from_wire(data: Any) -> list[Job]:
    """The ``GET sessions/{id}/jobs`` answer. The Hub documents a list but types one Job: a
    list, a page ``{content: [...]}`` and a single job object are all read."""
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


def workload_from_wire(item: Any) -> Workload:
    """A Workload object (``id`` required)."""
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        raise MalformedResponseError("workload without an id", provider=PROVIDER)
    return structure_model(item, Workload, "workload")


def allowances_from_wire(data: Any) -> list[Allowance]:
    """The ``GET runtime-minutes`` answer's allowances (none when absent)."""
    items = data.get("allowances") if isinstance(data, Mapping) else None
    if items is None:
        return []
    if not isinstance(items, list):
        raise MalformedResponseError("allowances is not a list", provider=PROVIDER)
    return [structure_model(a, Allowance, "allowance") for a in items]


def error_parser(status: int, body: bytes) -> tuple[str, str | None]:
    """Read the Hub's error bodies: RFC 7807 problem JSON (``detail``, else ``title``), with
    ``type`` (unless ``about:blank``) as the code; any other shape by
    :func:`qjobs._core.error_bodies.default_error_parser`."""
    data = json_body(body)
    if isinstance(data, Mapping):
        detail = data.get("detail")
        title = data.get("title")
        kind = data.get("type")
        code = kind if isinstance(kind, str) and kind and kind != "about:blank" else None
        if code is None and isinstance(title, str) and title:
            code = title
        if isinstance(detail, str) and detail.strip():
            return detail.strip()[:500], code
        if isinstance(title, str) and title.strip() and not data.get("message"):
            return title.strip(), code
    if not body:
        return f"HTTP {status} (empty body)", None
    return default_error_parser(status, body)
