"""The scenarios of a run, their ratios to the baselines, and the issue's targets.

Every scenario returns a JSON-ready dict: ``scenario``, ``title``, ``description``, ``runs`` (one
derived measurement per contestant), ``ratios`` and ``targets`` (each ``name``, ``value``,
``target``, ``met``). The baselines are measured once per run and embedded in each scenario
that compares against them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchmarks._config import Config
from benchmarks._runner import run_worker
from benchmarks.cpu_http import cpu_http
from benchmarks.peers.scenario import peers, peers_limit

__all__ = ["SCENARIOS", "Context"]

Log = Callable[[str], None]


class Context:
    """What scenarios share in one run: the config, the emulator URL, the baselines, a logger."""

    def __init__(self, config: Config, base_url: str, log: Log) -> None:
        self.config = config
        self.base_url = base_url
        self.log = log
        self._baselines: dict[str, dict[str, Any]] | None = None

    def run(self, label: str, contestant: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one contestant in a fresh process and log a one-line summary."""
        spec = {"contestant": contestant, "base_url": self.base_url, "params": params}
        if contestant == "qjobs_memory":
            spec["base_url"] = ""
        res = run_worker(spec)
        res["label"] = label
        self.log(
            f"  {label:<34} {res['circuits']:>7} circuits  {res['wall_s']:7.2f} s  "
            f"{res['circuits_per_s']:9.1f}/s  {res['requests_per_circuit']:.3f} req/circ  "
            f"{res['cpu_per_circuit_ms']:.3f} ms CPU/circ"
        )
        return res

    def qjobs_params(self, count: int, batch_size: int | None, rps: float | None) -> dict[str, Any]:
        """Parameters of a qjobs run on the emulator."""
        c = self.config
        return {
            "count": count,
            "shots": c.shots,
            "batch_size": batch_size,
            "requests_per_second": rps,
            "max_concurrent": c.max_concurrent_requests,
        }

    @property
    def baselines(self) -> dict[str, dict[str, Any]]:
        """The two baselines, measured on first use."""
        if self._baselines is None:
            c = self.config
            common = {"total": c.unbatched_jobs, "shots": c.shots, "poll": c.baseline_poll_s}
            self._baselines = {
                "sequential": self.run(
                    "baseline: sequential, 1 s poll",
                    "sequential",
                    {"count": c.sequential_jobs, **common},
                ),
                "pool": self.run(
                    f"baseline: {c.pool_workers}-thread pool, 1 s poll",
                    "pool",
                    {"count": c.pool_jobs, "workers": c.pool_workers, **common},
                ),
            }
        return self._baselines


def _target(name: str, value: float, target: str, met: bool) -> dict[str, Any]:
    return {"name": name, "value": value, "target": target, "met": bool(met)}


