"""The OpenQASM reader: real programs, expressions, broadcasting, inlining and error positions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qjobs import Circuit, Expr, InputError, Instruction, QasmError
from qjobs.circuit._ir import Register
from qjobs.circuit._qasm import parse_qasm

BELL2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""

BELL3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""


def ins(
    name: str, *qubits: int, params: tuple[float | Expr, ...] = (), clbits: tuple[int, ...] = ()
) -> Instruction:
    return Instruction(name, tuple(qubits), params, clbits)


def ops(circuit: Circuit) -> list[tuple[str, tuple[int, ...], tuple[object, ...], tuple[int, ...]]]:
    return [(i.name, i.qubits, i.params, i.clbits) for i in circuit.instructions]


BELL_OPS = [
    ("h", (0,), (), ()),
    ("cx", (0, 1), (), ()),
    ("measure", (0,), (), (0,)),
    ("measure", (1,), (), (1,)),
]


@pytest.mark.parametrize("source", [BELL2, BELL3])
def test_bell_both_versions(source: str) -> None:
    c = parse_qasm(source, name="bell")
    assert c.name == "bell"
    assert (c.num_qubits, c.num_clbits) == (2, 2)
    assert ops(c) == BELL_OPS
    assert c.qregs == (Register("q", 2, 0),)
    assert c.cregs == (Register("c", 2, 0),)
    assert c.is_bound
    assert c.parameters == ()


def test_from_qasm_delegates() -> None:
    assert ops(Circuit.from_qasm(BELL3)) == BELL_OPS


def test_ghz_with_broadcast_measure_qasm2() -> None:
    src = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[4]; creg c[4];
h q[0];
cx q[0],q[1]; cx q[1],q[2]; cx q[2],q[3];
barrier q;
measure q -> c;
"""
    c = parse_qasm(src)
    names = [i.name for i in c.instructions]
    assert names == ["h", "cx", "cx", "cx", "barrier"] + ["measure"] * 4
    assert c.instructions[4].qubits == (0, 1, 2, 3)
    assert [i.clbits for i in c.instructions[5:]] == [(0,), (1,), (2,), (3,)]


def test_multiple_registers_flattened_in_declaration_order() -> None:
    src = """OPENQASM 2.0;
include "qelib1.inc";
qreg a[2];
creg m[1];
qreg b[3];
creg n[2];
x b[2];
cx a[1], b[0];
measure b[2] -> n[1];
measure a[0] -> m[0];
"""
    c = parse_qasm(src)
    assert (c.num_qubits, c.num_clbits) == (5, 3)
    assert c.qregs == (Register("a", 2, 0), Register("b", 3, 2))
    assert c.cregs == (Register("m", 1, 0), Register("n", 2, 1))
    assert ops(c) == [
        ("x", (4,), (), ()),
        ("cx", (1, 2), (), ()),
        ("measure", (4,), (), (2,)),
        ("measure", (0,), (), (0,)),
    ]


def test_register_broadcasting() -> None:
    src = """OPENQASM 3;
include "stdgates.inc";
qubit[3] a;
qubit[3] b;
qubit t;
bit[3] c;
h a;
cx a, b;
cx a[0], b;
rz(0.5) b;
ccx a, b, t;
c = measure b;
reset a;
"""
    c = parse_qasm(src)
    assert ops(c) == [
        *[("h", (k,), (), ()) for k in range(3)],
        *[("cx", (k, 3 + k), (), ()) for k in range(3)],
        *[("cx", (0, 3 + k), (), ()) for k in range(3)],
        *[("rz", (3 + k,), (0.5,), ()) for k in range(3)],
        *[("ccx", (k, 3 + k, 6), (), ()) for k in range(3)],
        *[("measure", (3 + k,), (), (k,)) for k in range(3)],
        *[("reset", (k,), (), ()) for k in range(3)],
    ]
    assert c.qregs[2] == Register("t", 1, 6)


def test_single_qubit_and_bit_declarations() -> None:
    c = parse_qasm("qubit q; qubit r; bit b; h q; cx q, r; b = measure r;")
    assert ops(c) == [("h", (0,), (), ()), ("cx", (0, 1), (), ()), ("measure", (1,), (), (0,))]


