"""IonQ circuit codec: the circuit IR <-> ``ionq.circuit.v1``, multi-circuit and ``ionq.qasm3.v1``.

Pure functions, no I/O. :func:`encode` turns one circuit (or a sequence, as one multi-circuit
job) into the ``input`` object of ``POST /jobs`` plus a :class:`MeasurementMap` per circuit,
which turns IonQ's qubit outcomes into the circuit's classical-bit outcomes. :func:`decode`
reads an ``input`` object back into circuits (used for round-trip tests and by tools that inspect
jobs).

Encoding rules (spec §4):

* ``qubits`` is the dense width: the highest qubit index used by a non-barrier instruction
  (gates and measurements) plus one, at least 1.
* QIS renames: ``sx->v``, ``sxdg->vi``, ``sdg->si``, ``tdg->ti``, ``rxx/ryy/rzz->xx/yy/zz``;
  controlled gates drop the leading ``c`` and list their ``controls`` (``ccx`` -> ``x`` with two
  controls, ``cswap`` -> ``swap`` with one, ``ch`` -> ``h`` with one).
* ``p(l)`` is sent as ``rz(l)`` (equal up to a global phase) and ``cp(l)`` as ``rz(l/2)`` on the
  control followed by ``rz(l)`` controlled by it (exactly ``cp`` up to a global phase). IonQ does
  not document what a ``z`` gate carrying a ``rotation`` means; the ``rz`` forms are unambiguous.
  :func:`decode` still reads ``z`` + ``rotation`` as ``p`` (and with a control as ``cp``), the
  way qiskit-ionq writes them.
* ``u3(t, p, l)`` -> ``rz(l), ry(t), rz(p)`` and ``u2(p, l)`` -> ``rz(l), ry(pi/2), rz(p)``,
  equal up to a global phase.
* Native gates (``gpi``, ``gpi2``, ``ms``, ``zz``) use the ``native`` gateset; mixing them with
  QIS gates in one circuit (or one multi-circuit job) is an :class:`~qjobs.InputError`.
* ``measure``, ``barrier`` and ``id`` are not sent. A circuit whose measurements are all terminal
  becomes a measurement map; a circuit with a ``reset``, or with a gate (or reset) on a qubit after
  it was measured, cannot be written as JSON and becomes ``ionq.qasm3.v1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int, is_number
from qjobs.circuit._expr import Expr
from qjobs.circuit._gates import NATIVE_GATES
from qjobs.circuit._ir import Circuit, Instruction, Param

__all__ = [
    "GATESET_NATIVE",
    "GATESET_QIS",
    "TYPE_CIRCUIT",
    "TYPE_MULTI",
    "TYPE_QASM3",
    "Encoded",
    "Gateset",
    "MeasurementMap",
    "decode",
    "decode_circuit",
    "encode",
    "gateset_of",
    "measurement_map",
    "needs_qasm3",
    "width",
]

Gateset = Literal["qis", "native"]

#: The abstract (quantum information science) gateset.
GATESET_QIS: Final = "qis"
#: IonQ's hardware-native gateset.
GATESET_NATIVE: Final = "native"
#: ``type`` of a one-circuit JSON job.
TYPE_CIRCUIT: Final = "ionq.circuit.v1"
#: ``type`` of a multi-circuit JSON job.
TYPE_MULTI: Final = "ionq.multi-circuit.v1"
#: ``type`` of an OpenQASM 3 job.
TYPE_QASM3: Final = "ionq.qasm3.v1"

# IR name -> (IonQ gate name, number of leading control qubits). Parameters (if any) follow.
_QIS_GATES: Final[dict[str, tuple[str, int]]] = {
    "x": ("x", 0),
    "y": ("y", 0),
    "z": ("z", 0),
    "h": ("h", 0),
    "s": ("s", 0),
    "sdg": ("si", 0),
    "t": ("t", 0),
    "tdg": ("ti", 0),
    "sx": ("v", 0),
    "sxdg": ("vi", 0),
    "rx": ("rx", 0),
    "ry": ("ry", 0),
    "rz": ("rz", 0),
    "swap": ("swap", 0),
    "rxx": ("xx", 0),
    "ryy": ("yy", 0),
    "rzz": ("zz", 0),
    "cx": ("x", 1),
    "cy": ("y", 1),
    "cz": ("z", 1),
    "ch": ("h", 1),
    "crx": ("rx", 1),
    "cry": ("ry", 1),
    "crz": ("rz", 1),
    "ccx": ("x", 2),
    "cswap": ("swap", 1),
}

# IonQ QIS name -> IR name by number of controls (decoding).
_QIS_DECODE: Final[dict[str, dict[int, str]]] = {
    "x": {0: "x", 1: "cx", 2: "ccx"},
    "not": {0: "x", 1: "cx", 2: "ccx"},
    "cnot": {1: "cx", 2: "ccx"},
    "y": {0: "y", 1: "cy"},
    "z": {0: "z", 1: "cz"},
    "h": {0: "h", 1: "ch"},
    "s": {0: "s"},
    "si": {0: "sdg"},
    "t": {0: "t"},
    "ti": {0: "tdg"},
    "v": {0: "sx"},
    "vi": {0: "sxdg"},
    "rx": {0: "rx", 1: "crx"},
    "ry": {0: "ry", 1: "cry"},
    "rz": {0: "rz", 1: "crz"},
    "swap": {0: "swap", 1: "cswap"},
    "xx": {0: "rxx"},
    "yy": {0: "ryy"},
    "zz": {0: "rzz"},
}

_ROTATION_GATES: Final = frozenset({"rx", "ry", "rz", "xx", "yy", "zz"})
_TWO_TARGET: Final = frozenset({"swap", "xx", "yy", "zz"})


#: Up to this many outcomes a map is applied key by key (numpy costs more to set up).
_FEW_OUTCOMES = 64


# ------------------------------------------------------------------------- measurement maps
@attrs.frozen(slots=True)
class MeasurementMap:
    """Where each classical bit's value comes from.

    ``sources[j]`` is the qubit whose (final) value lands in classical bit ``j``, or ``None`` when
    clbit ``j`` is never written (it reads 0). A circuit without measurements maps clbit ``i`` to
    qubit ``i`` for every qubit (IonQ measures all qubits), so its outcomes have
    ``circuit.num_qubits`` bits.
    """

    sources: tuple[int | None, ...]

    @property
    def num_clbits(self) -> int:
        """How many classical bits an outcome has."""
        return len(self.sources)

    @property
    def is_identity(self) -> bool:
        """True when clbit ``i`` is qubit ``i`` for every clbit."""
        return all(q == i for i, q in enumerate(self.sources))

    def encode(self) -> str:
        """A compact string: comma-separated sources, ``a-b`` for ascending runs, ``_`` for none.

        ``(0, 1, 2, 3, None, 7)`` becomes ``"0-3,_,7"``; ``()`` becomes ``""``.
        """
        parts: list[str] = []
        src = self.sources
        i = 0
        while i < len(src):
            q = src[i]
            if q is None:
                parts.append("_")
                i += 1
                continue
            j = i
            while j + 1 < len(src) and src[j + 1] is not None and src[j + 1] == q + (j + 1 - i):
                j += 1
            if j - i >= 2:
                parts.append(f"{q}-{src[j]}")
            else:
                parts.extend(str(src[k]) for k in range(i, j + 1))
            i = j + 1
        return ",".join(parts)

    @classmethod
    def decode(cls, text: str) -> MeasurementMap:
        """Read the form written by :meth:`encode`; raises ``ValueError`` on bad text."""
        sources: list[int | None] = []
        if text:
            for part in text.split(","):
                if part == "_":
                    sources.append(None)
                elif "-" in part:
                    lo, _, hi = part.partition("-")
                    a, b = int(lo), int(hi)
                    if b < a or a < 0:
                        raise ValueError(f"bad measurement map range {part!r}")
                    sources.extend(range(a, b + 1))
                else:
                    q = int(part)
                    if q < 0:
                        raise ValueError(f"bad measurement map entry {part!r}")
                    sources.append(q)
        return cls(tuple(sources))

    @classmethod
    def identity(cls, n: int) -> MeasurementMap:
        """Clbit ``i`` <- qubit ``i`` for ``i < n``."""
        return cls(tuple(range(n)))

    def apply(self, outcomes: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Map qubit outcomes (bit ``i`` = qubit ``i``) to clbit outcomes (bit ``j`` = clbit j)."""
        qs = np.asarray(outcomes, dtype=np.int64)
        out = np.zeros_like(qs)
        for j, q in enumerate(self.sources):
            if q is not None:
                out |= ((qs >> q) & 1) << j
        return out

    def apply_probabilities(self, probs: Mapping[int, float]) -> npt.NDArray[np.float64]:
        """Turn ``{qubit outcome: p}`` into a dense array over the ``2**num_clbits`` outcomes."""
        size = 1 << self.num_clbits
        if not probs:
            return np.zeros(size, dtype=np.float64)
        if len(probs) <= _FEW_OUTCOMES:
            # The same additions in the same order as np.add.at below, without its set-up cost
            # (on Python floats, then one array, when the result is small too).
            few: list[float] | npt.NDArray[np.float64] = (
                [0.0] * size if size <= _FEW_OUTCOMES else np.zeros(size, dtype=np.float64)
            )
            sources = [(j, q) for j, q in enumerate(self.sources) if q is not None]
            for key, p in probs.items():
                mapped = 0
                for j, q in sources:
                    mapped |= ((key >> q) & 1) << j
                few[mapped] += p
            return np.asarray(few, dtype=np.float64)
        dense = np.zeros(size, dtype=np.float64)
        keys = np.fromiter(probs.keys(), dtype=np.int64, count=len(probs))
        values = np.fromiter(probs.values(), dtype=np.float64, count=len(probs))
        np.add.at(dense, self.apply(keys), values)
        return dense


