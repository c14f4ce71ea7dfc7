"""The circuit IR, its OpenQASM reader and writers, parameter expressions, binding, and the
coercion of foreign circuits (Qiskit, Cirq, Qibo, Braket) and OpenQASM text into it.

The reader, the writers and binding load on first use (``import qjobs`` stays light).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from qjobs._core.public import publish as _publish
from qjobs.circuit._adapt import CircuitLike, ForeignCircuit, as_circuit, as_circuits
from qjobs.circuit._expr import Expr
from qjobs.circuit._ir import Circuit, Instruction, Register

if TYPE_CHECKING:
    from qjobs.circuit._binding import bind, bind_many
    from qjobs.circuit._qasm import parse_qasm
    from qjobs.circuit._qasm_out import to_qasm2, to_qasm3

__all__ = [
    "Circuit",
    "CircuitLike",
    "ForeignCircuit",
    "as_circuit",
    "as_circuits",
    "Instruction",
    "Register",
    "Expr",
    "parse_qasm",
    "to_qasm2",
    "to_qasm3",
    "bind",
    "bind_many",
]

#: Names loaded on first use, and the module that defines each.
_LAZY = {
    "parse_qasm": "_qasm",
    "to_qasm2": "_qasm_out",
    "to_qasm3": "_qasm_out",
    "bind": "_binding",
    "bind_many": "_binding",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    _publish(globals())
    return value


_publish(globals())