def test_missing_version_line_reads_as_qasm3() -> None:
    c = parse_qasm('include "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nx q[0];\nc[0] = measure q[0];')
    assert ops(c) == [("x", (0,), (), ()), ("measure", (0,), (), (0,))]


def test_qasm3_accepts_legacy_declarations_and_arrow_measure() -> None:
    c = parse_qasm("OPENQASM 3.0;\nqreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];")
    assert ops(c) == [("measure", (0,), (), (0,))]


def test_aliases_map_to_canonical_names() -> None:
    src = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
u1(0.1) q[0];
u(0.1, 0.2, 0.3) q[0];
U(0.1, 0.2, 0.3) q[1];
cu1(0.4) q[0], q[1];
CX q[0], q[1];
u2(0.1, 0.2) q[0];
"""
    c = parse_qasm(src)
    assert [(i.name, i.params) for i in c.instructions] == [
        ("p", (0.1,)),
        ("u3", (0.1, 0.2, 0.3)),
        ("u3", (0.1, 0.2, 0.3)),
        ("cp", (0.4,)),
        ("cx", ()),
        ("u2", (0.1, 0.2)),
    ]
    c3 = parse_qasm("qubit[2] q; phase(1) q[0]; cphase(2) q[0], q[1];")
    assert [(i.name, i.params) for i in c3.instructions] == [("p", (1.0,)), ("cp", (2.0,))]


def test_every_table_gate_is_readable() -> None:
    from qjobs.circuit._gates import GATES

    lines = ["OPENQASM 3.0;", "qubit[3] q;"]
    for spec in GATES.values():
        params = ", ".join(str(0.1 * (k + 1)) for k in range(spec.num_params))
        qubits = ", ".join(f"q[{k}]" for k in range(spec.num_qubits))
        lines.append(f"{spec.name}({params}) {qubits};" if params else f"{spec.name} {qubits};")
    c = parse_qasm("\n".join(lines))
    assert [i.name for i in c.instructions] == list(GATES)
    for i in c.instructions:
        assert i.params == tuple(pytest.approx(0.1 * (k + 1)) for k in range(len(i.params)))


def test_comments_and_whitespace() -> None:
    src = """// leading comment