@attrs.define(slots=True)
class _Shape:
    """What the encoder needs to know of a circuit, from one pass over its instructions."""

    #: A reset, or a gate or reset on a qubit measured before (see :func:`needs_qasm3`).
    qasm3: bool
    #: Positions of the first IonQ native gate and of the first QIS gate (``id`` not counted).
    native: int | None
    qis: int | None
    #: Highest qubit used by a non-barrier op + 1 (at least 1).
    width: int
    #: Clbit -> measured qubit (the last measurement wins); None when nothing is measured.
    sources: list[int | None] | None


def _shape(circuit: Circuit) -> _Shape:
    qasm3 = False
    native = qis = None
    top = -1
    measured: set[int] = set()
    sources: list[int | None] | None = None
    for pos, ins in enumerate(circuit.instructions):
        name = ins.name
        if name == "barrier":
            continue
        qubits = ins.qubits
        if qubits:
            top = max(top, *qubits)
        if name == "measure":
            # Measuring a measured qubit again (into any clbit) reads the same value: terminal.
            measured.add(qubits[0])
            if sources is None:
                sources = [None] * circuit.num_clbits
            sources[ins.clbits[0]] = qubits[0]
            continue
        if name == "reset" or (measured and any(q in measured for q in qubits)):
            qasm3 = True
        if name in NATIVE_GATES:
            native = pos if native is None else native
        elif name != "id" and name != "reset":
            qis = pos if qis is None else qis
    return _Shape(qasm3, native, qis, max(top + 1, 1), sources)


