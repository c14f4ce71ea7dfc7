"""Qibo cloud wire <-> model mapping: status table, typed models, the cattrs converter, errors.

Pure (no I/O). Responses are read leniently: unknown keys are ignored, an unknown status becomes
:attr:`JobStatus.UNKNOWN` with the raw string kept, and a missing required key raises
:class:`~qjobs.MalformedResponseError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import attrs
import cattrs

from qjobs._core.errors import MalformedResponseError, QJobsError
from qjobs._core.models import Backend, Job, JobFailure, JobStatus
from qjobs._core.validation import is_number
from qjobs.providers._wire import json_body, lenient_converter, lookup_status
from qjobs.providers._wire import structure as _structure

__all__ = [
    "PROVIDER",
    "STATUS_MAP",
    "DiskQuota",
    "JobPostServerError",
    "Partition",
    "ProjectQuota",
    "QiboVersionError",
    "ServerVersion",
    "backend_from_quota",
    "converter",
    "created_pid",
    "disk_quota_from_wire",
    "error_parser",
    "job_from_wire",
    "quotas_from_wire",
    "require_keys",
    "server_version_from_wire",
    "submitted_job",
]

T = TypeVar("T")

PROVIDER: Final = "qibo"

#: Qibo status (any case) -> unified status.
STATUS_MAP: Final[dict[str, JobStatus]] = {
    "queueing": JobStatus.QUEUED,
    "pending": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "postprocessing": JobStatus.RUNNING,
    "success": JobStatus.COMPLETED,
    "error": JobStatus.FAILED,
}


class JobPostServerError(MalformedResponseError):
    """The server answered a job submission without a job id (qibo-client's
    ``JobPostServerError``); ``detail`` is the server's explanation, when it gave one."""

    def __init__(self, detail: str | None) -> None:
        self.detail = detail
        super().__init__(
            f"the server posted no job: {detail or 'no pid and no detail in the answer'}",
            provider=PROVIDER,
            method="POST",
            path="/api/jobs/",
        )


class QiboVersionError(QJobsError):
    """The server requires a newer qibo circuit format than the one qjobs writes.

    ``required`` is the server's ``minimum_client_qibo_version``, ``supported`` the format qjobs
    encodes. Raised before any job is submitted.
    """

    def __init__(self, required: str, supported: str) -> None:
        self.required = required
        self.supported = supported
        super().__init__(
            f"the Qibo server requires circuits from qibo>={required}; qjobs writes the qibo "
            f"{supported} format (upgrade qjobs)"
        )


def require_keys(data: Any, keys: tuple[str, ...], what: str, path: str) -> Mapping[str, Any]:
    """``data`` as a mapping holding ``keys``; else MalformedResponseError naming the missing."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError(f"{what} is not an object", provider=PROVIDER, path=path)
    missing = [k for k in keys if k not in data]
    if missing:
        raise MalformedResponseError(
            f"The server response is missing the following keys: {' '.join(missing)}",
            provider=PROVIDER,
            method="GET",
            path=path,
        )
    return data


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string (``Z`` allowed) as an aware datetime; None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------ models
@attrs.frozen(slots=True)
class ServerVersion:
    """``GET /api/qibo_version/``: the server's qibo version and the oldest it accepts."""

    server_qibo_version: str
    minimum_client_qibo_version: str


@attrs.frozen(slots=True)
class Partition:
    """A device partition (``device`` of a submission): size, kind and availability."""

    name: str
    max_num_qubits: int | None = None
    hardware_type: str | None = None
    description: str | None = None
    status: str | None = None

    @property
    def available(self) -> bool:
        """True unless the server says ``unavailable``."""
        return (self.status or "available").lower() == "available"


