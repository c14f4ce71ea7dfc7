"""OpenQASM writers: :func:`to_qasm2` (``qelib1.inc``) and :func:`to_qasm3` (``stdgates.inc``).

Both write every float with ``repr`` so :func:`qjobs.circuit._qasm.parse_qasm` reads the same
circuit back, instruction by instruction. Register names are kept when the circuit's
``qregs``/``cregs`` tile its qubits and bits in order with usable names; otherwise the registers are
``q`` and ``c``.

Gates that the standard include lacks are written with ``gate`` definitions in standard gates
(``ryy`` for OpenQASM 2; ``sxdg``, ``rxx``, ``ryy``, ``rzz`` and the IonQ native gates ``gpi``,
``gpi2``, ``ms``, ``zz`` for OpenQASM 3), exact up to global phase, so other readers (Qiskit's
importers) understand the program while qjobs reads each back as the single gate it names.
OpenQASM 2 cannot express free parameters or the IonQ native gates: those raise
:class:`~qjobs.InputError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Final

from qjobs._core.errors import InputError
from qjobs.circuit._expr import _BINARY, FUNCTIONS, Expr
from qjobs.circuit._gates import GATES, NATIVE_GATES
from qjobs.circuit._ir import Circuit, Register

__all__ = ["to_qasm2", "to_qasm3"]

_QASM2_RENAME: Final[dict[str, str]] = {"p": "u1", "cp": "cu1"}

_QASM2_DEFS: Final[dict[str, str]] = {
    "ryy": (
        "gate ryy(theta) a,b { rx(pi/2) a; rx(pi/2) b; cx a,b; rz(theta) b; cx a,b; "
        "rx(-pi/2) a; rx(-pi/2) b; }"
    ),
}

_QASM3_DEFS: Final[dict[str, str]] = {
    "sxdg": "gate sxdg _q0 { h _q0; sdg _q0; h _q0; }",
    "rxx": (
        "gate rxx(_t) _q0, _q1 { h _q0; h _q1; cx _q0, _q1; rz(_t) _q1; cx _q0, _q1; "
        "h _q0; h _q1; }"
    ),
    "ryy": (
        "gate ryy(_t) _q0, _q1 { rx(pi/2) _q0; rx(pi/2) _q1; cx _q0, _q1; rz(_t) _q1; "
        "cx _q0, _q1; rx(-pi/2) _q0; rx(-pi/2) _q1; }"
    ),
    "rzz": "gate rzz(_t) _q0, _q1 { cx _q0, _q1; rz(_t) _q1; cx _q0, _q1; }",
    "gpi": "gate gpi(_f) _q0 { U(pi, 2*pi*_f, pi - 2*pi*_f) _q0; }",
    "gpi2": "gate gpi2(_f) _q0 { U(pi/2, 2*pi*_f - pi/2, pi/2 - 2*pi*_f) _q0; }",
    "ms": (
        "gate ms(_f0, _f1, _t) _q0, _q1 { rz(-2*pi*_f0) _q0; rz(-2*pi*_f1) _q1; h _q0; h _q1; "
        "cx _q0, _q1; rz(2*pi*_t) _q1; cx _q0, _q1; h _q0; h _q1; rz(2*pi*_f0) _q0; "
        "rz(2*pi*_f1) _q1; }"
    ),
    "zz": "gate zz(_t) _q0, _q1 { cx _q0, _q1; rz(2*pi*_t) _q1; cx _q0, _q1; }",
}

_IDENT2: Final = re.compile(r"[a-z][A-Za-z0-9_]*\Z")
_IDENT3: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Names a register or parameter must not take: they would read back as something else.
_RESERVED: Final[frozenset[str]] = frozenset(
    {
        "OPENQASM", "include", "qreg", "creg", "qubit", "bit", "input", "output", "gate",
        "opaque", "measure", "reset", "barrier", "if", "else", "for", "while", "in", "def",
        "return", "let", "const", "int", "uint", "float", "angle", "bool", "complex",
        "duration", "stretch", "array", "ctrl", "negctrl", "inv", "pow", "gphase", "U", "CX",
        "u", "u1", "cu1", "phase", "cphase", "cu", "cu3", "pi", "tau", "euler", "true",
        "false", "box", "delay", "defcal", "cal", "extern", "switch", "case", "default",
        "break", "continue", "end", "mod", "sin", "cos", "tan", "exp", "ln", "sqrt",
        "arcsin", "arccos", "arctan", "im", "dt", "ns", "us", "ms", "s",
    }
) | frozenset(GATES) | frozenset(FUNCTIONS)  # fmt: skip


def _number(value: float, where: str) -> str:
    """A float as OpenQASM text that reads back exactly (always with a decimal point)."""
    if not math.isfinite(value):
        raise InputError(where, value, "parameters must be finite to be written as OpenQASM")
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
    return text


def _check_expr(expr: Expr, where: str) -> None:
    if expr.op == "num":
        _number(expr.args[0], where)
    elif expr.op == "sym":
        name = expr.args[0]
        if not _IDENT3.match(name) or name in _RESERVED:
            raise InputError(
                where, name, "parameter name is not writable as an OpenQASM identifier"
            )
    else:
        for arg in expr.args:
            _check_expr(arg, where)


def _registers(
    regs: Sequence[Register], total: int, default: str, ident: re.Pattern[str], taken: set[str]
) -> list[tuple[str, int]]:
    """The (name, size) registers to declare: the circuit's own when they tile ``total``."""
    if total == 0:
        return []
    start = 0
    names: set[str] = set()
    for reg in regs:
        if (
            reg.start != start
            or reg.size <= 0
            or not ident.match(reg.name)
            or reg.name in _RESERVED
            or reg.name in names
            or reg.name in taken
        ):
            break
        names.add(reg.name)
        start += reg.size
    else:
        if start == total and regs:
            return [(r.name, r.size) for r in regs]
    return [(default, total)]


