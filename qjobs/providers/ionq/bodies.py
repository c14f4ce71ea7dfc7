"""The bodies and queries of IonQ requests, built from validated input before any request.

Everything here is pure (no I/O): the ``POST /jobs`` body of a submission and the checks against
the backend catalogue, the ``POST /sessions`` body, the ``GET /jobs/estimate`` query and the
``PUT /jobs/status/cancel`` bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import Capabilities, check_id
from qjobs.providers._checks import payload_size
from qjobs.providers.ionq import circuits as codec
from qjobs.providers.ionq.config import (
    CANCEL_CHUNK,
    DEFAULT_MAX_SHOTS,
    META_KEY,
    META_MAPS,
    META_SHOTS,
)
from qjobs.providers.ionq.results import encode_maps

__all__ = [
    "build_body",
    "cancel_bodies",
    "check_limit",
    "check_name",
    "estimate_params",
    "session_body",
]

_MAX_KEY_LENGTH: Final = 128


def check_name(value: Any, field: str) -> str:
    """``value`` as a path segment (backend, session, artifact), else :class:`~qjobs.InputError`."""
    return check_id(value, field, what="a name")


def build_body(
    capabilities: Capabilities,
    circuits: Circuit | Sequence[Circuit],
    *,
    shots: int,
    backend: str,
    name: str | None,
    key: str | None,
    noise: str | Mapping[str, Any] | None,
    error_mitigation: bool | Mapping[str, Any] | None,
    settings: Mapping[str, Any] | None,
    dry_run: bool,
    metadata: Mapping[str, str] | None,
    session_id: str | None,
    gateset: str | None,
) -> tuple[dict[str, Any], codec.Encoded]:
    """Validate everything that needs no request and build the ``POST /jobs`` body."""
    if not is_int(shots, low=1):
        raise InputError("shots", shots, "must be an int >= 1")
    if shots > DEFAULT_MAX_SHOTS:
        raise InputError("shots", shots, f"must be <= {DEFAULT_MAX_SHOTS}")
    backend = check_name(backend, "backend")
    if key is not None and (not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH):
        raise InputError("key", key, f"must be a non-empty string of <= {_MAX_KEY_LENGTH}")
    if name is not None and not isinstance(name, str):
        raise InputError("name", name, "must be a string")
    if not isinstance(dry_run, bool):
        raise InputError("dry_run", dry_run, "must be a bool")
    if session_id is not None:
        check_name(session_id, "session_id")
    obj: object = circuits
    if isinstance(obj, str) or not isinstance(obj, Circuit | Sequence):
        raise InputError("circuits", type(obj).__name__, "must be a Circuit or a list of Circuits")
    if not isinstance(circuits, Circuit):
        circuits = list(circuits)
        limit = capabilities.max_circuits_per_job
        if limit is not None and len(circuits) > limit:
            raise InputError("circuits", f"{len(circuits)} circuits", f"at most {limit} per job")
    encoded = codec.encode(circuits, gateset=gateset)
    meta = _job_metadata(metadata, shots, key, encoded)
    if name is None:
        name = circuits.name if isinstance(circuits, Circuit) else f"{len(encoded.maps)} circuits"
    body: dict[str, Any] = {"type": encoded.type, "backend": backend, "shots": shots}
    if name:
        body["name"] = name
    body["input"] = encoded.input
    if session_id is not None:
        body["session_id"] = session_id
    body["metadata"] = meta
    if noise is not None:
        body["noise"] = _noise(noise, backend)
    merged = _job_settings(settings, error_mitigation, encoded.type)
    if merged:
        body["settings"] = merged
    if dry_run:
        body["dry_run"] = True
    payload_size(body, capabilities.max_payload_bytes)
    return body, encoded


def _job_metadata(
    metadata: Mapping[str, str] | None, shots: int, key: str | None, encoded: codec.Encoded
) -> dict[str, str]:
    """The user's string metadata plus what qjobs reads back: shots, measurement maps, key."""
    user_meta: dict[str, str] = {}
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise InputError(f"metadata[{k!r}]", v, "metadata keys and values must be strings")
        if k.startswith("qjobs_") or k == META_SHOTS:
            raise InputError(f"metadata[{k!r}]", v, "key is reserved by qjobs")
        user_meta[k] = v
    meta = {**user_meta, META_SHOTS: str(shots), META_MAPS: encode_maps(encoded.maps)}
    if key is not None:
        meta[META_KEY] = key
    return meta


def _noise(noise: str | Mapping[str, Any], backend: str) -> dict[str, Any]:
    """The ``noise`` object of a simulator job: ``{"model", "seed"?}``."""
    if not backend.startswith("simulator"):
        raise InputError("noise", noise, "noise models apply to the simulator only")
    if isinstance(noise, str):
        return {"model": noise}
    if isinstance(noise, Mapping) and isinstance(noise.get("model"), str):
        return dict(noise)
    raise InputError("noise", noise, "must be a model name or {'model': ..., 'seed'}")


