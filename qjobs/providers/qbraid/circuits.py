"""qBraid circuit encoding: Circuit IR -> ``{"format", "data"}`` programs (OpenQASM 2 or 3).

Pure (no I/O). The checks a submission makes against the device's metadata (batch support,
input types, qubit count) live here with the encoding they decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from qjobs._core.errors import InputError
from qjobs.circuit._ir import Circuit
from qjobs.providers.qbraid.models import Device

__all__ = ["QASM_FORMATS", "circuit_list", "programs", "qasm_version"]

#: OpenQASM version -> qBraid's program format name.
QASM_FORMATS: Final = {2: "qasm2", 3: "qasm3"}


def circuit_list(circuits: Circuit | Sequence[Circuit]) -> list[Circuit]:
    """``circuits`` as a non-empty list of bound circuits; else InputError naming the culprit."""
    obj: object = circuits
    if isinstance(obj, str) or not isinstance(obj, Circuit | Sequence):
        raise InputError("circuits", type(obj).__name__, "must be a Circuit or a list of Circuits")
    items = [circuits] if isinstance(circuits, Circuit) else list(circuits)
    if not items:
        raise InputError("circuits", "[]", "must hold at least one circuit")
    for i, c in enumerate(items):
        if not isinstance(c, Circuit):
            raise InputError(f"circuits[{i}]", type(c).__name__, "must be a qjobs.Circuit")
        if not c.is_bound:
            raise InputError(f"circuits[{i}]", c.name, f"unbound parameters {c.parameters}")
    return items


def qasm_version(qasm: int | None, device: Device) -> int:
    """The OpenQASM version to write: ``qasm`` (2 or 3), else 3 unless the device takes only 2.

    A version the device's ``runInputTypes`` do not list raises :class:`~qjobs.InputError`.
    """
    types = {t.lower() for t in device.run_input_types}
    if qasm is None:
        version = 3 if "qasm3" in types or not types else 2
    elif qasm in QASM_FORMATS:
        version = qasm
    else:
        raise InputError("qasm", qasm, "must be 2, 3 or None")
    fmt = QASM_FORMATS[version]
    if types and fmt not in types:
        raise InputError("backend", device.qrn, f"does not accept {fmt}; it takes {sorted(types)}")
    return version


def programs(
    circuits: Circuit | Sequence[Circuit],
    qasm: int | None,
    device: Device,
    *,
    max_circuits: int | None,
) -> list[dict[str, str]]:
    """The ``program`` entries of a job for ``device``, one per circuit, in order.

    A list of circuits is a batch: at most ``max_circuits`` (None: any number) and only on a
    device with batch support. Every circuit must fit the device's qubits.
    """
    items = circuit_list(circuits)
    if not isinstance(circuits, Circuit):
        if max_circuits is not None and len(items) > max_circuits:
            raise InputError(
                "circuits", f"{len(items)} circuits", f"at most {max_circuits} per job"
            )
        if not device.batch_job_support:
            raise InputError(
                "circuits",
                f"{len(items)} circuits",
                f"device {device.qrn!r} does not support batch jobs; submit one per job",
            )
    version = qasm_version(qasm, device)
    if device.number_qubits is not None:
        for i, c in enumerate(items):
            if c.num_qubits > device.number_qubits:
                raise InputError(
                    f"circuits[{i}]",
                    f"{c.num_qubits} qubits",
                    f"device {device.qrn!r} has {device.number_qubits} qubits",
                )
    fmt = QASM_FORMATS[version]
    return [{"format": fmt, "data": c.to_qasm3() if version == 3 else c.to_qasm2()} for c in items]