OPENQASM 2.0; /* block
comment */ include "qelib1.inc";
qreg q[1]; // trailing
/* inline */ x /* between */ q[0];
"""
    assert ops(parse_qasm(src)) == [("x", (0,), (), ())]


def test_barrier_forms() -> None:
    c = parse_qasm(
        "OPENQASM 2.0;\nqreg a[2];\nqreg b[1];\nbarrier;\nbarrier a[1], b, a[1];\nbarrier a;"
    )
    assert [i.qubits for i in c.instructions] == [(0, 1, 2), (1, 2), (0, 1)]
    assert all(i.name == "barrier" for i in c.instructions)


# -- expressions ------------------------------------------------------------------------------


def one_param(expr: str) -> float | Expr:
    c = parse_qasm(f"OPENQASM 3.0;\nqubit[1] q;\nrz({expr}) q[0];")
    return c.instructions[0].params[0]


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("pi", math.pi),
        ("π/2", math.pi / 2),
        ("tau", math.tau),
        ("τ", math.tau),
        ("euler", math.e),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("8 / 4 / 2", 1.0),
        ("10 - 4 - 3", 3.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("2 ** 3 ** 2", 512.0),
        ("(2 ^ 3) ^ 2", 64.0),
        ("-2 ^ 2", -4.0),
        ("2 ^ -1", 0.5),
        ("--1", 1.0),
        ("+3", 3.0),
        ("-pi/4", -math.pi / 4),
        ("1.5e-3", 1.5e-3),
        ("2E2", 200.0),
        (".5", 0.5),
        ("3.", 3.0),
        ("sin(pi/2)", 1.0),
        ("cos(0)", 1.0),
        ("tan(pi/4)", math.tan(math.pi / 4)),
        ("exp(1)", math.e),
        ("ln(euler)", 1.0),
        ("sqrt(2)", math.sqrt(2)),
        ("arcsin(1)", math.pi / 2),
        ("arccos(1)", 0.0),
        ("arctan(1)", math.pi / 4),
        ("2*sin(pi/6)^2 + 1", 1.5),
    ],
)
def test_constant_expressions_fold(expr: str, value: float) -> None:
    got = one_param(expr)
    assert isinstance(got, float)
    assert got == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_symbolic_expressions_keep_structure() -> None:
    got = one_param("2*theta - phi/2")
    assert isinstance(got, Expr)
    assert got.free_symbols == {"theta", "phi"}
    assert got == Expr(
        "-",
        (
            Expr("*", (Expr.num(2.0), Expr.sym("theta"))),
            Expr("/", (Expr.sym("phi"), Expr.num(2.0))),
        ),
    )
    assert got.evaluate({"theta": 1.0, "phi": 4.0}) == pytest.approx(0.0)
    power = one_param("a ^ b ^ 2")
    assert power == Expr("**", (Expr.sym("a"), Expr("**", (Expr.sym("b"), Expr.num(2.0)))))
    neg = one_param("-x ** 2")
    assert neg == Expr("neg", (Expr("**", (Expr.sym("x"), Expr.num(2.0))),))
    assert one_param("sin(x)") == Expr("sin", (Expr.sym("x"),))


def test_input_declarations_and_free_identifiers() -> None:
    src = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input angle phi;
input angle[32] lam;
qubit[2] q;
rx(theta) q[0];
ry(phi + lam) q[1];
rzz(gamma) q[0], q[1];
"""
    c = parse_qasm(src)
    assert c.parameters == ("gamma", "lam", "phi", "theta")
    assert c.instructions[0].params == (Expr.sym("theta"),)
    assert not c.is_bound


# -- gate definitions -------------------------------------------------------------------------


def test_user_gate_is_inlined_with_parameters() -> None:
    src = """OPENQASM 2.0;
include "qelib1.inc";
gate rot(a, b) x, y { rx(a) x; ry(2*b) y; cx x, y; }
gate outer(t) p, r { rot(t, t/2) r, p; barrier p, r; h p; }
qreg q[3];
outer(0.5) q[2], q[0];
rot(theta, 1) q[0], q[1];
"""
    c = parse_qasm(src)
    assert ops(c) == [
        ("rx", (0,), (0.5,), ()),
        ("ry", (2,), (0.5,), ()),
        ("cx", (0, 2), (), ()),
        ("barrier", (2, 0), (), ()),
        ("h", (2,), (), ()),
        ("rx", (0,), (Expr.sym("theta"),), ()),
        ("ry", (1,), (2.0,), ()),
        ("cx", (0, 1), (), ()),
    ]


def test_user_gate_broadcasts() -> None:
    src = "qubit[2] a; qubit[2] b; gate bell x, y { h x; cx x, y; } bell a, b;"
    assert ops(parse_qasm(src)) == [
        ("h", (0,), (), ()),
        ("cx", (0, 2), (), ()),
        ("h", (1,), (), ()),
        ("cx", (1, 3), (), ()),
    ]


def test_definition_of_a_known_gate_is_read_as_that_gate() -> None:
    src = """OPENQASM 3.0;
include "stdgates.inc";
gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }
gate sxdg a { h a; sdg a; h a; }
qubit[2] q;
rzz(0.25) q[0], q[1];
sxdg q[1];
"""
    assert ops(parse_qasm(src)) == [("rzz", (0, 1), (0.25,), ()), ("sxdg", (1,), (), ())]


