"""Qiskit circuits in and out: :func:`from_qiskit` and :func:`to_qiskit` (the ``qiskit`` extra).

Imported only when :meth:`Circuit.from_qiskit` or :meth:`Circuit.to_qiskit` is called, so
``import qjobs`` never imports Qiskit.

Gates with a qjobs equivalent (:data:`QISKIT_TO_QJOBS`, plus qiskit-ionq's native ``gpi``,
``gpi2``, ``ms`` and ``zz``) map one to one; ``measure`` (qubit to clbit), ``barrier`` and
``reset`` are kept. A unitary gate without an equivalent (``ecr``, ``cu3``, ``iswap``, ...) is
exported alone with :func:`qiskit.qasm3.dumps` (or its definition, one level down, when
qjobs's reader lacks the gate), read back with :meth:`Circuit.from_qasm` and kept
only if the result has the same operator (up to global phase, checked at sample parameter
values); otherwise, and for anything else (control flow, ``c_if``, ``delay``, ``initialize``...)
:class:`~qjobs.InputError` names the instruction. Nothing is dropped but the global phase
(``global_phase`` and ``qc.global_phase``), which changes no measurement.

Qiskit ``Parameter``s become free names (:meth:`Expr.sym` of the parameter's name; a
``ParameterVector`` element keeps its name, e.g. ``"v[0]"``) and ``ParameterExpression``s become
:class:`~qjobs.Expr` trees. Registers whose bits are consecutive are kept as
:class:`~qjobs.circuit._ir.Register` records; bit indices are those of ``qc.qubits``/``qc.clbits``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from qjobs._core.errors import InputError
from qjobs.circuit._expr import Expr
from qjobs.circuit._gates import DIRECTIVES, GATES, NATIVE_GATES
from qjobs.circuit._ir import Circuit, Instruction, Param, Register

__all__ = ["QISKIT_TO_QJOBS", "from_qiskit", "to_qiskit"]

#: Qiskit standard gate names with a qjobs equivalent, and that equivalent's name.
QISKIT_TO_QJOBS: Final[dict[str, str]] = {
    **{name: name for name in GATES if name not in NATIVE_GATES},
    "u": "u3",
    "u1": "p",
    "cu1": "cp",
    "measure": "measure",
    "barrier": "barrier",
    "reset": "reset",
}

# Placeholder parameter names for exporting one gate alone (the OpenQASM fallback).
_PLACEHOLDER: Final = "_qjobs_p{}"
# Values the fallback binds its placeholders to when checking the operator.
_PROBES: Final = (0.7316, -1.2345, 2.0517, 0.3921, -2.6183)


def from_qiskit(qc: Any, *, name: str | None = None) -> Circuit:
    """Convert a Qiskit ``QuantumCircuit`` to a :class:`Circuit` (see the module docstring).

    ``name`` defaults to ``qc.name``. Raises :class:`~qjobs.InputError` naming the first
    instruction that has no qjobs form.
    """
    from qiskit.circuit import QuantumCircuit

    if not isinstance(qc, QuantumCircuit):
        raise InputError("circuit", qc, "expected a qiskit QuantumCircuit")
    qmap = {bit: i for i, bit in enumerate(qc.qubits)}
    cmap = {bit: i for i, bit in enumerate(qc.clbits)}
    exprs: dict[Any, Param] = {}
    out: list[Instruction] = []
    append = out.append
    for pos, ci in enumerate(qc.data):
        qname = ci.name
        qubits = tuple([qmap[b] for b in ci.qubits])
        if getattr(ci, "condition", None) is not None:  # c_if, Qiskit 1.x only
            raise _refuse(pos, qname, "a classically conditioned (c_if) instruction")
        if qname == "global_phase":  # changes no measurement, as the QASM reader's gphase
            continue
        target = QISKIT_TO_QJOBS.get(qname)
        if target is not None and target not in DIRECTIVES and not ci.is_standard_gate():
            target = None  # a user gate reusing a standard name ("h") keeps its own definition
        if target is None and qname in NATIVE_GATES and _is_ionq_native(ci.operation):
            target = qname
        if target is None:
            out.extend(_fallback(pos, ci, qubits, exprs))
            continue
        if qname == "measure":
            append(Instruction("measure", qubits, (), (cmap[ci.clbits[0]],)))
        elif ci.params:
            append(Instruction(target, qubits, tuple([_param(p, exprs, pos) for p in ci.params])))
        else:
            append(Instruction(target, qubits))
    num_qubits = len(qmap)
    if num_qubits == 0:
        raise InputError("circuit", qc, "has no qubits")
    return Circuit(
        num_qubits,
        len(cmap),
        tuple(out),
        name=qc.name if name is None else name,
        qregs=_registers(qc.qregs, qmap),
        cregs=_registers(qc.cregs, cmap),
    )


def _refuse(pos: int, name: str, what: str) -> InputError:
    """The error for instruction ``pos`` named ``name``: ``what`` it is has no qjobs form."""
    return InputError(f"qc.data[{pos}]", name, f"{what}: no qjobs form")


def _is_ionq_native(operation: Any) -> bool:
    return type(operation).__module__.startswith("qiskit_ionq")


def _registers(regs: Any, index: dict[Any, int]) -> tuple[Register, ...]:
    """The registers whose bits are consecutive indices, by start."""
    kept: list[Register] = []
    for reg in regs:
        if not len(reg):
            continue
        first = index[reg[0]]
        if all(index[bit] == first + k for k, bit in enumerate(reg)):
            kept.append(Register(reg.name, len(reg), first))
    return tuple(sorted(kept, key=lambda r: r.start))


def _param(value: Any, exprs: dict[Any, Param], pos: int) -> Param:
    """A Qiskit gate parameter as a float or an :class:`Expr` (expressions cached per circuit)."""
    if isinstance(value, float | int):
        return float(value)
    from qiskit.circuit import Parameter, ParameterExpression

    if not isinstance(value, ParameterExpression):
        try:
            return _real(complex(value), pos)
        except (TypeError, ValueError):
            raise InputError(f"qc.data[{pos}].params", value, "not a number") from None
    result = exprs.get(value)
    if result is None:
        if isinstance(value, Parameter):
            result = Expr.sym(value.name)
        elif value.parameters:
            result = _from_sympy(value.sympify(), pos)
        else:
            result = _real(complex(value), pos)
        exprs[value] = result
    return result


def _real(value: complex, pos: int) -> float:
    if value.imag != 0.0:
        raise InputError(f"qc.data[{pos}].params", value, "complex parameters have no qjobs form")
    return float(value.real)


_SYMPY_FUNCTIONS: Final = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "exp": "exp",
    "log": "ln",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
}


def _from_sympy(node: Any, pos: int) -> Param:
    """A sympy expression (from ``ParameterExpression.sympify``) as an :class:`Expr` or float."""
    import sympy

    if node.is_Symbol:
        return Expr.sym(node.name)
    if node.is_number:
        return _real(complex(node), pos)
    args = [_as_expr(_from_sympy(a, pos)) for a in node.args]
    if node.is_Add or node.is_Mul:
        op = "+" if node.is_Add else "*"
        return functools.reduce(lambda a, b: Expr(op, (a, b)), args)
    if node.is_Pow:
        return Expr("**", (args[0], args[1]))
    func = _SYMPY_FUNCTIONS.get(type(node).__name__)
    if func is not None and len(args) == 1 and isinstance(node, sympy.Function):
        return Expr(func, (args[0],))
    raise InputError(f"qc.data[{pos}].params", str(node), "expression has no qjobs form")


def _as_expr(value: Param) -> Expr:
    return value if isinstance(value, Expr) else Expr.num(value)


def _fallback(
    pos: int, ci: Any, qubits: tuple[int, ...], exprs: dict[Any, Param]
) -> list[Instruction]:
    """An instruction without a direct mapping, through OpenQASM 3 if that round-trips."""
    from qiskit.circuit import ControlFlowOp, Gate

    op = ci.operation
    if isinstance(op, ControlFlowOp):
        raise _refuse(pos, ci.name, "a control-flow instruction")
    if not isinstance(op, Gate) or ci.clbits:
        raise _refuse(
            pos, ci.name, "a non-unitary instruction other than measure, barrier and reset"
        )
    params = [_param(p, exprs, pos) for p in op.params]
    if ci.is_standard_gate():  # its parameters define it: one template per gate name
        template = _standard_template(ci.name)
    elif any(isinstance(p, Expr) for p in params):
        raise _refuse(pos, ci.name, "a non-standard gate with free parameters (bind them first)")
    else:
        template = _export_gate(op, placeholders=False)
    if template is None:
        raise _refuse(
            pos, ci.name, "a gate without a qjobs equivalent nor an OpenQASM 3 round trip"
        )
    values: dict[str, float | Expr] = {_PLACEHOLDER.format(k): p for k, p in enumerate(params)}
    out: list[Instruction] = []
    for ins in template:
        mapped = tuple([qubits[q] for q in ins.qubits])
        new_params = tuple([p.substitute(values) if isinstance(p, Expr) else p for p in ins.params])
        out.append(Instruction(ins.name, mapped, new_params))
    return out


@functools.cache
def _standard_template(name: str) -> tuple[Instruction, ...] | None:
    """The fallback instructions of a Qiskit standard gate, with placeholder parameters."""
    from qiskit.circuit.library import get_standard_gate_name_mapping

    return _export_gate(get_standard_gate_name_mapping()[name], placeholders=True)


def _export_gate(op: Any, *, placeholders: bool) -> tuple[Instruction, ...] | None:
    """``op`` on qubits 0..n-1 (its parameters replaced by placeholders if asked), read back
    from OpenQASM 3.

    None unless the qjobs circuit has the operator of ``op`` (at several parameter values).
    """
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import Operator

    gate = op.to_mutable()
    symbols = []
    if placeholders:
        symbols = [Parameter(_PLACEHOLDER.format(k)) for k in range(len(gate.params))]
        gate.params = list(symbols)
    alone = QuantumCircuit(gate.num_qubits)
    alone.append(gate, range(gate.num_qubits))
    circuit = _read_back(alone)
    if circuit is None:  # e.g. stdgates' ``cu``, which qjobs's reader lacks: one level down
        circuit = _read_back(alone.decompose())
    if circuit is None:
        return None
    if circuit.num_qubits != gate.num_qubits or circuit.num_clbits != 0:
        return None
    if any(not ins.is_gate for ins in circuit.instructions):
        return None
    for shift in range(2 if symbols else 1):
        probe = {p.name: _PROBES[(k + shift) % len(_PROBES)] for k, p in enumerate(symbols)}
        try:
            expected = Operator(alone.assign_parameters({p: probe[p.name] for p in symbols}))
            got = Operator(to_qiskit(circuit.bind(probe)))
        except Exception:  # a gate that cannot be evaluated does not round-trip
            return None
        if not expected.equiv(got):
            return None
    return circuit.instructions


def _read_back(qc: Any) -> Circuit | None:
    """``qc`` through ``qiskit.qasm3.dumps`` and :meth:`Circuit.from_qasm`, or None."""
    from qiskit import qasm3

    try:
        return Circuit.from_qasm(qasm3.dumps(qc))
    except Exception:  # any failure to export or read: no round trip
        return None


def to_qiskit(circuit: Circuit) -> Any:
    """Convert ``circuit`` to a Qiskit ``QuantumCircuit``.

    Registers are the circuit's own when they tile its bits in order (else ``q`` and ``c``);
    free parameters become Qiskit ``Parameter``s of the same names. IonQ native gates need
    qiskit-ionq installed.
    """
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit import Barrier, CircuitInstruction, Measure, Reset

    qregs = [QuantumRegister(r.size, r.name) for r in _tiling(circuit.qregs, circuit.num_qubits)]
    if not qregs:
        qregs = [QuantumRegister(circuit.num_qubits, "q")]
    cregs = [ClassicalRegister(r.size, r.name) for r in _tiling(circuit.cregs, circuit.num_clbits)]
    if not cregs and circuit.num_clbits:
        cregs = [ClassicalRegister(circuit.num_clbits, "c")]
    qc = QuantumCircuit(*qregs, *cregs, name=circuit.name)
    qbits, cbits = qc.qubits, qc.clbits
    classes = _gate_classes()
    symbols: dict[str, Any] = {}
    measure, reset = Measure(), Reset()
    for ins in circuit.instructions:
        qargs = tuple([qbits[q] for q in ins.qubits])
        name = ins.name
        if name == "measure":
            qc._append(CircuitInstruction(measure, qargs, (cbits[ins.clbits[0]],)))
        elif name == "reset":
            qc._append(CircuitInstruction(reset, qargs))
        elif name == "barrier":
            if qargs:
                qc._append(CircuitInstruction(Barrier(len(qargs)), qargs))
        else:
            gate_cls = classes[name] if name not in NATIVE_GATES else _ionq_class(name)
            params = [_to_qiskit_param(p, symbols) for p in ins.params]
            qc._append(CircuitInstruction(gate_cls(*params), qargs))
    return qc


def _tiling(regs: tuple[Register, ...], total: int) -> list[Register]:
    """``regs`` if they cover bits 0..total-1 in order with distinct names, else []."""
    start = 0
    names = set()
    for reg in regs:
        if reg.start != start or reg.size <= 0 or reg.name in names:
            return []
        names.add(reg.name)
        start += reg.size
    return list(regs) if start == total else []


@functools.cache
def _gate_classes() -> dict[str, Callable[..., Any]]:
    """qjobs gate name -> Qiskit gate class."""
    from qiskit.circuit.library import get_standard_gate_name_mapping

    mapping = get_standard_gate_name_mapping()
    return {name: type(mapping[name]) for name in GATES if name not in NATIVE_GATES}


def _ionq_class(name: str) -> Callable[..., Any]:
    try:
        from qiskit_ionq import GPI2Gate, GPIGate, MSGate, ZZGate
    except ImportError:
        raise InputError(
            "circuit", name, "IonQ native gates need qiskit-ionq to become Qiskit gates"
        ) from None
    classes: dict[str, Callable[..., Any]] = {
        "gpi": GPIGate,
        "gpi2": GPI2Gate,
        "ms": MSGate,
        "zz": ZZGate,
    }
    return classes[name]


_QISKIT_FUNCTIONS: Final[dict[str, Callable[[Any], Any]]] = {
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "tan": lambda x: x.tan(),
    "exp": lambda x: x.exp(),
    "ln": lambda x: x.log(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x**0.5,
    "arcsin": lambda x: x.arcsin(),
    "arccos": lambda x: x.arccos(),
    "arctan": lambda x: x.arctan(),
    "asin": lambda x: x.arcsin(),
    "acos": lambda x: x.arccos(),
    "atan": lambda x: x.arctan(),
}


def _to_qiskit_param(value: Param, symbols: dict[str, Any]) -> Any:
    """A qjobs parameter as a float or a Qiskit ``ParameterExpression``."""
    if not isinstance(value, Expr):
        return value
    op = value.op
    if op == "num":
        return float(value.args[0])
    if op == "sym":
        name = value.args[0]
        if name not in symbols:
            from qiskit.circuit import Parameter

            symbols[name] = Parameter(name)
        return symbols[name]
    args = [_to_qiskit_param(a, symbols) for a in value.args]
    if op == "neg":
        return -args[0]
    if op == "+":
        return args[0] + args[1]
    if op == "-":
        return args[0] - args[1]
    if op == "*":
        return args[0] * args[1]
    if op == "/":
        return args[0] / args[1]
    if op == "**":
        return args[0] ** args[1]
    if not hasattr(args[0], "sin"):  # a constant operand: fold with Python's math
        return float(value.evaluate({}))
    return _QISKIT_FUNCTIONS[op](args[0])
