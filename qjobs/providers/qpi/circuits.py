"""QPI's circuit encoding: OpenQASM 3 text, the submit key comment, widths read back from a job.

Pure functions (no I/O). A job travels as OpenQASM 3; a qjobs submit key rides in the first
circuit as the comment ``// qjobs-key: <key>`` on its second line. Result widths come from the
OpenQASM the job carries, so leading zeros of outcomes survive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from qjobs._core.errors import QJobsError
from qjobs._core.models import Job
from qjobs.circuit._ir import Circuit

__all__ = [
    "KEY_COMMENT",
    "encode",
    "key_in",
    "payload_circuits",
    "payload_widths",
    "width_of_qasm",
]

#: The OpenQASM comment that carries a qjobs submit key inside the job's first circuit.
KEY_COMMENT: Final = "// qjobs-key: "
#: How many leading lines of a circuit are searched for the key comment.
_KEY_LINES: Final = 4
_BIT_DECL: Final = re.compile(
    r"^\s*(?:bit\s*\[\s*(\d+)\s*\]|bit)\s+\w+\s*;|^\s*creg\s+\w+\s*\[\s*(\d+)"
)
_QUBIT_DECL: Final = re.compile(
    r"^\s*(?:qubit\s*\[\s*(\d+)\s*\]|qubit)\s+\w+\s*;|^\s*qreg\s+\w+\s*\[\s*(\d+)"
)


def encode(circuit: Circuit, key: str | None = None) -> str:
    """``circuit`` as OpenQASM 3, with ``// qjobs-key: <key>`` after the version line if given."""
    qasm = circuit.to_qasm3()
    if key is None:
        return qasm
    head, _, rest = qasm.partition("\n")
    return f"{head}\n{KEY_COMMENT}{key}\n{rest}"


def key_in(qasm: str) -> str | None:
    """The key an OpenQASM text carries in its first lines (``// qjobs-key: <key>``), or None."""
    for line in qasm.splitlines()[:_KEY_LINES]:
        if line.startswith(KEY_COMMENT):
            return line[len(KEY_COMMENT) :].strip()
    return None


def payload_circuits(job: Job) -> list[Any] | None:
    """The ``circuits`` list of the payload a job record carries, or None when it has none."""
    payload = job.details.get("payload")
    circuits = payload.get("circuits") if isinstance(payload, Mapping) else None
    return circuits if isinstance(circuits, list) else None


def width_of_qasm(source: str) -> int | None:
    """Outcome width of an OpenQASM circuit: its classical bits when it measures, else qubits."""
    try:
        circuit = Circuit.from_qasm(source)
    except QJobsError:
        circuit = None
    if circuit is not None:
        return circuit.num_clbits if circuit.measured_clbits else circuit.num_qubits
    bits = qubits = 0
    for line in source.splitlines():
        if m := _BIT_DECL.match(line):
            bits += int(m.group(1) or m.group(2) or 1)
        elif m := _QUBIT_DECL.match(line):
            qubits += int(m.group(1) or m.group(2) or 1)
    return bits or qubits or None


def payload_widths(job: Job) -> list[int | None]:
    """Expected outcome width of every result entry: per circuit, repeated per parameter set."""
    circuits = payload_circuits(job)
    if circuits is None:
        return []
    out: list[int | None] = []
    for item in circuits:
        if not isinstance(item, Mapping) or not isinstance(item.get("circuit"), str):
            return []
        width = width_of_qasm(item["circuit"])
        sets = item.get("parameter_values")
        out.extend([width] * (len(sets) if isinstance(sets, list) and sets else 1))
    return out
