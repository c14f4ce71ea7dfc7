"""qBraid request bodies and parameters, built from checked input (pure, no I/O).

Every check of a caller's argument happens here, before any request: ids (QRNs), tags, the
submission's options against the device's metadata, job-group options and cost-estimate
parameters. Each check raises :class:`~qjobs.InputError` naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from qjobs._core.errors import InputError
from qjobs._core.models import Job
from qjobs._core.validation import check_int, is_int
from qjobs.providers._base import check_id, job_id
from qjobs.providers.qbraid.config import DEFAULT_DEVICE, MAX_GROUP_TTL, MAX_KEY_LENGTH, TAG_KEY
from qjobs.providers.qbraid.models import Device, GroupJob

__all__ = [
    "check_device",
    "check_name",
    "check_noise",
    "check_qrn",
    "check_runtime_options",
    "cost_params",
    "delete_params",
    "group_body",
    "group_ref",
    "job_body",
    "job_ref",
    "job_refs",
    "submit_tags",
    "wire_tags",
]


# ------------------------------------------------------------------------------------ ids
def job_ref(job: Job | str, field: str = "job") -> str:
    """The QRN of a :class:`~qjobs.Job` or a job QRN string, checked as one path segment."""
    return job_id(job, field, what="a qBraid job QRN")


def check_qrn(value: Any, field: str) -> str:
    """``value`` checked as a qBraid QRN (one path segment)."""
    return check_id(value, field, what="a qBraid QRN such as 'qbraid:qbraid:sim:qasm-sim'")


def group_ref(group: GroupJob | str, field: str = "group") -> str:
    """The QRN of a :class:`GroupJob` or a group QRN string, checked as one path segment."""
    return check_qrn(group.qrn if isinstance(group, GroupJob) else group, field)


# ----------------------------------------------------------------------------------- tags
def wire_tags(tags: Mapping[str, Any] | None) -> dict[str, str | int | bool]:
    """``tags`` as qBraid takes them: str names (``qjobs_*`` reserved), str/int/bool values."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InputError("tags", tags, "must be a mapping of str to str, int or bool")
    out: dict[str, str | int | bool] = {}
    for k, v in tags.items():
        if not isinstance(k, str) or not k:
            raise InputError("tags", k, "tag names must be non-empty strings")
        if k.startswith("qjobs_"):
            raise InputError(f"tags[{k!r}]", v, "tag names starting with 'qjobs_' are reserved")
        if not isinstance(v, str | int | bool):
            raise InputError(f"tags[{k!r}]", v, "tag values must be str, int or bool")
        out[k] = v
    return out


def submit_tags(tags: Mapping[str, Any] | None, key: str | None) -> dict[str, str | int | bool]:
    """A job's wire tags: the user's ``tags`` plus :data:`TAG_KEY` = ``key`` when given."""
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH):
        raise InputError("key", key, f"must be a non-empty string of <= {MAX_KEY_LENGTH}")
    out = wire_tags(tags)
    if key is not None:
        out[TAG_KEY] = key
    return out


# ---------------------------------------------------------------------------- submission
def check_name(name: Any) -> str | None:
    """A job or group name: a string or None."""
    if name is not None and not isinstance(name, str):
        raise InputError("name", name, "must be a string")
    return name


def check_runtime_options(runtime_options: Any) -> dict[str, Any]:
    """``runtime_options`` (a mapping or None) as the ``runtimeOptions`` dict."""
    if runtime_options is not None and not isinstance(runtime_options, Mapping):
        raise InputError("runtime_options", runtime_options, "must be a mapping")
    return dict(runtime_options or {})


def check_device(device: Device, shots: Any) -> int:
    """Check that ``device`` takes jobs through the API and ``shots`` within its range."""
    if not device.direct_access:
        raise InputError("backend", device.qrn, "device has no direct access through the API")
    value = check_int("shots", shots, low=1)
    if device.max_shots is not None and value > device.max_shots:
        raise InputError("shots", value, f"device {device.qrn!r} allows <= {device.max_shots}")
    if device.min_shots is not None and value < device.min_shots:
        raise InputError("shots", value, f"device {device.qrn!r} needs >= {device.min_shots}")
    return value


def check_noise(runtime_options: Mapping[str, Any], device: Device) -> None:
    """A ``noiseModel`` runtime option must be one the device offers (when it lists any)."""
    noise = runtime_options.get("noiseModel")
    if noise is not None and device.noise_models and noise not in device.noise_models:
        raise InputError(
            "runtime_options['noiseModel']", noise, f"device offers {list(device.noise_models)}"
        )


def job_body(
    *,
    name: str | None,
    shots: int,
    device_qrn: str,
    tags: Mapping[str, str | int | bool],
    runtime_options: Mapping[str, Any],
    group_qrn: str | None,
    programs: Sequence[Mapping[str, str]],
    batch: bool,
) -> dict[str, Any]:
    """The ``POST /jobs`` body: one program, or a list of them when ``batch``."""
    return {
        "name": name,
        "shots": shots,
        "deviceQrn": device_qrn,
        "tags": dict(tags),
        "runtimeOptions": dict(runtime_options),
        "groupJobQrn": group_qrn,
        "program": list(programs) if batch else programs[0],
    }


def cost_params(backend: str | None, shots: int | None) -> dict[str, Any]:
    """The ``GET /jobs/cost-estimate`` parameters (device default :data:`DEFAULT_DEVICE`)."""
    params: dict[str, Any] = {
        "deviceQrn": check_qrn(DEFAULT_DEVICE if backend is None else backend, "backend")
    }
    if shots is not None:
        params["shots"] = check_int("shots", shots, low=1)
    return params


def job_refs(jobs: Sequence[Job | str]) -> list[str]:
    """The QRNs of ``jobs`` in order, each once (InputError naming ``jobs[i]``)."""
    return list(dict.fromkeys(job_ref(j, f"jobs[{i}]") for i, j in enumerate(jobs)))


def delete_params(ids: Sequence[str]) -> dict[str, str]:
    """The ``DELETE /jobs`` parameters: ``qrns``, the JSON list of ``ids``."""
    return {"qrns": orjson.dumps(list(ids)).decode()}


# -------------------------------------------------------------------------------- groups
def group_body(
    *,
    name: str | None,
    tags: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    max_ttl: int | None,
) -> dict[str, Any]:
    """The ``POST /jobs/group`` body; ``max_ttl`` in 1..:data:`MAX_GROUP_TTL` seconds."""
    check_name(name)
    group_tags = wire_tags(tags)
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InputError("metadata", metadata, "must be a mapping")
    if max_ttl is not None and not is_int(max_ttl, low=1, high=MAX_GROUP_TTL):
        raise InputError("max_ttl", max_ttl, f"must be an int from 1 to {MAX_GROUP_TTL}")
    body: dict[str, Any] = {"name": name, "tags": group_tags, "metadata": dict(metadata or {})}
    if max_ttl is not None:
        body["maxTTL"] = max_ttl
    try:
        orjson.dumps(body)
    except TypeError as exc:
        raise InputError("metadata", "<metadata>", f"not JSON-serializable: {exc}") from None
    return body
