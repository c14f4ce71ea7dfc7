"""The two peer scenarios: no server limit (``peers``) and ``--rate-limit``/``--burst``
(``peers_limit``). For each provider, one emulator process serves the peer SDK (interop venv)
and then qjobs with its defaults (core venv), each on its own token (its own bucket)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._emulator import EmulatorProcess
from benchmarks._runner import ROOT
from benchmarks.peers import figures, ionq, kipu, qbraid, qibo, qjobs_defaults, qpi

if TYPE_CHECKING:
    from benchmarks._scenarios import Context

__all__ = [
    "INTEROP_PYTHON",
    "LIMITED_SIZES",
    "PEERS",
    "SIZES",
    "peers",
    "peers_limit",
    "run_worker",
]

#: The interop venv (``make .venv-interop/.installed``) holds every official SDK.
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
#: Provider -> (the SDK's name, what its run does).
PEERS = {
    "ionq": ("qiskit-ionq", ionq.DESCRIPTION),
    "kipu": ("qhub-api", kipu.DESCRIPTION),
    "qbraid": ("qbraid", qbraid.DESCRIPTION),
    "qpi": ("qpi-client", qpi.DESCRIPTION),
    "qibo": ("qibo-client", qibo.DESCRIPTION),
}
#: Circuits per contestant at ``peer_scale`` 1 (the sequential and thread-pool peers are slow;
#: Kipu runs the issue's own scenario, 1,000 single-circuit jobs).
SIZES = {"ionq": 300, "kipu": 1000, "qbraid": 500, "qpi": 500, "qibo": 200}
#: The limited scenario's sizes. A run's fixed costs weigh 1 / its length: finding the limit
#: (the slow start's congestion event and its whole-second Retry-After hold, ~0.9 s) and the tail
#: (the last job's queue, execution and the poll that finds it, ~1.4 s) are ~10% of 1,000 Qibo
#: jobs (~21 s at 50 requests/s); 2,000 (as many requests as Kipu's 1,000 jobs) would halve that
#: share but is not yet measured. The no-limit run keeps 200 (qibo-client's pool does ~8/s).
LIMITED_SIZES = {**SIZES, "qibo": 1000}
_PREFIX = "RESULT "
_TIMEOUT = 900.0


def run_worker(python: Path | str, spec: dict[str, Any]) -> dict[str, Any]:
    """``python -m benchmarks.peers._worker spec``: its raw result, or one with an ``error``."""
    try:
        proc = subprocess.run(
            [str(python), "-m", "benchmarks.peers._worker", json.dumps(spec)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"circuits": spec["count"], "error": f"no answer in {_TIMEOUT:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"circuits": spec["count"], "error": f"worker exit {proc.returncode}: {tail}"}
    raw: dict[str, Any] = json.loads(lines[-1][len(_PREFIX) :])
    return raw


def providers(names: str) -> list[str]:
    """The providers a run covers, in :data:`PEERS` order: the comma-separated ``names`` (the
    ``peer_providers`` setting), or all of them if empty; ValueError names an unknown one."""
    only = {name.strip() for name in names.split(",") if name.strip()}
    if only - PEERS.keys():
        raise ValueError(f"peer_providers: unknown {sorted(only - PEERS.keys())}; of {list(PEERS)}")
    return [p for p in PEERS if not only or p in only]


def _one(ctx: Context, provider: str, contestant: str, base_url: str, count: int) -> dict[str, Any]:
    c = ctx.config
    spec = {
        "contestant": contestant,
        "provider": provider,
        "base_url": base_url,
        "token": f"bench-{contestant}-token",
        "count": count,
        "shots": c.shots,
        "poll": c.peer_poll_s,
    }
    sdk = PEERS[provider][0] if contestant == "peer" else "qjobs"
    if contestant == "qjobs":
        raw = run_worker(sys.executable, spec)
    elif not INTEROP_PYTHON.exists():
        raw = {"circuits": count, "error": "no interop venv: make .venv-interop/.installed"}
    else:
        raw = run_worker(INTEROP_PYTHON, spec)
    run = figures.derive(raw)
    run.update(provider=provider, sdk=sdk, label=f"{sdk} ({provider})")
    cps = run["circuits_per_s"]
    ctx.log(
        f"  {provider:<7} {sdk:<12} {count:>5} circuits  {run.get('wall_s', 0):7.2f} s  "
        + (f"{cps:8.1f} circuits/s" if cps is not None else f"FAILED: {run['error'][:120]}")
        + f"  {run['requests_per_circuit']:.2f} req/circ  {run['rate_limited']} x 429  "
        f"{run['duplicates']} dup"
    )
    return run


def _scenario(ctx: Context, limited: bool) -> dict[str, Any]:
    c = ctx.config
    extra = ["--rate-limit", repr(c.peer_rate_limit), "--burst", str(c.peer_burst)]
    per_provider: dict[str, dict[str, Any]] = {}
    targets: list[dict[str, Any]] = []
    for provider in providers(c.peer_providers):
        count = max(1, round((LIMITED_SIZES if limited else SIZES)[provider] * c.peer_scale))
        with EmulatorProcess(
            latency_ms=c.latency_ms,
            queue_ms=c.peer_queue_ms,
            exec_ms=c.exec_ms,
            provider=provider,
            extra=extra if limited else (),
        ) as emu:
            peer = _one(ctx, provider, "peer", emu.base_url, count)
            mine = _one(ctx, provider, "qjobs", emu.base_url, count)
        entry: dict[str, Any] = {
            "peer": peer,
            "qjobs": mine,
            "speedup": figures.speedup(mine, peer),
        }
        if limited:
            entry["limit_share"] = {
                k: figures.limit_share(r, c.peer_rate_limit)
                for k, r in (("peer", peer), ("qjobs", mine))
            }
            targets.append(figures.limit_target(provider, mine, c.peer_rate_limit))
        else:
            targets.append(figures.speedup_target(provider, mine, peer))
        per_provider[provider] = entry
    limit = f"--rate-limit {c.peer_rate_limit:g} --burst {c.peer_burst}"
    return {
        "title": f"Official SDKs side by side, server limit {c.peer_rate_limit:g} req/s"
        if limited
        else "Official SDKs side by side, no server limit",
        "description": (
            f"Each provider's emulator (latency {c.latency_ms:g} ms, queue {c.peer_queue_ms:g} "
            f"ms, execution {c.exec_ms:g} ms{', ' + limit if limited else ''}) serves the "
            "official SDK (interop venv) and then qjobs with its defaults, one process each, "
            f"on the same distinct circuits; peers poll every {c.peer_poll_s:g} s."
        ),
        "runs": {},
        "ratios": {},
        "targets": targets,
        "peers": per_provider,
        "limited": limited,
        "rate_limit": c.peer_rate_limit if limited else None,
        "burst": c.peer_burst if limited else None,
        "sdks": {p: {"sdk": sdk, "how": how} for p, (sdk, how) in PEERS.items()},
        "qjobs_how": qjobs_defaults.DESCRIPTION,
    }


def peers(ctx: Context) -> dict[str, Any]:
    """Each official SDK against qjobs' defaults, no server limit (target: qjobs >= 3x)."""
    return _scenario(ctx, limited=False)


def peers_limit(ctx: Context) -> dict[str, Any]:
    """The same under the emulators' rate limit (target: >= 90% of what the limit allows)."""
    return _scenario(ctx, limited=True)
