"""Sizes and timings of a benchmark run: the full preset, the ``--quick`` one, and overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

__all__ = ["FULL", "QUICK", "Config", "apply_overrides"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a run depends on; written into every result file."""

    # The emulator: per-request latency and each job's queue and execution time.
    latency_ms: float = 20.0
    queue_ms: float = 300.0
    exec_ms: float = 200.0
    shots: int = 100
    # Baselines: blocking stdlib HTTP, a fixed poll interval, run on a sample of jobs.
    baseline_poll_s: float = 1.0
    sequential_jobs: int = 40
    pool_jobs: int = 200
    pool_workers: int = 10
    # qjobs scenarios.
    unbatched_jobs: int = 1000
    batched_circuits: int = 10_000
    sync_jobs: int = 1000
    sync_repeats: int = 2
    memory_jobs: int = 100_000
    memory_queue_s: float = 0.5
    memory_exec_s: float = 0.2
    # The client-side limits the qjobs scenarios pass: None for both (the default) passes no
    # ``RateLimit``, so the client runs with its defaults (IonQ: the adaptive limiter, nothing
    # published); a number makes it a hard cap (``--set requests_per_second=100``).
    requests_per_second: float | None = None
    max_concurrent_requests: int | None = None
    # The request-rate caps compared on a sample of unbatched jobs (100 is IonQ's default).
    rate_caps: tuple[float, ...] = (20.0, 50.0, 100.0)
    rate_jobs: int = 300
    # The official SDKs side by side (benchmarks/peers): each provider's emulator queues jobs
    # this long (latency and execution as above), circuit counts are benchmarks.peers.SIZES
    # times peer_scale, peers poll every peer_poll_s, and the limited scenario starts the
    # emulators with --rate-limit peer_rate_limit --burst peer_burst.
    peer_queue_ms: float = 500.0
    peer_scale: float = 1.0
    peer_poll_s: float = 0.5
    peer_rate_limit: float = 50.0
    peer_burst: int = 20
    # Comma-separated providers the peer scenarios run (empty: all five).
    peer_providers: str = ""
    # Client CPU per unbatched job over HTTP (benchmarks/cpu_http.py, its own zero-delay emulator).
    cpu_http_jobs: int = 2000

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        out = dataclasses.asdict(self)
        out["rate_caps"] = list(self.rate_caps)
        return out


FULL = Config()
QUICK = Config(
    sequential_jobs=3,
    pool_jobs=10,
    unbatched_jobs=100,
    batched_circuits=1000,
    sync_jobs=100,
    sync_repeats=1,
    memory_jobs=10_000,
    rate_caps=(20.0,),
    rate_jobs=40,
    peer_scale=0.1,
    cpu_http_jobs=500,
)


def _convert(field: dataclasses.Field[Any], text: str) -> Any:
    default = field.default
    if field.name == "rate_caps":
        return tuple(float(v) for v in text.split(",") if v.strip())
    if field.name in {"requests_per_second", "max_concurrent_requests"}:
        if text.lower() in {"", "none", "off"}:
            return None
        return float(text) if field.name == "requests_per_second" else int(text)
    if isinstance(default, bool):
        return text.lower() in {"1", "true", "yes"}
    if isinstance(default, int):
        return int(text)
    if isinstance(default, str):
        return text
    return float(text)


def apply_overrides(config: Config, pairs: Sequence[str]) -> Config:
    """``config`` with ``name=value`` overrides applied; ValueError names a bad one."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise ValueError(f"--set {pair!r}: expected NAME=VALUE with NAME one of {list(fields)}")
        try:
            value = _convert(fields[name], text.strip())
        except ValueError:
            raise ValueError(f"--set {pair!r}: bad value for {name}") from None
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"--set {pair!r}: {name} must not be negative")
        changes[name] = value
    return dataclasses.replace(config, **changes)
