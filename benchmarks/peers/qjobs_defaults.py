"""qjobs with its defaults, as a user calls it: ``qjobs.connect(NAME)``, a ``Scheduler`` on the
same backend as the peer with nothing tuned, ``submit`` of every circuit, ``gather``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchmarks._workload import qjobs_circuits

__all__ = ["BACKENDS", "DESCRIPTION", "prepare"]

DESCRIPTION = "qjobs defaults: connect(NAME), Scheduler(client, backend=...), submit each, gather"
#: The backend each provider's run uses: the peer's.
BACKENDS = {
    "ionq": "simulator",
    "kipu": "kipu.sim.qsim",
    "qbraid": "qbraid:qbraid:sim:qasm-sim",
    "qpi": "qiskit_aer",
    "qibo": "sim",
}


def prepare(
    provider: str, base_url: str, token: str, count: int, shots: int
) -> Callable[[], dict[str, Any]]:
    """Build the circuits (untimed); return the timed run."""
    import qjobs

    circuits = qjobs_circuits(count)

    async def main() -> dict[str, Any]:
        async with (
            qjobs.connect(provider, token=token, base_url=base_url) as client,
            qjobs.Scheduler(client, backend=BACKENDS[provider], shots=shots) as sched,
        ):
            for c in circuits:
                sched.submit(c)
            results = await sched.gather()
            progress = sched.progress()
        ok = sum(1 for r in results if sum(r.counts.values()) == shots)
        return {"circuits": count, "results_ok": ok, "qjobs_jobs": progress.jobs_submitted}

    return lambda: asyncio.run(main())
