"""qBraid wire <-> model mapping: statuses, typed models, cattrs converter, envelope, errors.

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
from qjobs.providers._wire import (
    json_body,
    lenient_converter,
    lookup_status,
    opt_int,
    parse_time,
    structure,
)

__all__ = [
    "GROUP_FINAL",
    "GROUP_STATUSES",
    "HOLD",
    "PROVIDER",
    "STATUS_MAP",
    "AccessToken",
    "Calibration",
    "CostEstimate",
    "CreditBalance",
    "Device",
    "DeviceStatus",
    "GroupJob",
    "JobStatusOptions",
    "Pagination",
    "Program",
    "ProviderInfo",
    "User",
    "UserContext",
    "access_token_from_wire",
    "backend_from_wire",
    "calibration_from_wire",
    "cost_estimate_from_wire",
    "credits_from_wire",
    "group_from_wire",
    "provider_from_wire",
    "status_options_from_wire",
    "user_context_from_wire",
    "converter",
    "device_from_wire",
    "device_status_of",
    "error_parser",
    "job_from_wire",
    "structure_model",
    "unwrap",
]

T = TypeVar("T")

PROVIDER: Final = "qbraid"
#: "Terminal, but results withheld due to account status": final for qjobs, without results.
HOLD: Final = "HOLD"

#: qBraid job status -> unified status. HOLD is final without results (reported as FAILED with
#: the raw ``HOLD`` kept in ``provider_status``), so polling stops instead of running forever.
STATUS_MAP: Final[dict[str, JobStatus]] = {
    "INITIALIZING": JobStatus.QUEUED,
    "QUEUED": JobStatus.QUEUED,
    "VALIDATING": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "CANCELLING": JobStatus.CANCELLING,
    "CANCELLED": JobStatus.CANCELLED,
    "COMPLETED": JobStatus.COMPLETED,
    "FAILED": JobStatus.FAILED,
    HOLD: JobStatus.FAILED,
    "UNKNOWN": JobStatus.UNKNOWN,
}
#: Every group status qBraid documents (``GroupStatus``).
GROUP_STATUSES: Final = ("OPEN", "CLOSED", "COMPLETED", "FAILED", "CANCELLED")
#: The terminal group statuses.
GROUP_FINAL: Final = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


# ------------------------------------------------------------------------------ models
@attrs.frozen(slots=True)
class User:
    """The account behind the credentials (``GET /users/verify``)."""

    valid: bool = False
    user_id: str | None = None
    user_name: str | None = None
    user_email: str | None = None
    organization_id: str | None = None
    organization_user_id: str | None = None
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class Device:
    """A qBraid device as listed by ``GET /devices`` (all fields the API documents).

    ``qrn`` is ``vendor:provider:type:name``; ``status`` is ``ONLINE``, ``UNAVAILABLE``,
    ``OFFLINE`` or ``RETIRED``; ``pricing`` is in credits (1 credit = $0.01).
    """

    qrn: str
    name: str | None = None
    vendor: str | None = None
    provider: str | None = None
    device_type: str | None = None
    status: str | None = None
    status_msg: str | None = None
    paradigm: str | None = None
    run_input_types: tuple[str, ...] = ()
    number_qubits: int | None = None
    queue_depth: int = 0
    avg_queue_time: float | None = None
    next_available: datetime | None = None
    min_shots: int | None = None
    max_shots: int | None = None
    noise_models: tuple[str, ...] = ()
    pricing_model: str | None = None
    pricing: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    direct_access: bool = True
    batch_job_support: bool = False
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def online(self) -> bool:
        """True when the device accepts jobs now."""
        return (self.status or "").upper() == "ONLINE"


@attrs.frozen(slots=True)
class DeviceStatus:
    """A device's availability (the ``status`` fields of ``GET /devices/{qrn}``).

    ``status`` is ``ONLINE``, ``UNAVAILABLE``, ``OFFLINE`` or ``RETIRED``; ``queue_depth`` is the
    number of jobs waiting (0 when qBraid does not say); ``avg_queue_time`` is in minutes.
    """

    qrn: str
    status: str | None
    online: bool
    queue_depth: int = 0
    status_msg: str | None = None
    avg_queue_time: float | None = None
    next_available: Any = None


@attrs.frozen(slots=True)
class Program:
    """One program of a job as qBraid stores it: ``format`` (``qasm2``, ``qasm3``, ...) and data."""

    format: str
    data: Any


@attrs.frozen(slots=True)
class Pagination:
    """The ``pagination`` object of ``GET /jobs``."""

    page: int = 1
    limit: int = 0
    total: int | None = None
    total_pages: int | None = None
    has_next: bool = False
    has_prev: bool = False


@attrs.frozen(slots=True)
class Calibration:
    """A device's latest calibration (``GET /devices/{qrn}/calibrations``).

    ``qubits`` maps a qubit label to its figures (e.g. ``t1``, ``t2``, ``readoutFidelity``);
    ``edges`` maps a coupled pair (``"0-1"``) to its two-qubit figures, as qBraid sends them.
    """

    device_qrns: tuple[str, ...] = ()
    provider: str | None = None
    last_calibrated: datetime | None = None
    fetched_at: datetime | None = None
    qubits: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    edges: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class CostEstimate:
    """A job cost estimate (``GET /jobs/cost-estimate``), in credits (1 credit = $0.01).

    When ``pricing_available`` is false, ``estimated_cost`` is None and ``reason`` says why.
    """

    pricing_available: bool = False
    device_qrn: str | None = None
    estimated_cost: float | None = None
    shots: int | None = None
    reason: str | None = None
    pricing_model: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class JobStatusOptions:
    """The job status names and their groups (``GET /jobs/statuses``; a free-form answer).

    ``statuses`` lists status names when qBraid sends a list; ``groups`` maps a status group
    (``pending``, ``returned``, ...) to its statuses; ``details`` is the whole answer.
    """

    statuses: tuple[str, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, eq=False)
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class GroupJob:
    """A job group (``/jobs/group``): jobs submitted with its QRN are tracked together.

    ``status`` is ``OPEN``, ``CLOSED``, ``COMPLETED``, ``FAILED`` or ``CANCELLED`` (the last
    three final); costs are in credits; ``max_ttl`` is in seconds.
    """

    qrn: str
    name: str | None = None
    status: str = ""
    organization_user_id: str | None = None
    job_count: int = 0
    completed_count: int = 0
    failed_count: int = 0
    cancelled_count: int = 0
    total_estimated_cost: float | None = None
    total_cost: float | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    max_ttl: int | None = None
    tags: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    metadata: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def is_open(self) -> bool:
        """True while the group accepts new jobs."""
        return self.status.upper() == "OPEN"

    @property
    def is_final(self) -> bool:
        """True once the group is COMPLETED, FAILED or CANCELLED."""
        return self.status.upper() in GROUP_FINAL


@attrs.frozen(slots=True)
class CreditBalance:
    """An organization's credit balance (``GET /billing/credits/balance``)."""

    qbraid_credits: float | None = None
    aws_credits: float | None = None
    auto_recharge: bool | None = None
    organization_id: str | None = None
    user_id: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class UserContext:
    """The signed-in user's context (``GET /users/context``); ``user`` is qBraid's object."""

    is_admin: bool = False
    user_id: str | None = None
    organization_id: str | None = None
    user: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class ProviderInfo:
    """One entry of ``GET /providers``: a provider's name and whatever qBraid says about it."""

    name: str
    vendor: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True)
