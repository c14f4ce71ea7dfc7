"""Turn one gate into an in-place update of an n-qubit state tensor.

The state is a complex128 array of shape ``(2,) * n`` whose flat (C-order) index has qubit ``i``
as bit ``i``, so qubit ``q`` lives on axis ``n - 1 - q``. No 2**n x 2**n matrix is ever built:

* diagonal gates multiply the slices where their qubits take fixed values;
* one-qubit gates, and two-qubit gates that only mix the pairs ``00<->11`` and ``01<->10``
  (``swap``, ``rxx``, ``ryy``, ``ms``), update pairs of slices in place;
* controlled gates apply their target gate to the slice where every control is 1;
* anything else contracts with ``np.tensordot`` over the gate's axes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import EllipsisType

import numpy as np
import numpy.typing as npt

from qjobs.sim._matrices import CONTROLLED, Matrix, gate_matrix

__all__ = ["Applier", "State", "compile_gate", "fixed_index"]

#: A state tensor of shape ``(2,) * n``.
State = npt.NDArray[np.complex128]
#: Updates a state tensor in place.
Applier = Callable[[State], None]
_Index = tuple[int | slice | EllipsisType, ...]


def fixed_index(ndim: int, fixed: Sequence[tuple[int, int]]) -> _Index:
    """A basic index into a ``(2,) * ndim`` tensor fixing each ``(axis, bit)`` in ``fixed``.

    It ends with ``...`` so that indexing always gives a writable view, even a 0-d one.
    """
    ix: list[int | slice | EllipsisType] = [slice(None)] * ndim
    for axis, bit in fixed:
        ix[axis] = bit
    ix.append(Ellipsis)
    return tuple(ix)


def _bits(m: int, k: int) -> list[int]:
    """The k bits of ``m``, most significant first (big-endian over a gate's qubits)."""
    return [(m >> (k - 1 - j)) & 1 for j in range(k)]


def _slice_index(ndim: int, axes: Sequence[int], m: int) -> _Index:
    return fixed_index(ndim, list(zip(axes, _bits(m, len(axes)), strict=True)))


def _diagonal(ndim: int, axes: Sequence[int], diag: npt.NDArray[np.complex128]) -> Applier:
    steps = [
        (_slice_index(ndim, axes, m), complex(d)) for m, d in enumerate(diag.tolist()) if d != 1
    ]

    def apply(psi: State) -> None:
        for ix, d in steps:
            psi[ix] *= d

    return apply


def _pair_step(a: _Index, b: _Index, u: Matrix, i: int, j: int) -> Callable[[State], None] | None:
    """Update of the slices ``a`` and ``b`` by the 2x2 block ``u[[i, j]][:, [i, j]]``."""
    uaa, uab, uba, ubb = complex(u[i, i]), complex(u[i, j]), complex(u[j, i]), complex(u[j, j])
    if uab == 0 and uba == 0:
        if uaa == 1 and ubb == 1:
            return None

        def scale(psi: State) -> None:
            if uaa != 1:
                psi[a] *= uaa
            if ubb != 1:
                psi[b] *= ubb

        return scale
    if uaa == 0 and ubb == 0:

        def flip(psi: State) -> None:
            va, vb = psi[a], psi[b]
            tmp = va.copy() if uba == 1 else va * uba
            if uab == 1:
                va[...] = vb
            else:
                np.multiply(vb, uab, out=va)
            vb[...] = tmp

        return flip

    def mix(psi: State) -> None:
        va, vb = psi[a], psi[b]
        tmp = va * uaa
        tmp += vb * uab
        vb *= ubb
        vb += va * uba
        va[...] = tmp

    return mix


def _pairs(ndim: int, axes: Sequence[int], u: Matrix, pairs: Sequence[tuple[int, int]]) -> Applier:
    steps = []
    for i, j in pairs:
        step = _pair_step(_slice_index(ndim, axes, i), _slice_index(ndim, axes, j), u, i, j)
        if step is not None:
            steps.append(step)

    def apply(psi: State) -> None:
        for step in steps:
            step(psi)

    return apply


def _dense(axes: Sequence[int], u: Matrix) -> Applier:
    k = len(axes)
    tensor = np.ascontiguousarray(u).reshape((2,) * (2 * k))
    contract = (list(range(k, 2 * k)), list(axes))
    out_axes = list(range(k))
    dest = list(axes)

    def apply(psi: State) -> None:
        psi[...] = np.moveaxis(np.tensordot(tensor, psi, axes=contract), out_axes, dest)

    return apply


def _is_diagonal(u: Matrix) -> bool:
    return not np.any(u - np.diag(np.diag(u)))


def _x_shaped(u: Matrix) -> bool:
    """True for a 4x4 matrix with entries only on its diagonal and anti-diagonal."""
    mask = np.ones((4, 4), dtype=bool)
    mask[[0, 1, 2, 3], [0, 1, 2, 3]] = False
    mask[[0, 1, 2, 3], [3, 2, 1, 0]] = False
    return not np.any(u[mask])


def _build(ndim: int, axes: Sequence[int], u: Matrix) -> Applier:
    if _is_diagonal(u):
        return _diagonal(ndim, axes, np.diag(u))
    if len(axes) == 1:
        return _pairs(ndim, axes, u, [(0, 1)])
    if len(axes) == 2 and _x_shaped(u):
        return _pairs(ndim, axes, u, [(0, 3), (1, 2)])
    return _dense(axes, u)


def _noop(psi: State) -> None:
    """The identity."""


def compile_gate(name: str, qubits: Sequence[int], params: Sequence[float], n: int) -> Applier:
    """An in-place applier of gate ``name`` on ``qubits`` for an ``n``-qubit state tensor."""
    if name == "id":
        return _noop
    axes = [n - 1 - q for q in qubits]
    control = CONTROLLED.get(name)
    if control is None:
        return _build(n, axes, gate_matrix(name, params))
    num_controls, target_name = control
    target = gate_matrix(target_name, params)
    if _is_diagonal(target):
        diag = np.ones(target.shape[0] << num_controls, dtype=np.complex128)
        diag[diag.size - target.shape[0] :] = np.diag(target)
        return _diagonal(n, axes, diag)
    control_axes = axes[:num_controls]
    sub = fixed_index(n, [(a, 1) for a in control_axes])
    # Axes of the targets inside the sub-tensor where the controls are fixed.
    target_axes = [a - sum(c < a for c in control_axes) for a in axes[num_controls:]]
    inner = _build(n - num_controls, target_axes, target)

    def apply(psi: State) -> None:
        inner(psi[sub])

    return apply
