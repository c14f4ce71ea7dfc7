"""qbraid as its users write it at their best: ``device.run`` of a batch (a list of circuits,
``as_batch=True``: one job per batch of at most :data:`BATCH` programs, the service's cap),
``wait_for_final_state`` polling every ``poll`` seconds, then ``result()`` of each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.peers.circuits import qasm3

__all__ = ["BATCH", "DESCRIPTION", "DEVICE", "prepare"]

DESCRIPTION = "qbraid: device.run(list of circuits, as_batch=True), wait, result()"
DEVICE = "qbraid:qbraid:sim:qasm-sim"
#: Programs per batch job (the emulator refuses more, as the service does).
BATCH = 100


def prepare(
    base_url: str, token: str, count: int, shots: int, poll: float
) -> Callable[[], dict[str, Any]]:
    """Build the circuits and import the SDK (untimed); return the timed run."""
    # qbraid's device cache stays on (as for its users): one emulator serves this process.
    from qbraid.runtime import QbraidProvider
    from qbraid_core import QbraidSessionV1
    from qbraid_core.services.runtime import QuantumRuntimeClient

    sources = [qasm3(i, count) for i in range(count)]
    chunks = [sources[i : i + BATCH] for i in range(0, count, BATCH)]

    def run() -> dict[str, Any]:
        session = QbraidSessionV1(api_key=token, base_url=base_url)
        provider = QbraidProvider(client=QuantumRuntimeClient(session=session))
        device = provider.get_device(DEVICE)
        jobs = [device.run(chunk, shots=shots, as_batch=True) for chunk in chunks]
        totals: list[int] = []
        for job in jobs:
            job.wait_for_final_state(poll_interval=poll)
            counts = job.result().data.get_counts()
            totals += [sum(c.values()) for c in (counts if isinstance(counts, list) else [counts])]
        return {"circuits": count, "results_ok": sum(1 for t in totals if t == shots)}

    return run