class AccessToken:
    """The answer of ``POST /access-tokens/refresh``: the access token's new expiry."""

    expires_at: datetime | None = None
    profile_slug: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.define(slots=True)
class _WireUser:
    valid: bool = False
    userId: str | None = None
    userName: str | None = None
    userEmail: str | None = None
    organizationId: str | None = None
    organizationUserId: str | None = None
    userRoles: list[str] | None = None
    userPermissions: list[str] | None = None


@attrs.define(slots=True)
class _WireDevice:
    qrn: str
    name: str | None = None
    vendor: str | None = None
    provider: str | None = None
    deviceType: str | None = None
    status: str | None = None
    statusMsg: str | None = None
    paradigm: str | None = None
    runInputTypes: list[str] | None = None
    numberQubits: int | None = None
    queueDepth: int | None = None
    avgQueueTime: float | None = None
    nextAvailable: datetime | None = None
    minShots: int | None = None
    maxShots: int | None = None
    noiseModels: list[str] | None = None
    pricingModel: str | None = None
    pricing: dict[str, Any] | None = None
    directAccess: bool | None = None
    batchJobSupport: bool | None = None


@attrs.define(slots=True)
class _WireTimes:
    createdAt: datetime | None = None
    endedAt: datetime | None = None
    executionDuration: int | None = None