def test_gphase_is_dropped() -> None:
    src = "qubit[1] q; gphase(0.5); gate g a { gphase(pi); x a; } g q[0];"
    assert ops(parse_qasm(src)) == [("x", (0,), (), ())]


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("OPENQASM 2.0;\nqreg q[2];\nfoo q[0];\n", 3, 1, "unknown gate 'foo'"),
        ("OPENQASM 2.0;\nqreg q[2];\nh q[2];\n", 3, 5, "out of range"),
        ("OPENQASM 2.0;\nqreg q[2];\n  cx q[0], q[0];\n", 3, 3, "same qubit"),
        ('OPENQASM 2.0;\ninclude "other.inc";\n', 2, 9, "other.inc"),
        ("OPENQASM 3.0;\nqubit[2] q;\nfor int i in [0:1] { h q[i]; }\n", 3, 1, "loops"),
        ("OPENQASM 3.0;\nqubit[2] q;\nif (c == 1) x q[0];\n", 3, 1, "control flow"),
        ("OPENQASM 3.0;\nqubit[2] q;\nctrl @ x q[0], q[1];\n", 3, 1, "modifiers"),
        ("OPENQASM 3.0;\nqubit[2] q;\ndef f(qubit a) { h a; }\n", 3, 1, "subroutines"),
        ("OPENQASM 2.0;\nqreg q[1];\nopaque g q;\n", 3, 1, "opaque"),
        ("OPENQASM 3.0;\nqubit[1] q;\nrx(1/0) q[0];\n", 3, 5, "cannot evaluate"),
        ("OPENQASM 3.0;\nqubit[1] q;\nrx(0.1 q[0];\n", 3, 8, "expected ')'"),
        ("OPENQASM 3.0;\nqubit[1] q;\nh q[0]\n", 3, 7, "expected ';'"),
        ("OPENQASM 3.0;\nqubit[1] q;\nrx(1, 2) q[0];\n", 3, 1, "takes 1 parameter"),
        ("OPENQASM 3.0;\nqubit[2] q;\ncx q[0];\n", 3, 1, "takes 2 qubit"),
        ("OPENQASM 3.0;\nqubit[2] q;\nh r[0];\n", 3, 3, "undeclared register 'r'"),
        ("OPENQASM 4.0;\n", 1, 10, "version"),
        ("OPENQASM 2.0;\nqubit[2] q;\n", 2, 1, "OpenQASM 3"),
        ("qubit[2] a; qubit[3] b;\ncx a, b;", 2, 1, "different sizes"),
        ("qubit[2] q; bit[3] c;\nc = measure q;", 2, 1, "equal size"),
        ("qubit[2] q;\n/* never closed\nh q[0];", 2, 1, "'/*'"),
        ("qubit[1] q; int[32] x;", 1, 13, "classical declarations"),
        ("qubit[1] q;\nmeasure q[0];", 2, 13, "target"),
        ("qubit[1] q;\ngate g a { measure a; }", 2, 12, "not allowed in a gate body"),
        ("qubit[1] q;\ngate g(t) a { rx(s) a; }", 2, 18, "'s' is not a parameter"),
        ("qubit[1] q;\nqubit[2] q;", 2, 10, "already declared"),
        ("qubit[1] q;\nrx(q) q[0];", 2, 4, "register 'q'"),
        ("qubit[1] q;\nrx(sqrt(-1)) q[0];", 2, 4, "undefined"),
        ("OPENQASM 2.0;\nqreg q[1];\nOPENQASM 2.0;", 3, 1, "first statement"),
        ("qubit[1] q;\nh $0;", 2, 3, "physical qubits"),
        ("qubit[1] q; bit[1] c;\nh c[0];", 2, 3, "classical register"),
        ('include "stdgates.inc";\ngate rx(a, b) x { }', 2, 6, "cannot be redefined"),
    ],
)
def test_error_positions(source: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(QasmError) as info:
        parse_qasm(source)
    err = info.value
    assert fragment in err.message
    assert (err.line, err.column) == (line, column), err.message
    assert isinstance(err, InputError)
    assert f"line {line}, column {column}" in str(err)


def test_non_string_source_is_an_input_error() -> None:
    with pytest.raises(InputError):
        parse_qasm(b"OPENQASM 2.0;")  # type: ignore[arg-type]


def test_error_column_counts_characters_after_unicode() -> None:
    with pytest.raises(QasmError) as info:
        parse_qasm("qubit[1] q;\nrz(π) q[0]; bad q[0];")
    assert (info.value.line, info.value.column) == (2, 13)


def test_seeded_random_programs_match_builder() -> None:
    import numpy as np

    from qjobs.circuit._gates import GATES, NATIVE_GATES

    rng = np.random.default_rng(1234)
    names = [g for g in GATES if g not in NATIVE_GATES]
    for _ in range(50):
        nq = int(rng.integers(3, 6))
        expected: list[Instruction] = []
        lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', f"qubit[{nq}] q;", f"bit[{nq}] c;"]
        for _ in range(int(rng.integers(1, 30))):
            spec = GATES[names[int(rng.integers(len(names)))]]
            qs = tuple(int(x) for x in rng.permutation(nq)[: spec.num_qubits])
            ps = tuple(float(x) for x in rng.normal(size=spec.num_params))
            expected.append(Instruction(spec.name, qs, ps))
            args = ", ".join(f"q[{k}]" for k in qs)
            plist = "(" + ", ".join(repr(p) for p in ps) + ")" if ps else ""
            lines.append(f"{spec.name}{plist} {args};")
        lines.append("c = measure q;")
        expected += [Instruction("measure", (k,), (), (k,)) for k in range(nq)]
        assert list(parse_qasm("\n".join(lines)).instructions) == expected


# -- writers and round trips ------------------------------------------------------------------


def random_circuit(
    rng: np.random.Generator, *, native: bool, symbolic: bool, registers: bool
) -> Circuit:
    from qjobs.circuit._gates import GATES, NATIVE_GATES

    names = [g for g in GATES if native or g not in NATIVE_GATES]
    nq = int(rng.integers(3, 6))
    nc = int(rng.integers(1, 4))
    instructions: list[Instruction] = []
    for _ in range(int(rng.integers(1, 40))):
        roll = rng.random()
        if roll < 0.08:
            instructions.append(
                Instruction("measure", (int(rng.integers(nq)),), (), (int(rng.integers(nc)),))
            )
            continue
        if roll < 0.12:
            instructions.append(Instruction("reset", (int(rng.integers(nq)),)))
            continue
        if roll < 0.16:
            k = int(rng.integers(1, nq + 1))
            instructions.append(
                Instruction("barrier", tuple(int(x) for x in rng.permutation(nq)[:k]))
            )
            continue
        spec = GATES[names[int(rng.integers(len(names)))]]
        qs = tuple(int(x) for x in rng.permutation(nq)[: spec.num_qubits])
        params: list[float | Expr] = []
        for _ in range(spec.num_params):
            value = float(rng.normal() * 10 ** int(rng.integers(-8, 4)))
            if symbolic and rng.random() < 0.4:
                name = str(rng.choice(["theta", "phi", "gamma_1"]))
                params.append(Expr("*", (Expr.num(value), Expr.sym(name))))
            elif symbolic and rng.random() < 0.2:
                params.append(Expr("sin", (Expr.sym("phi"),)))
            else:
                params.append(value)
        instructions.append(Instruction(spec.name, qs, tuple(params)))
    qregs: tuple[Register, ...] = ()
    cregs: tuple[Register, ...] = ()
    if registers:
        qregs = (Register("alpha", 2, 0), Register("beta", nq - 2, 2))
        cregs = (Register("out", nc, 0),)
    return Circuit(nq, nc, tuple(instructions), qregs=qregs, cregs=cregs)


def test_round_trip_qasm2_seeded() -> None:
    rng = np.random.default_rng(2024)
    for trial in range(60):
        c = random_circuit(rng, native=False, symbolic=False, registers=trial % 2 == 0)
        text = c.to_qasm2()
        assert text.startswith('OPENQASM 2.0;\ninclude "qelib1.inc";\n')
        back = parse_qasm(text)
        assert back.instructions == c.instructions, text
        assert (back.num_qubits, back.num_clbits) == (c.num_qubits, c.num_clbits)
        if trial % 2 == 0:
            assert back.qregs == c.qregs
            assert back.cregs == c.cregs


def test_round_trip_qasm3_seeded_with_parameters_and_native_gates() -> None:
    rng = np.random.default_rng(99)
    for trial in range(60):
        c = random_circuit(rng, native=True, symbolic=True, registers=trial % 2 == 1)
        text = c.to_qasm3()
        back = parse_qasm(text)
        assert back.instructions == c.instructions, text
        assert back.parameters == c.parameters
        for name in c.parameters:
            assert f"input float[64] {name};" in text


def test_writer_default_register_names_and_layout() -> None:
    c = Circuit(2, 1, (Instruction("h", (0,)), Instruction("measure", (1,), (), (0,))))
    assert c.to_qasm2() == (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[1];\n'
        "h q[0];\nmeasure q[1] -> c[0];\n"
    )
    assert c.to_qasm3() == (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[1] c;\n'
        "h q[0];\nc[0] = measure q[1];\n"
    )


def test_writer_keeps_register_names_from_source() -> None:
    src = "OPENQASM 2.0;\nqreg a[1];\nqreg b[2];\ncreg m[3];\ncx a[0], b[1];\nmeasure b -> m[0];"
    with pytest.raises(QasmError):
        parse_qasm(src)  # register into one bit
    c = parse_qasm(src.replace("measure b -> m[0];", "measure b[1] -> m[2];"))
    text = c.to_qasm2()
    assert "qreg a[1];\nqreg b[2];\ncreg m[3];" in text
    assert "cx a[0],b[1];" in text
    assert "measure b[1] -> m[2];" in text


def test_writer_falls_back_when_registers_do_not_tile() -> None:
    c = Circuit(3, 0, (Instruction("x", (2,)),), qregs=(Register("a", 1, 0),))
    assert "qreg q[3];" in c.to_qasm2()
    clash = Circuit(1, 1, (), qregs=(Register("r", 1, 0),), cregs=(Register("r", 1, 0),))
    text = clash.to_qasm3()
    assert "qubit[1] r;" in text
    assert "bit[1] c;" in text
    reserved = Circuit(1, 0, (), qregs=(Register("measure", 1, 0),))
    assert "qubit[1] q;" in reserved.to_qasm3()


def test_qasm2_writer_rejects_what_qasm2_cannot_say() -> None:
    native = Circuit(1, 0, (Instruction("gpi", (0,), (0.25,)),))
    with pytest.raises(InputError, match="native"):
        native.to_qasm2()
    free = parse_qasm("qubit[1] q; rx(theta) q[0];")
    with pytest.raises(InputError, match="free parameters") as info:
        free.to_qasm2()
    assert info.value.field == "instructions[0].params[0]"
    constant = Circuit(1, 0, (Instruction("rx", (0,), (Expr.num(0.5),)),))
    assert "rx(0.5) q[0];" in constant.to_qasm2()


def test_writers_reject_non_finite_and_bad_names() -> None:
    inf = Circuit(1, 0, (Instruction("rx", (0,), (math.inf,)),))
    with pytest.raises(InputError, match="finite"):
        inf.to_qasm2()
    with pytest.raises(InputError, match="finite"):
        inf.to_qasm3()
    bad = Circuit(1, 0, (Instruction("rx", (0,), (Expr.sym("not valid"),)),))
    with pytest.raises(InputError, match="identifier"):
        bad.to_qasm3()
    shadow = Circuit(1, 0, (Instruction("rx", (0,), (Expr.sym("pi"),)),))
    with pytest.raises(InputError, match="identifier"):
        shadow.to_qasm3()


def test_small_and_large_floats_are_exact() -> None:
    values = [1e-300, -2.5e-17, 1e22, 0.1 + 0.2, -0.0, 5e-324, 123456789.123456789]
    c = Circuit(1, 0, tuple(Instruction("rz", (0,), (v,)) for v in values))
    for text in (c.to_qasm2(), c.to_qasm3()):
        back = parse_qasm(text)
        got = [i.params[0] for i in back.instructions]
        assert got == values
        assert str(got[4]) == "-0.0"


# -- the gate definitions the writers emit are the gates they name ------------------------------

_I2 = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1, -1]).astype(complex)


