"""Sympy expressions (Cirq symbols, Braket free parameters) to qjobs :class:`Expr` parameters.

Imported only by the foreign-circuit adapters, which already have sympy through their framework.
A constant expression becomes a float; symbols become parameter names; ``+ * **``, ``pi``, ``E``
and the functions of :data:`qjobs.circuit._expr.FUNCTIONS` are kept symbolic. Anything else
raises :class:`~qjobs.InputError` naming the expression.
"""

from __future__ import annotations

from typing import Any

from qjobs._core.errors import InputError
from qjobs.circuit._expr import FUNCTIONS, Expr
from qjobs.circuit._foreign import load

__all__ = ["from_sympy"]


def from_sympy(value: Any, *, where: str) -> float | Expr:
    """Convert a number or sympy expression to a float or an :class:`Expr`.

    ``where`` names the instruction the value belongs to, for the error message.
    """
    free = getattr(value, "free_symbols", None)
    if not free:
        try:
            number = complex(value)
        except (TypeError, ValueError):
            raise InputError(where, value, "parameter is not a number or expression") from None
        if number.imag:
            raise InputError(where, value, "parameter is complex")
        return number.real
    return _convert(value, where)


def _convert(node: Any, where: str) -> Expr:
    sympy = load("sympy")

    if not node.free_symbols:
        return Expr.num(float(node))
    if isinstance(node, sympy.Symbol):
        return Expr.sym(node.name)
    if isinstance(node, sympy.Add | sympy.Mul):
        op = "+" if isinstance(node, sympy.Add) else "*"
        args = [_convert(a, where) for a in node.args]
        out = args[0]
        for arg in args[1:]:
            out = Expr(op, (out, arg))
        return out
    if isinstance(node, sympy.Pow):
        base, exponent = node.args
        if exponent == sympy.Rational(1, 2):
            return Expr("sqrt", (_convert(base, where),))
        return Expr("**", (_convert(base, where), _convert(exponent, where)))
    name = type(node).__name__.lower()
    if isinstance(node, sympy.Function) and name in FUNCTIONS and len(node.args) == 1:
        return Expr(name, (_convert(node.args[0], where),))
    raise InputError(where, str(node), "parameter expression is not supported")