def _map_of(circuit: Circuit, shape: _Shape) -> MeasurementMap:
    if shape.sources is None:
        return MeasurementMap.identity(circuit.num_qubits)
    return MeasurementMap(tuple(shape.sources))


def measurement_map(circuit: Circuit) -> MeasurementMap:
    """The map from qubits to the circuit's classical bits (see :class:`MeasurementMap`).

    Measurements must be terminal (check :func:`needs_qasm3` first); a clbit measured twice keeps
    the last measurement, as a real execution would.
    """
    return _map_of(circuit, _shape(circuit))


def needs_qasm3(circuit: Circuit) -> bool:
    """True when the circuit cannot be written as JSON: a ``reset``, or mid-circuit measurement.

    A measurement is mid-circuit when a gate or reset acts on the measured qubit afterwards
    (measuring it again, into any clbit, reads the same value and is harmless).
    """
    return _shape(circuit).qasm3


def width(circuit: Circuit) -> int:
    """IonQ's ``qubits`` for a JSON circuit: highest qubit used by a non-barrier op + 1 (>= 1)."""
    return _shape(circuit).width


def _gateset_in(circuit: Circuit, shape: _Shape, where: str) -> Gateset | None:
    """The gateset of the circuit's gates (None when it has none); mixing raises InputError."""
    native, qis = shape.native, shape.qis
    if native is not None and qis is not None:
        bad = circuit.instructions[max(native, qis)].name
        raise InputError(
            f"{where}.instructions[{max(native, qis)}]",
            bad,
            "mixes IonQ native gates (gpi, gpi2, ms, zz) with QIS gates in one circuit",
        )
    if native is not None:
        return GATESET_NATIVE
    return None if qis is None else GATESET_QIS