def _u3(t: float, p: float, lam: float) -> np.ndarray:
    return np.array(
        [
            [math.cos(t / 2), -np.exp(1j * lam) * math.sin(t / 2)],
            [np.exp(1j * p) * math.sin(t / 2), np.exp(1j * (p + lam)) * math.cos(t / 2)],
        ]
    )


_ONE: dict[str, object] = {
    "h": lambda: np.array([[1, 1], [1, -1]]) / math.sqrt(2),
    "sdg": lambda: np.diag([1, -1j]),
    "rx": lambda t: math.cos(t / 2) * _I2 - 1j * math.sin(t / 2) * _X,
    "rz": lambda t: np.diag([np.exp(-1j * t / 2), np.exp(1j * t / 2)]),
    "u3": _u3,
}


def _unitary(circuit: Circuit) -> np.ndarray:
    """Two-qubit unitary; qubit 0 is the first Kronecker factor."""
    u = np.eye(4, dtype=complex)
    for ins in circuit.instructions:
        if ins.name == "cx":
            c, t = ins.qubits
            p0, p1 = np.diag([1, 0]).astype(complex), np.diag([0, 1]).astype(complex)
            ops = [[p0, _I2], [p1, _I2]]
            ops[0][t], ops[1][c], ops[1][t] = _I2, p1, _X
            ops[0][c] = p0
            m = np.kron(ops[0][0], ops[0][1]) + np.kron(ops[1][0], ops[1][1])
        else:
            g = _ONE[ins.name](*ins.params)  # type: ignore[operator]
            m = np.kron(g, _I2) if ins.qubits == (0,) else np.kron(_I2, g)
        u = m @ u
    return u


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    phase = a[k] / b[k]
    return bool(abs(abs(phase) - 1) < 1e-9 and np.allclose(a, phase * b, atol=1e-9))


