"""Expr: evaluation on floats and arrays, substitution with folding, OpenQASM text."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qjobs import Expr, InputError, QasmError
from qjobs.circuit._qasm import parse_qasm


def parse_expr(text: str) -> float | Expr:
    return parse_qasm(f"qubit[1] q; rz({text}) q[0];").instructions[0].params[0]


def test_num_sym_and_free_symbols() -> None:
    assert Expr.num(2).args == (2.0,)
    assert Expr.sym("t").free_symbols == {"t"}
    e = Expr("+", (Expr.sym("a"), Expr("sin", (Expr.sym("b"),))))
    assert e.free_symbols == {"a", "b"}
    assert Expr.num(1.0).free_symbols == frozenset()


def test_evaluate_floats_and_arrays_agree() -> None:
    e = parse_expr("2*sin(a)^2 - b/3 + exp(-a) * sqrt(b) + arctan(a) - ln(b)")
    assert isinstance(e, Expr)
    rng = np.random.default_rng(3)
    a = rng.normal(size=50)
    b = rng.uniform(0.1, 5, size=50)
    vec = e.evaluate({"a": a, "b": b})
    assert vec.shape == (50,)
    for i in range(50):
        expected = (
            2 * math.sin(a[i]) ** 2
            - b[i] / 3
            + math.exp(-a[i]) * math.sqrt(b[i])
            + math.atan(a[i])
            - math.log(b[i])
        )
        assert float(e.evaluate({"a": float(a[i]), "b": float(b[i])})) == pytest.approx(expected)
        assert vec[i] == pytest.approx(expected)


def test_evaluate_missing_name_is_input_error() -> None:
    with pytest.raises(InputError) as info:
        Expr.sym("theta").evaluate({})
    assert info.value.field == "theta"


def test_substitute_folds_constants_and_keeps_free_names() -> None:
    e = parse_expr("a * b + 1")
    assert isinstance(e, Expr)
    assert e.substitute({"a": 2.0, "b": 3.0}) == 7.0
    partial = e.substitute({"a": 2.0})
    assert isinstance(partial, Expr)
    assert partial.free_symbols == {"b"}
    assert partial.evaluate({"b": 3.0}) == 7.0
    renamed = e.substitute({"a": Expr.sym("x")})
    assert isinstance(renamed, Expr)
    assert renamed.free_symbols == {"x", "b"}
    with pytest.raises(ZeroDivisionError):
        parse_expr("1/a").substitute({"a": 0.0})  # type: ignore[union-attr]


def test_to_qasm_round_trips_through_the_reader() -> None:
    rng = np.random.default_rng(11)
    ops = ["+", "-", "*", "/", "**"]
    funcs = ["sin", "cos", "exp", "arctan", "neg"]

    def random_expr(depth: int) -> Expr:
        if depth == 0 or rng.random() < 0.2:
            if rng.random() < 0.5:
                return Expr.sym(str(rng.choice(["a", "b", "c"])))
            return Expr.num(float(rng.normal()))
        if rng.random() < 0.3:
            return Expr(str(rng.choice(funcs)), (random_expr(depth - 1),))
        return Expr(str(rng.choice(ops)), (random_expr(depth - 1), random_expr(depth - 1)))

    checked = 0
    domain_errors: list[str] = []
    for _ in range(200):
        e = random_expr(4)
        if not e.free_symbols:
            continue
        if e.op == "neg" and e.args[0].op == "num":
            continue  # -(number) folds to a number when read back
        try:
            back = parse_expr(e.to_qasm())
        except QasmError as exc:
            # A constant sub-expression outside its domain (e.g. a negative base to a
            # fractional power) is reported when read, not folded to nan.
            domain_errors.append(exc.message)
            continue
        assert isinstance(back, Expr)
        values = {"a": np.float64(0.3), "b": np.float64(0.7), "c": np.float64(1.1)}
        with np.errstate(all="ignore"):
            want, got = e.evaluate(values), back.evaluate(values)
        if np.isfinite(want) and not isinstance(want, complex):
            assert got == pytest.approx(want, rel=1e-12)
        checked += 1
    assert checked > 100
    assert all("cannot evaluate" in m or "undefined" in m for m in domain_errors)


def test_to_qasm_uses_qasm3_power() -> None:
    e = Expr("**", (Expr.sym("a"), Expr.num(2.0)))
    assert e.to_qasm() == "(a ** 2.0)"
    assert str(Expr("neg", (Expr.sym("t"),))) == "-(t)"