def _job_settings(
    settings: Mapping[str, Any] | None,
    error_mitigation: bool | Mapping[str, Any] | None,
    job_type: str,
) -> dict[str, Any]:
    """IonQ's ``settings``: the user's, error mitigation, and the compiler version for QASM 3."""
    merged: dict[str, Any] = {}
    if settings is not None:
        if not isinstance(settings, Mapping):
            raise InputError("settings", settings, "must be a mapping")
        merged.update(settings)
    if error_mitigation is not None:
        if isinstance(error_mitigation, bool):
            merged["error_mitigation"] = {"debiasing": error_mitigation}
        elif isinstance(error_mitigation, Mapping):
            merged["error_mitigation"] = dict(error_mitigation)
        else:
            raise InputError("error_mitigation", error_mitigation, "must be a bool or a mapping")
    if job_type == codec.TYPE_QASM3:
        compilation = dict(merged.get("compilation") or {})
        compilation.setdefault("service_version", "v0.4")
        merged["compilation"] = compilation
    return merged


def cancel_bodies(ids: Sequence[str]) -> list[dict[str, list[str]]]:
    """The ``PUT /jobs/status/cancel`` bodies for ``ids``, :data:`CANCEL_CHUNK` ids each."""
    return [
        {"ids": list(ids[start : start + CANCEL_CHUNK])}
        for start in range(0, len(ids), CANCEL_CHUNK)
    ]


def session_body(
    backend: str,
    *,
    job_count_limit: int | None,
    duration_limit_min: int | None,
    cost_limit: float | None,
) -> dict[str, Any]:
    """The ``POST /sessions`` body: ``{"backend", "settings"?}`` (limits only when given)."""
    backend = check_name(backend, "backend")
    settings: dict[str, Any] = {}
    for field, value in (
        ("job_count_limit", job_count_limit),
        ("duration_limit_min", duration_limit_min),
    ):
        if value is not None:
            if not is_int(value, low=1):
                raise InputError(field, value, "must be an int >= 1")
            settings[field] = value
    if cost_limit is not None:
        if (
            isinstance(cost_limit, bool)
            or not isinstance(cost_limit, int | float)
            or not cost_limit > 0
        ):
            raise InputError("cost_limit", cost_limit, "must be a number > 0 (USD)")
        settings["cost_limit"] = {"unit": "usd", "value": cost_limit}
    body: dict[str, Any] = {"backend": backend}
    if settings:
        body["settings"] = settings
    return body


def check_limit(limit: int | None) -> int | None:
    """``limit`` (how many records to ask for) when None or an int >= 1; else InputError."""
    if limit is not None and not is_int(limit, low=1):
        raise InputError("limit", limit, "must be an int >= 1")
    return limit


def _gate_counts(encoded: codec.Encoded) -> tuple[int, int]:
    """The one- and two-qubit gates of an encoded ``ionq.circuit.v1`` input, as IonQ counts."""
    lists = (
        [encoded.input.get("circuit", [])]
        if "circuit" in encoded.input
        else [c["circuit"] for c in encoded.input.get("circuits", [])]
    )
    n1 = n2 = 0
    for ops in lists:
        for op in ops:
            arity = len(op.get("targets", [op.get("target")])) + len(op.get("controls", []))
            if arity == 1:
                n1 += 1
            else:
                n2 += 1
    return n1, n2


def estimate_params(
    circuits: Circuit | Sequence[Circuit] | None,
    *,
    backend: str,
    shots: int,
    one_qubit_gates: int | None,
    two_qubit_gates: int | None,
    qubits: int | None,
    error_mitigation: bool,
    session: bool,
) -> dict[str, Any]:
    """The ``GET /jobs/estimate`` query; counts not given are taken from ``circuits`` as sent."""
    backend = check_name(backend, "backend")
    if not is_int(shots, low=1):
        raise InputError("shots", shots, "must be an int >= 1")
    job_type = codec.TYPE_CIRCUIT
    n1 = n2 = 0
    width = 0
    if circuits is not None:
        encoded = codec.encode(circuits)
        job_type = encoded.type
        width = encoded.qubits
        n1, n2 = _gate_counts(encoded)
    for field, value in (
        ("one_qubit_gates", one_qubit_gates),
        ("two_qubit_gates", two_qubit_gates),
        ("qubits", qubits),
    ):
        if value is not None and not is_int(value, low=0):
            raise InputError(field, value, "must be an int >= 0")
    return {
        "type": job_type,
        "backend": backend,
        "1q_gates": n1 if one_qubit_gates is None else one_qubit_gates,
        "2q_gates": n2 if two_qubit_gates is None else two_qubit_gates,
        "qubits": width if qubits is None else qubits,
        "shots": shots,
        "error_mitigation": bool(error_mitigation),
        "session": bool(session),
    }