def _refs(layout: list[tuple[str, int]]) -> list[str]:
    return [f"{name}[{k}]" for name, size in layout for k in range(size)]


def _layout(
    circuit: Circuit, ident: re.Pattern[str], params: set[str]
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    qlayout = _registers(circuit.qregs, circuit.num_qubits, "q", ident, params)
    qnames = {name for name, _ in qlayout}
    clayout = _registers(circuit.cregs, circuit.num_clbits, "c", ident, params | qnames)
    if any(name in qnames for name, _ in clayout):
        qlayout = [("q", circuit.num_qubits)] if circuit.num_qubits else []
        clayout = [("c", circuit.num_clbits)] if circuit.num_clbits else []
    return qlayout, clayout


def _body(
    circuit: Circuit,
    qrefs: list[str],
    crefs: list[str],
    param_text: dict[int, str],
    rename: dict[str, str],
    measure_fmt: str,
    sep: str,
) -> list[str]:
    out: list[str] = []
    append = out.append
    for pos, ins in enumerate(circuit.instructions):
        name = ins.name
        if name == "measure":
            append(measure_fmt.format(q=qrefs[ins.qubits[0]], c=crefs[ins.clbits[0]]))
            continue
        if name == "barrier" and not ins.qubits:
            continue
        args = sep.join([qrefs[q] for q in ins.qubits])
        if ins.params:
            texts = []
            for k, p in enumerate(ins.params):
                if isinstance(p, Expr):
                    texts.append(param_text[id(p)])
                else:
                    texts.append(_number(p, f"instructions[{pos}].params[{k}]"))
            append(f"{rename.get(name, name)}({', '.join(texts)}) {args};")
        else:
            append(f"{rename.get(name, name)} {args};")
    return out


def _declarations(layout: list[tuple[str, int]], keyword: str, qasm3: bool) -> list[str]:
    if qasm3:
        return [f"{keyword}[{size}] {name};" for name, size in layout]
    return [f"{keyword} {name}[{size}];" for name, size in layout]


def to_qasm2(circuit: Circuit) -> str:
    """Serialise ``circuit`` as OpenQASM 2.0 with ``include "qelib1.inc";``.

    Raises :class:`~qjobs.InputError` for free parameters (bind them first) and for the IonQ
    native gates, which OpenQASM 2 cannot express.
    """
    param_text: dict[int, str] = {}
    used: set[str] = set()
    for pos, ins in enumerate(circuit.instructions):
        if ins.name in NATIVE_GATES:
            raise InputError(
                f"instructions[{pos}].name",
                ins.name,
                "IonQ native gates cannot be written as OpenQASM 2; use to_qasm3",
            )
        used.add(ins.name)
        for k, p in enumerate(ins.params):
            if isinstance(p, Expr):
                if p.free_symbols:
                    raise InputError(
                        f"instructions[{pos}].params[{k}]",
                        p.to_qasm(),
                        "OpenQASM 2 cannot express free parameters; bind them or use to_qasm3",
                    )
                param_text[id(p)] = _number(float(p.evaluate({})), f"instructions[{pos}]")
    qlayout, clayout = _layout(circuit, _IDENT2, set())
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    lines += [_QASM2_DEFS[g] for g in _QASM2_DEFS if g in used]
    lines += _declarations(qlayout, "qreg", False)
    lines += _declarations(clayout, "creg", False)
    lines += _body(
        circuit,
        _refs(qlayout),
        _refs(clayout),
        param_text,
        _QASM2_RENAME,
        "measure {q} -> {c};",
        ",",
    )
    return "\n".join(lines) + "\n"


def to_qasm3(circuit: Circuit) -> str:
    """Serialise ``circuit`` as OpenQASM 3.0 with ``include "stdgates.inc";``.

    Free parameters are declared as ``input float[64] name;``; gates outside ``stdgates.inc`` get
    ``gate`` definitions. Raises :class:`~qjobs.InputError` for a parameter name that is not a
    usable identifier or a non-finite number.
    """
    param_text: dict[int, str] = {}
    used: set[str] = set()
    for pos, ins in enumerate(circuit.instructions):
        used.add(ins.name)
        for p in ins.params:
            if isinstance(p, Expr) and id(p) not in param_text:
                _check_expr(p, f"instructions[{pos}].params")
                text = p.to_qasm()
                # Binary operations come fully parenthesised; the outer pair is not needed.
                param_text[id(p)] = text[1:-1] if p.op in _BINARY else text
    params = circuit.parameters
    qlayout, clayout = _layout(circuit, _IDENT3, set(params))
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    lines += [f"input float[64] {name};" for name in params]
    lines += [_QASM3_DEFS[g] for g in _QASM3_DEFS if g in used]
    lines += _declarations(qlayout, "qubit", True)
    lines += _declarations(clayout, "bit", True)
    lines += _body(
        circuit, _refs(qlayout), _refs(clayout), param_text, {}, "{c} = measure {q};", ", "
    )
    return "\n".join(lines) + "\n"
