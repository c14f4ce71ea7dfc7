"""Qibo cloud wire pieces of the emulator: credentials, DRF error bodies, circuit JSON.

Circuit JSON (``qibo.Circuit.raw``) is read into a :class:`qjobs.Circuit`.

An independent reading of qibo's gate dicts (the client's codec in ``qjobs.providers.qibo.circuits``
is deliberately not used): ``_class`` names the gate, ``init_kwargs`` holds its parameters in
radians, ``_control_qubits``/``_target_qubits`` its qubits. Measurement gates (``_class`` ``M``)
become ``measure`` instructions into classical bits 0, 1, ... in the order the measured qubits
appear, which is the column order of Qibo's samples and the character order of its frequency
bitstrings (qubit 0 leftmost).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs
from aiohttp import web

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int, is_number
from qjobs.circuit._ir import Circuit, Instruction
from qjobs.emulators._common import HTTPProblem, header_token, json_response

__all__ = [
    "DEFAULT_SHOTS",
    "MAX_SHOTS",
    "PREFIX",
    "TOKEN_HEADER",
    "DecodedCircuit",
    "decode_circuit",
    "error_response",
    "token_of",
]

#: Routes live at the server root under ``/api/``.
PREFIX: Final = ""
#: The header carrying the API token.
TOKEN_HEADER: Final = "x-api-token"
#: Shots of a job that gives none; the most a job may ask for.
DEFAULT_SHOTS: Final = 1000
MAX_SHOTS: Final = 1_000_000


def error_response(status: int, message: str, error_type: str | None = None) -> web.Response:
    """DRF's error shape: ``{"detail": "..."}``."""
    if status == 401:
        message = (
            "Authentication credentials were not provided."
            if message.startswith("missing")
            else "Invalid token."
        )
    elif status == 404 and message == "Not Found":
        message = "Not found."
    elif status == 405:
        message = "Method not allowed."
    return json_response({"detail": message}, status=status)


#: The token of a request: its ``x-api-token`` header.
token_of = header_token(TOKEN_HEADER)

# qibo class -> (IR name, parameter names in init_kwargs, controls expected, scale to IR units)
_SIMPLE: Final[dict[str, tuple[str, tuple[str, ...], int, float]]] = {
    "I": ("id", (), 0, 1.0),
    "X": ("x", (), 0, 1.0),
    "Y": ("y", (), 0, 1.0),
    "Z": ("z", (), 0, 1.0),
    "H": ("h", (), 0, 1.0),
    "S": ("s", (), 0, 1.0),
    "SDG": ("sdg", (), 0, 1.0),
    "T": ("t", (), 0, 1.0),
    "TDG": ("tdg", (), 0, 1.0),
    "SX": ("sx", (), 0, 1.0),
    "SXDG": ("sxdg", (), 0, 1.0),
    "RX": ("rx", ("theta",), 0, 1.0),
    "RY": ("ry", ("theta",), 0, 1.0),
    "RZ": ("rz", ("theta",), 0, 1.0),
    "U1": ("p", ("theta",), 0, 1.0),
    "U2": ("u2", ("phi", "lam"), 0, 1.0),
    "U3": ("u3", ("theta", "phi", "lam"), 0, 1.0),
    "CNOT": ("cx", (), 1, 1.0),
    "CY": ("cy", (), 1, 1.0),
    "CZ": ("cz", (), 1, 1.0),
    "SWAP": ("swap", (), 0, 1.0),
    "CRX": ("crx", ("theta",), 1, 1.0),
    "CRY": ("cry", ("theta",), 1, 1.0),
    "CRZ": ("crz", ("theta",), 1, 1.0),
    "CU1": ("cp", ("theta",), 1, 1.0),
    "RXX": ("rxx", ("theta",), 0, 1.0),
    "RYY": ("ryy", ("theta",), 0, 1.0),
    "RZZ": ("rzz", ("theta",), 0, 1.0),
    "TOFFOLI": ("ccx", (), 2, 1.0),
    # IonQ-native gates: qibo uses radians, the IR turns.
    "GPI": ("gpi", ("phi",), 0, 1.0 / (2 * math.pi)),
    "GPI2": ("gpi2", ("phi",), 0, 1.0 / (2 * math.pi)),
    "MS": ("ms", ("phi0", "phi1", "theta"), 0, 1.0 / (2 * math.pi)),
}
# Gates qibo serialises as a base gate plus controlled_by(...).
_WITH_CONTROL: Final[dict[tuple[str, int], str]] = {
    ("H", 1): "ch",
    ("SWAP", 1): "cswap",
    ("X", 1): "cx",
}
_MAX_QUBITS: Final = 64


