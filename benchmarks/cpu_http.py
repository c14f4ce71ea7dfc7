"""Client CPU per unbatched job over HTTP: qjobs against plain aiohttp, on a zero-delay emulator.

The scenario ``cpu_http`` starts its own IonQ emulator process with no latency, queue or
execution time, so the client's CPU is the cost that matters, and runs two contestants in fresh
worker processes on it:

- ``qjobs_async``: the Scheduler with ``batch_size=1`` and the request cap lifted (a rate far
  above what the client can send), :func:`benchmarks.contestants.prepare_async`;
- ``aiohttp_gather`` (:func:`prepare_aiohttp`): the same requests written by hand on one aiohttp
  session with the same number of connections: ``asyncio.gather`` of every ``POST /jobs``, then
  gathered ``GET /jobs?ids=`` polls (100 ids each) until every job is final, then gathered
  ``GET /jobs/{id}/results/probabilities``.

Both CPU figures are ``time.process_time()`` of the worker process (the emulator's CPU is its
own process's); their ratio is the overhead of qjobs per job.

``python -m benchmarks.cpu_http [--jobs N] [--top K]`` profiles the qjobs contestant with
cProfile in this process (against its own zero-delay emulator) and prints the top entries by
``tottime``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._emulator import EmulatorProcess, reset_stats
from benchmarks._workload import ionq_body

__all__ = ["cpu_http", "prepare_aiohttp", "profile"]

Timed = Callable[[], dict[str, Any]]
_TOKEN = "bench-token"
_FINAL = frozenset({"completed", "failed", "canceled", "cancelled"})
#: Ids per ``GET /jobs?ids=`` poll: IonQ's ``status_batch_size``.
_IDS_PER_POLL = 100
#: The lifted cap: a requests-per-second rate no client here reaches.
LIFTED_RPS = 1e6
#: Connections in flight for both contestants (IonQ's default ``max_concurrent_requests``).
CONCURRENCY = 16
#: The target of the issue, in ms of client CPU per unbatched job.
TARGET_MS = 0.3


def prepare_aiohttp(base_url: str, *, count: int, shots: int, max_concurrent: int) -> Timed:
    """Plain aiohttp with ``asyncio.gather``: create every job, poll by ids, fetch every result."""
    import aiohttp

    bodies = [ionq_body(i, count, shots) for i in range(count)]
    headers = {"Authorization": f"apiKey {_TOKEN}", "Accept": "application/json"}
    base = base_url.rstrip("/")

    async def main() -> dict[str, Any]:
        connector = aiohttp.TCPConnector(limit=max_concurrent)
        requests = 0
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def call(method: str, url: str, **kw: Any) -> Any:
                nonlocal requests
                requests += 1
                async with session.request(method, url, **kw) as resp:
                    resp.raise_for_status()
                    return await resp.json()

            created = await asyncio.gather(*(call("POST", f"{base}/jobs", json=b) for b in bodies))
            pending = [str(c["id"]) for c in created]
            while pending:
                chunks = [
                    pending[i : i + _IDS_PER_POLL] for i in range(0, len(pending), _IDS_PER_POLL)
                ]
                pages = await asyncio.gather(
                    *(call("GET", f"{base}/jobs", params=[("ids", j) for j in c]) for c in chunks)
                )
                done = {
                    str(job["id"])
                    for page in pages
                    for job in page["jobs"]
                    if str(job.get("status")) in _FINAL
                }
                pending = [j for j in pending if j not in done]
                if pending:
                    await asyncio.sleep(0.01)
            probs = await asyncio.gather(
                *(call("GET", f"{base}/jobs/{c['id']}/results/probabilities") for c in created)
            )
        ok = sum(1 for p in probs if abs(sum(float(v) for v in p.values()) - 1.0) < 1e-6)
        return {"circuits": count, "results_ok": ok, "client_requests": requests}

    return lambda: asyncio.run(main())


def _summary(res: dict[str, Any]) -> dict[str, float]:
    n = max(int(res["circuits"]), 1)
    return {
        "cpu_per_job_ms": float(res["cpu_s"]) * 1000.0 / n,
        "requests_per_job": float(res["requests_per_circuit"]),
    }


def cpu_http(ctx: Any) -> dict[str, Any]:
    """The scenario: qjobs and plain aiohttp, alternately, on one zero-delay emulator."""
    from benchmarks._runner import run_worker

    c = ctx.config
    count = c.cpu_http_jobs
    runs: dict[str, dict[str, Any]] = {}
    with EmulatorProcess(latency_ms=0.0, queue_ms=0.0, exec_ms=0.0) as emu:
        contestants = {
            "qjobs": (
                "qjobs Scheduler, batch_size=1, cap lifted",
                "qjobs_async",
                {
                    "count": count,
                    "shots": c.shots,
                    "batch_size": 1,
                    "requests_per_second": LIFTED_RPS,
                    "max_concurrent": CONCURRENCY,
                },
            ),
            "aiohttp": (
                "plain aiohttp + gather",
                "aiohttp_gather",
                {"count": count, "shots": c.shots, "max_concurrent": CONCURRENCY},
            ),
        }
        for name, (label, kind, params) in contestants.items():
            res = run_worker({"contestant": kind, "base_url": emu.base_url, "params": params})
            res["label"] = label
            s = _summary(res)
            ctx.log(
                f"  {label:<40} {res['circuits']:>6} jobs  {res['wall_s']:6.2f} s  "
                f"{s['requests_per_job']:.3f} req/job  {s['cpu_per_job_ms']:.3f} ms CPU/job"
            )
            runs[name] = res
    q, a = _summary(runs["qjobs"]), _summary(runs["aiohttp"])
    ratio = q["cpu_per_job_ms"] / a["cpu_per_job_ms"]
    per_request = {
        name: _summary(r)["cpu_per_job_ms"] / max(_summary(r)["requests_per_job"], 1e-9)
        for name, r in runs.items()
    }
    return {
        "title": f"{count:,} unbatched jobs over HTTP: client CPU",
        "description": (
            "qjobs' Scheduler (batch_size=1, request cap lifted) and the same requests written "
            "by hand with aiohttp and asyncio.gather, on an IonQ emulator process with no "
            "latency, queue or execution time; CPU is time.process_time() of the client "
            "process alone."
        ),
        "runs": runs,
        "ratios": {
            "qjobs_vs_aiohttp": {
                "cpu_per_job": ratio,
                "cpu_per_request": per_request["qjobs"] / per_request["aiohttp"],
            }
        },
        "targets": [
            {
                "name": "client CPU per unbatched job over HTTP (ms)",
                "value": q["cpu_per_job_ms"],
                "target": f"< {TARGET_MS} ms",
                "met": q["cpu_per_job_ms"] < TARGET_MS,
            }
        ],
    }


def profile(count: int, top: int, sort: str) -> None:
    """Profile the qjobs contestant in this process against a fresh zero-delay emulator."""
    from benchmarks.contestants import prepare_async

    with EmulatorProcess(latency_ms=0.0, queue_ms=0.0, exec_ms=0.0) as emu:
        run = prepare_async(
            emu.base_url,
            count=count,
            shots=100,
            batch_size=1,
            requests_per_second=LIFTED_RPS,
            max_concurrent=CONCURRENCY,
        )
        reset_stats(emu.base_url)
        prof = cProfile.Profile(time.process_time)
        cpu0 = time.process_time()
        prof.enable()
        out = run()
        prof.disable()
        cpu = time.process_time() - cpu0
    print(
        f"{count} jobs, {out['client_requests'] / count:.3f} requests/job, "
        f"{cpu * 1000 / count:.3f} ms CPU/job under cProfile"
    )
    pstats.Stats(prof).sort_stats(sort).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.cpu_http``: the profile of the qjobs contestant."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.cpu_http", description=__doc__)
    p.add_argument("--jobs", type=int, default=2000)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--sort", default="tottime")
    args = p.parse_args(argv)
    profile(args.jobs, args.top, args.sort)
    return 0


if __name__ == "__main__":
    sys.exit(main())
