"""QPI wire <-> model mapping: status table, typed records, times, the converter, error bodies.

Everything here is pure (no I/O). Responses are read leniently: unknown keys are ignored, an
unknown job status becomes :attr:`JobStatus.UNKNOWN` with the raw string kept in
``Job.provider_status``, and a record without its id raises
:class:`~qjobs.MalformedResponseError`. QPI's server is PocketBase: timestamps look like
``"2026-07-24 12:34:56.789Z"`` and errors like ``{"data": {}, "message", "status"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs

from qjobs._core.error_bodies import default_error_parser
from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Backend, Job, JobFailure, JobStatus
from qjobs.providers._wire import json_body, lenient_converter, lookup_status, opt_int, structure
from qjobs.providers.qpi.config import PROVIDER

__all__ = [
    "STATUS_MAP",
    "ApiToken",
    "Notification",
    "QPUConnection",
    "QPUCreated",
    "TimeRequest",
    "TimeSlot",
    "User",
    "backend_from_wire",
    "converter",
    "created_job_from_wire",
    "error_of",
    "format_time",
    "job_from_wire",
    "parse_time",
    "qpu_connection_from_wire",
    "qpu_created_from_wire",
    "rfc3339",
    "structure_record",
    "token_from_wire",
]

T = TypeVar("T")

#: QPI job status -> unified status (British ``cancelled``; ``queued`` is accepted as the
#: official client does, though no server sends it).
STATUS_MAP: Final[dict[str, JobStatus]] = {
    "pending": JobStatus.QUEUED,
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
    "canceled": JobStatus.CANCELLED,
}

_RFC3339: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(value: Any) -> datetime | None:
    """A PocketBase (``"2026-07-24 12:34:56.789Z"``) or RFC 3339 timestamp; None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-07-24T12:34:56.789Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def rfc3339(value: Any, field: str) -> datetime:
    """Validate a user-given time: an aware ``datetime`` or an RFC 3339 string with a zone.

    Raises :class:`~qjobs.InputError` naming ``field`` for anything else (naive datetimes,
    dates without a time, missing zone, impossible dates).
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(field, value, "must be timezone-aware (RFC 3339 needs a zone)")
        return value
    if not isinstance(value, str) or not _RFC3339.match(value.strip()):
        raise InputError(field, value, "must be an RFC 3339 time such as 2026-07-24T12:00:00Z")
    parsed = parse_time(value)
    if parsed is None:
        raise InputError(field, value, "is not a valid RFC 3339 time")
    return parsed


# ------------------------------------------------------------------------------ records
@attrs.frozen(slots=True)
class User:
    """A QPI user record: ``qpu_seconds`` is the remaining QPU-time balance (seconds)."""

    id: str
    email: str | None = None
    name: str | None = None
    username: str | None = None
    qpu_seconds: float | None = None
    created_at: datetime | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class Notification:
    """A notification addressed to the user (or to everyone)."""

    id: str
    title: str | None = None
    message: str | None = None
    type: str | None = None
    created_at: datetime | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class TimeSlot:
    """A booked QPU time slot: its owner's jobs run first while it lasts."""

    id: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    booked_by: str | None = None
    created_at: datetime | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class TimeRequest:
    """A request for more QPU seconds; ``status`` is ``pending``, ``approved`` or ``rejected``."""

    id: str
    user: str | None = None
    seconds: float | None = None
    status: str | None = None
    requested_reason: str | None = None
    rejection_reason: str | None = None
    created_at: datetime | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True, repr=False)
class QPUCreated:
    """A QPU just created by an administrator.

    ``access_token`` is the driver's credential, returned by the server exactly once; it is
    never shown in the repr and qjobs never logs it: store it where the driver can read it.
    """

    id: str
    name: str
    status: str | None = None
    enabled: bool | None = None
    access_token: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False)

    def __repr__(self) -> str:
        token = "None" if self.access_token is None else "'***'"
        return (
            f"QPUCreated(id={self.id!r}, name={self.name!r}, status={self.status!r}, "
            f"enabled={self.enabled!r}, access_token={token})"
        )