def _expected(name: str, params: tuple[float, ...]) -> np.ndarray:
    def pair(op: np.ndarray, angle: float) -> np.ndarray:
        return math.cos(angle) * np.eye(4) - 1j * math.sin(angle) * op

    def p(f: float) -> np.ndarray:
        return np.array([[0, np.exp(-2j * math.pi * f)], [np.exp(2j * math.pi * f), 0]])

    sx = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
    table = {
        "sxdg": lambda: np.kron(sx.conj().T, _I2),
        "rxx": lambda t: pair(np.kron(_X, _X), t / 2),
        "ryy": lambda t: pair(np.kron(_Y, _Y), t / 2),
        "rzz": lambda t: pair(np.kron(_Z, _Z), t / 2),
        "zz": lambda t: pair(np.kron(_Z, _Z), math.pi * t),
        "gpi": lambda f: np.kron(p(f), _I2),
        "gpi2": lambda f: np.kron((_I2 - 1j * p(f)) / math.sqrt(2), _I2),
        "ms": lambda f0, f1, t: pair(np.kron(p(f0), p(f1)), math.pi * t),
    }
    return table[name](*params)  # type: ignore[no-any-return, operator]


@pytest.mark.parametrize("qasm3", [True, False])
def test_emitted_definitions_match_the_ir_conventions(qasm3: bool) -> None:
    from qjobs.circuit._qasm_out import _QASM2_DEFS, _QASM3_DEFS

    defs = _QASM3_DEFS if qasm3 else _QASM2_DEFS
    rng = np.random.default_rng(5)
    from qjobs.circuit._gates import GATES

    for name, text in defs.items():
        spec = GATES[name]
        renamed = text.replace(f"gate {name}", "gate check", 1)
        for _ in range(3):
            params = tuple(float(x) for x in rng.uniform(-2, 2, size=spec.num_params))
            args = ", ".join(repr(x) for x in params)
            call = f"check({args})" if params else "check"
            qubits = "q[0], q[1]" if spec.num_qubits == 2 else "q[0]"
            version = "OPENQASM 3.0;" if qasm3 else "OPENQASM 2.0;"
            c = parse_qasm(f"{version}\nqreg q[2];\n{renamed}\n{call} {qubits};")
            assert all(i.name in _ONE or i.name == "cx" for i in c.instructions)
            assert _same_up_to_phase(_unitary(c), _expected(name, params)), name