@attrs.define(slots=True)
class _WireJob:
    jobQrn: str
    status: str = ""
    deviceQrn: str | None = None
    vendor: str | None = None
    name: str | None = None
    shots: int | None = None
    tags: dict[str, Any] | None = None
    statusMsg: str | None = None
    groupJobQrn: str | None = None
    numCircuits: int | None = None
    timeStamps: _WireTimes | None = None
    createdAt: datetime | None = None
    updatedAt: datetime | None = None


@attrs.define(slots=True)
class _WirePagination:
    page: int | None = None
    limit: int | None = None
    total: int | None = None
    totalPages: int | None = None
    hasNext: bool | None = None
    hasPrev: bool | None = None


@attrs.define(slots=True)
class _WireCalibration:
    deviceQRNs: list[str] | None = None
    provider: str | None = None
    lastCalibrated: datetime | None = None
    fetchedAt: datetime | None = None
    qubits: dict[str, Any] | None = None
    edges: dict[str, Any] | None = None


@attrs.define(slots=True)
class _WireEstimate:
    pricingAvailable: bool | None = None
    deviceQrn: str | None = None
    estimatedCost: float | None = None
    shots: int | None = None
    reason: str | None = None
    pricingModel: str | None = None


@attrs.define(slots=True)
class _WireGroup:
    groupJobQrn: str
    name: str | None = None
    status: str | None = None
    organizationUserId: str | None = None
    jobCount: int | None = None
    completedCount: int | None = None
    failedCount: int | None = None
    cancelledCount: int | None = None
    totalEstimatedCost: float | None = None
    totalCost: float | None = None
    timeStamps: _WireTimes | None = None
    createdAt: datetime | None = None
    maxTTL: int | None = None
    tags: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


@attrs.define(slots=True)
class _WireCredits:
    qbraidCredits: float | None = None
    awsCredits: float | None = None
    autoRecharge: bool | None = None
    organizationId: str | None = None
    userId: str | None = None


@attrs.define(slots=True)
class _WireContextUser:
    isAdmin: bool | None = None
    userId: str | None = None
    organizationId: str | None = None


@attrs.define(slots=True)
class _WireToken:
    expiresAt: datetime | None = None
    profileSlug: str | None = None


