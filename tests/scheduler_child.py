"""Child process for the scheduler's SIGKILL tests: run circuits through a ledgered Scheduler.

Usage: ``python tests/scheduler_child.py BASE_URL LEDGER OUT N BATCH_SIZE MAX_IN_FLIGHT``.
Prints ``S <n>`` after each circuit's job is created, ``C <n>`` after each result, and at the end
``DONE <from_ledger> <jobs_submitted>``, after writing every circuit's probabilities to OUT (JSON).
The parent kills it with SIGKILL at moments it detects from these lines or from the ledger.
"""

from __future__ import annotations

import json
import sys

import anyio

import qjobs
from qjobs.scheduler import Scheduler, SchedulerEvent
from qjobs.transport import RateLimit, RetryPolicy


def circuits(n: int) -> list[qjobs.Circuit]:
    """N distinct two-qubit circuits with exactly known probabilities."""
    template = qjobs.Circuit.from_qasm(
        'OPENQASM 3.0; include "stdgates.inc"; input float t; qubit[2] q; bit[2] c;'
        " ry(t) q[0]; cx q[0], q[1]; rx(t / 3) q[1]; c = measure q;"
    )
    return template.bind_many({"t": [0.1 + 3.0 * i / n for i in range(n)]})


async def main(argv: list[str]) -> None:
    base_url, ledger, out, n, batch_size, max_in_flight = argv
    submitted = completed = 0

    def on_event(ev: SchedulerEvent) -> None:
        nonlocal submitted, completed
        if ev.kind == "submitted":
            submitted += 1
            print(f"S {submitted}", flush=True)
        elif ev.kind == "completed":
            completed += 1
            print(f"C {completed}", flush=True)

    retry = RetryPolicy(base_delay=0.01, max_delay=0.1)
    limit = RateLimit(requests_per_second=None, max_concurrent=16)
    async with (
        qjobs.connect(
            "ionq", token="t", base_url=base_url, retry=retry, rate_limit=limit
        ) as client,
        Scheduler(
            client,
            backend="simulator",
            shots=100,
            batch_size=int(batch_size),
            max_in_flight=int(max_in_flight),
            ledger=ledger,
            poll_initial=0.02,
            poll_max=0.1,
            on_event=on_event,
        ) as sched,
    ):
        for c in circuits(int(n)):
            sched.submit(c)
        results = await sched.gather()
        p = sched.progress()
    await anyio.Path(out).write_text(json.dumps([r.probabilities.tolist() for r in results]))
    print(f"DONE {p.from_ledger} {p.jobs_submitted}", flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
