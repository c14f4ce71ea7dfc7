"""The OpenQASM 2.0 / 3.0 reader: gate-level programs into :class:`~qjobs.Circuit`.

The language version comes from the ``OPENQASM`` line; a program without one is read as
OpenQASM 3 (the version statement is optional there and mandatory in 2.0). The reader accepts:

- ``qreg q[n];`` / ``creg c[n];`` (both versions) and ``qubit[n] q;``, ``qubit q;``,
  ``bit[n] c;``, ``bit c;`` (OpenQASM 3). Registers are flattened to indices in declaration order
  and kept as :class:`~qjobs.circuit._ir.Register` records.
- ``include "qelib1.inc";`` (2.0) and ``include "stdgates.inc";`` (3.0); any other file is an
  error. The gates of :data:`qjobs.circuit._gates.GATES` are known whether or not the include is
  present, with the aliases of those libraries: ``U``/``u`` -> ``u3``, ``u1``/``phase`` -> ``p``,
  ``cu1``/``cphase`` -> ``cp``, ``CX`` -> ``cx``.
- Gate calls with broadcasting over whole registers, ``measure q -> c;``, ``c = measure q;``
  (3.0), ``reset``, ``barrier`` (no operand means every qubit declared so far). ``gphase`` is
  dropped: a global phase changes no measurement.
- Parameter expressions: numbers, ``pi``/``π``, ``tau``/``τ``, ``euler``/``ℇ``, ``+ - * /``,
  power as ``**`` or ``^`` (right-associative, binding tighter than unary minus), parentheses and
  ``sin cos tan exp ln sqrt arcsin arccos arctan``. Constant sub-expressions are folded to floats.
- ``input float[64] x;`` / ``input angle x;`` declarations (3.0) and undeclared identifiers in
  gate arguments become free parameters (:meth:`qjobs.Expr.sym`).
- ``gate`` definitions, inlined at each call. As OpenQASM requires, a gate cannot be defined
  twice, nor can a gate of an included library (:data:`LIBRARIES`) or of the language (``U``;
  ``CX`` in 2.0) be redefined: :class:`~qjobs.QasmError` at the definition's name. Without the
  include a program may define a gate under a standard name (``gate h a { ... }``); its body is
  what runs, and only a call *before* such a definition (read as the built-in) is an error.
  A definition that is exactly the one qjobs's writers emit for a gate the libraries lack (e.g.
  ``rzz`` for 3.0) is read back as that single gate.

Everything else (control flow, subroutines, ``opaque``, classical arithmetic, gate modifiers,
timing) raises :class:`~qjobs.QasmError` with the 1-based line and column of the offending token,
as do a program without qubits, integer literals in other than ASCII digits, numbers or
constant expressions that are not finite, and programs beyond the limits :data:`MAX_SOURCE_LENGTH`,
:data:`MAX_DEPTH`, :data:`MAX_QUBITS`, :data:`MAX_CLBITS` and :data:`MAX_INSTRUCTIONS` (checked
while reading and expanding, so an oversized program fails fast). Nothing else escapes.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from typing import Final, NoReturn

from qjobs._core.errors import InputError, QasmError
from qjobs.circuit._expr import _MATH, FUNCTIONS, MAX_EXPR_DEPTH, Expr, _fold
from qjobs.circuit._gates import GATES
from qjobs.circuit._ir import MAX_CLBITS, MAX_QUBITS, Circuit, Instruction, Register

__all__ = [
    "ALIASES",
    "LIBRARIES",
    "MAX_CLBITS",
    "MAX_DEPTH",
    "MAX_INSTRUCTIONS",
    "MAX_QUBITS",
    "MAX_SOURCE_LENGTH",
    "parse_qasm",
]

#: The longest source read, in characters: room for :data:`MAX_INSTRUCTIONS` one-line
#: statements of 30 characters, while bounding the memory of the token list.
MAX_SOURCE_LENGTH: Final = 32 * 2**20

#: The deepest nesting inside one expression (parentheses, function calls, signs and powers),
#: and the deepest expression tree a parameter may become, also after inlining gate definitions.
MAX_DEPTH: Final = MAX_EXPR_DEPTH

#: The most instructions a program may expand to, gate definitions inlined at every call. The
#: bodies of all ``gate`` definitions, each expanded down to built-in gates, share a second
#: budget of the same size. Both are checked while expanding, so a chain of definitions that
#: doubles at every level fails at once instead of running for minutes.
MAX_INSTRUCTIONS: Final = 1_000_000

# fmt: off
#: The gates each known include file defines, which a program including it may not redefine:
#: ``qelib1.inc`` as published with OpenQASM 2.0, ``stdgates.inc`` as in the OpenQASM 3 spec.
LIBRARIES: Final[dict[str, frozenset[str]]] = {
    "qelib1.inc": frozenset(
        {
            "u3", "u2", "u1", "cx", "id", "u0", "x", "y", "z", "h", "s", "sdg", "t", "tdg",
            "rx", "ry", "rz", "cz", "cy", "ch", "ccx", "crz", "cu1", "cu3",
        }
    ),
    "stdgates.inc": frozenset(
        {
            "p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy",
            "cz", "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase",
            "cphase", "id", "u1", "u2", "u3",
        }
    ),
}
# fmt: on

# Gates built into the language itself, by version: never redefinable.
_BUILTIN: Final[dict[int, frozenset[str]]] = {2: frozenset({"U", "CX"}), 3: frozenset({"U"})}

#: Alternative gate names from ``qelib1.inc`` / ``stdgates.inc`` and their canonical IR names.
ALIASES: Final[dict[str, str]] = {
    "U": "u3",
    "u": "u3",
    "u1": "p",
    "phase": "p",
    "cu1": "cp",
    "cphase": "cp",
    "CX": "cx",
}

_CONSTANTS: Final[dict[str, float]] = {
    "pi": math.pi,
    "π": math.pi,
    "tau": math.tau,
    "τ": math.tau,
    "euler": math.e,
    "ℇ": math.e,
}

_INCLUDES: Final[dict[str, int]] = {'"qelib1.inc"': 2, '"stdgates.inc"': 3}

_TOO_MANY: Final = f"the program expands to more than {MAX_INSTRUCTIONS} instructions"
_TOO_MANY_DEFINED: Final = f"gate definitions expand to more than {MAX_INSTRUCTIONS} instructions"
_TOO_DEEP: Final = f"the expression is nested more than {MAX_DEPTH} levels deep"

_UNSUPPORTED: Final[dict[str, str]] = {
    "opaque": "opaque gates are not supported",
    "if": "classical control flow is not supported",
    "else": "classical control flow is not supported",
    "for": "loops are not supported",
    "while": "loops are not supported",
    "break": "loops are not supported",
    "continue": "loops are not supported",
    "switch": "classical control flow is not supported",
    "def": "subroutines are not supported",
    "return": "subroutines are not supported",
    "extern": "extern functions are not supported",
    "defcal": "calibrations are not supported",
    "cal": "calibrations are not supported",
    "defcalgrammar": "calibrations are not supported",
    "box": "boxes are not supported",
    "delay": "timing instructions are not supported",
    "let": "aliases are not supported",
    "const": "classical declarations are not supported",
    "output": "output declarations are not supported",
    "int": "classical declarations are not supported",
    "uint": "classical declarations are not supported",
    "float": "classical declarations are not supported",
    "angle": "classical declarations are not supported",
    "bool": "classical declarations are not supported",
    "complex": "classical declarations are not supported",
    "duration": "classical declarations are not supported",
    "stretch": "classical declarations are not supported",
    "array": "arrays are not supported",
    "ctrl": "gate modifiers are not supported",
    "negctrl": "gate modifiers are not supported",
    "inv": "gate modifiers are not supported",
    "pow": "gate modifiers are not supported",
    "pragma": "pragmas are not supported",
}

_KEYWORDS: Final[frozenset[str]] = frozenset(_UNSUPPORTED) | {
    "OPENQASM",
    "include",
    "qreg",
    "creg",
    "qubit",
    "bit",
    "input",
    "gate",
    "measure",
    "reset",
    "barrier",
    "gphase",
}

# One regex does all the lexing: leading whitespace and comments are skipped, group 1 is the
# token. An unterminated "/*" comes out as the token "/*"; anything unknown as one character.
_SKIP = r"\s*(?:(?://[^\n]*|/\*[\s\S]*?\*/)\s*)*"
_TOKEN = (
    r"[A-Za-z_]\w*"  # identifier (the common ASCII case first)
    r"|[;,\[\]()]"
    r"|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"  # number (ASCII)
    r"|[^\W\d]\w*"  # identifier (Unicode letters, so π works)
    r"|\$[0-9]+"  # physical qubit
    r'|"[^"\n]*"'  # string
    r"|->|\*\*|==|!=|<=|>=|&&|\|\||<<|>>|\+\+|/\*"
    r"|\S"
)
_LEX: Final = re.compile(f"{_SKIP}({_TOKEN})")
# Without any '/' in the source there is no comment to skip: a cheaper pattern, same tokens.
_LEX_PLAIN: Final = re.compile(rf"\s*({_TOKEN})")
_IDENT_RE: Final = re.compile(r"[^\W\d]\w*\Z")


def _is_ident(tok: str) -> bool:
    """An identifier: letters, ``_`` and ASCII digits (not first); no other Unicode digits."""
    if not _IDENT_RE.match(tok):
        return False
    return tok.isascii() or not any(
        unicodedata.category(ch) in ("Nd", "No") for ch in tok if not ch.isascii()
    )


_FLOAT_ERRORS = (ValueError, ZeroDivisionError, OverflowError)
_MAX_INT_DIGITS: Final = 9  # longer integer literals exceed every limit (and int() may refuse)

Value = float | Expr


def parse_qasm(source: str, *, name: str | None = None) -> Circuit:
    """Read an OpenQASM 2.0 or 3.0 program at gate level into a :class:`~qjobs.Circuit`.

    ``name`` becomes the circuit's name. Unsupported or invalid source raises
    :class:`~qjobs.QasmError` carrying the 1-based ``line`` and ``column`` of the fault, as does
    a program beyond the limits :data:`MAX_SOURCE_LENGTH`, :data:`MAX_DEPTH`,
    :data:`MAX_QUBITS`, :data:`MAX_CLBITS` and :data:`MAX_INSTRUCTIONS`, or one without qubits.
    """
    if not isinstance(source, str):
        raise QasmError(f"source must be a str, not {type(source).__name__}", 1, 1)
    if len(source) > MAX_SOURCE_LENGTH:
        raise QasmError(
            f"the source has {len(source)} characters, more than {MAX_SOURCE_LENGTH}", 1, 1
        )
    return _Parser(source).parse(name)


def _locate(source: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of token ``index`` (or of the end of the source)."""
    pos = len(source)
    for k, m in enumerate(_LEX.finditer(source)):
        if k == index:
            pos = m.start(1)
            break
        pos = m.end(1)
    line = source.count("\n", 0, pos) + 1
    return line, pos - source.rfind("\n", 0, pos)


