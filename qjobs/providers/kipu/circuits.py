"""Circuit -> Kipu Quantum Hub job input, for the backends whose input format qjobs knows.

The Hub's ``POST jobs`` takes each backend's native input (spec §6). qjobs encodes a
:class:`~qjobs.Circuit` for:

- ``azure.ionq.*``: IonQ circuit JSON (``IONQ_CIRCUIT_V1``, the ``qis`` gateset) built by
  :mod:`qjobs.providers.ionq.circuits`, with the gate name under ``type`` as the Hub's schema has
  it, and the measurement map in ``input_params.meas_map`` (a JSON list: entry ``j`` is the qubit
  measured into classical bit ``j``, ``null`` for a bit never written) as qhub-quantum sends it;
- ``aws.*`` gate-based devices: ``{"qasm": <OpenQASM 3>}`` (a list for several circuits, a
  Braket program set), ``BRAKET_OPEN_QASM_V3``;
- ``kipu.sim.qsim``: ``{"qasm": <OpenQASM>}`` (version 2 when expressible, else 3);
- ``qudora.*``: ``{"qasm": ...}`` (string or list) with ``input_params.language``;
- ``ibm.*``: Sampler V2 PUBs holding OpenQASM 3 (``{"pubs": [[qasm], ...], "version": 2}``,
  ``input_params.program_id = "sampler"``) plus the body's ``qasm`` rendering, which the Hub
  uses when it cannot decode ``input`` (as qhub-quantum sends it for IBM jobs).

Any other backend needs a provider-native dict (:func:`supports` says which backends qjobs can
encode for). Everything is validated here, before a request is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs
import orjson

from qjobs._core.errors import InputError, QJobsError
from qjobs.circuit._ir import Circuit
from qjobs.providers.ionq import circuits as ionq_codec

__all__ = [
    "FORMAT_BRAKET_QASM3",
    "FORMAT_IONQ",
    "FORMAT_QASM2",
    "FORMAT_QASM3",
    "EncodedInput",
    "encode",
    "input_kind",
    "max_circuits",
    "supports",
]

FORMAT_IONQ: Final = "IONQ_CIRCUIT_V1"
FORMAT_BRAKET_QASM3: Final = "BRAKET_OPEN_QASM_V3"
FORMAT_QASM2: Final = "OPEN_QASM_V2"
FORMAT_QASM3: Final = "OPEN_QASM_V3"

#: Gate-model AWS devices (``aws.quera.aquila`` is an analog AHS device, not gate-based).
_AWS_NON_GATE: Final = frozenset({"aws.quera.aquila"})
#: Circuits per job where the backend takes a list of programs (Braket program sets, Qudora).
_MAX_PROGRAMS: Final = 100


@attrs.frozen(slots=True)
class EncodedInput:
    """A Hub job input: ``input``, ``input_format``, ``input_params``, the body's ``qasm``
    rendering (or None) and, per circuit, the number of classical bits its outcomes have."""

    input: dict[str, Any]
    input_format: str | None
    input_params: dict[str, Any]
    num_clbits: tuple[int, ...]
    qasm: dict[str, Any] | None = None


def input_kind(backend: str) -> str | None:
    """``"ionq"``, ``"braket"``, ``"qsim"``, ``"qudora"``, ``"ibm"``, or None when qjobs has no
    encoding."""
    if backend.startswith("ibm."):
        return "ibm"
    if backend.startswith("azure.ionq."):
        return "ionq"
    if backend.startswith("aws.") and backend not in _AWS_NON_GATE:
        return "braket"
    if backend == "kipu.sim.qsim":
        return "qsim"
    if backend.startswith("qudora."):
        return "qudora"
    return None


def supports(backend: str) -> bool:
    """True when qjobs can encode a Circuit for ``backend``."""
    return input_kind(backend) is not None


def max_circuits(backend: str) -> int:
    """How many circuits one job on ``backend`` can carry (0: qjobs cannot encode for it)."""
    kind = input_kind(backend)
    if kind is None:
        return 0
    return _MAX_PROGRAMS if kind in ("braket", "qudora", "ibm") else 1


def _clbits(circuit: Circuit) -> int:
    measured = any(ins.name == "measure" for ins in circuit.instructions)
    return circuit.num_clbits if measured else circuit.num_qubits


def _check_bound(circuit: Circuit, where: str) -> None:
    if circuit.parameters:
        raise InputError(
            f"{where}.parameters", list(circuit.parameters), "unbound parameters; bind first"
        )


def _qasm3(circuit: Circuit, where: str) -> str:
    try:
        return circuit.to_qasm3()
    except QJobsError as exc:
        raise InputError(where, circuit.name, f"cannot be written as OpenQASM 3: {exc}") from None


def _qasm2_or_3(circuit: Circuit, where: str) -> tuple[str, int]:
    try:
        return circuit.to_qasm2(), 2
    except (QJobsError, ValueError):
        return _qasm3(circuit, where), 3


def _ionq(circuit: Circuit) -> EncodedInput:
    if ionq_codec.needs_qasm3(circuit):
        raise InputError(
            "circuit",
            circuit.name,
            "has reset or mid-circuit measurement, which IonQ circuit JSON cannot carry",
        )
    encoded = ionq_codec.encode(circuit, gateset=ionq_codec.GATESET_QIS)
    ops = []
    for op in encoded.input["circuit"]:
        entry = {"type": op["gate"]}
        entry.update({k: v for k, v in op.items() if k != "gate"})
        ops.append(entry)
    body = {"gateset": encoded.input["gateset"], "qubits": encoded.qubits, "circuit": ops}
    meas = encoded.maps[0]
    params = {"meas_map": orjson.dumps(list(meas.sources)).decode(), "memory": True}
    return EncodedInput(body, FORMAT_IONQ, params, (meas.num_clbits,))


def encode(circuits: Circuit | Sequence[Circuit], backend: str) -> EncodedInput:
    """Encode one circuit, or several as one job where the backend takes a list of programs.

    Raises :class:`~qjobs.InputError` for a backend qjobs cannot encode for, unbound
    parameters, too many circuits, or a circuit the backend's format cannot carry.
    """
    kind = input_kind(backend)
    if kind is None:
        raise InputError(
            "backend",
            backend,
            "qjobs cannot encode circuits for this backend; pass its provider-native input dict",
        )
    single = isinstance(circuits, Circuit)
    if single:
        seq: list[Circuit] = [circuits]  # type: ignore[list-item]
    elif isinstance(circuits, list | tuple):
        seq = list(circuits)
    else:
        raise InputError("circuits", type(circuits).__name__, "must be a Circuit or a list of them")
    if not seq:
        raise InputError("circuits", seq, "no circuits given")
    limit = max_circuits(backend)
    if len(seq) > limit:
        raise InputError(
            "circuits", f"{len(seq)} circuits", f"backend {backend!r} takes at most {limit} per job"
        )
    for i, c in enumerate(seq):
        where = "circuit" if single else f"circuits[{i}]"
        if not isinstance(c, Circuit):
            raise InputError(where, type(c).__name__, "not a qjobs.Circuit")
        _check_bound(c, where)
    widths = tuple(_clbits(c) for c in seq)
    if kind == "ionq":
        return _ionq(seq[0])
    if kind == "ibm":
        programs = [_qasm3(c, f"circuits[{i}]") for i, c in enumerate(seq)]
        rendering = {
            "format": "openqasm.v3",
            "programs": [
                {"qasm": text, "name": c.name or f"circuit-{i}"}
                for i, (text, c) in enumerate(zip(programs, seq, strict=True))
            ],
        }
        body = {"pubs": [[text] for text in programs], "version": 2, "support_qiskit": False}
        return EncodedInput(body, None, {"program_id": "sampler"}, widths, rendering)
    if kind == "braket":
        programs = [_qasm3(c, f"circuits[{i}]") for i, c in enumerate(seq)]
        value: Any = programs[0] if single else programs
        return EncodedInput({"qasm": value}, FORMAT_BRAKET_QASM3, {}, widths)
    rendered = [_qasm2_or_3(c, f"circuits[{i}]") for i, c in enumerate(seq)]
    version = max(v for _, v in rendered)
    if version == 3 and any(v == 2 for _, v in rendered):
        rendered = [(_qasm3(c, f"circuits[{i}]"), 3) for i, c in enumerate(seq)]
    texts = [t for t, _ in rendered]
    if kind == "qsim":
        fmt = FORMAT_QASM2 if version == 2 else FORMAT_QASM3
        return EncodedInput({"qasm": texts[0]}, fmt, {"mode": "sample"}, widths)
    language = "OpenQASM2" if version == 2 else "OpenQASM3"
    value = texts[0] if single else texts
    fmt = FORMAT_QASM2 if version == 2 else FORMAT_QASM3
    return EncodedInput({"qasm": value}, fmt, {"language": language}, widths)
