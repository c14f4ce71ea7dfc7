"""Qibo codec: the circuit IR <-> Qibo's circuit JSON (``qibo.Circuit.raw``), and bit order.

Pure functions, no I/O. :func:`encode` turns a circuit into the ``circuit`` object of
``POST /api/jobs/`` (what ``qibo.Circuit.raw`` produces with qibo 0.3.2, rebuilt by the server
with ``Circuit.from_dict``) plus a :class:`MeasurementMap`; :func:`decode` reads such an object
back (round-trip tests, inspecting jobs).

Encoding rules:

* One queue entry per gate: ``{"name", "init_args", "init_kwargs", "_target_qubits",
  "_control_qubits", "_class"}`` exactly as qibo writes it. Parameters are radians, except the
  IonQ-native gates, which the IR keeps in turns: ``gpi(f)`` -> ``GPI(phi=2*pi*f)``,
  ``gpi2(f)`` -> ``GPI2``, ``ms(f0, f1, t)`` -> ``MS(2*pi*f0, 2*pi*f1, theta=2*pi*t)`` (qibo
  allows ``0 <= t <= 0.25``) and ``zz(t)`` -> ``RZZ(2*pi*t)``.
* ``p`` -> ``U1``, ``cp`` -> ``CU1``, ``ccx`` -> ``TOFFOLI``; ``ch`` and ``cswap`` are ``H`` and
  ``SWAP`` with a control qubit (qibo's ``controlled_by``). ``barrier`` is dropped.
* Measurements must be terminal (no gate after a measurement on the same qubit) and ``reset`` is
  not supported: Qibo cloud returns terminal samples only. Each measured qubit becomes one ``M``
  gate whose ``register_name`` records the classical bits it feeds, ``qjobs_c<c>[_c<c>..]_n<N>``
  (N = the circuit's classical bits), so results map back to classical bits even when the job is
  read later. A circuit without measurements measures every qubit i into clbit i.
* Qibo's sample columns (and frequency bitstrings, qubit 0 leftmost) follow the measured qubits in
  measurement order; :class:`MeasurementMap` turns them into outcomes whose bit i is clbit i.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.circuit._expr import Expr
from qjobs.circuit._ir import Circuit, Instruction

__all__ = [
    "FORMAT_VERSION",
    "Encoded",
    "MeasurementMap",
    "decode",
    "encode",
    "map_from_gates",
    "measurement_map",
]

#: The qibo version whose ``Circuit.raw`` format qjobs writes (qibo-client 0.2.4 pins it).
FORMAT_VERSION: Final = "0.3.2"
_TWO_PI: Final = 2.0 * math.pi
_REGISTER = re.compile(r"^qjobs((?:_c\d+)+)_n(\d+)$")

# IR name -> (qibo class, qibo name, parameter names, number of controls, turns->radians)
_GATES: Final[dict[str, tuple[str, str, tuple[str, ...], int, bool]]] = {
    "id": ("I", "id", (), 0, False),
    "x": ("X", "x", (), 0, False),
    "y": ("Y", "y", (), 0, False),
    "z": ("Z", "z", (), 0, False),
    "h": ("H", "h", (), 0, False),
    "s": ("S", "s", (), 0, False),
    "sdg": ("SDG", "sdg", (), 0, False),
    "t": ("T", "t", (), 0, False),
    "tdg": ("TDG", "tdg", (), 0, False),
    "sx": ("SX", "sx", (), 0, False),
    "sxdg": ("SXDG", "sxdg", (), 0, False),
    "rx": ("RX", "rx", ("theta",), 0, False),
    "ry": ("RY", "ry", ("theta",), 0, False),
    "rz": ("RZ", "rz", ("theta",), 0, False),
    "p": ("U1", "u1", ("theta",), 0, False),
    "u2": ("U2", "u2", ("phi", "lam"), 0, False),
    "u3": ("U3", "u3", ("theta", "phi", "lam"), 0, False),
    "cx": ("CNOT", "cx", (), 1, False),
    "cy": ("CY", "cy", (), 1, False),
    "cz": ("CZ", "cz", (), 1, False),
    "ch": ("H", "h", (), 1, False),
    "swap": ("SWAP", "swap", (), 0, False),
    "crx": ("CRX", "crx", ("theta",), 1, False),
    "cry": ("CRY", "cry", ("theta",), 1, False),
    "crz": ("CRZ", "crz", ("theta",), 1, False),
    "cp": ("CU1", "cu1", ("theta",), 1, False),
    "rxx": ("RXX", "rxx", ("theta",), 0, False),
    "ryy": ("RYY", "ryy", ("theta",), 0, False),
    "rzz": ("RZZ", "rzz", ("theta",), 0, False),
    "ccx": ("TOFFOLI", "ccx", (), 2, False),
    "cswap": ("SWAP", "swap", (), 1, False),
    "gpi": ("GPI", "gpi", ("phi",), 0, True),
    "gpi2": ("GPI2", "gpi2", ("phi",), 0, True),
    "ms": ("MS", "ms", ("phi0", "phi1", "theta"), 0, True),
    "zz": ("RZZ", "rzz", ("theta",), 0, True),
}

# Classes whose init_args list the controls first (qibo's "controlled by default" gates).
_CONTROLLED_CLASSES: Final = frozenset({"CNOT", "CY", "CZ", "CRX", "CRY", "CRZ", "CU1", "TOFFOLI"})

# (qibo class, number of controls) -> IR name, for decode.
_BACK: Final[dict[tuple[str, int], str]] = {
    (cls, ctrl): name
    for name, (cls, _n, _p, ctrl, turns) in _GATES.items()
    if not turns and name != "id"
}
_BACK[("I", 0)] = "id"
_BACK[("GPI", 0)] = "gpi"
_BACK[("GPI2", 0)] = "gpi2"
_BACK[("MS", 0)] = "ms"


@attrs.frozen(slots=True)
class MeasurementMap:
    """How Qibo's sample columns become classical bits.

    ``columns[j]`` lists the classical bits fed by the j-th measured qubit (Qibo's column j, the
    j-th character of a frequency bitstring); ``num_clbits`` is the width of the outcome.
    """

    columns: tuple[tuple[int, ...], ...]
    num_clbits: int

    @classmethod
    def identity(cls, n: int) -> MeasurementMap:
        """Column j -> clbit j (a job qjobs did not submit)."""
        return cls(tuple((j,) for j in range(n)), n)

    def apply_samples(self, samples: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Per-shot outcomes (bit i = clbit i) from a ``(shots, columns)`` array of 0/1."""
        if samples.ndim != 2 or samples.shape[1] != len(self.columns):
            raise ValueError(
                f"samples have shape {samples.shape}, expected (shots, {len(self.columns)})"
            )
        out = np.zeros(samples.shape[0], dtype=np.int64)
        for j, clbits in enumerate(self.columns):
            bit = samples[:, j].astype(np.int64) & 1
            for c in clbits:
                out |= bit << c
        return out

    def outcome_of(self, bitstring: str) -> int:
        """The outcome of one Qibo bitstring (column 0 leftmost)."""
        text = bitstring.strip()
        if len(text) != len(self.columns) or set(text) - {"0", "1"}:
            raise ValueError(f"bitstring {bitstring!r} does not have {len(self.columns)} bits")
        out = 0
        for j, ch in enumerate(text):
            if ch == "1":
                for c in self.columns[j]:
                    out |= 1 << c
        return out

    def apply_frequencies(self, frequencies: Mapping[str, int]) -> dict[int, int]:
        """Counts by outcome from Qibo frequencies (bitstring keys, qubit 0 leftmost)."""
        out: dict[int, int] = {}
        for key, n in frequencies.items():
            k = self.outcome_of(str(key))
            out[k] = out.get(k, 0) + int(n)
        return out

    def apply_probabilities(self, probs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Dense probabilities over outcomes from Qibo's probabilities (column 0 = MSB)."""
        width = len(self.columns)
        if probs.shape != (1 << width,):
            raise ValueError(f"probabilities have shape {probs.shape}, expected ({1 << width},)")
        out = np.zeros(1 << self.num_clbits, dtype=np.float64)
        for index in np.flatnonzero(probs):
            bits = format(int(index), f"0{width}b") if width else ""
            out[self.outcome_of(bits)] += probs[index]
        return out


@attrs.frozen(slots=True)
class Encoded:
    """An encoded circuit: the ``circuit`` JSON object, its measurement map and width."""

    circuit: dict[str, Any]
    map: MeasurementMap
    qubits: int


def _value(value: Any, where: str, scale: float) -> float:
    if isinstance(value, Expr):
        raise InputError(where, str(value), "unbound parameter; bind the circuit first")
    number = float(value) * scale
    if not math.isfinite(number):
        raise InputError(where, value, "must be a finite number")
    return number


def _terminal_measurements(circuit: Circuit) -> list[tuple[int, int]]:
    """``(qubit, clbit)`` of every measurement; raises unless all are terminal."""
    measured: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for pos, ins in enumerate(circuit.instructions):
        if ins.name == "measure":
            measured.add(ins.qubits[0])
            pairs.append((ins.qubits[0], ins.clbits[0]))
        elif ins.name == "reset":
            raise InputError(
                f"instructions[{pos}]", "reset", "Qibo cloud runs circuits without reset"
            )
        elif ins.name != "barrier" and measured.intersection(ins.qubits):
            raise InputError(
                f"instructions[{pos}]",
                ins.name,
                "acts on a measured qubit; Qibo cloud supports terminal measurements only",
            )
    return pairs


def measurement_map(circuit: Circuit) -> tuple[list[int], MeasurementMap]:
    """The measured qubits (in Qibo column order) and their map to classical bits."""
    pairs = _terminal_measurements(circuit)
    if not pairs:
        n = circuit.num_qubits
        return list(range(n)), MeasurementMap.identity(n)
    writer: dict[int, int] = {}
    for qubit, clbit in pairs:
        writer[clbit] = qubit  # the last measurement into a clbit wins
    order: list[int] = []
    for qubit, _clbit in pairs:
        if qubit not in order and qubit in writer.values():
            order.append(qubit)
    columns = tuple(tuple(sorted(c for c, q in writer.items() if q == qubit)) for qubit in order)
    return order, MeasurementMap(columns, circuit.num_clbits)


def _register_name(clbits: Sequence[int], num_clbits: int) -> str:
    return "qjobs" + "".join(f"_c{c}" for c in clbits) + f"_n{num_clbits}"


def _measure_gate(qubits: Sequence[int], register: str | None) -> dict[str, Any]:
    return {
        "name": "measure",
        "init_args": list(qubits),
        "init_kwargs": {
            "register_name": register,
            "collapse": False,
            "basis": ["Z"] * len(qubits),
            "p0": None,
            "p1": None,
        },
        "_target_qubits": list(qubits),
        "_control_qubits": [],
        "_class": "M",
        "measurement_result": {"samples": None},
    }


def _gate(ins: Instruction, pos: int) -> dict[str, Any]:
    spec = _GATES.get(ins.name)
    if spec is None:
        raise InputError(f"instructions[{pos}].name", ins.name, "no Qibo equivalent")
    cls, name, pnames, controls, turns = spec
    scale = _TWO_PI if turns else 1.0
    values = [
        _value(p, f"instructions[{pos}].params[{i}]", scale) for i, p in enumerate(ins.params)
    ]
    if ins.name == "ms" and not 0.0 <= values[2] <= math.pi / 2 + 1e-12:
        raise InputError(
            f"instructions[{pos}].params[2]",
            ins.params[2],
            "Qibo's MS gate takes 0 <= theta <= 0.25 turns",
        )
    kwargs = dict(zip(pnames, values, strict=True))
    ctrl = list(ins.qubits[:controls])
    targets = list(ins.qubits[controls:])
    init_args = list(ins.qubits) if cls in _CONTROLLED_CLASSES or not ctrl else targets
    return {
        "name": name,
        "init_args": init_args,
        "init_kwargs": kwargs,
        "_target_qubits": targets,
        "_control_qubits": ctrl,
        "_class": cls,
    }


def encode(circuit: Circuit) -> Encoded:
    """Encode one circuit as Qibo circuit JSON; :class:`~qjobs.InputError` if it cannot be."""
    if not isinstance(circuit, Circuit):
        raise InputError("circuit", type(circuit).__name__, "must be a qjobs.Circuit")
    if circuit.num_qubits < 1:
        raise InputError("circuit", circuit, "needs at least one qubit")
    order, mmap = measurement_map(circuit)
    queue: list[dict[str, Any]] = []
    for pos, ins in enumerate(circuit.instructions):
        if ins.name in ("measure", "barrier"):
            continue
        queue.append(_gate(ins, pos))
    measured_any = any(ins.name == "measure" for ins in circuit.instructions)
    if measured_any:
        for qubit, clbits in zip(order, mmap.columns, strict=True):
            queue.append(_measure_gate([qubit], _register_name(clbits, mmap.num_clbits)))
    else:
        queue.append(_measure_gate(order, None))
    raw = {
        "queue": queue,
        "nqubits": circuit.num_qubits,
        "density_matrix": False,
        "wire_names": list(range(circuit.num_qubits)),
        "qibo_version": FORMAT_VERSION,
    }
    return Encoded(raw, mmap, circuit.num_qubits)


def map_from_gates(gates: Sequence[Mapping[str, Any]]) -> MeasurementMap:
    """The measurement map that Qibo measurement gates describe (job JSON or results.npy).

    Gates written by :func:`encode` carry their classical bits in ``register_name``; other
    gates (a job qjobs did not submit) give the identity map over the measured qubits.
    """
    columns: list[tuple[int, ...]] = []
    sizes: list[int] = []
    ours = True
    for gate in gates:
        if gate.get("_class") != "M" and gate.get("name") != "measure":
            continue
        targets = gate.get("_target_qubits") or gate.get("init_args") or []
        kwargs = gate.get("init_kwargs") or {}
        register = kwargs.get("register_name") if isinstance(kwargs, Mapping) else None
        match = _REGISTER.match(register) if isinstance(register, str) else None
        if match is None or len(targets) != 1:
            ours = False
            columns.extend((-1,) for _ in targets)
            continue
        columns.append(tuple(int(c) for c in match.group(1).split("_c")[1:]))
        sizes.append(int(match.group(2)))
    if not ours or not columns:
        return MeasurementMap.identity(len(columns))
    width = max(sizes)
    if any(c >= width for col in columns for c in col):
        return MeasurementMap.identity(len(columns))
    return MeasurementMap(tuple(columns), width)


def decode(raw: Mapping[str, Any]) -> Circuit:
    """Read Qibo circuit JSON back into a circuit (measurements go to their recorded clbits)."""
    if not isinstance(raw, Mapping):
        raise InputError("circuit", type(raw).__name__, "must be a Qibo circuit object")
    nqubits = raw.get("nqubits")
    queue = raw.get("queue")
    if not is_int(nqubits, low=1):
        raise InputError("circuit.nqubits", nqubits, "must be an int >= 1")
    if not isinstance(queue, list):
        raise InputError("circuit.queue", queue, "must be a list")
    gates = [g for g in queue if isinstance(g, Mapping) and g.get("_class") == "M"]
    mmap = map_from_gates(gates)
    instructions: list[Instruction] = []
    column = 0
    for pos, gate in enumerate(queue):
        if not isinstance(gate, Mapping):
            raise InputError(f"circuit.queue[{pos}]", gate, "must be an object")
        cls = gate.get("_class")
        targets = [int(q) for q in gate.get("_target_qubits", [])]
        controls = [int(q) for q in gate.get("_control_qubits", [])]
        if cls == "M":
            for q in targets:
                for c in mmap.columns[column]:
                    instructions.append(Instruction("measure", (q,), (), (c,)))
                column += 1
            continue
        name = _BACK.get((str(cls), len(controls)))
        if name is None:
            raise InputError(f"circuit.queue[{pos}]._class", cls, "not readable by qjobs")
        kwargs = gate.get("init_kwargs") or {}
        _cls, _n, pnames, _c, turns = _GATES[name]
        scale = 1.0 / _TWO_PI if turns else 1.0
        try:
            params = tuple(float(kwargs[p]) * scale for p in pnames)
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"circuit.queue[{pos}].init_kwargs", kwargs, f"{cls} needs {list(pnames)}"
            ) from None
        instructions.append(Instruction(name, tuple(controls + targets), params))
    return Circuit(nqubits, mmap.num_clbits, tuple(instructions))