class _UserGate:
    """A ``gate`` definition to inline: its body as (name, params, argument positions)."""

    __slots__ = ("body", "num_params", "num_qubits", "params")

    def __init__(
        self,
        params: tuple[str, ...],
        num_qubits: int,
        body: list[tuple[str, tuple[Value, ...], tuple[int, ...]]],
    ) -> None:
        self.params = params
        self.num_params = len(params)
        self.num_qubits = num_qubits
        self.body = body


class _Parser:
    __slots__ = (
        "barrier_all",
        "cregs",
        "defined",
        "depth",
        "gates",
        "i",
        "inputs",
        "instrs",
        "library",
        "n",
        "nc",
        "nq",
        "qregs",
        "regs",
        "scope",
        "source",
        "toks",
        "version",
    )

    def __init__(self, source: str) -> None:
        self.source = source
        lex = _LEX if "/" in source else _LEX_PLAIN
        self.toks: list[str] = lex.findall(source)
        self.n = len(self.toks)
        # Sentinels let the fast path look a few tokens ahead without bounds checks.
        self.toks += ("", "", "", "", "")
        self.i = 0
        self.version = 3
        # name -> (is_quantum, start, size, is_scalar)
        self.regs: dict[str, tuple[bool, int, int, bool]] = {}
        self.qregs: list[Register] = []
        self.cregs: list[Register] = []
        self.nq = 0
        self.nc = 0
        self.instrs: list[Instruction] = []
        self.gates: dict[str, _UserGate] = {}
        # Gate name -> the include file defining it.
        self.library: dict[str, str] = {}
        # Instructions in all gate definitions (the second MAX_INSTRUCTIONS budget).
        self.defined = 0
        # Current nesting depth inside an expression.
        self.depth = 0
        self.inputs: set[str] = set()
        # Gate parameter names while reading a gate body, else None.
        self.scope: frozenset[str] | None = None

    # -- errors and token helpers -------------------------------------------------------------

    def fail(self, message: str, index: int | None = None) -> NoReturn:
        line, column = _locate(self.source, self.i if index is None else index)
        raise QasmError(message, line, column)

    def peek(self) -> str:
        return self.toks[self.i] if self.i < self.n else ""

    def next(self) -> str:
        i = self.i
        if i >= self.n:
            self.fail("unexpected end of input")
        self.i = i + 1
        return self.toks[i]

    def expect(self, tok: str) -> None:
        i = self.i
        if i >= self.n:
            self.fail(f"expected '{tok}' but the program ended")
        if self.toks[i] != tok:
            self.fail(f"expected '{tok}', found '{self.toks[i]}'")
        self.i = i + 1

    def ident(self, what: str) -> str:
        i = self.i
        tok = self.toks[i] if i < self.n else ""
        if not _is_ident(tok):
            self.fail(f"expected {what}, found '{tok}'" if tok else f"expected {what}")
        if tok in _KEYWORDS:
            self.fail(f"'{tok}' is a reserved word and cannot be used as {what}")
        self.i = i + 1
        return tok

    def integer(self, what: str, limit: int) -> int:
        tok = self.peek()
        if not (tok.isascii() and tok.isdigit()):
            self.fail(f"expected {what} (a non-negative integer literal), found '{tok}'")
        if len(tok) > _MAX_INT_DIGITS or int(tok) > limit:
            self.fail(f"{what} {tok[:20]}{'...' if len(tok) > 20 else ''} exceeds {limit}")
        self.i += 1
        return int(tok)

    def number(self, tok: str, at: int) -> float:
        value = float(tok)
        if not math.isfinite(value):
            self.fail(f"the number {tok[:20]}{'...' if len(tok) > 20 else ''} is too large", at)
        return value

    # -- program ------------------------------------------------------------------------------

    def parse(self, name: str | None) -> Circuit:
        toks = self.toks
        if self.n and toks[0] == "OPENQASM":
            self.i = 1
            tok = self.next()
            if tok in ("2", "2.0"):
                self.version = 2
            elif tok not in ("3", "3.0", "3.1"):
                self.fail(f"unsupported OpenQASM version '{tok}'", 1)
            self.expect(";")
        statements = _STATEMENTS
        instrs = self.instrs
        while self.i < self.n:
            start = self.i
            tok = toks[start]
            handler = statements.get(tok)
            if handler is not None:
                handler(self)
            elif tok in _UNSUPPORTED:
                self.fail(f"'{tok}': {_UNSUPPORTED[tok]}")
            elif tok == ";":
                self.i += 1
            elif not self.fast_call(tok):
                self.call_or_assign()
            if len(instrs) > MAX_INSTRUCTIONS:
                self.fail(_TOO_MANY, start)
        if not self.nq:
            self.fail("the program declares no qubits; a circuit needs at least one")
        return Circuit._trusted(
            self.nq, self.nc, tuple(self.instrs), name, tuple(self.qregs), tuple(self.cregs)
        )

    def need3(self, what: str) -> None:
        if self.version == 2:
            self.fail(f"{what} is OpenQASM 3 syntax, not valid in an OPENQASM 2.0 program")

    def st_openqasm(self) -> None:
        self.fail("the OPENQASM version line must be the first statement")

    def st_include(self) -> None:
        self.i += 1
        tok = self.peek()
        version = _INCLUDES.get(tok)
        if version is None:
            if tok.startswith('"'):
                self.fail(f"cannot include {tok}: only qelib1.inc and stdgates.inc are known")
            self.fail(f"expected a file name string, found '{tok}'")
        if version == 3:
            self.need3('include "stdgates.inc"')
        at = self.i
        self.i += 1
        self.expect(";")
        file = tok.strip('"')
        for name in sorted(LIBRARIES[file]):
            if name in self.gates:
                self.fail(f"{file} defines '{name}', which this program already defines", at)
            self.library.setdefault(name, file)

    def declare(self, name: str, quantum: bool, size: int, scalar: bool, at: int) -> None:
        if name in self.regs or name in self.inputs or name in self.gates:
            self.fail(f"'{name}' is already declared", at)
        if (self.nq if quantum else self.nc) + size > (MAX_QUBITS if quantum else MAX_CLBITS):
            limit = f"{MAX_QUBITS} qubits" if quantum else f"{MAX_CLBITS} classical bits"
            self.fail(f"the program declares more than {limit}", at)
        if quantum:
            start = self.nq
            self.nq += size
            self.qregs.append(Register(name, size, start))
        else:
            start = self.nc
            self.nc += size
            self.cregs.append(Register(name, size, start))
        self.regs[name] = (quantum, start, size, scalar)

    def st_qreg(self) -> None:
        quantum = self.toks[self.i] == "qreg"
        self.i += 1
        at = self.i
        name = self.ident("a register name")
        self.expect("[")
        size = self.integer("a register size", MAX_QUBITS if quantum else MAX_CLBITS)
        if size == 0:
            self.fail("a register must have at least one bit", self.i - 1)
        self.expect("]")
        self.expect(";")
        self.declare(name, quantum, size, False, at)

    def st_qubit(self) -> None:
        kw = self.toks[self.i]
        self.need3(f"'{kw}'")
        self.i += 1
        scalar = self.peek() != "["
        size = 1
        if not scalar:
            self.i += 1
            size = self.integer("a register size", MAX_QUBITS if kw == "qubit" else MAX_CLBITS)
            if size == 0:
                self.fail("a register must have at least one bit", self.i - 1)
            self.expect("]")
        at = self.i
        name = self.ident("a register name")
        if self.peek() == "=":
            self.fail("initialised declarations are not supported")
        self.expect(";")
        self.declare(name, kw == "qubit", size, scalar, at)

    def st_input(self) -> None:
        self.need3("'input'")
        self.i += 1
        kind = self.peek()
        if kind not in ("float", "angle"):
            self.fail(f"only 'input float' and 'input angle' are supported, found '{kind}'")
        self.i += 1
        if self.peek() == "[":
            self.i += 1
            self.integer("a bit width", MAX_CLBITS)
            self.expect("]")
        at = self.i
        name = self.ident("a parameter name")
        self.expect(";")
        if name in self.regs or name in self.inputs or name in _CONSTANTS:
            self.fail(f"'{name}' is already declared", at)
        self.inputs.add(name)

    # -- operands -----------------------------------------------------------------------------

    def operand(self, quantum: bool) -> tuple[tuple[int, ...], bool]:
        """One register or bit reference: (indices, whole_register)."""
        at = self.i
        tok = self.peek()
        if tok.startswith("$"):
            self.fail("physical qubits ($n) are not supported; declare a qubit register")
        reg = self.regs.get(tok)
        if reg is None:
            if not _is_ident(tok):
                self.fail(f"expected a {'qubit' if quantum else 'bit'} operand, found '{tok}'")
            self.fail(f"undeclared register '{tok}'")
        is_q, start, size, scalar = reg
        if is_q != quantum:
            kind = "a quantum" if is_q else "a classical"
            self.fail(
                f"'{tok}' is {kind} register here, where a {'qubit' if quantum else 'bit'}"
                " is expected",
                at,
            )
        self.i += 1
        if self.peek() != "[":
            if scalar:
                return (start,), False
            return tuple(range(start, start + size)), True
        if scalar:
            self.fail(f"'{tok}' is a single {'qubit' if quantum else 'bit'} and cannot be indexed")
        self.i += 1
        where = self.i
        index = self.integer("an index", max(MAX_QUBITS, MAX_CLBITS))
        if index >= size:
            self.fail(f"index {index} is out of range for '{tok}' of size {size}", where)
        self.expect("]")
        return (start + index,), False

    def operands(self) -> list[tuple[tuple[int, ...], bool]]:
        """Comma-separated qubit operands up to (not including) ';'."""
        out = [self.operand(True)]
        while self.peek() == ",":
            self.i += 1
            out.append(self.operand(True))
        return out

    # -- statements ---------------------------------------------------------------------------

    def st_measure(self) -> None:
        self.i += 1
        q, qreg = self.operand(True)
        if self.peek() != "->":
            if self.peek() == ";":
                self.fail("a measurement needs a target: 'measure q -> c;' or 'c = measure q;'")
            self.expect("->")
        self.i += 1
        at = self.i
        c, creg = self.operand(False)
        self.expect(";")
        self.add_measure(q, qreg, c, creg, at)

    def add_measure(
        self, q: tuple[int, ...], qreg: bool, c: tuple[int, ...], creg: bool, at: int
    ) -> None:
        if qreg != creg or len(q) != len(c):
            self.fail(
                f"cannot measure {len(q)} qubit(s) into {len(c)} bit(s); "
                "use registers of equal size or single bits",
                at,
            )
        append = self.instrs.append
        for qb, cb in zip(q, c, strict=True):
            append(Instruction("measure", (qb,), (), (cb,)))

    def st_reset(self) -> None:
        self.i += 1
        q, _ = self.operand(True)
        self.expect(";")
        append = self.instrs.append
        for qb in q:
            append(Instruction("reset", (qb,)))

    def st_barrier(self) -> None:
        self.i += 1
        if self.peek() == ";":
            self.i += 1
            if self.nq:
                self.instrs.append(Instruction("barrier", tuple(range(self.nq))))
            return
        seen: dict[int, None] = {}
        for qs, _ in self.operands():
            for qb in qs:
                seen[qb] = None
        self.expect(";")
        self.instrs.append(Instruction("barrier", tuple(seen)))

    def st_gphase(self) -> None:
        self.need3("'gphase'")
        self.i += 1
        self.expect("(")
        self.expression()
        self.expect(")")
        if self.peek() != ";":
            self.fail("'gphase' on qubits is not supported")
        self.i += 1

    def fast_call(self, name: str) -> bool:
        """Read the common ``g(1.5, ...) q[0], r[1];`` shape quickly; False to use the full path."""
        spec = _FAST.get(name)
        if spec is None or name in self.gates:
            return False
        canon, nparams, nqubits = spec
        toks = self.toks
        start = self.i
        i = start + 1
        params: tuple[Value, ...] = ()
        if toks[i] == "(":
            plist: list[Value] = []
            i += 1
            if toks[i] != ")":
                while True:
                    tok = toks[i]
                    if "0" <= tok[:1] <= "9" and (toks[i + 1] == "," or toks[i + 1] == ")"):
                        value = float(tok)
                        if not math.isfinite(value):
                            self.i = start
                            return False
                        plist.append(value)
                        i += 1
                    else:
                        self.i = i
                        plist.append(self.expression())
                        i = self.i
                    if toks[i] != ",":
                        break
                    i += 1
            if toks[i] != ")":
                self.i = start
                return False
            i += 1
            params = tuple(plist)
        if len(params) != nparams:
            self.i = start
            return False
        regs = self.regs
        qubits: list[int] = []
        while True:
            reg = regs.get(toks[i])
            if reg is None or not reg[0] or reg[3] or toks[i + 1] != "[":
                self.i = start
                return False
            index = toks[i + 2]
            if (
                not (index.isascii() and index.isdigit())
                or len(index) > _MAX_INT_DIGITS
                or toks[i + 3] != "]"
                or int(index) >= reg[2]
            ):
                self.i = start
                return False
            qubits.append(reg[1] + int(index))
            i += 4
            if toks[i] != ",":
                break
            i += 1
        if toks[i] != ";" or len(qubits) != nqubits or len(set(qubits)) != nqubits:
            self.i = start
            return False
        self.i = i + 1
        self.instrs.append(Instruction(canon, tuple(qubits), params))
        return True

    def call_or_assign(self) -> None:
        start = self.i
        tok = self.toks[start]
        reg = self.regs.get(tok)
        if reg is not None and not reg[0]:
            # c = measure q;  or  c[i] = measure q[j];
            self.need3("'c = measure q' assignment")
            c, creg = self.operand(False)
            if self.peek() != "=":
                self.fail("only 'c = measure q;' assignments to classical bits are supported")
            self.i += 1
            if self.peek() != "measure":
                self.fail("only measurement results can be assigned to classical bits")
            self.i += 1
            q, qreg = self.operand(True)
            self.expect(";")
            self.add_measure(q, qreg, c, creg, start)
            return
        self.gate_call()

    def gate_call(self) -> None:
        at = self.i
        name = self.next()
        if not _is_ident(name):
            self.fail(f"expected a statement, found '{name}'", at)
        if self.peek() == "@":
            self.fail("gate modifiers are not supported", at)
        params: list[Value] = []
        if self.peek() == "(":
            self.i += 1
            if self.peek() != ")":
                params.append(self.expression())
                while self.peek() == ",":
                    self.i += 1
                    params.append(self.expression())
            self.expect(")")
        args = self.operands()
        self.expect(";")
        user = self.gates.get(name)
        canon = ""
        if user is None:
            canon = ALIASES.get(name, name)
            spec = GATES.get(canon)
            if spec is None:
                if name == "gphase":
                    self.need3("'gphase'")
                    return
                self.fail(f"unknown gate '{name}'", at)
            nparams, nqubits = spec.num_params, spec.num_qubits
        else:
            nparams, nqubits = user.num_params, user.num_qubits
        if len(params) != nparams:
            self.fail(f"gate '{name}' takes {nparams} parameter(s), got {len(params)}", at)
        if len(args) != nqubits:
            self.fail(f"gate '{name}' takes {nqubits} qubit(s), got {len(args)}", at)
        ptuple = tuple(params)
        if nqubits == 1:
            groups: list[tuple[int, ...]] = [(qb,) for qb in args[0][0]]
        elif not (args[0][1] or args[1][1] or (nqubits == 3 and args[2][1])):
            groups = [tuple(a[0][0] for a in args)]
        else:
            size = 0
            for qs, whole in args:
                if whole:
                    if size and len(qs) != size:
                        self.fail(f"registers of different sizes in a call to '{name}'", at)
                    size = len(qs)
            groups = [tuple(qs[k] if whole else qs[0] for qs, whole in args) for k in range(size)]
        for qs in groups:
            if nqubits > 1 and len(set(qs)) != nqubits:
                self.fail(f"gate '{name}' is applied to the same qubit twice", at)
        if user is None:
            append = self.instrs.append
            for qs in groups:
                append(Instruction(canon, qs, ptuple))
        else:
            for qs in groups:
                self.inline(user, ptuple, qs, at)

    def inline(
        self, gate: _UserGate, params: tuple[Value, ...], qubits: tuple[int, ...], at: int
    ) -> None:
        if len(self.instrs) + len(gate.body) > MAX_INSTRUCTIONS:
            self.fail(_TOO_MANY, at)
        mapping = dict(zip(gate.params, params, strict=True))
        append = self.instrs.append
        for gname, gparams, pos in gate.body:
            qs = tuple(qubits[p] for p in pos)
            if gparams:
                append(Instruction(gname, qs, self.substitute(gparams, mapping, at)))
            else:
                append(Instruction(gname, qs))

    def substitute(
        self, params: tuple[Value, ...], mapping: dict[str, Value], at: int
    ) -> tuple[Value, ...]:
        """``params`` of a gate-body operation with the call's arguments put in."""
        out: list[Value] = []
        for p in params:
            if isinstance(p, Expr):
                try:
                    p = p.substitute(mapping)
                except InputError as exc:
                    self.fail(f"the expression is too large: it {exc.reason}", at)
                except _FLOAT_ERRORS as exc:
                    self.fail(f"cannot evaluate a parameter of this call: {exc}", at)
                if isinstance(p, float) and not math.isfinite(p):
                    self.fail(f"a parameter of this call evaluates to {p}", at)
            out.append(p)
        return tuple(out)

    # -- gate definitions ---------------------------------------------------------------------

    def st_gate(self) -> None:
        self.i += 1
        at = self.i
        name, params, qargs = self.gate_header()
        self.check_new_gate(name, at)
        self.expect("{")
        body = self.gate_body(params, qargs)
        self.gates[name] = _known_gate(name, params, qargs, body) or _UserGate(
            tuple(params), len(qargs), body
        )

    def gate_header(self) -> tuple[str, list[str], list[str]]:
        """``name(params) qargs`` of a definition, up to (not including) its body."""
        at = self.i
        name = self.ident("a gate name")
        params: list[str] = []
        if self.peek() == "(":
            self.i += 1
            if self.peek() != ")":
                params.append(self.ident("a parameter name"))
                while self.peek() == ",":
                    self.i += 1
                    params.append(self.ident("a parameter name"))
            self.expect(")")
        qargs = [self.ident("a qubit argument name")]
        while self.peek() == ",":
            self.i += 1
            qargs.append(self.ident("a qubit argument name"))
        if len(set(params)) != len(params) or len(set(qargs)) != len(qargs):
            self.fail(f"repeated argument name in the definition of '{name}'", at)
        return name, params, qargs

    def check_new_gate(self, name: str, at: int) -> None:
        """Fail unless ``name`` may be defined here: OpenQASM forbids redefining a gate."""
        if name in self.gates:
            self.fail(f"gate '{name}' is already defined", at)
        file = self.library.get(name)
        if file is not None:
            self.fail(f"gate '{name}' is already defined by {file} and cannot be redefined", at)
        if name in _BUILTIN[self.version]:
            self.fail(f"'{name}' is a built-in gate and cannot be redefined", at)
        if name in self.regs or name in self.inputs:
            self.fail(f"'{name}' is already declared", at)
        if ALIASES.get(name, name) in GATES:
            # Known without an include, so a call before this point read it as the built-in.
            toks = self.toks
            for j in range(at - 1):
                if toks[j] == name and (j == 0 or toks[j - 1] in (";", "{", "}")):
                    self.fail(
                        f"gate '{name}' is defined after a call read it as the built-in gate",
                        at,
                    )

    def gate_body(
        self, params: list[str], qargs: list[str]
    ) -> list[tuple[str, tuple[Value, ...], tuple[int, ...]]]:
        position = {q: k for k, q in enumerate(qargs)}
        body: list[tuple[str, tuple[Value, ...], tuple[int, ...]]] = []
        self.scope = frozenset(params)
        try:
            while True:
                at = self.i
                tok = self.next()
                if tok == "}":
                    return body
                if tok == ";":
                    continue
                if tok in _UNSUPPORTED:
                    self.fail(f"'{tok}': {_UNSUPPORTED[tok]}", at)
                if not _is_ident(tok) or tok in ("measure", "reset", "gate"):
                    self.fail(f"'{tok}' is not allowed in a gate body", at)
                if self.peek() == "@":
                    self.fail("gate modifiers are not supported", at)
                values: list[Value] = []
                if self.peek() == "(":
                    self.i += 1
                    if self.peek() != ")":
                        values.append(self.expression())
                        while self.peek() == ",":
                            self.i += 1
                            values.append(self.expression())
                    self.expect(")")
                pos: list[int] = []
                while self.peek() != ";":
                    if pos:
                        self.expect(",")
                    where = self.i
                    arg = self.next()
                    if arg not in position:
                        self.fail(f"'{arg}' is not a qubit argument of this gate", where)
                    pos.append(position[arg])
                self.i += 1
                self.body_op(tok, values, tuple(pos), body, at)
        finally:
            self.scope = None

    def body_op(
        self,
        name: str,
        values: list[Value],
        pos: tuple[int, ...],
        body: list[tuple[str, tuple[Value, ...], tuple[int, ...]]],
        at: int,
    ) -> None:
        if name == "barrier":
            if pos:
                body.append(("barrier", (), tuple(dict.fromkeys(pos))))
            return
        if name == "gphase":
            return
        if len(set(pos)) != len(pos):
            self.fail(f"gate '{name}' is applied to the same qubit twice", at)
        user = self.gates.get(name)
        if user is not None:
            if len(values) != user.num_params or len(pos) != user.num_qubits:
                self.fail(
                    f"gate '{name}' takes {user.num_params} parameter(s) and "
                    f"{user.num_qubits} qubit(s)",
                    at,
                )
            self.defined += len(user.body)
            if len(body) + len(user.body) > MAX_INSTRUCTIONS or self.defined > MAX_INSTRUCTIONS:
                self.fail(_TOO_MANY_DEFINED, at)
            mapping = dict(zip(user.params, values, strict=True))
            for gname, gparams, gpos in user.body:
                ps = self.substitute(gparams, mapping, at) if gparams else gparams
                body.append((gname, ps, tuple(pos[p] for p in gpos)))
            return
        canon = ALIASES.get(name, name)
        spec = GATES.get(canon)
        if spec is None:
            self.fail(f"unknown gate '{name}'", at)
        if len(values) != spec.num_params or len(pos) != spec.num_qubits:
            self.fail(
                f"gate '{name}' takes {spec.num_params} parameter(s) and "
                f"{spec.num_qubits} qubit(s)",
                at,
            )
        self.defined += 1
        body.append((canon, tuple(values), pos))

    # -- expressions --------------------------------------------------------------------------

    def expression(self) -> Value:
        """additive := term (('+' | '-') term)*"""
        left = self.term()
        while True:
            op = self.peek()
            if op != "+" and op != "-":
                return left
            at = self.i
            self.i += 1
            left = self.combine(op, left, self.term(), at)

    def term(self) -> Value:
        """term := unary (('*' | '/') unary)*"""
        left = self.unary()
        while True:
            op = self.peek()
            if op != "*" and op != "/":
                return left
            at = self.i
            self.i += 1
            left = self.combine(op, left, self.unary(), at)

    def unary(self) -> Value:
        """unary := ('-' | '+') unary | power   -- every nesting level passes here."""
        depth = self.depth = self.depth + 1
        if depth > MAX_DEPTH:
            self.fail(_TOO_DEEP)
        op = self.peek()
        value: Value
        if op == "-":
            at = self.i
            self.i += 1
            value = self.unary()
            value = -value if isinstance(value, float) else self.node("neg", (value,), at)
        elif op == "+":
            self.i += 1
            value = self.unary()
        else:
            value = self.power()
        self.depth = depth - 1
        return value

    def node(self, op: str, args: tuple[Expr, ...], at: int) -> Expr:
        """A new expression node; one beyond the size limits fails at ``at``."""
        try:
            return Expr(op, args)
        except InputError as exc:
            self.fail(f"the expression is too large: it {exc.reason}", at)

    def power(self) -> Value:
        """power := atom (('**' | '^') unary)?   -- right-associative."""
        base = self.atom()
        op = self.peek()
        if op == "**" or op == "^":
            at = self.i
            self.i += 1
            return self.combine("**", base, self.unary(), at)
        return base

    def atom(self) -> Value:
        at = self.i
        tok = self.next()
        first = tok[0]
        if "0" <= first <= "9" or (first == "." and len(tok) > 1):
            return self.number(tok, at)
        if tok == "(":
            value = self.expression()
            self.expect(")")
            return value
        if not _is_ident(tok):
            self.fail(f"expected a number, a name or '(', found '{tok}'", at)
        if self.peek() == "(" and tok in FUNCTIONS:
            self.i += 1
            arg = self.expression()
            self.expect(")")
            if isinstance(arg, Expr):
                return self.node(tok, (arg,), at)
            try:
                return _MATH[tok](arg)
            except _FLOAT_ERRORS as exc:
                self.fail(f"{tok}({arg!r}) is undefined: {exc}", at)
        const = _CONSTANTS.get(tok)
        if const is not None:
            return const
        scope = self.scope
        if scope is not None:
            if tok not in scope:
                self.fail(f"'{tok}' is not a parameter of this gate", at)
            return Expr.sym(tok)
        if tok in self.regs:
            self.fail(f"register '{tok}' cannot be used in an expression", at)
        if tok in _KEYWORDS or tok in FUNCTIONS:
            self.fail(f"'{tok}' cannot be used as a parameter name", at)
        return Expr.sym(tok)

    def combine(self, op: str, a: Value, b: Value, at: int) -> Value:
        if isinstance(a, float) and isinstance(b, float):
            try:
                value = _fold(op, [a, b])
            except _FLOAT_ERRORS as exc:
                self.fail(f"cannot evaluate '{op}' on {a!r} and {b!r}: {exc}", at)
            if not math.isfinite(value):
                self.fail(f"'{op}' on {a!r} and {b!r} gives {value}", at)
            return value
        return self.node(
            op,
            (
                a if isinstance(a, Expr) else Expr.num(a),
                b if isinstance(b, Expr) else Expr.num(b),
            ),
            at,
        )