def _opt_bool(value: Any, _t: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _make_converter() -> cattrs.Converter:
    conv = lenient_converter(parse_time)

    def _opt_str(value: Any, _t: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Mapping):  # provider/vendor as {"_id", "provider"}
            inner = value.get("provider") or value.get("vendor") or value.get("name")
            return None if inner is None else str(inner)
        return str(value)

    def _times(value: Any, _t: Any) -> _WireTimes | None:
        if not isinstance(value, Mapping):
            return None
        return _WireTimes(
            createdAt=parse_time(value.get("createdAt")),
            endedAt=parse_time(value.get("endedAt")),
            executionDuration=opt_int(value.get("executionDuration")),
        )

    conv.register_structure_hook(str | None, _opt_str)
    conv.register_structure_hook(bool | None, _opt_bool)
    conv.register_structure_hook(bool, lambda v, _t: bool(_opt_bool(v, None)))
    conv.register_structure_hook_func(lambda t: t == _WireTimes | None, _times)
    return conv


#: The qBraid converter: wire dicts -> models. Lenient: unknown keys are ignored.
converter: Final[cattrs.Converter] = _make_converter()


def structure_model(data: Any, cls: type[T], what: str) -> T:
    """Structure a wire object into one of the private ``_Wire*`` classes."""
    return structure(converter, data, cls, what, provider=PROVIDER)


# ------------------------------------------------------------------------------ envelope
def unwrap(payload: Any, *, method: str, path: str) -> tuple[Any, Mapping[str, Any] | None]:
    """Open the ``{"success": true, "data": ..., "pagination"?}`` envelope.

    Returns ``(data, pagination)``. A body without ``data`` or with ``success: false`` (on a 2xx)
    is a :class:`~qjobs.MalformedResponseError`.
    """
    if not isinstance(payload, Mapping) or "data" not in payload:
        raise MalformedResponseError(
            "response is not a {success, data} envelope",
            provider=PROVIDER,
            method=method,
            path=path,
        )
    if payload.get("success") is False:
        message = payload.get("message") or "success is false"
        raise MalformedResponseError(
            f"2xx answer with success=false: {message}",
            provider=PROVIDER,
            method=method,
            path=path,
        )
    pagination = payload.get("pagination")
    return payload["data"], pagination if isinstance(pagination, Mapping) else None


def pagination_from_wire(data: Mapping[str, Any] | None, *, page: int, limit: int) -> Pagination:
    """Read the ``pagination`` object; missing fields fall back to the request's page/limit."""
    wire = structure_model(data or {}, _WirePagination, "pagination")
    return Pagination(
        page=wire.page if wire.page is not None else page,
        limit=wire.limit if wire.limit is not None else limit,
        total=wire.total,
        total_pages=wire.totalPages,
        has_next=bool(wire.hasNext),
        has_prev=bool(wire.hasPrev),
    )


# ------------------------------------------------------------------------------ mappers
def user_from_wire(data: Any) -> User:
    """Map ``GET /users/verify`` data to a :class:`User`."""
    wire: _WireUser = structure_model(data, _WireUser, "user")
    return User(
        valid=wire.valid,
        user_id=wire.userId,
        user_name=wire.userName,
        user_email=wire.userEmail,
        organization_id=wire.organizationId,
        organization_user_id=wire.organizationUserId,
        roles=tuple(wire.userRoles or ()),
        permissions=tuple(wire.userPermissions or ()),
        details=dict(data),
    )


def device_from_wire(data: Any) -> Device:
    """Map a qBraid device object to a :class:`Device`."""
    if not isinstance(data, Mapping) or not isinstance(data.get("qrn"), str) or not data["qrn"]:
        raise MalformedResponseError("device object without a qrn", provider=PROVIDER)
    wire: _WireDevice = structure_model(data, _WireDevice, "device")
    return Device(
        qrn=wire.qrn,
        name=wire.name,
        vendor=wire.vendor,
        provider=wire.provider,
        device_type=wire.deviceType,
        status=wire.status,
        status_msg=wire.statusMsg,
        paradigm=wire.paradigm,
        run_input_types=tuple(wire.runInputTypes or ()),
        number_qubits=wire.numberQubits,
        queue_depth=wire.queueDepth or 0,
        avg_queue_time=wire.avgQueueTime,
        next_available=wire.nextAvailable,
        min_shots=wire.minShots,
        max_shots=wire.maxShots,
        noise_models=tuple(wire.noiseModels or ()),
        pricing_model=wire.pricingModel,
        pricing=dict(wire.pricing or {}),
        direct_access=True if wire.directAccess is None else wire.directAccess,
        batch_job_support=bool(wire.batchJobSupport),
        details=dict(data),
    )


def device_status_of(device: Device) -> DeviceStatus:
    """The availability fields of ``device`` (qBraid has no separate status endpoint)."""
    return DeviceStatus(
        qrn=device.qrn,
        status=device.status,
        online=device.online,
        queue_depth=device.queue_depth,
        status_msg=device.status_msg,
        avg_queue_time=device.avg_queue_time,
        next_available=device.next_available,
    )


def backend_from_wire(device: Device) -> Backend:
    """The provider-neutral :class:`~qjobs.Backend` view of a device."""
    return Backend(
        name=device.qrn,
        provider=PROVIDER,
        qubits=device.number_qubits,
        simulator=(device.device_type or "").upper() == "SIMULATOR",
        status=device.status,
        available=device.online,
        min_shots=device.min_shots if device.min_shots and device.min_shots > 0 else 1,
        max_shots=device.max_shots,
        details=device.details,
    )


def _failure(data: Mapping[str, Any], status: str, message: str | None) -> JobFailure | None:
    error = data.get("error")
    if isinstance(error, Mapping):
        text = error.get("message") or message or "failed"
        code = error.get("code")
        return JobFailure(message=str(text), code=None if code is None else str(code))
    if isinstance(error, str) and error:
        return JobFailure(message=error)
    if status == HOLD:
        return JobFailure(
            message=message or "results withheld due to account status (HOLD)", code=HOLD
        )
    if status == "FAILED":
        return JobFailure(message=message or "no reason given")
    return None


def job_from_wire(data: Any) -> Job:
    """Map a qBraid job object (``RuntimeJob``) to a :class:`~qjobs.Job`.

    ``details`` keeps the whole raw object (cost, estimatedCost, queuePosition, timeStamps, ...);
    ``tags`` are the job's tags as strings.
    """
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("jobQrn"), str)
        or not data["jobQrn"]
    ):
        raise MalformedResponseError("job object without a jobQrn", provider=PROVIDER)
    wire: _WireJob = structure_model(data, _WireJob, "job")
    status, raw_status = lookup_status(wire.status, STATUS_MAP, fold=str.upper)
    raw = raw_status.upper()
    tags: dict[str, str] = {}
    for k, v in (wire.tags or {}).items():
        if v is None:
            continue
        tags[str(k)] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    times = wire.timeStamps or _WireTimes()
    created = times.createdAt or wire.createdAt
    failure = (
        _failure(data, raw, wire.statusMsg)
        if status in (JobStatus.FAILED, JobStatus.UNKNOWN)
        else None
    )
    return Job(
        id=wire.jobQrn,
        provider=PROVIDER,
        status=status,
        provider_status=raw_status,
        backend=wire.deviceQrn,
        shots=wire.shots,
        name=wire.name,
        created_at=created,
        started_at=None,
        completed_at=times.endedAt,
        session_id=wire.groupJobQrn,
        circuit_count=wire.numCircuits if wire.numCircuits and wire.numCircuits > 0 else 1,
        tags=tags,
        failure=failure,
        details=dict(data),
    )


