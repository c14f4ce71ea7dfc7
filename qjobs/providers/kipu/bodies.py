"""Kipu Quantum Hub request bodies and the checks of user input before a request (pure).

Bodies are snake_case (spec §3). :func:`job_body` builds ``POST jobs`` from a circuit (encoded
per backend by :mod:`qjobs.providers.kipu.circuits`) or a provider-native input;
:func:`session_body` builds ``POST sessions``; :func:`submission_tags`, :func:`check_circuits`,
:func:`check_payload` and :func:`check_backend` are the checks of
:meth:`~qjobs.providers.kipu.KipuClient.submit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeGuard

import orjson

from qjobs._core.errors import InputError
from qjobs._core.models import Backend, Job
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import check_id
from qjobs.providers._checks import check_fits
from qjobs.providers.kipu import circuits as codec
from qjobs.providers.kipu.config import (
    INPUT_FORMATS,
    KEY_TAG,
    MAX_KEY_LENGTH,
    QASM_FORMATS,
    SDK_PROVIDERS,
    SESSION_MODES,
)
from qjobs.providers.kipu.models import Session

__all__ = [
    "check_backend",
    "check_circuits",
    "iso",
    "job_body",
    "job_ref",
    "session_body",
    "session_ref",
    "submission_tags",
]


def job_ref(job: Job | str, field: str = "job") -> str:
    """The id of a Job or an id string, checked as a path segment."""
    return check_id(job.id if isinstance(job, Job) else job, field)


def session_ref(session: Session | str, field: str = "session") -> str:
    """The id of a Session or an id string, checked as a path segment."""
    return check_id(session.id if isinstance(session, Session) else session, field)


def iso(value: Any, field: str) -> str:
    """A query datetime: UTC as ``Z``, other zones as ``+HH:MM``, naive ones in local time."""
    if not isinstance(value, datetime):
        raise InputError(field, value, "must be a datetime")
    moment = value if value.tzinfo is not None else value.astimezone()
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


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


def _sdk_provider(value: Any) -> str:
    if value not in SDK_PROVIDERS:
        raise InputError("sdk_provider", value, f"must be one of {sorted(SDK_PROVIDERS)}")
    return str(value)


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


def _is_circuits(value: Any) -> TypeGuard[Circuit | Sequence[Circuit]]:
    return isinstance(value, Circuit) or (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(c, Circuit) for c in value)
    )


def job_body(
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
    if _is_circuits(input):
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
    optional = {
        "input_format": fmt,
        "input_params": params or None,
        "qasm": rendering,
        "tags": None if tags is None else _tags(tags),
        "session_id": None if session_id is None else check_id(session_id, "session_id"),
        "sdk_provider": None if sdk_provider is None else _sdk_provider(sdk_provider),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body, widths


def session_body(
    backend_id: str,
    *,
    mode: str = "batch",
    provider: str | None = None,
    ttl: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    sdk_provider: str | None = "CLIENT",
) -> dict[str, Any]:
    """The ``POST sessions`` body (validated); ``provider`` defaults to the backend id's first
    segment upper-cased (``ibm`` -> IBM), ``ttl`` is in seconds."""
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
        body["sdk_provider"] = _sdk_provider(sdk_provider)
    return body


def submission_tags(tags: Sequence[str] | None, key: str | None) -> list[str]:
    """The tags of a submission: the user's, then ``qjobs_key:<key>`` when there is a key."""
    if tags is not None and (isinstance(tags, str) or not isinstance(tags, Sequence)):
        raise InputError("tags", tags, "must be a list of strings")
    out = list(tags) if tags is not None else []
    if key is not None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise InputError("key", key, f"must be a non-empty string of <= {MAX_KEY_LENGTH}")
        out.append(f"{KEY_TAG}:{key}")
    return out


def check_circuits(circuits: Any, max_circuits: int | None) -> None:
    """InputError unless ``circuits`` is a Circuit or a list of at most ``max_circuits`` (None:
    any number)."""
    if isinstance(circuits, Sequence) and not isinstance(circuits, Circuit | str):
        if max_circuits is not None and len(circuits) > max_circuits:
            raise InputError(
                "circuits",
                f"{len(circuits)} circuits",
                f"more than max_circuits_per_job={max_circuits}",
            )
    elif not isinstance(circuits, Circuit):
        raise InputError("circuits", type(circuits).__name__, "must be a Circuit or a list")


def check_backend(entry: Backend, circuits: Circuit | Sequence[Circuit], shots: int) -> None:
    """InputError when the circuits are wider than the backend or the shots out of its range."""
    seq = [circuits] if isinstance(circuits, Circuit) else list(circuits)
    check_fits(entry, max(c.num_qubits for c in seq), shots)