def _normalise(
    body: list[tuple[str, tuple[Value, ...], tuple[int, ...]]], params: list[str]
) -> tuple[tuple[str, tuple[Value, ...], tuple[int, ...]], ...]:
    """A definition's body with its parameters renamed by position, for comparing bodies."""
    mapping: dict[str, Value] = {p: Expr.sym(f"#{k}") for k, p in enumerate(params)}
    return tuple(
        (name, tuple(p.substitute(mapping) if isinstance(p, Expr) else p for p in ps), pos)
        for name, ps, pos in body
    )


@functools.cache
def _writer_bodies() -> dict[str, set[tuple[tuple[str, tuple[Value, ...], tuple[int, ...]], ...]]]:
    """The normalised bodies of the ``gate`` definitions qjobs's own writers emit, by gate."""
    from qjobs.circuit._qasm_out import _QASM2_DEFS, _QASM3_DEFS

    out: dict[str, set[tuple[tuple[str, tuple[Value, ...], tuple[int, ...]], ...]]] = {}
    for text in (*_QASM2_DEFS.values(), *_QASM3_DEFS.values()):
        parser = _Parser(text)
        parser.i = 1
        name, params, qargs = parser.gate_header()
        parser.expect("{")
        out.setdefault(name, set()).add(_normalise(parser.gate_body(params, qargs), params))
    return out


