"""The qjobs contestants: the async Scheduler, the generated ``qjobs_sync`` facade, and the
100,000-job memory run against the in-process fake provider.

Each ``prepare_*`` function does the untimed set-up (building circuits) and returns the timed
part as a zero-argument callable returning counts (jobs, circuits, requests, sane results).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchmarks._workload import classical_circuits, qjobs_circuits
from qjobs import Circuit, Progress, Result, Scheduler
from qjobs.providers.ionq import IonQClient
from qjobs.testing import FakeProvider
from qjobs.transport import RateLimit

__all__ = ["prepare_async", "prepare_memory", "prepare_sync"]

Timed = Callable[[], dict[str, Any]]
_TOKEN = "bench-token"


def _ok(results: list[Result], shots: int) -> int:
    return sum(1 for r in results if sum(r.counts.values()) == shots)


def _client_counts(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_requests": snapshot["total"],
        "client_routes": snapshot["requests"],
        "client_retries": snapshot["retries"],
        "client_peak_in_flight": snapshot["peak_in_flight"],
    }


def _limit(requests_per_second: float | None, max_concurrent: int | None) -> RateLimit | None:
    """The hard caps to pass, or None (both unset) for the client's own defaults."""
    if requests_per_second is None and max_concurrent is None:
        return None
    return RateLimit(requests_per_second=requests_per_second, max_concurrent=max_concurrent)


def prepare_async(
    base_url: str,
    *,
    count: int,
    shots: int,
    batch_size: int | None,
    requests_per_second: float | None,
    max_concurrent: int | None,
) -> Timed:
    """qjobs' async Scheduler on the emulator: ``count`` circuits, then gather."""
    circuits = qjobs_circuits(count)
    limit = _limit(requests_per_second, max_concurrent)

    async def main() -> dict[str, Any]:
        async with IonQClient(token=_TOKEN, base_url=base_url, rate_limit=limit) as client:
            async with Scheduler(
                client, backend="simulator", shots=shots, batch_size=batch_size
            ) as sched:
                for c in circuits:
                    sched.submit(c)
                results = await sched.gather()
                jobs = sched.progress()
            snap = client.transport.stats.snapshot()
        return {
            "circuits": count,
            "results_ok": _ok(results, shots),
            "progress": _progress(jobs),
            **_client_counts(snap),
        }

    return lambda: asyncio.run(main())


def prepare_sync(
    base_url: str,
    *,
    count: int,
    shots: int,
    batch_size: int | None,
    requests_per_second: float | None,
    max_concurrent: int | None,
) -> Timed:
    """The same workload through ``qjobs_sync`` (blocking calls on the background loop)."""
    import qjobs_sync

    circuits = qjobs_circuits(count)
    limit = _limit(requests_per_second, max_concurrent)

    def main() -> dict[str, Any]:
        with (
            qjobs_sync.connect("ionq", token=_TOKEN, base_url=base_url, rate_limit=limit) as client,
            qjobs_sync.Scheduler(
                client, backend="simulator", shots=shots, batch_size=batch_size
            ) as sched,
        ):
            for c in circuits:
                sched.submit(c)
            results = sched.gather()
            jobs = sched.progress()
            snap = client.transport.stats.snapshot()
        return {
            "circuits": count,
            "results_ok": _ok(results, shots),
            "progress": _progress(jobs),
            **_client_counts(snap),
        }

    return main


def prepare_memory(*, count: int, shots: int, queue_time: float, exec_time: float) -> Timed:
    """``count`` unbatched jobs tracked at once (``max_in_flight=count``) on the fake provider."""
    circuits: list[Circuit] = classical_circuits(count)

    async def main() -> dict[str, Any]:
        fake = FakeProvider(queue_time=queue_time, exec_time=exec_time)
        async with Scheduler(
            fake, backend="simulator", shots=shots, batch_size=1, max_in_flight=count
        ) as sched:
            for c in circuits:
                sched.submit(c)
            results = await sched.gather()
            jobs = sched.progress()
        st = fake.stats.snapshot()
        return {
            "circuits": count,
            "results_ok": _ok(results, shots),
            "progress": _progress(jobs),
            "client_requests": st["total"],
            "client_routes": st["requests"],
            "provider_jobs_created": st["jobs_created"],
            "provider_peak_active_jobs": st["peak_active_jobs"],
        }

    return lambda: asyncio.run(main())


def _progress(p: Progress) -> dict[str, int]:
    """The scheduler's final progress snapshot: circuits by outcome and jobs created."""
    return {
        "total": p.total,
        "completed": p.completed,
        "failed": p.failed,
        "cancelled": p.cancelled,
        "retried": p.retried,
        "jobs_submitted": p.jobs_submitted,
    }