def program_from_wire(data: Any) -> Program:
    """Map a ``{format, data}`` object to a :class:`Program`."""
    if not isinstance(data, Mapping) or not isinstance(data.get("format"), str):
        raise MalformedResponseError("program without a format", provider=PROVIDER)
    return Program(format=data["format"], data=data.get("data"))


def calibration_from_wire(data: Any) -> Calibration | None:
    """Map calibration data to a :class:`Calibration`; None when qBraid has none (``null``)."""
    if data is None:
        return None
    wire: _WireCalibration = structure_model(data, _WireCalibration, "calibration")
    return Calibration(
        device_qrns=tuple(wire.deviceQRNs or ()),
        provider=wire.provider,
        last_calibrated=wire.lastCalibrated,
        fetched_at=wire.fetchedAt,
        qubits=dict(wire.qubits or {}),
        edges=dict(wire.edges or {}),
        details=dict(data),
    )


def cost_estimate_from_wire(data: Any) -> CostEstimate:
    """Map ``GET /jobs/cost-estimate`` data to a :class:`CostEstimate`."""
    wire: _WireEstimate = structure_model(data, _WireEstimate, "cost estimate")
    return CostEstimate(
        pricing_available=bool(wire.pricingAvailable),
        device_qrn=wire.deviceQrn,
        estimated_cost=wire.estimatedCost,
        shots=wire.shots,
        reason=wire.reason,
        pricing_model=wire.pricingModel,
        details=dict(data),
    )


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int))
    if isinstance(value, Mapping):
        return tuple(str(k) for k in value)
    return ()


def status_options_from_wire(data: Any) -> JobStatusOptions:
    """Read ``GET /jobs/statuses`` (free-form): a ``statuses`` list or mapping, ``groups``.

    A bare list is taken as the status names; unknown shapes keep only ``details``.
    """
    if isinstance(data, list):
        return JobStatusOptions(statuses=_names(data), details={"statuses": list(data)})
    if not isinstance(data, Mapping):
        raise MalformedResponseError("job status options are not an object", provider=PROVIDER)
    groups_raw = data.get("groups", data.get("statusGroups"))
    groups: dict[str, tuple[str, ...]] = {}
    if isinstance(groups_raw, Mapping):
        groups = {str(k): _names(v) for k, v in groups_raw.items()}
    return JobStatusOptions(
        statuses=_names(data.get("statuses")), groups=groups, details=dict(data)
    )


def group_from_wire(data: Any) -> GroupJob:
    """Map a ``GroupJob`` object to a :class:`GroupJob`."""
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("groupJobQrn"), str)
        or not data["groupJobQrn"]
    ):
        raise MalformedResponseError("group object without a groupJobQrn", provider=PROVIDER)
    wire: _WireGroup = structure_model(data, _WireGroup, "group")
    times = wire.timeStamps or _WireTimes()
    return GroupJob(
        qrn=wire.groupJobQrn,
        name=wire.name,
        status=(wire.status or "").upper(),
        organization_user_id=wire.organizationUserId,
        job_count=wire.jobCount or 0,
        completed_count=wire.completedCount or 0,
        failed_count=wire.failedCount or 0,
        cancelled_count=wire.cancelledCount or 0,
        total_estimated_cost=wire.totalEstimatedCost,
        total_cost=wire.totalCost,
        created_at=times.createdAt or wire.createdAt,
        ended_at=times.endedAt,
        max_ttl=wire.maxTTL,
        tags=dict(wire.tags or {}),
        metadata=dict(wire.metadata or {}),
        details=dict(data),
    )