def _known_gate(
    name: str,
    params: list[str],
    qargs: list[str],
    body: list[tuple[str, tuple[Value, ...], tuple[int, ...]]],
) -> _UserGate | None:
    """The IR gate ``name`` when this definition is the one qjobs's writers emit for it.

    Any other definition keeps its own meaning (it is inlined), so a program that defines a
    gate under a known name never silently runs a different gate.
    """
    spec = GATES.get(name)
    if spec is None or spec.num_params != len(params) or spec.num_qubits != len(qargs):
        return None
    if _normalise(body, params) not in _writer_bodies().get(name, ()):
        return None
    syms: tuple[Value, ...] = tuple(Expr.sym(p) for p in params)
    return _UserGate(tuple(params), len(qargs), [(name, syms, tuple(range(len(qargs))))])


_FAST: Final[dict[str, tuple[str, int, int]]] = {
    name: (ALIASES.get(name, name), spec.num_params, spec.num_qubits)
    for name in (*GATES, *ALIASES)
    for spec in (GATES[ALIASES.get(name, name)],)
}

_STATEMENTS: Final = {
    "OPENQASM": _Parser.st_openqasm,
    "include": _Parser.st_include,
    "qreg": _Parser.st_qreg,
    "creg": _Parser.st_qreg,
    "qubit": _Parser.st_qubit,
    "bit": _Parser.st_qubit,
    "input": _Parser.st_input,
    "gate": _Parser.st_gate,
    "measure": _Parser.st_measure,
    "reset": _Parser.st_reset,
    "barrier": _Parser.st_barrier,
    "gphase": _Parser.st_gphase,
}
