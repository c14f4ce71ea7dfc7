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

from qjobs._core.errors import InputError

__all__ = ["FUNCTIONS", "MAX_EXPR_DEPTH", "MAX_EXPR_NODES", "Expr"]

#: The deepest expression tree allowed (a name or number has depth 1). Evaluation recurses once
#: per level, so this keeps every walk over an expression far from Python's recursion limit.
MAX_EXPR_DEPTH: Final = 100

#: The most nodes an expression tree may have, counting a shared sub-expression once per use.
#: Substituting expressions into each other (e.g. nested ``gate`` definitions) can double the
#: size at each step; this bounds the work of every later walk over the tree.
MAX_EXPR_NODES: Final = 10_000

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
    "**": np.power,
}


@attrs.frozen(slots=True, cache_hash=True)
class Expr:
    """An expression node.

    ``op`` is ``"num"`` (``args == (value,)``), ``"sym"`` (``args == (name,)``), ``"neg"``, one of
    ``+ - * / **`` (two operands), or a function name from :data:`FUNCTIONS` (one operand).
    """

    op: str
    args: tuple[Any, ...]
    #: Depth of the tree (1 for a number or a name).
    depth: int = attrs.field(init=False, eq=False, repr=False)
    #: Number of nodes of the tree, counting a shared sub-expression once per use.
    size: int = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        depth = size = 1
        if self.op not in ("num", "sym"):
            for arg in self.args:
                if not isinstance(arg, Expr):
                    raise InputError("expression", arg, f"an operand of '{self.op}' is not an Expr")
                depth = max(depth, arg.depth + 1)
                size += arg.size
            if depth > MAX_EXPR_DEPTH:
                raise InputError(
                    "expression", self.op, f"nested more than {MAX_EXPR_DEPTH} levels deep"
                )
            if size > MAX_EXPR_NODES:
                raise InputError("expression", self.op, f"has more than {MAX_EXPR_NODES} nodes")
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "size", size)

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

    def substitute(self, values: Mapping[str, float | Expr]) -> float | Expr:
        """Replace free names found in ``values`` by numbers or expressions.

        Sub-expressions that become constant are folded to floats, so the result is a ``float``
        when no free name is left. Names absent from ``values`` stay free.
        """
        op = self.op
        if op == "num":
            return float(self.args[0])
        if op == "sym":
            return values.get(self.args[0], self)
        args = [a.substitute(values) for a in self.args]
        if all(not isinstance(a, Expr) for a in args):
            return float(_fold(op, args))
        return Expr(op, tuple(a if isinstance(a, Expr) else Expr.num(a) for a in args))

    def to_qasm(self) -> str:
        """OpenQASM 3 text for this expression (fully parenthesised; power is ``**``)."""
        op = self.op
        if op == "num":
            return repr(self.args[0]) if not math.isinf(self.args[0]) else "inf"
        if op == "sym":
            return str(self.args[0])
        if op == "neg":
            return f"-({self.args[0].to_qasm()})"
        if op in _BINARY:
            return f"({self.args[0].to_qasm()} {op} {self.args[1].to_qasm()})"
        return f"{op}({self.args[0].to_qasm()})"

    def __str__(self) -> str:
        return self.to_qasm()


_MATH: Final[dict[str, Callable[[float], float]]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "ln": math.log,
    "log": math.log,
    "sqrt": math.sqrt,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
}


def _fold(op: str, args: list[Any]) -> float:
    """Apply ``op`` to float operands with Python's math (raises on domain errors)."""
    if op == "neg":
        return -float(args[0])
    if op == "**":
        return math.pow(float(args[0]), float(args[1]))
    binary = _BINARY.get(op)
    if binary is not None:
        return float(binary(float(args[0]), float(args[1])))
    return _MATH[op](float(args[0]))
