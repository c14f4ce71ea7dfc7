"""Qibo cloud request bodies and the checks of user input before a request (pure, no I/O).

:func:`job_body` builds the ``POST /api/jobs/`` body from validated input; :func:`find_quota`
and :func:`check_quota` check a submission against the project quotas the client fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._checks import payload_size
from qjobs.providers.qibo import circuits as codec
from qjobs.providers.qibo.models import ProjectQuota

__all__ = ["check_flag", "check_name", "check_quota", "find_quota", "job_body"]


def check_name(value: Any, field: str) -> str:
    """A project or device name: a non-empty string of <= 200 characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InputError(field, value, "must be a non-empty string of <= 200 characters")
    return value


def check_flag(value: Any, field: str) -> bool:
    """A bool (nothing else: ``1`` or ``"yes"`` are refused)."""
    if not isinstance(value, bool):
        raise InputError(field, value, "must be a bool")
    return value


def _one_circuit(circuit: Circuit | Sequence[Circuit]) -> Circuit:
    obj: object = circuit
    if isinstance(circuit, Circuit):
        return circuit
    if isinstance(obj, str) or not isinstance(obj, Sequence):
        raise InputError("circuits", type(circuit).__name__, "must be a Circuit")
    if len(circuit) != 1:
        raise InputError(
            "circuits", f"{len(circuit)} circuits", "Qibo cloud runs one circuit per job"
        )
    return circuit[0]


def job_body(
    circuit: Circuit | Sequence[Circuit],
    *,
    shots: int,
    device: str,
    project: str,
    verbatim: bool,
    max_payload_bytes: int,
) -> tuple[dict[str, Any], codec.Encoded]:
    """The ``POST /api/jobs/`` body and the encoded circuit, every argument checked first.

    ``circuit`` is one Circuit or a one-element sequence; the encoded body must fit in
    ``max_payload_bytes``.
    """
    if not is_int(shots, low=1):
        raise InputError("shots", shots, "must be an int >= 1")
    device = check_name(device, "backend")
    check_name(project, "project")
    check_flag(verbatim, "verbatim")
    encoded = codec.encode(_one_circuit(circuit))
    body = {
        "circuit": encoded.circuit,
        "nshots": shots,
        "device": device,
        "project": project,
        "verbatim": verbatim,
    }
    payload_size(body, max_payload_bytes)
    return body, encoded


def find_quota(quotas: Sequence[ProjectQuota], project: str, device: str) -> ProjectQuota | None:
    """The quota of ``device`` in ``project``; None when there are no quotas at all (nothing
    to check against). An unknown project or device raises InputError listing the known ones."""
    if not quotas:
        return None
    found = next((q for q in quotas if q.project == project and q.partition.name == device), None)
    if found is None:
        known = sorted({q.partition.name for q in quotas if q.project == project})
        if not known:
            projects = sorted({q.project for q in quotas})
            raise InputError("project", project, f"unknown project; yours: {projects}")
        raise InputError("backend", device, f"not in project {project!r}; devices: {known}")
    return found


def check_quota(quota: ProjectQuota, qubits: int, shots: int) -> None:
    """InputError when the device is too small, the shots too many or the device unavailable."""
    part = quota.partition
    if part.max_num_qubits is not None and qubits > part.max_num_qubits:
        raise InputError(
            "circuits",
            f"{qubits} qubits",
            f"device {part.name!r} has {part.max_num_qubits} qubits",
        )
    if quota.max_num_shots is not None and shots > quota.max_num_shots:
        raise InputError("shots", shots, f"device {part.name!r} allows <= {quota.max_num_shots}")
    if not part.available:
        raise InputError("backend", part.name, f"device is {part.status}")