def gateset_of(circuit: Circuit, *, where: str = "circuit") -> Gateset:
    """``"native"`` when the circuit uses IonQ native gates, else ``"qis"``.

    Mixing native and QIS gates raises :class:`~qjobs.InputError`.
    """
    return _gateset_in(circuit, _shape(circuit), where) or GATESET_QIS


# ------------------------------------------------------------------------------- encoding
@attrs.frozen(slots=True)
class Encoded:
    """An encoded job input.

    ``type`` is the IonQ job type, ``input`` the ``input`` object of ``POST /jobs``,
    ``maps`` one measurement map per circuit (for a qasm3 job, the identity over its clbits:
    IonQ reports its outcomes per classical bit), ``gateset`` the gateset used (``None`` for
    qasm3) and ``qubits`` the ``qubits`` value sent.
    """

    type: str
    input: dict[str, Any]
    maps: tuple[MeasurementMap, ...]
    gateset: Gateset | None
    qubits: int


def _param(value: Param, field: str) -> float:
    if isinstance(value, Expr):
        free = value.free_symbols
        if free:
            raise InputError(field, str(value), f"unbound parameter(s) {sorted(free)}; bind first")
        value = float(value.evaluate({}))
    out = float(value)
    if not math.isfinite(out):
        raise InputError(field, out, "parameter must be a finite number")
    return out


def _check_bound(circuit: Circuit, where: str) -> None:
    names = circuit.parameters
    if names:
        raise InputError(
            f"{where}.parameters", list(names), "circuit has unbound parameters; bind them first"
        )