@attrs.frozen
class DecodedCircuit:
    """A decoded job circuit: the IR circuit, measured qubits by column, and the M gate dicts."""

    circuit: Circuit
    measured: tuple[int, ...]
    measurement_gates: tuple[dict[str, Any], ...]


def _bad(message: str) -> HTTPProblem:
    return HTTPProblem(400, message)


def _qubits(value: Any, where: str, nqubits: int) -> list[int]:
    if not isinstance(value, list) or not all(is_int(q) for q in value):
        raise _bad(f"{where}: must be a list of qubit indices")
    for q in value:
        if not 0 <= q < nqubits:
            raise _bad(f"{where}: qubit {q} is outside 0..{nqubits - 1}")
    return list(value)


def _number(kwargs: Mapping[str, Any], name: str, where: str) -> float:
    value = kwargs.get(name)
    if name == "theta" and value is None and "phi0" in kwargs:
        value = math.pi / 2  # MS default
    if not is_number(value) or not math.isfinite(value):
        raise _bad(f"{where}.init_kwargs.{name}: must be a number, got {value!r}")
    return float(value)


def decode_circuit(raw: Any, where: str = "circuit") -> DecodedCircuit:
    """Decode qibo circuit JSON; :class:`HTTPProblem` 400 naming the bad field otherwise."""
    if isinstance(raw, str):
        import orjson

        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _bad(f"{where}: not a JSON circuit") from None
    if not isinstance(raw, Mapping):
        raise _bad(f"{where}: must be a qibo circuit object")
    nqubits = raw.get("nqubits")
    if not is_int(nqubits, low=1, high=_MAX_QUBITS):
        raise _bad(f"{where}.nqubits: must be an integer from 1 to {_MAX_QUBITS}")
    if raw.get("density_matrix"):
        raise _bad(f"{where}.density_matrix: density-matrix circuits are not supported")
    queue = raw.get("queue")
    if not isinstance(queue, list):
        raise _bad(f"{where}.queue: must be a list of gates")
    ops: list[Instruction] = []
    measured: list[int] = []
    mgates: list[dict[str, Any]] = []
    for i, gate in enumerate(queue):
        at = f"{where}.queue[{i}]"
        if not isinstance(gate, Mapping):
            raise _bad(f"{at}: must be an object")
        cls = gate.get("_class")
        targets = _qubits(gate.get("_target_qubits"), f"{at}._target_qubits", nqubits)
        controls = _qubits(gate.get("_control_qubits", []), f"{at}._control_qubits", nqubits)
        kwargs = gate.get("init_kwargs") or {}
        if not isinstance(kwargs, Mapping):
            raise _bad(f"{at}.init_kwargs: must be an object")
        if cls == "M":
            for q in targets:
                if q in measured:
                    raise _bad(f"{at}: qubit {q} is measured twice")
                measured.append(q)
            mgates.append(dict(gate))
            continue
        if set(targets + controls) & set(measured):
            raise _bad(f"{at}: gate after a measurement of the same qubit (use collapse)")
        name: str | None = None
        scale = 1.0
        pnames: tuple[str, ...] = ()
        if isinstance(cls, str) and cls in _SIMPLE:
            name, pnames, expected, scale = _SIMPLE[cls]
            if len(controls) != expected:
                name = _WITH_CONTROL.get((cls, len(controls)))
                if name is None:
                    raise _bad(f"{at}: {cls} with {len(controls)} control(s) is not supported")
                pnames = ()
        if name is None:
            raise _bad(f"{at}._class: unsupported gate {cls!r}")
        params = tuple(_number(kwargs, p, at) * scale for p in pnames)
        try:
            ops.append(Instruction(name, tuple(controls + targets), params))
        except InputError as exc:  # pragma: no cover - Instruction does not validate
            raise _bad(f"{at}: {exc}") from None
    for j, q in enumerate(measured):
        ops.append(Instruction("measure", (q,), (), (j,)))
    try:
        circuit = Circuit(nqubits, len(measured), tuple(ops))
    except InputError as exc:
        raise _bad(f"{where}: {exc}") from None
    return DecodedCircuit(circuit, tuple(measured), tuple(mgates))
