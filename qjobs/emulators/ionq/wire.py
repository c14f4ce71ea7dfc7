"""IonQ v0.4 wire pieces of the emulator: backends, credentials, error bodies, result shapes.

Pure functions and constants: the ``Authorization: apiKey`` header read, the
``{"statusCode", "error", "message"}`` error body, characterization snapshots, per-shot
registers, list prices. The ``ionq.circuit.v1`` gate list is read by
:mod:`qjobs.emulators._common.ionq_circuits` (Kipu's hub speaks it too).
"""

from __future__ import annotations

from typing import Any, Final

import attrs
from aiohttp import web

from qjobs.circuit._ir import Circuit
from qjobs.emulators._common import json_response, status_phrase

__all__ = [
    "BACKENDS",
    "CHARACTERIZATIONS",
    "NOISE_MODELS",
    "PREFIX",
    "QIS_GATES",
    "QIS_GATES_2Q",
    "RATES",
    "BackendInfo",
    "characterization",
    "characterization_id",
    "error_response",
    "gate_counts",
    "register_shots",
    "requested_failure",
    "token_of",
]

#: The URL prefix of every IonQ route.
PREFIX: Final = "/v0.4"


@attrs.frozen
class BackendInfo:
    """One emulated IonQ backend."""

    name: str
    qubits: int
    is_simulator: bool = False


#: The emulated backends, by IonQ name.
BACKENDS: Final[dict[str, BackendInfo]] = {
    b.name: b
    for b in (
        BackendInfo("simulator", 29, is_simulator=True),
        BackendInfo("qpu.aria-1", 25),
        BackendInfo("qpu.aria-2", 25),
        BackendInfo("qpu.forte-1", 36),
        BackendInfo("qpu.forte-enterprise-1", 36),
        BackendInfo("qpu.qpu", 36),
    )
}

#: Noise models the simulator accepts (``ideal`` is exact; the others are sampled).
NOISE_MODELS: Final[tuple[str, ...]] = (
    "ideal",
    "harmony",
    "aria-1",
    "aria-2",
    "forte-1",
    "forte-enterprise-1",
)


def error_response(status: int, message: str, error_type: str | None = None) -> web.Response:
    """IonQ's error shape: ``{"statusCode", "error", "message"}`` (``error`` is the type)."""
    body = {"statusCode": status, "error": error_type or status_phrase(status), "message": message}
    return json_response(body, status=status)


def token_of(request: web.Request) -> str | None:
    """The token of ``Authorization: apiKey <token>``; None when missing or in another form."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "apikey":
        return None
    return token.strip() or None


def gate_counts(circuit: Circuit) -> dict[str, int]:
    """``{"1q": n, "2q": m}`` (gates on three qubits count as ``"3q"``)."""
    counts: dict[str, int] = {"1q": 0, "2q": 0}
    for ins in circuit.instructions:
        if ins.is_gate:
            key = f"{len(ins.qubits)}q"
            counts[key] = counts.get(key, 0) + 1
    return counts


#: (1q gate-shot rate, 2q gate-shot rate, minimum per job) in USD; illustrative list prices.
RATES: Final[dict[str, tuple[float, float, float]]] = {
    "simulator": (0.0, 0.0, 0.0),
    "qpu.aria-1": (0.0002205, 0.000975, 97.5),
    "qpu.aria-2": (0.0002205, 0.000975, 97.5),
    "qpu.forte-1": (0.0001645, 0.0011, 97.5),
    "qpu.forte-enterprise-1": (0.0001645, 0.0011, 97.5),
    "qpu.qpu": (0.0002205, 0.000975, 97.5),
}
#: How many daily characterizations each backend has.
CHARACTERIZATIONS: Final = 3
#: The QIS gates every backend lists as supported (one-qubit, then two-qubit).
QIS_GATES: Final = ("x", "y", "z", "h", "s", "si", "t", "ti", "v", "vi", "rx", "ry", "rz")
QIS_GATES_2Q: Final = ("swap", "xx", "yy", "zz")


def requested_failure() -> dict[str, str]:
    """The ``failure`` of a job that asked to fail (``qjobs_fail``)."""
    return {"code": "QJobsRequestedFailure", "error": "the job asked to fail (qjobs_fail)"}


def characterization_id(backend: str, age: int) -> str:
    """The deterministic id of ``backend``'s characterization ``age`` days old."""
    digest = sum((i + 1) * ord(ch) for i, ch in enumerate(backend))
    return f"00000000-0000-4000-8000-{digest:06x}{age:06x}"


def characterization(b: BackendInfo, age: int) -> dict[str, Any]:
    """A deterministic calibration snapshot; ``age`` 0 is the newest (one per day)."""
    drift = 0.001 * age
    return {
        "id": characterization_id(b.name, age),
        "backend": b.name,
        "date": f"2026-01-{28 - age:02d}T00:00:00Z",
        "status": "available",
        "qubits": b.qubits,
        "connectivity": [[i, j] for i in range(b.qubits) for j in range(i + 1, b.qubits)],
        "fidelity": {
            "spam": {"median": round(0.995 - drift, 6), "stderr": 0.0005},
            "1q": {"median": round(0.9998 - drift / 10, 6), "stderr": 0.00002},
            "2q": {"median": round(0.993 - drift, 6), "stderr": 0.0004},
        },
        "timing": {
            "t1": 10.0,
            "t2": 1.0,
            "1q": 0.000135,
            "2q": 0.0006,
            "readout": 0.0003,
            "reset": 0.00002,
        },
    }


def register_shots(circuit: Circuit, samples: Any) -> list[dict[str, Any]]:
    """Per-shot classical registers (``ionq.result.shots.json.v2``): bit j of each register."""
    regs = [(r.name, r.start, r.size) for r in circuit.cregs]
    if not regs:
        regs = [("c", 0, circuit.num_clbits or circuit.num_qubits)]
    out = []
    for s in samples:
        value = int(s)
        out.append(
            {
                "registers": {
                    name: [(value >> (start + j)) & 1 for j in range(size)]
                    for name, start, size in regs
                }
            }
        )
    return out