def _encode_gate(ins: Instruction, pos: int, where: str) -> list[dict[str, Any]]:
    field = f"{where}.instructions[{pos}]"
    params = [_param(p, f"{field}.params[{i}]") for i, p in enumerate(ins.params)]
    q = list(ins.qubits)
    name = ins.name
    if name == "gpi" or name == "gpi2":
        return [{"gate": name, "target": q[0], "phase": params[0]}]
    if name == "ms":
        return [{"gate": "ms", "targets": q, "phases": params[:2], "angle": params[2]}]
    if name == "zz":  # the IR's zz is IonQ's native zz; QIS zz is the IR's rzz
        return [{"gate": "zz", "targets": q, "angle": params[0]}]
    if name == "p":
        return [{"gate": "rz", "targets": q, "rotation": params[0]}]
    if name == "cp":
        lam = params[0]
        return [
            {"gate": "rz", "targets": [q[0]], "rotation": lam / 2},
            {"gate": "rz", "targets": [q[1]], "controls": [q[0]], "rotation": lam},
        ]
    if name == "u3" or name == "u2":
        theta, phi, lam = params if name == "u3" else [math.pi / 2, *params]
        return [
            {"gate": "rz", "targets": q, "rotation": lam},
            {"gate": "ry", "targets": q, "rotation": theta},
            {"gate": "rz", "targets": q, "rotation": phi},
        ]
    try:
        ionq_name, ncontrols = _QIS_GATES[name]
    except KeyError:
        raise InputError(f"{field}.name", name, "gate not supported by IonQ") from None
    gate: dict[str, Any] = {"gate": ionq_name, "targets": q[ncontrols:]}
    if ncontrols:
        gate["controls"] = q[:ncontrols]
    if params:
        gate["rotation"] = params[0]
    return [gate]


def _encode_ops(circuit: Circuit, where: str) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for pos, ins in enumerate(circuit.instructions):
        if not ins.is_gate or ins.name == "id":
            continue
        ops.extend(_encode_gate(ins, pos, where))
    return ops


def _resolve_gateset(circuits: Sequence[tuple[Circuit, _Shape]], gateset: str | None) -> Gateset:
    found: Gateset | None = None
    for i, (c, shape) in enumerate(circuits):
        where = "circuit" if len(circuits) == 1 else f"circuits[{i}]"
        gs = _gateset_in(c, shape, where)
        if gs is None:
            continue  # an empty circuit fits either gateset
        if found is None:
            found = gs
        elif gs != found:
            raise InputError(
                f"circuits[{i}]", c.name or i, f"uses the {gs} gateset, earlier circuits {found}"
            )
    if gateset is None:
        return found or GATESET_QIS
    if gateset not in (GATESET_QIS, GATESET_NATIVE):
        raise InputError("gateset", gateset, "must be 'qis' or 'native'")
    if found is not None and found != gateset:
        raise InputError("gateset", gateset, f"the circuit(s) use {found} gates")
    return gateset  # type: ignore[return-value]


def _encode_qasm3(circuit: Circuit) -> Encoded:
    _check_bound(circuit, "circuit")
    if any(ins.name in NATIVE_GATES for ins in circuit.instructions):
        raise InputError(
            "circuit",
            circuit.name,
            "native gates cannot be combined with mid-circuit measurement or reset",
        )
    data = circuit.to_qasm3()
    n = circuit.num_clbits if circuit.measured_clbits else circuit.num_qubits
    return Encoded(
        type=TYPE_QASM3,
        input={"qubits": circuit.num_qubits, "data": data},
        maps=(MeasurementMap.identity(n),),
        gateset=None,
        qubits=circuit.num_qubits,
    )


