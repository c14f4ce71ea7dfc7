"""Amazon Braket circuits in: :func:`from_braket` (``Circuit.from_braket``).

Conventions:

* **Qubits**: the qubits the circuit uses are renumbered densely in increasing order (a circuit
  on Braket qubits 0, 2 and 5 becomes qjobs qubits 0, 1 and 2), as Braket lays out its results.
* **Classical bits**: ``measure`` instructions write bits 0, 1, ... in the order they appear, as
  Braket orders ``measured_qubits``; without any, every qubit is measured into its own bit. A
  Braket counts key lists the measured qubits with the first one leftmost, so it is a qjobs
  counts key (bit 0 rightmost) reversed.
* **Gates** map directly: ``H I X Y Z S Si T Ti V Vi`` (``sx``/``sxdg``), ``Rx Ry Rz PhaseShift``
  (``p``) ``U`` (``u3``), ``CNot CY CZ CPhaseShift`` (``cp``) ``Swap XX YY ZZ`` (``rxx``/...)
  ``CCNot CSwap``, the IonQ natives ``GPi GPi2 MS`` (Braket's radians become IonQ's turns), and
  ``control=`` modifiers on ``X Y Z H Rx Ry Rz PhaseShift Swap``. ``GPhase`` without controls has
  no observable effect and is skipped. ``FreeParameter`` expressions become qjobs parameters.
* **Refused** with :class:`~qjobs.InputError` naming the instruction: result types (qjobs returns
  counts: use ``measure`` or nothing), noise, compiler directives (verbatim boxes), ``power=``
  modifiers, controls on ``|0>``, and gates without a direct mapping (Braket's OpenQASM export
  writes them with Braket gate names, which is no fallback qjobs can read).
"""

from __future__ import annotations

import math
from typing import Any, Final

from qjobs._core.errors import InputError
from qjobs.circuit._foreign import CONTROLLED, load
from qjobs.circuit._ir import Circuit, Instruction, Param
from qjobs.circuit._sympy import from_sympy

__all__ = ["from_braket"]

#: qjobs gate names by Braket gate class name.
_GATES: Final[dict[str, str]] = {
    "H": "h",
    "I": "id",
    "X": "x",
    "Y": "y",
    "Z": "z",
    "S": "s",
    "Si": "sdg",
    "T": "t",
    "Ti": "tdg",
    "V": "sx",
    "Vi": "sxdg",
    "Rx": "rx",
    "Ry": "ry",
    "Rz": "rz",
    "PhaseShift": "p",
    "U": "u3",
    "CNot": "cx",
    "CY": "cy",
    "CZ": "cz",
    "CPhaseShift": "cp",
    "Swap": "swap",
    "XX": "rxx",
    "YY": "ryy",
    "ZZ": "rzz",
    "CCNot": "ccx",
    "CSwap": "cswap",
    "GPi": "gpi",
    "GPi2": "gpi2",
    "MS": "ms",
}

#: Braket gates whose angles are radians where the qjobs gate takes turns.
_IN_TURNS: Final = frozenset({"GPi", "GPi2", "MS"})


def _param(value: Any, where: str) -> Param:
    """A Braket angle (number, ``FreeParameter`` or expression) as a qjobs parameter."""
    return from_sympy(getattr(value, "expression", value), where=where)


def _gate(instr: Any, qubits: tuple[int, ...], where: str, label: str) -> list[Instruction]:
    """The qjobs instruction of one Braket gate instruction."""
    op = instr.operator
    kind = type(op).__name__
    controls = tuple(qubits[: len(instr.control)])
    if kind == "GPhase" and not controls:
        return []
    name = _GATES.get(kind)
    if name is None:
        raise InputError(where, label, "gate has no direct mapping to qjobs")
    if instr.power != 1:
        raise InputError(where, label, "power modifiers are not supported")
    params = tuple(_param(a, where) for a in getattr(op, "parameters", ()))
    if kind in _IN_TURNS:
        if not all(isinstance(p, float) for p in params):
            raise InputError(where, label, "symbolic angles of IonQ native gates are unsupported")
        params = tuple(p / (2 * math.pi) for p in params if isinstance(p, float))
    if controls:
        if any(s != 1 for s in instr.control_state.as_tuple):
            raise InputError(where, label, "controls on |0> are not supported")
        controlled = CONTROLLED.get((name, len(controls)))
        if controlled is None:
            raise InputError(where, label, "this controlled gate has no direct mapping to qjobs")
        name = controlled
    return [Instruction(name, qubits, params)]


def from_braket(circuit: Any, *, name: str | None = None) -> Circuit:
    """Convert a ``braket.circuits.Circuit`` to a :class:`Circuit`.

    See the module docstring for the qubit and classical-bit order and what is refused.
    """
    braket = load("braket.circuits")
    measure = load("braket.circuits.measure")

    if not isinstance(circuit, braket.Circuit):
        raise InputError("circuit", circuit, "is not a braket.circuits.Circuit")
    if circuit.result_types:
        raise InputError(
            "result_types",
            str(circuit.result_types[0]),
            "result types are not supported: qjobs returns counts (use measure, or nothing)",
        )
    index = {q: i for i, q in enumerate(sorted(int(q) for q in circuit.qubits))}
    instructions: list[Instruction] = []
    num_clbits = 0
    for pos, instr in enumerate(circuit.instructions):
        where, label = f"instructions[{pos}]", str(instr.operator.name)
        qubits = tuple(index[int(q)] for q in (*instr.control, *instr.target))
        if isinstance(instr.operator, measure.Measure):
            for q in qubits:
                instructions.append(Instruction("measure", (q,), (), (num_clbits,)))
                num_clbits += 1
        elif isinstance(instr.operator, braket.Gate):
            instructions.extend(_gate(instr, qubits, where, label))
        else:
            kind = type(instr.operator).__name__
            raise InputError(where, label, f"{kind} instructions are not supported")
    return Circuit(len(index), num_clbits, tuple(instructions), name=name)