@attrs.frozen(slots=True, repr=False)
class QPUConnection:
    """The answer to a driver connection: NNG ports and host; ``auth_token`` is secret."""

    status: str | None = None
    nng_host: str | None = None
    nng_command_port: int | None = None
    nng_result_port: int | None = None
    tls_hash: str | None = None
    auth_token: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False)

    def __repr__(self) -> str:
        return (
            f"QPUConnection(status={self.status!r}, nng_host={self.nng_host!r}, "
            f"nng_command_port={self.nng_command_port!r}, "
            f"nng_result_port={self.nng_result_port!r}, auth_token='***')"
        )


@attrs.frozen(slots=True, repr=False)
class ApiToken:
    """An API token record; ``token`` (``qpi_`` + 64 hex) is only present right after creation."""

    id: str
    name: str | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    token: str | None = None

    def __repr__(self) -> str:
        shown = "None" if self.token is None else "'***'"
        return f"ApiToken(id={self.id!r}, name={self.name!r}, token={shown})"


def _make_converter() -> cattrs.Converter:
    conv = lenient_converter(parse_time)
    conv.register_structure_hook(str | None, lambda v, _t: None if v is None or v == "" else str(v))
    conv.register_structure_hook(str, lambda v, _t: str(v))
    return conv


#: The QPI converter: wire dicts -> records. Lenient: unknown keys are ignored.
converter: Final[cattrs.Converter] = _make_converter()

_RENAMES: Final = {"created": "created_at"}


def structure_record(data: Any, cls: type[T], what: str) -> T:
    """Build a record (User, TimeSlot, ...) from a wire dict, keeping the raw dict in details."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str) or not data["id"]:
        raise MalformedResponseError(f"{what} without an id", provider=PROVIDER)
    return structure(converter, data, cls, what, provider=PROVIDER, renames=_RENAMES)


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def token_from_wire(data: Any) -> ApiToken:
    """An API token record (``/api/tokens``); ``token`` is kept only when it is a string."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise MalformedResponseError("token record without an id", provider=PROVIDER)
    token = data.get("token")
    return ApiToken(
        id=data["id"],
        name=_opt_text(data.get("name")),
        expires_at=parse_time(data.get("expires_at")),
        created_at=parse_time(data.get("created")),
        token=token if isinstance(token, str) else None,
    )


def qpu_created_from_wire(data: Any, name: str) -> QPUCreated:
    """The answer to ``POST /api/op/qpus/create`` for the QPU ``name``; the token stays secret.

    ``details`` keeps the answer without its ``access_token``.
    """
    if not isinstance(data, Mapping):
        raise MalformedResponseError("QPU creation answer is not an object", provider=PROVIDER)
    token = data.get("access_token")
    return QPUCreated(
        id=str(data.get("id") or data.get("name") or name),
        name=str(data.get("name") or name),
        status=_opt_text(data.get("status")),
        enabled=data.get("enabled") if isinstance(data.get("enabled"), bool) else None,
        access_token=token if isinstance(token, str) else None,
        details={k: v for k, v in data.items() if k != "access_token"},
    )