def credits_from_wire(data: Any) -> CreditBalance:
    """Map ``GET /billing/credits/balance`` data to a :class:`CreditBalance`."""
    wire: _WireCredits = structure_model(data, _WireCredits, "credit balance")
    return CreditBalance(
        qbraid_credits=wire.qbraidCredits,
        aws_credits=wire.awsCredits,
        auto_recharge=wire.autoRecharge,
        organization_id=wire.organizationId,
        user_id=wire.userId,
        details=dict(data),
    )


def user_context_from_wire(data: Any) -> UserContext:
    """Map ``GET /users/context`` data (``{user: {isAdmin, ...}}``) to a :class:`UserContext`."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("user context is not an object", provider=PROVIDER)
    user = data.get("user")
    if not isinstance(user, Mapping):
        raise MalformedResponseError("user context has no user object", provider=PROVIDER)
    wire: _WireContextUser = structure_model(user, _WireContextUser, "user context")
    raw_id = user.get("_id")
    return UserContext(
        is_admin=bool(wire.isAdmin),
        user_id=wire.userId or (str(raw_id) if raw_id is not None else None),
        organization_id=wire.organizationId,
        user=dict(user),
        details=dict(data),
    )


def provider_from_wire(item: Any) -> ProviderInfo:
    """One entry of ``GET /providers``: a name, or an object naming it (``provider``/``name``)."""
    if isinstance(item, str) and item:
        return ProviderInfo(name=item)
    if isinstance(item, Mapping):
        name = item.get("provider") or item.get("name") or item.get("_id")
        if isinstance(name, str) and name:
            vendor = item.get("vendor")
            return ProviderInfo(
                name=name,
                vendor=vendor if isinstance(vendor, str) else None,
                details=dict(item),
            )
    raise MalformedResponseError(f"provider entry {item!r} has no name", provider=PROVIDER)


def access_token_from_wire(data: Any) -> AccessToken:
    """Map ``POST /access-tokens/refresh`` data to an :class:`AccessToken`."""
    wire: _WireToken = structure_model(data, _WireToken, "access token")
    return AccessToken(expires_at=wire.expiresAt, profile_slug=wire.profileSlug, details=dict(data))


def _detail_text(detail: Any) -> str | None:
    if isinstance(detail, str) and detail.strip():
        return detail.strip()
    if isinstance(detail, list) and detail:
        parts = []
        for item in detail:
            if not isinstance(item, Mapping):
                parts.append(str(item))
                continue
            loc = [str(p) for p in item.get("loc") or ()]
            if loc and loc[0] == "body":
                loc = loc[1:]
            msg = str(item.get("msg") or "invalid")
            parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
        return "; ".join(parts)
    return None


def error_parser(status: int, body: bytes) -> tuple[str, str | None]:
    """Read qBraid's error bodies (spec section 4) as the SDK does.

    Message: top-level ``message`` -> ``error.message`` (or ``error`` as text) -> ``detail``
    (text, or ``"a.b: msg; ..."`` from FastAPI's list with a leading ``body`` dropped) -> the
    transport's default reading. Code: ``error.code`` or top-level ``code``.
    """
    data = json_body(body)
    if not isinstance(data, Mapping):
        return default_error_parser(status, body) if body else (f"HTTP {status}", None)
    error = data.get("error")
    message: str | None = None
    code: Any = None
    if isinstance(data.get("message"), str) and data["message"].strip():
        message = data["message"].strip()
    if isinstance(error, Mapping):
        if message is None and isinstance(error.get("message"), str):
            message = error["message"].strip() or None
        code = error.get("code")
    elif isinstance(error, str) and error.strip() and message is None:
        message = error.strip()
    if message is None:
        message = _detail_text(data.get("detail"))
    if code is None:
        code = data.get("code")
    if message is None:
        return default_error_parser(status, body)
    return message, None if code is None else str(code)
