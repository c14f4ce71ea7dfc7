"""Parameter binding: substitute values for the free names of a circuit, one point or many.

:func:`bind_many` evaluates each distinct parameter expression once over whole numpy arrays, then
builds the bound instructions; instructions without symbolic parameters are shared (the same
objects) between the template and every bound copy. Nothing is re-parsed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs.circuit._expr import Expr
from qjobs.circuit._ir import Circuit, Instruction, Param

__all__ = ["bind", "bind_many"]


def _check_names(circuit: Circuit, given: Iterable[str], field: str) -> None:
    names = set(circuit.parameters)
    given_set = set(given)
    unknown = sorted(given_set - names)
    if unknown:
        raise InputError(
            field, unknown, f"unknown parameter name(s); the circuit has {sorted(names)}"
        )
    missing = sorted(names - given_set)
    if missing:
        raise InputError(field, missing, "parameter(s) without a value")


def bind(circuit: Circuit, values: Mapping[str, float]) -> Circuit:
    """Return a copy of ``circuit`` with every parameter a float.

    ``values`` must give a finite number for each free name and nothing else; otherwise
    :class:`~qjobs.InputError` names the offending names. Instructions without symbolic
    parameters are shared with ``circuit``.
    """
    if not isinstance(values, Mapping):
        raise InputError("values", values, "must be a mapping of parameter name to number")
    _check_names(circuit, values, "values")
    floats: dict[str, float] = {}
    for name, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"values[{name!r}]", value, "not a number") from None
        if not math.isfinite(number):
            raise InputError(f"values[{name!r}]", value, "must be finite")
        floats[name] = number
    out: list[Instruction] = []
    for pos, ins in enumerate(circuit.instructions):
        if not any(isinstance(p, Expr) for p in ins.params):
            out.append(ins)
            continue
        params: list[float] = []
        for k, p in enumerate(ins.params):
            if isinstance(p, Expr):
                with np.errstate(all="ignore"):
                    try:
                        number = float(p.evaluate(floats))
                    except (ValueError, ZeroDivisionError, OverflowError):
                        number = math.nan
                if not math.isfinite(number):
                    raise InputError(
                        f"instructions[{pos}].params[{k}]",
                        p.to_qasm(),
                        f"evaluates to {number} with {floats}",
                    )
                params.append(number)
            else:
                params.append(p)
        out.append(Instruction(ins.name, ins.qubits, tuple(params), ins.clbits))
    return Circuit._trusted(
        circuit.num_qubits,
        circuit.num_clbits,
        tuple(out),
        circuit.name,
        circuit.qregs,
        circuit.cregs,
    )


def _columns(circuit: Circuit, columns: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], int]:
    if not isinstance(columns, Mapping):
        raise InputError("columns", columns, "must be a mapping of parameter name to values")
    _check_names(circuit, columns, "columns")
    arrays: dict[str, np.ndarray] = {}
    length: int | None = None
    for name, column in columns.items():
        try:
            array = np.asarray(column, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"columns[{name!r}]", column, "not a sequence of numbers") from None
        if array.ndim != 1:
            raise InputError(
                f"columns[{name!r}]", array.shape, "must be one-dimensional (one value per point)"
            )
        if length is None:
            length = len(array)
        elif len(array) != length:
            raise InputError(
                f"columns[{name!r}]",
                len(array),
                f"has a different length from the others ({length})",
            )
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise InputError(
                f"columns[{name!r}][{int(bad[0])}]", float(array[bad[0]]), "must be finite"
            )
        arrays[name] = array
    return arrays, length or 0


def bind_many(circuit: Circuit, columns: Mapping[str, npt.ArrayLike]) -> list[Circuit]:
    """Bind many points at once: point ``i`` takes ``columns[name][i]`` for each free name.

    All columns must have the same length and finite values, and name exactly the circuit's free
    parameters. Each distinct expression is evaluated once, vectorised over all points; the
    result is one circuit per point, in order. A circuit without parameters takes an empty
    mapping and yields nothing to bind: the answer is then an empty list.
    """
    arrays, count = _columns(circuit, columns)
    # Evaluate every distinct expression once over the whole grid.
    values: dict[Expr, list[float]] = {}
    for pos, ins in enumerate(circuit.instructions):
        for k, p in enumerate(ins.params):
            if isinstance(p, Expr) and p not in values:
                with np.errstate(all="ignore"):
                    try:
                        result = np.asarray(p.evaluate(arrays), dtype=np.float64)
                    except (ValueError, ZeroDivisionError, OverflowError):
                        result = np.full(count, np.nan)
                result = np.broadcast_to(result, (count,))
                bad = np.flatnonzero(~np.isfinite(result))
                if bad.size:
                    point = int(bad[0])
                    raise InputError(
                        f"instructions[{pos}].params[{k}]",
                        p.to_qasm(),
                        f"is not finite at point {point} "
                        f"({ {n: float(a[point]) for n, a in arrays.items()} })",
                    )
                values[p] = result.tolist()
    # One column per instruction: the shared instruction repeated, or the bound copies.
    per_instruction: list[Iterable[Instruction]] = []
    for ins in circuit.instructions:
        if not any(isinstance(p, Expr) for p in ins.params):
            per_instruction.append(itertools.repeat(ins, count))
            continue
        param_columns: list[Iterable[Param]] = [
            values[p] if isinstance(p, Expr) else itertools.repeat(p, count) for p in ins.params
        ]
        name, qubits, clbits = ins.name, ins.qubits, ins.clbits
        per_instruction.append(
            [Instruction(name, qubits, ps, clbits) for ps in zip(*param_columns, strict=False)]
        )
    make = Circuit._trusted
    nq, nc, label, qregs, cregs = (
        circuit.num_qubits,
        circuit.num_clbits,
        circuit.name,
        circuit.qregs,
        circuit.cregs,
    )
    if not per_instruction:
        return [make(nq, nc, (), label, qregs, cregs) for _ in range(count)]
    return [
        make(nq, nc, instrs, label, qregs, cregs) for instrs in zip(*per_instruction, strict=False)
    ]
