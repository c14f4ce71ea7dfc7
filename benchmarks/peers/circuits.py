"""Circuit ``i`` of ``count`` in each contestant's form: ``rx(theta_i) q0; cx q0,q1; measure``.

Every circuit of a run is distinct (its angle, :func:`benchmarks._workload.theta`), so that the
emulator can tell a job created twice for one circuit (``duplicate_circuits`` in its stats).
The SDK forms import their SDK when called (the interop venv only).
"""

from __future__ import annotations

from typing import Any

from benchmarks._workload import theta

__all__ = ["qasm3", "qibo_circuit", "qiskit_circuit"]


def qasm3(index: int, count: int) -> str:
    """OpenQASM 3 source of circuit ``index`` (the angle written exactly, ``repr`` of the float)."""
    return (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
        f"rx({theta(index, count)!r}) q[0];\ncx q[0], q[1];\nc = measure q;\n"
    )


def qiskit_circuit(index: int, count: int) -> Any:
    """The same circuit as a Qiskit ``QuantumCircuit``."""
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(2, 2, name=f"peer-{index}")
    qc.rx(theta(index, count), 0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def qibo_circuit(index: int, count: int) -> Any:
    """The same circuit as a ``qibo.Circuit``."""
    from qibo import Circuit, gates

    c = Circuit(2)
    c.add(gates.RX(0, theta(index, count)))
    c.add(gates.CNOT(0, 1))
    c.add(gates.M(0, 1))
    return c
