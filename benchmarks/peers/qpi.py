"""qpi-client as its users write it at their best: one ``submit_job`` with every circuit, then
``result()`` of that job through the QPU's Qiskit backend (``backend.job(id)``; polling every
``poll`` seconds, the SDK's default is 5 s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.peers.circuits import qasm3

__all__ = ["DESCRIPTION", "QPU", "prepare"]

DESCRIPTION = "qpi-client: submit_job(every circuit), then backend.job(id).result()"
QPU = "qiskit_aer"


def prepare(
    base_url: str, token: str, count: int, shots: int, poll: float
) -> Callable[[], dict[str, Any]]:
    """Build the circuits and import the SDK (untimed); return the timed run."""
    from qpi_client import QPIClient

    items = [{"circuit": qasm3(i, count)} for i in range(count)]

    def run() -> dict[str, Any]:
        client = QPIClient(base_url, api_token=token)
        backend = client.get_backend(QPU)
        job_id = client.submit_job(items, shots=shots, qpu_target=QPU)
        result = backend.job(job_id).result(wait=poll)
        totals = [sum(result.get_counts(i).values()) for i in range(count)]
        return {"circuits": count, "results_ok": sum(1 for t in totals if t == shots)}

    return run
