"""Cirq circuits in: :func:`from_cirq` (``Circuit.from_cirq``).

Conventions:

* **Qubits** are numbered in cirq's sort order of ``circuit.all_qubits()``: ``LineQubit(x)`` by
  ``x``, ``GridQubit(r, c)`` by row then column, ``NamedQubit`` by name. A circuit on
  ``LineQubit(0..n-1)`` keeps its numbers.
* **Classical bits**: each measurement key gets consecutive bits, keys in the order they are
  first measured (moment by moment), a key's bits in the order of its ``cirq.measure`` qubits;
  each key is kept as a classical register of that name. So ``cirq.measure(a, b, key="m")``
  writes ``m[0]`` (qubit ``a``) to bit 0, which is the rightmost character of a qjobs counts key.
* **Gates** map directly where a qjobs gate equals them up to global phase (exactly, under a
  control): Pauli, ``H``, ``S``/``T`` and inverses, ``X**0.5`` (``sx``), power and rotation gates
  (``rx``/``ry``/``rz``/``p``, ``rxx``/``ryy``/``rzz`` for ``XX``/``YY``/``ZZ`` powers, so the
  ``MSGate`` too), ``CNOT``, ``CZ`` powers (``cp``), ``SWAP``, ``CCX``, ``CSWAP``, identities and
  controlled versions of ``X Y Z H rx ry rz p SWAP``. ``cirq.GlobalPhaseGate`` has no observable
  effect and is skipped. Other unitary gates go through ``circuit.to_qasm()``; sympy symbols in
  exponents become qjobs parameters (``cirq.rx(sympy.Symbol("t"))`` is ``rx(t)``).
* **Refused** with :class:`~qjobs.InputError` naming the operation: noise channels and other
  non-unitary operations, classically controlled operations, measurements with an invert mask
  or confusion map, a key measured twice, and symbolic gates without a direct mapping.
  ``cirq.ResetChannel`` becomes ``reset``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from qjobs._core.errors import InputError
from qjobs.circuit._foreign import CONTROLLED, load, via_qasm
from qjobs.circuit._ir import Circuit, Instruction, Param, Register
from qjobs.circuit._sympy import from_sympy

__all__ = ["from_cirq"]

#: Fixed powers of single-qubit Pauli gates with a named qjobs gate, by (gate class, exponent).
_NAMED_POWERS = {
    ("XPowGate", 1.0): "x",
    ("XPowGate", 0.5): "sx",
    ("XPowGate", -0.5): "sxdg",
    ("YPowGate", 1.0): "y",
    ("ZPowGate", 1.0): "z",
    ("ZPowGate", 0.5): "s",
    ("ZPowGate", -0.5): "sdg",
    ("ZPowGate", 0.25): "t",
    ("ZPowGate", -0.25): "tdg",
    ("HPowGate", 1.0): "h",
    ("CXPowGate", 1.0): "cx",
    ("CZPowGate", 1.0): "cz",
    ("SwapPowGate", 1.0): "swap",
    ("CCXPowGate", 1.0): "ccx",
}

#: Power gates with a rotation equal to them up to global phase: ``G**t`` is ``name(pi*t)``.
_ROTATIONS = {
    "XPowGate": "rx",
    "YPowGate": "ry",
    "ZPowGate": "rz",
    "CZPowGate": "cp",
    "XXPowGate": "rxx",
    "YYPowGate": "ryy",
    "ZZPowGate": "rzz",
}


#: The cirq power-gate class name of each gate type met so far (None: not a power gate).
_POWER_CLASS: dict[type, str | None] = {}


def _power_class(gate: Any) -> str | None:
    """The name of the cirq power-gate class ``gate`` is an instance of (subclasses included)."""
    kind = type(gate)
    if kind not in _POWER_CLASS:
        cirq = load("cirq")
        bases = (
            cirq.XPowGate,
            cirq.YPowGate,
            cirq.ZPowGate,
            cirq.HPowGate,
            cirq.CXPowGate,
            cirq.CZPowGate,
            cirq.SwapPowGate,
            cirq.CCXPowGate,
            cirq.XXPowGate,
            cirq.YYPowGate,
            cirq.ZZPowGate,
        )
        found = [str(base.__name__) for base in bases if issubclass(kind, base)]
        _POWER_CLASS[kind] = found[0] if found else None
    return _POWER_CLASS[kind]


def _angle(gate: Any, where: str) -> Param:
    """``pi * gate.exponent`` as a float or a parameter expression."""
    sympy = load("sympy")

    exponent = gate.exponent
    if isinstance(exponent, sympy.Basic):
        return from_sympy(exponent * sympy.pi, where=where)
    return math.pi * float(exponent)


def _direct(gate: Any, where: str) -> tuple[str, tuple[Param, ...]] | None:
    """The qjobs gate equal to ``gate`` up to global phase, or None."""
    cirq = load("cirq")

    cls = _power_class(gate)
    if cls is None:
        if isinstance(gate, cirq.CSwapGate):
            return "cswap", ()
        return None
    exponent = gate.exponent
    if isinstance(exponent, numbers.Real):  # not a sympy expression
        name = _NAMED_POWERS.get((cls, float(exponent)))
        if name is not None:
            return name, ()
    rotation = _ROTATIONS.get(cls)
    if rotation is None:
        return None
    if rotation == "rz" and gate.global_shift == 0:
        rotation = "p"  # keeps the exact matrix diag(1, e^{i pi t}), which matters under control
    return rotation, (_angle(gate, where),)


def _exact(gate: Any, where: str) -> tuple[str, tuple[Param, ...]] | None:
    """The qjobs gate exactly equal to ``gate`` (global phase included), or None."""
    cls = _power_class(gate)
    shift = getattr(gate, "global_shift", 0)
    if shift == -0.5 and cls in ("XPowGate", "YPowGate", "ZPowGate"):  # cirq.rx/ry/rz
        return _ROTATIONS[cls], (_angle(gate, where),)
    mapped = _direct(gate, where)
    if mapped is None or shift != 0 or mapped[0] in ("rx", "ry", "rz", "rxx", "ryy", "rzz"):
        return None
    return mapped


def _controlled(gate: Any, where: str) -> tuple[str, tuple[Param, ...]] | None:
    """The qjobs gate for a ``cirq.ControlledGate`` with plain controls, or None."""
    n = gate.num_controls()
    if gate != gate.sub_gate.controlled(n):  # controls on |0> or qudits
        return None
    inner = _exact(gate.sub_gate, where)
    if inner is None:
        return None
    name = CONTROLLED.get((inner[0], n))
    return (name, inner[1]) if name is not None else None


def _measure(
    gate: Any, qubits: tuple[int, ...], keys: dict[str, Register], where: str, label: Any
) -> list[Instruction]:
    """Measurement instructions for a ``cirq.MeasurementGate``, allocating its key's bits."""
    if any(gate.full_invert_mask()) or gate.confusion_map:
        raise InputError(where, label, "measurement with an invert mask or confusion map")
    key = str(gate.key)
    if key in keys:
        raise InputError(where, label, f"measurement key {key!r} is measured twice")
    start = sum(r.size for r in keys.values())
    keys[key] = Register(key, len(qubits), start)
    return [Instruction("measure", (q,), (), (start + i,)) for i, q in enumerate(qubits)]


