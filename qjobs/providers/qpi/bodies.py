"""Building QPI request bodies from validated input (pure functions, no I/O).

:func:`build_body` checks everything about a submission that needs no request and makes the
``POST /api/jobs`` body; the other builders make the bodies of the account, time and
administration routes. :func:`record_id` and :func:`seconds` check ids and durations before any
request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from qjobs._core.errors import InputError
from qjobs._core.models import Backend
from qjobs._core.validation import is_int, is_number
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import Capabilities, check_id
from qjobs.providers._checks import payload_size
from qjobs.providers.qpi.circuits import encode
from qjobs.providers.qpi.models import format_time, rfc3339

__all__ = [
    "MAX_SHOTS",
    "TIME_REQUEST_STATUSES",
    "build_body",
    "check_fits",
    "connect_body",
    "login_body",
    "qpu_body",
    "record_id",
    "review_body",
    "seconds",
    "time_request_body",
    "time_requests_filter",
    "time_slot_body",
    "time_slot_changes",
    "toggle_body",
    "token_body",
]

MAX_SHOTS: Final = 1_000_000
#: The states of a QPU time request.
TIME_REQUEST_STATUSES: Final = ("pending", "approved", "rejected")
_MAX_KEY_LENGTH: Final = 128
_MEAS_RETURNS: Final = ("single", "avg")


def record_id(value: Any, field: str) -> str:
    """``value`` as a record id safe in a URL path; InputError naming ``field``."""
    return check_id(value, field)


def seconds(value: Any, field: str, *, allow_zero: bool) -> float:
    """``value`` as a finite number of seconds (``> 0``, or ``>= 0`` with ``allow_zero``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise InputError(
            field, value, "must be a finite number " + (">= 0" if allow_zero else "> 0")
        )
    return float(value)


def _optional_text(value: Any, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InputError(field, value, "must be a string")
    return value


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
            if not is_number(v):
                raise InputError(where, values, "values must be numbers")
            if not math.isfinite(float(v)):
                raise InputError(where, values, "values must be finite")
            floats.append(float(v))
        out.append(floats)
    return out


def _check_settings(
    options: Mapping[str, Any] | None,
    name: Any,
    backend: Any,
    shots: Any,
    meas_level: Any,
    meas_return: Any,
    key: Any,
) -> None:
    """Check a submission's settings, in the order the errors are reported."""
    if options:
        raise InputError(next(iter(options)), "...", "unknown submit option for QPI")
    if name is not None and not isinstance(name, str):
        raise InputError("name", name, "must be a string")
    if backend is not None:
        record_id(backend, "backend")
    if not is_int(shots, low=1, high=MAX_SHOTS):
        raise InputError("shots", shots, f"must be an int from 1 to {MAX_SHOTS}")
    if meas_level not in (1, 2) or isinstance(meas_level, bool):
        raise InputError("meas_level", meas_level, "must be 1 (IQ memory) or 2 (counts)")
    if meas_return not in _MEAS_RETURNS:
        raise InputError("meas_return", meas_return, f"must be one of {list(_MEAS_RETURNS)}")
    if key is not None and (
        not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH or not key.isprintable()
    ):
        raise InputError("key", key, f"must be a printable string of 1..{_MAX_KEY_LENGTH}")


def _circuit_list(circuits: Any, limit: int | None) -> list[Any]:
    """The circuits of a submission as a non-empty list of at most ``limit`` entries (None: any
    number; the payload size bounds the job)."""
    if isinstance(circuits, Circuit):
        return [circuits]
    if isinstance(circuits, str) or not isinstance(circuits, Sequence):
        raise InputError("circuits", type(circuits).__name__, "must be a Circuit or a list of them")
    items = list(circuits)
    if not items:
        raise InputError("circuits", [], "must hold at least one circuit")
    if limit is not None and len(items) > limit:
        raise InputError("circuits", f"{len(items)} circuits", f"at most {limit} per job")
    return items


def _per_circuit(parameter_values: Any, count: int, single: bool) -> list[Any]:
    """The parameter sets of each circuit (None for a circuit without any)."""
    if parameter_values is None:
        return [None] * count
    if single:
        return [parameter_values]
    if (
        isinstance(parameter_values, str | Mapping)
        or not isinstance(parameter_values, Sequence)
        or len(parameter_values) != count
    ):
        raise InputError("parameter_values", "...", "must hold one entry (or None) per circuit")
    return list(parameter_values)


def build_body(
    capabilities: Capabilities,
    circuits: Circuit | Sequence[Circuit],
    *,
    shots: int,
    key: str | None,
    meas_level: int,
    meas_return: str,
    parameter_values: Any,
    name: Any = None,
    backend: Any = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Circuit]]:
    """Validate everything that needs no request and build the ``POST /api/jobs`` body.

    ``options`` are the unknown keyword arguments of ``submit`` (any is an error); ``name``
    must be a string (QPI jobs have no name: it is never sent) and ``backend`` a record id.
    The QPU target is added by the caller once it knows the online QPUs.
    """
    _check_settings(options, name, backend, shots, meas_level, meas_return, key)
    single = isinstance(circuits, Circuit)
    items = _circuit_list(circuits, capabilities.max_circuits_per_job)
    per_circuit = _per_circuit(parameter_values, len(items), single)
    wire: list[dict[str, Any]] = []
    for i, (circuit, sets) in enumerate(zip(items, per_circuit, strict=True)):
        if not isinstance(circuit, Circuit):
            raise InputError(f"circuits[{i}]", type(circuit).__name__, "must be a Circuit")
        field = "parameter_values" if single else f"parameter_values[{i}]"
        bound_sets = _parameter_sets(circuit, sets, field)
        entry: dict[str, Any] = {"circuit": encode(circuit, key if i == 0 else None)}
        if bound_sets is not None:
            entry["parameter_values"] = bound_sets
        wire.append(entry)
    body: dict[str, Any] = {
        "circuits": wire,
        "shots": shots,
        "meas_level": meas_level,
        "meas_return": meas_return,
    }
    payload_size(body, capabilities.max_payload_bytes)
    return body, items


def check_fits(target: Backend, items: Sequence[Circuit]) -> None:
    """Refuse circuits wider than the QPU ``target`` (InputError naming ``circuits``)."""
    widest = max(c.num_qubits for c in items)
    if target.qubits is not None and widest > target.qubits:
        raise InputError(
            "circuits", f"{widest} qubits", f"QPU {target.name!r} has {target.qubits} qubits"
        )


def login_body(identity: Any, password: Any) -> dict[str, str]:
    """The ``auth-with-password`` body; the password is never shown in an error."""
    if not isinstance(identity, str) or not identity:
        raise InputError("identity", identity, "must be a non-empty string")
    if not isinstance(password, str) or not password:
        raise InputError("password", "***", "must be a non-empty string")
    return {"identity": identity, "password": password}


def token_body(name: Any, expires_at: datetime | str | None) -> dict[str, Any]:
    """The ``POST /api/tokens`` body: an optional name and expiry (RFC 3339 with a zone)."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = _optional_text(name, "name")
    if expires_at is not None:
        body["expires_at"] = format_time(rfc3339(expires_at, "expires_at"))
    return body


def time_slot_body(start: datetime | str, end: datetime | str, owner: str | None) -> dict[str, Any]:
    """The body booking ``[start, end)`` for ``owner`` (a user id; None lets the server decide)."""
    begin, finish = rfc3339(start, "start"), rfc3339(end, "end")
    if finish <= begin:
        raise InputError("end", end, "must be after start")
    body: dict[str, Any] = {"start_time": format_time(begin), "end_time": format_time(finish)}
    if owner is not None:
        body["booked_by"] = record_id(owner, "booked_by")
    return body


def time_slot_changes(start: datetime | str | None, end: datetime | str | None) -> dict[str, Any]:
    """The ``PATCH`` body moving a slot: ``start``, ``end`` or both (at least one)."""
    body: dict[str, Any] = {}
    if start is not None:
        body["start_time"] = format_time(rfc3339(start, "start"))
    if end is not None:
        body["end_time"] = format_time(rfc3339(end, "end"))
    if not body:
        raise InputError("start", None, "give start, end or both")
    if start is not None and end is not None and rfc3339(end, "end") <= rfc3339(start, "start"):
        raise InputError("end", end, "must be after start")
    return body


def time_requests_filter(status: Any) -> str | None:
    """The PocketBase filter selecting time requests in ``status`` (None: every request)."""
    if status is not None and status not in TIME_REQUEST_STATUSES:
        raise InputError("status", status, "must be pending, approved or rejected")
    return f"status = '{status}'" if status else None


def time_request_body(user: str, amount: Any, reason: Any) -> dict[str, Any]:
    """A pending request by ``user`` for ``amount`` more QPU seconds, with an optional reason."""
    body: dict[str, Any] = {
        "user": user,
        "status": "pending",
        "seconds": seconds(amount, "seconds", allow_zero=False),
    }
    if _optional_text(reason, "reason"):
        body["requested_reason"] = reason
    return body


def review_body(approve: bool, reason: Any = None) -> dict[str, Any]:
    """The ``PATCH`` body approving a time request, or rejecting it with an optional reason."""
    if approve:
        return {"status": "approved"}
    body: dict[str, Any] = {"status": "rejected"}
    if _optional_text(reason, "reason") is not None:
        body["rejection_reason"] = reason
    return body


def qpu_body(name: Any, executor_type: Any, num_qubits: Any, enabled: Any) -> dict[str, Any]:
    """The ``POST /api/op/qpus/create`` body; every field but ``name`` is optional."""
    body: dict[str, Any] = {"name": record_id(name, "name")}
    if executor_type is not None:
        if not isinstance(executor_type, str) or not executor_type:
            raise InputError("executor_type", executor_type, "must be a non-empty string")
        body["executor_type"] = executor_type
    if num_qubits is not None:
        if not is_int(num_qubits, low=1):
            raise InputError("num_qubits", num_qubits, "must be an int >= 1")
        body["num_qubits"] = num_qubits
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise InputError("enabled", enabled, "must be a bool")
        body["enabled"] = enabled
    return body


def connect_body(
    name: Any, access_token: Any, executor_type: Any, device_config: Any
) -> dict[str, Any]:
    """The ``POST /api/op/qpus/connect`` body; the access token is never shown in an error."""
    body: dict[str, Any] = {"name": record_id(name, "name")}
    if not isinstance(access_token, str) or not access_token:
        raise InputError("access_token", "***", "must be a non-empty string")
    body["access_token"] = access_token
    if executor_type is not None:
        body["executor_type"] = executor_type
    if device_config is not None:
        if not isinstance(device_config, Mapping):
            raise InputError("device_config", device_config, "must be a mapping")
        body["device_config"] = dict(device_config)
    return body


def toggle_body(qpu: str, enabled: Any) -> dict[str, Any]:
    """The ``POST /api/op/qpu/toggle`` body enabling or disabling the QPU ``qpu``."""
    if not isinstance(enabled, bool):
        raise InputError("enabled", enabled, "must be a bool")
    return {"id": qpu, "enabled": enabled}
