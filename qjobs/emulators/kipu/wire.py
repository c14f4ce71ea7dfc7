"""Kipu Quantum Hub wire pieces of the emulator: credentials, problem JSON, job inputs, backends.

Job inputs are read independently of the client's codec (never imported): IonQ circuit JSON
(gate name under ``type`` or ``gate``, ``input_params.meas_map``), OpenQASM strings or lists
(``input.qasm`` or a bare string), IBM PUBs holding QASM or the body's ``qasm`` rendering.

Backends cover every input kind the emulator reads: IonQ circuit JSON (``azure.ionq.simulator``),
Braket OpenQASM 3 (``aws.*`` gate devices), OpenQASM 2/3 (``kipu.sim.qsim``, ``qudora.sim.xg1``),
IBM Sampler PUBs with the body's QASM rendering (``ibm.qpu.*``, the only ones with sessions), and
two whose programs the emulator accepts but does not execute (``aws.quera.aquila`` analog
programs, ``quandela.sim.belenos`` photonic ones): their jobs end FAILED and have no normalized
result (204), as the Hub answers for such backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs
import orjson
from aiohttp import web

from qjobs._core.errors import QJobsError
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.emulators._common import HTTPProblem, header_token, json_response, status_phrase
from qjobs.emulators._common.ionq_circuits import decode_circuit

__all__ = [
    "BACKENDS",
    "CALIBRATION_DAYS",
    "PREFIX",
    "BackendSpec",
    "Program",
    "backend_json",
    "calibration_json",
    "calibration_times",
    "decode_programs",
    "error_response",
    "token_of",
]

#: The URL prefix of every Hub route.
PREFIX: Final = "/quantum"

#: Daily calibration snapshots kept per calibrated backend (newest first).
CALIBRATION_DAYS: Final = 7


@attrs.frozen
class BackendSpec:
    """One emulated backend. ``kind`` says how its input is read: ``ionq``, ``braket``,
    ``qasm``, ``ibm`` or ``unsupported``; ``calibration`` is ``gate_based``, ``quera_aquila``
    or None."""

    id: str
    provider: str
    hardware_provider: str
    display_name: str
    type: str
    technology: str
    qubits: int
    formats: tuple[str, ...]
    kind: str
    output_format: str | None = None
    max_shots: int = 100_000
    sessions: bool = False
    calibration: str | None = None
    gates: tuple[str, ...] = ("h", "x", "y", "z", "rx", "ry", "rz", "cx", "cz", "swap")

    @property
    def is_simulator(self) -> bool:
        """True for simulators."""
        return self.type == "SIMULATOR"


_QASM: Final = ("OPEN_QASM_V2", "OPEN_QASM_V3")
_BRAKET: Final = ("BRAKET_OPEN_QASM_V3",)
_IBM_GATES: Final = ("sx", "x", "rz", "cz", "measure", "reset")

#: The emulated backends, by id.
BACKENDS: Final[dict[str, BackendSpec]] = {
    b.id: b
    for b in (
        BackendSpec(
            "azure.ionq.simulator",
            "AZURE",
            "IONQ",
            "IonQ Simulator (Azure)",
            "SIMULATOR",
            "TRAPPED_ION",
            29,
            ("IONQ_CIRCUIT_V1",),
            "ionq",
            "IONQ_RESULT_V1",
        ),
        BackendSpec(
            "aws.sim.sv1", "AWS", "AWS", "SV1", "SIMULATOR", "STATE_VECTOR", 34, _BRAKET, "braket"
        ),
        BackendSpec(
            "aws.sim.dm1",
            "AWS",
            "AWS",
            "DM1",
            "SIMULATOR",
            "DENSITY_MATRIX",
            17,
            _BRAKET,
            "braket",
        ),
        BackendSpec(
            "aws.ionq.forte",
            "AWS",
            "IONQ",
            "IonQ Forte",
            "QPU",
            "TRAPPED_ION",
            36,
            _BRAKET,
            "braket",
            max_shots=10_000,
            calibration="gate_based",
        ),
        BackendSpec(
            "aws.rigetti.cepheus",
            "AWS",
            "RIGETTI",
            "Rigetti Cepheus",
            "QPU",
            "SUPERCONDUCTING",
            36,
            _BRAKET,
            "braket",
            max_shots=10_000,
            calibration="gate_based",
        ),
        BackendSpec(
            "aws.quera.aquila",
            "AWS",
            "QUERA",
            "QuEra Aquila",
            "QPU",
            "NEUTRAL_ATOM",
            256,
            ("BRAKET_AHS_PROGRAM",),
            "unsupported",
            max_shots=1000,
            calibration="quera_aquila",
            gates=(),
        ),
        BackendSpec(
            "ibm.qpu.fez",
            "IBM",
            "IBM",
            "IBM Fez",
            "QPU",
            "SUPERCONDUCTING",
            156,
            ("QISKIT_QPY",),
            "ibm",
            "MICROSOFT_QUANTUM_RESULTS_V2",
            sessions=True,
            calibration="gate_based",
            gates=_IBM_GATES,
        ),
        BackendSpec(
            "ibm.qpu.marrakesh",
            "IBM",
            "IBM",
            "IBM Marrakesh",
            "QPU",
            "SUPERCONDUCTING",
            156,
            ("QISKIT_QPY",),
            "ibm",
            "MICROSOFT_QUANTUM_RESULTS_V2",
            sessions=True,
            calibration="gate_based",
            gates=_IBM_GATES,
        ),
        BackendSpec(
            "kipu.sim.qsim",
            "KIPU",
            "KIPU",
            "Kipu qsim",
            "SIMULATOR",
            "STATE_VECTOR",
            30,
            _QASM,
            "qasm",
        ),
        BackendSpec(
            "qudora.sim.xg1",
            "QUDORA",
            "QUDORA",
            "QUDORA XG1 Simulator",
            "SIMULATOR",
            "TRAPPED_ION",
            20,
            _QASM,
            "qasm",
        ),
        BackendSpec(
            "quandela.sim.belenos",
            "QUANDELA",
            "QUANDELA",
            "Quandela Belenos Simulator",
            "SIMULATOR",
            "PHOTONIC",
            24,
            ("PERCEVAL",),
            "unsupported",
            gates=(),
        ),
    )
}


def backend_json(spec: BackendSpec, *, queue_size: int | None, now_iso: str) -> dict[str, Any]:
    """The Hub Backend object; ``queue_size=None`` (anonymous callers) omits queue and
    availability and reports no calibration."""
    anonymous = queue_size is None
    config: dict[str, Any] = {
        "gates": [{"name": g, "native_gate": True} for g in spec.gates],
        "qubit_count": spec.qubits,
        "connectivity": {
            "fully_connected": spec.technology in ("TRAPPED_ION", "STATE_VECTOR", "DENSITY_MATRIX"),
            "graph": {str(i): [str(i + 1)] for i in range(min(spec.qubits, 64) - 1)},
        },
        "shots_range": {"min": 1, "max": spec.max_shots},
        "supported_input_formats": list(spec.formats),
        "memory_result_supported": spec.kind in ("ionq", "braket", "qasm", "ibm"),
    }
    if spec.output_format is not None:
        config["output_format"] = spec.output_format
    if spec.kind == "ibm":
        config["max_pubs_per_job"] = 100
    body: dict[str, Any] = {
        "id": spec.id,
        "internal_id": spec.id.replace(".", "-"),
        "provider": spec.provider,
        "hardware_provider": spec.hardware_provider,
        "name": spec.id.rsplit(".", 1)[-1],
        "display_name": spec.display_name,
        "type": spec.type,
        "technology": spec.technology,
        "updated_at": now_iso,
        "access_type": "PUBLIC",
        "documentation": {"description": f"{spec.display_name} (qjobs emulator)"},
        "configuration": config,
        "has_calibration": spec.calibration is not None and not anonymous,
    }
    if not anonymous:
        body["queue_size"] = queue_size
        body["availability"] = [{"granularity": "DAY", "start": "00:00", "end": "24:00"}]
    return body


def calibration_times(today: datetime) -> list[datetime]:
    """Snapshot times, newest first: midnight UTC of ``today`` and the days before."""
    midnight = today.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return [midnight - timedelta(days=age) for age in range(CALIBRATION_DAYS)]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def calibration_json(spec: BackendSpec, when: datetime, age: int) -> dict[str, Any]:
    """A deterministic calibration snapshot (``age`` 0 is the newest)."""
    drift = 0.0002 * age
    if spec.calibration == "quera_aquila":
        body: dict[str, Any] = {
            "type": "quera_aquila",
            "lattice": {"area": {"width": 75e-6, "height": 76e-6}, "position_resolution": 1e-7},
            "rydberg": {"c6_coefficient": 5.42e-24, "global_rabi_max": 1.58e7},
            "performance": {"atom_detection_error_false_negative": round(0.01 + drift, 6)},
        }
    else:
        two = "cz" if "cz" in spec.gates else "cx"
        one = "sx" if "sx" in spec.gates else "rx"
        shown = min(spec.qubits, 32)
        body = {
            "type": "gate_based",
            "medians": {
                "gates": {
                    one: {"operational": True, "error": round(0.0003 + drift, 6), "length_ns": 32},
                    two: {"operational": True, "error": round(0.004 + drift, 6), "length_ns": 68},
                }
            },
            "qubits": [
                {
                    "qubit": q,
                    "operational": True,
                    "gates": {
                        one: {
                            "operational": True,
                            "error": round(0.0003 + drift + 1e-5 * q, 7),
                            "error_std": 1e-5,
                            "length_ns": 32,
                        }
                    },
                }
                for q in range(shown)
            ],
            "qubit_pairs": [
                {
                    "qubits": [q, q + 1],
                    "gates": {two: {"operational": True, "error": round(0.004 + drift, 6)}},
                }
                for q in range(shown - 1)
            ],
        }
    return {"backend_id": spec.id, "calibrated_at": _iso(when), "calibration": body}


def error_response(status: int, message: str, error_type: str | None = None) -> web.Response:
    """RFC 7807 problem JSON."""
    body = {
        "type": "about:blank",
        "title": error_type or status_phrase(status),
        "status": status,
        "detail": message,
    }
    resp = json_response(body, status=status)
    resp.content_type = "application/problem+json"
    return resp


#: The token of a request: its ``X-Auth-Token`` header.
token_of = header_token("X-Auth-Token")


def _bad(detail: str) -> HTTPProblem:
    return HTTPProblem(400, detail)


@attrs.define
class Program:
    """One circuit of a job: the circuit, its name, and (IonQ JSON) the measurement map."""

    circuit: Circuit
    name: str | None = None
    meas_map: list[int | None] | None = None
    source: str | None = None

    @property
    def width(self) -> int:
        """Bits per outcome."""
        if self.meas_map is not None:
            return len(self.meas_map)
        measured = any(i.name == "measure" for i in self.circuit.instructions)
        return self.circuit.num_clbits if measured else self.circuit.num_qubits


def _parse_qasm(text: Any, field: str, name: str | None = None) -> Program:
    if not isinstance(text, str) or not text.strip():
        raise _bad(f"{field}: must be an OpenQASM string")
    try:
        return Program(Circuit.from_qasm(text), name=name, source=text)
    except QJobsError as exc:
        raise _bad(f"{field}: {exc}") from None


def _qasm_list(value: Any, field: str) -> list[Program]:
    if isinstance(value, list):
        if not value:
            raise _bad(f"{field}: must not be empty")
        return [_parse_qasm(t, f"{field}[{i}]") for i, t in enumerate(value)]
    return [_parse_qasm(value, field)]


def _ionq(data: Any, params: dict[str, Any]) -> list[Program]:
    if not isinstance(data, dict):
        raise _bad("input: must be an IonQ circuit object")
    gates = data.get("circuit")
    if not isinstance(gates, list):
        raise _bad("input.circuit: must be a list of gates")
    renamed = []
    for i, gate in enumerate(gates):
        if not isinstance(gate, dict):
            raise _bad(f"input.circuit[{i}]: must be a gate object")
        entry = dict(gate)
        if "gate" not in entry and "type" in entry:
            entry["gate"] = entry.pop("type")
        renamed.append(entry)
    qubits = data.get("qubits")
    if qubits is not None and not is_int(qubits):
        raise _bad(f"input.qubits: must be an integer, got {qubits!r}")
    circuit = decode_circuit(renamed, str(data.get("gateset", "qis")), qubits, "input.circuit")
    meas: list[int | None] | None = None
    raw = params.get("meas_map")
    if raw is not None:
        try:
            parsed = orjson.loads(raw) if isinstance(raw, str) else raw
        except orjson.JSONDecodeError:
            raise _bad("input_params.meas_map: must be a JSON list") from None
        if not isinstance(parsed, list) or not all(
            q is None or (isinstance(q, int) and 0 <= q < circuit.num_qubits) for q in parsed
        ):
            raise _bad("input_params.meas_map: must list qubit indices (or null)")
        meas = parsed
    return [Program(circuit, meas_map=meas)]


def _ibm(data: Any, rendering: Any) -> list[Program] | None:
    if isinstance(rendering, dict):
        programs = rendering.get("programs")
        if rendering.get("format") not in ("openqasm.v2", "openqasm.v3") or not isinstance(
            programs, list
        ):
            raise _bad("qasm: needs format openqasm.v2|v3 and a programs list")
        out = []
        for i, p in enumerate(programs):
            if not isinstance(p, dict):
                raise _bad(f"qasm.programs[{i}]: must be an object")
            name = p.get("name")
            out.append(
                _parse_qasm(
                    p.get("qasm"),
                    f"qasm.programs[{i}].qasm",
                    name if isinstance(name, str) else None,
                )
            )
        return out
    pubs = data.get("pubs") if isinstance(data, dict) else None
    if (
        isinstance(pubs, list)
        and pubs
        and all(
            isinstance(p, list)
            and p
            and isinstance(p[0], str)
            and p[0].lstrip().startswith("OPENQASM")
            for p in pubs
        )
    ):
        return [_parse_qasm(p[0], f"input.pubs[{i}][0]") for i, p in enumerate(pubs)]
    return None  # QPY or other content the emulator cannot read: the job will fail


def decode_programs(
    spec: BackendSpec, data: Any, params: dict[str, Any], rendering: Any
) -> list[Program] | None:
    """The job's circuits; None when the emulator accepts the input but cannot execute it.

    Raises :class:`HTTPProblem` 400 naming the field for malformed input.
    """
    if spec.kind == "ionq":
        return _ionq(data, params)
    if spec.kind in ("braket", "qasm"):
        if isinstance(data, str):
            return [_parse_qasm(data, "input")]
        if not isinstance(data, dict) or "qasm" not in data:
            raise _bad("input: must hold 'qasm' (a string or a list) or be a QASM string")
        programs = _qasm_list(data["qasm"], "input.qasm")
        if spec.id == "kipu.sim.qsim" and len(programs) > 1:
            raise _bad("input.qasm: kipu.sim.qsim takes one program")
        return programs
    if spec.kind == "ibm":
        if not isinstance(data, dict):
            raise _bad("input: must be an object")
        return _ibm(data, rendering)
    if not isinstance(data, dict):
        raise _bad("input: must be an object")
    return None