def qpu_connection_from_wire(data: Any) -> QPUConnection:
    """The answer to ``POST /api/op/qpus/connect``; ``details`` omits the ``auth_token``."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("connect answer is not an object", provider=PROVIDER)
    command, result, auth = (
        data.get("nng_command_port"),
        data.get("nng_result_port"),
        data.get("auth_token"),
    )
    return QPUConnection(
        status=_opt_text(data.get("status")),
        nng_host=_opt_text(data.get("nng_host")),
        nng_command_port=command if isinstance(command, int) else None,
        nng_result_port=result if isinstance(result, int) else None,
        tls_hash=_opt_text(data.get("tls_hash")),
        auth_token=auth if isinstance(auth, str) else None,
        details={k: v for k, v in data.items() if k != "auth_token"},
    )


# ---------------------------------------------------------------------------------- jobs
def _failure_of(results: Any) -> str | None:
    if isinstance(results, Mapping) and "error" in results:
        return str(results["error"] or "no reason given")
    return None


def job_from_wire(data: Any) -> Job:
    """Map a QPI job record (``/api/jobs*``) to a :class:`~qjobs.Job`.

    ``backend`` is the QPU target, ``shots`` the job-level shots, ``circuit_count`` the number of
    circuits in the payload; a failed job's ``results.error`` becomes ``failure``. ``details``
    keeps the whole record (payload, results, duration).
    """
    if not isinstance(data, Mapping):
        raise MalformedResponseError("job record is not an object", provider=PROVIDER)
    job_id = data.get("id") or data.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise MalformedResponseError("job record without an id", provider=PROVIDER)
    status, raw_status = lookup_status(data.get("status"), STATUS_MAP)
    payload = data.get("payload") if isinstance(data.get("payload"), Mapping) else {}
    assert isinstance(payload, Mapping)
    circuits = payload.get("circuits")
    count = len(circuits) if isinstance(circuits, list) and circuits else 1
    shots = opt_int(payload.get("shots"))
    target = data.get("qpu_target") or payload.get("qpu_target")
    failure = None
    if status is JobStatus.FAILED:
        failure = JobFailure(message=_failure_of(data.get("results")) or "no reason given")
    return Job(
        id=job_id,
        provider=PROVIDER,
        status=status,
        provider_status=raw_status,
        backend=str(target) if target else None,
        shots=shots,
        created_at=parse_time(data.get("created")),
        completed_at=parse_time(data.get("finished_at")),
        circuit_count=count,
        failure=failure,
        details=dict(data),
    )


def created_job_from_wire(data: Any, body: Mapping[str, Any]) -> Job:
    """The job ``POST /api/jobs`` created from ``body`` (which names its ``qpu_target``).

    The answer carries little more than the id: the job starts ``pending`` with the submitted
    body as its payload, the answer's own keys taking precedence.
    """
    if not isinstance(data, Mapping) or not (data.get("id") or data.get("job_id")):
        raise MalformedResponseError(
            "job creation answer has no id", provider=PROVIDER, method="POST", path="/api/jobs"
        )
    target = body.get("qpu_target")
    return job_from_wire({"status": "pending", "qpu_target": target, "payload": body, **data})


def backend_from_wire(data: Any) -> Backend:
    """Map a QPU record (``{"id", "name", "num_qubits", "status", "enabled", ...}``)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("QPU record is not an object", provider=PROVIDER)
    name = data.get("name") or data.get("id")
    if not isinstance(name, str) or not name:
        raise MalformedResponseError("QPU record without a name", provider=PROVIDER)
    qubits = opt_int(data.get("num_qubits"))
    status = data.get("status")
    status_text = None if status is None else str(status)
    enabled = data.get("enabled")
    executor = str(data.get("executor_type") or "")
    return Backend(
        name=name,
        provider=PROVIDER,
        qubits=qubits,
        simulator="aer" in executor.lower() or "sim" in executor.lower() or "aer" in name,
        status=status_text,
        available=(status_text is None or status_text.lower() == "online") and enabled is not False,
        details=dict(data),
    )


def error_of(status: int, body: bytes) -> tuple[str, str | None] | None:
    """Read PocketBase's ``{"data": {...}, "message", "status"}`` error body; None otherwise.

    Field errors in ``data`` (``{"field": {"code", "message"}}``) are appended to the message
    (``"Failed to create record. start_time: Cannot be blank."``); the first field's code is the
    error code. An empty body reads as ``"No error details provided."``. Other shapes give None:
    the client's error parser falls back to the transport's default reading.
    """
    data = json_body(body)
    if isinstance(data, Mapping) and isinstance(data.get("message"), str) and data["message"]:
        message: str = data["message"]
        code: str | None = None
        fields = data.get("data")
        if isinstance(fields, Mapping) and fields:
            parts = []
            for name, detail in fields.items():
                if isinstance(detail, Mapping):
                    parts.append(f"{name}: {detail.get('message') or detail.get('code')}")
                    if code is None and detail.get("code") is not None:
                        code = str(detail["code"])
                else:
                    parts.append(f"{name}: {detail}")
            message = f"{message} {'; '.join(parts)}"
        return message, code
    if not body:
        return "No error details provided.", None
    return None


def error_parser(status: int, body: bytes) -> tuple[str, str | None]:
    """Read a QPI error body: PocketBase's shape (:func:`error_of`), else the default reading."""
    return error_of(status, body) or default_error_parser(status, body)