def _operations(circuit: Any) -> list[Any]:
    """The circuit's operations in moment order, sub-circuits (``CircuitOperation``) flattened."""
    cirq = load("cirq")

    out: list[Any] = []
    for op in circuit.all_operations():
        op = op.untagged
        if isinstance(op, cirq.CircuitOperation):
            out.extend(_operations(op.mapped_circuit(deep=True)))
        else:
            out.append(op)
    return out


def _convert(
    op: Any, pos: int, index: dict[Any, int], keys: dict[str, Register]
) -> list[Instruction]:
    """The qjobs instructions of one cirq operation."""
    cirq = load("cirq")

    where, label = f"operations[{pos}]", op  # the error shows repr(op)
    qubits = tuple(index[q] for q in op.qubits)
    gate = op.gate
    mapped = _direct(gate, where) if gate is not None else None
    if mapped is not None:  # the common case first
        return [Instruction(mapped[0], qubits, mapped[1])]
    if isinstance(op, cirq.ClassicallyControlledOperation):
        raise InputError(where, label, "classically controlled operations are not supported")
    if isinstance(gate, cirq.MeasurementGate):
        return _measure(gate, qubits, keys, where, label)
    if isinstance(gate, cirq.ResetChannel):
        return [Instruction("reset", qubits)]
    if isinstance(gate, cirq.IdentityGate):
        return [Instruction("id", (q,)) for q in qubits]
    if isinstance(gate, cirq.GlobalPhaseGate):
        return []
    if isinstance(gate, cirq.ControlledGate):
        mapped = _controlled(gate, where)
    if mapped is not None:
        return [Instruction(mapped[0], qubits, mapped[1])]
    if not cirq.has_unitary(op) or cirq.is_parameterized(op):
        reason = "is not unitary" if not cirq.is_parameterized(op) else "has symbolic parameters"
        raise InputError(where, label, f"{reason} and has no direct mapping")
    return via_qasm(
        lambda: cirq.Circuit(op).to_qasm(qubit_order=op.qubits), qubits, where=where, label=label
    )


def from_cirq(circuit: Any, *, name: str | None = None) -> Circuit:
    """Convert a ``cirq.Circuit`` (or ``FrozenCircuit``) to a :class:`Circuit`.

    See the module docstring for the qubit and classical-bit order and what is refused.
    """
    cirq = load("cirq")

    if not isinstance(circuit, cirq.AbstractCircuit):
        raise InputError("circuit", circuit, "is not a cirq.Circuit")
    operations = _operations(circuit)
    qubits = {q for op in operations for q in op.qubits}
    index = {q: i for i, q in enumerate(sorted(qubits))}
    keys: dict[str, Register] = {}
    instructions: list[Instruction] = []
    for pos, op in enumerate(operations):
        instructions.extend(_convert(op, pos, index, keys))
    num_clbits = sum(r.size for r in keys.values())
    return Circuit(
        len(index),
        num_clbits,
        tuple(instructions),
        name=name,
        cregs=tuple(keys.values()),
    )
