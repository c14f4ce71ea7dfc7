"""The ``ionq.circuit.v1`` gate list read into a :class:`qjobs.Circuit`, for the emulators.

IonQ's circuit JSON is spoken on two emulated wires: IonQ's own ``POST /jobs`` and the Kipu
Quantum Hub's jobs for IonQ backends, so its reading lives here rather than in either. An
independent reading (the client's codec lives in ``qjobs.providers.ionq.circuits`` and is
deliberately not used here): both meet only in tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int, is_number
from qjobs.circuit._ir import Circuit, Instruction
from qjobs.emulators._common.responses import HTTPProblem

__all__ = ["decode_circuit"]

# QIS name -> (canonical name without controls, takes a rotation)
_QIS: Final[dict[str, tuple[str, bool]]] = {
    "x": ("x", False),
    "not": ("x", False),
    "cnot": ("x", False),
    "y": ("y", False),
    "z": ("z", False),
    "h": ("h", False),
    "s": ("s", False),
    "si": ("sdg", False),
    "t": ("t", False),
    "ti": ("tdg", False),
    "v": ("sx", False),
    "vi": ("sxdg", False),
    "rx": ("rx", True),
    "ry": ("ry", True),
    "rz": ("rz", True),
    "swap": ("swap", False),
    "xx": ("rxx", True),
    "yy": ("ryy", True),
    "zz": ("rzz", True),
}

# (base gate, number of controls) -> canonical controlled gate
_CONTROLLED: Final[dict[tuple[str, int], str]] = {
    ("x", 1): "cx",
    ("x", 2): "ccx",
    ("y", 1): "cy",
    ("z", 1): "cz",
    ("p", 1): "cp",
    ("h", 1): "ch",
    ("rx", 1): "crx",
    ("ry", 1): "cry",
    ("rz", 1): "crz",
    ("swap", 1): "cswap",
}

_NATIVE: Final[frozenset[str]] = frozenset({"gpi", "gpi2", "ms", "zz"})


def _bad(field: str, message: str) -> HTTPProblem:
    return HTTPProblem(400, f"{field}: {message}", "InvalidCircuit")


def _number(value: Any, field: str) -> float:
    if not is_number(value) or not math.isfinite(value):
        raise _bad(field, f"must be a finite number, got {value!r}")
    return float(value)


def _qubit(value: Any, field: str) -> int:
    if not is_int(value, low=0):
        raise _bad(field, f"must be a qubit index (int >= 0), got {value!r}")
    return value


def _qubit_list(gate: Mapping[str, Any], plural: str, singular: str, field: str) -> list[int]:
    if plural in gate:
        raw = gate[plural]
        if not isinstance(raw, list):
            raise _bad(f"{field}.{plural}", f"must be a list, got {raw!r}")
        return [_qubit(q, f"{field}.{plural}[{i}]") for i, q in enumerate(raw)]
    if singular in gate:
        return [_qubit(gate[singular], f"{field}.{singular}")]
    return []


def _decode_qis(gate: Mapping[str, Any], name: str, field: str) -> Instruction:
    if name not in _QIS:
        raise _bad(f"{field}.gate", f"unknown gate {name!r} for the qis gateset")
    base, rotates = _QIS[name]
    targets = _qubit_list(gate, "targets", "target", field)
    controls = _qubit_list(gate, "controls", "control", field)
    params: tuple[float, ...] = ()
    if "rotation" in gate:
        rotation = _number(gate["rotation"], f"{field}.rotation")
        if base == "z":
            base = "p"
        elif not rotates:
            raise _bad(f"{field}.rotation", f"gate {name!r} takes no rotation")
        params = (rotation,)
    elif rotates:
        raise _bad(f"{field}.rotation", f"gate {name!r} needs a rotation")
    want = 2 if base in ("swap", "rxx", "ryy", "rzz") else 1
    if len(targets) != want:
        raise _bad(f"{field}.targets", f"gate {name!r} takes {want} target(s), got {targets}")
    canonical = base
    if controls:
        controlled = _CONTROLLED.get((base, len(controls)))
        if controlled is None:
            raise _bad(
                f"{field}.controls",
                f"gate {name!r} with {len(controls)} control(s) is not supported",
            )
        canonical = controlled
    return Instruction(canonical, (*controls, *targets), params)


def _decode_native(gate: Mapping[str, Any], name: str, field: str) -> Instruction:
    if name not in _NATIVE:
        raise _bad(f"{field}.gate", f"unknown gate {name!r} for the native gateset")
    if "controls" in gate:
        raise _bad(f"{field}.controls", "native gates take no controls")
    targets = _qubit_list(gate, "targets", "target", field)
    if name in ("gpi", "gpi2"):
        if len(targets) != 1:
            raise _bad(f"{field}.target", f"gate {name!r} takes one target, got {targets}")
        phase = _number(gate.get("phase", 0.0), f"{field}.phase")
        return Instruction(name, tuple(targets), (phase,))
    if len(targets) != 2:
        raise _bad(f"{field}.targets", f"gate {name!r} takes two targets, got {targets}")
    if name == "zz":
        if "angle" not in gate:
            raise _bad(f"{field}.angle", "gate 'zz' needs an angle")
        return Instruction("zz", tuple(targets), (_number(gate["angle"], f"{field}.angle"),))
    phases = gate.get("phases", [0.0, 0.0])
    if not isinstance(phases, list) or len(phases) != 2:
        raise _bad(f"{field}.phases", f"must be a list of two numbers, got {phases!r}")
    p0 = _number(phases[0], f"{field}.phases[0]")
    p1 = _number(phases[1], f"{field}.phases[1]")
    angle = _number(gate.get("angle", 0.25), f"{field}.angle")
    return Instruction("ms", tuple(targets), (p0, p1, angle))


def decode_circuit(
    gates: Any, gateset: str, qubits: int | None, field: str, name: str | None = None
) -> Circuit:
    """Read an IonQ gate list; ``qubits`` is the declared width (None: inferred from the gates).

    Raises :class:`HTTPProblem` 400 naming the offending field.
    """
    if not isinstance(gates, list):
        raise _bad(field, f"must be a list of gates, got {type(gates).__name__}")
    if gateset not in ("qis", "native"):
        raise _bad("input.gateset", f"must be 'qis' or 'native', got {gateset!r}")
    decode = _decode_qis if gateset == "qis" else _decode_native
    instructions: list[Instruction] = []
    for i, gate in enumerate(gates):
        where = f"{field}[{i}]"
        if not isinstance(gate, dict):
            raise _bad(where, f"must be a gate object, got {gate!r}")
        gname = gate.get("gate")
        if not isinstance(gname, str):
            raise _bad(f"{where}.gate", f"must be a gate name, got {gname!r}")
        instructions.append(decode(gate, gname.lower(), where))
    used = max((q for ins in instructions for q in ins.qubits), default=-1) + 1
    width = used if qubits is None else qubits
    if width < used:
        raise _bad("input.qubits", f"{width} is less than the {used} qubits the circuit uses")
    if width < 1:
        raise _bad("input.qubits", f"must be at least 1, got {width}")
    try:
        return Circuit(width, 0, tuple(instructions), name=name)
    except InputError as exc:
        raise _bad(field, str(exc)) from exc