def encode(
    circuits: Circuit | Sequence[Circuit],
    *,
    gateset: str | None = None,
    names: Sequence[str] | None = None,
) -> Encoded:
    """Encode one circuit (``ionq.circuit.v1`` or ``ionq.qasm3.v1``) or several (multi-circuit).

    A sequence always gives ``ionq.multi-circuit.v1``, even of length one; its circuits need JSON
    form (no reset or mid-circuit measurement). ``gateset`` forces ``"qis"`` or ``"native"``;
    by default it follows the gates used. ``names`` overrides the per-circuit names of a
    multi-circuit job (default: each circuit's name, else ``"circuit-<i>"``).
    Raises :class:`~qjobs.InputError` for anything IonQ cannot run, before anything is sent.
    """
    if isinstance(circuits, Circuit):
        shape = _shape(circuits)
        if shape.qasm3:
            if gateset == GATESET_NATIVE:
                raise InputError("gateset", gateset, "qasm3 jobs (reset, mid-circuit measure)")
            return _encode_qasm3(circuits)
        _check_bound(circuits, "circuit")
        gs = _resolve_gateset([(circuits, shape)], gateset)
        return Encoded(
            type=TYPE_CIRCUIT,
            input={
                "gateset": gs,
                "qubits": shape.width,
                "circuit": _encode_ops(circuits, "circuit"),
            },
            maps=(_map_of(circuits, shape),),
            gateset=gs,
            qubits=shape.width,
        )
    seq = list(circuits)
    if not seq:
        raise InputError("circuits", seq, "no circuits given")
    if names is not None and len(names) != len(seq):
        raise InputError("names", list(names), f"need {len(seq)} names")
    shaped: list[tuple[Circuit, _Shape]] = []
    for i, c in enumerate(seq):
        if not isinstance(c, Circuit):
            raise InputError(f"circuits[{i}]", type(c).__name__, "not a qjobs.Circuit")
        shape = _shape(c)
        if shape.qasm3:
            raise InputError(
                f"circuits[{i}]",
                c.name or i,
                "has reset or mid-circuit measurement, which multi-circuit jobs cannot carry; "
                "submit it on its own",
            )
        _check_bound(c, f"circuits[{i}]")
        shaped.append((c, shape))
    gs = _resolve_gateset(shaped, gateset)
    entries = []
    for i, c in enumerate(seq):
        label = names[i] if names is not None else (c.name or f"circuit-{i}")
        entries.append({"name": label, "circuit": _encode_ops(c, f"circuits[{i}]")})
    w = max(shape.width for _, shape in shaped)
    return Encoded(
        type=TYPE_MULTI,
        input={"gateset": gs, "qubits": w, "circuits": entries},
        maps=tuple(_map_of(c, shape) for c, shape in shaped),
        gateset=gs,
        qubits=w,
    )


# ------------------------------------------------------------------------------- decoding
def _int_list(value: Any, field: str) -> list[int]:
    if is_int(value):
        return [value]
    if not isinstance(value, list) or not all(is_int(v) for v in value):
        raise InputError(field, value, "expected a list of qubit indices")
    return list(value)


def _number(value: Any, field: str) -> float:
    if not is_number(value):
        raise InputError(field, value, "expected a number")
    return float(value)


def _decode_native(gate: Mapping[str, Any], field: str) -> Instruction:
    name = gate.get("gate")
    if name in ("gpi", "gpi2"):
        target = gate.get("target", gate.get("targets"))
        qs = _int_list(target, f"{field}.target")
        return Instruction(str(name), tuple(qs), (_number(gate.get("phase"), f"{field}.phase"),))
    if name == "ms":
        qs = _int_list(gate.get("targets"), f"{field}.targets")
        phases = gate.get("phases", [0.0, 0.0])
        if not isinstance(phases, list) or len(phases) != 2:
            raise InputError(f"{field}.phases", phases, "expected two phases")
        angle = _number(gate.get("angle", 0.25), f"{field}.angle")
        return Instruction(
            "ms",
            tuple(qs),
            (_number(phases[0], f"{field}.phases"), _number(phases[1], f"{field}.phases"), angle),
        )
    if name == "zz":
        qs = _int_list(gate.get("targets"), f"{field}.targets")
        return Instruction("zz", tuple(qs), (_number(gate.get("angle"), f"{field}.angle"),))
    raise InputError(f"{field}.gate", name, "not a native gate")


