"""Parameter binding: bind and bind_many semantics, vectorised evaluation, shared instructions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from qjobs import Circuit, Expr, InputError, Instruction
from qjobs.circuit._binding import bind_many

TEMPLATE = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] a;
input float[64] b;
input float[64] g;
qubit[4] q;
bit[4] c;
h q;
ry(a) q[0];
ry(a) q[1];
ry(2*b - 1) q[2];
cx q[0], q[1];
rzz(g) q[2], q[3];
u3(a, 0.5, sin(g)) q[3];
c = measure q;
"""


@pytest.fixture
def template() -> Circuit:
    return Circuit.from_qasm(TEMPLATE, name="ansatz")


def test_bind_substitutes_floats_and_shares_fixed_instructions(template: Circuit) -> None:
    bound = template.bind({"a": 0.25, "b": 1.0, "g": math.pi / 2})
    assert bound.is_bound
    assert bound.parameters == ()
    assert bound.name == "ansatz"
    assert (bound.num_qubits, bound.num_clbits) == (4, 4)
    assert bound.qregs == template.qregs
    assert bound.cregs == template.cregs
    by_name = [(i.name, i.params) for i in bound.instructions if i.params]
    assert by_name == [
        ("ry", (0.25,)),
        ("ry", (0.25,)),
        ("ry", (1.0,)),
        ("rzz", (math.pi / 2,)),
        ("u3", (0.25, 0.5, 1.0)),
    ]
    for old, new in zip(template.instructions, bound.instructions, strict=True):
        if not any(isinstance(p, Expr) for p in old.params):
            assert new is old
        else:
            assert new is not old
        assert all(type(p) is float for p in new.params)
    # The template itself is untouched.
    assert not template.is_bound


def test_bind_rejects_unknown_missing_and_non_finite(template: Circuit) -> None:
    with pytest.raises(InputError) as info:
        template.bind({"a": 1, "b": 2, "g": 3, "zeta": 4, "eta": 5})
    assert info.value.value == ["eta", "zeta"]
    assert "unknown" in info.value.reason
    with pytest.raises(InputError) as info:
        template.bind({"a": 1})
    assert info.value.value == ["b", "g"]
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(InputError, match="finite") as info:
            template.bind({"a": 1, "b": bad, "g": 3})
        assert info.value.field == "values['b']"
    with pytest.raises(InputError, match="not a number"):
        template.bind({"a": 1, "b": "x", "g": 3})  # type: ignore[dict-item]


def test_bind_reports_non_finite_results() -> None:
    c = Circuit.from_qasm("qubit[1] q; rx(1/t) q[0]; ry(sqrt(s)) q[0];")
    with pytest.raises(InputError, match="evaluates to"):
        c.bind({"t": 0.0, "s": 1.0})
    with pytest.raises(InputError, match="evaluates to"):
        c.bind({"t": 1.0, "s": -1.0})


def test_bind_many_matches_bind_point_by_point(template: Circuit) -> None:
    rng = np.random.default_rng(7)
    n = 64
    cols: dict[str, Sequence[float] | npt.NDArray[np.float64]] = {
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "g": [float(x) for x in rng.normal(size=n)],
    }
    many = template.bind_many(cols)
    assert len(many) == n
    for i, circuit in enumerate(many):
        one = template.bind({k: float(v[i]) for k, v in cols.items()})
        assert circuit.instructions == one.instructions
        assert circuit.name == "ansatz"
        assert circuit.is_bound


def test_bind_many_shares_fixed_instructions_across_points(template: Circuit) -> None:
    many = template.bind_many({"a": [0.1, 0.2, 0.3], "b": [1.0, 2.0, 3.0], "g": [0, 0, 0]})
    fixed = [k for k, i in enumerate(template.instructions) if not i.params]
    assert fixed
    for circuit in many:
        for k in fixed:
            assert circuit.instructions[k] is template.instructions[k]
    # Bound instructions are new objects, distinct per point.
    k = next(k for k, i in enumerate(template.instructions) if i.params)
    assert len({id(c.instructions[k]) for c in many}) == 3


