"""Gate matrices for every gate in :data:`qjobs.circuit._gates.GATES`.

A k-qubit matrix is indexed big-endian over the instruction's qubits: ``qubits[0]`` is the most
significant bit of the row/column index, so controlled gates (controls first) are
``blockdiag(I, ..., I, U)``. Standard gates follow OpenQASM/Qiskit; the IonQ native gates take
phases and angles in turns and match qiskit-ionq's ``GPIGate``, ``GPI2Gate``, ``MSGate`` and
``ZZGate`` (whose little-endian matrices are the bit-reversal of the ones here).
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["CONTROLLED", "Matrix", "gate_matrix"]

#: A complex128 gate matrix.
Matrix = npt.NDArray[np.complex128]

_TAU: Final = 2.0 * math.pi
_R2: Final = 1.0 / math.sqrt(2.0)


def _m(rows: Sequence[Sequence[complex]]) -> Matrix:
    out = np.array(rows, dtype=np.complex128)
    out.setflags(write=False)
    return out


_FIXED: Final[dict[str, Matrix]] = {
    "id": _m([[1, 0], [0, 1]]),
    "x": _m([[0, 1], [1, 0]]),
    "y": _m([[0, -1j], [1j, 0]]),
    "z": _m([[1, 0], [0, -1]]),
    "h": _m([[_R2, _R2], [_R2, -_R2]]),
    "s": _m([[1, 0], [0, 1j]]),
    "sdg": _m([[1, 0], [0, -1j]]),
    "t": _m([[1, 0], [0, cmath.exp(0.25j * math.pi)]]),
    "tdg": _m([[1, 0], [0, cmath.exp(-0.25j * math.pi)]]),
    "sx": _m([[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]]),
    "sxdg": _m([[0.5 - 0.5j, 0.5 + 0.5j], [0.5 + 0.5j, 0.5 - 0.5j]]),
    "swap": _m([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
}


def _rx(t: float) -> Matrix:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return _m([[c, -1j * s], [-1j * s, c]])


def _ry(t: float) -> Matrix:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return _m([[c, -s], [s, c]])


def _rz(t: float) -> Matrix:
    return _m([[cmath.exp(-0.5j * t), 0], [0, cmath.exp(0.5j * t)]])


def _p(lam: float) -> Matrix:
    return _m([[1, 0], [0, cmath.exp(1j * lam)]])


def _u3(theta: float, phi: float, lam: float) -> Matrix:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return _m(
        [
            [c, -cmath.exp(1j * lam) * s],
            [cmath.exp(1j * phi) * s, cmath.exp(1j * (phi + lam)) * c],
        ]
    )


def _u2(phi: float, lam: float) -> Matrix:
    return _u3(math.pi / 2, phi, lam)


def _rxx(t: float) -> Matrix:
    c, s = math.cos(t / 2), -1j * math.sin(t / 2)
    return _m([[c, 0, 0, s], [0, c, s, 0], [0, s, c, 0], [s, 0, 0, c]])


def _ryy(t: float) -> Matrix:
    c, s = math.cos(t / 2), -1j * math.sin(t / 2)
    # Y(x)Y has +1 on the 01/10 anti-diagonal and -1 on the 00/11 one.
    return _m([[c, 0, 0, -s], [0, c, s, 0], [0, s, c, 0], [-s, 0, 0, c]])


def _rzz(t: float) -> Matrix:
    a, b = cmath.exp(-0.5j * t), cmath.exp(0.5j * t)
    return np.diag(np.array([a, b, b, a], dtype=np.complex128))


def _gpi(phi: float) -> Matrix:
    return _m([[0, cmath.exp(-1j * _TAU * phi)], [cmath.exp(1j * _TAU * phi), 0]])


def _gpi2(phi: float) -> Matrix:
    return _m(
        [
            [_R2, -1j * _R2 * cmath.exp(-1j * _TAU * phi)],
            [-1j * _R2 * cmath.exp(1j * _TAU * phi), _R2],
        ]
    )


def _ms(phi0: float, phi1: float, theta: float) -> Matrix:
    c, s = math.cos(math.pi * theta), -1j * math.sin(math.pi * theta)
    plus, minus = _TAU * (phi0 + phi1), _TAU * (phi0 - phi1)
    return _m(
        [
            [c, 0, 0, s * cmath.exp(-1j * plus)],
            [0, c, s * cmath.exp(-1j * minus), 0],
            [0, s * cmath.exp(1j * minus), c, 0],
            [s * cmath.exp(1j * plus), 0, 0, c],
        ]
    )


def _zz(theta: float) -> Matrix:
    a, b = cmath.exp(-1j * math.pi * theta), cmath.exp(1j * math.pi * theta)
    return np.diag(np.array([a, b, b, a], dtype=np.complex128))


_PARAMETRIC: Final[dict[str, Callable[..., Matrix]]] = {
    "rx": _rx,
    "ry": _ry,
    "rz": _rz,
    "p": _p,
    "u2": _u2,
    "u3": _u3,
    "rxx": _rxx,
    "ryy": _ryy,
    "rzz": _rzz,
    "gpi": _gpi,
    "gpi2": _gpi2,
    "ms": _ms,
    "zz": _zz,
}

#: Controlled gates: name -> (number of controls, name of the gate applied to the targets).
CONTROLLED: Final[dict[str, tuple[int, str]]] = {
    "cx": (1, "x"),
    "cy": (1, "y"),
    "cz": (1, "z"),
    "ch": (1, "h"),
    "crx": (1, "rx"),
    "cry": (1, "ry"),
    "crz": (1, "rz"),
    "cp": (1, "p"),
    "ccx": (2, "x"),
    "cswap": (1, "swap"),
}


def gate_matrix(name: str, params: Sequence[float] = ()) -> Matrix:
    """The unitary of gate ``name`` with float ``params``, big-endian over its qubits.

    Fixed gates return a cached read-only array; parameterised ones are built on each call.
    """
    fixed = _FIXED.get(name)
    if fixed is not None:
        return fixed
    build = _PARAMETRIC.get(name)
    if build is not None:
        return build(*params)
    controls, inner = CONTROLLED[name]
    target = gate_matrix(inner, params)
    dim = target.shape[0] << controls
    out = np.eye(dim, dtype=np.complex128)
    out[dim - target.shape[0] :, dim - target.shape[0] :] = target
    return out