@attrs.frozen(slots=True)
class ProjectQuota:
    """One project's quota on one partition (``GET /api/projectquotas/``)."""

    project: str
    partition: Partition
    id: int | None = None
    max_num_shots: int | None = None
    max_walltime_seconds: float | None = None
    seconds_left: float | None = None
    seconds_max: float | None = None
    shots_left: int | None = None
    shots_max: int | None = None
    jobs_left: int | None = None
    jobs_max: int | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class DiskQuota:
    """The user's disk quota for result archives, in kilobytes (``GET /api/disk_quota/``)."""

    email: str | None
    kbs_left: float | None
    kbs_max: float | None


@attrs.define(slots=True)
class _WireJob:
    pid: str
    status: str = ""
    nshots: int | None = None
    num_qubits: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    queue_position: int | None = None
    job_queue_position: int | None = None
    etd_seconds: float | None = None
    seconds_to_job_start: float | None = None
    queue_last_update: datetime | None = None
    result_path: str | None = None
    stderr: str | None = None
    verbatim: bool | None = None
    qibo_version: str | None = None


#: The Qibo converter: wire dicts -> models. Lenient: unknown keys are ignored.
converter: Final[cattrs.Converter] = lenient_converter(parse_time)


def structure(data: Any, cls: type[T], what: str) -> T:
    """Build ``cls`` from a wire object; MalformedResponseError when it cannot be."""
    return _structure(converter, data, cls, what, provider=PROVIDER)


def partition_from_wire(data: Any) -> Partition:
    """A partition object (``name`` required)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise MalformedResponseError("partition without a name", provider=PROVIDER)
    return structure(data, Partition, "partition")


def quota_from_wire(data: Any) -> ProjectQuota:
    """A project quota object (``project`` and ``partition`` required)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("project quota is not an object", provider=PROVIDER)
    partition = partition_from_wire(data.get("partition"))
    rest = {k: v for k, v in data.items() if k != "partition"}
    project = rest.get("project")
    if not isinstance(project, str):
        raise MalformedResponseError("project quota without a project", provider=PROVIDER)
    fields: _QuotaFields = structure(rest, _QuotaFields, "project quota")
    return fields.build(partition, data)


@attrs.define(slots=True)
class _QuotaFields:
    project: str
    id: int | None = None
    max_num_shots: int | None = None
    max_walltime_seconds: float | None = None
    seconds_left: float | None = None
    seconds_max: float | None = None
    shots_left: int | None = None
    shots_max: int | None = None
    jobs_left: int | None = None
    jobs_max: int | None = None

    def build(self, partition: Partition, raw: Mapping[str, Any]) -> ProjectQuota:
        return ProjectQuota(
            partition=partition, details=dict(raw), **attrs.asdict(self, recurse=False)
        )


def backend_from_quota(quota: ProjectQuota) -> Backend:
    """A :class:`~qjobs.Backend` for the partition a quota covers (name = ``device``)."""
    part = quota.partition
    return Backend(
        name=part.name,
        provider=PROVIDER,
        qubits=part.max_num_qubits,
        simulator=(part.hardware_type or "").lower() == "simulator",
        status=part.status,
        available=part.available,
        min_shots=1,
        max_shots=quota.max_num_shots,
        details={"project": quota.project, **dict(quota.details)},
    )


