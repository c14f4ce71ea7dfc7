"""Trust in the OpenQASM reader and the Circuit IR: redefinitions, empty circuits, limits, and
bad input that must come out as a typed error (QasmError/InputError), never anything else."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from typing import Any

import attrs
import numpy as np
import pytest

import qjobs
from qjobs import Circuit, Expr, InputError, Instruction, QasmError
from qjobs.circuit import _qasm
from qjobs.circuit._expr import MAX_EXPR_DEPTH, MAX_EXPR_NODES
from qjobs.circuit._ir import MAX_CLBITS, MAX_QUBITS
from qjobs.circuit._qasm import MAX_DEPTH, MAX_INSTRUCTIONS, MAX_SOURCE_LENGTH, parse_qasm
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio


def ops(circuit: Circuit) -> list[tuple[str, tuple[int, ...], tuple[object, ...]]]:
    return [(i.name, i.qubits, i.params) for i in circuit.instructions]


def error(source: str) -> QasmError:
    with pytest.raises(QasmError) as info:
        parse_qasm(source)
    assert isinstance(info.value, InputError)
    return info.value


def where(source: str) -> tuple[int, int, str]:
    err = error(source)
    return err.line, err.column, err.message


# -- 1. redefining a gate -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        # A gate of the included library: an error in both versions (was read as the built-in).
        (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ngate h a { x a; }\nh q[0];',
            4,
            6,
            "already defined by qelib1.inc",
        ),
        (
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\ngate h a { x a; }\nh q[0];',
            4,
            6,
            "already defined by stdgates.inc",
        ),
        ('include "stdgates.inc";\nqubit[1] q;\ngate cx a, b { }', 3, 6, "stdgates.inc"),
        ('include "stdgates.inc";\ngate CX a, b { }', 2, 6, "stdgates.inc"),
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\ngate u1(l) a { }', 3, 6, "qelib1.inc"),
        # The language's own gates, with or without an include.
        ("OPENQASM 2.0;\nqreg q[2];\ngate CX a, b { }", 3, 6, "built-in gate"),
        ("OPENQASM 2.0;\nqreg q[1];\ngate U(a, b, c) q { }", 3, 6, "built-in gate"),
        ("qubit[1] q;\ngate U(a, b, c) q { }", 2, 6, "built-in gate"),
        # The same name twice, a built-in name or not.
        ("qubit[1] q;\ngate g a { x a; }\ngate g a { h a; }", 3, 6, "already defined"),
        ("qubit[1] q;\ngate h a { x a; }\n gate h a { x a; }", 3, 7, "already defined"),
        # The include after a definition of one of its gates.
        ('qubit[1] q;\ngate h a { x a; }\ninclude "stdgates.inc";', 3, 9, "already defines"),
        # A definition after a call read the name as the built-in gate.
        ("qubit[1] q;\nh q[0];\ngate h a { x a; }", 3, 6, "after a call"),
        ("qubit[1] q;\ngate g a { h a; }\ngate h a { x a; }", 3, 6, "after a call"),
        # A gate named like a register or an input.
        ("qubit[1] q;\ngate q a { x a; }", 2, 6, "already declared"),
        ("input float t;\ngate t a { x a; }", 2, 6, "already declared"),
        ("qubit[1] q;\ngate g a { x a; }\nqubit[1] g;", 3, 10, "already declared"),
    ],
)
def test_redefinitions_are_errors(source: str, line: int, column: int, fragment: str) -> None:
    got_line, got_column, message = where(source)
    assert fragment in message
    assert (got_line, got_column) == (line, column), message


def test_without_the_include_a_definition_keeps_its_own_meaning() -> None:
    # Without qelib1.inc/stdgates.inc, 'h' is not defined by the program, so the spec makes
    # 'gate h' an ordinary definition: its body is what runs (it was read as Hadamard).
    for header in ("OPENQASM 2.0;\nqreg q[2];", "OPENQASM 3.0;\nqubit[2] q;", "qubit[2] q;"):
        defs = "gate h a { x a; }\ngate cz a, b { cx b, a; }"
        c = parse_qasm(f"{header}\n{defs}\nh q; cz q[0], q[1];")
        assert ops(c) == [("x", (0,), ()), ("x", (1,), ()), ("cx", (1, 0), ())]


def test_a_definition_under_an_ir_name_is_inlined_unless_it_is_the_writers() -> None:
    # rzz is not in stdgates.inc, so defining it is allowed; a body with another convention
    # must not be read as the IR's rzz (it was, silently).
    src = (
        'include "stdgates.inc";\nqubit[2] q;\n'
        "gate rzz(t) a, b { cx a, b; rz(2*t) b; cx a, b; }\nrzz(0.25) q[0], q[1];"
    )
    assert ops(parse_qasm(src)) == [
        ("cx", (0, 1), ()),
        ("rz", (1,), (0.5,)),
        ("cx", (0, 1), ()),
    ]
    # The writer's own definition (any parameter and argument names) is read as the gate.
    src = (
        'include "stdgates.inc";\nqubit[2] q;\n'
        "gate rzz(theta) x, y { cx x, y; rz(theta) y; cx x, y; }\nrzz(0.25) q[0], q[1];"
    )
    assert ops(parse_qasm(src)) == [("rzz", (0, 1), (0.25,))]


def test_qiskit_style_qasm2_definitions_of_non_library_gates_are_inlined() -> None:
    # qelib1.inc (as published) lacks swap: Qiskit's exporter defines it; the body is used.
    src = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n'
        "gate swap a,b { cx a,b; cx b,a; cx a,b; }\nswap q[0],q[1];"
    )
    assert ops(parse_qasm(src)) == [("cx", (0, 1), ()), ("cx", (1, 0), ()), ("cx", (0, 1), ())]


def test_every_writer_definition_reads_back_as_its_gate() -> None:
    from qjobs.circuit._gates import GATES

    rng = np.random.default_rng(7)
    for name in ("sxdg", "rxx", "ryy", "rzz", "gpi", "gpi2", "ms", "zz"):
        spec = GATES[name]
        params = tuple(float(x) for x in rng.normal(size=spec.num_params))
        c = Circuit(2, 0, (Instruction(name, tuple(range(spec.num_qubits)), params),))
        assert parse_qasm(c.to_qasm3()).instructions == c.instructions
    ryy = Circuit(2, 0, (Instruction("ryy", (0, 1), (0.3,)),))
    assert parse_qasm(ryy.to_qasm2()).instructions == ryy.instructions


# -- 2. no qubits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("", 1, 1),
        ("   \n", 2, 1),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\n', 2, 24),  # the end of the last token
        ("OPENQASM 2.0;\ncreg c[2];", 2, 11),
        ("bit[2] c;\ngate g a { x a; }", 2, 18),
    ],
)
def test_a_program_without_qubits_is_an_error(source: str, line: int, column: int) -> None:
    got_line, got_column, message = where(source)
    assert "no qubits" in message
    assert (got_line, got_column) == (line, column)


@pytest.mark.parametrize(
    ("num_qubits", "num_clbits", "field"),
    [
        (0, 0, "num_qubits"),
        (-1, 0, "num_qubits"),
        (True, 0, "num_qubits"),
        (2.0, 0, "num_qubits"),
        (MAX_QUBITS + 1, 0, "num_qubits"),
        (1, -1, "num_clbits"),
        (1, MAX_CLBITS + 1, "num_clbits"),
        (1, None, "num_clbits"),
    ],
)
def test_circuit_sizes_are_checked(num_qubits: object, num_clbits: object, field: str) -> None:
    with pytest.raises(InputError) as info:
        Circuit(num_qubits, num_clbits, ())  # type: ignore[arg-type]
    assert info.value.field == field
    bell = Circuit(2, 0, (Instruction("h", (0,)),))
    change: dict[str, Any] = {field: num_qubits if field == "num_qubits" else num_clbits}
    with pytest.raises(InputError):
        attrs.evolve(bell, **change)


def test_largest_circuit_is_accepted() -> None:
    c = parse_qasm(f"qubit[{MAX_QUBITS}] q; bit[{MAX_CLBITS}] c; h q; c = measure q;")
    assert (c.num_qubits, c.num_clbits, len(c.instructions)) == (MAX_QUBITS, MAX_CLBITS, 4096)
    assert Circuit(MAX_QUBITS, MAX_CLBITS, ()).num_qubits == MAX_QUBITS


async def test_an_empty_program_never_reaches_the_provider() -> None:
    async with qjobs.emulators.serve("ionq") as server:
        client = qjobs.connect(
            "ionq",
            token="t",
            base_url=server.base_url,
            rate_limit=RateLimit(requests_per_second=None),
        )
        async with client:
            with pytest.raises(InputError):
                await client.run(Circuit.from_qasm(""), shots=10)
            with pytest.raises(InputError):
                await client.run(attrs.evolve(Circuit.from_qasm("qubit q;"), num_qubits=0), shots=1)
            # A real circuit afterwards is the only request the emulator sees.
            await client.run(Circuit.from_qasm("qubit q; x q;"), shots=10)
        assert server.stats.jobs_created == 1
        assert server.stats.requests["POST /jobs"] == 1


# -- 3. limits ------------------------------------------------------------------------------


def rx(expr: str) -> str:
    return f"qubit[1] q;\nrx({expr}) q[0];"


@pytest.mark.parametrize(
    "expr",
    [
        "(" * 10_000 + "1" + ")" * 10_000,
        "-" * 10_000 + "1",
        "+ " * 10_000 + "1",
        "sin(" * 5_000 + "1" + ")" * 5_000,
        "2**" * 5_000 + "1",
        "(" * 10_000 + "t" + ")" * 10_000,
        "sin(" * 5_000 + "t" + ")" * 5_000,
    ],
)
def test_deep_nesting_is_a_qasm_error(expr: str) -> None:
    line, column, message = where(rx(expr))
    assert "nested more than 100 levels" in message
    assert line == 2
    assert column > 3


def test_nesting_up_to_the_limit_is_read() -> None:
    ok = "(" * (MAX_DEPTH - 1) + "0.5" + ")" * (MAX_DEPTH - 1)
    assert ops(parse_qasm(rx(ok))) == [("rx", (0,), (0.5,))]
    assert "nested" in error(rx("(" + ok + ")")).message
    # The same bound holds inside a gate body, and for symbolic parameters.
    sym = "(" * (MAX_DEPTH - 1) + "t" + ")" * (MAX_DEPTH - 1)
    assert parse_qasm(rx(sym)).parameters == ("t",)
    assert "nested" in error(f"qubit q; gate g(t) a {{ rx(({sym})) a; }}").message


def test_long_symbolic_expressions_are_bounded() -> None:
    # A flat sum builds a deep tree: walking it (parameters, bind) used to hit RecursionError.
    err = error(rx("+".join(["t"] * 5_000)))
    assert "too large" in err.message
    assert err.line == 2
    assert len(parse_qasm(rx("+".join(["t"] * MAX_EXPR_DEPTH))).parameters) == 1
    # Substituting into nested definitions doubles the tree at each level (shared in memory,
    # exponential to walk): refused at the definition that crosses MAX_EXPR_NODES.
    defs = "".join(f"gate g{k}(t) a {{ g{k - 1}(t*t) a; }}\n" for k in range(1, 17))
    src = f"qubit q;\ngate g0(t) a {{ rx(t) a; }}\n{defs}g16(theta) q;"
    err = error(src)
    assert "too large" in err.message
    # g13's parameter would have 2**14 - 1 > MAX_EXPR_NODES nodes.
    assert (2**14 - 1 > MAX_EXPR_NODES > 2**13 - 1, err.line) == (True, 15)


def test_expr_trees_are_bounded_in_the_ir() -> None:
    e = Expr.sym("a")
    for _ in range(MAX_EXPR_DEPTH - 1):
        e = Expr("neg", (e,))
    assert e.depth == MAX_EXPR_DEPTH
    with pytest.raises(InputError, match="nested more than"):
        Expr("neg", (e,))
    wide = Expr.sym("a")
    while wide.size * 2 + 1 <= MAX_EXPR_NODES:
        wide = Expr("+", (wide, wide))
    with pytest.raises(InputError, match="more than"):
        Expr("+", (wide, wide))
    with pytest.raises(InputError, match="not an Expr"):
        Expr("+", (1.0, e))


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        # Was MemoryError (the register expanded to 10**18 indices).
        ("qubit[1000000000000000000] q;\nh q;", 1, 7, "exceeds 2048"),
        ("OPENQASM 2.0;\nqreg q[" + "9" * 5_000 + "];", 2, 8, "exceeds 2048"),  # was ValueError
        (f"qubit[{MAX_QUBITS + 1}] q;", 1, 7, "exceeds"),
        (f"qubit[{MAX_QUBITS}] a;\nqubit b;", 2, 7, f"more than {MAX_QUBITS} qubits"),
        (f"qubit q; bit[{MAX_CLBITS}] a;\nbit[2] b;", 2, 8, f"more than {MAX_CLBITS} classical"),
        (f"qubit[2] q;\nh q[{'9' * 5_000}];", 2, 5, "exceeds"),  # was ValueError (fast path)
        (f"qubit[2] q;\nrx(0.1) q[{'9' * 50}];", 2, 11, "exceeds"),
        ("input float[99999] x;", 1, 13, "exceeds"),
    ],
)
def test_size_limits(source: str, line: int, column: int, fragment: str) -> None:
    got_line, got_column, message = where(source)
    assert fragment in message
    assert (got_line, got_column) == (line, column), message


DOUBLING = (
    "qubit[1] q;\ngate g0 a { x a; }\n"
    + "".join(f"gate g{k} a {{ g{k - 1} a; g{k - 1} a; }}\n" for k in range(1, 26))
    + "g25 q[0];\n"
)


def test_doubling_definitions_fail_fast() -> None:
    # 25 levels of doubling expand to 2**25 instructions: this ran for minutes. Run in a
    # subprocess so that the old behaviour fails the test (timeout) instead of hanging it.
    code = (
        "import sys\nfrom qjobs.circuit._qasm import parse_qasm\n"
        "try:\n    parse_qasm(sys.stdin.read())\nexcept Exception as exc:\n"
        "    print(type(exc).__name__, exc.line, exc.column, exc.message)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=DOUBLING,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # The budget of definition bodies (2 + 4 + ... + 2**19 > 10**6) runs out in g19's body.
    assert out.stdout.split(" ", 3)[:3] == ["QasmError", "21", "21"], out.stdout
    assert f"more than {MAX_INSTRUCTIONS} instructions" in out.stdout


def test_instruction_budget_is_checked_while_expanding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_qasm, "MAX_INSTRUCTIONS", 100)
    ok = "qubit[4] q;\n" + "x q[0];\n" * 100
    assert len(parse_qasm(ok).instructions) == 100
    assert where(ok + "x q[1];") == (102, 1, _qasm._TOO_MANY)
    assert where(ok + "h q;")[:2] == (102, 1)  # broadcast
    assert where(ok + "reset q[0];")[:2] == (102, 1)
    assert where("qubit[4] q; bit[4] c;\n" + "c = measure q;\n" * 26)[:2] == (27, 1)
    # A call whose inlined body would cross the budget fails before expanding.
    body = " ".join(["x a;"] * 60)
    src = f"qubit[2] q;\ngate g a {{ {body} }}\ng q[0];\ng q[1];"
    assert where(src)[:2] == (4, 1)
    # Definition bodies have their own budget.
    src = f"qubit q;\ngate g a {{ {body} }}\ngate f a {{ g a; }}"
    assert where(src) == (3, 12, _qasm._TOO_MANY_DEFINED)


def test_source_length_is_bounded() -> None:
    assert where(" " * MAX_SOURCE_LENGTH + "qubit q;")[:2] == (1, 1)


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("qubit[²] q;", 1, 7),  # ValueError from int('²')
        ("qubit[\u0661\u0662] q;", 1, 7),  # read as 12 qubits
        ("OPENQASM 2.0;\nqreg q[\u0663];", 2, 8),
        ("qubit[2] q;\nh q[¹];", 2, 5),  # ValueError on the fast path
        ("qubit[2] q;\nrx(0.5) q[\u0661];", 2, 11),
        ("qubit[2] q;\nrx(²) q[0];", 2, 4),  # ValueError from float('²')
        ("qubit[2] q;\nrx(\u0661.5) q[0];", 2, 4),  # read as 1.5
        ("qubit[2] q;\nrx(1.5 * \u0662) q[0];", 2, 10),
        ("qubit[2] q;\ninput float[\u0666\u0664] x;", 2, 13),
    ],
)
def test_non_ascii_digits_are_qasm_errors(source: str, line: int, column: int) -> None:
    assert where(source)[:2] == (line, column)


# -- 4. other bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("qubit[1] q;\nrx(1e999) q[0];", 2, 4, "too large"),  # was read as inf
        ("qubit[1] q;\nrx(1e999 * t) q[0];", 2, 4, "too large"),
        ("qubit[1] q;\nrx(" + "9" * 400 + ") q[0];", 2, 4, "too large"),
        ("qubit[1] q;\nrx(1e308 * 10) q[0];", 2, 10, "inf"),  # was inf
        ("qubit[1] q;\nrx(1e308 + 1e308) q[0];", 2, 10, "inf"),
        ("qubit[1] q;\nrx(2 ** 5000) q[0];", 2, 6, "cannot evaluate"),
        ("qubit[1] q;\nrx(exp(1000)) q[0];", 2, 4, "undefined"),
        ("qubit[1] q;\nrx(0/0) q[0];", 2, 5, "cannot evaluate"),
        ("qubit[1] q;\nrx(ln(0)) q[0];", 2, 4, "undefined"),
        ("qubit[1] q;\nrx(acos(2)) q[0];", 2, 4, "undefined"),
        ("qubit[1] q;\nrx((-8) ** 0.5) q[0];", 2, 9, "cannot evaluate"),
        # Non-finite values that appear only once a definition is inlined (were inf/nan).
        ("qubit q;\ngate g(t) a { rx(t*t) a; }\ng(1e200) q;", 3, 1, "inf"),
        ("qubit q;\ngate g(t) a { rx(t*t - t*t) a; }\ng(1e200) q;", 3, 1, "nan"),
        ("qubit q;\ngate g(t) a { rx(1/t) a; }\ngate f a { g(0) a; }", 3, 12, "cannot evaluate"),
        ("qubit q;\ngate g(t) a { rx(1/t) a; }\ng(0) q;", 3, 1, "cannot evaluate"),
        ("qubit[0] q;", 1, 7, "at least one"),
        ("qubit[-1] q;", 1, 7, "non-negative integer"),
        ("OPENQASM 2.0;\nqreg q[-2];", 2, 8, "non-negative integer"),
        ("qubit[1.5] q;", 1, 7, "non-negative integer"),
        ("qubit[2] q;\nh q[2];", 2, 5, "out of range"),
        ("qubit[2] q;\nh q[-1];", 2, 5, "non-negative integer"),
        ("qubit[2] q;\ncx q[0], r[0];", 2, 10, "undeclared"),
        ("qubit[2] q;\nfoo q[0];", 2, 1, "unknown gate"),
        ("qubit[2] q;\nrx q[0];", 2, 1, "takes 1 parameter"),
        ("qubit[2] q;\nh q[0], q[1];", 2, 1, "takes 1 qubit"),
        ("qubit[2] q;\ngate g(a) x { rx(a) x; }\ng q[0];", 3, 1, "takes 1 parameter"),
        ("qubit[2] q;\ngate g x { h x; }\ngate f x { g x, x; }", 3, 12, "same qubit twice"),
        ("qubit[2] q;\ngate g x { h x; }\ngate f x { g(1) x; }", 3, 12, "takes 0 parameter"),
        ("qubit[2] q;\ngate g x { h y; }", 2, 14, "not a qubit argument"),
        ("qubit[2] q;\ngate g x { h x; ", 2, 16, "end of input"),
        ("qubit[2] q;\ngate", 2, 5, "gate name"),
        ("qubit[2] q;\nrx(", 2, 4, "end of input"),
        ("qubit[2] q;\nrx(sin) q[0];", 2, 4, "cannot be used as a parameter"),
        ("qubit[2] q;\nrx(q) q[0];", 2, 4, "register 'q'"),
        ("qubit[2] q;\nh q[0] q[1];", 2, 8, "expected ';'"),
    ],
)
def test_bad_input_is_a_qasm_error(source: str, line: int, column: int, fragment: str) -> None:
    got_line, got_column, message = where(source)
    assert fragment in message, message
    assert (got_line, got_column) == (line, column), message


VALID = [
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\n'
    "u3(pi/2, -pi/4, 0.5) q[2];\nbarrier q;\nmeasure q -> c;\n",
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\nqubit[3] q;\nbit[3] c;\n'
    "gate rot(a, b) x, y { rx(a) x; ry(2*b + sin(a)) y; cx x, y; }\n"
    "rot(theta, pi/3) q[0], q[1];\nrz(-(theta ** 2) / 4) q[2];\nc = measure q;\n",
    "qubit[2] a;\nqubit b;\nbit[2] m;\ngate bell x, y { h x; cx x, y; }\nbell a[0], b;\n"
    "crx(tau / 8) a[1], b;\nreset a[1];\nm[0] = measure a[0];\nm[1] = measure b;\n",
]

PIECES = [
    "(", ")", "[", "]", "{", "}", ";", ",", "-", "+", "*", "/", "**", "^", "->", "=", "@",
    "0", "1", "-1", "2.5e3", "1e999", "9" * 30, "²", "\u0663", "π", "pi", "x", "h", "q", "c",
    "theta", "gate", "measure", "qubit", "qubit[0]", "qreg", "include", '"qelib1.inc"',
    '"stdgates.inc"', "OPENQASM", "3.0", "/*", "//", "\n", " ", "$0", "sin(", "1/0", "0/0",
    "gate h a { x a; }", "U(0,0,0)", "cx", "barrier", "reset", "input", "float[64]",
]  # fmt: skip


def mutate(rng: np.random.Generator, source: str) -> str:
    for _ in range(int(rng.integers(1, 4))):
        k = int(rng.integers(0, len(source) + 1))
        roll = rng.random()
        if roll < 0.35:
            source = source[:k] + str(rng.choice(PIECES)) + source[k:]
        elif roll < 0.6:
            source = source[:k] + source[k + int(rng.integers(1, 8)) :]
        elif roll < 0.75:
            j = int(rng.integers(0, len(source) + 1))
            source = source[:k] + source[min(j, k) : max(j, k)] + source[k:]
        elif roll < 0.9:
            source = source[:k]
        else:
            source = source[:k] + str(rng.choice(PIECES)) * int(rng.integers(50, 400)) + source[k:]
    return source


def test_seeded_fuzz_only_typed_errors_escape() -> None:
    rng = np.random.default_rng(20261203)
    cases = {mutate(rng, VALID[int(rng.integers(len(VALID)))]) for _ in range(600)}
    assert len(cases) > 500
    read: list[Circuit] = []
    positions: list[tuple[int, int]] = []
    for source in sorted(cases):
        try:
            read.append(parse_qasm(source))
        except QasmError as exc:  # anything else fails the test
            positions.append((exc.line, exc.column))
    assert min(min(p) for p in positions) >= 1
    assert len(read) + len(positions) == len(cases)
    assert read
    for c in read:
        # What the reader built passes every check of the public constructor.
        again = Circuit(c.num_qubits, c.num_clbits, c.instructions, qregs=c.qregs, cregs=c.cregs)
        assert again.num_qubits >= 1
        with contextlib.suppress(InputError):
            c.bind(dict.fromkeys(c.parameters, 0.25))
