"""Symbolic parameter expressions: numbers, free names, arithmetic and a few functions.

An :class:`Expr` is an immutable tree. :meth:`Expr.evaluate` accepts floats or numpy arrays for
the free names, so one evaluation can bind a whole parameter grid at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import numpy as np

from qjobs._errors import InputError

__all__ = ["FUNCTIONS", "Expr"]

#: Functions allowed in expressions, by their OpenQASM name.
FUNCTIONS: Final[dict[str, Callable[[Any], Any]]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "ln": np.log,
    "log": np.log,
    "sqrt": np.sqrt,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
}

_BINARY: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


@attrs.frozen(slots=True, cache_hash=True)
class Expr:
    """An expression node.

    ``op`` is ``"num"`` (``args == (value,)``), ``"sym"`` (``args == (name,)``), ``"neg"``, one of
    ``+ - * / **`` (two operands), or a function name from :data:`FUNCTIONS` (one operand).
    """

    op: str
    args: tuple[Any, ...]

    @staticmethod
    def num(value: float) -> Expr:
        """A numeric constant."""
        return Expr("num", (float(value),))

    @staticmethod
    def sym(name: str) -> Expr:
        """A free parameter name."""
        return Expr("sym", (name,))

    @property
    def free_symbols(self) -> frozenset[str]:
        """The free parameter names in this expression."""
        if self.op == "sym":
            return frozenset(self.args)
        if self.op == "num":
            return frozenset()
        out: frozenset[str] = frozenset()
        for a in self.args:
            out |= a.free_symbols
        return out

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate with ``values`` for the free names (floats or numpy arrays).

        A missing name raises :class:`~qjobs.InputError` naming it.
        """
        op = self.op
        if op == "num":
            return self.args[0]
        if op == "sym":
            name = self.args[0]
            try:
                return values[name]
            except KeyError:
                raise InputError(name, None, "parameter has no value") from None
        if op == "neg":
            return -self.args[0].evaluate(values)
        binary = _BINARY.get(op)
        if binary is not None:
            return binary(self.args[0].evaluate(values), self.args[1].evaluate(values))
        return FUNCTIONS[op](self.args[0].evaluate(values))

    def to_qasm(self) -> str:
        """OpenQASM text for this expression (fully parenthesised where needed)."""
        op = self.op
        if op == "num":
            return repr(self.args[0]) if not math.isinf(self.args[0]) else "inf"
        if op == "sym":
            return str(self.args[0])
        if op == "neg":
            return f"-({self.args[0].to_qasm()})"
        if op in _BINARY:
            sym = "^" if op == "**" else op
            return f"({self.args[0].to_qasm()} {sym} {self.args[1].to_qasm()})"
        return f"{op}({self.args[0].to_qasm()})"

    def __str__(self) -> str:
        return self.to_qasm()
