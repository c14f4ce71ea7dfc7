"""The ``POST /jobs`` body of an IonQ submission, validated before any request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import Capabilities
from qjobs.providers.ionq import circuits as codec
from qjobs.providers.ionq._base import DEFAULT_MAX_SHOTS, META_KEY, META_MAPS, META_SHOTS
from qjobs.providers.ionq._base import check_name as _name
from qjobs.providers.ionq.results import encode_maps

__all__ = ["build_body"]

_MAX_KEY_LENGTH: Final = 128


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
    backend = _name(backend, "backend")
    if key is not None and (not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH):
        raise InputError("key", key, f"must be a non-empty string of <= {_MAX_KEY_LENGTH}")
    if name is not None and not isinstance(name, str):
        raise InputError("name", name, "must be a string")
    if not isinstance(dry_run, bool):
        raise InputError("dry_run", dry_run, "must be a bool")
    if session_id is not None:
        _name(session_id, "session_id")
    obj: object = circuits
    if isinstance(obj, str) or not isinstance(obj, Circuit | Sequence):
        raise InputError("circuits", type(obj).__name__, "must be a Circuit or a list of Circuits")
    if not isinstance(circuits, Circuit):
        circuits = list(circuits)
        limit = capabilities.max_circuits_per_job
        if len(circuits) > limit:
            raise InputError("circuits", f"{len(circuits)} circuits", f"at most {limit} per job")
    encoded = codec.encode(circuits, gateset=gateset)
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
        if not backend.startswith("simulator"):
            raise InputError("noise", noise, "noise models apply to the simulator only")
        if isinstance(noise, str):
            body["noise"] = {"model": noise}
        elif isinstance(noise, Mapping) and isinstance(noise.get("model"), str):
            body["noise"] = dict(noise)
        else:
            raise InputError("noise", noise, "must be a model name or {'model': ..., 'seed'}")
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
    if encoded.type == codec.TYPE_QASM3:
        compilation = dict(merged.get("compilation") or {})
        compilation.setdefault("service_version", "v0.4")
        merged["compilation"] = compilation
    if merged:
        body["settings"] = merged
    if dry_run:
        body["dry_run"] = True
    try:
        size = len(orjson.dumps(body))
    except TypeError as exc:
        raise InputError("settings", "<body>", f"not JSON-serializable: {exc}") from None
    if size > capabilities.max_payload_bytes:
        raise InputError(
            "circuits",
            f"{size} bytes",
            f"payload exceeds max_payload_bytes={capabilities.max_payload_bytes}",
        )
    return body, encoded