def _decode_qis(gate: Mapping[str, Any], field: str) -> list[Instruction]:
    name = gate.get("gate")
    targets = _int_list(gate.get("targets", gate.get("target")), f"{field}.targets")
    controls = _int_list(gate.get("controls", gate.get("control", [])), f"{field}.controls")
    rotation = gate.get("rotation")
    if name == "z" and rotation is not None:
        # qiskit-ionq writes p as z + rotation and cp as z + control + rotation.
        lam = _number(rotation, f"{field}.rotation")
        if len(controls) > 1:
            raise InputError(f"{field}.controls", controls, "z rotation takes at most one control")
        if controls:
            return [Instruction("cp", (controls[0], targets[0]), (lam,))]
        return [Instruction("p", (targets[0],), (lam,))]
    table = _QIS_DECODE.get(str(name))
    if table is None:
        raise InputError(f"{field}.gate", name, "unknown IonQ QIS gate")
    ir = table.get(len(controls))
    if ir is None:
        raise InputError(f"{field}.controls", controls, f"{name} cannot take {len(controls)}")
    params: tuple[float, ...] = ()
    if name in _ROTATION_GATES:
        params = (_number(rotation, f"{field}.rotation"),)
    ntargets = 2 if name in _TWO_TARGET else 1
    if len(targets) == ntargets:
        return [Instruction(ir, (*controls, *targets), params)]
    if ntargets == 1 and not controls and len(targets) > 1:
        # IonQ allows one single-qubit gate on several targets: one instruction each.
        return [Instruction(ir, (t,), params) for t in targets]
    raise InputError(f"{field}.targets", targets, f"{name} takes {ntargets} target(s)")


def decode_circuit(
    ops: Iterable[Mapping[str, Any]],
    *,
    gateset: str = GATESET_QIS,
    qubits: int | None = None,
    name: str | None = None,
    where: str = "circuit",
) -> Circuit:
    """Read one IonQ JSON gate list back into a :class:`~qjobs.Circuit` (no measurements).

    ``qubits`` sets the width (default: the highest qubit used + 1).
    """
    instructions: list[Instruction] = []
    for pos, gate in enumerate(ops):
        field = f"{where}[{pos}]"
        if not isinstance(gate, Mapping):
            raise InputError(field, gate, "expected a gate object")
        if gateset == GATESET_NATIVE:
            instructions.append(_decode_native(gate, field))
        else:
            instructions.extend(_decode_qis(gate, field))
    top = max((q for ins in instructions for q in ins.qubits), default=-1) + 1
    n = max(top, qubits or 0, 1)
    return Circuit(n, 0, tuple(instructions), name=name)


def decode(job_input: Mapping[str, Any]) -> list[Circuit]:
    """Read the ``input`` of an IonQ JSON job (one circuit or multi-circuit) into circuits.

    Measurements are not part of IonQ's JSON, so the circuits have none (IonQ measures every
    qubit). ``ionq.qasm3.v1`` inputs (``data``) are read with :meth:`Circuit.from_qasm`.
    """
    if "data" in job_input:
        data = job_input["data"]
        if not isinstance(data, str):
            raise InputError("input.data", data, "expected OpenQASM text")
        return [Circuit.from_qasm(data)]
    gateset = str(job_input.get("gateset", GATESET_QIS))
    if gateset not in (GATESET_QIS, GATESET_NATIVE):
        raise InputError("input.gateset", gateset, "must be 'qis' or 'native'")
    qubits = job_input.get("qubits")
    width_ = qubits if is_int(qubits) else None
    if "circuits" in job_input:
        entries = job_input["circuits"]
        if not isinstance(entries, list):
            raise InputError("input.circuits", entries, "expected a list")
        out = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise InputError(f"input.circuits[{i}]", entry, "expected an object")
            out.append(
                decode_circuit(
                    entry.get("circuit", []),
                    gateset=gateset,
                    qubits=width_,
                    name=entry.get("name"),
                    where=f"input.circuits[{i}].circuit",
                )
            )
        return out
    ops = job_input.get("circuit")
    if not isinstance(ops, list):
        raise InputError("input.circuit", ops, "expected a list of gates")
    return [decode_circuit(ops, gateset=gateset, qubits=width_, where="input.circuit")]


# ------------------------------------------------------------------------------- results
