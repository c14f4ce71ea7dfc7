"""Qiskit circuits -> qjobs circuits, and what a Qiskit result needs to know of each circuit."""

from __future__ import annotations

from typing import Any

import attrs

from qjobs.circuit._ir import Circuit, Instruction

__all__ = ["Header", "convert"]


@attrs.frozen(slots=True)
class Header:
    """What Qiskit's ``Result`` needs of a circuit: its name, classical bits and registers."""

    name: str
    memory_slots: int
    creg_sizes: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, Any]:
        """The experiment header as :meth:`qiskit.result.Result.from_dict` reads it."""
        return {
            "name": self.name,
            "memory_slots": self.memory_slots,
            "creg_sizes": [list(r) for r in self.creg_sizes],
        }


def _to_qjobs(qc: Any) -> Circuit:
    """The qjobs circuit for a Qiskit ``QuantumCircuit``.

    Uses ``Circuit.from_qiskit`` when qjobs has it, else Qiskit's OpenQASM 3 export read back by
    qjobs (parameters become ``input float`` parameters). A transpiled circuit's layout is
    dropped first: it names physical qubits ``$n``, which are the same indices as its qubits.
    """
    from_qiskit = getattr(Circuit, "from_qiskit", None)
    if from_qiskit is not None:
        converted: Circuit = from_qiskit(qc)
        return converted
    from qiskit import qasm3

    if qc.layout is not None:
        qc = qc.copy()
        qc._layout = None
    return Circuit.from_qasm(qasm3.dumps(qc), name=qc.name)


def _trimmed(circuit: Circuit) -> Circuit:
    """``circuit`` without the idle qubits above the highest one used.

    A circuit transpiled for a wide device carries every device qubit; the idle ones above the
    last used qubit stay in ``|0>``, are never measured and change no outcome, so they are not
    sent (a simulator would otherwise pay for each of them).
    """
    used = [q for ins in circuit.instructions if ins.name != "barrier" for q in ins.qubits]
    width = max(used, default=0) + 1
    if width >= circuit.num_qubits:
        return circuit
    kept: list[Instruction] = []
    for ins in circuit.instructions:
        if ins.name == "barrier":
            qubits = tuple(q for q in ins.qubits if q < width)
            if qubits:
                kept.append(attrs.evolve(ins, qubits=qubits))
        else:
            kept.append(ins)
    return attrs.evolve(circuit, num_qubits=width, instructions=tuple(kept), qregs=())


def convert(qc: Any) -> tuple[Circuit, Header]:
    """The qjobs circuit to run for ``qc`` and the header of its Qiskit result."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ClassicalRegister

    from qjobs._core.errors import InputError

    if not isinstance(qc, QuantumCircuit):
        raise InputError("circuits", qc, "expected a qiskit QuantumCircuit (or a list of them)")
    cregs = tuple((r.name, r.size) for r in qc.cregs if isinstance(r, ClassicalRegister))
    header = Header(qc.name, qc.num_clbits, cregs)
    return _trimmed(_to_qjobs(qc)), header