def _ratios(run: dict[str, Any], base: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each figure of ``run`` as a ratio to each baseline's (throughput: higher is better)."""
    out: dict[str, dict[str, float]] = {}
    for name, b in base.items():
        out[name] = {
            "throughput": run["circuits_per_s"] / b["circuits_per_s"],
            "requests_per_circuit": run["requests_per_circuit"] / b["requests_per_circuit"],
            "cpu_per_circuit": run["cpu_per_circuit_ms"] / b["cpu_per_circuit_ms"],
            "peak_rss": run["peak_rss_mib"] / b["peak_rss_mib"],
        }
    return out


def baselines(ctx: Context) -> dict[str, Any]:
    """The baselines alone (throughput is linear in the job count for them)."""
    base = ctx.baselines
    return {
        "title": "Baselines",
        "description": (
            "Blocking stdlib HTTP (urllib, a new connection per request) with a fixed "
            f"{ctx.config.baseline_poll_s:g} s poll: one job at a time (the vendor SDKs), and "
            f"{ctx.config.pool_workers} worker threads with one job each (Amazon Braket's batch). "
            "Both are run on a sample of jobs: each job takes about one poll interval regardless "
            "of how many there are, so their throughput is linear in the job count."
        ),
        "runs": base,
        "ratios": {},
        "targets": [],
    }


def unbatched(ctx: Context) -> dict[str, Any]:
    """1,000 single-circuit jobs (batch_size=1) against the baselines."""
    c = ctx.config
    run = ctx.run(
        "qjobs Scheduler, batch_size=1",
        "qjobs_async",
        ctx.qjobs_params(c.unbatched_jobs, 1, c.requests_per_second),
    )
    base = ctx.baselines
    ratios = _ratios(run, base)
    return {
        "title": f"{c.unbatched_jobs:,} single-circuit jobs",
        "description": (
            "qjobs' Scheduler with batching off (one circuit per provider job) on the IonQ "
            "emulator, compared with both baselines measured in the same run."
        ),
        "runs": {"qjobs": run, **base},
        "ratios": {"qjobs": ratios},
        "targets": [
            _target(
                "throughput vs sequential",
                ratios["sequential"]["throughput"],
                ">= 30x",
                ratios["sequential"]["throughput"] >= 30,
            ),
            _target(
                "throughput vs thread pool",
                ratios["pool"]["throughput"],
                ">= 5x",
                ratios["pool"]["throughput"] >= 5,
            ),
        ],
    }


def rate_caps(ctx: Context) -> dict[str, Any]:
    """The same unbatched workload under client-side request-rate caps (IonQ's default: 20/s)."""
    c = ctx.config
    runs: dict[str, dict[str, Any]] = {}
    for cap in c.rate_caps:
        runs[f"rps_{cap:g}"] = ctx.run(
            f"qjobs, batch_size=1, cap {cap:g} req/s",
            "qjobs_async",
            ctx.qjobs_params(c.rate_jobs, 1, cap),
        )
    base = ctx.baselines
    return {
        "title": f"Request-rate caps ({c.rate_jobs:,} single-circuit jobs)",
        "description": (
            "The unbatched workload with the transport's requests-per-second cap set as given "
            "(IonQClient.default_capabilities uses 20 req/s). Information for choosing the "
            "default, no target."
        ),
        "runs": {**runs, **base},
        "ratios": {name: _ratios(r, base) for name, r in runs.items()},
        "targets": [],
    }


def batched(ctx: Context) -> dict[str, Any]:
    """10,000 circuits with the Scheduler's default batching."""
    c = ctx.config
    run = ctx.run(
        "qjobs Scheduler, default batching",
        "qjobs_async",
        ctx.qjobs_params(c.batched_circuits, None, c.requests_per_second),
    )
    base = ctx.baselines
    rpc = run["requests_per_circuit"]
    return {
        "title": f"{c.batched_circuits:,} circuits, batched",
        "description": (
            "qjobs' Scheduler with the provider's default batching (IonQ multi-circuit jobs of "
            "up to 100 circuits). Ratios are per circuit against the unbatched baselines."
        ),
        "runs": {"qjobs": run, **base},
        "ratios": {"qjobs": _ratios(run, base)},
        "targets": [_target("HTTP requests per circuit", rpc, "<= 0.05", rpc <= 0.05)],
    }


def sync_overhead(ctx: Context) -> dict[str, Any]:
    """The same unbatched workload through qjobs_sync and through the async API, alternately."""
    c = ctx.config
    params = ctx.qjobs_params(c.sync_jobs, 1, c.requests_per_second)
    runs: dict[str, dict[str, Any]] = {}
    for i in range(max(c.sync_repeats, 1)):
        runs[f"async_{i + 1}"] = ctx.run(f"qjobs async #{i + 1}", "qjobs_async", params)
        runs[f"sync_{i + 1}"] = ctx.run(f"qjobs_sync #{i + 1}", "qjobs_sync", params)
    a_wall = statistics.mean(r["wall_s"] for k, r in runs.items() if k.startswith("async"))
    s_wall = statistics.mean(r["wall_s"] for k, r in runs.items() if k.startswith("sync"))
    a_cpu = statistics.mean(r["cpu_s"] for k, r in runs.items() if k.startswith("async"))
    s_cpu = statistics.mean(r["cpu_s"] for k, r in runs.items() if k.startswith("sync"))
    wall_overhead = s_wall / a_wall - 1.0
    cpu_overhead = s_cpu / a_cpu - 1.0
    return {
        "title": f"{c.sync_jobs:,} jobs: qjobs_sync vs async",
        "description": (
            "The unbatched workload through the generated blocking facade (every call crosses "
            "to the background event loop) and through the async API, alternating, "
            f"{max(c.sync_repeats, 1)} run(s) each; overhead = mean sync / mean async - 1."
        ),
        "runs": runs,
        "ratios": {
            "sync_vs_async": {
                "wall": s_wall / a_wall,
                "cpu": s_cpu / a_cpu,
                "wall_overhead": wall_overhead,
                "cpu_overhead": cpu_overhead,
            }
        },
        "targets": [
            _target("sync overhead on wall time", wall_overhead, "< 10%", wall_overhead < 0.10)
        ],
    }


def memory(ctx: Context) -> dict[str, Any]:
    """100,000 tracked jobs against the in-process fake provider, in a fresh process."""
    c = ctx.config
    run = ctx.run(
        "qjobs Scheduler on FakeProvider",
        "qjobs_memory",
        {
            "count": c.memory_jobs,
            "shots": c.shots,
            "queue_time": c.memory_queue_s,
            "exec_time": c.memory_exec_s,
        },
    )
    per_job = run["rss_delta_per_circuit_bytes"]
    cpu = run["cpu_per_circuit_ms"]
    return {
        "title": f"{c.memory_jobs:,} tracked jobs (fake provider)",
        "description": (
            "Unbatched jobs (batch_size=1, max_in_flight = all of them) on qjobs.testing."
            f"FakeProvider (queue {c.memory_queue_s:g} s, execution {c.memory_exec_s:g} s, no "
            "I/O), in a fresh process. Peak RSS delta covers the scheduler, every future and "
            "its result, and the fake's own job store (so it is an upper bound for the "
            "client); circuits are built before the baseline reading."
        ),
        "runs": {"qjobs": run},
        "ratios": {},
        "targets": [
            _target("peak RSS per tracked job (bytes)", per_job, "< 3 KB (3072 B)", per_job < 3072),
            _target("client CPU per unbatched job (ms)", cpu, "< 0.3 ms", cpu < 0.3),
        ],
    }


#: Scenario name -> function, in run order; each writes ``results/<name>.json``.
SCENARIOS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "baselines": baselines,
    "unbatched": unbatched,
    "batched": batched,
    "sync": sync_overhead,
    "memory": memory,
    "rate_caps": rate_caps,
    "peers": peers,
    "peers_limit": peers_limit,
    "cpu_http": cpu_http,
}
