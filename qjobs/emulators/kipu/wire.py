"""The Kipu Quantum Hub emulator's backend catalogue and calibration snapshots.

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

__all__ = [
    "BACKENDS",
    "CALIBRATION_DAYS",
    "BackendSpec",
    "backend_json",
    "calibration_json",
    "calibration_times",
]

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
