"""The circuits every contestant runs: the same work in qjobs form and in IonQ's wire form.

Circuit ``i`` of a run is ``rx(theta_i) q0; cx q0,q1; measure q -> c`` with ``theta_i`` spread
over ``[0, pi]`` — two qubits, distinct per index, cheap for the emulator to simulate. The memory
scenario, against the fake provider (which simulates classical gates only), uses classical
circuits: ``x`` on the qubits given by the index's low four bits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qjobs import Circuit

# qjobs is imported inside the functions that build circuits, so that a baseline's process
# (which only needs the wire form) never loads it and its peak RSS is its own.

__all__ = ["classical_circuits", "ionq_body", "qjobs_circuits", "theta"]


def theta(index: int, count: int) -> float:
    """The rotation angle of circuit ``index`` of ``count``."""
    return math.pi * index / max(count - 1, 1)


def _circuit(angle: float) -> Circuit:
    from qjobs import Circuit, Instruction

    return Circuit(
        2,
        2,
        (
            Instruction("rx", (0,), (angle,)),
            Instruction("cx", (0, 1)),
            Instruction("measure", (0,), (), (0,)),
            Instruction("measure", (1,), (), (1,)),
        ),
    )


def qjobs_circuits(count: int) -> list[Circuit]:
    """``count`` distinct circuits for qjobs."""
    return [_circuit(theta(i, count)) for i in range(count)]


def ionq_body(index: int, count: int, shots: int) -> dict[str, Any]:
    """The ``POST /jobs`` body a vendor-SDK user sends for circuit ``index`` (ionq.circuit.v1)."""
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": shots,
        "name": f"bench-{index}",
        "input": {
            "gateset": "qis",
            "qubits": 2,
            "circuit": [
                {"gate": "rx", "targets": [0], "rotation": theta(index, count)},
                {"gate": "x", "targets": [1], "controls": [0]},
            ],
        },
    }


def classical_circuits(count: int) -> list[Circuit]:
    """``count`` circuits for the fake provider: 16 distinct shapes, one object per job."""
    from qjobs import Circuit, Instruction

    shapes: list[tuple[Instruction, ...]] = []
    for k in range(16):
        ins = [Instruction("x", (q,)) for q in range(4) if k >> q & 1]
        ins += [Instruction("measure", (q,), (), (q,)) for q in range(4)]
        shapes.append(tuple(ins))
    return [Circuit(4, 4, shapes[i % 16]) for i in range(count)]
