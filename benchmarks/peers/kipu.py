"""qhub-api as its users write it at their best: ``AsyncHubQuantumClient``, ``asyncio.gather``
of the creates, gathered status polls every ``poll`` seconds, gathered results."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchmarks.peers.circuits import qasm3

__all__ = ["BACKEND", "DESCRIPTION", "prepare"]

DESCRIPTION = "qhub-api: AsyncHubQuantumClient, gather(creates), gathered polls, gather(results)"
#: A single-circuit simulator (qjobs' default Kipu backend too).
BACKEND = "kipu.sim.qsim"
_FINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "ABORTED", "DETACHED"})


def prepare(
    base_url: str, token: str, count: int, shots: int, poll: float
) -> Callable[[], dict[str, Any]]:
    """Build the circuits and import the SDK (untimed); return the timed run."""
    from qhub.api.quantum import AsyncHubQuantumClient

    sources = [qasm3(i, count) for i in range(count)]

    async def main() -> dict[str, Any]:
        hub = AsyncHubQuantumClient(api_key=token, base_url=base_url)
        jobs = await asyncio.gather(
            *(
                hub.jobs.create_job(backend_id=BACKEND, shots=shots, input={"qasm": src})
                for src in sources
            )
        )
        pending = [job.id for job in jobs]
        while pending:
            await asyncio.sleep(poll)
            states = await asyncio.gather(*(hub.jobs.get_job_status(i) for i in pending))
            pending = [i for i, s in zip(pending, states, strict=True) if s.status not in _FINAL]
        results = await asyncio.gather(
            *(hub.jobs.get_normalized_job_result(job.id) for job in jobs)
        )
        totals = [sum(r.pubs[0].counts.values()) for r in results]
        return {"circuits": count, "results_ok": sum(1 for t in totals if t == shots)}

    return lambda: asyncio.run(main())
