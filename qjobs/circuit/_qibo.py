"""Qibo circuits in: :func:`from_qibo` (``Circuit.from_qibo``).

Conventions:

* **Qubits** keep qibo's numbers (``circuit.nqubits`` qubits).
* **Classical bits**: each ``gates.M`` gets consecutive bits, in the order the measurements were
  added, a measurement's bits in the order of its qubits; its ``register_name`` (qibo names
  unnamed ones ``register0``, ...) is kept as a classical register. qibo's frequency keys list the
  measured qubits in that same order with the first one leftmost, so a qibo key is a qjobs counts
  key reversed (qjobs keys have bit 0 rightmost).
* **Gates** map directly: ``H X Y Z S SDG T TDG SX SXDG I``, ``RX RY RZ U1`` (``p``) ``U2 U3``,
  ``CNOT CY CZ CRX CRY CRZ CU1`` (``cp``) ``SWAP RXX RYY RZZ TOFFOLI``, and the IonQ natives
  ``GPI GPI2 MS`` (qibo's radians become IonQ's turns); ``controlled_by`` forms qibo itself
  turns into these (``X(0).controlled_by(1, 2)`` is ``TOFFOLI``) too. There is no OpenQASM
  fallback: qibo 0.3's ``to_qasm()`` writes the other gates with names outside ``qelib1.inc``
  or refuses them.
* **Refused** with :class:`~qjobs.InputError` naming the gate: noise channels, other gates with
  added controls (``controlled_by``), measurements that collapse mid-circuit, measure in a basis
  other than Z or carry bit-flip errors, and gates without a direct mapping.
"""

from __future__ import annotations

import math
from typing import Any, Final

from qjobs._core.errors import InputError
from qjobs.circuit._foreign import load
from qjobs.circuit._ir import Circuit, Instruction, Param, Register
from qjobs.circuit._sympy import from_sympy

__all__ = ["from_qibo"]

#: qjobs gate names by qibo gate class name.
_GATES: Final[dict[str, str]] = {
    "H": "h",
    "X": "x",
    "Y": "y",
    "Z": "z",
    "S": "s",
    "SDG": "sdg",
    "T": "t",
    "TDG": "tdg",
    "SX": "sx",
    "SXDG": "sxdg",
    "RX": "rx",
    "RY": "ry",
    "RZ": "rz",
    "U1": "p",
    "U2": "u2",
    "U3": "u3",
    "CNOT": "cx",
    "CY": "cy",
    "CZ": "cz",
    "CRX": "crx",
    "CRY": "cry",
    "CRZ": "crz",
    "CU1": "cp",
    "SWAP": "swap",
    "RXX": "rxx",
    "RYY": "ryy",
    "RZZ": "rzz",
    "TOFFOLI": "ccx",
    "GPI": "gpi",
    "GPI2": "gpi2",
    "MS": "ms",
}

#: qibo gates whose angles are radians where the qjobs gate takes turns.
_IN_TURNS: Final = frozenset({"GPI", "GPI2", "MS"})


def _measure(gate: Any, registers: dict[str, Register], where: str) -> list[Instruction]:
    """Measurement instructions for a ``gates.M``, allocating its register's bits."""
    label = f"M{tuple(gate.target_qubits)}"
    if gate.collapse:
        raise InputError(where, label, "collapsing (mid-circuit) measurements are not supported")
    if any(type(b).__name__ != "Z" for b in gate.basis):
        raise InputError(where, label, "measurements in a basis other than Z are not supported")
    flips = gate.bitflip_map
    if any(p for probabilities in flips for p in probabilities.values()):
        raise InputError(where, label, "measurements with bit-flip errors are not supported")
    name = str(gate.register_name)
    if name in registers:
        raise InputError(where, label, f"register {name!r} is measured twice")
    start = sum(r.size for r in registers.values())
    qubits = tuple(gate.target_qubits)
    registers[name] = Register(name, len(qubits), start)
    return [Instruction("measure", (q,), (), (start + i,)) for i, q in enumerate(qubits)]


def _params(gate: Any, kind: str, where: str) -> tuple[Param, ...]:
    """The gate's parameters as qjobs parameters (turns for the IonQ natives)."""
    params = tuple(from_sympy(p, where=where) for p in gate.parameters)
    if kind in _IN_TURNS:
        return tuple(p / (2 * math.pi) for p in params if isinstance(p, float))
    return params


def _convert(gate: Any, pos: int, registers: dict[str, Register]) -> list[Instruction]:
    """The qjobs instructions of one qibo gate."""
    gates = load("qibo.gates")

    kind = type(gate).__name__
    where, label = f"queue[{pos}]", f"{kind}{tuple(gate.qubits)}"
    if isinstance(gate, gates.M):
        return _measure(gate, registers, where)
    if isinstance(gate, gates.Channel):
        raise InputError(where, label, "noise channels are not supported")
    if gate.is_controlled_by:
        raise InputError(where, label, "gates with added controls are not supported")
    if kind == "I":
        return [Instruction("id", (q,)) for q in gate.qubits]
    name = _GATES.get(kind)
    if name is None:
        raise InputError(where, label, "gate has no direct mapping to qjobs")
    params = _params(gate, kind, where)
    if len(params) != len(gate.parameters):
        raise InputError(where, label, "symbolic angles of IonQ native gates are not supported")
    return [Instruction(name, tuple(gate.qubits), params)]


def from_qibo(circuit: Any, *, name: str | None = None) -> Circuit:
    """Convert a ``qibo.models.Circuit`` to a :class:`Circuit`.

    See the module docstring for the classical-bit order and what is refused.
    """
    qibo = load("qibo")

    if not isinstance(circuit, qibo.Circuit):
        raise InputError("circuit", circuit, "is not a qibo Circuit")
    registers: dict[str, Register] = {}
    instructions: list[Instruction] = []
    for pos, gate in enumerate(circuit.queue):
        instructions.extend(_convert(gate, pos, registers))
    num_clbits = sum(r.size for r in registers.values())
    return Circuit(
        circuit.nqubits, num_clbits, tuple(instructions), name=name, cregs=tuple(registers.values())
    )