def test_bind_many_evaluates_each_distinct_expression_once(
    template: Circuit, monkeypatch: pytest.MonkeyPatch
) -> None:
    top_level: list[Expr] = []
    depth = 0
    original = Expr.evaluate

    def counting(self: Expr, values: object) -> object:
        nonlocal depth
        if depth == 0:
            top_level.append(self)
        depth += 1
        try:
            return original(self, values)  # type: ignore[arg-type]
        finally:
            depth -= 1

    monkeypatch.setattr(Expr, "evaluate", counting)
    n = 1000
    out = template.bind_many({"a": np.zeros(n), "b": np.ones(n), "g": np.linspace(0, 1, n)})
    assert len(out) == n
    # Distinct expressions: a (used three times), 2*b - 1, g and sin(g): four evaluations in all,
    # whatever the number of points.
    assert sorted(e.to_qasm() for e in top_level) == ["((2.0 * b) - 1.0)", "a", "g", "sin(g)"]


def test_bind_many_constant_expression_and_numpy_input() -> None:
    c = Circuit(
        1,
        0,
        (
            Instruction("rx", (0,), (Expr.num(0.5),)),
            Instruction("ry", (0,), (Expr.sym("t"),)),
        ),
    )
    out = c.bind_many({"t": np.array([1.0, 2.0])})
    assert [i.params for i in out[1].instructions] == [(0.5,), (2.0,)]


def test_bind_many_validation(template: Circuit) -> None:
    with pytest.raises(InputError, match="different length"):
        template.bind_many({"a": [1, 2], "b": [1, 2, 3], "g": [1, 2]})
    with pytest.raises(InputError, match="unknown"):
        template.bind_many({"a": [1], "b": [1], "g": [1], "x": [1]})
    with pytest.raises(InputError, match="without a value"):
        template.bind_many({"a": [1], "b": [1]})
    with pytest.raises(InputError, match="finite") as info:
        template.bind_many({"a": [1, 2, np.nan], "b": [1, 2, 3], "g": [1, 2, 3]})
    assert info.value.field == "columns['a'][2]"
    with pytest.raises(InputError, match="one-dimensional"):
        template.bind_many({"a": np.zeros((2, 2)), "b": [1, 2], "g": [1, 2]})
    with pytest.raises(InputError, match="not a sequence"):
        template.bind_many({"a": ["x"], "b": [1], "g": [1]})


def test_bind_many_reports_the_first_bad_point() -> None:
    c = Circuit.from_qasm("qubit[1] q; rx(ln(t)) q[0];")
    with pytest.raises(InputError, match="point 2"):
        c.bind_many({"t": [1.0, 2.0, 0.0, -1.0]})


def test_bind_many_empty_and_parameterless() -> None:
    c = Circuit.from_qasm("qubit[1] q; rx(t) q[0];")
    assert c.bind_many({"t": []}) == []
    fixed = Circuit.from_qasm("qubit[1] q; h q[0];")
    assert fixed.bind({}).instructions == fixed.instructions
    assert fixed.bind_many({}) == []


def test_bind_many_accepts_any_array_like_column() -> None:
    # Typed as npt.ArrayLike: integer arrays, ranges, tuples and scalars-in-lists all pass mypy
    # (with the former Sequence[float] | NDArray[float64] annotation an int array did not).
    c = Circuit(1, 0, (Instruction("rx", (0,), (Expr.sym("t"),)),))
    ints: npt.NDArray[np.int64] = np.arange(3, dtype=np.int64)
    columns: dict[str, npt.ArrayLike] = {"t": ints}
    for col in (ints, range(3), (0, 1, 2), [0.0, 1.0, 2.0], np.linspace(0, 2, 3)):
        out = c.bind_many({"t": col})
        assert [i.params for ins in out for i in ins.instructions] == [(0.0,), (1.0,), (2.0,)]
    assert len(bind_many(c, columns)) == 3
    with pytest.raises(InputError, match="one-dimensional"):
        c.bind_many({"t": 1.0})
