"""The circuit IR, its OpenQASM reader and writers, parameter expressions and binding."""

from qjobs._core.public import publish as _publish
from qjobs.circuit._binding import bind, bind_many
from qjobs.circuit._expr import Expr
from qjobs.circuit._ir import Circuit, Instruction, Register
from qjobs.circuit._qasm import parse_qasm
from qjobs.circuit._qasm_out import to_qasm2, to_qasm3

__all__ = [
    "Circuit",
    "Instruction",
    "Register",
    "Expr",
    "parse_qasm",
    "to_qasm2",
    "to_qasm3",
    "bind",
    "bind_many",
]

_publish(globals())
