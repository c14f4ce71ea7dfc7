"""qibo-client as its users write it at their best: ``run_circuit`` then ``result()`` (polling
every ``poll`` seconds) for each circuit, in a ``ThreadPoolExecutor`` of :data:`WORKERS`."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.peers.circuits import qibo_circuit

__all__ = ["DESCRIPTION", "WORKERS", "prepare"]

WORKERS = 10
DESCRIPTION = f"qibo-client: run_circuit + result() each, ThreadPoolExecutor({WORKERS})"


def prepare(
    base_url: str, token: str, count: int, shots: int, poll: float
) -> Callable[[], dict[str, Any]]:
    """Build the circuits and import the SDK (untimed); return the timed run."""
    os.environ.setdefault("QIBO_API_ERRORS_AUTO", "0")  # no global exception hooks
    folder = tempfile.mkdtemp(prefix="qjobs-bench-qibo-")  # where the SDK unpacks results
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["RESULTS_BASE_FOLDER"] = folder
    from qibo_client import Client

    circuits = [qibo_circuit(i, count) for i in range(count)]

    def run() -> dict[str, Any]:
        client = Client(token, base_url)

        def one(circuit: Any) -> int:
            job = client.run_circuit(circuit, device="sim", project="personal", nshots=shots)
            result = job.result(wait=poll, verbose=False)
            return int(sum(result.frequencies().values()))

        with ThreadPoolExecutor(WORKERS) as pool:
            totals = list(pool.map(one, circuits))
        return {"circuits": count, "results_ok": sum(1 for t in totals if t == shots)}

    return run