def job_from_wire(data: Any) -> Job:
    """Map a Qibo job object to a :class:`~qjobs.Job` (``status`` and ``pid`` required).

    ``details`` keeps the raw object and adds ``queue_position``, ``etd_seconds`` and
    ``estimated_start`` (an aware datetime: the queue update time plus ``etd_seconds``) while
    the job waits.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("pid"), str) or not data["pid"]:
        raise MalformedResponseError("job object without a pid", provider=PROVIDER)
    if "status" not in data:
        raise MalformedResponseError(
            "The server response is missing the following keys: status", provider=PROVIDER
        )
    wire: _WireJob = structure(data, _WireJob, "job")
    status, raw_status = lookup_status(wire.status, STATUS_MAP)
    quota = data.get("projectquota")
    partition = quota.get("partition") if isinstance(quota, Mapping) else None
    device = partition.get("name") if isinstance(partition, Mapping) else None
    details: dict[str, Any] = dict(data)
    position = wire.queue_position if wire.queue_position is not None else wire.job_queue_position
    etd = wire.etd_seconds if wire.etd_seconds is not None else wire.seconds_to_job_start
    details["queue_position"] = position
    details["etd_seconds"] = etd
    details["estimated_start"] = None
    if etd is not None and not status.is_final:
        since = wire.queue_last_update or wire.updated_at
        if since is not None:
            details["estimated_start"] = since + timedelta(seconds=etd)
    failure = None
    if status is JobStatus.FAILED:
        message = (wire.stderr or "").strip().splitlines()
        failure = JobFailure(
            message=message[-1] if message else "the job ended with status error",
            code="error",
        )
    return Job(
        id=wire.pid,
        provider=PROVIDER,
        status=status,
        provider_status=raw_status,
        backend=device if isinstance(device, str) else None,
        shots=wire.nshots,
        created_at=wire.created_at,
        started_at=None,
        completed_at=wire.updated_at if status.is_final else None,
        circuit_count=1,
        failure=failure,
        details=details,
    )


def server_version_from_wire(data: Any) -> ServerVersion:
    """The ``GET /api/qibo_version/`` answer; missing keys raise MalformedResponseError (as
    qibo-client does)."""
    found = require_keys(
        data,
        ("server_qibo_version", "minimum_client_qibo_version"),
        "version answer",
        "/api/qibo_version/",
    )
    return ServerVersion(
        server_qibo_version=str(found["server_qibo_version"]),
        minimum_client_qibo_version=str(found["minimum_client_qibo_version"]),
    )


def quotas_from_wire(data: Any) -> list[ProjectQuota]:
    """The ``GET /api/projectquotas/`` answer: a list of project quotas."""
    if not isinstance(data, list):
        raise MalformedResponseError("project quotas are not a list", provider=PROVIDER)
    return [quota_from_wire(item) for item in data]


def disk_quota_from_wire(data: Any) -> DiskQuota:
    """The ``GET /api/disk_quota/`` answer (an object, or a list whose first item is one)."""
    first = data[0] if isinstance(data, list) and data else data
    if not isinstance(first, Mapping):
        raise MalformedResponseError("disk quota is not an object", provider=PROVIDER)
    user = first.get("user")
    email = user.get("email") if isinstance(user, Mapping) else None

    def number(key: str) -> float | None:
        value = first.get(key)
        return float(value) if is_number(value) else None

    return DiskQuota(
        email=email if isinstance(email, str) else None,
        kbs_left=number("kbs_left"),
        kbs_max=number("kbs_max"),
    )


def created_pid(data: Any) -> str:
    """The ``pid`` of a ``POST /api/jobs/`` answer; :class:`JobPostServerError` with the
    server's ``detail`` when there is none."""
    pid = data.get("pid") if isinstance(data, Mapping) else None
    if not isinstance(pid, str) or not pid:
        detail = data.get("detail") if isinstance(data, Mapping) else None
        raise JobPostServerError(detail if isinstance(detail, str) else None)
    return pid


def submitted_job(pid: str, body: Mapping[str, Any]) -> Job:
    """The queued job a ``POST /api/jobs/`` of ``body`` created, before its first read."""
    return job_from_wire(
        {
            "pid": pid,
            "status": "queueing",
            "nshots": body["nshots"],
            "circuit": body["circuit"],
            "projectquota": {"partition": {"name": body["device"]}},
            "project": body["project"],
        }
    )


def error_parser(status: int, body: bytes) -> tuple[str, str | None]:
    """qibo-client's reading of error bodies: the first non-empty string among ``detail``,
    ``message``, ``error``, ``title``; else ``str(errors)``; else the raw text; else
    ``HTTP <status>``."""
    data = json_body(body)
    if isinstance(data, Mapping):
        for key in ("detail", "message", "error", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                code = data.get("code")
                return value.strip()[:500], code if isinstance(code, str) else None
        if "errors" in data:
            return str(data["errors"])[:500], None
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return (text[:500] if text else f"HTTP {status}"), None
