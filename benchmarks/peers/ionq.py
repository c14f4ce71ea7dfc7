"""qiskit-ionq as its users write it at their best: ``backend.run`` of every circuit, then
``job.result()`` of each (polling every ``poll`` seconds; the SDK's default is 5 s)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from benchmarks.peers.circuits import qiskit_circuit

__all__ = ["DESCRIPTION", "prepare"]

DESCRIPTION = "qiskit-ionq: backend.run(circuit) each, then result() each"


def prepare(
    base_url: str, token: str, count: int, shots: int, poll: float
) -> Callable[[], dict[str, Any]]:
    """Build the circuits and import the SDK (untimed); return the timed run."""
    from qiskit_ionq import IonQProvider

    # The SDK also reads its endpoint from the environment (for the backend's qubit count).
    os.environ.pop("QISKIT_IONQ_API_URL", None)
    os.environ.pop("QISKIT_IONQ_API_TOKEN", None)
    os.environ["IONQ_API_URL"] = base_url
    os.environ["IONQ_API_KEY"] = token
    circuits = [qiskit_circuit(i, count) for i in range(count)]

    def run() -> dict[str, Any]:
        backend = IonQProvider(token=token, url=base_url).get_backend("simulator")
        jobs = [backend.run(qc, shots=shots) for qc in circuits]
        totals = [sum(job.result(wait=poll).get_counts().values()) for job in jobs]
        return {"circuits": count, "results_ok": sum(1 for t in totals if t == shots)}

    return run
